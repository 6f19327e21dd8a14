/* reconcile.c — the sweep that catches what MQTT missed (DESIGN §1, §4.1): every
 * PENDING_ACTIVATION certificate of our CAs, listed from AWS, handed on as the event AWS would
 * have published, so reconcile takes the same path through the pipeline as an event. */
#include "jitrd/pipeline.h"

#include <stdio.h>
#include <time.h>

#include <json-c/json.h>

#include "jitrd/arn.h"
#include "jitrd/caset.h"
#include "jitrd/cert.h"
#include "jitrd/config.h"

struct pending_walk {
	const struct jitrd_runtime *rt;
	const char *ca_id;
	jitrd_pipeline_event_fn fn;
	void *ctx;
	size_t count;
	int stopped;
	enum jitrd_err err;
};

static int pending_one(void *ctx, const struct jitrd_iot_cert_summary *cert)
{
	struct pending_walk *walk = ctx;
	json_object *event;
	char account[13];
	char registered[32];
	const char *payload;
	size_t len;

	if (cert->status != JITRD_IOT_PENDING_ACTIVATION)
		return 0;
	jitrd_arn_account(cert->certificate_arn, walk->rt->cfg->aws.account_id, account);
	/* an untrusted number: only a plausible epoch (0 .. year 9999) is converted */
	snprintf(registered, sizeof(registered), "%lld",
	         cert->creation_date > 0 && cert->creation_date < 253402300800.0
	             ? (long long)(cert->creation_date * 1000.0)
	             : 0LL);
	event = json_object_new_object();
	if (!event) {
		walk->err = JITRD_ERR_NOMEM;
		return 1;
	}
	/* The event AWS would have published (DESIGN §1), so reconcile takes the same path. */
	json_object_object_add(event, "certificateId",
	                       json_object_new_string(cert->certificate_id));
	json_object_object_add(event, "caCertificateId", json_object_new_string(walk->ca_id));
	json_object_object_add(event, "timestamp",
	                       json_object_new_int64((int64_t)time(NULL) * 1000));
	json_object_object_add(event, "certificateStatus",
	                       json_object_new_string("PENDING_ACTIVATION"));
	json_object_object_add(event, "awsAccountId", json_object_new_string(account));
	json_object_object_add(event, "certificateRegistrationTimestamp",
	                       json_object_new_string(registered));
	payload = json_object_to_json_string_length(event, JSON_C_TO_STRING_PLAIN, &len);
	if (!payload) {
		json_object_put(event);
		walk->err = JITRD_ERR_NOMEM;
		return 1;
	}
	walk->count++;
	walk->stopped = walk->fn(walk->ctx, payload, len) != 0;
	json_object_put(event);
	return walk->stopped;
}

enum jitrd_err jitrd_pipeline_pending_events(struct jitrd_iot_session *s,
                                             const struct jitrd_runtime *rt,
                                             jitrd_pipeline_event_fn fn, void *ctx, size_t *count,
                                             struct jitrd_diag *diag)
{
	struct pending_walk walk = {rt, NULL, fn, ctx, 0, 0, JITRD_OK};
	enum jitrd_err err = JITRD_OK;

	for (size_t i = 0; i < jitrd_caset_count(rt->cas) && !walk.stopped; i++) {
		struct jitrd_iot_result res = {0};
		walk.ca_id = jitrd_cert_id(jitrd_caset_at(rt->cas, i));
		if (!jitrd_config_ca_allowed(rt->cfg, walk.ca_id))
			continue;
		/* a whole sweep of one CA: generous, the listing is paged and rate-limited */
		err = jitrd_iot_list_certificates_by_ca(s, jitrd_iot_deadline_in(600 * 1000),
		                                        walk.ca_id, 250, 1000000, pending_one,
		                                        &walk, &res, diag);
		if (walk.err != JITRD_OK) {
			err = walk.err;
			break;
		}
		if (err != JITRD_OK) {
			if (*res.code)
				jitrd_diag_set(diag, "ListCertificatesByCA %s: %.63s: %.200s",
				               walk.ca_id, res.code, res.message);
			break;
		}
	}
	*count = walk.count;
	return err;
}
