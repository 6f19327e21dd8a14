/* decision.h — what happens to one certificate (DESIGN §3 steps 2, 5, 6 and the rendering of
 * step 7): (event or certificate, CA set, CRL snapshot, config, now) -> decision + reason +
 * rendered names and policy. Pure: everything it needs is passed in. */
#ifndef JITRD_DECISION_H
#define JITRD_DECISION_H

#include <stdbool.h>
#include <time.h>

#include "jitrd/caset.h"
#include "jitrd/cert.h"
#include "jitrd/config.h"
#include "jitrd/crl.h"
#include "jitrd/error.h"
#include "jitrd/event.h"
#include "jitrd/ocsp.h"
#include "jitrd/outcome.h"
#include "jitrd/template.h"

/* Everything borrowed for the duration of a call. */
struct jitrd_decision_context {
	const struct jitrd_config *cfg;
	const struct jitrd_caset *cas;
	const struct jitrd_crl_store *crls; /* NULL = no CRL at all */
	const struct jitrd_policy_template *policy_template;
	const char *account_id; /* "" or NULL when unknown (offline check) */
	const char *region;
	/* The device's OCSP answer when [ocsp] mode asked for one and the caller asked the
	 * responder (jitrd_decision.ocsp_wanted); NULL = not asked. */
	const struct jitrd_ocsp_answer *ocsp;
};

/* The status a decision sets the certificate to (DESIGN §3.8). */
enum jitrd_target_status {
	JITRD_TARGET_LEAVE = 0, /* leave it as it is */
	JITRD_TARGET_ACTIVE,
	JITRD_TARGET_INACTIVE,
	JITRD_TARGET_REVOKED,
};

/* "ACTIVE", "INACTIVE", "REVOKED" as AWS IoT spells them; "" for JITRD_TARGET_LEAVE. */
const char *jitrd_target_status_name(enum jitrd_target_status status);

struct jitrd_decision {
	enum jitrd_decision_kind kind;
	char reason[256]; /* short, printable; untrusted parts escaped */
	enum jitrd_target_status target_status;
	char ca_id[JITRD_ID_HEX_LEN + 1];
	char serial[2 * 64 + 1];              /* hex; "" before the certificate was read */
	char subject_cn[256];                 /* as in the certificate, truncated; "" when absent */
	char policy_name[JITRD_NAME_MAX + 1]; /* set for activate */
	char thing_name[JITRD_NAME_MAX + 1];  /* set for activate when provision.thing_name set */
	char *policy_document;                /* set for activate; owned, freed by cleanup */
	enum jitrd_policy_update policy_update; /* set for activate: [provision] policy_update */
	bool time_may_change; /* a reject that time alone may undo (not valid yet, or the CA
	                       * cannot anchor a path now): not worth remembering */
	bool ocsp_wanted;     /* defer only because [ocsp] mode needs an answer the context
	                       * lacks: ask the responder, then decide again with it */
	bool crl_missing;     /* a defer because no verified CRL covers the certificate, which
	                       * passed every check before the CRL step: a CRL fetched from its
	                       * distribution points may decide it */
};

void jitrd_decision_init(struct jitrd_decision *d);
void jitrd_decision_cleanup(struct jitrd_decision *d); /* frees policy_document */

/* Step 2 on an event that parsed: certificateStatus must be PENDING_ACTIVATION, the CA one of
 * ours and allowed. Returns true and fills d (kind ignore) when the event is to be ignored,
 * false when it goes on. */
bool jitrd_decide_filter(const struct jitrd_decision_context *ctx, const struct jitrd_event *ev,
                         struct jitrd_decision *d);

/* Step 6 for a registered CA of ctx->cas when the set has anchors (jitrd_caset_anchors): the
 * CA's serial on its anchor's CRLs (RFC 5280 §6.3). d->kind is ACTIVATE when nothing stands
 * against it (always so without anchors, for a CA that is an anchor itself, and for one under
 * no anchor: path validation refuses that one); REJECT with the reason when an anchor revoked
 * it, even under crl.fail_open; DEFER on certificateHold, and when its status is unknown (no
 * valid CRL of the anchor, or a stale one) unless crl.fail_open.
 * Returns JITRD_OK, JITRD_ERR_INVALID_ARG or JITRD_ERR_NOMEM. Also for the start-up report. */
enum jitrd_err jitrd_decide_ca(const struct jitrd_decision_context *ctx,
                               const struct jitrd_cert *ca, time_t now,
                               struct jitrd_decision *d) JITRD_WUR;

/* Steps 5, 6 and 7's rendering for a certificate. ca_id names the CA the event claims (may
 * be NULL: the issuer is looked up in ctx->cas). Fills d with activate / revoke / hold /
 * reject / ignore / defer and the reason. Returns JITRD_OK when d holds a decision;
 * JITRD_ERR_CONFIG when the templates need a value the context lacks (account, region:
 * d->reason says which; no device is judged on a configuration problem); JITRD_ERR_NOMEM,
 * JITRD_ERR_CRYPTO (the verifier failed: no verdict, d->reason says so).
 * CRL: a listed revocation always revokes, even from a CRL past its nextUpdate and under
 * crl.fail_open; otherwise a stale or missing CRL defers unless crl.fail_open.
 * OCSP ([ocsp] mode), for a device nothing else stopped: fallback asks when no current CRL
 * answers for it, require asks always. Without ctx->ocsp such a device is deferred with
 * d->ocsp_wanted set. With it: good goes on, revoked revokes, certificateHold holds,
 * unknown or no valid answer defers (under fallback with crl.fail_open, goes on). */
enum jitrd_err jitrd_decide_certificate(const struct jitrd_decision_context *ctx,
                                        const struct jitrd_cert *cert, const char *ca_id,
                                        time_t now, struct jitrd_decision *d) JITRD_WUR;

/* Values the context must supply, not the certificate (account, region): when a template
 * needs one the context lacks, a static sentence saying what to set; NULL when all is there.
 * A configuration problem, never a reason to reject a device. */
const char *jitrd_decision_context_problem(const struct jitrd_decision_context *ctx);

/* Start-up check of the templates against each other: a policy document that differs per
 * device must have a policy name that differs the same way (or uses {{certificate.id}}),
 * since AWS keeps the first document created under a name. JITRD_ERR_CONFIG with the reason
 * in diag. */
enum jitrd_err jitrd_decision_check_templates(const struct jitrd_decision_context *ctx,
                                              struct jitrd_diag *diag) JITRD_WUR;

/* Renders the policy and names for cert under ca (used by decide_certificate and by the
 * start-up check of templates against a sample certificate). */
enum jitrd_err jitrd_decision_render(const struct jitrd_decision_context *ctx,
                                     const struct jitrd_cert *cert, const char *ca_id,
                                     struct jitrd_decision *d, struct jitrd_diag *diag) JITRD_WUR;

#endif
