/* credentials.h — AWS credentials from the standard chain (DESIGN §4.2), in this order:
 * environment, web identity (STS), shared files, container endpoint, IMDSv2. Temporary
 * credentials are refreshed before they expire; thread safe. The environment is a passed-in
 * envp array, never getenv. Secrets are wiped and never appear in any message. */
#ifndef JITRD_CREDENTIALS_H
#define JITRD_CREDENTIALS_H

#include <time.h>

#include "jitrd/error.h"

#define JITRD_CREDENTIALS_MAX_KEY   128  /* access key id, secret access key */
#define JITRD_CREDENTIALS_MAX_TOKEN 8192 /* session token (as the sigv4 module bounds it) */

/* A copy owned by the caller: wipe with jitrd_credentials_cleanse when done. */
struct jitrd_credentials {
	char access_key_id[JITRD_CREDENTIALS_MAX_KEY + 1];
	char secret_access_key[JITRD_CREDENTIALS_MAX_KEY + 1];
	char session_token[JITRD_CREDENTIALS_MAX_TOKEN + 1]; /* "" when none */
	time_t expiration;                                   /* 0: does not expire */
};

void jitrd_credentials_cleanse(struct jitrd_credentials *creds); /* NULL is fine */

enum jitrd_credentials_source {
	JITRD_CREDENTIALS_NONE = 0, /* not resolved yet */
	JITRD_CREDENTIALS_ENVIRONMENT,
	JITRD_CREDENTIALS_WEB_IDENTITY,
	JITRD_CREDENTIALS_SHARED_FILES,
	JITRD_CREDENTIALS_CONTAINER,
	JITRD_CREDENTIALS_IMDS,
};

/* "none", "environment", "web-identity", "shared-files", "container", "imds". */
const char *jitrd_credentials_source_name(enum jitrd_credentials_source source);

struct jitrd_credentials_options {
	const char *const *envp;    /* NULL-terminated "NAME=value"; read during _new only */
	const char *profile;        /* [aws] profile; NULL/"" = AWS_PROFILE, else "default" */
	const char *region;         /* for the STS endpoint; NULL/"" = AWS_REGION, else us-east-1 */
	long connect_timeout_ms;    /* HTTP providers (STS, container, IMDS); default 1000 */
	long timeout_ms;            /* whole exchange; default 3000 */
	int refresh_before_seconds; /* refresh this long before expiry; default 300 */
};

/* Defaults as documented above; envp, profile and region NULL. */
void jitrd_credentials_options_init(struct jitrd_credentials_options *opts);

struct jitrd_credentials_provider;

/* Copies what it needs of opts (the variables of the chain). Nothing is fetched yet.
 * *out written only on success; free with jitrd_credentials_free.
 * Errors: JITRD_ERR_INVALID_ARG, JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_credentials_new(const struct jitrd_credentials_options *opts,
                                     struct jitrd_credentials_provider **out,
                                     struct jitrd_diag *diag) JITRD_WUR;

void jitrd_credentials_free(struct jitrd_credentials_provider *provider); /* NULL is fine */

/* Copies current credentials into *out (written only on success). now is the wall-clock time
 * (UTC). The first call walks the chain: a provider that is not configured is skipped; the
 * first configured one is used from then on, and if it fails the call fails (the chain does
 * not fall through to a slower provider, so a broken setup is reported, not hidden).
 * Credentials within refresh_before_seconds of their expiry are fetched again; if that fails
 * while the old ones are still valid, the old ones are returned. Thread safe: concurrent
 * callers wait for one refresh. Errors: JITRD_ERR_CREDENTIALS (none found, provider failed,
 * or its answer was malformed: diag says which provider and why, never a secret or token),
 * JITRD_ERR_NOMEM, JITRD_ERR_INVALID_ARG. */
enum jitrd_err jitrd_credentials_get(struct jitrd_credentials_provider *provider, time_t now,
                                     struct jitrd_credentials *out,
                                     struct jitrd_diag *diag) JITRD_WUR;

/* The provider the chain settled on (JITRD_CREDENTIALS_NONE before the first success). */
enum jitrd_credentials_source jitrd_credentials_source(struct jitrd_credentials_provider *provider);

#endif
