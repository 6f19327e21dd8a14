/* notify.c — systemd's notification protocol spoken directly (sd_notify(3), "Notes"): one
 * AF_UNIX datagram of newline-separated KEY=VALUE assignments to $NOTIFY_SOCKET, a path or an
 * abstract name ('@'). No libsystemd: the protocol is a few lines, and the same binary runs in
 * containers and Lambda where there is no libsystemd. It never blocks and never stops the
 * service: a manager that does not listen only costs a logged warning. */
#include "jitrd/notify.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct jitrd_notify {
	int fd; /* -1 when disabled */
	struct sockaddr_un addr;
	socklen_t addr_len;
	struct jitrd_log *log;
	int64_t watchdog_ms; /* ping interval; 0 = no watchdog */
	int64_t next_ping_ms;
	int ready_sent;
	int reloading; /* RELOADING=1 sent, READY=1 owed */
	int healthy;   /* as of the last tick */
	int last_send_failed;
	uint64_t events;
	char status[JITRD_NOTIFY_STATUS_MAX]; /* the summary last sent */
	char last_reload[96];                 /* "2026-11-28T05:20:11Z SIGHUP ok" or "" */
};

static const char *env_get(const char *const *envp, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=')
			return envp[i] + len + 1;
	return NULL;
}

/* Digits only (no sign, no blanks: strtoull would accept both), no overflow. */
static int parse_u64(const char *text, uint64_t *out)
{
	uint64_t value = 0;

	if (!*text)
		return -1;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9' || value > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		value = value * 10 + (uint64_t)(*p - '0');
	}
	*out = value;
	return 0;
}

/* sd_notify(3): an absolute path, or '@' for Linux's abstract namespace (a leading NUL, and
 * the address length counts exactly the name's bytes). */
static enum jitrd_err socket_address(const char *name, struct sockaddr_un *addr,
                                     socklen_t *addr_len, struct jitrd_diag *diag)
{
	size_t len = strlen(name);

	char quoted[128];

	if (name[0] != '/' && name[0] != '@') {
		jitrd_quote(quoted, sizeof(quoted), name, len);
		jitrd_diag_set(diag,
		               "NOTIFY_SOCKET \"%s\": neither an absolute path nor '@' abstract",
		               quoted);
		return JITRD_ERR_CONFIG;
	}
	if (len < 2 || len >= sizeof(addr->sun_path)) {
		jitrd_diag_set(diag, "NOTIFY_SOCKET: %zu bytes, a socket address holds 2..%zu", len,
		               sizeof(addr->sun_path) - 1);
		return JITRD_ERR_CONFIG;
	}
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	memcpy(addr->sun_path, name, len);
	if (name[0] == '@') {
		addr->sun_path[0] = '\0';
		*addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	} else {
		*addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	}
	return JITRD_OK;
}

/* sd_watchdog_enabled(3): WATCHDOG_USEC for us when WATCHDOG_PID is absent or ours. */
static enum jitrd_err watchdog_interval(const char *const *envp, long pid, int64_t *out,
                                        struct jitrd_diag *diag)
{
	const char *usec_text = env_get(envp, "WATCHDOG_USEC");
	const char *pid_text = env_get(envp, "WATCHDOG_PID");
	uint64_t usec = 0, for_pid = 0;
	char quoted[64];

	*out = 0;
	if (!usec_text)
		return JITRD_OK;
	if (parse_u64(usec_text, &usec) != 0 || usec > (uint64_t)INT64_MAX) {
		jitrd_quote(quoted, sizeof(quoted), usec_text, strlen(usec_text));
		jitrd_diag_set(diag, "WATCHDOG_USEC \"%s\": not a number of microseconds", quoted);
		return JITRD_ERR_CONFIG;
	}
	if (pid_text) {
		if (parse_u64(pid_text, &for_pid) != 0) {
			jitrd_quote(quoted, sizeof(quoted), pid_text, strlen(pid_text));
			jitrd_diag_set(diag, "WATCHDOG_PID \"%s\": not a process id", quoted);
			return JITRD_ERR_CONFIG;
		}
		if (for_pid != (uint64_t)pid)
			return JITRD_OK; /* meant for another process (we were started by it) */
	}
	if (usec == 0)
		return JITRD_OK;
	/* sd_watchdog_enabled(3): ping at half the interval */
	*out = (int64_t)(usec / 2000);
	if (*out < 1)
		*out = 1;
	return JITRD_OK;
}

enum jitrd_err jitrd_notify_new(const char *const *envp, long pid, struct jitrd_log *log,
                                struct jitrd_notify **out, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_notify *n = NULL;
	const char *socket_name;

	if (!out)
		goto cleanup;
	result = JITRD_ERR_NOMEM;
	n = calloc(1, sizeof(*n));
	if (!n)
		goto cleanup;
	n->fd = -1;
	n->log = log;
	n->healthy = 1;
	socket_name = env_get(envp, "NOTIFY_SOCKET");
	if (socket_name) {
		result = socket_address(socket_name, &n->addr, &n->addr_len, diag);
		if (result != JITRD_OK)
			goto cleanup;
		result = watchdog_interval(envp, pid, &n->watchdog_ms, diag);
		if (result != JITRD_OK)
			goto cleanup;
		n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (n->fd < 0) {
			jitrd_diag_set(diag, "NOTIFY_SOCKET: socket: %s", strerror(errno));
			result = JITRD_ERR_IO;
			goto cleanup;
		}
	}
	*out = n;
	n = NULL;
	result = JITRD_OK;
cleanup:
	jitrd_notify_free(n);
	return result;
}

void jitrd_notify_free(struct jitrd_notify *n)
{
	if (!n)
		return;
	if (n->fd >= 0)
		close(n->fd);
	free(n);
}

bool jitrd_notify_enabled(const struct jitrd_notify *n)
{
	return n && n->fd >= 0;
}

int64_t jitrd_notify_watchdog_ms(const struct jitrd_notify *n)
{
	return jitrd_notify_enabled(n) ? n->watchdog_ms : 0;
}

const char *jitrd_notify_status(const struct jitrd_notify *n)
{
	return n ? n->status : "";
}

enum jitrd_err jitrd_notify_send(struct jitrd_notify *n, const char *message,
                                 struct jitrd_diag *diag)
{
	size_t len;

	if (!n || !message)
		return JITRD_ERR_INVALID_ARG;
	len = strlen(message);
	if (len > JITRD_NOTIFY_MESSAGE_MAX) {
		jitrd_diag_set(diag, "notification of %zu bytes, at most %d", len,
		               JITRD_NOTIFY_MESSAGE_MAX);
		return JITRD_ERR_TOO_LARGE;
	}
	if (n->fd < 0)
		return JITRD_OK;
	/* sendto each time, not connect once: the manager may re-create its socket (daemon-
	 * reexec) and the address then names the new one. */
	if (sendto(n->fd, message, len, MSG_NOSIGNAL, (const struct sockaddr *)&n->addr,
	           n->addr_len) != (ssize_t)len) {
		jitrd_diag_set(diag, "NOTIFY_SOCKET: sendto: %s", strerror(errno));
		return JITRD_ERR_IO;
	}
	return JITRD_OK;
}

/* Sends and logs the failure that follows a success (one warning per outage, not per tick). */
static void send_logged(struct jitrd_notify *n, const char *message)
{
	struct jitrd_diag diag = {{0}};

	if (jitrd_notify_send(n, message, &diag) != JITRD_OK) {
		if (!n->last_send_failed)
			jitrd_log_kv(n->log, JITRD_LOG_WARN, "notify.failed", "reason", diag.text,
			             NULL);
		n->last_send_failed = 1;
		return;
	}
	n->last_send_failed = 0;
}

/* A newline in a value would start another assignment of the datagram (READY=1, MAINPID=):
 * every control byte becomes a space. */
static void one_line(char *text)
{
	for (; *text; text++)
		if ((unsigned char)*text < 0x20 || *text == 0x7f)
			*text = ' ';
}

/* The one-line STATUS= summary (systemctl status shows it). */
static void build_status(const struct jitrd_notify *n, const struct jitrd_notify_view *view,
                         char *out, size_t size)
{
	const char *state = view->ready ? "ready" : "not ready";
	const char *reason = !view->ready && view->not_ready ? view->not_ready : "";

	char unhealthy[200];

	if (!view->healthy) {
		snprintf(unhealthy, sizeof(unhealthy), "unhealthy (%.140s; watchdog pings stopped)",
		         view->unhealthy ? view->unhealthy : "a worker thread ended");
		state = unhealthy;
	} else if (!n->ready_sent)
		state = "starting, waiting for readiness";
	snprintf(out, size, "%s%s%.160s; %" PRIu64 " events handled; last reload: %s", state,
	         *reason ? ": " : "", reason, view->events,
	         n->last_reload[0] ? n->last_reload : "none");
	one_line(out);
}

int64_t jitrd_notify_tick(struct jitrd_notify *n, const struct jitrd_notify_view *view,
                          int64_t now_ms)
{
	char message[JITRD_NOTIFY_MESSAGE_MAX];
	char status[JITRD_NOTIFY_STATUS_MAX];
	size_t used = 0;
	int64_t wait = JITRD_NOTIFY_TICK_MAX_MS;

	if (!jitrd_notify_enabled(n) || !view)
		return wait;
	message[0] = '\0';
	/* sd_notify(3): READY=1 tells the manager start-up is finished; only once, here. */
	if (view->ready && !n->ready_sent) {
		n->ready_sent = 1;
		used += (size_t)snprintf(message + used, sizeof(message) - used, "READY=1\n");
	}
	n->events = view->events;
	n->healthy = view->healthy;
	build_status(n, view, status, sizeof(status));
	if (strcmp(status, n->status) != 0) {
		memcpy(n->status, status, sizeof(status));
		used +=
		    (size_t)snprintf(message + used, sizeof(message) - used, "STATUS=%s\n", status);
	}
	if (n->watchdog_ms > 0 && now_ms >= n->next_ping_ms) {
		/* No ping while unhealthy: the manager's WatchdogSec= then restarts us. */
		if (view->healthy && used < sizeof(message))
			used += (size_t)snprintf(message + used, sizeof(message) - used,
			                         "WATCHDOG=1\n");
		n->next_ping_ms = now_ms + n->watchdog_ms;
	}
	if (used > 0)
		send_logged(n, message);
	if (!n->ready_sent)
		wait = JITRD_NOTIFY_WAIT_MS;
	if (n->watchdog_ms > 0 && n->next_ping_ms - now_ms < wait)
		wait = n->next_ping_ms - now_ms;
	return wait > 0 ? wait : 1;
}

void jitrd_notify_reloading(struct jitrd_notify *n, uint64_t now_usec)
{
	char message[128];

	if (!jitrd_notify_enabled(n) || !n->ready_sent)
		return;
	/* sd_notify(3): systemd 253+ pairs RELOADING=1 with the CLOCK_MONOTONIC time. */
	snprintf(message, sizeof(message), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64 "\n", now_usec);
	n->reloading = 1;
	send_logged(n, message);
}

void jitrd_notify_reloaded(struct jitrd_notify *n, int ok, const char *trigger, time_t wall_now)
{
	char message[JITRD_NOTIFY_MESSAGE_MAX];
	struct tm tm;
	char when[32] = "?";

	if (!n)
		return;
	if (gmtime_r(&wall_now, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(n->last_reload, sizeof(n->last_reload), "%s %.32s %s", when,
	         trigger ? trigger : "?", ok ? "ok" : "failed, previous snapshot kept");
	one_line(n->last_reload);
	if (!jitrd_notify_enabled(n) || !n->reloading)
		return;
	n->reloading = 0;
	/* The manager waits for READY=1 to end `systemctl reload`, also after a failed reload
	 * (the service goes on with its previous snapshot); STATUS= says which. */
	snprintf(n->status, sizeof(n->status), "ready; %" PRIu64 " events handled; last reload: %s",
	         n->events, n->last_reload);
	snprintf(message, sizeof(message), "READY=1\nSTATUS=%s\n", n->status);
	send_logged(n, message);
}

void jitrd_notify_stopping(struct jitrd_notify *n, const char *signal_name)
{
	char message[JITRD_NOTIFY_MESSAGE_MAX];

	if (!jitrd_notify_enabled(n))
		return;
	snprintf(n->status, sizeof(n->status),
	         "stopping (%.32s): finishing in-flight events; %" PRIu64 " events handled",
	         signal_name ? signal_name : "signal", n->events);
	one_line(n->status);
	snprintf(message, sizeof(message), "STOPPING=1\nSTATUS=%s\n", n->status);
	send_logged(n, message);
}
