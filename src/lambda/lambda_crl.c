/* lambda_crl.c — CRLs that keep themselves current in the Lambda runtime: the refresher
 * (crl_refresh.h) run once at init within a bound, then before an invocation's events when a
 * source is due, within a share of that invocation's time; a changed cache becomes a new
 * snapshot swapped in between invocations (one invocation at a time: nothing else uses the
 * old one). The cache lives in the state directory, by default under /tmp (lambda.c), which
 * lasts as long as the execution environment. A fetch never fails the function: a CA without
 * a current CRL defers its devices, and Lambda or SQS retries them. */
#include "lambda_crl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jitrd/clock.h"
#include "jitrd/files.h"
#include "jitrd/lambda.h"

int64_t jitrd_lambda_refresh_budget(int64_t left_ms, int64_t fetch_timeout_ms)
{
	int64_t budget = left_ms / JITRD_LAMBDA_REFRESH_SHARE;

	if (budget > fetch_timeout_ms)
		budget = fetch_timeout_ms;
	return budget < JITRD_LAMBDA_MIN_REFRESH_MS ? 0 : budget;
}

bool jitrd_lambda_reload_fits(int64_t left_ms, int64_t load_ms)
{
	return left_ms > 0 && load_ms >= 0 && load_ms <= INT64_MAX / 2 &&
	       2 * load_ms <= left_ms / JITRD_LAMBDA_REFRESH_SHARE;
}

/* One line per source tried by the run at attempted_at (CloudWatch keeps it): what came of
 * it and the CRL the cache holds for it. */
static void log_attempts(struct jitrd_crl_refresh *r, struct jitrd_log *log, time_t attempted_at)
{
	size_t n = jitrd_crl_refresh_count(r);
	struct jitrd_crl_source_info *info = malloc(sizeof(*info));

	for (size_t i = 0; info && i < n; i++) {
		char number[24] = "none", next_due[24];
		bool fine;

		if (jitrd_crl_refresh_source_at(r, i, info) != JITRD_OK ||
		    info->last_attempt != attempted_at)
			continue;
		fine = info->last_outcome == JITRD_CRL_OUTCOME_NEW ||
		       info->last_outcome == JITRD_CRL_OUTCOME_NOT_MODIFIED;
		if (info->cached && info->meta.crl_number >= 0)
			snprintf(number, sizeof(number), "%" PRId64, info->meta.crl_number);
		snprintf(next_due, sizeof(next_due), "%lld", (long long)info->next_due);
		jitrd_log_kv(log, fine ? JITRD_LOG_INFO : JITRD_LOG_WARN, "crl.fetch", "url",
		             info->shown_url, "outcome",
		             jitrd_crl_fetch_outcome_name(info->last_outcome), "reason",
		             info->last_reason, "crl_number", number, "ca",
		             info->cached ? info->meta.ca : "", "next_due", next_due, NULL);
	}
	free(info);
}

/* A new snapshot from the same configuration, its CRLs judged against the floors of the one
 * in use (numbers never go down, RFC 5280 §5.2.3), swapped in unless it would leave a CA
 * without the CRL it has now; the numbers are then kept in the state directory, for a
 * process that Lambda restarts in the same environment. A snapshot that fails to load or is
 * worse is logged and the current one kept. Errors: JITRD_ERR_NOMEM. */
static enum jitrd_err reload(struct lambda_crl *c, struct jitrd_online *online,
                             struct jitrd_log *log, const char *trigger)
{
	struct jitrd_diag diag = {{0}};
	struct jitrd_runtime *rt = NULL;
	int64_t started = jitrd_clock_mono_ms();
	char took[24];
	enum jitrd_err err =
	    jitrd_runtime_successor(NULL, online->rt, NULL, time(NULL), &rt, &diag);

	if (err == JITRD_ERR_NOMEM)
		return err;
	c->reload_pending = false;
	for (size_t i = 0; rt && i < jitrd_crl_store_rollback_count(rt->crls); i++) {
		const struct jitrd_crl_rollback *rb = jitrd_crl_store_rollback_at(rt->crls, i);

		jitrd_log_kv(log, JITRD_LOG_ERROR, "crl.rollback", "ca", rb->ca_id, "file",
		             rb->origin, "crl_number", rb->number, "highest_accepted", rb->floor,
		             NULL);
	}
	if (err != JITRD_OK) {
		jitrd_log_kv(log, JITRD_LOG_ERROR, "reload.failed", "trigger", trigger, "reason",
		             *diag.text ? diag.text : jitrd_strerror(err), "kept",
		             "previous snapshot", NULL);
		jitrd_runtime_unref(rt);
		return JITRD_OK;
	}
	c->load_ms = jitrd_clock_mono_ms() - started;
	jitrd_online_set_runtime(online, rt);
	jitrd_runtime_unref(rt);
	if (jitrd_runtime_save_crl_floors(online->rt, NULL, &diag) != JITRD_OK)
		jitrd_log_kv(log, JITRD_LOG_WARN, "crl.numbers_not_saved", "reason", diag.text,
		             NULL);
	snprintf(took, sizeof(took), "%lld", (long long)c->load_ms);
	jitrd_log_kv(log, JITRD_LOG_INFO, "reload.ok", "trigger", trigger, "load_ms", took, NULL);
	return JITRD_OK;
}

/* One run of the refresher over the due sources (all when force) until deadline_ms (wall
 * clock), logged; reload_pending when the cache changed. Errors: JITRD_ERR_NOMEM. */
static enum jitrd_err refresh(struct lambda_crl *c, const struct jitrd_online *online,
                              struct jitrd_log *log, int64_t deadline_ms, bool force)
{
	struct jitrd_crl_refresh_report report;
	time_t now = time(NULL);
	enum jitrd_err err =
	    jitrd_crl_refresh_run(c->refresher, online->rt, now, deadline_ms, force, &report);

	if (err != JITRD_OK)
		return err;
	log_attempts(c->refresher, log, now);
	if (report.skipped > 0) {
		char skipped[24];
		snprintf(skipped, sizeof(skipped), "%u", report.skipped);
		jitrd_log_kv(log, JITRD_LOG_WARN, "crl.fetch_postponed", "sources", skipped,
		             "reason", "no time left in this phase", NULL);
	}
	c->reload_pending = c->reload_pending || report.changed;
	return JITRD_OK;
}

enum jitrd_err lambda_crl_init(struct lambda_crl *c, struct jitrd_online *online,
                               struct jitrd_log *log, int64_t budget_ms, int64_t load_ms,
                               struct jitrd_diag *diag)
{
	const struct jitrd_config *cfg = online->rt->cfg;
	const struct jitrd_caset *issuers =
	    online->rt->crl_issuers ? online->rt->crl_issuers : online->rt->cas;
	struct jitrd_diag dir_diag = {{0}};
	int64_t timeout_ms = (int64_t)cfg->crl.fetch_timeout_seconds * 1000;
	char count[24];
	enum jitrd_err err;

	memset(c, 0, sizeof(*c));
	c->load_ms = load_ms;
	if (cfg->crl.url_count == 0 && cfg->crl.distribution_points == JITRD_CRL_DP_OFF)
		return JITRD_OK;
	/* the cache's parent: not fatal when it cannot be made, each fetch then says so and the
	 * zip's crl/ goes on counting */
	if (jitrd_private_dir(cfg->service.state_dir, NULL, &dir_diag) != JITRD_OK)
		jitrd_log_kv(log, JITRD_LOG_ERROR, "crl.cache_unusable", "reason", dir_diag.text,
		             NULL);
	if ((err = jitrd_crl_refresh_new(cfg, &c->refresher)) != JITRD_OK ||
	    (err = jitrd_crl_refresh_add_ca_points(c->refresher, issuers, NULL)) != JITRD_OK) {
		jitrd_diag_set(diag, "CRL sources: %s", jitrd_strerror(err));
		return err;
	}
	/* s3:// sources are signed with the role's credentials, as the IoT calls are */
	jitrd_crl_refresh_set_credentials(c->refresher, online->credentials);
	snprintf(count, sizeof(count), "%zu", jitrd_crl_refresh_count(c->refresher));
	jitrd_log_kv(log, JITRD_LOG_INFO, "crl.sources", "count", count, "state_dir",
	             cfg->service.state_dir, NULL);
	if (budget_ms > timeout_ms)
		budget_ms = timeout_ms;
	if ((err = refresh(c, online, log, jitrd_clock_wall_ms() + budget_ms, true)) != JITRD_OK ||
	    (c->reload_pending && (err = reload(c, online, log, "crl-fetch-init")) != JITRD_OK)) {
		jitrd_diag_set(diag, "CRL refresh: %s", jitrd_strerror(err));
		return err;
	}
	return JITRD_OK;
}

enum jitrd_err lambda_crl_before_invocation(struct lambda_crl *c, struct jitrd_online *online,
                                            struct jitrd_log *log, int64_t until)
{
	time_t due;
	int64_t budget;
	enum jitrd_err err;

	if (!c->refresher)
		return JITRD_OK;
	due = jitrd_crl_refresh_next_due(c->refresher);
	if (due != (time_t)-1 && due <= time(NULL)) {
		budget = jitrd_lambda_refresh_budget(
		    until - jitrd_clock_mono_ms(),
		    (int64_t)online->rt->cfg->crl.fetch_timeout_seconds * 1000);
		if (budget > 0 && (err = refresh(c, online, log, jitrd_clock_wall_ms() + budget,
		                                 false)) != JITRD_OK)
			return err;
	}
	if (c->reload_pending &&
	    jitrd_lambda_reload_fits(until - jitrd_clock_mono_ms(), c->load_ms))
		return reload(c, online, log, "crl-fetch");
	return JITRD_OK;
}

void lambda_crl_missing(void *ctx, const struct jitrd_cert *device)
{
	struct lambda_crl *c = ctx;

	/* with distribution_points = all, due at once: the next invocation fetches them, so the
	 * retry of the deferred event finds the CRL */
	if (c->refresher &&
	    jitrd_crl_refresh_add_device_points(c->refresher, device, NULL) != JITRD_OK)
		return; /* out of memory: the device stays deferred */
}

void lambda_crl_close(struct lambda_crl *c)
{
	jitrd_crl_refresh_free(c->refresher);
	memset(c, 0, sizeof(*c));
}
