/* server.c — libmicrohttpd around the pure emulator: keeps each request's raw URI (MHD decodes
 * the one it hands the handler, SigV4 needs what was sent), bounds bodies, serialises calls
 * with one mutex, sleeps injected latency and publishes events outside that mutex. */
#include "server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#define MAX_HEADERS     100
#define PUBLISH_WAIT_MS 5000

struct emu_server {
	struct MHD_Daemon *daemon;
	struct emu *emu;
	struct emu_publisher *publisher;
	pthread_mutex_t lock; /* around every emu_handle call */
	uint64_t request_ids; /* under lock */
};

/* Per request: created by the URI log callback, freed when the request completes. */
struct request {
	char *uri;  /* raw, as sent */
	char *body; /* NUL-terminated */
	size_t len;
	size_t cap;
	int started; /* the handler has seen the headers */
	int too_large;
};

struct header_list {
	struct jitrd_sigv4_header items[MAX_HEADERS];
	size_t count;
	int overflow;
};

static void *log_uri(void *cls, const char *uri, struct MHD_Connection *connection)
{
	struct request *req = calloc(1, sizeof *req);

	(void)cls;
	(void)connection;
	if (req == NULL)
		return NULL;
	req->uri = strdup(uri);
	if (req->uri == NULL) {
		free(req);
		return NULL;
	}
	return req;
}

static void request_completed(void *cls, struct MHD_Connection *connection, void **req_cls,
                              enum MHD_RequestTerminationCode toe)
{
	struct request *req = *req_cls;

	(void)cls;
	(void)connection;
	(void)toe;
	if (req == NULL)
		return;
	free(req->uri);
	free(req->body);
	free(req);
	*req_cls = NULL;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
	struct header_list *list = cls;

	(void)kind;
	if (list->count == MAX_HEADERS) {
		list->overflow = 1;
		return MHD_NO;
	}
	list->items[list->count].name = key;
	list->items[list->count].value = value != NULL ? value : "";
	list->count++;
	return MHD_YES;
}

static enum MHD_Result send_text(struct MHD_Connection *connection, unsigned status,
                                 const char *error_type, const char *body, const char *request_id)
{
	struct MHD_Response *response;
	enum MHD_Result ret;

	response =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (response == NULL)
		return MHD_NO;
	if (MHD_add_response_header(response, "Content-Type", "application/json") != MHD_YES ||
	    (request_id != NULL &&
	     MHD_add_response_header(response, "x-amzn-RequestId", request_id) != MHD_YES) ||
	    (error_type != NULL && error_type[0] != '\0' &&
	     MHD_add_response_header(response, "x-amzn-ErrorType", error_type) != MHD_YES)) {
		MHD_destroy_response(response);
		return MHD_NO;
	}
	ret = MHD_queue_response(connection, status, response);
	MHD_destroy_response(response);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *connection, unsigned status,
                                  const char *code, const char *message)
{
	char body[256];

	snprintf(body, sizeof body, "{\"message\":\"%s\"}", message);
	return send_text(connection, status, code, body, NULL);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Publishes the answer's event (if any) and records in the answer whether it went out. */
static void publish_event(struct emu_server *server, struct emu_response *res)
{
	struct jitrd_diag diag = {""};
	enum jitrd_err e = JITRD_ERR_NETWORK;

	if (res->event.topic == NULL || res->body == NULL)
		return;
	if (server->publisher != NULL)
		e = emu_publisher_publish(server->publisher, res->event.topic, res->event.payload,
		                          PUBLISH_WAIT_MS, &diag);
	else
		jitrd_diag_set(&diag, "no --mqtt-url given");
	(void)json_object_object_add(res->body, "eventPublished",
	                             json_object_new_boolean(e == JITRD_OK));
	if (e != JITRD_OK)
		(void)json_object_object_add(res->body, "publishError",
		                             json_object_new_string(diag.text));
	(void)json_object_object_add(res->body, "event", json_tokener_parse(res->event.payload));
}

static enum MHD_Result answer(struct emu_server *server, struct MHD_Connection *connection,
                              const char *method, struct request *req)
{
	struct header_list headers;
	struct emu_http_request http;
	struct emu_response res;
	enum jitrd_err e;
	char *query, request_id[40];
	const char *text;
	enum MHD_Result ret;

	headers.count = 0;
	headers.overflow = 0;
	(void)MHD_get_connection_values(connection, MHD_HEADER_KIND, collect_header, &headers);
	if (headers.overflow)
		return send_error(connection, 431, "InvalidRequestException",
		                  "too many request headers");
	query = strchr(req->uri, '?');
	if (query != NULL)
		*query++ = '\0';
	http.method = method;
	http.path = req->uri;
	http.query = query;
	http.headers = headers.items;
	http.header_count = headers.count;
	http.body = (const unsigned char *)req->body;
	http.body_len = req->len;

	pthread_mutex_lock(&server->lock);
	e = emu_handle(server->emu, &http, now_ms(), &res);
	server->request_ids++;
	snprintf(request_id, sizeof request_id, "00000000-0000-4000-8000-%012llx",
	         (unsigned long long)server->request_ids);
	pthread_mutex_unlock(&server->lock);
	if (e != JITRD_OK)
		return send_error(connection, 500, "InternalFailureException", "out of memory");

	publish_event(server, &res);
	if (res.delay_ms > 0)
		sleep_ms(res.delay_ms);
	text = json_object_to_json_string_ext(res.body, JSON_C_TO_STRING_PLAIN |
	                                                    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text == NULL)
		ret = send_error(connection, 500, "InternalFailureException", "out of memory");
	else
		ret = send_text(connection, (unsigned)res.status, res.error_type, text, request_id);
	emu_response_cleanup(&res);
	return ret;
}

static int append_body(struct request *req, const char *data, size_t size)
{
	if (req->too_large || size > EMU_MAX_BODY - req->len) {
		req->too_large = 1;
		return 0;
	}
	if (req->len + size + 1 > req->cap) {
		size_t cap = req->cap == 0 ? 4096 : req->cap;
		char *bigger;

		while (cap < req->len + size + 1)
			cap *= 2;
		bigger = realloc(req->body, cap);
		if (bigger == NULL)
			return -1;
		req->body = bigger;
		req->cap = cap;
	}
	memcpy(req->body + req->len, data, size);
	req->len += size;
	req->body[req->len] = '\0';
	return 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *connection, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **req_cls)
{
	struct emu_server *server = cls;
	struct request *req = *req_cls;

	(void)url;
	(void)version;
	if (req == NULL)
		return send_error(connection, 500, "InternalFailureException", "out of memory");
	if (!req->started) {
		const char *length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
		                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);

		req->started = 1;
		/* Refuse an announced oversized body before reading any of it. */
		if (length != NULL && strtoull(length, NULL, 10) > EMU_MAX_BODY)
			return send_error(connection, 413, "PayloadTooLargeException",
			                  "the request body is larger than 1 MiB");
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (append_body(req, upload_data, *upload_data_size) != 0)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->too_large)
		return send_error(connection, 413, "PayloadTooLargeException",
		                  "the request body is larger than 1 MiB");
	return answer(server, connection, method, req);
}

enum jitrd_err emu_server_start(const char *host, uint16_t port, struct emu *emu,
                                struct emu_publisher *publisher, struct emu_server **out,
                                uint16_t *bound_port, struct jitrd_diag *diag)
{
	struct emu_server *server;
	struct sockaddr_in addr;
	const union MHD_DaemonInfo *info;

	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons(port);
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		jitrd_diag_set(diag, "--listen: '%s' is not an IPv4 address", host);
		return JITRD_ERR_INVALID_ARG;
	}
	server = calloc(1, sizeof *server);
	if (server == NULL)
		return JITRD_ERR_NOMEM;
	server->emu = emu;
	server->publisher = publisher;
	if (pthread_mutex_init(&server->lock, NULL) != 0) {
		free(server);
		return JITRD_ERR_NOMEM;
	}
	/* A thread per connection: keep-alive clients each keep theirs, and injected latency
	 * delays only the connection it was injected into. */
	server->daemon = MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
	    NULL, NULL, handle, server, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
	    MHD_OPTION_URI_LOG_CALLBACK, log_uri, NULL, MHD_OPTION_NOTIFY_COMPLETED,
	    request_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)512, MHD_OPTION_END);
	if (server->daemon == NULL) {
		jitrd_diag_set(diag, "cannot listen on %s:%u", host, (unsigned)port);
		pthread_mutex_destroy(&server->lock);
		free(server);
		return JITRD_ERR_NETWORK;
	}
	info = MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
	*bound_port = info != NULL ? info->port : port;
	*out = server;
	return JITRD_OK;
}

void emu_server_stop(struct emu_server *server)
{
	if (server == NULL)
		return;
	MHD_stop_daemon(server->daemon);
	pthread_mutex_destroy(&server->lock);
	free(server);
}
