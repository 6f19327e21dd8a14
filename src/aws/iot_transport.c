/* iot_transport.c — the IoT client's transport: the client and its sessions (libcurl share and
 * easy handles), and one call of an operation: SigV4-signed, client-side rate limits before each
 * attempt, transient errors retried with full-jitter backoff inside the caller's deadline, the
 * answer classified (AWS's error code and message, throttling). What each operation sends and
 * reads is iot_operations.c's. Must not log, turn TLS verification off, or put a credential
 * into a message. */
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

#include "awshttp.h"
#include "awssign.h"
#include "iot_client_parse.h"
#include "iot_transport.h"
#include "jitrd/clock.h"
#include "jitrd/ratelimit.h"
#include "jitrd/sigv4.h"

/* The request's header lines: host, content-type, x-amzn-principal, x-amz-date, authorization,
 * x-amz-security-token, accept, and the two that switch curl's own off. Their text holds the
 * longest token and principal with room for the rest; beyond it a request is refused. */
#define HEADER_LINES    10
#define HEADER_TEXT_MAX (JITRD_SIGV4_MAX_VALUE_LEN + JITRD_IOT_MAX_PRINCIPAL + 4096)

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
	const struct jitrd_iot_service *service_spec; /* NULL: AWS IoT */
	char target_prefix[32];                       /* with service_spec */
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
	int (*cancelled)(void *ctx);
	void *cancel_ctx;
};

/* The operation's name, for messages and X-Amz-Target. */
static const char *op_name(const struct jitrd_iot_client *cl, int op)
{
	if (cl->service_spec)
		return op >= 0 && (size_t)op < cl->service_spec->op_count
		           ? cl->service_spec->op_name(op)
		           : "?";
	return jitrd_iot_op_name((enum jitrd_iot_op)op);
}

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
	opts->rates[JITRD_IOT_REGISTER_CERTIFICATE] = cfg->limits.register_certificate;
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
	const char *why;
	char quoted[200];

	if (jitrd_awshttp_endpoint(endpoint, c->host, sizeof(c->host), c->base_url,
	                           sizeof(c->base_url), &why) != JITRD_OK) {
		jitrd_quote(quoted, sizeof(quoted), endpoint, strlen(endpoint));
		jitrd_diag_set(diag, "[aws] endpoint %s: %s", quoted, why);
		return JITRD_ERR_CONFIG;
	}
	return JITRD_OK;
}

static enum jitrd_err client_new(const struct jitrd_iot_client_options *opts,
                                 const struct jitrd_iot_service *svc,
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
	if (!svc && strcmp(opts->signing_name, "iot") != 0 &&
	    strcmp(opts->signing_name, "execute-api") != 0) {
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
	snprintf(c->service, sizeof(c->service), "%s",
	         svc ? svc->signing_name : opts->signing_name);
	if (svc) {
		c->service_spec = svc;
		snprintf(c->target_prefix, sizeof(c->target_prefix), "%s", svc->target_prefix);
	}
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
	c->on_request = svc ? NULL : opts->on_request;
	c->on_request_ctx = opts->on_request_ctx;
	c->creds = creds;
	result = jitrd_ratelimit_new(opts->rates, svc ? svc->op_count : JITRD_IOT_OP_COUNT,
	                             jitrd_clock_mono_ns(), &c->limits);
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

enum jitrd_err jitrd_iot_client_new(const struct jitrd_iot_client_options *opts,
                                    struct jitrd_credentials_provider *creds,
                                    struct jitrd_iot_client **out, struct jitrd_diag *diag)
{
	return client_new(opts, NULL, creds, out, diag);
}

enum jitrd_err jitrd_iot_client_new_service(const struct jitrd_iot_client_options *opts,
                                            const struct jitrd_iot_service *svc,
                                            struct jitrd_credentials_provider *creds,
                                            struct jitrd_iot_client **out, struct jitrd_diag *diag)
{
	if (!svc || !svc->signing_name || !svc->content_type || !svc->target_prefix ||
	    !svc->op_name || svc->op_count == 0 || svc->op_count > JITRD_IOT_OP_COUNT ||
	    strlen(svc->target_prefix) >= 32 || !opts || !opts->endpoint || !opts->endpoint[0]) {
		jitrd_diag_set(diag, "AWS client: invalid service");
		return JITRD_ERR_INVALID_ARG;
	}
	return client_new(opts, svc, creds, out, diag);
}

void jitrd_iot_session_set_cancel(struct jitrd_iot_session *s, int (*cancelled)(void *ctx),
                                  void *ctx)
{
	if (!s)
		return;
	s->cancelled = cancelled;
	s->cancel_ctx = ctx;
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
	return jitrd_clock_mono_ms() + ms;
}

/* ---- one call: sign, send, classify, retry ---- */

enum outcome { DONE, FINAL, TRANSIENT };

static int is_throttling(long status, const char *code)
{
	static const char *const codes[] = {"ThrottlingException",      "RequestThrottled",
	                                    "TooManyRequestsException", "Throttling",
	                                    "ThrottledException",       "RequestThrottledException",
	                                    "RequestLimitExceeded",     "SlowDown"};

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

/* The error code and message of a non-2xx answer: x-amzn-ErrorType ("Code:detail", or
 * "namespace#Code"), else the
 * body's __type ("ns#Code"), code or Code; message or Message. Made printable, cut to size. */
static void error_details(struct json_tokener *tok, const struct jitrd_awshttp_response *resp,
                          struct jitrd_iot_result *r)
{
	struct json_object *body = parse_json(tok, resp->body, resp->body_len);
	struct json_object *v;
	const char *code = NULL, *msg = NULL;
	char raw[128];

	if (resp->error_type[0]) {
		/* "Code:detail"; JSON 1.0 services (SQS) send "namespace#Code" */
		const char *hash = strrchr(resp->error_type, '#');
		const char *t = hash ? hash + 1 : resp->error_type;

		snprintf(raw, sizeof(raw), "%.*s", (int)strcspn(t, ":"), t);
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
static void format_url(char *url, const char *base_url, const struct jitrd_iot_call *c)
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

static enum jitrd_err add_signed_header(void *ctx, const char *name, const char *value)
{
	return add_header(ctx, name, value);
}

/* Signs and sends one attempt. On JITRD_OK *resp holds an HTTP answer (any status). */
static enum jitrd_err attempt(struct jitrd_iot_session *s, const struct jitrd_iot_call *c,
                              long timeout_ms, struct jitrd_awshttp_response *resp,
                              struct jitrd_diag *diag)
{
	struct jitrd_iot_client *cl = s->client;
	enum jitrd_err result;
	struct jitrd_sigv4_header headers[4];
	char target[96];
	struct jitrd_sigv4_request req = {0};
	struct jitrd_awssign signer = {cl->creds, cl->region, cl->service, &s->creds,
	                               &s->key_cache};
	struct header_block *list = &s->headers;
	char url[sizeof(cl->base_url) + JITRD_IOT_MAX_PATH + JITRD_IOT_MAX_QUERY + 2];
	size_t n = 0;

	headers[n++] = (struct jitrd_sigv4_header){"host", cl->host};
	if (c->body)
		headers[n++] = (struct jitrd_sigv4_header){
		    "content-type",
		    cl->service_spec ? cl->service_spec->content_type : "application/json"};
	if (cl->service_spec) {
		/* AWS JSON protocols name the operation in a signed header, not in the path. */
		snprintf(target, sizeof(target), "%s.%s", cl->target_prefix, op_name(cl, c->op));
		headers[n++] = (struct jitrd_sigv4_header){"x-amz-target", target};
	}
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
	result = jitrd_awssign_headers(&signer, (time_t)(jitrd_clock_wall_ms() / 1000), &req,
	                               add_signed_header, list, diag);
	if (result != JITRD_OK) {
		jitrd_diag_prefix(diag, op_name(cl, c->op));
		goto cleanup;
	}
	/* No "Expect: 100-continue" round trip; no Content-Type on bodiless requests. */
	if ((result = add_header(list, "Accept", "application/json")) != JITRD_OK ||
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
		    .connect_timeout_ms =
			cl->connect_timeout_ms < timeout_ms ? cl->connect_timeout_ms : timeout_ms,
		    .timeout_ms = timeout_ms,
		    .max_body = cl->max_response,
		    .prepared = 1,
		    /* the endpoint check allows http only to loopback: never via a proxy */
		    .no_proxy = strncmp(cl->base_url, "http://", 7) == 0,
		    .cancelled = s->cancelled,
		    .cancel_ctx = s->cancel_ctx,
		};
		struct jitrd_diag hdiag = {{0}};

		result = jitrd_awshttp_perform(s->easy, &hreq, resp, &hdiag);
		if (result != JITRD_OK)
			jitrd_diag_set(diag, "%s: %s", op_name(cl, c->op), hdiag.text);
	}
cleanup:
	wipe_headers(list);
	return result;
}

enum jitrd_err jitrd_iot_call(struct jitrd_iot_session *s, int64_t deadline,
                              const struct jitrd_iot_call *c, struct json_object **json,
                              struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	struct jitrd_iot_client *cl = s->client;
	const char *name = op_name(cl, c->op);
	struct jitrd_iot_result r = {0};
	enum jitrd_err result = JITRD_ERR_DEADLINE;
	enum jitrd_err last = JITRD_ERR_DEADLINE;

	if (res)
		r.attempts = res->attempts; /* list calls add up their pages */
	for (;;) {
		struct jitrd_awshttp_response resp = {0};
		enum outcome outcome = FINAL;
		int64_t now = jitrd_clock_mono_ms(), wait_ns, delay;
		enum jitrd_err err;

		if (now >= deadline) {
			if (r.attempts == 0 || last == JITRD_ERR_DEADLINE)
				jitrd_diag_set(diag, "%s: deadline passed before a request", name);
			result = last;
			break;
		}
		/* The client-side limit is a wait, not an error, while the deadline allows it. */
		err = jitrd_ratelimit_acquire(cl->limits, c->op, jitrd_clock_mono_ns(),
		                              (deadline - now) * 1000000, &wait_ns);
		if (err != JITRD_OK) {
			jitrd_diag_set(
			    diag, "%s: client-side rate limit would wait past the deadline", name);
			result = r.attempts ? last : JITRD_ERR_DEADLINE;
			break;
		}
		jitrd_awshttp_sleep_ms((wait_ns + 999999) / 1000000);
		now = jitrd_clock_mono_ms();
		if (now >= deadline) {
			result = r.attempts ? last : JITRD_ERR_DEADLINE;
			jitrd_diag_set(diag, "%s: deadline passed while rate limited", name);
			break;
		}
		r.attempts++;
		memset(r.code, 0, sizeof(r.code));
		memset(r.message, 0, sizeof(r.message));
		r.http_status = 0;
		int64_t sent_ns = jitrd_clock_mono_ns();
		err = attempt(s, c,
		              deadline - now < cl->request_timeout_ms ? (long)(deadline - now)
		                                                      : cl->request_timeout_ms,
		              &resp, diag);
		if (cl->on_request)
			cl->on_request(cl->on_request_ctx, (enum jitrd_iot_op)c->op,
			               err == JITRD_OK ? resp.status : 0,
			               (double)(jitrd_clock_mono_ns() - sent_ns) / 1e9);
		if (err == JITRD_OK) {
			r.http_status = resp.status;
			if (resp.status >= 200 && resp.status <= 299) {
				struct json_object *obj = NULL;

				/* Anything but "{}" is still parsed: a 2xx whose body is not a
				 * JSON object is a bad answer even where nothing is read. */
				if (resp.body_len > 0 &&
				    !(c->answer_unused &&
				      is_empty_object(resp.body, resp.body_len))) {
					obj = parse_json(s->tok, resp.body, resp.body_len);
					if (!obj || !json_object_is_type(obj, json_type_object)) {
						json_object_put(obj);
						jitrd_diag_set(diag,
						               "%s: HTTP %ld with a body that "
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
			jitrd_diag_set(diag, "%s: HTTP %ld %s: %s (attempt %u)", name,
			               r.http_status, r.code[0] ? r.code : "(no error code)",
			               r.message, r.attempts);
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
		now = jitrd_clock_mono_ms();
		err = jitrd_backoff_next(&cl->backoff, r.attempts, jitrd_random64(), now, deadline,
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
