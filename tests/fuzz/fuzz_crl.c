/* fuzz_crl.c — fuzz target of the CRL store: the input is one CRL file (PEM or DER) for a
 * builder whose only CA is the fixed test CA below; the same CRL is also re-signed with that
 * CA's key, so mutated entries reach the index and lookups past the signature check. The same
 * bytes are also read as a CRL number record (state_dir/crl-numbers): what parses must format
 * back to text that parses to as many entries.
 * Test code: the embedded key signs nothing but fuzz inputs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "jitrd/crl.h"

/* 2030-06-01T00:00:00Z, inside the seed CRLs' 2030-01-01..2031-01-01 */
#define FUZZ_NOW ((time_t)1906502400)

#include "fuzz_ca.h"

static struct jitrd_caset *cas;
static const struct jitrd_cert *ca;
static EVP_PKEY *ca_key;

/* A harness that cannot set itself up has found nothing: stop loudly. */
static void setup(void)
{
	struct jitrd_diag diag;
	BIO *bio;

	cas = jitrd_caset_new();
	if (!cas || jitrd_caset_add_pem(cas, "fuzz-ca", fuzz_ca_pem, strlen(fuzz_ca_pem), &diag) !=
	                JITRD_OK) {
		fprintf(stderr, "fuzz_crl: cannot load the fuzz CA\n");
		abort();
	}
	ca = jitrd_caset_at(cas, 0);
	bio = BIO_new_mem_buf(fuzz_ca_key, (int)strlen(fuzz_ca_key));
	ca_key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!ca || !ca_key) {
		fprintf(stderr, "fuzz_crl: cannot load the fuzz CA key\n");
		abort();
	}
}

/* The first CRL of the input, re-signed by the fuzz CA; NULL when none parses. */
static X509_CRL *resign(const uint8_t *data, size_t size)
{
	X509_CRL *crl = NULL;

	if (size > 0 && data[0] == 0x30) {
		const unsigned char *p = data;
		crl = d2i_X509_CRL(NULL, &p, (long)size);
	} else if (size > 0 && size < INT32_MAX) {
		BIO *bio = BIO_new_mem_buf(data, (int)size);
		crl = bio ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
	}
	if (crl && (!X509_CRL_set_issuer_name(crl, X509_get_subject_name(jitrd_cert_x509(ca))) ||
	            !X509_CRL_sign(crl, ca_key, NULL))) {
		X509_CRL_free(crl);
		crl = NULL;
	}
	return crl;
}

static void lookup(const struct jitrd_crl_store *store, const ASN1_INTEGER *serial, time_t now,
                   int must_be_listed)
{
	struct jitrd_crl_answer answer = {JITRD_CRL_NOT_LISTED, JITRD_CRL_REASON_NONE, false};
	enum jitrd_err err = jitrd_crl_lookup(store, ca, serial, now, &answer);
	enum jitrd_crl_status status = answer.status;

	(void)jitrd_crl_reason_name(answer.reason);
	/* Oracle: a non-negative serial of at most 20 octets listed in the chosen CRL must be
	 * found (negative ones are skipped by design; longer ones make the CRL refused). */
	if (must_be_listed && err == JITRD_OK && status == JITRD_CRL_NOT_LISTED) {
		fprintf(stderr, "fuzz_crl: a listed serial was not found\n");
		abort();
	}
}

/* Adds one file and checks that result, diag and report agree. */
static void add(struct jitrd_crl_builder *b, const char *origin, const uint8_t *bytes, size_t len)
{
	struct jitrd_diag diag = {""};
	enum jitrd_err err = jitrd_crl_builder_add(b, origin, bytes, len, &diag);
	size_t n = jitrd_crl_builder_file_count(b);
	const struct jitrd_crl_file_report *r = n ? jitrd_crl_builder_file_at(b, n - 1) : NULL;

	if (!r || r->result != err || strcmp(r->origin, origin) != 0 ||
	    (err != JITRD_OK && strncmp(diag.text, origin, strlen(origin)) != 0) ||
	    (err == JITRD_OK && r->reason[0] != '\0')) {
		fprintf(stderr, "fuzz_crl: result, diag and report disagree\n");
		abort();
	}
}

/* The record parser: strict, and a round trip through the formatter keeps every entry. */
static void floors(const uint8_t *data, size_t size)
{
	struct jitrd_crl_floors *f = NULL, *again = NULL;
	char *text = NULL;
	size_t len = 0;

	if (jitrd_crl_floors_parse("fuzz", (const char *)data, size, &f, NULL) != JITRD_OK)
		return;
	if (jitrd_crl_floors_format(f, &text, &len) == JITRD_OK) {
		if (jitrd_crl_floors_parse("again", text, len, &again, NULL) != JITRD_OK ||
		    jitrd_crl_floors_count(again) != jitrd_crl_floors_count(f)) {
			fprintf(stderr,
			        "fuzz_crl: a formatted CRL number record does not parse back\n");
			abort();
		}
	}
	OPENSSL_free(text);
	jitrd_crl_floors_free(again);
	jitrd_crl_floors_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jitrd_crl_builder *b;
	struct jitrd_crl_store *store = NULL;
	X509_CRL *resigned;
	unsigned char *der = NULL;
	int der_len = 0;

	if (!cas)
		setup();
	floors(data, size);
	b = jitrd_crl_builder_new(cas, FUZZ_NOW);
	if (!b)
		return 0;
	/* the re-signed copy first: on a tie (the same CRL unmutated) the first added is kept,
	 * so the oracle below applies to the seeds too */
	resigned = resign(data, size);
	if (resigned && (der_len = i2d_X509_CRL(resigned, &der)) > 0)
		add(b, "fuzz-resigned", der, (size_t)der_len);
	add(b, "fuzz-input", data, size);
	for (size_t i = 0; i < jitrd_crl_builder_file_count(b); i++) {
		const struct jitrd_crl_file_report *r = jitrd_crl_builder_file_at(b, i);
		if (!r || strlen(r->origin) == 0 || !r->reason)
			abort();
	}
	if (jitrd_crl_builder_finish(b, &store) == JITRD_OK) {
		const struct jitrd_crl_info *info = jitrd_crl_store_info(store, ca);
		int chosen_is_resigned = info && strcmp(info->origin, "fuzz-resigned") == 0;
		STACK_OF(X509_REVOKED) *revoked = resigned ? X509_CRL_get_REVOKED(resigned) : NULL;
		ASN1_INTEGER *serial = ASN1_INTEGER_new();

		for (int i = 0; revoked && i < sk_X509_REVOKED_num(revoked) && i < 64; i++) {
			const ASN1_INTEGER *s =
			    X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i));
			int listed = chosen_is_resigned && ASN1_STRING_type(s) == V_ASN1_INTEGER &&
			             ASN1_STRING_length(s) <= 20;
			lookup(store, s, FUZZ_NOW, listed);
			lookup(store, s, FUZZ_NOW + 10 * 365 * 86400, 0);
		}
		/* serials made of the input's own bytes, of every length up to 24 */
		for (size_t len = 0; serial && len <= 24 && len <= size; len += 3) {
			if (ASN1_STRING_set(serial, data, (int)len))
				lookup(store, serial, FUZZ_NOW, 0);
		}
		ASN1_INTEGER_free(serial);
		jitrd_crl_store_free(store);
	}
	OPENSSL_free(der);
	X509_CRL_free(resigned);
	jitrd_crl_builder_free(b);
	ERR_clear_error();
	return 0;
}
