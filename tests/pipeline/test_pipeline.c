/* test_pipeline.c — one registration event through jitrd_pipeline_process against a stand-in
 * of AWS IoT on 127.0.0.1 (tests/aws/stub_server.c) that keeps certificates, policies and
 * Things like the service does, logs every call, and fails or slows chosen operations. Covers
 * the order of the calls (activation last), coalescing of two events of one certificate,
 * single-flight creation of a shared policy, the retry classification (throttling and 5xx
 * transient, 4xx final) and each error path (policy, Thing, attach, status update). */
#include "jitrd/pipeline.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "jitrd/cert.h"
#include "stub_server.h"
#include "testsupport.h"

#define KEY_ID  "AKIDPIPELINETEST"
#define SECRET  "pipeline/test+secret"
#define ACCOUNT "123456789012"
#define ARN_OF  "arn:aws:iot:us-east-1:" ACCOUNT ":cert/"

/* ---- the stand-in of AWS IoT ---------------------------------------------------------- */

#define DEVICES_MAX    4
#define POLICIES_MAX   4
#define THINGS_MAX     4
#define PRINCIPALS_MAX 4
#define CALLS_MAX      128

struct device {
	const char *name; /* fixture devices/<name>.pem */
	char id[65];
	char *pem;
	enum jitrd_iot_status status;
};

struct fault {
	int status;             /* 0: none */
	const char *error_type; /* x-amzn-ErrorType */
	int times;              /* answers left to fail; -1 for every one */
};

static struct {
	pthread_mutex_t lock;
	struct device devices[DEVICES_MAX];
	size_t device_count;
	struct {
		char name[129];
		char *document;
	} policies[POLICIES_MAX];
	size_t policy_count;
	struct {
		char name[129];
		char marker[80]; /* the jitrd_ca attribute, "" when none */
		char principals[PRINCIPALS_MAX][256];
		size_t principal_count;
	} things[THINGS_MAX];
	size_t thing_count;
	struct {
		enum jitrd_iot_op op;
		char detail[96]; /* the new status of UpdateCertificate, the name otherwise */
	} calls[CALLS_MAX];
	size_t call_count;
	struct fault faults[JITRD_IOT_OP_COUNT];
	int delay_ms[JITRD_IOT_OP_COUNT];
} aws = {.lock = PTHREAD_MUTEX_INITIALIZER};

static char ca1_id[65]; /* the CA of every device used here */

/* Answers are built per connection thread (libmicrohttpd copies them after the handler and
 * its delay). */
static _Thread_local char answer_body[JITRD_IOT_MAX_PEM + 4096];

static const char *answer_json(struct json_object *json)
{
	snprintf(answer_body, sizeof(answer_body), "%s",
	         json_object_to_json_string_ext(json, JSON_C_TO_STRING_PLAIN));
	json_object_put(json);
	return answer_body;
}

static void aws_error(struct stub_response *resp, int status, const char *type)
{
	resp->status = status;
	resp->error_type = type;
	snprintf(answer_body, sizeof(answer_body), "{\"message\":\"scripted %s\"}", type);
	resp->body = answer_body;
}

/* Which operation a request is, and the name it is about (decoded when it was escaped). */
static int classify(const struct stub_request *req, enum jitrd_iot_op *op, char *name, size_t size)
{
	static const struct {
		const char *method, *prefix, *suffix;
		enum jitrd_iot_op op;
	} routes[] = {
	    {"GET", "/certificates/", "", JITRD_IOT_DESCRIBE_CERTIFICATE},
	    {"PUT", "/certificates/", "", JITRD_IOT_UPDATE_CERTIFICATE},
	    {"POST", "/policies/", "", JITRD_IOT_CREATE_POLICY},
	    {"GET", "/policies/", "", JITRD_IOT_GET_POLICY},
	    {"POST", "/policies/", "/version", JITRD_IOT_CREATE_POLICY_VERSION},
	    {"PUT", "/target-policies/", "", JITRD_IOT_ATTACH_POLICY},
	    {"GET", "/things/", "/principals", JITRD_IOT_LIST_THING_PRINCIPALS},
	    {"PUT", "/things/", "/principals", JITRD_IOT_ATTACH_THING_PRINCIPAL},
	    {"POST", "/things/", "", JITRD_IOT_CREATE_THING},
	    {"GET", "/things/", "", JITRD_IOT_DESCRIBE_THING},
	};

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		size_t plen = strlen(routes[i].prefix), slen = strlen(routes[i].suffix);
		size_t len = strlen(req->path);
		const char *rest = req->path + plen;
		size_t n;

		if (strcmp(req->method, routes[i].method) != 0 ||
		    strncmp(req->path, routes[i].prefix, plen) != 0 || len < plen + slen ||
		    strcmp(req->path + len - slen, routes[i].suffix) != 0)
			continue;
		n = len - plen - slen;
		if (memchr(rest, '/', n) || n >= size)
			continue;
		memcpy(name, rest, n);
		name[n] = '\0';
		*op = routes[i].op;
		return 0;
	}
	return -1;
}

static struct device *find_device(const char *id)
{
	for (size_t i = 0; i < aws.device_count; i++)
		if (strcmp(aws.devices[i].id, id) == 0)
			return &aws.devices[i];
	return NULL;
}

static int find_policy(const char *name)
{
	for (size_t i = 0; i < aws.policy_count; i++)
		if (strcmp(aws.policies[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int find_thing(const char *name)
{
	for (size_t i = 0; i < aws.thing_count; i++)
		if (strcmp(aws.things[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* The index of Thing name, or -1 after answering 404. */
static int thing_or_404(const char *name, struct stub_response *resp)
{
	int i = find_thing(name);

	if (i < 0)
		aws_error(resp, 404, "ResourceNotFoundException");
	return i;
}

static const char *body_string(const struct stub_request *req, const char *a, const char *b,
                               const char *c, char *out, size_t size)
{
	struct json_object *json = json_tokener_parse(req->body ? req->body : "");
	struct json_object *at = json;
	const char *path[] = {a, b, c};

	*out = '\0';
	for (size_t i = 0; i < 3 && path[i] && at; i++)
		if (!json_object_object_get_ex(at, path[i], &at))
			at = NULL;
	if (at && json_object_is_type(at, json_type_string))
		snprintf(out, size, "%s", json_object_get_string(at));
	json_object_put(json);
	return out;
}

static void policy_answer(struct stub_response *resp, int index)
{
	struct json_object *json = json_object_new_object();

	json_object_object_add(json, "policyName",
	                       json_object_new_string(aws.policies[index].name));
	json_object_object_add(json, "policyArn", json_object_new_string("arn:aws:iot:policy"));
	json_object_object_add(json, "policyDocument",
	                       json_object_new_string(aws.policies[index].document));
	resp->body = answer_json(json);
}

/* With aws.lock held: what AWS would do and answer. */
static void serve(enum jitrd_iot_op op, const char *name, const struct stub_request *req,
                  struct stub_response *resp)
{
	char text[JITRD_IOT_MAX_POLICY + 1];
	struct json_object *json;
	struct device *device;
	int i;

	switch (op) {
	case JITRD_IOT_DESCRIBE_CERTIFICATE: {
		struct json_object *description;
		char arn[160];

		if (!(device = find_device(name))) {
			aws_error(resp, 404, "ResourceNotFoundException");
			return;
		}
		description = json_object_new_object();
		snprintf(arn, sizeof(arn), ARN_OF "%s", device->id);
		json_object_object_add(description, "certificateArn", json_object_new_string(arn));
		json_object_object_add(description, "certificateId",
		                       json_object_new_string(device->id));
		json_object_object_add(description, "caCertificateId",
		                       json_object_new_string(ca1_id));
		json_object_object_add(
		    description, "status",
		    json_object_new_string(jitrd_iot_status_name(device->status)));
		json_object_object_add(description, "certificatePem",
		                       json_object_new_string(device->pem));
		json_object_object_add(description, "ownedBy", json_object_new_string(ACCOUNT));
		json = json_object_new_object();
		json_object_object_add(json, "certificateDescription", description);
		resp->body = answer_json(json);
		return;
	}
	case JITRD_IOT_UPDATE_CERTIFICATE: {
		const char *status = strstr(req->query, "newStatus=");

		if (!(device = find_device(name)) || !status) {
			aws_error(resp, 404, "ResourceNotFoundException");
			return;
		}
		status += strlen("newStatus=");
		device->status = strcmp(status, "ACTIVE") == 0     ? JITRD_IOT_ACTIVE
		                 : strcmp(status, "INACTIVE") == 0 ? JITRD_IOT_INACTIVE
		                                                   : JITRD_IOT_REVOKED;
		resp->body = "{}";
		return;
	}
	case JITRD_IOT_CREATE_POLICY:
		if (find_policy(name) >= 0 || aws.policy_count == POLICIES_MAX) {
			aws_error(resp, 409, "ResourceAlreadyExistsException");
			return;
		}
		i = (int)aws.policy_count++;
		snprintf(aws.policies[i].name, sizeof(aws.policies[i].name), "%s", name);
		aws.policies[i].document =
		    strdup(body_string(req, "policyDocument", NULL, NULL, text, sizeof(text)));
		policy_answer(resp, i);
		return;
	case JITRD_IOT_CREATE_POLICY_VERSION:
		/* one version kept: enough for the pipeline's choice (the emulator's tests hold
		 * the five-version rules) */
		if ((i = find_policy(name)) < 0) {
			aws_error(resp, 404, "ResourceNotFoundException");
			return;
		}
		free(aws.policies[i].document);
		aws.policies[i].document =
		    strdup(body_string(req, "policyDocument", NULL, NULL, text, sizeof(text)));
		resp->body = "{\"policyVersionId\":\"2\",\"isDefaultVersion\":true}";
		return;
	case JITRD_IOT_GET_POLICY:
		if ((i = find_policy(name)) < 0) {
			aws_error(resp, 404, "ResourceNotFoundException");
			return;
		}
		policy_answer(resp, i);
		return;
	case JITRD_IOT_ATTACH_POLICY:
		if (find_policy(name) < 0) {
			aws_error(resp, 404, "ResourceNotFoundException");
			return;
		}
		resp->body = "{}";
		return;
	case JITRD_IOT_CREATE_THING:
		body_string(req, "attributePayload", "attributes", JITRD_THING_MARKER, text,
		            sizeof(text));
		/* AWS: the same name and attributes again succeeds; other attributes conflict */
		if ((i = find_thing(name)) >= 0 && strcmp(aws.things[i].marker, text) != 0) {
			aws_error(resp, 409, "ResourceAlreadyExistsException");
			return;
		}
		if (i < 0 && aws.thing_count < THINGS_MAX) {
			i = (int)aws.thing_count++;
			snprintf(aws.things[i].name, sizeof(aws.things[i].name), "%s", name);
			snprintf(aws.things[i].marker, sizeof(aws.things[i].marker), "%.79s", text);
		}
		json = json_object_new_object();
		json_object_object_add(json, "thingName", json_object_new_string(name));
		json_object_object_add(json, "thingArn",
		                       json_object_new_string("arn:aws:iot:thing"));
		json_object_object_add(json, "thingId", json_object_new_string("thing-id"));
		resp->body = answer_json(json);
		return;
	case JITRD_IOT_DESCRIBE_THING: {
		struct json_object *attributes;

		if ((i = thing_or_404(name, resp)) < 0)
			return;
		attributes = json_object_new_object();
		if (*aws.things[i].marker)
			json_object_object_add(attributes, JITRD_THING_MARKER,
			                       json_object_new_string(aws.things[i].marker));
		json = json_object_new_object();
		json_object_object_add(json, "thingName", json_object_new_string(name));
		json_object_object_add(json, "attributes", attributes);
		resp->body = answer_json(json);
		return;
	}
	case JITRD_IOT_LIST_THING_PRINCIPALS: {
		struct json_object *principals;

		if ((i = thing_or_404(name, resp)) < 0)
			return;
		principals = json_object_new_array();
		for (size_t k = 0; k < aws.things[i].principal_count; k++)
			json_object_array_add(principals,
			                      json_object_new_string(aws.things[i].principals[k]));
		json = json_object_new_object();
		json_object_object_add(json, "principals", principals);
		resp->body = answer_json(json);
		return;
	}
	case JITRD_IOT_ATTACH_THING_PRINCIPAL: {
		const char *principal = stub_header(req, "x-amzn-principal");

		if ((i = find_thing(name)) < 0 || !principal) {
			aws_error(resp, 404, "ResourceNotFoundException");
			return;
		}
		if (aws.things[i].principal_count < PRINCIPALS_MAX)
			snprintf(aws.things[i].principals[aws.things[i].principal_count++], 256,
			         "%s", principal);
		resp->body = "{}";
		return;
	}
	default:
		aws_error(resp, 400, "InvalidRequestException");
	}
}

static void handle(void *ctx, const struct stub_request *req, struct stub_response *resp)
{
	char name[300];
	enum jitrd_iot_op op;
	struct fault *fault;

	(void)ctx;
	if (classify(req, &op, name, sizeof(name)) != 0) {
		aws_error(resp, 400, "UnknownOperationException");
		return;
	}
	pthread_mutex_lock(&aws.lock);
	if (aws.call_count < CALLS_MAX) {
		const char *status = strstr(req->query, "newStatus=");

		aws.calls[aws.call_count].op = op;
		snprintf(aws.calls[aws.call_count].detail, sizeof(aws.calls[0].detail), "%.95s",
		         op == JITRD_IOT_UPDATE_CERTIFICATE && status ? status + 10 : name);
		aws.call_count++;
	}
	resp->delay_ms = aws.delay_ms[op];
	fault = &aws.faults[op];
	if (fault->status && fault->times != 0) {
		if (fault->times > 0)
			fault->times--;
		aws_error(resp, fault->status, fault->error_type);
	} else {
		serve(op, name, req, resp);
	}
	pthread_mutex_unlock(&aws.lock);
}

/* ---- fixtures: the runtime, the client, events ------------------------------------------ */

static struct stub_server *server;
static struct jitrd_runtime *rt;
static struct jitrd_credentials_provider *creds;
static struct jitrd_iot_client *client;
static char tmpdir[64], config_path[128];

static const char *const env[] = {"AWS_ACCESS_KEY_ID=" KEY_ID, "AWS_SECRET_ACCESS_KEY=" SECRET,
                                  "AWS_EC2_METADATA_DISABLED=true", "HOME=/nonexistent", NULL};

/* The id (SHA-256 of the DER) of a fixture certificate, and its PEM when pem is not NULL. */
static int fixture_id(const char *relpath, char id[65], char **pem)
{
	struct jitrd_cert *cert = NULL;
	size_t len = 0;
	char *text = tsupport_read(tsupport_fixture(relpath), &len);

	if (!text || jitrd_cert_from_pem(text, len, &cert, NULL) != JITRD_OK) {
		free(text);
		return -1;
	}
	snprintf(id, 65, "%s", jitrd_cert_id(cert));
	jitrd_cert_free(cert);
	if (pem)
		*pem = text;
	else
		free(text);
	return 0;
}

static int add_device(const char *name)
{
	struct device *d = &aws.devices[aws.device_count];
	char relpath[128];

	snprintf(relpath, sizeof(relpath), "devices/%s.pem", name);
	if (aws.device_count == DEVICES_MAX || fixture_id(relpath, d->id, &d->pem) != 0)
		return -1;
	d->name = name;
	aws.device_count++;
	return 0;
}

static int suite_init(void)
{
	const char *src = getenv("JITRD_SOURCE_ROOT");
	struct jitrd_credentials_options co;
	struct jitrd_iot_client_options opts;
	struct jitrd_diag diag = {{0}};
	FILE *f;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/jitrd-pipeline-XXXXXX");
	if (!src || !mkdtemp(tmpdir))
		return -1;
	snprintf(config_path, sizeof(config_path), "%s/jitrd.conf", tmpdir);
	if (!(f = fopen(config_path, "w")))
		return -1;
	fprintf(f, "[aws]\nregion = us-east-1\naccount_id = " ACCOUNT "\n[ca]\ndir = %s\n",
	        tsupport_fixture("cas"));
	fprintf(f, "[crl]\ndir = %s\n", tsupport_fixture("crls"));
	fprintf(f,
	        "[provision]\npolicy_template = %s/policies/default.json\n"
	        "policy_name = jitrd-device\nthing_name = {{subject.CN}}\n"
	        "[service]\nstate_dir = %s\n",
	        src, tmpdir);
	if (fclose(f) != 0)
		return -1;
	rt = jitrd_runtime_new(config_path, JITRD_TEST_NOW, &diag);
	if (!rt) {
		fprintf(stderr, "runtime: %s\n", diag.text);
		return -1;
	}
	if (fixture_id("cas/ca1.pem", ca1_id, NULL) != 0 || add_device("good") != 0 ||
	    add_device("noext") != 0 || add_device("revoked") != 0)
		return -1;
	if (!(server = stub_start(handle, NULL)))
		return -1;
	jitrd_credentials_options_init(&co);
	co.envp = env;
	if (jitrd_credentials_new(&co, &creds, &diag) != JITRD_OK)
		return -1;
	jitrd_iot_client_options_init(&opts, rt->cfg);
	opts.endpoint = stub_url(server);
	opts.request_timeout_ms = 5000;
	opts.backoff.base_ms = 1;
	opts.backoff.cap_ms = 5;
	opts.backoff.max_attempts = 3;
	for (int i = 0; i < JITRD_IOT_OP_COUNT; i++)
		opts.rates[i] = 0;
	if (jitrd_iot_client_new(&opts, creds, &client, &diag) != JITRD_OK) {
		fprintf(stderr, "client: %s\n", diag.text);
		return -1;
	}
	return 0;
}

static void suite_cleanup(void)
{
	jitrd_iot_client_free(client);
	jitrd_credentials_free(creds);
	stub_stop(server);
	jitrd_runtime_unref(rt);
	for (size_t i = 0; i < aws.device_count; i++)
		free(aws.devices[i].pem);
	for (size_t i = 0; i < aws.policy_count; i++)
		free(aws.policies[i].document);
	unlink(config_path);
	rmdir(tmpdir);
}

/* A fresh account: every device pending, no policy, no Thing, no calls, no faults. */
static void aws_reset(void)
{
	pthread_mutex_lock(&aws.lock);
	for (size_t i = 0; i < aws.device_count; i++)
		aws.devices[i].status = JITRD_IOT_PENDING_ACTIVATION;
	for (size_t i = 0; i < aws.policy_count; i++)
		free(aws.policies[i].document);
	aws.policy_count = 0;
	aws.thing_count = 0;
	aws.call_count = 0;
	memset(aws.faults, 0, sizeof(aws.faults));
	memset(aws.delay_ms, 0, sizeof(aws.delay_ms));
	pthread_mutex_unlock(&aws.lock);
}

static void aws_fault(enum jitrd_iot_op op, int status, const char *type, int times)
{
	pthread_mutex_lock(&aws.lock);
	aws.faults[op] = (struct fault){status, type, times};
	pthread_mutex_unlock(&aws.lock);
}

static void aws_delay(enum jitrd_iot_op op, int ms)
{
	pthread_mutex_lock(&aws.lock);
	aws.delay_ms[op] = ms;
	pthread_mutex_unlock(&aws.lock);
}

static size_t calls_of(enum jitrd_iot_op op)
{
	size_t n = 0;

	pthread_mutex_lock(&aws.lock);
	for (size_t i = 0; i < aws.call_count; i++)
		n += aws.calls[i].op == op;
	pthread_mutex_unlock(&aws.lock);
	return n;
}

static enum jitrd_iot_status status_of(const char *device)
{
	enum jitrd_iot_status status = JITRD_IOT_STATUS_NONE;

	pthread_mutex_lock(&aws.lock);
	for (size_t i = 0; i < aws.device_count; i++)
		if (strcmp(aws.devices[i].name, device) == 0)
			status = aws.devices[i].status;
	pthread_mutex_unlock(&aws.lock);
	return status;
}

static const char *id_of(const char *device)
{
	for (size_t i = 0; i < aws.device_count; i++)
		if (strcmp(aws.devices[i].name, device) == 0)
			return aws.devices[i].id;
	return "0000000000000000000000000000000000000000000000000000000000000000";
}

/* The calls made, in order, are exactly ops (and a message when not). */
static void expect_calls(const enum jitrd_iot_op *ops, size_t n)
{
	int same;

	pthread_mutex_lock(&aws.lock);
	same = aws.call_count == n;
	for (size_t i = 0; same && i < n; i++)
		same = aws.calls[i].op == ops[i];
	if (!same) {
		fprintf(stderr, "calls:");
		for (size_t i = 0; i < aws.call_count; i++)
			fprintf(stderr, " %s(%s)", jitrd_iot_op_name(aws.calls[i].op),
			        aws.calls[i].detail);
		fprintf(stderr, "\n");
	}
	pthread_mutex_unlock(&aws.lock);
	CU_ASSERT_TRUE(same);
}

/* The registration event AWS publishes for a fixture device (or an unknown id). */
static int event_for(const char *device, char *out, size_t size)
{
	return snprintf(out, size,
	                "{\"certificateId\":\"%s\",\"caCertificateId\":\"%s\","
	                "\"timestamp\":1700000000000,\"certificateStatus\":"
	                "\"PENDING_ACTIVATION\",\"awsAccountId\":\"" ACCOUNT "\","
	                "\"certificateRegistrationTimestamp\":\"1700000000000\"}",
	                id_of(device), ca1_id);
}

/* One event through a pipeline with a session of its own. */
static void process(struct jitrd_pipeline *p, const char *device, struct jitrd_pipeline_result *r)
{
	struct jitrd_iot_session *session = NULL;
	char payload[512];
	int len = event_for(device, payload, sizeof(payload));

	CU_ASSERT_EQUAL_FATAL(jitrd_iot_session_new(client, &session), JITRD_OK);
	CU_ASSERT_EQUAL(
	    jitrd_pipeline_process(p, session, rt, payload, (size_t)len, JITRD_TEST_NOW, r),
	    JITRD_OK);
	jitrd_iot_session_free(session);
}

static struct jitrd_pipeline *pipeline_fresh(void)
{
	struct jitrd_pipeline *p = NULL;

	aws_reset();
	CU_ASSERT_EQUAL_FATAL(jitrd_pipeline_new(NULL, &p), JITRD_OK);
	return p;
}

static int starts_with(const char *text, const char *prefix)
{
	return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* ---- the order of the calls: activation last -------------------------------------------- */

static void test_activation_last(void)
{
	static const enum jitrd_iot_op activate[] = {
	    JITRD_IOT_DESCRIBE_CERTIFICATE,  JITRD_IOT_CREATE_THING,
	    JITRD_IOT_LIST_THING_PRINCIPALS, JITRD_IOT_ATTACH_THING_PRINCIPAL,
	    JITRD_IOT_CREATE_POLICY,         JITRD_IOT_ATTACH_POLICY,
	    JITRD_IOT_UPDATE_CERTIFICATE,
	};
	static const enum jitrd_iot_op again[] = {JITRD_IOT_DESCRIBE_CERTIFICATE};
	static const enum jitrd_iot_op revoke[] = {JITRD_IOT_DESCRIBE_CERTIFICATE,
	                                           JITRD_IOT_UPDATE_CERTIFICATE};
	struct jitrd_pipeline *p = pipeline_fresh();
	struct jitrd_pipeline_result r;
	char arn[160];

	process(p, "good", &r);
	CU_ASSERT_EQUAL(r.decision, JITRD_DECISION_ACTIVATE);
	CU_ASSERT_EQUAL(r.retry, 0);
	CU_ASSERT_STRING_EQUAL(r.status, "ACTIVE");
	CU_ASSERT_STRING_EQUAL(r.certificate_id, id_of("good"));
	CU_ASSERT_STRING_EQUAL(r.policy, "jitrd-device");
	CU_ASSERT_STRING_EQUAL(r.thing, "device-good");
	CU_ASSERT_EQUAL(r.api_calls, 7);
	CU_ASSERT_EQUAL(r.attempts, 7);
	/* the Thing and the policy before the certificate goes ACTIVE, which is the last call */
	expect_calls(activate, sizeof(activate) / sizeof(activate[0]));
	CU_ASSERT_STRING_EQUAL(aws.calls[6].detail, "ACTIVE");
	CU_ASSERT_EQUAL(status_of("good"), JITRD_IOT_ACTIVE);
	snprintf(arn, sizeof(arn), ARN_OF "%s", id_of("good"));
	CU_ASSERT_EQUAL(aws.thing_count, 1);
	CU_ASSERT_STRING_EQUAL(aws.things[0].marker, ca1_id);
	CU_ASSERT_STRING_EQUAL(aws.things[0].principals[0], arn);

	/* the same event again: the certificate is ACTIVE now, one describe and skip */
	pthread_mutex_lock(&aws.lock);
	aws.call_count = 0;
	pthread_mutex_unlock(&aws.lock);
	process(p, "good", &r);
	CU_ASSERT_EQUAL(r.decision, JITRD_DECISION_SKIP);
	CU_ASSERT_STRING_EQUAL(r.status, "ACTIVE");
	expect_calls(again, 1);

	/* a revoked device: no policy, no Thing, only its status */
	pthread_mutex_lock(&aws.lock);
	aws.call_count = 0;
	pthread_mutex_unlock(&aws.lock);
	process(p, "revoked", &r);
	CU_ASSERT_EQUAL(r.decision, JITRD_DECISION_REVOKE);
	CU_ASSERT_STRING_EQUAL(r.status, "REVOKED");
	CU_ASSERT_STRING_EQUAL(r.policy, "");
	expect_calls(revoke, 2);
	CU_ASSERT_EQUAL(status_of("revoked"), JITRD_IOT_REVOKED);
	jitrd_pipeline_free(p);
}

/* ---- two workers at once ----------------------------------------------------------------- */

struct worker {
	pthread_t thread;
	struct jitrd_pipeline *p;
	const char *device;
	struct jitrd_pipeline_result r;
	enum jitrd_err err;
	char payload[512];
	size_t len;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct jitrd_iot_session *session = NULL;

	w->err = jitrd_iot_session_new(client, &session);
	if (w->err == JITRD_OK)
		w->err = jitrd_pipeline_process(w->p, session, rt, w->payload, w->len,
		                                JITRD_TEST_NOW, &w->r);
	jitrd_iot_session_free(session);
	return NULL;
}

/* Runs two events at the same time (the second started 50 ms after the first). */
static void run_two(struct jitrd_pipeline *p, const char *first, const char *second,
                    struct worker w[2])
{
	const char *devices[2] = {first, second};

	for (int i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].p = p;
		w[i].device = devices[i];
		w[i].len = (size_t)event_for(devices[i], w[i].payload, sizeof(w[i].payload));
		CU_ASSERT_EQUAL_FATAL(pthread_create(&w[i].thread, NULL, worker_main, &w[i]), 0);
		if (i == 0)
			usleep(50 * 1000);
	}
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(pthread_join(w[i].thread, NULL), 0);
		CU_ASSERT_EQUAL(w[i].err, JITRD_OK);
	}
}

/* DESIGN §3.3: a second event for a certificate in flight waits for the first, then finds it
 * ACTIVE: one set of provisioning calls, one activation. Each describe takes 300 ms, so
 * without coalescing both would see PENDING_ACTIVATION and both would act. */
static void test_coalescing(void)
{
	struct jitrd_pipeline *p = pipeline_fresh();
	struct worker w[2];

	aws_delay(JITRD_IOT_DESCRIBE_CERTIFICATE, 300);
	run_two(p, "good", "good", w);
	CU_ASSERT_EQUAL(w[0].r.decision, JITRD_DECISION_ACTIVATE);
	CU_ASSERT_EQUAL(w[1].r.decision, JITRD_DECISION_SKIP);
	CU_ASSERT_STRING_EQUAL(w[1].r.status, "ACTIVE");
	CU_ASSERT_EQUAL(w[1].r.api_calls, 1);
	CU_ASSERT_EQUAL(calls_of(JITRD_IOT_DESCRIBE_CERTIFICATE), 2);
	CU_ASSERT_EQUAL(calls_of(JITRD_IOT_CREATE_THING), 1);
	CU_ASSERT_EQUAL(calls_of(JITRD_IOT_CREATE_POLICY), 1);
	CU_ASSERT_EQUAL(calls_of(JITRD_IOT_UPDATE_CERTIFICATE), 1);
	jitrd_pipeline_free(p);
}

/* Two certificates that need the same new policy: one CreatePolicy (it takes 300 ms; the
 * other worker waits for it instead of calling CreatePolicy and GetPolicy too), both
 * attached and activated. */
static void test_single_flight_policy(void)
{
	struct jitrd_pipeline *p = pipeline_fresh();
	struct jitrd_pipeline_result r;
	struct worker w[2];

	aws_delay(JITRD_IOT_CREATE_POLICY, 300);
	run_two(p, "good", "noext", w);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(w[i].r.decision, JITRD_DECISION_ACTIVATE);
		CU_ASSERT_STRING_EQUAL(w[i].r.policy, "jitrd-device");
	}
	CU_ASSERT_EQUAL(calls_of(JITRD_IOT_CREATE_POLICY), 1);
	CU_ASSERT_EQUAL(calls_of(JITRD_IOT_GET_POLICY), 0);
	CU_ASSERT_EQUAL(calls_of(JITRD_IOT_ATTACH_POLICY), 2);
	CU_ASSERT_EQUAL(calls_of(JITRD_IOT_UPDATE_CERTIFICATE), 2);
	CU_ASSERT_EQUAL(aws.policy_count, 1);

	/* remembered: the next device of that policy does not create it again */
	pthread_mutex_lock(&aws.lock);
	aws.devices[0].status = JITRD_IOT_PENDING_ACTIVATION;
	aws.call_count = 0;
	pthread_mutex_unlock(&aws.lock);
	process(p, "good", &r);
	CU_ASSERT_EQUAL(r.decision, JITRD_DECISION_ACTIVATE);
	CU_ASSERT_EQUAL(calls_of(JITRD_IOT_CREATE_POLICY), 0);
	CU_ASSERT_EQUAL(calls_of(JITRD_IOT_ATTACH_POLICY), 1);
	jitrd_pipeline_free(p);
}

/* ---- retry classification and error paths ------------------------------------------------ */

struct failure_case {
	const char *name;
	enum jitrd_iot_op op; /* the call that fails */
	int status;
	const char *error_type;
	int times; /* -1: every attempt */
	enum jitrd_decision_kind decision;
	int retry;
	const char *reason;    /* the reason starts with this */
	size_t attempts_of_op; /* HTTP attempts of op made */
	size_t updates;        /* UpdateCertificate calls made */
	size_t policy_attachments;
};

static void run_failure(const struct failure_case *c)
{
	struct jitrd_pipeline *p = pipeline_fresh();
	struct jitrd_pipeline_result r;
	int ok;

	aws_fault(c->op, c->status, c->error_type, c->times);
	process(p, "good", &r);
	ok = r.decision == c->decision && r.retry == c->retry && starts_with(r.reason, c->reason) &&
	     calls_of(c->op) == c->attempts_of_op &&
	     calls_of(JITRD_IOT_UPDATE_CERTIFICATE) == c->updates &&
	     calls_of(JITRD_IOT_ATTACH_POLICY) == c->policy_attachments;
	if (!ok)
		fprintf(stderr,
		        "%s: decision %s retry %d reason \"%s\"; %zu attempts of %s, %zu updates, "
		        "%zu policy attachments\n",
		        c->name, jitrd_decision_name(r.decision), r.retry, r.reason,
		        calls_of(c->op), jitrd_iot_op_name(c->op),
		        calls_of(JITRD_IOT_UPDATE_CERTIFICATE), calls_of(JITRD_IOT_ATTACH_POLICY));
	CU_ASSERT_TRUE(ok);
	/* failed before the activation: the certificate is still pending in AWS */
	if (c->decision != JITRD_DECISION_ACTIVATE)
		CU_ASSERT_EQUAL(status_of("good"), JITRD_IOT_PENDING_ACTIVATION);
	jitrd_pipeline_free(p);
}

/* DESIGN §3: throttling and 5xx are transient (the client retried them within the deadline;
 * the event is tried again later), other 4xx are final. */
static void test_retry_classification(void)
{
	static const struct failure_case cases[] = {
	    {"5xx on the update", JITRD_IOT_UPDATE_CERTIFICATE, 503, "ServiceUnavailableException",
	     -1, JITRD_DECISION_FAILED, 1, "UpdateCertificate: ServiceUnavailableException", 3, 3,
	     1},
	    {"throttled on the update", JITRD_IOT_UPDATE_CERTIFICATE, 400, "ThrottlingException",
	     -1, JITRD_DECISION_FAILED, 1, "UpdateCertificate: ThrottlingException", 3, 3, 1},
	    {"429 on the update", JITRD_IOT_UPDATE_CERTIFICATE, 429, "TooManyRequestsException", -1,
	     JITRD_DECISION_FAILED, 1, "UpdateCertificate: TooManyRequestsException", 3, 3, 1},
	    {"4xx on the update is final", JITRD_IOT_UPDATE_CERTIFICATE, 400,
	     "InvalidRequestException", -1, JITRD_DECISION_FAILED, 0,
	     "UpdateCertificate: InvalidRequestException", 1, 1, 1},
	    {"a 5xx that clears is retried at once", JITRD_IOT_UPDATE_CERTIFICATE, 500,
	     "InternalFailureException", 1, JITRD_DECISION_ACTIVATE, 0, "", 2, 2, 1},
	    {"5xx on the describe", JITRD_IOT_DESCRIBE_CERTIFICATE, 500, "InternalFailureException",
	     -1, JITRD_DECISION_FAILED, 1, "DescribeCertificate: InternalFailureException", 3, 0,
	     0},
	    {"access denied on the describe is final", JITRD_IOT_DESCRIBE_CERTIFICATE, 403,
	     "AccessDeniedException", -1, JITRD_DECISION_FAILED, 0,
	     "DescribeCertificate: AccessDeniedException", 1, 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_failure(&cases[i]);
}

/* A certificate AWS does not know (yet): retried, but a few times only. */
static void test_unknown_certificate(void)
{
	struct jitrd_pipeline *p = pipeline_fresh();
	struct jitrd_pipeline_result r;

	process(p, "no-such-device", &r);
	CU_ASSERT_EQUAL(r.decision, JITRD_DECISION_FAILED);
	CU_ASSERT_EQUAL(r.retry, 1);
	CU_ASSERT_EQUAL(r.retry_limit, JITRD_PIPELINE_NOT_FOUND_ATTEMPTS);
	CU_ASSERT_EQUAL(r.api_calls, 1);
	CU_ASSERT_EQUAL(calls_of(JITRD_IOT_DESCRIBE_CERTIFICATE), 1);
	jitrd_pipeline_free(p);
}

/* Each provisioning call failing: the event ends failed (or reject), named by the call, and
 * the certificate is never activated. */
static void test_error_paths(void)
{
	static const struct failure_case cases[] = {
	    {"policy refused", JITRD_IOT_CREATE_POLICY, 400, "MalformedPolicyException", -1,
	     JITRD_DECISION_FAILED, 0, "CreatePolicy: MalformedPolicyException", 1, 0, 0},
	    {"policy 5xx", JITRD_IOT_CREATE_POLICY, 500, "InternalFailureException", -1,
	     JITRD_DECISION_FAILED, 1, "CreatePolicy: InternalFailureException", 3, 0, 0},
	    {"Thing refused", JITRD_IOT_CREATE_THING, 400, "InvalidRequestException", -1,
	     JITRD_DECISION_FAILED, 0, "CreateThing: InvalidRequestException", 1, 0, 0},
	    {"Thing 5xx", JITRD_IOT_CREATE_THING, 503, "ServiceUnavailableException", -1,
	     JITRD_DECISION_FAILED, 1, "CreateThing: ServiceUnavailableException", 3, 0, 0},
	    {"Thing principals unreadable", JITRD_IOT_LIST_THING_PRINCIPALS, 500,
	     "InternalFailureException", -1, JITRD_DECISION_FAILED, 1,
	     "ListThingPrincipals: InternalFailureException", 3, 0, 0},
	    {"Thing attach refused", JITRD_IOT_ATTACH_THING_PRINCIPAL, 400,
	     "InvalidRequestException", -1, JITRD_DECISION_FAILED, 0,
	     "AttachThingPrincipal: InvalidRequestException", 1, 0, 0},
	    {"policy attach refused", JITRD_IOT_ATTACH_POLICY, 400, "InvalidRequestException", -1,
	     JITRD_DECISION_FAILED, 0, "AttachPolicy: InvalidRequestException", 1, 0, 1},
	    {"policy attach throttled", JITRD_IOT_ATTACH_POLICY, 400, "ThrottlingException", -1,
	     JITRD_DECISION_FAILED, 1, "AttachPolicy: ThrottlingException", 3, 0, 3},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_failure(&cases[i]);
}

/* A fresh pipeline, and AWS with policy jitrd-device holding document. */
static struct jitrd_pipeline *pipeline_with_policy(const char *document)
{
	struct jitrd_pipeline *p = pipeline_fresh();

	pthread_mutex_lock(&aws.lock);
	snprintf(aws.policies[0].name, sizeof(aws.policies[0].name), "jitrd-device");
	aws.policies[0].document = strdup(document);
	aws.policy_count = 1;
	pthread_mutex_unlock(&aws.lock);
	return p;
}

/* The policy name is taken by another document: under policy_update = refuse nothing is
 * attached and the certificate stays pending; under version (the default) our document becomes
 * the policy's default version and the device is activated. Or the Thing is another
 * device's. */
static void test_conflicts(void)
{
	static const char *const other = "{\"Version\":\"2012-10-17\",\"Statement\":[]}";
	struct jitrd_pipeline *p = pipeline_with_policy(other);
	struct jitrd_pipeline_result r;

	rt->cfg->provision.policy_update = JITRD_POLICY_UPDATE_REFUSE;
	process(p, "good", &r);
	rt->cfg->provision.policy_update = JITRD_POLICY_UPDATE_VERSION;
	CU_ASSERT_EQUAL(r.decision, JITRD_DECISION_FAILED);
	CU_ASSERT_EQUAL(r.retry, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.reason, "exists with another document"));
	CU_ASSERT_EQUAL(calls_of(JITRD_IOT_GET_POLICY), 1);
	CU_ASSERT_EQUAL(calls_of(JITRD_IOT_CREATE_POLICY_VERSION), 0);
	CU_ASSERT_EQUAL(calls_of(JITRD_IOT_ATTACH_POLICY), 0);
	CU_ASSERT_EQUAL(calls_of(JITRD_IOT_UPDATE_CERTIFICATE), 0);
	CU_ASSERT_EQUAL(status_of("good"), JITRD_IOT_PENDING_ACTIVATION);
	jitrd_pipeline_free(p);

	/* version: a new default version with our document, then attach and activate */
	p = pipeline_with_policy(other);
	process(p, "good", &r);
	CU_ASSERT_EQUAL(r.decision, JITRD_DECISION_ACTIVATE);
	CU_ASSERT_EQUAL(calls_of(JITRD_IOT_CREATE_POLICY_VERSION), 1);
	CU_ASSERT_EQUAL(calls_of(JITRD_IOT_ATTACH_POLICY), 1);
	CU_ASSERT_EQUAL(status_of("good"), JITRD_IOT_ACTIVE);
	pthread_mutex_lock(&aws.lock);
	CU_ASSERT(strcmp(aws.policies[0].document, other) != 0);
	pthread_mutex_unlock(&aws.lock);
	jitrd_pipeline_free(p);

	/* a Thing of that name that jitrd did not make (no marker): reject, nothing attached */
	p = pipeline_fresh();
	pthread_mutex_lock(&aws.lock);
	snprintf(aws.things[0].name, sizeof(aws.things[0].name), "device-good");
	aws.things[0].marker[0] = '\0';
	aws.things[0].principal_count = 0;
	aws.thing_count = 1;
	pthread_mutex_unlock(&aws.lock);
	process(p, "good", &r);
	CU_ASSERT_EQUAL(r.decision, JITRD_DECISION_REJECT);
	CU_ASSERT_EQUAL(r.retry, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.reason, "Thing device-good exists and was not created"));
	CU_ASSERT_STRING_EQUAL(r.policy, "");
	CU_ASSERT_EQUAL(calls_of(JITRD_IOT_DESCRIBE_THING), 1);
	CU_ASSERT_EQUAL(calls_of(JITRD_IOT_ATTACH_THING_PRINCIPAL), 0);
	CU_ASSERT_EQUAL(calls_of(JITRD_IOT_CREATE_POLICY), 0);
	CU_ASSERT_EQUAL(calls_of(JITRD_IOT_UPDATE_CERTIFICATE), 0); /* on_reject = leave */
	CU_ASSERT_EQUAL(status_of("good"), JITRD_IOT_PENDING_ACTIVATION);
	jitrd_pipeline_free(p);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"activation is the last call", test_activation_last},
	    {"two events of one certificate are coalesced", test_coalescing},
	    {"a shared policy is created once", test_single_flight_policy},
	    {"throttling and 5xx are retried, other 4xx are final", test_retry_classification},
	    {"an unknown certificate is retried a few times", test_unknown_certificate},
	    {"each provisioning call failing", test_error_paths},
	    {"a policy with another document (refuse, version) or another device's Thing",
	     test_conflicts},
	    {NULL, NULL},
	};
	int status;

	if (suite_init() != 0) {
		fprintf(stderr, "set-up failed (fixtures, stub server, runtime or client)\n");
		suite_cleanup();
		return 1;
	}
	status = tsupport_run("pipeline", cases);
	suite_cleanup();
	return status;
}
