/* test_backoff.c — unit tests of the full-jitter backoff: the window doubles up to the cap,
 * the delay stays inside it for any random bits, and no wait reaches the deadline or exceeds
 * the attempt budget. Every refusal also checks that the output was left untouched. */
#include "jitrd/backoff.h"

#include <stdint.h>

#include "testsupport.h"

#define UNTOUCHED ((int64_t)-12345)

static const struct jitrd_backoff_policy policy = {
    .base_ms = 100, .cap_ms = 1000, .max_attempts = 5};

static void test_default_policy(void)
{
	struct jitrd_backoff_policy p;

	jitrd_backoff_policy_default(&p);
	CU_ASSERT_EQUAL(p.base_ms, 50);
	CU_ASSERT_EQUAL(p.cap_ms, 5000);
	CU_ASSERT_EQUAL(p.max_attempts, 8);
}

/* The largest random value gives the top of the window: base * 2^retry, capped. */
static void test_window_doubles_to_cap(void)
{
	static const struct {
		unsigned retry;
		int64_t window;
	} cases[] = {{0, 100},  {1, 200},   {2, 400},   {3, 800},        {4, 1000},
	             {5, 1000}, {63, 1000}, {64, 1000}, {1000000, 1000}, {UINT32_MAX, 1000}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* random % (window + 1) == window when random == window */
		CU_ASSERT_EQUAL(
		    jitrd_backoff_delay_ms(&policy, cases[i].retry, (uint64_t)cases[i].window),
		    cases[i].window);
		CU_ASSERT_EQUAL(jitrd_backoff_delay_ms(&policy, cases[i].retry, 0), 0);
		CU_ASSERT_EQUAL(
		    jitrd_backoff_delay_ms(&policy, cases[i].retry, (uint64_t)cases[i].window + 1),
		    0);
	}
}

/* Full jitter: every delay within [0, window] whatever the bits, and the spread covers it. */
static void test_delay_within_window(void)
{
	uint64_t x = 88172645463325252ULL; /* xorshift64 */
	int64_t lowest = INT64_MAX, highest = -1;

	for (int i = 0; i < 10000; i++) {
		int64_t d;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		d = jitrd_backoff_delay_ms(&policy, 2, x);
		CU_ASSERT(d >= 0 && d <= 400);
		if (d < lowest)
			lowest = d;
		if (d > highest)
			highest = d;
	}
	CU_ASSERT(lowest < 20);
	CU_ASSERT(highest > 380);
	CU_ASSERT(jitrd_backoff_delay_ms(&policy, 2, UINT64_MAX) <= 400);
}

static void test_huge_cap_no_overflow(void)
{
	struct jitrd_backoff_policy p = {.base_ms = 1, .cap_ms = INT64_MAX / 2, .max_attempts = 3};

	CU_ASSERT(jitrd_backoff_delay_ms(&p, 200, UINT64_MAX) >= 0);
	CU_ASSERT(jitrd_backoff_delay_ms(&p, 200, UINT64_MAX) <= INT64_MAX / 2);
}

static void test_invalid_policy(void)
{
	static const struct jitrd_backoff_policy bad[] = {
	    {.base_ms = 0, .cap_ms = 10, .max_attempts = 3},
	    {.base_ms = -5, .cap_ms = 10, .max_attempts = 3},
	    {.base_ms = 20, .cap_ms = 10, .max_attempts = 3},
	    {.base_ms = 10, .cap_ms = 10, .max_attempts = 0},
	};
	int64_t delay = UNTOUCHED;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(jitrd_backoff_delay_ms(&bad[i], 0, 7), -1);
		CU_ASSERT_EQUAL(jitrd_backoff_next(&bad[i], 1, 7, 0, 100000, &delay),
		                JITRD_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(delay, UNTOUCHED);
	}
	CU_ASSERT_EQUAL(jitrd_backoff_delay_ms(NULL, 0, 7), -1);
	CU_ASSERT_EQUAL(jitrd_backoff_next(NULL, 1, 7, 0, 100000, &delay), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_backoff_next(&policy, 0, 7, 0, 100000, &delay),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_backoff_next(&policy, 1, 7, 0, 100000, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(delay, UNTOUCHED);
}

/* Table: attempts made, random bits, now, deadline -> result and delay. */
static void test_next_table(void)
{
	static const struct {
		unsigned attempts;
		uint64_t bits;
		int64_t now, deadline;
		enum jitrd_err want;
		int64_t delay;
	} cases[] = {
	    {1, 100, 0, 10000, JITRD_OK, 100},        /* retry 0: window 100 */
	    {2, 150, 0, 10000, JITRD_OK, 150},        /* retry 1: window 200 */
	    {4, 800, 5000, 10000, JITRD_OK, 800},     /* retry 3: window 800 */
	    {4, 801, 5000, 10000, JITRD_OK, 0},       /* 801 % 801 */
	    {5, 0, 0, 10000, JITRD_ERR_THROTTLED, 0}, /* budget of 5 used */
	    {9, 0, 0, 10000, JITRD_ERR_THROTTLED, 0},
	    {1, 100, 9900, 10000, JITRD_ERR_DEADLINE, 0}, /* would start at the deadline */
	    {1, 99, 9900, 10000, JITRD_OK, 99},           /* starts 1 ms before it */
	    {1, 0, 10000, 10000, JITRD_ERR_DEADLINE, 0},  /* deadline already here */
	    {1, 0, 20000, 10000, JITRD_ERR_DEADLINE, 0},  /* and past */
	    {3, 400, -5000, -4000, JITRD_OK, 400},        /* negative clock values are fine */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t delay = UNTOUCHED;
		enum jitrd_err err = jitrd_backoff_next(&policy, cases[i].attempts, cases[i].bits,
		                                        cases[i].now, cases[i].deadline, &delay);

		CU_ASSERT_EQUAL(err, cases[i].want);
		if (cases[i].want == JITRD_OK) {
			CU_ASSERT_EQUAL(delay, cases[i].delay);
			CU_ASSERT(cases[i].now + delay < cases[i].deadline);
		} else {
			CU_ASSERT_EQUAL(delay, UNTOUCHED);
		}
	}
}

/* Whatever the bits, a granted wait ends before the deadline and total attempts are bounded. */
static void test_loop_bounded(void)
{
	uint64_t x = 2463534242ULL;
	int64_t now = 0;
	unsigned attempts = 0;
	enum jitrd_err err;

	for (;;) {
		int64_t delay;

		attempts++;
		now += 10; /* the attempt itself */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		err = jitrd_backoff_next(&policy, attempts, x, now, 3000, &delay);
		if (err != JITRD_OK)
			break;
		CU_ASSERT(now + delay < 3000);
		now += delay;
	}
	CU_ASSERT(err == JITRD_ERR_THROTTLED || err == JITRD_ERR_DEADLINE);
	CU_ASSERT(attempts <= policy.max_attempts);
	CU_ASSERT(now <= 3000);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"default policy", test_default_policy},
	    {"window doubles up to the cap", test_window_doubles_to_cap},
	    {"delay within the window", test_delay_within_window},
	    {"huge cap does not overflow", test_huge_cap_no_overflow},
	    {"invalid policy refused", test_invalid_policy},
	    {"next: attempts and deadline table", test_next_table},
	    {"retry loop bounded", test_loop_bounded},
	    {NULL, NULL},
	};
	return tsupport_run("backoff", cases);
}
