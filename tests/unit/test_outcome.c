/* test_outcome.c — unit tests of the outcome line (DESIGN §4.5): golden lines in both formats,
 * hostile strings that must stay one line and read back as they went in, the policy document
 * embedded as an object or a string, and refused arguments. */
#include "jitrd/outcome.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "testsupport.h"

#define CERT_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CA_ID   "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

/* 2026-11-28T04:19:37Z */
#define GOLDEN_TIME ((time_t)1795839577)

static const char *const key_order[] = {
    "time",      "certificateId", "caCertificateId", "decision",        "reason",
    "status",    "serial",        "subject_cn",      "policy",          "thing",
    "api_calls", "attempts",      "duration_ms",     "policy_document",
};
#define KEYS_WITHOUT_DOCUMENT 13

static struct jitrd_outcome golden_outcome(void)
{
	struct jitrd_outcome o = {
	    .time = GOLDEN_TIME,
	    .time_ms = 123,
	    .certificate_id = CERT_ID,
	    .ca_certificate_id = CA_ID,
	    .decision = JITRD_DECISION_ACTIVATE,
	    .reason = "not on CRL",
	    .status = "ACTIVE",
	    .serial = "1a2b",
	    .subject_cn = "device-0001",
	    .policy = "jitrd-device",
	    .thing = "device-0001",
	    .api_calls = 5,
	    .attempts = 1,
	    .duration_ms = 87,
	    .policy_document = NULL,
	};
	return o;
}

static char *format_ok(const struct jitrd_outcome *o, enum jitrd_log_format format)
{
	char *line = NULL;

	CU_ASSERT_EQUAL(jitrd_outcome_format(o, format, &line), JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL(line);
	return line;
}

/* One line: no raw CR or LF anywhere, no trailing newline. */
static int one_line(const char *line)
{
	return line && !strchr(line, '\n') && !strchr(line, '\r');
}

/* A reader of the text format, as an operator's log tool would be: splits "k=v k=\"v\""
 * pairs, undoing the escapes. Returns the number of pairs, or -1 on a syntax error. */
#define MAX_PAIRS 20
struct pair {
	char key[32];
	char *value; /* malloc'd */
};

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void free_pairs(struct pair *pairs, int count)
{
	for (int i = 0; i < count; i++)
		free(pairs[i].value);
}

static int read_text_line(const char *line, struct pair *pairs)
{
	const char *p = line;
	int count = 0;

	while (*p) {
		size_t key_len = strcspn(p, "= ");
		char *value;
		size_t n = 0;

		if (count == MAX_PAIRS || p[key_len] != '=' || key_len == 0 ||
		    key_len >= sizeof(pairs[count].key))
			goto fail;
		memcpy(pairs[count].key, p, key_len);
		pairs[count].key[key_len] = '\0';
		p += key_len + 1;
		value = malloc(strlen(p) + 1);
		if (!value)
			goto fail;
		pairs[count].value = value;
		count++;
		if (*p != '"') {
			while (*p && *p != ' ') {
				if (*p == '"' || *p == '=' || *p == '\\')
					goto fail; /* would have needed quotes */
				value[n++] = *p++;
			}
		} else {
			for (p++; *p != '"'; p++) {
				if (!*p)
					goto fail;
				if (*p != '\\') {
					value[n++] = *p;
					continue;
				}
				p++;
				if (*p == 'n')
					value[n++] = '\n';
				else if (*p == 'r')
					value[n++] = '\r';
				else if (*p == 't')
					value[n++] = '\t';
				else if (*p == '"' || *p == '\\')
					value[n++] = *p;
				else if (*p == 'x' && hex_value(p[1]) >= 0 &&
				         hex_value(p[2]) >= 0) {
					value[n++] = (char)(hex_value(p[1]) * 16 + hex_value(p[2]));
					p += 2;
				} else
					goto fail;
			}
			p++;
		}
		value[n] = '\0';
		if (*p == ' ') {
			p++;
			if (!*p)
				goto fail;
		} else if (*p) {
			goto fail;
		}
	}
	return count;
fail:
	free_pairs(pairs, count);
	return -1;
}

/* Checks a text line has exactly the keys of §4.5 in order, and returns subject_cn's value
 * (malloc'd) or NULL. */
static char *text_roundtrip(const char *line, size_t want_keys, const char *key)
{
	struct pair pairs[MAX_PAIRS];
	int count = read_text_line(line, pairs);
	char *found = NULL;

	CU_ASSERT_EQUAL_FATAL(count, (int)want_keys);
	for (int i = 0; i < count; i++) {
		CU_ASSERT_STRING_EQUAL(pairs[i].key, key_order[i]);
		if (strcmp(pairs[i].key, key) == 0 && !found) {
			found = pairs[i].value;
			pairs[i].value = NULL;
		}
	}
	free_pairs(pairs, count);
	return found;
}

/* Checks a JSON line parses to an object with the keys of §4.5 in order; returns the parsed
 * object (caller puts it). */
static struct json_object *json_roundtrip(const char *line, size_t want_keys)
{
	struct json_object *root = json_tokener_parse(line);
	size_t i = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	CU_ASSERT_FATAL(json_object_is_type(root, json_type_object));
	json_object_object_foreach(root, key, value)
	{
		(void)value;
		CU_ASSERT_FATAL(i < want_keys);
		CU_ASSERT_STRING_EQUAL(key, key_order[i]);
		i++;
	}
	CU_ASSERT_EQUAL(i, want_keys);
	return root;
}

static void test_decision_names(void)
{
	static const char *const want[JITRD_DECISION_COUNT] = {
	    "activate", "revoke", "hold", "reject", "skip", "ignore", "defer", "invalid", "failed",
	};

	for (int i = 0; i < JITRD_DECISION_COUNT; i++)
		CU_ASSERT_STRING_EQUAL(jitrd_decision_name((enum jitrd_decision_kind)i), want[i]);
	CU_ASSERT_STRING_EQUAL(jitrd_decision_name(JITRD_DECISION_COUNT), "unknown");
	CU_ASSERT_STRING_EQUAL(jitrd_decision_name((enum jitrd_decision_kind) - 1), "unknown");
	CU_ASSERT_STRING_EQUAL(jitrd_decision_name((enum jitrd_decision_kind)1000), "unknown");
}

static void test_golden_json(void)
{
	struct jitrd_outcome o = golden_outcome();
	char *line = format_ok(&o, JITRD_LOG_JSON);

	CU_ASSERT_STRING_EQUAL(line, "{\"time\":\"2026-11-28T04:19:37.123Z\","
	                             "\"certificateId\":\"" CERT_ID "\","
	                             "\"caCertificateId\":\"" CA_ID "\","
	                             "\"decision\":\"activate\",\"reason\":\"not on CRL\","
	                             "\"status\":\"ACTIVE\",\"serial\":\"1a2b\","
	                             "\"subject_cn\":\"device-0001\",\"policy\":\"jitrd-device\","
	                             "\"thing\":\"device-0001\",\"api_calls\":5,\"attempts\":1,"
	                             "\"duration_ms\":87}");
	free(line);
}

static void test_golden_text(void)
{
	struct jitrd_outcome o = golden_outcome();
	char *line = format_ok(&o, JITRD_LOG_TEXT);

	CU_ASSERT_STRING_EQUAL(line, "time=2026-11-28T04:19:37.123Z certificateId=" CERT_ID
	                             " caCertificateId=" CA_ID " decision=activate"
	                             " reason=\"not on CRL\" status=ACTIVE serial=1a2b"
	                             " subject_cn=device-0001 policy=jitrd-device thing=device-0001"
	                             " api_calls=5 attempts=1 duration_ms=87");
	free(line);
}

/* NULL and "" strings print as empty; numbers at their extremes print in full. */
static void test_empty_fields_and_limits(void)
{
	struct jitrd_outcome o = {
	    .time = 0,
	    .time_ms = 0,
	    .decision = JITRD_DECISION_INVALID,
	    .reason = "",
	    .api_calls = UINT32_MAX,
	    .attempts = 0,
	    .duration_ms = UINT64_MAX,
	};
	char *line = format_ok(&o, JITRD_LOG_JSON);

	CU_ASSERT_STRING_EQUAL(line,
	                       "{\"time\":\"1970-01-01T00:00:00.000Z\",\"certificateId\":\"\","
	                       "\"caCertificateId\":\"\",\"decision\":\"invalid\","
	                       "\"reason\":\"\",\"status\":\"\",\"serial\":\"\","
	                       "\"subject_cn\":\"\",\"policy\":\"\",\"thing\":\"\","
	                       "\"api_calls\":4294967295,\"attempts\":0,"
	                       "\"duration_ms\":18446744073709551615}");
	free(line);
	line = format_ok(&o, JITRD_LOG_TEXT);
	CU_ASSERT_STRING_EQUAL(line,
	                       "time=1970-01-01T00:00:00.000Z certificateId=\"\" "
	                       "caCertificateId=\"\" decision=invalid reason=\"\" status=\"\" "
	                       "serial=\"\" subject_cn=\"\" policy=\"\" thing=\"\" "
	                       "api_calls=4294967295 attempts=0 "
	                       "duration_ms=18446744073709551615");
	free(line);
}

static void test_time_forms(void)
{
	static const struct {
		time_t t;
		int ms;
		const char *want;
	} cases[] = {
	    {0, 999, "1970-01-01T00:00:00.999Z"},
	    {951782400, 5, "2000-02-29T00:00:00.005Z"},  /* leap day */
	    {1906502400, 0, "2030-06-01T00:00:00.000Z"}, /* JITRD_TEST_NOW */
	    {253402300799, 999, "9999-12-31T23:59:59.999Z"},
	    {-1, 0, "1969-12-31T23:59:59.000Z"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_outcome o = golden_outcome();
		char want[64];
		char *line;

		o.time = cases[i].t;
		o.time_ms = cases[i].ms;
		line = format_ok(&o, JITRD_LOG_TEXT);
		snprintf(want, sizeof(want), "time=%s ", cases[i].want);
		CU_ASSERT_PTR_NOT_NULL(line);
		if (line)
			CU_ASSERT_EQUAL(strncmp(line, want, strlen(want)), 0);
		free(line);
	}
}

/* Hostile strings in every string field: each line stays one line, has exactly the keys of
 * §4.5 in order, and gives the original back through the matching reader. */
static void test_hostile_strings(void)
{
	static const char *const hostile[] = {
	    "line1\nline2",
	    "cr\rlf\r\n",
	    "a \"quoted\" name",
	    "back\\slash\\",
	    "x decision=activate status=ACTIVE",
	    "\" decision=\"activate",
	    "=",
	    "\"",
	    "\\",
	    " ",
	    "tab\there",
	    "\x01\x02\x1b[31mred\x1b[0m\x7f",
	    "caf\xc3\xa9 \xe2\x80\xa8 sep", /* UTF-8, with U+2028 */
	    "bad utf-8 \xff\xfe\xc0\xaf\xed\xa0\x80",
	    "{\"json\":\"inside\"}\n{\"time\":\"x\"}",
	    "</script>/*//*/",
	};

	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		struct jitrd_outcome o = golden_outcome();
		struct json_object *root, *value;
		char *line, *back;

		o.subject_cn = hostile[i];
		o.reason = hostile[i];
		o.serial = hostile[i];
		o.thing = hostile[i];

		line = format_ok(&o, JITRD_LOG_TEXT);
		CU_ASSERT(one_line(line));
		back = text_roundtrip(line, KEYS_WITHOUT_DOCUMENT, "subject_cn");
		CU_ASSERT_PTR_NOT_NULL(back);
		if (back)
			CU_ASSERT_STRING_EQUAL(back, hostile[i]);
		free(back);
		back = text_roundtrip(line, KEYS_WITHOUT_DOCUMENT, "thing");
		if (back)
			CU_ASSERT_STRING_EQUAL(back, hostile[i]);
		free(back);
		/* nothing outside quotes is a control or non-ASCII byte */
		for (const unsigned char *p = (const unsigned char *)line; *p; p++)
			CU_ASSERT(*p >= 0x20 && *p < 0x7f);
		free(line);

		line = format_ok(&o, JITRD_LOG_JSON);
		CU_ASSERT(one_line(line));
		root = json_roundtrip(line, KEYS_WITHOUT_DOCUMENT);
		CU_ASSERT_FATAL(json_object_object_get_ex(root, "subject_cn", &value));
		CU_ASSERT_STRING_EQUAL(json_object_get_string(value), hostile[i]);
		CU_ASSERT_FATAL(json_object_object_get_ex(root, "reason", &value));
		CU_ASSERT_STRING_EQUAL(json_object_get_string(value), hostile[i]);
		CU_ASSERT_FATAL(json_object_object_get_ex(root, "decision", &value));
		CU_ASSERT_STRING_EQUAL(json_object_get_string(value), "activate");
		json_object_put(root);
		free(line);
	}
}

/* Exact escapes of the text format. */
static void test_text_escapes(void)
{
	static const struct {
		const char *in;
		const char *want; /* as printed after "subject_cn=" */
	} cases[] = {
	    {"plain-value_1.2:3/4", "plain-value_1.2:3/4"},
	    {"", "\"\""},
	    {"a b", "\"a b\""},
	    {"a=b", "\"a=b\""},
	    {"say \"hi\"", "\"say \\\"hi\\\"\""},
	    {"C:\\dir", "\"C:\\\\dir\""},
	    {"l1\nl2\r\t", "\"l1\\nl2\\r\\t\""},
	    {"\x01\x7f\xff", "\"\\x01\\x7f\\xff\""},
	    {"caf\xc3\xa9", "\"caf\\xc3\\xa9\""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_outcome o = golden_outcome();
		char want[128];
		char *line;

		o.subject_cn = cases[i].in;
		line = format_ok(&o, JITRD_LOG_TEXT);
		snprintf(want, sizeof(want), " subject_cn=%s policy=jitrd-device ", cases[i].want);
		CU_ASSERT_PTR_NOT_NULL(line);
		if (line && !strstr(line, want)) {
			CU_FAIL("text escape differs");
			fprintf(stderr, "\n  want \"%s\" in \"%s\"\n", want, line);
		}
		free(line);
	}
}

/* A 64 KiB Common Name of every byte value: one line, read back intact in both formats. */
static void test_huge_cn(void)
{
	size_t size = 64 * 1024;
	char *cn = malloc(size + 1);
	struct jitrd_outcome o = golden_outcome();
	struct json_object *root, *value;
	char *line, *back;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cn);
	for (size_t i = 0; i < size; i++)
		cn[i] = (char)(1 + i % 255);
	cn[size] = '\0';
	o.subject_cn = cn;

	line = format_ok(&o, JITRD_LOG_TEXT);
	CU_ASSERT(one_line(line));
	CU_ASSERT(strlen(line) > size);
	back = text_roundtrip(line, KEYS_WITHOUT_DOCUMENT, "subject_cn");
	CU_ASSERT_PTR_NOT_NULL(back);
	if (back)
		CU_ASSERT_EQUAL(strcmp(back, cn), 0);
	free(back);
	free(line);

	line = format_ok(&o, JITRD_LOG_JSON);
	CU_ASSERT(one_line(line));
	root = json_roundtrip(line, KEYS_WITHOUT_DOCUMENT);
	CU_ASSERT_FATAL(json_object_object_get_ex(root, "subject_cn", &value));
	CU_ASSERT_EQUAL(json_object_get_string_len(value), (int)size);
	CU_ASSERT_EQUAL(strcmp(json_object_get_string(value), cn), 0);
	json_object_put(root);
	free(line);
	free(cn);
}

/* A document that is one JSON object is embedded as an object; anything else as a string. */
static void test_policy_document(void)
{
	static const struct {
		const char *doc;
		int as_object;
	} cases[] = {
	    {"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
	     "\"Action\":\"iot:Connect\",\"Resource\":\"arn:aws:iot:*:*:client/dev\"}]}",
	     1},
	    {"{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": []\n}\n", 1},
	    {"{}", 1},
	    {"", 0},
	    {"[1,2]", 0},
	    {"\"just a string\"", 0},
	    {"{\"a\":1} trailing", 0},
	    {"{\"a\":1}{\"b\":2}", 0},
	    {"{\"a\":", 0},
	    {"{\"a\":1,}", 0},
	    {"not json\nsecond line", 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_outcome o = golden_outcome();
		struct json_object *root, *value;
		char *line, *back;

		o.policy_document = cases[i].doc;
		line = format_ok(&o, JITRD_LOG_JSON);
		CU_ASSERT(one_line(line));
		root = json_roundtrip(line, KEYS_WITHOUT_DOCUMENT + 1);
		CU_ASSERT_FATAL(json_object_object_get_ex(root, "policy_document", &value));
		if (cases[i].as_object) {
			struct json_object *want = json_tokener_parse(cases[i].doc);

			CU_ASSERT(json_object_is_type(value, json_type_object));
			CU_ASSERT(json_object_equal(value, want));
			json_object_put(want);
		} else {
			CU_ASSERT(json_object_is_type(value, json_type_string));
			CU_ASSERT_STRING_EQUAL(json_object_get_string(value), cases[i].doc);
		}
		json_object_put(root);
		free(line);

		/* text: always the string, quoted and escaped, as the last pair */
		line = format_ok(&o, JITRD_LOG_TEXT);
		CU_ASSERT(one_line(line));
		back = text_roundtrip(line, KEYS_WITHOUT_DOCUMENT + 1, "policy_document");
		CU_ASSERT_PTR_NOT_NULL(back);
		if (back)
			CU_ASSERT_STRING_EQUAL(back, cases[i].doc);
		free(back);
		free(line);
	}
}

static void test_policy_document_golden(void)
{
	struct jitrd_outcome o = golden_outcome();
	char *line;

	o.policy_document = "{ \"Version\" : \"2012-10-17\", \"Statement\" : [ ] }";
	line = format_ok(&o, JITRD_LOG_JSON);
	CU_ASSERT_PTR_NOT_NULL_FATAL(line);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(line, ",\"duration_ms\":87,\"policy_document\":{\"Version\":\"2012-10-17\","
	                 "\"Statement\":[]}}"));
	free(line);
	line = format_ok(&o, JITRD_LOG_TEXT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(line);
	CU_ASSERT_PTR_NOT_NULL(strstr(line, " duration_ms=87 policy_document=\"{ \\\"Version\\\" : "
	                                    "\\\"2012-10-17\\\", \\\"Statement\\\" : [ ] }\""));
	free(line);
}

static void test_invalid_arguments(void)
{
	char sentinel_text[] = "untouched";
	char *const sentinel = sentinel_text;
	struct {
		const char *name;
		int decision;
		int format;
		int ms;
		time_t time;
	} cases[] = {
	    {"decision past the enum", JITRD_DECISION_COUNT, JITRD_LOG_JSON, 0, 0},
	    {"negative decision", -1, JITRD_LOG_TEXT, 0, 0},
	    {"unknown format", JITRD_DECISION_SKIP, 7, 0, 0},
	    {"ms 1000", JITRD_DECISION_SKIP, JITRD_LOG_JSON, 1000, 0},
	    {"ms -1", JITRD_DECISION_SKIP, JITRD_LOG_TEXT, -1, 0},
	    {"year 10000", JITRD_DECISION_SKIP, JITRD_LOG_JSON, 0, (time_t)253402300800},
	    {"year below 0", JITRD_DECISION_SKIP, JITRD_LOG_TEXT, 0, (time_t)-62167219201},
	    {"time_t beyond gmtime", JITRD_DECISION_SKIP, JITRD_LOG_TEXT, 0, (time_t)INT64_MAX},
	};
	struct jitrd_outcome o = golden_outcome();
	char *out = sentinel;

	CU_ASSERT_EQUAL(jitrd_outcome_format(NULL, JITRD_LOG_JSON, &out), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_PTR_EQUAL(out, sentinel);
	CU_ASSERT_EQUAL(jitrd_outcome_format(&o, JITRD_LOG_JSON, NULL), JITRD_ERR_INVALID_ARG);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum jitrd_err err;

		o = golden_outcome();
		o.decision = (enum jitrd_decision_kind)cases[i].decision;
		o.time_ms = cases[i].ms;
		o.time = cases[i].time;
		out = sentinel;
		err = jitrd_outcome_format(&o, (enum jitrd_log_format)cases[i].format, &out);
		CU_ASSERT_EQUAL(err, JITRD_ERR_INVALID_ARG);
		CU_ASSERT_PTR_EQUAL(out, sentinel);
		if (err != JITRD_ERR_INVALID_ARG)
			fprintf(stderr, "\n  %s: got %d\n", cases[i].name, err);
	}
	CU_ASSERT_STRING_EQUAL(sentinel_text, "untouched");
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"decision names", test_decision_names},
	    {"golden JSON line", test_golden_json},
	    {"golden text line", test_golden_text},
	    {"empty fields and numeric limits", test_empty_fields_and_limits},
	    {"RFC 3339 times", test_time_forms},
	    {"hostile strings stay one readable line", test_hostile_strings},
	    {"text escapes", test_text_escapes},
	    {"64 KiB Common Name", test_huge_cn},
	    {"policy document as object or string", test_policy_document},
	    {"policy document golden", test_policy_document_golden},
	    {"invalid arguments", test_invalid_arguments},
	    {NULL, NULL},
	};

	return tsupport_run("outcome", cases);
}
