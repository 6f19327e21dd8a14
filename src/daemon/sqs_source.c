/* sqs_source.c — the registration events' SQS source of `jitrd run`: pollers long-poll the
 * queue and hand each message to the same intake as MQTT (the journal records it, a worker
 * takes it); the keeper deletes a message once its event's outcome is final (in batches),
 * extends the visibility of those still in progress, and reads the queue's depth. A deferred
 * or retryable outcome, or a body that is no event, is left to reappear after its visibility
 * timeout (the queue's redrive policy ends a poison message in its dead-letter queue).
 * Intake is bounded: no more messages are held than the workers can take. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_internal.h"
#include "jitrd/clock.h"
#include "jitrd/event.h"
#include "jitrd/sqs_client.h"

#define KEEPER_TICK_MS     200   /* deletes wait at most this long for a batch to fill */
#define DEPTH_EVERY_MS     30000 /* GetQueueAttributes at most this often */
#define CALL_MS            10000 /* deadline of a delete, a visibility change, a depth read */
#define POLL_EXTRA_MS      15000 /* a receive's deadline beyond its long poll */
#define ERROR_PAUSE_MIN_MS 1000  /* after a failed receive; doubled while it fails ... */
#define ERROR_PAUSE_MAX_MS 30000 /* ... up to this */
#define HELD_PER_WORKER    2     /* messages waiting per worker, beyond those in a receive */
#define STOP_FLUSH_MS      10000 /* the last deletes at stop */

enum held_state { HELD_FREE, HELD_WAITING, HELD_DELETE, HELD_DELETING };

/* A message received and not yet let go: its journal row and receipt handle. */
struct held {
	enum held_state state;
	int64_t row_id;           /* the journal row a worker takes; 0 when none (delete at once) */
	int64_t visible_until_ms; /* monotonic: when SQS would hand it out again */
	bool stale;               /* SQS refused to extend it: its handle no longer holds it */
	char message_id[128];
	char receipt_handle[JITRD_SQS_MAX_RECEIPT + 1];
};

struct jitrd_daemon_sqs {
	struct service *s;
	struct jitrd_sqs_client *client;
	struct jitrd_sqs_session *keeper_session;
	struct jitrd_sqs_session **sessions; /* one per poller */
	pthread_t *pollers;
	size_t poller_count;
	size_t pollers_started;
	pthread_t keeper;
	bool keeper_started;
	int wait_seconds, max_messages, visibility_seconds;
	atomic_int cancel; /* 1: the pollers' requests stop (a long poll too) */

	/* Everything below is under lock. */
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a slot freed, a delete queued, stop */
	struct held *held;
	size_t capacity;
	size_t used;     /* slots not FREE */
	size_t reserved; /* slots promised to receives in progress */
	size_t to_delete;
	bool stop_intake, stop_keeper;
	bool answering; /* the last ReceiveMessage answered */
	bool drained;
	char not_answering[320];
};

static int cancelled(void *ctx)
{
	return atomic_load(&((struct jitrd_daemon_sqs *)ctx)->cancel);
}

/* Waits on q->changed (q->lock held) until ms from now at most. */
static void wait_ms(struct jitrd_daemon_sqs *q, int64_t ms)
{
	struct timespec until = jitrd_clock_mono_at(jitrd_clock_mono_ms() + ms);

	pthread_cond_timedwait(&q->changed, &q->lock, &until);
}

static struct held *free_slot(struct jitrd_daemon_sqs *q)
{
	for (size_t i = 0; i < q->capacity; i++)
		if (q->held[i].state == HELD_FREE)
			return &q->held[i];
	return NULL;
}

static void release(struct jitrd_daemon_sqs *q, struct held *h)
{
	h->state = HELD_FREE;
	h->row_id = 0;
	q->used--;
	pthread_cond_broadcast(&q->changed);
}

/* ---- intake (pollers) ---- */

static void log_invalid(struct jitrd_daemon_sqs *q, const struct jitrd_sqs_message *m,
                        const char *reason)
{
	char receives[24];

	snprintf(receives, sizeof(receives), "%u", m->receive_count);
	jitrd_log_kv(q->s->log, JITRD_LOG_WARN, "sqs.invalid", "messageId", m->message_id,
	             "receiveCount", receives, "reason", reason, NULL);
	jitrd_metrics_sqs_messages(q->s->metrics, JITRD_METRICS_SQS_INVALID, 1);
}

/* One message: decoded, judged an event, recorded. A body that is no event is left alone:
 * deleting it would lose what cannot be read here, and the queue's redrive policy moves it to
 * the dead-letter queue after maxReceiveCount receipts, where an operator can look at it. */
static void take(struct jitrd_daemon_sqs *q, const struct jitrd_sqs_message *m, char *decoded)
{
	struct jitrd_diag diag = {{0}};
	struct jitrd_event parsed;
	const char *event;
	size_t event_len;
	int64_t row_id = 0;
	struct held *h;
	int rc;

	if (jitrd_event_body_decode(m->body, m->body_len, decoded, JITRD_EVENT_BODY_DECODED_SIZE,
	                            &event, &event_len, &diag) != JITRD_OK ||
	    jitrd_event_parse(event, event_len, &parsed, &diag) != JITRD_OK) {
		log_invalid(q, m, diag.text);
		return;
	}
	pthread_mutex_lock(&q->lock);
	/* Recorded under the lock: a worker that finishes the row at once waits here until the
	 * slot knows its row. */
	rc = jitrd_daemon_record_sqs(q->s, event, event_len, &row_id);
	h = free_slot(q); /* there is one: the receive reserved it */
	if (rc == 0 && h) {
		h->state = row_id > 0 ? HELD_WAITING : HELD_DELETE;
		h->row_id = row_id;
		h->stale = false;
		h->visible_until_ms = jitrd_clock_mono_ms() + (int64_t)q->visibility_seconds * 1000;
		/* same sizes (checked below), NUL-terminated by the client */
		memcpy(h->message_id, m->message_id, sizeof(h->message_id));
		memcpy(h->receipt_handle, m->receipt_handle, sizeof(h->receipt_handle));
		q->used++;
		if (row_id == 0) {
			q->to_delete++;
			pthread_cond_broadcast(&q->changed);
		}
	} else {
		/* An open row for the certificate (it decides; this copy comes back and is
		 * then a repeat of a final outcome), or the journal failed: left to reappear. */
		jitrd_metrics_sqs_messages(q->s->metrics, JITRD_METRICS_SQS_RETURNED, 1);
	}
	pthread_mutex_unlock(&q->lock);
}

static void set_answering(struct jitrd_daemon_sqs *q, bool answering, const char *why)
{
	bool changed;

	pthread_mutex_lock(&q->lock);
	changed = q->answering != answering;
	q->answering = answering;
	if (!answering)
		snprintf(q->not_answering, sizeof(q->not_answering),
		         "the SQS queue %.120s does not answer: %.150s",
		         jitrd_sqs_client_queue_url(q->client), why);
	pthread_mutex_unlock(&q->lock);
	if (changed)
		jitrd_log_kv(q->s->log, answering ? JITRD_LOG_INFO : JITRD_LOG_WARN,
		             answering ? "sqs.answering" : "sqs.receive_failed", "queue",
		             jitrd_sqs_client_queue_url(q->client), "reason", answering ? "" : why,
		             NULL);
}

struct poller {
	struct jitrd_daemon_sqs *q;
	size_t index;
};

static void *poller_main(void *arg)
{
	struct poller *p = arg;
	struct jitrd_daemon_sqs *q = p->q;
	struct jitrd_sqs_session *session = q->sessions[p->index];
	struct jitrd_sqs_message messages[JITRD_SQS_MAX_MESSAGES];
	char *decoded = malloc(JITRD_EVENT_BODY_DECODED_SIZE);
	int64_t pause = ERROR_PAUSE_MIN_MS;
	size_t want = (size_t)q->max_messages;

	free(p);
	for (;;) {
		struct jitrd_diag diag = {{0}};
		size_t count = 0;
		enum jitrd_err err;

		pthread_mutex_lock(&q->lock);
		/* Backpressure: receive only what the slots can hold. */
		while (!q->stop_intake && q->used + q->reserved + want > q->capacity)
			wait_ms(q, 1000);
		if (q->stop_intake || !decoded) {
			pthread_mutex_unlock(&q->lock);
			break;
		}
		q->reserved += want;
		pthread_mutex_unlock(&q->lock);

		err = jitrd_sqs_receive(
		    session, jitrd_iot_deadline_in((int64_t)q->wait_seconds * 1000 + POLL_EXTRA_MS),
		    q->wait_seconds, q->max_messages, q->visibility_seconds, messages, &count, NULL,
		    &diag);
		if (err == JITRD_OK) {
			set_answering(q, true, "");
			pause = ERROR_PAUSE_MIN_MS;
			jitrd_metrics_sqs_messages(q->s->metrics, JITRD_METRICS_SQS_RECEIVED,
			                           count);
			for (size_t i = 0; i < count; i++)
				take(q, &messages[i], decoded);
			jitrd_sqs_messages_cleanup(messages, count);
		}
		pthread_mutex_lock(&q->lock);
		q->reserved -= want;
		pthread_cond_broadcast(&q->changed);
		if (err != JITRD_OK && !q->stop_intake) {
			pthread_mutex_unlock(&q->lock);
			jitrd_metrics_sqs_receive_error(q->s->metrics);
			set_answering(q, false, diag.text);
			pthread_mutex_lock(&q->lock);
			if (!q->stop_intake)
				wait_ms(q, pause);
			pause = pause * 2 > ERROR_PAUSE_MAX_MS ? ERROR_PAUSE_MAX_MS : pause * 2;
		}
		pthread_mutex_unlock(&q->lock);
	}
	free(decoded);
	return NULL;
}

/* ---- the keeper: deletes, visibility, depth ---- */

/* Deletes up to ten messages whose outcome is final. true when there was something to do. */
static bool delete_some(struct jitrd_daemon_sqs *q, int64_t deadline)
{
	const char *handles[JITRD_SQS_MAX_MESSAGES];
	struct held *slots[JITRD_SQS_MAX_MESSAGES];
	unsigned char deleted[JITRD_SQS_MAX_MESSAGES] = {0};
	struct jitrd_diag diag = {{0}};
	size_t n = 0, ok = 0;
	enum jitrd_err err;

	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i < q->capacity && n < JITRD_SQS_MAX_MESSAGES; i++)
		if (q->held[i].state == HELD_DELETE) {
			q->held[i].state = HELD_DELETING; /* its handle is read outside the lock */
			slots[n] = &q->held[i];
			handles[n++] = q->held[i].receipt_handle;
		}
	q->to_delete -= n;
	pthread_mutex_unlock(&q->lock);
	if (n == 0)
		return false;
	err = jitrd_sqs_delete_batch(q->keeper_session, deadline, handles, n, deleted, NULL, &diag);
	if (err != JITRD_OK)
		jitrd_daemon_say(q->s, JITRD_LOG_WARN, "sqs.delete_failed", "reason", diag.text);
	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i < n; i++) {
		/* Not deleted (an expired handle, or the call failed): the message comes back,
		 * and its repeat finds the outcome final. */
		ok += err == JITRD_OK && deleted[i];
		release(q, slots[i]);
	}
	pthread_mutex_unlock(&q->lock);
	jitrd_metrics_sqs_messages(q->s->metrics, JITRD_METRICS_SQS_DELETED, ok);
	jitrd_metrics_sqs_messages(q->s->metrics, JITRD_METRICS_SQS_RETURNED, n - ok);
	return true;
}

/* Extends each message still waiting for its outcome once half its visibility is gone, so
 * that no other consumer gets it while this host works on it: ten per
 * ChangeMessageVisibilityBatch. A refused entry (ReceiptHandleIsInvalid: the message was
 * received again elsewhere, or is gone) is logged once and not tried again; its journal row
 * still gets its outcome, and a repeat of the message finds it. A failed call is tried again
 * at the next tick. */
static void extend_visibility(struct jitrd_daemon_sqs *q)
{
	int64_t half = (int64_t)q->visibility_seconds * 500;
	size_t next = 0;

	if (q->visibility_seconds <= 0)
		return;
	while (next < q->capacity) {
		char handles[JITRD_SQS_MAX_MESSAGES][JITRD_SQS_MAX_RECEIPT + 1];
		char ids[JITRD_SQS_MAX_MESSAGES][sizeof(q->held[0].message_id)];
		const char *ptrs[JITRD_SQS_MAX_MESSAGES];
		enum jitrd_sqs_entry entries[JITRD_SQS_MAX_MESSAGES];
		size_t slots[JITRD_SQS_MAX_MESSAGES];
		int64_t rows[JITRD_SQS_MAX_MESSAGES];
		struct jitrd_diag diag = {{0}};
		int64_t now = jitrd_clock_mono_ms();
		enum jitrd_err err;
		size_t n = 0;

		pthread_mutex_lock(&q->lock);
		for (; next < q->capacity && n < JITRD_SQS_MAX_MESSAGES; next++) {
			const struct held *h = &q->held[next];

			if (h->state != HELD_WAITING || h->stale ||
			    h->visible_until_ms - now > half)
				continue;
			slots[n] = next;
			rows[n] = h->row_id;
			memcpy(handles[n], h->receipt_handle, sizeof(handles[n]));
			memcpy(ids[n], h->message_id, sizeof(ids[n]));
			ptrs[n] = handles[n];
			n++;
		}
		pthread_mutex_unlock(&q->lock);
		if (n == 0)
			break;
		err = jitrd_sqs_change_visibility_batch(
		    q->keeper_session, jitrd_iot_deadline_in(CALL_MS), ptrs, n,
		    q->visibility_seconds, entries, NULL, &diag);
		if (err != JITRD_OK) {
			jitrd_daemon_say(q->s, JITRD_LOG_WARN, "sqs.visibility_failed", "reason",
			                 diag.text);
			continue;
		}
		pthread_mutex_lock(&q->lock);
		for (size_t i = 0; i < n; i++) {
			struct held *h = &q->held[slots[i]];

			if (h->state != HELD_WAITING || h->row_id != rows[i])
				continue; /* let go meanwhile */
			if (entries[i] == JITRD_SQS_ENTRY_DONE)
				h->visible_until_ms = now + (int64_t)q->visibility_seconds * 1000;
			else if (entries[i] == JITRD_SQS_ENTRY_REFUSED)
				h->stale = true;
		}
		pthread_mutex_unlock(&q->lock);
		for (size_t i = 0; i < n; i++)
			if (entries[i] != JITRD_SQS_ENTRY_DONE)
				jitrd_log_kv(q->s->log, JITRD_LOG_WARN, "sqs.visibility_failed",
				             "messageId", ids[i], "reason",
				             entries[i] == JITRD_SQS_ENTRY_REFUSED
				                 ? diag.text
				                 : "not extended; tried again at the next tick",
				             NULL);
	}
}

static void read_depth(struct jitrd_daemon_sqs *q)
{
	struct jitrd_diag diag = {{0}};
	long long depth = 0;

	if (jitrd_sqs_queue_depth(q->keeper_session, jitrd_iot_deadline_in(CALL_MS), &depth, NULL,
	                          &diag) == JITRD_OK)
		jitrd_metrics_set_sqs_queue_depth(q->s->metrics, depth);
	else
		jitrd_daemon_say(q->s, JITRD_LOG_WARN, "sqs.depth_failed", "reason", diag.text);
}

static void *keeper_main(void *arg)
{
	struct jitrd_daemon_sqs *q = arg;
	int64_t next_depth = jitrd_clock_mono_ms() + DEPTH_EVERY_MS;

	for (;;) {
		bool stop;

		pthread_mutex_lock(&q->lock);
		if (!q->stop_keeper && q->to_delete < JITRD_SQS_MAX_MESSAGES)
			wait_ms(q, KEEPER_TICK_MS);
		stop = q->stop_keeper;
		pthread_mutex_unlock(&q->lock);
		if (stop)
			break;
		while (delete_some(q, jitrd_iot_deadline_in(CALL_MS)))
			;
		extend_visibility(q);
		if (jitrd_clock_mono_ms() >= next_depth) {
			read_depth(q);
			next_depth = jitrd_clock_mono_ms() + DEPTH_EVERY_MS;
		}
	}
	/* Stop: what finished is deleted, within a bound. */
	{
		int64_t deadline = jitrd_iot_deadline_in(STOP_FLUSH_MS);

		while (jitrd_clock_mono_ms() < deadline && delete_some(q, deadline))
			;
	}
	return NULL;
}

/* ---- the daemon's side ---- */

bool jitrd_daemon_sqs_holds(struct service *s, int64_t row_id)
{
	struct jitrd_daemon_sqs *q = s->sqs;
	bool found = false;

	if (!q || row_id <= 0)
		return false;
	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i < q->capacity && !found; i++)
		found = q->held[i].state == HELD_WAITING && q->held[i].row_id == row_id;
	pthread_mutex_unlock(&q->lock);
	return found;
}

void jitrd_daemon_sqs_finished(struct service *s, int64_t row_id, bool final)
{
	struct jitrd_daemon_sqs *q = s->sqs;

	if (!q || row_id <= 0)
		return;
	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i < q->capacity; i++) {
		struct held *h = &q->held[i];

		if (h->state != HELD_WAITING || h->row_id != row_id)
			continue;
		if (final) {
			h->state = HELD_DELETE;
			q->to_delete++;
			pthread_cond_broadcast(&q->changed);
		} else {
			release(q, h);
			jitrd_metrics_sqs_messages(s->metrics, JITRD_METRICS_SQS_RETURNED, 1);
		}
		break;
	}
	pthread_mutex_unlock(&q->lock);
}

bool jitrd_daemon_sqs_health(struct service *s, char *reason, size_t reason_size)
{
	struct jitrd_daemon_sqs *q;
	bool ok;

	pthread_mutex_lock(&s->lock);
	q = s->sqs;
	pthread_mutex_unlock(&s->lock);
	if (!q) {
		snprintf(reason, reason_size, "not consuming the SQS queue");
		return false;
	}
	pthread_mutex_lock(&q->lock);
	ok = q->answering;
	if (!ok)
		snprintf(reason, reason_size, "%s", q->not_answering);
	pthread_mutex_unlock(&q->lock);
	return ok;
}

enum jitrd_err jitrd_daemon_sqs_start(struct service *s, const struct jitrd_config *cfg,
                                      struct jitrd_diag *diag)
{
	struct jitrd_sqs_client_options opts;
	struct jitrd_daemon_sqs *q;
	pthread_condattr_t mono;
	long long depth = 0;
	enum jitrd_err err;

	q = calloc(1, sizeof(*q));
	if (!q)
		return JITRD_ERR_NOMEM;
	q->s = s;
	q->wait_seconds = cfg->sqs.wait_time_seconds;
	q->max_messages = cfg->sqs.max_messages;
	q->visibility_seconds = cfg->sqs.visibility_timeout_seconds;
	q->poller_count = (size_t)cfg->sqs.pollers;
	q->capacity = (size_t)cfg->service.workers * HELD_PER_WORKER +
	              q->poller_count * (size_t)q->max_messages;
	q->answering = true;
	atomic_init(&q->cancel, 0);
	if (pthread_condattr_init(&mono) != 0) {
		free(q);
		return JITRD_ERR_NOMEM;
	}
	if (pthread_condattr_setclock(&mono, CLOCK_MONOTONIC) != 0 ||
	    pthread_mutex_init(&q->lock, NULL) != 0) {
		pthread_condattr_destroy(&mono);
		free(q);
		return JITRD_ERR_NOMEM;
	}
	if (pthread_cond_init(&q->changed, &mono) != 0) {
		pthread_condattr_destroy(&mono);
		pthread_mutex_destroy(&q->lock);
		free(q);
		return JITRD_ERR_NOMEM;
	}
	pthread_condattr_destroy(&mono);
	/* From here on jitrd_daemon_sqs_free frees what is made; readiness reads it from the
	 * HTTP thread. */
	pthread_mutex_lock(&s->lock);
	s->sqs = q;
	pthread_mutex_unlock(&s->lock);
	q->held = calloc(q->capacity, sizeof(*q->held));
	q->sessions = calloc(q->poller_count, sizeof(*q->sessions));
	q->pollers = calloc(q->poller_count, sizeof(*q->pollers));
	if (!q->held || !q->sessions || !q->pollers)
		return JITRD_ERR_NOMEM;
	jitrd_sqs_client_options_init(&opts, cfg);
	err = jitrd_sqs_client_new(&opts, s->online.credentials, &q->client, diag);
	if (err != JITRD_OK)
		return err;
	if ((err = jitrd_sqs_session_new(q->client, &q->keeper_session)) != JITRD_OK)
		return err;
	for (size_t i = 0; i < q->poller_count; i++) {
		if ((err = jitrd_sqs_session_new(q->client, &q->sessions[i])) != JITRD_OK)
			return err;
		jitrd_sqs_session_set_cancel(q->sessions[i], cancelled, q);
	}
	jitrd_metrics_sqs_enable(s->metrics);
	/* The queue must answer before the service says it started, as MQTT's SUBACK. */
	err = jitrd_sqs_queue_depth(q->keeper_session, jitrd_iot_deadline_in(CALL_MS), &depth, NULL,
	                            diag);
	if (err != JITRD_OK) {
		jitrd_diag_prefix(diag, jitrd_sqs_client_queue_url(q->client));
		jitrd_diag_prefix(diag, "[sqs] queue_url");
		return err;
	}
	jitrd_metrics_set_sqs_queue_depth(s->metrics, depth);
	if (q->visibility_seconds < cfg->service.event_deadline_seconds)
		/* A message visible again while its event is open is received again and left
		 * again, over and over, until the extension or the outcome comes. */
		jitrd_daemon_say(s, JITRD_LOG_WARN, "sqs.visibility_short", "reason",
		                 "[sqs] visibility_timeout_seconds is below [service] "
		                 "event_deadline_seconds");
	if (pthread_create(&q->keeper, NULL, keeper_main, q) != 0)
		return JITRD_ERR_NOMEM;
	q->keeper_started = true;
	for (size_t i = 0; i < q->poller_count; i++) {
		struct poller *p = malloc(sizeof(*p));

		if (!p)
			return JITRD_ERR_NOMEM;
		p->q = q;
		p->index = i;
		if (pthread_create(&q->pollers[i], NULL, poller_main, p) != 0) {
			free(p);
			return JITRD_ERR_NOMEM;
		}
		q->pollers_started++;
	}
	return JITRD_OK;
}

void jitrd_daemon_sqs_stop_intake(struct service *s)
{
	struct jitrd_daemon_sqs *q = s->sqs;

	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop_intake = true;
	pthread_cond_broadcast(&q->changed);
	pthread_mutex_unlock(&q->lock);
	/* A long poll in progress ends within about a second; what it would have brought is
	 * not taken, so SQS hands it out again after its visibility timeout. */
	atomic_store(&q->cancel, 1);
	for (size_t i = 0; i < q->pollers_started; i++)
		pthread_join(q->pollers[i], NULL);
	q->pollers_started = 0;
}

void jitrd_daemon_sqs_drain(struct service *s)
{
	struct jitrd_daemon_sqs *q = s->sqs;
	size_t left = 0;
	char count[24];

	if (!q || q->drained)
		return;
	q->drained = true;
	jitrd_daemon_sqs_stop_intake(s);
	pthread_mutex_lock(&q->lock);
	q->stop_keeper = true;
	pthread_cond_broadcast(&q->changed);
	pthread_mutex_unlock(&q->lock);
	if (q->keeper_started)
		pthread_join(q->keeper, NULL);
	q->keeper_started = false;
	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i < q->capacity && q->held; i++)
		if (q->held[i].state != HELD_FREE) {
			left++;
			release(q, &q->held[i]);
		}
	pthread_mutex_unlock(&q->lock);
	jitrd_metrics_sqs_messages(s->metrics, JITRD_METRICS_SQS_RETURNED, left);
	snprintf(count, sizeof(count), "%zu", left);
	jitrd_log_kv(s->log, JITRD_LOG_INFO, "sqs.stopped", "left", count, NULL);
}

void jitrd_daemon_sqs_free(struct service *s)
{
	struct jitrd_daemon_sqs *q = s->sqs;

	if (!q)
		return;
	jitrd_daemon_sqs_drain(s);
	for (size_t i = 0; i < q->poller_count && q->sessions; i++)
		jitrd_sqs_session_free(q->sessions[i]);
	jitrd_sqs_session_free(q->keeper_session);
	jitrd_sqs_client_free(q->client);
	free(q->sessions);
	free(q->pollers);
	free(q->held);
	pthread_cond_destroy(&q->changed);
	pthread_mutex_destroy(&q->lock);
	free(q);
	s->sqs = NULL;
}

_Static_assert(sizeof(((struct held *)0)->message_id) ==
                   sizeof(((struct jitrd_sqs_message *)0)->message_id),
               "message id sizes");
_Static_assert(sizeof(((struct held *)0)->receipt_handle) ==
                   sizeof(((struct jitrd_sqs_message *)0)->receipt_handle),
               "receipt handle sizes");
