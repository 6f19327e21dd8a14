/* cmd_check.c — `jitrd check [-c FILE] [--at TIME] DEVICE.pem`: the offline decision for one
 * device certificate (chain, validity, CRL, rendered names and policy) as an outcome line.
 * Parses the command line only; the command is src/operator/check.c. */
#include "cli.h"

#include <unistd.h>

static const char usage[] =
    "usage: jitrd check [-c FILE] [--at TIME] DEVICE.pem\n"
    "\n"
    "Decides offline what jitrd would do with the device certificate: its CA, signature,\n"
    "validity, CRL status, and the rendered policy and Thing names. Prints one outcome\n"
    "line (JSON with the policy document when [service] log_format = json).\n"
    "  -c, --config FILE  configuration (default " JITRD_DEFAULT_CONFIG ")\n"
    "  --at TIME          judge at TIME (2030-06-01T00:00:00Z or epoch seconds), not now\n"
    "Exit 0: a decision was printed; 1: the certificate could not be read; 2: usage or\n"
    "configuration error.\n";

int jitrd_cmd_check(int argc, char **argv)
{
	struct jitrd_command_options opts;
	int status = jitrd_parse_command_line(argc, argv, usage, 1, &opts);

	if (status >= 0)
		return status;
	return jitrd_command_check(&opts, argv[optind]);
}
