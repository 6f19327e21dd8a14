/* explain.c — `jitrd explain CERT_ID | DEVICE.pem`: why a device is (not) active. Gathers what
 * the journal recorded for the certificate, what AWS IoT says of it now (unless offline) and,
 * with a PEM, the decision jitrd would make now (`jitrd check`'s, operator_decide_pem). Only
 * reads: no event is recorded, no status changed. */
#include "operator_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "jitrd/outcome.h"
#include "jitrd/text.h"

#define EXPLAIN_MAX_EVENTS   100 /* a reconnect loop may record many: the first ones tell */
#define EXPLAIN_MAX_POLICIES 50
#define EXPLAIN_MAX_THINGS   50

struct explain {
	char id[65];
	bool journal_ok, known;
	struct jitrd_journal_cert row;
	json_object *events; /* array */
	bool aws_asked, aws_ok, registered;
	char aws_error[512];
	struct jitrd_iot_certificate desc;
	json_object *policies; /* array of names */
	json_object *things;   /* array of names */
	bool decided;
	struct jitrd_decision d;
};

static int add_event(const struct jitrd_journal_history *h, void *ctx)
{
	json_object *e = json_object_new_object();

	if (!e)
		return 1;
	json_object_object_add(e, "id", json_object_new_int64(h->id));
	json_object_object_add(e, "received_ms", json_object_new_int64(h->received_ms));
	json_object_object_add(e, "source", json_object_new_string(h->source));
	json_object_object_add(e, "state", json_object_new_string(h->state));
	json_object_object_add(e, "attempts", json_object_new_int64(h->attempts));
	json_object_object_add(e, "decision", json_object_new_string(h->decision));
	json_object_object_add(e, "reason", json_object_new_string(h->reason));
	json_object_object_add(e, "status", json_object_new_string(h->status));
	json_object_object_add(e, "finished_ms", json_object_new_int64(h->finished_ms));
	return json_object_array_add(ctx, e) != 0;
}

static int add_policy(void *ctx, const char *policy_name, const char *policy_arn)
{
	(void)policy_arn;
	if (json_object_array_length(ctx) >= EXPLAIN_MAX_POLICIES)
		return 1;
	return json_object_array_add(ctx, json_object_new_string(policy_name)) != 0;
}

static int add_thing(void *ctx, const char *thing_name)
{
	if (json_object_array_length(ctx) >= EXPLAIN_MAX_THINGS)
		return 1;
	return json_object_array_add(ctx, json_object_new_string(thing_name)) != 0;
}

/* Returns false when the journal could not be read (said on standard error). */
static bool ask_journal(struct jitrd_journal *j, struct explain *x)
{
	struct jitrd_diag diag = {{0}};

	if (jitrd_journal_cert_get(j, x->id, &x->row, &x->known, &diag) != JITRD_OK ||
	    jitrd_journal_cert_events(j, x->id, EXPLAIN_MAX_EVENTS, add_event, x->events, &diag) !=
	        JITRD_OK) {
		fprintf(stderr, "jitrd: %s\n", diag.text);
		return false;
	}
	x->journal_ok = true;
	return true;
}

/* DescribeCertificate, then the policies and the Things attached to its ARN. False on a failure
 * other than "no such certificate" (said in x->aws_error). */
static bool ask_aws(struct jitrd_online *online, struct explain *x)
{
	struct jitrd_iot_result res = {0};
	struct jitrd_diag diag = {{0}};
	int64_t timeout = operator_request_timeout_ms(online);
	enum jitrd_err err;

	x->aws_asked = true;
	err = jitrd_iot_describe_certificate(online->session, jitrd_iot_deadline_in(timeout), x->id,
	                                     &x->desc, &res, &diag);
	if (err == JITRD_ERR_API && strcmp(res.code, "ResourceNotFoundException") == 0) {
		x->aws_ok = true;
		return true;
	}
	if (err != JITRD_OK) {
		operator_describe_failure(x->aws_error, sizeof(x->aws_error), "DescribeCertificate",
		                          err, &res, &diag);
		return false;
	}
	x->registered = true;
	memset(&res, 0, sizeof(res));
	err = jitrd_iot_list_attached_policies(online->session, jitrd_iot_deadline_in(timeout),
	                                       x->desc.certificate_arn, add_policy, x->policies,
	                                       &res, &diag);
	if (err != JITRD_OK) {
		operator_describe_failure(x->aws_error, sizeof(x->aws_error),
		                          "ListAttachedPolicies", err, &res, &diag);
		return false;
	}
	memset(&res, 0, sizeof(res));
	err = jitrd_iot_list_principal_things(online->session, jitrd_iot_deadline_in(timeout),
	                                      x->desc.certificate_arn, add_thing, x->things, &res,
	                                      &diag);
	if (err != JITRD_OK) {
		operator_describe_failure(x->aws_error, sizeof(x->aws_error), "ListPrincipalThings",
		                          err, &res, &diag);
		return false;
	}
	x->aws_ok = true;
	return true;
}

/* What the pipeline would do with the decision (DESIGN §3.8), in words. */
static void describe_action(const struct jitrd_decision *d, char *out, size_t size)
{
	switch (d->kind) {
	case JITRD_DECISION_ACTIVATE:
		snprintf(out, size, "attach policy %s%s%s, then set ACTIVE", d->policy_name,
		         d->thing_name[0] ? " and Thing " : "", d->thing_name);
		break;
	case JITRD_DECISION_DEFER:
		snprintf(out, size, "leave it PENDING_ACTIVATION and try again later");
		break;
	default:
		if (d->target_status == JITRD_TARGET_LEAVE)
			snprintf(out, size, "leave its status as it is");
		else
			snprintf(out, size, "set %s", jitrd_target_status_name(d->target_status));
	}
}

static json_object *to_json(const struct explain *x)
{
	json_object *root = json_object_new_object(), *o;
	char action[512];

	json_object_object_add(root, "certificate_id", json_object_new_string(x->id));
	o = json_object_new_object();
	json_object_object_add(o, "known", json_object_new_boolean(x->known));
	if (x->known) {
		json_object_object_add(o, "ca_id", json_object_new_string(x->row.ca_id));
		json_object_object_add(o, "serial", json_object_new_string(x->row.serial_hex));
		json_object_object_add(o, "subject_cn", json_object_new_string(x->row.subject_cn));
		json_object_object_add(o, "status", json_object_new_string(x->row.status));
		json_object_object_add(o, "last_decision",
		                       json_object_new_string(x->row.last_decision));
		json_object_object_add(o, "updated_ms", json_object_new_int64(x->row.updated_ms));
	}
	json_object_object_add(o, "events", json_object_get(x->events));
	json_object_object_add(root, "journal", o);
	if (x->aws_asked) {
		o = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(x->aws_ok));
		if (!x->aws_ok)
			json_object_object_add(o, "error", json_object_new_string(x->aws_error));
		json_object_object_add(o, "registered", json_object_new_boolean(x->registered));
		if (x->registered) {
			json_object_object_add(
			    o, "status",
			    json_object_new_string(jitrd_iot_status_name(x->desc.status)));
			json_object_object_add(o, "ca_certificate_id",
			                       json_object_new_string(x->desc.ca_certificate_id));
			json_object_object_add(o, "creation_date",
			                       json_object_new_double(x->desc.creation_date));
			json_object_object_add(o, "policies", json_object_get(x->policies));
			json_object_object_add(o, "things", json_object_get(x->things));
		}
		json_object_object_add(root, "aws", o);
	}
	if (x->decided) {
		o = json_object_new_object();
		describe_action(&x->d, action, sizeof(action));
		json_object_object_add(o, "decision",
		                       json_object_new_string(jitrd_decision_name(x->d.kind)));
		json_object_object_add(o, "reason", json_object_new_string(x->d.reason));
		json_object_object_add(
		    o, "status",
		    json_object_new_string(jitrd_target_status_name(x->d.target_status)));
		json_object_object_add(o, "policy", json_object_new_string(x->d.policy_name));
		json_object_object_add(o, "thing", json_object_new_string(x->d.thing_name));
		json_object_object_add(o, "action", json_object_new_string(action));
		json_object_object_add(root, "now", o);
	}
	return root;
}

static void time_text(int64_t ms, char *out, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || !gmtime_r(&t, &tm) || strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		jitrd_text_copy(out, size, "-");
}

static void print_text(const struct explain *x)
{
	char when[32], done[32], action[512];

	printf("certificate %s\n\njournal:\n", x->id);
	if (x->known)
		printf("  inventory: %s, last decision %s, CA %s, serial %s, CN %s\n",
		       x->row.status, x->row.last_decision, x->row.ca_id, x->row.serial_hex,
		       x->row.subject_cn);
	else
		printf("  inventory: not known\n");
	if (json_object_array_length(x->events) == 0)
		printf("  events: none recorded\n");
	for (size_t i = 0; i < json_object_array_length(x->events); i++) {
		json_object *e = json_object_array_get_idx(x->events, i), *v;
		int64_t received = 0, finished = 0;

		if (json_object_object_get_ex(e, "received_ms", &v))
			received = json_object_get_int64(v);
		if (json_object_object_get_ex(e, "finished_ms", &v))
			finished = json_object_get_int64(v);
		time_text(received, when, sizeof(when));
		time_text(finished, done, sizeof(done));
#define S(k) (json_object_object_get_ex(e, k, &v) ? json_object_get_string(v) : "")
		printf("  event %s %s (%s): %s, attempts %s, decided %s%s%s%s%s\n", when,
		       S("source"), S("id"), S("state"), S("attempts"), done,
		       *S("decision") ? ", " : "", S("decision"), *S("reason") ? ": " : "",
		       S("reason"));
#undef S
	}
	if (x->aws_asked) {
		printf("\nAWS IoT now:\n");
		if (!x->aws_ok)
			printf("  could not ask: %s\n", x->aws_error);
		else if (!x->registered)
			printf("  not registered\n");
		else {
			time_text((int64_t)(x->desc.creation_date * 1000), when, sizeof(when));
			printf("  status %s, CA %s, created %s\n",
			       jitrd_iot_status_name(x->desc.status),
			       x->desc.ca_certificate_id[0] ? x->desc.ca_certificate_id : "-",
			       when);
			printf("  policies:");
			for (size_t i = 0; i < json_object_array_length(x->policies); i++)
				printf(" %s", json_object_get_string(
						  json_object_array_get_idx(x->policies, i)));
			printf("%s\n", json_object_array_length(x->policies) ? "" : " none");
			printf("  things:");
			for (size_t i = 0; i < json_object_array_length(x->things); i++)
				printf(" %s", json_object_get_string(
						  json_object_array_get_idx(x->things, i)));
			printf("%s\n", json_object_array_length(x->things) ? "" : " none");
		}
	}
	if (x->decided) {
		describe_action(&x->d, action, sizeof(action));
		printf("\njitrd would decide now: %s: %s\n  and would %s\n",
		       jitrd_decision_name(x->d.kind), x->d.reason, action);
	}
}

/* CERT_ID is 64 hex digits; anything else must name a file (the PEM). An argument that is
 * neither is a usage error, worded for a mistyped id when it is all hex. */
static bool neither_id_nor_file(const char *arg)
{
	if (access(arg, F_OK) == 0)
		return false;
	if (arg[strspn(arg, "0123456789abcdefABCDEF")] == '\0')
		fprintf(stderr, "jitrd: %.80s: not a certificate id (64 hex digits) nor a file\n",
		        arg);
	else
		fprintf(stderr, "jitrd: %.80s: no such file, and not a certificate id\n", arg);
	return true;
}

enum jitrd_exit jitrd_command_explain(const struct jitrd_command_options *o, const char *arg,
                                      bool offline, bool json)
{
	struct jitrd_online_options oo;
	struct jitrd_online online = {0};
	struct jitrd_diag diag = {{0}};
	struct jitrd_cert *cert = NULL;
	struct explain x;
	enum jitrd_exit status = JITRD_EXIT_USAGE;
	bool is_id = jitrd_is_hex_id(arg);
	extern char **environ;

	memset(&x, 0, sizeof(x));
	jitrd_decision_init(&x.d);
	x.events = json_object_new_array();
	x.policies = json_object_new_array();
	x.things = json_object_new_array();
	if (!x.events || !x.policies || !x.things) {
		fprintf(stderr, "jitrd: out of memory\n");
		status = JITRD_EXIT_WORK_FAILED;
		goto cleanup;
	}
	if (!is_id && neither_id_nor_file(arg))
		goto cleanup;
	jitrd_online_options_init(&oo);
	oo.config_path = o->config_path;
	oo.now = o->now;
	oo.envp = (const char *const *)environ;
	oo.journal = true;
	oo.session = !offline;
	if (jitrd_online_open(&oo, &online, &diag) != JITRD_OK) {
		fprintf(stderr, "jitrd: %s\n", diag.text);
		goto cleanup;
	}
	if (is_id) {
		jitrd_text_copy(x.id, sizeof(x.id), arg);
		/* AWS spells certificate ids in lower case; the journal keeps them as AWS does */
		for (char *p = x.id; *p; p++)
			if (*p >= 'A' && *p <= 'F')
				*p = (char)(*p - 'A' + 'a');
	} else {
		status = operator_decide_pem(online.rt, arg, o->now, &cert, &x.d);
		if (status != JITRD_EXIT_OK)
			goto cleanup;
		x.decided = true;
		jitrd_text_copy(x.id, sizeof(x.id), jitrd_cert_id(cert));
	}
	status = JITRD_EXIT_OK;
	if (!ask_journal(online.journal, &x))
		status = JITRD_EXIT_WORK_FAILED;
	if (!offline && !ask_aws(&online, &x))
		status = JITRD_EXIT_WORK_FAILED;
	if (json) {
		json_object *root = to_json(&x);
		printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
		json_object_put(root);
	} else {
		print_text(&x);
	}
cleanup:
	json_object_put(x.events);
	json_object_put(x.policies);
	json_object_put(x.things);
	jitrd_iot_certificate_cleanup(&x.desc);
	jitrd_decision_cleanup(&x.d);
	jitrd_cert_free(cert);
	jitrd_online_close(&online);
	return status;
}
