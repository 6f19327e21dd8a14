/* decision.c — DESIGN §3 steps 2, 5, 6 and the rendering of step 7 for one certificate.
 * Pure: reads only what the context hands in; the API calls that carry a decision out
 * belong to the pipeline, not here. */
#include "jitrd/decision.h"

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

/* Copies src into dst, truncated to fit on a UTF-8 character boundary. */
static void copy_text(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	if (src[n] != '\0')
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Records a decision; reason is copied (truncated to fit). */
static void decide(struct jitrd_decision *d, enum jitrd_decision_kind kind, const char *status,
                   const char *reason)
{
	d->kind = kind;
	d->target_status = status;
	copy_text(d->reason, sizeof(d->reason), reason);
}

int jitrd_decide_filter(const struct jitrd_decision_context *ctx, const struct jitrd_event *ev,
                        struct jitrd_decision *d)
{
	char quoted[96];
	char reason[160];

	copy_text(d->ca_id, sizeof(d->ca_id), ev->ca_certificate_id);
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

	copy_text(d->serial, sizeof(d->serial), jitrd_cert_serial_hex(cert));
	if (jitrd_cert_subject_field(cert, JITRD_SUBJECT_CN, &cn) == JITRD_OK)
		copy_text(d->subject_cn, sizeof(d->subject_cn), cn);
	else
		d->subject_cn[0] = '\0';
}

static const char *reject_status(const struct jitrd_decision_context *ctx)
{
	return ctx->cfg->provision.on_reject == JITRD_ON_REJECT_REVOKE ? "REVOKED" : NULL;
}

enum jitrd_err jitrd_decide_certificate(const struct jitrd_decision_context *ctx,
                                        const struct jitrd_cert *cert, const char *ca_id,
                                        time_t now, struct jitrd_decision *d)
{
	const struct jitrd_cert *ca;
	struct jitrd_diag diag = {{0}};
	enum jitrd_crl_status listed = JITRD_CRL_NOT_LISTED;
	int reason = JITRD_CRL_REASON_NONE;
	enum jitrd_err err;
	const char *crl_note = "";

	describe_certificate(d, cert);

	/* Step 2: the CA must be ours. Without a claimed id the issuer is looked up by name
	 * and key id; a same-name impostor has another key id and is not found. */
	ca = ca_id ? jitrd_caset_find_id(ctx->cas, ca_id) : jitrd_caset_find_issuer(ctx->cas, cert);
	if (!ca) {
		decide(d, JITRD_DECISION_IGNORE, NULL, "issuer is not one of our CAs");
		return JITRD_OK;
	}
	copy_text(d->ca_id, sizeof(d->ca_id), jitrd_cert_id(ca));
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

	/* Step 6: CRL decision by issuer and serial. */
	err = ctx->crls
	          ? jitrd_crl_lookup(ctx->crls, ca, jitrd_cert_serial(cert), now, &listed, &reason)
	          : JITRD_ERR_NO_CRL;
	if (err == JITRD_ERR_NO_CRL || err == JITRD_ERR_CRL_EXPIRED) {
		if (!ctx->cfg->crl.fail_open) {
			decide(d, JITRD_DECISION_DEFER, NULL,
			       err == JITRD_ERR_NO_CRL ? "no valid CRL for the CA"
			                               : "the CA's CRL is past its nextUpdate");
			return JITRD_OK;
		}
		crl_note = "; no valid CRL, crl.fail_open";
		listed = JITRD_CRL_NOT_LISTED;
	} else if (err != JITRD_OK) {
		return err;
	}
	if (listed == JITRD_CRL_REVOKED) {
		char why[96];
		snprintf(why, sizeof(why), "listed on the CRL: %s", jitrd_crl_reason_name(reason));
		decide(d, JITRD_DECISION_REVOKE, "REVOKED", why);
		return JITRD_OK;
	}
	if (listed == JITRD_CRL_HOLD) {
		/* DESIGN §3.6: certificateHold is reversible, so INACTIVE, not REVOKED */
		decide(d, JITRD_DECISION_HOLD, "INACTIVE", "listed on the CRL: certificateHold");
		return JITRD_OK;
	}

	/* Step 7's rendering: a certificate whose names or policy cannot be rendered safely is
	 * not activated. */
	err = jitrd_decision_render(ctx, cert, d->ca_id, d, &diag);
	if (err == JITRD_ERR_NOMEM)
		return err;
	if (err != JITRD_OK) {
		decide(d, JITRD_DECISION_REJECT, reject_status(ctx),
		       *diag.text ? diag.text : jitrd_strerror(err));
		return JITRD_OK;
	}
	d->kind = JITRD_DECISION_ACTIVATE;
	d->target_status = "ACTIVE";
	snprintf(d->reason, sizeof(d->reason), "%s%s",
	         listed == JITRD_CRL_REMOVE_FROM_CRL ? "removed from the CRL (removeFromCRL)"
	                                             : "not on the CRL",
	         crl_note);
	return JITRD_OK;
}
