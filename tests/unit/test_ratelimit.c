/* test_ratelimit.c — unit tests of the token buckets: burst, refill, waits handed out in
 * order, the max-wait refusal (nothing reserved), unlimited buckets, a clock going back, bad
 * rates, and the shared limiter under threads (no token handed out twice). */
#include "jitrd/ratelimit.h"

#include <pthread.h>
#include <stdint.h>

#include "testsupport.h"

#define MS        1000000LL
#define S         1000000000LL
#define UNTOUCHED ((int64_t)-777)

static void test_burst_then_wait(void)
{
	struct jitrd_token_bucket b;
	int64_t wait = UNTOUCHED;

	CU_ASSERT_EQUAL_FATAL(jitrd_token_bucket_init(&b, 10, 10, 0), JITRD_OK);
	for (int i = 0; i < 10; i++) {
		wait = UNTOUCHED;
		CU_ASSERT_EQUAL(jitrd_token_bucket_reserve(&b, 0, 0, &wait), JITRD_OK);
		CU_ASSERT_EQUAL(wait, 0);
	}
	/* The 11th within the same instant waits 100 ms (1 token at 10/s), the 12th 200 ms. */
	CU_ASSERT_EQUAL(jitrd_token_bucket_reserve(&b, 0, S, &wait), JITRD_OK);
	CU_ASSERT_EQUAL(wait, 100 * MS);
	CU_ASSERT_EQUAL(jitrd_token_bucket_reserve(&b, 0, S, &wait), JITRD_OK);
	CU_ASSERT_EQUAL(wait, 200 * MS);
	/* 150 ms later: the first reservation is served, the next waits 300 - 150 + ... */
	CU_ASSERT_EQUAL(jitrd_token_bucket_reserve(&b, 150 * MS, S, &wait), JITRD_OK);
	CU_ASSERT_EQUAL(wait, 150 * MS);
}

static void test_refill_capped_at_burst(void)
{
	struct jitrd_token_bucket b;
	int64_t wait = UNTOUCHED;
	int granted = 0;

	CU_ASSERT_EQUAL_FATAL(jitrd_token_bucket_init(&b, 2, 2, 0), JITRD_OK);
	/* An hour idle refills to the burst of 2, not 7200. */
	while (jitrd_token_bucket_reserve(&b, 3600 * S, 0, &wait) == JITRD_OK)
		granted++;
	CU_ASSERT_EQUAL(granted, 2);
}

static void test_max_wait_refusal_reserves_nothing(void)
{
	struct jitrd_token_bucket b;
	int64_t wait = UNTOUCHED;

	CU_ASSERT_EQUAL_FATAL(jitrd_token_bucket_init(&b, 1, 1, 0), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_token_bucket_reserve(&b, 0, 0, &wait), JITRD_OK);
	wait = UNTOUCHED;
	CU_ASSERT_EQUAL(jitrd_token_bucket_reserve(&b, 0, 999 * MS, &wait), JITRD_ERR_DEADLINE);
	CU_ASSERT_EQUAL(wait, UNTOUCHED);
	CU_ASSERT_EQUAL(jitrd_token_bucket_reserve(&b, 0, 999 * MS, &wait), JITRD_ERR_DEADLINE);
	/* The refusals took nothing: exactly one second is still enough. */
	CU_ASSERT_EQUAL(jitrd_token_bucket_reserve(&b, 0, S, &wait), JITRD_OK);
	CU_ASSERT_EQUAL(wait, S);
}

static void test_unlimited(void)
{
	struct jitrd_token_bucket b;
	int64_t wait = UNTOUCHED;

	CU_ASSERT_EQUAL_FATAL(jitrd_token_bucket_init(&b, 0, 0, 0), JITRD_OK);
	for (int i = 0; i < 100000; i++) {
		if (jitrd_token_bucket_reserve(&b, 0, 0, &wait) != JITRD_OK || wait != 0) {
			CU_FAIL("unlimited bucket made a caller wait");
			break;
		}
	}
}

static void test_clock_backwards(void)
{
	struct jitrd_token_bucket b;
	int64_t wait = UNTOUCHED;

	CU_ASSERT_EQUAL_FATAL(jitrd_token_bucket_init(&b, 1, 1, 10 * S), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_token_bucket_reserve(&b, 10 * S, 0, &wait), JITRD_OK);
	/* Going back 5 s neither refills nor underflows: the wait stays one second. */
	CU_ASSERT_EQUAL(jitrd_token_bucket_reserve(&b, 5 * S, 10 * S, &wait), JITRD_OK);
	CU_ASSERT_EQUAL(wait, S);
}

static void test_bad_rates(void)
{
	static const struct {
		double rate, burst;
	} bad[] = {{-1, 1},        {1, 0},         {1, 0.5},      {2e6, 10},
	           {1.0 / 0.0, 1}, {0.0 / 0.0, 1}, {1, 1.0 / 0.0}};
	struct jitrd_token_bucket b = {.rate = 42};
	struct jitrd_ratelimit *rl = (struct jitrd_ratelimit *)&b;
	double rates[2] = {10, -3};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(jitrd_token_bucket_init(&b, bad[i].rate, bad[i].burst, 0),
		                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(b.rate, 42);
	CU_ASSERT_EQUAL(jitrd_ratelimit_new(rates, 2, 0, &rl), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_ratelimit_new(rates, 0, 0, &rl), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_ratelimit_new(NULL, 1, 0, &rl), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_ratelimit_new(rates, JITRD_RATELIMIT_MAX_BUCKETS + 1, 0, &rl),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_PTR_EQUAL(rl, (struct jitrd_ratelimit *)&b);
	jitrd_ratelimit_free(NULL);
}

static void test_limiter_per_index(void)
{
	double rates[3] = {1, 0, 5};
	struct jitrd_ratelimit *rl = NULL;
	int64_t wait = UNTOUCHED;

	CU_ASSERT_EQUAL_FATAL(jitrd_ratelimit_new(rates, 3, 0, &rl), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_ratelimit_acquire(rl, 0, 0, S, &wait), JITRD_OK);
	CU_ASSERT_EQUAL(wait, 0);
	CU_ASSERT_EQUAL(jitrd_ratelimit_acquire(rl, 0, 0, S, &wait), JITRD_OK);
	CU_ASSERT_EQUAL(wait, S);
	/* Bucket 2 is independent of bucket 0: a burst of 5. */
	for (int i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(jitrd_ratelimit_acquire(rl, 2, 0, 0, &wait), JITRD_OK);
		CU_ASSERT_EQUAL(wait, 0);
	}
	CU_ASSERT_EQUAL(jitrd_ratelimit_acquire(rl, 2, 0, 0, &wait), JITRD_ERR_DEADLINE);
	CU_ASSERT_EQUAL(jitrd_ratelimit_acquire(rl, 1, 0, 0, &wait), JITRD_OK);
	wait = UNTOUCHED;
	CU_ASSERT_EQUAL(jitrd_ratelimit_acquire(rl, 3, 0, S, &wait), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(wait, UNTOUCHED);
	jitrd_ratelimit_free(rl);
}

struct racer {
	struct jitrd_ratelimit *rl;
	int immediate; /* tokens granted with no wait */
	int64_t max_wait;
};

static void *race(void *arg)
{
	struct racer *r = arg;

	for (int i = 0; i < 2000; i++) {
		int64_t wait;

		if (jitrd_ratelimit_acquire(r->rl, 0, 0, 1000 * S, &wait) != JITRD_OK)
			continue;
		if (wait == 0)
			r->immediate++;
		if (wait > r->max_wait)
			r->max_wait = wait;
	}
	return NULL;
}

/* 4 threads x 2000 reservations at one instant against 100/s, burst 100: exactly 100 free
 * tokens, and the last reservation waits (8000 - 100) / 100 s. */
static void test_limiter_threads(void)
{
	double rate = 100;
	struct jitrd_ratelimit *rl = NULL;
	struct racer racers[4] = {{0}};
	pthread_t threads[4];
	int immediate = 0;
	int64_t max_wait = 0;

	CU_ASSERT_EQUAL_FATAL(jitrd_ratelimit_new(&rate, 1, 0, &rl), JITRD_OK);
	for (int i = 0; i < 4; i++) {
		racers[i].rl = rl;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		immediate += racers[i].immediate;
		if (racers[i].max_wait > max_wait)
			max_wait = racers[i].max_wait;
	}
	CU_ASSERT_EQUAL(immediate, 100);
	CU_ASSERT(max_wait >= 79 * S - MS && max_wait <= 79 * S + MS);
	jitrd_ratelimit_free(rl);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"burst then wait", test_burst_then_wait},
	    {"refill capped at burst", test_refill_capped_at_burst},
	    {"max-wait refusal reserves nothing", test_max_wait_refusal_reserves_nothing},
	    {"unlimited bucket", test_unlimited},
	    {"clock going backwards", test_clock_backwards},
	    {"bad rates refused", test_bad_rates},
	    {"limiter buckets per index", test_limiter_per_index},
	    {"limiter shared by threads", test_limiter_threads},
	    {NULL, NULL},
	};
	return tsupport_run("ratelimit", cases);
}
