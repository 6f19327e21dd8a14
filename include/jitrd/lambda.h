/* lambda.h — jitrd as an AWS Lambda custom runtime (provided.al2023, DESIGN §7): the Runtime
 * API loop (next, response, error, init error) and the event shapes it answers: the
 * registration event itself, an SQS batch, a scheduled reconcile. An adapter: it talks HTTP to
 * the Runtime API; every decision is the pipeline's. */
#ifndef JITRD_LAMBDA_H
#define JITRD_LAMBDA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jitrd/error.h"
#include "jitrd/pipeline.h"

/* Lambda's largest invocation payload (synchronous, 6 MB); a larger one is refused. */
#define JITRD_LAMBDA_MAX_PAYLOAD (6 * 1024 * 1024)
/* Kept free before Lambda's deadline to post the answer. */
#define JITRD_LAMBDA_DEFAULT_MARGIN_MS 500
/* A record or sweep step is not started with less time than this left: it is left for the
 * retry instead of being cut off half-way. */
#define JITRD_LAMBDA_MIN_EVENT_MS 250

/* The most records of one SQS batch run at once ([lambda] batch_concurrency's bound). */
#define JITRD_LAMBDA_MAX_BATCH_CONCURRENCY 64

/* What the shapes need done, so the shape handling is testable without AWS. */
struct jitrd_lambda_ops {
	void *ctx;
	/* One registration event payload through the pipeline by until (CLOCK_MONOTONIC ms)
	 * on slot (0 .. slots - 1: the records of an SQS batch run concurrently, each thread
	 * on its own slot, i.e. its own client session; never two calls on one slot at once);
	 * always fills *out on JITRD_OK; JITRD_ERR_NOMEM otherwise. */
	enum jitrd_err (*process)(void *ctx, unsigned slot, const char *payload, size_t len,
	                          int64_t until, struct jitrd_pipeline_result *out);
	/* The reconcile sweep: each pending certificate as an event payload to fn (see
	 * jitrd_pipeline_pending_events). */
	enum jitrd_err (*pending)(void *ctx, jitrd_pipeline_event_fn fn, void *fn_ctx,
	                          size_t *count, struct jitrd_diag *diag);
	/* Reports one decided event (the outcome log line); may be NULL. */
	void (*outcome)(void *ctx, const struct jitrd_pipeline_result *r);
	/* How many records of an SQS batch may run at once ([lambda] batch_concurrency); 0 is
	 * 1. The scheduled sweep and a single event use slot 0 only. */
	unsigned slots;
};

/* The answer to one invocation: posted to .../response, or to .../error when is_error. */
struct jitrd_lambda_reply {
	int is_error;
	char error_type[64]; /* Lambda-Runtime-Function-Error-Type and "errorType" */
	char *body;          /* JSON text, owned: jitrd_lambda_reply_cleanup */
	size_t body_len;
};
void jitrd_lambda_reply_cleanup(struct jitrd_lambda_reply *reply);

/* Answers one invocation payload (untrusted bytes) with ops, by until (CLOCK_MONOTONIC ms):
 * - a registration event (an object with certificateId, caCertificateId or
 *   certificateStatus): {"decision","reason","certificateId","status"}; a decision marked for
 *   retry is an error reply (jitrd.Retry), so Lambda's own retry takes it; invalid is a
 *   normal reply (never retried);
 * - an SQS batch (Records[], every eventSource "aws:sqs", each with messageId and body):
 *   {"batchItemFailures":[{"itemIdentifier": messageId}]} naming exactly the records to
 *   retry, including those not started because the deadline was too close; up to
 *   ops->slots records run at once, and their outcomes are reported in record order once
 *   all have ended (the same set of failures as one after another, in record order);
 * - a scheduled event ("source":"aws.events","detail-type":"Scheduled Event"): a reconcile
 *   sweep, answered with its counts;
 * - anything else: an error reply (jitrd.UnsupportedEvent, jitrd.InvalidJSON, ...).
 * *reply written on JITRD_OK. Errors: JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_lambda_answer(const struct jitrd_lambda_ops *ops, const char *payload,
                                   size_t len, int64_t until,
                                   struct jitrd_lambda_reply *reply) JITRD_WUR;

/* An error reply {"errorMessage": message, "errorType": type} into *reply.
 * Errors: JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_lambda_error_reply(const char *type, const char *message,
                                        struct jitrd_lambda_reply *reply) JITRD_WUR;

/* The Runtime API's Lambda-Runtime-Deadline-Ms (epoch ms, untrusted) as a CLOCK_MONOTONIC
 * deadline, margin_ms earlier; now_epoch_ms and now_mono_ms are the clocks read together.
 * A missing or malformed header yields fallback_ms from now. */
int64_t jitrd_lambda_until(const char *deadline_header, int64_t now_epoch_ms, int64_t now_mono_ms,
                           int64_t margin_ms, int64_t fallback_ms);

/* CRLs kept current (lambda_crl.c). At init, the fetch of every source gets this much in
 * all at most ([crl] fetch_timeout_seconds when shorter): Lambda ends an init phase at 10 s,
 * and that also holds the process start, two snapshot loads and the verification of what
 * was fetched. A source left out is due at the first invocation. */
#define JITRD_LAMBDA_INIT_FETCH_MS 4000
/* Before an invocation's events, a due refresh takes at most 1/JITRD_LAMBDA_REFRESH_SHARE of
 * the time left (the events keep the larger share), and never less than
 * JITRD_LAMBDA_MIN_REFRESH_MS: the refresher needs a second for a fetch, so with less the
 * refresh waits for an invocation with more time. */
#define JITRD_LAMBDA_REFRESH_SHARE  3
#define JITRD_LAMBDA_MIN_REFRESH_MS 1000

/* The milliseconds a CRL refresh may take of left_ms (the time to the invocation's deadline):
 * left_ms / JITRD_LAMBDA_REFRESH_SHARE, at most fetch_timeout_ms; 0 (no refresh now) when
 * that is below JITRD_LAMBDA_MIN_REFRESH_MS. */
int64_t jitrd_lambda_refresh_budget(int64_t left_ms, int64_t fetch_timeout_ms);

/* Whether a new snapshot, estimated at twice load_ms (the last load; the new CRL may be
 * larger), fits in left_ms / JITRD_LAMBDA_REFRESH_SHARE: else it waits for the next
 * invocation and the events run on the current snapshot. */
bool jitrd_lambda_reload_fits(int64_t left_ms, int64_t load_ms);

struct jitrd_lambda_options {
	const char *runtime_api;       /* AWS_LAMBDA_RUNTIME_API: "host:port" */
	int64_t margin_ms;             /* 0: JITRD_LAMBDA_DEFAULT_MARGIN_MS */
	unsigned long max_invocations; /* 0: forever (Lambda); tests stop after this many */
};

/* The runtime: sets the Lambda defaults for JITRD_* variables that are unset (paths under
 * LAMBDA_TASK_ROOT, JSON logs), loads the runtime from the environment only and opens the AWS
 * client once, then answers invocations until the Runtime API goes away. A broken
 * configuration is posted to /runtime/init/error. Uses and changes the process environment
 * (_X_AMZN_TRACE_ID per invocation), so call it from main's thread before any other thread
 * exists. Returns the process exit status: 2 configuration error (after the init error was
 * posted), 1 the Runtime API failed, 0 after max_invocations. */
int jitrd_lambda_run(const struct jitrd_lambda_options *opts);

#endif
