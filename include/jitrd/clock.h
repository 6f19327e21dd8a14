/* clock.h — the one place jitrd reads the clocks and draws random bits (src/adapters/clock.c).
 * The pure core never calls these: it takes times as arguments (STYLE.md). */
#ifndef JITRD_CLOCK_H
#define JITRD_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "jitrd/error.h"

/* Milliseconds since the epoch (CLOCK_REALTIME): for what is stored or shown. */
int64_t jitrd_clock_wall_ms(void);
/* Milliseconds and nanoseconds of CLOCK_MONOTONIC: for deadlines and durations, which must
 * not jump when the wall clock is set. */
int64_t jitrd_clock_mono_ms(void);
int64_t jitrd_clock_mono_ns(void);
/* The CLOCK_MONOTONIC instant mono_ms as a timespec, for waits on condition variables made
 * with pthread_condattr_setclock(CLOCK_MONOTONIC) and for clock_nanosleep. */
struct timespec jitrd_clock_mono_at(int64_t mono_ms);
/* Initialises cond (caller-owned storage; pthread_cond_destroy when done) so that its timed
 * waits are measured on CLOCK_MONOTONIC: pass deadlines from jitrd_clock_mono_at, and a step
 * of the wall clock neither stretches nor cuts them. Errors: JITRD_ERR_NOMEM (the pthread
 * calls failed; cond is then not initialised). */
enum jitrd_err jitrd_clock_cond_init(pthread_cond_t *cond) JITRD_WUR;

/* CLOCK_REALTIME now plus ms, for pthread_cond_timedwait on a default condition variable. */
struct timespec jitrd_clock_wall_after(int64_t ms);

/* 64 random bits from OpenSSL's CSPRNG. Only for jitter and spreading, never for secrets:
 * should the CSPRNG fail, the bits come from the monotonic clock (the backoff then loses
 * its spread, and still works). */
uint64_t jitrd_random64(void);

#endif
