/* cmd_config_check.c — `jitrd config-check [-c FILE]`: loads and validates the configuration,
 * CA certificates, CRLs and templates, prints a summary, and ends with "configuration OK"
 * (exit 0) or with every problem named by file (exit 2). Parses the command line only; the
 * command is src/operator/config_check.c. */
#include "cli.h"

#include <unistd.h>

static const char usage[] =
    "usage: jitrd config-check [-c FILE] [--at TIME]\n"
    "\n"
    "Loads the configuration (default " JITRD_DEFAULT_CONFIG ", or JITRD_* variables\n"
    "alone), the CA certificates of [ca] dir (and [ca] anchors), the CRLs of [crl] dir\n"
    "and the policy template, renders the templates for a sample certificate and prints\n"
    "a summary.\n"
    "  -c, --config FILE  configuration (default " JITRD_DEFAULT_CONFIG ")\n"
    "  --at TIME          judge CA and CRL validity at TIME (2030-06-01T00:00:00Z), not now\n"
    "Exit 0: configuration OK; 2: a problem, named by file and line.\n";

int jitrd_cmd_config_check(int argc, char **argv)
{
	struct jitrd_command_options opts;
	int status = jitrd_parse_command_line(argc, argv, usage, 0, &opts);

	if (status >= 0)
		return status;
	return jitrd_command_config_check(&opts);
}
