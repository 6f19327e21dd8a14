/* crl_fetch.h — one GET of a CRL from an http:// or https:// URL, conditional on the ETag and
 * Last-Modified of the copy already held, with a size cap, timeouts, bounded redirects (never
 * https to http) and TLS verification always on. The body is not parsed here: the core CRL
 * module verifies it. Not yet wired into the runtime. */
#ifndef JITRD_CRL_FETCH_H
#define JITRD_CRL_FETCH_H

#include <stddef.h>

#include "jitrd/error.h"

/* A 1,000,000-entry CRL is about 30-40 MB. */
#define JITRD_CRL_FETCH_DEFAULT_MAX_SIZE           ((size_t)256 * 1024 * 1024)
#define JITRD_CRL_FETCH_DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define JITRD_CRL_FETCH_DEFAULT_TIMEOUT_MS         300000L
#define JITRD_CRL_FETCH_MAX_REDIRECTS              3L
/* ETag and Last-Modified longer than this (or with a byte outside printable ASCII) are dropped. */
#define JITRD_CRL_FETCH_VALIDATOR_MAX 256
#define JITRD_CRL_FETCH_URL_MAX       2048

struct jitrd_crl_fetch_options {
	const char *url;         /* http:// or https:// (s3:// is refused: not supported yet) */
	size_t max_size;         /* 0: JITRD_CRL_FETCH_DEFAULT_MAX_SIZE */
	long connect_timeout_ms; /* <= 0: JITRD_CRL_FETCH_DEFAULT_CONNECT_TIMEOUT_MS */
	long timeout_ms;         /* <= 0: JITRD_CRL_FETCH_DEFAULT_TIMEOUT_MS (whole transfer) */
	const char *ca_file;     /* NULL: the system CA store; else only this PEM bundle */
};

/* Validators of the copy already held; NULL or "" fields (or a NULL cache) mean none. A value
 * that is not a valid validator (too long, control characters) is not sent. */
struct jitrd_crl_fetch_cache {
	const char *etag;
	const char *last_modified;
};

enum jitrd_crl_fetch_status {
	JITRD_CRL_FETCH_NEW = 1,          /* 200: body holds the CRL as served */
	JITRD_CRL_FETCH_NOT_MODIFIED = 2, /* 304: no body; keep the copy held */
};

struct jitrd_crl_fetch_result {
	enum jitrd_crl_fetch_status status;
	unsigned char *body; /* NEW: the bytes served (DER or PEM), NUL-terminated after body_len;
	                      * NOT_MODIFIED: NULL */
	size_t body_len;
	char etag[JITRD_CRL_FETCH_VALIDATOR_MAX];          /* "" when absent or dropped */
	char last_modified[JITRD_CRL_FETCH_VALIDATOR_MAX]; /* "" when absent or dropped */
	char final_url[JITRD_CRL_FETCH_URL_MAX]; /* after redirects, without userinfo or query */
};

/* Fetches opts->url. On JITRD_OK *out is filled (owned by the caller:
 * jitrd_crl_fetch_result_cleanup); on error *out is untouched and diag says why, naming the
 * URL without userinfo or query (which may hold a signature). Errors: JITRD_ERR_INVALID_ARG (a
 * NULL argument, a scheme other than http/https, before any I/O), JITRD_ERR_TOO_LARGE (a
 * Content-Length or a body over the cap), JITRD_ERR_TIMEOUT, JITRD_ERR_NETWORK (refused, DNS,
 * TLS verification), JITRD_ERR_BAD_RESPONSE (an HTTP status other than 200/304, too many
 * redirects, a redirect to a refused scheme, a 304 to an unconditional request, broken
 * framing), JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_crl_fetch(const struct jitrd_crl_fetch_options *opts,
                               const struct jitrd_crl_fetch_cache *known,
                               struct jitrd_crl_fetch_result *out,
                               struct jitrd_diag *diag) JITRD_WUR;

/* Frees the body and zeroes *result; NULL is fine. */
void jitrd_crl_fetch_result_cleanup(struct jitrd_crl_fetch_result *result);

#endif
