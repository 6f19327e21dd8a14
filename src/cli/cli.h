/* cli.h — what the command-line front end shares between its commands: exit statuses, the
 * common options and time parsing.
 * Private to src/cli. */
#ifndef JITRD_CLI_H
#define JITRD_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "jitrd/commands.h"
#include "jitrd/runtime.h"

/* DESIGN §4.1 */
enum {
	EXIT_OK = JITRD_EXIT_OK,
	EXIT_WORK_FAILED = JITRD_EXIT_WORK_FAILED,
	EXIT_USAGE = JITRD_EXIT_USAGE,
};

/* Parses -c/--config, --at and -h/--help; positional arguments start at optind afterwards.
 * Returns -1 to go on, or the exit status when the command is done (help printed: 0; a
 * usage error, printed with usage: 2). */
int jitrd_parse_common_options(int argc, char **argv, const char *usage,
                               struct jitrd_command_options *opts);

/* The same with exactly `positional` arguments after the options (a usage error otherwise). */
int jitrd_parse_command_line(int argc, char **argv, const char *usage, int positional,
                             struct jitrd_command_options *opts);

/* --at TEXT: jitrd_parse_time, with the reason printed when TEXT is not a time. */
bool jitrd_parse_at(const char *text, time_t *out);

/* Parses "2030-06-01T00:00:00Z" or a number of seconds since the epoch, up to the year 9999.
 * *out written only on success. Errors: JITRD_ERR_MALFORMED. */
enum jitrd_err jitrd_parse_time(const char *text, time_t *out) JITRD_WUR;

int jitrd_cmd_config_check(int argc, char **argv);
int jitrd_cmd_check(int argc, char **argv);
int jitrd_cmd_run(int argc, char **argv);
int jitrd_cmd_handle(int argc, char **argv);
int jitrd_cmd_reconcile(int argc, char **argv);
/* operator commands (cmd_operator.c, DESIGN §4.6; their work is src/operator) */
int jitrd_cmd_ca(int argc, char **argv);
int jitrd_cmd_cert(int argc, char **argv);
int jitrd_cmd_crl(int argc, char **argv);
int jitrd_cmd_explain(int argc, char **argv);
int jitrd_cmd_lambda(int argc, char **argv);

#endif
