/* test_setup.c — the one online setup (setup.h): each option opens exactly what it asks for
 * and nothing else, a snapshot passed in is referenced and released, the operator's journal
 * lands 0700 in state_dir, and each failure says at which step it stopped with nothing left
 * open. No AWS call is made: the client only points at a closed loopback port. */
#include "jitrd/setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testsupport.h"

static char tmpdir[64];
static char config_path[128];
static char state_dir[128];

static const char *const good_env[] = {
    "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_EC2_METADATA_DISABLED=true", "HOME=/nonexistent", NULL};
static const char *const no_credentials_env[] = {"AWS_EC2_METADATA_DISABLED=true",
                                                 "HOME=/nonexistent", NULL};

/* Called before the suite runs: plain checks, not CUnit's. 0 or -1. */
static int write_config(void)
{
	const char *source = getenv("JITRD_SOURCE_ROOT");
	FILE *f;

	snprintf(state_dir, sizeof(state_dir), "%s/state", tmpdir);
	snprintf(config_path, sizeof(config_path), "%s/jitrd.conf", tmpdir);
	f = fopen(config_path, "w");
	if (!f)
		return -1;
	fprintf(f, "[aws]\nregion = us-east-1\naccount_id = 123456789012\n");
	fprintf(f, "endpoint = http://127.0.0.1:9\n");
	fprintf(f, "[ca]\ndir = %s\n", tsupport_fixture("cas"));
	fprintf(f, "[crl]\ndir = %s\n", tsupport_fixture("crls"));
	fprintf(f, "[provision]\npolicy_template = %s/policies/default.json\n",
	        source ? source : ".");
	fprintf(f, "policy_name = jitrd-device\n[service]\nstate_dir = %s\n", state_dir);
	return fclose(f) == 0 ? 0 : -1;
}

static void options(struct jitrd_online_options *o, const char *const *envp)
{
	jitrd_online_options_init(o);
	o->config_path = config_path;
	o->now = JITRD_TEST_NOW;
	o->envp = envp;
}

static void test_defaults_open_client_only(void)
{
	struct jitrd_online_options o;
	struct jitrd_online on;
	struct jitrd_diag diag = {{0}};

	options(&o, good_env);
	CU_ASSERT_EQUAL_FATAL(jitrd_online_open(&o, &on, &diag), JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL(on.rt);
	CU_ASSERT_PTR_NOT_NULL(on.credentials);
	CU_ASSERT_PTR_NOT_NULL(on.client);
	CU_ASSERT_PTR_NULL(on.session);
	CU_ASSERT_PTR_NULL(on.pipeline);
	CU_ASSERT_PTR_NULL(on.journal);
	CU_ASSERT_STRING_EQUAL(on.rt->config_origin, config_path);
	jitrd_online_close(&on);
	CU_ASSERT_PTR_NULL(on.rt);
	CU_ASSERT_PTR_NULL(on.client);
	jitrd_online_close(&on); /* a closed (zeroed) one is fine */
}

static void test_everything_asked(void)
{
	struct jitrd_online_options o;
	struct jitrd_online on;
	struct jitrd_diag diag = {{0}};
	struct stat st;
	char path[192];

	options(&o, good_env);
	o.session = true;
	o.pipeline = true;
	o.journal = true;
	o.resolve_credentials = true;
	rmdir(state_dir);
	CU_ASSERT_EQUAL_FATAL(jitrd_online_open(&o, &on, &diag), JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL(on.session);
	CU_ASSERT_PTR_NOT_NULL(on.pipeline);
	CU_ASSERT_PTR_NOT_NULL(on.journal);
	/* the journal of state_dir, made 0700 */
	snprintf(path, sizeof(path), "%s/%s", state_dir, JITRD_JOURNAL_FILE);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(stat(state_dir, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0700);
	jitrd_online_close(&on);
	CU_ASSERT_PTR_NULL(on.journal);
	CU_ASSERT_PTR_NULL(on.pipeline);
}

static void test_runtime_passed_in(void)
{
	struct jitrd_online_options o;
	struct jitrd_online on;
	struct jitrd_diag diag = {{0}};
	struct jitrd_runtime *rt = jitrd_runtime_new(config_path, JITRD_TEST_NOW, &diag);

	CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
	options(&o, good_env);
	o.runtime = rt;
	o.config_path = "/nonexistent/unused.conf"; /* not read: the snapshot is given */
	o.pipeline = true;
	CU_ASSERT_EQUAL_FATAL(jitrd_online_open(&o, &on, &diag), JITRD_OK);
	CU_ASSERT_PTR_EQUAL(on.rt, rt);
	CU_ASSERT_EQUAL(atomic_load(&rt->refs), 2);
	jitrd_online_close(&on);
	CU_ASSERT_EQUAL(atomic_load(&rt->refs), 1);
	jitrd_runtime_unref(rt);
}

static void test_failures_say_where(void)
{
	struct jitrd_online_options o;
	struct jitrd_online on;
	struct jitrd_diag diag = {{0}};

	options(&o, good_env);
	o.config_path = "/nonexistent/jitrd.conf";
	o.session = true;
	CU_ASSERT_EQUAL(jitrd_online_open(&o, &on, &diag), JITRD_ERR_CONFIG);
	CU_ASSERT_EQUAL(on.failed_step, JITRD_ONLINE_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "/nonexistent/jitrd.conf"));
	CU_ASSERT_PTR_NULL(on.rt);
	CU_ASSERT_PTR_NULL(on.client);
	CU_ASSERT_PTR_NULL(on.session);
	jitrd_online_close(&on);

	/* no credentials anywhere: found out at the start only when asked to resolve them */
	options(&o, no_credentials_env);
	o.session = true;
	CU_ASSERT_EQUAL_FATAL(jitrd_online_open(&o, &on, &diag), JITRD_OK);
	jitrd_online_close(&on);
	memset(&diag, 0, sizeof(diag));
	o.resolve_credentials = true;
	CU_ASSERT_NOT_EQUAL(jitrd_online_open(&o, &on, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(on.failed_step, JITRD_ONLINE_CREDENTIALS);
	CU_ASSERT_NOT_EQUAL(diag.text[0], '\0');
	CU_ASSERT_PTR_NULL(on.session); /* stopped before the session */
	jitrd_online_close(&on);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"defaults: runtime, credentials and client only", test_defaults_open_client_only},
	    {"session, pipeline, journal (0700 state_dir), credentials resolved",
	     test_everything_asked},
	    {"a snapshot passed in is referenced and released", test_runtime_passed_in},
	    {"failures say at which step, nothing left open", test_failures_say_where},
	    {NULL, NULL},
	};
	char path[192];
	int status;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_setup.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	status = write_config() == 0 ? tsupport_run("setup", cases) : 1;
	snprintf(path, sizeof(path), "rm -rf '%s'", tmpdir);
	if (system(path) != 0)
		status = 1;
	return status;
}
