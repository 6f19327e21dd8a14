/* log.h — jitrd's log: one line per call (text key=value or JSON, per [service] log_format),
 * written with one system call so threads never interleave, untrusted values escaped. It must
 * never be handed a secret: see the rule on jitrd_log_fields. */
#ifndef JITRD_LOG_H
#define JITRD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "jitrd/config.h"
#include "jitrd/error.h"
#include "jitrd/outcome.h"

/* A value longer than this many bytes is cut there and ends in "..." (the line stays
 * bounded whatever a device or a peer sends). */
#define JITRD_LOG_VALUE_MAX 2048
/* Fields after this many are dropped and the line ends with truncated=true. */
#define JITRD_LOG_FIELDS_MAX 32

/* One key=value of an event line. key is a literal of our code ([A-Za-z0-9_.-]; any other
 * byte is written as '_'); value is untrusted and escaped (NULL is written as empty). */
struct jitrd_log_field {
	const char *key;
	const char *value;
};

struct jitrd_log;

/* A log writing to fd (borrowed, not closed; 2 for stderr) in format, keeping lines at level
 * or more severe. *out written only on success; free with jitrd_log_free.
 * Errors: JITRD_ERR_INVALID_ARG (NULL out, fd < 0, unknown format or level), JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_log_new(int fd, enum jitrd_log_format format, enum jitrd_log_level level,
                             struct jitrd_log **out) JITRD_WUR;

void jitrd_log_free(struct jitrd_log *log); /* NULL is fine */

/* "error", "warn", "info", "debug"; "unknown" outside the enum. */
const char *jitrd_log_level_name(enum jitrd_log_level level);

/* True when a line at level would be written (false for a NULL log). */
bool jitrd_log_enabled(const struct jitrd_log *log, enum jitrd_log_level level);

/* Writes "time=... level=... event=EVENT key=value ..." (or the same as one JSON object) as one
 * line. Best effort: a line that cannot be formatted or written is counted (see
 * jitrd_log_dropped) and the caller goes on. A NULL log writes nothing.
 *
 * The secret rule: callers pass ids, URLs, file paths, reasons and counts, never key material,
 * credentials, tokens or the contents of a key file. As a second line of defence, a field whose
 * key contains "secret", "password", "token" or "authorization" (any case) is written as
 * "[redacted]". */
void jitrd_log_fields(struct jitrd_log *log, enum jitrd_log_level level, const char *event,
                      const struct jitrd_log_field *fields, size_t count);

/* The same with key, value string pairs, terminated by NULL:
 * jitrd_log_kv(log, JITRD_LOG_INFO, "mqtt.connected", "url", url, NULL). */
void jitrd_log_kv(struct jitrd_log *log, enum jitrd_log_level level, const char *event, ...)
    __attribute__((sentinel));

/* The outcome line of DESIGN §4.5 (jitrd_outcome_format in the log's format) is the log line.
 * Outcome lines are the audit record of every event: they are written whatever the level. */
void jitrd_log_outcome(struct jitrd_log *log, const struct jitrd_outcome *outcome);

/* Lines that could not be formatted or written since jitrd_log_new. */
unsigned long jitrd_log_dropped(const struct jitrd_log *log);

/* Pure stage, for tests and for callers with their own sink: the line (no newline) for the
 * given time (seconds, milliseconds 0..999). *out owned by the caller (free()).
 * Errors: JITRD_ERR_INVALID_ARG (NULL event or out, fields NULL with count > 0, unknown format
 * or level, time_ms outside 0..999, a year outside 0000-9999), JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_log_format_line(enum jitrd_log_format format, enum jitrd_log_level level,
                                     time_t time, int time_ms, const char *event,
                                     const struct jitrd_log_field *fields, size_t count,
                                     char **out) JITRD_WUR;

#endif
