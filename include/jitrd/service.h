/* service.h — `jitrd run`, the long-running service (DESIGN §2, §5.2, §5.3): the MQTT source
 * records events in the journal, workers take them through the pipeline, a reconcile thread
 * sweeps pending certificates, CRLs are reloaded on a timer and SIGHUP, health and metrics are
 * served. It parses no command line; it owns the process's signal handling while it runs. */
#ifndef JITRD_SERVICE_H
#define JITRD_SERVICE_H

#include "jitrd/error.h"

/* Retention of finished journal rows (done and failed; at most [service] journal_max_rows of
 * them), and how often they are pruned: often enough that a flood between two prunes stays
 * small next to the cap. */
#define JITRD_SERVICE_RETENTION_SECONDS (7 * 24 * 3600)
#define JITRD_SERVICE_PRUNE_SECONDS     300

struct jitrd_service_options {
	const char *config_path; /* NULL: the default file if it exists, else the environment */
	const char *const *envp; /* the process environment (credentials chain); borrowed */
	int log_fd;              /* where log lines go (2 = stderr); borrowed, not closed */
};

/* Exit statuses of jitrd_service_run (DESIGN §4.1). */
enum {
	JITRD_SERVICE_EXIT_OK = 0, /* stopped by SIGTERM/SIGINT after finishing in-flight work */
	JITRD_SERVICE_EXIT_FAILED = 1, /* could not start: journal, MQTT broker, HTTP bind, ... */
	JITRD_SERVICE_EXIT_CONFIG = 2, /* the configuration, CA set or templates are unusable */
};

/* Runs the service until SIGTERM or SIGINT. SIGHUP reloads the configuration's CA set, CRLs and
 * templates (a bad new set keeps the old one and logs why; the MQTT session stays up). Blocks
 * SIGTERM, SIGINT and SIGHUP in every thread and takes them synchronously in the calling thread
 * (which must be the only thread of the process when called); ignores SIGPIPE. Start-up
 * problems are logged (or, before the log exists, written to log_fd) with the file or setting
 * at fault. Returns one of the exit statuses above. */
int jitrd_service_run(const struct jitrd_service_options *opts);

#endif
