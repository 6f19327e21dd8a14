/* http_status.h — the health and metrics HTTP server of `jitrd run` ([service] listen):
 * GET /healthz, /readyz and /metrics (DESIGN §4.5) on libmicrohttpd, with its own thread.
 * It serves nothing else, reads no request body and never blocks the service. */
#ifndef JITRD_HTTP_STATUS_H
#define JITRD_HTTP_STATUS_H

#include <stddef.h>

#include "jitrd/error.h"
#include "jitrd/metrics.h"

/* Readiness, asked on every GET /readyz from the server's thread: returns 1 when ready, else
 * 0 with a short reason ("not subscribed", "no valid CRL for CA ...") written into reason
 * (reason_size bytes, NUL-terminated). Must be quick and thread-safe. */
typedef int (*jitrd_ready_fn)(void *ctx, char *reason, size_t reason_size);

struct jitrd_http_status_options {
	const char *listen;            /* "host:port", "[v6]:port"; port 0 = any free port */
	struct jitrd_metrics *metrics; /* borrowed, outlives the server; NULL = empty metrics */
	jitrd_ready_fn ready;          /* NULL = always ready */
	void *ready_ctx;
};

struct jitrd_http_status;

/* Starts serving: 200 "ok" on /healthz; 200 "ready" or 503 with the reason on /readyz;
 * the Prometheus text of options->metrics on /metrics; 404 elsewhere; 405 for methods other
 * than GET and HEAD. At most 256 connections, 64 from one address; 5 s idle timeout, and a
 * request not answered within 5 s of its connection (or of the previous answer on it) is cut
 * off, so clients that trickle their headers cannot keep a probe out. *out written only on success;
 * stop with jitrd_http_status_stop.
 * Errors: JITRD_ERR_INVALID_ARG (NULL options/listen/out), JITRD_ERR_CONFIG (listen is not
 * host:port with a numeric address and a port 0..65535; diag says which), JITRD_ERR_IO
 * (cannot bind: diag names the address), JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_http_status_start(const struct jitrd_http_status_options *options,
                                       struct jitrd_http_status **out,
                                       struct jitrd_diag *diag) JITRD_WUR;

/* The TCP port actually bound (the one picked when listen said port 0). */
unsigned jitrd_http_status_port(const struct jitrd_http_status *server);

/* Stops the server (waits for its thread) and frees it; NULL is fine. */
void jitrd_http_status_stop(struct jitrd_http_status *server);

#endif
