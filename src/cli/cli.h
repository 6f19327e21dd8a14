/* cli.h — what the command-line front end shares between its commands: exit statuses, the
 * loaded runtime (config, CA set, CRL snapshot, policy template) and small helpers.
 * Private to src/cli. */
#ifndef JITRD_CLI_H
#define JITRD_CLI_H

#include <stdio.h>
#include <time.h>

#include "jitrd/caset.h"
#include "jitrd/config.h"
#include "jitrd/crl.h"
#include "jitrd/decision.h"
#include "jitrd/template.h"

/* DESIGN §4.1 */
enum {
	EXIT_OK = 0,
	EXIT_WORK_FAILED = 1,
	EXIT_USAGE = 2,
};

#define JITRD_DEFAULT_CONFIG "/etc/jitrd/jitrd.conf"

struct jitrd_runtime {
	char *config_origin; /* the file read, or "environment" */
	struct jitrd_config *cfg;
	struct jitrd_caset *cas;
	struct jitrd_crl_builder *crl_builder; /* kept for its per-file report */
	struct jitrd_crl_store *crls;
	struct jitrd_policy_template *policy_template;
	char crl_dir_error[512];    /* "" when the CRL directory could be listed */
	size_t policy_sample_chars; /* length of the sample rendering */
};

/* Loads everything a command needs, judged at now. config_path NULL: the default file if it
 * exists, else the environment alone. Fatal problems (config, CA directory, templates) return
 * non-zero with "where: why" in diag; refused CRL files are not fatal here: they stay in the
 * builder's report, and the CAs they leave without a CRL get decision defer. */
int jitrd_runtime_load(struct jitrd_runtime *rt, const char *config_path, time_t now,
                       struct jitrd_diag *diag);
void jitrd_runtime_cleanup(struct jitrd_runtime *rt);

/* A decision context over a loaded runtime. */
void jitrd_runtime_context(const struct jitrd_runtime *rt, struct jitrd_decision_context *ctx);

/* The options every command shares. */
struct jitrd_common_options {
	const char *config_path; /* -c/--config FILE; NULL: the default file or environment */
	time_t now;              /* --at TIME; the clock otherwise */
};

/* Parses -c/--config, --at and -h/--help; positional arguments start at optind afterwards.
 * Returns -1 to go on, or the exit status when the command is done (help printed: 0; a
 * usage error, printed with usage: 2). */
int jitrd_parse_common_options(int argc, char **argv, const char *usage,
                               struct jitrd_common_options *opts);

/* Prepends "prefix: " to the text already in diag. */
void jitrd_diag_prefix(struct jitrd_diag *diag, const char *prefix);

/* Parses "2030-06-01T00:00:00Z" or a number of seconds since the epoch, up to the year 9999.
 * 0 or -1. */
int jitrd_parse_time(const char *text, time_t *out);

/* Formats t as RFC 3339 UTC ("2030-06-01T00:00:00Z") into out (at least 21 bytes). */
void jitrd_format_time(time_t t, char *out, size_t size);

int jitrd_cmd_config_check(int argc, char **argv);
int jitrd_cmd_check(int argc, char **argv);

#endif
