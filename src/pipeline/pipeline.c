/* pipeline.c — one registration event through DESIGN §3, top to bottom. The pure decision is
 * the decision module's; this file adds what needs the network: describe, provision, activate
 * last, and the retry classification. Shared state is the in-flight set and the policy cache,
 * each behind the pipeline's one small lock. */
#include "jitrd/pipeline.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "jitrd/arn.h"
#include "jitrd/cert.h"
#include "jitrd/clock.h"
#include "jitrd/decision.h"
#include "jitrd/event.h"
#include "jitrd/ocsp_check.h"
#include "jitrd/text.h"

#define POLICY_CACHE_MAX    1024
#define POLICY_CREATING_MAX 64
#define IN_FLIGHT_MAX       4096

struct cached_policy {
	char name[JITRD_NAME_MAX + 1];
	unsigned char document_hash[32];
};

struct jitrd_pipeline {
	struct jitrd_pipeline_options opts;
	pthread_mutex_t lock;
	pthread_cond_t in_flight_changed;
	/* certificate ids being processed (DESIGN §3.3): small, so a plain array */
	char (*in_flight)[JITRD_ID_HEX_LEN + 1];
	size_t in_flight_count;
	/* policies known to exist with a given document: a shared policy is created once */
	struct cached_policy *policies;
	size_t policy_count;
	/* policies a worker is creating right now: the others wait for it instead of all
	 * calling CreatePolicy and GetPolicy at start-up (single flight) */
	char creating[POLICY_CREATING_MAX][JITRD_NAME_MAX + 1];
	size_t creating_count;
	/* OCSP answers ([ocsp] mode), with its own cache and lock */
	struct jitrd_ocsp_checker *ocsp;
};

enum jitrd_err jitrd_pipeline_new(const struct jitrd_pipeline_options *opts,
                                  struct jitrd_pipeline **out)
{
	struct jitrd_pipeline *p = calloc(1, sizeof(*p));
	bool lock_ready = false;

	if (!p)
		return JITRD_ERR_NOMEM;
	p->in_flight = calloc(IN_FLIGHT_MAX, sizeof(*p->in_flight));
	p->policies = calloc(POLICY_CACHE_MAX, sizeof(*p->policies));
	if (!p->in_flight || !p->policies)
		goto failed;
	if (opts)
		p->opts = *opts;
	{
		struct jitrd_ocsp_check_options oo = {p->opts.metrics, p->opts.log,
		                                      p->opts.ocsp_cache_max, NULL};
		if (jitrd_ocsp_checker_new(&oo, &p->ocsp) != JITRD_OK)
			goto failed;
	}
	if (pthread_mutex_init(&p->lock, NULL) != 0)
		goto failed;
	lock_ready = true;
	if (pthread_cond_init(&p->in_flight_changed, NULL) != 0)
		goto failed;
	*out = p;
	return JITRD_OK;
failed:
	if (lock_ready)
		pthread_mutex_destroy(&p->lock);
	jitrd_ocsp_checker_free(p->ocsp);
	free(p->in_flight);
	free(p->policies);
	free(p);
	return JITRD_ERR_NOMEM;
}

void jitrd_pipeline_free(struct jitrd_pipeline *p)
{
	if (!p)
		return;
	pthread_cond_destroy(&p->in_flight_changed);
	pthread_mutex_destroy(&p->lock);
	jitrd_ocsp_checker_free(p->ocsp);
	free(p->in_flight);
	free(p->policies);
	free(p);
}

static void finish(struct jitrd_pipeline_result *r, enum jitrd_decision_kind decision, int retry,
                   const char *reason)
{
	r->decision = decision;
	r->retry = retry;
	jitrd_text_copy(r->reason, sizeof(r->reason), reason);
}

/* DESIGN §3: throttling, 5xx, timeouts and connection errors are transient; the client has
 * already retried them inside the deadline, so what is left is retried later, not now. */
static int transient(enum jitrd_err err, const struct jitrd_iot_result *res)
{
	switch (err) {
	case JITRD_ERR_THROTTLED:
	case JITRD_ERR_TIMEOUT:
	case JITRD_ERR_NETWORK:
	case JITRD_ERR_DEADLINE:
	case JITRD_ERR_CREDENTIALS:
		return 1;
	case JITRD_ERR_API:
		return res->http_status >= 500;
	default:
		return 0;
	}
}

/* Books one API call into the event's totals. (jitrd_api_requests_total counts every HTTP
 * attempt, reported by the client itself through jitrd_iot_client_options.on_request.) */
static void account_call(struct jitrd_pipeline_result *r, const struct jitrd_iot_result *res)
{
	r->api_calls++;
	r->attempts += res->attempts;
}

/* Ends the event as failed after a call that did not succeed. */
static void call_failed(struct jitrd_pipeline_result *r, enum jitrd_iot_op op, enum jitrd_err err,
                        const struct jitrd_iot_result *res, const struct jitrd_diag *diag)
{
	char reason[sizeof(r->reason)];

	if (*res->code)
		snprintf(reason, sizeof(reason), "%s: %.63s: %.150s", jitrd_iot_op_name(op),
		         res->code, res->message);
	else
		snprintf(reason, sizeof(reason), "%s: %.200s", jitrd_iot_op_name(op),
		         *diag->text ? diag->text : jitrd_strerror(err));
	finish(r, JITRD_DECISION_FAILED, transient(err, res), reason);
}

static int is_code(const struct jitrd_iot_result *res, const char *code)
{
	return strcmp(res->code, code) == 0;
}

/* With p->lock held: waits until the shared state changes or 100 ms pass (so the deadline is
 * honoured without a clock the condition variable would have to share). -1 once the deadline
 * has passed. */
static int wait_a_little(struct jitrd_pipeline *p, int64_t deadline)
{
	struct timespec until;

	if (jitrd_clock_mono_ms() >= deadline)
		return -1;
	until = jitrd_clock_wall_after(100);
	pthread_cond_timedwait(&p->in_flight_changed, &p->lock, &until);
	return 0;
}

/* Coalescing (DESIGN §3.3): waits until no other worker holds certificate_id, then takes it.
 * 0 when taken, -1 when the deadline passed first or the set is full. */
static int enter_in_flight(struct jitrd_pipeline *p, const char *certificate_id, int64_t deadline)
{
	int result = -1;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		size_t i;
		for (i = 0; i < p->in_flight_count; i++)
			if (strcmp(p->in_flight[i], certificate_id) == 0)
				break;
		if (i == p->in_flight_count) {
			if (p->in_flight_count < IN_FLIGHT_MAX) {
				jitrd_text_copy(p->in_flight[p->in_flight_count++],
				                JITRD_ID_HEX_LEN + 1, certificate_id);
				result = 0;
			}
			break;
		}
		/* The event in flight decides the certificate; this one runs afterwards and
		 * finds its new status (skip). */
		if (wait_a_little(p, deadline) != 0)
			break;
	}
	pthread_mutex_unlock(&p->lock);
	return result;
}

static void leave_in_flight(struct jitrd_pipeline *p, const char *certificate_id)
{
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->in_flight_count; i++) {
		if (strcmp(p->in_flight[i], certificate_id) == 0) {
			memcpy(p->in_flight[i], p->in_flight[--p->in_flight_count],
			       sizeof(p->in_flight[i]));
			break;
		}
	}
	pthread_cond_broadcast(&p->in_flight_changed);
	pthread_mutex_unlock(&p->lock);
}

static void document_hash(const char *document, unsigned char hash[32])
{
	unsigned int len = 32;

	if (EVP_Digest(document, strlen(document), hash, &len, EVP_sha256(), NULL) != 1)
		memset(hash, 0, 32);
}

enum policy_claim { POLICY_KNOWN, POLICY_OURS_TO_CREATE, POLICY_WAIT_TIMED_OUT };

static int policy_known(const struct jitrd_pipeline *p, const char *name,
                        const unsigned char hash[32])
{
	for (size_t i = 0; i < p->policy_count; i++)
		if (strcmp(p->policies[i].name, name) == 0 &&
		    memcmp(p->policies[i].document_hash, hash, 32) == 0)
			return 1;
	return 0;
}

static int policy_being_created(const struct jitrd_pipeline *p, const char *name)
{
	for (size_t i = 0; i < p->creating_count; i++)
		if (strcmp(p->creating[i], name) == 0)
			return 1;
	return 0;
}

/* Known with this document: nothing to create. Otherwise the caller creates it, unless
 * another worker is doing so: then this one waits for that outcome and looks again. */
static enum policy_claim policy_claim(struct jitrd_pipeline *p, const char *name,
                                      const unsigned char hash[32], int64_t deadline)
{
	enum policy_claim claim = POLICY_OURS_TO_CREATE;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		if (policy_known(p, name, hash)) {
			claim = POLICY_KNOWN;
			break;
		}
		if (!policy_being_created(p, name)) {
			if (p->creating_count < POLICY_CREATING_MAX)
				jitrd_text_copy(p->creating[p->creating_count++],
				                JITRD_NAME_MAX + 1, name);
			break;
		}
		if (wait_a_little(p, deadline) != 0) {
			claim = POLICY_WAIT_TIMED_OUT;
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return claim;
}

/* Ends a claim; remembers the policy when its default version now has our document. */
static void policy_release(struct jitrd_pipeline *p, const char *name, const unsigned char hash[32],
                           int exists)
{
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->creating_count; i++) {
		if (strcmp(p->creating[i], name) == 0) {
			memcpy(p->creating[i], p->creating[--p->creating_count],
			       sizeof(p->creating[i]));
			break;
		}
	}
	if (exists) {
		/* One document per name: the default version's. A name remembered with an older
		 * document is updated, so a template changed back is versioned again. */
		size_t i;
		for (i = 0; i < p->policy_count; i++)
			if (strcmp(p->policies[i].name, name) == 0)
				break;
		if (i < p->policy_count || p->policy_count < POLICY_CACHE_MAX) {
			jitrd_text_copy(p->policies[i].name, JITRD_NAME_MAX + 1, name);
			memcpy(p->policies[i].document_hash, hash, 32);
			if (i == p->policy_count)
				p->policy_count++;
		}
	}
	pthread_cond_broadcast(&p->in_flight_changed);
	pthread_mutex_unlock(&p->lock);
}

/* Drops what is remembered of a policy (it was deleted outside jitrd). */
static void policy_forget(struct jitrd_pipeline *p, const char *name)
{
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->policy_count; i++) {
		if (strcmp(p->policies[i].name, name) == 0) {
			p->policies[i--] = p->policies[--p->policy_count];
		}
	}
	pthread_mutex_unlock(&p->lock);
}

/* Two policy documents mean the same grant when they parse to equal JSON (AWS may return the
 * document reformatted). */
static int same_document(const char *a, const char *b)
{
	json_object *ja = json_tokener_parse(a);
	json_object *jb = json_tokener_parse(b);
	int same = ja && jb && json_object_equal(ja, jb);

	json_object_put(ja);
	json_object_put(jb);
	return same;
}

/* After our version became the default: when another process (a second daemon, a Lambda)
 * added the same document meanwhile and its version is now the default, ours is a duplicate
 * and is deleted. Nothing here fails the event: the default holds our document either way. */
static void drop_duplicate_version(struct jitrd_iot_session *s, int64_t deadline,
                                   const struct jitrd_decision *d, const char *ours,
                                   struct jitrd_pipeline_result *r)
{
	struct jitrd_iot_result res = {0};
	struct jitrd_iot_policy policy = {0};
	struct jitrd_diag diag = {{0}};
	enum jitrd_err err =
	    jitrd_iot_get_policy(s, deadline, d->policy_name, &policy, &res, &diag);

	account_call(r, &res);
	if (err == JITRD_OK && *ours && *policy.version_id &&
	    strcmp(policy.version_id, ours) != 0 && policy.policy_document &&
	    same_document(policy.policy_document, d->policy_document)) {
		err =
		    jitrd_iot_delete_policy_version(s, deadline, d->policy_name, ours, &res, &diag);
		account_call(r, &res);
	}
	jitrd_iot_policy_cleanup(&policy);
}

/* Makes room for a version: AWS keeps at most five per policy (CreatePolicyVersion answers
 * VersionsLimitExceededException), so the oldest version that is not the default goes. A
 * version another worker deleted meanwhile (ResourceNotFoundException) or made the default
 * (DeleteConflictException) is no failure: the caller looks again. 0, or -1 with r finished
 * as failed. */
static int drop_oldest_version(struct jitrd_iot_session *s, int64_t deadline,
                               const struct jitrd_decision *d, struct jitrd_pipeline_result *r)
{
	struct jitrd_iot_result res = {0};
	struct jitrd_diag diag = {{0}};
	struct jitrd_iot_policy_versions *list = calloc(1, sizeof(*list));
	const struct jitrd_iot_policy_version *oldest = NULL;
	enum jitrd_err err;
	int result = -1;

	if (!list) {
		finish(r, JITRD_DECISION_FAILED, 1, jitrd_strerror(JITRD_ERR_NOMEM));
		return -1;
	}
	err = jitrd_iot_list_policy_versions(s, deadline, d->policy_name, list, &res, &diag);
	account_call(r, &res);
	if (err != JITRD_OK) {
		call_failed(r, JITRD_IOT_LIST_POLICY_VERSIONS, err, &res, &diag);
		goto cleanup;
	}
	for (size_t i = 0; i < list->count; i++) {
		const struct jitrd_iot_policy_version *v = &list->versions[i];
		/* ids grow with each version: the smaller one breaks a tie of dates */
		if (!v->is_default &&
		    (!oldest || v->create_date < oldest->create_date ||
		     (v->create_date == oldest->create_date &&
		      strtoull(v->version_id, NULL, 10) < strtoull(oldest->version_id, NULL, 10))))
			oldest = v;
	}
	if (!oldest) {
		/* the limit was hit, yet nothing but the default is listed: another worker
		 * emptied it meanwhile; look again */
		result = 0;
		goto cleanup;
	}
	err = jitrd_iot_delete_policy_version(s, deadline, d->policy_name, oldest->version_id, &res,
	                                      &diag);
	account_call(r, &res);
	if (err == JITRD_OK ||
	    (err == JITRD_ERR_API && (is_code(&res, "ResourceNotFoundException") ||
	                              is_code(&res, "DeleteConflictException"))))
		result = 0;
	else
		call_failed(r, JITRD_IOT_DELETE_POLICY_VERSION, err, &res, &diag);
cleanup:
	free(list);
	return result;
}

/* Rounds of "look, then add a version" before giving up: each round that does not end is one
 * where other workers changed the versions under this one. */
#define POLICY_VERSION_ROUNDS 4

/* CreatePolicy, or, when the name is taken, GetPolicy and the document of its default version
 * there: ours is success; another one fails the event under policy_update = refuse, and gets
 * our document as a new default version under version (DESIGN: a changed template takes
 * effect, for the devices already attached too). 0 when the policy's default version now has
 * our document; -1 with r finished as failed. */
static int create_policy(struct jitrd_iot_session *s, int64_t deadline,
                         const struct jitrd_decision *d, struct jitrd_pipeline_result *r)
{
	struct jitrd_iot_result res = {0};
	struct jitrd_iot_policy policy = {0};
	struct jitrd_diag diag = {{0}};
	enum jitrd_err err = jitrd_iot_create_policy(s, deadline, d->policy_name,
	                                             d->policy_document, &policy, &res, &diag);
	int same;

	account_call(r, &res);
	jitrd_iot_policy_cleanup(&policy);
	if (err == JITRD_OK)
		return 0;
	if (!(err == JITRD_ERR_API && is_code(&res, "ResourceAlreadyExistsException"))) {
		call_failed(r, JITRD_IOT_CREATE_POLICY, err, &res, &diag);
		return -1;
	}
	for (int round = 0; round < POLICY_VERSION_ROUNDS; round++) {
		err = jitrd_iot_get_policy(s, deadline, d->policy_name, &policy, &res, &diag);
		account_call(r, &res);
		if (err != JITRD_OK) {
			call_failed(r, JITRD_IOT_GET_POLICY, err, &res, &diag);
			return -1;
		}
		same = same_document(policy.policy_document, d->policy_document);
		jitrd_iot_policy_cleanup(&policy);
		/* ours already: created before, or by another worker meanwhile */
		if (same)
			return 0;
		if (d->policy_update == JITRD_POLICY_UPDATE_REFUSE) {
			char reason[sizeof(r->reason)];
			snprintf(reason, sizeof(reason),
			         "policy %.128s exists with another document; not attaching it "
			         "([provision] policy_update = refuse)",
			         d->policy_name);
			finish(r, JITRD_DECISION_FAILED, 0, reason);
			return -1;
		}
		err = jitrd_iot_create_policy_version(s, deadline, d->policy_name,
		                                      d->policy_document, 1, &policy, &res, &diag);
		account_call(r, &res);
		if (err == JITRD_OK) {
			drop_duplicate_version(s, deadline, d, policy.version_id, r);
			jitrd_iot_policy_cleanup(&policy);
			return 0;
		}
		if (!(err == JITRD_ERR_API && is_code(&res, "VersionsLimitExceededException"))) {
			call_failed(r, JITRD_IOT_CREATE_POLICY_VERSION, err, &res, &diag);
			return -1;
		}
		if (drop_oldest_version(s, deadline, d, r) != 0)
			return -1;
	}
	finish(r, JITRD_DECISION_FAILED, 1,
	       "the policy's versions kept changing while jitrd added its document");
	return -1;
}

/* Step 7: the policy exists with our document ("already exists" is success only when the
 * document there is the one we rendered), and is attached to the certificate. 0 on success;
 * -1 with r finished as failed. */
static int ensure_policy(struct jitrd_pipeline *p, struct jitrd_iot_session *s, int64_t deadline,
                         const struct jitrd_decision *d, const char *certificate_arn,
                         struct jitrd_pipeline_result *r)
{
	struct jitrd_iot_result res = {0};
	struct jitrd_diag diag = {{0}};
	unsigned char hash[32];
	enum jitrd_err err;

	document_hash(d->policy_document, hash);
	/* Twice at most: a remembered policy deleted behind jitrd's back is forgotten and
	 * created again once. */
	for (int round = 0; round < 2; round++) {
		switch (policy_claim(p, d->policy_name, hash, deadline)) {
		case POLICY_KNOWN:
			break;
		case POLICY_OURS_TO_CREATE: {
			int created = create_policy(s, deadline, d, r) == 0;
			policy_release(p, d->policy_name, hash, created);
			if (!created)
				return -1;
			break;
		}
		case POLICY_WAIT_TIMED_OUT:
			finish(r, JITRD_DECISION_FAILED, 1,
			       "another worker was still creating the policy at the deadline");
			return -1;
		}
		err = jitrd_iot_attach_policy(s, deadline, d->policy_name, certificate_arn, &res,
		                              &diag);
		account_call(r, &res);
		if (err == JITRD_OK)
			return 0;
		if (round > 0 ||
		    !(err == JITRD_ERR_API && is_code(&res, "ResourceNotFoundException")))
			break;
		policy_forget(p, d->policy_name);
	}
	call_failed(r, JITRD_IOT_ATTACH_POLICY, err, &res, &diag);
	return -1;
}

/* The principals already attached to a Thing, copied out of the listing (no call may be
 * made from inside it). A Thing rarely has more than two: one certificate and its rotation. */
#define THING_PRINCIPALS_MAX 32

struct thing_principals {
	char arn[THING_PRINCIPALS_MAX][JITRD_IOT_MAX_PRINCIPAL + 1];
	size_t count;
	int overflow;
};

static int collect_principal(void *ctx, const char *principal)
{
	struct thing_principals *tp = ctx;

	if (tp->count == THING_PRINCIPALS_MAX) {
		tp->overflow = 1;
		return 1;
	}
	jitrd_text_copy(tp->arn[tp->count++], JITRD_IOT_MAX_PRINCIPAL + 1, principal);
	return 0;
}

static void thing_refused(struct jitrd_pipeline_result *r, const char *thing_name, const char *why)
{
	char reason[sizeof(r->reason)];

	snprintf(reason, sizeof(reason), "Thing %.128s %.90s; not attached", thing_name, why);
	finish(r, JITRD_DECISION_REJECT, 0, reason);
}

/* An existing Thing may be joined only by a rotation: every principal already attached is a
 * certificate of the same CA (DescribeCertificate's caCertificateId). 0 when that holds;
 * -1 with r finished as reject (another device's Thing) or failed (a call did not succeed). */
static int principals_of_same_ca(struct jitrd_iot_session *s, int64_t deadline,
                                 const struct jitrd_decision *d, const char *certificate_arn,
                                 struct jitrd_pipeline_result *r)
{
	struct thing_principals *tp = calloc(1, sizeof(*tp));
	struct jitrd_iot_result res = {0};
	struct jitrd_diag diag = {{0}};
	enum jitrd_err err;
	int result = -1;

	if (!tp) {
		finish(r, JITRD_DECISION_FAILED, 1, "out of memory");
		return -1;
	}
	err = jitrd_iot_list_thing_principals(s, deadline, d->thing_name, collect_principal, tp,
	                                      &res, &diag);
	account_call(r, &res);
	if (err != JITRD_OK) {
		call_failed(r, JITRD_IOT_LIST_THING_PRINCIPALS, err, &res, &diag);
		goto cleanup;
	}
	if (tp->overflow) {
		thing_refused(r, d->thing_name, "has more principals than a device's rotation");
		goto cleanup;
	}
	for (size_t i = 0; i < tp->count; i++) {
		struct jitrd_iot_certificate other = {0};
		char other_id[JITRD_ID_HEX_LEN + 1];
		int same_ca;

		if (strcmp(tp->arn[i], certificate_arn) == 0)
			continue; /* attached by an earlier attempt at this same event */
		if (!jitrd_arn_certificate_id(tp->arn[i], other_id)) {
			thing_refused(r, d->thing_name,
			              "has a principal that is not a certificate");
			goto cleanup;
		}
		err = jitrd_iot_describe_certificate(s, deadline, other_id, &other, &res, &diag);
		account_call(r, &res);
		if (err != JITRD_OK) {
			call_failed(r, JITRD_IOT_DESCRIBE_CERTIFICATE, err, &res, &diag);
			goto cleanup;
		}
		same_ca = strcmp(other.ca_certificate_id, d->ca_id) == 0;
		jitrd_iot_certificate_cleanup(&other);
		if (!same_ca) {
			thing_refused(r, d->thing_name,
			              "belongs to another device: a certificate of another CA is "
			              "attached to it");
			goto cleanup;
		}
	}
	result = 0;
cleanup:
	free(tp);
	return result;
}

/* Step 7: the Thing exists and the certificate is its principal, and the Thing is this
 * device's (DESIGN §3.7): a certificate whose Common Name equals another device's Thing name
 * must not join it. jitrd marks each Thing it creates with the attribute JITRD_THING_MARKER =
 * the CA id. AWS's CreateThing succeeds when the Thing exists with the same attributes and
 * answers ResourceAlreadyExistsException when it exists with others ("If this call is made
 * multiple times using the same thing name and configuration, the call will succeed"), so a
 * success says only "new, or carrying exactly our marker": the principals are checked either
 * way. */
static int ensure_thing(struct jitrd_iot_session *s, int64_t deadline,
                        const struct jitrd_decision *d, const char *certificate_arn,
                        struct jitrd_pipeline_result *r)
{
	struct jitrd_iot_attribute marker = {JITRD_THING_MARKER, d->ca_id};
	struct jitrd_iot_result res = {0};
	struct jitrd_diag diag = {{0}};
	char value[JITRD_IOT_MAX_ATTRIBUTE_VALUE + 1];
	int present = 0;
	enum jitrd_err err = jitrd_iot_create_thing_with_attributes(s, deadline, d->thing_name,
	                                                            &marker, 1, NULL, &res, &diag);

	account_call(r, &res);
	if (err != JITRD_OK) {
		if (!(err == JITRD_ERR_API && is_code(&res, "ResourceAlreadyExistsException"))) {
			call_failed(r, JITRD_IOT_CREATE_THING, err, &res, &diag);
			return -1;
		}
		/* It exists with other attributes: jitrd's only if the marker is among them. */
		err = jitrd_iot_describe_thing_attribute(s, deadline, d->thing_name,
		                                         JITRD_THING_MARKER, value, sizeof(value),
		                                         &present, &res, &diag);
		account_call(r, &res);
		if (err != JITRD_OK) {
			call_failed(r, JITRD_IOT_DESCRIBE_THING, err, &res, &diag);
			return -1;
		}
		if (!present) {
			thing_refused(r, d->thing_name,
			              "exists and was not created by jitrd (no " JITRD_THING_MARKER
			              " attribute): it may be another device's");
			return -1;
		}
		if (strcmp(value, d->ca_id) != 0) {
			thing_refused(r, d->thing_name,
			              "was created by jitrd for another CA's device");
			return -1;
		}
	}
	if (principals_of_same_ca(s, deadline, d, certificate_arn, r) != 0)
		return -1;
	err = jitrd_iot_attach_thing_principal(s, deadline, d->thing_name, certificate_arn, &res,
	                                       &diag);
	account_call(r, &res);
	if (err != JITRD_OK) {
		call_failed(r, JITRD_IOT_ATTACH_THING_PRINCIPAL, err, &res, &diag);
		return -1;
	}
	return 0;
}

static int set_status(struct jitrd_iot_session *s, int64_t deadline, const char *certificate_id,
                      enum jitrd_target_status status, struct jitrd_pipeline_result *r)
{
	struct jitrd_iot_result res = {0};
	struct jitrd_diag diag = {{0}};
	enum jitrd_iot_status target = status == JITRD_TARGET_ACTIVE     ? JITRD_IOT_ACTIVE
	                               : status == JITRD_TARGET_INACTIVE ? JITRD_IOT_INACTIVE
	                                                                 : JITRD_IOT_REVOKED;
	enum jitrd_err err =
	    jitrd_iot_update_certificate(s, deadline, certificate_id, target, &res, &diag);

	account_call(r, &res);
	if (err != JITRD_OK) {
		call_failed(r, JITRD_IOT_UPDATE_CERTIFICATE, err, &res, &diag);
		return -1;
	}
	jitrd_text_copy(r->status, sizeof(r->status), jitrd_target_status_name(status));
	return 0;
}

enum jitrd_err jitrd_pipeline_provision(struct jitrd_pipeline *p, struct jitrd_iot_session *s,
                                        int64_t deadline, const struct jitrd_decision *d,
                                        const char *certificate_arn,
                                        struct jitrd_pipeline_result *r)
{
	if (*d->thing_name && ensure_thing(s, deadline, d, certificate_arn, r) != 0)
		return JITRD_ERR_API;
	if (ensure_policy(p, s, deadline, d, certificate_arn, r) != 0)
		return JITRD_ERR_API;
	return JITRD_OK;
}

enum jitrd_err jitrd_pipeline_decide(struct jitrd_pipeline *p,
                                     const struct jitrd_decision_context *ctx,
                                     const struct jitrd_cert *cert, const char *ca_id, time_t now,
                                     int64_t deadline_ms, struct jitrd_decision *d)
{
	struct jitrd_decision_context with_ocsp;
	struct jitrd_ocsp_answer answer;
	const struct jitrd_cert *ca;
	enum jitrd_err err;

	jitrd_decision_init(d);
	/* A current cached answer goes in from the start: one decision instead of two. The
	 * decision reads it only when [ocsp] mode asks for it. */
	ca = ca_id ? jitrd_caset_find_id(ctx->cas, ca_id) : jitrd_caset_find_issuer(ctx->cas, cert);
	if (ctx->cfg->ocsp.mode != JITRD_OCSP_MODE_OFF && ca &&
	    jitrd_ocsp_checker_cached(p->ocsp, cert, ca, now, &answer)) {
		with_ocsp = *ctx;
		with_ocsp.ocsp = &answer;
		return jitrd_decide_certificate(&with_ocsp, cert, ca_id, now, d);
	}
	err = jitrd_decide_certificate(ctx, cert, ca_id, now, d);
	if (err != JITRD_OK || !d->ocsp_wanted)
		return err;
	/* Step 6 needs the responder: I/O, so here and not in the pure decision, and only for
	 * a device the decision found nothing else against. */
	ca = jitrd_caset_find_id(ctx->cas, d->ca_id);
	if (!ca)
		return JITRD_OK; /* not reached: the decision found the CA by this id */
	err =
	    jitrd_ocsp_checker_query(p->ocsp, ctx->cfg, cert, ca, now, deadline_ms, &answer, NULL);
	if (err != JITRD_OK) {
		jitrd_text_copy(d->reason, sizeof(d->reason), "out of memory asking OCSP");
		return err;
	}
	with_ocsp = *ctx;
	with_ocsp.ocsp = &answer;
	jitrd_decision_cleanup(d);
	jitrd_decision_init(d);
	return jitrd_decide_certificate(&with_ocsp, cert, ca_id, now, d);
}

/* Steps 5-8 for a certificate AWS described as PENDING_ACTIVATION. */
static void decide_and_act(struct jitrd_pipeline *p, struct jitrd_iot_session *s,
                           const struct jitrd_decision_context *ctx, const struct jitrd_event *ev,
                           const struct jitrd_iot_certificate *described, time_t now,
                           int64_t deadline, struct jitrd_pipeline_result *r)
{
	struct jitrd_decision d;
	struct jitrd_cert *cert = NULL;
	struct jitrd_diag diag = {{0}};
	enum jitrd_err err;

	jitrd_decision_init(&d);
	if (!described->certificate_pem ||
	    jitrd_cert_from_pem(described->certificate_pem, strlen(described->certificate_pem),
	                        &cert, &diag) != JITRD_OK) {
		jitrd_diag_prefix(&diag, "the certificate AWS returned");
		finish(r, JITRD_DECISION_REJECT, 0, diag.text);
		goto cleanup;
	}
	/* AWS forms the id from the DER; a mismatch means the answer is not about this device. */
	if (strcmp(jitrd_cert_id(cert), ev->certificate_id) != 0) {
		finish(r, JITRD_DECISION_FAILED, 0,
		       "DescribeCertificate returned a certificate whose SHA-256 is not its id");
		goto cleanup;
	}
	/* The ARN is what the policy and the Thing get attached to: one that names another
	 * certificate would hand this device's grant to it. AWS's ARN format for a certificate
	 * is arn:<partition>:iot:<region>:<account>:cert/<certificateId> (Service Authorization
	 * Reference, AWS IoT resource types). */
	if (!jitrd_arn_names_certificate(described->certificate_arn, ev->certificate_id)) {
		finish(r, JITRD_DECISION_FAILED, 0,
		       "DescribeCertificate returned a certificateArn that does not end in "
		       ":cert/<the event's certificateId>; nothing attached");
		goto cleanup;
	}
	err = jitrd_pipeline_decide(p, ctx, cert, ev->ca_certificate_id, now, deadline, &d);
	jitrd_text_copy(r->serial, sizeof(r->serial), d.serial);
	jitrd_text_copy(r->subject_cn, sizeof(r->subject_cn), d.subject_cn);
	if (err != JITRD_OK) {
		/* a configuration problem (a reload may fix it) or out of memory */
		finish(r, JITRD_DECISION_FAILED, 1, *d.reason ? d.reason : jitrd_strerror(err));
		goto cleanup;
	}
	finish(r, d.kind, d.kind == JITRD_DECISION_DEFER, d.reason);
	r->time_may_change = d.time_may_change;
	if (d.kind == JITRD_DECISION_DEFER && d.crl_missing && p->opts.crl_missing)
		p->opts.crl_missing(p->opts.crl_missing_ctx, cert);
	if (d.target_status == JITRD_TARGET_LEAVE)
		goto cleanup;
	if (d.kind == JITRD_DECISION_ACTIVATE) {
		/* Step 7 before step 8: a device that reconnects the moment it is active already
		 * has its policy. */
		jitrd_text_copy(r->policy, sizeof(r->policy), d.policy_name);
		jitrd_text_copy(r->thing, sizeof(r->thing), d.thing_name);
		if (jitrd_pipeline_provision(p, s, deadline, &d, described->certificate_arn, r) !=
		    JITRD_OK) {
			/* Another device's Thing: refused like any reject, revoked when so
			 * configured; nothing was attached. */
			if (r->decision == JITRD_DECISION_REJECT) {
				r->policy[0] = '\0'; /* not attached */
				if (ctx->cfg->provision.on_reject == JITRD_ON_REJECT_REVOKE)
					set_status(s, deadline, ev->certificate_id,
					           JITRD_TARGET_REVOKED, r);
			}
			goto cleanup;
		}
	}
	set_status(s, deadline, ev->certificate_id, d.target_status, r);
cleanup:
	if (cert) {
		struct jitrd_journal_cert *row = &r->inventory;

		memset(row, 0, sizeof(*row));
		jitrd_text_copy(row->certificate_id, sizeof(row->certificate_id),
		                ev->certificate_id);
		jitrd_text_copy(row->ca_id, sizeof(row->ca_id), ev->ca_certificate_id);
		jitrd_text_copy(row->serial_hex, sizeof(row->serial_hex), d.serial);
		jitrd_text_copy(row->subject_cn, sizeof(row->subject_cn), d.subject_cn);
		jitrd_text_copy(row->status, sizeof(row->status),
		                *r->status ? r->status : "PENDING_ACTIVATION");
		jitrd_text_copy(row->last_decision, sizeof(row->last_decision),
		                jitrd_decision_name(r->decision));
		row->updated_ms = (int64_t)now * 1000;
		r->has_inventory = true;
	}
	/* the inventory is a cache for `crl sweep`: losing a row costs one describe later,
	 * so a failed write does not change the event's outcome */
	if (p->opts.journal && r->has_inventory &&
	    jitrd_journal_cert_upsert(p->opts.journal, &r->inventory, NULL) != JITRD_OK) {
		/* nothing else to do: the next sweep describes it again */
	}
	jitrd_decision_cleanup(&d);
	jitrd_cert_free(cert);
}

/* Steps 3 and 4: coalesce, then describe; everything after needs the certificate itself. */
static void process_event(struct jitrd_pipeline *p, struct jitrd_iot_session *s,
                          const struct jitrd_runtime *rt, const struct jitrd_event *ev, time_t now,
                          int64_t until, struct jitrd_pipeline_result *r)
{
	struct jitrd_decision_context ctx;
	struct jitrd_iot_certificate described = {0};
	struct jitrd_iot_result res = {0};
	struct jitrd_diag diag = {{0}};
	int64_t deadline =
	    jitrd_iot_deadline_in((int64_t)rt->cfg->service.event_deadline_seconds * 1000);
	enum jitrd_err err;

	if (until < deadline)
		deadline = until;
	jitrd_runtime_context(rt, &ctx);
	/* The event says which account the certificate lives in; a configured account must
	 * agree, so one jitrd never acts on another account's certificates. */
	if (*rt->cfg->aws.account_id && strcmp(rt->cfg->aws.account_id, ev->aws_account_id) != 0) {
		finish(r, JITRD_DECISION_IGNORE, 0, "awsAccountId is not [aws] account_id");
		return;
	}
	ctx.account_id = ev->aws_account_id;
	{
		struct jitrd_decision filtered;
		jitrd_decision_init(&filtered);
		if (jitrd_decide_filter(&ctx, ev, &filtered)) {
			finish(r, filtered.kind, 0, filtered.reason);
			return;
		}
	}
	if (enter_in_flight(p, ev->certificate_id, deadline) != 0) {
		finish(r, JITRD_DECISION_FAILED, 1,
		       "another event for this certificate was still in flight at the deadline");
		return;
	}
	err = jitrd_iot_describe_certificate(s, deadline, ev->certificate_id, &described, &res,
	                                     &diag);
	account_call(r, &res);
	if (err == JITRD_ERR_API && is_code(&res, "ResourceNotFoundException")) {
		/* AWS's control plane is eventually consistent: the event may arrive before the
		 * certificate can be described. Retried a few times (seconds apart), then failed:
		 * an id AWS never knew (a forged or replayed event) must not cost the describe
		 * budget the default bound's ten calls. The next reconcile sweep finds a real one.
		 */
		finish(r, JITRD_DECISION_FAILED, 1,
		       "DescribeCertificate: the certificate is not found");
		r->retry_limit = JITRD_PIPELINE_NOT_FOUND_ATTEMPTS;
	} else if (err != JITRD_OK) {
		call_failed(r, JITRD_IOT_DESCRIBE_CERTIFICATE, err, &res, &diag);
	} else if (described.status != JITRD_IOT_PENDING_ACTIVATION) {
		/* DESIGN §3.4: idempotent — an ACTIVE stays ACTIVE, a REVOKED stays REVOKED */
		char reason[96];
		jitrd_text_copy(r->status, sizeof(r->status),
		                jitrd_iot_status_name(described.status));
		snprintf(reason, sizeof(reason), "status is %s, not PENDING_ACTIVATION", r->status);
		finish(r, JITRD_DECISION_SKIP, 0, reason);
	} else if (*described.ca_certificate_id &&
	           strcmp(described.ca_certificate_id, ev->ca_certificate_id) != 0) {
		jitrd_text_copy(r->status, sizeof(r->status), "PENDING_ACTIVATION");
		finish(r, JITRD_DECISION_REJECT, 0,
		       "the event's caCertificateId is not the certificate's CA");
	} else {
		jitrd_text_copy(r->status, sizeof(r->status), "PENDING_ACTIVATION");
		decide_and_act(p, s, &ctx, ev, &described, now, deadline, r);
	}
	jitrd_iot_certificate_cleanup(&described);
	leave_in_flight(p, ev->certificate_id);
}

enum jitrd_err jitrd_pipeline_process(struct jitrd_pipeline *p, struct jitrd_iot_session *s,
                                      const struct jitrd_runtime *rt, const char *payload,
                                      size_t len, time_t now, struct jitrd_pipeline_result *out)
{
	return jitrd_pipeline_process_until(p, s, rt, payload, len, now, INT64_MAX, out);
}

enum jitrd_err jitrd_pipeline_process_until(struct jitrd_pipeline *p, struct jitrd_iot_session *s,
                                            const struct jitrd_runtime *rt, const char *payload,
                                            size_t len, time_t now, int64_t until,
                                            struct jitrd_pipeline_result *out)
{
	struct jitrd_event ev;
	struct jitrd_diag diag = {{0}};
	int64_t started = jitrd_clock_mono_ms();
	enum jitrd_err err;

	memset(out, 0, sizeof(*out));
	err = jitrd_event_parse(payload, len, &ev, &diag);
	if (err == JITRD_ERR_NOMEM)
		return err;
	if (err != JITRD_OK) {
		/* DESIGN §3.1: logged with the fields escaped; never retried */
		finish(out, JITRD_DECISION_INVALID, 0,
		       *diag.text ? diag.text : jitrd_strerror(err));
	} else {
		jitrd_text_copy(out->certificate_id, sizeof(out->certificate_id),
		                ev.certificate_id);
		jitrd_text_copy(out->ca_certificate_id, sizeof(out->ca_certificate_id),
		                ev.ca_certificate_id);
		process_event(p, s, rt, &ev, now, until, out);
	}
	out->duration_ms = (uint64_t)(jitrd_clock_mono_ms() - started);
	jitrd_metrics_event(p->opts.metrics, out->decision, (double)out->duration_ms / 1000.0);
	return JITRD_OK;
}

void jitrd_pipeline_outcome(const struct jitrd_pipeline_result *r, time_t now,
                            struct jitrd_outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->time = now;
	o->certificate_id = r->certificate_id;
	o->ca_certificate_id = r->ca_certificate_id;
	o->decision = r->decision;
	o->reason = r->reason;
	o->status = r->status;
	o->serial = r->serial;
	o->subject_cn = r->subject_cn;
	o->policy = r->policy;
	o->thing = r->thing;
	o->api_calls = r->api_calls;
	o->attempts = r->attempts;
	o->duration_ms = r->duration_ms;
}
