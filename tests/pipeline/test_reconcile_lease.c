/* test_reconcile_lease.c — integration: the reconcile lease of several hosts
 * (jitrd_pipeline_reconcile_lease) against the real iot-emulator on 127.0.0.1: the first host
 * creates the lease Thing, the second waits while it is held, the holder renews it, another
 * takes it once it has expired, a host that read the lease before another took it loses on
 * UpdateThing's expectedVersion, and a garbled lease is taken over. Also the client's
 * UpdateThing and DescribeThing of several attributes on their own. */
#include "jitrd/pipeline.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jitrd/iot_client.h"
#include "jitrd/lease.h"
#include "stub_server.h"
#include "testsupport.h"

#define KEY_ID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define THING  "jitrd-reconcile-lease"
#define NOW    ((int64_t)1800000000)
#define EVERY  30 /* reconcile_seconds: a lease of 2 × 30 + 60 s */

static struct emulator *emu;

struct session {
	struct jitrd_credentials_provider *creds;
	struct jitrd_iot_client *client;
	struct jitrd_iot_session *s;
};

static int open_session(struct session *ss)
{
	const char *envp[] = {"AWS_ACCESS_KEY_ID=" KEY_ID, "AWS_SECRET_ACCESS_KEY=" SECRET,
	                      "AWS_EC2_METADATA_DISABLED=true", "HOME=/nonexistent", NULL};
	struct jitrd_credentials_options co;
	struct jitrd_iot_client_options opts;

	memset(ss, 0, sizeof(*ss));
	jitrd_iot_client_options_init(&opts, NULL);
	opts.endpoint = emulator_url(emu);
	opts.backoff.base_ms = 5;
	jitrd_credentials_options_init(&co);
	co.envp = envp;
	if (jitrd_credentials_new(&co, &ss->creds, NULL) == JITRD_OK &&
	    jitrd_iot_client_new(&opts, ss->creds, &ss->client, NULL) == JITRD_OK &&
	    jitrd_iot_session_new(ss->client, &ss->s) == JITRD_OK)
		return 0;
	return -1;
}

static void close_session(struct session *ss)
{
	jitrd_iot_session_free(ss->s);
	jitrd_iot_client_free(ss->client);
	jitrd_credentials_free(ss->creds);
	memset(ss, 0, sizeof(*ss));
}

/* One host's attempt: its *held, with JITRD_OK asserted. */
static int attempt(struct session *ss, const char *holder, int64_t now, char *seen)
{
	struct jitrd_diag diag = {{0}};
	int held = -1;
	enum jitrd_err err =
	    jitrd_pipeline_reconcile_lease(ss->s, THING, holder, now, EVERY, &held, seen, &diag);

	if (err != JITRD_OK)
		fprintf(stderr, "lease of %s: %d %s\n", holder, (int)err, diag.text);
	CU_ASSERT_EQUAL(err, JITRD_OK);
	return held;
}

static void lease_attributes(struct session *ss, char *holder, char *expires, long long *version)
{
	struct jitrd_iot_attribute_value v[2] = {{.name = JITRD_LEASE_ATTR_HOLDER},
	                                         {.name = JITRD_LEASE_ATTR_EXPIRES}};
	struct jitrd_iot_thing thing = {0};
	struct jitrd_iot_result res;
	struct jitrd_diag diag;

	CU_ASSERT_EQUAL(jitrd_iot_describe_thing_attributes(ss->s, jitrd_iot_deadline_in(5000),
	                                                    THING, v, 2, &thing, &res, &diag),
	                JITRD_OK);
	snprintf(holder, JITRD_LEASE_MAX_HOLDER, "%.*s", JITRD_LEASE_MAX_HOLDER - 1, v[0].value);
	snprintf(expires, JITRD_LEASE_MAX_EXPIRES, "%.*s", JITRD_LEASE_MAX_EXPIRES - 1, v[1].value);
	*version = thing.version;
}

static void test_lease_turns(void)
{
	struct session a, b;
	char seen[JITRD_LEASE_MAX_HOLDER], holder[JITRD_LEASE_MAX_HOLDER];
	char expires[JITRD_LEASE_MAX_EXPIRES];
	long long version = 0;
	const int64_t ttl = jitrd_lease_seconds(EVERY);

	CU_ASSERT_EQUAL_FATAL(open_session(&a), 0);
	CU_ASSERT_EQUAL_FATAL(open_session(&b), 0);

	/* no Thing yet: host a creates it and holds the lease */
	CU_ASSERT_EQUAL(attempt(&a, "host-a:1", NOW, seen), 1);
	CU_ASSERT_STRING_EQUAL(seen, "");
	lease_attributes(&a, holder, expires, &version);
	CU_ASSERT_STRING_EQUAL(holder, "host-a:1");
	CU_ASSERT_EQUAL(version, 1);
	/* host b waits while it is held, and writes nothing */
	CU_ASSERT_EQUAL(attempt(&b, "host-b:2", NOW + 1, seen), 0);
	CU_ASSERT_STRING_EQUAL(seen, "host-a:1");
	CU_ASSERT_EQUAL(attempt(&b, "host-b:2", NOW + ttl - 1, seen), 0);
	lease_attributes(&a, holder, expires, &version);
	CU_ASSERT_EQUAL(version, 1);
	/* the holder renews at its next sweep: a new expiry, a new version */
	CU_ASSERT_EQUAL(attempt(&a, "host-a:1", NOW + EVERY, seen), 1);
	lease_attributes(&a, holder, expires, &version);
	CU_ASSERT_EQUAL(version, 2);
	{
		char want[JITRD_LEASE_MAX_EXPIRES];
		CU_ASSERT_EQUAL(jitrd_lease_expires(NOW + EVERY, EVERY, want, sizeof(want)),
		                JITRD_OK);
		CU_ASSERT_STRING_EQUAL(expires, want);
	}
	/* host a dies: once its lease has expired, host b takes it, and a then waits */
	CU_ASSERT_EQUAL(attempt(&b, "host-b:2", NOW + EVERY + ttl - 1, seen), 0);
	CU_ASSERT_EQUAL(attempt(&b, "host-b:2", NOW + EVERY + ttl, seen), 1);
	CU_ASSERT_STRING_EQUAL(seen, "host-a:1");
	lease_attributes(&a, holder, expires, &version);
	CU_ASSERT_STRING_EQUAL(holder, "host-b:2");
	CU_ASSERT_EQUAL(version, 3);
	CU_ASSERT_EQUAL(attempt(&a, "host-a:1", NOW + EVERY + ttl + 1, seen), 0);
	CU_ASSERT_STRING_EQUAL(seen, "host-b:2");
	close_session(&a);
	close_session(&b);
}

static void test_lease_race_and_garble(void)
{
	struct session a;
	struct jitrd_iot_result res;
	struct jitrd_diag diag;
	char seen[JITRD_LEASE_MAX_HOLDER], holder[JITRD_LEASE_MAX_HOLDER];
	char expires[JITRD_LEASE_MAX_EXPIRES];
	long long version = 0;
	struct jitrd_iot_attribute garbled[2] = {{JITRD_LEASE_ATTR_HOLDER, "host-x:9"},
	                                         {JITRD_LEASE_ATTR_EXPIRES, "soon"}};
	struct jitrd_iot_attribute mine[2] = {{JITRD_LEASE_ATTR_HOLDER, "host-c:3"},
	                                      {JITRD_LEASE_ATTR_EXPIRES, "1"}};

	CU_ASSERT_EQUAL_FATAL(open_session(&a), 0);
	lease_attributes(&a, holder, expires, &version);
	/* a host that read version `version` and was overtaken loses: VersionConflictException */
	CU_ASSERT_EQUAL(jitrd_iot_update_thing_attributes(a.s, jitrd_iot_deadline_in(5000), THING,
	                                                  garbled, 2, version, &res, &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_iot_update_thing_attributes(a.s, jitrd_iot_deadline_in(5000), THING,
	                                                  mine, 2, version, &res, &diag),
	                JITRD_ERR_API);
	CU_ASSERT_STRING_EQUAL(res.code, "VersionConflictException");
	CU_ASSERT_EQUAL(res.http_status, 409);
	lease_attributes(&a, holder, expires, &version);
	CU_ASSERT_STRING_EQUAL(holder, "host-x:9");
	CU_ASSERT_STRING_EQUAL(expires, "soon");
	/* a garbled expiry does not stop every host for ever: it is taken over */
	CU_ASSERT_EQUAL(attempt(&a, "host-c:3", NOW, seen), 1);
	CU_ASSERT_STRING_EQUAL(seen, "host-x:9");
	lease_attributes(&a, holder, expires, &version);
	CU_ASSERT_STRING_EQUAL(holder, "host-c:3");
	/* inputs outside AWS's patterns are refused before anything is sent */
	CU_ASSERT_EQUAL(jitrd_iot_update_thing_attributes(a.s, jitrd_iot_deadline_in(5000), THING,
	                                                  mine, 2, 0, &res, &diag),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_iot_update_thing_attributes(a.s, jitrd_iot_deadline_in(5000),
	                                                  "bad/name", mine, 2, 1, &res, &diag),
	                JITRD_ERR_INVALID_ARG);
	{
		struct jitrd_iot_attribute spaced = {JITRD_LEASE_ATTR_HOLDER, "a b"};
		CU_ASSERT_EQUAL(jitrd_iot_update_thing_attributes(a.s, jitrd_iot_deadline_in(5000),
		                                                  THING, &spaced, 1, 1, &res,
		                                                  &diag),
		                JITRD_ERR_INVALID_ARG);
	}
	{
		int held = 7;
		CU_ASSERT_EQUAL(jitrd_pipeline_reconcile_lease(a.s, THING, "h:1", -1, EVERY, &held,
		                                               NULL, &diag),
		                JITRD_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(held, 7);
		CU_ASSERT_EQUAL(jitrd_pipeline_reconcile_lease(a.s, "no such/thing", "h:1", NOW,
		                                               EVERY, &held, NULL, &diag),
		                JITRD_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(held, 7);
	}
	close_session(&a);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"create, wait, renew, expire, take over", test_lease_turns},
	    {"a lost race and a garbled lease", test_lease_race_and_garble},
	    {NULL, NULL},
	};
	int status;

	emu = emulator_start(KEY_ID, SECRET);
	if (!emu) {
		fprintf(stderr, "iot-emulator did not start\n");
		return 1;
	}
	status = tsupport_run("reconcile_lease", cases);
	emulator_stop(emu);
	return status;
}
