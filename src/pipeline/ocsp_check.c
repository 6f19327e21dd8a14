/* ocsp_check.c — one device's OCSP answer: the cache (by CA id and serial, bounded, behind one
 * lock), else the responder's answer (core builds and judges, ocsp_fetch carries). The lock
 * is never held across a request; two workers asking at once about one certificate may both
 * ask the responder, which costs a request, not a wrong answer. */
#include "jitrd/ocsp_check.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "jitrd/clock.h"
#include "jitrd/crl.h"
#include "jitrd/ocsp_fetch.h"
#include "jitrd/text.h"

struct cached_answer {
	char ca_id[JITRD_ID_HEX_LEN + 1];
	char serial[2 * 64 + 1];
	time_t expires; /* not used at or after this */
	struct jitrd_ocsp_answer answer;
};

struct unreachable {
	char url[JITRD_OCSP_URL_MAX];
	int64_t until_ms; /* CLOCK_MONOTONIC */
	char why[192];
};

struct jitrd_ocsp_checker {
	struct jitrd_ocsp_check_options opts;
	pthread_mutex_t lock;
	struct cached_answer *entries;
	size_t count;
	size_t max;
	struct unreachable down[JITRD_OCSP_UNREACHABLE_MAX]; /* under lock */
};

enum jitrd_err jitrd_ocsp_checker_new(const struct jitrd_ocsp_check_options *opts,
                                      struct jitrd_ocsp_checker **out)
{
	struct jitrd_ocsp_checker *c;

	if (!out)
		return JITRD_ERR_INVALID_ARG;
	if (!(c = calloc(1, sizeof(*c))))
		return JITRD_ERR_NOMEM;
	if (opts)
		c->opts = *opts;
	c->max = c->opts.cache_max ? c->opts.cache_max : JITRD_OCSP_CACHE_MAX;
	c->entries = calloc(c->max, sizeof(*c->entries));
	if (!c->entries || pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c->entries);
		free(c);
		return JITRD_ERR_NOMEM;
	}
	*out = c;
	return JITRD_OK;
}

void jitrd_ocsp_checker_free(struct jitrd_ocsp_checker *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->entries);
	free(c);
}

/* With c->lock held: the entry for (ca_id, serial), or NULL. */
static struct cached_answer *find(struct jitrd_ocsp_checker *c, const char *ca_id,
                                  const char *serial)
{
	for (size_t i = 0; i < c->count; i++) {
		if (strcmp(c->entries[i].serial, serial) == 0 &&
		    strcmp(c->entries[i].ca_id, ca_id) == 0)
			return &c->entries[i];
	}
	return NULL;
}

/* With c->lock held: drops entry i (the last one takes its place). */
static void drop(struct jitrd_ocsp_checker *c, size_t i)
{
	c->entries[i] = c->entries[--c->count];
}

/* A current cached answer into *out: 1, else 0 (an expired one is dropped). */
static int lookup(struct jitrd_ocsp_checker *c, const char *ca_id, const char *serial, time_t now,
                  struct jitrd_ocsp_answer *out)
{
	struct cached_answer *e;
	int hit = 0;

	pthread_mutex_lock(&c->lock);
	e = find(c, ca_id, serial);
	if (e && now < e->expires) {
		*out = e->answer;
		hit = 1;
	} else if (e) {
		drop(c, (size_t)(e - c->entries));
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

/* Keeps a valid answer until its nextUpdate (RFC 6960 §4.2.2.1: until then it is current);
 * without one, briefly. When full, the expired go, then the one that expires soonest. */
static void store(struct jitrd_ocsp_checker *c, const char *ca_id, const char *serial, time_t now,
                  long max_skew, const struct jitrd_ocsp_answer *a)
{
	time_t expires = a->next_update;
	struct cached_answer *e;

	if (!expires) {
		expires = now + JITRD_OCSP_CACHE_NO_NEXT_UPDATE_SECONDS;
		if (expires > a->this_update + max_skew)
			expires = a->this_update + max_skew;
	}
	if (expires <= now)
		return;
	pthread_mutex_lock(&c->lock);
	e = find(c, ca_id, serial);
	if (!e && c->count == c->max) {
		size_t soonest = 0;
		for (size_t i = c->count; i-- > 0;) {
			if (c->entries[i].expires <= now)
				drop(c, i);
		}
		for (size_t i = 1; i < c->count; i++) {
			if (c->entries[i].expires < c->entries[soonest].expires)
				soonest = i;
		}
		if (c->count == c->max)
			drop(c, soonest);
	}
	if (!e) {
		e = &c->entries[c->count++];
		jitrd_text_copy(e->ca_id, sizeof(e->ca_id), ca_id);
		jitrd_text_copy(e->serial, sizeof(e->serial), serial);
	}
	e->expires = expires;
	e->answer = *a;
	pthread_mutex_unlock(&c->lock);
}

/* Whether url failed to answer within JITRD_OCSP_UNREACHABLE_MS before now_ms; if so its
 * failure goes into why. */
static bool still_unreachable(struct jitrd_ocsp_checker *c, const char *url, int64_t now_ms,
                              char *why, size_t size)
{
	bool down = false;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < JITRD_OCSP_UNREACHABLE_MAX && !down; i++) {
		if (c->down[i].until_ms > now_ms && strcmp(c->down[i].url, url) == 0) {
			snprintf(why, size, "not asked again yet: %s", c->down[i].why);
			down = true;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return down;
}

/* Remembers that url could not be reached (the slot of the one that expires first). */
static void mark_unreachable(struct jitrd_ocsp_checker *c, const char *url, int64_t now_ms,
                             const char *why)
{
	size_t slot = 0;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < JITRD_OCSP_UNREACHABLE_MAX; i++) {
		if (strcmp(c->down[i].url, url) == 0) {
			slot = i;
			break;
		}
		if (c->down[i].until_ms < c->down[slot].until_ms)
			slot = i;
	}
	jitrd_text_copy(c->down[slot].url, sizeof(c->down[slot].url), url);
	jitrd_text_copy(c->down[slot].why, sizeof(c->down[slot].why), why);
	c->down[slot].until_ms = now_ms + JITRD_OCSP_UNREACHABLE_MS;
	pthread_mutex_unlock(&c->lock);
}

/* The responder for ca: configured, else the device certificate's AIA. 0, or -1 with out's
 * status NONE and why. */
static int responder_for(const struct jitrd_config *cfg, const struct jitrd_cert *cert,
                         const char *ca_id, char *url, size_t size, struct jitrd_ocsp_answer *out)
{
	const char *configured = jitrd_config_ocsp_responder(cfg, ca_id);
	enum jitrd_err err;

	if (*configured) {
		jitrd_text_copy(url, size, configured);
		return 0;
	}
	err = jitrd_ocsp_responder_of(cert, url, size);
	if (err == JITRD_OK)
		return 0;
	jitrd_text_copy(out->why, sizeof(out->why),
	                err == JITRD_ERR_FIELD_ABSENT
	                    ? "no responder: the certificate names no http(s) OCSP URL in its "
	                      "Authority Information Access and [ocsp] responder is not set"
	                    : "no responder: the certificate's Authority Information Access is "
	                      "unreadable or its OCSP URL too long");
	return -1;
}

bool jitrd_ocsp_checker_cached(struct jitrd_ocsp_checker *c, const struct jitrd_cert *cert,
                               const struct jitrd_cert *ca, time_t now,
                               struct jitrd_ocsp_answer *out)
{
	if (!c || !cert || !ca || !out ||
	    !lookup(c, jitrd_cert_id(ca), jitrd_cert_serial_hex(cert), now, out))
		return false;
	jitrd_metrics_ocsp_cache_hit(c->opts.metrics);
	return true;
}

static void log_answer(struct jitrd_ocsp_checker *c, const char *url, const char *ca_id,
                       const char *serial, const struct jitrd_ocsp_answer *a, int64_t took_ms)
{
	char shown[JITRD_OCSP_URL_MAX];
	char ms[24];
	enum jitrd_log_level level = a->status == JITRD_OCSP_NONE || a->status == JITRD_OCSP_INVALID
	                                 ? JITRD_LOG_WARN
	                                 : JITRD_LOG_INFO;

	if (!jitrd_log_enabled(c->opts.log, level))
		return;
	jitrd_ocsp_fetch_redact_url(url, shown, sizeof(shown));
	snprintf(ms, sizeof(ms), "%lld", (long long)took_ms);
	jitrd_log_kv(c->opts.log, level, "ocsp.answer", "responder", shown, "ca", ca_id, "serial",
	             serial, "status", jitrd_ocsp_status_name(a->status), "why", a->why, "ms", ms,
	             NULL);
}

enum jitrd_err jitrd_ocsp_checker_query(struct jitrd_ocsp_checker *c,
                                        const struct jitrd_config *cfg,
                                        const struct jitrd_cert *cert, const struct jitrd_cert *ca,
                                        time_t now, int64_t deadline_ms,
                                        struct jitrd_ocsp_answer *out, bool *cached)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_ocsp_request req = {0};
	struct jitrd_ocsp_fetch_options fo = {0};
	struct jitrd_ocsp_answer a;
	struct jitrd_diag diag = {{0}};
	unsigned char nonce[JITRD_OCSP_NONCE_LEN];
	unsigned char *body = NULL;
	size_t body_len = 0;
	char url[JITRD_OCSP_URL_MAX];
	const char *ca_id, *serial;
	int64_t started, left;

	if (!c || !cfg || !cert || !ca || !out)
		return JITRD_ERR_INVALID_ARG;
	ca_id = jitrd_cert_id(ca);
	serial = jitrd_cert_serial_hex(cert);
	memset(&a, 0, sizeof(a));
	a.reason = JITRD_CRL_REASON_NONE;
	if (jitrd_ocsp_checker_cached(c, cert, ca, now, out)) {
		if (cached)
			*cached = true;
		return JITRD_OK;
	}
	if (responder_for(cfg, cert, ca_id, url, sizeof(url), &a) != 0)
		goto answered;
	/* RFC 6960 §4.4.1: a nonce binds the response to this request */
	if (cfg->ocsp.nonce && RAND_bytes(nonce, sizeof(nonce)) != 1) {
		result = JITRD_ERR_NOMEM;
		goto cleanup;
	}
	result =
	    jitrd_ocsp_request_build(cert, ca, nonce, cfg->ocsp.nonce ? sizeof(nonce) : 0, &req);
	if (result != JITRD_OK)
		goto cleanup;
	started = jitrd_clock_mono_ms();
	if (still_unreachable(c, url, started, a.why, sizeof(a.why)))
		goto answered;
	left = deadline_ms - started;
	if (left > (int64_t)cfg->ocsp.timeout_seconds * 1000)
		left = (int64_t)cfg->ocsp.timeout_seconds * 1000;
	if (left <= 0) {
		jitrd_text_copy(a.why, sizeof(a.why), "no time left before the event's deadline");
		goto answered;
	}
	fo.url = url;
	fo.timeout_ms = (long)left;
	fo.ca_file = c->opts.ca_file;
	result = jitrd_ocsp_fetch(&fo, req.der, req.len, &body, &body_len, &diag);
	if (result == JITRD_ERR_NOMEM)
		goto cleanup;
	if (result != JITRD_OK) {
		jitrd_text_copy(a.why, sizeof(a.why), diag.text);
		/* no connection, no answer in time: the next events need not wait for it too */
		if (result == JITRD_ERR_NETWORK || result == JITRD_ERR_TIMEOUT)
			mark_unreachable(c, url, jitrd_clock_mono_ms(), diag.text);
	} else {
		result = jitrd_ocsp_judge(&req, cert, ca, body, body_len, now,
		                          cfg->ocsp.max_skew_seconds, &a);
		if (result != JITRD_OK)
			goto cleanup;
		if (a.status != JITRD_OCSP_INVALID)
			store(c, ca_id, serial, now, cfg->ocsp.max_skew_seconds, &a);
	}
	jitrd_metrics_ocsp_request(c->opts.metrics, a.status);
	log_answer(c, url, ca_id, serial, &a, jitrd_clock_mono_ms() - started);
answered:
	*out = a;
	if (cached)
		*cached = false;
	result = JITRD_OK;
cleanup:
	free(body);
	jitrd_ocsp_request_cleanup(&req);
	return result;
}
