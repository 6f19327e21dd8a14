/* crl_refresh.c — the CRL sources the service fetches, their schedule and the cache in
 * state_dir/crl-cache. A fetched body is untrusted until it passes the same checks as a
 * [crl] dir file; nothing here swaps a snapshot or logs: the caller reloads and reports. */
#include "jitrd/crl_refresh.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "jitrd/clock.h"
#include "jitrd/crl.h"
#include "jitrd/crl_schedule.h"
#include "jitrd/files.h"
#include "jitrd/text.h"

#define PATH_BYTES 4096

struct source {
	char *url;
	enum jitrd_crl_source_kind kind;
	char crl_path[PATH_BYTES];
	char meta_path[PATH_BYTES];
	bool cached;
	struct jitrd_crl_cache_meta meta;
	enum jitrd_crl_fetch_outcome last_outcome;
	enum jitrd_err last_error;
	char last_reason[512];
	time_t last_attempt, last_success, next_due;
	unsigned failures;
};

struct jitrd_crl_refresh {
	pthread_mutex_t lock; /* the source table: run's thread, the pipeline's hook, readers */
	char cache_dir[PATH_BYTES];
	enum jitrd_crl_distribution_points points;
	int refresh_seconds;
	struct jitrd_credentials_provider *credentials; /* for s3://; borrowed, may be NULL */
	struct source *sources;
	size_t count, cap, device_count;
};

void jitrd_crl_refresh_fetch_options(const struct jitrd_config *cfg, const char *url,
                                     struct jitrd_credentials_provider *credentials,
                                     struct jitrd_crl_fetch_s3 *s3,
                                     struct jitrd_crl_fetch_options *out)
{
	memset(out, 0, sizeof(*out));
	out->url = url;
	jitrd_crl_fetch_s3_from_config(cfg, credentials, s3);
	out->s3 = s3;
	out->max_size = (size_t)cfg->crl.fetch_max_bytes;
	out->timeout_ms = (long)cfg->crl.fetch_timeout_seconds * 1000;
	out->connect_timeout_ms = out->timeout_ms < JITRD_CRL_FETCH_DEFAULT_CONNECT_TIMEOUT_MS
	                              ? out->timeout_ms
	                              : JITRD_CRL_FETCH_DEFAULT_CONNECT_TIMEOUT_MS;
}

enum jitrd_err jitrd_crl_cache_path(const char *dir, const char *url, const char *ext, char *out,
                                    size_t size)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	char hex[2 * 32 + 1];
	int n;

	if (!dir || !url || !ext || !out)
		return JITRD_ERR_INVALID_ARG;
	if (EVP_Digest(url, strlen(url), digest, &digest_len, EVP_sha256(), NULL) != 1 ||
	    digest_len != 32)
		return JITRD_ERR_CRYPTO;
	jitrd_hex_encode(digest, digest_len, hex, sizeof(hex));
	n = snprintf(out, size, "%s/%s%s", dir, hex, ext);
	if (n < 0 || (size_t)n >= size)
		return JITRD_ERR_TOO_LARGE;
	return JITRD_OK;
}

void jitrd_crl_refresh_shown_url(const char *url, char *out, size_t size)
{
	const char *scheme_end = strstr(url, "://");
	const char *host = scheme_end ? scheme_end + 3 : url;
	size_t authority = strcspn(host, "/?#");
	const char *at = memchr(host, '@', authority);
	size_t scheme_len = (size_t)(host - url);
	size_t rest_len;

	if (at)
		host = at + 1;
	rest_len = strcspn(host, "?#");
	snprintf(out, size, "%.*s%.*s", (int)scheme_len, url, (int)rest_len, host);
}

/* ---- metadata ---------------------------------------------------------------------------- */

static bool printable(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	}
	return true;
}

/* Copies the string member name of obj into out (size bytes with the NUL). required: absent
 * is an error; otherwise out stays "". */
static enum jitrd_err take_string(struct json_object *obj, const char *name, bool required,
                                  char *out, size_t size, const char *origin,
                                  struct jitrd_diag *diag)
{
	struct json_object *v;
	const char *s;
	size_t n;

	out[0] = '\0';
	if (!json_object_object_get_ex(obj, name, &v)) {
		if (!required)
			return JITRD_OK;
		jitrd_diag_set(diag, "%s: \"%s\" is missing", origin, name);
		return JITRD_ERR_MALFORMED;
	}
	if (!json_object_is_type(v, json_type_string)) {
		jitrd_diag_set(diag, "%s: \"%s\" is not a string", origin, name);
		return JITRD_ERR_MALFORMED;
	}
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n >= size || strlen(s) != n || !printable(s)) {
		jitrd_diag_set(diag, "%s: \"%s\" is too long or not printable ASCII", origin, name);
		return JITRD_ERR_MALFORMED;
	}
	memcpy(out, s, n + 1);
	return JITRD_OK;
}

static enum jitrd_err take_integer(struct json_object *obj, const char *name, int64_t min,
                                   int64_t *out, const char *origin, struct jitrd_diag *diag)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(obj, name, &v)) {
		jitrd_diag_set(diag, "%s: \"%s\" is missing", origin, name);
		return JITRD_ERR_MALFORMED;
	}
	if (!json_object_is_type(v, json_type_int)) {
		jitrd_diag_set(diag, "%s: \"%s\" is not an integer", origin, name);
		return JITRD_ERR_MALFORMED;
	}
	errno = 0;
	n = json_object_get_int64(v);
	/* json-c saturates out-of-range numbers (and says so in errno) */
	if (errno != 0 || n < min || n == INT64_MAX) {
		jitrd_diag_set(diag, "%s: \"%s\" is out of range", origin, name);
		return JITRD_ERR_MALFORMED;
	}
	*out = n;
	return JITRD_OK;
}

enum jitrd_err jitrd_crl_cache_meta_parse(const char *origin, const char *text, size_t len,
                                          struct jitrd_crl_cache_meta *out, struct jitrd_diag *diag)
{
	static const char *const known[] = {
	    "url",        "final_url",  "etag",        "last_modified",
	    "crl_number", "fetched_at", "this_update", "next_update",
	    "ca",         NULL};
	struct jitrd_crl_cache_meta m;
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL;
	int64_t number = 0, fetched = 0, this_update = 0, next_update = 0;
	enum jitrd_err result = JITRD_ERR_MALFORMED;

	if (!origin || !text || !out)
		return JITRD_ERR_INVALID_ARG;
	if (len > JITRD_CRL_CACHE_META_MAX) {
		jitrd_diag_set(diag, "%s: %zu bytes, more than %d", origin, len,
		               JITRD_CRL_CACHE_META_MAX);
		return JITRD_ERR_TOO_LARGE;
	}
	memset(&m, 0, sizeof(m));
	if (!(tok = json_tokener_new_ex(8))) {
		result = JITRD_ERR_NOMEM;
		goto cleanup;
	}
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success || !obj ||
	    json_tokener_get_parse_end(tok) != len) {
		jitrd_diag_set(diag, "%s: not one complete JSON object (%s)", origin,
		               json_tokener_error_desc(json_tokener_get_error(tok)));
		goto cleanup;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		jitrd_diag_set(diag, "%s: not a JSON object", origin);
		goto cleanup;
	}
	json_object_object_foreach(obj, key, val)
	{
		bool ok = false;
		(void)val;
		for (int i = 0; known[i]; i++)
			ok = ok || strcmp(key, known[i]) == 0;
		if (!ok) {
			jitrd_diag_set(diag, "%s: unknown member", origin);
			goto cleanup;
		}
	}
	if (take_string(obj, "url", true, m.url, sizeof(m.url), origin, diag) != JITRD_OK ||
	    take_string(obj, "final_url", false, m.final_url, sizeof(m.final_url), origin, diag) !=
	        JITRD_OK ||
	    take_string(obj, "etag", false, m.etag, sizeof(m.etag), origin, diag) != JITRD_OK ||
	    take_string(obj, "last_modified", false, m.last_modified, sizeof(m.last_modified),
	                origin, diag) != JITRD_OK ||
	    take_string(obj, "ca", false, m.ca, sizeof(m.ca), origin, diag) != JITRD_OK ||
	    take_integer(obj, "crl_number", -1, &number, origin, diag) != JITRD_OK ||
	    take_integer(obj, "fetched_at", 0, &fetched, origin, diag) != JITRD_OK ||
	    take_integer(obj, "this_update", 0, &this_update, origin, diag) != JITRD_OK ||
	    take_integer(obj, "next_update", 0, &next_update, origin, diag) != JITRD_OK)
		goto cleanup;
	if (!*m.url) {
		jitrd_diag_set(diag, "%s: \"url\" is empty", origin);
		goto cleanup;
	}
	m.crl_number = number;
	m.fetched_at = (time_t)fetched;
	m.this_update = (time_t)this_update;
	m.next_update = (time_t)next_update;
	*out = m;
	result = JITRD_OK;
cleanup:
	json_object_put(obj);
	json_tokener_free(tok);
	return result;
}

enum jitrd_err jitrd_crl_cache_meta_format(const struct jitrd_crl_cache_meta *meta, char **out,
                                           size_t *len)
{
	struct json_object *obj;
	const char *text;
	size_t n;
	int ok;

	if (!meta || !out || !len)
		return JITRD_ERR_INVALID_ARG;
	if (!(obj = json_object_new_object()))
		return JITRD_ERR_NOMEM;
	ok = json_object_object_add(obj, "url", json_object_new_string(meta->url)) == 0 &&
	     json_object_object_add(obj, "final_url", json_object_new_string(meta->final_url)) ==
	         0 &&
	     json_object_object_add(obj, "etag", json_object_new_string(meta->etag)) == 0 &&
	     json_object_object_add(obj, "last_modified",
	                            json_object_new_string(meta->last_modified)) == 0 &&
	     json_object_object_add(obj, "crl_number", json_object_new_int64(meta->crl_number)) ==
	         0 &&
	     json_object_object_add(obj, "fetched_at",
	                            json_object_new_int64((int64_t)meta->fetched_at)) == 0 &&
	     json_object_object_add(obj, "this_update",
	                            json_object_new_int64((int64_t)meta->this_update)) == 0 &&
	     json_object_object_add(obj, "next_update",
	                            json_object_new_int64((int64_t)meta->next_update)) == 0 &&
	     json_object_object_add(obj, "ca", json_object_new_string(meta->ca)) == 0;
	text = ok ? json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &n) : NULL;
	if (!text || !(*out = strndup(text, n))) {
		json_object_put(obj);
		return JITRD_ERR_NOMEM;
	}
	*len = n;
	json_object_put(obj);
	return JITRD_OK;
}

/* ---- the source table -------------------------------------------------------------------- */

/* The cached copy of s, when its metadata is there, parses and names s's URL, and the CRL
 * file is beside it. Anything else: no cached copy (the next fetch is unconditional). */
static void read_cached(struct source *s)
{
	char *text = NULL;
	size_t len = 0;
	struct jitrd_diag diag = {{0}};
	struct jitrd_crl_cache_meta m;

	s->cached = false;
	if (access(s->meta_path, F_OK) != 0 || access(s->crl_path, F_OK) != 0)
		return;
	if (jitrd_file_read(s->meta_path, JITRD_CRL_CACHE_META_MAX, &text, &len, &diag) ==
	        JITRD_OK &&
	    jitrd_crl_cache_meta_parse(s->meta_path, text, len, &m, &diag) == JITRD_OK &&
	    strcmp(m.url, s->url) == 0) {
		s->meta = m;
		s->cached = true;
	} else {
		snprintf(s->last_reason, sizeof(s->last_reason), "cache ignored: %.200s",
		         *diag.text ? diag.text : "metadata names another URL");
	}
	free(text);
}

static bool known_url(const struct jitrd_crl_refresh *r, const char *url)
{
	for (size_t i = 0; i < r->count; i++) {
		if (strcmp(r->sources[i].url, url) == 0)
			return true;
	}
	return false;
}

/* Appends url (caller holds the lock, or the table is not shared yet). */
static enum jitrd_err add_source(struct jitrd_crl_refresh *r, const char *url,
                                 enum jitrd_crl_source_kind kind)
{
	struct source *s;

	if (r->count == JITRD_CRL_REFRESH_MAX_SOURCES)
		return JITRD_ERR_TOO_LARGE;
	if (r->count == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct source *grown = realloc(r->sources, cap * sizeof(*grown));
		if (!grown)
			return JITRD_ERR_NOMEM;
		r->sources = grown;
		r->cap = cap;
	}
	s = &r->sources[r->count];
	memset(s, 0, sizeof(*s));
	if (!(s->url = strdup(url)))
		return JITRD_ERR_NOMEM;
	s->kind = kind;
	if (jitrd_crl_cache_path(r->cache_dir, url, ".crl", s->crl_path, sizeof(s->crl_path)) !=
	        JITRD_OK ||
	    jitrd_crl_cache_path(r->cache_dir, url, ".json", s->meta_path, sizeof(s->meta_path)) !=
	        JITRD_OK) {
		free(s->url);
		return JITRD_ERR_TOO_LARGE;
	}
	read_cached(s);
	r->count++;
	return JITRD_OK;
}

enum jitrd_err jitrd_crl_refresh_new(const struct jitrd_config *cfg, struct jitrd_crl_refresh **out)
{
	struct jitrd_crl_refresh *r;
	enum jitrd_err err = JITRD_OK;
	int n;

	if (!cfg || !out)
		return JITRD_ERR_INVALID_ARG;
	if (!(r = calloc(1, sizeof(*r))))
		return JITRD_ERR_NOMEM;
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r);
		return JITRD_ERR_NOMEM;
	}
	r->points = cfg->crl.distribution_points;
	r->refresh_seconds = cfg->crl.refresh_seconds;
	n = snprintf(r->cache_dir, sizeof(r->cache_dir), "%s/%s", cfg->service.state_dir,
	             JITRD_CRL_CACHE_DIR);
	if (n < 0 || (size_t)n >= sizeof(r->cache_dir))
		err = JITRD_ERR_TOO_LARGE;
	for (size_t i = 0; err == JITRD_OK && i < cfg->crl.url_count; i++)
		err = add_source(r, cfg->crl.url[i], JITRD_CRL_SOURCE_CONFIG);
	if (err != JITRD_OK) {
		jitrd_crl_refresh_free(r);
		return err;
	}
	*out = r;
	return JITRD_OK;
}

void jitrd_crl_refresh_free(struct jitrd_crl_refresh *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->count; i++)
		free(r->sources[i].url);
	free(r->sources);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Whether a distribution point URI may become a source: http(s) only (ldap:// and the rest
 * are not fetched), printable, and short enough to be a cache key and a curl URL. */
static bool usable_point(const char *uri, size_t len)
{
	if (len == 0 || len >= JITRD_CRL_FETCH_URL_MAX || strlen(uri) != len || !printable(uri))
		return false;
	return (len > 7 && strncasecmp(uri, "http://", 7) == 0) ||
	       (len > 8 && strncasecmp(uri, "https://", 8) == 0);
}

/* Adds the URIs among the full names of cert's CRL Distribution Points (RFC 5280 §4.2.1.13:
 * a distributionPoint's fullName; relative names and cRLIssuer-only points carry no URL).
 * Caller holds the lock. */
static enum jitrd_err add_points(struct jitrd_crl_refresh *r, const struct jitrd_cert *cert,
                                 enum jitrd_crl_source_kind kind, size_t *added)
{
	CRL_DIST_POINTS *points = NULL;
	enum jitrd_err err = jitrd_cert_crl_distribution_points(cert, &points);

	if (err != JITRD_OK)
		return err == JITRD_ERR_MALFORMED ? JITRD_OK : err; /* the pipeline says why */
	for (int i = 0; points && i < sk_DIST_POINT_num(points); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(points, i);
		GENERAL_NAMES *names;

		if (!dp->distpoint || dp->distpoint->type != 0)
			continue;
		names = dp->distpoint->name.fullname;
		for (int j = 0; j < sk_GENERAL_NAME_num(names); j++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, j);
			const char *uri;
			size_t len;

			if (gn->type != GEN_URI)
				continue;
			uri = (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
			len = (size_t)ASN1_STRING_length(gn->d.uniformResourceIdentifier);
			if (!usable_point(uri, len) || known_url(r, uri))
				continue;
			if (kind == JITRD_CRL_SOURCE_DEVICE_DP &&
			    r->device_count >= JITRD_CRL_REFRESH_MAX_DEVICE_SOURCES)
				goto done;
			if ((err = add_source(r, uri, kind)) != JITRD_OK)
				goto done;
			if (kind == JITRD_CRL_SOURCE_DEVICE_DP)
				r->device_count++;
			(*added)++;
		}
	}
done:
	CRL_DIST_POINTS_free(points);
	return err;
}

/* The points of every CA of cas, or of device, when the setting allows kind. */
static enum jitrd_err add_all_points(struct jitrd_crl_refresh *r, const struct jitrd_caset *cas,
                                     const struct jitrd_cert *device, size_t *added)
{
	enum jitrd_crl_source_kind kind = cas ? JITRD_CRL_SOURCE_CA_DP : JITRD_CRL_SOURCE_DEVICE_DP;
	enum jitrd_err err = JITRD_OK;
	size_t count = 0;

	if (r->points == JITRD_CRL_DP_ALL || (cas && r->points == JITRD_CRL_DP_CA)) {
		pthread_mutex_lock(&r->lock);
		for (size_t i = 0; cas && err == JITRD_OK && i < jitrd_caset_count(cas); i++)
			err = add_points(r, jitrd_caset_at(cas, i), kind, &count);
		if (device)
			err = add_points(r, device, kind, &count);
		pthread_mutex_unlock(&r->lock);
	}
	if (added)
		*added = count;
	return err;
}

enum jitrd_err jitrd_crl_refresh_add_ca_points(struct jitrd_crl_refresh *r,
                                               const struct jitrd_caset *cas, size_t *added)
{
	if (!r || !cas)
		return JITRD_ERR_INVALID_ARG;
	return add_all_points(r, cas, NULL, added);
}

enum jitrd_err jitrd_crl_refresh_add_device_points(struct jitrd_crl_refresh *r,
                                                   const struct jitrd_cert *device, size_t *added)
{
	enum jitrd_err err;

	if (!r || !device)
		return JITRD_ERR_INVALID_ARG;
	err = add_all_points(r, NULL, device, added);
	/* past the bound of sources the device's points are simply not fetched */
	return err == JITRD_ERR_TOO_LARGE ? JITRD_OK : err;
}

void jitrd_crl_refresh_set_credentials(struct jitrd_crl_refresh *r,
                                       struct jitrd_credentials_provider *credentials)
{
	if (r)
		r->credentials = credentials;
}

time_t jitrd_crl_refresh_next_due(struct jitrd_crl_refresh *r)
{
	time_t due = (time_t)-1;

	if (!r)
		return due;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->count; i++) {
		if (due == (time_t)-1 || r->sources[i].next_due < due)
			due = r->sources[i].next_due;
	}
	pthread_mutex_unlock(&r->lock);
	return due;
}

size_t jitrd_crl_refresh_count(struct jitrd_crl_refresh *r)
{
	size_t n;

	if (!r)
		return 0;
	pthread_mutex_lock(&r->lock);
	n = r->count;
	pthread_mutex_unlock(&r->lock);
	return n;
}

enum jitrd_err jitrd_crl_refresh_source_at(struct jitrd_crl_refresh *r, size_t i,
                                           struct jitrd_crl_source_info *out)
{
	const struct source *s;

	if (!r || !out)
		return JITRD_ERR_INVALID_ARG;
	pthread_mutex_lock(&r->lock);
	if (i >= r->count) {
		pthread_mutex_unlock(&r->lock);
		return JITRD_ERR_INVALID_ARG;
	}
	s = &r->sources[i];
	memset(out, 0, sizeof(*out));
	jitrd_crl_refresh_shown_url(s->url, out->shown_url, sizeof(out->shown_url));
	out->kind = s->kind;
	out->last_outcome = s->last_outcome;
	out->last_error = s->last_error;
	snprintf(out->last_reason, sizeof(out->last_reason), "%s", s->last_reason);
	out->last_attempt = s->last_attempt;
	out->last_success = s->last_success;
	out->next_due = s->next_due;
	out->failures = s->failures;
	out->cached = s->cached;
	if (s->cached)
		out->meta = s->meta;
	snprintf(out->cache_path, sizeof(out->cache_path), "%s", s->crl_path);
	pthread_mutex_unlock(&r->lock);
	return JITRD_OK;
}

/* ---- one fetch --------------------------------------------------------------------------- */

/* What the CRL in a fetched body says, once verified. */
struct verified {
	int64_t crl_number;
	time_t this_update, next_update;
	char ca[65];
};

/* Verifies body as jitrd_runtime_load verifies a [crl] dir file: rt's CA set (anchors
 * included) and rt's floors raised to rt's own CRLs, on a builder of its own, so nothing of rt
 * changes. body (malloc'd) is taken and freed, also on error: the builder decodes it in place,
 * so a large CRL is held once, not as text, DER and index at the same time. A CRL past its
 * nextUpdate is kept, as a file is (its revocations count; it is then stale). Errors: the
 * builder's refusal, JITRD_ERR_CRL_ROLLBACK (below the floor of its partition),
 * JITRD_ERR_UNKNOWN_CA, JITRD_ERR_NOMEM; diag says why. */
static enum jitrd_err verify_body(const struct jitrd_runtime *rt, const char *origin,
                                  unsigned char *body, size_t len, time_t now, struct verified *out,
                                  struct jitrd_diag *diag)
{
	const struct jitrd_caset *issuers = rt->crl_issuers ? rt->crl_issuers : rt->cas;
	struct jitrd_crl_builder *b = jitrd_crl_builder_new(issuers, now);
	struct jitrd_crl_store *store = NULL;
	struct jitrd_crl_floors *floors = NULL;
	enum jitrd_err err = JITRD_ERR_NOMEM;

	/* rt's floors raised to the CRLs rt itself uses: a fetched CRL must not be older than
	 * the one in force, whichever source or file that came from */
	if (!b || jitrd_crl_store_floors(rt->crls, rt->crl_floors, &floors) != JITRD_OK ||
	    jitrd_crl_builder_set_floors(b, floors) != JITRD_OK) {
		free(body);
		goto cleanup;
	}
	err = jitrd_crl_builder_add_owned(b, origin, body, len, diag);
	if (err != JITRD_OK && err != JITRD_ERR_CRL_EXPIRED)
		goto cleanup;
	if ((err = jitrd_crl_builder_finish(b, &store)) != JITRD_OK)
		goto cleanup;
	if (jitrd_crl_store_rollback_count(store) > 0) {
		const struct jitrd_crl_rollback *rb = jitrd_crl_store_rollback_at(store, 0);
		jitrd_diag_set(diag, "%s: CRL number %s below %s, the highest accepted before",
		               origin, rb->number, rb->floor);
		err = JITRD_ERR_CRL_ROLLBACK;
		goto cleanup;
	}
	err = JITRD_ERR_UNKNOWN_CA;
	for (size_t i = 0; i < jitrd_caset_count(issuers); i++) {
		const struct jitrd_cert *ca = jitrd_caset_at(issuers, i);
		const struct jitrd_crl_info *info = jitrd_crl_store_info(store, ca);

		if (!info)
			continue;
		out->crl_number = info->crl_number;
		out->this_update = info->this_update;
		out->next_update = info->next_update;
		snprintf(out->ca, sizeof(out->ca), "%s", jitrd_cert_id(ca));
		err = JITRD_OK;
		break;
	}
	if (err != JITRD_OK)
		jitrd_diag_set(diag, "%s: no CRL in it is an authority for any of our CAs", origin);
cleanup:
	jitrd_crl_store_free(store);
	jitrd_crl_builder_free(b);
	jitrd_crl_floors_free(floors);
	return err;
}

/* What one attempt did, to be stored in the source under the lock. */
struct attempt {
	enum jitrd_crl_fetch_outcome outcome;
	enum jitrd_err err;
	char reason[512];
	bool meta_changed;
	struct jitrd_crl_cache_meta meta;
};

/* Puts the staged CRL (verified) in place when staged is not NULL, then writes its metadata:
 * a crash in between leaves the new CRL with the old metadata, whose lower number and stale
 * validators only cost one unconditional fetch. */
static enum jitrd_err write_cache(const char *staged, const char *crl_path, const char *meta_path,
                                  const struct jitrd_crl_cache_meta *meta, struct jitrd_diag *diag)
{
	char *text = NULL;
	size_t text_len = 0;
	enum jitrd_err err;

	if (staged && (err = jitrd_file_rename(staged, crl_path, diag)) != JITRD_OK)
		return err;
	if ((err = jitrd_crl_cache_meta_format(meta, &text, &text_len)) != JITRD_OK) {
		jitrd_diag_set(diag, "%s: %s", meta_path, jitrd_strerror(err));
		return err;
	}
	err = jitrd_file_replace(meta_path, text, text_len, diag);
	free(text);
	return err;
}

/* Writes body under staged (a name the runtime's load skips: not "*.crl") so that the body
 * itself can go to the builder, which decodes it in place: the copy on disk is what the cache
 * gets once verified, and memory holds the CRL once. */
static enum jitrd_err stage_body(const char *cache_dir, const char *staged,
                                 const struct jitrd_crl_fetch_result *res, struct attempt *a)
{
	struct jitrd_diag diag = {{0}};
	enum jitrd_err err = jitrd_private_dir(cache_dir, NULL, &diag);

	if (err == JITRD_OK)
		err = jitrd_file_replace(staged, (const char *)res->body, res->body_len, &diag);
	if (err != JITRD_OK) {
		a->outcome = JITRD_CRL_OUTCOME_FAILED;
		a->err = err;
		snprintf(a->reason, sizeof(a->reason), "cache: %.480s", diag.text);
	}
	return err;
}

/* Judges a 200 body against the copy cached for the source (RFC 5280 §5.2.3: a CRL number
 * never goes down; an equal number is the same CRL, unless its thisUpdate is later). The body
 * is taken from res (res->body NULL afterwards). */
static void judge_new(const struct jitrd_runtime *rt, const char *url, const char *shown,
                      const struct jitrd_crl_cache_meta *cached, bool have_cached,
                      struct jitrd_crl_fetch_result *res, time_t now, const char *cache_dir,
                      const char *crl_path, const char *meta_path, struct attempt *a)
{
	struct verified v = {0};
	struct jitrd_diag diag = {{0}};
	char staged[PATH_BYTES];
	unsigned char *body = res->body;
	enum jitrd_err err;
	bool same = false;

	if (jitrd_crl_cache_path(cache_dir, url, ".crl.staged", staged, sizeof(staged)) !=
	    JITRD_OK) {
		a->outcome = JITRD_CRL_OUTCOME_FAILED;
		a->err = JITRD_ERR_TOO_LARGE;
		snprintf(a->reason, sizeof(a->reason), "cache: path too long");
		return;
	}
	if (stage_body(cache_dir, staged, res, a) != JITRD_OK)
		return;
	res->body = NULL;
	err = verify_body(rt, shown, body, res->body_len, now, &v, &diag);
	if (err == JITRD_OK && have_cached && cached->crl_number >= 0) {
		if (v.crl_number < 0) {
			jitrd_diag_set(&diag, "%s: CRL without a number replacing number %lld",
			               shown, (long long)cached->crl_number);
			err = JITRD_ERR_CRL_ROLLBACK;
		} else if (v.crl_number < cached->crl_number) {
			jitrd_diag_set(&diag, "%s: CRL number %lld below %lld, the copy cached",
			               shown, (long long)v.crl_number,
			               (long long)cached->crl_number);
			err = JITRD_ERR_CRL_ROLLBACK;
		} else if (v.crl_number == cached->crl_number &&
		           v.this_update <= cached->this_update) {
			same = true;
		}
	}
	if (err != JITRD_OK || same)
		(void)unlink(staged); /* refused, or the copy cached already is this CRL */
	if (err != JITRD_OK) {
		a->outcome = JITRD_CRL_OUTCOME_REFUSED;
		a->err = err;
		snprintf(a->reason, sizeof(a->reason), "%s", diag.text);
		return;
	}
	memset(&a->meta, 0, sizeof(a->meta));
	snprintf(a->meta.url, sizeof(a->meta.url), "%s", url);
	snprintf(a->meta.final_url, sizeof(a->meta.final_url), "%s", res->final_url);
	snprintf(a->meta.etag, sizeof(a->meta.etag), "%s", res->etag);
	snprintf(a->meta.last_modified, sizeof(a->meta.last_modified), "%s", res->last_modified);
	a->meta.crl_number = v.crl_number;
	a->meta.this_update = v.this_update;
	a->meta.next_update = v.next_update;
	a->meta.fetched_at = now;
	snprintf(a->meta.ca, sizeof(a->meta.ca), "%s", v.ca);
	if (same)
		a->meta.fetched_at = cached->fetched_at;
	/* the same CRL again (a server without validators): only the validators are new */
	err = write_cache(same ? NULL : staged, crl_path, meta_path, &a->meta, &diag);
	if (err != JITRD_OK) {
		(void)unlink(staged);
		a->outcome = JITRD_CRL_OUTCOME_FAILED;
		a->err = err;
		snprintf(a->reason, sizeof(a->reason), "cache: %.480s", diag.text);
		return;
	}
	a->meta_changed = true;
	a->outcome = same ? JITRD_CRL_OUTCOME_NOT_MODIFIED : JITRD_CRL_OUTCOME_NEW;
}

static void schedule(struct jitrd_crl_refresh *r, struct source *s)
{
	struct jitrd_crl_schedule_input in = {0};

	in.last_attempt = s->last_attempt;
	in.last_success = s->last_success;
	in.failures = s->failures;
	in.this_update = s->cached ? s->meta.this_update : 0;
	in.next_update = s->cached ? s->meta.next_update : 0;
	in.refresh_seconds = r->refresh_seconds;
	in.random_bits = jitrd_random64();
	s->next_due = jitrd_crl_schedule_next(&in);
}

enum jitrd_err jitrd_crl_refresh_run(struct jitrd_crl_refresh *r, const struct jitrd_runtime *rt,
                                     time_t now, int64_t deadline_ms, bool force,
                                     struct jitrd_crl_refresh_report *report)
{
	struct jitrd_crl_refresh_report rep;

	if (!r || !rt || !report)
		return JITRD_ERR_INVALID_ARG;
	memset(&rep, 0, sizeof(rep));
	for (size_t i = 0;; i++) {
		char *url;
		char shown[JITRD_CRL_FETCH_URL_MAX];
		char crl_path[PATH_BYTES], meta_path[PATH_BYTES];
		struct jitrd_crl_cache_meta cached;
		bool have_cached;
		struct jitrd_crl_fetch_options opts;
		struct jitrd_crl_fetch_s3 s3;
		struct jitrd_crl_fetch_cache known;
		struct jitrd_crl_fetch_result res;
		struct jitrd_diag fetch_diag = {{0}};
		struct attempt a;
		enum jitrd_err err;
		struct source *s;

		pthread_mutex_lock(&r->lock);
		if (i >= r->count) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		s = &r->sources[i];
		if (!force && s->next_due > now) {
			pthread_mutex_unlock(&r->lock);
			continue;
		}
		url = strdup(s->url);
		have_cached = s->cached;
		cached = s->meta;
		snprintf(crl_path, sizeof(crl_path), "%s", s->crl_path);
		snprintf(meta_path, sizeof(meta_path), "%s", s->meta_path);
		pthread_mutex_unlock(&r->lock);
		if (!url)
			return JITRD_ERR_NOMEM;
		jitrd_crl_refresh_shown_url(url, shown, sizeof(shown));

		jitrd_crl_refresh_fetch_options(rt->cfg, url, r->credentials, &s3, &opts);
		if (deadline_ms > 0) {
			int64_t left = deadline_ms - jitrd_clock_wall_ms();
			if (left < 1000) {
				rep.skipped++;
				free(url);
				continue;
			}
			if (left < opts.timeout_ms)
				opts.timeout_ms = (long)left;
			if (left < opts.connect_timeout_ms)
				opts.connect_timeout_ms = (long)left;
		}
		/* validators only for a copy the cache really holds: a 304 then means "keep it" */
		known.etag = have_cached ? cached.etag : NULL;
		known.last_modified = have_cached ? cached.last_modified : NULL;
		memset(&a, 0, sizeof(a));
		memset(&res, 0, sizeof(res));
		rep.attempted++;
		err = jitrd_crl_fetch(&opts, &known, &res, &fetch_diag);
		if (err == JITRD_ERR_TOO_LARGE) {
			a.outcome = JITRD_CRL_OUTCOME_REFUSED;
			a.err = err;
			snprintf(a.reason, sizeof(a.reason), "%s", fetch_diag.text);
		} else if (err != JITRD_OK) {
			a.outcome = JITRD_CRL_OUTCOME_FAILED;
			a.err = err;
			snprintf(a.reason, sizeof(a.reason), "%s", fetch_diag.text);
		} else if (res.status == JITRD_CRL_FETCH_NOT_MODIFIED) {
			a.outcome = JITRD_CRL_OUTCOME_NOT_MODIFIED;
		} else {
			judge_new(rt, url, shown, &cached, have_cached, &res, now, r->cache_dir,
			          crl_path, meta_path, &a);
		}
		jitrd_crl_fetch_result_cleanup(&res);
		free(url);

		rep.outcomes[a.outcome]++;
		if (a.outcome == JITRD_CRL_OUTCOME_NEW)
			rep.changed = true;
		pthread_mutex_lock(&r->lock);
		s = &r->sources[i]; /* the table may have grown meanwhile */
		s->last_outcome = a.outcome;
		s->last_error = a.err;
		snprintf(s->last_reason, sizeof(s->last_reason), "%s", a.reason);
		s->last_attempt = now;
		if (a.outcome == JITRD_CRL_OUTCOME_NEW ||
		    a.outcome == JITRD_CRL_OUTCOME_NOT_MODIFIED) {
			s->last_success = now;
			s->failures = 0;
		} else {
			s->failures++;
		}
		if (a.meta_changed) {
			s->meta = a.meta;
			s->cached = true;
		}
		schedule(r, s);
		pthread_mutex_unlock(&r->lock);
	}
	*report = rep;
	return JITRD_OK;
}
