/* test_arn.c — AWS IoT certificate ARNs: well-formed ones in each partition, and hostile ones
 * (wrong partition or service, missing or extra parts, overlong, embedded NUL, control bytes,
 * colon and slash tricks) refused, with outputs untouched on refusal. Format per
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html */
#include "jitrd/arn.h"

#include <stdio.h>
#include <string.h>

#include "testsupport.h"

#define ID  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define ARN "arn:aws:iot:us-east-1:123456789012:cert/" ID

static void test_parse_fields(void)
{
	struct jitrd_arn a;
	static const char iam[] = "arn:aws:iam::123456789012:role/path/with:colon";

	CU_ASSERT_EQUAL_FATAL(jitrd_arn_parse(ARN, strlen(ARN), &a), JITRD_OK);
	CU_ASSERT(a.partition.len == 3 && memcmp(a.partition.at, "aws", 3) == 0);
	CU_ASSERT(a.service.len == 3 && memcmp(a.service.at, "iot", 3) == 0);
	CU_ASSERT(a.region.len == 9 && memcmp(a.region.at, "us-east-1", 9) == 0);
	CU_ASSERT(a.account.len == 12 && memcmp(a.account.at, "123456789012", 12) == 0);
	CU_ASSERT(a.resource.len == 5 + 64 && memcmp(a.resource.at, "cert/" ID, 69) == 0);
	/* an empty region (IAM) and a resource holding colons and slashes are ARNs too */
	CU_ASSERT_EQUAL_FATAL(jitrd_arn_parse(iam, strlen(iam), &a), JITRD_OK);
	CU_ASSERT_EQUAL(a.region.len, 0);
	CU_ASSERT(a.resource.len == strlen("role/path/with:colon"));
}

static void test_parse_refused(void)
{
	static const struct {
		const char *text;
		size_t len; /* 0: strlen */
		enum jitrd_err err;
	} cases[] = {
	    {"", 0, JITRD_ERR_MALFORMED},
	    {"arn", 0, JITRD_ERR_MALFORMED},
	    {"arn:aws:iot:us-east-1:123456789012", 0, JITRD_ERR_MALFORMED},  /* five fields */
	    {"arn:aws:iot:us-east-1:123456789012:", 0, JITRD_ERR_MALFORMED}, /* empty resource */
	    {"ARN:aws:iot:us-east-1:123456789012:cert/" ID, 0, JITRD_ERR_MALFORMED},
	    {"urn:aws:iot:us-east-1:123456789012:cert/" ID, 0, JITRD_ERR_MALFORMED},
	    {"arn:evil:iot:us-east-1:123456789012:cert/" ID, 0, JITRD_ERR_MALFORMED},
	    {"arn:awsx:iot:us-east-1:123456789012:cert/" ID, 0, JITRD_ERR_MALFORMED},
	    {"arn:aws-:iot:us-east-1:123456789012:cert/" ID, 0, JITRD_ERR_MALFORMED},
	    {"arn:AWS:iot:us-east-1:123456789012:cert/" ID, 0, JITRD_ERR_MALFORMED},
	    {"arn::iot:us-east-1:123456789012:cert/" ID, 0, JITRD_ERR_MALFORMED},
	    {"arn:aws::us-east-1:123456789012:cert/" ID, 0, JITRD_ERR_MALFORMED}, /* no service */
	    {"arn:aws:IoT:us-east-1:123456789012:cert/" ID, 0, JITRD_ERR_MALFORMED},
	    {"arn:aws:i/t:us-east-1:123456789012:cert/" ID, 0, JITRD_ERR_MALFORMED},
	    {"arn:aws:iot:us east:123456789012:cert/" ID, 0, JITRD_ERR_MALFORMED},
	    {"arn:aws:iot:us-east-1:12345678901:cert/" ID, 0, JITRD_ERR_MALFORMED}, /* 11 digits */
	    {"arn:aws:iot:us-east-1:1234567890123:cert/" ID, 0, JITRD_ERR_MALFORMED},
	    {"arn:aws:iot:us-east-1:12345678901a:cert/" ID, 0, JITRD_ERR_MALFORMED},
	    {"arn:aws:iot:us-east-1:123456789012:cert/\x01" ID, 0, JITRD_ERR_MALFORMED},
	    {"arn:aws:iot:us-east-1:123456789012:cert/" ID "\n", 0, JITRD_ERR_MALFORMED},
	    {"arn:aws:iot:us-east-1:123456789012:cert/\xc3\xa9", 0, JITRD_ERR_MALFORMED},
	    /* an embedded NUL: what a C string would cut is refused when the length says more */
	    {"arn:aws:iot:us-east-1:123456789012:cert/" ID "\0x", sizeof(ARN) + 1,
	     JITRD_ERR_MALFORMED},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_arn a;
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);

		memset(&a, 0x5a, sizeof(a));
		if (jitrd_arn_parse(cases[i].text, len, &a) != cases[i].err)
			printf("\n  refused case %zu: %s\n", i, cases[i].text);
		CU_ASSERT_EQUAL(jitrd_arn_parse(cases[i].text, len, &a), cases[i].err);
		/* untouched on refusal */
		CU_ASSERT_EQUAL(((const unsigned char *)&a)[0], 0x5a);
	}
}

static void test_parse_limits(void)
{
	static char text[JITRD_ARN_MAX + 2];
	struct jitrd_arn a;
	size_t prefix = strlen("arn:aws:iot:us-east-1:123456789012:");

	memcpy(text, "arn:aws:iot:us-east-1:123456789012:", prefix);
	memset(text + prefix, 'x', sizeof(text) - prefix - 1);
	CU_ASSERT_EQUAL(jitrd_arn_parse(text, JITRD_ARN_MAX, &a), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_arn_parse(text, JITRD_ARN_MAX + 1, &a), JITRD_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(jitrd_arn_parse(NULL, 0, &a), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_arn_parse(ARN, strlen(ARN), NULL), JITRD_ERR_INVALID_ARG);
}

static void test_certificate_id(void)
{
	static const struct {
		const char *arn;
		const char *id; /* NULL: not a certificate's ARN */
	} cases[] = {
	    {ARN, ID},
	    {"arn:aws-cn:iot:cn-north-1:123456789012:cert/" ID, ID},
	    {"arn:aws-us-gov:iot:us-gov-west-1:123456789012:cert/" ID, ID},
	    {"arn:aws:iot:us-east-1:123456789012:cert/" ID2, ID2},
	    {"arn:aws:iot:us-east-1:123456789012:cert/0123456789ABCDEF0123456789ABCDEF"
	     "0123456789ABCDEF0123456789ABCDEF",
	     "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"},
	    {"arn:aws:iam:us-east-1:123456789012:cert/" ID, NULL},   /* another service */
	    {"arn:aws:iot:us-east-1:123456789012:thing/" ID, NULL},  /* another resource */
	    {"arn:aws:iot:us-east-1:123456789012:cacert/" ID, NULL}, /* a CA, not a device */
	    {"arn:aws:iot::123456789012:cert/" ID, NULL},            /* no region */
	    {"arn:aws:iot:us-east-1::cert/" ID, NULL},               /* no account */
	    {"arn:aws:iot:us-east-1:123456789012:cert/" ID "x", NULL},
	    {"arn:aws:iot:us-east-1:123456789012:cert/" ID "/", NULL},
	    {"arn:aws:iot:us-east-1:123456789012:cert/" ID "/../x", NULL},
	    {"arn:aws:iot:us-east-1:123456789012:cert/x/" ID, NULL},
	    {"arn:aws:iot:us-east-1:123456789012:cert//" ID, NULL},
	    {"arn:aws:iot:us-east-1:123456789012:cert:" ID, NULL},
	    {"arn:aws:iot:us-east-1:123456789012:Cert/" ID, NULL},
	    {"arn:aws:iot:us-east-1:123456789012:cert/" ID, ID}, /* control: accepted */
	    /* the old suffix check's loophole: anything between "arn:" and ":cert/" */
	    {"arn:x:cert/" ID, NULL},
	    {"arn:aws:iot:us-east-1:123456789012:thing/t:cert/" ID, NULL},
	    {"arn:aws:iot:us-east-1:123456789012:cert/0123456789abcdef0123456789abcdef"
	     "0123456789abcdef0123456789abcdeg",
	     NULL},
	    {"arn:aws:iot:us-east-1:123456789012:cert/0123456789abcdef", NULL},
	    {"", NULL},
	    {NULL, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[65] = "untouched";
		bool ok = jitrd_arn_certificate_id(cases[i].arn, out);

		CU_ASSERT_EQUAL(ok, cases[i].id != NULL);
		CU_ASSERT_STRING_EQUAL(out, cases[i].id ? cases[i].id : "untouched");
		CU_ASSERT_EQUAL(jitrd_arn_certificate_id(cases[i].arn, NULL), cases[i].id != NULL);
	}
}

static void test_names_certificate(void)
{
	CU_ASSERT_TRUE(jitrd_arn_names_certificate(ARN, ID));
	CU_ASSERT_FALSE(jitrd_arn_names_certificate(ARN, ID2));
	CU_ASSERT_FALSE(jitrd_arn_names_certificate(ARN, ""));
	CU_ASSERT_FALSE(jitrd_arn_names_certificate(ARN, NULL));
	CU_ASSERT_FALSE(jitrd_arn_names_certificate(ARN, ID "0"));
	CU_ASSERT_FALSE(jitrd_arn_names_certificate(ARN "0", ID));
	CU_ASSERT_FALSE(jitrd_arn_names_certificate(NULL, ID));
	CU_ASSERT_FALSE(
	    jitrd_arn_names_certificate("arn:aws:iot:us-east-1:123456789012:thing/" ID, ID));
}

static void test_account(void)
{
	static const struct {
		const char *arn, *fallback, *want;
	} cases[] = {
	    {ARN, "999999999999", "123456789012"},
	    {"arn:aws:iam::210987654321:role/x", NULL, "210987654321"},
	    {"arn:aws:iot:us-east-1::cert/" ID, "999999999999", "999999999999"},
	    {"arn:aws:iot:us-east-1:1234567890123:cert/" ID, "999999999999", "999999999999"},
	    {"x:aws:iot:us-east-1:123456789012:cert/" ID, "999999999999", "999999999999"},
	    {"arn:aws:iot:us-east-1:123456789012", "999999999999", "999999999999"},
	    {NULL, "999999999999", "999999999999"},
	    {ARN "\x7f", "long-fallback-cut-to-twelve", "long-fallbac"},
	    {"", NULL, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[13];

		memset(out, 'z', sizeof(out));
		jitrd_arn_account(cases[i].arn, cases[i].fallback, out);
		CU_ASSERT_STRING_EQUAL(out, cases[i].want);
	}
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"fields of a well-formed ARN", test_parse_fields},
	    {"malformed ARNs refused, outputs untouched", test_parse_refused},
	    {"length limit and NULL", test_parse_limits},
	    {"the certificate id of an IoT certificate ARN only", test_certificate_id},
	    {"an ARN names exactly its certificate", test_names_certificate},
	    {"the account field, else the fallback", test_account},
	    {NULL, NULL},
	};

	return tsupport_run("arn", cases);
}
