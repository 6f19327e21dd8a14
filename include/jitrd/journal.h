/* journal.h — the service's SQLite journal (DESIGN §5.3): every event recorded before the MQTT
 * callback returns, claimed by workers and finished with its outcome; the certificate inventory;
 * progress markers of resumable operator jobs. An adapter: it reads no clock (times are passed
 * in, in milliseconds since the epoch) and never formats untrusted data into SQL. */
#ifndef JITRD_JOURNAL_H
#define JITRD_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jitrd/error.h"
#include "jitrd/outcome.h"

#define JITRD_JOURNAL_SCHEMA_VERSION 2
#define JITRD_JOURNAL_MAX_PAYLOAD    (64 * 1024) /* bytes kept of one event; more = truncated */
#define JITRD_JOURNAL_MAX_CLAIM      1024        /* events per claim */
#define JITRD_JOURNAL_MAX_DUE_COUNT  1048576     /* cap of jitrd_journal_due_count */
#define JITRD_JOURNAL_ID_MAX         128         /* certificate and CA ids (AWS: 64 hex) */
#define JITRD_JOURNAL_SERIAL_MAX     128         /* serial in hex */
#define JITRD_JOURNAL_NAME_MAX       1024        /* issuer DN, subject CN, job and item ids */
#define JITRD_JOURNAL_WORD_MAX       32          /* status and decision words */
#define JITRD_JOURNAL_TEXT_MAX       1024        /* reasons, job descriptions */

enum jitrd_journal_source {
	JITRD_JOURNAL_MQTT = 0,
	JITRD_JOURNAL_HANDLE = 1,
	JITRD_JOURNAL_RECONCILE = 2,
	JITRD_JOURNAL_LAMBDA = 3,
};

enum jitrd_journal_state {
	JITRD_JOURNAL_PENDING = 0,
	JITRD_JOURNAL_IN_PROGRESS = 1,
	JITRD_JOURNAL_DONE = 2,
	JITRD_JOURNAL_FAILED = 3, /* gave up after max_attempts; kept for inspection */
};

struct jitrd_journal_options {
	/* false: synchronous=NORMAL. In WAL mode a COMMIT has written the WAL before it returns,
	 * so a process crash (kill -9) loses nothing; a power loss or OS crash may lose the last
	 * transactions. true: synchronous=FULL, fsync on every commit, survives power loss. */
	bool sync_full;
	int busy_timeout_ms;   /* waiting on another process's lock; default 5000 */
	unsigned max_attempts; /* retry_later calls before an event is failed; default 10 */
	/* When set (borrowed; must outlive the journal), the count of events recorded and not
	 * final is kept as its jitrd_journal_backlog gauge. NULL = none. */
	struct jitrd_metrics *metrics;
};

/* Defaults as documented above. */
void jitrd_journal_options_init(struct jitrd_journal_options *opts);

struct jitrd_journal;
struct jitrd_metrics;

/* Opens (creating if needed) the journal database at path, in WAL mode, and creates or checks
 * its schema. opts NULL = defaults. Thread safe afterwards: one connection behind one mutex.
 * *out written only on success; free with jitrd_journal_close. diag: "path: reason".
 * Errors: JITRD_ERR_INVALID_ARG, JITRD_ERR_IO (cannot create, read-only, disk full),
 * JITRD_ERR_MALFORMED (not a database, corrupt, or not a jitrd journal),
 * JITRD_ERR_CONFIG (a newer schema version than this jitrd knows), JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_journal_open(const char *path, const struct jitrd_journal_options *opts,
                                  struct jitrd_journal **out, struct jitrd_diag *diag) JITRD_WUR;

/* Closes the database (checkpointing the WAL). NULL is fine. */
void jitrd_journal_close(struct jitrd_journal *journal);

/* One INSERT in its own short transaction, no lookups: the daemon's fallback when
 * jitrd_journal_intake fails, so that the event is still recorded (and judged).
 * payload (len bytes, any bytes including NUL) is stored as received up to
 * JITRD_JOURNAL_MAX_PAYLOAD; beyond that the first MAX_PAYLOAD bytes are stored with the
 * truncated flag, so an oversized event is still accounted for (as invalid). certificate_id is
 * NULL when the event did not parse, else at most JITRD_JOURNAL_ID_MAX bytes. The event is
 * pending and due at now_ms. *id written only on success.
 * Errors: JITRD_ERR_INVALID_ARG, JITRD_ERR_IO, JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_journal_record(struct jitrd_journal *journal, enum jitrd_journal_source source,
                                    const void *payload, size_t len, const char *certificate_id,
                                    int64_t now_ms, int64_t *id, struct jitrd_diag *diag) JITRD_WUR;

/* A copy of one claimed event, owned by the caller's array. */
struct jitrd_journal_event {
	int64_t id;
	enum jitrd_journal_source source;
	unsigned char *payload; /* payload_len bytes, plus a NUL after them for convenience */
	size_t payload_len;
	bool truncated;       /* the event was larger than JITRD_JOURNAL_MAX_PAYLOAD */
	bool has_certificate; /* false: certificate_id is "" (the event did not parse) */
	char certificate_id[JITRD_JOURNAL_ID_MAX + 1];
	unsigned attempts; /* earlier attempts that ended in retry_later */
	int64_t received_ms;
};

/* Atomically moves up to max (1..JITRD_JOURNAL_MAX_CLAIM) pending events due at now_ms
 * (oldest due first) to in_progress and returns copies. *events (NULL when *count is 0) is
 * owned by the caller: free with jitrd_journal_events_free. Outputs written only on success.
 * Errors: JITRD_ERR_INVALID_ARG, JITRD_ERR_IO, JITRD_ERR_NOMEM (nothing claimed). */
enum jitrd_err jitrd_journal_claim(struct jitrd_journal *journal, int64_t now_ms, size_t max,
                                   struct jitrd_journal_event **events, size_t *count,
                                   struct jitrd_diag *diag) JITRD_WUR;

void jitrd_journal_events_free(struct jitrd_journal_event *events, size_t count);

/* *count = how many pending events are due at now_ms, counted up to cap
 * (1..JITRD_JOURNAL_MAX_DUE_COUNT): what a claim would find, bounded so that a long backlog
 * costs no more than cap index entries. Written only on success.
 * Errors: JITRD_ERR_INVALID_ARG, JITRD_ERR_IO. */
enum jitrd_err jitrd_journal_due_count(struct jitrd_journal *journal, int64_t now_ms, size_t cap,
                                       size_t *count, struct jitrd_diag *diag) JITRD_WUR;

/* One more failed attempt of a pending or in-progress event: attempts + 1, and back to pending
 * due at next_attempt_ms; once attempts reaches max_attempts the event is failed instead
 * (decision "failed", finished at now_ms) and never claimed again. *state (may be NULL) says
 * which, written only on success. Errors: JITRD_ERR_INVALID_ARG (an unknown id, an event
 * already done or failed), JITRD_ERR_IO. */
enum jitrd_err jitrd_journal_retry_later(struct jitrd_journal *journal, int64_t id,
                                         int64_t next_attempt_ms, const char *reason,
                                         int64_t now_ms, enum jitrd_journal_state *state,
                                         struct jitrd_diag *diag) JITRD_WUR;

/* At start-up: every in_progress event (a crash happened mid-way) goes back to pending, due at
 * now_ms, and the interruption counts as an attempt (at max_attempts the event is failed).
 * *count (may be NULL) = how many. Errors: JITRD_ERR_IO. */
enum jitrd_err jitrd_journal_recover(struct jitrd_journal *journal, int64_t now_ms, size_t *count,
                                     struct jitrd_diag *diag) JITRD_WUR;

/* While running: in_progress events claimed before claimed_before_ms (their worker could not
 * write the outcome, e.g. the database was busy) go back to pending, due at now_ms; attempts
 * unchanged. *count (may be NULL) = how many. Errors: JITRD_ERR_IO. */
enum jitrd_err jitrd_journal_requeue_stale(struct jitrd_journal *journal, int64_t claimed_before_ms,
                                           int64_t now_ms, size_t *count,
                                           struct jitrd_diag *diag) JITRD_WUR;

/* Deletes done events finished before older_than_ms (failed ones are kept). *count (may be
 * NULL) = rows deleted. Errors: JITRD_ERR_IO. */
enum jitrd_err jitrd_journal_prune(struct jitrd_journal *journal, int64_t older_than_ms,
                                   size_t *count, struct jitrd_diag *diag) JITRD_WUR;

struct jitrd_journal_counts {
	uint64_t pending, in_progress, done, failed;
};

/* Events per state, for metrics and readyz. */
enum jitrd_err jitrd_journal_counts(struct jitrd_journal *journal,
                                    struct jitrd_journal_counts *counts,
                                    struct jitrd_diag *diag) JITRD_WUR;

/* Inventory: what we know of one certificate. Strings are NUL-terminated within their arrays. */
struct jitrd_journal_cert {
	char certificate_id[JITRD_JOURNAL_ID_MAX + 1];
	char ca_id[JITRD_JOURNAL_ID_MAX + 1];
	char serial_hex[JITRD_JOURNAL_SERIAL_MAX + 1];
	char issuer[JITRD_JOURNAL_NAME_MAX + 1];
	char subject_cn[JITRD_JOURNAL_NAME_MAX + 1];
	char status[JITRD_JOURNAL_WORD_MAX + 1];        /* ACTIVE, REVOKED, INACTIVE, ... */
	char last_decision[JITRD_JOURNAL_WORD_MAX + 1]; /* activate, revoke, hold, ... */
	int64_t updated_ms;
};

/* Inserts or replaces the row of cert->certificate_id (which must not be empty).
 * Errors: JITRD_ERR_INVALID_ARG (a string not terminated within its array), JITRD_ERR_IO. */
enum jitrd_err jitrd_journal_cert_upsert(struct jitrd_journal *journal,
                                         const struct jitrd_journal_cert *cert,
                                         struct jitrd_diag *diag) JITRD_WUR;

/* *found says whether certificate_id is known; *cert written only when it is. */
enum jitrd_err jitrd_journal_cert_get(struct jitrd_journal *journal, const char *certificate_id,
                                      struct jitrd_journal_cert *cert, bool *found,
                                      struct jitrd_diag *diag) JITRD_WUR;

/* One event recorded for a certificate, as the journal holds it. Strings are NUL-terminated;
 * a column never written (an event still pending) reads as "" or 0. */
struct jitrd_journal_history {
	int64_t id, received_ms, finished_ms;
	char source[JITRD_JOURNAL_WORD_MAX + 1]; /* mqtt, handle, reconcile, lambda */
	char state[JITRD_JOURNAL_WORD_MAX + 1];  /* pending, in_progress, done, failed */
	unsigned attempts;
	char decision[JITRD_JOURNAL_WORD_MAX + 1];
	char reason[JITRD_JOURNAL_TEXT_MAX + 1];
	char status[JITRD_JOURNAL_WORD_MAX + 1];
};

/* Return 0 to go on, anything else to stop (the query then returns JITRD_OK). Called with the
 * journal's lock held: fn must not call the journal. */
typedef int (*jitrd_journal_history_fn)(const struct jitrd_journal_history *event, void *ctx);

/* Read only: calls fn for the first max (1..JITRD_JOURNAL_MAX_CLAIM) events recorded for
 * certificate_id, oldest first. Errors: JITRD_ERR_INVALID_ARG, JITRD_ERR_IO. */
enum jitrd_err jitrd_journal_cert_events(struct jitrd_journal *journal, const char *certificate_id,
                                         size_t max, jitrd_journal_history_fn fn, void *ctx,
                                         struct jitrd_diag *diag) JITRD_WUR;

/* Return 0 to go on, anything else to stop the iteration (which then returns JITRD_OK). */
typedef int (*jitrd_journal_cert_fn)(const struct jitrd_journal_cert *cert, void *ctx);

/* Calls fn for every certificate of ca_id with the given status (NULL = any), in certificate id
 * order. Rows are read in pages and fn is called WITHOUT the journal's lock held, so fn may
 * call the journal (e.g. upsert the certificate it is given). */
enum jitrd_err jitrd_journal_cert_iterate(struct jitrd_journal *journal, const char *ca_id,
                                          const char *status, jitrd_journal_cert_fn fn, void *ctx,
                                          struct jitrd_diag *diag) JITRD_WUR;

/* Progress of resumable operator jobs (e.g. `ca deactivate --revoke-certificates`). job and
 * item ids are at most JITRD_JOURNAL_NAME_MAX bytes. job_start creates the job, or finds the
 * unfinished one of that id and keeps its done items (*resumed = true, may be NULL); a finished
 * job of that id starts afresh. job_finish marks it finished and forgets its items. */
enum jitrd_err jitrd_journal_job_start(struct jitrd_journal *journal, const char *job,
                                       const char *description, int64_t now_ms, bool *resumed,
                                       struct jitrd_diag *diag) JITRD_WUR;
enum jitrd_err jitrd_journal_item_done(struct jitrd_journal *journal, const char *job,
                                       const char *item_id, int64_t now_ms,
                                       struct jitrd_diag *diag) JITRD_WUR;
enum jitrd_err jitrd_journal_item_is_done(struct jitrd_journal *journal, const char *job,
                                          const char *item_id, bool *done,
                                          struct jitrd_diag *diag) JITRD_WUR;
enum jitrd_err jitrd_journal_job_finish(struct jitrd_journal *journal, const char *job,
                                        int64_t now_ms, struct jitrd_diag *diag) JITRD_WUR;

/* ---- remembered final decisions ----
 * A certificate whose event ended in a final decision that a repeat of the event would only
 * confirm (reject, ignore) is remembered until until_ms (with the event's completion, by
 * jitrd_journal_finish), so its repeats (a device in a reconnect loop republishes it at every
 * connect) are answered by jitrd_journal_intake without an API call or an event row. decision
 * and status are words, reason text (cut at JITRD_JOURNAL_TEXT_MAX). event_key (at most
 * JITRD_JOURNAL_NAME_MAX bytes) names what else of the event the decision rests on (its CA id,
 * account, status): only a repeat with the same key is answered, so an event forged with
 * another CA or account cannot make the genuine one be skipped. */
struct jitrd_journal_memory {
	char decision[JITRD_JOURNAL_WORD_MAX + 1];
	char reason[JITRD_JOURNAL_TEXT_MAX + 1];
	char status[JITRD_JOURNAL_WORD_MAX + 1];
	int64_t decided_ms;
	int64_t until_ms;
	uint64_t repeats; /* repeats answered from memory, this one included */
};

/* Forgets every remembered decision (a reload may decide differently: new CAs, CRLs,
 * templates). *count (may be NULL) = how many. Errors: JITRD_ERR_IO. */
enum jitrd_err jitrd_journal_forget_all(struct jitrd_journal *journal, size_t *count,
                                        struct jitrd_diag *diag) JITRD_WUR;

struct jitrd_journal_pruned {
	size_t events;     /* done and failed events */
	size_t remembered; /* expired remembered decisions */
	size_t inventory;  /* inventory rows of never-activated certificates */
};

/* Keeps the journal bounded: deletes done and failed events finished before older_than_ms,
 * then the oldest finished events beyond max_rows (open events are never deleted), remembered
 * decisions expired at now_ms, and inventory rows still PENDING_ACTIVATION (rejected, deferred
 * or failed certificates) not updated since older_than_ms. *pruned (may be NULL) says how
 * many of each. Errors: JITRD_ERR_INVALID_ARG, JITRD_ERR_IO. */
enum jitrd_err jitrd_journal_prune_all(struct jitrd_journal *journal, int64_t older_than_ms,
                                       int64_t now_ms, uint64_t max_rows,
                                       struct jitrd_journal_pruned *pruned,
                                       struct jitrd_diag *diag) JITRD_WUR;

/* The oldest moment an open event has been waiting since: the earliest due time of a pending
 * event or claim time of an in-progress one (ms). *found = false when no event is open
 * (*since_ms untouched). For readiness: an event waiting far past its deadline means the
 * workers are stuck or overloaded. Errors: JITRD_ERR_INVALID_ARG, JITRD_ERR_IO. */
enum jitrd_err jitrd_journal_oldest_open(struct jitrd_journal *journal, int64_t *since_ms,
                                         bool *found, struct jitrd_diag *diag) JITRD_WUR;

/* ---- an event's two ends, each in one transaction ----
 * The daemon's per-event journal work: what arrives is recorded (or answered, or joined) in one
 * transaction on the MQTT thread, and what the worker decided is written in one transaction with
 * its inventory row and remembered decision, instead of a transaction per statement. */

/* What jitrd_journal_intake does with an event whose certificate already has an open row. */
enum jitrd_journal_when_open {
	JITRD_JOURNAL_JOIN_OPEN,     /* record it done, a skip with join_reason (DESIGN §3.3) */
	JITRD_JOURNAL_LEAVE_IF_OPEN, /* record nothing */
};

struct jitrd_journal_arrival {
	enum jitrd_journal_source source;
	const void *payload; /* len bytes, as for jitrd_journal_record */
	size_t len;
	const char *certificate_id; /* NULL: the event did not parse (then only recorded) */
	/* Non-NULL: a decision remembered under this key (jitrd_journal_finish) answers it. */
	const char *event_key;
	enum jitrd_journal_when_open when_open;
	const char *join_reason; /* JITRD_JOURNAL_JOIN_OPEN: at most JITRD_JOURNAL_TEXT_MAX */
	int64_t now_ms;
	/* > 0: the certificate must have been judged since this moment (ms; compared in whole
	 * seconds, as the inventory's updated_ms is written) for the event to be answered from
	 * the inventory: an inventory row of a status other than PENDING_ACTIVATION updated in
	 * that second or later. The event's timestamp for an MQTT event, the start of the sweep's
	 * listing for the sweep. 0: not looked up (SQS: the message waits for a worker's outcome).
	 */
	int64_t judged_since_ms;
};

enum jitrd_journal_intake_result {
	JITRD_JOURNAL_RECORDED = 0,   /* pending, *id written */
	JITRD_JOURNAL_JOINED = 1,     /* recorded done as a joined skip, *id written */
	JITRD_JOURNAL_OPEN = 2,       /* an open row exists; LEAVE_IF_OPEN: nothing recorded */
	JITRD_JOURNAL_REMEMBERED = 3, /* answered by a remembered decision: *memory written,
	                               * its repeat counted, nothing recorded */
	/* Answered by the inventory (judged_since_ms): *memory holds its judgement (status, last
	 * decision, updated_ms as decided_ms). JOIN_OPEN: recorded done, a skip with reason
	 * "judged <status> since the event" (also in memory->reason), *id written; LEAVE_IF_OPEN:
	 * nothing recorded. */
	JITRD_JOURNAL_JUDGED = 4,
};

/* In one transaction: the certificate's judgement in the inventory (when judged_since_ms is
 * set), else its remembered decision (when event_key is set), else its open row (when
 * certificate_id is set), else a new pending row; committed before it returns, so a recorded
 * event survives a crash. Outputs written only on success; *id only for RECORDED, JOINED and
 * JUDGED with JOIN_OPEN, *memory (may be NULL) only for REMEMBERED and JUDGED. On any failure
 * nothing of the transaction is left (the caller may then fall back to jitrd_journal_record).
 * Errors: JITRD_ERR_INVALID_ARG, JITRD_ERR_IO, JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_journal_intake(struct jitrd_journal *journal,
                                    const struct jitrd_journal_arrival *arrival,
                                    enum jitrd_journal_intake_result *result, int64_t *id,
                                    struct jitrd_journal_memory *memory,
                                    struct jitrd_diag *diag) JITRD_WUR;

struct jitrd_journal_ending {
	int64_t id;
	enum jitrd_decision_kind decision;
	const char *reason; /* text, cut at JITRD_JOURNAL_TEXT_MAX; may be NULL */
	const char *status; /* a word; may be NULL */
	int64_t now_ms;
	/* true: one more failed attempt, as jitrd_journal_retry_later with a bound of its own
	 * (max_attempts; 0, or more than the journal's: the journal's), instead of the event done;
	 * decision is then not stored unless the event fails. */
	bool retry;
	int64_t next_attempt_ms;
	unsigned max_attempts;
	const struct jitrd_journal_cert *cert; /* inventory row upserted too; NULL = none */
	/* Non-NULL (with a completion, not a retry): the decision of certificate_id is
	 * remembered (or its memory replaced, repeat count 0) under this key until
	 * remember_until_ms. certificate_id is then required. */
	const char *remember_key;
	const char *certificate_id;
	int64_t remember_until_ms;
};

/* The ends of n events (0..JITRD_JOURNAL_MAX_CLAIM; a worker's claimed batch) in one
 * transaction: each one's outcome (complete or retry), inventory row and remembered decision,
 * in the array's order, all or nothing. endings may be NULL when n is 0 (nothing is done).
 * states (NULL, or room for n) = each event's state afterwards, written only on success.
 * Errors: JITRD_ERR_INVALID_ARG (for any ending: a decision outside the enum, an overlong
 * status, an inventory row cert_upsert refuses, a memory without its certificate; an unknown
 * or finished id; n too large), JITRD_ERR_IO; on any error the transaction is rolled back
 * whole: no ending of the batch is written. */
enum jitrd_err jitrd_journal_finish_batch(struct jitrd_journal *journal,
                                          const struct jitrd_journal_ending *endings, size_t n,
                                          enum jitrd_journal_state *states,
                                          struct jitrd_diag *diag) JITRD_WUR;

/* The end of one event: jitrd_journal_finish_batch of that one ending (ending must not be
 * NULL); *state (may be NULL) as states[0] there. */
enum jitrd_err jitrd_journal_finish(struct jitrd_journal *journal,
                                    const struct jitrd_journal_ending *ending,
                                    enum jitrd_journal_state *state,
                                    struct jitrd_diag *diag) JITRD_WUR;

/* Static names: "mqtt", "handle", ... and "pending", "in_progress", ...; "?" when unknown. */
const char *jitrd_journal_source_name(enum jitrd_journal_source source);
const char *jitrd_journal_state_name(enum jitrd_journal_state state);

#endif
