/* issue.c — the emulator's stand-in for AWS IoT's own certificate authority: what
 * CreateKeysAndCertificate answers (a fresh key pair and a certificate signed by the issuer).
 * Must not read files or the clock: the issuer comes as PEM text, the time is passed in. */
#include "issue.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* AWS IoT's certificates from CreateKeysAndCertificate end on the last second of 2049. */
#define ISSUED_NOT_AFTER     2524607999 /* 2049-12-31T23:59:59Z */
#define ISSUER_LIFETIME_SECS (30L * 365 * 86400)

struct emu_issuer {
	X509 *cert;
	EVP_PKEY *key;
};

void emu_issuer_free(struct emu_issuer *issuer)
{
	if (issuer == NULL)
		return;
	X509_free(issuer->cert);
	EVP_PKEY_free(issuer->key);
	free(issuer);
}

/* A self-signed P-256 CA named like Amazon's, for an emulator started without an issuer. */
static enum jitrd_err make_self_signed(struct emu_issuer *issuer)
{
	X509_NAME *name = NULL;
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	enum jitrd_err result = JITRD_ERR_CRYPTO;

	issuer->key = EVP_EC_gen("P-256");
	issuer->cert = X509_new();
	name = X509_NAME_new();
	if (issuer->key == NULL || issuer->cert == NULL || name == NULL ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	                               (const unsigned char *)"iot-emulator", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                               (const unsigned char *)"Emulated Amazon IoT issuer", -1, -1,
	                               0) != 1 ||
	    X509_set_version(issuer->cert, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(issuer->cert), 1) != 1 ||
	    X509_set_subject_name(issuer->cert, name) != 1 ||
	    X509_set_issuer_name(issuer->cert, name) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(issuer->cert), -86400) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(issuer->cert), ISSUER_LIFETIME_SECS) == NULL ||
	    X509_set_pubkey(issuer->cert, issuer->key) != 1)
		goto cleanup;
	X509V3_set_ctx(&ctx, issuer->cert, issuer->cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
	if (ext == NULL || X509_add_ext(issuer->cert, ext, -1) != 1) {
		X509_EXTENSION_free(ext);
		goto cleanup;
	}
	X509_EXTENSION_free(ext);
	if (X509_sign(issuer->cert, issuer->key, EVP_sha256()) <= 0)
		goto cleanup;
	result = JITRD_OK;
cleanup:
	X509_NAME_free(name);
	return result;
}

enum jitrd_err emu_issuer_new(const char *cert_pem, const char *key_pem, struct emu_issuer **out)
{
	struct emu_issuer *issuer;
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	BIO *bio = NULL;

	if (out == NULL || (cert_pem == NULL) != (key_pem == NULL))
		return JITRD_ERR_INVALID_ARG;
	issuer = calloc(1, sizeof *issuer);
	if (issuer == NULL)
		return JITRD_ERR_NOMEM;
	if (cert_pem == NULL) {
		result = make_self_signed(issuer);
		goto cleanup;
	}
	bio = BIO_new_mem_buf(cert_pem, -1);
	if (bio == NULL || (issuer->cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL)
		goto cleanup;
	BIO_free(bio);
	bio = BIO_new_mem_buf(key_pem, -1);
	if (bio == NULL || (issuer->key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL ||
	    X509_check_private_key(issuer->cert, issuer->key) != 1)
		goto cleanup;
	result = JITRD_OK;
cleanup:
	BIO_free(bio);
	if (result != JITRD_OK)
		emu_issuer_free(issuer);
	else
		*out = issuer;
	return result;
}

/* The contents of a memory BIO as a NUL-terminated string (malloc), or NULL. */
static char *bio_string(BIO *bio)
{
	char *data, *copy;
	long n = BIO_get_mem_data(bio, &data);

	if (n <= 0 || (copy = malloc((size_t)n + 1)) == NULL)
		return NULL;
	memcpy(copy, data, (size_t)n);
	copy[n] = '\0';
	return copy;
}

void emu_issue_pem_free(char *pem)
{
	if (pem == NULL)
		return;
	OPENSSL_cleanse(pem, strlen(pem));
	free(pem);
}

enum jitrd_err emu_issue_keys_and_certificate(const struct emu_issuer *issuer, int64_t now_ms,
                                              char **cert_pem, char **private_pem,
                                              char **public_pem)
{
	enum jitrd_err result = JITRD_ERR_CRYPTO;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	X509_NAME *subject = NULL;
	BIO *cert_bio = NULL, *private_bio = NULL, *public_bio = NULL;
	unsigned char serial[20];
	BIGNUM *serial_bn = NULL;
	char *c = NULL, *k = NULL, *p = NULL;

	if (issuer == NULL || cert_pem == NULL || private_pem == NULL || public_pem == NULL)
		return JITRD_ERR_INVALID_ARG;
	/* RFC 5280 §4.1.2.2: a positive serial of at most 20 octets */
	if (RAND_bytes(serial, sizeof serial) != 1)
		goto cleanup;
	serial[0] &= 0x7f;
	serial[0] |= 0x01;
	key = EVP_RSA_gen(2048);
	cert = X509_new();
	subject = X509_NAME_new();
	serial_bn = BN_bin2bn(serial, sizeof serial, NULL);
	if (key == NULL || cert == NULL || subject == NULL || serial_bn == NULL ||
	    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
	                               (const unsigned char *)"AWS IoT Certificate", -1, -1,
	                               0) != 1 ||
	    X509_set_version(cert, 2) != 1 ||
	    BN_to_ASN1_INTEGER(serial_bn, X509_get_serialNumber(cert)) == NULL ||
	    X509_set_subject_name(cert, subject) != 1 ||
	    X509_set_issuer_name(cert, X509_get_subject_name(issuer->cert)) != 1 ||
	    X509_time_adj_ex(X509_getm_notBefore(cert), 0, 0, &(time_t){(time_t)(now_ms / 1000)}) ==
	        NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(cert), 0, 0, &(time_t){ISSUED_NOT_AFTER}) == NULL ||
	    X509_set_pubkey(cert, key) != 1 || X509_sign(cert, issuer->key, EVP_sha256()) <= 0)
		goto cleanup;
	cert_bio = BIO_new(BIO_s_mem());
	private_bio = BIO_new(BIO_s_secmem());
	public_bio = BIO_new(BIO_s_mem());
	if (cert_bio == NULL || private_bio == NULL || public_bio == NULL ||
	    PEM_write_bio_X509(cert_bio, cert) != 1 ||
	    PEM_write_bio_PrivateKey_traditional(private_bio, key, NULL, NULL, 0, NULL, NULL) !=
	        1 ||
	    PEM_write_bio_PUBKEY(public_bio, key) != 1)
		goto cleanup;
	result = JITRD_ERR_NOMEM;
	c = bio_string(cert_bio);
	k = bio_string(private_bio);
	p = bio_string(public_bio);
	if (c == NULL || k == NULL || p == NULL)
		goto cleanup;
	*cert_pem = c;
	*private_pem = k;
	*public_pem = p;
	c = k = p = NULL;
	result = JITRD_OK;
cleanup:
	free(c);
	emu_issue_pem_free(k);
	free(p);
	BIO_free(cert_bio);
	BIO_free(private_bio);
	BIO_free(public_bio);
	BN_free(serial_bn);
	X509_NAME_free(subject);
	X509_free(cert);
	EVP_PKEY_free(key);
	return result;
}
