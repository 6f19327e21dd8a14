/* lambda_runtime.h — private to src/lambda and its tests: how lambda.c reads the Runtime
 * API's answer to GET /runtime/invocation/next (its headers and body, as curl hands them over),
 * so that fuzz targets feed it bytes without a Runtime API. */
#ifndef JITRD_LAMBDA_RUNTIME_H
#define JITRD_LAMBDA_RUNTIME_H

#include <stddef.h>

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

/* 1 when id can be a request id (it goes into a URL path): [A-Za-z0-9._-]+. */
int jitrd_lambda_request_id_valid(const char *id);

#endif
