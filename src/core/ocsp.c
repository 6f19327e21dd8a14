/* ocsp.c — OCSP (RFC 6960) through OpenSSL's OCSP API: the request for one certificate, and
 * the judgement of a response (signer, CertID, freshness, nonce) at a given time. Pure: no
 * I/O, no clock, no randomness (the caller draws the nonce), no log. */
#include "jitrd/ocsp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "jitrd/crl.h"
#include "jitrd/text.h"
#include "x509_util.h"

#define NONCE_MAX 32 /* RFC 8954 §2.1 */

const char *jitrd_ocsp_status_name(enum jitrd_ocsp_status status)
{
	switch (status) {
	case JITRD_OCSP_GOOD:
		return "good";
	case JITRD_OCSP_REVOKED:
		return "revoked";
	case JITRD_OCSP_HOLD:
		return "hold";
	case JITRD_OCSP_UNKNOWN:
		return "unknown";
	case JITRD_OCSP_INVALID:
		return "invalid";
	case JITRD_OCSP_NONE:
		break;
	}
	return "none";
}

void jitrd_ocsp_request_cleanup(struct jitrd_ocsp_request *req)
{
	if (!req)
		return;
	OPENSSL_free(req->der);
	req->der = NULL;
	req->len = 0;
}

enum jitrd_err jitrd_ocsp_request_build(const struct jitrd_cert *cert, const struct jitrd_cert *ca,
                                        const unsigned char *nonce, size_t nonce_len,
                                        struct jitrd_ocsp_request *out)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	OCSP_REQUEST *req = NULL;
	OCSP_CERTID *id = NULL;
	unsigned char *der = NULL;
	int len;

	if (!cert || !ca || !out || nonce_len > NONCE_MAX || (nonce_len && !nonce))
		return JITRD_ERR_INVALID_ARG;
	result = JITRD_ERR_NOMEM;
	req = OCSP_REQUEST_new();
	/* RFC 5019 §2.1.1: SHA-1 for the CertID hashes, which every responder understands; they
	 * name the issuer, they do not sign anything. */
	id = OCSP_cert_to_id(EVP_sha1(), jitrd_cert_x509(cert), jitrd_cert_x509(ca));
	if (!req || !id)
		goto cleanup;
	if (!OCSP_request_add0_id(req, id))
		goto cleanup;
	id = NULL; /* the request owns it now */
	if (nonce_len &&
	    OCSP_request_add1_nonce(req, (unsigned char *)(uintptr_t)nonce, (int)nonce_len) != 1)
		goto cleanup;
	len = i2d_OCSP_REQUEST(req, &der);
	if (len <= 0) {
		result = jitrd_openssl_failure(JITRD_ERR_CRYPTO);
		goto cleanup;
	}
	out->der = der;
	out->len = (size_t)len;
	der = NULL;
	result = JITRD_OK;
cleanup:
	OPENSSL_free(der);
	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(req);
	ERR_clear_error();
	return result;
}

/* Records an untrustworthy response. */
static void invalid(struct jitrd_ocsp_answer *a, const char *why)
{
	a->status = JITRD_OCSP_INVALID;
	jitrd_text_copy(a->why, sizeof(a->why), why);
}

/* RFC 6960 §4.2.2.2: the CA itself, or a certificate the CA issued that carries
 * id-kp-OCSPSigning in its extendedKeyUsage (anyExtendedKeyUsage is not enough) and is valid
 * at now. NULL when signer may sign responses about ca's certificates, else why not. The
 * responder certificate's own revocation is not checked (§4.2.2.2.1 leaves that to policy;
 * responders that are meant to be trusted this way carry id-pkix-ocsp-nocheck). */
static const char *unauthorised_signer(X509 *signer, X509 *ca, time_t now)
{
	const ASN1_TIME *not_before = X509_get0_notBefore(signer);
	const ASN1_TIME *not_after = X509_get0_notAfter(signer);
	EVP_PKEY *ca_key = X509_get0_pubkey(ca);

	if (X509_cmp(signer, ca) == 0)
		return NULL;
	if (!ca_key || X509_check_issued(ca, signer) != X509_V_OK ||
	    X509_verify(signer, ca_key) != 1)
		return "signed by a certificate the CA did not issue";
	if (jitrd_weak_signature_digest(X509_get_signature_nid(signer)))
		return "the responder certificate is signed with MD5 or SHA-1";
	if (!(X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) ||
	    !(X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN))
		return "the responder certificate lacks id-kp-OCSPSigning";
	/* X509_cmp_time: -1 when the time is before now, 1 after, 0 on error */
	if (X509_cmp_time(not_before, &now) != -1 || X509_cmp_time(not_after, &now) != 1)
		return "the responder certificate is not valid now";
	return NULL;
}

/* Finds the SingleResponse about (cert, ca): by the SHA-1 CertID sent, or a SHA-256 one for a
 * responder that answers with its own hash (OCSP_id_cmp compares the hash algorithm too).
 * 1 found, 0 not, -1 out of memory. */
static int find_status(OCSP_BASICRESP *bs, X509 *cert, X509 *ca, int *status, int *reason,
                       ASN1_GENERALIZEDTIME **this_update, ASN1_GENERALIZEDTIME **next_update)
{
	const EVP_MD *hashes[2] = {EVP_sha1(), EVP_sha256()};

	for (size_t i = 0; i < 2; i++) {
		ASN1_GENERALIZEDTIME *revoked_at = NULL;
		OCSP_CERTID *id = OCSP_cert_to_id(hashes[i], cert, ca);
		int found;

		if (!id)
			return -1;
		found = OCSP_resp_find_status(bs, id, status, reason, &revoked_at, this_update,
		                              next_update);
		OCSP_CERTID_free(id);
		if (found == 1)
			return 1;
	}
	return 0;
}

/* RFC 6960 §4.2.2.1: the answer is current at now within max_skew. A response without
 * nextUpdate says newer information is always available, so it is current only while its
 * thisUpdate is: within max_skew of now (which also bounds a replay of one). NULL when
 * current, else why not. */
static const char *not_current(ASN1_GENERALIZEDTIME *this_update, ASN1_GENERALIZEDTIME *next_update,
                               time_t now, long max_skew, struct jitrd_ocsp_answer *a)
{
	if (!this_update || !jitrd_asn1_time_to_time_t(this_update, &a->this_update))
		return "thisUpdate unreadable";
	a->next_update = 0;
	if (next_update && !jitrd_asn1_time_to_time_t(next_update, &a->next_update))
		return "nextUpdate unreadable";
	if (a->this_update > now + max_skew)
		return "thisUpdate is in the future";
	if (next_update && a->next_update < a->this_update)
		return "nextUpdate is before thisUpdate";
	if (next_update && a->next_update < now - max_skew)
		return "stale: past its nextUpdate";
	if (!next_update && a->this_update < now - max_skew)
		return "stale: no nextUpdate and thisUpdate older than the allowed skew";
	return NULL;
}

/* OCSP_check_nonce: 1 equal, 2 neither has one, 3 only the response, -1 only the request,
 * 0 both and different. NULL when acceptable, else why not. */
static const char *nonce_problem(const struct jitrd_ocsp_request *req, OCSP_BASICRESP *bs,
                                 struct jitrd_ocsp_answer *a, enum jitrd_err *err)
{
	const unsigned char *p = req->der;
	OCSP_REQUEST *sent = d2i_OCSP_REQUEST(NULL, &p, (long)req->len);
	int rc;

	if (!sent) {
		*err = jitrd_openssl_failure(JITRD_ERR_INVALID_ARG);
		return "the request does not decode";
	}
	rc = OCSP_check_nonce(sent, bs);
	OCSP_REQUEST_free(sent);
	if (rc == 0)
		return "the nonce is not the one sent (a replayed response)";
	/* RFC 5019 §2.1.2 responders ignore nonces and serve pre-produced responses: accepted,
	 * with freshness then resting on thisUpdate/nextUpdate alone. */
	a->nonce_ignored = rc == -1;
	return NULL;
}

enum jitrd_err jitrd_ocsp_judge(const struct jitrd_ocsp_request *req, const struct jitrd_cert *cert,
                                const struct jitrd_cert *ca, const unsigned char *der, size_t len,
                                time_t now, long max_skew, struct jitrd_ocsp_answer *out)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_ocsp_answer a;
	const unsigned char *p = der;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	STACK_OF(X509) *candidates = NULL;
	STACK_OF(X509) *chosen = NULL;
	X509 *signer = NULL;
	const X509_ALGOR *sigalg;
	const ASN1_OBJECT *sigobj = NULL;
	ASN1_GENERALIZEDTIME *this_update = NULL, *next_update = NULL;
	const char *why;
	char text[160];
	int rc, status = -1, reason = -1;

	if (!req || !req->der || !cert || !ca || !out || (!der && len) || max_skew < 0)
		return JITRD_ERR_INVALID_ARG;
	memset(&a, 0, sizeof(a));
	a.reason = JITRD_CRL_REASON_NONE;
	result = JITRD_ERR_NOMEM;
	if (len == 0) {
		invalid(&a, "empty response");
		goto judged;
	}
	if (len > JITRD_OCSP_RESPONSE_MAX) {
		invalid(&a, "response larger than 64 KiB");
		goto judged;
	}
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	if (!resp) {
		if (jitrd_openssl_failure(JITRD_ERR_MALFORMED) == JITRD_ERR_NOMEM)
			goto cleanup;
		invalid(&a, "the response does not decode");
		goto judged;
	}
	if (p != der + len) {
		invalid(&a, "bytes after the response");
		goto judged;
	}
	rc = OCSP_response_status(resp);
	if (rc != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		/* RFC 6960 §2.3: malformedRequest, internalError, tryLater, sigRequired,
		 * unauthorized: no status at all */
		snprintf(text, sizeof(text), "the responder answered %s",
		         OCSP_response_status_str(rc));
		invalid(&a, text);
		goto judged;
	}
	bs = OCSP_response_get1_basic(resp);
	if (!bs) {
		if (jitrd_openssl_failure(JITRD_ERR_MALFORMED) == JITRD_ERR_NOMEM)
			goto cleanup;
		invalid(&a, "not a basic OCSP response (RFC 6960 §4.2.1)");
		goto judged;
	}
	sigalg = OCSP_resp_get0_tbs_sigalg(bs);
	if (sigalg)
		X509_ALGOR_get0(&sigobj, NULL, NULL, sigalg);
	if (!sigobj || jitrd_weak_signature_digest(OBJ_obj2nid(sigobj))) {
		invalid(&a, "signed with MD5 or SHA-1, which is refused");
		goto judged;
	}
	/* The signer named by the ResponderID, among the certificates in the response and the
	 * CA; then it must be one allowed to speak for the CA. */
	candidates = sk_X509_new_null();
	chosen = sk_X509_new_null();
	if (!candidates || !chosen || !sk_X509_push(candidates, jitrd_cert_x509(ca)))
		goto cleanup;
	if (OCSP_resp_get0_signer(bs, &signer, candidates) != 1 || !signer) {
		invalid(&a, "signed by neither the CA nor a certificate in the response");
		goto judged;
	}
	if ((why = unauthorised_signer(signer, jitrd_cert_x509(ca), now)) != NULL) {
		invalid(&a, why);
		goto judged;
	}
	/* Only that signer (OCSP_NOINTERN: no other certificate of the response), and no chain
	 * building against a store (OCSP_NOVERIFY): the authorisation was checked above. */
	if (!sk_X509_push(chosen, signer))
		goto cleanup;
	if (OCSP_basic_verify(bs, chosen, NULL, OCSP_NOINTERN | OCSP_NOVERIFY) != 1) {
		if (jitrd_openssl_failure(JITRD_ERR_CRL_SIGNATURE) == JITRD_ERR_NOMEM)
			goto cleanup;
		invalid(&a, "the signature does not verify");
		goto judged;
	}
	rc = find_status(bs, jitrd_cert_x509(cert), jitrd_cert_x509(ca), &status, &reason,
	                 &this_update, &next_update);
	if (rc < 0)
		goto cleanup;
	if (rc == 0) {
		invalid(&a, "no answer about this certificate (CertID: issuer hashes and serial)");
		goto judged;
	}
	if ((why = not_current(this_update, next_update, now, max_skew, &a)) != NULL) {
		invalid(&a, why);
		goto judged;
	}
	result = JITRD_OK;
	if ((why = nonce_problem(req, bs, &a, &result)) != NULL) {
		if (result != JITRD_OK)
			goto cleanup;
		invalid(&a, why);
		goto judged;
	}
	switch (status) {
	case V_OCSP_CERTSTATUS_GOOD:
		a.status = JITRD_OCSP_GOOD;
		break;
	case V_OCSP_CERTSTATUS_REVOKED:
		/* RFC 6960 §4.2.1: revocationReason is a CRLReason; certificateHold is the
		 * reversible one (RFC 5280 §5.3.1) */
		a.reason = reason >= 0 ? reason : JITRD_CRL_REASON_NONE;
		a.status = reason == OCSP_REVOKED_STATUS_CERTIFICATEHOLD ? JITRD_OCSP_HOLD
		                                                         : JITRD_OCSP_REVOKED;
		break;
	default:
		a.status = JITRD_OCSP_UNKNOWN;
		break;
	}
judged:
	*out = a;
	result = JITRD_OK;
cleanup:
	sk_X509_free(chosen);
	sk_X509_free(candidates);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	ERR_clear_error();
	return result;
}

/* 1 when the len bytes of uri are an http:// or https:// URL of printable ASCII. */
static int usable_url(const unsigned char *uri, int len)
{
	const char *s = (const char *)uri;

	if (len <= 0)
		return 0;
	for (int i = 0; i < len; i++)
		if (uri[i] <= 0x20 || uri[i] >= 0x7f)
			return 0;
	return (len > 7 && strncasecmp(s, "http://", 7) == 0) ||
	       (len > 8 && strncasecmp(s, "https://", 8) == 0);
}

enum jitrd_err jitrd_ocsp_responder_of(const struct jitrd_cert *cert, char *out, size_t size)
{
	enum jitrd_err result = JITRD_ERR_FIELD_ABSENT;
	AUTHORITY_INFO_ACCESS *aia;
	int crit = -1;

	if (!cert || !out || size == 0)
		return JITRD_ERR_INVALID_ARG;
	aia = X509_get_ext_d2i(jitrd_cert_x509(cert), NID_info_access, &crit, NULL);
	if (!aia) {
		/* crit: -1 absent, -2 repeated, else present but undecodable */
		result = crit == -1 ? JITRD_ERR_FIELD_ABSENT
		                    : jitrd_openssl_failure(JITRD_ERR_MALFORMED);
		ERR_clear_error();
		return result;
	}
	for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
		ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
		const ASN1_IA5STRING *uri;
		int len;

		if (OBJ_obj2nid(ad->method) != NID_ad_OCSP || ad->location->type != GEN_URI)
			continue;
		uri = ad->location->d.uniformResourceIdentifier;
		len = ASN1_STRING_length(uri);
		if (!usable_url(ASN1_STRING_get0_data(uri), len))
			continue; /* ldap:, or bytes no URL holds */
		if ((size_t)len >= size || len >= JITRD_OCSP_URL_MAX) {
			result = JITRD_ERR_TOO_LARGE;
			break;
		}
		memcpy(out, ASN1_STRING_get0_data(uri), (size_t)len);
		out[len] = '\0';
		result = JITRD_OK;
		break;
	}
	AUTHORITY_INFO_ACCESS_free(aia);
	ERR_clear_error();
	return result;
}
