/* test_lambda.c — unit tests of the Lambda runtime's event shapes (lambda.h) with a stub in
 * place of the pipeline: which shape each payload is, which SQS records are named for retry,
 * what a sweep answers, the deadline, and hostile or malformed payloads refused as errors
 * without the pipeline being called. The Runtime API loop is tested by test-lambda.py. */
#include "jitrd/lambda.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "testsupport.h"

/* The stub pipeline: a payload holding RETRY fails transiently, DEFER defers, INVALID is
 * invalid, SKIP is skip, anything else activates. */
struct stub {
	pthread_mutex_t lock; /* the records of a batch call process concurrently */
	unsigned processed;
	unsigned outcomes;
	unsigned in_flight, max_in_flight;
	unsigned slot_busy[JITRD_LAMBDA_MAX_BATCH_CONCURRENCY];
	unsigned slot_clash;     /* a slot called while busy */
	char outcome_order[512]; /* the payloads of the outcomes, as reported */
	int nomem;
	const char *pending[8]; /* payloads the sweep hands on */
	enum jitrd_err pending_err;
	char last_payload[256];
};

static struct stub stub = {.lock = PTHREAD_MUTEX_INITIALIZER};

static enum jitrd_err stub_process(void *ctx, unsigned slot, const char *payload, size_t len,
                                   int64_t until, struct jitrd_pipeline_result *out)
{
	struct stub *s = ctx;
	char text[256];
	unsigned processed;

	(void)until;
	if (slot >= JITRD_LAMBDA_MAX_BATCH_CONCURRENCY)
		return JITRD_ERR_NOMEM; /* fails the test: no CUnit assertion off the main thread */
	pthread_mutex_lock(&s->lock);
	if (s->nomem) {
		pthread_mutex_unlock(&s->lock);
		return JITRD_ERR_NOMEM;
	}
	processed = ++s->processed;
	s->slot_clash += s->slot_busy[slot]++ ? 1 : 0;
	if (++s->in_flight > s->max_in_flight)
		s->max_in_flight = s->in_flight;
	snprintf(text, sizeof(text), "%.*s", (int)(len < 255 ? len : 255), payload);
	snprintf(s->last_payload, sizeof(s->last_payload), "%s", text);
	pthread_mutex_unlock(&s->lock);
	if (strstr(text, "SLOW")) /* as a record does at 3 API calls x 50 ms */
		nanosleep(&(struct timespec){0, 150 * 1000000L}, NULL);
	pthread_mutex_lock(&s->lock);
	s->in_flight--;
	s->slot_busy[slot]--;
	pthread_mutex_unlock(&s->lock);
	memset(out, 0, sizeof(*out));
	snprintf(out->certificate_id, sizeof(out->certificate_id), "cert-%u", processed);
	snprintf(out->subject_cn, sizeof(out->subject_cn), "%s", text);
	if (strstr(text, "RETRY")) {
		out->decision = JITRD_DECISION_FAILED;
		out->retry = 1;
		snprintf(out->reason, sizeof(out->reason),
		         "DescribeCertificate: ThrottlingException");
	} else if (strstr(text, "FINAL")) {
		/* an API failure the pipeline calls final (no retry in the daemon) */
		out->decision = JITRD_DECISION_FAILED;
		snprintf(out->reason, sizeof(out->reason), "AttachPolicy: AccessDeniedException");
	} else if (strstr(text, "DEFER")) {
		out->decision = JITRD_DECISION_DEFER;
		out->retry = 1;
		snprintf(out->reason, sizeof(out->reason), "no valid CRL");
	} else if (strstr(text, "INVALID")) {
		out->decision = JITRD_DECISION_INVALID;
		snprintf(out->reason, sizeof(out->reason), "certificateId: not 64 hex digits");
		out->certificate_id[0] = '\0';
	} else if (strstr(text, "SKIP")) {
		out->decision = JITRD_DECISION_SKIP;
		snprintf(out->status, sizeof(out->status), "ACTIVE");
		snprintf(out->reason, sizeof(out->reason), "status is ACTIVE");
	} else {
		out->decision = JITRD_DECISION_ACTIVATE;
		snprintf(out->status, sizeof(out->status), "ACTIVE");
		snprintf(out->reason, sizeof(out->reason), "not on the CRL");
	}
	return JITRD_OK;
}

static enum jitrd_err stub_pending(void *ctx, jitrd_pipeline_event_fn fn, void *fn_ctx,
                                   size_t *count, struct jitrd_diag *diag)
{
	struct stub *s = ctx;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(s->pending) / sizeof(s->pending[0]) && s->pending[i]; i++) {
		n++;
		if (fn(fn_ctx, s->pending[i], strlen(s->pending[i])) != 0)
			break;
	}
	*count = n;
	if (s->pending_err != JITRD_OK)
		jitrd_diag_set(diag, "ListCertificatesByCA: AccessDeniedException: not allowed");
	return s->pending_err;
}

static void stub_outcome(void *ctx, const struct jitrd_pipeline_result *r)
{
	struct stub *s = ctx;

	size_t used = strlen(s->outcome_order);

	s->outcomes++;
	snprintf(s->outcome_order + used, sizeof(s->outcome_order) - used, "%s%s", used ? " " : "",
	         r->subject_cn);
}

static struct jitrd_lambda_ops ops = {&stub, stub_process, stub_pending, stub_outcome, 1};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t later(void)
{
	return mono_ms() + 60000;
}

static void reset(void)
{
	pthread_mutex_t lock = stub.lock;

	memset(&stub, 0, sizeof(stub));
	stub.lock = lock;
	ops.slots = 1;
}

/* Answers payload; asserts JITRD_OK and that the body is one JSON object, returned parsed
 * (json_object_put by the caller). */
static json_object *answer(const char *payload, int64_t until, struct jitrd_lambda_reply *reply)
{
	json_object *body;

	CU_ASSERT_EQUAL_FATAL(jitrd_lambda_answer(&ops, payload, strlen(payload), until, reply),
	                      JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(reply->body);
	CU_ASSERT_EQUAL(strlen(reply->body), reply->body_len);
	body = json_tokener_parse(reply->body);
	CU_ASSERT_FATAL(body && json_object_is_type(body, json_type_object));
	return body;
}

/* A string member, or "(absent)" so a failed assertion reads well and never crashes. */
static const char *get_string(json_object *o, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
		return "(absent)";
	return json_object_get_string(v);
}

static int64_t get_int(json_object *o, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

/* An error reply of type: the header value, and the body AWS documents. */
static void assert_error(const char *payload, size_t len, const char *type)
{
	struct jitrd_lambda_reply reply = {0};
	json_object *body;

	CU_ASSERT_EQUAL_FATAL(jitrd_lambda_answer(&ops, payload, len, later(), &reply), JITRD_OK);
	if (!reply.is_error || strcmp(reply.error_type, type) != 0)
		printf("\n  payload %.60s: got %s %s\n", payload, reply.error_type, reply.body);
	CU_ASSERT_EQUAL(reply.is_error, 1);
	CU_ASSERT_STRING_EQUAL(reply.error_type, type);
	body = json_tokener_parse(reply.body);
	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	CU_ASSERT_STRING_EQUAL(get_string(body, "errorType"), type);
	CU_ASSERT_STRING_NOT_EQUAL(get_string(body, "errorMessage"), "(absent)");
	json_object_put(body);
	jitrd_lambda_reply_cleanup(&reply);
}

static void test_registration_decided(void)
{
	struct jitrd_lambda_reply reply = {0};
	json_object *body;

	reset();
	body = answer("{\"certificateId\":\"GOOD\",\"caCertificateId\":\"x\"}\n", later(), &reply);
	CU_ASSERT_EQUAL(reply.is_error, 0);
	CU_ASSERT_STRING_EQUAL(get_string(body, "decision"), "activate");
	CU_ASSERT_STRING_EQUAL(get_string(body, "reason"), "not on the CRL");
	CU_ASSERT_STRING_EQUAL(get_string(body, "certificateId"), "cert-1");
	CU_ASSERT_STRING_EQUAL(get_string(body, "status"), "ACTIVE");
	/* the pipeline gets the original bytes, trailing newline included */
	CU_ASSERT_STRING_EQUAL(stub.last_payload,
	                       "{\"certificateId\":\"GOOD\",\"caCertificateId\":\"x\"}\n");
	CU_ASSERT_EQUAL(stub.processed, 1);
	CU_ASSERT_EQUAL(stub.outcomes, 1);
	json_object_put(body);
	jitrd_lambda_reply_cleanup(&reply);
	CU_ASSERT_PTR_NULL(reply.body);
}

static void test_registration_invalid_is_not_retried(void)
{
	struct jitrd_lambda_reply reply = {0};
	json_object *body;

	reset();
	body = answer("{\"certificateId\":\"INVALID ../../etc/passwd\"}", later(), &reply);
	CU_ASSERT_EQUAL(reply.is_error, 0);
	CU_ASSERT_STRING_EQUAL(get_string(body, "decision"), "invalid");
	CU_ASSERT_STRING_EQUAL(get_string(body, "certificateId"), "");
	json_object_put(body);
	jitrd_lambda_reply_cleanup(&reply);

	/* any one of the registration members makes it a registration event */
	reset();
	body = answer("{\"certificateStatus\":\"INVALID\"}", later(), &reply);
	CU_ASSERT_STRING_EQUAL(get_string(body, "decision"), "invalid");
	CU_ASSERT_EQUAL(stub.processed, 1);
	json_object_put(body);
	jitrd_lambda_reply_cleanup(&reply);
}

static void test_registration_retry_is_an_error(void)
{
	static const struct {
		const char *payload;
		const char *message_start;
	} cases[] = {
	    {"{\"certificateId\":\"RETRY\"}", "failed: DescribeCertificate: ThrottlingException"},
	    {"{\"caCertificateId\":\"DEFER\"}", "defer: no valid CRL"},
	    {"{\"certificateId\":\"FINAL\"}", "failed: AttachPolicy: AccessDeniedException"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_lambda_reply reply = {0};
		json_object *body;

		reset();
		body = answer(cases[i].payload, later(), &reply);
		CU_ASSERT_EQUAL(reply.is_error, 1);
		CU_ASSERT_STRING_EQUAL(reply.error_type, "jitrd.Retry");
		CU_ASSERT_STRING_EQUAL(get_string(body, "errorType"), "jitrd.Retry");
		CU_ASSERT_STRING_EQUAL(get_string(body, "errorMessage"), cases[i].message_start);
		CU_ASSERT_EQUAL(stub.outcomes, 1);
		json_object_put(body);
		jitrd_lambda_reply_cleanup(&reply);
	}
}

static const char sqs_batch[] =
    "{\"Records\":["
    "{\"messageId\":\"m-good\",\"eventSource\":\"aws:sqs\",\"body\":\"{\\\"certificateId\\\":1}\"},"
    "{\"messageId\":\"m-retry\",\"eventSource\":\"aws:sqs\",\"body\":\"RETRY\"},"
    "{\"messageId\":\"m-invalid\",\"eventSource\":\"aws:sqs\",\"body\":\"INVALID\"},"
    "{\"messageId\":\"m-skip\",\"eventSource\":\"aws:sqs\",\"body\":\"SKIP\"},"
    "{\"messageId\":\"m-defer\",\"eventSource\":\"aws:sqs\",\"body\":\"DEFER\"},"
    "{\"messageId\":\"m-final\",\"eventSource\":\"aws:sqs\",\"body\":\"FINAL\"}]}";

/* The itemIdentifiers of a batch response, space-separated. */
static void failures_of(json_object *body, char *out, size_t size)
{
	json_object *failures;

	out[0] = '\0';
	CU_ASSERT_FATAL(json_object_object_get_ex(body, "batchItemFailures", &failures));
	CU_ASSERT_FATAL(json_object_is_type(failures, json_type_array));
	CU_ASSERT_EQUAL(json_object_object_length(body), 1); /* nothing Lambda does not expect */
	for (size_t i = 0; i < json_object_array_length(failures); i++) {
		json_object *f = json_object_array_get_idx(failures, i);
		size_t used = strlen(out);
		CU_ASSERT_EQUAL(json_object_object_length(f), 1);
		snprintf(out + used, size - used, "%s%s", used ? " " : "",
		         get_string(f, "itemIdentifier"));
	}
}

static void test_sqs_names_exactly_the_retries(void)
{
	struct jitrd_lambda_reply reply = {0};
	json_object *body;
	char ids[256];

	reset();
	body = answer(sqs_batch, later(), &reply);
	CU_ASSERT_EQUAL(reply.is_error, 0);
	failures_of(body, ids, sizeof(ids));
	/* any API failure is retried, final or transient; invalid and skip are not */
	CU_ASSERT_STRING_EQUAL(ids, "m-retry m-defer m-final");
	CU_ASSERT_EQUAL(stub.processed, 6);
	CU_ASSERT_EQUAL(stub.outcomes, 6);
	json_object_put(body);
	jitrd_lambda_reply_cleanup(&reply);

	reset();
	body = answer("{\"Records\":[]}", later(), &reply);
	failures_of(body, ids, sizeof(ids));
	CU_ASSERT_STRING_EQUAL(ids, "");
	CU_ASSERT_EQUAL(stub.processed, 0);
	json_object_put(body);
	jitrd_lambda_reply_cleanup(&reply);
}

/* The IoT rule's SQS action with useBase64 writes the event in base64: the pipeline gets it
 * decoded; a raw body, or one that is neither (the pipeline judges it invalid), goes as it is;
 * a base64 retry is named for a retry like a raw one. */
static void test_sqs_base64_bodies(void)
{
	static const struct {
		const char *record_body;
		const char *pipeline_gets;
	} cases[] = {
	    {"GOOD64", "{\"certificateId\":\"GOOD\",\"caCertificateId\":\"x\"}"},
	    {"{\\\"certificateId\\\":\\\"GOOD\\\"}", "{\"certificateId\":\"GOOD\"}"},
	    {"GOOD64=", "GOOD64="}, /* not base64: a '=' too many */
	    {"GOOD", "GOOD"},
	};
	struct jitrd_lambda_reply reply = {0};
	json_object *body;
	char batch[512], ids[64], record_body[128], want[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* GOOD64 stands for the base64 of {"certificateId":"GOOD","caCertificateId":"x"} */
		snprintf(record_body, sizeof(record_body), "%s",
		         strncmp(cases[i].record_body, "GOOD64", 6) == 0
		             ? "eyJjZXJ0aWZpY2F0ZUlkIjoiR09PRCIsImNhQ2VydGlmaWNhdGVJZCI6IngifQ=="
		             : cases[i].record_body);
		if (strcmp(cases[i].record_body, "GOOD64=") == 0)
			snprintf(
			    record_body, sizeof(record_body), "%s=",
			    "eyJjZXJ0aWZpY2F0ZUlkIjoiR09PRCIsImNhQ2VydGlmaWNhdGVJZCI6IngifQ==");
		snprintf(want, sizeof(want), "%s",
		         strcmp(cases[i].pipeline_gets, "GOOD64=") == 0 ? record_body
		                                                        : cases[i].pipeline_gets);
		snprintf(batch, sizeof(batch),
		         "{\"Records\":[{\"messageId\":\"m1\",\"eventSource\":\"aws:sqs\","
		         "\"body\":\"%s\"}]}",
		         record_body);
		reset();
		body = answer(batch, later(), &reply);
		CU_ASSERT_EQUAL(reply.is_error, 0);
		CU_ASSERT_EQUAL(stub.processed, 1);
		CU_ASSERT_STRING_EQUAL(stub.last_payload, want);
		json_object_put(body);
		jitrd_lambda_reply_cleanup(&reply);
	}
	reset();
	body = answer("{\"Records\":[{\"messageId\":\"m-b64\",\"eventSource\":\"aws:sqs\","
	              "\"body\":\"eyJjZXJ0aWZpY2F0ZUlkIjoiUkVUUlkifQ==\"}]}",
	              later(), &reply);
	failures_of(body, ids, sizeof(ids));
	CU_ASSERT_STRING_EQUAL(ids, "m-b64");
	CU_ASSERT_STRING_EQUAL(stub.last_payload, "{\"certificateId\":\"RETRY\"}");
	json_object_put(body);
	jitrd_lambda_reply_cleanup(&reply);
}

/* A batch of 10 on 10 slots: all at once (each on its own slot), the failures exactly those
 * of one after another, the outcomes in record order, the batch about as long as one record. */
static void test_sqs_records_run_concurrently(void)
{
	static const char batch[] =
	    "{\"Records\":["
	    "{\"messageId\":\"m0\",\"eventSource\":\"aws:sqs\",\"body\":\"SLOW\"},"
	    "{\"messageId\":\"m1\",\"eventSource\":\"aws:sqs\",\"body\":\"SLOW RETRY\"},"
	    "{\"messageId\":\"m2\",\"eventSource\":\"aws:sqs\",\"body\":\"SLOW INVALID\"},"
	    "{\"messageId\":\"m3\",\"eventSource\":\"aws:sqs\",\"body\":\"SLOW DEFER\"},"
	    "{\"messageId\":\"m4\",\"eventSource\":\"aws:sqs\",\"body\":\"SLOW SKIP\"},"
	    "{\"messageId\":\"m5\",\"eventSource\":\"aws:sqs\",\"body\":\"SLOW FINAL\"},"
	    "{\"messageId\":\"m6\",\"eventSource\":\"aws:sqs\",\"body\":\"SLOW 6\"},"
	    "{\"messageId\":\"m7\",\"eventSource\":\"aws:sqs\",\"body\":\"SLOW RETRY 7\"},"
	    "{\"messageId\":\"m8\",\"eventSource\":\"aws:sqs\",\"body\":\"SLOW 8\"},"
	    "{\"messageId\":\"m9\",\"eventSource\":\"aws:sqs\",\"body\":\"SLOW DEFER 9\"}]}";
	static const char order[] = "SLOW SLOW RETRY SLOW INVALID SLOW DEFER SLOW SKIP SLOW FINAL "
				    "SLOW 6 SLOW RETRY 7 SLOW 8 SLOW DEFER 9";
	struct jitrd_lambda_reply reply = {0};
	char ids[256];
	json_object *body;
	int64_t took[2];

	for (unsigned slots = 1; slots <= 10; slots += 9) {
		int64_t t0;

		reset();
		ops.slots = slots;
		t0 = mono_ms();
		body = answer(batch, later(), &reply);
		took[slots > 1] = mono_ms() - t0;
		failures_of(body, ids, sizeof(ids));
		CU_ASSERT_STRING_EQUAL(ids, "m1 m3 m5 m7 m9");
		CU_ASSERT_EQUAL(stub.processed, 10);
		CU_ASSERT_EQUAL(stub.outcomes, 10);
		CU_ASSERT_STRING_EQUAL(stub.outcome_order, order);
		CU_ASSERT_EQUAL(stub.slot_clash, 0);
		CU_ASSERT(stub.max_in_flight <= slots);
		json_object_put(body);
		jitrd_lambda_reply_cleanup(&reply);
	}
	/* 10 x 150 ms one after another; at once about 150 ms (2x: room for a loaded machine) */
	CU_ASSERT(took[0] >= 1500);
	CU_ASSERT(took[1] < 2 * 150);
	CU_ASSERT(stub.max_in_flight >= 2);
	ops.slots = 1;
}

/* More records than a chunk, fewer slots than records: every record once, in order. */
static void test_sqs_large_batch_in_chunks(void)
{
	char batch[200 * 96], expect[200 * 8], ids[200 * 8];
	size_t used = 0, eused = 0;
	struct jitrd_lambda_reply reply = {0};
	json_object *body;

	used += (size_t)snprintf(batch, sizeof(batch), "{\"Records\":[");
	for (int i = 0; i < 150; i++) {
		used += (size_t)snprintf(batch + used, sizeof(batch) - used,
		                         "%s{\"messageId\":\"m%d\",\"eventSource\":\"aws:sqs\","
		                         "\"body\":\"%s\"}",
		                         i ? "," : "", i, i % 7 == 3 ? "RETRY" : "ok");
		if (i % 7 == 3)
			eused += (size_t)snprintf(expect + eused, sizeof(expect) - eused, "%sm%d",
			                          eused ? " " : "", i);
	}
	snprintf(batch + used, sizeof(batch) - used, "]}");
	reset();
	ops.slots = 3;
	body = answer(batch, later(), &reply);
	failures_of(body, ids, sizeof(ids));
	CU_ASSERT_STRING_EQUAL(ids, expect);
	CU_ASSERT_EQUAL(stub.processed, 150);
	CU_ASSERT_EQUAL(stub.outcomes, 150);
	CU_ASSERT_EQUAL(stub.slot_clash, 0);
	CU_ASSERT(stub.max_in_flight <= 3);
	json_object_put(body);
	jitrd_lambda_reply_cleanup(&reply);
	ops.slots = 1;
}

static void test_sqs_past_deadline_retries_all_unstarted(void)
{
	struct jitrd_lambda_reply reply = {0};
	json_object *body;
	char ids[256];

	reset();
	body = answer(sqs_batch, mono_ms() + JITRD_LAMBDA_MIN_EVENT_MS / 2, &reply);
	failures_of(body, ids, sizeof(ids));
	CU_ASSERT_STRING_EQUAL(ids, "m-good m-retry m-invalid m-skip m-defer m-final");
	CU_ASSERT_EQUAL(stub.processed, 0);
	json_object_put(body);
	jitrd_lambda_reply_cleanup(&reply);
}

static void test_sqs_shape_refused_whole(void)
{
	static const char *const cases[] = {
	    "{\"Records\":{}}",
	    "{\"Records\":\"x\"}",
	    "{\"Records\":[1]}",
	    "{\"Records\":[{\"messageId\":\"m\",\"body\":\"b\"}]}",
	    "{\"Records\":[{\"messageId\":\"m\",\"eventSource\":\"aws:s3\",\"body\":\"b\"}]}",
	    "{\"Records\":[{\"messageId\":\"m\",\"eventSource\":7,\"body\":\"b\"}]}",
	    "{\"Records\":[{\"eventSource\":\"aws:sqs\",\"body\":\"b\"}]}",
	    "{\"Records\":[{\"messageId\":\"\",\"eventSource\":\"aws:sqs\",\"body\":\"b\"}]}",
	    "{\"Records\":[{\"messageId\":5,\"eventSource\":\"aws:sqs\",\"body\":\"b\"}]}",
	    "{\"Records\":[{\"messageId\":\"m\",\"eventSource\":\"aws:sqs\"}]}",
	    "{\"Records\":[{\"messageId\":\"m\",\"eventSource\":\"aws:sqs\",\"body\":{}}]}",
	    /* a good record first: nothing is run before the whole batch is checked */
	    ("{\"Records\":[{\"messageId\":\"m\",\"eventSource\":\"aws:sqs\",\"body\":\"b\"},"
	     "{\"messageId\":\"n\",\"eventSource\":\"aws:kinesis\",\"body\":\"b\"}]}"),
	};
	char long_id[1024];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		reset();
		assert_error(cases[i], strlen(cases[i]), "jitrd.UnsupportedEvent");
		CU_ASSERT_EQUAL(stub.processed, 0);
	}
	snprintf(
	    long_id, sizeof(long_id),
	    "{\"Records\":[{\"messageId\":\"%0300d\",\"eventSource\":\"aws:sqs\",\"body\":\"b\"}]}",
	    7);
	reset();
	assert_error(long_id, strlen(long_id), "jitrd.UnsupportedEvent");
	CU_ASSERT_EQUAL(stub.processed, 0);
}

static const char scheduled[] =
    "{\"version\":\"0\",\"id\":\"e\",\"detail-type\":\"Scheduled Event\","
    "\"source\":\"aws.events\",\"account\":\"123456789012\","
    "\"time\":\"2030-06-01T00:00:00Z\",\"region\":\"us-east-1\","
    "\"resources\":[],\"detail\":{}}";

static void test_scheduled_sweep_counts(void)
{
	struct jitrd_lambda_reply reply = {0};
	json_object *body, *decisions, *complete;

	reset();
	stub.pending[0] = "GOOD";
	stub.pending[1] = "DEFER";
	stub.pending[2] = "RETRY";
	stub.pending[3] = "GOOD";
	body = answer(scheduled, later(), &reply);
	CU_ASSERT_EQUAL(reply.is_error, 0);
	CU_ASSERT_EQUAL(get_int(body, "decided"), 4);
	CU_ASSERT_EQUAL(get_int(body, "retry"), 2);
	CU_ASSERT_FATAL(json_object_object_get_ex(body, "complete", &complete));
	CU_ASSERT_TRUE(json_object_get_boolean(complete));
	CU_ASSERT_FATAL(json_object_object_get_ex(body, "decisions", &decisions));
	CU_ASSERT_EQUAL(get_int(decisions, "activate"), 2);
	CU_ASSERT_EQUAL(get_int(decisions, "defer"), 1);
	CU_ASSERT_EQUAL(get_int(decisions, "failed"), 1);
	CU_ASSERT_EQUAL(json_object_object_length(decisions), 3);
	CU_ASSERT_EQUAL(stub.outcomes, 4);
	json_object_put(body);
	jitrd_lambda_reply_cleanup(&reply);
}

static void test_scheduled_deadline_and_failure(void)
{
	struct jitrd_lambda_reply reply = {0};
	json_object *body, *complete;

	reset();
	stub.pending[0] = "GOOD";
	body = answer(scheduled, mono_ms(), &reply);
	CU_ASSERT_EQUAL(get_int(body, "decided"), 0);
	CU_ASSERT_FATAL(json_object_object_get_ex(body, "complete", &complete));
	CU_ASSERT_FALSE(json_object_get_boolean(complete));
	CU_ASSERT_EQUAL(stub.processed, 0);
	json_object_put(body);
	jitrd_lambda_reply_cleanup(&reply);

	reset();
	stub.pending[0] = "GOOD";
	stub.pending_err = JITRD_ERR_API;
	body = answer(scheduled, later(), &reply);
	CU_ASSERT_EQUAL(reply.is_error, 1);
	CU_ASSERT_STRING_EQUAL(reply.error_type, "jitrd.ReconcileFailed");
	CU_ASSERT_PTR_NOT_NULL(strstr(get_string(body, "errorMessage"), "AccessDeniedException"));
	CU_ASSERT_PTR_NOT_NULL(strstr(get_string(body, "errorMessage"), "1 certificate(s)"));
	json_object_put(body);
	jitrd_lambda_reply_cleanup(&reply);
}

static void test_malformed_payloads_refused(void)
{
	static const struct {
		const char *payload;
		size_t len; /* 0: strlen */
		const char *type;
	} cases[] = {
	    {"", 0, "jitrd.InvalidJSON"},
	    {"{", 0, "jitrd.InvalidJSON"},
	    {"{\"certificateId\":\"x\"", 0, "jitrd.InvalidJSON"},
	    {"not json", 0, "jitrd.InvalidJSON"},
	    {"{} x", 0, "jitrd.InvalidJSON"},
	    {"{}{}", 0, "jitrd.InvalidJSON"},
	    {"{\"certificateId\":1,}", 0, "jitrd.InvalidJSON"},
	    {"{\"certificateId\":1}\0{}", 21, "jitrd.InvalidJSON"},
	    {"[1,2]", 0, "jitrd.UnsupportedEvent"},
	    {"\"certificateId\"", 0, "jitrd.UnsupportedEvent"},
	    {"null", 0, "jitrd.UnsupportedEvent"},
	    {"{}", 0, "jitrd.UnsupportedEvent"},
	    {"{\"hello\":\"world\"}", 0, "jitrd.UnsupportedEvent"},
	    {"{\"source\":\"aws.events\",\"detail-type\":\"EC2 Instance State-change\"}", 0,
	     "jitrd.UnsupportedEvent"},
	    {"{\"source\":\"aws.s3\",\"detail-type\":\"Scheduled Event\"}", 0,
	     "jitrd.UnsupportedEvent"},
	};
	char deep[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		reset();
		assert_error(cases[i].payload,
		             cases[i].len ? cases[i].len : strlen(cases[i].payload), cases[i].type);
		CU_ASSERT_EQUAL(stub.processed, 0);
	}
	/* nesting far past anything Lambda sends */
	memset(deep, '[', 200);
	memset(deep + 200, ']', 200);
	reset();
	assert_error(deep, 400, "jitrd.InvalidJSON");
	CU_ASSERT_EQUAL(stub.processed, 0);
}

static void test_oversized_payload_refused(void)
{
	size_t len = JITRD_LAMBDA_MAX_PAYLOAD + 1;
	char *big = malloc(len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, ' ', len);
	big[0] = '{';
	big[len - 1] = '}';
	reset();
	assert_error(big, len, "jitrd.PayloadTooLarge");
	CU_ASSERT_EQUAL(stub.processed, 0);
	free(big);
}

static void test_nomem_leaves_reply_untouched(void)
{
	static const char *const cases[] = {
	    "{\"certificateId\":\"GOOD\"}",
	    "{\"Records\":[{\"messageId\":\"m\",\"eventSource\":\"aws:sqs\",\"body\":\"b\"}]}",
	    scheduled,
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_lambda_reply reply = {.is_error = 7, .body = (char *)"untouched"};
		reset();
		stub.nomem = 1;
		stub.pending[0] = "GOOD";
		CU_ASSERT_EQUAL(
		    jitrd_lambda_answer(&ops, cases[i], strlen(cases[i]), later(), &reply),
		    JITRD_ERR_NOMEM);
		CU_ASSERT_EQUAL(reply.is_error, 7);
		CU_ASSERT_STRING_EQUAL(reply.body, "untouched");
	}
}

static void test_error_reply_escapes(void)
{
	struct jitrd_lambda_reply reply = {0};
	json_object *body;

	CU_ASSERT_EQUAL_FATAL(
	    jitrd_lambda_error_reply("jitrd.ConfigError", "[ca] dir \"/x\"\n: no CA", &reply),
	    JITRD_OK);
	CU_ASSERT_EQUAL(reply.is_error, 1);
	CU_ASSERT_STRING_EQUAL(reply.error_type, "jitrd.ConfigError");
	CU_ASSERT_PTR_NULL(strchr(reply.body, '\n'));
	body = json_tokener_parse(reply.body);
	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	CU_ASSERT_STRING_EQUAL(get_string(body, "errorMessage"), "[ca] dir \"/x\"\n: no CA");
	CU_ASSERT_STRING_EQUAL(get_string(body, "errorType"), "jitrd.ConfigError");
	json_object_put(body);
	jitrd_lambda_reply_cleanup(&reply);
	jitrd_lambda_reply_cleanup(NULL);
}

static void test_until_from_deadline_header(void)
{
	static const struct {
		const char *header;
		int64_t expect; /* relative to mono 1000, epoch 1900000000000, margin 500 */
	} cases[] = {
	    {"1900000030000", 1000 + 30000 - 500},
	    {"1900000000100", 1000 + 100 - 500}, /* already inside the margin: in the past */
	    {"1899999990000", 1000 - 10000 - 500},
	    {NULL, 1000 + 60000},
	    {"", 1000 + 60000},
	    {"-5", 1000 + 60000},
	    {" 1900000030000", 1000 + 60000},
	    {"1900000030000ms", 1000 + 60000},
	    {"19000000300000000000000", 1000 + 60000},
	    {"999999999999999", 1000 + 60000},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(
		    jitrd_lambda_until(cases[i].header, 1900000000000LL, 1000, 500, 60000),
		    cases[i].expect);
}

/* The share of an invocation a CRL refresh may take, and whether a reload still fits. */
static void test_crl_refresh_budget(void)
{
	static const struct {
		int64_t left, fetch_timeout, expect;
	} budgets[] = {
	    {30000, 60000, 10000}, /* a third: the events keep two */
	    {30000, 5000, 5000},   /* never more than one fetch's timeout */
	    {3000, 60000, 1000},   /* exactly the least a fetch needs */
	    {2999, 60000, 0},      /* less: the refresh waits for a longer invocation */
	    {0, 60000, 0},          {-5000, 60000, 0}, /* the deadline has passed */
	    {900000, 60000, 60000}, {INT64_MAX, 60000, 60000},
	};
	static const struct {
		int64_t left, load;
		bool fits;
	} reloads[] = {
	    {30000, 5000, true},
	    {30000, 5001, false}, /* twice the last load in a third */
	    {30000, 0, true},
	    {0, 0, false},
	    {-1, 0, false},
	    {30000, -1, false},
	    {INT64_MAX, INT64_MAX / 2 + 1, false},
	    {INT64_MAX, 1000, true},
	};

	for (size_t i = 0; i < sizeof(budgets) / sizeof(budgets[0]); i++)
		CU_ASSERT_EQUAL(
		    jitrd_lambda_refresh_budget(budgets[i].left, budgets[i].fetch_timeout),
		    budgets[i].expect);
	for (size_t i = 0; i < sizeof(reloads) / sizeof(reloads[0]); i++)
		CU_ASSERT_EQUAL(jitrd_lambda_reload_fits(reloads[i].left, reloads[i].load),
		                reloads[i].fits);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"registration event decided", test_registration_decided},
	    {"invalid registration is a normal reply", test_registration_invalid_is_not_retried},
	    {"a decision to retry is an error reply", test_registration_retry_is_an_error},
	    {"SQS batch names exactly the retries", test_sqs_names_exactly_the_retries},
	    {"SQS batch: base64 bodies decoded", test_sqs_base64_bodies},
	    {"SQS records run concurrently, failures exact, outcomes in order",
	     test_sqs_records_run_concurrently},
	    {"a large SQS batch runs in chunks, every record once", test_sqs_large_batch_in_chunks},
	    {"SQS records not started by the deadline are retried",
	     test_sqs_past_deadline_retries_all_unstarted},
	    {"an SQS batch of the wrong shape is refused whole", test_sqs_shape_refused_whole},
	    {"scheduled event sweeps and counts", test_scheduled_sweep_counts},
	    {"sweep stops at the deadline; a failed listing is an error",
	     test_scheduled_deadline_and_failure},
	    {"malformed and unknown payloads are error replies", test_malformed_payloads_refused},
	    {"a payload over 6 MB is refused", test_oversized_payload_refused},
	    {"out of memory leaves the reply untouched", test_nomem_leaves_reply_untouched},
	    {"error replies are AWS's shape, escaped", test_error_reply_escapes},
	    {"deadline header to a monotonic deadline", test_until_from_deadline_header},
	    {"CRL refresh: its share of the invocation, a reload that fits",
	     test_crl_refresh_budget},
	    {NULL, NULL},
	};

	return tsupport_run("lambda", cases);
}
