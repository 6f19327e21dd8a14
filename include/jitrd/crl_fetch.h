/* crl_fetch.h — one GET of a CRL from an http://, https:// or s3://bucket/key URL, conditional
 * on the ETag and Last-Modified of the copy already held, with a size cap, timeouts, bounded
 * redirects (never https to http; none for S3) and TLS verification always on; S3 requests are
 * SigV4-signed with the credentials chain. The body is not parsed here: the core CRL module
 * verifies it. */
#ifndef JITRD_CRL_FETCH_H
#define JITRD_CRL_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "jitrd/error.h"

struct jitrd_config;
struct jitrd_credentials_provider;

/* A 1,000,000-entry CRL is about 30-40 MB. */
#define JITRD_CRL_FETCH_DEFAULT_MAX_SIZE           ((size_t)256 * 1024 * 1024)
#define JITRD_CRL_FETCH_DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define JITRD_CRL_FETCH_DEFAULT_TIMEOUT_MS         300000L
#define JITRD_CRL_FETCH_MAX_REDIRECTS              3L
/* ETag and Last-Modified longer than this (or with a byte outside printable ASCII) are dropped. */
#define JITRD_CRL_FETCH_VALIDATOR_MAX 256
#define JITRD_CRL_FETCH_URL_MAX       2048
/* S3's limits: a key is at most 1024 bytes of UTF-8, a bucket name 3..63 bytes. */
#define JITRD_CRL_FETCH_S3_KEY_MAX    1024
#define JITRD_CRL_FETCH_S3_BUCKET_MAX 63

/* Where and how s3:// URLs are fetched. Borrowed for the call. */
struct jitrd_crl_fetch_s3 {
	const char *region;   /* SigV4 scope and AWS's host name, e.g. "eu-west-1" */
	const char *endpoint; /* NULL or "": AWS (https://BUCKET.s3.REGION.amazonaws.com/KEY,
	                       * or https://s3.REGION.amazonaws.com/BUCKET/KEY path-style);
	                       * else scheme://host[:port] of an S3-compatible store, always
	                       * path-style; https, or http only to a loopback address */
	bool path_style;      /* with AWS's endpoint; also forced for a bucket with a '.' */
	struct jitrd_credentials_provider *credentials; /* the chain; borrowed */
};

struct jitrd_crl_fetch_options {
	const char *url;         /* http://, https:// or s3://bucket/key (s3 NULL: refused) */
	size_t max_size;         /* 0: JITRD_CRL_FETCH_DEFAULT_MAX_SIZE */
	long connect_timeout_ms; /* <= 0: JITRD_CRL_FETCH_DEFAULT_CONNECT_TIMEOUT_MS */
	long timeout_ms;         /* <= 0: JITRD_CRL_FETCH_DEFAULT_TIMEOUT_MS (whole transfer) */
	const char *ca_file;     /* NULL: the system CA store; else only this PEM bundle */
	const struct jitrd_crl_fetch_s3 *s3; /* NULL: s3:// URLs are refused */
};

/* The S3 settings of [crl] (s3_region, which is [aws] region when not set; s3_endpoint;
 * s3_addressing) into *out, which borrows cfg's strings and credentials (NULL when there are
 * none: then s3:// URLs are refused at fetch time). Never fails; cfg and out must not be
 * NULL. */
void jitrd_crl_fetch_s3_from_config(const struct jitrd_config *cfg,
                                    struct jitrd_credentials_provider *credentials,
                                    struct jitrd_crl_fetch_s3 *out);

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
	char final_url[JITRD_CRL_FETCH_URL_MAX]; /* after redirects, without userinfo or query;
	                                          * for S3 the s3:// URL */
};

/* Fetches opts->url. On JITRD_OK *out is filled (owned by the caller:
 * jitrd_crl_fetch_result_cleanup); on error *out is untouched and diag says why, naming the
 * URL without userinfo or query (which may hold a signature). Errors: JITRD_ERR_INVALID_ARG (a
 * NULL argument, a scheme other than http/https/s3, an s3:// URL without opts->s3, a bad
 * bucket name or key, an S3 endpoint that is not https or loopback http: all before any I/O),
 * JITRD_ERR_CREDENTIALS (no credentials for an S3 request), JITRD_ERR_API (S3 answered with an
 * error: diag names the bucket, the key and S3's error code, e.g. NoSuchKey, AccessDenied,
 * SignatureDoesNotMatch), JITRD_ERR_TOO_LARGE (a
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
