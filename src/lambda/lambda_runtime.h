/* lambda_runtime.h — private to src/lambda and its tests: the Runtime API client
 * (runtime_api.c) that lambda.c drives, and how it reads the answer to GET
 * /runtime/invocation/next (its headers and body, as curl hands them over), so that fuzz
 * targets feed it bytes without a Runtime API. */
#ifndef JITRD_LAMBDA_RUNTIME_H
#define JITRD_LAMBDA_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "jitrd/error.h"

#define REQUEST_ID_MAX   128
#define TRACE_ID_MAX     1024
#define FUNCTION_ARN_MAX 2048

/* One invocation as received ("Using the Lambda runtime API for custom runtimes"): the
 * headers' values (trimmed, NUL-terminated, "" when absent) and the payload. */
struct jitrd_lambda_invocation {
	char request_id[REQUEST_ID_MAX + 1];     /* Lambda-Runtime-Aws-Request-Id */
	char deadline_ms[32];                    /* Lambda-Runtime-Deadline-Ms */
	char trace_id[TRACE_ID_MAX + 1];         /* Lambda-Runtime-Trace-Id */
	char function_arn[FUNCTION_ARN_MAX + 1]; /* Lambda-Runtime-Invoked-Function-Arn */
	int header_too_long;                     /* a header we use was over its bound */
	char *payload; /* NUL-terminated (len excludes it); owned, free() */
	size_t len;
	size_t cap;
	int too_large; /* the payload passed JITRD_LAMBDA_MAX_PAYLOAD: kept no further */
};

/* curl's CURLOPT_HEADERFUNCTION with ctx an invocation: one header line (size * nmemb bytes,
 * not NUL-terminated). A status line empties the header fields. Returns size * nmemb. */
size_t jitrd_lambda_on_header(char *line, size_t size, size_t nmemb, void *ctx);

/* curl's CURLOPT_WRITEFUNCTION with ctx an invocation: appends up to the payload bound.
 * Returns size * nmemb, or 0 when memory ran out. */
size_t jitrd_lambda_on_body(char *data, size_t size, size_t nmemb, void *ctx);

/* Whether id can be a request id (it goes into a URL path): [A-Za-z0-9._-]+. */
bool jitrd_lambda_request_id_valid(const char *id);

/* The Runtime API at AWS_LAMBDA_RUNTIME_API. */
struct runtime_api {
	CURL *easy;     /* one connection, kept alive between calls */
	char base[320]; /* http://HOST:PORT/2018-06-01/runtime */
	char curl_error[CURL_ERROR_SIZE];
};

/* The Runtime API at host_port ("host:port", from the environment: nothing else may go into
 * URLs) into *api, closed with runtime_api_close (also after an error; twice is fine).
 * Errors: JITRD_ERR_CONFIG (host_port is not host:port), JITRD_ERR_NOMEM. */
enum jitrd_err runtime_api_open(struct runtime_api *api, const char *host_port) JITRD_WUR;
void runtime_api_close(struct runtime_api *api);

/* GET /runtime/invocation/next: blocks until Lambda has an invocation (no timeout: the
 * environment is frozen meanwhile). *inv is filled (its payload buffer reused and owned by
 * inv: free() it when done); diag says why on an error. Errors: JITRD_ERR_NETWORK (curl),
 * JITRD_ERR_API (a status but 200), JITRD_ERR_BAD_RESPONSE (no usable request id),
 * JITRD_ERR_NOMEM. */
enum jitrd_err runtime_api_next(struct runtime_api *api, struct jitrd_lambda_invocation *inv,
                                struct jitrd_diag *diag) JITRD_WUR;

/* POSTs body (len bytes, borrowed) to base + path with the extra header line (may be NULL).
 * JITRD_OK when the Runtime API accepted it (2xx); else diag says why. Errors:
 * JITRD_ERR_NETWORK, JITRD_ERR_API (another status), JITRD_ERR_NOMEM. */
enum jitrd_err runtime_api_post(struct runtime_api *api, const char *path, const char *header,
                                const char *body, size_t len, struct jitrd_diag *diag) JITRD_WUR;

#endif
