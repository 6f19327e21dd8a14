/* daemon_internal.h — private to src/daemon and its tests: the state `jitrd run` shares
 * between its parts (daemon.c: start-up, signals, readiness and the main loop; workers.c: the
 * MQTT callback, the workers and the reconcile thread; reload.c: snapshots, CRL reloads and
 * what they log). Nothing outside src/daemon and tests/daemon includes it. */
#ifndef JITRD_DAEMON_INTERNAL_H
#define JITRD_DAEMON_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "jitrd/config.h"
#include "jitrd/crl.h"
#include "jitrd/error.h"
#include "jitrd/http_status.h"
#include "jitrd/iot_client.h"
#include "jitrd/journal.h"
#include "jitrd/log.h"
#include "jitrd/metrics.h"
#include "jitrd/mqtt_source.h"
#include "jitrd/notify.h"
#include "jitrd/pipeline.h"
#include "jitrd/runtime.h"
#include "jitrd/service.h"
#include "jitrd/setup.h"

struct service;
struct jitrd_daemon_sqs;

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
	struct jitrd_online online; /* credentials, client and pipeline over boot_rt */
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
	struct jitrd_crl_floors *crl_floors;  /* highest CRL numbers accepted; under reload_lock */
	struct jitrd_daemon_refresh *refresh; /* the CRL refresh thread (refresh.c), or NULL */
	/* Serialises reloads (SIGHUP, the timer, the refresh thread): one snapshot is built at a
	 * time, and the CRL numbers are saved in order. Never held by a worker. */
	pthread_mutex_t reload_lock;

	/* The one lock of the service: the current snapshot, the MQTT source pointer (readiness
	 * reads it from the HTTP thread), the wake-up sequence and the stop flag. Held only for
	 * a few instructions, never across a call that does I/O but the readiness probe's. */
	pthread_mutex_t lock;
	pthread_cond_t work;      /* an event was recorded, or stop */
	pthread_cond_t reconcile; /* stop */
	pthread_cond_t exited;    /* a thread ended (running went down) */
	struct jitrd_runtime *rt; /* current snapshot; workers take a reference per event */
	struct jitrd_mqtt_source *mqtt;
	/* The SQS source (sqs_source.c) when [sqs] queue_url is set: made before the service
	 * says it started, freed after the workers; it has its own lock. */
	struct jitrd_daemon_sqs *sqs;
	bool sqs_configured;
	unsigned long wake_seq;
	/* What the start-up sweep waits on (reconcile_main): when an event was last recorded or
	 * a worker last finished a batch (CLOCK_MONOTONIC ms), and the workers busy with a
	 * claimed batch now. */
	int64_t last_activity_ms;
	unsigned busy_workers;
	unsigned running; /* worker and reconcile threads not yet ended */
	bool stopping;
};

/* ---- workers.c ---- */

/* One log line with one key (jitrd_log_kv). */
void jitrd_daemon_say(struct service *s, enum jitrd_log_level level, const char *event,
                      const char *key, const char *value);
/* A reference to the current snapshot, for one event or one sweep (jitrd_runtime_unref). */
struct jitrd_runtime *jitrd_daemon_runtime(struct service *s);
/* paho's thread, before the PUBACK: records the event (jitrd_mqtt_message_fn, ctx = s). */
int jitrd_daemon_on_message(void *ctx, const char *topic, const void *payload, size_t len);
/* The SQS source's intake of one event (len bytes, already decoded). 0: recorded, *row_id the
 * row a worker takes (> 0), or 0 when its outcome is already final (a repeat of a remembered
 * decision): the message can go. 1: a row for the certificate is open; it decides, and this
 * copy is left to reappear (never joined: its message would be deleted before the open row's
 * outcome is known). -1: the journal failed (logged). */
int jitrd_daemon_record_sqs(struct service *s, const void *payload, size_t len, int64_t *row_id);
/* s's lock and condition variables (their waits are CLOCK_MONOTONIC deadlines); on an error
 * none is left. Errors: JITRD_ERR_NOMEM (pthread refused one). */
enum jitrd_err jitrd_daemon_sync_init(struct service *s) JITRD_WUR;
void jitrd_daemon_sync_cleanup(struct service *s);
/* How many events a worker claims when due events are due (counted up to workers x the
 * largest batch) and workers share them: the largest batch while the backlog is long, an
 * equal share (at least 1) near its end; the largest batch for one worker. */
size_t jitrd_daemon_claim_size(size_t due, size_t workers);
/* A session of s->client per worker and one for the reconcile sweep, then `workers` worker
 * threads over s->journal, s->pipeline and s->rt, and the reconcile thread (a sweep once the
 * event sources' start-up backlog is processed, at most 30 s after the start, then every
 * s->reconcile_seconds). s is set up but for workers, worker_count, running,
 * stopping and the reconcile fields. On an error, what was started is left for
 * jitrd_daemon_stop_threads and jitrd_daemon_free_threads. Errors: JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_daemon_start_threads(struct service *s, size_t workers) JITRD_WUR;
/* Lets the threads finish their current event within the deadline (intake is the caller's
 * to stop first). Returns false when some thread is still busy at the deadline: its shared
 * state must then not be freed (the process is about to exit anyway). */
bool jitrd_daemon_stop_threads(struct service *s, int deadline_seconds);
/* The sessions and worker table of stopped threads. */
void jitrd_daemon_free_threads(struct service *s);

/* ---- sqs_source.c ---- */

/* The client over s->online's credentials, a first GetQueueAttributes (the queue must
 * answer, as MQTT's SUBACK), then the keeper thread and cfg->sqs.pollers pollers. On an error
 * (diag says why; JITRD_ERR_CONFIG for the settings) what was made is left for
 * jitrd_daemon_sqs_free. */
enum jitrd_err jitrd_daemon_sqs_start(struct service *s, const struct jitrd_config *cfg,
                                      struct jitrd_diag *diag) JITRD_WUR;
/* true while the journal row came from a message the source holds (a worker asks before it
 * writes the outcome). */
bool jitrd_daemon_sqs_holds(struct service *s, int64_t row_id);
/* A worker wrote row_id's outcome: final, its message is deleted (batched); not final, it is
 * let go to reappear after its visibility timeout. Nothing for a row the source does not
 * hold. */
void jitrd_daemon_sqs_finished(struct service *s, int64_t row_id, bool final);
/* Readiness: false with a reason naming the queue while ReceiveMessage fails. */
bool jitrd_daemon_sqs_health(struct service *s, char *reason, size_t reason_size);
/* Stops the pollers (a long poll in progress ends within about a second). */
void jitrd_daemon_sqs_stop_intake(struct service *s);
/* After the workers: deletes what finished (bounded), lets the rest go, stops the keeper. */
void jitrd_daemon_sqs_drain(struct service *s);
/* Drains (when not done) and frees; nothing when there is no source. */
void jitrd_daemon_sqs_free(struct service *s);

/* ---- reload.c ---- */

/* A CRL without nextUpdate, or past it. */
bool jitrd_daemon_crl_stale(const struct jitrd_crl_info *info, time_t now);
/* The CRL gauges for what rt holds. */
void jitrd_daemon_set_crl_metrics(struct service *s, const struct jitrd_runtime *rt);
/* Logs what a snapshot holds: CAs, CAs with a CRL, entries, stale CRLs, refused files. */
void jitrd_daemon_log_snapshot(struct service *s, const char *event, const char *trigger,
                               const struct jitrd_runtime *rt);
/* Every CRL a snapshot refused as a rollback: logged with its file, counted per CA. */
void jitrd_daemon_log_rollbacks(struct service *s, const struct jitrd_runtime *rt);
/* Records the CRL numbers rt accepted, in memory and in state_dir/crl-numbers. */
void jitrd_daemon_save_crl_numbers(struct service *s, const struct jitrd_runtime *rt);
/* Loads a new snapshot and swaps it in unless it is worse (logged either way). true when the
 * new snapshot is in use, false when the previous one was kept. */
bool jitrd_daemon_reload(struct service *s, const char *trigger);

/* ---- refresh.c ---- */

/* With CRL sources configured ([crl] url, distribution_points): the refresher over boot_rt's
 * configuration, a first bounded fetch of every source (a reload when the cache changed),
 * then the thread that fetches each source when due. Without sources: nothing. Errors:
 * JITRD_ERR_NOMEM (diag says what); s->refresh is then left for jitrd_daemon_refresh_stop. */
enum jitrd_err jitrd_daemon_refresh_start(struct service *s, struct jitrd_diag *diag) JITRD_WUR;
/* Wakes the thread to look at its sources (one was added). */
void jitrd_daemon_refresh_poke(struct service *s);
/* jitrd_crl_missing_fn (ctx = s): with [crl] distribution_points = all, the device's points
 * become sources and the thread wakes to fetch them. */
void jitrd_daemon_crl_missing(void *ctx, const struct jitrd_cert *device);
/* Stops the thread (its fetch in progress ends within [crl] fetch_timeout_seconds) and frees
 * the refresher; nothing when not started. */
void jitrd_daemon_refresh_stop(struct service *s);

#endif
