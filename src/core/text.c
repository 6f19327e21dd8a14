/* text.c — text helpers shared by the core modules: strict UTF-8 (RFC 3629), lowercase hex,
 * RFC 3339 UTC times. Pure: no I/O, no clock (time is an argument), no allocation, no
 * logging; each helper exists once so the modules cannot disagree on what valid means. */
#include "jitrd/text.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

size_t jitrd_utf8_sequence(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf; /* range of the first continuation byte */
	size_t need;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong below U+0800 */
		else if (c == 0xed)
			hi = 0x9f; /* UTF-16 surrogates U+D800..U+DFFF */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong below U+10000 */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0; /* continuation byte, 0xc0/0xc1 overlongs, 0xf5.. */
	}
	if (n < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t k = 2; k < need; k++) {
		if (s[k] < 0x80 || s[k] > 0xbf)
			return 0;
	}
	return need;
}

size_t jitrd_utf8_invalid_at(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;

	while (i < len) {
		size_t n = jitrd_utf8_sequence(s + i, len - i);

		if (n == 0)
			return i;
		i += n;
	}
	return len;
}

static int hex_digit_lower(char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
		return c;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 'a';
	return -1;
}

bool jitrd_hex_lower_copy(const char *text, size_t len, char *out)
{
	if (!text)
		return false;
	/* Checked whole first, so out is written only on success. A short NUL-terminated text
	 * stops at its NUL: '\0' is not a hex digit. */
	for (size_t i = 0; i < len; i++) {
		if (hex_digit_lower(text[i]) < 0)
			return false;
	}
	if (out) {
		for (size_t i = 0; i < len; i++)
			out[i] = (char)hex_digit_lower(text[i]);
		out[len] = '\0';
	}
	return true;
}

bool jitrd_is_hex_id(const char *s)
{
	/* Stops at the NUL of a short string: '\0' is not a hex digit. */
	return jitrd_hex_lower_copy(s, JITRD_ID_HEX_LEN, NULL) && s[JITRD_ID_HEX_LEN] == '\0';
}

void jitrd_hex_encode(const unsigned char *bytes, size_t len, char *out, size_t out_size)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;

	if (out_size == 0)
		return;
	for (size_t i = 0; i < len && o + 2 < out_size; i++) {
		out[o++] = digits[bytes[i] >> 4];
		out[o++] = digits[bytes[i] & 15];
	}
	out[o] = '\0';
}

/* The broken-down UTC time of t when it has an RFC 3339 form (years 0000-9999). */
static bool rfc3339_parts(time_t t, struct tm *tm)
{
	if (!gmtime_r(&t, tm))
		return false;
	return tm->tm_year >= -1900 && tm->tm_year <= 9999 - 1900;
}

void jitrd_format_rfc3339(time_t t, char *out, size_t size)
{
	struct tm tm;

	if (size == 0)
		return;
	if (rfc3339_parts(t, &tm))
		snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
		         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	else
		snprintf(out, size, "@%lld", (long long)t);
}

enum jitrd_err jitrd_format_rfc3339_ms(time_t t, int ms, char *out, size_t size)
{
	char text[JITRD_RFC3339_SIZE];
	struct tm tm;
	int n;

	if (!out || ms < 0 || ms > 999 || !rfc3339_parts(t, &tm))
		return JITRD_ERR_INVALID_ARG;
	n = snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	if (n < 0 || (size_t)n >= size)
		return JITRD_ERR_INVALID_ARG;
	memcpy(out, text, (size_t)n + 1);
	return JITRD_OK;
}

void jitrd_text_copy(char *dst, size_t size, const char *src)
{
	size_t n;

	if (!src)
		src = "";
	n = strnlen(src, size - 1);
	if (src[n] != '\0')
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	memcpy(dst, src, n);
	dst[n] = '\0';
}
