/* test_operator.c — the operator module's local parts: id checks, the CA key file (mode,
 * size, type, content), the key-matches-CA check and the verification certificate (CN = code,
 * issued and signed by the CA, a fresh P-256 key). The online parts are tested against the
 * emulator by test-operator.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "jitrd/operator.h"
#include "jitrd/text.h"
#include "testsupport.h"

static const char CODE[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static char tmpdir[64];

/* Writes text to a fresh file in tmpdir with mode; returns its path (static per slot). */
static const char *write_file(const char *name, const void *data, size_t len, mode_t mode)
{
	static char paths[8][128];
	static int slot;
	char *path = paths[slot++ % 8];
	FILE *f;

	snprintf(path, 128, "%s/%s", tmpdir, name);
	unlink(path);
	f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
	CU_ASSERT_EQUAL(fclose(f), 0);
	CU_ASSERT_EQUAL(chmod(path, mode), 0);
	return path;
}

static struct jitrd_cert *fixture_cert(const char *relpath)
{
	struct jitrd_cert *cert = NULL;
	size_t len;
	char *pem = tsupport_read_fixture(relpath, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
	CU_ASSERT_EQUAL_FATAL(jitrd_cert_from_pem(pem, len, &cert, NULL), JITRD_OK);
	free(pem);
	return cert;
}

/* The fixture key copied to a 0600 file and loaded. */
static EVP_PKEY *fixture_key(const char *relpath)
{
	EVP_PKEY *key = NULL;
	size_t len;
	char *pem = tsupport_read_fixture(relpath, &len);
	const char *path;

	CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
	path = write_file("fixture.key", pem, len, 0600);
	free(pem);
	CU_ASSERT_EQUAL_FATAL(jitrd_operator_load_ca_key(path, false, &key, NULL), JITRD_OK);
	return key;
}

static void test_valid_id(void)
{
	static const struct {
		const char *text;
		int valid;
	} cases[] = {
	    {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 1},
	    {"0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF", 1},
	    {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", 0},   /* 63 */
	    {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0", 0}, /* 65 */
	    {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg", 0},
	    {"../../../etc/passwd", 0},
	    {"", 0},
	    {NULL, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(jitrd_is_hex_id(cases[i].text), cases[i].valid);
}

static void test_load_key_modes(void)
{
	size_t len;
	char *pem = tsupport_read_fixture("keys/ca1.key", &len);
	EVP_PKEY *sentinel = (EVP_PKEY *)&len, *key = sentinel;
	struct jitrd_diag diag = {{0}};
	static const struct {
		mode_t mode;
		bool allow;
		enum jitrd_err want;
	} cases[] = {
	    {0600, false, JITRD_OK},         {0400, false, JITRD_OK},
	    {0640, false, JITRD_ERR_CONFIG}, {0644, false, JITRD_ERR_CONFIG},
	    {0604, false, JITRD_ERR_CONFIG}, {0620, false, JITRD_ERR_CONFIG},
	    {0644, true, JITRD_OK},          {0666, true, JITRD_OK},
	};

	CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = write_file("mode.key", pem, len, cases[i].mode);
		enum jitrd_err err;

		key = sentinel;
		diag.text[0] = '\0';
		err = jitrd_operator_load_ca_key(path, cases[i].allow, &key, &diag);
		CU_ASSERT_EQUAL(err, cases[i].want);
		if (err == JITRD_OK) {
			CU_ASSERT_PTR_NOT_NULL(key);
			CU_ASSERT(key != sentinel);
			EVP_PKEY_free(key);
		} else {
			CU_ASSERT_PTR_EQUAL(key, sentinel); /* untouched */
			CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, path));
			CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "chmod 600"));
			/* never the key material in the message */
			CU_ASSERT_PTR_NULL(strstr(diag.text, "PRIVATE"));
		}
	}
	free(pem);
}

static void test_load_key_bad_files(void)
{
	static const char not_key[] =
	    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
	static const char truncated[] =
	    "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqG\n";
	char *big = calloc(1, JITRD_OPERATOR_MAX_KEY_FILE + 10);
	EVP_PKEY *sentinel = (EVP_PKEY *)&big, *key = sentinel;
	struct jitrd_diag diag = {{0}};
	char missing[128];

	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'A', JITRD_OPERATOR_MAX_KEY_FILE + 1);
	CU_ASSERT_EQUAL(
	    jitrd_operator_load_ca_key(write_file("notkey.pem", not_key, sizeof(not_key) - 1, 0600),
	                               false, &key, &diag),
	    JITRD_ERR_MALFORMED);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "not a PEM private key"));
	CU_ASSERT_EQUAL(jitrd_operator_load_ca_key(
			    write_file("trunc.key", truncated, sizeof(truncated) - 1, 0600), false,
			    &key, &diag),
	                JITRD_ERR_MALFORMED);
	CU_ASSERT_EQUAL(
	    jitrd_operator_load_ca_key(write_file("empty.key", "", 0, 0600), false, &key, &diag),
	    JITRD_ERR_MALFORMED);
	CU_ASSERT_EQUAL(jitrd_operator_load_ca_key(
			    write_file("big.key", big, JITRD_OPERATOR_MAX_KEY_FILE + 1, 0600),
			    false, &key, &diag),
	                JITRD_ERR_TOO_LARGE);
	snprintf(missing, sizeof(missing), "%s/missing.key", tmpdir);
	CU_ASSERT_EQUAL(jitrd_operator_load_ca_key(missing, false, &key, &diag), JITRD_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "missing.key"));
	CU_ASSERT_EQUAL(jitrd_operator_load_ca_key(tmpdir, false, &key, &diag), JITRD_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "not a regular file"));
	CU_ASSERT_PTR_EQUAL(key, sentinel);
	free(big);
}

static void test_check_ca_key(void)
{
	struct jitrd_cert *ca1 = fixture_cert("cas/ca1.pem");
	struct jitrd_cert *device = fixture_cert("devices/good.pem");
	EVP_PKEY *key1 = fixture_key("keys/ca1.key");
	EVP_PKEY *key2 = fixture_key("keys/ca2.key");
	EVP_PKEY *impostor = fixture_key("keys/impostor.key");
	struct jitrd_diag diag = {{0}};

	CU_ASSERT_EQUAL(jitrd_operator_check_ca_key(ca1, key1, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_operator_check_ca_key(ca1, key2, &diag), JITRD_ERR_CERT_SIGNATURE);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "not the CA certificate's key"));
	/* same subject name, other key */
	CU_ASSERT_EQUAL(jitrd_operator_check_ca_key(ca1, impostor, &diag),
	                JITRD_ERR_CERT_SIGNATURE);
	CU_ASSERT_EQUAL(jitrd_operator_check_ca_key(device, key1, &diag), JITRD_ERR_BAD_FIELD);
	CU_ASSERT_EQUAL(jitrd_operator_check_ca_key(NULL, key1, &diag), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_operator_check_ca_key(ca1, NULL, &diag), JITRD_ERR_INVALID_ARG);
	EVP_PKEY_free(key1);
	EVP_PKEY_free(key2);
	EVP_PKEY_free(impostor);
	jitrd_cert_free(ca1);
	jitrd_cert_free(device);
}

static void test_verification_certificate(void)
{
	struct jitrd_cert *ca1 = fixture_cert("cas/ca1.pem");
	EVP_PKEY *key1 = fixture_key("keys/ca1.key");
	struct jitrd_cert *made = NULL, *second = NULL;
	char *pem = NULL, *pem2 = NULL;
	const char *cn = NULL;
	EVP_PKEY *made_key;
	char name[64] = "";
	time_t now = JITRD_TEST_NOW;

	CU_ASSERT_EQUAL_FATAL(jitrd_operator_make_verification(ca1, key1, CODE, now, &pem, NULL),
	                      JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(pem, "-----BEGIN CERTIFICATE-----"));
	CU_ASSERT_PTR_NULL(strstr(pem, "PRIVATE")); /* only the certificate leaves */
	CU_ASSERT_EQUAL_FATAL(jitrd_cert_from_pem(pem, strlen(pem), &made, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_cert_subject_field(made, JITRD_SUBJECT_CN, &cn), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(cn, CODE);
	/* issued by ca1 and signed by its key (what AWS checks) */
	CU_ASSERT_EQUAL(jitrd_cert_verify_signed_by(made, ca1), JITRD_OK);
	CU_ASSERT_EQUAL(X509_verify(jitrd_cert_x509(made), X509_get0_pubkey(jitrd_cert_x509(ca1))),
	                1);
	/* valid from 5 minutes before now for a day (X509_cmp_time: -1 before, 1 after) */
	{
		time_t t = now - 299, later = now + 2 * 86400;
		CU_ASSERT_EQUAL(X509_cmp_time(X509_get0_notBefore(jitrd_cert_x509(made)), &t), -1);
		CU_ASSERT_EQUAL(X509_cmp_time(X509_get0_notAfter(jitrd_cert_x509(made)), &t), 1);
		CU_ASSERT_EQUAL(X509_cmp_time(X509_get0_notAfter(jitrd_cert_x509(made)), &later),
		                -1);
	}
	CU_ASSERT_FALSE(jitrd_cert_is_ca(made));
	/* a fresh P-256 key, not the CA's */
	made_key = X509_get0_pubkey(jitrd_cert_x509(made));
	CU_ASSERT_PTR_NOT_NULL_FATAL(made_key);
	CU_ASSERT_EQUAL(EVP_PKEY_get_utf8_string_param(made_key, "group", name, sizeof(name), NULL),
	                1);
	CU_ASSERT_STRING_EQUAL(name, "prime256v1");
	CU_ASSERT_NOT_EQUAL(EVP_PKEY_eq(made_key, key1), 1);
	/* a second one has another key and serial */
	CU_ASSERT_EQUAL_FATAL(jitrd_operator_make_verification(ca1, key1, CODE, now, &pem2, NULL),
	                      JITRD_OK);
	CU_ASSERT_EQUAL_FATAL(jitrd_cert_from_pem(pem2, strlen(pem2), &second, NULL), JITRD_OK);
	CU_ASSERT_NOT_EQUAL(EVP_PKEY_eq(X509_get0_pubkey(jitrd_cert_x509(second)), made_key), 1);
	CU_ASSERT_STRING_NOT_EQUAL(jitrd_cert_serial_hex(second), jitrd_cert_serial_hex(made));
	free(pem);
	free(pem2);
	jitrd_cert_free(made);
	jitrd_cert_free(second);
	EVP_PKEY_free(key1);
	jitrd_cert_free(ca1);
}

static void test_verification_refused(void)
{
	struct jitrd_cert *ca1 = fixture_cert("cas/ca1.pem");
	EVP_PKEY *key1 = fixture_key("keys/ca1.key");
	EVP_PKEY *key2 = fixture_key("keys/ca2.key");
	char too_long[66];
	char *sentinel = (char *)"untouched", *pem = sentinel;

	memset(too_long, 'a', 65);
	too_long[65] = '\0';
	CU_ASSERT_EQUAL(jitrd_operator_make_verification(ca1, key1, "", 0, &pem, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_operator_make_verification(ca1, key1, NULL, 0, &pem, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_operator_make_verification(ca1, key1, too_long, 0, &pem, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_operator_make_verification(ca1, key2, CODE, 0, &pem, NULL),
	                JITRD_ERR_CERT_SIGNATURE);
	CU_ASSERT_PTR_EQUAL(pem, sentinel);
	EVP_PKEY_free(key1);
	EVP_PKEY_free(key2);
	jitrd_cert_free(ca1);
}

/* cert register: what it needs is checked before anything is opened; the summary is filled
 * (zero) whatever happens; the result names are the --json words. */
static void test_register_arguments(void)
{
	struct jitrd_register_options o;
	struct jitrd_register_summary sum;
	struct jitrd_diag diag = {{0}};

	memset(&sum, 0xff, sizeof(sum));
	CU_ASSERT_EQUAL(jitrd_operator_cert_register(NULL, &sum, &diag), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(sum.total, 0);
	CU_ASSERT_EQUAL(sum.register_calls, 0);
	CU_ASSERT(strstr(diag.text, "journal") != NULL);
	memset(&o, 0, sizeof(o));
	memset(&sum, 0xff, sizeof(sum));
	CU_ASSERT_EQUAL(jitrd_operator_cert_register(&o, &sum, &diag), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(sum.registered, 0);
	CU_ASSERT_FALSE(sum.interrupted);
	CU_ASSERT_STRING_EQUAL(jitrd_register_result_name(JITRD_REGISTER_REGISTERED), "registered");
	CU_ASSERT_STRING_EQUAL(jitrd_register_result_name(JITRD_REGISTER_REGISTERED_EARLIER),
	                       "registered_earlier");
	CU_ASSERT_STRING_EQUAL(jitrd_register_result_name(JITRD_REGISTER_ALREADY),
	                       "already_registered");
	CU_ASSERT_STRING_EQUAL(jitrd_register_result_name(JITRD_REGISTER_REFUSED), "refused");
	CU_ASSERT_STRING_EQUAL(jitrd_register_result_name(JITRD_REGISTER_FAILED), "failed");
	CU_ASSERT_STRING_EQUAL(jitrd_register_result_name((enum jitrd_register_result)99),
	                       "failed");
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"valid ids: 64 hex only", test_valid_id},
	    {"CA key file: group/other bits refused unless allowed", test_load_key_modes},
	    {"CA key file: not a key, truncated, empty, oversized, missing, a directory",
	     test_load_key_bad_files},
	    {"CA key matches the CA certificate", test_check_ca_key},
	    {"verification certificate: CN = code, signed by the CA, fresh P-256 key",
	     test_verification_certificate},
	    {"verification certificate refused: bad code, wrong key", test_verification_refused},
	    {"cert register: arguments, result names", test_register_arguments},
	    {NULL, NULL},
	};
	int status;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_operator.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	status = tsupport_run("operator", cases);
	{
		static const char *const names[] = {"fixture.key", "mode.key",  "notkey.pem",
		                                    "trunc.key",   "empty.key", "big.key"};
		char path[128];
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
			unlink(path);
		}
		rmdir(tmpdir);
	}
	return status;
}
