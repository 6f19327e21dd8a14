/* stub_server.h — test-only HTTP stand-ins on 127.0.0.1, port 0: a libmicrohttpd server that
 * hands each request (raw path and query, headers, body) to a handler, and a raw TCP server
 * that answers with scripted bytes (for broken framing, resets and stalls). Also a server-side
 * SigV4 check built on the sigv4 module. */
#ifndef JITRD_STUB_SERVER_H
#define JITRD_STUB_SERVER_H

#include <stddef.h>

#define STUB_MAX_HEADERS 64

struct stub_request {
	char method[16];
	char path[2048];  /* raw, as sent */
	char query[4096]; /* raw, without '?', "" when none */
	size_t header_count;
	struct {
		char name[128];
		char value[8192];
	} headers[STUB_MAX_HEADERS];
	char *body; /* NUL-terminated */
	size_t body_len;
};

/* The handler fills this; body is copied by the server. */
struct stub_response {
	int status;               /* default 200 */
	const char *content_type; /* default application/json */
	const char *body;         /* default "" */
	const char *error_type;   /* x-amzn-ErrorType when not NULL */
	int delay_ms;             /* sleep before answering */
};

typedef void (*stub_handler)(void *ctx, const struct stub_request *req, struct stub_response *resp);

struct stub_server;

/* NULL on failure (the test fails). Handlers run on MHD's threads, one per connection. */
struct stub_server *stub_start(stub_handler handler, void *ctx);
const char *stub_url(const struct stub_server *s); /* "http://127.0.0.1:PORT" */
int stub_requests(struct stub_server *s);          /* requests answered so far */
int stub_connections(struct stub_server *s);       /* TCP connections accepted so far */
void stub_stop(struct stub_server *s);             /* NULL is fine */

/* Case-insensitive header lookup; NULL when absent. */
const char *stub_header(const struct stub_request *req, const char *name);

/* 0 when req's Authorization header is a valid SigV4 signature by (key_id, secret) for
 * region/service at the request's own X-Amz-Date; -1 otherwise. */
int stub_verify_sigv4(const struct stub_request *req, const char *key_id, const char *secret,
                      const char *session_token, const char *region, const char *service);

/* Raw server: for each accepted connection, reads one request (headers and Content-Length
 * body), then performs script: writes `reply` (may be NULL), sleeps delay_ms, and closes the
 * connection, with a TCP reset when reset is 1. Runs until stopped. */
struct raw_script {
	const char *reply;
	size_t reply_len; /* 0 = strlen(reply) */
	int delay_before_ms;
	int reset;
	int keep_open_ms; /* after writing, wait this long before closing */
};
struct raw_server;
struct raw_server *raw_start(const struct raw_script *script);
const char *raw_url(const struct raw_server *s);
int raw_requests(struct raw_server *s);
void raw_stop(struct raw_server *s);

#endif

/* The real iot-emulator ($JITRD_BUILD_ROOT/src/emulator/iot-emulator) on 127.0.0.1, port 0,
 * with the given credentials. NULL when the binary is absent or does not start. */
struct emulator;
struct emulator *emulator_start(const char *key_id, const char *secret);
const char *emulator_url(const struct emulator *e);
void emulator_stop(struct emulator *e); /* SIGTERM, then waits; NULL is fine */
