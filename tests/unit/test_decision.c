/* test_decision.c — the decision of DESIGN §3 (steps 2, 5, 6, 7's rendering) on the fixture
 * PKI: every device case, CRL absence and expiry, fail_open, on_reject, hostile names, and the
 * RFC 5280 path validation cases of fixtures/path-validation.sh. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jitrd/decision.h"
#include "testsupport.h"

#define SHARED_POLICY                                                                              \
	"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","                        \
	"\"Action\":\"iot:Connect\",\"Resource\":\"arn:aws:iot:{{aws.region}}:{{aws.account}}:"    \
	"client/${iot:Certificate.Subject.CommonName}\"}]}"
#define DEVICE_POLICY                                                                              \
	"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","                        \
	"\"Action\":\"iot:Publish\",\"Resource\":\"arn:aws:iot:{{aws.region}}:{{aws.account}}:"    \
	"topic/devices/{{subject.CN}}/*\"}]}"

struct world {
	struct jitrd_config *cfg;
	struct jitrd_caset *cas;
	struct jitrd_crl_store *crls;
	struct jitrd_policy_template *tpl;
	struct jitrd_decision_context ctx;
};

static void add_file_to_caset(struct jitrd_caset *cas, const char *rel)
{
	size_t len;
	char *pem = tsupport_read_fixture(rel, &len);

	CU_ASSERT_FATAL(pem != NULL);
	CU_ASSERT_EQUAL_FATAL(jitrd_caset_add_pem(cas, rel, pem, len, NULL), JITRD_OK);
	free(pem);
}

/* The fixture CRLs' nextUpdate: 2031-01-01T00:00:00Z. */
#define FIXTURE_CRL_NEXT_UPDATE ((time_t)1924992000)

static void add_crl(struct jitrd_crl_builder *b, const char *rel, enum jitrd_err expected)
{
	size_t len;
	char *bytes = tsupport_read_fixture(rel, &len);

	CU_ASSERT_FATAL(bytes != NULL);
	CU_ASSERT_EQUAL(jitrd_crl_builder_add(b, rel, (unsigned char *)bytes, len, NULL), expected);
	free(bytes);
}

/* A world whose CRLs are loaded at load_time, with the given extra config text, policy
 * template and CRLs (NULL-terminated list of fixture paths; NULL list = no CRL store). */
static void world_init_at(struct world *w, const char *config_text, const char *policy,
                          const char *const *crl_files, time_t load_time)
{
	struct jitrd_diag diag = {{0}};
	struct jitrd_crl_builder *b;

	memset(w, 0, sizeof(*w));
	CU_ASSERT_EQUAL_FATAL(jitrd_config_parse("test.conf", config_text, strlen(config_text),
	                                         NULL, NULL, &w->cfg, &diag),
	                      JITRD_OK);
	w->cas = jitrd_caset_new();
	CU_ASSERT_FATAL(w->cas != NULL);
	add_file_to_caset(w->cas, "cas/ca1.pem");
	add_file_to_caset(w->cas, "cas/ca2.pem");
	if (crl_files) {
		b = jitrd_crl_builder_new(w->cas, load_time);
		CU_ASSERT_FATAL(b != NULL);
		for (const char *const *f = crl_files; *f; f++)
			add_crl(b, *f,
			        load_time > FIXTURE_CRL_NEXT_UPDATE ? JITRD_ERR_CRL_EXPIRED
			                                            : JITRD_OK);
		CU_ASSERT_EQUAL_FATAL(jitrd_crl_builder_finish(b, &w->crls), JITRD_OK);
		jitrd_crl_builder_free(b);
	}
	CU_ASSERT_EQUAL_FATAL(
	    jitrd_policy_template_parse("policy.json", policy, strlen(policy), &w->tpl, &diag),
	    JITRD_OK);
	w->ctx.cfg = w->cfg;
	w->ctx.cas = w->cas;
	w->ctx.crls = w->crls;
	w->ctx.policy_template = w->tpl;
	w->ctx.account_id = "123456789012";
	w->ctx.region = "eu-west-1";
}

static void world_init(struct world *w, const char *config_text, const char *policy,
                       const char *const *crl_files)
{
	world_init_at(w, config_text, policy, crl_files, JITRD_TEST_NOW);
}

static void world_cleanup(struct world *w)
{
	jitrd_policy_template_free(w->tpl);
	jitrd_crl_store_free(w->crls);
	jitrd_caset_free(w->cas);
	jitrd_config_free(w->cfg);
}

static const char *const valid_crls[] = {"crls/ca1.crl.pem", "crls/ca2.crl.der", NULL};

/* Decides for a device fixture; returns the decision kind, leaves details in *d. */
static enum jitrd_decision_kind decide_device(struct world *w, const char *device,
                                              const char *ca_id, time_t now,
                                              struct jitrd_decision *d)
{
	size_t len;
	char *pem = tsupport_read_fixture(device, &len);
	struct jitrd_cert *cert = NULL;

	jitrd_decision_init(d);
	CU_ASSERT_FATAL(pem != NULL);
	CU_ASSERT_EQUAL_FATAL(jitrd_cert_from_pem(pem, len, &cert, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_decide_certificate(&w->ctx, cert, ca_id, now, d), JITRD_OK);
	jitrd_cert_free(cert);
	free(pem);
	return d->kind;
}

struct device_case {
	const char *device;
	enum jitrd_decision_kind kind;
	const char *status; /* expected target status, NULL = leave */
	const char *reason_part;
};

static void test_every_device_case(void)
{
	static const struct device_case cases[] = {
	    {"devices/good.pem", JITRD_DECISION_ACTIVATE, "ACTIVE", "not on the CRL"},
	    {"devices/good2.pem", JITRD_DECISION_ACTIVATE, "ACTIVE", "not on the CRL"},
	    {"devices/revoked.pem", JITRD_DECISION_REVOKE, "REVOKED", "keyCompromise"},
	    {"devices/superseded.pem", JITRD_DECISION_REVOKE, "REVOKED", "superseded"},
	    {"devices/revoked2.pem", JITRD_DECISION_REVOKE, "REVOKED", "unspecified"},
	    {"devices/held.pem", JITRD_DECISION_HOLD, "INACTIVE", "certificateHold"},
	    {"devices/unheld.pem", JITRD_DECISION_ACTIVATE, "ACTIVE", "removeFromCRL"},
	    {"devices/expired.pem", JITRD_DECISION_REJECT, NULL, "expired"},
	    {"devices/notyet.pem", JITRD_DECISION_REJECT, NULL, "not valid before"},
	    {"devices/cadevice.pem", JITRD_DECISION_REJECT, NULL, "CA"},
	    {"devices/wrongsigner.pem", JITRD_DECISION_IGNORE, NULL, "not one of our CAs"},
	    {"devices/impostor.pem", JITRD_DECISION_IGNORE, NULL, "not one of our CAs"},
	    {"devices/noext.pem", JITRD_DECISION_ACTIVATE, "ACTIVE", "not on the CRL"},
	    {"devices/any-eku.pem", JITRD_DECISION_ACTIVATE, "ACTIVE", "not on the CRL"},
	    {"devices/critical-ext.pem", JITRD_DECISION_REJECT, NULL,
	     "critical extension that is not understood"},
	    {"devices/server-eku.pem", JITRD_DECISION_REJECT, NULL, "clientAuth"},
	    /* no authorityKeyIdentifier: a profile rule (RFC 5280 §4.2.1.1), not path validation;
	     * the registered CA's key still checks the signature */
	    {"devices/nokid.pem", JITRD_DECISION_ACTIVATE, "ACTIVE", "not on the CRL"},
	};
	struct world w;

	world_init(&w, "[provision]\npolicy_name = jitrd-device\n", SHARED_POLICY, valid_crls);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_decision d;
		enum jitrd_decision_kind kind =
		    decide_device(&w, cases[i].device, NULL, JITRD_TEST_NOW, &d);
		if (kind != cases[i].kind || !strstr(d.reason, cases[i].reason_part))
			fprintf(stderr, "case %s: got %s (%s)\n", cases[i].device,
			        jitrd_decision_name(kind), d.reason);
		CU_ASSERT_EQUAL(kind, cases[i].kind);
		CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, cases[i].reason_part));
		if (cases[i].status) {
			CU_ASSERT_STRING_EQUAL(jitrd_target_status_name(d.target_status),
			                       cases[i].status);
		} else {
			CU_ASSERT_EQUAL(d.target_status, JITRD_TARGET_LEAVE);
		}
		/* only an activation carries a policy */
		if (kind == JITRD_DECISION_ACTIVATE) {
			CU_ASSERT_STRING_EQUAL(d.policy_name, "jitrd-device");
			CU_ASSERT_PTR_NOT_NULL(d.policy_document);
		} else {
			CU_ASSERT_PTR_NULL(d.policy_document);
		}
		jitrd_decision_cleanup(&d);
	}
	world_cleanup(&w);
}

static void test_activation_renders_policy_and_names(void)
{
	struct world w;
	struct jitrd_decision d;
	json_object *doc;

	world_init(&w,
	           "[provision]\npolicy_name = device-{{subject.CN}}\n"
	           "thing_name = {{subject.CN}}\n",
	           DEVICE_POLICY, valid_crls);
	CU_ASSERT_EQUAL(decide_device(&w, "devices/good.pem", NULL, JITRD_TEST_NOW, &d),
	                JITRD_DECISION_ACTIVATE);
	CU_ASSERT_STRING_EQUAL(d.policy_name, "device-device-good");
	CU_ASSERT_STRING_EQUAL(d.thing_name, "device-good");
	CU_ASSERT_STRING_EQUAL(d.subject_cn, "device-good");
	CU_ASSERT_STRING_EQUAL(d.serial, "1001");
	doc = json_tokener_parse(d.policy_document);
	CU_ASSERT_PTR_NOT_NULL(doc);
	CU_ASSERT_PTR_NOT_NULL(strstr(
	    d.policy_document, "arn:aws:iot:eu-west-1:123456789012:topic/devices/device-good/*"));
	json_object_put(doc);
	jitrd_decision_cleanup(&d);
	world_cleanup(&w);
}

/* A hostile Common Name never widens a grant: names refuse it, documents escape or refuse. */
static void test_hostile_common_names(void)
{
	struct world w;
	struct jitrd_decision d;

	world_init(&w, "[provision]\npolicy_name = device-{{subject.CN}}\n", DEVICE_POLICY,
	           valid_crls);
	/* '*' is outside the policy name pattern */
	CU_ASSERT_EQUAL(decide_device(&w, "devices/cn-star.pem", NULL, JITRD_TEST_NOW, &d),
	                JITRD_DECISION_REJECT);
	CU_ASSERT_PTR_NULL(d.policy_document);
	CU_ASSERT_STRING_EQUAL(d.policy_name, "");
	jitrd_decision_cleanup(&d);
	CU_ASSERT_EQUAL(decide_device(&w, "devices/cn-iotvar.pem", NULL, JITRD_TEST_NOW, &d),
	                JITRD_DECISION_REJECT);
	jitrd_decision_cleanup(&d);
	CU_ASSERT_EQUAL(decide_device(&w, "devices/cn-slash.pem", NULL, JITRD_TEST_NOW, &d),
	                JITRD_DECISION_REJECT);
	jitrd_decision_cleanup(&d);
	CU_ASSERT_EQUAL(decide_device(&w, "devices/nocn.pem", NULL, JITRD_TEST_NOW, &d),
	                JITRD_DECISION_REJECT);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "subject.CN"));
	jitrd_decision_cleanup(&d);
	CU_ASSERT_EQUAL(decide_device(&w, "devices/twocn.pem", NULL, JITRD_TEST_NOW, &d),
	                JITRD_DECISION_REJECT);
	jitrd_decision_cleanup(&d);
	world_cleanup(&w);

	/* With a shared policy name, a wildcard in the document is not escaped on a guess about
	 * IoT's literal form ($(*) or ${*}): the device is rejected, the field named. */
	world_init(&w, "[provision]\npolicy_name = jitrd-device\n", DEVICE_POLICY, valid_crls);
	CU_ASSERT_EQUAL(decide_device(&w, "devices/cn-star.pem", NULL, JITRD_TEST_NOW, &d),
	                JITRD_DECISION_REJECT);
	CU_ASSERT_PTR_NULL(d.policy_document);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "{{subject.CN}}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "'*'"));
	jitrd_decision_cleanup(&d);
	CU_ASSERT_EQUAL(decide_device(&w, "devices/cn-question.pem", NULL, JITRD_TEST_NOW, &d),
	                JITRD_DECISION_REJECT);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "'?'"));
	jitrd_decision_cleanup(&d);
	CU_ASSERT_EQUAL(decide_device(&w, "devices/cn-iotvar.pem", NULL, JITRD_TEST_NOW, &d),
	                JITRD_DECISION_REJECT);
	CU_ASSERT_PTR_NULL(d.policy_document);
	jitrd_decision_cleanup(&d);
	world_cleanup(&w);
}

static void test_no_crl_defers_unless_fail_open(void)
{
	static const char *const only_ca2[] = {"crls/ca2.crl.der", NULL};
	struct world w;
	struct jitrd_decision d;

	world_init(&w, "[crl]\nfail_open = false\n", SHARED_POLICY, only_ca2);
	CU_ASSERT_EQUAL(decide_device(&w, "devices/good.pem", NULL, JITRD_TEST_NOW, &d),
	                JITRD_DECISION_DEFER);
	CU_ASSERT_EQUAL(d.target_status, JITRD_TARGET_LEAVE);
	jitrd_decision_cleanup(&d);
	/* a device of the CA that has a CRL is not affected */
	CU_ASSERT_EQUAL(decide_device(&w, "devices/good2.pem", NULL, JITRD_TEST_NOW, &d),
	                JITRD_DECISION_ACTIVATE);
	jitrd_decision_cleanup(&d);
	world_cleanup(&w);

	world_init(&w, "[crl]\nfail_open = false\n", SHARED_POLICY, NULL);
	CU_ASSERT_EQUAL(decide_device(&w, "devices/good.pem", NULL, JITRD_TEST_NOW, &d),
	                JITRD_DECISION_DEFER);
	jitrd_decision_cleanup(&d);
	world_cleanup(&w);

	world_init(&w, "[crl]\nfail_open = true\n", SHARED_POLICY, only_ca2);
	CU_ASSERT_EQUAL(decide_device(&w, "devices/good.pem", NULL, JITRD_TEST_NOW, &d),
	                JITRD_DECISION_ACTIVATE);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "fail_open"));
	jitrd_decision_cleanup(&d);
	/* fail_open never overrides a CRL that is there */
	CU_ASSERT_EQUAL(decide_device(&w, "devices/revoked2.pem", NULL, JITRD_TEST_NOW, &d),
	                JITRD_DECISION_REVOKE);
	jitrd_decision_cleanup(&d);
	world_cleanup(&w);
}

static void test_crl_past_next_update_defers(void)
{
	struct world w;
	struct jitrd_decision d;
	time_t after = FIXTURE_CRL_NEXT_UPDATE + 86400;

	world_init(&w, "", SHARED_POLICY, valid_crls);
	CU_ASSERT_EQUAL(decide_device(&w, "devices/good.pem", NULL, after, &d),
	                JITRD_DECISION_DEFER);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "nextUpdate"));
	jitrd_decision_cleanup(&d);
	world_cleanup(&w);
}

static void test_on_reject_revoke(void)
{
	struct world w;
	struct jitrd_decision d;

	world_init(&w, "[provision]\non_reject = revoke\n", SHARED_POLICY, valid_crls);
	CU_ASSERT_EQUAL(decide_device(&w, "devices/expired.pem", NULL, JITRD_TEST_NOW, &d),
	                JITRD_DECISION_REJECT);
	CU_ASSERT_STRING_EQUAL(jitrd_target_status_name(d.target_status), "REVOKED");
	jitrd_decision_cleanup(&d);
	world_cleanup(&w);
}

/* The event's claimed CA is the one checked: a ca1 device claimed under ca2 fails its
 * signature check, and an id that is not ours is ignored. */
static void test_claimed_ca(void)
{
	struct world w;
	struct jitrd_decision d;
	const char *ca2_id;

	world_init(&w, "", SHARED_POLICY, valid_crls);
	ca2_id = jitrd_cert_id(jitrd_caset_at(w.cas, 1));
	CU_ASSERT_EQUAL(decide_device(&w, "devices/good.pem", ca2_id, JITRD_TEST_NOW, &d),
	                JITRD_DECISION_REJECT);
	jitrd_decision_cleanup(&d);
	CU_ASSERT_EQUAL(
	    decide_device(&w, "devices/good.pem",
	                  "0000000000000000000000000000000000000000000000000000000000000000",
	                  JITRD_TEST_NOW, &d),
	    JITRD_DECISION_IGNORE);
	jitrd_decision_cleanup(&d);
	world_cleanup(&w);
}

static void test_filter(void)
{
	struct world w;
	struct jitrd_decision d;
	struct jitrd_event ev = {0};
	char config[256];

	world_init(&w, "", SHARED_POLICY, valid_crls);
	snprintf(ev.ca_certificate_id, sizeof(ev.ca_certificate_id), "%s",
	         jitrd_cert_id(jitrd_caset_at(w.cas, 0)));
	snprintf(ev.certificate_status, sizeof(ev.certificate_status), "PENDING_ACTIVATION");
	jitrd_decision_init(&d);
	CU_ASSERT_FALSE(jitrd_decide_filter(&w.ctx, &ev, &d));
	snprintf(ev.certificate_status, sizeof(ev.certificate_status), "ACTIVE");
	CU_ASSERT_TRUE(jitrd_decide_filter(&w.ctx, &ev, &d));
	CU_ASSERT_EQUAL(d.kind, JITRD_DECISION_IGNORE);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "ACTIVE"));
	snprintf(ev.certificate_status, sizeof(ev.certificate_status), "PENDING_ACTIVATION");
	memset(ev.ca_certificate_id, 'a', 64);
	CU_ASSERT_TRUE(jitrd_decide_filter(&w.ctx, &ev, &d));
	CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "not one of our CAs"));
	world_cleanup(&w);

	/* ca.allow narrows the set: only ca2 allowed, so ca1's events are ignored */
	world_init(&w, "", SHARED_POLICY, valid_crls);
	snprintf(config, sizeof(config), "[ca]\nallow = %s\n",
	         jitrd_cert_id(jitrd_caset_at(w.cas, 1)));
	world_cleanup(&w);
	world_init(&w, config, SHARED_POLICY, valid_crls);
	snprintf(ev.ca_certificate_id, sizeof(ev.ca_certificate_id), "%s",
	         jitrd_cert_id(jitrd_caset_at(w.cas, 0)));
	CU_ASSERT_TRUE(jitrd_decide_filter(&w.ctx, &ev, &d));
	CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "ca.allow"));
	CU_ASSERT_EQUAL(decide_device(&w, "devices/good.pem", NULL, JITRD_TEST_NOW, &d),
	                JITRD_DECISION_IGNORE);
	jitrd_decision_cleanup(&d);
	CU_ASSERT_EQUAL(decide_device(&w, "devices/good2.pem", NULL, JITRD_TEST_NOW, &d),
	                JITRD_DECISION_ACTIVATE);
	jitrd_decision_cleanup(&d);
	world_cleanup(&w);
}

static void test_certificate_arn_needs_account(void)
{
	static const char policy[] = "{\"Statement\":[{\"Resource\":\"{{certificate.arn}}\"}]}";
	struct world w;
	struct jitrd_decision d;
	struct jitrd_cert *cert = NULL;
	size_t len;
	char *pem;

	world_init(&w, "[provision]\npolicy_name = device-{{certificate.id}}\n", policy,
	           valid_crls);
	CU_ASSERT_EQUAL(decide_device(&w, "devices/good.pem", NULL, JITRD_TEST_NOW, &d),
	                JITRD_DECISION_ACTIVATE);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(d.policy_document, "arn:aws:iot:eu-west-1:123456789012:cert/"));
	jitrd_decision_cleanup(&d);

	/* Without an account the configuration is at fault, not the device: no decision. */
	w.ctx.account_id = "";
	pem = tsupport_read_fixture("devices/good.pem", &len);
	CU_ASSERT_EQUAL_FATAL(jitrd_cert_from_pem(pem, len, &cert, NULL), JITRD_OK);
	jitrd_decision_init(&d);
	CU_ASSERT_EQUAL(jitrd_decide_certificate(&w.ctx, cert, NULL, JITRD_TEST_NOW, &d),
	                JITRD_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "account_id"));
	CU_ASSERT_PTR_NULL(d.policy_document);
	jitrd_decision_cleanup(&d);
	jitrd_cert_free(cert);
	free(pem);
	world_cleanup(&w);
}

/* A stale CRL (past nextUpdate) still revokes what it lists, even under fail_open; what it
 * does not list is deferred, or let in under fail_open. */
static void test_stale_crl(void)
{
	static const struct {
		const char *config, *device;
		enum jitrd_decision_kind kind;
	} cases[] = {
	    {"[crl]\nfail_open = false\n", "devices/revoked.pem", JITRD_DECISION_REVOKE},
	    {"[crl]\nfail_open = false\n", "devices/held.pem", JITRD_DECISION_DEFER},
	    {"[crl]\nfail_open = false\n", "devices/good.pem", JITRD_DECISION_DEFER},
	    {"[crl]\nfail_open = true\n", "devices/revoked.pem", JITRD_DECISION_REVOKE},
	    {"[crl]\nfail_open = true\n", "devices/held.pem", JITRD_DECISION_HOLD},
	    {"[crl]\nfail_open = true\n", "devices/good.pem", JITRD_DECISION_ACTIVATE},
	};
	time_t after = FIXTURE_CRL_NEXT_UPDATE + 86400;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct world w;
		struct jitrd_decision d;
		const char *const *crls = valid_crls;
		/* the snapshot is made at `after` too: the CRL is already stale when loaded */
		world_init_at(&w, cases[i].config, SHARED_POLICY, crls, after);
		CU_ASSERT_EQUAL(decide_device(&w, cases[i].device, NULL, after, &d), cases[i].kind);
		if (d.kind != cases[i].kind)
			fprintf(stderr, "stale case %zu: got %s (%s)\n", i,
			        jitrd_decision_name(d.kind), d.reason);
		CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "nextUpdate"));
		jitrd_decision_cleanup(&d);
		world_cleanup(&w);
	}
}

/* A document that differs per device under a name that does not is refused at start-up. */
static void test_policy_name_must_follow_document(void)
{
	static const struct {
		const char *name;
		enum jitrd_err expect;
	} cases[] = {
	    {"jitrd-device", JITRD_ERR_CONFIG},
	    {"device-{{subject.CN}}", JITRD_OK},
	    {"device-{{certificate.id}}", JITRD_OK},
	    {"device-{{subject.O}}", JITRD_ERR_CONFIG},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct world w;
		struct jitrd_diag diag = {{0}};
		char config[128];
		snprintf(config, sizeof(config), "[provision]\npolicy_name = %s\n", cases[i].name);
		world_init(&w, config, DEVICE_POLICY, valid_crls);
		CU_ASSERT_EQUAL(jitrd_decision_check_templates(&w.ctx, &diag), cases[i].expect);
		if (cases[i].expect != JITRD_OK)
			CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "subject.CN"));
		world_cleanup(&w);
	}
	/* a document with {{certificate.id}} (policies/per-device.json) under a CN-only name: the
	 * remedy named once, and a name with {{certificate.id}} is accepted */
	{
		static const char per_cert_policy[] =
		    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
		    "\"Action\":\"iot:Publish\",\"Resource\":[\"arn:aws:iot:{{aws.region}}:"
		    "{{aws.account}}:topic/devices/{{subject.CN}}/*\",\"arn:aws:iot:{{aws.region}}:"
		    "{{aws.account}}:topic/certificates/{{certificate.id}}/*\"]}]}";
		struct world w;
		struct jitrd_diag diag = {{0}};
		world_init(&w, "[provision]\npolicy_name = device-{{subject.CN}}\n",
		           per_cert_policy, valid_crls);
		CU_ASSERT_EQUAL(jitrd_decision_check_templates(&w.ctx, &diag), JITRD_ERR_CONFIG);
		CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "add {{certificate.id}} to the name"));
		CU_ASSERT_PTR_NULL(strstr(diag.text, "(or {{certificate.id}})"));
		world_cleanup(&w);
		memset(&diag, 0, sizeof(diag));
		world_init(&w, "[provision]\npolicy_name = device-{{certificate.id}}\n",
		           per_cert_policy, valid_crls);
		CU_ASSERT_EQUAL(jitrd_decision_check_templates(&w.ctx, &diag), JITRD_OK);
		world_cleanup(&w);
	}
	/* a deployment-wide document needs no placeholder in the name */
	{
		struct world w;
		struct jitrd_diag diag = {{0}};
		world_init(&w, "[provision]\npolicy_name = jitrd-device\n", SHARED_POLICY,
		           valid_crls);
		CU_ASSERT_EQUAL(jitrd_decision_check_templates(&w.ctx, &diag), JITRD_OK);
		world_cleanup(&w);
	}
}

/* ${iot:Certificate.Subject.CommonName} is substituted by AWS, not escaped by jitrd: a Common
 * Name that would widen the grant through it is refused. */
static void test_unsafe_value_behind_iot_variable(void)
{
	static const struct {
		const char *device;
		enum jitrd_decision_kind kind;
	} cases[] = {
	    {"devices/good.pem", JITRD_DECISION_ACTIVATE},
	    {"devices/cn-star.pem", JITRD_DECISION_REJECT},
	    {"devices/cn-slash.pem", JITRD_DECISION_REJECT},
	    {"devices/cn-question.pem", JITRD_DECISION_REJECT},
	    {"devices/cn-iotvar.pem", JITRD_DECISION_REJECT},
	    {"devices/nocn.pem", JITRD_DECISION_REJECT},
	};
	struct world w;

	world_init(&w, "", SHARED_POLICY, valid_crls);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_decision d;
		CU_ASSERT_EQUAL(decide_device(&w, cases[i].device, NULL, JITRD_TEST_NOW, &d),
		                cases[i].kind);
		if (cases[i].kind == JITRD_DECISION_REJECT) {
			CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "CommonName"));
			CU_ASSERT_PTR_NULL(d.policy_document);
			CU_ASSERT_STRING_EQUAL(d.policy_name, "");
		}
		jitrd_decision_cleanup(&d);
	}
	world_cleanup(&w);
}

/* Every X.509 certificate policy variable AWS IoT documents is checked, with its .List and
 * index forms and every value of a multi-valued attribute; absent values are refused too. */
static void test_every_certificate_variable(void)
{
	static const struct {
		const char *variable; /* after "${iot:Certificate." */
		const char *device;
		enum jitrd_decision_kind kind;
	} cases[] = {
	    {"Subject.CommonName", "devices/good.pem", JITRD_DECISION_ACTIVATE},
	    {"Subject.CommonName", "devices/cn-slash.pem", JITRD_DECISION_REJECT},
	    /* AWS substitutes the first of several values; both are safe */
	    {"Subject.CommonName", "devices/twocn.pem", JITRD_DECISION_ACTIVATE},
	    {"subject.commonname", "devices/cn-slash.pem", JITRD_DECISION_REJECT}, /* any case */
	    {"Subject.Title", "devices/san-ok.pem", JITRD_DECISION_ACTIVATE},
	    {"Subject.Title", "devices/good.pem", JITRD_DECISION_REJECT}, /* absent */
	    {"Subject.Surname", "devices/san-ok.pem", JITRD_DECISION_ACTIVATE},
	    {"Subject.GivenName", "devices/san-ok.pem", JITRD_DECISION_ACTIVATE},
	    {"Subject.Initials", "devices/san-ok.pem", JITRD_DECISION_ACTIVATE},
	    {"Subject.Pseudonym", "devices/san-ok.pem", JITRD_DECISION_ACTIVATE},
	    {"Subject.GenerationQualifier", "devices/san-ok.pem", JITRD_DECISION_ACTIVATE},
	    {"Subject.SerialNumber", "devices/san-ok.pem", JITRD_DECISION_ACTIVATE},
	    {"Subject.DistinguishedNameQualifier", "devices/san-ok.pem", JITRD_DECISION_ACTIVATE},
	    {"Subject.DistinguishedNameQualifier", "devices/dnq-plus.pem", JITRD_DECISION_REJECT},
	    {"Subject.OrganizationalUnit", "devices/good.pem", JITRD_DECISION_ACTIVATE},
	    /* the second OU is "a/b": every value counts, whichever form */
	    {"Subject.OrganizationalUnit", "devices/ou-second-unsafe.pem", JITRD_DECISION_REJECT},
	    {"Subject.OrganizationalUnit.List", "devices/ou-second-unsafe.pem",
	     JITRD_DECISION_REJECT},
	    {"Subject.OrganizationalUnit.0", "devices/ou-second-unsafe.pem", JITRD_DECISION_REJECT},
	    {"Subject.OrganizationalUnit.List", "devices/good.pem", JITRD_DECISION_ACTIVATE},
	    {"Subject.OrganizationalUnit.1", "devices/good.pem",
	     JITRD_DECISION_REJECT}, /* one OU */
	    {"Subject.AlternativeName.DNSName", "devices/san-ok.pem", JITRD_DECISION_ACTIVATE},
	    {"Subject.AlternativeName.DNSName", "devices/san-unsafe.pem", JITRD_DECISION_REJECT},
	    {"Subject.AlternativeName.DNSName", "devices/good.pem", JITRD_DECISION_REJECT},
	    {"Subject.AlternativeName.UniformResourceIdentifier", "devices/san-ok.pem",
	     JITRD_DECISION_ACTIVATE},
	    {"Subject.AlternativeName.UniformResourceIdentifier", "devices/san-unsafe.pem",
	     JITRD_DECISION_REJECT},
	    {"Subject.AlternativeName.RFC822Name", "devices/san-ok.pem", JITRD_DECISION_ACTIVATE},
	    {"Subject.AlternativeName.IPAddress.List", "devices/san-ok.pem",
	     JITRD_DECISION_ACTIVATE},
	    {"Subject.AlternativeName.IPAddress.2", "devices/san-ok.pem", JITRD_DECISION_REJECT},
	    {"Subject.AlternativeName.DirectoryName", "devices/san-ok.pem",
	     JITRD_DECISION_ACTIVATE},
	    {"Issuer.CommonName", "devices/good.pem", JITRD_DECISION_ACTIVATE},
	    {"Issuer.Country.List", "devices/good.pem", JITRD_DECISION_ACTIVATE},
	    {"Issuer.OrganizationalUnit", "devices/good.pem", JITRD_DECISION_REJECT},
	    {"Issuer.AlternativeName.DNSName", "devices/good.pem", JITRD_DECISION_REJECT},
	    {"SerialNumber", "devices/cn-slash.pem", JITRD_DECISION_ACTIVATE},
	    {"AvailableKeys", "devices/good.pem", JITRD_DECISION_ACTIVATE},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char policy[512];
		struct world w;
		struct jitrd_decision d;
		struct jitrd_diag diag = {{0}};

		snprintf(policy, sizeof(policy),
		         "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
		         "\"Action\":\"iot:Publish\",\"Resource\":\"arn:aws:iot:{{aws.region}}:"
		         "{{aws.account}}:topic/t/${iot:Certificate.%s}/*\"}]}",
		         cases[i].variable);
		world_init(&w, "", policy, valid_crls);
		CU_ASSERT_EQUAL(jitrd_decision_check_templates(&w.ctx, &diag), JITRD_OK);
		CU_ASSERT_EQUAL(decide_device(&w, cases[i].device, NULL, JITRD_TEST_NOW, &d),
		                cases[i].kind);
		if (d.kind != cases[i].kind)
			fprintf(stderr, "variable case %zu (%s, %s): got %s (%s)\n", i,
			        cases[i].variable, cases[i].device, jitrd_decision_name(d.kind),
			        d.reason);
		if (cases[i].kind == JITRD_DECISION_REJECT) {
			CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, "${iot:Certificate."));
			CU_ASSERT_PTR_NULL(d.policy_document);
		}
		jitrd_decision_cleanup(&d);
		world_cleanup(&w);
	}
}

/* A certificate variable AWS does not document stops the start (it would stay unsubstituted,
 * and a misspelt one would escape the value check). */
static void test_unknown_certificate_variable(void)
{
	static const struct {
		const char *variable; /* the whole ${...} */
		enum jitrd_err expect;
	} cases[] = {
	    {"${iot:Certificate.Subject.Locality}", JITRD_ERR_CONFIG}, /* not in AWS's list */
	    {"${iot:Certificate.Subject.CommonNam}", JITRD_ERR_CONFIG},
	    {"${iot:Certificate.Subject.CommonName.Lists}", JITRD_ERR_CONFIG},
	    {"${iot:Certificate.Subject.CommonName.x1}", JITRD_ERR_CONFIG},
	    {"${iot:Certificate.SerialNumber.List}", JITRD_ERR_CONFIG},
	    {"${iot:Certificate.Validity.NotAfter}", JITRD_ERR_CONFIG},
	    {"${iot:Certificate}", JITRD_ERR_CONFIG},
	    {"${IOT:CERTIFICATE.SUBJECT.FOO}", JITRD_ERR_CONFIG},
	    {"${iot:Certificate.Subject.CommonName, 'x'}", JITRD_OK},
	    {"${iot:Certificate.Issuer.GenerationQualifier.List}", JITRD_OK},
	    {"${iot:Certificate.Subject.AlternativeName.IPAddress.3}", JITRD_OK},
	    {"${iot:CertificateX}", JITRD_OK}, /* not a certificate variable at all */
	    {"${iot:ClientId}", JITRD_OK},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char policy[512];
		struct world w;
		struct jitrd_diag diag = {{0}};

		snprintf(policy, sizeof(policy),
		         "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
		         "\"Action\":\"iot:Publish\",\"Resource\":[\"x\",\"topic/%s/*\"]}]}",
		         cases[i].variable);
		world_init(&w, "[provision]\npolicy_name = jitrd-device\n", policy, valid_crls);
		CU_ASSERT_EQUAL(jitrd_decision_check_templates(&w.ctx, &diag), cases[i].expect);
		world_cleanup(&w);
		/* the same in a Condition key */
		memset(&diag, 0, sizeof(diag));
		snprintf(policy, sizeof(policy),
		         "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
		         "\"Action\":\"iot:Connect\",\"Resource\":\"x\",\"Condition\":{"
		         "\"StringEquals\":{\"k/%s\":\"v\"}}}]}",
		         cases[i].variable);
		world_init(&w, "[provision]\npolicy_name = jitrd-device\n", policy, valid_crls);
		CU_ASSERT_EQUAL(jitrd_decision_check_templates(&w.ctx, &diag), cases[i].expect);
		if (cases[i].expect != JITRD_OK) {
			CU_ASSERT_PTR_NOT_NULL(
			    strstr(diag.text, "not one of the X.509 certificate"));
			CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "ertificate"));
		} else if (jitrd_decision_check_templates(&w.ctx, &diag) != JITRD_OK) {
			fprintf(stderr, "unknown-variable case %zu: %s\n", i, diag.text);
		}
		world_cleanup(&w);
	}
}

/* ---- CRL selection and integrity through the decision (RFC 5280 §5.2.3-§5.2.5, §6.3.3) */

#define T_2030_06_02 ((time_t)1906588800)
#define T_2030_06_09 ((time_t)1907193600)

/* A world of other CAs and CRLs, loaded at load_time; CRL results are not checked here. */
static void world_init_pki(struct world *w, const char *config_text, const char *const *ca_files,
                           const char *const *crl_files, time_t load_time)
{
	struct jitrd_diag diag = {{0}};
	struct jitrd_crl_builder *b;

	memset(w, 0, sizeof(*w));
	CU_ASSERT_EQUAL_FATAL(jitrd_config_parse("test.conf", config_text, strlen(config_text),
	                                         NULL, NULL, &w->cfg, &diag),
	                      JITRD_OK);
	w->cas = jitrd_caset_new();
	CU_ASSERT_FATAL(w->cas != NULL);
	for (const char *const *f = ca_files; *f; f++)
		add_file_to_caset(w->cas, *f);
	b = jitrd_crl_builder_new(w->cas, load_time);
	CU_ASSERT_FATAL(b != NULL);
	for (const char *const *f = crl_files; *f; f++) {
		size_t len;
		char *bytes = tsupport_read_fixture(*f, &len);

		CU_ASSERT_FATAL(bytes != NULL);
		enum jitrd_err err =
		    jitrd_crl_builder_add(b, *f, (unsigned char *)bytes, len, NULL);

		/* a stale CRL is reported and kept; nothing else is refused in these sets */
		CU_ASSERT(err == JITRD_OK || err == JITRD_ERR_CRL_EXPIRED);
		free(bytes);
	}
	CU_ASSERT_EQUAL_FATAL(jitrd_crl_builder_finish(b, &w->crls), JITRD_OK);
	jitrd_crl_builder_free(b);
	CU_ASSERT_EQUAL_FATAL(jitrd_policy_template_parse("policy.json", SHARED_POLICY,
	                                                  strlen(SHARED_POLICY), &w->tpl, &diag),
	                      JITRD_OK);
	w->ctx.cfg = w->cfg;
	w->ctx.cas = w->cas;
	w->ctx.crls = w->crls;
	w->ctx.policy_template = w->tpl;
	w->ctx.account_id = "123456789012";
	w->ctx.region = "eu-west-1";
}

struct integrity_case {
	const char *device;
	time_t now;
	enum jitrd_decision_kind kind;
	const char *reason_part;
};

static void check_integrity_cases(struct world *w, const struct integrity_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct jitrd_decision d;
		enum jitrd_decision_kind kind = decide_device(w, c[i].device, NULL, c[i].now, &d);

		if (kind != c[i].kind || !strstr(d.reason, c[i].reason_part))
			fprintf(stderr, "  %s: %d \"%s\"\n", c[i].device, kind, d.reason);
		CU_ASSERT_EQUAL(kind, c[i].kind);
		CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, c[i].reason_part));
		jitrd_decision_cleanup(&d);
	}
}

/* CRL #5 (empty, a year) beside CRL #10 (lists the device, 7 days), judged at +8 days: the
 * revoked device is revoked and the others wait for a new CRL, whatever #5 says. */
static void test_older_crl_never_hides_newer(void)
{
	static const char *const ca_files[] = {"integrity/cas/integ.pem", NULL};
	static const char *const crl_files[] = {"integrity/crl-both/integ-05.pem",
	                                        "integrity/crl-both/integ-10.pem", NULL};
	static const struct integrity_case cases[] = {
	    {"devices/integ-revoked.pem", T_2030_06_09, JITRD_DECISION_REVOKE, "keyCompromise"},
	    {"devices/integ-good.pem", T_2030_06_09, JITRD_DECISION_DEFER, "past its nextUpdate"},
	    {"devices/integ-revoked.pem", T_2030_06_02, JITRD_DECISION_REVOKE, "keyCompromise"},
	    {"devices/integ-good.pem", T_2030_06_02, JITRD_DECISION_ACTIVATE, "not on the CRL"},
	};
	struct world w;

	/* loaded at +8 days, and loaded while #10 was current but judged later */
	world_init_pki(&w, "", ca_files, crl_files, T_2030_06_09);
	check_integrity_cases(&w, cases, 2);
	world_cleanup(&w);
	world_init_pki(&w, "", ca_files, crl_files, T_2030_06_02);
	check_integrity_cases(&w, cases, 4);
	world_cleanup(&w);
}

/* Partitioned CRLs: each device answers to the partition its CRL Distribution Points name. */
static void test_partitioned_crls(void)
{
	static const char *const ca_files[] = {"integrity/part-cas/part.pem", NULL};
	static const char *const crl_files[] = {"integrity/part-crls/p1.pem",
	                                        "integrity/part-crls/p2.pem", NULL};
	static const struct integrity_case cases[] = {
	    {"devices/part-p1-held.pem", JITRD_TEST_NOW, JITRD_DECISION_HOLD, "certificateHold"},
	    {"devices/part-p1-revoked.pem", JITRD_TEST_NOW, JITRD_DECISION_REVOKE, "keyCompromise"},
	    {"devices/part-p1-good.pem", JITRD_TEST_NOW, JITRD_DECISION_ACTIVATE, "not on the CRL"},
	    {"devices/part-p2-good.pem", JITRD_TEST_NOW, JITRD_DECISION_ACTIVATE, "not on the CRL"},
	    {"devices/part-p3.pem", JITRD_TEST_NOW, JITRD_DECISION_DEFER, "no valid CRL"},
	    {"devices/part-nocdp.pem", JITRD_TEST_NOW, JITRD_DECISION_DEFER, "no valid CRL"},
	};
	struct world w;

	world_init_pki(&w, "", ca_files, crl_files, JITRD_TEST_NOW);
	check_integrity_cases(&w, cases, sizeof(cases) / sizeof(cases[0]));
	world_cleanup(&w);
}

/* A renewed CA certificate (same name and key, another AWS id) shares the old one's CRLs: its
 * devices are judged by them, not deferred, and not let in under fail_open despite them. */
static void test_renewed_ca(void)
{
	static const char *const ca_files[] = {"integrity/renewed-cas/ca1.pem",
	                                       "integrity/renewed-cas/ca1-renewed.pem", NULL};
	static const char *const crl_files[] = {"crls/ca1.crl.pem", NULL};
	static const char *const configs[] = {"", "[crl]\nfail_open = true\n"};

	for (size_t c = 0; c < 2; c++) {
		struct world w;

		world_init_pki(&w, configs[c], ca_files, crl_files, JITRD_TEST_NOW);
		for (size_t i = 0; i < 2; i++) {
			const char *id = jitrd_cert_id(jitrd_caset_at(w.cas, i));
			struct jitrd_decision d;

			CU_ASSERT_EQUAL(
			    decide_device(&w, "devices/revoked.pem", id, JITRD_TEST_NOW, &d),
			    JITRD_DECISION_REVOKE);
			CU_ASSERT_STRING_EQUAL(d.ca_id, id);
			jitrd_decision_cleanup(&d);
			CU_ASSERT_EQUAL(
			    decide_device(&w, "devices/good.pem", id, JITRD_TEST_NOW, &d),
			    JITRD_DECISION_ACTIVATE);
			CU_ASSERT_STRING_EQUAL(d.reason, "not on the CRL");
			jitrd_decision_cleanup(&d);
		}
		world_cleanup(&w);
	}
}

/* Delta CRLs: base + delta, and a delta alone. */
static void test_delta_crl_decisions(void)
{
	static const char *const ca_files[] = {"integrity/delta-cas/delta.pem", NULL};
	static const char *const both[] = {"integrity/delta-crls/base.pem",
	                                   "integrity/delta-crls/delta.pem", NULL};
	static const char *const delta_only[] = {"integrity/delta-only/delta.pem", NULL};
	static const struct integrity_case with_base[] = {
	    {"devices/delta-revoked.pem", JITRD_TEST_NOW, JITRD_DECISION_REVOKE, "keyCompromise"},
	    {"devices/delta-held.pem", JITRD_TEST_NOW, JITRD_DECISION_ACTIVATE, "removeFromCRL"},
	    {"devices/delta-good.pem", JITRD_TEST_NOW, JITRD_DECISION_ACTIVATE, "not on the CRL"},
	};
	static const struct integrity_case alone[] = {
	    {"devices/delta-revoked.pem", JITRD_TEST_NOW, JITRD_DECISION_REVOKE, "keyCompromise"},
	    {"devices/delta-good.pem", JITRD_TEST_NOW, JITRD_DECISION_DEFER, "no valid CRL"},
	};
	struct world w;

	world_init_pki(&w, "", ca_files, both, JITRD_TEST_NOW);
	check_integrity_cases(&w, with_base, 3);
	world_cleanup(&w);
	/* even under fail_open, a delta's revocation is evidence */
	world_init_pki(&w, "[crl]\nfail_open = true\n", ca_files, delta_only, JITRD_TEST_NOW);
	check_integrity_cases(&w, alone, 1);
	world_cleanup(&w);
	world_init_pki(&w, "", ca_files, delta_only, JITRD_TEST_NOW);
	check_integrity_cases(&w, alone, 2);
	world_cleanup(&w);
}

/* One registered CA of pv/ and its CRL, with the default configuration. */
static void pv_world_init(struct world *w, const char *ca)
{
	struct jitrd_diag diag = {{0}};
	struct jitrd_crl_builder *b;
	char path[128];

	memset(w, 0, sizeof(*w));
	CU_ASSERT_EQUAL_FATAL(jitrd_config_parse("test.conf", "", 0, NULL, NULL, &w->cfg, &diag),
	                      JITRD_OK);
	w->cas = jitrd_caset_new();
	CU_ASSERT_FATAL(w->cas != NULL);
	snprintf(path, sizeof(path), "pv/cas/%s.pem", ca);
	add_file_to_caset(w->cas, path);
	b = jitrd_crl_builder_new(w->cas, JITRD_TEST_NOW);
	CU_ASSERT_FATAL(b != NULL);
	snprintf(path, sizeof(path), "pv/crls/%s.crl.pem", ca);
	add_crl(b, path, JITRD_OK);
	CU_ASSERT_EQUAL_FATAL(jitrd_crl_builder_finish(b, &w->crls), JITRD_OK);
	jitrd_crl_builder_free(b);
	CU_ASSERT_EQUAL_FATAL(jitrd_policy_template_parse("policy.json", SHARED_POLICY,
	                                                  strlen(SHARED_POLICY), &w->tpl, &diag),
	                      JITRD_OK);
	w->ctx.cfg = w->cfg;
	w->ctx.cas = w->cas;
	w->ctx.crls = w->crls;
	w->ctx.policy_template = w->tpl;
	w->ctx.account_id = "123456789012";
	w->ctx.region = "eu-west-1";
}

/* Step 5 by RFC 5280's rules (§4.2.1.3 keyUsage, §4.2.1.10 name constraints, §4.2.1.11 policy
 * constraints, §4.2.1.14 inhibitAnyPolicy, §6.1 path validation): the device under its CA at
 * the judging time. A refused one is never activated, whatever the CRL says. */
static void test_path_validation_conformance(void)
{
	static const struct {
		const char *ca, *device;
		enum jitrd_decision_kind kind;
		const char *reason_part;
	} cases[] = {
	    {"pv-good", "good", JITRD_DECISION_ACTIVATE, "not on the CRL"},
	    {"pv-rsa", "rsa-good", JITRD_DECISION_ACTIVATE, "not on the CRL"},
	    /* §6.1.3(a)(2): the CA's validity too */
	    {"pv-expired", "under-expired-ca", JITRD_DECISION_REJECT,
	     "CA certificate expired on 2030-05-20T00:00:00Z"},
	    {"pv-notyet", "under-notyet-ca", JITRD_DECISION_REJECT,
	     "CA certificate not valid before 2030-07-01T00:00:00Z"},
	    /* §4.2.1.3, §6.1.4(n) */
	    {"pv-nocertsign", "under-nocertsign-ca", JITRD_DECISION_REJECT,
	     "its keyUsage lacks keyCertSign"},
	    {"pv-noku", "under-noku-ca", JITRD_DECISION_ACTIVATE, "not on the CRL"},
	    /* signatures with MD5 or SHA-1, on the device or on the CA */
	    {"pv-good", "sha1", JITRD_DECISION_REJECT, "certificate is signed with SHA1"},
	    {"pv-rsa", "md5", JITRD_DECISION_REJECT, "certificate is signed with MD5"},
	    {"pv-sha1", "under-sha1-ca", JITRD_DECISION_REJECT,
	     "CA certificate is signed with SHA1"},
	    {"pv-md5", "under-md5-ca", JITRD_DECISION_REJECT, "CA certificate is signed with MD5"},
	    /* §4.2.1.10 */
	    {"pv-nc", "nc-all-in", JITRD_DECISION_ACTIVATE, "not on the CRL"},
	    {"pv-nc", "nc-dn-in", JITRD_DECISION_ACTIVATE, "not on the CRL"},
	    {"pv-nc", "nc-dn-out", JITRD_DECISION_REJECT, "name constraints violated"},
	    {"pv-nc", "nc-email-in", JITRD_DECISION_ACTIVATE, "not on the CRL"},
	    {"pv-nc", "nc-email-out", JITRD_DECISION_REJECT, "name constraints violated"},
	    {"pv-nc", "nc-dns-in", JITRD_DECISION_ACTIVATE, "not on the CRL"},
	    {"pv-nc", "nc-dns-out", JITRD_DECISION_REJECT, "name constraints violated"},
	    {"pv-nc", "nc-uri-in", JITRD_DECISION_ACTIVATE, "not on the CRL"},
	    {"pv-nc", "nc-uri-out", JITRD_DECISION_REJECT, "name constraints violated"},
	    /* §4.2.1.11 requireExplicitPolicy 0 */
	    {"pv-policy", "policy-none", JITRD_DECISION_REJECT, "requires an explicit policy"},
	    {"pv-policy", "policy-p1", JITRD_DECISION_ACTIVATE, "not on the CRL"},
	    {"pv-policy", "policy-p2", JITRD_DECISION_REJECT, "requires an explicit policy"},
	    {"pv-policy", "policy-any", JITRD_DECISION_ACTIVATE, "not on the CRL"},
	    /* §4.2.1.14 inhibitAnyPolicy 0 */
	    {"pv-inhibitany", "inhibitany-any", JITRD_DECISION_REJECT,
	     "requires an explicit policy"},
	    {"pv-inhibitany", "inhibitany-p1", JITRD_DECISION_ACTIVATE, "not on the CRL"},
	    /* §4.2.1.11 inhibitPolicyMapping 0 */
	    {"pv-inhibitmap", "inhibitmap-p1", JITRD_DECISION_ACTIVATE, "not on the CRL"},
	    {"pv-inhibitmap", "inhibitmap-p2", JITRD_DECISION_REJECT,
	     "requires an explicit policy"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct world w;
		struct jitrd_decision d;
		char device[128];
		enum jitrd_decision_kind kind;

		pv_world_init(&w, cases[i].ca);
		snprintf(device, sizeof(device), "pv/devices/%s.pem", cases[i].device);
		kind = decide_device(&w, device, NULL, JITRD_TEST_NOW, &d);
		if (kind != cases[i].kind || !strstr(d.reason, cases[i].reason_part))
			fprintf(stderr, "case %s under %s: got %s (%s)\n", cases[i].device,
			        cases[i].ca, jitrd_decision_name(kind), d.reason);
		CU_ASSERT_EQUAL(kind, cases[i].kind);
		CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, cases[i].reason_part));
		/* the event's claimed CA gives the same answer as the issuer lookup */
		jitrd_decision_cleanup(&d);
		CU_ASSERT_EQUAL(decide_device(&w, device, jitrd_cert_id(jitrd_caset_at(w.cas, 0)),
		                              JITRD_TEST_NOW, &d),
		                cases[i].kind);
		if (kind == JITRD_DECISION_REJECT) {
			CU_ASSERT_EQUAL(d.target_status, JITRD_TARGET_LEAVE);
			CU_ASSERT_PTR_NULL(d.policy_document);
		}
		jitrd_decision_cleanup(&d);
		world_cleanup(&w);
	}
}

/* A reject that time alone may undo (the device or its CA not valid yet, the CA unusable now)
 * is flagged, so the service does not remember it; every other reject is final. */
static void test_time_may_change(void)
{
	static const struct {
		const char *ca, *device;
		bool time_may_change;
	} cases[] = {
	    {NULL, "devices/notyet.pem", true},
	    {NULL, "devices/expired.pem", false},
	    {NULL, "devices/cadevice.pem", false},
	    {NULL, "devices/good.pem", false},
	    {"pv-notyet", "pv/devices/under-notyet-ca.pem", true},
	    {"pv-expired", "pv/devices/under-expired-ca.pem", true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct world w;
		struct jitrd_decision d;

		if (cases[i].ca)
			pv_world_init(&w, cases[i].ca);
		else
			world_init(&w, "[provision]\npolicy_name = jitrd-device\n", SHARED_POLICY,
			           valid_crls);
		(void)decide_device(&w, cases[i].device, NULL, JITRD_TEST_NOW, &d);
		if (d.time_may_change != cases[i].time_may_change)
			fprintf(stderr, "case %s: time_may_change %d (%s)\n", cases[i].device,
			        d.time_may_change, d.reason);
		CU_ASSERT_EQUAL(d.time_may_change, cases[i].time_may_change);
		jitrd_decision_cleanup(&d);
		world_cleanup(&w);
	}
}

/* [ca] anchors (RFC 5280 §6.3): each registered intermediate is looked up on its root's CRL.
 * with_root_crl false: the root's CRL is missing. */
static void anchored_world(struct world *w, struct jitrd_caset **anchors,
                           struct jitrd_caset **issuers, const char *config_text,
                           bool with_root_crl)
{
	static const char *const cas[] = {"pa/cas/pa-good.pem", "pa/cas/pa-revoked.pem",
	                                  "pa/cas/pa-held.pem", NULL};
	struct jitrd_crl_builder *b;

	world_init(w, config_text, SHARED_POLICY, NULL);
	jitrd_caset_free(w->cas);
	w->cas = jitrd_caset_new();
	*anchors = jitrd_caset_new();
	*issuers = jitrd_caset_new();
	CU_ASSERT_FATAL(w->cas && *anchors && *issuers);
	for (const char *const *c = cas; *c; c++) {
		add_file_to_caset(w->cas, *c);
		add_file_to_caset(*issuers, *c);
	}
	add_file_to_caset(*anchors, "pa/anchors/pa-root.pem");
	add_file_to_caset(*issuers, "pa/anchors/pa-root.pem");
	CU_ASSERT_EQUAL_FATAL(jitrd_caset_set_anchors(w->cas, *anchors), JITRD_OK);
	b = jitrd_crl_builder_new(*issuers, JITRD_TEST_NOW);
	CU_ASSERT_FATAL(b != NULL);
	add_crl(b, "pa/crls/pa-good.crl.pem", JITRD_OK);
	add_crl(b, "pa/crls/pa-revoked.crl.pem", JITRD_OK);
	add_crl(b, "pa/crls/pa-held.crl.pem", JITRD_OK);
	if (with_root_crl)
		add_crl(b, "pa/crls/pa-root.crl.pem", JITRD_OK);
	CU_ASSERT_EQUAL_FATAL(jitrd_crl_builder_finish(b, &w->crls), JITRD_OK);
	jitrd_crl_builder_free(b);
	w->ctx.cas = w->cas;
	w->ctx.crls = w->crls;
}

static void test_anchor_revokes_ca(void)
{
	static const struct {
		bool root_crl;
		bool fail_open;
		const char *device;
		enum jitrd_decision_kind kind;
		const char *reason_part;
	} cases[] = {
	    {true, false, "pa/devices/under-good.pem", JITRD_DECISION_ACTIVATE, "not on the CRL"},
	    {true, false, "pa/devices/under-revoked.pem", JITRD_DECISION_REJECT,
	     "is revoked by /CN=PA Root CA/O=Example Corp/C=US: keyCompromise; deactivate the CA "
	     "in AWS"},
	    {true, true, "pa/devices/under-revoked.pem", JITRD_DECISION_REJECT, "keyCompromise"},
	    {true, false, "pa/devices/under-held.pem", JITRD_DECISION_DEFER, "certificateHold"},
	    {true, true, "pa/devices/under-held.pem", JITRD_DECISION_DEFER, "certificateHold"},
	    {true, false, "pa/devices/under-root.pem", JITRD_DECISION_IGNORE, "not one of our CAs"},
	    {false, false, "pa/devices/under-good.pem", JITRD_DECISION_DEFER,
	     "no valid CRL of /CN=PA Root CA/O=Example Corp/C=US for the CA"},
	    {false, true, "pa/devices/under-good.pem", JITRD_DECISION_ACTIVATE, "not on the CRL"},
	    /* without the root's CRL nothing is known of the revoked intermediate */
	    {false, false, "pa/devices/under-revoked.pem", JITRD_DECISION_DEFER, "no valid CRL"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct world w;
		struct jitrd_caset *anchors = NULL, *issuers = NULL;
		struct jitrd_decision d;

		anchored_world(&w, &anchors, &issuers,
		               cases[i].fail_open ? "[crl]\nfail_open = true\n"
		                                  : "[crl]\nfail_open = false\n",
		               cases[i].root_crl);
		CU_ASSERT_EQUAL(decide_device(&w, cases[i].device, NULL, JITRD_TEST_NOW, &d),
		                cases[i].kind);
		CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, cases[i].reason_part));
		if (d.kind != cases[i].kind || !strstr(d.reason, cases[i].reason_part))
			fprintf(stderr, "case %zu: %d '%s'\n", i, d.kind, d.reason);
		if (cases[i].kind == JITRD_DECISION_REJECT)
			CU_ASSERT_EQUAL(d.target_status,
			                JITRD_TARGET_LEAVE); /* on_reject = leave */
		jitrd_decision_cleanup(&d);
		world_cleanup(&w);
		jitrd_caset_free(anchors);
		jitrd_caset_free(issuers);
	}
}

/* jitrd_decide_ca for the start-up report: only with anchors does it say anything. */
static void test_decide_ca(void)
{
	struct world w;
	struct jitrd_caset *anchors = NULL, *issuers = NULL;
	struct jitrd_decision d;

	world_init(&w, "[crl]\nfail_open = false\n", SHARED_POLICY, valid_crls);
	jitrd_decision_init(&d);
	CU_ASSERT_EQUAL(jitrd_decide_ca(&w.ctx, jitrd_caset_at(w.cas, 0), JITRD_TEST_NOW, &d),
	                JITRD_OK);
	CU_ASSERT_EQUAL(d.kind, JITRD_DECISION_ACTIVATE);
	CU_ASSERT_EQUAL(jitrd_decide_ca(NULL, jitrd_caset_at(w.cas, 0), JITRD_TEST_NOW, &d),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_decide_ca(&w.ctx, NULL, JITRD_TEST_NOW, &d), JITRD_ERR_INVALID_ARG);
	world_cleanup(&w);

	anchored_world(&w, &anchors, &issuers, "[crl]\nfail_open = false\n", true);
	for (size_t i = 0; i < 3; i++) {
		static const enum jitrd_decision_kind want[] = {
		    JITRD_DECISION_ACTIVATE, JITRD_DECISION_REJECT, JITRD_DECISION_DEFER};
		jitrd_decision_init(&d);
		CU_ASSERT_EQUAL(
		    jitrd_decide_ca(&w.ctx, jitrd_caset_at(w.cas, i), JITRD_TEST_NOW, &d),
		    JITRD_OK);
		CU_ASSERT_EQUAL(d.kind, want[i]);
	}
	world_cleanup(&w);
	jitrd_caset_free(anchors);
	jitrd_caset_free(issuers);
}

/* [ocsp]: which devices wait for an answer, and what each answer makes of them. */
struct ocsp_case {
	const char *config;
	bool with_crls; /* the fixture CRLs, or none at all */
	const char *device;
	enum jitrd_ocsp_status answer; /* JITRD_OCSP_NONE: no answer in the context */
	enum jitrd_decision_kind kind;
	bool wanted;
	const char *reason_part;
};

static void test_ocsp_decisions(void)
{
	static const char *const off = "[ocsp]\nmode = off\n";
	static const char *const fallback = "[ocsp]\nmode = fallback\n";
	static const char *const require = "[ocsp]\nmode = require\n";
	static const char *const fallback_open =
	    "[crl]\nfail_open = true\n[ocsp]\nmode = fallback\n";
	static const struct ocsp_case cases[] = {
	    /* off: the answer is never asked for, never used */
	    {off, false, "devices/good.pem", JITRD_OCSP_NONE, JITRD_DECISION_DEFER, false,
	     "no valid CRL"},
	    {off, false, "devices/good.pem", JITRD_OCSP_REVOKED, JITRD_DECISION_DEFER, false,
	     "no valid CRL"},
	    /* fallback, no CRL: OCSP decides */
	    {fallback, false, "devices/good.pem", JITRD_OCSP_NONE, JITRD_DECISION_DEFER, true,
	     "needs an OCSP answer"},
	    {fallback, false, "devices/good.pem", JITRD_OCSP_GOOD, JITRD_DECISION_ACTIVATE, false,
	     "no current CRL; OCSP: good"},
	    {fallback, false, "devices/good.pem", JITRD_OCSP_REVOKED, JITRD_DECISION_REVOKE, false,
	     "OCSP: revoked: keyCompromise"},
	    {fallback, false, "devices/good.pem", JITRD_OCSP_HOLD, JITRD_DECISION_HOLD, false,
	     "OCSP: certificateHold"},
	    {fallback, false, "devices/good.pem", JITRD_OCSP_UNKNOWN, JITRD_DECISION_DEFER, false,
	     "OCSP: unknown"},
	    {fallback, false, "devices/good.pem", JITRD_OCSP_INVALID, JITRD_DECISION_DEFER, false,
	     "OCSP: invalid: test reason"},
	    {fallback_open, false, "devices/good.pem", JITRD_OCSP_INVALID, JITRD_DECISION_ACTIVATE,
	     false, "crl.fail_open"},
	    {fallback_open, false, "devices/good.pem", JITRD_OCSP_REVOKED, JITRD_DECISION_REVOKE,
	     false, "OCSP: revoked"},
	    /* fallback with a current CRL: the CRL alone */
	    {fallback, true, "devices/good.pem", JITRD_OCSP_NONE, JITRD_DECISION_ACTIVATE, false,
	     "not on the CRL"},
	    {fallback, true, "devices/good.pem", JITRD_OCSP_REVOKED, JITRD_DECISION_ACTIVATE, false,
	     "not on the CRL"},
	    /* require: the CRL's revocation and hold stand without a request; else OCSP */
	    {require, true, "devices/revoked.pem", JITRD_OCSP_NONE, JITRD_DECISION_REVOKE, false,
	     "keyCompromise"},
	    {require, true, "devices/held.pem", JITRD_OCSP_NONE, JITRD_DECISION_HOLD, false,
	     "listed on the CRL: certificateHold"},
	    {require, true, "devices/good.pem", JITRD_OCSP_NONE, JITRD_DECISION_DEFER, true,
	     "needs an OCSP answer"},
	    {require, true, "devices/good.pem", JITRD_OCSP_GOOD, JITRD_DECISION_ACTIVATE, false,
	     "not on the CRL; OCSP: good"},
	    {require, true, "devices/good.pem", JITRD_OCSP_REVOKED, JITRD_DECISION_REVOKE, false,
	     "OCSP: revoked"},
	    {require, true, "devices/good.pem", JITRD_OCSP_UNKNOWN, JITRD_DECISION_DEFER, false,
	     "OCSP: unknown"},
	    {require, false, "devices/good.pem", JITRD_OCSP_GOOD, JITRD_DECISION_ACTIVATE, false,
	     "no current CRL; OCSP: good"},
	    /* nothing is asked for a device rejected before */
	    {require, true, "devices/expired.pem", JITRD_OCSP_NONE, JITRD_DECISION_REJECT, false,
	     "expired"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ocsp_case *c = &cases[i];
		struct jitrd_ocsp_answer answer = {c->answer, 1, 0, 0, false, "test reason"};
		struct jitrd_decision d;
		struct world w;

		world_init(&w, c->config, SHARED_POLICY, c->with_crls ? valid_crls : NULL);
		w.ctx.ocsp = c->answer == JITRD_OCSP_NONE ? NULL : &answer;
		decide_device(&w, c->device, NULL, JITRD_TEST_NOW, &d);
		if (d.kind != c->kind || d.ocsp_wanted != c->wanted ||
		    !strstr(d.reason, c->reason_part))
			fprintf(stderr, "case %zu: %s, wanted %d, \"%s\"\n", i,
			        jitrd_decision_name(d.kind), d.ocsp_wanted, d.reason);
		CU_ASSERT_EQUAL(d.kind, c->kind);
		CU_ASSERT_EQUAL(d.ocsp_wanted, c->wanted);
		CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, c->reason_part));
		jitrd_decision_cleanup(&d);
		world_cleanup(&w);
	}
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"every device case", test_every_device_case},
	    {"activation renders policy and names", test_activation_renders_policy_and_names},
	    {"hostile common names", test_hostile_common_names},
	    {"no CRL defers unless fail_open", test_no_crl_defers_unless_fail_open},
	    {"CRL past nextUpdate defers", test_crl_past_next_update_defers},
	    {"on_reject revoke", test_on_reject_revoke},
	    {"claimed CA", test_claimed_ca},
	    {"filter", test_filter},
	    {"certificate.arn needs the account", test_certificate_arn_needs_account},
	    {"stale CRL", test_stale_crl},
	    {"policy name must follow the document", test_policy_name_must_follow_document},
	    {"unsafe value behind an IoT variable", test_unsafe_value_behind_iot_variable},
	    {"every certificate policy variable", test_every_certificate_variable},
	    {"unknown certificate variable", test_unknown_certificate_variable},
	    {"an older CRL never hides a newer one", test_older_crl_never_hides_newer},
	    {"partitioned CRLs", test_partitioned_crls},
	    {"renewed CA shares CRLs", test_renewed_ca},
	    {"delta CRLs", test_delta_crl_decisions},
	    {"path validation: RFC 5280 conformance", test_path_validation_conformance},
	    {"a reject time may undo is flagged", test_time_may_change},
	    {"an anchor's CRL revokes a registered CA", test_anchor_revokes_ca},
	    {"the CA's own revocation status", test_decide_ca},
	    {"OCSP: who is asked, what each answer decides", test_ocsp_decisions},
	    {NULL, NULL},
	};
	return tsupport_run("decision", cases);
}
