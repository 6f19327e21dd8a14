/* test_workers.c — the daemon's worker part (src/daemon/workers.c) without MQTT: events go in
 * through the MQTT callback (jitrd_daemon_on_message) into a real journal in a temporary
 * directory, two workers and the reconcile thread take them through the real pipeline against
 * a scripted AWS IoT stand-in (tests/aws/stub_server.c), and the test reads the journal's rows
 * (SQLite), the calls the stand-in saw and the outcome lines of the log. The fixture PKI's CRLs
 * are dated 2030 and the workers judge at the real time, so [crl] fail_open lets good devices
 * activate; expired is rejected whatever the CRLs say. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "daemon_internal.h"
#include "jitrd/cert.h"
#include "jitrd/clock.h"
#include "stub_server.h"
#include "testsupport.h"

#define ACCOUNT     "123456789012"
#define UNKNOWN_CA  "abababababababababababababababababababababababababababababababab"
#define WAIT_MS     15000 /* the longest any condition below may take to come true */
#define BODY_MAX    8192
#define DEVICE_MAX  8
#define CONFIG_FILE "jitrd.conf"

/* ---- the AWS IoT stand-in ---- */

struct device {
	const char *name; /* fixtures/devices/NAME.pem */
	char id[65];
	char describe_body[BODY_MAX]; /* DescribeCertificate's answer: PENDING_ACTIVATION */
	/* scripted by the tests, under sv.lock */
	bool failing;    /* DescribeCertificate answers 500 */
	int delay_ms;    /* before DescribeCertificate answers */
	int describes;   /* DescribeCertificate requests seen */
	int activations; /* UpdateCertificate newStatus=ACTIVE requests seen */
};

static struct {
	pthread_mutex_t lock;
	struct device devices[DEVICE_MAX];
	size_t count;
	char ca_id[65];
	char pending_listing[BODY_MAX]; /* ListCertificatesByCA's answer for ca1 */
	int create_policy, attach_policy, list_by_ca, unexpected;
} sv;

static struct stub_server *server;

static struct device *device_by_id(const char *id)
{
	for (size_t i = 0; i < sv.count; i++)
		if (strcmp(sv.devices[i].id, id) == 0)
			return &sv.devices[i];
	return NULL;
}

static struct device *device_named(const char *name)
{
	for (size_t i = 0; i < sv.count; i++)
		if (strcmp(sv.devices[i].name, name) == 0)
			return &sv.devices[i];
	return NULL;
}

/* Routes by method and path as the IoT client sends them (botocore's requestUri). */
static void handle(void *ctx, const struct stub_request *req, struct stub_response *resp)
{
	static const char certificates[] = "/certificates/";
	struct device *d = NULL;

	(void)ctx;
	pthread_mutex_lock(&sv.lock);
	if (strncmp(req->path, certificates, sizeof(certificates) - 1) == 0)
		d = device_by_id(req->path + sizeof(certificates) - 1);
	if (d && strcmp(req->method, "GET") == 0) {
		d->describes++;
		if (d->failing) {
			resp->status = 500;
			resp->error_type = "InternalFailureException";
			resp->body = "{\"message\":\"scripted failure\"}";
		} else {
			resp->body = d->describe_body;
			resp->delay_ms = d->delay_ms;
		}
	} else if (d && strcmp(req->method, "PUT") == 0 &&
	           strcmp(req->query, "newStatus=ACTIVE") == 0) {
		d->activations++;
	} else if (strncmp(req->path, "/policies/", 10) == 0 && strcmp(req->method, "POST") == 0) {
		sv.create_policy++;
		resp->body = "{\"policyName\":\"jitrd-device\",\"policyArn\":\"arn:aws:iot:us-east-"
			     "1:" ACCOUNT ":policy/jitrd-device\",\"policyVersionId\":\"1\"}";
	} else if (strncmp(req->path, "/target-policies/", 17) == 0 &&
	           strcmp(req->method, "PUT") == 0) {
		sv.attach_policy++;
	} else if (strncmp(req->path, "/certificates-by-ca/", 20) == 0) {
		sv.list_by_ca++;
		resp->body = sv.pending_listing[0] && strcmp(req->path + 20, sv.ca_id) == 0
		                 ? sv.pending_listing
		                 : "{\"certificates\":[]}";
	} else {
		sv.unexpected++;
		fprintf(stderr, "stand-in: unexpected %s %s?%s\n", req->method, req->path,
		        req->query);
		resp->status = 404;
		resp->error_type = "ResourceNotFoundException";
		resp->body = "{\"message\":\"not scripted\"}";
	}
	pthread_mutex_unlock(&sv.lock);
}

/* The SHA-256 id of a fixture certificate, as AWS forms it. */
static bool id_of(const char *relpath, char id[65], char **pem_out)
{
	size_t len = 0;
	char *pem = tsupport_read(tsupport_fixture(relpath), &len);
	struct jitrd_cert *cert = NULL;

	if (!pem || jitrd_cert_from_pem(pem, len, &cert, NULL) != JITRD_OK) {
		free(pem);
		return false;
	}
	snprintf(id, 65, "%s", jitrd_cert_id(cert));
	jitrd_cert_free(cert);
	if (pem_out)
		*pem_out = pem;
	else
		free(pem);
	return true;
}

static bool add_device(const char *name)
{
	struct device *d = &sv.devices[sv.count];
	char relpath[128], arn[160];
	char *pem = NULL;
	json_object *answer, *description;
	bool ok;

	snprintf(relpath, sizeof(relpath), "devices/%s.pem", name);
	d->name = name;
	if (!id_of(relpath, d->id, &pem))
		return false;
	snprintf(arn, sizeof(arn), "arn:aws:iot:us-east-1:" ACCOUNT ":cert/%s", d->id);
	answer = json_object_new_object();
	description = json_object_new_object();
	json_object_object_add(description, "certificateArn", json_object_new_string(arn));
	json_object_object_add(description, "certificateId", json_object_new_string(d->id));
	json_object_object_add(description, "caCertificateId", json_object_new_string(sv.ca_id));
	json_object_object_add(description, "status", json_object_new_string("PENDING_ACTIVATION"));
	json_object_object_add(description, "certificatePem", json_object_new_string(pem));
	json_object_object_add(answer, "certificateDescription", description);
	ok = (size_t)snprintf(d->describe_body, sizeof(d->describe_body), "%s",
	                      json_object_to_json_string_ext(answer, JSON_C_TO_STRING_PLAIN)) <
	     sizeof(d->describe_body);
	json_object_put(answer);
	free(pem);
	sv.count++;
	return ok;
}

/* Clears the script and the counters before each test. */
static void script_reset(void)
{
	pthread_mutex_lock(&sv.lock);
	for (size_t i = 0; i < sv.count; i++) {
		sv.devices[i].failing = false;
		sv.devices[i].delay_ms = 0;
		sv.devices[i].describes = 0;
		sv.devices[i].activations = 0;
	}
	sv.create_policy = sv.attach_policy = sv.list_by_ca = sv.unexpected = 0;
	sv.pending_listing[0] = '\0';
	pthread_mutex_unlock(&sv.lock);
}

static void script_device(const char *name, bool failing, int delay_ms)
{
	struct device *d = device_named(name);

	pthread_mutex_lock(&sv.lock);
	d->failing = failing;
	d->delay_ms = delay_ms;
	pthread_mutex_unlock(&sv.lock);
}

/* What the stand-in saw for a device: DescribeCertificate, or UpdateCertificate to ACTIVE. */
static int seen(const char *name, bool activations)
{
	const struct device *d = device_named(name);
	int n;

	pthread_mutex_lock(&sv.lock);
	n = activations ? d->activations : d->describes;
	pthread_mutex_unlock(&sv.lock);
	return n;
}

#define describes_of(name)   seen(name, false)
#define activations_of(name) seen(name, true)

/* ---- the daemon's worker part over a fresh journal ---- */

static const char *const env[] = {"AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
                                  "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                  "AWS_EC2_METADATA_DISABLED=true", "HOME=/nonexistent", NULL};

struct world {
	char dir[64];
	char journal_path[128];
	char log_path[128];
	int log_fd;
	struct service s;
	bool alive;   /* s's lock and condition variables exist */
	bool started; /* the threads run */
};

static bool write_config(const char *path)
{
	FILE *f = fopen(path, "w");
	const char *src = getenv("JITRD_SOURCE_ROOT");
	bool ok;

	if (!f || !src) {
		if (f)
			fclose(f);
		return false;
	}
	fprintf(f, "[aws]\nregion = us-east-1\naccount_id = " ACCOUNT "\nendpoint = %s\n",
	        stub_url(server));
	fprintf(f, "[ca]\ndir = %s\n", tsupport_fixture("cas"));
	fprintf(f, "[crl]\ndir = %s\nfail_open = true\n", tsupport_fixture("crls"));
	fprintf(f, "[provision]\npolicy_template = %s/policies/default.json\n", src);
	fprintf(f, "policy_name = jitrd-device\n");
	fprintf(f, "[service]\nevent_deadline_seconds = 10\nremember_seconds = 3600\n");
	fprintf(f, "reconcile_seconds = 0\nlog_format = json\n");
	ok = ferror(f) == 0;
	return fclose(f) == 0 && ok;
}

/* The one world of the test being run: static, so that a test stopped by a failed fatal
 * assertion leaves it for the next world_start to stop and remove, not on a dead stack. */
static struct world the_world;
static bool world_stop(struct world *w);
static void world_remove(struct world *w);

/* Everything jitrd_service_run would set up for the workers, then `workers` threads. The
 * credentials, client and pipeline are made here rather than by jitrd_online_open, so that the
 * client retries quickly (two attempts, milliseconds apart) and has no rate limits. */
static bool world_start(struct world *w, size_t workers)
{
	struct service *s = &w->s;
	struct jitrd_journal_options jopts;
	struct jitrd_credentials_options copts;
	struct jitrd_iot_client_options iopts;
	struct jitrd_pipeline_options popts;
	struct jitrd_diag diag = {{0}};
	char config[128];

	if (w->dir[0]) { /* left by a test that failed half-way */
		if (!world_stop(w))
			return false;
		world_remove(w);
	}
	memset(w, 0, sizeof(*w));
	w->log_fd = -1;
	s->lock_fd = -1;
	snprintf(w->dir, sizeof(w->dir), "/tmp/jitrd-workers.XXXXXX");
	if (!mkdtemp(w->dir))
		return false;
	snprintf(config, sizeof(config), "%s/" CONFIG_FILE, w->dir);
	snprintf(w->journal_path, sizeof(w->journal_path), "%s/journal.db", w->dir);
	snprintf(w->log_path, sizeof(w->log_path), "%s/log.jsonl", w->dir);
	if (!write_config(config) || jitrd_daemon_sync_init(s) != JITRD_OK)
		return false;
	w->alive = true;
	s->rt = jitrd_runtime_new(config, time(NULL), &diag);
	if (!s->rt) {
		fprintf(stderr, "runtime: %s\n", diag.text);
		return false;
	}
	s->boot_rt = jitrd_runtime_ref(s->rt);
	s->remember_seconds = s->rt->cfg->service.remember_seconds;
	s->reconcile_seconds = s->rt->cfg->service.reconcile_seconds;
	w->log_fd = open(w->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	jitrd_journal_options_init(&jopts);
	jitrd_credentials_options_init(&copts);
	copts.envp = env;
	jitrd_iot_client_options_init(&iopts, s->rt->cfg);
	iopts.request_timeout_ms = 5000; /* longer than any scripted delay */
	/* two attempts per call, a few ms apart: a scripted 500 ends the event quickly */
	iopts.backoff.base_ms = 5;
	iopts.backoff.cap_ms = 20;
	iopts.backoff.max_attempts = 2;
	for (int i = 0; i < JITRD_IOT_OP_COUNT; i++)
		iopts.rates[i] = 0;
	if (w->log_fd < 0 ||
	    jitrd_log_new(w->log_fd, JITRD_LOG_JSON, JITRD_LOG_INFO, &s->log) != JITRD_OK ||
	    jitrd_metrics_new(&s->metrics) != JITRD_OK ||
	    jitrd_journal_open(w->journal_path, &jopts, &s->journal, &diag) != JITRD_OK ||
	    jitrd_credentials_new(&copts, &s->online.credentials, &diag) != JITRD_OK ||
	    jitrd_iot_client_new(&iopts, s->online.credentials, &s->online.client, &diag) !=
	        JITRD_OK) {
		fprintf(stderr, "set-up: %s\n", diag.text);
		return false;
	}
	memset(&popts, 0, sizeof(popts));
	popts.journal = s->journal;
	popts.metrics = s->metrics;
	if (jitrd_pipeline_new(&popts, &s->online.pipeline) != JITRD_OK)
		return false;
	w->started = true;
	return jitrd_daemon_start_threads(s, workers) == JITRD_OK;
}

/* Stops the threads (when not stopped yet) and frees everything; false when a thread was
 * still busy past the deadline. */
static bool world_stop(struct world *w)
{
	struct service *s = &w->s;
	bool ended = true;

	if (!w->alive)
		return true;
	if (w->started)
		ended = jitrd_daemon_stop_threads(s, 10);
	w->started = false;
	if (!ended)
		return false; /* the threads still use s: leaked rather than freed under them */
	jitrd_daemon_free_threads(s);
	jitrd_online_close(&s->online);
	jitrd_journal_close(s->journal);
	jitrd_metrics_free(s->metrics);
	jitrd_log_free(s->log);
	jitrd_runtime_unref(s->rt);
	jitrd_runtime_unref(s->boot_rt);
	jitrd_daemon_sync_cleanup(s);
	if (w->log_fd >= 0)
		close(w->log_fd);
	w->log_fd = -1;
	memset(s, 0, sizeof(*s));
	w->alive = false;
	return true;
}

/* The temporary directory, after world_stop (KEEP_WORK=1 keeps it to look at). */
static void world_remove(struct world *w)
{
	char command[160];

	snprintf(command, sizeof(command), "rm -rf '%s'", w->dir);
	if (getenv("KEEP_WORK"))
		fprintf(stderr, "kept %s\n", w->dir);
	else if (w->dir[0] && system(command) != 0)
		fprintf(stderr, "could not remove %s\n", w->dir);
	w->dir[0] = '\0';
}

/* The registration event AWS publishes for a device (or any certificate id and CA). */
static void event_for(const char *certificate_id, const char *ca_id, char *out, size_t size)
{
	snprintf(out, size,
	         "{\"certificateId\":\"%s\",\"caCertificateId\":\"%s\",\"timestamp\":1700000000000,"
	         "\"certificateStatus\":\"PENDING_ACTIVATION\",\"awsAccountId\":\"" ACCOUNT "\","
	         "\"certificateRegistrationTimestamp\":\"1700000000000\"}",
	         certificate_id, ca_id);
}

/* What MQTT would do with the event of a device: the callback, as paho's thread calls it. */
static int publish(struct world *w, const char *name)
{
	char event[512];

	event_for(device_named(name)->id, sv.ca_id, event, sizeof(event));
	return jitrd_daemon_on_message(&w->s, "$aws/events/certificates/registered/x", event,
	                               strlen(event));
}

/* ---- reading the journal ---- */

struct row {
	int64_t id;
	char state[16];
	char decision[16];
	char reason[256];
	unsigned attempts;
	int64_t received_ms, next_attempt_ms;
};

/* The event rows of certificate_id (NULL: rows without one), oldest first. Returns how many
 * were read (at most max), -1 when the journal cannot be read. */
static int rows_of(struct world *w, const char *certificate_id, struct row *rows, int max)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int n = 0;
	const char *sql = certificate_id
	                      ? "SELECT id, state, coalesce(decision,''), coalesce(reason,''), "
	                        "attempts, received_ms, next_attempt_ms FROM events WHERE "
	                        "certificate_id = ?1 ORDER BY id"
	                      : "SELECT id, state, coalesce(decision,''), coalesce(reason,''), "
	                        "attempts, received_ms, next_attempt_ms FROM events WHERE "
	                        "certificate_id IS NULL ORDER BY id";

	if (sqlite3_open_v2(w->journal_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, 2000) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
	    (certificate_id &&
	     sqlite3_bind_text(st, 1, certificate_id, -1, SQLITE_STATIC) != SQLITE_OK)) {
		n = -1;
		goto cleanup;
	}
	while (n < max && sqlite3_step(st) == SQLITE_ROW) {
		struct row *r = &rows[n++];
		r->id = sqlite3_column_int64(st, 0);
		snprintf(r->state, sizeof(r->state), "%s", sqlite3_column_text(st, 1));
		snprintf(r->decision, sizeof(r->decision), "%s", sqlite3_column_text(st, 2));
		snprintf(r->reason, sizeof(r->reason), "%s", sqlite3_column_text(st, 3));
		r->attempts = (unsigned)sqlite3_column_int(st, 4);
		r->received_ms = sqlite3_column_int64(st, 5);
		r->next_attempt_ms = sqlite3_column_int64(st, 6);
	}
cleanup:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static int64_t count_rows(struct world *w, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (sqlite3_open_v2(w->journal_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_busy_timeout(db, 2000) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Waits (bounded) until the newest row of certificate_id is in state after at least
 * min_attempts failed attempts; fills *row with it. */
static bool wait_for_row(struct world *w, const char *certificate_id, const char *state,
                         unsigned min_attempts, struct row *row)
{
	int64_t until = jitrd_clock_mono_ms() + WAIT_MS;

	do {
		struct row rows[8];
		int n = rows_of(w, certificate_id, rows, 8);

		if (n > 0 && strcmp(rows[n - 1].state, state) == 0 &&
		    rows[n - 1].attempts >= min_attempts) {
			*row = rows[n - 1];
			return true;
		}
		usleep(20 * 1000);
	} while (jitrd_clock_mono_ms() < until);
	return false;
}

static bool wait_for_describes(const char *name, int at_least)
{
	int64_t until = jitrd_clock_mono_ms() + WAIT_MS;

	while (describes_of(name) < at_least) {
		if (jitrd_clock_mono_ms() >= until)
			return false;
		usleep(10 * 1000);
	}
	return true;
}

/* How many lines of the log hold text. */
static int log_lines_with(struct world *w, const char *text)
{
	size_t len = 0;
	char *log = tsupport_read(w->log_path, &len);
	int n = 0;

	for (char *line = log; line && *line;) {
		char *end = strchr(line, '\n');
		if (end)
			*end = '\0';
		if (strstr(line, text))
			n++;
		line = end ? end + 1 : line + strlen(line);
	}
	free(log);
	return n;
}

/* ---- the tests ---- */

/* Each event is recorded once and completed once, with the decision DESIGN §3 gives it, by
 * the calls that decision needs and no more. */
static void test_each_event_completed_once(void)
{
	struct world *w = &the_world;
	struct row row;
	char event[512];

	script_reset();
	CU_ASSERT_FATAL(world_start(w, 2));
	CU_ASSERT_EQUAL(publish(w, "good"), 0);
	CU_ASSERT_EQUAL(publish(w, "expired"), 0);
	event_for(device_named("sensor-7a")->id, UNKNOWN_CA, event, sizeof(event));
	CU_ASSERT_EQUAL(jitrd_daemon_on_message(&w->s, "t", event, strlen(event)), 0);
	CU_ASSERT_EQUAL(jitrd_daemon_on_message(&w->s, "t", "not json", 8), 0);

	CU_ASSERT_FATAL(wait_for_row(w, device_named("good")->id, "done", 0, &row));
	CU_ASSERT_STRING_EQUAL(row.decision, "activate");
	CU_ASSERT_FATAL(wait_for_row(w, device_named("expired")->id, "done", 0, &row));
	CU_ASSERT_STRING_EQUAL(row.decision, "reject");
	CU_ASSERT_FATAL(wait_for_row(w, device_named("sensor-7a")->id, "done", 0, &row));
	CU_ASSERT_STRING_EQUAL(row.decision, "ignore");
	CU_ASSERT_FATAL(wait_for_row(w, NULL, "done", 0, &row));
	CU_ASSERT_STRING_EQUAL(row.decision, "invalid");

	/* one row each, done once (a second completion would be refused by the journal and
	 * logged as journal.error), one outcome line each */
	CU_ASSERT_EQUAL(count_rows(w, "SELECT count(*) FROM events"), 4);
	CU_ASSERT_EQUAL(count_rows(w, "SELECT count(*) FROM events WHERE state = 'done'"), 4);
	CU_ASSERT_TRUE(world_stop(w));
	CU_ASSERT_EQUAL(log_lines_with(w, "\"decision\":\"activate\""), 1);
	CU_ASSERT_EQUAL(log_lines_with(w, "\"decision\":\"reject\""), 1);
	CU_ASSERT_EQUAL(log_lines_with(w, "\"decision\":\"ignore\""), 1);
	CU_ASSERT_EQUAL(log_lines_with(w, "\"decision\":\"invalid\""), 1);
	CU_ASSERT_EQUAL(log_lines_with(w, "journal.error"), 0);
	/* the calls each decision needs, once */
	CU_ASSERT_EQUAL(describes_of("good"), 1);
	CU_ASSERT_EQUAL(activations_of("good"), 1);
	CU_ASSERT_EQUAL(describes_of("expired"), 1);
	CU_ASSERT_EQUAL(activations_of("expired"), 0);
	CU_ASSERT_EQUAL(describes_of("sensor-7a"), 0); /* not our CA: no call */
	CU_ASSERT_EQUAL(sv.create_policy, 1);
	CU_ASSERT_EQUAL(sv.attach_policy, 1);
	CU_ASSERT_TRUE(sv.list_by_ca >= 1); /* the reconcile thread's sweep at start */
	CU_ASSERT_EQUAL(sv.unexpected, 0);
	world_remove(w);
}

/* A transient failure (DescribeCertificate answers 500 past the client's attempts) puts the
 * row back to pending, due later with one more attempt counted; once AWS answers, a worker
 * takes it again and it ends as it should. */
static void test_transient_failure_retried_later(void)
{
	struct world *w = &the_world;
	struct row row;
	const char *id = device_named("sensor-7b")->id;
	int64_t before;

	script_reset();
	script_device("sensor-7b", true, 0);
	CU_ASSERT_FATAL(world_start(w, 2));
	before = jitrd_clock_wall_ms();
	CU_ASSERT_EQUAL(publish(w, "sensor-7b"), 0);
	/* the client's two attempts, then the event's outcome: failed, for retry */
	CU_ASSERT_FATAL(wait_for_describes("sensor-7b", 2));
	CU_ASSERT_FATAL(wait_for_row(w, id, "pending", 1, &row));
	CU_ASSERT_TRUE(row.attempts >= 1); /* a slow test thread may see the second failure */
	CU_ASSERT_STRING_EQUAL(row.decision, "");
	CU_ASSERT_PTR_NOT_NULL(strstr(row.reason, "DescribeCertificate"));
	/* due later than it failed: at least the retry floor of 250 ms, at most the window of
	 * its attempt (2 s, doubled per attempt) */
	CU_ASSERT_TRUE(row.next_attempt_ms >= before + 250);
	CU_ASSERT_TRUE(row.next_attempt_ms <=
	               jitrd_clock_wall_ms() + ((int64_t)2000 << (row.attempts - 1)));
	CU_ASSERT_TRUE(log_lines_with(w, "\"decision\":\"failed\"") >= 1);
	CU_ASSERT_EQUAL(activations_of("sensor-7b"), 0);

	script_device("sensor-7b", false, 0);
	CU_ASSERT_FATAL(wait_for_row(w, id, "done", 0, &row));
	CU_ASSERT_STRING_EQUAL(row.decision, "activate");
	CU_ASSERT_TRUE(row.attempts >= 1);
	CU_ASSERT_EQUAL(activations_of("sensor-7b"), 1);
	CU_ASSERT_EQUAL(count_rows(w, "SELECT count(*) FROM events"), 1);
	CU_ASSERT_TRUE(world_stop(w));
	world_remove(w);
}

/* A repeat of an event whose final decision is remembered (expired: reject) is answered from
 * the memory: an outcome line, no event row, no second DescribeCertificate. */
static void test_duplicate_answered_from_memory(void)
{
	struct world *w = &the_world;
	struct row row;
	const char *id = device_named("expired")->id;

	script_reset();
	CU_ASSERT_FATAL(world_start(w, 2));
	CU_ASSERT_EQUAL(publish(w, "expired"), 0);
	CU_ASSERT_FATAL(wait_for_row(w, id, "done", 0, &row));
	CU_ASSERT_STRING_EQUAL(row.decision, "reject");
	CU_ASSERT_EQUAL(describes_of("expired"), 1);

	CU_ASSERT_EQUAL(publish(w, "expired"), 0);
	CU_ASSERT_EQUAL(publish(w, "expired"), 0);
	/* answered on the callback's thread: nothing left for a worker to do */
	CU_ASSERT_EQUAL(count_rows(w, "SELECT count(*) FROM events"), 1);
	CU_ASSERT_EQUAL(count_rows(w, "SELECT repeats FROM remembered"), 2);
	CU_ASSERT_EQUAL(log_lines_with(w, "repeat of a remembered reject"), 2);
	usleep(300 * 1000); /* a worker that (wrongly) had something to do would call now */
	CU_ASSERT_EQUAL(describes_of("expired"), 1);
	CU_ASSERT_TRUE(world_stop(w));
	world_remove(w);
}

/* Stop lets the event in flight finish (its row done, its calls made) before it returns; a
 * repeat arriving while the first is in flight joins its open row as a skip. */
static void test_stop_drains_in_flight(void)
{
	struct world *w = &the_world;
	struct row rows[4];
	const char *id = device_named("spare-1")->id;
	int64_t started;
	bool ended;

	script_reset();
	script_device("spare-1", false, 2000);
	CU_ASSERT_FATAL(world_start(w, 2));
	CU_ASSERT_EQUAL(publish(w, "spare-1"), 0);
	CU_ASSERT_FATAL(wait_for_describes("spare-1", 1)); /* in flight: the answer is 2 s away */
	CU_ASSERT_EQUAL(publish(w, "spare-1"), 0);
	CU_ASSERT_EQUAL_FATAL(rows_of(w, id, rows, 4), 2);
	CU_ASSERT_STRING_EQUAL(rows[0].state, "in_progress");
	CU_ASSERT_STRING_EQUAL(rows[1].state, "done");
	CU_ASSERT_STRING_EQUAL(rows[1].decision, "skip");
	CU_ASSERT_STRING_EQUAL(rows[1].reason, "joined the open event for this certificate");

	started = jitrd_clock_mono_ms();
	ended = jitrd_daemon_stop_threads(&w->s, 10);
	CU_ASSERT_TRUE(ended);
	CU_ASSERT_TRUE(jitrd_clock_mono_ms() - started >= 500); /* it waited for the answer */
	CU_ASSERT_EQUAL_FATAL(rows_of(w, id, rows, 4), 2);
	CU_ASSERT_STRING_EQUAL(rows[0].state, "done");
	CU_ASSERT_STRING_EQUAL(rows[0].decision, "activate");
	CU_ASSERT_EQUAL(activations_of("spare-1"), 1);
	CU_ASSERT_EQUAL(describes_of("spare-1"), 1);
	w->started = false;
	CU_ASSERT_TRUE(world_stop(w));
	world_remove(w);
}

/* The reconcile thread's sweep at start: a certificate AWS lists as PENDING_ACTIVATION under
 * our CA is recorded (source reconcile) and decided like any event. */
static void test_reconcile_sweep_records_pending(void)
{
	struct world *w = &the_world;
	struct row row;
	const char *id = device_named("gateway-1")->id;

	script_reset();
	pthread_mutex_lock(&sv.lock);
	snprintf(sv.pending_listing, sizeof(sv.pending_listing),
	         "{\"certificates\":[{\"certificateId\":\"%s\",\"status\":\"PENDING_ACTIVATION\","
	         "\"certificateArn\":\"arn:aws:iot:us-east-1:" ACCOUNT ":cert/%s\","
	         "\"creationDate\":1.7E9},{\"certificateId\":\"%s\",\"status\":\"ACTIVE\"}]}",
	         id, id, device_named("good")->id);
	pthread_mutex_unlock(&sv.lock);
	CU_ASSERT_FATAL(world_start(w, 2));
	CU_ASSERT_FATAL(wait_for_row(w, id, "done", 0, &row));
	CU_ASSERT_STRING_EQUAL(row.decision, "activate");
	CU_ASSERT_EQUAL(count_rows(w, "SELECT count(*) FROM events WHERE source = 'reconcile'"), 1);
	CU_ASSERT_EQUAL(count_rows(w, "SELECT count(*) FROM events"), 1); /* not the ACTIVE one */
	CU_ASSERT_EQUAL(activations_of("gateway-1"), 1);
	CU_ASSERT_EQUAL(describes_of("good"), 0);
	CU_ASSERT_TRUE(world_stop(w));
	CU_ASSERT_EQUAL(log_lines_with(w, "\"pending\":\"1\",\"queued\":\"1\""), 1);
	world_remove(w);
}

/* The claim size: the largest batch (4) while the backlog is long, an equal share of what is
 * due near its end, so that no worker holds several of the last events while others idle. */
static void test_claim_size_shrinks_at_the_end(void)
{
	static const struct {
		size_t due, workers, size;
	} cases[] = {
	    {2000, 64, 4}, {256, 64, 4}, {255, 64, 3}, {128, 64, 2}, {127, 64, 1},
	    {64, 64, 1},   {1, 64, 1},   {0, 64, 1},   {1000, 4, 4}, {15, 4, 3},
	    {4, 4, 1},     {0, 4, 1},    {0, 1, 4},    {1, 1, 4},    {9, 0, 4},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t size = jitrd_daemon_claim_size(cases[i].due, cases[i].workers);

		if (size != cases[i].size)
			fprintf(stderr, "claim size of %zu due, %zu workers: %zu, not %zu\n",
			        cases[i].due, cases[i].workers, size, cases[i].size);
		CU_ASSERT_EQUAL(size, cases[i].size);
	}
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"each event completed once with its decision", test_each_event_completed_once},
	    {"a transient failure is retried later", test_transient_failure_retried_later},
	    {"a duplicate is answered from the remembered decision",
	     test_duplicate_answered_from_memory},
	    {"stop drains the event in flight", test_stop_drains_in_flight},
	    {"the reconcile sweep records pending certificates",
	     test_reconcile_sweep_records_pending},
	    {"the claim size shrinks at the end of the backlog",
	     test_claim_size_shrinks_at_the_end},
	    {NULL, NULL},
	};
	static const char *const names[] = {"good",      "expired", "sensor-7a",
	                                    "sensor-7b", "spare-1", "gateway-1"};
	int status;

	if (pthread_mutex_init(&sv.lock, NULL) != 0 || !id_of("cas/ca1.pem", sv.ca_id, NULL)) {
		fprintf(stderr, "test_workers: cannot read the fixtures\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!add_device(names[i])) {
			fprintf(stderr, "test_workers: cannot read device %s\n", names[i]);
			return 1;
		}
	}
	server = stub_start(handle, NULL);
	if (!server) {
		fprintf(stderr, "test_workers: cannot start the stand-in\n");
		return 1;
	}
	status = tsupport_run("daemon_workers", cases);
	if (the_world.dir[0] && world_stop(&the_world)) /* the last test failed half-way */
		world_remove(&the_world);
	stub_stop(server);
	return status;
}
