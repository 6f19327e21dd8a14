/* fuzz_awshttp.c — libFuzzer target for what src/aws/awshttp.c reads from a response or an
 * untrusted setting: response header lines (x-amzn-ErrorType), ISO 8601 times (credential
 * expirations), URLs (endpoints from the environment) and the URI encoder. Invariants: the
 * error type is bounded, NUL-terminated and trimmed; a time that parses formats back to the
 * same date and time (and agrees with SigV4's formatter); an allowed URL is https or http to
 * loopback; encoding keeps only unreserved bytes and %XX and decodes back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "awshttp.h"
#include "jitrd/sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Header lines as curl hands them over, one by one, CRLF included. */
static void check_headers(const uint8_t *data, size_t size)
{
	char error_type[JITRD_AWSHTTP_ERROR_TYPE_MAX];
	size_t at = 0;

	memset(error_type, 'x', sizeof(error_type));
	error_type[0] = '\0';
	while (at < size) {
		size_t n = 0, len;

		while (at + n < size && data[at + n] != '\n')
			n++;
		if (at + n < size)
			n++; /* the '\n' belongs to the line */
		jitrd_awshttp_header_line((const char *)data + at, n, error_type);
		len = strnlen(error_type, sizeof(error_type));
		if (len == sizeof(error_type))
			abort(); /* not NUL-terminated within its buffer */
		if (n >= 5 && memcmp(data + at, "HTTP/", 5) == 0 && len != 0)
			abort(); /* a status line starts afresh */
		/* the value of this line trimmed (a NUL byte inside it ends the C string early:
		 * not judged) */
		if (n > 17 && strncasecmp((const char *)data + at, "x-amzn-errortype:", 17) == 0 &&
		    len > 0 && len < sizeof(error_type) - 1 && !memchr(data + at, '\0', n) &&
		    (error_type[0] == ' ' || error_type[0] == '\t' ||
		     strchr("\r\n ", error_type[len - 1])))
			abort();
		at += n;
	}
}

static void check_time(const char *text)
{
	time_t when = (time_t)-7;
	char amz[17], expect[17];

	if (jitrd_awshttp_parse_iso8601(text, &when) != JITRD_OK) {
		if (when != (time_t)-7)
			abort(); /* written on failure */
		return;
	}
	/* YYYY-MM-DDTHH:MM:SS... as SigV4's YYYYMMDDTHHMMSSZ */
	memcpy(expect, text, 4);
	memcpy(expect + 4, text + 5, 2);
	memcpy(expect + 6, text + 8, 2);
	expect[8] = 'T';
	memcpy(expect + 9, text + 11, 2);
	memcpy(expect + 11, text + 14, 2);
	memcpy(expect + 13, text + 17, 2);
	expect[15] = 'Z';
	expect[16] = '\0';
	if (when < 0 || jitrd_sigv4_amz_date(when, amz) != 0 || strcmp(amz, expect) != 0)
		abort();
}

static void check_url(const char *text)
{
	char scheme[16], host[256], path[1024];
	long port = 0;
	int allowed = jitrd_awshttp_url_allowed(text);

	/* url_allowed judges scheme and host only (a port 0 is left to the connection) */
	if (jitrd_awshttp_url_parts(text, scheme, sizeof(scheme), host, sizeof(host), NULL, path,
	                            sizeof(path)) != JITRD_OK) {
		if (allowed)
			abort(); /* allowed without parts */
		return;
	}
	if (strnlen(host, sizeof(host)) == sizeof(host) ||
	    strnlen(scheme, sizeof(scheme)) == sizeof(scheme))
		abort();
	if (allowed && strcasecmp(scheme, "https") != 0 &&
	    !(strcasecmp(scheme, "http") == 0 && jitrd_awshttp_host_is_loopback(host)))
		abort();
	/* a port, when it parses, is a TCP port */
	if (jitrd_awshttp_url_parts(text, NULL, 0, NULL, 0, &port, NULL, 0) == JITRD_OK &&
	    (port <= 0 || port > 65535))
		abort();
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void check_encode(const uint8_t *data, size_t size)
{
	char *enc = jitrd_awshttp_uri_encode((const char *)data, size);
	size_t o = 0, i = 0, n;

	if (!enc)
		return; /* allocation failure only */
	n = strlen(enc);
	while (i < n) {
		int c = (unsigned char)enc[i];
		if (c == '%') {
			int hi = i + 2 < n ? hex_value(enc[i + 1]) : -1;
			int lo = hi >= 0 ? hex_value(enc[i + 2]) : -1;
			if (hi < 0 || lo < 0 || o >= size || data[o] != (uint8_t)(hi * 16 + lo))
				abort();
			i += 3;
		} else {
			if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
			      c == '~'))
				abort();
			if (o >= size || data[o] != (uint8_t)c)
				abort();
			i++;
		}
		o++;
	}
	if (o != size)
		abort();
	free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	check_headers(data, size);
	check_encode(data, size);
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	check_time(text);
	check_url(text);
	free(text);
	return 0;
}
