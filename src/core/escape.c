/* escape.c — the one escaper of untrusted values for the log and outcome lines (escape.h):
 * key=value text values and JSON strings, cut at a maximum. Pure: it formats bytes and
 * allocates only the finished line; it must never let a value end a line or forge a key. */
#include "jitrd/escape.h"

#include <stdlib.h>
#include <string.h>

#include "jitrd/text.h"

static const char hex_digits[] = "0123456789abcdef";

void jitrd_escape_put(struct jitrd_escape_line *line, const char *bytes, size_t n)
{
	if (line->overflow || n > SIZE_MAX - 1 - line->len ||
	    (line->buf && n > line->cap - line->len)) {
		line->overflow = true;
		return;
	}
	if (line->buf)
		memcpy(line->buf + line->len, bytes, n);
	line->len += n;
}

void jitrd_escape_put_str(struct jitrd_escape_line *line, const char *text)
{
	jitrd_escape_put(line, text, strlen(text));
}

/* prefix then the byte as two lowercase hex digits: \xNN or \u00NN. */
static void put_hex(struct jitrd_escape_line *line, const char *prefix, unsigned char byte)
{
	char digits[2] = {hex_digits[byte >> 4], hex_digits[byte & 15]};

	jitrd_escape_put_str(line, prefix);
	jitrd_escape_put(line, digits, 2);
}

/* How many bytes of value go out, and whether it was cut there. */
static size_t measure_value(const char *value, size_t max, bool *cut)
{
	size_t len;

	if (max == JITRD_ESCAPE_UNCUT) {
		*cut = false;
		return strlen(value);
	}
	/* value[len] is readable: either the NUL before max, or a byte of a longer string. */
	len = strnlen(value, max);
	*cut = value[len] != '\0';
	return len;
}

/* The escapes both formats share; false for a byte that is not one of them. */
static bool put_common_escape(struct jitrd_escape_line *line, unsigned char byte)
{
	switch (byte) {
	case '"':
		jitrd_escape_put(line, "\\\"", 2);
		return true;
	case '\\':
		jitrd_escape_put(line, "\\\\", 2);
		return true;
	case '\n':
		jitrd_escape_put(line, "\\n", 2);
		return true;
	case '\r':
		jitrd_escape_put(line, "\\r", 2);
		return true;
	case '\t':
		jitrd_escape_put(line, "\\t", 2);
		return true;
	default:
		return false;
	}
}

static bool is_printable_ascii(unsigned char byte)
{
	return byte >= ' ' && byte < 0x7f;
}

/* Bytes that would let a value end early, start a new key or a new line when printed bare. */
static bool text_needs_quotes(const unsigned char *p, size_t len)
{
	if (len == 0)
		return true;
	for (size_t i = 0; i < len; i++) {
		if (p[i] <= ' ' || p[i] >= 0x7f || p[i] == '"' || p[i] == '=' || p[i] == '\\')
			return true;
	}
	return false;
}

void jitrd_escape_text(struct jitrd_escape_line *line, const char *value, size_t max)
{
	const unsigned char *p;
	size_t len;
	bool cut;

	if (!value)
		value = "";
	p = (const unsigned char *)value;
	len = measure_value(value, max, &cut);
	/* A cut value is quoted whatever it holds, so its "..." reads as a marker. */
	if (!cut && !text_needs_quotes(p, len)) {
		jitrd_escape_put(line, value, len);
		return;
	}
	jitrd_escape_put(line, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		if (put_common_escape(line, p[i]))
			continue;
		if (is_printable_ascii(p[i]))
			jitrd_escape_put(line, value + i, 1);
		else
			put_hex(line, "\\x", p[i]);
	}
	if (cut)
		jitrd_escape_put(line, "...", 3);
	jitrd_escape_put(line, "\"", 1);
}

void jitrd_escape_json(struct jitrd_escape_line *line, const char *value, size_t max)
{
	const unsigned char *p;
	size_t len;
	size_t i = 0;
	bool cut;

	if (!value)
		value = "";
	p = (const unsigned char *)value;
	len = measure_value(value, max, &cut);
	jitrd_escape_put(line, "\"", 1);
	while (i < len) {
		size_t seq;

		if (put_common_escape(line, p[i])) {
			i++;
		} else if (is_printable_ascii(p[i])) {
			jitrd_escape_put(line, value + i, 1);
			i++;
		} else if (p[i] >= 0x80 && (seq = jitrd_utf8_sequence(p + i, len - i)) > 0) {
			/* only within the kept bytes: a sequence cut at max is escaped byte by byte
			 */
			jitrd_escape_put(line, value + i, seq);
			i += seq;
		} else {
			put_hex(line, "\\u00", p[i]);
			i++;
		}
	}
	if (cut)
		jitrd_escape_put(line, "...", 3);
	jitrd_escape_put(line, "\"", 1);
}

enum jitrd_err jitrd_escape_build(void (*write)(struct jitrd_escape_line *line, const void *ctx),
                                  const void *ctx, char **out)
{
	struct jitrd_escape_line measure = {0};
	struct jitrd_escape_line line = {0};

	if (!write || !out)
		return JITRD_ERR_INVALID_ARG;
	write(&measure, ctx);
	if (measure.overflow)
		return JITRD_ERR_NOMEM;
	line.buf = malloc(measure.len + 1);
	if (!line.buf)
		return JITRD_ERR_NOMEM;
	line.cap = measure.len;
	write(&line, ctx);
	/* A write that did not append the same bytes twice is a bug of the caller's; cap kept it
	 * inside the buffer, and no half line goes out. */
	if (line.overflow || line.len != measure.len) {
		free(line.buf);
		return JITRD_ERR_INVALID_ARG;
	}
	line.buf[line.len] = '\0';
	*out = line.buf;
	return JITRD_OK;
}
