/* event.c — strict parsing of AWS IoT's certificate registration event (DESIGN §1, §3 step 1).
 * Pure: bytes in, struct out. It must not do I/O, log, or trust a byte: each of the six fields
 * is checked for type and form before it is kept, and *out is written only when all pass. */
#include "jitrd/event.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "jitrd/text.h"

/* The event is flat, but members AWS may add later are ignored, not refused, so allow a little
 * nesting in them; a depth bomb stops in the tokenizer instead of growing its stack. */
#define EVENT_MAX_DEPTH 16

/* How much of an offending value a diagnostic quotes (jitrd_quote cuts with "..."). */
#define DIAG_QUOTE_SIZE 96

/* The widest numeric string that can hold an int64 ("9223372036854775807"). */
#define TIMESTAMP_MAX_DIGITS 19

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* JSON's own whitespace (RFC 8259 §2), not isspace(), which also takes \v and \f. */
static int is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
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
	if (len != JITRD_ID_HEX_LEN || !jitrd_hex_lower_copy(text, len, out))
		return bad_field(diag, name, "not 64 hex digits", value);
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

/* ---- duplicate member names ----
 * json-c keeps the last of two members with one name and says nothing, so an event could
 * carry two certificateIds and a reader other than us (a log, a person) see the other one.
 * The raw text is scanned again for member names, decoded as json-c decodes them (so
 * "certificate\u0049d" is certificateId), and any name repeated within one object refused. */

struct member_name {
	size_t object;             /* ordinal of the enclosing '{' */
	const unsigned char *name; /* decoded, in the scan's names buffer */
	size_t len;
	size_t at; /* byte offset of its opening quote in the event */
};

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The code unit of "\uXXXX" at s (6 bytes available), or -1. */
static long unicode_escape(const char *s, size_t avail)
{
	long v = 0;

	if (avail < 6 || s[0] != '\\' || s[1] != 'u')
		return -1;
	for (size_t k = 2; k < 6; k++) {
		int h = hex_value(s[k]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

static size_t put_utf8(unsigned char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decodes the JSON string whose opening quote is at json[i] (text json-c accepted, so it is
 * well-formed) into out, which has room for its raw length. Surrogates as json-c 0.16 treats
 * them: a pair is one code point, a lone one U+FFFD. Returns the offset after the closing
 * quote; *out_len the decoded length. */
static size_t decode_string(const char *json, size_t len, size_t i, unsigned char *out,
                            size_t *out_len)
{
	size_t o = 0;

	for (i++; i < len && json[i] != '"';) {
		long unit, low;

		if (json[i] != '\\') {
			out[o++] = (unsigned char)json[i++];
			continue;
		}
		if (i + 1 >= len)
			break;
		switch (json[i + 1]) {
		case 'b':
			out[o++] = '\b';
			break;
		case 'f':
			out[o++] = '\f';
			break;
		case 'n':
			out[o++] = '\n';
			break;
		case 'r':
			out[o++] = '\r';
			break;
		case 't':
			out[o++] = '\t';
			break;
		case 'u':
			unit = unicode_escape(json + i, len - i);
			if (unit < 0) {
				i += 2; /* cannot happen in accepted text; never loop */
				continue;
			}
			i += 6;
			if (unit >= 0xd800 && unit <= 0xdbff &&
			    (low = unicode_escape(json + i, len - i)) >= 0xdc00 && low <= 0xdfff) {
				i += 6;
				o += put_utf8(out + o, 0x10000 + (uint32_t)((unit - 0xd800) << 10) +
				                           (uint32_t)(low - 0xdc00));
			} else if (unit >= 0xd800 && unit <= 0xdfff) {
				o += put_utf8(out + o, 0xfffd);
			} else {
				o += put_utf8(out + o, (uint32_t)unit);
			}
			continue;
		default: /* '"', '\\', '/' stand for themselves */
			out[o++] = (unsigned char)json[i + 1];
			break;
		}
		i += 2;
	}
	*out_len = o;
	return i + 1;
}

static int member_name_cmp(const void *a, const void *b)
{
	const struct member_name *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c;

	if (x->object != y->object)
		return x->object < y->object ? -1 : 1;
	c = memcmp(x->name, y->name, n);
	if (c != 0)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return (x->at > y->at) - (x->at < y->at);
}

/* Stack depth: json-c refused anything deeper than EVENT_MAX_DEPTH already. */
#define SCAN_MAX_DEPTH (EVENT_MAX_DEPTH + 1)

static enum jitrd_err duplicate_members(const char *json, size_t len, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_NOMEM;
	/* a member takes at least 4 bytes ("":0 and a separator), so this bounds the count */
	size_t cap = len / 4 + 1, count = 0, used = 0, objects = 0, depth = 0;
	struct member_name *members = malloc(cap * sizeof(*members));
	unsigned char *names = malloc(len + 1);
	size_t stack[SCAN_MAX_DEPTH]; /* object ordinal + 1, or 0 for an array */
	const struct member_name *dup = NULL;
	int expect_name = 0;

	if (!members || !names) {
		jitrd_diag_set(diag, "event: out of memory");
		goto cleanup;
	}
	result = JITRD_ERR_MALFORMED;
	for (size_t i = 0; i < len;) {
		char c = json[i];

		if (c == '"') {
			size_t start = i, nlen;

			i = decode_string(json, len, i, names + used, &nlen);
			/* count < cap always (see cap); the test keeps the bound local */
			if (!expect_name || count == cap)
				continue;
			if (memchr(names + used, '\0', nlen)) {
				/* json-c would cut such a name at the NUL, joining it to another */
				char quoted[DIAG_QUOTE_SIZE];

				jitrd_quote(quoted, sizeof(quoted), (const char *)names + used,
				            nlen);
				jitrd_diag_set(diag,
				               "event member name \"%s\" holds a NUL (byte %zu)",
				               quoted, start);
				goto cleanup;
			}
			members[count++] =
			    (struct member_name){stack[depth - 1] - 1, names + used, nlen, start};
			used += nlen;
			expect_name = 0;
			continue;
		}
		if (c == '{' || c == '[') {
			if (depth == SCAN_MAX_DEPTH) {
				jitrd_diag_set(diag, "event nests deeper than %d", EVENT_MAX_DEPTH);
				goto cleanup;
			}
			stack[depth++] = c == '{' ? ++objects : 0;
			expect_name = c == '{';
		} else if (c == '}' || c == ']') {
			if (depth > 0)
				depth--;
			expect_name = 0;
		} else if (c == ',') {
			expect_name = depth > 0 && stack[depth - 1] != 0;
		} else if (c == ':') {
			expect_name = 0;
		}
		i++;
	}
	qsort(members, count, sizeof(*members), member_name_cmp);
	/* sorted by object, name, then position: the second of equal neighbours repeats the
	 * first; the earliest such repetition in the text is reported */
	for (size_t k = 1; k < count; k++) {
		const struct member_name *a = &members[k - 1], *b = &members[k];

		if (a->object == b->object && a->len == b->len &&
		    memcmp(a->name, b->name, a->len) == 0 && (!dup || b->at < dup->at))
			dup = b;
	}
	if (dup) {
		char quoted[DIAG_QUOTE_SIZE];

		jitrd_quote(quoted, sizeof(quoted), (const char *)dup->name, dup->len);
		jitrd_diag_set(diag,
		               "event is not JSON we accept: member \"%s\" appears twice "
		               "(again at byte %zu)",
		               quoted, dup->at);
		goto cleanup;
	}
	result = JITRD_OK;
cleanup:
	free(members);
	free(names);
	return result;
}

/* The input is one JSON object, in well-formed UTF-8, then only whitespace. */
static enum jitrd_err parse_object(struct json_tokener *tok, const char *json, size_t len,
                                   struct json_object **root, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_MALFORMED;
	struct json_object *parsed = NULL;
	enum json_tokener_error jerr;
	size_t end;

	/* RFC 3629: json-c's own check lets overlong forms and surrogates through */
	end = jitrd_utf8_invalid_at(json, len);
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
	result = duplicate_members(json, len, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = JITRD_ERR_MALFORMED;
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

/* ---- SQS message bodies ---- */

static int is_base64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '+' ||
	       c == '/';
}

enum jitrd_err jitrd_event_body_decode(const char *body, size_t len, char *decoded,
                                       size_t decoded_size, const char **event, size_t *event_len,
                                       struct jitrd_diag *diag)
{
	unsigned char *again = NULL;
	size_t start = 0, pad = 0, n;
	int got;
	enum jitrd_err result = JITRD_ERR_MALFORMED;

	if ((!body && len) || !decoded || decoded_size == 0 || !event || !event_len ||
	    decoded_size > INT32_MAX) {
		jitrd_diag_set(diag, "message body: invalid argument");
		return JITRD_ERR_INVALID_ARG;
	}
	while (start < len && is_json_space(body[start]))
		start++;
	if (start < len && body[start] == '{') {
		if (len > JITRD_EVENT_MAX_BYTES) {
			jitrd_diag_set(diag,
			               "message body: %zu bytes, more than the %d of an event", len,
			               JITRD_EVENT_MAX_BYTES);
			return JITRD_ERR_TOO_LARGE;
		}
		*event = body;
		*event_len = len;
		return JITRD_OK;
	}
	if (len == 0) {
		jitrd_diag_set(diag, "message body: empty");
		return JITRD_ERR_MALFORMED;
	}
	/* EVP_DecodeBlock writes three bytes per four characters, padding included. */
	if (len > JITRD_EVENT_MAX_BASE64 || (len / 4) * 3 > decoded_size) {
		jitrd_diag_set(diag, "message body: %zu bytes of base64, more than an event", len);
		return JITRD_ERR_TOO_LARGE;
	}
	/* It also skips blanks and takes a '=' where RFC 4648 §4 has none, so the alphabet and
	 * the padding are checked here first. */
	if (len % 4 != 0)
		goto malformed;
	while (pad < 2 && body[len - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < len - pad; i++)
		if (!is_base64_char(body[i]))
			goto malformed;
	got = EVP_DecodeBlock((unsigned char *)decoded, (const unsigned char *)body, (int)len);
	if (got < 0 || (size_t)got < pad)
		goto malformed;
	n = (size_t)got - pad; /* EVP_DecodeBlock counts the padding as zero bytes */
	if (n > decoded_size - 1 || n > JITRD_EVENT_MAX_BYTES) {
		jitrd_diag_set(diag, "message body: decodes to %zu bytes, more than %zu", n,
		               decoded_size - 1 < JITRD_EVENT_MAX_BYTES
		                   ? decoded_size - 1
		                   : (size_t)JITRD_EVENT_MAX_BYTES);
		return JITRD_ERR_TOO_LARGE;
	}
	/* Canonical only: bits past the data (in the last character before '=') must be zero,
	 * so one event has one encoding. Encoding the bytes again must give the input back. */
	result = JITRD_ERR_NOMEM;
	again = malloc(len + 1);
	if (!again) {
		jitrd_diag_set(diag, "message body: out of memory");
		return JITRD_ERR_NOMEM;
	}
	result = JITRD_ERR_MALFORMED;
	if ((size_t)EVP_EncodeBlock(again, (const unsigned char *)decoded, (int)n) != len ||
	    memcmp(again, body, len) != 0) {
		free(again);
		goto malformed;
	}
	free(again);
	decoded[n] = '\0';
	start = 0;
	while (start < n && is_json_space(decoded[start]))
		start++;
	if (start == n || decoded[start] != '{') {
		jitrd_diag_set(diag, "message body: base64 of something that is not a JSON object");
		return JITRD_ERR_MALFORMED;
	}
	*event = decoded;
	*event_len = n;
	return JITRD_OK;
malformed:
	jitrd_diag_set(diag, "message body: neither an event (JSON) nor strict base64 of one");
	return result;
}
