/* log.c — one log line per call, text key=value or JSON, written with one writev() under a
 * mutex so lines from several threads never mix. Values are untrusted and escaped; the log
 * never decides what to write on its own, and must never be handed a secret (see log.h). */
#include "jitrd/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <unistd.h>

#include "jitrd/clock.h"
#include "jitrd/escape.h"
#include "jitrd/text.h"

struct jitrd_log {
	int fd;
	enum jitrd_log_format format;
	enum jitrd_log_level level;
	pthread_mutex_t write_lock; /* one line at a time, also across partial writes */
	atomic_ulong dropped;
};

static const char *const level_names[] = {
    [JITRD_LOG_ERROR] = "error",
    [JITRD_LOG_WARN] = "warn",
    [JITRD_LOG_INFO] = "info",
    [JITRD_LOG_DEBUG] = "debug",
};

const char *jitrd_log_level_name(enum jitrd_log_level level)
{
	if ((unsigned)level > JITRD_LOG_DEBUG)
		return "unknown";
	return level_names[level];
}

/* Key fragments whose values are never written, whatever the caller meant. */
static const char *const secret_words[] = {"secret", "password", "token", "authorization"};

static int is_secret_key(const char *key)
{
	for (size_t i = 0; i < sizeof(secret_words) / sizeof(secret_words[0]); i++) {
		size_t n = strlen(secret_words[i]);

		for (const char *p = key; *p; p++) {
			if (strncasecmp(p, secret_words[i], n) == 0)
				return 1;
		}
	}
	return 0;
}

/* Keys are literals of our code; a stray byte still must not break the line. */
static void put_key(struct jitrd_escape_line *line, const char *key)
{
	size_t len = strnlen(key, 64);

	for (size_t i = 0; i < len; i++) {
		char c = key[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';

		jitrd_escape_put(line, ok ? &c : "_", 1);
	}
	if (len == 0)
		jitrd_escape_put(line, "_", 1);
}

static void put_field(struct jitrd_escape_line *line, enum jitrd_log_format format, int first,
                      const char *key, const char *value)
{
	if (is_secret_key(key))
		value = "[redacted]";
	if (format == JITRD_LOG_JSON) {
		jitrd_escape_put_str(line, first ? "\"" : ",\"");
		put_key(line, key);
		jitrd_escape_put_str(line, "\":");
		jitrd_escape_json(line, value, JITRD_LOG_VALUE_MAX);
		return;
	}
	if (!first)
		jitrd_escape_put(line, " ", 1);
	put_key(line, key);
	jitrd_escape_put(line, "=", 1);
	jitrd_escape_text(line, value, JITRD_LOG_VALUE_MAX);
}

/* One line's parts, passed through jitrd_escape_build. */
struct line_parts {
	enum jitrd_log_format format;
	const char *time_text;
	enum jitrd_log_level level;
	const char *event;
	const struct jitrd_log_field *fields;
	size_t count;
};

static void put_line(struct jitrd_escape_line *line, const void *ctx)
{
	const struct line_parts *parts = ctx;
	enum jitrd_log_format format = parts->format;
	size_t count = parts->count;
	size_t kept = count > JITRD_LOG_FIELDS_MAX ? JITRD_LOG_FIELDS_MAX : count;

	if (format == JITRD_LOG_JSON)
		jitrd_escape_put(line, "{", 1);
	put_field(line, format, 1, "time", parts->time_text);
	put_field(line, format, 0, "level", jitrd_log_level_name(parts->level));
	put_field(line, format, 0, "event", parts->event);
	for (size_t i = 0; i < kept; i++)
		put_field(line, format, 0, parts->fields[i].key ? parts->fields[i].key : "",
		          parts->fields[i].value);
	if (kept < count)
		put_field(line, format, 0, "truncated", "true");
	if (format == JITRD_LOG_JSON)
		jitrd_escape_put(line, "}", 1);
}

enum jitrd_err jitrd_log_format_line(enum jitrd_log_format format, enum jitrd_log_level level,
                                     time_t time, int time_ms, const char *event,
                                     const struct jitrd_log_field *fields, size_t count, char **out)
{
	char time_text[JITRD_RFC3339_SIZE];
	struct line_parts parts = {
	    .format = format,
	    .time_text = time_text,
	    .level = level,
	    .event = event,
	    .fields = fields,
	    .count = count,
	};
	enum jitrd_err err;

	if (!event || !out || (!fields && count > 0))
		return JITRD_ERR_INVALID_ARG;
	if ((format != JITRD_LOG_TEXT && format != JITRD_LOG_JSON) ||
	    (unsigned)level > JITRD_LOG_DEBUG)
		return JITRD_ERR_INVALID_ARG;
	/* RFC 3339 UTC with milliseconds; years outside 0000-9999 have no such form. */
	err = jitrd_format_rfc3339_ms(time, time_ms, time_text, sizeof(time_text));
	if (err != JITRD_OK)
		return err;
	/* Bounded: at most FIELDS_MAX + 4 fields of at most VALUE_MAX bytes, 6 out per byte. */
	return jitrd_escape_build(put_line, &parts, out);
}

enum jitrd_err jitrd_log_new(int fd, enum jitrd_log_format format, enum jitrd_log_level level,
                             struct jitrd_log **out)
{
	struct jitrd_log *log;

	if (!out || fd < 0 || (format != JITRD_LOG_TEXT && format != JITRD_LOG_JSON) ||
	    (unsigned)level > JITRD_LOG_DEBUG)
		return JITRD_ERR_INVALID_ARG;
	log = calloc(1, sizeof(*log));
	if (!log)
		return JITRD_ERR_NOMEM;
	if (pthread_mutex_init(&log->write_lock, NULL) != 0) {
		free(log);
		return JITRD_ERR_NOMEM;
	}
	log->fd = fd;
	log->format = format;
	log->level = level;
	atomic_init(&log->dropped, 0);
	*out = log;
	return JITRD_OK;
}

void jitrd_log_free(struct jitrd_log *log)
{
	if (!log)
		return;
	pthread_mutex_destroy(&log->write_lock);
	free(log);
}

bool jitrd_log_enabled(const struct jitrd_log *log, enum jitrd_log_level level)
{
	return log && (unsigned)level <= (unsigned)log->level;
}

unsigned long jitrd_log_dropped(const struct jitrd_log *log)
{
	return log ? atomic_load(&log->dropped) : 0;
}

/* The line and its newline in one writev(); the lock keeps a partial write's remainder
 * from being overtaken by another thread's line. */
static void write_line(struct jitrd_log *log, const char *text, size_t len)
{
	struct iovec iov[2] = {
	    {.iov_base = (void *)text, .iov_len = len},
	    {.iov_base = (void *)"\n", .iov_len = 1},
	};
	struct iovec *next = iov;
	int left = 2;

	pthread_mutex_lock(&log->write_lock);
	while (left > 0) {
		ssize_t n = writev(log->fd, next, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			atomic_fetch_add(&log->dropped, 1);
			break;
		}
		while (left > 0 && (size_t)n >= next->iov_len) {
			n -= (ssize_t)next->iov_len;
			next++;
			left--;
		}
		if (left > 0) {
			next->iov_base = (char *)next->iov_base + n;
			next->iov_len -= (size_t)n;
		}
	}
	pthread_mutex_unlock(&log->write_lock);
}

void jitrd_log_fields(struct jitrd_log *log, enum jitrd_log_level level, const char *event,
                      const struct jitrd_log_field *fields, size_t count)
{
	int64_t now_ms;
	char *text = NULL;

	if (!jitrd_log_enabled(log, level))
		return;
	/* The log is an adapter: reading the clock here is its job, not its callers'. */
	now_ms = jitrd_clock_wall_ms();
	if (jitrd_log_format_line(log->format, level, (time_t)(now_ms / 1000), (int)(now_ms % 1000),
	                          event, fields, count, &text) != JITRD_OK) {
		atomic_fetch_add(&log->dropped, 1);
		return;
	}
	write_line(log, text, strlen(text));
	free(text);
}

void jitrd_log_kv(struct jitrd_log *log, enum jitrd_log_level level, const char *event, ...)
{
	struct jitrd_log_field fields[JITRD_LOG_FIELDS_MAX + 1];
	size_t count = 0;
	const char *key;
	va_list ap;

	if (!jitrd_log_enabled(log, level))
		return;
	va_start(ap, event);
	/* One field past the maximum is kept so the line says it was truncated. */
	while (count <= JITRD_LOG_FIELDS_MAX && (key = va_arg(ap, const char *)) != NULL) {
		fields[count].key = key;
		fields[count].value = va_arg(ap, const char *);
		count++;
	}
	va_end(ap);
	jitrd_log_fields(log, level, event, fields, count);
}

void jitrd_log_outcome(struct jitrd_log *log, const struct jitrd_outcome *outcome)
{
	char *text = NULL;

	if (!log)
		return;
	if (jitrd_outcome_format(outcome, log->format, &text) != JITRD_OK) {
		atomic_fetch_add(&log->dropped, 1);
		return;
	}
	write_line(log, text, strlen(text));
	free(text);
}
