/* test_sqs_client.c — the SQS client: its answer readers on hostile JSON (always), then every
 * operation against a real SQS on 127.0.0.1, moto's ThreadedMotoServer (tests/aws/sqs_server.py,
 * a child process ending on SIGTERM or by itself after 120 s) with SigV4 verification and IAM
 * authorization on: receive, visibility change, batch delete, depth, an unknown queue, a bad
 * secret, a cancelled long poll, refused settings. Exits 77 after the readers' cases where
 * Python's moto is not installed. */
#include "jitrd/sqs_client.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "jitrd/credentials.h"
#include "sqs_client_parse.h"
#include "testsupport.h"

static FILE *server;
static long server_pid = -1;
static char key_id[129], secret[129], queue_url[512];

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the readers ---- */

static struct json_object *parse(const char *text)
{
	struct json_object *j = json_tokener_parse(text);

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	return j;
}

static void expect_messages(const char *text, enum jitrd_err want, size_t want_count)
{
	struct jitrd_sqs_message out[JITRD_SQS_MAX_MESSAGES];
	struct json_object *j = text ? parse(text) : NULL;
	struct jitrd_diag diag = {{0}};
	size_t count = 4242;
	enum jitrd_err err = jitrd_sqs_read_messages(j, JITRD_SQS_MAX_MESSAGES, out, &count, &diag);

	CU_ASSERT_EQUAL(err, want);
	if (err != want)
		fprintf(stderr, "\n  %.60s: got %d (%s)\n", text ? text : "(null)", err, diag.text);
	if (err == JITRD_OK) {
		CU_ASSERT_EQUAL(count, want_count);
		jitrd_sqs_messages_cleanup(out, count);
	} else {
		CU_ASSERT_EQUAL(count, 4242);
		CU_ASSERT(diag.text[0] != '\0');
	}
	json_object_put(j);
}

#define MSG(extra) "{\"MessageId\":\"m1\",\"ReceiptHandle\":\"h1\",\"Body\":\"b\"" extra "}"

static void test_read_messages(void)
{
	char *big, *eleven;
	size_t at = 0;

	expect_messages(NULL, JITRD_OK, 0);
	expect_messages("{}", JITRD_OK, 0);
	expect_messages("{\"Messages\":[]}", JITRD_OK, 0);
	expect_messages("{\"Messages\":[" MSG("") "]}", JITRD_OK, 1);
	expect_messages(
	    "{\"Messages\":[" MSG(",\"Attributes\":{\"ApproximateReceiveCount\":\"3\"}") "]}",
	    JITRD_OK, 1);
	expect_messages("[]", JITRD_ERR_BAD_RESPONSE, 0);
	expect_messages("{\"Messages\":{}}", JITRD_ERR_BAD_RESPONSE, 0);
	expect_messages("{\"Messages\":[1]}", JITRD_ERR_BAD_RESPONSE, 0);
	expect_messages("{\"Messages\":[{\"MessageId\":\"m\",\"Body\":\"b\"}]}",
	                JITRD_ERR_BAD_RESPONSE, 0);
	expect_messages("{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"h\"}]}",
	                JITRD_ERR_BAD_RESPONSE, 0);
	expect_messages("{\"Messages\":[{\"MessageId\":1,\"ReceiptHandle\":\"h\",\"Body\":\"b\"}]}",
	                JITRD_ERR_BAD_RESPONSE, 0);
	expect_messages(
	    "{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"\",\"Body\":\"b\"}]}",
	    JITRD_ERR_BAD_RESPONSE, 0);
	expect_messages("{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"h\",\"Body\":7}]}",
	                JITRD_ERR_BAD_RESPONSE, 0);
	expect_messages("{\"Messages\":[" MSG(",\"Attributes\":[]") "]}", JITRD_ERR_BAD_RESPONSE,
	                0);
	expect_messages(
	    "{\"Messages\":[" MSG(",\"Attributes\":{\"ApproximateReceiveCount\":\"x\"}") "]}",
	    JITRD_ERR_BAD_RESPONSE, 0);
	expect_messages(
	    "{\"Messages\":[" MSG(",\"Attributes\":{\"ApproximateReceiveCount\":\"-1\"}") "]}",
	    JITRD_ERR_BAD_RESPONSE, 0);
	expect_messages(
	    "{\"Messages\":[" MSG(",\"Attributes\":{\"ApproximateReceiveCount\":2}") "]}",
	    JITRD_ERR_BAD_RESPONSE, 0);
	/* the second message is bad: nothing of the first is left allocated */
	expect_messages("{\"Messages\":[" MSG("") ",{}]}", JITRD_ERR_BAD_RESPONSE, 0);
	/* more messages than asked for */
	eleven = malloc(4096);
	CU_ASSERT_FATAL(eleven != NULL);
	at += (size_t)snprintf(eleven, 4096, "{\"Messages\":[");
	for (int i = 0; i < 11; i++)
		at += (size_t)snprintf(eleven + at, 4096 - at, "%s" MSG(""), i ? "," : "");
	snprintf(eleven + at, 4096 - at, "]}");
	expect_messages(eleven, JITRD_ERR_BAD_RESPONSE, 0);
	free(eleven);
	/* a receipt handle over 1024 characters; a body over 256 KiB */
	big = malloc(300 * 1024);
	CU_ASSERT_FATAL(big != NULL);
	snprintf(
	    big, 300 * 1024,
	    "{\"Messages\":[{\"MessageId\":\"m\",\"Body\":\"b\",\"ReceiptHandle\":\"%01025d\"}]}",
	    0);
	expect_messages(big, JITRD_ERR_BAD_RESPONSE, 0);
	at = (size_t)snprintf(
	    big, 300 * 1024,
	    "{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"h\",\"Body\":\"");
	memset(big + at, 'a', JITRD_SQS_MAX_BODY + 1);
	snprintf(big + at + JITRD_SQS_MAX_BODY + 1, 16, "\"}]}");
	expect_messages(big, JITRD_ERR_BAD_RESPONSE, 0);
	free(big);
}

/* want_entries: one letter per entry, U unanswered, D done, R refused, F failed on SQS's side;
 * want_diag: what diag starts with. */
static void expect_batch(enum jitrd_sqs_op op, const char *text, size_t count, enum jitrd_err want,
                         const char *want_entries, const char *want_diag)
{
	static const char letters[] = "UDRF";
	struct json_object *j = text ? parse(text) : NULL;
	enum jitrd_sqs_entry entries[JITRD_SQS_MAX_MESSAGES];
	struct jitrd_diag diag = {{0}};
	enum jitrd_err err;

	for (size_t i = 0; i < JITRD_SQS_MAX_MESSAGES; i++)
		entries[i] = (enum jitrd_sqs_entry)3;
	entries[0] = (enum jitrd_sqs_entry)2;
	err = jitrd_sqs_read_batch(j, op, count, entries, &diag);
	CU_ASSERT_EQUAL(err, want);
	for (size_t i = 0; err == JITRD_OK && i < count; i++)
		CU_ASSERT_EQUAL(letters[entries[i]], want_entries[i]);
	if (err != JITRD_OK)
		CU_ASSERT_EQUAL(entries[0], 2); /* untouched */
	CU_ASSERT(strncmp(diag.text, want_diag, strlen(want_diag)) == 0);
	if (strncmp(diag.text, want_diag, strlen(want_diag)) != 0)
		fprintf(stderr, "diag: %s\n", diag.text);
	json_object_put(j);
}

static void expect_cmv(const char *text, size_t count, enum jitrd_err want,
                       const char *want_entries)
{
	expect_batch(JITRD_SQS_CHANGE_MESSAGE_VISIBILITY_BATCH, text, count, want, want_entries,
	             want == JITRD_OK ? "" : "ChangeMessageVisibilityBatch: ");
}

static void test_read_batch(void)
{
	expect_batch(JITRD_SQS_DELETE_MESSAGE_BATCH,
	             "{\"Successful\":[{\"Id\":\"0\"},{\"Id\":\"2\"}],\"Failed\":[{\"Id\":\"1\","
	             "\"Code\":\"ReceiptHandleIsInvalid\",\"SenderFault\":true}]}",
	             3, JITRD_OK, "DRD",
	             "DeleteMessageBatch: entry 1 failed: ReceiptHandleIsInvalid");
	expect_batch(JITRD_SQS_DELETE_MESSAGE_BATCH, "{\"Successful\":{}}", 1,
	             JITRD_ERR_BAD_RESPONSE, "", "DeleteMessageBatch: ");
	expect_cmv("{\"Successful\":[{\"Id\":\"0\"}]}", 2, JITRD_OK, "DU"); /* 1 absent */
	expect_cmv("{}", 1, JITRD_OK, "U");
	expect_cmv("{\"Successful\":[],\"Failed\":[{\"Id\":\"2\",\"SenderFault\":false,\"Code\":"
	           "\"InternalError\",\"Message\":\"m\"},{\"Id\":\"0\",\"SenderFault\":true,"
	           "\"Code\":\"ReceiptHandleIsInvalid\"}]}",
	           3, JITRD_OK, "RUF");
	expect_batch(JITRD_SQS_CHANGE_MESSAGE_VISIBILITY_BATCH,
	             "{\"Failed\":[{\"Id\":\"2\",\"SenderFault\":false,\"Code\":\"InternalError\"},"
	             "{\"Id\":\"1\",\"SenderFault\":true,\"Code\":\"ReceiptHandleIsInvalid\"}]}",
	             3, JITRD_OK, "URF",
	             "ChangeMessageVisibilityBatch: entry 1 failed: ReceiptHandleIsInvalid");
	/* hostile or malformed */
	expect_cmv(NULL, 1, JITRD_ERR_BAD_RESPONSE, "");
	expect_cmv("[]", 1, JITRD_ERR_BAD_RESPONSE, "");
	expect_cmv("{\"Successful\":{}}", 1, JITRD_ERR_BAD_RESPONSE, "");
	expect_cmv("{\"Failed\":\"x\"}", 1, JITRD_ERR_BAD_RESPONSE, "");
	expect_cmv("{\"Successful\":[{\"Id\":\"1\"}]}", 1, JITRD_ERR_BAD_RESPONSE, "");
	expect_cmv("{\"Successful\":[{\"Id\":\"-1\"}]}", 2, JITRD_ERR_BAD_RESPONSE, "");
	expect_cmv("{\"Successful\":[{\"Id\":\"01\"}]}", 2, JITRD_ERR_BAD_RESPONSE, "");
	expect_cmv("{\"Successful\":[{\"Id\":\"\"}]}", 2, JITRD_ERR_BAD_RESPONSE, "");
	expect_cmv("{\"Successful\":[{\"Id\":0}]}", 1, JITRD_ERR_BAD_RESPONSE, "");
	expect_cmv("{\"Successful\":[{}]}", 1, JITRD_ERR_BAD_RESPONSE, "");
	expect_cmv("{\"Successful\":[\"0\"]}", 1, JITRD_ERR_BAD_RESPONSE, "");
	expect_cmv("{\"Successful\":[{\"Id\":\"0000000000000000000\"}]}", 1, JITRD_ERR_BAD_RESPONSE,
	           "");
	expect_cmv("{\"Successful\":[{\"Id\":\"0\"}],\"Failed\":[{\"Id\":\"0\",\"SenderFault\":"
	           "true,\"Code\":\"X\"}]}",
	           2, JITRD_ERR_BAD_RESPONSE, "");
	expect_cmv("{\"Successful\":[{\"Id\":\"0\"},{\"Id\":\"0\"}]}", 2, JITRD_ERR_BAD_RESPONSE,
	           "");
	expect_cmv("{\"Successful\":[{\"Id\":\"0\"},{\"Id\":\"1\"},{\"Id\":\"2\"}]}", 2,
	           JITRD_ERR_BAD_RESPONSE, "");
	/* a Failed entry must say whose fault and what (botocore: both required) */
	expect_cmv("{\"Failed\":[{\"Id\":\"0\"}]}", 1, JITRD_ERR_BAD_RESPONSE, "");
	expect_cmv("{\"Failed\":[{\"Id\":\"0\",\"Code\":\"X\"}]}", 1, JITRD_ERR_BAD_RESPONSE, "");
	expect_cmv("{\"Failed\":[{\"Id\":\"0\",\"SenderFault\":\"true\",\"Code\":\"X\"}]}", 1,
	           JITRD_ERR_BAD_RESPONSE, "");
	expect_cmv("{\"Failed\":[{\"Id\":\"0\",\"SenderFault\":true}]}", 1, JITRD_ERR_BAD_RESPONSE,
	           "");
	expect_cmv("{\"Failed\":[{\"Id\":\"0\",\"SenderFault\":true,\"Code\":7}]}", 1,
	           JITRD_ERR_BAD_RESPONSE, "");
	expect_cmv("{\"Failed\":[{\"Id\":\"0\",\"SenderFault\":true,\"Code\":\"\"}]}", 1,
	           JITRD_ERR_BAD_RESPONSE, "");
	expect_cmv("{\"Failed\":[{\"Id\":\"0\",\"SenderFault\":true,\"Code\":\"xxxxxxxxxxxxxxxxxxxx"
	           "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}]}",
	           1, JITRD_ERR_BAD_RESPONSE, "");
}

static void test_read_depth(void)
{
	static const struct {
		const char *text;
		enum jitrd_err want;
		long long depth;
	} cases[] = {
	    {"{\"Attributes\":{\"ApproximateNumberOfMessages\":\"0\"}}", JITRD_OK, 0},
	    {"{\"Attributes\":{\"ApproximateNumberOfMessages\":\"12345\"}}", JITRD_OK, 12345},
	    {"{\"Attributes\":{}}", JITRD_ERR_BAD_RESPONSE, 0},
	    {"{\"Attributes\":{\"ApproximateNumberOfMessages\":12}}", JITRD_ERR_BAD_RESPONSE, 0},
	    {"{\"Attributes\":{\"ApproximateNumberOfMessages\":\"-1\"}}", JITRD_ERR_BAD_RESPONSE,
	     0},
	    {"{\"Attributes\":{\"ApproximateNumberOfMessages\":\"1e3\"}}", JITRD_ERR_BAD_RESPONSE,
	     0},
	    {"{\"Attributes\":{\"ApproximateNumberOfMessages\":\"99999999999999999999\"}}",
	     JITRD_ERR_BAD_RESPONSE, 0},
	    {"{\"Attributes\":[]}", JITRD_ERR_BAD_RESPONSE, 0},
	    {"[]", JITRD_ERR_BAD_RESPONSE, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *j = parse(cases[i].text);
		long long depth = -42;

		CU_ASSERT_EQUAL(jitrd_sqs_read_depth(j, &depth, NULL), cases[i].want);
		CU_ASSERT_EQUAL(depth, cases[i].want == JITRD_OK ? cases[i].depth : -42);
		json_object_put(j);
	}
	CU_ASSERT_EQUAL(jitrd_sqs_read_depth(NULL, &(long long){0}, NULL), JITRD_ERR_BAD_RESPONSE);
}

/* ---- against moto ---- */

static struct jitrd_credentials_provider *provider(const char *id, const char *key)
{
	static char env[2][300];
	const char *envp[3] = {env[0], env[1], NULL};
	struct jitrd_credentials_options opts;
	struct jitrd_credentials_provider *p = NULL;

	snprintf(env[0], sizeof(env[0]), "AWS_ACCESS_KEY_ID=%s", id);
	snprintf(env[1], sizeof(env[1]), "AWS_SECRET_ACCESS_KEY=%s", key);
	jitrd_credentials_options_init(&opts);
	opts.envp = envp;
	if (jitrd_credentials_new(&opts, &p, NULL) != JITRD_OK)
		return NULL;
	return p;
}

struct conn {
	struct jitrd_credentials_provider *creds;
	struct jitrd_sqs_client *client;
	struct jitrd_sqs_session *session;
};

static int open_conn(struct conn *c, const char *url, const char *secret_key)
{
	struct jitrd_sqs_client_options opts;
	struct jitrd_diag diag = {{0}};

	memset(c, 0, sizeof(*c));
	c->creds = provider(key_id, secret_key);
	jitrd_sqs_client_options_init(&opts, NULL);
	opts.queue_url = url;
	opts.backoff.max_attempts = 2;
	if (!c->creds || jitrd_sqs_client_new(&opts, c->creds, &c->client, &diag) != JITRD_OK ||
	    jitrd_sqs_session_new(c->client, &c->session) != JITRD_OK) {
		fprintf(stderr, "\n  client: %s\n", diag.text);
		return -1;
	}
	return 0;
}

static void close_conn(struct conn *c)
{
	jitrd_sqs_session_free(c->session);
	jitrd_sqs_client_free(c->client);
	jitrd_credentials_free(c->creds);
}

static void test_operations(void)
{
	struct jitrd_sqs_message m[JITRD_SQS_MAX_MESSAGES], again[JITRD_SQS_MAX_MESSAGES];
	struct jitrd_iot_result res = {0};
	struct jitrd_diag diag = {{0}};
	unsigned char deleted[3] = {0};
	enum jitrd_sqs_entry cmv[3];
	const char *handles[3], *cmv_handles[3];
	size_t n = 0, k = 0;
	long long depth = -1;
	struct conn c;
	int junk = -1;

	if (open_conn(&c, queue_url, secret) != 0) {
		CU_FAIL("client");
		close_conn(&c);
		return;
	}
	CU_ASSERT_EQUAL(
	    jitrd_sqs_queue_depth(c.session, jitrd_iot_deadline_in(10000), &depth, &res, &diag),
	    JITRD_OK);
	CU_ASSERT_EQUAL(depth, 3);
	CU_ASSERT_EQUAL_FATAL(jitrd_sqs_receive(c.session, jitrd_iot_deadline_in(20000), 1, 10, 30,
	                                        m, &n, &res, &diag),
	                      JITRD_OK);
	CU_ASSERT_EQUAL(n, 3);
	for (size_t i = 0; i < n; i++) {
		CU_ASSERT(m[i].message_id[0] && m[i].receipt_handle[0]);
		CU_ASSERT_EQUAL(m[i].receive_count, 1);
		if (strcmp(m[i].body, "junk") == 0)
			junk = (int)i;
		else
			CU_ASSERT(strstr(m[i].body, "PENDING_ACTIVATION") ||
			          strncmp(m[i].body, "eyJ", 3) == 0);
	}
	CU_ASSERT_FATAL(junk >= 0);
	/* hidden for 30 s: nothing now; shown again at once after a change to 0 */
	CU_ASSERT_EQUAL(jitrd_sqs_receive(c.session, jitrd_iot_deadline_in(20000), 0, 10, 30, again,
	                                  &k, &res, &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL(k, 0);
	/* a batch of 3 extends, one with a bogus handle that SQS refuses: exactly that entry */
	cmv_handles[0] = m[(junk + 1) % 3].receipt_handle;
	cmv_handles[1] = "AQEBbogus-receipt-handle";
	cmv_handles[2] = m[(junk + 2) % 3].receipt_handle;
	CU_ASSERT_EQUAL(jitrd_sqs_change_visibility_batch(c.session, jitrd_iot_deadline_in(10000),
	                                                  cmv_handles, 3, 30, cmv, &res, &diag),
	                JITRD_OK);
	CU_ASSERT(cmv[0] == JITRD_SQS_ENTRY_DONE && cmv[1] == JITRD_SQS_ENTRY_REFUSED &&
	          cmv[2] == JITRD_SQS_ENTRY_DONE);
	CU_ASSERT(strstr(diag.text, "entry 1 failed: ReceiptHandleIsInvalid") != NULL);
	/* the junk one shown again at once */
	cmv_handles[0] = m[junk].receipt_handle;
	diag.text[0] = '\0';
	CU_ASSERT_EQUAL(jitrd_sqs_change_visibility_batch(c.session, jitrd_iot_deadline_in(10000),
	                                                  cmv_handles, 1, 0, cmv, &res, &diag),
	                JITRD_OK);
	CU_ASSERT(cmv[0] == JITRD_SQS_ENTRY_DONE && diag.text[0] == '\0');
	CU_ASSERT_EQUAL_FATAL(jitrd_sqs_receive(c.session, jitrd_iot_deadline_in(20000), 1, 10, 30,
	                                        again, &k, &res, &diag),
	                      JITRD_OK);
	CU_ASSERT_EQUAL(k, 1);
	CU_ASSERT(k == 1 && strcmp(again[0].body, "junk") == 0 && again[0].receive_count == 2);
	for (size_t i = 0; i < 3; i++)
		handles[i] =
		    (int)i == junk && k == 1 ? again[0].receipt_handle : m[i].receipt_handle;
	CU_ASSERT_EQUAL(jitrd_sqs_delete_batch(c.session, jitrd_iot_deadline_in(10000), handles, 3,
	                                       deleted, &res, &diag),
	                JITRD_OK);
	CU_ASSERT(deleted[0] && deleted[1] && deleted[2]);
	jitrd_sqs_messages_cleanup(again, k);
	CU_ASSERT_EQUAL(
	    jitrd_sqs_queue_depth(c.session, jitrd_iot_deadline_in(10000), &depth, &res, &diag),
	    JITRD_OK);
	CU_ASSERT_EQUAL(depth, 0);
	CU_ASSERT_EQUAL(jitrd_sqs_receive(c.session, jitrd_iot_deadline_in(20000), 0, 10, 30, again,
	                                  &k, &res, &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL(k, 0);
	jitrd_sqs_messages_cleanup(m, n);
	close_conn(&c);
}

static void test_errors(void)
{
	struct jitrd_sqs_message m[JITRD_SQS_MAX_MESSAGES];
	struct jitrd_iot_result res = {0};
	struct jitrd_diag diag = {{0}};
	char unknown[600];
	size_t n = 99;
	struct conn c;
	enum jitrd_err err;

	/* a queue that does not exist: AWS's QueueDoesNotExist, final */
	snprintf(unknown, sizeof(unknown), "%.*s/nope", (int)(strrchr(queue_url, '/') - queue_url),
	         queue_url);
	if (open_conn(&c, unknown, secret) == 0) {
		err = jitrd_sqs_receive(c.session, jitrd_iot_deadline_in(20000), 0, 10, 30, m, &n,
		                        &res, &diag);
		CU_ASSERT_EQUAL(err, JITRD_ERR_API);
		CU_ASSERT_EQUAL(res.http_status, 400);
		CU_ASSERT_STRING_EQUAL(res.code, "QueueDoesNotExist");
		CU_ASSERT_EQUAL(res.attempts, 1);
		CU_ASSERT_EQUAL(n, 99);
		fprintf(stderr, "\n  unknown queue: %s", diag.text);
	} else {
		CU_FAIL("client");
	}
	close_conn(&c);
	/* the right key id with the wrong secret: the signature does not match (moto answers
	 * that one in XML, as SQS's query protocol would, so only the status is read) */
	if (open_conn(&c, queue_url, "not-the-secret") == 0) {
		err = jitrd_sqs_receive(c.session, jitrd_iot_deadline_in(20000), 0, 10, 30, m, &n,
		                        &res, &diag);
		CU_ASSERT_EQUAL(err, JITRD_ERR_API);
		CU_ASSERT_EQUAL(res.http_status, 403);
		CU_ASSERT(strstr(diag.text, "not-the-secret") == NULL);
		fprintf(stderr, "\n  bad secret: %s\n", diag.text);
	} else {
		CU_FAIL("client");
	}
	close_conn(&c);
}

static int always(void *ctx)
{
	return *(int *)ctx;
}

static void test_cancel(void)
{
	struct jitrd_sqs_message m[JITRD_SQS_MAX_MESSAGES];
	struct conn c;
	size_t n = 0;
	int flag = 0;
	long long started;

	if (open_conn(&c, queue_url, secret) != 0) {
		CU_FAIL("client");
		close_conn(&c);
		return;
	}
	jitrd_sqs_session_set_cancel(c.session, always, &flag);
	flag = 1;
	started = mono_ms();
	/* a 20 s long poll on an empty queue, cancelled from its start */
	CU_ASSERT_EQUAL(jitrd_sqs_receive(c.session, jitrd_iot_deadline_in(60000), 20, 10, 30, m,
	                                  &n, NULL, NULL),
	                JITRD_ERR_DEADLINE);
	CU_ASSERT(mono_ms() - started < 5000);
	close_conn(&c);
}

static void test_refused_settings(void)
{
	struct jitrd_sqs_client_options opts;
	struct jitrd_sqs_client *client = NULL;
	struct jitrd_credentials_provider *creds = provider("AKID", "secret");
	static const char *const bad[] = {
	    "http://sqs.example.net/123456789012/q", /* plain http off loopback */
	    "https://sqs.example.net",               /* no queue path */
	    "ftp://127.0.0.1/1/q",
	    "",
	};

	CU_ASSERT_PTR_NOT_NULL_FATAL(creds);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct jitrd_diag diag = {{0}};

		jitrd_sqs_client_options_init(&opts, NULL);
		opts.queue_url = bad[i];
		CU_ASSERT_EQUAL(jitrd_sqs_client_new(&opts, creds, &client, &diag),
		                JITRD_ERR_CONFIG);
		CU_ASSERT_PTR_NULL(client);
		CU_ASSERT(strstr(diag.text, "[sqs]") != NULL);
	}
	jitrd_sqs_client_options_init(&opts, NULL);
	opts.queue_url = "https://sqs.eu-west-1.amazonaws.com/123456789012/q";
	opts.endpoint = "http://sqs.example.net";
	CU_ASSERT_EQUAL(jitrd_sqs_client_new(&opts, creds, &client, NULL), JITRD_ERR_CONFIG);
	CU_ASSERT_PTR_NULL(client);
	CU_ASSERT_STRING_EQUAL(jitrd_sqs_op_name(JITRD_SQS_DELETE_MESSAGE_BATCH),
	                       "DeleteMessageBatch");
	jitrd_credentials_free(creds);
}

static void stop_server(void)
{
	if (server_pid > 0)
		kill((pid_t)server_pid, SIGTERM);
	server_pid = -1;
	if (server) {
		pclose(server);
		server = NULL;
	}
}

static int start_server(void)
{
	const char *root = getenv("JITRD_SOURCE_ROOT");
	char command[4200], line[1024] = "";

	if (!root || snprintf(command, sizeof(command),
	                      "python3 '%s/tests/aws/sqs_server.py' --lifetime 120 2>/dev/null",
	                      root) >= (int)sizeof(command))
		return -1;
	server = popen(command, "r");
	if (!server || !fgets(line, sizeof(line), server))
		return -1;
	if (sscanf(line, "READY %ld %*d %128s %128s %511s", &server_pid, key_id, secret,
	           queue_url) != 4)
		return -1;
	return 0;
}

int main(void)
{
	static const struct tsupport_case readers[] = {
	    {"ReceiveMessage answers: good and hostile", test_read_messages},
	    {"...Batch answers: good, hostile, Failed entries", test_read_batch},
	    {"GetQueueAttributes answers", test_read_depth},
	    {"refused settings", test_refused_settings},
	    {NULL, NULL},
	};
	static const struct tsupport_case live[] = {
	    {"receive, visibility, batch delete, depth (moto)", test_operations},
	    {"unknown queue, bad secret (moto verifies SigV4)", test_errors},
	    {"a long poll cancelled", test_cancel},
	    {NULL, NULL},
	};
	int status;

	signal(SIGPIPE, SIG_IGN);
	status = tsupport_run("sqs_client readers", readers);
	if (status != 0)
		return status;
	if (system("python3 -c 'import moto.server, boto3, requests' 2>/dev/null") != 0) {
		printf("SKIP: python3 cannot import moto (and boto3)\n");
		return 77;
	}
	if (start_server() != 0) {
		fprintf(stderr, "sqs_server.py did not start\n");
		stop_server();
		return 1;
	}
	status = tsupport_run("sqs_client", live);
	stop_server();
	return status;
}
