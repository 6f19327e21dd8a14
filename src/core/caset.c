/* caset.c — the set of our CA certificates with the file each came from, found by AWS id, by
 * the issuer of a certificate, or by a CRL's issuer name and key id. Pure: the caller reads
 * the files; no I/O, no logging. Never matches a CA by name alone when key ids disagree. */
#include "jitrd/caset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "jitrd/text.h"
#include "x509_util.h"

/* A CA file is a handful of certificates; a megabyte is already absurd. */
#define CASET_MAX_PEM (1024 * 1024)
/* Bound on the certificates of one buffer, so a hostile file cannot make us allocate
 * without limit before the size check bites (1 MiB of minimal PEM blocks). */
#define CASET_MAX_PER_BUFFER 1024

struct caset_entry {
	struct jitrd_cert *cert;
	char *origin;
};

struct jitrd_caset {
	struct caset_entry *entries;
	size_t count;
	size_t capacity;
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
	}
	for (size_t i = 0; i < fresh_count; i++) {
		/* Duplicates (same DER), also within this buffer, are skipped: the first stays. */
		if (id_in(set, jitrd_cert_id(fresh[i].cert)))
			continue;
		set->entries[set->count++] = fresh[i];
		fresh[i].cert = NULL;
		fresh[i].origin = NULL;
	}
	result = JITRD_OK;
cleanup:
	if (fresh) {
		for (size_t i = 0; i < fresh_count; i++) {
			jitrd_cert_free(fresh[i].cert);
			free(fresh[i].origin);
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
