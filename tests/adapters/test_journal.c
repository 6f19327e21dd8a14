/* test_journal.c — unit tests of the SQLite journal: record/claim/complete, exclusive claims
 * under threads, retry backoff and the give-up bound, recovery after a child is SIGKILLed
 * mid-burst, prune, inventory, job progress, hostile payloads, corrupt and foreign files, a
 * read-only directory, and a records-per-second figure. Each test uses its own mkdtemp dir. */
#include "jitrd/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "jitrd/files.h"
#include "jitrd/metrics.h"
#include "testsupport.h"

#define UNTOUCHED_ID ((int64_t)-777)
#define CERT_A       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define CERT_B       "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define CA_1         "1111111111111111111111111111111111111111111111111111111111111111"
#define CA_2         "2222222222222222222222222222222222222222222222222222222222222222"

struct tmp_journal {
	char dir[64];
	char path[128];
};

static int make_dir(struct tmp_journal *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/jitrd-jnl-XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/journal.db", t->dir);
	return 0;
}

static void remove_dir(struct tmp_journal *t)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	char p[160];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", t->path, suffixes[i]);
		unlink(p);
	}
	CU_ASSERT_EQUAL(rmdir(t->dir), 0);
}

static struct jitrd_journal *open_fresh(struct tmp_journal *t, unsigned max_attempts)
{
	struct jitrd_journal_options opts;
	struct jitrd_journal *j = NULL;
	struct jitrd_diag diag = {""};

	if (make_dir(t) != 0) {
		CU_FAIL("mkdtemp");
		return NULL;
	}
	jitrd_journal_options_init(&opts);
	if (max_attempts)
		opts.max_attempts = max_attempts;
	CU_ASSERT_EQUAL(jitrd_journal_open(t->path, &opts, &j, &diag), JITRD_OK);
	if (!j)
		fprintf(stderr, "open: %s\n", diag.text);
	return j;
}

static struct jitrd_journal_counts counts_of(struct jitrd_journal *j)
{
	struct jitrd_journal_counts c = {99, 99, 99, 99};

	CU_ASSERT_EQUAL(jitrd_journal_counts(j, &c, NULL), JITRD_OK);
	return c;
}

/* One integer from the database file, read with SQLite directly (not through the module). */
static int64_t sql_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	int64_t v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return v;
}

/* An event's completion as the daemon writes it: jitrd_journal_finish, outcome only. */
static enum jitrd_err complete(struct jitrd_journal *j, int64_t id,
                               enum jitrd_decision_kind decision, const char *reason,
                               const char *status, int64_t now_ms, struct jitrd_diag *diag)
{
	struct jitrd_journal_ending e = {0};

	e.id = id;
	e.decision = decision;
	e.reason = reason;
	e.status = status;
	e.now_ms = now_ms;
	return jitrd_journal_finish(j, &e, NULL, diag);
}

/* The event id completed with decision, remembered for cert under key until until_ms. */
static enum jitrd_err remember(struct jitrd_journal *j, int64_t id, const char *cert,
                               const char *key, enum jitrd_decision_kind decision,
                               const char *reason, const char *status, int64_t now_ms,
                               int64_t until_ms, struct jitrd_diag *diag)
{
	struct jitrd_journal_ending e = {0};

	e.id = id;
	e.decision = decision;
	e.reason = reason;
	e.status = status;
	e.now_ms = now_ms;
	e.remember_key = key;
	e.certificate_id = cert;
	e.remember_until_ms = until_ms;
	return jitrd_journal_finish(j, &e, NULL, diag);
}

/* A repeat of cert's event with key arriving at now_ms, recorded only when nothing answers it
 * (LEAVE_IF_OPEN): while cert has an open row, REMEMBERED or OPEN tell whether its memory
 * answered, and nothing is recorded either way. */
static enum jitrd_journal_intake_result repeat_of(struct jitrd_journal *j, const char *cert,
                                                  const char *key, int64_t now_ms,
                                                  struct jitrd_journal_memory *m)
{
	struct jitrd_journal_arrival a = {0};
	enum jitrd_journal_intake_result got = (enum jitrd_journal_intake_result)77;
	int64_t id = UNTOUCHED_ID;

	a.source = JITRD_JOURNAL_MQTT;
	a.payload = "repeat";
	a.len = 6;
	a.certificate_id = cert;
	a.event_key = key;
	a.when_open = JITRD_JOURNAL_LEAVE_IF_OPEN;
	a.now_ms = now_ms;
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, m, NULL), JITRD_OK);
	CU_ASSERT((got == JITRD_JOURNAL_RECORDED) == (id != UNTOUCHED_ID));
	return got;
}

static void test_open_creates_schema(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 0);
	struct jitrd_journal_counts c;
	struct jitrd_diag diag = {""};

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	c = counts_of(j);
	CU_ASSERT(c.pending == 0 && c.in_progress == 0 && c.done == 0 && c.failed == 0);
	jitrd_journal_close(j);
	CU_ASSERT_EQUAL(sql_int(t.path, "PRAGMA user_version"), JITRD_JOURNAL_SCHEMA_VERSION);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM sqlite_schema WHERE name = 'events'"),
	                1);
	/* Reopening an existing journal of this version works. */
	j = NULL;
	CU_ASSERT_EQUAL(jitrd_journal_open(t.path, NULL, &j, &diag), JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL(j);
	jitrd_journal_close(j);
	jitrd_journal_close(NULL);
	remove_dir(&t);
}

static void test_round_trip(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 0);
	struct jitrd_journal_event *ev = NULL;
	struct jitrd_diag diag = {""};
	size_t n = 99;
	int64_t id1 = UNTOUCHED_ID, id2 = UNTOUCHED_ID, id3 = UNTOUCHED_ID;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(
	    jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "{\"a\":1}", 7, CERT_A, 1000, &id1, NULL),
	    JITRD_OK);
	CU_ASSERT_EQUAL(
	    jitrd_journal_record(j, JITRD_JOURNAL_HANDLE, "junk", 4, NULL, 1001, &id2, NULL),
	    JITRD_OK);
	CU_ASSERT_EQUAL(
	    jitrd_journal_record(j, JITRD_JOURNAL_RECONCILE, "later", 5, CERT_B, 5000, &id3, NULL),
	    JITRD_OK);
	CU_ASSERT(id1 > 0 && id2 > id1 && id3 > id2);

	/* Not yet due: nothing, and the outputs say so. */
	CU_ASSERT_EQUAL(jitrd_journal_claim(j, 999, 10, &ev, &n, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(ev);

	CU_ASSERT_EQUAL_FATAL(jitrd_journal_claim(j, 2000, 10, &ev, &n, NULL), JITRD_OK);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(ev[0].id, id1);
	CU_ASSERT_EQUAL(ev[0].source, JITRD_JOURNAL_MQTT);
	CU_ASSERT_EQUAL(ev[0].payload_len, 7);
	CU_ASSERT_EQUAL(memcmp(ev[0].payload, "{\"a\":1}", 8), 0); /* with the NUL after it */
	CU_ASSERT(ev[0].has_certificate);
	CU_ASSERT_STRING_EQUAL(ev[0].certificate_id, CERT_A);
	CU_ASSERT_EQUAL(ev[0].attempts, 0);
	CU_ASSERT_EQUAL(ev[0].received_ms, 1000);
	CU_ASSERT_FALSE(ev[0].truncated);
	CU_ASSERT_EQUAL(ev[1].id, id2);
	CU_ASSERT_EQUAL(ev[1].source, JITRD_JOURNAL_HANDLE);
	CU_ASSERT_FALSE(ev[1].has_certificate);
	CU_ASSERT_STRING_EQUAL(ev[1].certificate_id, "");
	jitrd_journal_events_free(ev, n);

	/* Claimed ones are not handed out again. */
	ev = NULL;
	CU_ASSERT_EQUAL(jitrd_journal_claim(j, 2000, 10, &ev, &n, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(ev);

	CU_ASSERT_EQUAL(complete(j, id1, JITRD_DECISION_ACTIVATE, "ok", "ACTIVE", 2100, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(complete(j, id2, JITRD_DECISION_INVALID, "not JSON", NULL, 2100, NULL),
	                JITRD_OK);
	/* Finishing twice, or an unknown id, is refused with a reason. */
	CU_ASSERT_EQUAL(complete(j, id1, JITRD_DECISION_ACTIVATE, NULL, NULL, 2200, &diag),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "already finished"));
	CU_ASSERT_EQUAL(complete(j, 424242, JITRD_DECISION_ACTIVATE, NULL, NULL, 2200, NULL),
	                JITRD_ERR_INVALID_ARG);
	/* A decision outside the enum, or an overlong status, is refused. */
	CU_ASSERT_EQUAL(complete(j, id3, JITRD_DECISION_COUNT, NULL, NULL, 2200, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(complete(j, id3, (enum jitrd_decision_kind) - 1, NULL, NULL, 2200, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(complete(j, id3, JITRD_DECISION_SKIP, NULL,
	                         "this-status-word-is-far-too-long-to-keep", 2200, NULL),
	                JITRD_ERR_INVALID_ARG);
	/* A pending event may be completed directly (`jitrd handle` records, then decides). */
	CU_ASSERT_EQUAL(complete(j, id3, JITRD_DECISION_SKIP, NULL, "ACTIVE", 2300, NULL),
	                JITRD_OK);
	struct jitrd_journal_counts c = counts_of(j);
	CU_ASSERT(c.pending == 0 && c.in_progress == 0 && c.done == 3 && c.failed == 0);
	jitrd_journal_close(j);

	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM events WHERE decision = 'activate'"
	                                " AND status = 'ACTIVE' AND finished_ms = 2100 AND"
	                                " reason = 'ok'"),
	                1);
	/* The decisions are stored by name, as journals written before hold them. */
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM events WHERE decision = 'invalid'"
	                                " AND reason = 'not JSON'"),
	                1);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM events WHERE decision = 'skip'"
	                                " AND status = 'ACTIVE' AND finished_ms = 2300"),
	                1);
	remove_dir(&t);
}

static void test_invalid_arguments(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 0);
	struct jitrd_journal *other = (struct jitrd_journal *)&t; /* sentinel, never used */
	struct jitrd_journal_event *ev = (struct jitrd_journal_event *)&t;
	struct jitrd_journal_options opts;
	struct jitrd_diag diag = {""};
	char long_id[JITRD_JOURNAL_ID_MAX + 2];
	int64_t id = UNTOUCHED_ID;
	size_t n = 99;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(jitrd_journal_open(NULL, NULL, &other, &diag), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_journal_open("", NULL, &other, &diag), JITRD_ERR_INVALID_ARG);
	jitrd_journal_options_init(&opts);
	opts.max_attempts = 0;
	CU_ASSERT_EQUAL(jitrd_journal_open(t.path, &opts, &other, &diag), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_PTR_EQUAL(other, (struct jitrd_journal *)&t);

	CU_ASSERT_EQUAL(jitrd_journal_record(j, JITRD_JOURNAL_MQTT, NULL, 3, NULL, 1, &id, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(
	    jitrd_journal_record(j, (enum jitrd_journal_source)9, "x", 1, NULL, 1, &id, NULL),
	    JITRD_ERR_INVALID_ARG);
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	CU_ASSERT_EQUAL(jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "x", 1, long_id, 1, &id, &diag),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(id, UNTOUCHED_ID);

	CU_ASSERT_EQUAL(jitrd_journal_claim(j, 1, 0, &ev, &n, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_journal_claim(j, 1, JITRD_JOURNAL_MAX_CLAIM + 1, &ev, &n, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_PTR_EQUAL(ev, (struct jitrd_journal_event *)&t);
	CU_ASSERT_EQUAL(n, 99);
	/* an overlong certificate id in an arrival: refused, nothing recorded */
	struct jitrd_journal_arrival a = {0};
	enum jitrd_journal_intake_result got = (enum jitrd_journal_intake_result)77;

	a.payload = "x";
	a.len = 1;
	a.certificate_id = long_id;
	a.when_open = JITRD_JOURNAL_LEAVE_IF_OPEN;
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, NULL, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(got, (enum jitrd_journal_intake_result)77);
	CU_ASSERT_EQUAL(id, UNTOUCHED_ID);
	CU_ASSERT_EQUAL(counts_of(j).pending, 0);
	CU_ASSERT_EQUAL(jitrd_journal_retry_later(j, 5, 10, NULL, 1, NULL, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_journal_counts(j, NULL, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(jitrd_journal_source_name(JITRD_JOURNAL_LAMBDA), "lambda");
	CU_ASSERT_STRING_EQUAL(jitrd_journal_state_name(JITRD_JOURNAL_IN_PROGRESS), "in_progress");
	CU_ASSERT_STRING_EQUAL(jitrd_journal_state_name((enum jitrd_journal_state)7), "?");
	jitrd_journal_close(j);
	remove_dir(&t);
}

/* --- claims are exclusive across threads --- */

#define RACE_EVENTS  3000
#define RACE_THREADS 4

struct race {
	struct jitrd_journal *j;
	pthread_mutex_t lock;
	unsigned char seen[RACE_EVENTS + 1];
	int duplicates;
	int errors;
	size_t total;
};

static void *claimer(void *arg)
{
	struct race *r = arg;

	for (;;) {
		struct jitrd_journal_event *ev = NULL;
		size_t n = 0;

		if (jitrd_journal_claim(r->j, 10, 7, &ev, &n, NULL) != JITRD_OK) {
			pthread_mutex_lock(&r->lock);
			r->errors++;
			pthread_mutex_unlock(&r->lock);
			return NULL;
		}
		if (n == 0)
			return NULL;
		pthread_mutex_lock(&r->lock);
		for (size_t i = 0; i < n; i++) {
			if (ev[i].id < 1 || ev[i].id > RACE_EVENTS || r->seen[ev[i].id])
				r->duplicates++;
			else
				r->seen[ev[i].id] = 1;
		}
		r->total += n;
		pthread_mutex_unlock(&r->lock);
		jitrd_journal_events_free(ev, n);
	}
}

static void test_claim_exclusive_across_threads(void)
{
	struct tmp_journal t;
	struct race *r = calloc(1, sizeof(*r));
	pthread_t th[RACE_THREADS];
	int64_t id;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	r->j = open_fresh(&t, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->j);
	pthread_mutex_init(&r->lock, NULL);
	for (int i = 0; i < RACE_EVENTS; i++)
		CU_ASSERT_EQUAL_FATAL(
		    jitrd_journal_record(r->j, JITRD_JOURNAL_MQTT, "e", 1, NULL, 1, &id, NULL),
		    JITRD_OK);
	for (int i = 0; i < RACE_THREADS; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, claimer, r), 0);
	for (int i = 0; i < RACE_THREADS; i++)
		pthread_join(th[i], NULL);
	CU_ASSERT_EQUAL(r->errors, 0);
	CU_ASSERT_EQUAL(r->duplicates, 0);
	CU_ASSERT_EQUAL(r->total, RACE_EVENTS);
	struct jitrd_journal_counts c = counts_of(r->j);
	CU_ASSERT_EQUAL(c.in_progress, RACE_EVENTS);
	CU_ASSERT_EQUAL(c.pending, 0);
	jitrd_journal_close(r->j);
	pthread_mutex_destroy(&r->lock);
	free(r);
	remove_dir(&t);
}

/* The count a worker sizes its claim by: pending and due only, bounded by cap, and refused
 * without touching *count when the arguments are wrong. */
static void test_due_count(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 0);
	struct jitrd_journal_event *ev = NULL;
	size_t n = 0, due = 99;
	int64_t id;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(jitrd_journal_due_count(j, 5000, 100, &due, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(due, 0);
	for (int i = 0; i < 10; i++)
		CU_ASSERT_EQUAL_FATAL(jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "e", 1, NULL,
		                                           1000 + i * 100, &id, NULL),
		                      JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_journal_due_count(j, 5000, 100, &due, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(due, 10);
	/* not yet due: the rows received at 1500 and later */
	CU_ASSERT_EQUAL(jitrd_journal_due_count(j, 1400, 100, &due, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(due, 5);
	CU_ASSERT_EQUAL(jitrd_journal_due_count(j, 5000, 3, &due, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(due, 3);
	/* claimed rows are in progress, no longer due */
	CU_ASSERT_EQUAL_FATAL(jitrd_journal_claim(j, 5000, 4, &ev, &n, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL(jitrd_journal_due_count(j, 5000, 100, &due, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(due, 6);
	jitrd_journal_events_free(ev, n);

	due = 99;
	CU_ASSERT_EQUAL(jitrd_journal_due_count(j, 5000, 0, &due, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(
	    jitrd_journal_due_count(j, 5000, JITRD_JOURNAL_MAX_DUE_COUNT + 1, &due, NULL),
	    JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_journal_due_count(NULL, 5000, 1, &due, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_journal_due_count(j, 5000, 1, NULL, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(due, 99);
	jitrd_journal_close(j);
	remove_dir(&t);
}

static void test_retry_backoff_and_give_up(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 3);
	struct jitrd_journal_event *ev = NULL;
	enum jitrd_journal_state state = (enum jitrd_journal_state) - 1;
	struct jitrd_diag diag = {""};
	int64_t id = UNTOUCHED_ID;
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL_FATAL(
	    jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "e", 1, CERT_A, 100, &id, NULL), JITRD_OK);
	/* Attempts 1 and 2 go back to pending, due at the given time and not before. */
	for (unsigned attempt = 1; attempt <= 2; attempt++) {
		int64_t now = 100 + (int64_t)attempt * 1000;

		CU_ASSERT_EQUAL_FATAL(jitrd_journal_claim(j, now, 5, &ev, &n, NULL), JITRD_OK);
		CU_ASSERT_EQUAL_FATAL(n, 1);
		CU_ASSERT_EQUAL(ev[0].attempts, attempt - 1);
		jitrd_journal_events_free(ev, n);
		CU_ASSERT_EQUAL(
		    jitrd_journal_retry_later(j, id, now + 1000, "throttled", now, &state, NULL),
		    JITRD_OK);
		CU_ASSERT_EQUAL(state, JITRD_JOURNAL_PENDING);
		CU_ASSERT_EQUAL(jitrd_journal_claim(j, now + 999, 5, &ev, &n, NULL), JITRD_OK);
		CU_ASSERT_EQUAL(n, 0);
	}
	/* The third failed attempt reaches max_attempts = 3: failed, kept, never claimed. */
	CU_ASSERT_EQUAL_FATAL(jitrd_journal_claim(j, 3100, 5, &ev, &n, NULL), JITRD_OK);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(ev[0].attempts, 2);
	jitrd_journal_events_free(ev, n);
	state = (enum jitrd_journal_state) - 1;
	CU_ASSERT_EQUAL(jitrd_journal_retry_later(j, id, 4100, "timeout", 3200, &state, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(state, JITRD_JOURNAL_FAILED);
	CU_ASSERT_EQUAL(jitrd_journal_claim(j, INT64_MAX, 5, &ev, &n, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(n, 0);
	struct jitrd_journal_counts c = counts_of(j);
	CU_ASSERT(c.failed == 1 && c.pending == 0 && c.done == 0);
	/* A failed event takes no more retries or outcomes; state untouched on error. */
	state = JITRD_JOURNAL_DONE;
	CU_ASSERT_EQUAL(jitrd_journal_retry_later(j, id, 9999, NULL, 9000, &state, &diag),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(state, JITRD_JOURNAL_DONE);
	CU_ASSERT_EQUAL(complete(j, id, JITRD_DECISION_ACTIVATE, NULL, NULL, 9000, NULL),
	                JITRD_ERR_INVALID_ARG);
	/* A pruned journal still keeps it: failed rows are for inspection. */
	CU_ASSERT_EQUAL(jitrd_journal_prune(j, INT64_MAX, &n, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(n, 0);
	jitrd_journal_close(j);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT attempts FROM events WHERE state = 'failed' AND"
	                                " decision = 'failed' AND reason = 'timeout' AND"
	                                " finished_ms = 3200"),
	                3);
	remove_dir(&t);
}

/* A restart counts as an attempt: an event in progress at every start-up (one that crashes
 * the process) ends failed after max_attempts restarts instead of being replayed forever. */
static void test_recover_counts_an_attempt(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 2);
	struct jitrd_journal_event *ev = NULL;
	struct jitrd_journal_counts c;
	size_t n = 0, recovered = 0;
	int64_t id = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "{}", 2, NULL, 1, &id, NULL),
	                JITRD_OK);
	for (int restart = 1; restart <= 2; restart++) {
		CU_ASSERT_EQUAL(jitrd_journal_claim(j, 10 * restart, 4, &ev, &n, NULL), JITRD_OK);
		CU_ASSERT_EQUAL(n, 1);
		jitrd_journal_events_free(ev, n);
		/* the process dies here; the next start recovers */
		CU_ASSERT_EQUAL(jitrd_journal_recover(j, 10 * restart + 1, &recovered, NULL),
		                JITRD_OK);
		CU_ASSERT_EQUAL(recovered, 1);
		c = counts_of(j);
		CU_ASSERT_EQUAL(c.in_progress, 0);
		CU_ASSERT_EQUAL(c.pending, restart < 2 ? 1 : 0);
		CU_ASSERT_EQUAL(c.failed, restart < 2 ? 0 : 1);
	}
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT attempts FROM events"), 2);
	jitrd_journal_close(j);
	remove_dir(&t);
}

/* An event whose worker could not write its outcome is handed out again once its claim is
 * older than the cut-off, without costing an attempt; fresh claims are left alone. */
static void test_requeue_stale_claims(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 0);
	struct jitrd_journal_event *ev = NULL;
	size_t n = 0, requeued = 99;
	int64_t id = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "{}", 2, NULL, 1, &id, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_journal_claim(j, 100, 4, &ev, &n, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(n, 1);
	jitrd_journal_events_free(ev, n);
	CU_ASSERT_EQUAL(jitrd_journal_requeue_stale(j, 100, 150, &requeued, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(requeued, 0); /* claimed at 100: not before the cut-off */
	CU_ASSERT_EQUAL(counts_of(j).in_progress, 1);
	CU_ASSERT_EQUAL(jitrd_journal_requeue_stale(j, 101, 300, &requeued, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(requeued, 1);
	CU_ASSERT_EQUAL(counts_of(j).pending, 1);
	CU_ASSERT_EQUAL(jitrd_journal_claim(j, 299, 4, &ev, &n, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(n, 0); /* due at 300 */
	jitrd_journal_events_free(ev, n);
	CU_ASSERT_EQUAL(jitrd_journal_claim(j, 300, 4, &ev, &n, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(n, 1);
	if (n == 1)
		CU_ASSERT_EQUAL(ev[0].attempts, 0);
	jitrd_journal_events_free(ev, n);
	jitrd_journal_close(j);
	remove_dir(&t);
}

/* --- crash recovery: a child is SIGKILLed mid-burst --- */

#define CRASH_EVENTS  500
#define CRASH_KILL_AT 250
#define CRASH_HOLD_AT 350

/* Records flat out, so the kill most likely lands inside SQLite; at CRASH_HOLD_AT it waits on
 * hold_fd (never written), so a slow parent still kills it mid-loop, never after it. */
static void crash_child(const char *path, int fd, int hold_fd)
{
	struct jitrd_journal *j = NULL;
	char byte;

	if (jitrd_journal_open(path, NULL, &j, NULL) != JITRD_OK)
		_exit(2);
	for (int i = 0; i < CRASH_EVENTS; i++) {
		char payload[64];
		int64_t id;
		int len = snprintf(payload, sizeof(payload), "{\"n\":%d}", i);

		if (jitrd_journal_record(j, JITRD_JOURNAL_MQTT, payload, (size_t)len, CERT_A,
		                         1000 + i, &id, NULL) != JITRD_OK)
			_exit(3);
		/* Acknowledged: like the PUBACK after messageArrived returns. */
		if (write(fd, &id, sizeof(id)) != (ssize_t)sizeof(id))
			_exit(4);
		if (i % 5 == 4) {
			struct jitrd_journal_event *ev = NULL;
			size_t n = 0;

			if (jitrd_journal_claim(j, 1000 + i, 2, &ev, &n, NULL) != JITRD_OK)
				_exit(5);
			jitrd_journal_events_free(ev, n);
		}
		if (i == CRASH_HOLD_AT && read(hold_fd, &byte, 1) != 1)
			_exit(6);
	}
	_exit(7); /* unreachable: the hold never ends */
}

static void test_recover_after_sigkill(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = NULL;
	struct jitrd_journal_event *ev = NULL;
	struct jitrd_diag diag = {""};
	int64_t *acked = calloc(CRASH_EVENTS, sizeof(*acked));
	size_t nacked = 0, recovered = 999, n = 0;
	int fds[2], hold[2];
	int status = 0;
	pid_t pid;

	CU_ASSERT_PTR_NOT_NULL_FATAL(acked);
	CU_ASSERT_EQUAL_FATAL(make_dir(&t), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(hold), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		close(hold[1]);
		crash_child(t.path, fds[1], hold[0]);
	}
	close(fds[1]);
	close(hold[0]);
	while (nacked < CRASH_KILL_AT) {
		ssize_t r = read(fds[0], &acked[nacked], sizeof(acked[0]));

		if (r != (ssize_t)sizeof(acked[0]))
			break;
		nacked++;
	}
	CU_ASSERT_EQUAL(kill(pid, SIGKILL), 0);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(hold[1]);
	/* Ids acknowledged between our last read and the kill count too. */
	while (nacked < CRASH_EVENTS &&
	       read(fds[0], &acked[nacked], sizeof(acked[0])) == (ssize_t)sizeof(acked[0]))
		nacked++;
	close(fds[0]);
	CU_ASSERT(nacked >= CRASH_KILL_AT && nacked <= CRASH_HOLD_AT + 1); /* really mid-loop */

	CU_ASSERT_EQUAL_FATAL(jitrd_journal_open(t.path, NULL, &j, &diag), JITRD_OK);
	struct jitrd_journal_counts before = counts_of(j);
	CU_ASSERT(before.in_progress > 0);
	CU_ASSERT(before.pending + before.in_progress >= nacked);
	CU_ASSERT_EQUAL(jitrd_journal_recover(j, 99999, &recovered, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(recovered, before.in_progress);
	struct jitrd_journal_counts after = counts_of(j);
	CU_ASSERT_EQUAL(after.in_progress, 0);
	CU_ASSERT_EQUAL(after.pending, before.pending + before.in_progress);

	/* Every acknowledged event is there and claimable again. */
	unsigned char *present = calloc(CRASH_EVENTS * 2, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(present);
	size_t total = 0;
	for (;;) {
		CU_ASSERT_EQUAL_FATAL(jitrd_journal_claim(j, 99999, 100, &ev, &n, NULL), JITRD_OK);
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++)
			if (ev[i].id > 0 && ev[i].id < CRASH_EVENTS * 2)
				present[ev[i].id] = 1;
		total += n;
		jitrd_journal_events_free(ev, n);
	}
	CU_ASSERT_EQUAL(total, after.pending);
	size_t missing = 0;
	for (size_t i = 0; i < nacked; i++)
		if (acked[i] <= 0 || acked[i] >= CRASH_EVENTS * 2 || !present[acked[i]])
			missing++;
	CU_ASSERT_EQUAL(missing, 0);
	printf("\n    crash: %zu acknowledged, %llu in progress at the kill, %zu recovered\n",
	       nacked, (unsigned long long)before.in_progress, recovered);
	free(present);
	free(acked);
	jitrd_journal_close(j);
	remove_dir(&t);
}

static void test_prune(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 1);
	int64_t ids[4];
	size_t n = 99;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL_FATAL(
		    jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "e", 1, NULL, 10, &ids[i], NULL),
		    JITRD_OK);
	CU_ASSERT_EQUAL(complete(j, ids[0], JITRD_DECISION_ACTIVATE, NULL, NULL, 100, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(complete(j, ids[1], JITRD_DECISION_REVOKE, NULL, NULL, 200, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_journal_retry_later(j, ids[2], 0, "x", 50, NULL, NULL), JITRD_OK);
	/* ids[3] stays pending. */
	CU_ASSERT_EQUAL(jitrd_journal_prune(j, 150, &n, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(jitrd_journal_prune(j, 150, &n, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(jitrd_journal_prune(j, INT64_MAX, NULL, NULL), JITRD_OK);
	struct jitrd_journal_counts c = counts_of(j);
	CU_ASSERT(c.done == 0 && c.failed == 1 && c.pending == 1 && c.in_progress == 0);
	/* Ids are never reused after a prune (the audit trail names events by id). */
	int64_t next = UNTOUCHED_ID;
	CU_ASSERT_EQUAL(jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "e", 1, NULL, 10, &next, NULL),
	                JITRD_OK);
	CU_ASSERT(next > ids[3]);
	jitrd_journal_close(j);
	remove_dir(&t);
}

/* Coalescing: a certificate's row is open while pending or in progress, and only its own. */
static void test_open_row(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 0);
	struct jitrd_journal_event *ev = NULL;
	int64_t id;
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "e", 1, CERT_A, 1, &id, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(repeat_of(j, CERT_A, NULL, 1, NULL), JITRD_JOURNAL_OPEN);
	CU_ASSERT_EQUAL(jitrd_journal_claim(j, 1, 1, &ev, &n, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(n, 1);
	jitrd_journal_events_free(ev, n);
	CU_ASSERT_EQUAL(repeat_of(j, CERT_A, NULL, 1, NULL), JITRD_JOURNAL_OPEN); /* in progress */
	CU_ASSERT_EQUAL(repeat_of(j, CERT_B, NULL, 1, NULL), JITRD_JOURNAL_RECORDED);
	CU_ASSERT_EQUAL(complete(j, id, JITRD_DECISION_ACTIVATE, NULL, "ACTIVE", 2, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(repeat_of(j, CERT_A, NULL, 3, NULL), JITRD_JOURNAL_RECORDED);
	CU_ASSERT_EQUAL(counts_of(j).pending, 2); /* CERT_B's and CERT_A's new one */
	jitrd_journal_close(j);
	remove_dir(&t);
}

/* The arrival of a repeat of cert's event that joins its open row (JOIN_OPEN, reason), with
 * no key and no inventory lookup; *id written when recorded. */
static enum jitrd_err join(struct jitrd_journal *j, const char *payload, const char *cert,
                           const char *reason, int64_t now_ms, int64_t *id)
{
	struct jitrd_journal_arrival a = {0};
	enum jitrd_journal_intake_result got = JITRD_JOURNAL_OPEN;
	enum jitrd_err err;

	a.source = JITRD_JOURNAL_MQTT;
	a.payload = payload;
	a.len = strlen(payload);
	a.certificate_id = cert;
	a.when_open = JITRD_JOURNAL_JOIN_OPEN;
	a.join_reason = reason;
	a.now_ms = now_ms;
	err = jitrd_journal_intake(j, &a, &got, id, NULL, NULL);
	if (err == JITRD_OK)
		CU_ASSERT_EQUAL(got, JITRD_JOURNAL_JOINED);
	return err;
}

/* A repeat joining an open row is born done: no claim ever hands it to a worker, the open row
 * stays the only pending one, and the joined row carries its skip and reason. */
static void test_record_joined(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 0);
	struct jitrd_journal_event *ev = NULL;
	struct jitrd_journal_counts counts;
	char *over = malloc(JITRD_JOURNAL_TEXT_MAX + 2);
	int64_t open_id, joined_id = 0;
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_PTR_NOT_NULL_FATAL(over);
	CU_ASSERT_EQUAL(
	    jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "e", 1, CERT_A, 1, &open_id, NULL),
	    JITRD_OK);
	CU_ASSERT_EQUAL(join(j, "e2", CERT_A, "joined", 2, &joined_id), JITRD_OK);
	CU_ASSERT(joined_id > open_id);
	CU_ASSERT_EQUAL(jitrd_journal_counts(j, &counts, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(counts.pending, 1);
	CU_ASSERT_EQUAL(counts.done, 1);
	CU_ASSERT_EQUAL(jitrd_journal_claim(j, 100, 10, &ev, &n, NULL), JITRD_OK);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(ev[0].id, open_id);
	jitrd_journal_events_free(ev, n);
	/* done already: a worker's completion of it is refused */
	CU_ASSERT_EQUAL(complete(j, joined_id, JITRD_DECISION_SKIP, "again", "", 3, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(sql_int(t.path,
	                        "SELECT count(*) FROM events WHERE id = 2 AND state = 'done'"
	                        " AND decision = 'skip' AND reason = 'joined'"
	                        " AND finished_ms = 2"),
	                1);
	/* a join needs a bounded reason, and nothing is recorded without one */
	memset(over, 'r', JITRD_JOURNAL_TEXT_MAX + 1);
	over[JITRD_JOURNAL_TEXT_MAX + 1] = '\0';
	joined_id = UNTOUCHED_ID;
	CU_ASSERT_EQUAL(join(j, "e", CERT_A, over, 4, &joined_id), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(join(j, "e", CERT_A, NULL, 4, &joined_id), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(joined_id, UNTOUCHED_ID);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM events"), 2);
	free(over);
	jitrd_journal_close(j);
	remove_dir(&t);
}

/* --- inventory --- */

static struct jitrd_journal_cert make_cert(const char *id, const char *ca, const char *status)
{
	struct jitrd_journal_cert c;

	memset(&c, 0, sizeof(c));
	snprintf(c.certificate_id, sizeof(c.certificate_id), "%s", id);
	snprintf(c.ca_id, sizeof(c.ca_id), "%s", ca);
	snprintf(c.serial_hex, sizeof(c.serial_hex), "0A1B");
	snprintf(c.issuer, sizeof(c.issuer), "CN=Test CA,O=jitrd");
	snprintf(c.subject_cn, sizeof(c.subject_cn), "device-'; DROP TABLE certificates; --");
	snprintf(c.status, sizeof(c.status), "%s", status);
	snprintf(c.last_decision, sizeof(c.last_decision), "activate");
	c.updated_ms = 42;
	return c;
}

struct collect {
	struct jitrd_journal *j; /* non-NULL: upsert each row from the callback */
	int seen;
	int stop_after;
	char last[JITRD_JOURNAL_ID_MAX + 1];
	int out_of_order;
};

static int collect_cb(const struct jitrd_journal_cert *c, void *ctx)
{
	struct collect *col = ctx;

	if (strcmp(c->certificate_id, col->last) <= 0)
		col->out_of_order++;
	memcpy(col->last, c->certificate_id, sizeof(col->last));
	col->seen++;
	if (col->j) {
		struct jitrd_journal_cert copy = *c;

		snprintf(copy.status, sizeof(copy.status), "REVOKED");
		if (jitrd_journal_cert_upsert(col->j, &copy, NULL) != JITRD_OK)
			return 1;
	}
	return col->stop_after && col->seen >= col->stop_after;
}

/* The events of one certificate, read only, oldest first: a retried one with its attempts,
 * a finished one with its decision, another certificate's left out, max honoured. */
struct history {
	struct jitrd_journal_history h[4];
	size_t n;
};

static int collect_history(const struct jitrd_journal_history *h, void *ctx)
{
	struct history *x = ctx;

	if (x->n == sizeof(x->h) / sizeof(x->h[0]))
		return 1;
	x->h[x->n++] = *h;
	return 0;
}

static void test_cert_events(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 0);
	struct history x = {0};
	int64_t ids[3] = {0}, id1, id3;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	/* CERT_A by MQTT, CERT_B, CERT_A again by `handle`: ids[0..2] */
	for (size_t i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(
		    jitrd_journal_record(j, i == 2 ? JITRD_JOURNAL_HANDLE : JITRD_JOURNAL_MQTT,
		                         "{}", 2, i == 1 ? CERT_B : CERT_A, 1000 + 500 * (int64_t)i,
		                         &ids[i], NULL),
		    JITRD_OK);
	id1 = ids[0];
	id3 = ids[2];
	CU_ASSERT_EQUAL(jitrd_journal_retry_later(j, id1, 3000, "throttled", 2500, NULL, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(
	    complete(j, id3, JITRD_DECISION_REVOKE, "on the CRL", "REVOKED", 4000, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_journal_cert_events(j, CERT_A, 10, collect_history, &x, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL_FATAL(x.n, 2);
	CU_ASSERT_EQUAL(x.h[0].id, id1);
	CU_ASSERT_EQUAL(x.h[0].received_ms, 1000);
	CU_ASSERT_STRING_EQUAL(x.h[0].source, "mqtt");
	CU_ASSERT_STRING_EQUAL(x.h[0].state, "pending");
	CU_ASSERT_EQUAL(x.h[0].attempts, 1);
	CU_ASSERT_STRING_EQUAL(x.h[0].decision, "");
	CU_ASSERT_STRING_EQUAL(x.h[0].reason, "throttled");
	CU_ASSERT_EQUAL(x.h[0].finished_ms, 0);
	CU_ASSERT_EQUAL(x.h[1].id, id3);
	CU_ASSERT_STRING_EQUAL(x.h[1].source, "handle");
	CU_ASSERT_STRING_EQUAL(x.h[1].state, "done");
	CU_ASSERT_STRING_EQUAL(x.h[1].decision, "revoke");
	CU_ASSERT_STRING_EQUAL(x.h[1].reason, "on the CRL");
	CU_ASSERT_STRING_EQUAL(x.h[1].status, "REVOKED");
	CU_ASSERT_EQUAL(x.h[1].finished_ms, 4000);

	x.n = 0;
	CU_ASSERT_EQUAL(jitrd_journal_cert_events(j, CERT_A, 1, collect_history, &x, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(x.n, 1);
	x.n = 0;
	CU_ASSERT_EQUAL(jitrd_journal_cert_events(j, CA_1, 10, collect_history, &x, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(x.n, 0);
	CU_ASSERT_EQUAL(jitrd_journal_cert_events(j, CERT_A, 0, collect_history, &x, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_journal_cert_events(j, NULL, 10, collect_history, &x, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_journal_cert_events(j, CERT_A, 10, NULL, &x, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_journal_cert_events(NULL, CERT_A, 10, collect_history, &x, NULL),
	                JITRD_ERR_INVALID_ARG);
	jitrd_journal_close(j);
	remove_dir(&t);
}

static void test_inventory(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 0);
	struct jitrd_journal_cert c, got;
	struct collect col;
	bool found = true;
	char id[80];

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	c = make_cert(CERT_A, CA_1, "ACTIVE");
	CU_ASSERT_EQUAL(jitrd_journal_cert_upsert(j, &c, NULL), JITRD_OK);
	memset(&got, 0x5a, sizeof(got));
	CU_ASSERT_EQUAL(jitrd_journal_cert_get(j, CERT_A, &got, &found, NULL), JITRD_OK);
	CU_ASSERT(found);
	CU_ASSERT_EQUAL(memcmp(&got, &c, sizeof(c)), 0);

	/* Upsert replaces. */
	c = make_cert(CERT_A, CA_1, "REVOKED");
	snprintf(c.last_decision, sizeof(c.last_decision), "revoke");
	c.updated_ms = 43;
	CU_ASSERT_EQUAL(jitrd_journal_cert_upsert(j, &c, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_journal_cert_get(j, CERT_A, &got, &found, NULL), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(got.status, "REVOKED");
	CU_ASSERT_STRING_EQUAL(got.last_decision, "revoke");
	CU_ASSERT_EQUAL(got.updated_ms, 43);

	/* Unknown: found = false and the output untouched. */
	memset(&got, 0x5a, sizeof(got));
	CU_ASSERT_EQUAL(jitrd_journal_cert_get(j, CERT_B, &got, &found, NULL), JITRD_OK);
	CU_ASSERT_FALSE(found);
	CU_ASSERT_EQUAL((unsigned char)got.status[0], 0x5a);

	/* Unterminated or empty strings are refused. */
	c = make_cert(CERT_B, CA_1, "ACTIVE");
	memset(c.status, 'X', sizeof(c.status));
	CU_ASSERT_EQUAL(jitrd_journal_cert_upsert(j, &c, NULL), JITRD_ERR_INVALID_ARG);
	c = make_cert("", CA_1, "ACTIVE");
	CU_ASSERT_EQUAL(jitrd_journal_cert_upsert(j, &c, NULL), JITRD_ERR_INVALID_ARG);

	/* 150 certificates of CA_1 (crossing pages), 100 ACTIVE; 5 of CA_2. */
	for (int i = 0; i < 150; i++) {
		snprintf(id, sizeof(id), "%064d", i);
		c = make_cert(id, CA_1, i % 3 == 2 ? "INACTIVE" : "ACTIVE");
		CU_ASSERT_EQUAL(jitrd_journal_cert_upsert(j, &c, NULL), JITRD_OK);
	}
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "c%063d", i);
		c = make_cert(id, CA_2, "ACTIVE");
		CU_ASSERT_EQUAL(jitrd_journal_cert_upsert(j, &c, NULL), JITRD_OK);
	}
	memset(&col, 0, sizeof(col));
	CU_ASSERT_EQUAL(jitrd_journal_cert_iterate(j, CA_1, "ACTIVE", collect_cb, &col, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(col.seen, 100);
	CU_ASSERT_EQUAL(col.out_of_order, 0);
	memset(&col, 0, sizeof(col));
	CU_ASSERT_EQUAL(jitrd_journal_cert_iterate(j, CA_1, NULL, collect_cb, &col, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(col.seen, 151); /* with CERT_A */
	memset(&col, 0, sizeof(col));
	col.stop_after = 3;
	CU_ASSERT_EQUAL(jitrd_journal_cert_iterate(j, CA_2, NULL, collect_cb, &col, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(col.seen, 3);
	memset(&col, 0, sizeof(col));
	CU_ASSERT_EQUAL(jitrd_journal_cert_iterate(j, "no-such-ca", NULL, collect_cb, &col, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(col.seen, 0);

	/* The callback may write to the journal: revoke every ACTIVE one of CA_1 as we go. */
	memset(&col, 0, sizeof(col));
	col.j = j;
	CU_ASSERT_EQUAL(jitrd_journal_cert_iterate(j, CA_1, "ACTIVE", collect_cb, &col, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(col.seen, 100);
	memset(&col, 0, sizeof(col));
	CU_ASSERT_EQUAL(jitrd_journal_cert_iterate(j, CA_1, "ACTIVE", collect_cb, &col, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(col.seen, 0);
	CU_ASSERT_EQUAL(jitrd_journal_cert_iterate(j, CA_1, NULL, NULL, &col, NULL),
	                JITRD_ERR_INVALID_ARG);
	jitrd_journal_close(j);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM certificates"), 156);
	remove_dir(&t);
}

static void test_progress_markers(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 0);
	bool resumed = true, done = false;
	const char *job = "ca-deactivate:" CA_1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(jitrd_journal_job_start(j, job, "revoke all of CA 1", 1, &resumed, NULL),
	                JITRD_OK);
	CU_ASSERT_FALSE(resumed);
	CU_ASSERT_EQUAL(jitrd_journal_item_done(j, job, CERT_A, 2, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_journal_item_done(j, job, CERT_A, 3, NULL), JITRD_OK); /* again */
	CU_ASSERT_EQUAL(jitrd_journal_item_is_done(j, job, CERT_A, &done, NULL), JITRD_OK);
	CU_ASSERT(done);
	CU_ASSERT_EQUAL(jitrd_journal_item_is_done(j, job, CERT_B, &done, NULL), JITRD_OK);
	CU_ASSERT_FALSE(done);
	CU_ASSERT_EQUAL(jitrd_journal_item_is_done(j, "other", CERT_A, &done, NULL), JITRD_OK);
	CU_ASSERT_FALSE(done);

	/* After a restart, starting the same job resumes it with its markers. */
	jitrd_journal_close(j);
	j = NULL;
	CU_ASSERT_EQUAL_FATAL(jitrd_journal_open(t.path, NULL, &j, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_journal_job_start(j, job, "again", 4, &resumed, NULL), JITRD_OK);
	CU_ASSERT(resumed);
	CU_ASSERT_EQUAL(jitrd_journal_item_is_done(j, job, CERT_A, &done, NULL), JITRD_OK);
	CU_ASSERT(done);

	CU_ASSERT_EQUAL(jitrd_journal_job_finish(j, job, 5, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_journal_item_is_done(j, job, CERT_A, &done, NULL), JITRD_OK);
	CU_ASSERT_FALSE(done);
	CU_ASSERT_EQUAL(jitrd_journal_job_finish(j, job, 6, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_journal_item_done(j, job, CERT_B, 6, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_journal_item_done(j, "never-started", CERT_B, 6, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_journal_job_start(j, "", NULL, 7, NULL, NULL), JITRD_ERR_INVALID_ARG);
	/* A finished job of the same id starts afresh. */
	resumed = true;
	CU_ASSERT_EQUAL(jitrd_journal_job_start(j, job, NULL, 8, &resumed, NULL), JITRD_OK);
	CU_ASSERT_FALSE(resumed);
	jitrd_journal_close(j);
	remove_dir(&t);
}

/* --- hostile payloads, table-driven --- */

struct payload_case {
	const char *name;
	const char *bytes; /* NULL: generated, len bytes of 'x' */
	size_t len;
	bool truncated;
};

static void test_hostile_payloads(void)
{
	static const struct payload_case cases[] = {
	    {"NUL bytes", "{\"a\":\0\"b\"}\0\0", 13, false},
	    {"empty", "", 0, false},
	    {"invalid UTF-8", "\xff\xfe\xc0\x80\xed\xa0\x80", 7, false},
	    {"SQL", "'); DROP TABLE events; --\"; SELECT * FROM x; /*", 47, false},
	    {"exactly 64 KiB", NULL, JITRD_JOURNAL_MAX_PAYLOAD, false},
	    {"64 KiB + 1", NULL, JITRD_JOURNAL_MAX_PAYLOAD + 1, true},
	    {"300 KB", NULL, 300000, true},
	};
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 0);
	char *big = malloc(300000);

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	for (size_t i = 0; i < 300000; i++)
		big[i] = (char)('a' + i % 26);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct payload_case *pc = &cases[k];
		const char *bytes = pc->bytes ? pc->bytes : big;
		size_t kept = pc->truncated ? JITRD_JOURNAL_MAX_PAYLOAD : pc->len;
		struct jitrd_journal_event *ev = NULL;
		int64_t id = UNTOUCHED_ID;
		size_t n = 0;

		CU_ASSERT_EQUAL(jitrd_journal_record(j, JITRD_JOURNAL_MQTT, bytes, pc->len, NULL,
		                                     (int64_t)k, &id, NULL),
		                JITRD_OK);
		CU_ASSERT_EQUAL_FATAL(jitrd_journal_claim(j, 1000, 1, &ev, &n, NULL), JITRD_OK);
		CU_ASSERT_EQUAL_FATAL(n, 1);
		if (ev[0].id != id || ev[0].payload_len != kept ||
		    ev[0].truncated != pc->truncated || memcmp(ev[0].payload, bytes, kept) != 0 ||
		    ev[0].payload[kept] != '\0') {
			fprintf(stderr, "\n    case %s: wrong copy\n", pc->name);
			CU_FAIL("payload copy");
		}
		jitrd_journal_events_free(ev, n);
	}
	/* A certificate id full of SQL metacharacters is only ever a value. */
	const char *evil = "x' OR '1'='1";
	int64_t id;
	CU_ASSERT_EQUAL(jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "e", 1, evil, 1, &id, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(repeat_of(j, evil, NULL, 2, NULL), JITRD_JOURNAL_OPEN);
	CU_ASSERT_EQUAL(repeat_of(j, "x' OR '1'='2", NULL, 2, NULL), JITRD_JOURNAL_RECORDED);
	free(big);
	jitrd_journal_close(j);
	/* The table is intact, and the original size of the oversized ones is on record. */
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM events"), 9);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT payload_len FROM events WHERE truncated = 1"
	                                " ORDER BY id DESC LIMIT 1"),
	                300000);
	remove_dir(&t);
}

/* --- files that are not a journal --- */

static void write_file(const char *path, const void *bytes, size_t len)
{
	FILE *f = fopen(path, "wb");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(bytes, 1, len, f), len);
	CU_ASSERT_EQUAL(fclose(f), 0);
}

static void sql_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	CU_ASSERT_EQUAL(sqlite3_open(path, &db), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_bad_files(void)
{
	struct tmp_journal t;
	struct jitrd_journal *sentinel = (struct jitrd_journal *)&t;
	struct jitrd_journal *j = sentinel;
	struct jitrd_diag diag = {""};
	unsigned char garbage[8192];

	CU_ASSERT_EQUAL_FATAL(make_dir(&t), 0);
	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (unsigned char)(i * 7 + 3);

	/* Random bytes. */
	write_file(t.path, garbage, sizeof(garbage));
	CU_ASSERT_EQUAL(jitrd_journal_open(t.path, NULL, &j, &diag), JITRD_ERR_MALFORMED);
	CU_ASSERT_PTR_EQUAL(j, sentinel);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, t.path));
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "not a database"));
	fprintf(stderr, "\n    garbage: %s\n", diag.text);

	/* An SQLite header followed by garbage. */
	memcpy(garbage, "SQLite format 3", 16);
	write_file(t.path, garbage, sizeof(garbage));
	diag.text[0] = '\0';
	CU_ASSERT_EQUAL(jitrd_journal_open(t.path, NULL, &j, &diag), JITRD_ERR_MALFORMED);
	CU_ASSERT_PTR_EQUAL(j, sentinel);
	CU_ASSERT_NOT_EQUAL(diag.text[0], '\0');
	fprintf(stderr, "    bad header: %s\n", diag.text);

	/* Someone else's database. */
	unlink(t.path);
	sql_exec(t.path, "CREATE TABLE people (name TEXT)");
	CU_ASSERT_EQUAL(jitrd_journal_open(t.path, NULL, &j, &diag), JITRD_ERR_MALFORMED);
	CU_ASSERT_PTR_EQUAL(j, sentinel);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "not a jitrd journal"));

	/* A journal written by a newer jitrd. */
	unlink(t.path);
	sql_exec(t.path, "CREATE TABLE events (id INTEGER); PRAGMA user_version = 99");
	CU_ASSERT_EQUAL(jitrd_journal_open(t.path, NULL, &j, &diag), JITRD_ERR_CONFIG);
	CU_ASSERT_PTR_EQUAL(j, sentinel);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "version 99 is newer"));
	fprintf(stderr, "    newer: %s\n", diag.text);

	/* A directory where the file should be. */
	unlink(t.path);
	CU_ASSERT_EQUAL_FATAL(mkdir(t.path, 0700), 0);
	CU_ASSERT_EQUAL(jitrd_journal_open(t.path, NULL, &j, &diag), JITRD_ERR_IO);
	CU_ASSERT_PTR_EQUAL(j, sentinel);
	CU_ASSERT_EQUAL(rmdir(t.path), 0);
	remove_dir(&t);
}

/* Opens a journal in dir as it is; exit code = the jitrd_err, diag on stderr. */
static int open_in(const char *dir)
{
	struct jitrd_journal *j = NULL;
	struct jitrd_diag diag = {""};
	char path[160];
	enum jitrd_err err;

	snprintf(path, sizeof(path), "%s/journal.db", dir);
	err = jitrd_journal_open(path, NULL, &j, &diag);
	if (err != JITRD_OK)
		fprintf(stderr, "    read-only dir: %s (%s)\n", diag.text, jitrd_strerror(err));
	if (err == JITRD_OK && j != NULL)
		jitrd_journal_close(j);
	if (err != JITRD_OK && (j != NULL || strstr(diag.text, dir) == NULL))
		return 100; /* output written on error, or a message without the path */
	return (int)err;
}

static void test_read_only_directory(void)
{
	struct tmp_journal t;
	int status = 0;
	pid_t pid;

	CU_ASSERT_EQUAL_FATAL(make_dir(&t), 0);
	CU_ASSERT_EQUAL_FATAL(chmod(t.dir, 0555), 0);
	/* root ignores directory permissions, so the attempt runs as nobody in a child. */
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(101);
		_exit(open_in(t.dir));
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), JITRD_ERR_IO);
	CU_ASSERT_EQUAL(chmod(t.dir, 0700), 0);
	remove_dir(&t);
}

/* --- allocation failures: SQLite's allocator fails after n allocations --- */

static sqlite3_mem_methods real_mem;
static long alloc_budget = -1; /* < 0: unlimited */

static void *failing_malloc(int n)
{
	if (alloc_budget == 0)
		return NULL;
	if (alloc_budget > 0)
		alloc_budget--;
	return real_mem.xMalloc(n);
}

static void *failing_realloc(void *p, int n)
{
	if (alloc_budget == 0)
		return NULL;
	if (alloc_budget > 0)
		alloc_budget--;
	return real_mem.xRealloc(p, n);
}

/* One pass of open, record, claim, complete, counts with the budget; returns the first error
 * (outputs of the failing call checked untouched), JITRD_OK when all passed. */
static enum jitrd_err alloc_pass(const char *path)
{
	struct jitrd_journal *sentinel = (struct jitrd_journal *)&real_mem;
	struct jitrd_journal *j = sentinel;
	struct jitrd_journal_event *ev = (struct jitrd_journal_event *)&real_mem;
	struct jitrd_journal_counts c = {7, 7, 7, 7};
	enum jitrd_err err;
	int64_t id = UNTOUCHED_ID;
	size_t n = 99;

	err = jitrd_journal_open(path, NULL, &j, NULL);
	if (err != JITRD_OK) {
		CU_ASSERT_PTR_EQUAL(j, sentinel);
		return err;
	}
	err = jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "{}", 2, CERT_A, 1, &id, NULL);
	if (err != JITRD_OK) {
		CU_ASSERT_EQUAL(id, UNTOUCHED_ID);
		goto done;
	}
	err = jitrd_journal_claim(j, 1, 4, &ev, &n, NULL);
	if (err != JITRD_OK) {
		CU_ASSERT_PTR_EQUAL(ev, (struct jitrd_journal_event *)&real_mem);
		CU_ASSERT_EQUAL(n, 99);
		goto done;
	}
	jitrd_journal_events_free(ev, n);
	err = complete(j, id, JITRD_DECISION_ACTIVATE, NULL, "ACTIVE", 2, NULL);
	if (err != JITRD_OK)
		goto done;
	err = jitrd_journal_counts(j, &c, NULL);
	if (err != JITRD_OK)
		CU_ASSERT_EQUAL(c.pending, 7);
done:
	jitrd_journal_close(j);
	return err;
}

static void test_allocation_failures(void)
{
	sqlite3_mem_methods failing;
	struct tmp_journal t;
	enum jitrd_err err = JITRD_ERR_NOMEM;
	long budget;
	int failures = 0, odd = 0;

	CU_ASSERT_EQUAL_FATAL(make_dir(&t), 0);
	/* The allocator can only be replaced while SQLite is shut down. */
	CU_ASSERT_EQUAL_FATAL(sqlite3_shutdown(), SQLITE_OK);
	CU_ASSERT_EQUAL_FATAL(sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_mem), SQLITE_OK);
	failing = real_mem;
	failing.xMalloc = failing_malloc;
	failing.xRealloc = failing_realloc;
	CU_ASSERT_EQUAL_FATAL(sqlite3_config(SQLITE_CONFIG_MALLOC, &failing), SQLITE_OK);
	for (budget = 0; budget < 5000 && err != JITRD_OK; budget++) {
		alloc_budget = -1;
		if (sqlite3_initialize() != SQLITE_OK)
			break;
		alloc_budget = budget;
		err = alloc_pass(t.path);
		alloc_budget = -1;
		if (err != JITRD_OK) {
			failures++;
			/* Out of memory is reported as such, or as an I/O error when SQLite met it
			 * while reading or writing; never as anything else. */
			if (err != JITRD_ERR_NOMEM && err != JITRD_ERR_IO)
				odd++;
		}
	}
	alloc_budget = -1;
	CU_ASSERT_EQUAL(sqlite3_shutdown(), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_config(SQLITE_CONFIG_MALLOC, &real_mem), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_initialize(), SQLITE_OK);
	CU_ASSERT_EQUAL(err, JITRD_OK); /* with enough memory it all works */
	CU_ASSERT(failures > 10);
	CU_ASSERT_EQUAL(odd, 0);
	printf("\n    %d failing allocation points passed through cleanly\n", failures);
	remove_dir(&t);
}

/* Figure only; the assertions check that every record landed. */
static void test_record_rate(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 0);
	static const char payload[] =
	    "{\"timestamp\":1700000000000,\"awsAccountId\":\"123456789012\",\"certificateId\":"
	    "\"" CERT_A "\",\"caCertificateId\":\"" CA_1 "\",\"certificateStatus\":"
	    "\"PENDING_ACTIVATION\",\"certificateRegistrationTimestamp\":\"1700000000000\"}";
	struct timespec t0, t1;
	const int count = 20000;
	int ok = 0;
	int64_t id;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < count; i++)
		ok += jitrd_journal_record(j, JITRD_JOURNAL_MQTT, payload, sizeof(payload) - 1,
		                           CERT_A, i, &id, NULL) == JITRD_OK;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("\n    record(): %d events of %zu bytes in %.3f s = %.0f records/s "
	       "(one thread, synchronous=NORMAL)\n",
	       count, sizeof(payload) - 1, secs, secs > 0 ? count / secs : 0.0);
	CU_ASSERT_EQUAL(ok, count);
	CU_ASSERT_EQUAL(counts_of(j).pending, (uint64_t)count);
	jitrd_journal_close(j);
	remove_dir(&t);
}

/* --- file modes, remembered decisions, bounded pruning, progress --- */

static unsigned mode_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return 01000000; /* no such file: never a mode */
	return (unsigned)(st.st_mode & 07777);
}

/* The journal holds the fleet's inventory: its files are 0600 and its directory 0700 whatever
 * the umask, and existing wider ones are narrowed. */
static void test_file_modes(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = NULL;
	struct jitrd_diag diag = {""};
	char side[160], sub[160], link_path[160], file_path[160];
	bool narrowed = false;
	mode_t old = umask(0);
	int fd;

	CU_ASSERT_EQUAL_FATAL(make_dir(&t), 0);
	/* an existing database file left 0666 by someone */
	fd = open(t.path, O_CREAT | O_WRONLY, 0666);
	CU_ASSERT(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(mode_of(t.path), 0666);
	CU_ASSERT_EQUAL(jitrd_journal_open(t.path, NULL, &j, &diag), JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(mode_of(t.path), 0600);
	snprintf(side, sizeof(side), "%s-wal", t.path);
	CU_ASSERT_EQUAL(mode_of(side), 0600);
	snprintf(side, sizeof(side), "%s-shm", t.path);
	CU_ASSERT_EQUAL(mode_of(side), 0600);
	jitrd_journal_close(j);
	remove_dir(&t);

	/* a fresh database under umask 0 */
	CU_ASSERT_EQUAL_FATAL(make_dir(&t), 0);
	j = NULL;
	CU_ASSERT_EQUAL(jitrd_journal_open(t.path, NULL, &j, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(mode_of(t.path), 0600);
	snprintf(side, sizeof(side), "%s-wal", t.path);
	CU_ASSERT_EQUAL(mode_of(side), 0600);
	jitrd_journal_close(j);

	/* the state directory: created 0700 under umask 0; an existing 0755 one narrowed */
	snprintf(sub, sizeof(sub), "%s/state", t.dir);
	CU_ASSERT_EQUAL(jitrd_private_dir(sub, &narrowed, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(mode_of(sub), 0700);
	CU_ASSERT_FALSE(narrowed);
	CU_ASSERT_EQUAL(chmod(sub, 0755), 0);
	CU_ASSERT_EQUAL(jitrd_private_dir(sub, &narrowed, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(mode_of(sub), 0700);
	CU_ASSERT_TRUE(narrowed);
	/* a symlink in its place, or a file, is refused */
	snprintf(link_path, sizeof(link_path), "%s/link", t.dir);
	CU_ASSERT_EQUAL(symlink(sub, link_path), 0);
	diag.text[0] = '\0';
	CU_ASSERT_EQUAL(jitrd_private_dir(link_path, NULL, &diag), JITRD_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "not a directory"));
	snprintf(file_path, sizeof(file_path), "%s/file", t.dir);
	fd = open(file_path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	CU_ASSERT_EQUAL(jitrd_private_dir(file_path, NULL, &diag), JITRD_ERR_IO);
	/* a symlink where the database should be is refused, not followed */
	CU_ASSERT_EQUAL(unlink(link_path), 0);
	CU_ASSERT_EQUAL(symlink(file_path, link_path), 0);
	j = NULL;
	CU_ASSERT_EQUAL(jitrd_journal_open(link_path, NULL, &j, &diag), JITRD_ERR_IO);
	CU_ASSERT_PTR_NULL(j);
	unlink(link_path);
	unlink(file_path);
	rmdir(sub);
	remove_dir(&t);
	umask(old);
}

/* Remembered decisions, written by finish and answering intake's repeats: CERT_A and CERT_B
 * keep an open row each, so a repeat that no memory answers records nothing either. */
static void test_remember_and_recall(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 0);
	struct jitrd_journal_memory m;
	struct jitrd_diag diag = {""};
	int64_t id[6];
	size_t n = 99;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	for (size_t i = 0; i < sizeof(id) / sizeof(id[0]); i++)
		CU_ASSERT_EQUAL_FATAL(jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "e", 1,
		                                           i % 2 ? CERT_B : CERT_A, 1, &id[i],
		                                           NULL),
		                      JITRD_OK);
	CU_ASSERT_EQUAL(repeat_of(j, CERT_A, "k", 100, &m), JITRD_JOURNAL_OPEN);
	CU_ASSERT_EQUAL(remember(j, id[0], CERT_A, "k", JITRD_DECISION_REJECT,
	                         "certificate expired", "PENDING_ACTIVATION", 100, 1000, NULL),
	                JITRD_OK);
	memset(&m, 0x55, sizeof(m));
	CU_ASSERT_EQUAL(repeat_of(j, CERT_A, "k", 500, &m), JITRD_JOURNAL_REMEMBERED);
	CU_ASSERT_STRING_EQUAL(m.decision, "reject");
	CU_ASSERT_STRING_EQUAL(m.reason, "certificate expired");
	CU_ASSERT_STRING_EQUAL(m.status, "PENDING_ACTIVATION");
	CU_ASSERT_EQUAL(m.decided_ms, 100);
	CU_ASSERT_EQUAL(m.until_ms, 1000);
	CU_ASSERT_EQUAL(m.repeats, 1);
	CU_ASSERT_EQUAL(repeat_of(j, CERT_A, "k", 999, &m), JITRD_JOURNAL_REMEMBERED);
	CU_ASSERT_EQUAL(m.repeats, 2);
	/* another event key (a forged CA or account): not answered from memory */
	CU_ASSERT_EQUAL(repeat_of(j, CERT_A, "other", 600, &m), JITRD_JOURNAL_OPEN);
	CU_ASSERT_EQUAL(m.repeats, 2);
	/* expired: not answered, output untouched */
	memset(&m, 0x55, sizeof(m));
	CU_ASSERT_EQUAL(repeat_of(j, CERT_A, "k", 1000, &m), JITRD_JOURNAL_OPEN);
	CU_ASSERT_EQUAL(m.repeats, 0x5555555555555555ULL);
	CU_ASSERT_EQUAL(repeat_of(j, CERT_B, "k", 500, &m), JITRD_JOURNAL_OPEN);
	/* remembering again replaces and restarts the count */
	CU_ASSERT_EQUAL(
	    remember(j, id[2], CERT_A, "k", JITRD_DECISION_IGNORE, NULL, NULL, 2000, 3000, NULL),
	    JITRD_OK);
	CU_ASSERT_EQUAL(repeat_of(j, CERT_A, "k", 2500, &m), JITRD_JOURNAL_REMEMBERED);
	CU_ASSERT_STRING_EQUAL(m.decision, "ignore");
	CU_ASSERT_STRING_EQUAL(m.reason, "");
	CU_ASSERT_EQUAL(m.repeats, 1);
	CU_ASSERT_EQUAL(
	    remember(j, id[1], CERT_B, "k", JITRD_DECISION_REJECT, "x", NULL, 2000, 3000, NULL),
	    JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_journal_forget_all(j, &n, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(repeat_of(j, CERT_A, "k", 2500, &m), JITRD_JOURNAL_OPEN);
	/* invalid arguments: refused whole, the event still open and nothing remembered */
	CU_ASSERT_EQUAL(remember(j, id[3], "", "k", JITRD_DECISION_REJECT, NULL, NULL, 1, 2, &diag),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(
	    remember(j, id[3], NULL, "k", JITRD_DECISION_REJECT, NULL, NULL, 1, 2, NULL),
	    JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(
	    remember(j, id[3], CERT_B, "k", JITRD_DECISION_COUNT, NULL, NULL, 1, 2, NULL),
	    JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(remember(j, id[3], CERT_B, "k", JITRD_DECISION_REJECT, NULL,
	                         "this-status-word-is-far-too-long-x", 1, 2, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM remembered"), 0);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM events WHERE state = 'pending'"), 3);
	CU_ASSERT_EQUAL(jitrd_journal_forget_all(NULL, NULL, NULL), JITRD_ERR_INVALID_ARG);
	jitrd_journal_close(j);
	remove_dir(&t);
}

static void put_cert(struct jitrd_journal *j, const char *id, const char *status, int64_t when)
{
	struct jitrd_journal_cert c = {0};

	snprintf(c.certificate_id, sizeof(c.certificate_id), "%s", id);
	snprintf(c.ca_id, sizeof(c.ca_id), "%s", CA_1);
	snprintf(c.status, sizeof(c.status), "%s", status);
	snprintf(c.last_decision, sizeof(c.last_decision), "reject");
	c.updated_ms = when;
	CU_ASSERT_EQUAL(jitrd_journal_cert_upsert(j, &c, NULL), JITRD_OK);
}

/* prune_all: old done and failed events, the oldest beyond the cap, expired memories, stale
 * inventory of never-activated certificates; never an open event or an active certificate. */
/* The backlog gauge: events recorded and not final, counted at open, followed through record,
 * retry, failure and completion, and counted again by recover and prune_all (which see what
 * another connection did). */
static void test_backlog_gauge(void)
{
	struct tmp_journal t;
	struct jitrd_journal_options opts;
	struct jitrd_journal *j = NULL, *other = NULL;
	struct jitrd_journal_event *ev = NULL;
	struct jitrd_metrics *m = NULL;
	struct jitrd_metrics_snapshot *s = malloc(sizeof(*s));
	enum jitrd_journal_state state;
	int64_t id[3] = {0, 0, 0}, joined = 0, other_id = 0;
	size_t n = 0, recovered = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(jitrd_metrics_new(&m), JITRD_OK);
	CU_ASSERT_EQUAL_FATAL(make_dir(&t), 0);
	jitrd_journal_options_init(&opts);
	opts.max_attempts = 2;
	opts.metrics = m;
	CU_ASSERT_EQUAL_FATAL(jitrd_journal_open(t.path, &opts, &j, NULL), JITRD_OK);
#define BACKLOG() (jitrd_metrics_snapshot(m, s), s->journal_backlog)
	CU_ASSERT_EQUAL(BACKLOG(), 0);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(
		    jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "{}", 2, CERT_A, 10, &id[i], NULL),
		    JITRD_OK);
	CU_ASSERT_EQUAL(join(j, "{}", CERT_A, "repeat", 10, &joined), JITRD_OK);
	CU_ASSERT_EQUAL(BACKLOG(), 3); /* a joined skip is born final */
	CU_ASSERT_EQUAL(jitrd_journal_claim(j, 20, 3, &ev, &n, NULL), JITRD_OK);
	jitrd_journal_events_free(ev, n);
	CU_ASSERT_EQUAL(BACKLOG(), 3); /* in progress is still open */
	CU_ASSERT_EQUAL(complete(j, id[0], JITRD_DECISION_ACTIVATE, "ok", "ACTIVE", 30, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(BACKLOG(), 2);
	/* finished twice: refused, and not counted twice */
	CU_ASSERT_EQUAL(complete(j, id[0], JITRD_DECISION_ACTIVATE, "ok", "ACTIVE", 31, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(BACKLOG(), 2);
	CU_ASSERT_EQUAL(jitrd_journal_retry_later(j, id[1], 40, "throttled", 32, &state, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(state, JITRD_JOURNAL_PENDING);
	CU_ASSERT_EQUAL(BACKLOG(), 2);
	CU_ASSERT_EQUAL(jitrd_journal_retry_later(j, id[1], 50, "throttled", 41, &state, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(state, JITRD_JOURNAL_FAILED);
	CU_ASSERT_EQUAL(BACKLOG(), 1);
	/* a crash while id[2] is in progress, twice: recover fails it at max_attempts = 2 */
	CU_ASSERT_EQUAL(jitrd_journal_recover(j, 60, &recovered, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(BACKLOG(), 1);
	CU_ASSERT_EQUAL(jitrd_journal_claim(j, 70, 3, &ev, &n, NULL), JITRD_OK);
	jitrd_journal_events_free(ev, n);
	CU_ASSERT_EQUAL(jitrd_journal_recover(j, 80, &recovered, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(recovered, 1);
	CU_ASSERT_EQUAL(BACKLOG(), 0);
	/* another connection (another process) records one; prune_all takes it in */
	CU_ASSERT_EQUAL_FATAL(jitrd_journal_open(t.path, NULL, &other, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(
	    jitrd_journal_record(other, JITRD_JOURNAL_HANDLE, "{}", 2, CERT_A, 90, &other_id, NULL),
	    JITRD_OK);
	jitrd_journal_close(other);
	CU_ASSERT_EQUAL(BACKLOG(), 0);
	CU_ASSERT_EQUAL(jitrd_journal_prune_all(j, 0, 100, 1000, NULL, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(BACKLOG(), 1);
	jitrd_journal_close(j);
	/* and a journal opened on it starts from the table */
	jitrd_metrics_set_journal_backlog(m, 0);
	CU_ASSERT_EQUAL_FATAL(jitrd_journal_open(t.path, &opts, &j, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(BACKLOG(), 1);
#undef BACKLOG
	jitrd_journal_close(j);
	jitrd_metrics_free(m);
	free(s);
	remove_dir(&t);
}

static void test_prune_all(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 1);
	struct jitrd_journal_pruned p = {99, 99, 99};
	struct jitrd_journal_cert c;
	int64_t ids[10];
	bool found = false;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	for (int i = 0; i < 10; i++)
		CU_ASSERT_EQUAL_FATAL(
		    jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "e", 1, NULL, 10, &ids[i], NULL),
		    JITRD_OK);
	/* remembered until 400 (expired at 500) */
	CU_ASSERT_EQUAL(
	    remember(j, ids[0], CERT_A, "k", JITRD_DECISION_REJECT, NULL, NULL, 100, 400, NULL),
	    JITRD_OK);
	/* max_attempts 1: failed at once, finished at 120 */
	CU_ASSERT_EQUAL(jitrd_journal_retry_later(j, ids[1], 0, "x", 120, NULL, NULL), JITRD_OK);
	for (int i = 2; i < 7; i++)
		CU_ASSERT_EQUAL(complete(j, ids[i], JITRD_DECISION_IGNORE, NULL, NULL, 500, NULL),
		                JITRD_OK);
	CU_ASSERT_EQUAL(
	    remember(j, ids[7], CERT_B, "k", JITRD_DECISION_IGNORE, NULL, NULL, 500, 900, NULL),
	    JITRD_OK);
	/* ids[8], ids[9] stay pending */
	put_cert(j, CERT_A, "PENDING_ACTIVATION", 100);
	put_cert(j, CERT_B, "ACTIVE", 100);
	put_cert(j, CA_2, "PENDING_ACTIVATION", 300);

	CU_ASSERT_EQUAL(jitrd_journal_prune_all(j, 200, 500, 1000, &p, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(p.events, 2);
	CU_ASSERT_EQUAL(p.remembered, 1);
	CU_ASSERT_EQUAL(p.inventory, 1);
	struct jitrd_journal_counts n = counts_of(j);
	CU_ASSERT(n.done == 6 && n.failed == 0 && n.pending == 2);
	CU_ASSERT_EQUAL(jitrd_journal_cert_get(j, CERT_A, &c, &found, NULL), JITRD_OK);
	CU_ASSERT_FALSE(found);
	CU_ASSERT_EQUAL(jitrd_journal_cert_get(j, CERT_B, &c, &found, NULL), JITRD_OK);
	CU_ASSERT_TRUE(found);
	CU_ASSERT_EQUAL(jitrd_journal_cert_get(j, CA_2, &c, &found, NULL), JITRD_OK);
	CU_ASSERT_TRUE(found);
	/* the cap: 6 finished rows, at most 2 kept (the newest); open ones untouched */
	CU_ASSERT_EQUAL(jitrd_journal_prune_all(j, 0, 500, 2, &p, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(p.events, 4);
	n = counts_of(j);
	CU_ASSERT(n.done == 2 && n.pending == 2);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT min(id) FROM events WHERE state = 'done'"), ids[6]);
	CU_ASSERT_EQUAL(jitrd_journal_prune_all(NULL, 0, 0, 2, NULL, NULL), JITRD_ERR_INVALID_ARG);
	jitrd_journal_close(j);
	remove_dir(&t);
}

/* A retry with a bound of its own (finish's retry, as the workers end a retryable event). */
static enum jitrd_err retry_bounded(struct jitrd_journal *j, int64_t id, int64_t next_ms,
                                    int64_t now_ms, unsigned max_attempts,
                                    enum jitrd_journal_state *state)
{
	struct jitrd_journal_ending e = {0};

	e.id = id;
	e.decision = JITRD_DECISION_FAILED;
	e.reason = "not found";
	e.now_ms = now_ms;
	e.retry = true;
	e.next_attempt_ms = next_ms;
	e.max_attempts = max_attempts;
	return jitrd_journal_finish(j, &e, state, NULL);
}

static void test_oldest_open_and_bounded_retry(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 10);
	struct jitrd_journal_event *events = NULL;
	enum jitrd_journal_state state = JITRD_JOURNAL_DONE;
	int64_t since = UNTOUCHED_ID, id1, id2;
	size_t count = 0;
	bool found = true;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(jitrd_journal_oldest_open(j, &since, &found, NULL), JITRD_OK);
	CU_ASSERT_FALSE(found);
	CU_ASSERT_EQUAL(since, UNTOUCHED_ID);
	CU_ASSERT_EQUAL(
	    jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "e", 1, CERT_A, 100, &id1, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_journal_oldest_open(j, &since, &found, NULL), JITRD_OK);
	CU_ASSERT_TRUE(found);
	CU_ASSERT_EQUAL(since, 100);
	CU_ASSERT_EQUAL(jitrd_journal_claim(j, 200, 1, &events, &count, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(count, 1);
	jitrd_journal_events_free(events, count);
	CU_ASSERT_EQUAL(
	    jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "e", 1, CERT_B, 300, &id2, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_journal_oldest_open(j, &since, &found, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(since, 200); /* the claim of id1 */
	/* a bound of 2 attempts: pending after the first retry, failed after the second */
	CU_ASSERT_EQUAL(retry_bounded(j, id1, 5000, 250, 2, &state), JITRD_OK);
	CU_ASSERT_EQUAL(state, JITRD_JOURNAL_PENDING);
	CU_ASSERT_EQUAL(retry_bounded(j, id1, 9000, 5000, 2, &state), JITRD_OK);
	CU_ASSERT_EQUAL(state, JITRD_JOURNAL_FAILED);
	/* the journal's own bound (10) still applies to a larger one: failed at the 10th */
	for (unsigned i = 0; i < 9; i++) {
		CU_ASSERT_EQUAL(retry_bounded(j, id2, 5000, 300, 1000, &state), JITRD_OK);
		CU_ASSERT_EQUAL(state, JITRD_JOURNAL_PENDING);
	}
	CU_ASSERT_EQUAL(retry_bounded(j, id2, 5000, 300, 1000, &state), JITRD_OK);
	CU_ASSERT_EQUAL(state, JITRD_JOURNAL_FAILED);
	CU_ASSERT_EQUAL(
	    jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "e", 1, CERT_B, 300, &id2, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(retry_bounded(j, id2, 5000, 300, 0, &state), JITRD_OK);
	CU_ASSERT_EQUAL(state, JITRD_JOURNAL_PENDING);
	CU_ASSERT_EQUAL(jitrd_journal_oldest_open(j, &since, &found, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(since, 5000);
	jitrd_journal_close(j);
	remove_dir(&t);
}

/* A version 1 journal (an older jitrd's) is upgraded in place. */
static void test_upgrade_from_v1(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 0);
	sqlite3 *db = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	jitrd_journal_close(j);
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(t.path, &db), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_exec(db,
	                             "DROP TABLE remembered; DROP INDEX events_failed;"
	                             " PRAGMA user_version = 1;",
	                             NULL, NULL, NULL),
	                SQLITE_OK);
	sqlite3_close(db);
	CU_ASSERT_EQUAL(sql_int(t.path, "PRAGMA user_version"), 1);
	j = NULL;
	CU_ASSERT_EQUAL(jitrd_journal_open(t.path, NULL, &j, NULL), JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	int64_t id = 0;
	CU_ASSERT_EQUAL(jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "e", 1, CERT_A, 1, &id, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(remember(j, id, CERT_A, "k", JITRD_DECISION_REJECT, NULL, NULL, 1, 2, NULL),
	                JITRD_OK);
	jitrd_journal_close(j);
	CU_ASSERT_EQUAL(sql_int(t.path, "PRAGMA user_version"), 2);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM remembered"), 1);
	remove_dir(&t);
}

/* --- an event's two ends in one transaction each --- */

static struct jitrd_journal_arrival arrival_of(const char *payload, const char *cert,
                                               const char *key,
                                               enum jitrd_journal_when_open when_open, int64_t now)
{
	struct jitrd_journal_arrival a = {0};

	a.source = JITRD_JOURNAL_MQTT;
	a.payload = payload;
	a.len = strlen(payload);
	a.certificate_id = cert;
	a.event_key = key;
	a.when_open = when_open;
	a.join_reason = "joined";
	a.now_ms = now;
	return a;
}

static void test_intake(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 0);
	struct jitrd_journal_arrival a;
	enum jitrd_journal_intake_result got;
	struct jitrd_journal_memory m;
	struct jitrd_journal_event *ev = NULL;
	struct jitrd_diag diag = {""};
	char long_key[JITRD_JOURNAL_NAME_MAX + 2];
	int64_t first = UNTOUCHED_ID, id = UNTOUCHED_ID;
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	/* new certificate: recorded pending */
	a = arrival_of("e1", CERT_A, "k", JITRD_JOURNAL_JOIN_OPEN, 10);
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &first, &m, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_RECORDED);
	CU_ASSERT(first > 0);
	/* a repeat joins the open row: born done, a skip with the reason */
	a = arrival_of("e2", CERT_A, "k", JITRD_JOURNAL_JOIN_OPEN, 11);
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_JOINED);
	CU_ASSERT(id > first);
	CU_ASSERT_EQUAL(sql_int(t.path,
	                        "SELECT count(*) FROM events WHERE state = 'done' AND"
	                        " decision = 'skip' AND reason = 'joined' AND finished_ms = 11"
	                        " AND payload = CAST('e2' AS BLOB)"),
	                1);
	/* leave-if-open: nothing recorded, id untouched */
	id = UNTOUCHED_ID;
	a = arrival_of("e3", CERT_A, NULL, JITRD_JOURNAL_LEAVE_IF_OPEN, 12);
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_OPEN);
	CU_ASSERT_EQUAL(id, UNTOUCHED_ID);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM events"), 2);
	/* in progress is open too */
	CU_ASSERT_EQUAL(jitrd_journal_claim(j, 100, 10, &ev, &n, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(n, 1);
	jitrd_journal_events_free(ev, n);
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_OPEN);
	/* an event that did not parse (no certificate) is recorded, never joined */
	a = arrival_of("junk", NULL, NULL, JITRD_JOURNAL_JOIN_OPEN, 13);
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_RECORDED);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM events WHERE state = 'pending'"
	                                " AND certificate_id IS NULL"),
	                1);
	/* a remembered decision answers a repeat with the same key: counted, nothing recorded */
	int64_t b_id = UNTOUCHED_ID;
	CU_ASSERT_EQUAL(
	    jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "b", 1, CERT_B, 20, &b_id, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(remember(j, b_id, CERT_B, "k", JITRD_DECISION_REJECT, "expired",
	                         "PENDING_ACTIVATION", 20, 1000, NULL),
	                JITRD_OK);
	id = UNTOUCHED_ID;
	memset(&m, 0x55, sizeof(m));
	a = arrival_of("e4", CERT_B, "k", JITRD_JOURNAL_JOIN_OPEN, 30);
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_REMEMBERED);
	CU_ASSERT_EQUAL(id, UNTOUCHED_ID);
	CU_ASSERT_STRING_EQUAL(m.decision, "reject");
	CU_ASSERT_STRING_EQUAL(m.reason, "expired");
	CU_ASSERT_EQUAL(m.repeats, 1);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM events"), 4);
	/* another key, or none (remembering off): recorded as usual */
	a = arrival_of("e5", CERT_B, "forged", JITRD_JOURNAL_JOIN_OPEN, 31);
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_RECORDED);
	a = arrival_of("e6", CERT_B, NULL, JITRD_JOURNAL_JOIN_OPEN, 32);
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_JOINED);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT repeats FROM remembered"), 1);
	/* invalid arguments: outputs untouched, nothing recorded */
	got = (enum jitrd_journal_intake_result)77;
	id = UNTOUCHED_ID;
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	a = arrival_of("e7", CERT_B, long_key, JITRD_JOURNAL_JOIN_OPEN, 40);
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, &diag), JITRD_ERR_INVALID_ARG);
	a = arrival_of("e7", CERT_B, "k", (enum jitrd_journal_when_open)9, 40);
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_ERR_INVALID_ARG);
	a = arrival_of("e7", CERT_B, "k", JITRD_JOURNAL_JOIN_OPEN, 40);
	a.join_reason = NULL;
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_ERR_INVALID_ARG);
	a = arrival_of("e7", CERT_B, "k", JITRD_JOURNAL_JOIN_OPEN, 40);
	a.source = (enum jitrd_journal_source)42;
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_ERR_INVALID_ARG);
	a = arrival_of("e7", CERT_B, "k", JITRD_JOURNAL_JOIN_OPEN, 40);
	CU_ASSERT_EQUAL(jitrd_journal_intake(NULL, &a, &got, &id, &m, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, NULL, &got, &id, &m, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, NULL, &id, &m, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(got, (enum jitrd_journal_intake_result)77);
	CU_ASSERT_EQUAL(id, UNTOUCHED_ID);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM events"), 6);
	jitrd_journal_close(j);
	remove_dir(&t);
}

/* The inventory's judgement answers an event older than it, in intake's transaction:
 * JOIN_OPEN (MQTT) records it done as a skip, LEAVE_IF_OPEN (the sweep) records nothing; an
 * event newer than the judgement (compared in whole seconds), a certificate still
 * PENDING_ACTIVATION, one not in the inventory, or no judged_since_ms (SQS) go on as usual. */
static void test_intake_judged(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 0);
	struct jitrd_journal_cert c = make_cert("after", CA_1, "ACTIVE");
	struct jitrd_journal_arrival a;
	enum jitrd_journal_intake_result got = JITRD_JOURNAL_OPEN;
	struct jitrd_journal_memory m;
	int64_t id = UNTOUCHED_ID, open_id = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	/* judged at 7.5 s; last decision activate */
	c.updated_ms = 7500;
	CU_ASSERT_EQUAL(jitrd_journal_cert_upsert(j, &c, NULL), JITRD_OK);
	/* an event of 5.0 s: answered, recorded done with the reason, status as the pipeline's */
	a = arrival_of("e1", "after", NULL, JITRD_JOURNAL_JOIN_OPEN, 9000);
	a.judged_since_ms = 5000;
	memset(&m, 0x55, sizeof(m));
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_JUDGED);
	CU_ASSERT(id > 0);
	CU_ASSERT_STRING_EQUAL(m.status, "ACTIVE");
	CU_ASSERT_STRING_EQUAL(m.decision, "activate");
	CU_ASSERT_STRING_EQUAL(m.reason, "judged ACTIVE since the event");
	CU_ASSERT_EQUAL(m.decided_ms, 7500);
	CU_ASSERT_EQUAL(m.repeats, 0);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM events WHERE state = 'done' AND"
	                                " decision = 'skip' AND status = '' AND finished_ms = 9000"
	                                " AND reason = 'judged ACTIVE since the event'"
	                                " AND certificate_id = 'after'"
	                                " AND payload = CAST('e1' AS BLOB)"),
	                1);
	CU_ASSERT_EQUAL(counts_of(j).pending, 0);
	/* the same second counts, both ways (7.9 s and 7.0 s against 7.5 s) */
	a.judged_since_ms = 7999;
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_JUDGED);
	a.judged_since_ms = 7000;
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_JUDGED);
	/* judged before the event's second: recorded pending, memory untouched */
	a.judged_since_ms = 8000;
	memset(&m, 0x55, sizeof(m));
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &open_id, &m, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_RECORDED);
	CU_ASSERT_EQUAL(m.decided_ms, (int64_t)0x5555555555555555LL);
	CU_ASSERT_EQUAL(counts_of(j).pending, 1);
	/* the sweep (LEAVE_IF_OPEN): answered whatever the open row, nothing recorded */
	id = UNTOUCHED_ID;
	a = arrival_of("listing", "after", NULL, JITRD_JOURNAL_LEAVE_IF_OPEN, 9100);
	a.judged_since_ms = 6000;
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_JUDGED);
	CU_ASSERT_EQUAL(id, UNTOUCHED_ID);
	CU_ASSERT_STRING_EQUAL(m.status, "ACTIVE");
	CU_ASSERT_STRING_EQUAL(m.reason, "");
	/* no judged_since_ms (SQS): the open row answers, as without the inventory */
	a.judged_since_ms = 0;
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_OPEN);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM events"), 4);
	/* PENDING_ACTIVATION (rejected, deferred) is no judgement: recorded */
	c = make_cert("pending", CA_1, "PENDING_ACTIVATION");
	c.updated_ms = 7500;
	CU_ASSERT_EQUAL(jitrd_journal_cert_upsert(j, &c, NULL), JITRD_OK);
	a = arrival_of("e2", "pending", NULL, JITRD_JOURNAL_JOIN_OPEN, 9200);
	a.judged_since_ms = 5000;
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_RECORDED);
	/* not in the inventory: recorded; the sweep's copy then finds the open row */
	a = arrival_of("e3", "unknown", NULL, JITRD_JOURNAL_JOIN_OPEN, 9300);
	a.judged_since_ms = 5000;
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_RECORDED);
	a.when_open = JITRD_JOURNAL_LEAVE_IF_OPEN;
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_OPEN);
	/* judged comes before a remembered decision, whose repeat is then not counted */
	CU_ASSERT_EQUAL(remember(j, open_id, "after", "k", JITRD_DECISION_IGNORE, NULL, NULL, 9400,
	                         99999, NULL),
	                JITRD_OK);
	a = arrival_of("e4", "after", "k", JITRD_JOURNAL_JOIN_OPEN, 9500);
	a.judged_since_ms = 5000;
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_JUDGED);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT repeats FROM remembered"), 0);
	a.judged_since_ms = 0;
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_REMEMBERED);
	/* an event that did not parse has no certificate to look up: recorded */
	a = arrival_of("junk", NULL, NULL, JITRD_JOURNAL_JOIN_OPEN, 9600);
	a.judged_since_ms = 5000;
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_RECORDED);
	CU_ASSERT_EQUAL(counts_of(j).pending, 3);
	jitrd_journal_close(j);
	remove_dir(&t);
}

/* A statement that fails inside intake's or finish's transaction leaves nothing of it: a
 * trigger that refuses the INSERT (intake) or the inventory row (finish, after the completion
 * and the memory were written in the same transaction). */
static void test_intake_finish_roll_back(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 0);
	struct jitrd_journal_arrival a;
	struct jitrd_journal_ending e = {0};
	struct jitrd_journal_cert c = make_cert(CERT_A, CA_1, "ACTIVE");
	enum jitrd_journal_intake_result got = JITRD_JOURNAL_OPEN;
	enum jitrd_journal_state state = (enum jitrd_journal_state)77;
	struct jitrd_journal_event *ev = NULL;
	struct jitrd_journal_memory m;
	struct jitrd_diag diag = {""};
	int64_t id = UNTOUCHED_ID;
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	sql_exec(t.path, "CREATE TRIGGER refuse_event BEFORE INSERT ON events"
	                 " BEGIN SELECT RAISE(ABORT, 'refused'); END;");
	a = arrival_of("e1", CERT_A, "k", JITRD_JOURNAL_JOIN_OPEN, 10);
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, NULL, &diag), JITRD_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "refused"));
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_OPEN);
	CU_ASSERT_EQUAL(id, UNTOUCHED_ID);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM events"), 0);
	/* the judged skip's INSERT too: the caller then records the event to be judged again */
	CU_ASSERT_EQUAL(jitrd_journal_cert_upsert(j, &c, NULL), JITRD_OK);
	a.judged_since_ms = 1;
	memset(&m, 0x55, sizeof(m));
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, &m, NULL), JITRD_ERR_IO);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_OPEN);
	CU_ASSERT_EQUAL(id, UNTOUCHED_ID);
	CU_ASSERT_EQUAL(m.decided_ms, (int64_t)0x5555555555555555LL);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM events"), 0);
	a.judged_since_ms = 0;
	sql_exec(t.path, "DELETE FROM certificates;");
	sql_exec(t.path, "DROP TRIGGER refuse_event;");
	/* the journal works again after the rollback */
	CU_ASSERT_EQUAL(jitrd_journal_intake(j, &a, &got, &id, NULL, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(got, JITRD_JOURNAL_RECORDED);
	CU_ASSERT_EQUAL(jitrd_journal_claim(j, 100, 1, &ev, &n, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(n, 1);
	jitrd_journal_events_free(ev, n);

	sql_exec(t.path, "CREATE TRIGGER refuse_cert BEFORE INSERT ON certificates"
	                 " BEGIN SELECT RAISE(ABORT, 'refused'); END;");
	e.id = id;
	e.decision = JITRD_DECISION_REJECT;
	e.reason = "expired";
	e.status = "PENDING_ACTIVATION";
	e.now_ms = 200;
	e.cert = &c;
	e.remember_key = "k";
	e.certificate_id = CERT_A;
	e.remember_until_ms = 5000;
	CU_ASSERT_EQUAL(jitrd_journal_finish(j, &e, &state, &diag), JITRD_ERR_IO);
	CU_ASSERT_EQUAL(state, (enum jitrd_journal_state)77);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM events WHERE state = 'in_progress'"),
	                1);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM remembered"), 0);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM certificates"), 0);
	/* an unknown id after the memory was written: rolled back too */
	sql_exec(t.path, "DROP TRIGGER refuse_cert;");
	e.id = 9999;
	CU_ASSERT_EQUAL(jitrd_journal_finish(j, &e, &state, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM remembered"), 0);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM certificates"), 0);
	/* and the real id goes through whole */
	e.id = id;
	CU_ASSERT_EQUAL(jitrd_journal_finish(j, &e, &state, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(state, JITRD_JOURNAL_DONE);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM remembered"), 1);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM certificates"), 1);
	jitrd_journal_close(j);
	remove_dir(&t);
}

static void test_finish(void)
{
	struct tmp_journal t;
	struct jitrd_journal *j = open_fresh(&t, 3);
	struct jitrd_journal_ending e = {0};
	struct jitrd_journal_cert c = make_cert(CERT_A, CA_1, "ACTIVE");
	struct jitrd_journal_cert got_cert;
	struct jitrd_journal_cert bad = make_cert("", CA_1, "ACTIVE");
	enum jitrd_journal_state state = JITRD_JOURNAL_PENDING;
	struct jitrd_journal_event *ev = NULL;
	struct jitrd_journal_memory m;
	bool found = false;
	int64_t a_id, b_id;
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "a", 1, CERT_A, 1, &a_id, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "b", 1, CERT_B, 1, &b_id, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_journal_claim(j, 10, 2, &ev, &n, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(n, 2);
	jitrd_journal_events_free(ev, n);
	/* completion with its inventory row, nothing remembered */
	e.id = a_id;
	e.decision = JITRD_DECISION_ACTIVATE;
	e.reason = "ok";
	e.status = "ACTIVE";
	e.now_ms = 50;
	e.cert = &c;
	CU_ASSERT_EQUAL(jitrd_journal_finish(j, &e, &state, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(state, JITRD_JOURNAL_DONE);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM events WHERE state = 'done' AND"
	                                " decision = 'activate' AND status = 'ACTIVE' AND"
	                                " reason = 'ok' AND finished_ms = 50"),
	                1);
	CU_ASSERT_EQUAL(jitrd_journal_cert_get(j, CERT_A, &got_cert, &found, NULL), JITRD_OK);
	CU_ASSERT(found);
	CU_ASSERT_STRING_EQUAL(got_cert.status, "ACTIVE");
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM remembered"), 0);
	/* finished already: refused, and the inventory row is not rewritten */
	c.updated_ms = 999;
	CU_ASSERT_EQUAL(jitrd_journal_finish(j, &e, &state, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT updated_ms FROM certificates"), 42);
	/* a retry: back to pending, the row written, the memory not (a retry is not final) */
	e = (struct jitrd_journal_ending){0};
	e.id = b_id;
	e.decision = JITRD_DECISION_DEFER;
	e.reason = "no CRL";
	e.now_ms = 60;
	e.retry = true;
	e.next_attempt_ms = 70;
	e.remember_key = "k";
	e.certificate_id = CERT_B;
	c = make_cert(CERT_B, CA_1, "PENDING_ACTIVATION");
	e.cert = &c;
	CU_ASSERT_EQUAL(jitrd_journal_finish(j, &e, &state, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(state, JITRD_JOURNAL_PENDING);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT attempts FROM events WHERE id = 2"), 1);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT next_attempt_ms FROM events WHERE id = 2"), 70);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM certificates"), 2);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM remembered"), 0);
	/* a bound of 2 attempts: the second retry fails it */
	e.max_attempts = 2;
	CU_ASSERT_EQUAL(jitrd_journal_finish(j, &e, &state, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(state, JITRD_JOURNAL_FAILED);
	CU_ASSERT_EQUAL(counts_of(j).failed, 1);
	/* a final reject remembered with its completion */
	CU_ASSERT_EQUAL(
	    jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "b", 1, CERT_B, 80, &b_id, NULL), JITRD_OK);
	e = (struct jitrd_journal_ending){0};
	e.id = b_id;
	e.decision = JITRD_DECISION_REJECT;
	e.reason = "expired";
	e.status = "PENDING_ACTIVATION";
	e.now_ms = 90;
	e.remember_key = "k";
	e.certificate_id = CERT_B;
	e.remember_until_ms = 1000;
	CU_ASSERT_EQUAL(jitrd_journal_finish(j, &e, NULL, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(repeat_of(j, CERT_B, "k", 100, &m), JITRD_JOURNAL_REMEMBERED);
	CU_ASSERT_STRING_EQUAL(m.decision, "reject");
	CU_ASSERT_EQUAL(m.decided_ms, 90);
	CU_ASSERT_EQUAL(counts_of(j).pending + counts_of(j).in_progress, 0);
	/* invalid arguments: nothing written, state untouched */
	state = (enum jitrd_journal_state)77;
	CU_ASSERT_EQUAL(
	    jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "c", 1, CERT_A, 80, &a_id, NULL), JITRD_OK);
	e = (struct jitrd_journal_ending){0};
	e.id = a_id;
	e.decision = (enum jitrd_decision_kind)99;
	CU_ASSERT_EQUAL(jitrd_journal_finish(j, &e, &state, NULL), JITRD_ERR_INVALID_ARG);
	e.decision = JITRD_DECISION_REJECT;
	e.cert = &bad;
	CU_ASSERT_EQUAL(jitrd_journal_finish(j, &e, &state, NULL), JITRD_ERR_INVALID_ARG);
	e.cert = NULL;
	e.remember_key = "k"; /* without its certificate */
	CU_ASSERT_EQUAL(jitrd_journal_finish(j, &e, &state, NULL), JITRD_ERR_INVALID_ARG);
	e.remember_key = NULL;
	e.status = "this-status-word-is-far-too-long-x";
	CU_ASSERT_EQUAL(jitrd_journal_finish(j, &e, &state, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_journal_finish(NULL, &e, &state, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_journal_finish(j, NULL, &state, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(state, (enum jitrd_journal_state)77);
	CU_ASSERT_EQUAL(counts_of(j).pending, 1);
	jitrd_journal_close(j);
	remove_dir(&t);
}

#define CERT_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define CERT_D "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define CERT_E "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

/* Every row of a query's result as text ("col|col|...\n" per row), for comparing two
 * databases; "" when the query fails. The caller frees it. */
static char *sql_dump(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	char *out = calloc(1, 1);
	size_t len = 0;

	if (!out)
		return NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK) {
		while (sqlite3_step(stmt) == SQLITE_ROW) {
			for (int c = 0; c < sqlite3_column_count(stmt); c++) {
				const char *v = (const char *)sqlite3_column_text(stmt, c);
				size_t add = (v ? strlen(v) : 4) + 1;
				char *grown = realloc(out, len + add + 2);

				if (!grown)
					break;
				out = grown;
				len += (size_t)snprintf(out + len, add + 2, "%s%c", v ? v : "NULL",
				                        c + 1 < sqlite3_column_count(stmt) ? '|'
				                                                           : '\n');
			}
		}
	}
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return out;
}

/* The journal's whole state that endings write: events, inventory, memory. */
static char *journal_dump(const char *path)
{
	static const char *const queries[] = {
	    ("SELECT id, certificate_id, state, attempts, next_attempt_ms, claimed_ms, decision,"
	     " reason, status, finished_ms FROM events ORDER BY id"),
	    "SELECT * FROM certificates ORDER BY certificate_id",
	    "SELECT * FROM remembered ORDER BY certificate_id",
	};
	char *all = calloc(1, 1);

	for (size_t i = 0; all && i < sizeof(queries) / sizeof(queries[0]); i++) {
		char *part = sql_dump(path, queries[i]);
		size_t size = part ? strlen(all) + strlen(part) + 4 : 0;
		char *joined = part ? malloc(size) : NULL;

		if (joined)
			snprintf(joined, size, "%s%s--\n", all, part);
		free(part);
		free(all);
		all = joined;
	}
	return all;
}

/* Five events of five certificates recorded and claimed: ids 1..5. */
static struct jitrd_journal *open_claimed(struct tmp_journal *t, int64_t ids[5])
{
	static const char *const certs[5] = {CERT_A, CERT_B, CERT_C, CERT_D, CERT_E};
	struct jitrd_journal *j = open_fresh(t, 3);
	struct jitrd_journal_event *ev = NULL;
	size_t n = 0;

	if (!j)
		return NULL;
	for (size_t i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(
		    jitrd_journal_record(j, JITRD_JOURNAL_MQTT, "e", 1, certs[i], 1, &ids[i], NULL),
		    JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_journal_claim(j, 10, 5, &ev, &n, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(n, 5);
	jitrd_journal_events_free(ev, n);
	return j;
}

/* A batch of mixed endings: a completion with its inventory row, a retry (its memory not
 * written: not final), a retry that reaches the bound and fails, a reject remembered with
 * its row, an ignore with nothing else. */
static void mixed_endings(struct jitrd_journal_ending e[5], const int64_t ids[5],
                          struct jitrd_journal_cert rows[3])
{
	rows[0] = make_cert(CERT_A, CA_1, "ACTIVE");
	rows[1] = make_cert(CERT_B, CA_1, "PENDING_ACTIVATION");
	rows[2] = make_cert(CERT_D, CA_2, "PENDING_ACTIVATION");
	memset(e, 0, 5 * sizeof(*e));
	for (size_t i = 0; i < 5; i++) {
		e[i].id = ids[i];
		e[i].now_ms = 100 + (int64_t)i;
	}
	e[0].decision = JITRD_DECISION_ACTIVATE;
	e[0].reason = "activated";
	e[0].status = "ACTIVE";
	e[0].cert = &rows[0];
	e[1].decision = JITRD_DECISION_DEFER;
	e[1].reason = "no CRL";
	e[1].retry = true;
	e[1].next_attempt_ms = 700;
	e[1].cert = &rows[1];
	e[1].remember_key = "k";
	e[1].certificate_id = CERT_B;
	e[2].decision = JITRD_DECISION_FAILED;
	e[2].reason = "throttled";
	e[2].retry = true;
	e[2].next_attempt_ms = 800;
	e[2].max_attempts = 1;
	e[3].decision = JITRD_DECISION_REJECT;
	e[3].reason = "expired";
	e[3].status = "PENDING_ACTIVATION";
	e[3].cert = &rows[2];
	e[3].remember_key = "k";
	e[3].certificate_id = CERT_D;
	e[3].remember_until_ms = 5000;
	e[4].decision = JITRD_DECISION_IGNORE;
	e[4].reason = "not ours";
}

static void test_finish_batch_same_as_one_by_one(void)
{
	struct tmp_journal t1, t2;
	int64_t ids1[5], ids2[5];
	struct jitrd_journal *one = open_claimed(&t1, ids1);
	struct jitrd_journal *batch = open_claimed(&t2, ids2);
	struct jitrd_journal_ending e[5];
	struct jitrd_journal_cert rows[3];
	enum jitrd_journal_state s1[5], s2[5];
	struct jitrd_journal_counts c;
	char *d1, *d2;

	CU_ASSERT_PTR_NOT_NULL_FATAL(one);
	CU_ASSERT_PTR_NOT_NULL_FATAL(batch);
	mixed_endings(e, ids1, rows);
	for (size_t i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(jitrd_journal_finish(one, &e[i], &s1[i], NULL), JITRD_OK);
	mixed_endings(e, ids2, rows);
	CU_ASSERT_EQUAL(jitrd_journal_finish_batch(batch, e, 5, s2, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(memcmp(s1, s2, sizeof(s1)), 0);
	CU_ASSERT_EQUAL(s2[0], JITRD_JOURNAL_DONE);
	CU_ASSERT_EQUAL(s2[1], JITRD_JOURNAL_PENDING);
	CU_ASSERT_EQUAL(s2[2], JITRD_JOURNAL_FAILED);
	CU_ASSERT_EQUAL(s2[3], JITRD_JOURNAL_DONE);
	CU_ASSERT_EQUAL(s2[4], JITRD_JOURNAL_DONE);
	d1 = journal_dump(t1.path);
	d2 = journal_dump(t2.path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d2);
	CU_ASSERT_STRING_EQUAL(d1, d2);
	/* and that state is the one intended, not merely the same: each query counts 1 row */
	static const char *const intended[] = {
	    ("SELECT count(*) FROM events WHERE id = 1 AND state = 'done' AND"
	     " decision = 'activate' AND finished_ms = 100"),
	    ("SELECT count(*) FROM events WHERE id = 2 AND state = 'pending' AND attempts = 1 AND"
	     " next_attempt_ms = 700 AND claimed_ms IS NULL"),
	    ("SELECT count(*) FROM events WHERE id = 3 AND state = 'failed' AND"
	     " decision = 'failed' AND finished_ms = 102"),
	    "SELECT count(*) FROM events WHERE id = 5 AND state = 'done' AND decision = 'ignore'",
	    "SELECT count(*) = 3 FROM certificates",
	    ("SELECT count(*) FROM remembered WHERE certificate_id = '" CERT_D "' AND"
	     " decision = 'reject' AND until_ms = 5000"),
	    "SELECT count(*) FROM remembered",
	};
	for (size_t i = 0; i < sizeof(intended) / sizeof(intended[0]); i++)
		CU_ASSERT_EQUAL(sql_int(t2.path, intended[i]), 1);
	c = counts_of(batch);
	CU_ASSERT(c.pending == 1 && c.in_progress == 0 && c.done == 3 && c.failed == 1);
	free(d1);
	free(d2);
	jitrd_journal_close(one);
	jitrd_journal_close(batch);
	remove_dir(&t1);
	remove_dir(&t2);
}

/* finish_batch of the five endings fails with want, diag saying diag_has, and leaves the
 * journal and the states exactly as they were. */
static void refused_batch(const char *path, struct jitrd_journal *j,
                          const struct jitrd_journal_ending e[5], enum jitrd_err want,
                          const char *diag_has)
{
	enum jitrd_journal_state states[5];
	struct jitrd_diag diag = {""};
	char *before = journal_dump(path), *after;

	for (size_t i = 0; i < 5; i++)
		states[i] = (enum jitrd_journal_state)77;
	CU_ASSERT_EQUAL(jitrd_journal_finish_batch(j, e, 5, states, &diag), want);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, diag_has));
	for (size_t i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(states[i], (enum jitrd_journal_state)77);
	after = journal_dump(path);
	CU_ASSERT_FATAL(before && after);
	CU_ASSERT_STRING_EQUAL(before, after);
	free(before);
	free(after);
}

/* One ending of the batch is for an event finished already: the whole batch is refused,
 * naming the event, and nothing of it is written; without that ending it goes through. */
static void test_finish_batch_already_finished(void)
{
	struct tmp_journal t;
	int64_t ids[5];
	struct jitrd_journal *j = open_claimed(&t, ids);
	struct jitrd_journal_ending e[5];
	struct jitrd_journal_cert rows[3];
	enum jitrd_journal_state states[5] = {77, 77, 77, 77, 77};

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	mixed_endings(e, ids, rows);
	CU_ASSERT_EQUAL(jitrd_journal_finish(j, &e[4], NULL, NULL), JITRD_OK);
	refused_batch(t.path, j, e, JITRD_ERR_INVALID_ARG,
	              "event 5 is unknown or already finished");
	CU_ASSERT_EQUAL(counts_of(j).in_progress, 4);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM certificates"), 0);
	/* the same ending twice in one batch: the second finds it finished */
	CU_ASSERT_EQUAL(jitrd_journal_finish_batch(
			    j, (const struct jitrd_journal_ending[]){e[0], e[0]}, 2, NULL, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(counts_of(j).in_progress, 4);
	CU_ASSERT_EQUAL(jitrd_journal_finish_batch(j, e, 4, states, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(states[0], JITRD_JOURNAL_DONE);
	CU_ASSERT_EQUAL(states[2], JITRD_JOURNAL_FAILED);
	CU_ASSERT_EQUAL(states[4], (enum jitrd_journal_state)77); /* beyond n: untouched */
	CU_ASSERT_EQUAL(counts_of(j).in_progress, 0);
	jitrd_journal_close(j);
	remove_dir(&t);
}

/* A write refused in the middle of the batch (the inventory row of its fourth ending, after
 * the first three were written in the same transaction) rolls the whole batch back. */
static void test_finish_batch_rolls_back_whole(void)
{
	struct tmp_journal t;
	int64_t ids[5];
	struct jitrd_journal *j = open_claimed(&t, ids);
	struct jitrd_journal_ending e[5];
	struct jitrd_journal_cert rows[3];
	enum jitrd_journal_state states[5];

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	mixed_endings(e, ids, rows);
	sql_exec(t.path, "CREATE TRIGGER refuse_d BEFORE INSERT ON certificates"
	                 " WHEN NEW.certificate_id = '" CERT_D "'"
	                 " BEGIN SELECT RAISE(ABORT, 'refused'); END;");
	refused_batch(t.path, j, e, JITRD_ERR_IO, "refused");
	CU_ASSERT_EQUAL(counts_of(j).in_progress, 5);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT sum(attempts) FROM events"), 0);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM certificates"), 0);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM remembered"), 0);
	/* the journal works again after the rollback */
	sql_exec(t.path, "DROP TRIGGER refuse_d;");
	CU_ASSERT_EQUAL(jitrd_journal_finish_batch(j, e, 5, states, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(states[3], JITRD_JOURNAL_DONE);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM certificates"), 3);
	jitrd_journal_close(j);
	remove_dir(&t);
}

/* n = 0 does nothing; bad arguments, or one bad ending among good ones, write nothing. */
static void test_finish_batch_arguments(void)
{
	struct tmp_journal t;
	int64_t ids[5];
	struct jitrd_journal *j = open_claimed(&t, ids);
	struct jitrd_journal_ending e[5];
	struct jitrd_journal_cert rows[3];
	struct jitrd_journal_cert bad = make_cert("", CA_1, "ACTIVE");
	enum jitrd_journal_state states[5] = {77, 77, 77, 77, 77};
	struct jitrd_diag diag = {""};

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	mixed_endings(e, ids, rows);
	CU_ASSERT_EQUAL(jitrd_journal_finish_batch(j, NULL, 0, NULL, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_journal_finish_batch(j, e, 0, states, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_journal_finish_batch(NULL, e, 5, states, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_journal_finish_batch(NULL, NULL, 0, NULL, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_journal_finish_batch(j, NULL, 1, states, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_journal_finish_batch(j, e, JITRD_JOURNAL_MAX_CLAIM + 1, states, NULL),
	                JITRD_ERR_INVALID_ARG);
	/* one bad ending in the middle: refused before anything is written, and named */
	e[2].decision = (enum jitrd_decision_kind)99;
	CU_ASSERT_EQUAL(jitrd_journal_finish_batch(j, e, 5, states, &diag), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "ending 3 of 5"));
	e[2].decision = JITRD_DECISION_FAILED;
	e[3].cert = &bad;
	CU_ASSERT_EQUAL(jitrd_journal_finish_batch(j, e, 5, states, NULL), JITRD_ERR_INVALID_ARG);
	e[3].cert = &rows[2];
	e[4].status = "this-status-word-is-far-too-long-x";
	CU_ASSERT_EQUAL(jitrd_journal_finish_batch(j, e, 5, states, NULL), JITRD_ERR_INVALID_ARG);
	e[4].status = NULL;
	e[3].certificate_id = NULL; /* remembered without its certificate */
	CU_ASSERT_EQUAL(jitrd_journal_finish_batch(j, e, 5, states, NULL), JITRD_ERR_INVALID_ARG);
	for (size_t i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(states[i], (enum jitrd_journal_state)77);
	CU_ASSERT_EQUAL(counts_of(j).in_progress, 5);
	CU_ASSERT_EQUAL(sql_int(t.path, "SELECT count(*) FROM certificates"), 0);
	jitrd_journal_close(j);
	remove_dir(&t);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"open creates the schema and reopens", test_open_creates_schema},
	    {"record, claim, complete", test_round_trip},
	    {"invalid arguments leave outputs untouched", test_invalid_arguments},
	    {"claims are exclusive across 4 threads", test_claim_exclusive_across_threads},
	    {"due count: pending and due, bounded", test_due_count},
	    {"retry_later backoff and give-up bound", test_retry_backoff_and_give_up},
	    {"recover after SIGKILL mid-burst", test_recover_after_sigkill},
	    {"recover counts an attempt", test_recover_counts_an_attempt},
	    {"requeue stale claims", test_requeue_stale_claims},
	    {"prune removes old done rows only", test_prune},
	    {"an open row: pending or in progress", test_open_row},
	    {"a joined repeat is born done", test_record_joined},
	    {"inventory upsert, get, iterate", test_inventory},
	    {"progress markers of a resumable job", test_progress_markers},
	    {"hostile payloads", test_hostile_payloads},
	    {"corrupt, foreign and newer files", test_bad_files},
	    {"read-only directory", test_read_only_directory},
	    {"allocation failures", test_allocation_failures},
	    {"record() rate", test_record_rate},
	    {"file modes 0600 and 0700 whatever the umask", test_file_modes},
	    {"remembered decisions", test_remember_and_recall},
	    {"prune_all keeps the journal bounded", test_prune_all},
	    {"the backlog gauge follows the open events", test_backlog_gauge},
	    {"oldest open event and bounded retries", test_oldest_open_and_bounded_retry},
	    {"upgrade from schema version 1", test_upgrade_from_v1},
	    {"the events of one certificate", test_cert_events},
	    {"intake: record, join, leave, remembered", test_intake},
	    {"intake: answered by the inventory's judgement", test_intake_judged},
	    {"finish: outcome, inventory and memory together", test_finish},
	    {"intake and finish roll back whole", test_intake_finish_roll_back},
	    {"finish_batch: the same state as the endings one by one",
	     test_finish_batch_same_as_one_by_one},
	    {"finish_batch: an ending already finished refuses the batch",
	     test_finish_batch_already_finished},
	    {"finish_batch: a write refused mid-batch rolls back whole",
	     test_finish_batch_rolls_back_whole},
	    {"finish_batch: n = 0 and bad arguments", test_finish_batch_arguments},
	    {NULL, NULL},
	};

	return tsupport_run("journal", cases);
}
