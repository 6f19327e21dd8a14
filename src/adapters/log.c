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

/* "2026-11-28T04:19:37.123Z" plus room. */
#define TIME_TEXT_SIZE 32

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

/* The line is written in two passes over the same code: measuring (buf NULL), then into a
 * buffer of exactly that size; every piece is bounded, so the line is. */
struct line {
	char *buf;
	size_t len;
};

static void put(struct line *line, const char *bytes, size_t n)
{
	if (line->buf)
		memcpy(line->buf + line->len, bytes, n);
	line->len += n;
}

static void put_str(struct line *line, const char *text)
{
	put(line, text, strlen(text));
}

static void put_hex(struct line *line, const char *prefix, unsigned char byte)
{
	static const char hex[] = "0123456789abcdef";
	char digits[2] = {hex[byte >> 4], hex[byte & 15]};

	put_str(line, prefix);
	put(line, digits, 2);
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF), or 0 when the bytes there are not one. */
static size_t utf8_sequence(const unsigned char *p, size_t avail)
{
	size_t need;
	unsigned lo = 0x80, hi = 0xbf;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		need = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		need = 4;
	else
		return 0;
	if (need > avail)
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	}
	return need;
}

/* A JSON string (RFC 8259): quotes, backslashes and control bytes escaped; well-formed UTF-8
 * kept; a byte that is not part of one is written as \u00NN so the line stays valid JSON.
 * cut: the value was cut at JITRD_LOG_VALUE_MAX; "..." ends the string. */
static void put_json_string(struct line *line, const char *text, size_t len, int cut)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t i = 0;

	put(line, "\"", 1);
	while (i < len) {
		size_t seq;

		switch (p[i]) {
		case '"':
			put(line, "\\\"", 2);
			break;
		case '\\':
			put(line, "\\\\", 2);
			break;
		case '\n':
			put(line, "\\n", 2);
			break;
		case '\r':
			put(line, "\\r", 2);
			break;
		case '\t':
			put(line, "\\t", 2);
			break;
		default:
			if (p[i] >= 0x20 && p[i] < 0x7f) {
				put(line, (const char *)p + i, 1);
			} else if (p[i] >= 0x80 && (seq = utf8_sequence(p + i, len - i)) > 0) {
				put(line, (const char *)p + i, seq);
				i += seq;
				continue;
			} else {
				put_hex(line, "\\u00", p[i]);
			}
		}
		i++;
	}
	if (cut)
		put_str(line, "...");
	put(line, "\"", 1);
}

/* The text format's value rule, the same as the outcome line's (outcome.h): bare when it
 * cannot end early or forge a key, else double-quoted with \" \\ \n \r \t \xNN. */
static int text_needs_quotes(const unsigned char *p, size_t len)
{
	if (len == 0)
		return 1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] <= ' ' || p[i] >= 0x7f || p[i] == '"' || p[i] == '=' || p[i] == '\\')
			return 1;
	}
	return 0;
}

static void put_text_value(struct line *line, const char *text, size_t len, int cut)
{
	const unsigned char *p = (const unsigned char *)text;

	/* A cut value is quoted whatever it holds, so its "..." reads as a marker. */
	if (!cut && !text_needs_quotes(p, len)) {
		put(line, text, len);
		return;
	}
	put(line, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		switch (p[i]) {
		case '"':
			put(line, "\\\"", 2);
			break;
		case '\\':
			put(line, "\\\\", 2);
			break;
		case '\n':
			put(line, "\\n", 2);
			break;
		case '\r':
			put(line, "\\r", 2);
			break;
		case '\t':
			put(line, "\\t", 2);
			break;
		default:
			if (p[i] >= ' ' && p[i] < 0x7f)
				put(line, (const char *)p + i, 1);
			else
				put_hex(line, "\\x", p[i]);
		}
	}
	if (cut)
		put_str(line, "...");
	put(line, "\"", 1);
}

/* Keys are literals of our code; a stray byte still must not break the line. */
static void put_key(struct line *line, const char *key)
{
	size_t len = strnlen(key, 64);

	for (size_t i = 0; i < len; i++) {
		char c = key[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';

		put(line, ok ? &c : "_", 1);
	}
	if (len == 0)
		put(line, "_", 1);
}

static void put_field(struct line *line, enum jitrd_log_format format, int first, const char *key,
                      const char *value)
{
	size_t len;
	int cut = 0;

	if (!value)
		value = "";
	if (is_secret_key(key))
		value = "[redacted]";
	len = strnlen(value, JITRD_LOG_VALUE_MAX + 1);
	if (len > JITRD_LOG_VALUE_MAX) {
		len = JITRD_LOG_VALUE_MAX;
		cut = 1;
	}
	if (format == JITRD_LOG_JSON) {
		put_str(line, first ? "\"" : ",\"");
		put_key(line, key);
		put_str(line, "\":");
		put_json_string(line, value, len, cut);
		return;
	}
	if (!first)
		put(line, " ", 1);
	put_key(line, key);
	put(line, "=", 1);
	put_text_value(line, value, len, cut);
}

static void put_line(struct line *line, enum jitrd_log_format format, const char *time_text,
                     enum jitrd_log_level level, const char *event,
                     const struct jitrd_log_field *fields, size_t count)
{
	size_t kept = count > JITRD_LOG_FIELDS_MAX ? JITRD_LOG_FIELDS_MAX : count;

	if (format == JITRD_LOG_JSON)
		put(line, "{", 1);
	put_field(line, format, 1, "time", time_text);
	put_field(line, format, 0, "level", jitrd_log_level_name(level));
	put_field(line, format, 0, "event", event);
	for (size_t i = 0; i < kept; i++)
		put_field(line, format, 0, fields[i].key ? fields[i].key : "", fields[i].value);
	if (kept < count)
		put_field(line, format, 0, "truncated", "true");
	if (format == JITRD_LOG_JSON)
		put(line, "}", 1);
}

/* RFC 3339 UTC with milliseconds; years outside 0000-9999 have no such form. */
static enum jitrd_err format_time(time_t seconds, int ms, char out[TIME_TEXT_SIZE])
{
	struct tm tm;

	if (ms < 0 || ms > 999 || !gmtime_r(&seconds, &tm))
		return JITRD_ERR_INVALID_ARG;
	if (tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
		return JITRD_ERR_INVALID_ARG;
	if (snprintf(out, TIME_TEXT_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	             ms) >= TIME_TEXT_SIZE)
		return JITRD_ERR_INVALID_ARG;
	return JITRD_OK;
}

enum jitrd_err jitrd_log_format_line(enum jitrd_log_format format, enum jitrd_log_level level,
                                     time_t time, int time_ms, const char *event,
                                     const struct jitrd_log_field *fields, size_t count, char **out)
{
	struct line measure = {.buf = NULL, .len = 0};
	struct line line = {.buf = NULL, .len = 0};
	char time_text[TIME_TEXT_SIZE];
	enum jitrd_err err;

	if (!event || !out || (!fields && count > 0))
		return JITRD_ERR_INVALID_ARG;
	if ((format != JITRD_LOG_TEXT && format != JITRD_LOG_JSON) ||
	    (unsigned)level > JITRD_LOG_DEBUG)
		return JITRD_ERR_INVALID_ARG;
	err = format_time(time, time_ms, time_text);
	if (err != JITRD_OK)
		return err;
	/* Bounded: at most FIELDS_MAX + 4 fields of at most VALUE_MAX bytes, 6 out per byte. */
	put_line(&measure, format, time_text, level, event, fields, count);
	line.buf = malloc(measure.len + 1);
	if (!line.buf)
		return JITRD_ERR_NOMEM;
	put_line(&line, format, time_text, level, event, fields, count);
	line.buf[line.len] = '\0';
	*out = line.buf;
	return JITRD_OK;
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

int jitrd_log_enabled(const struct jitrd_log *log, enum jitrd_log_level level)
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
	struct timespec now;
	char *text = NULL;

	if (!jitrd_log_enabled(log, level))
		return;
	/* The log is an adapter: reading the clock here is its job, not its callers'. */
	if (clock_gettime(CLOCK_REALTIME, &now) != 0 ||
	    jitrd_log_format_line(log->format, level, now.tv_sec, (int)(now.tv_nsec / 1000000),
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
