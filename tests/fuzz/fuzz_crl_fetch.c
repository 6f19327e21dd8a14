/* fuzz_crl_fetch.c — libFuzzer target for what src/aws/crl_fetch.c reads from a response or a
 * CRL URL: response header lines (ETag, Last-Modified), s3:// URLs and where they resolve to,
 * and S3's error documents (<Code>). Invariants: validators are kept whole or not at all and
 * only as printable ASCII; an s3:// URL that parses rebuilds the input exactly, with a bucket
 * and key within S3's rules, and resolves to an https URL of printable ASCII without spaces;
 * an error code found is [A-Za-z0-9.] and sits between <Code> and </Code> in the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crl_fetch_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_validator(const char *v)
{
	size_t n = strnlen(v, JITRD_CRL_FETCH_VALIDATOR_MAX);

	if (n == JITRD_CRL_FETCH_VALIDATOR_MAX)
		abort(); /* not NUL-terminated within its buffer */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			abort();
	if (n > 0 && !jitrd_crl_fetch_validator_ok(v))
		abort(); /* kept, but not sendable back */
}

/* Header lines as curl hands them over, one by one, '\n' included. */
static void check_headers(const uint8_t *data, size_t size)
{
	struct jitrd_crl_fetch_validators v = {{0}, {0}};
	const uint8_t *end = data + size;

	for (const uint8_t *line = data; line < end;) {
		const uint8_t *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl - line) + 1 : (size_t)(end - line);

		jitrd_crl_fetch_header_line((const char *)line, n, &v);
		check_validator(v.etag);
		check_validator(v.last_modified);
		line += n;
	}
}

/* The input as an s3:// URL (up to a NUL byte). */
static void check_s3_url(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct jitrd_crl_fetch_s3_object obj, *before;
	struct jitrd_crl_fetch_s3_target *t;
	struct jitrd_crl_fetch_s3 s3 = {"us-east-1", "", false, NULL};
	size_t bucket_len, key_len;

	before = malloc(sizeof(*before));
	if (!text || !before) {
		free(text);
		free(before);
		return;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&obj, 0x5a, sizeof(obj));
	memcpy(before, &obj, sizeof(obj));
	if (jitrd_crl_fetch_s3_parse(text, &obj, NULL) != JITRD_OK) {
		if (memcmp(&obj, before, sizeof(obj)) != 0)
			abort(); /* written on failure */
		free(before);
		free(text);
		return;
	}
	free(before);
	bucket_len = strlen(obj.bucket);
	key_len = strlen(obj.key);
	if (bucket_len < 3 || bucket_len > 63 || key_len < 1 || key_len > 1024 ||
	    strspn(obj.bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") != bucket_len ||
	    strpbrk(obj.key, "?#") || strncasecmp(text, "s3://", 5) != 0 ||
	    strlen(text) != 5 + bucket_len + 1 + key_len ||
	    memcmp(text + 5, obj.bucket, bucket_len) != 0 || text[5 + bucket_len] != '/' ||
	    strcmp(text + 6 + bucket_len, obj.key) != 0)
		abort();
	free(text);
	t = malloc(sizeof(*t));
	if (!t)
		return;
	for (int style = 0; style < 2; style++) {
		s3.path_style = style == 1;
		if (jitrd_crl_fetch_s3_target(&s3, &obj, t, NULL) != JITRD_OK ||
		    strncmp(t->url, "https://", 8) != 0)
			abort();
		for (const char *p = t->url; *p; p++)
			if (*p <= 0x20 || *p >= 0x7f)
				abort();
	}
	free(t);
}

static void check_error_code(const uint8_t *data, size_t size)
{
	char code[64];
	const char *at;
	size_t n;

	memset(code, 'x', sizeof(code));
	if (!jitrd_crl_fetch_s3_error_code((const char *)data, size, code, sizeof(code))) {
		if (code[0] != '\0')
			abort();
		return;
	}
	n = strnlen(code, sizeof(code));
	if (n == 0 || n == sizeof(code) ||
	    strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.") != n)
		abort();
	/* the first <Code> of the input */
	at = NULL;
	for (size_t i = 0; i + 6 <= size && !at; i++)
		if (memcmp(data + i, "<Code>", 6) == 0)
			at = (const char *)data + i;
	if (!at || (size_t)(at - (const char *)data) + 6 + n + 7 > size ||
	    memcmp(at + 6, code, n) != 0 || memcmp(at + 6 + n, "</Code>", 7) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_headers(data, size);
	check_error_code(data, size);
	check_s3_url(data, size);
	return 0;
}
