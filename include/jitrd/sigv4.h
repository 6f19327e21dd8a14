/* sigv4.h — AWS Signature Version 4 for HTTP requests, in stages that are each testable:
 * canonical request -> string to sign -> signature -> Authorization header.
 * Pure: the signing time and credentials are inputs; no clock, no environment, no I/O. */
#ifndef JITRD_SIGV4_H
#define JITRD_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "jitrd/error.h"

/* Bounds on every input; beyond any of them a call fails with JITRD_ERR_INVALID_ARG before
 * allocating anything sized by that input. */
#define JITRD_SIGV4_MAX_HEADERS       64   /* caller headers per request */
#define JITRD_SIGV4_MAX_EXTRA         4    /* extra headers given to stage 1 */
#define JITRD_SIGV4_MAX_NAME_LEN      128  /* header name */
#define JITRD_SIGV4_MAX_VALUE_LEN     8192 /* header value, also the session token */
#define JITRD_SIGV4_MAX_METHOD_LEN    16
#define JITRD_SIGV4_MAX_PATH_LEN      4096
#define JITRD_SIGV4_MAX_QUERY_LEN     8192
#define JITRD_SIGV4_MAX_QUERY_PARAMS  128
#define JITRD_SIGV4_MAX_KEY_LEN       128 /* access key id, secret access key */
#define JITRD_SIGV4_MAX_SCOPE_LEN     64  /* region, service */
#define JITRD_SIGV4_MAX_CANONICAL_LEN (256 * 1024)

struct jitrd_sigv4_header {
	const char *name;  /* any case; canonicalised to lower case */
	const char *value; /* raw; trimmed and inner whitespace runs folded per AWS rules */
};

struct jitrd_sigv4_request {
	const char *method; /* "GET", "POST", ... */
	const char *path;   /* raw path as sent, e.g. "/certificates/abc" (already URI-encoded) */
	const char *query;  /* raw query string without '?', may be NULL or "" */
	const struct jitrd_sigv4_header *headers; /* must include host; x-amz-date is added
	                                           * by jitrd_sigv4_sign, not expected here */
	size_t header_count;
	const unsigned char *payload; /* may be NULL when payload_len == 0 */
	size_t payload_len;
	/* When 1, the path is normalised as the AWS SDKs do (dot segments removed, duplicate
	 * slashes collapsed, a trailing slash kept only when the raw path has one). The test
	 * vectors mostly use 1; AWS IoT uses 1. Either way each segment is then URI-encoded
	 * again (double encoding, as every service but S3 expects: '%' becomes %25). */
	int normalize_path;
	/* When 1, x-amz-content-sha256: <hex SHA-256 of the payload> is added to the signed
	 * headers (aws-c-auth's "sign_body"; S3 requires it, IoT does not). */
	int sign_payload_hash;
	/* When 1, a session token is NOT signed: jitrd_sigv4_sign leaves x-amz-security-token
	 * out of the canonical request and the caller adds it after signing, as some services
	 * expect (the vectors' post-sts-header-after). Default 0 signs it. */
	int session_token_unsigned;
};

struct jitrd_sigv4_credentials {
	const char *access_key_id;
	const char *secret_access_key; /* never copied into any output or message */
	const char *session_token;     /* NULL or "" when none */
};

struct jitrd_sigv4_scope {
	const char *region;  /* "us-east-1" */
	const char *service; /* "iot", "execute-api" */
	time_t when;         /* signing time, UTC */
};

/* Stage 1. Canonical request as AWS defines it. extra headers (x-amz-date, and
 * x-amz-security-token when signing it) are given separately so that the caller's header
 * array stays untouched; extra may be NULL when extra_count is 0. Every header given is
 * signed; duplicate names are joined with ',' in the order given (headers, then extra).
 * When req->sign_payload_hash is 1 this stage adds x-amz-content-sha256 itself.
 * On success *out (NUL-terminated) and *signed_headers ("host;x-amz-date") are owned by the
 * caller (free(); *out holds the session token when one is signed, so wipe it first).
 * Errors: JITRD_ERR_INVALID_ARG (missing method/path/host header, a name that is not an
 * HTTP token, a value with CR/LF/control bytes, a malformed %XX in the query, x-amz-content-
 * sha256 given while sign_payload_hash adds it, any bound above exceeded),
 * JITRD_ERR_NOMEM, JITRD_ERR_CRYPTO. */
enum jitrd_err jitrd_sigv4_canonical_request(const struct jitrd_sigv4_request *req,
                                             const struct jitrd_sigv4_header *extra,
                                             size_t extra_count, char **out,
                                             char **signed_headers) JITRD_WUR;

/* Stage 2. "AWS4-HMAC-SHA256\n<amzdate>\n<date>/<region>/<service>/aws4_request\n<hex sha256>".
 * *out owned by the caller (free()). Errors: JITRD_ERR_INVALID_ARG (NULL input, region or
 * service empty, too long or not [A-Za-z0-9._-], a time outside 1970..9999),
 * JITRD_ERR_NOMEM, JITRD_ERR_CRYPTO. */
enum jitrd_err jitrd_sigv4_string_to_sign(const char *canonical_request,
                                          const struct jitrd_sigv4_scope *scope,
                                          char **out) JITRD_WUR;

/* Stage 3. Lowercase hex HMAC chain signature into hex_out (65 bytes, written only on
 * success). Derived keys are wiped with OPENSSL_cleanse before return. Errors:
 * JITRD_ERR_INVALID_ARG (missing or over-long secret, bad scope), JITRD_ERR_CRYPTO. */
enum jitrd_err jitrd_sigv4_signature(const char *string_to_sign,
                                     const struct jitrd_sigv4_credentials *creds,
                                     const struct jitrd_sigv4_scope *scope,
                                     char hex_out[65]) JITRD_WUR;

/* The headers a caller must add to its request after signing. All owned by the struct;
 * release with jitrd_sigv4_result_cleanup. */
struct jitrd_sigv4_result {
	char amz_date[17];    /* YYYYMMDDTHHMMSSZ: send as X-Amz-Date */
	char *authorization;  /* send as Authorization */
	char *security_token; /* send as X-Amz-Security-Token when not NULL */
	char *payload_hash;   /* hex SHA-256 of the payload (X-Amz-Content-Sha256 if wanted) */
};

/* All stages: adds x-amz-date (and x-amz-security-token when the credentials carry a session
 * token and req->session_token_unsigned is 0) to the signed headers, and fills *out.
 * *out is written only on success. The caller's headers must not already hold
 * x-amz-date, authorization, or (with a session token) x-amz-security-token.
 * The access key id must be 1..JITRD_SIGV4_MAX_KEY_LEN of [A-Za-z0-9._-].
 * Errors as the stages (JITRD_ERR_INVALID_ARG, JITRD_ERR_NOMEM, JITRD_ERR_CRYPTO). */
enum jitrd_err jitrd_sigv4_sign(const struct jitrd_sigv4_request *req,
                                const struct jitrd_sigv4_credentials *creds,
                                const struct jitrd_sigv4_scope *scope,
                                struct jitrd_sigv4_result *out) JITRD_WUR;

/* The derived signing key (kSigning, the end of AWS's HMAC chain) kept between requests, so
 * that a session runs only the final HMAC per request instead of five. It is valid for one UTC
 * date, region, service and access key id: AWS never pairs an access key id with a second
 * secret, so the id stands for the secret and the secret itself is not kept. The fields are
 * the module's; a caller only initialises, passes and cleans up. Not locked: one per session
 * (thread). Caller-owned storage: jitrd_sigv4_key_cache_init before the first use,
 * jitrd_sigv4_key_cache_cleanup after the last (it wipes the key with OPENSSL_cleanse). */
struct jitrd_sigv4_key_cache {
	int valid;
	char date[9]; /* YYYYMMDD */
	char region[JITRD_SIGV4_MAX_SCOPE_LEN + 1];
	char service[JITRD_SIGV4_MAX_SCOPE_LEN + 1];
	char access_key_id[JITRD_SIGV4_MAX_KEY_LEN + 1];
	unsigned char key[32];
};

void jitrd_sigv4_key_cache_init(struct jitrd_sigv4_key_cache *cache);
/* Wipes the key and empties the cache; NULL is fine, and so is calling it twice. */
void jitrd_sigv4_key_cache_cleanup(struct jitrd_sigv4_key_cache *cache);

/* jitrd_sigv4_sign with a key cache: the signing key is derived only when cache does not hold
 * the one for (the UTC date of scope->when, region, service, access key id), and then replaces
 * the old one (wiped). The result is byte for byte what jitrd_sigv4_sign gives. cache may be
 * NULL (then this is jitrd_sigv4_sign). On an error *out is untouched and the cache holds
 * either its old key or none. Errors as jitrd_sigv4_sign. */
enum jitrd_err jitrd_sigv4_sign_cached(const struct jitrd_sigv4_request *req,
                                       const struct jitrd_sigv4_credentials *creds,
                                       const struct jitrd_sigv4_scope *scope,
                                       struct jitrd_sigv4_key_cache *cache,
                                       struct jitrd_sigv4_result *out) JITRD_WUR;

/* Frees what the result owns (the session token copy is wiped first) and zeroes it.
 * NULL and an already cleaned-up result are fine. */
void jitrd_sigv4_result_cleanup(struct jitrd_sigv4_result *res);

/* Formats when as "YYYYMMDDTHHMMSSZ" (UTC) without gmtime's static buffer. JITRD_OK, or
 * JITRD_ERR_INVALID_ARG (NULL out, when before 1970 or after 9999); out is written only on
 * success. */
enum jitrd_err jitrd_sigv4_amz_date(time_t when, char out[17]) JITRD_WUR;
/* Parses "YYYYMMDDTHHMMSSZ" strictly (years 1970..9999, real calendar days, no leap second).
 * JITRD_OK; JITRD_ERR_MALFORMED for any other text, JITRD_ERR_INVALID_ARG for a NULL
 * argument; *when is written only on success. */
enum jitrd_err jitrd_sigv4_parse_amz_date(const char *s, time_t *when) JITRD_WUR;

#endif
