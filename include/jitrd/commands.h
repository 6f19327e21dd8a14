/* commands.h — the commands an operator runs by hand (DESIGN §4.1, §4.6): check, config-check,
 * handle, reconcile, ca register, ca deactivate, cert revoke/activate/register, crl sweep, explain.
 * Each opens what it needs, prints its results on standard output and its problems on standard
 * error, and returns the exit status; the command line (src/cli) only parses argv and calls them.
 * `jitrd run` and `jitrd lambda` are the daemon's and the Lambda runtime's. */
#ifndef JITRD_COMMANDS_H
#define JITRD_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "jitrd/iot_client.h"

/* Exit statuses (DESIGN §4.1). */
enum jitrd_exit {
	JITRD_EXIT_OK = 0,
	JITRD_EXIT_WORK_FAILED = 1,
	JITRD_EXIT_USAGE = 2, /* usage, configuration */
};

/* What every command takes. */
struct jitrd_command_options {
	const char *config_path; /* -c/--config FILE; NULL: the default file or environment */
	time_t now;              /* --at TIME; the clock otherwise */
};

/* The offline decision for one device certificate (a PEM file), as an outcome line. */
enum jitrd_exit jitrd_command_check(const struct jitrd_command_options *o, const char *device_path);

/* Loads and validates configuration, CAs, CRLs and templates; a summary, then "configuration
 * OK" (0) or every problem named (2). */
enum jitrd_exit jitrd_command_config_check(const struct jitrd_command_options *o);

/* DESIGN §3 on the event in event_path (one JSON object), or on JSON lines from standard input
 * when event_path is "-"; one outcome line each. */
enum jitrd_exit jitrd_command_handle(const struct jitrd_command_options *o, const char *event_path);

/* One sweep of every PENDING_ACTIVATION certificate of our CAs, one outcome line each. */
enum jitrd_exit jitrd_command_reconcile(const struct jitrd_command_options *o);

struct jitrd_ca_register_args {
	const char *ca_cert, *ca_key; /* files; both required */
	bool activate, auto_registration, allow_insecure_key;
};

/* Registers a CA (operator.h: jitrd_operator_ca_register); prints the CA id. */
enum jitrd_exit jitrd_command_ca_register(const struct jitrd_command_options *o,
                                          const struct jitrd_ca_register_args *a);

/* Sets the CA INACTIVE and, with revoke_certificates, revokes its certificates (resumable). */
enum jitrd_exit jitrd_command_ca_deactivate(const struct jitrd_command_options *o,
                                            const char *ca_id, bool revoke_certificates);

/* Sets each of the count certificates to status (REVOKED or ACTIVE), in order. */
enum jitrd_exit jitrd_command_cert_status(const struct jitrd_command_options *o,
                                          char *const *certificate_ids, size_t count,
                                          enum jitrd_iot_status status);

/* Registers device certificates ahead of their first connection (operator.h: cert
 * register): the files in dir (when not NULL), else the count paths. One line each (text, or
 * JSON with json) and a summary. */
enum jitrd_exit jitrd_command_cert_register(const struct jitrd_command_options *o, const char *dir,
                                            char **paths, size_t count, bool json);

/* Checks our CAs' certificates against their current CRLs (operator.h: crl sweep). */
enum jitrd_exit jitrd_command_crl_sweep(const struct jitrd_command_options *o, bool dry_run);

/* Why a certificate (a 64-hex id, or a PEM file) is where it is: the journal's events and
 * inventory row, AWS IoT's view now unless offline, and with a PEM the decision jitrd would
 * make now and what it would do. Text, or one JSON object with json. Changes nothing. */
enum jitrd_exit jitrd_command_explain(const struct jitrd_command_options *o, const char *arg,
                                      bool offline, bool json);

#endif
