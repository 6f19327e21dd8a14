/* text.h — the small text helpers the core modules share: strict UTF-8, lowercase hex, RFC 3339
 * UTC times. Pure: no I/O, no clock, no allocation; every output bounded by its size. */
#ifndef JITRD_TEXT_H
#define JITRD_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "jitrd/error.h"

/* Length (1-4) of the well-formed UTF-8 sequence at s (n bytes available, n >= 1), or 0.
 * RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF. */
size_t jitrd_utf8_sequence(const unsigned char *s, size_t n);

/* Offset of the first byte of text (len bytes) that does not start a well-formed UTF-8
 * sequence, or len when all of it is well-formed. A NUL byte is well-formed UTF-8. */
size_t jitrd_utf8_invalid_at(const char *text, size_t len);

/* True if text holds exactly len hex digits (either case); then, when out is not NULL, writes
 * them lowercased and NUL-terminated into out (len + 1 bytes). out untouched when false.
 * For AWS ids (64 hex) from events, configuration and lookups. */
bool jitrd_hex_lower_copy(const char *text, size_t len, char *out);

/* Length of AWS IoT's certificate and CA ids: 64 hex digits (SHA-256 of the DER). */
#define JITRD_ID_HEX_LEN 64

/* True if s is exactly a 64-hex-digit AWS id (either case). The one check of certificate and
 * CA ids: from events, configuration, the command line, API answers and the emulator. */
bool jitrd_is_hex_id(const char *s);

/* bytes as lowercase hex ("00ff"), as many whole bytes as fit in out_size with the NUL.
 * Nothing written when out_size is 0. */
void jitrd_hex_encode(const unsigned char *bytes, size_t len, char *out, size_t out_size);

/* Enough for "YYYY-MM-DDTHH:MM:SS.mmmZ" and for "@-9223372036854775808". */
#define JITRD_RFC3339_SIZE 32

/* t as RFC 3339 UTC, "2030-06-01T00:00:00Z". A time without such a form (a year outside
 * 0000-9999) is written "@<seconds>" instead, so a message always says something. Truncates
 * to size (always NUL-terminated when size > 0). */
void jitrd_format_rfc3339(time_t t, char *out, size_t size);

/* Copies src (NULL: "") into dst (size > 0 bytes), cut to fit on a UTF-8 character
 * boundary; always NUL-terminated. */
void jitrd_text_copy(char *dst, size_t size, const char *src);

/* The same with milliseconds, "2030-06-01T00:00:00.250Z". JITRD_ERR_INVALID_ARG (out
 * untouched) for ms outside 0..999, a year outside 0000-9999, or size too small. */
enum jitrd_err jitrd_format_rfc3339_ms(time_t t, int ms, char *out, size_t size) JITRD_WUR;

#endif
