/* outcome.c — formats the one outcome line per event (DESIGN §4.5), as JSON or key=value text.
 * Pure: formats into a string the caller frees; no I/O, no clock. It must never let an
 * untrusted string (a device's Common Name, an AWS message) break the line or forge a key. */
#include "jitrd/outcome.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jitrd/text.h"

/* PLAIN: no spaces or newlines between members, so the line stays one line. */
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* A policy document is small and shallow (AWS caps it at 2048 characters). */
#define POLICY_MAX_DEPTH 32

/* "2026-11-28T04:19:37.123Z" plus room. */
#define TIME_TEXT_SIZE JITRD_RFC3339_SIZE

/* time .. duration_ms, then policy_document when set. */
#define FIELD_MAX 14

static const char *const decision_names[JITRD_DECISION_COUNT] = {
    [JITRD_DECISION_ACTIVATE] = "activate", [JITRD_DECISION_REVOKE] = "revoke",
    [JITRD_DECISION_HOLD] = "hold",         [JITRD_DECISION_REJECT] = "reject",
    [JITRD_DECISION_SKIP] = "skip",         [JITRD_DECISION_IGNORE] = "ignore",
    [JITRD_DECISION_DEFER] = "defer",       [JITRD_DECISION_INVALID] = "invalid",
    [JITRD_DECISION_FAILED] = "failed",
};

const char *jitrd_decision_name(enum jitrd_decision_kind kind)
{
	if ((unsigned)kind >= JITRD_DECISION_COUNT)
		return "unknown";
	return decision_names[kind];
}

enum field_kind {
	FIELD_STRING,
	FIELD_NUMBER,
	FIELD_DOCUMENT, /* JSON text: an object in JSON mode when it parses as one */
};

/* One key=value of the line; the same list feeds both formats, so they cannot drift apart. */
struct field {
	const char *key;
	enum field_kind kind;
	const char *text; /* FIELD_STRING, FIELD_DOCUMENT; never NULL */
	uint64_t number;  /* FIELD_NUMBER */
};

static void add_string(struct field *fields, size_t *count, const char *key, const char *text)
{
	fields[*count] = (struct field){.key = key, .kind = FIELD_STRING, .text = text ? text : ""};
	(*count)++;
}

static void add_number(struct field *fields, size_t *count, const char *key, uint64_t number)
{
	fields[*count] = (struct field){.key = key, .kind = FIELD_NUMBER, .number = number};
	(*count)++;
}

/* The fields of DESIGN §4.5 in its order; returns how many. */
static size_t collect_fields(const struct jitrd_outcome *o, const char *time_text,
                             struct field fields[FIELD_MAX])
{
	size_t count = 0;

	add_string(fields, &count, "time", time_text);
	add_string(fields, &count, "certificateId", o->certificate_id);
	add_string(fields, &count, "caCertificateId", o->ca_certificate_id);
	add_string(fields, &count, "decision", jitrd_decision_name(o->decision));
	add_string(fields, &count, "reason", o->reason);
	add_string(fields, &count, "status", o->status);
	add_string(fields, &count, "serial", o->serial);
	add_string(fields, &count, "subject_cn", o->subject_cn);
	add_string(fields, &count, "policy", o->policy);
	add_string(fields, &count, "thing", o->thing);
	add_number(fields, &count, "api_calls", o->api_calls);
	add_number(fields, &count, "attempts", o->attempts);
	add_number(fields, &count, "duration_ms", o->duration_ms);
	if (o->policy_document) {
		fields[count] = (struct field){
		    .key = "policy_document", .kind = FIELD_DOCUMENT, .text = o->policy_document};
		count++;
	}
	return count;
}

/* The document as a JSON object when the whole text is exactly one object; else NULL with
 * *nomem telling an allocation failure from text that is not an object. */
static struct json_object *document_object(const char *text, int *nomem)
{
	struct json_tokener *tok = json_tokener_new_ex(POLICY_MAX_DEPTH);
	struct json_object *parsed;
	size_t len = strlen(text);

	*nomem = 0;
	if (!tok) {
		*nomem = 1;
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	parsed = (len <= INT32_MAX) ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
	if (parsed && (json_tokener_get_parse_end(tok) != len ||
	               !json_object_is_type(parsed, json_type_object))) {
		json_object_put(parsed);
		parsed = NULL;
	}
	json_tokener_free(tok);
	return parsed;
}

static enum jitrd_err format_json(const struct field *fields, size_t count, char **out)
{
	enum jitrd_err result = JITRD_ERR_NOMEM;
	struct json_object *root = json_object_new_object();
	const char *text;
	char *line;

	if (!root)
		goto cleanup;
	for (size_t i = 0; i < count; i++) {
		struct json_object *value = NULL;
		int nomem = 0;

		switch (fields[i].kind) {
		case FIELD_STRING:
			value = json_object_new_string(fields[i].text);
			break;
		case FIELD_NUMBER:
			value = json_object_new_uint64(fields[i].number);
			break;
		case FIELD_DOCUMENT:
			value = document_object(fields[i].text, &nomem);
			if (!value && !nomem)
				value = json_object_new_string(fields[i].text);
			break;
		}
		if (!value)
			goto cleanup;
		/* json-c keeps members in insertion order, which is the order of DESIGN §4.5. */
		if (json_object_object_add(root, fields[i].key, value) != 0) {
			json_object_put(value);
			goto cleanup;
		}
	}
	/* The string belongs to root; copy it out before root goes. */
	text = json_object_to_json_string_ext(root, JSON_FLAGS);
	if (!text)
		goto cleanup;
	line = strdup(text);
	if (!line)
		goto cleanup;
	*out = line;
	result = JITRD_OK;
cleanup:
	json_object_put(root);
	return result;
}

/* Text is written in two passes over the same code: first measuring (buf NULL), then into a
 * buffer of exactly that size, so there is no growing buffer and no truncation. */
struct line {
	char *buf;
	size_t len;
	int overflow;
};

static void put(struct line *line, const char *bytes, size_t n)
{
	if (n > SIZE_MAX - 1 - line->len) {
		line->overflow = 1;
		return;
	}
	if (line->buf)
		memcpy(line->buf + line->len, bytes, n);
	line->len += n;
}

/* Bytes that would let a value end early, start a new key or a new line when printed bare. */
static int needs_quotes(const char *text)
{
	if (!*text)
		return 1;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '=' || *p == '\\')
			return 1;
	}
	return 0;
}

static void put_text_value(struct line *line, const char *text)
{
	static const char hex[] = "0123456789abcdef";

	if (!needs_quotes(text)) {
		put(line, text, strlen(text));
		return;
	}
	put(line, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		char escape[4] = {'\\', 'x', hex[*p >> 4], hex[*p & 15]};

		switch (*p) {
		case '"':
			put(line, "\\\"", 2);
			break;
		case '\\':
			put(line, "\\\\", 2);
			break;
		case '\n':
			put(line, "\\n", 2);
			break;
		case '\r':
			put(line, "\\r", 2);
			break;
		case '\t':
			put(line, "\\t", 2);
			break;
		default:
			if (*p >= ' ' && *p < 0x7f)
				put(line, (const char *)p, 1);
			else
				put(line, escape, sizeof(escape));
		}
	}
	put(line, "\"", 1);
}

static void put_fields(struct line *line, const struct field *fields, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			put(line, " ", 1);
		put(line, fields[i].key, strlen(fields[i].key));
		put(line, "=", 1);
		if (fields[i].kind == FIELD_NUMBER) {
			char number[24];
			int n = snprintf(number, sizeof(number), "%" PRIu64, fields[i].number);

			put(line, number, (size_t)n);
		} else {
			put_text_value(line, fields[i].text);
		}
	}
}

static enum jitrd_err format_text(const struct field *fields, size_t count, char **out)
{
	struct line measure = {.buf = NULL, .len = 0, .overflow = 0};
	struct line line = {.buf = NULL, .len = 0, .overflow = 0};

	put_fields(&measure, fields, count);
	if (measure.overflow)
		return JITRD_ERR_NOMEM;
	line.buf = malloc(measure.len + 1);
	if (!line.buf)
		return JITRD_ERR_NOMEM;
	put_fields(&line, fields, count);
	line.buf[line.len] = '\0';
	*out = line.buf;
	return JITRD_OK;
}

enum jitrd_err jitrd_outcome_format(const struct jitrd_outcome *o, enum jitrd_log_format format,
                                    char **out)
{
	struct field fields[FIELD_MAX];
	char time_text[TIME_TEXT_SIZE];
	size_t count;
	enum jitrd_err err;

	if (!o || !out || (unsigned)o->decision >= JITRD_DECISION_COUNT)
		return JITRD_ERR_INVALID_ARG;
	if (format != JITRD_LOG_TEXT && format != JITRD_LOG_JSON)
		return JITRD_ERR_INVALID_ARG;
	/* RFC 3339 UTC with milliseconds; years outside 0000-9999 have no such form */
	err = jitrd_format_rfc3339_ms(o->time, o->time_ms, time_text, sizeof(time_text));
	if (err != JITRD_OK)
		return err;
	count = collect_fields(o, time_text, fields);
	if (format == JITRD_LOG_JSON)
		return format_json(fields, count, out);
	return format_text(fields, count, out);
}
