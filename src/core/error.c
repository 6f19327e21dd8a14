/* error.c — message table of enum jitrd_err and the diagnostic helpers.
 * Pure: formats into caller buffers, no I/O. */
#include "jitrd/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const messages[] = {
    [JITRD_OK] = "success",
    [JITRD_ERR_NOMEM] = "out of memory",
    [JITRD_ERR_INVALID_ARG] = "invalid argument",
    [JITRD_ERR_TOO_LARGE] = "input too large",
    [JITRD_ERR_MALFORMED] = "malformed input",
    [JITRD_ERR_MISSING_FIELD] = "missing field",
    [JITRD_ERR_BAD_FIELD] = "bad field",
    [JITRD_ERR_IO] = "input/output error",
    [JITRD_ERR_CERT_SIGNATURE] = "certificate not signed by its CA",
    [JITRD_ERR_CERT_NOT_YET_VALID] = "certificate not yet valid",
    [JITRD_ERR_CERT_EXPIRED] = "certificate expired",
    [JITRD_ERR_CERT_IS_CA] = "certificate is a CA certificate",
    [JITRD_ERR_FIELD_ABSENT] = "certificate lacks the field",
    [JITRD_ERR_FIELD_AMBIGUOUS] = "field present more than once",
    [JITRD_ERR_UNKNOWN_CA] = "unknown CA",
    [JITRD_ERR_CRL_SIGNATURE] = "CRL signature invalid",
    [JITRD_ERR_CRL_EXPIRED] = "CRL past its nextUpdate",
    [JITRD_ERR_CRL_NOT_YET_VALID] = "CRL not yet valid",
    [JITRD_ERR_CRL_CRITICAL_EXT] = "CRL has an unknown critical extension",
    [JITRD_ERR_CRL_DELTA] = "delta CRL refused",
    [JITRD_ERR_NO_CRL] = "no valid CRL for the CA",
    [JITRD_ERR_TEMPLATE] = "template error",
    [JITRD_ERR_FORBIDDEN_CHAR] = "value holds a character that could widen a grant",
    [JITRD_ERR_NAME_PATTERN] = "name outside AWS's pattern",
    [JITRD_ERR_POLICY_TOO_LONG] = "policy document over 2048 characters",
    [JITRD_ERR_CONFIG] = "configuration error",
    [JITRD_ERR_CRYPTO] = "cryptographic library error",
    [JITRD_ERR_DUPLICATE] = "duplicate",
    [JITRD_ERR_API] = "AWS API error",
    [JITRD_ERR_THROTTLED] = "throttled",
    [JITRD_ERR_TIMEOUT] = "timed out",
    [JITRD_ERR_NETWORK] = "network error",
    [JITRD_ERR_DEADLINE] = "deadline passed",
    [JITRD_ERR_BAD_RESPONSE] = "bad response",
    [JITRD_ERR_CREDENTIALS] = "no usable AWS credentials",
    [JITRD_ERR_SIGNATURE] = "signature does not match",
    [JITRD_ERR_CRL_ROLLBACK] = "CRL number below the highest accepted before (rollback)",
};

const char *jitrd_strerror(enum jitrd_err err)
{
	if ((unsigned)err >= sizeof(messages) / sizeof(messages[0]) || !messages[err])
		return "unknown error";
	return messages[err];
}

void jitrd_diag_set(struct jitrd_diag *diag, const char *fmt, ...)
{
	va_list ap;

	if (!diag)
		return;
	va_start(ap, fmt);
	vsnprintf(diag->text, sizeof(diag->text), fmt, ap);
	va_end(ap);
}

void jitrd_diag_prefix(struct jitrd_diag *diag, const char *prefix)
{
	char inner[sizeof(diag->text)];

	if (!diag)
		return;
	memcpy(inner, diag->text, sizeof(inner));
	inner[sizeof(inner) - 1] = '\0';
	jitrd_diag_set(diag, "%.150s: %.350s", prefix, inner);
}

void jitrd_quote(char *out, size_t out_size, const char *in, size_t in_len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	size_t i;

	if (out_size == 0)
		return;
	for (i = 0; i < in_len; i++) {
		unsigned char c = (unsigned char)in[i];
		/* room for "\xNN" plus "..." plus NUL */
		if (o + 4 + 3 + 1 > out_size) {
			if (o + 3 + 1 <= out_size) {
				out[o++] = '.';
				out[o++] = '.';
				out[o++] = '.';
			}
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}
