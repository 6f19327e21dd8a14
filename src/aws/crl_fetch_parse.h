/* crl_fetch_parse.h — private to src/aws and its tests: the stages of crl_fetch.c that read
 * untrusted text (response header lines, URLs), exposed for table-driven negative tests. */
#ifndef JITRD_CRL_FETCH_PARSE_H
#define JITRD_CRL_FETCH_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "jitrd/crl_fetch.h"

struct jitrd_crl_fetch_validators {
	char etag[JITRD_CRL_FETCH_VALIDATOR_MAX];
	char last_modified[JITRD_CRL_FETCH_VALIDATOR_MAX];
};

/* One response header line as curl hands it (n bytes, not NUL-terminated, CRLF included). A
 * status line ("HTTP/...") empties both validators (a redirect's do not count); "ETag: V" and
 * "Last-Modified: V" put V (trimmed) in place when it is 1..JITRD_CRL_FETCH_VALIDATOR_MAX-1
 * bytes of printable ASCII, and otherwise empty it: never cut, never a control byte. */
void jitrd_crl_fetch_header_line(const char *data, size_t n, struct jitrd_crl_fetch_validators *v);

/* Whether s (NUL-terminated) is a validator jitrd may keep and send back. */
bool jitrd_crl_fetch_validator_ok(const char *s);

/* url without userinfo, query and fragment into out; "(unparsable URL)" when it does not
 * parse or does not fit. out is always NUL-terminated. */
void jitrd_crl_fetch_redact_url(const char *url, char *out, size_t out_size);

#endif
