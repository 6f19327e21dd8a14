/* events.c — the event shapes jitrd answers as a Lambda function (lambda.h): a registration
 * event, an SQS batch, a scheduled reconcile, each turned into the reply posted to the Runtime
 * API. No I/O here beyond what the ops do; every decision is the pipeline's. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jitrd/clock.h"
#include "jitrd/event.h"
#include "jitrd/lambda.h"

#define MESSAGE_ID_MAX 256 /* SQS message ids are UUIDs; generous */
#define JSON_DEPTH_MAX 16  /* our shapes are 3 deep; a hostile payload stays shallow */

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
	enum jitrd_err err = ops->process(ops->ctx, 0, payload, len, until, &r);

	if (err != JITRD_OK)
		return err;
	report(ops, &r);
	if (r.retry || r.decision == JITRD_DECISION_FAILED) {
		/* An error reply is what makes Lambda retry an asynchronous invocation. Any API
		 * failure is retried here, final or not — Lambda's own retry budget and the
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

/* The records of an SQS batch run this many at a time at most: their results wait for the
 * chunk to end so that outcomes are logged in record order, and this bounds what waits
 * (a 6 MB batch may hold thousands of records). */
#define BATCH_CHUNK 64

/* One chunk of an SQS batch, shared by the threads that run it. Each record is taken by one
 * thread (next, under lock); its result and decided flag are written by that thread only and
 * read after every thread has been joined. */
struct batch {
	const struct jitrd_lambda_ops *ops;
	int64_t until;
	size_t n;
	const char *body[BATCH_CHUNK]; /* the event: borrowed from the record, or decoded[i] */
	size_t body_len[BATCH_CHUNK];
	/* Bodies the IoT rule's SQS action wrote in base64 (useBase64), decoded before any
	 * thread starts: JITRD_EVENT_BODY_DECODED_SIZE bytes each. */
	char *decoded;
	struct jitrd_pipeline_result result[BATCH_CHUNK];
	bool decided[BATCH_CHUNK]; /* false: not started (deadline too close), so retried */
	pthread_mutex_t lock;
	size_t next;
	bool nomem;
};

struct batch_thread {
	struct batch *b;
	unsigned slot;
	pthread_t thread;
};

/* Takes records until none is left; each on this thread's slot. */
static void batch_run(struct batch *b, unsigned slot)
{
	for (;;) {
		size_t i;

		pthread_mutex_lock(&b->lock);
		i = b->nomem ? b->n : b->next;
		if (i < b->n)
			b->next++;
		pthread_mutex_unlock(&b->lock);
		if (i >= b->n)
			return;
		/* not started this close to the deadline: left for SQS to deliver again */
		if (b->until - jitrd_clock_mono_ms() < JITRD_LAMBDA_MIN_EVENT_MS)
			continue;
		if (b->ops->process(b->ops->ctx, slot, b->body[i], b->body_len[i], b->until,
		                    &b->result[i]) != JITRD_OK) {
			pthread_mutex_lock(&b->lock);
			b->nomem = true;
			pthread_mutex_unlock(&b->lock);
			return;
		}
		b->decided[i] = true;
	}
}

static void *batch_thread_main(void *arg)
{
	struct batch_thread *t = arg;

	batch_run(t->b, t->slot);
	return NULL;
}

/* Runs the records of b on up to ops->slots threads, this one included (slot 0). A thread
 * that cannot be started leaves its share to the others. */
static void batch_chunk(struct batch *b)
{
	struct batch_thread threads[BATCH_CHUNK];
	unsigned want = b->ops->slots ? b->ops->slots : 1;
	unsigned started = 0;

	if (want > b->n)
		want = (unsigned)b->n;
	for (unsigned k = 1; k < want && k < BATCH_CHUNK; k++) {
		threads[started] = (struct batch_thread){.b = b, .slot = k};
		if (pthread_create(&threads[started].thread, NULL, batch_thread_main,
		                   &threads[started]) != 0)
			break;
		started++;
	}
	batch_run(b, 0);
	for (unsigned k = 0; k < started; k++)
		pthread_join(threads[k].thread, NULL);
}

/* Adds {"itemIdentifier": message_id} to failures. 0 or -1. */
static int add_failure(json_object *failures, const char *message_id)
{
	json_object *failure = json_object_new_object();

	if (!failure || add(failure, "itemIdentifier", json_object_new_string(message_id)) != 0 ||
	    json_object_array_add(failures, failure) != 0) {
		json_object_put(failure);
		return -1;
	}
	return 0;
}

/* Shape 2: an SQS batch; partial batch response (ReportBatchItemFailures). The records run
 * concurrently (ops->slots), in chunks whose outcomes are reported in record order. */
static enum jitrd_err answer_sqs(const struct jitrd_lambda_ops *ops, json_object *records,
                                 int64_t until, struct jitrd_lambda_reply *reply)
{
	const char *problem = sqs_shape_problem(records);
	size_t n = json_object_array_length(records);
	struct batch *b = NULL;
	json_object *o = NULL, *failures;
	enum jitrd_err err = JITRD_ERR_NOMEM;

	if (problem)
		return jitrd_lambda_error_reply("jitrd.UnsupportedEvent", problem, reply);
	o = json_object_new_object();
	failures = json_object_new_array();
	if (!o || !failures) {
		json_object_put(failures);
		goto cleanup;
	}
	if (add(o, "batchItemFailures", failures) != 0) /* failures released */
		goto cleanup;
	b = calloc(1, sizeof(*b));
	if (!b)
		goto cleanup;
	b->decoded = malloc((size_t)BATCH_CHUNK * JITRD_EVENT_BODY_DECODED_SIZE);
	if (!b->decoded || pthread_mutex_init(&b->lock, NULL) != 0) {
		free(b->decoded);
		free(b);
		b = NULL;
		goto cleanup;
	}
	for (size_t first = 0; first < n; first += BATCH_CHUNK) {
		b->ops = ops;
		b->until = until;
		b->n = n - first < BATCH_CHUNK ? n - first : BATCH_CHUNK;
		b->next = 0;
		for (size_t i = 0; i < b->n; i++) {
			json_object *body = NULL;
			const char *event;
			size_t event_len;

			/* checked by sqs_shape_problem: every record has a string body */
			json_object_object_get_ex(json_object_array_get_idx(records, first + i),
			                          "body", &body);
			b->body[i] = json_object_get_string(body);
			b->body_len[i] = (size_t)json_object_get_string_len(body);
			b->decided[i] = false;
			/* Raw or base64 as the daemon's SQS source takes it; a body that is
			 * neither goes to the pipeline as it is, which judges it invalid. */
			if (jitrd_event_body_decode(b->body[i], b->body_len[i],
			                            b->decoded + i * JITRD_EVENT_BODY_DECODED_SIZE,
			                            JITRD_EVENT_BODY_DECODED_SIZE, &event,
			                            &event_len, NULL) == JITRD_OK) {
				b->body[i] = event;
				b->body_len[i] = event_len;
			}
		}
		batch_chunk(b);
		if (b->nomem)
			goto cleanup;
		for (size_t i = 0; i < b->n; i++) {
			const struct jitrd_pipeline_result *r = &b->result[i];

			if (b->decided[i])
				report(ops, r);
			if (b->decided[i] && !r->retry && r->decision != JITRD_DECISION_FAILED)
				continue;
			if (add_failure(failures,
			                string_member(json_object_array_get_idx(records, first + i),
			                              "messageId")) != 0)
				goto cleanup;
		}
	}
	err = reply_from(o, reply);
	o = NULL; /* consumed */
cleanup:
	if (b) {
		pthread_mutex_destroy(&b->lock);
		free(b->decoded);
		free(b);
	}
	json_object_put(o);
	return err;
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
	if (sw->ops->process(sw->ops->ctx, 0, payload, len, sw->until, &r) != JITRD_OK) {
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
