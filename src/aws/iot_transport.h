/* iot_transport.h — private to src/aws: one call of an IoT operation, signed, sent, classified
 * and retried (iot_transport.c), for the per-operation code (iot_operations.c). */
#ifndef JITRD_IOT_TRANSPORT_H
#define JITRD_IOT_TRANSPORT_H

#include <json-c/json.h>

#include "jitrd/iot_client.h"

#define JITRD_IOT_MAX_PATH  4096
#define JITRD_IOT_MAX_QUERY 4096

/* Another AWS service spoken through the same client machinery (signing, rate limits, retries,
 * error classification): SQS's JSON 1.0 protocol, where every operation is POST / with its name
 * in X-Amz-Target. Its operations are numbered 0..op_count-1 in calls and rates. */
struct jitrd_iot_service {
	const char *signing_name;       /* SigV4 service: "sqs" */
	const char *content_type;       /* of request bodies: "application/x-amz-json-1.0" */
	const char *target_prefix;      /* X-Amz-Target: <prefix>.<operation name> */
	const char *(*op_name)(int op); /* operation op's name, as the service's model spells it */
	size_t op_count;                /* at most JITRD_IOT_OP_COUNT */
};

/* A client of svc (borrowed, static) over opts' endpoint (required), region, timeouts,
 * backoff and the first svc->op_count rates; on_request is not called. Errors as
 * jitrd_iot_client_new's. */
enum jitrd_err jitrd_iot_client_new_service(const struct jitrd_iot_client_options *opts,
                                            const struct jitrd_iot_service *svc,
                                            struct jitrd_credentials_provider *creds,
                                            struct jitrd_iot_client **out,
                                            struct jitrd_diag *diag) JITRD_WUR;

/* Makes every request of session s stop (JITRD_ERR_DEADLINE, within about a second, even a
 * long poll in progress) once cancelled(ctx) returns non-zero; NULL: never. */
void jitrd_iot_session_set_cancel(struct jitrd_iot_session *s, int (*cancelled)(void *ctx),
                                  void *ctx);

/* One request of an operation, as built by iot_operations.c (or sqs_client.c). */
struct jitrd_iot_call {
	int op; /* enum jitrd_iot_op, or the index of the service's operation */
	const char *method;
	char path[JITRD_IOT_MAX_PATH];   /* encoded */
	char query[JITRD_IOT_MAX_QUERY]; /* encoded, "" when none */
	const char *principal;           /* x-amzn-principal, or NULL */
	const char *body;                /* JSON, or NULL */
	size_t body_len;
	int answer_unused; /* 1: the operation's output has no members (its caller reads
	                    * none), so an empty object "{}" is accepted without parsing */
};

/* Runs c until success, a final error, or the attempts/deadline run out. On JITRD_OK *json is
 * the parsed body (NULL for an empty one), owned by the caller. */
enum jitrd_err jitrd_iot_call(struct jitrd_iot_session *s, int64_t deadline,
                              const struct jitrd_iot_call *c, struct json_object **json,
                              struct jitrd_iot_result *res, struct jitrd_diag *diag);

#endif
