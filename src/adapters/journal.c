/* journal.c — the SQLite journal (DESIGN §5.3): events, the certificate inventory and job
 * progress in one WAL database, one connection behind one mutex, statements prepared once.
 * Must not read a clock, log, or put untrusted data anywhere but a bound parameter. */
#include "jitrd/journal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "jitrd/files.h"
#include "jitrd/metrics.h"

#include "journal_private.h"

#define DEFAULT_BUSY_TIMEOUT_MS 5000
#define DEFAULT_MAX_ATTEMPTS    10
#define ITERATE_PAGE            64

/* Schema version 1. Partial indexes where a row is in an index only in the states that query
 * it, so the fast-path INSERT touches as few pages as possible. AUTOINCREMENT so an id is never
 * reused after a prune: the audit trail and log lines name events by id. payload_len is the size as
 * received (it exceeds the stored blob's when truncated). */
static const char schema_sql[] =
    "CREATE TABLE events ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " received_ms INTEGER NOT NULL,"
    " source TEXT NOT NULL CHECK (source IN ('mqtt','handle','reconcile','lambda')),"
    " payload BLOB NOT NULL,"
    " payload_len INTEGER NOT NULL,"
    " truncated INTEGER NOT NULL DEFAULT 0,"
    " certificate_id TEXT,"
    " state TEXT NOT NULL DEFAULT 'pending'"
    "  CHECK (state IN ('pending','in_progress','done','failed')),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_ms INTEGER NOT NULL,"
    " claimed_ms INTEGER,"
    " decision TEXT,"
    " reason TEXT,"
    " status TEXT,"
    " finished_ms INTEGER);"
    "CREATE INDEX events_due ON events(state, next_attempt_ms);"
    "CREATE INDEX events_open_cert ON events(certificate_id)"
    " WHERE state IN ('pending','in_progress');"
    "CREATE INDEX events_done ON events(finished_ms) WHERE state = 'done';"
    "CREATE TABLE certificates ("
    " certificate_id TEXT PRIMARY KEY,"
    " ca_id TEXT NOT NULL,"
    " serial_hex TEXT NOT NULL,"
    " issuer TEXT NOT NULL,"
    " subject_cn TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " last_decision TEXT NOT NULL,"
    " updated_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX certificates_ca ON certificates(ca_id, certificate_id);"
    "CREATE TABLE jobs ("
    " job TEXT PRIMARY KEY,"
    " description TEXT NOT NULL,"
    " started_ms INTEGER NOT NULL,"
    " finished_ms INTEGER) WITHOUT ROWID;"
    "CREATE TABLE job_items ("
    " job TEXT NOT NULL,"
    " item TEXT NOT NULL,"
    " done_ms INTEGER NOT NULL,"
    " PRIMARY KEY (job, item)) WITHOUT ROWID;"
    "PRAGMA user_version = 1;";

/* Version 2 (on top of 1): final decisions remembered per certificate, so a device that
 * repeats its event (a reconnect loop) is answered without an API call or a new event row;
 * and an index to prune failed events by age like done ones. */
static const char schema_v2_sql[] =
    "CREATE TABLE remembered ("
    " certificate_id TEXT PRIMARY KEY,"
    " event_key TEXT NOT NULL,"
    " decision TEXT NOT NULL,"
    " reason TEXT,"
    " status TEXT,"
    " decided_ms INTEGER NOT NULL,"
    " until_ms INTEGER NOT NULL,"
    " repeats INTEGER NOT NULL DEFAULT 0,"
    " last_seen_ms INTEGER) WITHOUT ROWID;"
    "CREATE INDEX remembered_until ON remembered(until_ms);"
    "CREATE INDEX events_failed ON events(finished_ms) WHERE state = 'failed';"
    "PRAGMA user_version = 2;";

#define CERT_COLUMNS                                                                               \
	"certificate_id, ca_id, serial_hex, issuer, subject_cn, status, last_decision, updated_ms"

static const char *const stmt_sql[S_COUNT_] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_RECORD] = "INSERT INTO events (received_ms, source, payload, payload_len, truncated,"
		 " certificate_id, next_attempt_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?1)",
    /* Born done: no worker can claim it between the insert and its completion. */
    [S_RECORD_JOINED] = "INSERT INTO events (received_ms, source, payload, payload_len,"
			" truncated, certificate_id, next_attempt_ms, state, decision, reason,"
			" status, finished_ms)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?1, 'done', 'skip', ?7, '', ?1)",
    [S_CLAIM] = "UPDATE events SET state = 'in_progress', claimed_ms = ?1 WHERE id IN"
		" (SELECT id FROM events WHERE state = 'pending' AND next_attempt_ms <= ?1"
		" ORDER BY next_attempt_ms, id LIMIT ?2)"
		" RETURNING id, source, payload, payload_len, truncated, certificate_id,"
		" attempts, received_ms",
    [S_COMPLETE] = "UPDATE events SET state = 'done', decision = ?2, reason = ?3, status = ?4,"
		   " finished_ms = ?5 WHERE id = ?1 AND state IN ('pending', 'in_progress')",
    /* SET expressions see the row's old values, so attempts + 1 is the new count. */
    [S_RETRY] = "UPDATE events SET attempts = attempts + 1, reason = ?3, claimed_ms = NULL,"
		" next_attempt_ms = ?2,"
		" state = CASE WHEN attempts + 1 >= ?4 THEN 'failed' ELSE 'pending' END,"
		" decision = CASE WHEN attempts + 1 >= ?4 THEN 'failed' ELSE decision END,"
		" finished_ms = CASE WHEN attempts + 1 >= ?4 THEN ?5 ELSE NULL END"
		" WHERE id = ?1 AND state IN ('pending', 'in_progress') RETURNING state",
    /* A row still in progress at start-up was interrupted by a crash: that counts as an
     * attempt, so an event that crashes the process every time ends failed, not in a loop. */
    [S_RECOVER] = "UPDATE events SET attempts = attempts + 1, claimed_ms = NULL,"
		  " next_attempt_ms = ?1,"
		  " state = CASE WHEN attempts + 1 >= ?2 THEN 'failed' ELSE 'pending' END,"
		  " decision = CASE WHEN attempts + 1 >= ?2 THEN 'failed' ELSE decision END,"
		  " reason = CASE WHEN attempts + 1 >= ?2"
		  " THEN 'interrupted by a restart too many times' ELSE reason END,"
		  " finished_ms = CASE WHEN attempts + 1 >= ?2 THEN ?1 ELSE NULL END"
		  " WHERE state = 'in_progress'",
    [S_REQUEUE] = "UPDATE events SET state = 'pending', claimed_ms = NULL, next_attempt_ms = ?2"
		  " WHERE state = 'in_progress' AND claimed_ms < ?1",
    [S_HAS_PENDING] = "SELECT 1 FROM events WHERE certificate_id = ?1"
		      " AND state IN ('pending','in_progress') LIMIT 1",
    [S_PRUNE] = "DELETE FROM events INDEXED BY events_done"
		" WHERE state = 'done' AND finished_ms < ?1",
    [S_COUNTS] = "SELECT state, count(*) FROM events GROUP BY state",
    [S_CERT_UPSERT] = "INSERT INTO certificates (" CERT_COLUMNS ") VALUES"
		      " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (certificate_id) DO UPDATE"
		      " SET ca_id = excluded.ca_id, serial_hex = excluded.serial_hex,"
		      " issuer = excluded.issuer, subject_cn = excluded.subject_cn,"
		      " status = excluded.status, last_decision = excluded.last_decision,"
		      " updated_ms = excluded.updated_ms",
    [S_CERT_GET] = "SELECT " CERT_COLUMNS " FROM certificates WHERE certificate_id = ?1",
    [S_CERT_EVENTS] = "SELECT id, received_ms, source, state, attempts, decision, reason, status,"
		      " finished_ms FROM events WHERE certificate_id = ?1 ORDER BY id LIMIT ?2",
    [S_CERT_PAGE] = "SELECT " CERT_COLUMNS " FROM certificates WHERE ca_id = ?1"
		    " AND (?2 IS NULL OR status = ?2) AND certificate_id > ?3"
		    " ORDER BY certificate_id LIMIT ?4",
    [S_JOB_GET] = "SELECT finished_ms IS NULL FROM jobs WHERE job = ?1",
    [S_JOB_PUT] = "INSERT INTO jobs (job, description, started_ms, finished_ms)"
		  " VALUES (?1, ?2, ?3, NULL) ON CONFLICT (job) DO UPDATE"
		  " SET description = excluded.description, started_ms = excluded.started_ms,"
		  " finished_ms = NULL",
    [S_JOB_ITEMS_CLEAR] = "DELETE FROM job_items WHERE job = ?1",
    [S_ITEM_PUT] = "INSERT OR IGNORE INTO job_items (job, item, done_ms) VALUES (?1, ?2, ?3)",
    [S_ITEM_GET] = "SELECT 1 FROM job_items WHERE job = ?1 AND item = ?2",
    [S_JOB_FINISH] = "UPDATE jobs SET finished_ms = ?2 WHERE job = ?1 AND finished_ms IS NULL",
    [S_REMEMBER] = "INSERT INTO remembered (certificate_id, decision, reason, status, decided_ms,"
		   " until_ms, repeats, last_seen_ms, event_key)"
		   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, NULL, ?7)"
		   " ON CONFLICT (certificate_id) DO UPDATE SET decision = excluded.decision,"
		   " event_key = excluded.event_key,"
		   " reason = excluded.reason, status = excluded.status,"
		   " decided_ms = excluded.decided_ms, until_ms = excluded.until_ms,"
		   " repeats = 0, last_seen_ms = NULL",
    /* One statement: the lookup and the repeat's count, so a repeat costs one small write. */
    [S_RECALL] = "UPDATE remembered SET repeats = repeats + 1, last_seen_ms = ?2"
		 " WHERE certificate_id = ?1 AND until_ms > ?2 AND event_key = ?3"
		 " RETURNING decision, reason, status, decided_ms, until_ms, repeats",
    [S_FORGET_ALL] = "DELETE FROM remembered",
    [S_PRUNE_FINISHED] = "DELETE FROM events WHERE id IN ("
			 "SELECT id FROM events INDEXED BY events_done"
			 " WHERE state = 'done' AND finished_ms < ?1"
			 " UNION ALL SELECT id FROM events INDEXED BY events_failed"
			 " WHERE state = 'failed' AND finished_ms < ?1)",
    /* Oldest finished rows beyond the cap (ids grow with time: AUTOINCREMENT). */
    [S_PRUNE_OVER_CAP] = "DELETE FROM events WHERE id IN (SELECT id FROM events"
			 " WHERE state IN ('done', 'failed') ORDER BY id LIMIT max(0,"
			 " (SELECT count(*) FROM events WHERE state IN ('done', 'failed')) - ?1))",
    [S_PRUNE_REMEMBERED] = "DELETE FROM remembered WHERE until_ms <= ?1",
    /* Inventory rows of certificates never activated, revoked or held (still pending as far
     * as jitrd knows: rejected, deferred, failed) and not seen since the cutoff: `crl sweep`
     * needs only those AWS may have let in. */
    [S_PRUNE_INVENTORY] = "DELETE FROM certificates WHERE updated_ms < ?1"
			  " AND status = 'PENDING_ACTIVATION'",
    [S_OLDEST_OPEN] = "SELECT min(t) FROM ("
		      "SELECT min(next_attempt_ms) AS t FROM events WHERE state = 'pending'"
		      " UNION ALL SELECT min(claimed_ms) FROM events WHERE state = 'in_progress')",
    /* Through events_due (state first): costs the open events, not the whole table. */
    [S_OPEN_COUNT] = "SELECT count(*) FROM events WHERE state IN ('pending', 'in_progress')",
    /* The certificate's judgement when it is no older than the second ?2 (see judged_locked).
     * The status literal as the pipeline writes it (jitrd_iot_status_name, a layer above). */
    [S_JUDGED] = "SELECT status, last_decision, updated_ms FROM certificates"
		 " WHERE certificate_id = ?1 AND updated_ms / 1000 >= ?2"
		 " AND status <> 'PENDING_ACTIVATION'",
    /* Through events_due, and bounded: reads at most ?2 index entries. */
    [S_DUE_COUNT] = "SELECT count(*) FROM (SELECT 1 FROM events WHERE state = 'pending'"
		    " AND next_attempt_ms <= ?1 LIMIT ?2)",
};

static const char *const source_names[] = {
    [JITRD_JOURNAL_MQTT] = "mqtt",
    [JITRD_JOURNAL_HANDLE] = "handle",
    [JITRD_JOURNAL_RECONCILE] = "reconcile",
    [JITRD_JOURNAL_LAMBDA] = "lambda",
};

static const char *const state_names[] = {
    [JITRD_JOURNAL_PENDING] = "pending",
    [JITRD_JOURNAL_IN_PROGRESS] = "in_progress",
    [JITRD_JOURNAL_DONE] = "done",
    [JITRD_JOURNAL_FAILED] = "failed",
};

const char *jitrd_journal_source_name(enum jitrd_journal_source source)
{
	if ((unsigned)source >= COUNT_OF(source_names))
		return "?";
	return source_names[source];
}

const char *jitrd_journal_state_name(enum jitrd_journal_state state)
{
	if ((unsigned)state >= COUNT_OF(state_names))
		return "?";
	return state_names[state];
}

/* Maps a text column back to its enum; -1 when unknown (the CHECK constraints make that a
 * corrupt or foreign database). */
static int name_index(const char *const *names, size_t count, const unsigned char *text)
{
	size_t i;

	if (!text)
		return -1;
	for (i = 0; i < count; i++)
		if (strcmp(names[i], (const char *)text) == 0)
			return (int)i;
	return -1;
}

static enum jitrd_err map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return JITRD_ERR_NOMEM;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return JITRD_ERR_MALFORMED;
	default:
		return JITRD_ERR_IO;
	}
}

/* Sets diag from the connection's last error; call with the lock held. */
static enum jitrd_err db_fail(struct jitrd_journal *j, int rc, const char *what,
                              struct jitrd_diag *diag)
{
	jitrd_diag_set(diag, "%s: %s: %s", j->path, what, sqlite3_errmsg(j->db));
	return map_rc(rc);
}

static void stmt_done(sqlite3_stmt *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

/* Runs a statement that returns no rows (or whose rows are ignored). */
static int run(sqlite3_stmt *stmt)
{
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		;
	stmt_done(stmt);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static void rollback(struct jitrd_journal *j)
{
	/* Fails harmlessly when SQLite already rolled back (e.g. after SQLITE_FULL). */
	(void)run(j->stmt[S_ROLLBACK]);
}

/* Length of s when it is at most max bytes, else -1. NULL counts as too long. */
long journal_bounded_len(const char *s, size_t max)
{
	size_t n;

	if (!s)
		return -1;
	n = strnlen(s, max + 1);
	return n > max ? -1 : (long)n;
}

static int bind_str(sqlite3_stmt *stmt, int index, const char *s, size_t max)
{
	long n;

	if (!s)
		return sqlite3_bind_null(stmt, index);
	n = journal_bounded_len(s, max);
	if (n < 0)
		n = (long)max; /* callers checked the ones that must not be cut */
	return sqlite3_bind_text(stmt, index, s, (int)n, SQLITE_STATIC);
}

/* With j->lock held: binds params (count of them) to statement which, ready to step. On a
 * failure the statement is reset and diag says what failed. */
enum jitrd_err journal_stmt_bind(struct jitrd_journal *j, enum stmt_id which,
                                 const struct param *params, size_t count, const char *what,
                                 struct jitrd_diag *diag)
{
	sqlite3_stmt *stmt = j->stmt[which];
	int rc = SQLITE_OK;

	for (size_t i = 0; i < count && rc == SQLITE_OK; i++) {
		const struct param *p = &params[i];
		int index = (int)i + 1;

		switch (p->kind) {
		case PARAM_INT64:
			rc = sqlite3_bind_int64(stmt, index, p->number);
			break;
		case PARAM_TEXT:
			rc = bind_str(stmt, index, p->bytes, p->size);
			break;
		case PARAM_BLOB:
			/* A zero-length blob needs a non-NULL pointer, or SQLite binds NULL. */
			rc = sqlite3_bind_blob(stmt, index, p->bytes ? p->bytes : "", (int)p->size,
			                       SQLITE_STATIC);
			break;
		}
	}
	if (rc != SQLITE_OK) {
		stmt_done(stmt);
		return db_fail(j, rc, what, diag);
	}
	return JITRD_OK;
}

/* With j->lock held: ends a use of statement which whose last sqlite3_step returned rc
 * (SQLITE_ROW when the caller stopped reading early, SQLITE_DONE at the end): resets it,
 * and turns any other rc into the error with diag. */
enum jitrd_err journal_stmt_end(struct jitrd_journal *j, enum stmt_id which, int rc,
                                const char *what, struct jitrd_diag *diag)
{
	stmt_done(j->stmt[which]);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(j, rc, what, diag);
	return JITRD_OK;
}

/* With j->lock held: binds params to statement which and runs it to its end (rows, if any,
 * ignored); sqlite3_changes tells what it changed. */
enum jitrd_err journal_stmt_exec(struct jitrd_journal *j, enum stmt_id which,
                                 const struct param *params, size_t count, const char *what,
                                 struct jitrd_diag *diag)
{
	enum jitrd_err err = journal_stmt_bind(j, which, params, count, what, diag);
	int rc;

	if (err != JITRD_OK)
		return err;
	while ((rc = sqlite3_step(j->stmt[which])) == SQLITE_ROW)
		;
	return journal_stmt_end(j, which, rc, what, diag);
}

/* Locks the journal and begins a transaction. Whatever it returns, the caller ends with
 * journal_tx_end (which unlocks). */
enum jitrd_err journal_tx_begin(struct jitrd_journal *j, const char *what, struct jitrd_diag *diag)
{
	pthread_mutex_lock(&j->lock);
	return journal_stmt_exec(j, S_BEGIN, NULL, 0, what, diag);
}

/* Ends journal_tx_begin's transaction: commits it when result is JITRD_OK, else (or when the commit
 * fails) rolls it back; unlocks. Returns result, or the commit's error. */
enum jitrd_err journal_tx_end(struct jitrd_journal *j, enum jitrd_err result, const char *what,
                              struct jitrd_diag *diag)
{
	if (result == JITRD_OK)
		result = journal_stmt_exec(j, S_COMMIT, NULL, 0, what, diag);
	if (result != JITRD_OK)
		rollback(j); /* also harmless when BEGIN itself failed */
	pthread_mutex_unlock(&j->lock);
	return result;
}

/* Copies a text column into a fixed array, cut at its size. */
static void copy_column(char *dst, size_t size, sqlite3_stmt *stmt, int col)
{
	const unsigned char *text = sqlite3_column_text(stmt, col);
	size_t n = (size_t)sqlite3_column_bytes(stmt, col);

	if (!text)
		n = 0;
	if (n >= size)
		n = size - 1;
	if (n)
		memcpy(dst, text, n);
	dst[n] = '\0';
}

void jitrd_journal_options_init(struct jitrd_journal_options *opts)
{
	if (!opts)
		return;
	memset(opts, 0, sizeof(*opts));
	opts->sync_full = false;
	opts->busy_timeout_ms = DEFAULT_BUSY_TIMEOUT_MS;
	opts->max_attempts = DEFAULT_MAX_ATTEMPTS;
}

/* Runs sql (no parameters, rows ignored) on j's connection; diag says what failed. */
static enum jitrd_err exec_sql(struct jitrd_journal *j, const char *sql, const char *what,
                               struct jitrd_diag *diag)
{
	int rc = sqlite3_exec(j->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? JITRD_OK : db_fail(j, rc, what, diag);
}

/* Reads one integer from a single-row pragma or query. */
static int query_int(sqlite3 *db, const char *sql, int64_t *value)
{
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW) {
			*value = sqlite3_column_int64(stmt, 0);
			rc = SQLITE_OK;
		} else if (rc == SQLITE_DONE) {
			rc = SQLITE_ERROR;
		}
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* Creates the schema in an empty database, or checks the version of an existing one. Runs
 * under BEGIN IMMEDIATE so two processes opening a new file do not both create it. */
static enum jitrd_err prepare_schema(struct jitrd_journal *j, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_IO;
	int64_t version = 0;
	int64_t objects = 0;
	bool in_tx = false;
	int rc;

	result = exec_sql(j, "BEGIN IMMEDIATE", "opening", diag);
	if (result != JITRD_OK)
		goto cleanup;
	in_tx = true;
	rc = query_int(j->db, "PRAGMA user_version", &version);
	if (rc == SQLITE_OK)
		rc = query_int(j->db, "SELECT count(*) FROM sqlite_schema", &objects);
	if (rc != SQLITE_OK) {
		result = db_fail(j, rc, "reading the schema", diag);
		goto cleanup;
	}
	if (version > JITRD_JOURNAL_SCHEMA_VERSION) {
		jitrd_diag_set(diag,
		               "%s: journal schema version %lld is newer than this jitrd knows "
		               "(%d); run a newer jitrd or point [service] journal elsewhere",
		               j->path, (long long)version, JITRD_JOURNAL_SCHEMA_VERSION);
		result = JITRD_ERR_CONFIG;
		goto cleanup;
	}
	if (version == 0 && objects > 0) {
		jitrd_diag_set(diag, "%s: not a jitrd journal (a database with other tables)",
		               j->path);
		result = JITRD_ERR_MALFORMED;
		goto cleanup;
	}
	if (version == 0) {
		result = exec_sql(j, schema_sql, "creating the schema", diag);
		if (result != JITRD_OK)
			goto cleanup;
		version = 1;
	}
	if (version == 1) {
		/* An older jitrd's journal: upgraded in the same transaction. */
		result = exec_sql(j, schema_v2_sql, "upgrading the schema", diag);
		if (result != JITRD_OK)
			goto cleanup;
	}
	result = exec_sql(j, "COMMIT", "creating the schema", diag);
	if (result != JITRD_OK)
		goto cleanup;
	in_tx = false;
	result = JITRD_OK;
cleanup:
	if (in_tx)
		(void)sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
	return result;
}

/* path, path-wal and path-shm of mode 0600 (the first created when missing). */
static enum jitrd_err private_files(const char *path, struct jitrd_diag *diag)
{
	static const char *const suffixes[] = {"-wal", "-shm"};
	char side[4096];
	enum jitrd_err err = jitrd_private_file(path, diag);

	for (size_t i = 0; err == JITRD_OK && i < COUNT_OF(suffixes); i++) {
		if (snprintf(side, sizeof(side), "%s%s", path, suffixes[i]) >= (int)sizeof(side)) {
			jitrd_diag_set(diag, "journal: path too long");
			return JITRD_ERR_INVALID_ARG;
		}
		err = jitrd_private_file_if_exists(side, diag);
	}
	return err;
}

static void journal_free(struct jitrd_journal *j)
{
	size_t i;

	if (!j)
		return;
	for (i = 0; i < S_COUNT_; i++)
		sqlite3_finalize(j->stmt[i]);
	/* close_v2 never fails with BUSY; every statement is finalized above anyway. The last
	 * connection's close checkpoints the WAL into the database file. */
	sqlite3_close_v2(j->db);
	pthread_mutex_destroy(&j->lock);
	free(j);
}

/* With the lock held: open_events += delta, published. */
static void journal_backlog_add(struct jitrd_journal *j, int64_t delta)
{
	j->open_events += delta;
	if (j->open_events < 0)
		j->open_events = 0;
	jitrd_metrics_set_journal_backlog(j->metrics, j->open_events);
}

/* With the lock held: open_events from the table (other processes may have changed it). */
static enum jitrd_err backlog_recount(struct jitrd_journal *j, struct jitrd_diag *diag)
{
	sqlite3_stmt *stmt = j->stmt[S_OPEN_COUNT];
	enum jitrd_err result;
	int64_t n = 0;
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_ROW) {
		n = sqlite3_column_int64(stmt, 0);
		rc = sqlite3_step(stmt);
	}
	result = journal_stmt_end(j, S_OPEN_COUNT, rc, "backlog", diag);
	if (result == JITRD_OK) {
		j->open_events = 0;
		journal_backlog_add(j, n);
	}
	return result;
}

/* Two defaults of SQLite that cost the journal a third of its CPU per event (measured with
 * tests/bench/bench_journal.c and perf): every temporary b-tree (the claim's IN subquery and
 * the RETURNING rows of the claim, retry and recall) starts its page cache with a bulk
 * allocation of 20 pages, and every statement journal (a statement that may change several
 * rows or fail half-way inside a transaction) grows in chunks of its 64 KiB spill size. Freed
 * at the top of the heap, glibc gives such blocks back to the kernel (brk, a TLB flush) and
 * the next statement faults them in again. So: no bulk allocation (pages one by one, as the
 * cache fills), and statement journals in memory in small chunks (the statements here touch
 * a few pages each). Process-wide, so set before SQLite initialises; when something
 * initialised it first (SQLITE_MISUSE) the defaults stay, which only costs time. */
static void configure_sqlite(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
	(void)sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, -1);
}

enum jitrd_err jitrd_journal_open(const char *path, const struct jitrd_journal_options *opts,
                                  struct jitrd_journal **out, struct jitrd_diag *diag)
{
	static pthread_once_t sqlite_configured = PTHREAD_ONCE_INIT;

	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_journal_options defaults;
	struct jitrd_journal *j = NULL;
	char mode[16] = "";
	sqlite3_stmt *stmt = NULL;
	size_t i;
	int rc;

	if (!path || !*path || !out) {
		jitrd_diag_set(diag, "journal: no path given");
		goto cleanup;
	}
	if (!opts) {
		jitrd_journal_options_init(&defaults);
		opts = &defaults;
	}
	(void)pthread_once(&sqlite_configured, configure_sqlite);
	if (opts->busy_timeout_ms < 0 || opts->max_attempts == 0) {
		jitrd_diag_set(diag, "%s: busy_timeout_ms must be >= 0 and max_attempts >= 1",
		               path);
		goto cleanup;
	}
	result = JITRD_ERR_NOMEM;
	j = calloc(1, sizeof(*j));
	if (!j || pthread_mutex_init(&j->lock, NULL) != 0) {
		free(j);
		j = NULL;
		jitrd_diag_set(diag, "%s: out of memory", path);
		goto cleanup;
	}
	j->max_attempts = opts->max_attempts;
	j->metrics = opts->metrics;
	jitrd_quote(j->path, sizeof(j->path), path, strlen(path));

	/* The journal holds the fleet's inventory: 0600 whatever the umask. SQLite creates the
	 * database 0644 minus the umask and gives its -wal and -shm files the database file's
	 * mode, so the file is made (or narrowed) first; leftovers of an older run too. */
	result = private_files(path, diag);
	if (result != JITRD_OK)
		goto cleanup;
	rc = sqlite3_open_v2(
	    path, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		/* j->db may be a handle carrying the message, or NULL when out of memory. */
		jitrd_diag_set(diag, "%s: cannot open the journal: %s", j->path,
		               j->db ? sqlite3_errmsg(j->db) : sqlite3_errstr(rc));
		result = map_rc(rc);
		goto cleanup;
	}
	sqlite3_extended_result_codes(j->db, 1);
	rc = sqlite3_busy_timeout(j->db, opts->busy_timeout_ms);
	if (rc != SQLITE_OK) {
		result = db_fail(j, rc, "busy_timeout", diag);
		goto cleanup;
	}
	/* The first statement reads the header: a corrupt or foreign file fails here. */
	rc = sqlite3_prepare_v2(j->db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW) {
			copy_column(mode, sizeof(mode), stmt, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (rc != SQLITE_OK) {
		result = db_fail(j, rc, "cannot use the journal", diag);
		goto cleanup;
	}
	if (strcmp(mode, "wal") != 0) {
		/* SQLite keeps the old mode when it cannot make the -wal/-shm files. */
		jitrd_diag_set(diag, "%s: cannot switch to WAL mode (journal_mode is %s)", j->path,
		               mode);
		result = JITRD_ERR_IO;
		goto cleanup;
	}
	/* NORMAL: in WAL mode COMMIT returns after the WAL write, so a killed process loses
	 * nothing; only power loss can lose the last commits. FULL also survives that. */
	result = exec_sql(
	    j, opts->sync_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
	    "setting synchronous", diag);
	if (result != JITRD_OK)
		goto cleanup;
	/* After a checkpoint has moved the WAL back to its start, cut the file to 4 MiB: a burst
	 * (a flood of events) must not leave a WAL of its peak size on disk for good. */
	result =
	    exec_sql(j, "PRAGMA journal_size_limit = 4194304", "setting journal_size_limit", diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = prepare_schema(j, diag);
	if (result != JITRD_OK)
		goto cleanup;
	for (i = 0; i < S_COUNT_; i++) {
		rc = sqlite3_prepare_v3(j->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                        &j->stmt[i], NULL);
		if (rc != SQLITE_OK) {
			result = db_fail(j, rc, "preparing statements", diag);
			goto cleanup;
		}
	}
	result = backlog_recount(j, diag);
	if (result != JITRD_OK)
		goto cleanup;
	*out = j;
	j = NULL;
	result = JITRD_OK;
cleanup:
	journal_free(j);
	return result;
}

void jitrd_journal_close(struct jitrd_journal *journal)
{
	journal_free(journal);
}

/* Checks the arguments of one INSERT of an event (see record); diag says what is wrong. */
static bool record_args_ok(struct jitrd_journal *j, enum stmt_id stmt,
                           enum jitrd_journal_source source, const void *payload, size_t len,
                           const char *certificate_id, const char *reason, struct jitrd_diag *diag)
{
	if (!j || (!payload && len > 0) || (unsigned)source >= COUNT_OF(source_names) ||
	    (stmt == S_RECORD_JOINED &&
	     (!certificate_id || journal_bounded_len(reason, JITRD_JOURNAL_TEXT_MAX) < 0))) {
		jitrd_diag_set(diag, "journal: record: invalid argument");
		return false;
	}
	if (certificate_id && journal_bounded_len(certificate_id, JITRD_JOURNAL_ID_MAX) < 0) {
		jitrd_diag_set(diag, "journal: record: certificate id over %d bytes",
		               JITRD_JOURNAL_ID_MAX);
		return false;
	}
	return true;
}

/* With j->lock held and the arguments checked: one INSERT of an event, pending (S_RECORD) or
 * already done as a joined skip with reason (S_RECORD_JOINED). The backlog is the caller's. */
static enum jitrd_err record_locked(struct jitrd_journal *j, enum stmt_id stmt,
                                    enum jitrd_journal_source source, const void *payload,
                                    size_t len, const char *certificate_id, const char *reason,
                                    int64_t now_ms, int64_t *id, struct jitrd_diag *diag)
{
	/* Kept, cut, and flagged: an oversized event must still be accounted for (as invalid). */
	bool truncated = len > JITRD_JOURNAL_MAX_PAYLOAD;
	size_t stored = truncated ? JITRD_JOURNAL_MAX_PAYLOAD : len;
	const struct param params[] = {
	    INT64_PARAM(now_ms),
	    TEXT_PARAM(source_names[source], JITRD_JOURNAL_WORD_MAX),
	    BLOB_PARAM(payload, stored),
	    INT64_PARAM(len),
	    INT64_PARAM(truncated),
	    TEXT_PARAM(certificate_id, JITRD_JOURNAL_ID_MAX),
	    TEXT_PARAM(reason, JITRD_JOURNAL_TEXT_MAX),
	};
	/* S_RECORD has six parameters, S_RECORD_JOINED a seventh: the reason */
	enum jitrd_err result = journal_stmt_exec(
	    j, stmt, params, COUNT_OF(params) - (stmt == S_RECORD), "record", diag);

	if (result == JITRD_OK)
		*id = sqlite3_last_insert_rowid(j->db);
	return result;
}

enum jitrd_err jitrd_journal_record(struct jitrd_journal *j, enum jitrd_journal_source source,
                                    const void *payload, size_t len, const char *certificate_id,
                                    int64_t now_ms, int64_t *id, struct jitrd_diag *diag)
{
	enum jitrd_err result;

	if (!id || !record_args_ok(j, S_RECORD, source, payload, len, certificate_id, NULL, diag)) {
		if (!id)
			jitrd_diag_set(diag, "journal: record: invalid argument");
		return JITRD_ERR_INVALID_ARG;
	}
	pthread_mutex_lock(&j->lock);
	result = record_locked(j, S_RECORD, source, payload, len, certificate_id, NULL, now_ms, id,
	                       diag);
	if (result == JITRD_OK)
		journal_backlog_add(j, 1);
	pthread_mutex_unlock(&j->lock);
	return result;
}

void jitrd_journal_events_free(struct jitrd_journal_event *events, size_t count)
{
	size_t i;

	if (!events)
		return;
	for (i = 0; i < count; i++)
		free(events[i].payload);
	free(events);
}

/* Copies the current row of S_CLAIM into ev. Returns false when out of memory or the row is
 * not one this schema can hold. */
static bool copy_event(sqlite3_stmt *stmt, struct jitrd_journal_event *ev)
{
	const void *blob = sqlite3_column_blob(stmt, 2);
	int blob_len = sqlite3_column_bytes(stmt, 2);
	int source = name_index(source_names, COUNT_OF(source_names), sqlite3_column_text(stmt, 1));

	if (source < 0 || blob_len < 0 || blob_len > JITRD_JOURNAL_MAX_PAYLOAD)
		return false;
	ev->id = sqlite3_column_int64(stmt, 0);
	ev->source = (enum jitrd_journal_source)source;
	ev->payload = malloc((size_t)blob_len + 1);
	if (!ev->payload)
		return false;
	if (blob_len > 0)
		memcpy(ev->payload, blob, (size_t)blob_len);
	ev->payload[blob_len] = '\0';
	ev->payload_len = (size_t)blob_len;
	ev->truncated = sqlite3_column_int(stmt, 4) != 0;
	ev->has_certificate = sqlite3_column_type(stmt, 5) != SQLITE_NULL;
	copy_column(ev->certificate_id, sizeof(ev->certificate_id), stmt, 5);
	ev->attempts = (unsigned)sqlite3_column_int(stmt, 6);
	ev->received_ms = sqlite3_column_int64(stmt, 7);
	return true;
}

/* With S_CLAIM bound and the transaction open: copies its rows into claimed (room for max);
 * *n = how many were copied, also on an error. */
static enum jitrd_err claim_rows(struct jitrd_journal *j, size_t max,
                                 struct jitrd_journal_event *claimed, size_t *n,
                                 struct jitrd_diag *diag)
{
	sqlite3_stmt *stmt = j->stmt[S_CLAIM];
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (*n >= max || !copy_event(stmt, &claimed[*n])) {
			stmt_done(stmt);
			jitrd_diag_set(diag, "%s: claim: out of memory or a foreign row", j->path);
			return JITRD_ERR_NOMEM;
		}
		(*n)++;
	}
	return journal_stmt_end(j, S_CLAIM, rc, "claim", diag);
}

enum jitrd_err jitrd_journal_claim(struct jitrd_journal *j, int64_t now_ms, size_t max,
                                   struct jitrd_journal_event **events, size_t *count,
                                   struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	const struct param params[] = {INT64_PARAM(now_ms), INT64_PARAM(max)};
	struct jitrd_journal_event *claimed = NULL;
	size_t n = 0;

	if (!j || !events || !count || max == 0 || max > JITRD_JOURNAL_MAX_CLAIM) {
		jitrd_diag_set(diag, "journal: claim: invalid argument");
		return JITRD_ERR_INVALID_ARG;
	}
	claimed = calloc(max, sizeof(*claimed));
	if (!claimed) {
		jitrd_diag_set(diag, "journal: claim: out of memory");
		return JITRD_ERR_NOMEM;
	}
	/* An explicit transaction, so a failure while copying rows undoes the whole claim:
	 * an event is in progress only if a worker really holds its copy. */
	result = journal_tx_begin(j, "claim", diag);
	if (result == JITRD_OK)
		result = journal_stmt_bind(j, S_CLAIM, params, COUNT_OF(params), "claim", diag);
	if (result == JITRD_OK)
		result = claim_rows(j, max, claimed, &n, diag);
	result = journal_tx_end(j, result, "claim", diag);
	if (result != JITRD_OK)
		goto cleanup;
	if (n == 0) {
		free(claimed);
		claimed = NULL;
	}
	*events = claimed;
	*count = n;
	claimed = NULL;
	n = 0;
cleanup:
	jitrd_journal_events_free(claimed, n);
	return result;
}

enum jitrd_err jitrd_journal_due_count(struct jitrd_journal *j, int64_t now_ms, size_t cap,
                                       size_t *count, struct jitrd_diag *diag)
{
	const struct param params[] = {INT64_PARAM(now_ms), INT64_PARAM(cap)};
	enum jitrd_err result;
	int64_t n = 0;
	int rc;

	if (!j || !count || cap == 0 || cap > JITRD_JOURNAL_MAX_DUE_COUNT) {
		jitrd_diag_set(diag, "journal: due count: invalid argument");
		return JITRD_ERR_INVALID_ARG;
	}
	pthread_mutex_lock(&j->lock);
	result = journal_stmt_bind(j, S_DUE_COUNT, params, COUNT_OF(params), "due count", diag);
	if (result == JITRD_OK) {
		rc = sqlite3_step(j->stmt[S_DUE_COUNT]);
		if (rc == SQLITE_ROW) {
			n = sqlite3_column_int64(j->stmt[S_DUE_COUNT], 0);
			rc = sqlite3_step(j->stmt[S_DUE_COUNT]);
		}
		result = journal_stmt_end(j, S_DUE_COUNT, rc, "due count", diag);
	}
	if (result == JITRD_OK)
		*count = (size_t)n;
	pthread_mutex_unlock(&j->lock);
	return result;
}

static bool word_ok(const char *s, bool required)
{
	if (!s)
		return !required;
	return journal_bounded_len(s, JITRD_JOURNAL_WORD_MAX) >= (required ? 1 : 0);
}

/* The decision's stored name ("activate", ...), NULL for a value outside the enum. */
static const char *decision_word(enum jitrd_decision_kind kind)
{
	return (unsigned)kind < JITRD_DECISION_COUNT ? jitrd_decision_name(kind) : NULL;
}

/* With j->lock held and the arguments checked: S_COMPLETE of event id; an unknown or finished
 * id is JITRD_ERR_INVALID_ARG. The backlog is the caller's. */
static enum jitrd_err complete_locked(struct jitrd_journal *j, int64_t id, const char *decision,
                                      const char *reason, const char *status, int64_t now_ms,
                                      struct jitrd_diag *diag)
{
	const struct param params[] = {
	    INT64_PARAM(id),
	    TEXT_PARAM(decision, JITRD_JOURNAL_WORD_MAX),
	    TEXT_PARAM(reason, JITRD_JOURNAL_TEXT_MAX),
	    TEXT_PARAM(status, JITRD_JOURNAL_WORD_MAX),
	    INT64_PARAM(now_ms),
	};
	enum jitrd_err result =
	    journal_stmt_exec(j, S_COMPLETE, params, COUNT_OF(params), "complete", diag);

	if (result == JITRD_OK && sqlite3_changes(j->db) == 0) {
		jitrd_diag_set(diag, "%s: complete: event %lld is unknown or already finished",
		               j->path, (long long)id);
		result = JITRD_ERR_INVALID_ARG;
	}
	return result;
}

/* With j->lock held: S_RETRY of event id with at most max_attempts (already bounded);
 * *new_state = the event's state afterwards. An unknown or finished id is
 * JITRD_ERR_INVALID_ARG. The backlog is the caller's. */
static enum jitrd_err retry_locked(struct jitrd_journal *j, int64_t id, int64_t next_attempt_ms,
                                   const char *reason, int64_t now_ms, unsigned max_attempts,
                                   int *new_state, struct jitrd_diag *diag)
{
	const struct param params[] = {
	    INT64_PARAM(id),
	    INT64_PARAM(next_attempt_ms),
	    TEXT_PARAM(reason, JITRD_JOURNAL_TEXT_MAX),
	    INT64_PARAM(max_attempts),
	    INT64_PARAM(now_ms),
	};
	sqlite3_stmt *stmt = j->stmt[S_RETRY];
	enum jitrd_err result;
	int rc;

	*new_state = -1;
	result = journal_stmt_bind(j, S_RETRY, params, COUNT_OF(params), "retry_later", diag);
	if (result != JITRD_OK)
		return result;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*new_state =
		    name_index(state_names, COUNT_OF(state_names), sqlite3_column_text(stmt, 0));
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW) /* one row at most: the id is the key */
			rc = SQLITE_ERROR;
	}
	result = journal_stmt_end(j, S_RETRY, rc, "retry_later", diag);
	if (result == JITRD_OK && *new_state < 0) {
		jitrd_diag_set(diag, "%s: retry_later: event %lld is unknown or already finished",
		               j->path, (long long)id);
		result = JITRD_ERR_INVALID_ARG;
	}
	return result;
}

enum jitrd_err jitrd_journal_retry_later(struct jitrd_journal *j, int64_t id,
                                         int64_t next_attempt_ms, const char *reason,
                                         int64_t now_ms, enum jitrd_journal_state *state,
                                         struct jitrd_diag *diag)
{
	enum jitrd_err result;
	int new_state = -1;

	if (!j) {
		jitrd_diag_set(diag, "journal: retry_later: invalid argument");
		return JITRD_ERR_INVALID_ARG;
	}
	pthread_mutex_lock(&j->lock);
	result =
	    retry_locked(j, id, next_attempt_ms, reason, now_ms, j->max_attempts, &new_state, diag);
	if (result == JITRD_OK) {
		if (new_state == JITRD_JOURNAL_FAILED)
			journal_backlog_add(j, -1);
		if (state)
			*state = (enum jitrd_journal_state)new_state;
	}
	pthread_mutex_unlock(&j->lock);
	return result;
}

/* Runs a statement with ?1 = param (and ?2 = param2 when the statement has it); *count gets
 * the rows changed. */
static enum jitrd_err run_changes2(struct jitrd_journal *j, enum stmt_id which, int64_t param,
                                   int64_t param2, const char *what, size_t *count,
                                   struct jitrd_diag *diag)
{
	const struct param params[] = {INT64_PARAM(param), INT64_PARAM(param2)};
	enum jitrd_err result;
	size_t wanted;

	if (!j) {
		jitrd_diag_set(diag, "journal: %s: invalid argument", what);
		return JITRD_ERR_INVALID_ARG;
	}
	pthread_mutex_lock(&j->lock);
	wanted = (size_t)sqlite3_bind_parameter_count(j->stmt[which]);
	if (wanted > COUNT_OF(params))
		wanted = COUNT_OF(params);
	result = journal_stmt_exec(j, which, params, wanted, what, diag);
	if (result == JITRD_OK && count)
		*count = (size_t)sqlite3_changes64(j->db);
	pthread_mutex_unlock(&j->lock);
	return result;
}

static enum jitrd_err run_changes(struct jitrd_journal *j, enum stmt_id which, int64_t param,
                                  const char *what, size_t *count, struct jitrd_diag *diag)
{
	return run_changes2(j, which, param, 0, what, count, diag);
}

enum jitrd_err jitrd_journal_requeue_stale(struct jitrd_journal *j, int64_t claimed_before_ms,
                                           int64_t now_ms, size_t *count, struct jitrd_diag *diag)
{
	return run_changes2(j, S_REQUEUE, claimed_before_ms, now_ms, "requeue", count, diag);
}

enum jitrd_err jitrd_journal_recover(struct jitrd_journal *j, int64_t now_ms, size_t *count,
                                     struct jitrd_diag *diag)
{
	enum jitrd_err err = run_changes2(j, S_RECOVER, now_ms, j ? (int64_t)j->max_attempts : 0,
	                                  "recover", count, diag);

	/* some of the recovered events may have ended failed: count again */
	if (err == JITRD_OK) {
		pthread_mutex_lock(&j->lock);
		err = backlog_recount(j, diag);
		pthread_mutex_unlock(&j->lock);
	}
	return err;
}

enum jitrd_err jitrd_journal_prune(struct jitrd_journal *j, int64_t older_than_ms, size_t *count,
                                   struct jitrd_diag *diag)
{
	return run_changes(j, S_PRUNE, older_than_ms, "prune", count, diag);
}

/* Runs a query bound to one or two strings; *exists = it returned a row. */
enum jitrd_err journal_exists(struct jitrd_journal *j, enum stmt_id which, const char *a,
                              const char *b, const char *what, bool *exists,
                              struct jitrd_diag *diag)
{
	const struct param params[] = {TEXT_PARAM(a, JITRD_JOURNAL_NAME_MAX),
	                               TEXT_PARAM(b, JITRD_JOURNAL_NAME_MAX)};
	enum jitrd_err result = journal_stmt_bind(j, which, params, b ? 2 : 1, what, diag);
	int rc;

	if (result != JITRD_OK)
		return result;
	rc = sqlite3_step(j->stmt[which]);
	result = journal_stmt_end(j, which, rc, what, diag);
	if (result == JITRD_OK)
		*exists = rc == SQLITE_ROW;
	return result;
}

enum jitrd_err jitrd_journal_counts(struct jitrd_journal *j, struct jitrd_journal_counts *counts,
                                    struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_journal_counts c = {0};
	sqlite3_stmt *stmt;
	int rc;

	if (!j || !counts) {
		jitrd_diag_set(diag, "journal: counts: invalid argument");
		return JITRD_ERR_INVALID_ARG;
	}
	pthread_mutex_lock(&j->lock);
	stmt = j->stmt[S_COUNTS];
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		uint64_t n = (uint64_t)sqlite3_column_int64(stmt, 1);

		switch (
		    name_index(state_names, COUNT_OF(state_names), sqlite3_column_text(stmt, 0))) {
		case JITRD_JOURNAL_PENDING:
			c.pending = n;
			break;
		case JITRD_JOURNAL_IN_PROGRESS:
			c.in_progress = n;
			break;
		case JITRD_JOURNAL_DONE:
			c.done = n;
			break;
		case JITRD_JOURNAL_FAILED:
			c.failed = n;
			break;
		default:
			break; /* the CHECK constraint keeps other states out */
		}
	}
	result = journal_stmt_end(j, S_COUNTS, rc, "counts", diag);
	if (result == JITRD_OK)
		*counts = c;
	pthread_mutex_unlock(&j->lock);
	return result;
}

/* Every string of cert terminated within its array; certificate id and CA id non-empty. */
static bool cert_ok(const struct jitrd_journal_cert *c)
{
	return memchr(c->certificate_id, '\0', sizeof(c->certificate_id)) &&
	       memchr(c->ca_id, '\0', sizeof(c->ca_id)) &&
	       memchr(c->serial_hex, '\0', sizeof(c->serial_hex)) &&
	       memchr(c->issuer, '\0', sizeof(c->issuer)) &&
	       memchr(c->subject_cn, '\0', sizeof(c->subject_cn)) &&
	       memchr(c->status, '\0', sizeof(c->status)) &&
	       memchr(c->last_decision, '\0', sizeof(c->last_decision)) &&
	       c->certificate_id[0] != '\0' && c->ca_id[0] != '\0';
}

/* With j->lock held and cert checked (cert_ok): S_CERT_UPSERT. */
static enum jitrd_err cert_upsert_locked(struct jitrd_journal *j,
                                         const struct jitrd_journal_cert *cert,
                                         struct jitrd_diag *diag)
{
	const struct param params[] = {
	    TEXT_PARAM(cert->certificate_id, JITRD_JOURNAL_ID_MAX),
	    TEXT_PARAM(cert->ca_id, JITRD_JOURNAL_ID_MAX),
	    TEXT_PARAM(cert->serial_hex, JITRD_JOURNAL_SERIAL_MAX),
	    TEXT_PARAM(cert->issuer, JITRD_JOURNAL_NAME_MAX),
	    TEXT_PARAM(cert->subject_cn, JITRD_JOURNAL_NAME_MAX),
	    TEXT_PARAM(cert->status, JITRD_JOURNAL_WORD_MAX),
	    TEXT_PARAM(cert->last_decision, JITRD_JOURNAL_WORD_MAX),
	    INT64_PARAM(cert->updated_ms),
	};

	return journal_stmt_exec(j, S_CERT_UPSERT, params, COUNT_OF(params), "cert_upsert", diag);
}

enum jitrd_err jitrd_journal_cert_upsert(struct jitrd_journal *j,
                                         const struct jitrd_journal_cert *cert,
                                         struct jitrd_diag *diag)
{
	enum jitrd_err result;

	if (!j || !cert || !cert_ok(cert)) {
		jitrd_diag_set(diag, "journal: cert_upsert: empty id or unterminated string");
		return JITRD_ERR_INVALID_ARG;
	}
	pthread_mutex_lock(&j->lock);
	result = cert_upsert_locked(j, cert, diag);
	pthread_mutex_unlock(&j->lock);
	return result;
}

static void copy_cert(sqlite3_stmt *stmt, struct jitrd_journal_cert *c)
{
	memset(c, 0, sizeof(*c)); /* no bytes of an earlier row left after the NULs */
	copy_column(c->certificate_id, sizeof(c->certificate_id), stmt, 0);
	copy_column(c->ca_id, sizeof(c->ca_id), stmt, 1);
	copy_column(c->serial_hex, sizeof(c->serial_hex), stmt, 2);
	copy_column(c->issuer, sizeof(c->issuer), stmt, 3);
	copy_column(c->subject_cn, sizeof(c->subject_cn), stmt, 4);
	copy_column(c->status, sizeof(c->status), stmt, 5);
	copy_column(c->last_decision, sizeof(c->last_decision), stmt, 6);
	c->updated_ms = sqlite3_column_int64(stmt, 7);
}

enum jitrd_err jitrd_journal_cert_get(struct jitrd_journal *j, const char *certificate_id,
                                      struct jitrd_journal_cert *cert, bool *found,
                                      struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	const struct param params[] = {TEXT_PARAM(certificate_id, JITRD_JOURNAL_ID_MAX)};
	int rc;

	if (!j || !cert || !found ||
	    journal_bounded_len(certificate_id, JITRD_JOURNAL_ID_MAX) < 0) {
		jitrd_diag_set(diag, "journal: cert_get: invalid argument");
		return JITRD_ERR_INVALID_ARG;
	}
	pthread_mutex_lock(&j->lock);
	result = journal_stmt_bind(j, S_CERT_GET, params, COUNT_OF(params), "cert_get", diag);
	if (result != JITRD_OK)
		goto cleanup;
	rc = sqlite3_step(j->stmt[S_CERT_GET]);
	if (rc == SQLITE_ROW)
		copy_cert(j->stmt[S_CERT_GET], cert);
	result = journal_stmt_end(j, S_CERT_GET, rc, "cert_get", diag);
	if (result == JITRD_OK)
		*found = rc == SQLITE_ROW;
cleanup:
	pthread_mutex_unlock(&j->lock);
	return result;
}

enum jitrd_err jitrd_journal_cert_events(struct jitrd_journal *j, const char *certificate_id,
                                         size_t max, jitrd_journal_history_fn fn, void *ctx,
                                         struct jitrd_diag *diag)
{
	const struct param params[] = {
	    TEXT_PARAM(certificate_id, JITRD_JOURNAL_ID_MAX),
	    INT64_PARAM((int64_t)max),
	};
	struct jitrd_journal_history h;
	sqlite3_stmt *stmt;
	enum jitrd_err result;
	int rc = SQLITE_DONE;

	if (!j || !fn || max == 0 || max > JITRD_JOURNAL_MAX_CLAIM ||
	    journal_bounded_len(certificate_id, JITRD_JOURNAL_ID_MAX) < 0) {
		jitrd_diag_set(diag, "journal: cert_events: invalid argument");
		return JITRD_ERR_INVALID_ARG;
	}
	pthread_mutex_lock(&j->lock);
	stmt = j->stmt[S_CERT_EVENTS];
	result = journal_stmt_bind(j, S_CERT_EVENTS, params, COUNT_OF(params), "cert_events", diag);
	if (result != JITRD_OK)
		goto cleanup;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		memset(&h, 0, sizeof(h));
		h.id = sqlite3_column_int64(stmt, 0);
		h.received_ms = sqlite3_column_int64(stmt, 1);
		copy_column(h.source, sizeof(h.source), stmt, 2);
		copy_column(h.state, sizeof(h.state), stmt, 3);
		h.attempts = (unsigned)sqlite3_column_int64(stmt, 4);
		copy_column(h.decision, sizeof(h.decision), stmt, 5);
		copy_column(h.reason, sizeof(h.reason), stmt, 6);
		copy_column(h.status, sizeof(h.status), stmt, 7);
		h.finished_ms = sqlite3_column_int64(stmt, 8); /* NULL reads as 0: not finished */
		if (fn(&h, ctx) != 0)
			break;
	}
	result = journal_stmt_end(j, S_CERT_EVENTS, rc, "cert_events", diag);
cleanup:
	pthread_mutex_unlock(&j->lock);
	return result;
}

/* Reads up to ITERATE_PAGE certificates after `after` into page; *n = how many. */
static enum jitrd_err cert_page(struct jitrd_journal *j, const char *ca_id, const char *status,
                                const char *after, struct jitrd_journal_cert *page, size_t *n,
                                struct jitrd_diag *diag)
{
	const struct param params[] = {
	    TEXT_PARAM(ca_id, JITRD_JOURNAL_ID_MAX),
	    TEXT_PARAM(status, JITRD_JOURNAL_WORD_MAX),
	    TEXT_PARAM(after, JITRD_JOURNAL_ID_MAX),
	    INT64_PARAM(ITERATE_PAGE),
	};
	enum jitrd_err result;
	sqlite3_stmt *stmt = j->stmt[S_CERT_PAGE];
	size_t got = 0;
	int rc = SQLITE_DONE;

	pthread_mutex_lock(&j->lock);
	result = journal_stmt_bind(j, S_CERT_PAGE, params, COUNT_OF(params), "cert_iterate", diag);
	if (result != JITRD_OK)
		goto cleanup;
	while (got < ITERATE_PAGE && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
		copy_cert(stmt, &page[got++]);
	result = journal_stmt_end(j, S_CERT_PAGE, rc, "cert_iterate", diag);
	if (result == JITRD_OK)
		*n = got;
cleanup:
	pthread_mutex_unlock(&j->lock);
	return result;
}

enum jitrd_err jitrd_journal_cert_iterate(struct jitrd_journal *j, const char *ca_id,
                                          const char *status, jitrd_journal_cert_fn fn, void *ctx,
                                          struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_journal_cert *page = NULL;
	char after[JITRD_JOURNAL_ID_MAX + 1] = "";
	size_t n = 0;
	size_t i;

	if (!j || !fn || journal_bounded_len(ca_id, JITRD_JOURNAL_ID_MAX) < 0 ||
	    (status && journal_bounded_len(status, JITRD_JOURNAL_WORD_MAX) < 0)) {
		jitrd_diag_set(diag, "journal: cert_iterate: invalid argument");
		goto cleanup;
	}
	page = malloc(ITERATE_PAGE * sizeof(*page));
	if (!page) {
		jitrd_diag_set(diag, "journal: cert_iterate: out of memory");
		result = JITRD_ERR_NOMEM;
		goto cleanup;
	}
	/* Keyset paging: the lock is released between pages, so fn may use the journal; a row
	 * fn changes is neither skipped nor seen twice, because the key only moves forward. */
	do {
		result = cert_page(j, ca_id, status, after, page, &n, diag);
		if (result != JITRD_OK)
			goto cleanup;
		for (i = 0; i < n; i++) {
			if (fn(&page[i], ctx) != 0) {
				result = JITRD_OK;
				goto cleanup;
			}
		}
		if (n > 0)
			memcpy(after, page[n - 1].certificate_id, sizeof(after));
	} while (n == ITERATE_PAGE);
	result = JITRD_OK;
cleanup:
	free(page);
	return result;
}

/* ---- remembered decisions, pruning, progress ------------------------------------------- */

/* The arguments a remembered decision requires (see jitrd_journal_finish). */
static bool remember_args_ok(const char *certificate_id, const char *event_key,
                             const char *decision, const char *status)
{
	return journal_bounded_len(certificate_id, JITRD_JOURNAL_ID_MAX) > 0 &&
	       journal_bounded_len(event_key, JITRD_JOURNAL_NAME_MAX) >= 0 &&
	       word_ok(decision, true) && word_ok(status, false);
}

/* With j->lock held and the arguments checked (remember_args_ok): S_REMEMBER. */
static enum jitrd_err remember_locked(struct jitrd_journal *j, const char *certificate_id,
                                      const char *event_key, const char *decision,
                                      const char *reason, const char *status, int64_t now_ms,
                                      int64_t until_ms, struct jitrd_diag *diag)
{
	const struct param params[] = {
	    TEXT_PARAM(certificate_id, JITRD_JOURNAL_ID_MAX),
	    TEXT_PARAM(decision, JITRD_JOURNAL_WORD_MAX),
	    TEXT_PARAM(reason, JITRD_JOURNAL_TEXT_MAX),
	    TEXT_PARAM(status, JITRD_JOURNAL_WORD_MAX),
	    INT64_PARAM(now_ms),
	    INT64_PARAM(until_ms),
	    TEXT_PARAM(event_key, JITRD_JOURNAL_NAME_MAX),
	};

	return journal_stmt_exec(j, S_REMEMBER, params, COUNT_OF(params), "remember", diag);
}

/* With j->lock held, the arguments checked: S_RECALL; *found, and *memory when found. */
static enum jitrd_err recall_locked(struct jitrd_journal *j, const char *certificate_id,
                                    const char *event_key, int64_t now_ms,
                                    struct jitrd_journal_memory *memory, bool *found,
                                    struct jitrd_diag *diag)
{
	const struct param params[] = {
	    TEXT_PARAM(certificate_id, JITRD_JOURNAL_ID_MAX),
	    INT64_PARAM(now_ms),
	    TEXT_PARAM(event_key, JITRD_JOURNAL_NAME_MAX),
	};
	sqlite3_stmt *stmt = j->stmt[S_RECALL];
	struct jitrd_journal_memory m;
	enum jitrd_err result;
	int rc;

	memset(&m, 0, sizeof(m));
	result = journal_stmt_bind(j, S_RECALL, params, COUNT_OF(params), "recall", diag);
	if (result != JITRD_OK)
		return result;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		copy_column(m.decision, sizeof(m.decision), stmt, 0);
		copy_column(m.reason, sizeof(m.reason), stmt, 1);
		copy_column(m.status, sizeof(m.status), stmt, 2);
		m.decided_ms = sqlite3_column_int64(stmt, 3);
		m.until_ms = sqlite3_column_int64(stmt, 4);
		m.repeats = (uint64_t)sqlite3_column_int64(stmt, 5);
		rc = sqlite3_step(stmt) == SQLITE_DONE ? SQLITE_ROW : SQLITE_ERROR;
	}
	result = journal_stmt_end(j, S_RECALL, rc, "recall", diag);
	if (result != JITRD_OK)
		return result;
	*found = rc == SQLITE_ROW;
	if (*found)
		*memory = m;
	return JITRD_OK;
}

enum jitrd_err jitrd_journal_forget_all(struct jitrd_journal *j, size_t *count,
                                        struct jitrd_diag *diag)
{
	enum jitrd_err result;

	if (!j) {
		jitrd_diag_set(diag, "journal: forget_all: invalid argument");
		return JITRD_ERR_INVALID_ARG;
	}
	pthread_mutex_lock(&j->lock);
	result = journal_stmt_exec(j, S_FORGET_ALL, NULL, 0, "forget_all", diag);
	if (result == JITRD_OK && count)
		*count = (size_t)sqlite3_changes64(j->db);
	pthread_mutex_unlock(&j->lock);
	return result;
}

enum jitrd_err jitrd_journal_prune_all(struct jitrd_journal *j, int64_t older_than_ms,
                                       int64_t now_ms, uint64_t max_rows,
                                       struct jitrd_journal_pruned *pruned, struct jitrd_diag *diag)
{
	struct jitrd_journal_pruned p = {0};
	enum jitrd_err err;

	if (!j || max_rows > INT64_MAX) {
		jitrd_diag_set(diag, "journal: prune: invalid argument");
		return JITRD_ERR_INVALID_ARG;
	}
	err = run_changes(j, S_PRUNE_FINISHED, older_than_ms, "prune", &p.events, diag);
	if (err == JITRD_OK) {
		size_t over = 0;

		err = run_changes(j, S_PRUNE_OVER_CAP, (int64_t)max_rows, "prune", &over, diag);
		p.events += over;
	}
	if (err == JITRD_OK)
		err = run_changes(j, S_PRUNE_REMEMBERED, now_ms, "prune", &p.remembered, diag);
	if (err == JITRD_OK)
		err = run_changes(j, S_PRUNE_INVENTORY, older_than_ms, "prune", &p.inventory, diag);
	if (err == JITRD_OK) {
		/* Give the pages of a large prune back to the WAL's next checkpoint promptly; a
		 * failure here (a reader holds the WAL) only delays that. */
		pthread_mutex_lock(&j->lock);
		(void)sqlite3_wal_checkpoint_v2(j->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		/* and take in what other processes (jitrd handle, ...) did to the backlog */
		err = backlog_recount(j, diag);
		pthread_mutex_unlock(&j->lock);
		if (err == JITRD_OK && pruned)
			*pruned = p;
	}
	return err;
}

enum jitrd_err jitrd_journal_oldest_open(struct jitrd_journal *j, int64_t *since_ms, bool *found,
                                         struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	sqlite3_stmt *stmt;
	int rc;

	if (!j || !since_ms || !found) {
		jitrd_diag_set(diag, "journal: oldest_open: invalid argument");
		return JITRD_ERR_INVALID_ARG;
	}
	pthread_mutex_lock(&j->lock);
	stmt = j->stmt[S_OLDEST_OPEN];
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*found = sqlite3_column_type(stmt, 0) != SQLITE_NULL;
		if (*found)
			*since_ms = sqlite3_column_int64(stmt, 0);
	}
	result = journal_stmt_end(j, S_OLDEST_OPEN, rc, "oldest_open", diag);
	pthread_mutex_unlock(&j->lock);
	return result;
}

/* ---- an event's two ends ------------------------------------------------------------------ */

/* With j->lock held: begins a transaction. */
static enum jitrd_err begin_locked(struct jitrd_journal *j, const char *what,
                                   struct jitrd_diag *diag)
{
	return journal_stmt_exec(j, S_BEGIN, NULL, 0, what, diag);
}

/* With j->lock held: commits when result is JITRD_OK, else (or when the commit fails) rolls
 * back. Returns result or the commit's error. */
static enum jitrd_err end_locked(struct jitrd_journal *j, enum jitrd_err result, const char *what,
                                 struct jitrd_diag *diag)
{
	if (result == JITRD_OK)
		result = journal_stmt_exec(j, S_COMMIT, NULL, 0, what, diag);
	if (result != JITRD_OK)
		rollback(j);
	return result;
}

/* With j->lock held: whether the inventory says the certificate was judged since since_ms
 * (> 0), i.e. jitrd saw it leave PENDING_ACTIVATION then or later; when so, *found and the
 * judgement in *answer (status, last decision as decision, updated_ms as decided_ms). An event
 * older than that judgement is a listing answered before an event of its own judged the
 * certificate (at start-up the sweep races the backlog the broker kept for the session), or a
 * registration event delivered after the sweep or another copy of it judged the certificate.
 * AWS cannot put a certificate back (UpdateCertificate refuses PENDING_ACTIVATION), so the
 * event would only cost a DescribeCertificate for a skip. A certificate deleted and registered
 * again has a later event, which goes on as usual. */
static enum jitrd_err judged_locked(struct jitrd_journal *j, const char *certificate_id,
                                    int64_t since_ms, struct jitrd_journal_memory *answer,
                                    bool *found, struct jitrd_diag *diag)
{
	/* The pipeline writes updated_ms in whole seconds: compared in seconds, so a judgement
	 * in the event's own second counts (a new registration within the second of a
	 * judgement is not plausible, and the next sweep would still find it). */
	const struct param params[] = {
	    TEXT_PARAM(certificate_id, JITRD_JOURNAL_ID_MAX),
	    INT64_PARAM(since_ms / 1000),
	};
	sqlite3_stmt *stmt = j->stmt[S_JUDGED];
	enum jitrd_err result;
	int rc;

	result = journal_stmt_bind(j, S_JUDGED, params, COUNT_OF(params), "intake", diag);
	if (result != JITRD_OK)
		return result;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		copy_column(answer->status, sizeof(answer->status), stmt, 0);
		copy_column(answer->decision, sizeof(answer->decision), stmt, 1);
		answer->decided_ms = sqlite3_column_int64(stmt, 2);
	}
	result = journal_stmt_end(j, S_JUDGED, rc, "intake", diag);
	if (result == JITRD_OK)
		*found = rc == SQLITE_ROW;
	return result;
}

/* With j->lock held, in intake's transaction: the steps of jitrd_journal_intake. */
static enum jitrd_err intake_steps(struct jitrd_journal *j, const struct jitrd_journal_arrival *a,
                                   enum jitrd_journal_intake_result *outcome, int64_t *id,
                                   struct jitrd_journal_memory *memory, struct jitrd_diag *diag)
{
	enum jitrd_err result;
	bool found = false;

	/* First, as the daemon looked before intake existed: an event answered by the judgement
	 * neither counts as a remembered decision's repeat nor joins an open row. */
	if (a->certificate_id && a->judged_since_ms > 0) {
		result =
		    judged_locked(j, a->certificate_id, a->judged_since_ms, memory, &found, diag);
		if (result != JITRD_OK)
			return result;
	}
	if (found) {
		*outcome = JITRD_JOURNAL_JUDGED;
		if (a->when_open != JITRD_JOURNAL_JOIN_OPEN)
			return JITRD_OK;
		/* recorded done in the one INSERT, so no worker claims it meanwhile */
		snprintf(memory->reason, sizeof(memory->reason), "judged %s since the event",
		         memory->status);
		return record_locked(j, S_RECORD_JOINED, a->source, a->payload, a->len,
		                     a->certificate_id, memory->reason, a->now_ms, id, diag);
	}
	if (a->certificate_id && a->event_key) {
		result = recall_locked(j, a->certificate_id, a->event_key, a->now_ms, memory,
		                       &found, diag);
		if (result != JITRD_OK || found) {
			*outcome = JITRD_JOURNAL_REMEMBERED;
			return result;
		}
	}
	if (a->certificate_id) {
		result = journal_exists(j, S_HAS_PENDING, a->certificate_id, NULL, "intake", &found,
		                        diag);
		if (result != JITRD_OK)
			return result;
	}
	if (found && a->when_open == JITRD_JOURNAL_LEAVE_IF_OPEN) {
		*outcome = JITRD_JOURNAL_OPEN;
		return JITRD_OK;
	}
	*outcome = found ? JITRD_JOURNAL_JOINED : JITRD_JOURNAL_RECORDED;
	return record_locked(j, found ? S_RECORD_JOINED : S_RECORD, a->source, a->payload, a->len,
	                     a->certificate_id, found ? a->join_reason : NULL, a->now_ms, id, diag);
}

/* The arguments jitrd_journal_intake requires of an arrival. */
static bool arrival_ok(struct jitrd_journal *j, const struct jitrd_journal_arrival *a,
                       struct jitrd_diag *diag)
{
	/* a join needs a reason; an event without a certificate is never joined */
	enum stmt_id insert = a->when_open == JITRD_JOURNAL_JOIN_OPEN && a->certificate_id
	                          ? S_RECORD_JOINED
	                          : S_RECORD;

	if (a->when_open != JITRD_JOURNAL_JOIN_OPEN && a->when_open != JITRD_JOURNAL_LEAVE_IF_OPEN)
		return false;
	if (a->event_key && journal_bounded_len(a->event_key, JITRD_JOURNAL_NAME_MAX) < 0)
		return false;
	return record_args_ok(j, insert, a->source, a->payload, a->len, a->certificate_id,
	                      a->join_reason, diag);
}

enum jitrd_err jitrd_journal_intake(struct jitrd_journal *j, const struct jitrd_journal_arrival *a,
                                    enum jitrd_journal_intake_result *result, int64_t *id,
                                    struct jitrd_journal_memory *memory, struct jitrd_diag *diag)
{
	enum jitrd_journal_intake_result outcome = JITRD_JOURNAL_RECORDED;
	struct jitrd_journal_memory m;
	enum jitrd_err err;
	int64_t row = 0;

	if (!a || !result || !id || !arrival_ok(j, a, diag)) {
		jitrd_diag_set(diag, "journal: intake: invalid argument");
		return JITRD_ERR_INVALID_ARG;
	}
	memset(&m, 0, sizeof(m));
	pthread_mutex_lock(&j->lock);
	/* One transaction for the lookups and the INSERT: each statement in autocommit mode
	 * would be a transaction (locks, a WAL commit) of its own; and no other writer can open
	 * or close the certificate's row between the look and the INSERT. */
	err = begin_locked(j, "intake", diag);
	if (err == JITRD_OK)
		err = intake_steps(j, a, &outcome, &row, &m, diag);
	err = end_locked(j, err, "intake", diag);
	if (err == JITRD_OK) {
		if (outcome == JITRD_JOURNAL_RECORDED)
			journal_backlog_add(j, 1);
		*result = outcome;
		if (outcome == JITRD_JOURNAL_RECORDED || outcome == JITRD_JOURNAL_JOINED ||
		    (outcome == JITRD_JOURNAL_JUDGED && a->when_open == JITRD_JOURNAL_JOIN_OPEN))
			*id = row;
		if ((outcome == JITRD_JOURNAL_REMEMBERED || outcome == JITRD_JOURNAL_JUDGED) &&
		    memory)
			*memory = m;
	}
	pthread_mutex_unlock(&j->lock);
	return err;
}

/* With j->lock held, in finish's transaction: the steps of jitrd_journal_finish. */
static enum jitrd_err finish_steps(struct jitrd_journal *j, const struct jitrd_journal_ending *e,
                                   const char *decision, int *new_state, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_OK;

	/* Remembered in the same transaction as the completion: a repeat finds either the open
	 * row (and joins it) or the memory, never neither. */
	if (e->remember_key && !e->retry)
		result = remember_locked(j, e->certificate_id, e->remember_key, decision, e->reason,
		                         e->status, e->now_ms, e->remember_until_ms, diag);
	if (result == JITRD_OK && e->retry) {
		unsigned max = e->max_attempts;

		if (max == 0 || max > j->max_attempts)
			max = j->max_attempts;
		result = retry_locked(j, e->id, e->next_attempt_ms, e->reason, e->now_ms, max,
		                      new_state, diag);
	} else if (result == JITRD_OK) {
		result = complete_locked(j, e->id, decision, e->reason, e->status, e->now_ms, diag);
		*new_state = JITRD_JOURNAL_DONE;
	}
	if (result == JITRD_OK && e->cert)
		result = cert_upsert_locked(j, e->cert, diag);
	return result;
}

/* The arguments jitrd_journal_finish_batch requires of one ending. */
static bool ending_ok(const struct jitrd_journal_ending *e)
{
	const char *decision = decision_word(e->decision);

	return word_ok(decision, true) && word_ok(e->status, false) &&
	       (!e->cert || cert_ok(e->cert)) &&
	       (!e->remember_key || e->retry ||
	        remember_args_ok(e->certificate_id, e->remember_key, decision, e->status));
}

enum jitrd_err jitrd_journal_finish_batch(struct jitrd_journal *j,
                                          const struct jitrd_journal_ending *endings, size_t n,
                                          enum jitrd_journal_state *states, struct jitrd_diag *diag)
{
	int new_states[JITRD_JOURNAL_MAX_CLAIM];
	enum jitrd_err err;
	int64_t closed = 0;
	size_t i;

	if (!j || n > JITRD_JOURNAL_MAX_CLAIM || (n > 0 && !endings)) {
		jitrd_diag_set(diag, "journal: finish: invalid argument");
		return JITRD_ERR_INVALID_ARG;
	}
	for (i = 0; i < n; i++) {
		if (!ending_ok(&endings[i])) {
			jitrd_diag_set(diag,
			               "journal: finish: invalid argument (ending %zu of %zu)",
			               i + 1, n);
			return JITRD_ERR_INVALID_ARG;
		}
	}
	if (n == 0)
		return JITRD_OK;
	pthread_mutex_lock(&j->lock);
	/* One transaction for the whole batch: the endings of a worker's claim touch mostly the
	 * same pages (the events leaf and its indexes, the inventory's), which a transaction
	 * writes to the WAL once, not once per event. All or nothing: a failed ending (an
	 * unknown or finished id, a refused write) rolls back the others too. */
	err = begin_locked(j, "finish", diag);
	for (i = 0; i < n && err == JITRD_OK; i++)
		err = finish_steps(j, &endings[i], decision_word(endings[i].decision),
		                   &new_states[i], diag);
	err = end_locked(j, err, "finish", diag);
	if (err == JITRD_OK) {
		for (i = 0; i < n; i++) {
			if (new_states[i] != JITRD_JOURNAL_PENDING)
				closed++;
			if (states)
				states[i] = (enum jitrd_journal_state)new_states[i];
		}
		if (closed > 0)
			journal_backlog_add(j, -closed);
	}
	pthread_mutex_unlock(&j->lock);
	return err;
}

enum jitrd_err jitrd_journal_finish(struct jitrd_journal *j, const struct jitrd_journal_ending *e,
                                    enum jitrd_journal_state *state, struct jitrd_diag *diag)
{
	if (!e) {
		jitrd_diag_set(diag, "journal: finish: invalid argument");
		return JITRD_ERR_INVALID_ARG;
	}
	return jitrd_journal_finish_batch(j, e, 1, state, diag);
}
