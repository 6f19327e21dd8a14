/* crl_fetch.c — a conditional GET of one CRL over http:// or https:// (or from S3, SigV4-signed
 * through awssign) through awshttp's single exchange: size cap, timeouts, at most three
 * redirects and never from https to http, TLS verification on. Must not parse the CRL (core
 * does) nor put a URL's userinfo or query, or a credential, into a message. */
#include "jitrd/crl_fetch.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "awshttp.h"
#include "awssign.h"
#include "crl_fetch_parse.h"
#include "jitrd/clock.h"
#include "jitrd/config.h"
#include "jitrd/sigv4.h"

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

/* ---- s3:// URLs ---- */

static bool is_lower_or_digit(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);

	return n >= p && memcmp(s, prefix, p) == 0;
}

static bool has_suffix(const char *s, size_t n, const char *suffix)
{
	size_t p = strlen(suffix);

	return n >= p && memcmp(s + n - p, suffix, p) == 0;
}

/* AWS's rules for general purpose bucket names (S3 User Guide, "Bucket naming rules"); NULL
 * when b (n bytes) follows them, else the rule it breaks. */
static const char *bucket_rule(const char *b, size_t n)
{
	static const char *const prefixes[] = {"xn--", "sthree-", "amzn-s3-demo-", NULL};
	static const char *const suffixes[] = {"-s3alias", "--ol-s3",    ".mrap",
	                                       "--x-s3",   "--table-s3", NULL};
	int dots = 0;
	bool all_digits_and_dots = true;

	if (n < 3 || n > JITRD_CRL_FETCH_S3_BUCKET_MAX)
		return "a bucket name is 3 to 63 characters";
	for (size_t i = 0; i < n; i++) {
		if (!is_lower_or_digit(b[i]) && b[i] != '.' && b[i] != '-')
			return "a bucket name holds only a-z, 0-9, '.' and '-'";
		if (b[i] == '.' && i + 1 < n && b[i + 1] == '.')
			return "a bucket name has no two adjacent periods";
		dots += b[i] == '.';
		all_digits_and_dots &= (b[i] >= '0' && b[i] <= '9') || b[i] == '.';
	}
	if (!is_lower_or_digit(b[0]) || !is_lower_or_digit(b[n - 1]))
		return "a bucket name starts and ends with a letter or a digit";
	if (dots == 3 && all_digits_and_dots)
		return "a bucket name is not an IP address";
	for (int i = 0; prefixes[i]; i++)
		if (has_prefix(b, n, prefixes[i]))
			return "a bucket name does not start with a reserved prefix (xn--, "
			       "sthree-, "
			       "amzn-s3-demo-)";
	for (int i = 0; suffixes[i]; i++)
		if (has_suffix(b, n, suffixes[i]))
			return "a bucket name does not end with a reserved suffix (access point "
			       "alias, "
			       "directory or table bucket)";
	return NULL;
}

/* Well-formed UTF-8 (RFC 3629 §4: no overlong forms, no surrogates, nothing past U+10FFFF) and
 * no control character; S3 keys are UTF-8. */
static bool key_text_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t len;
		unsigned long cp;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
			return false;
		i += len;
	}
	return true;
}

enum jitrd_err jitrd_crl_fetch_s3_parse(const char *url, struct jitrd_crl_fetch_s3_object *out,
                                        struct jitrd_diag *diag)
{
	const char *bucket, *slash, *key, *why;
	size_t bucket_len, key_len;

	if (!url || !out) {
		jitrd_diag_set(diag, "s3:// URL: missing argument");
		return JITRD_ERR_INVALID_ARG;
	}
	if (strncasecmp(url, "s3://", 5) != 0) {
		jitrd_diag_set(diag, "not an s3:// URL");
		return JITRD_ERR_INVALID_ARG;
	}
	bucket = url + 5;
	slash = strchr(bucket, '/');
	bucket_len = slash ? (size_t)(slash - bucket) : strlen(bucket);
	/* Named only up to the bucket, and only once it is known to be a bucket name. */
	if (bucket_len == 0) {
		jitrd_diag_set(diag, "s3:// URL: no bucket name (s3://BUCKET/KEY)");
		return JITRD_ERR_INVALID_ARG;
	}
	why = bucket_rule(bucket, bucket_len);
	if (why) {
		jitrd_diag_set(diag, "s3:// URL: bad bucket name: %s", why);
		return JITRD_ERR_INVALID_ARG;
	}
	if (!slash || slash[1] == '\0') {
		jitrd_diag_set(diag, "s3://%.*s: no object key (s3://BUCKET/KEY)", (int)bucket_len,
		               bucket);
		return JITRD_ERR_INVALID_ARG;
	}
	key = slash + 1;
	key_len = strlen(key);
	if (key_len > JITRD_CRL_FETCH_S3_KEY_MAX) {
		jitrd_diag_set(diag, "s3://%.*s/: object key of %zu bytes, over S3's %d",
		               (int)bucket_len, bucket, key_len, JITRD_CRL_FETCH_S3_KEY_MAX);
		return JITRD_ERR_INVALID_ARG;
	}
	if (strpbrk(key, "?#")) {
		jitrd_diag_set(
		    diag,
		    "s3://%.*s/: an s3:// URL has no query or fragment ('?' or '#' in the key)",
		    (int)bucket_len, bucket);
		return JITRD_ERR_INVALID_ARG;
	}
	if (!key_text_ok((const unsigned char *)key, key_len)) {
		jitrd_diag_set(diag,
		               "s3://%.*s/: object key is not UTF-8 without control characters",
		               (int)bucket_len, bucket);
		return JITRD_ERR_INVALID_ARG;
	}
	for (const char *seg = key; seg;) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);

		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')) {
			jitrd_diag_set(diag, "s3://%.*s/%s: a '.' or '..' segment in an object key",
			               (int)bucket_len, bucket, key);
			return JITRD_ERR_INVALID_ARG;
		}
		seg = end ? end + 1 : NULL;
	}
	memcpy(out->bucket, bucket, bucket_len);
	out->bucket[bucket_len] = '\0';
	memcpy(out->key, key, key_len + 1);
	return JITRD_OK;
}

static bool region_ok(const char *r)
{
	size_t n = r ? strlen(r) : 0;

	return n > 0 && n <= 32 && strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* Appends "/" and s, each '/'-separated segment percent-encoded as SigV4 wants for S3 (once). */
static enum jitrd_err append_encoded_path(char *url, size_t size, const char *s)
{
	size_t used = strlen(url);

	for (const char *seg = s; seg;) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);
		char *enc = jitrd_awshttp_uri_encode(seg, n);
		int w;

		if (!enc)
			return JITRD_ERR_NOMEM;
		w = snprintf(url + used, size - used, "/%s", enc);
		free(enc);
		if (w < 0 || (size_t)w >= size - used)
			return JITRD_ERR_INVALID_ARG;
		used += (size_t)w;
		seg = end ? end + 1 : NULL;
	}
	return JITRD_OK;
}

enum jitrd_err jitrd_crl_fetch_s3_target(const struct jitrd_crl_fetch_s3 *s3,
                                         const struct jitrd_crl_fetch_s3_object *obj,
                                         struct jitrd_crl_fetch_s3_target *out,
                                         struct jitrd_diag *diag)
{
	struct jitrd_crl_fetch_s3_target t;
	bool path_style;
	enum jitrd_err result;

	if (!s3 || !obj || !out) {
		jitrd_diag_set(diag, "S3 target: missing argument");
		return JITRD_ERR_INVALID_ARG;
	}
	if (!region_ok(s3->region)) {
		jitrd_diag_set(diag, "[crl] s3_region: not an AWS region name");
		return JITRD_ERR_INVALID_ARG;
	}
	if (s3->endpoint && s3->endpoint[0]) {
		const char *why;

		/* The request carries a signature and maybe a session token: over plain http
		 * only to this host (tests, a local S3-compatible store). */
		if (jitrd_awshttp_endpoint(s3->endpoint, t.host, sizeof(t.host), t.url,
		                           sizeof(t.url), &why) != JITRD_OK) {
			jitrd_diag_set(diag, "[crl] s3_endpoint: %s", why);
			return JITRD_ERR_INVALID_ARG;
		}
		path_style = true;
	} else {
		/* AWS's China partition has its own domain. */
		const char *domain =
		    strncmp(s3->region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";

		/* A dotted bucket name does not match the certificate's *.s3.REGION wildcard
		 * (one label), so it goes path-style, as the AWS SDKs do. */
		path_style = s3->path_style || strchr(obj->bucket, '.') != NULL;
		if (path_style)
			snprintf(t.host, sizeof(t.host), "s3.%s.%s", s3->region, domain);
		else
			snprintf(t.host, sizeof(t.host), "%s.s3.%s.%s", obj->bucket, s3->region,
			         domain);
		snprintf(t.url, sizeof(t.url), "https://%s", t.host);
	}
	if (path_style) {
		snprintf(t.path, sizeof(t.path), "/%s/%s", obj->bucket, obj->key);
		result = append_encoded_path(t.url, sizeof(t.url), obj->bucket);
	} else {
		snprintf(t.path, sizeof(t.path), "/%s", obj->key);
		result = JITRD_OK;
	}
	if (result == JITRD_OK)
		result = append_encoded_path(t.url, sizeof(t.url), obj->key);
	if (result != JITRD_OK) {
		jitrd_diag_set(diag, "s3://%s/%s: %s", obj->bucket, obj->key,
		               result == JITRD_ERR_NOMEM ? "out of memory" : "URL too long");
		return result;
	}
	*out = t;
	return JITRD_OK;
}

void jitrd_crl_fetch_s3_sigv4_request(const struct jitrd_crl_fetch_s3_target *target,
                                      struct jitrd_sigv4_header *host,
                                      struct jitrd_sigv4_request *out)
{
	*host = (struct jitrd_sigv4_header){"host", target->host};
	memset(out, 0, sizeof(*out));
	out->method = "GET";
	out->path = target->path; /* raw: the signer encodes it once, as S3 wants */
	out->headers = host;
	out->header_count = 1;
	out->normalize_path = 0; /* S3 keys are taken as they are */
	out->sign_payload_hash = 1;
}

bool jitrd_crl_fetch_s3_error_code(const char *body, size_t len, char *code, size_t size)
{
	static const char open_tag[] = "<Code>";
	const size_t open_len = sizeof(open_tag) - 1;
	size_t start, n = 0;

	if (!code || size == 0)
		return false;
	code[0] = '\0';
	if (!body)
		return false;
	if (len > 64 * 1024)
		len = 64 * 1024;
	for (start = 0; start + open_len <= len; start++)
		if (memcmp(body + start, open_tag, open_len) == 0)
			break;
	if (start + open_len > len)
		return false;
	start += open_len;
	while (start + n < len && n < size &&
	       (isalnum((unsigned char)body[start + n]) || body[start + n] == '.'))
		n++;
	if (n == 0 || n >= size || len - start - n < 7 ||
	    memcmp(body + start + n, "</Code>", 7) != 0)
		return false;
	memcpy(code, body + start, n);
	code[n] = '\0';
	return true;
}

void jitrd_crl_fetch_s3_from_config(const struct jitrd_config *cfg,
                                    struct jitrd_credentials_provider *credentials,
                                    struct jitrd_crl_fetch_s3 *out)
{
	out->region = cfg->crl.s3_region; /* the parser put [aws] region there when unset */
	out->endpoint = cfg->crl.s3_endpoint;
	out->path_style = cfg->crl.s3_addressing == JITRD_S3_ADDRESSING_PATH;
	out->credentials = credentials;
}

static enum jitrd_err add_slist_header(void *ctx, const char *name, const char *value)
{
	return jitrd_awshttp_header_append(ctx, name, value);
}

/* "http" or "https" into scheme; JITRD_ERR_INVALID_ARG (diag says why) for anything else. */
static enum jitrd_err check_scheme(const char *url, const char *shown, char *scheme,
                                   size_t scheme_size, struct jitrd_diag *diag)
{
	if (jitrd_awshttp_url_parts(url, scheme, scheme_size, NULL, 0, NULL, NULL, 0) != JITRD_OK ||
	    (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) ||
	    strncasecmp(url, scheme, strlen(scheme)) != 0) {
		jitrd_diag_set(diag, "%s: only http:// and https:// CRL URLs are allowed", shown);
		return JITRD_ERR_INVALID_ARG;
	}
	return JITRD_OK;
}

/* Resolves an s3:// URL (before any I/O) and signs its GET, the conditional headers already
 * in *headers: the signed headers (host, x-amz-date, x-amz-content-sha256, and the session
 * token) join them. url receives the URL to send, shown "s3://bucket/key". */
static enum jitrd_err prepare_s3(const struct jitrd_crl_fetch_options *opts,
                                 struct jitrd_crl_fetch_s3_target *target, char *shown,
                                 size_t shown_size, struct curl_slist **headers,
                                 struct jitrd_diag *diag)
{
	struct jitrd_crl_fetch_s3_object obj;
	struct jitrd_credentials creds;
	struct jitrd_sigv4_header host;
	struct jitrd_sigv4_request req;
	struct jitrd_awssign signer;
	enum jitrd_err result;

	result = jitrd_crl_fetch_s3_parse(opts->url, &obj, diag);
	if (result != JITRD_OK)
		return result;
	snprintf(shown, shown_size, "s3://%s/%s", obj.bucket, obj.key);
	if (!opts->s3 || !opts->s3->credentials) {
		jitrd_diag_set(diag, "%s: s3:// CRL sources need the S3 settings and credentials",
		               shown);
		return JITRD_ERR_INVALID_ARG;
	}
	result = jitrd_crl_fetch_s3_target(opts->s3, &obj, target, diag);
	if (result != JITRD_OK)
		return result;
	jitrd_crl_fetch_s3_sigv4_request(target, &host, &req);
	signer =
	    (struct jitrd_awssign){opts->s3->credentials, opts->s3->region, "s3", &creds, NULL};
	result = jitrd_awssign_headers(&signer, (time_t)(jitrd_clock_wall_ms() / 1000), &req,
	                               add_slist_header, headers, diag);
	if (result != JITRD_OK)
		jitrd_diag_prefix(diag, shown);
	return result;
}

enum jitrd_err jitrd_crl_fetch(const struct jitrd_crl_fetch_options *opts,
                               const struct jitrd_crl_fetch_cache *known,
                               struct jitrd_crl_fetch_result *out, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_awshttp_request req = {0};
	struct jitrd_awshttp_response resp = {0};
	struct jitrd_crl_fetch_validators seen = {{0}, {0}};
	struct jitrd_crl_fetch_s3_target *target = NULL;
	struct curl_slist *headers = NULL;
	char shown[JITRD_CRL_FETCH_URL_MAX];
	char final_url[JITRD_CRL_FETCH_URL_MAX];
	char scheme[16];
	char *effective = NULL;
	bool conditional = false;
	CURL *easy = NULL;

	if (!opts || !opts->url || !out) {
		jitrd_diag_set(diag, "CRL fetch: missing URL or result");
		goto cleanup;
	}
	result = JITRD_ERR_NOMEM;
	if (known && jitrd_crl_fetch_validator_ok(known->etag)) {
		if (jitrd_awshttp_header_append(&headers, "If-None-Match", known->etag) != JITRD_OK)
			goto cleanup;
		conditional = true;
	}
	if (known && jitrd_crl_fetch_validator_ok(known->last_modified)) {
		if (jitrd_awshttp_header_append(&headers, "If-Modified-Since",
		                                known->last_modified) != JITRD_OK)
			goto cleanup;
		conditional = true;
	}
	if (strncasecmp(opts->url, "s3://", 5) == 0) {
		target = malloc(sizeof(*target));
		if (!target)
			goto cleanup;
		result = prepare_s3(opts, target, shown, sizeof(shown), &headers, diag);
		if (result != JITRD_OK)
			goto cleanup;
	} else {
		jitrd_crl_fetch_redact_url(opts->url, shown, sizeof(shown));
		result = check_scheme(opts->url, shown, scheme, sizeof(scheme), diag);
		if (result != JITRD_OK)
			goto cleanup;
	}
	result = JITRD_ERR_NOMEM;
	easy = curl_easy_init();
	if (!easy) {
		jitrd_diag_set(diag, "GET %s: curl_easy_init failed", shown);
		goto cleanup;
	}
	req.method = "GET";
	req.url = target ? target->url : opts->url;
	req.headers = headers;
	req.connect_timeout_ms = opts->connect_timeout_ms > 0
	                             ? opts->connect_timeout_ms
	                             : JITRD_CRL_FETCH_DEFAULT_CONNECT_TIMEOUT_MS;
	req.timeout_ms =
	    opts->timeout_ms > 0 ? opts->timeout_ms : JITRD_CRL_FETCH_DEFAULT_TIMEOUT_MS;
	req.max_body = opts->max_size ? opts->max_size : JITRD_CRL_FETCH_DEFAULT_MAX_SIZE;
	req.cap_is_too_large = 1;
	if (!target) {
		req.max_redirects = JITRD_CRL_FETCH_MAX_REDIRECTS;
		/* CRLs are signed, so plain http is acceptable, but a start over https stays on
		 * https. */
		req.redir_protocols = strcasecmp(scheme, "https") == 0 ? "https" : "http,https";
	}
	/* S3 redirects (a bucket in another region) are not followed: the signature names the
	 * region and the host, and the headers carry credentials. For the same reason a plain
	 * http endpoint (loopback only) is never reached through an http_proxy from the
	 * environment, which would see the credentials in the clear. */
	req.no_proxy = target && strncmp(target->url, "http://", 7) == 0;
	req.ca_file = opts->ca_file;
	req.header_line = on_header_line;
	req.header_ctx = &seen;
	result = jitrd_awshttp_perform(easy, &req, &resp, diag);
	if (result != JITRD_OK) {
		/* awshttp names only the host; say which CRL. */
		jitrd_diag_prefix(diag, shown);
		goto cleanup;
	}
	if (target)
		snprintf(final_url, sizeof(final_url), "%s", shown);
	else if (curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK &&
	         effective)
		jitrd_crl_fetch_redact_url(effective, final_url, sizeof(final_url));
	else
		snprintf(final_url, sizeof(final_url), "%s", shown);
	if (target && resp.status != 200 && resp.status != 304) {
		char code[64];

		/* S3's error document names the reason (NoSuchKey, NoSuchBucket, AccessDenied,
		 * SignatureDoesNotMatch...); its message and request ids are not needed. */
		if (!jitrd_crl_fetch_s3_error_code(resp.body, resp.body_len, code, sizeof(code)))
			snprintf(code, sizeof(code), "(no S3 error code)");
		result = JITRD_ERR_API;
		jitrd_diag_set(diag, "GET %s: HTTP %ld %s", shown, resp.status, code);
		goto cleanup;
	}
	/* A 304 answers only a conditional request: without one there is no copy to keep. */
	if (resp.status != 200 && (resp.status != 304 || !conditional)) {
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
	jitrd_awshttp_headers_free(headers);
	free(target);
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
