/* notify.h — the service manager notifications of `jitrd run` (systemd's sd_notify protocol:
 * one datagram of "KEY=VALUE\n" lines to the Unix socket named by $NOTIFY_SOCKET): READY,
 * WATCHDOG, RELOADING, STOPPING and STATUS. Without $NOTIFY_SOCKET every call does nothing.
 * It decides when to send, never what the service does; it reads no clock (times are passed). */
#ifndef JITRD_NOTIFY_H
#define JITRD_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "jitrd/error.h"
#include "jitrd/log.h"

#define JITRD_NOTIFY_MESSAGE_MAX 1024 /* bytes of one datagram */
#define JITRD_NOTIFY_STATUS_MAX  512  /* bytes of a STATUS= text, with its NUL */
#define JITRD_NOTIFY_TICK_MAX_MS 1000 /* jitrd_notify_tick never asks to sleep longer */
#define JITRD_NOTIFY_WAIT_MS     100  /* ... nor longer than this before READY was sent */

struct jitrd_notify;

/* Reads NOTIFY_SOCKET ("/path" or "@abstract"), WATCHDOG_USEC and WATCHDOG_PID from envp
 * (NULL-terminated, borrowed for the call) and opens a datagram socket when asked to notify.
 * The watchdog is ours when WATCHDOG_USEC is a positive integer and WATCHDOG_PID is absent or
 * equals pid. log (borrowed, may be NULL, must outlive n) gets a warning when sending starts
 * failing (once per outage, not per message). One thread only: the service's main loop.
 * *out written only on success; free with jitrd_notify_free.
 * Errors: JITRD_ERR_INVALID_ARG (NULL out), JITRD_ERR_CONFIG (NOTIFY_SOCKET neither absolute
 * nor abstract, or too long for a socket address; WATCHDOG_USEC not a number; diag says
 * which), JITRD_ERR_IO (socket() failed), JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_notify_new(const char *const *envp, long pid, struct jitrd_log *log,
                                struct jitrd_notify **out, struct jitrd_diag *diag) JITRD_WUR;

void jitrd_notify_free(struct jitrd_notify *n); /* NULL is fine */

/* True when $NOTIFY_SOCKET was set (messages are sent). NULL gives false. */
bool jitrd_notify_enabled(const struct jitrd_notify *n);

/* The watchdog ping interval: half of WATCHDOG_USEC, in ms (at least 1); 0 when no watchdog
 * is asked of this process. NULL gives 0. */
int64_t jitrd_notify_watchdog_ms(const struct jitrd_notify *n);

/* Sends message (at most JITRD_NOTIFY_MESSAGE_MAX bytes, "KEY=VALUE" lines) as one datagram
 * with the process's credentials. A disabled notifier sends nothing and returns JITRD_OK.
 * Errors: JITRD_ERR_INVALID_ARG (NULL n or message), JITRD_ERR_TOO_LARGE, JITRD_ERR_IO (the
 * manager's socket refused it; diag says why). */
enum jitrd_err jitrd_notify_send(struct jitrd_notify *n, const char *message,
                                 struct jitrd_diag *diag) JITRD_WUR;

/* What the service is at one moment, as the main loop sees it. */
struct jitrd_notify_view {
	int ready;             /* /readyz would answer 200 */
	const char *not_ready; /* its reason when not ready (borrowed; may be NULL) */
	int healthy;           /* every worker thread is alive, the main loop turns and the
	                        * source is not stuck without its subscription */
	const char *unhealthy; /* why not healthy (borrowed; NULL = a worker thread ended) */
	uint64_t events;       /* events judged so far */
};

/* Called from the main loop at monotonic time now_ms: sends READY=1 the first time view->ready
 * (never before), WATCHDOG=1 when a ping is due and view->healthy (none while unhealthy, so
 * the manager restarts a stuck service), and STATUS= whenever the summary text changes.
 * Send failures are logged, not returned. Returns how many ms the loop may sleep before the
 * next call: at most JITRD_NOTIFY_TICK_MAX_MS, JITRD_NOTIFY_WAIT_MS before READY, and no
 * later than the next ping. n NULL: returns JITRD_NOTIFY_TICK_MAX_MS. */
int64_t jitrd_notify_tick(struct jitrd_notify *n, const struct jitrd_notify_view *view,
                          int64_t now_ms);

/* A reload (SIGHUP) begins: RELOADING=1 with MONOTONIC_USEC=now_usec (CLOCK_MONOTONIC, as
 * systemd 253+ wants it). Nothing before READY was first sent. NULL is fine. */
void jitrd_notify_reloading(struct jitrd_notify *n, uint64_t now_usec);

/* The reload ended (ok 1: the new snapshot is in use; 0: the old one is kept): READY=1 and a
 * STATUS= naming the trigger, the result and wall_now (UTC). NULL is fine. */
void jitrd_notify_reloaded(struct jitrd_notify *n, int ok, const char *trigger, time_t wall_now);

/* Stop begins (signal_name e.g. "SIGTERM"): STOPPING=1 and a STATUS=. NULL is fine. */
void jitrd_notify_stopping(struct jitrd_notify *n, const char *signal_name);

/* The STATUS= summary the notifier last built (for tests and logs); "" before any. */
const char *jitrd_notify_status(const struct jitrd_notify *n);

#endif
