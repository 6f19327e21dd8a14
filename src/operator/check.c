/* check.c — `jitrd check DEVICE.pem`: the offline decision for one device certificate
 * (chain, validity, CRL, rendered names and policy) as an outcome line. Makes no API call and
 * asks no OCSP responder; the certificate is untrusted input. */
#include "operator_internal.h"

#include <stdio.h>
#include <stdlib.h>

#include "jitrd/files.h"
#include "jitrd/outcome.h"
#include "jitrd/runtime.h"
#include "jitrd/text.h"

static enum jitrd_exit print_decision(const struct jitrd_runtime *rt, const struct jitrd_cert *cert,
                                      const struct jitrd_decision *d, time_t now)
{
	struct jitrd_outcome o = {0};
	char *line = NULL;

	o.time = now;
	o.certificate_id = jitrd_cert_id(cert);
	o.ca_certificate_id = d->ca_id;
	o.decision = d->kind;
	o.reason = d->reason;
	o.status = jitrd_target_status_name(d->target_status);
	o.serial = d->serial;
	o.subject_cn = d->subject_cn;
	o.policy = d->policy_name;
	o.thing = d->thing_name;
	o.policy_document = d->policy_document;
	enum jitrd_err err = jitrd_outcome_format(&o, rt->cfg->service.log_format, &line);

	if (err != JITRD_OK) {
		fprintf(stderr, "jitrd: cannot format the outcome: %s\n", jitrd_strerror(err));
		return JITRD_EXIT_WORK_FAILED;
	}
	printf("%s\n", line);
	free(line);
	return JITRD_EXIT_OK;
}

enum jitrd_exit operator_decide_pem(struct jitrd_runtime *rt, const char *device_path, time_t now,
                                    struct jitrd_cert **cert, struct jitrd_decision *d)
{
	struct jitrd_decision_context ctx;
	struct jitrd_diag diag = {{0}};
	char *pem = NULL;
	size_t len = 0;
	enum jitrd_err err;
	enum jitrd_exit status = JITRD_EXIT_WORK_FAILED;

	err = jitrd_file_read(device_path, JITRD_CERT_MAX_PEM, &pem, &len, &diag);
	if (err == JITRD_OK) {
		err = jitrd_cert_from_pem(pem, len, cert, &diag);
		if (err != JITRD_OK)
			jitrd_diag_prefix(&diag, device_path);
	}
	if (err != JITRD_OK) {
		fprintf(stderr, "jitrd: %s\n", diag.text);
		goto cleanup;
	}
	jitrd_runtime_context(rt, &ctx);
	err = jitrd_decide_certificate(&ctx, *cert, NULL, now, d);
	if (err == JITRD_ERR_CONFIG) {
		fprintf(stderr, "jitrd: %s\n", d->reason);
		status = JITRD_EXIT_USAGE;
		goto cleanup;
	}
	if (err != JITRD_OK) {
		fprintf(stderr, "jitrd: %s\n", jitrd_strerror(err));
		goto cleanup;
	}
	/* check stays offline (and --at may name another time than a responder answers for):
	 * a device [ocsp] mode would ask about is shown as the defer it is without an answer */
	if (d->ocsp_wanted)
		jitrd_text_copy(
		    d->reason, sizeof(d->reason),
		    "[ocsp] mode needs an OCSP answer: `jitrd check` is offline and asks no "
		    "responder (`jitrd handle` does)");
	status = JITRD_EXIT_OK;
cleanup:
	free(pem);
	return status;
}

enum jitrd_exit jitrd_command_check(const struct jitrd_command_options *opts,
                                    const char *device_path)
{
	struct jitrd_runtime rt;
	struct jitrd_decision d;
	struct jitrd_diag diag = {{0}};
	struct jitrd_cert *cert = NULL;
	enum jitrd_exit status;

	if (jitrd_runtime_load(&rt, opts->config_path, opts->now, &diag) != JITRD_OK) {
		fprintf(stderr, "jitrd: %s\n", diag.text);
		jitrd_runtime_cleanup(&rt);
		return JITRD_EXIT_USAGE;
	}
	if (*rt.crl_floors_note)
		fprintf(stderr, "jitrd: note: %s %s\n", rt.crl_floors_path, rt.crl_floors_note);
	jitrd_decision_init(&d);
	status = operator_decide_pem(&rt, device_path, opts->now, &cert, &d);
	if (status == JITRD_EXIT_OK)
		status = print_decision(&rt, cert, &d, opts->now);
	jitrd_decision_cleanup(&d);
	jitrd_cert_free(cert);
	jitrd_runtime_cleanup(&rt);
	return status;
}
