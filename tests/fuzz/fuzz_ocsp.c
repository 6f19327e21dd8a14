/* fuzz_ocsp.c — fuzz target of the OCSP judgement: the input is one DER OCSP response, judged
 * as the answer to a fixed request about a fixed device of a fixed CA; a basic response that
 * decodes is also re-signed by that CA, so mutated CertIDs, times, statuses and nonces reach
 * the checks past the signature. Oracle: a verdict is one of the statuses, with a reason when
 * invalid, and the reason is a terminated string. The CA and device are made here
 * from fixed Ed25519 seeds (deterministic, so a crash reproduces); with FUZZ_OCSP_SEED=FILE
 * the harness writes a good response about the device there (how corpus/ocsp/good.der was
 * made). Test code: the keys sign nothing but fuzz inputs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "jitrd/cert.h"
#include "jitrd/ocsp.h"

/* 2030-06-01T00:00:00Z; the certificates are valid 2020..2050 */
#define FUZZ_NOW ((time_t)1906502400)

static const unsigned char ca_seed[32] = "jitrd fuzz_ocsp CA key seed ...";
static const unsigned char device_seed[32] = "jitrd fuzz_ocsp device key seed";
static const unsigned char nonce[16] = "fuzz ocsp nonce";

static EVP_PKEY *ca_key;
static X509 *ca_x509;
static struct jitrd_cert *ca, *device;
static struct jitrd_ocsp_request request;

static void give_up(const char *what)
{
	fprintf(stderr, "fuzz_ocsp: cannot set up: %s\n", what);
	abort();
}

static X509 *make_cert(long serial, const char *cn, X509_NAME *issuer, EVP_PKEY *key,
                       EVP_PKEY *signer)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	if (!x || !name || !X509_set_version(x, 2) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), serial) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
	                                0) ||
	    !X509_set_subject_name(x, name) || !X509_set_issuer_name(x, issuer ? issuer : name) ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)1577836800) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)2524608000) || !X509_set_pubkey(x, key) ||
	    !X509_sign(x, signer, NULL))
		give_up(cn);
	X509_NAME_free(name);
	return x;
}

/* A good response about the device, signed by the CA, with the request's nonce. */
static void write_seed(const char *path)
{
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), jitrd_cert_x509(device), ca_x509);
	ASN1_TIME *this_update = ASN1_TIME_set(NULL, FUZZ_NOW - 3600);
	ASN1_TIME *next_update = ASN1_TIME_set(NULL, FUZZ_NOW + 86400);
	OCSP_RESPONSE *resp;
	unsigned char *der = NULL;
	int len;
	FILE *f = NULL;

	if (!bs || !id || !this_update || !next_update ||
	    !OCSP_basic_add1_status(bs, id, V_OCSP_CERTSTATUS_GOOD, 0, NULL, this_update,
	                            next_update) ||
	    !OCSP_basic_add1_nonce(bs, (unsigned char *)(uintptr_t)nonce, sizeof(nonce)) ||
	    !OCSP_basic_sign(bs, ca_x509, ca_key, NULL, NULL, OCSP_NOCERTS))
		give_up("the seed");
	resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
	len = resp ? i2d_OCSP_RESPONSE(resp, &der) : -1;
	if (len <= 0 || !(f = fopen(path, "wb")))
		give_up("the seed file");
	fwrite(der, 1, (size_t)len, f);
	fclose(f);
	{
		/* the seed must reach the end: a good verdict */
		struct jitrd_ocsp_answer a;
		if (jitrd_ocsp_judge(&request, device, ca, der, (size_t)len, FUZZ_NOW, 300, &a) !=
		        JITRD_OK ||
		    a.status != JITRD_OCSP_GOOD)
			give_up("a seed that judges good");
	}
	OPENSSL_free(der);
	OCSP_RESPONSE_free(resp);
	ASN1_TIME_free(this_update);
	ASN1_TIME_free(next_update);
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(bs);
}

static void setup(void)
{
	EVP_PKEY *device_key;
	X509 *device_x509;

	ca_key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, ca_seed, sizeof(ca_seed));
	device_key =
	    EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, device_seed, sizeof(device_seed));
	if (!ca_key || !device_key)
		give_up("the keys");
	ca_x509 = make_cert(1, "Fuzz OCSP CA", NULL, ca_key, ca_key);
	device_x509 =
	    make_cert(0x1001, "fuzz device", X509_get_subject_name(ca_x509), device_key, ca_key);
	if (jitrd_cert_from_x509(ca_x509, &ca, NULL) != JITRD_OK ||
	    jitrd_cert_from_x509(device_x509, &device, NULL) != JITRD_OK ||
	    jitrd_ocsp_request_build(device, ca, nonce, sizeof(nonce), &request) != JITRD_OK)
		give_up("the certificates or the request");
	X509_free(device_x509);
	EVP_PKEY_free(device_key);
	if (getenv("FUZZ_OCSP_SEED"))
		write_seed(getenv("FUZZ_OCSP_SEED"));
}

static void judge(const uint8_t *data, size_t size)
{
	struct jitrd_ocsp_answer a;

	if (jitrd_ocsp_judge(&request, device, ca, data, size, FUZZ_NOW, 300, &a) != JITRD_OK)
		return; /* out of memory only */
	if (a.status < JITRD_OCSP_GOOD || a.status > JITRD_OCSP_INVALID ||
	    (a.status == JITRD_OCSP_INVALID && !a.why[0]) || !memchr(a.why, '\0', sizeof(a.why))) {
		fprintf(stderr, "fuzz_ocsp: a verdict out of its range\n");
		abort();
	}
}

/* The input's basic response re-signed by the CA (only the CA's key can make one that
 * verifies); 0 when it has none. */
static int resign(const uint8_t *data, size_t size, unsigned char **der, int *len)
{
	const unsigned char *p = data;
	OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)size);
	OCSP_RESPONSE *again = NULL;
	OCSP_BASICRESP *bs = resp ? OCSP_response_get1_basic(resp) : NULL;
	int ok = 0;

	if (bs && OCSP_basic_sign(bs, ca_x509, ca_key, NULL, NULL, OCSP_NOCERTS) == 1 &&
	    (again = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) != NULL)
		ok = (*len = i2d_OCSP_RESPONSE(again, der)) > 0;
	OCSP_RESPONSE_free(again);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *der = NULL;
	int len = 0;

	if (!ca)
		setup();
	if (size > 2 * JITRD_OCSP_RESPONSE_MAX)
		return 0;
	judge(data, size);
	if (size <= JITRD_OCSP_RESPONSE_MAX && resign(data, size, &der, &len))
		judge(der, (size_t)len);
	OPENSSL_free(der);
	return 0;
}
