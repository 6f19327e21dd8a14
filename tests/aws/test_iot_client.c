/* test_iot_client.c — the IoT client against local servers on 127.0.0.1: the request shape of
 * every operation (method, path, query, headers, body, and a SigV4 signature verified by the
 * server with the sigv4 module), AWS error mapping, retries (500/429/throttling then success,
 * throttling forever within the deadline), client-side rate limits, pagination, keep-alive,
 * and a misbehaving server (truncated, oversized, non-JSON, wrong length, slow, reset). */
#include "jitrd/iot_client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stub_server.h"
#include "testsupport.h"

#define KEY_ID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TOKEN  "SESSIONTOKENEXAMPLE+/="
#define CERT   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CA     "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define ARN    "arn:aws:iot:us-east-1:123456789012:cert/" CERT
#define PEM    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

/* ---- the scripted server ---- */

struct scripted {
	int status;
	const char *error_type;
	const char *body;
	int delay_ms;
};

static struct {
	pthread_mutex_t lock;
	struct scripted script[8];
	int count, next;
	int bad_signatures;
	int signed_ok;
	const char *service;
	const char *session_token;
	struct stub_request last; /* copy of the last request (body pointer not kept) */
	char last_body[8192];
	int pages; /* ListCertificatesByCA paging mode */
} sv;

static const char *page_body(const struct stub_request *req)
{
	const char *m = strstr(req->query, "marker=");

	if (sv.pages == 2) /* a service that loops */
		return "{\"certificates\":[],\"nextMarker\":\"same\"}";
	if (!m)
		return "{\"certificates\":[{\"certificateId\":\"" CERT "\",\"status\":"
		       "\"PENDING_ACTIVATION\",\"certificateArn\":\"a1\",\"creationDate\":1.7E9},"
		       "{\"certificateId\":\"" CA
		       "\",\"status\":\"ACTIVE\"}],\"nextMarker\":\"p%2F2\"}";
	if (strncmp(m + 7, "p%252F2", 7) == 0) /* the marker "p%2F2", percent-encoded */
		return "{\"certificates\":[{\"certificateId\":\"" CERT "\",\"status\":\"REVOKED\"},"
		       "{\"certificateId\":\"" CERT "\",\"status\":\"INACTIVE\"}],\"nextMarker\":"
		       "\"3\"}";
	return "{\"certificates\":[{\"certificateId\":\"" CERT "\",\"status\":\"ACTIVE\"}]}";
}

static void handle(void *ctx, const struct stub_request *req, struct stub_response *resp)
{
	const struct scripted *s;

	(void)ctx;
	pthread_mutex_lock(&sv.lock);
	if (stub_verify_sigv4(req, KEY_ID, SECRET, sv.session_token, "us-east-1", sv.service) == 0)
		sv.signed_ok++;
	else
		sv.bad_signatures++;
	memcpy(&sv.last, req, sizeof(sv.last));
	snprintf(sv.last_body, sizeof(sv.last_body), "%s", req->body);
	sv.last.body = NULL;
	if (sv.pages) {
		resp->body = page_body(req);
		pthread_mutex_unlock(&sv.lock);
		return;
	}
	s = &sv.script[sv.next < sv.count ? sv.next : sv.count - 1];
	if (sv.next < sv.count)
		sv.next++;
	resp->status = s->status;
	resp->error_type = s->error_type;
	resp->body = s->body;
	resp->delay_ms = s->delay_ms;
	pthread_mutex_unlock(&sv.lock);
}

static void script(int n, const struct scripted *steps)
{
	pthread_mutex_lock(&sv.lock);
	memcpy(sv.script, steps, sizeof(steps[0]) * (size_t)n);
	sv.count = n;
	sv.next = 0;
	sv.pages = 0;
	sv.bad_signatures = 0;
	sv.signed_ok = 0;
	memset(&sv.last, 0, sizeof(sv.last));
	pthread_mutex_unlock(&sv.lock);
}

static void answer(int status, const char *body)
{
	struct scripted s = {status, NULL, body, 0};

	script(1, &s);
}

static struct stub_server *server;

/* ---- client fixtures ---- */

struct fixture {
	struct jitrd_credentials_provider *creds;
	struct jitrd_iot_client *client;
	struct jitrd_iot_session *session;
};

static const char *const env_plain[] = {
    "AWS_ACCESS_KEY_ID=" KEY_ID, "AWS_SECRET_ACCESS_KEY=" SECRET, "AWS_EC2_METADATA_DISABLED=true",
    "HOME=/nonexistent", NULL};
static const char *const env_token[] = {
    "AWS_ACCESS_KEY_ID=" KEY_ID, "AWS_SECRET_ACCESS_KEY=" SECRET,
    "AWS_SESSION_TOKEN=" TOKEN,  "AWS_EC2_METADATA_DISABLED=true",
    "HOME=/nonexistent",         NULL};

static int fixture_open(struct fixture *f, const char *endpoint, const char *const *envp,
                        void (*tune)(struct jitrd_iot_client_options *))
{
	struct jitrd_credentials_options co;
	struct jitrd_iot_client_options opts;
	struct jitrd_diag diag = {{0}};

	memset(f, 0, sizeof(*f));
	jitrd_credentials_options_init(&co);
	co.envp = envp;
	if (jitrd_credentials_new(&co, &f->creds, &diag) != JITRD_OK)
		return -1;
	jitrd_iot_client_options_init(&opts, NULL);
	opts.endpoint = endpoint;
	opts.request_timeout_ms = 2000;
	opts.backoff.base_ms = 5;
	opts.backoff.cap_ms = 50;
	for (int i = 0; i < JITRD_IOT_OP_COUNT; i++)
		opts.rates[i] = 0; /* unlimited unless a test says otherwise */
	if (tune)
		tune(&opts);
	pthread_mutex_lock(&sv.lock);
	sv.service = opts.signing_name;
	sv.session_token = envp == env_token ? TOKEN : NULL;
	pthread_mutex_unlock(&sv.lock);
	if (jitrd_iot_client_new(&opts, f->creds, &f->client, &diag) != JITRD_OK) {
		fprintf(stderr, "client_new: %s\n", diag.text);
		return -1;
	}
	return jitrd_iot_session_new(f->client, &f->session) == JITRD_OK ? 0 : -1;
}

static void fixture_close(struct fixture *f)
{
	jitrd_iot_session_free(f->session);
	jitrd_iot_client_free(f->client);
	jitrd_credentials_free(f->creds);
}

static int64_t deadline(void)
{
	return jitrd_iot_deadline_in(5000);
}

static void assert_request(const char *method, const char *path, const char *query,
                           const char *body)
{
	CU_ASSERT_STRING_EQUAL(sv.last.method, method);
	CU_ASSERT_STRING_EQUAL(sv.last.path, path);
	CU_ASSERT_STRING_EQUAL(sv.last.query, query);
	CU_ASSERT_STRING_EQUAL(sv.last_body, body);
	if (strcmp(sv.last.path, path) != 0 || strcmp(sv.last.query, query) != 0 ||
	    strcmp(sv.last_body, body) != 0)
		fprintf(stderr, "got %s %s ? %s body %s\n", sv.last.method, sv.last.path,
		        sv.last.query, sv.last_body);
	if (body[0]) {
		const char *ct = stub_header(&sv.last, "Content-Type");

		CU_ASSERT(ct && strcmp(ct, "application/json") == 0);
	}
	CU_ASSERT_EQUAL(sv.bad_signatures, 0);
	CU_ASSERT(sv.signed_ok >= 1);
}

/* ---- request shapes ---- */

static void test_shapes_certificates(void)
{
	struct fixture f;
	struct jitrd_iot_certificate cert;
	struct jitrd_iot_result res;
	struct jitrd_diag diag = {{0}};

	CU_ASSERT_FATAL(fixture_open(&f, stub_url(server), env_plain, NULL) == 0);
	answer(200, "{\"certificateDescription\":{\"certificateArn\":\"" ARN "\",\"certificateId\":"
	            "\"" CERT "\",\"caCertificateId\":\"" CA "\",\"status\":\"PENDING_ACTIVATION\","
	            "\"certificatePem\":\""
	            "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END "
	            "CERTIFICATE-----\\n\",\"ownedBy\":\"123456789012\",\"creationDate\":1.7E9,"
	            "\"customerVersion\":1,\"validity\":{}}}");
	CU_ASSERT_EQUAL_FATAL(
	    jitrd_iot_describe_certificate(f.session, deadline(), CERT, &cert, &res, &diag),
	    JITRD_OK);
	assert_request("GET", "/certificates/" CERT, "", "");
	CU_ASSERT_STRING_EQUAL(cert.certificate_id, CERT);
	CU_ASSERT_STRING_EQUAL(cert.ca_certificate_id, CA);
	CU_ASSERT_EQUAL(cert.status, JITRD_IOT_PENDING_ACTIVATION);
	CU_ASSERT_STRING_EQUAL(cert.certificate_arn, ARN);
	CU_ASSERT_STRING_EQUAL(cert.owned_by, "123456789012");
	CU_ASSERT_STRING_EQUAL(cert.certificate_pem, PEM);
	CU_ASSERT_EQUAL(cert.creation_date, 1.7e9);
	CU_ASSERT_EQUAL(res.http_status, 200);
	CU_ASSERT_EQUAL(res.attempts, 1);
	jitrd_iot_certificate_cleanup(&cert);

	answer(200, "");
	CU_ASSERT_EQUAL(jitrd_iot_update_certificate(f.session, deadline(), CERT, JITRD_IOT_ACTIVE,
	                                             &res, &diag),
	                JITRD_OK);
	assert_request("PUT", "/certificates/" CERT, "newStatus=ACTIVE", "");
	/* An operation without output: "{}" (any spacing) is taken without parsing, anything
	 * else must still be a JSON object. */
	answer(200, " { \r\n } ");
	CU_ASSERT_EQUAL(jitrd_iot_update_certificate(f.session, deadline(), CERT, JITRD_IOT_ACTIVE,
	                                             &res, &diag),
	                JITRD_OK);
	answer(200, "{\"ignored\":[1,2]}");
	CU_ASSERT_EQUAL(jitrd_iot_update_certificate(f.session, deadline(), CERT, JITRD_IOT_ACTIVE,
	                                             &res, &diag),
	                JITRD_OK);
	answer(200, "{}}");
	CU_ASSERT_EQUAL(jitrd_iot_update_certificate(f.session, deadline(), CERT, JITRD_IOT_ACTIVE,
	                                             &res, &diag),
	                JITRD_ERR_BAD_RESPONSE);
	answer(200, "{");
	CU_ASSERT_EQUAL(jitrd_iot_update_certificate(f.session, deadline(), CERT, JITRD_IOT_ACTIVE,
	                                             &res, &diag),
	                JITRD_ERR_BAD_RESPONSE);
	CU_ASSERT(strstr(diag.text, "not a JSON object") != NULL);

	{
		struct jitrd_iot_registered reg;

		answer(200, "{\"certificateArn\":\"" ARN "\",\"certificateId\":\"" CERT "\"}");
		CU_ASSERT_EQUAL(jitrd_iot_register_certificate(f.session, deadline(), PEM, PEM,
		                                               JITRD_IOT_ACTIVE, &reg, &res, &diag),
		                JITRD_OK);
		assert_request(
		    "POST", "/certificate/register", "",
		    "{\"certificatePem\":\""
		    "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END "
		    "CERTIFICATE-----\\n\",\"caCertificatePem\":\""
		    "-----BEGIN "
		    "CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n\",\"status\":"
		    "\"ACTIVE\"}");
		CU_ASSERT_STRING_EQUAL(reg.certificate_id, CERT);
		CU_ASSERT_STRING_EQUAL(reg.certificate_arn, ARN);

		answer(200, "{\"certificateArn\":\"arn:ca\",\"certificateId\":\"" CA "\"}");
		CU_ASSERT_EQUAL(jitrd_iot_register_ca_certificate(f.session, deadline(), PEM, PEM,
		                                                  1, 0, &reg, &res, &diag),
		                JITRD_OK);
		assert_request("POST", "/cacertificate",
		               "setAsActive=true&allowAutoRegistration=false",
		               "{\"caCertificate\":\""
		               "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END "
		               "CERTIFICATE-----\\n\",\"verificationCertificate\":\""
		               "-----BEGIN "
		               "CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n\"}");
		CU_ASSERT_STRING_EQUAL(reg.certificate_id, CA);
	}
	{
		struct jitrd_iot_ca_certificate ca;
		char code[65];

		answer(200,
		       "{\"certificateDescription\":{\"certificateId\":\"" CA "\",\"status\":"
		       "\"ACTIVE\",\"autoRegistrationStatus\":\"ENABLE\",\"certificatePem\":\"x\","
		       "\"certificateArn\":\"arn:ca\",\"ownedBy\":\"123456789012\"},"
		       "\"registrationConfig\":{}}");
		CU_ASSERT_EQUAL(
		    jitrd_iot_describe_ca_certificate(f.session, deadline(), CA, &ca, &res, &diag),
		    JITRD_OK);
		assert_request("GET", "/cacertificate/" CA, "", "");
		CU_ASSERT_EQUAL(ca.status, JITRD_IOT_ACTIVE);
		CU_ASSERT_EQUAL(ca.auto_registration, 1);
		CU_ASSERT_STRING_EQUAL(ca.certificate_pem, "x");
		jitrd_iot_ca_certificate_cleanup(&ca);

		answer(200, "");
		CU_ASSERT_EQUAL(jitrd_iot_update_ca_certificate(f.session, deadline(), CA,
		                                                JITRD_IOT_INACTIVE, 0, &res, &diag),
		                JITRD_OK);
		assert_request("PUT", "/cacertificate/" CA,
		               "newStatus=INACTIVE&newAutoRegistrationStatus=DISABLE", "");
		CU_ASSERT_EQUAL(jitrd_iot_update_ca_certificate(f.session, deadline(), CA,
		                                                JITRD_IOT_STATUS_NONE, 1, &res,
		                                                &diag),
		                JITRD_OK);
		assert_request("PUT", "/cacertificate/" CA, "newAutoRegistrationStatus=ENABLE", "");

		answer(200, "{\"registrationCode\":\"" CERT "\"}");
		CU_ASSERT_EQUAL(
		    jitrd_iot_get_registration_code(f.session, deadline(), code, &res, &diag),
		    JITRD_OK);
		assert_request("GET", "/registrationcode", "", "");
		CU_ASSERT_STRING_EQUAL(code, CERT);
	}
	fixture_close(&f);
}

static int collect_policy(void *ctx, const char *name, const char *arn)
{
	char *out = ctx;

	(void)arn;
	strncat(out, name, 200 - strlen(out) - 2);
	strncat(out, ",", 200 - strlen(out) - 1);
	return 0;
}

static void use_execute_api(struct jitrd_iot_client_options *o)
{
	o->signing_name = "execute-api";
}

static void test_shapes_policies_things(void)
{
	struct fixture f;
	struct jitrd_iot_policy pol;
	struct jitrd_iot_thing thing;
	struct jitrd_iot_result res;
	struct jitrd_diag diag = {{0}};
	char names[200] = "";

	/* execute-api signing and a session token, as the v2 CLI and a role would sign. */
	CU_ASSERT_FATAL(fixture_open(&f, stub_url(server), env_token, use_execute_api) == 0);
	answer(200, "{\"policyName\":\"dev+1@x\",\"policyArn\":\"arn:p\",\"policyDocument\":\"{}\","
	            "\"policyVersionId\":\"1\"}");
	CU_ASSERT_EQUAL(jitrd_iot_create_policy(f.session, deadline(), "dev+1@x",
	                                        "{\"Version\":\"2012-10-17\",\"Statement\":[]}",
	                                        &pol, &res, &diag),
	                JITRD_OK);
	assert_request(
	    "POST", "/policies/dev%2B1%40x", "",
	    "{\"policyDocument\":\"{\\\"Version\\\":\\\"2012-10-17\\\",\\\"Statement\\\":"
	    "[]}\"}");
	CU_ASSERT(stub_header(&sv.last, "X-Amz-Security-Token") &&
	          strcmp(stub_header(&sv.last, "X-Amz-Security-Token"), TOKEN) == 0);
	CU_ASSERT_STRING_EQUAL(pol.policy_name, "dev+1@x");
	CU_ASSERT_STRING_EQUAL(pol.version_id, "1");
	CU_ASSERT_STRING_EQUAL(pol.policy_document, "{}");
	jitrd_iot_policy_cleanup(&pol);

	answer(200,
	       "{\"policyName\":\"p\",\"policyArn\":\"arn:p\",\"policyDocument\":\"{\\\"a\\\":1}\","
	       "\"defaultVersionId\":\"3\",\"creationDate\":1.5E9,\"generationId\":\"g\"}");
	CU_ASSERT_EQUAL(jitrd_iot_get_policy(f.session, deadline(), "p", &pol, &res, &diag),
	                JITRD_OK);
	assert_request("GET", "/policies/p", "", "");
	CU_ASSERT_STRING_EQUAL(pol.policy_document, "{\"a\":1}");
	CU_ASSERT_STRING_EQUAL(pol.version_id, "3");
	jitrd_iot_policy_cleanup(&pol);

	answer(200, "");
	CU_ASSERT_EQUAL(jitrd_iot_attach_policy(f.session, deadline(), "p", ARN, &res, &diag),
	                JITRD_OK);
	assert_request("PUT", "/target-policies/p", "", "{\"target\":\"" ARN "\"}");

	answer(200, "{\"policies\":[{\"policyName\":\"a\",\"policyArn\":\"x\"},{\"policyName\":"
	            "\"b\"}]}");
	CU_ASSERT_EQUAL(jitrd_iot_list_attached_policies(f.session, deadline(), ARN, collect_policy,
	                                                 names, &res, &diag),
	                JITRD_OK);
	assert_request(
	    "POST", "/attached-policies/arn%3Aaws%3Aiot%3Aus-east-1%3A123456789012%3Acert%2F" CERT,
	    "", "");
	CU_ASSERT_STRING_EQUAL(names, "a,b,");

	answer(200, "{\"thingName\":\"dev:1_a-b\",\"thingArn\":\"arn:t\",\"thingId\":\"id-1\"}");
	CU_ASSERT_EQUAL(
	    jitrd_iot_create_thing(f.session, deadline(), "dev:1_a-b", &thing, &res, &diag),
	    JITRD_OK);
	assert_request("POST", "/things/dev%3A1_a-b", "", "{}");
	CU_ASSERT_STRING_EQUAL(thing.thing_id, "id-1");

	answer(200, "{\"defaultClientId\":\"t\",\"thingName\":\"t\",\"thingId\":\"i\",\"thingArn\":"
	            "\"arn:t\",\"attributes\":{},\"version\":7}");
	CU_ASSERT_EQUAL(jitrd_iot_describe_thing(f.session, deadline(), "t", &thing, &res, &diag),
	                JITRD_OK);
	assert_request("GET", "/things/t", "", "");
	CU_ASSERT_EQUAL(thing.version, 7);

	answer(200, "{}");
	CU_ASSERT_EQUAL(
	    jitrd_iot_attach_thing_principal(f.session, deadline(), "t", ARN, &res, &diag),
	    JITRD_OK);
	assert_request("PUT", "/things/t/principals", "", "");
	CU_ASSERT(stub_header(&sv.last, "x-amzn-principal") &&
	          strcmp(stub_header(&sv.last, "x-amzn-principal"), ARN) == 0);
	/* All on one kept-alive connection. */
	CU_ASSERT_EQUAL(stub_connections(server) > 0, 1);
	fixture_close(&f);
}

/* ---- policy versions: request shapes, answers, bad answers ---- */

static void test_policy_versions(void)
{
	static const char *const bad_lists[] = {
	    "{}",
	    "{\"policyVersions\":{}}",
	    "{\"policyVersions\":[7]}",
	    "{\"policyVersions\":[{\"isDefaultVersion\":true}]}",
	    "{\"policyVersions\":[{\"versionId\":\"1a\"}]}",
	    "{\"policyVersions\":[{\"versionId\":\"\"}]}",
	    "{\"policyVersions\":[{\"versionId\":\"1234567890123456\"}]}",
	    "{\"policyVersions\":[{\"versionId\":\"1\",\"isDefaultVersion\":\"true\"}]}",
	    "{\"policyVersions\":[{\"versionId\":\"1\",\"createDate\":\"today\"}]}",
	    "{\"policyVersions\":[{\"versionId\":\"1\",\"isDefaultVersion\":true},"
	    "{\"versionId\":\"2\",\"isDefaultVersion\":true}]}",
	    "{\"policyVersions\":[{\"versionId\":\"1\"},{\"versionId\":\"2\"},{\"versionId\":\"3\"}"
	    ","
	    "{\"versionId\":\"4\"},{\"versionId\":\"5\"},{\"versionId\":\"6\"},{\"versionId\":"
	    "\"7\"},"
	    "{\"versionId\":\"8\"},{\"versionId\":\"9\"},{\"versionId\":\"10\"},{\"versionId\":"
	    "\"11\"},{\"versionId\":\"12\"},{\"versionId\":\"13\"},{\"versionId\":\"14\"},"
	    "{\"versionId\":\"15\"},{\"versionId\":\"16\"},{\"versionId\":\"17\"}]}",
	};
	struct fixture f;
	struct jitrd_iot_policy pol;
	struct jitrd_iot_policy_versions list;
	struct jitrd_iot_result res;
	struct jitrd_diag diag = {{0}};

	CU_ASSERT_FATAL(fixture_open(&f, stub_url(server), env_plain, NULL) == 0);
	answer(200, "{\"policyArn\":\"arn:p\",\"policyDocument\":\"{}\",\"policyVersionId\":\"4\","
	            "\"isDefaultVersion\":true}");
	CU_ASSERT_EQUAL(jitrd_iot_create_policy_version(f.session, deadline(), "dev+1@x", "{}", 1,
	                                                &pol, &res, &diag),
	                JITRD_OK);
	assert_request("POST", "/policies/dev%2B1%40x/version", "setAsDefault=true",
	               "{\"policyDocument\":\"{}\"}");
	CU_ASSERT_STRING_EQUAL(pol.policy_name, "dev+1@x");
	CU_ASSERT_STRING_EQUAL(pol.version_id, "4");
	CU_ASSERT_STRING_EQUAL(pol.policy_arn, "arn:p");
	jitrd_iot_policy_cleanup(&pol);
	answer(200, "{\"policyVersionId\":\"5\"}");
	CU_ASSERT_EQUAL(
	    jitrd_iot_create_policy_version(f.session, deadline(), "p", "{}", 0, NULL, &res, &diag),
	    JITRD_OK);
	assert_request("POST", "/policies/p/version", "setAsDefault=false",
	               "{\"policyDocument\":\"{}\"}");
	/* a version id that is not [0-9]+ is a bad answer */
	memset(&pol, 0x5a, sizeof(pol));
	answer(200, "{\"policyVersionId\":\"../1\"}");
	CU_ASSERT_EQUAL(
	    jitrd_iot_create_policy_version(f.session, deadline(), "p", "{}", 1, &pol, &res, &diag),
	    JITRD_ERR_BAD_RESPONSE);
	CU_ASSERT_EQUAL((unsigned char)pol.policy_name[0], 0x5a);

	answer(200, "{\"policyVersions\":[{\"versionId\":\"3\",\"isDefaultVersion\":true,"
	            "\"createDate\":1.7E9},{\"versionId\":\"2\",\"isDefaultVersion\":false,"
	            "\"createDate\":1.6E9},{\"versionId\":\"1\"}]}");
	CU_ASSERT_EQUAL(
	    jitrd_iot_list_policy_versions(f.session, deadline(), "p", &list, &res, &diag),
	    JITRD_OK);
	assert_request("GET", "/policies/p/version", "", "");
	CU_ASSERT_EQUAL(list.count, 3);
	CU_ASSERT_STRING_EQUAL(list.versions[0].version_id, "3");
	CU_ASSERT_EQUAL(list.versions[0].is_default, 1);
	CU_ASSERT_EQUAL(list.versions[1].is_default, 0);
	CU_ASSERT_EQUAL(list.versions[1].create_date, 1.6e9);
	CU_ASSERT_EQUAL(list.versions[2].create_date, 0);
	for (size_t i = 0; i < sizeof(bad_lists) / sizeof(bad_lists[0]); i++) {
		memset(&list, 0x5a, sizeof(list));
		answer(200, bad_lists[i]);
		CU_ASSERT_EQUAL(
		    jitrd_iot_list_policy_versions(f.session, deadline(), "p", &list, &res, &diag),
		    JITRD_ERR_BAD_RESPONSE);
		CU_ASSERT_EQUAL((unsigned char)list.versions[0].version_id[0], 0x5a);
		CU_ASSERT(strstr(diag.text, "policyVersions") != NULL);
	}

	answer(200, "");
	CU_ASSERT_EQUAL(
	    jitrd_iot_delete_policy_version(f.session, deadline(), "p", "12", &res, &diag),
	    JITRD_OK);
	assert_request("DELETE", "/policies/p/version/12", "", "");
	answer(409, "{\"message\":\"default\"}");
	CU_ASSERT_EQUAL(
	    jitrd_iot_delete_policy_version(f.session, deadline(), "p", "3", &res, &diag),
	    JITRD_ERR_API);
	CU_ASSERT_EQUAL(res.http_status, 409);
	/* hostile version ids and names: nothing sent */
	{
		static const char *const bad_ids[] = {
		    "", "1/2", "..", "-1", "1 ", "0x1", "1234567890123456"};
		unsigned before = (unsigned)(sv.signed_ok + sv.bad_signatures);

		for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++)
			CU_ASSERT_EQUAL(jitrd_iot_delete_policy_version(f.session, deadline(), "p",
			                                                bad_ids[i], &res, &diag),
			                JITRD_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(
		    jitrd_iot_delete_policy_version(f.session, deadline(), "a/b", "1", &res, &diag),
		    JITRD_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(
		    jitrd_iot_delete_policy_version(f.session, deadline(), "p", NULL, &res, &diag),
		    JITRD_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(jitrd_iot_create_policy_version(f.session, deadline(), "p", "", 1,
		                                                NULL, &res, &diag),
		                JITRD_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL((unsigned)(sv.signed_ok + sv.bad_signatures), before);
	}
	fixture_close(&f);
}

static void test_keep_alive(void)
{
	struct fixture f;
	struct jitrd_iot_result res;
	int before = stub_connections(server);

	CU_ASSERT_FATAL(fixture_open(&f, stub_url(server), env_plain, NULL) == 0);
	answer(200, "");
	for (int i = 0; i < 20; i++)
		CU_ASSERT_EQUAL(jitrd_iot_update_certificate(f.session, deadline(), CERT,
		                                             JITRD_IOT_REVOKED, &res, NULL),
		                JITRD_OK);
	assert_request("PUT", "/certificates/" CERT, "newStatus=REVOKED", "");
	CU_ASSERT_EQUAL(stub_connections(server) - before, 1);
	fixture_close(&f);
}

/* A loopback http endpoint is reached directly whatever proxy the environment names: a
 * signed request (and a session token) never goes to a proxy. */
static void test_loopback_endpoint_bypasses_proxy(void)
{
	struct fixture f;
	struct jitrd_iot_result res;

	CU_ASSERT_EQUAL_FATAL(tsupport_dead_proxy_set(), 0);
	CU_ASSERT_FATAL(fixture_open(&f, stub_url(server), env_plain, NULL) == 0);
	answer(200, "");
	CU_ASSERT_EQUAL(jitrd_iot_update_certificate(f.session, deadline(), CERT, JITRD_IOT_REVOKED,
	                                             &res, NULL),
	                JITRD_OK);
	assert_request("PUT", "/certificates/" CERT, "newStatus=REVOKED", "");
	fixture_close(&f);
	tsupport_dead_proxy_clear();
}

/* ---- pagination ---- */

struct certs {
	int n;
	int stop_at;
	enum jitrd_iot_status last;
};

static int collect_cert(void *ctx, const struct jitrd_iot_cert_summary *c)
{
	struct certs *cs = ctx;

	cs->n++;
	cs->last = c->status;
	return cs->stop_at && cs->n == cs->stop_at;
}

static void test_pagination(void)
{
	struct fixture f;
	struct jitrd_iot_result res;
	struct jitrd_diag diag = {{0}};
	struct certs cs = {0};

	CU_ASSERT_FATAL(fixture_open(&f, stub_url(server), env_plain, NULL) == 0);
	answer(200, "");
	sv.pages = 1;
	CU_ASSERT_EQUAL(jitrd_iot_list_certificates_by_ca(f.session, deadline(), CA, 2, 0,
	                                                  collect_cert, &cs, &res, &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL(cs.n, 5);
	CU_ASSERT_EQUAL(cs.last, JITRD_IOT_ACTIVE);
	CU_ASSERT_EQUAL(res.attempts, 3);
	CU_ASSERT_STRING_EQUAL(sv.last.path, "/certificates-by-ca/" CA);
	CU_ASSERT_STRING_EQUAL(sv.last.query, "marker=3&pageSize=2");
	CU_ASSERT_EQUAL(sv.bad_signatures, 0);
	/* The callback stops early. */
	memset(&cs, 0, sizeof(cs));
	cs.stop_at = 3;
	CU_ASSERT_EQUAL(jitrd_iot_list_certificates_by_ca(f.session, deadline(), CA, 0, 0,
	                                                  collect_cert, &cs, &res, &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL(cs.n, 3);
	/* The cap on items. */
	memset(&cs, 0, sizeof(cs));
	CU_ASSERT_EQUAL(jitrd_iot_list_certificates_by_ca(f.session, deadline(), CA, 0, 4,
	                                                  collect_cert, &cs, &res, &diag),
	                JITRD_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(cs.n, 4);
	/* A service repeating its marker is a loop, not forever. */
	sv.pages = 2;
	memset(&cs, 0, sizeof(cs));
	CU_ASSERT_EQUAL(jitrd_iot_list_certificates_by_ca(f.session, deadline(), CA, 0, 0,
	                                                  collect_cert, &cs, &res, &diag),
	                JITRD_ERR_BAD_RESPONSE);
	CU_ASSERT_EQUAL(res.attempts, 2);
	sv.pages = 0;
	/* A page is checked whole before its entries are handed out: good entries beside a token
	 * of the wrong type reach no callback, in each of the three list operations. */
	answer(200, "{\"certificates\":[{\"certificateId\":\"" CERT "\",\"status\":\"ACTIVE\"}],"
	            "\"nextMarker\":7}");
	memset(&cs, 0, sizeof(cs));
	CU_ASSERT_EQUAL(jitrd_iot_list_certificates_by_ca(f.session, deadline(), CA, 0, 0,
	                                                  collect_cert, &cs, &res, &diag),
	                JITRD_ERR_BAD_RESPONSE);
	CU_ASSERT_EQUAL(cs.n, 0);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(diag.text, "ListCertificatesByCA: response member nextMarker"));
	{
		char names[200] = "";

		answer(200, "{\"policies\":[{\"policyName\":\"a\"}],\"nextMarker\":[\"m\"]}");
		CU_ASSERT_EQUAL(jitrd_iot_list_attached_policies(
				    f.session, deadline(), ARN, collect_policy, names, &res, &diag),
		                JITRD_ERR_BAD_RESPONSE);
		CU_ASSERT_STRING_EQUAL(names, "");
		CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "ListAttachedPolicies: response member "
		                                         "nextMarker"));
		/* and a well-formed last page is delivered whole */
		answer(200, "{\"policies\":[{\"policyName\":\"a\"},{\"policyName\":\"b\"}],"
		            "\"nextMarker\":null}");
		CU_ASSERT_EQUAL(jitrd_iot_list_attached_policies(
				    f.session, deadline(), ARN, collect_policy, names, &res, &diag),
		                JITRD_OK);
		CU_ASSERT_STRING_EQUAL(names, "a,b,");
	}
	fixture_close(&f);
}

/* ---- errors and retries ---- */

static void test_error_mapping(void)
{
	static const struct {
		struct scripted step;
		const char *code, *message;
	} cases[] = {
	    {{404, "ResourceNotFoundException:http://internal.amazon.com/",
	      "{\"message\":\"gone\"}", 0},
	     "ResourceNotFoundException",
	     "gone"},
	    {{400, NULL,
	      "{\"__type\":\"com.amazonaws.iot#InvalidRequestException\",\"Message\":"
	      "\"bad\\u0001id\"}",
	      0},
	     "InvalidRequestException",
	     "bad\\x01id"},
	    {{409, NULL, "{\"code\":\"CertificateStateException\",\"message\":7}", 0},
	     "CertificateStateException",
	     ""},
	    {{403, NULL, "<html>denied</html>", 0}, "", ""},
	    {{400, "ResourceAlreadyExistsException", "", 0}, "ResourceAlreadyExistsException", ""},
	};
	struct fixture f;

	CU_ASSERT_FATAL(fixture_open(&f, stub_url(server), env_plain, NULL) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_iot_certificate cert;
		struct jitrd_iot_result res;
		struct jitrd_diag diag = {{0}};

		memset(&cert, 0x5a, sizeof(cert));
		script(1, &cases[i].step);
		CU_ASSERT_EQUAL(
		    jitrd_iot_describe_certificate(f.session, deadline(), CERT, &cert, &res, &diag),
		    JITRD_ERR_API);
		CU_ASSERT_EQUAL(res.http_status, cases[i].step.status);
		CU_ASSERT_STRING_EQUAL(res.code, cases[i].code);
		CU_ASSERT_STRING_EQUAL(res.message, cases[i].message);
		CU_ASSERT_EQUAL(res.attempts, 1); /* final: not retried */
		CU_ASSERT_EQUAL((unsigned char)cert.certificate_id[0], 0x5a);
		CU_ASSERT(strstr(diag.text, "DescribeCertificate") != NULL);
		CU_ASSERT(strstr(diag.text, SECRET) == NULL);
	}
	fixture_close(&f);
}

static void test_retry_then_success(void)
{
	static const struct scripted s500[] = {
	    {500, "InternalFailureException", "{}", 0}, {503, NULL, "", 0}, {200, NULL, "", 0}};
	static const struct scripted s429[] = {{429, NULL, "{\"message\":\"slow\"}", 0},
	                                       {200, NULL, "", 0}};
	static const struct scripted sthr[] = {
	    {400, "ThrottlingException",
	     "{\"message\":\"Rate "
	     "exceeded\"}",
	     0},
	    {400, NULL, "{\"__type\":\"TooManyRequestsException\"}", 0},
	    {200, NULL, "", 0}};
	static const struct {
		const struct scripted *steps;
		int n;
	} cases[] = {{s500, 3}, {s429, 2}, {sthr, 3}};
	struct fixture f;

	CU_ASSERT_FATAL(fixture_open(&f, stub_url(server), env_plain, NULL) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_iot_result res;
		struct jitrd_diag diag = {{0}};

		script(cases[i].n, cases[i].steps);
		CU_ASSERT_EQUAL(jitrd_iot_update_certificate(f.session, deadline(), CERT,
		                                             JITRD_IOT_ACTIVE, &res, &diag),
		                JITRD_OK);
		CU_ASSERT_EQUAL(res.attempts, (unsigned)cases[i].n);
		CU_ASSERT_EQUAL(res.http_status, 200);
		CU_ASSERT_STRING_EQUAL(res.code, "");
		CU_ASSERT_EQUAL(sv.bad_signatures, 0); /* every retry signed afresh */
	}
	fixture_close(&f);
}

static void attempts_4(struct jitrd_iot_client_options *o)
{
	o->backoff.max_attempts = 4;
}

static void many_attempts(struct jitrd_iot_client_options *o)
{
	o->backoff.max_attempts = 1000;
	o->backoff.base_ms = 20;
	o->backoff.cap_ms = 100;
}

static void test_throttled_forever(void)
{
	static const struct scripted thr = {400, "ThrottlingException", "{}", 0};
	struct fixture f;
	struct jitrd_iot_result res;
	struct jitrd_diag diag = {{0}};
	int64_t start, end;

	/* Bounded by attempts. */
	CU_ASSERT_FATAL(fixture_open(&f, stub_url(server), env_plain, attempts_4) == 0);
	script(1, &thr);
	CU_ASSERT_EQUAL(jitrd_iot_update_certificate(f.session, deadline(), CERT, JITRD_IOT_ACTIVE,
	                                             &res, &diag),
	                JITRD_ERR_THROTTLED);
	CU_ASSERT_EQUAL(res.attempts, 4);
	CU_ASSERT_STRING_EQUAL(res.code, "ThrottlingException");
	CU_ASSERT_EQUAL(res.http_status, 400);
	fixture_close(&f);
	/* Bounded by the deadline: 400 ms, however many attempts are allowed. */
	CU_ASSERT_FATAL(fixture_open(&f, stub_url(server), env_plain, many_attempts) == 0);
	script(1, &thr);
	start = jitrd_iot_deadline_in(0);
	CU_ASSERT_EQUAL(jitrd_iot_update_certificate(f.session, jitrd_iot_deadline_in(400), CERT,
	                                             JITRD_IOT_ACTIVE, &res, &diag),
	                JITRD_ERR_THROTTLED);
	end = jitrd_iot_deadline_in(0);
	/* Without the deadline the 1000 attempts would take tens of seconds. The margin over
	 * 400 ms is for the scheduler of a loaded machine under a sanitizer build, where 50 ms
	 * was once exceeded; 600 ms is still far below what the attempts alone would take. */
	CU_ASSERT(end - start <= 400 + 200);
	CU_ASSERT(res.attempts >= 2 && res.attempts < 100);
	/* A deadline already past: nothing is sent. */
	CU_ASSERT_EQUAL(jitrd_iot_update_certificate(f.session, jitrd_iot_deadline_in(-1), CERT,
	                                             JITRD_IOT_ACTIVE, &res, &diag),
	                JITRD_ERR_DEADLINE);
	CU_ASSERT_EQUAL(res.attempts, 0);
	fixture_close(&f);
}

static void short_timeout(struct jitrd_iot_client_options *o)
{
	o->request_timeout_ms = 200;
	o->backoff.max_attempts = 2;
}

static void test_slow_server_times_out(void)
{
	static const struct scripted slow = {200, NULL, "", 1500};
	struct fixture f;
	struct jitrd_iot_result res;
	struct jitrd_diag diag = {{0}};
	int64_t start = jitrd_iot_deadline_in(0);

	CU_ASSERT_FATAL(fixture_open(&f, stub_url(server), env_plain, short_timeout) == 0);
	script(1, &slow);
	CU_ASSERT_EQUAL(jitrd_iot_update_certificate(f.session, deadline(), CERT, JITRD_IOT_ACTIVE,
	                                             &res, &diag),
	                JITRD_ERR_TIMEOUT);
	CU_ASSERT_EQUAL(res.attempts, 2);
	CU_ASSERT(jitrd_iot_deadline_in(0) - start < 1000);
	CU_ASSERT(strstr(diag.text, "UpdateCertificate") != NULL);
	fixture_close(&f);
}

/* ---- a misbehaving server ---- */

static void test_misbehaving_server(void)
{
	static char oversized[1024 * 1024 + 512];
	static const struct {
		struct raw_script script;
		enum jitrd_err want;
		const char *what;
	} cases[] = {
	    /* Content-Length promises more than is sent, then the connection closes. */
	    {{"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
	      "{\"certificateDescription\":",
	      0, 0, 0, 0},
	     JITRD_ERR_BAD_RESPONSE,
	     "truncated"},
	    {{"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nnot json!", 0, 0, 0, 0},
	     JITRD_ERR_BAD_RESPONSE,
	     "non-JSON"},
	    /* Content-Length shorter than the JSON: a cut document. */
	    {{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{\"certificateDescription\":{}}", 0, 0,
	      0, 0},
	     JITRD_ERR_BAD_RESPONSE,
	     "short content-length"},
	    {{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]", 0, 0, 0, 0},
	     JITRD_ERR_BAD_RESPONSE,
	     "JSON but not an object"},
	    {{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 0, 0, 0, 0},
	     JITRD_ERR_BAD_RESPONSE,
	     "missing members"},
	    {{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, 0, 0, 0},
	     JITRD_ERR_NETWORK,
	     "bad chunking"}, /* curl reports it as a receive error */
	    {{"garbage\r\n\r\n", 0, 0, 0, 0}, JITRD_ERR_BAD_RESPONSE, "not HTTP"},
	    {{NULL, 0, 0, 1, 0}, JITRD_ERR_NETWORK, "reset"},
	    {{NULL, 0, 0, 0, 0}, JITRD_ERR_NETWORK, "empty reply"},
	    {{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{", 0, 0, 1, 0},
	     JITRD_ERR_NETWORK,
	     "reset mid-body"},
	    {{NULL, 0, 3000, 0, 0}, JITRD_ERR_TIMEOUT, "slow"},
	    {{oversized, 0, 0, 0, 0}, JITRD_ERR_BAD_RESPONSE, "oversized"},
	};
	int n;

	n = snprintf(oversized, sizeof(oversized),
	             "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n\"", 1024 * 1024 + 100);
	memset(oversized + n, 'A', sizeof(oversized) - (size_t)n - 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct raw_server *raw = raw_start(&cases[i].script);
		struct fixture f;
		struct jitrd_iot_certificate cert;
		struct jitrd_iot_result res;
		struct jitrd_diag diag = {{0}};
		enum jitrd_err err;

		CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
		CU_ASSERT_FATAL(fixture_open(&f, raw_url(raw), env_plain, short_timeout) == 0);
		memset(&cert, 0x5a, sizeof(cert));
		err = jitrd_iot_describe_certificate(f.session, jitrd_iot_deadline_in(3000), CERT,
		                                     &cert, &res, &diag);
		if (err != cases[i].want)
			fprintf(stderr, "%s: got %s (%s)\n", cases[i].what, jitrd_strerror(err),
			        diag.text);
		CU_ASSERT_EQUAL(err, cases[i].want);
		CU_ASSERT_EQUAL((unsigned char)cert.certificate_id[0], 0x5a);
		CU_ASSERT(diag.text[0] != '\0');
		/* Transient failures are retried (2 attempts here); bad answers are not. */
		CU_ASSERT_EQUAL(res.attempts, cases[i].want == JITRD_ERR_BAD_RESPONSE ? 1u : 2u);
		fixture_close(&f);
		raw_stop(raw);
	}
}

static void test_bad_members(void)
{
	static const char *const bodies[] = {
	    "{\"certificateDescription\":{\"certificateId\":\"" CERT "\",\"status\":\"WEIRD\","
	    "\"certificatePem\":\"x\"}}",
	    "{\"certificateDescription\":{\"certificateId\":\"" CERT "\",\"status\":\"ACTIVE\","
	    "\"certificatePem\":7}}",
	    "{\"certificateDescription\":{\"certificateId\":\"abc\",\"status\":\"ACTIVE\","
	    "\"certificatePem\":\"x\"}}",
	    "{\"certificateDescription\":{\"certificateId\":\"" CERT "\",\"status\":\"ACTIVE\"}}",
	    "{\"certificateDescription\":{\"certificateId\":\"" CERT "\",\"status\":\"ACTIVE\","
	    "\"certificatePem\":\"x\",\"ownedBy\":\"1234567890123\"}}",
	    "{\"certificateDescription\":[]}",
	    "{\"certificateDescription\":{\"certificateId\":\"" CERT "\",\"status\":\"ACTIVE\","
	    "\"certificatePem\":\"x\",\"creationDate\":\"yesterday\"}}",
	};
	struct fixture f;

	CU_ASSERT_FATAL(fixture_open(&f, stub_url(server), env_plain, NULL) == 0);
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct jitrd_iot_certificate cert;
		struct jitrd_iot_result res;
		struct jitrd_diag diag = {{0}};

		memset(&cert, 0x5a, sizeof(cert));
		answer(200, bodies[i]);
		CU_ASSERT_EQUAL(
		    jitrd_iot_describe_certificate(f.session, deadline(), CERT, &cert, &res, &diag),
		    JITRD_ERR_BAD_RESPONSE);
		CU_ASSERT_EQUAL((unsigned char)cert.certificate_id[0], 0x5a);
		CU_ASSERT(strstr(diag.text, "response member") != NULL);
	}
	fixture_close(&f);
}

/* ---- Thing attributes and principals: request shapes, answers, bad answers ---- */

struct principals {
	char joined[256];
	int n;
};

static int collect_principal(void *ctx, const char *principal)
{
	struct principals *p = ctx;
	size_t used = strlen(p->joined);

	snprintf(p->joined + used, sizeof(p->joined) - used, "%s,", principal);
	p->n++;
	return 0;
}

static void test_thing_attributes_and_principals(void)
{
	static const char *const bad_attributes[] = {
	    "{\"thingName\":\"t\",\"attributes\":{\"jitrd_ca\":7}}",
	    "{\"thingName\":\"t\",\"attributes\":[\"jitrd_ca\"]}",
	    "{\"thingName\":\"t\",\"attributes\":{\"jitrd_ca\":null}}",
	    "{\"attributes\":{\"jitrd_ca\":\"abc\"}}", /* no thingName */
	};
	static const char *const bad_principals[] = {
	    "{\"principals\":\"arn\"}",
	    "{\"principals\":[7]}",
	    "{\"principals\":[\"arn\\u0000x\"]}",
	    "{\"principals\":[\"arn\\r\\nX: 1\"]}",
	    "{\"nextToken\":\"t\"}",
	    "{\"principals\":[],\"nextToken\":7}",
	};
	struct jitrd_iot_attribute marker = {"jitrd_ca", "abc:1/2=[x]"};
	struct jitrd_iot_attribute four[4] = {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}};
	struct jitrd_iot_attribute bad_value = {"jitrd_ca", "a b"};
	struct jitrd_iot_attribute bad_name = {"jitrd ca", "x"};
	struct jitrd_iot_result res;
	struct jitrd_diag diag = {{0}};
	struct jitrd_iot_thing thing;
	struct principals p;
	char value[JITRD_IOT_MAX_ATTRIBUTE_VALUE + 1], *long_value;
	int present, before;
	struct fixture f;

	CU_ASSERT_FATAL(fixture_open(&f, stub_url(server), env_plain, NULL) == 0);
	answer(200, "{\"thingName\":\"t\",\"thingArn\":\"arn:t\",\"thingId\":\"id-1\"}");
	CU_ASSERT_EQUAL(jitrd_iot_create_thing_with_attributes(f.session, deadline(), "t", &marker,
	                                                       1, &thing, &res, &diag),
	                JITRD_OK);
	assert_request("POST", "/things/t", "",
	               "{\"attributePayload\":{\"attributes\":{\"jitrd_ca\":\"abc:1/2=[x]\"}}}");
	CU_ASSERT_STRING_EQUAL(thing.thing_id, "id-1");

	answer(200, "{\"thingName\":\"t\",\"attributes\":{\"site\":\"lab\",\"jitrd_ca\":\"abc\"}}");
	present = -1;
	CU_ASSERT_EQUAL(jitrd_iot_describe_thing_attribute(f.session, deadline(), "t", "jitrd_ca",
	                                                   value, sizeof(value), &present, &res,
	                                                   &diag),
	                JITRD_OK);
	assert_request("GET", "/things/t", "", "");
	CU_ASSERT_EQUAL(present, 1);
	CU_ASSERT_STRING_EQUAL(value, "abc");
	answer(200, "{\"thingName\":\"t\",\"attributes\":{}}");
	CU_ASSERT_EQUAL(jitrd_iot_describe_thing_attribute(f.session, deadline(), "t", "jitrd_ca",
	                                                   value, sizeof(value), &present, &res,
	                                                   &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL(present, 0);
	CU_ASSERT_STRING_EQUAL(value, "");
	answer(200, "{\"thingName\":\"t\"}");
	present = -1;
	CU_ASSERT_EQUAL(jitrd_iot_describe_thing_attribute(f.session, deadline(), "t", "jitrd_ca",
	                                                   value, sizeof(value), &present, &res,
	                                                   &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL(present, 0);
	for (size_t i = 0; i < sizeof(bad_attributes) / sizeof(bad_attributes[0]); i++) {
		answer(200, bad_attributes[i]);
		present = -1;
		CU_ASSERT_EQUAL(jitrd_iot_describe_thing_attribute(f.session, deadline(), "t",
		                                                   "jitrd_ca", value, sizeof(value),
		                                                   &present, &res, &diag),
		                JITRD_ERR_BAD_RESPONSE);
		CU_ASSERT_EQUAL(present, -1);
	}
	/* a value over AWS's 800 characters */
	long_value = malloc(1000);
	CU_ASSERT_FATAL(long_value != NULL);
	{
		static const char head[] = "{\"thingName\":\"t\",\"attributes\":{\"jitrd_ca\":\"";
		size_t n = sizeof(head) - 1;
		memcpy(long_value, head, n);
		memset(long_value + n, 'a', 801);
		memcpy(long_value + n + 801, "\"}}", 4);
	}
	answer(200, long_value);
	CU_ASSERT_EQUAL(jitrd_iot_describe_thing_attribute(f.session, deadline(), "t", "jitrd_ca",
	                                                   value, sizeof(value), &present, &res,
	                                                   &diag),
	                JITRD_ERR_BAD_RESPONSE);
	free(long_value);

	/* two pages, the token carried */
	{
		struct scripted pages[] = {
		    {200, NULL, "{\"principals\":[\"arn:a\",\"arn:b\"],\"nextToken\":\"t/1\"}", 0},
		    {200, NULL, "{\"principals\":[\"arn:c\"]}", 0},
		};
		script(2, pages);
	}
	memset(&p, 0, sizeof(p));
	CU_ASSERT_EQUAL(jitrd_iot_list_thing_principals(f.session, deadline(), "t",
	                                                collect_principal, &p, &res, &diag),
	                JITRD_OK);
	CU_ASSERT_STRING_EQUAL(p.joined, "arn:a,arn:b,arn:c,");
	CU_ASSERT_EQUAL(res.attempts, 2);
	assert_request("GET", "/things/t/principals", "nextToken=t%2F1&maxResults=250", "");
	/* a service repeating its token is a loop */
	answer(200, "{\"principals\":[],\"nextToken\":\"same\"}");
	CU_ASSERT_EQUAL(jitrd_iot_list_thing_principals(f.session, deadline(), "t",
	                                                collect_principal, &p, &res, &diag),
	                JITRD_ERR_BAD_RESPONSE);
	for (size_t i = 0; i < sizeof(bad_principals) / sizeof(bad_principals[0]); i++) {
		answer(200, bad_principals[i]);
		memset(&p, 0, sizeof(p));
		CU_ASSERT_EQUAL(jitrd_iot_list_thing_principals(f.session, deadline(), "t",
		                                                collect_principal, &p, &res, &diag),
		                JITRD_ERR_BAD_RESPONSE);
		CU_ASSERT_EQUAL(p.n, 0);
	}

	/* inputs outside AWS's patterns send nothing */
	before = stub_requests(server);
	CU_ASSERT_EQUAL(jitrd_iot_create_thing_with_attributes(f.session, deadline(), "t", four, 4,
	                                                       NULL, &res, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_iot_create_thing_with_attributes(f.session, deadline(), "t",
	                                                       &bad_value, 1, NULL, &res, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_iot_create_thing_with_attributes(f.session, deadline(), "t",
	                                                       &bad_name, 1, NULL, &res, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_iot_describe_thing_attribute(f.session, deadline(), "t", "jitrd_ca",
	                                                   value, 10, &present, &res, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_iot_list_thing_principals(f.session, deadline(), "a/b",
	                                                collect_principal, &p, &res, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(stub_requests(server), before);
	fixture_close(&f);
}

/* ---- inputs, configuration, rate limits, credentials ---- */

static void test_invalid_inputs_send_nothing(void)
{
	struct fixture f;
	struct jitrd_iot_result res;
	struct jitrd_iot_certificate cert;
	struct jitrd_iot_policy policy = {0};
	int before;

	CU_ASSERT_FATAL(fixture_open(&f, stub_url(server), env_plain, NULL) == 0);
	answer(200, "");
	before = stub_requests(server);
	CU_ASSERT_EQUAL(
	    jitrd_iot_describe_certificate(f.session, deadline(), "abc", &cert, &res, NULL),
	    JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(
	    jitrd_iot_describe_certificate(f.session, deadline(), CERT "0", &cert, &res, NULL),
	    JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_iot_update_certificate(f.session, deadline(), CERT,
	                                             JITRD_IOT_STATUS_NONE, &res, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(
	    jitrd_iot_create_policy(f.session, deadline(), "a/b", "{}", NULL, &res, NULL),
	    JITRD_ERR_INVALID_ARG);
	/* dot-segments: /policies/.. would be /, another resource */
	CU_ASSERT_EQUAL(jitrd_iot_get_policy(f.session, deadline(), "..", &policy, &res, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_iot_create_policy(f.session, deadline(), ".", "{}", NULL, &res, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_iot_create_thing(f.session, deadline(), "a b", NULL, &res, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_iot_attach_thing_principal(f.session, deadline(), "t",
	                                                 "arn\r\nX-Evil: 1", &res, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_iot_update_ca_certificate(f.session, deadline(), CA,
	                                                JITRD_IOT_REVOKED, -1, &res, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_iot_list_certificates_by_ca(f.session, deadline(), CA, 251, 0,
	                                                  collect_cert, NULL, &res, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(stub_requests(server), before);
	fixture_close(&f);
}

static void test_endpoint_rules(void)
{
	static const struct {
		const char *endpoint, *signing;
		enum jitrd_err want;
	} cases[] = {
	    {"http://192.0.2.7:8080", "iot", JITRD_ERR_CONFIG}, /* plain http off loopback */
	    {"https://iot.example.com/prefix", "iot", JITRD_ERR_CONFIG},
	    {"https://user:pw@iot.example.com", "iot", JITRD_ERR_CONFIG},
	    {"ftp://127.0.0.1", "iot", JITRD_ERR_CONFIG},
	    {"http://127.0.0.1:1", "s3", JITRD_ERR_CONFIG},
	    {"http://127.0.0.1:1", "execute-api", JITRD_OK},
	    {"http://[::1]:1/", "iot", JITRD_OK},
	    {"https://iot.eu-west-1.amazonaws.com", "iot", JITRD_OK},
	    {"", "iot", JITRD_OK}, /* the default endpoint */
	};
	struct jitrd_credentials_options co;
	struct jitrd_credentials_provider *creds = NULL;

	jitrd_credentials_options_init(&co);
	co.envp = env_plain;
	CU_ASSERT_EQUAL_FATAL(jitrd_credentials_new(&co, &creds, NULL), JITRD_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_iot_client_options opts;
		struct jitrd_iot_client *c = NULL;
		struct jitrd_diag diag = {{0}};

		jitrd_iot_client_options_init(&opts, NULL);
		opts.endpoint = cases[i].endpoint;
		opts.signing_name = cases[i].signing;
		CU_ASSERT_EQUAL(jitrd_iot_client_new(&opts, creds, &c, &diag), cases[i].want);
		CU_ASSERT((c != NULL) == (cases[i].want == JITRD_OK));
		jitrd_iot_client_free(c);
	}
	{
		struct jitrd_iot_client_options opts;
		struct jitrd_iot_client *c = NULL;

		jitrd_iot_client_options_init(&opts, NULL);
		opts.rates[JITRD_IOT_GET_POLICY] = -1;
		CU_ASSERT_EQUAL(jitrd_iot_client_new(&opts, creds, &c, NULL), JITRD_ERR_CONFIG);
		opts.rates[JITRD_IOT_GET_POLICY] = 1;
		opts.region = "US_EAST";
		CU_ASSERT_EQUAL(jitrd_iot_client_new(&opts, creds, &c, NULL), JITRD_ERR_CONFIG);
		CU_ASSERT_PTR_NULL(c);
	}
	jitrd_credentials_free(creds);
}

static void five_per_second(struct jitrd_iot_client_options *o)
{
	o->rates[JITRD_IOT_DESCRIBE_CERTIFICATE] = 5;
}

static void test_client_rate_limit(void)
{
	struct fixture f;
	struct jitrd_iot_result res;
	int64_t start;

	CU_ASSERT_FATAL(fixture_open(&f, stub_url(server), env_plain, five_per_second) == 0);
	answer(200, "");
	start = jitrd_iot_deadline_in(0);
	/* 5 at once (the burst), then one every 200 ms: 10 calls take about a second. */
	for (int i = 0; i < 10; i++)
		CU_ASSERT_EQUAL(jitrd_iot_update_certificate(f.session, deadline(), CERT,
		                                             JITRD_IOT_ACTIVE, &res, NULL),
		                JITRD_OK); /* UpdateCertificate is unlimited here */
	CU_ASSERT(jitrd_iot_deadline_in(0) - start < 500);
	answer(200, "{\"certificateDescription\":{\"certificateId\":\"" CERT "\",\"status\":"
	            "\"ACTIVE\",\"certificatePem\":\"x\"}}");
	start = jitrd_iot_deadline_in(0);
	for (int i = 0; i < 10; i++) {
		struct jitrd_iot_certificate cert;

		CU_ASSERT_EQUAL(
		    jitrd_iot_describe_certificate(f.session, deadline(), CERT, &cert, &res, NULL),
		    JITRD_OK);
		jitrd_iot_certificate_cleanup(&cert);
	}
	CU_ASSERT(jitrd_iot_deadline_in(0) - start >= 950);
	/* A wait that would pass the deadline is refused without a request. */
	{
		struct jitrd_iot_certificate cert;
		int before = stub_requests(server);

		for (int i = 0; i < 6; i++) {
			if (jitrd_iot_describe_certificate(f.session, jitrd_iot_deadline_in(50),
			                                   CERT, &cert, &res, NULL) == JITRD_OK)
				jitrd_iot_certificate_cleanup(&cert);
		}
		CU_ASSERT_EQUAL(jitrd_iot_describe_certificate(f.session, jitrd_iot_deadline_in(50),
		                                               CERT, &cert, &res, NULL),
		                JITRD_ERR_DEADLINE);
		CU_ASSERT(stub_requests(server) - before <= 2);
	}
	fixture_close(&f);
}

static void test_no_credentials(void)
{
	static const char *const env_none[] = {"AWS_EC2_METADATA_DISABLED=true",
	                                       "HOME=/nonexistent", "AWS_ACCESS_KEY_ID=AKID", NULL};
	struct fixture f;
	struct jitrd_iot_result res;
	struct jitrd_diag diag = {{0}};
	int before = stub_requests(server);

	CU_ASSERT_FATAL(fixture_open(&f, stub_url(server), env_none, NULL) == 0);
	CU_ASSERT_EQUAL(jitrd_iot_update_certificate(f.session, deadline(), CERT, JITRD_IOT_ACTIVE,
	                                             &res, &diag),
	                JITRD_ERR_CREDENTIALS);
	CU_ASSERT(strstr(diag.text, "AWS_SECRET_ACCESS_KEY") != NULL);
	CU_ASSERT_EQUAL(stub_requests(server), before);
	fixture_close(&f);
}

static void test_names(void)
{
	CU_ASSERT_STRING_EQUAL(jitrd_iot_op_name(JITRD_IOT_ATTACH_THING_PRINCIPAL),
	                       "AttachThingPrincipal");
	CU_ASSERT_STRING_EQUAL(jitrd_iot_op_name(JITRD_IOT_OP_COUNT), "Unknown");
	CU_ASSERT_STRING_EQUAL(jitrd_iot_status_name(JITRD_IOT_PENDING_ACTIVATION),
	                       "PENDING_ACTIVATION");
	CU_ASSERT_STRING_EQUAL(jitrd_iot_status_name((enum jitrd_iot_status)42), "");
	jitrd_iot_client_free(NULL);
	jitrd_iot_session_free(NULL);
	jitrd_iot_certificate_cleanup(NULL);
	jitrd_iot_policy_cleanup(NULL);
	jitrd_iot_ca_certificate_cleanup(NULL);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"shapes: certificates and CAs", test_shapes_certificates},
	    {"shapes: policies and things (execute-api, session token)",
	     test_shapes_policies_things},
	    {"policy versions: shapes, bad answers, inputs not sent", test_policy_versions},
	    {"keep-alive: one connection per session", test_keep_alive},
	    {"a loopback http endpoint bypasses the proxy", test_loopback_endpoint_bypasses_proxy},
	    {"pagination of ListCertificatesByCA", test_pagination},
	    {"error mapping", test_error_mapping},
	    {"500/429/throttling then success", test_retry_then_success},
	    {"throttled forever: bounded attempts and deadline", test_throttled_forever},
	    {"slow server: timeout", test_slow_server_times_out},
	    {"misbehaving server", test_misbehaving_server},
	    {"bad members in a 200 answer", test_bad_members},
	    {"invalid inputs send nothing", test_invalid_inputs_send_nothing},
	    {"endpoint and signing rules", test_endpoint_rules},
	    {"client-side rate limit", test_client_rate_limit},
	    {"no credentials", test_no_credentials},
	    {"names", test_names},
	    {"Thing attributes and principals", test_thing_attributes_and_principals},
	    {NULL, NULL},
	};
	int status;

	pthread_mutex_init(&sv.lock, NULL);
	server = stub_start(handle, NULL);
	if (!server) {
		fprintf(stderr, "test_iot_client: cannot start the stand-in\n");
		return 1;
	}
	status = tsupport_run("iot_client", cases);
	stub_stop(server);
	return status;
}
