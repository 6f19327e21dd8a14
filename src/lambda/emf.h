/* emf.h — private to src/lambda and its tests: the CloudWatch Embedded Metric Format line the
 * function writes to its log at the end of each invocation, so that Lambda users get jitrd's
 * figures as CloudWatch metrics without a scraper or an agent. */
#ifndef JITRD_LAMBDA_EMF_H
#define JITRD_LAMBDA_EMF_H

#include <stddef.h>
#include <stdint.h>

#include "jitrd/error.h"
#include "jitrd/metrics.h"

#define JITRD_EMF_NAMESPACE "jitrd"

/* Pure: one EMF line (JSON, no newline) of what happened between the snapshots before and
 * after (counters as differences, so each line holds one invocation's figures): events by
 * decision, events, API calls, throttled (429) and failed (5xx, no answer) API attempts, the
 * invocation's duration_ms, with the dimension FunctionName = function_name, at timestamp_ms
 * (ms since the epoch). *out (NUL-terminated) owned by the caller (free()); written only on
 * success. Errors: JITRD_ERR_INVALID_ARG (a NULL argument, an empty function name),
 * JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_lambda_emf_line(const struct jitrd_metrics_snapshot *before,
                                     const struct jitrd_metrics_snapshot *after,
                                     int64_t duration_ms, int64_t timestamp_ms,
                                     const char *function_name, char **out) JITRD_WUR;

#endif
