/* backoff.h — capped exponential backoff with full jitter (DESIGN §3), deadline-aware.
 * Pure: the random bits and the current time are inputs; no clock, no sleeping, no I/O. */
#ifndef JITRD_BACKOFF_H
#define JITRD_BACKOFF_H

#include <stdint.h>

#include "jitrd/error.h"

struct jitrd_backoff_policy {
	int64_t base_ms;       /* first window: random(0, base_ms); >= 1 */
	int64_t cap_ms;        /* no window is wider than this; >= base_ms */
	unsigned max_attempts; /* attempts in all, the first included; >= 1 */
};

/* Defaults used by the AWS client: base 50 ms, cap 5 s, 8 attempts. */
void jitrd_backoff_policy_default(struct jitrd_backoff_policy *policy);

/* The full-jitter delay before retry number retry (0 = the wait after the first failed
 * attempt): a value in [0, min(cap_ms, base_ms * 2^retry)], drawn from random_bits (the
 * caller's random source; the whole 64 bits are used). Returns -1 for an invalid policy. */
int64_t jitrd_backoff_delay_ms(const struct jitrd_backoff_policy *policy, unsigned retry,
                               uint64_t random_bits);

/* Decides whether another attempt may follow attempt number attempts_done (1 = one attempt
 * made) and how long to wait first. now_ms and deadline_ms are on the same monotonic clock.
 * On JITRD_OK *delay_ms is the wait, and now_ms + *delay_ms < deadline_ms: the caller never
 * sleeps past its deadline. Errors (and *delay_ms untouched): JITRD_ERR_THROTTLED when the
 * policy's attempts are used up, JITRD_ERR_DEADLINE when the wait would reach the deadline,
 * JITRD_ERR_INVALID_ARG for an invalid policy or attempts_done == 0. */
enum jitrd_err jitrd_backoff_next(const struct jitrd_backoff_policy *policy, unsigned attempts_done,
                                  uint64_t random_bits, int64_t now_ms, int64_t deadline_ms,
                                  int64_t *delay_ms) JITRD_WUR;

#endif
