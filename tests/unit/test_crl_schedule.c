/* test_crl_schedule.c — unit tests of the CRL fetch schedule with given times: due at once
 * before the first attempt, 80% of thisUpdate -> nextUpdate, the configured interval, the
 * nextUpdate itself, the minimum interval against a stale CA, and capped jittered retries
 * that never go past the regular schedule. */
#include "jitrd/crl_schedule.h"

#include <stdint.h>
#include <stdio.h>

#include "testsupport.h"

#define T0 ((time_t)1800000000)

static void test_table(void)
{
	static const struct {
		const char *name;
		struct jitrd_crl_schedule_input in;
		time_t want;
	} cases[] = {
	    {"never tried: at once", {0, 0, 0, 0, 0, 3600, 0}, 0},
	    /* 10 h CRL fetched at T0 with its thisUpdate at T0: 80% = 8 h, interval 24 h */
	    {"80% of the interval", {T0, T0, 0, T0, T0 + 36000, 86400, 0}, T0 + 28800},
	    {"refresh_seconds first", {T0, T0, 0, T0, T0 + 36000, 600, 0}, T0 + 600},
	    /* a CRL already 90% through: 80% point is past, floor is the minimum interval */
	    {"past 80%: minimum interval", {T0, T0, 0, T0 - 9000, T0 + 1000, 3600, 0}, T0 + 30},
	    {"stale CRL: no fetch loop", {T0, T0, 0, T0 - 9000, T0 - 10, 3600, 0}, T0 + 30},
	    {"small refresh: its own floor", {T0, T0, 0, T0 - 9000, T0 - 10, 5, 0}, T0 + 5},
	    {"no nextUpdate: interval", {T0, T0, 0, T0, 0, 3600, 0}, T0 + 3600},
	    {"no CRL held, ok: interval", {T0, T0, 0, 0, 0, 900, 0}, T0 + 900},
	    /* failures: random 0 still waits 1 s */
	    {"failure, jitter 0: 1 s", {T0 + 100, T0, 1, T0, T0 + 36000, 86400, 0}, T0 + 101},
	    /* random bits equal to the window draw its top (bits % (window + 1)): 2 s for the
	     * first retry, doubling, 300 s at the cap */
	    {"failure 1, top of window", {T0 + 100, T0, 1, T0, T0 + 36000, 86400, 2000}, T0 + 102},
	    {"failure 3, top of window", {T0 + 100, T0, 3, T0, T0 + 36000, 86400, 8000}, T0 + 108},
	    {"failure 20, capped at 300 s",
	     {T0 + 100, T0, 20, T0, T0 + 36000, 86400, 300000},
	     T0 + 400},
	    /* the regular schedule (T0 + 600) comes before the backoff (T0 + 550 + 300) */
	    {"retry never later than schedule",
	     {T0 + 550, T0, 20, T0, T0 + 36000, 600, 300000},
	     T0 + 600},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		time_t got = jitrd_crl_schedule_next(&cases[i].in);
		if (got != cases[i].want)
			fprintf(stderr, "%s: got %lld want %lld\n", cases[i].name,
			        (long long)(got - T0), (long long)(cases[i].want - T0));
		CU_ASSERT_EQUAL(got, cases[i].want);
	}
}

/* Whatever the random bits, a retry is 1 s..300 s after the attempt. */
static void test_retry_bounds(void)
{
	uint64_t bits = 0x9e3779b97f4a7c15ULL;

	for (unsigned failures = 1; failures < 40; failures++) {
		for (int k = 0; k < 50; k++) {
			struct jitrd_crl_schedule_input in = {T0, T0 - 10, failures, 0,
			                                      0,  604800,  bits};
			time_t got = jitrd_crl_schedule_next(&in);
			CU_ASSERT(got >= T0 + 1 && got <= T0 + JITRD_CRL_RETRY_CAP_SECONDS);
			bits = bits * 6364136223846793005ULL + 1442695040888963407ULL;
		}
	}
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"schedule table", test_table},
	    {"retry bounds", test_retry_bounds},
	    {NULL, NULL},
	};
	return tsupport_run("crl_schedule", cases);
}
