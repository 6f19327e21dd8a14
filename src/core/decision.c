/* decision.c — DESIGN §3 steps 2, 5, 6 and the rendering of step 7 for one certificate.
 * Pure: reads only what the context hands in; the API calls that carry a decision out
 * belong to the pipeline, not here. */
#include "jitrd/decision.h"
#include "jitrd/text.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Records a decision; reason is copied (truncated to fit). */
static void decide(struct jitrd_decision *d, enum jitrd_decision_kind kind, const char *status,
                   const char *reason)
{
	d->kind = kind;
	d->target_status = status;
	jitrd_text_copy(d->reason, sizeof(d->reason), reason);
}

int jitrd_decide_filter(const struct jitrd_decision_context *ctx, const struct jitrd_event *ev,
                        struct jitrd_decision *d)
{
	char quoted[96];
	char reason[160];

	jitrd_text_copy(d->ca_id, sizeof(d->ca_id), ev->ca_certificate_id);
	if (strcmp(ev->certificate_status, STATUS_PENDING) != 0) {
		jitrd_quote(quoted, sizeof(quoted), ev->certificate_status,
		            strlen(ev->certificate_status));
		snprintf(reason, sizeof(reason), "status %s is not PENDING_ACTIVATION", quoted);
		decide(d, JITRD_DECISION_IGNORE, NULL, reason);
		return 1;
	}
	if (!jitrd_caset_find_id(ctx->cas, ev->ca_certificate_id)) {
		decide(d, JITRD_DECISION_IGNORE, NULL, "not one of our CAs");
		return 1;
	}
	if (!jitrd_config_ca_allowed(ctx->cfg, ev->ca_certificate_id)) {
		decide(d, JITRD_DECISION_IGNORE, NULL, "CA not in ca.allow");
		return 1;
	}
	return 0;
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

static const char *reject_status(const struct jitrd_decision_context *ctx)
{
	return ctx->cfg->provision.on_reject == JITRD_ON_REJECT_REVOKE ? "REVOKED" : NULL;
}

/* Step 6: the CRL decision by issuer and serial. Returns 1 when d holds the decision, 0 when
 * the certificate goes on to provisioning (*note then says what the CRL said). */
static int decide_by_crl(const struct jitrd_decision_context *ctx, const struct jitrd_cert *ca,
                         const struct jitrd_cert *cert, time_t now, struct jitrd_decision *d,
                         const char **note)
{
	struct jitrd_crl_answer answer = {JITRD_CRL_NOT_LISTED, JITRD_CRL_REASON_NONE, false};
	bool fail_open = ctx->cfg->crl.fail_open;
	enum jitrd_err err =
	    ctx->crls ? jitrd_crl_lookup(ctx->crls, ca, jitrd_cert_serial(cert), now, &answer)
		      : JITRD_ERR_NO_CRL;
	char why[128];

	*note = "not on the CRL";
	if (err != JITRD_OK) {
		/* No verified CRL at all: nothing is known about this serial. */
		if (!fail_open) {
			decide(d, JITRD_DECISION_DEFER, NULL, "no valid CRL for the CA");
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
		decide(d, JITRD_DECISION_REVOKE, "REVOKED", why);
		return 1;
	}
	if (answer.stale && !fail_open) {
		/* A hold may have been lifted, or the serial revoked, in a CRL we do not have. */
		decide(d, JITRD_DECISION_DEFER, NULL, "the CA's CRL is past its nextUpdate");
		return 1;
	}
	if (answer.status == JITRD_CRL_HOLD) {
		/* DESIGN §3.6: certificateHold is reversible, so INACTIVE, not REVOKED */
		decide(d, JITRD_DECISION_HOLD, "INACTIVE",
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

/* IoT substitutes ${iot:Certificate.Subject.X} itself when a device connects, so jitrd cannot
 * escape those values: a Common Name like "a/b" or "+" would land inside another device's
 * topic tree or add a wildcard. A certificate whose field would do that is not activated. */
static const char *unsafe_iot_subject_variable(const char *document, const struct jitrd_cert *cert)
{
	static const struct {
		const char *variable;
		enum jitrd_subject_field field;
	} variables[] = {
	    {"${iot:Certificate.Subject.CommonName}", JITRD_SUBJECT_CN},
	    {"${iot:Certificate.Subject.Organization}", JITRD_SUBJECT_O},
	    {"${iot:Certificate.Subject.OrganizationalUnit}", JITRD_SUBJECT_OU},
	    {"${iot:Certificate.Subject.Country}", JITRD_SUBJECT_C},
	    {"${iot:Certificate.Subject.State}", JITRD_SUBJECT_ST},
	    {"${iot:Certificate.Subject.Locality}", JITRD_SUBJECT_L},
	    {"${iot:Certificate.Subject.SerialNumber}", JITRD_SUBJECT_SERIAL_NUMBER},
	};

	for (size_t i = 0; i < sizeof(variables) / sizeof(variables[0]); i++) {
		const char *value = NULL;
		if (!strstr(document, variables[i].variable))
			continue;
		if (jitrd_cert_subject_field(cert, variables[i].field, &value) != JITRD_OK)
			return variables[i].variable; /* absent or ambiguous: AWS would not match */
		for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
			if (*c < 0x20 || *c == 0x7f || strchr("/+#*?${}", *c))
				return variables[i].variable;
		}
	}
	return NULL;
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
		decide(d, JITRD_DECISION_IGNORE, NULL, "issuer is not one of our CAs");
		return JITRD_OK;
	}
	jitrd_text_copy(d->ca_id, sizeof(d->ca_id), jitrd_cert_id(ca));
	if (!jitrd_config_ca_allowed(ctx->cfg, d->ca_id)) {
		decide(d, JITRD_DECISION_IGNORE, NULL, "CA not in ca.allow");
		return JITRD_OK;
	}

	/* Step 5: signed by that CA's key, within its validity, not a CA itself. */
	err = jitrd_cert_check_device(cert, ca, now, &diag);
	if (err != JITRD_OK) {
		decide(d, JITRD_DECISION_REJECT, reject_status(ctx),
		       *diag.text ? diag.text : jitrd_strerror(err));
		return JITRD_OK;
	}

	if (decide_by_crl(ctx, ca, cert, now, d, &crl_note))
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
	d->target_status = "ACTIVE";
	jitrd_text_copy(d->reason, sizeof(d->reason), crl_note);
	return JITRD_OK;
}
