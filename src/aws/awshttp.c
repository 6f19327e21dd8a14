/* awshttp.c — one HTTP exchange over libcurl for the AWS client and the credential providers:
 * peer and host verification always on, no redirects, only http/https, timeouts, a capped body.
 * Must not log or put header values (signatures, tokens) into a message. */
#include "awshttp.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

struct sink {
	char *body;
	size_t len;
	size_t cap;
	size_t max;
	int oversized;
	char error_type[JITRD_AWSHTTP_ERROR_TYPE_MAX];
	void (*header_line)(void *ctx, const char *data, size_t n);
	void *header_ctx;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;

	if (n > s->max - s->len) {
		s->oversized = 1;
		return 0; /* makes curl stop with CURLE_WRITE_ERROR */
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *grown;

		while (cap < s->len + n + 1)
			cap *= 2;
		if (cap > s->max + 1)
			cap = s->max + 1;
		grown = realloc(s->body, cap);
		if (!grown)
			return 0;
		s->body = grown;
		s->cap = cap;
	}
	memcpy(s->body + s->len, data, n);
	s->len += n;
	s->body[s->len] = '\0';
	return n;
}

void jitrd_awshttp_header_line(const char *data, size_t n,
                               char error_type[JITRD_AWSHTTP_ERROR_TYPE_MAX])
{
	static const char name[] = "x-amzn-errortype:";

	/* A new status line (after 100 Continue, or a retried connection) starts afresh. */
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		error_type[0] = '\0';
		return;
	}
	if (n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		const char *v = data + sizeof(name) - 1;
		const char *end = data + n;
		size_t len;

		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
			end--;
		len = (size_t)(end - v);
		if (len >= JITRD_AWSHTTP_ERROR_TYPE_MAX)
			len = JITRD_AWSHTTP_ERROR_TYPE_MAX - 1;
		memcpy(error_type, v, len);
		error_type[len] = '\0';
	}
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;

	jitrd_awshttp_header_line(data, n, s->error_type);
	if (s->header_line)
		s->header_line(s->header_ctx, data, n);
	return n;
}

#define SETOPT(h, opt, val)                                                                        \
	do {                                                                                       \
		if (curl_easy_setopt((h), (opt), (val)) != CURLE_OK)                               \
			goto cleanup;                                                              \
	} while (0)

static enum jitrd_err map_curl(CURLcode rc, const struct sink *s, int cap_is_too_large)
{
	if (cap_is_too_large &&
	    (rc == CURLE_FILESIZE_EXCEEDED || (rc == CURLE_WRITE_ERROR && s->oversized)))
		return JITRD_ERR_TOO_LARGE;
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return JITRD_ERR_TIMEOUT;
	case CURLE_WRITE_ERROR:
		return s->oversized ? JITRD_ERR_BAD_RESPONSE : JITRD_ERR_NOMEM;
	case CURLE_OUT_OF_MEMORY:
		return JITRD_ERR_NOMEM;
	case CURLE_PARTIAL_FILE:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_UNSUPPORTED_PROTOCOL: /* URLs are checked before: here an HTTP/0.9 answer */
		return JITRD_ERR_BAD_RESPONSE;
	case CURLE_URL_MALFORMAT:
		return JITRD_ERR_INVALID_ARG;
	default:
		/* Refused, reset, empty reply, DNS, TLS handshake and verification failures. */
		return JITRD_ERR_NETWORK;
	}
}

/* CURLOPT_XFERINFOFUNCTION: non-zero stops the transfer (CURLE_ABORTED_BY_CALLBACK). */
static int on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	const struct jitrd_awshttp_request *req = clientp;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return req->cancelled(req->cancel_ctx) ? 1 : 0;
}

/* The options that are the same for every request on a handle. */
static enum jitrd_err set_fixed_options(CURL *easy)
{
	enum jitrd_err result = JITRD_ERR_NOMEM;

	SETOPT(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(easy, CURLOPT_FOLLOWLOCATION, 0L);
	/* TLS verification is never turned off, whatever the endpoint (DESIGN §4.2). */
	SETOPT(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(easy, CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(easy, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
	SETOPT(easy, CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(easy, CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	result = JITRD_OK;
cleanup:
	return result;
}

enum jitrd_err jitrd_awshttp_prepare(CURL *easy)
{
	return easy ? set_fixed_options(easy) : JITRD_ERR_INVALID_ARG;
}

enum jitrd_err jitrd_awshttp_perform(CURL *easy, const struct jitrd_awshttp_request *req,
                                     struct jitrd_awshttp_response *resp, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct sink sink = {0};
	char errbuf[CURL_ERROR_SIZE] = "";
	char host[256] = "?"; /* for messages: parsed only when there is one to write */
	long status = 0;
	size_t announced_max;
	CURLcode rc;

	if (!easy || !req || !req->method || !req->url || !resp || req->max_body == 0 ||
	    req->connect_timeout_ms <= 0 || req->timeout_ms <= 0 || (!req->body && req->body_len))
		goto cleanup;
	sink.max = req->max_body;
	sink.header_line = req->header_line;
	sink.header_ctx = req->header_ctx;
	if (!req->prepared && set_fixed_options(easy) != JITRD_OK)
		goto cleanup;
	SETOPT(easy, CURLOPT_URL, req->url);
	SETOPT(easy, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
	SETOPT(easy, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	SETOPT(easy, CURLOPT_HTTPHEADER, req->headers);
	SETOPT(easy, CURLOPT_WRITEDATA, &sink);
	SETOPT(easy, CURLOPT_HEADERDATA, &sink);
	SETOPT(easy, CURLOPT_ERRORBUFFER, errbuf);
	/* "*" matches every host: the proxy environment variables are ignored for this one. */
	SETOPT(easy, CURLOPT_NOPROXY, req->no_proxy ? "*" : (char *)NULL);
	/* Set on every request, so a handle shared between kinds of request never keeps them. */
	SETOPT(easy, CURLOPT_FOLLOWLOCATION, req->max_redirects > 0 ? 1L : 0L);
	SETOPT(easy, CURLOPT_MAXREDIRS, req->max_redirects > 0 ? req->max_redirects : 0L);
	SETOPT(easy, CURLOPT_REDIR_PROTOCOLS_STR,
	       req->max_redirects > 0 && req->redir_protocols ? req->redir_protocols : "https");
	/* 0 is curl's "no limit": the write callback still enforces max_body. */
	announced_max = req->cap_is_too_large && req->max_body <= INT64_MAX ? req->max_body : 0;
	SETOPT(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)announced_max);
	if (req->ca_file)
		SETOPT(easy, CURLOPT_CAINFO, req->ca_file);
	SETOPT(easy, CURLOPT_NOPROGRESS, req->cancelled ? 0L : 1L);
	if (req->cancelled) {
		SETOPT(easy, CURLOPT_XFERINFOFUNCTION, on_progress);
		SETOPT(easy, CURLOPT_XFERINFODATA, (void *)req);
	}
	if (strcmp(req->method, "GET") == 0) {
		SETOPT(easy, CURLOPT_CUSTOMREQUEST, (char *)NULL);
		SETOPT(easy, CURLOPT_HTTPGET, 1L);
	} else {
		/* POST framing (Content-Length, the body) with the method named as asked. */
		SETOPT(easy, CURLOPT_POST, 1L);
		SETOPT(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		SETOPT(easy, CURLOPT_POSTFIELDS, req->body_len ? req->body : "");
		SETOPT(easy, CURLOPT_CUSTOMREQUEST,
		       strcmp(req->method, "POST") == 0 ? NULL : req->method);
	}
	result = JITRD_ERR_NOMEM;
	sink.body = malloc(1);
	if (!sink.body)
		goto cleanup;
	sink.body[0] = '\0';
	sink.cap = 1;
	rc = curl_easy_perform(easy);
	/* The handle outlives this call: drop pointers to our stack before returning. */
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, (char *)NULL);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, (void *)NULL);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, (void *)NULL);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, (char *)NULL);
	if (rc != CURLE_OK) {
		if (jitrd_awshttp_url_parts(req->url, NULL, 0, host, sizeof(host), NULL, NULL, 0) !=
		    JITRD_OK)
			snprintf(host, sizeof(host), "?");
		result = rc == CURLE_ABORTED_BY_CALLBACK
		             ? JITRD_ERR_DEADLINE
		             : map_curl(rc, &sink, req->cap_is_too_large);
		if (sink.oversized)
			jitrd_diag_set(diag, "%s %s: response body over %zu bytes", req->method,
			               host, req->max_body);
		else
			jitrd_diag_set(diag, "%s %s: %s (%s)", req->method, host,
			               curl_easy_strerror(rc), errbuf[0] ? errbuf : "no detail");
		goto cleanup;
	}
	if (curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status < 100 ||
	    status > 599) {
		if (jitrd_awshttp_url_parts(req->url, NULL, 0, host, sizeof(host), NULL, NULL, 0) !=
		    JITRD_OK)
			snprintf(host, sizeof(host), "?");
		result = JITRD_ERR_BAD_RESPONSE;
		jitrd_diag_set(diag, "%s %s: no valid HTTP status", req->method, host);
		goto cleanup;
	}
	resp->status = status;
	resp->body = sink.body;
	resp->body_len = sink.len;
	memcpy(resp->error_type, sink.error_type, sizeof(resp->error_type));
	sink.body = NULL;
	result = JITRD_OK;
cleanup:
	free(sink.body);
	return result;
}

void jitrd_awshttp_response_cleanup(struct jitrd_awshttp_response *resp)
{
	if (!resp)
		return;
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

enum jitrd_err jitrd_awshttp_url_parts(const char *url, char *scheme_out, size_t scheme_size,
                                       char *host_out, size_t host_size, long *port_out,
                                       char *path_out, size_t path_size)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	enum jitrd_err result = JITRD_ERR_NOMEM;
	size_t hl;

	if (!u)
		goto cleanup;
	result = JITRD_ERR_INVALID_ARG;
	if (!url || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto cleanup;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto cleanup;
	hl = strlen(host);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') { /* IPv6 literal */
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	if (scheme_out && snprintf(scheme_out, scheme_size, "%s", scheme) >= (int)scheme_size)
		goto cleanup;
	if (host_out && snprintf(host_out, host_size, "%s", host) >= (int)host_size)
		goto cleanup;
	if (path_out && snprintf(path_out, path_size, "%s", path) >= (int)path_size)
		goto cleanup;
	if (port_out) {
		char *end;
		long p;

		errno = 0;
		p = strtol(port, &end, 10);
		if (errno || *end || p <= 0 || p > 65535)
			goto cleanup;
		*port_out = p;
	}
	result = JITRD_OK;
cleanup:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return result;
}

int jitrd_awshttp_host_is_loopback(const char *host)
{
	struct in_addr v4;
	struct in6_addr v6;

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &v6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&v6);
	return 0;
}

enum jitrd_err jitrd_awshttp_endpoint(const char *endpoint, char *host, size_t host_size,
                                      char *base_url, size_t base_url_size, const char **why)
{
	char scheme[16], name[256], path[256];
	long port = 0;
	bool v6;

	*why = "not scheme://host[:port]";
	if (!endpoint ||
	    jitrd_awshttp_url_parts(endpoint, scheme, sizeof(scheme), name, sizeof(name), &port,
	                            path, sizeof(path)) != JITRD_OK ||
	    strpbrk(endpoint, "@?#") || (strcmp(path, "/") != 0 && path[0] != '\0'))
		return JITRD_ERR_INVALID_ARG;
	*why = "must be https (http only to loopback)";
	if (!jitrd_awshttp_url_allowed(endpoint))
		return JITRD_ERR_INVALID_ARG;
	for (char *p = scheme; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (char *p = name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	v6 = strchr(name, ':') != NULL;
	/* The Host header (and so the signed host) carries the port unless it is the default. */
	if ((strcmp(scheme, "https") == 0 && port == 443) ||
	    (strcmp(scheme, "http") == 0 && port == 80))
		snprintf(host, host_size, v6 ? "[%s]" : "%s", name);
	else
		snprintf(host, host_size, v6 ? "[%s]:%ld" : "%s:%ld", name, port);
	snprintf(base_url, base_url_size, "%s://%s", scheme, host);
	*why = NULL;
	return JITRD_OK;
}

enum jitrd_err jitrd_awshttp_header_append(struct curl_slist **list, const char *name,
                                           const char *value)
{
	size_t n = strlen(name) + strlen(value) + 3;
	char *line = malloc(n);
	struct curl_slist *grown;

	if (!line)
		return JITRD_ERR_NOMEM;
	snprintf(line, n, "%s: %s", name, value);
	grown = curl_slist_append(*list, line);
	OPENSSL_cleanse(line, n);
	free(line);
	if (!grown)
		return JITRD_ERR_NOMEM;
	*list = grown;
	return JITRD_OK;
}

void jitrd_awshttp_headers_free(struct curl_slist *list)
{
	for (struct curl_slist *l = list; l; l = l->next)
		OPENSSL_cleanse(l->data, strlen(l->data));
	curl_slist_free_all(list);
}

int jitrd_awshttp_host_is_link_local(const char *host)
{
	struct in_addr v4;
	struct in6_addr v6;

	if (inet_pton(AF_INET, host, &v4) == 1)
		return (ntohl(v4.s_addr) >> 16) == 0xa9fe; /* 169.254.0.0/16 */
	if (inet_pton(AF_INET6, host, &v6) == 1)
		return IN6_IS_ADDR_LINKLOCAL(&v6);
	return 0;
}

int jitrd_awshttp_url_allowed(const char *url)
{
	char scheme[16], host[256];

	if (jitrd_awshttp_url_parts(url, scheme, sizeof(scheme), host, sizeof(host), NULL, NULL,
	                            0) != JITRD_OK)
		return 0;
	if (strcasecmp(scheme, "https") == 0)
		return 1;
	return strcasecmp(scheme, "http") == 0 && jitrd_awshttp_host_is_loopback(host);
}

char *jitrd_awshttp_uri_encode(const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out;
	size_t o = 0;

	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	out = malloc(n * 3 + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

void jitrd_awshttp_sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

enum jitrd_err jitrd_awshttp_parse_iso8601(const char *s, time_t *out)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec;
	const char *p;

	if (!s || strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &sec))
		return JITRD_ERR_INVALID_ARG;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
	    sec > 59)
		return JITRD_ERR_INVALID_ARG;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return JITRD_ERR_INVALID_ARG;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return JITRD_ERR_INVALID_ARG;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (strcmp(p, "Z") != 0 && strcmp(p, "z") != 0 && strcmp(p, "+00:00") != 0)
		return JITRD_ERR_INVALID_ARG;
	*out = (time_t)(days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
	                sec);
	return JITRD_OK;
}
