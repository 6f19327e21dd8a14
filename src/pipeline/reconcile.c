/* reconcile.c — the sweep that catches what MQTT missed (DESIGN §1, §4.1): every
 * PENDING_ACTIVATION certificate of our CAs, listed from AWS, handed on as the event AWS would
 * have published, so reconcile takes the same path through the pipeline as an event; and the
 * lease that lets one of several hosts sweep at a time (lease.h), kept in AWS IoT. */
#include "jitrd/pipeline.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "jitrd/arn.h"
#include "jitrd/caset.h"
#include "jitrd/cert.h"
#include "jitrd/config.h"
#include "jitrd/lease.h"

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

/* The lease's call sequence: read it, then take it with the Thing's version as the guard. Two
 * hosts that both find it free race on CreateThing (AWS creates once; the other gets
 * ResourceAlreadyExistsException, since the attributes differ) or on UpdateThing (one version
 * wins; the other gets VersionConflictException): either way one sweeps. */
enum jitrd_err jitrd_pipeline_reconcile_lease(struct jitrd_iot_session *s, const char *thing_name,
                                              const char *holder, int64_t now,
                                              int reconcile_seconds, int *held, char *holder_seen,
                                              struct jitrd_diag *diag)
{
	struct jitrd_iot_attribute_value values[2] = {{.name = JITRD_LEASE_ATTR_HOLDER},
	                                              {.name = JITRD_LEASE_ATTR_EXPIRES}};
	struct jitrd_iot_result res = {0};
	struct jitrd_iot_thing thing = {0};
	struct jitrd_lease_state state = {1, "", ""};
	char expires[JITRD_LEASE_MAX_EXPIRES];
	const char *call = "DescribeThing", *lost = NULL;
	enum jitrd_err err;

	if (!s || !thing_name || !holder || !held ||
	    jitrd_lease_expires(now, reconcile_seconds, expires, sizeof(expires)) != JITRD_OK)
		return JITRD_ERR_INVALID_ARG;
	struct jitrd_iot_attribute mine[2] = {{JITRD_LEASE_ATTR_HOLDER, holder},
	                                      {JITRD_LEASE_ATTR_EXPIRES, expires}};
	/* each call is small: a minute covers its retries */
	err = jitrd_iot_describe_thing_attributes(s, jitrd_iot_deadline_in(60 * 1000), thing_name,
	                                          values, 2, &thing, &res, diag);
	if (err == JITRD_ERR_API && strcmp(res.code, "ResourceNotFoundException") == 0) {
		state.exists = 0;
		err = JITRD_OK;
	} else if (err == JITRD_OK) {
		state.holder = values[0].value;
		state.expires = values[1].value;
	}
	if (holder_seen && err == JITRD_OK)
		snprintf(holder_seen, JITRD_LEASE_MAX_HOLDER, "%.*s", JITRD_LEASE_MAX_HOLDER - 1,
		         state.holder);
	if (err == JITRD_OK) {
		switch (jitrd_lease_decide(&state, holder, now)) {
		case JITRD_LEASE_WAIT:
			*held = 0;
			return JITRD_OK;
		case JITRD_LEASE_CREATE:
			call = "CreateThing";
			lost = "ResourceAlreadyExistsException";
			err = jitrd_iot_create_thing_with_attributes(
			    s, jitrd_iot_deadline_in(60 * 1000), thing_name, mine, 2, NULL, &res,
			    diag);
			break;
		case JITRD_LEASE_TAKE:
			call = "UpdateThing";
			lost = "VersionConflictException";
			err = jitrd_iot_update_thing_attributes(s, jitrd_iot_deadline_in(60 * 1000),
			                                        thing_name, mine, 2, thing.version,
			                                        &res, diag);
			break;
		}
	}
	if (err == JITRD_ERR_API && lost && strcmp(res.code, lost) == 0) {
		*held = 0;
		return JITRD_OK;
	}
	if (err != JITRD_OK) {
		if (*res.code)
			jitrd_diag_set(diag, "%s %s: %.63s: %.200s", call, thing_name, res.code,
			               res.message);
		return err;
	}
	*held = 1;
	return JITRD_OK;
}
