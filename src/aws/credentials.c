/* credentials.c — the AWS credential chain of DESIGN §4.2: environment, web identity (STS
 * AssumeRoleWithWebIdentity), shared credentials/config files, container endpoint, IMDSv2.
 * Must not read the process environment (envp is passed in), log, or put a secret or token
 * into a message; every secret buffer is wiped with OPENSSL_cleanse before it is freed. */
#include "jitrd/credentials.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ini.h>
#include <json-c/json.h>
#include <openssl/crypto.h>

#include "awshttp.h"
#include "credentials_parse.h"

#define MAX_FILE_BYTES   (1024 * 1024) /* shared files, token files */
#define MAX_RESPONSE     (64 * 1024)   /* STS, container and IMDS answers */
#define MAX_URL          2048
#define MAX_NAME         256 /* profile, role, session names */
#define IMDS_DEFAULT     "http://169.254.169.254"
#define CONTAINER_HOST   "http://169.254.170.2"
#define IMDS_TOKEN_TTL_S "21600"

/* The variables of the chain, copied from envp at _new. */
enum env_var {
	ENV_ACCESS_KEY_ID,
	ENV_SECRET_ACCESS_KEY,
	ENV_SESSION_TOKEN,
	ENV_WEB_IDENTITY_TOKEN_FILE,
	ENV_ROLE_ARN,
	ENV_ROLE_SESSION_NAME,
	ENV_STS_ENDPOINT,
	ENV_REGION,
	ENV_SHARED_CREDENTIALS_FILE,
	ENV_CONFIG_FILE,
	ENV_PROFILE,
	ENV_HOME,
	ENV_CONTAINER_RELATIVE_URI,
	ENV_CONTAINER_FULL_URI,
	ENV_CONTAINER_AUTH_TOKEN,
	ENV_CONTAINER_AUTH_TOKEN_FILE,
	ENV_IMDS_ENDPOINT,
	ENV_IMDS_DISABLED,
	ENV_COUNT
};

static const char *const env_names[ENV_COUNT] = {
    [ENV_ACCESS_KEY_ID] = "AWS_ACCESS_KEY_ID",
    [ENV_SECRET_ACCESS_KEY] = "AWS_SECRET_ACCESS_KEY",
    [ENV_SESSION_TOKEN] = "AWS_SESSION_TOKEN",
    [ENV_WEB_IDENTITY_TOKEN_FILE] = "AWS_WEB_IDENTITY_TOKEN_FILE",
    [ENV_ROLE_ARN] = "AWS_ROLE_ARN",
    [ENV_ROLE_SESSION_NAME] = "AWS_ROLE_SESSION_NAME",
    [ENV_STS_ENDPOINT] = "AWS_STS_ENDPOINT",
    [ENV_REGION] = "AWS_REGION",
    [ENV_SHARED_CREDENTIALS_FILE] = "AWS_SHARED_CREDENTIALS_FILE",
    [ENV_CONFIG_FILE] = "AWS_CONFIG_FILE",
    [ENV_PROFILE] = "AWS_PROFILE",
    [ENV_HOME] = "HOME",
    [ENV_CONTAINER_RELATIVE_URI] = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    [ENV_CONTAINER_FULL_URI] = "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    [ENV_CONTAINER_AUTH_TOKEN] = "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    [ENV_CONTAINER_AUTH_TOKEN_FILE] = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    [ENV_IMDS_ENDPOINT] = "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    [ENV_IMDS_DISABLED] = "AWS_EC2_METADATA_DISABLED",
};

struct jitrd_credentials_provider {
	pthread_mutex_t lock; /* guards source, cached, have_cached */
	char *env[ENV_COUNT]; /* NULL when unset or empty; secrets among them are wiped */
	char profile[MAX_NAME];
	char region[64];
	long connect_timeout_ms;
	long timeout_ms;
	int refresh_before_seconds;
	enum jitrd_credentials_source source;
	int have_cached;
	struct jitrd_credentials cached;
};

/* A provider's fetch: JITRD_OK and *out filled; or *skipped = 1 when not configured. */
typedef enum jitrd_err (*fetch_fn)(struct jitrd_credentials_provider *p, time_t now,
                                   struct jitrd_credentials *out, int *skipped,
                                   struct jitrd_diag *diag);

void jitrd_credentials_cleanse(struct jitrd_credentials *creds)
{
	if (creds)
		OPENSSL_cleanse(creds, sizeof(*creds));
}

const char *jitrd_credentials_source_name(enum jitrd_credentials_source source)
{
	switch (source) {
	case JITRD_CREDENTIALS_ENVIRONMENT:
		return "environment";
	case JITRD_CREDENTIALS_WEB_IDENTITY:
		return "web-identity";
	case JITRD_CREDENTIALS_SHARED_FILES:
		return "shared-files";
	case JITRD_CREDENTIALS_CONTAINER:
		return "container";
	case JITRD_CREDENTIALS_IMDS:
		return "imds";
	default:
		return "none";
	}
}

void jitrd_credentials_options_init(struct jitrd_credentials_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->connect_timeout_ms = 1000;
	opts->timeout_ms = 3000;
	opts->refresh_before_seconds = 300;
}

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/* ---- validation and copying of what a provider found ---- */

static int key_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > JITRD_CREDENTIALS_MAX_KEY)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

/* Printable ASCII only: a secret or token goes into an HMAC or a header verbatim. */
static int secret_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	return 1;
}

/* Fills *out from found values; which names the provider for the message. The values are
 * checked, never quoted: a bad secret must not end up in diag either. */
static enum jitrd_err set_credentials(struct jitrd_credentials *out, const char *key_id,
                                      const char *secret, const char *token, time_t expiration,
                                      const char *which, struct jitrd_diag *diag)
{
	if (!key_id || !key_id_ok(key_id)) {
		jitrd_diag_set(diag, "%s: access key id missing or not [A-Za-z0-9._-]{1,128}",
		               which);
		return JITRD_ERR_CREDENTIALS;
	}
	if (!secret || !secret[0] || !secret_ok(secret, JITRD_CREDENTIALS_MAX_KEY)) {
		jitrd_diag_set(diag,
		               "%s: secret access key missing, over %d bytes or not printable",
		               which, JITRD_CREDENTIALS_MAX_KEY);
		return JITRD_ERR_CREDENTIALS;
	}
	if (token && !secret_ok(token, JITRD_CREDENTIALS_MAX_TOKEN)) {
		jitrd_diag_set(diag, "%s: session token over %d bytes or not printable", which,
		               JITRD_CREDENTIALS_MAX_TOKEN);
		return JITRD_ERR_CREDENTIALS;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out->access_key_id, key_id, strlen(key_id));
	memcpy(out->secret_access_key, secret, strlen(secret));
	if (token)
		memcpy(out->session_token, token, strlen(token));
	out->expiration = expiration;
	return JITRD_OK;
}

/* Reads a whole small file (at most MAX_FILE_BYTES) NUL-terminated; caller wipes and frees.
 * The path is the operator's own setting, so it may be named in the message. */
static enum jitrd_err read_small_file(const char *path, const char *which, char **out,
                                      size_t *len_out, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_CREDENTIALS;
	char quoted[300];
	char *buf = NULL;
	size_t len = 0;
	int fd;

	jitrd_quote(quoted, sizeof(quoted), path, strlen(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		jitrd_diag_set(diag, "%s: cannot open %s: %s", which, quoted, strerror(errno));
		return JITRD_ERR_CREDENTIALS;
	}
	buf = malloc(MAX_FILE_BYTES + 1);
	if (!buf) {
		result = JITRD_ERR_NOMEM;
		goto cleanup;
	}
	for (;;) {
		ssize_t got = read(fd, buf + len, MAX_FILE_BYTES + 1 - len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			jitrd_diag_set(diag, "%s: cannot read %s: %s", which, quoted,
			               strerror(errno));
			goto cleanup;
		}
		if (got == 0)
			break;
		len += (size_t)got;
		if (len > MAX_FILE_BYTES) {
			jitrd_diag_set(diag, "%s: %s is over %d bytes", which, quoted,
			               MAX_FILE_BYTES);
			goto cleanup;
		}
	}
	buf[len] = '\0';
	*out = buf;
	*len_out = len;
	buf = NULL;
	result = JITRD_OK;
cleanup:
	if (buf) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	close(fd);
	return result;
}

static void trim_in_place(char *s)
{
	size_t n = strlen(s), start = 0;

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (start < n && isspace((unsigned char)s[start]))
		start++;
	memmove(s, s + start, n - start + 1);
}

/* ---- JSON answers (STS, container, IMDS): untrusted, checked member by member ---- */

static const char *json_string_member(struct json_object *obj, const char *key, size_t max)
{
	struct json_object *v;
	const char *s;

	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) > max ||
	    strlen(s) != (size_t)json_object_get_string_len(v))
		return NULL; /* over its bound, or an embedded NUL */
	return s;
}

static struct json_object *parse_json(const char *body, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(16);
	struct json_object *obj = NULL;

	if (!tok)
		return NULL;
	if (len <= INT32_MAX) {
		obj = json_tokener_parse_ex(tok, body, (int)len);
		if (json_tokener_get_error(tok) != json_tokener_success ||
		    json_tokener_get_parse_end(tok) != len) {
			json_object_put(obj);
			obj = NULL;
		}
	}
	json_tokener_free(tok);
	return obj;
}

/* Expiration as ISO 8601 (container, IMDS) or epoch seconds (STS's JSON). */
static int json_expiration(struct json_object *obj, time_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, "Expiration", &v))
		return -1;
	if (json_object_is_type(v, json_type_string))
		return jitrd_awshttp_parse_iso8601(json_object_get_string(v), out) != JITRD_OK ? -1
		                                                                               : 0;
	if (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) {
		double d = json_object_get_double(v);

		if (!(d > 0 && d < 253402300800.0)) /* before 10000-01-01 */
			return -1;
		*out = (time_t)d;
		return 0;
	}
	return -1;
}

/* Credentials from an object with AccessKeyId, SecretAccessKey, Token|SessionToken,
 * Expiration. The answer is never echoed: it holds the secret. */
static enum jitrd_err credentials_from_json(struct json_object *c, const char *which,
                                            struct jitrd_credentials *out, struct jitrd_diag *diag)
{
	const char *key_id = json_string_member(c, "AccessKeyId", JITRD_CREDENTIALS_MAX_KEY);
	const char *secret = json_string_member(c, "SecretAccessKey", JITRD_CREDENTIALS_MAX_KEY);
	const char *token = json_string_member(c, "Token", JITRD_CREDENTIALS_MAX_TOKEN);
	time_t expiration;

	if (!token)
		token = json_string_member(c, "SessionToken", JITRD_CREDENTIALS_MAX_TOKEN);
	if (!key_id || !secret || !token) {
		jitrd_diag_set(diag,
		               "%s: answer lacks AccessKeyId, SecretAccessKey or Token as "
		               "strings within bounds",
		               which);
		return JITRD_ERR_CREDENTIALS;
	}
	if (json_expiration(c, &expiration) != 0) {
		jitrd_diag_set(diag, "%s: answer has no valid Expiration", which);
		return JITRD_ERR_CREDENTIALS;
	}
	return set_credentials(out, key_id, secret, token, expiration, which, diag);
}

/* One HTTP exchange on a fresh handle (providers are called rarely). On success the body is
 * the caller's (wipe and free it). A non-2xx status is an error named with the status only. */
static enum jitrd_err http_fetch(struct jitrd_credentials_provider *p, const char *which,
                                 const char *method, const char *url, struct curl_slist *headers,
                                 const char *body, size_t body_len,
                                 struct jitrd_awshttp_response *resp, struct jitrd_diag *diag)
{
	/* The instance metadata service and the container agent are on this host or its link:
	 * a proxy from the environment must never see the request, nor the credentials it
	 * answers with (AWS SDKs do the same). STS is an ordinary AWS endpoint and may use one. */
	int local = strcmp(which, "IMDS") == 0 || strcmp(which, "container") == 0;
	struct jitrd_awshttp_request req = {
	    .no_proxy = local,
	    .method = method,
	    .url = url,
	    .headers = headers,
	    .body = body,
	    .body_len = body_len,
	    .connect_timeout_ms = p->connect_timeout_ms,
	    .timeout_ms = p->timeout_ms,
	    .max_body = MAX_RESPONSE,
	};
	struct jitrd_diag http_diag = {{0}};
	enum jitrd_err err;
	CURL *easy = curl_easy_init();

	if (!easy)
		return JITRD_ERR_NOMEM;
	err = jitrd_awshttp_perform(easy, &req, resp, &http_diag);
	curl_easy_cleanup(easy);
	if (err == JITRD_ERR_NOMEM)
		return err;
	if (err != JITRD_OK) {
		jitrd_diag_set(diag, "%s: %s", which, http_diag.text);
		return JITRD_ERR_CREDENTIALS;
	}
	if (resp->status < 200 || resp->status > 299) {
		jitrd_diag_set(diag, "%s: %s answered HTTP %ld", which, method, resp->status);
		OPENSSL_cleanse(resp->body, resp->body_len);
		jitrd_awshttp_response_cleanup(resp);
		return JITRD_ERR_CREDENTIALS;
	}
	return JITRD_OK;
}

static void response_wipe(struct jitrd_awshttp_response *resp)
{
	if (resp->body)
		OPENSSL_cleanse(resp->body, resp->body_len);
	jitrd_awshttp_response_cleanup(resp);
}

/* ---- 1. environment ---- */

static enum jitrd_err fetch_environment(struct jitrd_credentials_provider *p, time_t now,
                                        struct jitrd_credentials *out, int *skipped,
                                        struct jitrd_diag *diag)
{
	(void)now;
	if (!p->env[ENV_ACCESS_KEY_ID] && !p->env[ENV_SECRET_ACCESS_KEY]) {
		*skipped = 1;
		return JITRD_ERR_CREDENTIALS;
	}
	if (!p->env[ENV_ACCESS_KEY_ID] || !p->env[ENV_SECRET_ACCESS_KEY]) {
		jitrd_diag_set(diag, "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
		                     "must be set together");
		return JITRD_ERR_CREDENTIALS;
	}
	return set_credentials(out, p->env[ENV_ACCESS_KEY_ID], p->env[ENV_SECRET_ACCESS_KEY],
	                       p->env[ENV_SESSION_TOKEN], 0, "environment", diag);
}

/* ---- 2. web identity: STS AssumeRoleWithWebIdentity, JSON answer ---- */

static enum jitrd_err form_append(char **form, size_t *len, const char *name, const char *value)
{
	char *enc = jitrd_awshttp_uri_encode(value, strlen(value));
	size_t add;
	char *grown;

	if (!enc)
		return JITRD_ERR_NOMEM;
	add = strlen(name) + strlen(enc) + 2;
	grown = realloc(*form, *len + add + 1);
	if (!grown) {
		wipe_free(enc);
		return JITRD_ERR_NOMEM;
	}
	*form = grown;
	*len += (size_t)snprintf(*form + *len, add + 1, "%s%s=%s", *len ? "&" : "", name, enc);
	wipe_free(enc);
	return JITRD_OK;
}

static enum jitrd_err fetch_web_identity(struct jitrd_credentials_provider *p, time_t now,
                                         struct jitrd_credentials *out, int *skipped,
                                         struct jitrd_diag *diag)
{
	static const char which[] = "web identity";
	enum jitrd_err result = JITRD_ERR_CREDENTIALS;
	struct jitrd_awshttp_response resp = {0};
	struct curl_slist *headers = NULL, *h;
	char *token = NULL, *form = NULL;
	size_t token_len = 0, form_len = 0;
	char url[MAX_URL], session[MAX_NAME];

	if (!p->env[ENV_WEB_IDENTITY_TOKEN_FILE]) {
		*skipped = 1;
		return JITRD_ERR_CREDENTIALS;
	}
	if (!p->env[ENV_ROLE_ARN]) {
		jitrd_diag_set(
		    diag, "%s: AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not", which);
		return JITRD_ERR_CREDENTIALS;
	}
	if (p->env[ENV_STS_ENDPOINT])
		snprintf(url, sizeof(url), "%s", p->env[ENV_STS_ENDPOINT]);
	else
		snprintf(url, sizeof(url), "https://sts.%s.amazonaws.com", p->region);
	if (!jitrd_awshttp_url_allowed(url)) {
		jitrd_diag_set(diag, "%s: STS endpoint must be https (or http to loopback)", which);
		return JITRD_ERR_CREDENTIALS;
	}
	if (p->env[ENV_ROLE_SESSION_NAME])
		snprintf(session, sizeof(session), "%s", p->env[ENV_ROLE_SESSION_NAME]);
	else
		snprintf(session, sizeof(session), "jitrd-%lld", (long long)now);
	result =
	    read_small_file(p->env[ENV_WEB_IDENTITY_TOKEN_FILE], which, &token, &token_len, diag);
	if (result != JITRD_OK)
		goto cleanup;
	trim_in_place(token);
	result = JITRD_ERR_CREDENTIALS;
	if (!token[0]) {
		jitrd_diag_set(diag, "%s: the token file is empty", which);
		goto cleanup;
	}
	if ((result = form_append(&form, &form_len, "Action", "AssumeRoleWithWebIdentity")) ||
	    (result = form_append(&form, &form_len, "Version", "2011-06-15")) ||
	    (result = form_append(&form, &form_len, "RoleArn", p->env[ENV_ROLE_ARN])) ||
	    (result = form_append(&form, &form_len, "RoleSessionName", session)) ||
	    (result = form_append(&form, &form_len, "WebIdentityToken", token)))
		goto cleanup;
	result = JITRD_ERR_NOMEM;
	if (!(h = curl_slist_append(headers, "Accept: application/json")))
		goto cleanup;
	headers = h;
	if (!(h = curl_slist_append(
		  headers, "Content-Type: application/x-www-form-urlencoded; charset=utf-8")))
		goto cleanup;
	headers = h;
	if (!(h = curl_slist_append(headers, "Expect:")))
		goto cleanup;
	headers = h;
	/* Unsigned: the web identity token is the proof (AWS STS API reference). */
	result = http_fetch(p, which, "POST", url, headers, form, form_len, &resp, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = jitrd_credentials_from_document(JITRD_CREDENTIALS_WEB_IDENTITY, resp.body,
	                                         resp.body_len, out, diag);
cleanup:
	response_wipe(&resp);
	curl_slist_free_all(headers);
	if (form) {
		OPENSSL_cleanse(form, form_len);
		free(form);
	}
	if (token) {
		OPENSSL_cleanse(token, token_len);
		free(token);
	}
	return result;
}

/* ---- 3. shared files ---- */

/* Debian's inih stops at 200-byte lines, and session tokens are longer. The reader below
 * hands inih each line; a long "key = value" line is passed as "key = \x01N" with the value
 * kept aside in long_values[N], so inih still does sections, keys and comments. */
#define MAX_LONG_VALUES 16

struct ini_reader {
	const char *text;
	size_t pos, len;
	char *long_values[MAX_LONG_VALUES];
	size_t long_count;
	int too_many;
};

struct profile_values {
	const char *section; /* "default" or "x" (credentials), "profile x" or "default" (config) */
	struct ini_reader *reader;
	char *key_id, *secret, *token; /* found values (owned, wiped on free) */
	int found_section;
	int nomem;
};

static char *ini_read_line(char *str, int num, void *stream)
{
	struct ini_reader *r = stream;
	size_t start = r->pos, end, n;
	const char *eq;

	if (r->pos >= r->len || num < 16)
		return NULL;
	end = start;
	while (end < r->len && r->text[end] != '\n')
		end++;
	r->pos = end < r->len ? end + 1 : end;
	n = end - start;
	if (n + 2 <= (size_t)num) {
		memcpy(str, r->text + start, n);
		str[n] = '\n';
		str[n + 1] = '\0';
		return str;
	}
	eq = memchr(r->text + start, '=', n);
	if (!eq || (size_t)(eq - (r->text + start)) + 8 > (size_t)num ||
	    r->long_count == MAX_LONG_VALUES) {
		r->too_many = 1; /* a long line that is not key = value: refuse the file */
		str[0] = '\0';
		return str;
	}
	{
		size_t vlen = n - (size_t)(eq + 1 - (r->text + start));
		char *value = malloc(vlen + 1);
		size_t klen = (size_t)(eq - (r->text + start));

		if (!value) {
			r->too_many = 1;
			str[0] = '\0';
			return str;
		}
		memcpy(value, eq + 1, vlen);
		value[vlen] = '\0';
		trim_in_place(value);
		memcpy(str, r->text + start, klen);
		snprintf(str + klen, (size_t)num - klen, "=\x01%zu\n", r->long_count);
		r->long_values[r->long_count++] = value;
	}
	return str;
}

static int profile_handler(void *user, const char *section, const char *name, const char *value)
{
	struct profile_values *pv = user;
	char **slot = NULL;
	const char *real = value;

	if (strcmp(section, pv->section) != 0)
		return 1;
	pv->found_section = 1;
	if (strcasecmp(name, "aws_access_key_id") == 0)
		slot = &pv->key_id;
	else if (strcasecmp(name, "aws_secret_access_key") == 0)
		slot = &pv->secret;
	else if (strcasecmp(name, "aws_session_token") == 0)
		slot = &pv->token;
	if (!slot)
		return 1;
	if (value[0] == '\x01') {
		char *end;
		unsigned long idx = strtoul(value + 1, &end, 10);

		if (*end || idx >= pv->reader->long_count)
			return 0;
		real = pv->reader->long_values[idx];
	}
	wipe_free(*slot);
	*slot = strdup(real);
	if (!*slot) {
		pv->nomem = 1;
		return 0;
	}
	return 1;
}

/* Parses text (len bytes) for one section into pv; name (quoted) is for the message. */
static enum jitrd_err parse_profile_text(const char *text, size_t len, const char *name,
                                         const char *section, struct profile_values *pv,
                                         struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_OK;
	struct ini_reader reader = {0};
	int line;

	reader.text = text;
	reader.len = len;
	pv->section = section;
	pv->reader = &reader;
	line = ini_parse_stream(ini_read_line, &reader, profile_handler, pv);
	pv->reader = NULL; /* it pointed into this frame */
	if (pv->nomem) {
		result = JITRD_ERR_NOMEM;
	} else if (line != 0 || reader.too_many) {
		/* Only the line number: the line itself may hold a secret. */
		jitrd_diag_set(diag, "shared files: %s:%d: not a valid INI line", name,
		               line > 0 ? line : 0);
		result = JITRD_ERR_CREDENTIALS;
	}
	for (size_t i = 0; i < reader.long_count; i++)
		wipe_free(reader.long_values[i]);
	return result;
}

/* Parses one file for one section. *found_file 0 when the file does not exist. */
static enum jitrd_err parse_profile_file(const char *path, const char *section,
                                         struct profile_values *pv, int *found_file,
                                         struct jitrd_diag *diag)
{
	enum jitrd_err result;
	char *text = NULL;
	size_t len = 0;
	char quoted[300];

	*found_file = 0;
	if (access(path, F_OK) != 0)
		return JITRD_OK;
	*found_file = 1;
	result = read_small_file(path, "shared files", &text, &len, diag);
	if (result != JITRD_OK)
		return result;
	jitrd_quote(quoted, sizeof(quoted), path, strlen(path));
	result = parse_profile_text(text, len, quoted, section, pv, diag);
	OPENSSL_cleanse(text, len);
	free(text);
	return result;
}

static enum jitrd_err fetch_shared_files(struct jitrd_credentials_provider *p, time_t now,
                                         struct jitrd_credentials *out, int *skipped,
                                         struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct profile_values cred = {0}, conf = {0};
	char cred_path[MAX_URL], conf_path[MAX_URL], section[MAX_NAME + 8], quoted[300];
	int cred_file = 0, conf_file = 0;

	(void)now;
	if (p->env[ENV_SHARED_CREDENTIALS_FILE])
		snprintf(cred_path, sizeof(cred_path), "%s", p->env[ENV_SHARED_CREDENTIALS_FILE]);
	else if (p->env[ENV_HOME])
		snprintf(cred_path, sizeof(cred_path), "%s/.aws/credentials", p->env[ENV_HOME]);
	else
		cred_path[0] = '\0';
	if (p->env[ENV_CONFIG_FILE])
		snprintf(conf_path, sizeof(conf_path), "%s", p->env[ENV_CONFIG_FILE]);
	else if (p->env[ENV_HOME])
		snprintf(conf_path, sizeof(conf_path), "%s/.aws/config", p->env[ENV_HOME]);
	else
		conf_path[0] = '\0';
	/* "[x]" in the credentials file, "[profile x]" in config ("[default]" in both). */
	if (cred_path[0]) {
		result = parse_profile_file(cred_path, p->profile, &cred, &cred_file, diag);
		if (result != JITRD_OK)
			goto cleanup;
	}
	if (conf_path[0]) {
		if (strcmp(p->profile, "default") == 0)
			snprintf(section, sizeof(section), "default");
		else
			snprintf(section, sizeof(section), "profile %s", p->profile);
		result = parse_profile_file(conf_path, section, &conf, &conf_file, diag);
		if (result != JITRD_OK)
			goto cleanup;
	}
	result = JITRD_ERR_CREDENTIALS;
	if (!cred.key_id && !cred.secret && !conf.key_id && !conf.secret) {
		*skipped = 1; /* no such profile, or one using features not supported here */
		goto cleanup;
	}
	jitrd_quote(quoted, sizeof(quoted), p->profile, strlen(p->profile));
	{
		char which[400];

		snprintf(which, sizeof(which), "shared files (profile %s)", quoted);
		/* The credentials file wins over config for the same profile, as in the SDKs. */
		if (cred.key_id || cred.secret)
			result = set_credentials(out, cred.key_id, cred.secret, cred.token, 0,
			                         which, diag);
		else
			result = set_credentials(out, conf.key_id, conf.secret, conf.token, 0,
			                         which, diag);
	}
cleanup:
	wipe_free(cred.key_id);
	wipe_free(cred.secret);
	wipe_free(cred.token);
	wipe_free(conf.key_id);
	wipe_free(conf.secret);
	wipe_free(conf.token);
	return result;
}

/* ---- 4. container endpoint ---- */

/* The full URI is allowed over https, or over http only to the ECS/EKS agent addresses and
 * loopback, so a stray variable cannot send the authorization token elsewhere. */
static int container_url_allowed(const char *url)
{
	char scheme[16], host[256];

	if (jitrd_awshttp_url_parts(url, scheme, sizeof(scheme), host, sizeof(host), NULL, NULL,
	                            0) != JITRD_OK)
		return 0;
	if (strcasecmp(scheme, "https") == 0)
		return 1;
	if (strcasecmp(scheme, "http") != 0)
		return 0;
	return jitrd_awshttp_host_is_loopback(host) || strcmp(host, "169.254.170.2") == 0 ||
	       strcmp(host, "169.254.170.23") == 0 || strcasecmp(host, "fd00:ec2::23") == 0;
}

static int header_value_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static enum jitrd_err fetch_container(struct jitrd_credentials_provider *p, time_t now,
                                      struct jitrd_credentials *out, int *skipped,
                                      struct jitrd_diag *diag)
{
	static const char which[] = "container";
	enum jitrd_err result = JITRD_ERR_CREDENTIALS;
	struct jitrd_awshttp_response resp = {0};
	struct curl_slist *headers = NULL;
	char *token = NULL;
	size_t token_len = 0;
	char url[MAX_URL];

	(void)now;
	if (p->env[ENV_CONTAINER_RELATIVE_URI]) {
		if (p->env[ENV_CONTAINER_RELATIVE_URI][0] != '/' ||
		    snprintf(url, sizeof(url), "%s%s", CONTAINER_HOST,
		             p->env[ENV_CONTAINER_RELATIVE_URI]) >= (int)sizeof(url)) {
			jitrd_diag_set(diag,
			               "%s: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must be a "
			               "path starting with '/'",
			               which);
			return JITRD_ERR_CREDENTIALS;
		}
	} else if (p->env[ENV_CONTAINER_FULL_URI]) {
		if (snprintf(url, sizeof(url), "%s", p->env[ENV_CONTAINER_FULL_URI]) >=
		        (int)sizeof(url) ||
		    !container_url_allowed(url)) {
			jitrd_diag_set(diag,
			               "%s: AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or "
			               "http to loopback, 169.254.170.2, 169.254.170.23 or "
			               "[fd00:ec2::23]",
			               which);
			return JITRD_ERR_CREDENTIALS;
		}
	} else {
		*skipped = 1;
		return JITRD_ERR_CREDENTIALS;
	}
	/* The token file is read on every fetch: the agent rotates it. */
	if (p->env[ENV_CONTAINER_AUTH_TOKEN_FILE]) {
		result = read_small_file(p->env[ENV_CONTAINER_AUTH_TOKEN_FILE], which, &token,
		                         &token_len, diag);
		if (result != JITRD_OK)
			goto cleanup;
		trim_in_place(token);
	} else if (p->env[ENV_CONTAINER_AUTH_TOKEN]) {
		result = JITRD_ERR_NOMEM;
		token = strdup(p->env[ENV_CONTAINER_AUTH_TOKEN]);
		if (!token)
			goto cleanup;
		token_len = strlen(token);
	}
	result = JITRD_ERR_CREDENTIALS;
	if (token && (!token[0] || !header_value_ok(token))) {
		jitrd_diag_set(diag,
		               "%s: the authorization token is empty or holds control "
		               "characters",
		               which);
		goto cleanup;
	}
	if ((token && (result = jitrd_awshttp_header_append(&headers, "Authorization", token)) !=
	                  JITRD_OK) ||
	    (result = jitrd_awshttp_header_append(&headers, "Accept", "application/json")) !=
	        JITRD_OK)
		goto cleanup;
	result = http_fetch(p, which, "GET", url, headers, NULL, 0, &resp, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = jitrd_credentials_from_document(JITRD_CREDENTIALS_CONTAINER, resp.body,
	                                         resp.body_len, out, diag);
cleanup:
	response_wipe(&resp);
	jitrd_awshttp_headers_free(headers);
	if (token) {
		OPENSSL_cleanse(token, token_len);
		free(token);
	}
	return result;
}

/* ---- 5. IMDSv2 ---- */

/* The metadata service lives on the instance's link (169.254.169.254, or fd00:ec2::254 on
 * Nitro IPv6) and answers with the instance role's credentials over plain http: an endpoint
 * from the environment is accepted only on this host or its link, so a stray variable cannot
 * send the session token request, nor take the answer, elsewhere. */
static int imds_url_allowed(const char *url)
{
	char scheme[16], host[256];

	if (jitrd_awshttp_url_parts(url, scheme, sizeof(scheme), host, sizeof(host), NULL, NULL,
	                            0) != JITRD_OK)
		return 0;
	if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)
		return 0;
	return (jitrd_awshttp_host_is_loopback(host) && strcasecmp(host, "localhost") != 0) ||
	       jitrd_awshttp_host_is_link_local(host) || strcasecmp(host, "fd00:ec2::254") == 0;
}

static enum jitrd_err fetch_imds(struct jitrd_credentials_provider *p, time_t now,
                                 struct jitrd_credentials *out, int *skipped,
                                 struct jitrd_diag *diag)
{
	static const char which[] = "IMDS";
	enum jitrd_err result = JITRD_ERR_CREDENTIALS;
	struct jitrd_awshttp_response resp = {0};
	struct curl_slist *headers = NULL;
	char base[MAX_URL], url[MAX_URL + MAX_NAME + 64], role[MAX_NAME];
	char *imds_token = NULL;
	size_t n;

	(void)now;
	if (p->env[ENV_IMDS_DISABLED] && strcasecmp(p->env[ENV_IMDS_DISABLED], "true") == 0) {
		*skipped = 1;
		return JITRD_ERR_CREDENTIALS;
	}
	if (snprintf(base, sizeof(base), "%s",
	             p->env[ENV_IMDS_ENDPOINT] ? p->env[ENV_IMDS_ENDPOINT] : IMDS_DEFAULT) >=
	        (int)sizeof(base) ||
	    !imds_url_allowed(base)) {
		jitrd_diag_set(diag,
		               "%s: AWS_EC2_METADATA_SERVICE_ENDPOINT must be http(s) to a "
		               "loopback or link-local address (169.254.0.0/16, fe80::/10) or "
		               "[fd00:ec2::254]",
		               which);
		return JITRD_ERR_CREDENTIALS;
	}
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		base[--n] = '\0';
	/* Session token first (IMDSv2): PUT with the TTL header. */
	snprintf(url, sizeof(url), "%s/latest/api/token", base);
	if ((result = jitrd_awshttp_header_append(&headers, "X-aws-ec2-metadata-token-ttl-seconds",
	                                          IMDS_TOKEN_TTL_S)) != JITRD_OK)
		goto cleanup;
	result = http_fetch(p, which, "PUT", url, headers, NULL, 0, &resp, diag);
	if (result != JITRD_OK)
		goto cleanup;
	jitrd_awshttp_headers_free(headers);
	headers = NULL;
	imds_token = resp.body;
	trim_in_place(imds_token);
	resp.body = NULL;
	jitrd_awshttp_response_cleanup(&resp);
	result = JITRD_ERR_CREDENTIALS;
	if (!imds_token[0] || strlen(imds_token) > 1024 || !header_value_ok(imds_token)) {
		jitrd_diag_set(diag, "%s: session token answer is empty, too long or not text",
		               which);
		goto cleanup;
	}
	if ((result = jitrd_awshttp_header_append(&headers, "X-aws-ec2-metadata-token",
	                                          imds_token)) != JITRD_OK)
		goto cleanup;
	/* The role name: the first line of the listing. */
	snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/", base);
	result = http_fetch(p, which, "GET", url, headers, NULL, 0, &resp, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = jitrd_credentials_imds_role(resp.body, role, sizeof(role), diag);
	if (result != JITRD_OK)
		goto cleanup;
	jitrd_awshttp_response_cleanup(&resp);
	snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/%s", base, role);
	result = http_fetch(p, which, "GET", url, headers, NULL, 0, &resp, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = jitrd_credentials_from_document(JITRD_CREDENTIALS_IMDS, resp.body, resp.body_len,
	                                         out, diag);
cleanup:
	response_wipe(&resp);
	jitrd_awshttp_headers_free(headers);
	wipe_free(imds_token);
	return result;
}

/* ---- the readers of what providers answer (credentials_parse.h) ---- */

enum jitrd_err jitrd_credentials_from_document(enum jitrd_credentials_source source,
                                               const char *body, size_t len,
                                               struct jitrd_credentials *out,
                                               struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_CREDENTIALS;
	struct json_object *root = NULL, *v = NULL;
	const char *which = jitrd_credentials_source_name(source);
	const char *code;

	if (!body || !out)
		return JITRD_ERR_INVALID_ARG;
	root = parse_json(body, len);
	switch (source) {
	case JITRD_CREDENTIALS_WEB_IDENTITY:
		which = "web identity";
		/* AWS STS API reference, AssumeRoleWithWebIdentity, asked for as JSON. */
		if (!root ||
		    !json_object_object_get_ex(root, "AssumeRoleWithWebIdentityResponse", &v) ||
		    !json_object_object_get_ex(v, "AssumeRoleWithWebIdentityResult", &v) ||
		    !json_object_object_get_ex(v, "Credentials", &v)) {
			jitrd_diag_set(diag,
			               "%s: STS answer is not JSON with "
			               "AssumeRoleWithWebIdentityResponse."
			               "AssumeRoleWithWebIdentityResult.Credentials",
			               which);
			goto cleanup;
		}
		result = credentials_from_json(v, which, out, diag);
		break;
	case JITRD_CREDENTIALS_CONTAINER:
		if (!root || !json_object_is_type(root, json_type_object)) {
			jitrd_diag_set(diag, "%s: answer is not a JSON object", which);
			goto cleanup;
		}
		result = credentials_from_json(root, which, out, diag);
		break;
	case JITRD_CREDENTIALS_IMDS:
		which = "IMDS";
		if (!root || !json_object_is_type(root, json_type_object)) {
			jitrd_diag_set(diag, "%s: role credentials answer is not a JSON object",
			               which);
			goto cleanup;
		}
		code = json_string_member(root, "Code", 64);
		if (code && strcmp(code, "Success") != 0) {
			/* AWS's codes are words (AssumeRoleUnauthorizedAccess); anything else,
			 * or a value holding the document's own secret, is not echoed. */
			const char *secret = json_string_member(root, "SecretAccessKey", 256);
			bool word =
			    strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") ==
			    strlen(code);

			if (word && !(secret && *secret && strstr(code, secret)))
				jitrd_diag_set(diag, "%s: role credentials Code is %s", which,
				               code);
			else
				jitrd_diag_set(diag, "%s: role credentials Code is not \"Success\"",
				               which);
			goto cleanup;
		}
		result = credentials_from_json(root, which, out, diag);
		break;
	default:
		result = JITRD_ERR_INVALID_ARG;
		break;
	}
cleanup:
	json_object_put(root);
	return result;
}

enum jitrd_err jitrd_credentials_imds_role(const char *listing, char *role, size_t size,
                                           struct jitrd_diag *diag)
{
	size_t n;

	if (!listing || !role || size == 0)
		return JITRD_ERR_INVALID_ARG;
	n = strcspn(listing, "\r\n");
	if (n == 0 || n >= size) {
		jitrd_diag_set(diag, "IMDS: no instance role (empty or over-long role listing)");
		return JITRD_ERR_CREDENTIALS;
	}
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)listing[i]) && !strchr("+=,.@_-", listing[i])) {
			jitrd_diag_set(diag, "IMDS: role name holds characters outside IAM's");
			return JITRD_ERR_CREDENTIALS;
		}
	}
	memcpy(role, listing, n);
	role[n] = '\0';
	return JITRD_OK;
}

enum jitrd_err jitrd_credentials_from_profile_text(const char *text, size_t len,
                                                   const char *section,
                                                   struct jitrd_credentials *out, int *found,
                                                   struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct profile_values pv = {0};

	if (!text || !section || !out || !found)
		return JITRD_ERR_INVALID_ARG;
	*found = 0;
	result = parse_profile_text(text, len, "(text)", section, &pv, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = JITRD_ERR_CREDENTIALS;
	if (!pv.key_id && !pv.secret)
		goto cleanup;
	*found = 1;
	result = set_credentials(out, pv.key_id, pv.secret, pv.token, 0, "shared files", diag);
cleanup:
	wipe_free(pv.key_id);
	wipe_free(pv.secret);
	wipe_free(pv.token);
	return result;
}

/* ---- the chain ---- */

static const struct {
	enum jitrd_credentials_source source;
	fetch_fn fetch;
} chain[] = {
    {JITRD_CREDENTIALS_ENVIRONMENT, fetch_environment},
    {JITRD_CREDENTIALS_WEB_IDENTITY, fetch_web_identity},
    {JITRD_CREDENTIALS_SHARED_FILES, fetch_shared_files},
    {JITRD_CREDENTIALS_CONTAINER, fetch_container},
    {JITRD_CREDENTIALS_IMDS, fetch_imds},
};

static const char *env_lookup(const char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

enum jitrd_err jitrd_credentials_new(const struct jitrd_credentials_options *opts,
                                     struct jitrd_credentials_provider **out,
                                     struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_credentials_provider *p = NULL;
	const char *profile, *region;

	if (!opts || !out || opts->connect_timeout_ms <= 0 || opts->timeout_ms <= 0 ||
	    opts->refresh_before_seconds < 0) {
		jitrd_diag_set(diag, "credentials: invalid options");
		goto cleanup;
	}
	result = JITRD_ERR_NOMEM;
	p = calloc(1, sizeof(*p));
	if (!p)
		goto cleanup;
	for (int i = 0; i < ENV_COUNT; i++) {
		const char *v = env_lookup(opts->envp, env_names[i]);

		if (v && v[0] && !(p->env[i] = strdup(v)))
			goto cleanup;
	}
	profile = opts->profile && opts->profile[0] ? opts->profile
	          : p->env[ENV_PROFILE]             ? p->env[ENV_PROFILE]
	                                            : "default";
	region = opts->region && opts->region[0] ? opts->region
	         : p->env[ENV_REGION]            ? p->env[ENV_REGION]
	                                         : "us-east-1";
	result = JITRD_ERR_INVALID_ARG;
	if (snprintf(p->profile, sizeof(p->profile), "%s", profile) >= (int)sizeof(p->profile) ||
	    snprintf(p->region, sizeof(p->region), "%s", region) >= (int)sizeof(p->region)) {
		jitrd_diag_set(diag, "credentials: profile or region name too long");
		goto cleanup;
	}
	for (const char *c = p->region; *c; c++) {
		if (!isalnum((unsigned char)*c) && *c != '-') {
			jitrd_diag_set(diag, "credentials: region is not [a-z0-9-]");
			goto cleanup;
		}
	}
	p->connect_timeout_ms = opts->connect_timeout_ms;
	p->timeout_ms = opts->timeout_ms;
	p->refresh_before_seconds = opts->refresh_before_seconds;
	result = JITRD_ERR_NOMEM;
	if (pthread_mutex_init(&p->lock, NULL) != 0)
		goto cleanup;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		pthread_mutex_destroy(&p->lock);
		goto cleanup;
	}
	*out = p;
	p = NULL;
	result = JITRD_OK;
cleanup:
	if (p) {
		for (int i = 0; i < ENV_COUNT; i++)
			wipe_free(p->env[i]);
		free(p);
	}
	return result;
}

void jitrd_credentials_free(struct jitrd_credentials_provider *p)
{
	if (!p)
		return;
	for (int i = 0; i < ENV_COUNT; i++)
		wipe_free(p->env[i]);
	jitrd_credentials_cleanse(&p->cached);
	pthread_mutex_destroy(&p->lock);
	free(p);
	curl_global_cleanup();
}

static int fresh_enough(const struct jitrd_credentials_provider *p, time_t now)
{
	return p->cached.expiration == 0 ||
	       now < p->cached.expiration - (time_t)p->refresh_before_seconds;
}

/* Walks the chain (or asks the settled provider again). Called with the lock held. */
static enum jitrd_err refresh(struct jitrd_credentials_provider *p, time_t now,
                              struct jitrd_credentials *fresh, struct jitrd_diag *diag)
{
	for (size_t i = 0; i < sizeof(chain) / sizeof(chain[0]); i++) {
		enum jitrd_err err;
		int skipped = 0;

		if (p->source != JITRD_CREDENTIALS_NONE && chain[i].source != p->source)
			continue;
		err = chain[i].fetch(p, now, fresh, &skipped, diag);
		if (skipped)
			continue;
		if (err == JITRD_OK)
			p->source = chain[i].source;
		return err;
	}
	jitrd_diag_set(diag,
	               "no AWS credentials: environment, web identity, shared files "
	               "(profile \"%.100s\"), container and IMDS found none",
	               p->profile);
	return JITRD_ERR_CREDENTIALS;
}

enum jitrd_err jitrd_credentials_get(struct jitrd_credentials_provider *p, time_t now,
                                     struct jitrd_credentials *out, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_credentials *fresh = NULL;

	if (!p || !out)
		return JITRD_ERR_INVALID_ARG;
	if (pthread_mutex_lock(&p->lock) != 0)
		return JITRD_ERR_INVALID_ARG;
	if (p->have_cached && fresh_enough(p, now)) {
		memcpy(out, &p->cached, sizeof(*out));
		result = JITRD_OK;
		goto cleanup;
	}
	result = JITRD_ERR_NOMEM;
	fresh = malloc(sizeof(*fresh)); /* 8 KiB: not on a worker's stack */
	if (!fresh)
		goto cleanup;
	result = refresh(p, now, fresh, diag);
	if (result == JITRD_ERR_NOMEM)
		goto cleanup;
	if (result == JITRD_OK) {
		jitrd_credentials_cleanse(&p->cached);
		memcpy(&p->cached, fresh, sizeof(*fresh));
		p->have_cached = 1;
	} else if (p->have_cached && (p->cached.expiration == 0 || now < p->cached.expiration)) {
		/* The refresh failed but what we hold is still valid: use it, retry later. */
		result = JITRD_OK;
	} else {
		goto cleanup;
	}
	memcpy(out, &p->cached, sizeof(*out));
cleanup:
	pthread_mutex_unlock(&p->lock);
	if (fresh) {
		jitrd_credentials_cleanse(fresh);
		free(fresh);
	}
	return result;
}

enum jitrd_credentials_source jitrd_credentials_source(struct jitrd_credentials_provider *p)
{
	enum jitrd_credentials_source source;

	if (!p || pthread_mutex_lock(&p->lock) != 0)
		return JITRD_CREDENTIALS_NONE;
	source = p->source;
	pthread_mutex_unlock(&p->lock);
	return source;
}
