/* test_ocsp.c — the OCSP module against responses made by a real responder: the PKI comes from
 * tests/fixtures/ocsp-pki.sh at test time (responses carry the present time), the requests
 * from jitrd_ocsp_request_build, the responses from `openssl ocsp -index ... -reqin`. Good,
 * revoked, hold, unknown, each wrong signer, stale and future, wrong CertID, nonces, and
 * broken bytes. Test code: runs openssl and reads files; the module under test does not. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ocsp.h>

#include "jitrd/crl.h"
#include "jitrd/ocsp.h"
#include "testsupport.h"

#define ONE_DAY 86400
#define SKEW    300

static char pki[64]; /* the temporary directory with the PKI */
static time_t made;  /* about when the responses are made: judged around it */

static char *pki_path(const char *rel)
{
	static char path[4][256];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", pki, rel);
	return p;
}

static struct jitrd_cert *load(const char *rel)
{
	struct jitrd_cert *cert = NULL;
	struct jitrd_diag diag = {{0}};
	size_t len = 0;
	char *pem = tsupport_read(pki_path(rel), &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
	CU_ASSERT_EQUAL_FATAL(jitrd_cert_from_pem(pem, len, &cert, &diag), JITRD_OK);
	free(pem);
	return cert;
}

static void write_file(const char *path, const unsigned char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* The request for device under ca (nonce of 16 bytes of fill, none when fill < 0). */
static void build(const char *device, const char *ca, int fill, struct jitrd_ocsp_request *req)
{
	struct jitrd_cert *cert = load(device);
	struct jitrd_cert *issuer = load(ca);
	unsigned char nonce[JITRD_OCSP_NONCE_LEN];

	memset(nonce, fill, sizeof(nonce));
	CU_ASSERT_EQUAL_FATAL(
	    jitrd_ocsp_request_build(cert, issuer, nonce, fill < 0 ? 0 : sizeof(nonce), req),
	    JITRD_OK);
	CU_ASSERT_TRUE(req->len > 0);
	jitrd_cert_free(cert);
	jitrd_cert_free(issuer);
}

/* The response of `openssl ocsp` to req, signed with signer (a .pem with its .key beside it,
 * or cas/ca.pem with keys/ca.key), with extra options. NULL when openssl failed. */
static unsigned char *respond(const struct jitrd_ocsp_request *req, const char *signer,
                              const char *options, size_t *len)
{
	char cmd[2048], key[128];
	size_t n = strlen(signer);

	if (strcmp(signer, "cas/ca.pem") == 0)
		snprintf(key, sizeof(key), "keys/ca.key");
	else
		snprintf(key, sizeof(key), "%.*s.key", (int)(n - 4), signer);
	write_file(pki_path("req.der"), req->der, req->len);
	remove(pki_path("resp.der"));
	snprintf(cmd, sizeof(cmd),
	         "cd '%s' && openssl ocsp -index index.txt -CA cas/ca.pem -rsigner %s -rkey %s "
	         "-reqin req.der -respout resp.der %s >/dev/null 2>&1",
	         pki, signer, key, options);
	if (system(cmd) != 0)
		return NULL;
	return (unsigned char *)tsupport_read(pki_path("resp.der"), len);
}

/* Judges der about device under ca at at. */
static enum jitrd_err judge(const struct jitrd_ocsp_request *req, const char *device,
                            const char *ca, const unsigned char *der, size_t len, time_t at,
                            struct jitrd_ocsp_answer *a)
{
	struct jitrd_cert *cert = load(device);
	struct jitrd_cert *issuer = load(ca);
	enum jitrd_err err = jitrd_ocsp_judge(req, cert, issuer, der, len, at, SKEW, a);

	jitrd_cert_free(cert);
	jitrd_cert_free(issuer);
	return err;
}

/* One whole case: request with a nonce, response by signer with options, judged at at. */
static struct jitrd_ocsp_answer one(const char *device, const char *signer, const char *options,
                                    time_t at)
{
	struct jitrd_ocsp_request req = {0};
	struct jitrd_ocsp_answer a;
	unsigned char *der;
	size_t len = 0;

	memset(&a, 0x5a, sizeof(a));
	build(device, "cas/ca.pem", 7, &req);
	der = respond(&req, signer, options, &len);
	CU_ASSERT_PTR_NOT_NULL(der);
	if (der)
		CU_ASSERT_EQUAL(judge(&req, device, "cas/ca.pem", der, len, at, &a), JITRD_OK);
	free(der);
	jitrd_ocsp_request_cleanup(&req);
	return a;
}

static bool why_has(const struct jitrd_ocsp_answer *a, const char *part)
{
	if (strstr(a->why, part))
		return true;
	fprintf(stderr, "why is \"%s\", wanted \"%s\"\n", a->why, part);
	return false;
}

static void test_statuses(void)
{
	struct jitrd_ocsp_answer a = one("devices/good.pem", "responder.pem", "-ndays 1", made);

	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_GOOD);
	CU_ASSERT_EQUAL(a.reason, JITRD_CRL_REASON_NONE);
	CU_ASSERT_FALSE(a.nonce_ignored);
	CU_ASSERT_TRUE(a.this_update >= made - 5 && a.this_update <= made + 60);
	CU_ASSERT_EQUAL(a.next_update, a.this_update + ONE_DAY);
	CU_ASSERT_STRING_EQUAL(jitrd_ocsp_status_name(a.status), "good");

	a = one("devices/revoked.pem", "responder.pem", "-ndays 1", made);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_REVOKED);
	CU_ASSERT_EQUAL(a.reason, 1); /* keyCompromise */

	a = one("devices/held.pem", "responder.pem", "-ndays 1", made);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_HOLD);
	CU_ASSERT_EQUAL(a.reason, 6); /* certificateHold */

	a = one("devices/unknown.pem", "responder.pem", "-ndays 1", made);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_UNKNOWN);

	/* RFC 6960 §4.2.2.2: the CA may sign its own answers */
	a = one("devices/revoked.pem", "cas/ca.pem", "-ndays 1", made);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_REVOKED);
	a = one("devices/good.pem", "cas/ca.pem", "-ndays 1 -resp_no_certs", made);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_GOOD);
}

/* One response judged at made + offset: signed by signer with options, it must be invalid
 * for the reason named (why_part), or good (why_part NULL). */
struct judged_case {
	const char *signer;
	const char *options;
	time_t offset;
	const char *why_part;
};

static void run_judged_cases(const struct judged_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct judged_case *c = &cases[i];
		struct jitrd_ocsp_answer a =
		    one("devices/good.pem", c->signer, c->options, made + c->offset);

		if (!c->why_part) {
			CU_ASSERT_EQUAL(a.status, JITRD_OCSP_GOOD);
			continue;
		}
		CU_ASSERT_EQUAL(a.status, JITRD_OCSP_INVALID);
		CU_ASSERT_TRUE(why_has(&a, c->why_part));
	}
}

static void test_signers(void)
{
	static const struct judged_case cases[] = {
	    /* same subject as the real responder, another key */
	    {"unrelated.pem", "-ndays 1", 0, "the CA did not issue"},
	    {"unrelated.pem", "-ndays 1 -resp_no_certs", 0, "neither the CA nor"},
	    {"noeku.pem", "-ndays 1", 0, "id-kp-OCSPSigning"},
	    {"responder-sha1.pem", "-ndays 1", 0, "MD5 or SHA-1"},
	    {"responder.pem", "-ndays 1 -rmd sha1", 0, "MD5 or SHA-1"},
	    /* the responder certificate is valid for 20 days */
	    {"responder.pem", "-ndays 30", 21 * ONE_DAY, "not valid now"},
	};

	run_judged_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_freshness(void)
{
	static const struct judged_case cases[] = {
	    /* RFC 6960 §4.2.2.1, within the skew either side */
	    {"responder.pem", "-ndays 1", ONE_DAY + 30, NULL},
	    {"responder.pem", "-ndays 1", ONE_DAY + SKEW + 120, "past its nextUpdate"},
	    /* signed by the CA: the responder certificate is not valid before it was made */
	    {"cas/ca.pem", "-ndays 1", -60, NULL},
	    {"cas/ca.pem", "-ndays 1", -SKEW - 120, "in the future"},
	    /* no nextUpdate: current only while thisUpdate is */
	    {"responder.pem", "", 0, NULL},
	    {"responder.pem", "", SKEW + 120, "stale"},
	};
	struct jitrd_ocsp_answer a = one("devices/good.pem", "responder.pem", "", made);

	CU_ASSERT_EQUAL(a.next_update, 0);
	run_judged_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_certid_and_nonce(void)
{
	struct jitrd_ocsp_request req = {0}, other = {0}, bare = {0};
	struct jitrd_ocsp_answer a;
	unsigned char *der;
	size_t len = 0;

	build("devices/good.pem", "cas/ca.pem", 1, &req);
	der = respond(&req, "responder.pem", "-ndays 1", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	/* an answer about another certificate */
	CU_ASSERT_EQUAL(judge(&req, "devices/revoked.pem", "cas/ca.pem", der, len, made, &a),
	                JITRD_OK);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_INVALID);
	CU_ASSERT_TRUE(why_has(&a, "CertID"));
	/* a response replayed to a later request: the nonce differs */
	build("devices/good.pem", "cas/ca.pem", 2, &other);
	CU_ASSERT_EQUAL(judge(&other, "devices/good.pem", "cas/ca.pem", der, len, made, &a),
	                JITRD_OK);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_INVALID);
	CU_ASSERT_TRUE(why_has(&a, "nonce"));
	free(der);
	/* a responder that ignores nonces (here: asked without one) is accepted, and said so */
	build("devices/good.pem", "cas/ca.pem", -1, &bare);
	der = respond(&bare, "responder.pem", "-ndays 1", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	CU_ASSERT_EQUAL(judge(&req, "devices/good.pem", "cas/ca.pem", der, len, made, &a),
	                JITRD_OK);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_GOOD);
	CU_ASSERT_TRUE(a.nonce_ignored);
	CU_ASSERT_EQUAL(judge(&bare, "devices/good.pem", "cas/ca.pem", der, len, made, &a),
	                JITRD_OK);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_GOOD);
	CU_ASSERT_FALSE(a.nonce_ignored);
	/* the right serial under another CA */
	CU_ASSERT_EQUAL(judge(&bare, "devices/good.pem", "cas/other.pem", der, len, made, &a),
	                JITRD_OK);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_INVALID);
	free(der);
	jitrd_ocsp_request_cleanup(&req);
	jitrd_ocsp_request_cleanup(&other);
	jitrd_ocsp_request_cleanup(&bare);
}

static void expect_invalid(const struct jitrd_ocsp_request *req, const unsigned char *der,
                           size_t len, const char *part)
{
	struct jitrd_ocsp_answer a;

	memset(&a, 0x5a, sizeof(a));
	CU_ASSERT_EQUAL(judge(req, "devices/good.pem", "cas/ca.pem", der, len, made, &a), JITRD_OK);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_INVALID);
	CU_ASSERT_TRUE(why_has(&a, part));
}

static void test_broken_bytes(void)
{
	struct jitrd_ocsp_request req = {0};
	unsigned char *der, *copy, *big;
	OCSP_RESPONSE *later = OCSP_response_create(OCSP_RESPONSE_STATUS_TRYLATER, NULL);
	unsigned char *later_der = NULL;
	int later_len;
	size_t len = 0;

	build("devices/good.pem", "cas/ca.pem", 3, &req);
	der = respond(&req, "cas/ca.pem", "-ndays 1 -resp_no_certs", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	copy = malloc(len + 1);
	big = calloc(1, JITRD_OCSP_RESPONSE_MAX + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	for (size_t cut = 1; cut < len; cut += 7)
		expect_invalid(&req, der, cut, "does not decode");
	expect_invalid(&req, der, 0, "empty");
	memcpy(copy, der, len);
	copy[len] = 0;
	expect_invalid(&req, copy, len + 1, "bytes after");
	copy[len - 1] ^= 0x01; /* the signature's last byte */
	expect_invalid(&req, copy, len, "signature");
	expect_invalid(&req, (const unsigned char *)"\x30\x03garbage", 9, "does not decode");
	memcpy(big, der, len);
	expect_invalid(&req, big, JITRD_OCSP_RESPONSE_MAX + 1, "larger than");
	later_len = i2d_OCSP_RESPONSE(later, &later_der);
	CU_ASSERT_TRUE_FATAL(later_len > 0);
	expect_invalid(&req, later_der, (size_t)later_len, "trylater");
	OPENSSL_free(later_der);
	OCSP_RESPONSE_free(later);
	free(big);
	free(copy);
	free(der);
	jitrd_ocsp_request_cleanup(&req);
}

static void test_arguments(void)
{
	struct jitrd_cert *cert = load("devices/good.pem");
	struct jitrd_cert *ca = load("cas/ca.pem");
	struct jitrd_ocsp_request req = {(unsigned char *)"x", 1};
	struct jitrd_ocsp_answer a;
	unsigned char nonce[33] = {0};

	CU_ASSERT_EQUAL(jitrd_ocsp_request_build(NULL, ca, NULL, 0, &req), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_ocsp_request_build(cert, ca, nonce, 33, &req), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_ocsp_request_build(cert, ca, NULL, 4, &req), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(req.len, 1); /* untouched */
	memset(&a, 0x5a, sizeof(a));
	CU_ASSERT_EQUAL(jitrd_ocsp_judge(NULL, cert, ca, nonce, 1, made, SKEW, &a),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_ocsp_judge(&req, cert, ca, NULL, 3, made, SKEW, &a),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(a.reason, 0x5a5a5a5a); /* untouched */
	/* a request that does not decode is the caller's error once the rest checks out */
	CU_ASSERT_STRING_EQUAL(jitrd_ocsp_status_name(JITRD_OCSP_NONE), "none");
	CU_ASSERT_STRING_EQUAL(jitrd_ocsp_status_name(JITRD_OCSP_HOLD), "hold");
	jitrd_cert_free(cert);
	jitrd_cert_free(ca);
}

static void test_responder_of(void)
{
	struct jitrd_cert *good = load("devices/good.pem");
	struct jitrd_cert *noaia = load("devices/noaia.pem");
	char url[JITRD_OCSP_URL_MAX] = "untouched";
	char tiny[8] = "tiny";

	/* the ldap:// id-ad-ocsp entry before it is skipped */
	CU_ASSERT_EQUAL(jitrd_ocsp_responder_of(good, url, sizeof(url)), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(url, "http://ocsp.example.test/");
	CU_ASSERT_EQUAL(jitrd_ocsp_responder_of(good, tiny, sizeof(tiny)), JITRD_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(jitrd_ocsp_responder_of(noaia, url, sizeof(url)), JITRD_ERR_FIELD_ABSENT);
	CU_ASSERT_EQUAL(jitrd_ocsp_responder_of(NULL, url, sizeof(url)), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(url, "http://ocsp.example.test/");
	jitrd_cert_free(good);
	jitrd_cert_free(noaia);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"good, revoked, hold, unknown; CA or delegated signer", test_statuses},
	    {"unrelated key, no OCSPSigning, SHA-1: refused", test_signers},
	    {"thisUpdate/nextUpdate within the skew", test_freshness},
	    {"CertID and nonce must match", test_certid_and_nonce},
	    {"truncated, garbage, oversized, trailing, error status", test_broken_bytes},
	    {"arguments; outputs untouched on error", test_arguments},
	    {"responder URL from Authority Information Access", test_responder_of},
	    {NULL, NULL},
	};
	const char *src = getenv("JITRD_SOURCE_ROOT");
	char cmd[512];
	int status;

	if (!src) {
		fprintf(stderr, "JITRD_SOURCE_ROOT is not set\n");
		return 2;
	}
	snprintf(pki, sizeof(pki), "/tmp/jitrd-ocsp-XXXXXX");
	if (!mkdtemp(pki))
		return 2;
	snprintf(cmd, sizeof(cmd), "sh '%s/tests/fixtures/ocsp-pki.sh' '%s'", src, pki);
	if (system(cmd) != 0) {
		fprintf(stderr, "ocsp-pki.sh failed\n");
		return 2;
	}
	made = time(NULL);
	status = tsupport_run("ocsp", cases);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pki);
	if (system(cmd) != 0)
		status = status ? status : 2;
	return status;
}
