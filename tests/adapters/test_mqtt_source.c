/* test_mqtt_source.c — the MQTT source against a real mosquitto on free loopback ports, over
 * mutual TLS with a PKI made for the run (make-mqtt-pki.sh): exact payloads, refused clients,
 * host name verification, the persistent session, a broker restart, ALPN and SNI on the wire.
 * Every wait is bounded; the broker and the temporary directory go away even on failure. */
#include "jitrd/mqtt_source.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testsupport.h"

#define TOPIC_FILTER "$aws/events/certificates/registered/+"
#define TOPIC        "$aws/events/certificates/registered/0123abcd"
#define INBOX_MAX    32
#define PAYLOAD_MAX  4096
#define PATH_SIZE    512

static char workdir[PATH_SIZE]; /* temporary directory of this run */
static char pki[PATH_SIZE];     /* workdir/pki */
static unsigned port_good;      /* TLS listener with the right server certificate */
static unsigned port_wrong;     /* TLS listener whose certificate names wrong.example */
static pid_t broker_pid = -1;

/* --- processes --- */

static void path_in(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_SIZE, "%s/%s", dir, name);

	/* a path too long for the buffer fails loudly later, not as a truncated name */
	if (n < 0 || n >= PATH_SIZE)
		out[0] = '\0';
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Starts argv with stdout and stderr appended to log_path, stdin from stdin_fd (-1: this
 * process's); returns the pid or -1. */
static pid_t spawn_with_stdin(char *const argv[], const char *log_path, int stdin_fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (stdin_fd >= 0)
			dup2(stdin_fd, 0);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static pid_t spawn(char *const argv[], const char *log_path)
{
	return spawn_with_stdin(argv, log_path, -1);
}

/* Waits at most timeout_s for pid; kills it past that. Returns its exit status or -1. */
static int reap(pid_t pid, double timeout_s)
{
	double deadline = now_seconds() + timeout_s;
	int status;

	while (now_seconds() < deadline) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (r < 0)
			return -1;
		sleep_ms(20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static int run(char *const argv[], double timeout_s)
{
	char log_path[PATH_SIZE];
	pid_t pid;

	path_in(log_path, workdir, "commands.log");
	pid = spawn(argv, log_path);
	return pid < 0 ? -1 : reap(pid, timeout_s);
}

static unsigned free_port(void)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port = 0;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
		port = ntohs(addr.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int port_open(unsigned port)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int ok;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* --- the broker --- */

static int write_broker_config(void)
{
	char path[PATH_SIZE];
	FILE *f;

	path_in(path, workdir, "mosquitto.conf");
	f = fopen(path, "w");
	if (!f)
		return -1;
	/* Run as root by the test harness: "user root" keeps mosquitto from dropping to a user
	 * that could not read the keys. No persistence: a restart forgets every session. */
	fprintf(f,
	        "user root\npersistence false\nper_listener_settings false\n"
	        "allow_anonymous true\nlog_dest stderr\nlog_type all\n"
	        "listener %u 127.0.0.1\ncafile %s/ca.pem\ncertfile %s/server.pem\n"
	        "keyfile %s/server.key\nrequire_certificate true\n"
	        "listener %u 127.0.0.1\ncafile %s/ca.pem\ncertfile %s/wrong.pem\n"
	        "keyfile %s/wrong.key\nrequire_certificate true\n",
	        port_good, pki, pki, pki, port_wrong, pki, pki, pki);
	return fclose(f) == 0 ? 0 : -1;
}

static int broker_start(void)
{
	char conf[PATH_SIZE], log_path[PATH_SIZE];
	char *argv[] = {"mosquitto", "-c", conf, NULL};
	double deadline = now_seconds() + 10;

	path_in(conf, workdir, "mosquitto.conf");
	path_in(log_path, workdir, "mosquitto.log");
	broker_pid = spawn(argv, log_path);
	if (broker_pid < 0)
		return -1;
	while (now_seconds() < deadline) {
		if (port_open(port_good) && port_open(port_wrong))
			return 0;
		if (waitpid(broker_pid, NULL, WNOHANG) == broker_pid) {
			broker_pid = -1;
			return -1;
		}
		sleep_ms(50);
	}
	return -1;
}

static void broker_kill(int sig)
{
	if (broker_pid <= 0)
		return;
	kill(broker_pid, sig);
	reap(broker_pid, 5);
	broker_pid = -1;
}

static void cleanup_everything(void)
{
	char *argv[] = {"rm", "-rf", workdir, NULL};

	broker_kill(SIGKILL);
	if (workdir[0] && !getenv("JITRD_KEEP_TEST_DIR"))
		run(argv, 30);
}

/* mosquitto_pub: QoS 1 from the payload file, with the client certificate unless no_cert. */
static int publish(unsigned port, const char *topic, const char *payload_file, int no_cert,
                   const char *client_id)
{
	char port_text[16], ca[PATH_SIZE], cert[PATH_SIZE], key[PATH_SIZE];
	char *with_cert[] = {"mosquitto_pub",
	                     "-h",
	                     "127.0.0.1",
	                     "-p",
	                     port_text,
	                     "--cafile",
	                     ca,
	                     "--cert",
	                     cert,
	                     "--key",
	                     key,
	                     "-q",
	                     "1",
	                     "-i",
	                     (char *)client_id,
	                     "-t",
	                     (char *)topic,
	                     "-f",
	                     (char *)payload_file,
	                     NULL};
	char *without_cert[] = {"mosquitto_pub",
	                        "-h",
	                        "127.0.0.1",
	                        "-p",
	                        port_text,
	                        "--cafile",
	                        ca,
	                        "-q",
	                        "1",
	                        "-i",
	                        (char *)client_id,
	                        "-t",
	                        (char *)topic,
	                        "-f",
	                        (char *)payload_file,
	                        NULL};

	snprintf(port_text, sizeof(port_text), "%u", port);
	path_in(ca, pki, "ca.pem");
	path_in(cert, pki, "client.pem");
	path_in(key, pki, "client.key");
	return run(no_cert ? without_cert : with_cert, 20);
}

static int write_file(const char *path, const void *bytes, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f)
		return -1;
	ok = fwrite(bytes, 1, len, f) == len;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int publish_text(const char *topic, const char *text)
{
	char path[PATH_SIZE];

	path_in(path, workdir, "payload.txt");
	if (write_file(path, text, strlen(text)) != 0)
		return -1;
	return publish(port_good, topic, path, 0, "jitrd-test-pub");
}

/* --- what the source hands over --- */

struct message {
	char topic[256];
	unsigned char payload[PAYLOAD_MAX];
	size_t len;
};

struct inbox {
	pthread_mutex_t lock;
	pthread_cond_t arrived;
	size_t count;
	struct message messages[INBOX_MAX];
};

static struct inbox inbox = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, {{"", {0}, 0}}};

static int record(void *ctx, const char *topic, const void *payload, size_t len)
{
	struct inbox *in = ctx;

	pthread_mutex_lock(&in->lock);
	if (in->count < INBOX_MAX && len <= PAYLOAD_MAX) {
		struct message *m = &in->messages[in->count];

		snprintf(m->topic, sizeof(m->topic), "%s", topic);
		memcpy(m->payload, payload, len);
		m->len = len;
	}
	in->count++;
	pthread_cond_broadcast(&in->arrived);
	pthread_mutex_unlock(&in->lock);
	return 0;
}

static void inbox_clear(void)
{
	pthread_mutex_lock(&inbox.lock);
	inbox.count = 0;
	pthread_mutex_unlock(&inbox.lock);
}

/* Waits at most timeout_s for at least n messages; returns how many there are. */
static size_t inbox_wait(size_t n, double timeout_s)
{
	double deadline = now_seconds() + timeout_s;
	size_t count;

	pthread_mutex_lock(&inbox.lock);
	while (inbox.count < n && now_seconds() < deadline) {
		pthread_mutex_unlock(&inbox.lock);
		sleep_ms(20);
		pthread_mutex_lock(&inbox.lock);
	}
	count = inbox.count;
	pthread_mutex_unlock(&inbox.lock);
	return count;
}

static int inbox_has(size_t i, const char *text)
{
	int same;

	pthread_mutex_lock(&inbox.lock);
	same = i < inbox.count && inbox.messages[i].len == strlen(text) &&
	       memcmp(inbox.messages[i].payload, text, strlen(text)) == 0;
	pthread_mutex_unlock(&inbox.lock);
	return same;
}

/* --- configuration --- */

/* A config through the real parser; url_port 0 = port_good. extra: more [mqtt] lines. */
static struct jitrd_config *make_config(const char *scheme_host, unsigned port,
                                        const char *client_id, const char *cert, const char *extra)
{
	char text[4096];
	struct jitrd_config *cfg = NULL;
	struct jitrd_diag diag = {""};
	int n;

	n = snprintf(text, sizeof(text),
	             "[mqtt]\nurl = %s:%u\nclient_id = %s\ntopic = " TOPIC_FILTER "\n"
	             "ca_file = %s/ca.pem\ncert_file = %s/%s.pem\nkey_file = %s/%s.key\n"
	             "keepalive = 5\n%s",
	             scheme_host, port, client_id, pki, pki, cert, pki, cert, extra ? extra : "");
	CU_ASSERT_TRUE_FATAL(n > 0 && (size_t)n < sizeof(text));
	if (jitrd_config_parse("test.conf", text, (size_t)n, NULL, NULL, &cfg, &diag) != JITRD_OK) {
		fprintf(stderr, "config: %s\n", diag.text);
		CU_FAIL_FATAL("config");
	}
	return cfg;
}

static const struct jitrd_mqtt_source_options fast = {
    .start_timeout_ms = 10000, .min_retry_seconds = 1, .max_retry_seconds = 2};

/* --- cases --- */

/* A binary payload (NUL, 0xff, newline) arrives byte for byte; other topics do not. */
static void test_exact_payload(void)
{
	struct jitrd_config *cfg =
	    make_config("ssl://127.0.0.1", port_good, "jitrd-t-exact", "client", NULL);
	struct jitrd_mqtt_source *src = NULL;
	struct jitrd_mqtt_source_options options = fast;
	struct jitrd_metrics *metrics = NULL;
	struct jitrd_metrics_snapshot *snap = malloc(sizeof(*snap));
	struct jitrd_log *log = NULL;
	FILE *log_file = tmpfile();
	struct jitrd_diag diag = {""};
	unsigned char payload[300];
	char path[PATH_SIZE], log_text[8192];
	size_t log_len;

	CU_ASSERT_PTR_NOT_NULL_FATAL(snap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(log_file);
	CU_ASSERT_EQUAL_FATAL(jitrd_metrics_new(&metrics), JITRD_OK);
	CU_ASSERT_EQUAL_FATAL(
	    jitrd_log_new(fileno(log_file), JITRD_LOG_TEXT, JITRD_LOG_DEBUG, &log), JITRD_OK);
	options.log = log;
	options.metrics = metrics;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (unsigned char)(i * 7);
	payload[0] = '{';
	payload[1] = 0;
	payload[2] = 0xff;
	payload[3] = '\n';
	path_in(path, workdir, "binary.bin");
	CU_ASSERT_EQUAL_FATAL(write_file(path, payload, sizeof(payload)), 0);
	inbox_clear();

	CU_ASSERT_EQUAL(jitrd_mqtt_source_start(cfg, &options, record, &inbox, &src, &diag),
	                JITRD_OK);
	if (!src) {
		fprintf(stderr, "start: %s\n", diag.text);
		goto cleanup;
	}
	CU_ASSERT_TRUE(jitrd_mqtt_source_connected(src));
	CU_ASSERT_TRUE(jitrd_mqtt_source_subscribed(src));
	CU_ASSERT_EQUAL(jitrd_mqtt_source_connections(src), 1);
	jitrd_metrics_snapshot(metrics, snap);
	CU_ASSERT_EQUAL(snap->mqtt_connected, 1);

	/* not our topic: never delivered */
	CU_ASSERT_EQUAL(publish(port_good, "other/topic", path, 0, "jitrd-test-pub"), 0);
	CU_ASSERT_EQUAL(publish(port_good, TOPIC, path, 0, "jitrd-test-pub"), 0);
	CU_ASSERT_EQUAL(inbox_wait(1, 10), 1);
	sleep_ms(300);
	pthread_mutex_lock(&inbox.lock);
	CU_ASSERT_EQUAL(inbox.count, 1);
	CU_ASSERT_STRING_EQUAL(inbox.messages[0].topic, TOPIC);
	CU_ASSERT_EQUAL(inbox.messages[0].len, sizeof(payload));
	CU_ASSERT_EQUAL(memcmp(inbox.messages[0].payload, payload, sizeof(payload)), 0);
	pthread_mutex_unlock(&inbox.lock);

	jitrd_mqtt_source_stop(src, 2000);
	src = NULL;
	jitrd_metrics_snapshot(metrics, snap);
	CU_ASSERT_EQUAL(snap->mqtt_connected, 0);
	/* the connection events were logged, one line each */
	fflush(log_file);
	rewind(log_file);
	log_len = fread(log_text, 1, sizeof(log_text) - 1, log_file);
	log_text[log_len] = '\0';
	CU_ASSERT_PTR_NOT_NULL(strstr(log_text, " event=mqtt.connected url=ssl://127.0.0.1:"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(log_text, " event=mqtt.subscribed topic=" TOPIC_FILTER " granted_qos=1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log_text, " event=mqtt.stopped "));
	CU_ASSERT_PTR_NULL(strstr(log_text, "BEGIN"));
	CU_ASSERT_PTR_NULL(strstr(log_text, "PRIVATE"));
cleanup:
	jitrd_mqtt_source_stop(src, 2000);
	jitrd_log_free(log);
	fclose(log_file);
	jitrd_metrics_free(metrics);
	free(snap);
	jitrd_config_free(cfg);
}

/* The broker refuses a client without a certificate or with one from another CA. */
static void test_client_without_certificate_refused(void)
{
	struct jitrd_config *cfg =
	    make_config("ssl://127.0.0.1", port_good, "jitrd-t-rogue", "rogue", NULL);
	struct jitrd_config *good =
	    make_config("ssl://127.0.0.1", port_good, "jitrd-t-nocert", "client", NULL);
	struct jitrd_mqtt_source *src = (struct jitrd_mqtt_source *)&cfg;
	struct jitrd_diag diag = {""};
	char path[PATH_SIZE], url[64];

	/* jitrd with a certificate the broker does not trust */
	CU_ASSERT_EQUAL(jitrd_mqtt_source_start(cfg, &fast, record, &inbox, &src, &diag),
	                JITRD_ERR_NETWORK);
	CU_ASSERT_PTR_EQUAL(src, (struct jitrd_mqtt_source *)&cfg);
	snprintf(url, sizeof(url), "mqtt.url ssl://127.0.0.1:%u: ", port_good);
	CU_ASSERT_EQUAL(strncmp(diag.text, url, strlen(url)), 0);

	/* mosquitto_pub without a certificate: refused, nothing delivered to a subscriber */
	src = NULL;
	inbox_clear();
	CU_ASSERT_EQUAL(jitrd_mqtt_source_start(good, &fast, record, &inbox, &src, &diag),
	                JITRD_OK);
	path_in(path, workdir, "nocert.txt");
	CU_ASSERT_EQUAL_FATAL(write_file(path, "from nobody", 11), 0);
	CU_ASSERT_NOT_EQUAL(publish(port_good, TOPIC, path, 1, "jitrd-test-nocert"), 0);
	CU_ASSERT_EQUAL(publish_text(TOPIC, "marker"), 0);
	CU_ASSERT_EQUAL(inbox_wait(1, 10), 1);
	sleep_ms(300);
	pthread_mutex_lock(&inbox.lock);
	CU_ASSERT_EQUAL(inbox.count, 1);
	pthread_mutex_unlock(&inbox.lock);
	CU_ASSERT_TRUE(inbox_has(0, "marker"));
	jitrd_mqtt_source_stop(src, 2000);
	jitrd_config_free(cfg);
	jitrd_config_free(good);
}

/* A broker whose certificate is valid (our CA) but names another host: verify = 1 refuses it.
 * The listener itself works: mosquitto_pub --insecure (no name check) gets through. */
static void test_wrong_host_name_refused(void)
{
	struct jitrd_config *cfg =
	    make_config("ssl://127.0.0.1", port_wrong, "jitrd-t-wrong", "client", NULL);
	struct jitrd_mqtt_source *src = NULL;
	struct jitrd_diag diag = {""};
	char port_text[16], ca[PATH_SIZE], cert[PATH_SIZE], key[PATH_SIZE], url[64];
	char *insecure[] = {"mosquitto_pub",
	                    "-h",
	                    "127.0.0.1",
	                    "-p",
	                    port_text,
	                    "--cafile",
	                    ca,
	                    "--cert",
	                    cert,
	                    "--key",
	                    key,
	                    "--insecure",
	                    "-q",
	                    "1",
	                    "-t",
	                    "x/y",
	                    "-m",
	                    "hello",
	                    NULL};

	CU_ASSERT_EQUAL(jitrd_mqtt_source_start(cfg, &fast, record, &inbox, &src, &diag),
	                JITRD_ERR_NETWORK);
	CU_ASSERT_PTR_NULL(src);
	snprintf(url, sizeof(url), "mqtt.url ssl://127.0.0.1:%u: ", port_wrong);
	CU_ASSERT_EQUAL(strncmp(diag.text, url, strlen(url)), 0);
	fprintf(stderr, "wrong host: %s\n", diag.text);

	snprintf(port_text, sizeof(port_text), "%u", port_wrong);
	path_in(ca, pki, "ca.pem");
	path_in(cert, pki, "client.pem");
	path_in(key, pki, "client.key");
	CU_ASSERT_EQUAL(run(insecure, 20), 0);
	jitrd_config_free(cfg);
}

/* Persistent session: messages published while the source is away arrive when it returns
 * with the same client id; with clean_session = true they do not. */
static void test_persistent_session(void)
{
	struct jitrd_config *cfg =
	    make_config("ssl://127.0.0.1", port_good, "jitrd-t-persist", "client", NULL);
	struct jitrd_config *clean = make_config("ssl://127.0.0.1", port_good, "jitrd-t-clean",
	                                         "client", "clean_session = true\n");
	struct jitrd_mqtt_source *src = NULL;
	struct jitrd_diag diag = {""};

	CU_ASSERT_EQUAL_FATAL(jitrd_mqtt_source_start(cfg, &fast, record, &inbox, &src, &diag),
	                      JITRD_OK);
	jitrd_mqtt_source_stop(src, 2000);
	src = NULL;
	inbox_clear();
	CU_ASSERT_EQUAL(publish_text(TOPIC, "away-1"), 0);
	CU_ASSERT_EQUAL(publish_text(TOPIC, "away-2"), 0);
	CU_ASSERT_EQUAL(publish_text(TOPIC, "away-3"), 0);
	sleep_ms(200);
	CU_ASSERT_EQUAL(inbox_wait(1, 0), 0);
	CU_ASSERT_EQUAL(jitrd_mqtt_source_start(cfg, &fast, record, &inbox, &src, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(inbox_wait(3, 10), 3);
	CU_ASSERT_TRUE(inbox_has(0, "away-1"));
	CU_ASSERT_TRUE(inbox_has(1, "away-2"));
	CU_ASSERT_TRUE(inbox_has(2, "away-3"));
	jitrd_mqtt_source_stop(src, 2000);
	src = NULL;

	/* the contrast: a clean session forgets */
	CU_ASSERT_EQUAL_FATAL(jitrd_mqtt_source_start(clean, &fast, record, &inbox, &src, &diag),
	                      JITRD_OK);
	jitrd_mqtt_source_stop(src, 2000);
	src = NULL;
	inbox_clear();
	CU_ASSERT_EQUAL(publish_text(TOPIC, "lost"), 0);
	CU_ASSERT_EQUAL(jitrd_mqtt_source_start(clean, &fast, record, &inbox, &src, &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL(publish_text(TOPIC, "after"), 0);
	CU_ASSERT_EQUAL(inbox_wait(1, 10), 1);
	sleep_ms(300);
	CU_ASSERT_EQUAL(inbox_wait(2, 0), 1);
	CU_ASSERT_TRUE(inbox_has(0, "after"));
	jitrd_mqtt_source_stop(src, 2000);
	jitrd_config_free(cfg);
	jitrd_config_free(clean);
}

/* The broker dies and comes back on the same port without any session (persistence false):
 * the source reconnects by itself, subscribes again, and a new message arrives. */
static void test_broker_restart(void)
{
	struct jitrd_config *cfg =
	    make_config("ssl://127.0.0.1", port_good, "jitrd-t-restart", "client", NULL);
	struct jitrd_mqtt_source *src = NULL;
	struct jitrd_diag diag = {""};
	double deadline;

	CU_ASSERT_EQUAL_FATAL(jitrd_mqtt_source_start(cfg, &fast, record, &inbox, &src, &diag),
	                      JITRD_OK);
	broker_kill(SIGKILL);
	deadline = now_seconds() + 15;
	while (jitrd_mqtt_source_connected(src) && now_seconds() < deadline)
		sleep_ms(50);
	CU_ASSERT_FALSE(jitrd_mqtt_source_connected(src));
	CU_ASSERT_FALSE(jitrd_mqtt_source_subscribed(src));
	CU_ASSERT_EQUAL_FATAL(broker_start(), 0);
	deadline = now_seconds() + 30;
	while (!jitrd_mqtt_source_subscribed(src) && now_seconds() < deadline)
		sleep_ms(50);
	CU_ASSERT_TRUE(jitrd_mqtt_source_subscribed(src));
	CU_ASSERT_EQUAL(jitrd_mqtt_source_connections(src), 2);
	inbox_clear();
	CU_ASSERT_EQUAL(publish_text(TOPIC, "after restart"), 0);
	CU_ASSERT_EQUAL(inbox_wait(1, 10), 1);
	CU_ASSERT_TRUE(inbox_has(0, "after restart"));
	jitrd_mqtt_source_stop(src, 2000);
	jitrd_config_free(cfg);
}

/* ALPN and SNI on the wire: openssl s_server prints what the ClientHello carried. */
static void test_alpn_and_sni(void)
{
	struct jitrd_config *cfg = NULL;
	struct jitrd_mqtt_source *src = NULL;
	struct jitrd_mqtt_source_options options = fast;
	struct jitrd_diag diag = {""};
	unsigned port = free_port();
	char port_text[16], cert[PATH_SIZE], key[PATH_SIZE], ca[PATH_SIZE], log_path[PATH_SIZE];
	char *server[] = {"openssl",
	                  "s_server",
	                  "-accept",
	                  port_text,
	                  "-cert",
	                  cert,
	                  "-key",
	                  key,
	                  "-CAfile",
	                  ca,
	                  "-Verify",
	                  "1",
	                  "-alpn",
	                  "x-amzn-mqtt-ca",
	                  "-tlsextdebug",
	                  "-ign_eof",
	                  "-naccept",
	                  "1",
	                  NULL};
	char *text = NULL;
	double deadline = now_seconds() + 10;
	int hold_stdin[2];
	pid_t pid;

	snprintf(port_text, sizeof(port_text), "%u", port);
	path_in(cert, pki, "server.pem");
	path_in(key, pki, "server.key");
	path_in(ca, pki, "ca.pem");
	path_in(log_path, workdir, "s_server.log");
	/* s_server ends a connection when its stdin ends: keep a pipe open until it is done */
	CU_ASSERT_EQUAL_FATAL(pipe(hold_stdin), 0);
	pid = spawn_with_stdin(server, log_path, hold_stdin[0]);
	close(hold_stdin[0]);
	CU_ASSERT_TRUE_FATAL(pid > 0);
	/* "ACCEPT" once listening; a probe connection would use up its one accept */
	while (now_seconds() < deadline) {
		text = tsupport_read(log_path, NULL);
		if (text && strstr(text, "ACCEPT"))
			break;
		free(text);
		text = NULL;
		sleep_ms(50);
	}
	free(text);
	text = NULL;
	cfg = make_config("ssl://localhost", port, "jitrd-t-alpn", "client",
	                  "alpn = x-amzn-mqtt-ca\n");
	options.start_timeout_ms = 3000;
	/* s_server speaks no MQTT: the start fails, after the handshake */
	CU_ASSERT_NOT_EQUAL(jitrd_mqtt_source_start(cfg, &options, record, &inbox, &src, &diag),
	                    JITRD_OK);
	CU_ASSERT_PTR_NULL(src);
	kill(pid, SIGTERM);
	reap(pid, 5);
	close(hold_stdin[1]);
	text = tsupport_read(log_path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(text, "ALPN protocols advertised by the client: x-amzn-mqtt-ca"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "TLS client extension \"server name\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "localhost"));
	free(text);
	jitrd_config_free(cfg);
}

static void test_bad_arguments(void)
{
	struct jitrd_config *cfg =
	    make_config("ssl://127.0.0.1", port_good, "jitrd-t-bad", "client", NULL);
	struct jitrd_config *plain =
	    make_config("tcp://127.0.0.1", free_port(), "jitrd-t-bad", "client", NULL);
	struct jitrd_mqtt_source *src = (struct jitrd_mqtt_source *)&cfg;
	struct jitrd_mqtt_source_options options = fast;
	struct jitrd_diag diag = {""};
	char *saved;
	char long_alpn[400];

	CU_ASSERT_EQUAL(jitrd_mqtt_source_start(NULL, NULL, record, &inbox, &src, &diag),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_mqtt_source_start(cfg, NULL, NULL, &inbox, &src, &diag),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_mqtt_source_start(cfg, NULL, record, &inbox, NULL, &diag),
	                JITRD_ERR_INVALID_ARG);

	saved = cfg->mqtt.url;
	cfg->mqtt.url = (char *)"http://127.0.0.1:1";
	CU_ASSERT_EQUAL(jitrd_mqtt_source_start(cfg, NULL, record, &inbox, &src, &diag),
	                JITRD_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "http://127.0.0.1:1"));
	cfg->mqtt.url = saved;

	saved = cfg->mqtt.cert_file;
	cfg->mqtt.cert_file = (char *)"";
	CU_ASSERT_EQUAL(jitrd_mqtt_source_start(cfg, NULL, record, &inbox, &src, &diag),
	                JITRD_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "mqtt.cert_file"));
	cfg->mqtt.cert_file = saved;

	memset(long_alpn, 'a', sizeof(long_alpn) - 1);
	long_alpn[sizeof(long_alpn) - 1] = '\0';
	saved = cfg->mqtt.alpn;
	cfg->mqtt.alpn = long_alpn;
	CU_ASSERT_EQUAL(jitrd_mqtt_source_start(cfg, NULL, record, &inbox, &src, &diag),
	                JITRD_ERR_CONFIG);
	cfg->mqtt.alpn = (char *)"a,,b";
	CU_ASSERT_EQUAL(jitrd_mqtt_source_start(cfg, NULL, record, &inbox, &src, &diag),
	                JITRD_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "mqtt.alpn"));
	cfg->mqtt.alpn = saved;

	/* nobody listening: a prompt, named failure */
	options.start_timeout_ms = 5000;
	CU_ASSERT_EQUAL(jitrd_mqtt_source_start(plain, &options, record, &inbox, &src, &diag),
	                JITRD_ERR_NETWORK);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, plain->mqtt.url));
	CU_ASSERT_PTR_EQUAL(src, (struct jitrd_mqtt_source *)&cfg);

	CU_ASSERT_FALSE(jitrd_mqtt_source_connected(NULL));
	CU_ASSERT_FALSE(jitrd_mqtt_source_subscribed(NULL));
	CU_ASSERT_EQUAL(jitrd_mqtt_source_connections(NULL), 0);
	jitrd_mqtt_source_stop(NULL, 0);
	jitrd_config_free(cfg);
	jitrd_config_free(plain);
}

static int setup(void)
{
	const char *root = getenv("JITRD_SOURCE_ROOT");
	char script[PATH_SIZE];
	char *make_pki[] = {"sh", script, pki, NULL};

	snprintf(workdir, sizeof(workdir), "/tmp/jitrd-mqtt-XXXXXX");
	if (!root || !mkdtemp(workdir)) {
		fprintf(stderr, "setup: JITRD_SOURCE_ROOT unset or no temporary directory\n");
		workdir[0] = '\0';
		return -1;
	}
	atexit(cleanup_everything);
	path_in(pki, workdir, "pki");
	snprintf(script, sizeof(script), "%s/tests/adapters/make-mqtt-pki.sh", root);
	if (run(make_pki, 60) != 0) {
		fprintf(stderr, "setup: %s failed\n", script);
		return -1;
	}
	port_good = free_port();
	port_wrong = free_port();
	if (!port_good || !port_wrong || port_good == port_wrong || write_broker_config() != 0 ||
	    broker_start() != 0) {
		fprintf(stderr, "setup: mosquitto did not start (see %s/mosquitto.log)\n", workdir);
		return -1;
	}
	return 0;
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"exact payload, other topics not delivered", test_exact_payload},
	    {"client without a trusted certificate refused",
	     test_client_without_certificate_refused},
	    {"server certificate for another host refused", test_wrong_host_name_refused},
	    {"persistent session keeps messages", test_persistent_session},
	    {"broker restart: reconnect and resubscribe", test_broker_restart},
	    {"ALPN and SNI in the ClientHello", test_alpn_and_sni},
	    {"bad arguments", test_bad_arguments},
	    {NULL, NULL},
	};

	/* a peer that closes mid-write must be an error return, not a signal */
	signal(SIGPIPE, SIG_IGN);
	if (setup() != 0) {
		printf("CASES 0 %zu\n", sizeof(cases) / sizeof(cases[0]) - 1);
		return 1;
	}
	return tsupport_run("mqtt_source", cases);
}
