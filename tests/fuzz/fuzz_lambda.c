/* fuzz_lambda.c — libFuzzer target for what jitrd reads as a Lambda custom runtime
 * (src/lambda/runtime_api.c, src/lambda/events.c): the Runtime API's answer to GET
 * /runtime/invocation/next (header lines through the header callback, the body through the write
 * callback, as curl hands them over) when the input starts "HTTP/", and the invocation payload in
 * every case through the event shapes (registration event, SQS batch, scheduled event) with a
 * stand-in pipeline that parses the event for real. Invariants: header values bounded,
 * NUL-terminated, trimmed; the deadline arithmetic defined; every reply one JSON object, an error
 * reply carrying its errorType; an SQS reply names only messageIds of the batch. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "jitrd/event.h"
#include "jitrd/lambda.h"
#include "lambda_runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The pipeline's stand-in: the event parser decides invalid or activate; a certificate id
 * ending in 'f' is a transient failure (retry), so both reply paths are reached. */
static enum jitrd_err process(void *ctx, unsigned slot, const char *payload, size_t len,
                              int64_t until, struct jitrd_pipeline_result *out)
{
	struct jitrd_event ev;
	struct jitrd_diag diag;

	(void)ctx;
	(void)slot;
	(void)until;
	memset(out, 0, sizeof(*out));
	if (jitrd_event_parse(payload, len, &ev, &diag) != JITRD_OK) {
		out->decision = JITRD_DECISION_INVALID;
		snprintf(out->reason, sizeof(out->reason), "%.200s", diag.text);
		return JITRD_OK;
	}
	snprintf(out->certificate_id, sizeof(out->certificate_id), "%s", ev.certificate_id);
	if (ev.certificate_id[63] == 'f') {
		out->decision = JITRD_DECISION_FAILED;
		out->retry = 1;
		snprintf(out->reason, sizeof(out->reason), "DescribeCertificate: throttled");
	} else {
		out->decision = JITRD_DECISION_ACTIVATE;
		snprintf(out->status, sizeof(out->status), "ACTIVE");
	}
	return JITRD_OK;
}

static enum jitrd_err pending(void *ctx, jitrd_pipeline_event_fn fn, void *fn_ctx, size_t *count,
                              struct jitrd_diag *diag)
{
	static const char event[] =
	    "{\"certificateId\":\"0000000000000000000000000000000000000000000000000000000000000"
	    "001\",\"caCertificateId\":\"00000000000000000000000000000000000000000000000000000000"
	    "00000002\",\"timestamp\":1906502400000,\"certificateStatus\":\"PENDING_ACTIVATION\","
	    "\"awsAccountId\":\"123456789012\",\"certificateRegistrationTimestamp\":\"1906502400000"
	    "\"}";

	(void)ctx;
	(void)diag;
	*count = fn(fn_ctx, event, sizeof(event) - 1) == 0;
	return JITRD_OK;
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Bounded and NUL-terminated; trimmed unless a header line held a NUL byte (which ends the
 * C string early, so the trimmed end is not the string's end). */
static void check_header(const char *value, size_t size, int saw_nul)
{
	size_t n = strnlen(value, size);

	if (n == size)
		abort();
	if (!saw_nul && n > 0 &&
	    (value[0] == ' ' || value[0] == '\t' || value[n - 1] == '\r' || value[n - 1] == '\n' ||
	     value[n - 1] == ' '))
		abort();
}

/* Every itemIdentifier is the messageId of a record of the batch. */
static void check_sqs_reply(struct json_object *event, struct json_object *reply)
{
	struct json_object *records, *failures;

	if (!json_object_object_get_ex(event, "Records", &records) ||
	    !json_object_object_get_ex(reply, "batchItemFailures", &failures))
		return;
	for (size_t i = 0; i < json_object_array_length(failures); i++) {
		struct json_object *id = json_object_object_get(
		    json_object_array_get_idx(failures, i), "itemIdentifier");
		int known = 0;

		for (size_t k = 0; k < json_object_array_length(records) && !known; k++) {
			struct json_object *m = json_object_object_get(
			    json_object_array_get_idx(records, k), "messageId");
			known = m && id &&
			        strcmp(json_object_get_string(m), json_object_get_string(id)) == 0;
		}
		if (!known)
			abort();
	}
}

static void answer(const char *payload, size_t len)
{
	struct jitrd_lambda_ops ops = {.process = process, .pending = pending};
	struct jitrd_lambda_reply reply;
	struct json_object *parsed, *type;

	memset(&reply, 0, sizeof(reply));
	if (jitrd_lambda_answer(&ops, payload, len, monotonic_ms() + 60000, &reply) != JITRD_OK)
		return; /* memory ran out */
	if (!reply.body || strlen(reply.body) != reply.body_len)
		abort();
	parsed = json_tokener_parse(reply.body);
	if (!parsed || !json_object_is_type(parsed, json_type_object))
		abort();
	if (reply.is_error) {
		if (!reply.error_type[0] ||
		    !json_object_object_get_ex(parsed, "errorType", &type) ||
		    strcmp(json_object_get_string(type), reply.error_type) != 0)
			abort();
	} else {
		struct json_object *event = json_tokener_parse(payload);

		check_sqs_reply(event, parsed);
		json_object_put(event);
	}
	json_object_put(parsed);
	jitrd_lambda_reply_cleanup(&reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jitrd_lambda_invocation inv;
	size_t at = 0;
	char *payload;

	memset(&inv, 0, sizeof(inv));
	if (size >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		int64_t until;
		int saw_nul = 0;

		/* header lines up to the blank line, then the body in pieces of up to 64 bytes */
		while (at < size) {
			size_t n = 0;

			while (at + n < size && data[at + n] != '\n')
				n++;
			if (at + n < size)
				n++;
			if (jitrd_lambda_on_header((char *)data + at, 1, n, &inv) != n)
				abort();
			saw_nul |= memchr(data + at, '\0', n) != NULL;
			at += n;
			check_header(inv.request_id, sizeof(inv.request_id), saw_nul);
			check_header(inv.deadline_ms, sizeof(inv.deadline_ms), saw_nul);
			check_header(inv.trace_id, sizeof(inv.trace_id), saw_nul);
			check_header(inv.function_arn, sizeof(inv.function_arn), saw_nul);
			if (n <= 2 && (n == 1 || data[at - 2] == '\r'))
				break;
		}
		while (at < size) {
			size_t n = size - at < 64 ? size - at : 64;

			if (jitrd_lambda_on_body((char *)data + at, 1, n, &inv) != n)
				break; /* memory ran out */
			at += n;
		}
		if (inv.len != 0 && (inv.len > JITRD_LAMBDA_MAX_PAYLOAD || !inv.payload ||
		                     strlen(inv.payload) > inv.len))
			abort();
		if (jitrd_lambda_request_id_valid(inv.request_id) &&
		    strspn(inv.request_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                           "0123456789-_.") != strlen(inv.request_id))
			abort();
		/* the header's deadline, with clocks as Lambda's would read */
		until = jitrd_lambda_until(inv.deadline_ms, 1906502400000, 1000000, 500, 60000);
		if (!inv.deadline_ms[0] && until != 1000000 + 60000)
			abort();
		if (inv.payload)
			answer(inv.payload, inv.len);
		free(inv.payload);
		return 0;
	}
	payload = malloc(size + 1);
	if (!payload)
		return 0;
	memcpy(payload, data, size);
	payload[size] = '\0';
	answer(payload, size);
	free(payload);
	return 0;
}
