/* fuzz_crl_stream.c — fuzz target of the streaming CRL parser (crl_der.c) with the
 * differential check of tests/unit/crl_diff.c: the input, read as DER (and each "X509 CRL"
 * block when it is PEM), is parsed both by the stream parser and by d2i_X509_CRL, and the two
 * readings must agree; so must the same CRL re-signed by the fuzz CA, which takes mutated
 * entries past the signature check. They may differ only where the input is not DER (OpenSSL
 * reads BER; RFC 5280 §5.1 wants DER) or its two signature algorithms differ (RFC 5280
 * §5.1.1.2, which X509_CRL_verify does not check). The store also reads the input in place.
 * Test code: the embedded key signs nothing but fuzz inputs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crl_diff.h"
#include "fuzz_ca.h"
#include "jitrd/caset.h"
#include "jitrd/crl.h"
#include "jitrd/crl_der.h"

/* 2030-06-01T00:00:00Z, inside the seed CRLs' 2030-01-01..2031-01-01 */
#define FUZZ_NOW ((time_t)1906502400)

static struct jitrd_caset *cas;
static X509 *ca_cert;
static EVP_PKEY *ca_key;
static STACK_OF(X509) * pool;

/* A harness that cannot set itself up has found nothing: stop loudly. */
static void setup(void)
{
	struct jitrd_diag diag;
	BIO *bio = BIO_new_mem_buf(fuzz_ca_pem, (int)strlen(fuzz_ca_pem));

	ca_cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	bio = BIO_new_mem_buf(fuzz_ca_key, (int)strlen(fuzz_ca_key));
	ca_key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	cas = jitrd_caset_new();
	pool = sk_X509_new_null();
	if (!ca_cert || !ca_key || !cas || !pool || !sk_X509_push(pool, ca_cert) ||
	    jitrd_caset_add_pem(cas, "fuzz-ca", fuzz_ca_pem, strlen(fuzz_ca_pem), &diag) !=
	        JITRD_OK) {
		fprintf(stderr, "fuzz_crl_stream: cannot load the fuzz CA\n");
		abort();
	}
}

/* True when der is what OpenSSL would write for the CRL it reads from it: DER. A reading of
 * BER (indefinite or long-form lengths, constructed strings, a DEFAULT written out) is
 * encoded differently. Also true when the two signature algorithms differ. */
static bool allowed_difference(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
	unsigned char *again = NULL, *tbs = NULL;
	struct jitrd_crl_der parsed;
	size_t used = 0;
	int n, tbs_len;
	bool allowed = false;

	if (!crl)
		return false;
	/* OpenSSL 3.0 has no getter for the inner algorithm: the stream parser's reading */
	memset(&parsed, 0, sizeof(parsed));
	if (jitrd_crl_der_parse(der, len, &parsed, &used) == JITRD_OK &&
	    X509_ALGOR_cmp(parsed.alg, parsed.tbs_alg) != 0)
		allowed = true;
	jitrd_crl_der_cleanup(&parsed);
	/* re-encoded from the decoded fields, not the bytes kept from the input */
	tbs_len = i2d_re_X509_CRL_tbs(crl, &tbs);
	n = i2d_X509_CRL(crl, &again);
	if (tbs_len <= 0 || n <= 0 || (size_t)n != len || memcmp(again, der, len) != 0)
		allowed = true;
	OPENSSL_free(tbs);
	OPENSSL_free(again);
	X509_CRL_free(crl);
	ERR_clear_error();
	return allowed;
}

static void compare(const unsigned char *der, size_t len)
{
	struct crl_reading o, s;
	char why[256];

	crl_read_oracle(der, len, pool, &o);
	crl_read_stream(der, len, pool, &s);
	if (!crl_readings_agree(&o, &s, why, sizeof(why)) && !allowed_difference(der, len)) {
		fprintf(stderr, "fuzz_crl_stream: %s\n", why);
		abort();
	}
	crl_reading_cleanup(&o);
	crl_reading_cleanup(&s);
}

/* The first CRL of der re-signed by the fuzz CA, as DER; NULL when OpenSSL cannot read it. */
static unsigned char *resign(const unsigned char *der, size_t len, int *out_len)
{
	const unsigned char *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
	unsigned char *out = NULL;

	*out_len = 0;
	if (crl && X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca_cert)) &&
	    X509_CRL_sign(crl, ca_key, NULL) > 0)
		*out_len = i2d_X509_CRL(crl, &out);
	X509_CRL_free(crl);
	ERR_clear_error();
	return *out_len > 0 ? out : NULL;
}

static void one_der(const unsigned char *der, size_t len)
{
	int resigned_len = 0;
	unsigned char *resigned;

	compare(der, len);
	resigned = resign(der, len, &resigned_len);
	if (resigned)
		compare(resigned, (size_t)resigned_len);
	OPENSSL_free(resigned);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *copy, *out;
	size_t pos = 0;
	struct jitrd_crl_builder *b;
	struct jitrd_crl_store *store = NULL;
	struct jitrd_diag diag = {""};

	if (!cas)
		setup();
	if (size == 0 || size > (1u << 20))
		return 0;
	if (data[0] == 0x30) {
		one_der(data, size);
	} else if ((out = malloc(size)) != NULL) {
		for (int blocks = 0; blocks < 16; blocks++) {
			size_t der_len = 0, before = pos;
			bool done = false;

			if (jitrd_crl_pem_next(data, size, &pos, out, &der_len, &done) ==
			    JITRD_OK) {
				if (done)
					break;
				one_der(out, der_len);
			}
			if (pos <= before || pos > size) {
				if (pos > size)
					abort();
				break;
			}
		}
		free(out);
	}
	/* the store taking the bytes, as the service takes a [crl] dir file */
	copy = malloc(size);
	b = jitrd_crl_builder_new(cas, FUZZ_NOW);
	if (copy && b) {
		enum jitrd_err err;

		memcpy(copy, data, size);
		err = jitrd_crl_builder_add_owned(b, "fuzz-input", copy, size, &diag);
		if (err == JITRD_OK && diag.text[0] != '\0')
			abort(); /* an accepted file says nothing */
		if (jitrd_crl_builder_finish(b, &store) == JITRD_OK)
			jitrd_crl_store_free(store);
	} else {
		free(copy);
	}
	jitrd_crl_builder_free(b);
	ERR_clear_error();
	return 0;
}
