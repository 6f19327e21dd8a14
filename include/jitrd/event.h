/* event.h — strict parsing of AWS IoT's certificate registration event (DESIGN §1, §3.1).
 * Pure: bytes in, struct out; no I/O, no clock, no logging. */
#ifndef JITRD_EVENT_H
#define JITRD_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "jitrd/error.h"
#include "jitrd/text.h"

#define JITRD_EVENT_MAX_BYTES (64 * 1024)

/* AWS certificate status names, as they appear on the wire. */
#define JITRD_STATUS_MAX 32

struct jitrd_event {
	char certificate_id[JITRD_ID_HEX_LEN + 1]; /* hex, lowercased from the event */
	char ca_certificate_id[JITRD_ID_HEX_LEN + 1];
	char certificate_status[JITRD_STATUS_MAX]; /* any status name, see status check */
	char aws_account_id[13];
	int64_t timestamp_ms;              /* "timestamp" */
	int64_t registration_timestamp_ms; /* "certificateRegistrationTimestamp" */
};

/* Parses one event from json (len bytes, need not be NUL-terminated).
 * All six fields required; ids exactly 64 hex digits; account exactly 12 digits;
 * timestamps a non-negative integer number or a string of 1-19 digits;
 * certificateStatus a string of [A-Z_]{1,31}. Unknown extra members are ignored, but a member
 * name that appears twice in one object (at any depth, compared after JSON unescaping) or
 * holds \u0000 makes the event MALFORMED: json-c would keep only the last silently.
 * Errors: JITRD_ERR_TOO_LARGE (> JITRD_EVENT_MAX_BYTES), JITRD_ERR_MALFORMED (not one JSON
 * object), JITRD_ERR_MISSING_FIELD, JITRD_ERR_BAD_FIELD. diag (may be NULL) names the field
 * and quotes the offending value escaped. *out is written only on success. */
enum jitrd_err jitrd_event_parse(const char *json, size_t len, struct jitrd_event *out,
                                 struct jitrd_diag *diag) JITRD_WUR;

/* Base64 of the largest event: 4 characters per 3 bytes, padded. */
#define JITRD_EVENT_MAX_BASE64 (((JITRD_EVENT_MAX_BYTES + 2) / 3) * 4)
/* Room for the largest event decoded: the decoder writes whole groups of three, and a NUL. */
#define JITRD_EVENT_BODY_DECODED_SIZE (JITRD_EVENT_MAX_BYTES + 3)

/* The registration event inside an SQS message body, as the IoT rule's SQS action writes it:
 * the event JSON itself (first non-blank byte '{': *event points into body), or, with the
 * action's useBase64, standard base64 of it (RFC 4648 §4: A-Za-z0-9+/, '=' padding to a
 * multiple of four, nothing else: no blank, no line break, no bits past the data), decoded
 * into decoded (decoded_size bytes, JITRD_EVENT_BODY_DECODED_SIZE to take any event;
 * NUL-terminated) and *event points there. The event itself is not parsed: jitrd_event_parse
 * judges it. Errors: JITRD_ERR_TOO_LARGE (raw over JITRD_EVENT_MAX_BYTES, base64 over
 * JITRD_EVENT_MAX_BASE64 or decoding to more than decoded_size - 1 bytes),
 * JITRD_ERR_MALFORMED (empty, neither JSON nor strict base64, or base64 of something that
 * does not start with '{'), JITRD_ERR_INVALID_ARG. diag says which; outputs written only on
 * JITRD_OK. */
enum jitrd_err jitrd_event_body_decode(const char *body, size_t len, char *decoded,
                                       size_t decoded_size, const char **event, size_t *event_len,
                                       struct jitrd_diag *diag) JITRD_WUR;

#endif
