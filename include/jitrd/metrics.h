/* metrics.h — the service's metrics of DESIGN §4.5: a small registry updated by workers, the
 * MQTT source and reloads, copied into a snapshot, and rendered as Prometheus text exposition
 * format 0.0.4 by a pure function of that snapshot. It keeps no untrusted data but CA labels. */
#ifndef JITRD_METRICS_H
#define JITRD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "jitrd/crl_schedule.h"
#include "jitrd/error.h"
#include "jitrd/ocsp.h"
#include "jitrd/outcome.h"

#define JITRD_METRICS_OPERATION_MAX  48  /* bytes of an operation name, with its NUL */
#define JITRD_METRICS_CA_MAX         128 /* bytes of a CA label, with its NUL */
#define JITRD_METRICS_API_SERIES_MAX 64  /* distinct (operation, code) pairs kept */
#define JITRD_METRICS_CRL_MAX        64  /* CAs with CRL gauges */
#define JITRD_METRICS_BUCKETS_MAX    16
#define JITRD_METRICS_OCSP_RESULTS   (JITRD_OCSP_INVALID + 1) /* by enum jitrd_ocsp_status */

/* What became of SQS messages (jitrd_sqs_messages_total{outcome}): received; deleted (the
 * event's outcome was final); returned (left to reappear after their visibility timeout);
 * invalid (a body that is no event, left for the queue's redrive policy). */
enum jitrd_metrics_sqs_outcome {
	JITRD_METRICS_SQS_RECEIVED,
	JITRD_METRICS_SQS_DELETED,
	JITRD_METRICS_SQS_RETURNED,
	JITRD_METRICS_SQS_INVALID,
	JITRD_METRICS_SQS_OUTCOMES
};

/* Buckets are cumulative only when rendered; here counts[i] holds observations in
 * (bounds[i-1], bounds[i]], and counts[bound_count] those above the last bound. */
struct jitrd_metrics_histogram {
	const double *bounds; /* static, ascending */
	size_t bound_count;   /* <= JITRD_METRICS_BUCKETS_MAX */
	uint64_t counts[JITRD_METRICS_BUCKETS_MAX + 1];
	uint64_t count;
	double sum;
};

struct jitrd_metrics_api_series {
	char operation[JITRD_METRICS_OPERATION_MAX]; /* e.g. "UpdateCertificate" */
	int code; /* HTTP status; 0 when no response came (network error, timeout) */
	uint64_t count;
};

struct jitrd_metrics_crl {
	char ca[JITRD_METRICS_CA_MAX]; /* the CA id (64 hex) */
	uint64_t entries;
	int64_t next_update; /* seconds since the epoch */
	int64_t this_update; /* seconds since the epoch */
};

struct jitrd_metrics_ca_count {
	char ca[JITRD_METRICS_CA_MAX]; /* the CA id (64 hex) */
	uint64_t count;
};

/* Everything /metrics shows, copied at one moment. */
struct jitrd_metrics_snapshot {
	uint64_t events[JITRD_DECISION_COUNT];
	size_t api_count;
	struct jitrd_metrics_api_series api[JITRD_METRICS_API_SERIES_MAX];
	uint64_t api_dropped; /* requests of pairs past the maximum (counted under code 0 of
	                       * operation "other") */
	struct jitrd_metrics_histogram api_duration;
	struct jitrd_metrics_histogram event_duration;
	size_t crl_count;
	struct jitrd_metrics_crl crl[JITRD_METRICS_CRL_MAX];
	size_t crl_rollback_count;
	struct jitrd_metrics_ca_count crl_rollback[JITRD_METRICS_CRL_MAX];
	int mqtt_connected;
	uint64_t mqtt_reconnects; /* connections after the first */
	int64_t inflight;
	int64_t journal_backlog; /* events recorded and not final */
	/* OCSP requests sent, by what came of them (JITRD_OCSP_NONE: no response: network,
	 * timeout, HTTP status), and answers taken from the cache instead */
	uint64_t ocsp_requests[JITRD_METRICS_OCSP_RESULTS];
	uint64_t ocsp_cache_hits;
	uint64_t crl_fetch[JITRD_CRL_OUTCOME_COUNT]; /* by enum jitrd_crl_fetch_outcome */
	/* The SQS source's (rendered only once jitrd_metrics_sqs_enable was called) */
	int sqs_enabled;
	uint64_t sqs_messages[JITRD_METRICS_SQS_OUTCOMES]; /* by enum jitrd_metrics_sqs_outcome */
	uint64_t sqs_receive_errors;
	int64_t sqs_queue_depth; /* ApproximateNumberOfMessages; -1 before the first answer */
	int64_t now; /* wall clock (s) when the snapshot was taken; 0: none, the CRL seconds-until
	              * and age gauges are then left out */
};

struct jitrd_metrics;

/* An empty registry (every decision at 0). Free with jitrd_metrics_free.
 * Errors: JITRD_ERR_INVALID_ARG (NULL out), JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_metrics_new(struct jitrd_metrics **out) JITRD_WUR;
void jitrd_metrics_free(struct jitrd_metrics *m); /* NULL is fine */

/* Updates; all thread-safe, all accept a NULL registry (no metrics) and do nothing then. */

/* One event finished with decision, taking seconds (jitrd_event_duration_seconds). */
void jitrd_metrics_event(struct jitrd_metrics *m, enum jitrd_decision_kind decision,
                         double seconds);
/* One API request (operation copied; cut to JITRD_METRICS_OPERATION_MAX - 1 bytes). */
void jitrd_metrics_api_request(struct jitrd_metrics *m, const char *operation, int code,
                               double seconds);
/* The CRL gauges of one CA (ca copied): replaces that CA's values. Past JITRD_METRICS_CRL_MAX
 * CAs the call is ignored. */
void jitrd_metrics_set_crl(struct jitrd_metrics *m, const char *ca, uint64_t entries,
                           int64_t this_update, int64_t next_update);
/* One CRL fetch ended with outcome (jitrd_crl_fetch_total{outcome}); NONE is ignored. */
void jitrd_metrics_crl_fetch(struct jitrd_metrics *m, enum jitrd_crl_fetch_outcome outcome);
/* One CRL refused as a rollback for CA ca (jitrd_crl_rollbacks_total{ca}); never reset. Past
 * JITRD_METRICS_CRL_MAX CAs the call is ignored. */
void jitrd_metrics_crl_rollback(struct jitrd_metrics *m, const char *ca);
/* Forgets every CA's CRL gauges (before a reload sets them anew). */
void jitrd_metrics_clear_crl(struct jitrd_metrics *m);
void jitrd_metrics_set_mqtt_connected(struct jitrd_metrics *m, int connected);
/* jitrd_inflight_events += delta (+1 when a worker takes an event, -1 when done). */
void jitrd_metrics_add_inflight(struct jitrd_metrics *m, int delta);
/* jitrd_mqtt_reconnects_total += 1: a connection to the broker after the first. */
void jitrd_metrics_mqtt_reconnect(struct jitrd_metrics *m);
/* jitrd_journal_backlog = events (the journal's count of events recorded and not final). */
void jitrd_metrics_set_journal_backlog(struct jitrd_metrics *m, int64_t events);

/* The SQS source is in use: its series are rendered from now on (queue depth -1 until set). */
void jitrd_metrics_sqs_enable(struct jitrd_metrics *m);
/* count messages more with outcome; out-of-range outcomes are ignored. */
void jitrd_metrics_sqs_messages(struct jitrd_metrics *m, enum jitrd_metrics_sqs_outcome outcome,
                                uint64_t count);
/* One ReceiveMessage that failed (jitrd_sqs_receive_errors_total). */
void jitrd_metrics_sqs_receive_error(struct jitrd_metrics *m);
/* jitrd_sqs_queue_depth = depth. */
void jitrd_metrics_set_sqs_queue_depth(struct jitrd_metrics *m, int64_t depth);

/* One OCSP request sent, ending in result (jitrd_ocsp_requests_total{result}; NONE is
 * "error"); out-of-range values are ignored. */
void jitrd_metrics_ocsp_request(struct jitrd_metrics *m, enum jitrd_ocsp_status result);
/* One OCSP answer served from the cache (jitrd_ocsp_cache_hits_total). */
void jitrd_metrics_ocsp_cache_hit(struct jitrd_metrics *m);

/* Copies the registry into *out (caller's storage), with now set from the wall clock. A NULL
 * m gives an empty snapshot (now 0). */
void jitrd_metrics_snapshot(struct jitrd_metrics *m, struct jitrd_metrics_snapshot *out);

/* Pure: the Prometheus text (format 0.0.4: HELP and TYPE lines, label values with \\, \" and
 * \n escaped) of s. *out (NUL-terminated, *len bytes without the NUL) owned by the caller
 * (free()); written only on success. Errors: JITRD_ERR_INVALID_ARG (NULL argument, a count
 * over its maximum), JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_metrics_render(const struct jitrd_metrics_snapshot *s, char **out,
                                    size_t *len) JITRD_WUR;

/* The Content-Type of that text. */
#define JITRD_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
