/* iot_operations.c — the AWS IoT control-plane operations this client calls: one row each in
 * `ops` (method, URI, query, body and header members, the answer's members, as botocore's
 * iot/2015-05-28 model names them; tests/aws/check-iot-model.py holds every row against it),
 * one routine that builds and sends a row's request (send_op, then iot_transport.c signs, sends
 * and retries it), one that pages through a list operation (list_pages), and what is particular
 * to each operation: its input checks and the reading of its answer. Answers are untrusted:
 * every member is checked for type and size. Must not log or put a credential into a message. */
#include "jitrd/iot_client.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "awshttp.h"
#include "iot_client_parse.h"
#include "iot_operations.h"
#include "iot_transport.h"
#include "jitrd/text.h"

#define MAX_LIST_ITEMS       1000000
#define MAX_PAGES            100000
#define MAX_THING_PRINCIPALS 10000
#define MAX_PAGE_TOKEN       1024

static enum jitrd_err read_certificate(struct json_object *json, enum jitrd_iot_op op, void *out,
                                       struct jitrd_diag *diag);
static enum jitrd_err read_policy(struct json_object *json, enum jitrd_iot_op op, void *out,
                                  struct jitrd_diag *diag);
static enum jitrd_err read_thing(struct json_object *json, enum jitrd_iot_op op, void *out,
                                 struct jitrd_diag *diag);
static enum jitrd_err read_registration_code(struct json_object *json, enum jitrd_iot_op op,
                                             void *out, struct jitrd_diag *diag);
static enum jitrd_err read_registered(struct json_object *json, enum jitrd_iot_op op, void *out,
                                      struct jitrd_diag *diag);
static enum jitrd_err read_ca_certificate(struct json_object *json, enum jitrd_iot_op op, void *out,
                                          struct jitrd_diag *diag);
static enum jitrd_err read_policy_versions(struct json_object *json, enum jitrd_iot_op op,
                                           void *out, struct jitrd_diag *diag);

static const struct jitrd_iot_op_spec ops[JITRD_IOT_OP_COUNT] = {
    [JITRD_IOT_DESCRIBE_CERTIFICATE] = {"DescribeCertificate", "GET",
                                        "/certificates/{certificateId}",
                                        JITRD_IOT_LABEL_CERTIFICATE_ID,
                                        .answer = {"certificateDescription"},
                                        .read = read_certificate},
    [JITRD_IOT_UPDATE_CERTIFICATE] = {"UpdateCertificate", "PUT", "/certificates/{certificateId}",
                                      JITRD_IOT_LABEL_CERTIFICATE_ID, .query = {"newStatus"}},
    [JITRD_IOT_CREATE_POLICY] = {"CreatePolicy", "POST", "/policies/{policyName}",
                                 JITRD_IOT_LABEL_POLICY_NAME, .body = {"policyDocument"},
                                 .answer = {"policyName", "policyArn", "policyDocument",
                                            "policyVersionId"},
                                 .read = read_policy},
    [JITRD_IOT_GET_POLICY] = {"GetPolicy", "GET", "/policies/{policyName}",
                              JITRD_IOT_LABEL_POLICY_NAME,
                              .answer = {"policyName", "policyArn", "policyDocument",
                                         "defaultVersionId"},
                              .read = read_policy},
    [JITRD_IOT_ATTACH_POLICY] = {"AttachPolicy", "PUT", "/target-policies/{policyName}",
                                 JITRD_IOT_LABEL_POLICY_NAME, .body = {"target"}},
    [JITRD_IOT_LIST_ATTACHED_POLICIES] = {"ListAttachedPolicies", "POST",
                                          "/attached-policies/{target}", JITRD_IOT_LABEL_TARGET,
                                          .query = {"marker"},
                                          .answer = {"policies", "nextMarker"}},
    [JITRD_IOT_CREATE_THING] = {"CreateThing", "POST", "/things/{thingName}",
                                JITRD_IOT_LABEL_THING_NAME, .body = {"attributePayload"},
                                .answer = {"thingName", "thingArn", "thingId"}, .read = read_thing},
    [JITRD_IOT_DESCRIBE_THING] = {"DescribeThing", "GET", "/things/{thingName}",
                                  JITRD_IOT_LABEL_THING_NAME,
                                  .answer = {"thingName", "thingArn", "thingId", "thingTypeName",
                                             "version", "attributes"},
                                  .read = read_thing},
    [JITRD_IOT_ATTACH_THING_PRINCIPAL] = {"AttachThingPrincipal", "PUT",
                                          "/things/{thingName}/principals",
                                          JITRD_IOT_LABEL_THING_NAME, .header = "x-amzn-principal"},
    [JITRD_IOT_LIST_CERTIFICATES_BY_CA] =
	{"ListCertificatesByCA", "GET", "/certificates-by-ca/{caCertificateId}",
         JITRD_IOT_LABEL_CA_CERTIFICATE_ID, .query = {"marker", "pageSize"},
         .answer = {"certificates", "nextMarker"}},
    [JITRD_IOT_GET_REGISTRATION_CODE] = {"GetRegistrationCode", "GET", "/registrationcode",
                                         JITRD_IOT_LABEL_NONE, .answer = {"registrationCode"},
                                         .read = read_registration_code},
    [JITRD_IOT_REGISTER_CA_CERTIFICATE] = {"RegisterCACertificate", "POST", "/cacertificate",
                                           JITRD_IOT_LABEL_NONE,
                                           .query = {"setAsActive", "allowAutoRegistration"},
                                           .body = {"caCertificate", "verificationCertificate"},
                                           .answer = {"certificateId", "certificateArn"},
                                           .read = read_registered},
    [JITRD_IOT_DESCRIBE_CA_CERTIFICATE] =
	{"DescribeCACertificate", "GET", "/cacertificate/{caCertificateId}",
         JITRD_IOT_LABEL_CA_CERTIFICATE_ID, .answer = {"certificateDescription"},
         .read = read_ca_certificate},
    [JITRD_IOT_UPDATE_CA_CERTIFICATE] = {"UpdateCACertificate", "PUT",
                                         "/cacertificate/{caCertificateId}",
                                         JITRD_IOT_LABEL_CA_CERTIFICATE_ID,
                                         .query = {"newStatus", "newAutoRegistrationStatus"}},
    [JITRD_IOT_REGISTER_CERTIFICATE] = {"RegisterCertificate", "POST", "/certificate/register",
                                        JITRD_IOT_LABEL_NONE,
                                        .body = {"certificatePem", "caCertificatePem", "status"},
                                        .answer = {"certificateId", "certificateArn"},
                                        .read = read_registered},
    [JITRD_IOT_LIST_THING_PRINCIPALS] = {"ListThingPrincipals", "GET",
                                         "/things/{thingName}/principals",
                                         JITRD_IOT_LABEL_THING_NAME,
                                         .query = {"nextToken", "maxResults"},
                                         .answer = {"principals", "nextToken"}},
    [JITRD_IOT_CREATE_POLICY_VERSION] =
	{"CreatePolicyVersion", "POST", "/policies/{policyName}/version",
         JITRD_IOT_LABEL_POLICY_NAME, .query = {"setAsDefault"}, .body = {"policyDocument"},
         /* the version id in the fourth place, as read_policy
            reads it; isDefaultVersion is what was asked */
         .answer = {"policyArn", "policyDocument", NULL, "policyVersionId"}, .read = read_policy},
    [JITRD_IOT_LIST_POLICY_VERSIONS] = {"ListPolicyVersions", "GET",
                                        "/policies/{policyName}/version",
                                        JITRD_IOT_LABEL_POLICY_NAME, .answer = {"policyVersions"},
                                        .read = read_policy_versions},
    [JITRD_IOT_DELETE_POLICY_VERSION] = {"DeletePolicyVersion", "DELETE",
                                         "/policies/{policyName}/version/{policyVersionId}",
                                         JITRD_IOT_LABEL_POLICY_NAME,
                                         .label2 = JITRD_IOT_LABEL_POLICY_VERSION_ID},
    [JITRD_IOT_LIST_PRINCIPAL_THINGS] = {"ListPrincipalThings", "GET", "/principals/things",
                                         JITRD_IOT_LABEL_NONE, .query = {"nextToken", "maxResults"},
                                         .header = "x-amzn-principal",
                                         .answer = {"things", "nextToken"}},
    /* the reconcile lease (pipeline/reconcile.c): its answer is an empty structure */
    [JITRD_IOT_UPDATE_THING] = {"UpdateThing", "PATCH", "/things/{thingName}",
                                JITRD_IOT_LABEL_THING_NAME,
                                .body = {"attributePayload", "expectedVersion"}},
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

const struct jitrd_iot_op_spec *jitrd_iot_op_spec(enum jitrd_iot_op op)
{
	return (unsigned)op < JITRD_IOT_OP_COUNT ? &ops[op] : NULL;
}

const char *jitrd_iot_op_name(enum jitrd_iot_op op)
{
	return (unsigned)op < JITRD_IOT_OP_COUNT ? ops[op].name : "Unknown";
}

const char *jitrd_iot_status_name(enum jitrd_iot_status status)
{
	return (unsigned)status < STATUS_COUNT ? status_names[status] : "";
}

/* ---- checking inputs: nothing is sent for an input outside AWS's pattern ---- */

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

/* A policy version id: botocore's PolicyVersionId [0-9]+, bounded here at 15 digits. */
static int version_id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 15)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* The value of a URI label of op, checked as kind (the row's label or label2) says. */
static enum jitrd_err label_ok(enum jitrd_iot_op op, enum jitrd_iot_label kind, const char *value,
                               struct jitrd_diag *diag)
{
	switch (kind) {
	case JITRD_IOT_LABEL_CERTIFICATE_ID:
		if (!jitrd_is_hex_id(value))
			return bad_input(diag, op, "certificate id is not 64 hex digits");
		break;
	case JITRD_IOT_LABEL_CA_CERTIFICATE_ID:
		if (!jitrd_is_hex_id(value))
			return bad_input(diag, op, "CA certificate id is not 64 hex digits");
		break;
	case JITRD_IOT_LABEL_POLICY_NAME:
		if (!name_ok(value, "_+=,.@-"))
			return bad_input(diag, op, "policy name outside [\\w+=,.@-]{1,128}");
		/* a dot-segment would be removed from the path (RFC 3986 §5.2.4): another URL */
		if (strcmp(value, ".") == 0 || strcmp(value, "..") == 0)
			return bad_input(diag, op, "policy name \".\" or \"..\"");
		break;
	case JITRD_IOT_LABEL_THING_NAME:
		if (!name_ok(value, ":_-"))
			return bad_input(diag, op, "thing name outside [a-zA-Z0-9:_-]{1,128}");
		break;
	case JITRD_IOT_LABEL_TARGET:
		if (!header_text_ok(value, JITRD_IOT_MAX_PRINCIPAL))
			return bad_input(diag, op, "target empty, too long or not text");
		break;
	case JITRD_IOT_LABEL_POLICY_VERSION_ID:
		if (!version_id_ok(value))
			return bad_input(diag, op, "policy version id outside [0-9]{1,15}");
		break;
	case JITRD_IOT_LABEL_NONE:
		break;
	}
	return JITRD_OK;
}

/* ---- building and sending a row's request ---- */

/* What one request carries beside its row: values by the row's names; NULL is not sent. */
struct op_input {
	const char *label;  /* the URI's {label} */
	const char *label2; /* its second one (DeletePolicyVersion's {policyVersionId}) */
	const char *query[JITRD_IOT_OP_MAX_QUERY];
	const char *body[JITRD_IOT_OP_MAX_BODY]; /* string members */
	struct json_object *payload;             /* or a body the operation built (borrowed) */
	const char *header;
};

/* path = the row's URI with each {label} replaced by its encoded value (labels[0], then
 * labels[1]). */
static enum jitrd_err set_path(struct jitrd_iot_call *c, const char *uri,
                               const char *const labels[2])
{
	size_t used = 0;

	for (int i = 0;; i++) {
		const char *open = strchr(uri, '{'), *close = open ? strchr(open, '}') : NULL;
		char *enc;
		int n;

		if (!open || !close || i == 2) {
			n = snprintf(c->path + used, sizeof(c->path) - used, "%s", uri);
			return n < (int)(sizeof(c->path) - used) ? JITRD_OK : JITRD_ERR_INVALID_ARG;
		}
		if (!labels[i])
			return JITRD_ERR_INVALID_ARG;
		enc = jitrd_awshttp_uri_encode(labels[i], strlen(labels[i]));
		if (!enc)
			return JITRD_ERR_NOMEM;
		n = snprintf(c->path + used, sizeof(c->path) - used, "%.*s%s", (int)(open - uri),
		             uri, enc);
		free(enc);
		if (n >= (int)(sizeof(c->path) - used))
			return JITRD_ERR_INVALID_ARG;
		used += (size_t)n;
		uri = close + 1;
	}
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

/* Adds v (owned; freed here on failure, NULL when its creation failed) as obj[key]. */
static enum jitrd_err json_add(struct json_object *obj, const char *key, struct json_object *v)
{
	if (!v)
		return JITRD_ERR_NOMEM;
	if (json_object_object_add(obj, key, v) != 0) {
		json_object_put(v);
		return JITRD_ERR_NOMEM;
	}
	return JITRD_OK;
}

static enum jitrd_err json_add_string(struct json_object *obj, const char *key, const char *value)
{
	return json_add(obj, key, json_object_new_string(value));
}

/* Builds op's request from its row and in, and runs it (iot_transport.c). On JITRD_OK *json is
 * the parsed answer (NULL for an empty one), the caller's to put. */
static enum jitrd_err send_op(struct jitrd_iot_session *s, int64_t deadline, enum jitrd_iot_op op,
                              const struct op_input *in, struct json_object **json,
                              struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	const struct jitrd_iot_op_spec *spec = &ops[op];
	struct jitrd_iot_call c = {.op = op, .method = spec->method, .principal = in->header};
	struct json_object *req = NULL;
	enum jitrd_err result;
	char *body = NULL;

	/* Without answer members, "{}" is taken without parsing. */
	c.answer_unused = spec->answer[0] == NULL;
	const char *labels[2] = {in->label, in->label2};

	if ((result = set_path(&c, spec->uri, labels)) != JITRD_OK)
		goto cleanup;
	for (size_t i = 0; i < JITRD_IOT_OP_MAX_QUERY; i++)
		if (spec->query[i] && in->query[i] &&
		    (result = add_query(&c, spec->query[i], in->query[i])) != JITRD_OK)
			goto cleanup;
	if (spec->body[0]) {
		result = JITRD_ERR_NOMEM;
		req = in->payload ? json_object_get(in->payload) : json_object_new_object();
		if (!req)
			goto cleanup;
		for (size_t i = 0; i < JITRD_IOT_OP_MAX_BODY; i++)
			if (spec->body[i] && in->body[i] &&
			    (result = json_add_string(req, spec->body[i], in->body[i])) != JITRD_OK)
				goto cleanup;
		if ((result = body_json(req, &body, &c.body_len)) != JITRD_OK)
			goto cleanup;
		c.body = body;
	}
	result = jitrd_iot_call(s, deadline, &c, json, res, diag);
cleanup:
	free(body);
	json_object_put(req);
	return result;
}

/* Sends op and reads its answer with the row's reader into out (not read when out is NULL). */
static enum jitrd_err run_op(struct jitrd_iot_session *s, int64_t deadline, enum jitrd_iot_op op,
                             const struct op_input *in, void *out, struct jitrd_iot_result *res,
                             struct jitrd_diag *diag)
{
	struct json_object *json = NULL;
	enum jitrd_err result = send_op(s, deadline, op, in, &json, res, diag);

	if (result == JITRD_OK && out && ops[op].read)
		result = ops[op].read(json, op, out, diag);
	json_object_put(json);
	return result;
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

/* What every operation opens with: res cleared, its arguments there (args_ok), the value of
 * its URI label checked as its row says. */
static enum jitrd_err begin_op(enum jitrd_iot_op op, int args_ok, const char *label,
                               struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	result_reset(res);
	if (!args_ok)
		return JITRD_ERR_INVALID_ARG;
	return label_ok(op, ops[op].label, label, diag);
}

/* An operation that reads the resource its URI names into out (Describe..., Get...). */
static enum jitrd_err read_resource(struct jitrd_iot_session *s, int64_t deadline,
                                    enum jitrd_iot_op op, const char *label, void *out,
                                    struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	struct op_input in = {.label = label};
	enum jitrd_err result = begin_op(op, s && out, label, res, diag);

	return result == JITRD_OK ? run_op(s, deadline, op, &in, out, res, diag) : result;
}

/* ---- paging through a list operation ---- */

/* One entry of a list: 0 when well-formed (handed to the caller's function, whose wish to
 * stop goes to *stop), -1 when malformed. */
typedef int (*entry_fn)(void *ctx, struct json_object *entry, int *stop);

/* Remembers the last token to refuse a service that hands the same page out forever: *more 0
 * at the end, else token (size bytes, the previous one) receives the next. */
static enum jitrd_err next_token(struct json_object *json, enum jitrd_iot_op op, char *token,
                                 size_t size, struct jitrd_diag *diag, int *more)
{
	const char *name = ops[op].answer[1];
	char next[MAX_PAGE_TOKEN];

	if (member_string(json, name, 0, next, sizeof(next)))
		return bad_member(diag, op, name);
	if (!next[0]) {
		*more = 0;
		return JITRD_OK;
	}
	if (strcmp(next, token) == 0) {
		jitrd_diag_set(diag, "%s: the service returned the same %s twice",
		               jitrd_iot_op_name(op), name);
		return JITRD_ERR_BAD_RESPONSE;
	}
	snprintf(token, size, "%s", next);
	*more = 1;
	return JITRD_OK;
}

/* Every page of list operation op (in->query[0], the page token, is set here), each entry of
 * the row's list member to entry, at most max_items of them (more is JITRD_ERR_TOO_LARGE). A
 * page is checked whole (its list and its token) before its entries are handed out. */
static enum jitrd_err list_pages(struct jitrd_iot_session *s, int64_t deadline,
                                 enum jitrd_iot_op op, struct op_input *in, size_t max_items,
                                 entry_fn entry, void *ctx, struct jitrd_iot_result *res,
                                 struct jitrd_diag *diag)
{
	const char *list_name = ops[op].answer[0], *token_name = ops[op].answer[1];
	enum jitrd_err result = JITRD_OK;
	struct jitrd_iot_result r = {0};
	char token[MAX_PAGE_TOKEN] = "", next[MAX_PAGE_TOKEN];
	size_t delivered = 0;
	int more = 1, stopped = 0;

	for (int page = 0; more && page < MAX_PAGES; page++) {
		struct json_object *json = NULL, *list = NULL;
		char entry_name[64];
		int stop = 0;

		in->query[0] = token[0] ? token : NULL;
		result = send_op(s, deadline, op, in, &json, &r, diag);
		if (result != JITRD_OK)
			break;
		if (!json || !json_object_object_get_ex(json, list_name, &list) ||
		    !json_object_is_type(list, json_type_array))
			result = bad_member(diag, op, list_name);
		else if (member_string(json, token_name, 0, next, sizeof(next)))
			result = bad_member(diag, op, token_name);
		for (size_t i = 0;
		     result == JITRD_OK && !stop && i < json_object_array_length(list); i++) {
			if (delivered == max_items) {
				jitrd_diag_set(diag, "%s: more than %zu %s", jitrd_iot_op_name(op),
				               max_items, list_name);
				result = JITRD_ERR_TOO_LARGE;
			} else if (entry(ctx, json_object_array_get_idx(list, i), &stop) != 0) {
				snprintf(entry_name, sizeof(entry_name), "%s[]", list_name);
				result = bad_member(diag, op, entry_name);
			} else {
				delivered++;
			}
		}
		if (result == JITRD_OK && !stop)
			result = next_token(json, op, token, sizeof(token), diag, &more);
		json_object_put(json);
		stopped = stop;
		if (result != JITRD_OK || stop)
			break;
	}
	/* pages left past the bound: a listing cut short is not a whole listing */
	if (result == JITRD_OK && more && !stopped) {
		jitrd_diag_set(diag, "%s: more than %d pages", jitrd_iot_op_name(op), MAX_PAGES);
		result = JITRD_ERR_TOO_LARGE;
	}
	if (res)
		*res = r;
	return result;
}

/* ---- operations: what is particular to each ---- */

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

/* Fills a struct jitrd_iot_certificate from DescribeCertificate's answer. */
static enum jitrd_err read_certificate(struct json_object *json, enum jitrd_iot_op op, void *out,
                                       struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_BAD_RESPONSE;
	struct jitrd_iot_certificate cert = {0};
	struct json_object *d;
	int rc;

	d = member_object(json, "certificateDescription");
	if (!d) {
		result = bad_member(diag, op, "certificateDescription");
		goto cleanup;
	}
	if (member_string(d, "certificateId", 1, cert.certificate_id, 65) ||
	    !jitrd_is_hex_id(cert.certificate_id)) {
		result = bad_member(diag, op, "certificateId");
		goto cleanup;
	}
	if (member_string(d, "caCertificateId", 0, cert.ca_certificate_id, 65) ||
	    (cert.ca_certificate_id[0] && !jitrd_is_hex_id(cert.ca_certificate_id))) {
		result = bad_member(diag, op, "caCertificateId");
		goto cleanup;
	}
	if (member_status(d, "status", &cert.status)) {
		result = bad_member(diag, op, "status");
		goto cleanup;
	}
	if (member_string(d, "certificateArn", 0, cert.certificate_arn,
	                  sizeof(cert.certificate_arn)) ||
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
	*(struct jitrd_iot_certificate *)out = cert;
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
	return read_resource(s, deadline, JITRD_IOT_DESCRIBE_CERTIFICATE, certificate_id, out, res,
	                     diag);
}

enum jitrd_err jitrd_iot_update_certificate(struct jitrd_iot_session *s, int64_t deadline,
                                            const char *certificate_id,
                                            enum jitrd_iot_status new_status,
                                            struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	const enum jitrd_iot_op op = JITRD_IOT_UPDATE_CERTIFICATE;
	struct op_input in = {.label = certificate_id};
	enum jitrd_err result;

	if ((result = begin_op(op, s != NULL, certificate_id, res, diag)) != JITRD_OK)
		return result;
	if (new_status == JITRD_IOT_STATUS_NONE || (unsigned)new_status >= STATUS_COUNT)
		return bad_input(diag, op, "no new status");
	in.query[0] = status_names[new_status];
	return run_op(s, deadline, op, &in, NULL, res, diag);
}

/* Fills a struct jitrd_iot_policy from CreatePolicy's, GetPolicy's or CreatePolicyVersion's
 * answer: the version id is the row's fourth answer member (policyVersionId,
 * defaultVersionId); policyName is required where the row reads it (CreatePolicyVersion's
 * answer has none). */
static enum jitrd_err read_policy(struct json_object *json, enum jitrd_iot_op op, void *out,
                                  struct jitrd_diag *diag)
{
	struct jitrd_iot_policy p = {0};
	int rc;

	if (!json)
		return bad_member(diag, op, "policyName");
	if (member_string(json, "policyName", strcmp(ops[op].answer[0], "policyName") == 0,
	                  p.policy_name, sizeof(p.policy_name)) ||
	    member_string(json, "policyArn", 0, p.policy_arn, sizeof(p.policy_arn)) ||
	    member_string(json, ops[op].answer[3], 0, p.version_id, sizeof(p.version_id)) ||
	    (p.version_id[0] && !version_id_ok(p.version_id)))
		return bad_member(diag, op, "policyName/policyArn/version");
	rc = member_dup(json, "policyDocument", 0, JITRD_IOT_MAX_POLICY, &p.policy_document);
	if (rc == -2)
		return JITRD_ERR_NOMEM;
	if (rc != 0)
		return bad_member(diag, op, "policyDocument");
	*(struct jitrd_iot_policy *)out = p;
	return JITRD_OK;
}

enum jitrd_err jitrd_iot_create_policy(struct jitrd_iot_session *s, int64_t deadline,
                                       const char *policy_name, const char *policy_document,
                                       struct jitrd_iot_policy *out, struct jitrd_iot_result *res,
                                       struct jitrd_diag *diag)
{
	const enum jitrd_iot_op op = JITRD_IOT_CREATE_POLICY;
	struct op_input in = {.label = policy_name, .body = {policy_document}};
	enum jitrd_err result;

	if ((result = begin_op(op, s != NULL, policy_name, res, diag)) != JITRD_OK)
		return result;
	if (!text_ok(policy_document, JITRD_IOT_MAX_POLICY))
		return bad_input(diag, op, "policy document empty, too long or not text");
	return run_op(s, deadline, op, &in, out, res, diag);
}

enum jitrd_err jitrd_iot_get_policy(struct jitrd_iot_session *s, int64_t deadline,
                                    const char *policy_name, struct jitrd_iot_policy *out,
                                    struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	return read_resource(s, deadline, JITRD_IOT_GET_POLICY, policy_name, out, res, diag);
}

enum jitrd_err jitrd_iot_create_policy_version(struct jitrd_iot_session *s, int64_t deadline,
                                               const char *policy_name, const char *policy_document,
                                               int set_as_default, struct jitrd_iot_policy *out,
                                               struct jitrd_iot_result *res,
                                               struct jitrd_diag *diag)
{
	const enum jitrd_iot_op op = JITRD_IOT_CREATE_POLICY_VERSION;
	struct op_input in = {.label = policy_name,
	                      .query = {set_as_default ? "true" : "false"},
	                      .body = {policy_document}};
	struct jitrd_iot_policy version = {0};
	enum jitrd_err result;

	if ((result = begin_op(op, s != NULL, policy_name, res, diag)) != JITRD_OK)
		return result;
	if (!text_ok(policy_document, JITRD_IOT_MAX_POLICY))
		return bad_input(diag, op, "policy document empty, too long or not text");
	result = run_op(s, deadline, op, &in, out ? &version : NULL, res, diag);
	if (result == JITRD_OK && out) {
		jitrd_text_copy(version.policy_name, sizeof(version.policy_name), policy_name);
		*out = version;
	}
	return result;
}

/* One entry of ListPolicyVersions' policyVersions[]. */
static int read_policy_version(struct json_object *e, struct jitrd_iot_policy_version *v)
{
	struct json_object *flag;

	if (!json_object_is_type(e, json_type_object) ||
	    member_string(e, "versionId", 1, v->version_id, sizeof(v->version_id)) ||
	    !version_id_ok(v->version_id) || member_number(e, "createDate", &v->create_date))
		return -1;
	v->is_default = 0;
	if (json_object_object_get_ex(e, "isDefaultVersion", &flag) &&
	    !json_object_is_type(flag, json_type_null)) {
		if (!json_object_is_type(flag, json_type_boolean))
			return -1;
		v->is_default = json_object_get_boolean(flag);
	}
	return 0;
}

/* Fills a struct jitrd_iot_policy_versions from ListPolicyVersions' answer: at most
 * JITRD_IOT_MAX_POLICY_VERSIONS entries, and one default at most. */
static enum jitrd_err read_policy_versions(struct json_object *json, enum jitrd_iot_op op,
                                           void *out, struct jitrd_diag *diag)
{
	struct jitrd_iot_policy_versions *list = calloc(1, sizeof(*list));
	struct json_object *array;
	enum jitrd_err result = JITRD_ERR_BAD_RESPONSE;
	size_t n, defaults = 0;

	if (!list)
		return JITRD_ERR_NOMEM;
	if (!json || !json_object_object_get_ex(json, "policyVersions", &array) ||
	    !json_object_is_type(array, json_type_array) ||
	    (n = json_object_array_length(array)) > JITRD_IOT_MAX_POLICY_VERSIONS) {
		result = bad_member(diag, op, "policyVersions");
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		if (read_policy_version(json_object_array_get_idx(array, i), &list->versions[i])) {
			result = bad_member(diag, op, "policyVersions[]");
			goto cleanup;
		}
		defaults += (size_t)list->versions[i].is_default;
	}
	if (defaults > 1) {
		result = bad_member(diag, op, "policyVersions[].isDefaultVersion");
		goto cleanup;
	}
	list->count = n;
	*(struct jitrd_iot_policy_versions *)out = *list;
	result = JITRD_OK;
cleanup:
	free(list);
	return result;
}

enum jitrd_err jitrd_iot_list_policy_versions(struct jitrd_iot_session *s, int64_t deadline,
                                              const char *policy_name,
                                              struct jitrd_iot_policy_versions *out,
                                              struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	return read_resource(s, deadline, JITRD_IOT_LIST_POLICY_VERSIONS, policy_name, out, res,
	                     diag);
}

enum jitrd_err jitrd_iot_delete_policy_version(struct jitrd_iot_session *s, int64_t deadline,
                                               const char *policy_name, const char *version_id,
                                               struct jitrd_iot_result *res,
                                               struct jitrd_diag *diag)
{
	const enum jitrd_iot_op op = JITRD_IOT_DELETE_POLICY_VERSION;
	struct op_input in = {.label = policy_name, .label2 = version_id};
	enum jitrd_err result;

	if ((result = begin_op(op, s != NULL, policy_name, res, diag)) != JITRD_OK)
		return result;
	if ((result = label_ok(op, ops[op].label2, version_id, diag)) != JITRD_OK)
		return result;
	return run_op(s, deadline, op, &in, NULL, res, diag);
}

enum jitrd_err jitrd_iot_attach_policy(struct jitrd_iot_session *s, int64_t deadline,
                                       const char *policy_name, const char *target,
                                       struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	const enum jitrd_iot_op op = JITRD_IOT_ATTACH_POLICY;
	struct op_input in = {.label = policy_name, .body = {target}};
	enum jitrd_err result;

	if ((result = begin_op(op, s != NULL, policy_name, res, diag)) != JITRD_OK)
		return result;
	if (!header_text_ok(target, JITRD_IOT_MAX_PRINCIPAL))
		return bad_input(diag, op, "target empty, too long or not text");
	return run_op(s, deadline, op, &in, NULL, res, diag);
}

struct policy_walk {
	jitrd_iot_policy_fn fn;
	void *ctx;
};

static int policy_entry(void *ctx, struct json_object *p, int *stop)
{
	struct policy_walk *w = ctx;
	char name[JITRD_IOT_MAX_NAME + 1], arn[JITRD_IOT_MAX_ARN + 1];

	if (!json_object_is_type(p, json_type_object) ||
	    member_string(p, "policyName", 1, name, sizeof(name)) ||
	    member_string(p, "policyArn", 0, arn, sizeof(arn)))
		return -1;
	*stop = w->fn(w->ctx, name, arn);
	return 0;
}

enum jitrd_err jitrd_iot_list_attached_policies(struct jitrd_iot_session *s, int64_t deadline,
                                                const char *target, jitrd_iot_policy_fn fn,
                                                void *ctx, struct jitrd_iot_result *res,
                                                struct jitrd_diag *diag)
{
	const enum jitrd_iot_op op = JITRD_IOT_LIST_ATTACHED_POLICIES;
	struct op_input in = {.label = target};
	struct policy_walk walk = {fn, ctx};
	enum jitrd_err result;

	if ((result = begin_op(op, s && fn, target, res, diag)) != JITRD_OK)
		return result;
	return list_pages(s, deadline, op, &in, SIZE_MAX, policy_entry, &walk, res, diag);
}

/* Fills a struct jitrd_iot_thing from CreateThing's or DescribeThing's answer. */
static enum jitrd_err read_thing(struct json_object *json, enum jitrd_iot_op op, void *out,
                                 struct jitrd_diag *diag)
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
	*(struct jitrd_iot_thing *)out = t;
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

/* {"attributePayload":{"attributes":{name:value,...}}} into *out (json_object_put). */
static enum jitrd_err attribute_payload(const struct jitrd_iot_attribute *attributes, size_t n,
                                        struct json_object **out)
{
	enum jitrd_err result = JITRD_ERR_NOMEM;
	struct json_object *req = json_object_new_object();
	struct json_object *payload = json_object_new_object();
	struct json_object *map = json_object_new_object();

	if (!req || !payload || !map)
		goto cleanup;
	for (size_t i = 0; i < n; i++)
		if ((result = json_add_string(map, attributes[i].name, attributes[i].value)))
			goto cleanup;
	result = JITRD_ERR_NOMEM;
	if (json_object_object_add(payload, "attributes", map) != 0)
		goto cleanup;
	map = NULL;
	if (json_object_object_add(req, "attributePayload", payload) != 0)
		goto cleanup;
	payload = NULL;
	*out = req;
	req = NULL;
	result = JITRD_OK;
cleanup:
	json_object_put(map);
	json_object_put(payload);
	json_object_put(req);
	return result;
}

/* The attributes of a CreateThing or UpdateThing, checked before anything is sent. */
static enum jitrd_err attributes_ok(enum jitrd_iot_op op,
                                    const struct jitrd_iot_attribute *attributes, size_t n,
                                    struct jitrd_diag *diag)
{
	/* AWS: up to three attributes on a Thing without a type. */
	if (n > 3)
		return bad_input(diag, op, "more than 3 attributes");
	for (size_t i = 0; i < n; i++)
		if (!attribute_ok(attributes[i].name, attributes[i].value))
			return bad_input(diag, op, "attribute name or value outside AWS's pattern");
	return JITRD_OK;
}

enum jitrd_err jitrd_iot_create_thing_with_attributes(struct jitrd_iot_session *s, int64_t deadline,
                                                      const char *thing_name,
                                                      const struct jitrd_iot_attribute *attributes,
                                                      size_t n, struct jitrd_iot_thing *out,
                                                      struct jitrd_iot_result *res,
                                                      struct jitrd_diag *diag)
{
	const enum jitrd_iot_op op = JITRD_IOT_CREATE_THING;
	struct op_input in = {.label = thing_name};
	enum jitrd_err result;

	if ((result = begin_op(op, s && (n == 0 || attributes), thing_name, res, diag)) != JITRD_OK)
		return result;
	if ((result = attributes_ok(op, attributes, n, diag)) != JITRD_OK)
		return result;
	/* Without attributes the body is "{}". */
	if (n > 0 && (result = attribute_payload(attributes, n, &in.payload)) != JITRD_OK)
		return result;
	result = run_op(s, deadline, op, &in, out, res, diag);
	json_object_put(in.payload);
	return result;
}

enum jitrd_err jitrd_iot_update_thing_attributes(struct jitrd_iot_session *s, int64_t deadline,
                                                 const char *thing_name,
                                                 const struct jitrd_iot_attribute *attributes,
                                                 size_t n, long long expected_version,
                                                 struct jitrd_iot_result *res,
                                                 struct jitrd_diag *diag)
{
	const enum jitrd_iot_op op = JITRD_IOT_UPDATE_THING;
	struct op_input in = {.label = thing_name};
	struct json_object *payload;
	enum jitrd_err result;

	if ((result = begin_op(op, s && (n == 0 || attributes), thing_name, res, diag)) != JITRD_OK)
		return result;
	if ((result = attributes_ok(op, attributes, n, diag)) != JITRD_OK)
		return result;
	/* a Thing's version starts at 1 (botocore OptionalVersion is a long) */
	if (expected_version < 1 || expected_version > 9000000000000000LL)
		return bad_input(diag, op, "expected version outside 1..9e15");
	if ((result = attribute_payload(attributes, n, &in.payload)) != JITRD_OK)
		return result;
	/* merge false: the attributes given replace the Thing's, so none of an earlier holder's
	 * stays behind; expectedVersion makes it a compare-and-swap */
	result = JITRD_ERR_NOMEM;
	if (json_add(in.payload, "expectedVersion", json_object_new_int64(expected_version)) ||
	    !json_object_object_get_ex(in.payload, "attributePayload", &payload) ||
	    json_add(payload, "merge", json_object_new_boolean(0)))
		goto cleanup;
	result = run_op(s, deadline, op, &in, NULL, res, diag);
cleanup:
	json_object_put(in.payload);
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

enum jitrd_err jitrd_iot_describe_thing_attributes(struct jitrd_iot_session *s, int64_t deadline,
                                                   const char *thing_name,
                                                   struct jitrd_iot_attribute_value *values,
                                                   size_t n, struct jitrd_iot_thing *out,
                                                   struct jitrd_iot_result *res,
                                                   struct jitrd_diag *diag)
{
	const enum jitrd_iot_op op = JITRD_IOT_DESCRIBE_THING;
	struct op_input in = {.label = thing_name};
	struct json_object *json = NULL;
	struct jitrd_iot_thing thing;
	struct jitrd_iot_attribute_value read[3];
	enum jitrd_err result;

	if ((result = begin_op(op, s && (n == 0 || values) && n <= 3, thing_name, res, diag)) !=
	    JITRD_OK)
		return result;
	for (size_t i = 0; i < n; i++)
		if (!values[i].name)
			return JITRD_ERR_INVALID_ARG;
	result = send_op(s, deadline, op, &in, &json, res, diag);
	if (result == JITRD_OK)
		result = read_thing(json, op, &thing, diag);
	for (size_t i = 0; i < n && result == JITRD_OK; i++) {
		read[i].name = values[i].name;
		result = read_thing_attribute(json, values[i].name, read[i].value, &read[i].present,
		                              diag);
	}
	json_object_put(json);
	if (result != JITRD_OK)
		return result;
	for (size_t i = 0; i < n; i++)
		values[i] = read[i];
	if (out)
		*out = thing;
	return JITRD_OK;
}

enum jitrd_err jitrd_iot_describe_thing_attribute(struct jitrd_iot_session *s, int64_t deadline,
                                                  const char *thing_name, const char *name,
                                                  char *value, size_t size, int *present,
                                                  struct jitrd_iot_result *res,
                                                  struct jitrd_diag *diag)
{
	struct jitrd_iot_attribute_value one = {.name = name};
	enum jitrd_err result;

	if (!(name && value && size > JITRD_IOT_MAX_ATTRIBUTE_VALUE && present)) {
		result_reset(res);
		return JITRD_ERR_INVALID_ARG;
	}
	result =
	    jitrd_iot_describe_thing_attributes(s, deadline, thing_name, &one, 1, NULL, res, diag);
	if (result == JITRD_OK) {
		memcpy(value, one.value, sizeof(one.value));
		*present = one.present;
	}
	return result;
}

/* 1 when an entry of ListThingPrincipals' principals[] is a string fit for a header. */
static int principal_ok(struct json_object *e)
{
	const char *principal = json_object_get_string(e);

	return json_object_is_type(e, json_type_string) &&
	       header_text_ok(principal, JITRD_IOT_MAX_PRINCIPAL) &&
	       strlen(principal) == (size_t)json_object_get_string_len(e);
}

struct principal_walk {
	jitrd_iot_principal_fn fn;
	void *ctx;
};

static int principal_entry(void *ctx, struct json_object *e, int *stop)
{
	struct principal_walk *w = ctx;

	if (!principal_ok(e))
		return -1;
	*stop = w->fn(w->ctx, json_object_get_string(e));
	return 0;
}

enum jitrd_err jitrd_iot_list_thing_principals(struct jitrd_iot_session *s, int64_t deadline,
                                               const char *thing_name, jitrd_iot_principal_fn fn,
                                               void *ctx, struct jitrd_iot_result *res,
                                               struct jitrd_diag *diag)
{
	const enum jitrd_iot_op op = JITRD_IOT_LIST_THING_PRINCIPALS;
	struct op_input in = {.label = thing_name, .query = {NULL, "250"}};
	struct principal_walk walk = {fn, ctx};
	enum jitrd_err result;

	if ((result = begin_op(op, s && fn, thing_name, res, diag)) != JITRD_OK)
		return result;
	return list_pages(s, deadline, op, &in, MAX_THING_PRINCIPALS, principal_entry, &walk, res,
	                  diag);
}

enum jitrd_err jitrd_iot_describe_thing(struct jitrd_iot_session *s, int64_t deadline,
                                        const char *thing_name, struct jitrd_iot_thing *out,
                                        struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	return read_resource(s, deadline, JITRD_IOT_DESCRIBE_THING, thing_name, out, res, diag);
}

enum jitrd_err jitrd_iot_attach_thing_principal(struct jitrd_iot_session *s, int64_t deadline,
                                                const char *thing_name, const char *principal,
                                                struct jitrd_iot_result *res,
                                                struct jitrd_diag *diag)
{
	const enum jitrd_iot_op op = JITRD_IOT_ATTACH_THING_PRINCIPAL;
	struct op_input in = {.label = thing_name, .header = principal};
	enum jitrd_err result;

	if ((result = begin_op(op, s != NULL, thing_name, res, diag)) != JITRD_OK)
		return result;
	if (!header_text_ok(principal, JITRD_IOT_MAX_PRINCIPAL))
		return bad_input(diag, op, "principal empty, too long or not text");
	return run_op(s, deadline, op, &in, NULL, res, diag);
}

struct thing_name_walk {
	jitrd_iot_thing_name_fn fn;
	void *ctx;
};

static int thing_name_entry(void *ctx, struct json_object *e, int *stop)
{
	struct thing_name_walk *w = ctx;
	const char *name;

	if (!json_object_is_type(e, json_type_string))
		return -1;
	name = json_object_get_string(e);
	/* ThingName as botocore's model has it, [a-zA-Z0-9:_-]{1,128} */
	if (!name_ok(name, ":_-"))
		return -1;
	*stop = w->fn(w->ctx, name);
	return 0;
}

enum jitrd_err jitrd_iot_list_principal_things(struct jitrd_iot_session *s, int64_t deadline,
                                               const char *principal, jitrd_iot_thing_name_fn fn,
                                               void *ctx, struct jitrd_iot_result *res,
                                               struct jitrd_diag *diag)
{
	const enum jitrd_iot_op op = JITRD_IOT_LIST_PRINCIPAL_THINGS;
	struct op_input in = {.query = {NULL, "250"}, .header = principal};
	struct thing_name_walk walk = {fn, ctx};
	enum jitrd_err result;

	if ((result = begin_op(op, s && fn, NULL, res, diag)) != JITRD_OK)
		return result;
	if (!header_text_ok(principal, JITRD_IOT_MAX_PRINCIPAL))
		return bad_input(diag, op, "principal empty, too long or not text");
	return list_pages(s, deadline, op, &in, MAX_THING_PRINCIPALS, thing_name_entry, &walk, res,
	                  diag);
}

/* One entry of ListCertificatesByCA's certificates[]. */
static enum jitrd_err read_cert_summary(struct json_object *e, struct jitrd_iot_cert_summary *sum)
{
	if (!json_object_is_type(e, json_type_object) ||
	    member_string(e, "certificateId", 1, sum->certificate_id, 65) ||
	    !jitrd_is_hex_id(sum->certificate_id) || member_status(e, "status", &sum->status) ||
	    member_string(e, "certificateArn", 0, sum->certificate_arn,
	                  sizeof(sum->certificate_arn)) ||
	    member_number(e, "creationDate", &sum->creation_date))
		return JITRD_ERR_BAD_RESPONSE;
	return JITRD_OK;
}

struct cert_walk {
	jitrd_iot_cert_fn fn;
	void *ctx;
};

static int cert_entry(void *ctx, struct json_object *e, int *stop)
{
	struct cert_walk *w = ctx;
	struct jitrd_iot_cert_summary sum = {0};

	if (read_cert_summary(e, &sum) != JITRD_OK)
		return -1;
	*stop = w->fn(w->ctx, &sum);
	return 0;
}

enum jitrd_err jitrd_iot_list_certificates_by_ca(struct jitrd_iot_session *s, int64_t deadline,
                                                 const char *ca_certificate_id, int page_size,
                                                 size_t max_items, jitrd_iot_cert_fn fn, void *ctx,
                                                 struct jitrd_iot_result *res,
                                                 struct jitrd_diag *diag)
{
	const enum jitrd_iot_op op = JITRD_IOT_LIST_CERTIFICATES_BY_CA;
	struct op_input in = {.label = ca_certificate_id};
	struct cert_walk walk = {fn, ctx};
	enum jitrd_err result;
	char size_text[16];

	if ((result = begin_op(op, s && fn, ca_certificate_id, res, diag)) != JITRD_OK)
		return result;
	if (page_size < 0 || page_size > 250)
		return bad_input(diag, op, "page size outside 1..250");
	if (max_items == 0 || max_items > MAX_LIST_ITEMS)
		max_items = MAX_LIST_ITEMS;
	snprintf(size_text, sizeof(size_text), "%d", page_size);
	in.query[1] = page_size ? size_text : NULL;
	return list_pages(s, deadline, op, &in, max_items, cert_entry, &walk, res, diag);
}

/* GetRegistrationCode's registrationCode (alphanumeric) into out (65 bytes). */
static enum jitrd_err read_registration_code(struct json_object *json, enum jitrd_iot_op op,
                                             void *out, struct jitrd_diag *diag)
{
	char code[65];

	if (!json || member_string(json, "registrationCode", 1, code, sizeof(code)) || !code[0])
		return bad_member(diag, op, "registrationCode");
	for (char *p = code; *p; p++)
		if (!isalnum((unsigned char)*p))
			return bad_member(diag, op, "registrationCode");
	memcpy(out, code, sizeof(code));
	return JITRD_OK;
}

enum jitrd_err jitrd_iot_get_registration_code(struct jitrd_iot_session *s, int64_t deadline,
                                               char code_out[65], struct jitrd_iot_result *res,
                                               struct jitrd_diag *diag)
{
	return read_resource(s, deadline, JITRD_IOT_GET_REGISTRATION_CODE, NULL, code_out, res,
	                     diag);
}

/* Fills a struct jitrd_iot_registered from RegisterCACertificate's or RegisterCertificate's
 * answer. */
static enum jitrd_err read_registered(struct json_object *json, enum jitrd_iot_op op, void *out,
                                      struct jitrd_diag *diag)
{
	struct jitrd_iot_registered r = {0};

	if (!json || member_string(json, "certificateId", 1, r.certificate_id, 65) ||
	    !jitrd_is_hex_id(r.certificate_id) ||
	    member_string(json, "certificateArn", 0, r.certificate_arn, sizeof(r.certificate_arn)))
		return bad_member(diag, op, "certificateId/certificateArn");
	*(struct jitrd_iot_registered *)out = r;
	return JITRD_OK;
}

enum jitrd_err jitrd_iot_register_ca_certificate(struct jitrd_iot_session *s, int64_t deadline,
                                                 const char *ca_pem, const char *verification_pem,
                                                 int set_as_active, int allow_auto_registration,
                                                 struct jitrd_iot_registered *out,
                                                 struct jitrd_iot_result *res,
                                                 struct jitrd_diag *diag)
{
	const enum jitrd_iot_op op = JITRD_IOT_REGISTER_CA_CERTIFICATE;
	struct op_input in = {
	    .query = {set_as_active ? "true" : "false", allow_auto_registration ? "true" : "false"},
	    .body = {ca_pem, verification_pem}};

	enum jitrd_err result = begin_op(op, s && out, NULL, res, diag);

	if (result != JITRD_OK)
		return result;
	if (!text_ok(ca_pem, JITRD_IOT_MAX_PEM) ||
	    (verification_pem && !text_ok(verification_pem, JITRD_IOT_MAX_PEM)))
		return bad_input(diag, op, "a PEM is empty, over 65536 bytes or not text");
	return run_op(s, deadline, op, &in, out, res, diag);
}

/* Fills a struct jitrd_iot_ca_certificate from DescribeCACertificate's answer. */
static enum jitrd_err read_ca_certificate(struct json_object *json, enum jitrd_iot_op op, void *out,
                                          struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_BAD_RESPONSE;
	struct jitrd_iot_ca_certificate ca = {0};
	struct json_object *d;
	char auto_reg[16];
	int rc;

	d = member_object(json, "certificateDescription");
	if (!d || member_string(d, "certificateId", 1, ca.certificate_id, 65) ||
	    !jitrd_is_hex_id(ca.certificate_id) || member_status(d, "status", &ca.status) ||
	    (ca.status != JITRD_IOT_ACTIVE && ca.status != JITRD_IOT_INACTIVE) ||
	    member_string(d, "autoRegistrationStatus", 0, auto_reg, sizeof(auto_reg)) ||
	    (auto_reg[0] && strcmp(auto_reg, "ENABLE") != 0 && strcmp(auto_reg, "DISABLE") != 0) ||
	    member_string(d, "certificateArn", 0, ca.certificate_arn, sizeof(ca.certificate_arn)) ||
	    member_string(d, "ownedBy", 0, ca.owned_by, sizeof(ca.owned_by)) ||
	    member_number(d, "creationDate", &ca.creation_date)) {
		result = bad_member(diag, op, "certificateDescription");
		goto cleanup;
	}
	ca.auto_registration = strcmp(auto_reg, "ENABLE") == 0;
	rc = member_dup(d, "certificatePem", 1, JITRD_IOT_MAX_PEM, &ca.certificate_pem);
	if (rc != 0) {
		result = rc == -2 ? JITRD_ERR_NOMEM : bad_member(diag, op, "certificatePem");
		goto cleanup;
	}
	*(struct jitrd_iot_ca_certificate *)out = ca;
	memset(&ca, 0, sizeof(ca));
	result = JITRD_OK;
cleanup:
	jitrd_iot_ca_certificate_cleanup(&ca);
	return result;
}

enum jitrd_err jitrd_iot_describe_ca_certificate(struct jitrd_iot_session *s, int64_t deadline,
                                                 const char *ca_certificate_id,
                                                 struct jitrd_iot_ca_certificate *out,
                                                 struct jitrd_iot_result *res,
                                                 struct jitrd_diag *diag)
{
	return read_resource(s, deadline, JITRD_IOT_DESCRIBE_CA_CERTIFICATE, ca_certificate_id, out,
	                     res, diag);
}

enum jitrd_err jitrd_iot_update_ca_certificate(struct jitrd_iot_session *s, int64_t deadline,
                                               const char *ca_certificate_id,
                                               enum jitrd_iot_status new_status,
                                               int auto_registration, struct jitrd_iot_result *res,
                                               struct jitrd_diag *diag)
{
	const enum jitrd_iot_op op = JITRD_IOT_UPDATE_CA_CERTIFICATE;
	struct op_input in = {.label = ca_certificate_id};
	enum jitrd_err result;

	if ((result = begin_op(op, s != NULL, ca_certificate_id, res, diag)) != JITRD_OK)
		return result;
	if (new_status != JITRD_IOT_STATUS_NONE && new_status != JITRD_IOT_ACTIVE &&
	    new_status != JITRD_IOT_INACTIVE)
		return bad_input(diag, op, "a CA's status is ACTIVE or INACTIVE");
	if (auto_registration < -1 || auto_registration > 1)
		return bad_input(diag, op, "auto-registration is -1, 0 or 1");
	in.query[0] = new_status ? status_names[new_status] : NULL;
	if (auto_registration >= 0)
		in.query[1] = auto_registration ? "ENABLE" : "DISABLE";
	return run_op(s, deadline, op, &in, NULL, res, diag);
}

enum jitrd_err jitrd_iot_register_certificate(struct jitrd_iot_session *s, int64_t deadline,
                                              const char *certificate_pem, const char *ca_pem,
                                              enum jitrd_iot_status status,
                                              struct jitrd_iot_registered *out,
                                              struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	const enum jitrd_iot_op op = JITRD_IOT_REGISTER_CERTIFICATE;
	struct op_input in = {.body = {certificate_pem, ca_pem}};

	enum jitrd_err result = begin_op(op, s && out, NULL, res, diag);

	if (result != JITRD_OK)
		return result;
	if (!text_ok(certificate_pem, JITRD_IOT_MAX_PEM) ||
	    (ca_pem && !text_ok(ca_pem, JITRD_IOT_MAX_PEM)))
		return bad_input(diag, op, "a PEM is empty, over 65536 bytes or not text");
	if ((unsigned)status >= STATUS_COUNT)
		return bad_input(diag, op, "unknown status");
	in.body[2] = status ? status_names[status] : NULL;
	return run_op(s, deadline, op, &in, out, res, diag);
}

/* ---- the readers, for tests and fuzz targets (iot_client_parse.h) ---- */

enum jitrd_err jitrd_iot_read_certificate(struct json_object *json,
                                          struct jitrd_iot_certificate *out,
                                          struct jitrd_diag *diag)
{
	return read_certificate(json, JITRD_IOT_DESCRIBE_CERTIFICATE, out, diag);
}

enum jitrd_err jitrd_iot_read_policy(struct json_object *json, struct jitrd_iot_policy *out,
                                     struct jitrd_diag *diag)
{
	return read_policy(json, JITRD_IOT_GET_POLICY, out, diag);
}

enum jitrd_err jitrd_iot_read_policy_versions(struct json_object *json,
                                              struct jitrd_iot_policy_versions *out,
                                              struct jitrd_diag *diag)
{
	return read_policy_versions(json, JITRD_IOT_LIST_POLICY_VERSIONS, out, diag);
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

enum jitrd_err jitrd_iot_read_cert_summary(struct json_object *entry,
                                           struct jitrd_iot_cert_summary *out)
{
	return read_cert_summary(entry, out);
}

enum jitrd_err jitrd_iot_read_next_marker(struct json_object *json, char *marker, size_t size,
                                          int *more, struct jitrd_diag *diag)
{
	return next_token(json, JITRD_IOT_LIST_CERTIFICATES_BY_CA, marker, size, diag, more);
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
