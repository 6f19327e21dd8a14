/* test_event.c — unit tests of the registration event parser (DESIGN §1, §3 step 1): valid
 * events in both timestamp forms, then every field missing, wrong-typed and malformed, and
 * hostile whole inputs. Every failure also checks that the output struct was not touched. */
#include "jitrd/event.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "testsupport.h"

#define CERT_ID       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CA_ID         "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define CERT_ID_UPPER "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
#define HEX63         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
#define STATUS31      "ABCDEFGHIJKLMNOPQRSTUVWXYZ_ABCD"

#define SENTINEL 0xA5

/* The six members and their default (valid) JSON values, in AWS's order. */
static const struct {
	const char *key;
	const char *raw;
} members[] = {
    {"certificateId", "\"" CERT_ID "\""}, {"caCertificateId", "\"" CA_ID "\""},
    {"timestamp", "1700000000000"},       {"certificateStatus", "\"PENDING_ACTIVATION\""},
    {"awsAccountId", "\"123456789012\""}, {"certificateRegistrationTimestamp", "\"1700000000001\""},
};
#define MEMBER_COUNT (sizeof(members) / sizeof(members[0]))

/* Writes an event into buf: key's value replaced by raw (raw JSON text), or key left out when
 * raw is NULL; key NULL gives the default event. Returns the length. */
static size_t build_event(char *buf, size_t size, const char *key, const char *raw)
{
	size_t len = 0;
	int first = 1;

	len += (size_t)snprintf(buf + len, size - len, "{");
	for (size_t i = 0; i < MEMBER_COUNT; i++) {
		const char *value = members[i].raw;

		if (key && strcmp(key, members[i].key) == 0) {
			if (!raw)
				continue;
			value = raw;
		}
		len += (size_t)snprintf(buf + len, size - len, "%s\"%s\":%s", first ? "" : ",",
		                        members[i].key, value);
		first = 0;
	}
	len += (size_t)snprintf(buf + len, size - len, "}");
	CU_ASSERT_FATAL(len < size);
	return len;
}

/* 1 if every byte of a diagnostic is printable ASCII (the escaping worked). */
static int diag_printable(const struct jitrd_diag *diag)
{
	for (const char *p = diag->text; *p; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return 0;
	}
	return 1;
}

/* Parses json expecting failure `expected`; checks the struct is untouched and the diagnostic
 * is one printable line holding needle (when not NULL). */
static void expect_fail(const char *json, size_t len, enum jitrd_err expected, const char *needle)
{
	struct jitrd_event ev, before;
	struct jitrd_diag diag = {{0}};
	enum jitrd_err err;

	memset(&ev, SENTINEL, sizeof(ev));
	memcpy(&before, &ev, sizeof(ev));
	err = jitrd_event_parse(json, len, &ev, &diag);
	CU_ASSERT_EQUAL(err, expected);
	if (err != expected)
		fprintf(stderr, "\n  input %.120s: got %d (%s), want %d\n", json ? json : "-", err,
		        diag.text, expected);
	CU_ASSERT_EQUAL(memcmp(&ev, &before, sizeof(ev)), 0);
	CU_ASSERT(diag.text[0] != '\0');
	CU_ASSERT(diag_printable(&diag));
	if (needle && !strstr(diag.text, needle)) {
		CU_FAIL("diagnostic lacks the expected text");
		fprintf(stderr, "\n  diag \"%s\" lacks \"%s\"\n", diag.text, needle);
	}
	/* A NULL diag must give the same result. */
	CU_ASSERT_EQUAL(jitrd_event_parse(json, len, &ev, NULL), expected);
	CU_ASSERT_EQUAL(memcmp(&ev, &before, sizeof(ev)), 0);
}

static void expect_fail_str(const char *json, enum jitrd_err expected, const char *needle)
{
	expect_fail(json, strlen(json), expected, needle);
}

static void test_valid_number_and_string_timestamps(void)
{
	char json[1024];
	size_t len = build_event(json, sizeof(json), NULL, NULL);
	struct jitrd_event ev;
	struct jitrd_diag diag = {{0}};

	memset(&ev, SENTINEL, sizeof(ev));
	CU_ASSERT_EQUAL_FATAL(jitrd_event_parse(json, len, &ev, &diag), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(ev.certificate_id, CERT_ID);
	CU_ASSERT_STRING_EQUAL(ev.ca_certificate_id, CA_ID);
	CU_ASSERT_STRING_EQUAL(ev.certificate_status, "PENDING_ACTIVATION");
	CU_ASSERT_STRING_EQUAL(ev.aws_account_id, "123456789012");
	CU_ASSERT_EQUAL(ev.timestamp_ms, INT64_C(1700000000000));
	CU_ASSERT_EQUAL(ev.registration_timestamp_ms, INT64_C(1700000000001));
}

/* Whitespace, reordered members, an extra member AWS might add (nested, with well-formed
 * UTF-8 raw and escaped), uppercase ids (stored lowercased), the timestamp forms swapped. */
static void test_valid_variants(void)
{
	static const char json[] =
	    "\r\n\t {\"certificateRegistrationTimestamp\" : 1700000000001 ,\n"
	    "  \"awsAccountId\": \"000000000000\", \"futureField\": {\"nested\": [1, 2.5, "
	    "null, true, \"\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbd\\u00e9\\ud83d\\ude00\"]},\n"
	    "  \"certificateStatus\": \"PENDING_ACTIVATION\",\n"
	    "  \"timestamp\": \"0\", \"caCertificateId\": \"" CA_ID "\",\n"
	    "  \"certificateId\": \"" CERT_ID_UPPER "\"}\n\n ";
	struct jitrd_event ev;

	memset(&ev, SENTINEL, sizeof(ev));
	CU_ASSERT_EQUAL_FATAL(jitrd_event_parse(json, strlen(json), &ev, NULL), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(ev.certificate_id, CERT_ID);
	CU_ASSERT_STRING_EQUAL(ev.ca_certificate_id, CA_ID);
	CU_ASSERT_STRING_EQUAL(ev.aws_account_id, "000000000000");
	CU_ASSERT_EQUAL(ev.timestamp_ms, 0);
	CU_ASSERT_EQUAL(ev.registration_timestamp_ms, INT64_C(1700000000001));
}

/* len, not the NUL, bounds the input: bytes after it are never read as part of the event. */
static void test_not_nul_terminated(void)
{
	char json[1024];
	size_t len = build_event(json, sizeof(json), NULL, NULL);
	struct jitrd_event ev;

	memcpy(json + len, "garbage{", 9);
	CU_ASSERT_EQUAL(jitrd_event_parse(json, len, &ev, NULL), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(ev.certificate_id, CERT_ID);
	/* and one byte short is a truncated object */
	expect_fail(json, len - 1, JITRD_ERR_MALFORMED, "truncated");
}

static void test_each_field_missing(void)
{
	for (size_t i = 0; i < MEMBER_COUNT; i++) {
		char json[1024];
		char needle[64];
		size_t len = build_event(json, sizeof(json), members[i].key, NULL);

		snprintf(needle, sizeof(needle), "\"%s\" is missing", members[i].key);
		expect_fail(json, len, JITRD_ERR_MISSING_FIELD, needle);
	}
	expect_fail_str("{}", JITRD_ERR_MISSING_FIELD, "certificateId");
	/* a near-miss name is not the field */
	expect_fail_str("{\"certificateID\":\"" CERT_ID "\"}", JITRD_ERR_MISSING_FIELD,
	                "certificateId");
}

/* Values of every JSON type each field must refuse, and the bad forms of each. */
struct field_case {
	const char *key;
	const char *raw;
	enum jitrd_err err;
};

static const struct field_case bad_fields[] = {
    /* wrong JSON type, for every field */
    {"certificateId", "null", JITRD_ERR_BAD_FIELD},
    {"certificateId", "true", JITRD_ERR_BAD_FIELD},
    {"certificateId", "12345", JITRD_ERR_BAD_FIELD},
    {"certificateId", "[\"" CERT_ID "\"]", JITRD_ERR_BAD_FIELD},
    {"certificateId", "{\"id\":\"" CERT_ID "\"}", JITRD_ERR_BAD_FIELD},
    {"caCertificateId", "null", JITRD_ERR_BAD_FIELD},
    {"caCertificateId", "1.5", JITRD_ERR_BAD_FIELD},
    {"caCertificateId", "[]", JITRD_ERR_BAD_FIELD},
    {"timestamp", "null", JITRD_ERR_BAD_FIELD},
    {"timestamp", "true", JITRD_ERR_BAD_FIELD},
    {"timestamp", "false", JITRD_ERR_BAD_FIELD},
    {"timestamp", "[1]", JITRD_ERR_BAD_FIELD},
    {"timestamp", "{}", JITRD_ERR_BAD_FIELD},
    {"certificateStatus", "null", JITRD_ERR_BAD_FIELD},
    {"certificateStatus", "1", JITRD_ERR_BAD_FIELD},
    {"certificateStatus", "[\"ACTIVE\"]", JITRD_ERR_BAD_FIELD},
    {"awsAccountId", "123456789012", JITRD_ERR_BAD_FIELD},
    {"awsAccountId", "null", JITRD_ERR_BAD_FIELD},
    {"awsAccountId", "{}", JITRD_ERR_BAD_FIELD},
    {"certificateRegistrationTimestamp", "null", JITRD_ERR_BAD_FIELD},
    {"certificateRegistrationTimestamp", "true", JITRD_ERR_BAD_FIELD},
    {"certificateRegistrationTimestamp", "\"\"", JITRD_ERR_BAD_FIELD},
    /* ids: length, alphabet, hostile forms */
    {"certificateId", "\"" HEX63 "\"", JITRD_ERR_BAD_FIELD},
    {"certificateId", "\"" CERT_ID "0\"", JITRD_ERR_BAD_FIELD},
    {"certificateId", "\"\"", JITRD_ERR_BAD_FIELD},
    {"certificateId", "\"" HEX63 "g\"", JITRD_ERR_BAD_FIELD},
    {"certificateId", "\"" HEX63 " \"", JITRD_ERR_BAD_FIELD},
    {"certificateId", "\" " HEX63 "\"", JITRD_ERR_BAD_FIELD},
    {"certificateId", "\"0x23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"",
     JITRD_ERR_BAD_FIELD},
    {"certificateId", "\"../../etc/passwd\"", JITRD_ERR_BAD_FIELD},
    {"certificateId", "\"../../../../../../../../../../../../../../../../../../etc/passwd\"",
     JITRD_ERR_BAD_FIELD},
    {"caCertificateId", "\"../../etc/passwd\"", JITRD_ERR_BAD_FIELD},
    {"caCertificateId", "\"" HEX63 "/\"", JITRD_ERR_BAD_FIELD},
    {"certificateId", "\"" HEX63 "\\u0001\"", JITRD_ERR_BAD_FIELD},
    {"certificateId", "\"" HEX63 "\\n\"", JITRD_ERR_BAD_FIELD},
    /* an escaped NUL makes 64 bytes that are not 64 hex digits */
    {"certificateId", "\"" HEX63 "\\u0000\"", JITRD_ERR_BAD_FIELD},
    {"caCertificateId", "\"" HEX63 "\\u0000\"", JITRD_ERR_BAD_FIELD},
    {"certificateId", "\"" HEX63 "\\u00e9\"", JITRD_ERR_BAD_FIELD},
    /* fullwidth digit U+FF10: a digit to Unicode, not to us */
    {"certificateId", "\"" HEX63 "\\uff10\"", JITRD_ERR_BAD_FIELD},
    /* awsAccountId */
    {"awsAccountId", "\"12345678901\"", JITRD_ERR_BAD_FIELD},
    {"awsAccountId", "\"1234567890123\"", JITRD_ERR_BAD_FIELD},
    {"awsAccountId", "\"12345678901a\"", JITRD_ERR_BAD_FIELD},
    {"awsAccountId", "\"-12345678901\"", JITRD_ERR_BAD_FIELD},
    {"awsAccountId", "\" 12345678901\"", JITRD_ERR_BAD_FIELD},
    {"awsAccountId", "\"\"", JITRD_ERR_BAD_FIELD},
    {"awsAccountId", "\"12345678901\\u0000\"", JITRD_ERR_BAD_FIELD},
    {"awsAccountId", "\"\\uff11\\uff12\\uff13\\uff14\"", JITRD_ERR_BAD_FIELD},
    /* certificateStatus */
    {"certificateStatus", "\"\"", JITRD_ERR_BAD_FIELD},
    {"certificateStatus", "\"pending_activation\"", JITRD_ERR_BAD_FIELD},
    {"certificateStatus", "\"PENDING ACTIVATION\"", JITRD_ERR_BAD_FIELD},
    {"certificateStatus", "\"ACTIVE1\"", JITRD_ERR_BAD_FIELD},
    {"certificateStatus", "\"ACTIVE\\n\"", JITRD_ERR_BAD_FIELD},
    {"certificateStatus", "\"\\u00c4CTIVE\"", JITRD_ERR_BAD_FIELD},
    {"certificateStatus", "\"" STATUS31 "E\"", JITRD_ERR_BAD_FIELD},
    /* timestamps: numbers that are not non-negative int64 integers */
    {"timestamp", "-1", JITRD_ERR_BAD_FIELD},
    {"timestamp", "-9223372036854775808", JITRD_ERR_BAD_FIELD},
    {"timestamp", "1e3", JITRD_ERR_BAD_FIELD},
    {"timestamp", "1E+12", JITRD_ERR_BAD_FIELD},
    {"timestamp", "1.0", JITRD_ERR_BAD_FIELD},
    {"timestamp", "1700000000000.5", JITRD_ERR_BAD_FIELD},
    {"timestamp", "-0.0", JITRD_ERR_BAD_FIELD},
    {"timestamp", "1e400", JITRD_ERR_BAD_FIELD},
    {"timestamp", "Infinity", JITRD_ERR_BAD_FIELD},
    {"timestamp", "9223372036854775808", JITRD_ERR_BAD_FIELD},
    {"timestamp", "18446744073709551615", JITRD_ERR_BAD_FIELD},
    {"timestamp", "18446744073709551616", JITRD_ERR_BAD_FIELD},
    {"timestamp", "99999999999999999999999999", JITRD_ERR_BAD_FIELD},
    {"certificateRegistrationTimestamp", "-5", JITRD_ERR_BAD_FIELD},
    {"certificateRegistrationTimestamp", "2.5", JITRD_ERR_BAD_FIELD},
    {"certificateRegistrationTimestamp", "9223372036854775808", JITRD_ERR_BAD_FIELD},
    /* timestamps: strings that are not 1-19 digits fitting int64 */
    {"timestamp", "\"\"", JITRD_ERR_BAD_FIELD},
    {"timestamp", "\"-1\"", JITRD_ERR_BAD_FIELD},
    {"timestamp", "\"+1\"", JITRD_ERR_BAD_FIELD},
    {"timestamp", "\" 1\"", JITRD_ERR_BAD_FIELD},
    {"timestamp", "\"1 \"", JITRD_ERR_BAD_FIELD},
    {"timestamp", "\"1e3\"", JITRD_ERR_BAD_FIELD},
    {"timestamp", "\"1.5\"", JITRD_ERR_BAD_FIELD},
    {"timestamp", "\"0x10\"", JITRD_ERR_BAD_FIELD},
    {"timestamp", "\"12345678901234567890\"", JITRD_ERR_BAD_FIELD},
    {"timestamp", "\"9223372036854775808\"", JITRD_ERR_BAD_FIELD},
    {"timestamp", "\"9999999999999999999\"", JITRD_ERR_BAD_FIELD},
    {"timestamp", "\"1\\u0000\"", JITRD_ERR_BAD_FIELD},
    {"certificateRegistrationTimestamp", "\"abc\"", JITRD_ERR_BAD_FIELD},
    {"certificateRegistrationTimestamp", "\"99999999999999999999\"", JITRD_ERR_BAD_FIELD},
};

static void test_bad_fields(void)
{
	for (size_t i = 0; i < sizeof(bad_fields) / sizeof(bad_fields[0]); i++) {
		char json[1024];
		char needle[64];
		size_t len = build_event(json, sizeof(json), bad_fields[i].key, bad_fields[i].raw);

		/* the diagnostic names the field */
		snprintf(needle, sizeof(needle), "\"%s\"", bad_fields[i].key);
		expect_fail(json, len, bad_fields[i].err, needle);
	}
}

/* Edge values each field must accept, with what they become. */
static const struct {
	const char *key;
	const char *raw;
	const char *want; /* the parsed field, timestamps printed in decimal */
} good_fields[] = {
    {"certificateId", "\"" CERT_ID_UPPER "\"", CERT_ID},
    {"certificateId", "\"0123456789AbCdEf0123456789aBcDeF0123456789abcdef0123456789ABCDEF\"",
     CERT_ID},
    /* escaped hex digits are hex digits once decoded; the value is what counts */
    {"caCertificateId",
     "\"\\u0066edcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210\"", CA_ID},
    {"awsAccountId", "\"000000000000\"", "000000000000"},
    {"awsAccountId", "\"999999999999\"", "999999999999"},
    {"certificateStatus", "\"ACTIVE\"", "ACTIVE"},
    {"certificateStatus", "\"_\"", "_"},
    {"certificateStatus", "\"" STATUS31 "\"", STATUS31},
    {"timestamp", "0", "0"},
    {"timestamp", "-0", "0"},
    {"timestamp", "9223372036854775807", "9223372036854775807"},
    {"timestamp", "\"0\"", "0"},
    {"timestamp", "\"0000000000000000001\"", "1"},
    {"timestamp", "\"9223372036854775807\"", "9223372036854775807"},
    {"certificateRegistrationTimestamp", "1700000000001", "1700000000001"},
    {"certificateRegistrationTimestamp", "\"9223372036854775807\"", "9223372036854775807"},
};

static void field_text(const struct jitrd_event *ev, const char *key, char *out, size_t size)
{
	if (strcmp(key, "certificateId") == 0)
		snprintf(out, size, "%s", ev->certificate_id);
	else if (strcmp(key, "caCertificateId") == 0)
		snprintf(out, size, "%s", ev->ca_certificate_id);
	else if (strcmp(key, "awsAccountId") == 0)
		snprintf(out, size, "%s", ev->aws_account_id);
	else if (strcmp(key, "certificateStatus") == 0)
		snprintf(out, size, "%s", ev->certificate_status);
	else if (strcmp(key, "timestamp") == 0)
		snprintf(out, size, "%" PRId64, ev->timestamp_ms);
	else
		snprintf(out, size, "%" PRId64, ev->registration_timestamp_ms);
}

static void test_good_field_edges(void)
{
	for (size_t i = 0; i < sizeof(good_fields) / sizeof(good_fields[0]); i++) {
		char json[1024];
		char got[128];
		size_t len =
		    build_event(json, sizeof(json), good_fields[i].key, good_fields[i].raw);
		struct jitrd_event ev;
		struct jitrd_diag diag = {{0}};
		enum jitrd_err err;

		memset(&ev, SENTINEL, sizeof(ev));
		err = jitrd_event_parse(json, len, &ev, &diag);
		CU_ASSERT_EQUAL(err, JITRD_OK);
		if (err != JITRD_OK) {
			fprintf(stderr, "\n  %s=%s: %s\n", good_fields[i].key, good_fields[i].raw,
			        diag.text);
			continue;
		}
		field_text(&ev, good_fields[i].key, got, sizeof(got));
		CU_ASSERT_STRING_EQUAL(got, good_fields[i].want);
	}
}

static const struct {
	const char *json;
	const char *needle;
} malformed[] = {
    {"", "truncated"},
    {"   \n", "truncated"},
    {"{", "truncated"},
    {"}", NULL},
    {"{\"certificateId\":", "truncated"},
    {"{\"certificateId\":\"0123", "truncated"},
    {"[]", "not a JSON object"},
    {"[{\"certificateId\":\"" CERT_ID "\"}]", "not a JSON object"},
    {"\"" CERT_ID "\"", "not a JSON object"},
    {"1700000000000", "not a JSON object"},
    {"null", "not a JSON object"},
    {" \n true", "byte 3"},
    {"{}}", "trailing"},
    {"{} {}", "trailing"},
    {"{}x", "trailing"},
    {"{},", "trailing"},
    {"{}\v", NULL},
    {"{}\f", NULL},
    /* not JSON, though json-c's lenient mode takes some */
    {"/* c */{}", NULL},
    {"{} // c", NULL},
    {"{\"a\":1,}", NULL},
    {"{'certificateId':\"x\"}", "single quote"},
    {"{\"a\":'x'}", NULL},
    {"{a:1}", NULL},
    {"{\"a\":01}", NULL},
    {"{\"a\":0x10}", NULL},
    {"{\"a\":+1}", NULL},
    {"{\"a\":.5}", NULL},
    {"{\"a\":\"\\x41\"}", NULL},
    {"{\"a\":\"\\u00\"}", NULL},
    {"{\"a\":\"\\q\"}", NULL},
    {"{\"a\" \"b\"}", NULL},
    /* raw control characters inside a string must be escaped (RFC 8259 §7) */
    {"{\"a\":\"x\ty\"}", "control"},
    {"{\"a\":\"x\ny\"}", "control"},
    {"{\"a\":\"x\x01y\"}", "control"},
    {"{\"a\x1f\":1}", "control"},
    /* invalid UTF-8 and a BOM */
    {"{\"a\":\"\xff\"}", "UTF-8 at byte 6"},
    {"{\"a\":\"\xc3\"}", "UTF-8"},             /* cut short */
    {"{\"a\":\"\xc3\xa9\xa9\"}", "UTF-8"},     /* stray continuation */
    {"{\"a\":\"\xc0\xaf\"}", "UTF-8"},         /* overlong '/' */
    {"{\"a\":\"\xe0\x80\xaf\"}", "UTF-8"},     /* overlong '/' */
    {"{\"a\":\"\xed\xa0\x80\"}", "UTF-8"},     /* surrogate U+D800 */
    {"{\"a\":\"\xf4\x90\x80\x80\"}", "UTF-8"}, /* above U+10FFFF */
    {"{\"a\":\"\xf8\x88\x80\x80\x80\"}", "UTF-8"},
    {"\xef\xbb\xbf{}", "not a JSON object"}, /* a byte-order mark */
};

static void test_malformed(void)
{
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
		expect_fail_str(malformed[i].json, JITRD_ERR_MALFORMED, malformed[i].needle);
}

/* Every proper prefix of a valid event is truncated JSON, never a partial success. */
static void test_every_truncation(void)
{
	char json[1024];
	size_t len = build_event(json, sizeof(json), NULL, NULL);

	for (size_t cut = 0; cut < len; cut++)
		expect_fail(json, cut, JITRD_ERR_MALFORMED, NULL);
}

static void test_trailing(void)
{
	static const char *const ok_tails[] = {" ", "\n", "\r\n", "\t \n  "};
	static const char *const bad_tails[] = {"x", "{}", ",", "\"\"", "0", "null", " ]", "\n}"};
	char json[1024];
	size_t base = build_event(json, sizeof(json), NULL, NULL);
	struct jitrd_event ev;

	for (size_t i = 0; i < sizeof(ok_tails) / sizeof(ok_tails[0]); i++) {
		size_t len = base + strlen(ok_tails[i]);

		memcpy(json + base, ok_tails[i], strlen(ok_tails[i]) + 1);
		CU_ASSERT_EQUAL(jitrd_event_parse(json, len, &ev, NULL), JITRD_OK);
	}
	for (size_t i = 0; i < sizeof(bad_tails) / sizeof(bad_tails[0]); i++) {
		memcpy(json + base, bad_tails[i], strlen(bad_tails[i]) + 1);
		expect_fail(json, base + strlen(bad_tails[i]), JITRD_ERR_MALFORMED, "trailing");
	}
}

/* Raw NUL bytes anywhere: json-c would otherwise stop there and report what came before. */
static void test_embedded_nul(void)
{
	char json[1024];
	size_t len = build_event(json, sizeof(json), NULL, NULL);
	char copy[1024];

	memcpy(copy, json, len);
	copy[len] = '\0';
	/* after the object, as trailing "whitespace" */
	expect_fail(copy, len + 1, JITRD_ERR_MALFORMED, "NUL");
	/* inside an id */
	memcpy(copy, json, len);
	copy[20] = '\0';
	expect_fail(copy, len, JITRD_ERR_MALFORMED, "NUL byte at byte 20");
	/* at the start */
	memcpy(copy, json, len);
	copy[0] = '\0';
	expect_fail(copy, len, JITRD_ERR_MALFORMED, "NUL");
}

static void test_depth_bomb(void)
{
	size_t depth = 10000;
	size_t size = 2 * depth + 64;
	char *json = malloc(size);
	size_t len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(json);
	/* as the whole input: arrays are refused before the tokenizer, objects in it */
	memset(json, '[', depth);
	memset(json + depth, ']', depth);
	expect_fail(json, 2 * depth, JITRD_ERR_MALFORMED, "not a JSON object");
	len = 0;
	for (size_t i = 0; i < depth / 8; i++)
		len += (size_t)snprintf(json + len, size - len, "{\"a\":");
	expect_fail(json, len, JITRD_ERR_MALFORMED, "too deep");
	len = 0;
	/* as an ignored member of an otherwise valid event */
	len = (size_t)snprintf(json, size, "{\"x\":");
	memset(json + len, '[', depth);
	len += depth;
	memset(json + len, ']', depth);
	len += depth;
	json[len++] = '}';
	expect_fail(json, len, JITRD_ERR_MALFORMED, "too deep");
	/* a little nesting in an ignored member is fine */
	{
		static const char tail[] = ",\"x\":[[[[{\"y\":[[[1]]]}]]]]}";
		char ok[1200];
		size_t n = build_event(ok, sizeof(ok) - sizeof(tail), NULL, NULL);
		struct jitrd_event ev;

		memcpy(ok + n - 1, tail, sizeof(tail));
		CU_ASSERT_EQUAL(jitrd_event_parse(ok, strlen(ok), &ev, NULL), JITRD_OK);
	}
	free(json);
}

/* A valid event padded with an ignored member to exactly total bytes. */
static char *padded_event(size_t total)
{
	char head[1024];
	size_t base = build_event(head, sizeof(head), NULL, NULL);
	static const char pad_open[] = ",\"pad\":\"";
	size_t fixed = base + sizeof(pad_open) - 1 + 1; /* + closing quote; '}' reused */
	char *json = malloc(total + 1);
	size_t len = base - 1;

	if (!json || total < fixed + 1) {
		free(json);
		return NULL;
	}
	memcpy(json, head, len);
	memcpy(json + len, pad_open, sizeof(pad_open) - 1);
	len += sizeof(pad_open) - 1;
	memset(json + len, 'p', total - fixed);
	len += total - fixed;
	json[len++] = '"';
	json[len++] = '}';
	json[len] = '\0';
	return json;
}

static void test_size_limit(void)
{
	char *at_limit = padded_event(JITRD_EVENT_MAX_BYTES);
	char *over = padded_event(JITRD_EVENT_MAX_BYTES + 1);
	char *huge = padded_event(300 * 1024);
	struct jitrd_event ev;
	struct jitrd_diag diag = {{0}};

	CU_ASSERT_PTR_NOT_NULL_FATAL(at_limit);
	CU_ASSERT_PTR_NOT_NULL_FATAL(over);
	CU_ASSERT_PTR_NOT_NULL_FATAL(huge);
	CU_ASSERT_EQUAL(strlen(at_limit), JITRD_EVENT_MAX_BYTES);
	CU_ASSERT_EQUAL(strlen(over), JITRD_EVENT_MAX_BYTES + 1);
	CU_ASSERT_EQUAL(jitrd_event_parse(at_limit, JITRD_EVENT_MAX_BYTES, &ev, &diag), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(ev.certificate_id, CERT_ID);
	expect_fail(over, JITRD_EVENT_MAX_BYTES + 1, JITRD_ERR_TOO_LARGE, "65537 bytes");
	expect_fail(huge, 300 * 1024, JITRD_ERR_TOO_LARGE, "maximum");
	/* refused by size before anything else: garbage of that size is TOO_LARGE, not MALFORMED */
	memset(huge, 0xff, 300 * 1024);
	expect_fail(huge, 300 * 1024, JITRD_ERR_TOO_LARGE, NULL);
	free(at_limit);
	free(over);
	free(huge);
}

/* The diagnostic quotes the bad value escaped, and cuts a long one. */
static void test_diag_quotes_value(void)
{
	char json[2048];
	char raw[1200];
	struct jitrd_event ev;
	struct jitrd_diag diag = {{0}};
	size_t len;

	len = build_event(json, sizeof(json), "certificateId", "\"../../etc/passwd\"");
	CU_ASSERT_EQUAL(jitrd_event_parse(json, len, &ev, &diag), JITRD_ERR_BAD_FIELD);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "certificateId"));
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "../../etc/passwd"));

	/* control characters and non-ASCII come out as \xNN, never raw */
	len = build_event(json, sizeof(json), "certificateStatus", "\"A\\nB\\u0001\\u00e9\"");
	CU_ASSERT_EQUAL(jitrd_event_parse(json, len, &ev, &diag), JITRD_ERR_BAD_FIELD);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "A\\x0aB\\x01\\xc3\\xa9"));
	CU_ASSERT(diag_printable(&diag));

	/* a wrong-typed value is quoted as JSON */
	len = build_event(json, sizeof(json), "timestamp", "1.5");
	CU_ASSERT_EQUAL(jitrd_event_parse(json, len, &ev, &diag), JITRD_ERR_BAD_FIELD);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "timestamp"));
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "1.5"));

	/* a 1000-byte value is cut */
	raw[0] = '"';
	memset(raw + 1, 'Z', 1000);
	memcpy(raw + 1001, "\"", 2);
	len = build_event(json, sizeof(json), "awsAccountId", raw);
	CU_ASSERT_EQUAL(jitrd_event_parse(json, len, &ev, &diag), JITRD_ERR_BAD_FIELD);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "awsAccountId"));
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "..."));
	CU_ASSERT(strlen(diag.text) < 200);
}

static void test_null_arguments(void)
{
	char json[1024];
	size_t len = build_event(json, sizeof(json), NULL, NULL);
	struct jitrd_event ev;
	struct jitrd_diag diag = {{0}};

	CU_ASSERT_EQUAL(jitrd_event_parse(json, len, NULL, &diag), JITRD_ERR_INVALID_ARG);
	CU_ASSERT(diag.text[0] != '\0');
	expect_fail(NULL, 0, JITRD_ERR_INVALID_ARG, NULL);
	expect_fail(NULL, 10, JITRD_ERR_INVALID_ARG, NULL);
	(void)ev;
}

static void test_is_hex_id(void)
{
	static const struct {
		const char *s;
		int want;
	} cases[] = {
	    {CERT_ID, 1},
	    {CERT_ID_UPPER, 1},
	    {CA_ID, 1},
	    {HEX63, 0},
	    {CERT_ID "0", 0},
	    {HEX63 "g", 0},
	    {HEX63 " ", 0},
	    {"", 0},
	    {"../../etc/passwd", 0},
	    {NULL, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(jitrd_is_hex_id(cases[i].s), cases[i].want);
}

/* A member name twice in one object is refused, naming it, however it is spelled (json-c
 * would silently keep the last); the same name in different objects is fine. */
static void test_duplicate_members(void)
{
	char base[1024], json[2048];
	static const struct {
		const char *extra;  /* inserted after the opening brace */
		const char *needle; /* NULL: accepted */
	} cases[] = {
	    {"\"certificateId\":\"" CA_ID "\",", "member \"certificateId\" appears twice"},
	    {"\"certificate\\u0049d\":\"" CA_ID "\",", "member \"certificateId\" appears twice"},
	    {"\"awsAccountId\":\"999999999999\",", "member \"awsAccountId\" appears twice"},
	    {"\"x\":1,\"x\":2,", "member \"x\" appears twice"},
	    {"\"x\":{\"a\":1,\"b\":{\"c\":[{\"d\":1,\"d\":2}]}},", "member \"d\" appears twice"},
	    {"\"x\":[{\"a\":1},{\"a\":2}],\"y\":{\"a\":{\"a\":1}},", NULL},
	    {"\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2,", "appears twice"},
	    /* json-c turns each lone surrogate into U+FFFD: one name for json-c, so for us */
	    {"\"\\ud800\":1,\"\\udbff\":2,", "appears twice"},
	    {"\"\\ud800\\u0041\":1,\"\\ud800A\":2,", "appears twice"},
	    {"\"a\\\"b\":1,\"a\\u0022b\":2,", "member \"a\"b\" appears twice"},
	    {"\"a\\\"b\":1,\"a\\\\b\":2,\"a/b\":3,\"a\\/c\":4,", NULL},
	    {"\"ab\":1,\"a\":2,\"abc\":3,\"\":4,\"b\":\"a\",", NULL},
	    {"\"\":1,\"\":2,", "member \"\" appears twice"},
	    /* a NUL would let json-c cut two names to one */
	    {"\"a\\u0000b\":1,", "holds a NUL"},
	};

	build_event(base, sizeof(base), NULL, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = snprintf(json, sizeof(json), "{%s%s", cases[i].extra, base + 1);

		CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(json));
		if (cases[i].needle) {
			expect_fail(json, (size_t)n, JITRD_ERR_MALFORMED, cases[i].needle);
		} else {
			struct jitrd_event ev;
			struct jitrd_diag diag = {{0}};
			enum jitrd_err err = jitrd_event_parse(json, (size_t)n, &ev, &diag);

			CU_ASSERT_EQUAL(err, JITRD_OK);
			if (err != JITRD_OK)
				fprintf(stderr, "\n  case %zu: %s\n", i, diag.text);
		}
	}
	/* the repetition reported is the first in the text, with where it is */
	snprintf(json, sizeof(json), "{\"b\":1,\"a\":1,\"a\":2,\"b\":2,%s", base + 1);
	expect_fail_str(json, JITRD_ERR_MALFORMED, "member \"a\" appears twice (again at byte 13)");
}

/* ---- SQS message bodies (jitrd_event_body_decode) ---- */

static char decoded[JITRD_EVENT_BODY_DECODED_SIZE];

static size_t to_base64(const char *in, size_t len, char *out)
{
	return (size_t)EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)len);
}

/* body must decode to want (want_len bytes). */
static void expect_body(const char *body, size_t len, const char *want, size_t want_len)
{
	const char *event = NULL;
	size_t event_len = 0;
	struct jitrd_diag diag = {{0}};
	enum jitrd_err err =
	    jitrd_event_body_decode(body, len, decoded, sizeof(decoded), &event, &event_len, &diag);

	CU_ASSERT_EQUAL(err, JITRD_OK);
	if (err != JITRD_OK) {
		fprintf(stderr, "\n  %s\n", diag.text);
		return;
	}
	CU_ASSERT_EQUAL(event_len, want_len);
	CU_ASSERT(event && memcmp(event, want, want_len) == 0);
	CU_ASSERT(event == body || event[event_len] == '\0');
}

static void expect_body_fails(const char *body, size_t len, enum jitrd_err want)
{
	const char *event = (const char *)&decoded;
	size_t event_len = 4242;
	struct jitrd_diag diag = {{0}};
	enum jitrd_err err =
	    jitrd_event_body_decode(body, len, decoded, sizeof(decoded), &event, &event_len, &diag);

	CU_ASSERT_EQUAL(err, want);
	if (err != want)
		fprintf(stderr, "\n  body %.40s: got %d, want %d\n", body, err, want);
	CU_ASSERT(event == (const char *)&decoded && event_len == 4242); /* untouched */
	CU_ASSERT(diag.text[0] != '\0' && diag_printable(&diag));
}

static void test_body_raw_and_base64(void)
{
	char json[1024], b64[2048], padded[1100];
	size_t len = build_event(json, sizeof(json), NULL, NULL);
	const char *event;
	size_t event_len;

	/* raw: the body itself, blanks before the object allowed */
	expect_body(json, len, json, len);
	CU_ASSERT_EQUAL(
	    jitrd_event_body_decode(json, len, decoded, sizeof(decoded), &event, &event_len, NULL),
	    JITRD_OK);
	CU_ASSERT(event == json);
	snprintf(padded, sizeof(padded), " \n%s", json);
	expect_body(padded, len + 2, padded, len + 2);
	/* base64 with none, one and two '=': the event grown by one byte at a time */
	for (size_t extra = 0; extra < 3; extra++) {
		size_t n;

		snprintf(padded, sizeof(padded), "%.*s%*s}", (int)len - 1, json, (int)extra, "");
		n = len + extra;
		expect_body(b64, to_base64(padded, n, b64), padded, n);
		CU_ASSERT(jitrd_event_parse(decoded, n, &(struct jitrd_event){0}, NULL) ==
		          JITRD_OK);
	}
}

static void test_body_hostile(void)
{
	static const struct {
		const char *body;
		enum jitrd_err want;
	} cases[] = {
	    {"", JITRD_ERR_MALFORMED},
	    {"   ", JITRD_ERR_MALFORMED},
	    {"not an event", JITRD_ERR_MALFORMED},
	    {"aGVsbG8=", JITRD_ERR_MALFORMED},       /* base64 of "hello": not an object */
	    {"eyJhIjoxfQ", JITRD_ERR_MALFORMED},     /* {"a":1} without its padding */
	    {"eyJhIjoxfQ==x", JITRD_ERR_MALFORMED},  /* trailing junk */
	    {"eyJhIjoxfQ==\n", JITRD_ERR_MALFORMED}, /* a line break after it */
	    {"eyJhI\njoxfQ==", JITRD_ERR_MALFORMED}, /* ... or inside */
	    {" eyJhIjoxfQ==", JITRD_ERR_MALFORMED},  /* a blank before */
	    {"eyJh=joxfQ==", JITRD_ERR_MALFORMED},   /* '=' inside */
	    {"eyJhIjoxf===", JITRD_ERR_MALFORMED},   /* three '=' */
	    {"eyJhIjoxfR==", JITRD_ERR_MALFORMED},   /* bits past the data: not canonical */
	    {"eyJhIjoxfQ-_", JITRD_ERR_MALFORMED},   /* base64url's alphabet */
	    {"e30=", JITRD_OK},                      /* {} : decoded; the parser judges it */
	    {"IHt9", JITRD_OK},                      /* " {}" */
	    {"ICAg", JITRD_ERR_MALFORMED},           /* "   " */
	    {"AHt9", JITRD_ERR_MALFORMED},           /* NUL then {} */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].want == JITRD_OK) {
			const char *event;
			size_t event_len;

			CU_ASSERT_EQUAL(
			    jitrd_event_body_decode(cases[i].body, strlen(cases[i].body), decoded,
			                            sizeof(decoded), &event, &event_len, NULL),
			    JITRD_OK);
			continue;
		}
		expect_body_fails(cases[i].body, strlen(cases[i].body), cases[i].want);
	}
}

static void test_body_size(void)
{
	size_t big = JITRD_EVENT_MAX_BYTES + 1;
	char *raw = malloc(big + 1), *b64 = malloc(2 * big + 8);
	const char *event;
	size_t event_len, n;
	char small[8];

	CU_ASSERT_FATAL(raw && b64);
	memset(raw, ' ', big);
	raw[0] = '{';
	raw[big - 1] = '}';
	/* raw: at the limit it is the parser's to judge; one over is refused here */
	CU_ASSERT_EQUAL(jitrd_event_body_decode(raw, big - 1, decoded, sizeof(decoded), &event,
	                                        &event_len, NULL),
	                JITRD_OK);
	expect_body_fails(raw, big, JITRD_ERR_TOO_LARGE);
	/* base64 of the largest event decodes; of one byte more it is refused */
	raw[big - 2] = '}';
	n = to_base64(raw, big - 1, b64);
	CU_ASSERT_EQUAL(
	    jitrd_event_body_decode(b64, n, decoded, sizeof(decoded), &event, &event_len, NULL),
	    JITRD_OK);
	CU_ASSERT_EQUAL(event_len, big - 1);
	n = to_base64(raw, big, b64);
	expect_body_fails(b64, n, JITRD_ERR_TOO_LARGE);
	/* a caller's buffer too small for what the base64 holds */
	n = to_base64("{\"a\":1}", 7, b64);
	CU_ASSERT_EQUAL(
	    jitrd_event_body_decode(b64, n, small, sizeof(small), &event, &event_len, NULL),
	    JITRD_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(
	    jitrd_event_body_decode(NULL, 3, decoded, sizeof(decoded), &event, &event_len, NULL),
	    JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_event_body_decode("e30=", 4, NULL, 10, &event, &event_len, NULL),
	                JITRD_ERR_INVALID_ARG);
	free(raw);
	free(b64);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"SQS body: raw and base64", test_body_raw_and_base64},
	    {"SQS body: hostile", test_body_hostile},
	    {"SQS body: size limits", test_body_size},
	    {"valid event, number and string timestamps", test_valid_number_and_string_timestamps},
	    {"valid variants (order, whitespace, case, extra members)", test_valid_variants},
	    {"len bounds the input, not a NUL", test_not_nul_terminated},
	    {"each field missing", test_each_field_missing},
	    {"wrong-typed and malformed fields", test_bad_fields},
	    {"edge values accepted", test_good_field_edges},
	    {"malformed JSON", test_malformed},
	    {"every truncation", test_every_truncation},
	    {"trailing data", test_trailing},
	    {"embedded NUL bytes", test_embedded_nul},
	    {"nesting depth bomb", test_depth_bomb},
	    {"size limit: at, over, 300 KB", test_size_limit},
	    {"diagnostic quotes the value escaped", test_diag_quotes_value},
	    {"NULL arguments", test_null_arguments},
	    {"jitrd_is_hex_id", test_is_hex_id},
	    {"duplicate member names", test_duplicate_members},
	    {NULL, NULL},
	};

	return tsupport_run("event", cases);
}
