/* test_notify.c — the sd_notify datagram protocol of notify.c against sockets bound here (a
 * path and an abstract name): environment parsing (good, hostile, oversized), what each call
 * sends and when (READY once, watchdog pacing and its silence while unhealthy, reload and
 * stop), and that outputs stay untouched on error. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "jitrd/notify.h"
#include "testsupport.h"

#define SENTINEL ((struct jitrd_notify *)0x1)

struct listener {
	int fd;
	char name[108]; /* as NOTIFY_SOCKET says it */
	char env[128];  /* "NOTIFY_SOCKET=..." */
};

/* Binds a datagram socket: abstract ("@jitrd-test-PID-N") or a path under /tmp. */
static int listener_open(struct listener *l, int abstract)
{
	static int counter;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	socklen_t len;

	memset(l, 0, sizeof(*l));
	l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		return -1;
	counter++;
	if (abstract)
		snprintf(l->name, sizeof(l->name), "@jitrd-test-%ld-%d", (long)getpid(), counter);
	else
		snprintf(l->name, sizeof(l->name), "/tmp/jitrd-notify-%ld-%d.sock", (long)getpid(),
		         counter);
	memcpy(addr.sun_path, l->name, strlen(l->name));
	if (abstract) {
		addr.sun_path[0] = '\0';
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(l->name));
	} else {
		unlink(l->name);
		len = (socklen_t)sizeof(addr);
	}
	if (bind(l->fd, (struct sockaddr *)&addr, len) != 0) {
		close(l->fd);
		return -1;
	}
	snprintf(l->env, sizeof(l->env), "NOTIFY_SOCKET=%s", l->name);
	return 0;
}

static void listener_close(struct listener *l)
{
	close(l->fd);
	if (l->name[0] == '/')
		unlink(l->name);
}

/* The next datagram within 1 s into out (NUL-terminated); -1 when none came. */
static int receive(struct listener *l, char *out, size_t size)
{
	struct pollfd pfd = {.fd = l->fd, .events = POLLIN};
	ssize_t n;

	if (poll(&pfd, 1, 1000) != 1)
		return -1;
	n = recv(l->fd, out, size - 1, 0);
	if (n < 0)
		return -1;
	out[n] = '\0';
	return 0;
}

/* 1 when no datagram is waiting. */
static int nothing_sent(struct listener *l)
{
	struct pollfd pfd = {.fd = l->fd, .events = POLLIN};

	return poll(&pfd, 1, 50) == 0;
}

static struct jitrd_notify *open_notify(const char *const *envp)
{
	struct jitrd_notify *n = NULL;
	struct jitrd_diag diag = {{0}};

	CU_ASSERT_EQUAL_FATAL(jitrd_notify_new(envp, 4242, NULL, &n, &diag), JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	return n;
}

static void test_no_socket_is_silent(void)
{
	const char *envp[] = {"PATH=/bin", "WATCHDOG_USEC=2000000", NULL};
	struct jitrd_notify_view view = {.ready = 1, .healthy = 1};
	struct jitrd_notify *n = open_notify(envp);

	CU_ASSERT_EQUAL(jitrd_notify_enabled(n), 0);
	CU_ASSERT_EQUAL(jitrd_notify_watchdog_ms(n), 0);
	CU_ASSERT_EQUAL(jitrd_notify_send(n, "READY=1", NULL), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_notify_tick(n, &view, 0), JITRD_NOTIFY_TICK_MAX_MS);
	jitrd_notify_reloading(n, 1);
	jitrd_notify_reloaded(n, 1, "SIGHUP", 0);
	jitrd_notify_stopping(n, "SIGTERM");
	jitrd_notify_free(n);
	/* NULL everywhere is fine */
	CU_ASSERT_EQUAL(jitrd_notify_enabled(NULL), 0);
	CU_ASSERT_EQUAL(jitrd_notify_tick(NULL, &view, 0), JITRD_NOTIFY_TICK_MAX_MS);
	CU_ASSERT_STRING_EQUAL(jitrd_notify_status(NULL), "");
	jitrd_notify_reloading(NULL, 1);
	jitrd_notify_reloaded(NULL, 1, "SIGHUP", 0);
	jitrd_notify_stopping(NULL, "SIGTERM");
	jitrd_notify_free(NULL);
}

/* Table: environments that are refused, each leaving *out untouched. */
static void test_bad_environment(void)
{
	static const struct {
		const char *socket;
		const char *usec;
		const char *pid;
		enum jitrd_err expected;
		const char *diag_has;
	} cases[] = {
	    {"relative/path", NULL, NULL, JITRD_ERR_CONFIG, "absolute"},
	    {"", NULL, NULL, JITRD_ERR_CONFIG, "absolute"},
	    {"@", NULL, NULL, JITRD_ERR_CONFIG, "bytes"},
	    {"/", NULL, NULL, JITRD_ERR_CONFIG, "bytes"},
	    {"vsock:2:1234", NULL, NULL, JITRD_ERR_CONFIG, "absolute"},
	    {"/run/x", "", NULL, JITRD_ERR_CONFIG, "WATCHDOG_USEC"},
	    {"/run/x", "-5", NULL, JITRD_ERR_CONFIG, "WATCHDOG_USEC"},
	    {"/run/x", " 5", NULL, JITRD_ERR_CONFIG, "WATCHDOG_USEC"},
	    {"/run/x", "5s", NULL, JITRD_ERR_CONFIG, "WATCHDOG_USEC"},
	    {"/run/x", "99999999999999999999999", NULL, JITRD_ERR_CONFIG, "WATCHDOG_USEC"},
	    {"/run/x", "18446744073709551615", NULL, JITRD_ERR_CONFIG, "WATCHDOG_USEC"},
	    {"/run/x", "2000000", "x1", JITRD_ERR_CONFIG, "WATCHDOG_PID"},
	    {"/run/x", "2000000", "", JITRD_ERR_CONFIG, "WATCHDOG_PID"},
	};
	char long_path[200];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char env_socket[256], env_usec[64], env_pid[64];
		const char *envp[4] = {NULL};
		size_t k = 0;
		struct jitrd_notify *n = SENTINEL;
		struct jitrd_diag diag = {{0}};

		snprintf(env_socket, sizeof(env_socket), "NOTIFY_SOCKET=%s", cases[i].socket);
		envp[k++] = env_socket;
		if (cases[i].usec) {
			snprintf(env_usec, sizeof(env_usec), "WATCHDOG_USEC=%s", cases[i].usec);
			envp[k++] = env_usec;
		}
		if (cases[i].pid) {
			snprintf(env_pid, sizeof(env_pid), "WATCHDOG_PID=%s", cases[i].pid);
			envp[k++] = env_pid;
		}
		CU_ASSERT_EQUAL(jitrd_notify_new(envp, 4242, NULL, &n, &diag), cases[i].expected);
		CU_ASSERT_PTR_EQUAL(n, SENTINEL);
		CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, cases[i].diag_has));
	}

	/* a path longer than sun_path holds, and a hostile byte quoted in the message */
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	{
		char env[256];
		const char *envp[] = {env, NULL};
		struct jitrd_notify *n = SENTINEL;
		struct jitrd_diag diag = {{0}};

		snprintf(env, sizeof(env), "NOTIFY_SOCKET=%s", long_path);
		CU_ASSERT_EQUAL(jitrd_notify_new(envp, 1, NULL, &n, &diag), JITRD_ERR_CONFIG);
		CU_ASSERT_PTR_EQUAL(n, SENTINEL);
		CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "199 bytes"));

		const char *hostile[] = {"NOTIFY_SOCKET=x\x1b[2J", NULL};
		CU_ASSERT_EQUAL(jitrd_notify_new(hostile, 1, NULL, &n, &diag), JITRD_ERR_CONFIG);
		CU_ASSERT_PTR_EQUAL(n, SENTINEL);
		CU_ASSERT_PTR_NULL(strchr(diag.text, '\x1b'));
	}
	CU_ASSERT_EQUAL(jitrd_notify_new(NULL, 1, NULL, NULL, NULL), JITRD_ERR_INVALID_ARG);
}

/* Table: WATCHDOG_USEC / WATCHDOG_PID to the ping interval. */
static void test_watchdog_interval(void)
{
	static const struct {
		const char *usec;
		const char *pid;
		int64_t expected_ms;
	} cases[] = {
	    {NULL, NULL, 0},           {"2000000", NULL, 1000}, {"2000000", "4242", 1000},
	    {"2000000", "4243", 0},    {"0", NULL, 0},          {"1", NULL, 1},
	    {"30000000", NULL, 15000}, {"3001", NULL, 1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char env_usec[64], env_pid[64];
		const char *envp[4] = {"NOTIFY_SOCKET=/run/jitrd-test-unused", NULL};
		size_t k = 1;
		struct jitrd_notify *n;

		if (cases[i].usec) {
			snprintf(env_usec, sizeof(env_usec), "WATCHDOG_USEC=%s", cases[i].usec);
			envp[k++] = env_usec;
		}
		if (cases[i].pid) {
			snprintf(env_pid, sizeof(env_pid), "WATCHDOG_PID=%s", cases[i].pid);
			envp[k++] = env_pid;
		}
		n = open_notify(envp);
		CU_ASSERT_EQUAL(jitrd_notify_enabled(n), 1);
		CU_ASSERT_EQUAL(jitrd_notify_watchdog_ms(n), cases[i].expected_ms);
		jitrd_notify_free(n);
	}
}

static void check_send(int abstract)
{
	struct listener l;
	char got[2048], big[JITRD_NOTIFY_MESSAGE_MAX + 2];
	struct jitrd_diag diag = {{0}};

	CU_ASSERT_EQUAL_FATAL(listener_open(&l, abstract), 0);
	{
		const char *envp[] = {"HOME=/", l.env, NULL};
		struct jitrd_notify *n = open_notify(envp);

		CU_ASSERT_EQUAL(jitrd_notify_send(n, "STATUS=hello\nREADY=1\n", &diag), JITRD_OK);
		CU_ASSERT_EQUAL(receive(&l, got, sizeof(got)), 0);
		CU_ASSERT_STRING_EQUAL(got, "STATUS=hello\nREADY=1\n");
		/* oversized: refused, nothing sent */
		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		CU_ASSERT_EQUAL(jitrd_notify_send(n, big, &diag), JITRD_ERR_TOO_LARGE);
		CU_ASSERT_TRUE(nothing_sent(&l));
		CU_ASSERT_EQUAL(jitrd_notify_send(n, NULL, &diag), JITRD_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(jitrd_notify_send(NULL, "READY=1", &diag), JITRD_ERR_INVALID_ARG);
		jitrd_notify_free(n);
	}
	listener_close(&l);
}

static void test_send_path(void)
{
	check_send(0);
}

static void test_send_abstract(void)
{
	check_send(1);
}

static void test_send_nobody_listening(void)
{
	const char *envp[] = {"NOTIFY_SOCKET=/tmp/jitrd-notify-nobody-listens.sock", NULL};
	struct jitrd_notify_view view = {.ready = 1, .healthy = 1};
	struct jitrd_diag diag = {{0}};
	struct jitrd_notify *n;

	unlink("/tmp/jitrd-notify-nobody-listens.sock");
	n = open_notify(envp);
	CU_ASSERT_EQUAL(jitrd_notify_send(n, "READY=1", &diag), JITRD_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "sendto"));
	/* the service goes on: tick still paces the loop */
	CU_ASSERT_EQUAL(jitrd_notify_tick(n, &view, 0), JITRD_NOTIFY_TICK_MAX_MS);
	jitrd_notify_free(n);
}

/* READY once, and only when ready; STATUS only when it changes; the wait before READY. */
static void test_ready_once(void)
{
	struct listener l;
	char got[2048];

	CU_ASSERT_EQUAL_FATAL(listener_open(&l, 1), 0);
	{
		const char *envp[] = {l.env, NULL};
		struct jitrd_notify *n = open_notify(envp);
		struct jitrd_notify_view view = {
		    .ready = 0, .not_ready = "not subscribed to the MQTT topic", .healthy = 1};

		CU_ASSERT_EQUAL(jitrd_notify_tick(n, &view, 10), JITRD_NOTIFY_WAIT_MS);
		CU_ASSERT_EQUAL(receive(&l, got, sizeof(got)), 0);
		CU_ASSERT_STRING_EQUAL(got,
		                       "STATUS=starting, waiting for readiness: not subscribed "
		                       "to the MQTT topic; 0 events handled; last reload: "
		                       "none\n");
		/* same view: nothing new to say */
		CU_ASSERT_EQUAL(jitrd_notify_tick(n, &view, 20), JITRD_NOTIFY_WAIT_MS);
		CU_ASSERT_TRUE(nothing_sent(&l));
		/* a SIGHUP before READY: no RELOADING, no READY, but the reload is remembered */
		jitrd_notify_reloading(n, 5);
		jitrd_notify_reloaded(n, 0, "SIGHUP", 1906502400);
		CU_ASSERT_TRUE(nothing_sent(&l));

		view.ready = 1;
		view.events = 3;
		CU_ASSERT_EQUAL(jitrd_notify_tick(n, &view, 30), JITRD_NOTIFY_TICK_MAX_MS);
		CU_ASSERT_EQUAL(receive(&l, got, sizeof(got)), 0);
		CU_ASSERT_STRING_EQUAL(got, "READY=1\nSTATUS=ready; 3 events handled; last reload: "
		                            "2030-06-01T00:00:00Z SIGHUP failed, previous snapshot "
		                            "kept\n");
		CU_ASSERT_STRING_EQUAL(jitrd_notify_status(n),
		                       "ready; 3 events handled; last reload: 2030-06-01T00:00:00Z "
		                       "SIGHUP failed, previous snapshot kept");
		/* readiness lost (broker away) and back: no second READY */
		view.ready = 0;
		view.not_ready = "not subscribed to the MQTT topic";
		jitrd_notify_tick(n, &view, 40);
		CU_ASSERT_EQUAL(receive(&l, got, sizeof(got)), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(got, "STATUS=not ready: not subscribed"));
		CU_ASSERT_PTR_NULL(strstr(got, "READY=1"));
		view.ready = 1;
		jitrd_notify_tick(n, &view, 50);
		CU_ASSERT_EQUAL(receive(&l, got, sizeof(got)), 0);
		CU_ASSERT_PTR_NULL(strstr(got, "READY=1"));
		CU_ASSERT_PTR_NOT_NULL(strstr(got, "STATUS=ready; 3 events"));
		jitrd_notify_free(n);
	}
	listener_close(&l);
}

/* Pings every interval while healthy, none while unhealthy; the wait never passes a ping. */
static void test_watchdog_pacing(void)
{
	struct listener l;
	char got[2048], env_usec[] = "WATCHDOG_USEC=2000000";

	CU_ASSERT_EQUAL_FATAL(listener_open(&l, 1), 0);
	{
		const char *envp[] = {l.env, env_usec, NULL};
		struct jitrd_notify *n = open_notify(envp);
		struct jitrd_notify_view view = {.ready = 1, .healthy = 1};

		CU_ASSERT_EQUAL(jitrd_notify_watchdog_ms(n), 1000);
		CU_ASSERT_EQUAL(jitrd_notify_tick(n, &view, 5000), 1000);
		CU_ASSERT_EQUAL(receive(&l, got, sizeof(got)), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(got, "READY=1\n"));
		CU_ASSERT_PTR_NOT_NULL(strstr(got, "WATCHDOG=1\n"));
		/* 400 ms later: not due, wait the rest */
		CU_ASSERT_EQUAL(jitrd_notify_tick(n, &view, 5400), 600);
		CU_ASSERT_TRUE(nothing_sent(&l));
		CU_ASSERT_EQUAL(jitrd_notify_tick(n, &view, 6000), 1000);
		CU_ASSERT_EQUAL(receive(&l, got, sizeof(got)), 0);
		CU_ASSERT_STRING_EQUAL(got, "WATCHDOG=1\n");
		/* unhealthy: the status says so, and no ping */
		view.healthy = 0;
		CU_ASSERT_EQUAL(jitrd_notify_tick(n, &view, 7000), 1000);
		CU_ASSERT_EQUAL(receive(&l, got, sizeof(got)), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(got, "STATUS=unhealthy"));
		CU_ASSERT_PTR_NULL(strstr(got, "WATCHDOG=1"));
		CU_ASSERT_EQUAL(jitrd_notify_tick(n, &view, 8000), 1000);
		CU_ASSERT_TRUE(nothing_sent(&l));
		/* a tick late by far: one ping, not a burst */
		view.healthy = 1;
		jitrd_notify_tick(n, &view, 60000);
		CU_ASSERT_EQUAL(receive(&l, got, sizeof(got)), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(got, "WATCHDOG=1\n"));
		CU_ASSERT_EQUAL(jitrd_notify_tick(n, &view, 60001), 999);
		CU_ASSERT_TRUE(nothing_sent(&l));
		jitrd_notify_free(n);
	}
	listener_close(&l);
}

static void test_reload_and_stop(void)
{
	struct listener l;
	char got[2048];

	CU_ASSERT_EQUAL_FATAL(listener_open(&l, 0), 0);
	{
		const char *envp[] = {l.env, NULL};
		struct jitrd_notify *n = open_notify(envp);
		struct jitrd_notify_view view = {.ready = 1, .healthy = 1, .events = 7};

		jitrd_notify_tick(n, &view, 0);
		CU_ASSERT_EQUAL(receive(&l, got, sizeof(got)), 0);
		jitrd_notify_reloading(n, 123456789);
		CU_ASSERT_EQUAL(receive(&l, got, sizeof(got)), 0);
		CU_ASSERT_STRING_EQUAL(got, "RELOADING=1\nMONOTONIC_USEC=123456789\n");
		jitrd_notify_reloaded(n, 1, "SIGHUP", 1906502400);
		CU_ASSERT_EQUAL(receive(&l, got, sizeof(got)), 0);
		CU_ASSERT_STRING_EQUAL(got, "READY=1\nSTATUS=ready; 7 events handled; last reload: "
		                            "2030-06-01T00:00:00Z SIGHUP ok\n");
		/* the next tick sees the same summary: no repeat */
		jitrd_notify_tick(n, &view, 10);
		CU_ASSERT_TRUE(nothing_sent(&l));
		/* a timer reload: remembered, no RELOADING/READY pair */
		jitrd_notify_reloaded(n, 1, "timer", 1906502460);
		CU_ASSERT_TRUE(nothing_sent(&l));
		jitrd_notify_tick(n, &view, 20);
		CU_ASSERT_EQUAL(receive(&l, got, sizeof(got)), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(got, "2030-06-01T00:01:00Z timer ok"));
		jitrd_notify_stopping(n, "SIGTERM");
		CU_ASSERT_EQUAL(receive(&l, got, sizeof(got)), 0);
		CU_ASSERT_STRING_EQUAL(got, "STOPPING=1\nSTATUS=stopping (SIGTERM): finishing "
		                            "in-flight events; 7 events handled\n");
		jitrd_notify_free(n);
	}
	listener_close(&l);
}

/* A hostile not-ready reason cannot break the datagram into extra assignments. */
static void test_status_is_one_line(void)
{
	struct listener l;
	char got[2048];

	CU_ASSERT_EQUAL_FATAL(listener_open(&l, 1), 0);
	{
		const char *envp[] = {l.env, NULL};
		struct jitrd_notify *n = open_notify(envp);
		struct jitrd_notify_view view = {
		    .ready = 0, .not_ready = "no valid CRL\nREADY=1\nMAINPID=1", .healthy = 1};

		jitrd_notify_tick(n, &view, 0);
		CU_ASSERT_EQUAL(receive(&l, got, sizeof(got)), 0);
		CU_ASSERT_PTR_NULL(strstr(got, "\nREADY=1"));
		CU_ASSERT_PTR_NULL(strstr(got, "\nMAINPID"));
		CU_ASSERT_EQUAL(strchr(got, '\n'), got + strlen(got) - 1);
		jitrd_notify_free(n);
	}
	listener_close(&l);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"no NOTIFY_SOCKET: every call a no-op", test_no_socket_is_silent},
	    {"bad environments refused, output untouched", test_bad_environment},
	    {"WATCHDOG_USEC and WATCHDOG_PID", test_watchdog_interval},
	    {"send to a path socket", test_send_path},
	    {"send to an abstract socket", test_send_abstract},
	    {"send with nobody listening", test_send_nobody_listening},
	    {"READY once, STATUS on change", test_ready_once},
	    {"watchdog pacing, silent while unhealthy", test_watchdog_pacing},
	    {"RELOADING/READY around a reload, STOPPING", test_reload_and_stop},
	    {"STATUS stays one line", test_status_is_one_line},
	    {NULL, NULL},
	};

	return tsupport_run("notify", cases);
}
