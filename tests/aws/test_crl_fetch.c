/* test_crl_fetch.c — jitrd_crl_fetch against a real HTTP and HTTPS server on 127.0.0.1
 * (tests/aws/crl_server.py, a child process killed at exit and ending by itself after 120 s):
 * conditional GET, the size cap, redirects, TLS verification, timeouts and refusals, plus the
 * header parser and URL redaction under hostile input. The TLS certificate (for IP 127.0.0.1)
 * is made at start with the OpenSSL CLI into a temporary directory. */
#include "jitrd/crl_fetch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#include "crl_fetch_parse.h"
#include "jitrd/sigv4.h"
#include "crl_fetch_poison.h"
#include "jitrd/config.h"
#include "testsupport.h"

static char dir[PATH_MAX];
static char crl_path[PATH_MAX + 16];
static char cert_path[PATH_MAX + 16];
static char key_path[PATH_MAX + 16];
static pid_t server_pid = -1;
static int http_port, https_port;

static const char first_crl[] = "-----BEGIN X509 CRL-----\nZmlyc3Q=\n-----END X509 CRL-----\n";
static const char second_crl[] = "\x30\x82\x01\x02 second CRL, DER-looking and longer";

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_file(const char *path, const void *bytes, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f)
		return -1;
	ok = fwrite(bytes, 1, n, f) == n;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int run_quiet(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void stop_server(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
		server_pid = -1;
	}
}

static void remove_dir(void)
{
	char *const argv[] = {"rm", "-rf", dir, NULL};

	if (dir[0])
		(void)run_quiet(argv);
}

static int start_server(void)
{
	const char *root = getenv("JITRD_SOURCE_ROOT");
	char script[PATH_MAX];
	char line[128] = "";
	int fds[2];
	FILE *from;

	if (!root || snprintf(script, sizeof(script), "%s/tests/aws/crl_server.py", root) >=
	                 (int)sizeof(script))
		return -1;
	if (pipe(fds) != 0)
		return -1;
	server_pid = fork();
	if (server_pid < 0)
		return -1;
	if (server_pid == 0) {
		char *const argv[] = {"python3", script,    "--dir", dir,      "--lifetime", "120",
		                      "--cert",  cert_path, "--key", key_path, NULL};

		close(fds[0]);
		dup2(fds[1], 1);
		/* Should this test crash, the server dies with it (and by itself after 120 s). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	from = fdopen(fds[0], "r");
	if (!from)
		return -1;
	if (!fgets(line, sizeof(line), from) ||
	    sscanf(line, "PORT %d %d", &http_port, &https_port) != 2) {
		fclose(from);
		return -1;
	}
	fclose(from);
	return http_port > 0 && https_port > 0 ? 0 : -1;
}

static void url(char *out, size_t size, int tls, const char *path)
{
	snprintf(out, size, "%s://127.0.0.1:%d%s", tls ? "https" : "http",
	         tls ? https_port : http_port, path);
}

static enum jitrd_err fetch(const char *path, int tls, const struct jitrd_crl_fetch_cache *known,
                            struct jitrd_crl_fetch_result *out, struct jitrd_diag *diag)
{
	char u[256];
	struct jitrd_crl_fetch_options opts = {0};

	url(u, sizeof(u), tls, path);
	opts.url = u;
	opts.ca_file = cert_path;
	opts.timeout_ms = 10000;
	return jitrd_crl_fetch(&opts, known, out, diag);
}

static void test_conditional_get(void)
{
	struct jitrd_crl_fetch_result first = {0}, again = {0}, by_date = {0}, changed = {0};
	struct jitrd_crl_fetch_cache known = {0};
	struct jitrd_diag diag = {{0}};
	char expected_url[256];

	CU_ASSERT_FATAL(write_file(crl_path, first_crl, sizeof(first_crl) - 1) == 0);
	CU_ASSERT_EQUAL_FATAL(fetch("/files/crl.pem", 0, NULL, &first, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(first.status, JITRD_CRL_FETCH_NEW);
	CU_ASSERT_EQUAL(first.body_len, sizeof(first_crl) - 1);
	CU_ASSERT(first.body && memcmp(first.body, first_crl, first.body_len) == 0);
	CU_ASSERT(first.etag[0] == '"' && strlen(first.etag) > 2);
	CU_ASSERT(strstr(first.last_modified, " GMT") != NULL);
	url(expected_url, sizeof(expected_url), 0, "/files/crl.pem");
	CU_ASSERT_STRING_EQUAL(first.final_url, expected_url);

	/* The same again with both validators: one 304, no body. */
	known.etag = first.etag;
	known.last_modified = first.last_modified;
	CU_ASSERT_EQUAL_FATAL(fetch("/files/crl.pem", 0, &known, &again, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(again.status, JITRD_CRL_FETCH_NOT_MODIFIED);
	CU_ASSERT_PTR_NULL(again.body);
	CU_ASSERT_EQUAL(again.body_len, 0);

	/* Only Last-Modified known: If-Modified-Since alone gives the 304. */
	known.etag = NULL;
	CU_ASSERT_EQUAL_FATAL(fetch("/files/crl.pem", 0, &known, &by_date, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(by_date.status, JITRD_CRL_FETCH_NOT_MODIFIED);
	CU_ASSERT_PTR_NULL(by_date.body);

	/* A new CRL published (same second, other size): a 200 with a new ETag. */
	known.etag = first.etag;
	CU_ASSERT_FATAL(write_file(crl_path, second_crl, sizeof(second_crl) - 1) == 0);
	CU_ASSERT_EQUAL_FATAL(fetch("/files/crl.pem", 0, &known, &changed, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(changed.status, JITRD_CRL_FETCH_NEW);
	CU_ASSERT_EQUAL(changed.body_len, sizeof(second_crl) - 1);
	CU_ASSERT(changed.body && memcmp(changed.body, second_crl, changed.body_len) == 0);
	CU_ASSERT(changed.etag[0] != '\0' && strcmp(changed.etag, first.etag) != 0);

	jitrd_crl_fetch_result_cleanup(&first);
	jitrd_crl_fetch_result_cleanup(&again);
	jitrd_crl_fetch_result_cleanup(&by_date);
	jitrd_crl_fetch_result_cleanup(&changed);
	jitrd_crl_fetch_result_cleanup(NULL);
	CU_ASSERT_PTR_NULL(first.body);
}

static void test_cap_by_content_length(void)
{
	struct jitrd_crl_fetch_result r;
	struct jitrd_crl_fetch_options opts = {0};
	struct jitrd_diag diag = {{0}};
	char u[256];

	/* A Content-Length of 1 TB against the default cap: refused before reading. */
	poison(&r);
	CU_ASSERT_EQUAL(fetch("/big-length", 0, NULL, &r, &diag), JITRD_ERR_TOO_LARGE);
	CU_ASSERT(untouched(&r));

	/* A real file one byte over a small cap, and exactly at it. */
	CU_ASSERT_FATAL(write_file(crl_path, second_crl, sizeof(second_crl) - 1) == 0);
	url(u, sizeof(u), 0, "/files/crl.pem");
	opts.url = u;
	opts.max_size = sizeof(second_crl) - 2;
	poison(&r);
	CU_ASSERT_EQUAL(jitrd_crl_fetch(&opts, NULL, &r, &diag), JITRD_ERR_TOO_LARGE);
	CU_ASSERT(untouched(&r));
	opts.max_size = sizeof(second_crl) - 1;
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(jitrd_crl_fetch(&opts, NULL, &r, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(r.body_len, sizeof(second_crl) - 1);
	jitrd_crl_fetch_result_cleanup(&r);
}

static void test_cap_by_stream(void)
{
	struct jitrd_crl_fetch_result r;
	struct jitrd_crl_fetch_options opts = {0};
	struct jitrd_diag diag = {{0}};
	long long start;
	char u[256];

	/* An endless body without Content-Length: the transfer stops at the cap (1 MiB) at once
	 * rather than when the 10 s timeout or memory runs out. */
	url(u, sizeof(u), 0, "/endless");
	opts.url = u;
	opts.max_size = 1024 * 1024;
	opts.timeout_ms = 10000;
	poison(&r);
	start = mono_ms();
	CU_ASSERT_EQUAL(jitrd_crl_fetch(&opts, NULL, &r, &diag), JITRD_ERR_TOO_LARGE);
	CU_ASSERT(mono_ms() - start < 5000);
	CU_ASSERT(untouched(&r));
	CU_ASSERT(strstr(diag.text, "/endless") != NULL);
}

static void test_redirects(void)
{
	struct jitrd_crl_fetch_result r = {0};
	struct jitrd_diag diag = {{0}};
	char expected_url[256];

	CU_ASSERT_FATAL(write_file(crl_path, first_crl, sizeof(first_crl) - 1) == 0);
	/* Three redirects are followed; the final URL is where the CRL came from. */
	CU_ASSERT_EQUAL_FATAL(fetch("/redirect/3/crl.pem", 0, NULL, &r, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(r.status, JITRD_CRL_FETCH_NEW);
	CU_ASSERT_EQUAL(r.body_len, sizeof(first_crl) - 1);
	CU_ASSERT(r.etag[0] == '"');
	url(expected_url, sizeof(expected_url), 0, "/files/crl.pem");
	CU_ASSERT_STRING_EQUAL(r.final_url, expected_url);
	jitrd_crl_fetch_result_cleanup(&r);

	/* A fourth is refused. */
	poison(&r);
	CU_ASSERT_EQUAL(fetch("/redirect/4/crl.pem", 0, NULL, &r, &diag), JITRD_ERR_BAD_RESPONSE);
	CU_ASSERT(untouched(&r));
}

static void test_https(void)
{
	struct jitrd_crl_fetch_result r = {0};
	struct jitrd_crl_fetch_options opts = {0};
	struct jitrd_diag diag = {{0}};
	char u[256];

	CU_ASSERT_FATAL(write_file(crl_path, first_crl, sizeof(first_crl) - 1) == 0);
	CU_ASSERT_EQUAL_FATAL(fetch("/files/crl.pem", 1, NULL, &r, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(r.body_len, sizeof(first_crl) - 1);
	jitrd_crl_fetch_result_cleanup(&r);

	/* https redirecting to http is refused, though the same redirect from http is fine. */
	poison(&r);
	CU_ASSERT_EQUAL(fetch("/to-http/crl.pem", 1, NULL, &r, &diag), JITRD_ERR_BAD_RESPONSE);
	CU_ASSERT(untouched(&r));
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(fetch("/to-http/crl.pem", 0, NULL, &r, &diag), JITRD_OK);
	jitrd_crl_fetch_result_cleanup(&r);

	/* Verification is on: the system store does not know the test's certificate. */
	url(u, sizeof(u), 1, "/files/crl.pem");
	opts.url = u;
	poison(&r);
	CU_ASSERT_EQUAL(jitrd_crl_fetch(&opts, NULL, &r, &diag), JITRD_ERR_NETWORK);
	CU_ASSERT(untouched(&r));
}

static void test_failures(void)
{
	struct jitrd_crl_fetch_result r;
	struct jitrd_crl_fetch_options opts = {0};
	struct jitrd_diag diag = {{0}};
	struct sockaddr_in sa = {0};
	socklen_t sl = sizeof(sa);
	long long start;
	char u[256];
	int fd;

	/* A server that never answers: the total timeout, within bounds. */
	url(u, sizeof(u), 0, "/hang");
	opts.url = u;
	opts.timeout_ms = 1000;
	poison(&r);
	start = mono_ms();
	CU_ASSERT_EQUAL(jitrd_crl_fetch(&opts, NULL, &r, &diag), JITRD_ERR_TIMEOUT);
	CU_ASSERT(mono_ms() - start >= 900 && mono_ms() - start < 4000);
	CU_ASSERT(untouched(&r));

	/* Statuses other than 200 and 304 are named. */
	CU_ASSERT_EQUAL(fetch("/status/500", 0, NULL, &r, &diag), JITRD_ERR_BAD_RESPONSE);
	CU_ASSERT(strstr(diag.text, "HTTP status 500") != NULL);
	CU_ASSERT_EQUAL(fetch("/files/absent.crl", 0, NULL, &r, &diag), JITRD_ERR_BAD_RESPONSE);
	CU_ASSERT(strstr(diag.text, "HTTP status 404") != NULL);
	/* A 304 to a request that was not conditional is no answer. */
	CU_ASSERT_EQUAL(fetch("/status/304", 0, NULL, &r, &diag), JITRD_ERR_BAD_RESPONSE);
	CU_ASSERT(strstr(diag.text, "HTTP status 304") != NULL);
	CU_ASSERT(untouched(&r));

	/* Connection refused: a port just bound and closed. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(fd >= 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
	close(fd);
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/crl.der", ntohs(sa.sin_port));
	opts.timeout_ms = 5000;
	CU_ASSERT_EQUAL(jitrd_crl_fetch(&opts, NULL, &r, &diag), JITRD_ERR_NETWORK);
	CU_ASSERT(untouched(&r));
}

/* Requests the server has served (this one not counted), or -1. */
static long served(void)
{
	struct jitrd_crl_fetch_result r = {0};
	long n = -1;

	if (fetch("/count", 0, NULL, &r, NULL) == JITRD_OK && r.body)
		n = strtol((const char *)r.body, NULL, 10);
	jitrd_crl_fetch_result_cleanup(&r);
	return n;
}

static void test_bad_schemes(void)
{
	static const char *const refused[] = {"file:///etc/passwd",
	                                      "ftp://127.0.0.1/crl.der",
	                                      "gopher://127.0.0.1/",
	                                      "ldap://127.0.0.1/cn=ca?certificateRevocationList",
	                                      "",
	                                      "http//127.0.0.1/x",
	                                      "127.0.0.1/crl.der",
	                                      "dict://127.0.0.1:1/"};
	struct jitrd_crl_fetch_result r;
	struct jitrd_crl_fetch_options opts = {0};
	struct jitrd_diag diag = {{0}};
	char at_server[256];
	long before = served();

	CU_ASSERT(before >= 0);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		opts.url = refused[i];
		poison(&r);
		diag.text[0] = '\0';
		CU_ASSERT_EQUAL(jitrd_crl_fetch(&opts, NULL, &r, &diag), JITRD_ERR_INVALID_ARG);
		CU_ASSERT(untouched(&r));
		CU_ASSERT(strstr(diag.text, "only http:// and https://") != NULL);
	}
	/* Other schemes pointed at the live server: it sees nothing (only the /count itself). */
	snprintf(at_server, sizeof(at_server), "ftp://127.0.0.1:%d/files/crl.pem", http_port);
	opts.url = at_server;
	CU_ASSERT_EQUAL(jitrd_crl_fetch(&opts, NULL, &r, &diag), JITRD_ERR_INVALID_ARG);
	snprintf(at_server, sizeof(at_server), "gopher://127.0.0.1:%d/files/crl.pem", http_port);
	CU_ASSERT_EQUAL(jitrd_crl_fetch(&opts, NULL, &r, &diag), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(served(), before + 1);
	opts.url = "s3://bucket/crl/ca.crl";
	CU_ASSERT_EQUAL(jitrd_crl_fetch(&opts, NULL, &r, &diag), JITRD_ERR_INVALID_ARG);
	CU_ASSERT(strstr(diag.text, "need the S3 settings and credentials") != NULL);
	CU_ASSERT(untouched(&r));
	opts.url = NULL;
	CU_ASSERT_EQUAL(jitrd_crl_fetch(&opts, NULL, &r, &diag), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_crl_fetch(NULL, NULL, &r, &diag), JITRD_ERR_INVALID_ARG);
	opts.url = "http://127.0.0.1/";
	CU_ASSERT_EQUAL(jitrd_crl_fetch(&opts, NULL, NULL, &diag), JITRD_ERR_INVALID_ARG);
	CU_ASSERT(untouched(&r));
}

static void test_hostile_validators_from_server(void)
{
	struct jitrd_crl_fetch_result r = {0};
	struct jitrd_crl_fetch_cache known = {0};
	struct jitrd_diag diag = {{0}};

	/* A 300-byte ETag and a Last-Modified with a control byte are dropped, not cut. */
	CU_ASSERT_EQUAL_FATAL(fetch("/evil-etag", 0, NULL, &r, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(r.status, JITRD_CRL_FETCH_NEW);
	CU_ASSERT_STRING_EQUAL(r.etag, "");
	CU_ASSERT_STRING_EQUAL(r.last_modified, "");
	jitrd_crl_fetch_result_cleanup(&r);

	/* Valid validators are sent as the conditional headers (the server echoes them)... */
	known.etag = "\"v1\"";
	known.last_modified = "Tue, 01 Jan 2030 00:00:00 GMT";
	CU_ASSERT_EQUAL_FATAL(fetch("/echo", 0, &known, &r, &diag), JITRD_OK);
	CU_ASSERT(r.body && strstr((char *)r.body, "If-None-Match: \"v1\"\n") != NULL);
	CU_ASSERT(r.body && strstr((char *)r.body,
	                           "If-Modified-Since: Tue, 01 Jan 2030 00:00:00 GMT") != NULL);
	jitrd_crl_fetch_result_cleanup(&r);

	/* ...but a cache holding a line break is not sent at all (no header injection). */
	known.etag = "\"x\"\r\nX-Injected: 1";
	known.last_modified = "Tue, 01 Jan 2999 00:00:00 GMT\r\nX-Injected: 2";
	CU_ASSERT_EQUAL_FATAL(fetch("/echo", 0, &known, &r, &diag), JITRD_OK);
	CU_ASSERT(r.body && strstr((char *)r.body, "If-None-Match") == NULL);
	CU_ASSERT(r.body && strstr((char *)r.body, "If-Modified-Since") == NULL);
	CU_ASSERT(r.body && strstr((char *)r.body, "X-Injected") == NULL);
	jitrd_crl_fetch_result_cleanup(&r);
}

static void test_url_redacted(void)
{
	struct jitrd_crl_fetch_result r;
	struct jitrd_crl_fetch_options opts = {0};
	struct jitrd_diag diag = {{0}};
	char u[256], clean[256];

	snprintf(u, sizeof(u),
	         "http://crluser:s3cr3tpw@127.0.0.1:%d/status/503?X-Amz-Signature=abcdef#frag",
	         http_port);
	opts.url = u;
	poison(&r);
	CU_ASSERT_EQUAL(jitrd_crl_fetch(&opts, NULL, &r, &diag), JITRD_ERR_BAD_RESPONSE);
	CU_ASSERT(strstr(diag.text, "503") != NULL);
	CU_ASSERT(strstr(diag.text, "/status/503") != NULL);
	CU_ASSERT(strstr(diag.text, "s3cr3t") == NULL);
	CU_ASSERT(strstr(diag.text, "crluser") == NULL);
	CU_ASSERT(strstr(diag.text, "Signature") == NULL);
	CU_ASSERT(strstr(diag.text, "abcdef") == NULL);

	jitrd_crl_fetch_redact_url("https://u:p@ex.example:8443/a/b.crl?sig=1", clean,
	                           sizeof(clean));
	CU_ASSERT_STRING_EQUAL(clean, "https://ex.example:8443/a/b.crl");
	jitrd_crl_fetch_redact_url("not a url", clean, sizeof(clean));
	CU_ASSERT_STRING_EQUAL(clean, "(unparsable URL)");
	jitrd_crl_fetch_redact_url("https://ex.example/a/b.crl", clean, 10);
	CU_ASSERT_STRING_EQUAL(clean, "(unparsab"); /* cut to the buffer, never the URL */
}

/* The header parser alone, under hostile lines. */
static void test_header_parser(void)
{
	struct {
		const char *line;
		size_t len; /* 0: strlen */
		const char *etag;
		const char *last_modified;
	} cases[] = {
	    {"ETag: \"abc\"\r\n", 0, "\"abc\"", "keep"},
	    {"etag:W/\"weak\"  \t\r\n", 0, "W/\"weak\"", "keep"},
	    {"Last-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\n", 0, "keep",
	     "Wed, 21 Oct 2015 07:28:00 GMT"},
	    {"ETag: \"a\x01b\"\r\n", 0, "", "keep"},
	    {"ETag: \"a\x7f\"\r\n", 0, "", "keep"},
	    {"ETag: \"\xc3\xa9\"\r\n", 0, "", "keep"},
	    {"ETag: \"a\0b\"\r\n", 12, "", "keep"},
	    {"ETag: \r\n", 0, "", "keep"},
	    {"ETag:", 0, "keep", "keep"}, /* no value at all: not even the header */
	    {"ETa", 0, "keep", "keep"},
	    {"ETagX: \"no\"\r\n", 0, "keep", "keep"},
	    {"X-ETag: \"no\"\r\n", 0, "keep", "keep"},
	    {"Last-Modified: \x1b[31mred\r\n", 0, "keep", ""},
	    {"HTTP/1.1 302 Found\r\n", 0, "", ""},
	    {"\r\n", 0, "keep", "keep"},
	    {"", 0, "keep", "keep"},
	};
	char big[600];
	struct jitrd_crl_fetch_validators v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = cases[i].len ? cases[i].len : strlen(cases[i].line);

		snprintf(v.etag, sizeof(v.etag), "keep");
		snprintf(v.last_modified, sizeof(v.last_modified), "keep");
		jitrd_crl_fetch_header_line(cases[i].line, n, &v);
		if (strcmp(v.etag, cases[i].etag) != 0 ||
		    strcmp(v.last_modified, cases[i].last_modified) != 0)
			fprintf(stderr, "case %zu: etag '%s' last_modified '%s'\n", i, v.etag,
			        v.last_modified);
		CU_ASSERT_STRING_EQUAL(v.etag, cases[i].etag);
		CU_ASSERT_STRING_EQUAL(v.last_modified, cases[i].last_modified);
	}

	/* Longest kept, one more dropped (never cut). */
	memcpy(big, "ETag: ", 6);
	memset(big + 6, 'e', sizeof(big) - 6);
	jitrd_crl_fetch_header_line(big, 6 + JITRD_CRL_FETCH_VALIDATOR_MAX - 1, &v);
	CU_ASSERT_EQUAL(strlen(v.etag), JITRD_CRL_FETCH_VALIDATOR_MAX - 1);
	jitrd_crl_fetch_header_line(big, 6 + JITRD_CRL_FETCH_VALIDATOR_MAX, &v);
	CU_ASSERT_STRING_EQUAL(v.etag, "");
	jitrd_crl_fetch_header_line(big, sizeof(big), &v);
	CU_ASSERT_STRING_EQUAL(v.etag, "");
	jitrd_crl_fetch_header_line(NULL, 5, &v);
	jitrd_crl_fetch_header_line("ETag: x", 7, NULL);

	CU_ASSERT(jitrd_crl_fetch_validator_ok("\"abc\""));
	CU_ASSERT(!jitrd_crl_fetch_validator_ok(""));
	CU_ASSERT(!jitrd_crl_fetch_validator_ok(NULL));
	CU_ASSERT(!jitrd_crl_fetch_validator_ok("a\r\nb"));
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT(!jitrd_crl_fetch_validator_ok(big + 6));
}

/* ---- s3:// URLs: parsing, addressing, S3's error codes, the signature ---- */

static void test_s3_parse(void)
{
	static const struct {
		const char *url;
		const char *bucket; /* NULL: refused */
		const char *key_or_why;
	} cases[] = {
	    {"s3://jitrd-crls/crl/ca.crl", "jitrd-crls", "crl/ca.crl"},
	    {"S3://jitrd-crls/crl/ca.crl", "jitrd-crls", "crl/ca.crl"},
	    {"s3://my.crl.bucket/a", "my.crl.bucket", "a"},
	    {"s3://abc/crl//x", "abc", "crl//x"},
	    {"s3://abc/.../x", "abc", ".../x"},
	    {"s3://abc/crl/\xc3\xa9\xe2\x82\xac \xf0\x9f\x94\x91+%.crl", "abc",
	     "crl/\xc3\xa9\xe2\x82\xac \xf0\x9f\x94\x91+%.crl"},
	    {"s3://jitrd-crls", NULL, "no object key"},
	    {"s3://jitrd-crls/", NULL, "no object key"},
	    {"s3:///crl/ca.crl", NULL, "no bucket name"},
	    {"s3://", NULL, "no bucket name"},
	    {"s3:jitrd/crl", NULL, "not an s3:// URL"},
	    {"https://jitrd-crls/crl", NULL, "not an s3:// URL"},
	    {"s3://ab/k", NULL, "3 to 63"},
	    {"s3://a234567890123456789012345678901234567890123456789012345678901234/k", NULL,
	     "3 to 63"},
	    {"s3://Jitrd-crls/k", NULL, "only a-z"},
	    {"s3://jitrd_crls/k", NULL, "only a-z"},
	    {"s3://jitrd crls/k", NULL, "only a-z"},
	    {"s3://user@jitrd/k", NULL, "only a-z"},
	    {"s3://jitrd:443/k", NULL, "only a-z"},
	    {"s3://-jitrd/k", NULL, "starts and ends"},
	    {"s3://jitrd./k", NULL, "starts and ends"},
	    {"s3://a..b/k", NULL, "adjacent periods"},
	    {"s3://192.168.1.1/k", NULL, "IP address"},
	    {"s3://xn--jitrd/k", NULL, "reserved prefix"},
	    {"s3://jitrd-s3alias/k", NULL, "reserved suffix"},
	    {"s3://jitrd--x-s3/k", NULL, "reserved suffix"},
	    {"s3://abc/crl/../x", NULL, "'..' segment"},
	    {"s3://abc/./x", NULL, "'..' segment"},
	    {"s3://abc/crl/..", NULL, "'..' segment"},
	    {"s3://abc/crl/x?versionId=1", NULL, "no query"},
	    {"s3://abc/crl/x#frag", NULL, "no query"},
	    {"s3://abc/crl/\x01x", NULL, "not UTF-8"},
	    {"s3://abc/crl/x\x7f", NULL, "not UTF-8"},
	    {"s3://abc/crl/\xff", NULL, "not UTF-8"},
	    {"s3://abc/crl/\xc0\xaf", NULL, "not UTF-8"},         /* overlong '/' */
	    {"s3://abc/crl/\xed\xa0\x80", NULL, "not UTF-8"},     /* a surrogate */
	    {"s3://abc/crl/\xe2\x82", NULL, "not UTF-8"},         /* truncated */
	    {"s3://abc/crl/\xf4\x90\x80\x80", NULL, "not UTF-8"}, /* past U+10FFFF */
	};
	struct jitrd_crl_fetch_s3_object obj, poisoned;
	struct jitrd_diag diag = {{0}};
	char url[1200];

	memset(&poisoned, 0x5a, sizeof(poisoned));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum jitrd_err err;

		memcpy(&obj, &poisoned, sizeof(obj));
		diag.text[0] = '\0';
		err = jitrd_crl_fetch_s3_parse(cases[i].url, &obj, &diag);
		if (cases[i].bucket) {
			CU_ASSERT_EQUAL(err, JITRD_OK);
			CU_ASSERT_STRING_EQUAL(obj.bucket, cases[i].bucket);
			CU_ASSERT_STRING_EQUAL(obj.key, cases[i].key_or_why);
			continue;
		}
		CU_ASSERT_EQUAL(err, JITRD_ERR_INVALID_ARG);
		CU_ASSERT(memcmp(&obj, &poisoned, sizeof(obj)) == 0);
		if (!strstr(diag.text, cases[i].key_or_why))
			fprintf(stderr, "\n  %zu: \"%s\"\n", i, diag.text);
		CU_ASSERT(strstr(diag.text, cases[i].key_or_why) != NULL);
	}
	/* S3's limit is 1024 bytes of key: at it, and one over. */
	memcpy(url, "s3://abc/", 9);
	memset(url + 9, 'k', 1024);
	url[9 + 1024] = '\0';
	CU_ASSERT_EQUAL(jitrd_crl_fetch_s3_parse(url, &obj, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(strlen(obj.key), 1024);
	url[9 + 1024] = 'k';
	url[9 + 1025] = '\0';
	CU_ASSERT_EQUAL(jitrd_crl_fetch_s3_parse(url, &obj, &diag), JITRD_ERR_INVALID_ARG);
	CU_ASSERT(strstr(diag.text, "1025 bytes, over S3's 1024") != NULL);
	CU_ASSERT_EQUAL(jitrd_crl_fetch_s3_parse(NULL, &obj, &diag), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_crl_fetch_s3_parse("s3://abc/k", NULL, &diag), JITRD_ERR_INVALID_ARG);
}

static void test_s3_target(void)
{
	static const struct {
		const char *region, *endpoint;
		bool path_style;
		const char *bucket;
		const char *url, *host; /* url NULL: refused, host then what diag says */
	} cases[] = {
	    {"eu-west-1", "", false, "jitrd-crls",
	     "https://jitrd-crls.s3.eu-west-1.amazonaws.com/crl/a%20b%2B.crl",
	     "jitrd-crls.s3.eu-west-1.amazonaws.com"},
	    {"eu-west-1", NULL, true, "jitrd-crls",
	     "https://s3.eu-west-1.amazonaws.com/jitrd-crls/crl/a%20b%2B.crl",
	     "s3.eu-west-1.amazonaws.com"},
	    /* Dotted: the *.s3.REGION certificate does not cover it, so path-style. */
	    {"eu-west-1", "", false, "my.crls",
	     "https://s3.eu-west-1.amazonaws.com/my.crls/crl/a%20b%2B.crl",
	     "s3.eu-west-1.amazonaws.com"},
	    {"cn-north-1", "", false, "jitrd-crls",
	     "https://jitrd-crls.s3.cn-north-1.amazonaws.com.cn/crl/a%20b%2B.crl",
	     "jitrd-crls.s3.cn-north-1.amazonaws.com.cn"},
	    {"us-east-1", "http://127.0.0.1:9000", false, "jitrd-crls",
	     "http://127.0.0.1:9000/jitrd-crls/crl/a%20b%2B.crl", "127.0.0.1:9000"},
	    {"us-east-1", "http://LocalHost:80/", false, "jitrd-crls",
	     "http://localhost/jitrd-crls/crl/a%20b%2B.crl", "localhost"},
	    {"us-east-1", "http://[::1]:9000", false, "jitrd-crls",
	     "http://[::1]:9000/jitrd-crls/crl/a%20b%2B.crl", "[::1]:9000"},
	    {"us-east-1", "https://s3.example.net:443", false, "jitrd-crls",
	     "https://s3.example.net/jitrd-crls/crl/a%20b%2B.crl", "s3.example.net"},
	    {"us-east-1", "https://s3.example.net:8443", false, "jitrd-crls",
	     "https://s3.example.net:8443/jitrd-crls/crl/a%20b%2B.crl", "s3.example.net:8443"},
	    /* Credentials never over plain http to another host. */
	    {"us-east-1", "http://192.0.2.1:9000", false, "b-1", NULL, "loopback"},
	    {"us-east-1", "http://s3.example.net", false, "b-1", NULL, "loopback"},
	    {"us-east-1", "http://[2001:db8::1]", false, "b-1", NULL, "loopback"},
	    {"us-east-1", "ftp://127.0.0.1", false, "b-1", NULL, "loopback"},
	    {"us-east-1", "https://user@s3.example.net", false, "b-1", NULL, "scheme://host"},
	    {"us-east-1", "https://s3.example.net/prefix", false, "b-1", NULL, "scheme://host"},
	    {"us-east-1", "https://s3.example.net?x=1", false, "b-1", NULL, "scheme://host"},
	    {"us-east-1", "s3.example.net", false, "b-1", NULL, "scheme://host"},
	    {"", "", false, "b-1", NULL, "s3_region"},
	    {NULL, "", false, "b-1", NULL, "s3_region"},
	    {"EU-WEST-1", "", false, "b-1", NULL, "s3_region"},
	    {"eu-west-1.evil.net/", "", false, "b-1", NULL, "s3_region"},
	};
	struct jitrd_crl_fetch_s3_object obj;
	struct jitrd_crl_fetch_s3_target *t = malloc(sizeof(*t));
	struct jitrd_diag diag = {{0}};

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_crl_fetch_s3 s3 = {cases[i].region, cases[i].endpoint,
		                                cases[i].path_style, NULL};
		enum jitrd_err err;

		snprintf(obj.bucket, sizeof(obj.bucket), "%s", cases[i].bucket);
		snprintf(obj.key, sizeof(obj.key), "crl/a b+.crl");
		memset(t, 0x5a, sizeof(*t));
		diag.text[0] = '\0';
		err = jitrd_crl_fetch_s3_target(&s3, &obj, t, &diag);
		if (cases[i].url) {
			CU_ASSERT_EQUAL(err, JITRD_OK);
			if (err != JITRD_OK)
				fprintf(stderr, "\n  %zu: %s\n", i, diag.text);
			CU_ASSERT_STRING_EQUAL(t->url, cases[i].url);
			CU_ASSERT_STRING_EQUAL(t->host, cases[i].host);
			/* What the signer takes: raw, with the bucket only path-style. */
			CU_ASSERT(strcmp(t->path, "/crl/a b+.crl") == 0 ||
			          (strncmp(t->path, "/", 1) == 0 &&
			           strncmp(t->path + 1, obj.bucket, strlen(obj.bucket)) == 0 &&
			           strcmp(t->path + 1 + strlen(obj.bucket), "/crl/a b+.crl") == 0));
			continue;
		}
		CU_ASSERT_EQUAL(err, JITRD_ERR_INVALID_ARG);
		CU_ASSERT(((unsigned char *)t)[0] == 0x5a &&
		          ((unsigned char *)t)[sizeof(*t) - 1] == 0x5a);
		if (!strstr(diag.text, cases[i].host))
			fprintf(stderr, "\n  %zu: \"%s\"\n", i, diag.text);
		CU_ASSERT(strstr(diag.text, cases[i].host) != NULL);
	}
	/* The longest key, every byte escaped, still fits. */
	{
		struct jitrd_crl_fetch_s3 s3 = {"ap-southeast-2", "", true, NULL};

		snprintf(obj.bucket, sizeof(obj.bucket), "%.63s",
		         "b234567890123456789012345678901234567890123456789012345678901234");
		memset(obj.key, '%', JITRD_CRL_FETCH_S3_KEY_MAX);
		obj.key[JITRD_CRL_FETCH_S3_KEY_MAX] = '\0';
		CU_ASSERT_EQUAL(jitrd_crl_fetch_s3_target(&s3, &obj, t, &diag), JITRD_OK);
		CU_ASSERT_EQUAL(strlen(t->url), strlen("https://s3.ap-southeast-2.amazonaws.com/") +
		                                    63 + 1 + 3 * JITRD_CRL_FETCH_S3_KEY_MAX);
	}
	CU_ASSERT_EQUAL(jitrd_crl_fetch_s3_target(NULL, &obj, t, &diag), JITRD_ERR_INVALID_ARG);
	free(t);
}

static void test_s3_error_code(void)
{
	static const struct {
		const char *body;
		const char *code; /* "" : none */
	} cases[] = {
	    {"<?xml version=\"1.0\" "
	     "encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The "
	     "specified key does not exist.</Message><Key>crl/x</Key></Error>",
	     "NoSuchKey"},
	    {"<Error><Code>SignatureDoesNotMatch</Code></Error>", "SignatureDoesNotMatch"},
	    {"<Error><Message>no code</Message></Error>", ""},
	    {"<Error><Code></Code></Error>", ""},
	    {"<Error><Code>No<script>x</script></Code></Error>", ""},
	    {"<Error><Code>No Such</Code></Error>", ""},
	    {"<Error><Code>NoSuchKey", ""},
	    {"<Error><Code>NoSuchKey</Co", ""},
	    {"<Code>", ""},
	    {"", ""},
	    {"<Error><Code>AKIAIOSFODNN7EXAMPLE\x1b[2J</Code></Error>", ""},
	};
	char code[64], big[70 * 1024];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool found = jitrd_crl_fetch_s3_error_code(cases[i].body, strlen(cases[i].body),
		                                           code, sizeof(code));

		CU_ASSERT_EQUAL(found, cases[i].code[0] != '\0');
		CU_ASSERT_STRING_EQUAL(code, cases[i].code);
	}
	/* Bounded by len (not NUL), by the buffer, and by 64 KiB of search. */
	CU_ASSERT(!jitrd_crl_fetch_s3_error_code("<Code>NoSuchKey</Code>", 20, code, sizeof(code)));
	CU_ASSERT(!jitrd_crl_fetch_s3_error_code("<Code>NoSuchKey</Code>", 22, code, 9));
	CU_ASSERT(jitrd_crl_fetch_s3_error_code("<Code>NoSuchKey</Code>", 22, code, 10));
	CU_ASSERT_STRING_EQUAL(code, "NoSuchKey");
	memset(big, ' ', sizeof(big));
	memcpy(big + sizeof(big) - 30, "<Code>NoSuchKey</Code>", 22);
	CU_ASSERT(!jitrd_crl_fetch_s3_error_code(big, sizeof(big), code, sizeof(code)));
	memcpy(big + 100, "<Code>AccessDenied</Code>", 25);
	CU_ASSERT(jitrd_crl_fetch_s3_error_code(big, sizeof(big), code, sizeof(code)));
	CU_ASSERT_STRING_EQUAL(code, "AccessDenied");
	CU_ASSERT(!jitrd_crl_fetch_s3_error_code(NULL, 10, code, sizeof(code)));
	CU_ASSERT(!jitrd_crl_fetch_s3_error_code("<Code>A</Code>", 14, NULL, 0));
}

/* [crl] s3_* (and [aws] region) into the fetch's S3 settings. */
static void test_s3_from_config(void)
{
	static const char derived[] = "[aws]\nregion = eu-west-2\n[crl]\n"
				      "s3_endpoint = http://127.0.0.1:9000\ns3_addressing = path\n";
	static const char own[] = "[aws]\nregion = eu-west-2\n[crl]\ns3_region = ap-south-1\n";
	struct jitrd_config *cfg = NULL;
	struct jitrd_crl_fetch_s3 s3;
	struct jitrd_diag diag = {{0}};
	int token;

	CU_ASSERT_EQUAL_FATAL(
	    jitrd_config_parse("t.conf", derived, strlen(derived), NULL, NULL, &cfg, &diag),
	    JITRD_OK);
	jitrd_crl_fetch_s3_from_config(cfg, (struct jitrd_credentials_provider *)&token, &s3);
	CU_ASSERT_STRING_EQUAL(s3.region, "eu-west-2");
	CU_ASSERT_STRING_EQUAL(s3.endpoint, "http://127.0.0.1:9000");
	CU_ASSERT_TRUE(s3.path_style);
	CU_ASSERT_PTR_EQUAL(s3.credentials, (void *)&token);
	jitrd_config_free(cfg);
	CU_ASSERT_EQUAL_FATAL(
	    jitrd_config_parse("t.conf", own, strlen(own), NULL, NULL, &cfg, &diag), JITRD_OK);
	jitrd_crl_fetch_s3_from_config(cfg, NULL, &s3);
	CU_ASSERT_STRING_EQUAL(s3.region, "ap-south-1");
	CU_ASSERT_STRING_EQUAL(s3.endpoint, "");
	CU_ASSERT_FALSE(s3.path_style);
	CU_ASSERT_PTR_NULL(s3.credentials);
	jitrd_config_free(cfg);
}

/* A GET of a key S3 escapes, signed by jitrd and by botocore 1.43's S3SigV4Auth (add_auth at
 * 2030-06-01T00:00:00Z, the AWS documentation's example keys; the URL is the one boto3 sends for
 * get_object with path-style addressing): same URL, same canonical request, same signature,
 * without and with a session token. moto cannot check these (it signs the decoded path). */
static void test_s3_signature_as_botocore(void)
{
	static const char creq_expected[] =
	    "GET\n"
	    "/jitrd-crls/crl/with%20space%2Bplus/%C3%A9%E2%82%AC%25%3D~.crl\n"
	    "\n"
	    "host:127.0.0.1:9\n"
	    "x-amz-content-sha256:"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
	    "x-amz-date:20300601T000000Z\n"
	    "\n"
	    "host;x-amz-content-sha256;x-amz-date\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	struct jitrd_crl_fetch_s3 s3 = {"us-east-1", "http://127.0.0.1:9", false, NULL};
	struct jitrd_crl_fetch_s3_object obj;
	struct jitrd_crl_fetch_s3_target *t = malloc(sizeof(*t));
	struct jitrd_sigv4_header host, date = {"x-amz-date", "20300601T000000Z"};
	struct jitrd_sigv4_request req;
	struct jitrd_sigv4_credentials creds = {"AKIDEXAMPLE",
	                                        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};
	struct jitrd_sigv4_scope scope = {"us-east-1", "s3", JITRD_TEST_NOW};
	struct jitrd_sigv4_result signed_req = {0};
	char *creq = NULL, *names = NULL;
	struct jitrd_diag diag = {{0}};

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL_FATAL(
	    jitrd_crl_fetch_s3_parse(
		"s3://jitrd-crls/crl/with space+plus/\xc3\xa9\xe2\x82\xac%=~.crl", &obj, &diag),
	    JITRD_OK);
	CU_ASSERT_EQUAL_FATAL(jitrd_crl_fetch_s3_target(&s3, &obj, t, &diag), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(
	    t->url,
	    "http://127.0.0.1:9/jitrd-crls/crl/with%20space%2Bplus/%C3%A9%E2%82%AC%25%3D~.crl");
	jitrd_crl_fetch_s3_sigv4_request(t, &host, &req);
	CU_ASSERT_EQUAL(jitrd_sigv4_canonical_request(&req, &date, 1, &creq, &names), JITRD_OK);
	CU_ASSERT(creq && strcmp(creq, creq_expected) == 0);
	CU_ASSERT_EQUAL(jitrd_sigv4_sign(&req, &creds, &scope, &signed_req), JITRD_OK);
	CU_ASSERT(
	    signed_req.authorization &&
	    strcmp(signed_req.authorization,
	           "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20300601/us-east-1/s3/aws4_request, "
	           "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
	           "Signature=b06306d2c4d5e1fe1bdb64380292f9dc9a9331af09e7ce195a1b6beec71abc46") ==
		0);
	jitrd_sigv4_result_cleanup(&signed_req);
	creds.session_token = "FQoGZXIvYXdzEXAMPLETOKEN/+=";
	CU_ASSERT_EQUAL(jitrd_sigv4_sign(&req, &creds, &scope, &signed_req), JITRD_OK);
	CU_ASSERT(
	    signed_req.authorization &&
	    strcmp(signed_req.authorization,
	           "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20300601/us-east-1/s3/aws4_request, "
	           "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, "
	           "Signature=646a9fe90368834695e5d3d8c99d8b6a903f960e796f5880cc410f8e7044c17c") ==
		0);
	CU_ASSERT(signed_req.security_token &&
	          strcmp(signed_req.security_token, creds.session_token) == 0);
	jitrd_sigv4_result_cleanup(&signed_req);
	free(creq);
	free(names);
	free(t);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"header parser: hostile lines", test_header_parser},
	    {"bad schemes refused before any I/O", test_bad_schemes},
	    {"conditional GET: 200, 304, changed", test_conditional_get},
	    {"size cap by Content-Length", test_cap_by_content_length},
	    {"size cap by a streamed body", test_cap_by_stream},
	    {"redirects", test_redirects},
	    {"https: verification, no https to http", test_https},
	    {"timeout, statuses, refused", test_failures},
	    {"hostile validators", test_hostile_validators_from_server},
	    {"URL redacted in messages", test_url_redacted},
	    {"s3:// URLs: bucket and key rules", test_s3_parse},
	    {"s3:// URLs: addressing and endpoints", test_s3_target},
	    {"S3 error documents: <Code> only, bounded", test_s3_error_code},
	    {"S3 signature as botocore's", test_s3_signature_as_botocore},
	    {"S3 settings from the configuration", test_s3_from_config},
	    {NULL, NULL},
	};
	const char *tmp = getenv("TMPDIR");
	int status = 1;

	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "%s/crl_fetch.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		dir[0] = '\0';
		return 1;
	}
	snprintf(crl_path, sizeof(crl_path), "%s/crl.pem", dir);
	snprintf(cert_path, sizeof(cert_path), "%s/server.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/server.key", dir);
	{
		char *const argv[] = {"openssl",
		                      "req",
		                      "-x509",
		                      "-newkey",
		                      "ec",
		                      "-pkeyopt",
		                      "ec_paramgen_curve:P-256",
		                      "-nodes",
		                      "-keyout",
		                      key_path,
		                      "-out",
		                      cert_path,
		                      "-days",
		                      "2",
		                      "-subj",
		                      "/CN=127.0.0.1",
		                      "-addext",
		                      "subjectAltName=IP:127.0.0.1",
		                      NULL};

		if (run_quiet(argv) != 0) {
			fprintf(stderr, "openssl req failed\n");
			goto cleanup;
		}
	}
	if (start_server() != 0) {
		fprintf(stderr, "crl_server.py did not start\n");
		goto cleanup;
	}
	atexit(stop_server);
	status = tsupport_run("crl_fetch", cases);
cleanup:
	stop_server();
	remove_dir();
	return status;
}
