/* iot_operations.h — private to src/aws and its tests: the table of the IoT operations this
 * client calls (iot_operations.c), one row each, as botocore's iot/2015-05-28 model names
 * their parts, so that a test can hold every row against the model. */
#ifndef JITRD_IOT_OPERATIONS_H
#define JITRD_IOT_OPERATIONS_H

#include <json-c/json.h>

#include "jitrd/error.h"
#include "jitrd/iot_client.h"

#define JITRD_IOT_OP_MAX_QUERY  2
#define JITRD_IOT_OP_MAX_BODY   3
#define JITRD_IOT_OP_MAX_ANSWER 6

/* What a URI {label} holds, and so how the operations check it before sending. */
enum jitrd_iot_label {
	JITRD_IOT_LABEL_NONE,
	JITRD_IOT_LABEL_CERTIFICATE_ID,    /* 64 hex */
	JITRD_IOT_LABEL_CA_CERTIFICATE_ID, /* 64 hex */
	JITRD_IOT_LABEL_POLICY_NAME,       /* [\w+=,.@-]{1,128} */
	JITRD_IOT_LABEL_THING_NAME,        /* [a-zA-Z0-9:_-]{1,128} */
	JITRD_IOT_LABEL_TARGET,            /* a principal: text fit for a header */
	JITRD_IOT_LABEL_POLICY_VERSION_ID, /* [0-9]+, at most 15 digits: only as label2 */
};

/* Reads a 2xx answer of the operation (json NULL for an empty body) into out, written only on
 * JITRD_OK; JITRD_ERR_BAD_RESPONSE (diag names the member) or JITRD_ERR_NOMEM otherwise. */
typedef enum jitrd_err (*jitrd_iot_answer_fn)(struct json_object *json, enum jitrd_iot_op op,
                                              void *out, struct jitrd_diag *diag);

/* One operation. Names are botocore's: the operation, its http method and requestUri (without
 * the query part), the locationNames of the querystring and header members and the names of
 * the body members this client sends (in the order it sends them), and the output members it
 * reads. List operations: query[0] carries the page token, answer[0] is the list and
 * answer[1] the next page's token. Without answer members the answer is only checked to be a
 * JSON object ("{}" taken without parsing). */
struct jitrd_iot_op_spec {
	const char *name;
	const char *method;
	const char *uri;
	enum jitrd_iot_label label;
	enum jitrd_iot_label label2; /* the URI's second {label}, NONE without one */
	const char *query[JITRD_IOT_OP_MAX_QUERY];
	const char *body[JITRD_IOT_OP_MAX_BODY];
	const char *header;
	const char *answer[JITRD_IOT_OP_MAX_ANSWER];
	jitrd_iot_answer_fn read; /* NULL: nothing read, or read by the operation itself */
};

/* The row of op; NULL outside the enumeration. */
const struct jitrd_iot_op_spec *jitrd_iot_op_spec(enum jitrd_iot_op op);

#endif
