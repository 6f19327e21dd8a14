/* test_cert.c — unit tests of cert.c against the fixture PKI (make-fixtures.sh) and against
 * certificates built in memory for cases the CLI cannot make (zero or negative serial, NUL or
 * invalid UTF-8 in a name). Expected ids are computed here from the PEM text independently. */
#include "jitrd/cert.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "testsupport.h"

/* A pointer no function may write: outputs on error must stay this. */
#define UNTOUCHED ((void *)&untouched_marker)
static const int untouched_marker;

/* Allocation failure injection for OpenSSL (installed in main before any allocation). */
static long alloc_fail_after = -1; /* -1: never fail */

static void *failing_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	if (alloc_fail_after == 0)
		return NULL;
	if (alloc_fail_after > 0)
		alloc_fail_after--;
	return malloc(n);
}

static void *failing_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	if (alloc_fail_after == 0)
		return NULL;
	if (alloc_fail_after > 0)
		alloc_fail_after--;
	return realloc(p, n);
}

static void plain_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

static struct jitrd_cert *load(const char *relpath)
{
	size_t len = 0;
	char *pem = tsupport_read_fixture(relpath, &len);
	struct jitrd_cert *cert = NULL;
	struct jitrd_diag diag = {""};
	enum jitrd_err err;

	if (!pem)
		return NULL;
	err = jitrd_cert_from_pem(pem, len, &cert, &diag);
	free(pem);
	CU_ASSERT_EQUAL(err, JITRD_OK);
	if (err != JITRD_OK)
		fprintf(stderr, "%s: %s\n", relpath, diag.text);
	return cert;
}

/* The DER inside the first CERTIFICATE block, decoded by hand (not by OpenSSL's PEM code), so
 * the expected id is what `openssl x509 -outform DER | sha256sum` gives. Caller frees. */
static unsigned char *pem_body_der(const char *pem, size_t *der_len)
{
	const char *begin = strstr(pem, "-----BEGIN CERTIFICATE-----");
	const char *end;
	char *b64;
	unsigned char *der;
	size_t n = 0;
	int len, pad = 0;

	if (!begin)
		return NULL;
	begin += strlen("-----BEGIN CERTIFICATE-----");
	end = strstr(begin, "-----END CERTIFICATE-----");
	if (!end)
		return NULL;
	b64 = malloc((size_t)(end - begin) + 1);
	der = malloc((size_t)(end - begin));
	if (!b64 || !der) {
		free(b64);
		free(der);
		return NULL;
	}
	for (const char *p = begin; p < end; p++) {
		if (*p != '\n' && *p != '\r' && *p != ' ')
			b64[n++] = *p;
	}
	b64[n] = '\0';
	while (n > (size_t)pad && b64[n - 1 - (size_t)pad] == '=')
		pad++;
	len = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)n);
	free(b64);
	if (len < pad) {
		free(der);
		return NULL;
	}
	*der_len = (size_t)(len - pad);
	return der;
}

static void sha256_hex(const unsigned char *bytes, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int md_len = 0;

	CU_ASSERT_EQUAL_FATAL(EVP_Digest(bytes, len, md, &md_len, EVP_sha256(), NULL), 1);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Every fixture certificate with its serial as the script assigns it (openssl ca serial files
 * 1000, 2000, 3000; `openssl x509 -serial` prints these, uppercase). */
static const struct {
	const char *path;
	const char *openssl_serial;
} fixture_certs[] = {
    {"cas/ca1.pem", "1000"},
    {"cas/ca2.pem", "2000"},
    {"other/impostor-ca.pem", "1000"},
    {"other/unknown-ca.pem", "3000"},
    {"devices/good.pem", "1001"},
    {"devices/revoked.pem", "1002"},
    {"devices/expired.pem", "1006"},
    {"devices/notyet.pem", "1007"},
    {"devices/cadevice.pem", "1008"},
    {"devices/nocn.pem", "1009"},
    {"devices/twocn.pem", "100A"},
    {"devices/cn-star.pem", "100B"},
    {"devices/noext.pem", "1010"},
    {"devices/cn-utf8.pem", "1011"},
    {"devices/cn-control.pem", "1012"},
    {"devices/good2.pem", "2001"},
    {"devices/wrongsigner.pem", "3001"},
    {"devices/impostor.pem", "1001"},
};
#define N_FIXTURE_CERTS (sizeof(fixture_certs) / sizeof(fixture_certs[0]))

static void test_id_is_sha256_of_der(void)
{
	for (size_t i = 0; i < N_FIXTURE_CERTS; i++) {
		size_t len = 0, der_len = 0;
		char *pem = tsupport_read_fixture(fixture_certs[i].path, &len);
		unsigned char *der = pem ? pem_body_der(pem, &der_len) : NULL;
		struct jitrd_cert *cert = NULL;
		char expected[65];

		CU_ASSERT_PTR_NOT_NULL_FATAL(der);
		sha256_hex(der, der_len, expected);
		CU_ASSERT_EQUAL(jitrd_cert_from_pem(pem, len, &cert, NULL), JITRD_OK);
		CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
		CU_ASSERT_STRING_EQUAL(jitrd_cert_id(cert), expected);
		CU_ASSERT_EQUAL(strlen(jitrd_cert_id(cert)), 64);
		jitrd_cert_free(cert);

		/* The same certificate as DER has the same id. */
		CU_ASSERT_EQUAL(jitrd_cert_from_der(der, der_len, &cert, NULL), JITRD_OK);
		CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
		CU_ASSERT_STRING_EQUAL(jitrd_cert_id(cert), expected);
		jitrd_cert_free(cert);
		free(der);
		free(pem);
	}
}

/* openssl's serial (i2a_ASN1_INTEGER, as `openssl x509 -serial`), normalised: lowercase,
 * leading zero nibbles dropped. */
static void normalise_serial(const char *in, char *out, size_t out_size)
{
	size_t o = 0;

	while (in[0] == '0' && in[1] != '\0')
		in++;
	for (; *in && o + 1 < out_size; in++)
		out[o++] = (char)((*in >= 'A' && *in <= 'F') ? *in - 'A' + 'a' : *in);
	out[o] = '\0';
}

static void test_serial_hex(void)
{
	for (size_t i = 0; i < N_FIXTURE_CERTS; i++) {
		struct jitrd_cert *cert = load(fixture_certs[i].path);
		char expected[64], printed[64], normalised[64];
		BIO *mem = BIO_new(BIO_s_mem());
		int n;

		CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
		CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
		normalise_serial(fixture_certs[i].openssl_serial, expected, sizeof(expected));
		CU_ASSERT_STRING_EQUAL(jitrd_cert_serial_hex(cert), expected);
		/* And against OpenSSL's own printer of the same INTEGER. */
		CU_ASSERT(i2a_ASN1_INTEGER(mem, jitrd_cert_serial(cert)) > 0);
		n = BIO_read(mem, printed, (int)sizeof(printed) - 1);
		CU_ASSERT(n > 0);
		printed[n > 0 ? n : 0] = '\0';
		normalise_serial(printed, normalised, sizeof(normalised));
		CU_ASSERT_STRING_EQUAL(jitrd_cert_serial_hex(cert), normalised);
		BIO_free(mem);
		jitrd_cert_free(cert);
	}
}

struct field_case {
	const char *path;
	enum jitrd_subject_field field;
	enum jitrd_err err;
	const char *value; /* when err == JITRD_OK */
};

static const struct field_case field_cases[] = {
    {"devices/good.pem", JITRD_SUBJECT_CN, JITRD_OK, "device-good"},
    {"devices/good.pem", JITRD_SUBJECT_O, JITRD_OK, "Example Corp"},
    {"devices/good.pem", JITRD_SUBJECT_OU, JITRD_OK, "Sensors"},
    {"devices/good.pem", JITRD_SUBJECT_C, JITRD_OK, "US"},
    {"devices/good.pem", JITRD_SUBJECT_ST, JITRD_OK, "WA"},
    {"devices/good.pem", JITRD_SUBJECT_L, JITRD_OK, "Seattle"},
    {"devices/good.pem", JITRD_SUBJECT_SERIAL_NUMBER, JITRD_OK, "SN-0001"},
    {"devices/nocn.pem", JITRD_SUBJECT_CN, JITRD_ERR_FIELD_ABSENT, NULL},
    {"devices/nocn.pem", JITRD_SUBJECT_OU, JITRD_OK, "No Common Name"},
    {"devices/nocn.pem", JITRD_SUBJECT_SERIAL_NUMBER, JITRD_ERR_FIELD_ABSENT, NULL},
    {"devices/twocn.pem", JITRD_SUBJECT_CN, JITRD_ERR_FIELD_AMBIGUOUS, NULL},
    {"devices/twocn.pem", JITRD_SUBJECT_O, JITRD_OK, "Example Corp"},
    {"devices/cn-utf8.pem", JITRD_SUBJECT_CN, JITRD_OK, "capteur-\xc3\xa9t\xc3\xa9"},
    {"devices/cn-control.pem", JITRD_SUBJECT_CN, JITRD_OK, "dev\tice"},
    {"devices/cn-star.pem", JITRD_SUBJECT_CN, JITRD_OK, "*"},
    {"devices/cn-iotvar.pem", JITRD_SUBJECT_CN, JITRD_OK, "${iot:ClientId}"},
    {"devices/cn-question.pem", JITRD_SUBJECT_CN, JITRD_OK, "dev?ce"},
    {"cas/ca1.pem", JITRD_SUBJECT_CN, JITRD_OK, "Example Device CA"},
    {"cas/ca1.pem", JITRD_SUBJECT_L, JITRD_ERR_FIELD_ABSENT, NULL},
};

static void test_subject_fields(void)
{
	for (size_t i = 0; i < sizeof(field_cases) / sizeof(field_cases[0]); i++) {
		const struct field_case *c = &field_cases[i];
		struct jitrd_cert *cert = load(c->path);
		const char *value = UNTOUCHED;
		enum jitrd_err err;

		CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
		err = jitrd_cert_subject_field(cert, c->field, &value);
		CU_ASSERT_EQUAL(err, c->err);
		if (err != c->err)
			fprintf(stderr, "case %zu (%s %s): got %d\n", i, c->path,
			        jitrd_subject_field_name(c->field), err);
		if (c->err == JITRD_OK) {
			CU_ASSERT_PTR_NOT_EQUAL_FATAL(value, UNTOUCHED);
			CU_ASSERT_STRING_EQUAL(value, c->value);
		} else {
			CU_ASSERT_PTR_EQUAL(value, UNTOUCHED);
		}
		jitrd_cert_free(cert);
	}
}

static void test_field_names(void)
{
	static const char *const names[JITRD_SUBJECT_FIELD_COUNT] = {"CN", "O", "OU",          "C",
	                                                             "ST", "L", "serialNumber"};
	struct jitrd_cert *cert = load("devices/good.pem");
	const char *value = UNTOUCHED;

	for (int f = 0; f < JITRD_SUBJECT_FIELD_COUNT; f++)
		CU_ASSERT_STRING_EQUAL(jitrd_subject_field_name((enum jitrd_subject_field)f),
		                       names[f]);
	CU_ASSERT_STRING_EQUAL(jitrd_subject_field_name(JITRD_SUBJECT_FIELD_COUNT), "?");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
	CU_ASSERT_EQUAL(jitrd_cert_subject_field(cert, JITRD_SUBJECT_FIELD_COUNT, &value),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_cert_subject_field(cert, (enum jitrd_subject_field) - 1, &value),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_PTR_EQUAL(value, UNTOUCHED);
	jitrd_cert_free(cert);
}

static void test_signed_by(void)
{
	static const struct {
		const char *device;
		const char *ca;
		enum jitrd_err err;
	} cases[] = {
	    {"devices/good.pem", "cas/ca1.pem", JITRD_OK},
	    {"devices/good.pem", "cas/ca2.pem", JITRD_ERR_CERT_SIGNATURE},
	    {"devices/good2.pem", "cas/ca2.pem", JITRD_OK},
	    {"devices/good2.pem", "cas/ca1.pem", JITRD_ERR_CERT_SIGNATURE},
	    /* Same issuer name as ca1, another key: the name check passes, the signature not. */
	    {"devices/impostor.pem", "cas/ca1.pem", JITRD_ERR_CERT_SIGNATURE},
	    {"devices/impostor.pem", "other/impostor-ca.pem", JITRD_OK},
	    {"devices/good.pem", "other/impostor-ca.pem", JITRD_ERR_CERT_SIGNATURE},
	    {"devices/wrongsigner.pem", "cas/ca1.pem", JITRD_ERR_CERT_SIGNATURE},
	    {"devices/wrongsigner.pem", "other/unknown-ca.pem", JITRD_OK},
	    {"devices/expired.pem", "cas/ca1.pem", JITRD_OK},
	    {"cas/ca1.pem", "cas/ca1.pem", JITRD_OK}, /* self-signed */
	    {"devices/good.pem", "devices/good.pem", JITRD_ERR_CERT_SIGNATURE},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_cert *cert = load(cases[i].device);
		struct jitrd_cert *ca = load(cases[i].ca);

		CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
		CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
		CU_ASSERT_EQUAL(jitrd_cert_verify_signed_by(cert, ca), cases[i].err);
		CU_ASSERT_EQUAL(ERR_peek_error(), 0); /* failures leave nothing queued */
		jitrd_cert_free(cert);
		jitrd_cert_free(ca);
	}
}

/* What path validation does not check: not a CA, fit for a TLS client (keyUsage, EKU).
 * Signature, validity and critical extensions are the verifier's (test_caset, test_decision). */
static void test_device_profile(void)
{
	static const struct {
		const char *device;
		enum jitrd_err err;
		const char *diag; /* prefix */
	} cases[] = {
	    {"devices/good.pem", JITRD_OK, "unchanged"},
	    {"devices/noext.pem", JITRD_OK, "unchanged"},
	    {"devices/any-eku.pem", JITRD_OK, "unchanged"},
	    {"devices/nokid.pem", JITRD_OK, "unchanged"},
	    /* expired, or signed by someone else: not this check's business */
	    {"devices/expired.pem", JITRD_OK, "unchanged"},
	    {"devices/wrongsigner.pem", JITRD_OK, "unchanged"},
	    {"devices/critical-ext.pem", JITRD_OK, "unchanged"},
	    {"devices/cadevice.pem", JITRD_ERR_CERT_IS_CA,
	     "certificate is a CA certificate (basicConstraints CA:TRUE)"},
	    {"cas/ca1.pem", JITRD_ERR_CERT_IS_CA, "certificate is a CA certificate"},
	    {"devices/server-eku.pem", JITRD_ERR_BAD_FIELD,
	     "certificate is not a device (client) certificate: its extendedKeyUsage lacks "
	     "clientAuth"},
	    {"devices/keyenc-only.pem", JITRD_ERR_BAD_FIELD,
	     "certificate is not a device (client) certificate: its keyUsage lacks "
	     "digitalSignature"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_cert *cert = load(cases[i].device);
		struct jitrd_diag diag = {"unchanged"};
		enum jitrd_err err;

		CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
		err = jitrd_cert_check_device_profile(cert, &diag);
		CU_ASSERT_EQUAL(err, cases[i].err);
		CU_ASSERT_EQUAL(strncmp(diag.text, cases[i].diag, strlen(cases[i].diag)), 0);
		if (err != cases[i].err || strncmp(diag.text, cases[i].diag, strlen(cases[i].diag)))
			fprintf(stderr, "case %zu: %d '%s'\n", i, err, diag.text);
		CU_ASSERT_EQUAL(ERR_peek_error(), 0);
		/* A NULL diag is fine. */
		CU_ASSERT_EQUAL(jitrd_cert_check_device_profile(cert, NULL), cases[i].err);
		CU_ASSERT_EQUAL(jitrd_cert_may_sign_certificates(cert),
		                cases[i].err == JITRD_ERR_CERT_IS_CA);
		jitrd_cert_free(cert);
	}
}

/* A NULL certificate is refused with a reason in an uninitialised diag. */
static void test_device_profile_arguments(void)
{
	struct jitrd_diag diag;

	memset(&diag, 0x55, sizeof(diag));
	CU_ASSERT_EQUAL(jitrd_cert_check_device_profile(NULL, &diag), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(memchr(diag.text, '\0', sizeof(diag.text)));
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "no certificate"));
	CU_ASSERT_EQUAL(jitrd_cert_check_device_profile(NULL, NULL), JITRD_ERR_INVALID_ARG);
}

static void test_ca_flag_and_key_ids(void)
{
	struct jitrd_cert *ca1 = load("cas/ca1.pem");
	struct jitrd_cert *impostor_ca = load("other/impostor-ca.pem");
	struct jitrd_cert *good = load("devices/good.pem");
	struct jitrd_cert *noext = load("devices/noext.pem");
	struct jitrd_cert *cadevice = load("devices/cadevice.pem");
	const unsigned char *skid, *akid, *other;
	size_t skid_len = 99, akid_len = 99, other_len = 99;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ca1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(impostor_ca);
	CU_ASSERT_PTR_NOT_NULL_FATAL(good);
	CU_ASSERT_PTR_NOT_NULL_FATAL(noext);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cadevice);
	CU_ASSERT_TRUE(jitrd_cert_is_ca(ca1));
	CU_ASSERT_TRUE(jitrd_cert_is_ca(cadevice));
	CU_ASSERT_FALSE(jitrd_cert_is_ca(good));
	CU_ASSERT_FALSE(jitrd_cert_is_ca(noext));

	skid = jitrd_cert_subject_key_id(ca1, &skid_len);
	akid = jitrd_cert_authority_key_id(good, &akid_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(skid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(akid);
	CU_ASSERT_EQUAL(skid_len, 20); /* subjectKeyIdentifier = hash: SHA-1 */
	CU_ASSERT_EQUAL(akid_len, skid_len);
	CU_ASSERT_EQUAL(memcmp(skid, akid, skid_len), 0);
	other = jitrd_cert_subject_key_id(impostor_ca, &other_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(other);
	CU_ASSERT_EQUAL(other_len, skid_len);
	CU_ASSERT_NOT_EQUAL(memcmp(skid, other, skid_len), 0);

	CU_ASSERT_EQUAL(X509_NAME_cmp(jitrd_cert_issuer(good), jitrd_cert_subject(ca1)), 0);
	CU_ASSERT_PTR_EQUAL(jitrd_cert_subject(good), X509_get_subject_name(jitrd_cert_x509(good)));
	jitrd_cert_free(ca1);
	jitrd_cert_free(impostor_ca);
	jitrd_cert_free(good);
	jitrd_cert_free(noext);
	jitrd_cert_free(cadevice);
}

/* Every way of not being a certificate: MALFORMED (or TOO_LARGE), *out untouched, no OpenSSL
 * error left queued, and a reason in diag. */
static void expect_pem_error(const char *what, const char *pem, size_t len, enum jitrd_err want)
{
	struct jitrd_cert *cert = UNTOUCHED;
	struct jitrd_diag diag = {""};
	enum jitrd_err err = jitrd_cert_from_pem(pem, len, &cert, &diag);

	CU_ASSERT_EQUAL(err, want);
	if (err != want)
		fprintf(stderr, "%s: got %d (%s)\n", what, err, diag.text);
	CU_ASSERT_PTR_EQUAL(cert, UNTOUCHED);
	CU_ASSERT_NOT_EQUAL(diag.text[0], '\0');
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	if (err == JITRD_OK && cert != UNTOUCHED)
		jitrd_cert_free(cert);
}

static void expect_der_error(const char *what, const unsigned char *der, size_t len,
                             enum jitrd_err want)
{
	struct jitrd_cert *cert = UNTOUCHED;
	struct jitrd_diag diag = {""};
	enum jitrd_err err = jitrd_cert_from_der(der, len, &cert, &diag);

	CU_ASSERT_EQUAL(err, want);
	if (err != want)
		fprintf(stderr, "%s: got %d (%s)\n", what, err, diag.text);
	CU_ASSERT_PTR_EQUAL(cert, UNTOUCHED);
	CU_ASSERT_NOT_EQUAL(diag.text[0], '\0');
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	if (err == JITRD_OK && cert != UNTOUCHED)
		jitrd_cert_free(cert);
}

static void test_garbage_files(void)
{
	static const char *const files[] = {
	    "garbage/text.pem",
	    "garbage/random.bin",
	    "garbage/empty.pem",
	    "garbage/truncated-cert.pem",
	    "garbage/corrupt-cert.pem",
	    "crl-cases/ca1-valid.pem",
	    "keys/ca1.key",
	    "crl-cases/ca2-valid.der",
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t len = 0;
		char *bytes = tsupport_read_fixture(files[i], &len);

		CU_ASSERT_PTR_NOT_NULL_FATAL(bytes);
		expect_pem_error(files[i], bytes, len, JITRD_ERR_MALFORMED);
		if (len > 0)
			expect_der_error(files[i], (const unsigned char *)bytes, len,
			                 JITRD_ERR_MALFORMED);
		free(bytes);
	}
}

static void test_hostile_pem(void)
{
	size_t len = 0, der_len = 0;
	char *good = tsupport_read_fixture("devices/good.pem", &len);
	unsigned char *der;
	char *big;
	BIO *mem;
	char *pem_text;
	long pem_len;

	CU_ASSERT_PTR_NOT_NULL_FATAL(good);
	/* Truncated anywhere: before END, inside the base64, at the header. */
	for (size_t cut = 0; cut < len - 1; cut += 37)
		expect_pem_error("truncated", good, cut, JITRD_ERR_MALFORMED);
	expect_pem_error("no END line", good, len - strlen("-----END CERTIFICATE-----\n"),
	                 JITRD_ERR_MALFORMED);
	expect_pem_error("NULL", NULL, 10, JITRD_ERR_INVALID_ARG);

	/* 70 KB: refused by size before parsing, even though it starts with a good cert. */
	big = malloc(70 * 1024);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, '\n', 70 * 1024);
	memcpy(big, good, len);
	expect_pem_error("70 KB", big, 70 * 1024, JITRD_ERR_TOO_LARGE);
	expect_pem_error("one over", big, JITRD_CERT_MAX_PEM + 1, JITRD_ERR_TOO_LARGE);
	expect_der_error("70 KB DER", (const unsigned char *)big, 70 * 1024, JITRD_ERR_TOO_LARGE);
	{
		/* Exactly at the maximum is fine. */
		struct jitrd_cert *cert = NULL;
		CU_ASSERT_EQUAL(jitrd_cert_from_pem(big, JITRD_CERT_MAX_PEM, &cert, NULL),
		                JITRD_OK);
		CU_ASSERT_PTR_NOT_NULL(cert);
		jitrd_cert_free(cert);
	}
	free(big);

	/* A CERTIFICATE block whose DER has bytes after the certificate. */
	der = pem_body_der(good, &der_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	{
		unsigned char *longer = malloc(der_len + 2);
		CU_ASSERT_PTR_NOT_NULL_FATAL(longer);
		memcpy(longer, der, der_len);
		longer[der_len] = 0x05;
		longer[der_len + 1] = 0x00;
		mem = BIO_new(BIO_s_mem());
		CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
		CU_ASSERT(PEM_write_bio(mem, "CERTIFICATE", "", longer, (long)der_len + 2) > 0);
		pem_len = BIO_get_mem_data(mem, &pem_text);
		expect_pem_error("trailing DER in block", pem_text, (size_t)pem_len,
		                 JITRD_ERR_MALFORMED);
		expect_der_error("trailing DER", longer, der_len + 2, JITRD_ERR_MALFORMED);
		expect_der_error("truncated DER", der, der_len - 1, JITRD_ERR_MALFORMED);
		expect_der_error("empty DER", der, 0, JITRD_ERR_MALFORMED);
		expect_der_error("NULL DER", NULL, 0, JITRD_ERR_INVALID_ARG);
		BIO_free(mem);
		free(longer);
	}

	/* An "encrypted" block: we have no password; OpenSSL must not prompt for one. */
	mem = BIO_new(BIO_s_mem());
	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	CU_ASSERT(PEM_write_bio(mem, "CERTIFICATE",
	                        "Proc-Type: 4,ENCRYPTED\n"
	                        "DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n",
	                        der, (long)der_len) > 0);
	pem_len = BIO_get_mem_data(mem, &pem_text);
	expect_pem_error("encrypted block", pem_text, (size_t)pem_len, JITRD_ERR_MALFORMED);
	BIO_free(mem);

	/* A block of another type only. */
	mem = BIO_new(BIO_s_mem());
	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	CU_ASSERT(PEM_write_bio(mem, "X509 CRL", "", der, (long)der_len) > 0);
	pem_len = BIO_get_mem_data(mem, &pem_text);
	expect_pem_error("CRL label", pem_text, (size_t)pem_len, JITRD_ERR_MALFORMED);
	BIO_free(mem);

	free(der);
	free(good);
}

/* Two certificates in one buffer: the first is taken; blocks of other types before it are
 * skipped. */
static void test_pem_first_certificate(void)
{
	size_t good_len = 0, ca_len = 0, key_len = 0;
	char *good = tsupport_read_fixture("devices/good.pem", &good_len);
	char *ca = tsupport_read_fixture("cas/ca1.pem", &ca_len);
	char *key = tsupport_read_fixture("keys/ca1.key", &key_len);
	struct jitrd_cert *expected_good = load("devices/good.pem");
	struct jitrd_cert *expected_ca = load("cas/ca1.pem");
	char *both;
	struct jitrd_cert *cert = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(good);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
	CU_ASSERT_PTR_NOT_NULL_FATAL(key);
	CU_ASSERT_PTR_NOT_NULL_FATAL(expected_good);
	CU_ASSERT_PTR_NOT_NULL_FATAL(expected_ca);
	both = malloc(good_len + ca_len + key_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(both);

	memcpy(both, good, good_len);
	memcpy(both + good_len, ca, ca_len);
	CU_ASSERT_EQUAL(jitrd_cert_from_pem(both, good_len + ca_len, &cert, NULL), JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
	CU_ASSERT_STRING_EQUAL(jitrd_cert_id(cert), jitrd_cert_id(expected_good));
	jitrd_cert_free(cert);
	cert = NULL;

	memcpy(both, ca, ca_len);
	memcpy(both + ca_len, good, good_len);
	CU_ASSERT_EQUAL(jitrd_cert_from_pem(both, good_len + ca_len, &cert, NULL), JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
	CU_ASSERT_STRING_EQUAL(jitrd_cert_id(cert), jitrd_cert_id(expected_ca));
	jitrd_cert_free(cert);
	cert = NULL;

	memcpy(both, key, key_len);
	memcpy(both + key_len, good, good_len);
	CU_ASSERT_EQUAL(jitrd_cert_from_pem(both, key_len + good_len, &cert, NULL), JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
	CU_ASSERT_STRING_EQUAL(jitrd_cert_id(cert), jitrd_cert_id(expected_good));
	jitrd_cert_free(cert);

	/* Not NUL-terminated: the buffer ends exactly at the END line. */
	cert = NULL;
	memcpy(both, good, good_len);
	memset(both + good_len, 'A', ca_len);
	CU_ASSERT_EQUAL(jitrd_cert_from_pem(both, good_len, &cert, NULL), JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL(cert);
	jitrd_cert_free(cert);

	free(both);
	free(good);
	free(ca);
	free(key);
	jitrd_cert_free(expected_good);
	jitrd_cert_free(expected_ca);
}

/* A certificate built in memory: fields the CLI cannot put in a certificate. */
struct built_spec {
	long serial;
	int version;    /* 2 = v3, 0 = v1 */
	bool ca;        /* basicConstraints CA:TRUE */
	bool dup_ext;   /* basicConstraints twice: an invalid certificate */
	int cn_type;    /* V_ASN1_UTF8STRING etc.; 0 = no CN */
	const char *cn; /* raw bytes of the string */
	int cn_len;
};

static X509 *build(const struct built_spec *spec)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	ASN1_INTEGER *serial = ASN1_INTEGER_new();
	bool ok = key && x && name && serial;

	ok = ok && ASN1_INTEGER_set(serial, spec->serial) == 1;
	ok = ok && X509_set_version(x, spec->version) == 1;
	ok = ok && X509_set_serialNumber(x, serial) == 1;
	ok = ok && X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_ASC,
	                                      (const unsigned char *)"Built", -1, -1, 0) == 1;
	if (spec->cn_type)
		ok = ok && X509_NAME_add_entry_by_NID(name, NID_commonName, spec->cn_type,
		                                      (const unsigned char *)spec->cn, spec->cn_len,
		                                      -1, 0) == 1;
	ok = ok && X509_set_subject_name(x, name) == 1 && X509_set_issuer_name(x, name) == 1;
	ok = ok && ASN1_TIME_set_string_X509(X509_getm_notBefore(x), "20250101000000Z") == 1;
	ok = ok && ASN1_TIME_set_string_X509(X509_getm_notAfter(x), "20450101000000Z") == 1;
	ok = ok && X509_set_pubkey(x, key) == 1;
	for (int i = 0; ok && i < (spec->dup_ext ? 2 : spec->ca ? 1 : 0); i++) {
		X509_EXTENSION *ext =
		    X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, "critical,CA:TRUE");
		ok = ext && X509_add_ext(x, ext, -1) == 1;
		X509_EXTENSION_free(ext);
	}
	ok = ok && X509_sign(x, key, EVP_sha256()) > 0;
	ASN1_INTEGER_free(serial);
	X509_NAME_free(name);
	EVP_PKEY_free(key);
	if (!ok) {
		X509_free(x);
		ERR_clear_error();
		return NULL;
	}
	return x;
}

static void test_built_certificates(void)
{
	static const struct {
		const char *what;
		struct built_spec spec;
		enum jitrd_err make_err;
		enum jitrd_err cn_err;
		const char *cn;
		const char *serial;
	} cases[] = {
	    {"zero serial",
	     {0, 2, false, false, V_ASN1_UTF8STRING, "z", 1},
	     JITRD_OK,
	     JITRD_OK,
	     "z",
	     "0"},
	    {"serial 0x0a",
	     {10, 2, false, false, V_ASN1_UTF8STRING, "a", 1},
	     JITRD_OK,
	     JITRD_OK,
	     "a",
	     "a"},
	    {"negative serial",
	     {-5, 2, false, false, V_ASN1_UTF8STRING, "n", 1},
	     JITRD_ERR_MALFORMED,
	     0,
	     NULL,
	     NULL},
	    {"duplicate extension",
	     {1, 2, true, true, V_ASN1_UTF8STRING, "d", 1},
	     JITRD_ERR_MALFORMED,
	     0,
	     NULL,
	     NULL},
	    {"NUL in CN",
	     {1, 2, false, false, V_ASN1_UTF8STRING, "a\0b", 3},
	     JITRD_OK,
	     JITRD_ERR_BAD_FIELD,
	     NULL,
	     "1"},
	    {"4-byte UTF-8",
	     {1, 2, false, false, V_ASN1_UTF8STRING, "\xf0\x9f\x94\x91", 4},
	     JITRD_OK,
	     JITRD_OK,
	     "\xf0\x9f\x94\x91",
	     "1"},
	    {"BMPString",
	     {1, 2, false, false, V_ASN1_BMPSTRING, "\0A\0\xe9", 4},
	     JITRD_OK,
	     JITRD_OK,
	     "A\xc3\xa9",
	     "1"},
	    {"T61String (Latin-1)",
	     {1, 2, false, false, V_ASN1_T61STRING, "\xe9", 1},
	     JITRD_OK,
	     JITRD_OK,
	     "\xc3\xa9",
	     "1"},
	    {"no CN",
	     {0x7fffffff, 2, false, false, 0, NULL, 0},
	     JITRD_OK,
	     JITRD_ERR_FIELD_ABSENT,
	     NULL,
	     "7fffffff"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		X509 *x = build(&cases[i].spec);
		struct jitrd_cert *cert = UNTOUCHED;
		struct jitrd_diag diag = {""};
		const char *cn = UNTOUCHED;
		enum jitrd_err err;

		CU_ASSERT_PTR_NOT_NULL_FATAL(x);
		err = jitrd_cert_from_x509(x, &cert, &diag);
		X509_free(x); /* the cert keeps its own reference */
		CU_ASSERT_EQUAL(err, cases[i].make_err);
		if (err != cases[i].make_err)
			fprintf(stderr, "%s: made %d (%s)\n", cases[i].what, err, diag.text);
		CU_ASSERT_EQUAL(ERR_peek_error(), 0);
		if (cases[i].make_err != JITRD_OK) {
			CU_ASSERT_PTR_EQUAL(cert, UNTOUCHED);
			CU_ASSERT_NOT_EQUAL(diag.text[0], '\0');
			if (err == JITRD_OK && cert != UNTOUCHED)
				jitrd_cert_free(cert);
			continue;
		}
		if (err != JITRD_OK)
			continue;
		CU_ASSERT_STRING_EQUAL(jitrd_cert_serial_hex(cert), cases[i].serial);
		{
			/* No extensions at all: no key ids. */
			size_t kid_len = 99;
			CU_ASSERT_PTR_NULL(jitrd_cert_subject_key_id(cert, &kid_len));
			CU_ASSERT_EQUAL(kid_len, 0);
			kid_len = 99;
			CU_ASSERT_PTR_NULL(jitrd_cert_authority_key_id(cert, &kid_len));
			CU_ASSERT_EQUAL(kid_len, 0);
		}
		CU_ASSERT_EQUAL(jitrd_cert_subject_field(cert, JITRD_SUBJECT_CN, &cn),
		                cases[i].cn_err);
		if (cases[i].cn_err == JITRD_OK) {
			CU_ASSERT_STRING_EQUAL(cn, cases[i].cn);
		} else {
			CU_ASSERT_PTR_EQUAL(cn, UNTOUCHED);
		}
		jitrd_cert_free(cert);
	}
}

/* OpenSSL will not encode a name holding invalid UTF-8, so such certificates are made by
 * patching the DER of a built one: its CN "abc" (UTF8String) becomes the hostile bytes. The
 * signature no longer matches, which does not matter for parsing. Either OpenSSL's decoder
 * refuses the name (MALFORMED) or the CN reads BAD_FIELD: never a value. */
static void test_patched_names(void)
{
	static const struct {
		const char *what;
		const char bytes[4];
	} cases[] = {
	    {"0xff byte", "a\xff"
	                  "b"},
	    {"overlong '/'", "\xc0\xaf"
	                     "b"},
	    {"surrogate", "\xed\xa0\x80"},
	    {"truncated sequence", "ab\xc3"},
	    {"above U+10FFFF", "\xf4\x90"
	                       "a"},
	    {"NUL", "a\0b"},
	};
	struct built_spec spec = {1, 2, false, false, V_ASN1_UTF8STRING, "abc", 3};
	X509 *x = build(&spec);
	unsigned char *der = NULL;
	int der_len;

	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	der_len = i2d_X509(x, &der);
	X509_free(x);
	CU_ASSERT_FATAL(der_len > 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char *patched = malloc((size_t)der_len);
		struct jitrd_cert *cert = NULL;
		const char *cn = UNTOUCHED;
		unsigned hits = 0;
		enum jitrd_err err;

		CU_ASSERT_PTR_NOT_NULL_FATAL(patched);
		memcpy(patched, der, (size_t)der_len);
		for (int k = 0; k + 5 <= der_len; k++) {
			if (memcmp(patched + k,
			           "\x0c\x03"
			           "abc",
			           5) == 0) {
				memcpy(patched + k + 2, cases[i].bytes, 3);
				hits++;
			}
		}
		CU_ASSERT_EQUAL(hits, 2); /* subject and issuer */
		err = jitrd_cert_from_der(patched, (size_t)der_len, &cert, NULL);
		CU_ASSERT(err == JITRD_OK || err == JITRD_ERR_MALFORMED);
		CU_ASSERT_EQUAL(ERR_peek_error(), 0);
		if (err == JITRD_OK) {
			CU_ASSERT_EQUAL(jitrd_cert_subject_field(cert, JITRD_SUBJECT_CN, &cn),
			                JITRD_ERR_BAD_FIELD);
			CU_ASSERT_PTR_EQUAL(cn, UNTOUCHED);
			CU_ASSERT_EQUAL(jitrd_cert_subject_field(cert, JITRD_SUBJECT_O, &cn),
			                JITRD_OK);
			jitrd_cert_free(cert);
		}
		if (getenv("JITRD_TEST_VERBOSE"))
			fprintf(stderr, "%s: %s\n", cases[i].what,
			        err == JITRD_OK ? "parsed, CN bad field" : "refused by OpenSSL");
		free(patched);
	}
	OPENSSL_free(der);
}

/* A self-signed v1 certificate without extensions can sign certificates as far as OpenSSL
 * is concerned (X509_check_ca == 3): as a device it is refused like a CA. */
static void test_v1_self_signed_device(void)
{
	struct built_spec spec = {7, 0, false, false, V_ASN1_UTF8STRING, "v1", 2};
	X509 *x = build(&spec);
	struct jitrd_cert *cert = NULL;
	struct jitrd_diag diag = {""};

	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(jitrd_cert_from_x509(x, &cert, NULL), JITRD_OK);
	X509_free(x);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
	CU_ASSERT_FALSE(jitrd_cert_is_ca(cert));
	CU_ASSERT_EQUAL(jitrd_cert_check_device_profile(cert, &diag), JITRD_ERR_CERT_IS_CA);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "v1 self-signed"));
	jitrd_cert_free(cert);
	jitrd_cert_free(NULL);
	CU_ASSERT_EQUAL(jitrd_cert_from_x509(NULL, &cert, NULL), JITRD_ERR_INVALID_ARG);
}

/* Parse and check every fixture many times: under ASan any leak on any path fails the run. */
static void test_many_times(void)
{
	static const char *const paths[] = {
	    "devices/good.pem",           "devices/twocn.pem",    "devices/cn-utf8.pem",
	    "devices/expired.pem",        "devices/impostor.pem", "garbage/corrupt-cert.pem",
	    "garbage/truncated-cert.pem",
	};
	/* the profile check's answer for each, or MALFORMED where parsing already fails */
	static const enum jitrd_err expected[] = {
	    JITRD_OK,
	    JITRD_OK,
	    JITRD_OK,
	    JITRD_OK,
	    JITRD_OK,
	    JITRD_ERR_MALFORMED,
	    JITRD_ERR_MALFORMED,
	};
	char *bytes[sizeof(paths) / sizeof(paths[0])];
	size_t lens[sizeof(paths) / sizeof(paths[0])];
	struct jitrd_cert *ca1 = load("cas/ca1.pem");
	unsigned wrong = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ca1);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		bytes[i] = tsupport_read_fixture(paths[i], &lens[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(bytes[i]);
	}
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			struct jitrd_cert *cert = NULL;
			struct jitrd_diag diag;
			enum jitrd_err err = jitrd_cert_from_pem(bytes[i], lens[i], &cert, &diag);

			if (err == JITRD_OK) {
				err = jitrd_cert_check_device_profile(cert, &diag);
				jitrd_cert_free(cert);
			}
			if (err != expected[i])
				wrong++;
		}
	}
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		free(bytes[i]);
	jitrd_cert_free(ca1);
}

/* Each OpenSSL allocation of a parse made to fail in turn: the result is OK, NOMEM or (when
 * OpenSSL reports the failure as a decoding error) MALFORMED/CRYPTO — never a crash or leak,
 * never an output on failure — and once enough allocations succeed, OK with the right id. */
static void test_allocation_failures(void)
{
	size_t len = 0;
	char *pem = tsupport_read_fixture("devices/good.pem", &len);
	struct jitrd_cert *reference = load("devices/good.pem");
	bool reached_ok = false;
	unsigned nomem = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
	CU_ASSERT_PTR_NOT_NULL_FATAL(reference);
	for (long n = 0; n < 2000 && !reached_ok; n++) {
		struct jitrd_cert *cert = UNTOUCHED;
		struct jitrd_diag diag;
		enum jitrd_err err;

		/* as a caller's uninitialised diag: every error must write it */
		memset(&diag, 0x55, sizeof(diag));
		alloc_fail_after = n;
		err = jitrd_cert_from_pem(pem, len, &cert, &diag);
		alloc_fail_after = -1;
		if (err != JITRD_OK) {
			CU_ASSERT_PTR_NOT_NULL(memchr(diag.text, '\0', sizeof(diag.text)));
			CU_ASSERT_NOT_EQUAL(diag.text[0], 0x55);
			CU_ASSERT_NOT_EQUAL(diag.text[0], '\0');
		}
		if (getenv("JITRD_TEST_VERBOSE"))
			fprintf(stderr, "fail after %ld: %d %s\n", n, err, diag.text);
		CU_ASSERT(err == JITRD_OK || err == JITRD_ERR_NOMEM || err == JITRD_ERR_MALFORMED ||
		          err == JITRD_ERR_CRYPTO);
		if (err != JITRD_OK) {
			CU_ASSERT_PTR_EQUAL(cert, UNTOUCHED);
			nomem += err == JITRD_ERR_NOMEM;
			continue;
		}
		CU_ASSERT_STRING_EQUAL(jitrd_cert_id(cert), jitrd_cert_id(reference));
		jitrd_cert_free(cert);
		reached_ok = true;
	}
	CU_ASSERT_TRUE(reached_ok);
	/* Most failures are reported as such (some OpenSSL paths hide the cause). */
	CU_ASSERT(nomem > 1000);
	ERR_clear_error();
	free(pem);
	jitrd_cert_free(reference);
}

/* Values collected by a walk: joined by '|' for a one-line comparison. */
struct collected {
	char text[512];
	size_t used;
	int stop_after; /* 0 = never stop */
	int seen;
};

static int collect(void *ctx, const char *value, size_t len)
{
	struct collected *c = ctx;
	int n = snprintf(c->text + c->used, sizeof(c->text) - c->used, "%s%.*s", c->used ? "|" : "",
	                 (int)len, value);

	if (n > 0)
		c->used += (size_t)n;
	return ++c->seen == c->stop_after;
}

/* Every value of a name attribute and every alternative name of a form, as AWS's policy
 * variables see them (issuer and subject, subjectAltName forms, several values in order). */
static void test_name_and_alt_name_values(void)
{
	static const struct {
		const char *device;
		enum jitrd_cert_party party;
		int nid;
		const char *values;
	} names[] = {
	    {"devices/good.pem", JITRD_CERT_SUBJECT, NID_commonName, "device-good"},
	    {"devices/good.pem", JITRD_CERT_ISSUER, NID_commonName, "Example Device CA"},
	    {"devices/good.pem", JITRD_CERT_ISSUER, NID_organizationalUnitName, ""},
	    {"devices/twocn.pem", JITRD_CERT_SUBJECT, NID_commonName, "first|second"},
	    {"devices/ou-second-unsafe.pem", JITRD_CERT_SUBJECT, NID_organizationalUnitName,
	     "good|a/b"},
	    {"devices/san-ok.pem", JITRD_CERT_SUBJECT, NID_title, "Sensor"},
	    {"devices/san-ok.pem", JITRD_CERT_SUBJECT, NID_dnQualifier, "q1"},
	    {"devices/dnq-plus.pem", JITRD_CERT_SUBJECT, NID_dnQualifier, "a+b"},
	    {"devices/cn-utf8.pem", JITRD_CERT_SUBJECT, NID_commonName,
	     "capteur-\xc3\xa9t\xc3\xa9"},
	};
	static const struct {
		const char *device;
		enum jitrd_alt_name_type type;
		const char *values;
	} alts[] = {
	    {"devices/san-ok.pem", JITRD_ALT_DNS_NAME, "device-san.example.com"},
	    {"devices/san-ok.pem", JITRD_ALT_IP_ADDRESS, "192.0.2.7|2001:db8:0:0:0:0:0:7"},
	    {"devices/san-ok.pem", JITRD_ALT_URI, "urn:example:device-san"},
	    {"devices/san-ok.pem", JITRD_ALT_RFC822_NAME, "device-san@example.com"},
	    {"devices/san-ok.pem", JITRD_ALT_DIRECTORY_NAME, "Example Corp,device-san-dir"},
	    {"devices/san-unsafe.pem", JITRD_ALT_DNS_NAME, "*.example.com"},
	    {"devices/san-unsafe.pem", JITRD_ALT_URI, "https://example.com/devices/x"},
	    {"devices/good.pem", JITRD_ALT_DNS_NAME, ""},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct jitrd_cert *cert = load(names[i].device);
		struct collected c = {{0}, 0, 0, 0};
		size_t count = 99;

		CU_ASSERT_EQUAL(
		    jitrd_cert_name_values(cert, names[i].party, names[i].nid, collect, &c, &count),
		    JITRD_OK);
		CU_ASSERT_STRING_EQUAL(c.text, names[i].values);
		CU_ASSERT_EQUAL(count, (size_t)c.seen);
		jitrd_cert_free(cert);
	}
	for (size_t i = 0; i < sizeof(alts) / sizeof(alts[0]); i++) {
		struct jitrd_cert *cert = load(alts[i].device);
		struct collected c = {{0}, 0, 0, 0};
		size_t count = 99;

		CU_ASSERT_EQUAL(jitrd_cert_alt_name_values(cert, JITRD_CERT_SUBJECT, alts[i].type,
		                                           collect, &c, &count),
		                JITRD_OK);
		CU_ASSERT_STRING_EQUAL(c.text, alts[i].values);
		CU_ASSERT_EQUAL(count, (size_t)c.seen);
		/* the fixtures' CAs have no issuerAltName */
		CU_ASSERT_EQUAL(jitrd_cert_alt_name_values(cert, JITRD_CERT_ISSUER, alts[i].type,
		                                           collect, &c, &count),
		                JITRD_OK);
		CU_ASSERT_EQUAL(count, 0);
		jitrd_cert_free(cert);
	}
	/* the walk stops when asked; bad arguments */
	{
		struct jitrd_cert *cert = load("devices/ou-second-unsafe.pem");
		struct collected c = {{0}, 0, 1, 0};
		size_t count = 0;

		CU_ASSERT_EQUAL(jitrd_cert_name_values(cert, JITRD_CERT_SUBJECT,
		                                       NID_organizationalUnitName, collect, &c,
		                                       &count),
		                JITRD_OK);
		CU_ASSERT_EQUAL(count, 1);
		CU_ASSERT_STRING_EQUAL(c.text, "good");
		CU_ASSERT_EQUAL(jitrd_cert_name_values(NULL, JITRD_CERT_SUBJECT, NID_commonName,
		                                       collect, &c, NULL),
		                JITRD_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(jitrd_cert_alt_name_values(cert, JITRD_CERT_SUBJECT,
		                                           (enum jitrd_alt_name_type)99, collect,
		                                           &c, NULL),
		                JITRD_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(jitrd_cert_alt_name_values(cert, JITRD_CERT_SUBJECT,
		                                           JITRD_ALT_DNS_NAME, NULL, &c, NULL),
		                JITRD_ERR_INVALID_ARG);
		jitrd_cert_free(cert);
	}
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"id is SHA-256 of the DER (PEM and DER input)", test_id_is_sha256_of_der},
	    {"serial hex as openssl prints it", test_serial_hex},
	    {"subject fields", test_subject_fields},
	    {"subject field names and bad field numbers", test_field_names},
	    {"signed by ca1 / ca2 / impostor / unknown", test_signed_by},
	    {"device profile: not a CA, fit for a TLS client", test_device_profile},
	    {"device profile arguments", test_device_profile_arguments},
	    {"CA flag and key identifiers", test_ca_flag_and_key_ids},
	    {"garbage files", test_garbage_files},
	    {"hostile PEM and DER", test_hostile_pem},
	    {"first certificate of a buffer", test_pem_first_certificate},
	    {"certificates built in memory", test_built_certificates},
	    {"invalid UTF-8 and NUL in a name", test_patched_names},
	    {"v1 self-signed device is refused as a CA", test_v1_self_signed_device},
	    {"many parses, no leaks", test_many_times},
	    {"allocation failures", test_allocation_failures},
	    {"name and alternative name values", test_name_and_alt_name_values},
	    {NULL, NULL},
	};

	/* Must precede every OpenSSL allocation. */
	if (CRYPTO_set_mem_functions(failing_malloc, failing_realloc, plain_free) != 1) {
		fprintf(stderr, "CRYPTO_set_mem_functions failed\n");
		return 99;
	}
	return tsupport_run("cert", cases);
}
