/* journal_jobs.c — the journal's job table (DESIGN §5.3): long operator jobs (such as `ca
 * deactivate --revoke-certificates`) and the items they have done, so an interrupted job
 * resumes where it stopped. Like the rest of the journal: no clock, no log, untrusted data
 * only in bound parameters. */
#include "jitrd/journal.h"

#include <stdbool.h>
#include <stdint.h>

#include "journal_private.h"

static bool name_ok(const char *s)
{
	return journal_bounded_len(s, JITRD_JOURNAL_NAME_MAX) > 0;
}

/* With j->lock held: *open = job has a row that is not finished. */
static enum jitrd_err job_open(struct jitrd_journal *j, const char *job, const char *what,
                               bool *open, struct jitrd_diag *diag)
{
	const struct param params[] = {TEXT_PARAM(job, JITRD_JOURNAL_NAME_MAX)};
	enum jitrd_err result =
	    journal_stmt_bind(j, S_JOB_GET, params, COUNT_OF(params), what, diag);
	int rc;

	if (result != JITRD_OK)
		return result;
	rc = sqlite3_step(j->stmt[S_JOB_GET]);
	*open = rc == SQLITE_ROW && sqlite3_column_int(j->stmt[S_JOB_GET], 0) != 0;
	return journal_stmt_end(j, S_JOB_GET, rc, what, diag);
}

enum jitrd_err jitrd_journal_job_start(struct jitrd_journal *j, const char *job,
                                       const char *description, int64_t now_ms, bool *resumed,
                                       struct jitrd_diag *diag)
{
	const struct param job_row[] = {
	    TEXT_PARAM(job, JITRD_JOURNAL_NAME_MAX),
	    TEXT_PARAM(description ? description : "", JITRD_JOURNAL_TEXT_MAX),
	    INT64_PARAM(now_ms),
	};
	enum jitrd_err result;
	bool open_job = false;

	if (!j || !name_ok(job)) {
		jitrd_diag_set(diag, "journal: job_start: empty or overlong job id");
		return JITRD_ERR_INVALID_ARG;
	}
	result = journal_tx_begin(j, "job_start", diag);
	if (result == JITRD_OK)
		result = job_open(j, job, "job_start", &open_job, diag);
	/* A new job, or one that finished and starts again: its row anew, no items done. */
	if (result == JITRD_OK && !open_job)
		result =
		    journal_stmt_exec(j, S_JOB_PUT, job_row, COUNT_OF(job_row), "job_start", diag);
	if (result == JITRD_OK && !open_job)
		result = journal_stmt_exec(j, S_JOB_ITEMS_CLEAR, job_row, 1, "job_start", diag);
	result = journal_tx_end(j, result, "job_start", diag);
	if (result == JITRD_OK && resumed)
		*resumed = open_job;
	return result;
}

enum jitrd_err jitrd_journal_item_done(struct jitrd_journal *j, const char *job,
                                       const char *item_id, int64_t now_ms, struct jitrd_diag *diag)
{
	const struct param item_row[] = {
	    TEXT_PARAM(job, JITRD_JOURNAL_NAME_MAX),
	    TEXT_PARAM(item_id, JITRD_JOURNAL_NAME_MAX),
	    INT64_PARAM(now_ms),
	};
	enum jitrd_err result;
	bool open_job = false;

	if (!j || !name_ok(job) || !name_ok(item_id)) {
		jitrd_diag_set(diag, "journal: item_done: empty or overlong job or item id");
		return JITRD_ERR_INVALID_ARG;
	}
	pthread_mutex_lock(&j->lock);
	result = job_open(j, job, "item_done", &open_job, diag);
	if (result == JITRD_OK && !open_job) {
		jitrd_diag_set(diag, "%s: item_done: no unfinished job of that id", j->path);
		result = JITRD_ERR_INVALID_ARG;
	}
	if (result == JITRD_OK)
		result = journal_stmt_exec(j, S_ITEM_PUT, item_row, COUNT_OF(item_row), "item_done",
		                           diag);
	pthread_mutex_unlock(&j->lock);
	return result;
}

enum jitrd_err jitrd_journal_item_is_done(struct jitrd_journal *j, const char *job,
                                          const char *item_id, bool *done, struct jitrd_diag *diag)
{
	enum jitrd_err result;
	bool found = false;

	if (!j || !done || !name_ok(job) || !name_ok(item_id)) {
		jitrd_diag_set(diag, "journal: item_is_done: invalid argument");
		return JITRD_ERR_INVALID_ARG;
	}
	pthread_mutex_lock(&j->lock);
	result = journal_exists(j, S_ITEM_GET, job, item_id, "item_is_done", &found, diag);
	pthread_mutex_unlock(&j->lock);
	if (result == JITRD_OK)
		*done = found;
	return result;
}

enum jitrd_err jitrd_journal_job_finish(struct jitrd_journal *j, const char *job, int64_t now_ms,
                                        struct jitrd_diag *diag)
{
	const struct param job_end[] = {TEXT_PARAM(job, JITRD_JOURNAL_NAME_MAX),
	                                INT64_PARAM(now_ms)};
	enum jitrd_err result;

	if (!j || !name_ok(job)) {
		jitrd_diag_set(diag, "journal: job_finish: empty or overlong job id");
		return JITRD_ERR_INVALID_ARG;
	}
	result = journal_tx_begin(j, "job_finish", diag);
	if (result == JITRD_OK)
		result = journal_stmt_exec(j, S_JOB_FINISH, job_end, COUNT_OF(job_end),
		                           "job_finish", diag);
	if (result == JITRD_OK && sqlite3_changes(j->db) == 0) {
		jitrd_diag_set(diag, "%s: job_finish: no unfinished job of that id", j->path);
		result = JITRD_ERR_INVALID_ARG;
	}
	/* The job row stays (when it ran, that it finished); its item markers are not needed. */
	if (result == JITRD_OK)
		result = journal_stmt_exec(j, S_JOB_ITEMS_CLEAR, job_end, 1, "job_finish", diag);
	return journal_tx_end(j, result, "job_finish", diag);
}
