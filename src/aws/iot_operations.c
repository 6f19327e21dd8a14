/* iot_client.c — AWS IoT control-plane operations over libcurl: paths, query strings, headers
 * and bodies as botocore's iot/2015-05-28 service model defines them, every request SigV4-signed,
 * transient errors retried with full-jitter backoff inside the caller's deadline, client-side
 * rate limits before each attempt. Responses are untrusted: bounded, parsed with json-c, typed.
 * Must not log, turn TLS verification off, or put a credential into a message. */
#include "jitrd/iot_client.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "awshttp.h"
#include "iot_client_parse.h"
#include "jitrd/ratelimit.h"
#include "jitrd/sigv4.h"

#define MAX_PATH      4096
#define MAX_QUERY     4096
#define MAX_LIST_ITEMS 1000000
#define MAX_PAGES     100000
/* The request's header lines: host, content-type, x-amzn-principal, x-amz-date, authorization,
 * x-amz-security-token, accept, and the two that switch curl's own off. Their text holds the
 * longest token and principal with room for the rest; beyond it a request is refused. */
#define HEADER_LINES    10
#define HEADER_TEXT_MAX (JITRD_SIGV4_MAX_VALUE_LEN + JITRD_IOT_MAX_PRINCIPAL + 4096)

static const char *const op_names[JITRD_IOT_OP_COUNT] = {
    [JITRD_IOT_DESCRIBE_CERTIFICATE] = "DescribeCertificate",
    [JITRD_IOT_UPDATE_CERTIFICATE] = "UpdateCertificate",
    [JITRD_IOT_CREATE_POLICY] = "CreatePolicy",
    [JITRD_IOT_GET_POLICY] = "GetPolicy",
    [JITRD_IOT_ATTACH_POLICY] = "AttachPolicy",
    [JITRD_IOT_LIST_ATTACHED_POLICIES] = "ListAttachedPolicies",
    [JITRD_IOT_CREATE_THING] = "CreateThing",
    [JITRD_IOT_DESCRIBE_THING] = "DescribeThing",
    [JITRD_IOT_ATTACH_THING_PRINCIPAL] = "AttachThingPrincipal",
    [JITRD_IOT_LIST_CERTIFICATES_BY_CA] = "ListCertificatesByCA",
    [JITRD_IOT_GET_REGISTRATION_CODE] = "GetRegistrationCode",
    [JITRD_IOT_REGISTER_CA_CERTIFICATE] = "RegisterCACertificate",
    [JITRD_IOT_DESCRIBE_CA_CERTIFICATE] = "DescribeCACertificate",
    [JITRD_IOT_UPDATE_CA_CERTIFICATE] = "UpdateCACertificate",
    [JITRD_IOT_REGISTER_CERTIFICATE] = "RegisterCertificate",
    [JITRD_IOT_LIST_THING_PRINCIPALS] = "ListThingPrincipals",
};

static const char *const status_names[] = {
    [JITRD_IOT_STATUS_NONE] = "",
    [JITRD_IOT_ACTIVE] = "ACTIVE",
    [JITRD_IOT_INACTIVE] = "INACTIVE",
    [JITRD_IOT_REVOKED] = "REVOKED",
    [JITRD_IOT_PENDING_TRANSFER] = "PENDING_TRANSFER",
    [JITRD_IOT_REGISTER_INACTIVE] = "REGISTER_INACTIVE",
    [JITRD_IOT_PENDING_ACTIVATION] = "PENDING_ACTIVATION",
};
#define STATUS_COUNT (sizeof(status_names) / sizeof(status_names[0]))

const char *jitrd_iot_op_name(enum jitrd_iot_op op)
{
	return (unsigned)op < JITRD_IOT_OP_COUNT ? op_names[op] : "Unknown";
}

const char *jitrd_iot_status_name(enum jitrd_iot_status status)
{
	return (unsigned)status < STATUS_COUNT ? status_names[status] : "";
}

struct jitrd_iot_client {
	char region[64];
	char service[32];
	char base_url[512]; /* scheme://host[:port] */
	char host[300];     /* Host header and the signed host: host[:port] */
	long connect_timeout_ms;
	long request_timeout_ms;
	size_t max_response;
	struct jitrd_backoff_policy backoff;
	void (*on_request)(void *ctx, enum jitrd_iot_op op, long http_status, double seconds);
	void *on_request_ctx;
	struct jitrd_credentials_provider *creds; /* borrowed */
	struct jitrd_ratelimit *limits;
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
};

/* The header list curl reads during one request, built in the session instead of a malloc
 * per line (curl_slist is a plain public list; curl only reads it). Wiped after each request:
 * it holds the session token. */
struct header_block {
	struct curl_slist lines[HEADER_LINES];
	size_t count;
	size_t used;
	char text[HEADER_TEXT_MAX];
};

struct jitrd_iot_session {
	struct jitrd_iot_client *client;
	CURL *easy;
	struct jitrd_credentials creds; /* scratch copy, wiped after each signing */
	/* The derived signing key of the last request: one HMAC per request instead of five
	 * while the date, region and access key id stay. Wiped on replacement and free. */
	struct jitrd_sigv4_key_cache key_cache;
	struct header_block headers;
	struct json_tokener *tok; /* reused for every response body (depth bound 32) */
};

/* ---- options and lifecycle ---- */

void jitrd_iot_client_options_init(struct jitrd_iot_client_options *opts,
				   const struct jitrd_config *cfg)
{
	memset(opts, 0, sizeof(*opts));
	opts->region = "us-east-1";
	opts->endpoint = "";
	opts->signing_name = "iot";
	for (int i = 0; i < JITRD_IOT_OP_COUNT; i++)
		opts->rates[i] = 10;
	/* DESIGN §4.2 defaults, AWS's quotas. */
	opts->rates[JITRD_IOT_ATTACH_POLICY] = 15;
	opts->rates[JITRD_IOT_CREATE_THING] = 15;
	opts->rates[JITRD_IOT_ATTACH_THING_PRINCIPAL] = 15;
	opts->connect_timeout_ms = 3000;
	opts->request_timeout_ms = 10000;
	opts->max_response_bytes = JITRD_IOT_MAX_RESPONSE;
	jitrd_backoff_policy_default(&opts->backoff);
	if (!cfg)
		return;
	opts->region = cfg->aws.region;
	opts->endpoint = cfg->aws.endpoint;
	opts->signing_name = cfg->aws.signing_name;
	opts->rates[JITRD_IOT_UPDATE_CERTIFICATE] = cfg->limits.update_certificate;
	opts->rates[JITRD_IOT_DESCRIBE_CERTIFICATE] = cfg->limits.describe_certificate;
	opts->rates[JITRD_IOT_CREATE_POLICY] = cfg->limits.create_policy;
	opts->rates[JITRD_IOT_ATTACH_POLICY] = cfg->limits.attach_policy;
	opts->rates[JITRD_IOT_CREATE_THING] = cfg->limits.create_thing;
	opts->rates[JITRD_IOT_ATTACH_THING_PRINCIPAL] = cfg->limits.attach_thing_principal;
	opts->rates[JITRD_IOT_LIST_CERTIFICATES_BY_CA] = cfg->limits.list_certificates_by_ca;
}

static void share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *userptr)
{
	struct jitrd_iot_client *c = userptr;

	(void)handle;
	(void)access;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *userptr)
{
	struct jitrd_iot_client *c = userptr;

	(void)handle;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&c->share_locks[data]);
}

static int region_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/* Checks the endpoint and fills base_url and host. */
static enum jitrd_err set_endpoint(struct jitrd_iot_client *c, const char *endpoint,
				   struct jitrd_diag *diag)
{
	char scheme[16], host[256], path[256], quoted[200];
	long port = 0;
	int is_v6;

	jitrd_quote(quoted, sizeof(quoted), endpoint, strlen(endpoint));
	if (jitrd_awshttp_url_parts(endpoint, scheme, sizeof(scheme), host, sizeof(host), &port,
				    path, sizeof(path)) != 0 ||
	    strchr(endpoint, '@') || strchr(endpoint, '?') || strchr(endpoint, '#') ||
	    (strcmp(path, "/") != 0 && path[0] != '\0')) {
		jitrd_diag_set(diag, "[aws] endpoint %s: not scheme://host[:port]", quoted);
		return JITRD_ERR_CONFIG;
	}
	if (!jitrd_awshttp_url_allowed(endpoint)) {
		jitrd_diag_set(diag, "[aws] endpoint %s: must be https (http only to loopback)",
			       quoted);
		return JITRD_ERR_CONFIG;
	}
	for (char *p = scheme; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (char *p = host; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	is_v6 = strchr(host, ':') != NULL;
	/* The Host header (and so the signed host) carries the port unless it is the default. */
	if ((strcmp(scheme, "https") == 0 && port == 443) ||
	    (strcmp(scheme, "http") == 0 && port == 80))
		snprintf(c->host, sizeof(c->host), is_v6 ? "[%s]" : "%s", host);
	else
		snprintf(c->host, sizeof(c->host), is_v6 ? "[%s]:%ld" : "%s:%ld", host, port);
	snprintf(c->base_url, sizeof(c->base_url), "%s://%s", scheme, c->host);
	return JITRD_OK;
}

enum jitrd_err jitrd_iot_client_new(const struct jitrd_iot_client_options *opts,
				    struct jitrd_credentials_provider *creds,
				    struct jitrd_iot_client **out, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_iot_client *c = NULL;
	char endpoint[300];
	int locks = 0, global = 0;

	if (!opts || !creds || !out || !opts->region || !opts->signing_name ||
	    opts->connect_timeout_ms <= 0 || opts->request_timeout_ms <= 0 ||
	    opts->max_response_bytes == 0 || opts->max_response_bytes > JITRD_IOT_MAX_RESPONSE) {
		jitrd_diag_set(diag, "IoT client: invalid options");
		goto cleanup;
	}
	result = JITRD_ERR_CONFIG;
	if (!region_ok(opts->region)) {
		jitrd_diag_set(diag, "[aws] region: not a region name");
		goto cleanup;
	}
	if (strcmp(opts->signing_name, "iot") != 0 && strcmp(opts->signing_name, "execute-api") != 0) {
		jitrd_diag_set(diag, "[aws] signing_name: must be iot or execute-api");
		goto cleanup;
	}
	if (opts->backoff.base_ms < 1 || opts->backoff.cap_ms < opts->backoff.base_ms ||
	    opts->backoff.max_attempts < 1) {
		jitrd_diag_set(diag, "IoT client: invalid backoff policy");
		goto cleanup;
	}
	result = JITRD_ERR_NOMEM;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto cleanup;
	snprintf(c->region, sizeof(c->region), "%s", opts->region);
	snprintf(c->service, sizeof(c->service), "%s", opts->signing_name);
	if (opts->endpoint && opts->endpoint[0])
		snprintf(endpoint, sizeof(endpoint), "%s", opts->endpoint);
	else
		snprintf(endpoint, sizeof(endpoint), "https://iot.%s.amazonaws.com", c->region);
	result = set_endpoint(c, endpoint, diag);
	if (result != JITRD_OK)
		goto cleanup;
	c->connect_timeout_ms = opts->connect_timeout_ms;
	c->request_timeout_ms = opts->request_timeout_ms;
	c->max_response = opts->max_response_bytes;
	c->backoff = opts->backoff;
	c->on_request = opts->on_request;
	c->on_request_ctx = opts->on_request_ctx;
	c->creds = creds;
	result = jitrd_ratelimit_new(opts->rates, JITRD_IOT_OP_COUNT, jitrd_awshttp_now_ns(),
				     &c->limits);
	if (result != JITRD_OK) {
		if (result == JITRD_ERR_INVALID_ARG) {
			result = JITRD_ERR_CONFIG;
			jitrd_diag_set(diag, "[limits]: rates must be between 0 and %g per second",
				       JITRD_RATELIMIT_MAX_RATE);
		}
		goto cleanup;
	}
	result = JITRD_ERR_NOMEM;
	for (; locks < CURL_LOCK_DATA_LAST; locks++)
		if (pthread_mutex_init(&c->share_locks[locks], NULL) != 0)
			goto cleanup;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto cleanup;
	global = 1;
	c->share = curl_share_init();
	if (!c->share)
		goto cleanup;
	/* DNS answers and TLS sessions are shared by all workers; connections are not. */
	if (curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
	    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
	    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c) != CURLSHE_OK ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)
		goto cleanup;
	*out = c;
	c = NULL;
	result = JITRD_OK;
cleanup:
	if (c) {
		if (c->share)
			curl_share_cleanup(c->share);
		for (int i = 0; i < locks; i++)
			pthread_mutex_destroy(&c->share_locks[i]);
		jitrd_ratelimit_free(c->limits);
		free(c);
		if (global)
			curl_global_cleanup();
	}
	return result;
}

void jitrd_iot_client_free(struct jitrd_iot_client *c)
{
	if (!c)
		return;
	curl_share_cleanup(c->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_locks[i]);
	jitrd_ratelimit_free(c->limits);
	free(c);
	curl_global_cleanup();
}

enum jitrd_err jitrd_iot_session_new(struct jitrd_iot_client *client,
				     struct jitrd_iot_session **out)
{
	struct jitrd_iot_session *s;

	if (!client || !out)
		return JITRD_ERR_INVALID_ARG;
	s = calloc(1, sizeof(*s));
	if (!s)
		return JITRD_ERR_NOMEM;
	s->client = client;
	jitrd_sigv4_key_cache_init(&s->key_cache);
	s->tok = json_tokener_new_ex(32); /* nesting depth bound */
	s->easy = curl_easy_init();
	/* Options that never change are set here once, not before every request. */
	if (!s->easy || curl_easy_setopt(s->easy, CURLOPT_SHARE, client->share) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_USERAGENT, "jitrd/" JITRD_VERSION) != CURLE_OK ||
	    jitrd_awshttp_prepare(s->easy) != JITRD_OK || !s->tok) {
		if (s->easy)
			curl_easy_cleanup(s->easy);
		if (s->tok)
			json_tokener_free(s->tok);
		free(s);
		return JITRD_ERR_NOMEM;
	}
	*out = s;
	return JITRD_OK;
}

void jitrd_iot_session_free(struct jitrd_iot_session *s)
{
	if (!s)
		return;
	curl_easy_cleanup(s->easy);
	jitrd_credentials_cleanse(&s->creds);
	jitrd_sigv4_key_cache_cleanup(&s->key_cache);
	OPENSSL_cleanse(&s->headers, sizeof(s->headers));
	json_tokener_free(s->tok);
	free(s);
}

int64_t jitrd_iot_deadline_in(int64_t ms)
{
	return jitrd_awshttp_now_ms() + ms;
}

/* ---- one call: sign, send, classify, retry ---- */

struct call {
	enum jitrd_iot_op op;
	const char *method;
	char path[MAX_PATH];   /* encoded */
	char query[MAX_QUERY]; /* encoded, "" when none */
	const char *principal; /* x-amzn-principal, or NULL */
	const char *body;      /* JSON, or NULL */
	size_t body_len;
	int answer_unused;     /* 1: the operation's output has no members (its caller reads
				* none), so an empty object "{}" is accepted without parsing */
};

enum outcome { DONE, FINAL, TRANSIENT };

static int is_throttling(long status, const char *code)
{
	static const char *const codes[] = {"ThrottlingException", "TooManyRequestsException",
					    "Throttling", "ThrottledException",
					    "RequestThrottledException", "RequestLimitExceeded",
					    "SlowDown"};

	if (status == 429)
		return 1;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(code, codes[i]) == 0)
			return 1;
	return 0;
}

/* 1 when body is "{}" with optional whitespace around and inside: what AWS and the emulator
 * send for operations without output members. */
static int is_empty_object(const char *body, size_t len)
{
	size_t i = 0;
	int braces = 0;

	for (; i < len; i++) {
		char ch = body[i];

		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
			continue;
		if ((braces == 0 && ch == '{') || (braces == 1 && ch == '}'))
			braces++;
		else
			return 0;
	}
	return braces == 2;
}

/* Parses one whole document with the session's tokener (reset first: a previous parse may
 * have stopped half-way). NULL for an empty body, and for anything but exactly one document. */
static struct json_object *parse_json(struct json_tokener *tok, const char *body, size_t len)
{
	struct json_object *obj = NULL;

	if (len == 0)
		return NULL;
	json_tokener_reset(tok);
	if (len <= INT32_MAX) {
		obj = json_tokener_parse_ex(tok, body, (int)len);
		if (json_tokener_get_error(tok) != json_tokener_success ||
		    json_tokener_get_parse_end(tok) != len) {
			json_object_put(obj);
			obj = NULL;
		}
	}
	return obj;
}

/* The error code and message of a non-2xx answer: x-amzn-ErrorType ("Code:detail"), else the
 * body's __type ("ns#Code"), code or Code; message or Message. Made printable, cut to size. */
static void error_details(struct json_tokener *tok, const struct jitrd_awshttp_response *resp,
			  struct jitrd_iot_result *r)
{
	struct json_object *body = parse_json(tok, resp->body, resp->body_len);
	struct json_object *v;
	const char *code = NULL, *msg = NULL;
	char raw[128];

	if (resp->error_type[0]) {
		snprintf(raw, sizeof(raw), "%.*s", (int)strcspn(resp->error_type, ":"),
			 resp->error_type);
		code = raw;
	}
	if (body && json_object_is_type(body, json_type_object)) {
		if (!code && ((json_object_object_get_ex(body, "__type", &v) ||
			       json_object_object_get_ex(body, "code", &v) ||
			       json_object_object_get_ex(body, "Code", &v)) &&
			      json_object_is_type(v, json_type_string))) {
			const char *t = json_object_get_string(v);
			const char *hash = strrchr(t, '#');

			snprintf(raw, sizeof(raw), "%.*s", (int)strcspn(hash ? hash + 1 : t, ":"),
				 hash ? hash + 1 : t);
			code = raw;
		}
		if ((json_object_object_get_ex(body, "message", &v) ||
		     json_object_object_get_ex(body, "Message", &v)) &&
		    json_object_is_type(v, json_type_string))
			msg = json_object_get_string(v);
	}
	jitrd_quote(r->code, sizeof(r->code), code ? code : "", code ? strlen(code) : 0);
	jitrd_quote(r->message, sizeof(r->message), msg ? msg : "", msg ? strlen(msg) : 0);
	json_object_put(body);
}

/* Appends "name: value" (or "name:" alone, which tells curl to leave its own header out,
 * when value is NULL) to the session's header list. JITRD_ERR_INVALID_ARG when the lines or
 * their text would pass the block's maxima. */
static enum jitrd_err add_header(struct header_block *b, const char *name, const char *value)
{
	size_t name_len = strlen(name), value_len = value ? strlen(value) : 0;
	size_t need = name_len + 1 + (value ? 1 + value_len : 0) + 1;
	char *line = b->text + b->used;

	if (b->count == HEADER_LINES || need > sizeof(b->text) - b->used)
		return JITRD_ERR_INVALID_ARG;
	memcpy(line, name, name_len);
	line[name_len] = ':';
	if (value) {
		line[name_len + 1] = ' ';
		memcpy(line + name_len + 2, value, value_len);
	}
	line[need - 1] = '\0';
	b->lines[b->count].data = line;
	b->lines[b->count].next = NULL;
	if (b->count > 0)
		b->lines[b->count - 1].next = &b->lines[b->count];
	b->count++;
	b->used += need;
	return JITRD_OK;
}

/* Only the bytes used: the rest was wiped after the previous request. */
static void wipe_headers(struct header_block *b)
{
	OPENSSL_cleanse(b->text, b->used);
	b->used = 0;
	b->count = 0;
}

/* base_url, path and "?query" into url (sized for the three maxima). */
static void format_url(char *url, const char *base_url, const struct call *c)
{
	size_t base_len = strlen(base_url), path_len = strlen(c->path);
	size_t query_len = strlen(c->query);
	char *at = url;

	memcpy(at, base_url, base_len);
	at += base_len;
	memcpy(at, c->path, path_len);
	at += path_len;
	if (query_len) {
		*at++ = '?';
		memcpy(at, c->query, query_len);
		at += query_len;
	}
	*at = '\0';
}

/* Signs and sends one attempt. On JITRD_OK *resp holds an HTTP answer (any status). */
static enum jitrd_err attempt(struct jitrd_iot_session *s, const struct call *c, long timeout_ms,
			      struct jitrd_awshttp_response *resp, struct jitrd_diag *diag)
{
	struct jitrd_iot_client *cl = s->client;
	enum jitrd_err result;
	struct jitrd_sigv4_header headers[3];
	struct jitrd_sigv4_request req = {0};
	struct jitrd_sigv4_credentials sc;
	struct jitrd_sigv4_scope scope = {cl->region, cl->service, time(NULL)};
	struct jitrd_sigv4_result signed_req = {0};
	struct header_block *list = &s->headers;
	struct jitrd_diag cdiag = {{0}};
	char url[sizeof(cl->base_url) + MAX_PATH + MAX_QUERY + 2];
	size_t n = 0;

	result = jitrd_credentials_get(cl->creds, scope.when, &s->creds, &cdiag);
	if (result != JITRD_OK) {
		jitrd_diag_set(diag, "%s: %s", jitrd_iot_op_name(c->op), cdiag.text);
		goto cleanup;
	}
	headers[n++] = (struct jitrd_sigv4_header){"host", cl->host};
	if (c->body)
		headers[n++] = (struct jitrd_sigv4_header){"content-type", "application/json"};
	if (c->principal)
		headers[n++] = (struct jitrd_sigv4_header){"x-amzn-principal", c->principal};
	req.method = c->method;
	req.path = c->path;
	req.query = c->query;
	req.headers = headers;
	req.header_count = n;
	req.payload = (const unsigned char *)c->body;
	req.payload_len = c->body_len;
	req.normalize_path = 1;
	sc.access_key_id = s->creds.access_key_id;
	sc.secret_access_key = s->creds.secret_access_key;
	sc.session_token = s->creds.session_token;
	result = jitrd_sigv4_sign_cached(&req, &sc, &scope, &s->key_cache, &signed_req);
	if (result != JITRD_OK) {
		jitrd_diag_set(diag, "%s: cannot sign the request: %s", jitrd_iot_op_name(c->op),
			       jitrd_strerror(result));
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++)
		if ((result = add_header(list, headers[i].name, headers[i].value)) != JITRD_OK)
			goto cleanup;
	/* No "Expect: 100-continue" round trip; no Content-Type on bodiless requests. */
	if ((result = add_header(list, "X-Amz-Date", signed_req.amz_date)) != JITRD_OK ||
	    (result = add_header(list, "Authorization", signed_req.authorization)) != JITRD_OK ||
	    (signed_req.security_token &&
	     (result = add_header(list, "X-Amz-Security-Token", signed_req.security_token)) !=
		 JITRD_OK) ||
	    (result = add_header(list, "Accept", "application/json")) != JITRD_OK ||
	    (result = add_header(list, "Expect", NULL)) != JITRD_OK ||
	    (!c->body && (result = add_header(list, "Content-Type", NULL)) != JITRD_OK))
		goto cleanup;
	format_url(url, cl->base_url, c);
	{
		struct jitrd_awshttp_request hreq = {
		    .method = c->method,
		    .url = url,
		    .headers = list->lines,
		    .body = c->body,
		    .body_len = c->body_len,
		    .connect_timeout_ms = cl->connect_timeout_ms < timeout_ms ? cl->connect_timeout_ms
									      : timeout_ms,
		    .timeout_ms = timeout_ms,
		    .max_body = cl->max_response,
		    .prepared = 1,
		};
		struct jitrd_diag hdiag = {{0}};

		result = jitrd_awshttp_perform(s->easy, &hreq, resp, &hdiag);
		if (result != JITRD_OK)
			jitrd_diag_set(diag, "%s: %s", jitrd_iot_op_name(c->op), hdiag.text);
	}
cleanup:
	jitrd_credentials_cleanse(&s->creds);
	jitrd_sigv4_result_cleanup(&signed_req);
	wipe_headers(list);
	return result;
}

static uint64_t random_bits(void)
{
	uint64_t bits = 0;

	if (RAND_bytes((unsigned char *)&bits, sizeof(bits)) != 1)
		bits = (uint64_t)jitrd_awshttp_now_ns() * 6364136223846793005ULL; /* still spreads */
	return bits;
}

/* Runs c until success, a final error, or the attempts/deadline run out. On JITRD_OK *json is
 * the parsed body (NULL for an empty one), owned by the caller. */
static enum jitrd_err call(struct jitrd_iot_session *s, int64_t deadline, const struct call *c,
			   struct json_object **json, struct jitrd_iot_result *res,
			   struct jitrd_diag *diag)
{
	struct jitrd_iot_client *cl = s->client;
	const char *name = jitrd_iot_op_name(c->op);
	struct jitrd_iot_result r = {0};
	enum jitrd_err result = JITRD_ERR_DEADLINE;
	enum jitrd_err last = JITRD_ERR_DEADLINE;

	if (res)
		r.attempts = res->attempts; /* list calls add up their pages */
	for (;;) {
		struct jitrd_awshttp_response resp = {0};
		enum outcome outcome = FINAL;
		int64_t now = jitrd_awshttp_now_ms(), wait_ns, delay;
		enum jitrd_err err;

		if (now >= deadline) {
			if (r.attempts == 0 || last == JITRD_ERR_DEADLINE)
				jitrd_diag_set(diag, "%s: deadline passed before a request", name);
			result = last;
			break;
		}
		/* The client-side limit is a wait, not an error, while the deadline allows it. */
		err = jitrd_ratelimit_acquire(cl->limits, c->op, jitrd_awshttp_now_ns(),
					      (deadline - now) * 1000000, &wait_ns);
		if (err != JITRD_OK) {
			jitrd_diag_set(diag, "%s: client-side rate limit would wait past the deadline",
				       name);
			result = r.attempts ? last : JITRD_ERR_DEADLINE;
			break;
		}
		jitrd_awshttp_sleep_ms((wait_ns + 999999) / 1000000);
		now = jitrd_awshttp_now_ms();
		if (now >= deadline) {
			result = r.attempts ? last : JITRD_ERR_DEADLINE;
			jitrd_diag_set(diag, "%s: deadline passed while rate limited", name);
			break;
		}
		r.attempts++;
		memset(r.code, 0, sizeof(r.code));
		memset(r.message, 0, sizeof(r.message));
		r.http_status = 0;
		int64_t sent_ns = jitrd_awshttp_now_ns();
		err = attempt(s, c,
			      deadline - now < cl->request_timeout_ms ? (long)(deadline - now)
								      : cl->request_timeout_ms,
			      &resp, diag);
		if (cl->on_request)
			cl->on_request(cl->on_request_ctx, c->op, err == JITRD_OK ? resp.status : 0,
				       (double)(jitrd_awshttp_now_ns() - sent_ns) / 1e9);
		if (err == JITRD_OK) {
			r.http_status = resp.status;
			if (resp.status >= 200 && resp.status <= 299) {
				struct json_object *obj = NULL;

				/* Anything but "{}" is still parsed: a 2xx whose body is not a
				 * JSON object is a bad answer even where nothing is read. */
				if (resp.body_len > 0 &&
				    !(c->answer_unused && is_empty_object(resp.body, resp.body_len))) {
					obj = parse_json(s->tok, resp.body, resp.body_len);
					if (!obj || !json_object_is_type(obj, json_type_object)) {
						json_object_put(obj);
						jitrd_diag_set(diag, "%s: HTTP %ld with a body that "
								     "is not a JSON object",
							       name, resp.status);
						jitrd_awshttp_response_cleanup(&resp);
						result = JITRD_ERR_BAD_RESPONSE;
						break;
					}
				}
				jitrd_awshttp_response_cleanup(&resp);
				*json = obj;
				result = JITRD_OK;
				break;
			}
			error_details(s->tok, &resp, &r);
			jitrd_awshttp_response_cleanup(&resp);
			if (is_throttling(r.http_status, r.code)) {
				last = JITRD_ERR_THROTTLED;
				outcome = TRANSIENT;
			} else if (r.http_status >= 500) {
				last = JITRD_ERR_API;
				outcome = TRANSIENT;
			} else {
				last = JITRD_ERR_API;
			}
			jitrd_diag_set(diag, "%s: HTTP %ld %s: %s (attempt %u)", name, r.http_status,
				       r.code[0] ? r.code : "(no error code)", r.message,
				       r.attempts);
		} else if (err == JITRD_ERR_TIMEOUT || err == JITRD_ERR_NETWORK) {
			last = err;
			outcome = TRANSIENT;
		} else {
			last = err; /* bad response, credentials, signing, memory: final */
		}
		if (outcome == FINAL) {
			result = last;
			break;
		}
		now = jitrd_awshttp_now_ms();
		err = jitrd_backoff_next(&cl->backoff, r.attempts, random_bits(), now, deadline,
					 &delay);
		if (err != JITRD_OK) {
			result = last; /* the last transient error, after bounded attempts */
			break;
		}
		jitrd_awshttp_sleep_ms(delay);
	}
	if (res)
		*res = r;
	return result;
}

/* ---- building requests ---- */

static int is_hex64(const char *s)
{
	if (!s || strlen(s) != 64)
		return 0;
	for (int i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* [\w+=,.@-]{1,128} (policy names), or [a-zA-Z0-9:_-]{1,128} (thing names). */
static int name_ok(const char *s, const char *extra)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > JITRD_IOT_MAX_NAME)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i]))
			return 0;
	return 1;
}

static int text_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != '\n' && s[i] != '\r' && s[i] != '\t')
			return 0;
	return 1;
}

static int header_text_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static enum jitrd_err bad_input(struct jitrd_diag *diag, enum jitrd_iot_op op, const char *what)
{
	jitrd_diag_set(diag, "%s: %s", jitrd_iot_op_name(op), what);
	return JITRD_ERR_INVALID_ARG;
}

/* path = prefix + encoded label + suffix. */
static enum jitrd_err set_path(struct call *c, const char *prefix, const char *label,
			       const char *suffix)
{
	char *enc = label ? jitrd_awshttp_uri_encode(label, strlen(label)) : NULL;
	int n;

	if (label && !enc)
		return JITRD_ERR_NOMEM;
	n = snprintf(c->path, sizeof(c->path), "%s%s%s", prefix, enc ? enc : "", suffix);
	free(enc);
	return n < (int)sizeof(c->path) ? JITRD_OK : JITRD_ERR_INVALID_ARG;
}

static enum jitrd_err add_query(struct call *c, const char *name, const char *value)
{
	char *enc = jitrd_awshttp_uri_encode(value, strlen(value));
	size_t len = strlen(c->query);
	int n;

	if (!enc)
		return JITRD_ERR_NOMEM;
	n = snprintf(c->query + len, sizeof(c->query) - len, "%s%s=%s", len ? "&" : "", name, enc);
	free(enc);
	return n < (int)(sizeof(c->query) - len) ? JITRD_OK : JITRD_ERR_INVALID_ARG;
}

/* Serialises obj into *out (free()) for the request body. */
static enum jitrd_err body_json(struct json_object *obj, char **out, size_t *len)
{
	const char *text;
	size_t n;

	text = json_object_to_json_string_length(
	    obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	if (!text)
		return JITRD_ERR_NOMEM;
	*out = malloc(n + 1);
	if (!*out)
		return JITRD_ERR_NOMEM;
	memcpy(*out, text, n + 1);
	*len = n;
	return JITRD_OK;
}

static enum jitrd_err json_add_string(struct json_object *obj, const char *key, const char *value)
{
	struct json_object *v = json_object_new_string(value);

	if (!v)
		return JITRD_ERR_NOMEM;
	if (json_object_object_add(obj, key, v) != 0) {
		json_object_put(v);
		return JITRD_ERR_NOMEM;
	}
	return JITRD_OK;
}

/* ---- reading responses: every member checked for type and size ---- */

/* Copies string member key (bounded by size - 1) into out. required: absent is an error;
 * otherwise absent leaves "" in out. -1 on a wrong type, an over-long value or a NUL. */
static int member_string(struct json_object *obj, const char *key, int required, char *out,
			 size_t size)
{
	struct json_object *v;
	size_t n;

	out[0] = '\0';
	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return required ? -1 : 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	n = (size_t)json_object_get_string_len(v);
	if (n >= size || strlen(json_object_get_string(v)) != n)
		return -1;
	memcpy(out, json_object_get_string(v), n + 1);
	return 0;
}

/* A heap copy of a string member (bounded by max); NULL member -> "" copy when not required. */
static int member_dup(struct json_object *obj, const char *key, int required, size_t max,
		      char **out)
{
	struct json_object *v;
	const char *s = "";
	size_t n = 0;

	if (json_object_object_get_ex(obj, key, &v) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_string))
			return -1;
		s = json_object_get_string(v);
		n = (size_t)json_object_get_string_len(v);
		if (n > max || strlen(s) != n)
			return -1;
	} else if (required) {
		return -1;
	}
	*out = malloc(n + 1);
	if (!*out)
		return -2;
	memcpy(*out, s, n + 1);
	return 0;
}

static int member_number(struct json_object *obj, const char *key, double *out)
{
	struct json_object *v;

	*out = 0;
	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_double(v);
	return 0;
}

static int member_status(struct json_object *obj, const char *key, enum jitrd_iot_status *out)
{
	char text[32];

	if (member_string(obj, key, 1, text, sizeof(text)) != 0)
		return -1;
	for (size_t i = 1; i < STATUS_COUNT; i++) {
		if (strcmp(text, status_names[i]) == 0) {
			*out = (enum jitrd_iot_status)i;
			return 0;
		}
	}
	return -1;
}

static enum jitrd_err bad_member(struct jitrd_diag *diag, enum jitrd_iot_op op, const char *key)
{
	jitrd_diag_set(diag, "%s: response member %s missing, of the wrong type or too long",
		       jitrd_iot_op_name(op), key);
	return JITRD_ERR_BAD_RESPONSE;
}

static struct json_object *member_object(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

static void result_reset(struct jitrd_iot_result *res)
{
	if (res)
		memset(res, 0, sizeof(*res));
}

/* ---- operations ---- */

void jitrd_iot_certificate_cleanup(struct jitrd_iot_certificate *cert)
{
	if (!cert)
		return;
	free(cert->certificate_pem);
	memset(cert, 0, sizeof(*cert));
}

void jitrd_iot_ca_certificate_cleanup(struct jitrd_iot_ca_certificate *ca)
{
	if (!ca)
		return;
	free(ca->certificate_pem);
	memset(ca, 0, sizeof(*ca));
}

void jitrd_iot_policy_cleanup(struct jitrd_iot_policy *policy)
{
	if (!policy)
		return;
	free(policy->policy_document);
	memset(policy, 0, sizeof(*policy));
}

/* Fills *out from DescribeCertificate's answer (written only on JITRD_OK). */
static enum jitrd_err read_certificate(struct json_object *json, struct jitrd_iot_certificate *out,
                                       struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_BAD_RESPONSE;
	const enum jitrd_iot_op op = JITRD_IOT_DESCRIBE_CERTIFICATE;
	struct jitrd_iot_certificate cert = {0};
	struct json_object *d;
	int rc;

	d = member_object(json, "certificateDescription");
	if (!d) {
		result = bad_member(diag, op, "certificateDescription");
		goto cleanup;
	}
	if (member_string(d, "certificateId", 1, cert.certificate_id, 65) ||
	    !is_hex64(cert.certificate_id)) {
		result = bad_member(diag, op, "certificateId");
		goto cleanup;
	}
	if (member_string(d, "caCertificateId", 0, cert.ca_certificate_id, 65) ||
	    (cert.ca_certificate_id[0] && !is_hex64(cert.ca_certificate_id))) {
		result = bad_member(diag, op, "caCertificateId");
		goto cleanup;
	}
	if (member_status(d, "status", &cert.status)) {
		result = bad_member(diag, op, "status");
		goto cleanup;
	}
	if (member_string(d, "certificateArn", 0, cert.certificate_arn, sizeof(cert.certificate_arn)) ||
	    member_string(d, "ownedBy", 0, cert.owned_by, sizeof(cert.owned_by)) ||
	    member_number(d, "creationDate", &cert.creation_date)) {
		result = bad_member(diag, op, "certificateArn/ownedBy/creationDate");
		goto cleanup;
	}
	rc = member_dup(d, "certificatePem", 1, JITRD_IOT_MAX_PEM, &cert.certificate_pem);
	if (rc == -2) {
		result = JITRD_ERR_NOMEM;
		goto cleanup;
	}
	if (rc != 0) {
		result = bad_member(diag, op, "certificatePem");
		goto cleanup;
	}
	*out = cert;
	memset(&cert, 0, sizeof(cert));
	result = JITRD_OK;
cleanup:
	jitrd_iot_certificate_cleanup(&cert);
	return result;
}

enum jitrd_err jitrd_iot_describe_certificate(struct jitrd_iot_session *s, int64_t deadline,
                                              const char *certificate_id,
                                              struct jitrd_iot_certificate *out,
                                              struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct call c = {.op = JITRD_IOT_DESCRIBE_CERTIFICATE, .method = "GET"};
	struct json_object *json = NULL;

	result_reset(res);
	if (!s || !out)
		return JITRD_ERR_INVALID_ARG;
	if (!is_hex64(certificate_id))
		return bad_input(diag, c.op, "certificate id is not 64 hex digits");
	if ((result = set_path(&c, "/certificates/", certificate_id, "")) != JITRD_OK)
		return result;
	result = call(s, deadline, &c, &json, res, diag);
	if (result == JITRD_OK)
		result = read_certificate(json, out, diag);
	json_object_put(json);
	return result;
}

enum jitrd_err jitrd_iot_update_certificate(struct jitrd_iot_session *s, int64_t deadline,
					    const char *certificate_id,
					    enum jitrd_iot_status new_status,
					    struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct call c = {.op = JITRD_IOT_UPDATE_CERTIFICATE, .method = "PUT", .answer_unused = 1};
	struct json_object *json = NULL;

	result_reset(res);
	if (!s)
		return JITRD_ERR_INVALID_ARG;
	if (!is_hex64(certificate_id))
		return bad_input(diag, c.op, "certificate id is not 64 hex digits");
	if (new_status == JITRD_IOT_STATUS_NONE || (unsigned)new_status >= STATUS_COUNT)
		return bad_input(diag, c.op, "no new status");
	if ((result = set_path(&c, "/certificates/", certificate_id, "")) != JITRD_OK ||
	    (result = add_query(&c, "newStatus", status_names[new_status])) != JITRD_OK)
		return result;
	result = call(s, deadline, &c, &json, res, diag);
	json_object_put(json);
	return result;
}

/* Fills a policy from CreatePolicy's or GetPolicy's answer. */
static enum jitrd_err read_policy(struct json_object *json, enum jitrd_iot_op op,
				  const char *version_key, struct jitrd_iot_policy *out,
				  struct jitrd_diag *diag)
{
	struct jitrd_iot_policy p = {0};
	int rc;

	if (!json)
		return bad_member(diag, op, "policyName");
	if (member_string(json, "policyName", 1, p.policy_name, sizeof(p.policy_name)) ||
	    member_string(json, "policyArn", 0, p.policy_arn, sizeof(p.policy_arn)) ||
	    member_string(json, version_key, 0, p.version_id, sizeof(p.version_id)))
		return bad_member(diag, op, "policyName/policyArn/version");
	rc = member_dup(json, "policyDocument", 0, JITRD_IOT_MAX_POLICY, &p.policy_document);
	if (rc == -2)
		return JITRD_ERR_NOMEM;
	if (rc != 0)
		return bad_member(diag, op, "policyDocument");
	*out = p;
	return JITRD_OK;
}

enum jitrd_err jitrd_iot_create_policy(struct jitrd_iot_session *s, int64_t deadline,
				       const char *policy_name, const char *policy_document,
				       struct jitrd_iot_policy *out, struct jitrd_iot_result *res,
				       struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct call c = {.op = JITRD_IOT_CREATE_POLICY, .method = "POST"};
	struct json_object *json = NULL, *req = NULL;
	char *body = NULL;

	result_reset(res);
	if (!s)
		return JITRD_ERR_INVALID_ARG;
	if (!name_ok(policy_name, "_+=,.@-"))
		return bad_input(diag, c.op, "policy name outside [\\w+=,.@-]{1,128}");
	if (!text_ok(policy_document, JITRD_IOT_MAX_POLICY))
		return bad_input(diag, c.op, "policy document empty, too long or not text");
	if ((result = set_path(&c, "/policies/", policy_name, "")) != JITRD_OK)
		return result;
	result = JITRD_ERR_NOMEM;
	req = json_object_new_object();
	if (!req || (result = json_add_string(req, "policyDocument", policy_document)) ||
	    (result = body_json(req, &body, &c.body_len)))
		goto cleanup;
	c.body = body;
	result = call(s, deadline, &c, &json, res, diag);
	if (result == JITRD_OK && out)
		result = read_policy(json, c.op, "policyVersionId", out, diag);
cleanup:
	free(body);
	json_object_put(req);
	json_object_put(json);
	return result;
}

enum jitrd_err jitrd_iot_get_policy(struct jitrd_iot_session *s, int64_t deadline,
				    const char *policy_name, struct jitrd_iot_policy *out,
				    struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct call c = {.op = JITRD_IOT_GET_POLICY, .method = "GET"};
	struct json_object *json = NULL;

	result_reset(res);
	if (!s || !out)
		return JITRD_ERR_INVALID_ARG;
	if (!name_ok(policy_name, "_+=,.@-"))
		return bad_input(diag, c.op, "policy name outside [\\w+=,.@-]{1,128}");
	if ((result = set_path(&c, "/policies/", policy_name, "")) != JITRD_OK)
		return result;
	result = call(s, deadline, &c, &json, res, diag);
	if (result == JITRD_OK)
		result = read_policy(json, c.op, "defaultVersionId", out, diag);
	json_object_put(json);
	return result;
}

enum jitrd_err jitrd_iot_attach_policy(struct jitrd_iot_session *s, int64_t deadline,
				       const char *policy_name, const char *target,
				       struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct call c = {.op = JITRD_IOT_ATTACH_POLICY, .method = "PUT", .answer_unused = 1};
	struct json_object *json = NULL, *req = NULL;
	char *body = NULL;

	result_reset(res);
	if (!s)
		return JITRD_ERR_INVALID_ARG;
	if (!name_ok(policy_name, "_+=,.@-"))
		return bad_input(diag, c.op, "policy name outside [\\w+=,.@-]{1,128}");
	if (!header_text_ok(target, JITRD_IOT_MAX_PRINCIPAL))
		return bad_input(diag, c.op, "target empty, too long or not text");
	if ((result = set_path(&c, "/target-policies/", policy_name, "")) != JITRD_OK)
		return result;
	result = JITRD_ERR_NOMEM;
	req = json_object_new_object();
	if (!req || (result = json_add_string(req, "target", target)) ||
	    (result = body_json(req, &body, &c.body_len)))
		goto cleanup;
	c.body = body;
	result = call(s, deadline, &c, &json, res, diag);
cleanup:
	free(body);
	json_object_put(req);
	json_object_put(json);
	return result;
}

/* Remembers the last marker to refuse a service that hands the same page out forever. */
static enum jitrd_err next_marker(struct json_object *json, enum jitrd_iot_op op, char *marker,
				  size_t size, struct jitrd_diag *diag, int *more)
{
	char next[1024];

	if (member_string(json, "nextMarker", 0, next, sizeof(next)))
		return bad_member(diag, op, "nextMarker");
	if (!next[0]) {
		*more = 0;
		return JITRD_OK;
	}
	if (strcmp(next, marker) == 0) {
		jitrd_diag_set(diag, "%s: the service returned the same nextMarker twice",
			       jitrd_iot_op_name(op));
		return JITRD_ERR_BAD_RESPONSE;
	}
	snprintf(marker, size, "%s", next);
	*more = 1;
	return JITRD_OK;
}

enum jitrd_err jitrd_iot_list_attached_policies(struct jitrd_iot_session *s, int64_t deadline,
						const char *target, jitrd_iot_policy_fn fn,
						void *ctx, struct jitrd_iot_result *res,
						struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_OK;
	struct jitrd_iot_result r = {0};
	char marker[1024] = "";
	int more = 1;

	result_reset(res);
	if (!s || !fn)
		return JITRD_ERR_INVALID_ARG;
	if (!header_text_ok(target, JITRD_IOT_MAX_PRINCIPAL))
		return bad_input(diag, JITRD_IOT_LIST_ATTACHED_POLICIES,
				 "target empty, too long or not text");
	for (int page = 0; more && page < MAX_PAGES; page++) {
		struct call c = {.op = JITRD_IOT_LIST_ATTACHED_POLICIES, .method = "POST"};
		struct json_object *json = NULL, *list;
		int stop = 0;

		if ((result = set_path(&c, "/attached-policies/", target, "")) != JITRD_OK ||
		    (marker[0] && (result = add_query(&c, "marker", marker)) != JITRD_OK))
			break;
		result = call(s, deadline, &c, &json, &r, diag);
		if (result != JITRD_OK)
			break;
		if (!json || !json_object_object_get_ex(json, "policies", &list) ||
		    !json_object_is_type(list, json_type_array)) {
			json_object_put(json);
			result = bad_member(diag, c.op, "policies");
			break;
		}
		for (size_t i = 0; i < json_object_array_length(list) && !stop; i++) {
			struct json_object *p = json_object_array_get_idx(list, i);
			char name[JITRD_IOT_MAX_NAME + 1], arn[JITRD_IOT_MAX_ARN + 1];

			if (!json_object_is_type(p, json_type_object) ||
			    member_string(p, "policyName", 1, name, sizeof(name)) ||
			    member_string(p, "policyArn", 0, arn, sizeof(arn))) {
				result = bad_member(diag, c.op, "policies[]");
				break;
			}
			stop = fn(ctx, name, arn);
		}
		if (result == JITRD_OK && !stop)
			result = next_marker(json, c.op, marker, sizeof(marker), diag, &more);
		json_object_put(json);
		if (result != JITRD_OK || stop)
			break;
	}
	if (res)
		*res = r;
	return result;
}

static enum jitrd_err read_thing(struct json_object *json, enum jitrd_iot_op op,
				 struct jitrd_iot_thing *out, struct jitrd_diag *diag)
{
	struct jitrd_iot_thing t = {0};
	double version = 0;

	/* thingName as AWS's model has it, [a-zA-Z0-9:_-]{1,128}: it names what is attached */
	if (!json || member_string(json, "thingName", 1, t.thing_name, sizeof(t.thing_name)) ||
	    !name_ok(t.thing_name, ":_-") ||
	    member_string(json, "thingArn", 0, t.thing_arn, sizeof(t.thing_arn)) ||
	    member_string(json, "thingId", 0, t.thing_id, sizeof(t.thing_id)) ||
	    member_string(json, "thingTypeName", 0, t.thing_type_name, sizeof(t.thing_type_name)) ||
	    member_number(json, "version", &version) || version < 0 || version > 9e15)
		return bad_member(diag, op, "thingName/thingArn/thingId/thingTypeName/version");
	t.version = (long long)version;
	*out = t;
	return JITRD_OK;
}

enum jitrd_err jitrd_iot_create_thing(struct jitrd_iot_session *s, int64_t deadline,
				      const char *thing_name, struct jitrd_iot_thing *out,
				      struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	return jitrd_iot_create_thing_with_attributes(s, deadline, thing_name, NULL, 0, out, res,
						      diag);
}

/* botocore's AttributeName / AttributeValue patterns. */
static int attribute_ok(const char *name, const char *value)
{
	size_t n = name ? strlen(name) : 0, v = value ? strlen(value) : 0;

	if (n == 0 || n > 128 || !value || v > JITRD_IOT_MAX_ATTRIBUTE_VALUE)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.,@/:#-", name[i]))
			return 0;
	for (size_t i = 0; i < v; i++)
		if (!isalnum((unsigned char)value[i]) && !strchr("_.,@/:#=[]-", value[i]))
			return 0;
	return 1;
}

enum jitrd_err jitrd_iot_create_thing_with_attributes(struct jitrd_iot_session *s,
						      int64_t deadline, const char *thing_name,
						      const struct jitrd_iot_attribute *attributes,
						      size_t n, struct jitrd_iot_thing *out,
						      struct jitrd_iot_result *res,
						      struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct call c = {.op = JITRD_IOT_CREATE_THING, .method = "POST", .body = "{}",
			 .body_len = 2};
	struct json_object *json = NULL, *req = NULL, *payload = NULL, *map = NULL;
	char *body = NULL;

	result_reset(res);
	if (!s || (n > 0 && !attributes))
		return JITRD_ERR_INVALID_ARG;
	if (!name_ok(thing_name, ":_-"))
		return bad_input(diag, c.op, "thing name outside [a-zA-Z0-9:_-]{1,128}");
	/* AWS: up to three attributes on a Thing without a type. */
	if (n > 3)
		return bad_input(diag, c.op, "more than 3 attributes");
	for (size_t i = 0; i < n; i++)
		if (!attribute_ok(attributes[i].name, attributes[i].value))
			return bad_input(diag, c.op, "attribute name or value outside AWS's pattern");
	if ((result = set_path(&c, "/things/", thing_name, "")) != JITRD_OK)
		return result;
	if (n > 0) {
		result = JITRD_ERR_NOMEM;
		req = json_object_new_object();
		payload = json_object_new_object();
		map = json_object_new_object();
		if (!req || !payload || !map)
			goto cleanup;
		for (size_t i = 0; i < n; i++)
			if ((result = json_add_string(map, attributes[i].name, attributes[i].value)))
				goto cleanup;
		if (json_object_object_add(payload, "attributes", map) != 0)
			goto cleanup;
		map = NULL;
		if (json_object_object_add(req, "attributePayload", payload) != 0)
			goto cleanup;
		payload = NULL;
		if ((result = body_json(req, &body, &c.body_len)))
			goto cleanup;
		c.body = body;
	}
	result = call(s, deadline, &c, &json, res, diag);
	if (result == JITRD_OK && out)
		result = read_thing(json, c.op, out, diag);
cleanup:
	free(body);
	json_object_put(map);
	json_object_put(payload);
	json_object_put(req);
	json_object_put(json);
	return result;
}

/* Attribute name of DescribeThing's answer into value (JITRD_IOT_MAX_ATTRIBUTE_VALUE + 1
 * bytes); *present 0 when the Thing has no such attribute. */
static enum jitrd_err read_thing_attribute(struct json_object *json, const char *name, char *value,
                                           int *present, struct jitrd_diag *diag)
{
	struct json_object *attributes, *v;

	/* "attributes" is a map of strings; absent or null is a Thing without attributes. */
	if (!json_object_object_get_ex(json, "attributes", &attributes) ||
	    json_object_is_type(attributes, json_type_null) ||
	    (json_object_is_type(attributes, json_type_object) &&
	     !json_object_object_get_ex(attributes, name, &v))) {
		value[0] = '\0';
		*present = 0;
		return JITRD_OK;
	}
	if (!json_object_is_type(attributes, json_type_object) ||
	    member_string(attributes, name, 1, value, JITRD_IOT_MAX_ATTRIBUTE_VALUE + 1))
		return bad_member(diag, JITRD_IOT_DESCRIBE_THING, "attributes");
	*present = 1;
	return JITRD_OK;
}

enum jitrd_err jitrd_iot_describe_thing_attribute(struct jitrd_iot_session *s, int64_t deadline,
						  const char *thing_name, const char *name,
						  char *value, size_t size, int *present,
						  struct jitrd_iot_result *res,
						  struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct call c = {.op = JITRD_IOT_DESCRIBE_THING, .method = "GET"};
	struct json_object *json = NULL;
	struct jitrd_iot_thing thing;

	result_reset(res);
	if (!s || !name || !value || size < JITRD_IOT_MAX_ATTRIBUTE_VALUE + 1 || !present)
		return JITRD_ERR_INVALID_ARG;
	if (!name_ok(thing_name, ":_-"))
		return bad_input(diag, c.op, "thing name outside [a-zA-Z0-9:_-]{1,128}");
	if ((result = set_path(&c, "/things/", thing_name, "")) != JITRD_OK)
		return result;
	result = call(s, deadline, &c, &json, res, diag);
	if (result != JITRD_OK)
		goto cleanup;
	if ((result = read_thing(json, c.op, &thing, diag)) != JITRD_OK)
		goto cleanup;
	result = read_thing_attribute(json, name, value, present, diag);
cleanup:
	json_object_put(json);
	return result;
}

#define MAX_THING_PRINCIPALS 10000

/* 1 when an entry of ListThingPrincipals' principals[] is a string fit for a header. */
static int principal_ok(struct json_object *e)
{
	const char *principal = json_object_get_string(e);

	return json_object_is_type(e, json_type_string) &&
	       header_text_ok(principal, JITRD_IOT_MAX_PRINCIPAL) &&
	       strlen(principal) == (size_t)json_object_get_string_len(e);
}

enum jitrd_err jitrd_iot_list_thing_principals(struct jitrd_iot_session *s, int64_t deadline,
					       const char *thing_name, jitrd_iot_principal_fn fn,
					       void *ctx, struct jitrd_iot_result *res,
					       struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_OK;
	enum jitrd_iot_op op = JITRD_IOT_LIST_THING_PRINCIPALS;
	struct jitrd_iot_result r = {0};
	char token[1024] = "";
	size_t delivered = 0;
	int more = 1;

	result_reset(res);
	if (!s || !fn)
		return JITRD_ERR_INVALID_ARG;
	if (!name_ok(thing_name, ":_-"))
		return bad_input(diag, op, "thing name outside [a-zA-Z0-9:_-]{1,128}");
	for (int page = 0; more && page < MAX_PAGES; page++) {
		struct call c = {.op = op, .method = "GET"};
		struct json_object *json = NULL, *list;
		char next[1024];
		int stop = 0;

		if ((result = set_path(&c, "/things/", thing_name, "/principals")) ||
		    (token[0] && (result = add_query(&c, "nextToken", token))) ||
		    (result = add_query(&c, "maxResults", "250")))
			break;
		result = call(s, deadline, &c, &json, &r, diag);
		if (result != JITRD_OK)
			break;
		if (!json || !json_object_object_get_ex(json, "principals", &list) ||
		    !json_object_is_type(list, json_type_array) ||
		    member_string(json, "nextToken", 0, next, sizeof(next))) {
			json_object_put(json);
			result = bad_member(diag, op, "principals/nextToken");
			break;
		}
		for (size_t i = 0; i < json_object_array_length(list) && !stop; i++) {
			struct json_object *e = json_object_array_get_idx(list, i);
			const char *principal = json_object_get_string(e);

			if (!principal_ok(e)) {
				result = bad_member(diag, op, "principals[]");
				break;
			}
			if (delivered == MAX_THING_PRINCIPALS) {
				jitrd_diag_set(diag, "%s: more than %d principals", op_names[op],
					       MAX_THING_PRINCIPALS);
				result = JITRD_ERR_TOO_LARGE;
				break;
			}
			delivered++;
			stop = fn(ctx, principal);
		}
		json_object_put(json);
		if (result != JITRD_OK || stop)
			break;
		if (!next[0]) {
			more = 0;
		} else if (strcmp(next, token) == 0) {
			jitrd_diag_set(diag, "%s: the service returned the same nextToken twice",
				       op_names[op]);
			result = JITRD_ERR_BAD_RESPONSE;
			break;
		} else {
			memcpy(token, next, sizeof(token));
		}
	}
	if (res)
		*res = r;
	return result;
}

enum jitrd_err jitrd_iot_describe_thing(struct jitrd_iot_session *s, int64_t deadline,
					const char *thing_name, struct jitrd_iot_thing *out,
					struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct call c = {.op = JITRD_IOT_DESCRIBE_THING, .method = "GET"};
	struct json_object *json = NULL;

	result_reset(res);
	if (!s || !out)
		return JITRD_ERR_INVALID_ARG;
	if (!name_ok(thing_name, ":_-"))
		return bad_input(diag, c.op, "thing name outside [a-zA-Z0-9:_-]{1,128}");
	if ((result = set_path(&c, "/things/", thing_name, "")) != JITRD_OK)
		return result;
	result = call(s, deadline, &c, &json, res, diag);
	if (result == JITRD_OK)
		result = read_thing(json, c.op, out, diag);
	json_object_put(json);
	return result;
}

enum jitrd_err jitrd_iot_attach_thing_principal(struct jitrd_iot_session *s, int64_t deadline,
						const char *thing_name, const char *principal,
						struct jitrd_iot_result *res,
						struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct call c = {
	    .op = JITRD_IOT_ATTACH_THING_PRINCIPAL, .method = "PUT", .answer_unused = 1};
	struct json_object *json = NULL;

	result_reset(res);
	if (!s)
		return JITRD_ERR_INVALID_ARG;
	if (!name_ok(thing_name, ":_-"))
		return bad_input(diag, c.op, "thing name outside [a-zA-Z0-9:_-]{1,128}");
	if (!header_text_ok(principal, JITRD_IOT_MAX_PRINCIPAL))
		return bad_input(diag, c.op, "principal empty, too long or not text");
	if ((result = set_path(&c, "/things/", thing_name, "/principals")) != JITRD_OK)
		return result;
	c.principal = principal;
	result = call(s, deadline, &c, &json, res, diag);
	json_object_put(json);
	return result;
}

/* One entry of ListCertificatesByCA's certificates[]: 0, or -1 when malformed. */
static int read_cert_summary(struct json_object *e, struct jitrd_iot_cert_summary *sum)
{
	if (!json_object_is_type(e, json_type_object) ||
	    member_string(e, "certificateId", 1, sum->certificate_id, 65) ||
	    !is_hex64(sum->certificate_id) || member_status(e, "status", &sum->status) ||
	    member_string(e, "certificateArn", 0, sum->certificate_arn,
	                  sizeof(sum->certificate_arn)) ||
	    member_number(e, "creationDate", &sum->creation_date))
		return -1;
	return 0;
}

enum jitrd_err jitrd_iot_list_certificates_by_ca(struct jitrd_iot_session *s, int64_t deadline,
						 const char *ca_certificate_id, int page_size,
						 size_t max_items, jitrd_iot_cert_fn fn, void *ctx,
						 struct jitrd_iot_result *res,
						 struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_OK;
	enum jitrd_iot_op op = JITRD_IOT_LIST_CERTIFICATES_BY_CA;
	struct jitrd_iot_result r = {0};
	char marker[1024] = "", size_text[16];
	size_t delivered = 0;
	int more = 1;

	result_reset(res);
	if (!s || !fn)
		return JITRD_ERR_INVALID_ARG;
	if (!is_hex64(ca_certificate_id))
		return bad_input(diag, op, "CA certificate id is not 64 hex digits");
	if (page_size < 0 || page_size > 250)
		return bad_input(diag, op, "page size outside 1..250");
	if (max_items == 0 || max_items > MAX_LIST_ITEMS)
		max_items = MAX_LIST_ITEMS;
	snprintf(size_text, sizeof(size_text), "%d", page_size);
	for (int page = 0; more && page < MAX_PAGES; page++) {
		struct call c = {.op = op, .method = "GET"};
		struct json_object *json = NULL, *list;
		int stop = 0;

		if ((result = set_path(&c, "/certificates-by-ca/", ca_certificate_id, "")) ||
		    (marker[0] && (result = add_query(&c, "marker", marker))) ||
		    (page_size && (result = add_query(&c, "pageSize", size_text))))
			break;
		result = call(s, deadline, &c, &json, &r, diag);
		if (result != JITRD_OK)
			break;
		if (!json || !json_object_object_get_ex(json, "certificates", &list) ||
		    !json_object_is_type(list, json_type_array)) {
			json_object_put(json);
			result = bad_member(diag, op, "certificates");
			break;
		}
		for (size_t i = 0; i < json_object_array_length(list) && !stop; i++) {
			struct json_object *e = json_object_array_get_idx(list, i);
			struct jitrd_iot_cert_summary sum = {0};

			if (read_cert_summary(e, &sum) != 0) {
				result = bad_member(diag, op, "certificates[]");
				break;
			}
			if (delivered == max_items) {
				jitrd_diag_set(diag, "%s: more than %zu certificates", op_names[op],
					       max_items);
				result = JITRD_ERR_TOO_LARGE;
				break;
			}
			delivered++;
			stop = fn(ctx, &sum);
		}
		if (result == JITRD_OK && !stop)
			result = next_marker(json, op, marker, sizeof(marker), diag, &more);
		json_object_put(json);
		if (result != JITRD_OK || stop)
			break;
	}
	if (res)
		*res = r;
	return result;
}

enum jitrd_err jitrd_iot_get_registration_code(struct jitrd_iot_session *s, int64_t deadline,
					       char code_out[65], struct jitrd_iot_result *res,
					       struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct call c = {.op = JITRD_IOT_GET_REGISTRATION_CODE, .method = "GET"};
	struct json_object *json = NULL;
	char code[65];

	result_reset(res);
	if (!s || !code_out)
		return JITRD_ERR_INVALID_ARG;
	if ((result = set_path(&c, "/registrationcode", NULL, "")) != JITRD_OK)
		return result;
	result = call(s, deadline, &c, &json, res, diag);
	if (result == JITRD_OK) {
		if (!json || member_string(json, "registrationCode", 1, code, sizeof(code)) ||
		    !code[0]) {
			result = bad_member(diag, c.op, "registrationCode");
		} else {
			for (char *p = code; *p; p++)
				if (!isalnum((unsigned char)*p))
					result = bad_member(diag, c.op, "registrationCode");
			if (result == JITRD_OK)
				memcpy(code_out, code, sizeof(code));
		}
	}
	json_object_put(json);
	return result;
}

static enum jitrd_err read_registered(struct json_object *json, enum jitrd_iot_op op,
				      struct jitrd_iot_registered *out, struct jitrd_diag *diag)
{
	struct jitrd_iot_registered r = {0};

	if (!json || member_string(json, "certificateId", 1, r.certificate_id, 65) ||
	    !is_hex64(r.certificate_id) ||
	    member_string(json, "certificateArn", 0, r.certificate_arn, sizeof(r.certificate_arn)))
		return bad_member(diag, op, "certificateId/certificateArn");
	*out = r;
	return JITRD_OK;
}

enum jitrd_err jitrd_iot_register_ca_certificate(struct jitrd_iot_session *s, int64_t deadline,
						 const char *ca_pem, const char *verification_pem,
						 int set_as_active, int allow_auto_registration,
						 struct jitrd_iot_registered *out,
						 struct jitrd_iot_result *res,
						 struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct call c = {.op = JITRD_IOT_REGISTER_CA_CERTIFICATE, .method = "POST"};
	struct json_object *json = NULL, *req = NULL;
	char *body = NULL;

	result_reset(res);
	if (!s || !out)
		return JITRD_ERR_INVALID_ARG;
	if (!text_ok(ca_pem, JITRD_IOT_MAX_PEM) ||
	    (verification_pem && !text_ok(verification_pem, JITRD_IOT_MAX_PEM)))
		return bad_input(diag, c.op, "a PEM is empty, over 65536 bytes or not text");
	if ((result = set_path(&c, "/cacertificate", NULL, "")) != JITRD_OK ||
	    (result = add_query(&c, "setAsActive", set_as_active ? "true" : "false")) ||
	    (result = add_query(&c, "allowAutoRegistration",
				allow_auto_registration ? "true" : "false")))
		return result;
	result = JITRD_ERR_NOMEM;
	req = json_object_new_object();
	if (!req || (result = json_add_string(req, "caCertificate", ca_pem)) ||
	    (verification_pem &&
	     (result = json_add_string(req, "verificationCertificate", verification_pem))) ||
	    (result = body_json(req, &body, &c.body_len)))
		goto cleanup;
	c.body = body;
	result = call(s, deadline, &c, &json, res, diag);
	if (result == JITRD_OK)
		result = read_registered(json, c.op, out, diag);
cleanup:
	free(body);
	json_object_put(req);
	json_object_put(json);
	return result;
}

enum jitrd_err jitrd_iot_describe_ca_certificate(struct jitrd_iot_session *s, int64_t deadline,
						 const char *ca_certificate_id,
						 struct jitrd_iot_ca_certificate *out,
						 struct jitrd_iot_result *res,
						 struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct call c = {.op = JITRD_IOT_DESCRIBE_CA_CERTIFICATE, .method = "GET"};
	struct json_object *json = NULL, *d;
	struct jitrd_iot_ca_certificate ca = {0};
	char auto_reg[16];
	int rc;

	result_reset(res);
	if (!s || !out)
		return JITRD_ERR_INVALID_ARG;
	if (!is_hex64(ca_certificate_id))
		return bad_input(diag, c.op, "CA certificate id is not 64 hex digits");
	if ((result = set_path(&c, "/cacertificate/", ca_certificate_id, "")) != JITRD_OK)
		return result;
	result = call(s, deadline, &c, &json, res, diag);
	if (result != JITRD_OK)
		goto cleanup;
	d = member_object(json, "certificateDescription");
	if (!d || member_string(d, "certificateId", 1, ca.certificate_id, 65) ||
	    !is_hex64(ca.certificate_id) || member_status(d, "status", &ca.status) ||
	    (ca.status != JITRD_IOT_ACTIVE && ca.status != JITRD_IOT_INACTIVE) ||
	    member_string(d, "autoRegistrationStatus", 0, auto_reg, sizeof(auto_reg)) ||
	    (auto_reg[0] && strcmp(auto_reg, "ENABLE") != 0 && strcmp(auto_reg, "DISABLE") != 0) ||
	    member_string(d, "certificateArn", 0, ca.certificate_arn, sizeof(ca.certificate_arn)) ||
	    member_string(d, "ownedBy", 0, ca.owned_by, sizeof(ca.owned_by)) ||
	    member_number(d, "creationDate", &ca.creation_date)) {
		result = bad_member(diag, c.op, "certificateDescription");
		goto cleanup;
	}
	ca.auto_registration = strcmp(auto_reg, "ENABLE") == 0;
	rc = member_dup(d, "certificatePem", 1, JITRD_IOT_MAX_PEM, &ca.certificate_pem);
	if (rc != 0) {
		result = rc == -2 ? JITRD_ERR_NOMEM : bad_member(diag, c.op, "certificatePem");
		goto cleanup;
	}
	*out = ca;
	memset(&ca, 0, sizeof(ca));
	result = JITRD_OK;
cleanup:
	jitrd_iot_ca_certificate_cleanup(&ca);
	json_object_put(json);
	return result;
}

enum jitrd_err jitrd_iot_update_ca_certificate(struct jitrd_iot_session *s, int64_t deadline,
					       const char *ca_certificate_id,
					       enum jitrd_iot_status new_status,
					       int auto_registration, struct jitrd_iot_result *res,
					       struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct call c = {.op = JITRD_IOT_UPDATE_CA_CERTIFICATE, .method = "PUT", .answer_unused = 1};
	struct json_object *json = NULL;

	result_reset(res);
	if (!s)
		return JITRD_ERR_INVALID_ARG;
	if (!is_hex64(ca_certificate_id))
		return bad_input(diag, c.op, "CA certificate id is not 64 hex digits");
	if (new_status != JITRD_IOT_STATUS_NONE && new_status != JITRD_IOT_ACTIVE &&
	    new_status != JITRD_IOT_INACTIVE)
		return bad_input(diag, c.op, "a CA's status is ACTIVE or INACTIVE");
	if (auto_registration < -1 || auto_registration > 1)
		return bad_input(diag, c.op, "auto-registration is -1, 0 or 1");
	if ((result = set_path(&c, "/cacertificate/", ca_certificate_id, "")) ||
	    (new_status && (result = add_query(&c, "newStatus", status_names[new_status]))) ||
	    (auto_registration >= 0 &&
	     (result = add_query(&c, "newAutoRegistrationStatus",
				 auto_registration ? "ENABLE" : "DISABLE"))))
		return result;
	result = call(s, deadline, &c, &json, res, diag);
	json_object_put(json);
	return result;
}

enum jitrd_err jitrd_iot_register_certificate(struct jitrd_iot_session *s, int64_t deadline,
					      const char *certificate_pem, const char *ca_pem,
					      enum jitrd_iot_status status,
					      struct jitrd_iot_registered *out,
					      struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct call c = {.op = JITRD_IOT_REGISTER_CERTIFICATE, .method = "POST"};
	struct json_object *json = NULL, *req = NULL;
	char *body = NULL;

	result_reset(res);
	if (!s || !out)
		return JITRD_ERR_INVALID_ARG;
	if (!text_ok(certificate_pem, JITRD_IOT_MAX_PEM) ||
	    (ca_pem && !text_ok(ca_pem, JITRD_IOT_MAX_PEM)))
		return bad_input(diag, c.op, "a PEM is empty, over 65536 bytes or not text");
	if ((unsigned)status >= STATUS_COUNT)
		return bad_input(diag, c.op, "unknown status");
	if ((result = set_path(&c, "/certificate/register", NULL, "")) != JITRD_OK)
		return result;
	result = JITRD_ERR_NOMEM;
	req = json_object_new_object();
	if (!req || (result = json_add_string(req, "certificatePem", certificate_pem)) ||
	    (ca_pem && (result = json_add_string(req, "caCertificatePem", ca_pem))) ||
	    (status && (result = json_add_string(req, "status", status_names[status]))) ||
	    (result = body_json(req, &body, &c.body_len)))
		goto cleanup;
	c.body = body;
	result = call(s, deadline, &c, &json, res, diag);
	if (result == JITRD_OK)
		result = read_registered(json, c.op, out, diag);
cleanup:
	free(body);
	json_object_put(req);
	json_object_put(json);
	return result;
}

/* ---- the readers, for tests and fuzz targets (iot_client_parse.h) ---- */

struct json_object *jitrd_iot_parse_json(struct json_tokener *tok, const char *body, size_t len)
{
	return parse_json(tok, body, len);
}

int jitrd_iot_is_empty_object(const char *body, size_t len)
{
	return is_empty_object(body, len);
}

void jitrd_iot_error_details(struct json_tokener *tok, const struct jitrd_awshttp_response *resp,
                             struct jitrd_iot_result *r)
{
	error_details(tok, resp, r);
}

int jitrd_iot_is_throttling(long status, const char *code)
{
	return is_throttling(status, code);
}

enum jitrd_err jitrd_iot_read_certificate(struct json_object *json,
                                          struct jitrd_iot_certificate *out,
                                          struct jitrd_diag *diag)
{
	return read_certificate(json, out, diag);
}

enum jitrd_err jitrd_iot_read_policy(struct json_object *json, struct jitrd_iot_policy *out,
                                     struct jitrd_diag *diag)
{
	return read_policy(json, JITRD_IOT_GET_POLICY, "defaultVersionId", out, diag);
}

enum jitrd_err jitrd_iot_read_thing(struct json_object *json, struct jitrd_iot_thing *out,
                                    struct jitrd_diag *diag)
{
	return read_thing(json, JITRD_IOT_DESCRIBE_THING, out, diag);
}

enum jitrd_err jitrd_iot_read_registered(struct json_object *json, struct jitrd_iot_registered *out,
                                         struct jitrd_diag *diag)
{
	return read_registered(json, JITRD_IOT_REGISTER_CERTIFICATE, out, diag);
}

int jitrd_iot_read_cert_summary(struct json_object *entry, struct jitrd_iot_cert_summary *out)
{
	return read_cert_summary(entry, out);
}

enum jitrd_err jitrd_iot_read_next_marker(struct json_object *json, char *marker, size_t size,
                                          int *more, struct jitrd_diag *diag)
{
	return next_marker(json, JITRD_IOT_LIST_CERTIFICATES_BY_CA, marker, size, diag, more);
}

enum jitrd_err jitrd_iot_read_thing_attribute(struct json_object *json, const char *name,
                                              char *value, int *present, struct jitrd_diag *diag)
{
	return read_thing_attribute(json, name, value, present, diag);
}

int jitrd_iot_principal_ok(struct json_object *entry)
{
	return principal_ok(entry);
}
