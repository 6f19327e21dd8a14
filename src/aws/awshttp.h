/* awshttp.h — private to src/aws: one HTTP exchange over a caller's libcurl easy handle, with
 * TLS verification always on, timeouts, a capped response body, and curl's failures mapped to
 * jitrd's error codes. Never logs; messages hold no header values (they may carry secrets). */
#ifndef JITRD_AWSHTTP_H
#define JITRD_AWSHTTP_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "jitrd/error.h"

#define JITRD_AWSHTTP_ERROR_TYPE_MAX 128

struct jitrd_awshttp_request {
	const char *method; /* "GET", "PUT", "POST" */
	const char *url;
	const struct curl_slist *headers; /* "Name: value" lines; may be NULL */
	const void *body;                 /* may be NULL when body_len == 0 */
	size_t body_len;
	long connect_timeout_ms; /* > 0 */
	long timeout_ms;         /* > 0: the whole exchange */
	size_t max_body;         /* a longer response body is JITRD_ERR_BAD_RESPONSE */
	int prepared;            /* 1: easy went through jitrd_awshttp_prepare, so the
	                          * options every request shares are not set again */
	int no_proxy;            /* 1: never through a proxy, whatever http_proxy and
	                          * friends say (instance metadata, container agent) */
	/* Optional, zero for the AWS API and the credential providers: */
	long max_redirects;          /* > 0: follow at most this many redirects */
	const char *redir_protocols; /* with max_redirects: schemes a redirect may go to
	                              * ("https", or "http,https") */
	const char *ca_file;         /* non-NULL: trust only this PEM bundle (stays set on
	                              * easy); NULL: the system store */
	int cap_is_too_large;        /* 1: a body over max_body (announced by Content-Length
	                              * or received) is JITRD_ERR_TOO_LARGE, and curl refuses a
	                              * Content-Length over it before reading */
	/* Non-NULL: polled while the exchange runs (about once a second when idle); non-zero
	 * aborts it with JITRD_ERR_DEADLINE. */
	int (*cancelled)(void *ctx);
	void *cancel_ctx;
	/* Each response header line as curl hands it (redirects' too), or NULL. */
	void (*header_line)(void *ctx, const char *data, size_t n);
	void *header_ctx;
};

struct jitrd_awshttp_response {
	long status;
	char *body; /* NUL-terminated (body_len excludes it); free(); never NULL on success */
	size_t body_len;
	char error_type[JITRD_AWSHTTP_ERROR_TYPE_MAX]; /* x-amzn-ErrorType, "" when absent */
};

/* Performs the request on easy (its connections are kept for the next call). On JITRD_OK
 * (any HTTP status) *resp is filled and owned by the caller: jitrd_awshttp_response_cleanup.
 * Errors: JITRD_ERR_TIMEOUT, JITRD_ERR_NETWORK (refused, reset, DNS, TLS),
 * JITRD_ERR_BAD_RESPONSE (truncated, over max_body, wrong framing), JITRD_ERR_NOMEM,
 * JITRD_ERR_INVALID_ARG. diag names the URL's host and the failure, never a header. */
/* Sets on easy, once for its life, the options every request shares: http and https only, no
 * redirects, TLS peer and host verification on, no signals, TCP keep-alive, the body and
 * header callbacks. Requests on a handle so prepared (and not changed otherwise) may say
 * prepared = 1. Errors: JITRD_ERR_INVALID_ARG (NULL), JITRD_ERR_NOMEM (curl refused). */
enum jitrd_err jitrd_awshttp_prepare(CURL *easy) JITRD_WUR;

enum jitrd_err jitrd_awshttp_perform(CURL *easy, const struct jitrd_awshttp_request *req,
                                     struct jitrd_awshttp_response *resp,
                                     struct jitrd_diag *diag) JITRD_WUR;

void jitrd_awshttp_response_cleanup(struct jitrd_awshttp_response *resp);

/* One response header line as curl hands it (n bytes, not NUL-terminated, CRLF included):
 * a status line ("HTTP/...") empties error_type; "x-amzn-ErrorType: V" puts V, trimmed and
 * cut to JITRD_AWSHTTP_ERROR_TYPE_MAX - 1 bytes, into error_type; other lines change nothing. */
void jitrd_awshttp_header_line(const char *data, size_t n,
                               char error_type[JITRD_AWSHTTP_ERROR_TYPE_MAX]);

/* 1 when url is http:// to a loopback host (127.0.0.0/8, ::1, localhost) or https://;
 * 0 for anything else (other schemes, plain http to another host, unparsable). */
int jitrd_awshttp_url_allowed(const char *url);

/* Host of url into out (IPv6 without brackets), scheme into scheme_out, port (the scheme's
 * default when none is given) and path; NULL outputs are skipped. JITRD_OK; JITRD_ERR_INVALID_ARG
 * when url does not parse or a part does not fit (outputs may then hold a part cut short);
 * JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_awshttp_url_parts(const char *url, char *scheme_out, size_t scheme_size,
                                       char *host_out, size_t host_size, long *port_out,
                                       char *path_out, size_t path_size) JITRD_WUR;

/* Checks that endpoint is scheme://host[:port] (a path of "/" at most; no user, query or
 * fragment) over https, or http to a loopback host, and writes the Host header value (lower
 * case, IPv6 in brackets, the port unless it is the scheme's default: it is signed) into host
 * and "scheme://host" into base_url. JITRD_OK; JITRD_ERR_INVALID_ARG with *why "not
 * scheme://host[:port]" or "must be https (http only to loopback)" (a request signed for AWS
 * carries credentials), outputs then unspecified. */
enum jitrd_err jitrd_awshttp_endpoint(const char *endpoint, char *host, size_t host_size,
                                      char *base_url, size_t base_url_size,
                                      const char **why) JITRD_WUR;

/* Appends "name: value" to *list (a copy; the temporary line is wiped, as it may hold a
 * signature or a token). JITRD_ERR_NOMEM, *list unchanged, when curl cannot. */
enum jitrd_err jitrd_awshttp_header_append(struct curl_slist **list, const char *name,
                                           const char *value) JITRD_WUR;

/* Wipes every line of list, then frees it (NULL is fine). */
void jitrd_awshttp_headers_free(struct curl_slist *list);

/* 1 when host (no brackets) is a loopback address or "localhost". */
int jitrd_awshttp_host_is_loopback(const char *host);

/* 1 when host (no brackets) is a link-local address: 169.254.0.0/16 (RFC 3927) or fe80::/10
 * (RFC 4291 §2.5.6). Names are not resolved: a name is never link-local here. */
int jitrd_awshttp_host_is_link_local(const char *host);

/* Percent-encodes s (n bytes) as AWS's URI rules want (everything but A-Za-z0-9-_.~), into a
 * fresh string (free()). NULL on allocation failure. */
char *jitrd_awshttp_uri_encode(const char *s, size_t n);

/* Sleeps ms (>= 0), resuming after signals. */
void jitrd_awshttp_sleep_ms(int64_t ms);

/* Parses "YYYY-MM-DDTHH:MM:SS[.fff](Z|+00:00)" (UTC) into *out (written only on JITRD_OK);
 * JITRD_ERR_INVALID_ARG for anything else. */
enum jitrd_err jitrd_awshttp_parse_iso8601(const char *s, time_t *out) JITRD_WUR;

#endif
