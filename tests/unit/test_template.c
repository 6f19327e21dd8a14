/* test_template.c — unit tests of the template module: placeholders, escaping of hostile
 * certificate values, structure preserved after render, size limits, name patterns, template
 * errors with their position, concurrent renders, and the shipped policies/. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jitrd/template.h"
#include "testsupport.h"

#define SENTINEL ((char *)0x5a5a)

/* Values of the fixture certificate devices/good.pem (make-fixtures.sh) and its context. */
#define CERT_ID "4a5b6c7d8e9f00112233445566778899aabbccddeeff00112233445566778899"
#define CA_ID   "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
static const struct jitrd_template_var fixture_vars[] = {
    {"certificate.id", CERT_ID},
    {"certificate.arn", "arn:aws:iot:eu-west-1:123456789012:cert/" CERT_ID},
    {"certificate.serial", "1001"},
    {"ca.id", CA_ID},
    {"aws.account", "123456789012"},
    {"aws.region", "eu-west-1"},
    {"thing.name", "device-good"},
    {"subject.CN", "device-good"},
    {"subject.O", "Example Corp"},
    {"subject.OU", "Sensors"},
    {"subject.C", "US"},
    {"subject.ST", "WA"},
    {"subject.L", "Seattle"},
    {"subject.serialNumber", "SN-0001"},
};
#define NFIXTURE (sizeof(fixture_vars) / sizeof(fixture_vars[0]))

static struct jitrd_policy_template *parse_ok(const char *text)
{
	struct jitrd_policy_template *tpl = NULL;
	struct jitrd_diag diag = {{0}};
	enum jitrd_err err = jitrd_policy_template_parse("t.json", text, strlen(text), &tpl, &diag);

	CU_ASSERT_EQUAL(err, JITRD_OK);
	if (err != JITRD_OK)
		fprintf(stderr, "unexpected: %s\n", diag.text);
	CU_ASSERT_PTR_NOT_NULL(tpl);
	return tpl;
}

/* fixture vars with subject.CN replaced */
static enum jitrd_err render_cn(const struct jitrd_policy_template *tpl, const char *cn, char **out,
                                struct jitrd_diag *diag)
{
	struct jitrd_template_var vars[NFIXTURE];

	memcpy(vars, fixture_vars, sizeof(vars));
	for (size_t i = 0; i < NFIXTURE; i++) {
		if (strcmp(vars[i].name, "subject.CN") == 0)
			vars[i].value = cn;
	}
	return jitrd_policy_template_render(tpl, vars, NFIXTURE, out, diag);
}

static char *repeat(const char *unit, size_t times)
{
	size_t ulen = strlen(unit);
	char *s = malloc(ulen * times + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < times; i++)
		memcpy(s + i * ulen, unit, ulen);
	s[ulen * times] = '\0';
	return s;
}

/* ---- every placeholder ---- */

static void test_every_placeholder(void)
{
	size_t count = 0;

	for (const char *const *name = jitrd_template_known_names; *name; name++, count++) {
		char text[256], expect[512];
		const char *value = NULL;
		struct jitrd_policy_template *tpl;
		struct jitrd_diag diag = {{0}};
		char *out = NULL;

		for (size_t i = 0; i < NFIXTURE; i++) {
			if (strcmp(fixture_vars[i].name, *name) == 0)
				value = fixture_vars[i].value;
		}
		CU_ASSERT_PTR_NOT_NULL_FATAL(value);
		snprintf(text, sizeof(text), "{\"k\": [\"x-{{%s}}-{{%s}}\"]}", *name, *name);
		snprintf(expect, sizeof(expect), "{\"k\":[\"x-%s-%s\"]}", value, value);
		tpl = parse_ok(text);
		CU_ASSERT_EQUAL(
		    jitrd_policy_template_render(tpl, fixture_vars, NFIXTURE, &out, &diag),
		    JITRD_OK);
		CU_ASSERT_STRING_EQUAL(out, expect);
		free(out);
		jitrd_policy_template_free(tpl);
	}
	CU_ASSERT_EQUAL(count, 14);
}

static void test_iot_variables_untouched(void)
{
	static const char text[] =
	    "{\"a\":\"${iot:Certificate.Subject.CommonName}\","
	    "\"b\":\"${iot:Connection.Thing.ThingName}/{{subject.CN}}/${iot:ClientId}\","
	    "\"c\":\"$ {{subject.O}} }} $(*) { x\"}";
	static const char expect[] =
	    "{\"a\":\"${iot:Certificate.Subject.CommonName}\","
	    "\"b\":\"${iot:Connection.Thing.ThingName}/device-good/${iot:ClientId}\","
	    "\"c\":\"$ Example Corp }} $(*) { x\"}";
	struct jitrd_policy_template *tpl = parse_ok(text);
	struct jitrd_diag diag = {{0}};
	char *out = NULL;

	CU_ASSERT_EQUAL(jitrd_policy_template_render(tpl, fixture_vars, NFIXTURE, &out, &diag),
	                JITRD_OK);
	CU_ASSERT_STRING_EQUAL(out, expect);
	free(out);
	jitrd_policy_template_free(tpl);
}

/* Non-string values and nesting survive the render unchanged. */
static void test_other_types_preserved(void)
{
	static const char text[] = "{\"n\":null,\"t\":true,\"f\":false,\"i\":-42,\"d\":1.5,"
				   "\"o\":{\"e\":{},\"a\":[]},\"s\":\"a/b\\\\c\\\"{{subject.C}}\"}";
	static const char expect[] = "{\"n\":null,\"t\":true,\"f\":false,\"i\":-42,\"d\":1.5,"
				     "\"o\":{\"e\":{},\"a\":[]},\"s\":\"a/b\\\\c\\\"US\"}";
	struct jitrd_policy_template *tpl = parse_ok(text);
	char *out = NULL;

	CU_ASSERT_EQUAL(jitrd_policy_template_render(tpl, fixture_vars, NFIXTURE, &out, NULL),
	                JITRD_OK);
	CU_ASSERT_STRING_EQUAL(out, expect);
	free(out);
	jitrd_policy_template_free(tpl);
}

/* ---- hostile Common Names ---- */

static const char policy_text[] =
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
    "\"Action\":\"iot:Connect\","
    "\"Resource\":\"arn:aws:iot:eu-west-1:123456789012:client/{{subject.CN}}\"}]}";
#define RESOURCE_PREFIX "arn:aws:iot:eu-west-1:123456789012:client/"

struct hostile_case {
	const char *cn;
	enum jitrd_err err;
	const char *escaped; /* the Resource string after render */
};

static const struct hostile_case hostile_cases[] = {
    /* IoT wildcards and the variable sign are refused, not escaped: AWS's guides disagree
     * on the literal forms ($(*) or ${*}) */
    {"*", JITRD_ERR_FORBIDDEN_CHAR, NULL},
    {"?", JITRD_ERR_FORBIDDEN_CHAR, NULL},
    {"$", JITRD_ERR_FORBIDDEN_CHAR, NULL},
    {"a*b?c$d", JITRD_ERR_FORBIDDEN_CHAR, NULL},
    {"$(*)", JITRD_ERR_FORBIDDEN_CHAR, NULL},
    {"dev*", JITRD_ERR_FORBIDDEN_CHAR, NULL},
    {"\",\"Effect\":\"Allow\",\"Resource\":\"x", JITRD_OK,
     "\",\"Effect\":\"Allow\",\"Resource\":\"x"},
    {"\"],\"Action\":\"iot:Connect\",\"Resource\":[\"x", JITRD_OK,
     "\"],\"Action\":\"iot:Connect\",\"Resource\":[\"x"},
    {"\",\"Effect\":\"Allow\",\"Resource\":\"*", JITRD_ERR_FORBIDDEN_CHAR, NULL},
    {"\"}]},{\"Effect\":\"Allow\",\"Action\":\"iot:*\",\"Resource\":\"*", JITRD_ERR_FORBIDDEN_CHAR,
     NULL},
    {"dev\\ice\\", JITRD_OK, "dev\\ice\\"},
    {"\\u0022", JITRD_OK, "\\u0022"},
    {"a/../b", JITRD_ERR_FORBIDDEN_CHAR, NULL}, /* another device's topic tree */
    {"/", JITRD_ERR_FORBIDDEN_CHAR, NULL},
    {"x/#", JITRD_ERR_FORBIDDEN_CHAR, NULL},
    {"#", JITRD_ERR_FORBIDDEN_CHAR, NULL}, /* MQTT multi-level wildcard */
    {"+", JITRD_ERR_FORBIDDEN_CHAR, NULL}, /* MQTT single-level wildcard */
    {"dev+ice", JITRD_ERR_FORBIDDEN_CHAR, NULL},
    {"a-b_c.d@e,f=g:h", JITRD_OK, "a-b_c.d@e,f=g:h"},
    {"capteur-\xc3\xa9t\xc3\xa9", JITRD_OK, "capteur-\xc3\xa9t\xc3\xa9"},
    {"\xf0\x9f\x94\x92", JITRD_OK, "\xf0\x9f\x94\x92"},
    {"", JITRD_OK, ""},
    {"${iot:ClientId}", JITRD_ERR_FORBIDDEN_CHAR, NULL},
    {"{{subject.CN}}", JITRD_ERR_FORBIDDEN_CHAR, NULL},
    {"{", JITRD_ERR_FORBIDDEN_CHAR, NULL},
    {"}", JITRD_ERR_FORBIDDEN_CHAR, NULL},
    {"dev\nice", JITRD_ERR_FORBIDDEN_CHAR, NULL},
    {"dev\tice", JITRD_ERR_FORBIDDEN_CHAR, NULL},
    {"\r", JITRD_ERR_FORBIDDEN_CHAR, NULL},
    {"\x1b[31m", JITRD_ERR_FORBIDDEN_CHAR, NULL},
    {"\x7f", JITRD_ERR_FORBIDDEN_CHAR, NULL},
    {"\xc2\x85", JITRD_ERR_FORBIDDEN_CHAR, NULL},         /* C1 NEL */
    {"\xff", JITRD_ERR_FORBIDDEN_CHAR, NULL},             /* never valid */
    {"caf\xc3", JITRD_ERR_FORBIDDEN_CHAR, NULL},          /* truncated sequence */
    {"\xc0\xaf", JITRD_ERR_FORBIDDEN_CHAR, NULL},         /* overlong '/' */
    {"\xe0\x80\xaf", JITRD_ERR_FORBIDDEN_CHAR, NULL},     /* overlong, 3 bytes */
    {"\xed\xa0\x80", JITRD_ERR_FORBIDDEN_CHAR, NULL},     /* UTF-16 surrogate */
    {"\xf4\x90\x80\x80", JITRD_ERR_FORBIDDEN_CHAR, NULL}, /* above U+10FFFF */
    {"\x80", JITRD_ERR_FORBIDDEN_CHAR, NULL},             /* lone continuation */
};

/* The rendered document has exactly the template's structure and the Resource is ONE string
 * equal to prefix + escaped. */
static void assert_structure(const char *json, const char *escaped)
{
	struct json_object *doc = json_tokener_parse(json);
	struct json_object *statement, *first, *resource, *v;
	char expect[512];

	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_TRUE(json_object_is_type(doc, json_type_object));
	CU_ASSERT_EQUAL(json_object_object_length(doc), 2);
	CU_ASSERT_TRUE(json_object_object_get_ex(doc, "Version", &v));
	CU_ASSERT_TRUE(json_object_object_get_ex(doc, "Statement", &statement));
	CU_ASSERT_FATAL(json_object_is_type(statement, json_type_array));
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(statement), 1);
	first = json_object_array_get_idx(statement, 0);
	CU_ASSERT_EQUAL(json_object_object_length(first), 3);
	CU_ASSERT_TRUE(json_object_object_get_ex(first, "Effect", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "Allow");
	CU_ASSERT_TRUE(json_object_object_get_ex(first, "Action", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "iot:Connect");
	CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(first, "Resource", &resource));
	CU_ASSERT_TRUE(json_object_is_type(resource, json_type_string));
	snprintf(expect, sizeof(expect), "%s%s", RESOURCE_PREFIX, escaped);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(resource), expect);
	json_object_put(doc);
}

static void test_hostile_cn(void)
{
	struct jitrd_policy_template *tpl = parse_ok(policy_text);

	for (size_t i = 0; i < sizeof(hostile_cases) / sizeof(hostile_cases[0]); i++) {
		const struct hostile_case *c = &hostile_cases[i];
		struct jitrd_diag diag = {{0}};
		char *out = SENTINEL;
		enum jitrd_err err = render_cn(tpl, c->cn, &out, &diag);

		CU_ASSERT_EQUAL(err, c->err);
		if (err != c->err)
			fprintf(stderr, "case %zu: got %d: %s\n", i, err, diag.text);
		if (c->err != JITRD_OK) {
			CU_ASSERT_PTR_EQUAL(out, SENTINEL);
			CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "{{subject.CN}}"));
			continue;
		}
		CU_ASSERT_PTR_NOT_EQUAL_FATAL(out, SENTINEL);
		assert_structure(out, c->escaped);
		free(out);
	}
	jitrd_policy_template_free(tpl);
}

/* The reason names the MQTT danger; certificate.arn alone may hold its own '/', and a
 * subject field may not, whichever placeholder carries it. */
static void test_mqtt_characters(void)
{
	static const struct {
		const char *cn;
		const char *why;
	} cases[] = {
	    {"a/b", "another device's MQTT topic tree"},
	    {"a+b", "MQTT wildcard"},
	    {"a#b", "MQTT wildcard"},
	    {"a*b", "'*', an IoT policy wildcard"},
	    {"a?b", "'?', an IoT policy wildcard"},
	    {"a$b", "'$', which starts an IoT policy variable"},
	};
	struct jitrd_policy_template *tpl = parse_ok(policy_text);
	struct jitrd_policy_template *arn =
	    parse_ok("{\"a\":\"{{certificate.arn}}\",\"b\":\"{{subject.O}}\"}");
	struct jitrd_template_var vars[NFIXTURE];
	char *out = SENTINEL;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_diag diag = {{0}};

		out = SENTINEL;
		CU_ASSERT_EQUAL(render_cn(tpl, cases[i].cn, &out, &diag), JITRD_ERR_FORBIDDEN_CHAR);
		CU_ASSERT_PTR_EQUAL(out, SENTINEL);
		CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, cases[i].why));
		CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "at byte 1"));
		CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "{{subject.CN}}")); /* the field named */
	}
	out = SENTINEL;
	CU_ASSERT_EQUAL(jitrd_policy_template_render(arn, fixture_vars, NFIXTURE, &out, NULL),
	                JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, ":cert/"));
	if (out != SENTINEL)
		free(out);
	memcpy(vars, fixture_vars, sizeof(vars));
	for (size_t i = 0; i < NFIXTURE; i++) {
		if (strcmp(vars[i].name, "subject.O") == 0)
			vars[i].value = "Example/Corp";
	}
	out = SENTINEL;
	CU_ASSERT_EQUAL(jitrd_policy_template_render(arn, vars, NFIXTURE, &out, NULL),
	                JITRD_ERR_FORBIDDEN_CHAR);
	CU_ASSERT_PTR_EQUAL(out, SENTINEL);
	/* certificate.arn still may not carry an MQTT wildcard */
	for (size_t i = 0; i < NFIXTURE; i++) {
		if (strcmp(vars[i].name, "subject.O") == 0)
			vars[i].value = "Example Corp";
		if (strcmp(vars[i].name, "certificate.arn") == 0)
			vars[i].value = "arn:aws:iot:eu-west-1:123456789012:cert/#";
	}
	CU_ASSERT_EQUAL(jitrd_policy_template_render(arn, vars, NFIXTURE, &out, NULL),
	                JITRD_ERR_FORBIDDEN_CHAR);
	CU_ASSERT_PTR_EQUAL(out, SENTINEL);
	jitrd_policy_template_free(arn);
	jitrd_policy_template_free(tpl);
}

/* Which placeholders a template uses: in string values only, well-formed ones only. */
static void test_uses(void)
{
	struct jitrd_policy_template *tpl = parse_ok(
	    "{\"a\":[\"x\",{\"b\":\"{{thing.name}}-{{aws.region}}\"}],\"c\":1,"
	    "\"d\":\"${iot:ClientId} {{subject.O}}\",\"e\":null,\"thing.name\":\"aws.account\"}");
	static const struct {
		const char *name;
		int used;
	} cases[] = {
	    {"thing.name", 1},     {"aws.region", 1}, {"subject.O", 1},
	    {"aws.account", 0}, /* only as text, without braces */
	    {"subject.CN", 0},     {"thing", 0},      {"thing.name}}", 0},
	    {"{{thing.name}}", 0}, {"", 0},
	};

	CU_ASSERT_PTR_NOT_NULL_FATAL(tpl);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(jitrd_policy_template_uses(tpl, cases[i].name), cases[i].used);
		if (jitrd_policy_template_uses(tpl, cases[i].name) != cases[i].used)
			fprintf(stderr, "  policy uses %s: expected %d\n", cases[i].name,
			        cases[i].used);
	}
	CU_ASSERT_EQUAL(jitrd_policy_template_uses(NULL, "thing.name"), 0);
	CU_ASSERT_EQUAL(jitrd_policy_template_uses(tpl, NULL), 0);
	jitrd_policy_template_free(tpl);

	CU_ASSERT_EQUAL(jitrd_name_template_uses("dev-{{subject.CN}}-{{aws.region}}", "aws.region"),
	                1);
	CU_ASSERT_EQUAL(jitrd_name_template_uses("dev-{{subject.CN}}", "subject.CN"), 1);
	CU_ASSERT_EQUAL(jitrd_name_template_uses("dev-{{subject.CN}}", "subject.C"), 0);
	CU_ASSERT_EQUAL(jitrd_name_template_uses("dev-subject.CN", "subject.CN"), 0);
	CU_ASSERT_EQUAL(jitrd_name_template_uses("dev-{{subject.XX}}", "subject.XX"), 0);
	CU_ASSERT_EQUAL(jitrd_name_template_uses("{{subject.CN", "subject.CN"), 0);
	CU_ASSERT_EQUAL(jitrd_name_template_uses("", "subject.CN"), 0);
	CU_ASSERT_EQUAL(jitrd_name_template_uses(NULL, "subject.CN"), 0);
	CU_ASSERT_EQUAL(jitrd_name_template_uses("{{subject.CN}}", NULL), 0);
}

/* A value can no more form {{...}} across two placeholders than within one. */
static void test_adjacent_placeholders(void)
{
	struct jitrd_policy_template *tpl = parse_ok("{\"a\":\"{{subject.CN}}{{subject.O}}\"}");
	struct jitrd_template_var vars[] = {{"subject.CN", "a"}, {"subject.O", "x"}};
	struct jitrd_template_var dollar_brace[] = {{"subject.CN", "$"}, {"subject.O", "{x}"}};
	struct jitrd_template_var brace_brace[] = {{"subject.CN", "{"}, {"subject.O", "{x}}"}};
	char *out = SENTINEL;

	CU_ASSERT_EQUAL(jitrd_policy_template_render(tpl, vars, 2, &out, NULL), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(out, "{\"a\":\"ax\"}");
	free(out);
	out = SENTINEL;
	CU_ASSERT_EQUAL(jitrd_policy_template_render(tpl, dollar_brace, 2, &out, NULL),
	                JITRD_ERR_FORBIDDEN_CHAR);
	CU_ASSERT_EQUAL(jitrd_policy_template_render(tpl, brace_brace, 2, &out, NULL),
	                JITRD_ERR_FORBIDDEN_CHAR);
	CU_ASSERT_PTR_EQUAL(out, SENTINEL);
	jitrd_policy_template_free(tpl);
}

static void test_field_absent(void)
{
	struct jitrd_policy_template *tpl =
	    parse_ok("{\"S\":[{\"R\":\"x\"},{\"R\":[\"{{subject.CN}}/{{subject.OU}}\"]}]}");
	struct jitrd_template_var null_ou[] = {{"subject.CN", "a"}, {"subject.OU", NULL}};
	struct jitrd_template_var no_ou[] = {{"subject.CN", "a"}};
	struct jitrd_diag diag = {{0}};
	char *out = SENTINEL;

	CU_ASSERT_EQUAL(jitrd_policy_template_render(tpl, null_ou, 2, &out, &diag),
	                JITRD_ERR_FIELD_ABSENT);
	CU_ASSERT_PTR_EQUAL(out, SENTINEL);
	CU_ASSERT_STRING_EQUAL(
	    diag.text, "t.json: at S[1].R[0]: placeholder {{subject.OU}}: certificate lacks "
		       "the field");
	memset(&diag, 0, sizeof(diag));
	CU_ASSERT_EQUAL(jitrd_policy_template_render(tpl, no_ou, 1, &out, &diag),
	                JITRD_ERR_FIELD_ABSENT);
	CU_ASSERT_PTR_EQUAL(out, SENTINEL);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "{{subject.OU}}"));
	CU_ASSERT_EQUAL(jitrd_policy_template_render(tpl, NULL, 0, &out, &diag),
	                JITRD_ERR_FIELD_ABSENT);
	CU_ASSERT_PTR_EQUAL(out, SENTINEL);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "{{subject.CN}}"));
	jitrd_policy_template_free(tpl);
}

/* ---- the 2048-character limit ---- */

struct size_case {
	const char *unit; /* the CN is unit repeated times */
	size_t times;
	enum jitrd_err err;
	size_t out_bytes; /* when OK */
};

/* Template {"a":"{{subject.CN}}"} renders to 8 characters plus the value's. */
static const struct size_case size_cases[] = {
    {"a", 2040, JITRD_OK, 2048},
    {"a", 2041, JITRD_ERR_POLICY_TOO_LONG, 0},
    {"\xc3\xa9", 2040, JITRD_OK, 4088}, /* characters are counted, not bytes */
    {"\xc3\xa9", 2041, JITRD_ERR_POLICY_TOO_LONG, 0},
    {"\xf0\x9f\x94\x92", 2040, JITRD_OK, 8168},
    {"*", 1, JITRD_ERR_FORBIDDEN_CHAR, 0}, /* refused before its length matters */
    {"\"", 1020, JITRD_OK, 2048},          /* \" is two characters in the document */
    {"\"", 1021, JITRD_ERR_POLICY_TOO_LONG, 0},
    {"a", 64 * 1024, JITRD_ERR_POLICY_TOO_LONG, 0},
    {"$", 64 * 1024, JITRD_ERR_FORBIDDEN_CHAR, 0},
};

static void test_policy_size(void)
{
	struct jitrd_policy_template *tpl = parse_ok("{\"a\":\"{{subject.CN}}\"}");

	for (size_t i = 0; i < sizeof(size_cases) / sizeof(size_cases[0]); i++) {
		const struct size_case *c = &size_cases[i];
		char *cn = repeat(c->unit, c->times);
		struct jitrd_diag diag = {{0}};
		char *out = SENTINEL;

		CU_ASSERT_PTR_NOT_NULL_FATAL(cn);
		CU_ASSERT_EQUAL(render_cn(tpl, cn, &out, &diag), c->err);
		if (c->err == JITRD_OK) {
			CU_ASSERT_PTR_NOT_EQUAL_FATAL(out, SENTINEL);
			CU_ASSERT_EQUAL(strlen(out), c->out_bytes);
			free(out);
		} else {
			CU_ASSERT_PTR_EQUAL(out, SENTINEL);
			CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, c->err == JITRD_ERR_POLICY_TOO_LONG
			                                             ? "2048"
			                                             : "{{subject.CN}}"));
		}
		free(cn);
	}
	jitrd_policy_template_free(tpl);
}

/* ---- template errors ---- */

struct parse_case {
	const char *text;
	size_t len; /* 0: strlen */
	enum jitrd_err err;
	const char *diag; /* substring */
};

static const struct parse_case parse_cases[] = {
    {"", 0, JITRD_ERR_MALFORMED, "one JSON object"},
    {"   \n", 0, JITRD_ERR_MALFORMED, "one JSON object"},
    {"not json", 0, JITRD_ERR_MALFORMED, "one JSON object"},
    {"[{\"a\":1}]", 0, JITRD_ERR_MALFORMED, "one JSON object"},
    {"\"{{subject.CN}}\"", 0, JITRD_ERR_MALFORMED, "one JSON object"},
    {"{\"a\": \"b\"", 0, JITRD_ERR_MALFORMED, "truncated"},
    {"{\"a\": [\"b\",", 0, JITRD_ERR_MALFORMED, "truncated"},
    {"{\"a\": \"b", 0, JITRD_ERR_MALFORMED, "truncated"},
    {"{\"a\":1} {\"b\":2}", 0, JITRD_ERR_MALFORMED, "t.json:1:"},
    {"{\"a\":1}\n\nx", 0, JITRD_ERR_MALFORMED, "t.json:3:"},
    {"{\"a\":1,}", 0, JITRD_ERR_MALFORMED, "t.json:1:"},
    {"{\"a\":\"\xff\"}", 0, JITRD_ERR_MALFORMED, "t.json:1:"},
    {"{\"a\":\"b\"}\0", 10, JITRD_ERR_MALFORMED, "NUL byte"},
    {"{\"a\":\"b\0c\"}", 11, JITRD_ERR_MALFORMED, "NUL byte"},
    {"{\"{{subject.CN}}\":\"x\"}", 0, JITRD_ERR_TEMPLATE, "placeholder in an object key"},
    {"{\"a\":{\"b-{{ca.id}}\":1}}", 0, JITRD_ERR_TEMPLATE, "at a.b-{{ca.id}}: placeholder"},
    {"{\"a\":\"{{subject.XX}}\"}", 0, JITRD_ERR_TEMPLATE, "unknown placeholder {{subject.XX}}"},
    {"{\"a\":\"{{SUBJECT.CN}}\"}", 0, JITRD_ERR_TEMPLATE, "unknown placeholder"},
    {"{\"a\":\"{{ subject.CN }}\"}", 0, JITRD_ERR_TEMPLATE, "unknown placeholder"},
    {"{\"a\":\"{{}}\"}", 0, JITRD_ERR_TEMPLATE, "empty placeholder"},
    {"{\"a\":\"x{{subject.CN\"}", 0, JITRD_ERR_TEMPLATE, "unterminated placeholder"},
    {"{\"a\":\"x{{subject.CN}\"}", 0, JITRD_ERR_TEMPLATE, "unterminated placeholder"},
    {"{\"a\":\"{{\"}", 0, JITRD_ERR_TEMPLATE, "unterminated placeholder"},
    {"{\"a\":\"{{{subject.CN}}}\"}", 0, JITRD_ERR_TEMPLATE, "nested braces"},
    {"{\"a\":\"{{sub{{ca.id}}ject}}\"}", 0, JITRD_ERR_TEMPLATE, "nested braces"},
    {"{\"a\":\"{{a}b}}\"}", 0, JITRD_ERR_TEMPLATE, "nested braces"},
    {"{\"a\":\"${iot:{{subject.CN}}}\"}", 0, JITRD_ERR_TEMPLATE, "inside an IoT"},
    {"{\"a\":\"${{subject.CN}}\"}", 0, JITRD_ERR_TEMPLATE, "inside an IoT"},
    {"{\"a\":\"${iot:x {{subject.CN}}\"}", 0, JITRD_ERR_TEMPLATE, "inside an IoT"},
    {"{\"a\":\"\\u007b\\u007bsubject.XX}}\"}", 0, JITRD_ERR_TEMPLATE, "at a: unknown"},
    {"{\"a\":[1,{\"b\":[\"ok\",\"{{nope}}\"]}]}", 0, JITRD_ERR_TEMPLATE,
     "t.json:1: at a[1].b[1]: unknown placeholder {{nope}}"},
};

static void assert_parse_fails(const char *text, size_t len, enum jitrd_err want,
                               const char *diag_sub)
{
	struct jitrd_policy_template *tpl = (struct jitrd_policy_template *)SENTINEL;
	struct jitrd_diag diag = {{0}};
	enum jitrd_err err = jitrd_policy_template_parse("t.json", text, len, &tpl, &diag);

	CU_ASSERT_EQUAL(err, want);
	CU_ASSERT_PTR_EQUAL(tpl, SENTINEL);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, diag_sub));
	if (err != want || !strstr(diag.text, diag_sub))
		fprintf(stderr, "case %.40s: got %d \"%s\"\n", text, err, diag.text);
}

static void test_template_errors(void)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		assert_parse_fails(c->text, c->len ? c->len : strlen(c->text), c->err, c->diag);
	}
}

static void test_template_where(void)
{
	static const char text[] = "{\n"
				   "  \"Version\": \"2012-10-17\",\n"
				   "  \"Statement\": [\n"
				   "    {\"Resource\": \"{{subject.CN}}\"},\n"
				   "    {\"Resource\": [\"x/{{subject.XX}}\"]}\n"
				   "  ]\n"
				   "}\n";
	struct jitrd_policy_template *tpl = (struct jitrd_policy_template *)SENTINEL;
	struct jitrd_diag diag = {{0}};

	CU_ASSERT_EQUAL(
	    jitrd_policy_template_parse("policies/x.json", text, strlen(text), &tpl, &diag),
	    JITRD_ERR_TEMPLATE);
	CU_ASSERT_STRING_EQUAL(diag.text, "policies/x.json:5: at Statement[1].Resource[0]: "
	                                  "unknown placeholder {{subject.XX}}");
	CU_ASSERT_PTR_EQUAL(tpl, SENTINEL);
}

static void test_template_limits(void)
{
	/* nesting: 40 arrays inside the object exceed the depth cap of 32 */
	char deep[128];
	size_t n = 0;
	char *big;
	struct jitrd_policy_template *tpl = NULL;

	n += (size_t)snprintf(deep, sizeof(deep), "{\"a\":");
	for (int i = 0; i < 40; i++)
		deep[n++] = '[';
	for (int i = 0; i < 40; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	deep[n] = '\0';
	assert_parse_fails(deep, n, JITRD_ERR_MALFORMED, "t.json:1:");

	/* 70 KB: over JITRD_TEMPLATE_MAX_BYTES, refused before parsing */
	big = malloc(70 * 1024 + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, ' ', 70 * 1024);
	memcpy(big, "{\"a\":\"", 6);
	memcpy(big + 70 * 1024 - 2, "\"}", 2);
	big[70 * 1024] = '\0';
	assert_parse_fails(big, 70 * 1024, JITRD_ERR_TOO_LARGE, "65536");
	/* exactly at the limit is accepted */
	memcpy(big + JITRD_TEMPLATE_MAX_BYTES - 2, "\"}", 2);
	CU_ASSERT_EQUAL(jitrd_policy_template_parse("t", big, JITRD_TEMPLATE_MAX_BYTES, &tpl, NULL),
	                JITRD_OK);
	jitrd_policy_template_free(tpl);
	free(big);

	/* invalid arguments */
	tpl = (struct jitrd_policy_template *)SENTINEL;
	CU_ASSERT_EQUAL(jitrd_policy_template_parse("t", NULL, 3, &tpl, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_PTR_EQUAL(tpl, SENTINEL);
	CU_ASSERT_EQUAL(jitrd_policy_template_parse("t", "{}", 2, NULL, NULL),
	                JITRD_ERR_INVALID_ARG);
	jitrd_policy_template_free(NULL);
}

static void test_render_args(void)
{
	struct jitrd_policy_template *tpl = parse_ok("{}");
	char *out = SENTINEL;

	CU_ASSERT_EQUAL(jitrd_policy_template_render(NULL, NULL, 0, &out, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_policy_template_render(tpl, NULL, 0, NULL, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_policy_template_render(tpl, NULL, 2, &out, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_PTR_EQUAL(out, SENTINEL);
	CU_ASSERT_EQUAL(jitrd_policy_template_render(tpl, NULL, 0, &out, NULL), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(out, "{}");
	free(out);
	jitrd_policy_template_free(tpl);
}

/* Rendering leaves the template as it was: a second render with another value is not
 * affected by the first. */
static void test_render_does_not_mutate(void)
{
	struct jitrd_policy_template *tpl = parse_ok(policy_text);
	char *first = NULL, *second = NULL, *again = NULL;

	CU_ASSERT_EQUAL(render_cn(tpl, "one", &first, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(render_cn(tpl, "two", &second, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(render_cn(tpl, "one", &again, NULL), JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(first, "client/one\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(second, "client/two\""));
	CU_ASSERT_STRING_EQUAL(first, again);
	free(first);
	free(second);
	free(again);
	jitrd_policy_template_free(tpl);
}

/* ---- names ---- */

struct name_case {
	const char *pattern;
	enum jitrd_name_kind kind;
	const char *cn;
	enum jitrd_err err;
	const char *expect; /* the name when OK, a diag substring otherwise */
};

static const struct name_case name_cases[] = {
    {"device-{{subject.CN}}", JITRD_NAME_POLICY, "device-good", JITRD_OK, "device-device-good"},
    {"{{subject.CN}}", JITRD_NAME_POLICY, "a+b=c,d.e@f-g_h0Z", JITRD_OK, "a+b=c,d.e@f-g_h0Z"},
    {"{{subject.CN}}", JITRD_NAME_THING, "dev:1_a-B", JITRD_OK, "dev:1_a-B"},
    {"p-{{aws.account}}-{{subject.O}}", JITRD_NAME_POLICY, "x", JITRD_ERR_NAME_PATTERN,
     "character ' ' at position 23"},
    {"{{subject.CN}}", JITRD_NAME_POLICY, "ab*cd", JITRD_ERR_NAME_PATTERN,
     "character '*' at position 3"},
    {"{{subject.CN}}", JITRD_NAME_POLICY, "a/b", JITRD_ERR_NAME_PATTERN, "'/' at position 2"},
    {"{{subject.CN}}", JITRD_NAME_POLICY, "a b", JITRD_ERR_NAME_PATTERN, "' ' at position 2"},
    {"{{subject.CN}}", JITRD_NAME_POLICY, "?", JITRD_ERR_NAME_PATTERN, "'?' at position 1"},
    {"{{subject.CN}}", JITRD_NAME_POLICY, "$x", JITRD_ERR_NAME_PATTERN, "'$' at position 1"},
    {"{{subject.CN}}", JITRD_NAME_POLICY, "a:b", JITRD_ERR_NAME_PATTERN, "':' at position 2"},
    {"{{subject.CN}}", JITRD_NAME_POLICY, "#", JITRD_ERR_NAME_PATTERN, "'#'"},
    {"{{subject.CN}}", JITRD_NAME_POLICY, "a\"b", JITRD_ERR_NAME_PATTERN, "'\"'"},
    {"{{subject.CN}}", JITRD_NAME_POLICY, "a\\b", JITRD_ERR_NAME_PATTERN, "'\\x5c'"},
    {"{{subject.CN}}", JITRD_NAME_POLICY, "a{b", JITRD_ERR_NAME_PATTERN, "'{'"},
    {"{{subject.CN}}", JITRD_NAME_POLICY, "a\nb", JITRD_ERR_NAME_PATTERN, "'\\x0a'"},
    {"{{subject.CN}}", JITRD_NAME_POLICY, "caf\xc3\xa9", JITRD_ERR_NAME_PATTERN,
     "'\\xc3\\xa9' at position 4"},
    {"{{subject.CN}}", JITRD_NAME_POLICY, "\xff", JITRD_ERR_NAME_PATTERN, "'\\xff'"},
    /* a Common Name of "." or "..": a dot-segment of /policies/{policyName} */
    {"{{subject.CN}}", JITRD_NAME_POLICY, "..", JITRD_ERR_NAME_PATTERN, "path segment"},
    {"{{subject.CN}}", JITRD_NAME_POLICY, ".", JITRD_ERR_NAME_PATTERN, "path segment"},
    {"{{subject.CN}}.", JITRD_NAME_POLICY, ".", JITRD_ERR_NAME_PATTERN, "path segment"},
    {"{{subject.CN}}", JITRD_NAME_THING, "a+b", JITRD_ERR_NAME_PATTERN, "'+' at position 2"},
    {"{{subject.CN}}", JITRD_NAME_THING, "a=b", JITRD_ERR_NAME_PATTERN, "'='"},
    {"{{subject.CN}}", JITRD_NAME_THING, "a,b", JITRD_ERR_NAME_PATTERN, "','"},
    {"{{subject.CN}}", JITRD_NAME_THING, "a.b", JITRD_ERR_NAME_PATTERN, "'.'"},
    {"{{subject.CN}}", JITRD_NAME_THING, "a@b", JITRD_ERR_NAME_PATTERN, "'@'"},
    {"{{subject.CN}}", JITRD_NAME_THING, "*", JITRD_ERR_NAME_PATTERN, "'*'"},
    {"{{subject.CN}}", JITRD_NAME_THING, "", JITRD_ERR_NAME_PATTERN, "empty"},
    {"", JITRD_NAME_POLICY, "x", JITRD_ERR_NAME_PATTERN, "empty"},
    {"{{subject.XX}}", JITRD_NAME_POLICY, "x", JITRD_ERR_TEMPLATE,
     "unknown placeholder {{subject.XX}} at position 1"},
    {"a{{subject.CN", JITRD_NAME_POLICY, "x", JITRD_ERR_TEMPLATE, "unterminated"},
    {"a{{}}", JITRD_NAME_POLICY, "x", JITRD_ERR_TEMPLATE, "empty placeholder"},
    {"{{{subject.CN}}}", JITRD_NAME_THING, "x", JITRD_ERR_TEMPLATE, "nested braces"},
    {"{{subject.OU}}", JITRD_NAME_POLICY, "x", JITRD_ERR_FIELD_ABSENT, "{{subject.OU}}"},
    {"{{thing.name}}", JITRD_NAME_THING, "x", JITRD_ERR_FIELD_ABSENT, "{{thing.name}}"},
};

static void check_name_case(const struct name_case *c, const char *cn)
{
	/* no subject.OU, no thing.name: to see FIELD_ABSENT */
	struct jitrd_template_var vars[] = {
	    {"subject.CN", cn},
	    {"subject.O", "Example Corp"},
	    {"aws.account", "123456789012"},
	    {"subject.OU", NULL},
	};
	struct jitrd_diag diag = {{0}};
	char out[JITRD_NAME_MAX + 1];
	enum jitrd_err err;

	memset(out, 'Z', sizeof(out));
	err = jitrd_name_template_render(c->pattern, c->kind, vars, 4, out, &diag);
	CU_ASSERT_EQUAL(err, c->err);
	if (c->err == JITRD_OK) {
		CU_ASSERT_STRING_EQUAL(out, c->expect);
		CU_ASSERT_TRUE(jitrd_name_valid(out, c->kind));
	} else {
		for (size_t i = 0; i < sizeof(out); i++)
			CU_ASSERT_EQUAL(out[i], 'Z');
		CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, c->expect));
	}
	if (err != c->err || (err != JITRD_OK && !strstr(diag.text, c->expect)))
		fprintf(stderr, "name case %s / %s: got %d \"%s\"\n", c->pattern, cn, err,
		        diag.text);
}

static void test_names(void)
{
	for (size_t i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++)
		check_name_case(&name_cases[i], name_cases[i].cn);
}

static void test_name_length(void)
{
	char *max = repeat("a", JITRD_NAME_MAX);
	char *over = repeat("b", JITRD_NAME_MAX + 1);
	char *huge = repeat("c", 64 * 1024);
	struct name_case ok = {"{{subject.CN}}", JITRD_NAME_THING, NULL, JITRD_OK, max};
	struct name_case ok_prefixed = {"a{{subject.CN}}", JITRD_NAME_POLICY, NULL, JITRD_OK, max};
	struct name_case too_long = {"{{subject.CN}}", JITRD_NAME_POLICY, NULL,
	                             JITRD_ERR_NAME_PATTERN, "129 characters, over 128"};
	struct name_case way_too_long = {"{{subject.CN}}", JITRD_NAME_THING, NULL,
	                                 JITRD_ERR_NAME_PATTERN, "65536 characters"};
	char *long_pattern = repeat("x", 1025);

	CU_ASSERT_PTR_NOT_NULL_FATAL(max);
	CU_ASSERT_PTR_NOT_NULL_FATAL(over);
	CU_ASSERT_PTR_NOT_NULL_FATAL(huge);
	CU_ASSERT_PTR_NOT_NULL_FATAL(long_pattern);
	check_name_case(&ok, max);
	check_name_case(&ok_prefixed, max + 1);
	check_name_case(&too_long, over);
	check_name_case(&way_too_long, huge);

	/* name templates themselves are capped at 1024 bytes */
	CU_ASSERT_EQUAL(jitrd_name_template_check(long_pattern, NULL), JITRD_ERR_TOO_LARGE);
	long_pattern[1024] = '\0';
	CU_ASSERT_EQUAL(jitrd_name_template_check(long_pattern, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_name_template_check(NULL, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_name_template_check("device-{{subject.CN}}-{{ca.id}}", NULL),
	                JITRD_OK);
	free(max);
	free(over);
	free(huge);
	free(long_pattern);
}

static void test_name_valid(void)
{
	static const struct {
		const char *name;
		enum jitrd_name_kind kind;
		int valid;
	} cases[] = {
	    {"a", JITRD_NAME_POLICY, 1},
	    {"A_b-c.d,e=f+g@h9", JITRD_NAME_POLICY, 1},
	    {"a:b", JITRD_NAME_POLICY, 0},
	    {"a:b_c-D9", JITRD_NAME_THING, 1},
	    {"a.b", JITRD_NAME_THING, 0},
	    {"", JITRD_NAME_POLICY, 0},
	    {"", JITRD_NAME_THING, 0},
	    {"a b", JITRD_NAME_THING, 0},
	    {"a*", JITRD_NAME_POLICY, 0},
	    {"\xc3\xa9", JITRD_NAME_THING, 0},
	    {NULL, JITRD_NAME_POLICY, 0},
	    /* dot-segments of the request path (RFC 3986 §5.2.4) */
	    {".", JITRD_NAME_POLICY, 0},
	    {"..", JITRD_NAME_POLICY, 0},
	    {"...", JITRD_NAME_POLICY, 1},
	    {"..a", JITRD_NAME_POLICY, 1},
	};
	char *max = repeat("z", JITRD_NAME_MAX);
	char *over = repeat("z", JITRD_NAME_MAX + 1);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(jitrd_name_valid(cases[i].name, cases[i].kind), cases[i].valid);
	CU_ASSERT_TRUE(jitrd_name_valid(max, JITRD_NAME_POLICY));
	CU_ASSERT_FALSE(jitrd_name_valid(over, JITRD_NAME_POLICY));
	CU_ASSERT_FALSE(jitrd_name_valid(over, JITRD_NAME_THING));
	free(max);
	free(over);
}

/* ---- concurrency ---- */

#define THREADS 4
#define RENDERS 300

struct thread_job {
	const struct jitrd_policy_template *tpl;
	const char *expect;
	int mismatches;
};

static void *render_many(void *arg)
{
	struct thread_job *job = arg;

	for (int i = 0; i < RENDERS; i++) {
		char *out = NULL;
		if (render_cn(job->tpl, "dev-ice", &out, NULL) != JITRD_OK ||
		    strcmp(out, job->expect) != 0)
			job->mismatches++;
		free(out);
	}
	return NULL;
}

static void test_concurrent_renders(void)
{
	static const char text[] =
	    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
	    "\"Action\":[\"iot:Publish\",\"iot:Receive\"],\"Resource\":["
	    "\"arn:aws:iot:{{aws.region}}:{{aws.account}}:topic/d/{{subject.CN}}/*\","
	    "\"arn:aws:iot:{{aws.region}}:{{aws.account}}:topic/c/{{certificate.id}}/*\"],"
	    "\"Condition\":{\"StringEquals\":{\"iot:Certificate.Subject.Organization\":"
	    "\"{{subject.O}}\"}},\"n\":1.25}]}";
	struct jitrd_policy_template *tpl = parse_ok(text);
	struct thread_job jobs[THREADS];
	pthread_t threads[THREADS];
	char *expect = NULL;

	CU_ASSERT_EQUAL_FATAL(render_cn(tpl, "dev-ice", &expect, NULL), JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(expect, "topic/d/dev-ice/*"));
	for (int i = 0; i < THREADS; i++) {
		jobs[i] = (struct thread_job){.tpl = tpl, .expect = expect};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&threads[i], NULL, render_many, &jobs[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		CU_ASSERT_EQUAL(pthread_join(threads[i], NULL), 0);
		CU_ASSERT_EQUAL(jobs[i].mismatches, 0);
	}
	free(expect);
	jitrd_policy_template_free(tpl);
}

/* ---- shipped policies ---- */

static char *read_policy(const char *file, size_t *len)
{
	const char *root = getenv("JITRD_SOURCE_ROOT");
	char path[4096];
	char *text;

	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	snprintf(path, sizeof(path), "%s/policies/%s", root, file);
	text = tsupport_read(path, len);
	CU_ASSERT_PTR_NOT_NULL(text);
	return text;
}

static void check_policy(const char *file, int shared, const char *must_contain)
{
	struct jitrd_policy_template *tpl = NULL;
	struct jitrd_diag diag = {{0}};
	struct json_object *doc, *statement;
	char *text, *out = NULL, *other = NULL;
	size_t len = 0;

	text = read_policy(file, &len);
	if (!text)
		return;
	CU_ASSERT_EQUAL_FATAL(jitrd_policy_template_parse(file, text, len, &tpl, &diag), JITRD_OK);
	CU_ASSERT_EQUAL_FATAL(
	    jitrd_policy_template_render(tpl, fixture_vars, NFIXTURE, &out, &diag), JITRD_OK);
	CU_ASSERT(strlen(out) <= JITRD_POLICY_MAX_CHARS);
	CU_ASSERT_PTR_NULL(strstr(out, "{{"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, must_contain));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "arn:aws:iot:eu-west-1:123456789012:"));
	doc = json_tokener_parse(out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_TRUE(json_object_object_get_ex(doc, "Statement", &statement));
	CU_ASSERT_EQUAL(json_object_array_length(statement), 3);
	json_object_put(doc);
	/* A shared policy is the same document for every device: created once. */
	CU_ASSERT_EQUAL(render_cn(tpl, "another-device", &other, NULL), JITRD_OK);
	if (other)
		CU_ASSERT_EQUAL(strcmp(out, other) == 0, shared);
	free(other);
	free(out);
	free(text);
	jitrd_policy_template_free(tpl);
}

static void test_shipped_policies(void)
{
	char name[JITRD_NAME_MAX + 1];

	check_policy("default.json", 1,
	             "topicfilter/devices/${iot:Certificate.Subject.CommonName}/*");
	check_policy("thing-shared.json", 1, "\"iot:Connection.Thing.IsAttached\":\"true\"");
	check_policy("per-device.json", 0, "client/device-good\"");
	/* the policy name README.md recommends for per-device.json */
	CU_ASSERT_EQUAL(jitrd_name_template_render("device-{{subject.CN}}", JITRD_NAME_POLICY,
	                                           fixture_vars, NFIXTURE, name, NULL),
	                JITRD_OK);
	CU_ASSERT_STRING_EQUAL(name, "device-device-good");
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"every placeholder", test_every_placeholder},
	    {"IoT variables untouched", test_iot_variables_untouched},
	    {"other JSON types preserved", test_other_types_preserved},
	    {"hostile Common Names", test_hostile_cn},
	    {"adjacent placeholders", test_adjacent_placeholders},
	    {"MQTT characters in values", test_mqtt_characters},
	    {"placeholders used", test_uses},
	    {"field absent", test_field_absent},
	    {"2048-character limit", test_policy_size},
	    {"template errors", test_template_errors},
	    {"template error position", test_template_where},
	    {"template limits and arguments", test_template_limits},
	    {"render arguments", test_render_args},
	    {"render does not mutate", test_render_does_not_mutate},
	    {"names", test_names},
	    {"name length", test_name_length},
	    {"name valid", test_name_valid},
	    {"concurrent renders", test_concurrent_renders},
	    {"shipped policies", test_shipped_policies},
	    {NULL, NULL},
	};

	return tsupport_run("template", cases);
}
