/* crl_sweep.c — `jitrd crl sweep` (DESIGN §4.6): our CAs' ACTIVE certificates, and the
 * INACTIVE ones jitrd held, checked against the current CRLs: revoked, held, or (a hold
 * lifted) decided again and re-activated. It never acts on a CA without a current CRL. */
#include "operator_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>

#include "jitrd/arn.h"
#include "jitrd/clock.h"
#include "jitrd/crl.h"
#include "jitrd/decision.h"
#include "jitrd/operator.h"
#include "jitrd/pipeline.h"
#include "jitrd/text.h"

struct sweep {
	const struct jitrd_sweep_options *o;
	struct jitrd_sweep_summary *sum;
	struct jitrd_decision_context ctx;
	struct jitrd_pipeline *pipeline; /* provisioning when a hold is lifted */
};

static void say(struct sweep *sw, enum jitrd_sweep_line kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(struct sweep *sw, enum jitrd_sweep_line kind, const char *fmt, ...)
{
	char text[768];
	va_list ap;

	if (!sw->o->line)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	sw->o->line(sw->o->ctx, kind, text);
}

static int64_t sweep_deadline(const struct sweep *sw)
{
	return jitrd_iot_deadline_in(sw->o->request_timeout_ms);
}

/* The certificate as AWS has it: parsed, its id and issuer checked. */
static enum jitrd_err describe_cert(struct sweep *sw, const struct jitrd_cert *ca, const char *id,
                                    struct jitrd_iot_certificate *described,
                                    struct jitrd_cert **out, char *why, size_t why_size)
{
	struct jitrd_iot_result res = {0};
	struct jitrd_diag diag = {{0}};
	struct jitrd_cert *cert = NULL;
	enum jitrd_err err;

	err = jitrd_iot_describe_certificate(sw->o->session, sweep_deadline(sw), id, described,
	                                     &res, &diag);
	if (err != JITRD_OK) {
		operator_describe_failure(why, why_size, "DescribeCertificate", err, &res, &diag);
		return err;
	}
	err = described->certificate_pem
	          ? jitrd_cert_from_pem(described->certificate_pem,
	                                strlen(described->certificate_pem), &cert, &diag)
	          : JITRD_ERR_MISSING_FIELD;
	if (err != JITRD_OK) {
		snprintf(why, why_size, "DescribeCertificate: certificatePem: %.400s",
		         diag.text[0] ? diag.text : jitrd_strerror(err));
		return err;
	}
	/* AWS forms the id from the DER; a mismatch means the answer is not about it */
	if (strcmp(jitrd_cert_id(cert), id) != 0 ||
	    jitrd_cert_verify_signed_by(cert, ca) != JITRD_OK) {
		snprintf(why, why_size,
		         "DescribeCertificate: the certificate returned is not %s "
		         "of this CA",
		         id);
		jitrd_cert_free(cert);
		return JITRD_ERR_BAD_RESPONSE;
	}
	*out = cert;
	return JITRD_OK;
}

static void inventory_put(struct sweep *sw, const struct jitrd_journal_cert *row)
{
	if (sw->o->dry_run)
		return;
	/* the inventory is a cache: losing a row costs one describe on the next sweep */
	if (jitrd_journal_cert_upsert(sw->o->journal, row, NULL) != JITRD_OK)
		say(sw, JITRD_SWEEP_NOTICE, "%s: could not be written to the inventory",
		    row->certificate_id);
}

/* The serial of a certificate: from the inventory row, else described once and inventoried. */
static int find_serial(struct sweep *sw, const struct jitrd_cert *ca, const char *ca_id,
                       const struct operator_listed_cert *lc, struct jitrd_journal_cert *row,
                       bool found)
{
	struct jitrd_iot_certificate described = {0};
	struct jitrd_cert *cert = NULL;
	const char *cn = NULL;
	char why[512];

	if (found && row->serial_hex[0])
		return 0;
	sw->sum->described++;
	if (describe_cert(sw, ca, lc->id, &described, &cert, why, sizeof(why)) != JITRD_OK) {
		jitrd_iot_certificate_cleanup(&described);
		sw->sum->failed++;
		say(sw, JITRD_SWEEP_FAILURE, "%s: %s", lc->id, why);
		return -1;
	}
	if (!found) {
		memset(row, 0, sizeof(*row));
		jitrd_text_copy(row->certificate_id, sizeof(row->certificate_id), lc->id);
	}
	jitrd_text_copy(row->ca_id, sizeof(row->ca_id), ca_id);
	jitrd_text_copy(row->serial_hex, sizeof(row->serial_hex), jitrd_cert_serial_hex(cert));
	if (jitrd_cert_subject_field(cert, JITRD_SUBJECT_CN, &cn) == JITRD_OK)
		jitrd_text_copy(row->subject_cn, sizeof(row->subject_cn), cn);
	jitrd_text_copy(row->status, sizeof(row->status), jitrd_iot_status_name(lc->status));
	row->updated_ms = jitrd_clock_wall_ms();
	inventory_put(sw, row);
	jitrd_iot_certificate_cleanup(&described);
	jitrd_cert_free(cert);
	return 0;
}

static enum jitrd_err lookup_serial(const struct jitrd_crl_store *crls, const struct jitrd_cert *ca,
                                    const char *serial_hex, time_t now,
                                    struct jitrd_crl_answer *answer)
{
	enum jitrd_err result = JITRD_ERR_BAD_FIELD;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;

	if (BN_hex2bn(&bn, serial_hex) != (int)strlen(serial_hex) || !bn)
		goto cleanup;
	serial = BN_to_ASN1_INTEGER(bn, NULL);
	if (!serial) {
		result = JITRD_ERR_NOMEM;
		goto cleanup;
	}
	result = jitrd_crl_lookup(crls, ca, serial, now, answer);
cleanup:
	ERR_clear_error();
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return result;
}

/* UpdateCertificate, its line and the inventory row afterwards. true when it was made (or,
 * in a dry run, would be). */
static bool change_status(struct sweep *sw, struct jitrd_journal_cert *row,
                          enum jitrd_iot_status status, const char *verb, const char *decision,
                          const char *why)
{
	struct jitrd_iot_result res = {0};
	struct jitrd_diag diag = {{0}};
	enum jitrd_err err;
	char text[512];

	if (sw->o->dry_run) {
		say(sw, JITRD_SWEEP_CHANGE, "would %s %s serial %s (%s)", verb, row->certificate_id,
		    row->serial_hex, why);
		return true;
	}
	err = jitrd_iot_update_certificate(sw->o->session, sweep_deadline(sw), row->certificate_id,
	                                   status, &res, &diag);
	if (err != JITRD_OK) {
		operator_describe_failure(text, sizeof(text), "UpdateCertificate", err, &res,
		                          &diag);
		sw->sum->failed++;
		say(sw, JITRD_SWEEP_FAILURE, "could not %s %s serial %s (%s): %s", verb,
		    row->certificate_id, row->serial_hex, why, text);
		return false;
	}
	say(sw, JITRD_SWEEP_CHANGE, "%s %s serial %s (%s): %s", verb, row->certificate_id,
	    row->serial_hex, why, jitrd_iot_status_name(status));
	jitrd_text_copy(row->status, sizeof(row->status), jitrd_iot_status_name(status));
	jitrd_text_copy(row->last_decision, sizeof(row->last_decision), decision);
	row->updated_ms = jitrd_clock_wall_ms();
	inventory_put(sw, row);
	return true;
}

/* A hold that was lifted: DESIGN §3 again (validity, signature, CRL, templates), then the
 * Thing and policy the device would have had, then ACTIVE. A certificate held straight from
 * PENDING_ACTIVATION never got its policy, so this is not a bare status change. */
static void reactivate(struct sweep *sw, const struct jitrd_cert *ca, const char *ca_id,
                       struct jitrd_journal_cert *row, const char *why)
{
	struct jitrd_iot_certificate described = {0};
	struct jitrd_decision d;
	struct jitrd_decision_context ctx;
	struct jitrd_cert *cert = NULL;
	enum jitrd_err err;
	char account[13];
	char text[512];

	jitrd_decision_init(&d);
	if (describe_cert(sw, ca, row->certificate_id, &described, &cert, text, sizeof(text)) !=
	    JITRD_OK) {
		sw->sum->failed++;
		say(sw, JITRD_SWEEP_FAILURE, "could not re-activate %s: %s", row->certificate_id,
		    text);
		goto cleanup;
	}
	/* The account the templates need comes from the certificate itself when the
	 * configuration does not name one (the service takes it from each event). */
	jitrd_arn_account(described.certificate_arn, sw->ctx.account_id, account);
	ctx = sw->ctx;
	ctx.account_id = account;
	/* with [ocsp] mode, the responder is asked as for an event */
	err = jitrd_pipeline_decide(sw->pipeline, &ctx, cert, ca_id, sw->o->now, sweep_deadline(sw),
	                            &d);
	if (err != JITRD_OK || d.kind != JITRD_DECISION_ACTIVATE) {
		sw->sum->not_reactivated++;
		say(sw, JITRD_SWEEP_NOTICE, "%s serial %s: hold lifted but not re-activated: %s",
		    row->certificate_id, row->serial_hex,
		    d.reason[0] ? d.reason : jitrd_strerror(err));
		goto cleanup;
	}
	/* the policy and Thing go to this ARN: it must name this certificate */
	if (!jitrd_arn_names_certificate(described.certificate_arn, row->certificate_id)) {
		sw->sum->failed++;
		say(sw, JITRD_SWEEP_FAILURE,
		    "could not re-activate %s: DescribeCertificate returned a certificateArn that "
		    "does not name it",
		    row->certificate_id);
		goto cleanup;
	}
	if (!sw->o->dry_run) {
		struct jitrd_pipeline_result provisioned = {0};
		if (jitrd_pipeline_provision(sw->pipeline, sw->o->session, sweep_deadline(sw), &d,
		                             described.certificate_arn, &provisioned) != JITRD_OK) {
			sw->sum->failed++;
			say(sw, JITRD_SWEEP_FAILURE, "could not re-activate %s: %s",
			    row->certificate_id, provisioned.reason);
			goto cleanup;
		}
	}
	if (change_status(sw, row, JITRD_IOT_ACTIVE, "re-activate", "activate", why))
		sw->sum->reactivated++;
cleanup:
	jitrd_decision_cleanup(&d);
	jitrd_iot_certificate_cleanup(&described);
	jitrd_cert_free(cert);
}

/* One certificate of a CA with a current CRL. */
static void sweep_cert(struct sweep *sw, const struct jitrd_cert *ca, const char *ca_id,
                       const struct operator_listed_cert *lc)
{
	struct jitrd_journal_cert row;
	struct jitrd_crl_answer answer;
	bool found = false, held_by_us;
	char why[96];

	if (lc->status != JITRD_IOT_ACTIVE && lc->status != JITRD_IOT_INACTIVE)
		return;
	memset(&row, 0, sizeof(row));
	if (jitrd_journal_cert_get(sw->o->journal, lc->id, &row, &found, NULL) != JITRD_OK)
		found = false; /* a cache miss: describe instead */
	held_by_us = found && strcmp(row.last_decision, "hold") == 0;
	/* an INACTIVE certificate jitrd did not hold is someone else's decision: never touched */
	if (lc->status == JITRD_IOT_INACTIVE && !held_by_us)
		return;
	if (find_serial(sw, ca, ca_id, lc, &row, found) != 0)
		return;
	sw->sum->checked++;
	if (lookup_serial(sw->o->rt->crls, ca, row.serial_hex, sw->o->now, &answer) != JITRD_OK) {
		sw->sum->failed++;
		say(sw, JITRD_SWEEP_FAILURE, "%s: serial %s could not be looked up", lc->id,
		    row.serial_hex);
		return;
	}
	if (answer.status == JITRD_CRL_REVOKED) {
		snprintf(why, sizeof(why), "CRL: %s", jitrd_crl_reason_name(answer.reason));
		if (change_status(sw, &row, JITRD_IOT_REVOKED, "revoke", "revoke", why))
			sw->sum->revoked++;
	} else if (answer.status == JITRD_CRL_HOLD) {
		if (lc->status == JITRD_IOT_ACTIVE) {
			/* DESIGN §3.6: certificateHold is reversible, so INACTIVE, not REVOKED */
			if (change_status(sw, &row, JITRD_IOT_INACTIVE, "hold", "hold",
			                  "CRL: certificateHold"))
				sw->sum->held++;
		}
	} else if (lc->status == JITRD_IOT_INACTIVE) {
		reactivate(sw, ca, ca_id, &row,
		           answer.status == JITRD_CRL_REMOVE_FROM_CRL ? "CRL: removeFromCRL"
		                                                      : "hold no longer listed");
	}
}

static void sweep_ca(struct sweep *sw, const struct jitrd_cert *ca, const char *origin)
{
	const char *ca_id = jitrd_cert_id(ca);
	const struct jitrd_crl_info *info =
	    sw->o->rt->crls ? jitrd_crl_store_info(sw->o->rt->crls, ca) : NULL;
	struct jitrd_iot_result res = {0};
	struct jitrd_diag diag = {{0}};
	struct operator_cert_list list = {0};
	enum jitrd_err err;
	char when[32];

	if (!info) {
		sw->sum->cas_no_crl++;
		say(sw, JITRD_SWEEP_NOTICE,
		    "CA %s (%s): no valid CRL; its certificates were not "
		    "checked",
		    ca_id, origin);
		return;
	}
	if (info->stale || info->next_update == 0 || info->next_update < sw->o->now) {
		struct tm tm;
		time_t next = info->next_update;
		if (!gmtime_r(&next, &tm) ||
		    !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
			jitrd_text_copy(when, sizeof(when), "never");
		sw->sum->cas_no_crl++;
		say(sw, JITRD_SWEEP_NOTICE,
		    "CA %s (%s): its CRL %s is past its nextUpdate (%s); "
		    "its certificates were not checked",
		    ca_id, origin, info->origin, info->next_update ? when : "none");
		return;
	}
	err =
	    operator_list_ca(sw->o->session, sw->o->request_timeout_ms, ca_id, &list, &res, &diag);
	if (err == JITRD_ERR_API && strcmp(res.code, "ResourceNotFoundException") == 0) {
		sw->sum->cas_unregistered++;
		say(sw, JITRD_SWEEP_NOTICE, "CA %s (%s): not registered with AWS IoT", ca_id,
		    origin);
		goto cleanup;
	}
	if (err != JITRD_OK) {
		char text[512];
		operator_describe_failure(text, sizeof(text), "ListCertificatesByCA", err, &res,
		                          &diag);
		sw->sum->failed++;
		say(sw, JITRD_SWEEP_FAILURE, "CA %s (%s): %s", ca_id, origin, text);
		goto cleanup;
	}
	sw->sum->cas_swept++;
	for (size_t i = 0; i < list.count; i++) {
		if (sw->o->stop && *sw->o->stop)
			break;
		sweep_cert(sw, ca, ca_id, &list.items[i]);
	}
cleanup:
	free(list.items);
}

enum jitrd_err jitrd_operator_crl_sweep(const struct jitrd_sweep_options *o,
                                        struct jitrd_sweep_summary *summary,
                                        struct jitrd_diag *diag)
{
	struct sweep sw = {o, summary, {0}, NULL};
	const struct jitrd_caset *cas;
	enum jitrd_err err;

	memset(summary, 0, sizeof(*summary));
	if (!o || !o->session || !o->rt || !o->journal) {
		jitrd_diag_set(diag, "sweep: a session, a runtime and the journal are needed");
		return JITRD_ERR_INVALID_ARG;
	}
	jitrd_runtime_context(o->rt, &sw.ctx);
	err = jitrd_pipeline_new(NULL, &sw.pipeline);
	if (err != JITRD_OK) {
		jitrd_diag_set(diag, "sweep: out of memory");
		return err;
	}
	cas = o->rt->cas;
	for (size_t i = 0; i < jitrd_caset_count(cas); i++) {
		const struct jitrd_cert *ca = jitrd_caset_at(cas, i);

		if (o->stop && *o->stop)
			break;
		if (!jitrd_config_ca_allowed(o->rt->cfg, jitrd_cert_id(ca)))
			continue;
		sweep_ca(&sw, ca, jitrd_caset_origin_at(cas, i));
	}
	jitrd_pipeline_free(sw.pipeline);
	return JITRD_OK;
}

static void sweep_line(void *ctx, enum jitrd_sweep_line kind, const char *text)
{
	(void)ctx;
	if (kind == JITRD_SWEEP_CHANGE) {
		printf("%s\n", text);
		fflush(stdout);
	} else {
		fprintf(stderr, "jitrd: %s\n", text);
	}
}

enum jitrd_exit jitrd_command_crl_sweep(const struct jitrd_command_options *o, bool dry_run)
{
	struct jitrd_online online;
	struct jitrd_diag diag = {{0}};
	struct jitrd_sweep_summary sum;
	struct jitrd_sweep_options sopts;
	enum jitrd_exit status;

	if (operator_online_open(&online, o, true, false) != JITRD_OK) {
		jitrd_online_close(&online);
		return JITRD_EXIT_USAGE;
	}
	operator_catch_stop_signals();
	memset(&sopts, 0, sizeof(sopts));
	sopts.session = online.session;
	sopts.rt = online.rt;
	sopts.journal = online.journal;
	sopts.now = o->now;
	sopts.dry_run = dry_run;
	sopts.request_timeout_ms = operator_request_timeout_ms(&online);
	sopts.stop = &operator_stop_flag;
	sopts.line = sweep_line;
	if (jitrd_operator_crl_sweep(&sopts, &sum, &diag) != JITRD_OK) {
		fprintf(stderr, "jitrd: crl sweep: %s\n", diag.text);
		jitrd_online_close(&online);
		return JITRD_EXIT_WORK_FAILED;
	}
	fprintf(stderr,
	        "jitrd: crl sweep%s: %zu CA(s) swept, %zu without a current CRL, %zu not "
	        "registered; %zu certificate(s) checked (%zu described); %s %zu, %s %zu, %s %zu, "
	        "failed %zu\n",
	        dry_run ? " (dry run)" : "", sum.cas_swept, sum.cas_no_crl, sum.cas_unregistered,
	        sum.checked, sum.described, dry_run ? "would revoke" : "revoked", sum.revoked,
	        dry_run ? "would hold" : "held", sum.held,
	        dry_run ? "would re-activate" : "re-activated", sum.reactivated, sum.failed);
	status = sum.failed || sum.cas_no_crl ? JITRD_EXIT_WORK_FAILED : JITRD_EXIT_OK;
	if (operator_stop_flag) {
		fprintf(stderr, "jitrd: interrupted, run again to finish the sweep\n");
		status = JITRD_EXIT_WORK_FAILED;
	}
	jitrd_online_close(&online);
	return status;
}
