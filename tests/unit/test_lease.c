/* test_lease.c — unit tests of the reconcile lease's rules: who may take the lease (none yet,
 * ours, expired, garbled expiry, another's), its length, and the attribute values written,
 * with hostile expiries and host names. */
#include "jitrd/lease.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "testsupport.h"

#define NOW ((int64_t)1800000000)

static void test_decide(void)
{
	static const struct {
		const char *name;
		struct jitrd_lease_state state;
		enum jitrd_lease_action want;
	} cases[] = {
	    {"no Thing: create", {0, "", ""}, JITRD_LEASE_CREATE},
	    {"ours, unexpired: renew", {1, "a:1", "1800000100"}, JITRD_LEASE_TAKE},
	    {"ours, expired: renew", {1, "a:1", "1"}, JITRD_LEASE_TAKE},
	    {"another's, unexpired: wait", {1, "b:2", "1800000001"}, JITRD_LEASE_WAIT},
	    {"another's, ends now: take", {1, "b:2", "1800000000"}, JITRD_LEASE_TAKE},
	    {"another's, expired: take", {1, "b:2", "1799999999"}, JITRD_LEASE_TAKE},
	    {"Thing without attributes: take", {1, "", ""}, JITRD_LEASE_TAKE},
	    {"holder prefix is not ours", {1, "a:10", "1800000100"}, JITRD_LEASE_WAIT},
	    {"garbled expiry: take", {1, "b:2", "18e9"}, JITRD_LEASE_TAKE},
	    {"negative expiry: take", {1, "b:2", "-1800000100"}, JITRD_LEASE_TAKE},
	    {"spaced expiry: take", {1, "b:2", " 1800000100"}, JITRD_LEASE_TAKE},
	    {"16-digit expiry: take", {1, "b:2", "1800000100000000"}, JITRD_LEASE_TAKE},
	    {"15-digit expiry: far away", {1, "b:2", "999999999999999"}, JITRD_LEASE_WAIT},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum jitrd_lease_action got = jitrd_lease_decide(&cases[i].state, "a:1", NOW);
		if (got != cases[i].want)
			fprintf(stderr, "%s: got %d want %d\n", cases[i].name, (int)got,
			        (int)cases[i].want);
		CU_ASSERT_EQUAL(got, cases[i].want);
	}
	CU_ASSERT_EQUAL(jitrd_lease_decide(NULL, "a:1", NOW), JITRD_LEASE_CREATE);
	/* NULL strings are absent attributes, not a crash */
	struct jitrd_lease_state bare = {1, NULL, NULL};
	CU_ASSERT_EQUAL(jitrd_lease_decide(&bare, "a:1", NOW), JITRD_LEASE_TAKE);
	struct jitrd_lease_state held = {1, "b:2", "1800000100"};
	CU_ASSERT_EQUAL(jitrd_lease_decide(&held, NULL, NOW), JITRD_LEASE_WAIT);
}

static void test_parse_expires(void)
{
	static const char *const bad[] = {
	    "", "-1", "+1", "1 ", "0x10", "1.5", "1e9", "1234567890123456", "１"};
	int64_t v = 42;

	CU_ASSERT_EQUAL(jitrd_lease_parse_expires("0", &v), JITRD_OK);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(jitrd_lease_parse_expires("123456789012345", &v), JITRD_OK);
	CU_ASSERT_EQUAL(v, 123456789012345LL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 42;
		CU_ASSERT_EQUAL(jitrd_lease_parse_expires(bad[i], &v), JITRD_ERR_MALFORMED);
		CU_ASSERT_EQUAL(v, 42);
	}
	CU_ASSERT_EQUAL(jitrd_lease_parse_expires(NULL, &v), JITRD_ERR_MALFORMED);
	CU_ASSERT_EQUAL(jitrd_lease_parse_expires("1", NULL), JITRD_ERR_MALFORMED);
}

static void test_seconds_and_expires(void)
{
	char out[JITRD_LEASE_MAX_EXPIRES] = "untouched";
	int64_t back = 0;

	CU_ASSERT_EQUAL(jitrd_lease_seconds(3600), 7200 + JITRD_LEASE_GRACE_SECONDS);
	CU_ASSERT_EQUAL(jitrd_lease_seconds(2), 4 + JITRD_LEASE_GRACE_SECONDS);
	CU_ASSERT_EQUAL(jitrd_lease_seconds(0), JITRD_LEASE_STARTUP_SECONDS);
	CU_ASSERT_EQUAL(jitrd_lease_seconds(-5), JITRD_LEASE_STARTUP_SECONDS);
	CU_ASSERT_EQUAL(jitrd_lease_expires(NOW, 3600, out, sizeof(out)), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(out, "1800007260");
	/* what is written reads back, and another host waits for it */
	CU_ASSERT_EQUAL(jitrd_lease_parse_expires(out, &back), JITRD_OK);
	CU_ASSERT_EQUAL(back, NOW + jitrd_lease_seconds(3600));
	struct jitrd_lease_state written = {1, "a:1", out};
	CU_ASSERT_EQUAL(jitrd_lease_decide(&written, "b:2", NOW + 7259), JITRD_LEASE_WAIT);
	CU_ASSERT_EQUAL(jitrd_lease_decide(&written, "b:2", NOW + 7260), JITRD_LEASE_TAKE);

	snprintf(out, sizeof(out), "untouched");
	CU_ASSERT_EQUAL(jitrd_lease_expires(-1, 10, out, sizeof(out)), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_lease_expires(253402300800LL, 10, out, sizeof(out)),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_lease_expires(NOW, 10, out, JITRD_LEASE_MAX_EXPIRES - 1),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_lease_expires(NOW, 10, NULL, 64), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(out, "untouched");
}

static void test_holder(void)
{
	char out[JITRD_LEASE_MAX_HOLDER];
	char long_host[400];

	CU_ASSERT_EQUAL(jitrd_lease_holder("ip-10-0-0-7.ec2.internal", 4242, out, sizeof(out)),
	                JITRD_OK);
	CU_ASSERT_STRING_EQUAL(out, "ip-10-0-0-7.ec2.internal:4242");
	/* characters outside AWS's attribute value pattern become '_' */
	CU_ASSERT_EQUAL(jitrd_lease_holder("h\xc3\xa9 st\"x{}", 1, out, sizeof(out)), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(out, "h___st_x__:1");
	CU_ASSERT_EQUAL(jitrd_lease_holder("", 7, out, sizeof(out)), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(out, "host:7");
	memset(long_host, 'a', sizeof(long_host) - 1);
	long_host[sizeof(long_host) - 1] = '\0';
	CU_ASSERT_EQUAL(jitrd_lease_holder(long_host, 2147483647L, out, sizeof(out)), JITRD_OK);
	CU_ASSERT_EQUAL(strlen(out), 128 + 1 + 10);

	snprintf(out, sizeof(out), "untouched");
	CU_ASSERT_EQUAL(jitrd_lease_holder(NULL, 1, out, sizeof(out)), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_lease_holder("h", -1, out, sizeof(out)), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_lease_holder("h", 1, out, JITRD_LEASE_MAX_HOLDER - 1),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(out, "untouched");
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"decide", test_decide},
	    {"parse expires", test_parse_expires},
	    {"seconds and expires", test_seconds_and_expires},
	    {"holder", test_holder},
	    {NULL, NULL},
	};
	return tsupport_run("lease", cases);
}
