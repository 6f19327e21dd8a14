/* cmd_run.c — `jitrd run [-c FILE]`: the long-running service (DESIGN §4.1). Parses the
 * command line only; everything else is src/daemon/. */
#include "cli.h"

#include <unistd.h>

#include "jitrd/service.h"

extern char **environ;

static const char usage[] =
    "usage: jitrd run [-c FILE]\n"
    "\n"
    "Runs the service: subscribes to the registration topic ([mqtt] url), records every event\n"
    "in the journal ([service] state_dir), takes each through the decision with [service]\n"
    "workers threads, sweeps pending certificates every [service] reconcile_seconds, reloads\n"
    "CRLs every [crl] reload_seconds and on SIGHUP, and serves /healthz, /readyz and /metrics\n"
    "on [service] listen. SIGTERM or SIGINT: stop intake, finish in-flight events, exit 0.\n"
    "  -c, --config FILE  configuration (default " JITRD_DEFAULT_CONFIG ")\n"
    "Exit 0: stopped by a signal; 1: could not start (journal, broker, listen address);\n"
    "2: usage or configuration error.\n";

int jitrd_cmd_run(int argc, char **argv)
{
	struct jitrd_command_options common;
	struct jitrd_service_options opts;
	int status = jitrd_parse_command_line(argc, argv, usage, 0, &common);

	if (status >= 0)
		return status;
	opts.config_path = common.config_path;
	opts.envp = (const char *const *)environ;
	opts.log_fd = STDERR_FILENO;
	return jitrd_service_run(&opts);
}
