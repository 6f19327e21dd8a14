/* setup.c — the one setup of an online mode (see setup.h): runtime, credentials, client,
 * journal, session and pipeline, each only when asked. Prints nothing. */
#include "jitrd/setup.h"

#include <stdio.h>
#include <string.h>

#include "jitrd/files.h"

#define STATE_PATH_MAX 4096

void jitrd_online_options_init(struct jitrd_online_options *o)
{
	memset(o, 0, sizeof(*o));
	o->now = time(NULL);
}

/* Every HTTP attempt of the IoT client, retries included, for jitrd_api_requests_total. */
static void count_api_request(void *ctx, enum jitrd_iot_op op, long http_status, double seconds)
{
	jitrd_metrics_api_request(ctx, jitrd_iot_op_name(op), (int)http_status, seconds);
}

/* The journal of [service] state_dir, the directory made 0700: it holds the fleet's
 * inventory (as `jitrd run` makes it). */
static enum jitrd_err open_journal(const struct jitrd_config *cfg, struct jitrd_journal **out,
                                   struct jitrd_diag *diag)
{
	char path[STATE_PATH_MAX];
	enum jitrd_err err;

	err = jitrd_private_dir(cfg->service.state_dir, NULL, diag);
	if (err != JITRD_OK) {
		jitrd_diag_prefix(diag, "[service] state_dir");
		return err;
	}
	if (snprintf(path, sizeof(path), "%s/%s", cfg->service.state_dir, JITRD_JOURNAL_FILE) >=
	    (int)sizeof(path)) {
		jitrd_diag_set(diag, "[service] state_dir: path too long");
		return JITRD_ERR_CONFIG;
	}
	return jitrd_journal_open(path, NULL, out, diag);
}

/* Credentials chain and client from the configuration. */
static enum jitrd_err open_client(const struct jitrd_online_options *opts,
                                  struct jitrd_online *online, struct jitrd_diag *diag)
{
	const struct jitrd_config *cfg = online->rt->cfg;
	struct jitrd_credentials_options copts;
	struct jitrd_iot_client_options iopts;
	enum jitrd_err err;

	jitrd_credentials_options_init(&copts);
	copts.envp = opts->envp;
	copts.profile = cfg->aws.profile;
	copts.region = cfg->aws.region;
	err = jitrd_credentials_new(&copts, &online->credentials, diag);
	if (err != JITRD_OK)
		return err;
	jitrd_iot_client_options_init(&iopts, cfg);
	if (opts->metrics) {
		iopts.on_request = count_api_request;
		iopts.on_request_ctx = opts->metrics;
	}
	return jitrd_iot_client_new(&iopts, online->credentials, &online->client, diag);
}

enum jitrd_err jitrd_online_open(const struct jitrd_online_options *opts,
                                 struct jitrd_online *online, struct jitrd_diag *diag)
{
	enum jitrd_err err;

	memset(online, 0, sizeof(*online));
	online->failed_step = JITRD_ONLINE_CONFIG;
	if (opts->runtime)
		online->rt = jitrd_runtime_ref(opts->runtime);
	else
		online->rt = jitrd_runtime_new(opts->config_path, opts->now, diag);
	if (!online->rt)
		return JITRD_ERR_CONFIG;
	err = open_client(opts, online, diag);
	if (err == JITRD_OK && opts->journal)
		err = open_journal(online->rt->cfg, &online->journal, diag);
	if (err != JITRD_OK)
		return err;
	if (opts->resolve_credentials) {
		struct jitrd_credentials creds;

		online->failed_step = JITRD_ONLINE_CREDENTIALS;
		err = jitrd_credentials_get(online->credentials, time(NULL), &creds, diag);
		jitrd_credentials_cleanse(&creds);
		if (err != JITRD_OK)
			return err;
	}
	online->failed_step = JITRD_ONLINE_RESOURCES;
	if (opts->session) {
		err = jitrd_iot_session_new(online->client, &online->session);
		if (err != JITRD_OK) {
			jitrd_diag_set(diag, "out of memory");
			return err;
		}
	}
	if (opts->pipeline) {
		struct jitrd_pipeline_options popts = {.journal = opts->pipeline_journal,
		                                       .metrics = opts->metrics,
		                                       .log = opts->log,
		                                       .crl_missing = opts->crl_missing,
		                                       .crl_missing_ctx = opts->crl_missing_ctx};

		err = jitrd_pipeline_new(&popts, &online->pipeline);
		if (err != JITRD_OK) {
			jitrd_diag_set(diag, "out of memory");
			return err;
		}
	}
	return JITRD_OK;
}

void jitrd_online_set_runtime(struct jitrd_online *online, struct jitrd_runtime *rt)
{
	struct jitrd_runtime *old = online->rt;

	online->rt = jitrd_runtime_ref(rt);
	jitrd_runtime_unref(old);
}

void jitrd_online_close(struct jitrd_online *online)
{
	jitrd_pipeline_free(online->pipeline);
	jitrd_iot_session_free(online->session);
	jitrd_journal_close(online->journal);
	jitrd_iot_client_free(online->client);
	jitrd_credentials_free(online->credentials);
	jitrd_runtime_unref(online->rt);
	memset(online, 0, sizeof(*online));
}
