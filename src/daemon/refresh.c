/* refresh.c — the daemon's CRL refresh thread: runs the refresher (crl_refresh.h) when a
 * source is due, and when the cache changed reloads the runtime (reload.c), so workers never
 * wait for a fetch or a parse: the new snapshot is built aside and swapped. Stops promptly:
 * its wait is a condition variable, and a fetch is bounded by [crl] fetch_timeout_seconds. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_internal.h"
#include "jitrd/clock.h"
#include "jitrd/crl_refresh.h"

/* The longest the thread sleeps without looking at the schedule (a device source may have
 * been added, the wall clock may have stepped). */
#define IDLE_WAKE_MS 60000

struct jitrd_daemon_refresh {
	struct service *service;
	struct jitrd_crl_refresh *refresher;
	pthread_mutex_t lock; /* stop and poke */
	pthread_cond_t wake;  /* stop, or a source was added */
	bool stop, poke;
	pthread_t thread;
	bool started;
};

static void log_sources(struct service *s, struct jitrd_crl_refresh *r, time_t attempted_at)
{
	size_t n = jitrd_crl_refresh_count(r);

	for (size_t i = 0; i < n; i++) {
		struct jitrd_crl_source_info *info = malloc(sizeof(*info));
		char number[24] = "none", next_due[24];
		enum jitrd_log_level level;

		if (!info || jitrd_crl_refresh_source_at(r, i, info) != JITRD_OK ||
		    info->last_attempt != attempted_at) {
			free(info);
			continue;
		}
		jitrd_metrics_crl_fetch(s->metrics, info->last_outcome);
		if (info->cached && info->meta.crl_number >= 0)
			snprintf(number, sizeof(number), "%" PRId64, info->meta.crl_number);
		snprintf(next_due, sizeof(next_due), "%lld", (long long)info->next_due);
		switch (info->last_outcome) {
		case JITRD_CRL_OUTCOME_NEW:
			level = JITRD_LOG_INFO;
			break;
		case JITRD_CRL_OUTCOME_NOT_MODIFIED:
			level = JITRD_LOG_DEBUG;
			break;
		default:
			level = JITRD_LOG_WARN;
			break;
		}
		jitrd_log_kv(s->log, level, "crl.fetch", "url", info->shown_url, "outcome",
		             jitrd_crl_fetch_outcome_name(info->last_outcome), "reason",
		             info->last_reason, "crl_number", number, "ca",
		             info->cached ? info->meta.ca : "", "next_due", next_due, NULL);
		free(info);
	}
}

/* One run over the due sources (all of them when force), then a reload when the cache
 * changed. deadline_ms: wall clock, 0 for none. */
static void refresh_once(struct jitrd_daemon_refresh *d, bool force, int64_t deadline_ms)
{
	struct service *s = d->service;
	struct jitrd_runtime *rt = jitrd_daemon_runtime(s);
	struct jitrd_crl_refresh_report report;
	time_t now = time(NULL);
	enum jitrd_err err =
	    jitrd_crl_refresh_run(d->refresher, rt, now, deadline_ms, force, &report);

	jitrd_runtime_unref(rt);
	if (err != JITRD_OK) {
		jitrd_daemon_say(s, JITRD_LOG_ERROR, "crl.refresh_failed", "reason",
		                 jitrd_strerror(err));
		return;
	}
	log_sources(s, d->refresher, now);
	if (report.changed)
		(void)jitrd_daemon_reload(s, "crl-fetch");
}

static void *refresh_main(void *arg)
{
	struct jitrd_daemon_refresh *d = arg;

	for (;;) {
		bool run = false;

		pthread_mutex_lock(&d->lock);
		while (!d->stop && !run) {
			time_t due = jitrd_crl_refresh_next_due(d->refresher);
			time_t now = time(NULL);
			int64_t wait_ms = IDLE_WAKE_MS;
			struct timespec until;

			if (d->poke || (due != (time_t)-1 && due <= now)) {
				run = true;
				break;
			}
			if (due != (time_t)-1 && (int64_t)(due - now) * 1000 < wait_ms)
				wait_ms = (int64_t)(due - now) * 1000;
			until = jitrd_clock_mono_at(jitrd_clock_mono_ms() + wait_ms);
			(void)pthread_cond_timedwait(&d->wake, &d->lock, &until);
		}
		d->poke = false;
		if (d->stop) {
			pthread_mutex_unlock(&d->lock);
			return NULL;
		}
		pthread_mutex_unlock(&d->lock);
		refresh_once(d, false, 0);
	}
}

enum jitrd_err jitrd_daemon_refresh_start(struct service *s, struct jitrd_diag *diag)
{
	const struct jitrd_config *cfg = s->boot_rt->cfg;
	const struct jitrd_caset *issuers =
	    s->boot_rt->crl_issuers ? s->boot_rt->crl_issuers : s->boot_rt->cas;
	struct jitrd_daemon_refresh *d;
	enum jitrd_err err;
	char count[24];

	if (cfg->crl.url_count == 0 && cfg->crl.distribution_points == JITRD_CRL_DP_OFF)
		return JITRD_OK;
	if (!(d = calloc(1, sizeof(*d))))
		return JITRD_ERR_NOMEM;
	d->service = s;
	if (pthread_mutex_init(&d->lock, NULL) != 0) {
		free(d);
		return JITRD_ERR_NOMEM;
	}
	if (jitrd_clock_cond_init(&d->wake) != JITRD_OK) {
		pthread_mutex_destroy(&d->lock);
		free(d);
		return JITRD_ERR_NOMEM;
	}
	s->refresh = d;
	if ((err = jitrd_crl_refresh_new(cfg, &d->refresher)) != JITRD_OK ||
	    (err = jitrd_crl_refresh_add_ca_points(d->refresher, issuers, NULL)) != JITRD_OK) {
		jitrd_diag_set(diag, "CRL sources: %s", jitrd_strerror(err));
		return err;
	}
	jitrd_crl_refresh_set_credentials(d->refresher, s->online.credentials);
	snprintf(count, sizeof(count), "%zu", jitrd_crl_refresh_count(d->refresher));
	jitrd_daemon_say(s, JITRD_LOG_INFO, "crl.sources", "count", count);
	/* Before readiness: a first fetch of every source, bounded, so a fresh host starts with
	 * current CRLs; a source that does not answer is retried by the thread. */
	refresh_once(d, true,
	             jitrd_clock_wall_ms() + (int64_t)cfg->crl.fetch_timeout_seconds * 1000);
	if (pthread_create(&d->thread, NULL, refresh_main, d) != 0) {
		jitrd_diag_set(diag, "cannot start the CRL refresh thread");
		return JITRD_ERR_NOMEM;
	}
	d->started = true;
	return JITRD_OK;
}

/* Sets stop (or poke: look at the sources again) and wakes the thread. */
static void wake(struct jitrd_daemon_refresh *d, bool stop)
{
	pthread_mutex_lock(&d->lock);
	if (stop)
		d->stop = true;
	else
		d->poke = true;
	pthread_cond_signal(&d->wake);
	pthread_mutex_unlock(&d->lock);
}

void jitrd_daemon_refresh_poke(struct service *s)
{
	if (s->refresh)
		wake(s->refresh, false);
}

void jitrd_daemon_crl_missing(void *ctx, const struct jitrd_cert *device)
{
	struct service *s = ctx;
	size_t added = 0;

	if (!s->refresh ||
	    jitrd_crl_refresh_add_device_points(s->refresh->refresher, device, &added) != JITRD_OK)
		return;
	if (added > 0)
		jitrd_daemon_refresh_poke(s);
}

void jitrd_daemon_refresh_stop(struct service *s)
{
	struct jitrd_daemon_refresh *d = s->refresh;

	if (!d)
		return;
	wake(d, true);
	if (d->started)
		pthread_join(d->thread, NULL);
	jitrd_crl_refresh_free(d->refresher);
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->lock);
	free(d);
	s->refresh = NULL;
}
