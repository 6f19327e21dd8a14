/* test_emulator.c — the emulator's pure part: store state rules (CA registration, certificate
 * status changes, JITR), pagination, policies and things, error mapping, SigV4 verification of
 * requests signed by the sigv4 module (and refusal of tampered, stale, foreign ones). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "jitrd/cert.h"
#include "jitrd/sigv4.h"
#include "routes.h"
#include "store.h"
#include "testsupport.h"

#define REGION  "us-east-1"
#define ACCOUNT "123456789012"
#define KEY_ID  "AKIDTEST"
#define SECRET  "test/secret+key"
#define CODE    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define NOW_MS  ((int64_t)JITRD_TEST_NOW * 1000)

/* Strings equal, NULL never equal: a missing field fails the case instead of crashing it. */
static int str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL || strcmp(a, b) != 0) {
		printf("\n    '%s' != '%s'\n", a ? a : "(null)", b ? b : "(null)");
		return 0;
	}
	return 1;
}
#define ASSERT_STR(a, b) CU_ASSERT(str_eq((a), (b)))

static struct json_object *const SENTINEL = (struct json_object *)&SENTINEL;

/* ---- helpers ---- */

static struct emu_store *new_store(void)
{
	struct emu_store_config c = {
	    .region = REGION, .account_id = ACCOUNT, .registration_code = CODE};
	struct emu_store *store = NULL;

	CU_ASSERT_EQUAL_FATAL(emu_store_new(&c, &store), JITRD_OK);
	return store;
}

static char *fixture_text(const char *rel)
{
	size_t len;
	char *text = tsupport_read_fixture(rel, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	return text;
}

static char *cert_id_of(const char *rel, char id[65])
{
	char *pem = fixture_text(rel);
	struct jitrd_cert *cert = NULL;
	struct jitrd_diag diag;

	CU_ASSERT_EQUAL_FATAL(jitrd_cert_from_pem(pem, strlen(pem), &cert, &diag), JITRD_OK);
	memcpy(id, jitrd_cert_id(cert), 65);
	jitrd_cert_free(cert);
	return pem;
}

/* A verification certificate with CN = cn, issued by the fixture CA `ca` with key `key`. */
static char *verification_pem(const char *ca, const char *key, const char *cn)
{
	FILE *f;
	X509 *issuer, *x = X509_new();
	EVP_PKEY *issuer_key, *pkey = EVP_EC_gen("P-256");
	X509_NAME *name = X509_NAME_new();
	BIO *mem = BIO_new(BIO_s_mem());
	char *data, *out;
	long len;

	f = fopen(tsupport_fixture(ca), "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	issuer = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	f = fopen(tsupport_fixture(key), "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	issuer_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	CU_ASSERT_FATAL(issuer != NULL && issuer_key != NULL && pkey != NULL && x != NULL);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, X509_get_subject_name(issuer));
	X509_time_adj_ex(X509_getm_notBefore(x), -1, 0, NULL);
	X509_time_adj_ex(X509_getm_notAfter(x), 1, 0, NULL);
	X509_set_pubkey(x, pkey);
	CU_ASSERT_FATAL(X509_sign(x, issuer_key, EVP_sha256()) > 0);
	PEM_write_bio_X509(mem, x);
	len = BIO_get_mem_data(mem, &data);
	out = calloc(1, (size_t)len + 1);
	memcpy(out, data, (size_t)len);
	BIO_free(mem);
	X509_NAME_free(name);
	X509_free(x);
	X509_free(issuer);
	EVP_PKEY_free(pkey);
	EVP_PKEY_free(issuer_key);
	return out;
}

struct call_buf {
	struct emu_param params[8];
	struct emu_call call;
};

/* A call with label and up to 4 query pairs ("name", "value", ..., NULL). */
static struct emu_call *make_call(struct call_buf *b, const char *label, struct json_object *body,
                                  ...)
{
	va_list ap;
	const char *name;

	memset(b, 0, sizeof *b);
	va_start(ap, body);
	while ((name = va_arg(ap, const char *)) != NULL && b->call.param_count < 8) {
		b->params[b->call.param_count].name = name;
		b->params[b->call.param_count].value = va_arg(ap, const char *);
		b->call.param_count++;
	}
	va_end(ap);
	b->call.label = label;
	b->call.params = b->params;
	b->call.body = body;
	b->call.now_ms = NOW_MS;
	return &b->call;
}

static struct json_object *body_of(const char *k1, const char *v1, const char *k2, const char *v2)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, k1, json_object_new_string(v1));
	if (k2 != NULL)
		json_object_object_add(o, k2, json_object_new_string(v2));
	return o;
}

/* Runs op; asserts the outcome: want_status 200 = OK (returns the answer), else the API error
 * with that status and code, and *out untouched. */
static struct json_object *expect(emu_op_fn op, struct emu_store *store,
                                  const struct emu_call *call, int want_status, const char *code)
{
	struct json_object *out = SENTINEL;
	struct emu_api_error err = {0, "", ""};
	enum jitrd_err e = op(store, call, &out, &err);

	if (want_status == 200) {
		if (e != JITRD_OK)
			printf("\n    got %d %d %s: %s\n", e, err.http_status, err.code,
			       err.message);
		CU_ASSERT_EQUAL(e, JITRD_OK);
		CU_ASSERT(out != SENTINEL && out != NULL);
		if (e != JITRD_OK || out == SENTINEL)
			return NULL;
		return out;
	}
	if (e != JITRD_ERR_API || err.http_status != want_status)
		printf("\n    got %d %d %s: %s\n", e, err.http_status, err.code, err.message);
	CU_ASSERT_EQUAL(e, JITRD_ERR_API);
	CU_ASSERT_EQUAL(err.http_status, want_status);
	ASSERT_STR(err.code, code);
	CU_ASSERT(err.message[0] != '\0');
	CU_ASSERT_PTR_EQUAL(out, SENTINEL);
	if (e == JITRD_OK && out != SENTINEL)
		json_object_put(out);
	return NULL;
}

static const char *jstr(struct json_object *o, const char *path)
{
	struct json_object *v = o;
	char key[64];

	while (v != NULL && *path != '\0') {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		snprintf(key, sizeof key, "%.*s", (int)n, path);
		if (!json_object_object_get_ex(v, key, &v))
			return NULL;
		path += n + (dot ? 1 : 0);
	}
	return v != NULL ? json_object_get_string(v) : NULL;
}

/* Registers fixture ca1 ACTIVE with auto-registration (or not). */
static void register_ca1(struct emu_store *store, const char *active, const char *auto_reg)
{
	struct call_buf b;
	char *ca = fixture_text("cas/ca1.pem");
	char *verification = verification_pem("cas/ca1.pem", "keys/ca1.key", CODE);
	struct json_object *body =
	    body_of("caCertificate", ca, "verificationCertificate", verification);

	json_object_put(expect(emu_op_register_ca_certificate, store,
	                       make_call(&b, NULL, body, "setAsActive", active,
	                                 "allowAutoRegistration", auto_reg, NULL),
	                       200, NULL));
	json_object_put(body);
	free(ca);
	free(verification);
}

/* The device connects; returns the answer and fills event. */
static struct json_object *connect_device(struct emu_store *store, const char *rel,
                                          struct emu_event *event)
{
	char *pem = fixture_text(rel);
	struct json_object *answer = NULL;
	struct emu_api_error err;

	CU_ASSERT_EQUAL(emu_store_connect(store, pem, strlen(pem), NOW_MS, &answer, event, &err),
	                JITRD_OK);
	free(pem);
	return answer;
}

/* ---- store: CA registration ---- */

static void test_register_ca(void)
{
	struct emu_store *store = new_store();
	struct call_buf b;
	char ca_id[65], dev_id[65];
	char *ca = cert_id_of("cas/ca1.pem", ca_id);
	char *device = cert_id_of("devices/good.pem", dev_id);
	char *wrong_cn = verification_pem("cas/ca1.pem", "keys/ca1.key", "not-the-code");
	char *wrong_ca = verification_pem("cas/ca2.pem", "keys/ca2.key", CODE);
	char *good = verification_pem("cas/ca1.pem", "keys/ca1.key", CODE);
	struct json_object *body, *out;

	out =
	    expect(emu_op_get_registration_code, store, make_call(&b, NULL, NULL, NULL), 200, NULL);
	ASSERT_STR(jstr(out, "registrationCode"), CODE);
	json_object_put(out);

	body = body_of("caCertificate", ca, "verificationCertificate", wrong_cn);
	expect(emu_op_register_ca_certificate, store, make_call(&b, NULL, body, NULL), 400,
	       "RegistrationCodeValidationException");
	json_object_put(body);
	body = body_of("caCertificate", ca, "verificationCertificate", wrong_ca);
	expect(emu_op_register_ca_certificate, store, make_call(&b, NULL, body, NULL), 400,
	       "RegistrationCodeValidationException");
	json_object_put(body);
	body = body_of("caCertificate", device, "verificationCertificate", good);
	expect(emu_op_register_ca_certificate, store, make_call(&b, NULL, body, NULL), 400,
	       "CertificateValidationException");
	json_object_put(body);
	body = body_of("caCertificate", "-----BEGIN CERTIFICATE-----\nAAAA\n", NULL, NULL);
	expect(emu_op_register_ca_certificate, store, make_call(&b, NULL, body, NULL), 400,
	       "CertificateValidationException");
	json_object_put(body);
	body = body_of("caCertificate", ca, NULL, NULL);
	expect(emu_op_register_ca_certificate, store, make_call(&b, NULL, body, NULL), 400,
	       "InvalidRequestException");
	json_object_put(body);

	body = body_of("caCertificate", ca, "verificationCertificate", good);
	expect(emu_op_register_ca_certificate, store,
	       make_call(&b, NULL, body, "setAsActive", "yes", NULL), 400,
	       "InvalidRequestException");
	out = expect(emu_op_register_ca_certificate, store,
	             make_call(&b, NULL, body, "setAsActive", "true", NULL), 200, NULL);
	ASSERT_STR(jstr(out, "certificateId"), ca_id);
	CU_ASSERT(
	    strstr(jstr(out, "certificateArn"), "arn:aws:iot:us-east-1:123456789012:cacert/") ==
	    jstr(out, "certificateArn"));
	json_object_put(out);
	expect(emu_op_register_ca_certificate, store, make_call(&b, NULL, body, NULL), 409,
	       "ResourceAlreadyExistsException");
	json_object_put(body);

	out = expect(emu_op_describe_ca_certificate, store, make_call(&b, ca_id, NULL, NULL), 200,
	             NULL);
	ASSERT_STR(jstr(out, "certificateDescription.status"), "ACTIVE");
	ASSERT_STR(jstr(out, "certificateDescription.autoRegistrationStatus"), "DISABLE");
	json_object_put(out);
	expect(emu_op_update_ca_certificate, store,
	       make_call(&b, ca_id, NULL, "newStatus", "REVOKED", NULL), 400,
	       "InvalidRequestException");
	expect(emu_op_update_ca_certificate, store,
	       make_call(&b, dev_id, NULL, "newStatus", "INACTIVE", NULL), 404,
	       "ResourceNotFoundException");
	json_object_put(expect(emu_op_update_ca_certificate, store,
	                       make_call(&b, ca_id, NULL, "newStatus", "INACTIVE",
	                                 "newAutoRegistrationStatus", "ENABLE", NULL),
	                       200, NULL));
	out = expect(emu_op_describe_ca_certificate, store, make_call(&b, ca_id, NULL, NULL), 200,
	             NULL);
	ASSERT_STR(jstr(out, "certificateDescription.status"), "INACTIVE");
	ASSERT_STR(jstr(out, "certificateDescription.autoRegistrationStatus"), "ENABLE");
	json_object_put(out);
	free(ca);
	free(device);
	free(wrong_cn);
	free(wrong_ca);
	free(good);
	emu_store_free(store);
}

/* ---- store: JITR ---- */

static void test_connect_jitr(void)
{
	struct emu_store *store = new_store();
	struct emu_event event = {NULL, NULL};
	struct emu_api_error err;
	struct json_object *answer, *payload, *v;
	struct call_buf b;
	char ca_id[65], dev_id[65], topic[128];
	char *ca = cert_id_of("cas/ca1.pem", ca_id);
	char *device = cert_id_of("devices/good.pem", dev_id);

	/* Unknown CA: refused, nothing registered, no event. */
	answer = connect_device(store, "devices/good.pem", &event);
	CU_ASSERT_FALSE(json_object_get_boolean(json_object_object_get(answer, "connected")));
	CU_ASSERT_PTR_NOT_NULL(jstr(answer, "reason"));
	CU_ASSERT_PTR_NULL(event.topic);
	json_object_put(answer);
	CU_ASSERT_EQUAL(emu_store_certificate_count(store), 0);

	/* Active CA without auto-registration: same. */
	register_ca1(store, "true", "false");
	answer = connect_device(store, "devices/good.pem", &event);
	CU_ASSERT_PTR_NULL(event.topic);
	CU_ASSERT_EQUAL(emu_store_certificate_count(store), 0);
	json_object_put(answer);

	/* With auto-registration: PENDING_ACTIVATION and the event, on every connect. */
	json_object_put(expect(
	    emu_op_update_ca_certificate, store,
	    make_call(&b, ca_id, NULL, "newAutoRegistrationStatus", "ENABLE", NULL), 200, NULL));
	for (int round = 0; round < 2; round++) {
		answer = connect_device(store, "devices/good.pem", &event);
		ASSERT_STR(jstr(answer, "certificateId"), dev_id);
		ASSERT_STR(jstr(answer, "status"), "PENDING_ACTIVATION");
		CU_ASSERT_FALSE(
		    json_object_get_boolean(json_object_object_get(answer, "connected")));
		json_object_put(answer);
		snprintf(topic, sizeof topic, "$aws/events/certificates/registered/%s", ca_id);
		CU_ASSERT_PTR_NOT_NULL_FATAL(event.topic);
		ASSERT_STR(event.topic, topic);
		payload = json_tokener_parse(event.payload);
		CU_ASSERT_PTR_NOT_NULL_FATAL(payload);
		ASSERT_STR(jstr(payload, "certificateId"), dev_id);
		ASSERT_STR(jstr(payload, "caCertificateId"), ca_id);
		ASSERT_STR(jstr(payload, "certificateStatus"), "PENDING_ACTIVATION");
		ASSERT_STR(jstr(payload, "awsAccountId"), ACCOUNT);
		CU_ASSERT(json_object_object_get_ex(payload, "timestamp", &v) &&
		          json_object_is_type(v, json_type_int) &&
		          json_object_get_int64(v) == NOW_MS);
		CU_ASSERT(
		    json_object_object_get_ex(payload, "certificateRegistrationTimestamp", &v) &&
		    json_object_is_type(v, json_type_string));
		json_object_put(payload);
		emu_event_cleanup(&event);
	}
	CU_ASSERT_EQUAL(emu_store_certificate_count(store), 1);

	/* Once ACTIVE it connects, without an event; with its CA inactive it does not. */
	json_object_put(expect(emu_op_update_certificate, store,
	                       make_call(&b, dev_id, NULL, "newStatus", "ACTIVE", NULL), 200,
	                       NULL));
	answer = connect_device(store, "devices/good.pem", &event);
	CU_ASSERT_TRUE(json_object_get_boolean(json_object_object_get(answer, "connected")));
	CU_ASSERT_PTR_NULL(event.topic);
	json_object_put(answer);
	json_object_put(expect(emu_op_update_ca_certificate, store,
	                       make_call(&b, ca_id, NULL, "newStatus", "INACTIVE", NULL), 200,
	                       NULL));
	answer = connect_device(store, "devices/good.pem", &event);
	CU_ASSERT_FALSE(json_object_get_boolean(json_object_object_get(answer, "connected")));
	json_object_put(answer);
	/* A new device of an inactive CA is not registered. */
	answer = connect_device(store, "devices/superseded.pem", &event);
	CU_ASSERT_PTR_NULL(event.topic);
	CU_ASSERT_EQUAL(emu_store_certificate_count(store), 1);
	json_object_put(answer);

	/* Not a certificate: an API error, outputs untouched. */
	answer = SENTINEL;
	CU_ASSERT_EQUAL(emu_store_connect(store, "garbage", 7, NOW_MS, &answer, &event, &err),
	                JITRD_ERR_API);
	CU_ASSERT_EQUAL(err.http_status, 400);
	CU_ASSERT_PTR_EQUAL(answer, SENTINEL);
	CU_ASSERT_PTR_NULL(event.topic);
	free(ca);
	free(device);
	emu_store_free(store);
}

/* ---- store: UpdateCertificate rules (table) ---- */

static void test_update_certificate_rules(void)
{
	static const struct {
		const char *first; /* set first (NULL: none) */
		const char *next;
		int status;
		const char *code;
		const char *after; /* the status afterwards */
	} cases[] = {
	    {NULL, "ACTIVE", 200, NULL, "ACTIVE"},
	    {NULL, "INACTIVE", 200, NULL, "INACTIVE"},
	    {NULL, "REVOKED", 200, NULL, "REVOKED"},
	    {NULL, "PENDING_ACTIVATION", 406, "CertificateStateException", "PENDING_ACTIVATION"},
	    {NULL, "PENDING_TRANSFER", 406, "CertificateStateException", "PENDING_ACTIVATION"},
	    {NULL, "active", 400, "InvalidRequestException", "PENDING_ACTIVATION"},
	    {NULL, "", 400, "InvalidRequestException", "PENDING_ACTIVATION"},
	    {"ACTIVE", "INACTIVE", 200, NULL, "INACTIVE"},
	    {"INACTIVE", "ACTIVE", 200, NULL, "ACTIVE"},
	    {"REVOKED", "ACTIVE", 406, "CertificateStateException", "REVOKED"},
	    {"REVOKED", "INACTIVE", 406, "CertificateStateException", "REVOKED"},
	    {"REVOKED", "REVOKED", 200, NULL, "REVOKED"},
	};
	char dev_id[65];
	char *pem = cert_id_of("devices/good.pem", dev_id);

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct emu_store *store = new_store();
		struct emu_event event = {NULL, NULL};
		struct call_buf b;
		struct json_object *out;

		register_ca1(store, "true", "true");
		json_object_put(connect_device(store, "devices/good.pem", &event));
		emu_event_cleanup(&event);
		if (cases[i].first != NULL)
			json_object_put(
			    expect(emu_op_update_certificate, store,
			           make_call(&b, dev_id, NULL, "newStatus", cases[i].first, NULL),
			           200, NULL));
		json_object_put(
		    expect(emu_op_update_certificate, store,
		           make_call(&b, dev_id, NULL, "newStatus", cases[i].next, NULL),
		           cases[i].status, cases[i].code));
		out = expect(emu_op_describe_certificate, store, make_call(&b, dev_id, NULL, NULL),
		             200, NULL);
		ASSERT_STR(jstr(out, "certificateDescription.status"), cases[i].after);
		json_object_put(out);
		expect(emu_op_update_certificate, store,
		       make_call(&b, "ffff", NULL, "newStatus", "ACTIVE", NULL), 404,
		       "ResourceNotFoundException");
		emu_store_free(store);
	}
	free(pem);
}

/* ---- store: RegisterCertificate's rules (table) ---- */

static void test_register_certificate_rules(void)
{
	static const struct {
		const char *ca_active;     /* ca1 registered with setAsActive */
		const char *device;        /* fixture */
		const char *named_ca;      /* caCertificatePem (NULL: none) */
		const char *status;        /* body member (NULL: none) */
		const char *set_as_active; /* deprecated query flag (NULL: none) */
		int http;
		const char *code;
		const char *after; /* DescribeCertificate's status on success */
	} cases[] = {
	    /* the default status is INACTIVE (API reference, RegisterCertificate) */
	    {"true", "devices/good.pem", "cas/ca1.pem", NULL, NULL, 200, NULL, "INACTIVE"},
	    {"true", "devices/good.pem", NULL, NULL, NULL, 200, NULL, "INACTIVE"},
	    {"true", "devices/good.pem", "cas/ca1.pem", "ACTIVE", NULL, 200, NULL, "ACTIVE"},
	    {"true", "devices/good.pem", "cas/ca1.pem", "REVOKED", NULL, 200, NULL, "REVOKED"},
	    {"true", "devices/good.pem", "cas/ca1.pem", "INACTIVE", "true", 200, NULL, "ACTIVE"},
	    {"true", "devices/good.pem", "cas/ca1.pem", "PENDING_ACTIVATION", NULL, 400,
	     "InvalidRequestException", NULL},
	    {"true", "devices/good.pem", "cas/ca1.pem", "active", NULL, 400,
	     "InvalidRequestException", NULL},
	    {"true", "devices/good.pem", "cas/ca1.pem", NULL, "maybe", 400,
	     "InvalidRequestException", NULL},
	    /* the CA must be registered and ACTIVE */
	    {"false", "devices/good.pem", "cas/ca1.pem", NULL, NULL, 406,
	     "CertificateStateException", NULL},
	    /* signed by another CA than the one named, or by no registered CA */
	    {"true", "devices/revoked2.pem", "cas/ca1.pem", NULL, NULL, 400,
	     "CertificateValidationException", NULL},
	    {"true", "devices/revoked2.pem", NULL, NULL, NULL, 400,
	     "CertificateValidationException", NULL},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct emu_store *store = new_store();
		struct call_buf b;
		char id[65];
		char *pem = cert_id_of(cases[i].device, id);
		char *ca = cases[i].named_ca ? fixture_text(cases[i].named_ca) : NULL;
		struct json_object *body = body_of("certificatePem", pem, NULL, NULL);
		struct json_object *out;

		if (ca)
			json_object_object_add(body, "caCertificatePem",
			                       json_object_new_string(ca));
		if (cases[i].status)
			json_object_object_add(body, "status",
			                       json_object_new_string(cases[i].status));
		register_ca1(store, cases[i].ca_active, "false");
		out =
		    expect(emu_op_register_certificate, store,
		           make_call(&b, NULL, body, cases[i].set_as_active ? "setAsActive" : NULL,
		                     cases[i].set_as_active, NULL),
		           cases[i].http, cases[i].code);
		if (cases[i].http == 200) {
			ASSERT_STR(jstr(out, "certificateId"), id);
			json_object_put(out);
			out = expect(emu_op_describe_certificate, store,
			             make_call(&b, id, NULL, NULL), 200, NULL);
			ASSERT_STR(jstr(out, "certificateDescription.status"), cases[i].after);
			json_object_put(out);
			/* the same certificate twice: already exists, whatever the status asked */
			expect(emu_op_register_certificate, store, make_call(&b, NULL, body, NULL),
			       409, "ResourceAlreadyExistsException");
			CU_ASSERT_EQUAL(emu_store_certificate_count(store), 1);
		} else {
			CU_ASSERT_EQUAL(emu_store_certificate_count(store), 0);
		}
		json_object_put(body);
		free(ca);
		free(pem);
		emu_store_free(store);
	}
}

/* ---- store: RegisterCertificate and ListCertificatesByCA pagination ---- */

static void test_pagination(void)
{
	static const char *const devices[] = {"devices/good.pem", "devices/superseded.pem",
	                                      "devices/held.pem", "devices/unheld.pem",
	                                      "devices/revoked.pem"};
	struct emu_store *store = new_store();
	struct call_buf b;
	struct json_object *out, *list;
	char ca_id[65], ids[5][65], marker[32] = "";
	char *ca = cert_id_of("cas/ca1.pem", ca_id);
	int seen = 0, pages = 0;

	register_ca1(store, "true", "false");
	for (int i = 0; i < 5; i++) {
		char *pem = cert_id_of(devices[i], ids[i]);
		struct json_object *body = body_of("certificatePem", pem, NULL, NULL);

		out = expect(emu_op_register_certificate, store,
		             make_call(&b, NULL, body, i == 0 ? "setAsActive" : NULL, "true", NULL),
		             200, NULL);
		ASSERT_STR(jstr(out, "certificateId"), ids[i]);
		json_object_put(out);
		if (i == 0)
			expect(emu_op_register_certificate, store, make_call(&b, NULL, body, NULL),
			       409, "ResourceAlreadyExistsException");
		json_object_put(body);
		b.call.now_ms = NOW_MS + i;
		free(pem);
	}
	{
		char *other = fixture_text("devices/revoked2.pem"); /* from ca2: not registered */
		struct json_object *body = body_of("certificatePem", other, NULL, NULL);

		expect(emu_op_register_certificate, store, make_call(&b, NULL, body, NULL), 400,
		       "CertificateValidationException");
		json_object_put(body);
		free(other);
	}
	out = expect(emu_op_describe_certificate, store, make_call(&b, ids[0], NULL, NULL), 200,
	             NULL);
	ASSERT_STR(jstr(out, "certificateDescription.status"), "ACTIVE");
	ASSERT_STR(jstr(out, "certificateDescription.caCertificateId"), ca_id);
	json_object_put(out);

	/* Ascending pages of 2: 2, 2, 1, then no nextMarker; each id once, in order. */
	do {
		out = expect(emu_op_list_certificates_by_ca, store,
		             make_call(&b, ca_id, NULL, "pageSize", "2", "isAscendingOrder", "true",
		                       marker[0] ? "marker" : NULL, marker, NULL),
		             200, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(out);
		list = json_object_object_get(out, "certificates");
		CU_ASSERT_EQUAL(json_object_array_length(list), pages < 2 ? 2 : 1);
		for (size_t k = 0; k < json_object_array_length(list) && seen < 5; k++)
			ASSERT_STR(jstr(json_object_array_get_idx(list, k), "certificateId"),
			           ids[seen++]);
		snprintf(marker, sizeof marker, "%s",
		         jstr(out, "nextMarker") ? jstr(out, "nextMarker") : "");
		json_object_put(out);
		pages++;
	} while (marker[0] != '\0' && pages < 10);
	CU_ASSERT_EQUAL(pages, 3);
	CU_ASSERT_EQUAL(seen, 5);

	/* Default order is newest first. */
	out = expect(emu_op_list_certificates_by_ca, store, make_call(&b, ca_id, NULL, NULL), 200,
	             NULL);
	list = json_object_object_get(out, "certificates");
	CU_ASSERT_EQUAL(json_object_array_length(list), 5);
	ASSERT_STR(jstr(json_object_array_get_idx(list, 0), "certificateId"), ids[4]);
	CU_ASSERT_PTR_NULL(jstr(out, "nextMarker"));
	json_object_put(out);

	/* Another CA lists nothing; bad page sizes and markers are refused. */
	out = expect(emu_op_list_certificates_by_ca, store, make_call(&b, "abcd", NULL, NULL), 200,
	             NULL);
	CU_ASSERT_EQUAL(json_object_array_length(json_object_object_get(out, "certificates")), 0);
	json_object_put(out);
	{
		static const char *const bad[][2] = {
		    {"pageSize", "0"},  {"pageSize", "251"},       {"pageSize", "-1"},
		    {"pageSize", "2x"}, {"pageSize", ""},          {"marker", "abc"},
		    {"marker", "-5"},   {"marker", "12345678901"}, {"isAscendingOrder", "1"},
		};

		for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
			expect(emu_op_list_certificates_by_ca, store,
			       make_call(&b, ca_id, NULL, bad[k][0], bad[k][1], NULL), 400,
			       "InvalidRequestException");
	}
	free(ca);
	emu_store_free(store);
}

/* ---- store: policies and things ---- */

static void test_policies_and_things(void)
{
	struct emu_store *store = new_store();
	struct emu_event event = {NULL, NULL};
	struct call_buf b;
	struct json_object *body, *out;
	char dev_id[65], cert_arn[160], long_doc[2100];
	char *pem = cert_id_of("devices/good.pem", dev_id);
	const char *doc = "{\"Version\":\"2012-10-17\",\"Statement\":[]}";

	snprintf(cert_arn, sizeof cert_arn, "arn:aws:iot:%s:%s:cert/%s", REGION, ACCOUNT, dev_id);
	register_ca1(store, "true", "true");
	json_object_put(connect_device(store, "devices/good.pem", &event));
	emu_event_cleanup(&event);

	body = body_of("policyDocument", doc, NULL, NULL);
	out = expect(emu_op_create_policy, store, make_call(&b, "p1", body, NULL), 200, NULL);
	ASSERT_STR(jstr(out, "policyArn"), "arn:aws:iot:us-east-1:123456789012:policy/p1");
	ASSERT_STR(jstr(out, "policyVersionId"), "1");
	json_object_put(out);
	expect(emu_op_create_policy, store, make_call(&b, "p1", body, NULL), 409,
	       "ResourceAlreadyExistsException");
	expect(emu_op_create_policy, store, make_call(&b, "bad name", body, NULL), 400,
	       "InvalidRequestException");
	json_object_put(body);
	body = body_of("policyDocument", "{\"Statement\": [", NULL, NULL);
	expect(emu_op_create_policy, store, make_call(&b, "p2", body, NULL), 400,
	       "MalformedPolicyException");
	json_object_put(body);
	body = body_of("policyDocument", "[1,2]", NULL, NULL);
	expect(emu_op_create_policy, store, make_call(&b, "p2", body, NULL), 400,
	       "MalformedPolicyException");
	json_object_put(body);
	memset(long_doc, ' ', sizeof long_doc - 1);
	long_doc[0] = '{';
	long_doc[sizeof long_doc - 2] = '}';
	long_doc[sizeof long_doc - 1] = '\0';
	body = body_of("policyDocument", long_doc, NULL, NULL);
	expect(emu_op_create_policy, store, make_call(&b, "p2", body, NULL), 400,
	       "MalformedPolicyException");
	json_object_put(body);
	expect(emu_op_create_policy, store, make_call(&b, "p2", NULL, NULL), 400,
	       "InvalidRequestException");

	out = expect(emu_op_get_policy, store, make_call(&b, "p1", NULL, NULL), 200, NULL);
	ASSERT_STR(jstr(out, "policyDocument"), doc);
	json_object_put(out);
	expect(emu_op_get_policy, store, make_call(&b, "p2", NULL, NULL), 404,
	       "ResourceNotFoundException");

	body = body_of("target", cert_arn, NULL, NULL);
	expect(emu_op_attach_policy, store, make_call(&b, "nope", body, NULL), 404,
	       "ResourceNotFoundException");
	json_object_put(
	    expect(emu_op_attach_policy, store, make_call(&b, "p1", body, NULL), 200, NULL));
	json_object_put(expect(emu_op_attach_policy, store, make_call(&b, "p1", body, NULL), 200,
	                       NULL)); /* idempotent */
	json_object_put(body);
	body = body_of("target", "arn:aws:iot:us-east-1:123456789012:cert/ffff", NULL, NULL);
	expect(emu_op_attach_policy, store, make_call(&b, "p1", body, NULL), 404,
	       "ResourceNotFoundException");
	json_object_put(body);
	out = expect(emu_op_list_attached_policies, store, make_call(&b, cert_arn, NULL, NULL), 200,
	             NULL);
	CU_ASSERT_EQUAL(json_object_array_length(json_object_object_get(out, "policies")), 1);
	json_object_put(out);
	expect(emu_op_delete_policy, store, make_call(&b, "p1", NULL, NULL), 409,
	       "DeleteConflictException");
	body = body_of("target", cert_arn, NULL, NULL);
	json_object_put(
	    expect(emu_op_detach_policy, store, make_call(&b, "p1", body, NULL), 200, NULL));
	json_object_put(body);
	json_object_put(
	    expect(emu_op_delete_policy, store, make_call(&b, "p1", NULL, NULL), 200, NULL));
	expect(emu_op_delete_policy, store, make_call(&b, "p1", NULL, NULL), 404,
	       "ResourceNotFoundException");

	/* Things. */
	out = expect(emu_op_create_thing, store, make_call(&b, "dev-1", NULL, NULL), 200, NULL);
	ASSERT_STR(jstr(out, "thingArn"), "arn:aws:iot:us-east-1:123456789012:thing/dev-1");
	json_object_put(out);
	json_object_put(expect(emu_op_create_thing, store, make_call(&b, "dev-1", NULL, NULL), 200,
	                       NULL)); /* same definition: idempotent */
	body = json_tokener_parse("{\"attributePayload\":{\"attributes\":{\"a\":\"b\"}}}");
	expect(emu_op_create_thing, store, make_call(&b, "dev-1", body, NULL), 409,
	       "ResourceAlreadyExistsException");
	json_object_put(body);
	expect(emu_op_create_thing, store, make_call(&b, "bad/name", NULL, NULL), 400,
	       "InvalidRequestException");
	/* Attributes as botocore's model has them: at most 3 on a Thing without a type, string
	 * values, names [a-zA-Z0-9_.,@/:#-]+, values [a-zA-Z0-9_.,@/:#=\[\]-]*. */
	{
		static const char *const refused[] = {
		    "{\"attributePayload\":{\"attributes\":{\"a\":7}}}",
		    "{\"attributePayload\":{\"attributes\":{\"a b\":\"x\"}}}",
		    "{\"attributePayload\":{\"attributes\":{\"a\":\"x y\"}}}",
		    ("{\"attributePayload\":{\"attributes\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\","
		     "\"d\":\"4\"}}}"),
		    "{\"attributePayload\":{\"attributes\":{\"\":\"x\"}}}",
		};
		for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
			body = json_tokener_parse(refused[i]);
			expect(emu_op_create_thing, store, make_call(&b, "attr-1", body, NULL), 400,
			       "InvalidRequestException");
			json_object_put(body);
		}
		body = json_tokener_parse(
		    "{\"attributePayload\":{\"attributes\":{\"jitrd_ca\":\"ab:1/2=[x]\"}}}");
		json_object_put(expect(emu_op_create_thing, store,
		                       make_call(&b, "attr-1", body, NULL), 200, NULL));
		json_object_put(expect(emu_op_create_thing, store,
		                       make_call(&b, "attr-1", body, NULL), 200, NULL));
		json_object_put(body);
		out = expect(emu_op_describe_thing, store, make_call(&b, "attr-1", NULL, NULL), 200,
		             NULL);
		ASSERT_STR(json_object_get_string(json_object_object_get(
			       json_object_object_get(out, "attributes"), "jitrd_ca")),
		           "ab:1/2=[x]");
		json_object_put(out);
	}
	/* UpdateThing with expectedVersion: a compare-and-swap on the version DescribeThing
	 * shows, which each update raises by one; merge false replaces, merge true sets and an
	 * empty value removes. */
	{
		static const struct {
			const char *body;
			int status;
			const char *code;
			const char *attributes; /* after the call */
			int64_t version;
		} steps[] = {
		    {"{\"attributePayload\":{\"attributes\":{\"h\":\"a\",\"e\":\"1\"}},"
		     "\"expectedVersion\":1}",
		     200, NULL, "{\"h\":\"a\",\"e\":\"1\"}", 2},
		    /* the same version again: another writer came first */
		    {"{\"attributePayload\":{\"attributes\":{\"h\":\"b\"}},\"expectedVersion\":1}",
		     409, "VersionConflictException", "{\"h\":\"a\",\"e\":\"1\"}", 2},
		    {"{\"attributePayload\":{\"attributes\":{\"h\":\"b\"}},\"expectedVersion\":3}",
		     409, "VersionConflictException", "{\"h\":\"a\",\"e\":\"1\"}", 2},
		    {"{\"attributePayload\":{\"attributes\":{\"h\":\"b\"},\"merge\":false},"
		     "\"expectedVersion\":2}",
		     200, NULL, "{\"h\":\"b\"}", 3},
		    {"{\"attributePayload\":{\"attributes\":{\"e\":\"5\"},\"merge\":true}}", 200,
		     NULL, "{\"h\":\"b\",\"e\":\"5\"}", 4},
		    {"{\"attributePayload\":{\"attributes\":{\"h\":\"\"},\"merge\":true}}", 200,
		     NULL, "{\"e\":\"5\"}", 5},
		    {"{\"attributePayload\":{\"attributes\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"},"
		     "\"merge\":true}}",
		     400, "InvalidRequestException", "{\"e\":\"5\"}", 5},
		    {"{\"expectedVersion\":\"5\"}", 400, "InvalidRequestException", "{\"e\":\"5\"}",
		     5},
		    {"{\"attributePayload\":{\"merge\":1}}", 400, "InvalidRequestException",
		     "{\"e\":\"5\"}", 5},
		    {"{\"attributePayload\":{\"attributes\":{\"x y\":\"1\"}}}", 400,
		     "InvalidRequestException", "{\"e\":\"5\"}", 5},
		    {"{\"thingTypeName\":\"t\"}", 404, "ResourceNotFoundException", "{\"e\":\"5\"}",
		     5},
		    {"{\"expectedVersion\":5}", 200, NULL, "{\"e\":\"5\"}", 6},
		};
		json_object_put(expect(emu_op_create_thing, store,
		                       make_call(&b, "lease", NULL, NULL), 200, NULL));
		for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
			struct json_object *want = json_tokener_parse(steps[i].attributes);

			body = json_tokener_parse(steps[i].body);
			CU_ASSERT_PTR_NOT_NULL_FATAL(body);
			json_object_put(expect(emu_op_update_thing, store,
			                       make_call(&b, "lease", body, NULL), steps[i].status,
			                       steps[i].code));
			json_object_put(body);
			out = expect(emu_op_describe_thing, store,
			             make_call(&b, "lease", NULL, NULL), 200, NULL);
			if (!json_object_equal(json_object_object_get(out, "attributes"), want))
				fprintf(stderr, "update step %zu: attributes %s\n", i,
				        json_object_to_json_string(
					    json_object_object_get(out, "attributes")));
			CU_ASSERT_TRUE(
			    json_object_equal(json_object_object_get(out, "attributes"), want));
			CU_ASSERT_EQUAL(
			    json_object_get_int64(json_object_object_get(out, "version")),
			    steps[i].version);
			json_object_put(out);
			json_object_put(want);
		}
		expect(emu_op_update_thing, store, make_call(&b, "no-such", NULL, NULL), 404,
		       "ResourceNotFoundException");
		/* merge is UpdateThing's only */
		body = json_tokener_parse("{\"attributePayload\":{\"merge\":true}}");
		expect(emu_op_create_thing, store, make_call(&b, "merge-1", body, NULL), 400,
		       "InvalidRequestException");
		json_object_put(body);
	}
	b.call.principal = NULL;
	expect(emu_op_attach_thing_principal, store, make_call(&b, "dev-1", NULL, NULL), 400,
	       "InvalidRequestException");
	make_call(&b, "nope", NULL, NULL);
	b.call.principal = cert_arn;
	expect(emu_op_attach_thing_principal, store, &b.call, 404, "ResourceNotFoundException");
	make_call(&b, "dev-1", NULL, NULL);
	b.call.principal = cert_arn;
	json_object_put(expect(emu_op_attach_thing_principal, store, &b.call, 200, NULL));
	out = expect(emu_op_list_thing_principals, store, make_call(&b, "dev-1", NULL, NULL), 200,
	             NULL);
	ASSERT_STR(json_object_get_string(
		       json_object_array_get_idx(json_object_object_get(out, "principals"), 0)),
	           cert_arn);
	json_object_put(out);
	out = expect(emu_op_describe_thing, store, make_call(&b, "dev-1", NULL, NULL), 200, NULL);
	ASSERT_STR(jstr(out, "defaultClientId"), "dev-1");
	json_object_put(out);
	expect(emu_op_describe_thing, store, make_call(&b, "dev-2", NULL, NULL), 404,
	       "ResourceNotFoundException");
	expect(emu_op_describe_endpoint, store,
	       make_call(&b, NULL, NULL, "endpointType", "iot:Nope", NULL), 400,
	       "InvalidRequestException");

	/* State shows it all; reset forgets it all. */
	out = emu_store_state(store);
	CU_ASSERT_EQUAL(json_object_array_length(json_object_object_get(out, "things")), 3);
	CU_ASSERT_EQUAL(json_object_array_length(json_object_object_get(out, "certificates")), 1);
	json_object_put(out);
	emu_store_reset(store);
	CU_ASSERT_EQUAL(emu_store_certificate_count(store), 0);
	expect(emu_op_describe_thing, store, make_call(&b, "dev-1", NULL, NULL), 404,
	       "ResourceNotFoundException");
	free(pem);
	emu_store_free(store);
}

/* ---- routes + SigV4 ---- */

struct signed_request {
	struct jitrd_sigv4_header headers[6];
	size_t count;
	struct jitrd_sigv4_result result;
	struct emu_http_request http;
};

/* Signs a request with the sigv4 module as a client would. */
static void sign(struct signed_request *s, const char *method, const char *path, const char *query,
                 const char *body, const char *key_id, const char *secret, const char *region,
                 const char *service, time_t when)
{
	struct jitrd_sigv4_header base[2] = {{"Host", "127.0.0.1:4567"},
	                                     {"Content-Type", "application/json"}};
	struct jitrd_sigv4_request req = {
	    .method = method,
	    .path = path,
	    .query = query,
	    .headers = base,
	    .header_count = 2,
	    .payload = (const unsigned char *)body,
	    .payload_len = body ? strlen(body) : 0,
	    .normalize_path = 1,
	};
	struct jitrd_sigv4_credentials creds = {key_id, secret, NULL};
	struct jitrd_sigv4_scope scope = {region, service, when};

	memset(s, 0, sizeof *s);
	CU_ASSERT_EQUAL_FATAL(jitrd_sigv4_sign(&req, &creds, &scope, &s->result), JITRD_OK);
	s->headers[0] = base[0];
	s->headers[1] = base[1];
	s->headers[2] = (struct jitrd_sigv4_header){"X-Amz-Date", s->result.amz_date};
	s->headers[3] = (struct jitrd_sigv4_header){"Authorization", s->result.authorization};
	s->count = 4;
	s->http.method = method;
	s->http.path = path;
	s->http.query = query;
	s->http.headers = s->headers;
	s->http.header_count = s->count;
	s->http.body = (const unsigned char *)body;
	s->http.body_len = body ? strlen(body) : 0;
}

static struct emu *new_emu(void)
{
	struct emu_config c = {.region = REGION,
	                       .account_id = ACCOUNT,
	                       .access_key_id = KEY_ID,
	                       .secret_access_key = SECRET,
	                       .registration_code = CODE,
	                       .seed = 42};
	struct emu *emu = NULL;

	CU_ASSERT_EQUAL_FATAL(emu_new(&c, &emu), JITRD_OK);
	return emu;
}

/* Handles; asserts status and error type ("" for success). */
static void expect_http(struct emu *emu, const struct emu_http_request *req, int64_t now_ms,
                        int status, const char *error_type)
{
	struct emu_response res;

	CU_ASSERT_EQUAL_FATAL(emu_handle(emu, req, now_ms, &res), JITRD_OK);
	CU_ASSERT_EQUAL(res.status, status);
	ASSERT_STR(res.error_type, error_type);
	CU_ASSERT_PTR_NOT_NULL(res.body);
	if (status != 200)
		CU_ASSERT_PTR_NOT_NULL(jstr(res.body, "message"));
	if (res.status != status)
		printf("\n  got %d %s: %s\n", res.status, res.error_type,
		       json_object_to_json_string(res.body));
	emu_response_cleanup(&res);
}

static void test_sigv4_verification(void)
{
	struct emu *emu = new_emu();
	struct signed_request s;
	time_t now = JITRD_TEST_NOW;
	char flipped[2048];

	sign(&s, "GET", "/registrationcode", NULL, NULL, KEY_ID, SECRET, REGION, "iot", now);
	expect_http(emu, &s.http, NOW_MS, 200, "");
	/* Within the 5 minutes both ways. */
	expect_http(emu, &s.http, NOW_MS + 299 * 1000, 200, "");
	expect_http(emu, &s.http, NOW_MS - 299 * 1000, 200, "");
	/* Stale and future dates. */
	expect_http(emu, &s.http, NOW_MS + 301 * 1000, 403, "InvalidSignatureException");
	expect_http(emu, &s.http, NOW_MS - 301 * 1000, 403, "InvalidSignatureException");
	jitrd_sigv4_result_cleanup(&s.result);

	sign(&s, "GET", "/registrationcode", NULL, NULL, KEY_ID, SECRET, REGION, "execute-api",
	     now);
	expect_http(emu, &s.http, NOW_MS, 200, "");
	jitrd_sigv4_result_cleanup(&s.result);
	sign(&s, "GET", "/registrationcode", NULL, NULL, KEY_ID, SECRET, REGION, "s3", now);
	expect_http(emu, &s.http, NOW_MS, 403, "InvalidSignatureException");
	jitrd_sigv4_result_cleanup(&s.result);
	sign(&s, "GET", "/registrationcode", NULL, NULL, KEY_ID, SECRET, "eu-west-1", "iot", now);
	expect_http(emu, &s.http, NOW_MS, 403, "InvalidSignatureException");
	jitrd_sigv4_result_cleanup(&s.result);
	sign(&s, "GET", "/registrationcode", NULL, NULL, "AKIDOTHER", SECRET, REGION, "iot", now);
	expect_http(emu, &s.http, NOW_MS, 403, "UnrecognizedClientException");
	jitrd_sigv4_result_cleanup(&s.result);
	sign(&s, "GET", "/registrationcode", NULL, NULL, KEY_ID, "wrong", REGION, "iot", now);
	expect_http(emu, &s.http, NOW_MS, 403, "InvalidSignatureException");
	jitrd_sigv4_result_cleanup(&s.result);

	/* One flipped byte of the signature; a tampered query; a tampered body. */
	sign(&s, "PUT", "/certificates/abc", "newStatus=ACTIVE", NULL, KEY_ID, SECRET, REGION,
	     "iot", now);
	snprintf(flipped, sizeof flipped, "%s", s.result.authorization);
	flipped[strlen(flipped) - 1] = flipped[strlen(flipped) - 1] == '0' ? '1' : '0';
	s.headers[3].value = flipped;
	expect_http(emu, &s.http, NOW_MS, 403, "InvalidSignatureException");
	s.headers[3].value = s.result.authorization;
	expect_http(emu, &s.http, NOW_MS, 404, "ResourceNotFoundException"); /* signature ok */
	s.http.query = "newStatus=REVOKED";
	expect_http(emu, &s.http, NOW_MS, 403, "InvalidSignatureException");
	jitrd_sigv4_result_cleanup(&s.result);
	sign(&s, "POST", "/policies/p1", NULL, "{\"policyDocument\":\"{}\"}", KEY_ID, SECRET,
	     REGION, "iot", now);
	s.http.body = (const unsigned char *)"{\"policyDocument\":\"[]\"}";
	expect_http(emu, &s.http, NOW_MS, 403, "InvalidSignatureException");
	jitrd_sigv4_result_cleanup(&s.result);

	/* Unsigned, and malformed Authorization headers. */
	{
		static const char *const bad[] = {
		    "",
		    "AWS4-HMAC-SHA256",
		    "AWS4-HMAC-SHA1 Credential=AKIDTEST/20300601/us-east-1/iot/aws4_request, "
		    "SignedHeaders=host, Signature=00",
		    "AWS4-HMAC-SHA256 Credential=AKIDTEST/20300601/us-east-1/iot, "
		    "SignedHeaders=host, Signature=00",
		    "AWS4-HMAC-SHA256 Credential=AKIDTEST/20300601/us-east-1/iot/aws4_request, "
		    "SignedHeaders=host",
		    "AWS4-HMAC-SHA256 Credential=AKIDTEST/20300601/us-east-1/iot/aws4_request, "
		    "SignedHeaders=host, Signature=zz",
		    "AWS4-HMAC-SHA256 Credential=AKIDTEST/20300601/us-east-1/iot/aws4_request/x, "
		    "SignedHeaders=host, Signature=00",
		    "AWS4-HMAC-SHA256 Credential=AKIDTEST/20300601/us-east-1/iot/aws4_request, "
		    "Credential=x, SignedHeaders=host, Signature=00",
		};
		struct jitrd_sigv4_header h[3] = {{"Host", "127.0.0.1"},
		                                  {"X-Amz-Date", "20300601T000000Z"},
		                                  {"Authorization", NULL}};
		struct emu_http_request req = {"GET", "/registrationcode", NULL, h, 2, NULL, 0};

		expect_http(emu, &req, NOW_MS, 403, "MissingAuthenticationTokenException");
		req.header_count = 3;
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			h[2].value = bad[i];
			expect_http(emu, &req, NOW_MS, 403, "IncompleteSignatureException");
		}
		/* Signed headers the request lacks; host not signed. */
		h[2].value = "AWS4-HMAC-SHA256 Credential=AKIDTEST/20300601/us-east-1/iot/"
			     "aws4_request, SignedHeaders=host;x-missing, Signature="
			     "0000000000000000000000000000000000000000000000000000000000000000";
		expect_http(emu, &req, NOW_MS, 403, "InvalidSignatureException");
		h[2].value = "AWS4-HMAC-SHA256 Credential=AKIDTEST/20300601/us-east-1/iot/"
			     "aws4_request, SignedHeaders=x-amz-date, Signature="
			     "0000000000000000000000000000000000000000000000000000000000000000";
		expect_http(emu, &req, NOW_MS, 403, "InvalidSignatureException");
		/* Scope date not the X-Amz-Date's. */
		h[2].value = "AWS4-HMAC-SHA256 Credential=AKIDTEST/20300602/us-east-1/iot/"
			     "aws4_request, SignedHeaders=host;x-amz-date, Signature="
			     "0000000000000000000000000000000000000000000000000000000000000000";
		expect_http(emu, &req, NOW_MS, 403, "InvalidSignatureException");
	}
	emu_free(emu);
}

/* Policy versions as botocore's model and AWS's docs have them: CreatePolicyVersion (five at
 * most: VersionsLimitExceededException 409; setAsDefault true/false only), ListPolicyVersions
 * (newest first, one default), GetPolicyVersion, DeletePolicyVersion (the default:
 * DeleteConflictException 409; unknown: 404), GetPolicy's default document and id. */
static void test_policy_versions(void)
{
	struct emu_store *store = new_store();
	struct call_buf b;
	struct json_object *body, *out, *list;
	char doc[64];

	body = body_of("policyDocument", "{\"v\":1}", NULL, NULL);
	json_object_put(
	    expect(emu_op_create_policy, store, make_call(&b, "p", body, NULL), 200, NULL));
	expect(emu_op_create_policy_version, store, make_call(&b, "nope", body, NULL), 404,
	       "ResourceNotFoundException");
	expect(emu_op_create_policy_version, store,
	       make_call(&b, "p", body, "setAsDefault", "yes", NULL), 400,
	       "InvalidRequestException");
	json_object_put(body);
	body = body_of("policyDocument", "[]", NULL, NULL);
	expect(emu_op_create_policy_version, store, make_call(&b, "p", body, NULL), 400,
	       "MalformedPolicyException");
	json_object_put(body);
	for (int v = 2; v <= 6; v++) {
		snprintf(doc, sizeof doc, "{\"v\":%d}", v);
		body = body_of("policyDocument", doc, NULL, NULL);
		if (v <= 5) {
			out = expect(emu_op_create_policy_version, store,
			             make_call(&b, "p", body, "setAsDefault",
			                       v == 5 ? "false" : "true", NULL),
			             200, NULL);
			CU_ASSERT_EQUAL(atoi(jstr(out, "policyVersionId")), v);
			CU_ASSERT_EQUAL(json_object_get_boolean(
					    json_object_object_get(out, "isDefaultVersion")),
			                v != 5);
			json_object_put(out);
		} else {
			expect(emu_op_create_policy_version, store,
			       make_call(&b, "p", body, "setAsDefault", "true", NULL), 409,
			       "VersionsLimitExceededException");
		}
		json_object_put(body);
	}
	/* version 5 was not made the default: GetPolicy answers version 4 */
	out = expect(emu_op_get_policy, store, make_call(&b, "p", NULL, NULL), 200, NULL);
	ASSERT_STR(jstr(out, "policyDocument"), "{\"v\":4}");
	ASSERT_STR(jstr(out, "defaultVersionId"), "4");
	json_object_put(out);
	out = expect(emu_op_list_policy_versions, store, make_call(&b, "p", NULL, NULL), 200, NULL);
	list = json_object_object_get(out, "policyVersions");
	CU_ASSERT_EQUAL(json_object_array_length(list), 5);
	ASSERT_STR(jstr(json_object_array_get_idx(list, 0), "versionId"), "5");
	CU_ASSERT(json_object_get_boolean(
	    json_object_object_get(json_object_array_get_idx(list, 1), "isDefaultVersion")));
	json_object_put(out);
	b.call.label2 = NULL;
	make_call(&b, "p", NULL, NULL)->label2 = "3";
	out = expect(emu_op_get_policy_version, store, &b.call, 200, NULL);
	ASSERT_STR(jstr(out, "policyDocument"), "{\"v\":3}");
	json_object_put(out);
	make_call(&b, "p", NULL, NULL)->label2 = "4";
	expect(emu_op_delete_policy_version, store, &b.call, 409, "DeleteConflictException");
	make_call(&b, "p", NULL, NULL)->label2 = "1";
	json_object_put(expect(emu_op_delete_policy_version, store, &b.call, 200, NULL));
	expect(emu_op_delete_policy_version, store, &b.call, 404, "ResourceNotFoundException");
	expect(emu_op_get_policy_version, store, &b.call, 404, "ResourceNotFoundException");
	make_call(&b, "p", NULL, NULL)->label2 = "1x";
	expect(emu_op_delete_policy_version, store, &b.call, 400, "InvalidRequestException");
	make_call(&b, "p", NULL, NULL)->label2 = "";
	expect(emu_op_delete_policy_version, store, &b.call, 400, "InvalidRequestException");
	make_call(&b, "p", NULL, NULL);
	expect(emu_op_delete_policy_version, store, &b.call, 400, "InvalidRequestException");
	/* room again: the next id is 6, not a reused 1 */
	body = body_of("policyDocument", "{\"v\":6}", NULL, NULL);
	out =
	    expect(emu_op_create_policy_version, store, make_call(&b, "p", body, NULL), 200, NULL);
	ASSERT_STR(jstr(out, "policyVersionId"), "6");
	json_object_put(out);
	json_object_put(body);
	emu_store_free(store);
}

static void test_routes_and_faults(void)
{
	struct emu *emu = new_emu();
	struct signed_request s;
	struct emu_response res;
	struct jitrd_diag diag;
	time_t now = JITRD_TEST_NOW;
	struct emu_http_request control = {"POST", "/_emulator/faults", NULL, NULL, 0, NULL, 0};
	const char *faults;
	static const struct {
		const char *method, *path, *code;
	} two_labels[] = {
	    {"DELETE", "/policies/p1/version/3", "ResourceNotFoundException"},
	    {"GET", "/policies/p1/version/3/x", "UnknownOperationException"},
	    {"GET", "/policies/p1/version/", "UnknownOperationException"},
	};
	static const char *const bad_slow[] = {
	    "{\"operation_latency_ms\": []}",
	    "{\"operation_latency_ms\": {\"Bogus\": 5}}",
	    "{\"operation_latency_ms\": {\"DescribeEndpoint\": -1}}",
	    "{\"operation_latency_ms\": {\"DescribeEndpoint\": 60001}}",
	    "{\"operation_latency_ms\": {\"DescribeEndpoint\": 1.5}}",
	    "{\"operation_latency_ms\": {\"DescribeEndpoint\": \"5\"}}",
	    "{\"latency_ms\": 0, \"operation_latency_ms\": {\"DescribeEndpoint\": 9, \"X\": 1}}",
	};

	/* Routing: percent-encoded labels are decoded; unknown paths and methods are 404. */
	sign(&s, "POST",
	     "/attached-policies/arn%3Aaws%3Aiot%3Aus-east-1%3A123456789012%3Acert%2Fab", NULL,
	     NULL, KEY_ID, SECRET, REGION, "iot", now);
	expect_http(emu, &s.http, NOW_MS, 404, "ResourceNotFoundException");
	jitrd_sigv4_result_cleanup(&s.result);
	sign(&s, "GET", "/no/such/thing", NULL, NULL, KEY_ID, SECRET, REGION, "iot", now);
	expect_http(emu, &s.http, NOW_MS, 404, "UnknownOperationException");
	jitrd_sigv4_result_cleanup(&s.result);
	sign(&s, "PATCH", "/registrationcode", NULL, NULL, KEY_ID, SECRET, REGION, "iot", now);
	expect_http(emu, &s.http, NOW_MS, 404, "UnknownOperationException");
	jitrd_sigv4_result_cleanup(&s.result);
	sign(&s, "GET", "/things/a%ZZb", NULL, NULL, KEY_ID, SECRET, REGION, "iot", now);
	if (s.result.authorization != NULL)
		expect_http(emu, &s.http, NOW_MS, 400, "InvalidRequestException");
	jitrd_sigv4_result_cleanup(&s.result);
	/* two labels: a policy's version; a third segment is no route */
	for (size_t i = 0; i < sizeof(two_labels) / sizeof(two_labels[0]); i++) {
		sign(&s, two_labels[i].method, two_labels[i].path, NULL, NULL, KEY_ID, SECRET,
		     REGION, "iot", now);
		expect_http(emu, &s.http, NOW_MS, 404, two_labels[i].code);
		jitrd_sigv4_result_cleanup(&s.result);
	}
	sign(&s, "POST", "/policies/p1", NULL, "not json", KEY_ID, SECRET, REGION, "iot", now);
	expect_http(emu, &s.http, NOW_MS, 400, "InvalidRequestException");
	jitrd_sigv4_result_cleanup(&s.result);

	/* Rate limit 2/s on DescribeEndpoint: two pass, the third is throttled, refilled later. */
	CU_ASSERT_EQUAL(emu_set_rate_limit(emu, "DescribeEndpoint=2", &diag), JITRD_OK);
	CU_ASSERT_EQUAL(emu_set_rate_limit(emu, "NoSuchOp=2", &diag), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(emu_set_rate_limit(emu, "DescribeEndpoint=0", &diag),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(emu_set_rate_limit(emu, "DescribeEndpoint", &diag), JITRD_ERR_INVALID_ARG);
	sign(&s, "GET", "/endpoint", "endpointType=iot%3AData-ATS", NULL, KEY_ID, SECRET, REGION,
	     "iot", now);
	expect_http(emu, &s.http, NOW_MS, 200, "");
	expect_http(emu, &s.http, NOW_MS, 200, "");
	expect_http(emu, &s.http, NOW_MS, 400, "ThrottlingException");
	expect_http(emu, &s.http, NOW_MS + 600, 200, "");

	/* Faults at run time: validated whole, then applied. */
	faults = "{\"latency_ms\": 25, \"error_rate\": 2}";
	control.body = (const unsigned char *)faults;
	control.body_len = strlen(faults);
	expect_http(emu, &control, NOW_MS, 400, "InvalidRequestException");
	faults = "{\"rate_limits\": {\"Bogus\": 1}}";
	control.body = (const unsigned char *)faults;
	control.body_len = strlen(faults);
	expect_http(emu, &control, NOW_MS, 400, "InvalidRequestException");
	faults =
	    "{\"latency_ms\": 25, \"error_rate\": 1, \"rate_limits\": {\"DescribeEndpoint\": 0}}";
	control.body = (const unsigned char *)faults;
	control.body_len = strlen(faults);
	expect_http(emu, &control, NOW_MS, 200, "");
	for (int i = 0; i < 6; i++) {
		CU_ASSERT_EQUAL_FATAL(emu_handle(emu, &s.http, NOW_MS, &res), JITRD_OK);
		CU_ASSERT(res.status == 500 || res.status == 503);
		CU_ASSERT(strcmp(res.error_type, res.status == 500
		                                     ? "InternalFailureException"
		                                     : "ServiceUnavailableException") == 0);
		CU_ASSERT_EQUAL(res.delay_ms, 25);
		emu_response_cleanup(&res);
	}
	jitrd_sigv4_result_cleanup(&s.result);

	/* State carries faults and counters; reset restores the start-up settings. */
	control.method = "GET";
	control.path = "/_emulator/state";
	CU_ASSERT_EQUAL_FATAL(emu_handle(emu, &control, NOW_MS, &res), JITRD_OK);
	ASSERT_STR(jstr(res.body, "faults.latency_ms"), "25");
	ASSERT_STR(jstr(res.body, "counters.operations.DescribeEndpoint"), "10");
	ASSERT_STR(jstr(res.body, "counters.errors.ThrottlingException"), "1");
	emu_response_cleanup(&res);

	/* An operation's own latency: added to latency_ms for that operation only; a bad value
	 * anywhere refuses the whole change. */
	control.method = "POST";
	control.path = "/_emulator/faults";
	for (size_t i = 0; i < sizeof(bad_slow) / sizeof(bad_slow[0]); i++) {
		control.body = (const unsigned char *)bad_slow[i];
		control.body_len = strlen(bad_slow[i]);
		expect_http(emu, &control, NOW_MS, 400, "InvalidRequestException");
	}
	faults = "{\"latency_ms\": 5, \"error_rate\": 0,"
		 " \"operation_latency_ms\": {\"DescribeEndpoint\": 40}}";
	control.body = (const unsigned char *)faults;
	control.body_len = strlen(faults);
	CU_ASSERT_EQUAL_FATAL(emu_handle(emu, &control, NOW_MS, &res), JITRD_OK);
	CU_ASSERT_EQUAL(res.status, 200);
	ASSERT_STR(jstr(res.body, "operation_latency_ms.DescribeEndpoint"), "40");
	ASSERT_STR(jstr(res.body, "latency_ms"), "5");
	emu_response_cleanup(&res);
	sign(&s, "GET", "/endpoint", "endpointType=iot%3AData-ATS", NULL, KEY_ID, SECRET, REGION,
	     "iot", now);
	CU_ASSERT_EQUAL_FATAL(emu_handle(emu, &s.http, NOW_MS, &res), JITRD_OK);
	CU_ASSERT_EQUAL(res.status, 200);
	CU_ASSERT_EQUAL(res.delay_ms, 45);
	emu_response_cleanup(&res);
	jitrd_sigv4_result_cleanup(&s.result);
	sign(&s, "GET", "/registrationcode", NULL, NULL, KEY_ID, SECRET, REGION, "iot", now);
	CU_ASSERT_EQUAL_FATAL(emu_handle(emu, &s.http, NOW_MS, &res), JITRD_OK);
	CU_ASSERT_EQUAL(res.status, 200);
	CU_ASSERT_EQUAL(res.delay_ms, 5);
	emu_response_cleanup(&res);
	jitrd_sigv4_result_cleanup(&s.result);

	control.method = "POST";
	control.path = "/_emulator/reset";
	expect_http(emu, &control, NOW_MS, 200, "");
	control.method = "GET";
	control.path = "/_emulator/faults";
	CU_ASSERT_EQUAL_FATAL(emu_handle(emu, &control, NOW_MS, &res), JITRD_OK);
	ASSERT_STR(jstr(res.body, "latency_ms"), "0");
	ASSERT_STR(jstr(res.body, "rate_limits.DescribeEndpoint"), "2.0");
	CU_ASSERT_PTR_NULL(jstr(res.body, "operation_latency_ms.DescribeEndpoint"));
	emu_response_cleanup(&res);
	control.path = "/_emulator/nothing";
	expect_http(emu, &control, NOW_MS, 404, "UnknownOperationException");
	control.method = "POST";
	control.path = "/_emulator/connect";
	control.body = (const unsigned char *)"not a pem";
	control.body_len = 9;
	expect_http(emu, &control, NOW_MS, 400, "InvalidRequestException");
	emu_free(emu);
}

/* ListPrincipalThings (x-amzn-principal, nextToken/maxResults pages), CreateKeysAndCertificate
 * (a key pair and a certificate signed by the configured issuer, no CA id) and DescribeEndpoint
 * with a configured iot:Data-ATS address. */
static void test_principal_things_and_keys(void)
{
	struct emu_store *store = new_store(), *bad = NULL;
	struct emu_event event = {NULL, NULL};
	struct call_buf b;
	struct json_object *out, *things;
	char dev_id[65], cert_arn[160], name[16], token[32], *ca_pem, *ca_key;
	char *pem = cert_id_of("devices/good.pem", dev_id);
	struct jitrd_cert *issued = NULL, *ca = NULL;
	struct jitrd_diag diag;
	const char *text;

	snprintf(cert_arn, sizeof cert_arn, "arn:aws:iot:%s:%s:cert/%s", REGION, ACCOUNT, dev_id);
	register_ca1(store, "true", "true");
	json_object_put(connect_device(store, "devices/good.pem", &event));
	emu_event_cleanup(&event);

	make_call(&b, NULL, NULL, NULL);
	expect(emu_op_list_principal_things, store, &b.call, 400, "InvalidRequestException");
	make_call(&b, NULL, NULL, NULL);
	b.call.principal = "arn:aws:iot:us-east-1:123456789012:cert/ffff";
	expect(emu_op_list_principal_things, store, &b.call, 404, "ResourceNotFoundException");
	make_call(&b, NULL, NULL, NULL);
	b.call.principal = cert_arn;
	out = expect(emu_op_list_principal_things, store, &b.call, 200, NULL);
	CU_ASSERT_EQUAL(json_object_array_length(json_object_object_get(out, "things")), 0);
	CU_ASSERT_FALSE(json_object_object_get_ex(out, "nextToken", NULL));
	json_object_put(out);
	/* three Things, the certificate attached to the first and the third */
	for (int i = 1; i <= 3; i++) {
		snprintf(name, sizeof name, "t-%d", i);
		json_object_put(
		    expect(emu_op_create_thing, store, make_call(&b, name, NULL, NULL), 200, NULL));
		if (i == 2)
			continue;
		make_call(&b, name, NULL, NULL);
		b.call.principal = cert_arn;
		json_object_put(expect(emu_op_attach_thing_principal, store, &b.call, 200, NULL));
	}
	make_call(&b, NULL, NULL, "maxResults", "1", NULL);
	b.call.principal = cert_arn;
	out = expect(emu_op_list_principal_things, store, &b.call, 200, NULL);
	things = json_object_object_get(out, "things");
	CU_ASSERT_EQUAL(json_object_array_length(things), 1);
	ASSERT_STR(json_object_get_string(json_object_array_get_idx(things, 0)), "t-1");
	text = jstr(out, "nextToken");
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	snprintf(token, sizeof token, "%s", text);
	json_object_put(out);
	make_call(&b, NULL, NULL, "maxResults", "250", "nextToken", token, NULL);
	b.call.principal = cert_arn;
	out = expect(emu_op_list_principal_things, store, &b.call, 200, NULL);
	things = json_object_object_get(out, "things");
	CU_ASSERT_EQUAL(json_object_array_length(things), 1);
	ASSERT_STR(json_object_get_string(json_object_array_get_idx(things, 0)), "t-3");
	CU_ASSERT_FALSE(json_object_object_get_ex(out, "nextToken", NULL));
	json_object_put(out);
	make_call(&b, NULL, NULL, "maxResults", "251", NULL);
	b.call.principal = cert_arn;
	expect(emu_op_list_principal_things, store, &b.call, 400, "InvalidRequestException");
	make_call(&b, NULL, NULL, "nextToken", "x1", NULL);
	b.call.principal = cert_arn;
	expect(emu_op_list_principal_things, store, &b.call, 400, "InvalidRequestException");

	/* CreateKeysAndCertificate without an issuer configured: one made up, INACTIVE */
	expect(emu_op_create_keys_and_certificate, store,
	       make_call(&b, NULL, NULL, "setAsActive", "maybe", NULL), 400,
	       "InvalidRequestException");
	out = expect(emu_op_create_keys_and_certificate, store, make_call(&b, NULL, NULL, NULL),
	             200, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	text = jstr(out, "certificatePem");
	CU_ASSERT_EQUAL_FATAL(jitrd_cert_from_pem(text, strlen(text), &issued, &diag), JITRD_OK);
	ASSERT_STR(jstr(out, "certificateId"), jitrd_cert_id(issued));
	CU_ASSERT_PTR_NOT_NULL(strstr(jstr(out, "keyPair.PrivateKey"), "BEGIN RSA PRIVATE KEY"));
	CU_ASSERT_PTR_NOT_NULL(strstr(jstr(out, "keyPair.PublicKey"), "BEGIN PUBLIC KEY"));
	CU_ASSERT_PTR_NOT_NULL(strstr(jstr(out, "certificateArn"), jitrd_cert_id(issued)));
	json_object_put(out);
	out = expect(emu_op_describe_certificate, store,
	             make_call(&b, jitrd_cert_id(issued), NULL, NULL), 200, NULL);
	ASSERT_STR(jstr(out, "certificateDescription.status"), "INACTIVE");
	CU_ASSERT_PTR_NULL(jstr(out, "certificateDescription.caCertificateId"));
	json_object_put(out);
	jitrd_cert_free(issued);
	issued = NULL;
	emu_store_free(store);

	/* with the issuer given (fixture ca1) and a data endpoint: signed by it, ACTIVE */
	ca_pem = fixture_text("cas/ca1.pem");
	ca_key = fixture_text("keys/ca1.key");
	{
		struct emu_store_config c = {.region = REGION,
		                             .account_id = ACCOUNT,
		                             .registration_code = CODE,
		                             .data_endpoint = "localhost",
		                             .issuer_cert_pem = ca_pem,
		                             .issuer_key_pem = ca_key};
		struct emu_store_config mismatched = c, half = c, empty = c;
		char *other_key = fixture_text("keys/ca2.key");

		mismatched.issuer_key_pem = other_key;
		half.issuer_key_pem = NULL;
		empty.data_endpoint = "";
		CU_ASSERT_EQUAL(emu_store_new(&mismatched, &bad), JITRD_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(emu_store_new(&half, &bad), JITRD_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(emu_store_new(&empty, &bad), JITRD_ERR_INVALID_ARG);
		CU_ASSERT_PTR_NULL(bad);
		free(other_key);
		CU_ASSERT_EQUAL_FATAL(emu_store_new(&c, &store), JITRD_OK);
	}
	out = expect(emu_op_create_keys_and_certificate, store,
	             make_call(&b, NULL, NULL, "setAsActive", "true", NULL), 200, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	text = jstr(out, "certificatePem");
	CU_ASSERT_EQUAL_FATAL(jitrd_cert_from_pem(text, strlen(text), &issued, &diag), JITRD_OK);
	CU_ASSERT_EQUAL_FATAL(jitrd_cert_from_pem(ca_pem, strlen(ca_pem), &ca, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_cert_verify_signed_by(issued, ca), JITRD_OK);
	json_object_put(out);
	out = expect(emu_op_describe_certificate, store,
	             make_call(&b, jitrd_cert_id(issued), NULL, NULL), 200, NULL);
	ASSERT_STR(jstr(out, "certificateDescription.status"), "ACTIVE");
	json_object_put(out);
	out = expect(emu_op_describe_endpoint, store,
	             make_call(&b, NULL, NULL, "endpointType", "iot:Data-ATS", NULL), 200, NULL);
	ASSERT_STR(jstr(out, "endpointAddress"), "localhost");
	json_object_put(out);
	out = expect(emu_op_describe_endpoint, store,
	             make_call(&b, NULL, NULL, "endpointType", "iot:Data", NULL), 200, NULL);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(jstr(out, "endpointAddress"), ".iot.us-east-1.amazonaws.com"));
	json_object_put(out);
	jitrd_cert_free(issued);
	jitrd_cert_free(ca);
	free(ca_pem);
	free(ca_key);
	free(pem);
	emu_store_free(store);
}

/* CreateTopicRule and GetTopicRule as botocore's model has them. */
static void test_topic_rules(void)
{
	struct emu_store *store = new_store();
	struct call_buf b;
	struct json_object *body, *out;
	static const char *const good =
	    "{\"sql\":\"SELECT * FROM '$aws/events/certificates/registered/#'\","
	    "\"awsIotSqlVersion\":\"2016-03-23\",\"ruleDisabled\":false,\"description\":\"d\","
	    "\"actions\":[{\"lambda\":{\"functionArn\":\"arn:aws:lambda:us-east-1:1:function:f\"}}]"
	    "}";
	static const struct {
		const char *payload;
		int status;
		const char *code;
	} refused[] = {
	    {"{\"actions\":[]}", 400, "InvalidRequestException"},
	    {"{\"sql\":\"SELECT * FROM 't'\"}", 400, "InvalidRequestException"},
	    {"{\"sql\":7,\"actions\":[]}", 400, "InvalidRequestException"},
	    {"{\"sql\":\"SELECT * FROM 't'\",\"actions\":[1]}", 400, "InvalidRequestException"},
	    {"{\"sql\":\"SELECT * FROM 't'\",\"actions\":[{\"a\":{},\"b\":{}}]}", 400,
	     "InvalidRequestException"},
	    {"{\"sql\":\"SELECT * FROM 't'\",\"actions\":[{\"a\":1}]}", 400,
	     "InvalidRequestException"},
	    {"{\"sql\":\"SELECT * FROM 't'\",\"actions\":[{},{},{},{},{},{},{},{},{},{},{}]}", 400,
	     "InvalidRequestException"},
	    {"{\"sql\":\"SELECT * FROM 't'\",\"actions\":[],\"awsIotSqlVersion\":\"2020\"}", 400,
	     "InvalidRequestException"},
	    {"{\"sql\":\"SELECT * FROM 't'\",\"actions\":[],\"ruleDisabled\":\"no\"}", 400,
	     "InvalidRequestException"},
	    {"{\"sql\":\"DELETE * FROM 't'\",\"actions\":[]}", 400, "SqlParseException"},
	    {"{\"sql\":\"SELECT * FROM t\",\"actions\":[]}", 400, "SqlParseException"},
	    {"{\"sql\":\"SELECT * FROM '\",\"actions\":[]}", 400, "SqlParseException"},
	};

	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		body = json_tokener_parse(refused[i].payload);
		CU_ASSERT_PTR_NOT_NULL_FATAL(body);
		expect(emu_op_create_topic_rule, store, make_call(&b, "r1", body, NULL),
		       refused[i].status, refused[i].code);
		json_object_put(body);
	}
	expect(emu_op_create_topic_rule, store, make_call(&b, "r1", NULL, NULL), 400,
	       "InvalidRequestException");
	body = json_tokener_parse(good);
	expect(emu_op_create_topic_rule, store, make_call(&b, "jitrd-rule", body, NULL), 400,
	       "InvalidRequestException");
	expect(emu_op_get_topic_rule, store, make_call(&b, "jitrd_rule", NULL, NULL), 401,
	       "UnauthorizedException");
	json_object_put(expect(emu_op_create_topic_rule, store,
	                       make_call(&b, "jitrd_rule", body, NULL), 200, NULL));
	expect(emu_op_create_topic_rule, store, make_call(&b, "jitrd_rule", body, NULL), 409,
	       "ResourceAlreadyExistsException");
	json_object_put(body);
	out = expect(emu_op_get_topic_rule, store, make_call(&b, "jitrd_rule", NULL, NULL), 200,
	             NULL);
	ASSERT_STR(jstr(out, "ruleArn"), "arn:aws:iot:us-east-1:123456789012:rule/jitrd_rule");
	ASSERT_STR(jstr(out, "rule.ruleName"), "jitrd_rule");
	ASSERT_STR(jstr(out, "rule.sql"), "SELECT * FROM '$aws/events/certificates/registered/#'");
	CU_ASSERT_EQUAL(json_object_array_length(
			    json_object_object_get(json_object_object_get(out, "rule"), "actions")),
	                1);
	CU_ASSERT_PTR_NOT_NULL(jstr(out, "rule.createdAt"));
	json_object_put(out);
	emu_store_free(store);
}

static void test_config_bounds(void)
{
	struct emu_store_config bad_store[] = {
#define STORE_CONFIG(r, a, c) {.region = r, .account_id = a, .registration_code = c}
	    STORE_CONFIG("", ACCOUNT, CODE),
	    STORE_CONFIG(REGION, "12345678901", CODE),
	    STORE_CONFIG(REGION, "12345678901x", CODE),
	    STORE_CONFIG(REGION, ACCOUNT, "abc"),
	    STORE_CONFIG(REGION, NULL, CODE),
#undef STORE_CONFIG
	};
	struct emu_config c = {.region = REGION,
	                       .account_id = ACCOUNT,
	                       .access_key_id = KEY_ID,
	                       .secret_access_key = SECRET,
	                       .registration_code = CODE,
	                       .error_rate = 1.5,
	                       .seed = 1};
	struct emu *emu = (struct emu *)&c;
	struct emu_store *store = (struct emu_store *)&c;

	for (size_t i = 0; i < sizeof bad_store / sizeof bad_store[0]; i++) {
		CU_ASSERT_EQUAL(emu_store_new(&bad_store[i], &store), JITRD_ERR_INVALID_ARG);
		CU_ASSERT_PTR_EQUAL(store, (struct emu_store *)&c);
	}
	CU_ASSERT_EQUAL(emu_new(&c, &emu), JITRD_ERR_INVALID_ARG);
	c.error_rate = 0;
	c.latency_ms = EMU_MAX_LATENCY_MS + 1;
	CU_ASSERT_EQUAL(emu_new(&c, &emu), JITRD_ERR_INVALID_ARG);
	c.latency_ms = 0;
	c.access_key_id = "";
	CU_ASSERT_EQUAL(emu_new(&c, &emu), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_PTR_EQUAL(emu, (struct emu *)&c);
	emu_free(NULL);
	emu_store_free(NULL);
	emu_response_cleanup(NULL);
	emu_event_cleanup(NULL);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"register CA: verification certificate rules", test_register_ca},
	    {"JITR connect: registration and events", test_connect_jitr},
	    {"UpdateCertificate state rules", test_update_certificate_rules},
	    {"RegisterCertificate's rules", test_register_certificate_rules},
	    {"RegisterCertificate and ListCertificatesByCA pages", test_pagination},
	    {"policies and things", test_policies_and_things},
	    {"SigV4 verification", test_sigv4_verification},
	    {"policy versions", test_policy_versions},
	    {"routing, errors, faults, control plane", test_routes_and_faults},
	    {"ListPrincipalThings, CreateKeysAndCertificate, data endpoint",
	     test_principal_things_and_keys},
	    {"CreateTopicRule and GetTopicRule", test_topic_rules},
	    {"configuration bounds", test_config_bounds},
	    {NULL, NULL},
	};

	return tsupport_run("emulator", cases);
}
