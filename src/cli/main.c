/* main.c — jitrd's command line: picks the command and maps results to exit statuses
 * (0 success, 1 the work failed, 2 usage or configuration error; DESIGN §4.1). Only main
 * decides to stop the process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
    {"config-check", jitrd_cmd_config_check,
     "load and validate config, CA certificates, CRLs and templates; print a summary"},
    {"check", jitrd_cmd_check,
     "offline decision for a device certificate: chain, validity, CRL, policy"},
    {"run", jitrd_cmd_run, "the service: MQTT subscriber, workers, reconcile, health/metrics"},
    {"handle", jitrd_cmd_handle, "run the pipeline on one event, or on JSON lines from stdin"},
    {"reconcile", jitrd_cmd_reconcile,
     "one sweep: every PENDING_ACTIVATION certificate of our CAs through the pipeline"},
    {"ca", jitrd_cmd_ca, "register a CA (ca register), deactivate one and revoke its certificates"},
    {"cert", jitrd_cmd_cert,
     "revoke, activate or register certificates (cert revoke|activate|register)"},
    {"crl", jitrd_cmd_crl, "revoke or hold what the current CRLs list (crl sweep)"},
    {"explain", jitrd_cmd_explain,
     "why a certificate is (not) active: journal, AWS IoT now, the decision now"},
    {"lambda", jitrd_cmd_lambda, "the AWS Lambda custom runtime (also as `bootstrap`)"},
};

static void print_help(FILE *out)
{
	fprintf(out, "usage: jitrd COMMAND [OPTIONS]\n"
	             "       jitrd COMMAND --help\n"
	             "       jitrd --version\n\n"
	             "jitrd decides which devices may join an AWS IoT fleet through Just-in-Time\n"
	             "Registration: it checks each certificate against its CA's revocation lists,\n"
	             "then activates, revokes or holds it and gives it its policy.\n\n"
	             "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nexit status: 0 success, 1 the work failed, 2 usage or configuration "
	             "error\n");
}

int main(int argc, char **argv)
{
	const char *name = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;

	/* DESIGN §4.1: Lambda's provided.al2023 starts /var/task/bootstrap with no arguments */
	name = name ? name + 1 : (argc > 0 && argv[0] ? argv[0] : "");
	if (strcmp(name, "bootstrap") == 0 || (argc < 2 && getenv("AWS_LAMBDA_RUNTIME_API")))
		return jitrd_cmd_lambda(argc, argv);
	if (argc < 2) {
		print_help(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("jitrd %s\n", JITRD_VERSION);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_help(stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "jitrd: unknown command '%.64s' (see jitrd --help)\n", argv[1]);
	return EXIT_USAGE;
}
