/* sqs_client_parse.h — private to src/aws and its tests: the SQS client's readers of parsed
 * answers, so unit tests and the fuzz target feed them JSON without HTTP. */
#ifndef JITRD_SQS_CLIENT_PARSE_H
#define JITRD_SQS_CLIENT_PARSE_H

#include <json-c/json.h>

#include "jitrd/sqs_client.h"

/* ReceiveMessage's answer (json may be NULL: no message) into out[0..max); *count written.
 * JITRD_ERR_BAD_RESPONSE (diag names the member) for more than max messages, a member of the
 * wrong type or size, a message without an id, handle or body; JITRD_ERR_NOMEM. Nothing is
 * left allocated on an error. */
enum jitrd_err jitrd_sqs_read_messages(struct json_object *json, size_t max,
                                       struct jitrd_sqs_message *out, size_t *count,
                                       struct jitrd_diag *diag) JITRD_WUR;

/* A ...Batch answer (op: DeleteMessageBatch or ChangeMessageVisibilityBatch) for entries
 * "0".."count-1" into entries[]. JITRD_ERR_BAD_RESPONSE for a malformed answer, an Id outside
 * the batch or repeated, a Failed entry without a boolean SenderFault or a Code; entries[] is
 * then untouched. On JITRD_OK diag (when not NULL) names the first failed entry's Code. */
enum jitrd_err jitrd_sqs_read_batch(struct json_object *json, enum jitrd_sqs_op op, size_t count,
                                    enum jitrd_sqs_entry *entries,
                                    struct jitrd_diag *diag) JITRD_WUR;

/* GetQueueAttributes' ApproximateNumberOfMessages (a decimal string) into *depth. */
enum jitrd_err jitrd_sqs_read_depth(struct json_object *json, long long *depth,
                                    struct jitrd_diag *diag) JITRD_WUR;

#endif
