/* clock.c — the clocks and random bits (see clock.h). */
#include "jitrd/clock.h"

#include <openssl/rand.h>

static int64_t read_ns(clockid_t id)
{
	struct timespec ts;

	/* clock_gettime fails only for an unknown clock id (EINVAL); these two always exist. */
	(void)clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t jitrd_clock_wall_ms(void)
{
	return read_ns(CLOCK_REALTIME) / 1000000;
}

int64_t jitrd_clock_mono_ms(void)
{
	return read_ns(CLOCK_MONOTONIC) / 1000000;
}

int64_t jitrd_clock_mono_ns(void)
{
	return read_ns(CLOCK_MONOTONIC);
}

static struct timespec timespec_of_ns(int64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000),
	                      .tv_nsec = (long)(ns % 1000000000)};
	return ts;
}

struct timespec jitrd_clock_mono_at(int64_t mono_ms)
{
	return timespec_of_ns(mono_ms * 1000000);
}

enum jitrd_err jitrd_clock_cond_init(pthread_cond_t *cond)
{
	enum jitrd_err result = JITRD_ERR_NOMEM;
	pthread_condattr_t attr;

	if (pthread_condattr_init(&attr) != 0)
		return JITRD_ERR_NOMEM;
	if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(cond, &attr) != 0)
		goto cleanup;
	result = JITRD_OK;
cleanup:
	pthread_condattr_destroy(&attr);
	return result;
}

struct timespec jitrd_clock_wall_after(int64_t ms)
{
	return timespec_of_ns(read_ns(CLOCK_REALTIME) + ms * 1000000);
}

uint64_t jitrd_random64(void)
{
	uint64_t bits = 0;

	if (RAND_bytes((unsigned char *)&bits, (int)sizeof(bits)) != 1)
		bits =
		    (uint64_t)read_ns(CLOCK_MONOTONIC) * 0x9e3779b97f4a7c15ULL; /* still spreads */
	return bits;
}
