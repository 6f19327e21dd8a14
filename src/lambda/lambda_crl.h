/* lambda_crl.h — private to src/lambda: CRLs kept current by the Lambda runtime (lambda.c
 * drives it): the refresher of crl_refresh.h run at init and between invocations, and the
 * runtime snapshot of a jitrd_online swapped when the cache changed. */
#ifndef JITRD_LAMBDA_CRL_H
#define JITRD_LAMBDA_CRL_H

#include <stdbool.h>
#include <stdint.h>

#include "jitrd/crl_refresh.h"
#include "jitrd/error.h"
#include "jitrd/log.h"
#include "jitrd/setup.h"

struct lambda_crl {
	struct jitrd_crl_refresh *refresher; /* NULL: no [crl] url, no distribution points */
	bool reload_pending; /* the cache changed; the snapshot is not swapped yet */
	int64_t load_ms;     /* how long the last snapshot took to load */
};

/* At init, with online open (its runtime loaded, which took load_ms: the estimate of the next
 * load) and log: makes the state directory, then
 * when CRL sources are configured fetches each once, bounded by budget_ms in all, and when
 * the cache changed loads a new snapshot and swaps it into online. A fetch that fails is
 * logged, never fatal: the zip's crl/ and the cache still count, and a CA without a current
 * CRL defers its devices. Errors (fatal: the sources cannot be set up): JITRD_ERR_NOMEM,
 * JITRD_ERR_TOO_LARGE (the state directory's path), with diag. lambda_crl_close either way. */
enum jitrd_err lambda_crl_init(struct lambda_crl *c, struct jitrd_online *online,
                               struct jitrd_log *log, int64_t budget_ms, int64_t load_ms,
                               struct jitrd_diag *diag) JITRD_WUR;

/* Before an invocation's events, until being its deadline (CLOCK_MONOTONIC ms): when a source
 * is due, fetches within jitrd_lambda_refresh_budget of the time left, and when the cache
 * changed swaps in a new snapshot if jitrd_lambda_reload_fits, else at the next invocation.
 * Does nothing without sources or with nothing due. Errors: JITRD_ERR_NOMEM. */
enum jitrd_err lambda_crl_before_invocation(struct lambda_crl *c, struct jitrd_online *online,
                                            struct jitrd_log *log, int64_t until) JITRD_WUR;

/* The pipeline's jitrd_crl_missing_fn with ctx a struct lambda_crl: the CRL Distribution
 * Points of a device deferred for want of a CRL become sources ([crl] distribution_points =
 * all), fetched before the next invocation's events. */
void lambda_crl_missing(void *ctx, const struct jitrd_cert *device);

void lambda_crl_close(struct lambda_crl *c); /* a zeroed one is fine */

#endif
