/* routes.c — one HTTP request in, one HTTP answer out: SigV4 check, routing per the botocore
 * model (method + requestUri), fault injection, counters, and the /_emulator/ control plane.
 * Pure: no sockets, no clock, no locks; must not block (latency is returned, not slept). */
#include "routes.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#define MAX_PARAMS      64
#define MAX_SEGMENTS    8
#define MAX_ERROR_CODES 32

struct route {
	const char *method;
	const char *pattern; /* segments; "*" matches one segment, which becomes the label */
	const char *operation;
	emu_op_fn fn;
};

/* From botocore's data/iot/2015-05-28/service-2.json (http.method, http.requestUri). */
static const struct route routes[] = {
    {"GET", "/registrationcode", "GetRegistrationCode", emu_op_get_registration_code},
    {"POST", "/cacertificate", "RegisterCACertificate", emu_op_register_ca_certificate},
    {"GET", "/cacertificate/*", "DescribeCACertificate", emu_op_describe_ca_certificate},
    {"PUT", "/cacertificate/*", "UpdateCACertificate", emu_op_update_ca_certificate},
    {"GET", "/cacertificates", "ListCACertificates", emu_op_list_ca_certificates},
    {"POST", "/certificate/register", "RegisterCertificate", emu_op_register_certificate},
    {"GET", "/certificates/*", "DescribeCertificate", emu_op_describe_certificate},
    {"PUT", "/certificates/*", "UpdateCertificate", emu_op_update_certificate},
    {"GET", "/certificates-by-ca/*", "ListCertificatesByCA", emu_op_list_certificates_by_ca},
    {"POST", "/policies/*", "CreatePolicy", emu_op_create_policy},
    {"GET", "/policies/*", "GetPolicy", emu_op_get_policy},
    {"DELETE", "/policies/*", "DeletePolicy", emu_op_delete_policy},
    {"POST", "/policies/*/version", "CreatePolicyVersion", emu_op_create_policy_version},
    {"GET", "/policies/*/version", "ListPolicyVersions", emu_op_list_policy_versions},
    {"GET", "/policies/*/version/*", "GetPolicyVersion", emu_op_get_policy_version},
    {"DELETE", "/policies/*/version/*", "DeletePolicyVersion", emu_op_delete_policy_version},
    {"PUT", "/target-policies/*", "AttachPolicy", emu_op_attach_policy},
    {"POST", "/target-policies/*", "DetachPolicy", emu_op_detach_policy},
    {"POST", "/attached-policies/*", "ListAttachedPolicies", emu_op_list_attached_policies},
    {"POST", "/things/*", "CreateThing", emu_op_create_thing},
    {"GET", "/things/*", "DescribeThing", emu_op_describe_thing},
    {"PATCH", "/things/*", "UpdateThing", emu_op_update_thing},
    {"PUT", "/things/*/principals", "AttachThingPrincipal", emu_op_attach_thing_principal},
    {"GET", "/things/*/principals", "ListThingPrincipals", emu_op_list_thing_principals},
    {"GET", "/principals/things", "ListPrincipalThings", emu_op_list_principal_things},
    {"POST", "/keys-and-certificate", "CreateKeysAndCertificate",
     emu_op_create_keys_and_certificate},
    {"POST", "/rules/*", "CreateTopicRule", emu_op_create_topic_rule},
    {"GET", "/rules/*", "GetTopicRule", emu_op_get_topic_rule},
    {"GET", "/endpoint", "DescribeEndpoint", emu_op_describe_endpoint},
};
#define ROUTE_COUNT (sizeof routes / sizeof routes[0])

struct bucket {
	double rate; /* tokens per second; 0 = no limit */
	double tokens;
	int64_t last_ms;
};

struct error_count {
	char code[48];
	uint64_t count;
};

struct faults {
	unsigned latency_ms;
	double error_rate;
	double rates[ROUTE_COUNT];
	/* added to latency_ms for one operation: a slow listing whose answer is stale by the
	 * time it arrives, while other calls go fast */
	unsigned operation_latency_ms[ROUTE_COUNT];
};

struct emu {
	struct emu_store *store;
	struct emu_sigv4_key key;
	char region[64];
	char access_key_id[JITRD_SIGV4_MAX_KEY_LEN + 1];
	char secret[JITRD_SIGV4_MAX_KEY_LEN + 1];
	struct faults initial; /* from the command line; restored by /_emulator/reset */
	struct faults faults;
	struct bucket buckets[ROUTE_COUNT];
	uint64_t prng;
	uint64_t calls[ROUTE_COUNT];
	uint64_t requests;
	struct error_count errors[MAX_ERROR_CODES];
	size_t error_kinds;
};

struct emu_store *emu_store(struct emu *emu)
{
	return emu->store;
}

static int copy_bounded(char *dst, size_t size, const char *src)
{
	if (src == NULL || src[0] == '\0' || strlen(src) >= size)
		return -1;
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

enum jitrd_err emu_new(const struct emu_config *config, struct emu **out)
{
	enum jitrd_err result;
	struct emu *emu;
	struct emu_store_config sc;

	if (config == NULL || config->latency_ms > EMU_MAX_LATENCY_MS ||
	    !(config->error_rate >= 0.0 && config->error_rate <= 1.0))
		return JITRD_ERR_INVALID_ARG;
	emu = calloc(1, sizeof *emu);
	if (emu == NULL)
		return JITRD_ERR_NOMEM;
	result = JITRD_ERR_INVALID_ARG;
	if (copy_bounded(emu->region, sizeof emu->region, config->region) != 0 ||
	    copy_bounded(emu->access_key_id, sizeof emu->access_key_id, config->access_key_id) !=
	        0 ||
	    copy_bounded(emu->secret, sizeof emu->secret, config->secret_access_key) != 0)
		goto cleanup;
	sc.region = config->region;
	sc.account_id = config->account_id;
	sc.registration_code = config->registration_code;
	sc.data_endpoint = config->data_endpoint;
	sc.issuer_cert_pem = config->issuer_cert_pem;
	sc.issuer_key_pem = config->issuer_key_pem;
	result = emu_store_new(&sc, &emu->store);
	if (result != JITRD_OK)
		goto cleanup;
	emu->key.region = emu->region;
	emu->key.access_key_id = emu->access_key_id;
	emu->key.secret_access_key = emu->secret;
	emu->initial.latency_ms = config->latency_ms;
	emu->initial.error_rate = config->error_rate;
	emu->faults = emu->initial;
	emu->prng = config->seed != 0 ? config->seed : 0x9e3779b97f4a7c15u;
	*out = emu;
	emu = NULL;
	result = JITRD_OK;
cleanup:
	emu_free(emu);
	return result;
}

void emu_free(struct emu *emu)
{
	if (emu == NULL)
		return;
	emu_store_free(emu->store);
	OPENSSL_cleanse(emu->secret, sizeof emu->secret);
	free(emu);
}

void emu_response_cleanup(struct emu_response *res)
{
	if (res == NULL)
		return;
	json_object_put(res->body);
	emu_event_cleanup(&res->event);
	memset(res, 0, sizeof *res);
}

static int find_operation(const char *name)
{
	for (size_t i = 0; i < ROUTE_COUNT; i++)
		if (strcmp(routes[i].operation, name) == 0)
			return (int)i;
	return -1;
}

/* A rate: a decimal number in (0, 1e6]; 0 is allowed when zero_ok (it removes the limit). */
static int parse_rate(const char *text, int zero_ok, double *out)
{
	char *end;
	double v;

	if (text[0] == '\0' || isspace((unsigned char)text[0]))
		return -1;
	v = strtod(text, &end);
	if (*end != '\0' || !isfinite(v) || v < 0 || v > 1e6 || (v == 0 && !zero_ok))
		return -1;
	*out = v;
	return 0;
}

static void set_rate(struct emu *emu, int op, double rate)
{
	emu->faults.rates[op] = rate;
	emu->buckets[op].rate = rate;
	emu->buckets[op].tokens = rate < 1 ? 1 : rate;
	emu->buckets[op].last_ms = 0;
}

enum jitrd_err emu_set_rate_limit(struct emu *emu, const char *spec, struct jitrd_diag *diag)
{
	const char *eq = strchr(spec, '=');
	char name[64];
	double rate;
	int op;

	if (eq == NULL || (size_t)(eq - spec) >= sizeof name) {
		jitrd_diag_set(diag, "rate limit must be Operation=N");
		return JITRD_ERR_INVALID_ARG;
	}
	memcpy(name, spec, (size_t)(eq - spec));
	name[eq - spec] = '\0';
	op = find_operation(name);
	if (op < 0) {
		jitrd_diag_set(diag, "unknown operation '%s' in rate limit", name);
		return JITRD_ERR_INVALID_ARG;
	}
	if (parse_rate(eq + 1, 0, &rate) != 0) {
		jitrd_diag_set(diag, "rate for %s must be a number above 0", name);
		return JITRD_ERR_INVALID_ARG;
	}
	set_rate(emu, op, rate);
	emu->initial.rates[op] = rate;
	return JITRD_OK;
}

/* Token bucket: capacity max(1, rate), refilled continuously. 1 when a token was taken. */
static int take_token(struct bucket *b, int64_t now_ms)
{
	double capacity = b->rate < 1 ? 1 : b->rate;

	if (b->rate <= 0)
		return 1;
	if (b->last_ms != 0 && now_ms > b->last_ms)
		b->tokens += (double)(now_ms - b->last_ms) * b->rate / 1000.0;
	if (b->tokens > capacity)
		b->tokens = capacity;
	b->last_ms = now_ms;
	if (b->tokens < 1)
		return 0;
	b->tokens -= 1;
	return 1;
}

/* xorshift64*: a uniform draw in [0, 1). Not for secrets. */
static double draw(struct emu *emu)
{
	uint64_t x = emu->prng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	emu->prng = x;
	return (double)((x * 0x2545f4914f6cdd1dULL) >> 11) / 9007199254740992.0;
}

static void count_error(struct emu *emu, const char *code)
{
	size_t i;

	for (i = 0; i < emu->error_kinds; i++) {
		if (strcmp(emu->errors[i].code, code) == 0) {
			emu->errors[i].count++;
			return;
		}
	}
	if (i < MAX_ERROR_CODES) {
		snprintf(emu->errors[i].code, sizeof emu->errors[i].code, "%s", code);
		emu->errors[i].count = 1;
		emu->error_kinds++;
	}
}

/* Fills res with an AWS error answer: status, x-amzn-ErrorType, {"message": ...}. */
static enum jitrd_err error_answer(struct emu *emu, const struct emu_api_error *err,
                                   struct emu_response *res)
{
	struct json_object *body = json_object_new_object();
	struct json_object *message;

	if (body == NULL)
		return JITRD_ERR_NOMEM;
	message = json_object_new_string(err->message);
	if (message == NULL || json_object_object_add(body, "message", message) != 0) {
		json_object_put(message);
		json_object_put(body);
		return JITRD_ERR_NOMEM;
	}
	count_error(emu, err->code);
	res->status = err->http_status;
	snprintf(res->error_type, sizeof res->error_type, "%s", err->code);
	res->body = body;
	return JITRD_OK;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..n) into out (n + 1 bytes); -1 on a malformed escape or a NUL. */
static int decode(const char *s, size_t n, char *out)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -1;
			hi = hex_digit(s[i + 1]);
			lo = hex_digit(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			out[w++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[w++] = s[i];
		}
	}
	out[w] = '\0';
	return 0;
}

/* Matches the raw path against a route pattern; on a match labels[0] and labels[1] hold the
 * decoded labels in order (malloc'd, NULL where the pattern has fewer). 1 match, 0 no match,
 * -1 malformed escape or out of memory (labels NULL). */
static int match_path(const char *pattern, const char *path, char *labels[2])
{
	size_t found = 0;
	int result = 0;

	labels[0] = labels[1] = NULL;
	while (*pattern == '/' && *path == '/') {
		const char *pend = strchr(pattern + 1, '/');
		const char *send = strchr(path + 1, '/');
		size_t plen = pend ? (size_t)(pend - pattern - 1) : strlen(pattern + 1);
		size_t slen = send ? (size_t)(send - path - 1) : strlen(path + 1);

		if (plen == 1 && pattern[1] == '*') {
			if (slen == 0 || found == 2)
				goto done;
			labels[found] = malloc(slen + 1);
			if (labels[found] == NULL || decode(path + 1, slen, labels[found]) != 0) {
				result = -1;
				goto done;
			}
			found++;
		} else if (plen != slen || memcmp(pattern + 1, path + 1, plen) != 0) {
			goto done;
		}
		pattern += plen + 1;
		path += slen + 1;
	}
	if (*pattern == '\0' && *path == '\0')
		return 1;
done:
	free(labels[0]);
	free(labels[1]);
	labels[0] = labels[1] = NULL;
	return result;
}

/* Splits and decodes the raw query into params (pointing into *storage, which the caller
 * frees). -1 when malformed or too long; -2 out of memory. */
static int parse_query(const char *query, struct emu_param *params, size_t *count, char **storage)
{
	size_t len = query != NULL ? strlen(query) : 0, n = 0;
	char *buf, *at;

	*count = 0;
	*storage = NULL;
	if (len == 0)
		return 0;
	if (len > EMU_MAX_QUERY)
		return -1;
	buf = malloc(2 * len + 2);
	if (buf == NULL)
		return -2;
	*storage = buf;
	at = buf;
	for (const char *p = query; *p != '\0';) {
		const char *amp = strchr(p, '&');
		size_t plen = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', plen);
		size_t klen = eq ? (size_t)(eq - p) : plen;

		if (plen > 0) {
			if (n == MAX_PARAMS)
				return -1;
			params[n].name = at;
			if (decode(p, klen, at) != 0)
				return -1;
			at += strlen(at) + 1;
			params[n].value = at;
			if (decode(eq ? eq + 1 : p + plen, eq ? plen - klen - 1 : 0, at) != 0)
				return -1;
			at += strlen(at) + 1;
			n++;
		}
		p += plen;
		if (*p == '&')
			p++;
	}
	*count = n;
	return 0;
}

/* The body as one JSON object and nothing after it; NULL otherwise or when out of memory
 * (*nomem set). */
static struct json_object *parse_object(const unsigned char *text, size_t len, int *nomem)
{
	struct json_tokener *tok;
	struct json_object *o;

	*nomem = 0;
	if (len == 0 || len > INT32_MAX)
		return NULL;
	tok = json_tokener_new();
	if (tok == NULL) {
		*nomem = 1;
		return NULL;
	}
	o = json_tokener_parse_ex(tok, (const char *)text, (int)len);
	if (o != NULL &&
	    (json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static const char *header(const struct emu_http_request *req, const char *name)
{
	for (size_t i = 0; i < req->header_count; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value != NULL ? req->headers[i].value : "";
	return NULL;
}

static enum jitrd_err ok_answer(struct emu_response *res, struct json_object *body)
{
	res->status = 200;
	res->error_type[0] = '\0';
	res->body = body;
	return JITRD_OK;
}

/* ---- control plane ---- */

static struct json_object *faults_json(const struct emu *emu)
{
	struct json_object *o = json_object_new_object(), *limits = json_object_new_object();
	struct json_object *slow = json_object_new_object();

	if (o == NULL || limits == NULL || slow == NULL ||
	    json_object_object_add(o, "rate_limits", limits) != 0) {
		json_object_put(slow);
		json_object_put(limits);
		json_object_put(o);
		return NULL;
	}
	if (json_object_object_add(o, "operation_latency_ms", slow) != 0) {
		json_object_put(slow);
		goto fail;
	}
	if (json_object_object_add(o, "latency_ms",
	                           json_object_new_int((int)emu->faults.latency_ms)) ||
	    json_object_object_add(o, "error_rate", json_object_new_double(emu->faults.error_rate)))
		goto fail;
	for (size_t i = 0; i < ROUTE_COUNT; i++)
		if (emu->faults.rates[i] > 0 &&
		    json_object_object_add(limits, routes[i].operation,
		                           json_object_new_double(emu->faults.rates[i])) != 0)
			goto fail;
	for (size_t i = 0; i < ROUTE_COUNT; i++)
		if (emu->faults.operation_latency_ms[i] > 0 &&
		    json_object_object_add(
			slow, routes[i].operation,
			json_object_new_int((int)emu->faults.operation_latency_ms[i])) != 0)
			goto fail;
	return o;
fail:
	json_object_put(o);
	return NULL;
}

static struct json_object *counters_json(const struct emu *emu)
{
	struct json_object *o = json_object_new_object();
	struct json_object *ops = json_object_new_object(), *errors = json_object_new_object();

	if (o == NULL || ops == NULL || errors == NULL) {
		json_object_put(o);
		json_object_put(ops);
		json_object_put(errors);
		return NULL;
	}
	if (json_object_object_add(o, "operations", ops) != 0) {
		json_object_put(ops);
		json_object_put(errors);
		goto fail;
	}
	if (json_object_object_add(o, "errors", errors) != 0) {
		json_object_put(errors);
		goto fail;
	}
	if (json_object_object_add(o, "requests", json_object_new_int64((int64_t)emu->requests)))
		goto fail;
	for (size_t i = 0; i < ROUTE_COUNT; i++)
		if (emu->calls[i] > 0 &&
		    json_object_object_add(ops, routes[i].operation,
		                           json_object_new_int64((int64_t)emu->calls[i])) != 0)
			goto fail;
	for (size_t i = 0; i < emu->error_kinds; i++)
		if (json_object_object_add(errors, emu->errors[i].code,
		                           json_object_new_int64((int64_t)emu->errors[i].count)))
			goto fail;
	return o;
fail:
	json_object_put(o);
	return NULL;
}

static enum jitrd_err control_error(struct emu *emu, int status, const char *code,
                                    const char *message, struct emu_response *res)
{
	struct emu_api_error err;

	emu_api_error_set(&err, status, code, "%s", message);
	return error_answer(emu, &err, res);
}

/* body's member key, {Operation: N} with each N a number from 0 to max (whole, when whole
 * is set), into values by operation (the others untouched). NULL, or what is wrong. */
static const char *per_operation(struct json_object *body, const char *key, double max, bool whole,
                                 double values[ROUTE_COUNT])
{
	struct json_object *map;

	if (!json_object_object_get_ex(body, key, &map))
		return NULL;
	if (!json_object_is_type(map, json_type_object))
		return "rate_limits and operation_latency_ms must be objects";
	json_object_object_foreach(map, name, value)
	{
		int op = find_operation(name);
		double n = json_object_get_double(value);

		if (op < 0)
			return "rate_limits and operation_latency_ms name operations";
		if (!json_object_is_type(value, json_type_int) &&
		    (whole || !json_object_is_type(value, json_type_double)))
			return whole ? "an operation's latency must be a whole number of ms"
			             : "a rate limit must be a number";
		if (!(n >= 0 && n <= max))
			return whole ? "an operation's latency must be from 0 to 60000 ms"
			             : "a rate limit must be from 0 to 1000000";
		values[op] = n;
	}
	return NULL;
}

/* {latency_ms, error_rate, rate_limits: {Op: N}, operation_latency_ms: {Op: MS}}: each member
 * optional; N = 0 removes a limit, MS = 0 an operation's added latency. Validated whole before
 * anything changes. */
static enum jitrd_err set_faults(struct emu *emu, const struct emu_http_request *req,
                                 struct emu_response *res)
{
	struct json_object *body = NULL, *v;
	struct faults next = emu->faults;
	const char *problem = NULL;
	enum jitrd_err result;
	int nomem;

	body = parse_object(req->body, req->body_len, &nomem);
	if (nomem)
		return JITRD_ERR_NOMEM;
	if (body == NULL) {
		problem = "the body must be a JSON object";
		goto done;
	}
	if (json_object_object_get_ex(body, "latency_ms", &v)) {
		int64_t ms = json_object_get_int64(v);

		if (!json_object_is_type(v, json_type_int) || ms < 0 || ms > EMU_MAX_LATENCY_MS)
			problem = "latency_ms must be an integer from 0 to 60000";
		else
			next.latency_ms = (unsigned)ms;
	}
	if (json_object_object_get_ex(body, "error_rate", &v)) {
		double rate = json_object_get_double(v);

		if ((!json_object_is_type(v, json_type_double) &&
		     !json_object_is_type(v, json_type_int)) ||
		    !(rate >= 0.0 && rate <= 1.0))
			problem = "error_rate must be a number from 0 to 1";
		else
			next.error_rate = rate;
	}
	if (!problem)
		problem = per_operation(body, "rate_limits", 1e6, false, next.rates);
	if (!problem) {
		double added[ROUTE_COUNT];

		for (size_t i = 0; i < ROUTE_COUNT; i++)
			added[i] = next.operation_latency_ms[i];
		problem =
		    per_operation(body, "operation_latency_ms", EMU_MAX_LATENCY_MS, true, added);
		for (size_t i = 0; i < ROUTE_COUNT; i++)
			next.operation_latency_ms[i] = (unsigned)added[i];
	}
done:
	json_object_put(body);
	if (problem != NULL)
		return control_error(emu, 400, "InvalidRequestException", problem, res);
	emu->faults.latency_ms = next.latency_ms;
	emu->faults.error_rate = next.error_rate;
	memcpy(emu->faults.operation_latency_ms, next.operation_latency_ms,
	       sizeof(next.operation_latency_ms));
	for (size_t i = 0; i < ROUTE_COUNT; i++)
		if (next.rates[i] != emu->faults.rates[i])
			set_rate(emu, (int)i, next.rates[i]);
	v = faults_json(emu);
	if (v == NULL)
		return JITRD_ERR_NOMEM;
	result = ok_answer(res, v);
	return result;
}

static enum jitrd_err control(struct emu *emu, const struct emu_http_request *req, int64_t now_ms,
                              struct emu_response *res)
{
	enum jitrd_err result;
	struct emu_api_error err;
	struct json_object *body;
	const char *path = req->path;
	int get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;

	if (strcmp(path, "/_emulator/connect") == 0 && post) {
		result =
		    emu_store_connect(emu->store, req->body != NULL ? (const char *)req->body : "",
		                      req->body_len, now_ms, &body, &res->event, &err);
		if (result == JITRD_ERR_API)
			return error_answer(emu, &err, res);
		if (result != JITRD_OK)
			return result;
		return ok_answer(res, body);
	}
	if (strcmp(path, "/_emulator/state") == 0 && get) {
		struct json_object *faults, *counters;

		body = emu_store_state(emu->store);
		if (body == NULL)
			return JITRD_ERR_NOMEM;
		faults = faults_json(emu);
		counters = counters_json(emu);
		if (faults == NULL || json_object_object_add(body, "faults", faults) != 0) {
			json_object_put(faults);
			json_object_put(counters);
			json_object_put(body);
			return JITRD_ERR_NOMEM;
		}
		if (counters == NULL || json_object_object_add(body, "counters", counters) != 0) {
			json_object_put(counters);
			json_object_put(body);
			return JITRD_ERR_NOMEM;
		}
		return ok_answer(res, body);
	}
	if (strcmp(path, "/_emulator/reset") == 0 && post) {
		body = json_object_new_object();
		if (body == NULL)
			return JITRD_ERR_NOMEM;
		/* Back to the state at start-up: empty account, command-line faults. */
		emu_store_reset(emu->store);
		emu->faults = emu->initial;
		for (size_t i = 0; i < ROUTE_COUNT; i++)
			set_rate(emu, (int)i, emu->initial.rates[i]);
		memset(emu->calls, 0, sizeof emu->calls);
		emu->requests = 0;
		emu->error_kinds = 0;
		return ok_answer(res, body);
	}
	if (strcmp(path, "/_emulator/faults") == 0 && post)
		return set_faults(emu, req, res);
	if (strcmp(path, "/_emulator/faults") == 0 && get) {
		body = faults_json(emu);
		if (body == NULL)
			return JITRD_ERR_NOMEM;
		return ok_answer(res, body);
	}
	return control_error(emu, 404, "UnknownOperationException",
	                     "no such emulator endpoint (connect, state, reset, faults)", res);
}

/* ---- API ---- */

static enum jitrd_err api(struct emu *emu, const struct emu_http_request *req, int64_t now_ms,
                          struct emu_response *res)
{
	enum jitrd_err result;
	struct emu_api_error err;
	struct emu_param params[MAX_PARAMS];
	struct emu_call call;
	struct json_object *body = NULL, *answer = NULL;
	char *labels[2] = {NULL, NULL}, *query_storage = NULL;
	size_t route, param_count = 0;
	int matched = 0, q;

	res->delay_ms = emu->faults.latency_ms;
	result = emu_sigv4_verify(&emu->key, req, (time_t)(now_ms / 1000), &err);
	if (result == JITRD_ERR_NOMEM)
		goto cleanup;
	if (result != JITRD_OK) {
		result = error_answer(emu, &err, res);
		goto cleanup;
	}
	for (route = 0; route < ROUTE_COUNT && !matched; route++) {
		if (strcmp(routes[route].method, req->method) != 0)
			continue;
		matched = match_path(routes[route].pattern, req->path, labels);
		if (matched < 0) {
			result = control_error(emu, 400, "InvalidRequestException",
			                       "the path holds a malformed %-escape", res);
			goto cleanup;
		}
	}
	if (!matched) {
		result = control_error(emu, 404, "UnknownOperationException",
		                       "no IoT operation has this method and path", res);
		goto cleanup;
	}
	route--;
	emu->calls[route]++;
	/* the answer is computed now and sent after the delay, so it is as old as the delay */
	res->delay_ms += emu->faults.operation_latency_ms[route];
	if (!take_token(&emu->buckets[route], now_ms)) {
		result = control_error(emu, 400, "ThrottlingException", "Rate exceeded", res);
		goto cleanup;
	}
	if (emu->faults.error_rate > 0 && draw(emu) < emu->faults.error_rate) {
		/* Alternate the two transient server errors AWS answers. */
		if (draw(emu) < 0.5)
			result = control_error(emu, 500, "InternalFailureException",
			                       "An internal failure occurred (injected)", res);
		else
			result =
			    control_error(emu, 503, "ServiceUnavailableException",
			                  "The service is temporarily unavailable (injected)", res);
		goto cleanup;
	}
	q = parse_query(req->query, params, &param_count, &query_storage);
	if (q == -2) {
		result = JITRD_ERR_NOMEM;
		goto cleanup;
	}
	if (q != 0) {
		result = control_error(emu, 400, "InvalidRequestException",
		                       "the query string is malformed or too long", res);
		goto cleanup;
	}
	if (req->body_len > 0) {
		int nomem;

		body = parse_object(req->body, req->body_len, &nomem);
		if (nomem) {
			result = JITRD_ERR_NOMEM;
			goto cleanup;
		}
		if (body == NULL) {
			result = control_error(emu, 400, "InvalidRequestException",
			                       "the body is not a JSON object", res);
			goto cleanup;
		}
	}
	call.label = labels[0];
	call.label2 = labels[1];
	call.params = params;
	call.param_count = param_count;
	call.principal = header(req, "x-amzn-principal");
	call.body = body;
	call.now_ms = now_ms;
	result = routes[route].fn(emu->store, &call, &answer, &err);
	if (result == JITRD_ERR_API)
		result = error_answer(emu, &err, res);
	else if (result == JITRD_OK)
		result = ok_answer(res, answer);
cleanup:
	json_object_put(body);
	free(labels[0]);
	free(labels[1]);
	free(query_storage);
	return result;
}

enum jitrd_err emu_handle(struct emu *emu, const struct emu_http_request *req, int64_t now_ms,
                          struct emu_response *out)
{
	enum jitrd_err result;
	struct emu_response res;

	memset(&res, 0, sizeof res);
	if (strncmp(req->path, "/_emulator/", 11) == 0) {
		result = control(emu, req, now_ms, &res);
	} else {
		emu->requests++;
		result = api(emu, req, now_ms, &res);
	}
	if (result != JITRD_OK) {
		emu_response_cleanup(&res);
		return result;
	}
	*out = res;
	return JITRD_OK;
}
