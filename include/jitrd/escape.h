/* escape.h — the one rule for writing an untrusted value (a device's Common Name, an AWS
 * message, a path) into a key=value text line or a JSON string, so that it can neither end the
 * line nor forge a key, and the line it goes into stays bounded. Pure: no I/O, no clock; the
 * only allocation is the finished line of jitrd_escape_build. */
#ifndef JITRD_ESCAPE_H
#define JITRD_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jitrd/error.h"

/* A line written in two passes over the same code: first measuring (buf NULL: only len
 * grows), then into a buffer of exactly that size, so there is no growing buffer and no
 * truncation. Start from {0}. overflow: len would pass SIZE_MAX - 1, or buf's cap bytes;
 * nothing more is added then. */
struct jitrd_escape_line {
	char *buf;  /* NULL while measuring */
	size_t cap; /* bytes buf holds before its NUL; unused while measuring */
	size_t len;
	bool overflow;
};

/* max for a value that is never cut. */
#define JITRD_ESCAPE_UNCUT SIZE_MAX

/* Appends n bytes as they are (for our own literals: keys, '=', separators). */
void jitrd_escape_put(struct jitrd_escape_line *line, const char *bytes, size_t n);

/* Appends the NUL-terminated text as it is. */
void jitrd_escape_put_str(struct jitrd_escape_line *line, const char *text);

/* Appends value (NUL-terminated; NULL is written as empty) as the value of a key=value text
 * line: bare when it is not empty and holds only printable ASCII other than '"', '=' and '\\';
 * else double-quoted with \" \\ \n \r \t and \xNN for every other byte outside printable
 * ASCII (so invalid UTF-8 cannot reach the reader). At most max bytes of value are written
 * (JITRD_ESCAPE_UNCUT: all); a longer value is cut there (even inside a UTF-8 sequence), quoted
 * whatever it holds, and ends in "..." inside the quotes. */
void jitrd_escape_text(struct jitrd_escape_line *line, const char *value, size_t max);

/* Appends value (as above) as a JSON string with its quotes (RFC 8259): \" \\ \n \r \t,
 * well-formed UTF-8 kept as it is, every other byte (control bytes, DEL, bytes of invalid or
 * cut UTF-8) as \u00NN, so the line stays valid JSON. Cut as jitrd_escape_text: "..." ends
 * the string. */
void jitrd_escape_json(struct jitrd_escape_line *line, const char *value, size_t max);

/* Makes a line: calls write(line, ctx) once to measure and once to fill a buffer of exactly
 * that size, then NUL-terminates it. write must append the same bytes both times. *out owned
 * by the caller (free()), written only on success. Errors: JITRD_ERR_INVALID_ARG (NULL write
 * or out; write appended other bytes the second time), JITRD_ERR_NOMEM (no memory, or a line longer
 * than SIZE_MAX - 1). */
enum jitrd_err jitrd_escape_build(void (*write)(struct jitrd_escape_line *line, const void *ctx),
                                  const void *ctx, char **out) JITRD_WUR;

#endif
