/* error.h — the one error enum of jitrd and its message table.
 * Numbers are part of the interface: never reuse or renumber one; add at the end. */
#ifndef JITRD_ERROR_H
#define JITRD_ERROR_H

#include <stddef.h>

#define JITRD_WUR __attribute__((warn_unused_result))

enum jitrd_err {
	JITRD_OK = 0,
	JITRD_ERR_NOMEM = 1,
	JITRD_ERR_INVALID_ARG = 2,
	JITRD_ERR_TOO_LARGE = 3, /* input over its stated maximum */
	JITRD_ERR_MALFORMED = 4, /* syntax: not JSON, not PEM, truncated... */
	JITRD_ERR_MISSING_FIELD = 5,
	JITRD_ERR_BAD_FIELD = 6, /* a field of the wrong type or form */
	JITRD_ERR_IO = 7,
	JITRD_ERR_CERT_SIGNATURE = 8, /* not signed by the expected CA */
	JITRD_ERR_CERT_NOT_YET_VALID = 9,
	JITRD_ERR_CERT_EXPIRED = 10,
	JITRD_ERR_CERT_IS_CA = 11,
	JITRD_ERR_FIELD_ABSENT = 12,    /* a subject field the certificate lacks */
	JITRD_ERR_FIELD_AMBIGUOUS = 13, /* a subject field present more than once */
	JITRD_ERR_UNKNOWN_CA = 14,
	JITRD_ERR_CRL_SIGNATURE = 15,
	JITRD_ERR_CRL_EXPIRED = 16, /* past nextUpdate */
	JITRD_ERR_CRL_NOT_YET_VALID = 17,
	JITRD_ERR_CRL_CRITICAL_EXT = 18,
	JITRD_ERR_CRL_DELTA = 19,
	JITRD_ERR_NO_CRL = 20,         /* no valid CRL for this CA */
	JITRD_ERR_TEMPLATE = 21,       /* template syntax or unknown placeholder */
	JITRD_ERR_FORBIDDEN_CHAR = 22, /* a value that would widen a grant */
	JITRD_ERR_NAME_PATTERN = 23,   /* rendered name outside AWS's pattern */
	JITRD_ERR_POLICY_TOO_LONG = 24,
	JITRD_ERR_CONFIG = 25,
	JITRD_ERR_CRYPTO = 26, /* an OpenSSL call failed unexpectedly */
	JITRD_ERR_DUPLICATE = 27,
	/* AWS API and network (the client and emulator) */
	JITRD_ERR_API = 28,          /* AWS answered with an error that is final (details in
	                              * the call's API result: code, message, HTTP status) */
	JITRD_ERR_THROTTLED = 29,    /* throttled past the retry budget */
	JITRD_ERR_TIMEOUT = 30,      /* a request timed out */
	JITRD_ERR_NETWORK = 31,      /* connection refused, reset, TLS failure */
	JITRD_ERR_DEADLINE = 32,     /* the caller's deadline passed before success */
	JITRD_ERR_BAD_RESPONSE = 33, /* truncated, oversized or malformed response */
	JITRD_ERR_CREDENTIALS = 34,  /* no credentials, or a provider failed */
	JITRD_ERR_SIGNATURE = 35,    /* a request's SigV4 signature does not verify */
	JITRD_ERR_CRL_ROLLBACK = 36, /* a CRL numbered below the highest one accepted before */
};

/* Static, never NULL; "unknown error" for a number outside the table. */
const char *jitrd_strerror(enum jitrd_err err);

/* Where and why an operation failed, for the operator. Never holds a secret. */
struct jitrd_diag {
	char text[512];
};

/* Formats into diag (a NULL diag is fine: nothing is written). Truncates. */
void jitrd_diag_set(struct jitrd_diag *diag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepends "prefix: " to the text already in diag (NULL is fine). Truncates. */
void jitrd_diag_prefix(struct jitrd_diag *diag, const char *prefix);

/* Quote an untrusted string for a message: printable ASCII kept, the rest as \xNN,
 * at most max_in input bytes (then "..."). out always NUL-terminated. */
void jitrd_quote(char *out, size_t out_size, const char *in, size_t in_len);

#endif
