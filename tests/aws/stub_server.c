/* stub_server.c — see stub_server.h. Test-only: listens on 127.0.0.1 only, never anywhere
 * else; every loop is bounded by the test's own requests and stops with stub_stop/raw_stop. */
#define _GNU_SOURCE /* strcasestr */
#include "stub_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "jitrd/sigv4.h"

#define MAX_BODY (4 * 1024 * 1024)

struct stub_server {
	struct MHD_Daemon *daemon;
	stub_handler handler;
	void *ctx;
	char url[64];
	pthread_mutex_t lock;
	int requests;
	int connections;
};

struct pending {
	struct stub_request req;
	size_t cap;
	int too_big;
	int started; /* MHD's first call carries only the headers */
};

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
	struct pending *p = calloc(1, sizeof(*p));
	const char *q;

	(void)cls;
	(void)con;
	if (!p)
		return NULL;
	q = strchr(uri, '?');
	if (q) {
		snprintf(p->req.path, sizeof(p->req.path), "%.*s", (int)(q - uri), uri);
		snprintf(p->req.query, sizeof(p->req.query), "%s", q + 1);
	} else {
		snprintf(p->req.path, sizeof(p->req.path), "%s", uri);
	}
	return p;
}

static enum MHD_Result on_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
	struct stub_request *req = cls;

	(void)kind;
	if (req->header_count == STUB_MAX_HEADERS)
		return MHD_NO;
	snprintf(req->headers[req->header_count].name, sizeof(req->headers[0].name), "%s", key);
	snprintf(req->headers[req->header_count].value, sizeof(req->headers[0].value), "%s",
	         value ? value : "");
	req->header_count++;
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *con, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct pending *p = *req_cls;

	(void)cls;
	(void)con;
	(void)toe;
	if (p) {
		free(p->req.body);
		free(p);
	}
	*req_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *con, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
	struct stub_server *s = cls;

	(void)con;
	(void)socket_context;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		pthread_mutex_lock(&s->lock);
		s->connections++;
		pthread_mutex_unlock(&s->lock);
	}
}

/* MHD decodes %XX in the path by default; the raw URI comes from on_uri instead. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
	struct stub_server *s = cls;
	struct pending *p = *req_cls;
	struct stub_response answer = {.status = 200};
	struct MHD_Response *r;
	enum MHD_Result ok;

	(void)url;
	(void)version;
	if (!p)
		return MHD_NO;
	if (!p->started) {
		p->started = 1;
		return MHD_YES;
	}
	if (*upload_size) {
		if (p->req.body_len + *upload_size > MAX_BODY) {
			p->too_big = 1;
		} else {
			if (p->req.body_len + *upload_size + 1 > p->cap) {
				size_t cap = (p->req.body_len + *upload_size + 1) * 2;
				char *grown = realloc(p->req.body, cap);

				if (!grown)
					return MHD_NO;
				p->req.body = grown;
				p->cap = cap;
			}
			memcpy(p->req.body + p->req.body_len, upload, *upload_size);
			p->req.body_len += *upload_size;
			p->req.body[p->req.body_len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (!p->req.body) {
		p->req.body = calloc(1, 1);
		if (!p->req.body)
			return MHD_NO;
	}
	snprintf(p->req.method, sizeof(p->req.method), "%s", method);
	p->req.header_count = 0;
	MHD_get_connection_values(con, MHD_HEADER_KIND, on_header, &p->req);
	if (p->too_big) {
		answer.status = 413;
	} else {
		s->handler(s->ctx, &p->req, &answer);
	}
	if (answer.delay_ms)
		sleep_ms(answer.delay_ms);
	pthread_mutex_lock(&s->lock);
	s->requests++;
	pthread_mutex_unlock(&s->lock);
	r = MHD_create_response_from_buffer(answer.body ? strlen(answer.body) : 0,
	                                    (void *)(answer.body ? answer.body : ""),
	                                    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type",
	                        answer.content_type ? answer.content_type : "application/json");
	if (answer.error_type)
		MHD_add_response_header(r, "x-amzn-ErrorType", answer.error_type);
	ok = MHD_queue_response(con, (unsigned)answer.status, r);
	MHD_destroy_response(r);
	return ok;
}

struct stub_server *stub_start(stub_handler handler, void *ctx)
{
	struct stub_server *s = calloc(1, sizeof(*s));
	struct sockaddr_in addr = {.sin_family = AF_INET};
	const union MHD_DaemonInfo *info;

	if (!s)
		return NULL;
	s->handler = handler;
	s->ctx = ctx;
	pthread_mutex_init(&s->lock, NULL);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->daemon = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
	    NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_UNESCAPE_CALLBACK,
	    no_unescape, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
	if (!s->daemon) {
		free(s);
		return NULL;
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || info->port == 0) {
		MHD_stop_daemon(s->daemon);
		free(s);
		return NULL;
	}
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u", (unsigned)info->port);
	return s;
}

const char *stub_url(const struct stub_server *s)
{
	return s->url;
}

int stub_requests(struct stub_server *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->requests;
	pthread_mutex_unlock(&s->lock);
	return n;
}

int stub_connections(struct stub_server *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->connections;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void stub_stop(struct stub_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->daemon);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const char *stub_header(const struct stub_request *req, const char *name)
{
	for (size_t i = 0; i < req->header_count; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

int stub_verify_sigv4(const struct stub_request *req, const char *key_id, const char *secret,
                      const char *session_token, const char *region, const char *service)
{
	const char *auth = stub_header(req, "Authorization");
	const char *date = stub_header(req, "X-Amz-Date");
	struct jitrd_sigv4_header headers[STUB_MAX_HEADERS];
	struct jitrd_sigv4_credentials creds = {key_id, secret, session_token};
	struct jitrd_sigv4_result res = {0};
	struct jitrd_sigv4_request sreq = {0};
	struct jitrd_sigv4_scope scope = {region, service, 0};
	const char *sh;
	char signed_list[1024];
	size_t n = 0;
	int ok = -1;

	if (!auth || !date || jitrd_sigv4_parse_amz_date(date, &scope.when) != 0)
		return -1;
	sh = strstr(auth, "SignedHeaders=");
	if (!sh)
		return -1;
	sh += strlen("SignedHeaders=");
	snprintf(signed_list, sizeof(signed_list), "%.*s", (int)strcspn(sh, ","), sh);
	/* Give sign() exactly the signed headers it does not add itself. */
	for (char *name = signed_list, *next; name && *name; name = next) {
		next = strchr(name, ';');
		if (next)
			*next++ = '\0';
		if (strcmp(name, "x-amz-date") == 0 || strcmp(name, "x-amz-security-token") == 0)
			continue;
		headers[n].name = name;
		headers[n].value = stub_header(req, name);
		if (!headers[n].value)
			return -1;
		n++;
	}
	sreq.method = req->method;
	sreq.path = req->path;
	sreq.query = req->query;
	sreq.headers = headers;
	sreq.header_count = n;
	sreq.payload = (const unsigned char *)req->body;
	sreq.payload_len = req->body_len;
	sreq.normalize_path = 1;
	if (jitrd_sigv4_sign(&sreq, &creds, &scope, &res) != JITRD_OK)
		return -1;
	if (strcmp(res.authorization, auth) == 0)
		ok = 0;
	jitrd_sigv4_result_cleanup(&res);
	return ok;
}

/* ---- raw server ---- */

struct raw_server {
	int fd;
	int stop_pipe[2];
	pthread_t thread;
	struct raw_script script;
	char url[64];
	pthread_mutex_t lock;
	int requests;
};

/* Reads the request head and a Content-Length body; bounded by size and a 5 s poll. */
static void read_request(int fd)
{
	char buf[65536];
	size_t len = 0;
	long body = -1;

	while (len < sizeof(buf) - 1) {
		struct pollfd pfd = {fd, POLLIN, 0};
		ssize_t got;
		char *end;

		if (poll(&pfd, 1, 5000) <= 0)
			return;
		got = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (got <= 0)
			return;
		len += (size_t)got;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		if (body < 0) {
			const char *cl = strcasestr(buf, "\r\ncontent-length:");

			body = cl ? strtol(cl + 17, NULL, 10) : 0;
		}
		if (len >= (size_t)(end + 4 - buf) + (size_t)body)
			return;
	}
}

static void *raw_loop(void *arg)
{
	struct raw_server *s = arg;

	for (;;) {
		struct pollfd pfds[2] = {{s->fd, POLLIN, 0}, {s->stop_pipe[0], POLLIN, 0}};
		int c;

		if (poll(pfds, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfds[1].revents)
			break;
		if (!(pfds[0].revents & POLLIN))
			continue;
		c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		read_request(c);
		pthread_mutex_lock(&s->lock);
		s->requests++;
		pthread_mutex_unlock(&s->lock);
		if (s->script.delay_before_ms)
			sleep_ms(s->script.delay_before_ms);
		if (s->script.reply) {
			size_t n =
			    s->script.reply_len ? s->script.reply_len : strlen(s->script.reply);
			ssize_t w = send(c, s->script.reply, n, MSG_NOSIGNAL);

			(void)w;
		}
		if (s->script.keep_open_ms)
			sleep_ms(s->script.keep_open_ms);
		if (s->script.reset) {
			struct linger lg = {1, 0}; /* close with RST */

			setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(c);
	}
	return NULL;
}

struct raw_server *raw_start(const struct raw_script *script)
{
	struct raw_server *s = calloc(1, sizeof(*s));
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t alen = sizeof(addr);

	if (!s)
		return NULL;
	s->script = *script;
	pthread_mutex_init(&s->lock, NULL);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    listen(s->fd, 16) != 0 || getsockname(s->fd, (struct sockaddr *)&addr, &alen) != 0 ||
	    pipe(s->stop_pipe) != 0)
		goto fail;
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u", (unsigned)ntohs(addr.sin_port));
	if (pthread_create(&s->thread, NULL, raw_loop, s) != 0)
		goto fail;
	return s;
fail:
	if (s->fd >= 0)
		close(s->fd);
	free(s);
	return NULL;
}

const char *raw_url(const struct raw_server *s)
{
	return s->url;
}

int raw_requests(struct raw_server *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->requests;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void raw_stop(struct raw_server *s)
{
	ssize_t w;

	if (!s)
		return;
	w = write(s->stop_pipe[1], "x", 1);
	(void)w;
	pthread_join(s->thread, NULL);
	close(s->fd);
	close(s->stop_pipe[0]);
	close(s->stop_pipe[1]);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ---- the real emulator ---- */

struct emulator {
	pid_t pid;
	char url[128];
};

struct emulator *emulator_start(const char *key_id, const char *secret)
{
	const char *root = getenv("JITRD_BUILD_ROOT");
	char path[1024], line[256];
	struct emulator *e;
	int fds[2];
	FILE *out;

	if (!root)
		return NULL;
	snprintf(path, sizeof(path), "%s/src/emulator/iot-emulator", root);
	if (access(path, X_OK) != 0 || pipe(fds) != 0)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->pid = fork();
	if (e->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(path, path, "--listen", "127.0.0.1:0", "--region", "us-east-1",
		      "--account-id", "123456789012", "--access-key-id", key_id,
		      "--secret-access-key", secret, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	out = fdopen(fds[0], "r");
	/* First line: "iot-emulator listening on http://127.0.0.1:PORT". */
	if (e->pid < 0 || !out || !fgets(line, sizeof(line), out) ||
	    sscanf(line, "iot-emulator listening on %127s", e->url) != 1) {
		if (out)
			fclose(out);
		else
			close(fds[0]);
		if (e->pid > 0) {
			kill(e->pid, SIGTERM);
			waitpid(e->pid, NULL, 0);
		}
		free(e);
		return NULL;
	}
	fclose(out);
	return e;
}

const char *emulator_url(const struct emulator *e)
{
	return e->url;
}

void emulator_stop(struct emulator *e)
{
	if (!e)
		return;
	kill(e->pid, SIGTERM);
	waitpid(e->pid, NULL, 0);
	free(e);
}
