/* fuzz_sqs_response.c — libFuzzer target for the SQS client's readers of SQS's answers
 * (src/aws/sqs_client.c through sqs_client_parse.h) and for the decoding of a message body
 * (jitrd_event_body_decode): the bytes are parsed as JSON and read as a ReceiveMessage, a
 * DeleteMessageBatch or ChangeMessageVisibilityBatch and a GetQueueAttributes answer, and
 * decoded as a body. Invariants: at most the messages asked for, fields NUL-terminated within
 * their sizes, bodies within SQS's limit, batch entries one of the four fates and the diag
 * NUL-terminated, a decoded body within the event's limit and starting with '{'. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jitrd/event.h"
#include "sqs_client_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char decoded[JITRD_EVENT_BODY_DECODED_SIZE];

static void read_answers(struct json_object *json)
{
	struct jitrd_sqs_message m[JITRD_SQS_MAX_MESSAGES];
	enum jitrd_sqs_entry entries[JITRD_SQS_MAX_MESSAGES];
	size_t count = 0;
	long long depth = -1;

	for (size_t max = 1; max <= JITRD_SQS_MAX_MESSAGES; max += 9) {
		if (jitrd_sqs_read_messages(json, max, m, &count, NULL) != JITRD_OK)
			continue;
		if (count > max)
			abort();
		for (size_t i = 0; i < count; i++) {
			if (strnlen(m[i].message_id, sizeof(m[i].message_id)) ==
			        sizeof(m[i].message_id) ||
			    strnlen(m[i].receipt_handle, sizeof(m[i].receipt_handle)) ==
			        sizeof(m[i].receipt_handle) ||
			    !m[i].body || m[i].body_len > JITRD_SQS_MAX_BODY ||
			    m[i].body[m[i].body_len])
				abort();
		}
		jitrd_sqs_messages_cleanup(m, count);
	}
	for (size_t n = 1; n <= JITRD_SQS_MAX_MESSAGES; n += 3) {
		enum jitrd_sqs_op op = n % 2 ? JITRD_SQS_DELETE_MESSAGE_BATCH
		                             : JITRD_SQS_CHANGE_MESSAGE_VISIBILITY_BATCH;
		struct jitrd_diag diag = {{0}};

		if (jitrd_sqs_read_batch(json, op, n, entries, &diag) == JITRD_OK)
			for (size_t i = 0; i < n; i++)
				if ((unsigned)entries[i] > JITRD_SQS_ENTRY_FAILED)
					abort();
		if (strnlen(diag.text, sizeof(diag.text)) == sizeof(diag.text))
			abort();
	}
	if (jitrd_sqs_read_depth(json, &depth, NULL) == JITRD_OK && depth < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_tokener *tok = json_tokener_new_ex(32);
	struct json_object *json = NULL;
	const char *event = NULL;
	size_t event_len = 0;

	if (!tok)
		return 0;
	if (size <= INT32_MAX)
		json = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	if (json)
		read_answers(json);
	json_object_put(json);
	json_tokener_free(tok);
	if (jitrd_event_body_decode((const char *)data, size, decoded, sizeof(decoded), &event,
	                            &event_len, NULL) == JITRD_OK) {
		if (event_len > JITRD_EVENT_MAX_BYTES)
			abort();
		if (event == decoded && (event_len == 0 || decoded[event_len] != '\0'))
			abort();
	}
	return 0;
}
