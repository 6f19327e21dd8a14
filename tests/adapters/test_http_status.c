/* test_http_status.c — the health/metrics server on a free loopback port, asked with libcurl:
 * /healthz, /readyz in both states, /metrics (type and exact body), 404, 405, HEAD, an
 * oversized request, bad listen strings and a port already taken. */
#include "jitrd/http_status.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "testsupport.h"

#define BODY_MAX (256 * 1024)

struct reply {
	long status;
	char content_type[128];
	char allow[64];
	char body[BODY_MAX];
	size_t body_len;
};

static size_t on_body(char *data, size_t size, size_t count, void *userdata)
{
	struct reply *r = userdata;
	size_t n = size * count;

	if (n > BODY_MAX - 1 - r->body_len)
		return 0;
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return n;
}

static size_t on_header(char *data, size_t size, size_t count, void *userdata)
{
	struct reply *r = userdata;
	size_t n = size * count;
	static const char allow[] = "Allow: ";

	if (n > sizeof(allow) - 1 && strncasecmp(data, allow, sizeof(allow) - 1) == 0) {
		size_t len = n - (sizeof(allow) - 1);

		while (len > 0 && (data[sizeof(allow) - 1 + len - 1] == '\r' ||
		                   data[sizeof(allow) - 1 + len - 1] == '\n'))
			len--;
		if (len < sizeof(r->allow)) {
			memcpy(r->allow, data + sizeof(allow) - 1, len);
			r->allow[len] = '\0';
		}
	}
	return n;
}

/* One request; returns curl's code, fills *r. extra_header may be NULL. */
static CURLcode ask(unsigned port, const char *method, const char *path, const char *extra_header,
                    struct reply *r)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *headers = NULL;
	char url[128];
	const char *type = NULL;
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	if (!curl)
		return CURLE_FAILED_INIT;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "POST") == 0)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "x=1");
	else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (extra_header) {
		headers = curl_slist_append(NULL, extra_header);
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	}
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type)
		snprintf(r->content_type, sizeof(r->content_type), "%s", type);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	return rc;
}

struct readiness {
	atomic_int ready;
	atomic_int asked;
};

static int ready_cb(void *ctx, char *reason, size_t reason_size)
{
	struct readiness *r = ctx;

	atomic_fetch_add(&r->asked, 1);
	if (atomic_load(&r->ready))
		return 1;
	snprintf(reason, reason_size, "not subscribed to %s", "$aws/events/+");
	return 0;
}

static struct jitrd_http_status *start_server(struct jitrd_metrics *m, struct readiness *r)
{
	struct jitrd_http_status_options options = {
	    .listen = "127.0.0.1:0", .metrics = m, .ready = ready_cb, .ready_ctx = r};
	struct jitrd_http_status *server = NULL;
	struct jitrd_diag diag = {""};

	CU_ASSERT_EQUAL(jitrd_http_status_start(&options, &server, &diag), JITRD_OK);
	if (!server)
		fprintf(stderr, "start: %s\n", diag.text);
	return server;
}

static void test_health_and_readiness(void)
{
	struct readiness r = {0, 0};
	struct jitrd_http_status *server = start_server(NULL, &r);
	struct reply *reply = malloc(sizeof(*reply));
	unsigned port;

	CU_ASSERT_PTR_NOT_NULL_FATAL(reply);
	if (!server)
		goto cleanup;
	port = jitrd_http_status_port(server);
	CU_ASSERT_TRUE(port > 0);

	CU_ASSERT_EQUAL(ask(port, "GET", "/healthz", NULL, reply), CURLE_OK);
	CU_ASSERT_EQUAL(reply->status, 200);
	CU_ASSERT_STRING_EQUAL(reply->body, "ok\n");

	CU_ASSERT_EQUAL(ask(port, "GET", "/readyz", NULL, reply), CURLE_OK);
	CU_ASSERT_EQUAL(reply->status, 503);
	CU_ASSERT_STRING_EQUAL(reply->body, "not ready: not subscribed to $aws/events/+\n");
	CU_ASSERT_EQUAL(atomic_load(&r.asked), 1);

	atomic_store(&r.ready, 1);
	CU_ASSERT_EQUAL(ask(port, "GET", "/readyz?verbose=1", NULL, reply), CURLE_OK);
	CU_ASSERT_EQUAL(reply->status, 200);
	CU_ASSERT_STRING_EQUAL(reply->body, "ready\n");
	CU_ASSERT_EQUAL(atomic_load(&r.asked), 2);

	/* healthz stays 200 whatever readiness says */
	atomic_store(&r.ready, 0);
	CU_ASSERT_EQUAL(ask(port, "GET", "/healthz", NULL, reply), CURLE_OK);
	CU_ASSERT_EQUAL(reply->status, 200);

	CU_ASSERT_EQUAL(ask(port, "HEAD", "/healthz", NULL, reply), CURLE_OK);
	CU_ASSERT_EQUAL(reply->status, 200);
	CU_ASSERT_EQUAL(reply->body_len, 0);
cleanup:
	jitrd_http_status_stop(server);
	free(reply);
}

static void test_metrics_endpoint(void)
{
	struct readiness r = {1, 0};
	struct jitrd_metrics *m = NULL;
	struct jitrd_metrics_snapshot *s = malloc(sizeof(*s));
	struct reply *reply = malloc(sizeof(*reply));
	struct jitrd_http_status *server = NULL;
	char *want = NULL;
	size_t want_len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(reply);
	CU_ASSERT_EQUAL_FATAL(jitrd_metrics_new(&m), JITRD_OK);
	jitrd_metrics_event(m, JITRD_DECISION_ACTIVATE, 0.2);
	jitrd_metrics_api_request(m, "UpdateCertificate", 200, 0.03);
	jitrd_metrics_set_crl(m, "ca\"1", 3, 1924000000, 1924992000);
	jitrd_metrics_set_mqtt_connected(m, 1);
	server = start_server(m, &r);
	if (!server)
		goto cleanup;
	CU_ASSERT_EQUAL(ask(jitrd_http_status_port(server), "GET", "/metrics", NULL, reply),
	                CURLE_OK);
	CU_ASSERT_EQUAL(reply->status, 200);
	CU_ASSERT_STRING_EQUAL(reply->content_type, "text/plain; version=0.0.4; charset=utf-8");
	/* the body is the rendering of the registry as it stands */
	jitrd_metrics_snapshot(m, s);
	CU_ASSERT_EQUAL_FATAL(jitrd_metrics_render(s, &want, &want_len), JITRD_OK);
	CU_ASSERT_EQUAL(reply->body_len, want_len);
	CU_ASSERT_STRING_EQUAL(reply->body, want);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(reply->body, "\njitrd_events_total{decision=\"activate\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(reply->body, "\njitrd_crl_entries{ca=\"ca\\\"1\"} 3\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(reply->body, "\njitrd_mqtt_connected 1\n"));
	free(want);

	/* a later scrape sees later updates */
	jitrd_metrics_event(m, JITRD_DECISION_ACTIVATE, 0.2);
	CU_ASSERT_EQUAL(ask(jitrd_http_status_port(server), "GET", "/metrics", NULL, reply),
	                CURLE_OK);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(reply->body, "\njitrd_events_total{decision=\"activate\"} 2\n"));
cleanup:
	jitrd_http_status_stop(server);
	jitrd_metrics_free(m);
	free(reply);
	free(s);
}

static void test_not_found_and_methods(void)
{
	static const struct {
		const char *method, *path;
		long status;
	} table[] = {
	    {"GET", "/", 404},        {"GET", "/nope", 404},      {"GET", "/healthz/", 404},
	    {"GET", "/HEALTHZ", 404}, {"GET", "/metrics/x", 404}, {"POST", "/healthz", 405},
	    {"PUT", "/metrics", 405}, {"DELETE", "/readyz", 405}, {"OPTIONS", "/", 405},
	    {"PATCH", "/nope", 405},
	};
	struct readiness r = {1, 0};
	struct jitrd_http_status *server = start_server(NULL, &r);
	struct reply *reply = malloc(sizeof(*reply));

	CU_ASSERT_PTR_NOT_NULL_FATAL(reply);
	if (!server)
		goto cleanup;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		CU_ASSERT_EQUAL(ask(jitrd_http_status_port(server), table[i].method, table[i].path,
		                    NULL, reply),
		                CURLE_OK);
		CU_ASSERT_EQUAL(reply->status, table[i].status);
		if (reply->status != table[i].status)
			fprintf(stderr, "%s %s: %ld\n", table[i].method, table[i].path,
			        reply->status);
		if (table[i].status == 405)
			CU_ASSERT_STRING_EQUAL(reply->allow, "GET, HEAD");
	}
	/* readiness was never asked by a refused method */
	CU_ASSERT_EQUAL(atomic_load(&r.asked), 0);
cleanup:
	jitrd_http_status_stop(server);
	free(reply);
}

/* Request headers past the connection's memory are refused, not served. */
static void test_oversized_request(void)
{
	struct readiness r = {1, 0};
	struct jitrd_http_status *server = start_server(NULL, &r);
	struct reply *reply = malloc(sizeof(*reply));
	char *header = malloc(40000);

	CU_ASSERT_PTR_NOT_NULL_FATAL(reply);
	CU_ASSERT_PTR_NOT_NULL_FATAL(header);
	if (!server)
		goto cleanup;
	memcpy(header, "X-Big: ", 7);
	memset(header + 7, 'a', 40000 - 8);
	header[40000 - 1] = '\0';
	ask(jitrd_http_status_port(server), "GET", "/healthz", header, reply);
	CU_ASSERT_NOT_EQUAL(reply->status, 200);
	/* and the server still answers the next one */
	CU_ASSERT_EQUAL(ask(jitrd_http_status_port(server), "GET", "/healthz", NULL, reply),
	                CURLE_OK);
	CU_ASSERT_EQUAL(reply->status, 200);
cleanup:
	jitrd_http_status_stop(server);
	free(header);
	free(reply);
}

static void test_bad_listen(void)
{
	static const char *const bad[] = {
	    "",         "127.0.0.1",       "127.0.0.1:",    "127.0.0.1:65536", "127.0.0.1:-1",
	    ":x",       "host.example:80", "[::1:80",       "[::1]80",         "1.2.3.4:80x",
	    "1.2.3:80", "[1.2.3.4]:80",    "127.0.0.1: 80", "::1:80",
	};
	struct jitrd_http_status *server = (struct jitrd_http_status *)&server;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct jitrd_http_status_options options = {.listen = bad[i]};
		struct jitrd_diag diag = {""};

		CU_ASSERT_EQUAL(jitrd_http_status_start(&options, &server, &diag),
		                JITRD_ERR_CONFIG);
		CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "service.listen"));
	}
	CU_ASSERT_PTR_EQUAL(server, (struct jitrd_http_status *)&server);
	CU_ASSERT_EQUAL(jitrd_http_status_start(NULL, &server, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_http_status_port(NULL), 0);
	jitrd_http_status_stop(NULL);
}

static void test_port_taken(void)
{
	struct readiness r = {1, 0};
	struct jitrd_http_status *first = start_server(NULL, &r);
	struct jitrd_http_status *second = NULL;
	struct jitrd_http_status_options options = {.listen = NULL};
	struct jitrd_diag diag = {""};
	char listen[64];

	if (!first)
		return;
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", jitrd_http_status_port(first));
	options.listen = listen;
	CU_ASSERT_EQUAL(jitrd_http_status_start(&options, &second, &diag), JITRD_ERR_IO);
	CU_ASSERT_PTR_NULL(second);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, listen));
	jitrd_http_status_stop(second);
	jitrd_http_status_stop(first);
}

/* ---- slow clients ---------------------------------------------------------------------- */

#define SLOW_CLIENTS 40

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_loopback(unsigned port)
{
	struct sockaddr_in addr;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* 1 when the server has closed fd (end of stream or reset), 0 while it is still open. */
static int closed_by_server(int fd)
{
	struct pollfd p = {fd, POLLIN, 0};
	char byte;

	if (poll(&p, 1, 0) <= 0)
		return 0;
	return recv(fd, &byte, 1, MSG_DONTWAIT) <= 0;
}

/* /healthz within one second; 1 when it answered 200 in time. */
static int healthz_in_a_second(unsigned port)
{
	CURL *curl = curl_easy_init();
	char url[64];
	long status = 0;
	int64_t started = now_ms();
	CURLcode rc;

	if (!curl)
		return 0;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/healthz", port);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 1000L);
	curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	if (rc != CURLE_OK || status != 200 || now_ms() - started > 1000) {
		fprintf(stderr, "healthz: curl %d, HTTP %ld, %lld ms\n", (int)rc, status,
		        (long long)(now_ms() - started));
		return 0;
	}
	return 1;
}

/* 40 clients on the probe's own address, each sending one header line every 4 s (so the idle
 * timeout never fires): /healthz still answers within a second, again and again, and every
 * trickler is cut off once its request has taken longer than the whole-request limit. */
static void test_slow_clients(void)
{
	struct readiness r = {1, 0};
	struct jitrd_http_status *server = start_server(NULL, &r);
	int fds[SLOW_CLIENTS];
	int64_t start, next_trickle;
	unsigned port;
	int probes = 0, answered = 0, cut = 0;

	if (!server)
		return;
	port = jitrd_http_status_port(server);
	for (int i = 0; i < SLOW_CLIENTS; i++) {
		fds[i] = connect_loopback(port);
		CU_ASSERT(fds[i] >= 0);
		if (fds[i] >= 0)
			(void)send(fds[i], "GET /metrics HTTP/1.1\r\n", 23, MSG_NOSIGNAL);
	}
	start = now_ms();
	next_trickle = start + 4000;
	while (now_ms() - start < 10000) {
		if (now_ms() >= next_trickle) {
			for (int i = 0; i < SLOW_CLIENTS; i++)
				if (fds[i] >= 0)
					(void)send(fds[i], "X-Slow: 1\r\n", 11, MSG_NOSIGNAL);
			next_trickle += 4000;
		}
		probes++;
		answered += healthz_in_a_second(port);
		usleep(500 * 1000);
	}
	CU_ASSERT(probes >= 10);
	CU_ASSERT_EQUAL(answered, probes);
	/* 10 s in, with the last line sent at 8 s: the 5 s limit has ended every request. */
	for (int i = 0; i < SLOW_CLIENTS; i++) {
		if (fds[i] < 0)
			continue;
		cut += closed_by_server(fds[i]);
		close(fds[i]);
	}
	CU_ASSERT_EQUAL(cut, SLOW_CLIENTS);
	if (answered != probes || cut != SLOW_CLIENTS)
		fprintf(stderr, "slow clients: %d of %d probes answered, %d of %d tricklers cut\n",
		        answered, probes, cut, SLOW_CLIENTS);
	/* A client that then asks properly is served as before. */
	CU_ASSERT(healthz_in_a_second(port));
	jitrd_http_status_stop(server);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"healthz and readyz", test_health_and_readiness},
	    {"metrics endpoint", test_metrics_endpoint},
	    {"404 and 405", test_not_found_and_methods},
	    {"oversized request", test_oversized_request},
	    {"bad listen strings", test_bad_listen},
	    {"port taken", test_port_taken},
	    {"40 slow clients: healthz within 1 s, tricklers cut off", test_slow_clients},
	    {NULL, NULL},
	};
	int status;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	status = tsupport_run("http_status", cases);
	curl_global_cleanup();
	return status;
}
