/* test_config.c — unit tests of the config module: golden files under tests/unit/config/ with
 * their expected fields or exact error text, value rules per key, the environment, limits
 * (line length, NUL, size), and allocation failure. Test-only: reads files and the env. */
#include "jitrd/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#define ID_A        "1111111111111111111111111111111111111111111111111111111111111111"
#define ID_B        "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
#define CA_ID_CHARS 64
#define ID_C        "2222222222222222222222222222222222222222222222222222222222222222"

static const char *const no_env[] = {NULL};

/* Failure injection for the allocation loop: config.c allocates its strings with strdup and
 * strndup (the struct with calloc), so these definitions, linked into this program, let a test
 * fail the n-th one. Disarmed (-1) they behave like libc's. */
static long alloc_countdown = -1;
static unsigned alloc_failed;

static int alloc_should_fail(void)
{
	if (alloc_countdown < 0)
		return 0;
	if (alloc_countdown == 0) {
		alloc_failed++;
		return 1;
	}
	alloc_countdown--;
	return 0;
}

char *strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if (alloc_should_fail())
		return NULL;
	p = malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

char *strndup(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *p;

	if (alloc_should_fail())
		return NULL;
	p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static char *read_golden(const char *name, size_t *len)
{
	char path[4096];
	const char *root = getenv("JITRD_SOURCE_ROOT");
	char *text;

	if (!root) {
		CU_FAIL("JITRD_SOURCE_ROOT is not set");
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s", root, name);
	text = tsupport_read(path, len);
	CU_ASSERT_PTR_NOT_NULL(text);
	return text;
}

/* A sentinel *out: an error must leave it exactly as it was. */
static struct jitrd_config sentinel_storage;
#define SENTINEL (&sentinel_storage)

/* Parses and expects success; returns the config (caller frees) or NULL after a CU failure. */
static struct jitrd_config *parse_ok(const char *origin, const char *text, size_t len,
                                     const char *const *envp, const char *base_dir)
{
	struct jitrd_config *cfg = SENTINEL;
	struct jitrd_diag diag = {"untouched"};
	enum jitrd_err rc = jitrd_config_parse(origin, text, len, envp, base_dir, &cfg, &diag);

	CU_ASSERT_EQUAL(rc, JITRD_OK);
	if (rc != JITRD_OK) {
		fprintf(stderr, "\n  unexpected error %d: %s\n", rc, diag.text);
		return NULL;
	}
	CU_ASSERT_PTR_NOT_NULL(cfg);
	CU_ASSERT_PTR_NOT_EQUAL(cfg, SENTINEL);
	return cfg == SENTINEL ? NULL : cfg;
}

/* Parses and expects rc with exactly message in diag, and *out untouched. */
static void parse_fails(const char *origin, const char *text, size_t len, const char *const *envp,
                        const char *base_dir, enum jitrd_err want_rc, const char *message)
{
	struct jitrd_config *cfg = SENTINEL;
	struct jitrd_diag diag = {"untouched"};
	enum jitrd_err rc = jitrd_config_parse(origin, text, len, envp, base_dir, &cfg, &diag);

	CU_ASSERT_EQUAL(rc, want_rc);
	CU_ASSERT_PTR_EQUAL(cfg, SENTINEL);
	CU_ASSERT_STRING_EQUAL(diag.text, message);
	if (rc != want_rc || strcmp(diag.text, message) != 0)
		fprintf(stderr, "\n  got %d '%s'\n  want %d '%s'\n", rc, diag.text, want_rc,
		        message);
	if (rc == JITRD_OK && cfg != SENTINEL)
		jitrd_config_free(cfg);
}

static void parse_text_fails(const char *text, const char *const *envp, const char *message)
{
	parse_fails("t.conf", text, strlen(text), envp, NULL, JITRD_ERR_CONFIG, message);
}

/* Every field of a default configuration, as config.h documents it. */
static void assert_defaults(const struct jitrd_config *c, const char *endpoint)
{
	CU_ASSERT_STRING_EQUAL(c->mqtt.url, "");
	CU_ASSERT_STRING_EQUAL(c->mqtt.client_id, "jitrd");
	CU_ASSERT_STRING_EQUAL(c->mqtt.topic, "$aws/events/certificates/registered/+");
	CU_ASSERT_STRING_EQUAL(c->mqtt.ca_file, "");
	CU_ASSERT_STRING_EQUAL(c->mqtt.cert_file, "");
	CU_ASSERT_STRING_EQUAL(c->mqtt.key_file, "");
	CU_ASSERT_STRING_EQUAL(c->mqtt.alpn, "");
	CU_ASSERT_FALSE(c->mqtt.clean_session);
	CU_ASSERT_EQUAL(c->mqtt.keepalive, 60);
	CU_ASSERT_EQUAL(c->mqtt.qos, 1);
	CU_ASSERT_STRING_EQUAL(c->aws.region, "us-east-1");
	CU_ASSERT_STRING_EQUAL(c->aws.endpoint, endpoint);
	CU_ASSERT_STRING_EQUAL(c->aws.signing_name, "iot");
	CU_ASSERT_STRING_EQUAL(c->aws.profile, "");
	CU_ASSERT_STRING_EQUAL(c->aws.account_id, "");
	CU_ASSERT_STRING_EQUAL(c->ca.dir, "/etc/jitrd/ca");
	CU_ASSERT_STRING_EQUAL(c->ca.anchors, ""); /* off: each registered CA is its anchor */
	CU_ASSERT_EQUAL(c->ca.allow_count, 0);
	CU_ASSERT_STRING_EQUAL(c->crl.dir, "/etc/jitrd/crl");
	CU_ASSERT_FALSE(c->crl.fail_open);
	CU_ASSERT_EQUAL(c->crl.reload_seconds, 300);
	CU_ASSERT_STRING_EQUAL(c->crl.s3_region, "us-east-1"); /* [aws] region */
	CU_ASSERT_STRING_EQUAL(c->crl.s3_endpoint, "");
	CU_ASSERT_EQUAL(c->crl.s3_addressing, JITRD_S3_ADDRESSING_VIRTUAL);
	CU_ASSERT_EQUAL(c->ocsp.mode, JITRD_OCSP_MODE_OFF);
	CU_ASSERT_STRING_EQUAL(c->ocsp.responder, "");
	CU_ASSERT_EQUAL(c->ocsp.ca_responder_count, 0);
	CU_ASSERT_EQUAL(c->ocsp.timeout_seconds, 5);
	CU_ASSERT_EQUAL(c->ocsp.max_skew_seconds, 300);
	CU_ASSERT_TRUE(c->ocsp.nonce);
	CU_ASSERT_STRING_EQUAL(jitrd_config_ocsp_responder(c, ID_A), "");
	CU_ASSERT_EQUAL(c->crl.url_count, 0);
	CU_ASSERT_EQUAL(c->crl.distribution_points, JITRD_CRL_DP_OFF);
	CU_ASSERT_EQUAL(c->crl.refresh_seconds, 3600);
	CU_ASSERT_EQUAL(c->crl.fetch_timeout_seconds, 60);
	CU_ASSERT_EQUAL(c->crl.fetch_max_bytes, 268435456);
	CU_ASSERT_STRING_EQUAL(c->provision.policy_template, "/etc/jitrd/policies/default.json");
	CU_ASSERT_STRING_EQUAL(c->provision.policy_name, "jitrd-device");
	CU_ASSERT_STRING_EQUAL(c->provision.thing_name, "");
	CU_ASSERT_EQUAL(c->provision.on_reject, JITRD_ON_REJECT_LEAVE);
	CU_ASSERT_EQUAL(c->provision.policy_update, JITRD_POLICY_UPDATE_VERSION);
	CU_ASSERT_EQUAL(c->service.workers, 4);
	CU_ASSERT_EQUAL(c->lambda.batch_concurrency, 10);
	CU_ASSERT_STRING_EQUAL(c->sqs.queue_url, "");
	CU_ASSERT_STRING_EQUAL(c->sqs.region, c->aws.region);
	CU_ASSERT_STRING_EQUAL(c->sqs.endpoint, "");
	CU_ASSERT_EQUAL(c->sqs.wait_time_seconds, 20);
	CU_ASSERT_EQUAL(c->sqs.max_messages, 10);
	CU_ASSERT_EQUAL(c->sqs.pollers, 2);
	CU_ASSERT_EQUAL(c->sqs.visibility_timeout_seconds, 60);
	CU_ASSERT_EQUAL(c->service.event_deadline_seconds, 30);
	CU_ASSERT_EQUAL(c->service.reconcile_seconds, 3600);
	CU_ASSERT_EQUAL(c->service.reconcile_lease, JITRD_RECONCILE_LEASE_AUTO);
	CU_ASSERT_STRING_EQUAL(c->service.reconcile_lease_thing, "jitrd-reconcile-lease");
	CU_ASSERT_FALSE(jitrd_config_reconcile_lease(c));
	CU_ASSERT_STRING_EQUAL(c->service.state_dir, "/var/lib/jitrd");
	CU_ASSERT_STRING_EQUAL(c->service.listen, "");
	CU_ASSERT_EQUAL(c->service.log_format, JITRD_LOG_TEXT);
	CU_ASSERT_EQUAL(c->service.log_level, JITRD_LOG_INFO);
	CU_ASSERT_DOUBLE_EQUAL(c->limits.update_certificate, 10, 0);
	CU_ASSERT_DOUBLE_EQUAL(c->limits.describe_certificate, 10, 0);
	CU_ASSERT_DOUBLE_EQUAL(c->limits.create_policy, 10, 0);
	CU_ASSERT_DOUBLE_EQUAL(c->limits.attach_policy, 15, 0);
	CU_ASSERT_DOUBLE_EQUAL(c->limits.create_thing, 15, 0);
	CU_ASSERT_DOUBLE_EQUAL(c->limits.attach_thing_principal, 15, 0);
	CU_ASSERT_DOUBLE_EQUAL(c->limits.list_certificates_by_ca, 10, 0);
	CU_ASSERT_DOUBLE_EQUAL(c->limits.register_certificate, 10, 0);
}

#define US_EAST_1 "https://iot.us-east-1.amazonaws.com"

/* ---- golden files that parse ------------------------------------------------------------- */

static void check_minimal(const struct jitrd_config *c)
{
	CU_ASSERT_STRING_EQUAL(c->mqtt.url,
	                       "ssl://a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com:8883");
	CU_ASSERT_STRING_EQUAL(c->mqtt.client_id, "jitrd");
	CU_ASSERT_STRING_EQUAL(c->aws.endpoint, US_EAST_1);
	CU_ASSERT_EQUAL(c->service.workers, 4);
}

static void check_full(const struct jitrd_config *c)
{
	CU_ASSERT_STRING_EQUAL(c->mqtt.url, "tcp://127.0.0.1:18830");
	CU_ASSERT_STRING_EQUAL(c->mqtt.client_id, "jitrd-test");
	CU_ASSERT_STRING_EQUAL(c->mqtt.topic, "$aws/events/certificates/registered/#");
	CU_ASSERT_STRING_EQUAL(c->mqtt.ca_file, "/etc/ssl/broker-ca.pem");
	CU_ASSERT_STRING_EQUAL(c->mqtt.cert_file, "/etc/jitrd/mqtt.pem");
	CU_ASSERT_STRING_EQUAL(c->mqtt.key_file, "/etc/jitrd/mqtt.key");
	CU_ASSERT_STRING_EQUAL(c->mqtt.alpn, "x-amzn-mqtt-ca");
	CU_ASSERT_TRUE(c->mqtt.clean_session);
	CU_ASSERT_EQUAL(c->mqtt.keepalive, 120);
	CU_ASSERT_EQUAL(c->mqtt.qos, 0);
	CU_ASSERT_STRING_EQUAL(c->aws.region, "eu-west-1");
	CU_ASSERT_STRING_EQUAL(c->aws.endpoint, "http://127.0.0.1:9000");
	CU_ASSERT_STRING_EQUAL(c->aws.signing_name, "execute-api");
	CU_ASSERT_STRING_EQUAL(c->aws.profile, "jitrd");
	CU_ASSERT_STRING_EQUAL(c->aws.account_id, "123456789012");
	CU_ASSERT_STRING_EQUAL(c->ca.dir, "/srv/ca");
	CU_ASSERT_EQUAL_FATAL(c->ca.allow_count, 2);
	CU_ASSERT_STRING_EQUAL(c->ca.allow[0], ID_A);
	CU_ASSERT_STRING_EQUAL(c->ca.allow[1], ID_B);
	CU_ASSERT_STRING_EQUAL(c->crl.dir, "/srv/crl");
	CU_ASSERT_TRUE(c->crl.fail_open);
	CU_ASSERT_EQUAL(c->crl.reload_seconds, 0);
	CU_ASSERT_STRING_EQUAL(c->crl.s3_region, "eu-central-1");
	CU_ASSERT_STRING_EQUAL(c->crl.s3_endpoint, "http://127.0.0.1:9000");
	CU_ASSERT_EQUAL(c->crl.s3_addressing, JITRD_S3_ADDRESSING_PATH);
	CU_ASSERT_EQUAL(c->ocsp.mode, JITRD_OCSP_MODE_REQUIRE);
	CU_ASSERT_STRING_EQUAL(c->ocsp.responder, "http://ocsp.example.com/");
	CU_ASSERT_EQUAL_FATAL(c->ocsp.ca_responder_count, 1);
	CU_ASSERT_STRING_EQUAL(c->ocsp.ca_responder_id[0], ID_B);
	CU_ASSERT_STRING_EQUAL(jitrd_config_ocsp_responder(c, ID_B),
	                       "https://ocsp.acm-pca.eu-west-1.amazonaws.com");
	CU_ASSERT_STRING_EQUAL(jitrd_config_ocsp_responder(c, ID_A), "http://ocsp.example.com/");
	CU_ASSERT_EQUAL(c->ocsp.timeout_seconds, 2);
	CU_ASSERT_EQUAL(c->ocsp.max_skew_seconds, 60);
	CU_ASSERT_FALSE(c->ocsp.nonce);
	CU_ASSERT_STRING_EQUAL(c->provision.policy_template, "/srv/policies/device.json");
	CU_ASSERT_STRING_EQUAL(c->provision.policy_name, "device-{{subject.CN}}");
	CU_ASSERT_STRING_EQUAL(c->provision.thing_name, "{{subject.CN}}");
	CU_ASSERT_EQUAL(c->provision.on_reject, JITRD_ON_REJECT_REVOKE);
	CU_ASSERT_EQUAL(c->provision.policy_update, JITRD_POLICY_UPDATE_REFUSE);
	CU_ASSERT_EQUAL(c->service.workers, 16);
	CU_ASSERT_EQUAL(c->service.event_deadline_seconds, 60);
	CU_ASSERT_EQUAL(c->service.reconcile_seconds, 0);
	CU_ASSERT_EQUAL(c->service.reconcile_lease, JITRD_RECONCILE_LEASE_ON);
	CU_ASSERT_STRING_EQUAL(c->service.reconcile_lease_thing, "fleet-a:lease");
	CU_ASSERT_TRUE(jitrd_config_reconcile_lease(c));
	CU_ASSERT_STRING_EQUAL(c->service.state_dir, "/srv/state");
	CU_ASSERT_STRING_EQUAL(c->service.listen, "127.0.0.1:9464");
	CU_ASSERT_EQUAL(c->service.log_format, JITRD_LOG_JSON);
	CU_ASSERT_EQUAL(c->service.log_level, JITRD_LOG_DEBUG);
	CU_ASSERT_DOUBLE_EQUAL(c->limits.update_certificate, 5, 0);
	CU_ASSERT_DOUBLE_EQUAL(c->limits.describe_certificate, 2.5, 0);
	CU_ASSERT_DOUBLE_EQUAL(c->limits.create_policy, 1, 0);
	CU_ASSERT_DOUBLE_EQUAL(c->limits.attach_policy, 7.25, 0);
	CU_ASSERT_DOUBLE_EQUAL(c->limits.create_thing, 0.5, 0);
	CU_ASSERT_DOUBLE_EQUAL(c->limits.attach_thing_principal, 10000, 0);
	CU_ASSERT_DOUBLE_EQUAL(c->limits.list_certificates_by_ca, 100, 0);
	CU_ASSERT_DOUBLE_EQUAL(c->limits.register_certificate, 250, 0);
	CU_ASSERT_EQUAL(c->lambda.batch_concurrency, 3);
}

static void check_comments(const struct jitrd_config *c)
{
	CU_ASSERT_STRING_EQUAL(c->mqtt.url, "tcp://localhost:1883");
	CU_ASSERT_STRING_EQUAL(c->mqtt.client_id, "a;b");
	CU_ASSERT_STRING_EQUAL(c->mqtt.topic, "devices/#");
	CU_ASSERT_STRING_EQUAL(c->mqtt.alpn, "h2"); /* inih takes "key: value" too */
	CU_ASSERT_STRING_EQUAL(c->aws.profile, "dev;prod");
}

static void check_bom_crlf(const struct jitrd_config *c)
{
	CU_ASSERT_STRING_EQUAL(c->aws.region, "ap-southeast-2");
	CU_ASSERT_STRING_EQUAL(c->aws.profile, "prod"); /* no '\r' left */
	CU_ASSERT_STRING_EQUAL(c->aws.endpoint, "https://iot.ap-southeast-2.amazonaws.com");
	CU_ASSERT_TRUE(c->crl.fail_open);
}

static void check_relative(const struct jitrd_config *c)
{
	CU_ASSERT_STRING_EQUAL(c->mqtt.ca_file, "/etc/jitrd/certs/broker-ca.pem");
	CU_ASSERT_STRING_EQUAL(c->mqtt.cert_file, "/abs/mqtt.pem");
	CU_ASSERT_STRING_EQUAL(c->mqtt.key_file, ""); /* empty stays empty */
	CU_ASSERT_STRING_EQUAL(c->ca.dir, "/etc/jitrd/ca");
	CU_ASSERT_STRING_EQUAL(c->crl.dir, "/etc/jitrd/./crl");
	CU_ASSERT_STRING_EQUAL(c->provision.policy_template, "/etc/jitrd/../policies/default.json");
	CU_ASSERT_STRING_EQUAL(c->service.state_dir, "/etc/jitrd/state");
}

static void check_relative_no_base(const struct jitrd_config *c)
{
	CU_ASSERT_STRING_EQUAL(c->mqtt.ca_file, "certs/broker-ca.pem");
	CU_ASSERT_STRING_EQUAL(c->ca.dir, "ca");
	CU_ASSERT_STRING_EQUAL(c->crl.dir, "./crl");
}

static void check_allow(const struct jitrd_config *c)
{
	CU_ASSERT_EQUAL_FATAL(c->ca.allow_count, 3);
	CU_ASSERT_STRING_EQUAL(c->ca.allow[0], ID_A);
	CU_ASSERT_STRING_EQUAL(c->ca.allow[1], ID_B); /* lowercased; its repeat dropped */
	CU_ASSERT_STRING_EQUAL(c->ca.allow[2], ID_C);
	CU_ASSERT_EQUAL(jitrd_config_ca_allowed(c, ID_C), 1);
	CU_ASSERT_EQUAL(jitrd_config_ca_allowed(c, "ABCDEF0123456789ABCDEF0123456789"
	                                           "ABCDEF0123456789ABCDEF0123456789"),
	                1);
	CU_ASSERT_EQUAL(jitrd_config_ca_allowed(c, "3333333333333333333333333333333333333333333"
	                                           "333333333333333333333"),
	                0);
	CU_ASSERT_EQUAL(jitrd_config_ca_allowed(c, "1111"), 0);
	CU_ASSERT_EQUAL(jitrd_config_ca_allowed(c, ""), 0);
	CU_ASSERT_EQUAL(jitrd_config_ca_allowed(c, NULL), 0);
}

static void check_sections_again(const struct jitrd_config *c)
{
	CU_ASSERT_STRING_EQUAL(c->mqtt.url, "tcp://127.0.0.1:1883");
	CU_ASSERT_EQUAL(c->mqtt.qos, 0);
	CU_ASSERT_STRING_EQUAL(c->aws.endpoint, "https://iot.eu-north-1.amazonaws.com");
}

static void check_empty(const struct jitrd_config *c)
{
	assert_defaults(c, US_EAST_1);
	CU_ASSERT_EQUAL(jitrd_config_ca_allowed(c, ID_A), 1); /* empty list: every CA */
}

struct golden_ok {
	const char *file;
	const char *base_dir;
	void (*check)(const struct jitrd_config *cfg);
};

static const struct golden_ok golden_ok[] = {
    {"minimal.conf", NULL, check_minimal},
    {"full.conf", "/ignored/for/absolute/paths", check_full},
    {"comments.conf", NULL, check_comments},
    {"bom-crlf.conf", NULL, check_bom_crlf},
    {"relative.conf", "/etc/jitrd", check_relative},
    {"relative.conf", "/etc/jitrd/", check_relative},
    {"relative.conf", NULL, check_relative_no_base},
    {"allow.conf", NULL, check_allow},
    {"sections-again.conf", NULL, check_sections_again},
    {"empty.conf", NULL, check_empty},
    {NULL, NULL, NULL},
};

static void test_golden_ok(void)
{
	for (const struct golden_ok *g = golden_ok; g->file; g++) {
		char name[256];
		size_t len;
		char *text;
		struct jitrd_config *cfg;

		snprintf(name, sizeof(name), "tests/unit/config/%s", g->file);
		text = read_golden(name, &len);
		if (!text)
			continue;
		cfg = parse_ok(g->file, text, len, no_env, g->base_dir);
		if (cfg)
			g->check(cfg);
		jitrd_config_free(cfg);
		free(text);
	}
}

/* ---- golden files that are refused ------------------------------------------------------- */

struct golden_bad {
	const char *file;
	const char *message; /* the exact diag text */
};

static const struct golden_bad golden_bad[] = {
    {"unknown-section.conf", "unknown-section.conf:4: unknown section [bogus]"},
    /* the value of an unknown key is never shown: it may be a misplaced secret */
    {"unknown-key.conf", "unknown-key.conf:3: [aws] secret_access_key: unknown key"},
    {"missing-eq.conf", "missing-eq.conf:2: missing '=' (expected 'key = value', '[section]' "
                        "or a comment)"},
    {"no-bracket.conf", "no-bracket.conf:1: section header without ']'"},
    {"duplicate-key.conf",
     "duplicate-key.conf:4: [mqtt] url: duplicate key (each key may appear once)"},
    {"before-section.conf", "before-section.conf:2: key 'url' before any [section]"},
    {"indented.conf", "indented.conf:3: indented line: remove the leading space (inih would "
                      "read it as the continuation of the value above)"},
    {"section-junk.conf", "section-junk.conf:1: text after the section header"},
    {"long-line.conf", "long-line.conf:3: line longer than 199 characters"},
    /* the first problem in file order wins, whoever finds it */
    {"order-value-first.conf", "order-value-first.conf:2: [mqtt] keepalive: must be an "
                               "integer from 5 to 3600 (value '4')"},
    {"order-syntax-first.conf", "order-syntax-first.conf:2: missing '=' (expected 'key = "
                                "value', '[section]' or a comment)"},
    {"order-section-first.conf", "order-section-first.conf:3: unknown section [nope]"},
    {"bad-value.conf", "bad-value.conf:3: [crl] reload_seconds: must be an integer from 0 to "
                       "604800 (value '5m')"},
    {NULL, NULL},
};

static void test_golden_bad(void)
{
	for (const struct golden_bad *g = golden_bad; g->file; g++) {
		char name[256];
		size_t len;
		char *text;

		snprintf(name, sizeof(name), "tests/unit/config/%s", g->file);
		text = read_golden(name, &len);
		if (!text)
			continue;
		parse_fails(g->file, text, len, no_env, "/etc/jitrd", JITRD_ERR_CONFIG, g->message);
		free(text);
	}
}

static void test_unknown_key_value_hidden(void)
{
	struct jitrd_config *cfg = SENTINEL;
	struct jitrd_diag diag;
	const char *text = "[aws]\nsecret_access_key = wJalrXUtnFEMI\n";

	CU_ASSERT_EQUAL(jitrd_config_parse("t.conf", text, strlen(text), NULL, NULL, &cfg, &diag),
	                JITRD_ERR_CONFIG);
	CU_ASSERT_PTR_NULL(strstr(diag.text, "wJalr"));
	CU_ASSERT_PTR_EQUAL(cfg, SENTINEL);
}

/* ---- defaults, the sample, arguments ------------------------------------------------------ */

static void test_defaults_without_file(void)
{
	struct jitrd_config *cfg = parse_ok("none", NULL, 0, NULL, NULL);

	if (cfg)
		assert_defaults(cfg, US_EAST_1);
	jitrd_config_free(cfg);
	cfg = parse_ok("none", NULL, 0, no_env, "/etc/jitrd");
	if (cfg)
		assert_defaults(cfg, US_EAST_1);
	jitrd_config_free(cfg);
}

/* deploy/jitrd.conf.sample lists every key at its default: parsing it must give the defaults,
 * so the sample and config.h cannot drift apart. */
static void test_sample_is_defaults(void)
{
	size_t len;
	char *text = read_golden("deploy/jitrd.conf.sample", &len);
	struct jitrd_config *cfg;

	if (!text)
		return;
	cfg = parse_ok("jitrd.conf.sample", text, len, no_env, "/etc/jitrd");
	if (cfg)
		assert_defaults(cfg, US_EAST_1);
	jitrd_config_free(cfg);
	free(text);
}

/* reconcile_lease auto is on with an SQS queue (several hosts), off without; on and off win. */
static void test_reconcile_lease_auto(void)
{
	static const struct {
		const char *text;
		bool want;
	} cases[] = {
	    {"[service]\nreconcile_lease = auto\n", false},
	    {"[sqs]\nqueue_url = "
	     "https://sqs.eu-west-1.amazonaws.com/123456789012/jitrd-registrations\n",
	     true},
	    {"[sqs]\nqueue_url = "
	     "https://sqs.eu-west-1.amazonaws.com/123456789012/jitrd-registrations\n"
	     "[service]\nreconcile_lease = off\n",
	     false},
	    {"[service]\nreconcile_lease = on\n", true},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_config *cfg =
		    parse_ok("t.conf", cases[i].text, strlen(cases[i].text), NULL, NULL);
		if (cfg)
			CU_ASSERT_EQUAL(jitrd_config_reconcile_lease(cfg), cases[i].want);
		jitrd_config_free(cfg);
	}
	CU_ASSERT_FALSE(jitrd_config_reconcile_lease(NULL));
}

static void test_bad_arguments(void)
{
	struct jitrd_config *cfg = SENTINEL;
	struct jitrd_diag diag;

	CU_ASSERT_EQUAL(jitrd_config_parse("t", "x", 1, NULL, NULL, NULL, &diag),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_config_parse("t", NULL, 5, NULL, NULL, &cfg, &diag),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_PTR_EQUAL(cfg, SENTINEL);
	/* a NULL diag and a NULL origin are fine */
	CU_ASSERT_EQUAL(jitrd_config_parse(NULL, "[x]\n", 4, NULL, NULL, &cfg, NULL),
	                JITRD_ERR_CONFIG);
	CU_ASSERT_PTR_EQUAL(cfg, SENTINEL);
	CU_ASSERT_EQUAL(jitrd_config_parse(NULL, "[x]\n", 4, NULL, NULL, &cfg, &diag),
	                JITRD_ERR_CONFIG);
	CU_ASSERT_STRING_EQUAL(diag.text, "configuration:1: unknown section [x]");
	jitrd_config_free(NULL);
	CU_ASSERT_EQUAL(jitrd_config_ca_allowed(NULL, ID_A), 0);
}

/* ---- one value per key and rule ----------------------------------------------------------- */

struct value_case {
	const char *section;
	const char *key;
	const char *value;
	const char *reason; /* NULL: accepted */
	const char *shown;  /* the quoted part when it is not the whole value */
};

#define INT_5_3600 "must be an integer from 5 to 3600"
#define BOOL_WORDS "must be true/false, yes/no, on/off or 1/0"
#define OCSP_URL   "must be an http:// or https:// URL, or <CA id>=<URL>"
#define THING_NAME "must be 1 to 128 characters of a-z, A-Z, 0-9, ':', '_', '-'"
#define LONG_THING                                                                                 \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define LONG_THING_SHOWN                                                                           \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"                                       \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa..."
#define RATE "must be a number of requests per second, > 0 and <= 10000"

#define S3_HTTP_REMOTE                                                                             \
	"http:// (no TLS) only to a loopback address (127.0.0.1, [::1], localhost); use https:// " \
	"for a remote store"
#define S3_NO_PATH "must be scheme://host[:port], without a path, query or user"
#define TCP_REMOTE                                                                                 \
	"tcp:// (no TLS) only to a loopback address (127.0.0.1, [::1], localhost); use ssl:// "    \
	"for "                                                                                     \
	"a remote broker"

#define SQS_QUEUE_SCHEME "must be https:// (http:// only to a loopback address)"
#define SQS_QUEUE_FORM   "must be scheme://host[:port]/ACCOUNT/QUEUE, without a query or user"

static const struct value_case value_cases[] = {
    {"sqs", "queue_url", "", NULL, NULL},
    {"sqs", "queue_url", "https://sqs.eu-west-1.amazonaws.com/123456789012/jitrd-events", NULL,
     NULL},
    {"sqs", "queue_url", "http://127.0.0.1:4566/123456789012/q", NULL, NULL},
    {"sqs", "queue_url", "http://[::1]:4566/123456789012/q", NULL, NULL},
    {"sqs", "queue_url", "http://sqs.example.net/123456789012/q", SQS_QUEUE_SCHEME, NULL},
    {"sqs", "queue_url", "http://10.0.0.1/123456789012/q", SQS_QUEUE_SCHEME, NULL},
    {"sqs", "queue_url", "ftp://sqs.example.net/1/q", SQS_QUEUE_SCHEME, NULL},
    {"sqs", "queue_url", "jitrd-events", SQS_QUEUE_SCHEME, NULL},
    {"sqs", "queue_url", "https://sqs.example.net", SQS_QUEUE_FORM, NULL},
    {"sqs", "queue_url", "https://sqs.example.net/", SQS_QUEUE_FORM, NULL},
    {"sqs", "queue_url", "https://sqs.example.net/1/q?x=1", SQS_QUEUE_FORM, NULL},
    {"sqs", "queue_url", "https://user@sqs.example.net/1/q", SQS_QUEUE_FORM, NULL},
    {"sqs", "queue_url", "https:///1/q", "has no host after the scheme", NULL},
    {"sqs", "queue_url", "https://sqs.example.net/1/a q", "holds a space or a control character",
     NULL},
    {"sqs", "region", "eu-west-1", NULL, NULL},
    {"sqs", "region", "EU", "must be an AWS region name such as eu-west-1 (a-z, 0-9, '-', 1..32)",
     NULL},
    {"sqs", "endpoint", "https://sqs.eu-west-1.amazonaws.com", NULL, NULL},
    {"sqs", "endpoint", "http://127.0.0.1:4566", NULL, NULL},
    {"sqs", "endpoint", "http://sqs.example.net", S3_HTTP_REMOTE, NULL},
    {"sqs", "endpoint", "https://sqs.example.net/1/q", S3_NO_PATH, NULL},
    {"sqs", "wait_time_seconds", "0", NULL, NULL},
    {"sqs", "wait_time_seconds", "20", NULL, NULL},
    {"sqs", "wait_time_seconds", "21", "must be an integer from 0 to 20", NULL},
    {"sqs", "wait_time_seconds", "-1", "must be an integer from 0 to 20", NULL},
    {"sqs", "max_messages", "1", NULL, NULL},
    {"sqs", "max_messages", "0", "must be an integer from 1 to 10", NULL},
    {"sqs", "max_messages", "11", "must be an integer from 1 to 10", NULL},
    {"sqs", "pollers", "16", NULL, NULL},
    {"sqs", "pollers", "0", "must be an integer from 1 to 16", NULL},
    {"sqs", "pollers", "17", "must be an integer from 1 to 16", NULL},
    {"sqs", "visibility_timeout_seconds", "0", NULL, NULL},
    {"sqs", "visibility_timeout_seconds", "43200", NULL, NULL},
    {"sqs", "visibility_timeout_seconds", "43201", "must be an integer from 0 to 43200", NULL},
    {"sqs", "visibility_timeout_seconds", "1m", "must be an integer from 0 to 43200", NULL},
    {"mqtt", "keepalive", "5", NULL, NULL},
    {"mqtt", "keepalive", "3600", NULL, NULL},
    {"mqtt", "keepalive", "4", INT_5_3600, NULL},
    {"mqtt", "keepalive", "3601", INT_5_3600, NULL},
    {"mqtt", "keepalive", "60s", INT_5_3600, NULL},
    {"mqtt", "keepalive", "0x10", INT_5_3600, NULL},
    {"mqtt", "keepalive", "+60", INT_5_3600, NULL},
    {"mqtt", "keepalive", "", INT_5_3600, NULL},
    {"mqtt", "keepalive", "-", INT_5_3600, NULL},
    {"mqtt", "keepalive", "99999999999999999999999", INT_5_3600, NULL},
    {"mqtt", "keepalive", "6 0", INT_5_3600, NULL},
    {"mqtt", "qos", "0", NULL, NULL},
    {"mqtt", "qos", "2", "must be an integer from 0 to 1", NULL},
    {"mqtt", "qos", "-1", "must be an integer from 0 to 1", NULL},
    {"service", "workers", "256", NULL, NULL},
    {"service", "workers", "0", "must be an integer from 1 to 256", NULL},
    {"service", "workers", "257", "must be an integer from 1 to 256", NULL},
    {"lambda", "batch_concurrency", "1", NULL, NULL},
    {"lambda", "batch_concurrency", "64", NULL, NULL},
    {"lambda", "batch_concurrency", "0", "must be an integer from 1 to 64", NULL},
    {"lambda", "batch_concurrency", "65", "must be an integer from 1 to 64", NULL},
    {"lambda", "batch_concurrency", "ten", "must be an integer from 1 to 64", NULL},
    {"service", "event_deadline_seconds", "901", "must be an integer from 1 to 900", NULL},
    {"service", "reconcile_seconds", "0", NULL, NULL},
    {"service", "reconcile_seconds", "-5", "must be an integer from 0 to 604800", NULL},
    {"service", "reconcile_lease", "on", NULL, NULL},
    {"service", "reconcile_lease", "OFF", NULL, NULL},
    {"service", "reconcile_lease", "auto", NULL, NULL},
    {"service", "reconcile_lease", "yes", "must be one of: auto, on, off", NULL},
    {"service", "reconcile_lease", "", "must be one of: auto, on, off", NULL},
    {"service", "reconcile_lease_thing", "jitrd-reconcile-lease", NULL, NULL},
    {"service", "reconcile_lease_thing", "a:b_c-9", NULL, NULL},
    {"service", "reconcile_lease_thing", "", THING_NAME, NULL},
    {"service", "reconcile_lease_thing", "lease/../x", THING_NAME, NULL},
    {"service", "reconcile_lease_thing", "lease thing", THING_NAME, NULL},
    {"service", "reconcile_lease_thing", LONG_THING, THING_NAME, LONG_THING_SHOWN},
    {"crl", "reload_seconds", "604801", "must be an integer from 0 to 604800", NULL},
    {"crl", "s3_region", "", NULL, NULL},
    {"crl", "s3_region", "eu-west-1", NULL, NULL},
    {"crl", "s3_region", "EU-WEST-1",
     "must be an AWS region name such as eu-west-1 (a-z, 0-9, '-', 1..32)", NULL},
    {"crl", "s3_region", "eu-west-1.evil.example/",
     "must be an AWS region name such as eu-west-1 (a-z, 0-9, '-', 1..32)", NULL},
    {"crl", "s3_endpoint", "", NULL, NULL},
    {"crl", "s3_endpoint", "https://s3.example.net", NULL, NULL},
    {"crl", "s3_endpoint", "https://s3.example.net:8443/", NULL, NULL},
    {"crl", "s3_endpoint", "http://127.0.0.1:9000", NULL, NULL},
    {"crl", "s3_endpoint", "http://[::1]:9000", NULL, NULL},
    {"crl", "s3_endpoint", "http://localhost:9000", NULL, NULL},
    {"crl", "s3_endpoint", "http://s3.example.net", S3_HTTP_REMOTE, NULL},
    {"crl", "s3_endpoint", "http://10.0.0.5:9000", S3_HTTP_REMOTE, NULL},
    {"crl", "s3_endpoint", "http://127.0.0.1.example.net", S3_HTTP_REMOTE, NULL},
    {"crl", "s3_endpoint", "https://s3.example.net/bucket", S3_NO_PATH, NULL},
    {"crl", "s3_endpoint", "https://s3.example.net?x=1", S3_NO_PATH, NULL},
    {"crl", "s3_endpoint", "https://user@s3.example.net", S3_NO_PATH, NULL},
    {"crl", "s3_endpoint", "s3://bucket", "must be empty or start with https:// or http://", NULL},
    {"crl", "s3_endpoint", "https://", "has no host after the scheme", NULL},
    {"crl", "s3_addressing", "virtual", NULL, NULL},
    {"crl", "s3_addressing", "path", NULL, NULL},
    {"crl", "s3_addressing", "PATH", NULL, NULL},
    {"crl", "s3_addressing", "", "must be one of: virtual, path", NULL},
    {"crl", "s3_addressing", "dualstack", "must be one of: virtual, path", NULL},
    {"crl", "refresh_seconds", "1", NULL, NULL},
    {"crl", "refresh_seconds", "0", "must be an integer from 1 to 604800", NULL},
    {"crl", "refresh_seconds", "1h", "must be an integer from 1 to 604800", NULL},
    {"crl", "fetch_timeout_seconds", "3600", NULL, NULL},
    {"crl", "fetch_timeout_seconds", "0", "must be an integer from 1 to 3600", NULL},
    {"crl", "fetch_timeout_seconds", "3601", "must be an integer from 1 to 3600", NULL},
    {"crl", "fetch_max_bytes", "1024", NULL, NULL},
    {"crl", "fetch_max_bytes", "536870912", NULL, NULL},
    {"crl", "fetch_max_bytes", "1023", "must be an integer from 1024 to 536870912", NULL},
    {"crl", "fetch_max_bytes", "536870913", "must be an integer from 1024 to 536870912", NULL},
    {"crl", "fetch_max_bytes", "1e6", "must be an integer from 1024 to 536870912", NULL},
    {"crl", "distribution_points", "CA", NULL, NULL},
    {"crl", "distribution_points", "all", NULL, NULL},
    {"crl", "distribution_points", "on", "must be one of: off, ca, all", NULL},
    {"mqtt", "clean_session", "TRUE", NULL, NULL},
    {"mqtt", "clean_session", "Yes", NULL, NULL},
    {"mqtt", "clean_session", "off", NULL, NULL},
    {"mqtt", "clean_session", "1", NULL, NULL},
    {"mqtt", "clean_session", "0", NULL, NULL},
    {"crl", "fail_open", "2", BOOL_WORDS, NULL},
    {"crl", "fail_open", "truee", BOOL_WORDS, NULL},
    {"crl", "fail_open", "", BOOL_WORDS, NULL},
    {"crl", "fail_open", "y", BOOL_WORDS, NULL},
    {"limits", "create_thing", "0.5", NULL, NULL},
    {"limits", "register_certificate", "100", NULL, NULL},
    {"limits", "register_certificate", "0", RATE, NULL},
    {"limits", "register_certificate", "-5", RATE, NULL},
    {"limits", "register_certificate", "ten", RATE, NULL},
    {"limits", "create_thing", "10000", NULL, NULL},
    {"limits", "create_thing", "1e3", NULL, NULL},
    {"limits", "create_thing", "0", RATE, NULL},
    {"limits", "create_thing", "-1", RATE, NULL},
    {"limits", "create_thing", "10000.5", RATE, NULL},
    {"limits", "create_thing", "1e5", RATE, NULL},
    {"limits", "create_thing", "1e400", RATE, NULL},
    {"limits", "create_thing", "1e-400", RATE, NULL},
    {"limits", "create_thing", "inf", RATE, NULL},
    {"limits", "create_thing", "nan", RATE, NULL},
    {"limits", "create_thing", "0x10", RATE, NULL},
    {"limits", "create_thing", "1..2", RATE, NULL},
    {"limits", "create_thing", "ten", RATE, NULL},
    {"limits", "create_thing", "", RATE, NULL},
    {"service", "log_format", "json", NULL, NULL},
    {"service", "log_format", "JSON", NULL, NULL},
    {"service", "log_format", "xml", "must be one of: text, json", NULL},
    {"service", "log_level", "debug", NULL, NULL},
    {"service", "log_level", "trace", "must be one of: error, warn, info, debug", NULL},
    {"provision", "on_reject", "revoke", NULL, NULL},
    {"provision", "on_reject", "delete", "must be one of: leave, revoke", NULL},
    {"provision", "policy_update", "version", NULL, NULL},
    {"provision", "policy_update", "refuse", NULL, NULL},
    {"provision", "policy_update", "VERSION", NULL, NULL},
    {"provision", "policy_update", "rename", "must be one of: version, refuse", NULL},
    {"provision", "policy_update", "", "must be one of: version, refuse", NULL},
    {"aws", "signing_name", "execute-api", NULL, NULL},
    {"aws", "signing_name", "IOT", "must be one of: iot, execute-api", NULL},
    {"aws", "signing_name", "s3", "must be one of: iot, execute-api", NULL},
    {"aws", "account_id", "", NULL, NULL},
    {"aws", "account_id", "123456789012", NULL, NULL},
    {"aws", "account_id", "12345678901", "must be empty or 12 digits", NULL},
    {"aws", "account_id", "1234567890123", "must be empty or 12 digits", NULL},
    {"aws", "account_id", "12345678901a", "must be empty or 12 digits", NULL},
    {"aws", "region", "us-gov-west-1", NULL, NULL},
    {"aws", "region", "EU-WEST-1",
     "must be an AWS region name such as eu-west-1 (a-z, 0-9, '-', 1..32)", NULL},
    {"aws", "region", "", "must be an AWS region name such as eu-west-1 (a-z, 0-9, '-', 1..32)",
     NULL},
    {"aws", "region", "eu/x",
     "must be an AWS region name such as eu-west-1 (a-z, 0-9, '-', "
     "1..32)",
     NULL},
    {"aws", "endpoint", "https://iot.example.com", NULL, NULL},
    {"aws", "endpoint", "http://127.0.0.1:9000", NULL, NULL},
    {"aws", "endpoint", "ftp://x", "must be empty or start with https:// or http://", NULL},
    {"aws", "endpoint", "https://", "has no host after the scheme", NULL},
    {"aws", "endpoint", "https://a b", "holds a space or a control character", NULL},
    {"mqtt", "url", "", NULL, NULL},
    {"mqtt", "url", "ssl://h.example.com:8883", NULL, NULL},
    {"mqtt", "url", "mqtts://h", NULL, NULL},
    {"mqtt", "url", "tcp://127.0.0.1:1883", NULL, NULL},
    {"mqtt", "url", "http://h", "must be empty or start with ssl://, mqtts:// or tcp://", NULL},
    {"mqtt", "url", "SSL://h", "must be empty or start with ssl://, mqtts:// or tcp://", NULL},
    {"mqtt", "url", "ssl://", "has no host after the scheme", NULL},
    {"mqtt", "url", "tcp://:1883", "has no host after the scheme", NULL},
    {"mqtt", "url", "tcp://127.0.0.1", NULL, NULL},
    {"mqtt", "url", "tcp://127.9.8.7:1883/", NULL, NULL},
    {"mqtt", "url", "tcp://[::1]:1883", NULL, NULL},
    {"mqtt", "url", "tcp://LocalHost:1883", NULL, NULL},
    {"mqtt", "url", "tcp://broker.example.com:1883", TCP_REMOTE, NULL},
    {"mqtt", "url", "tcp://10.0.0.5:1883", TCP_REMOTE, NULL},
    {"mqtt", "url", "tcp://128.0.0.1:1883", TCP_REMOTE, NULL},
    {"mqtt", "url", "tcp://127.0.0.1.example.com:1883", TCP_REMOTE, NULL},
    {"mqtt", "url", "tcp://localhost.example.com", TCP_REMOTE, NULL},
    {"mqtt", "url", "tcp://[::2]:1883", TCP_REMOTE, NULL},
    {"mqtt", "url", "tcp://[::1", TCP_REMOTE, NULL},
    {"mqtt", "url", "tcp://0.0.0.0:1883", TCP_REMOTE, NULL},
    {"mqtt", "url", "ssl://h x", "holds a space or a control character", NULL},
    {"mqtt", "client_id", "", "must not be empty", NULL},
    {"mqtt", "topic", "", "must not be empty", NULL},
    {"mqtt", "alpn", "", NULL, NULL},
    {"mqtt", "key_file", "", NULL, NULL},
    {"ca", "dir", "", "must not be empty", NULL},
    {"crl", "dir", "", "must not be empty", NULL},
    {"service", "state_dir", "", "must not be empty", NULL},
    {"provision", "policy_template", "", "must not be empty", NULL},
    {"provision", "policy_name", "", "must not be empty", NULL},
    {"provision", "thing_name", "", NULL, NULL},
    {"service", "listen", "", NULL, NULL},
    {"service", "listen", "127.0.0.1:9464", NULL, NULL},
    {"service", "listen", "[::1]:9464", NULL, NULL},
    {"service", "listen", "h:65535", NULL, NULL},
    {"service", "listen", "h:1", NULL, NULL},
    {"service", "listen", "localhost", "must be empty or host:port", NULL},
    {"service", "listen", ":9464", "must be empty or host:port", NULL},
    {"service", "listen", "h:0", "must be empty or host:port with a port from 1 to 65535", NULL},
    {"service", "listen", "h:65536", "must be empty or host:port with a port from 1 to 65535",
     NULL},
    {"service", "listen", "h:x", "must be empty or host:port with a port from 1 to 65535", NULL},
    {"service", "listen", "h:", "must be empty or host:port with a port from 1 to 65535", NULL},
    {"ocsp", "mode", "fallback", NULL, NULL},
    {"ocsp", "mode", "Require", NULL, NULL},
    {"ocsp", "mode", "on", "must be one of: off, fallback, require", NULL},
    {"ocsp", "timeout_seconds", "0", "must be an integer from 1 to 60", NULL},
    {"ocsp", "timeout_seconds", "61", "must be an integer from 1 to 60", NULL},
    {"ocsp", "max_skew_seconds", "0", NULL, NULL},
    {"ocsp", "max_skew_seconds", "3601", "must be an integer from 0 to 3600", NULL},
    {"ocsp", "nonce", "off", NULL, NULL},
    {"ocsp", "nonce", "sometimes", BOOL_WORDS, NULL},
    {"ocsp", "responder", "", NULL, NULL},
    {"ocsp", "responder", "http://127.0.0.1:8888/ocsp", NULL, NULL},
    {"ocsp", "responder", "HTTPS://ocsp.example.com", NULL, NULL},
    {"ocsp", "responder", ID_A "=https://ocsp.example.com", NULL, NULL},
    {"ocsp", "responder", "ldap://ocsp.example.com", OCSP_URL, NULL},
    {"ocsp", "responder", "ocsp.example.com", OCSP_URL, NULL},
    {"ocsp", "responder", "http://", "has no host after the scheme", NULL},
    {"ocsp", "responder", "http://a b", "holds a space or a control character", NULL},
    {"ocsp", "responder", ID_A "=", OCSP_URL, NULL},
    {"ocsp", "responder", ID_A "=ftp://x", OCSP_URL, NULL},
    {"ocsp", "responder",
     "g111111111111111111111111111111111111111111111111111111111111111=http://x", OCSP_URL, NULL},
    {"ca", "allow", "", NULL, NULL},
    {"ca", "allow", ID_A, NULL, NULL},
    {"ca", "allow", ID_A "," ID_A, NULL, NULL},
    {"ca", "allow", "111111111111111111111111111111111111111111111111111111111111111", "item 1",
     NULL},
    {"ca", "allow", "xyz", "item 1", NULL},
    {"ca", "allow", ID_A ",,", "item 2", ""},
    {"ca", "allow", ID_A ",", "item 2", ""},
    {"ca", "allow", ID_A ", g" ID_A, "item 2", "g" ID_A},
    {"ca", "allow", "g111111111111111111111111111111111111111111111111111111111111111", "item 1",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static void test_values(void)
{
	for (const struct value_case *v = value_cases; v->section; v++) {
		char text[512], message[512], reason[128];

		snprintf(text, sizeof(text), "[%s]\n%s = %s\n", v->section, v->key, v->value);
		if (!v->reason) {
			struct jitrd_config *cfg =
			    parse_ok("t.conf", text, strlen(text), NULL, NULL);
			jitrd_config_free(cfg);
			continue;
		}
		if (strncmp(v->reason, "item ", 5) == 0)
			snprintf(reason, sizeof(reason), "%s is not a CA id (64 hex digits)",
			         v->reason);
		else
			snprintf(reason, sizeof(reason), "%s", v->reason);
		snprintf(message, sizeof(message), "t.conf:2: [%s] %s: %s (value '%s')", v->section,
		         v->key, reason, v->shown ? v->shown : v->value);
		parse_text_fails(text, NULL, message);
	}
}

/* [ocsp] responder: one default, one per CA, each once; the environment replaces them all. */
static void test_ocsp_responders(void)
{
	const char *text = "[ocsp]\nresponder = " ID_A "=http://a.example/\n"
			   "responder = http://default.example/\n"
			   "responder = " ID_B "=https://b.example/ocsp\n";
	const char *const env[] = {"JITRD_OCSP_RESPONDER=" ID_C "=http://c.example/", NULL};
	struct jitrd_config *cfg = parse_ok("t.conf", text, strlen(text), NULL, NULL);

	if (cfg) {
		CU_ASSERT_EQUAL(cfg->ocsp.ca_responder_count, 2);
		CU_ASSERT_STRING_EQUAL(jitrd_config_ocsp_responder(cfg, ID_A), "http://a.example/");
		CU_ASSERT_STRING_EQUAL(jitrd_config_ocsp_responder(cfg, ID_B),
		                       "https://b.example/ocsp");
		CU_ASSERT_STRING_EQUAL(jitrd_config_ocsp_responder(cfg, ID_C),
		                       "http://default.example/");
	}
	jitrd_config_free(cfg);
	cfg = parse_ok("t.conf", text, strlen(text), env, NULL);
	if (cfg) {
		CU_ASSERT_EQUAL(cfg->ocsp.ca_responder_count, 1);
		CU_ASSERT_STRING_EQUAL(jitrd_config_ocsp_responder(cfg, ID_A), "");
		CU_ASSERT_STRING_EQUAL(jitrd_config_ocsp_responder(cfg, ID_C), "http://c.example/");
	}
	jitrd_config_free(cfg);
	parse_text_fails("[ocsp]\nresponder = http://a/\nresponder = http://b/\n", NULL,
	                 "t.conf:3: [ocsp] responder: a second default responder (a CA's own is "
	                 "<CA id>=<URL>) (value 'http://b/')");
	parse_text_fails("[ocsp]\nresponder = " ID_A "=http://a/\nresponder = " ID_A "=http://b/\n",
	                 NULL,
	                 "t.conf:3: [ocsp] responder: a second responder for this CA (value '" ID_A
	                 "=http://b/')");
	CU_ASSERT_STRING_EQUAL(jitrd_config_ocsp_responder(NULL, ID_A), "");
}

/* [crl] url: a list over lines and separators; every refusal names the item and never shows
 * a query (which may hold a signature). */
static void test_crl_urls(void)
{
	static const struct {
		const char *value;
		const char *message; /* NULL: accepted */
	} bad[] = {
	    {"ftp://h/x", "item 1 must start with http://, https:// or s3:// (value 'ftp://h/x')"},
	    {"http://h/a.crl, crl.example.com/b.crl",
	     "item 2 must start with http://, https:// or s3:// (value 'crl.example.com/b.crl')"},
	    {"ftp://h/x?sig=SECRET", "item 1 must start with http://, https:// or s3:// (value "
	                             "'ftp://h/x')"},
	    {"http:///x", "item 1 has no host after the scheme (value 'http:///x')"},
	    {"http://:80/x", "item 1 has no host after the scheme (value 'http://:80/x')"},
	    {"https://user:pw@h/x?sig=SECRET",
	     "item 1 holds a user name or password (not allowed in a URL) (value "
	     "'h/x')"},
	    {"s3://bucket", "item 1 s3:// needs a key after the bucket (s3://bucket/key) (value "
	                    "'s3://bucket')"},
	    {"http://h/\x7f", "item 1 holds a control or non-ASCII character (value "
	                      "'http://h/\\x7f')"},
	    {"http://h/\xc3\xa9", "item 1 holds a control or non-ASCII character (value "
	                          "'http://h/\\xc3\\xa9')"},
	};
	const char *text = "[crl]\nurl = http://a.example/x.crl, https://b.example/y.crl\n"
			   "url = s3://bucket/crl/ca.crl http://a.example/x.crl\n";
	struct jitrd_config *cfg = parse_ok("t.conf", text, strlen(text), NULL, NULL);

	if (cfg) {
		CU_ASSERT_EQUAL(cfg->crl.url_count, 3); /* the repeat dropped */
		CU_ASSERT_STRING_EQUAL(cfg->crl.url[0], "http://a.example/x.crl");
		CU_ASSERT_STRING_EQUAL(cfg->crl.url[1], "https://b.example/y.crl");
		CU_ASSERT_STRING_EQUAL(cfg->crl.url[2], "s3://bucket/crl/ca.crl");
	}
	jitrd_config_free(cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char input[256], message[512];
		struct jitrd_config *out = SENTINEL;
		struct jitrd_diag diag;

		snprintf(input, sizeof(input), "[crl]\nurl = %s\n", bad[i].value);
		snprintf(message, sizeof(message), "t.conf:2: [crl] url: %s", bad[i].message);
		CU_ASSERT_EQUAL(
		    jitrd_config_parse("t.conf", input, strlen(input), NULL, NULL, &out, &diag),
		    JITRD_ERR_CONFIG);
		if (strcmp(diag.text, message) != 0)
			fprintf(stderr, "got  %s\nwant %s\n", diag.text, message);
		CU_ASSERT_STRING_EQUAL(diag.text, message);
		CU_ASSERT_PTR_NULL(strstr(diag.text, "SECRET"));
		CU_ASSERT_PTR_NULL(strstr(diag.text, "pw"));
		CU_ASSERT_PTR_EQUAL(out, SENTINEL);
	}
}

/* The environment replaces the file's list: a comma or space list in one variable. */
static void test_crl_urls_env(void)
{
	const char *text = "[crl]\nurl = http://file.example/a.crl\n";
	const char *env[] = {"JITRD_CRL_URL=http://e.example/1.crl https://e.example/2.crl", NULL};
	struct jitrd_config *cfg = parse_ok("t.conf", text, strlen(text), env, NULL);

	if (cfg) {
		CU_ASSERT_EQUAL(cfg->crl.url_count, 2);
		CU_ASSERT_STRING_EQUAL(cfg->crl.url[0], "http://e.example/1.crl");
		CU_ASSERT_STRING_EQUAL(cfg->crl.url[1], "https://e.example/2.crl");
	}
	jitrd_config_free(cfg);
}

/* The values accepted above land in the struct as meant. */
static void test_value_results(void)
{
	const char *text = "[mqtt]\nclean_session = Yes\n[service]\nlog_format = JSON\n"
			   "log_level = warn\n[limits]\ncreate_thing = 1e3\n[aws]\n"
			   "region = us-gov-west-1\n";
	struct jitrd_config *cfg = parse_ok("t.conf", text, strlen(text), NULL, NULL);

	if (!cfg)
		return;
	CU_ASSERT_TRUE(cfg->mqtt.clean_session);
	CU_ASSERT_EQUAL(cfg->service.log_format, JITRD_LOG_JSON);
	CU_ASSERT_EQUAL(cfg->service.log_level, JITRD_LOG_WARN);
	CU_ASSERT_DOUBLE_EQUAL(cfg->limits.create_thing, 1000, 0);
	CU_ASSERT_STRING_EQUAL(cfg->aws.endpoint, "https://iot.us-gov-west-1.amazonaws.com");
	jitrd_config_free(cfg);
}

/* ---- the environment ---------------------------------------------------------------------- */

static void test_env_overrides_file(void)
{
	const char *text =
	    "[mqtt]\nurl = tcp://127.0.0.3:1883\nqos = 0\n[limits]\ncreate_policy = 3\n"
	    "[ca]\nallow = " ID_A "\n";
	const char *const envp[] = {"PATH=/usr/bin",
	                            "JITRD_MQTT_URL=ssl://env.example.com:8883",
	                            "JITRD_LIMITS_UPDATE_CERTIFICATE=2.5",
	                            "JITRD_LAMBDA_BATCH_CONCURRENCY=7",
	                            "JITRD_CA_ALLOW=" ID_B " , " ID_C,
	                            "JITRD_SERVICE_STATE_DIR=state",
	                            "JITRD_CA_ANCHORS=roots",
	                            "JITRD_FIXTURES=/tmp/fixtures",
	                            "JITRD_SOURCE_ROOT=/src",
	                            "JITRD_BUILD_ROOT=/build",
	                            "JITRD_TEST_NOW=1906502400",
	                            "JITRD_=x",
	                            "JITRD",
	                            "JITRDX_MQTT_URL=nonsense",
	                            NULL};
	struct jitrd_config *cfg = parse_ok("t.conf", text, strlen(text), envp, "/etc/jitrd");

	if (!cfg)
		return;
	CU_ASSERT_STRING_EQUAL(cfg->mqtt.url, "ssl://env.example.com:8883");
	CU_ASSERT_EQUAL(cfg->mqtt.qos, 0); /* from the file, not overridden */
	CU_ASSERT_DOUBLE_EQUAL(cfg->limits.update_certificate, 2.5, 0);
	CU_ASSERT_DOUBLE_EQUAL(cfg->limits.create_policy, 3, 0);
	CU_ASSERT_EQUAL(cfg->lambda.batch_concurrency, 7);
	/* the environment replaces the file's list, it does not add to it */
	CU_ASSERT_EQUAL_FATAL(cfg->ca.allow_count, 2);
	CU_ASSERT_STRING_EQUAL(cfg->ca.allow[0], ID_B);
	CU_ASSERT_STRING_EQUAL(cfg->ca.allow[1], ID_C);
	CU_ASSERT_EQUAL(jitrd_config_ca_allowed(cfg, ID_A), 0);
	CU_ASSERT_STRING_EQUAL(cfg->service.state_dir, "/etc/jitrd/state");
	CU_ASSERT_STRING_EQUAL(cfg->ca.anchors, "/etc/jitrd/roots"); /* relative: to the file */
	jitrd_config_free(cfg);
}

static void test_env_without_file(void)
{
	const char *const envp[] = {"JITRD_AWS_REGION=eu-central-1",
	                            "JITRD_CA_ALLOW=", "JITRD_CRL_FAIL_OPEN=on", NULL};
	struct jitrd_config *cfg = parse_ok("environment", NULL, 0, envp, NULL);

	if (!cfg)
		return;
	/* the endpoint is derived after the environment moved the region */
	CU_ASSERT_STRING_EQUAL(cfg->aws.endpoint, "https://iot.eu-central-1.amazonaws.com");
	CU_ASSERT_EQUAL(cfg->ca.allow_count, 0);
	CU_ASSERT_TRUE(cfg->crl.fail_open);
	/* and so is the S3 region, unless set */
	CU_ASSERT_STRING_EQUAL(cfg->crl.s3_region, "eu-central-1");
	jitrd_config_free(cfg);
}

static void test_env_endpoint_kept(void)
{
	const char *text = "[aws]\nendpoint = http://127.0.0.1:9000\n";
	const char *const envp[] = {"JITRD_AWS_REGION=eu-central-1", NULL};
	const char *const envp_clear[] = {"JITRD_AWS_ENDPOINT=", "JITRD_AWS_REGION=sa-east-1",
	                                  NULL};
	struct jitrd_config *cfg = parse_ok("t.conf", text, strlen(text), envp, NULL);

	if (cfg)
		CU_ASSERT_STRING_EQUAL(cfg->aws.endpoint, "http://127.0.0.1:9000");
	jitrd_config_free(cfg);
	/* an empty endpoint from the environment means "derive it" again */
	cfg = parse_ok("t.conf", text, strlen(text), envp_clear, NULL);
	if (cfg)
		CU_ASSERT_STRING_EQUAL(cfg->aws.endpoint, "https://iot.sa-east-1.amazonaws.com");
	jitrd_config_free(cfg);
}

struct env_case {
	const char *entry;
	const char *message;
};

static const struct env_case env_cases[] = {
    {"JITRD_MQTT_URLL=x",
     "environment JITRD_MQTT_URLL: unknown key (variables are JITRD_<SECTION>_<KEY>, upper "
     "case)"},
    {"JITRD_MQTT_url=tcp://127.0.0.1:1",
     "environment JITRD_MQTT_url: unknown key (variables are JITRD_<SECTION>_<KEY>, upper "
     "case)"},
    {"JITRD_Mqtt_URL=tcp://127.0.0.1:1",
     "environment JITRD_Mqtt_URL: unknown key (variables are JITRD_<SECTION>_<KEY>, upper "
     "case)"},
    {"JITRD_CRL=x",
     "environment JITRD_CRL: unknown key (variables are JITRD_<SECTION>_<KEY>, upper case)"},
    {"JITRD_SERVICE_=x",
     "environment JITRD_SERVICE_: unknown key (variables are JITRD_<SECTION>_<KEY>, upper "
     "case)"},
    {"JITRD_MQTT_URL", "environment JITRD_MQTT_URL: not a NAME=value entry"},
    {"JITRD_CRL_FAIL_OPEN=maybe", "environment JITRD_CRL_FAIL_OPEN: must be true/false, "
                                  "yes/no, on/off or 1/0 (value 'maybe')"},
    {"JITRD_MQTT_KEEPALIVE= 60",
     "environment JITRD_MQTT_KEEPALIVE: must be an integer from 5 to 3600 (value ' 60')"},
    {"JITRD_LIMITS_ATTACH_POLICY=15 ", "environment JITRD_LIMITS_ATTACH_POLICY: must be a "
                                       "number of requests per second, > 0 and <= 10000 "
                                       "(value '15 ')"},
    {"JITRD_MQTT_URL=ssl://a\nb", "environment JITRD_MQTT_URL: holds a space or a control "
                                  "character (value 'ssl://a\\x0ab')"},
    {"JITRD_CA_ALLOW=" ID_A ",nope", "environment JITRD_CA_ALLOW: item 2 is not a CA id (64 "
                                     "hex digits) (value 'nope')"},
    {NULL, NULL},
};

/* One event source: [mqtt] url and [sqs] queue_url exclude each other, from the file or the
 * environment; [sqs] region follows [aws] region unless set. */
static void test_sqs_source(void)
{
	static const char both[] = "[mqtt]\nurl = ssl://broker.example.net:8883\n"
				   "[sqs]\nqueue_url = https://sqs.eu-west-1.amazonaws.com/1/q\n";
	static const char sqs[] = "[aws]\nregion = eu-west-1\n"
				  "[sqs]\nqueue_url = https://sqs.eu-west-1.amazonaws.com/1/q\n";
	const char *env_mqtt[] = {"JITRD_MQTT_URL=ssl://broker.example.net:8883", NULL};
	const char *env_region[] = {"JITRD_SQS_REGION=eu-central-1", NULL};
	const char *env_queue[] = {"JITRD_SQS_QUEUE_URL=http://127.0.0.1:9324/1/q", NULL};
	struct jitrd_config *c;

	parse_text_fails(both, NULL,
	                 "t.conf: [mqtt] url and [sqs] queue_url are both set; `jitrd run` "
	                 "consumes one event source: set only one");
	parse_text_fails(sqs, env_mqtt,
	                 "t.conf: [mqtt] url and [sqs] queue_url are both set; `jitrd run` "
	                 "consumes one event source: set only one");
	c = parse_ok("t.conf", sqs, strlen(sqs), NULL, NULL);
	if (c) {
		CU_ASSERT_STRING_EQUAL(c->sqs.queue_url, "https://sqs.eu-west-1.amazonaws.com/1/q");
		CU_ASSERT_STRING_EQUAL(c->sqs.region, "eu-west-1"); /* [aws] region */
		jitrd_config_free(c);
	}
	c = parse_ok("t.conf", sqs, strlen(sqs), env_region, NULL);
	if (c) {
		CU_ASSERT_STRING_EQUAL(c->sqs.region, "eu-central-1");
		jitrd_config_free(c);
	}
	c = parse_ok("t.conf", NULL, 0, env_queue, NULL);
	if (c) {
		CU_ASSERT_STRING_EQUAL(c->sqs.queue_url, "http://127.0.0.1:9324/1/q");
		jitrd_config_free(c);
	}
}

static void test_env_errors(void)
{
	const char *text = "[mqtt]\nurl = tcp://127.0.0.3:1883\n";

	for (const struct env_case *e = env_cases; e->entry; e++) {
		const char *const envp[] = {"JITRD_FIXTURES=/x", e->entry, NULL};
		parse_fails("t.conf", text, strlen(text), envp, NULL, JITRD_ERR_CONFIG, e->message);
		parse_fails("environment", NULL, 0, envp, NULL, JITRD_ERR_CONFIG, e->message);
	}
}

static void test_env_twice(void)
{
	const char *const envp[] = {"JITRD_MQTT_QOS=0", "JITRD_MQTT_QOS=1", NULL};

	parse_fails("environment", NULL, 0, envp, NULL, JITRD_ERR_CONFIG,
	            "environment JITRD_MQTT_QOS: set more than once");
}

/* 65 distinct ids only fit through the environment (a file line holds at most two). */
static void test_env_allow_list_limit(void)
{
	static char entry[16 + 66 * 70];
	const char *const envp[] = {entry, NULL};
	char last[CA_ID_CHARS + 1], message[512];
	struct jitrd_config *cfg;
	size_t o;

	for (int n = 64; n <= 65; n++) {
		/* ids 0..n-1 as 62 zeros and two hex digits, then id 0 again (dropped) */
		o = (size_t)snprintf(entry, sizeof(entry), "JITRD_CA_ALLOW=");
		for (int i = 0; i < n; i++)
			o += (size_t)snprintf(entry + o, sizeof(entry) - o, "%s%062d%02X",
			                      i ? "," : "", 0, i);
		snprintf(entry + o, sizeof(entry) - o, ",%064d", 0);
		snprintf(last, sizeof(last), "%062d%02x", 0, n - 1);
		if (n == 64) {
			cfg = parse_ok("environment", NULL, 0, envp, NULL);
			if (cfg) {
				CU_ASSERT_EQUAL(cfg->ca.allow_count, 64);
				CU_ASSERT_STRING_EQUAL(cfg->ca.allow[63], last);
				CU_ASSERT_EQUAL(jitrd_config_ca_allowed(cfg, last), 1);
			}
			jitrd_config_free(cfg);
		} else {
			snprintf(message, sizeof(message),
			         "environment JITRD_CA_ALLOW: more than 64 CA ids (value '%s')",
			         last);
			parse_fails("environment", NULL, 0, envp, NULL, JITRD_ERR_CONFIG, message);
		}
	}
}

static void test_env_value_too_long(void)
{
	static char entry[9000];
	const char *const envp[] = {entry, NULL};

	snprintf(entry, sizeof(entry), "JITRD_MQTT_CLIENT_ID=");
	memset(entry + strlen(entry), 'x', 8193);
	entry[21 + 8193] = '\0';
	parse_fails("environment", NULL, 0, envp, NULL, JITRD_ERR_CONFIG,
	            "environment JITRD_MQTT_CLIENT_ID: value longer than 8192 bytes");
	entry[21 + 8192] = '\0';
	jitrd_config_free(parse_ok("environment", NULL, 0, envp, NULL));
}

static void test_path_too_long(void)
{
	static char base[4100];
	const char *text = "[ca]\ndir = ca\n";

	/* 4094 + "/" + "ca" + NUL is one byte over PATH_MAX */
	memset(base, 'b', 4094);
	base[0] = '/';
	base[4094] = '\0';
	parse_fails("t.conf", text, strlen(text), NULL, base, JITRD_ERR_CONFIG,
	            "t.conf:2: [ca] dir: path longer than 4095 bytes once joined to the "
	            "configuration's directory (value 'ca')");
	base[4000] = '\0';
	jitrd_config_free(parse_ok("t.conf", text, strlen(text), NULL, base));
}

/* ---- limits of the text -------------------------------------------------------------------- */

/* "[mqtt]\n" then a topic line of exactly total bytes, its ending included. */
static size_t topic_line(char *buf, size_t total, const char *ending)
{
	size_t o = (size_t)snprintf(buf, 512, "[mqtt]\ntopic = ");
	size_t line_start = 7;

	while (o - line_start < total - strlen(ending))
		buf[o++] = 't';
	memcpy(buf + o, ending, strlen(ending));
	o += strlen(ending);
	/* a syntax error after it proves inih's line count did not drift */
	o += (size_t)snprintf(buf + o, 64, "oops\n");
	return o;
}

static void test_line_length(void)
{
	static const struct {
		size_t total;
		const char *ending;
		const char *message;
	} cases[] = {
	    {199, "\n",
	     "t.conf:3: missing '=' (expected 'key = value', '[section]' or a "
	     "comment)"},
	    {199, "\r\n",
	     "t.conf:3: missing '=' (expected 'key = value', '[section]' or a "
	     "comment)"},
	    {200, "\n", "t.conf:2: line longer than 199 characters"},
	    {200, "\r\n", "t.conf:2: line longer than 199 characters"},
	    {5000, "\n", "t.conf:2: line longer than 199 characters"},
	};
	char buf[6000];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = topic_line(buf, cases[i].total, cases[i].ending);
		parse_fails("t.conf", buf, len, NULL, NULL, JITRD_ERR_CONFIG, cases[i].message);
	}
	/* the last line may lack its '\n': 199 bytes are fine, 200 are not */
	for (size_t total = 199; total <= 200; total++) {
		size_t len = topic_line(buf, total + 1, "\n") - strlen("oops\n") - 1;
		struct jitrd_config *cfg;

		if (total == 199) {
			cfg = parse_ok("t.conf", buf, len, NULL, NULL);
			if (cfg)
				CU_ASSERT_EQUAL(strlen(cfg->mqtt.topic), 199 - 8);
			jitrd_config_free(cfg);
		} else {
			parse_fails("t.conf", buf, len, NULL, NULL, JITRD_ERR_CONFIG,
			            "t.conf:2: line longer than 199 characters");
		}
	}
}

static void test_nul_byte(void)
{
	static const char text[] = "[mqtt]\nurl = tcp://a\0b:1883\n";
	static const char first[] = "\0[mqtt]\n";

	parse_fails("t.conf", text, sizeof(text) - 1, NULL, NULL, JITRD_ERR_CONFIG,
	            "t.conf:2: NUL byte");
	parse_fails("t.conf", first, sizeof(first) - 1, NULL, NULL, JITRD_ERR_CONFIG,
	            "t.conf:1: NUL byte");
}

/* Comment lines up to exactly len bytes. */
static char *comment_text(size_t len)
{
	char *text = malloc(len + 1);

	if (!text)
		return NULL;
	for (size_t i = 0; i < len; i++)
		text[i] = i % 100 == 99 ? '\n' : (i % 100 == 0 ? '#' : 'c');
	text[len] = '\0';
	return text;
}

static void test_size_limit(void)
{
	char *big = comment_text(300 * 1024);
	char *max = comment_text(JITRD_CONFIG_MAX_BYTES);

	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	CU_ASSERT_PTR_NOT_NULL_FATAL(max);
	parse_fails("big.conf", big, 300 * 1024, NULL, NULL, JITRD_ERR_TOO_LARGE,
	            "big.conf: 307200 bytes, more than the 262144 allowed");
	parse_fails("big.conf", max, JITRD_CONFIG_MAX_BYTES + 1, NULL, NULL, JITRD_ERR_TOO_LARGE,
	            "big.conf: 262145 bytes, more than the 262144 allowed");
	jitrd_config_free(parse_ok("max.conf", max, JITRD_CONFIG_MAX_BYTES, NULL, NULL));
	free(big);
	free(max);
}

static void test_hostile_text(void)
{
	/* bytes that are not ASCII are quoted, never copied raw into the message */
	parse_text_fails("[mqtt]\nclient_id = ok\nurl = \xff\x1b[31m\n", NULL,
	                 "t.conf:3: [mqtt] url: holds a space or a control character "
	                 "(value '\\xff\\x1b[31m')");
	parse_text_fails("[\x1b]\n", NULL, "t.conf:1: unknown section [\\x1b]");
	parse_text_fails("[mqtt]\n\xc3\xa9 = 1\n", NULL,
	                 "t.conf:2: [mqtt] \\xc3\\xa9: unknown key");
	parse_text_fails("[]\n", NULL, "t.conf:1: unknown section []");
	parse_text_fails("[mqtt]\n= x\n", NULL, "t.conf:2: [mqtt] : unknown key");
	/* inih splits at the first '=' or ':', so a missing '=' can look like a key */
	parse_text_fails("[mqtt]\nurl ssl://b:8883\n", NULL,
	                 "t.conf:2: [mqtt] url ssl: unknown key");
	/* a truncated file: the header is cut */
	parse_text_fails("[mqtt]\nurl = tcp://127.0.0.1:1883\n[aw", NULL,
	                 "t.conf:3: section header without ']'");
	/* a UTF-8 BOM is only a BOM on line 1 */
	parse_text_fails("[mqtt]\n\xef\xbb\xbf[aws]\n", NULL,
	                 "t.conf:2: missing '=' (expected "
	                 "'key = value', '[section]' or a "
	                 "comment)");
}

/* ---- allocation ------------------------------------------------------------------------------ */

static const char *const heavy_env[] = {"JITRD_CA_ALLOW=" ID_A "," ID_B "," ID_C,
                                        "JITRD_MQTT_CA_FILE=ca.pem", "JITRD_AWS_REGION=eu-west-3",
                                        NULL};

/* Fails the n-th string allocation for n = 0, 1, ... until a parse succeeds: every failure
 * must give JITRD_ERR_NOMEM, leave *out alone and leak nothing (LeakSanitizer under asan). */
static void test_allocation_failures(void)
{
	size_t len;
	char *text = read_golden("tests/unit/config/full.conf", &len);
	unsigned failures = 0;

	if (!text)
		return;
	for (long n = 0; n < 10000; n++) {
		struct jitrd_config *cfg = SENTINEL;
		struct jitrd_diag diag;
		enum jitrd_err rc;

		alloc_countdown = n;
		alloc_failed = 0;
		rc = jitrd_config_parse("full.conf", text, len, heavy_env, "/etc/jitrd", &cfg,
		                        &diag);
		alloc_countdown = -1;
		if (rc == JITRD_OK) {
			CU_ASSERT_EQUAL(alloc_failed, 0);
			CU_ASSERT_EQUAL(cfg->ca.allow_count, 3);
			CU_ASSERT_STRING_EQUAL(cfg->mqtt.ca_file, "/etc/jitrd/ca.pem");
			jitrd_config_free(cfg);
			break;
		}
		CU_ASSERT_EQUAL(rc, JITRD_ERR_NOMEM);
		CU_ASSERT_EQUAL(alloc_failed, 1);
		CU_ASSERT_PTR_EQUAL(cfg, SENTINEL);
		CU_ASSERT_STRING_EQUAL(diag.text, "full.conf: out of memory");
		failures++;
	}
	/* defaults, the text copy, every string of the file and env: dozens of allocations */
	CU_ASSERT(failures > 40);
	free(text);
}

/* The same heavy parse many times: under asan a leak or a double free anywhere shows. */
static void test_allocation_loop(void)
{
	size_t len;
	char *text = read_golden("tests/unit/config/full.conf", &len);
	const char *duplicate = "[mqtt]\nurl = tcp://127.0.0.1:1\nurl = tcp://127.0.0.2:1\n";

	if (!text)
		return;
	for (int i = 0; i < 2000; i++) {
		struct jitrd_config *cfg = NULL;
		struct jitrd_diag diag;

		if (jitrd_config_parse("full.conf", text, len, heavy_env, "/etc/jitrd", &cfg,
		                       &diag) != JITRD_OK) {
			CU_FAIL("parse failed in the loop");
			break;
		}
		jitrd_config_free(cfg);
		/* and an error half way through, which must free what was built */
		cfg = SENTINEL;
		if (jitrd_config_parse("t.conf", duplicate, strlen(duplicate), heavy_env, NULL,
		                       &cfg, &diag) != JITRD_ERR_CONFIG ||
		    cfg != SENTINEL) {
			CU_FAIL("error path changed in the loop");
			break;
		}
	}
	free(text);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"golden files that parse", test_golden_ok},
	    {"golden files that are refused", test_golden_bad},
	    {"an unknown key's value is not shown", test_unknown_key_value_hidden},
	    {"defaults without a file", test_defaults_without_file},
	    {"the sample config is the defaults", test_sample_is_defaults},
	    {"bad arguments", test_bad_arguments},
	    {"reconcile lease: auto follows the SQS queue", test_reconcile_lease_auto},
	    {"one value per key and rule", test_values},
	    {"crl url list", test_crl_urls},
	    {"crl url list from the environment", test_crl_urls_env},
	    {"accepted values land in the struct", test_value_results},
	    {"[ocsp] responder per CA", test_ocsp_responders},
	    {"environment overrides the file", test_env_overrides_file},
	    {"environment without a file", test_env_without_file},
	    {"explicit endpoint kept, empty one derived", test_env_endpoint_kept},
	    {"[sqs]: one event source, region from [aws]", test_sqs_source},
	    {"environment errors", test_env_errors},
	    {"environment variable set twice", test_env_twice},
	    {"ca.allow holds at most 64 ids", test_env_allow_list_limit},
	    {"environment value too long", test_env_value_too_long},
	    {"joined path too long", test_path_too_long},
	    {"line length limit and line numbers", test_line_length},
	    {"NUL bytes", test_nul_byte},
	    {"size limit", test_size_limit},
	    {"hostile text", test_hostile_text},
	    {"allocation failures", test_allocation_failures},
	    {"allocation loop", test_allocation_loop},
	    {NULL, NULL},
	};

	return tsupport_run("config", cases);
}
