/* daemon.c — `jitrd run`: assembles the journal, the IoT client, the pipeline, the workers
 * (workers.c), the health server and the MQTT source, and runs the main loop until
 * SIGTERM/SIGINT: reloads (reload.c), journal maintenance, the service manager's view. Signals
 * are taken synchronously (sigtimedwait) in the main thread: no code runs in a signal handler. */
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

#include "daemon_internal.h"
#include "jitrd/clock.h"
#include "jitrd/credentials.h"
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
#include "jitrd/setup.h"

#define MQTT_STOP_MS 2000
#define LOCK_FILE    "jitrd.lock"
/* How often stale in-progress rows are looked for, and how much longer than the event
 * deadline a claim may last before its row is handed out again. */
#define REQUEUE_CHECK_MS       60000
#define REQUEUE_MARGIN_SECONDS 60
#define STATE_PATH_MAX         4096

/* ---- readiness ------------------------------------------------------------------------- */

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
	/* The source outlives this call: stop takes it away under this lock first. */
	if (s->mqtt_configured && !jitrd_mqtt_source_health(s->mqtt, reason, reason_size, NULL)) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	rt = jitrd_runtime_ref(s->rt);
	pthread_mutex_unlock(&s->lock);
	if (s->sqs_configured && !jitrd_daemon_sqs_health(s, reason, reason_size)) {
		jitrd_runtime_unref(rt);
		return 0;
	}
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
		} else if (jitrd_daemon_crl_stale(info, now)) {
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
		jitrd_daemon_say(s, JITRD_LOG_WARN, "state_dir.narrowed", "path",
		                 cfg->service.state_dir);
	if (snprintf(path, sizeof(path), "%s/%s", cfg->service.state_dir, JITRD_JOURNAL_FILE) >=
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
	jopts.metrics = s->metrics;
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

static enum jitrd_err make_client(struct service *s, struct jitrd_diag *diag)
{
	struct jitrd_online_options o;

	jitrd_online_options_init(&o);
	o.runtime = s->boot_rt; /* the client's settings come from the start-up snapshot */
	o.envp = s->opts->envp;
	o.pipeline = true;
	/* None: the workers write each certificate's inventory row with the event's outcome, in
	 * one journal transaction (finish_in_journal), not one of its own. */
	o.pipeline_journal = NULL;
	o.metrics = s->metrics;
	o.log = s->log;
	if (s->boot_rt->cfg->crl.distribution_points == JITRD_CRL_DP_ALL) {
		/* the refresher is made next, before any worker runs */
		o.crl_missing = jitrd_daemon_crl_missing;
		o.crl_missing_ctx = s;
	}
	return jitrd_online_open(&o, &s->online, diag);
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
		jitrd_daemon_say(s, JITRD_LOG_WARN, "journal.requeue_failed", "reason", diag.text);
		return;
	}
	if (count > 0) {
		snprintf(text, sizeof(text), "%zu", count);
		jitrd_daemon_say(s, JITRD_LOG_WARN, "journal.requeued_stale", "rows", text);
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
		jitrd_daemon_say(s, JITRD_LOG_WARN, "journal.prune_failed", "reason", diag.text);
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
			jitrd_notify_reloaded(s->notify, jitrd_daemon_reload(s, "SIGHUP"), "SIGHUP",
			                      time(NULL));
		}
		if (next_reload >= 0 && jitrd_clock_mono_ms() >= next_reload) {
			jitrd_notify_reloaded(s->notify, jitrd_daemon_reload(s, "timer"), "timer",
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
	/* Before the workers, which ask it about each row they finish; what its pollers record
	 * meanwhile waits in the journal. */
	if (cfg->sqs.queue_url[0]) {
		err = jitrd_daemon_sqs_start(s, cfg, diag);
		if (err != JITRD_OK)
			return err;
	}
	err = jitrd_daemon_start_threads(s, (size_t)cfg->service.workers);
	if (err != JITRD_OK) {
		jitrd_diag_set(diag, "cannot start the worker threads");
		return err;
	}
	if (cfg->mqtt.url[0]) {
		struct jitrd_mqtt_source_options mopts = {0};
		struct jitrd_mqtt_source *mqtt = NULL;

		mopts.log = s->log;
		mopts.metrics = s->metrics;
		err = jitrd_mqtt_source_start(cfg, &mopts, jitrd_daemon_on_message, s, &mqtt, diag);
		if (err != JITRD_OK)
			return err;
		pthread_mutex_lock(&s->lock);
		s->mqtt = mqtt;
		/* the start-up sweep's quiet period counts from the subscription (workers.c) */
		s->last_activity_ms = jitrd_clock_mono_ms();
		pthread_mutex_unlock(&s->lock);
	}
	return JITRD_OK;
}

/* Stops intake first (the MQTT source), then the threads (jitrd_daemon_stop_threads). */
static bool stop(struct service *s, int deadline_seconds)
{
	struct jitrd_mqtt_source *mqtt;

	pthread_mutex_lock(&s->lock);
	mqtt = s->mqtt;
	s->mqtt = NULL;
	pthread_mutex_unlock(&s->lock);
	if (mqtt)
		jitrd_mqtt_source_stop(mqtt, MQTT_STOP_MS); /* it logs mqtt.stopped */
	jitrd_daemon_sqs_stop_intake(s);
	if (!jitrd_daemon_stop_threads(s, deadline_seconds)) {
		/* What finished is still deleted; the rest comes back to another host. */
		jitrd_daemon_sqs_drain(s);
		return false;
	}
	jitrd_daemon_sqs_drain(s);
	/* after the workers: they may still hand it device distribution points */
	jitrd_daemon_refresh_stop(s);
	return true;
}

static void free_service(struct service *s)
{
	jitrd_daemon_refresh_stop(s);
	jitrd_http_status_stop(s->http);
	jitrd_notify_free(s->notify);
	jitrd_daemon_free_threads(s);
	jitrd_daemon_sqs_free(s); /* before the credentials it signs with */
	jitrd_online_close(&s->online);
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
	sigset_t signals;
	const char *stop_signal;
	enum jitrd_err err;
	int status = JITRD_SERVICE_EXIT_CONFIG;

	if (!s || jitrd_daemon_sync_init(s) != JITRD_OK) {
		dprintf(opts->log_fd, "jitrd: out of memory\n");
		free(s);
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

	s->boot_rt = jitrd_runtime_new(opts->config_path, time(NULL), &diag);
	if (!s->boot_rt) {
		dprintf(opts->log_fd, "jitrd: %s\n", diag.text);
		goto cleanup;
	}
	cfg = s->boot_rt->cfg;
	s->rt = jitrd_runtime_ref(s->boot_rt);
	s->mqtt_configured = cfg->mqtt.url[0] != '\0';
	s->sqs_configured = cfg->sqs.queue_url[0] != '\0';
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
		jitrd_daemon_say(s, JITRD_LOG_ERROR, "notify.disabled", "reason", diag.text);
		diag.text[0] = '\0';
	}
	jitrd_daemon_log_snapshot(s, "service.starting", "start", s->boot_rt);
	jitrd_daemon_set_crl_metrics(s, s->boot_rt);
	jitrd_daemon_log_rollbacks(s, s->boot_rt);

	err = open_journal(s, cfg, &diag);
	if (err == JITRD_OK)
		/* state_dir exists from here on */
		jitrd_daemon_save_crl_numbers(s, s->boot_rt);
	if (err == JITRD_OK)
		err = make_client(s, &diag);
	/* after the client: s3:// sources use its credentials chain; before the workers */
	if (err == JITRD_OK)
		err = jitrd_daemon_refresh_start(s, &diag);
	if (err == JITRD_OK)
		err = start_peers(s, cfg, &diag);
	if (err != JITRD_OK) {
		jitrd_daemon_say(s, JITRD_LOG_ERROR, "service.start_failed", "reason",
		                 *diag.text ? diag.text : jitrd_strerror(err));
		status = exit_status_for(err);
		if (!stop(s, cfg->service.event_deadline_seconds))
			return status; /* see below */
		goto cleanup;
	}
	prune(s);
	jitrd_log_kv(s->log, JITRD_LOG_INFO, "service.started", "mqtt",
	             s->mqtt_configured ? cfg->mqtt.url : "", "sqs", cfg->sqs.queue_url, NULL);

	stop_signal = main_loop(s, &signals, cfg->crl.reload_seconds);
	jitrd_notify_stopping(s->notify, stop_signal);
	jitrd_daemon_say(s, JITRD_LOG_INFO, "service.stopping", "signal", stop_signal);
	if (!stop(s, cfg->service.event_deadline_seconds)) {
		/* A thread is still inside an event: s and what it holds are left to the process's
		 * exit (freeing them under the thread would be worse than the leak). */
		jitrd_daemon_say(
		    s, JITRD_LOG_WARN, "service.stopped", "reason",
		    "in-flight events passed the deadline; they are replayed at the next start");
		return JITRD_SERVICE_EXIT_OK;
	}
	status = JITRD_SERVICE_EXIT_OK;
cleanup:
	free_service(s);
	if (status == JITRD_SERVICE_EXIT_OK)
		jitrd_daemon_say(s, JITRD_LOG_INFO, "service.stopped", "reason",
		                 "signal; journal closed");
	jitrd_log_free(s->log);
	jitrd_daemon_sync_cleanup(s);
	free(s);
	return status;
}
