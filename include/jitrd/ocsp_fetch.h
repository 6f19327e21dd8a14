/* ocsp_fetch.h — one OCSP exchange: the DER request POSTed to an http:// or https:// responder
 * (RFC 6960 Appendix A.1, application/ocsp-request), the DER response back, with a timeout, a
 * size cap, no redirects and TLS verification always on. The bytes are not judged here: the
 * core OCSP module does that. */
#ifndef JITRD_OCSP_FETCH_H
#define JITRD_OCSP_FETCH_H

#include <stddef.h>

#include "jitrd/error.h"

struct jitrd_ocsp_fetch_options {
	const char *url;     /* http:// or https:// */
	long timeout_ms;     /* > 0: the whole exchange, connection included */
	size_t max_size;     /* 0: JITRD_OCSP_RESPONSE_MAX */
	const char *ca_file; /* NULL: the system CA store; else only this PEM bundle */
};

/* POSTs the request (request_len bytes) to opts->url. On JITRD_OK *response (owned by the
 * caller: free()) holds the body of a 200 answer, *response_len its length; on error they are
 * untouched and diag says why, naming the URL without userinfo or query. Errors:
 * JITRD_ERR_INVALID_ARG (NULL, empty request, a scheme other than http/https, before any I/O),
 * JITRD_ERR_TIMEOUT, JITRD_ERR_NETWORK, JITRD_ERR_BAD_RESPONSE (a status other than 200, a
 * redirect, a body over the cap, broken framing), JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_ocsp_fetch(const struct jitrd_ocsp_fetch_options *opts,
                                const unsigned char *request, size_t request_len,
                                unsigned char **response, size_t *response_len,
                                struct jitrd_diag *diag) JITRD_WUR;

/* url without userinfo, query and fragment (they may hold a credential or a signature) into
 * out, for logs and messages; "(unparsable URL)" when it does not parse or fit. */
void jitrd_ocsp_fetch_redact_url(const char *url, char *out, size_t out_size);

#endif
