/* mkfleet.c — test helper: makes N device certificates under a test CA (one device key for all,
 * serials FIRST.., current dates) and registers each ACTIVE with the emulator through the IoT
 * client, with no client-side rate limit; thousands in a few seconds, where the AWS CLI would
 * take minutes. Test code only: the CA key is read from a throwaway test PKI.
 *
 *   mkfleet URL CA.pem CA.key COUNT FIRST_SERIAL IDS_OUT [PEM_DIR]
 *
 * IDS_OUT gets "certificate_id serial_hex" per line; PEM_DIR (optional) dev-<i>.pem each.
 * URL "-" registers nothing: the certificates are only written to PEM_DIR (required then), for
 * `jitrd cert register` to register. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jitrd/cert.h"
#include "jitrd/credentials.h"
#include "jitrd/iot_client.h"

extern char **environ;

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text = calloc(1, 65537);
	size_t n;

	if (!f || !text) {
		if (f)
			fclose(f);
		free(text);
		return NULL;
	}
	n = fread(text, 1, 65536, f);
	fclose(f);
	text[n] = '\0';
	return text;
}

static int add_ext(X509 *x, X509 *ca, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	ok = ext && X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* One device certificate, as PEM (heap). */
static char *make_device(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *dev_key, long serial_value,
                         long index)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	BIGNUM *bn = BN_new();
	ASN1_INTEGER *serial = NULL;
	BIO *bio = BIO_new(BIO_s_mem());
	char cn[64], *data = NULL, *pem = NULL;
	long len;
	time_t now = time(NULL);

	snprintf(cn, sizeof(cn), "fleet-device-%ld", index);
	if (!x || !name || !bn || !bio || BN_set_word(bn, (unsigned long)serial_value) != 1 ||
	    !(serial = BN_to_ASN1_INTEGER(bn, NULL)) || X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_set_serialNumber(x, serial) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (unsigned char *)cn, -1, -1, 0) !=
	        1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    !X509_time_adj_ex(X509_getm_notBefore(x), 0, -3600, &now) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), 365, 0, &now) ||
	    X509_set_pubkey(x, dev_key) != 1 ||
	    add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
	    add_ext(x, ca, NID_key_usage, "critical,digitalSignature") != 0 ||
	    add_ext(x, ca, NID_ext_key_usage, "clientAuth") != 0 ||
	    add_ext(x, ca, NID_authority_key_identifier, "keyid") != 0 ||
	    X509_sign(x, ca_key, EVP_sha256()) <= 0 || PEM_write_bio_X509(bio, x) != 1)
		goto cleanup;
	len = BIO_get_mem_data(bio, &data);
	pem = len > 0 ? calloc(1, (size_t)len + 1) : NULL;
	if (pem)
		memcpy(pem, data, (size_t)len);
cleanup:
	BIO_free(bio);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	X509_NAME_free(name);
	X509_free(x);
	return pem;
}

static int write_pem(const char *dir, long i, const char *pem)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/dev-%ld.pem", dir, i);
	f = fopen(path, "w");
	if (!f)
		return -1;
	if (fputs(pem, f) < 0) {
		fclose(f);
		return -1;
	}
	return fclose(f) != 0 ? -1 : 0;
}

/* The certificates written to dir only, their ids computed as AWS does (SHA-256 of the DER). */
static int write_only(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *dev_key, long count, long first,
                      FILE *ids, const char *dir)
{
	for (long i = 0; i < count; i++) {
		struct jitrd_diag diag = {{0}};
		struct jitrd_cert *cert = NULL;
		char *pem = make_device(ca, ca_key, dev_key, first + i, i);
		int bad = !pem || write_pem(dir, i, pem) != 0 ||
		          jitrd_cert_from_pem(pem, strlen(pem), &cert, &diag) != JITRD_OK;

		if (!bad)
			fprintf(ids, "%s %lx\n", jitrd_cert_id(cert), (unsigned long)(first + i));
		jitrd_cert_free(cert);
		free(pem);
		if (bad) {
			fprintf(stderr, "mkfleet: cannot make or write device %ld\n", i);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct jitrd_credentials_options copts;
	struct jitrd_iot_client_options iopts;
	struct jitrd_credentials_provider *creds = NULL;
	struct jitrd_iot_client *client = NULL;
	struct jitrd_iot_session *session = NULL;
	struct jitrd_diag diag = {{0}};
	char *ca_pem, *key_pem;
	BIO *bio;
	X509 *ca = NULL;
	EVP_PKEY *ca_key = NULL, *dev_key = NULL;
	FILE *ids;
	long count, first;
	int status = 1;

	if (argc < 7 || argc > 8) {
		fprintf(stderr, "usage: mkfleet URL CA.pem CA.key COUNT FIRST_SERIAL IDS_OUT "
		                "[PEM_DIR]\n");
		return 2;
	}
	count = strtol(argv[4], NULL, 10);
	first = strtol(argv[5], NULL, 10);
	ca_pem = read_all(argv[2]);
	key_pem = read_all(argv[3]);
	ids = fopen(argv[6], "w");
	if (!ca_pem || !key_pem || !ids || count < 1 || first < 1) {
		fprintf(stderr, "mkfleet: bad arguments or unreadable files\n");
		return 2;
	}
	bio = BIO_new_mem_buf(ca_pem, -1);
	ca = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	bio = BIO_new_mem_buf(key_pem, -1);
	ca_key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	dev_key = EVP_EC_gen("P-256");
	if (!ca || !ca_key || !dev_key) {
		fprintf(stderr, "mkfleet: cannot read the CA or make the device key\n");
		goto cleanup;
	}
	if (strcmp(argv[1], "-") == 0) {
		status =
		    argc == 8 ? write_only(ca, ca_key, dev_key, count, first, ids, argv[7]) : 2;
		goto cleanup;
	}
	jitrd_credentials_options_init(&copts);
	copts.envp = (const char *const *)environ;
	jitrd_iot_client_options_init(&iopts, NULL);
	iopts.endpoint = argv[1];
	for (int i = 0; i < JITRD_IOT_OP_COUNT; i++)
		iopts.rates[i] = 0;
	if (jitrd_credentials_new(&copts, &creds, &diag) != JITRD_OK ||
	    jitrd_iot_client_new(&iopts, creds, &client, &diag) != JITRD_OK ||
	    jitrd_iot_session_new(client, &session) != JITRD_OK) {
		fprintf(stderr, "mkfleet: client: %s\n", diag.text);
		goto cleanup;
	}
	for (long i = 0; i < count; i++) {
		struct jitrd_iot_registered reg;
		struct jitrd_iot_result res = {0};
		char *pem = make_device(ca, ca_key, dev_key, first + i, i);
		enum jitrd_err err;

		if (!pem) {
			fprintf(stderr, "mkfleet: cannot make device %ld\n", i);
			goto cleanup;
		}
		err = jitrd_iot_register_certificate(session, jitrd_iot_deadline_in(10000), pem,
		                                     ca_pem, JITRD_IOT_ACTIVE, &reg, &res, &diag);
		if (err == JITRD_OK && argc == 8 && write_pem(argv[7], i, pem) != 0)
			err = JITRD_ERR_IO;
		free(pem);
		if (err != JITRD_OK) {
			fprintf(stderr, "mkfleet: device %ld: %s %s %s\n", i, jitrd_strerror(err),
			        res.code, diag.text);
			goto cleanup;
		}
		fprintf(ids, "%s %lx\n", reg.certificate_id, (unsigned long)(first + i));
	}
	status = 0;
cleanup:
	if (fclose(ids) != 0)
		status = 1;
	jitrd_iot_session_free(session);
	jitrd_iot_client_free(client);
	jitrd_credentials_free(creds);
	EVP_PKEY_free(dev_key);
	EVP_PKEY_free(ca_key);
	X509_free(ca);
	free(ca_pem);
	free(key_pem);
	return status;
}
