/* lambda.c — jitrd as an AWS Lambda custom runtime: opens the runtime and the AWS client once,
 * then answers invocations from the Runtime API (runtime_api.c) with the event shapes
 * (events.c), keeping the CRLs current between them (lambda_crl.c). It decides nothing
 * itself: each registration event goes through the pipeline, and it never lets one event run
 * past the invocation's deadline. */
#include "jitrd/lambda.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jitrd/clock.h"
#include "jitrd/log.h"
#include "jitrd/setup.h"
#include "emf.h"
#include "lambda_crl.h"
#include "lambda_runtime.h"

extern char **environ;

#define FALLBACK_DEADLINE (60 * 1000) /* when Lambda-Runtime-Deadline-Ms is missing */

/* ------------------------------------------------------------------------------------------
 * The runtime: init once, then the loop.
 */

struct lambda {
	struct jitrd_online online; /* runtime, credentials, client, session, pipeline */
	struct jitrd_log *log;
	struct runtime_api api;
	struct lambda_crl crl; /* the CRL sources and when the snapshot is reloaded */
	struct jitrd_metrics *metrics;
	struct jitrd_metrics_snapshot counted; /* at the end of the last invocation */
	char function_name[256];               /* the EMF dimension */
	/* The client sessions of an SQS batch's concurrent records, one per slot ([lambda]
	 * batch_concurrency): slot 0 is online.session, the others are these (as the daemon's
	 * workers, each thread its own connection; the client and its rate limits shared). */
	struct jitrd_iot_session *extra[JITRD_LAMBDA_MAX_BATCH_CONCURRENCY - 1];
	unsigned slots;
};

static enum jitrd_err op_process(void *ctx, unsigned slot, const char *payload, size_t len,
                                 int64_t until, struct jitrd_pipeline_result *out)
{
	struct lambda *l = ctx;
	struct jitrd_iot_session *s = slot == 0 ? l->online.session : l->extra[slot - 1];

	return jitrd_pipeline_process_until(l->online.pipeline, s, l->online.rt, payload, len,
	                                    time(NULL), until, out);
}

static enum jitrd_err op_pending(void *ctx, jitrd_pipeline_event_fn fn, void *fn_ctx, size_t *count,
                                 struct jitrd_diag *diag)
{
	struct lambda *l = ctx;

	return jitrd_pipeline_pending_events(l->online.session, l->online.rt, fn, fn_ctx, count,
	                                     diag);
}

static void op_outcome(void *ctx, const struct jitrd_pipeline_result *r)
{
	struct lambda *l = ctx;
	struct jitrd_outcome o;

	jitrd_pipeline_outcome(r, time(NULL), &o);
	jitrd_log_outcome(l->log, &o);
}

/* Lambda's layout (LAMBDA_TASK_ROOT, /var/task) as the default for what the function.zip
 * carries, the state directory (fetched CRLs, CRL numbers) in /tmp, the one writable place,
 * which lasts as long as the execution environment, and JSON logs for CloudWatch; a variable
 * that is set wins. 0 or -1. */
static int set_lambda_defaults(void)
{
	const char *root = getenv("LAMBDA_TASK_ROOT");
	const char *tmp = getenv("TMPDIR"); /* Lambda sets none: /tmp; a test points it aside */
	static const struct {
		const char *name, *under_root;
	} defaults[] = {
	    {"JITRD_CA_DIR", "ca"},
	    {"JITRD_CRL_DIR", "crl"},
	    {"JITRD_PROVISION_POLICY_TEMPLATE", "policies/default.json"},
	};
	char value[4096];

	if (!root || !*root)
		root = "/var/task";
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		if (getenv(defaults[i].name))
			continue;
		if ((size_t)snprintf(value, sizeof(value), "%s/%s", root, defaults[i].under_root) >=
		        sizeof(value) ||
		    setenv(defaults[i].name, value, 0) != 0)
			return -1;
	}
	if (!tmp || tmp[0] != '/')
		tmp = "/tmp";
	if ((size_t)snprintf(value, sizeof(value), "%s/jitrd", tmp) >= sizeof(value) ||
	    setenv("JITRD_SERVICE_STATE_DIR", value, 0) != 0)
		return -1;
	if (setenv("JITRD_SERVICE_LOG_FORMAT", "json", 0) != 0)
		return -1;
	return 0;
}

/* Reports a broken start to Lambda (and to the log: CloudWatch keeps it). */
static void init_failed(struct lambda *l, const char *type, const char *message)
{
	struct jitrd_lambda_reply reply = {0};
	struct jitrd_diag diag = {{0}};
	char header[128];

	fprintf(stderr, "jitrd: lambda: %s: %s\n", type, message);
	if (jitrd_lambda_error_reply(type, message, &reply) != JITRD_OK)
		return;
	snprintf(header, sizeof(header), "Lambda-Runtime-Function-Error-Type: %s", type);
	if (runtime_api_post(&l->api, "/init/error", header, reply.body, reply.body_len, &diag) !=
	    JITRD_OK)
		fprintf(stderr, "jitrd: lambda: cannot report the init error: %s\n", diag.text);
	jitrd_lambda_reply_cleanup(&reply);
}

static int lambda_init(struct lambda *l, struct jitrd_diag *diag, const char **type)
{
	struct jitrd_online_options oo;
	int64_t started = jitrd_clock_mono_ms();

	*type = "jitrd.ConfigError";
	if (set_lambda_defaults() != 0) {
		jitrd_diag_set(diag, "cannot set the Lambda defaults in the environment");
		return -1;
	}
	/* no file: the JITRD_* variables are the configuration (DESIGN §4.2) */
	jitrd_online_options_init(&oo);
	oo.envp = (const char *const *)environ;
	/* Lambda puts the role's credentials in the environment: fail the start, not every
	 * event, when they are missing */
	oo.resolve_credentials = true;
	oo.session = true;
	oo.pipeline = true;
	oo.crl_missing = lambda_crl_missing;
	if (jitrd_metrics_new(&l->metrics) != JITRD_OK) {
		*type = "jitrd.InitError";
		jitrd_diag_set(diag, "out of memory");
		return -1;
	}
	oo.metrics = l->metrics;
	oo.crl_missing_ctx = &l->crl;
	if (jitrd_online_open(&oo, &l->online, diag) != JITRD_OK) {
		if (l->online.failed_step == JITRD_ONLINE_CREDENTIALS)
			*type = "jitrd.CredentialsError";
		else if (l->online.failed_step == JITRD_ONLINE_RESOURCES)
			*type = "jitrd.InitError";
		return -1;
	}
	if (jitrd_log_new(2, l->online.rt->cfg->service.log_format,
	                  l->online.rt->cfg->service.log_level, &l->log) != JITRD_OK) {
		jitrd_diag_set(diag, "cannot open the log");
		return -1;
	}
	l->slots = 1;
	for (int k = 1; k < l->online.rt->cfg->lambda.batch_concurrency; k++) {
		if (jitrd_iot_session_new(l->online.client, &l->extra[k - 1]) != JITRD_OK) {
			jitrd_diag_set(diag, "cannot open the client sessions of an SQS batch");
			*type = "jitrd.InitError";
			return -1;
		}
		l->slots++;
	}
	/* the fetch is bounded so that init ends well within Lambda's 10 s */
	if (lambda_crl_init(&l->crl, &l->online, l->log, JITRD_LAMBDA_INIT_FETCH_MS,
	                    jitrd_clock_mono_ms() - started, diag) != JITRD_OK) {
		*type = "jitrd.InitError";
		return -1;
	}
	/* Lambda sets it; a missing one (a test, the emulator) still makes a valid dimension */
	snprintf(l->function_name, sizeof(l->function_name), "%s",
	         getenv("AWS_LAMBDA_FUNCTION_NAME") && *getenv("AWS_LAMBDA_FUNCTION_NAME")
	             ? getenv("AWS_LAMBDA_FUNCTION_NAME")
	             : "jitrd");
	jitrd_metrics_snapshot(l->metrics, &l->counted);
	return 0;
}

static void lambda_close(struct lambda *l)
{
	lambda_crl_close(&l->crl);
	for (unsigned k = 1; k < l->slots; k++)
		jitrd_iot_session_free(l->extra[k - 1]);
	jitrd_online_close(&l->online);
	jitrd_log_free(l->log);
	runtime_api_close(&l->api);
	jitrd_metrics_free(l->metrics);
}

/* The invocation's figures as one CloudWatch EMF line on the log's stream (stderr, one write,
 * so that it does not interleave with log lines), taken from the registry's growth since the
 * last one. Nothing is written when memory ran out: the metrics are not worth the answer. */
static void emit_metrics(struct lambda *l, int64_t duration_ms)
{
	struct jitrd_metrics_snapshot now;
	char *line = NULL;
	size_t len;

	jitrd_metrics_snapshot(l->metrics, &now);
	if (jitrd_lambda_emf_line(&l->counted, &now, duration_ms, jitrd_clock_wall_ms(),
	                          l->function_name, &line) == JITRD_OK) {
		len = strlen(line);
		line[len] = '\n'; /* the NUL's place: the line is written by length */
		if (write(2, line, len + 1) < 0)
			jitrd_log_kv(l->log, JITRD_LOG_WARN, "lambda.metrics_not_written", NULL);
	}
	free(line);
	l->counted = now;
}

/* Answers one invocation and posts the answer (a failed post is logged). Errors:
 * JITRD_ERR_NOMEM. */
static enum jitrd_err serve(struct lambda *l, const struct jitrd_lambda_invocation *inv,
                            int64_t margin_ms)
{
	const struct jitrd_lambda_ops ops = {l, op_process, op_pending, op_outcome, l->slots};
	struct jitrd_lambda_reply reply = {0};
	struct jitrd_diag diag = {{0}};
	char path[REQUEST_ID_MAX + 64];
	char header[128];
	int64_t started = jitrd_clock_mono_ms();
	int64_t until = jitrd_lambda_until(inv->deadline_ms, jitrd_clock_wall_ms(), started,
	                                   margin_ms, FALLBACK_DEADLINE);
	enum jitrd_err err;

	/* X-Ray: the trace of this invocation, for anything downstream that reads it */
	if (*inv->trace_id)
		setenv("_X_AMZN_TRACE_ID", inv->trace_id, 1);
	else
		unsetenv("_X_AMZN_TRACE_ID");
	/* before the events, so they are judged on current CRLs; within a share of the time */
	if (lambda_crl_before_invocation(&l->crl, &l->online, l->log, until) != JITRD_OK)
		return JITRD_ERR_NOMEM;
	if (inv->too_large)
		err = jitrd_lambda_error_reply("jitrd.PayloadTooLarge",
		                               "the invocation payload is over 6 MB", &reply);
	else
		err = jitrd_lambda_answer(&ops, inv->payload ? inv->payload : "", inv->len, until,
		                          &reply);
	if (err != JITRD_OK)
		return err;
	snprintf(path, sizeof(path), "/invocation/%s/%s", inv->request_id,
	         reply.is_error ? "error" : "response");
	snprintf(header, sizeof(header), "Lambda-Runtime-Function-Error-Type: %s",
	         reply.error_type);
	if (runtime_api_post(&l->api, path, reply.is_error ? header : NULL, reply.body,
	                     reply.body_len, &diag) != JITRD_OK)
		jitrd_log_kv(l->log, JITRD_LOG_ERROR, "lambda.post_failed", "request_id",
		             inv->request_id, "error", diag.text, NULL);
	{
		char duration[32];
		snprintf(duration, sizeof(duration), "%lld",
		         (long long)(jitrd_clock_mono_ms() - started));
		jitrd_log_kv(l->log, JITRD_LOG_INFO, "lambda.invocation", "request_id",
		             inv->request_id, "function_arn", inv->function_arn, "result",
		             reply.is_error ? "error" : "response", "error_type", reply.error_type,
		             "duration_ms", duration, NULL);
	}
	emit_metrics(l, jitrd_clock_mono_ms() - started);
	jitrd_lambda_reply_cleanup(&reply);
	return JITRD_OK;
}

int jitrd_lambda_run(const struct jitrd_lambda_options *opts)
{
	struct lambda l;
	struct jitrd_lambda_invocation inv;
	struct jitrd_diag diag = {{0}};
	const char *type = NULL;
	int64_t margin_ms = opts->margin_ms > 0 ? opts->margin_ms : JITRD_LAMBDA_DEFAULT_MARGIN_MS;
	unsigned long served = 0;
	int status = 1;

	memset(&l, 0, sizeof(l));
	memset(&inv, 0, sizeof(inv));
	if (runtime_api_open(&l.api, opts->runtime_api) != JITRD_OK) {
		fprintf(stderr,
		        "jitrd: lambda: AWS_LAMBDA_RUNTIME_API is missing or not host:port\n");
		return 2;
	}
	if (lambda_init(&l, &diag, &type) != 0) {
		init_failed(&l, type, diag.text);
		lambda_close(&l);
		return 2;
	}
	jitrd_log_kv(l.log, JITRD_LOG_INFO, "lambda.ready", "config", l.online.rt->config_origin,
	             "ca_dir", l.online.rt->cfg->ca.dir, "crl_dir", l.online.rt->cfg->crl.dir,
	             "crl_dir_error", l.online.rt->crl_dir_error, "state_dir",
	             l.online.rt->cfg->service.state_dir, NULL);
	while (opts->max_invocations == 0 || served < opts->max_invocations) {
		if (runtime_api_next(&l.api, &inv, &diag) != JITRD_OK) {
			jitrd_log_kv(l.log, JITRD_LOG_ERROR, "lambda.next_failed", "error",
			             diag.text, NULL);
			goto cleanup;
		}
		if (serve(&l, &inv, margin_ms) != JITRD_OK) {
			jitrd_log_kv(l.log, JITRD_LOG_ERROR, "lambda.out_of_memory", NULL);
			goto cleanup;
		}
		served++;
	}
	status = 0;
cleanup:
	free(inv.payload);
	lambda_close(&l);
	return status;
}
