/* ca_deactivate.c — `jitrd ca deactivate` (DESIGN §4.6): UpdateCACertificate INACTIVE, then,
 * with --revoke-certificates, every certificate of the CA revoked by worker threads within the
 * client's rate limits, progress kept in the journal so an interrupted run resumes. */
#include "operator_internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jitrd/clock.h"
#include "jitrd/operator.h"
#include "jitrd/text.h"

#define JOB_PREFIX "deactivate:"

struct revoke_job {
	const struct jitrd_deactivate_options *o;
	char job[sizeof(JOB_PREFIX) + 64];
	struct operator_listed_cert *todo; /* borrowed from the listing; pool.count of them */
	struct operator_pool pool;         /* its lock guards what follows */
	struct jitrd_deactivate_summary summary;
};

static void *revoke_worker(void *arg)
{
	struct revoke_job *j = arg;
	struct jitrd_iot_session *session = NULL;
	enum jitrd_err err = operator_pool_session(&j->pool, j->o->client, &session);

	while (err == JITRD_OK) {
		struct jitrd_iot_result res = {0};
		struct jitrd_diag diag = {{0}};
		struct operator_listed_cert *cert;
		char text[512];
		size_t index;
		bool more;

		pthread_mutex_lock(&j->pool.lock);
		more = operator_pool_take(&j->pool, &index);
		pthread_mutex_unlock(&j->pool.lock);
		if (!more)
			break;
		cert = &j->todo[index];

		err = jitrd_iot_update_certificate(session,
		                                   jitrd_iot_deadline_in(j->o->request_timeout_ms),
		                                   cert->id, JITRD_IOT_REVOKED, &res, &diag);
		if (err == JITRD_OK) {
			/* recorded the moment it succeeded: a crash now redoes only this one */
			err = jitrd_journal_item_done(j->o->journal, j->job, cert->id,
			                              jitrd_clock_wall_ms(), &diag);
			pthread_mutex_lock(&j->pool.lock);
			j->summary.revoked++;
			pthread_mutex_unlock(&j->pool.lock);
			if (err != JITRD_OK)
				operator_pool_fail(&j->pool, err, "journal", diag.text);
			continue;
		}
		operator_describe_failure(text, sizeof(text), "UpdateCertificate", err, &res,
		                          &diag);
		err = JITRD_OK; /* one certificate's failure: go on with the others */
		pthread_mutex_lock(&j->pool.lock);
		j->summary.failed++;
		if (j->o->failure)
			j->o->failure(j->o->ctx, cert->id, text);
		pthread_mutex_unlock(&j->pool.lock);
	}
	operator_pool_leave(&j->pool, session);
	return NULL;
}

/* The progress callback, from the calling thread, with a copy of the counters. */
static void revoke_tick(void *ctx, const void *counters)
{
	const struct revoke_job *j = ctx;

	j->o->progress(j->o->ctx, counters);
}

enum jitrd_err jitrd_operator_ca_deactivate(const struct jitrd_deactivate_options *o,
                                            struct jitrd_deactivate_summary *summary,
                                            struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_iot_session *session = NULL;
	struct jitrd_iot_result scratch = {0};
	struct operator_cert_list list = {0};
	struct revoke_job j;
	bool lock_ready = false;

	memset(summary, 0, sizeof(*summary));
	memset(&j, 0, sizeof(j));
	if (!res)
		res = &scratch;
	if (!o || !o->client || !jitrd_is_hex_id(o->ca_id) ||
	    (o->revoke_certificates && !o->journal)) {
		jitrd_diag_set(diag, "deactivate: a client, a 64-hex CA id and (to revoke) the "
		                     "journal are needed");
		return JITRD_ERR_INVALID_ARG;
	}
	j.o = o;
	snprintf(j.job, sizeof(j.job), JOB_PREFIX "%s", o->ca_id);
	if (operator_pool_init(&j.pool, o->stop, o->progress_ms, o->progress ? revoke_tick : NULL,
	                       &j, &j.summary, sizeof(j.summary)) != JITRD_OK)
		return JITRD_ERR_NOMEM;
	lock_ready = true;
	result = jitrd_iot_session_new(o->client, &session);
	if (result != JITRD_OK)
		goto cleanup;
	/* Every run, resumed or not: idempotent, and the CA must stop registering devices first */
	result =
	    jitrd_iot_update_ca_certificate(session, jitrd_iot_deadline_in(o->request_timeout_ms),
	                                    o->ca_id, JITRD_IOT_INACTIVE, -1, res, diag);
	if (result != JITRD_OK) {
		operator_diag_failure("UpdateCACertificate", result, res, diag);
		goto cleanup;
	}
	if (!o->revoke_certificates)
		goto cleanup;
	result = jitrd_journal_job_start(o->journal, j.job, "ca deactivate --revoke-certificates",
	                                 jitrd_clock_wall_ms(), &j.summary.resumed, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = operator_list_ca(session, o->request_timeout_ms, o->ca_id, &list, res, diag);
	if (result != JITRD_OK) {
		operator_diag_failure("ListCertificatesByCA", result, res, diag);
		goto cleanup;
	}
	j.summary.total = list.count;
	/* Sort out what is left to do, in place: done by an earlier run, or already REVOKED. */
	for (size_t i = 0; i < list.count; i++) {
		bool done = false;

		if (j.summary.resumed) {
			result = jitrd_journal_item_is_done(o->journal, j.job, list.items[i].id,
			                                    &done, diag);
			if (result != JITRD_OK)
				goto cleanup;
		}
		if (done)
			j.summary.revoked_earlier++;
		else if (list.items[i].status == JITRD_IOT_REVOKED)
			j.summary.already_revoked++;
		else
			list.items[j.pool.count++] = list.items[i];
	}
	j.todo = list.items;
	result = operator_pool_run(&j.pool, o->workers, revoke_worker, &j, diag);
	if (result != JITRD_OK)
		goto cleanup;
	j.summary.interrupted = j.pool.next < j.pool.count;
	if (!j.summary.interrupted && j.summary.failed == 0) {
		/* every certificate is revoked: the job is complete and forgotten */
		result = jitrd_journal_job_finish(o->journal, j.job, jitrd_clock_wall_ms(), diag);
		if (result != JITRD_OK)
			goto cleanup;
	}
cleanup:
	if (o && o->revoke_certificates) {
		*summary = j.summary;
		if (o->progress && result == JITRD_OK)
			o->progress(o->ctx, summary);
	}
	if (lock_ready)
		operator_pool_cleanup(&j.pool);
	free(list.items);
	jitrd_iot_session_free(session);
	return result;
}

struct deactivate_view {
	bool tty;
	const char *ca_id;
};

static void deactivate_progress(void *ctx, const struct jitrd_deactivate_summary *s)
{
	const struct deactivate_view *v = ctx;

	if (!v->tty)
		return;
	fprintf(stderr,
	        "\rrevoking the certificates of CA %.12s...: %zu/%zu (revoked %zu, already "
	        "revoked %zu, failed %zu)  ",
	        v->ca_id, s->revoked + s->revoked_earlier + s->already_revoked + s->failed,
	        s->total, s->revoked + s->revoked_earlier, s->already_revoked, s->failed);
}

static void deactivate_failure(void *ctx, const char *certificate_id, const char *text)
{
	const struct deactivate_view *v = ctx;

	fprintf(stderr, "%sjitrd: %s: not revoked: %s\n", v->tty ? "\n" : "", certificate_id, text);
}

enum jitrd_exit jitrd_command_ca_deactivate(const struct jitrd_command_options *o,
                                            const char *ca_id, bool revoke_certificates)
{
	struct jitrd_online online;
	struct jitrd_diag diag = {{0}};
	struct jitrd_iot_result res = {0};
	struct jitrd_deactivate_summary sum;
	struct jitrd_deactivate_options dopts;
	struct deactivate_view view;
	enum jitrd_err err;
	enum jitrd_exit status;

	if (!jitrd_is_hex_id(ca_id)) {
		fprintf(stderr, "jitrd: CA_ID %.80s: not a CA id (64 hex digits)\n", ca_id);
		return JITRD_EXIT_USAGE;
	}
	if (operator_online_open(&online, o, revoke_certificates, false) != JITRD_OK) {
		jitrd_online_close(&online);
		return JITRD_EXIT_USAGE;
	}
	operator_catch_stop_signals();
	view.tty = isatty(STDERR_FILENO) == 1;
	view.ca_id = ca_id;
	memset(&dopts, 0, sizeof(dopts));
	dopts.client = online.client;
	dopts.journal = online.journal;
	dopts.ca_id = ca_id;
	dopts.revoke_certificates = revoke_certificates;
	dopts.workers = (unsigned)online.rt->cfg->service.workers;
	dopts.request_timeout_ms = operator_request_timeout_ms(&online);
	dopts.stop = &operator_stop_flag;
	dopts.progress = deactivate_progress;
	dopts.failure = deactivate_failure;
	dopts.ctx = &view;
	err = jitrd_operator_ca_deactivate(&dopts, &sum, &res, &diag);
	if (view.tty && revoke_certificates)
		fputc('\n', stderr);
	if (err != JITRD_OK) {
		fprintf(stderr, "jitrd: ca deactivate %s: %s\n", ca_id, diag.text);
		status = JITRD_EXIT_WORK_FAILED;
		goto done;
	}
	printf("CA %s: INACTIVE\n", ca_id);
	status = JITRD_EXIT_OK;
	if (!revoke_certificates)
		goto done;
	printf("%zu certificate(s): revoked %zu, already revoked %zu, failed %zu", sum.total,
	       sum.revoked + sum.revoked_earlier, sum.already_revoked, sum.failed);
	if (sum.revoked_earlier)
		printf(" (%zu of the revoked by an earlier, interrupted run)", sum.revoked_earlier);
	printf("\n");
	if (sum.failed) {
		fprintf(stderr,
		        "jitrd: %zu certificate(s) not revoked; run it again to retry "
		        "them\n",
		        sum.failed);
		status = JITRD_EXIT_WORK_FAILED;
	}
	if (sum.interrupted) {
		fprintf(stderr, "jitrd: interrupted, run again to resume\n");
		status = JITRD_EXIT_WORK_FAILED;
	}
done:
	jitrd_online_close(&online);
	return status;
}
