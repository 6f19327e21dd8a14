/* sigv4.h — AWS Signature Version 4 for HTTP requests, in stages that are each testable:
 * canonical request -> string to sign -> signature -> Authorization header.
 * Pure: the signing time and credentials are inputs; no clock, no environment, no I/O. */
#ifndef JITRD_SIGV4_H
#define JITRD_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "jitrd/error.h"

#define JITRD_SIGV4_MAX_HEADERS 64

struct jitrd_sigv4_header {
	const char *name;  /* any case; canonicalised to lower case */
	const char *value; /* raw; trimmed and inner whitespace runs folded per AWS rules */
};

struct jitrd_sigv4_request {
	const char *method;      /* "GET", "POST", ... */
	const char *path;        /* raw path as sent, e.g. "/certificates/abc" (already URI-encoded) */
	const char *query;       /* raw query string without '?', may be NULL or "" */
	const struct jitrd_sigv4_header *headers; /* must include host; x-amz-date is added
						   * by jitrd_sigv4_sign, not expected here */
	size_t header_count;
	const unsigned char *payload; /* may be NULL when payload_len == 0 */
	size_t payload_len;
	/* When 1, the path is normalised (RFC 3986 remove_dot_segments, duplicate slashes
	 * collapsed) and each segment URI-encoded again, as for every service except S3.
	 * The test vectors use 1; AWS IoT uses 1. */
	int normalize_path;
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
 * array stays untouched. On success *out (NUL-terminated) and *signed_headers
 * ("host;x-amz-date") are owned by the caller (free()).
 * Errors: JITRD_ERR_INVALID_ARG (missing method/path, header without name, too many
 * headers), JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_sigv4_canonical_request(const struct jitrd_sigv4_request *req,
					     const struct jitrd_sigv4_header *extra,
					     size_t extra_count, char **out,
					     char **signed_headers) JITRD_WUR;

/* Stage 2. "AWS4-HMAC-SHA256\n<amzdate>\n<date>/<region>/<service>/aws4_request\n<hex sha256>".
 * *out owned by the caller. */
enum jitrd_err jitrd_sigv4_string_to_sign(const char *canonical_request,
					  const struct jitrd_sigv4_scope *scope,
					  char **out) JITRD_WUR;

/* Stage 3. Lowercase hex HMAC chain signature into hex_out (65 bytes). Derived keys are
 * wiped with OPENSSL_cleanse before return. */
enum jitrd_err jitrd_sigv4_signature(const char *string_to_sign,
				     const struct jitrd_sigv4_credentials *creds,
				     const struct jitrd_sigv4_scope *scope,
				     char hex_out[65]) JITRD_WUR;

/* The headers a caller must add to its request after signing. All owned by the struct;
 * release with jitrd_sigv4_result_cleanup. */
struct jitrd_sigv4_result {
	char amz_date[17];        /* YYYYMMDDTHHMMSSZ: send as X-Amz-Date */
	char *authorization;      /* send as Authorization */
	char *security_token;     /* send as X-Amz-Security-Token when not NULL */
	char *payload_hash;       /* hex SHA-256 of the payload (X-Amz-Content-Sha256 if wanted) */
};

/* All stages: adds x-amz-date (and x-amz-security-token when the credentials carry a session
 * token) to the signed headers, and fills *out. *out is written only on success.
 * Errors as the stages, plus JITRD_ERR_CRYPTO. */
enum jitrd_err jitrd_sigv4_sign(const struct jitrd_sigv4_request *req,
				const struct jitrd_sigv4_credentials *creds,
				const struct jitrd_sigv4_scope *scope,
				struct jitrd_sigv4_result *out) JITRD_WUR;

void jitrd_sigv4_result_cleanup(struct jitrd_sigv4_result *res);

/* Formats when as "YYYYMMDDTHHMMSSZ" (UTC) without gmtime's static buffer. 0 or -1. */
int jitrd_sigv4_amz_date(time_t when, char out[17]);
/* Parses "YYYYMMDDTHHMMSSZ" strictly; 0 on success, -1 otherwise. */
int jitrd_sigv4_parse_amz_date(const char *s, time_t *when);

#endif
