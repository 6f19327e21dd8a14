/* ratelimit.c — token buckets per operation, shared by all workers behind one small mutex.
 * Pure apart from that lock: no clock (now is passed in), no sleeping, no I/O, no logging. */
#include "jitrd/ratelimit.h"

#include <math.h> /* isfinite, a macro: no libm needed */
#include <pthread.h>
#include <stdlib.h>

#define NS_PER_S 1000000000.0

enum jitrd_err jitrd_token_bucket_init(struct jitrd_token_bucket *bucket, double rate, double burst,
                                       int64_t now_ns)
{
	if (!bucket || !isfinite(rate) || !isfinite(burst) || rate < 0 ||
	    rate > JITRD_RATELIMIT_MAX_RATE || (rate > 0 && (burst < 1 || burst > 1e9)))
		return JITRD_ERR_INVALID_ARG;
	bucket->rate = rate;
	bucket->burst = rate > 0 ? burst : 0;
	bucket->tokens = bucket->burst;
	bucket->last_ns = now_ns;
	return JITRD_OK;
}

enum jitrd_err jitrd_token_bucket_reserve(struct jitrd_token_bucket *bucket, int64_t now_ns,
                                          int64_t max_wait_ns, int64_t *wait_ns)
{
	double tokens;
	double wait;
	int64_t wait_whole;

	if (!bucket || !wait_ns)
		return JITRD_ERR_INVALID_ARG;
	if (bucket->rate == 0) {
		*wait_ns = 0;
		return JITRD_OK;
	}
	tokens = bucket->tokens;
	if (now_ns > bucket->last_ns) {
		tokens += (double)(now_ns - bucket->last_ns) / NS_PER_S * bucket->rate;
		if (tokens > bucket->burst)
			tokens = bucket->burst;
	} else {
		now_ns = bucket->last_ns; /* the clock went back: no time passed */
	}
	/* Taking the token leaves tokens - 1; below zero the caller waits until the bucket
	 * would have refilled to zero, which serves reservations in the order taken. */
	wait = tokens >= 1 ? 0 : (1 - tokens) / bucket->rate * NS_PER_S;
	if (wait > (double)max_wait_ns)
		return JITRD_ERR_DEADLINE;
	wait_whole = (int64_t)wait;
	if ((double)wait_whole < wait)
		wait_whole++; /* round up: never hand out a token before it exists */
	bucket->tokens = tokens - 1;
	bucket->last_ns = now_ns;
	*wait_ns = wait_whole;
	return JITRD_OK;
}

struct jitrd_ratelimit {
	pthread_mutex_t lock; /* guards buckets, held only for the arithmetic */
	size_t count;
	struct jitrd_token_bucket buckets[];
};

enum jitrd_err jitrd_ratelimit_new(const double *rates, size_t count, int64_t now_ns,
                                   struct jitrd_ratelimit **out)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_ratelimit *rl = NULL;

	if (!rates || !out || count == 0 || count > JITRD_RATELIMIT_MAX_BUCKETS)
		goto cleanup;
	result = JITRD_ERR_NOMEM;
	rl = calloc(1, sizeof(*rl) + count * sizeof(rl->buckets[0]));
	if (!rl)
		goto cleanup;
	for (size_t i = 0; i < count; i++) {
		double burst = rates[i] > 1 ? rates[i] : 1;

		result = jitrd_token_bucket_init(&rl->buckets[i], rates[i], burst, now_ns);
		if (result != JITRD_OK)
			goto cleanup;
	}
	result = JITRD_ERR_NOMEM;
	if (pthread_mutex_init(&rl->lock, NULL) != 0)
		goto cleanup;
	rl->count = count;
	*out = rl;
	rl = NULL;
	result = JITRD_OK;
cleanup:
	free(rl);
	return result;
}

void jitrd_ratelimit_free(struct jitrd_ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

enum jitrd_err jitrd_ratelimit_acquire(struct jitrd_ratelimit *rl, size_t index, int64_t now_ns,
                                       int64_t max_wait_ns, int64_t *wait_ns)
{
	enum jitrd_err result;

	if (!rl || index >= rl->count || !wait_ns)
		return JITRD_ERR_INVALID_ARG;
	if (pthread_mutex_lock(&rl->lock) != 0)
		return JITRD_ERR_INVALID_ARG;
	result = jitrd_token_bucket_reserve(&rl->buckets[index], now_ns, max_wait_ns, wait_ns);
	pthread_mutex_unlock(&rl->lock);
	return result;
}
