/* test_credentials.c — the credential chain against local stand-ins (libmicrohttpd on
 * 127.0.0.1) of STS, the container endpoint and IMDSv2, plus the environment and shared files:
 * the request shapes each endpoint expects, chain order, expiry-driven refresh, malformed and
 * hostile answers, and that no message ever holds a secret or token. No test reaches an
 * address off this machine: every envp below disables IMDS or points it at the stand-in. */
#include "jitrd/credentials.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stub_server.h"
#include "testsupport.h"

#define KEY_ID  "AKIDEXAMPLE"
#define SECRET  "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TOKEN   "FQoGZXIvYXdzEXAMPLETOKEN/0123456789+abcdefABCDEF"
#define WEB_TOK "eyJhbGciOiJSUzI1NiJ9.WEBIDENTITYTOKEN.signature"
#define T0      ((time_t)1900000000)

/* ---- the stand-in: STS at /sts, container at /creds, IMDS at /latest/... ---- */

struct standin {
	pthread_mutex_t lock;
	int fetches;          /* credential answers given */
	int status;           /* non-200 to fail every answer */
	const char *override; /* a raw body to answer credential requests with */
	time_t expiration;
	int failures; /* request-shape checks that failed (asserted by the tests) */
	char last_auth[512];
	char last_body[4096];
	char last_session_name[128];
};

static struct standin sd;

static void standin_reset(void)
{
	pthread_mutex_lock(&sd.lock);
	sd.fetches = 0;
	sd.status = 200;
	sd.override = NULL;
	sd.expiration = T0 + 3600;
	sd.failures = 0;
	sd.last_auth[0] = sd.last_body[0] = sd.last_session_name[0] = '\0';
	pthread_mutex_unlock(&sd.lock);
}

static void iso8601(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char answer[8192]; /* guarded by sd.lock, copied by the server before unlock */

static void handle(void *ctx, const struct stub_request *req, struct stub_response *resp)
{
	const char *v;
	char when[32];

	(void)ctx;
	pthread_mutex_lock(&sd.lock);
	if (strcmp(req->path, "/sts") == 0) {
		/* AssumeRoleWithWebIdentity: unsigned form POST, JSON asked for. */
		v = stub_header(req, "Accept");
		if (strcmp(req->method, "POST") != 0 || !v || strcmp(v, "application/json") != 0 ||
		    stub_header(req, "Authorization") ||
		    !strstr(req->body, "Action=AssumeRoleWithWebIdentity") ||
		    !strstr(req->body, "Version=2011-06-15") ||
		    !strstr(req->body,
		            "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fjitrd") ||
		    !strstr(req->body, "WebIdentityToken=" WEB_TOK))
			sd.failures++;
		snprintf(sd.last_body, sizeof(sd.last_body), "%s", req->body);
		v = strstr(req->body, "RoleSessionName=");
		if (v)
			snprintf(sd.last_session_name, sizeof(sd.last_session_name), "%.*s",
			         (int)strcspn(v + 16, "&"), v + 16);
		sd.fetches++;
		snprintf(
		    answer, sizeof(answer),
		    "{\"AssumeRoleWithWebIdentityResponse\":{\"AssumeRoleWithWebIdentityResult\":"
		    "{\"Credentials\":{\"AccessKeyId\":\"ASIASTS%d\",\"SecretAccessKey\":\"" SECRET
		    "\",\"SessionToken\":\"" TOKEN "\",\"Expiration\":%lld.0},"
		    "\"SubjectFromWebIdentityToken\":\"sub\"},\"ResponseMetadata\":{}}}",
		    sd.fetches, (long long)sd.expiration);
	} else if (strcmp(req->path, "/creds") == 0) {
		v = stub_header(req, "Authorization");
		snprintf(sd.last_auth, sizeof(sd.last_auth), "%s", v ? v : "");
		if (strcmp(req->method, "GET") != 0)
			sd.failures++;
		sd.fetches++;
		iso8601(sd.expiration, when);
		snprintf(answer, sizeof(answer),
		         "{\"AccessKeyId\":\"ASIACTR%d\",\"SecretAccessKey\":\"" SECRET
		         "\",\"Token\":\"" TOKEN "\",\"Expiration\":\"%s\",\"RoleArn\":\"r\"}",
		         sd.fetches, when);
	} else if (strcmp(req->path, "/latest/api/token") == 0) {
		v = stub_header(req, "X-aws-ec2-metadata-token-ttl-seconds");
		if (strcmp(req->method, "PUT") != 0 || !v || strcmp(v, "21600") != 0) {
			resp->status = 400;
			sd.failures++;
		}
		resp->content_type = "text/plain";
		snprintf(answer, sizeof(answer), "IMDSSESSIONTOKEN==");
		goto done;
	} else if (strncmp(req->path, "/latest/meta-data/iam/security-credentials/", 43) == 0) {
		v = stub_header(req, "X-aws-ec2-metadata-token");
		if (!v || strcmp(v, "IMDSSESSIONTOKEN==") != 0 || strcmp(req->method, "GET") != 0) {
			resp->status = 401;
			sd.failures++;
			answer[0] = '\0';
			goto done;
		}
		if (req->path[43] == '\0') {
			resp->content_type = "text/plain";
			snprintf(answer, sizeof(answer), "jitrd-role\nsecond-role\n");
			goto done;
		}
		if (strcmp(req->path + 43, "jitrd-role") != 0) {
			resp->status = 404;
			sd.failures++;
			answer[0] = '\0';
			goto done;
		}
		sd.fetches++;
		iso8601(sd.expiration, when);
		snprintf(answer, sizeof(answer),
		         "{\"Code\":\"Success\",\"LastUpdated\":\"2030-01-01T00:00:00Z\",\"Type\":"
		         "\"AWS-HMAC\",\"AccessKeyId\":\"ASIAIMDS%d\",\"SecretAccessKey\":\"" SECRET
		         "\",\"Token\":\"" TOKEN "\",\"Expiration\":\"%s\"}",
		         sd.fetches, when);
	} else {
		resp->status = 404;
		answer[0] = '\0';
		goto done;
	}
	if (sd.override)
		snprintf(answer, sizeof(answer), "%s", sd.override);
	resp->status = sd.status;
done:
	resp->body = answer;
	pthread_mutex_unlock(&sd.lock);
}

static struct stub_server *server;
static char tmpdir[256];

/* ---- helpers ---- */

/* envp from "NAME=value" strings; {{URL}} is replaced by the stand-in's URL. */
struct env {
	char *vars[32];
	size_t n;
};

static void env_add(struct env *e, const char *fmt, const char *arg)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), fmt, arg);
	CU_ASSERT_FATAL(e->n < 31);
	e->vars[e->n] = strdup(buf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e->vars[e->n]);
	e->n++;
	e->vars[e->n] = NULL;
}

static void env_free(struct env *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->vars[i]);
	e->n = 0;
}

static struct jitrd_credentials_provider *provider_for(struct env *e, const char *profile)
{
	struct jitrd_credentials_options opts;
	struct jitrd_credentials_provider *p = NULL;
	struct jitrd_diag diag = {{0}};

	jitrd_credentials_options_init(&opts);
	opts.envp = (const char *const *)e->vars;
	opts.profile = profile;
	opts.timeout_ms = 2000;
	CU_ASSERT_EQUAL(jitrd_credentials_new(&opts, &p, &diag), JITRD_OK);
	return p;
}

static void write_file(const char *name, const char *text, char *path_out, size_t size)
{
	FILE *f;

	snprintf(path_out, size, "%s/%s", tmpdir, name);
	f = fopen(path_out, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

/* No message may hold a secret, a session token or a web identity token. */
static void assert_no_secret(const struct jitrd_diag *diag)
{
	CU_ASSERT_PTR_NULL(strstr(diag->text, SECRET));
	CU_ASSERT_PTR_NULL(strstr(diag->text, "wJalrXUtnFEMI"));
	CU_ASSERT_PTR_NULL(strstr(diag->text, TOKEN));
	CU_ASSERT_PTR_NULL(strstr(diag->text, "FQoGZXIvYXdz"));
	CU_ASSERT_PTR_NULL(strstr(diag->text, WEB_TOK));
	CU_ASSERT_PTR_NULL(strstr(diag->text, "WEBIDENTITYTOKEN"));
	CU_ASSERT_PTR_NULL(strstr(diag->text, "IMDSSESSIONTOKEN"));
	CU_ASSERT_PTR_NULL(strstr(diag->text, "CONTAINERAUTH"));
}

/* Expects failure: JITRD_ERR_CREDENTIALS, output untouched, a message without secrets that
 * contains expect_in_diag. */
static void expect_failure(struct jitrd_credentials_provider *p, time_t now,
                           const char *expect_in_diag)
{
	struct jitrd_credentials out;
	struct jitrd_diag diag = {{0}};

	memset(&out, 0x5a, sizeof(out));
	CU_ASSERT_EQUAL(jitrd_credentials_get(p, now, &out, &diag), JITRD_ERR_CREDENTIALS);
	CU_ASSERT_EQUAL((unsigned char)out.access_key_id[0], 0x5a);
	CU_ASSERT_EQUAL((unsigned char)out.secret_access_key[0], 0x5a);
	CU_ASSERT(diag.text[0] != '\0');
	if (expect_in_diag && !strstr(diag.text, expect_in_diag)) {
		fprintf(stderr, "diag \"%s\" lacks \"%s\"\n", diag.text, expect_in_diag);
		CU_FAIL("diag lacks the expected words");
	}
	assert_no_secret(&diag);
}

static void base_env(struct env *e)
{
	env_add(e, "HOME=%s/nohome", tmpdir);
	env_add(e, "AWS_EC2_METADATA_DISABLED=%s", "true");
}

/* ---- environment ---- */

static void test_environment(void)
{
	struct env e = {0};
	struct jitrd_credentials out;
	struct jitrd_diag diag = {{0}};
	struct jitrd_credentials_provider *p;

	base_env(&e);
	env_add(&e, "AWS_ACCESS_KEY_ID=%s", KEY_ID);
	env_add(&e, "AWS_SECRET_ACCESS_KEY=%s", SECRET);
	env_add(&e, "AWS_SESSION_TOKEN=%s", TOKEN);
	env_add(&e, "AWS_WEB_IDENTITY_TOKEN_FILE=%s", "/nonexistent"); /* later in the chain */
	p = provider_for(&e, NULL);
	CU_ASSERT_EQUAL(jitrd_credentials_source(p), JITRD_CREDENTIALS_NONE);
	CU_ASSERT_EQUAL(jitrd_credentials_get(p, T0, &out, &diag), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(out.access_key_id, KEY_ID);
	CU_ASSERT_STRING_EQUAL(out.secret_access_key, SECRET);
	CU_ASSERT_STRING_EQUAL(out.session_token, TOKEN);
	CU_ASSERT_EQUAL(out.expiration, 0);
	CU_ASSERT_EQUAL(jitrd_credentials_source(p), JITRD_CREDENTIALS_ENVIRONMENT);
	CU_ASSERT_STRING_EQUAL(jitrd_credentials_source_name(jitrd_credentials_source(p)),
	                       "environment");
	jitrd_credentials_cleanse(&out);
	CU_ASSERT_EQUAL(out.secret_access_key[0], '\0');
	jitrd_credentials_free(p);
	env_free(&e);
}

static void test_environment_broken(void)
{
	static const struct {
		const char *key_id, *secret, *token, *expect;
	} cases[] = {
	    {KEY_ID, NULL, NULL, "together"},
	    {NULL, SECRET, NULL, "together"},
	    {"AKID WITH SPACE", SECRET, NULL, "access key id"},
	    {KEY_ID, SECRET "\x01", NULL, "secret access key"},
	    {KEY_ID, SECRET, TOKEN "\n", "session token"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct env e = {0};
		struct jitrd_credentials_provider *p;

		base_env(&e);
		if (cases[i].key_id)
			env_add(&e, "AWS_ACCESS_KEY_ID=%s", cases[i].key_id);
		if (cases[i].secret)
			env_add(&e, "AWS_SECRET_ACCESS_KEY=%s", cases[i].secret);
		if (cases[i].token)
			env_add(&e, "AWS_SESSION_TOKEN=%s", cases[i].token);
		p = provider_for(&e, NULL);
		expect_failure(p, T0, cases[i].expect);
		CU_ASSERT_EQUAL(jitrd_credentials_source(p), JITRD_CREDENTIALS_NONE);
		jitrd_credentials_free(p);
		env_free(&e);
	}
}

static void test_nothing_configured(void)
{
	struct env e = {0};
	struct jitrd_credentials_provider *p;

	base_env(&e);
	p = provider_for(&e, NULL);
	expect_failure(p, T0, "no AWS credentials");
	jitrd_credentials_free(p);
	env_free(&e);
}

/* ---- web identity ---- */

static void web_identity_env(struct env *e, const char *token_text)
{
	char path[512];
	char url[128];

	write_file("web-token", token_text, path, sizeof(path));
	base_env(e);
	env_add(e, "AWS_WEB_IDENTITY_TOKEN_FILE=%s", path);
	env_add(e, "AWS_ROLE_ARN=%s", "arn:aws:iam::123456789012:role/jitrd");
	snprintf(url, sizeof(url), "%s/sts", stub_url(server));
	env_add(e, "AWS_STS_ENDPOINT=%s", url);
}

static void test_web_identity(void)
{
	struct env e = {0};
	struct jitrd_credentials out;
	struct jitrd_diag diag = {{0}};
	struct jitrd_credentials_provider *p;

	standin_reset();
	web_identity_env(&e, WEB_TOK "\n");
	env_add(&e, "AWS_ROLE_SESSION_NAME=%s", "fleet worker");
	/* Shared files would also answer: web identity comes first. */
	env_add(&e, "AWS_SHARED_CREDENTIALS_FILE=%s", tsupport_fixture("../../meson.build"));
	p = provider_for(&e, NULL);
	CU_ASSERT_EQUAL_FATAL(jitrd_credentials_get(p, T0, &out, &diag), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(out.access_key_id, "ASIASTS1");
	CU_ASSERT_STRING_EQUAL(out.secret_access_key, SECRET);
	CU_ASSERT_STRING_EQUAL(out.session_token, TOKEN);
	CU_ASSERT_EQUAL(out.expiration, T0 + 3600);
	CU_ASSERT_EQUAL(jitrd_credentials_source(p), JITRD_CREDENTIALS_WEB_IDENTITY);
	CU_ASSERT_EQUAL(sd.failures, 0);
	CU_ASSERT_STRING_EQUAL(sd.last_session_name, "fleet%20worker");
	if (sd.failures)
		fprintf(stderr, "STS body: %s\n", sd.last_body);
	jitrd_credentials_cleanse(&out);
	jitrd_credentials_free(p);
	env_free(&e);
}

static void test_web_identity_failures(void)
{
	static const struct {
		int status;
		const char *body;
		const char *expect;
	} cases[] = {
	    {403,
	     "{\"Error\":{\"Code\":\"AccessDenied\",\"Message\":\"token " WEB_TOK " refused\"}}",
	     "HTTP 403"},
	    {200, "not json " SECRET, "not JSON"},
	    {200, "{\"AssumeRoleWithWebIdentityResponse\":{}}", "not JSON"},
	    {200,
	     "{\"AssumeRoleWithWebIdentityResponse\":{\"AssumeRoleWithWebIdentityResult\":"
	     "{\"Credentials\":{\"AccessKeyId\":7,\"SecretAccessKey\":\"" SECRET
	     "\",\"SessionToken\":\"" TOKEN "\",\"Expiration\":1900003600}}}}",
	     "AccessKeyId"},
	    {200,
	     "{\"AssumeRoleWithWebIdentityResponse\":{\"AssumeRoleWithWebIdentityResult\":"
	     "{\"Credentials\":{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET
	     "\",\"SessionToken\":\"" TOKEN "\",\"Expiration\":\"soon\"}}}}",
	     "Expiration"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct env e = {0};
		struct jitrd_credentials_provider *p;

		standin_reset();
		sd.status = cases[i].status;
		sd.override = cases[i].body;
		web_identity_env(&e, WEB_TOK);
		p = provider_for(&e, NULL);
		expect_failure(p, T0, cases[i].expect);
		jitrd_credentials_free(p);
		env_free(&e);
	}
}

static void test_web_identity_misconfigured(void)
{
	struct env e = {0};
	struct jitrd_credentials_provider *p;

	/* No role ARN. */
	base_env(&e);
	env_add(&e, "AWS_WEB_IDENTITY_TOKEN_FILE=%s", "/nonexistent-token");
	p = provider_for(&e, NULL);
	expect_failure(p, T0, "AWS_ROLE_ARN");
	jitrd_credentials_free(p);
	env_free(&e);
	/* Unreadable token file. */
	base_env(&e);
	env_add(&e, "AWS_WEB_IDENTITY_TOKEN_FILE=%s", "/nonexistent-token");
	env_add(&e, "AWS_ROLE_ARN=%s", "arn:aws:iam::123456789012:role/jitrd");
	env_add(&e, "AWS_STS_ENDPOINT=%s", stub_url(server));
	p = provider_for(&e, NULL);
	expect_failure(p, T0, "cannot open");
	jitrd_credentials_free(p);
	env_free(&e);
	/* Plain http to a host that is not loopback: refused before any request. */
	base_env(&e);
	env_add(&e, "AWS_WEB_IDENTITY_TOKEN_FILE=%s", "/nonexistent-token");
	env_add(&e, "AWS_ROLE_ARN=%s", "arn:aws:iam::123456789012:role/jitrd");
	env_add(&e, "AWS_STS_ENDPOINT=%s", "http://192.0.2.1/sts");
	p = provider_for(&e, NULL);
	expect_failure(p, T0, "https");
	jitrd_credentials_free(p);
	env_free(&e);
}

/* ---- shared files ---- */

static void test_shared_files(void)
{
	char long_token[700];
	char text[4096], cred_path[512], conf_path[512];
	static const struct {
		const char *profile_opt, *profile_env;
		const char *key_id;
		int has_token;
	} cases[] = {
	    {NULL, NULL, "AKIDDEFAULT", 0},    {NULL, "dev", "AKIDDEV", 1},
	    {"dev", "other", "AKIDDEV", 1},    /* [aws] profile wins over AWS_PROFILE */
	    {"cfgonly", NULL, "AKIDCFG", 0},   /* only in config, as [profile cfgonly] */
	    {"both", NULL, "AKIDCREDBOTH", 0}, /* credentials file wins over config */
	};

	memset(long_token, 'T', sizeof(long_token) - 1);
	long_token[sizeof(long_token) - 1] = '\0';
	snprintf(text, sizeof(text),
	         "# comment\n[default]\naws_access_key_id = AKIDDEFAULT\n"
	         "aws_secret_access_key = " SECRET "\n\n[dev]\r\naws_access_key_id=AKIDDEV\r\n"
	         "aws_secret_access_key=" SECRET "\r\naws_session_token = %s\r\n"
	         "[both]\naws_access_key_id = AKIDCREDBOTH\naws_secret_access_key = " SECRET "\n",
	         long_token);
	write_file("credentials", text, cred_path, sizeof(cred_path));
	write_file("config",
	           "[default]\nregion = eu-west-1\n[profile cfgonly]\n"
	           "aws_access_key_id = AKIDCFG\naws_secret_access_key = " SECRET "\n"
	           "[cfgonly]\naws_access_key_id = WRONG\naws_secret_access_key = WRONG\n"
	           "[profile both]\naws_access_key_id = AKIDCONFBOTH\n"
	           "aws_secret_access_key = " SECRET "\n",
	           conf_path, sizeof(conf_path));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct env e = {0};
		struct jitrd_credentials out;
		struct jitrd_diag diag = {{0}};
		struct jitrd_credentials_provider *p;

		base_env(&e);
		env_add(&e, "AWS_SHARED_CREDENTIALS_FILE=%s", cred_path);
		env_add(&e, "AWS_CONFIG_FILE=%s", conf_path);
		if (cases[i].profile_env)
			env_add(&e, "AWS_PROFILE=%s", cases[i].profile_env);
		p = provider_for(&e, cases[i].profile_opt);
		CU_ASSERT_EQUAL(jitrd_credentials_get(p, T0, &out, &diag), JITRD_OK);
		CU_ASSERT_STRING_EQUAL(out.access_key_id, cases[i].key_id);
		CU_ASSERT_STRING_EQUAL(out.secret_access_key, SECRET);
		CU_ASSERT_STRING_EQUAL(out.session_token, cases[i].has_token ? long_token : "");
		CU_ASSERT_EQUAL(out.expiration, 0);
		CU_ASSERT_EQUAL(jitrd_credentials_source(p), JITRD_CREDENTIALS_SHARED_FILES);
		jitrd_credentials_free(p);
		env_free(&e);
	}
}

static void test_shared_files_home_and_missing_profile(void)
{
	char home[400], path[512];
	struct env e = {0};
	struct jitrd_credentials out;
	struct jitrd_diag diag = {{0}};
	struct jitrd_credentials_provider *p;

	snprintf(home, sizeof(home), "%s/home", tmpdir);
	snprintf(path, sizeof(path), "mkdir -p %s/.aws", home);
	CU_ASSERT_EQUAL_FATAL(system(path), 0);
	write_file("home/.aws/credentials",
	           "[default]\naws_access_key_id=AKIDHOME\naws_secret_access_key=" SECRET "\n",
	           path, sizeof(path));
	env_add(&e, "HOME=%s", home);
	env_add(&e, "AWS_EC2_METADATA_DISABLED=%s", "TRUE");
	p = provider_for(&e, NULL);
	CU_ASSERT_EQUAL(jitrd_credentials_get(p, T0, &out, &diag), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(out.access_key_id, "AKIDHOME");
	jitrd_credentials_free(p);
	/* A profile that no file has: skipped, and then nothing else is configured. */
	p = provider_for(&e, "absent");
	expect_failure(p, T0, "\"absent\"");
	jitrd_credentials_free(p);
	env_free(&e);
}

static void test_shared_files_broken(void)
{
	char long_line[400];
	char text[1024];
	static const char *const files[] = {
	    "[default]\naws_access_key_id = AKID\n", /* no secret */
	    "[default]\naws_secret_access_key = " SECRET "\n",
	    "[default\naws_access_key_id = AKID\naws_secret_access_key = " SECRET "\n",
	    "[default]\naws_access_key_id = AK ID\naws_secret_access_key = " SECRET "\n",
	    NULL, /* a long line that is not key = value, carrying the secret */
	};

	memset(long_line, 'x', sizeof(long_line) - 1);
	long_line[sizeof(long_line) - 1] = '\0';
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct env e = {0};
		struct jitrd_credentials_provider *p;
		char path[512];

		if (files[i])
			snprintf(text, sizeof(text), "%s", files[i]);
		else
			snprintf(text, sizeof(text),
			         "[default]\naws_access_key_id = AKID\n" SECRET "%s\n", long_line);
		write_file("broken-credentials", text, path, sizeof(path));
		base_env(&e);
		env_add(&e, "AWS_SHARED_CREDENTIALS_FILE=%s", path);
		p = provider_for(&e, NULL);
		expect_failure(p, T0, i == 2 || i == 4 ? "not a valid INI line" : "shared files");
		jitrd_credentials_free(p);
		env_free(&e);
	}
}

/* ---- container ---- */

static void test_container(void)
{
	char url[128], path[512];
	struct env e = {0};
	struct jitrd_credentials out;
	struct jitrd_diag diag = {{0}};
	struct jitrd_credentials_provider *p;

	standin_reset();
	snprintf(url, sizeof(url), "%s/creds", stub_url(server));
	base_env(&e);
	env_add(&e, "AWS_CONTAINER_CREDENTIALS_FULL_URI=%s", url);
	env_add(&e, "AWS_CONTAINER_AUTHORIZATION_TOKEN=%s", "CONTAINERAUTH-env");
	p = provider_for(&e, NULL);
	CU_ASSERT_EQUAL_FATAL(jitrd_credentials_get(p, T0, &out, &diag), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(out.access_key_id, "ASIACTR1");
	CU_ASSERT_STRING_EQUAL(out.secret_access_key, SECRET);
	CU_ASSERT_STRING_EQUAL(out.session_token, TOKEN);
	CU_ASSERT_EQUAL(out.expiration, T0 + 3600);
	CU_ASSERT_STRING_EQUAL(sd.last_auth, "CONTAINERAUTH-env");
	CU_ASSERT_EQUAL(jitrd_credentials_source(p), JITRD_CREDENTIALS_CONTAINER);
	jitrd_credentials_free(p);
	/* The token file wins over the variable, and is read at each fetch. */
	write_file("ctr-token", "CONTAINERAUTH-file\n", path, sizeof(path));
	env_add(&e, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=%s", path);
	p = provider_for(&e, NULL);
	CU_ASSERT_EQUAL(jitrd_credentials_get(p, T0, &out, &diag), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(sd.last_auth, "CONTAINERAUTH-file");
	write_file("ctr-token", "CONTAINERAUTH-rotated", path, sizeof(path));
	CU_ASSERT_EQUAL(jitrd_credentials_get(p, T0 + 3500, &out, &diag), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(sd.last_auth, "CONTAINERAUTH-rotated");
	CU_ASSERT_STRING_EQUAL(out.access_key_id, "ASIACTR3");
	CU_ASSERT_EQUAL(sd.failures, 0);
	jitrd_credentials_free(p);
	env_free(&e);
}

static void test_container_refused_uris(void)
{
	static const char *const urls[] = {
	    "http://192.0.2.10/creds",      /* documentation range, not allowed */
	    "http://169.254.169.254/creds", /* IMDS's address is not the container agent */
	    "http://example.com/creds",
	    "ftp://127.0.0.1/creds",
	    "http://127.0.0.1.example.com/x", /* a name, not loopback */
	    "not a url",
	};

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		struct env e = {0};
		struct jitrd_credentials_provider *p;

		base_env(&e);
		env_add(&e, "AWS_CONTAINER_CREDENTIALS_FULL_URI=%s", urls[i]);
		p = provider_for(&e, NULL);
		expect_failure(p, T0, "FULL_URI");
		jitrd_credentials_free(p);
		env_free(&e);
	}
	{
		struct env e = {0};
		struct jitrd_credentials_provider *p;

		base_env(&e);
		env_add(&e, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=%s", "@evil.example/creds");
		p = provider_for(&e, NULL);
		expect_failure(p, T0, "RELATIVE_URI");
		jitrd_credentials_free(p);
		env_free(&e);
	}
	{
		/* A token with a line break would inject a header: refused, not sent. */
		char url[128];
		struct env e = {0};
		struct jitrd_credentials_provider *p;

		standin_reset();
		snprintf(url, sizeof(url), "%s/creds", stub_url(server));
		base_env(&e);
		env_add(&e, "AWS_CONTAINER_CREDENTIALS_FULL_URI=%s", url);
		env_add(&e, "AWS_CONTAINER_AUTHORIZATION_TOKEN=%s", "CONTAINERAUTH\r\nX-Evil: 1");
		p = provider_for(&e, NULL);
		expect_failure(p, T0, "control");
		CU_ASSERT_EQUAL(sd.fetches, 0);
		jitrd_credentials_free(p);
		env_free(&e);
	}
}

static void test_container_bad_answers(void)
{
	static const struct {
		int status;
		const char *body;
		const char *expect;
	} cases[] = {
	    {500, "{\"code\":\"x\",\"message\":\"" SECRET "\"}", "HTTP 500"},
	    {200, "[\"" SECRET "\"]", "not a JSON object"},
	    {200, "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\"", "not a JSON object"},
	    {200,
	     "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\",\"Token\":\"" TOKEN
	     "\",\"Expiration\":\"2030-02-30T00:00:00Z\"}",
	     "Expiration"},
	    {200, "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":[],\"Token\":\"" TOKEN "\"}",
	     "SecretAccessKey"},
	    {200,
	     "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\\u0000x\",\"Token\":\"" TOKEN
	     "\",\"Expiration\":\"2030-01-01T00:00:00Z\"}",
	     "SecretAccessKey"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char url[128];
		struct env e = {0};
		struct jitrd_credentials_provider *p;

		standin_reset();
		sd.status = cases[i].status;
		sd.override = cases[i].body;
		snprintf(url, sizeof(url), "%s/creds", stub_url(server));
		base_env(&e);
		env_add(&e, "AWS_CONTAINER_CREDENTIALS_FULL_URI=%s", url);
		p = provider_for(&e, NULL);
		expect_failure(p, T0, cases[i].expect);
		jitrd_credentials_free(p);
		env_free(&e);
	}
}

/* ---- IMDSv2 ---- */

static void imds_env(struct env *e)
{
	env_add(e, "HOME=%s/nohome", tmpdir);
	env_add(e, "AWS_EC2_METADATA_SERVICE_ENDPOINT=%s/", stub_url(server));
}

static void test_imds(void)
{
	struct env e = {0};
	struct jitrd_credentials out;
	struct jitrd_diag diag = {{0}};
	struct jitrd_credentials_provider *p;

	standin_reset();
	imds_env(&e);
	p = provider_for(&e, NULL);
	CU_ASSERT_EQUAL_FATAL(jitrd_credentials_get(p, T0, &out, &diag), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(out.access_key_id, "ASIAIMDS1");
	CU_ASSERT_STRING_EQUAL(out.secret_access_key, SECRET);
	CU_ASSERT_STRING_EQUAL(out.session_token, TOKEN);
	CU_ASSERT_EQUAL(out.expiration, T0 + 3600);
	CU_ASSERT_EQUAL(jitrd_credentials_source(p), JITRD_CREDENTIALS_IMDS);
	CU_ASSERT_EQUAL(sd.failures, 0);
	jitrd_credentials_free(p);
	env_free(&e);
}

static void test_imds_failures(void)
{
	static const struct {
		int status;
		const char *body;
		const char *expect;
	} cases[] = {
	    {404, "", "HTTP 404"},
	    {200, "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"SecretAccessKey\":\"" SECRET "\"}",
	     "AssumeRoleUnauthorizedAccess"},
	    {200, "<html>" TOKEN "</html>", "not a JSON object"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct env e = {0};
		struct jitrd_credentials_provider *p;

		standin_reset();
		sd.status = cases[i].status;
		sd.override = cases[i].body;
		imds_env(&e);
		p = provider_for(&e, NULL);
		expect_failure(p, T0, cases[i].expect);
		jitrd_credentials_free(p);
		env_free(&e);
	}
	/* Nothing listening: a connection error, quickly, named as IMDS's. */
	{
		struct env e = {0};
		struct raw_script closed = {0};
		struct raw_server *raw = raw_start(&closed);
		struct jitrd_credentials_provider *p;

		CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
		env_add(&e, "HOME=%s/nohome", tmpdir);
		env_add(&e, "AWS_EC2_METADATA_SERVICE_ENDPOINT=%s", raw_url(raw));
		p = provider_for(&e, NULL);
		expect_failure(p, T0, "IMDS");
		jitrd_credentials_free(p);
		raw_stop(raw);
		env_free(&e);
	}
}

/* The metadata service and the container agent are reached directly, whatever proxy the
 * environment names (a dead one here, which a request sent through it would fail on). */
static void test_local_endpoints_bypass_proxy(void)
{
	struct jitrd_credentials out;
	struct jitrd_diag diag = {{0}};
	struct jitrd_credentials_provider *p;
	char url[128];

	/* libcurl reads these from the process's environment, not from the provider's envp. */
	CU_ASSERT_EQUAL_FATAL(tsupport_dead_proxy_set(), 0);
	{
		struct env e = {0};

		standin_reset();
		imds_env(&e);
		p = provider_for(&e, NULL);
		CU_ASSERT_EQUAL(jitrd_credentials_get(p, T0, &out, &diag), JITRD_OK);
		CU_ASSERT_STRING_EQUAL(out.access_key_id, "ASIAIMDS1");
		CU_ASSERT_EQUAL(sd.failures, 0);
		jitrd_credentials_free(p);
		env_free(&e);
	}
	{
		struct env e = {0};

		standin_reset();
		snprintf(url, sizeof(url), "%s/creds", stub_url(server));
		base_env(&e);
		env_add(&e, "AWS_CONTAINER_CREDENTIALS_FULL_URI=%s", url);
		p = provider_for(&e, NULL);
		CU_ASSERT_EQUAL(jitrd_credentials_get(p, T0, &out, &diag), JITRD_OK);
		CU_ASSERT_STRING_EQUAL(out.access_key_id, "ASIACTR1");
		jitrd_credentials_free(p);
		env_free(&e);
	}
	tsupport_dead_proxy_clear();
}

/* AWS_EC2_METADATA_SERVICE_ENDPOINT only on this host or its link: nothing is sent elsewhere. */
static void test_imds_endpoint_refused(void)
{
	static const char *const endpoints[] = {
	    "http://192.0.2.10",   /* documentation range: off the link */
	    "http://10.0.0.1:80/", /* private, routed */
	    "http://example.com",  /* a name is never trusted to be local */
	    "http://localhost",    /* a name too: resolution could say anything */
	    "http://169.254.169.254.example.com",
	    "http://[2001:db8::1]",  /* global IPv6 */
	    "ftp://169.254.169.254", /* not http */
	    "file:///etc/passwd",
	    "not a url",
	};

	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
		struct env e = {0};
		struct jitrd_credentials_provider *p;

		standin_reset();
		env_add(&e, "HOME=%s/nohome", tmpdir);
		env_add(&e, "AWS_EC2_METADATA_SERVICE_ENDPOINT=%s", endpoints[i]);
		p = provider_for(&e, NULL);
		expect_failure(p, T0, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
		CU_ASSERT_EQUAL(sd.fetches, 0);
		jitrd_credentials_free(p);
		env_free(&e);
	}
}

/* ---- refresh ---- */

static void test_refresh_before_expiry(void)
{
	struct env e = {0};
	struct jitrd_credentials out;
	struct jitrd_diag diag = {{0}};
	struct jitrd_credentials_provider *p;

	standin_reset();
	imds_env(&e);
	p = provider_for(&e, NULL); /* refresh 300 s before expiry */
	CU_ASSERT_EQUAL(jitrd_credentials_get(p, T0, &out, &diag), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(out.access_key_id, "ASIAIMDS1");
	/* Well before the window: from the cache, no request. */
	CU_ASSERT_EQUAL(jitrd_credentials_get(p, T0 + 3299, &out, &diag), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(out.access_key_id, "ASIAIMDS1");
	CU_ASSERT_EQUAL(sd.fetches, 1);
	/* Inside the window: fetched again. */
	pthread_mutex_lock(&sd.lock);
	sd.expiration = T0 + 7200;
	pthread_mutex_unlock(&sd.lock);
	CU_ASSERT_EQUAL(jitrd_credentials_get(p, T0 + 3300, &out, &diag), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(out.access_key_id, "ASIAIMDS2");
	CU_ASSERT_EQUAL(out.expiration, T0 + 7200);
	CU_ASSERT_EQUAL(sd.fetches, 2);
	/* The endpoint fails while the held ones are still valid: those are returned. */
	pthread_mutex_lock(&sd.lock);
	sd.status = 500;
	pthread_mutex_unlock(&sd.lock);
	CU_ASSERT_EQUAL(jitrd_credentials_get(p, T0 + 7000, &out, &diag), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(out.access_key_id, "ASIAIMDS2");
	/* Past expiry and still failing: an error, never expired credentials. */
	expect_failure(p, T0 + 7200, "HTTP 500");
	/* It recovers. */
	pthread_mutex_lock(&sd.lock);
	sd.status = 200;
	sd.expiration = T0 + 20000;
	pthread_mutex_unlock(&sd.lock);
	CU_ASSERT_EQUAL(jitrd_credentials_get(p, T0 + 7300, &out, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(out.expiration, T0 + 20000);
	jitrd_credentials_cleanse(&out);
	jitrd_credentials_free(p);
	env_free(&e);
}

struct getter {
	struct jitrd_credentials_provider *p;
	int ok;
};

static void *get_many(void *arg)
{
	struct getter *g = arg;

	for (int i = 0; i < 200; i++) {
		struct jitrd_credentials out;

		/* Time moves past the refresh point halfway through. */
		if (jitrd_credentials_get(g->p, i < 100 ? T0 : T0 + 3400, &out, NULL) == JITRD_OK &&
		    strncmp(out.access_key_id, "ASIACTR", 7) == 0 &&
		    strcmp(out.secret_access_key, SECRET) == 0)
			g->ok++;
		jitrd_credentials_cleanse(&out);
	}
	return NULL;
}

static void test_refresh_threads(void)
{
	char url[128];
	struct env e = {0};
	struct getter g[4];
	pthread_t t[4];

	standin_reset();
	pthread_mutex_lock(&sd.lock);
	sd.expiration = T0 + 3600;
	pthread_mutex_unlock(&sd.lock);
	snprintf(url, sizeof(url), "%s/creds", stub_url(server));
	base_env(&e);
	env_add(&e, "AWS_CONTAINER_CREDENTIALS_FULL_URI=%s", url);
	for (int i = 0; i < 4; i++) {
		g[i].p = i == 0 ? provider_for(&e, NULL) : g[0].p;
		g[i].ok = 0;
	}
	/* Keep answering with the same expiry: each refresh lands inside the window again,
	 * so every get at T0 + 3400 asks once more; concurrent ones must not collide. */
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, get_many, &g[i]), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(g[i].ok, 200);
	CU_ASSERT(sd.fetches >= 2);
	CU_ASSERT(sd.fetches <= 401);
	jitrd_credentials_free(g[0].p);
	env_free(&e);
}

static void test_invalid_arguments(void)
{
	struct jitrd_credentials_options opts;
	struct jitrd_credentials_provider *p = (struct jitrd_credentials_provider *)&opts;
	struct jitrd_credentials out;

	jitrd_credentials_options_init(&opts);
	opts.timeout_ms = 0;
	CU_ASSERT_EQUAL(jitrd_credentials_new(&opts, &p, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_PTR_EQUAL(p, (struct jitrd_credentials_provider *)&opts);
	jitrd_credentials_options_init(&opts);
	opts.region = "us-east-1/../evil";
	CU_ASSERT_EQUAL(jitrd_credentials_new(&opts, &p, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_credentials_new(NULL, &p, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_credentials_get(NULL, T0, &out, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(jitrd_credentials_source_name(JITRD_CREDENTIALS_IMDS), "imds");
	CU_ASSERT_STRING_EQUAL(jitrd_credentials_source_name((enum jitrd_credentials_source)99),
	                       "none");
	jitrd_credentials_free(NULL);
	jitrd_credentials_cleanse(NULL);
}

static int setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/jitrd-creds-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	pthread_mutex_init(&sd.lock, NULL);
	server = stub_start(handle, NULL);
	return server ? 0 : -1;
}

static void teardown(void)
{
	char cmd[300];

	stub_stop(server);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"environment", test_environment},
	    {"environment: broken settings", test_environment_broken},
	    {"nothing configured", test_nothing_configured},
	    {"web identity via STS stand-in", test_web_identity},
	    {"web identity: STS failures and bad answers", test_web_identity_failures},
	    {"web identity: misconfiguration", test_web_identity_misconfigured},
	    {"shared files: profiles", test_shared_files},
	    {"shared files: HOME and a missing profile",
	     test_shared_files_home_and_missing_profile},
	    {"shared files: broken files", test_shared_files_broken},
	    {"container: full URI, token and token file", test_container},
	    {"container: refused URIs and tokens", test_container_refused_uris},
	    {"container: bad answers", test_container_bad_answers},
	    {"IMDSv2 via stand-in", test_imds},
	    {"IMDSv2: failures", test_imds_failures},
	    {"IMDS and container endpoints bypass a proxy", test_local_endpoints_bypass_proxy},
	    {"IMDS endpoint only loopback or link-local", test_imds_endpoint_refused},
	    {"refresh before expiry", test_refresh_before_expiry},
	    {"refresh under threads", test_refresh_threads},
	    {"invalid arguments", test_invalid_arguments},
	    {NULL, NULL},
	};
	int status;

	if (setup() != 0) {
		fprintf(stderr, "test_credentials: cannot start the stand-in\n");
		return 1;
	}
	status = tsupport_run("credentials", cases);
	teardown();
	return status;
}
