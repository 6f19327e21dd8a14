/* test_text.c — the shared text helpers: strict UTF-8 (table of RFC 3629 edge cases), hex ids
 * lowercased only when whole, hex encoding within its buffer, RFC 3339 with and without
 * milliseconds at the edges of what has such a form. */
#include "jitrd/text.h"

#include <stdio.h>
#include <string.h>

#include "testsupport.h"

static void test_utf8(void)
{
	static const struct {
		const char *text;
		size_t len;
		size_t invalid_at; /* == len: valid */
	} cases[] = {
	    {"", 0, 0},
	    {"plain ascii", 11, 11},
	    {"a\0b", 3, 3}, /* NUL is well-formed UTF-8; callers refuse it on their own */
	    {"caf\xc3\xa9", 5, 5},
	    {"\xe2\x82\xac", 3, 3},
	    {"\xf0\x9f\x98\x80", 4, 4},
	    {"\xf4\x8f\xbf\xbf", 4, 4}, /* U+10FFFF */
	    {"\xef\xbf\xbd", 3, 3},     /* U+FFFD */
	    {"\xed\x9f\xbf", 3, 3},     /* U+D7FF, just below the surrogates */
	    {"ab\x80", 3, 2},           /* lone continuation */
	    {"\xc0\xaf", 2, 0},         /* overlong '/' */
	    {"\xc1\xbf", 2, 0},         /* overlong */
	    {"\xe0\x80\xaf", 3, 0},     /* overlong, 3 bytes */
	    {"\xf0\x80\x80\xaf", 4, 0}, /* overlong, 4 bytes */
	    {"\xed\xa0\x80", 3, 0},     /* surrogate U+D800 */
	    {"\xed\xbf\xbf", 3, 0},     /* surrogate U+DFFF */
	    {"\xf4\x90\x80\x80", 4, 0}, /* above U+10FFFF */
	    {"\xf5\x80\x80\x80", 4, 0}, /* never a lead byte */
	    {"\xff", 1, 0},
	    {"x\xc3", 2, 1},          /* truncated at the end */
	    {"x\xe2\x82", 3, 1},      /* truncated at the end */
	    {"\xe2\x28\xa1", 3, 0},   /* bad continuation */
	    {"ok\xf0\x9f\x98", 5, 2}, /* truncated 4-byte sequence */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t at = jitrd_utf8_invalid_at(cases[i].text, cases[i].len);

		CU_ASSERT_EQUAL(at, cases[i].invalid_at);
		if (at != cases[i].invalid_at)
			fprintf(stderr, "  utf8 case %zu: %zu, want %zu\n", i, at,
			        cases[i].invalid_at);
	}
	CU_ASSERT_EQUAL(jitrd_utf8_sequence((const unsigned char *)"\xc3\xa9", 2), 2);
	CU_ASSERT_EQUAL(jitrd_utf8_sequence((const unsigned char *)"\xc3\xa9", 1), 0);
	CU_ASSERT_EQUAL(jitrd_utf8_sequence((const unsigned char *)"A", 1), 1);
}

static void test_hex_lower_copy(void)
{
	char out[8];

	memset(out, 'x', sizeof(out));
	CU_ASSERT_TRUE(jitrd_hex_lower_copy("0aF9", 4, out));
	CU_ASSERT_STRING_EQUAL(out, "0af9");
	CU_ASSERT_TRUE(jitrd_hex_lower_copy("ABCDEF", 6, out));
	CU_ASSERT_STRING_EQUAL(out, "abcdef");
	CU_ASSERT_TRUE(jitrd_hex_lower_copy("", 0, out));
	CU_ASSERT_STRING_EQUAL(out, "");
	/* refused: out untouched */
	memset(out, 'x', sizeof(out));
	CU_ASSERT_FALSE(jitrd_hex_lower_copy("0aG9", 4, out));
	CU_ASSERT_FALSE(jitrd_hex_lower_copy("0a 9", 4, out));
	CU_ASSERT_FALSE(jitrd_hex_lower_copy("0a", 4, out)); /* stops at the NUL */
	CU_ASSERT_FALSE(jitrd_hex_lower_copy("0x12", 4, out));
	CU_ASSERT_FALSE(jitrd_hex_lower_copy(NULL, 4, out));
	CU_ASSERT_EQUAL(out[0], 'x');
	/* a check only */
	CU_ASSERT_TRUE(jitrd_hex_lower_copy("deadBEEF", 8, NULL));
	CU_ASSERT_FALSE(jitrd_hex_lower_copy("deadBEEG", 8, NULL));
}

static void test_hex_encode(void)
{
	static const unsigned char bytes[] = {0x00, 0x9f, 0xa0, 0xff};
	char out[9], small[4];

	jitrd_hex_encode(bytes, sizeof(bytes), out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "009fa0ff");
	jitrd_hex_encode(bytes, sizeof(bytes), small, sizeof(small)); /* whole bytes only */
	CU_ASSERT_STRING_EQUAL(small, "00");
	jitrd_hex_encode(bytes, 0, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "");
	small[0] = 'x';
	jitrd_hex_encode(bytes, sizeof(bytes), small, 0);
	CU_ASSERT_EQUAL(small[0], 'x');
}

static void test_rfc3339(void)
{
	char out[JITRD_RFC3339_SIZE], small[8];

	jitrd_format_rfc3339(JITRD_TEST_NOW, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "2030-06-01T00:00:00Z");
	jitrd_format_rfc3339(0, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "1970-01-01T00:00:00Z");
	jitrd_format_rfc3339((time_t)-1, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "1969-12-31T23:59:59Z");
	jitrd_format_rfc3339((time_t)253402300799, out, sizeof(out)); /* 9999-12-31T23:59:59 */
	CU_ASSERT_STRING_EQUAL(out, "9999-12-31T23:59:59Z");
	jitrd_format_rfc3339((time_t)253402300800, out, sizeof(out)); /* year 10000 */
	CU_ASSERT_STRING_EQUAL(out, "@253402300800");
	jitrd_format_rfc3339(JITRD_TEST_NOW, small, sizeof(small)); /* truncated, terminated */
	CU_ASSERT_STRING_EQUAL(small, "2030-06");

	CU_ASSERT_EQUAL(jitrd_format_rfc3339_ms(JITRD_TEST_NOW, 250, out, sizeof(out)), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(out, "2030-06-01T00:00:00.250Z");
	CU_ASSERT_EQUAL(jitrd_format_rfc3339_ms(JITRD_TEST_NOW, 0, out, sizeof(out)), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(out, "2030-06-01T00:00:00.000Z");
	memcpy(out, "keep", 5);
	CU_ASSERT_EQUAL(jitrd_format_rfc3339_ms(JITRD_TEST_NOW, 1000, out, sizeof(out)),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_format_rfc3339_ms(JITRD_TEST_NOW, -1, out, sizeof(out)),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_format_rfc3339_ms((time_t)253402300800, 0, out, sizeof(out)),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_format_rfc3339_ms(JITRD_TEST_NOW, 0, out, 24), /* no room for NUL */
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_format_rfc3339_ms(JITRD_TEST_NOW, 0, NULL, 32),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(out, "keep");
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"UTF-8 edge cases", test_utf8},
	    {"hex ids lowercased only when whole", test_hex_lower_copy},
	    {"hex encoding within its buffer", test_hex_encode},
	    {"RFC 3339 with and without milliseconds", test_rfc3339},
	    {NULL, NULL},
	};

	return tsupport_run("text", cases);
}
