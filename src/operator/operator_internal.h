/* operator_internal.h — what the operator commands' files share: the online setup of a
 * command, AWS failures in words, a CA's certificate listing, the stop signals.
 * Private to src/operator. */
#ifndef JITRD_OPERATOR_INTERNAL_H
#define JITRD_OPERATOR_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "jitrd/cert.h"
#include "jitrd/commands.h"
#include "jitrd/decision.h"
#include "jitrd/error.h"
#include "jitrd/iot_client.h"
#include "jitrd/runtime.h"
#include "jitrd/setup.h"

/* Set by SIGTERM and SIGINT once operator_catch_stop_signals ran. */
extern volatile sig_atomic_t operator_stop_flag;

/* SIGTERM and SIGINT stop taking new work; what is in flight finishes and is recorded. */
void operator_catch_stop_signals(void);

/* Opens the runtime, client and one session for a command, with the journal of state_dir
 * and the pipeline when asked. JITRD_OK, or the error with the reason printed (a
 * configuration problem: exit 2). Close with jitrd_online_close either way. */
enum jitrd_err operator_online_open(struct jitrd_online *online,
                                    const struct jitrd_command_options *o, bool journal,
                                    bool pipeline) JITRD_WUR;

/* The deadline of each call, retries included: [service] event_deadline_seconds. */
int64_t operator_request_timeout_ms(const struct jitrd_online *online);

/* "operation: Code: message" of AWS's answer, or "operation: " the client's own reason. */
void operator_describe_failure(char *out, size_t size, const char *operation, enum jitrd_err err,
                               const struct jitrd_iot_result *res, const struct jitrd_diag *diag);

/* The same in place of diag's text. */
void operator_diag_failure(const char *operation, enum jitrd_err err,
                           const struct jitrd_iot_result *res, struct jitrd_diag *diag);

/* The same on standard error as "jitrd: what: ...". */
void operator_print_failure(const char *what, enum jitrd_err err,
                            const struct jitrd_iot_result *res, const struct jitrd_diag *diag);

/* One certificate of a CA's listing. */
struct operator_listed_cert {
	char id[65];
	enum jitrd_iot_status status;
};

struct operator_cert_list {
	struct operator_listed_cert *items; /* owned: free() */
	size_t count, cap;
	int nomem;
};

/* Every certificate of one CA, all pages, appended to l. Errors: those of
 * jitrd_iot_list_certificates_by_ca, JITRD_ERR_NOMEM. */
enum jitrd_err operator_list_ca(struct jitrd_iot_session *s, int64_t timeout_ms, const char *ca_id,
                                struct operator_cert_list *l, struct jitrd_iot_result *res,
                                struct jitrd_diag *diag) JITRD_WUR;

/* PEM of one certificate as a NUL-terminated heap string (free()). Errors: JITRD_ERR_NOMEM. */
enum jitrd_err operator_x509_to_pem(X509 *x, char **out) JITRD_WUR;

/* `jitrd check`'s offline decision on the device certificate in the PEM file device_path with
 * rt at now: *cert (the caller frees it) and *d on JITRD_EXIT_OK; otherwise the problem is
 * printed on standard error and the exit status returned (2: configuration). */
enum jitrd_exit operator_decide_pem(struct jitrd_runtime *rt, const char *device_path, time_t now,
                                    struct jitrd_cert **cert, struct jitrd_decision *d);

/* Worker threads of a long operator job (ca deactivate, cert register): they share lock, take
 * work under it and call operator_pool_leave as they end. The calling thread waits, turns
 * *stop (a signal handler's flag) into `stopping` under the lock, and every progress_ms while
 * workers run copies the counters (counters_size bytes, at most OPERATOR_POOL_COUNTERS_MAX)
 * under the lock and calls tick with the copy (lock not held). Set count after
 * operator_pool_init. */
#define OPERATOR_POOL_COUNTERS_MAX 256
struct operator_pool {
	pthread_mutex_t lock;
	pthread_cond_t finished;
	unsigned running;
	bool stopping; /* read by workers under lock: take no new work */
	volatile sig_atomic_t *stop;
	unsigned progress_ms; /* 0: 250 */
	void (*tick)(void *ctx, const void *counters);
	void *ctx;
	const void *counters;
	size_t counters_size;
	size_t next, count;   /* the next item to take, of count */
	enum jitrd_err fatal; /* the first error that stops the job (journal, session) */
	struct jitrd_diag fatal_diag;
};

/* Zeroes pool and makes its lock and condition variable; tick (may be NULL) gets ctx and a copy
 * of counters_size bytes of counters. Errors: JITRD_ERR_NOMEM. Then operator_pool_cleanup. */
enum jitrd_err operator_pool_init(struct operator_pool *pool, volatile sig_atomic_t *stop,
                                  unsigned progress_ms, void (*tick)(void *, const void *),
                                  void *ctx, const void *counters, size_t counters_size) JITRD_WUR;
void operator_pool_cleanup(struct operator_pool *pool);

/* Starts workers (1..JITRD_OPERATOR_MAX_WORKERS) threads of fn(arg) with the stop signals
 * blocked in them, waits until every one called operator_pool_leave, joins them.
 * JITRD_OK when at least one started and none failed; otherwise JITRD_ERR_NOMEM (no thread)
 * or the pool's fatal error, diag saying why. */
enum jitrd_err operator_pool_run(struct operator_pool *pool, unsigned workers, void *(*fn)(void *),
                                 void *arg, struct jitrd_diag *diag) JITRD_WUR;

/* A worker's session on client; on failure the pool's fatal error is set. */
enum jitrd_err operator_pool_session(struct operator_pool *pool, struct jitrd_iot_client *client,
                                     struct jitrd_iot_session **session) JITRD_WUR;

/* With the lock held: the index of the next item in *index, or false when the pool stops
 * (stopping, a fatal error, no item left). */
bool operator_pool_take(struct operator_pool *pool, size_t *index);

/* Records err as the pool's fatal error (the first one only) with "what: text"; takes the
 * lock. */
void operator_pool_fail(struct operator_pool *pool, enum jitrd_err err, const char *what,
                        const char *text);

/* Called by a worker, lock not held, as its last act on the pool: frees its session. */
void operator_pool_leave(struct operator_pool *pool, struct jitrd_iot_session *session);

#endif
