/* ocsp_check.h — the OCSP answer about one device certificate, as [ocsp] configures it: from a
 * bounded cache (by CA and serial, until the answer's nextUpdate), or asked of the responder
 * (ocsp_fetch) and judged (core ocsp). Thread-safe: the workers share one checker. */
#ifndef JITRD_OCSP_CHECK_H
#define JITRD_OCSP_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "jitrd/cert.h"
#include "jitrd/config.h"
#include "jitrd/error.h"
#include "jitrd/log.h"
#include "jitrd/metrics.h"
#include "jitrd/ocsp.h"

#define JITRD_OCSP_CACHE_MAX 4096 /* answers kept; the soonest to expire goes first */
/* An answer without nextUpdate says newer information is always available (RFC 6960
 * §4.2.2.1): kept this long at most, and no longer than it stays current (max_skew). */
#define JITRD_OCSP_CACHE_NO_NEXT_UPDATE_SECONDS 60

/* A responder that could not be reached (connection, timeout, TLS) is not asked again for
 * this long: events of its CA are deferred at once instead of each waiting for the timeout. */
#define JITRD_OCSP_UNREACHABLE_MS  10000
#define JITRD_OCSP_UNREACHABLE_MAX 64 /* responders remembered as unreachable */

struct jitrd_ocsp_check_options {
	struct jitrd_metrics *metrics; /* borrowed; NULL = none */
	struct jitrd_log *log;         /* borrowed; NULL = none: one line per request */
	size_t cache_max;              /* 0: JITRD_OCSP_CACHE_MAX */
	const char *ca_file;           /* https responders: NULL = the system store */
};

struct jitrd_ocsp_checker;

/* *out owned by the caller (jitrd_ocsp_checker_free). Errors: JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_ocsp_checker_new(const struct jitrd_ocsp_check_options *opts,
                                      struct jitrd_ocsp_checker **out) JITRD_WUR;
void jitrd_ocsp_checker_free(struct jitrd_ocsp_checker *c); /* NULL is fine */

/* The answer about cert under ca (both borrowed) at now: a cached one still current, else a
 * request to cfg's responder for ca (jitrd_config_ocsp_responder, else cert's Authority
 * Information Access) within cfg->ocsp.timeout_seconds and before deadline_ms
 * (CLOCK_MONOTONIC, jitrd_clock_mono_ms), with a fresh nonce when cfg->ocsp.nonce. Answers
 * that judge valid (good, revoked, hold, unknown) are cached until their nextUpdate; a
 * responder that could not be reached is not asked again for JITRD_OCSP_UNREACHABLE_MS.
 * JITRD_OK with *out filled whatever the network did: JITRD_OCSP_NONE with out->why naming
 * the responder (no userinfo, no query) when no answer came, JITRD_OCSP_INVALID when the
 * one that came may not be trusted. *cached (may be NULL) says whether it came from the
 * cache. Errors (out untouched): JITRD_ERR_INVALID_ARG, JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_ocsp_checker_query(struct jitrd_ocsp_checker *c,
                                        const struct jitrd_config *cfg,
                                        const struct jitrd_cert *cert, const struct jitrd_cert *ca,
                                        time_t now, int64_t deadline_ms,
                                        struct jitrd_ocsp_answer *out, bool *cached) JITRD_WUR;

/* The cached answer about cert under ca still current at now into *out (counted as a cache
 * hit): true; false (out untouched) when there is none, nothing sent. */
bool jitrd_ocsp_checker_cached(struct jitrd_ocsp_checker *c, const struct jitrd_cert *cert,
                               const struct jitrd_cert *ca, time_t now,
                               struct jitrd_ocsp_answer *out);

#endif
