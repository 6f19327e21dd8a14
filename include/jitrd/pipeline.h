/* pipeline.h — one registration event through DESIGN §3, top to bottom: parse, filter,
 * coalesce, describe, verify, CRL decision, provision (Thing, policy), activate last. Every
 * source (MQTT via the journal, `jitrd handle`, reconcile, Lambda) calls the same function.
 * Thread-safe: workers share one pipeline, each with its own client session. */
#ifndef JITRD_PIPELINE_H
#define JITRD_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "jitrd/error.h"
#include "jitrd/iot_client.h"
#include "jitrd/journal.h"
#include "jitrd/log.h"
#include "jitrd/metrics.h"
#include "jitrd/outcome.h"
#include "jitrd/runtime.h"

/* Called on the worker's thread for a device deferred because no verified CRL covers it
 * (jitrd_decision's crl_missing): its signature and path were verified under our CA. device
 * is borrowed for the call. Must not block: the CRL refresher only notes its distribution
 * points and wakes its own thread. */
typedef void (*jitrd_crl_missing_fn)(void *ctx, const struct jitrd_cert *device);

struct jitrd_pipeline_options {
	/* The certificate inventory, written by the pipeline as each event ends; NULL = none (the
	 * row is still handed back in the result's inventory, for a caller that writes it in one
	 * transaction with the event's outcome: jitrd_journal_finish). */
	struct jitrd_journal *journal;
	struct jitrd_metrics *metrics;    /* NULL = none */
	struct jitrd_log *log;            /* NULL = none: the OCSP requests' lines */
	size_t ocsp_cache_max;            /* OCSP answers kept; 0: JITRD_OCSP_CACHE_MAX */
	jitrd_crl_missing_fn crl_missing; /* NULL = none */
	void *crl_missing_ctx;
};

struct jitrd_pipeline;

/* *out owned by the caller (jitrd_pipeline_free). Errors: JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_pipeline_new(const struct jitrd_pipeline_options *opts,
                                  struct jitrd_pipeline **out) JITRD_WUR;
void jitrd_pipeline_free(struct jitrd_pipeline *p); /* NULL is fine */

/* What happened to one event: the fields of the outcome line (DESIGN §4.5). */
struct jitrd_pipeline_result {
	enum jitrd_decision_kind decision;
	char reason[256];
	char certificate_id[65]; /* "" when the event did not parse */
	char ca_certificate_id[65];
	char status[32]; /* the certificate's status afterwards, "" when unknown */
	char serial[129];
	char subject_cn[256];
	char policy[129];
	char thing[129];
	unsigned api_calls; /* operations called */
	unsigned attempts;  /* HTTP attempts, retries included */
	uint64_t duration_ms;
	/* 1 when the event should be tried again later: decision failed on a transient error
	 * (throttling, 5xx, timeout, network, deadline) or defer (no valid CRL yet). */
	int retry;
	/* With retry: when non-zero, the event deserves at most this many attempts in all (a
	 * certificate AWS does not know: eventual consistency is seconds, not the default
	 * bound's minutes, and a flood of made-up ids must not cost ten calls each). */
	unsigned retry_limit;
	/* A reject that time alone may undo (jitrd_decision's time_may_change). */
	bool time_may_change;
	/* true when the certificate was read: inventory is its row as the event leaves it. */
	bool has_inventory;
	struct jitrd_journal_cert inventory;
};

/* Attempts at most for an event whose certificate DescribeCertificate does not find. */
#define JITRD_PIPELINE_NOT_FOUND_ATTEMPTS 3

/* Runs DESIGN §3 on one event payload (untrusted bytes, len <= JITRD_EVENT_MAX_BYTES or it is
 * invalid) against the runtime snapshot rt (borrowed for the call) with the worker's session.
 * now is the wall-clock time decisions are judged at. A second event for a certificate
 * already in flight waits for the first (bounded by the event deadline) and then runs, so it
 * finds the certificate's new status and ends as skip. Always fills *out; returns JITRD_OK
 * when *out holds a decision (any decision, failed included), JITRD_ERR_NOMEM otherwise. */
enum jitrd_err jitrd_pipeline_process(struct jitrd_pipeline *p, struct jitrd_iot_session *s,
                                      const struct jitrd_runtime *rt, const char *payload,
                                      size_t len, time_t now,
                                      struct jitrd_pipeline_result *out) JITRD_WUR;

/* The same with the event's deadline brought forward to until (CLOCK_MONOTONIC ms, see
 * jitrd_iot_deadline_in) when that comes before [service] event_deadline_seconds: a Lambda
 * invocation ends at a fixed time. jitrd_pipeline_process is this with until = INT64_MAX. */
enum jitrd_err jitrd_pipeline_process_until(struct jitrd_pipeline *p, struct jitrd_iot_session *s,
                                            const struct jitrd_runtime *rt, const char *payload,
                                            size_t len, time_t now, int64_t until,
                                            struct jitrd_pipeline_result *out) JITRD_WUR;

/* Step 7 for a decided activation (d from jitrd_decide_certificate with kind activate): the
 * Thing, when d names one, with the certificate as its principal; the policy created once
 * ("already exists" is success only when AWS holds the same document) and attached. Used by
 * the pipeline and by `crl sweep` when a hold is lifted. A Thing is created with the
 * attribute JITRD_THING_MARKER = d->ca_id; an existing Thing is joined only when it carries
 * that marker with this CA's id and every principal already attached is a certificate of the
 * same CA (a rotation), otherwise r is finished as reject naming the Thing. JITRD_OK on
 * success; JITRD_ERR_API when provisioning did not complete, with r finished as failed
 * (r->reason names the call, r->retry set for a transient error) or as reject: r, not the
 * code, says which. */
#define JITRD_THING_MARKER "jitrd_ca"

enum jitrd_err jitrd_pipeline_provision(struct jitrd_pipeline *p, struct jitrd_iot_session *s,
                                        int64_t deadline, const struct jitrd_decision *d,
                                        const char *certificate_arn,
                                        struct jitrd_pipeline_result *r) JITRD_WUR;

/* The decision for cert (borrowed) under ctx at now, with the OCSP answer [ocsp] mode needs:
 * jitrd_decide_certificate with the checker's cached answer when one is current; else, when
 * the decision wants an answer (d->ocsp_wanted), the responder asked before deadline_ms and
 * the decision again with its answer. d is initialised here. Errors: those of
 * jitrd_decide_certificate (d->reason says why), JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_pipeline_decide(struct jitrd_pipeline *p,
                                     const struct jitrd_decision_context *ctx,
                                     const struct jitrd_cert *cert, const char *ca_id, time_t now,
                                     int64_t deadline_ms, struct jitrd_decision *d) JITRD_WUR;

/* The outcome line's fields for r, borrowed from r (time set to now). */
void jitrd_pipeline_outcome(const struct jitrd_pipeline_result *r, time_t now,
                            struct jitrd_outcome *o);

/* Reconcile (DESIGN §2): for every allowed CA of rt, every PENDING_ACTIVATION certificate
 * (ListCertificatesByCA, all pages) is handed to fn as a registration event payload (JSON, as
 * AWS would publish it), so it takes the same path as any event. fn returns 0 to go on.
 * Errors: those of the client (listing), JITRD_ERR_NOMEM; *count is the number handed on. */
typedef int (*jitrd_pipeline_event_fn)(void *ctx, const char *payload, size_t len);
enum jitrd_err jitrd_pipeline_pending_events(struct jitrd_iot_session *s,
                                             const struct jitrd_runtime *rt,
                                             jitrd_pipeline_event_fn fn, void *ctx, size_t *count,
                                             struct jitrd_diag *diag) JITRD_WUR;

/* The reconcile lease of several hosts (lease.h) for the host `holder` at `now` (seconds since
 * the epoch): DescribeThing thing_name, then CreateThing when it does not exist, or UpdateThing
 * with expectedVersion when the lease is ours or has expired. *held is 1 when this host holds
 * the lease until now + jitrd_lease_seconds(reconcile_seconds) and should sweep, 0 when another
 * host holds it or won the race (ResourceAlreadyExistsException, VersionConflictException);
 * holder_seen (JITRD_LEASE_MAX_HOLDER bytes, may be NULL) receives the holder that was found.
 * Errors: those of the client (diag names the call), JITRD_ERR_INVALID_ARG; *held is written
 * only on JITRD_OK. */
enum jitrd_err jitrd_pipeline_reconcile_lease(struct jitrd_iot_session *s, const char *thing_name,
                                              const char *holder, int64_t now,
                                              int reconcile_seconds, int *held, char *holder_seen,
                                              struct jitrd_diag *diag) JITRD_WUR;

#endif
