/* reload.c — the daemon's runtime snapshots: what a snapshot holds (logged at start and on
 * every reload, CRL gauges, rollbacks), the reload on SIGHUP or the timer that swaps in a new
 * snapshot only when it is no worse, and the CRL numbers saved for the next start. */
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "daemon_internal.h"

bool jitrd_daemon_crl_stale(const struct jitrd_crl_info *info, time_t now)
{
	return info->next_update == 0 || now > info->next_update;
}

void jitrd_daemon_set_crl_metrics(struct service *s, const struct jitrd_runtime *rt)
{
	jitrd_metrics_clear_crl(s->metrics);
	for (size_t i = 0; i < jitrd_caset_count(rt->cas); i++) {
		const struct jitrd_cert *ca = jitrd_caset_at(rt->cas, i);
		const struct jitrd_crl_info *info = jitrd_crl_store_info(rt->crls, ca);

		if (info)
			jitrd_metrics_set_crl(s->metrics, jitrd_cert_id(ca), info->entries,
			                      (int64_t)info->this_update,
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
void jitrd_daemon_log_snapshot(struct service *s, const char *event, const char *trigger,
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
		stale += jitrd_daemon_crl_stale(info, now);
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
void jitrd_daemon_log_rollbacks(struct service *s, const struct jitrd_runtime *rt)
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
void jitrd_daemon_save_crl_numbers(struct service *s, const struct jitrd_runtime *rt)
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

static bool reload_locked(struct service *s, const char *trigger)
{
	struct jitrd_diag diag = {{0}};
	struct jitrd_runtime *new_rt = NULL;
	struct jitrd_runtime *old = jitrd_daemon_runtime(s);
	enum jitrd_err err = jitrd_runtime_successor(s->opts->config_path, old, s->crl_floors,
	                                             time(NULL), &new_rt, &diag);

	jitrd_runtime_unref(old);
	if (new_rt)
		jitrd_daemon_log_rollbacks(s, new_rt);
	if (err != JITRD_OK) {
		jitrd_log_kv(s->log, JITRD_LOG_ERROR, "reload.failed", "trigger", trigger, "reason",
		             *diag.text ? diag.text : jitrd_strerror(err), "kept",
		             "previous snapshot", NULL);
		jitrd_runtime_unref(new_rt);
		return false;
	}
	pthread_mutex_lock(&s->lock);
	old = s->rt;
	s->rt = new_rt;
	pthread_mutex_unlock(&s->lock);
	/* Workers still holding the old snapshot keep it alive until their event ends. */
	jitrd_runtime_unref(old);
	jitrd_daemon_set_crl_metrics(s, new_rt);
	jitrd_daemon_log_snapshot(s, "reload.ok", trigger, new_rt);
	{
		/* New CAs, CRLs or templates may decide a remembered certificate differently. */
		size_t forgotten = 0;
		char count[24];

		if (jitrd_journal_forget_all(s->journal, &forgotten, &diag) != JITRD_OK) {
			jitrd_daemon_say(s, JITRD_LOG_WARN, "journal.error", "reason", diag.text);
		} else if (forgotten > 0) {
			snprintf(count, sizeof(count), "%zu", forgotten);
			jitrd_daemon_say(s, JITRD_LOG_INFO, "journal.forgot_decisions", "rows",
			                 count);
		}
	}
	jitrd_daemon_save_crl_numbers(s, new_rt);
	return true;
}

bool jitrd_daemon_reload(struct service *s, const char *trigger)
{
	bool swapped;

	pthread_mutex_lock(&s->reload_lock);
	swapped = reload_locked(s, trigger);
	pthread_mutex_unlock(&s->reload_lock);
	return swapped;
}
