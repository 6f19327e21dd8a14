/* crl_fetch.c — a conditional GET of one CRL over http:// or https:// through awshttp's single
 * exchange: size cap, timeouts, at most three redirects and never from https to http, TLS
 * verification on. Must not parse the CRL (core does) nor put a URL's userinfo or query (they
 * may hold a signature) into a message. */
#include "jitrd/crl_fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "awshttp.h"
#include "crl_fetch_parse.h"

bool jitrd_crl_fetch_validator_ok(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];

		if (c < 0x20 || c > 0x7e || n + 1 >= JITRD_CRL_FETCH_VALIDATOR_MAX)
			return false;
	}
	return n > 0;
}

/* Puts the value of a header line that starts with name into field, or empties the field when
 * the value is not one jitrd may keep. false when the line is not that header. */
static bool take_header(const char *data, size_t n, const char *name,
                        char field[JITRD_CRL_FETCH_VALIDATOR_MAX])
{
	size_t name_len = strlen(name);
	const char *v, *end;
	size_t len;

	if (n <= name_len || strncasecmp(data, name, name_len) != 0)
		return false;
	v = data + name_len;
	end = data + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	len = (size_t)(end - v);
	field[0] = '\0';
	if (len == 0 || len >= JITRD_CRL_FETCH_VALIDATOR_MAX)
		return true;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c < 0x20 || c > 0x7e)
			return true;
	}
	memcpy(field, v, len);
	field[len] = '\0';
	return true;
}

void jitrd_crl_fetch_header_line(const char *data, size_t n, struct jitrd_crl_fetch_validators *v)
{
	if (!data || !v)
		return;
	/* Each response (a redirect's, then the final one) starts with its status line. */
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		v->etag[0] = '\0';
		v->last_modified[0] = '\0';
		return;
	}
	if (!take_header(data, n, "etag:", v->etag))
		(void)take_header(data, n, "last-modified:", v->last_modified);
}

static void on_header_line(void *ctx, const char *data, size_t n)
{
	jitrd_crl_fetch_header_line(data, n, ctx);
}

void jitrd_crl_fetch_redact_url(const char *url, char *out, size_t out_size)
{
	CURLU *u;
	char *clean = NULL;

	if (!out || out_size == 0)
		return;
	snprintf(out, out_size, "(unparsable URL)");
	u = curl_url();
	if (!u || !url || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto cleanup;
	if (curl_url_set(u, CURLUPART_USER, NULL, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_OPTIONS, NULL, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_QUERY, NULL, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &clean, 0) != CURLUE_OK)
		goto cleanup;
	if ((size_t)snprintf(out, out_size, "%s", clean) >= out_size)
		snprintf(out, out_size, "(unparsable URL)");
cleanup:
	curl_free(clean);
	curl_url_cleanup(u);
}

/* "http" or "https" into scheme; JITRD_ERR_INVALID_ARG (diag says why) for anything else. */
static enum jitrd_err check_scheme(const char *url, const char *shown, char *scheme,
                                   size_t scheme_size, struct jitrd_diag *diag)
{
	if (strncasecmp(url, "s3://", 5) == 0) {
		jitrd_diag_set(diag, "%s: s3:// CRL sources are not supported yet", shown);
		return JITRD_ERR_INVALID_ARG;
	}
	if (jitrd_awshttp_url_parts(url, scheme, scheme_size, NULL, 0, NULL, NULL, 0) != JITRD_OK ||
	    (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) ||
	    strncasecmp(url, scheme, strlen(scheme)) != 0) {
		jitrd_diag_set(diag, "%s: only http:// and https:// CRL URLs are allowed", shown);
		return JITRD_ERR_INVALID_ARG;
	}
	return JITRD_OK;
}

static enum jitrd_err add_header(struct curl_slist **list, const char *name, const char *value)
{
	char line[JITRD_CRL_FETCH_VALIDATOR_MAX + 32];
	struct curl_slist *grown;

	snprintf(line, sizeof(line), "%s: %s", name, value);
	grown = curl_slist_append(*list, line);
	if (!grown)
		return JITRD_ERR_NOMEM;
	*list = grown;
	return JITRD_OK;
}

enum jitrd_err jitrd_crl_fetch(const struct jitrd_crl_fetch_options *opts,
                               const struct jitrd_crl_fetch_cache *known,
                               struct jitrd_crl_fetch_result *out, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_awshttp_request req = {0};
	struct jitrd_awshttp_response resp = {0};
	struct jitrd_crl_fetch_validators seen = {{0}, {0}};
	struct curl_slist *headers = NULL;
	char shown[JITRD_CRL_FETCH_URL_MAX];
	char final_url[JITRD_CRL_FETCH_URL_MAX];
	char scheme[16];
	char *effective = NULL;
	CURL *easy = NULL;

	if (!opts || !opts->url || !out) {
		jitrd_diag_set(diag, "CRL fetch: missing URL or result");
		goto cleanup;
	}
	jitrd_crl_fetch_redact_url(opts->url, shown, sizeof(shown));
	result = check_scheme(opts->url, shown, scheme, sizeof(scheme), diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = JITRD_ERR_NOMEM;
	if (known && jitrd_crl_fetch_validator_ok(known->etag) &&
	    add_header(&headers, "If-None-Match", known->etag) != JITRD_OK)
		goto cleanup;
	if (known && jitrd_crl_fetch_validator_ok(known->last_modified) &&
	    add_header(&headers, "If-Modified-Since", known->last_modified) != JITRD_OK)
		goto cleanup;
	easy = curl_easy_init();
	if (!easy) {
		jitrd_diag_set(diag, "GET %s: curl_easy_init failed", shown);
		goto cleanup;
	}
	req.method = "GET";
	req.url = opts->url;
	req.headers = headers;
	req.connect_timeout_ms = opts->connect_timeout_ms > 0
	                             ? opts->connect_timeout_ms
	                             : JITRD_CRL_FETCH_DEFAULT_CONNECT_TIMEOUT_MS;
	req.timeout_ms =
	    opts->timeout_ms > 0 ? opts->timeout_ms : JITRD_CRL_FETCH_DEFAULT_TIMEOUT_MS;
	req.max_body = opts->max_size ? opts->max_size : JITRD_CRL_FETCH_DEFAULT_MAX_SIZE;
	req.cap_is_too_large = 1;
	req.max_redirects = JITRD_CRL_FETCH_MAX_REDIRECTS;
	/* CRLs are signed, so plain http is acceptable, but a start over https stays on https. */
	req.redir_protocols = strcasecmp(scheme, "https") == 0 ? "https" : "http,https";
	req.ca_file = opts->ca_file;
	req.header_line = on_header_line;
	req.header_ctx = &seen;
	result = jitrd_awshttp_perform(easy, &req, &resp, diag);
	if (result != JITRD_OK) {
		/* awshttp names only the host; say which CRL. */
		jitrd_diag_prefix(diag, shown);
		goto cleanup;
	}
	if (curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective)
		jitrd_crl_fetch_redact_url(effective, final_url, sizeof(final_url));
	else
		snprintf(final_url, sizeof(final_url), "%s", shown);
	/* A 304 answers only a conditional request: without one there is no copy to keep. */
	if (resp.status != 200 && (resp.status != 304 || !headers)) {
		result = JITRD_ERR_BAD_RESPONSE;
		jitrd_diag_set(diag, "GET %s: HTTP status %ld", final_url, resp.status);
		goto cleanup;
	}
	memset(out, 0, sizeof(*out));
	if (resp.status == 304) {
		out->status = JITRD_CRL_FETCH_NOT_MODIFIED;
	} else {
		out->status = JITRD_CRL_FETCH_NEW;
		out->body = (unsigned char *)resp.body;
		out->body_len = resp.body_len;
		resp.body = NULL;
	}
	memcpy(out->etag, seen.etag, sizeof(out->etag));
	memcpy(out->last_modified, seen.last_modified, sizeof(out->last_modified));
	memcpy(out->final_url, final_url, sizeof(out->final_url));
	result = JITRD_OK;
cleanup:
	jitrd_awshttp_response_cleanup(&resp);
	curl_slist_free_all(headers);
	curl_easy_cleanup(easy);
	return result;
}

void jitrd_crl_fetch_result_cleanup(struct jitrd_crl_fetch_result *result)
{
	if (!result)
		return;
	free(result->body);
	memset(result, 0, sizeof(*result));
}
