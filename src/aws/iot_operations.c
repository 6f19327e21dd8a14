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
#include "iot_transport.h"
#include "jitrd/ratelimit.h"
#include "jitrd/sigv4.h"

#define MAX_LIST_ITEMS 1000000
#define MAX_PAGES     100000

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
static enum jitrd_err set_path(struct jitrd_iot_call *c, const char *prefix, const char *label,
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

static enum jitrd_err add_query(struct jitrd_iot_call *c, const char *name, const char *value)
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
	struct jitrd_iot_call c = {.op = JITRD_IOT_DESCRIBE_CERTIFICATE, .method = "GET"};
	struct json_object *json = NULL;

	result_reset(res);
	if (!s || !out)
		return JITRD_ERR_INVALID_ARG;
	if (!is_hex64(certificate_id))
		return bad_input(diag, c.op, "certificate id is not 64 hex digits");
	if ((result = set_path(&c, "/certificates/", certificate_id, "")) != JITRD_OK)
		return result;
	result = jitrd_iot_call(s, deadline, &c, &json, res, diag);
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
	struct jitrd_iot_call c = {.op = JITRD_IOT_UPDATE_CERTIFICATE, .method = "PUT", .answer_unused = 1};
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
	result = jitrd_iot_call(s, deadline, &c, &json, res, diag);
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
	struct jitrd_iot_call c = {.op = JITRD_IOT_CREATE_POLICY, .method = "POST"};
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
	result = jitrd_iot_call(s, deadline, &c, &json, res, diag);
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
	struct jitrd_iot_call c = {.op = JITRD_IOT_GET_POLICY, .method = "GET"};
	struct json_object *json = NULL;

	result_reset(res);
	if (!s || !out)
		return JITRD_ERR_INVALID_ARG;
	if (!name_ok(policy_name, "_+=,.@-"))
		return bad_input(diag, c.op, "policy name outside [\\w+=,.@-]{1,128}");
	if ((result = set_path(&c, "/policies/", policy_name, "")) != JITRD_OK)
		return result;
	result = jitrd_iot_call(s, deadline, &c, &json, res, diag);
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
	struct jitrd_iot_call c = {.op = JITRD_IOT_ATTACH_POLICY, .method = "PUT", .answer_unused = 1};
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
	result = jitrd_iot_call(s, deadline, &c, &json, res, diag);
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
		struct jitrd_iot_call c = {.op = JITRD_IOT_LIST_ATTACHED_POLICIES, .method = "POST"};
		struct json_object *json = NULL, *list;
		int stop = 0;

		if ((result = set_path(&c, "/attached-policies/", target, "")) != JITRD_OK ||
		    (marker[0] && (result = add_query(&c, "marker", marker)) != JITRD_OK))
			break;
		result = jitrd_iot_call(s, deadline, &c, &json, &r, diag);
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
	struct jitrd_iot_call c = {.op = JITRD_IOT_CREATE_THING, .method = "POST", .body = "{}",
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
	result = jitrd_iot_call(s, deadline, &c, &json, res, diag);
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
	struct jitrd_iot_call c = {.op = JITRD_IOT_DESCRIBE_THING, .method = "GET"};
	struct json_object *json = NULL;
	struct jitrd_iot_thing thing;

	result_reset(res);
	if (!s || !name || !value || size < JITRD_IOT_MAX_ATTRIBUTE_VALUE + 1 || !present)
		return JITRD_ERR_INVALID_ARG;
	if (!name_ok(thing_name, ":_-"))
		return bad_input(diag, c.op, "thing name outside [a-zA-Z0-9:_-]{1,128}");
	if ((result = set_path(&c, "/things/", thing_name, "")) != JITRD_OK)
		return result;
	result = jitrd_iot_call(s, deadline, &c, &json, res, diag);
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
		struct jitrd_iot_call c = {.op = op, .method = "GET"};
		struct json_object *json = NULL, *list;
		char next[1024];
		int stop = 0;

		if ((result = set_path(&c, "/things/", thing_name, "/principals")) ||
		    (token[0] && (result = add_query(&c, "nextToken", token))) ||
		    (result = add_query(&c, "maxResults", "250")))
			break;
		result = jitrd_iot_call(s, deadline, &c, &json, &r, diag);
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
	struct jitrd_iot_call c = {.op = JITRD_IOT_DESCRIBE_THING, .method = "GET"};
	struct json_object *json = NULL;

	result_reset(res);
	if (!s || !out)
		return JITRD_ERR_INVALID_ARG;
	if (!name_ok(thing_name, ":_-"))
		return bad_input(diag, c.op, "thing name outside [a-zA-Z0-9:_-]{1,128}");
	if ((result = set_path(&c, "/things/", thing_name, "")) != JITRD_OK)
		return result;
	result = jitrd_iot_call(s, deadline, &c, &json, res, diag);
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
	struct jitrd_iot_call c = {
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
	result = jitrd_iot_call(s, deadline, &c, &json, res, diag);
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
		struct jitrd_iot_call c = {.op = op, .method = "GET"};
		struct json_object *json = NULL, *list;
		int stop = 0;

		if ((result = set_path(&c, "/certificates-by-ca/", ca_certificate_id, "")) ||
		    (marker[0] && (result = add_query(&c, "marker", marker))) ||
		    (page_size && (result = add_query(&c, "pageSize", size_text))))
			break;
		result = jitrd_iot_call(s, deadline, &c, &json, &r, diag);
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
	struct jitrd_iot_call c = {.op = JITRD_IOT_GET_REGISTRATION_CODE, .method = "GET"};
	struct json_object *json = NULL;
	char code[65];

	result_reset(res);
	if (!s || !code_out)
		return JITRD_ERR_INVALID_ARG;
	if ((result = set_path(&c, "/registrationcode", NULL, "")) != JITRD_OK)
		return result;
	result = jitrd_iot_call(s, deadline, &c, &json, res, diag);
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
	struct jitrd_iot_call c = {.op = JITRD_IOT_REGISTER_CA_CERTIFICATE, .method = "POST"};
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
	result = jitrd_iot_call(s, deadline, &c, &json, res, diag);
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
	struct jitrd_iot_call c = {.op = JITRD_IOT_DESCRIBE_CA_CERTIFICATE, .method = "GET"};
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
	result = jitrd_iot_call(s, deadline, &c, &json, res, diag);
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
	struct jitrd_iot_call c = {.op = JITRD_IOT_UPDATE_CA_CERTIFICATE, .method = "PUT", .answer_unused = 1};
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
	result = jitrd_iot_call(s, deadline, &c, &json, res, diag);
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
	struct jitrd_iot_call c = {.op = JITRD_IOT_REGISTER_CERTIFICATE, .method = "POST"};
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
	result = jitrd_iot_call(s, deadline, &c, &json, res, diag);
	if (result == JITRD_OK)
		result = read_registered(json, c.op, out, diag);
cleanup:
	free(body);
	json_object_put(req);
	json_object_put(json);
	return result;
}

/* ---- the readers, for tests and fuzz targets (iot_client_parse.h) ---- */

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
