/* crl_schedule.c — when a fetched CRL source is due again (see crl_schedule.h). Pure: the
 * times and the random bits come from the caller. */
#include "jitrd/crl_schedule.h"

#include <stddef.h>

#include "jitrd/backoff.h"

const char *jitrd_crl_fetch_outcome_name(enum jitrd_crl_fetch_outcome outcome)
{
	switch (outcome) {
	case JITRD_CRL_OUTCOME_NEW:
		return "new";
	case JITRD_CRL_OUTCOME_NOT_MODIFIED:
		return "not_modified";
	case JITRD_CRL_OUTCOME_REFUSED:
		return "refused";
	case JITRD_CRL_OUTCOME_FAILED:
		return "failed";
	case JITRD_CRL_OUTCOME_NONE:
		break;
	}
	return "none";
}

static time_t earliest(time_t a, time_t b)
{
	return a < b ? a : b;
}

/* The regular schedule after the last success (or, when none, after the last attempt). */
static time_t regular(const struct jitrd_crl_schedule_input *in)
{
	time_t base = in->last_success ? in->last_success : in->last_attempt;
	int refresh = in->refresh_seconds >= 1 ? in->refresh_seconds : 1;
	int min_interval =
	    refresh < JITRD_CRL_MIN_INTERVAL_SECONDS ? refresh : JITRD_CRL_MIN_INTERVAL_SECONDS;
	time_t due = base + refresh;

	/* RFC 5280 §5.1.2.5: a new CRL is issued on or before nextUpdate; fetching at 80% of
	 * the interval leaves time for retries before the copy held goes stale. */
	if (in->next_update > 0 && in->this_update > 0 && in->next_update > in->this_update) {
		int64_t span = (int64_t)(in->next_update - in->this_update);
		due = earliest(due,
		               in->this_update + (time_t)(span * JITRD_CRL_REFRESH_PERCENT / 100));
	}
	if (in->next_update > 0)
		due = earliest(due, in->next_update);
	if (due < in->last_attempt + min_interval)
		due = in->last_attempt + min_interval;
	return due;
}

time_t jitrd_crl_schedule_next(const struct jitrd_crl_schedule_input *in)
{
	struct jitrd_backoff_policy policy = {JITRD_CRL_RETRY_BASE_SECONDS * 1000,
	                                      JITRD_CRL_RETRY_CAP_SECONDS * 1000, 1};
	int64_t delay_ms;
	time_t due, retry;

	if (in->last_attempt == 0)
		return 0;
	due = regular(in);
	if (in->failures == 0)
		return due;
	delay_ms = jitrd_backoff_delay_ms(&policy, in->failures - 1, in->random_bits);
	if (delay_ms < 1000)
		delay_ms = 1000; /* full jitter may draw 0: not a busy loop */
	retry = in->last_attempt + (time_t)(delay_ms / 1000);
	return earliest(retry, due);
}
