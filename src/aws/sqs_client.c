/* sqs_client.c — the Amazon SQS operations `jitrd run` calls: one row each in `ops` (the
 * operation's name as botocore's sqs/2012-11-05 model spells it), the request built with
 * json-c and sent through the IoT client's transport (iot_transport.c: SigV4 service sqs,
 * X-Amz-Target, retries, error codes from __type), the answer read member by member with
 * types and sizes checked. Must not log or put a credential into a message. */
#include "jitrd/sqs_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "awshttp.h"
#include "iot_transport.h"
#include "sqs_client_parse.h"
#include "jitrd/text.h"

/* Seconds added to a request's timeout beyond a long poll's wait. */
#define POLL_MARGIN_MS 10000

struct sqs_op_spec {
	const char *name; /* X-Amz-Target: AmazonSQS.<name>; the IAM action sqs:<name> */
};

/* Every operation called; tests/deploy/test-aws.py reads the names from this table. */
static const struct sqs_op_spec ops[JITRD_SQS_OP_COUNT] = {
    [JITRD_SQS_RECEIVE_MESSAGE] = {"ReceiveMessage"},
    [JITRD_SQS_DELETE_MESSAGE_BATCH] = {"DeleteMessageBatch"},
    [JITRD_SQS_CHANGE_MESSAGE_VISIBILITY_BATCH] = {"ChangeMessageVisibilityBatch"},
    [JITRD_SQS_GET_QUEUE_ATTRIBUTES] = {"GetQueueAttributes"},
};

static const char *service_op_name(int op)
{
	return op >= 0 && op < JITRD_SQS_OP_COUNT ? ops[op].name : "?";
}

static const struct jitrd_iot_service sqs_service = {
    .signing_name = "sqs",
    .content_type = "application/x-amz-json-1.0",
    .target_prefix = "AmazonSQS",
    .op_name = service_op_name,
    .op_count = JITRD_SQS_OP_COUNT,
};

struct jitrd_sqs_client {
	struct jitrd_iot_client *transport;
	char queue_url[JITRD_SQS_MAX_QUEUE_URL + 1];
	long request_timeout_ms;
};

struct jitrd_sqs_session {
	struct jitrd_sqs_client *client;
	struct jitrd_iot_session *transport;
};

const char *jitrd_sqs_op_name(enum jitrd_sqs_op op)
{
	return (unsigned)op < JITRD_SQS_OP_COUNT ? ops[op].name : "?";
}

void jitrd_sqs_client_options_init(struct jitrd_sqs_client_options *opts,
                                   const struct jitrd_config *cfg)
{
	memset(opts, 0, sizeof(*opts));
	opts->queue_url = "";
	opts->region = "us-east-1";
	opts->endpoint = "";
	opts->connect_timeout_ms = 3000;
	opts->request_timeout_ms = 10000;
	jitrd_backoff_policy_default(&opts->backoff);
	if (!cfg)
		return;
	opts->queue_url = cfg->sqs.queue_url;
	opts->region = cfg->sqs.region;
	opts->endpoint = cfg->sqs.endpoint;
}

/* scheme://host[:port] of the queue URL: the endpoint when none is configured. */
static enum jitrd_err endpoint_of(const char *queue_url, char *out, size_t size,
                                  struct jitrd_diag *diag)
{
	char scheme[16], host[256], path[JITRD_SQS_MAX_QUEUE_URL + 1], quoted[200];
	long port = 0;
	int n;
	int v6;

	if (strlen(queue_url) > JITRD_SQS_MAX_QUEUE_URL ||
	    jitrd_awshttp_url_parts(queue_url, scheme, sizeof(scheme), host, sizeof(host), &port,
	                            path, sizeof(path)) != JITRD_OK ||
	    strlen(path) < 2) {
		jitrd_quote(quoted, sizeof(quoted), queue_url, strlen(queue_url));
		jitrd_diag_set(diag, "[sqs] queue_url %s: not scheme://host[:port]/ACCOUNT/QUEUE",
		               quoted);
		return JITRD_ERR_CONFIG;
	}
	v6 = strchr(host, ':') != NULL;
	n = snprintf(out, size, "%s://%s%s%s:%ld", scheme, v6 ? "[" : "", host, v6 ? "]" : "",
	             port);
	if (n < 0 || (size_t)n >= size) {
		jitrd_diag_set(diag, "[sqs] queue_url: host too long");
		return JITRD_ERR_CONFIG;
	}
	return JITRD_OK;
}

enum jitrd_err jitrd_sqs_client_new(const struct jitrd_sqs_client_options *opts,
                                    struct jitrd_credentials_provider *creds,
                                    struct jitrd_sqs_client **out, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_iot_client_options t;
	struct jitrd_sqs_client *c = NULL;
	char endpoint[300];

	if (!opts || !creds || !out || !opts->queue_url || !opts->region || !opts->endpoint ||
	    opts->request_timeout_ms <= 0) {
		jitrd_diag_set(diag, "SQS client: invalid options");
		goto cleanup;
	}
	result = JITRD_ERR_CONFIG;
	if (!jitrd_awshttp_url_allowed(opts->queue_url)) {
		jitrd_diag_set(diag, "[sqs] queue_url: must be https (http only to loopback)");
		goto cleanup;
	}
	if (opts->endpoint[0])
		snprintf(endpoint, sizeof(endpoint), "%s", opts->endpoint);
	else if ((result = endpoint_of(opts->queue_url, endpoint, sizeof(endpoint), diag)) !=
	         JITRD_OK)
		goto cleanup;
	result = JITRD_ERR_NOMEM;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto cleanup;
	snprintf(c->queue_url, sizeof(c->queue_url), "%s", opts->queue_url);
	c->request_timeout_ms = opts->request_timeout_ms;
	jitrd_iot_client_options_init(&t, NULL);
	t.region = opts->region;
	t.endpoint = endpoint;
	t.connect_timeout_ms = opts->connect_timeout_ms;
	/* A long poll lasts up to 20 s: one attempt may take that long plus the usual. */
	t.request_timeout_ms = opts->request_timeout_ms + 20000 + POLL_MARGIN_MS;
	t.backoff = opts->backoff;
	for (int i = 0; i < JITRD_IOT_OP_COUNT; i++)
		t.rates[i] = 0; /* SQS has no per-operation quota on these calls */
	result = jitrd_iot_client_new_service(&t, &sqs_service, creds, &c->transport, diag);
	if (result != JITRD_OK) {
		jitrd_diag_prefix(diag, "[sqs]");
		goto cleanup;
	}
	*out = c;
	c = NULL;
	result = JITRD_OK;
cleanup:
	free(c);
	return result;
}

void jitrd_sqs_client_free(struct jitrd_sqs_client *c)
{
	if (!c)
		return;
	jitrd_iot_client_free(c->transport);
	free(c);
}

const char *jitrd_sqs_client_queue_url(const struct jitrd_sqs_client *c)
{
	return c ? c->queue_url : "";
}

enum jitrd_err jitrd_sqs_session_new(struct jitrd_sqs_client *client,
                                     struct jitrd_sqs_session **out)
{
	struct jitrd_sqs_session *s;
	enum jitrd_err err;

	if (!client || !out)
		return JITRD_ERR_INVALID_ARG;
	s = calloc(1, sizeof(*s));
	if (!s)
		return JITRD_ERR_NOMEM;
	s->client = client;
	err = jitrd_iot_session_new(client->transport, &s->transport);
	if (err != JITRD_OK) {
		free(s);
		return err;
	}
	*out = s;
	return JITRD_OK;
}

void jitrd_sqs_session_free(struct jitrd_sqs_session *s)
{
	if (!s)
		return;
	jitrd_iot_session_free(s->transport);
	free(s);
}

void jitrd_sqs_session_set_cancel(struct jitrd_sqs_session *s, int (*cancelled)(void *ctx),
                                  void *ctx)
{
	if (s)
		jitrd_iot_session_set_cancel(s->transport, cancelled, ctx);
}

void jitrd_sqs_messages_cleanup(struct jitrd_sqs_message *messages, size_t count)
{
	if (!messages)
		return;
	for (size_t i = 0; i < count; i++) {
		free(messages[i].body);
		memset(&messages[i], 0, sizeof(messages[i]));
	}
}

/* ---- requests ---- */

static enum jitrd_err put_string(struct json_object *obj, const char *key, const char *value)
{
	struct json_object *v = json_object_new_string(value);

	if (!v || json_object_object_add(obj, key, v) != 0) {
		json_object_put(v);
		return JITRD_ERR_NOMEM;
	}
	return JITRD_OK;
}

static enum jitrd_err put_int(struct json_object *obj, const char *key, int value)
{
	struct json_object *v = json_object_new_int(value);

	if (!v || json_object_object_add(obj, key, v) != 0) {
		json_object_put(v);
		return JITRD_ERR_NOMEM;
	}
	return JITRD_OK;
}

static enum jitrd_err put_value(struct json_object *obj, const char *key, struct json_object *v)
{
	if (!v || json_object_object_add(obj, key, v) != 0) {
		json_object_put(v);
		return JITRD_ERR_NOMEM;
	}
	return JITRD_OK;
}

/* A request object holding QueueUrl, or NULL. */
static struct json_object *new_request(const struct jitrd_sqs_session *s)
{
	struct json_object *req = json_object_new_object();

	if (req && put_string(req, "QueueUrl", s->client->queue_url) != JITRD_OK) {
		json_object_put(req);
		req = NULL;
	}
	return req;
}

/* Sends req (consumed) as op. On JITRD_OK *json is the parsed answer (NULL for none). */
static enum jitrd_err send_op(struct jitrd_sqs_session *s, int64_t deadline, enum jitrd_sqs_op op,
                              struct json_object *req, struct json_object **json,
                              struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	struct jitrd_iot_call c = {.op = (int)op, .method = "POST", .path = "/"};
	enum jitrd_err result = JITRD_ERR_NOMEM;
	size_t len = 0;
	const char *text;

	if (!req)
		goto cleanup;
	text = json_object_to_json_string_length(req, JSON_C_TO_STRING_PLAIN, &len);
	if (!text)
		goto cleanup;
	c.body = text;
	c.body_len = len;
	result = jitrd_iot_call(s->transport, deadline, &c, json, res, diag);
cleanup:
	if (result == JITRD_ERR_NOMEM)
		jitrd_diag_set(diag, "%s: out of memory", ops[op].name);
	json_object_put(req);
	return result;
}

enum jitrd_err jitrd_sqs_receive(struct jitrd_sqs_session *s, int64_t deadline, int wait_seconds,
                                 int max_messages, int visibility_seconds,
                                 struct jitrd_sqs_message out[JITRD_SQS_MAX_MESSAGES],
                                 size_t *count, struct jitrd_iot_result *res,
                                 struct jitrd_diag *diag)
{
	struct json_object *req, *names, *json = NULL;
	enum jitrd_err result;

	if (!s || !out || !count || wait_seconds < 0 || wait_seconds > 20 || max_messages < 1 ||
	    max_messages > JITRD_SQS_MAX_MESSAGES || visibility_seconds < 0 ||
	    visibility_seconds > 43200) {
		jitrd_diag_set(diag, "ReceiveMessage: invalid argument");
		return JITRD_ERR_INVALID_ARG;
	}
	req = new_request(s);
	names = json_object_new_array();
	if (!req || !names ||
	    json_object_array_add(names, json_object_new_string("ApproximateReceiveCount")) != 0 ||
	    put_value(req, "MessageSystemAttributeNames", names) != JITRD_OK ||
	    put_int(req, "MaxNumberOfMessages", max_messages) != JITRD_OK ||
	    put_int(req, "WaitTimeSeconds", wait_seconds) != JITRD_OK ||
	    put_int(req, "VisibilityTimeout", visibility_seconds) != JITRD_OK) {
		if (!req || json_object_object_get(req, "MessageSystemAttributeNames") != names)
			json_object_put(names);
		json_object_put(req);
		jitrd_diag_set(diag, "ReceiveMessage: out of memory");
		return JITRD_ERR_NOMEM;
	}
	result = send_op(s, deadline, JITRD_SQS_RECEIVE_MESSAGE, req, &json, res, diag);
	if (result == JITRD_OK)
		result = jitrd_sqs_read_messages(json, (size_t)max_messages, out, count, diag);
	json_object_put(json);
	return result;
}

/* A ...Batch call on count (1..10) receipt handles, entry i with Id "i"; seconds >= 0 adds
 * each entry's VisibilityTimeout. */
static enum jitrd_err send_batch(struct jitrd_sqs_session *s, int64_t deadline,
                                 enum jitrd_sqs_op op, const char *const *receipt_handles,
                                 size_t count, int seconds, enum jitrd_sqs_entry *out,
                                 struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	struct json_object *req, *entries, *json = NULL;
	enum jitrd_err result;

	req = new_request(s);
	entries = json_object_new_array();
	if (!req || !entries) {
		json_object_put(entries);
		goto nomem;
	}
	if (put_value(req, "Entries", entries) != JITRD_OK)
		goto nomem;
	for (size_t i = 0; i < count; i++) {
		struct json_object *entry = json_object_new_object();
		char id[24];

		snprintf(id, sizeof(id), "%zu", i);
		if (!entry || json_object_array_add(entries, entry) != 0) {
			json_object_put(entry);
			goto nomem;
		}
		if (put_string(entry, "Id", id) != JITRD_OK ||
		    put_string(entry, "ReceiptHandle", receipt_handles[i]) != JITRD_OK ||
		    (seconds >= 0 && put_int(entry, "VisibilityTimeout", seconds) != JITRD_OK))
			goto nomem;
	}
	result = send_op(s, deadline, op, req, &json, res, diag);
	if (result == JITRD_OK)
		result = jitrd_sqs_read_batch(json, op, count, out, diag);
	json_object_put(json);
	return result;
nomem:
	json_object_put(req);
	jitrd_diag_set(diag, "%s: out of memory", ops[op].name);
	return JITRD_ERR_NOMEM;
}

enum jitrd_err jitrd_sqs_delete_batch(struct jitrd_sqs_session *s, int64_t deadline,
                                      const char *const *receipt_handles, size_t count,
                                      unsigned char *deleted, struct jitrd_iot_result *res,
                                      struct jitrd_diag *diag)
{
	enum jitrd_sqs_entry entries[JITRD_SQS_MAX_MESSAGES];
	enum jitrd_err result;

	if (!s || !receipt_handles || !deleted || count == 0 || count > JITRD_SQS_MAX_MESSAGES) {
		jitrd_diag_set(diag, "DeleteMessageBatch: invalid argument");
		return JITRD_ERR_INVALID_ARG;
	}
	result = send_batch(s, deadline, JITRD_SQS_DELETE_MESSAGE_BATCH, receipt_handles, count, -1,
	                    entries, res, diag);
	for (size_t i = 0; result == JITRD_OK && i < count; i++)
		deleted[i] = entries[i] == JITRD_SQS_ENTRY_DONE;
	return result;
}

enum jitrd_err jitrd_sqs_change_visibility_batch(struct jitrd_sqs_session *s, int64_t deadline,
                                                 const char *const *receipt_handles, size_t count,
                                                 int seconds, enum jitrd_sqs_entry *entries,
                                                 struct jitrd_iot_result *res,
                                                 struct jitrd_diag *diag)
{
	if (!s || !receipt_handles || !entries || count == 0 || count > JITRD_SQS_MAX_MESSAGES ||
	    seconds < 0 || seconds > 43200) {
		jitrd_diag_set(diag, "ChangeMessageVisibilityBatch: invalid argument");
		return JITRD_ERR_INVALID_ARG;
	}
	return send_batch(s, deadline, JITRD_SQS_CHANGE_MESSAGE_VISIBILITY_BATCH, receipt_handles,
	                  count, seconds, entries, res, diag);
}

enum jitrd_err jitrd_sqs_queue_depth(struct jitrd_sqs_session *s, int64_t deadline,
                                     long long *depth, struct jitrd_iot_result *res,
                                     struct jitrd_diag *diag)
{
	struct json_object *req, *names, *json = NULL;
	enum jitrd_err result;

	if (!s || !depth) {
		jitrd_diag_set(diag, "GetQueueAttributes: invalid argument");
		return JITRD_ERR_INVALID_ARG;
	}
	req = new_request(s);
	names = json_object_new_array();
	if (!req || !names ||
	    json_object_array_add(names, json_object_new_string("ApproximateNumberOfMessages")) !=
	        0 ||
	    put_value(req, "AttributeNames", names) != JITRD_OK) {
		if (!req || json_object_object_get(req, "AttributeNames") != names)
			json_object_put(names);
		json_object_put(req);
		jitrd_diag_set(diag, "GetQueueAttributes: out of memory");
		return JITRD_ERR_NOMEM;
	}
	result = send_op(s, deadline, JITRD_SQS_GET_QUEUE_ATTRIBUTES, req, &json, res, diag);
	if (result == JITRD_OK)
		result = jitrd_sqs_read_depth(json, depth, diag);
	json_object_put(json);
	return result;
}

/* ---- answers (untrusted) ---- */

static enum jitrd_err bad(struct jitrd_diag *diag, const char *op, const char *what)
{
	jitrd_diag_set(diag, "%s: %s", op, what);
	return JITRD_ERR_BAD_RESPONSE;
}

/* A string member of obj into out (size bytes with the NUL): 1 when present, 0 when absent,
 * -1 when of another type, empty or too long. */
static int get_text(struct json_object *obj, const char *key, char *out, size_t size)
{
	struct json_object *v;
	size_t n;

	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	n = (size_t)json_object_get_string_len(v);
	if (n == 0 || n >= size)
		return -1;
	memcpy(out, json_object_get_string(v), n);
	out[n] = '\0';
	return 1;
}

/* A decimal count (SQS sends attributes as strings) within 0..max. */
static int parse_count(const char *s, long long max, long long *out)
{
	char *end;
	long long v;

	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static enum jitrd_err read_message(struct json_object *m, struct jitrd_sqs_message *out,
                                   struct jitrd_diag *diag)
{
	static const char op[] = "ReceiveMessage";
	struct json_object *v, *attrs;
	char count[24];
	long long receives = 0;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!json_object_is_type(m, json_type_object))
		return bad(diag, op, "a message that is not an object");
	if (get_text(m, "MessageId", out->message_id, sizeof(out->message_id)) != 1)
		return bad(diag, op, "MessageId missing, not a string or too long");
	if (get_text(m, "ReceiptHandle", out->receipt_handle, sizeof(out->receipt_handle)) != 1)
		return bad(diag, op, "ReceiptHandle missing, not a string or too long");
	if (json_object_object_get_ex(m, "Attributes", &attrs)) {
		int got;

		if (!json_object_is_type(attrs, json_type_object))
			return bad(diag, op, "Attributes is not an object");
		got = get_text(attrs, "ApproximateReceiveCount", count, sizeof(count));
		if (got < 0 || (got == 1 && parse_count(count, 1000000000LL, &receives) != 0))
			return bad(diag, op, "ApproximateReceiveCount is not a count");
		out->receive_count = (unsigned)receives;
	}
	if (!json_object_object_get_ex(m, "Body", &v) || !json_object_is_type(v, json_type_string))
		return bad(diag, op, "Body missing or not a string");
	n = (size_t)json_object_get_string_len(v);
	if (n > JITRD_SQS_MAX_BODY)
		return bad(diag, op, "Body over 262144 bytes");
	out->body = malloc(n + 1);
	if (!out->body) {
		jitrd_diag_set(diag, "%s: out of memory", op);
		return JITRD_ERR_NOMEM;
	}
	memcpy(out->body, json_object_get_string(v), n);
	out->body[n] = '\0';
	out->body_len = n;
	return JITRD_OK;
}

enum jitrd_err jitrd_sqs_read_messages(struct json_object *json, size_t max,
                                       struct jitrd_sqs_message *out, size_t *count,
                                       struct jitrd_diag *diag)
{
	static const char op[] = "ReceiveMessage";
	struct json_object *list;
	enum jitrd_err result = JITRD_OK;
	size_t n, done = 0;

	if (!out || !count || max > JITRD_SQS_MAX_MESSAGES)
		return JITRD_ERR_INVALID_ARG;
	if (json && !json_object_is_type(json, json_type_object))
		return bad(diag, op, "the answer is not an object");
	if (!json || !json_object_object_get_ex(json, "Messages", &list)) {
		*count = 0; /* a long poll that ended empty */
		return JITRD_OK;
	}
	if (!json_object_is_type(list, json_type_array))
		return bad(diag, op, "Messages is not an array");
	n = json_object_array_length(list);
	if (n > max)
		return bad(diag, op, "more messages than asked for");
	for (; done < n; done++) {
		result = read_message(json_object_array_get_idx(list, done), &out[done], diag);
		if (result != JITRD_OK)
			break;
	}
	if (result != JITRD_OK) {
		jitrd_sqs_messages_cleanup(out, done + 1);
		return result;
	}
	*count = n;
	return JITRD_OK;
}

/* The batch index of an entry's Id ("0".."count-1"), or -1. */
static long entry_index(struct json_object *entry, size_t count)
{
	char id[8], sent[8];
	long long index;

	if (!json_object_is_type(entry, json_type_object) ||
	    get_text(entry, "Id", id, sizeof(id)) != 1 ||
	    parse_count(id, (long long)count - 1, &index) != 0)
		return -1;
	/* exactly an Id sent: "01" is not "1" */
	snprintf(sent, sizeof(sent), "%lld", index);
	return strcmp(sent, id) == 0 ? (long)index : -1;
}

enum jitrd_err jitrd_sqs_read_batch(struct json_object *json, enum jitrd_sqs_op op, size_t count,
                                    enum jitrd_sqs_entry *entries, struct jitrd_diag *diag)
{
	static const char *const lists[] = {"Successful", "Failed"};
	enum jitrd_sqs_entry got[JITRD_SQS_MAX_MESSAGES] = {JITRD_SQS_ENTRY_UNANSWERED};
	const char *name = jitrd_sqs_op_name(op);
	char first_code[64] = "";
	long first_failed = -1;

	if (!entries || count == 0 || count > JITRD_SQS_MAX_MESSAGES)
		return JITRD_ERR_INVALID_ARG;
	if (!json || !json_object_is_type(json, json_type_object))
		return bad(diag, name, "the answer is not an object");
	for (size_t l = 0; l < 2; l++) {
		struct json_object *list;

		if (!json_object_object_get_ex(json, lists[l], &list))
			continue;
		if (!json_object_is_type(list, json_type_array) ||
		    json_object_array_length(list) > count)
			return bad(diag, name, "Successful or Failed is not a list of the batch");
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			struct json_object *entry = json_object_array_get_idx(list, i), *fault;
			long index = entry_index(entry, count);
			char code[64];

			if (index < 0 || got[index] != JITRD_SQS_ENTRY_UNANSWERED)
				return bad(diag, name, "an entry Id outside the batch or repeated");
			if (l == 0) {
				got[index] = JITRD_SQS_ENTRY_DONE;
				continue;
			}
			/* botocore's BatchResultErrorEntry: Id, SenderFault and Code required. */
			if (!json_object_object_get_ex(entry, "SenderFault", &fault) ||
			    !json_object_is_type(fault, json_type_boolean) ||
			    get_text(entry, "Code", code, sizeof(code)) != 1)
				return bad(diag, name,
				           "a Failed entry without SenderFault or Code");
			got[index] = json_object_get_boolean(fault) ? JITRD_SQS_ENTRY_REFUSED
			                                            : JITRD_SQS_ENTRY_FAILED;
			if (first_failed < 0 || index < first_failed) {
				first_failed = index;
				memcpy(first_code, code, sizeof(code));
			}
		}
	}
	memcpy(entries, got, count * sizeof(*entries));
	if (first_failed >= 0)
		jitrd_diag_set(diag, "%s: entry %ld failed: %s", name, first_failed, first_code);
	return JITRD_OK;
}

enum jitrd_err jitrd_sqs_read_depth(struct json_object *json, long long *depth,
                                    struct jitrd_diag *diag)
{
	static const char op[] = "GetQueueAttributes";
	struct json_object *attrs;
	char text[24];
	long long v;

	if (!depth)
		return JITRD_ERR_INVALID_ARG;
	if (!json || !json_object_is_type(json, json_type_object) ||
	    !json_object_object_get_ex(json, "Attributes", &attrs) ||
	    !json_object_is_type(attrs, json_type_object))
		return bad(diag, op, "Attributes missing or not an object");
	if (get_text(attrs, "ApproximateNumberOfMessages", text, sizeof(text)) != 1 ||
	    parse_count(text, 1000000000000LL, &v) != 0)
		return bad(diag, op, "ApproximateNumberOfMessages missing or not a count");
	*depth = v;
	return JITRD_OK;
}
