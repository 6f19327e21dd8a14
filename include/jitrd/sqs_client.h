/* sqs_client.h — the Amazon SQS client of `jitrd run`'s SQS event source: AWS's JSON 1.0
 * protocol (botocore sqs/2012-11-05: POST /, X-Amz-Target AmazonSQS.<Op>, SigV4 service sqs)
 * through the IoT client's machinery (signing, credentials, retries with backoff, error
 * classification). One client per queue, one session per thread. Answers are untrusted. */
#ifndef JITRD_SQS_CLIENT_H
#define JITRD_SQS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "jitrd/backoff.h"
#include "jitrd/config.h"
#include "jitrd/credentials.h"
#include "jitrd/error.h"
#include "jitrd/iot_client.h"

#define JITRD_SQS_MAX_MESSAGES  10           /* per ReceiveMessage and ...Batch call */
#define JITRD_SQS_MAX_RECEIPT   1024         /* AWS: a receipt handle is at most 1024 chars */
#define JITRD_SQS_MAX_BODY      (256 * 1024) /* AWS's largest message body */
#define JITRD_SQS_MAX_QUEUE_URL 1024

/* The operations called, and nothing else (deploy/aws's IAM policy lists them). */
enum jitrd_sqs_op {
	JITRD_SQS_RECEIVE_MESSAGE,
	JITRD_SQS_DELETE_MESSAGE_BATCH,
	JITRD_SQS_CHANGE_MESSAGE_VISIBILITY_BATCH,
	JITRD_SQS_GET_QUEUE_ATTRIBUTES,
	JITRD_SQS_OP_COUNT
};

const char *jitrd_sqs_op_name(enum jitrd_sqs_op op); /* "ReceiveMessage", ... */

struct jitrd_sqs_client_options {
	const char *queue_url; /* https://sqs.REGION.amazonaws.com/ACCOUNT/NAME */
	const char *region;
	const char *endpoint;                /* "" = scheme://host[:port] of queue_url */
	long connect_timeout_ms;             /* default 3000 */
	long request_timeout_ms;             /* default 10000, plus the long poll on receives */
	struct jitrd_backoff_policy backoff; /* default jitrd_backoff_policy_default */
};

/* Fills opts from cfg's [sqs] (strings borrowed from cfg); cfg may be NULL. */
void jitrd_sqs_client_options_init(struct jitrd_sqs_client_options *opts,
                                   const struct jitrd_config *cfg);

struct jitrd_sqs_client;
struct jitrd_sqs_session;

/* creds is borrowed and must outlive the client. Errors: JITRD_ERR_CONFIG (the queue URL or
 * endpoint: diag says which), JITRD_ERR_NOMEM, JITRD_ERR_INVALID_ARG. */
enum jitrd_err jitrd_sqs_client_new(const struct jitrd_sqs_client_options *opts,
                                    struct jitrd_credentials_provider *creds,
                                    struct jitrd_sqs_client **out,
                                    struct jitrd_diag *diag) JITRD_WUR;
void jitrd_sqs_client_free(struct jitrd_sqs_client *client); /* NULL is fine; sessions first */

/* The queue URL as configured (for messages: it names the queue, never credentials). */
const char *jitrd_sqs_client_queue_url(const struct jitrd_sqs_client *client);

enum jitrd_err jitrd_sqs_session_new(struct jitrd_sqs_client *client,
                                     struct jitrd_sqs_session **out) JITRD_WUR;
void jitrd_sqs_session_free(struct jitrd_sqs_session *session); /* NULL is fine */

/* Requests of the session stop within about a second once cancelled(ctx) is non-zero (a long
 * poll too): they then return JITRD_ERR_DEADLINE. NULL: never. */
void jitrd_sqs_session_set_cancel(struct jitrd_sqs_session *session, int (*cancelled)(void *ctx),
                                  void *ctx);

/* One message received. */
struct jitrd_sqs_message {
	char message_id[128];
	char receipt_handle[JITRD_SQS_MAX_RECEIPT + 1];
	unsigned receive_count; /* ApproximateReceiveCount; 0 when absent */
	char *body;             /* owned, NUL-terminated; jitrd_sqs_messages_cleanup */
	size_t body_len;
};
void jitrd_sqs_messages_cleanup(struct jitrd_sqs_message *messages, size_t count);

/* Return values as the IoT client's (iot_client.h); res may be NULL. Outputs written only on
 * JITRD_OK. */

/* ReceiveMessage: at most max_messages (1..10) into out[], waiting up to wait_seconds (0..20)
 * for one, hidden from other consumers for visibility_seconds (0..43200). */
enum jitrd_err jitrd_sqs_receive(struct jitrd_sqs_session *s, int64_t deadline, int wait_seconds,
                                 int max_messages, int visibility_seconds,
                                 struct jitrd_sqs_message out[JITRD_SQS_MAX_MESSAGES],
                                 size_t *count, struct jitrd_iot_result *res,
                                 struct jitrd_diag *diag) JITRD_WUR;

/* DeleteMessageBatch of count (1..10) receipt handles; deleted[i] is 1 for each entry AWS
 * reports deleted, 0 for a failed one (an expired handle: the message comes back). */
enum jitrd_err jitrd_sqs_delete_batch(struct jitrd_sqs_session *s, int64_t deadline,
                                      const char *const *receipt_handles, size_t count,
                                      unsigned char *deleted, struct jitrd_iot_result *res,
                                      struct jitrd_diag *diag) JITRD_WUR;

/* One entry's fate in a ...Batch answer (botocore: Successful [{Id}], Failed [{Id, SenderFault,
 * Code, Message}]). */
enum jitrd_sqs_entry {
	JITRD_SQS_ENTRY_UNANSWERED, /* in neither list */
	JITRD_SQS_ENTRY_DONE,       /* in Successful */
	JITRD_SQS_ENTRY_REFUSED,    /* in Failed with SenderFault: the same request fails again */
	JITRD_SQS_ENTRY_FAILED,     /* in Failed on SQS's side: a later try may work */
};

/* ChangeMessageVisibilityBatch of count (1..10) receipt handles, each hidden for seconds
 * (0..43200) from now; entries[i] says how each went. On JITRD_OK with a failed entry, diag
 * names the first one's Code (ReceiptHandleIsInvalid: the message was deleted or received
 * again, its handle is stale). */
enum jitrd_err jitrd_sqs_change_visibility_batch(struct jitrd_sqs_session *s, int64_t deadline,
                                                 const char *const *receipt_handles, size_t count,
                                                 int seconds, enum jitrd_sqs_entry *entries,
                                                 struct jitrd_iot_result *res,
                                                 struct jitrd_diag *diag) JITRD_WUR;

/* GetQueueAttributes ApproximateNumberOfMessages into *depth. */
enum jitrd_err jitrd_sqs_queue_depth(struct jitrd_sqs_session *s, int64_t deadline,
                                     long long *depth, struct jitrd_iot_result *res,
                                     struct jitrd_diag *diag) JITRD_WUR;

#endif
