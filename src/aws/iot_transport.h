/* iot_transport.h — private to src/aws: one call of an IoT operation, signed, sent, classified
 * and retried (iot_transport.c), for the per-operation code (iot_operations.c). */
#ifndef JITRD_IOT_TRANSPORT_H
#define JITRD_IOT_TRANSPORT_H

#include <json-c/json.h>

#include "jitrd/iot_client.h"

#define JITRD_IOT_MAX_PATH  4096
#define JITRD_IOT_MAX_QUERY 4096

/* One request of an operation, as built by iot_operations.c. */
struct jitrd_iot_call {
	enum jitrd_iot_op op;
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
