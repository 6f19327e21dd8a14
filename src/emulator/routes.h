/* routes.h — the emulator as a function from an HTTP request to an HTTP response: SigV4 check,
 * routing by the botocore model's method and requestUri, fault injection (rate limits, error
 * rate, latency), counters, the /_emulator/ control plane. Pure: no sockets, no clock (now is
 * passed), no locks — the server calls emu_handle with one mutex held. */
#ifndef JITRD_EMU_ROUTES_H
#define JITRD_EMU_ROUTES_H

#include <stdint.h>

#include <json-c/json.h>

#include "store.h"
#include "verify.h"

#define EMU_MAX_LATENCY_MS 60000
#define EMU_MAX_QUERY      8192

struct emu_config {
	const char *region;
	const char *account_id;
	const char *access_key_id;
	const char *secret_access_key; /* copied; wiped at emu_free */
	const char *registration_code; /* 64 hex */
	unsigned latency_ms;           /* added to every API answer */
	double error_rate;             /* 0..1: share of API calls answered 500/503 */
	uint64_t seed;                 /* for the error-rate draws */
	const char *data_endpoint;     /* DescribeEndpoint iot:Data-ATS answer; NULL = AWS's */
	const char *issuer_cert_pem;   /* CreateKeysAndCertificate's issuer (PEM); NULL = made up */
	const char *issuer_key_pem;    /* its key; given with issuer_cert_pem */
};

struct emu;

/* *out owned by the caller (emu_free). Errors: JITRD_ERR_INVALID_ARG (a field missing or out
 * of range), JITRD_ERR_NOMEM. */
enum jitrd_err emu_new(const struct emu_config *config, struct emu **out) JITRD_WUR;
void emu_free(struct emu *emu); /* NULL is fine */

/* "Operation=N" from --rate-limit: N requests per second (decimal, > 0) for that operation.
 * Errors: JITRD_ERR_INVALID_ARG (unknown operation, bad number), with a reason in diag. */
enum jitrd_err emu_set_rate_limit(struct emu *emu, const char *spec,
                                  struct jitrd_diag *diag) JITRD_WUR;

struct emu_response {
	int status;
	char error_type[48];      /* x-amzn-ErrorType, "" on success */
	struct json_object *body; /* owned: the JSON answer */
	unsigned delay_ms;        /* injected latency the server waits before answering */
	struct emu_event event;   /* a registration event to publish; topic NULL when none */
};

/* Frees what the response owns and zeroes it. NULL is fine. */
void emu_response_cleanup(struct emu_response *res);

/* Answers one request. req->path and req->query are raw (percent-encoded as sent). now_ms is
 * the wall clock. *out is written on JITRD_OK (every HTTP answer, errors included);
 * JITRD_ERR_NOMEM when memory ran out (the server answers 500 itself). */
enum jitrd_err emu_handle(struct emu *emu, const struct emu_http_request *req, int64_t now_ms,
                          struct emu_response *out) JITRD_WUR;

/* The store, for tests. */
struct emu_store *emu_store(struct emu *emu);

#endif
