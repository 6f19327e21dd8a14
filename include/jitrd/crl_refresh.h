/* crl_refresh.h — CRLs that keep themselves current: the sources (the [crl] url list, the CRL
 * Distribution Points of our CAs and, when enabled, of verified devices), each fetched on its
 * schedule (crl_schedule.h) with jitrd_crl_fetch, verified exactly as a [crl] dir file is, and
 * written atomically to state_dir/crl-cache, which jitrd_runtime_load reads beside [crl] dir.
 * It never swaps a snapshot itself: the caller reloads the runtime when the cache changed. */
#ifndef JITRD_CRL_REFRESH_H
#define JITRD_CRL_REFRESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "jitrd/cert.h"
#include "jitrd/config.h"
#include "jitrd/crl_fetch.h"
#include "jitrd/crl_schedule.h"
#include "jitrd/error.h"
#include "jitrd/runtime.h"

/* In [service] state_dir: per source <sha256(url) hex>.crl (the bytes as served) and
 * <sha256(url) hex>.json (jitrd_crl_cache_meta), both mode 0600. */
#define JITRD_CRL_CACHE_DIR      "crl-cache"
#define JITRD_CRL_CACHE_META_MAX 16384 /* bytes of one metadata file */
/* Sources discovered in device certificates ([crl] distribution_points = all), at most. */
#define JITRD_CRL_REFRESH_MAX_DEVICE_SOURCES 256
/* Sources in all: the [crl] url list, the CAs' points and the devices' points. */
#define JITRD_CRL_REFRESH_MAX_SOURCES 1024

enum jitrd_crl_source_kind {
	JITRD_CRL_SOURCE_CONFIG = 1, /* [crl] url */
	JITRD_CRL_SOURCE_CA_DP,      /* a CRL Distribution Point of one of our CA certificates */
	JITRD_CRL_SOURCE_DEVICE_DP,  /* ... of a device certificate verified under our CA */
};

/* What the cache keeps beside a fetched CRL (a JSON object, read with json-c). */
struct jitrd_crl_cache_meta {
	char url[JITRD_CRL_FETCH_URL_MAX];        /* the source as configured (may hold a query) */
	char final_url[JITRD_CRL_FETCH_URL_MAX];  /* after redirects, without userinfo or query */
	char etag[JITRD_CRL_FETCH_VALIDATOR_MAX]; /* "" when none */
	char last_modified[JITRD_CRL_FETCH_VALIDATOR_MAX]; /* "" when none */
	int64_t crl_number; /* of the cached CRL; -1 when it has none */
	time_t this_update;
	time_t next_update; /* 0 when absent */
	time_t fetched_at;  /* when it was fetched (wall clock) */
	char ca[65];        /* id of the CA it was verified under */
};

/* One source as the refresher sees it (a copy: jitrd_crl_refresh_source_at). */
struct jitrd_crl_source_info {
	char shown_url[JITRD_CRL_FETCH_URL_MAX]; /* without userinfo or query: safe to log */
	enum jitrd_crl_source_kind kind;
	enum jitrd_crl_fetch_outcome last_outcome;
	enum jitrd_err last_error; /* JITRD_OK unless REFUSED or FAILED */
	char last_reason[512];     /* "" or why it was refused or failed */
	time_t last_attempt;       /* 0: never since start */
	time_t last_success;       /* 0: never since start */
	time_t next_due;           /* 0: at once */
	unsigned failures;         /* consecutive */
	bool cached;               /* the cache holds a CRL of it (meta below is valid) */
	struct jitrd_crl_cache_meta meta;
	char cache_path[4096]; /* state_dir/crl-cache/<hex>.crl */
};

struct jitrd_crl_refresh_report {
	unsigned attempted;
	unsigned outcomes[JITRD_CRL_OUTCOME_COUNT]; /* indexed by enum jitrd_crl_fetch_outcome */
	unsigned skipped;                           /* due, but the deadline left no time */
	bool changed;                               /* the cache changed: reload the runtime */
};

struct jitrd_crl_refresh;

/* A refresher for cfg's sources (borrowed for the call; what is kept is copied): the [crl] url
 * list, with the metadata of their cached copies read from state_dir/crl-cache (a missing,
 * malformed or foreign metadata file means no cached copy: the next fetch is unconditional).
 * *out owned by the caller (jitrd_crl_refresh_free). Errors: JITRD_ERR_NOMEM,
 * JITRD_ERR_INVALID_ARG. */
enum jitrd_err jitrd_crl_refresh_new(const struct jitrd_config *cfg,
                                     struct jitrd_crl_refresh **out) JITRD_WUR;
void jitrd_crl_refresh_free(struct jitrd_crl_refresh *r); /* NULL is fine */

/* With [crl] distribution_points = ca or all: adds the http:// and https:// CRL Distribution
 * Points of every CA certificate in cas (borrowed) not yet known. *added (may be NULL) counts
 * the new ones. Errors: JITRD_ERR_NOMEM, JITRD_ERR_TOO_LARGE (JITRD_CRL_REFRESH_MAX_SOURCES;
 * the sources before stay), JITRD_ERR_INVALID_ARG. Thread-safe. */
enum jitrd_err jitrd_crl_refresh_add_ca_points(struct jitrd_crl_refresh *r,
                                               const struct jitrd_caset *cas,
                                               size_t *added) JITRD_WUR;

/* With [crl] distribution_points = all: adds the http(s) CRL Distribution Points of device,
 * which the caller has verified under one of our CAs (never call it for an unverified one),
 * due at once. Past JITRD_CRL_REFRESH_MAX_DEVICE_SOURCES device sources, none is added.
 * *added (may be NULL) counts the new ones; 0 when the setting is not `all`. Errors:
 * JITRD_ERR_NOMEM, JITRD_ERR_INVALID_ARG. Thread-safe. */
enum jitrd_err jitrd_crl_refresh_add_device_points(struct jitrd_crl_refresh *r,
                                                   const struct jitrd_cert *device,
                                                   size_t *added) JITRD_WUR;

/* Fetches every source due at now (every source when force), one after the other. A new body
 * is verified against rt's CA set (its [ca] anchors too) and CRL floors as a [crl] dir file
 * is (jitrd_crl_builder_add), refused when the cRLNumber is below the number of the copy
 * cached for the source (RFC 5280 §5.2.3: numbers only grow) or the floor of its partition,
 * and only then written to the cache (temporary file + rename). deadline_ms (wall clock,
 * milliseconds since the epoch; 0: none) bounds the whole run: each fetch's timeout is cut
 * to it, and sources left when less than a second remains are counted in report->skipped and
 * stay due. rt is borrowed. Not to be called from two threads at once. Returns JITRD_OK when
 * the run went through (each source's failure, a cache that cannot be written included, is in
 * its state and the report), JITRD_ERR_NOMEM, JITRD_ERR_INVALID_ARG. */
enum jitrd_err jitrd_crl_refresh_run(struct jitrd_crl_refresh *r, const struct jitrd_runtime *rt,
                                     time_t now, int64_t deadline_ms, bool force,
                                     struct jitrd_crl_refresh_report *report) JITRD_WUR;

/* The earliest time a source is due (0: at once; (time_t)-1 when there is no source). */
time_t jitrd_crl_refresh_next_due(struct jitrd_crl_refresh *r);

/* Sources, in the order added; a copy of source i in *out. Thread-safe. Errors:
 * JITRD_ERR_INVALID_ARG (i out of range). */
size_t jitrd_crl_refresh_count(struct jitrd_crl_refresh *r);
enum jitrd_err jitrd_crl_refresh_source_at(struct jitrd_crl_refresh *r, size_t i,
                                           struct jitrd_crl_source_info *out) JITRD_WUR;

/* The fetch options for url from cfg ([crl] fetch_timeout_seconds, fetch_max_bytes, and the
 * S3 settings in *s3 with credentials, which may be NULL: s3:// is then refused): the one
 * place they are built. url, *s3 and credentials are borrowed by *out. */
void jitrd_crl_refresh_fetch_options(const struct jitrd_config *cfg, const char *url,
                                     struct jitrd_credentials_provider *credentials,
                                     struct jitrd_crl_fetch_s3 *s3,
                                     struct jitrd_crl_fetch_options *out);

/* The credentials chain for s3:// sources (borrowed; must outlive every later run; NULL: s3://
 * sources fail). Call before the run that needs it, not during one. */
void jitrd_crl_refresh_set_credentials(struct jitrd_crl_refresh *r,
                                       struct jitrd_credentials_provider *credentials);

/* url without userinfo, query and fragment (which may hold a signature): what may be logged.
 * out is always NUL-terminated (cut when it does not fit). */
void jitrd_crl_refresh_shown_url(const char *url, char *out, size_t size);

/* "<dir>/<sha256(url) hex><ext>" into out. JITRD_ERR_TOO_LARGE when it does not fit. */
enum jitrd_err jitrd_crl_cache_path(const char *dir, const char *url, const char *ext, char *out,
                                    size_t size) JITRD_WUR;

/* Parses metadata text (len bytes; need not be NUL-terminated). Strict: a JSON object with
 * "url" (string), "crl_number" (integer >= -1), "fetched_at", "this_update", "next_update"
 * (integers >= 0) and optional "final_url", "etag", "last_modified", "ca" (strings that fit,
 * printable ASCII); anything else, over JITRD_CRL_CACHE_META_MAX, truncated or of the wrong
 * type is JITRD_ERR_MALFORMED / JITRD_ERR_TOO_LARGE with "origin: why" in diag. *out written
 * only on success. */
enum jitrd_err jitrd_crl_cache_meta_parse(const char *origin, const char *text, size_t len,
                                          struct jitrd_crl_cache_meta *out,
                                          struct jitrd_diag *diag) JITRD_WUR;

/* The JSON text of meta (NUL-terminated, *len without it), freed with free().
 * Errors: JITRD_ERR_NOMEM, JITRD_ERR_INVALID_ARG. */
enum jitrd_err jitrd_crl_cache_meta_format(const struct jitrd_crl_cache_meta *meta, char **out,
                                           size_t *len) JITRD_WUR;

#endif
