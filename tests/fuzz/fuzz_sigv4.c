/* fuzz_sigv4.c — libFuzzer target for SigV4's parsers and canonical-request building: the
 * X-Amz-Date parser (a parse that succeeds must format back to the same 16 characters), and
 * a request read from the bytes (method, path, query, header lines, payload) through stage 1
 * to the signature, checking the canonical request's shape (AWS SigV4 docs, "Create a
 * canonical request"): the method line, sorted lower-case signed headers each with its own
 * line, and the payload hash as 64 lower-case hex digits. abort() is allowed here only. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jitrd/sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELD 8192

/* The next '\n'-terminated field of data into out (NUL-terminated, cut at MAX_FIELD - 1). */
static const uint8_t *next_line(const uint8_t *at, const uint8_t *end, char *out)
{
	size_t n = 0;

	while (at < end && *at != '\n') {
		if (n < MAX_FIELD - 1)
			out[n++] = (char)*at;
		at++;
	}
	out[n] = '\0';
	return at < end ? at + 1 : at;
}

static int is_lower_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static void check_date(const uint8_t *data, size_t size)
{
	char text[64], again[17];
	time_t when = (time_t)-7;
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;

	memcpy(text, data, n);
	text[n] = '\0';
	if (jitrd_sigv4_parse_amz_date(text, &when) == 0) {
		if (jitrd_sigv4_amz_date(when, again) != 0 || strcmp(again, text) != 0)
			abort();
	} else if (when != (time_t)-7) {
		abort(); /* written on failure */
	}
}

/* Every name of signed_headers ("a;b;c": lower case, strictly ascending) has its
 * "name:" line in the canonical request's header block. */
static void check_signed_headers(const char *canonical, const char *signed_headers)
{
	const char *at = signed_headers, *prev = NULL;
	size_t prev_len = 0;

	if (!*at)
		abort(); /* host at least */
	while (*at) {
		size_t n = strcspn(at, ";");
		char line[JITRD_SIGV4_MAX_NAME_LEN + 3];

		if (n == 0 || n > JITRD_SIGV4_MAX_NAME_LEN)
			abort();
		for (size_t i = 0; i < n; i++)
			if (at[i] >= 'A' && at[i] <= 'Z')
				abort();
		if (prev) {
			int c = memcmp(prev, at, prev_len < n ? prev_len : n);
			if (c > 0 || (c == 0 && prev_len >= n))
				abort();
		}
		line[0] = '\n';
		memcpy(line + 1, at, n);
		line[n + 1] = ':';
		line[n + 2] = '\0';
		if (!strstr(canonical, line))
			abort();
		prev = at;
		prev_len = n;
		at += n;
		if (*at == ';')
			at++;
	}
}

static void check_request(const uint8_t *data, size_t size, unsigned flags)
{
	static char method[MAX_FIELD], path[MAX_FIELD], query[MAX_FIELD];
	static char lines[JITRD_SIGV4_MAX_HEADERS + 2][MAX_FIELD];
	struct jitrd_sigv4_header headers[JITRD_SIGV4_MAX_HEADERS + 2];
	struct jitrd_sigv4_header extra[] = {{"x-amz-date", "20150830T123600Z"}};
	struct jitrd_sigv4_request req = {0};
	struct jitrd_sigv4_scope scope = {"us-east-1", "service", (time_t)1440938160};
	struct jitrd_sigv4_credentials creds = {"AKIDEXAMPLE",
	                                        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};
	const uint8_t *at = data, *end = data + size;
	char *canonical = NULL, *signed_headers = NULL, *again = NULL, *again_signed = NULL;
	char *sts = NULL, signature[65];
	size_t n = 0, method_len;
	enum jitrd_err err;

	at = next_line(at, end, method);
	at = next_line(at, end, path);
	at = next_line(at, end, query);
	while (at < end && *at != '\n' && n < JITRD_SIGV4_MAX_HEADERS + 2) {
		char *colon;

		at = next_line(at, end, lines[n]);
		colon = strchr(lines[n], ':');
		if (!colon)
			continue;
		*colon = '\0';
		headers[n].name = lines[n];
		headers[n].value = colon + 1;
		n++;
	}
	if (at < end && *at == '\n')
		at++;
	req.method = method;
	req.path = path;
	req.query = (flags & 4) ? NULL : query;
	req.headers = headers;
	req.header_count = n;
	req.payload = at;
	req.payload_len = (size_t)(end - at);
	req.normalize_path = (flags & 1) != 0;
	req.sign_payload_hash = (flags & 2) != 0;
	err = jitrd_sigv4_canonical_request(&req, extra, 1, &canonical, &signed_headers);
	if (err != JITRD_OK) {
		if (canonical || signed_headers)
			abort(); /* written on failure */
		return;
	}
	/* "METHOD\n" first, the payload hash last */
	method_len = strlen(method);
	if (strncmp(canonical, method, method_len) != 0 || canonical[method_len] != '\n')
		abort();
	{
		const char *last = strrchr(canonical, '\n');
		if (!last || !is_lower_hex(last + 1, 64))
			abort();
	}
	if (strchr(canonical, '\r'))
		abort();
	if (strlen(canonical) > JITRD_SIGV4_MAX_CANONICAL_LEN)
		abort();
	check_signed_headers(canonical, signed_headers);
	/* the same request gives the same bytes */
	if (jitrd_sigv4_canonical_request(&req, extra, 1, &again, &again_signed) != JITRD_OK ||
	    strcmp(again, canonical) != 0 || strcmp(again_signed, signed_headers) != 0)
		abort();
	/* stages 2 and 3 accept whatever stage 1 made */
	if (jitrd_sigv4_string_to_sign(canonical, &scope, &sts) != JITRD_OK ||
	    jitrd_sigv4_signature(sts, &creds, &scope, signature) != JITRD_OK ||
	    !is_lower_hex(signature, 64))
		abort();
	free(sts);
	free(again);
	free(again_signed);
	free(canonical);
	free(signed_headers);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	/* First byte: 'D' a date alone; anything else picks the request flags. */
	if (data[0] == 'D') {
		check_date(data + 1, size - 1);
		return 0;
	}
	check_date(data, size);
	check_request(data + 1, size - 1, data[0]);
	return 0;
}
