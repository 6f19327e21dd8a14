/* runtime.h — everything a mode needs from its configuration, loaded once and immutable
 * afterwards: the config, the CA set, the CRL snapshot (with the per-file report) and the
 * policy template. Reference-counted, so a reload (SIGHUP) can swap in a new one while
 * workers finish with the old. An adapter: it reads the files the configuration names. */
#ifndef JITRD_RUNTIME_H
#define JITRD_RUNTIME_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "jitrd/caset.h"
#include "jitrd/config.h"
#include "jitrd/crl.h"
#include "jitrd/decision.h"
#include "jitrd/error.h"
#include "jitrd/template.h"

#define JITRD_DEFAULT_CONFIG  "/etc/jitrd/jitrd.conf"
#define JITRD_CRL_FLOORS_FILE "crl-numbers" /* in [service] state_dir */

struct jitrd_runtime {
	char *config_origin; /* the file read, or "environment" */
	struct jitrd_config *cfg;
	struct jitrd_caset *cas;
	struct jitrd_caset *anchors;     /* [ca] anchors, or NULL when not configured */
	struct jitrd_caset *crl_issuers; /* cas and anchors, whose CRLs are accepted; or NULL */
	struct jitrd_crl_builder *crl_builder; /* kept for its per-file report */
	struct jitrd_crl_store *crls;
	struct jitrd_crl_floors *crl_floors; /* rollback floors the CRLs were judged with */
	char crl_floors_path[4096];          /* state_dir/crl-numbers */
	char crl_floors_note[160];           /* "" or why the record could not be read */
	struct jitrd_policy_template *policy_template;
	char crl_dir_error[512];    /* "" when the CRL directory could be listed */
	size_t policy_sample_chars; /* length of the sample rendering */
	atomic_int refs;            /* jitrd_runtime_new / _ref / _unref only */
};

/* Loads into caller-owned storage, judged at now. config_path NULL: the default file if it
 * exists, else the environment alone. Fatal problems (config, CA directory, templates, a
 * malformed CRL-number record) return JITRD_ERR_CONFIG with "where: why" in diag (call
 * jitrd_runtime_cleanup either way); refused or unreadable CRL files are not fatal: they stay
 * in the builder's report, and the CAs they leave without a CRL get decision defer. */
enum jitrd_err jitrd_runtime_load(struct jitrd_runtime *rt, const char *config_path, time_t now,
                                  struct jitrd_diag *diag) JITRD_WUR;
void jitrd_runtime_cleanup(struct jitrd_runtime *rt);

/* The same on the heap with one reference; NULL with diag on failure. The CRL floors are
 * those of state_dir/crl-numbers (read when present, by every mode; a file that is there but
 * malformed is fatal), raised to known (may be NULL; borrowed) in _with_floors: what the
 * service accepted before, should the file lag behind. */
struct jitrd_runtime *jitrd_runtime_new(const char *config_path, time_t now,
                                        struct jitrd_diag *diag);
struct jitrd_runtime *jitrd_runtime_new_with_floors(const char *config_path, time_t now,
                                                    const struct jitrd_crl_floors *known,
                                                    struct jitrd_diag *diag);
struct jitrd_runtime *jitrd_runtime_ref(struct jitrd_runtime *rt); /* returns rt */

/* Records the CRL numbers of rt's snapshot (rt's floors raised to each partition's authority)
 * in state_dir/crl-numbers, atomically, mode 0600. Only the service calls it: `check`,
 * `config-check` and `handle` read the file and never write it. *out (may be NULL) receives
 * the floors written, owned by the caller (jitrd_crl_floors_free). Errors: JITRD_ERR_IO,
 * JITRD_ERR_NOMEM with diag. */
enum jitrd_err jitrd_runtime_save_crl_floors(const struct jitrd_runtime *rt,
                                             struct jitrd_crl_floors **out,
                                             struct jitrd_diag *diag) JITRD_WUR;
void jitrd_runtime_unref(struct jitrd_runtime *rt); /* NULL is fine */

/* Whether new_rt would leave a CA without the CRL old has for it (a refused or unreadable
 * file, a cache gone): a reload must then keep old, which goes on protecting that CA. diag
 * says which CA and why. Both borrowed. */
bool jitrd_runtime_loses_crl(const struct jitrd_runtime *old, const struct jitrd_runtime *new_rt,
                             struct jitrd_diag *diag);

/* The snapshot that succeeds current on a reload: config_path loaded afresh at now, its CRLs
 * judged against floors (borrowed; NULL: current's, raised to the CRLs current uses, since
 * numbers never go down, RFC 5280 §5.2.3), refused when it would leave a CA without the CRL
 * current has (jitrd_runtime_loses_crl). *out receives the new snapshot (one reference)
 * whenever it loaded, refused or not, so that the caller can log its CRL rollbacks; the caller
 * owns that reference in every case and swaps it in on JITRD_OK only. Errors, diag says why:
 * JITRD_ERR_CONFIG (it did not load; *out NULL), JITRD_ERR_NO_CRL (it loses a CA's CRL),
 * JITRD_ERR_NOMEM (current's floors; *out NULL), JITRD_ERR_INVALID_ARG. */
enum jitrd_err jitrd_runtime_successor(const char *config_path, const struct jitrd_runtime *current,
                                       const struct jitrd_crl_floors *floors, time_t now,
                                       struct jitrd_runtime **out,
                                       struct jitrd_diag *diag) JITRD_WUR;

/* A decision context over a loaded runtime (account and region from the config). */
void jitrd_runtime_context(const struct jitrd_runtime *rt, struct jitrd_decision_context *ctx);

#endif
