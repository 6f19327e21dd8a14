/* test_crl.c — the CRL store: fixture CRLs made by `openssl ca` (make-fixtures.sh), CRLs built
 * here with unusual contents (duplicates, long serials, scope-restricted, critical entry
 * extensions), lookups checked against OpenSSL's own CRL search, threads, allocation failures.
 * Test code: reads fixture files; the module under test does not. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "jitrd/crl.h"
#include "testsupport.h"

#define T_2030_01_01     ((time_t)1893456000)
#define T_2030_03_01     ((time_t)1898553600)
#define T_2031_01_01     ((time_t)1924992000)
#define T_2031_03_01     ((time_t)1930089600)
#define STATUS_UNTOUCHED ((enum jitrd_crl_status)77)
#define REASON_UNTOUCHED 77

/* ---- allocation failure injection (OpenSSL's allocator hooks; crl.c allocates with them) */

static long fail_countdown = -1; /* -1: never fail; n: the n+1-th allocation fails */

static void *t_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	if (fail_countdown == 0)
		return NULL;
	if (fail_countdown > 0)
		fail_countdown--;
	return malloc(n);
}

static void *t_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	if (fail_countdown == 0)
		return NULL;
	if (fail_countdown > 0)
		fail_countdown--;
	return realloc(p, n);
}

static void t_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

/* ---- fixtures */

static struct jitrd_caset *cas;
static struct jitrd_cert *ca1, *ca2; /* borrowed from cas: jitrd_caset_at */

struct device {
	const char *file;
	struct jitrd_cert *cert;
	bool from_ca2;
};

static struct device devices[] = {
    {"devices/good.pem", NULL, false},       {"devices/revoked.pem", NULL, false},
    {"devices/held.pem", NULL, false},       {"devices/unheld.pem", NULL, false},
    {"devices/superseded.pem", NULL, false}, {"devices/late-revoked.pem", NULL, false},
    {"devices/expired.pem", NULL, false},    {"devices/noext.pem", NULL, false},
    {"devices/good2.pem", NULL, true},       {"devices/revoked2.pem", NULL, true},
};
#define DEVICE_COUNT (sizeof(devices) / sizeof(devices[0]))

static struct jitrd_cert *device(const char *file)
{
	for (size_t i = 0; i < DEVICE_COUNT; i++) {
		if (strcmp(devices[i].file, file) == 0)
			return devices[i].cert;
	}
	return NULL;
}

static int load_fixtures(void)
{
	static const char *const ca_files[] = {"cas/ca1.pem", "cas/ca2.pem"};
	struct jitrd_diag diag;

	cas = jitrd_caset_new();
	if (!cas)
		return -1;
	for (size_t i = 0; i < 2; i++) {
		size_t len;
		char *pem = tsupport_read(tsupport_fixture(ca_files[i]), &len);
		enum jitrd_err err =
		    pem ? jitrd_caset_add_pem(cas, ca_files[i], pem, len, &diag) : JITRD_ERR_IO;
		free(pem);
		if (err != JITRD_OK)
			return -1;
	}
	if (jitrd_caset_count(cas) != 2)
		return -1;
	ca1 = (struct jitrd_cert *)jitrd_caset_at(cas, 0);
	ca2 = (struct jitrd_cert *)jitrd_caset_at(cas, 1);
	for (size_t i = 0; i < DEVICE_COUNT; i++) {
		size_t len;
		char *pem = tsupport_read(tsupport_fixture(devices[i].file), &len);
		enum jitrd_err err =
		    pem ? jitrd_cert_from_pem(pem, len, &devices[i].cert, &diag) : JITRD_ERR_IO;
		free(pem);
		if (err != JITRD_OK)
			return -1;
	}
	return 0;
}

static void free_fixtures(void)
{
	for (size_t i = 0; i < DEVICE_COUNT; i++)
		jitrd_cert_free(devices[i].cert);
	jitrd_caset_free(cas);
}

static enum jitrd_err add_fixture(struct jitrd_crl_builder *b, const char *rel,
                                  struct jitrd_diag *diag)
{
	size_t len;
	char *bytes = tsupport_read_fixture(rel, &len);
	enum jitrd_err err;

	if (!bytes)
		return JITRD_ERR_IO;
	err = jitrd_crl_builder_add(b, rel, (const unsigned char *)bytes, len, diag);
	free(bytes);
	return err;
}

/* A store from fixture files that must all be accepted. */
static struct jitrd_crl_store *store_of(const char *const *files)
{
	struct jitrd_crl_builder *b = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
	struct jitrd_crl_store *store = NULL;
	struct jitrd_diag diag;

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	for (; *files; files++)
		CU_ASSERT_EQUAL(add_fixture(b, *files, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b, &store), JITRD_OK);
	jitrd_crl_builder_free(b);
	CU_ASSERT_PTR_NOT_NULL(store);
	return store;
}

/* jitrd_crl_lookup with the answer spread over status and reason, for the table tests:
 * both written only on success; the answer must not be stale unless `now` is past
 * 2031-01-01 (every fixture CRL used here is current at JITRD_TEST_NOW). NULL status or
 * reason passes a NULL answer, for the argument tests. */
static enum jitrd_err lookup(const struct jitrd_crl_store *store, const struct jitrd_cert *ca,
                             const ASN1_INTEGER *serial, time_t now, enum jitrd_crl_status *status,
                             int *reason)
{
	struct jitrd_crl_answer answer = {STATUS_UNTOUCHED, REASON_UNTOUCHED, true};
	enum jitrd_err err =
	    jitrd_crl_lookup(store, ca, serial, now, status && reason ? &answer : NULL);

	if (err != JITRD_OK) {
		CU_ASSERT_EQUAL(answer.status, STATUS_UNTOUCHED);
		CU_ASSERT_EQUAL(answer.reason, REASON_UNTOUCHED);
		CU_ASSERT_TRUE(answer.stale);
		return err;
	}
	if (now <= T_2031_01_01)
		CU_ASSERT_FALSE(answer.stale);
	*status = answer.status;
	*reason = answer.reason;
	return err;
}

struct expect {
	const char *device;
	enum jitrd_crl_status status;
	int reason;
};

static void check_lookups(const struct jitrd_crl_store *store, const struct expect *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct jitrd_cert *dev = device(e[i].device);
		const struct jitrd_cert *ca = jitrd_caset_find_issuer(cas, dev);
		enum jitrd_crl_status status = STATUS_UNTOUCHED;
		int reason = REASON_UNTOUCHED;

		CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
		CU_ASSERT_EQUAL(
		    lookup(store, ca, jitrd_cert_serial(dev), JITRD_TEST_NOW, &status, &reason),
		    JITRD_OK);
		if (status != e[i].status || reason != e[i].reason)
			fprintf(stderr, "  %s: status %d reason %d, expected %d %d\n", e[i].device,
			        status, reason, e[i].status, e[i].reason);
		CU_ASSERT_EQUAL(status, e[i].status);
		CU_ASSERT_EQUAL(reason, e[i].reason);
	}
}

/* OpenSSL's own answer for a device against one CRL file: the oracle the index must match. */
static void check_against_openssl(const struct jitrd_crl_store *store, const char *crl_file,
                                  bool ca2_crl)
{
	size_t len;
	char *pem = tsupport_read_fixture(crl_file, &len);
	BIO *bio = pem ? BIO_new_mem_buf(pem, (int)len) : NULL;
	X509_CRL *crl = bio ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	for (size_t i = 0; i < DEVICE_COUNT; i++) {
		X509_REVOKED *rev = NULL;
		enum jitrd_crl_status want = JITRD_CRL_NOT_LISTED, status = STATUS_UNTOUCHED;
		int want_reason = JITRD_CRL_REASON_NONE, reason = REASON_UNTOUCHED;
		int found;

		if (devices[i].from_ca2 != ca2_crl)
			continue;
		found = X509_CRL_get0_by_serial(crl, &rev,
		                                (ASN1_INTEGER *)jitrd_cert_serial(devices[i].cert));
		if (found) {
			int crit;
			ASN1_ENUMERATED *e =
			    X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, &crit, NULL);
			want_reason = e ? (int)ASN1_ENUMERATED_get(e) : JITRD_CRL_REASON_NONE;
			ASN1_ENUMERATED_free(e);
			/* get0_by_serial returns 2 for removeFromCRL */
			want = found == 2         ? JITRD_CRL_REMOVE_FROM_CRL
			       : want_reason == 6 ? JITRD_CRL_HOLD
			                          : JITRD_CRL_REVOKED;
		}
		CU_ASSERT_EQUAL(lookup(store, ca2_crl ? ca2 : ca1,
		                       jitrd_cert_serial(devices[i].cert), JITRD_TEST_NOW, &status,
		                       &reason),
		                JITRD_OK);
		CU_ASSERT_EQUAL(status, want);
		CU_ASSERT_EQUAL(reason, want_reason);
	}
	X509_CRL_free(crl);
	BIO_free(bio);
	free(pem);
}

static const struct expect ca1_valid_expect[] = {
    {"devices/good.pem", JITRD_CRL_NOT_LISTED, JITRD_CRL_REASON_NONE},
    {"devices/revoked.pem", JITRD_CRL_REVOKED, 1},
    {"devices/held.pem", JITRD_CRL_HOLD, 6},
    {"devices/unheld.pem", JITRD_CRL_REMOVE_FROM_CRL, 8},
    {"devices/superseded.pem", JITRD_CRL_REVOKED, 4},
    {"devices/late-revoked.pem", JITRD_CRL_NOT_LISTED, JITRD_CRL_REASON_NONE},
    {"devices/good2.pem", JITRD_CRL_NOT_LISTED, JITRD_CRL_REASON_NONE},
    {"devices/revoked2.pem", JITRD_CRL_REVOKED, 0},
};

/* ---- valid CRLs */

static void test_valid_pem_and_der(void)
{
	static const char *const files[] = {"crls/ca1.crl.pem", "crls/ca2.crl.der", NULL};
	struct jitrd_crl_builder *b = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
	struct jitrd_crl_store *store = NULL;
	struct jitrd_diag diag = {"untouched"};
	const struct jitrd_crl_file_report *r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	for (size_t i = 0; files[i]; i++)
		CU_ASSERT_EQUAL(add_fixture(b, files[i], &diag), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(diag.text, "untouched");
	CU_ASSERT_EQUAL(jitrd_crl_builder_file_count(b), 2);
	for (size_t i = 0; files[i]; i++) {
		r = jitrd_crl_builder_file_at(b, i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		CU_ASSERT_STRING_EQUAL(r->origin, files[i]);
		CU_ASSERT_EQUAL(r->result, JITRD_OK);
		CU_ASSERT_STRING_EQUAL(r->reason, "");
		CU_ASSERT_EQUAL(r->crls_accepted, 1);
	}
	CU_ASSERT_PTR_NULL(jitrd_crl_builder_file_at(b, 2));
	CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b, &store), JITRD_OK);
	jitrd_crl_builder_free(b); /* the store outlives its builder */
	CU_ASSERT_PTR_NOT_NULL_FATAL(store);
	check_lookups(store, ca1_valid_expect,
	              sizeof(ca1_valid_expect) / sizeof(ca1_valid_expect[0]));
	check_against_openssl(store, "crl-cases/ca1-valid.pem", false);
	check_against_openssl(store, "crl-cases/ca2-valid.pem", true);
	jitrd_crl_store_free(store);
}

static void test_both_in_one_file(void)
{
	struct jitrd_crl_builder *b = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
	struct jitrd_crl_store *store = NULL;
	struct jitrd_diag diag;
	const struct jitrd_crl_file_report *r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(add_fixture(b, "crl-cases/both-in-one.pem", &diag), JITRD_OK);
	r = jitrd_crl_builder_file_at(b, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->crls_accepted, 2);
	CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b, &store), JITRD_OK);
	jitrd_crl_builder_free(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(store);
	check_lookups(store, ca1_valid_expect,
	              sizeof(ca1_valid_expect) / sizeof(ca1_valid_expect[0]));
	CU_ASSERT_PTR_NOT_NULL(jitrd_crl_store_info(store, ca1));
	CU_ASSERT_PTR_NOT_NULL(jitrd_crl_store_info(store, ca2));
	jitrd_crl_store_free(store);
}

static void test_store_info(void)
{
	static const char *const files[] = {"crls/ca1.crl.pem", "crls/ca2.crl.der", NULL};
	struct jitrd_crl_store *store = store_of(files);
	const struct jitrd_crl_info *i1, *i2;

	CU_ASSERT_PTR_NOT_NULL_FATAL(store);
	i1 = jitrd_crl_store_info(store, ca1);
	i2 = jitrd_crl_store_info(store, ca2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(i1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(i2);
	CU_ASSERT_STRING_EQUAL(i1->origin, "crls/ca1.crl.pem");
	CU_ASSERT_EQUAL(i1->entries, 4);
	CU_ASSERT_EQUAL(i1->this_update, T_2030_01_01);
	CU_ASSERT_EQUAL(i1->next_update, T_2031_01_01);
	CU_ASSERT_EQUAL(i1->crl_number, 1);
	CU_ASSERT_STRING_EQUAL(i2->origin, "crls/ca2.crl.der");
	CU_ASSERT_EQUAL(i2->entries, 1);
	CU_ASSERT_EQUAL(i2->crl_number, 1);
	CU_ASSERT_PTR_NULL(jitrd_crl_store_info(store, device("devices/good.pem")));
	CU_ASSERT_PTR_NULL(jitrd_crl_store_info(NULL, ca1));
	jitrd_crl_store_free(store);
}

/* A caller's own jitrd_cert of the CA (not the caset's object) finds the same CRL. */
static void test_lookup_with_own_copy_of_ca(void)
{
	static const char *const files[] = {"crls/ca1.crl.pem", NULL};
	struct jitrd_crl_store *store = store_of(files);
	struct jitrd_cert *copy = NULL;
	struct jitrd_diag diag;
	enum jitrd_crl_status status = STATUS_UNTOUCHED;
	int reason = REASON_UNTOUCHED;
	size_t len;
	char *pem = tsupport_read_fixture("cas/ca1.pem", &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
	CU_ASSERT_EQUAL_FATAL(jitrd_cert_from_pem(pem, len, &copy, &diag), JITRD_OK);
	CU_ASSERT_PTR_NOT_EQUAL(copy, ca1);
	CU_ASSERT_EQUAL(lookup(store, copy, jitrd_cert_serial(device("devices/revoked.pem")),
	                       JITRD_TEST_NOW, &status, &reason),
	                JITRD_OK);
	CU_ASSERT_EQUAL(status, JITRD_CRL_REVOKED);
	CU_ASSERT_EQUAL(reason, 1);
	CU_ASSERT_PTR_EQUAL(jitrd_crl_store_info(store, copy), jitrd_crl_store_info(store, ca1));
	jitrd_cert_free(copy);
	free(pem);
	jitrd_crl_store_free(store);
}

/* ---- refused files */

struct refused_case {
	const char *file;
	enum jitrd_err err;
	const char *why; /* must appear in the report's reason */
	bool kept;       /* stale: reported, yet kept for what it lists */
};

static const struct refused_case refused_cases[] = {
    {"crl-cases/ca1-expired.pem", JITRD_ERR_CRL_EXPIRED, "nextUpdate 2029-06-01T00:00:00Z", true},
    {"crl-cases/ca1-notyet.pem", JITRD_ERR_CRL_NOT_YET_VALID, "thisUpdate 2031-06-01", false},
    {"crl-cases/ca1-critical-ext.pem", JITRD_ERR_CRL_CRITICAL_EXT, "1.3.6.1.4.1.55555.1", false},
    {"crl-cases/ca1-sha1.pem", JITRD_ERR_CRL_SIGNATURE, "signed with SHA1", false},
    {"crl-cases/impostor.pem", JITRD_ERR_UNKNOWN_CA, "not one of our CAs", false},
    {"crl-cases/unknown-ca.pem", JITRD_ERR_UNKNOWN_CA, "Unknown CA", false},
    {"crl-cases/ca1-badsig.der", JITRD_ERR_CRL_SIGNATURE, "signature does not verify", false},
    {"crl-cases/truncated.pem", JITRD_ERR_MALFORMED, "not a readable PEM CRL", false},
    {"crl-cases/truncated.der", JITRD_ERR_MALFORMED, "not a readable DER CRL", false},
    {"garbage/text.pem", JITRD_ERR_MALFORMED, "no \"X509 CRL\" PEM block", false},
    {"garbage/random.bin", JITRD_ERR_MALFORMED, "", false}, /* PEM or DER path: random */
    {"garbage/empty.pem", JITRD_ERR_MALFORMED, "empty file", false},
    {"devices/good.pem", JITRD_ERR_MALFORMED, "no \"X509 CRL\" PEM block", false},
    {"cas/ca1.pem", JITRD_ERR_MALFORMED, "no \"X509 CRL\" PEM block", false},
};

static void test_refused_files(void)
{
	for (size_t i = 0; i < sizeof(refused_cases) / sizeof(refused_cases[0]); i++) {
		const struct refused_case *c = &refused_cases[i];
		struct jitrd_crl_builder *b = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
		struct jitrd_crl_store *store = NULL;
		struct jitrd_diag diag = {""};
		const struct jitrd_crl_file_report *r;
		enum jitrd_crl_status status = STATUS_UNTOUCHED;
		int reason = REASON_UNTOUCHED;
		char prefix[128];
		enum jitrd_err err;

		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		err = add_fixture(b, c->file, &diag);
		if (err != c->err || !strstr(diag.text, c->why))
			fprintf(stderr, "  %s: got %d \"%s\"\n", c->file, err, diag.text);
		CU_ASSERT_EQUAL(err, c->err);
		snprintf(prefix, sizeof(prefix), "%s: ", c->file);
		CU_ASSERT_EQUAL(strncmp(diag.text, prefix, strlen(prefix)), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, c->why));
		r = jitrd_crl_builder_file_at(b, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		CU_ASSERT_STRING_EQUAL(r->origin, c->file);
		CU_ASSERT_EQUAL(r->result, c->err);
		CU_ASSERT_PTR_NOT_NULL(strstr(r->reason, c->why));
		CU_ASSERT_STRING_EQUAL(diag.text + strlen(prefix), r->reason);
		CU_ASSERT_EQUAL(r->crls_accepted, 0);
		CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b, &store), JITRD_OK);
		if (c->kept) {
			const struct jitrd_crl_info *info = jitrd_crl_store_info(store, ca1);
			struct jitrd_crl_answer answer = {STATUS_UNTOUCHED, REASON_UNTOUCHED,
			                                  false};

			CU_ASSERT_PTR_NOT_NULL_FATAL(info);
			CU_ASSERT_TRUE(info->stale);
			CU_ASSERT_STRING_EQUAL(info->origin, c->file);
			/* revoked.pem was revoked before this CRL was made: still revoked */
			CU_ASSERT_EQUAL(
			    jitrd_crl_lookup(store, ca1,
			                     jitrd_cert_serial(device("devices/revoked.pem")),
			                     JITRD_TEST_NOW, &answer),
			    JITRD_OK);
			CU_ASSERT_EQUAL(answer.status, JITRD_CRL_REVOKED);
			CU_ASSERT_EQUAL(answer.reason, 1);
			CU_ASSERT_TRUE(answer.stale);
			jitrd_crl_store_free(store);
			jitrd_crl_builder_free(b);
			continue;
		}
		CU_ASSERT_PTR_NULL(jitrd_crl_store_info(store, ca1));
		CU_ASSERT_EQUAL(lookup(store, ca1, jitrd_cert_serial(device("devices/revoked.pem")),
		                       JITRD_TEST_NOW, &status, &reason),
		                JITRD_ERR_NO_CRL);
		CU_ASSERT_EQUAL(status, STATUS_UNTOUCHED);
		CU_ASSERT_EQUAL(reason, REASON_UNTOUCHED);
		jitrd_crl_store_free(store);
		jitrd_crl_builder_free(b);
	}
}

/* A bad file before and after a good one: the good one is still used, every report kept. */
static void test_bad_files_around_good_one(void)
{
	struct jitrd_crl_builder *b = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
	struct jitrd_crl_store *store = NULL;
	struct jitrd_diag diag;
	static const struct expect revoked[] = {{"devices/revoked.pem", JITRD_CRL_REVOKED, 1}};

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(add_fixture(b, "crl-cases/ca1-badsig.der", &diag), JITRD_ERR_CRL_SIGNATURE);
	CU_ASSERT_EQUAL(add_fixture(b, "crls/ca1.crl.pem", &diag), JITRD_OK);
	CU_ASSERT_EQUAL(add_fixture(b, "crl-cases/ca1-notyet.pem", &diag),
	                JITRD_ERR_CRL_NOT_YET_VALID);
	CU_ASSERT_EQUAL(add_fixture(b, "crl-cases/truncated.pem", &diag), JITRD_ERR_MALFORMED);
	CU_ASSERT_EQUAL_FATAL(jitrd_crl_builder_file_count(b), 4);
	CU_ASSERT_EQUAL(jitrd_crl_builder_file_at(b, 0)->result, JITRD_ERR_CRL_SIGNATURE);
	CU_ASSERT_EQUAL(jitrd_crl_builder_file_at(b, 1)->result, JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_crl_builder_file_at(b, 1)->crls_accepted, 1);
	CU_ASSERT_EQUAL(jitrd_crl_builder_file_at(b, 2)->result, JITRD_ERR_CRL_NOT_YET_VALID);
	CU_ASSERT_EQUAL(jitrd_crl_builder_file_at(b, 3)->result, JITRD_ERR_MALFORMED);
	CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b, &store), JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(store);
	check_lookups(store, revoked, 1);
	CU_ASSERT_STRING_EQUAL(jitrd_crl_store_info(store, ca1)->origin, "crls/ca1.crl.pem");
	jitrd_crl_store_free(store);
	jitrd_crl_builder_free(b);
}

static char *concat_fixtures(const char *const *files, size_t *len)
{
	char *all = NULL;
	size_t n = 0;

	for (; *files; files++) {
		size_t l;
		char *part = tsupport_read_fixture(*files, &l);
		char *grown = part ? realloc(all, n + l + 1) : NULL;

		if (!grown) {
			free(part);
			free(all);
			return NULL;
		}
		all = grown;
		memcpy(all + n, part, l);
		n += l;
		all[n] = '\0';
		free(part);
	}
	*len = n;
	return all;
}

/* In one PEM file, bad CRLs before, between and after good ones hide nothing. */
static void test_bad_and_good_in_one_file(void)
{
	static const char *const files[] = {"crl-cases/ca1-notyet.pem", "crl-cases/ca1-valid.pem",
	                                    "crl-cases/impostor.pem",   "crl-cases/ca2-valid.pem",
	                                    "crl-cases/truncated.pem",  NULL};
	struct jitrd_crl_builder *b = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
	struct jitrd_crl_store *store = NULL;
	struct jitrd_diag diag;
	size_t len = 0;
	char *bytes = concat_fixtures(files, &len);
	const struct jitrd_crl_file_report *r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bytes);
	CU_ASSERT_EQUAL(jitrd_crl_builder_add(b, "mixed.pem", (unsigned char *)bytes, len, &diag),
	                JITRD_ERR_CRL_NOT_YET_VALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "mixed.pem: CRL #1 (issuer "));
	r = jitrd_crl_builder_file_at(b, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->result, JITRD_ERR_CRL_NOT_YET_VALID);
	CU_ASSERT_EQUAL(r->crls_accepted, 2);
	CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b, &store), JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(store);
	check_lookups(store, ca1_valid_expect,
	              sizeof(ca1_valid_expect) / sizeof(ca1_valid_expect[0]));
	jitrd_crl_store_free(store);
	jitrd_crl_builder_free(b);
	free(bytes);
}

/* ---- newest CRL wins */

static void test_newer_wins_in_any_order(void)
{
	static const char *const orders[][3] = {
	    {"crl-cases/ca1-valid.pem", "crl-cases/ca1-newer.pem", NULL},
	    {"crl-cases/ca1-newer.pem", "crl-cases/ca1-valid.pem", NULL},
	};
	static const struct expect newer[] = {
	    {"devices/late-revoked.pem", JITRD_CRL_REVOKED, 1},
	    {"devices/revoked.pem", JITRD_CRL_REVOKED, 1},
	    {"devices/good.pem", JITRD_CRL_NOT_LISTED, JITRD_CRL_REASON_NONE},
	};

	for (size_t i = 0; i < 2; i++) {
		struct jitrd_crl_store *store = store_of(orders[i]);
		const struct jitrd_crl_info *info;

		CU_ASSERT_PTR_NOT_NULL_FATAL(store);
		info = jitrd_crl_store_info(store, ca1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(info);
		CU_ASSERT_STRING_EQUAL(info->origin, "crl-cases/ca1-newer.pem");
		CU_ASSERT(info->crl_number > 1);
		CU_ASSERT_EQUAL(info->this_update, T_2030_03_01);
		CU_ASSERT_EQUAL(info->next_update, T_2031_03_01);
		check_lookups(store, newer, sizeof(newer) / sizeof(newer[0]));
		/* held.pem: whatever the newer CRL says (make-fixtures.sh means to drop it from
		 * that CRL), the answer must be OpenSSL's for the newer file, not the older. */
		check_against_openssl(store, "crl-cases/ca1-newer.pem", false);
		jitrd_crl_store_free(store);
	}
}

/* ---- lookups over time, missing CRLs, arguments */

static void test_lookup_past_next_update(void)
{
	static const char *const files[] = {"crls/ca1.crl.pem", NULL};
	struct jitrd_crl_store *store = store_of(files);
	const ASN1_INTEGER *revoked = jitrd_cert_serial(device("devices/revoked.pem"));
	const ASN1_INTEGER *good = jitrd_cert_serial(device("devices/good.pem"));
	struct jitrd_crl_answer answer = {STATUS_UNTOUCHED, REASON_UNTOUCHED, false};
	enum jitrd_crl_status status = STATUS_UNTOUCHED;
	int reason = REASON_UNTOUCHED;

	CU_ASSERT_PTR_NOT_NULL_FATAL(store);
	CU_ASSERT_FALSE(jitrd_crl_store_info(store, ca1)->stale);
	/* past nextUpdate: the answer still comes, marked stale */
	CU_ASSERT_EQUAL(jitrd_crl_lookup(store, ca1, revoked, T_2031_01_01 + 1, &answer), JITRD_OK);
	CU_ASSERT_EQUAL(answer.status, JITRD_CRL_REVOKED);
	CU_ASSERT_EQUAL(answer.reason, 1);
	CU_ASSERT_TRUE(answer.stale);
	answer.stale = false;
	CU_ASSERT_EQUAL(jitrd_crl_lookup(store, ca1, good, T_2031_01_01 + 1, &answer), JITRD_OK);
	CU_ASSERT_EQUAL(answer.status, JITRD_CRL_NOT_LISTED);
	CU_ASSERT_EQUAL(answer.reason, JITRD_CRL_REASON_NONE);
	CU_ASSERT_TRUE(answer.stale);
	/* nextUpdate itself is still current (now <= nextUpdate) */
	CU_ASSERT_EQUAL(lookup(store, ca1, revoked, T_2031_01_01, &status, &reason), JITRD_OK);
	CU_ASSERT_EQUAL(status, JITRD_CRL_REVOKED);
	CU_ASSERT_EQUAL(reason, 1);
	jitrd_crl_store_free(store);
}

/* RFC 5280 §5.2.3: the highest cRLNumber is the issuer's latest word even past its
 * nextUpdate. ca1-expired.pem (#2, dated 2029) was made after ca1-valid.pem (#1, current): it
 * answers, so "not listed" is stale (callers defer), in either order. */
static void test_stale_crl_and_newest_wins(void)
{
	static const char *const orders[][3] = {
	    {"crl-cases/ca1-expired.pem", "crl-cases/ca1-valid.pem", NULL},
	    {"crl-cases/ca1-valid.pem", "crl-cases/ca1-expired.pem", NULL},
	};

	for (size_t i = 0; i < 2; i++) {
		struct jitrd_crl_builder *b = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
		struct jitrd_crl_store *store = NULL;
		struct jitrd_diag diag;
		const struct jitrd_crl_info *info;
		struct jitrd_crl_answer answer = {STATUS_UNTOUCHED, REASON_UNTOUCHED, false};

		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		for (size_t k = 0; k < 2; k++)
			CU_ASSERT_EQUAL(add_fixture(b, orders[i][k], &diag),
			                strstr(orders[i][k], "expired") ? JITRD_ERR_CRL_EXPIRED
			                                                : JITRD_OK);
		CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b, &store), JITRD_OK);
		jitrd_crl_builder_free(b);
		CU_ASSERT_PTR_NOT_NULL_FATAL(store);
		info = jitrd_crl_store_info(store, ca1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(info);
		CU_ASSERT_STRING_EQUAL(info->origin, "crl-cases/ca1-expired.pem");
		CU_ASSERT_EQUAL(info->crl_number, 2);
		CU_ASSERT_TRUE(info->stale);
		CU_ASSERT_EQUAL(jitrd_crl_lookup(store, ca1,
		                                 jitrd_cert_serial(device("devices/good.pem")),
		                                 JITRD_TEST_NOW, &answer),
		                JITRD_OK);
		CU_ASSERT_EQUAL(answer.status, JITRD_CRL_NOT_LISTED);
		CU_ASSERT_TRUE(answer.stale);
		answer.stale = false;
		CU_ASSERT_EQUAL(jitrd_crl_lookup(store, ca1,
		                                 jitrd_cert_serial(device("devices/revoked.pem")),
		                                 JITRD_TEST_NOW, &answer),
		                JITRD_OK);
		CU_ASSERT_EQUAL(answer.status, JITRD_CRL_REVOKED);
		CU_ASSERT_EQUAL(answer.reason, 1);
		CU_ASSERT_TRUE(answer.stale);
		jitrd_crl_store_free(store);
	}
}

/* Key rollover: two CAs of one name; the new CA's CRL has no authorityKeyIdentifier, so its
 * name matches both and only the signature says whose it is. In either order of the CAs. */
static void test_rollover_crl_without_akid(void)
{
	static const char *const orders[][2] = {
	    {"cas-rollover/ca1.pem", "cas-rollover/ca1-rollover.pem"},
	    {"cas-rollover/ca1-rollover.pem", "cas-rollover/ca1.pem"},
	};
	struct jitrd_cert *good = NULL, *revoked = NULL;
	struct jitrd_diag diag = {""};
	size_t len;
	char *pem = tsupport_read_fixture("devices/rollover-good.pem", &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
	CU_ASSERT_EQUAL_FATAL(jitrd_cert_from_pem(pem, len, &good, &diag), JITRD_OK);
	free(pem);
	pem = tsupport_read_fixture("devices/rollover-revoked.pem", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
	CU_ASSERT_EQUAL_FATAL(jitrd_cert_from_pem(pem, len, &revoked, &diag), JITRD_OK);
	free(pem);
	for (size_t o = 0; o < 2; o++) {
		struct jitrd_caset *set = jitrd_caset_new();
		struct jitrd_crl_builder *b = NULL;
		struct jitrd_crl_store *store = NULL;
		struct jitrd_crl_answer answer = {STATUS_UNTOUCHED, REASON_UNTOUCHED, true};
		const struct jitrd_cert *old_ca, *new_ca;

		CU_ASSERT_PTR_NOT_NULL_FATAL(set);
		for (size_t k = 0; k < 2; k++) {
			pem = tsupport_read_fixture(orders[o][k], &len);
			CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
			CU_ASSERT_EQUAL(jitrd_caset_add_pem(set, orders[o][k], pem, len, &diag),
			                JITRD_OK);
			free(pem);
		}
		new_ca = jitrd_caset_find_issuer(set, good);
		CU_ASSERT_PTR_NOT_NULL_FATAL(new_ca);
		old_ca = jitrd_caset_at(set, jitrd_caset_at(set, 0) == new_ca ? 1 : 0);
		CU_ASSERT_STRING_EQUAL(jitrd_cert_id(old_ca), jitrd_cert_id(ca1));
		b = jitrd_crl_builder_new(set, JITRD_TEST_NOW);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		CU_ASSERT_EQUAL(add_fixture(b, "crl-cases/ca1-rollover-noakid.pem", &diag),
		                JITRD_OK);
		CU_ASSERT_EQUAL(add_fixture(b, "crls/ca1.crl.pem", &diag), JITRD_OK);
		CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b, &store), JITRD_OK);
		jitrd_crl_builder_free(b);
		CU_ASSERT_PTR_NOT_NULL_FATAL(store);
		CU_ASSERT_STRING_EQUAL(jitrd_crl_store_info(store, new_ca)->origin,
		                       "crl-cases/ca1-rollover-noakid.pem");
		CU_ASSERT_STRING_EQUAL(jitrd_crl_store_info(store, old_ca)->origin,
		                       "crls/ca1.crl.pem");
		CU_ASSERT_EQUAL(jitrd_crl_lookup(store, new_ca, jitrd_cert_serial(revoked),
		                                 JITRD_TEST_NOW, &answer),
		                JITRD_OK);
		CU_ASSERT_EQUAL(answer.status, JITRD_CRL_REVOKED);
		CU_ASSERT_EQUAL(answer.reason, 1);
		CU_ASSERT_FALSE(answer.stale);
		CU_ASSERT_EQUAL(jitrd_crl_lookup(store, new_ca, jitrd_cert_serial(good),
		                                 JITRD_TEST_NOW, &answer),
		                JITRD_OK);
		CU_ASSERT_EQUAL(answer.status, JITRD_CRL_NOT_LISTED);
		jitrd_crl_store_free(store);

		/* with only the old CA of that name, the new CA's CRL verifies with nothing */
		b = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		CU_ASSERT_EQUAL(add_fixture(b, "crl-cases/ca1-rollover-noakid.pem", &diag),
		                JITRD_ERR_CRL_SIGNATURE);
		CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, jitrd_cert_id(ca1)));
		jitrd_crl_builder_free(b);
		jitrd_caset_free(set);
	}
	jitrd_cert_free(good);
	jitrd_cert_free(revoked);
}

/* Files the caller could not read are reported, in order, between the others. */
static void test_note_failure(void)
{
	struct jitrd_crl_builder *b = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
	struct jitrd_crl_store *store = NULL;
	struct jitrd_diag diag;
	const struct jitrd_crl_file_report *r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(jitrd_crl_builder_note_failure(b, "crl/missing.pem", JITRD_ERR_IO,
	                                               "cannot open: No such file or directory"),
	                JITRD_OK);
	CU_ASSERT_EQUAL(add_fixture(b, "crls/ca1.crl.pem", &diag), JITRD_OK);
	CU_ASSERT_EQUAL(
	    jitrd_crl_builder_note_failure(b, "crl/huge.pem", JITRD_ERR_TOO_LARGE, NULL), JITRD_OK);
	/* refused: nothing recorded */
	CU_ASSERT_EQUAL(jitrd_crl_builder_note_failure(b, "x", JITRD_OK, "fine"),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_crl_builder_note_failure(b, NULL, JITRD_ERR_IO, "x"),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_crl_builder_note_failure(NULL, "x", JITRD_ERR_IO, "x"),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL_FATAL(jitrd_crl_builder_file_count(b), 3);
	r = jitrd_crl_builder_file_at(b, 0);
	CU_ASSERT_STRING_EQUAL(r->origin, "crl/missing.pem");
	CU_ASSERT_EQUAL(r->result, JITRD_ERR_IO);
	CU_ASSERT_STRING_EQUAL(r->reason, "cannot open: No such file or directory");
	CU_ASSERT_EQUAL(r->crls_accepted, 0);
	r = jitrd_crl_builder_file_at(b, 1);
	CU_ASSERT_EQUAL(r->result, JITRD_OK);
	CU_ASSERT_EQUAL(r->crls_accepted, 1);
	r = jitrd_crl_builder_file_at(b, 2);
	CU_ASSERT_STRING_EQUAL(r->origin, "crl/huge.pem");
	CU_ASSERT_EQUAL(r->result, JITRD_ERR_TOO_LARGE);
	CU_ASSERT_STRING_EQUAL(r->reason, jitrd_strerror(JITRD_ERR_TOO_LARGE));
	CU_ASSERT_EQUAL(r->crls_accepted, 0);
	CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b, &store), JITRD_OK);
	/* after finish, as for add */
	CU_ASSERT_EQUAL(jitrd_crl_builder_note_failure(b, "late", JITRD_ERR_IO, "x"),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_crl_builder_file_count(b), 3);
	CU_ASSERT_PTR_NOT_NULL(jitrd_crl_store_info(store, ca1));
	jitrd_crl_store_free(store);
	jitrd_crl_builder_free(b);
}

static void test_ca_without_crl(void)
{
	static const char *const files[] = {"crls/ca1.crl.pem", NULL};
	struct jitrd_crl_store *store = store_of(files);
	enum jitrd_crl_status status = STATUS_UNTOUCHED;
	int reason = REASON_UNTOUCHED;

	CU_ASSERT_PTR_NOT_NULL_FATAL(store);
	CU_ASSERT_EQUAL(lookup(store, ca2, jitrd_cert_serial(device("devices/revoked2.pem")),
	                       JITRD_TEST_NOW, &status, &reason),
	                JITRD_ERR_NO_CRL);
	CU_ASSERT_EQUAL(status, STATUS_UNTOUCHED);
	CU_ASSERT_EQUAL(reason, REASON_UNTOUCHED);
	CU_ASSERT_PTR_NULL(jitrd_crl_store_info(store, ca2));
	jitrd_crl_store_free(store);
}

static void test_odd_serials(void)
{
	static const char *const files[] = {"crls/ca1.crl.pem", NULL};
	struct jitrd_crl_store *store = store_of(files);
	ASN1_INTEGER *serial = ASN1_INTEGER_new();
	BIGNUM *bn = NULL;
	static const char *const serials[] = {
	    "-1002",                                          /* negative: never matches */
	    "0",                                              /* zero */
	    "1002000000000000000000000000000000000000000001", /* over 20 octets */
	    "01002",                                          /* same as 1002, listed */
	};
	static const enum jitrd_crl_status want[] = {JITRD_CRL_NOT_LISTED, JITRD_CRL_NOT_LISTED,
	                                             JITRD_CRL_NOT_LISTED, JITRD_CRL_REVOKED};

	CU_ASSERT_PTR_NOT_NULL_FATAL(store);
	CU_ASSERT_PTR_NOT_NULL_FATAL(serial);
	for (size_t i = 0; i < 4; i++) {
		enum jitrd_crl_status status = STATUS_UNTOUCHED;
		int reason = REASON_UNTOUCHED;

		CU_ASSERT_FATAL(BN_hex2bn(&bn, serials[i]) > 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(BN_to_ASN1_INTEGER(bn, serial));
		CU_ASSERT_EQUAL(lookup(store, ca1, serial, JITRD_TEST_NOW, &status, &reason),
		                JITRD_OK);
		CU_ASSERT_EQUAL(status, want[i]);
		CU_ASSERT_EQUAL(reason, want[i] == JITRD_CRL_REVOKED ? 1 : JITRD_CRL_REASON_NONE);
	}
	BN_free(bn);
	ASN1_INTEGER_free(serial);
	jitrd_crl_store_free(store);
}

static void test_invalid_arguments(void)
{
	static const char *const files[] = {"crls/ca1.crl.pem", NULL};
	struct jitrd_crl_store *store = store_of(files), *other = (void *)&store;
	struct jitrd_crl_builder *b = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
	const ASN1_INTEGER *serial = jitrd_cert_serial(device("devices/revoked.pem"));
	enum jitrd_crl_status status = STATUS_UNTOUCHED;
	int reason = REASON_UNTOUCHED;
	struct jitrd_diag diag;
	const unsigned char byte = 0x30;

	CU_ASSERT_PTR_NOT_NULL_FATAL(store);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NULL(jitrd_crl_builder_new(NULL, JITRD_TEST_NOW));
	CU_ASSERT_EQUAL(jitrd_crl_builder_add(NULL, "x", &byte, 1, &diag), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_crl_builder_add(b, NULL, &byte, 1, &diag), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_crl_builder_add(b, "x", NULL, 1, &diag), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_crl_builder_file_count(b), 0);
	CU_ASSERT_EQUAL(jitrd_crl_builder_add(b, "x", &byte, JITRD_CRL_MAX_FILE + 1, &diag),
	                JITRD_ERR_TOO_LARGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "x: "));
	CU_ASSERT_EQUAL(jitrd_crl_builder_file_count(b), 1);
	CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_crl_builder_finish(NULL, &other), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_PTR_EQUAL(other, (void *)&store);
	CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b, &other), JITRD_OK);
	jitrd_crl_store_free(other);
	other = (void *)&store;
	/* finish hands the indexes over: a second finish or a later add is refused */
	CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b, &other), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_PTR_EQUAL(other, (void *)&store);
	CU_ASSERT_EQUAL(jitrd_crl_builder_add(b, "x", &byte, 1, &diag), JITRD_ERR_INVALID_ARG);
	jitrd_crl_builder_free(b);

	CU_ASSERT_EQUAL(lookup(NULL, ca1, serial, JITRD_TEST_NOW, &status, &reason),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(lookup(store, NULL, serial, JITRD_TEST_NOW, &status, &reason),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(lookup(store, ca1, NULL, JITRD_TEST_NOW, &status, &reason),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(lookup(store, ca1, serial, JITRD_TEST_NOW, NULL, &reason),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(lookup(store, ca1, serial, JITRD_TEST_NOW, &status, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_crl_lookup(store, ca1, serial, JITRD_TEST_NOW, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(status, STATUS_UNTOUCHED);
	CU_ASSERT_EQUAL(reason, REASON_UNTOUCHED);
	CU_ASSERT_EQUAL(jitrd_crl_builder_file_count(NULL), 0);
	CU_ASSERT_PTR_NULL(jitrd_crl_builder_file_at(NULL, 0));
	jitrd_crl_builder_free(NULL);
	jitrd_crl_store_free(NULL);
	jitrd_crl_store_free(store);
}

static void test_reason_names(void)
{
	static const struct {
		int reason;
		const char *name;
	} names[] = {
	    {JITRD_CRL_REASON_NONE, "unspecified"},
	    {0, "unspecified"},
	    {1, "keyCompromise"},
	    {2, "cACompromise"},
	    {3, "affiliationChanged"},
	    {4, "superseded"},
	    {5, "cessationOfOperation"},
	    {6, "certificateHold"},
	    {7, "unknown"},
	    {8, "removeFromCRL"},
	    {9, "privilegeWithdrawn"},
	    {10, "aACompromise"},
	    {11, "unknown"},
	    {-2, "unknown"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		CU_ASSERT_STRING_EQUAL(jitrd_crl_reason_name(names[i].reason), names[i].name);
}

/* ---- CRLs built here, signed with ca1's key: contents `openssl ca` does not produce */

struct entry_spec {
	const char *serial; /* hex, may be negative */
	int reason;         /* -1: no reasonCode */
	int critical_ext;   /* 0 none, 1 unknown critical, 2 critical invalidityDate */
};

enum idp_kind { SCOPE_ALL, SCOPE_ONLY_USER, SCOPE_ONLY_CA, SCOPE_SOME_REASONS, SCOPE_INDIRECT };

struct crl_spec {
	const struct entry_spec *entries;
	size_t entry_count;
	long number; /* -1: no cRLNumber */
	time_t this_update;
	bool no_next_update;
	bool no_akid;
	enum idp_kind idp;
	const char *dp_uri; /* issuingDistributionPoint fullName: a partition */
	long base;          /* > 0: a delta CRL of that BaseCRLNumber */
	time_t next_update; /* 0: 2031-01-01 */
	bool sha1;          /* signed with SHA-1 */
};

static EVP_PKEY *ca1_key(void)
{
	static EVP_PKEY *key;
	size_t len;
	char *pem;
	BIO *bio;

	if (key)
		return key;
	pem = tsupport_read_fixture("keys/ca1.key", &len);
	bio = pem ? BIO_new_mem_buf(pem, (int)len) : NULL;
	key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	free(pem);
	return key;
}

static bool add_entry(X509_CRL *crl, const struct entry_spec *e)
{
	X509_REVOKED *rev = X509_REVOKED_new();
	ASN1_TIME *when = ASN1_TIME_set(NULL, T_2030_01_01);
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	bool ok = false;

	if (!rev || !when || !BN_hex2bn(&bn, e->serial) ||
	    !(serial = BN_to_ASN1_INTEGER(bn, NULL)) ||
	    !X509_REVOKED_set_serialNumber(rev, serial) ||
	    !X509_REVOKED_set_revocationDate(rev, when))
		goto cleanup;
	if (e->reason >= 0) {
		ASN1_ENUMERATED *r = ASN1_ENUMERATED_new();
		int added = r && ASN1_ENUMERATED_set(r, e->reason) &&
		            X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, r, 0, 0);
		ASN1_ENUMERATED_free(r);
		if (!added)
			goto cleanup;
	}
	if (e->critical_ext == 1) {
		ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.55555.2", 1);
		ASN1_OCTET_STRING *value = ASN1_OCTET_STRING_new();
		X509_EXTENSION *ext = NULL;
		int added = oid && value &&
		            ASN1_OCTET_STRING_set(value, (unsigned char *)"\5\0", 2) &&
		            (ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, value)) &&
		            X509_REVOKED_add_ext(rev, ext, -1);
		X509_EXTENSION_free(ext);
		ASN1_OCTET_STRING_free(value);
		ASN1_OBJECT_free(oid);
		if (!added)
			goto cleanup;
	} else if (e->critical_ext == 2) {
		ASN1_GENERALIZEDTIME *t = ASN1_GENERALIZEDTIME_set(NULL, T_2030_01_01);
		int added = t && X509_REVOKED_add1_ext_i2d(rev, NID_invalidity_date, t, 1, 0);
		ASN1_GENERALIZEDTIME_free(t);
		if (!added)
			goto cleanup;
	}
	if (!X509_CRL_add0_revoked(crl, rev))
		goto cleanup;
	rev = NULL;
	ok = true;
cleanup:
	X509_REVOKED_free(rev);
	ASN1_TIME_free(when);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return ok;
}

static bool add_idp(X509_CRL *crl, enum idp_kind kind, const char *dp_uri)
{
	ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();
	bool ok;

	if (!idp)
		return false;
	if (dp_uri) {
		GENERAL_NAME *name = GENERAL_NAME_new();
		ASN1_IA5STRING *uri = ASN1_IA5STRING_new();

		idp->distpoint = DIST_POINT_NAME_new();
		if (!name || !uri || !idp->distpoint ||
		    !ASN1_STRING_set(uri, dp_uri, (int)strlen(dp_uri)) ||
		    !(idp->distpoint->name.fullname = sk_GENERAL_NAME_new_null())) {
			GENERAL_NAME_free(name);
			ASN1_IA5STRING_free(uri);
			ISSUING_DIST_POINT_free(idp);
			return false;
		}
		idp->distpoint->type = 0;
		GENERAL_NAME_set0_value(name, GEN_URI, uri);
		if (!sk_GENERAL_NAME_push(idp->distpoint->name.fullname, name)) {
			GENERAL_NAME_free(name);
			ISSUING_DIST_POINT_free(idp);
			return false;
		}
	}
	if (kind == SCOPE_ONLY_USER)
		idp->onlyuser = 0xff;
	else if (kind == SCOPE_ONLY_CA)
		idp->onlyCA = 0xff;
	else if (kind == SCOPE_INDIRECT)
		idp->indirectCRL = 0xff;
	else if (kind == SCOPE_SOME_REASONS) {
		idp->onlysomereasons = ASN1_BIT_STRING_new();
		if (!idp->onlysomereasons || !ASN1_BIT_STRING_set_bit(idp->onlysomereasons, 1, 1)) {
			ISSUING_DIST_POINT_free(idp);
			return false;
		}
	}
	ok = X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp, 1, 0) == 1;
	ISSUING_DIST_POINT_free(idp);
	return ok;
}

/* DER of a CRL issued by ca1 as spec says; NULL on failure. Caller frees with OPENSSL_free. */
static unsigned char *make_crl(const struct crl_spec *spec, size_t *len)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *last = ASN1_TIME_set(NULL, spec->this_update ? spec->this_update : T_2030_01_01);
	ASN1_TIME *next = ASN1_TIME_set(NULL, spec->next_update ? spec->next_update : T_2031_01_01);
	X509 *ca = jitrd_cert_x509(ca1);
	unsigned char *der = NULL;
	int n;

	if (!crl || !last || !next || !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) ||
	    !X509_CRL_set1_lastUpdate(crl, last) ||
	    (!spec->no_next_update && !X509_CRL_set1_nextUpdate(crl, next)))
		goto cleanup;
	if (!spec->no_akid) {
		X509V3_CTX ctx;
		X509_EXTENSION *ext;

		X509V3_set_ctx(&ctx, ca, NULL, NULL, crl, 0);
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
		if (!ext || !X509_CRL_add_ext(crl, ext, -1)) {
			X509_EXTENSION_free(ext);
			goto cleanup;
		}
		X509_EXTENSION_free(ext);
	}
	if (spec->number >= 0) {
		ASN1_INTEGER *num = ASN1_INTEGER_new();
		int added = num && ASN1_INTEGER_set(num, spec->number) &&
		            X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0);
		ASN1_INTEGER_free(num);
		if (!added)
			goto cleanup;
	}
	if ((spec->idp != SCOPE_ALL || spec->dp_uri) && !add_idp(crl, spec->idp, spec->dp_uri))
		goto cleanup;
	if (spec->base > 0) {
		ASN1_INTEGER *base = ASN1_INTEGER_new();
		int added = base && ASN1_INTEGER_set(base, spec->base) &&
		            X509_CRL_add1_ext_i2d(crl, NID_delta_crl, base, 1, 0);
		ASN1_INTEGER_free(base);
		if (!added)
			goto cleanup;
	}
	for (size_t i = 0; i < spec->entry_count; i++) {
		if (!add_entry(crl, &spec->entries[i]))
			goto cleanup;
	}
	/* no X509_CRL_sort: the entries stay in the order given, to test the index's sort */
	if (!ca1_key() || !X509_CRL_sign(crl, ca1_key(), spec->sha1 ? EVP_sha1() : EVP_sha256()))
		goto cleanup;
	n = i2d_X509_CRL(crl, &der);
	if (n <= 0)
		der = NULL;
	else
		*len = (size_t)n;
cleanup:
	X509_CRL_free(crl);
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	return der;
}

static enum jitrd_err add_made(struct jitrd_crl_builder *b, const char *origin,
                               const struct crl_spec *spec, struct jitrd_diag *diag)
{
	size_t len = 0;
	unsigned char *der = make_crl(spec, &len);
	enum jitrd_err err;

	CU_ASSERT_PTR_NOT_NULL(der);
	if (!der)
		return JITRD_ERR_IO;
	err = jitrd_crl_builder_add(b, origin, der, len, diag);
	OPENSSL_free(der);
	return err;
}

static void lookup_hex(const struct jitrd_crl_store *store, const char *hex,
                       enum jitrd_crl_status *status, int *reason)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;

	*status = STATUS_UNTOUCHED;
	*reason = REASON_UNTOUCHED;
	CU_ASSERT_FATAL(BN_hex2bn(&bn, hex) > 0);
	serial = BN_to_ASN1_INTEGER(bn, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(serial);
	CU_ASSERT_EQUAL(lookup(store, ca1, serial, JITRD_TEST_NOW, status, reason), JITRD_OK);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
}

static const struct entry_spec mixed_entries[] = {
    /* out of order, small and large serials, duplicates with different strength */
    {"7fffffffffffffffffffffffffffffffffffffff", 1, 0}, /* 20 octets */
    {"05", 6, 0},
    {"05", 1, 0}, /* same serial: REVOKED beats HOLD */
    {"0a", 6, 0},
    {"0a", 8, 0}, /* HOLD beats removeFromCRL */
    {"0b", -1, 0},
    {"0b", 4, 0},                                /* explicit reason beats none */
    {"00", 1, 0},                                /* zero */
    {"ffffffffffffff", 3, 0},                    /* 7 octets: the largest small serial */
    {"0100000000000000", 5, 0},                  /* 8 octets: the smallest large one */
    {"3e9f1c55aa01020304050607080910aa", 9, 2},  /* critical invalidityDate is understood */
    {"3e9f1c55aa01020304050607080910ab", 7, 0},  /* unused code 7: revoked, unspecified */
    {"3e9f1c55aa01020304050607080910ac", 99, 0}, /* out of range: revoked, unspecified */
    {"-05", 1, 0},                               /* negative: skipped */
    {"1000", -1, 0},
    {"0c", 6, 0},
    {"0c", 9, 0}, /* REVOKED beats HOLD whatever the codes */
    {"0d", 8, 0},
    {"0d", -1, 0}, /* REVOKED without reason beats removeFromCRL */
};

static void test_made_crl_index(void)
{
	static const struct crl_spec spec = {
	    .entries = mixed_entries,
	    .entry_count = sizeof(mixed_entries) / sizeof(mixed_entries[0]),
	    .number = 3,
	};
	static const struct {
		const char *serial;
		enum jitrd_crl_status status;
		int reason;
	} want[] = {
	    {"7fffffffffffffffffffffffffffffffffffffff", JITRD_CRL_REVOKED, 1},
	    {"7ffffffffffffffffffffffffffffffffffffffe", JITRD_CRL_NOT_LISTED, -1},
	    {"05", JITRD_CRL_REVOKED, 1},
	    {"0a", JITRD_CRL_HOLD, 6},
	    {"0b", JITRD_CRL_REVOKED, 4},
	    {"00", JITRD_CRL_REVOKED, 1},
	    {"ffffffffffffff", JITRD_CRL_REVOKED, 3},
	    {"0100000000000000", JITRD_CRL_REVOKED, 5},
	    {"3e9f1c55aa01020304050607080910aa", JITRD_CRL_REVOKED, 9},
	    {"3e9f1c55aa01020304050607080910ab", JITRD_CRL_REVOKED, 0},
	    {"3e9f1c55aa01020304050607080910ac", JITRD_CRL_REVOKED, 0},
	    {"3e9f1c55aa01020304050607080910ad", JITRD_CRL_NOT_LISTED, -1},
	    {"1000", JITRD_CRL_REVOKED, JITRD_CRL_REASON_NONE},
	    {"0c", JITRD_CRL_REVOKED, 9},
	    {"0d", JITRD_CRL_REVOKED, JITRD_CRL_REASON_NONE},
	    {"06", JITRD_CRL_NOT_LISTED, -1},
	    {"ff", JITRD_CRL_NOT_LISTED, -1},
	    {"0101", JITRD_CRL_NOT_LISTED, -1},
	};
	struct jitrd_crl_builder *b = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
	struct jitrd_crl_store *store = NULL;
	struct jitrd_diag diag = {""};

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(add_made(b, "made.der", &spec, &diag), JITRD_OK);
	if (diag.text[0])
		fprintf(stderr, "  %s\n", diag.text);
	CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b, &store), JITRD_OK);
	jitrd_crl_builder_free(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(store);
	/* 19 entries: 5 duplicates merged, 1 negative skipped */
	CU_ASSERT_EQUAL(jitrd_crl_store_info(store, ca1)->entries, 13);
	CU_ASSERT_EQUAL(jitrd_crl_store_info(store, ca1)->crl_number, 3);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		enum jitrd_crl_status status;
		int reason;

		lookup_hex(store, want[i].serial, &status, &reason);
		if (status != want[i].status)
			fprintf(stderr, "  serial %s: status %d\n", want[i].serial, status);
		CU_ASSERT_EQUAL(status, want[i].status);
		CU_ASSERT_EQUAL(reason, want[i].reason);
	}
	jitrd_crl_store_free(store);
}

static const struct entry_spec one_entry[] = {{"1002", 1, 0}};
static const struct entry_spec critical_entry[] = {{"1002", 1, 0}, {"2002", 1, 1}};
static const struct entry_spec long_serial[] = {
    {"1002", 1, 0}, {"010203040506070809101112131415161718192021", 1, 0}};

static void test_made_crl_refusals(void)
{
	static const struct {
		const char *name;
		struct crl_spec spec;
		enum jitrd_err err;
		const char *why;
	} cases[] = {
	    {"idp-only-user",
	     {.entries = one_entry,
	      .entry_count = 1,
	      .number = 1,
	      .no_next_update = false,
	      .no_akid = false,
	      .idp = SCOPE_ONLY_USER},
	     JITRD_OK,
	     ""},
	    {"no-akid",
	     {.entries = one_entry,
	      .entry_count = 1,
	      .number = 1,
	      .no_next_update = false,
	      .no_akid = true,
	      .idp = SCOPE_ALL},
	     JITRD_OK,
	     ""},
	    {"idp-only-ca",
	     {.entries = one_entry,
	      .entry_count = 1,
	      .number = 1,
	      .no_next_update = false,
	      .no_akid = false,
	      .idp = SCOPE_ONLY_CA},
	     JITRD_ERR_CRL_CRITICAL_EXT,
	     "onlyContainsCACerts"},
	    {"idp-some-reasons",
	     {.entries = one_entry,
	      .entry_count = 1,
	      .number = 1,
	      .no_next_update = false,
	      .no_akid = false,
	      .idp = SCOPE_SOME_REASONS},
	     JITRD_ERR_CRL_CRITICAL_EXT,
	     "onlySomeReasons"},
	    {"idp-indirect",
	     {.entries = one_entry,
	      .entry_count = 1,
	      .number = 1,
	      .no_next_update = false,
	      .no_akid = false,
	      .idp = SCOPE_INDIRECT},
	     JITRD_ERR_CRL_CRITICAL_EXT,
	     "indirectCRL"},
	    {"critical-entry-ext",
	     {.entries = critical_entry,
	      .entry_count = 2,
	      .number = 1,
	      .no_next_update = false,
	      .no_akid = false,
	      .idp = SCOPE_ALL},
	     JITRD_ERR_CRL_CRITICAL_EXT,
	     "entry 2002: critical extension 1.3.6.1.4.1.55555.2"},
	    {"no-next-update",
	     {.entries = one_entry,
	      .entry_count = 1,
	      .number = 1,
	      .no_next_update = true,
	      .no_akid = false,
	      .idp = SCOPE_ALL},
	     JITRD_ERR_CRL_EXPIRED,
	     "no nextUpdate"},
	    {"serial-over-20-octets",
	     {.entries = long_serial,
	      .entry_count = 2,
	      .number = 1,
	      .no_next_update = false,
	      .no_akid = false,
	      .idp = SCOPE_ALL},
	     JITRD_ERR_MALFORMED,
	     "21 octets"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_crl_builder *b = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
		struct jitrd_crl_store *store = NULL;
		struct jitrd_diag diag = {""};
		enum jitrd_crl_status status;
		int reason;
		enum jitrd_err err;

		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		err = add_made(b, cases[i].name, &cases[i].spec, &diag);
		if (err != cases[i].err || !strstr(diag.text, cases[i].why))
			fprintf(stderr, "  %s: got %d \"%s\"\n", cases[i].name, err, diag.text);
		CU_ASSERT_EQUAL(err, cases[i].err);
		CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, cases[i].why));
		CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b, &store), JITRD_OK);
		jitrd_crl_builder_free(b);
		CU_ASSERT_PTR_NOT_NULL_FATAL(store);
		if (cases[i].err == JITRD_OK) {
			lookup_hex(store, "1002", &status, &reason);
			CU_ASSERT_EQUAL(status, JITRD_CRL_REVOKED);
		} else if (cases[i].err == JITRD_ERR_CRL_EXPIRED) {
			/* no nextUpdate: kept for what it lists, stale from the start */
			const struct jitrd_crl_info *info = jitrd_crl_store_info(store, ca1);
			struct jitrd_crl_answer answer = {STATUS_UNTOUCHED, REASON_UNTOUCHED,
			                                  false};

			CU_ASSERT_PTR_NOT_NULL_FATAL(info);
			CU_ASSERT_TRUE(info->stale);
			CU_ASSERT_EQUAL(info->next_update, 0);
			CU_ASSERT_EQUAL(
			    jitrd_crl_lookup(store, ca1,
			                     jitrd_cert_serial(device("devices/revoked.pem")),
			                     JITRD_TEST_NOW, &answer),
			    JITRD_OK);
			CU_ASSERT_EQUAL(answer.status, JITRD_CRL_REVOKED);
			CU_ASSERT_TRUE(answer.stale);
		} else {
			CU_ASSERT_PTR_NULL(jitrd_crl_store_info(store, ca1));
		}
		jitrd_crl_store_free(store);
	}
}

/* cRLNumber first, then thisUpdate; a numbered CRL beats an unnumbered one. Holds show which
 * CRL answers (revocations are sticky: any CRL's count, see test_made_revocations_sticky). */
static void test_made_crl_ordering(void)
{
	static const struct entry_spec a[] = {{"0a", 6, 0}};
	static const struct entry_spec b_entries[] = {{"0b", 6, 0}};
	static const struct {
		long first_number; /* the first CRL lists 0a, the second 0b */
		time_t first_update;
		long second_number;
		time_t second_update;
		const char *winner; /* the serial only the winner lists */
	} cases[] = {
	    /* higher number wins although older, in either order */
	    {7, T_2030_03_01, 8, T_2030_01_01, "0b"},
	    {8, T_2030_01_01, 7, T_2030_03_01, "0a"},
	    /* same number: later thisUpdate, in either order */
	    {7, T_2030_03_01, 7, T_2030_01_01, "0a"},
	    {7, T_2030_01_01, 7, T_2030_03_01, "0b"},
	    /* numbered beats unnumbered */
	    {-1, T_2030_03_01, 1, T_2030_01_01, "0b"},
	    /* neither numbered: later thisUpdate */
	    {-1, T_2030_03_01, -1, T_2030_01_01, "0a"},
	    /* numbers over one octet compare as integers */
	    {256, T_2030_01_01, 255, T_2030_01_01, "0a"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_crl_builder *b = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
		struct jitrd_crl_store *store = NULL;
		struct jitrd_diag diag;
		enum jitrd_crl_status status;
		int reason;
		const char *loser = strcmp(cases[i].winner, "0a") == 0 ? "0b" : "0a";
		const struct crl_spec first = {.entries = a,
		                               .entry_count = 1,
		                               .number = cases[i].first_number,
		                               .this_update = cases[i].first_update};
		const struct crl_spec second = {.entries = b_entries,
		                                .entry_count = 1,
		                                .number = cases[i].second_number,
		                                .this_update = cases[i].second_update};

		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		CU_ASSERT_EQUAL(add_made(b, "first", &first, &diag), JITRD_OK);
		CU_ASSERT_EQUAL(add_made(b, "second", &second, &diag), JITRD_OK);
		CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b, &store), JITRD_OK);
		jitrd_crl_builder_free(b);
		CU_ASSERT_PTR_NOT_NULL_FATAL(store);
		lookup_hex(store, cases[i].winner, &status, &reason);
		CU_ASSERT_EQUAL(status, JITRD_CRL_HOLD);
		lookup_hex(store, loser, &status, &reason);
		CU_ASSERT_EQUAL(status, JITRD_CRL_NOT_LISTED);
		jitrd_crl_store_free(store);
	}
}

/* Hostile bytes around a good CRL: a DER CRL with a byte appended, cut at every length. */
static void test_truncations_and_trailing_bytes(void)
{
	static const struct crl_spec spec = {.entries = one_entry, .entry_count = 1, .number = 1};
	size_t len = 0;
	unsigned char *der = make_crl(&spec, &len);
	unsigned char *longer;

	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	longer = malloc(len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(longer);
	memcpy(longer, der, len);
	longer[len] = 0;
	for (size_t cut = 1; cut <= len + 1; cut++) {
		struct jitrd_crl_builder *b = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
		struct jitrd_diag diag;
		enum jitrd_err err;

		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		err = jitrd_crl_builder_add(b, "cut.der", longer, cut, &diag);
		CU_ASSERT_EQUAL(err, cut == len ? JITRD_OK : JITRD_ERR_MALFORMED);
		CU_ASSERT_EQUAL(jitrd_crl_builder_file_at(b, 0)->crls_accepted, cut == len ? 1 : 0);
		jitrd_crl_builder_free(b);
	}
	free(longer);
	OPENSSL_free(der);
}

/* ---- threads */

struct thread_job {
	const struct jitrd_crl_store *store;
	unsigned seed;
	long mismatches;
};

static void *lookup_worker(void *arg)
{
	struct thread_job *job = arg;
	static const struct expect *table = ca1_valid_expect;
	const size_t n = sizeof(ca1_valid_expect) / sizeof(ca1_valid_expect[0]);

	for (long i = 0; i < 200000; i++) {
		const struct expect *e = &table[(size_t)(i + job->seed) % n];
		struct jitrd_cert *dev = device(e->device);
		struct jitrd_crl_answer answer;

		/* no CUnit assertion here: CUnit is not thread-safe */
		if (jitrd_crl_lookup(job->store, strstr(e->device, "2.pem") ? ca2 : ca1,
		                     jitrd_cert_serial(dev), JITRD_TEST_NOW, &answer) != JITRD_OK ||
		    answer.status != e->status || answer.reason != e->reason || answer.stale)
			job->mismatches++;
	}
	return NULL;
}

static void test_concurrent_lookups(void)
{
	static const char *const files[] = {"crls/ca1.crl.pem", "crls/ca2.crl.der", NULL};
	struct jitrd_crl_store *store = store_of(files);
	pthread_t threads[4];
	struct thread_job jobs[4];

	CU_ASSERT_PTR_NOT_NULL_FATAL(store);
	for (unsigned i = 0; i < 4; i++) {
		jobs[i] = (struct thread_job){store, i * 3, 0};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&threads[i], NULL, lookup_worker, &jobs[i]),
		                      0);
	}
	for (unsigned i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(pthread_join(threads[i], NULL), 0);
		CU_ASSERT_EQUAL(jobs[i].mismatches, 0);
	}
	jitrd_crl_store_free(store);
}

/* ---- allocation failures: every failure point gives an error and leaks nothing */

static void test_allocation_failures(void)
{
	static const char *const files[] = {"crl-cases/both-in-one.pem", "crls/ca2.crl.der",
	                                    "crl-cases/ca1-newer.pem", NULL};
	char *bytes[3];
	size_t lens[3];
	long n;
	bool completed = false;

	for (size_t i = 0; i < 3; i++) {
		bytes[i] = tsupport_read_fixture(files[i], &lens[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(bytes[i]);
	}
	for (n = 0; n < 20000 && !completed; n++) {
		struct jitrd_crl_builder *b;
		struct jitrd_crl_store *store = (void *)&n;
		struct jitrd_diag diag;
		enum jitrd_err err = JITRD_OK;

		fail_countdown = n;
		b = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
		if (!b) {
			fail_countdown = -1;
			continue;
		}
		for (size_t i = 0; i < 3; i++) {
			enum jitrd_err e = jitrd_crl_builder_add(
			    b, files[i], (unsigned char *)bytes[i], lens[i], &diag);
			if (e != JITRD_OK && err == JITRD_OK)
				err = e;
		}
		if (err == JITRD_OK) {
			err = jitrd_crl_builder_finish(b, &store);
			if (err != JITRD_OK)
				CU_ASSERT_PTR_EQUAL(store, (void *)&n); /* untouched */
		}
		fail_countdown = -1;
		if (err == JITRD_OK) {
			static const struct expect late[] = {
			    {"devices/late-revoked.pem", JITRD_CRL_REVOKED, 1},
			    {"devices/revoked2.pem", JITRD_CRL_REVOKED, 0},
			};
			check_lookups(store, late, 2);
			jitrd_crl_store_free(store);
			completed = true;
		}
		jitrd_crl_builder_free(b);
	}
	CU_ASSERT(completed);
	CU_ASSERT(n > 5); /* the loop did inject failures before it got through */
	for (size_t i = 0; i < 3; i++)
		free(bytes[i]);
}

/* ---- CRL selection and integrity (RFC 5280 §5.2.3-§5.2.5, §6.3.3) */

#define T_2030_06_02 ((time_t)1906588800)
#define T_2030_06_09 ((time_t)1907193600)

static struct jitrd_caset *caset_of(const char *const *files)
{
	struct jitrd_caset *set = jitrd_caset_new();
	struct jitrd_diag diag;

	CU_ASSERT_PTR_NOT_NULL_FATAL(set);
	for (; *files; files++) {
		size_t len;
		char *pem = tsupport_read_fixture(*files, &len);

		CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
		CU_ASSERT_EQUAL(jitrd_caset_add_pem(set, *files, pem, len, &diag), JITRD_OK);
		free(pem);
	}
	return set;
}

static struct jitrd_cert *cert_of(const char *file)
{
	struct jitrd_cert *cert = NULL;
	struct jitrd_diag diag;
	size_t len;
	char *pem = tsupport_read_fixture(file, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
	CU_ASSERT_EQUAL(jitrd_cert_from_pem(pem, len, &cert, &diag), JITRD_OK);
	free(pem);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
	return cert;
}

/* A store of set at now from fixture files; each file's result must be want[i]. */
static struct jitrd_crl_store *store_at(const struct jitrd_caset *set, time_t now,
                                        const struct jitrd_crl_floors *floors,
                                        const char *const *files, const enum jitrd_err *want)
{
	struct jitrd_crl_builder *b = jitrd_crl_builder_new(set, now);
	struct jitrd_crl_store *store = NULL;
	struct jitrd_diag diag;

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(jitrd_crl_builder_set_floors(b, floors), JITRD_OK);
	for (size_t i = 0; files[i]; i++) {
		enum jitrd_err err = add_fixture(b, files[i], &diag);

		if (err != want[i])
			fprintf(stderr, "  %s: %d (%s)\n", files[i], err, diag.text);
		CU_ASSERT_EQUAL(err, want[i]);
	}
	CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b, &store), JITRD_OK);
	jitrd_crl_builder_free(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(store);
	return store;
}

/* The answer for a device certificate; status STATUS_UNTOUCHED on error. */
static enum jitrd_err answer_cert(const struct jitrd_crl_store *store,
                                  const struct jitrd_caset *set, const char *file, time_t now,
                                  struct jitrd_crl_answer *answer)
{
	struct jitrd_cert *cert = cert_of(file);
	const struct jitrd_cert *ca = jitrd_caset_find_issuer(set, cert);
	enum jitrd_err err;

	answer->status = STATUS_UNTOUCHED;
	answer->reason = REASON_UNTOUCHED;
	answer->stale = false;
	CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
	err = jitrd_crl_lookup_cert(store, ca, cert, now, answer);
	jitrd_cert_free(cert);
	return err;
}

/* CRL #5 (empty, valid a year) beside CRL #10 (lists integ-revoked, valid 7 days): #10 is the
 * issuer's latest word; past its nextUpdate, what it does not list is stale, whatever #5 says,
 * and integ-revoked stays revoked. In either order. */
static void test_integrity_highest_number(void)
{
	static const char *const ca_files[] = {"integrity/cas/integ.pem", NULL};
	static const char *const orders[][3] = {
	    {"integrity/crl-5/integ-05.pem", "integrity/crl-10/integ-10.pem", NULL},
	    {"integrity/crl-10/integ-10.pem", "integrity/crl-5/integ-05.pem", NULL},
	};
	static const enum jitrd_err ok[] = {JITRD_OK, JITRD_OK};
	struct jitrd_caset *set = caset_of(ca_files);

	for (size_t o = 0; o < 2; o++) {
		/* built at 2030-06-09, eight days after #10's thisUpdate: #10 is stale */
		static const enum jitrd_err late[2][2] = {
		    {JITRD_OK, JITRD_ERR_CRL_EXPIRED},
		    {JITRD_ERR_CRL_EXPIRED, JITRD_OK},
		};
		struct jitrd_crl_store *store =
		    store_at(set, T_2030_06_09, NULL, orders[o], late[o]);
		const struct jitrd_crl_info *info =
		    jitrd_crl_store_info(store, jitrd_caset_at(set, 0));
		struct jitrd_crl_answer a;

		CU_ASSERT_PTR_NOT_NULL_FATAL(info);
		CU_ASSERT_PTR_NOT_NULL(strstr(info->origin, "integ-10.pem"));
		CU_ASSERT_EQUAL(info->crl_number, 10);
		CU_ASSERT_TRUE(info->stale);
		CU_ASSERT_EQUAL(
		    answer_cert(store, set, "devices/integ-revoked.pem", T_2030_06_09, &a),
		    JITRD_OK);
		CU_ASSERT_EQUAL(a.status, JITRD_CRL_REVOKED);
		CU_ASSERT_EQUAL(a.reason, 1);
		CU_ASSERT_EQUAL(answer_cert(store, set, "devices/integ-good.pem", T_2030_06_09, &a),
		                JITRD_OK);
		CU_ASSERT_EQUAL(a.status, JITRD_CRL_NOT_LISTED);
		CU_ASSERT_TRUE(a.stale);
		jitrd_crl_store_free(store);

		/* while #10 is current everything is current */
		store = store_at(set, T_2030_06_02, NULL, orders[o], ok);
		CU_ASSERT_EQUAL(answer_cert(store, set, "devices/integ-good.pem", T_2030_06_02, &a),
		                JITRD_OK);
		CU_ASSERT_EQUAL(a.status, JITRD_CRL_NOT_LISTED);
		CU_ASSERT_FALSE(a.stale);
		CU_ASSERT_EQUAL(
		    answer_cert(store, set, "devices/integ-revoked.pem", T_2030_06_02, &a),
		    JITRD_OK);
		CU_ASSERT_EQUAL(a.status, JITRD_CRL_REVOKED);
		CU_ASSERT_FALSE(a.stale);
		jitrd_crl_store_free(store);
	}
	jitrd_caset_free(set);
}

/* An older CRL adds revocations, never removes them; a hold is the newest CRL's word. */
static void test_made_revocations_sticky(void)
{
	static const struct entry_spec older[] = {{"0a", 1, 0}, {"0b", 6, 0}, {"0c", -1, 0}};
	static const struct entry_spec newer[] = {{"0d", 6, 0}};
	const struct crl_spec first = {.entries = older, .entry_count = 3, .number = 8};
	const struct crl_spec second = {.entries = newer, .entry_count = 1, .number = 9};
	static const struct {
		const char *serial;
		enum jitrd_crl_status status;
		int reason;
	} want[] = {
	    {"0a", JITRD_CRL_REVOKED, 1},
	    {"0b", JITRD_CRL_NOT_LISTED, JITRD_CRL_REASON_NONE}, /* hold lifted by #9 */
	    {"0c", JITRD_CRL_REVOKED, JITRD_CRL_REASON_NONE},
	    {"0d", JITRD_CRL_HOLD, 6},
	    {"0e", JITRD_CRL_NOT_LISTED, JITRD_CRL_REASON_NONE},
	};

	for (int order = 0; order < 2; order++) {
		struct jitrd_crl_builder *b = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
		struct jitrd_crl_store *store = NULL;
		struct jitrd_diag diag;
		enum jitrd_crl_status status;
		int reason;

		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		CU_ASSERT_EQUAL(add_made(b, "a", order ? &second : &first, &diag), JITRD_OK);
		CU_ASSERT_EQUAL(add_made(b, "b", order ? &first : &second, &diag), JITRD_OK);
		CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b, &store), JITRD_OK);
		jitrd_crl_builder_free(b);
		CU_ASSERT_EQUAL(jitrd_crl_store_info(store, ca1)->crl_number, 9);
		CU_ASSERT_EQUAL(jitrd_crl_store_info(store, ca1)->entries, 3); /* 0a 0c + hold 0d */
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			lookup_hex(store, want[i].serial, &status, &reason);
			CU_ASSERT_EQUAL(status, want[i].status);
			CU_ASSERT_EQUAL(reason, want[i].reason);
		}
		jitrd_crl_store_free(store);
	}
}

/* Partitions (RFC 5280 §5.2.5, §6.3.3 (b)(2)(i)): p1 (#1) holds part-p1-held and revokes
 * part-p1-revoked; p2 (#2, higher) does not hold it. A device answers to its partition only;
 * one naming a partition without CRL, or none, has no CRL. */
static void test_partitions(void)
{
	static const char *const ca_files[] = {"integrity/part-cas/part.pem", NULL};
	static const char *const files[] = {"integrity/part-crls/p2.pem",
	                                    "integrity/part-crls/p1.pem", NULL};
	static const enum jitrd_err ok[] = {JITRD_OK, JITRD_OK};
	static const struct {
		const char *device;
		enum jitrd_err err;
		enum jitrd_crl_status status;
	} want[] = {
	    {"devices/part-p1-held.pem", JITRD_OK, JITRD_CRL_HOLD},
	    {"devices/part-p1-good.pem", JITRD_OK, JITRD_CRL_NOT_LISTED},
	    {"devices/part-p1-revoked.pem", JITRD_OK, JITRD_CRL_REVOKED},
	    {"devices/part-p2-good.pem", JITRD_OK, JITRD_CRL_NOT_LISTED},
	    {"devices/part-p3.pem", JITRD_ERR_NO_CRL, STATUS_UNTOUCHED},
	    {"devices/part-nocdp.pem", JITRD_ERR_NO_CRL, STATUS_UNTOUCHED},
	};
	struct jitrd_caset *set = caset_of(ca_files);
	struct jitrd_crl_store *store = store_at(set, JITRD_TEST_NOW, NULL, files, ok);
	const struct jitrd_crl_info *info = jitrd_crl_store_info(store, jitrd_caset_at(set, 0));
	struct jitrd_crl_answer a;
	struct jitrd_cert *held = cert_of("devices/part-p1-held.pem");

	CU_ASSERT_PTR_NOT_NULL_FATAL(info);
	CU_ASSERT_EQUAL(info->partitions, 2);
	CU_ASSERT_EQUAL(info->crl_number, 2);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		enum jitrd_err err = answer_cert(store, set, want[i].device, JITRD_TEST_NOW, &a);

		if (err != want[i].err || a.status != want[i].status)
			fprintf(stderr, "  %s: %d status %d\n", want[i].device, err, a.status);
		CU_ASSERT_EQUAL(err, want[i].err);
		CU_ASSERT_EQUAL(a.status, want[i].status);
		CU_ASSERT_FALSE(a.stale);
	}
	/* the serial alone (the sweep): every partition counts */
	CU_ASSERT_EQUAL(jitrd_crl_lookup(store, jitrd_caset_at(set, 0), jitrd_cert_serial(held),
	                                 JITRD_TEST_NOW, &a),
	                JITRD_OK);
	CU_ASSERT_EQUAL(a.status, JITRD_CRL_HOLD);
	/* p2 alone: the p1 devices have no CRL (but a revocation p2 lists still revokes) */
	jitrd_crl_store_free(store);
	{
		static const char *const p2_only[] = {"integrity/part-crls/p2.pem", NULL};

		store = store_at(set, JITRD_TEST_NOW, NULL, p2_only, ok);
		CU_ASSERT_EQUAL(
		    answer_cert(store, set, "devices/part-p1-good.pem", JITRD_TEST_NOW, &a),
		    JITRD_ERR_NO_CRL);
		CU_ASSERT_EQUAL(a.status, STATUS_UNTOUCHED);
		CU_ASSERT_EQUAL(
		    answer_cert(store, set, "devices/part-p1-revoked.pem", JITRD_TEST_NOW, &a),
		    JITRD_OK);
		CU_ASSERT_EQUAL(a.status, JITRD_CRL_REVOKED);
		CU_ASSERT_EQUAL(
		    answer_cert(store, set, "devices/part-p2-good.pem", JITRD_TEST_NOW, &a),
		    JITRD_OK);
		CU_ASSERT_EQUAL(a.status, JITRD_CRL_NOT_LISTED);
		jitrd_crl_store_free(store);
	}
	jitrd_cert_free(held);
	jitrd_caset_free(set);
}

/* Made partitions: the newest CRL of each partition answers for it; a stale partition makes
 * its devices stale, not the other's; the complete scope (no IDP) covers every device. */
static void test_made_partitions(void)
{
	static const struct entry_spec hold_0a[] = {{"0a", 6, 0}};
	const struct crl_spec p1_old = {.entries = hold_0a,
	                                .entry_count = 1,
	                                .number = 3,
	                                .dp_uri = "http://crl.example.com/p1.crl"};
	const struct crl_spec p1_new = {
	    .number = 5, .dp_uri = "http://crl.example.com/p1.crl", .next_update = T_2030_03_01};
	const struct crl_spec p2 = {.entries = hold_0a,
	                            .entry_count = 1,
	                            .number = 4,
	                            .dp_uri = "http://crl.example.com/p2.crl"};
	struct jitrd_crl_builder *b = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
	struct jitrd_crl_store *store = NULL;
	struct jitrd_diag diag;
	const struct jitrd_crl_info *info;

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(add_made(b, "p1-old", &p1_old, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(add_made(b, "p1-new", &p1_new, &diag), JITRD_ERR_CRL_EXPIRED);
	CU_ASSERT_EQUAL(add_made(b, "p2", &p2, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b, &store), JITRD_OK);
	jitrd_crl_builder_free(b);
	info = jitrd_crl_store_info(store, ca1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(info);
	CU_ASSERT_EQUAL(info->partitions, 2);
	CU_ASSERT_TRUE(info->stale); /* p1's newest is stale */
	CU_ASSERT_EQUAL(info->next_update, T_2030_03_01);
	CU_ASSERT_EQUAL(info->crl_number, 5);
	jitrd_crl_store_free(store);
}

/* A CA certificate renewed with the same name and key shares the CRLs of the old one. */
static void test_renewed_ca_shares_crls(void)
{
	static const char *const ca_files[] = {"integrity/renewed-cas/ca1.pem",
	                                       "integrity/renewed-cas/ca1-renewed.pem", NULL};
	static const char *const files[] = {"crls/ca1.crl.pem", NULL};
	static const enum jitrd_err ok[] = {JITRD_OK};
	struct jitrd_caset *set = caset_of(ca_files);
	struct jitrd_crl_store *store = store_at(set, JITRD_TEST_NOW, NULL, files, ok);
	struct jitrd_cert *revoked = cert_of("devices/revoked.pem");
	char k0[65], k1[65];

	CU_ASSERT_EQUAL_FATAL(jitrd_caset_count(set), 2);
	CU_ASSERT_STRING_NOT_EQUAL(jitrd_cert_id(jitrd_caset_at(set, 0)),
	                           jitrd_cert_id(jitrd_caset_at(set, 1)));
	for (size_t i = 0; i < 2; i++) {
		const struct jitrd_cert *ca = jitrd_caset_at(set, i);
		const struct jitrd_crl_info *info = jitrd_crl_store_info(store, ca);
		struct jitrd_crl_answer a = {STATUS_UNTOUCHED, REASON_UNTOUCHED, true};

		CU_ASSERT_PTR_NOT_NULL_FATAL(info);
		CU_ASSERT_STRING_EQUAL(info->origin, "crls/ca1.crl.pem");
		CU_ASSERT_EQUAL(jitrd_crl_lookup_cert(store, ca, revoked, JITRD_TEST_NOW, &a),
		                JITRD_OK);
		CU_ASSERT_EQUAL(a.status, JITRD_CRL_REVOKED);
		CU_ASSERT_FALSE(a.stale);
	}
	CU_ASSERT_TRUE(jitrd_crl_store_issuer_key(store, jitrd_caset_at(set, 0), k0));
	CU_ASSERT_TRUE(jitrd_crl_store_issuer_key(store, jitrd_caset_at(set, 1), k1));
	CU_ASSERT_STRING_EQUAL(k0, k1);
	CU_ASSERT_EQUAL(strlen(k0), 64);
	jitrd_cert_free(revoked);
	jitrd_crl_store_free(store);
	jitrd_caset_free(set);
}

/* Delta CRLs (RFC 5280 §5.2.4, §6.3.3): base #1 holds delta-held; delta #2 (base 1) revokes
 * delta-revoked and lifts the hold with removeFromCRL. A delta without its base revokes what it
 * lists and answers nothing else. */
static void test_delta_crls(void)
{
	static const char *const ca_files[] = {"integrity/delta-cas/delta.pem", NULL};
	static const char *const both[] = {"integrity/delta-crls/delta.pem",
	                                   "integrity/delta-crls/base.pem", NULL};
	static const char *const base_only[] = {"integrity/delta-crls/base.pem", NULL};
	static const char *const delta_only[] = {"integrity/delta-only/delta.pem", NULL};
	static const enum jitrd_err ok[] = {JITRD_OK, JITRD_OK};
	struct jitrd_caset *set = caset_of(ca_files);
	struct jitrd_crl_store *store = store_at(set, JITRD_TEST_NOW, NULL, both, ok);
	const struct jitrd_crl_info *info = jitrd_crl_store_info(store, jitrd_caset_at(set, 0));
	struct jitrd_crl_answer a;

	CU_ASSERT_PTR_NOT_NULL_FATAL(info);
	CU_ASSERT_TRUE(info->delta);
	CU_ASSERT_EQUAL(info->crl_number, 1); /* the base's: the delta is not the authority */
	CU_ASSERT_EQUAL(answer_cert(store, set, "devices/delta-revoked.pem", JITRD_TEST_NOW, &a),
	                JITRD_OK);
	CU_ASSERT_EQUAL(a.status, JITRD_CRL_REVOKED);
	CU_ASSERT_EQUAL(a.reason, 1);
	CU_ASSERT_EQUAL(answer_cert(store, set, "devices/delta-held.pem", JITRD_TEST_NOW, &a),
	                JITRD_OK);
	CU_ASSERT_EQUAL(a.status, JITRD_CRL_REMOVE_FROM_CRL);
	CU_ASSERT_EQUAL(answer_cert(store, set, "devices/delta-good.pem", JITRD_TEST_NOW, &a),
	                JITRD_OK);
	CU_ASSERT_EQUAL(a.status, JITRD_CRL_NOT_LISTED);
	CU_ASSERT_FALSE(a.stale);
	jitrd_crl_store_free(store);

	store = store_at(set, JITRD_TEST_NOW, NULL, base_only, ok);
	CU_ASSERT_EQUAL(answer_cert(store, set, "devices/delta-held.pem", JITRD_TEST_NOW, &a),
	                JITRD_OK);
	CU_ASSERT_EQUAL(a.status, JITRD_CRL_HOLD);
	CU_ASSERT_FALSE(jitrd_crl_store_info(store, jitrd_caset_at(set, 0))->delta);
	jitrd_crl_store_free(store);

	store = store_at(set, JITRD_TEST_NOW, NULL, delta_only, ok);
	CU_ASSERT_PTR_NULL(jitrd_crl_store_info(store, jitrd_caset_at(set, 0)));
	CU_ASSERT_EQUAL(answer_cert(store, set, "devices/delta-revoked.pem", JITRD_TEST_NOW, &a),
	                JITRD_OK);
	CU_ASSERT_EQUAL(a.status, JITRD_CRL_REVOKED);
	CU_ASSERT_TRUE(a.stale); /* no complete CRL: only the revocation is known */
	CU_ASSERT_EQUAL(answer_cert(store, set, "devices/delta-good.pem", JITRD_TEST_NOW, &a),
	                JITRD_ERR_NO_CRL);
	jitrd_crl_store_free(store);
	jitrd_caset_free(set);
}

/* Made deltas: one whose base is newer than the complete CRL we have, or which is older than
 * it, does not apply (its holds are not taken), but its revocations count; an applying delta
 * past its nextUpdate makes the answer stale; a delta without cRLNumber is refused. */
static void test_made_deltas(void)
{
	static const struct entry_spec base_entries[] = {{"0b", 6, 0}};
	static const struct entry_spec delta_entries[] = {{"0a", 1, 0}, {"0c", 6, 0}};
	const struct crl_spec base = {.entries = base_entries, .entry_count = 1, .number = 4};
	static const struct {
		long number, base;
		time_t next_update;
		bool applies, stale;
	} cases[] = {
	    {6, 4, 0, true, false},           /* names the base */
	    {6, 3, 0, true, false},           /* an older base: still completes #4 */
	    {6, 5, 0, false, false},          /* a base we do not have */
	    {3, 2, 0, false, false},          /* older than the complete CRL */
	    {6, 4, T_2030_03_01, true, true}, /* applies, stale */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct crl_spec delta = {.entries = delta_entries,
		                               .entry_count = 2,
		                               .number = cases[i].number,
		                               .base = cases[i].base,
		                               .next_update = cases[i].next_update};
		struct jitrd_crl_builder *b = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
		struct jitrd_crl_store *store = NULL;
		struct jitrd_diag diag;
		struct jitrd_crl_answer a = {STATUS_UNTOUCHED, REASON_UNTOUCHED, false};
		ASN1_INTEGER *serial = ASN1_INTEGER_new();

		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		CU_ASSERT_EQUAL(add_made(b, "base", &base, &diag), JITRD_OK);
		CU_ASSERT_EQUAL(add_made(b, "delta", &delta, &diag),
		                cases[i].next_update ? JITRD_ERR_CRL_EXPIRED : JITRD_OK);
		CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b, &store), JITRD_OK);
		jitrd_crl_builder_free(b);
		CU_ASSERT_EQUAL(jitrd_crl_store_info(store, ca1)->delta, cases[i].applies);
		CU_ASSERT_EQUAL(jitrd_crl_store_info(store, ca1)->crl_number, 4);
		ASN1_INTEGER_set(serial, 0x0a);
		CU_ASSERT_EQUAL(jitrd_crl_lookup(store, ca1, serial, JITRD_TEST_NOW, &a), JITRD_OK);
		CU_ASSERT_EQUAL(a.status, JITRD_CRL_REVOKED);
		ASN1_INTEGER_set(serial, 0x0c);
		CU_ASSERT_EQUAL(jitrd_crl_lookup(store, ca1, serial, JITRD_TEST_NOW, &a), JITRD_OK);
		CU_ASSERT_EQUAL(a.status, cases[i].applies ? JITRD_CRL_HOLD : JITRD_CRL_NOT_LISTED);
		CU_ASSERT_EQUAL(a.stale, cases[i].stale);
		ASN1_INTEGER_set(serial, 0x0b);
		CU_ASSERT_EQUAL(jitrd_crl_lookup(store, ca1, serial, JITRD_TEST_NOW, &a), JITRD_OK);
		/* the delta does not list 0b: the base's hold stands */
		CU_ASSERT_EQUAL(a.status, JITRD_CRL_HOLD);
		ASN1_INTEGER_free(serial);
		jitrd_crl_store_free(store);
	}
	{
		const struct crl_spec unnumbered = {.number = -1, .base = 1};
		const struct crl_spec sha1 = {.number = 1, .sha1 = true};
		struct jitrd_crl_builder *b = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
		struct jitrd_diag diag = {""};

		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		CU_ASSERT_EQUAL(add_made(b, "unnumbered", &unnumbered, &diag), JITRD_ERR_CRL_DELTA);
		CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "delta CRL without a cRLNumber"));
		CU_ASSERT_EQUAL(add_made(b, "sha1", &sha1, &diag), JITRD_ERR_CRL_SIGNATURE);
		CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "signed with SHA1"));
		jitrd_crl_builder_free(b);
	}
}

/* ---- rollback floors */

static struct jitrd_crl_floors *floors_of(const char *text)
{
	struct jitrd_crl_floors *f = NULL;
	struct jitrd_diag diag = {""};

	CU_ASSERT_EQUAL(jitrd_crl_floors_parse("crl-numbers", text, strlen(text), &f, &diag),
	                JITRD_OK);
	if (!f)
		fprintf(stderr, "  floors: %s\n", diag.text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	return f;
}

/* Across runs: #10 accepted, then only #5 offered: #5 is refused as a rollback (its file says
 * so), the CA has no CRL, #5's revocations still count; #10 again, or #5 beside it, is fine. */
static void test_rollback_refused(void)
{
	static const char *const ca_files[] = {"integrity/cas/integ.pem", NULL};
	static const char *const ten[] = {"integrity/crl-10/integ-10.pem", NULL};
	static const char *const five[] = {"integrity/crl-5/integ-05.pem", NULL};
	static const char *const both[] = {"integrity/crl-both/integ-05.pem",
	                                   "integrity/crl-both/integ-10.pem", NULL};
	static const enum jitrd_err ok[] = {JITRD_OK, JITRD_OK};
	struct jitrd_caset *set = caset_of(ca_files);
	const struct jitrd_cert *ca = jitrd_caset_at(set, 0);
	struct jitrd_crl_store *store = store_at(set, T_2030_06_02, NULL, ten, ok);
	struct jitrd_crl_floors *floors = NULL, *again = NULL;
	struct jitrd_crl_builder *b;
	const struct jitrd_crl_rollback *rb;
	const struct jitrd_crl_file_report *r;
	struct jitrd_crl_answer a;
	struct jitrd_diag diag;
	char *text = NULL, key[65], line[160];
	size_t len = 0;

	CU_ASSERT_EQUAL(jitrd_crl_store_floors(store, NULL, &floors), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_crl_floors_count(floors), 1);
	CU_ASSERT_EQUAL(jitrd_crl_floors_format(floors, &text, &len), JITRD_OK);
	CU_ASSERT_TRUE(jitrd_crl_store_issuer_key(store, ca, key));
	snprintf(line, sizeof(line), "jitrd-crl-numbers 1\n%s - a\nend 1\n", key);
	CU_ASSERT_STRING_EQUAL(text, line);
	CU_ASSERT_EQUAL(len, strlen(line));
	jitrd_crl_store_free(store);
	/* the text reads back to the same floors */
	again = floors_of(text);
	OPENSSL_free(text);
	text = NULL;
	CU_ASSERT_EQUAL(jitrd_crl_floors_format(again, &text, &len), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(text, line);
	OPENSSL_free(text);
	jitrd_crl_floors_free(again);

	/* next run: only #5 */
	b = jitrd_crl_builder_new(set, T_2030_06_02);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(jitrd_crl_builder_set_floors(b, floors), JITRD_OK);
	CU_ASSERT_EQUAL(add_fixture(b, five[0], &diag), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_crl_builder_set_floors(b, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b, &store), JITRD_OK);
	r = jitrd_crl_builder_file_at(b, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->result, JITRD_ERR_CRL_ROLLBACK);
	CU_ASSERT_EQUAL(r->crls_accepted, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r->reason, "CRL number 5 is below 10"));
	CU_ASSERT_PTR_NULL(jitrd_crl_store_info(store, ca));
	CU_ASSERT_EQUAL_FATAL(jitrd_crl_store_rollback_count(store), 1);
	rb = jitrd_crl_store_rollback_at(store, 0);
	CU_ASSERT_STRING_EQUAL(rb->number, "5");
	CU_ASSERT_STRING_EQUAL(rb->floor, "10");
	CU_ASSERT_STRING_EQUAL(rb->origin, five[0]);
	CU_ASSERT_STRING_EQUAL(rb->ca_id, jitrd_cert_id(ca));
	CU_ASSERT_PTR_NULL(jitrd_crl_store_rollback_at(store, 1));
	CU_ASSERT_EQUAL(answer_cert(store, set, "devices/integ-good.pem", T_2030_06_02, &a),
	                JITRD_ERR_NO_CRL);
	/* the floors never go down */
	CU_ASSERT_EQUAL(jitrd_crl_store_floors(store, floors, &again), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_crl_floors_format(again, &text, &len), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(text, line);
	OPENSSL_free(text);
	jitrd_crl_floors_free(again);
	jitrd_crl_store_free(store);
	jitrd_crl_builder_free(b);

	/* #5 beside #10: no rollback, #10 answers */
	store = store_at(set, T_2030_06_02, floors, both, ok);
	CU_ASSERT_EQUAL(jitrd_crl_store_rollback_count(store), 0);
	CU_ASSERT_EQUAL(jitrd_crl_store_info(store, ca)->crl_number, 10);
	jitrd_crl_store_free(store);
	jitrd_crl_floors_free(floors);

	/* a floor of exactly 10 accepts #10; a floor of 11 refuses it */
	snprintf(line, sizeof(line), "jitrd-crl-numbers 1\n%s - a\nend 1\n", key);
	floors = floors_of(line);
	store = store_at(set, T_2030_06_02, floors, ten, ok);
	CU_ASSERT_PTR_NOT_NULL(jitrd_crl_store_info(store, ca));
	jitrd_crl_store_free(store);
	jitrd_crl_floors_free(floors);
	snprintf(line, sizeof(line), "jitrd-crl-numbers 1\n%s - b\nend 1\n", key);
	floors = floors_of(line);
	store = store_at(set, T_2030_06_02, floors, ten, ok);
	CU_ASSERT_PTR_NULL(jitrd_crl_store_info(store, ca));
	CU_ASSERT_EQUAL(jitrd_crl_store_rollback_count(store), 1);
	jitrd_crl_store_free(store);
	jitrd_crl_floors_free(floors);
	jitrd_caset_free(set);
}

/* The floors file is parsed strictly: every deviation is refused, nothing is written. */
static void test_floors_parse(void)
{
#define K64 "265f47da675765fbfed5fcc8a52f8687cb15357aa11f03e29f7f492cdadad8c9"
#define P64 "0000000000000000000000000000000000000000000000000000000000000001"
	static const struct {
		const char *text;
		enum jitrd_err err;
		const char *why;
		size_t count;
	} cases[] = {
	    {"jitrd-crl-numbers 1\nend 0\n", JITRD_OK, "", 0},
	    {"jitrd-crl-numbers 1\n" K64 " - a\n" K64 " " P64
	     " 1234567890abcdef1234567890abcdef12345678\nend 2\n",
	     JITRD_OK, "", 2},
	    {"jitrd-crl-numbers 1\n" K64 " - 0\nend 1\n", JITRD_OK, "", 1},
	    {"", JITRD_ERR_MALFORMED, ":1: not a jitrd CRL number file", 0},
	    {"jitrd-crl-numbers 2\nend 0\n", JITRD_ERR_MALFORMED, ":1: not a jitrd", 0},
	    {"jitrd-crl-numbers 1\n", JITRD_ERR_MALFORMED, "no end line", 0},
	    {"jitrd-crl-numbers 1\n" K64 " - a\n", JITRD_ERR_MALFORMED, "no end line", 0},
	    {"jitrd-crl-numbers 1\n" K64 " - a\nend 1", JITRD_ERR_MALFORMED, "not terminated", 0},
	    {"jitrd-crl-numbers 1\n" K64 " - a", JITRD_ERR_MALFORMED, "not terminated", 0},
	    {"jitrd-crl-numbers 1\n" K64 " - a\nend 2\n", JITRD_ERR_MALFORMED, ":3: end line", 0},
	    {"jitrd-crl-numbers 1\nend 0\n" K64 " - a\n", JITRD_ERR_MALFORMED, "after the end", 0},
	    {"jitrd-crl-numbers 1\n" K64 " - A\nend 1\n", JITRD_ERR_MALFORMED, ":2: CRL number", 0},
	    {"jitrd-crl-numbers 1\n" K64 " - 0a\nend 1\n", JITRD_ERR_MALFORMED, ":2: CRL number",
	     0},
	    {"jitrd-crl-numbers 1\n" K64 " - \nend 1\n", JITRD_ERR_MALFORMED, ":2: CRL number", 0},
	    {"jitrd-crl-numbers 1\n" K64 " - -1\nend 1\n", JITRD_ERR_MALFORMED, ":2: CRL number",
	     0},
	    {"jitrd-crl-numbers 1\n" K64 " - 1234567890abcdef1234567890abcdef123456789\nend 1\n",
	     JITRD_ERR_MALFORMED, ":2: CRL number", 0},
	    {"jitrd-crl-numbers 1\n" K64 " - a b\nend 1\n", JITRD_ERR_MALFORMED, ":2: CRL number",
	     0},
	    {"jitrd-crl-numbers 1\n" K64 "  - a\nend 1\n", JITRD_ERR_MALFORMED, ":2: partition", 0},
	    {"jitrd-crl-numbers 1\n" K64 " x a\nend 1\n", JITRD_ERR_MALFORMED, ":2: partition", 0},
	    {"jitrd-crl-numbers 1\n" K64 "0 - a\nend 1\n", JITRD_ERR_MALFORMED, ":2: expected", 0},
	    {"jitrd-crl-numbers 1\nZZ - a\nend 1\n", JITRD_ERR_MALFORMED, ":2: expected", 0},
	    {"jitrd-crl-numbers 1\n" K64 " - a\n" K64 " - b\nend 2\n", JITRD_ERR_MALFORMED,
	     ":3: issuer and partition repeated", 0},
	    {"jitrd-crl-numbers 1\r\nend 0\r\n", JITRD_ERR_MALFORMED, ":1: not a jitrd", 0},
	    {"jitrd-crl-numbers 1\n\nend 0\n", JITRD_ERR_MALFORMED, ":2: expected", 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_crl_floors *f = (void *)&cases[i];
		struct jitrd_diag diag = {""};
		enum jitrd_err err = jitrd_crl_floors_parse("crl-numbers", cases[i].text,
		                                            strlen(cases[i].text), &f, &diag);

		if (err != cases[i].err || !strstr(diag.text, cases[i].why))
			fprintf(stderr, "  case %zu: %d \"%s\"\n", i, err, diag.text);
		CU_ASSERT_EQUAL(err, cases[i].err);
		CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, cases[i].why));
		if (err != JITRD_OK) {
			CU_ASSERT_PTR_EQUAL(f, (void *)&cases[i]); /* untouched */
			CU_ASSERT_EQUAL(strncmp(diag.text, "crl-numbers", 11), 0);
			continue;
		}
		CU_ASSERT_EQUAL(jitrd_crl_floors_count(f), cases[i].count);
		/* what parses formats back to the same text (the cases are in sorted order) */
		{
			char *text = NULL;
			size_t len = 0;

			CU_ASSERT_EQUAL(jitrd_crl_floors_format(f, &text, &len), JITRD_OK);
			CU_ASSERT_STRING_EQUAL(text, cases[i].text);
			OPENSSL_free(text);
		}
		jitrd_crl_floors_free(f);
	}
	/* hostile: a NUL byte, an oversized file, too many entries */
	{
		static const char nul[] = "jitrd-crl-numbers 1\nend 0\n\0";
		struct jitrd_crl_floors *f = NULL;
		struct jitrd_diag diag = {""};
		size_t big = JITRD_CRL_FLOORS_MAX_BYTES + 1;
		char *huge = malloc(big);
		size_t n = 0;

		CU_ASSERT_EQUAL(jitrd_crl_floors_parse("f", nul, sizeof(nul) - 1, &f, &diag),
		                JITRD_ERR_MALFORMED);
		CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "NUL"));
		CU_ASSERT_PTR_NOT_NULL_FATAL(huge);
		memset(huge, 'a', big);
		CU_ASSERT_EQUAL(jitrd_crl_floors_parse("f", huge, big, &f, &diag),
		                JITRD_ERR_TOO_LARGE);
		/* JITRD_CRL_FLOORS_MAX_ENTRIES + 1 distinct lines */
		n = (size_t)snprintf(huge, big, "jitrd-crl-numbers 1\n");
		for (unsigned i = 0; i <= JITRD_CRL_FLOORS_MAX_ENTRIES && n + 200 < big; i++)
			n += (size_t)snprintf(huge + n, big - n, "%056x%08x - 1\n", 0u, i);
		CU_ASSERT_EQUAL(jitrd_crl_floors_parse("f", huge, n, &f, &diag),
		                JITRD_ERR_TOO_LARGE);
		CU_ASSERT_PTR_NULL(f);
		CU_ASSERT_EQUAL(jitrd_crl_floors_parse(NULL, "", 0, &f, &diag),
		                JITRD_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(jitrd_crl_floors_parse("f", NULL, 1, &f, &diag),
		                JITRD_ERR_INVALID_ARG);
		free(huge);
	}
#undef K64
#undef P64
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"valid PEM and DER CRLs", test_valid_pem_and_der},
	    {"both CRLs in one file", test_both_in_one_file},
	    {"store info", test_store_info},
	    {"lookup with a copy of the CA", test_lookup_with_own_copy_of_ca},
	    {"refused files", test_refused_files},
	    {"bad files around a good one", test_bad_files_around_good_one},
	    {"bad and good CRLs in one file", test_bad_and_good_in_one_file},
	    {"newer CRL wins in any order", test_newer_wins_in_any_order},
	    {"lookup past nextUpdate", test_lookup_past_next_update},
	    {"stale CRL and newest wins", test_stale_crl_and_newest_wins},
	    {"files the caller could not read", test_note_failure},
	    {"key rollover: CRL without key id", test_rollover_crl_without_akid},
	    {"CA without CRL", test_ca_without_crl},
	    {"odd serials", test_odd_serials},
	    {"invalid arguments", test_invalid_arguments},
	    {"reason names", test_reason_names},
	    {"made CRL: index", test_made_crl_index},
	    {"made CRL: refusals", test_made_crl_refusals},
	    {"made CRL: ordering", test_made_crl_ordering},
	    {"truncations and trailing bytes", test_truncations_and_trailing_bytes},
	    {"concurrent lookups", test_concurrent_lookups},
	    {"allocation failures", test_allocation_failures},
	    {"integrity: highest CRL number answers", test_integrity_highest_number},
	    {"made CRL: revocations are sticky, holds are not", test_made_revocations_sticky},
	    {"partitions", test_partitions},
	    {"made CRL: partitions", test_made_partitions},
	    {"renewed CA shares CRLs", test_renewed_ca_shares_crls},
	    {"delta CRLs", test_delta_crls},
	    {"made CRL: deltas", test_made_deltas},
	    {"rollback refused", test_rollback_refused},
	    {"floors file parsing", test_floors_parse},
	    {NULL, NULL},
	};
	int status;

	/* before OpenSSL allocates anything, or it refuses the hooks */
	if (!CRYPTO_set_mem_functions(t_malloc, t_realloc, t_free)) {
		fprintf(stderr, "cannot install allocation hooks\n");
		return 99;
	}
	if (load_fixtures() != 0) {
		fprintf(stderr, "cannot load CA and device fixtures\n");
		return 99;
	}
	status = tsupport_run("crl", cases);
	EVP_PKEY_free(ca1_key());
	free_fixtures();
	return status;
}
