/* setup.h — the one setup of an online mode: the runtime snapshot (configuration, CAs, CRLs,
 * templates), the credentials chain (DESIGN §4.2), the IoT client (rates from [limits]), and
 * what the mode asks for besides: a session, the pipeline, the operator's journal. Every front
 * end opens what it needs through jitrd_online_open; it prints nothing. */
#ifndef JITRD_SETUP_H
#define JITRD_SETUP_H

#include <stdbool.h>
#include <time.h>

#include "jitrd/config.h"
#include "jitrd/credentials.h"
#include "jitrd/error.h"
#include "jitrd/iot_client.h"
#include "jitrd/journal.h"
#include "jitrd/metrics.h"
#include "jitrd/pipeline.h"
#include "jitrd/runtime.h"

/* The journal in [service] state_dir, the same file `jitrd run` and the operator use. */
#define JITRD_JOURNAL_FILE "journal.db"

struct jitrd_online_options {
	/* The runtime: an already loaded snapshot (a reference is taken; config_path and now
	 * are then unused), or NULL to load one from config_path (NULL: the default file if it
	 * exists, else the JITRD_* environment alone) judged at now. */
	struct jitrd_runtime *runtime;
	const char *config_path;
	time_t now;
	const char *const *envp; /* the process environment (credentials chain); read during
	                          * the call only */
	/* Resolve the credentials once before returning, so that a missing role or key fails
	 * the start rather than every event (Lambda). */
	bool resolve_credentials;
	bool session;  /* open one client session (online.session) */
	bool pipeline; /* make the pipeline (online.pipeline) */
	/* With pipeline: its certificate inventory (borrowed; NULL = none). */
	struct jitrd_journal *pipeline_journal;
	/* Borrowed; NULL = none. Given, the pipeline counts into it and every HTTP attempt of the
	 * client (retries included) is counted in jitrd_api_requests_total. */
	struct jitrd_metrics *metrics;
	/* Borrowed; NULL = none. Given, the pipeline logs each OCSP request there. */
	struct jitrd_log *log;
	/* With pipeline: told of devices deferred for want of a CRL (jitrd_pipeline_options). */
	jitrd_crl_missing_fn crl_missing;
	void *crl_missing_ctx;
	/* Open the journal of state_dir (created 0700 when missing) as online.journal: the
	 * operator's job progress and the fleet's inventory. */
	bool journal;
};

/* Fills o with the defaults: load the runtime from the default file at time(NULL), nothing
 * but credentials and client. */
void jitrd_online_options_init(struct jitrd_online_options *o);

/* Where jitrd_online_open stopped, for a front end that words each differently. */
enum jitrd_online_step {
	JITRD_ONLINE_CONFIG,      /* the runtime, the credentials chain, the client, the journal */
	JITRD_ONLINE_CREDENTIALS, /* resolve_credentials: no credentials could be had */
	JITRD_ONLINE_RESOURCES,   /* the session or the pipeline: out of memory */
};

/* What an online mode holds open. Members not asked for are NULL. */
struct jitrd_online {
	struct jitrd_runtime *rt; /* one reference */
	struct jitrd_credentials_provider *credentials;
	struct jitrd_iot_client *client;
	struct jitrd_iot_session *session;
	struct jitrd_pipeline *pipeline;
	struct jitrd_journal *journal;
	enum jitrd_online_step failed_step; /* set when jitrd_online_open fails */
};

/* Opens, in this order, the runtime, the credentials chain, the client, the journal, checks
 * the credentials, then the session and the pipeline, as opts asks. On failure diag says why
 * ("where: why", never a secret), failed_step where, and what was opened stays in *online:
 * call jitrd_online_close either way. Errors: those of jitrd_runtime_new (JITRD_ERR_CONFIG),
 * jitrd_credentials_new, jitrd_iot_client_new, jitrd_journal_open, jitrd_credentials_get,
 * JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_online_open(const struct jitrd_online_options *opts,
                                 struct jitrd_online *online, struct jitrd_diag *diag) JITRD_WUR;

/* Replaces online->rt with rt (a reference is taken; the old one is released, so a caller
 * still using it must hold its own). The credentials, client, session and pipeline keep
 * nothing of a runtime beyond a call (the client copied [aws] when it was made), so this is
 * safe between calls, with no other thread using *online, for an rt loaded from the same
 * configuration: a reload of the CRLs, not of [aws]. */
void jitrd_online_set_runtime(struct jitrd_online *online, struct jitrd_runtime *rt);

/* Closes what jitrd_online_open opened and zeroes *online; a zeroed one is fine. */
void jitrd_online_close(struct jitrd_online *online);

#endif
