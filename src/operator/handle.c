/* handle.c — `jitrd handle EVENT.json|-` and `jitrd reconcile`: the pipeline of DESIGN §3 on
 * events given by hand, or on every PENDING_ACTIVATION certificate of our CAs, one outcome
 * line each on stdout. No journal: the caller sees every outcome. */
#include "operator_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jitrd/event.h"
#include "jitrd/files.h"
#include "jitrd/outcome.h"
#include "jitrd/pipeline.h"

/* What one run of handle or reconcile holds open. */
struct online {
	struct jitrd_online on;
	int failures;
};

/* The runtime, client, one session and the pipeline; the reason printed on failure. */
static enum jitrd_err online_open(struct online *o, const struct jitrd_command_options *opts)
{
	o->failures = 0;
	return operator_online_open(&o->on, opts, false, true);
}

/* Runs one event and prints its outcome line; counts failures for the exit status. */
static int handle_one(void *ctx, const char *payload, size_t len)
{
	struct online *o = ctx;
	struct jitrd_pipeline_result r;
	struct jitrd_outcome outcome;
	char *line = NULL;
	time_t now = time(NULL);

	if (jitrd_pipeline_process(o->on.pipeline, o->on.session, o->on.rt, payload, len, now,
	                           &r) != JITRD_OK) {
		fprintf(stderr, "jitrd: out of memory\n");
		o->failures++;
		return 1;
	}
	jitrd_pipeline_outcome(&r, now, &outcome);
	if (jitrd_outcome_format(&outcome, o->on.rt->cfg->service.log_format, &line) != JITRD_OK) {
		fprintf(stderr, "jitrd: cannot format an outcome\n");
		o->failures++;
		return 1;
	}
	printf("%s\n", line);
	fflush(stdout);
	free(line);
	if (r.decision == JITRD_DECISION_FAILED || r.decision == JITRD_DECISION_INVALID)
		o->failures++;
	return 0;
}

/* JSON lines from stdin. A line longer than an event may be is cut to one byte over the
 * limit (so the parser calls it too large) and the rest of it skipped: nothing is held in
 * memory beyond the limit, and the next line is still read. */
static void handle_lines(struct online *o, FILE *in)
{
	size_t cap = JITRD_EVENT_MAX_BYTES + 1;
	char *line = malloc(cap);
	size_t used = 0;
	int c;

	if (!line) {
		fprintf(stderr, "jitrd: out of memory\n");
		o->failures++;
		return;
	}
	while ((c = getc(in)) != EOF || used > 0) {
		if (c != '\n' && c != EOF) {
			if (used < cap)
				line[used++] = (char)c;
			continue;
		}
		/* skip blank lines (and a trailing \r) without an outcome */
		if (used > 0 && line[used - 1] == '\r')
			used--;
		if (used > 0 && handle_one(o, line, used) != 0)
			break;
		used = 0;
		if (c == EOF)
			break;
	}
	free(line);
}

enum jitrd_exit jitrd_command_handle(const struct jitrd_command_options *opts,
                                     const char *event_path)
{
	struct online o;
	enum jitrd_exit status;

	if (online_open(&o, opts) != JITRD_OK) {
		jitrd_online_close(&o.on);
		return JITRD_EXIT_USAGE;
	}
	if (strcmp(event_path, "-") == 0) {
		handle_lines(&o, stdin);
	} else {
		struct jitrd_diag diag = {{0}};
		char *payload = NULL;
		size_t len = 0;
		/* read a little past the event limit: the parser names an oversized event */
		enum jitrd_err err =
		    jitrd_file_read(event_path, JITRD_EVENT_MAX_BYTES + 1, &payload, &len, &diag);
		if (err == JITRD_ERR_TOO_LARGE) {
			/* the parser names it: an oversized event is invalid, not an I/O error */
			static const char oversized[JITRD_EVENT_MAX_BYTES + 1];
			handle_one(&o, oversized, sizeof(oversized));
		} else if (err != JITRD_OK) {
			fprintf(stderr, "jitrd: %s\n", diag.text);
			o.failures++;
		} else {
			handle_one(&o, payload, len);
		}
		free(payload);
	}
	status = o.failures ? JITRD_EXIT_WORK_FAILED : JITRD_EXIT_OK;
	jitrd_online_close(&o.on);
	return status;
}

enum jitrd_exit jitrd_command_reconcile(const struct jitrd_command_options *opts)
{
	struct jitrd_diag diag = {{0}};
	struct online o;
	size_t count = 0;
	enum jitrd_exit status;

	if (online_open(&o, opts) != JITRD_OK) {
		jitrd_online_close(&o.on);
		return JITRD_EXIT_USAGE;
	}
	if (jitrd_pipeline_pending_events(o.on.session, o.on.rt, handle_one, &o, &count, &diag) !=
	    JITRD_OK) {
		fprintf(stderr, "jitrd: reconcile: %s\n", diag.text);
		o.failures++;
	}
	fprintf(stderr, "jitrd: reconcile: %zu pending certificate(s) handled\n", count);
	status = o.failures ? JITRD_EXIT_WORK_FAILED : JITRD_EXIT_OK;
	jitrd_online_close(&o.on);
	return status;
}
