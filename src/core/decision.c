/* decision.c — DESIGN §3 steps 2, 5, 6 and the rendering of step 7 for one certificate.
 * Pure: reads only what the context hands in; the API calls that carry a decision out
 * belong to the pipeline, not here. */
#include "jitrd/decision.h"
#include "jitrd/text.h"
#include "x509_util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ARN_MAX 256

static const char *const STATUS_PENDING = "PENDING_ACTIVATION";

void jitrd_decision_init(struct jitrd_decision *d)
{
	memset(d, 0, sizeof(*d));
	d->kind = JITRD_DECISION_INVALID;
}

void jitrd_decision_cleanup(struct jitrd_decision *d)
{
	if (!d)
		return;
	free(d->policy_document);
	d->policy_document = NULL;
}

const char *jitrd_target_status_name(enum jitrd_target_status status)
{
	switch (status) {
	case JITRD_TARGET_ACTIVE:
		return "ACTIVE";
	case JITRD_TARGET_INACTIVE:
		return "INACTIVE";
	case JITRD_TARGET_REVOKED:
		return "REVOKED";
	case JITRD_TARGET_LEAVE:
		break;
	}
	return "";
}

/* Records a decision; reason is copied (truncated to fit). */
static void decide(struct jitrd_decision *d, enum jitrd_decision_kind kind,
                   enum jitrd_target_status status, const char *reason)
{
	d->kind = kind;
	d->target_status = status;
	jitrd_text_copy(d->reason, sizeof(d->reason), reason);
}

bool jitrd_decide_filter(const struct jitrd_decision_context *ctx, const struct jitrd_event *ev,
                         struct jitrd_decision *d)
{
	char quoted[96];
	char reason[160];

	jitrd_text_copy(d->ca_id, sizeof(d->ca_id), ev->ca_certificate_id);
	if (strcmp(ev->certificate_status, STATUS_PENDING) != 0) {
		jitrd_quote(quoted, sizeof(quoted), ev->certificate_status,
		            strlen(ev->certificate_status));
		snprintf(reason, sizeof(reason), "status %s is not PENDING_ACTIVATION", quoted);
		decide(d, JITRD_DECISION_IGNORE, JITRD_TARGET_LEAVE, reason);
		return true;
	}
	if (!jitrd_caset_find_id(ctx->cas, ev->ca_certificate_id)) {
		decide(d, JITRD_DECISION_IGNORE, JITRD_TARGET_LEAVE, "not one of our CAs");
		return true;
	}
	if (!jitrd_config_ca_allowed(ctx->cfg, ev->ca_certificate_id)) {
		decide(d, JITRD_DECISION_IGNORE, JITRD_TARGET_LEAVE, "CA not in ca.allow");
		return true;
	}
	return false;
}

/* The placeholder values of DESIGN §4.4 for cert under ca. Values the certificate or the
 * context lack stay NULL, so a template that needs them fails with the placeholder's name. */
struct vars {
	struct jitrd_template_var v[14];
	size_t n;
	char arn[ARN_MAX];
};

static void vars_add(struct vars *vs, const char *name, const char *value)
{
	vs->v[vs->n].name = name;
	vs->v[vs->n].value = value;
	vs->n++;
}

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

static void vars_fill(struct vars *vs, const struct jitrd_decision_context *ctx,
                      const struct jitrd_cert *cert, const char *ca_id, const char *thing_name)
{
	static const char *const subject_names[JITRD_SUBJECT_FIELD_COUNT] = {
	    [JITRD_SUBJECT_CN] = "subject.CN",
	    [JITRD_SUBJECT_O] = "subject.O",
	    [JITRD_SUBJECT_OU] = "subject.OU",
	    [JITRD_SUBJECT_C] = "subject.C",
	    [JITRD_SUBJECT_ST] = "subject.ST",
	    [JITRD_SUBJECT_L] = "subject.L",
	    [JITRD_SUBJECT_SERIAL_NUMBER] = "subject.serialNumber",
	};
	const char *account = nonempty(ctx->account_id);
	const char *region = nonempty(ctx->region);

	vs->n = 0;
	vars_add(vs, "certificate.id", jitrd_cert_id(cert));
	if (account && region) {
		snprintf(vs->arn, sizeof(vs->arn), "arn:aws:iot:%s:%s:cert/%s", region, account,
		         jitrd_cert_id(cert));
		vars_add(vs, "certificate.arn", vs->arn);
	} else {
		vars_add(vs, "certificate.arn", NULL);
	}
	vars_add(vs, "certificate.serial", jitrd_cert_serial_hex(cert));
	vars_add(vs, "ca.id", ca_id);
	vars_add(vs, "aws.account", account);
	vars_add(vs, "aws.region", region);
	vars_add(vs, "thing.name", nonempty(thing_name));
	for (int f = 0; f < JITRD_SUBJECT_FIELD_COUNT; f++) {
		const char *value = NULL;
		/* absent, ambiguous or malformed fields all stay NULL: a template needing one
		 * is refused rather than rendered with a guess */
		if (jitrd_cert_subject_field(cert, (enum jitrd_subject_field)f, &value) != JITRD_OK)
			value = NULL;
		vars_add(vs, subject_names[f], value);
	}
}

enum jitrd_err jitrd_decision_render(const struct jitrd_decision_context *ctx,
                                     const struct jitrd_cert *cert, const char *ca_id,
                                     struct jitrd_decision *d, struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct vars vs;
	char thing[JITRD_NAME_MAX + 1] = "";
	char policy[JITRD_NAME_MAX + 1];
	char *document = NULL;

	/* The Thing first: its name may appear in the policy name or document. */
	if (*ctx->cfg->provision.thing_name) {
		vars_fill(&vs, ctx, cert, ca_id, NULL);
		result = jitrd_name_template_render(ctx->cfg->provision.thing_name,
		                                    JITRD_NAME_THING, vs.v, vs.n, thing, diag);
		if (result != JITRD_OK)
			return result;
	}
	vars_fill(&vs, ctx, cert, ca_id, thing);
	result = jitrd_name_template_render(ctx->cfg->provision.policy_name, JITRD_NAME_POLICY,
	                                    vs.v, vs.n, policy, diag);
	if (result != JITRD_OK)
		return result;
	if (ctx->policy_template) {
		result =
		    jitrd_policy_template_render(ctx->policy_template, vs.v, vs.n, &document, diag);
		if (result != JITRD_OK)
			return result;
	}
	memcpy(d->thing_name, thing, sizeof(thing));
	memcpy(d->policy_name, policy, sizeof(policy));
	free(d->policy_document);
	d->policy_document = document;
	d->policy_update = ctx->cfg->provision.policy_update;
	return JITRD_OK;
}

/* What the certificate is, for the outcome line, whatever the decision. */
static void describe_certificate(struct jitrd_decision *d, const struct jitrd_cert *cert)
{
	const char *cn = NULL;

	jitrd_text_copy(d->serial, sizeof(d->serial), jitrd_cert_serial_hex(cert));
	if (jitrd_cert_subject_field(cert, JITRD_SUBJECT_CN, &cn) == JITRD_OK)
		jitrd_text_copy(d->subject_cn, sizeof(d->subject_cn), cn);
	else
		d->subject_cn[0] = '\0';
}

static enum jitrd_target_status reject_status(const struct jitrd_decision_context *ctx)
{
	return ctx->cfg->provision.on_reject == JITRD_ON_REJECT_REVOKE ? JITRD_TARGET_REVOKED
	                                                               : JITRD_TARGET_LEAVE;
}

/* Step 6: the CRL decision by issuer, serial and the certificate's CRL Distribution Points
 * (a partitioned CRL covers only the certificates that name its partition, RFC 5280 §6.3.3).
 * Returns 1 when d holds the decision, 0 when the certificate goes on to provisioning (*note
 * then says what the CRL said). *silent: no current CRL spoke for the certificate (none, or
 * one past its nextUpdate that does not revoke it), which is when OCSP may stand in. */
static int decide_by_crl(const struct jitrd_decision_context *ctx, const struct jitrd_cert *ca,
                         const struct jitrd_cert *cert, time_t now, struct jitrd_decision *d,
                         const char **note, bool *silent)
{
	struct jitrd_crl_answer answer = {JITRD_CRL_NOT_LISTED, JITRD_CRL_REASON_NONE, false};
	bool fail_open = ctx->cfg->crl.fail_open;
	enum jitrd_err err =
	    ctx->crls ? jitrd_crl_lookup_cert(ctx->crls, ca, cert, now, &answer) : JITRD_ERR_NO_CRL;
	char why[128];

	*note = "not on the CRL";
	*silent = (err != JITRD_OK && err != JITRD_ERR_MALFORMED && err != JITRD_ERR_NOMEM) ||
	          (err == JITRD_OK && answer.stale && answer.status != JITRD_CRL_REVOKED);
	if (err == JITRD_ERR_MALFORMED) {
		/* Without readable distribution points nobody can say which CRL covers it. */
		decide(d, JITRD_DECISION_REJECT, reject_status(ctx),
		       "CRL Distribution Points extension unreadable or repeated");
		return 1;
	}
	if (err != JITRD_OK) {
		/* No verified CRL covers it (none for the CA, none current for the partition its
		 * CRL Distribution Points name, or a rollback refused): nothing is known. */
		if (!fail_open || err == JITRD_ERR_NOMEM) {
			decide(d, JITRD_DECISION_DEFER, JITRD_TARGET_LEAVE,
			       err == JITRD_ERR_NOMEM ? "out of memory looking up the CRL"
			                              : "no valid CRL for the CA");
			d->crl_missing = err == JITRD_ERR_NO_CRL;
			return 1;
		}
		*note = "no valid CRL for the CA; crl.fail_open";
		return 0;
	}
	/* A revocation stays true after the CRL that lists it goes stale, so even a stale CRL
	 * revokes, and fail_open never lets a listed certificate in. */
	if (answer.status == JITRD_CRL_REVOKED) {
		snprintf(why, sizeof(why), "listed on the CRL%s: %s",
		         answer.stale ? " (past its nextUpdate)" : "",
		         jitrd_crl_reason_name(answer.reason));
		decide(d, JITRD_DECISION_REVOKE, JITRD_TARGET_REVOKED, why);
		return 1;
	}
	if (answer.stale && !fail_open) {
		/* A hold may have been lifted, or the serial revoked, in a CRL we do not have. */
		decide(d, JITRD_DECISION_DEFER, JITRD_TARGET_LEAVE,
		       "the CA's CRL is past its nextUpdate");
		return 1;
	}
	if (answer.status == JITRD_CRL_HOLD) {
		/* DESIGN §3.6: certificateHold is reversible, so INACTIVE, not REVOKED */
		decide(d, JITRD_DECISION_HOLD, JITRD_TARGET_INACTIVE,
		       answer.stale ? "listed on the CRL (past its nextUpdate): certificateHold"
		                    : "listed on the CRL: certificateHold");
		return 1;
	}
	if (answer.status == JITRD_CRL_REMOVE_FROM_CRL)
		*note = "removed from the CRL (removeFromCRL)";
	if (answer.stale)
		*note =
		    answer.status == JITRD_CRL_REMOVE_FROM_CRL
			? "removed from the CRL (removeFromCRL); the CRL is past its nextUpdate, "
			  "crl.fail_open"
			: "not on the CRL; the CRL is past its nextUpdate, crl.fail_open";
	return 0;
}

/* Whether [ocsp] mode asks the responder about a device the CRL left at silent. */
static bool ocsp_applies(const struct jitrd_decision_context *ctx, bool crl_silent)
{
	return ctx->cfg->ocsp.mode == JITRD_OCSP_MODE_REQUIRE ||
	       (ctx->cfg->ocsp.mode == JITRD_OCSP_MODE_FALLBACK && crl_silent);
}

/* The OCSP step (RFC 6960 §2.2) for a device nothing else stopped. Returns 1 when d holds
 * the decision, 0 when the device goes on (*note then says why). */
static int decide_by_ocsp(const struct jitrd_decision_context *ctx, bool crl_silent,
                          struct jitrd_decision *d, const char **note)
{
	const struct jitrd_ocsp_answer *a = ctx->ocsp;
	char why[sizeof(d->reason)];

	if (!a) {
		decide(d, JITRD_DECISION_DEFER, JITRD_TARGET_LEAVE,
		       "[ocsp] mode needs an OCSP answer and none was asked for");
		d->ocsp_wanted = true;
		return 1;
	}
	switch (a->status) {
	case JITRD_OCSP_GOOD:
		*note = crl_silent ? "no current CRL; OCSP: good" : "not on the CRL; OCSP: good";
		return 0;
	case JITRD_OCSP_REVOKED:
		snprintf(why, sizeof(why), "OCSP: revoked: %s", jitrd_crl_reason_name(a->reason));
		decide(d, JITRD_DECISION_REVOKE, JITRD_TARGET_REVOKED, why);
		return 1;
	case JITRD_OCSP_HOLD:
		/* DESIGN §3.6: certificateHold is reversible, so INACTIVE, not REVOKED */
		decide(d, JITRD_DECISION_HOLD, JITRD_TARGET_INACTIVE, "OCSP: certificateHold");
		return 1;
	default:
		break;
	}
	/* unknown, or no answer that may be trusted: the status is not known */
	if (crl_silent && ctx->cfg->crl.fail_open &&
	    ctx->cfg->ocsp.mode == JITRD_OCSP_MODE_FALLBACK) {
		*note = "no current CRL and no OCSP answer; crl.fail_open";
		return 0;
	}
	snprintf(why, sizeof(why), "OCSP: %s%s%.200s",
	         a->status == JITRD_OCSP_NONE ? "no answer" : jitrd_ocsp_status_name(a->status),
	         *a->why ? ": " : "", a->why);
	decide(d, JITRD_DECISION_DEFER, JITRD_TARGET_LEAVE, why);
	return 1;
}

enum jitrd_err jitrd_decide_ca(const struct jitrd_decision_context *ctx,
                               const struct jitrd_cert *ca, time_t now, struct jitrd_decision *d)
{
	const struct jitrd_caset *anchors = ctx && ctx->cas ? jitrd_caset_anchors(ctx->cas) : NULL;
	struct jitrd_crl_answer answer = {JITRD_CRL_NOT_LISTED, JITRD_CRL_REASON_NONE, false};
	const struct jitrd_cert *issuer;
	char name[120];
	char why[256];
	enum jitrd_err err;

	if (!ctx || !ca || !d)
		return JITRD_ERR_INVALID_ARG;
	d->kind = JITRD_DECISION_ACTIVATE; /* nothing against the CA */
	/* Without anchors the CA is the trust anchor, and no CRL speaks of a trust anchor
	 * (RFC 5280 §6.1.1(d)); a CA configured as an anchor too is one. */
	if (!anchors || jitrd_caset_find_id(anchors, jitrd_cert_id(ca)))
		return JITRD_OK;
	/* A CA under no anchor has no revocation status here: path validation refuses it
	 * (jitrd_caset_verify_device, jitrd_caset_check_ca say so). */
	issuer = jitrd_caset_find_issuer(anchors, ca);
	if (!issuer)
		return JITRD_OK;
	jitrd_name_for_message(jitrd_cert_subject(issuer), name, sizeof(name));
	/* RFC 5280 §6.3: every certificate of the path is checked against its issuer's CRL,
	 * the registered CA against the anchor's. */
	err = ctx->crls ? jitrd_crl_lookup_cert(ctx->crls, issuer, ca, now, &answer)
	                : JITRD_ERR_NO_CRL;
	if (err == JITRD_ERR_NOMEM)
		return err;
	if (err == JITRD_ERR_MALFORMED) {
		decide(d, JITRD_DECISION_REJECT, reject_status(ctx),
		       "its CA's CRL Distribution Points extension is unreadable or repeated");
		return JITRD_OK;
	}
	if (answer.status == JITRD_CRL_REVOKED && err == JITRD_OK) {
		/* The device is not revoked, its CA is: nothing under it is activated, and the
		 * operator must deactivate the CA in AWS IoT (RegisterCACertificate's CA stays
		 * ACTIVE there until someone does). Reject, not revoke: the device's own status
		 * is not jitrd's to settle by its CA's fate. */
		snprintf(why, sizeof(why),
		         "its CA %s is revoked by %s: %s; deactivate the CA in AWS",
		         jitrd_cert_id(ca), name, jitrd_crl_reason_name(answer.reason));
		decide(d, JITRD_DECISION_REJECT, reject_status(ctx), why);
		return JITRD_OK;
	}
	if (err == JITRD_OK && answer.status == JITRD_CRL_HOLD) {
		/* Reversible (RFC 5280 §5.3.1): the device waits until the hold is lifted or made
		 * final. A listed hold is known, so crl.fail_open does not lift it. */
		snprintf(why, sizeof(why), "its CA is on hold (certificateHold) by %s", name);
		decide(d, JITRD_DECISION_DEFER, JITRD_TARGET_LEAVE, why);
		return JITRD_OK;
	}
	if (ctx->cfg->crl.fail_open)
		return JITRD_OK;
	if (err != JITRD_OK) {
		snprintf(why, sizeof(why), "no valid CRL of %s for the CA", name);
		decide(d, JITRD_DECISION_DEFER, JITRD_TARGET_LEAVE, why);
	} else if (answer.stale) {
		snprintf(why, sizeof(why), "the CRL of %s for the CA is past its nextUpdate", name);
		decide(d, JITRD_DECISION_DEFER, JITRD_TARGET_LEAVE, why);
	}
	return JITRD_OK;
}

/* The X.509 certificate policy variables AWS IoT documents ("X.509 Certificate AWS IoT Core
 * policy variables" and "Using X.509 certificate policy variables", AWS IoT Core Developer
 * Guide): the issuer and subject attributes, their alternative names, and two others. AWS
 * substitutes them itself at each request, so jitrd cannot escape what they carry. */
enum cert_variable_source { FROM_NAME, FROM_ALT_NAME, ALWAYS_SAFE };

struct cert_variable {
	const char *name;    /* after "iot:Certificate." */
	const char *display; /* for reasons: "${iot:Certificate.<name>}" */
	enum cert_variable_source source;
	enum jitrd_cert_party party;
	int key; /* a NID (FROM_NAME) or an enum jitrd_alt_name_type (FROM_ALT_NAME) */
};

#define CERT_VAR(n, source, party, key)                                                            \
	{                                                                                          \
		n, "${iot:Certificate." n "}", source, party, key                                  \
	}
#define NAME_VARS(p, party)                                                                        \
	CERT_VAR(p ".CommonName", FROM_NAME, party, NID_commonName),                               \
	    CERT_VAR(p ".Country", FROM_NAME, party, NID_countryName),                             \
	    CERT_VAR(p ".Organization", FROM_NAME, party, NID_organizationName),                   \
	    CERT_VAR(p ".OrganizationalUnit", FROM_NAME, party, NID_organizationalUnitName),       \
	    CERT_VAR(p ".State", FROM_NAME, party, NID_stateOrProvinceName),                       \
	    CERT_VAR(p ".SerialNumber", FROM_NAME, party, NID_serialNumber),                       \
	    CERT_VAR(p ".Title", FROM_NAME, party, NID_title),                                     \
	    CERT_VAR(p ".Surname", FROM_NAME, party, NID_surname),                                 \
	    CERT_VAR(p ".GivenName", FROM_NAME, party, NID_givenName),                             \
	    CERT_VAR(p ".Initials", FROM_NAME, party, NID_initials),                               \
	    CERT_VAR(p ".Pseudonym", FROM_NAME, party, NID_pseudonym),                             \
	    CERT_VAR(p ".GenerationQualifier", FROM_NAME, party, NID_generationQualifier),         \
	    CERT_VAR(p ".DistinguishedNameQualifier", FROM_NAME, party, NID_dnQualifier),          \
	    CERT_VAR(p ".AlternativeName.RFC822Name", FROM_ALT_NAME, party,                        \
	             JITRD_ALT_RFC822_NAME),                                                       \
	    CERT_VAR(p ".AlternativeName.DNSName", FROM_ALT_NAME, party, JITRD_ALT_DNS_NAME),      \
	    CERT_VAR(p ".AlternativeName.DirectoryName", FROM_ALT_NAME, party,                     \
	             JITRD_ALT_DIRECTORY_NAME),                                                    \
	    CERT_VAR(p ".AlternativeName.UniformResourceIdentifier", FROM_ALT_NAME, party,         \
	             JITRD_ALT_URI),                                                               \
	    CERT_VAR(p ".AlternativeName.IPAddress", FROM_ALT_NAME, party, JITRD_ALT_IP_ADDRESS)

static const struct cert_variable cert_variables[] = {
    NAME_VARS("Subject", JITRD_CERT_SUBJECT),
    NAME_VARS("Issuer", JITRD_CERT_ISSUER),
    /* the serial in decimal, and the names of the variables that hold values: neither can
     * carry a character of the certificate's choosing */
    CERT_VAR("SerialNumber", ALWAYS_SAFE, JITRD_CERT_SUBJECT, 0),
    CERT_VAR("AvailableKeys", ALWAYS_SAFE, JITRD_CERT_SUBJECT, 0),
};

static const char CERT_VARIABLE_PREFIX[] = "iot:Certificate";

/* How a policy uses a variable. A multi-valued attribute gives its first value by default,
 * the value at a one-based index with ".N" (".1" is the second), every value with ".List". */
struct cert_variable_use {
	const struct cert_variable *var;
	size_t needed; /* values the certificate must have for AWS to substitute */
};

/* The name of a ${...} reference: up to '}', or to ',' or a space before an IAM default
 * value. 0 when text does not close the reference. */
static size_t variable_name_length(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '}' || text[i] == ',' || text[i] == ' ' || text[i] == '\t')
			return memchr(text + i, '}', len - i) ? i : 0;
	}
	return 0;
}

static bool is_cert_variable(const char *name, size_t len)
{
	size_t n = sizeof(CERT_VARIABLE_PREFIX) - 1;

	return len >= n && strncasecmp(name, CERT_VARIABLE_PREFIX, n) == 0 &&
	       (len == n || name[n] == '.');
}

/* 0 with *use filled when name (a certificate variable, len bytes) is one AWS documents,
 * with an optional ".List" or ".N" suffix on an attribute; -1 otherwise. Names are compared
 * without regard to case. */
static int parse_cert_variable(const char *name, size_t len, struct cert_variable_use *use)
{
	size_t skip = sizeof(CERT_VARIABLE_PREFIX); /* the prefix and its '.' */
	const char *rest = name + skip;
	size_t rest_len = len > skip ? len - skip : 0;

	if (len <= skip)
		return -1;
	for (size_t i = 0; i < sizeof(cert_variables) / sizeof(cert_variables[0]); i++) {
		const struct cert_variable *v = &cert_variables[i];
		size_t n = strlen(v->name);
		const char *suffix = rest + n;
		size_t suffix_len = rest_len - n;

		if (rest_len < n || strncasecmp(rest, v->name, n) != 0)
			continue;
		if (suffix_len == 0) {
			use->var = v;
			use->needed = 1;
			return 0;
		}
		if (suffix[0] != '.' || v->source == ALWAYS_SAFE)
			continue;
		if (suffix_len == 5 && strncasecmp(suffix, ".List", 5) == 0) {
			use->var = v;
			use->needed = 1;
			return 0;
		}
		/* ".N": AWS keeps five values of an array, so a few digits are plenty */
		if (suffix_len >= 2 && suffix_len <= 4 &&
		    strspn(suffix + 1, "0123456789") == suffix_len - 1) {
			size_t index = 0;
			for (size_t k = 1; k < suffix_len; k++)
				index = index * 10 + (size_t)(suffix[k] - '0');
			use->var = v;
			use->needed = index + 1;
			return 0;
		}
	}
	return -1;
}

/* Calls fn for every certificate variable referenced in text (a policy string or the whole
 * rendered document), with its name ("iot:Certificate...."); stops at fn's non-zero answer. */
static int each_cert_variable(const char *text, size_t len,
                              int (*fn)(void *ctx, const char *name, size_t len), void *ctx)
{
	for (size_t i = 0; i + 1 < len; i++) {
		size_t name_len;
		int rc;

		if (text[i] != '$' || text[i + 1] != '{')
			continue;
		name_len = variable_name_length(text + i + 2, len - i - 2);
		if (!is_cert_variable(text + i + 2, name_len))
			continue;
		if ((rc = fn(ctx, text + i + 2, name_len)) != 0)
			return rc;
	}
	return 0;
}

/* AWS leaves a value with a wildcard unsubstituted; '/' would still reach into another
 * device's topic tree, and none of these belongs in an identity: control characters (C0, DEL,
 * C1), invalid UTF-8, "/ + # * ? $ { }". */
static bool value_is_safe(const char *value, size_t len)
{
	const unsigned char *v = (const unsigned char *)value;

	if (jitrd_utf8_invalid_at(value, len) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < 0x20 || v[i] == 0x7f || strchr("/+#*?${}", v[i]))
			return false;
		if (v[i] == 0xc2 && i + 1 < len && v[i + 1] < 0xa0)
			return false;
	}
	return true;
}

struct value_scan {
	bool unsafe;
};

static int scan_value(void *ctx, const char *value, size_t len)
{
	struct value_scan *scan = ctx;

	if (!value_is_safe(value, len)) {
		scan->unsafe = true;
		return 1;
	}
	return 0;
}

struct document_scan {
	const struct jitrd_cert *cert;
	const char *problem; /* the variable at fault */
};

static int check_cert_variable(void *ctx, const char *name, size_t len)
{
	struct document_scan *ds = ctx;
	struct cert_variable_use use;
	struct value_scan scan = {false};
	size_t count = 0;
	enum jitrd_err err;

	if (parse_cert_variable(name, len, &use) != 0) {
		/* refused at start-up (jitrd_decision_check_templates); never guessed at */
		ds->problem = "an ${iot:Certificate.*} variable AWS does not document";
		return 1;
	}
	if (use.var->source == ALWAYS_SAFE)
		return 0;
	/* Every value is checked, not only the ones this reference names: the plain form and
	 * ".N" pick one, ".List" takes all, and all are the certificate's to choose. */
	err = use.var->source == FROM_NAME
	          ? jitrd_cert_name_values(ds->cert, use.var->party, use.var->key, scan_value,
	                                   &scan, &count)
	          : jitrd_cert_alt_name_values(ds->cert, use.var->party,
	                                       (enum jitrd_alt_name_type)use.var->key, scan_value,
	                                       &scan, &count);
	/* absent (AWS would leave the variable unsubstituted), unreadable or unsafe */
	if (err != JITRD_OK || scan.unsafe || count < use.needed) {
		ds->problem = use.var->display;
		return 1;
	}
	return 0;
}

/* IoT substitutes ${iot:Certificate.*} itself when a device connects, so jitrd cannot escape
 * those values: a Common Name like "a/b" or "+" would land inside another device's topic
 * tree or add a wildcard. A certificate whose value behind any variable the policy uses is
 * absent or would do that is not activated. Returns the variable at fault, or NULL. */
static const char *unsafe_iot_subject_variable(const char *document, const struct jitrd_cert *cert)
{
	struct document_scan ds = {cert, NULL};

	each_cert_variable(document, strlen(document), check_cert_variable, &ds);
	return ds.problem;
}

struct template_scan {
	char unknown[160];
};

static int find_unknown_variable(void *ctx, const char *name, size_t len)
{
	struct template_scan *ts = ctx;
	struct cert_variable_use use;

	if (parse_cert_variable(name, len, &use) == 0)
		return 0;
	jitrd_quote(ts->unknown, sizeof(ts->unknown), name, len);
	return 1;
}

static int template_string_unknown(void *ctx, const char *text, size_t len)
{
	return each_cert_variable(text, len, find_unknown_variable, ctx);
}

const char *jitrd_decision_context_problem(const struct jitrd_decision_context *ctx)
{
	static const char *const account_users[] = {"aws.account", "certificate.arn"};
	static const char *const region_users[] = {"aws.region", "certificate.arn"};
	const char *names[] = {ctx->cfg->provision.policy_name, ctx->cfg->provision.thing_name};

	for (size_t i = 0; i < 2; i++) {
		const char *const *users = i == 0 ? account_users : region_users;
		const char *value = i == 0 ? ctx->account_id : ctx->region;
		if (value && *value)
			continue;
		for (size_t u = 0; u < 2; u++) {
			if ((ctx->policy_template &&
			     jitrd_policy_template_uses(ctx->policy_template, users[u])) ||
			    jitrd_name_template_uses(names[0], users[u]) ||
			    jitrd_name_template_uses(names[1], users[u]))
				return i == 0
				           ? "the templates use {{aws.account}} or "
				             "{{certificate.arn}} "
				             "but no AWS account id is known: set [aws] account_id"
				           : "the templates use {{aws.region}} or "
				             "{{certificate.arn}} "
				             "but no region is known: set [aws] region";
		}
	}
	return NULL;
}

enum jitrd_err jitrd_decision_check_templates(const struct jitrd_decision_context *ctx,
                                              struct jitrd_diag *diag)
{
	/* Placeholders that differ between devices. A policy name is what makes a document
	 * unique in AWS ("already exists" counts as success, DESIGN §3.7), so a document that
	 * differs per device under a name that does not would hand every later device the first
	 * device's grant. */
	static const char *const per_device[] = {
	    "certificate.id", "certificate.arn", "certificate.serial", "ca.id",
	    "thing.name",     "subject.CN",      "subject.O",          "subject.OU",
	    "subject.C",      "subject.ST",      "subject.L",          "subject.serialNumber",
	};
	const char *name = ctx->cfg->provision.policy_name;
	struct template_scan scan = {""};

	/* A certificate variable AWS does not document would stay unsubstituted and the grant
	 * would silently never match; one misspelt would escape the value check below. */
	if (ctx->policy_template && jitrd_policy_template_each_string(
					ctx->policy_template, template_string_unknown, &scan)) {
		jitrd_diag_set(diag,
		               "[provision] policy_template uses ${%s}, which is not one of the "
		               "X.509 certificate policy variables AWS IoT documents",
		               scan.unknown);
		return JITRD_ERR_CONFIG;
	}
	if (!ctx->policy_template || jitrd_name_template_uses(name, "certificate.id"))
		return JITRD_OK;
	for (size_t i = 0; i < sizeof(per_device) / sizeof(per_device[0]); i++) {
		if (jitrd_policy_template_uses(ctx->policy_template, per_device[i]) &&
		    !jitrd_name_template_uses(name, per_device[i])) {
			/* certificate.id is the one remedy for both certificate placeholders: an
			 * ARN holds ':' and '/', which no policy name may. */
			bool by_id = strcmp(per_device[i], "certificate.id") == 0 ||
			             strcmp(per_device[i], "certificate.arn") == 0;
			jitrd_diag_set(
			    diag,
			    "[provision] policy_name \"%.128s\" does not use {{%s}} but the "
			    "policy document does: devices with different documents would "
			    "share one policy; add %s%s%s to the name",
			    name, per_device[i], by_id ? "{{certificate.id}}" : "{{",
			    by_id ? "" : per_device[i], by_id ? "" : "}} (or {{certificate.id}})");
			return JITRD_ERR_CONFIG;
		}
	}
	return JITRD_OK;
}

enum jitrd_err jitrd_decide_certificate(const struct jitrd_decision_context *ctx,
                                        const struct jitrd_cert *cert, const char *ca_id,
                                        time_t now, struct jitrd_decision *d)
{
	const struct jitrd_cert *ca;
	struct jitrd_diag diag = {{0}};
	const char *crl_note = "";
	const char *problem;
	struct jitrd_decision of_ca;
	bool crl_silent = false;
	int device_decided;
	enum jitrd_err err;

	describe_certificate(d, cert);
	problem = jitrd_decision_context_problem(ctx);
	if (problem) {
		jitrd_text_copy(d->reason, sizeof(d->reason), problem);
		return JITRD_ERR_CONFIG;
	}

	/* Step 2: the CA must be ours. Without a claimed id the issuer is looked up by name
	 * and key id; a same-name impostor has another key id and is not found. */
	ca = ca_id ? jitrd_caset_find_id(ctx->cas, ca_id) : jitrd_caset_find_issuer(ctx->cas, cert);
	if (!ca) {
		decide(d, JITRD_DECISION_IGNORE, JITRD_TARGET_LEAVE,
		       "issuer is not one of our CAs");
		return JITRD_OK;
	}
	jitrd_text_copy(d->ca_id, sizeof(d->ca_id), jitrd_cert_id(ca));
	if (!jitrd_config_ca_allowed(ctx->cfg, d->ca_id)) {
		decide(d, JITRD_DECISION_IGNORE, JITRD_TARGET_LEAVE, "CA not in ca.allow");
		return JITRD_OK;
	}

	/* Step 5: a device certificate (not a CA, fit for a TLS client) whose path to that CA
	 * passes OpenSSL's verifier (RFC 5280 §6.1) at `now`. Running out of memory or a
	 * verifier failure is no verdict on the device: the event fails and is retried. */
	err = jitrd_caset_verify_device(ctx->cas, ca, cert, now, &diag);
	if (err == JITRD_ERR_NOMEM || err == JITRD_ERR_CRYPTO || err == JITRD_ERR_INVALID_ARG) {
		jitrd_text_copy(d->reason, sizeof(d->reason),
		                *diag.text ? diag.text : jitrd_strerror(err));
		return err;
	}
	if (err != JITRD_OK) {
		decide(d, JITRD_DECISION_REJECT, reject_status(ctx),
		       *diag.text ? diag.text : jitrd_strerror(err));
		d->time_may_change =
		    err == JITRD_ERR_CERT_NOT_YET_VALID || err == JITRD_ERR_CA_UNUSABLE;
		return JITRD_OK;
	}

	/* Step 6, for the device and then, with [ca] anchors, for its CA: a device listed on its
	 * CA's CRL is revoked; otherwise a CA revoked by its anchor rejects (and a CA whose
	 * revocation status is unknown defers) whatever the device's own CRL said. */
	device_decided = decide_by_crl(ctx, ca, cert, now, d, &crl_note, &crl_silent);
	if (device_decided && d->kind == JITRD_DECISION_REVOKE)
		return JITRD_OK;
	jitrd_decision_init(&of_ca);
	err = jitrd_decide_ca(ctx, ca, now, &of_ca);
	if (err != JITRD_OK) {
		jitrd_text_copy(d->reason, sizeof(d->reason), "out of memory looking up the CRL");
		return err;
	}
	if (of_ca.kind == JITRD_DECISION_REJECT) {
		decide(d, of_ca.kind, of_ca.target_status, of_ca.reason);
		return JITRD_OK;
	}
	/* A device the CRL left undecided (a defer for want of a current CRL) waits for OCSP
	 * when the mode asks; any other decision of the CRL stands. */
	if (device_decided && !(crl_silent && ocsp_applies(ctx, crl_silent)))
		return JITRD_OK;
	if (of_ca.kind != JITRD_DECISION_ACTIVATE) {
		decide(d, of_ca.kind, of_ca.target_status, of_ca.reason);
		return JITRD_OK;
	}
	/* OCSP only for a device nothing else stopped: no request is wasted on the rest. */
	if (ocsp_applies(ctx, crl_silent) && decide_by_ocsp(ctx, crl_silent, d, &crl_note))
		return JITRD_OK;

	/* Step 7's rendering: a certificate whose names or policy cannot be rendered safely is
	 * not activated. */
	err = jitrd_decision_render(ctx, cert, d->ca_id, d, &diag);
	if (err == JITRD_ERR_NOMEM)
		return err;
	if (err == JITRD_OK && d->policy_document) {
		const char *variable = unsafe_iot_subject_variable(d->policy_document, cert);
		if (variable) {
			jitrd_diag_set(&diag,
			               "the policy uses %s and this certificate's value is absent, "
			               "ambiguous or holds a character that would widen the grant",
			               variable);
			err = JITRD_ERR_FORBIDDEN_CHAR;
		}
	}
	if (err != JITRD_OK) {
		jitrd_decision_cleanup(d);
		d->policy_name[0] = d->thing_name[0] = '\0';
		decide(d, JITRD_DECISION_REJECT, reject_status(ctx),
		       *diag.text ? diag.text : jitrd_strerror(err));
		return JITRD_OK;
	}
	d->kind = JITRD_DECISION_ACTIVATE;
	d->target_status = JITRD_TARGET_ACTIVE;
	jitrd_text_copy(d->reason, sizeof(d->reason), crl_note);
	return JITRD_OK;
}
