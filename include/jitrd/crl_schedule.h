/* crl_schedule.h — when a fetched CRL source is due again: before its CRL's nextUpdate
 * (RFC 5280 §5.1.2.5), at a configured interval, and after failures with capped, jittered
 * backoff. Pure: times and random bits are inputs; no clock, no I/O. */
#ifndef JITRD_CRL_SCHEDULE_H
#define JITRD_CRL_SCHEDULE_H

#include <stdint.h>
#include <time.h>

/* Retries after a failed fetch: full jitter over base 2 s doubling up to 5 min. */
#define JITRD_CRL_RETRY_BASE_SECONDS 2
#define JITRD_CRL_RETRY_CAP_SECONDS  300
/* Never two attempts of one source closer than this (nor than refresh_seconds when smaller):
 * a CA that lets its CRL go stale must not turn the service into a fetch loop. */
#define JITRD_CRL_MIN_INTERVAL_SECONDS 30
/* The share of thisUpdate -> nextUpdate after which a new CRL is fetched. */
#define JITRD_CRL_REFRESH_PERCENT 80

/* The result of a source's last attempt (jitrd_crl_fetch_total{outcome}). */
enum jitrd_crl_fetch_outcome {
	JITRD_CRL_OUTCOME_NONE = 0,     /* not tried since start */
	JITRD_CRL_OUTCOME_NEW,          /* a new CRL verified and written to the cache */
	JITRD_CRL_OUTCOME_NOT_MODIFIED, /* 304, or the same CRL again: the cached copy stays */
	JITRD_CRL_OUTCOME_REFUSED,      /* served, but failed verification, rollback or size */
	JITRD_CRL_OUTCOME_FAILED,       /* no answer: network, timeout, HTTP error */
};
#define JITRD_CRL_OUTCOME_COUNT 5

/* The name of an outcome for metrics and logs: "new", "not_modified", "refused", "failed",
 * "none". */
const char *jitrd_crl_fetch_outcome_name(enum jitrd_crl_fetch_outcome outcome);

struct jitrd_crl_schedule_input {
	time_t last_attempt;  /* 0: never tried (due at once) */
	time_t last_success;  /* 0: never succeeded since start */
	unsigned failures;    /* consecutive failed attempts since the last success */
	time_t this_update;   /* of the copy held; 0 when none */
	time_t next_update;   /* of the copy held; 0 when none or absent */
	int refresh_seconds;  /* [crl] refresh_seconds, >= 1 */
	uint64_t random_bits; /* the caller's random source, for the jitter */
};

/* The time the source is due next. Never tried: last_attempt (0: at once). After a success:
 * the earliest of thisUpdate + 80% of thisUpdate -> nextUpdate, last_success +
 * refresh_seconds and nextUpdate, but not before last_attempt + min(refresh_seconds,
 * JITRD_CRL_MIN_INTERVAL_SECONDS). After failures: last_attempt plus a jittered backoff
 * (1 s at least, JITRD_CRL_RETRY_CAP_SECONDS at most), and never later than the schedule
 * above would say. */
time_t jitrd_crl_schedule_next(const struct jitrd_crl_schedule_input *in);

#endif
