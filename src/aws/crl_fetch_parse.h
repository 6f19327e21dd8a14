/* crl_fetch_parse.h — private to src/aws and its tests: the stages of crl_fetch.c that read
 * untrusted text (response header lines, URLs), exposed for table-driven negative tests. */
#ifndef JITRD_CRL_FETCH_PARSE_H
#define JITRD_CRL_FETCH_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "jitrd/crl_fetch.h"
#include "jitrd/sigv4.h"

struct jitrd_crl_fetch_validators {
	char etag[JITRD_CRL_FETCH_VALIDATOR_MAX];
	char last_modified[JITRD_CRL_FETCH_VALIDATOR_MAX];
};

/* One response header line as curl hands it (n bytes, not NUL-terminated, CRLF included). A
 * status line ("HTTP/...") empties both validators (a redirect's do not count); "ETag: V" and
 * "Last-Modified: V" put V (trimmed) in place when it is 1..JITRD_CRL_FETCH_VALIDATOR_MAX-1
 * bytes of printable ASCII, and otherwise empty it: never cut, never a control byte. */
void jitrd_crl_fetch_header_line(const char *data, size_t n, struct jitrd_crl_fetch_validators *v);

/* Whether s (NUL-terminated) is a validator jitrd may keep and send back. */
bool jitrd_crl_fetch_validator_ok(const char *s);

/* url without userinfo, query and fragment into out; "(unparsable URL)" when it does not
 * parse or does not fit. out is always NUL-terminated. */
void jitrd_crl_fetch_redact_url(const char *url, char *out, size_t out_size);

/* An s3:// URL taken apart: the key as written (not percent-decoded, as the AWS CLI reads
 * s3:// URLs). */
struct jitrd_crl_fetch_s3_object {
	char bucket[JITRD_CRL_FETCH_S3_BUCKET_MAX + 1];
	char key[JITRD_CRL_FETCH_S3_KEY_MAX + 1];
};

/* Parses "s3://bucket/key" into *out (written only on JITRD_OK). The bucket follows AWS's
 * naming rules (3..63 of a-z 0-9 . -, a letter or digit at each end, no "..", not an IPv4
 * address, no reserved prefix or suffix); the key is 1..1024 bytes of UTF-8 without control
 * characters, "." or ".." segments (curl would remove them, so the object signed would not be
 * the one asked for), and the URL holds no '?' or '#'. JITRD_ERR_INVALID_ARG with diag saying
 * which rule, naming the URL only up to the bucket. */
enum jitrd_err jitrd_crl_fetch_s3_parse(const char *url, struct jitrd_crl_fetch_s3_object *out,
                                        struct jitrd_diag *diag) JITRD_WUR;

/* Where one object is fetched from: the URL to send (key percent-encoded once, '/' kept), the
 * Host header, and the path as the signer takes it (raw: the signer encodes it once). */
struct jitrd_crl_fetch_s3_target {
	char url[JITRD_CRL_FETCH_URL_MAX + 3 * JITRD_CRL_FETCH_S3_KEY_MAX];
	char host[300];
	char path[JITRD_CRL_FETCH_S3_BUCKET_MAX + JITRD_CRL_FETCH_S3_KEY_MAX + 3];
};

/* Resolves obj against s3 (addressing, endpoint, region) into *out (written only on
 * JITRD_OK). JITRD_ERR_INVALID_ARG (diag says why) for a region that is not a region name, an
 * endpoint that is not scheme://host[:port], or one over plain http to a host that is not
 * loopback: credentials never travel over plain http to another host. JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_crl_fetch_s3_target(const struct jitrd_crl_fetch_s3 *s3,
                                         const struct jitrd_crl_fetch_s3_object *obj,
                                         struct jitrd_crl_fetch_s3_target *out,
                                         struct jitrd_diag *diag) JITRD_WUR;

/* The SigV4 request of a GET of target as S3 wants it signed into *out, pointing at *host
 * (filled here) and at target: the raw path, which the signer encodes once (S3 does not take
 * the double encoding of other services, nor normalised paths), and x-amz-content-sha256 (the
 * empty body's SHA-256) signed and sent. */
void jitrd_crl_fetch_s3_sigv4_request(const struct jitrd_crl_fetch_s3_target *target,
                                      struct jitrd_sigv4_header *host,
                                      struct jitrd_sigv4_request *out);

/* The text of the first <Code> element of an S3 error body (len bytes, NUL not needed) into
 * code when it is 1..size-1 bytes of [A-Za-z0-9.]; only the first 64 KiB is searched. false
 * (code "") otherwise. */
bool jitrd_crl_fetch_s3_error_code(const char *body, size_t len, char *code, size_t size);

#endif
