/* cmd_handle.c — `jitrd handle [-c FILE] EVENT.json|-` and `jitrd reconcile [-c FILE]`: the
 * pipeline of DESIGN §3 on events given by hand, or on every PENDING_ACTIVATION certificate
 * of our CAs. Parses the command line only; the commands are src/operator/handle.c. */
#include "cli.h"

#include <unistd.h>

static const char handle_usage[] =
    "usage: jitrd handle [-c FILE] EVENT.json|-\n"
    "\n"
    "Runs the decision of DESIGN §3 on one registration event (a file holding one JSON\n"
    "object), or on JSON lines read from standard input (-), against AWS IoT (or the\n"
    "endpoint of [aws] endpoint), and prints one outcome line per event.\n"
    "  -c, --config FILE  configuration (default " JITRD_DEFAULT_CONFIG ")\n"
    "Exit 0: every event decided; 1: an outcome was failed or invalid; 2: usage or\n"
    "configuration error.\n";

static const char reconcile_usage[] =
    "usage: jitrd reconcile [-c FILE]\n"
    "\n"
    "One sweep: every PENDING_ACTIVATION certificate of our CAs (ListCertificatesByCA, all\n"
    "pages) goes through the same decision as an event, one outcome line each.\n"
    "  -c, --config FILE  configuration (default " JITRD_DEFAULT_CONFIG ")\n"
    "Exit 0: every certificate decided; 1: an outcome failed, or the listing did; 2: usage\n"
    "or configuration error.\n";

int jitrd_cmd_handle(int argc, char **argv)
{
	struct jitrd_command_options opts;
	int status = jitrd_parse_command_line(argc, argv, handle_usage, 1, &opts);

	if (status >= 0)
		return status;
	return jitrd_command_handle(&opts, argv[optind]);
}

int jitrd_cmd_reconcile(int argc, char **argv)
{
	struct jitrd_command_options opts;
	int status = jitrd_parse_command_line(argc, argv, reconcile_usage, 0, &opts);

	if (status >= 0)
		return status;
	return jitrd_command_reconcile(&opts);
}
