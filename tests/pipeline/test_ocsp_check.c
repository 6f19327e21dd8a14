/* test_ocsp_check.c — the OCSP checker against tests/pipeline/ocsp_server.py on 127.0.0.1,
 * which answers each request with what `openssl ocsp -index` produced for those very bytes
 * (made here at test time: the responses carry the present time). The cache (hit, expiry at
 * nextUpdate, the short bound without one, eviction when full), no caching of what does not
 * judge valid, a responder that answers 404 or garbage, no responder at all, a passed
 * deadline, and the metrics. The server is a child killed at exit and ends by itself. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "jitrd/clock.h"
#include "jitrd/ocsp_check.h"
#include "jitrd/pipeline.h"
#include "jitrd/runtime.h"
#include "testsupport.h"

#define ONE_DAY 86400

static char dir[64];
static pid_t server_pid = -1;
static int port;
static time_t made;

static char *path_in(const char *name)
{
	static char path[4][256];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	return p;
}

/* NULL when it cannot be read (usable outside a test case) */
static struct jitrd_cert *read_cert(const char *rel)
{
	struct jitrd_cert *cert = NULL;
	size_t len = 0;
	char *pem = tsupport_read(path_in(rel), &len);

	if (pem && jitrd_cert_from_pem(pem, len, &cert, NULL) != JITRD_OK)
		cert = NULL;
	free(pem);
	return cert;
}

static struct jitrd_cert *load(const char *rel)
{
	struct jitrd_cert *cert = read_cert(rel);

	CU_ASSERT_PTR_NOT_NULL_FATAL(cert);
	return cert;
}

/* The response of `openssl ocsp` to jitrd's own request (no nonce) about device, stored
 * under the SHA-256 of the request, as ocsp_server.py looks it up. */
static int make_response(const char *device, const char *options)
{
	struct jitrd_cert *cert = read_cert(device);
	struct jitrd_cert *ca = read_cert("cas/ca.pem");
	struct jitrd_ocsp_request req = {0};
	unsigned char hash[32];
	char name[80], cmd[1024];
	FILE *f;
	int rc = -1;

	if (!cert || !ca || jitrd_ocsp_request_build(cert, ca, NULL, 0, &req) != JITRD_OK ||
	    EVP_Digest(req.der, req.len, hash, NULL, EVP_sha256(), NULL) != 1)
		goto done;
	for (int i = 0; i < 32; i++)
		snprintf(name + 2 * i, 3, "%02x", hash[i]);
	if (!(f = fopen(path_in("req.der"), "wb")))
		goto done;
	fwrite(req.der, 1, req.len, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
	         "cd '%s' && openssl ocsp -index index.txt -CA cas/ca.pem -rsigner responder.pem "
	         "-rkey responder.key -reqin req.der -respout %s.der %s >/dev/null 2>&1",
	         dir, name, options);
	rc = system(cmd) == 0 ? 0 : -1;
done:
	jitrd_ocsp_request_cleanup(&req);
	jitrd_cert_free(cert);
	jitrd_cert_free(ca);
	return rc;
}

static int start_server(void)
{
	const char *root = getenv("JITRD_SOURCE_ROOT");
	char script[512], line[64] = "";
	int fds[2];
	FILE *from;

	if (!root || pipe(fds) != 0)
		return -1;
	snprintf(script, sizeof(script), "%s/tests/pipeline/ocsp_server.py", root);
	server_pid = fork();
	if (server_pid < 0)
		return -1;
	if (server_pid == 0) {
		char *const argv[] = {"python3", script, dir, "120", NULL};

		close(fds[0]);
		dup2(fds[1], 1);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with this test, and by itself */
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	if (!(from = fdopen(fds[0], "r")))
		return -1;
	if (!fgets(line, sizeof(line), from) || sscanf(line, "PORT %d", &port) != 1)
		port = 0;
	fclose(from);
	return port > 0 ? 0 : -1;
}

/* POSTs the server has seen. */
static int posts(void)
{
	char cmd[128], text[32] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "curl -sf http://127.0.0.1:%d/count", port);
	if (!(p = popen(cmd, "r")))
		return -1;
	if (!fgets(text, sizeof(text), p))
		text[0] = '\0';
	pclose(p);
	return *text ? (int)strtol(text, NULL, 10) : -1;
}

/* A configuration whose responder is path on the server ("" = none configured). */
static struct jitrd_config *config(const char *path)
{
	struct jitrd_config *cfg = NULL;
	char text[256];

	if (*path)
		snprintf(
		    text, sizeof(text),
		    "[ocsp]\nmode = require\nnonce = false\nresponder = http://127.0.0.1:%d%s\n",
		    port, path);
	else
		snprintf(text, sizeof(text), "[ocsp]\nmode = require\nnonce = false\n");
	CU_ASSERT_EQUAL_FATAL(
	    jitrd_config_parse("t.conf", text, strlen(text), NULL, NULL, &cfg, NULL), JITRD_OK);
	return cfg;
}

struct fixture {
	struct jitrd_ocsp_checker *checker;
	struct jitrd_metrics *metrics;
	struct jitrd_config *cfg;
	struct jitrd_cert *ca;
};

static void fixture_init(struct fixture *f, const char *path, size_t cache_max)
{
	struct jitrd_ocsp_check_options o = {NULL, NULL, cache_max, NULL};

	memset(f, 0, sizeof(*f));
	CU_ASSERT_EQUAL_FATAL(jitrd_metrics_new(&f->metrics), JITRD_OK);
	o.metrics = f->metrics;
	CU_ASSERT_EQUAL_FATAL(jitrd_ocsp_checker_new(&o, &f->checker), JITRD_OK);
	f->cfg = config(path);
	f->ca = load("cas/ca.pem");
}

static void fixture_cleanup(struct fixture *f)
{
	jitrd_ocsp_checker_free(f->checker);
	jitrd_metrics_free(f->metrics);
	jitrd_config_free(f->cfg);
	jitrd_cert_free(f->ca);
}

/* Queries device at at; returns the answer, *cached set. */
static struct jitrd_ocsp_answer ask(struct fixture *f, const char *device, time_t at, bool *cached)
{
	struct jitrd_cert *cert = load(device);
	struct jitrd_ocsp_answer a;

	memset(&a, 0x5a, sizeof(a));
	*cached = true;
	CU_ASSERT_EQUAL(jitrd_ocsp_checker_query(f->checker, f->cfg, cert, f->ca, at,
	                                         jitrd_clock_mono_ms() + 10000, &a, cached),
	                JITRD_OK);
	jitrd_cert_free(cert);
	return a;
}

static void test_cache_until_next_update(void)
{
	struct jitrd_metrics_snapshot *s = calloc(1, sizeof(*s));
	struct jitrd_ocsp_answer a;
	struct fixture f;
	bool cached;
	int before = posts();

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	fixture_init(&f, "/", 0);
	a = ask(&f, "devices/good.pem", made, &cached);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_GOOD);
	CU_ASSERT_FALSE(cached);
	a = ask(&f, "devices/good.pem", made + ONE_DAY - 60, &cached);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_GOOD);
	CU_ASSERT_TRUE(cached);
	CU_ASSERT_EQUAL(posts(), before + 1);
	/* past nextUpdate: asked again; the same (pre-produced) answer is stale now, judged
	 * invalid, and not kept */
	a = ask(&f, "devices/good.pem", made + 2 * ONE_DAY, &cached);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_INVALID);
	CU_ASSERT_FALSE(cached);
	a = ask(&f, "devices/good.pem", made + 2 * ONE_DAY, &cached);
	CU_ASSERT_FALSE(cached);
	CU_ASSERT_EQUAL(posts(), before + 3);
	/* revoked and unknown are answers too, and kept */
	a = ask(&f, "devices/revoked.pem", made, &cached);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_REVOKED);
	CU_ASSERT_EQUAL(a.reason, 1);
	a = ask(&f, "devices/unknown.pem", made, &cached);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_UNKNOWN);
	a = ask(&f, "devices/unknown.pem", made + 10, &cached);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_UNKNOWN);
	CU_ASSERT_TRUE(cached);
	jitrd_metrics_snapshot(f.metrics, s);
	CU_ASSERT_EQUAL(s->ocsp_requests[JITRD_OCSP_GOOD], 1);
	CU_ASSERT_EQUAL(s->ocsp_requests[JITRD_OCSP_INVALID], 2);
	CU_ASSERT_EQUAL(s->ocsp_requests[JITRD_OCSP_REVOKED], 1);
	CU_ASSERT_EQUAL(s->ocsp_requests[JITRD_OCSP_UNKNOWN], 1);
	CU_ASSERT_EQUAL(s->ocsp_cache_hits, 2);
	fixture_cleanup(&f);
	free(s);
}

static void test_no_next_update_short(void)
{
	struct jitrd_ocsp_answer a;
	struct fixture f;
	bool cached;
	int before = posts();

	/* held's response has no nextUpdate: kept JITRD_OCSP_CACHE_NO_NEXT_UPDATE_SECONDS */
	fixture_init(&f, "/", 0);
	a = ask(&f, "devices/held.pem", made, &cached);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_HOLD);
	CU_ASSERT_EQUAL(a.next_update, 0);
	a = ask(&f, "devices/held.pem", made + 30, &cached);
	CU_ASSERT_TRUE(cached);
	a = ask(&f, "devices/held.pem", made + JITRD_OCSP_CACHE_NO_NEXT_UPDATE_SECONDS + 5,
	        &cached);
	CU_ASSERT_FALSE(cached);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_HOLD);
	CU_ASSERT_EQUAL(posts(), before + 2);
	fixture_cleanup(&f);
}

static void test_bounded(void)
{
	struct jitrd_ocsp_answer a;
	struct fixture f;
	bool cached;
	int before = posts();

	fixture_init(&f, "/", 2);
	a = ask(&f, "devices/good.pem", made, &cached);
	a = ask(&f, "devices/revoked.pem", made, &cached);
	a = ask(&f, "devices/unknown.pem", made, &cached); /* full: good expires first, goes */
	CU_ASSERT_EQUAL(posts(), before + 3);
	a = ask(&f, "devices/unknown.pem", made, &cached);
	CU_ASSERT_TRUE(cached);
	a = ask(&f, "devices/revoked.pem", made, &cached);
	CU_ASSERT_TRUE(cached);
	a = ask(&f, "devices/good.pem", made, &cached);
	CU_ASSERT_FALSE(cached);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_GOOD);
	CU_ASSERT_EQUAL(posts(), before + 4);
	fixture_cleanup(&f);
}

static void test_no_answer(void)
{
	struct jitrd_metrics_snapshot *s = calloc(1, sizeof(*s));
	struct jitrd_cert *cert;
	struct jitrd_ocsp_answer a;
	struct fixture f;
	char where[64];
	bool cached;
	int before;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	/* no such response: 404, named with the responder's URL; not kept */
	fixture_init(&f, "/missing", 0);
	a = ask(&f, "devices/noaia.pem", made, &cached);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_NONE);
	snprintf(where, sizeof(where), "http://127.0.0.1:%d/missing", port);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.why, where));
	CU_ASSERT_PTR_NOT_NULL(strstr(a.why, "404"));
	before = posts();
	a = ask(&f, "devices/noaia.pem", made, &cached);
	CU_ASSERT_FALSE(cached);
	CU_ASSERT_EQUAL(posts(), before + 1);
	jitrd_metrics_snapshot(f.metrics, s);
	CU_ASSERT_EQUAL(s->ocsp_requests[JITRD_OCSP_NONE], 2);
	fixture_cleanup(&f);
	/* bytes that are no OCSP response */
	fixture_init(&f, "/garbage", 0);
	a = ask(&f, "devices/good.pem", made, &cached);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.why, "does not decode"));
	fixture_cleanup(&f);
	/* no responder configured, none in the certificate: nothing is sent */
	fixture_init(&f, "", 0);
	before = posts();
	a = ask(&f, "devices/noaia.pem", made, &cached);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_NONE);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.why, "no responder"));
	CU_ASSERT_EQUAL(posts(), before);
	/* the event's deadline already passed: nothing is sent */
	cert = load("devices/good.pem");
	jitrd_config_free(f.cfg);
	f.cfg = config("/");
	CU_ASSERT_EQUAL(jitrd_ocsp_checker_query(f.checker, f.cfg, cert, f.ca, made,
	                                         jitrd_clock_mono_ms() - 1, &a, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_NONE);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.why, "deadline"));
	CU_ASSERT_EQUAL(posts(), before);
	memset(&a, 0x5a, sizeof(a));
	CU_ASSERT_EQUAL(jitrd_ocsp_checker_query(NULL, f.cfg, cert, f.ca, made, 0, &a, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(a.reason, 0x5a5a5a5a);
	jitrd_cert_free(cert);
	fixture_cleanup(&f);
	jitrd_ocsp_checker_free(NULL);
	free(s);
}

/* A port nothing listens on (bound, then closed). */
static int closed_port(void)
{
	struct sockaddr_in a = {0};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int found = -1;

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		found = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return found;
}

/* A responder that cannot be reached is not asked again for a while: the next events are
 * deferred at once, and no request is counted for them. */
static void test_unreachable_not_asked_again(void)
{
	struct jitrd_metrics_snapshot *s = calloc(1, sizeof(*s));
	struct jitrd_ocsp_check_options o = {NULL, NULL, 0, NULL};
	struct jitrd_ocsp_checker *checker = NULL;
	struct jitrd_config *cfg = NULL;
	struct jitrd_metrics *m = NULL;
	struct jitrd_cert *cert = load("devices/good.pem");
	struct jitrd_cert *ca = load("cas/ca.pem");
	struct jitrd_ocsp_answer a;
	char text[160];
	int64_t started;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	snprintf(text, sizeof(text), "[ocsp]\nmode = require\nresponder = http://127.0.0.1:%d/\n",
	         closed_port());
	CU_ASSERT_EQUAL_FATAL(
	    jitrd_config_parse("t.conf", text, strlen(text), NULL, NULL, &cfg, NULL), JITRD_OK);
	CU_ASSERT_EQUAL_FATAL(jitrd_metrics_new(&m), JITRD_OK);
	o.metrics = m;
	CU_ASSERT_EQUAL_FATAL(jitrd_ocsp_checker_new(&o, &checker), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_ocsp_checker_query(checker, cfg, cert, ca, made,
	                                         jitrd_clock_mono_ms() + 10000, &a, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_NONE);
	CU_ASSERT_PTR_NULL(strstr(a.why, "not asked again"));
	started = jitrd_clock_mono_ms();
	CU_ASSERT_EQUAL(jitrd_ocsp_checker_query(checker, cfg, cert, ca, made,
	                                         jitrd_clock_mono_ms() + 10000, &a, NULL),
	                JITRD_OK);
	CU_ASSERT_EQUAL(a.status, JITRD_OCSP_NONE);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.why, "not asked again yet"));
	CU_ASSERT_PTR_NOT_NULL(strstr(a.why, "127.0.0.1"));
	CU_ASSERT_TRUE(jitrd_clock_mono_ms() - started < 1000);
	jitrd_metrics_snapshot(m, s);
	CU_ASSERT_EQUAL(s->ocsp_requests[JITRD_OCSP_NONE], 1);
	jitrd_ocsp_checker_free(checker);
	jitrd_metrics_free(m);
	jitrd_config_free(cfg);
	jitrd_cert_free(cert);
	jitrd_cert_free(ca);
	free(s);
}

/* jitrd_pipeline_decide under [ocsp] require with a CRL that lists nothing: the responder's
 * answer decides, and a cached one is used without a request. */
static void test_pipeline_decide(void)
{
	static const struct {
		const char *device;
		enum jitrd_decision_kind kind;
		const char *reason;
	} cases[] = {
	    {"devices/good.pem", JITRD_DECISION_ACTIVATE, "not on the CRL; OCSP: good"},
	    {"devices/revoked.pem", JITRD_DECISION_REVOKE, "OCSP: revoked: keyCompromise"},
	    {"devices/unknown.pem", JITRD_DECISION_DEFER, "OCSP: unknown"},
	};
	const char *src = getenv("JITRD_SOURCE_ROOT");
	struct jitrd_diag diag = {{0}};
	struct jitrd_decision_context ctx;
	struct jitrd_pipeline *p = NULL;
	struct jitrd_runtime *rt;
	char text[1024];
	FILE *f = fopen(path_in("require.conf"), "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	snprintf(text, sizeof(text),
	         "[aws]\naccount_id = 123456789012\n[ca]\ndir = %s/cas\n[crl]\ndir = %s/crl\n"
	         "[ocsp]\nmode = require\nnonce = false\nresponder = http://127.0.0.1:%d/\n"
	         "[provision]\npolicy_template = %s/policies/default.json\n"
	         "[service]\nstate_dir = %s\n",
	         dir, dir, port, src, dir);
	fputs(text, f);
	fclose(f);
	rt = jitrd_runtime_new(path_in("require.conf"), made, &diag);
	if (!rt)
		fprintf(stderr, "%s\n", diag.text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
	CU_ASSERT_EQUAL_FATAL(jitrd_pipeline_new(NULL, &p), JITRD_OK);
	jitrd_runtime_context(rt, &ctx);
	for (int round = 0; round < 2; round++) {
		int before = posts();
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct jitrd_cert *cert = load(cases[i].device);
			struct jitrd_decision d;

			CU_ASSERT_EQUAL(jitrd_pipeline_decide(p, &ctx, cert, NULL, made,
			                                      jitrd_clock_mono_ms() + 10000, &d),
			                JITRD_OK);
			CU_ASSERT_EQUAL(d.kind, cases[i].kind);
			CU_ASSERT_STRING_EQUAL(d.reason, cases[i].reason);
			CU_ASSERT_FALSE(d.ocsp_wanted);
			jitrd_decision_cleanup(&d);
			jitrd_cert_free(cert);
		}
		/* the first round asks about each; the second finds every answer cached */
		CU_ASSERT_EQUAL(posts(), before + (round == 0 ? 3 : 0));
	}
	jitrd_pipeline_free(p);
	jitrd_runtime_unref(rt);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"cached until nextUpdate; invalid never cached", test_cache_until_next_update},
	    {"no nextUpdate: cached briefly", test_no_next_update_short},
	    {"bounded: the soonest to expire goes", test_bounded},
	    {"404, garbage, no responder, deadline", test_no_answer},
	    {"the pipeline's decision asks once, then uses the cache", test_pipeline_decide},
	    {"an unreachable responder is not asked again at once",
	     test_unreachable_not_asked_again},
	    {NULL, NULL},
	};
	const char *src = getenv("JITRD_SOURCE_ROOT");
	char cmd[512];
	int status = 2;

	if (!src)
		return 2;
	snprintf(dir, sizeof(dir), "/tmp/jitrd-ocsp-check-XXXXXX");
	if (!mkdtemp(dir))
		return 2;
	snprintf(cmd, sizeof(cmd), "sh '%s/tests/fixtures/ocsp-pki.sh' '%s' >/dev/null", src, dir);
	if (system(cmd) != 0 || make_response("devices/good.pem", "-ndays 1") != 0 ||
	    make_response("devices/revoked.pem", "-ndays 1") != 0 ||
	    make_response("devices/unknown.pem", "-ndays 1") != 0 ||
	    make_response("devices/held.pem", "") != 0 || start_server() != 0) {
		fprintf(stderr, "could not set up the PKI, the responses or ocsp_server.py\n");
		goto done;
	}
	/* after the responder certificate and every response were made: they are valid from
	 * the second they were made, which may be a later one than the start */
	made = time(NULL);
	status = tsupport_run("ocsp_check", cases);
done:
	if (server_pid > 0) {
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0 && status == 0)
		status = 2;
	return status;
}
