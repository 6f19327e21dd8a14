/* http_status.c — /healthz, /readyz and /metrics over libmicrohttpd, on its own thread.
 * It answers from the metrics snapshot and the caller's readiness callback only; it reads no
 * request body, keeps no state per client and serves nothing but these three paths. */
#include "jitrd/http_status.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "jitrd/clock.h"

/* Slow clients (a header line every few seconds, each resetting the idle timeout) must not
 * crowd out a health probe. libmicrohttpd's internal thread polls every connection with
 * epoll, so many idle connections cost no thread; the global limit is high, one address may
 * hold only PER_ADDRESS_LIMIT of them, and REQUEST_SECONDS bounds a whole request (the idle
 * timeout alone never ends a trickle): the reaper shuts down any connection whose request
 * has not been answered within it. A local health checker shares the loopback address with
 * any local trickler, so the per-address limit stays well above what a probe needs. */
#define CONNECTION_LIMIT     256
#define PER_ADDRESS_LIMIT    64
#define IDLE_TIMEOUT_SECONDS 5
#define REQUEST_SECONDS      5
#define REAPER_PERIOD_MS     250
/* Request line and headers of a health probe or a scraper fit easily; more is refused. */
#define CONNECTION_MEMORY 16384
#define REASON_MAX        256
#define LISTEN_MAX        128

/* One open connection, from libmicrohttpd's STARTED notification to its CLOSED one. */
struct tracked {
	struct MHD_Connection *connection;
	int fd;
	int64_t since_ms; /* accepted, or its last request answered (monotonic) */
	int in_use;
	int reaped;
};

struct jitrd_http_status {
	struct MHD_Daemon *daemon;
	struct jitrd_metrics *metrics;
	jitrd_ready_fn ready;
	void *ready_ctx;
	unsigned port;

	/* Guards tracked[] and stop; the CLOSED notification removes a connection under it
	 * before libmicrohttpd closes its socket, so the reaper never touches a closed fd. */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int lock_ready;
	pthread_t reaper;
	int reaper_started;
	int stop;
	struct tracked tracked[CONNECTION_LIMIT];
	unsigned long reaped; /* connections closed for taking too long */
};

/* MHD_OPTION_NOTIFY_CONNECTION, on libmicrohttpd's thread. */
static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	struct jitrd_http_status *server = cls;

	pthread_mutex_lock(&server->lock);
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *info =
		    MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);

		*socket_context = NULL;
		for (size_t i = 0; info && i < CONNECTION_LIMIT; i++) {
			struct tracked *t = &server->tracked[i];
			if (t->in_use)
				continue;
			t->connection = connection;
			t->fd = info->connect_fd;
			t->since_ms = jitrd_clock_mono_ms();
			t->in_use = 1;
			t->reaped = 0;
			*socket_context = t;
			break;
		}
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
		struct tracked *t = *socket_context;

		memset(t, 0, sizeof(*t));
		*socket_context = NULL;
	}
	pthread_mutex_unlock(&server->lock);
}

/* A request was answered: the connection's clock starts again for its next request. */
static void request_answered(struct jitrd_http_status *server, struct MHD_Connection *connection)
{
	const union MHD_ConnectionInfo *info =
	    MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	if (!info || !info->socket_context)
		return;
	pthread_mutex_lock(&server->lock);
	((struct tracked *)info->socket_context)->since_ms = jitrd_clock_mono_ms();
	pthread_mutex_unlock(&server->lock);
}

/* Shuts down (does not close: the socket stays libmicrohttpd's) every connection whose request
 * has taken more than REQUEST_SECONDS; libmicrohttpd then sees the end and closes it. */
static void *reaper_main(void *arg)
{
	struct jitrd_http_status *server = arg;

	pthread_mutex_lock(&server->lock);
	while (!server->stop) {
		int64_t now = jitrd_clock_mono_ms();
		struct timespec until = jitrd_clock_mono_at(now + REAPER_PERIOD_MS);

		for (size_t i = 0; i < CONNECTION_LIMIT; i++) {
			struct tracked *t = &server->tracked[i];
			if (t->in_use && !t->reaped &&
			    now - t->since_ms > (int64_t)REQUEST_SECONDS * 1000) {
				(void)shutdown(t->fd, SHUT_RDWR);
				t->reaped = 1;
				server->reaped++;
			}
		}
		pthread_cond_timedwait(&server->wake, &server->lock, &until);
	}
	pthread_mutex_unlock(&server->lock);
	return NULL;
}

static enum MHD_Result respond(struct MHD_Connection *connection, unsigned status,
                               const char *content_type, char *body, size_t len,
                               enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *response = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result queued;

	if (!response) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	if (MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) !=
	        MHD_YES ||
	    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") !=
	        MHD_YES ||
	    (status == MHD_HTTP_METHOD_NOT_ALLOWED &&
	     MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") != MHD_YES)) {
		MHD_destroy_response(response);
		return MHD_NO;
	}
	queued = MHD_queue_response(connection, status, response);
	MHD_destroy_response(response);
	return queued;
}

static enum MHD_Result respond_text(struct MHD_Connection *connection, unsigned status,
                                    const char *text)
{
	return respond(connection, status, "text/plain; charset=utf-8", (char *)text, strlen(text),
	               MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result serve_readyz(struct jitrd_http_status *server,
                                    struct MHD_Connection *connection)
{
	char reason[REASON_MAX] = "";
	char body[REASON_MAX + 16];

	if (!server->ready || server->ready(server->ready_ctx, reason, sizeof(reason)) == 1)
		return respond_text(connection, MHD_HTTP_OK, "ready\n");
	reason[sizeof(reason) - 1] = '\0';
	snprintf(body, sizeof(body), "not ready: %s\n", reason[0] ? reason : "unknown");
	return respond(connection, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", body,
	               strlen(body), MHD_RESPMEM_MUST_COPY);
}

static enum MHD_Result serve_metrics(struct jitrd_http_status *server,
                                     struct MHD_Connection *connection)
{
	struct jitrd_metrics_snapshot *snapshot = malloc(sizeof(*snapshot));
	char *text = NULL;
	size_t len = 0;
	enum jitrd_err err;

	if (!snapshot)
		return respond_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	/* Copy under the registry's lock, render outside it. */
	jitrd_metrics_snapshot(server->metrics, snapshot);
	err = jitrd_metrics_render(snapshot, &text, &len);
	free(snapshot);
	if (err != JITRD_OK)
		return respond_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
		                    "cannot render metrics\n");
	return respond(connection, MHD_HTTP_OK, JITRD_METRICS_CONTENT_TYPE, text, len,
	               MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *connection, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
	struct jitrd_http_status *server = cls;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	request_answered(server, connection);
	/* Answer at the first call, before any body: nothing here takes one. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return respond_text(connection, MHD_HTTP_METHOD_NOT_ALLOWED,
		                    "method not allowed\n");
	if (strcmp(url, "/healthz") == 0)
		return respond_text(connection, MHD_HTTP_OK, "ok\n");
	if (strcmp(url, "/readyz") == 0)
		return serve_readyz(server, connection);
	if (strcmp(url, "/metrics") == 0)
		return serve_metrics(server, connection);
	return respond_text(connection, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* "host:port" or "[v6]:port"; the host a numeric address, "localhost" (127.0.0.1) or empty
 * (every IPv4 address). */
static enum jitrd_err parse_listen(const char *listen, struct sockaddr_storage *addr, int *ipv6,
                                   struct jitrd_diag *diag)
{
	char host[LISTEN_MAX];
	const char *colon, *port_text;
	size_t host_len;
	char *end = NULL;
	long port;
	struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;

	if (strlen(listen) >= LISTEN_MAX)
		goto bad;
	colon = strrchr(listen, ':');
	if (!colon)
		goto bad;
	port_text = colon + 1;
	if (listen[0] == '[') {
		if (colon == listen || colon[-1] != ']')
			goto bad;
		host_len = (size_t)(colon - listen) - 2;
		memcpy(host, listen + 1, host_len);
	} else {
		host_len = (size_t)(colon - listen);
		memcpy(host, listen, host_len);
	}
	host[host_len] = '\0';
	if (*port_text < '0' || *port_text > '9')
		goto bad;
	errno = 0;
	port = strtol(port_text, &end, 10);
	if (errno != 0 || *end != '\0' || port < 0 || port > 65535)
		goto bad;
	memset(addr, 0, sizeof(*addr));
	if (listen[0] == '[') {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &v6->sin6_addr) != 1)
			goto bad;
		*ipv6 = 1;
		return JITRD_OK;
	}
	v4->sin_family = AF_INET;
	v4->sin_port = htons((uint16_t)port);
	if (host[0] == '\0')
		v4->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (strcmp(host, "localhost") == 0)
		v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, host, &v4->sin_addr) != 1)
		goto bad;
	*ipv6 = 0;
	return JITRD_OK;
bad : {
	char quoted[LISTEN_MAX];

	jitrd_quote(quoted, sizeof(quoted), listen, strlen(listen));
	jitrd_diag_set(diag,
	               "service.listen \"%s\": expected host:port with a numeric address "
	               "(e.g. 127.0.0.1:9464, [::1]:9464) and a port 0..65535",
	               quoted);
	return JITRD_ERR_CONFIG;
}
}

enum jitrd_err jitrd_http_status_start(const struct jitrd_http_status_options *options,
                                       struct jitrd_http_status **out, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_http_status *server = NULL;
	struct sockaddr_storage addr;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD;
	int ipv6 = 0;

	if (!options || !options->listen || !out)
		goto cleanup;
	result = parse_listen(options->listen, &addr, &ipv6, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = JITRD_ERR_NOMEM;
	server = calloc(1, sizeof(*server));
	if (!server)
		goto cleanup;
	server->metrics = options->metrics;
	server->ready = options->ready;
	server->ready_ctx = options->ready_ctx;
	if (pthread_mutex_init(&server->lock, NULL) != 0)
		goto cleanup;
	/* The reaper's waits are measured on the monotonic clock, as its deadlines are. */
	if (jitrd_clock_cond_init(&server->wake) != JITRD_OK) {
		pthread_mutex_destroy(&server->lock);
		goto cleanup;
	}
	server->lock_ready = 1;
	if (ipv6)
		flags |= MHD_USE_IPv6;
	/* The port argument is ignored when MHD_OPTION_SOCK_ADDR is given. */
	server->daemon = MHD_start_daemon(
	    flags, 0, NULL, NULL, handle, server, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_ADDRESS_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_SECONDS,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, server, MHD_OPTION_END);
	if (!server->daemon) {
		int saved = errno;

		jitrd_diag_set(diag, "service.listen %s: cannot listen: %s", options->listen,
		               saved ? strerror(saved) : "libmicrohttpd refused to start");
		result = JITRD_ERR_IO;
		goto cleanup;
	}
	info = MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || info->port == 0) {
		jitrd_diag_set(diag, "service.listen %s: cannot read the bound port",
		               options->listen);
		result = JITRD_ERR_IO;
		goto cleanup;
	}
	server->port = info->port;
	if (pthread_create(&server->reaper, NULL, reaper_main, server) != 0) {
		jitrd_diag_set(diag, "service.listen %s: cannot start a thread", options->listen);
		result = JITRD_ERR_NOMEM;
		goto cleanup;
	}
	server->reaper_started = 1;
	*out = server;
	server = NULL;
	result = JITRD_OK;
cleanup:
	jitrd_http_status_stop(server);
	return result;
}

unsigned jitrd_http_status_port(const struct jitrd_http_status *server)
{
	return server ? server->port : 0;
}

void jitrd_http_status_stop(struct jitrd_http_status *server)
{
	if (!server)
		return;
	if (server->reaper_started) {
		pthread_mutex_lock(&server->lock);
		server->stop = 1;
		pthread_cond_broadcast(&server->wake);
		pthread_mutex_unlock(&server->lock);
		pthread_join(server->reaper, NULL);
	}
	if (server->daemon)
		MHD_stop_daemon(server->daemon);
	if (server->lock_ready) {
		pthread_cond_destroy(&server->wake);
		pthread_mutex_destroy(&server->lock);
	}
	free(server);
}
