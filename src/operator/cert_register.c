/* cert_register.c — `jitrd cert register`: device certificates registered ahead of their first
 * connection, each given the decision of a registration event and provisioned as the pipeline
 * does (RegisterCertificate INACTIVE, Thing and policy, ACTIVE last), by worker threads within
 * [limits], resumable through the journal. It never re-activates a REVOKED certificate. */
#include "operator_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "jitrd/arn.h"
#include "jitrd/clock.h"
#include "jitrd/escape.h"
#include "jitrd/files.h"
#include "jitrd/operator.h"
#include "jitrd/outcome.h"
#include "jitrd/text.h"

#define JOB_PREFIX "register:"
/* the account the templates render with before AWS named ours (judging only, never sent) */
#define PLACEHOLDER_ACCOUNT "123456789012"

struct register_job {
	const struct jitrd_register_options *o;
	char job[sizeof(JOB_PREFIX) + 64];
	struct jitrd_decision_context ctx;
	struct operator_pool pool; /* its lock guards what follows */
	struct jitrd_register_summary summary;
};

/* One certificate's work and what became of it. */
struct one {
	struct register_job *j;
	struct jitrd_iot_session *s;
	const char *path;
	int64_t deadline;
	struct jitrd_cert *cert;
	struct jitrd_decision d;
	enum jitrd_register_result result;
	char status[32];
	char reason[512];
	bool register_called;
};

const char *jitrd_register_result_name(enum jitrd_register_result result)
{
	switch (result) {
	case JITRD_REGISTER_REGISTERED:
		return "registered";
	case JITRD_REGISTER_REGISTERED_EARLIER:
		return "registered_earlier";
	case JITRD_REGISTER_ALREADY:
		return "already_registered";
	case JITRD_REGISTER_REFUSED:
		return "refused";
	case JITRD_REGISTER_FAILED:
		break;
	}
	return "failed";
}

static void set_reason(struct one *w, enum jitrd_register_result result, const char *text)
{
	w->result = result;
	jitrd_text_copy(w->reason, sizeof(w->reason), text);
}

/* The file as one certificate. A file of several is refused: which of them is meant? */
static int read_cert(struct one *w)
{
	struct jitrd_diag diag = {{0}};
	char *pem = NULL;
	size_t len = 0;
	size_t blocks = 0;
	enum jitrd_err err = jitrd_file_read(w->path, JITRD_CERT_MAX_PEM, &pem, &len, &diag);

	if (err == JITRD_OK) {
		for (const char *p = pem; (p = strstr(p, "-----BEGIN CERTIFICATE-----")); p++)
			blocks++;
		if (blocks > 1) {
			jitrd_diag_set(&diag, "%s: %zu certificates; one device certificate a file",
			               w->path, blocks);
			err = JITRD_ERR_MALFORMED;
		}
	}
	if (err == JITRD_OK) {
		err = jitrd_cert_from_pem(pem, len, &w->cert, &diag);
		if (err != JITRD_OK)
			jitrd_diag_prefix(&diag, w->path);
	}
	free(pem);
	if (err != JITRD_OK) {
		set_reason(w, JITRD_REGISTER_FAILED,
		           diag.text[0] ? diag.text : jitrd_strerror(err));
		return -1;
	}
	return 0;
}

/* The decision of a registration event, with account for the templates ("" or NULL: the
 * configuration's, else a placeholder good enough to judge with). 0 when it is activate. */
static int decide(struct one *w, const char *account)
{
	struct jitrd_decision_context ctx = w->j->ctx;
	enum jitrd_err err;

	if (!ctx.account_id || !*ctx.account_id)
		ctx.account_id = account && *account ? account : PLACEHOLDER_ACCOUNT;
	jitrd_decision_cleanup(&w->d);
	err = jitrd_pipeline_decide(w->j->o->pipeline, &ctx, w->cert, NULL, w->j->o->now,
	                            w->deadline, &w->d);
	if (err != JITRD_OK) {
		set_reason(w, JITRD_REGISTER_FAILED,
		           *w->d.reason ? w->d.reason : jitrd_strerror(err));
		return -1;
	}
	if (w->d.kind != JITRD_DECISION_ACTIVATE) {
		set_reason(w, JITRD_REGISTER_REFUSED, w->d.reason);
		return -1;
	}
	return 0;
}

static void call_failed(struct one *w, const char *operation, enum jitrd_err err,
                        const struct jitrd_iot_result *res, const struct jitrd_diag *diag)
{
	w->result = JITRD_REGISTER_FAILED;
	operator_describe_failure(w->reason, sizeof(w->reason), operation, err, res, diag);
}

/* RegisterCertificate INACTIVE with its CA; a certificate AWS already has is described
 * instead. arn and the status AWS holds on success. */
static int register_or_find(struct one *w, char *arn, size_t arn_size, bool *fresh)
{
	const struct jitrd_cert *ca = jitrd_caset_find_id(w->j->ctx.cas, w->d.ca_id);
	struct jitrd_iot_registered reg;
	struct jitrd_iot_certificate described = {0};
	struct jitrd_iot_result res = {0};
	struct jitrd_diag diag = {{0}};
	char *cert_pem = NULL, *ca_pem = NULL;
	enum jitrd_err err;
	int rc = -1;

	memset(&reg, 0, sizeof(reg));

	/* the certificate sent is the one judged, re-encoded: nothing else of the file goes */
	if (!ca || operator_x509_to_pem(jitrd_cert_x509(w->cert), &cert_pem) != JITRD_OK ||
	    operator_x509_to_pem(jitrd_cert_x509(ca), &ca_pem) != JITRD_OK) {
		set_reason(w, JITRD_REGISTER_FAILED, "out of memory encoding the certificates");
		goto cleanup;
	}
	w->register_called = true;
	err = jitrd_iot_register_certificate(w->s, w->deadline, cert_pem, ca_pem,
	                                     JITRD_IOT_INACTIVE, &reg, &res, &diag);
	if (err == JITRD_OK) {
		/* AWS forms the id from the DER: another id is an answer about something else */
		if (strcmp(reg.certificate_id, jitrd_cert_id(w->cert)) != 0) {
			set_reason(w, JITRD_REGISTER_FAILED,
			           "RegisterCertificate answered with another certificate id");
			goto cleanup;
		}
		jitrd_text_copy(arn, arn_size, reg.certificate_arn);
		jitrd_text_copy(w->status, sizeof(w->status), "INACTIVE");
		*fresh = true;
		rc = 0;
		goto cleanup;
	}
	if (err != JITRD_ERR_API || strcmp(res.code, "ResourceAlreadyExistsException") != 0) {
		call_failed(w, "RegisterCertificate", err, &res, &diag);
		goto cleanup;
	}
	/* registered before (by us, whose answer was lost, or by someone else): what is it now? */
	memset(&res, 0, sizeof(res));
	err = jitrd_iot_describe_certificate(w->s, w->deadline, jitrd_cert_id(w->cert), &described,
	                                     &res, &diag);
	if (err != JITRD_OK) {
		call_failed(w, "DescribeCertificate", err, &res, &diag);
		goto cleanup;
	}
	jitrd_text_copy(w->status, sizeof(w->status), jitrd_iot_status_name(described.status));
	if (described.status == JITRD_IOT_REVOKED) {
		set_reason(w, JITRD_REGISTER_REFUSED,
		           "REVOKED in AWS IoT: a revoked certificate is never re-activated");
		goto cleanup;
	}
	if (described.status != JITRD_IOT_ACTIVE && described.status != JITRD_IOT_INACTIVE &&
	    described.status != JITRD_IOT_PENDING_ACTIVATION) {
		snprintf(w->reason, sizeof(w->reason), "%s in AWS IoT: left as it is", w->status);
		w->result = JITRD_REGISTER_FAILED;
		goto cleanup;
	}
	jitrd_text_copy(arn, arn_size, described.certificate_arn);
	*fresh = false;
	rc = 0;
cleanup:
	jitrd_iot_certificate_cleanup(&described);
	free(cert_pem);
	free(ca_pem);
	return rc;
}

/* The inventory, as the pipeline keeps it: a cache for `crl sweep`, so a failed write does
 * not change the outcome. */
static void inventory_put(struct one *w)
{
	struct jitrd_journal_cert row = {0};

	jitrd_text_copy(row.certificate_id, sizeof(row.certificate_id), jitrd_cert_id(w->cert));
	jitrd_text_copy(row.ca_id, sizeof(row.ca_id), w->d.ca_id);
	jitrd_text_copy(row.serial_hex, sizeof(row.serial_hex), w->d.serial);
	jitrd_text_copy(row.subject_cn, sizeof(row.subject_cn), w->d.subject_cn);
	jitrd_text_copy(row.status, sizeof(row.status), w->status);
	jitrd_text_copy(row.last_decision, sizeof(row.last_decision), "activate");
	row.updated_ms = jitrd_clock_wall_ms();
	if (jitrd_journal_cert_upsert(w->j->o->journal, &row, NULL) != JITRD_OK) {
		/* the next sweep describes it once instead */
	}
}

/* One certificate from its file to ACTIVE (or the reason it is not). */
static void register_one(struct one *w)
{
	struct register_job *j = w->j;
	struct jitrd_pipeline_result provisioned = {0};
	struct jitrd_iot_result res = {0};
	struct jitrd_diag diag = {{0}};
	char arn[JITRD_IOT_MAX_ARN + 1] = "";
	char account[13];
	bool done = false, fresh = false;
	enum jitrd_err err;

	if (read_cert(w) != 0)
		return;
	if (jitrd_journal_item_is_done(j->o->journal, j->job, jitrd_cert_id(w->cert), &done,
	                               &diag) != JITRD_OK) {
		set_reason(w, JITRD_REGISTER_FAILED, diag.text);
		return;
	}
	if (done) {
		jitrd_text_copy(w->status, sizeof(w->status), "ACTIVE");
		set_reason(w, JITRD_REGISTER_REGISTERED_EARLIER, "registered by an earlier run");
		return;
	}
	if (decide(w, NULL) != 0 || register_or_find(w, arn, sizeof(arn), &fresh) != 0)
		return;
	/* the policy and Thing go to this ARN: it must name this certificate */
	if (!jitrd_arn_names_certificate(arn, jitrd_cert_id(w->cert))) {
		set_reason(w, JITRD_REGISTER_FAILED,
		           "AWS returned a certificateArn that does not name the certificate");
		return;
	}
	/* the templates' account: the configuration's, else the one AWS registered it in */
	if (!j->ctx.account_id || !*j->ctx.account_id) {
		jitrd_arn_account(arn, NULL, account);
		if (decide(w, account) != 0)
			return;
	}
	if (jitrd_pipeline_provision(j->o->pipeline, w->s, w->deadline, &w->d, arn, &provisioned) !=
	    JITRD_OK) {
		/* another device's Thing is a reject: nothing attached, left INACTIVE */
		set_reason(w,
		           provisioned.decision == JITRD_DECISION_REJECT ? JITRD_REGISTER_REFUSED
		                                                         : JITRD_REGISTER_FAILED,
		           provisioned.reason);
		return;
	}
	if (strcmp(w->status, "ACTIVE") != 0) {
		/* DESIGN §3.8: ACTIVE last, once the device has its policy */
		err = jitrd_iot_update_certificate(w->s, w->deadline, jitrd_cert_id(w->cert),
		                                   JITRD_IOT_ACTIVE, &res, &diag);
		if (err != JITRD_OK) {
			call_failed(w, "UpdateCertificate", err, &res, &diag);
			return;
		}
		jitrd_text_copy(w->status, sizeof(w->status), "ACTIVE");
	}
	inventory_put(w);
	set_reason(w, fresh ? JITRD_REGISTER_REGISTERED : JITRD_REGISTER_ALREADY,
	           fresh ? "registered, policy attached, ACTIVE"
	                 : "already registered; policy attached, ACTIVE");
	/* recorded the moment it is ACTIVE: a crash now redoes at most the ones in flight */
	err = jitrd_journal_item_done(j->o->journal, j->job, jitrd_cert_id(w->cert),
	                              jitrd_clock_wall_ms(), &diag);
	if (err != JITRD_OK)
		operator_pool_fail(&j->pool, err, "journal", diag.text);
}

static void *register_worker(void *arg)
{
	struct register_job *j = arg;
	struct jitrd_iot_session *session = NULL;
	enum jitrd_err err = operator_pool_session(&j->pool, j->o->client, &session);

	while (err == JITRD_OK) {
		struct one w;
		struct jitrd_register_line line;
		size_t index;
		bool more;

		memset(&w, 0, sizeof(w));
		pthread_mutex_lock(&j->pool.lock);
		more = operator_pool_take(&j->pool, &index);
		pthread_mutex_unlock(&j->pool.lock);
		if (!more)
			break;
		w.path = j->o->paths[index];

		w.j = j;
		w.s = session;
		w.deadline = jitrd_iot_deadline_in(j->o->request_timeout_ms);
		jitrd_decision_init(&w.d);
		register_one(&w);

		line.path = w.path;
		line.certificate_id = w.cert ? jitrd_cert_id(w.cert) : "";
		line.result = w.result;
		line.decision = w.d.reason[0] ? jitrd_decision_name(w.d.kind) : "";
		line.status = w.status;
		line.reason = w.reason;
		pthread_mutex_lock(&j->pool.lock);
		switch (w.result) {
		case JITRD_REGISTER_REGISTERED:
			j->summary.registered++;
			break;
		case JITRD_REGISTER_REGISTERED_EARLIER:
			j->summary.registered_earlier++;
			break;
		case JITRD_REGISTER_ALREADY:
			j->summary.already++;
			break;
		case JITRD_REGISTER_REFUSED:
			j->summary.refused++;
			break;
		case JITRD_REGISTER_FAILED:
			j->summary.failed++;
			break;
		}
		j->summary.register_calls += w.register_called;
		if (j->o->line)
			j->o->line(j->o->ctx, &line);
		pthread_mutex_unlock(&j->pool.lock);
		jitrd_decision_cleanup(&w.d);
		jitrd_cert_free(w.cert);
	}
	operator_pool_leave(&j->pool, session);
	return NULL;
}

static void register_tick(void *ctx, const void *counters)
{
	const struct register_job *j = ctx;

	j->o->progress(j->o->ctx, counters);
}

static int compare_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "register:" and the SHA-256 of the sorted inputs (resolved where they resolve), so the
 * same set of files names the same job whatever order or directory it is given from. */
static enum jitrd_err job_name(const struct jitrd_register_options *o, char *job, size_t size)
{
	enum jitrd_err result = JITRD_ERR_NOMEM;
	char **sorted = calloc(o->count ? o->count : 1, sizeof(*sorted));
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char hash[32];
	char hex[65];
	size_t made = 0;

	if (!sorted || !md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto cleanup;
	for (; made < o->count; made++) {
		char *resolved = realpath(o->paths[made], NULL);
		sorted[made] = resolved ? resolved : strdup(o->paths[made]);
		if (!sorted[made])
			goto cleanup;
	}
	qsort(sorted, o->count, sizeof(*sorted), compare_paths);
	for (size_t i = 0; i < o->count; i++) {
		/* the NUL separates names: no two sets of names hash alike by concatenation */
		if (EVP_DigestUpdate(md, sorted[i], strlen(sorted[i]) + 1) != 1)
			goto cleanup;
	}
	if (EVP_DigestFinal_ex(md, hash, NULL) != 1)
		goto cleanup;
	jitrd_hex_encode(hash, sizeof(hash), hex, sizeof(hex));
	snprintf(job, size, JOB_PREFIX "%s", hex);
	result = JITRD_OK;
cleanup:
	for (size_t i = 0; i < made; i++)
		free(sorted[i]);
	free(sorted);
	EVP_MD_CTX_free(md);
	return result;
}

enum jitrd_err jitrd_operator_cert_register(const struct jitrd_register_options *o,
                                            struct jitrd_register_summary *summary,
                                            struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct register_job j;

	memset(summary, 0, sizeof(*summary));
	memset(&j, 0, sizeof(j));
	if (!o || !o->client || !o->pipeline || !o->rt || !o->journal || !o->paths) {
		jitrd_diag_set(diag, "cert register: a client, the pipeline, a runtime and the "
		                     "journal are needed");
		return JITRD_ERR_INVALID_ARG;
	}
	j.o = o;
	j.summary.total = o->count;
	jitrd_runtime_context(o->rt, &j.ctx);
	if (job_name(o, j.job, sizeof(j.job)) != JITRD_OK) {
		jitrd_diag_set(diag, "cert register: out of memory");
		return JITRD_ERR_NOMEM;
	}
	if (operator_pool_init(&j.pool, o->stop, o->progress_ms, o->progress ? register_tick : NULL,
	                       &j, &j.summary, sizeof(j.summary)) != JITRD_OK) {
		jitrd_diag_set(diag, "cert register: out of memory");
		return JITRD_ERR_NOMEM;
	}
	j.pool.count = o->count;
	result = jitrd_journal_job_start(o->journal, j.job, "cert register", jitrd_clock_wall_ms(),
	                                 &j.summary.resumed, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = operator_pool_run(&j.pool, o->workers, register_worker, &j, diag);
	if (result != JITRD_OK)
		goto cleanup;
	j.summary.interrupted = j.pool.next < j.pool.count;
	/* every certificate registered (or found so): the job is complete and forgotten; with
	 * refusals or failures it stays, so a run after a fix skips what is done */
	if (!j.summary.interrupted && !j.summary.failed && !j.summary.refused)
		result = jitrd_journal_job_finish(o->journal, j.job, jitrd_clock_wall_ms(), diag);
cleanup:
	*summary = j.summary;
	operator_pool_cleanup(&j.pool);
	return result;
}

/* ---- the command -------------------------------------------------------------------------- */

struct register_view {
	bool tty, json;
	/* the progress line (the calling thread) and the certificates' lines (workers) share
	 * the terminal: one at a time */
	pthread_mutex_t terminal;
	int64_t last_progress_ms;
	bool progress_shown;
};

static void progress_line(void *ctx, const struct jitrd_register_summary *s)
{
	struct register_view *v = ctx;
	int64_t now = jitrd_clock_mono_ms();

	/* a terminal only, and at most about four times a second */
	if (!v->tty || now - v->last_progress_ms < 250)
		return;
	v->last_progress_ms = now;
	pthread_mutex_lock(&v->terminal);
	v->progress_shown = true;
	fprintf(stderr,
	        "\rregistering: %zu/%zu (registered %zu, already registered %zu, refused %zu, "
	        "failed %zu)  ",
	        s->registered + s->registered_earlier + s->already + s->refused + s->failed,
	        s->total, s->registered + s->registered_earlier, s->already, s->refused, s->failed);
	pthread_mutex_unlock(&v->terminal);
}

static void write_json_line(struct jitrd_escape_line *out, const void *ctx)
{
	const struct jitrd_register_line *l = ctx;

	jitrd_escape_put_str(out, "{\"path\":");
	jitrd_escape_json(out, l->path, 1024);
	jitrd_escape_put_str(out, ",\"certificate_id\":");
	jitrd_escape_json(out, l->certificate_id, 64);
	jitrd_escape_put_str(out, ",\"result\":");
	jitrd_escape_json(out, jitrd_register_result_name(l->result), JITRD_ESCAPE_UNCUT);
	jitrd_escape_put_str(out, ",\"decision\":");
	jitrd_escape_json(out, l->decision, 64);
	jitrd_escape_put_str(out, ",\"status\":");
	jitrd_escape_json(out, l->status, 64);
	jitrd_escape_put_str(out, ",\"reason\":");
	jitrd_escape_json(out, l->reason, 512);
	jitrd_escape_put_str(out, "}");
}

static void write_text_line(struct jitrd_escape_line *out, const void *ctx)
{
	const struct jitrd_register_line *l = ctx;

	jitrd_escape_put_str(out, jitrd_register_result_name(l->result));
	jitrd_escape_put_str(out, " path=");
	jitrd_escape_text(out, l->path, 1024);
	if (*l->certificate_id) {
		jitrd_escape_put_str(out, " certificate_id=");
		jitrd_escape_put_str(out, l->certificate_id);
	}
	if (*l->decision) {
		jitrd_escape_put_str(out, " decision=");
		jitrd_escape_text(out, l->decision, 64);
	}
	if (*l->status) {
		jitrd_escape_put_str(out, " status=");
		jitrd_escape_text(out, l->status, 64);
	}
	jitrd_escape_put_str(out, " reason=");
	jitrd_escape_text(out, l->reason, 512);
}

static void print_line(void *ctx, const struct jitrd_register_line *l)
{
	struct register_view *v = ctx;
	char *text = NULL;
	bool trouble = l->result == JITRD_REGISTER_FAILED || l->result == JITRD_REGISTER_REFUSED;

	if (jitrd_escape_build(v->json ? write_json_line : write_text_line, l, &text) != JITRD_OK)
		return;
	pthread_mutex_lock(&v->terminal);
	if (v->progress_shown) {
		fputs("\r\033[K", stderr);
		v->progress_shown = false;
	}
	/* --json: every certificate on standard output; text: refusals and failures on
	 * standard error, where they are not lost among thousands of lines */
	if (v->json || !trouble) {
		printf("%s\n", text);
		fflush(stdout);
	} else {
		fprintf(stderr, "jitrd: %s\n", text);
	}
	pthread_mutex_unlock(&v->terminal);
	free(text);
}

/* 0 on success, else the exit status. */
static int collect_paths(const char *dir, char **argv, size_t argc, char ***paths, size_t *count,
                         bool *owned)
{
	struct jitrd_diag diag = {{0}};

	*owned = false;
	if (!dir) {
		*paths = argv;
		*count = argc;
		return 0;
	}
	if (jitrd_dir_list(dir, paths, count, &diag) != JITRD_OK) {
		fprintf(stderr, "jitrd: cert register: %s\n", diag.text);
		return JITRD_EXIT_USAGE;
	}
	*owned = true;
	if (*count == 0) {
		fprintf(stderr, "jitrd: cert register: %s holds no certificate file\n", dir);
		jitrd_paths_free(*paths, *count);
		*owned = false;
		return JITRD_EXIT_USAGE;
	}
	return 0;
}

enum jitrd_exit jitrd_command_cert_register(const struct jitrd_command_options *o, const char *dir,
                                            char **paths, size_t count, bool json)
{
	struct jitrd_online online;
	struct jitrd_diag diag = {{0}};
	struct jitrd_register_summary sum;
	struct jitrd_register_options ropts;
	struct register_view view = {.terminal = PTHREAD_MUTEX_INITIALIZER};
	char **inputs = NULL;
	size_t inputs_count = 0;
	bool owned = false;
	enum jitrd_exit status;
	int bad = collect_paths(dir, paths, count, &inputs, &inputs_count, &owned);

	if (bad)
		return (enum jitrd_exit)bad;
	memset(&online, 0, sizeof(online));
	if (operator_online_open(&online, o, true, true) != JITRD_OK) {
		status = JITRD_EXIT_USAGE;
		goto done;
	}
	operator_catch_stop_signals();
	view.tty = isatty(STDERR_FILENO) == 1;
	view.json = json;
	memset(&ropts, 0, sizeof(ropts));
	ropts.client = online.client;
	ropts.pipeline = online.pipeline;
	ropts.rt = online.rt;
	ropts.journal = online.journal;
	ropts.paths = inputs;
	ropts.count = inputs_count;
	ropts.now = o->now;
	ropts.workers = (unsigned)online.rt->cfg->service.workers;
	ropts.request_timeout_ms = operator_request_timeout_ms(&online);
	ropts.stop = &operator_stop_flag;
	ropts.progress = progress_line;
	ropts.line = print_line;
	ropts.ctx = &view;
	if (jitrd_operator_cert_register(&ropts, &sum, &diag) != JITRD_OK) {
		if (view.progress_shown)
			fputc('\n', stderr);
		fprintf(stderr, "jitrd: cert register: %s\n", diag.text);
		status = JITRD_EXIT_WORK_FAILED;
		goto done;
	}
	if (view.progress_shown)
		fputs("\r\033[K", stderr);
	if (json)
		printf("{\"summary\":{\"total\":%zu,\"registered\":%zu,\"registered_earlier\":%zu,"
		       "\"already_registered\":%zu,\"refused\":%zu,\"failed\":%zu,"
		       "\"interrupted\":%s}}\n",
		       sum.total, sum.registered + sum.registered_earlier, sum.registered_earlier,
		       sum.already, sum.refused, sum.failed, sum.interrupted ? "true" : "false");
	else
		printf("%zu certificate(s): registered %zu, already registered %zu, refused %zu, "
		       "failed %zu%s\n",
		       sum.total, sum.registered + sum.registered_earlier, sum.already, sum.refused,
		       sum.failed,
		       sum.registered_earlier ? " (some by an earlier, interrupted run)" : "");
	status = JITRD_EXIT_OK;
	if (sum.refused || sum.failed)
		status = JITRD_EXIT_WORK_FAILED;
	if (sum.interrupted) {
		fprintf(stderr, "jitrd: interrupted, run the same command again to resume\n");
		status = JITRD_EXIT_WORK_FAILED;
	}
done:
	jitrd_online_close(&online);
	if (owned)
		jitrd_paths_free(inputs, inputs_count);
	return status;
}
