/* test_iot_emulator.c — integration: every operation of the IoT client against the real
 * iot-emulator (started on 127.0.0.1, port 0): the bring-your-own-CA workflow with a
 * verification certificate made by the OpenSSL CLI, device registration and activation,
 * policy, Thing, paging, and AWS's errors (not found, duplicate, state rules, bad signature).
 * Then the client under the emulator's injected faults (errors, server-side rate limits,
 * latency), judged by the emulator's own counters: every call ends right, attempts stay within
 * the backoff policy, the client-side limit keeps the server from throttling, deadlines hold. */
#include "jitrd/iot_client.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "awshttp.h" /* the adapter's own HTTP helper, for the emulator's control plane */
#include "stub_server.h"
#include "testsupport.h"

#define KEY_ID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

static struct emulator *emu;

struct session {
	struct jitrd_credentials_provider *creds;
	struct jitrd_iot_client *client;
	struct jitrd_iot_session *s;
};

/* The client options every case starts from: the emulator's endpoint, a short first backoff
 * window so retries cost little time. */
static void test_options(struct jitrd_iot_client_options *opts, const char *signing)
{
	jitrd_iot_client_options_init(opts, NULL);
	opts->endpoint = emulator_url(emu);
	opts->signing_name = signing;
	opts->backoff.base_ms = 5;
}

static void close_session(struct session *ss);

static int open_session_opts(struct session *ss, const char *secret,
                             const struct jitrd_iot_client_options *opts)
{
	char key_env[64], secret_env[160];
	const char *envp[] = {key_env, secret_env, "AWS_EC2_METADATA_DISABLED=true",
	                      "HOME=/nonexistent", NULL};
	struct jitrd_credentials_options co;

	snprintf(key_env, sizeof(key_env), "AWS_ACCESS_KEY_ID=%s", KEY_ID);
	snprintf(secret_env, sizeof(secret_env), "AWS_SECRET_ACCESS_KEY=%s", secret);
	memset(ss, 0, sizeof(*ss));
	jitrd_credentials_options_init(&co);
	co.envp = envp;
	if (jitrd_credentials_new(&co, &ss->creds, NULL) == JITRD_OK &&
	    jitrd_iot_client_new(opts, ss->creds, &ss->client, NULL) == JITRD_OK &&
	    jitrd_iot_session_new(ss->client, &ss->s) == JITRD_OK)
		return 0;
	close_session(ss);
	return -1;
}

static int open_session(struct session *ss, const char *secret, const char *signing)
{
	struct jitrd_iot_client_options opts;

	test_options(&opts, signing);
	return open_session_opts(ss, secret, &opts);
}

static void close_session(struct session *ss)
{
	jitrd_iot_session_free(ss->s);
	jitrd_iot_client_free(ss->client);
	jitrd_credentials_free(ss->creds);
	memset(ss, 0, sizeof(*ss));
}

static int64_t dl(void)
{
	return jitrd_iot_deadline_in(5000);
}

/* The verification certificate: CN = registration code, signed by ca1's key. */
static char *verification_pem(const char *code)
{
	char dir[] = "/tmp/jitrd-verif-XXXXXX", cmd[4096], path[1100], ca[1024], key[1024];
	char *pem;

	/* tsupport_fixture returns a static buffer: copy each path before the next call. */
	snprintf(ca, sizeof(ca), "%s", tsupport_fixture("cas/ca1.pem"));
	snprintf(key, sizeof(key), "%s", tsupport_fixture("keys/ca1.key"));
	if (!mkdtemp(dir))
		return NULL;
	snprintf(cmd, sizeof(cmd),
	         "cd %s && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	         "-keyout v.key -subj /CN=%s -out v.csr 2>/dev/null && openssl x509 -req -in v.csr "
	         "-CA '%s' -CAkey '%s' -set_serial 4242 -days 30 -out v.pem 2>/dev/null",
	         dir, code, ca, key);
	if (strlen(cmd) > 4000 || system(cmd) != 0)
		return NULL;
	snprintf(path, sizeof(path), "%s/v.pem", dir);
	pem = tsupport_read(path, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return pem;
}

static int count_cert(void *ctx, const struct jitrd_iot_cert_summary *c)
{
	(void)c;
	(*(int *)ctx)++;
	return 0;
}

static int find_policy(void *ctx, const char *name, const char *arn)
{
	(void)arn;
	if (strcmp(name, "jitrd-device") == 0)
		(*(int *)ctx)++;
	return 0;
}

struct principal_walk {
	int count;
	char first[JITRD_IOT_MAX_PRINCIPAL + 1];
};

static int count_principal(void *ctx, const char *principal)
{
	struct principal_walk *walk = ctx;

	if (walk->count++ == 0)
		snprintf(walk->first, sizeof(walk->first), "%s", principal);
	return 0;
}

static void test_workflow(void)
{
	struct session ss;
	struct jitrd_iot_result res;
	struct jitrd_diag diag = {{0}};
	struct jitrd_iot_registered ca_reg, dev, dev2;
	struct jitrd_iot_ca_certificate ca;
	struct jitrd_iot_certificate cert;
	struct jitrd_iot_policy pol;
	struct jitrd_iot_thing thing;
	char code[65];
	char *ca_pem = tsupport_read_fixture("cas/ca1.pem", NULL);
	char *good = tsupport_read_fixture("devices/good.pem", NULL);
	char *good2 = tsupport_read_fixture("devices/unheld.pem", NULL);
	char *verif;
	int n = 0;

	CU_ASSERT_FATAL(ca_pem && good && good2);
	CU_ASSERT_FATAL(open_session(&ss, SECRET, "iot") == 0);
	CU_ASSERT_EQUAL_FATAL(jitrd_iot_get_registration_code(ss.s, dl(), code, &res, &diag),
	                      JITRD_OK);
	verif = verification_pem(code);
	CU_ASSERT_PTR_NOT_NULL_FATAL(verif);
	CU_ASSERT_EQUAL_FATAL(jitrd_iot_register_ca_certificate(ss.s, dl(), ca_pem, verif, 1, 1,
	                                                        &ca_reg, &res, &diag),
	                      JITRD_OK);
	CU_ASSERT_EQUAL(
	    jitrd_iot_describe_ca_certificate(ss.s, dl(), ca_reg.certificate_id, &ca, &res, &diag),
	    JITRD_OK);
	CU_ASSERT_EQUAL(ca.status, JITRD_IOT_ACTIVE);
	CU_ASSERT_EQUAL(ca.auto_registration, 1);
	CU_ASSERT_STRING_EQUAL(ca.certificate_id, ca_reg.certificate_id);
	jitrd_iot_ca_certificate_cleanup(&ca);
	CU_ASSERT_EQUAL(jitrd_iot_update_ca_certificate(ss.s, dl(), ca_reg.certificate_id,
	                                                JITRD_IOT_INACTIVE, 0, &res, &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL(
	    jitrd_iot_describe_ca_certificate(ss.s, dl(), ca_reg.certificate_id, &ca, &res, &diag),
	    JITRD_OK);
	CU_ASSERT_EQUAL(ca.status, JITRD_IOT_INACTIVE);
	CU_ASSERT_EQUAL(ca.auto_registration, 0);
	jitrd_iot_ca_certificate_cleanup(&ca);
	CU_ASSERT_EQUAL(jitrd_iot_update_ca_certificate(ss.s, dl(), ca_reg.certificate_id,
	                                                JITRD_IOT_ACTIVE, 1, &res, &diag),
	                JITRD_OK);

	/* Devices. */
	CU_ASSERT_EQUAL_FATAL(jitrd_iot_register_certificate(ss.s, dl(), good, ca_pem,
	                                                     JITRD_IOT_STATUS_NONE, &dev, &res,
	                                                     &diag),
	                      JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_iot_register_certificate(ss.s, dl(), good2, ca_pem,
	                                               JITRD_IOT_INACTIVE, &dev2, &res, &diag),
	                JITRD_OK);
	if (res.http_status != 200)
		fprintf(stderr, "RegisterCertificate good2: %s\n", diag.text);
	CU_ASSERT_EQUAL(jitrd_iot_update_certificate(ss.s, dl(), dev.certificate_id,
	                                             JITRD_IOT_ACTIVE, &res, &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL_FATAL(
	    jitrd_iot_describe_certificate(ss.s, dl(), dev.certificate_id, &cert, &res, &diag),
	    JITRD_OK);
	CU_ASSERT_EQUAL(cert.status, JITRD_IOT_ACTIVE);
	CU_ASSERT_STRING_EQUAL(cert.ca_certificate_id, ca_reg.certificate_id);
	CU_ASSERT_STRING_EQUAL(cert.certificate_arn, dev.certificate_arn);
	jitrd_iot_certificate_cleanup(&cert);
	CU_ASSERT_EQUAL(jitrd_iot_list_certificates_by_ca(ss.s, dl(), ca_reg.certificate_id, 1, 0,
	                                                  count_cert, &n, &res, &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT(res.attempts >= 2); /* one page per certificate */

	/* Policy and Thing. */
	CU_ASSERT_EQUAL(jitrd_iot_create_policy(ss.s, dl(), "jitrd-device",
	                                        "{\"Version\":\"2012-10-17\",\"Statement\":[{"
	                                        "\"Effect\":\"Allow\",\"Action\":\"iot:Connect\","
	                                        "\"Resource\":\"*\"}]}",
	                                        &pol, &res, &diag),
	                JITRD_OK);
	jitrd_iot_policy_cleanup(&pol);
	CU_ASSERT_EQUAL(
	    jitrd_iot_create_policy(ss.s, dl(), "jitrd-device", "{}", NULL, &res, &diag),
	    JITRD_ERR_API);
	CU_ASSERT_STRING_EQUAL(res.code, "ResourceAlreadyExistsException");
	CU_ASSERT_EQUAL(jitrd_iot_get_policy(ss.s, dl(), "jitrd-device", &pol, &res, &diag),
	                JITRD_OK);
	CU_ASSERT(pol.policy_document && strstr(pol.policy_document, "iot:Connect"));
	jitrd_iot_policy_cleanup(&pol);
	CU_ASSERT_EQUAL(
	    jitrd_iot_attach_policy(ss.s, dl(), "jitrd-device", dev.certificate_arn, &res, &diag),
	    JITRD_OK);
	n = 0;
	CU_ASSERT_EQUAL(jitrd_iot_list_attached_policies(ss.s, dl(), dev.certificate_arn,
	                                                 find_policy, &n, &res, &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(jitrd_iot_create_thing(ss.s, dl(), "device-1", &thing, &res, &diag),
	                JITRD_OK);
	CU_ASSERT_STRING_EQUAL(thing.thing_name, "device-1");
	CU_ASSERT_EQUAL(jitrd_iot_describe_thing(ss.s, dl(), "device-1", &thing, &res, &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_iot_attach_thing_principal(ss.s, dl(), "device-1",
	                                                 dev.certificate_arn, &res, &diag),
	                JITRD_OK);
	{
		/* Attributes: CreateThing with the same ones succeeds again, with other ones is
		 * ResourceAlreadyExistsException (AWS's CreateThing documentation); DescribeThing
		 * returns them; ListThingPrincipals lists the attached certificate. */
		struct jitrd_iot_attribute mine = {"jitrd_ca", "abc123"};
		struct jitrd_iot_attribute other = {"jitrd_ca", "def456"};
		struct jitrd_iot_attribute bad = {"jitrd ca", "x"};
		char value[JITRD_IOT_MAX_ATTRIBUTE_VALUE + 1];
		int present = -1;
		struct principal_walk walk = {0};

		CU_ASSERT_EQUAL(jitrd_iot_create_thing_with_attributes(
				    ss.s, dl(), "marked-1", &mine, 1, &thing, &res, &diag),
		                JITRD_OK);
		CU_ASSERT_STRING_EQUAL(thing.thing_name, "marked-1");
		CU_ASSERT_EQUAL(jitrd_iot_create_thing_with_attributes(ss.s, dl(), "marked-1",
		                                                       &mine, 1, NULL, &res, &diag),
		                JITRD_OK);
		CU_ASSERT_EQUAL(jitrd_iot_create_thing_with_attributes(
				    ss.s, dl(), "marked-1", &other, 1, NULL, &res, &diag),
		                JITRD_ERR_API);
		CU_ASSERT_STRING_EQUAL(res.code, "ResourceAlreadyExistsException");
		CU_ASSERT_EQUAL(jitrd_iot_create_thing_with_attributes(ss.s, dl(), "device-1",
		                                                       &mine, 1, NULL, &res, &diag),
		                JITRD_ERR_API);
		CU_ASSERT_STRING_EQUAL(res.code, "ResourceAlreadyExistsException");
		CU_ASSERT_EQUAL(jitrd_iot_create_thing_with_attributes(ss.s, dl(), "marked-2", &bad,
		                                                       1, NULL, &res, &diag),
		                JITRD_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(jitrd_iot_describe_thing_attribute(ss.s, dl(), "marked-1",
		                                                   "jitrd_ca", value, sizeof(value),
		                                                   &present, &res, &diag),
		                JITRD_OK);
		CU_ASSERT_EQUAL(present, 1);
		CU_ASSERT_STRING_EQUAL(value, "abc123");
		CU_ASSERT_EQUAL(jitrd_iot_describe_thing_attribute(ss.s, dl(), "device-1",
		                                                   "jitrd_ca", value, sizeof(value),
		                                                   &present, &res, &diag),
		                JITRD_OK);
		CU_ASSERT_EQUAL(present, 0);
		CU_ASSERT_STRING_EQUAL(value, "");
		CU_ASSERT_EQUAL(jitrd_iot_list_thing_principals(
				    ss.s, dl(), "device-1", count_principal, &walk, &res, &diag),
		                JITRD_OK);
		CU_ASSERT_EQUAL(walk.count, 1);
		CU_ASSERT_STRING_EQUAL(walk.first, dev.certificate_arn);
		walk.count = 0;
		CU_ASSERT_EQUAL(jitrd_iot_list_thing_principals(
				    ss.s, dl(), "marked-1", count_principal, &walk, &res, &diag),
		                JITRD_OK);
		CU_ASSERT_EQUAL(walk.count, 0);
		CU_ASSERT_EQUAL(jitrd_iot_list_thing_principals(ss.s, dl(), "no-such-thing",
		                                                count_principal, &walk, &res,
		                                                &diag),
		                JITRD_ERR_API);
		CU_ASSERT_STRING_EQUAL(res.code, "ResourceNotFoundException");
	}

	/* AWS's errors. */
	CU_ASSERT_EQUAL(jitrd_iot_attach_thing_principal(ss.s, dl(), "no-such-thing",
	                                                 dev.certificate_arn, &res, &diag),
	                JITRD_ERR_API);
	CU_ASSERT_STRING_EQUAL(res.code, "ResourceNotFoundException");
	CU_ASSERT_EQUAL(jitrd_iot_update_certificate(ss.s, dl(), dev.certificate_id,
	                                             JITRD_IOT_REVOKED, &res, &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_iot_update_certificate(ss.s, dl(), dev.certificate_id,
	                                             JITRD_IOT_ACTIVE, &res, &diag),
	                JITRD_ERR_API);
	CU_ASSERT_STRING_EQUAL(res.code, "CertificateStateException");
	CU_ASSERT_EQUAL(res.attempts, 1);
	CU_ASSERT_EQUAL(
	    jitrd_iot_describe_certificate(ss.s, dl(),
	                                   "00000000000000000000000000000000000000000000"
	                                   "00000000000000000000",
	                                   &cert, &res, &diag),
	    JITRD_ERR_API);
	CU_ASSERT_EQUAL(res.http_status, 404);
	CU_ASSERT_STRING_EQUAL(res.code, "ResourceNotFoundException");
	close_session(&ss);
	free(verif);
	free(ca_pem);
	free(good);
	free(good2);
}

/* A policy's versions as AWS keeps them: at most five (VersionsLimitExceededException, 409),
 * setAsDefault moves GetPolicy's document and defaultVersionId, the default cannot be deleted
 * (DeleteConflictException, 409), a deleted version is gone (404), ids are never reused. */
static void test_policy_versions(void)
{
	static const char *const fmt =
	    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":"
	    "\"Allow\",\"Action\":\"iot:Connect\",\"Resource\":\"v%d\"}]}";
	struct session ss;
	struct jitrd_iot_result res;
	struct jitrd_diag diag = {{0}};
	struct jitrd_iot_policy pol;
	struct jitrd_iot_policy_versions list;
	char doc[256], last_id[64] = "";
	int defaults = 0;

	CU_ASSERT_FATAL(open_session(&ss, SECRET, "iot") == 0);
	snprintf(doc, sizeof(doc), fmt, 1);
	CU_ASSERT_EQUAL(jitrd_iot_create_policy(ss.s, dl(), "versioned", doc, NULL, &res, &diag),
	                JITRD_OK);
	for (int v = 2; v <= 5; v++) {
		snprintf(doc, sizeof(doc), fmt, v);
		memset(&pol, 0, sizeof(pol));
		CU_ASSERT_EQUAL(jitrd_iot_create_policy_version(ss.s, dl(), "versioned", doc, 1,
		                                                &pol, &res, &diag),
		                JITRD_OK);
		CU_ASSERT_STRING_EQUAL(pol.policy_name, "versioned");
		CU_ASSERT_EQUAL(atol(pol.version_id), v);
		CU_ASSERT(pol.policy_document && strstr(pol.policy_document, "\"v"));
		snprintf(last_id, sizeof(last_id), "%s", pol.version_id);
		jitrd_iot_policy_cleanup(&pol);
	}
	/* the sixth is refused, and out is untouched */
	memset(&pol, 0x5a, sizeof(pol));
	snprintf(doc, sizeof(doc), fmt, 6);
	CU_ASSERT_EQUAL(
	    jitrd_iot_create_policy_version(ss.s, dl(), "versioned", doc, 1, &pol, &res, &diag),
	    JITRD_ERR_API);
	CU_ASSERT_EQUAL(res.http_status, 409);
	CU_ASSERT_STRING_EQUAL(res.code, "VersionsLimitExceededException");
	CU_ASSERT_EQUAL(pol.policy_name[0], 0x5a);
	memset(&pol, 0, sizeof(pol));
	CU_ASSERT_EQUAL(jitrd_iot_get_policy(ss.s, dl(), "versioned", &pol, &res, &diag), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(pol.version_id, last_id);
	CU_ASSERT(pol.policy_document && strstr(pol.policy_document, "\"v5\""));
	jitrd_iot_policy_cleanup(&pol);
	CU_ASSERT_EQUAL_FATAL(
	    jitrd_iot_list_policy_versions(ss.s, dl(), "versioned", &list, &res, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(list.count, 5);
	for (size_t i = 0; i < list.count; i++) {
		defaults += list.versions[i].is_default;
		CU_ASSERT(list.versions[i].create_date > 1.5e9);
		if (list.versions[i].is_default)
			CU_ASSERT_STRING_EQUAL(list.versions[i].version_id, "5");
	}
	CU_ASSERT_EQUAL(defaults, 1);
	/* the default cannot be deleted; the oldest can, once */
	CU_ASSERT_EQUAL(jitrd_iot_delete_policy_version(ss.s, dl(), "versioned", "5", &res, &diag),
	                JITRD_ERR_API);
	CU_ASSERT_EQUAL(res.http_status, 409);
	CU_ASSERT_STRING_EQUAL(res.code, "DeleteConflictException");
	CU_ASSERT_EQUAL(jitrd_iot_delete_policy_version(ss.s, dl(), "versioned", "1", &res, &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_iot_delete_policy_version(ss.s, dl(), "versioned", "1", &res, &diag),
	                JITRD_ERR_API);
	CU_ASSERT_EQUAL(res.http_status, 404);
	CU_ASSERT_STRING_EQUAL(res.code, "ResourceNotFoundException");
	/* a version not made the default leaves GetPolicy as it was; ids are not reused */
	snprintf(doc, sizeof(doc), fmt, 7);
	memset(&pol, 0, sizeof(pol));
	CU_ASSERT_EQUAL(
	    jitrd_iot_create_policy_version(ss.s, dl(), "versioned", doc, 0, &pol, &res, &diag),
	    JITRD_OK);
	CU_ASSERT_STRING_EQUAL(pol.version_id, "6");
	jitrd_iot_policy_cleanup(&pol);
	CU_ASSERT_EQUAL(jitrd_iot_get_policy(ss.s, dl(), "versioned", &pol, &res, &diag), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(pol.version_id, "5");
	jitrd_iot_policy_cleanup(&pol);
	/* inputs outside the model's patterns are not sent; an unknown policy is 404 */
	CU_ASSERT_EQUAL(
	    jitrd_iot_delete_policy_version(ss.s, dl(), "versioned", "1/../5", &res, &diag),
	    JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(res.http_status, 0);
	CU_ASSERT_EQUAL(jitrd_iot_delete_policy_version(ss.s, dl(), "versioned", "", &res, &diag),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_iot_list_policy_versions(ss.s, dl(), "no-such", &list, &res, &diag),
	                JITRD_ERR_API);
	CU_ASSERT_EQUAL(res.http_status, 404);
	CU_ASSERT_EQUAL(
	    jitrd_iot_create_policy_version(ss.s, dl(), "no-such", doc, 1, NULL, &res, &diag),
	    JITRD_ERR_API);
	CU_ASSERT_STRING_EQUAL(res.code, "ResourceNotFoundException");
	close_session(&ss);
}

static void test_signing_names_and_bad_secret(void)
{
	struct session ss;
	struct jitrd_iot_result res;
	struct jitrd_diag diag = {{0}};
	char code[65];

	CU_ASSERT_FATAL(open_session(&ss, SECRET, "execute-api") == 0);
	CU_ASSERT_EQUAL(jitrd_iot_get_registration_code(ss.s, dl(), code, &res, &diag), JITRD_OK);
	close_session(&ss);
	CU_ASSERT_FATAL(open_session(&ss, "not-the-secret", "iot") == 0);
	CU_ASSERT_EQUAL(jitrd_iot_get_registration_code(ss.s, dl(), code, &res, &diag),
	                JITRD_ERR_API);
	CU_ASSERT_EQUAL(res.http_status, 403);
	CU_ASSERT_EQUAL(res.attempts, 1);
	CU_ASSERT(strstr(diag.text, "not-the-secret") == NULL);
	close_session(&ss);
}

/* ---- the emulator's control plane (/_emulator/..., unsigned) and its counters ---- */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One control-plane exchange. The answer's JSON object (json_object_put), or NULL when the
 * exchange failed or the emulator did not answer 200 (the reason is printed). */
static struct json_object *control(const char *method, const char *path, const char *body)
{
	struct jitrd_awshttp_request req = {0};
	struct jitrd_awshttp_response resp = {0};
	struct jitrd_diag diag = {{0}};
	struct curl_slist *headers = NULL;
	struct json_object *answer = NULL;
	char url[256];
	CURL *easy = curl_easy_init();

	snprintf(url, sizeof(url), "%s%s", emulator_url(emu), path);
	headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (!easy || !headers)
		goto cleanup;
	req.method = method;
	req.url = url;
	req.headers = headers;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.connect_timeout_ms = 2000;
	req.timeout_ms = 5000;
	req.max_body = 1024 * 1024;
	if (jitrd_awshttp_perform(easy, &req, &resp, &diag) != JITRD_OK) {
		fprintf(stderr, "%s %s: %s\n", method, path, diag.text);
		goto cleanup;
	}
	if (resp.status != 200) {
		fprintf(stderr, "%s %s: HTTP %ld %s\n", method, path, resp.status, resp.body);
		goto cleanup;
	}
	answer = json_tokener_parse(resp.body);
	if (answer && !json_object_is_type(answer, json_type_object)) {
		json_object_put(answer);
		answer = NULL;
	}
cleanup:
	jitrd_awshttp_response_cleanup(&resp);
	curl_slist_free_all(headers);
	if (easy)
		curl_easy_cleanup(easy);
	return answer;
}

/* POST /_emulator/faults; 0 when the emulator took them. */
static int set_faults(const char *faults)
{
	struct json_object *answer = control("POST", "/_emulator/faults", faults);

	json_object_put(answer);
	return answer ? 0 : -1;
}

/* The emulator's limit on DescribeCertificate, per second; 0 removes it. Setting a new value
 * fills the emulator's bucket. */
static int set_describe_limit(double rate)
{
	char faults[96];

	snprintf(faults, sizeof(faults), "{\"rate_limits\":{\"DescribeCertificate\":%g}}", rate);
	return set_faults(faults);
}

/* What GET /_emulator/state counts: API requests in all, calls per operation (throttled and
 * injected failures included: the emulator counts a call once routed), answers per error. */
struct counters {
	int64_t requests;
	int64_t describe;
	int64_t update;
	int64_t throttled;
	int64_t internal_failure;
	int64_t unavailable;
	int64_t invalid_signature;
};

static int64_t member_count(struct json_object *o, const char *name)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_int))
		return 0; /* the emulator leaves out what it has not counted */
	return json_object_get_int64(v);
}

static int read_counters(struct counters *c)
{
	struct json_object *state = control("GET", "/_emulator/state", NULL);
	struct json_object *counters, *ops = NULL, *errors = NULL;

	memset(c, 0, sizeof(*c));
	if (!state)
		return -1;
	if (!json_object_object_get_ex(state, "counters", &counters) ||
	    !json_object_object_get_ex(counters, "operations", &ops) ||
	    !json_object_object_get_ex(counters, "errors", &errors)) {
		json_object_put(state);
		return -1;
	}
	c->requests = member_count(counters, "requests");
	c->describe = member_count(ops, "DescribeCertificate");
	c->update = member_count(ops, "UpdateCertificate");
	c->throttled = member_count(errors, "ThrottlingException");
	c->internal_failure = member_count(errors, "InternalFailureException");
	c->unavailable = member_count(errors, "ServiceUnavailableException");
	c->invalid_signature = member_count(errors, "InvalidSignatureException");
	json_object_put(state);
	return 0;
}

/* An empty account (POST /_emulator/reset: counters to zero, no faults) holding ca1 and, signed
 * by it, DEVICE_COUNT ACTIVE device certificates whose ids go to ids. 0 on success. */
#define DEVICE_COUNT 4
static int fresh_account(struct session *ss, char ids[DEVICE_COUNT][65])
{
	static const char *const devices[DEVICE_COUNT] = {
	    "devices/good.pem", "devices/held.pem", "devices/unheld.pem", "devices/revoked.pem"};
	struct json_object *answer = control("POST", "/_emulator/reset", "{}");
	struct jitrd_iot_result res;
	struct jitrd_diag diag = {{0}};
	struct jitrd_iot_registered reg;
	char code[65];
	char *ca_pem = NULL, *verif = NULL, *pem = NULL;
	int result = -1;

	if (!answer)
		return -1;
	json_object_put(answer);
	ca_pem = tsupport_read_fixture("cas/ca1.pem", NULL);
	if (!ca_pem || jitrd_iot_get_registration_code(ss->s, dl(), code, &res, &diag) != JITRD_OK)
		goto cleanup;
	verif = verification_pem(code);
	if (!verif || jitrd_iot_register_ca_certificate(ss->s, dl(), ca_pem, verif, 1, 1, &reg,
	                                                &res, &diag) != JITRD_OK)
		goto cleanup;
	for (int i = 0; i < DEVICE_COUNT; i++) {
		pem = tsupport_read_fixture(devices[i], NULL);
		if (!pem ||
		    jitrd_iot_register_certificate(ss->s, dl(), pem, ca_pem, JITRD_IOT_ACTIVE, &reg,
		                                   &res, &diag) != JITRD_OK)
			goto cleanup;
		memcpy(ids[i], reg.certificate_id, 65);
		free(pem);
		pem = NULL;
	}
	result = 0;
cleanup:
	if (result != 0)
		fprintf(stderr, "fresh_account: %s\n", diag.text);
	free(pem);
	free(verif);
	free(ca_pem);
	return result;
}

/* Error rate 0.3: 200 DescribeCertificate and 100 UpdateCertificate calls, interleaved. Every
 * call must end JITRD_OK with right outputs, within the policy's attempts, and the attempts the
 * client reports must be exactly the calls the emulator counted. Then error rate 1: a call
 * stops after exactly max_attempts, as a persisting 5xx. */
static void test_retries_under_injected_errors(void)
{
	enum { DESCRIBES = 200, UPDATES = 100, CALLS = DESCRIBES + UPDATES };
	struct session ss;
	struct jitrd_iot_client_options opts;
	struct jitrd_iot_result res;
	struct jitrd_diag diag = {{0}};
	struct jitrd_iot_certificate cert, sentinel;
	struct counters before, after;
	enum jitrd_iot_status status[DEVICE_COUNT];
	char ids[DEVICE_COUNT][65];
	int64_t describe_attempts = 0, update_attempts = 0, failed_attempts;
	unsigned most = 0;
	int not_ok = 0, wrong_output = 0, over_budget = 0, describes = 0, updates = 0;

	test_options(&opts, "iot");
	/* The emulator is the only limit here: no client-side pacing. */
	opts.rates[JITRD_IOT_DESCRIBE_CERTIFICATE] = 0;
	opts.rates[JITRD_IOT_UPDATE_CERTIFICATE] = 0;
	/* The default policy's 8 attempts fail a call when 8 draws in a row fail: 0.3^8 = 6.6e-5,
	 * ~2% of runs of 300 calls, and the emulator's fault seed is random. 12 attempts make it
	 * 5.3e-7 per call (1.6e-4 per run); the cap keeps the worst case short. */
	opts.backoff.max_attempts = 12;
	opts.backoff.cap_ms = 100;
	CU_ASSERT_FATAL(open_session_opts(&ss, SECRET, &opts) == 0);
	CU_ASSERT_FATAL(fresh_account(&ss, ids) == 0);
	for (int i = 0; i < DEVICE_COUNT; i++)
		status[i] = JITRD_IOT_ACTIVE;
	CU_ASSERT_FATAL(read_counters(&before) == 0);
	CU_ASSERT_FATAL(set_faults("{\"error_rate\":0.3}") == 0);

	for (int i = 0; i < CALLS; i++) {
		int k = i % DEVICE_COUNT;
		enum jitrd_err rc;

		if (i % 3 == 2) {
			enum jitrd_iot_status next =
			    status[k] == JITRD_IOT_ACTIVE ? JITRD_IOT_INACTIVE : JITRD_IOT_ACTIVE;

			rc = jitrd_iot_update_certificate(ss.s, jitrd_iot_deadline_in(30000),
			                                  ids[k], next, &res, &diag);
			if (rc == JITRD_OK)
				status[k] = next;
			update_attempts += res.attempts;
			updates++;
		} else {
			memset(&cert, 0, sizeof(cert));
			rc = jitrd_iot_describe_certificate(ss.s, jitrd_iot_deadline_in(30000),
			                                    ids[k], &cert, &res, &diag);
			if (rc == JITRD_OK && (strcmp(cert.certificate_id, ids[k]) != 0 ||
			                       cert.status != status[k] || !cert.certificate_pem))
				wrong_output++;
			jitrd_iot_certificate_cleanup(&cert);
			describe_attempts += res.attempts;
			describes++;
		}
		if (rc != JITRD_OK && not_ok++ == 0)
			fprintf(stderr, "call %d: %s (%s)\n", i, jitrd_strerror(rc), diag.text);
		if (res.attempts < 1 || res.attempts > opts.backoff.max_attempts)
			over_budget++;
		if (res.attempts > most)
			most = res.attempts;
	}
	CU_ASSERT_EQUAL(describes, DESCRIBES);
	CU_ASSERT_EQUAL(updates, UPDATES);
	CU_ASSERT_EQUAL(not_ok, 0);
	CU_ASSERT_EQUAL(wrong_output, 0);
	CU_ASSERT_EQUAL(over_budget, 0);
	CU_ASSERT_FATAL(read_counters(&after) == 0);
	failed_attempts = describe_attempts + update_attempts - CALLS;
	printf("\n  error rate 0.3: %d calls took %lld attempts (%lld retried), at most %u for one "
	       "call (policy: %u); emulator counted %lld DescribeCertificate + %lld "
	       "UpdateCertificate, %lld InternalFailure + %lld ServiceUnavailable\n",
	       CALLS, (long long)(describe_attempts + update_attempts), (long long)failed_attempts,
	       most, opts.backoff.max_attempts, (long long)(after.describe - before.describe),
	       (long long)(after.update - before.update),
	       (long long)(after.internal_failure - before.internal_failure),
	       (long long)(after.unavailable - before.unavailable));
	/* Every attempt the client made reached the emulator, and nothing else did. */
	CU_ASSERT_EQUAL(after.describe - before.describe, describe_attempts);
	CU_ASSERT_EQUAL(after.update - before.update, update_attempts);
	CU_ASSERT_EQUAL(after.requests - before.requests, describe_attempts + update_attempts);
	/* Every failed attempt was an injected 5xx, and was retried. */
	CU_ASSERT_EQUAL((after.internal_failure - before.internal_failure) +
	                    (after.unavailable - before.unavailable),
	                failed_attempts);
	CU_ASSERT(after.internal_failure > before.internal_failure);
	CU_ASSERT(after.unavailable > before.unavailable);
	/* 300 successes at p = 0.3 take 128.6 failures on average (sd 13.5): far outside [60, 220]
	 * the injection is not doing what it says. */
	CU_ASSERT(failed_attempts >= 60 && failed_attempts <= 220);
	CU_ASSERT(most >= 3);

	/* Every attempt fails: the call stops after exactly max_attempts, with the last 5xx. */
	opts.backoff.max_attempts = 4;
	opts.backoff.base_ms = 1;
	opts.backoff.cap_ms = 2;
	close_session(&ss);
	CU_ASSERT_FATAL(open_session_opts(&ss, SECRET, &opts) == 0);
	CU_ASSERT_FATAL(set_faults("{\"error_rate\":1}") == 0);
	CU_ASSERT_FATAL(read_counters(&before) == 0);
	memset(&cert, 0x5a, sizeof(cert));
	memset(&sentinel, 0x5a, sizeof(sentinel));
	CU_ASSERT_EQUAL(jitrd_iot_describe_certificate(ss.s, jitrd_iot_deadline_in(10000), ids[0],
	                                               &cert, &res, &diag),
	                JITRD_ERR_API);
	CU_ASSERT_EQUAL(res.attempts, 4);
	CU_ASSERT(res.http_status == 500 || res.http_status == 503);
	CU_ASSERT(strcmp(res.code, "InternalFailureException") == 0 ||
	          strcmp(res.code, "ServiceUnavailableException") == 0);
	CU_ASSERT(memcmp(&cert, &sentinel, sizeof(cert)) == 0); /* untouched on error */
	CU_ASSERT_FATAL(read_counters(&after) == 0);
	CU_ASSERT_EQUAL(after.describe - before.describe, 4);
	CU_ASSERT(set_faults("{\"error_rate\":0}") == 0);
	close_session(&ss);
}

/* n DescribeCertificate calls in a row through ss; completion times (CLOCK_MONOTONIC ms) to
 * done_ms, the attempts in all to *attempts. Counts calls not JITRD_OK and calls over the
 * policy's attempts. */
static void describe_run(struct session *ss, const char ids[DEVICE_COUNT][65], int n,
                         unsigned max_attempts, int64_t *done_ms, int64_t *attempts, int *not_ok,
                         int *over_budget)
{
	struct jitrd_iot_result res;
	struct jitrd_diag diag = {{0}};
	struct jitrd_iot_certificate cert;

	*attempts = 0;
	*not_ok = 0;
	*over_budget = 0;
	for (int i = 0; i < n; i++) {
		enum jitrd_err rc = jitrd_iot_describe_certificate(
		    ss->s, jitrd_iot_deadline_in(15000), ids[i % DEVICE_COUNT], &cert, &res, &diag);

		done_ms[i] = mono_ms();
		if (rc == JITRD_OK && strcmp(cert.certificate_id, ids[i % DEVICE_COUNT]) != 0)
			rc = JITRD_ERR_BAD_RESPONSE; /* right answer to the wrong question */
		if (rc == JITRD_OK)
			jitrd_iot_certificate_cleanup(&cert);
		else if ((*not_ok)++ == 0)
			fprintf(stderr, "call %d: %s (%s)\n", i, jitrd_strerror(rc), diag.text);
		if (res.attempts < 1 || res.attempts > max_attempts)
			(*over_budget)++;
		*attempts += res.attempts;
	}
}

/* The emulator limits DescribeCertificate to 20/s. A client allowed 50/s is throttled by the
 * server and must retry every ThrottlingException to success; a client held to 15/s by its own
 * token bucket must never be throttled at all. */
static void test_throttling(void)
{
	enum { FAST_CALLS = 100, SLOW_CALLS = 60 };
	enum { SERVER_RATE = 20, FAST_RATE = 50, SLOW_RATE = 15 };
	struct session ss;
	struct jitrd_iot_client_options opts;
	struct counters before, after;
	char ids[DEVICE_COUNT][65];
	int64_t done_ms[FAST_CALLS], start, attempts, throttled;
	double overall, steady;
	int not_ok, over_budget;

	/* The production backoff (base 50 ms, cap 5 s, 8 attempts): its windows outgrow the
	 * server's 50 ms between tokens, where a 5 ms base could spend 8 attempts in a burst. */
	test_options(&opts, "iot");
	jitrd_backoff_policy_default(&opts.backoff);
	opts.rates[JITRD_IOT_DESCRIBE_CERTIFICATE] = FAST_RATE;
	CU_ASSERT_FATAL(open_session_opts(&ss, SECRET, &opts) == 0);
	CU_ASSERT_FATAL(fresh_account(&ss, ids) == 0);
	CU_ASSERT_FATAL(set_describe_limit(SERVER_RATE) == 0);
	CU_ASSERT_FATAL(read_counters(&before) == 0);
	start = mono_ms();
	describe_run(&ss, ids, FAST_CALLS, opts.backoff.max_attempts, done_ms, &attempts, &not_ok,
	             &over_budget);
	CU_ASSERT_FATAL(read_counters(&after) == 0);
	throttled = after.throttled - before.throttled;
	overall = FAST_CALLS * 1000.0 / (double)(done_ms[FAST_CALLS - 1] - start);
	steady = (FAST_CALLS - SERVER_RATE - 1) * 1000.0 /
	         (double)(done_ms[FAST_CALLS - 1] - done_ms[SERVER_RATE]);
	printf("\n  server %d/s, client %d/s: %d calls OK in %lld ms (%.1f/s overall, %.1f/s after "
	       "the server's burst), %lld attempts, %lld ThrottlingException answered\n",
	       SERVER_RATE, FAST_RATE, FAST_CALLS - not_ok,
	       (long long)(done_ms[FAST_CALLS - 1] - start), overall, steady, (long long)attempts,
	       (long long)throttled);
	CU_ASSERT_EQUAL(not_ok, 0);
	CU_ASSERT_EQUAL(over_budget, 0);
	CU_ASSERT(throttled > 0);
	/* Each throttled answer was retried: the attempts are the successes plus the throttles,
	 * and the emulator saw exactly those attempts. */
	CU_ASSERT_EQUAL(attempts, FAST_CALLS + throttled);
	CU_ASSERT_EQUAL(after.describe - before.describe, attempts);
	/* No client beats the server's bucket: 20 at once, then 20/s (10% for timer slack). */
	CU_ASSERT(steady <= SERVER_RATE * 1.1);
	close_session(&ss);

	/* The client's own limit below the server's. Setting the server's limit anew fills its
	 * bucket (0 first: the same value would leave it as the run above left it). */
	opts.rates[JITRD_IOT_DESCRIBE_CERTIFICATE] = SLOW_RATE;
	CU_ASSERT_FATAL(set_describe_limit(0) == 0);
	CU_ASSERT_FATAL(set_describe_limit(SERVER_RATE) == 0);
	CU_ASSERT_FATAL(open_session_opts(&ss, SECRET, &opts) == 0);
	CU_ASSERT_FATAL(read_counters(&before) == 0);
	start = mono_ms();
	describe_run(&ss, ids, SLOW_CALLS, 1, done_ms, &attempts, &not_ok, &over_budget);
	CU_ASSERT_FATAL(read_counters(&after) == 0);
	throttled = after.throttled - before.throttled;
	overall = SLOW_CALLS * 1000.0 / (double)(done_ms[SLOW_CALLS - 1] - start);
	steady = (SLOW_CALLS - SLOW_RATE - 1) * 1000.0 /
	         (double)(done_ms[SLOW_CALLS - 1] - done_ms[SLOW_RATE]);
	printf("  server %d/s, client %d/s: %d calls OK in %lld ms (%.1f/s overall, %.1f/s after "
	       "the client's burst), %lld attempts, %lld ThrottlingException answered\n",
	       SERVER_RATE, SLOW_RATE, SLOW_CALLS - not_ok,
	       (long long)(done_ms[SLOW_CALLS - 1] - start), overall, steady, (long long)attempts,
	       (long long)throttled);
	CU_ASSERT_EQUAL(not_ok, 0);
	CU_ASSERT_EQUAL(over_budget, 0); /* one attempt each: nothing to retry */
	CU_ASSERT_EQUAL(throttled, 0);
	CU_ASSERT_EQUAL(attempts, SLOW_CALLS);
	CU_ASSERT_EQUAL(after.describe - before.describe, SLOW_CALLS);
	/* The bucket paces at its rate: not above it (timer slack), not far below it. */
	CU_ASSERT(steady <= SLOW_RATE * 1.1);
	CU_ASSERT(steady >= SLOW_RATE * 0.7);
	CU_ASSERT(set_describe_limit(0) == 0);
	close_session(&ss);
}

/* Latency 300 ms, deadline 500 ms: the first attempt is throttled at ~300 ms, the retry cannot
 * finish in time. The call must give up by the deadline (+200 ms of slack), never hang. Then
 * latency 2 s: the first attempt itself is cut at the deadline. */
static void test_deadline_under_latency(void)
{
	struct session ss;
	struct jitrd_iot_result res;
	struct jitrd_diag diag = {{0}};
	struct jitrd_iot_certificate cert;
	struct counters before, after;
	char ids[DEVICE_COUNT][65];
	int64_t start, elapsed;
	enum jitrd_err rc;

	CU_ASSERT_FATAL(open_session(&ss, SECRET, "iot") == 0);
	CU_ASSERT_FATAL(fresh_account(&ss, ids) == 0);
	/* One token every 2 s, spent by the first call: the second is throttled. */
	CU_ASSERT_FATAL(set_faults("{\"latency_ms\":300,"
	                           "\"rate_limits\":{\"DescribeCertificate\":0.5}}") == 0);
	CU_ASSERT_EQUAL_FATAL(
	    jitrd_iot_describe_certificate(ss.s, dl(), ids[0], &cert, &res, &diag), JITRD_OK);
	jitrd_iot_certificate_cleanup(&cert);
	CU_ASSERT_FATAL(read_counters(&before) == 0);
	start = mono_ms();
	rc = jitrd_iot_describe_certificate(ss.s, jitrd_iot_deadline_in(500), ids[1], &cert, &res,
	                                    &diag);
	elapsed = mono_ms() - start;
	CU_ASSERT_FATAL(read_counters(&after) == 0);
	printf("\n  latency 300 ms, deadline 500 ms, throttled: %s after %lld ms, %u attempts, "
	       "last answer %ld %s\n",
	       jitrd_strerror(rc), (long long)elapsed, res.attempts, res.http_status, res.code);
	CU_ASSERT(rc == JITRD_ERR_DEADLINE || rc == JITRD_ERR_TIMEOUT || rc == JITRD_ERR_THROTTLED);
	if (rc == JITRD_OK)
		jitrd_iot_certificate_cleanup(&cert);
	CU_ASSERT(elapsed <= 500 + 200);
	CU_ASSERT(elapsed >= 300);    /* it waited for the first answer, at least */
	CU_ASSERT(res.attempts >= 2); /* the throttle was retried within the deadline */
	CU_ASSERT_EQUAL(after.describe - before.describe, res.attempts);
	CU_ASSERT(after.throttled - before.throttled >= 1);

	/* Latency far past the deadline: one attempt, cut by the deadline. */
	CU_ASSERT_FATAL(set_faults("{\"latency_ms\":2000,"
	                           "\"rate_limits\":{\"DescribeCertificate\":0}}") == 0);
	start = mono_ms();
	rc = jitrd_iot_describe_certificate(ss.s, jitrd_iot_deadline_in(500), ids[2], &cert, &res,
	                                    &diag);
	elapsed = mono_ms() - start;
	printf("  latency 2000 ms, deadline 500 ms: %s after %lld ms, %u attempts\n",
	       jitrd_strerror(rc), (long long)elapsed, res.attempts);
	CU_ASSERT(rc == JITRD_ERR_DEADLINE || rc == JITRD_ERR_TIMEOUT || rc == JITRD_ERR_THROTTLED);
	if (rc == JITRD_OK)
		jitrd_iot_certificate_cleanup(&cert);
	CU_ASSERT(elapsed <= 500 + 200);
	CU_ASSERT_EQUAL(res.attempts, 1);
	CU_ASSERT(set_faults("{\"latency_ms\":0}") == 0);
	close_session(&ss);
}

/* A wrong secret is final: InvalidSignatureException, one request on the wire, even with
 * transient faults injected (the signature is checked before them). */
static void test_bad_secret_not_retried(void)
{
	struct session ss;
	struct jitrd_iot_result res;
	struct jitrd_diag diag = {{0}};
	struct jitrd_iot_certificate cert, sentinel;
	struct counters before, after;
	static const char id[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

	CU_ASSERT_FATAL(open_session(&ss, "not-the-secret", "iot") == 0);
	CU_ASSERT_FATAL(set_faults("{\"error_rate\":0.5}") == 0);
	CU_ASSERT_FATAL(read_counters(&before) == 0);
	memset(&cert, 0x5a, sizeof(cert));
	memset(&sentinel, 0x5a, sizeof(sentinel));
	CU_ASSERT_EQUAL(jitrd_iot_describe_certificate(ss.s, dl(), id, &cert, &res, &diag),
	                JITRD_ERR_API);
	CU_ASSERT_FATAL(read_counters(&after) == 0);
	CU_ASSERT_EQUAL(res.http_status, 403);
	CU_ASSERT_STRING_EQUAL(res.code, "InvalidSignatureException");
	CU_ASSERT_EQUAL(res.attempts, 1);
	CU_ASSERT_EQUAL(after.requests - before.requests, 1);
	CU_ASSERT_EQUAL(after.invalid_signature - before.invalid_signature, 1);
	CU_ASSERT(memcmp(&cert, &sentinel, sizeof(cert)) == 0); /* untouched on error */
	CU_ASSERT(strstr(diag.text, "not-the-secret") == NULL);
	CU_ASSERT(set_faults("{\"error_rate\":0}") == 0);
	close_session(&ss);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"bring-your-own-CA workflow, every operation", test_workflow},
	    {"policy versions: five at most, the default, deletes", test_policy_versions},
	    {"signing names and a wrong secret", test_signing_names_and_bad_secret},
	    {"error rate 0.3: every call right, attempts bounded and counted",
	     test_retries_under_injected_errors},
	    {"server-side rate limit: throttles retried; client-side limit below it: none",
	     test_throttling},
	    {"latency past the deadline: the call gives up in time", test_deadline_under_latency},
	    {"wrong secret under faults: InvalidSignatureException, not retried",
	     test_bad_secret_not_retried},
	    {NULL, NULL},
	};
	int status;

	/* control() makes its own easy handles: libcurl set up once, before any of them. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	emu = emulator_start(KEY_ID, SECRET);
	if (!emu) {
		fprintf(stderr, "test_iot_emulator: iot-emulator did not start\n");
		curl_global_cleanup();
		return 1;
	}
	status = tsupport_run("iot_emulator_client", cases);
	emulator_stop(emu);
	curl_global_cleanup();
	return status;
}
