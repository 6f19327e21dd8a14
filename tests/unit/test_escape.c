/* test_escape.c — unit tests of the one escaper (escape.h): table-driven golden outputs of
 * hostile values in both forms (control bytes, quotes, backslashes, '=', invalid and cut UTF-8,
 * empty, NULL, oversized), the two-pass line builder and its refusals. */
#include "jitrd/escape.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "testsupport.h"

enum form { TEXT, JSON };

struct one_value {
	enum form form;
	const char *value;
	size_t max;
};

static void put_one(struct jitrd_escape_line *line, const void *ctx)
{
	const struct one_value *v = ctx;

	if (v->form == TEXT)
		jitrd_escape_text(line, v->value, v->max);
	else
		jitrd_escape_json(line, v->value, v->max);
}

/* The escaped value through jitrd_escape_build; NULL (and a failed assertion) on error. */
static char *escaped(enum form form, const char *value, size_t max)
{
	const struct one_value v = {.form = form, .value = value, .max = max};
	char *out = NULL;

	CU_ASSERT_EQUAL(jitrd_escape_build(put_one, &v, &out), JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL(out);
	return out;
}

struct golden {
	const char *value;
	size_t max;
	const char *text;
	const char *json;
};

#define U JITRD_ESCAPE_UNCUT

static const struct golden goldens[] = {
    /* bare in text only when nothing in it could end the value or forge a key */
    {"device-0001", U, "device-0001", "\"device-0001\""},
    {"", U, "\"\"", "\"\""},
    {"a b", U, "\"a b\"", "\"a b\""},
    {"k=v", U, "\"k=v\"", "\"k=v\""},
    {"say \"hi\"", U, "\"say \\\"hi\\\"\"", "\"say \\\"hi\\\"\""},
    {"C:\\dir", U, "\"C:\\\\dir\"", "\"C:\\\\dir\""},
    /* a forged second line or key */
    {"x\nlevel=error event=forged", U, "\"x\\nlevel=error event=forged\"",
     "\"x\\nlevel=error event=forged\""},
    {"a\r\tb", U, "\"a\\r\\tb\"", "\"a\\r\\tb\""},
    /* other control bytes and DEL */
    {"\x01\x1b[31m\x7f", U, "\"\\x01\\x1b[31m\\x7f\"", "\"\\u0001\\u001b[31m\\u007f\""},
    /* well-formed UTF-8: kept in JSON, \xNN in text */
    {"caf\xc3\xa9", U, "\"caf\\xc3\\xa9\"", "\"caf\xc3\xa9\""},
    {"\xf0\x9f\x94\x91", U, "\"\\xf0\\x9f\\x94\\x91\"", "\"\xf0\x9f\x94\x91\""},
    /* invalid UTF-8: a lone continuation byte, an overlong '/', a surrogate, past U+10FFFF */
    {"\x80", U, "\"\\x80\"", "\"\\u0080\""},
    {"\xc0\xaf", U, "\"\\xc0\\xaf\"", "\"\\u00c0\\u00af\""},
    {"\xed\xa0\x80", U, "\"\\xed\\xa0\\x80\"", "\"\\u00ed\\u00a0\\u0080\""},
    {"\xf4\x90\x80\x80", U, "\"\\xf4\\x90\\x80\\x80\"", "\"\\u00f4\\u0090\\u0080\\u0080\""},
    /* a sequence that the string ends inside of */
    {"ab\xe2\x82", U, "\"ab\\xe2\\x82\"", "\"ab\\u00e2\\u0082\""},
    /* cut: quoted whatever it holds, "..." inside the quotes */
    {"abcdef", 3, "\"abc...\"", "\"abc...\""},
    {"abc", 3, "abc", "\"abc\""},
    {"abcd", 0, "\"...\"", "\"...\""},
    {"", 0, "\"\"", "\"\""},
    {"a\"bc", 2, "\"a\\\"...\"", "\"a\\\"...\""},
    /* cut in the middle of a UTF-8 sequence: its first bytes escaped, never half a character */
    {"x\xe2\x82\xac", 3, "\"x\\xe2\\x82...\"", "\"x\\u00e2\\u0082...\""},
    {"x\xe2\x82\xac", 4, "\"x\\xe2\\x82\\xac\"", "\"x\xe2\x82\xac\""},
};

static void test_goldens(void)
{
	for (size_t i = 0; i < sizeof(goldens) / sizeof(goldens[0]); i++) {
		char *text = escaped(TEXT, goldens[i].value, goldens[i].max);
		char *json = escaped(JSON, goldens[i].value, goldens[i].max);

		CU_ASSERT_PTR_NOT_NULL_FATAL(text);
		CU_ASSERT_PTR_NOT_NULL_FATAL(json);
		if (strcmp(text, goldens[i].text) != 0 || strcmp(json, goldens[i].json) != 0)
			fprintf(stderr, "case %zu: text [%s] json [%s]\n", i, text, json);
		CU_ASSERT_STRING_EQUAL(text, goldens[i].text);
		CU_ASSERT_STRING_EQUAL(json, goldens[i].json);
		free(text);
		free(json);
	}
}

static void test_null_is_empty(void)
{
	char *text = escaped(TEXT, NULL, U);
	char *json = escaped(JSON, NULL, 8);

	CU_ASSERT_STRING_EQUAL(text, "\"\"");
	CU_ASSERT_STRING_EQUAL(json, "\"\"");
	free(text);
	free(json);
}

/* Every byte value 1..255 in one JSON string: json-c reads it back as one valid string, and
 * the text form holds nothing but printable ASCII. */
static void test_every_byte(void)
{
	char value[256];
	char *text, *json;
	struct json_object *parsed;

	for (int b = 1; b < 256; b++)
		value[b - 1] = (char)b;
	value[255] = '\0';
	text = escaped(TEXT, value, U);
	json = escaped(JSON, value, U);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(json);
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		CU_ASSERT(*p >= ' ' && *p < 0x7f);
	CU_ASSERT_PTR_NULL(strchr(json, '\n'));
	parsed = json_tokener_parse(json);
	CU_ASSERT_PTR_NOT_NULL(parsed);
	CU_ASSERT(json_object_is_type(parsed, json_type_string));
	/* the ASCII bytes come back as they went in */
	if (parsed)
		CU_ASSERT_EQUAL(memcmp(json_object_get_string(parsed), value, 127), 0);
	json_object_put(parsed);
	free(text);
	free(json);
}

/* An oversized value stays within max bytes plus its escapes, whatever it holds. */
static void test_oversized(void)
{
	size_t big = 100000;
	char *value = malloc(big + 1);
	char *text, *json;

	CU_ASSERT_PTR_NOT_NULL_FATAL(value);
	memset(value, '\n', big);
	value[big] = '\0';
	text = escaped(TEXT, value, 2048);
	json = escaped(JSON, value, 2048);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(json);
	/* 2048 two-byte escapes, "...", the quotes */
	CU_ASSERT_EQUAL(strlen(text), 2 * 2048 + 3 + 2);
	CU_ASSERT_EQUAL(strlen(json), 2 * 2048 + 3 + 2);
	CU_ASSERT_STRING_EQUAL(text + strlen(text) - 6, "\\n...\"");
	free(text);
	free(json);
	free(value);
}

/* Raw pieces go in as they are; a line passing SIZE_MAX stops and says so. */
static void test_put_and_overflow(void)
{
	struct jitrd_escape_line measure = {0};
	char buf[8];
	struct jitrd_escape_line line = {.buf = buf, .cap = 4};

	jitrd_escape_put_str(&measure, "key=");
	jitrd_escape_text(&measure, "v", U);
	CU_ASSERT_EQUAL(measure.len, 5);
	CU_ASSERT_FALSE(measure.overflow);
	measure.len = SIZE_MAX - 2;
	jitrd_escape_put(&measure, "ab", 2);
	CU_ASSERT_TRUE(measure.overflow);
	CU_ASSERT_EQUAL(measure.len, SIZE_MAX - 2);

	/* a buffer's cap is never passed */
	memset(buf, 'z', sizeof(buf));
	jitrd_escape_put(&line, "abc", 3);
	CU_ASSERT_FALSE(line.overflow);
	jitrd_escape_put(&line, "de", 2);
	CU_ASSERT_TRUE(line.overflow);
	CU_ASSERT_EQUAL(line.len, 3);
	CU_ASSERT_EQUAL(memcmp(buf, "abczzzzz", 8), 0);
}

static int calls;

/* Appends more the second time than the first: a caller's bug the builder must refuse. */
static void put_growing(struct jitrd_escape_line *line, const void *ctx)
{
	(void)ctx;
	calls++;
	jitrd_escape_put_str(line, calls == 1 ? "ab" : "abcdef");
}

static void put_shrinking(struct jitrd_escape_line *line, const void *ctx)
{
	(void)ctx;
	calls++;
	jitrd_escape_put_str(line, calls == 1 ? "abcdef" : "ab");
}

static void put_huge(struct jitrd_escape_line *line, const void *ctx)
{
	(void)ctx;
	line->len = SIZE_MAX - 1;
	jitrd_escape_put(line, "x", 1);
}

static void test_build_refusals(void)
{
	char *out = (char *)"untouched";

	CU_ASSERT_EQUAL(jitrd_escape_build(NULL, NULL, &out), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_escape_build(put_one, NULL, NULL), JITRD_ERR_INVALID_ARG);
	calls = 0;
	CU_ASSERT_EQUAL(jitrd_escape_build(put_growing, NULL, &out), JITRD_ERR_INVALID_ARG);
	calls = 0;
	CU_ASSERT_EQUAL(jitrd_escape_build(put_shrinking, NULL, &out), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_escape_build(put_huge, NULL, &out), JITRD_ERR_NOMEM);
	CU_ASSERT_STRING_EQUAL(out, "untouched");
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"golden text and JSON forms of hostile values", test_goldens},
	    {"NULL is written as empty", test_null_is_empty},
	    {"every byte stays in one valid string", test_every_byte},
	    {"oversized values are cut at the maximum", test_oversized},
	    {"raw pieces, overflow and the buffer's cap", test_put_and_overflow},
	    {"the builder refuses bad callers and overflow", test_build_refusals},
	    {NULL, NULL},
	};

	return tsupport_run("escape", cases);
}
