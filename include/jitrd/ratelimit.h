/* ratelimit.h — client-side rate limits per operation ([limits], DESIGN §4.2): a pure token
 * bucket with the time passed in, and a small set of buckets shared by every worker behind one
 * mutex. Nothing here sleeps or reads a clock: acquire says how long the caller must wait. */
#ifndef JITRD_RATELIMIT_H
#define JITRD_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "jitrd/error.h"

#define JITRD_RATELIMIT_MAX_BUCKETS 64
#define JITRD_RATELIMIT_MAX_RATE    1e6 /* per second */

/* One bucket: refills rate tokens per second up to burst. tokens may go below zero: a
 * reservation taken now and served later (the caller waits for it). */
struct jitrd_token_bucket {
	double rate;  /* tokens per second; 0 = unlimited */
	double burst; /* capacity */
	double tokens;
	int64_t last_ns; /* when tokens was last brought up to date */
};

/* rate 0 means unlimited; otherwise 0 < rate <= JITRD_RATELIMIT_MAX_RATE and burst >= 1.
 * The bucket starts full. Errors: JITRD_ERR_INVALID_ARG. */
enum jitrd_err jitrd_token_bucket_init(struct jitrd_token_bucket *bucket, double rate, double burst,
                                       int64_t now_ns) JITRD_WUR;

/* Reserves one token at now_ns. On JITRD_OK the token is the caller's and *wait_ns (>= 0) is
 * how long it must wait before using it. When that wait would exceed max_wait_ns nothing is
 * reserved and JITRD_ERR_DEADLINE is returned (*wait_ns untouched). A clock that went
 * backwards is treated as no time passed. */
enum jitrd_err jitrd_token_bucket_reserve(struct jitrd_token_bucket *bucket, int64_t now_ns,
                                          int64_t max_wait_ns, int64_t *wait_ns) JITRD_WUR;

/* Buckets indexed 0..count-1, shared by threads. Free with jitrd_ratelimit_free. */
struct jitrd_ratelimit;

/* rates[i] is bucket i's rate per second (0 = unlimited); each bucket's burst is
 * max(1, rate), i.e. one second of traffic, as AWS's own buckets allow. count is
 * 1..JITRD_RATELIMIT_MAX_BUCKETS. Errors: JITRD_ERR_INVALID_ARG, JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_ratelimit_new(const double *rates, size_t count, int64_t now_ns,
                                   struct jitrd_ratelimit **out) JITRD_WUR;
void jitrd_ratelimit_free(struct jitrd_ratelimit *rl); /* NULL is fine */

/* jitrd_token_bucket_reserve on bucket index under the lock. Thread safe.
 * Errors: JITRD_ERR_INVALID_ARG (index out of range), JITRD_ERR_DEADLINE. */
enum jitrd_err jitrd_ratelimit_acquire(struct jitrd_ratelimit *rl, size_t index, int64_t now_ns,
                                       int64_t max_wait_ns, int64_t *wait_ns) JITRD_WUR;

#endif
