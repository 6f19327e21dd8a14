/* test_clock.c — the clock module: the clocks move forward and agree with the kernel's, the
 * timespec conversions round-trip, and random bits differ between draws. */
#include "jitrd/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "testsupport.h"

static void test_clocks_agree_with_kernel(void)
{
	struct timespec ts;
	int64_t wall = jitrd_clock_wall_ms();
	int64_t mono = jitrd_clock_mono_ms();
	int64_t mono_ns = jitrd_clock_mono_ns();

	CU_ASSERT_EQUAL(clock_gettime(CLOCK_REALTIME, &ts), 0);
	CU_ASSERT(llabs((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - wall) < 1000);
	CU_ASSERT_EQUAL(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	CU_ASSERT(llabs((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - mono) < 1000);
	CU_ASSERT(llabs(mono_ns / 1000000 - mono) < 1000);
	/* monotonic: never backwards */
	CU_ASSERT(jitrd_clock_mono_ns() >= mono_ns);
	CU_ASSERT(jitrd_clock_mono_ms() >= mono);
}

static void test_timespecs(void)
{
	struct timespec at = jitrd_clock_mono_at(12345);
	struct timespec later = jitrd_clock_wall_after(1500);
	int64_t later_ms = (int64_t)later.tv_sec * 1000 + later.tv_nsec / 1000000;
	int64_t now = jitrd_clock_wall_ms();

	CU_ASSERT_EQUAL(at.tv_sec, 12);
	CU_ASSERT_EQUAL(at.tv_nsec, 345000000L);
	CU_ASSERT(later.tv_nsec >= 0 && later.tv_nsec < 1000000000L);
	CU_ASSERT(later_ms - now > 1000 && later_ms - now <= 1500);
}

/* A condition variable of jitrd_clock_cond_init waits until a jitrd_clock_mono_at deadline:
 * not at once (as a realtime one given a monotonic deadline would), and not far beyond. */
static void test_cond_waits_on_monotonic(void)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond;
	int64_t start, waited;
	struct timespec deadline;
	int rc;

	CU_ASSERT_EQUAL_FATAL(jitrd_clock_cond_init(&cond), JITRD_OK);
	start = jitrd_clock_mono_ms();
	deadline = jitrd_clock_mono_at(start + 200);
	CU_ASSERT_EQUAL(pthread_mutex_lock(&lock), 0);
	do
		rc = pthread_cond_timedwait(&cond, &lock, &deadline);
	while (rc == 0); /* spurious wake-ups */
	CU_ASSERT_EQUAL(pthread_mutex_unlock(&lock), 0);
	waited = jitrd_clock_mono_ms() - start;
	CU_ASSERT_EQUAL(rc, ETIMEDOUT);
	CU_ASSERT(waited >= 190 && waited < 5000);
	CU_ASSERT_EQUAL(pthread_cond_destroy(&cond), 0);
}

static void test_random_bits_differ(void)
{
	uint64_t first = jitrd_random64();
	int same = 0;

	for (int i = 0; i < 8; i++)
		same += jitrd_random64() == first;
	CU_ASSERT_EQUAL(same, 0);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"the clocks agree with the kernel's", test_clocks_agree_with_kernel},
	    {"timespec conversions", test_timespecs},
	    {"condition variables wait on the monotonic clock", test_cond_waits_on_monotonic},
	    {"random bits differ between draws", test_random_bits_differ},
	    {NULL, NULL},
	};

	return tsupport_run("clock", cases);
}
