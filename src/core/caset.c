/* caset.c — the set of our CA certificates with the file each came from, found by AWS id, by
 * the issuer of a certificate, or by a CRL's issuer name and key id; and path validation of a
 * device under one of them by OpenSSL's verifier (RFC 5280 §6.1). Pure: the caller reads the
 * files and passes `now`; no I/O, no logging. Never matches a CA by name alone when key ids
 * disagree. */
#include "jitrd/caset.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "jitrd/text.h"
#include "x509_util.h"

/* A CA file is a handful of certificates; a megabyte is already absurd. */
#define CASET_MAX_PEM (1024 * 1024)
/* Bound on the certificates of one buffer, so a hostile file cannot make us allocate
 * without limit before the size check bites (1 MiB of minimal PEM blocks). */
#define CASET_MAX_PER_BUFFER 1024

/* OpenSSL's security level 1 (80 bits): refuses signatures with MD5 or SHA-1 and RSA keys
 * under 1024 bits. Applied by the verifier (X509_VERIFY_PARAM_set_auth_level) to every
 * signature it checks, and by weak_signature to the CA's own. */
#define SIGNATURE_MIN_BITS   80
#define SIGNATURE_AUTH_LEVEL 1

struct caset_entry {
	struct jitrd_cert *cert;
	char *origin;
	/* The verifier's store with this CA as its only trust anchor, made when the CA joins the
	 * set and only read afterwards: X509_STORE lookups take the store's own lock, so every
	 * worker shares it and each verification makes only an X509_STORE_CTX. */
	X509_STORE *anchor;
};

struct jitrd_caset {
	struct caset_entry *entries;
	size_t count;
	size_t capacity;
	/* The trust anchors above the CAs (borrowed), or NULL: each CA is its own anchor. */
	const struct jitrd_caset *anchors;
};

struct jitrd_caset *jitrd_caset_new(void)
{
	return calloc(1, sizeof(struct jitrd_caset));
}

void jitrd_caset_free(struct jitrd_caset *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->count; i++) {
		jitrd_cert_free(set->entries[i].cert);
		free(set->entries[i].origin);
		X509_STORE_free(set->entries[i].anchor);
	}
	free(set->entries);
	free(set);
}

size_t jitrd_caset_count(const struct jitrd_caset *set)
{
	return set ? set->count : 0;
}

const struct jitrd_cert *jitrd_caset_at(const struct jitrd_caset *set, size_t i)
{
	if (!set || i >= set->count)
		return NULL;
	return set->entries[i].cert;
}

const char *jitrd_caset_origin_at(const struct jitrd_caset *set, size_t i)
{
	if (!set || i >= set->count)
		return NULL;
	return set->entries[i].origin;
}

static bool id_in(const struct jitrd_caset *set, const char *id)
{
	for (size_t i = 0; i < set->count; i++) {
		if (strcmp(jitrd_cert_id(set->entries[i].cert), id) == 0)
			return true;
	}
	return false;
}

/* The end of the buffer shows as PEM_R_NO_START_LINE; anything else is a broken block. */
static bool pem_at_end(void)
{
	unsigned long e = ERR_peek_last_error();

	return ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

/* A SkipCerts value (RFC 5280 §4.2.1.11, §4.2.1.14) of zero. */
static bool skip_certs_zero(const ASN1_INTEGER *skip)
{
	return skip && ASN1_INTEGER_get(skip) == 0;
}

/* The CA's own policy extensions as inputs to path validation. The registered CA is the trust
 * anchor, and RFC 5280 §6.1 leaves a trust anchor's extensions out of the path (OpenSSL's
 * policy tree too), so they are applied as RFC 5937 §3 says for a trust anchor certificate:
 * its certificatePolicies become the user-initial-policy-set (anyPolicy when absent or
 * listed), and a requireExplicitPolicy, inhibitPolicyMapping or inhibitAnyPolicy of zero sets
 * initial-explicit-policy, initial-policy-mapping-inhibit or initial-any-policy-inhibit. */
static enum jitrd_err anchor_policy_inputs(X509 *x, X509_VERIFY_PARAM *param)
{
	enum jitrd_err result = JITRD_ERR_MALFORMED;
	int crit_cp = -1, crit_pc = -1, crit_ia = -1;
	CERTIFICATEPOLICIES *cp = X509_get_ext_d2i(x, NID_certificate_policies, &crit_cp, NULL);
	POLICY_CONSTRAINTS *pc = X509_get_ext_d2i(x, NID_policy_constraints, &crit_pc, NULL);
	ASN1_INTEGER *ia = X509_get_ext_d2i(x, NID_inhibit_any_policy, &crit_ia, NULL);
	STACK_OF(ASN1_OBJECT) *initial = sk_ASN1_OBJECT_new_null();
	bool any = cp == NULL;
	unsigned long flags = X509_V_FLAG_POLICY_CHECK;

	/* crit >= 0 with no value: present but undecodable (or no memory); -2: present twice */
	if ((!cp && crit_cp != -1) || (!pc && crit_pc != -1) || (!ia && crit_ia != -1)) {
		result = jitrd_openssl_failure(JITRD_ERR_MALFORMED);
		goto cleanup;
	}
	if (!initial) {
		result = JITRD_ERR_NOMEM;
		goto cleanup;
	}
	for (int i = 0; cp && i < sk_POLICYINFO_num(cp); i++) {
		ASN1_OBJECT *policy = sk_POLICYINFO_value(cp, i)->policyid;
		if (OBJ_obj2nid(policy) == NID_any_policy)
			any = true;
		else if (!sk_ASN1_OBJECT_push(initial, policy)) /* borrowed: set1 copies */
			goto nomem;
	}
	if (any) {
		sk_ASN1_OBJECT_zero(initial);
		if (!sk_ASN1_OBJECT_push(initial, OBJ_nid2obj(NID_any_policy)))
			goto nomem;
	}
	if (pc && skip_certs_zero(pc->requireExplicitPolicy))
		flags |= X509_V_FLAG_EXPLICIT_POLICY;
	if (pc && skip_certs_zero(pc->inhibitPolicyMapping))
		flags |= X509_V_FLAG_INHIBIT_MAP;
	if (skip_certs_zero(ia))
		flags |= X509_V_FLAG_INHIBIT_ANY;
	/* OpenSSL 3.0 finds no explicit policy without a user set: it is always given. */
	if (X509_VERIFY_PARAM_set1_policies(param, initial) != 1 ||
	    X509_VERIFY_PARAM_set_flags(param, flags) != 1)
		goto nomem;
	result = JITRD_OK;
	goto cleanup;
nomem:
	result = JITRD_ERR_NOMEM;
cleanup:
	sk_ASN1_OBJECT_free(initial);
	CERTIFICATEPOLICIES_free(cp);
	POLICY_CONSTRAINTS_free(pc);
	ASN1_INTEGER_free(ia);
	return result;
}

/* The verifier's store for one registered CA (RFC 5280 §6.1.1(d): the trust anchor), with the
 * settings every device verification under it uses: the CA as anchor even when it is not
 * self-signed (X509_V_FLAG_PARTIAL_CHAIN: AWS registers the CA that signs the devices, often
 * an intermediate), strict RFC 5280 profile checks, policy processing, MD5 and SHA-1 refused.
 * No CRL flag: revocation is jitrd's CRL index's (DESIGN §3.6). No purpose: the device's
 * usages are checked by jitrd_cert_check_device_profile.
 * With anchors, they are the trust anchors instead and the CA is an ordinary certificate of the
 * path (§6.1: its validity, keyUsage, basicConstraints, name and policy constraints are
 * processed as for any intermediate, its signature checked with its issuer's key); no partial
 * chain, so a CA that does not chain to an anchor anchors nothing. The anchors' own
 * extensions are not applied (§6.1.1(d): a trust anchor is a name and a key). */
static enum jitrd_err build_anchor(const struct jitrd_cert *ca, const struct jitrd_caset *anchors,
                                   X509_STORE **out)
{
	enum jitrd_err result = JITRD_ERR_NOMEM;
	X509_STORE *store = X509_STORE_new();
	X509_VERIFY_PARAM *param;
	STACK_OF(ASN1_OBJECT) *any = NULL;

	if (!store)
		goto cleanup;
	param = X509_STORE_get0_param(store);
	X509_VERIFY_PARAM_set_auth_level(param, SIGNATURE_AUTH_LEVEL);
	if (!anchors) {
		if (X509_STORE_add_cert(store, jitrd_cert_x509(ca)) != 1 ||
		    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN |
		                                           X509_V_FLAG_X509_STRICT) != 1)
			goto cleanup;
		result = anchor_policy_inputs(jitrd_cert_x509(ca), param);
		if (result != JITRD_OK)
			goto cleanup;
	} else {
		for (size_t i = 0; i < anchors->count; i++) {
			if (X509_STORE_add_cert(store, jitrd_cert_x509(anchors->entries[i].cert)) !=
			    1)
				goto cleanup;
		}
		/* OpenSSL 3.0 finds no explicit policy without a user set: anyPolicy */
		any = sk_ASN1_OBJECT_new_null();
		if (!any || !sk_ASN1_OBJECT_push(any, OBJ_nid2obj(NID_any_policy)) ||
		    X509_VERIFY_PARAM_set1_policies(param, any) != 1 ||
		    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT |
		                                           X509_V_FLAG_POLICY_CHECK) != 1)
			goto cleanup;
	}
	*out = store;
	store = NULL;
	result = JITRD_OK;
cleanup:
	sk_ASN1_OBJECT_free(any);
	X509_STORE_free(store);
	return result;
}

enum jitrd_err jitrd_caset_set_anchors(struct jitrd_caset *set, const struct jitrd_caset *anchors)
{
	X509_STORE **fresh;
	enum jitrd_err result = JITRD_OK;

	if (!set || !anchors || anchors == set || set->anchors || anchors->count == 0)
		return JITRD_ERR_INVALID_ARG;
	fresh = calloc(set->count ? set->count : 1, sizeof(*fresh));
	if (!fresh)
		return JITRD_ERR_NOMEM;
	/* All stores first: on failure the set keeps its old ones. */
	for (size_t i = 0; i < set->count && result == JITRD_OK; i++)
		result = build_anchor(set->entries[i].cert, anchors, &fresh[i]);
	for (size_t i = 0; i < set->count; i++) {
		if (result == JITRD_OK) {
			X509_STORE_free(set->entries[i].anchor);
			set->entries[i].anchor = fresh[i];
		} else {
			X509_STORE_free(fresh[i]);
		}
	}
	if (result == JITRD_OK)
		set->anchors = anchors;
	free(fresh);
	return result;
}

const struct jitrd_caset *jitrd_caset_anchors(const struct jitrd_caset *set)
{
	return set ? set->anchors : NULL;
}

enum jitrd_err jitrd_caset_add_pem(struct jitrd_caset *set, const char *origin, const char *pem,
                                   size_t len, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct caset_entry *fresh = NULL; /* parsed from this buffer, not yet in the set */
	size_t fresh_count = 0;
	BIO *bio = NULL;
	unsigned char *der = NULL;
	char *name = NULL;
	struct jitrd_diag cert_diag = {""};

	ERR_set_mark();
	if (!origin)
		origin = "(unnamed)";
	if (!set || !pem) {
		jitrd_diag_set(diag, "%s: no input", origin);
		goto cleanup;
	}
	if (len > CASET_MAX_PEM) {
		result = JITRD_ERR_TOO_LARGE;
		jitrd_diag_set(diag, "%s: %zu bytes, more than %d", origin, len, CASET_MAX_PEM);
		goto cleanup;
	}
	fresh = calloc(CASET_MAX_PER_BUFFER, sizeof(*fresh));
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!fresh || !bio) {
		result = JITRD_ERR_NOMEM;
		jitrd_diag_set(diag, "%s: out of memory", origin);
		goto cleanup;
	}
	for (;;) {
		long der_len = 0;
		struct jitrd_cert *cert = NULL;
		char subject[200];

		ERR_set_mark();
		if (PEM_bytes_read_bio(&der, &der_len, &name, PEM_STRING_X509, bio,
		                       jitrd_pem_no_password, NULL) != 1) {
			bool at_end = pem_at_end();
			bool out_of_memory =
			    jitrd_openssl_failure(JITRD_ERR_MALFORMED) == JITRD_ERR_NOMEM;

			ERR_pop_to_mark();
			if (at_end && fresh_count > 0)
				break;
			result = out_of_memory ? JITRD_ERR_NOMEM : JITRD_ERR_MALFORMED;
			if (at_end)
				jitrd_diag_set(diag, "%s: no PEM CERTIFICATE block", origin);
			else
				jitrd_diag_set(diag, "%s: certificate %zu: unreadable PEM block",
				               origin, fresh_count + 1);
			goto cleanup;
		}
		ERR_pop_to_mark();
		if (fresh_count == CASET_MAX_PER_BUFFER) {
			result = JITRD_ERR_TOO_LARGE;
			jitrd_diag_set(diag, "%s: more than %d certificates", origin,
			               CASET_MAX_PER_BUFFER);
			goto cleanup;
		}
		result = der_len > 0 ? jitrd_cert_from_der(der, (size_t)der_len, &cert, &cert_diag)
		                     : JITRD_ERR_MALFORMED;
		if (der_len <= 0)
			jitrd_diag_set(&cert_diag, "certificate: empty PEM block");
		OPENSSL_free(der);
		der = NULL;
		OPENSSL_free(name);
		name = NULL;
		if (result != JITRD_OK) {
			jitrd_diag_set(diag, "%s: certificate %zu: %s", origin, fresh_count + 1,
			               cert_diag.text);
			goto cleanup;
		}
		fresh[fresh_count++].cert = cert;
		if (!jitrd_cert_is_ca(cert)) {
			result = JITRD_ERR_BAD_FIELD;
			jitrd_name_for_message(jitrd_cert_subject(cert), subject, sizeof(subject));
			jitrd_diag_set(diag, "%s: certificate %zu (subject %s) is not a CA", origin,
			               fresh_count, subject);
			goto cleanup;
		}
	}

	/* Everything that can fail happens before the first entry joins the set. */
	if (set->capacity - set->count < fresh_count) {
		size_t capacity = set->count + fresh_count;
		struct caset_entry *grown;

		if (capacity < 2 * set->capacity)
			capacity = 2 * set->capacity;
		grown = realloc(set->entries, capacity * sizeof(*grown));
		if (!grown) {
			result = JITRD_ERR_NOMEM;
			jitrd_diag_set(diag, "%s: out of memory", origin);
			goto cleanup;
		}
		set->entries = grown;
		set->capacity = capacity;
	}
	for (size_t i = 0; i < fresh_count; i++) {
		fresh[i].origin = strdup(origin);
		if (!fresh[i].origin) {
			result = JITRD_ERR_NOMEM;
			jitrd_diag_set(diag, "%s: out of memory", origin);
			goto cleanup;
		}
		result = build_anchor(fresh[i].cert, set->anchors, &fresh[i].anchor);
		if (result != JITRD_OK) {
			jitrd_diag_set(diag, "%s: certificate %zu: %s", origin, i + 1,
			               result == JITRD_ERR_NOMEM
			                   ? "out of memory"
			                   : "unreadable certificatePolicies, policyConstraints or "
			                     "inhibitAnyPolicy");
			goto cleanup;
		}
	}
	for (size_t i = 0; i < fresh_count; i++) {
		/* Duplicates (same DER), also within this buffer, are skipped: the first stays. */
		if (id_in(set, jitrd_cert_id(fresh[i].cert)))
			continue;
		set->entries[set->count++] = fresh[i];
		fresh[i].cert = NULL;
		fresh[i].origin = NULL;
		fresh[i].anchor = NULL;
	}
	result = JITRD_OK;
cleanup:
	if (fresh) {
		for (size_t i = 0; i < fresh_count; i++) {
			jitrd_cert_free(fresh[i].cert);
			free(fresh[i].origin);
			X509_STORE_free(fresh[i].anchor);
		}
		free(fresh);
	}
	OPENSSL_free(der);
	OPENSSL_free(name);
	BIO_free(bio);
	ERR_pop_to_mark();
	return result;
}

const struct jitrd_cert *jitrd_caset_find_id(const struct jitrd_caset *set, const char *ca_id)
{
	char id[65];

	/* Our ids are 64 lowercase hex digits; ca_id must be exactly that, any case. */
	if (!set || !ca_id || strnlen(ca_id, 65) != 64 || !jitrd_hex_lower_copy(ca_id, 64, id))
		return NULL;
	for (size_t i = 0; i < set->count; i++) {
		if (strcmp(jitrd_cert_id(set->entries[i].cert), id) == 0)
			return set->entries[i].cert;
	}
	return NULL;
}

const struct jitrd_cert *jitrd_caset_find_by_name_next(const struct jitrd_caset *set,
                                                       const X509_NAME *name,
                                                       const unsigned char *akid, size_t akid_len,
                                                       const struct jitrd_cert *after)
{
	size_t i = 0;

	if (!set || !name)
		return NULL;
	if (after) {
		while (i < set->count && set->entries[i].cert != after)
			i++;
		if (i == set->count)
			return NULL; /* not one of ours: nothing comes after it */
		i++;
	}
	for (; i < set->count; i++) {
		const struct jitrd_cert *ca = set->entries[i].cert;
		const unsigned char *skid;
		size_t skid_len;

		if (X509_NAME_cmp(jitrd_cert_subject(ca), name) != 0)
			continue;
		/* When both sides name a key, the keys must be the same: a CA with our CA's
		 * name but another key (the fixture "impostor") is not ours. */
		skid = jitrd_cert_subject_key_id(ca, &skid_len);
		if (skid && akid && (skid_len != akid_len || memcmp(skid, akid, akid_len) != 0))
			continue;
		return ca;
	}
	return NULL;
}

const struct jitrd_cert *jitrd_caset_find_by_name(const struct jitrd_caset *set,
                                                  const X509_NAME *name, const unsigned char *akid,
                                                  size_t akid_len)
{
	return jitrd_caset_find_by_name_next(set, name, akid, akid_len, NULL);
}

const struct jitrd_cert *jitrd_caset_find_issuer(const struct jitrd_caset *set,
                                                 const struct jitrd_cert *cert)
{
	const struct jitrd_cert *first, *ca;
	const X509_NAME *issuer;
	const unsigned char *akid;
	size_t akid_len;

	if (!set || !cert)
		return NULL;
	akid = jitrd_cert_authority_key_id(cert, &akid_len);
	issuer = jitrd_cert_issuer(cert);
	first = jitrd_caset_find_by_name(set, issuer, akid, akid_len);
	/* Same name, other key (rollover, or no key ids to tell them apart): the key decides. */
	for (ca = first; ca; ca = jitrd_caset_find_by_name_next(set, issuer, akid, akid_len, ca)) {
		if (jitrd_cert_verify_signed_by(cert, ca) == JITRD_OK)
			return ca;
	}
	return first;
}

static const struct caset_entry *entry_of(const struct jitrd_caset *set,
                                          const struct jitrd_cert *ca)
{
	for (size_t i = 0; set && ca && i < set->count; i++) {
		if (set->entries[i].cert == ca)
			return &set->entries[i];
	}
	return NULL;
}

/* "2030-05-20T00:00:00Z" for a message; "(unreadable time)" if OpenSSL cannot read it. */
static void format_time(const ASN1_TIME *t, char *out, size_t out_size)
{
	time_t when;

	if (jitrd_asn1_time_to_time_t(t, &when))
		jitrd_format_rfc3339(when, out, out_size);
	else
		snprintf(out, out_size, "(unreadable time)");
}

/* The digest of x's signature when it gives fewer than SIGNATURE_MIN_BITS of security (MD5,
 * SHA-1), else NULL. OpenSSL rates each signature algorithm (X509_get_signature_info); the
 * verifier's security level does the same for the signatures it checks, but a trust anchor's
 * own signature is never checked, so a CA signed with SHA-1 would pass unnoticed. */
static const char *weak_signature(const X509 *x)
{
	int mdnid = NID_undef, secbits = -1;
	uint32_t flags = 0;

	if (X509_get_signature_info((X509 *)x, &mdnid, NULL, &secbits, &flags) != 1 ||
	    !(flags & X509_SIG_INFO_VALID) || secbits < 0 || secbits >= SIGNATURE_MIN_BITS)
		return NULL;
	return mdnid != NID_undef ? OBJ_nid2sn(mdnid) : "a weak algorithm";
}

/* The verifier does not rate the trust anchor's own signature (see weak_signature). */
static enum jitrd_err check_ca_signature(const struct jitrd_cert *ca, struct jitrd_diag *diag)
{
	const char *digest = weak_signature(jitrd_cert_x509(ca));

	if (!digest)
		return JITRD_OK;
	jitrd_diag_set(diag, "CA certificate is signed with %s, which is too weak", digest);
	return JITRD_ERR_WEAK_SIGNATURE;
}

/* OpenSSL's strict mode adds two profile rules that RFC 5280's path validation (§6.1) does
 * not make, and that devices made the way AWS IoT's guide shows would fail:
 * - a CA without keyUsage: §6.1.4(n) checks keyCertSign only when keyUsage is present
 *   (`openssl req -x509` makes such a CA; config-check notes it);
 * - a device without authorityKeyIdentifier (§4.2.1.1 asks conforming CAs to include it, but
 *   a v1 device from `openssl x509 -req` has no extensions at all and passes strict mode, so
 *   refusing only the v3 one would be arbitrary). The key id only helps to find the issuer;
 *   here the one trust anchor is the registered CA and its key checks the signature.
 * Those two refusals are waived; every other failure stands. */
static int waive_profile_only_refusals(int ok, X509_STORE_CTX *ctx)
{
	int error = X509_STORE_CTX_get_error(ctx);

	if (!ok && (error == X509_V_ERR_CA_CERT_MISSING_KEY_USAGE ||
	            (error == X509_V_ERR_MISSING_AUTHORITY_KEY_IDENTIFIER &&
	             X509_STORE_CTX_get_error_depth(ctx) == 0))) {
		X509_STORE_CTX_set_error(ctx, X509_V_OK);
		return 1;
	}
	return ok;
}

/* The verifier's failure as jitrd's error code and reason. `subject` names the certificate
 * at depth 0 in the message ("certificate" for a device, "CA certificate" when the CA alone is
 * checked); deeper ones are the CA. */
static enum jitrd_err path_failure(X509_STORE_CTX *ctx, const struct jitrd_cert *ca,
                                   const char *subject, struct jitrd_diag *diag)
{
	int error = X509_STORE_CTX_get_error(ctx);
	int depth = X509_STORE_CTX_get_error_depth(ctx);
	X509 *at = X509_STORE_CTX_get_current_cert(ctx);
	bool of_ca = depth > 0 || strcmp(subject, "certificate") != 0;
	const char *who = depth > 0 ? "CA certificate" : subject;
	const char *detail = X509_verify_cert_error_string(error); /* static text */
	const char *digest;
	char when[64];
	char name[200];

	switch (error) {
	case X509_V_ERR_OUT_OF_MEM:
		jitrd_diag_set(diag, "certificate path validation: out of memory");
		return JITRD_ERR_NOMEM;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		format_time(at ? X509_get0_notAfter(at) : NULL, when, sizeof(when));
		jitrd_diag_set(diag, "%s expired on %s", who, when);
		return of_ca ? JITRD_ERR_CA_UNUSABLE : JITRD_ERR_CERT_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		format_time(at ? X509_get0_notBefore(at) : NULL, when, sizeof(when));
		jitrd_diag_set(diag, "%s not valid before %s", who, when);
		return of_ca ? JITRD_ERR_CA_UNUSABLE : JITRD_ERR_CERT_NOT_YET_VALID;
	case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
	case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
		jitrd_diag_set(diag, "%s validity dates cannot be read", who);
		return of_ca ? JITRD_ERR_CA_UNUSABLE : JITRD_ERR_MALFORMED;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
	case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		if (of_ca) {
			/* only with [ca] anchors: otherwise the CA is itself the anchor */
			jitrd_diag_set(diag,
			               "CA certificate does not chain to an anchor of "
			               "[ca] anchors: %s",
			               detail);
			return JITRD_ERR_CA_UNUSABLE;
		}
		jitrd_name_for_message(jitrd_cert_subject(ca), name, sizeof(name));
		jitrd_diag_set(diag, "certificate is not signed by the CA %s (id %s)", name,
		               jitrd_cert_id(ca));
		return JITRD_ERR_CERT_SIGNATURE;
	case X509_V_ERR_INVALID_CA:
	case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
		if (!jitrd_cert_may_sign_certificates(ca))
			jitrd_diag_set(diag,
			               "CA certificate may not sign certificates: its keyUsage "
			               "lacks keyCertSign");
		else
			jitrd_diag_set(diag, "CA certificate is not a valid CA: %s", detail);
		return JITRD_ERR_CA_UNUSABLE;
	case X509_V_ERR_PERMITTED_VIOLATION:
		jitrd_diag_set(diag,
		               "name constraints violated: a name of the %s (subject or "
		               "subjectAltName) is outside the CA's permitted subtrees",
		               who);
		return JITRD_ERR_NAME_CONSTRAINTS;
	case X509_V_ERR_EXCLUDED_VIOLATION:
		jitrd_diag_set(diag,
		               "name constraints violated: a name of the %s (subject or "
		               "subjectAltName) is within the CA's excluded subtrees",
		               who);
		return JITRD_ERR_NAME_CONSTRAINTS;
	case X509_V_ERR_SUBTREE_MINMAX:
	case X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE:
	case X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX:
	case X509_V_ERR_UNSUPPORTED_NAME_SYNTAX:
		jitrd_diag_set(diag, "name constraints cannot be checked: %s", detail);
		return JITRD_ERR_NAME_CONSTRAINTS;
	case X509_V_ERR_NO_EXPLICIT_POLICY:
		jitrd_diag_set(diag,
		               "certificate policies: the CA requires an explicit policy "
		               "and the %s asserts none that the CA accepts",
		               who);
		return JITRD_ERR_CERT_POLICY;
	case X509_V_ERR_INVALID_POLICY_EXTENSION:
		jitrd_diag_set(diag, "certificate policies: %s", detail);
		return JITRD_ERR_CERT_POLICY;
	case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION:
		/* RFC 5280 §4.2: a critical extension that cannot be processed refuses the
		 * certificate */
		if (of_ca)
			break;
		jitrd_diag_set(diag, "certificate is not a device (client) certificate: it has a "
		                     "critical extension that is not understood");
		return JITRD_ERR_BAD_FIELD;
	case X509_V_ERR_CA_MD_TOO_WEAK:
		digest = at ? weak_signature(at) : NULL;
		jitrd_diag_set(diag, "%s is signed with %s, which is too weak", who,
		               digest ? digest : "a weak algorithm");
		return JITRD_ERR_WEAK_SIGNATURE;
	case X509_V_ERR_EE_KEY_TOO_SMALL:
	case X509_V_ERR_CA_KEY_TOO_SMALL:
		jitrd_diag_set(diag, "%s: %s", who, detail);
		return JITRD_ERR_WEAK_SIGNATURE;
	default:
		break;
	}
	jitrd_diag_set(diag, "%s fails path validation: %s", who, detail);
	return of_ca ? JITRD_ERR_CA_UNUSABLE : JITRD_ERR_CERT_PATH;
}

/* With anchors, the path the verifier built must go through entry's CA right above the leaf
 * (or be the CA itself, when it is the leaf): another CA of the same name that also chains to
 * an anchor must not stand in for the registered one. */
static bool chain_through(X509_STORE_CTX *ctx, const struct caset_entry *entry, bool leaf_is_ca)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	int at = leaf_is_ca ? 0 : 1;

	return chain && sk_X509_num(chain) > at &&
	       X509_cmp(sk_X509_value(chain, at), jitrd_cert_x509(entry->cert)) == 0;
}

/* Runs the verifier on leaf under entry's store at now; JITRD_OK or path_failure's answer.
 * With anchors, entry's CA is given as the one untrusted intermediate. */
static enum jitrd_err verify_at(const struct jitrd_caset *set, const struct caset_entry *entry,
                                const struct jitrd_cert *leaf, time_t now, const char *subject,
                                struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_NOMEM;
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = NULL;
	bool leaf_is_ca = leaf == entry->cert;
	int verified;

	if (set->anchors && !leaf_is_ca &&
	    (!(untrusted = sk_X509_new_null()) ||
	     !sk_X509_push(untrusted, jitrd_cert_x509(entry->cert)))) {
		jitrd_diag_set(diag, "certificate path validation: out of memory");
		goto cleanup;
	}
	if (!ctx ||
	    X509_STORE_CTX_init(ctx, entry->anchor, jitrd_cert_x509(leaf), untrusted) != 1) {
		jitrd_diag_set(diag, "certificate path validation: out of memory");
		goto cleanup;
	}
	/* The judging time is an input (the core reads no clock). */
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), now);
	X509_STORE_CTX_set_verify_cb(ctx, waive_profile_only_refusals);
	verified = X509_verify_cert(ctx);
	if (verified == 1 && set->anchors && !chain_through(ctx, entry, leaf_is_ca)) {
		result = leaf_is_ca ? JITRD_ERR_CA_UNUSABLE : JITRD_ERR_CERT_SIGNATURE;
		jitrd_diag_set(diag, "%s",
		               leaf_is_ca ? "CA certificate does not chain to an anchor "
		                            "of [ca] anchors"
		                          : "certificate is not signed by the CA");
	} else if (verified == 1) {
		result = JITRD_OK;
	} else if (verified == 0 && jitrd_openssl_failure(JITRD_OK) == JITRD_ERR_NOMEM) {
		/* a lookup that ran out of memory shows as "issuer not found": no verdict */
		result = JITRD_ERR_NOMEM;
		jitrd_diag_set(diag, "certificate path validation: out of memory");
	} else if (verified == 0) {
		result = path_failure(ctx, entry->cert, subject, diag);
	} else {
		result = jitrd_openssl_failure(JITRD_ERR_CRYPTO);
		jitrd_diag_set(diag, "certificate path validation: the verifier failed");
	}
cleanup:
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	return result;
}

enum jitrd_err jitrd_caset_verify_device(const struct jitrd_caset *set, const struct jitrd_cert *ca,
                                         const struct jitrd_cert *cert, time_t now,
                                         struct jitrd_diag *diag)
{
	const struct caset_entry *entry = entry_of(set, ca);
	enum jitrd_err result;

	if (!entry || !cert) {
		jitrd_diag_set(diag, "device check: no certificate, or a CA not of this set");
		return JITRD_ERR_INVALID_ARG;
	}
	ERR_set_mark();
	result = jitrd_cert_check_device_profile(cert, diag);
	if (result == JITRD_OK)
		result = verify_at(set, entry, cert, now, "certificate", diag);
	if (result == JITRD_OK)
		result = check_ca_signature(ca, diag);
	ERR_pop_to_mark();
	return result;
}

enum jitrd_err jitrd_caset_check_ca(const struct jitrd_caset *set, size_t i, time_t now,
                                    struct jitrd_diag *diag)
{
	const struct caset_entry *entry;
	enum jitrd_err result;

	if (!set || i >= set->count) {
		jitrd_diag_set(diag, "CA check: no such CA");
		return JITRD_ERR_INVALID_ARG;
	}
	entry = &set->entries[i];
	ERR_set_mark();
	/* The CA alone, as the path of a device would see it: its validity at `now`. */
	result = verify_at(set, entry, entry->cert, now, "CA certificate", diag);
	if (result == JITRD_OK && !jitrd_cert_may_sign_certificates(entry->cert)) {
		jitrd_diag_set(diag, "CA certificate may not sign certificates: its keyUsage lacks "
		                     "keyCertSign");
		result = JITRD_ERR_CA_UNUSABLE;
	}
	if (result == JITRD_OK)
		result = check_ca_signature(entry->cert, diag);
	ERR_pop_to_mark();
	return result;
}

const char *jitrd_caset_ca_note(const struct jitrd_caset *set, size_t i)
{
	if (!set || i >= set->count)
		return NULL;
	if (X509_get_key_usage(jitrd_cert_x509(set->entries[i].cert)) == UINT32_MAX)
		return "it has no keyUsage extension (RFC 5280 §4.2.1.3 asks a CA for one with "
		       "keyCertSign); accepted, as path validation (§6.1.4(n)) allows";
	return NULL;
}
