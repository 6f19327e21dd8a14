/* event.c — strict parsing of AWS IoT's certificate registration event (DESIGN §1, §3 step 1).
 * Pure: bytes in, struct out. It must not do I/O, log, or trust a byte: each of the six fields
 * is checked for type and form before it is kept, and *out is written only when all pass. */
#include "jitrd/event.h"

#include <string.h>

#include <json-c/json.h>

/* The event is flat, but members AWS may add later are ignored, not refused, so allow a little
 * nesting in them; a depth bomb stops in the tokenizer instead of growing its stack. */
#define EVENT_MAX_DEPTH 16

/* How much of an offending value a diagnostic quotes (jitrd_quote cuts with "..."). */
#define DIAG_QUOTE_SIZE 96

/* The widest numeric string that can hold an int64 ("9223372036854775807"). */
#define TIMESTAMP_MAX_DIGITS 19

static int is_hex_digit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* JSON's own whitespace (RFC 8259 §2), not isspace(), which also takes \v and \f. */
static int is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int jitrd_is_hex_id(const char *s)
{
	if (!s)
		return 0;
	/* Stops at the NUL of a short string: '\0' is not a hex digit. */
	for (size_t i = 0; i < JITRD_ID_HEX_LEN; i++) {
		if (!is_hex_digit(s[i]))
			return 0;
	}
	return s[JITRD_ID_HEX_LEN] == '\0';
}

/* Reports a field of the wrong type or form: names it and quotes the value, escaped and cut,
 * so a hostile event cannot put a newline or an unbounded string into the operator's log. */
static enum jitrd_err bad_field(struct jitrd_diag *diag, const char *field, const char *why,
                                struct json_object *value)
{
	char quoted[DIAG_QUOTE_SIZE];
	const char *text;
	size_t len;

	if (json_object_is_type(value, json_type_string)) {
		text = json_object_get_string(value);
		len = (size_t)json_object_get_string_len(value);
	} else {
		text = json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN |
		                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
		if (!text)
			text = "?";
		len = strlen(text);
	}
	jitrd_quote(quoted, sizeof(quoted), text, len);
	jitrd_diag_set(diag, "event field \"%s\": %s: \"%s\"", field, why, quoted);
	return JITRD_ERR_BAD_FIELD;
}

/* Borrows root's member name into *value. A member whose value is null is present. */
static enum jitrd_err member(struct json_object *root, const char *name, struct json_object **value,
                             struct jitrd_diag *diag)
{
	if (!json_object_object_get_ex(root, name, value)) {
		jitrd_diag_set(diag, "event field \"%s\" is missing", name);
		return JITRD_ERR_MISSING_FIELD;
	}
	return JITRD_OK;
}

/* A string member: *value borrowed from root, *text and *len its bytes (len, not strlen: a
 * "\u0000" escape puts a NUL inside the string). */
static enum jitrd_err string_member(struct json_object *root, const char *name,
                                    struct json_object **value, const char **text, size_t *len,
                                    struct jitrd_diag *diag)
{
	enum jitrd_err err = member(root, name, value, diag);

	if (err != JITRD_OK)
		return err;
	if (!json_object_is_type(*value, json_type_string))
		return bad_field(diag, name, "not a string", *value);
	*text = json_object_get_string(*value);
	*len = (size_t)json_object_get_string_len(*value);
	return JITRD_OK;
}

/* certificateId, caCertificateId: exactly 64 hex digits, kept lowercased so that ids compare
 * with memcmp and name files the same way whatever case AWS or a test sent. */
static enum jitrd_err parse_hex_id(struct json_object *root, const char *name,
                                   char out[JITRD_ID_HEX_LEN + 1], struct jitrd_diag *diag)
{
	struct json_object *value;
	const char *text;
	size_t len;
	enum jitrd_err err = string_member(root, name, &value, &text, &len, diag);

	if (err != JITRD_OK)
		return err;
	if (len != JITRD_ID_HEX_LEN)
		return bad_field(diag, name, "not 64 hex digits", value);
	for (size_t i = 0; i < len; i++) {
		if (!is_hex_digit(text[i]))
			return bad_field(diag, name, "not 64 hex digits", value);
	}
	for (size_t i = 0; i < len; i++)
		out[i] = (text[i] >= 'A' && text[i] <= 'F') ? (char)(text[i] - 'A' + 'a') : text[i];
	out[len] = '\0';
	return JITRD_OK;
}

/* awsAccountId: a string of exactly 12 digits (a number would lose leading zeros). */
static enum jitrd_err parse_account(struct json_object *root, char out[13], struct jitrd_diag *diag)
{
	static const char name[] = "awsAccountId";
	struct json_object *value;
	const char *text;
	size_t len;
	enum jitrd_err err = string_member(root, name, &value, &text, &len, diag);

	if (err != JITRD_OK)
		return err;
	if (len != 12)
		return bad_field(diag, name, "not 12 digits", value);
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(text[i]))
			return bad_field(diag, name, "not 12 digits", value);
	}
	memcpy(out, text, len);
	out[len] = '\0';
	return JITRD_OK;
}

/* certificateStatus: [A-Z_]{1,31}. Any such name is kept; the filter (§3 step 2) decides. */
static enum jitrd_err parse_status(struct json_object *root, char out[JITRD_STATUS_MAX],
                                   struct jitrd_diag *diag)
{
	static const char name[] = "certificateStatus";
	struct json_object *value;
	const char *text;
	size_t len;
	enum jitrd_err err = string_member(root, name, &value, &text, &len, diag);

	if (err != JITRD_OK)
		return err;
	if (len == 0 || len >= JITRD_STATUS_MAX)
		return bad_field(diag, name, "not a status name", value);
	for (size_t i = 0; i < len; i++) {
		if (!((text[i] >= 'A' && text[i] <= 'Z') || text[i] == '_'))
			return bad_field(diag, name, "not a status name", value);
	}
	memcpy(out, text, len);
	out[len] = '\0';
	return JITRD_OK;
}

/* timestamp, certificateRegistrationTimestamp: AWS sends one as a number and the other as a
 * string (DESIGN §1), so both forms are taken for both: a JSON integer >= 0 (not a double,
 * not a bool), or a string of 1-19 digits that fits int64. */
static enum jitrd_err parse_timestamp(struct json_object *root, const char *name, int64_t *out,
                                      struct jitrd_diag *diag)
{
	struct json_object *value;
	enum jitrd_err err = member(root, name, &value, diag);

	if (err != JITRD_OK)
		return err;
	if (json_object_is_type(value, json_type_int)) {
		/* json-c keeps integers above INT64_MAX as uint64 and clamps get_int64, so both
		 * views are needed to tell 9223372036854775807 from 9223372036854775808. */
		if (json_object_get_int64(value) < 0)
			return bad_field(diag, name, "negative", value);
		if (json_object_get_uint64(value) > (uint64_t)INT64_MAX)
			return bad_field(diag, name, "out of range", value);
		*out = json_object_get_int64(value);
		return JITRD_OK;
	}
	if (json_object_is_type(value, json_type_string)) {
		const char *text = json_object_get_string(value);
		size_t len = (size_t)json_object_get_string_len(value);
		int64_t number = 0;

		if (len == 0 || len > TIMESTAMP_MAX_DIGITS)
			return bad_field(diag, name, "not 1-19 digits", value);
		for (size_t i = 0; i < len; i++) {
			int digit;

			if (!is_digit(text[i]))
				return bad_field(diag, name, "not 1-19 digits", value);
			digit = text[i] - '0';
			if (number > (INT64_MAX - digit) / 10)
				return bad_field(diag, name, "out of range", value);
			number = number * 10 + digit;
		}
		*out = number;
		return JITRD_OK;
	}
	return bad_field(diag, name, "not an integer or a string of digits", value);
}

/* Offset of the first byte that is not well-formed UTF-8, or len. RFC 3629 §4: no overlong
 * forms, no surrogates, nothing above U+10FFFF; json-c's own check lets the first two through. */
static size_t utf8_invalid_at(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;

	while (i < len) {
		unsigned char lead = s[i];
		unsigned char low = 0x80, high = 0xbf; /* range of the first continuation byte */
		size_t more;

		if (lead < 0x80) {
			i++;
			continue;
		}
		if (lead >= 0xc2 && lead <= 0xdf) {
			more = 1;
		} else if (lead >= 0xe0 && lead <= 0xef) {
			more = 2;
			low = lead == 0xe0 ? 0xa0 : 0x80;
			high = lead == 0xed ? 0x9f : 0xbf;
		} else if (lead >= 0xf0 && lead <= 0xf4) {
			more = 3;
			low = lead == 0xf0 ? 0x90 : 0x80;
			high = lead == 0xf4 ? 0x8f : 0xbf;
		} else {
			return i;
		}
		if (more > len - i - 1 || s[i + 1] < low || s[i + 1] > high)
			return i;
		for (size_t k = 2; k <= more; k++) {
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return i;
		}
		i += more + 1;
	}
	return len;
}

/* json-c's strict mode still takes two things RFC 8259 does not: single-quoted member names
 * and raw control characters inside strings. Run on text json-c accepted, so tracking only
 * "inside a double-quoted string or not" is exact up to the first offence. Returns the offset
 * of the first offending byte, or len. */
static size_t lenient_json_at(const char *json, size_t len)
{
	int in_string = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)json[i];

		if (!in_string) {
			if (c == '\'')
				return i;
			if (c == '"')
				in_string = 1;
		} else if (c < 0x20) {
			return i;
		} else if (c == '\\') {
			i++; /* the escaped byte cannot end the string */
		} else if (c == '"') {
			in_string = 0;
		}
	}
	return len;
}

/* The input is one JSON object, in well-formed UTF-8, then only whitespace. */
static enum jitrd_err parse_object(struct json_tokener *tok, const char *json, size_t len,
                                   struct json_object **root, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_MALFORMED;
	struct json_object *parsed = NULL;
	enum json_tokener_error jerr;
	size_t end;

	end = utf8_invalid_at(json, len);
	if (end != len) {
		jitrd_diag_set(diag, "event is not JSON: invalid UTF-8 at byte %zu", end);
		goto cleanup;
	}
	/* json-c cannot tell "1" from the start of "12" without an end marker, so anything but
	 * an object would read as truncated; say what it is instead. */
	for (end = 0; end < len && is_json_space(json[end]); end++)
		;
	if (end < len && json[end] != '{') {
		jitrd_diag_set(diag, "event is not a JSON object (byte %zu is not '{')", end);
		goto cleanup;
	}
	/* Strict: no comments, trailing commas or leading zeros. Trailing bytes are checked
	 * below, so that the message says what they are. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
	parsed = json_tokener_parse_ex(tok, json, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (!parsed) {
		/* json-c returns NULL with success for the JSON text "null". */
		if (jerr == json_tokener_success)
			jitrd_diag_set(diag, "event is not a JSON object but null");
		else if (jerr == json_tokener_continue)
			jitrd_diag_set(diag, "event is not JSON: truncated after %zu bytes", len);
		else
			jitrd_diag_set(diag, "event is not JSON: %s at byte %zu",
			               json_tokener_error_desc(jerr), end);
		goto cleanup;
	}
	for (size_t i = end; i < len; i++) {
		if (!is_json_space(json[i])) {
			jitrd_diag_set(diag, "event is not JSON: trailing data at byte %zu", i);
			goto cleanup;
		}
	}
	end = lenient_json_at(json, len);
	if (end != len) {
		jitrd_diag_set(diag,
		               "event is not JSON: single quote or unescaped control "
		               "character at byte %zu",
		               end);
		goto cleanup;
	}
	if (!json_object_is_type(parsed, json_type_object)) {
		jitrd_diag_set(diag, "event is not a JSON object but %s",
		               json_type_to_name(json_object_get_type(parsed)));
		goto cleanup;
	}
	*root = parsed;
	parsed = NULL;
	result = JITRD_OK;
cleanup:
	json_object_put(parsed);
	return result;
}

enum jitrd_err jitrd_event_parse(const char *json, size_t len, struct jitrd_event *out,
                                 struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct json_tokener *tok = NULL;
	struct json_object *root = NULL;
	struct jitrd_event event;
	const char *nul;

	/* Filled field by field; copied to *out only when every field passed. */
	memset(&event, 0, sizeof(event));
	if (!json || !out) {
		jitrd_diag_set(diag, "event: no input or no output");
		goto cleanup;
	}
	/* Checked before parsing, so an oversized input costs nothing (DESIGN §3 step 1). */
	if (len > JITRD_EVENT_MAX_BYTES) {
		jitrd_diag_set(diag, "event is %zu bytes, over the %d-byte maximum", len,
		               JITRD_EVENT_MAX_BYTES);
		result = JITRD_ERR_TOO_LARGE;
		goto cleanup;
	}
	/* json-c would stop at a raw NUL and report success on what came before it. */
	nul = memchr(json, '\0', len);
	if (nul) {
		jitrd_diag_set(diag, "event is not JSON: NUL byte at byte %zu",
		               (size_t)(nul - json));
		result = JITRD_ERR_MALFORMED;
		goto cleanup;
	}
	tok = json_tokener_new_ex(EVENT_MAX_DEPTH);
	if (!tok) {
		jitrd_diag_set(diag, "event: out of memory");
		result = JITRD_ERR_NOMEM;
		goto cleanup;
	}
	result = parse_object(tok, json, len, &root, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = parse_hex_id(root, "certificateId", event.certificate_id, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = parse_hex_id(root, "caCertificateId", event.ca_certificate_id, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = parse_timestamp(root, "timestamp", &event.timestamp_ms, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = parse_status(root, event.certificate_status, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = parse_account(root, event.aws_account_id, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = parse_timestamp(root, "certificateRegistrationTimestamp",
	                         &event.registration_timestamp_ms, diag);
	if (result != JITRD_OK)
		goto cleanup;

	*out = event;
	result = JITRD_OK;
cleanup:
	json_object_put(root);
	if (tok)
		json_tokener_free(tok);
	return result;
}
