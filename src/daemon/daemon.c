/* service.c — `jitrd run`: assembles the journal, the IoT client, the pipeline, the workers, the
 * reconcile thread, the health server and the MQTT source, and runs until SIGTERM/SIGINT.
 * The MQTT callback only records; workers do the network work. Signals are taken synchronously
 * (sigtimedwait) in the main thread: no code runs in a signal handler. */
#include "jitrd/service.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jitrd/backoff.h"
#include "jitrd/clock.h"
#include "jitrd/credentials.h"
#include "jitrd/event.h"
#include "jitrd/files.h"
#include "jitrd/http_status.h"
#include "jitrd/iot_client.h"
#include "jitrd/journal.h"
#include "jitrd/log.h"
#include "jitrd/metrics.h"
#include "jitrd/mqtt_source.h"
#include "jitrd/notify.h"
#include "jitrd/pipeline.h"
#include "jitrd/runtime.h"
#include "jitrd/text.h"

#define CLAIM_BATCH    4      /* events a worker claims at once */
#define POLL_MS        1000   /* workers look for retries that fell due at least this often */
#define RETRY_BASE_MS  2000   /* journal retries: first window; doubled per attempt ... */
#define RETRY_CAP_MS   300000 /* ... up to five minutes */
#define RETRY_FLOOR_MS 250    /* full jitter may draw 0: never spin on a failing event */
#define MQTT_STOP_MS   2000
#define JOURNAL_FILE   "journal.db"
#define LOCK_FILE      "jitrd.lock"
/* How often stale in-progress rows are looked for, and how much longer than the event
 * deadline a claim may last before its row is handed out again. */
#define REQUEUE_CHECK_MS       60000
#define REQUEUE_MARGIN_SECONDS 60
#define STATE_PATH_MAX         4096

struct service;

struct worker {
	struct service *service;
	struct jitrd_iot_session *session;
	pthread_t thread;
	bool started;
};

struct service {
	const struct jitrd_service_options *opts;
	int lock_fd; /* flock on state_dir/jitrd.lock: one service per journal; -1 before */
	struct jitrd_runtime
	    *boot_rt; /* the start-up snapshot: the client's settings came from it */
	struct jitrd_log *log;
	struct jitrd_metrics *metrics;
	struct jitrd_journal *journal;
	struct jitrd_credentials_provider *creds;
	struct jitrd_iot_client *client;
	struct jitrd_pipeline *pipeline;
	struct jitrd_http_status *http;
	struct jitrd_notify *notify; /* systemd's Type=notify (deploy/systemd), or nothing */
	struct worker *workers;
	size_t worker_count;
	struct jitrd_iot_session *reconcile_session;
	pthread_t reconciler;
	bool reconciler_started;
	bool mqtt_configured;
	int reconcile_seconds;
	int subscribe_grace_seconds;
	int remember_seconds;
	int journal_max_rows;
	struct jitrd_crl_floors *crl_floors; /* highest CRL numbers accepted; main thread only */

	/* The one lock of the service: the current snapshot, the MQTT source pointer (readiness
	 * reads it from the HTTP thread), the wake-up sequence and the stop flag. Held only for
	 * a few instructions, never across a call that does I/O but the readiness probe's. */
	pthread_mutex_t lock;
	pthread_cond_t work;      /* an event was recorded, or stop */
	pthread_cond_t reconcile; /* stop */
	pthread_cond_t exited;    /* a thread ended (running went down) */
	struct jitrd_runtime *rt; /* current snapshot; workers take a reference per event */
	struct jitrd_mqtt_source *mqtt;
	unsigned long wake_seq;
	unsigned running; /* worker and reconcile threads not yet ended */
	bool stopping;
};

static void say(struct service *s, enum jitrd_log_level level, const char *event, const char *key,
                const char *value)
{
	jitrd_log_kv(s->log, level, event, key, value, NULL);
}

/* A reference to the current snapshot, for one event or one sweep. */
static struct jitrd_runtime *current_runtime(struct service *s)
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

static void wake_workers(struct service *s)
{
	pthread_mutex_lock(&s->lock);
	s->wake_seq++;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->lock);
}

/* What record_event does with an event whose certificate already has an open journal row. */
enum when_open {
	JOIN_OPEN_ROW, /* record it as a skip that joined the open row (MQTT: audit trail kept) */
	SKIP_IF_OPEN,  /* do not record it at all (reconcile: the sweep found what is known) */
};

/* What a remembered decision rests on besides the certificate: the event's CA, account and
 * status (a forged event with another CA or account must not get the genuine one skipped). */
static void event_key(const struct jitrd_event *event, char *out, size_t size)
{
	snprintf(out, size, "%s/%s/%s", event->ca_certificate_id, event->aws_account_id,
	         event->certificate_status);
}

/* A repeat of an event whose certificate has a final decision remembered (reject, ignore):
 * answered with that decision's outcome line as a skip, with no event row and no API call;
 * the remembered row counts it. 1 when answered; 0 when the event goes on as usual (nothing
 * remembered, remembering off, or the journal failed: a duplicate costs less than a loss). */
static int answered_from_memory(struct service *s, const struct jitrd_event *event)
{
	struct jitrd_journal_memory memory;
	struct jitrd_pipeline_result repeat = {0};
	struct jitrd_outcome outcome;
	struct jitrd_diag diag = {{0}};
	char key[160];
	bool found = false;

	if (s->remember_seconds <= 0)
		return 0;
	event_key(event, key, sizeof(key));
	if (jitrd_journal_recall(s->journal, event->certificate_id, key, jitrd_clock_wall_ms(),
	                         &memory, &found, &diag) != JITRD_OK) {
		say(s, JITRD_LOG_ERROR, "journal.error", "reason", diag.text);
		return 0;
	}
	if (!found)
		return 0;
	repeat.decision = JITRD_DECISION_SKIP;
	snprintf(repeat.reason, sizeof(repeat.reason),
	         "repeat of a remembered %s (%" PRIu64 " repeats): %.180s", memory.decision,
	         memory.repeats, memory.reason);
	jitrd_text_copy(repeat.certificate_id, sizeof(repeat.certificate_id),
	                event->certificate_id);
	jitrd_text_copy(repeat.ca_certificate_id, sizeof(repeat.ca_certificate_id),
	                event->ca_certificate_id);
	jitrd_text_copy(repeat.status, sizeof(repeat.status), memory.status);
	jitrd_pipeline_outcome(&repeat, time(NULL), &outcome);
	jitrd_log_outcome(s->log, &outcome);
	jitrd_metrics_event(s->metrics, JITRD_DECISION_SKIP, 0.0);
	return 1;
}

/* Remembers a final decision that a repeat of the event would only confirm: reject (the
 * certificate itself is refused) and ignore (not ours, not pending). Not defer, which must be
 * retried; not activate, revoke or hold, whose AWS status already makes a repeat a skip;
 * not failed or invalid; not a reject that time alone may undo (the device or its CA not
 * valid yet, the CA unusable now). A reload forgets them all (see reload). */
static void remember_decision(struct service *s, const struct jitrd_journal_event *event,
                              const struct jitrd_pipeline_result *r, int64_t now)
{
	struct jitrd_event parsed;
	struct jitrd_diag diag = {{0}};
	char key[160];

	if (s->remember_seconds <= 0 || r->retry || !r->certificate_id[0] ||
	    (r->decision != JITRD_DECISION_REJECT && r->decision != JITRD_DECISION_IGNORE) ||
	    r->time_may_change)
		return;
	if (event->truncated || jitrd_event_parse((const char *)event->payload, event->payload_len,
	                                          &parsed, NULL) != JITRD_OK)
		return;
	event_key(&parsed, key, sizeof(key));
	if (jitrd_journal_remember(s->journal, r->certificate_id, key,
	                           jitrd_decision_name(r->decision), r->reason, r->status, now,
	                           now + (int64_t)s->remember_seconds * 1000, &diag) != JITRD_OK)
		say(s, JITRD_LOG_WARN, "journal.error", "reason", diag.text);
}

/* Records one event (DESIGN §5.3: before the MQTT callback returns, so a PUBACKed event
 * survives a crash). The event is parsed only to learn its certificate id, which the journal
 * keeps for coalescing; the workers judge it. Never touches the network. 0: recorded (or
 * joined); 1: skipped (SKIP_IF_OPEN); -1: the journal failed (logged). */

static int record_event(struct service *s, enum jitrd_journal_source source, const void *payload,
                        size_t len, enum when_open when_open)
{
	struct jitrd_event event;
	struct jitrd_diag diag = {{0}};
	const char *certificate_id = NULL;
	bool open = false;
	int64_t id;

	if (len <= JITRD_EVENT_MAX_BYTES &&
	    jitrd_event_parse(payload, len, &event, NULL) == JITRD_OK)
		certificate_id = event.certificate_id;
	if (certificate_id && answered_from_memory(s, &event))
		return when_open == SKIP_IF_OPEN ? 1 : 0;
	if (certificate_id &&
	    jitrd_journal_has_pending_for(s->journal, certificate_id, &open, &diag) != JITRD_OK) {
		say(s, JITRD_LOG_ERROR, "journal.error", "reason", diag.text);
		open = false; /* record it anyway: a duplicate costs less than a lost event */
	}
	if (open && when_open == SKIP_IF_OPEN)
		return 1;
	if (jitrd_journal_record(s->journal, source, payload, len, certificate_id,
	                         jitrd_clock_wall_ms(), &id, &diag) != JITRD_OK) {
		jitrd_log_kv(s->log, JITRD_LOG_ERROR, "journal.record_failed", "source",
		             jitrd_journal_source_name(source), "certificateId",
		             certificate_id ? certificate_id : "", "reason", diag.text, NULL);
		return -1;
	}
	if (open) {
		/* DESIGN §3.3: the open row decides the certificate and this repeat joins it, so a
		 * device reconnecting during a CRL outage does not multiply the API calls. The
		 * row stays in the audit trail with its own outcome. */
		struct jitrd_pipeline_result joined = {0};
		struct jitrd_outcome outcome;

		joined.decision = JITRD_DECISION_SKIP;
		snprintf(joined.reason, sizeof(joined.reason),
		         "joined the open event for this certificate");
		snprintf(joined.certificate_id, sizeof(joined.certificate_id), "%s",
		         certificate_id);
		snprintf(joined.ca_certificate_id, sizeof(joined.ca_certificate_id), "%s",
		         event.ca_certificate_id);
		if (jitrd_journal_complete(s->journal, id, "skip", joined.reason, "",
		                           jitrd_clock_wall_ms(), &diag) == JITRD_OK) {
			jitrd_pipeline_outcome(&joined, time(NULL), &outcome);
			jitrd_log_outcome(s->log, &outcome);
			jitrd_metrics_event(s->metrics, JITRD_DECISION_SKIP, 0.0);
			return 0;
		}
		say(s, JITRD_LOG_ERROR, "journal.error", "reason", diag.text);
	}
	wake_workers(s);
	return 0;
}

/* paho's thread, before the PUBACK: record and return (jitrd_mqtt_message_fn). */
static int on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
	(void)topic;
	/* DESIGN §3.3: a pending device repeats its event on every connect; while a row for the
	 * certificate is open, that row decides it, and the repeat joins it. */
	return record_event(ctx, JITRD_JOURNAL_MQTT, payload, len, JOIN_OPEN_ROW);
}

/* ---- workers ---------------------------------------------------------------------------- */

static void invalid_result(struct jitrd_pipeline_result *r, const char *reason)
{
	memset(r, 0, sizeof(*r));
	r->decision = JITRD_DECISION_INVALID;
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
}

/* The journal's side of an outcome: done, or back to pending with a capped exponential,
 * fully jittered delay by attempts (DESIGN §3: transient failures and defer are retried). */
static void finish_in_journal(struct service *s, const struct jitrd_journal_event *event,
                              const struct jitrd_pipeline_result *r)
{
	struct jitrd_diag diag = {{0}};
	int64_t now = jitrd_clock_wall_ms();
	enum jitrd_err err;

	if (r->retry) {
		struct jitrd_backoff_policy policy = {RETRY_BASE_MS, RETRY_CAP_MS, 1};
		enum jitrd_journal_state state = JITRD_JOURNAL_PENDING;
		int64_t delay = jitrd_backoff_delay_ms(&policy, event->attempts, jitrd_random64());
		char attempts[24];

		if (delay < RETRY_FLOOR_MS)
			delay = RETRY_FLOOR_MS;
		err = jitrd_journal_retry_bounded(s->journal, event->id, now + delay, r->reason,
		                                  now, r->retry_limit, &state, &diag);
		if (err == JITRD_OK && state == JITRD_JOURNAL_FAILED) {
			snprintf(attempts, sizeof(attempts), "%u", event->attempts + 1);
			jitrd_log_kv(s->log, JITRD_LOG_WARN, "event.given_up", "certificateId",
			             r->certificate_id, "attempts", attempts, "reason", r->reason,
			             NULL);
		}
	} else {
		/* Remembered first: a repeat arriving meanwhile then finds the memory. */
		remember_decision(s, event, r, now);
		err =
		    jitrd_journal_complete(s->journal, event->id, jitrd_decision_name(r->decision),
		                           r->reason, r->status, now, &diag);
	}
	if (err != JITRD_OK)
		say(s, JITRD_LOG_ERROR, "journal.error", "reason", diag.text);
}

static void handle_event(struct service *s, struct worker *w,
                         const struct jitrd_journal_event *event)
{
	struct jitrd_pipeline_result r;
	struct jitrd_outcome outcome;
	struct jitrd_runtime *rt;
	int64_t started = jitrd_clock_mono_ms();
	int64_t now_ms;
	bool counted = true; /* the pipeline counts the events it judges in the metrics */

	jitrd_metrics_add_inflight(s->metrics, 1);
	if (event->truncated) {
		/* Only the first JITRD_JOURNAL_MAX_PAYLOAD bytes were kept: judge the size. */
		invalid_result(&r, "event larger than 65536 bytes");
		counted = false;
	} else {
		rt = current_runtime(s);
		if (jitrd_pipeline_process(s->pipeline, w->session, rt,
		                           (const char *)event->payload, event->payload_len,
		                           time(NULL), &r) != JITRD_OK) {
			/* NOMEM: the event stays in the journal and is tried again */
			r.decision = JITRD_DECISION_FAILED;
			snprintf(r.reason, sizeof(r.reason), "out of memory");
			r.retry = 1;
			counted = false;
		}
		jitrd_runtime_unref(rt);
	}
	if (r.duration_ms == 0)
		r.duration_ms = (uint64_t)(jitrd_clock_mono_ms() - started);
	now_ms = jitrd_clock_wall_ms();
	jitrd_pipeline_outcome(&r, (time_t)(now_ms / 1000), &outcome);
	outcome.time_ms = (int)(now_ms % 1000);
	jitrd_log_outcome(s->log, &outcome);
	if (!counted)
		jitrd_metrics_event(s->metrics, r.decision, (double)r.duration_ms / 1000.0);
	finish_in_journal(s, event, &r);
	jitrd_metrics_add_inflight(s->metrics, -1);
}

static void thread_exit(struct service *s)
{
	pthread_mutex_lock(&s->lock);
	s->running--;
	pthread_cond_broadcast(&s->exited);
	pthread_mutex_unlock(&s->lock);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct service *s = w->service;

	for (;;) {
		struct jitrd_journal_event *events = NULL;
		struct jitrd_diag diag = {{0}};
		size_t count = 0, done = 0;
		unsigned long seen;

		pthread_mutex_lock(&s->lock);
		if (s->stopping) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		seen = s->wake_seq;
		pthread_mutex_unlock(&s->lock);

		if (jitrd_journal_claim(s->journal, jitrd_clock_wall_ms(), CLAIM_BATCH, &events,
		                        &count, &diag) != JITRD_OK) {
			say(s, JITRD_LOG_ERROR, "journal.error", "reason", diag.text);
			count = 0;
		}
		/* On stop, claimed events not yet started stay in_progress: the next start's
		 * recovery puts them back to pending (as after a crash). */
		for (; done < count && !is_stopping(s); done++)
			handle_event(s, w, &events[done]);
		jitrd_journal_events_free(events, count);
		if (count > 0)
			continue;

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
	size_t queued;
};

static int on_pending_certificate(void *ctx, const char *payload, size_t len)
{
	struct sweep *sweep = ctx;

	if (is_stopping(sweep->s))
		return 1;
	if (record_event(sweep->s, JITRD_JOURNAL_RECONCILE, payload, len, SKIP_IF_OPEN) == 0)
		sweep->queued++;
	return 0;
}

static void reconcile_once(struct service *s)
{
	struct jitrd_runtime *rt = current_runtime(s);
	struct sweep sweep = {s, 0};
	struct jitrd_diag diag = {{0}};
	size_t count = 0;
	char found[24], queued[24];

	if (jitrd_pipeline_pending_events(s->reconcile_session, rt, on_pending_certificate, &sweep,
	                                  &count, &diag) != JITRD_OK) {
		say(s, JITRD_LOG_WARN, "reconcile.failed", "reason", diag.text);
	} else {
		snprintf(found, sizeof(found), "%zu", count);
		snprintf(queued, sizeof(queued), "%zu", sweep.queued);
		jitrd_log_kv(s->log, JITRD_LOG_INFO, "reconcile.done", "pending", found, "queued",
		             queued, NULL);
	}
	jitrd_runtime_unref(rt);
}

/* At start-up (always: it also recovers events whose journal write failed), then every
 * reconcile_seconds until stop (0: no periodic sweep; the thread then just waits). */
static void *reconcile_main(void *arg)
{
	struct service *s = arg;
	int64_t next = jitrd_clock_mono_ms();

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

/* ---- CRL freshness, readiness ----------------------------------------------------------- */

static bool crl_stale(const struct jitrd_crl_info *info, time_t now)
{
	return info->next_update == 0 || now > info->next_update;
}

static void set_crl_metrics(struct service *s, const struct jitrd_runtime *rt)
{
	jitrd_metrics_clear_crl(s->metrics);
	for (size_t i = 0; i < jitrd_caset_count(rt->cas); i++) {
		const struct jitrd_cert *ca = jitrd_caset_at(rt->cas, i);
		const struct jitrd_crl_info *info = jitrd_crl_store_info(rt->crls, ca);

		if (info)
			jitrd_metrics_set_crl(s->metrics, jitrd_cert_id(ca), info->entries,
			                      (int64_t)info->next_update);
	}
}

/* With [ca] anchors: a registered CA that an anchor revoked activates nothing, yet AWS keeps
 * it ACTIVE until the operator deactivates it there, so it is said loudly at every load. */
static void log_ca_revocation(struct service *s, const struct jitrd_runtime *rt, size_t i,
                              time_t now)
{
	const struct jitrd_cert *ca = jitrd_caset_at(rt->cas, i);
	struct jitrd_decision_context ctx;
	struct jitrd_decision d;

	if (!rt->anchors)
		return;
	jitrd_runtime_context(rt, &ctx);
	jitrd_decision_init(&d);
	if (jitrd_decide_ca(&ctx, ca, now, &d) != JITRD_OK)
		return;
	if (d.kind == JITRD_DECISION_REJECT)
		jitrd_log_kv(s->log, JITRD_LOG_ERROR, "ca.revoked", "ca", jitrd_cert_id(ca),
		             "origin", jitrd_caset_origin_at(rt->cas, i), "reason", d.reason, NULL);
	else if (d.kind == JITRD_DECISION_DEFER)
		jitrd_log_kv(s->log, JITRD_LOG_WARN, "ca.deferred", "ca", jitrd_cert_id(ca),
		             "origin", jitrd_caset_origin_at(rt->cas, i), "reason", d.reason, NULL);
}

/* Logs what a snapshot holds: CAs, CAs with a CRL, entries, stale CRLs, refused files. */
static void log_snapshot(struct service *s, const char *event, const char *trigger,
                         const struct jitrd_runtime *rt)
{
	size_t with_crl = 0, entries = 0, stale = 0, refused = 0;
	const char *first_refusal = "";
	time_t now = time(NULL);
	char cas[24], crls[24], entry_text[24], stale_text[24], refused_text[24];

	for (size_t i = 0; i < jitrd_caset_count(rt->cas); i++) {
		const struct jitrd_crl_info *info =
		    jitrd_crl_store_info(rt->crls, jitrd_caset_at(rt->cas, i));
		struct jitrd_diag why = {{0}};
		/* a CA that cannot anchor a path rejects every device it signed: say so */
		if (jitrd_caset_check_ca(rt->cas, i, now, &why) != JITRD_OK)
			jitrd_log_kv(s->log, JITRD_LOG_WARN, "ca.unusable", "ca",
			             jitrd_cert_id(jitrd_caset_at(rt->cas, i)), "origin",
			             jitrd_caset_origin_at(rt->cas, i), "reason", why.text, NULL);
		log_ca_revocation(s, rt, i, now);
		if (!info)
			continue;
		with_crl++;
		entries += info->entries;
		stale += crl_stale(info, now);
	}
	for (size_t i = 0; i < jitrd_crl_builder_file_count(rt->crl_builder); i++) {
		const struct jitrd_crl_file_report *f =
		    jitrd_crl_builder_file_at(rt->crl_builder, i);
		if (f->result != JITRD_OK && f->result != JITRD_ERR_CRL_EXPIRED) {
			if (!refused)
				first_refusal = f->reason;
			refused++;
		}
	}
	snprintf(cas, sizeof(cas), "%zu", jitrd_caset_count(rt->cas));
	snprintf(crls, sizeof(crls), "%zu", with_crl);
	snprintf(entry_text, sizeof(entry_text), "%zu", entries);
	snprintf(stale_text, sizeof(stale_text), "%zu", stale);
	snprintf(refused_text, sizeof(refused_text), "%zu", refused);
	jitrd_log_kv(s->log, JITRD_LOG_INFO, event, "trigger", trigger, "config", rt->config_origin,
	             "cas", cas, "crls", crls, "crl_entries", entry_text, "crls_stale", stale_text,
	             "crl_files_refused", refused_text, "first_refusal", first_refusal,
	             "crl_dir_error", rt->crl_dir_error, NULL);
}

/* Every CRL a snapshot refused as a rollback: logged with its file, counted per CA. */
static void log_rollbacks(struct service *s, const struct jitrd_runtime *rt)
{
	for (size_t i = 0; i < jitrd_crl_store_rollback_count(rt->crls); i++) {
		const struct jitrd_crl_rollback *r = jitrd_crl_store_rollback_at(rt->crls, i);

		jitrd_log_kv(s->log, JITRD_LOG_ERROR, "crl.rollback", "ca", r->ca_id, "file",
		             r->origin, "partition", r->partition, "crl_number", r->number,
		             "highest_accepted", r->floor, "reason",
		             "CRL number below the highest accepted before: refused", NULL);
		jitrd_metrics_crl_rollback(s->metrics, r->ca_id);
	}
}

/* Records the CRL numbers rt accepted: in memory first (a later reload is judged by them even
 * when the disk fails), then in state_dir/crl-numbers for the next start. */
static void save_crl_numbers(struct service *s, const struct jitrd_runtime *rt)
{
	struct jitrd_crl_floors *floors = NULL;
	struct jitrd_diag diag = {{0}};

	if (jitrd_crl_store_floors(rt->crls, rt->crl_floors, &floors) == JITRD_OK) {
		jitrd_crl_floors_free(s->crl_floors);
		s->crl_floors = floors;
	}
	if (jitrd_runtime_save_crl_floors(rt, NULL, &diag) != JITRD_OK)
		jitrd_log_kv(s->log, JITRD_LOG_ERROR, "crl.numbers_not_saved", "reason", diag.text,
		             NULL);
}

/* A new snapshot that would leave a CA without the CRL the current one has for it (a bad
 * or unreadable new file) is refused: the old one keeps protecting that CA (issue 4). diag
 * says which CA and why. 0 = acceptable. */
static int loses_a_crl(const struct jitrd_runtime *old, const struct jitrd_runtime *new_rt,
                       struct jitrd_diag *diag)
{
	for (size_t i = 0; i < jitrd_caset_count(new_rt->cas); i++) {
		const struct jitrd_cert *ca = jitrd_caset_at(new_rt->cas, i);
		const struct jitrd_cert *old_ca = jitrd_caset_find_id(old->cas, jitrd_cert_id(ca));
		const char *why = new_rt->crl_dir_error;

		if (jitrd_crl_store_info(new_rt->crls, ca) || !old_ca ||
		    !jitrd_crl_store_info(old->crls, old_ca))
			continue;
		for (size_t f = 0; !*why && f < jitrd_crl_builder_file_count(new_rt->crl_builder);
		     f++) {
			const struct jitrd_crl_file_report *r =
			    jitrd_crl_builder_file_at(new_rt->crl_builder, f);
			if (r->result != JITRD_OK)
				why = r->reason;
		}
		jitrd_diag_set(diag, "CA %s would lose its CRL (%.300s)", jitrd_cert_id(ca),
		               *why ? why : "no CRL file for it");
		return -1;
	}
	return 0;
}

static int reload(struct service *s, const char *trigger)
{
	struct jitrd_diag diag = {{0}};
	struct jitrd_runtime *new_rt =
	    jitrd_runtime_new_with_floors(s->opts->config_path, time(NULL), s->crl_floors, &diag);
	struct jitrd_runtime *old;

	if (!new_rt) {
		jitrd_log_kv(s->log, JITRD_LOG_ERROR, "reload.failed", "trigger", trigger, "reason",
		             diag.text, "kept", "previous snapshot", NULL);
		return -1;
	}
	log_rollbacks(s, new_rt);
	old = current_runtime(s);
	if (loses_a_crl(old, new_rt, &diag) != 0) {
		jitrd_log_kv(s->log, JITRD_LOG_ERROR, "reload.failed", "trigger", trigger, "reason",
		             diag.text, "kept", "previous snapshot", NULL);
		jitrd_runtime_unref(new_rt);
		jitrd_runtime_unref(old);
		return -1;
	}
	jitrd_runtime_unref(old);
	pthread_mutex_lock(&s->lock);
	old = s->rt;
	s->rt = new_rt;
	pthread_mutex_unlock(&s->lock);
	/* Workers still holding the old snapshot keep it alive until their event ends. */
	jitrd_runtime_unref(old);
	set_crl_metrics(s, new_rt);
	log_snapshot(s, "reload.ok", trigger, new_rt);
	{
		/* New CAs, CRLs or templates may decide a remembered certificate differently. */
		size_t forgotten = 0;
		char count[24];

		if (jitrd_journal_forget_all(s->journal, &forgotten, &diag) != JITRD_OK) {
			say(s, JITRD_LOG_WARN, "journal.error", "reason", diag.text);
		} else if (forgotten > 0) {
			snprintf(count, sizeof(count), "%zu", forgotten);
			say(s, JITRD_LOG_INFO, "journal.forgot_decisions", "rows", count);
		}
	}
	save_crl_numbers(s, new_rt);
	return 0;
}

/* 1 (with reason) when the oldest open event of the journal has been due, or claimed, for
 * longer than the event deadline plus the requeue margin. */
static int overdue_event(struct service *s, char *reason, size_t reason_size)
{
	struct jitrd_diag diag = {{0}};
	int64_t oldest = 0;
	int64_t now = jitrd_clock_wall_ms();
	int64_t limit =
	    ((int64_t)s->boot_rt->cfg->service.event_deadline_seconds + REQUEUE_MARGIN_SECONDS) *
	    1000;
	bool found = false;

	if (jitrd_journal_oldest_open(s->journal, &oldest, &found, &diag) != JITRD_OK) {
		snprintf(reason, reason_size, "the journal cannot be read: %.150s", diag.text);
		return 1;
	}
	if (!found || now - oldest <= limit)
		return 0;
	snprintf(reason, reason_size,
	         "an event has waited %" PRId64 " s for a worker (more than the %d s deadline "
	         "plus %d s)",
	         (now - oldest) / 1000, s->boot_rt->cfg->service.event_deadline_seconds,
	         REQUEUE_MARGIN_SECONDS);
	return 1;
}

/* jitrd_ready_fn, on the HTTP server's thread. */
static int ready(void *ctx, char *reason, size_t reason_size)
{
	struct service *s = ctx;
	struct jitrd_runtime *rt;
	time_t now = time(NULL);
	int ok = 1;

	pthread_mutex_lock(&s->lock);
	if (s->mqtt_configured && !s->mqtt) {
		pthread_mutex_unlock(&s->lock);
		snprintf(reason, reason_size, "not subscribed to the MQTT topic");
		return 0;
	}
	/* The source outlives this call: stop_threads takes it away under this lock first. */
	if (s->mqtt_configured && !jitrd_mqtt_source_health(s->mqtt, reason, reason_size, NULL)) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	rt = jitrd_runtime_ref(s->rt);
	pthread_mutex_unlock(&s->lock);
	/* Health means progress: an event due (or claimed) longer ago than any event may take
	 * is stuck behind stuck or overloaded workers. */
	if (overdue_event(s, reason, reason_size)) {
		jitrd_runtime_unref(rt);
		return 0;
	}
	for (size_t i = 0; ok && !rt->cfg->crl.fail_open && i < jitrd_caset_count(rt->cas); i++) {
		const struct jitrd_cert *ca = jitrd_caset_at(rt->cas, i);
		const struct jitrd_crl_info *info = jitrd_crl_store_info(rt->crls, ca);

		if (!jitrd_config_ca_allowed(rt->cfg, jitrd_cert_id(ca)))
			continue;
		if (!info) {
			snprintf(reason, reason_size, "no valid CRL for CA %s", jitrd_cert_id(ca));
			ok = 0;
		} else if (crl_stale(info, now)) {
			snprintf(reason, reason_size, "the CRL of CA %s is past its nextUpdate",
			         jitrd_cert_id(ca));
			ok = 0;
		}
	}
	jitrd_runtime_unref(rt);
	return ok;
}

/* ---- start-up and shutdown -------------------------------------------------------------- */

/* state_dir is made 0700 (created, or narrowed when wider: the journal holds the fleet's
 * inventory), the journal files 0600. */
static enum jitrd_err open_journal(struct service *s, const struct jitrd_config *cfg,
                                   struct jitrd_diag *diag)
{
	struct jitrd_journal_options jopts;
	char path[STATE_PATH_MAX];
	char lock_path[STATE_PATH_MAX];
	bool narrowed = false;
	size_t recovered = 0;
	char count[24];
	enum jitrd_err err;

	err = jitrd_private_dir(cfg->service.state_dir, &narrowed, diag);
	if (err != JITRD_OK) {
		jitrd_diag_prefix(diag, "[service] state_dir");
		return err;
	}
	if (narrowed)
		say(s, JITRD_LOG_WARN, "state_dir.narrowed", "path", cfg->service.state_dir);
	if (snprintf(path, sizeof(path), "%s/%s", cfg->service.state_dir, JOURNAL_FILE) >=
	    (int)sizeof(path)) {
		jitrd_diag_set(diag, "[service] state_dir: path too long");
		return JITRD_ERR_CONFIG;
	}
	/* One service per state directory: recovery would otherwise hand a live daemon's
	 * in-progress events to this one. The lock lives as long as the process. */
	if (snprintf(lock_path, sizeof(lock_path), "%s/%s", cfg->service.state_dir, LOCK_FILE) >=
	    (int)sizeof(lock_path)) {
		jitrd_diag_set(diag, "[service] state_dir: path too long");
		return JITRD_ERR_CONFIG;
	}
	s->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		jitrd_diag_set(diag, "[service] state_dir %s: %s", cfg->service.state_dir,
		               s->lock_fd < 0 ? strerror(errno)
		                              : "another jitrd run already uses it");
		return JITRD_ERR_IO;
	}
	jitrd_journal_options_init(&jopts);
	err = jitrd_journal_open(path, &jopts, &s->journal, diag);
	if (err != JITRD_OK)
		return err;
	err = jitrd_journal_recover(s->journal, jitrd_clock_wall_ms(), &recovered, diag);
	if (err != JITRD_OK)
		return err;
	snprintf(count, sizeof(count), "%zu", recovered);
	jitrd_log_kv(s->log, JITRD_LOG_INFO, "journal.opened", "path", path, "recovered", count,
	             NULL);
	return JITRD_OK;
}

/* Every HTTP attempt of the IoT client, retries included, for jitrd_api_requests_total. */
static void count_api_request(void *ctx, enum jitrd_iot_op op, long http_status, double seconds)
{
	jitrd_metrics_api_request(ctx, jitrd_iot_op_name(op), (int)http_status, seconds);
}

static enum jitrd_err make_client(struct service *s, const struct jitrd_config *cfg,
                                  struct jitrd_diag *diag)
{
	struct jitrd_credentials_options copts;
	struct jitrd_iot_client_options iopts;
	struct jitrd_pipeline_options popts = {s->journal, s->metrics};
	enum jitrd_err err;

	jitrd_credentials_options_init(&copts);
	copts.envp = s->opts->envp;
	copts.profile = cfg->aws.profile;
	copts.region = cfg->aws.region;
	err = jitrd_credentials_new(&copts, &s->creds, diag);
	if (err != JITRD_OK)
		return err;
	jitrd_iot_client_options_init(&iopts, cfg);
	iopts.on_request = count_api_request;
	iopts.on_request_ctx = s->metrics;
	err = jitrd_iot_client_new(&iopts, s->creds, &s->client, diag);
	if (err != JITRD_OK)
		return err;
	return jitrd_pipeline_new(&popts, &s->pipeline);
}

static enum jitrd_err start_threads(struct service *s, const struct jitrd_config *cfg)
{
	s->workers = calloc((size_t)cfg->service.workers, sizeof(*s->workers));
	if (!s->workers)
		return JITRD_ERR_NOMEM;
	/* Sessions first, so a thread never starts without its connection. */
	for (int i = 0; i < cfg->service.workers; i++) {
		s->workers[i].service = s;
		if (jitrd_iot_session_new(s->client, &s->workers[i].session) != JITRD_OK)
			return JITRD_ERR_NOMEM;
		s->worker_count++;
	}
	if (jitrd_iot_session_new(s->client, &s->reconcile_session) != JITRD_OK)
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

/* Stops intake first, then lets the threads finish their current event within the deadline.
 * Returns false when some thread is still busy at the deadline: its shared state must then
 * not be freed (the process is about to exit anyway). */
static bool stop_threads(struct service *s, int deadline_seconds)
{
	struct jitrd_mqtt_source *mqtt;
	struct timespec until =
	    jitrd_clock_mono_at(jitrd_clock_mono_ms() + (int64_t)deadline_seconds * 1000);
	bool all_ended;

	pthread_mutex_lock(&s->lock);
	mqtt = s->mqtt;
	s->mqtt = NULL;
	pthread_mutex_unlock(&s->lock);
	if (mqtt)
		jitrd_mqtt_source_stop(mqtt, MQTT_STOP_MS); /* it logs mqtt.stopped */

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

/* A row stays in_progress when its worker could not write the outcome (the journal was busy
 * or failing): once its claim is older than any event could take, it is handed out again. A
 * worker still inside such an event would meet the retry in the pipeline's in-flight set. */
static void requeue_stale(struct service *s)
{
	struct jitrd_diag diag = {{0}};
	size_t count = 0;
	char text[24];
	int64_t now = jitrd_clock_wall_ms();
	int64_t oldest_live = now - ((int64_t)s->boot_rt->cfg->service.event_deadline_seconds +
	                             REQUEUE_MARGIN_SECONDS) *
	                                1000;

	if (jitrd_journal_requeue_stale(s->journal, oldest_live, now, &count, &diag) != JITRD_OK) {
		say(s, JITRD_LOG_WARN, "journal.requeue_failed", "reason", diag.text);
		return;
	}
	if (count > 0) {
		snprintf(text, sizeof(text), "%zu", count);
		say(s, JITRD_LOG_WARN, "journal.requeued_stale", "rows", text);
	}
}

static void prune(struct service *s)
{
	struct jitrd_diag diag = {{0}};
	struct jitrd_journal_pruned pruned = {0};
	char text[24], remembered[24], inventory[24];
	int64_t now = jitrd_clock_wall_ms();

	if (jitrd_journal_prune_all(s->journal,
	                            now - (int64_t)JITRD_SERVICE_RETENTION_SECONDS * 1000, now,
	                            (uint64_t)s->journal_max_rows, &pruned, &diag) != JITRD_OK) {
		say(s, JITRD_LOG_WARN, "journal.prune_failed", "reason", diag.text);
		return;
	}
	snprintf(text, sizeof(text), "%zu", pruned.events);
	snprintf(remembered, sizeof(remembered), "%zu", pruned.remembered);
	snprintf(inventory, sizeof(inventory), "%zu", pruned.inventory);
	jitrd_log_kv(s->log, JITRD_LOG_INFO, "journal.pruned", "rows", text, "remembered",
	             remembered, "inventory", inventory, NULL);
}

/* The service manager's view (notify.c decides what to send): ready as /readyz says; healthy
 * while every worker and the reconcile thread still runs. Returns the ms the loop may wait. */
static int64_t notify_tick(struct service *s)
{
	struct jitrd_metrics_snapshot m;
	struct jitrd_notify_view view = {0};
	char reason[160] = "";

	char unhealthy[200] = "";
	int64_t unsubscribed_ms = 0;

	view.ready = ready(s, reason, sizeof(reason));
	view.not_ready = reason;
	pthread_mutex_lock(&s->lock);
	view.healthy = s->running == s->worker_count + (s->reconciler_started ? 1u : 0u);
	/* Connected but not subscribed past the grace period: the resubscriber has not got it
	 * back, so no more pings; the service manager restarts jitrd, and the new session
	 * subscribes afresh. Disconnected is left to paho's reconnects (a restart cannot bring
	 * a broker back). */
	if (view.healthy && s->mqtt && jitrd_mqtt_source_connected(s->mqtt) &&
	    !jitrd_mqtt_source_health(s->mqtt, unhealthy, sizeof(unhealthy), &unsubscribed_ms) &&
	    unsubscribed_ms > (int64_t)s->subscribe_grace_seconds * 1000) {
		view.healthy = 0;
		view.unhealthy = unhealthy;
	}
	pthread_mutex_unlock(&s->lock);
	jitrd_metrics_snapshot(s->metrics, &m);
	for (size_t i = 0; i < JITRD_DECISION_COUNT; i++)
		view.events += m.events[i];
	return jitrd_notify_tick(s->notify, &view, jitrd_clock_mono_ms());
}

/* The main thread's loop: signals, the CRL reload timer and the prune timer. Returns the
 * name of the signal that stopped it. */
static const char *main_loop(struct service *s, const sigset_t *signals, int reload_seconds)
{
	int64_t next_reload =
	    reload_seconds > 0 ? jitrd_clock_mono_ms() + (int64_t)reload_seconds * 1000 : -1;
	int64_t next_prune = jitrd_clock_mono_ms() + (int64_t)JITRD_SERVICE_PRUNE_SECONDS * 1000;
	int64_t next_requeue = jitrd_clock_mono_ms() + REQUEUE_CHECK_MS;

	for (;;) {
		int64_t wait_ms = notify_tick(s);
		struct timespec wait = {(time_t)(wait_ms / 1000), (long)(wait_ms % 1000) * 1000000};
		int sig = sigtimedwait(signals, NULL, &wait);

		if (sig == SIGTERM)
			return "SIGTERM";
		if (sig == SIGINT)
			return "SIGINT";
		if (sig == SIGHUP) {
			jitrd_notify_reloading(s->notify, (uint64_t)jitrd_clock_mono_ms() * 1000);
			jitrd_notify_reloaded(s->notify, reload(s, "SIGHUP") == 0, "SIGHUP",
			                      time(NULL));
		}
		if (next_reload >= 0 && jitrd_clock_mono_ms() >= next_reload) {
			jitrd_notify_reloaded(s->notify, reload(s, "timer") == 0, "timer",
			                      time(NULL));
			next_reload = jitrd_clock_mono_ms() + (int64_t)reload_seconds * 1000;
		}
		if (jitrd_clock_mono_ms() >= next_requeue) {
			requeue_stale(s);
			next_requeue = jitrd_clock_mono_ms() + REQUEUE_CHECK_MS;
		}
		if (jitrd_clock_mono_ms() >= next_prune) {
			prune(s);
			next_prune =
			    jitrd_clock_mono_ms() + (int64_t)JITRD_SERVICE_PRUNE_SECONDS * 1000;
		}
	}
}

static int exit_status_for(enum jitrd_err err)
{
	return err == JITRD_ERR_CONFIG ? JITRD_SERVICE_EXIT_CONFIG : JITRD_SERVICE_EXIT_FAILED;
}

static enum jitrd_err start_peers(struct service *s, const struct jitrd_config *cfg,
                                  struct jitrd_diag *diag)
{
	enum jitrd_err err;

	if (cfg->service.listen[0]) {
		struct jitrd_http_status_options hopts = {cfg->service.listen, s->metrics, ready,
		                                          s};
		char port[16];

		err = jitrd_http_status_start(&hopts, &s->http, diag);
		if (err != JITRD_OK)
			return err;
		snprintf(port, sizeof(port), "%u", jitrd_http_status_port(s->http));
		jitrd_log_kv(s->log, JITRD_LOG_INFO, "http.listening", "listen",
		             cfg->service.listen, "port", port, NULL);
	}
	err = start_threads(s, cfg);
	if (err != JITRD_OK) {
		jitrd_diag_set(diag, "cannot start the worker threads");
		return err;
	}
	if (cfg->mqtt.url[0]) {
		struct jitrd_mqtt_source_options mopts = {0};
		struct jitrd_mqtt_source *mqtt = NULL;

		mopts.log = s->log;
		mopts.metrics = s->metrics;
		err = jitrd_mqtt_source_start(cfg, &mopts, on_message, s, &mqtt, diag);
		if (err != JITRD_OK)
			return err;
		pthread_mutex_lock(&s->lock);
		s->mqtt = mqtt;
		pthread_mutex_unlock(&s->lock);
	}
	return JITRD_OK;
}

static void free_service(struct service *s)
{
	jitrd_http_status_stop(s->http);
	jitrd_notify_free(s->notify);
	for (size_t i = 0; i < s->worker_count; i++)
		jitrd_iot_session_free(s->workers[i].session);
	free(s->workers);
	jitrd_iot_session_free(s->reconcile_session);
	jitrd_pipeline_free(s->pipeline);
	jitrd_iot_client_free(s->client);
	jitrd_credentials_free(s->creds);
	jitrd_journal_close(s->journal);
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* after the journal: the lock guards it */
	jitrd_metrics_free(s->metrics);
	jitrd_runtime_unref(s->rt);
	jitrd_runtime_unref(s->boot_rt);
	jitrd_crl_floors_free(s->crl_floors);
}

int jitrd_service_run(const struct jitrd_service_options *opts)
{
	struct service *s = calloc(1, sizeof(*s));
	struct jitrd_diag diag = {{0}};
	const struct jitrd_config *cfg;
	pthread_condattr_t mono;
	sigset_t signals;
	const char *stop_signal;
	enum jitrd_err err;
	int status = JITRD_SERVICE_EXIT_CONFIG;

	if (!s) {
		dprintf(opts->log_fd, "jitrd: out of memory\n");
		return JITRD_SERVICE_EXIT_FAILED;
	}
	s->lock_fd = -1;
	s->opts = opts;
	/* Every thread started from here on inherits the mask, so these signals reach only the
	 * main loop's sigtimedwait. */
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&mono);
	pthread_condattr_setclock(&mono, CLOCK_MONOTONIC);
	pthread_cond_init(&s->work, &mono);
	pthread_cond_init(&s->reconcile, &mono);
	pthread_cond_init(&s->exited, &mono);
	pthread_condattr_destroy(&mono);

	s->boot_rt = jitrd_runtime_new(opts->config_path, time(NULL), &diag);
	if (!s->boot_rt) {
		dprintf(opts->log_fd, "jitrd: %s\n", diag.text);
		goto cleanup;
	}
	cfg = s->boot_rt->cfg;
	s->rt = jitrd_runtime_ref(s->boot_rt);
	s->mqtt_configured = cfg->mqtt.url[0] != '\0';
	s->reconcile_seconds = cfg->service.reconcile_seconds;
	s->subscribe_grace_seconds = cfg->mqtt.subscribe_grace_seconds;
	s->remember_seconds = cfg->service.remember_seconds;
	s->journal_max_rows = cfg->service.journal_max_rows;
	if (jitrd_log_new(opts->log_fd, cfg->service.log_format, cfg->service.log_level, &s->log) !=
	        JITRD_OK ||
	    jitrd_metrics_new(&s->metrics) != JITRD_OK) {
		dprintf(opts->log_fd, "jitrd: out of memory\n");
		status = JITRD_SERVICE_EXIT_FAILED;
		goto cleanup;
	}
	if (jitrd_notify_new(opts->envp, (long)getpid(), s->log, &s->notify, &diag) != JITRD_OK) {
		say(s, JITRD_LOG_ERROR, "notify.disabled", "reason", diag.text);
		diag.text[0] = '\0';
	}
	log_snapshot(s, "service.starting", "start", s->boot_rt);
	set_crl_metrics(s, s->boot_rt);
	log_rollbacks(s, s->boot_rt);

	err = open_journal(s, cfg, &diag);
	if (err == JITRD_OK)
		/* state_dir exists from here on */
		save_crl_numbers(s, s->boot_rt);
	if (err == JITRD_OK)
		err = make_client(s, cfg, &diag);
	if (err == JITRD_OK)
		err = start_peers(s, cfg, &diag);
	if (err != JITRD_OK) {
		say(s, JITRD_LOG_ERROR, "service.start_failed", "reason",
		    *diag.text ? diag.text : jitrd_strerror(err));
		status = exit_status_for(err);
		if (!stop_threads(s, cfg->service.event_deadline_seconds))
			return status; /* see below */
		goto cleanup;
	}
	prune(s);
	say(s, JITRD_LOG_INFO, "service.started", "mqtt", s->mqtt_configured ? cfg->mqtt.url : "");

	stop_signal = main_loop(s, &signals, cfg->crl.reload_seconds);
	jitrd_notify_stopping(s->notify, stop_signal);
	say(s, JITRD_LOG_INFO, "service.stopping", "signal", stop_signal);
	if (!stop_threads(s, cfg->service.event_deadline_seconds)) {
		/* A thread is still inside an event: s and what it holds are left to the process's
		 * exit (freeing them under the thread would be worse than the leak). */
		say(s, JITRD_LOG_WARN, "service.stopped", "reason",
		    "in-flight events passed the deadline; they are replayed at the next start");
		return JITRD_SERVICE_EXIT_OK;
	}
	status = JITRD_SERVICE_EXIT_OK;
cleanup:
	free_service(s);
	if (status == JITRD_SERVICE_EXIT_OK)
		say(s, JITRD_LOG_INFO, "service.stopped", "reason", "signal; journal closed");
	jitrd_log_free(s->log);
	pthread_cond_destroy(&s->exited);
	pthread_cond_destroy(&s->reconcile);
	pthread_cond_destroy(&s->work);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return status;
}
