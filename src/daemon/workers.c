/* workers.c — the work of `jitrd run`: the MQTT callback records each event in the journal
 * (and answers repeats of remembered decisions), workers claim journal rows and take them
 * through the pipeline, the reconcile thread sweeps pending certificates into the journal.
 * Never reads configuration files or signals; the main loop (daemon.c) owns those. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon_internal.h"
#include "jitrd/backoff.h"
#include "jitrd/clock.h"
#include "jitrd/event.h"
#include "jitrd/iot_client.h"
#include "jitrd/lease.h"
#include "jitrd/text.h"

#define CLAIM_BATCH    4      /* events a worker claims at once, at most */
#define POLL_MS        1000   /* workers look for retries that fell due at least this often */
#define RETRY_BASE_MS  2000   /* journal retries: first window; doubled per attempt ... */
#define RETRY_CAP_MS   300000 /* ... up to five minutes */
#define RETRY_FLOOR_MS 250    /* full jitter may draw 0: never spin on a failing event */
/* The start-up sweep waits until nothing was recorded and no worker was busy for this long:
 * a backlog arrives as a stream (the broker sends the next queued message as each PUBACK
 * frees a slot, an SQS receive returns at once while messages are visible) and a worker
 * claims its next batch straight after the last one, so their gaps are milliseconds; a
 * second is far above them and little next to a sweep's own listing. */
#define STARTUP_QUIET_MS 1000
/* ... and sweeps at the latest this long after the start (or after reconcile_seconds when
 * shorter): a source that never goes quiet must not hold back the safety net for long. */
#define STARTUP_WAIT_MAX_MS 30000

void jitrd_daemon_say(struct service *s, enum jitrd_log_level level, const char *event,
                      const char *key, const char *value)
{
	jitrd_log_kv(s->log, level, event, key, value, NULL);
}

/* A reference to the current snapshot, for one event or one sweep. */
struct jitrd_runtime *jitrd_daemon_runtime(struct service *s)
{
	struct jitrd_runtime *rt;

	pthread_mutex_lock(&s->lock);
	rt = jitrd_runtime_ref(s->rt);
	pthread_mutex_unlock(&s->lock);
	return rt;
}

static bool is_stopping(struct service *s)
{
	bool stopping;

	pthread_mutex_lock(&s->lock);
	stopping = s->stopping;
	pthread_mutex_unlock(&s->lock);
	return stopping;
}

/* An event was recorded: a worker takes it, and the start-up sweep waits on (it only reads
 * last_activity_ms, so no signal for it). */
static void wake_workers(struct service *s)
{
	int64_t now = jitrd_clock_mono_ms();

	pthread_mutex_lock(&s->lock);
	s->wake_seq++;
	s->last_activity_ms = now;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->lock);
}

/* What record_event does with an event whose certificate already has an open journal row. */
enum when_open {
	JOIN_OPEN_ROW, /* record it as a skip that joined the open row (MQTT: audit trail kept) */
	SKIP_IF_OPEN,  /* do not record it at all (reconcile: the sweep found what is known) */
	LEAVE_IF_OPEN, /* do not record it, say so (SQS: the message comes back later) */
};

/* Room for an event's key (event_key): its CA id, account and status, each with room for its
 * NUL, which the key spends on two '/' and its own NUL; so no key is ever cut. */
#define EVENT_KEY_SIZE                                                                             \
	(sizeof(((struct jitrd_event *)0)->ca_certificate_id) +                                    \
	 sizeof(((struct jitrd_event *)0)->aws_account_id) +                                       \
	 sizeof(((struct jitrd_event *)0)->certificate_status))
_Static_assert(EVENT_KEY_SIZE <= JITRD_JOURNAL_NAME_MAX + 1, "the journal's bound on event keys");

/* What a remembered decision rests on besides the certificate: the event's CA, account and
 * status (a forged event with another CA or account must not get the genuine one skipped). */
static void event_key(const struct jitrd_event *event, char *out, size_t size)
{
	snprintf(out, size, "%s/%s/%s", event->ca_certificate_id, event->aws_account_id,
	         event->certificate_status);
}

/* A repeat of an event whose certificate has a final decision remembered (reject, ignore),
 * found by jitrd_journal_intake: answered with that decision's outcome line as a skip, with
 * no event row and no API call; the remembered row counted it. */
static void answer_from_memory(struct service *s, const struct jitrd_event *event,
                               const struct jitrd_journal_memory *memory)
{
	struct jitrd_pipeline_result repeat = {0};
	struct jitrd_outcome outcome;

	repeat.decision = JITRD_DECISION_SKIP;
	snprintf(repeat.reason, sizeof(repeat.reason),
	         "repeat of a remembered %s (%" PRIu64 " repeats): %.180s", memory->decision,
	         memory->repeats, memory->reason);
	jitrd_text_copy(repeat.certificate_id, sizeof(repeat.certificate_id),
	                event->certificate_id);
	jitrd_text_copy(repeat.ca_certificate_id, sizeof(repeat.ca_certificate_id),
	                event->ca_certificate_id);
	jitrd_text_copy(repeat.status, sizeof(repeat.status), memory->status);
	jitrd_pipeline_outcome(&repeat, time(NULL), &outcome);
	jitrd_log_outcome(s->log, &outcome);
	jitrd_metrics_event(s->metrics, JITRD_DECISION_SKIP, 0.0);
}

/* Whether to remember a final decision that a repeat of the event would only confirm: reject
 * (the certificate itself is refused) and ignore (not ours, not pending). Not defer, which
 * must be retried; not activate, revoke or hold, whose AWS status already makes a repeat a
 * skip; not failed or invalid; not a reject that time alone may undo (the device or its CA
 * not valid yet, the CA unusable now). A reload forgets them all (see reload). true: key
 * holds the event's key. */
static bool worth_remembering(struct service *s, const struct jitrd_journal_event *event,
                              const struct jitrd_pipeline_result *r, char *key, size_t size)
{
	struct jitrd_event parsed;

	if (s->remember_seconds <= 0 || r->retry || !r->certificate_id[0] ||
	    (r->decision != JITRD_DECISION_REJECT && r->decision != JITRD_DECISION_IGNORE) ||
	    r->time_may_change)
		return false;
	if (event->truncated || jitrd_event_parse((const char *)event->payload, event->payload_len,
	                                          &parsed, NULL) != JITRD_OK)
		return false;
	event_key(&parsed, key, size);
	return true;
}

/* Logs that an event could not be recorded; -1 for record_event. */
static int record_failed(struct service *s, enum jitrd_journal_source source,
                         const char *certificate_id, const struct jitrd_diag *diag)
{
	jitrd_log_kv(s->log, JITRD_LOG_ERROR, "journal.record_failed", "source",
	             jitrd_journal_source_name(source), "certificateId",
	             certificate_id ? certificate_id : "", "reason", diag->text, NULL);
	return -1;
}

/* The outcome line of an event answered without a worker (a skip with reason and status). */
static void say_answered(struct service *s, const struct jitrd_event *event, const char *status,
                         const char *reason, int64_t now_ms)
{
	struct jitrd_pipeline_result answered = {0};
	struct jitrd_outcome outcome;

	answered.decision = JITRD_DECISION_SKIP;
	jitrd_text_copy(answered.reason, sizeof(answered.reason), reason);
	jitrd_text_copy(answered.certificate_id, sizeof(answered.certificate_id),
	                event->certificate_id);
	jitrd_text_copy(answered.ca_certificate_id, sizeof(answered.ca_certificate_id),
	                event->ca_certificate_id);
	jitrd_text_copy(answered.status, sizeof(answered.status), status);
	jitrd_pipeline_outcome(&answered, (time_t)(now_ms / 1000), &outcome);
	/* with its milliseconds, as the workers' lines: a log read for rates orders them */
	outcome.time_ms = (int)(now_ms % 1000);
	jitrd_log_outcome(s->log, &outcome);
	jitrd_metrics_event(s->metrics, JITRD_DECISION_SKIP, 0.0);
}

/* Records one event (DESIGN §5.3: before the MQTT callback returns, so a PUBACKed event
 * survives a crash). The event is parsed only to learn its certificate id, which the journal
 * keeps for coalescing, its key for remembered decisions and its time; the workers judge it.
 * One journal transaction (jitrd_journal_intake) answers an event whose certificate the
 * inventory has judged since (MQTT: since the event; the sweep: since it began, as its listing
 * is no newer), answers a remembered repeat, joins the open row, or records the event. Never
 * touches the network. swept_since_ms: for SKIP_IF_OPEN, when the sweep began. 0: recorded
 * (or answered); 1: skipped (SKIP_IF_OPEN, LEAVE_IF_OPEN); -1: the journal failed (logged). */
static int record_event(struct service *s, enum jitrd_journal_source source, const void *payload,
                        size_t len, enum when_open when_open, int64_t swept_since_ms,
                        int64_t *row_id)
{
	/* DESIGN §3.3: the open row decides the certificate and a repeat joins it, so a device
	 * reconnecting during a CRL outage does not multiply the API calls. The row stays in
	 * the audit trail with its own outcome, recorded done in one INSERT so that no worker
	 * claims it meanwhile. */
	static const char join_reason[] = "joined the open event for this certificate";
	struct jitrd_journal_arrival arrival = {0};
	enum jitrd_journal_intake_result got = JITRD_JOURNAL_RECORDED;
	struct jitrd_journal_memory memory;
	struct jitrd_event event;
	struct jitrd_diag diag = {{0}};
	char key[EVENT_KEY_SIZE];
	int64_t id = 0;

	arrival.source = source;
	arrival.payload = payload;
	arrival.len = len;
	arrival.when_open =
	    when_open == JOIN_OPEN_ROW ? JITRD_JOURNAL_JOIN_OPEN : JITRD_JOURNAL_LEAVE_IF_OPEN;
	arrival.join_reason = join_reason;
	arrival.now_ms = jitrd_clock_wall_ms();
	if (len <= JITRD_EVENT_MAX_BYTES &&
	    jitrd_event_parse(payload, len, &event, NULL) == JITRD_OK) {
		arrival.certificate_id = event.certificate_id;
		if (s->remember_seconds > 0) {
			event_key(&event, key, sizeof(key));
			arrival.event_key = key;
		}
		/* A certificate judged since the event (or the sweep's listing) began is answered
		 * from the inventory. Not for SQS (LEAVE_IF_OPEN), whose message the source
		 * deletes only after a worker's outcome. */
		if (when_open == JOIN_OPEN_ROW)
			arrival.judged_since_ms = event.timestamp_ms;
		else if (when_open == SKIP_IF_OPEN)
			arrival.judged_since_ms = swept_since_ms;
	}
	if (jitrd_journal_intake(s->journal, &arrival, &got, &id, &memory, &diag) != JITRD_OK) {
		jitrd_daemon_say(s, JITRD_LOG_ERROR, "journal.error", "reason", diag.text);
		/* record it anyway: a duplicate costs less than a lost event (and a certificate
		 * whose judgement could not be read is judged again) */
		got = JITRD_JOURNAL_RECORDED;
		if (jitrd_journal_record(s->journal, source, payload, len, arrival.certificate_id,
		                         arrival.now_ms, &id, &diag) != JITRD_OK)
			return record_failed(s, source, arrival.certificate_id, &diag);
	}
	switch (got) {
	case JITRD_JOURNAL_REMEMBERED:
		answer_from_memory(s, &event, &memory);
		return when_open == SKIP_IF_OPEN ? 1 : 0; /* *row_id stays 0: final */
	case JITRD_JOURNAL_OPEN:
		return 1;
	case JITRD_JOURNAL_JOINED:
		say_answered(s, &event, "", join_reason, arrival.now_ms);
		return 0;
	case JITRD_JOURNAL_JUDGED:
		if (when_open != JOIN_OPEN_ROW)
			return 1; /* the sweep: nothing recorded, nothing to say */
		say_answered(s, &event, memory.status, memory.reason, arrival.now_ms);
		return 0;
	case JITRD_JOURNAL_RECORDED:
		break;
	}
	if (row_id)
		*row_id = id;
	wake_workers(s);
	return 0;
}

/* paho's thread, before the PUBACK: record and return (jitrd_mqtt_message_fn). */
int jitrd_daemon_on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
	(void)topic;
	/* DESIGN §3.3: a pending device repeats its event on every connect; while a row for the
	 * certificate is open, that row decides it, and the repeat joins it. */
	return record_event(ctx, JITRD_JOURNAL_MQTT, payload, len, JOIN_OPEN_ROW, 0, NULL);
}

int jitrd_daemon_record_sqs(struct service *s, const void *payload, size_t len, int64_t *row_id)
{
	*row_id = 0;
	/* The event came through the IoT rule from the MQTT topic: it is journaled as MQTT's. */
	return record_event(s, JITRD_JOURNAL_MQTT, payload, len, LEAVE_IF_OPEN, 0, row_id);
}

/* ---- workers ---------------------------------------------------------------------------- */

static void invalid_result(struct jitrd_pipeline_result *r, const char *reason)
{
	memset(r, 0, sizeof(*r));
	r->decision = JITRD_DECISION_INVALID;
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
}

/* One event of a worker's claimed batch once the pipeline has judged it, waiting for the
 * batch's journal transaction; the event's journal ending points into it. */
struct processed {
	struct jitrd_pipeline_result r;
	char reason[JITRD_JOURNAL_TEXT_MAX]; /* the ending's reason when it is not r's */
	char key[EVENT_KEY_SIZE];            /* the ending's remember_key */
	bool from_sqs;
};

/* The journal's side of an outcome, ready to write (*ending points into *p, which must stay
 * where it is): done, or back to pending with a capped exponential, fully jittered delay by
 * attempts (DESIGN §3: transient failures and defer are retried); with the certificate's
 * inventory row and, for a decision worth it, its memory. */
static void prepare_ending(struct service *s, const struct jitrd_journal_event *event,
                           struct processed *p, struct jitrd_journal_ending *ending)
{
	const struct jitrd_pipeline_result *r = &p->r;

	memset(ending, 0, sizeof(*ending));
	/* An event from an SQS message held by the source: SQS is the durable queue and its
	 * redelivery is the retry. The row is closed whatever the outcome, so the journal
	 * never retries it too and no two processings of one message run at once on this
	 * host; a retryable outcome lets the message go, to come back after its visibility
	 * timeout (the queue's maxReceiveCount bounds the attempts). */
	p->from_sqs = jitrd_daemon_sqs_holds(s, event->id);
	ending->id = event->id;
	ending->decision = r->decision;
	ending->reason = r->reason;
	ending->status = r->status;
	ending->now_ms = jitrd_clock_wall_ms();
	ending->cert = r->has_inventory ? &r->inventory : NULL;
	if (r->retry && p->from_sqs) {
		snprintf(p->reason, sizeof(p->reason), "%.900s; left for SQS to deliver again",
		         r->reason);
		ending->reason = p->reason;
	} else if (r->retry) {
		struct jitrd_backoff_policy policy = {RETRY_BASE_MS, RETRY_CAP_MS, 1};
		int64_t delay = jitrd_backoff_delay_ms(&policy, event->attempts, jitrd_random64());

		if (delay < RETRY_FLOOR_MS)
			delay = RETRY_FLOOR_MS;
		ending->retry = true;
		ending->next_attempt_ms = ending->now_ms + delay;
		ending->max_attempts = r->retry_limit;
	} else if (worth_remembering(s, event, r, p->key, sizeof(p->key))) {
		ending->remember_key = p->key;
		ending->certificate_id = r->certificate_id;
		ending->remember_until_ms = ending->now_ms + (int64_t)s->remember_seconds * 1000;
	}
}

/* One event's ending in a transaction of its own (jitrd_journal_finish). The inventory and
 * the memory are caches: when writing them with the outcome fails, the outcome is written
 * again alone, so that their failure does not keep it from the journal. Logs a failure. */
static enum jitrd_err finish_alone(struct service *s, struct jitrd_journal_ending *ending,
                                   enum jitrd_journal_state *state)
{
	struct jitrd_diag diag = {{0}};
	enum jitrd_err err = jitrd_journal_finish(s->journal, ending, state, &diag);

	if (err != JITRD_OK && (ending->cert || ending->remember_key)) {
		jitrd_daemon_say(s, JITRD_LOG_WARN, "journal.error", "reason", diag.text);
		ending->cert = NULL;
		ending->remember_key = NULL;
		err = jitrd_journal_finish(s->journal, ending, state, &diag);
	}
	if (err != JITRD_OK)
		jitrd_daemon_say(s, JITRD_LOG_ERROR, "journal.error", "reason", diag.text);
	return err;
}

/* What follows an event's ending once it is written (err: whether it was). */
static void after_ending(struct service *s, const struct jitrd_journal_event *event,
                         const struct processed *p, const struct jitrd_journal_ending *ending,
                         enum jitrd_journal_state state, enum jitrd_err err)
{
	if (err == JITRD_OK && ending->retry && state == JITRD_JOURNAL_FAILED) {
		char attempts[24];

		snprintf(attempts, sizeof(attempts), "%u", event->attempts + 1);
		jitrd_log_kv(s->log, JITRD_LOG_WARN, "event.given_up", "certificateId",
		             p->r.certificate_id, "attempts", attempts, "reason", p->r.reason,
		             NULL);
	}
	/* After the journal: a repeat of the message arriving now finds the row closed. */
	if (p->from_sqs)
		jitrd_daemon_sqs_finished(s, event->id, !p->r.retry && err == JITRD_OK);
}

/* The journal ends of the first n events of a batch, processed in order.
 *
 * Written in one transaction after the batch (jitrd_journal_finish_batch), not one per event:
 * the endings touch mostly the same pages, which are then written to the WAL once per batch.
 * That is safe because an event's end is not what makes it durable: its row is durable since
 * intake, before the PUBACK (or, for SQS, the message is deleted only after its row is closed
 * here). If jitrd dies after an event's AWS calls but before the batch's transaction, its row
 * is still in_progress; start-up recovery (jitrd_journal_recover) puts it back to pending, and
 * its next processing finds the certificate no longer PENDING_ACTIVATION: a skip, for one
 * DescribeCertificate. Until the transaction, a repeat of the event finds the row open and
 * joins it (jitrd_journal_intake), as any repeat during processing does. No row stays
 * in_progress longer than before: the batch ends when its last event's ending was written.
 * Outcome lines are logged as each event finishes (handle_event); what depends on the row
 * being written (event.given_up, the SQS message's fate) follows the transaction. When the
 * batch's transaction fails, each ending is written alone, as a single event's is. */
static void finish_batch(struct service *s, const struct jitrd_journal_event *events,
                         struct processed *processed, struct jitrd_journal_ending *endings,
                         enum jitrd_journal_state *states, size_t n)
{
	struct jitrd_diag diag = {{0}};
	bool alone = n == 1;

	if (n > 1 &&
	    jitrd_journal_finish_batch(s->journal, endings, n, states, &diag) != JITRD_OK) {
		jitrd_daemon_say(s, JITRD_LOG_WARN, "journal.error", "reason", diag.text);
		alone = true;
	}
	for (size_t i = 0; i < n; i++) {
		enum jitrd_err err = alone ? finish_alone(s, &endings[i], &states[i]) : JITRD_OK;

		after_ending(s, &events[i], &processed[i], &endings[i], states[i], err);
	}
}

/* Takes one event through the pipeline, logs its outcome line and prepares its journal ending
 * (written by finish_batch). */
static void handle_event(struct service *s, struct worker *w,
                         const struct jitrd_journal_event *event, struct processed *p,
                         struct jitrd_journal_ending *ending)
{
	struct jitrd_pipeline_result *r = &p->r;
	struct jitrd_outcome outcome;
	struct jitrd_runtime *rt;
	int64_t started = jitrd_clock_mono_ms();
	int64_t now_ms;
	bool counted = true; /* the pipeline counts the events it judges in the metrics */

	jitrd_metrics_add_inflight(s->metrics, 1);
	if (event->truncated) {
		/* Only the first JITRD_JOURNAL_MAX_PAYLOAD bytes were kept: judge the size. */
		invalid_result(r, "event larger than 65536 bytes");
		counted = false;
	} else {
		rt = jitrd_daemon_runtime(s);
		if (jitrd_pipeline_process(s->online.pipeline, w->session, rt,
		                           (const char *)event->payload, event->payload_len,
		                           time(NULL), r) != JITRD_OK) {
			/* NOMEM: the event stays in the journal and is tried again */
			r->decision = JITRD_DECISION_FAILED;
			snprintf(r->reason, sizeof(r->reason), "out of memory");
			r->retry = 1;
			counted = false;
		}
		jitrd_runtime_unref(rt);
	}
	if (r->duration_ms == 0)
		r->duration_ms = (uint64_t)(jitrd_clock_mono_ms() - started);
	now_ms = jitrd_clock_wall_ms();
	jitrd_pipeline_outcome(r, (time_t)(now_ms / 1000), &outcome);
	outcome.time_ms = (int)(now_ms % 1000);
	jitrd_log_outcome(s->log, &outcome);
	if (!counted)
		jitrd_metrics_event(s->metrics, r->decision, (double)r->duration_ms / 1000.0);
	prepare_ending(s, event, p, ending);
	jitrd_metrics_add_inflight(s->metrics, -1);
}

/* Processes events[0..count) in order, then writes their journal ends together. On stop,
 * events not started stay in_progress: the next start's recovery puts them back to pending
 * (as after a crash); those processed are still written. */
static void work_batch(struct service *s, struct worker *w,
                       const struct jitrd_journal_event *events, size_t count,
                       struct processed *processed, struct jitrd_journal_ending *endings,
                       enum jitrd_journal_state *states)
{
	size_t done = 0;

	for (; done < count && !is_stopping(s); done++)
		handle_event(s, w, &events[done], &processed[done], &endings[done]);
	finish_batch(s, events, processed, endings, states, done);
}

/* Processes a claim: as one batch, or (no memory for the batch's state) one event at a time. */
static void work_claim(struct service *s, struct worker *w,
                       const struct jitrd_journal_event *events, size_t count)
{
	struct processed *processed = calloc(count, sizeof(*processed));
	struct jitrd_journal_ending *endings = calloc(count, sizeof(*endings));
	enum jitrd_journal_state *states = calloc(count, sizeof(*states));

	if (processed && endings && states) {
		work_batch(s, w, events, count, processed, endings, states);
	} else {
		struct processed one;
		struct jitrd_journal_ending ending;
		enum jitrd_journal_state state;

		for (size_t i = 0; i < count && !is_stopping(s); i++)
			work_batch(s, w, &events[i], 1, &one, &ending, &state);
	}
	free(states);
	free(endings);
	free(processed);
}

static void thread_exit(struct service *s)
{
	pthread_mutex_lock(&s->lock);
	s->running--;
	pthread_cond_broadcast(&s->exited);
	pthread_mutex_unlock(&s->lock);
}

/* A worker took (busy) or finished a claimed batch: the start-up sweep waits for the
 * workers to be idle a while (reconcile_main). */
static void note_busy(struct service *s, bool busy)
{
	int64_t now = jitrd_clock_mono_ms();

	pthread_mutex_lock(&s->lock);
	if (busy) {
		s->busy_workers++;
	} else {
		s->busy_workers--;
		s->last_activity_ms = now;
	}
	pthread_mutex_unlock(&s->lock);
}

size_t jitrd_daemon_claim_size(size_t due, size_t workers)
{
	size_t share;

	if (workers <= 1)
		return CLAIM_BATCH;
	/* An equal share of what is due, rounded down: a batch is worked one event after another,
	 * so a worker holding four of the last events keeps the run going for four events' time
	 * while the others are idle. At least one, or the worker would not look. */
	share = due / workers;
	if (share < 1)
		return 1;
	return share < CLAIM_BATCH ? share : CLAIM_BATCH;
}

/* How many events a worker's next claim takes: CLAIM_BATCH while the backlog is long, fewer
 * near its end. The count reads at most workers x CLAIM_BATCH index entries; if it fails, the
 * claim that follows fails the same way and says so. */
static size_t claim_size(struct service *s, int64_t now_ms)
{
	struct jitrd_diag diag = {{0}};
	size_t due = 0;

	if (s->worker_count <= 1)
		return CLAIM_BATCH;
	if (jitrd_journal_due_count(s->journal, now_ms, s->worker_count * CLAIM_BATCH, &due,
	                            &diag) != JITRD_OK)
		return CLAIM_BATCH;
	return jitrd_daemon_claim_size(due, s->worker_count);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct service *s = w->service;

	for (;;) {
		struct jitrd_journal_event *events = NULL;
		struct jitrd_diag diag = {{0}};
		size_t count = 0;
		unsigned long seen;
		int64_t now_ms;

		pthread_mutex_lock(&s->lock);
		if (s->stopping) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		seen = s->wake_seq;
		pthread_mutex_unlock(&s->lock);

		now_ms = jitrd_clock_wall_ms();
		if (jitrd_journal_claim(s->journal, now_ms, claim_size(s, now_ms), &events, &count,
		                        &diag) != JITRD_OK) {
			jitrd_daemon_say(s, JITRD_LOG_ERROR, "journal.error", "reason", diag.text);
			count = 0;
		}
		if (count > 0) {
			note_busy(s, true);
			work_claim(s, w, events, count);
		}
		jitrd_journal_events_free(events, count);
		if (count > 0) {
			note_busy(s, false);
			continue;
		}

		pthread_mutex_lock(&s->lock);
		if (!s->stopping && s->wake_seq == seen) {
			struct timespec until =
			    jitrd_clock_mono_at(jitrd_clock_mono_ms() + POLL_MS);
			pthread_cond_timedwait(&s->work, &s->lock, &until);
		}
		pthread_mutex_unlock(&s->lock);
	}
	thread_exit(s);
	return NULL;
}

/* ---- reconcile -------------------------------------------------------------------------- */

struct sweep {
	struct service *s;
	int64_t began_ms; /* before the listing's first request */
	size_t queued;
};

static int on_pending_certificate(void *ctx, const char *payload, size_t len)
{
	struct sweep *sweep = ctx;

	if (is_stopping(sweep->s))
		return 1;
	if (record_event(sweep->s, JITRD_JOURNAL_RECONCILE, payload, len, SKIP_IF_OPEN,
	                 sweep->began_ms, NULL) == 0)
		sweep->queued++;
	return 0;
}

/* With several hosts (jitrd_config_reconcile_lease), true only while this one holds the
 * reconcile lease, so that their sweeps do not multiply the listing calls. */
static bool lease_held(struct service *s, const struct jitrd_runtime *rt)
{
	char host[256] = "", holder[JITRD_LEASE_MAX_HOLDER], seen[JITRD_LEASE_MAX_HOLDER] = "";
	struct jitrd_diag diag = {{0}};
	int held = 0;

	if (!jitrd_config_reconcile_lease(rt->cfg))
		return true;
	/* host and process: two daemons on one host are two holders */
	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = '\0';
	if (jitrd_lease_holder(host, (long)getpid(), holder, sizeof(holder)) != JITRD_OK ||
	    jitrd_pipeline_reconcile_lease(s->reconcile_session,
	                                   rt->cfg->service.reconcile_lease_thing, holder,
	                                   jitrd_clock_wall_ms() / 1000, s->reconcile_seconds,
	                                   &held, seen, &diag) != JITRD_OK) {
		/* Sweep anyway: the sweep is the safety net for missed events, and a lease that
		 * cannot be read or taken (a policy without iot:UpdateThing, an outage) should cost
		 * API calls, not events. */
		jitrd_daemon_say(s, JITRD_LOG_WARN, "reconcile.lease_failed", "reason", diag.text);
		return true;
	}
	if (!held)
		jitrd_log_kv(s->log, JITRD_LOG_INFO, "reconcile.skipped", "lease_holder", seen,
		             NULL);
	return held;
}

static void reconcile_once(struct service *s)
{
	struct jitrd_runtime *rt = jitrd_daemon_runtime(s);
	struct sweep sweep = {s, 0, 0};
	struct jitrd_diag diag = {{0}};
	size_t count = 0;
	char found[24], queued[24];

	if (!lease_held(s, rt)) {
		jitrd_runtime_unref(rt);
		return;
	}
	sweep.began_ms = jitrd_clock_wall_ms();
	if (jitrd_pipeline_pending_events(s->reconcile_session, rt, on_pending_certificate, &sweep,
	                                  &count, &diag) != JITRD_OK) {
		jitrd_daemon_say(s, JITRD_LOG_WARN, "reconcile.failed", "reason", diag.text);
	} else {
		snprintf(found, sizeof(found), "%zu", count);
		snprintf(queued, sizeof(queued), "%zu", sweep.queued);
		jitrd_log_kv(s->log, JITRD_LOG_INFO, "reconcile.done", "pending", found, "queued",
		             queued, NULL);
	}
	jitrd_runtime_unref(rt);
}

/* Why the start-up sweep should wait now, or NULL when it may begin: an event source that
 * delivers (its start-up backlog, mostly) records what the sweep would list, and both copies
 * would then cost an intake each. Called and returns with s->lock held; *until: when to look
 * again. */
static const char *busy_with_backlog(struct service *s, int64_t now, int64_t since,
                                     bool sqs_answering, int64_t *until)
{
	int64_t quiet_since = s->last_activity_ms > since ? s->last_activity_ms : since;

	if (s->mqtt_configured && !s->mqtt) {
		/* still connecting (its start is bounded; a failure stops the service) */
		*until = now + STARTUP_QUIET_MS;
		return "the MQTT source is starting";
	}
	/* No source connected: nothing arrives that the sweep would duplicate, and missed
	 * events are what the sweep is for. */
	if (!(s->mqtt && jitrd_mqtt_source_connected(s->mqtt)) && !sqs_answering)
		return NULL;
	if (s->busy_workers > 0) {
		*until = now + STARTUP_QUIET_MS;
		return "workers are busy with events";
	}
	if (now - quiet_since < STARTUP_QUIET_MS) {
		*until = quiet_since + STARTUP_QUIET_MS;
		return "events are arriving";
	}
	return NULL;
}

/* Before the start-up sweep: until the event sources and workers have been quiet for
 * STARTUP_QUIET_MS, at most STARTUP_WAIT_MAX_MS (or reconcile_seconds when shorter), or
 * until stop. Logs reconcile.waiting once, with the first reason. */
static void wait_for_backlog(struct service *s)
{
	int64_t since = jitrd_clock_mono_ms();
	int64_t latest = since + STARTUP_WAIT_MAX_MS;
	bool said = false;

	if (s->reconcile_seconds > 0 && (int64_t)s->reconcile_seconds * 1000 < STARTUP_WAIT_MAX_MS)
		latest = since + (int64_t)s->reconcile_seconds * 1000;
	for (;;) {
		/* outside s->lock: the SQS source has its own */
		bool sqs_answering = false;
		char no_reason[8];
		const char *reason;
		int64_t now, until = latest;

		if (s->sqs_configured)
			sqs_answering = jitrd_daemon_sqs_health(s, no_reason, sizeof(no_reason));
		pthread_mutex_lock(&s->lock);
		now = jitrd_clock_mono_ms();
		reason = s->stopping || now >= latest
		             ? NULL
		             : busy_with_backlog(s, now, since, sqs_answering, &until);
		if (reason && said) {
			struct timespec at = jitrd_clock_mono_at(until < latest ? until : latest);
			pthread_cond_timedwait(&s->reconcile, &s->lock, &at);
		}
		pthread_mutex_unlock(&s->lock);
		if (!reason)
			return;
		if (!said) {
			char most[24];

			snprintf(most, sizeof(most), "%" PRId64, (latest - since + 999) / 1000);
			jitrd_log_kv(s->log, JITRD_LOG_INFO, "reconcile.waiting", "reason", reason,
			             "at_most_seconds", most, NULL);
			said = true;
		}
	}
}

/* At start-up (always: it also recovers events whose journal write failed) once the start-up
 * backlog is processed (wait_for_backlog), then every reconcile_seconds until stop (0: no
 * periodic sweep; the thread then just waits). */
static void *reconcile_main(void *arg)
{
	struct service *s = arg;
	int64_t next = jitrd_clock_mono_ms();

	wait_for_backlog(s);
	for (;;) {
		pthread_mutex_lock(&s->lock);
		while (!s->stopping && jitrd_clock_mono_ms() < next) {
			struct timespec until = jitrd_clock_mono_at(next);
			pthread_cond_timedwait(&s->reconcile, &s->lock, &until);
		}
		if (s->stopping) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		pthread_mutex_unlock(&s->lock);
		reconcile_once(s);
		next = jitrd_clock_mono_ms() + (s->reconcile_seconds > 0
		                                    ? (int64_t)s->reconcile_seconds
		                                    : (int64_t)10 * 365 * 24 * 3600) *
		                                   1000;
	}
	thread_exit(s);
	return NULL;
}
/* ---- threads --------------------------------------------------------------------------- */

enum jitrd_err jitrd_daemon_sync_init(struct service *s)
{
	pthread_condattr_t mono;
	pthread_cond_t *conds[] = {&s->work, &s->reconcile, &s->exited};
	size_t made = 0;
	enum jitrd_err result = JITRD_ERR_NOMEM;

	if (pthread_condattr_init(&mono) != 0)
		return JITRD_ERR_NOMEM;
	/* The waits are deadlines on CLOCK_MONOTONIC (jitrd_clock_mono_at). */
	if (pthread_condattr_setclock(&mono, CLOCK_MONOTONIC) != 0 ||
	    pthread_mutex_init(&s->lock, NULL) != 0)
		goto cleanup;
	if (pthread_mutex_init(&s->reload_lock, NULL) != 0) {
		pthread_mutex_destroy(&s->lock);
		goto cleanup;
	}
	for (; made < sizeof(conds) / sizeof(conds[0]); made++)
		if (pthread_cond_init(conds[made], &mono) != 0)
			break;
	if (made < sizeof(conds) / sizeof(conds[0])) {
		while (made > 0)
			pthread_cond_destroy(conds[--made]);
		pthread_mutex_destroy(&s->reload_lock);
		pthread_mutex_destroy(&s->lock);
		goto cleanup;
	}
	result = JITRD_OK;
cleanup:
	pthread_condattr_destroy(&mono);
	return result;
}

void jitrd_daemon_sync_cleanup(struct service *s)
{
	pthread_cond_destroy(&s->exited);
	pthread_cond_destroy(&s->reconcile);
	pthread_cond_destroy(&s->work);
	pthread_mutex_destroy(&s->reload_lock);
	pthread_mutex_destroy(&s->lock);
}

enum jitrd_err jitrd_daemon_start_threads(struct service *s, size_t workers)
{
	s->workers = calloc(workers, sizeof(*s->workers));
	if (!s->workers)
		return JITRD_ERR_NOMEM;
	/* Sessions first, so a thread never starts without its connection. */
	for (size_t i = 0; i < workers; i++) {
		s->workers[i].service = s;
		if (jitrd_iot_session_new(s->online.client, &s->workers[i].session) != JITRD_OK)
			return JITRD_ERR_NOMEM;
		s->worker_count++;
	}
	if (jitrd_iot_session_new(s->online.client, &s->reconcile_session) != JITRD_OK)
		return JITRD_ERR_NOMEM;
	for (size_t i = 0; i < s->worker_count; i++) {
		pthread_mutex_lock(&s->lock);
		s->running++;
		pthread_mutex_unlock(&s->lock);
		if (pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]) != 0) {
			thread_exit(s);
			return JITRD_ERR_NOMEM;
		}
		s->workers[i].started = true;
	}
	if (s->reconcile_session) {
		pthread_mutex_lock(&s->lock);
		s->running++;
		pthread_mutex_unlock(&s->lock);
		if (pthread_create(&s->reconciler, NULL, reconcile_main, s) != 0) {
			thread_exit(s);
			return JITRD_ERR_NOMEM;
		}
		s->reconciler_started = true;
	}
	return JITRD_OK;
}

bool jitrd_daemon_stop_threads(struct service *s, int deadline_seconds)
{
	struct timespec until =
	    jitrd_clock_mono_at(jitrd_clock_mono_ms() + (int64_t)deadline_seconds * 1000);
	bool all_ended;

	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->work);
	pthread_cond_broadcast(&s->reconcile);
	while (s->running > 0)
		if (pthread_cond_timedwait(&s->exited, &s->lock, &until) == ETIMEDOUT)
			break;
	all_ended = s->running == 0;
	pthread_mutex_unlock(&s->lock);
	if (!all_ended)
		return false;
	for (size_t i = 0; i < s->worker_count; i++)
		if (s->workers[i].started)
			pthread_join(s->workers[i].thread, NULL);
	if (s->reconciler_started)
		pthread_join(s->reconciler, NULL);
	return true;
}

void jitrd_daemon_free_threads(struct service *s)
{
	for (size_t i = 0; i < s->worker_count; i++)
		jitrd_iot_session_free(s->workers[i].session);
	free(s->workers);
	s->workers = NULL;
	s->worker_count = 0;
	jitrd_iot_session_free(s->reconcile_session);
	s->reconcile_session = NULL;
}
