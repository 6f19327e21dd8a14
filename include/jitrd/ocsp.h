/* ocsp.h — OCSP (RFC 6960) for one device certificate: the DER request for (device, CA) and
 * the judgement of a DER response at a given time. Pure: bytes and `now` in, a verdict out;
 * the HTTP exchange is ocsp_fetch's, the cache the pipeline's. */
#ifndef JITRD_OCSP_H
#define JITRD_OCSP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "jitrd/cert.h"
#include "jitrd/error.h"

/* A response is one SingleResponse, a signature and perhaps the responder's certificate: a
 * few KiB. Anything longer is refused before it is decoded. */
#define JITRD_OCSP_RESPONSE_MAX (64 * 1024)
#define JITRD_OCSP_NONCE_LEN    16 /* RFC 8954 §2.1: 1..32 octets; 16 is what OpenSSL sends */
#define JITRD_OCSP_URL_MAX      2048

enum jitrd_ocsp_status {
	JITRD_OCSP_NONE = 0, /* no answer: not asked, or nothing came back */
	JITRD_OCSP_GOOD,
	JITRD_OCSP_REVOKED, /* reason says why (never certificateHold) */
	JITRD_OCSP_HOLD,    /* revoked with reason certificateHold: reversible */
	JITRD_OCSP_UNKNOWN, /* the responder does not know the certificate */
	JITRD_OCSP_INVALID, /* a response that may not be trusted; why says what is wrong */
};

struct jitrd_ocsp_answer {
	enum jitrd_ocsp_status status;
	int reason;         /* REVOKED: RFC 5280 CRLReason code, or JITRD_CRL_REASON_NONE */
	time_t this_update; /* GOOD/REVOKED/HOLD/UNKNOWN: of the SingleResponse */
	time_t next_update; /* 0 when the responder gave none */
	bool nonce_ignored; /* a nonce was sent and the response carried none (allowed) */
	char why[192];      /* INVALID, NONE: what went wrong; printable, untrusted parts quoted */
};

/* A built request: its DER (owned; free with jitrd_ocsp_request_cleanup) as sent. */
struct jitrd_ocsp_request {
	unsigned char *der;
	size_t len;
};

/* "good", "revoked", "hold", "unknown", "invalid", "none". */
const char *jitrd_ocsp_status_name(enum jitrd_ocsp_status status);

/* The OCSPRequest (RFC 6960 §4.1.1) for cert issued by ca: one CertID (SHA-1 hashes of the
 * issuer's name and key, as RFC 5019 §2.1.1 asks, and cert's serial), unsigned, with a nonce
 * extension (RFC 6960 §4.4.1) holding the nonce_len bytes of nonce when nonce_len > 0 (the
 * caller draws them: core has no randomness). On JITRD_OK *out is filled and owned by the
 * caller. Errors: JITRD_ERR_INVALID_ARG (NULL, nonce_len over 32), JITRD_ERR_NOMEM,
 * JITRD_ERR_CRYPTO. */
enum jitrd_err jitrd_ocsp_request_build(const struct jitrd_cert *cert, const struct jitrd_cert *ca,
                                        const unsigned char *nonce, size_t nonce_len,
                                        struct jitrd_ocsp_request *out) JITRD_WUR;

void jitrd_ocsp_request_cleanup(struct jitrd_ocsp_request *req); /* NULL is fine */

/* Judges the DER response (len bytes, untrusted) to req about cert issued by ca, at now, with
 * max_skew seconds of tolerance for the clocks. JITRD_OK with *out filled whenever a verdict
 * exists, including INVALID with out->why: a response that does not decode, is over
 * JITRD_OCSP_RESPONSE_MAX or has trailing bytes; an error status from the responder; a
 * signature by anyone but ca or a certificate ca issued with id-kp-OCSPSigning and valid at
 * now (RFC 6960 §4.2.2.2); a signature made with MD5 or SHA-1; no SingleResponse with cert's
 * CertID; thisUpdate after now + max_skew, nextUpdate before now - max_skew (§4.2.2.1); a
 * nonce other than the one sent (§4.4.1). A response without a nonce to a request with one is
 * accepted (out->nonce_ignored): RFC 5019 responders serve pre-produced responses, and
 * freshness then rests on thisUpdate/nextUpdate. Errors (out untouched): JITRD_ERR_INVALID_ARG,
 * JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_ocsp_judge(const struct jitrd_ocsp_request *req, const struct jitrd_cert *cert,
                                const struct jitrd_cert *ca, const unsigned char *der, size_t len,
                                time_t now, long max_skew, struct jitrd_ocsp_answer *out) JITRD_WUR;

/* The first http:// or https:// id-ad-ocsp URI of cert's Authority Information Access
 * extension (RFC 5280 §4.2.2.1) into out. JITRD_OK; JITRD_ERR_FIELD_ABSENT when there is none
 * (other schemes are skipped); JITRD_ERR_MALFORMED when the extension does not decode or is
 * repeated; JITRD_ERR_TOO_LARGE when the URI does not fit in size bytes or
 * JITRD_OCSP_URL_MAX; JITRD_ERR_INVALID_ARG. out written only on JITRD_OK. */
enum jitrd_err jitrd_ocsp_responder_of(const struct jitrd_cert *cert, char *out,
                                       size_t size) JITRD_WUR;

#endif
