/* outcome.c — formats the one outcome line per event (DESIGN §4.5), as JSON or key=value text.
 * Pure: formats into a string the caller frees; no I/O, no clock. It must never let an
 * untrusted string (a device's Common Name, an AWS message) break the line or forge a key. */
#include "jitrd/outcome.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jitrd/escape.h"
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

/* The fields passed through jitrd_escape_build. */
struct text_fields {
	const struct field *fields;
	size_t count;
};

static void put_fields(struct jitrd_escape_line *line, const void *ctx)
{
	const struct text_fields *text = ctx;

	for (size_t i = 0; i < text->count; i++) {
		const struct field *field = &text->fields[i];

		if (i > 0)
			jitrd_escape_put(line, " ", 1);
		jitrd_escape_put_str(line, field->key);
		jitrd_escape_put(line, "=", 1);
		if (field->kind == FIELD_NUMBER) {
			char number[24];
			int n = snprintf(number, sizeof(number), "%" PRIu64, field->number);

			jitrd_escape_put(line, number, (size_t)n);
		} else {
			jitrd_escape_text(line, field->text, JITRD_ESCAPE_UNCUT);
		}
	}
}

static enum jitrd_err format_text(const struct field *fields, size_t count, char **out)
{
	const struct text_fields text = {.fields = fields, .count = count};

	return jitrd_escape_build(put_fields, &text, out);
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
