/* journal_private.h — what the journal's files (journal.c, journal_jobs.c) share: the
 * connection and its prepared statements, and the helpers that bind, step and end them under
 * the journal's one lock. Not for use outside the journal. */
#ifndef JITRD_JOURNAL_PRIVATE_H
#define JITRD_JOURNAL_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "jitrd/error.h"
#include "jitrd/journal.h"

enum stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_RECORD,
	S_RECORD_JOINED,
	S_CLAIM,
	S_COMPLETE,
	S_RETRY,
	S_RECOVER,
	S_REQUEUE,
	S_HAS_PENDING,
	S_PRUNE,
	S_COUNTS,
	S_CERT_UPSERT,
	S_CERT_GET,
	S_CERT_PAGE,
	S_JOB_GET,
	S_JOB_PUT,
	S_JOB_ITEMS_CLEAR,
	S_ITEM_PUT,
	S_ITEM_GET,
	S_JOB_FINISH,
	S_REMEMBER,
	S_RECALL,
	S_FORGET_ALL,
	S_PRUNE_FINISHED,
	S_PRUNE_OVER_CAP,
	S_PRUNE_REMEMBERED,
	S_PRUNE_INVENTORY,
	S_OLDEST_OPEN,
	S_CERT_EVENTS,
	S_OPEN_COUNT,
	S_JUDGED,
	S_DUE_COUNT,
	S_COUNT_
};

struct jitrd_journal {
	/* Guards db and every statement: SQLite connections are opened NOMUTEX and all use goes
	 * through this one lock, held for one short statement or transaction at a time. */
	pthread_mutex_t lock;
	sqlite3 *db;
	sqlite3_stmt *stmt[S_COUNT_];
	unsigned max_attempts;
	char path[256]; /* for messages only (possibly cut) */
	/* Events recorded and not final (pending, in progress): counted once at open and at
	 * each prune_all, followed in between by this process's own changes, and published as
	 * the jitrd_journal_backlog gauge when metrics is set. */
	struct jitrd_metrics *metrics;
	int64_t open_events;
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* One parameter of a statement; a list of them is bound as ?1, ?2, ... in its order. */
enum param_kind { PARAM_INT64, PARAM_TEXT, PARAM_BLOB };
struct param {
	enum param_kind kind;
	int64_t number;    /* PARAM_INT64 */
	const void *bytes; /* PARAM_TEXT (NUL-terminated; NULL binds NULL), PARAM_BLOB */
	size_t size;       /* PARAM_TEXT: bytes kept at most; PARAM_BLOB: its length */
};
#define INT64_PARAM(v)     ((struct param){.kind = PARAM_INT64, .number = (int64_t)(v)})
#define TEXT_PARAM(s, max) ((struct param){.kind = PARAM_TEXT, .bytes = (s), .size = (max)})
#define BLOB_PARAM(p, len) ((struct param){.kind = PARAM_BLOB, .bytes = (p), .size = (len)})

/* Length of s when it is at most max bytes, else -1. NULL counts as too long. */
long journal_bounded_len(const char *s, size_t max);

/* With j->lock held: binds params (count of them) to statement which, ready to step. On a
 * failure the statement is reset and diag says what failed. */
enum jitrd_err journal_stmt_bind(struct jitrd_journal *j, enum stmt_id which,
                                 const struct param *params, size_t count, const char *what,
                                 struct jitrd_diag *diag) JITRD_WUR;

/* With j->lock held: ends a use of statement which whose last sqlite3_step returned rc
 * (SQLITE_ROW when the caller stopped reading early, SQLITE_DONE at the end): resets it,
 * and turns any other rc into the error with diag. */
enum jitrd_err journal_stmt_end(struct jitrd_journal *j, enum stmt_id which, int rc,
                                const char *what, struct jitrd_diag *diag) JITRD_WUR;

/* With j->lock held: binds params to statement which and runs it to its end (rows, if any,
 * ignored); sqlite3_changes tells what it changed. */
enum jitrd_err journal_stmt_exec(struct jitrd_journal *j, enum stmt_id which,
                                 const struct param *params, size_t count, const char *what,
                                 struct jitrd_diag *diag) JITRD_WUR;

/* Locks the journal and begins a transaction. Whatever it returns, the caller ends with
 * journal_tx_end (which unlocks). */
enum jitrd_err journal_tx_begin(struct jitrd_journal *j, const char *what,
                                struct jitrd_diag *diag) JITRD_WUR;

/* Ends journal_tx_begin's transaction: commits it when result is JITRD_OK, else (or when the
 * commit fails) rolls it back; unlocks. Returns result, or the commit's error. */
enum jitrd_err journal_tx_end(struct jitrd_journal *j, enum jitrd_err result, const char *what,
                              struct jitrd_diag *diag) JITRD_WUR;

/* With j->lock held: runs query which bound to a (and b when not NULL), each at most
 * JITRD_JOURNAL_NAME_MAX bytes; *exists = it returned a row. */
enum jitrd_err journal_exists(struct jitrd_journal *j, enum stmt_id which, const char *a,
                              const char *b, const char *what, bool *exists,
                              struct jitrd_diag *diag) JITRD_WUR;

#endif
