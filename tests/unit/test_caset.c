/* test_caset.c — unit tests of caset.c with the fixture PKI: loading CA files, finding a CA
 * by AWS id, by a certificate's issuer (name + key id: the impostor must not match) and by a
 * CRL-style name + key id; atomic adds and every way of handing in a bad CA file; path
 * validation of devices (RFC 5280 conformance cases of fixtures/path-validation.sh) and the
 * usability of each CA. */
#include "jitrd/caset.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "testsupport.h"

/* Allocation failure injection for OpenSSL (installed in main before any allocation). */
static long alloc_fail_after = -1; /* -1: never fail */

static bool may_allocate(void)
{
	if (alloc_fail_after == 0)
		return false;
	if (alloc_fail_after > 0)
		alloc_fail_after--;
	return true;
}

static void *failing_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return may_allocate() ? malloc(n) : NULL;
}

static void *failing_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return may_allocate() ? realloc(p, n) : NULL;
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

	if (!pem)
		return NULL;
	CU_ASSERT_EQUAL(jitrd_cert_from_pem(pem, len, &cert, NULL), JITRD_OK);
	free(pem);
	return cert;
}

static enum jitrd_err add_file(struct jitrd_caset *set, const char *relpath,
                               struct jitrd_diag *diag)
{
	size_t len = 0;
	char *pem = tsupport_read_fixture(relpath, &len);
	enum jitrd_err err;

	if (!pem)
		return JITRD_ERR_IO;
	err = jitrd_caset_add_pem(set, relpath, pem, len, diag);
	free(pem);
	return err;
}

/* Concatenation of fixture files (NULL-terminated list). Caller frees. */
static char *concat(size_t *len, const char *first, ...)
{
	const char *paths[8] = {first};
	size_t n = 1, total = 0;
	char *parts[8];
	size_t lens[8];
	char *out;
	va_list ap;

	va_start(ap, first);
	while (n < 8 && (paths[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	for (size_t i = 0; i < n; i++) {
		parts[i] = tsupport_read_fixture(paths[i], &lens[i]);
		total += parts[i] ? lens[i] : 0;
	}
	out = malloc(total + 1);
	total = 0;
	for (size_t i = 0; i < n; i++) {
		if (out && parts[i]) {
			memcpy(out + total, parts[i], lens[i]);
			total += lens[i];
		}
		free(parts[i]);
	}
	if (out)
		out[total] = '\0';
	*len = total;
	return out;
}

/* ca1 + ca2, as the daemon loads ca.dir. */
static struct jitrd_caset *our_cas(void)
{
	struct jitrd_caset *set = jitrd_caset_new();
	struct jitrd_diag diag = {""};

	CU_ASSERT_PTR_NOT_NULL_FATAL(set);
	CU_ASSERT_EQUAL(add_file(set, "cas/ca1.pem", &diag), JITRD_OK);
	CU_ASSERT_EQUAL(add_file(set, "cas/ca2.pem", &diag), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_caset_count(set), 2);
	return set;
}

static void test_load_and_at(void)
{
	struct jitrd_caset *set = our_cas();
	struct jitrd_cert *ca1 = load("cas/ca1.pem");
	struct jitrd_cert *ca2 = load("cas/ca2.pem");

	CU_ASSERT_PTR_NOT_NULL_FATAL(ca1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ca2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(jitrd_caset_at(set, 0));
	CU_ASSERT_PTR_NOT_NULL_FATAL(jitrd_caset_at(set, 1));
	CU_ASSERT_STRING_EQUAL(jitrd_cert_id(jitrd_caset_at(set, 0)), jitrd_cert_id(ca1));
	CU_ASSERT_STRING_EQUAL(jitrd_cert_id(jitrd_caset_at(set, 1)), jitrd_cert_id(ca2));
	CU_ASSERT_STRING_EQUAL(jitrd_caset_origin_at(set, 0), "cas/ca1.pem");
	CU_ASSERT_STRING_EQUAL(jitrd_caset_origin_at(set, 1), "cas/ca2.pem");
	CU_ASSERT_PTR_NULL(jitrd_caset_at(set, 2));
	CU_ASSERT_PTR_NULL(jitrd_caset_origin_at(set, 2));
	CU_ASSERT_EQUAL(jitrd_caset_count(NULL), 0);
	CU_ASSERT_PTR_NULL(jitrd_caset_at(NULL, 0));
	jitrd_caset_free(NULL);
	jitrd_cert_free(ca1);
	jitrd_cert_free(ca2);
	jitrd_caset_free(set);
}

static void test_find_id(void)
{
	struct jitrd_caset *set = our_cas();
	struct jitrd_cert *ca1 = load("cas/ca1.pem");
	struct jitrd_cert *ca2 = load("cas/ca2.pem");
	struct jitrd_cert *impostor = load("other/impostor-ca.pem");
	char upper[66], longer[66], shorter[64], nonhex[65];

	CU_ASSERT_PTR_NOT_NULL_FATAL(ca1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ca2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(impostor);
	for (size_t i = 0; i < 65; i++)
		upper[i] = (char)toupper((unsigned char)jitrd_cert_id(ca2)[i]);
	CU_ASSERT_PTR_NOT_NULL(strpbrk(upper, "ABCDEF")); /* the case really differs */
	snprintf(longer, sizeof(longer), "%s0", jitrd_cert_id(ca1));
	snprintf(shorter, sizeof(shorter), "%s", jitrd_cert_id(ca1));
	snprintf(nonhex, sizeof(nonhex), "%s", jitrd_cert_id(ca1));
	nonhex[10] = 'g';

	CU_ASSERT_PTR_EQUAL(jitrd_caset_find_id(set, jitrd_cert_id(ca1)), jitrd_caset_at(set, 0));
	CU_ASSERT_PTR_EQUAL(jitrd_caset_find_id(set, jitrd_cert_id(ca2)), jitrd_caset_at(set, 1));
	CU_ASSERT_PTR_EQUAL(jitrd_caset_find_id(set, upper), jitrd_caset_at(set, 1));
	CU_ASSERT_PTR_NULL(jitrd_caset_find_id(set, jitrd_cert_id(impostor)));
	CU_ASSERT_PTR_NULL(jitrd_caset_find_id(set, longer));
	CU_ASSERT_PTR_NULL(jitrd_caset_find_id(set, shorter));
	CU_ASSERT_PTR_NULL(jitrd_caset_find_id(set, nonhex));
	CU_ASSERT_PTR_NULL(jitrd_caset_find_id(set, ""));
	CU_ASSERT_PTR_NULL(jitrd_caset_find_id(set, NULL));
	CU_ASSERT_PTR_NULL(jitrd_caset_find_id(NULL, jitrd_cert_id(ca1)));
	jitrd_cert_free(ca1);
	jitrd_cert_free(ca2);
	jitrd_cert_free(impostor);
	jitrd_caset_free(set);
}

static void test_find_issuer(void)
{
	static const struct {
		const char *device;
		int ca_index; /* -1: none */
	} cases[] = {
	    {"devices/good.pem", 0},
	    {"devices/noext.pem", 0},
	    {"devices/cadevice.pem", 0},
	    {"devices/good2.pem", 1},
	    {"devices/revoked2.pem", 1},
	    /* Issuer name equals ca1's, but its AKID is the impostor's key. */
	    {"devices/impostor.pem", -1},
	    {"devices/wrongsigner.pem", -1},
	    {"cas/ca1.pem", 0}, /* self-issued */
	    /* A self-signed CA carries no AKID (OpenSSL 3 omits it): the name alone matches,
	     * which is the documented rule; the signature check then tells them apart. */
	    {"other/impostor-ca.pem", 0},
	};
	struct jitrd_caset *set = our_cas();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_cert *cert = load(cases[i].device);
		const struct jitrd_cert *found;

		CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
		found = jitrd_caset_find_issuer(set, cert);
		if (cases[i].ca_index < 0) {
			CU_ASSERT_PTR_NULL(found);
		} else {
			CU_ASSERT_PTR_EQUAL(found, jitrd_caset_at(set, (size_t)cases[i].ca_index));
		}
		if (found !=
		    (cases[i].ca_index < 0 ? NULL : jitrd_caset_at(set, (size_t)cases[i].ca_index)))
			fprintf(stderr, "case %zu (%s) wrong\n", i, cases[i].device);
		jitrd_cert_free(cert);
	}
	CU_ASSERT_PTR_NULL(jitrd_caset_find_issuer(set, NULL));
	CU_ASSERT_PTR_NULL(jitrd_caset_find_issuer(NULL, jitrd_caset_at(set, 0)));
	jitrd_caset_free(set);
}

/* The CRL path: an issuer name and an optional authority key id. */
static void test_find_by_name(void)
{
	struct jitrd_caset *set = our_cas();
	struct jitrd_cert *ca1 = load("cas/ca1.pem");
	struct jitrd_cert *impostor = load("other/impostor-ca.pem");
	struct jitrd_cert *unknown = load("other/unknown-ca.pem");
	const unsigned char *ca1_kid, *impostor_kid;
	size_t ca1_kid_len = 0, impostor_kid_len = 0;
	const X509_NAME *name;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ca1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(impostor);
	CU_ASSERT_PTR_NOT_NULL_FATAL(unknown);
	name = jitrd_cert_subject(ca1);
	ca1_kid = jitrd_cert_subject_key_id(ca1, &ca1_kid_len);
	impostor_kid = jitrd_cert_subject_key_id(impostor, &impostor_kid_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ca1_kid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(impostor_kid);

	CU_ASSERT_PTR_EQUAL(jitrd_caset_find_by_name(set, name, ca1_kid, ca1_kid_len),
	                    jitrd_caset_at(set, 0));
	CU_ASSERT_PTR_EQUAL(jitrd_caset_find_by_name(set, name, NULL, 0), jitrd_caset_at(set, 0));
	CU_ASSERT_PTR_NULL(jitrd_caset_find_by_name(set, name, impostor_kid, impostor_kid_len));
	/* A key id of another length is another key. */
	CU_ASSERT_PTR_NULL(jitrd_caset_find_by_name(set, name, ca1_kid, ca1_kid_len - 1));
	CU_ASSERT_PTR_NULL(jitrd_caset_find_by_name(set, jitrd_cert_subject(unknown), NULL, 0));
	CU_ASSERT_PTR_NULL(jitrd_caset_find_by_name(set, NULL, NULL, 0));
	CU_ASSERT_PTR_NULL(jitrd_caset_find_by_name(NULL, name, NULL, 0));
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	jitrd_cert_free(ca1);
	jitrd_cert_free(impostor);
	jitrd_cert_free(unknown);
	jitrd_caset_free(set);
}

/* Once the impostor is added too, each device finds its own CA among the two of that name. */
static void test_same_name_two_keys(void)
{
	struct jitrd_caset *set = our_cas();
	struct jitrd_cert *good = load("devices/good.pem");
	struct jitrd_cert *impostor_dev = load("devices/impostor.pem");
	struct jitrd_diag diag = {""};

	CU_ASSERT_PTR_NOT_NULL_FATAL(good);
	CU_ASSERT_PTR_NOT_NULL_FATAL(impostor_dev);
	CU_ASSERT_EQUAL(add_file(set, "other/impostor-ca.pem", &diag), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_caset_count(set), 3);
	CU_ASSERT_PTR_EQUAL(jitrd_caset_find_issuer(set, good), jitrd_caset_at(set, 0));
	CU_ASSERT_PTR_EQUAL(jitrd_caset_find_issuer(set, impostor_dev), jitrd_caset_at(set, 2));
	jitrd_cert_free(good);
	jitrd_cert_free(impostor_dev);
	jitrd_caset_free(set);
}

/* Key rollover: two CAs of one name, devices without key ids. Whatever the order the CAs
 * were added in, each device finds the CA whose key signed it. */
static void test_rollover_same_name(void)
{
	static const char *const orders[][2] = {
	    {"cas-rollover/ca1.pem", "cas-rollover/ca1-rollover.pem"},
	    {"cas-rollover/ca1-rollover.pem", "cas-rollover/ca1.pem"},
	};
	struct jitrd_cert *old_ca = load("cas-rollover/ca1.pem");
	struct jitrd_cert *new_ca = load("cas-rollover/ca1-rollover.pem");
	struct jitrd_cert *old_dev = load("devices/nokid.pem"); /* ca1, no key ids */
	struct jitrd_cert *new_dev = load("devices/rollover-good.pem");
	struct jitrd_cert *wrong = load("devices/wrongsigner.pem");
	size_t akid_len = 1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(old_ca);
	CU_ASSERT_PTR_NOT_NULL_FATAL(new_ca);
	CU_ASSERT_PTR_NOT_NULL_FATAL(old_dev);
	CU_ASSERT_PTR_NOT_NULL_FATAL(new_dev);
	CU_ASSERT_PTR_NOT_NULL_FATAL(wrong);
	/* the fixture is what this test needs: same name, no key ids on the devices */
	CU_ASSERT_EQUAL(X509_NAME_cmp(jitrd_cert_subject(old_ca), jitrd_cert_subject(new_ca)), 0);
	CU_ASSERT_PTR_NULL(jitrd_cert_authority_key_id(new_dev, &akid_len));
	CU_ASSERT_EQUAL(akid_len, 0);
	akid_len = 1;
	CU_ASSERT_PTR_NULL(jitrd_cert_authority_key_id(old_dev, &akid_len));
	CU_ASSERT_EQUAL(akid_len, 0);
	for (size_t o = 0; o < 2; o++) {
		struct jitrd_caset *set = jitrd_caset_new();
		struct jitrd_diag diag = {""};
		const struct jitrd_cert *found_old, *found_new, *first;
		const X509_NAME *name = jitrd_cert_subject(old_ca);

		CU_ASSERT_PTR_NOT_NULL_FATAL(set);
		CU_ASSERT_EQUAL(add_file(set, orders[o][0], &diag), JITRD_OK);
		CU_ASSERT_EQUAL(add_file(set, orders[o][1], &diag), JITRD_OK);
		CU_ASSERT_EQUAL_FATAL(jitrd_caset_count(set), 2);
		found_old = jitrd_caset_find_issuer(set, old_dev);
		found_new = jitrd_caset_find_issuer(set, new_dev);
		CU_ASSERT_PTR_NOT_NULL_FATAL(found_old);
		CU_ASSERT_PTR_NOT_NULL_FATAL(found_new);
		CU_ASSERT_STRING_EQUAL(jitrd_cert_id(found_old), jitrd_cert_id(old_ca));
		CU_ASSERT_STRING_EQUAL(jitrd_cert_id(found_new), jitrd_cert_id(new_ca));
		CU_ASSERT_EQUAL(jitrd_cert_verify_signed_by(new_dev, found_new), JITRD_OK);
		/* the iteration visits both, in the order added, then stops */
		first = jitrd_caset_find_by_name(set, name, NULL, 0);
		CU_ASSERT_PTR_EQUAL(first, jitrd_caset_at(set, 0));
		CU_ASSERT_PTR_EQUAL(jitrd_caset_find_by_name_next(set, name, NULL, 0, first),
		                    jitrd_caset_at(set, 1));
		CU_ASSERT_PTR_NULL(
		    jitrd_caset_find_by_name_next(set, name, NULL, 0, jitrd_caset_at(set, 1)));
		CU_ASSERT_PTR_EQUAL(jitrd_caset_find_by_name_next(set, name, NULL, 0, NULL), first);
		/* a CA that is not in the set has no successor */
		CU_ASSERT_PTR_NULL(jitrd_caset_find_by_name_next(set, name, NULL, 0, new_dev));
		CU_ASSERT_PTR_NULL(jitrd_caset_find_by_name_next(NULL, name, NULL, 0, NULL));
		CU_ASSERT_PTR_NULL(jitrd_caset_find_by_name_next(set, NULL, NULL, 0, NULL));
		/* no CA of the issuer's name: NULL */
		CU_ASSERT_PTR_NULL(jitrd_caset_find_issuer(set, wrong));
		jitrd_caset_free(set);
	}
	jitrd_cert_free(old_ca);
	jitrd_cert_free(new_ca);
	jitrd_cert_free(old_dev);
	jitrd_cert_free(new_dev);
	jitrd_cert_free(wrong);
}

/* A device whose issuer name matches but which no matching CA's key verifies: the first match,
 * so the signature check that follows is what reports it (here: a rollover device, which has
 * no key ids, against ca1 and the impostor, which share its issuer's name). */
static void test_issuer_none_verifies(void)
{
	struct jitrd_caset *set = jitrd_caset_new();
	struct jitrd_cert *dev = load("devices/rollover-good.pem");
	struct jitrd_diag diag = {""};
	const struct jitrd_cert *found;

	CU_ASSERT_PTR_NOT_NULL_FATAL(set);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	CU_ASSERT_EQUAL(add_file(set, "cas/ca1.pem", &diag), JITRD_OK);
	CU_ASSERT_EQUAL(add_file(set, "other/impostor-ca.pem", &diag), JITRD_OK);
	found = jitrd_caset_find_issuer(set, dev);
	CU_ASSERT_PTR_NOT_NULL_FATAL(found);
	CU_ASSERT_PTR_EQUAL(found, jitrd_caset_at(set, 0));
	CU_ASSERT_EQUAL(jitrd_cert_verify_signed_by(dev, found), JITRD_ERR_CERT_SIGNATURE);
	jitrd_cert_free(dev);
	jitrd_caset_free(set);
}

static void test_add_device_refused(void)
{
	struct jitrd_caset *set = our_cas();
	struct jitrd_diag diag = {""};
	size_t len = 0;
	char *both;

	CU_ASSERT_EQUAL(add_file(set, "devices/good.pem", &diag), JITRD_ERR_BAD_FIELD);
	CU_ASSERT_EQUAL(jitrd_caset_count(set), 2);
	CU_ASSERT_EQUAL(strncmp(diag.text,
	                        "devices/good.pem: certificate 1 (subject /CN=device-good",
	                        strlen("devices/good.pem: certificate 1 (subject /CN=device-good")),
	                0);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, ") is not a CA"));

	/* A CA then a device: refused whole, the CA before it is not added either. */
	both = concat(&len, "other/unknown-ca.pem", "devices/good.pem", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(both);
	CU_ASSERT_EQUAL(jitrd_caset_add_pem(set, "bundle.pem", both, len, &diag),
	                JITRD_ERR_BAD_FIELD);
	CU_ASSERT_EQUAL(strncmp(diag.text, "bundle.pem: certificate 2 (subject ",
	                        strlen("bundle.pem: certificate 2 (subject ")),
	                0);
	CU_ASSERT_EQUAL(jitrd_caset_count(set), 2);
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	free(both);
	jitrd_caset_free(set);
}

static void test_duplicates_and_bundles(void)
{
	struct jitrd_caset *set = our_cas();
	struct jitrd_cert *unknown = load("other/unknown-ca.pem");
	struct jitrd_diag diag = {""};
	size_t len = 0;
	char *bundle;

	CU_ASSERT_PTR_NOT_NULL_FATAL(unknown);
	/* The same file again: nothing new, no error. */
	CU_ASSERT_EQUAL(add_file(set, "cas/ca1.pem", &diag), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_caset_count(set), 2);
	CU_ASSERT_STRING_EQUAL(jitrd_caset_origin_at(set, 0), "cas/ca1.pem");

	/* A bundle: a duplicate, a key block (skipped), the same new CA twice, and text. */
	bundle = concat(&len, "cas/ca1.pem", "keys/ca1.key", "other/unknown-ca.pem",
	                "other/unknown-ca.pem", "garbage/text.pem", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bundle);
	CU_ASSERT_EQUAL(jitrd_caset_add_pem(set, "bundle.pem", bundle, len, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_caset_count(set), 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(jitrd_caset_at(set, 2));
	CU_ASSERT_STRING_EQUAL(jitrd_cert_id(jitrd_caset_at(set, 2)), jitrd_cert_id(unknown));
	CU_ASSERT_STRING_EQUAL(jitrd_caset_origin_at(set, 2), "bundle.pem");
	CU_ASSERT_PTR_EQUAL(jitrd_caset_find_id(set, jitrd_cert_id(unknown)),
	                    jitrd_caset_at(set, 2));
	free(bundle);
	jitrd_cert_free(unknown);
	jitrd_caset_free(set);
}

static void test_bad_input(void)
{
	static const struct {
		const char *path;
		enum jitrd_err err;
		const char *diag;
	} cases[] = {
	    {"garbage/empty.pem", JITRD_ERR_MALFORMED,
	     "garbage/empty.pem: no PEM CERTIFICATE block"},
	    {"garbage/text.pem", JITRD_ERR_MALFORMED, "garbage/text.pem: no PEM CERTIFICATE block"},
	    {"garbage/random.bin", JITRD_ERR_MALFORMED, "garbage/random.bin: "},
	    {"garbage/truncated-cert.pem", JITRD_ERR_MALFORMED,
	     "garbage/truncated-cert.pem: certificate 1: "},
	    {"garbage/corrupt-cert.pem", JITRD_ERR_MALFORMED,
	     "garbage/corrupt-cert.pem: certificate 1: "},
	    {"keys/ca1.key", JITRD_ERR_MALFORMED, "keys/ca1.key: no PEM CERTIFICATE block"},
	    {"crl-cases/ca1-valid.pem", JITRD_ERR_MALFORMED, "crl-cases/ca1-valid.pem: no PEM"},
	};
	struct jitrd_caset *set = our_cas();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_diag diag = {""};
		enum jitrd_err err = add_file(set, cases[i].path, &diag);

		CU_ASSERT_EQUAL(err, cases[i].err);
		CU_ASSERT_EQUAL(strncmp(diag.text, cases[i].diag, strlen(cases[i].diag)), 0);
		if (err != cases[i].err || strncmp(diag.text, cases[i].diag, strlen(cases[i].diag)))
			fprintf(stderr, "%s: %d '%s'\n", cases[i].path, err, diag.text);
		CU_ASSERT_EQUAL(jitrd_caset_count(set), 2);
		CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	}
	jitrd_caset_free(set);
}

static void test_bad_buffers(void)
{
	struct jitrd_caset *set = our_cas();
	struct jitrd_diag diag = {""};
	size_t len = 0;
	char *bundle = concat(&len, "other/unknown-ca.pem", "garbage/corrupt-cert.pem", NULL);
	char *big;

	/* A good CA followed by a corrupt block: nothing added. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(bundle);
	CU_ASSERT_EQUAL(jitrd_caset_add_pem(set, "mixed.pem", bundle, len, &diag),
	                JITRD_ERR_MALFORMED);
	CU_ASSERT_EQUAL(strncmp(diag.text, "mixed.pem: certificate 2", 24), 0);
	CU_ASSERT_EQUAL(jitrd_caset_count(set), 2);
	/* Cut in the middle of the second block. */
	CU_ASSERT_EQUAL(jitrd_caset_add_pem(set, "cut.pem", bundle, len - 200, &diag),
	                JITRD_ERR_MALFORMED);
	CU_ASSERT_EQUAL(jitrd_caset_count(set), 2);
	free(bundle);

	/* Over 1 MiB: refused before parsing. */
	big = malloc(1024 * 1024 + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, '\n', 1024 * 1024 + 1);
	CU_ASSERT_EQUAL(jitrd_caset_add_pem(set, "big.pem", big, 1024 * 1024 + 1, &diag),
	                JITRD_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(strncmp(diag.text, "big.pem: ", 9), 0);
	/* Exactly 1 MiB of nothing: not too large, but no certificate. */
	CU_ASSERT_EQUAL(jitrd_caset_add_pem(set, "blank.pem", big, 1024 * 1024, &diag),
	                JITRD_ERR_MALFORMED);
	CU_ASSERT_EQUAL(jitrd_caset_count(set), 2);
	free(big);

	CU_ASSERT_EQUAL(jitrd_caset_add_pem(NULL, "x", "", 0, &diag), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_caset_add_pem(set, "x", NULL, 0, &diag), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_caset_add_pem(set, NULL, "", 0, NULL), JITRD_ERR_MALFORMED);
	CU_ASSERT_EQUAL(jitrd_caset_count(set), 2);
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	jitrd_caset_free(set);
}

/* Build, fill, query and free many times; under ASan a leak on any path fails the run. */
static void test_many_times(void)
{
	size_t len = 0;
	char *bundle = concat(&len, "cas/ca1.pem", "cas/ca2.pem", "other/unknown-ca.pem", NULL);
	struct jitrd_cert *good = load("devices/good.pem");
	unsigned wrong = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(bundle);
	CU_ASSERT_PTR_NOT_NULL_FATAL(good);
	for (int round = 0; round < 100; round++) {
		struct jitrd_caset *set = jitrd_caset_new();
		CU_ASSERT_PTR_NOT_NULL_FATAL(set);
		if (jitrd_caset_add_pem(set, "b", bundle, len, NULL) != JITRD_OK ||
		    jitrd_caset_count(set) != 3 ||
		    jitrd_caset_find_issuer(set, good) != jitrd_caset_at(set, 0))
			wrong++;
		/* a failing add after a good one */
		if (jitrd_caset_add_pem(set, "b", bundle, len / 2, NULL) != JITRD_ERR_MALFORMED)
			wrong++;
		jitrd_caset_free(set);
	}
	CU_ASSERT_EQUAL(wrong, 0);
	free(bundle);
	jitrd_cert_free(good);
}

/* Each OpenSSL allocation of an add made to fail in turn: the add either succeeds whole or
 * fails with nothing added and nothing leaked. */
static void test_allocation_failures(void)
{
	size_t len = 0;
	char *bundle = concat(&len, "other/unknown-ca.pem", "other/impostor-ca.pem", NULL);
	bool reached_ok = false;
	unsigned wrong = 0, nomem = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(bundle);
	for (long n = 0; n < 20000 && !reached_ok; n++) {
		struct jitrd_caset *set = our_cas();
		struct jitrd_diag diag;
		enum jitrd_err err;

		/* as a caller's uninitialised diag: every error must write it */
		memset(&diag, 0x55, sizeof(diag));
		alloc_fail_after = n;
		err = jitrd_caset_add_pem(set, "bundle.pem", bundle, len, &diag);
		alloc_fail_after = -1;
		if (err != JITRD_OK &&
		    (!memchr(diag.text, '\0', sizeof(diag.text)) ||
		     strncmp(diag.text, "bundle.pem: ", strlen("bundle.pem: ")) != 0))
			wrong++;
		if (err == JITRD_OK) {
			reached_ok = true;
			CU_ASSERT_EQUAL(jitrd_caset_count(set), 4);
		} else if (jitrd_caset_count(set) != 2 ||
		           (err != JITRD_ERR_NOMEM && err != JITRD_ERR_MALFORMED &&
		            err != JITRD_ERR_CRYPTO)) {
			wrong++;
		}
		nomem += err == JITRD_ERR_NOMEM;
		jitrd_caset_free(set);
	}
	CU_ASSERT_TRUE(reached_ok);
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT(nomem > 0);
	ERR_clear_error();
	free(bundle);
}

/* Running out of memory while the anchors are set leaves the set as it was: still each CA its
 * own anchor, and usable. */
static void test_anchors_allocation_failures(void)
{
	struct jitrd_cert *device = load("pa/devices/under-good.pem");
	struct jitrd_caset *anchors = jitrd_caset_new();
	bool reached_ok = false;
	unsigned wrong = 0, nomem = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(device);
	CU_ASSERT_PTR_NOT_NULL_FATAL(anchors);
	CU_ASSERT_EQUAL_FATAL(add_file(anchors, "pa/anchors/pa-root.pem", NULL), JITRD_OK);
	for (long n = 0; n < 20000 && !reached_ok; n++) {
		struct jitrd_caset *set = jitrd_caset_new();
		enum jitrd_err err;

		CU_ASSERT_PTR_NOT_NULL_FATAL(set);
		CU_ASSERT_EQUAL_FATAL(add_file(set, "pa/cas/pa-good.pem", NULL), JITRD_OK);
		alloc_fail_after = n;
		err = jitrd_caset_set_anchors(set, anchors);
		alloc_fail_after = -1;
		if (err == JITRD_OK)
			reached_ok = true;
		else if (err != JITRD_ERR_NOMEM || jitrd_caset_anchors(set) != NULL)
			wrong++;
		nomem += err == JITRD_ERR_NOMEM;
		if (jitrd_caset_verify_device(set, jitrd_caset_at(set, 0), device, JITRD_TEST_NOW,
		                              NULL) != JITRD_OK)
			wrong++;
		jitrd_caset_free(set);
	}
	CU_ASSERT_TRUE(reached_ok);
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT(nomem > 0);
	ERR_clear_error();
	jitrd_caset_free(anchors);
	jitrd_cert_free(device);
}

/* make-fixtures.sh dates: devices 2025-01-01..2045-01-01. */
#define DEV_NOT_BEFORE ((time_t)1735689600)
#define DEV_NOT_AFTER  ((time_t)2366841600)

struct verify_case {
	const char *ca;
	const char *device;
	time_t now;
	enum jitrd_err err;
	const char *reason; /* a part of diag; NULL for JITRD_OK */
};

/* One rule of RFC 5280 (or DESIGN §3.5) per case: the device under the CA at `now`. */
static const struct verify_case verify_cases[] = {
    /* §6.1.3(a): signature by the anchor's key, validity (notAfter's second is expired) */
    {"cas/ca1.pem", "devices/good.pem", JITRD_TEST_NOW, JITRD_OK, NULL},
    {"cas/ca1.pem", "devices/good.pem", DEV_NOT_BEFORE, JITRD_OK, NULL},
    {"cas/ca1.pem", "devices/good.pem", DEV_NOT_BEFORE - 1, JITRD_ERR_CERT_NOT_YET_VALID,
     "certificate not valid before 2025-01-01T00:00:00Z"},
    {"cas/ca1.pem", "devices/good.pem", DEV_NOT_AFTER - 1, JITRD_OK, NULL},
    {"cas/ca1.pem", "devices/good.pem", DEV_NOT_AFTER, JITRD_ERR_CERT_EXPIRED,
     "certificate expired on 2045-01-01T00:00:00Z"},
    {"cas/ca1.pem", "devices/expired.pem", JITRD_TEST_NOW, JITRD_ERR_CERT_EXPIRED,
     "certificate expired on 2021-01-01T00:00:00Z"},
    {"cas/ca1.pem", "devices/notyet.pem", JITRD_TEST_NOW, JITRD_ERR_CERT_NOT_YET_VALID,
     "certificate not valid before 2090-01-01T00:00:00Z"},
    {"cas/ca2.pem", "devices/good.pem", JITRD_TEST_NOW, JITRD_ERR_CERT_SIGNATURE,
     "certificate is not signed by the CA /CN=Example Second CA/O=Example Corp/C=US (id "},
    {"cas/ca2.pem", "devices/expired.pem", JITRD_TEST_NOW, JITRD_ERR_CERT_SIGNATURE,
     "not signed by the CA"},
    {"cas/ca1.pem", "devices/wrongsigner.pem", JITRD_TEST_NOW, JITRD_ERR_CERT_SIGNATURE,
     "certificate is not signed by the CA /CN=Example Device CA"},
    {"cas/ca1.pem", "devices/impostor.pem", JITRD_TEST_NOW, JITRD_ERR_CERT_SIGNATURE,
     "not signed by the CA"},
    {"cas/ca1.pem", "devices/good2.pem", JITRD_TEST_NOW, JITRD_ERR_CERT_SIGNATURE,
     "not signed by the CA"},
    /* DESIGN §3.5: the device profile comes first */
    {"cas/ca1.pem", "devices/cadevice.pem", JITRD_TEST_NOW, JITRD_ERR_CERT_IS_CA,
     "certificate is a CA certificate (basicConstraints CA:TRUE)"},
    {"cas/ca2.pem", "devices/cadevice.pem", JITRD_TEST_NOW, JITRD_ERR_CERT_IS_CA,
     "certificate is a CA"},
    {"cas/ca1.pem", "devices/server-eku.pem", JITRD_TEST_NOW, JITRD_ERR_BAD_FIELD,
     "its extendedKeyUsage lacks clientAuth"},
    {"cas/ca1.pem", "devices/keyenc-only.pem", JITRD_TEST_NOW, JITRD_ERR_BAD_FIELD,
     "its keyUsage lacks digitalSignature"},
    {"cas/ca1.pem", "devices/any-eku.pem", JITRD_TEST_NOW, JITRD_OK, NULL},
    {"cas/ca1.pem", "devices/noext.pem", JITRD_TEST_NOW, JITRD_OK, NULL},
    /* §4.2: an unknown critical extension refuses the certificate (the verifier's rule) */
    {"cas/ca1.pem", "devices/critical-ext.pem", JITRD_TEST_NOW, JITRD_ERR_BAD_FIELD,
     "it has a critical extension that is not understood"},
    /* §4.2.1.1's authorityKeyIdentifier is a profile rule, not path validation (§6.1) */
    {"cas/ca1.pem", "devices/nokid.pem", JITRD_TEST_NOW, JITRD_OK, NULL},
    /* without key ids, another CA's key still refuses it */
    {"cas-rollover/ca1-rollover.pem", "devices/nokid.pem", JITRD_TEST_NOW, JITRD_ERR_CERT_SIGNATURE,
     "not signed by the CA"},
    /* §6.1.3(a)(2) for the CA: the anchor's own validity */
    {"pv/cas/pv-expired.pem", "pv/devices/under-expired-ca.pem", JITRD_TEST_NOW,
     JITRD_ERR_CA_UNUSABLE, "CA certificate expired on 2030-05-20T00:00:00Z"},
    {"pv/cas/pv-expired.pem", "pv/devices/under-expired-ca.pem", (time_t)1904169600, JITRD_OK,
     NULL}, /* 2030-05-05: the CA was still valid */
    {"pv/cas/pv-notyet.pem", "pv/devices/under-notyet-ca.pem", JITRD_TEST_NOW,
     JITRD_ERR_CA_UNUSABLE, "CA certificate not valid before 2030-07-01T00:00:00Z"},
    /* §4.2.1.3, §6.1.4(n): keyCertSign when keyUsage is present; none at all is allowed */
    {"pv/cas/pv-nocertsign.pem", "pv/devices/under-nocertsign-ca.pem", JITRD_TEST_NOW,
     JITRD_ERR_CA_UNUSABLE,
     "CA certificate may not sign certificates: its keyUsage lacks "
     "keyCertSign"},
    {"pv/cas/pv-noku.pem", "pv/devices/under-noku-ca.pem", JITRD_TEST_NOW, JITRD_OK, NULL},
    /* weak signatures: MD5 and SHA-1, on the device and on the CA */
    {"pv/cas/pv-good.pem", "pv/devices/good.pem", JITRD_TEST_NOW, JITRD_OK, NULL},
    {"pv/cas/pv-good.pem", "pv/devices/sha1.pem", JITRD_TEST_NOW, JITRD_ERR_WEAK_SIGNATURE,
     "certificate is signed with SHA1, which is too weak"},
    {"pv/cas/pv-rsa.pem", "pv/devices/rsa-good.pem", JITRD_TEST_NOW, JITRD_OK, NULL},
    {"pv/cas/pv-rsa.pem", "pv/devices/md5.pem", JITRD_TEST_NOW, JITRD_ERR_WEAK_SIGNATURE,
     "certificate is signed with MD5, which is too weak"},
    {"pv/cas/pv-sha1.pem", "pv/devices/under-sha1-ca.pem", JITRD_TEST_NOW, JITRD_ERR_WEAK_SIGNATURE,
     "CA certificate is signed with SHA1, which is too weak"},
    {"pv/cas/pv-md5.pem", "pv/devices/under-md5-ca.pem", JITRD_TEST_NOW, JITRD_ERR_WEAK_SIGNATURE,
     "CA certificate is signed with MD5, which is too weak"},
    /* §4.2.1.10: name constraints of the CA, one form at a time */
    {"pv/cas/pv-nc.pem", "pv/devices/nc-all-in.pem", JITRD_TEST_NOW, JITRD_OK, NULL},
    {"pv/cas/pv-nc.pem", "pv/devices/nc-dn-in.pem", JITRD_TEST_NOW, JITRD_OK, NULL},
    {"pv/cas/pv-nc.pem", "pv/devices/nc-dn-out.pem", JITRD_TEST_NOW, JITRD_ERR_NAME_CONSTRAINTS,
     "name constraints violated: a name of the certificate "
     "(subject or subjectAltName) is outside the CA's permitted"},
    {"pv/cas/pv-nc.pem", "pv/devices/nc-email-in.pem", JITRD_TEST_NOW, JITRD_OK, NULL},
    {"pv/cas/pv-nc.pem", "pv/devices/nc-email-out.pem", JITRD_TEST_NOW, JITRD_ERR_NAME_CONSTRAINTS,
     "name constraints violated"},
    {"pv/cas/pv-nc.pem", "pv/devices/nc-dns-in.pem", JITRD_TEST_NOW, JITRD_OK, NULL},
    {"pv/cas/pv-nc.pem", "pv/devices/nc-dns-out.pem", JITRD_TEST_NOW, JITRD_ERR_NAME_CONSTRAINTS,
     "name constraints violated"},
    {"pv/cas/pv-nc.pem", "pv/devices/nc-uri-in.pem", JITRD_TEST_NOW, JITRD_OK, NULL},
    {"pv/cas/pv-nc.pem", "pv/devices/nc-uri-out.pem", JITRD_TEST_NOW, JITRD_ERR_NAME_CONSTRAINTS,
     "name constraints violated"},
    /* §4.2.1.11 requireExplicitPolicy 0 in the CA (RFC 5937 §3: the anchor's policies are
     * the initial set) */
    {"pv/cas/pv-policy.pem", "pv/devices/policy-none.pem", JITRD_TEST_NOW, JITRD_ERR_CERT_POLICY,
     "certificate policies: the CA requires an explicit policy and "
     "the certificate asserts none that the CA accepts"},
    {"pv/cas/pv-policy.pem", "pv/devices/policy-p1.pem", JITRD_TEST_NOW, JITRD_OK, NULL},
    {"pv/cas/pv-policy.pem", "pv/devices/policy-p2.pem", JITRD_TEST_NOW, JITRD_ERR_CERT_POLICY,
     "requires an explicit policy"},
    {"pv/cas/pv-policy.pem", "pv/devices/policy-any.pem", JITRD_TEST_NOW, JITRD_OK, NULL},
    /* §4.2.1.14 inhibitAnyPolicy 0: a device's anyPolicy no longer matches */
    {"pv/cas/pv-inhibitany.pem", "pv/devices/inhibitany-any.pem", JITRD_TEST_NOW,
     JITRD_ERR_CERT_POLICY, "requires an explicit policy"},
    {"pv/cas/pv-inhibitany.pem", "pv/devices/inhibitany-p1.pem", JITRD_TEST_NOW, JITRD_OK, NULL},
    /* §4.2.1.11 inhibitPolicyMapping 0 (and §6.1.5: the device's policy is not mapped):
     * the CA's mapping P1:P2 does not admit P2 */
    {"pv/cas/pv-inhibitmap.pem", "pv/devices/inhibitmap-p1.pem", JITRD_TEST_NOW, JITRD_OK, NULL},
    {"pv/cas/pv-inhibitmap.pem", "pv/devices/inhibitmap-p2.pem", JITRD_TEST_NOW,
     JITRD_ERR_CERT_POLICY, "requires an explicit policy"},
};

static void test_verify_device(void)
{
	for (size_t i = 0; i < sizeof(verify_cases) / sizeof(verify_cases[0]); i++) {
		const struct verify_case *c = &verify_cases[i];
		struct jitrd_caset *set = jitrd_caset_new();
		struct jitrd_cert *device = load(c->device);
		struct jitrd_diag diag = {"unchanged"};
		enum jitrd_err err;

		CU_ASSERT_PTR_NOT_NULL_FATAL(set);
		CU_ASSERT_PTR_NOT_NULL_FATAL(device);
		CU_ASSERT_EQUAL_FATAL(add_file(set, c->ca, NULL), JITRD_OK);
		err = jitrd_caset_verify_device(set, jitrd_caset_at(set, 0), device, c->now, &diag);
		CU_ASSERT_EQUAL(err, c->err);
		if (c->reason) {
			CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, c->reason));
		} else {
			CU_ASSERT_STRING_EQUAL(diag.text, "unchanged");
		}
		if (err != c->err || (c->reason && !strstr(diag.text, c->reason)))
			fprintf(stderr, "case %zu %s under %s: %d '%s'\n", i, c->device, c->ca, err,
			        diag.text);
		/* the same answer without a diag, and nothing left queued */
		CU_ASSERT_EQUAL(
		    jitrd_caset_verify_device(set, jitrd_caset_at(set, 0), device, c->now, NULL),
		    c->err);
		CU_ASSERT_EQUAL(ERR_peek_error(), 0);
		jitrd_cert_free(device);
		jitrd_caset_free(set);
	}
}

/* In a set of several CAs the named one is the only anchor: ca1's device under ca2 fails. */
static void test_verify_device_named_ca_only(void)
{
	struct jitrd_caset *set = our_cas();
	struct jitrd_cert *good = load("devices/good.pem");
	struct jitrd_cert *foreign = load("cas/ca1.pem"); /* equal to set's ca1, not in it */
	struct jitrd_diag diag;

	CU_ASSERT_PTR_NOT_NULL_FATAL(set);
	CU_ASSERT_PTR_NOT_NULL_FATAL(good);
	CU_ASSERT_PTR_NOT_NULL_FATAL(foreign);
	CU_ASSERT_EQUAL(
	    jitrd_caset_verify_device(set, jitrd_caset_at(set, 0), good, JITRD_TEST_NOW, &diag),
	    JITRD_OK);
	CU_ASSERT_EQUAL(
	    jitrd_caset_verify_device(set, jitrd_caset_at(set, 1), good, JITRD_TEST_NOW, &diag),
	    JITRD_ERR_CERT_SIGNATURE);
	/* arguments: a CA that is not this set's, no device, no set */
	memset(&diag, 0x55, sizeof(diag));
	CU_ASSERT_EQUAL(jitrd_caset_verify_device(set, foreign, good, JITRD_TEST_NOW, &diag),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(memchr(diag.text, '\0', sizeof(diag.text)));
	CU_ASSERT_EQUAL(
	    jitrd_caset_verify_device(set, jitrd_caset_at(set, 0), NULL, JITRD_TEST_NOW, NULL),
	    JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(
	    jitrd_caset_verify_device(NULL, jitrd_caset_at(set, 0), good, JITRD_TEST_NOW, NULL),
	    JITRD_ERR_INVALID_ARG);
	jitrd_cert_free(foreign);
	jitrd_cert_free(good);
	jitrd_caset_free(set);
}

/* [ca] anchors: the root is the trust anchor, the registered intermediate an ordinary CA of
 * the path (RFC 5280 §6.1), and the path must go through the registered CA. */
static void test_anchors(void)
{
	struct jitrd_caset *set = jitrd_caset_new();
	struct jitrd_caset *anchors = jitrd_caset_new();
	struct jitrd_caset *empty = jitrd_caset_new();
	struct jitrd_cert *under_good = load("pa/devices/under-good.pem");
	struct jitrd_cert *under_held = load("pa/devices/under-held.pem");
	struct jitrd_cert *under_root = load("pa/devices/under-root.pem");
	struct jitrd_cert *pv_device = load("pv/devices/good.pem");
	struct jitrd_diag diag = {{0}};

	CU_ASSERT_PTR_NOT_NULL_FATAL(set);
	CU_ASSERT_PTR_NOT_NULL_FATAL(anchors);
	CU_ASSERT_PTR_NOT_NULL_FATAL(empty);
	CU_ASSERT_PTR_NOT_NULL_FATAL(under_good);
	CU_ASSERT_PTR_NOT_NULL_FATAL(under_held);
	CU_ASSERT_PTR_NOT_NULL_FATAL(under_root);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pv_device);
	CU_ASSERT_EQUAL_FATAL(add_file(set, "pa/cas/pa-good.pem", NULL), JITRD_OK);
	CU_ASSERT_EQUAL_FATAL(add_file(set, "pv/cas/pv-good.pem", NULL), JITRD_OK);
	CU_ASSERT_EQUAL_FATAL(add_file(anchors, "pa/anchors/pa-root.pem", NULL), JITRD_OK);
	/* without anchors: each CA anchors itself, the foreign pv-good too */
	CU_ASSERT_PTR_NULL(jitrd_caset_anchors(set));
	CU_ASSERT_EQUAL(jitrd_caset_verify_device(set, jitrd_caset_at(set, 1), pv_device,
	                                          JITRD_TEST_NOW, &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_caset_check_ca(set, 1, JITRD_TEST_NOW, &diag), JITRD_OK);
	/* arguments */
	CU_ASSERT_EQUAL(jitrd_caset_set_anchors(NULL, anchors), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_caset_set_anchors(set, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_caset_set_anchors(set, empty), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_caset_set_anchors(set, set), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(jitrd_caset_anchors(set));
	CU_ASSERT_EQUAL_FATAL(jitrd_caset_set_anchors(set, anchors), JITRD_OK);
	CU_ASSERT_PTR_EQUAL(jitrd_caset_anchors(set), anchors);
	CU_ASSERT_EQUAL(jitrd_caset_set_anchors(set, anchors), JITRD_ERR_INVALID_ARG);

	CU_ASSERT_EQUAL(jitrd_caset_verify_device(set, jitrd_caset_at(set, 0), under_good,
	                                          JITRD_TEST_NOW, &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_caset_check_ca(set, 0, JITRD_TEST_NOW, &diag), JITRD_OK);
	/* a device of another intermediate of the same root is not the registered CA's */
	CU_ASSERT_EQUAL(jitrd_caset_verify_device(set, jitrd_caset_at(set, 0), under_held,
	                                          JITRD_TEST_NOW, &diag),
	                JITRD_ERR_CERT_SIGNATURE);
	/* the root signed this one itself: a valid path, but not through the registered CA */
	CU_ASSERT_EQUAL(jitrd_caset_verify_device(set, jitrd_caset_at(set, 0), under_root,
	                                          JITRD_TEST_NOW, &diag),
	                JITRD_ERR_CERT_SIGNATURE);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "not signed by the CA"));
	/* a registered CA outside the anchors anchors nothing */
	CU_ASSERT_EQUAL(jitrd_caset_verify_device(set, jitrd_caset_at(set, 1), pv_device,
	                                          JITRD_TEST_NOW, &diag),
	                JITRD_ERR_CA_UNUSABLE);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "does not chain to an anchor"));
	CU_ASSERT_EQUAL(jitrd_caset_check_ca(set, 1, JITRD_TEST_NOW, &diag), JITRD_ERR_CA_UNUSABLE);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "does not chain to an anchor"));
	/* the intermediate's own validity now counts as a path certificate's: before the
	 * fixtures' CA validity (2024) nothing verifies */
	CU_ASSERT_EQUAL(jitrd_caset_check_ca(set, 0, (time_t)1600000000, &diag),
	                JITRD_ERR_CA_UNUSABLE);
	/* a CA added after the anchors is anchored too */
	CU_ASSERT_EQUAL_FATAL(add_file(set, "pa/cas/pa-held.pem", NULL), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_caset_verify_device(set, jitrd_caset_at(set, 2), under_held,
	                                          JITRD_TEST_NOW, &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	jitrd_cert_free(pv_device);
	jitrd_cert_free(under_root);
	jitrd_cert_free(under_held);
	jitrd_cert_free(under_good);
	jitrd_caset_free(set);
	jitrd_caset_free(anchors);
	jitrd_caset_free(empty);
}

/* Each CA of pv/cas and ours at the judging time: config-check reports the unusable ones. */
static void test_check_ca(void)
{
	static const struct {
		const char *ca;
		enum jitrd_err err;
		const char *reason;
		bool note;
	} cases[] = {
	    {"cas/ca1.pem", JITRD_OK, NULL, false},
	    {"cas/ca2.pem", JITRD_OK, NULL, false},
	    {"pv/cas/pv-good.pem", JITRD_OK, NULL, false},
	    {"pv/cas/pv-nc.pem", JITRD_OK, NULL, false},
	    {"pv/cas/pv-policy.pem", JITRD_OK, NULL, false},
	    {"pv/cas/pv-noku.pem", JITRD_OK, NULL, true},
	    {"pv/cas/pv-expired.pem", JITRD_ERR_CA_UNUSABLE,
	     "CA certificate expired on 2030-05-20T00:00:00Z", false},
	    {"pv/cas/pv-notyet.pem", JITRD_ERR_CA_UNUSABLE,
	     "CA certificate not valid before 2030-07-01T00:00:00Z", false},
	    {"pv/cas/pv-nocertsign.pem", JITRD_ERR_CA_UNUSABLE,
	     "CA certificate may not sign certificates: its keyUsage lacks keyCertSign", false},
	    {"pv/cas/pv-sha1.pem", JITRD_ERR_WEAK_SIGNATURE,
	     "CA certificate is signed with SHA1, which is too weak", false},
	    {"pv/cas/pv-md5.pem", JITRD_ERR_WEAK_SIGNATURE,
	     "CA certificate is signed with MD5, which is too weak", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_caset *set = jitrd_caset_new();
		struct jitrd_diag diag = {"unchanged"};
		enum jitrd_err err;

		CU_ASSERT_PTR_NOT_NULL_FATAL(set);
		CU_ASSERT_EQUAL_FATAL(add_file(set, cases[i].ca, NULL), JITRD_OK);
		err = jitrd_caset_check_ca(set, 0, JITRD_TEST_NOW, &diag);
		CU_ASSERT_EQUAL(err, cases[i].err);
		if (cases[i].reason)
			CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, cases[i].reason));
		if (err != cases[i].err || (cases[i].reason && !strstr(diag.text, cases[i].reason)))
			fprintf(stderr, "CA case %s: %d '%s'\n", cases[i].ca, err, diag.text);
		CU_ASSERT_EQUAL(jitrd_caset_ca_note(set, 0) != NULL, cases[i].note);
		CU_ASSERT_EQUAL(ERR_peek_error(), 0);
		CU_ASSERT_EQUAL(jitrd_caset_check_ca(set, 1, JITRD_TEST_NOW, NULL),
		                JITRD_ERR_INVALID_ARG);
		CU_ASSERT_PTR_NULL(jitrd_caset_ca_note(set, 1));
		jitrd_caset_free(set);
	}
	CU_ASSERT_EQUAL(jitrd_caset_check_ca(NULL, 0, JITRD_TEST_NOW, NULL), JITRD_ERR_INVALID_ARG);
}

/* A CA whose policy extensions cannot be decoded cannot anchor a policy check: the file is
 * refused whole, with its name and the reason, and the set is unchanged. */
static void test_undecodable_policies_refused(void)
{
	struct jitrd_caset *set = our_cas();
	struct jitrd_diag diag = {""};

	CU_ASSERT_PTR_NOT_NULL_FATAL(set);
	CU_ASSERT_EQUAL(add_file(set, "pv/bad/pv-badpolicy.pem", &diag), JITRD_ERR_MALFORMED);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "pv/bad/pv-badpolicy.pem: certificate 1: "
	                                         "unreadable certificatePolicies"));
	CU_ASSERT_EQUAL(jitrd_caset_count(set), 2);
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	jitrd_caset_free(set);
}

/* Workers share one set: verifications from several threads at once give the same answers. */
struct verify_worker {
	const struct jitrd_caset *set;
	const struct jitrd_cert *good, *expired;
	unsigned wrong;
};

static void *verify_worker_run(void *arg)
{
	struct verify_worker *w = arg;

	for (int round = 0; round < 300; round++) {
		if (jitrd_caset_verify_device(w->set, jitrd_caset_at(w->set, 0), w->good,
		                              JITRD_TEST_NOW, NULL) != JITRD_OK ||
		    jitrd_caset_verify_device(w->set, jitrd_caset_at(w->set, 0), w->expired,
		                              JITRD_TEST_NOW, NULL) != JITRD_ERR_CERT_EXPIRED ||
		    jitrd_caset_verify_device(w->set, jitrd_caset_at(w->set, 1), w->good,
		                              JITRD_TEST_NOW, NULL) != JITRD_ERR_CERT_SIGNATURE)
			w->wrong++;
	}
	return NULL;
}

static void test_verify_from_threads(void)
{
	struct jitrd_caset *set = our_cas();
	struct jitrd_cert *good = load("devices/good.pem");
	struct jitrd_cert *expired = load("devices/expired.pem");
	struct verify_worker workers[4];
	pthread_t threads[4];

	CU_ASSERT_PTR_NOT_NULL_FATAL(set);
	CU_ASSERT_PTR_NOT_NULL_FATAL(good);
	CU_ASSERT_PTR_NOT_NULL_FATAL(expired);
	for (int i = 0; i < 4; i++) {
		workers[i] = (struct verify_worker){set, good, expired, 0};
		CU_ASSERT_EQUAL_FATAL(
		    pthread_create(&threads[i], NULL, verify_worker_run, &workers[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(pthread_join(threads[i], NULL), 0);
		CU_ASSERT_EQUAL(workers[i].wrong, 0);
	}
	jitrd_cert_free(expired);
	jitrd_cert_free(good);
	jitrd_caset_free(set);
}

/* Each OpenSSL allocation of a verification made to fail in turn (and every one after it):
 * never a crash or a leak, an invalid device never let in, and a valid one let in once the
 * allocations succeed. A valid device may be refused meanwhile: OpenSSL reports some failed
 * allocations inside the verifier as "issuer not found" or "signature failure" without
 * queuing an allocation error, so these cannot be told from a verdict (the hand-written
 * checks before had the same limit: X509_verify answers -1 for both). Most are told. */
static void test_verify_allocation_failures(void)
{
	struct jitrd_caset *set = our_cas();
	struct jitrd_cert *good = load("devices/good.pem");
	struct jitrd_cert *expired = load("devices/expired.pem");
	bool reached_ok = false;
	unsigned wrong = 0, nomem = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(set);
	CU_ASSERT_PTR_NOT_NULL_FATAL(good);
	CU_ASSERT_PTR_NOT_NULL_FATAL(expired);
	for (long n = 0; n < 5000 && !reached_ok; n++) {
		enum jitrd_err err, err_expired;

		alloc_fail_after = n;
		err = jitrd_caset_verify_device(set, jitrd_caset_at(set, 0), good, JITRD_TEST_NOW,
		                                NULL);
		alloc_fail_after = n;
		err_expired = jitrd_caset_verify_device(set, jitrd_caset_at(set, 0), expired,
		                                        JITRD_TEST_NOW, NULL);
		alloc_fail_after = -1;
		nomem += err == JITRD_ERR_NOMEM;
		if (err != JITRD_OK && err != JITRD_ERR_NOMEM && err != JITRD_ERR_CERT_SIGNATURE)
			wrong++;
		if (err_expired == JITRD_OK)
			wrong++;
		reached_ok = err == JITRD_OK;
	}
	CU_ASSERT_TRUE(reached_ok);
	CU_ASSERT_EQUAL(wrong, 0);
	if (getenv("JITRD_TEST_VERBOSE"))
		fprintf(stderr, "verify allocation failures: %u told as such\n", nomem);
	ERR_clear_error();
	jitrd_cert_free(expired);
	jitrd_cert_free(good);
	jitrd_caset_free(set);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"load ca1 and ca2, at and origin_at", test_load_and_at},
	    {"find by id, either case, exact length", test_find_id},
	    {"find the issuer of devices (impostor and wrong signer: none)", test_find_issuer},
	    {"find by name and key id (CRL path)", test_find_by_name},
	    {"two CAs of the same name, each found by key id", test_same_name_two_keys},
	    {"key rollover: same name, no key ids", test_rollover_same_name},
	    {"issuer: no key verifies", test_issuer_none_verifies},
	    {"a device certificate is refused, nothing added", test_add_device_refused},
	    {"duplicates skipped, bundles added whole", test_duplicates_and_bundles},
	    {"bad files", test_bad_input},
	    {"bad buffers: mixed, cut, oversized, NULL", test_bad_buffers},
	    {"many times, no leaks", test_many_times},
	    {"allocation failures: all or nothing", test_allocation_failures},
	    {"verify devices: RFC 5280 conformance cases", test_verify_device},
	    {"verify: only the named CA anchors, arguments", test_verify_device_named_ca_only},
	    {"each CA usable at the judging time, or why not", test_check_ca},
	    {"a CA with undecodable policy extensions is refused",
	     test_undecodable_policies_refused},
	    {"verify from several threads on one set", test_verify_from_threads},
	    {"verify under allocation failures", test_verify_allocation_failures},
	    {"trust anchors above the registered CAs", test_anchors},
	    {"trust anchors: allocation failures", test_anchors_allocation_failures},
	    {NULL, NULL},
	};

	/* Must precede every OpenSSL allocation. */
	if (CRYPTO_set_mem_functions(failing_malloc, failing_realloc, plain_free) != 1) {
		fprintf(stderr, "CRYPTO_set_mem_functions failed\n");
		return 99;
	}
	return tsupport_run("caset", cases);
}
