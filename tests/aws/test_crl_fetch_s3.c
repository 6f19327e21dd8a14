/* test_crl_fetch_s3.c — jitrd_crl_fetch of s3:// URLs against a real S3-compatible endpoint on
 * 127.0.0.1: moto's ThreadedMotoServer (tests/aws/s3_server.py, a child process that ends when
 * this program does, or by itself after 120 s), which verifies every request's SigV4 signature
 * and session token and authorizes it against IAM policies. DER and PEM CRLs, conditional GET,
 * S3's errors, escaped keys, the size cap, the session token, refusals before any I/O. Exits 77
 * (skipped) where Python's moto is not installed. */
#include "jitrd/crl_fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jitrd/credentials.h"
#include "crl_fetch_poison.h"
#include "testsupport.h"

#define BUCKET "s3://jitrd-crls/"

static pid_t server_pid = -1;
static int server_stdin = -1;
static FILE *server_stdout;
static char endpoint[64];
static char key_id[129], secret[129], session_key_id[129], session_secret[129];
static char session_token[4096];

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int moto_available(void)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return 0;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execlp("python3", "python3", "-c", "import moto.server, boto3", (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void stop_server(void)
{
	if (server_stdout) {
		fclose(server_stdout);
		server_stdout = NULL;
	}
	if (server_stdin >= 0) {
		close(server_stdin); /* the server's cue to stop */
		server_stdin = -1;
	}
	if (server_pid > 0) {
		for (int i = 0; i < 50 && waitpid(server_pid, NULL, WNOHANG) == 0; i++)
			usleep(100000);
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
		server_pid = -1;
	}
}

static int start_server(void)
{
	const char *root = getenv("JITRD_SOURCE_ROOT");
	const char *fixtures = getenv("JITRD_FIXTURES");
	char script[4096], line[8192] = "";
	int out[2], in[2], port = 0;
	FILE *from;

	if (!root || !fixtures ||
	    snprintf(script, sizeof(script), "%s/tests/aws/s3_server.py", root) >=
	        (int)sizeof(script))
		return -1;
	if (pipe(out) != 0 || pipe(in) != 0)
		return -1;
	server_pid = fork();
	if (server_pid < 0)
		return -1;
	if (server_pid == 0) {
		close(out[0]);
		close(in[1]);
		dup2(out[1], 1);
		dup2(in[0], 0);
		/* Should this test crash, the server dies with it (and by itself after 120 s). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execlp("python3", "python3", script, "--fixtures", fixtures, "--lifetime", "120",
		       (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	close(in[0]);
	server_stdin = in[1];
	from = fdopen(out[0], "r");
	if (!from)
		return -1;
	if (!fgets(line, sizeof(line), from) ||
	    sscanf(line, "READY %d %128s %128s %128s %128s %4095s", &port, key_id, secret,
	           session_key_id, session_secret, session_token) != 6) {
		fclose(from);
		return -1;
	}
	server_stdout = from; /* for the answers to "auth off" and "auth on" */
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", port);
	return port > 0 ? 0 : -1;
}

/* A credentials chain that finds these in its environment. */
static struct jitrd_credentials_provider *provider(const char *id, const char *key,
                                                   const char *token)
{
	static char env[3][4200];
	const char *envp[4] = {env[0], env[1], token ? env[2] : NULL, NULL};
	struct jitrd_credentials_options opts;
	struct jitrd_credentials_provider *p = NULL;
	struct jitrd_diag diag = {{0}};

	snprintf(env[0], sizeof(env[0]), "AWS_ACCESS_KEY_ID=%s", id);
	snprintf(env[1], sizeof(env[1]), "AWS_SECRET_ACCESS_KEY=%s", key);
	snprintf(env[2], sizeof(env[2]), "AWS_SESSION_TOKEN=%s", token ? token : "");
	jitrd_credentials_options_init(&opts);
	opts.envp = envp;
	if (jitrd_credentials_new(&opts, &p, &diag) != JITRD_OK)
		return NULL;
	return p;
}

static struct jitrd_credentials_provider *user_creds;

static enum jitrd_err fetch_with(struct jitrd_credentials_provider *creds, const char *url,
                                 size_t max_size, const struct jitrd_crl_fetch_cache *known,
                                 struct jitrd_crl_fetch_result *out, struct jitrd_diag *diag)
{
	struct jitrd_crl_fetch_s3 s3 = {"us-east-1", endpoint, false, creds};
	struct jitrd_crl_fetch_options opts = {0};

	opts.url = url;
	opts.max_size = max_size;
	opts.timeout_ms = 20000;
	opts.s3 = &s3;
	diag->text[0] = '\0';
	return jitrd_crl_fetch(&opts, known, out, diag);
}

static enum jitrd_err fetch(const char *url, const struct jitrd_crl_fetch_cache *known,
                            struct jitrd_crl_fetch_result *out, struct jitrd_diag *diag)
{
	return fetch_with(user_creds, url, 0, known, out, diag);
}

/* The fetched bytes are the fixture's, byte for byte. */
static void assert_body_is(const struct jitrd_crl_fetch_result *r, const char *fixture)
{
	size_t len = 0;
	char *want = tsupport_read_fixture(fixture, &len);

	CU_ASSERT_PTR_NOT_NULL(r->body);
	CU_ASSERT_EQUAL(r->body_len, len);
	CU_ASSERT(want && r->body && r->body_len == len && memcmp(r->body, want, len) == 0);
	free(want);
}

static void test_der_and_pem(void)
{
	struct jitrd_crl_fetch_result der = {0}, pem = {0};
	struct jitrd_diag diag = {{0}};

	CU_ASSERT_EQUAL_FATAL(fetch(BUCKET "crl/ca2.crl", NULL, &der, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(der.status, JITRD_CRL_FETCH_NEW);
	assert_body_is(&der, "crls/ca2.crl.der");
	CU_ASSERT(der.etag[0] == '"' && strlen(der.etag) > 2);
	CU_ASSERT(strstr(der.last_modified, " GMT") != NULL);
	CU_ASSERT_STRING_EQUAL(der.final_url, BUCKET "crl/ca2.crl");

	CU_ASSERT_EQUAL_FATAL(fetch(BUCKET "crl/ca1.crl.pem", NULL, &pem, &diag), JITRD_OK);
	assert_body_is(&pem, "crls/ca1.crl.pem");
	CU_ASSERT(pem.body && strncmp((char *)pem.body, "-----BEGIN X509 CRL-----", 24) == 0);
	jitrd_crl_fetch_result_cleanup(&der);
	jitrd_crl_fetch_result_cleanup(&pem);
}

static void test_conditional(void)
{
	struct jitrd_crl_fetch_result first = {0}, again = {0}, by_date = {0}, other = {0};
	struct jitrd_crl_fetch_cache known = {0};
	struct jitrd_diag diag = {{0}};

	CU_ASSERT_EQUAL_FATAL(fetch(BUCKET "crl/ca2.crl", NULL, &first, &diag), JITRD_OK);
	known.etag = first.etag;
	CU_ASSERT_EQUAL_FATAL(fetch(BUCKET "crl/ca2.crl", &known, &again, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(again.status, JITRD_CRL_FETCH_NOT_MODIFIED);
	CU_ASSERT_PTR_NULL(again.body);
	/* If-Modified-Since alone. */
	known.etag = NULL;
	known.last_modified = first.last_modified;
	CU_ASSERT_EQUAL_FATAL(fetch(BUCKET "crl/ca2.crl", &known, &by_date, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(by_date.status, JITRD_CRL_FETCH_NOT_MODIFIED);
	/* Another object's ETag: the object itself. */
	known.etag = first.etag;
	known.last_modified = NULL;
	CU_ASSERT_EQUAL_FATAL(fetch(BUCKET "crl/ca1.crl.pem", &known, &other, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(other.status, JITRD_CRL_FETCH_NEW);
	assert_body_is(&other, "crls/ca1.crl.pem");
	jitrd_crl_fetch_result_cleanup(&first);
	jitrd_crl_fetch_result_cleanup(&again);
	jitrd_crl_fetch_result_cleanup(&by_date);
	jitrd_crl_fetch_result_cleanup(&other);
}

/* One failing fetch: the error, S3's code and the object named in diag, *out untouched. */
static void expect_error(struct jitrd_credentials_provider *creds, const char *url,
                         enum jitrd_err want, const char *code, const char *named)
{
	struct jitrd_crl_fetch_result r;
	struct jitrd_diag diag = {{0}};

	poison(&r);
	CU_ASSERT_EQUAL(fetch_with(creds, url, 0, NULL, &r, &diag), want);
	CU_ASSERT(untouched(&r));
	if (!strstr(diag.text, code) || !strstr(diag.text, named))
		fprintf(stderr, "\n  %s: diag \"%s\" lacks \"%s\" or \"%s\"\n", url, diag.text,
		        code, named);
	CU_ASSERT(strstr(diag.text, code) != NULL);
	CU_ASSERT(strstr(diag.text, named) != NULL);
	/* Never a credential. */
	CU_ASSERT(strstr(diag.text, secret) == NULL);
	CU_ASSERT(strstr(diag.text, "Signature=") == NULL);
}

static void test_s3_errors(void)
{
	struct jitrd_credentials_provider *wrong_secret =
	    provider(key_id, "0123456789abcdef", NULL);
	struct jitrd_credentials_provider *unknown =
	    provider("AKIAUNKNOWN0000000000", secret, NULL);
	const struct {
		struct jitrd_credentials_provider *creds;
		const char *url, *said;
	} cases[] = {
	    {user_creds, BUCKET "crl/missing.crl", "HTTP 404 NoSuchKey"},
	    /* Granted, but the bucket does not exist. */
	    {user_creds, "s3://jitrd-missing/crl/ca2.crl", "HTTP 404 NoSuchBucket"},
	    /* Outside the grant, which covers only the crl/ prefix. */
	    {user_creds, BUCKET "private/ca.crl", "HTTP 403 AccessDenied"},
	    {wrong_secret, BUCKET "crl/ca2.crl", "HTTP 403 SignatureDoesNotMatch"},
	    {unknown, BUCKET "crl/ca2.crl", "HTTP 403 InvalidAccessKeyId"},
	};

	CU_ASSERT_PTR_NOT_NULL_FATAL(wrong_secret);
	CU_ASSERT_PTR_NOT_NULL_FATAL(unknown);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].creds, cases[i].url, JITRD_ERR_API, cases[i].said,
		             cases[i].url);
	jitrd_credentials_free(wrong_secret);
	jitrd_credentials_free(unknown);
}

/* Sends "auth off" or "auth on" to s3_server.py; 0 once it answered OK. */
static int set_auth(const char *command)
{
	char answer[16] = "";

	if (server_stdin < 0 || !server_stdout ||
	    write(server_stdin, command, strlen(command)) != (ssize_t)strlen(command) ||
	    !fgets(answer, sizeof(answer), server_stdout))
		return -1;
	return strcmp(answer, "OK\n") == 0 ? 0 : -1;
}

static void test_escaped_keys(void)
{
	struct jitrd_crl_fetch_result r = {0};
	struct jitrd_diag diag = {{0}};

	/* Space, '+', UTF-8 (é, €), '%', '=' and '~'. moto checks signatures against the decoded
	 * path, so it refuses any correctly signed request for such a key (boto3's as well): the
	 * signature is checked against botocore's in test_crl_fetch ("S3 signature as
	 * botocore's"); here, with moto's checks off, that the URL names the right object. */
	CU_ASSERT_EQUAL_FATAL(set_auth("auth off\n"), 0);
	CU_ASSERT_EQUAL(
	    fetch(BUCKET "crl/with space+plus/\xc3\xa9\xe2\x82\xac%=~.crl", NULL, &r, &diag),
	    JITRD_OK);
	if (r.body)
		assert_body_is(&r, "crls/ca2.crl.der");
	else
		fprintf(stderr, "\n  %s\n", diag.text);
	jitrd_crl_fetch_result_cleanup(&r);
	/* Encoded once: a '%20' in the key is a '%', not a space, so another (missing) object. */
	expect_error(user_creds, BUCKET "crl/with%20space+plus/\xc3\xa9\xe2\x82\xac%=~.crl",
	             JITRD_ERR_API, "NoSuchKey", "with%20space");
	CU_ASSERT_EQUAL_FATAL(set_auth("auth on\n"), 0);
	/* Checks on again: outside the grant is refused once more. */
	expect_error(user_creds, BUCKET "private/ca.crl", JITRD_ERR_API, "AccessDenied",
	             BUCKET "private/ca.crl");
}

static void test_size_cap(void)
{
	struct jitrd_crl_fetch_result r;
	struct jitrd_diag diag = {{0}};

	poison(&r);
	CU_ASSERT_EQUAL(fetch_with(user_creds, BUCKET "crl/big.crl", 99999, NULL, &r, &diag),
	                JITRD_ERR_TOO_LARGE);
	CU_ASSERT(untouched(&r));
	CU_ASSERT(strstr(diag.text, BUCKET "crl/big.crl") != NULL);
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(fetch_with(user_creds, BUCKET "crl/big.crl", 100000, NULL, &r, &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL(r.body_len, 100000);
	jitrd_crl_fetch_result_cleanup(&r);
}

static void test_session_token(void)
{
	struct jitrd_credentials_provider *session =
	    provider(session_key_id, session_secret, session_token);
	struct jitrd_credentials_provider *no_token =
	    provider(session_key_id, session_secret, NULL);
	struct jitrd_credentials_provider *bad_token =
	    provider(session_key_id, session_secret, "AQoDYXdzEJr-not-the-token");
	struct jitrd_crl_fetch_result r = {0};
	struct jitrd_diag diag = {{0}};

	CU_ASSERT_PTR_NOT_NULL_FATAL(session);
	CU_ASSERT_PTR_NOT_NULL_FATAL(no_token);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bad_token);
	/* moto accepts the role session's keys only with its token in X-Amz-Security-Token. */
	CU_ASSERT_EQUAL(fetch_with(session, BUCKET "crl/ca2.crl", 0, NULL, &r, &diag), JITRD_OK);
	assert_body_is(&r, "crls/ca2.crl.der");
	jitrd_crl_fetch_result_cleanup(&r);
	/* A wrong token, or none: refused. */
	expect_error(bad_token, BUCKET "crl/ca2.crl", JITRD_ERR_API, "InvalidToken", "ca2.crl");
	expect_error(no_token, BUCKET "crl/ca2.crl", JITRD_ERR_API, "HTTP 403", "ca2.crl");
	jitrd_credentials_free(session);
	jitrd_credentials_free(no_token);
	jitrd_credentials_free(bad_token);
}

/* A signed request to a loopback http endpoint never goes through a proxy of the
 * environment, which would see it in the clear (here a dead one). */
static void test_no_proxy_for_http(void)
{
	struct jitrd_crl_fetch_result r = {0};
	struct jitrd_diag diag = {{0}};

	CU_ASSERT_EQUAL_FATAL(tsupport_dead_proxy_set(), 0);
	CU_ASSERT_EQUAL(fetch(BUCKET "crl/ca2.crl", NULL, &r, &diag), JITRD_OK);
	if (r.body)
		assert_body_is(&r, "crls/ca2.crl.der");
	else
		fprintf(stderr, "\n  %s\n", diag.text);
	jitrd_crl_fetch_result_cleanup(&r);
	tsupport_dead_proxy_clear();
}

static void test_refused_before_io(void)
{
	/* Non-routable (TEST-NET-1) and a name: a connection would hang or resolve. */
	static const char *const remote[] = {"http://192.0.2.1:9000", "http://example.com",
	                                     "http://[2001:db8::1]:9000", "ftp://127.0.0.1:21",
	                                     "http://127.0.0.1:9000/prefix"};
	struct jitrd_crl_fetch_s3 s3 = {"us-east-1", NULL, false, user_creds};
	struct jitrd_crl_fetch_options opts = {0};
	struct jitrd_crl_fetch_result r;
	struct jitrd_diag diag = {{0}};
	long long start = mono_ms();

	opts.url = BUCKET "crl/ca2.crl";
	opts.s3 = &s3;
	for (size_t i = 0; i < sizeof(remote) / sizeof(remote[0]); i++) {
		s3.endpoint = remote[i];
		poison(&r);
		CU_ASSERT_EQUAL(jitrd_crl_fetch(&opts, NULL, &r, &diag), JITRD_ERR_INVALID_ARG);
		CU_ASSERT(untouched(&r));
		CU_ASSERT(strstr(diag.text, "s3_endpoint") != NULL);
	}
	CU_ASSERT(mono_ms() - start < 1000);
	/* No S3 settings, or no credentials: refused, not sent unsigned. */
	opts.s3 = NULL;
	CU_ASSERT_EQUAL(jitrd_crl_fetch(&opts, NULL, &r, &diag), JITRD_ERR_INVALID_ARG);
	s3.endpoint = endpoint;
	s3.credentials = NULL;
	opts.s3 = &s3;
	CU_ASSERT_EQUAL(jitrd_crl_fetch(&opts, NULL, &r, &diag), JITRD_ERR_INVALID_ARG);
	CU_ASSERT(untouched(&r));
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"DER and PEM CRLs", test_der_and_pem},
	    {"conditional GET: 304 on ETag and on date", test_conditional},
	    {"S3 errors: NoSuchKey, NoSuchBucket, AccessDenied, bad signature", test_s3_errors},
	    {"keys with space, '+', UTF-8, '%'", test_escaped_keys},
	    {"size cap", test_size_cap},
	    {"session token sent and checked", test_session_token},
	    {"bad endpoints refused before any I/O", test_refused_before_io},
	    {"no proxy for a plain http endpoint", test_no_proxy_for_http},
	    {NULL, NULL},
	};
	int status = 1;

	signal(SIGPIPE, SIG_IGN);
	if (!moto_available()) {
		printf("SKIP: python3 cannot import moto (and boto3)\n");
		return 77;
	}
	if (start_server() != 0) {
		fprintf(stderr, "s3_server.py did not start\n");
		stop_server();
		return 1;
	}
	atexit(stop_server);
	user_creds = provider(key_id, secret, NULL);
	if (!user_creds) {
		fprintf(stderr, "credentials provider failed\n");
		goto cleanup;
	}
	status = tsupport_run("crl_fetch_s3", cases);
cleanup:
	jitrd_credentials_free(user_creds);
	stop_server();
	return status;
}
