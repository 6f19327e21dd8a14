/* backoff.c — capped exponential backoff with full jitter ("delay = random(0, min(cap,
 * base * 2^n))", as the AWS architecture blog describes it), never past a deadline.
 * Pure: the caller passes random bits and the time; nothing here sleeps or reads a clock. */
#include "jitrd/backoff.h"

#include <stddef.h>

void jitrd_backoff_policy_default(struct jitrd_backoff_policy *policy)
{
	policy->base_ms = 50;
	policy->cap_ms = 5000;
	policy->max_attempts = 8;
}

static int policy_valid(const struct jitrd_backoff_policy *policy)
{
	return policy && policy->base_ms >= 1 && policy->cap_ms >= policy->base_ms &&
	       policy->max_attempts >= 1;
}

int64_t jitrd_backoff_delay_ms(const struct jitrd_backoff_policy *policy, unsigned retry,
                               uint64_t random_bits)
{
	int64_t window;

	if (!policy_valid(policy))
		return -1;
	/* Double until the cap; stopping early keeps base * 2^retry from overflowing. */
	window = policy->base_ms;
	for (unsigned i = 0; i < retry && window < policy->cap_ms; i++)
		window *= 2;
	if (window > policy->cap_ms)
		window = policy->cap_ms;
	/* Uniform in [0, window]: window + 1 values. The modulo bias is below 2^-40 for any
	 * window a retry loop uses, which does not matter for spreading clients apart. */
	return (int64_t)(random_bits % ((uint64_t)window + 1));
}

enum jitrd_err jitrd_backoff_next(const struct jitrd_backoff_policy *policy, unsigned attempts_done,
                                  uint64_t random_bits, int64_t now_ms, int64_t deadline_ms,
                                  int64_t *delay_ms)
{
	int64_t delay;

	if (!policy_valid(policy) || attempts_done == 0 || !delay_ms)
		return JITRD_ERR_INVALID_ARG;
	if (attempts_done >= policy->max_attempts)
		return JITRD_ERR_THROTTLED;
	if (now_ms >= deadline_ms)
		return JITRD_ERR_DEADLINE;
	delay = jitrd_backoff_delay_ms(policy, attempts_done - 1, random_bits);
	/* An attempt that would start at or after the deadline cannot succeed in time. */
	if (delay >= deadline_ms - now_ms)
		return JITRD_ERR_DEADLINE;
	*delay_ms = delay;
	return JITRD_OK;
}
