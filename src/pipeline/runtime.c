/* runtime.c — loads what every mode needs from the configuration: CA certificates, CRLs and
 * templates, with each problem named by its file. The only place they are read, so
 * `config-check`, `check`, `handle` and the service judge a configuration the same way. */
#include "jitrd/runtime.h"

#include <errno.h>
#include <sys/stat.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "jitrd/crl_refresh.h"
#include "jitrd/files.h"

extern char **environ;

#define CA_FILE_MAX       (1024 * 1024)
#define CONFIG_ORIGIN_ENV "environment"

static char *dup_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static int load_config(struct jitrd_runtime *rt, const char *config_path, struct jitrd_diag *diag)
{
	char *text = NULL;
	size_t len = 0;
	char *base_dir = NULL;
	int result = -1;

	if (!config_path && access(JITRD_DEFAULT_CONFIG, F_OK) == 0)
		config_path = JITRD_DEFAULT_CONFIG;
	if (config_path) {
		if (jitrd_file_read(config_path, JITRD_CONFIG_MAX_BYTES, &text, &len, diag) !=
		    JITRD_OK)
			goto cleanup;
		base_dir = dup_dirname(config_path);
		rt->config_origin = strdup(config_path);
	} else {
		rt->config_origin = strdup(CONFIG_ORIGIN_ENV);
	}
	if (!rt->config_origin || (config_path && !base_dir)) {
		jitrd_diag_set(diag, "out of memory");
		goto cleanup;
	}
	if (jitrd_config_parse(rt->config_origin, text, len, (const char *const *)environ, base_dir,
	                       &rt->cfg, diag) != JITRD_OK)
		goto cleanup;
	result = 0;
cleanup:
	free(text);
	free(base_dir);
	return result;
}

/* Adds every file of dir to set and, when also is not NULL, to also. */
static int load_ca_dir(const char *key, const char *dir, struct jitrd_caset *set,
                       struct jitrd_caset *also, struct jitrd_diag *diag)
{
	char **paths = NULL;
	size_t count = 0;
	int result = -1;

	if (jitrd_dir_list(dir, &paths, &count, diag) != JITRD_OK) {
		jitrd_diag_prefix(diag, key);
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		char *pem = NULL;
		size_t len = 0;
		enum jitrd_err err = jitrd_file_read(paths[i], CA_FILE_MAX, &pem, &len, diag);
		if (err == JITRD_OK)
			err = jitrd_caset_add_pem(set, paths[i], pem, len, diag);
		if (err == JITRD_OK && also)
			err = jitrd_caset_add_pem(also, paths[i], pem, len, diag);
		free(pem);
		if (err != JITRD_OK)
			goto cleanup;
	}
	if (jitrd_caset_count(set) == 0) {
		jitrd_diag_set(diag, "%s %s: no CA certificate found", key, dir);
		goto cleanup;
	}
	result = 0;
cleanup:
	jitrd_paths_free(paths, count);
	return result;
}

/* [ca] dir, and [ca] anchors when set: the anchors become the trust anchors of every path, and
 * the CRLs the builder accepts are those of the registered CAs and of the anchors (RFC 5280
 * §6.3: each certificate of the path against its issuer's CRL). */
static int load_cas(struct jitrd_runtime *rt, struct jitrd_diag *diag)
{
	bool anchored = *rt->cfg->ca.anchors != '\0';

	rt->cas = jitrd_caset_new();
	if (anchored) {
		rt->anchors = jitrd_caset_new();
		rt->crl_issuers = jitrd_caset_new();
	}
	if (!rt->cas || (anchored && (!rt->anchors || !rt->crl_issuers))) {
		jitrd_diag_set(diag, "out of memory");
		return -1;
	}
	if (load_ca_dir("[ca] dir", rt->cfg->ca.dir, rt->cas, rt->crl_issuers, diag) != 0)
		return -1;
	if (anchored) {
		if (load_ca_dir("[ca] anchors", rt->cfg->ca.anchors, rt->anchors, rt->crl_issuers,
		                diag) != 0)
			return -1;
		if (jitrd_caset_set_anchors(rt->cas, rt->anchors) != JITRD_OK) {
			jitrd_diag_set(diag, "[ca] anchors: out of memory");
			return -1;
		}
	}
	for (size_t i = 0; i < rt->cfg->ca.allow_count; i++) {
		if (!jitrd_caset_find_id(rt->cas, rt->cfg->ca.allow[i])) {
			jitrd_diag_set(diag, "[ca] allow: %s is not a CA in %s",
			               rt->cfg->ca.allow[i], rt->cfg->ca.dir);
			return -1;
		}
	}
	return 0;
}

/* The rollback floors: [service] state_dir/crl-numbers when present (the service writes it;
 * every mode reads it), raised to what the caller already knows. A file that is there but
 * cannot be read or parsed is fatal: silently starting without it would reopen rollbacks. */
static int load_crl_floors(struct jitrd_runtime *rt, const struct jitrd_crl_floors *known,
                           struct jitrd_diag *diag)
{
	struct jitrd_crl_floors *parsed = NULL;
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int result = -1;

	if (!(rt->crl_floors = jitrd_crl_floors_new())) {
		jitrd_diag_set(diag, "out of memory");
		return -1;
	}
	if ((size_t)snprintf(rt->crl_floors_path, sizeof(rt->crl_floors_path), "%s/%s",
	                     rt->cfg->service.state_dir,
	                     JITRD_CRL_FLOORS_FILE) >= sizeof(rt->crl_floors_path)) {
		jitrd_diag_set(diag, "[service] state_dir: path too long");
		return -1;
	}
	if (stat(rt->crl_floors_path, &st) != 0) {
		if (errno == EACCES) {
			/* an operator's `config-check` or `check` against the service's private
			 * state directory: judged without the record, and says so */
			snprintf(rt->crl_floors_note, sizeof(rt->crl_floors_note),
			         "not readable here (%s): rollbacks are not checked by this run",
			         strerror(errno));
		} else if (errno != ENOENT && errno != ENOTDIR) {
			jitrd_diag_set(diag, "%s: %s", rt->crl_floors_path, strerror(errno));
			return -1;
		}
	} else {
		if (jitrd_file_read(rt->crl_floors_path, JITRD_CRL_FLOORS_MAX_BYTES, &text, &len,
		                    diag) != JITRD_OK ||
		    jitrd_crl_floors_parse(rt->crl_floors_path, text, len, &parsed, diag) !=
		        JITRD_OK) {
			jitrd_diag_prefix(diag, "CRL numbers (delete the file to reset them, "
			                        "see crl/README.md)");
			goto cleanup;
		}
		if (jitrd_crl_floors_raise(rt->crl_floors, parsed) != JITRD_OK) {
			jitrd_diag_set(diag, "%s: out of memory", rt->crl_floors_path);
			goto cleanup;
		}
	}
	if (jitrd_crl_floors_raise(rt->crl_floors, known) != JITRD_OK) {
		jitrd_diag_set(diag, "out of memory");
		goto cleanup;
	}
	result = 0;
cleanup:
	jitrd_crl_floors_free(parsed);
	free(text);
	return result;
}

/* Reads path into the builder under the name origin; unreadable counts as refused (the
 * report must name it). -1 only when out of memory. */
static int add_crl_file(struct jitrd_runtime *rt, const char *path, const char *origin)
{
	char *bytes = NULL;
	size_t len = 0;
	struct jitrd_diag file_diag = {{0}};
	enum jitrd_err err = jitrd_file_read(path, JITRD_CRL_MAX_FILE, &bytes, &len, &file_diag);

	/* the builder takes the bytes: a PEM file is decoded in place, its text given back */
	if (err == JITRD_OK) {
		err = jitrd_crl_builder_add_owned(rt->crl_builder, origin, (unsigned char *)bytes,
		                                  len, &file_diag);
		bytes = NULL;
	} else if (err != JITRD_ERR_NOMEM) {
		err = jitrd_crl_builder_note_failure(rt->crl_builder, origin, err, file_diag.text);
	}
	free(bytes);
	return err == JITRD_ERR_NOMEM ? -1 : 0;
}

/* "<URL without query> (cache <path>)" when the metadata beside path names its source, else
 * path: the report then says where a cached CRL came from. */
static void cached_origin(const char *path, char *out, size_t size)
{
	char meta_path[4096];
	char *text = NULL;
	size_t len = strlen(path), text_len = 0;
	struct jitrd_crl_cache_meta meta;
	char shown[JITRD_CRL_FETCH_URL_MAX];

	snprintf(out, size, "%s", path);
	if (len < 4 || len - 4 + sizeof(".json") > sizeof(meta_path))
		return;
	snprintf(meta_path, sizeof(meta_path), "%.*s.json", (int)(len - 4), path);
	if (jitrd_file_read(meta_path, JITRD_CRL_CACHE_META_MAX, &text, &text_len, NULL) ==
	        JITRD_OK &&
	    jitrd_crl_cache_meta_parse(meta_path, text, text_len, &meta, NULL) == JITRD_OK) {
		jitrd_crl_refresh_shown_url(meta.url, shown, sizeof(shown));
		snprintf(out, size, "%.2000s (cache %.1000s)", shown, path);
	}
	free(text);
}

/* The CRLs the service fetched (state_dir/crl-cache/<hex>.crl), judged like [crl] dir files:
 * a restart without network starts from the last good ones. A cache that is missing or not
 * readable here (an operator's run against the service's private directory) adds nothing. */
static int load_crl_cache(struct jitrd_runtime *rt)
{
	char dir[4096];
	char **paths = NULL;
	size_t count = 0;
	int n =
	    snprintf(dir, sizeof(dir), "%s/%s", rt->cfg->service.state_dir, JITRD_CRL_CACHE_DIR);

	if (n < 0 || (size_t)n >= sizeof(dir) || access(dir, F_OK) != 0 ||
	    jitrd_dir_list(dir, &paths, &count, NULL) != JITRD_OK)
		return 0;
	for (size_t i = 0; i < count; i++) {
		size_t len = strlen(paths[i]);
		char origin[3200];

		if (len < 4 || strcmp(paths[i] + len - 4, ".crl") != 0)
			continue;
		cached_origin(paths[i], origin, sizeof(origin));
		if (add_crl_file(rt, paths[i], origin) != 0) {
			jitrd_paths_free(paths, count);
			return -1;
		}
	}
	jitrd_paths_free(paths, count);
	return 0;
}

/* Refused CRL files are kept in the builder's report, not returned: one bad file must not
 * stop the others from protecting their CAs. */
static int load_crls(struct jitrd_runtime *rt, time_t now, struct jitrd_diag *diag)
{
	char **paths = NULL;
	size_t count = 0;
	struct jitrd_diag list_diag = {{0}};

	rt->crl_builder = jitrd_crl_builder_new(rt->crl_issuers ? rt->crl_issuers : rt->cas, now);
	if (!rt->crl_builder ||
	    jitrd_crl_builder_set_floors(rt->crl_builder, rt->crl_floors) != JITRD_OK) {
		jitrd_diag_set(diag, "out of memory");
		return -1;
	}
	if (jitrd_dir_list(rt->cfg->crl.dir, &paths, &count, &list_diag) != JITRD_OK) {
		snprintf(rt->crl_dir_error, sizeof(rt->crl_dir_error), "[crl] dir: %.400s",
		         list_diag.text);
		count = 0;
	}
	for (size_t i = 0; i < count; i++) {
		if (add_crl_file(rt, paths[i], paths[i]) != 0) {
			jitrd_diag_set(diag, "out of memory");
			jitrd_paths_free(paths, count);
			return -1;
		}
	}
	jitrd_paths_free(paths, count);
	if (load_crl_cache(rt) != 0) {
		jitrd_diag_set(diag, "out of memory");
		return -1;
	}
	if (jitrd_crl_builder_finish(rt->crl_builder, &rt->crls) != JITRD_OK) {
		jitrd_diag_set(diag, "out of memory");
		return -1;
	}
	return 0;
}

/* A certificate with every subject field, made in memory, so a template is proven to render
 * at start-up and not first on a real device (DESIGN §4.4). */
static X509 *make_sample_certificate(void)
{
	static const struct {
		const char *field, *value;
	} subject[] = {
	    {"C", "US"},
	    {"ST", "WA"},
	    {"L", "Seattle"},
	    {"O", "Example"},
	    {"OU", "Devices"},
	    {"serialNumber", "SN-0001"},
	    {"CN", "sample-device"},
	};
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name = x ? X509_get_subject_name(x) : NULL;
	int ok = key && x && name;

	for (size_t i = 0; ok && i < sizeof(subject) / sizeof(subject[0]); i++)
		ok = X509_NAME_add_entry_by_txt(name, subject[i].field, MBSTRING_UTF8,
		                                (const unsigned char *)subject[i].value, -1, -1,
		                                0) == 1;
	ok = ok && X509_set_version(x, 2) == 1 &&
	     ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234) == 1 &&
	     X509_set_issuer_name(x, name) == 1 && X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
	     X509_gmtime_adj(X509_getm_notAfter(x), 3600) && X509_set_pubkey(x, key) == 1 &&
	     X509_sign(x, key, EVP_sha256()) > 0;
	EVP_PKEY_free(key);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int load_templates(struct jitrd_runtime *rt, struct jitrd_diag *diag)
{
	struct jitrd_decision_context ctx;
	struct jitrd_decision sample;
	struct jitrd_cert *cert = NULL;
	X509 *x = NULL;
	char *text = NULL;
	size_t len = 0;
	int result = -1;
	enum jitrd_err err;

	if (jitrd_name_template_check(rt->cfg->provision.policy_name, diag) != JITRD_OK ||
	    jitrd_name_template_check(rt->cfg->provision.thing_name, diag) != JITRD_OK) {
		jitrd_diag_prefix(diag, "[provision]");
		return -1;
	}
	if (jitrd_file_read(rt->cfg->provision.policy_template, JITRD_TEMPLATE_MAX_BYTES, &text,
	                    &len, diag) != JITRD_OK)
		return -1;
	if (jitrd_policy_template_parse(rt->cfg->provision.policy_template, text, len,
	                                &rt->policy_template, diag) != JITRD_OK)
		goto cleanup;

	x = make_sample_certificate();
	if (!x || jitrd_cert_from_x509(x, &cert, diag) != JITRD_OK) {
		jitrd_diag_set(diag, "cannot make the sample certificate");
		goto cleanup;
	}
	jitrd_runtime_context(rt, &ctx);
	if (jitrd_decision_check_templates(&ctx, diag) != JITRD_OK)
		goto cleanup;
	/* The account may come from each event instead of the configuration (the service), so
	 * an example account stands in for rendering; `check` refuses to run without one. */
	if (!*ctx.account_id)
		ctx.account_id = "123456789012";
	jitrd_decision_init(&sample);
	err = jitrd_decision_render(&ctx, cert, jitrd_cert_id(jitrd_caset_at(rt->cas, 0)), &sample,
	                            diag);
	rt->policy_sample_chars = sample.policy_document ? strlen(sample.policy_document) : 0;
	jitrd_decision_cleanup(&sample);
	if (err != JITRD_OK) {
		char prefix[160];
		snprintf(prefix, sizeof(prefix), "%.100s: does not render for a sample certificate",
		         rt->cfg->provision.policy_template);
		jitrd_diag_prefix(diag, prefix);
		goto cleanup;
	}
	result = 0;
cleanup:
	jitrd_cert_free(cert);
	X509_free(x);
	free(text);
	return result;
}

static int load(struct jitrd_runtime *rt, const char *config_path, time_t now,
                const struct jitrd_crl_floors *known, struct jitrd_diag *diag)
{
	memset(rt, 0, sizeof(*rt));
	if (load_config(rt, config_path, diag) != 0 || load_cas(rt, diag) != 0 ||
	    load_crl_floors(rt, known, diag) != 0 || load_crls(rt, now, diag) != 0 ||
	    load_templates(rt, diag) != 0)
		return -1;
	return 0;
}

enum jitrd_err jitrd_runtime_load(struct jitrd_runtime *rt, const char *config_path, time_t now,
                                  struct jitrd_diag *diag)
{
	return load(rt, config_path, now, NULL, diag) == 0 ? JITRD_OK : JITRD_ERR_CONFIG;
}

enum jitrd_err jitrd_runtime_save_crl_floors(const struct jitrd_runtime *rt,
                                             struct jitrd_crl_floors **out, struct jitrd_diag *diag)
{
	struct jitrd_crl_floors *floors = NULL;
	char *text = NULL;
	size_t len = 0;
	enum jitrd_err err = jitrd_crl_store_floors(rt->crls, rt->crl_floors, &floors);

	if (err == JITRD_OK)
		err = jitrd_crl_floors_format(floors, &text, &len);
	if (err != JITRD_OK) {
		jitrd_diag_set(diag, "%s: %s", rt->crl_floors_path, jitrd_strerror(err));
		jitrd_crl_floors_free(floors);
		return err;
	}
	/* written even when unchanged: small, and it proves the state directory is writable */
	err = jitrd_file_replace(rt->crl_floors_path, text, len, diag);
	OPENSSL_free(text);
	if (err != JITRD_OK) {
		jitrd_crl_floors_free(floors);
		return err;
	}
	if (out)
		*out = floors;
	else
		jitrd_crl_floors_free(floors);
	return JITRD_OK;
}

void jitrd_runtime_cleanup(struct jitrd_runtime *rt)
{
	jitrd_policy_template_free(rt->policy_template);
	jitrd_crl_store_free(rt->crls);
	jitrd_crl_builder_free(rt->crl_builder);
	jitrd_crl_floors_free(rt->crl_floors);
	jitrd_caset_free(rt->cas);
	jitrd_caset_free(rt->anchors);
	jitrd_caset_free(rt->crl_issuers);
	jitrd_config_free(rt->cfg);
	free(rt->config_origin);
	memset(rt, 0, sizeof(*rt));
}

void jitrd_runtime_context(const struct jitrd_runtime *rt, struct jitrd_decision_context *ctx)
{
	memset(ctx, 0, sizeof(*ctx)); /* members added later (the OCSP answer) start empty */
	ctx->cfg = rt->cfg;
	ctx->cas = rt->cas;
	ctx->crls = rt->crls;
	ctx->policy_template = rt->policy_template;
	ctx->account_id = rt->cfg->aws.account_id;
	ctx->region = rt->cfg->aws.region;
}

struct jitrd_runtime *jitrd_runtime_new(const char *config_path, time_t now,
                                        struct jitrd_diag *diag)
{
	return jitrd_runtime_new_with_floors(config_path, now, NULL, diag);
}

struct jitrd_runtime *jitrd_runtime_new_with_floors(const char *config_path, time_t now,
                                                    const struct jitrd_crl_floors *known,
                                                    struct jitrd_diag *diag)
{
	struct jitrd_runtime *rt = malloc(sizeof(*rt));

	if (!rt) {
		jitrd_diag_set(diag, "out of memory");
		return NULL;
	}
	if (load(rt, config_path, now, known, diag) != 0) {
		jitrd_runtime_cleanup(rt);
		free(rt);
		return NULL;
	}
	atomic_init(&rt->refs, 1);
	return rt;
}

struct jitrd_runtime *jitrd_runtime_ref(struct jitrd_runtime *rt)
{
	atomic_fetch_add(&rt->refs, 1);
	return rt;
}

void jitrd_runtime_unref(struct jitrd_runtime *rt)
{
	if (rt && atomic_fetch_sub(&rt->refs, 1) == 1) {
		jitrd_runtime_cleanup(rt);
		free(rt);
	}
}

bool jitrd_runtime_loses_crl(const struct jitrd_runtime *old, const struct jitrd_runtime *new_rt,
                             struct jitrd_diag *diag)
{
	for (size_t i = 0; i < jitrd_caset_count(new_rt->cas); i++) {
		const struct jitrd_cert *ca = jitrd_caset_at(new_rt->cas, i);
		const struct jitrd_cert *old_ca = jitrd_caset_find_id(old->cas, jitrd_cert_id(ca));
		const char *why = new_rt->crl_dir_error;

		if (jitrd_crl_store_info(new_rt->crls, ca) || !old_ca ||
		    !jitrd_crl_store_info(old->crls, old_ca))
			continue;
		for (size_t f = 0; !*why && f < jitrd_crl_builder_file_count(new_rt->crl_builder);
		     f++) {
			const struct jitrd_crl_file_report *r =
			    jitrd_crl_builder_file_at(new_rt->crl_builder, f);
			if (r->result != JITRD_OK)
				why = r->reason;
		}
		jitrd_diag_set(diag, "CA %s would lose its CRL (%.300s)", jitrd_cert_id(ca),
		               *why ? why : "no CRL file for it");
		return true;
	}
	return false;
}

enum jitrd_err jitrd_runtime_successor(const char *config_path, const struct jitrd_runtime *current,
                                       const struct jitrd_crl_floors *floors, time_t now,
                                       struct jitrd_runtime **out, struct jitrd_diag *diag)
{
	struct jitrd_crl_floors *own = NULL;
	struct jitrd_runtime *rt;

	if (!current || !out)
		return JITRD_ERR_INVALID_ARG;
	*out = NULL;
	if (!floors) {
		if (jitrd_crl_store_floors(current->crls, current->crl_floors, &own) != JITRD_OK)
			return JITRD_ERR_NOMEM;
		floors = own;
	}
	rt = jitrd_runtime_new_with_floors(config_path, now, floors, diag);
	jitrd_crl_floors_free(own);
	if (!rt)
		return JITRD_ERR_CONFIG;
	*out = rt;
	return jitrd_runtime_loses_crl(current, rt, diag) ? JITRD_ERR_NO_CRL : JITRD_OK;
}
