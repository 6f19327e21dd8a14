/* runtime_api.c — the client of Lambda's Runtime API ("Using the Lambda runtime API for custom
 * runtimes") over libcurl, one keep-alive connection to the local endpoint: the next
 * invocation (its headers and payload read within their bounds) and the answers posted back.
 * It knows nothing of the event shapes or the pipeline. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "jitrd/lambda.h"
#include "lambda_runtime.h"

#define RUNTIME_API_VERSION "2018-06-01"
#define POST_TIMEOUT_MS     10000L
#define CONNECT_TIMEOUT_MS  2000L

/* ------------------------------------------------------------------------------------------
 * The Runtime API client ("Using the Lambda runtime API for custom runtimes").
 */

/* The host:port of AWS_LAMBDA_RUNTIME_API goes into URLs: nothing but a host and a port. */
static bool runtime_api_valid(const char *api)
{
	size_t n = api ? strlen(api) : 0;

	return n > 0 && n < 256 &&
	       strspn(api, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
	           n;
}

void runtime_api_close(struct runtime_api *api)
{
	curl_easy_cleanup(api->easy);
	memset(api, 0, sizeof(*api));
}

enum jitrd_err runtime_api_open(struct runtime_api *api, const char *host_port)
{
	memset(api, 0, sizeof(*api));
	if (!runtime_api_valid(host_port))
		return JITRD_ERR_CONFIG;
	snprintf(api->base, sizeof(api->base), "http://%s/" RUNTIME_API_VERSION "/runtime",
	         host_port);
	api->easy = curl_easy_init();
	return api->easy ? JITRD_OK : JITRD_ERR_NOMEM;
}

/* The options of every request, after a reset (which keeps the connection). false when curl
 * refused one (out of memory). */
static bool prepare(struct runtime_api *api, const char *url, long timeout_ms)
{
	api->curl_error[0] = '\0';
	curl_easy_reset(api->easy);
	return curl_easy_setopt(api->easy, CURLOPT_URL, url) == CURLE_OK &&
	       curl_easy_setopt(api->easy, CURLOPT_PROTOCOLS_STR, "http") == CURLE_OK &&
	       /* the endpoint is local: a proxy from the environment must not be used */
	       curl_easy_setopt(api->easy, CURLOPT_NOPROXY, "*") == CURLE_OK &&
	       curl_easy_setopt(api->easy, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	       curl_easy_setopt(api->easy, CURLOPT_TCP_NODELAY, 1L) == CURLE_OK &&
	       curl_easy_setopt(api->easy, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS) ==
	           CURLE_OK &&
	       curl_easy_setopt(api->easy, CURLOPT_TIMEOUT_MS, timeout_ms) == CURLE_OK &&
	       curl_easy_setopt(api->easy, CURLOPT_ERRORBUFFER, api->curl_error) == CURLE_OK;
}

static size_t discard_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	(void)data;
	(void)ctx;
	return size * nmemb;
}

enum jitrd_err runtime_api_post(struct runtime_api *api, const char *path, const char *header,
                                const char *body, size_t len, struct jitrd_diag *diag)
{
	char url[sizeof(api->base) + REQUEST_ID_MAX + 64];
	struct curl_slist *headers, *all = NULL;
	long status = 0;
	CURLcode rc;

	snprintf(url, sizeof(url), "%s%s", api->base, path);
	/* "Expect:" spares the 100-continue round trip curl makes before a large body */
	headers = curl_slist_append(NULL, "Expect:");
	if (headers)
		all = curl_slist_append(headers, "Content-Type: application/json");
	if (all && header)
		all = curl_slist_append(headers, header);
	if (!all) {
		curl_slist_free_all(headers);
		jitrd_diag_set(diag, "out of memory");
		return JITRD_ERR_NOMEM;
	}
	if (!prepare(api, url, POST_TIMEOUT_MS) ||
	    curl_easy_setopt(api->easy, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
	    curl_easy_setopt(api->easy, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	    curl_easy_setopt(api->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
	    curl_easy_setopt(api->easy, CURLOPT_WRITEFUNCTION, discard_body) != CURLE_OK) {
		curl_slist_free_all(headers);
		jitrd_diag_set(diag, "POST %s: cannot set up the request", path);
		return JITRD_ERR_NOMEM;
	}
	rc = curl_easy_perform(api->easy);
	if (rc == CURLE_OK &&
	    curl_easy_getinfo(api->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		status = 0;
	curl_easy_reset(api->easy); /* drops the pointers to headers and body */
	curl_slist_free_all(headers);
	if (rc != CURLE_OK) {
		jitrd_diag_set(diag, "POST %s: %s", path,
		               *api->curl_error ? api->curl_error : curl_easy_strerror(rc));
		return JITRD_ERR_NETWORK;
	}
	if (status < 200 || status > 299) {
		jitrd_diag_set(diag, "POST %s: HTTP %ld", path, status);
		return JITRD_ERR_API;
	}
	return JITRD_OK;
}

/* Copies a header value (trimmed) into out when name matches; flags one over its bound. */
static void take_header(struct jitrd_lambda_invocation *inv, const char *line, size_t n,
                        const char *name, char *out, size_t size)
{
	size_t name_len = strlen(name);
	const char *value;
	size_t value_len;

	if (n <= name_len || line[name_len] != ':' || strncasecmp(line, name, name_len) != 0)
		return;
	value = line + name_len + 1;
	value_len = n - name_len - 1;
	while (value_len > 0 && (*value == ' ' || *value == '\t')) {
		value++;
		value_len--;
	}
	while (value_len > 0 && (value[value_len - 1] == '\r' || value[value_len - 1] == '\n' ||
	                         value[value_len - 1] == ' ')) {
		value_len--;
	}
	if (value_len >= size) {
		inv->header_too_long = 1;
		return;
	}
	memcpy(out, value, value_len);
	out[value_len] = '\0';
}

size_t jitrd_lambda_on_header(char *line, size_t size, size_t nmemb, void *ctx)
{
	struct jitrd_lambda_invocation *inv = ctx;
	size_t n = size * nmemb;

	/* a new status line (a redirect or 100 Continue before the real answer) starts over */
	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		inv->request_id[0] = inv->deadline_ms[0] = '\0';
		inv->trace_id[0] = inv->function_arn[0] = '\0';
		inv->header_too_long = 0;
		return n;
	}
	take_header(inv, line, n, "Lambda-Runtime-Aws-Request-Id", inv->request_id,
	            sizeof(inv->request_id));
	take_header(inv, line, n, "Lambda-Runtime-Deadline-Ms", inv->deadline_ms,
	            sizeof(inv->deadline_ms));
	take_header(inv, line, n, "Lambda-Runtime-Trace-Id", inv->trace_id, sizeof(inv->trace_id));
	take_header(inv, line, n, "Lambda-Runtime-Invoked-Function-Arn", inv->function_arn,
	            sizeof(inv->function_arn));
	return n;
}

/* The body grows up to the payload bound; past it, the rest is counted but not kept, so the
 * invocation can still be answered with an error. */
size_t jitrd_lambda_on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct jitrd_lambda_invocation *inv = ctx;
	size_t n = size * nmemb;

	if (inv->too_large || inv->len + n > JITRD_LAMBDA_MAX_PAYLOAD) {
		inv->too_large = 1;
		return n;
	}
	if (inv->len + n + 1 > inv->cap) {
		size_t cap = inv->cap ? inv->cap : 16384;
		char *grown;
		while (cap < inv->len + n + 1)
			cap *= 2;
		grown = realloc(inv->payload, cap);
		if (!grown)
			return 0; /* curl reports a write error */
		inv->payload = grown;
		inv->cap = cap;
	}
	memcpy(inv->payload + inv->len, data, n);
	inv->len += n;
	inv->payload[inv->len] = '\0';
	return n;
}

/* A request id is a UUID; it goes into a URL path, so nothing else is accepted. */
bool jitrd_lambda_request_id_valid(const char *id)
{
	size_t n = strlen(id);

	return n > 0 &&
	       strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

enum jitrd_err runtime_api_next(struct runtime_api *api, struct jitrd_lambda_invocation *inv,
                                struct jitrd_diag *diag)
{
	char url[sizeof(api->base) + 32];
	long status = 0;
	CURLcode rc;

	inv->len = 0;
	inv->too_large = 0;
	inv->request_id[0] = inv->deadline_ms[0] = inv->trace_id[0] = inv->function_arn[0] = '\0';
	inv->header_too_long = 0;
	snprintf(url, sizeof(url), "%s/invocation/next", api->base);
	/* a long poll: Lambda answers when there is an invocation, so no timeout */
	if (!prepare(api, url, 0L) ||
	    curl_easy_setopt(api->easy, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
	    curl_easy_setopt(api->easy, CURLOPT_HEADERFUNCTION, jitrd_lambda_on_header) !=
	        CURLE_OK ||
	    curl_easy_setopt(api->easy, CURLOPT_HEADERDATA, inv) != CURLE_OK ||
	    curl_easy_setopt(api->easy, CURLOPT_WRITEFUNCTION, jitrd_lambda_on_body) != CURLE_OK ||
	    curl_easy_setopt(api->easy, CURLOPT_WRITEDATA, inv) != CURLE_OK) {
		jitrd_diag_set(diag, "GET /invocation/next: cannot set up the request");
		return JITRD_ERR_NOMEM;
	}
	rc = curl_easy_perform(api->easy);
	if (rc == CURLE_OK &&
	    curl_easy_getinfo(api->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		status = 0;
	curl_easy_reset(api->easy); /* drops the pointers to inv */
	if (rc != CURLE_OK) {
		jitrd_diag_set(diag, "GET /invocation/next: %s",
		               *api->curl_error ? api->curl_error : curl_easy_strerror(rc));
		return JITRD_ERR_NETWORK;
	}
	if (status != 200) {
		jitrd_diag_set(diag, "GET /invocation/next: HTTP %ld", status);
		return JITRD_ERR_API;
	}
	if (!jitrd_lambda_request_id_valid(inv->request_id)) {
		jitrd_diag_set(diag,
		               "GET /invocation/next: no usable Lambda-Runtime-Aws-Request-Id");
		return JITRD_ERR_BAD_RESPONSE;
	}
	return JITRD_OK;
}
