/* store.c — the emulator's AWS IoT account in memory and the operations over it, with the state
 * rules AWS applies (certificate ids are SHA-256 of the DER, REVOKED is final, ...).
 * Pure: no sockets, no clock, no locks, no logging; the server serialises calls on one store. */
#include "store.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "issue.h"
#include "jitrd/cert.h"

enum cert_status {
	ST_ACTIVE,
	ST_INACTIVE,
	ST_REVOKED,
	ST_PENDING_TRANSFER,
	ST_REGISTER_INACTIVE,
	ST_PENDING_ACTIVATION,
	ST_COUNT
};

static const char *const status_names[ST_COUNT] = {
    "ACTIVE", "INACTIVE", "REVOKED", "PENDING_TRANSFER", "REGISTER_INACTIVE", "PENDING_ACTIVATION",
};

struct validity {
	int64_t not_before_ms;
	int64_t not_after_ms;
};

struct ca_entry {
	char id[65];
	struct jitrd_cert *cert;
	char *pem;
	bool active;
	bool auto_registration;
	bool sni_only;
	int64_t created_ms;
	int64_t modified_ms;
	struct validity validity;
	uint64_t generation;
	int customer_version;
};

struct cert_entry {
	char id[65];
	char ca_id[65]; /* "" when registered without a CA */
	char *pem;
	enum cert_status status;
	int64_t created_ms;
	int64_t modified_ms;
	struct validity validity;
	uint64_t generation;
	int customer_version;
};

struct policy_version {
	char *document;
	unsigned id; /* 1, 2, ...: AWS never gives a deleted version's id again */
	int64_t created_ms;
};

/* A policy is its versions (oldest first); GetPolicy answers the default one's document. */
struct policy_entry {
	char *name;
	struct policy_version versions[EMU_MAX_POLICY_VERSIONS];
	size_t version_count;
	unsigned default_id;
	unsigned last_id;
	int64_t created_ms;
	int64_t modified_ms;
	uint64_t generation;
};

struct attachment {
	char *policy;
	char *target;
};

struct thing_entry {
	char *name;
	char id[37];
	char *type_name;                /* NULL when none */
	struct json_object *attributes; /* an object; one reference owned */
	int64_t version;
	char *principals[EMU_MAX_PRINCIPALS];
	size_t principal_count;
};

struct rule_entry {
	char *name;
	struct json_object *payload; /* the TopicRulePayload as given; one reference owned */
	int64_t created_ms;
};

struct emu_store {
	char region[64];
	char account_id[13];
	char registration_code[65];
	char endpoint_prefix[15];
	char data_endpoint[128]; /* "" = AWS's form from endpoint_prefix */
	struct emu_issuer *issuer;
	uint64_t generation; /* source of generationId and thing ids */

	struct ca_entry *cas;
	size_t ca_count, ca_cap;
	struct cert_entry *certs;
	size_t cert_count, cert_cap;
	uint32_t *cert_slots; /* open addressing: index + 1, 0 = empty; power of two */
	size_t cert_slot_count;
	struct policy_entry *policies;
	size_t policy_count, policy_cap;
	struct attachment *attachments;
	size_t attachment_count, attachment_cap;
	struct rule_entry *rules;
	size_t rule_count, rule_cap;
	struct thing_entry *things;
	size_t thing_count, thing_cap;
};

/* ---- small helpers ---- */

void emu_api_error_set(struct emu_api_error *err, int http_status, const char *code,
                       const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	err->http_status = http_status;
	snprintf(err->code, sizeof err->code, "%s", code);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
}

static enum jitrd_err invalid(struct emu_api_error *err, const char *message)
{
	emu_api_error_set(err, 400, "InvalidRequestException", "%s", message);
	return JITRD_ERR_API;
}

static enum jitrd_err not_found(struct emu_api_error *err, const char *what, const char *name)
{
	char quoted[140];

	jitrd_quote(quoted, sizeof quoted, name, strlen(name));
	emu_api_error_set(err, 404, "ResourceNotFoundException", "%s %s does not exist", what,
	                  quoted);
	return JITRD_ERR_API;
}

static enum jitrd_err limit_exceeded(struct emu_api_error *err, const char *what)
{
	emu_api_error_set(err, 410, "LimitExceededException", "too many %s", what);
	return JITRD_ERR_API;
}

const char *emu_call_param(const struct emu_call *call, const char *name)
{
	for (size_t i = 0; i < call->param_count; i++)
		if (strcmp(call->params[i].name, name) == 0)
			return call->params[i].value;
	return NULL;
}

static char *dup_string(const char *s)
{
	size_t n = strlen(s) + 1;
	char *copy = malloc(n);

	if (copy != NULL)
		memcpy(copy, s, n);
	return copy;
}

/* Adds v under key; v is released when it cannot be added. -1 when v is NULL or adding failed,
 * so a chain of put() calls joined with || stops at the first allocation failure. */
static int put(struct json_object *o, const char *key, struct json_object *v)
{
	if (v == NULL)
		return -1;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* Adds a new container v under key and returns it borrowed; NULL (v released) on failure. */
static struct json_object *child(struct json_object *parent, const char *key, struct json_object *v)
{
	if (parent == NULL) {
		json_object_put(v);
		return NULL;
	}
	return put(parent, key, v) == 0 ? v : NULL;
}

static int push(struct json_object *array, struct json_object *v)
{
	if (v == NULL)
		return -1;
	if (json_object_array_add(array, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* Epoch seconds with milliseconds, serialised exactly (botocore reads numbers as seconds). */
static struct json_object *new_time(int64_t ms)
{
	char text[32];
	int64_t sec = ms / 1000, frac = ms % 1000;

	if (frac < 0) {
		frac += 1000;
		sec -= 1;
	}
	snprintf(text, sizeof text, "%" PRId64 ".%03" PRId64, sec, frac);
	return json_object_new_double_s((double)ms / 1000.0, text);
}

static struct json_object *generation_string(uint64_t generation)
{
	char text[24];

	snprintf(text, sizeof text, "%" PRIu64, generation);
	return json_object_new_string(text);
}

static void arn(const struct emu_store *store, const char *kind, const char *name, char *out,
                size_t out_size)
{
	snprintf(out, out_size, "arn:aws:iot:%s:%s:%s/%s", store->region, store->account_id, kind,
	         name);
}

/* Array growth up to a bound: 0, or -1 when full (bound reached) or out of memory. */
static int grow(void **items, size_t *cap, size_t count, size_t item_size, size_t bound)
{
	size_t new_cap;
	void *bigger;

	if (count < *cap)
		return 0;
	if (count >= bound)
		return -1;
	new_cap = *cap == 0 ? 16 : *cap * 2;
	if (new_cap > bound)
		new_cap = bound;
	bigger = realloc(*items, new_cap * item_size);
	if (bigger == NULL)
		return -1;
	*items = bigger;
	*cap = new_cap;
	return 0;
}

/* Body member of string type: 0 with *value (NULL when absent), or -1 (wrong type). */
static int body_string(const struct emu_call *call, const char *key, const char **value)
{
	struct json_object *member;

	*value = NULL;
	if (call->body == NULL || !json_object_object_get_ex(call->body, key, &member) ||
	    json_object_is_type(member, json_type_null))
		return 0;
	if (!json_object_is_type(member, json_type_string))
		return -1;
	*value = json_object_get_string(member);
	return 0;
}

/* Query boolean: absent is false; "true"/"false" only. */
static int param_bool(const struct emu_call *call, const char *name, bool *out)
{
	const char *v = emu_call_param(call, name);

	if (v == NULL || strcmp(v, "false") == 0)
		*out = false;
	else if (strcmp(v, "true") == 0)
		*out = true;
	else
		return -1;
	return 0;
}

/* A decimal of at most 9 digits in [min, max]; -1 otherwise. */
static int parse_count(const char *s, long min, long max, long *out)
{
	long v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 9)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* pageSize (or another name) and marker: defaults when absent; InvalidRequestException
 * otherwise. marker is a position; the answer's nextMarker is the next one. */
static enum jitrd_err page_params(const struct emu_call *call, const char *size_name,
                                  const char *marker_name, size_t *page, size_t *marker,
                                  struct emu_api_error *err)
{
	const char *size_text = emu_call_param(call, size_name);
	const char *marker_text = emu_call_param(call, marker_name);
	long v;

	*page = EMU_DEFAULT_PAGE;
	*marker = 0;
	if (size_text != NULL) {
		if (parse_count(size_text, 1, EMU_MAX_PAGE, &v) != 0)
			return invalid(err, "pageSize must be an integer from 1 to 250");
		*page = (size_t)v;
	}
	if (marker_text != NULL && marker_text[0] != '\0') {
		if (parse_count(marker_text, 0, 999999999, &v) != 0)
			return invalid(err, "the marker is not valid");
		*marker = (size_t)v;
	}
	return JITRD_OK;
}

static int put_marker(struct json_object *o, const char *key, size_t next)
{
	char text[24];

	snprintf(text, sizeof text, "%zu", next);
	return put(o, key, json_object_new_string(text));
}

static int64_t asn1_ms(const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm) * 1000;
}

static struct validity cert_validity(const struct jitrd_cert *cert)
{
	X509 *x = jitrd_cert_x509(cert);
	struct validity v = {asn1_ms(X509_get0_notBefore(x)), asn1_ms(X509_get0_notAfter(x))};

	return v;
}

static struct json_object *validity_json(const struct validity *v)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL || put(o, "notBefore", new_time(v->not_before_ms)) ||
	    put(o, "notAfter", new_time(v->not_after_ms))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int status_from_name(const char *name)
{
	for (int i = 0; i < ST_COUNT; i++)
		if (strcmp(status_names[i], name) == 0)
			return i;
	return -1;
}

/* ---- lookups ---- */

static uint32_t hash_id(const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h;
}

static struct cert_entry *find_cert(const struct emu_store *store, const char *id)
{
	size_t mask = store->cert_slot_count - 1;

	if (store->cert_slot_count == 0)
		return NULL;
	for (size_t i = hash_id(id) & mask;; i = (i + 1) & mask) {
		uint32_t slot = store->cert_slots[i];

		if (slot == 0)
			return NULL;
		if (strcmp(store->certs[slot - 1].id, id) == 0)
			return &store->certs[slot - 1];
	}
}

static void index_insert(uint32_t *slots, size_t slot_count, const char *id, uint32_t value)
{
	size_t mask = slot_count - 1;
	size_t i = hash_id(id) & mask;

	while (slots[i] != 0)
		i = (i + 1) & mask;
	slots[i] = value;
}

/* Keeps the load factor at or below 1/2 so probing stays short. */
static int index_reserve(struct emu_store *store, size_t count)
{
	size_t want = store->cert_slot_count == 0 ? 64 : store->cert_slot_count;
	uint32_t *slots;

	while (want < count * 2)
		want *= 2;
	if (want == store->cert_slot_count)
		return 0;
	slots = calloc(want, sizeof *slots);
	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < store->cert_count; i++)
		index_insert(slots, want, store->certs[i].id, (uint32_t)(i + 1));
	free(store->cert_slots);
	store->cert_slots = slots;
	store->cert_slot_count = want;
	return 0;
}

static struct ca_entry *find_ca(const struct emu_store *store, const char *id)
{
	for (size_t i = 0; i < store->ca_count; i++)
		if (strcmp(store->cas[i].id, id) == 0)
			return &store->cas[i];
	return NULL;
}

/* The registered CA that signed cert, or NULL. */
static struct ca_entry *find_issuer(const struct emu_store *store, const struct jitrd_cert *cert)
{
	for (size_t i = 0; i < store->ca_count; i++)
		if (jitrd_cert_verify_signed_by(cert, store->cas[i].cert) == JITRD_OK)
			return &store->cas[i];
	return NULL;
}

static struct policy_entry *find_policy(const struct emu_store *store, const char *name)
{
	for (size_t i = 0; i < store->policy_count; i++)
		if (strcmp(store->policies[i].name, name) == 0)
			return &store->policies[i];
	return NULL;
}

static struct thing_entry *find_thing(const struct emu_store *store, const char *name)
{
	for (size_t i = 0; i < store->thing_count; i++)
		if (strcmp(store->things[i].name, name) == 0)
			return &store->things[i];
	return NULL;
}

/* A target or principal that names one of our certificates by ARN must exist; other kinds of
 * principal (Cognito identities, thing groups) are taken as given. */
static enum jitrd_err check_principal(const struct emu_store *store, const char *target,
                                      struct emu_api_error *err)
{
	const char *cert = strstr(target, ":cert/");
	char prefix[128];
	size_t n;

	if (target[0] == '\0')
		return invalid(err, "the target is empty");
	if (cert == NULL)
		return JITRD_OK;
	n = (size_t)snprintf(prefix, sizeof prefix, "arn:aws:iot:%s:%s:cert/", store->region,
	                     store->account_id);
	if (strncmp(target, prefix, n) != 0 || find_cert(store, target + n) == NULL)
		return not_found(err, "certificate", target);
	return JITRD_OK;
}

static bool valid_name(const char *name, const char *extra)
{
	size_t n = strlen(name);

	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' &&
		    strchr(extra, name[i]) == NULL)
			return false;
	return true;
}

/* ---- lifecycle ---- */

static bool all_chars(const char *s, size_t len, int (*ok)(int))
{
	if (s == NULL || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!ok((unsigned char)s[i]))
			return false;
	return true;
}

enum jitrd_err emu_store_new(const struct emu_store_config *config, struct emu_store **out)
{
	struct emu_store *store;
	enum jitrd_err result;
	uint32_t h;

	if (config == NULL || config->region == NULL || config->region[0] == '\0' ||
	    strlen(config->region) >= sizeof store->region ||
	    !all_chars(config->account_id, 12, isdigit) ||
	    !all_chars(config->registration_code, 64, isxdigit))
		return JITRD_ERR_INVALID_ARG;
	if (config->data_endpoint != NULL &&
	    (config->data_endpoint[0] == '\0' || strlen(config->data_endpoint) >= 128))
		return JITRD_ERR_INVALID_ARG;
	store = calloc(1, sizeof *store);
	if (store == NULL)
		return JITRD_ERR_NOMEM;
	result = emu_issuer_new(config->issuer_cert_pem, config->issuer_key_pem, &store->issuer);
	if (result != JITRD_OK) {
		free(store);
		return result;
	}
	if (config->data_endpoint != NULL)
		snprintf(store->data_endpoint, sizeof store->data_endpoint, "%s",
		         config->data_endpoint);
	snprintf(store->region, sizeof store->region, "%s", config->region);
	memcpy(store->account_id, config->account_id, 13);
	memcpy(store->registration_code, config->registration_code, 65);
	/* AWS gives every account a 14-character endpoint prefix; derive one from the id. */
	h = hash_id(config->account_id);
	for (size_t i = 0; i < 14; i++) {
		store->endpoint_prefix[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[h % 36];
		h = h * 1103515245u + 12345u;
	}
	store->endpoint_prefix[0] = 'a';
	*out = store;
	return JITRD_OK;
}

static void policy_clear(struct policy_entry *p)
{
	free(p->name);
	for (size_t i = 0; i < p->version_count; i++)
		free(p->versions[i].document);
}

/* The default version (every policy has one: CreatePolicy makes version 1 the default, and
 * the default cannot be deleted). */
static const struct policy_version *default_version(const struct policy_entry *p)
{
	for (size_t i = 0; i < p->version_count; i++)
		if (p->versions[i].id == p->default_id)
			return &p->versions[i];
	return &p->versions[0];
}

static void thing_clear(struct thing_entry *t)
{
	free(t->name);
	free(t->type_name);
	json_object_put(t->attributes);
	for (size_t i = 0; i < t->principal_count; i++)
		free(t->principals[i]);
}

void emu_store_reset(struct emu_store *store)
{
	if (store == NULL)
		return;
	for (size_t i = 0; i < store->ca_count; i++) {
		jitrd_cert_free(store->cas[i].cert);
		free(store->cas[i].pem);
	}
	for (size_t i = 0; i < store->cert_count; i++)
		free(store->certs[i].pem);
	for (size_t i = 0; i < store->policy_count; i++)
		policy_clear(&store->policies[i]);
	for (size_t i = 0; i < store->attachment_count; i++) {
		free(store->attachments[i].policy);
		free(store->attachments[i].target);
	}
	for (size_t i = 0; i < store->thing_count; i++)
		thing_clear(&store->things[i]);
	free(store->cas);
	free(store->certs);
	free(store->cert_slots);
	free(store->policies);
	free(store->attachments);
	free(store->things);
	for (size_t i = 0; i < store->rule_count; i++) {
		free(store->rules[i].name);
		json_object_put(store->rules[i].payload);
	}
	free(store->rules);
	store->rules = NULL;
	store->rule_count = store->rule_cap = 0;
	store->cas = NULL;
	store->certs = NULL;
	store->cert_slots = NULL;
	store->policies = NULL;
	store->attachments = NULL;
	store->things = NULL;
	store->ca_count = store->ca_cap = store->cert_count = store->cert_cap = 0;
	store->cert_slot_count = store->policy_count = store->policy_cap = 0;
	store->attachment_count = store->attachment_cap = store->thing_count = 0;
	store->thing_cap = 0;
}

void emu_store_free(struct emu_store *store)
{
	if (store == NULL)
		return;
	emu_store_reset(store);
	emu_issuer_free(store->issuer);
	free(store);
}

size_t emu_store_certificate_count(const struct emu_store *store)
{
	return store->cert_count;
}

/* ---- CA certificates ---- */

enum jitrd_err emu_op_get_registration_code(struct emu_store *store, const struct emu_call *call,
                                            struct json_object **out, struct emu_api_error *err)
{
	struct json_object *o = json_object_new_object();

	(void)call;
	(void)err;
	if (o == NULL ||
	    put(o, "registrationCode", json_object_new_string(store->registration_code))) {
		json_object_put(o);
		return JITRD_ERR_NOMEM;
	}
	*out = o;
	return JITRD_OK;
}

static enum jitrd_err parse_pem(const char *pem, const char *what, struct jitrd_cert **out,
                                struct emu_api_error *err)
{
	struct jitrd_diag diag;
	enum jitrd_err e = jitrd_cert_from_pem(pem, strlen(pem), out, &diag);

	if (e == JITRD_ERR_NOMEM)
		return e;
	if (e != JITRD_OK) {
		emu_api_error_set(err, 400, "CertificateValidationException",
		                  "the %s is not a valid PEM certificate: %s", what, diag.text);
		return JITRD_ERR_API;
	}
	return JITRD_OK;
}

static enum jitrd_err check_verification(const struct emu_store *store, const struct jitrd_cert *ca,
                                         const char *verification_pem, struct emu_api_error *err)
{
	enum jitrd_err result;
	struct jitrd_cert *verification = NULL;
	const char *cn = NULL;

	result = parse_pem(verification_pem, "verification certificate", &verification, err);
	if (result != JITRD_OK)
		goto cleanup;
	result = JITRD_ERR_API;
	if (jitrd_cert_verify_signed_by(verification, ca) != JITRD_OK) {
		emu_api_error_set(err, 400, "RegistrationCodeValidationException",
		                  "the verification certificate is not signed by the CA "
		                  "certificate");
		goto cleanup;
	}
	if (jitrd_cert_subject_field(verification, JITRD_SUBJECT_CN, &cn) != JITRD_OK ||
	    strcmp(cn, store->registration_code) != 0) {
		emu_api_error_set(err, 400, "RegistrationCodeValidationException",
		                  "the verification certificate's Common Name is not the "
		                  "registration code");
		goto cleanup;
	}
	result = JITRD_OK;
cleanup:
	jitrd_cert_free(verification);
	return result;
}

static enum jitrd_err id_arn_answer(const struct emu_store *store, const char *kind, const char *id,
                                    struct json_object **out)
{
	struct json_object *o = json_object_new_object();
	char text[256];

	arn(store, kind, id, text, sizeof text);
	if (o == NULL || put(o, "certificateArn", json_object_new_string(text)) ||
	    put(o, "certificateId", json_object_new_string(id))) {
		json_object_put(o);
		return JITRD_ERR_NOMEM;
	}
	*out = o;
	return JITRD_OK;
}

enum jitrd_err emu_op_register_ca_certificate(struct emu_store *store, const struct emu_call *call,
                                              struct json_object **out, struct emu_api_error *err)
{
	enum jitrd_err result;
	struct jitrd_cert *ca = NULL;
	const char *ca_pem, *verification_pem, *mode;
	bool set_active, auto_registration, sni_only;
	struct ca_entry *entry;
	char *pem_copy = NULL;

	if (body_string(call, "caCertificate", &ca_pem) != 0 ||
	    body_string(call, "verificationCertificate", &verification_pem) != 0 ||
	    body_string(call, "certificateMode", &mode) != 0)
		return invalid(err, "caCertificate, verificationCertificate and certificateMode "
		                    "must be strings");
	if (ca_pem == NULL)
		return invalid(err, "caCertificate is required");
	if (param_bool(call, "setAsActive", &set_active) != 0 ||
	    param_bool(call, "allowAutoRegistration", &auto_registration) != 0)
		return invalid(err, "setAsActive and allowAutoRegistration must be true or false");
	if (mode != NULL && strcmp(mode, "DEFAULT") != 0 && strcmp(mode, "SNI_ONLY") != 0)
		return invalid(err, "certificateMode must be DEFAULT or SNI_ONLY");
	sni_only = mode != NULL && strcmp(mode, "SNI_ONLY") == 0;

	result = parse_pem(ca_pem, "CA certificate", &ca, err);
	if (result != JITRD_OK)
		goto cleanup;
	result = JITRD_ERR_API;
	if (!jitrd_cert_is_ca(ca)) {
		emu_api_error_set(err, 400, "CertificateValidationException",
		                  "the certificate is not a CA certificate");
		goto cleanup;
	}
	/* DEFAULT mode proves possession of the CA key with the registration code; SNI_ONLY
	 * (multi-account registration) needs no verification certificate. */
	if (!sni_only) {
		if (verification_pem == NULL) {
			result =
			    invalid(err, "verificationCertificate is required in DEFAULT mode");
			goto cleanup;
		}
		result = check_verification(store, ca, verification_pem, err);
		if (result != JITRD_OK)
			goto cleanup;
	}
	if (find_ca(store, jitrd_cert_id(ca)) != NULL) {
		emu_api_error_set(err, 409, "ResourceAlreadyExistsException",
		                  "the CA certificate is already registered");
		result = JITRD_ERR_API;
		goto cleanup;
	}
	result = JITRD_ERR_NOMEM;
	pem_copy = dup_string(ca_pem);
	if (pem_copy == NULL)
		goto cleanup;
	if (grow((void **)&store->cas, &store->ca_cap, store->ca_count, sizeof *store->cas,
	         EMU_MAX_CAS) != 0) {
		result = store->ca_count >= EMU_MAX_CAS ? limit_exceeded(err, "CA certificates")
		                                        : JITRD_ERR_NOMEM;
		goto cleanup;
	}
	result = id_arn_answer(store, "cacert", jitrd_cert_id(ca), out);
	if (result != JITRD_OK)
		goto cleanup;
	entry = &store->cas[store->ca_count++];
	memset(entry, 0, sizeof *entry);
	memcpy(entry->id, jitrd_cert_id(ca), 65);
	entry->pem = pem_copy;
	entry->validity = cert_validity(ca);
	entry->cert = ca;
	entry->active = set_active;
	entry->auto_registration = auto_registration;
	entry->sni_only = sni_only;
	entry->created_ms = entry->modified_ms = call->now_ms;
	entry->generation = ++store->generation;
	ca = NULL;
	pem_copy = NULL;
	result = JITRD_OK;
cleanup:
	jitrd_cert_free(ca);
	free(pem_copy);
	return result;
}

enum jitrd_err emu_op_describe_ca_certificate(struct emu_store *store, const struct emu_call *call,
                                              struct json_object **out, struct emu_api_error *err)
{
	struct ca_entry *ca = find_ca(store, call->label);
	struct json_object *answer = NULL, *d;
	char text[256];

	if (ca == NULL)
		return not_found(err, "CA certificate", call->label);
	arn(store, "cacert", ca->id, text, sizeof text);
	answer = json_object_new_object();
	d = child(answer, "certificateDescription", json_object_new_object());
	if (d == NULL || put(d, "certificateArn", json_object_new_string(text)) ||
	    put(d, "certificateId", json_object_new_string(ca->id)) ||
	    put(d, "status", json_object_new_string(ca->active ? "ACTIVE" : "INACTIVE")) ||
	    put(d, "certificatePem", json_object_new_string(ca->pem)) ||
	    put(d, "ownedBy", json_object_new_string(store->account_id)) ||
	    put(d, "creationDate", new_time(ca->created_ms)) ||
	    put(d, "autoRegistrationStatus",
	        json_object_new_string(ca->auto_registration ? "ENABLE" : "DISABLE")) ||
	    put(d, "lastModifiedDate", new_time(ca->modified_ms)) ||
	    put(d, "customerVersion", json_object_new_int(ca->customer_version + 1)) ||
	    put(d, "generationId", generation_string(ca->generation)) ||
	    put(d, "validity", validity_json(&ca->validity)) ||
	    put(d, "certificateMode",
	        json_object_new_string(ca->sni_only ? "SNI_ONLY" : "DEFAULT"))) {
		json_object_put(answer);
		return JITRD_ERR_NOMEM;
	}
	*out = answer;
	return JITRD_OK;
}

enum jitrd_err emu_op_update_ca_certificate(struct emu_store *store, const struct emu_call *call,
                                            struct json_object **out, struct emu_api_error *err)
{
	struct ca_entry *ca = find_ca(store, call->label);
	const char *status = emu_call_param(call, "newStatus");
	const char *auto_reg = emu_call_param(call, "newAutoRegistrationStatus");
	struct json_object *answer;

	if (status != NULL && strcmp(status, "ACTIVE") != 0 && strcmp(status, "INACTIVE") != 0)
		return invalid(err, "newStatus must be ACTIVE or INACTIVE");
	if (auto_reg != NULL && strcmp(auto_reg, "ENABLE") != 0 && strcmp(auto_reg, "DISABLE") != 0)
		return invalid(err, "newAutoRegistrationStatus must be ENABLE or DISABLE");
	if (ca == NULL)
		return not_found(err, "CA certificate", call->label);
	answer = json_object_new_object();
	if (answer == NULL)
		return JITRD_ERR_NOMEM;
	if (status != NULL)
		ca->active = strcmp(status, "ACTIVE") == 0;
	if (auto_reg != NULL)
		ca->auto_registration = strcmp(auto_reg, "ENABLE") == 0;
	ca->modified_ms = call->now_ms;
	ca->customer_version++;
	ca->generation = ++store->generation;
	*out = answer;
	return JITRD_OK;
}

enum jitrd_err emu_op_list_ca_certificates(struct emu_store *store, const struct emu_call *call,
                                           struct json_object **out, struct emu_api_error *err)
{
	enum jitrd_err result;
	struct json_object *answer = NULL, *list;
	size_t page, marker, i;
	bool ascending;
	char text[256];

	result = page_params(call, "pageSize", "marker", &page, &marker, err);
	if (result != JITRD_OK)
		return result;
	if (param_bool(call, "isAscendingOrder", &ascending) != 0)
		return invalid(err, "isAscendingOrder must be true or false");
	(void)ascending; /* a handful of CAs: always in registration order */
	result = JITRD_ERR_NOMEM;
	answer = json_object_new_object();
	list = child(answer, "certificates", json_object_new_array());
	if (list == NULL)
		goto cleanup;
	for (i = marker; i < store->ca_count && i < marker + page; i++) {
		struct ca_entry *ca = &store->cas[i];
		struct json_object *item = json_object_new_object();

		arn(store, "cacert", ca->id, text, sizeof text);
		if (push(list, item) || put(item, "certificateArn", json_object_new_string(text)) ||
		    put(item, "certificateId", json_object_new_string(ca->id)) ||
		    put(item, "status",
		        json_object_new_string(ca->active ? "ACTIVE" : "INACTIVE")) ||
		    put(item, "creationDate", new_time(ca->created_ms)))
			goto cleanup;
	}
	if (i < store->ca_count && put_marker(answer, "nextMarker", i))
		goto cleanup;
	*out = answer;
	answer = NULL;
	result = JITRD_OK;
cleanup:
	json_object_put(answer);
	return result;
}

/* ---- device certificates ---- */

/* Adds a certificate entry; the caller has checked that the id is new. */
static enum jitrd_err add_cert(struct emu_store *store, const struct jitrd_cert *cert,
                               const char *pem, const char *ca_id, enum cert_status status,
                               int64_t now_ms, struct emu_api_error *err)
{
	struct cert_entry *entry;
	char *pem_copy;

	if (store->cert_count >= EMU_MAX_CERTS)
		return limit_exceeded(err, "certificates");
	if (grow((void **)&store->certs, &store->cert_cap, store->cert_count, sizeof *store->certs,
	         EMU_MAX_CERTS) != 0 ||
	    index_reserve(store, store->cert_count + 1) != 0)
		return JITRD_ERR_NOMEM;
	pem_copy = dup_string(pem);
	if (pem_copy == NULL)
		return JITRD_ERR_NOMEM;
	entry = &store->certs[store->cert_count];
	memset(entry, 0, sizeof *entry);
	memcpy(entry->id, jitrd_cert_id(cert), 65);
	snprintf(entry->ca_id, sizeof entry->ca_id, "%s", ca_id != NULL ? ca_id : "");
	entry->pem = pem_copy;
	entry->status = status;
	entry->created_ms = entry->modified_ms = now_ms;
	entry->validity = cert_validity(cert);
	entry->generation = ++store->generation;
	store->cert_count++;
	index_insert(store->cert_slots, store->cert_slot_count, entry->id,
	             (uint32_t)store->cert_count);
	return JITRD_OK;
}

enum jitrd_err emu_op_register_certificate(struct emu_store *store, const struct emu_call *call,
                                           struct json_object **out, struct emu_api_error *err)
{
	enum jitrd_err result;
	struct jitrd_cert *cert = NULL, *named_ca = NULL;
	const char *pem, *ca_pem, *status_name;
	struct ca_entry *ca;
	bool set_active;
	int status = ST_INACTIVE;
	struct json_object *answer = NULL;

	if (body_string(call, "certificatePem", &pem) != 0 ||
	    body_string(call, "caCertificatePem", &ca_pem) != 0 ||
	    body_string(call, "status", &status_name) != 0)
		return invalid(err, "certificatePem, caCertificatePem and status must be strings");
	if (pem == NULL)
		return invalid(err, "certificatePem is required");
	if (param_bool(call, "setAsActive", &set_active) != 0)
		return invalid(err, "setAsActive must be true or false");
	if (status_name != NULL) {
		status = status_from_name(status_name);
		if (status < 0 || status == ST_PENDING_ACTIVATION || status == ST_PENDING_TRANSFER)
			return invalid(err, "status is not a status a certificate can be given");
	}
	if (set_active)
		status = ST_ACTIVE;

	result = parse_pem(pem, "certificate", &cert, err);
	if (result != JITRD_OK)
		goto cleanup;
	if (ca_pem != NULL) {
		result = parse_pem(ca_pem, "CA certificate", &named_ca, err);
		if (result != JITRD_OK)
			goto cleanup;
		ca = find_ca(store, jitrd_cert_id(named_ca));
		if (ca != NULL && jitrd_cert_verify_signed_by(cert, ca->cert) != JITRD_OK)
			ca = NULL;
	} else {
		ca = find_issuer(store, cert);
	}
	result = JITRD_ERR_API;
	if (ca == NULL) {
		emu_api_error_set(err, 400, "CertificateValidationException",
		                  "the certificate is not signed by a registered CA certificate");
		goto cleanup;
	}
	if (find_cert(store, jitrd_cert_id(cert)) != NULL) {
		emu_api_error_set(err, 409, "ResourceAlreadyExistsException",
		                  "the certificate is already registered");
		goto cleanup;
	}
	/* Registering a device certificate manually needs its CA registered and ACTIVE (AWS IoT
	 * Developer Guide, "Register a client certificate manually"); botocore's model lists
	 * CertificateStateException (406, "the certificate operation is not allowed") for a
	 * certificate whose state forbids the operation. */
	if (!ca->active) {
		emu_api_error_set(err, 406, "CertificateStateException",
		                  "the CA certificate that signed it is not ACTIVE");
		goto cleanup;
	}
	result = id_arn_answer(store, "cert", jitrd_cert_id(cert), &answer);
	if (result != JITRD_OK)
		goto cleanup;
	result = add_cert(store, cert, pem, ca->id, (enum cert_status)status, call->now_ms, err);
	if (result != JITRD_OK)
		goto cleanup;
	*out = answer;
	answer = NULL;
cleanup:
	json_object_put(answer);
	jitrd_cert_free(cert);
	jitrd_cert_free(named_ca);
	return result;
}

enum jitrd_err emu_op_describe_certificate(struct emu_store *store, const struct emu_call *call,
                                           struct json_object **out, struct emu_api_error *err)
{
	struct cert_entry *c = find_cert(store, call->label);
	struct json_object *answer, *d;
	char text[256];

	if (c == NULL)
		return not_found(err, "certificate", call->label);
	arn(store, "cert", c->id, text, sizeof text);
	answer = json_object_new_object();
	d = child(answer, "certificateDescription", json_object_new_object());
	if (d == NULL || put(d, "certificateArn", json_object_new_string(text)) ||
	    put(d, "certificateId", json_object_new_string(c->id)) ||
	    (c->ca_id[0] != '\0' && put(d, "caCertificateId", json_object_new_string(c->ca_id))) ||
	    put(d, "status", json_object_new_string(status_names[c->status])) ||
	    put(d, "certificatePem", json_object_new_string(c->pem)) ||
	    put(d, "ownedBy", json_object_new_string(store->account_id)) ||
	    put(d, "creationDate", new_time(c->created_ms)) ||
	    put(d, "lastModifiedDate", new_time(c->modified_ms)) ||
	    put(d, "customerVersion", json_object_new_int(c->customer_version + 1)) ||
	    put(d, "transferData", json_object_new_object()) ||
	    put(d, "generationId", generation_string(c->generation)) ||
	    put(d, "validity", validity_json(&c->validity)) ||
	    put(d, "certificateMode", json_object_new_string("DEFAULT"))) {
		json_object_put(answer);
		return JITRD_ERR_NOMEM;
	}
	*out = answer;
	return JITRD_OK;
}

enum jitrd_err emu_op_update_certificate(struct emu_store *store, const struct emu_call *call,
                                         struct json_object **out, struct emu_api_error *err)
{
	const char *status_name = emu_call_param(call, "newStatus");
	struct cert_entry *c;
	struct json_object *answer;
	int status;

	if (status_name == NULL)
		return invalid(err, "newStatus is required");
	status = status_from_name(status_name);
	if (status < 0)
		return invalid(err, "newStatus is not a certificate status");
	c = find_cert(store, call->label);
	if (c == NULL)
		return not_found(err, "certificate", call->label);
	/* PENDING_ACTIVATION and PENDING_TRANSFER are set by IoT itself, never by a caller. */
	if (status == ST_PENDING_ACTIVATION || status == ST_PENDING_TRANSFER) {
		emu_api_error_set(err, 406, "CertificateStateException",
		                  "the status %s cannot be set by UpdateCertificate", status_name);
		return JITRD_ERR_API;
	}
	/* Revocation is final: a REVOKED certificate never becomes usable again. */
	if (c->status == ST_REVOKED && status != ST_REVOKED) {
		emu_api_error_set(err, 406, "CertificateStateException",
		                  "the certificate is revoked and cannot be set to %s",
		                  status_name);
		return JITRD_ERR_API;
	}
	if (c->status == ST_PENDING_TRANSFER) {
		emu_api_error_set(err, 406, "CertificateStateException",
		                  "the certificate is pending transfer");
		return JITRD_ERR_API;
	}
	answer = json_object_new_object();
	if (answer == NULL)
		return JITRD_ERR_NOMEM;
	if (c->status != (enum cert_status)status) {
		c->status = (enum cert_status)status;
		c->modified_ms = call->now_ms;
		c->customer_version++;
		c->generation = ++store->generation;
	}
	*out = answer;
	return JITRD_OK;
}

enum jitrd_err emu_op_list_certificates_by_ca(struct emu_store *store, const struct emu_call *call,
                                              struct json_object **out, struct emu_api_error *err)
{
	enum jitrd_err result;
	struct json_object *answer = NULL, *list;
	size_t page, marker, taken = 0, pos;
	bool ascending;
	char text[256];

	result = page_params(call, "pageSize", "marker", &page, &marker, err);
	if (result != JITRD_OK)
		return result;
	if (param_bool(call, "isAscendingOrder", &ascending) != 0)
		return invalid(err, "isAscendingOrder must be true or false");
	/* Unknown CAs list nothing, as AWS does (the operation has no ResourceNotFound). */
	result = JITRD_ERR_NOMEM;
	answer = json_object_new_object();
	list = child(answer, "certificates", json_object_new_array());
	if (list == NULL)
		goto cleanup;
	/* The marker counts positions in creation order from the chosen end, so pages stay
	 * stable while certificates are added at the other end. */
	for (pos = marker; pos < store->cert_count; pos++) {
		size_t i = ascending ? pos : store->cert_count - 1 - pos;
		struct cert_entry *c = &store->certs[i];
		struct json_object *item;

		if (strcmp(c->ca_id, call->label) != 0)
			continue;
		if (taken == page)
			break;
		taken++;
		item = json_object_new_object();
		arn(store, "cert", c->id, text, sizeof text);
		if (push(list, item) || put(item, "certificateArn", json_object_new_string(text)) ||
		    put(item, "certificateId", json_object_new_string(c->id)) ||
		    put(item, "status", json_object_new_string(status_names[c->status])) ||
		    put(item, "certificateMode", json_object_new_string("DEFAULT")) ||
		    put(item, "creationDate", new_time(c->created_ms)))
			goto cleanup;
	}
	if (pos < store->cert_count && put_marker(answer, "nextMarker", pos))
		goto cleanup;
	*out = answer;
	answer = NULL;
	result = JITRD_OK;
cleanup:
	json_object_put(answer);
	return result;
}

/* ---- policies ---- */

static bool valid_policy_name(const char *name)
{
	return valid_name(name, "+=,.@-");
}

/* The policy name of the path and the policyDocument of the body, as CreatePolicy and
 * CreatePolicyVersion check them: a name of botocore's pattern, a JSON object of at most
 * EMU_MAX_POLICY_DOC characters (AWS: MalformedPolicyException). */
static enum jitrd_err policy_input(const struct emu_call *call, const char **document,
                                   struct emu_api_error *err)
{
	struct json_object *parsed;
	bool object;

	if (!valid_policy_name(call->label))
		return invalid(err, "policyName must match [\\w+=,.@-]{1,128}");
	if (body_string(call, "policyDocument", document) != 0 || *document == NULL)
		return invalid(err, "policyDocument is required and must be a string");
	if (strlen(*document) > EMU_MAX_POLICY_DOC) {
		emu_api_error_set(err, 400, "MalformedPolicyException",
		                  "the policy document is longer than %d characters",
		                  EMU_MAX_POLICY_DOC);
		return JITRD_ERR_API;
	}
	parsed = json_tokener_parse(*document);
	object = parsed != NULL && json_object_is_type(parsed, json_type_object);
	json_object_put(parsed);
	if (!object) {
		emu_api_error_set(err, 400, "MalformedPolicyException",
		                  "the policy document is not a JSON object");
		return JITRD_ERR_API;
	}
	return JITRD_OK;
}

static struct json_object *version_string(unsigned id)
{
	char text[16];

	snprintf(text, sizeof text, "%u", id);
	return json_object_new_string(text);
}

enum jitrd_err emu_op_create_policy(struct emu_store *store, const struct emu_call *call,
                                    struct json_object **out, struct emu_api_error *err)
{
	enum jitrd_err result;
	const char *document;
	struct json_object *answer = NULL;
	struct policy_entry *p;
	char text[256];
	char *name_copy = NULL, *doc_copy = NULL;

	if ((result = policy_input(call, &document, err)) != JITRD_OK)
		return result;
	if (find_policy(store, call->label) != NULL) {
		emu_api_error_set(err, 409, "ResourceAlreadyExistsException",
		                  "the policy %s already exists", call->label);
		result = JITRD_ERR_API;
		goto cleanup;
	}
	if (store->policy_count >= EMU_MAX_POLICIES) {
		result = limit_exceeded(err, "policies");
		goto cleanup;
	}
	result = JITRD_ERR_NOMEM;
	name_copy = dup_string(call->label);
	doc_copy = dup_string(document);
	if (name_copy == NULL || doc_copy == NULL ||
	    grow((void **)&store->policies, &store->policy_cap, store->policy_count,
	         sizeof *store->policies, EMU_MAX_POLICIES) != 0)
		goto cleanup;
	arn(store, "policy", call->label, text, sizeof text);
	answer = json_object_new_object();
	if (answer == NULL || put(answer, "policyName", json_object_new_string(call->label)) ||
	    put(answer, "policyArn", json_object_new_string(text)) ||
	    put(answer, "policyDocument", json_object_new_string(document)) ||
	    put(answer, "policyVersionId", json_object_new_string("1")))
		goto cleanup;
	p = &store->policies[store->policy_count++];
	memset(p, 0, sizeof *p);
	p->name = name_copy;
	p->versions[0].document = doc_copy;
	p->versions[0].id = p->default_id = p->last_id = 1;
	p->versions[0].created_ms = call->now_ms;
	p->version_count = 1;
	p->created_ms = p->modified_ms = call->now_ms;
	p->generation = ++store->generation;
	name_copy = doc_copy = NULL;
	*out = answer;
	answer = NULL;
	result = JITRD_OK;
cleanup:
	json_object_put(answer);
	free(name_copy);
	free(doc_copy);
	return result;
}

enum jitrd_err emu_op_get_policy(struct emu_store *store, const struct emu_call *call,
                                 struct json_object **out, struct emu_api_error *err)
{
	struct policy_entry *p = find_policy(store, call->label);
	struct json_object *answer;
	char text[256];

	if (p == NULL)
		return not_found(err, "policy", call->label);
	arn(store, "policy", p->name, text, sizeof text);
	answer = json_object_new_object();
	if (answer == NULL || put(answer, "policyName", json_object_new_string(p->name)) ||
	    put(answer, "policyArn", json_object_new_string(text)) ||
	    put(answer, "policyDocument", json_object_new_string(default_version(p)->document)) ||
	    put(answer, "defaultVersionId", version_string(p->default_id)) ||
	    put(answer, "creationDate", new_time(p->created_ms)) ||
	    put(answer, "lastModifiedDate", new_time(p->modified_ms)) ||
	    put(answer, "generationId", generation_string(p->generation))) {
		json_object_put(answer);
		return JITRD_ERR_NOMEM;
	}
	*out = answer;
	return JITRD_OK;
}

enum jitrd_err emu_op_delete_policy(struct emu_store *store, const struct emu_call *call,
                                    struct json_object **out, struct emu_api_error *err)
{
	struct policy_entry *p = find_policy(store, call->label);
	struct json_object *answer;

	if (p == NULL)
		return not_found(err, "policy", call->label);
	for (size_t i = 0; i < store->attachment_count; i++) {
		if (strcmp(store->attachments[i].policy, p->name) == 0) {
			emu_api_error_set(err, 409, "DeleteConflictException",
			                  "the policy is attached to %s",
			                  store->attachments[i].target);
			return JITRD_ERR_API;
		}
	}
	answer = json_object_new_object();
	if (answer == NULL)
		return JITRD_ERR_NOMEM;
	policy_clear(p);
	*p = store->policies[--store->policy_count];
	*out = answer;
	return JITRD_OK;
}

/* The policy of the path and, for the operations on one version, the version of label2:
 * ResourceNotFoundException (404) when either is missing. *version NULL when not asked. */
static enum jitrd_err find_version(struct emu_store *store, const struct emu_call *call,
                                   struct policy_entry **policy, size_t *version,
                                   struct emu_api_error *err)
{
	struct policy_entry *p = call->label ? find_policy(store, call->label) : NULL;
	long id;

	if (p == NULL)
		return not_found(err, "policy", call->label ? call->label : "");
	*policy = p;
	if (version == NULL)
		return JITRD_OK;
	/* botocore's PolicyVersionId is [0-9]+ */
	if (call->label2 == NULL || parse_count(call->label2, 0, 999999999, &id) != 0)
		return invalid(err, "policyVersionId must match [0-9]+");
	for (size_t i = 0; i < p->version_count; i++) {
		if (p->versions[i].id == (unsigned long)id) {
			*version = i;
			return JITRD_OK;
		}
	}
	return not_found(err, "policy version", call->label2);
}

/* AWS: at most five versions (VersionsLimitExceededException, 409); setAsDefault makes the new
 * one operative for every certificate the policy is attached to. */
enum jitrd_err emu_op_create_policy_version(struct emu_store *store, const struct emu_call *call,
                                            struct json_object **out, struct emu_api_error *err)
{
	enum jitrd_err result;
	const char *document;
	struct json_object *answer = NULL;
	struct policy_entry *p;
	struct policy_version *v;
	char text[256];
	char *doc_copy = NULL;
	bool set_default;

	if ((result = policy_input(call, &document, err)) != JITRD_OK)
		return result;
	if (param_bool(call, "setAsDefault", &set_default) != 0)
		return invalid(err, "setAsDefault must be true or false");
	if ((result = find_version(store, call, &p, NULL, err)) != JITRD_OK)
		return result;
	if (p->version_count >= EMU_MAX_POLICY_VERSIONS) {
		emu_api_error_set(err, 409, "VersionsLimitExceededException",
		                  "the policy %s already has the maximum number of versions (%d)",
		                  p->name, EMU_MAX_POLICY_VERSIONS);
		return JITRD_ERR_API;
	}
	result = JITRD_ERR_NOMEM;
	doc_copy = dup_string(document);
	arn(store, "policy", p->name, text, sizeof text);
	answer = json_object_new_object();
	if (doc_copy == NULL || answer == NULL ||
	    put(answer, "policyArn", json_object_new_string(text)) ||
	    put(answer, "policyDocument", json_object_new_string(document)) ||
	    put(answer, "policyVersionId", version_string(p->last_id + 1)) ||
	    put(answer, "isDefaultVersion", json_object_new_boolean(set_default)))
		goto cleanup;
	v = &p->versions[p->version_count++];
	v->document = doc_copy;
	v->id = ++p->last_id;
	v->created_ms = call->now_ms;
	if (set_default)
		p->default_id = v->id;
	p->modified_ms = call->now_ms;
	p->generation = ++store->generation;
	doc_copy = NULL;
	*out = answer;
	answer = NULL;
	result = JITRD_OK;
cleanup:
	json_object_put(answer);
	free(doc_copy);
	return result;
}

enum jitrd_err emu_op_list_policy_versions(struct emu_store *store, const struct emu_call *call,
                                           struct json_object **out, struct emu_api_error *err)
{
	enum jitrd_err result;
	struct json_object *answer, *list;
	struct policy_entry *p;

	if ((result = find_version(store, call, &p, NULL, err)) != JITRD_OK)
		return result;
	answer = json_object_new_object();
	list = child(answer, "policyVersions", json_object_new_array());
	if (list == NULL)
		goto nomem;
	/* newest first, as AWS lists them */
	for (size_t i = p->version_count; i-- > 0;) {
		const struct policy_version *v = &p->versions[i];
		struct json_object *item = json_object_new_object();

		if (push(list, item) || put(item, "versionId", version_string(v->id)) ||
		    put(item, "isDefaultVersion",
		        json_object_new_boolean(v->id == p->default_id)) ||
		    put(item, "createDate", new_time(v->created_ms)))
			goto nomem;
	}
	*out = answer;
	return JITRD_OK;
nomem:
	json_object_put(answer);
	return JITRD_ERR_NOMEM;
}

enum jitrd_err emu_op_get_policy_version(struct emu_store *store, const struct emu_call *call,
                                         struct json_object **out, struct emu_api_error *err)
{
	enum jitrd_err result;
	struct json_object *answer;
	struct policy_entry *p;
	const struct policy_version *v;
	size_t i;
	char text[256];

	if ((result = find_version(store, call, &p, &i, err)) != JITRD_OK)
		return result;
	v = &p->versions[i];
	arn(store, "policy", p->name, text, sizeof text);
	answer = json_object_new_object();
	if (answer == NULL || put(answer, "policyArn", json_object_new_string(text)) ||
	    put(answer, "policyName", json_object_new_string(p->name)) ||
	    put(answer, "policyDocument", json_object_new_string(v->document)) ||
	    put(answer, "policyVersionId", version_string(v->id)) ||
	    put(answer, "isDefaultVersion", json_object_new_boolean(v->id == p->default_id)) ||
	    put(answer, "creationDate", new_time(v->created_ms)) ||
	    put(answer, "lastModifiedDate", new_time(v->created_ms)) ||
	    put(answer, "generationId", generation_string(p->generation))) {
		json_object_put(answer);
		return JITRD_ERR_NOMEM;
	}
	*out = answer;
	return JITRD_OK;
}

/* The default version cannot be deleted (DeleteConflictException, 409): DeletePolicy does. */
enum jitrd_err emu_op_delete_policy_version(struct emu_store *store, const struct emu_call *call,
                                            struct json_object **out, struct emu_api_error *err)
{
	enum jitrd_err result;
	struct json_object *answer;
	struct policy_entry *p;
	size_t i;

	if ((result = find_version(store, call, &p, &i, err)) != JITRD_OK)
		return result;
	if (p->versions[i].id == p->default_id) {
		emu_api_error_set(err, 409, "DeleteConflictException",
		                  "version %u is the default version of policy %s",
		                  p->versions[i].id, p->name);
		return JITRD_ERR_API;
	}
	answer = json_object_new_object();
	if (answer == NULL)
		return JITRD_ERR_NOMEM;
	free(p->versions[i].document);
	memmove(&p->versions[i], &p->versions[i + 1],
	        (p->version_count - i - 1) * sizeof p->versions[0]);
	p->version_count--;
	p->generation = ++store->generation;
	*out = answer;
	return JITRD_OK;
}

static struct attachment *find_attachment(const struct emu_store *store, const char *policy,
                                          const char *target, size_t *for_target)
{
	struct attachment *found = NULL;

	*for_target = 0;
	for (size_t i = 0; i < store->attachment_count; i++) {
		struct attachment *a = &store->attachments[i];

		if (strcmp(a->target, target) != 0)
			continue;
		(*for_target)++;
		if (strcmp(a->policy, policy) == 0)
			found = a;
	}
	return found;
}

static enum jitrd_err target_param(const struct emu_call *call, const char **target,
                                   struct emu_api_error *err)
{
	if (body_string(call, "target", target) != 0 || *target == NULL)
		return invalid(err, "target is required and must be a string");
	return JITRD_OK;
}

enum jitrd_err emu_op_attach_policy(struct emu_store *store, const struct emu_call *call,
                                    struct json_object **out, struct emu_api_error *err)
{
	enum jitrd_err result;
	const char *target;
	size_t for_target;
	struct json_object *answer = NULL;
	struct attachment *a;
	char *policy_copy = NULL, *target_copy = NULL;

	result = target_param(call, &target, err);
	if (result != JITRD_OK)
		return result;
	if (find_policy(store, call->label) == NULL)
		return not_found(err, "policy", call->label);
	result = check_principal(store, target, err);
	if (result != JITRD_OK)
		return result;
	result = JITRD_ERR_NOMEM;
	answer = json_object_new_object();
	if (answer == NULL)
		goto cleanup;
	if (find_attachment(store, call->label, target, &for_target) == NULL) {
		/* AWS allows 10 policies per certificate or other target. */
		if (for_target >= 10) {
			result = limit_exceeded(err, "policies attached to this target");
			goto cleanup;
		}
		policy_copy = dup_string(call->label);
		target_copy = dup_string(target);
		if (policy_copy == NULL || target_copy == NULL)
			goto cleanup;
		if (store->attachment_count >= EMU_MAX_ATTACHMENTS) {
			result = limit_exceeded(err, "policy attachments");
			goto cleanup;
		}
		if (grow((void **)&store->attachments, &store->attachment_cap,
		         store->attachment_count, sizeof *store->attachments,
		         EMU_MAX_ATTACHMENTS) != 0)
			goto cleanup;
		a = &store->attachments[store->attachment_count++];
		a->policy = policy_copy;
		a->target = target_copy;
		policy_copy = target_copy = NULL;
	}
	*out = answer;
	answer = NULL;
	result = JITRD_OK;
cleanup:
	json_object_put(answer);
	free(policy_copy);
	free(target_copy);
	return result;
}

enum jitrd_err emu_op_detach_policy(struct emu_store *store, const struct emu_call *call,
                                    struct json_object **out, struct emu_api_error *err)
{
	enum jitrd_err result;
	const char *target;
	size_t for_target;
	struct attachment *a;
	struct json_object *answer;

	result = target_param(call, &target, err);
	if (result != JITRD_OK)
		return result;
	answer = json_object_new_object();
	if (answer == NULL)
		return JITRD_ERR_NOMEM;
	/* Detaching what is not attached succeeds: the model lists no ResourceNotFound. */
	a = find_attachment(store, call->label, target, &for_target);
	if (a != NULL) {
		free(a->policy);
		free(a->target);
		/* Keep the order of the rest: ListAttachedPolicies pages by position. */
		memmove(a, a + 1,
		        (size_t)(&store->attachments[store->attachment_count] - (a + 1)) *
		            sizeof *a);
		store->attachment_count--;
	}
	*out = answer;
	return JITRD_OK;
}

/* One entry of a principal's list: false when entry pos does not belong to principal; else
 * true with *item its answer (NULL when out of memory). */
typedef bool (*principal_entry_fn)(const struct emu_store *store, size_t pos, const char *principal,
                                   struct json_object **item);

/* A page of what is attached to principal (ListAttachedPolicies, ListPrincipalThings): the
 * entries of positions [marker, count) that belong to it, at most the page size. names: the
 * query parameters of the page size and the marker, the answer's list member, and its member
 * for the position the next page starts from (present when more remain). */
static enum jitrd_err principal_page(struct emu_store *store, const struct emu_call *call,
                                     const char *principal, const char *const names[4],
                                     size_t count, principal_entry_fn entry,
                                     struct json_object **out, struct emu_api_error *err)
{
	enum jitrd_err result;
	struct json_object *answer = NULL, *list, *item;
	size_t page, marker, taken = 0, pos;

	result = page_params(call, names[0], names[1], &page, &marker, err);
	if (result != JITRD_OK)
		return result;
	result = check_principal(store, principal, err);
	if (result != JITRD_OK)
		return result;
	result = JITRD_ERR_NOMEM;
	answer = json_object_new_object();
	list = child(answer, names[2], json_object_new_array());
	if (list == NULL)
		goto cleanup;
	for (pos = marker; pos < count; pos++) {
		item = NULL;
		if (!entry(store, pos, principal, &item))
			continue;
		if (taken == page) {
			json_object_put(item);
			break;
		}
		taken++;
		if (push(list, item))
			goto cleanup;
	}
	if (pos < count && put_marker(answer, names[3], pos))
		goto cleanup;
	*out = answer;
	answer = NULL;
	result = JITRD_OK;
cleanup:
	json_object_put(answer);
	return result;
}

static bool attached_policy(const struct emu_store *store, size_t pos, const char *target,
                            struct json_object **item)
{
	const struct attachment *a = &store->attachments[pos];
	char text[256];

	if (strcmp(a->target, target) != 0)
		return false;
	arn(store, "policy", a->policy, text, sizeof text);
	*item = json_object_new_object();
	if (*item == NULL || put(*item, "policyName", json_object_new_string(a->policy)) ||
	    put(*item, "policyArn", json_object_new_string(text))) {
		json_object_put(*item);
		*item = NULL;
	}
	return true;
}

enum jitrd_err emu_op_list_attached_policies(struct emu_store *store, const struct emu_call *call,
                                             struct json_object **out, struct emu_api_error *err)
{
	static const char *const names[4] = {"pageSize", "marker", "policies", "nextMarker"};

	return principal_page(store, call, call->label, names, store->attachment_count,
	                      attached_policy, out, err);
}

/* ---- things ---- */

static struct json_object *thing_answer(const struct emu_store *store, const struct thing_entry *t)
{
	struct json_object *o = json_object_new_object();
	char text[256];

	arn(store, "thing", t->name, text, sizeof text);
	if (o == NULL || put(o, "thingName", json_object_new_string(t->name)) ||
	    put(o, "thingArn", json_object_new_string(text)) ||
	    put(o, "thingId", json_object_new_string(t->id))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* botocore's AttributeName / AttributeValue patterns, and AWS's limit of three attributes on a
 * Thing without a type (the only kind here). */
static bool valid_attributes(struct json_object *attributes)
{
	struct json_object_iter it;
	int count = 0;

	json_object_object_foreachC(attributes, it)
	{
		const char *v;
		size_t n = strlen(it.key);

		if (++count > 3 || n == 0 || n > 128 || it.val == NULL ||
		    !json_object_is_type(it.val, json_type_string))
			return false;
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)it.key[i]) &&
			    strchr("_.,@/:#-", it.key[i]) == NULL)
				return false;
		v = json_object_get_string(it.val);
		if (strlen(v) > 800 || strlen(v) != (size_t)json_object_get_string_len(it.val))
			return false;
		for (size_t i = 0; v[i] != '\0'; i++)
			if (!isalnum((unsigned char)v[i]) && strchr("_.,@/:#=[]-", v[i]) == NULL)
				return false;
	}
	return true;
}

/* CreateThing's and UpdateThing's attributePayload: *attributes (borrowed from the body, NULL
 * when absent) and, for UpdateThing (merge not NULL), its merge flag (default false). */
static enum jitrd_err attribute_payload(const struct emu_call *call,
                                        struct json_object **attributes, bool *merge,
                                        struct emu_api_error *err)
{
	struct json_object *payload, *flag;

	*attributes = NULL;
	if (merge != NULL)
		*merge = false;
	if (call->body == NULL ||
	    !json_object_object_get_ex(call->body, "attributePayload", &payload))
		return JITRD_OK;
	if (!json_object_is_type(payload, json_type_object))
		return invalid(err, "attributePayload must be an object");
	if (json_object_object_get_ex(payload, "attributes", attributes) &&
	    !json_object_is_type(*attributes, json_type_object))
		return invalid(err, "attributes must be an object");
	if (*attributes != NULL && !valid_attributes(*attributes))
		return invalid(err, "attributes: at most 3, names [a-zA-Z0-9_.,@/:#-]{1,128}, "
		                    "values [a-zA-Z0-9_.,@/:#=\\[\\]-]{0,800}");
	if (json_object_object_get_ex(payload, "merge", &flag)) {
		/* the model: "merge" is only valid when calling UpdateThing */
		if (merge == NULL || !json_object_is_type(flag, json_type_boolean))
			return invalid(err, "merge must be a boolean, and only in UpdateThing");
		*merge = json_object_get_boolean(flag);
	}
	return JITRD_OK;
}

enum jitrd_err emu_op_create_thing(struct emu_store *store, const struct emu_call *call,
                                   struct json_object **out, struct emu_api_error *err)
{
	enum jitrd_err result;
	const char *type_name;
	struct json_object *attributes = NULL, *answer = NULL;
	struct thing_entry *t, fresh;

	memset(&fresh, 0, sizeof fresh);
	if (!valid_name(call->label, ":-"))
		return invalid(err, "thingName must match [a-zA-Z0-9:_-]{1,128}");
	if (body_string(call, "thingTypeName", &type_name) != 0)
		return invalid(err, "thingTypeName must be a string");
	if (type_name != NULL)
		return not_found(err, "thing type", type_name); /* no thing types here */
	result = attribute_payload(call, &attributes, NULL, err);
	if (result != JITRD_OK)
		return result;
	t = find_thing(store, call->label);
	if (t != NULL) {
		/* CreateThing is idempotent for the same definition; a different one conflicts. */
		struct json_object *empty = json_object_new_object();
		int same;

		if (empty == NULL)
			return JITRD_ERR_NOMEM;
		same = json_object_equal(t->attributes, attributes != NULL ? attributes : empty);
		json_object_put(empty);
		if (!same) {
			emu_api_error_set(err, 409, "ResourceAlreadyExistsException",
			                  "the thing %s already exists with other attributes",
			                  call->label);
			return JITRD_ERR_API;
		}
		answer = thing_answer(store, t);
		if (answer == NULL)
			return JITRD_ERR_NOMEM;
		*out = answer;
		return JITRD_OK;
	}
	if (store->thing_count >= EMU_MAX_THINGS)
		return limit_exceeded(err, "things");
	result = JITRD_ERR_NOMEM;
	fresh.name = dup_string(call->label);
	fresh.attributes =
	    attributes != NULL ? json_object_get(attributes) : json_object_new_object();
	fresh.version = 1;
	snprintf(fresh.id, sizeof fresh.id, "%08x-0000-4000-8000-%012" PRIx64, hash_id(call->label),
	         ++store->generation);
	if (fresh.name == NULL || fresh.attributes == NULL ||
	    grow((void **)&store->things, &store->thing_cap, store->thing_count,
	         sizeof *store->things, EMU_MAX_THINGS) != 0)
		goto cleanup;
	answer = thing_answer(store, &fresh);
	if (answer == NULL)
		goto cleanup;
	store->things[store->thing_count++] = fresh;
	memset(&fresh, 0, sizeof fresh);
	*out = answer;
	result = JITRD_OK;
cleanup:
	thing_clear(&fresh);
	return result;
}

enum jitrd_err emu_op_describe_thing(struct emu_store *store, const struct emu_call *call,
                                     struct json_object **out, struct emu_api_error *err)
{
	struct thing_entry *t = find_thing(store, call->label);
	struct json_object *answer;

	if (t == NULL)
		return not_found(err, "thing", call->label);
	answer = thing_answer(store, t);
	if (answer == NULL || put(answer, "defaultClientId", json_object_new_string(t->name)) ||
	    put(answer, "attributes", json_object_get(t->attributes)) ||
	    put(answer, "version", json_object_new_int64(t->version))) {
		json_object_put(answer);
		return JITRD_ERR_NOMEM;
	}
	*out = answer;
	return JITRD_OK;
}

/* PATCH /things/{thingName}: AWS's optimistic concurrency: with expectedVersion, a Thing at
 * another version is VersionConflictException (409) and nothing changes; every update adds
 * one to the version DescribeThing returns. merge false replaces the attributes; merge true
 * sets the given ones, an empty value removing one (the model's AttributePayload). */
enum jitrd_err emu_op_update_thing(struct emu_store *store, const struct emu_call *call,
                                   struct json_object **out, struct emu_api_error *err)
{
	enum jitrd_err result;
	struct thing_entry *t = find_thing(store, call->label);
	struct json_object *attributes, *expected, *next = NULL, *answer;
	struct json_object_iter it;
	const char *type_name;
	bool merge;

	if (t == NULL)
		return not_found(err, "thing", call->label);
	if (body_string(call, "thingTypeName", &type_name) != 0)
		return invalid(err, "thingTypeName must be a string");
	if (type_name != NULL)
		return not_found(err, "thing type", type_name); /* no thing types here */
	result = attribute_payload(call, &attributes, &merge, err);
	if (result != JITRD_OK)
		return result;
	if (call->body != NULL &&
	    json_object_object_get_ex(call->body, "expectedVersion", &expected) &&
	    !json_object_is_type(expected, json_type_null)) {
		if (!json_object_is_type(expected, json_type_int))
			return invalid(err, "expectedVersion must be a number");
		if (json_object_get_int64(expected) != t->version) {
			emu_api_error_set(err, 409, "VersionConflictException",
			                  "the thing %s is at version %" PRId64 ", not %" PRId64,
			                  call->label, t->version, json_object_get_int64(expected));
			return JITRD_ERR_API;
		}
	}
	next = json_object_new_object();
	answer = json_object_new_object();
	if (next == NULL || answer == NULL)
		goto nomem;
	/* what stays: all of it without attributes to set, or with merge */
	if (merge || attributes == NULL)
		json_object_object_foreachC(t->attributes, it)
		{
			if (json_object_object_add(next, it.key, json_object_get(it.val)) != 0)
				goto nomem;
		}
	if (attributes != NULL)
		json_object_object_foreachC(attributes, it)
		{
			if (merge && json_object_get_string_len(it.val) == 0)
				json_object_object_del(next, it.key);
			else if (json_object_object_add(next, it.key, json_object_get(it.val)) != 0)
				goto nomem;
		}
	if (json_object_object_length(next) > 3) {
		json_object_put(next);
		json_object_put(answer);
		return invalid(err, "a thing without a type has at most 3 attributes");
	}
	json_object_put(t->attributes);
	t->attributes = next;
	t->version++;
	*out = answer; /* UpdateThingResponse has no members */
	return JITRD_OK;
nomem:
	json_object_put(next);
	json_object_put(answer);
	return JITRD_ERR_NOMEM;
}

enum jitrd_err emu_op_attach_thing_principal(struct emu_store *store, const struct emu_call *call,
                                             struct json_object **out, struct emu_api_error *err)
{
	enum jitrd_err result;
	struct thing_entry *t = find_thing(store, call->label);
	struct json_object *answer;
	char *copy;

	if (call->principal == NULL)
		return invalid(err, "the x-amzn-principal header is required");
	if (t == NULL)
		return not_found(err, "thing", call->label);
	result = check_principal(store, call->principal, err);
	if (result != JITRD_OK)
		return result;
	answer = json_object_new_object();
	if (answer == NULL)
		return JITRD_ERR_NOMEM;
	for (size_t i = 0; i < t->principal_count; i++) {
		if (strcmp(t->principals[i], call->principal) == 0) {
			*out = answer;
			return JITRD_OK;
		}
	}
	if (t->principal_count == EMU_MAX_PRINCIPALS) {
		json_object_put(answer);
		return limit_exceeded(err, "principals for this thing");
	}
	copy = dup_string(call->principal);
	if (copy == NULL) {
		json_object_put(answer);
		return JITRD_ERR_NOMEM;
	}
	t->principals[t->principal_count++] = copy;
	*out = answer;
	return JITRD_OK;
}

enum jitrd_err emu_op_list_thing_principals(struct emu_store *store, const struct emu_call *call,
                                            struct json_object **out, struct emu_api_error *err)
{
	struct thing_entry *t = find_thing(store, call->label);
	struct json_object *answer, *list;

	if (t == NULL)
		return not_found(err, "thing", call->label);
	/* At most EMU_MAX_PRINCIPALS principals: always one page. */
	answer = json_object_new_object();
	list = child(answer, "principals", json_object_new_array());
	if (list == NULL) {
		json_object_put(answer);
		return JITRD_ERR_NOMEM;
	}
	for (size_t i = 0; i < t->principal_count; i++) {
		if (push(list, json_object_new_string(t->principals[i]))) {
			json_object_put(answer);
			return JITRD_ERR_NOMEM;
		}
	}
	*out = answer;
	return JITRD_OK;
}

static bool principal_thing(const struct emu_store *store, size_t pos, const char *principal,
                            struct json_object **item)
{
	const struct thing_entry *t = &store->things[pos];

	for (size_t i = 0; i < t->principal_count; i++) {
		if (strcmp(t->principals[i], principal) == 0) {
			*item = json_object_new_string(t->name);
			return true;
		}
	}
	return false;
}

enum jitrd_err emu_op_list_principal_things(struct emu_store *store, const struct emu_call *call,
                                            struct json_object **out, struct emu_api_error *err)
{
	static const char *const names[4] = {"maxResults", "nextToken", "things", "nextToken"};

	if (call->principal == NULL)
		return invalid(err, "the x-amzn-principal header is required");
	return principal_page(store, call, call->principal, names, store->thing_count,
	                      principal_thing, out, err);
}

/* AWS IoT makes the key pair and signs the certificate with its own CA: the certificate has
 * no caCertificateId, and it is INACTIVE unless setAsActive. */
enum jitrd_err emu_op_create_keys_and_certificate(struct emu_store *store,
                                                  const struct emu_call *call,
                                                  struct json_object **out,
                                                  struct emu_api_error *err)
{
	enum jitrd_err result;
	struct jitrd_cert *cert = NULL;
	char *cert_pem = NULL, *private_pem = NULL, *public_pem = NULL;
	struct json_object *answer = NULL, *pair;
	bool set_active;

	if (param_bool(call, "setAsActive", &set_active) != 0)
		return invalid(err, "setAsActive must be true or false");
	result = emu_issue_keys_and_certificate(store->issuer, call->now_ms, &cert_pem,
	                                        &private_pem, &public_pem);
	if (result != JITRD_OK) {
		emu_api_error_set(err, 500, "InternalFailureException",
		                  "the key pair or certificate could not be made");
		result = result == JITRD_ERR_NOMEM ? result : JITRD_ERR_API;
		goto cleanup;
	}
	result = parse_pem(cert_pem, "certificate", &cert, err);
	if (result != JITRD_OK)
		goto cleanup;
	result = id_arn_answer(store, "cert", jitrd_cert_id(cert), &answer);
	if (result != JITRD_OK)
		goto cleanup;
	result = JITRD_ERR_NOMEM;
	pair = child(answer, "keyPair", json_object_new_object());
	if (pair == NULL || put(answer, "certificatePem", json_object_new_string(cert_pem)) ||
	    put(pair, "PublicKey", json_object_new_string(public_pem)) ||
	    put(pair, "PrivateKey", json_object_new_string(private_pem)))
		goto cleanup;
	result = add_cert(store, cert, cert_pem, "", set_active ? ST_ACTIVE : ST_INACTIVE,
	                  call->now_ms, err);
	if (result != JITRD_OK)
		goto cleanup;
	*out = answer;
	answer = NULL;
cleanup:
	json_object_put(answer);
	jitrd_cert_free(cert);
	free(cert_pem);
	emu_issue_pem_free(private_pem);
	free(public_pem);
	return result;
}

/* ---- topic rules ---- */

static struct rule_entry *find_rule(const struct emu_store *store, const char *name)
{
	for (size_t i = 0; i < store->rule_count; i++)
		if (strcmp(store->rules[i].name, name) == 0)
			return &store->rules[i];
	return NULL;
}

/* The rules engine's SQL is only checked for its frame, SELECT ... FROM '<topic filter>', as
 * a rule without it is refused by AWS; the emulator runs no rules. */
static bool sql_frame_ok(const char *sql)
{
	const char *from, *end;

	if (strncasecmp(sql, "SELECT ", 7) != 0)
		return false;
	from = strstr(sql, " FROM '");
	if (from == NULL)
		from = strstr(sql, " from '");
	if (from == NULL || from == sql + 6)
		return false;
	end = strchr(from + 7, '\'');
	return end != NULL && end > from + 7;
}

/* botocore's TopicRulePayload: sql and actions required; actions a list of at most 10
 * objects, each naming one action; description a string, ruleDisabled a boolean,
 * awsIotSqlVersion one of AWS's versions. */
static enum jitrd_err check_rule_payload(struct json_object *payload, struct emu_api_error *err)
{
	static const char *const versions[] = {"2015-10-08", "2016-03-23", "beta"};
	struct json_object *sql, *actions, *v;
	bool version_ok = false;

	if (payload == NULL || !json_object_object_get_ex(payload, "sql", &sql) ||
	    !json_object_is_type(sql, json_type_string) ||
	    !json_object_object_get_ex(payload, "actions", &actions) ||
	    !json_object_is_type(actions, json_type_array))
		return invalid(err, "topicRulePayload needs sql (a string) and actions (a list)");
	if (json_object_array_length(actions) > 10)
		return invalid(err, "a rule has at most 10 actions");
	for (size_t i = 0; i < json_object_array_length(actions); i++) {
		struct json_object *a = json_object_array_get_idx(actions, i);

		if (!json_object_is_type(a, json_type_object) || json_object_object_length(a) != 1)
			return invalid(err, "each action must name exactly one kind of action");
		json_object_object_foreach(a, kind, target)
		{
			(void)kind;
			if (!json_object_is_type(target, json_type_object))
				return invalid(err, "an action's parameters must be an object");
		}
	}
	if ((json_object_object_get_ex(payload, "description", &v) &&
	     !json_object_is_type(v, json_type_string)) ||
	    (json_object_object_get_ex(payload, "ruleDisabled", &v) &&
	     !json_object_is_type(v, json_type_boolean)))
		return invalid(err, "description must be a string and ruleDisabled a boolean");
	if (json_object_object_get_ex(payload, "awsIotSqlVersion", &v)) {
		for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++)
			version_ok =
			    version_ok || (json_object_is_type(v, json_type_string) &&
			                   strcmp(json_object_get_string(v), versions[i]) == 0);
		if (!version_ok)
			return invalid(err,
			               "awsIotSqlVersion is not 2015-10-08, 2016-03-23 or beta");
	}
	if (!sql_frame_ok(json_object_get_string(sql))) {
		emu_api_error_set(err, 400, "SqlParseException",
		                  "the rule's SQL is not SELECT ... FROM '<topic filter>'");
		return JITRD_ERR_API;
	}
	return JITRD_OK;
}

enum jitrd_err emu_op_create_topic_rule(struct emu_store *store, const struct emu_call *call,
                                        struct json_object **out, struct emu_api_error *err)
{
	enum jitrd_err result;
	struct rule_entry *r;
	struct json_object *answer;
	char *name;

	/* botocore's RuleName: ^[a-zA-Z0-9_]+$, 1 to 128 characters */
	if (call->label == NULL || !valid_name(call->label, ""))
		return invalid(err, "ruleName must match ^[a-zA-Z0-9_]+$ (1 to 128 characters)");
	result = check_rule_payload(call->body, err);
	if (result != JITRD_OK)
		return result;
	if (find_rule(store, call->label) != NULL) {
		emu_api_error_set(err, 409, "ResourceAlreadyExistsException",
		                  "the rule %s already exists", call->label);
		return JITRD_ERR_API;
	}
	if (grow((void **)&store->rules, &store->rule_cap, store->rule_count, sizeof *store->rules,
	         EMU_MAX_RULES) != 0)
		return store->rule_count >= EMU_MAX_RULES ? limit_exceeded(err, "topic rules")
		                                          : JITRD_ERR_NOMEM;
	answer = json_object_new_object();
	name = dup_string(call->label);
	if (answer == NULL || name == NULL) {
		json_object_put(answer);
		free(name);
		return JITRD_ERR_NOMEM;
	}
	r = &store->rules[store->rule_count++];
	r->name = name;
	r->payload = json_object_get(call->body);
	r->created_ms = call->now_ms;
	*out = answer;
	return JITRD_OK;
}

enum jitrd_err emu_op_get_topic_rule(struct emu_store *store, const struct emu_call *call,
                                     struct json_object **out, struct emu_api_error *err)
{
	const struct rule_entry *r = call->label ? find_rule(store, call->label) : NULL;
	struct json_object *answer, *rule;
	char text[256];

	/* GetTopicRule's errors in botocore's model have no ResourceNotFoundException: AWS
	 * answers a rule that does not exist as UnauthorizedException. */
	if (r == NULL) {
		emu_api_error_set(err, 401, "UnauthorizedException", "no rule %s you may read",
		                  call->label ? call->label : "");
		return JITRD_ERR_API;
	}
	arn(store, "rule", r->name, text, sizeof text);
	answer = json_object_new_object();
	rule = child(answer, "rule", json_object_new_object());
	if (rule == NULL || put(answer, "ruleArn", json_object_new_string(text)) ||
	    put(rule, "ruleName", json_object_new_string(r->name)) ||
	    put(rule, "createdAt", new_time(r->created_ms))) {
		json_object_put(answer);
		return JITRD_ERR_NOMEM;
	}
	json_object_object_foreach(r->payload, key, value)
	{
		if (put(rule, key, json_object_get(value))) {
			json_object_put(answer);
			return JITRD_ERR_NOMEM;
		}
	}
	if (!json_object_object_get_ex(rule, "ruleDisabled", NULL) &&
	    put(rule, "ruleDisabled", json_object_new_boolean(false))) {
		json_object_put(answer);
		return JITRD_ERR_NOMEM;
	}
	*out = answer;
	return JITRD_OK;
}

enum jitrd_err emu_op_describe_endpoint(struct emu_store *store, const struct emu_call *call,
                                        struct json_object **out, struct emu_api_error *err)
{
	const char *type = emu_call_param(call, "endpointType");
	struct json_object *answer;
	char text[160];

	if (type == NULL || strcmp(type, "iot:Data") == 0)
		snprintf(text, sizeof text, "%s.iot.%s.amazonaws.com", store->endpoint_prefix,
		         store->region);
	else if (strcmp(type, "iot:Data-ATS") == 0 && store->data_endpoint[0] != '\0')
		snprintf(text, sizeof text, "%s", store->data_endpoint);
	else if (strcmp(type, "iot:Data-ATS") == 0)
		snprintf(text, sizeof text, "%s-ats.iot.%s.amazonaws.com", store->endpoint_prefix,
		         store->region);
	else if (strcmp(type, "iot:CredentialProvider") == 0)
		snprintf(text, sizeof text, "%s.credentials.iot.%s.amazonaws.com",
		         store->endpoint_prefix, store->region);
	else if (strcmp(type, "iot:Jobs") == 0)
		snprintf(text, sizeof text, "%s.jobs.iot.%s.amazonaws.com", store->endpoint_prefix,
		         store->region);
	else
		return invalid(err, "endpointType is not one of iot:Data, iot:Data-ATS, "
		                    "iot:CredentialProvider, iot:Jobs");
	answer = json_object_new_object();
	if (answer == NULL || put(answer, "endpointAddress", json_object_new_string(text))) {
		json_object_put(answer);
		return JITRD_ERR_NOMEM;
	}
	*out = answer;
	return JITRD_OK;
}

/* ---- JITR ---- */

void emu_event_cleanup(struct emu_event *event)
{
	if (event == NULL)
		return;
	free(event->topic);
	free(event->payload);
	event->topic = NULL;
	event->payload = NULL;
}

static enum jitrd_err make_event(const struct emu_store *store, const struct cert_entry *c,
                                 int64_t now_ms, struct emu_event *event)
{
	char topic[128], payload[512];
	int n;

	snprintf(topic, sizeof topic, "$aws/events/certificates/registered/%s", c->ca_id);
	/* DESIGN §1: timestamp a number (ms), certificateRegistrationTimestamp a string. */
	n = snprintf(payload, sizeof payload,
	             "{\"certificateId\":\"%s\",\"caCertificateId\":\"%s\",\"timestamp\":%" PRId64
	             ",\"certificateStatus\":\"PENDING_ACTIVATION\",\"awsAccountId\":\"%s\","
	             "\"certificateRegistrationTimestamp\":\"%" PRId64 "\"}",
	             c->id, c->ca_id, now_ms, store->account_id, c->created_ms);
	if (n < 0 || (size_t)n >= sizeof payload)
		return JITRD_ERR_INVALID_ARG;
	event->topic = dup_string(topic);
	event->payload = dup_string(payload);
	if (event->topic == NULL || event->payload == NULL) {
		emu_event_cleanup(event);
		return JITRD_ERR_NOMEM;
	}
	return JITRD_OK;
}

static enum jitrd_err connect_answer(const char *id, const char *status, bool connected,
                                     const char *reason, struct json_object **out)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL || put(o, "certificateId", json_object_new_string(id)) ||
	    (status != NULL && put(o, "status", json_object_new_string(status))) ||
	    put(o, "connected", json_object_new_boolean(connected)) ||
	    (reason != NULL && put(o, "reason", json_object_new_string(reason)))) {
		json_object_put(o);
		return JITRD_ERR_NOMEM;
	}
	*out = o;
	return JITRD_OK;
}

enum jitrd_err emu_store_connect(struct emu_store *store, const char *pem, size_t pem_len,
                                 int64_t now_ms, struct json_object **answer,
                                 struct emu_event *event, struct emu_api_error *err)
{
	enum jitrd_err result;
	struct jitrd_cert *cert = NULL;
	struct jitrd_diag diag;
	struct cert_entry *c;
	struct ca_entry *ca;
	struct emu_event fresh = {NULL, NULL};
	struct json_object *reply = NULL;
	const char *reason = NULL;
	char *pem_text = NULL;

	result = jitrd_cert_from_pem(pem, pem_len, &cert, &diag);
	if (result == JITRD_ERR_NOMEM)
		goto cleanup;
	if (result != JITRD_OK) {
		emu_api_error_set(err, 400, "InvalidRequestException",
		                  "the body is not a PEM certificate: %s", diag.text);
		result = JITRD_ERR_API;
		goto cleanup;
	}
	c = find_cert(store, jitrd_cert_id(cert));
	if (c == NULL) {
		/* What AWS IoT does at the TLS handshake of an unknown certificate. */
		ca = find_issuer(store, cert);
		if (ca == NULL)
			reason = "the certificate's CA is not registered";
		else if (!ca->active)
			reason = "the certificate's CA is not ACTIVE";
		else if (!ca->auto_registration)
			reason = "auto-registration is disabled for the certificate's CA";
		if (reason != NULL) {
			result = connect_answer(jitrd_cert_id(cert), NULL, false, reason, &reply);
			goto done;
		}
		result = JITRD_ERR_NOMEM;
		pem_text = malloc(pem_len + 1);
		if (pem_text == NULL)
			goto cleanup;
		memcpy(pem_text, pem, pem_len);
		pem_text[pem_len] = '\0';
		result =
		    add_cert(store, cert, pem_text, ca->id, ST_PENDING_ACTIVATION, now_ms, err);
		if (result != JITRD_OK)
			goto cleanup;
		c = find_cert(store, jitrd_cert_id(cert));
	}
	ca = c->ca_id[0] != '\0' ? find_ca(store, c->ca_id) : NULL;
	if (c->status == ST_PENDING_ACTIVATION) {
		/* The event repeats on every connect while the certificate is pending. */
		result = make_event(store, c, now_ms, &fresh);
		if (result != JITRD_OK)
			goto cleanup;
		reason = "the certificate is PENDING_ACTIVATION: registration event published";
	} else if (c->status != ST_ACTIVE) {
		reason = "the certificate is not ACTIVE";
	} else if (ca != NULL && !ca->active) {
		reason = "the certificate's CA is not ACTIVE";
	}
	result =
	    connect_answer(c->id, status_names[c->status],
	                   c->status == ST_ACTIVE && (ca == NULL || ca->active), reason, &reply);
done:
	if (result != JITRD_OK)
		goto cleanup;
	*answer = reply;
	*event = fresh;
	reply = NULL;
	fresh.topic = fresh.payload = NULL;
cleanup:
	json_object_put(reply);
	emu_event_cleanup(&fresh);
	jitrd_cert_free(cert);
	free(pem_text);
	return result;
}

/* ---- state ---- */

struct json_object *emu_store_state(const struct emu_store *store)
{
	struct json_object *state = json_object_new_object();
	struct json_object *cas = child(state, "cacertificates", json_object_new_array());
	struct json_object *certs = child(state, "certificates", json_object_new_array());
	struct json_object *policies = child(state, "policies", json_object_new_array());
	struct json_object *things = child(state, "things", json_object_new_array());
	char text[256];

	if (cas == NULL || certs == NULL || policies == NULL || things == NULL ||
	    put(state, "registrationCode", json_object_new_string(store->registration_code)))
		goto fail;
	for (size_t i = 0; i < store->ca_count; i++) {
		const struct ca_entry *ca = &store->cas[i];
		struct json_object *o = json_object_new_object();

		if (push(cas, o) || put(o, "certificateId", json_object_new_string(ca->id)) ||
		    put(o, "status", json_object_new_string(ca->active ? "ACTIVE" : "INACTIVE")) ||
		    put(o, "autoRegistrationStatus",
		        json_object_new_string(ca->auto_registration ? "ENABLE" : "DISABLE")))
			goto fail;
	}
	for (size_t i = 0; i < store->cert_count; i++) {
		const struct cert_entry *c = &store->certs[i];
		struct json_object *o = json_object_new_object(), *attached;

		arn(store, "cert", c->id, text, sizeof text);
		if (push(certs, o) || put(o, "certificateId", json_object_new_string(c->id)) ||
		    put(o, "caCertificateId", json_object_new_string(c->ca_id)) ||
		    put(o, "status", json_object_new_string(status_names[c->status])))
			goto fail;
		attached = child(o, "policies", json_object_new_array());
		if (attached == NULL)
			goto fail;
		for (size_t k = 0; k < store->attachment_count; k++)
			if (strcmp(store->attachments[k].target, text) == 0 &&
			    push(attached, json_object_new_string(store->attachments[k].policy)))
				goto fail;
	}
	for (size_t i = 0; i < store->policy_count; i++) {
		const struct policy_entry *p = &store->policies[i];
		struct json_object *o = json_object_new_object(), *targets;

		if (push(policies, o) || put(o, "policyName", json_object_new_string(p->name)) ||
		    put(o, "policyDocument",
		        json_object_new_string(default_version(p)->document)) ||
		    put(o, "defaultVersionId", version_string(p->default_id)) ||
		    put(o, "versionCount", json_object_new_int((int)p->version_count)))
			goto fail;
		targets = child(o, "targets", json_object_new_array());
		if (targets == NULL)
			goto fail;
		for (size_t k = 0; k < store->attachment_count; k++)
			if (strcmp(store->attachments[k].policy, p->name) == 0 &&
			    push(targets, json_object_new_string(store->attachments[k].target)))
				goto fail;
	}
	for (size_t i = 0; i < store->thing_count; i++) {
		const struct thing_entry *t = &store->things[i];
		struct json_object *o = json_object_new_object(), *principals;

		if (push(things, o) || put(o, "thingName", json_object_new_string(t->name)) ||
		    put(o, "attributes", json_object_get(t->attributes)) ||
		    put(o, "version", json_object_new_int64(t->version)))
			goto fail;
		principals = child(o, "principals", json_object_new_array());
		if (principals == NULL)
			goto fail;
		for (size_t k = 0; k < t->principal_count; k++)
			if (push(principals, json_object_new_string(t->principals[k])))
				goto fail;
	}
	return state;
fail:
	json_object_put(state);
	return NULL;
}
