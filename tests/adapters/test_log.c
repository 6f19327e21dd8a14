/* test_log.c — the log module: golden lines in both formats, hostile values escaped (one line,
 * JSON that parses back to the same bytes), secrets redacted, bounds, and whole lines from
 * many threads at once into one file. */
#include "jitrd/log.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "testsupport.h"

/* 2030-06-01T00:00:00Z */
#define T0 JITRD_TEST_NOW

/* Everything written to a temporary file so far, NUL-terminated; caller frees. */
static char *file_text(FILE *f)
{
	long size;
	char *text;

	CU_ASSERT_FATAL(fflush(f) == 0);
	CU_ASSERT_FATAL(fseek(f, 0, SEEK_END) == 0);
	size = ftell(f);
	CU_ASSERT_FATAL(size >= 0);
	text = calloc(1, (size_t)size + 1);
	CU_ASSERT_FATAL(text != NULL);
	CU_ASSERT_FATAL(fseek(f, 0, SEEK_SET) == 0);
	CU_ASSERT_FATAL(fread(text, 1, (size_t)size, f) == (size_t)size);
	return text;
}

static size_t count_char(const char *text, char c)
{
	size_t n = 0;

	for (; *text; text++)
		n += (*text == c);
	return n;
}

struct golden {
	enum jitrd_log_format format;
	enum jitrd_log_level level;
	const char *event;
	struct jitrd_log_field fields[3];
	size_t count;
	const char *want;
};

static const struct golden goldens[] = {
    {JITRD_LOG_TEXT,
     JITRD_LOG_INFO,
     "mqtt.connected",
     {{"url", "ssl://h:8883"}},
     1,
     "time=2030-06-01T00:00:00.042Z level=info event=mqtt.connected url=ssl://h:8883"},
    {JITRD_LOG_JSON,
     JITRD_LOG_INFO,
     "mqtt.connected",
     {{"url", "ssl://h:8883"}},
     1,
     "{\"time\":\"2030-06-01T00:00:00.042Z\",\"level\":\"info\",\"event\":\"mqtt.connected\","
     "\"url\":\"ssl://h:8883\"}"},
    {JITRD_LOG_TEXT,
     JITRD_LOG_WARN,
     "reload.failed",
     {{"file", "/etc/jitrd/crl/a b.pem"}, {"reason", "x=\"1\"\nlevel=error"}, {"n", NULL}},
     3,
     "time=2030-06-01T00:00:00.042Z level=warn event=reload.failed "
     "file=\"/etc/jitrd/crl/a b.pem\" reason=\"x=\\\"1\\\"\\nlevel=error\" n=\"\""},
    {JITRD_LOG_JSON,
     JITRD_LOG_ERROR,
     "x",
     {{"v", "a\"b\\c\n\r\t\x01\x7f\xff\xc3\xa9"}},
     1,
     "{\"time\":\"2030-06-01T00:00:00.042Z\",\"level\":\"error\",\"event\":\"x\","
     "\"v\":\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u007f\\u00ff\xc3\xa9\"}"},
    {JITRD_LOG_TEXT,
     JITRD_LOG_DEBUG,
     "x",
     {{"v", "\\\x01\xff"}, {"bad key\n", "1"}},
     2,
     "time=2030-06-01T00:00:00.042Z level=debug event=x v=\"\\\\\\x01\\xff\" bad_key_=1"},
    {JITRD_LOG_TEXT,
     JITRD_LOG_INFO,
     "aws.credentials",
     {{"aws_secret_access_key", "wJalr"}, {"session_TOKEN", "FQo"}, {"Authorization", "AWS4"}},
     3,
     "time=2030-06-01T00:00:00.042Z level=info event=aws.credentials "
     "aws_secret_access_key=[redacted] session_TOKEN=[redacted] Authorization=[redacted]"},
};

static void test_golden_lines(void)
{
	for (size_t i = 0; i < sizeof(goldens) / sizeof(goldens[0]); i++) {
		const struct golden *g = &goldens[i];
		char *line = NULL;

		CU_ASSERT_EQUAL_FATAL(jitrd_log_format_line(g->format, g->level, T0, 42, g->event,
		                                            g->fields, g->count, &line),
		                      JITRD_OK);
		CU_ASSERT_STRING_EQUAL(line, g->want);
		if (strcmp(line, g->want) != 0)
			fprintf(stderr, "case %zu:\n got %s\nwant %s\n", i, line, g->want);
		free(line);
	}
}

/* Every hostile string: JSON parses back to exactly the bytes (valid UTF-8 ones), text stays
 * one line with no bare '=' or quote that could forge a key. */
static void test_hostile_values(void)
{
	static const char *const hostile[] = {
	    "",
	    " ",
	    "=",
	    "\"",
	    "\\",
	    "a\nb",
	    "\r\n\r\n",
	    "key=value other=\"x\"",
	    "\xc3\xa9t\xc3\xa9",
	    "\xe2\x80\xa8",
	    "\xf0\x9f\x94\x92",
	    "}{\"a\":1}",
	    "../../etc/passwd",
	};

	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		struct jitrd_log_field field = {"cn", hostile[i]};
		char *json = NULL, *text = NULL;
		struct json_object *obj, *value;

		CU_ASSERT_EQUAL_FATAL(jitrd_log_format_line(JITRD_LOG_JSON, JITRD_LOG_INFO, T0, 0,
		                                            "e", &field, 1, &json),
		                      JITRD_OK);
		CU_ASSERT_PTR_NULL(strchr(json, '\n'));
		obj = json_tokener_parse(json);
		CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
		CU_ASSERT_EQUAL(json_object_object_length(obj), 4);
		CU_ASSERT_TRUE(json_object_object_get_ex(obj, "cn", &value));
		CU_ASSERT_STRING_EQUAL(json_object_get_string(value), hostile[i]);
		json_object_put(obj);

		CU_ASSERT_EQUAL_FATAL(jitrd_log_format_line(JITRD_LOG_TEXT, JITRD_LOG_INFO, T0, 0,
		                                            "e", &field, 1, &text),
		                      JITRD_OK);
		CU_ASSERT_PTR_NULL(strchr(text, '\n'));
		CU_ASSERT_PTR_NULL(strchr(text, '\r'));
		/* time, level, event, cn: exactly four '=' outside quotes */
		{
			size_t bare = 0;
			int quoted = 0;

			for (const char *p = text; *p; p++) {
				if (*p == '\\' && quoted && p[1]) {
					p++;
					continue;
				}
				if (*p == '"')
					quoted = !quoted;
				else if (*p == '=' && !quoted)
					bare++;
			}
			CU_ASSERT_EQUAL(bare, 4);
			CU_ASSERT_FALSE(quoted);
			for (const unsigned char *p = (const unsigned char *)text; *p; p++)
				CU_ASSERT_TRUE(*p >= 0x20 && *p < 0x7f);
		}
		free(json);
		free(text);
	}
}

static void test_bounds(void)
{
	char *big = malloc(JITRD_LOG_VALUE_MAX * 3);
	struct jitrd_log_field fields[JITRD_LOG_FIELDS_MAX + 5];
	char *line = NULL;
	struct json_object *obj, *value;

	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, '\n', JITRD_LOG_VALUE_MAX * 3 - 1);
	big[JITRD_LOG_VALUE_MAX * 3 - 1] = '\0';
	fields[0] = (struct jitrd_log_field){"big", big};
	CU_ASSERT_EQUAL_FATAL(
	    jitrd_log_format_line(JITRD_LOG_JSON, JITRD_LOG_INFO, T0, 0, "e", fields, 1, &line),
	    JITRD_OK);
	obj = json_tokener_parse(line);
	CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
	CU_ASSERT_TRUE(json_object_object_get_ex(obj, "big", &value));
	/* cut at the maximum, then the marker */
	CU_ASSERT_EQUAL(json_object_get_string_len(value), JITRD_LOG_VALUE_MAX + 3);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(value) + JITRD_LOG_VALUE_MAX, "...");
	json_object_put(obj);
	free(line);

	CU_ASSERT_EQUAL_FATAL(
	    jitrd_log_format_line(JITRD_LOG_TEXT, JITRD_LOG_INFO, T0, 0, "e", fields, 1, &line),
	    JITRD_OK);
	CU_ASSERT_EQUAL(strlen(line), strlen("time=2030-06-01T00:00:00.000Z level=info event=e ") +
	                                  strlen("big=\"\"") + 2 * JITRD_LOG_VALUE_MAX + 3);
	CU_ASSERT_STRING_EQUAL(line + strlen(line) - 5, "n...\"");
	free(line);

	/* a short value cut is still marked and quoted */
	memset(big, 'a', JITRD_LOG_VALUE_MAX + 1);
	big[JITRD_LOG_VALUE_MAX + 1] = '\0';
	CU_ASSERT_EQUAL_FATAL(
	    jitrd_log_format_line(JITRD_LOG_TEXT, JITRD_LOG_INFO, T0, 0, "e", fields, 1, &line),
	    JITRD_OK);
	CU_ASSERT_STRING_EQUAL(line + strlen(line) - 5, "a...\"");
	free(line);

	for (size_t i = 0; i < JITRD_LOG_FIELDS_MAX + 5; i++)
		fields[i] = (struct jitrd_log_field){"k", "v"};
	CU_ASSERT_EQUAL_FATAL(jitrd_log_format_line(JITRD_LOG_TEXT, JITRD_LOG_INFO, T0, 0, "e",
	                                            fields, JITRD_LOG_FIELDS_MAX + 5, &line),
	                      JITRD_OK);
	CU_ASSERT_EQUAL(count_char(line, '='), 3 + JITRD_LOG_FIELDS_MAX + 1);
	CU_ASSERT_STRING_EQUAL(line + strlen(line) - strlen(" k=v truncated=true"),
	                       " k=v truncated=true");
	free(line);
	free(big);
}

static void test_invalid_arguments(void)
{
	char *line = (char *)"untouched";
	struct jitrd_log_field field = {"k", "v"};
	struct jitrd_log *log = (struct jitrd_log *)&field;

	CU_ASSERT_EQUAL(
	    jitrd_log_format_line(JITRD_LOG_TEXT, JITRD_LOG_INFO, T0, 0, NULL, &field, 1, &line),
	    JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(
	    jitrd_log_format_line(JITRD_LOG_TEXT, JITRD_LOG_INFO, T0, 1000, "e", &field, 1, &line),
	    JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(
	    jitrd_log_format_line(JITRD_LOG_TEXT, JITRD_LOG_INFO, T0, -1, "e", &field, 1, &line),
	    JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_log_format_line((enum jitrd_log_format)7, JITRD_LOG_INFO, T0, 0, "e",
	                                      &field, 1, &line),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_log_format_line(JITRD_LOG_JSON, (enum jitrd_log_level)9, T0, 0, "e",
	                                      &field, 1, &line),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(
	    jitrd_log_format_line(JITRD_LOG_JSON, JITRD_LOG_INFO, T0, 0, "e", NULL, 1, &line),
	    JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_log_format_line(JITRD_LOG_JSON, JITRD_LOG_INFO, (time_t)400000000000,
	                                      0, "e", &field, 1, &line),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(line, "untouched");

	CU_ASSERT_EQUAL(jitrd_log_new(-1, JITRD_LOG_TEXT, JITRD_LOG_INFO, &log),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_log_new(2, (enum jitrd_log_format)3, JITRD_LOG_INFO, &log),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_log_new(2, JITRD_LOG_TEXT, (enum jitrd_log_level)4, &log),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_log_new(2, JITRD_LOG_TEXT, JITRD_LOG_INFO, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_PTR_EQUAL(log, (struct jitrd_log *)&field);

	/* a NULL log is a silent log */
	jitrd_log_kv(NULL, JITRD_LOG_ERROR, "e", "k", "v", NULL);
	jitrd_log_outcome(NULL, NULL);
	CU_ASSERT_FALSE(jitrd_log_enabled(NULL, JITRD_LOG_ERROR));
	CU_ASSERT_EQUAL(jitrd_log_dropped(NULL), 0);
	jitrd_log_free(NULL);
	CU_ASSERT_STRING_EQUAL(jitrd_log_level_name((enum jitrd_log_level)42), "unknown");
}

/* Through a real file: levels filter, each call is one line ending in a newline. */
static void test_levels_and_lines(void)
{
	FILE *f = tmpfile();
	struct jitrd_log *log = NULL;
	char *text;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL_FATAL(jitrd_log_new(fileno(f), JITRD_LOG_TEXT, JITRD_LOG_WARN, &log),
	                      JITRD_OK);
	CU_ASSERT_TRUE(jitrd_log_enabled(log, JITRD_LOG_ERROR));
	CU_ASSERT_TRUE(jitrd_log_enabled(log, JITRD_LOG_WARN));
	CU_ASSERT_FALSE(jitrd_log_enabled(log, JITRD_LOG_INFO));
	jitrd_log_kv(log, JITRD_LOG_INFO, "not.written", "k", "v", NULL);
	jitrd_log_kv(log, JITRD_LOG_DEBUG, "not.written", NULL);
	jitrd_log_kv(log, JITRD_LOG_WARN, "mqtt.lost", "url", "ssl://h:1", "reason", "a\nb", NULL);
	jitrd_log_kv(log, JITRD_LOG_ERROR, "stop", NULL);
	text = file_text(f);
	CU_ASSERT_EQUAL(count_char(text, '\n'), 2);
	CU_ASSERT_PTR_NULL(strstr(text, "not.written"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, " level=warn event=mqtt.lost url=ssl://h:1 "
	                                    "reason=\"a\\nb\"\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, " level=error event=stop\n"));
	CU_ASSERT_EQUAL(jitrd_log_dropped(log), 0);
	free(text);
	jitrd_log_free(log);
	fclose(f);
}

/* The outcome line is the log line, exactly, whatever the level. */
static void test_outcome_line(void)
{
	static const enum jitrd_log_format formats[] = {JITRD_LOG_TEXT, JITRD_LOG_JSON};
	struct jitrd_outcome o = {
	    .time = T0,
	    .time_ms = 7,
	    .certificate_id = "ab",
	    .decision = JITRD_DECISION_REVOKE,
	    .reason = "on CRL\nforged=1",
	    .subject_cn = "dev\"ice",
	    .api_calls = 2,
	};

	for (size_t i = 0; i < 2; i++) {
		FILE *f = tmpfile();
		struct jitrd_log *log = NULL;
		char *want = NULL, *text;

		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		CU_ASSERT_EQUAL_FATAL(jitrd_log_new(fileno(f), formats[i], JITRD_LOG_ERROR, &log),
		                      JITRD_OK);
		CU_ASSERT_EQUAL_FATAL(jitrd_outcome_format(&o, formats[i], &want), JITRD_OK);
		jitrd_log_outcome(log, &o);
		text = file_text(f);
		CU_ASSERT_EQUAL(strlen(text), strlen(want) + 1);
		CU_ASSERT_EQUAL(strncmp(text, want, strlen(want)), 0);
		CU_ASSERT_EQUAL(text[strlen(want)], '\n');
		/* a bad outcome is dropped and counted, nothing written */
		o.time_ms = 1000;
		jitrd_log_outcome(log, &o);
		o.time_ms = 7;
		CU_ASSERT_EQUAL(jitrd_log_dropped(log), 1);
		free(text);
		text = file_text(f);
		CU_ASSERT_EQUAL(strlen(text), strlen(want) + 1);
		free(text);
		free(want);
		jitrd_log_free(log);
		fclose(f);
	}
}

#define THREADS          8
#define LINES_PER_THREAD 300

struct writer {
	struct jitrd_log *log;
	int id;
};

static void *write_lines(void *arg)
{
	struct writer *w = arg;
	char id[16], n[16];
	char padding[1024];

	/* long enough lines that a torn write would show */
	memset(padding, 'p', sizeof(padding) - 1);
	padding[sizeof(padding) - 1] = '\0';
	snprintf(id, sizeof(id), "%d", w->id);
	for (int i = 0; i < LINES_PER_THREAD; i++) {
		snprintf(n, sizeof(n), "%d", i);
		jitrd_log_kv(w->log, JITRD_LOG_INFO, "t", "thread", id, "n", n, "pad", padding,
		             NULL);
	}
	return NULL;
}

static void test_threads_whole_lines(void)
{
	FILE *f = tmpfile();
	struct jitrd_log *log = NULL;
	struct writer writers[THREADS];
	pthread_t threads[THREADS];
	int seen[THREADS] = {0};
	size_t lines = 0;
	char *text, *cursor, *end;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL_FATAL(jitrd_log_new(fileno(f), JITRD_LOG_JSON, JITRD_LOG_INFO, &log),
	                      JITRD_OK);
	for (int i = 0; i < THREADS; i++) {
		writers[i] = (struct writer){log, i};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&threads[i], NULL, write_lines, &writers[i]),
		                      0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	text = file_text(f);
	for (cursor = text; (end = strchr(cursor, '\n')) != NULL; cursor = end + 1) {
		struct json_object *obj, *thread, *n;

		*end = '\0';
		obj = json_tokener_parse(cursor);
		CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
		CU_ASSERT_TRUE(json_object_object_get_ex(obj, "thread", &thread));
		CU_ASSERT_TRUE(json_object_object_get_ex(obj, "n", &n));
		{
			int t = (int)strtol(json_object_get_string(thread), NULL, 10);

			CU_ASSERT_TRUE_FATAL(t >= 0 && t < THREADS);
			/* each thread's lines arrive in its own order */
			CU_ASSERT_EQUAL(strtol(json_object_get_string(n), NULL, 10), seen[t]);
			seen[t]++;
		}
		json_object_put(obj);
		lines++;
	}
	CU_ASSERT_EQUAL(*cursor, '\0');
	CU_ASSERT_EQUAL(lines, THREADS * LINES_PER_THREAD);
	CU_ASSERT_EQUAL(jitrd_log_dropped(log), 0);
	free(text);
	jitrd_log_free(log);
	fclose(f);
}

/* A write that fails (closed pipe end) is counted, not fatal. */
static void test_write_failure_counted(void)
{
	int fds[2];
	struct jitrd_log *log = NULL;

	CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
	close(fds[0]);
	CU_ASSERT_EQUAL_FATAL(jitrd_log_new(fds[1], JITRD_LOG_TEXT, JITRD_LOG_INFO, &log),
	                      JITRD_OK);
	jitrd_log_kv(log, JITRD_LOG_INFO, "e", NULL);
	CU_ASSERT_EQUAL(jitrd_log_dropped(log), 1);
	jitrd_log_free(log);
	close(fds[1]);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"golden lines", test_golden_lines},
	    {"hostile values escaped", test_hostile_values},
	    {"bounds", test_bounds},
	    {"invalid arguments", test_invalid_arguments},
	    {"levels and lines", test_levels_and_lines},
	    {"outcome line", test_outcome_line},
	    {"threads write whole lines", test_threads_whole_lines},
	    {"write failure counted", test_write_failure_counted},
	    {NULL, NULL},
	};

	/* a closed pipe must be an error return, not a signal */
	signal(SIGPIPE, SIG_IGN);
	return tsupport_run("log", cases);
}
