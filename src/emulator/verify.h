/* verify.h — SigV4 verification of an incoming request, as AWS does it: the Authorization
 * header parsed, the signature recomputed with the sigv4 module and compared in constant time.
 * Pure: the request and `now` are inputs; no clock, no I/O. */
#ifndef JITRD_EMU_VERIFY_H
#define JITRD_EMU_VERIFY_H

#include <stddef.h>
#include <time.h>

#include "jitrd/sigv4.h"
#include "store.h"

/* The one identity the emulator accepts. */
struct emu_sigv4_key {
	const char *region;
	const char *access_key_id;
	const char *secret_access_key;
};

/* A request as received: raw (still percent-encoded) path and query, every header. */
struct emu_http_request {
	const char *method;
	const char *path;
	const char *query; /* without '?', may be NULL */
	const struct jitrd_sigv4_header *headers;
	size_t header_count;
	const unsigned char *body; /* may be NULL when body_len is 0 */
	size_t body_len;
};

/* How far X-Amz-Date may be from now, as AWS allows. */
#define EMU_SIGV4_MAX_SKEW 300

/* JITRD_OK when req carries a valid AWS4-HMAC-SHA256 Authorization header for key, signed
 * for the service iot or execute-api at most EMU_SIGV4_MAX_SKEW seconds from now.
 * Otherwise JITRD_ERR_SIGNATURE with err set as AWS answers (403 and one of
 * MissingAuthenticationTokenException, IncompleteSignatureException,
 * UnrecognizedClientException, InvalidSignatureException), or JITRD_ERR_NOMEM. */
enum jitrd_err emu_sigv4_verify(const struct emu_sigv4_key *key, const struct emu_http_request *req,
                                time_t now, struct emu_api_error *err) JITRD_WUR;

#endif
