/* lambda.c — jitrd as an AWS Lambda custom runtime: the Runtime API loop over libcurl (one
 * keep-alive connection to the local endpoint) and the event shapes of lambda.h. It decides
 * nothing itself: each registration event goes through the pipeline, and it never lets one
 * event run past the invocation's deadline. */
#include "jitrd/lambda.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "jitrd/aws_setup.h"
#include "jitrd/clock.h"
#include "jitrd/log.h"
#include "lambda_runtime.h"

extern char **environ;

#define RUNTIME_API_VERSION "2018-06-01"
#define MESSAGE_ID_MAX      256 /* SQS message ids are UUIDs; generous */
#define JSON_DEPTH_MAX      16  /* our shapes are 3 deep; a hostile payload stays shallow */
#define POST_TIMEOUT_MS     10000L
#define CONNECT_TIMEOUT_MS  2000L
#define FALLBACK_DEADLINE   (60 * 1000) /* when Lambda-Runtime-Deadline-Ms is missing */

/* ------------------------------------------------------------------------------------------
 * Event shapes (lambda.h): no I/O here beyond what ops does.
 */

void jitrd_lambda_reply_cleanup(struct jitrd_lambda_reply *reply)
{
	if (!reply)
		return;
	free(reply->body);
	memset(reply, 0, sizeof(*reply));
}

/* Serialises o (consumed) into *reply; the error fields are set by the caller. */
static enum jitrd_err reply_from(json_object *o, struct jitrd_lambda_reply *reply)
{
	const char *text;
	size_t len = 0;
	char *body;

	if (!o)
		return JITRD_ERR_NOMEM;
	text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	body = text ? strndup(text, len) : NULL;
	json_object_put(o);
	if (!body)
		return JITRD_ERR_NOMEM;
	memset(reply, 0, sizeof(*reply));
	reply->body = body;
	reply->body_len = len;
	return JITRD_OK;
}

/* Adds name: value, taking value (NULL after a failed json_object_new_*). 0 or -1. */
static int add(json_object *o, const char *name, json_object *value)
{
	if (!value)
		return -1;
	if (json_object_object_add(o, name, value) != 0) {
		json_object_put(value);
		return -1;
	}
	return 0;
}

enum jitrd_err jitrd_lambda_error_reply(const char *type, const char *message,
                                        struct jitrd_lambda_reply *reply)
{
	json_object *o = json_object_new_object();
	struct jitrd_lambda_reply made;
	enum jitrd_err err;

	if (o && (add(o, "errorMessage", json_object_new_string(message)) != 0 ||
	          add(o, "errorType", json_object_new_string(type)) != 0 ||
	          add(o, "stackTrace", json_object_new_array()) != 0)) {
		json_object_put(o);
		return JITRD_ERR_NOMEM;
	}
	err = reply_from(o, &made);
	if (err != JITRD_OK)
		return err;
	made.is_error = 1;
	snprintf(made.error_type, sizeof(made.error_type), "%s", type);
	*reply = made;
	return JITRD_OK;
}

static const char *string_member(json_object *o, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int has_member(json_object *o, const char *name)
{
	return json_object_object_get_ex(o, name, NULL);
}

static void report(const struct jitrd_lambda_ops *ops, const struct jitrd_pipeline_result *r)
{
	if (ops->outcome)
		ops->outcome(ops->ctx, r);
}

/* Shape 1: the registration event an IoT rule hands to Lambda. */
static enum jitrd_err answer_registration(const struct jitrd_lambda_ops *ops, const char *payload,
                                          size_t len, int64_t until,
                                          struct jitrd_lambda_reply *reply)
{
	struct jitrd_pipeline_result r;
	json_object *o;
	enum jitrd_err err = ops->process(ops->ctx, payload, len, until, &r);

	if (err != JITRD_OK)
		return err;
	report(ops, &r);
	if (r.retry || r.decision == JITRD_DECISION_FAILED) {
		/* An error reply is what makes Lambda retry an asynchronous invocation. Issue 5: any
		 * API failure is retried here, final or not — Lambda's own retry budget and the
		 * dead-letter queue bound it, and nothing else would look at the event again. */
		char message[sizeof(r.reason) + 64];
		snprintf(message, sizeof(message), "%s: %s", jitrd_decision_name(r.decision),
		         r.reason);
		return jitrd_lambda_error_reply("jitrd.Retry", message, reply);
	}
	o = json_object_new_object();
	if (o &&
	    (add(o, "decision", json_object_new_string(jitrd_decision_name(r.decision))) != 0 ||
	     add(o, "reason", json_object_new_string(r.reason)) != 0 ||
	     add(o, "certificateId", json_object_new_string(r.certificate_id)) != 0 ||
	     add(o, "status", json_object_new_string(r.status)) != 0)) {
		json_object_put(o);
		return JITRD_ERR_NOMEM;
	}
	return reply_from(o, reply);
}

/* Every record of an SQS batch, checked before any is run: a batch that is not exactly SQS's
 * shape is refused whole, never half-processed. NULL when fine, else why not. */
static const char *sqs_shape_problem(json_object *records)
{
	size_t n = json_object_array_length(records);

	for (size_t i = 0; i < n; i++) {
		json_object *record = json_object_array_get_idx(records, i);
		const char *source, *message_id;

		if (!json_object_is_type(record, json_type_object))
			return "a record is not an object";
		source = string_member(record, "eventSource");
		if (!source || strcmp(source, "aws:sqs") != 0)
			return "a record's eventSource is not aws:sqs";
		message_id = string_member(record, "messageId");
		if (!message_id || !*message_id || strlen(message_id) > MESSAGE_ID_MAX)
			return "a record has no usable messageId";
		if (!string_member(record, "body"))
			return "a record has no body";
	}
	return NULL;
}

/* Shape 2: an SQS batch; partial batch response (ReportBatchItemFailures). */
static enum jitrd_err answer_sqs(const struct jitrd_lambda_ops *ops, json_object *records,
                                 int64_t until, struct jitrd_lambda_reply *reply)
{
	const char *problem = sqs_shape_problem(records);
	size_t n = json_object_array_length(records);
	json_object *o, *failures;

	if (problem)
		return jitrd_lambda_error_reply("jitrd.UnsupportedEvent", problem, reply);
	o = json_object_new_object();
	failures = json_object_new_array();
	if (!o || !failures || add(o, "batchItemFailures", failures) != 0) {
		json_object_put(o);
		return JITRD_ERR_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *record = json_object_array_get_idx(records, i);
		json_object *body = NULL, *failure;
		struct jitrd_pipeline_result r;
		int retry = 1;

		/* not started this close to the deadline: left for SQS to deliver again */
		if (until - jitrd_clock_mono_ms() >= JITRD_LAMBDA_MIN_EVENT_MS &&
		    json_object_object_get_ex(record, "body", &body)) {
			if (ops->process(ops->ctx, json_object_get_string(body),
			                 (size_t)json_object_get_string_len(body), until,
			                 &r) != JITRD_OK) {
				json_object_put(o);
				return JITRD_ERR_NOMEM;
			}
			report(ops, &r);
			retry = r.retry || r.decision == JITRD_DECISION_FAILED;
		}
		if (!retry)
			continue;
		failure = json_object_new_object();
		if (!failure ||
		    add(failure, "itemIdentifier",
		        json_object_new_string(string_member(record, "messageId"))) != 0 ||
		    json_object_array_add(failures, failure) != 0) {
			json_object_put(failure);
			json_object_put(o);
			return JITRD_ERR_NOMEM;
		}
	}
	return reply_from(o, reply);
}

struct sweep {
	const struct jitrd_lambda_ops *ops;
	int64_t until;
	size_t decided;
	size_t retry;
	size_t counts[JITRD_DECISION_COUNT];
	int complete; /* 0 when the deadline stopped the sweep */
	int nomem;
};

static int sweep_one(void *ctx, const char *payload, size_t len)
{
	struct sweep *sw = ctx;
	struct jitrd_pipeline_result r;

	if (sw->until - jitrd_clock_mono_ms() < JITRD_LAMBDA_MIN_EVENT_MS) {
		sw->complete = 0;
		return 1;
	}
	if (sw->ops->process(sw->ops->ctx, payload, len, sw->until, &r) != JITRD_OK) {
		sw->nomem = 1;
		return 1;
	}
	report(sw->ops, &r);
	sw->decided++;
	sw->retry += r.retry ? 1 : 0;
	if ((unsigned)r.decision < JITRD_DECISION_COUNT)
		sw->counts[r.decision]++;
	return 0;
}

/* Shape 3: a scheduled event runs one reconcile sweep. What the deadline leaves undone is
 * the next schedule's: the answer says whether the sweep was complete. */
static enum jitrd_err answer_scheduled(const struct jitrd_lambda_ops *ops, int64_t until,
                                       struct jitrd_lambda_reply *reply)
{
	struct sweep sw = {.ops = ops, .until = until, .complete = 1};
	struct jitrd_diag diag = {{0}};
	size_t handed = 0;
	json_object *o, *decisions;
	enum jitrd_err err = ops->pending(ops->ctx, sweep_one, &sw, &handed, &diag);

	if (err == JITRD_ERR_NOMEM || sw.nomem)
		return JITRD_ERR_NOMEM;
	if (err != JITRD_OK) {
		char message[sizeof(diag.text) + 64];
		snprintf(message, sizeof(message), "reconcile: %s (%zu certificate(s) decided)",
		         *diag.text ? diag.text : jitrd_strerror(err), sw.decided);
		return jitrd_lambda_error_reply("jitrd.ReconcileFailed", message, reply);
	}
	o = json_object_new_object();
	decisions = json_object_new_object();
	if (!o || !decisions || add(o, "reconcile", json_object_new_string("done")) != 0 ||
	    add(o, "decided", json_object_new_int64((int64_t)sw.decided)) != 0 ||
	    add(o, "retry", json_object_new_int64((int64_t)sw.retry)) != 0 ||
	    add(o, "complete", json_object_new_boolean(sw.complete)) != 0 ||
	    add(o, "decisions", decisions) != 0) {
		json_object_put(decisions);
		json_object_put(o);
		return JITRD_ERR_NOMEM;
	}
	for (int k = 0; k < JITRD_DECISION_COUNT; k++) {
		if (sw.counts[k] && add(decisions, jitrd_decision_name((enum jitrd_decision_kind)k),
		                        json_object_new_int64((int64_t)sw.counts[k])) != 0) {
			json_object_put(o);
			return JITRD_ERR_NOMEM;
		}
	}
	return reply_from(o, reply);
}

static int only_space(const char *text, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!strchr(" \t\r\n", text[i]) || text[i] == '\0')
			return 0;
	}
	return 1;
}

static int is_scheduled(json_object *event)
{
	const char *source = string_member(event, "source");
	const char *detail_type = string_member(event, "detail-type");

	return source && detail_type && strcmp(source, "aws.events") == 0 &&
	       strcmp(detail_type, "Scheduled Event") == 0;
}

enum jitrd_err jitrd_lambda_answer(const struct jitrd_lambda_ops *ops, const char *payload,
                                   size_t len, int64_t until, struct jitrd_lambda_reply *reply)
{
	json_tokener *tok = NULL;
	json_object *event = NULL, *records;
	enum json_tokener_error why = json_tokener_error_parse_eof;
	size_t end = 0;
	enum jitrd_err result = JITRD_ERR_NOMEM;

	if (len > JITRD_LAMBDA_MAX_PAYLOAD) {
		result = jitrd_lambda_error_reply("jitrd.PayloadTooLarge",
		                                  "the invocation payload is over 6 MB", reply);
		goto cleanup;
	}
	tok = json_tokener_new_ex(JSON_DEPTH_MAX);
	if (!tok)
		goto cleanup;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	if (len > 0) {
		event = json_tokener_parse_ex(tok, payload, (int)len);
		why = json_tokener_get_error(tok);
		end = json_tokener_get_parse_end(tok);
		/* a bare value at the very end ("null", "12") waits for more: the NUL ends it */
		if (why == json_tokener_continue) {
			event = json_tokener_parse_ex(tok, "", 1);
			why = json_tokener_get_error(tok);
			end = len;
		}
	}
	if (why != json_tokener_success || !only_space(payload + end, len - end)) {
		char message[128];
		snprintf(message, sizeof(message), "the payload is not one JSON value: %s",
		         len == 0                      ? "empty"
		         : why == json_tokener_success ? "data after the value"
		                                       : json_tokener_error_desc(why));
		result = jitrd_lambda_error_reply("jitrd.InvalidJSON", message, reply);
	} else if (!event || !json_object_is_type(event, json_type_object)) {
		result = jitrd_lambda_error_reply("jitrd.UnsupportedEvent",
		                                  "the payload is not a JSON object", reply);
	} else if (json_object_object_get_ex(event, "Records", &records)) {
		if (json_object_is_type(records, json_type_array))
			result = answer_sqs(ops, records, until, reply);
		else
			result = jitrd_lambda_error_reply("jitrd.UnsupportedEvent",
			                                  "Records is not an array", reply);
	} else if (is_scheduled(event)) {
		result = answer_scheduled(ops, until, reply);
	} else if (has_member(event, "certificateId") || has_member(event, "caCertificateId") ||
	           has_member(event, "certificateStatus")) {
		/* the pipeline parses the original bytes strictly; invalid is its answer */
		result = answer_registration(ops, payload, len, until, reply);
	} else {
		result = jitrd_lambda_error_reply(
		    "jitrd.UnsupportedEvent",
		    "neither a registration event, an SQS batch nor a scheduled event", reply);
	}
cleanup:
	json_object_put(event);
	if (tok)
		json_tokener_free(tok);
	return result;
}

int64_t jitrd_lambda_until(const char *deadline_header, int64_t now_epoch_ms, int64_t now_mono_ms,
                           int64_t margin_ms, int64_t fallback_ms)
{
	char *end = NULL;
	long long deadline;

	if (!deadline_header || !isdigit((unsigned char)*deadline_header))
		return now_mono_ms + fallback_ms;
	errno = 0;
	deadline = strtoll(deadline_header, &end, 10);
	/* any year before 5138 in ms fits in 14 digits; a later one is nonsense */
	if (errno != 0 || *end != '\0' || deadline > 99999999999999LL)
		return now_mono_ms + fallback_ms;
	return now_mono_ms + ((int64_t)deadline - now_epoch_ms) - margin_ms;
}

/* ------------------------------------------------------------------------------------------
 * The Runtime API client ("Using the Lambda runtime API for custom runtimes").
 */

struct runtime_api {
	CURL *easy;     /* one connection, kept alive between calls */
	char base[320]; /* http://HOST:PORT/2018-06-01/runtime */
	char curl_error[CURL_ERROR_SIZE];
};

/* The host:port of AWS_LAMBDA_RUNTIME_API goes into URLs: nothing but a host and a port. */
static int runtime_api_valid(const char *api)
{
	size_t n = api ? strlen(api) : 0;

	return n > 0 && n < 256 &&
	       strspn(api, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
	           n;
}

static void runtime_api_close(struct runtime_api *api)
{
	curl_easy_cleanup(api->easy);
	memset(api, 0, sizeof(*api));
}

static int runtime_api_open(struct runtime_api *api, const char *host_port)
{
	memset(api, 0, sizeof(*api));
	if (!runtime_api_valid(host_port))
		return -1;
	snprintf(api->base, sizeof(api->base), "http://%s/" RUNTIME_API_VERSION "/runtime",
	         host_port);
	api->easy = curl_easy_init();
	return api->easy ? 0 : -1;
}

/* The options of every request, after a reset (which keeps the connection). 0 or -1. */
static int prepare(struct runtime_api *api, const char *url, long timeout_ms)
{
	api->curl_error[0] = '\0';
	curl_easy_reset(api->easy);
	return curl_easy_setopt(api->easy, CURLOPT_URL, url) == CURLE_OK &&
	               curl_easy_setopt(api->easy, CURLOPT_PROTOCOLS_STR, "http") == CURLE_OK &&
	               /* the endpoint is local: a proxy from the environment must not be used */
	               curl_easy_setopt(api->easy, CURLOPT_NOPROXY, "*") == CURLE_OK &&
	               curl_easy_setopt(api->easy, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	               curl_easy_setopt(api->easy, CURLOPT_TCP_NODELAY, 1L) == CURLE_OK &&
	               curl_easy_setopt(api->easy, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS) ==
	                   CURLE_OK &&
	               curl_easy_setopt(api->easy, CURLOPT_TIMEOUT_MS, timeout_ms) == CURLE_OK &&
	               curl_easy_setopt(api->easy, CURLOPT_ERRORBUFFER, api->curl_error) == CURLE_OK
	           ? 0
	           : -1;
}

static size_t discard_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	(void)data;
	(void)ctx;
	return size * nmemb;
}

/* POSTs body to base + path with the extra header (may be NULL). 0 when the Runtime API
 * accepted it (2xx), -1 otherwise with why in diag. */
static int runtime_api_post(struct runtime_api *api, const char *path, const char *header,
                            const char *body, size_t len, struct jitrd_diag *diag)
{
	char url[sizeof(api->base) + REQUEST_ID_MAX + 64];
	struct curl_slist *headers, *all = NULL;
	long status = 0;
	CURLcode rc;

	snprintf(url, sizeof(url), "%s%s", api->base, path);
	/* "Expect:" spares the 100-continue round trip curl makes before a large body */
	headers = curl_slist_append(NULL, "Expect:");
	if (headers)
		all = curl_slist_append(headers, "Content-Type: application/json");
	if (all && header)
		all = curl_slist_append(headers, header);
	if (!all) {
		curl_slist_free_all(headers);
		jitrd_diag_set(diag, "out of memory");
		return -1;
	}
	if (prepare(api, url, POST_TIMEOUT_MS) != 0 ||
	    curl_easy_setopt(api->easy, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
	    curl_easy_setopt(api->easy, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	    curl_easy_setopt(api->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
	    curl_easy_setopt(api->easy, CURLOPT_WRITEFUNCTION, discard_body) != CURLE_OK) {
		curl_slist_free_all(headers);
		jitrd_diag_set(diag, "POST %s: cannot set up the request", path);
		return -1;
	}
	rc = curl_easy_perform(api->easy);
	if (rc == CURLE_OK &&
	    curl_easy_getinfo(api->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		status = 0;
	curl_easy_reset(api->easy); /* drops the pointers to headers and body */
	curl_slist_free_all(headers);
	if (rc != CURLE_OK) {
		jitrd_diag_set(diag, "POST %s: %s", path,
		               *api->curl_error ? api->curl_error : curl_easy_strerror(rc));
		return -1;
	}
	if (status < 200 || status > 299) {
		jitrd_diag_set(diag, "POST %s: HTTP %ld", path, status);
		return -1;
	}
	return 0;
}

/* Copies a header value (trimmed) into out when name matches; flags one over its bound. */
static void take_header(struct jitrd_lambda_invocation *inv, const char *line, size_t n,
                        const char *name, char *out, size_t size)
{
	size_t name_len = strlen(name);
	const char *value;
	size_t value_len;

	if (n <= name_len || line[name_len] != ':' || strncasecmp(line, name, name_len) != 0)
		return;
	value = line + name_len + 1;
	value_len = n - name_len - 1;
	while (value_len > 0 && (*value == ' ' || *value == '\t')) {
		value++;
		value_len--;
	}
	while (value_len > 0 && (value[value_len - 1] == '\r' || value[value_len - 1] == '\n' ||
	                         value[value_len - 1] == ' ')) {
		value_len--;
	}
	if (value_len >= size) {
		inv->header_too_long = 1;
		return;
	}
	memcpy(out, value, value_len);
	out[value_len] = '\0';
}

size_t jitrd_lambda_on_header(char *line, size_t size, size_t nmemb, void *ctx)
{
	struct jitrd_lambda_invocation *inv = ctx;
	size_t n = size * nmemb;

	/* a new status line (a redirect or 100 Continue before the real answer) starts over */
	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		inv->request_id[0] = inv->deadline_ms[0] = '\0';
		inv->trace_id[0] = inv->function_arn[0] = '\0';
		inv->header_too_long = 0;
		return n;
	}
	take_header(inv, line, n, "Lambda-Runtime-Aws-Request-Id", inv->request_id,
	            sizeof(inv->request_id));
	take_header(inv, line, n, "Lambda-Runtime-Deadline-Ms", inv->deadline_ms,
	            sizeof(inv->deadline_ms));
	take_header(inv, line, n, "Lambda-Runtime-Trace-Id", inv->trace_id, sizeof(inv->trace_id));
	take_header(inv, line, n, "Lambda-Runtime-Invoked-Function-Arn", inv->function_arn,
	            sizeof(inv->function_arn));
	return n;
}

/* The body grows up to the payload bound; past it, the rest is counted but not kept, so the
 * invocation can still be answered with an error. */
size_t jitrd_lambda_on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct jitrd_lambda_invocation *inv = ctx;
	size_t n = size * nmemb;

	if (inv->too_large || inv->len + n > JITRD_LAMBDA_MAX_PAYLOAD) {
		inv->too_large = 1;
		return n;
	}
	if (inv->len + n + 1 > inv->cap) {
		size_t cap = inv->cap ? inv->cap : 16384;
		char *grown;
		while (cap < inv->len + n + 1)
			cap *= 2;
		grown = realloc(inv->payload, cap);
		if (!grown)
			return 0; /* curl reports a write error */
		inv->payload = grown;
		inv->cap = cap;
	}
	memcpy(inv->payload + inv->len, data, n);
	inv->len += n;
	inv->payload[inv->len] = '\0';
	return n;
}

/* A request id is a UUID; it goes into a URL path, so nothing else is accepted. */
int jitrd_lambda_request_id_valid(const char *id)
{
	size_t n = strlen(id);

	return n > 0 &&
	       strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

/* GET /runtime/invocation/next: blocks until Lambda has an invocation (no timeout: the
 * environment is frozen meanwhile). 0 with *inv filled (payload owned by inv), -1 with why. */
static int runtime_api_next(struct runtime_api *api, struct jitrd_lambda_invocation *inv,
                            struct jitrd_diag *diag)
{
	char url[sizeof(api->base) + 32];
	long status = 0;
	CURLcode rc;

	inv->len = 0;
	inv->too_large = 0;
	inv->request_id[0] = inv->deadline_ms[0] = inv->trace_id[0] = inv->function_arn[0] = '\0';
	inv->header_too_long = 0;
	snprintf(url, sizeof(url), "%s/invocation/next", api->base);
	/* a long poll: Lambda answers when there is an invocation, so no timeout */
	if (prepare(api, url, 0L) != 0 ||
	    curl_easy_setopt(api->easy, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
	    curl_easy_setopt(api->easy, CURLOPT_HEADERFUNCTION, jitrd_lambda_on_header) !=
	        CURLE_OK ||
	    curl_easy_setopt(api->easy, CURLOPT_HEADERDATA, inv) != CURLE_OK ||
	    curl_easy_setopt(api->easy, CURLOPT_WRITEFUNCTION, jitrd_lambda_on_body) != CURLE_OK ||
	    curl_easy_setopt(api->easy, CURLOPT_WRITEDATA, inv) != CURLE_OK) {
		jitrd_diag_set(diag, "GET /invocation/next: cannot set up the request");
		return -1;
	}
	rc = curl_easy_perform(api->easy);
	if (rc == CURLE_OK &&
	    curl_easy_getinfo(api->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		status = 0;
	curl_easy_reset(api->easy); /* drops the pointers to inv */
	if (rc != CURLE_OK) {
		jitrd_diag_set(diag, "GET /invocation/next: %s",
		               *api->curl_error ? api->curl_error : curl_easy_strerror(rc));
		return -1;
	}
	if (status != 200) {
		jitrd_diag_set(diag, "GET /invocation/next: HTTP %ld", status);
		return -1;
	}
	if (!jitrd_lambda_request_id_valid(inv->request_id)) {
		jitrd_diag_set(diag,
		               "GET /invocation/next: no usable Lambda-Runtime-Aws-Request-Id");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------
 * The runtime: init once, then the loop.
 */

struct lambda {
	struct jitrd_runtime rt;
	struct jitrd_aws aws;
	struct jitrd_iot_session *session;
	struct jitrd_pipeline *pipeline;
	struct jitrd_log *log;
	struct runtime_api api;
};

static enum jitrd_err op_process(void *ctx, const char *payload, size_t len, int64_t until,
                                 struct jitrd_pipeline_result *out)
{
	struct lambda *l = ctx;

	return jitrd_pipeline_process_until(l->pipeline, l->session, &l->rt, payload, len,
	                                    time(NULL), until, out);
}

static enum jitrd_err op_pending(void *ctx, jitrd_pipeline_event_fn fn, void *fn_ctx, size_t *count,
                                 struct jitrd_diag *diag)
{
	struct lambda *l = ctx;

	return jitrd_pipeline_pending_events(l->session, &l->rt, fn, fn_ctx, count, diag);
}

static void op_outcome(void *ctx, const struct jitrd_pipeline_result *r)
{
	struct lambda *l = ctx;
	struct jitrd_outcome o;

	jitrd_pipeline_outcome(r, time(NULL), &o);
	jitrd_log_outcome(l->log, &o);
}

/* Lambda's layout (LAMBDA_TASK_ROOT, /var/task) as the default for what the function.zip
 * carries, and JSON logs for CloudWatch; a variable that is set wins. 0 or -1. */
static int set_lambda_defaults(void)
{
	const char *root = getenv("LAMBDA_TASK_ROOT");
	static const struct {
		const char *name, *under_root;
	} defaults[] = {
	    {"JITRD_CA_DIR", "ca"},
	    {"JITRD_CRL_DIR", "crl"},
	    {"JITRD_PROVISION_POLICY_TEMPLATE", "policies/default.json"},
	};
	char value[4096];

	if (!root || !*root)
		root = "/var/task";
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		if (getenv(defaults[i].name))
			continue;
		if ((size_t)snprintf(value, sizeof(value), "%s/%s", root, defaults[i].under_root) >=
		        sizeof(value) ||
		    setenv(defaults[i].name, value, 0) != 0)
			return -1;
	}
	if (setenv("JITRD_SERVICE_LOG_FORMAT", "json", 0) != 0)
		return -1;
	return 0;
}

/* Reports a broken start to Lambda (and to the log: CloudWatch keeps it). */
static void init_failed(struct lambda *l, const char *type, const char *message)
{
	struct jitrd_lambda_reply reply = {0};
	struct jitrd_diag diag = {{0}};
	char header[128];

	fprintf(stderr, "jitrd: lambda: %s: %s\n", type, message);
	if (jitrd_lambda_error_reply(type, message, &reply) != JITRD_OK)
		return;
	snprintf(header, sizeof(header), "Lambda-Runtime-Function-Error-Type: %s", type);
	if (runtime_api_post(&l->api, "/init/error", header, reply.body, reply.body_len, &diag) !=
	    0)
		fprintf(stderr, "jitrd: lambda: cannot report the init error: %s\n", diag.text);
	jitrd_lambda_reply_cleanup(&reply);
}

static int lambda_init(struct lambda *l, struct jitrd_diag *diag, const char **type)
{
	struct jitrd_credentials creds;
	enum jitrd_err err;

	*type = "jitrd.ConfigError";
	if (set_lambda_defaults() != 0) {
		jitrd_diag_set(diag, "cannot set the Lambda defaults in the environment");
		return -1;
	}
	/* no file: the JITRD_* variables are the configuration (DESIGN §4.2) */
	if (jitrd_runtime_load(&l->rt, NULL, time(NULL), diag) != 0)
		return -1;
	if (jitrd_log_new(2, l->rt.cfg->service.log_format, l->rt.cfg->service.log_level,
	                  &l->log) != JITRD_OK) {
		jitrd_diag_set(diag, "cannot open the log");
		return -1;
	}
	if (jitrd_aws_open(l->rt.cfg, (const char *const *)environ, &l->aws, diag) != JITRD_OK)
		return -1;
	/* Lambda puts the role's credentials in the environment: fail the start, not every
	 * event, when they are missing */
	*type = "jitrd.CredentialsError";
	err = jitrd_credentials_get(l->aws.credentials, time(NULL), &creds, diag);
	jitrd_credentials_cleanse(&creds);
	if (err != JITRD_OK)
		return -1;
	*type = "jitrd.InitError";
	if (jitrd_iot_session_new(l->aws.client, &l->session) != JITRD_OK ||
	    jitrd_pipeline_new(NULL, &l->pipeline) != JITRD_OK) {
		jitrd_diag_set(diag, "out of memory");
		return -1;
	}
	return 0;
}

static void lambda_close(struct lambda *l)
{
	jitrd_pipeline_free(l->pipeline);
	jitrd_iot_session_free(l->session);
	jitrd_aws_close(&l->aws);
	jitrd_log_free(l->log);
	jitrd_runtime_cleanup(&l->rt);
	runtime_api_close(&l->api);
}

/* Answers one invocation and posts the answer. -1 only when out of memory. */
static int serve(struct lambda *l, const struct jitrd_lambda_invocation *inv, int64_t margin_ms)
{
	const struct jitrd_lambda_ops ops = {l, op_process, op_pending, op_outcome};
	struct jitrd_lambda_reply reply = {0};
	struct jitrd_diag diag = {{0}};
	char path[REQUEST_ID_MAX + 64];
	char header[128];
	int64_t started = jitrd_clock_mono_ms();
	int64_t until = jitrd_lambda_until(inv->deadline_ms, jitrd_clock_wall_ms(), started,
	                                   margin_ms, FALLBACK_DEADLINE);
	enum jitrd_err err;

	/* X-Ray: the trace of this invocation, for anything downstream that reads it */
	if (*inv->trace_id)
		setenv("_X_AMZN_TRACE_ID", inv->trace_id, 1);
	else
		unsetenv("_X_AMZN_TRACE_ID");
	if (inv->too_large)
		err = jitrd_lambda_error_reply("jitrd.PayloadTooLarge",
		                               "the invocation payload is over 6 MB", &reply);
	else
		err = jitrd_lambda_answer(&ops, inv->payload ? inv->payload : "", inv->len, until,
		                          &reply);
	if (err != JITRD_OK)
		return -1;
	snprintf(path, sizeof(path), "/invocation/%s/%s", inv->request_id,
	         reply.is_error ? "error" : "response");
	snprintf(header, sizeof(header), "Lambda-Runtime-Function-Error-Type: %s",
	         reply.error_type);
	if (runtime_api_post(&l->api, path, reply.is_error ? header : NULL, reply.body,
	                     reply.body_len, &diag) != 0)
		jitrd_log_kv(l->log, JITRD_LOG_ERROR, "lambda.post_failed", "request_id",
		             inv->request_id, "error", diag.text, NULL);
	{
		char duration[32];
		snprintf(duration, sizeof(duration), "%lld",
		         (long long)(jitrd_clock_mono_ms() - started));
		jitrd_log_kv(l->log, JITRD_LOG_INFO, "lambda.invocation", "request_id",
		             inv->request_id, "function_arn", inv->function_arn, "result",
		             reply.is_error ? "error" : "response", "error_type", reply.error_type,
		             "duration_ms", duration, NULL);
	}
	jitrd_lambda_reply_cleanup(&reply);
	return 0;
}

int jitrd_lambda_run(const struct jitrd_lambda_options *opts)
{
	struct lambda l;
	struct jitrd_lambda_invocation inv;
	struct jitrd_diag diag = {{0}};
	const char *type = NULL;
	int64_t margin_ms = opts->margin_ms > 0 ? opts->margin_ms : JITRD_LAMBDA_DEFAULT_MARGIN_MS;
	unsigned long served = 0;
	int status = 1;

	memset(&l, 0, sizeof(l));
	memset(&inv, 0, sizeof(inv));
	if (runtime_api_open(&l.api, opts->runtime_api) != 0) {
		fprintf(stderr,
		        "jitrd: lambda: AWS_LAMBDA_RUNTIME_API is missing or not host:port\n");
		return 2;
	}
	if (lambda_init(&l, &diag, &type) != 0) {
		init_failed(&l, type, diag.text);
		lambda_close(&l);
		return 2;
	}
	jitrd_log_kv(l.log, JITRD_LOG_INFO, "lambda.ready", "config", l.rt.config_origin, "ca_dir",
	             l.rt.cfg->ca.dir, "crl_dir", l.rt.cfg->crl.dir, "crl_dir_error",
	             l.rt.crl_dir_error, NULL);
	while (opts->max_invocations == 0 || served < opts->max_invocations) {
		if (runtime_api_next(&l.api, &inv, &diag) != 0) {
			jitrd_log_kv(l.log, JITRD_LOG_ERROR, "lambda.next_failed", "error",
			             diag.text, NULL);
			goto cleanup;
		}
		if (serve(&l, &inv, margin_ms) != 0) {
			jitrd_log_kv(l.log, JITRD_LOG_ERROR, "lambda.out_of_memory", NULL);
			goto cleanup;
		}
		served++;
	}
	status = 0;
cleanup:
	free(inv.payload);
	lambda_close(&l);
	return status;
}
