/* What one run of handle or reconcile holds open. */
struct online {
	struct jitrd_online on;
	int failures;
};

static int online_open(struct online *o, const struct jitrd_common_options *opts)
{
	struct jitrd_online_options oo;
	struct jitrd_diag diag = {{0}};

	o->failures = 0;
	jitrd_online_options_init(&oo);
	oo.config_path = opts->config_path;
	oo.now = opts->now;
	oo.envp = (const char *const *)environ;
	oo.session = true;
	oo.pipeline = true;
	if (jitrd_online_open(&oo, &o->on, &diag) != JITRD_OK) {
		fprintf(stderr, "jitrd: %s\n", diag.text);
		return -1;
	}
	return 0;
}

static void online_close(struct online *o)
{
	jitrd_online_close(&o->on);
}

/* Runs one event and prints its outcome line; counts failures for the exit status. */
static int handle_one(void *ctx, const char *payload, size_t len)
{
	struct online *o = ctx;
	struct jitrd_pipeline_result r;
	struct jitrd_outcome outcome;
	char *line = NULL;
	time_t now = time(NULL);

	if (jitrd_pipeline_process(o->on.pipeline, o->on.session, o->on.rt, payload, len, now, &r) !=
	    JITRD_OK) {
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

int jitrd_cmd_handle(int argc, char **argv)
{
	struct jitrd_common_options opts;
	struct online o;
	int status = jitrd_parse_common_options(argc, argv, handle_usage, &opts);

	if (status >= 0)
		return status;
	if (optind + 1 != argc) {
		fputs(handle_usage, stderr);
		return EXIT_USAGE;
	}
	if (online_open(&o, &opts) != 0) {
		online_close(&o);
		return EXIT_USAGE;
	}
	if (strcmp(argv[optind], "-") == 0) {
		handle_lines(&o, stdin);
	} else {
		struct jitrd_diag diag = {{0}};
		char *payload = NULL;
		size_t len = 0;
		/* read a little past the event limit: the parser names an oversized event */
		enum jitrd_err err =
		    jitrd_file_read(argv[optind], JITRD_EVENT_MAX_BYTES + 1, &payload, &len, &diag);
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
	status = o.failures ? EXIT_WORK_FAILED : EXIT_OK;
	online_close(&o);
	return status;
}

int jitrd_cmd_reconcile(int argc, char **argv)
{
	struct jitrd_common_options opts;
	struct jitrd_diag diag = {{0}};
	struct online o;
	size_t count = 0;
	int status = jitrd_parse_common_options(argc, argv, reconcile_usage, &opts);

	if (status >= 0)
		return status;
	if (optind != argc) {
		fputs(reconcile_usage, stderr);
		return EXIT_USAGE;
	}
	if (online_open(&o, &opts) != 0) {
		online_close(&o);
		return EXIT_USAGE;
	}
	if (jitrd_pipeline_pending_events(o.on.session, o.on.rt, handle_one, &o, &count, &diag) !=
	    JITRD_OK) {
		fprintf(stderr, "jitrd: reconcile: %s\n", diag.text);
		o.failures++;
	}
	fprintf(stderr, "jitrd: reconcile: %zu pending certificate(s) handled\n", count);
	status = o.failures ? EXIT_WORK_FAILED : EXIT_OK;
	online_close(&o);
	return status;
}

