/* test_runtime.c — the runtime snapshot (src/pipeline/runtime.c) over the fixture PKI: a good
 * configuration loads its CAs, CRLs and templates; references keep it alive; a bad
 * configuration, CA directory, template or CRL record fails with diag naming the file; an
 * unreadable CRL directory is not fatal; and the CRL rollback floors are read, raised and
 * written. Files go to a temporary directory removed at the end. */
#include "jitrd/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jitrd/cert.h"
#include "testsupport.h"

static char tmpdir[64];
static char fx_cas[1024], fx_crls[1024], template_path[1024];

/* tmpdir/name, in one of a few static slots. */
static const char *tmp_path(const char *name)
{
	static char paths[8][256];
	static int slot;
	char *path = paths[slot++ % 8];

	snprintf(path, 256, "%s/%s", tmpdir, name);
	return path;
}

static const char *write_file(const char *name, const char *text)
{
	const char *path = tmp_path(name);
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fputs(text, f) >= 0, 1);
	CU_ASSERT_EQUAL(fclose(f), 0);
	return path;
}

/* A configuration file over the fixtures; each argument NULL for the good default. extra is
 * appended (more keys of the last section, [service]). */
static const char *write_config(const char *name, const char *ca_dir, const char *crl_dir,
                                const char *template, const char *extra)
{
	char text[4096 + 512];

	snprintf(text, sizeof(text),
	         "[aws]\nregion = us-east-1\naccount_id = 123456789012\n"
	         "[ca]\ndir = %s\n[crl]\ndir = %s\n"
	         "[provision]\npolicy_template = %s\npolicy_name = jitrd-device\n"
	         "thing_name = {{subject.CN}}\n[service]\nstate_dir = %s/state\n%s",
	         ca_dir ? ca_dir : fx_cas, crl_dir ? crl_dir : fx_crls,
	         template ? template : template_path, tmpdir, extra ? extra : "");
	return write_file(name, text);
}

static int suite_init(void)
{
	const char *src = getenv("JITRD_SOURCE_ROOT");

	if (!src)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/jitrd-runtime-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(fx_cas, sizeof(fx_cas), "%s", tsupport_fixture("cas"));
	snprintf(fx_crls, sizeof(fx_crls), "%s", tsupport_fixture("crls"));
	snprintf(template_path, sizeof(template_path), "%s/policies/default.json", src);
	return mkdir(tmp_path("state"), 0700) == 0 && mkdir(tmp_path("empty"), 0700) == 0 ? 0 : -1;
}

static void suite_cleanup(void)
{
	static const char *const files[] = {"good.conf",  "bad.conf",   "nodir.conf",
	                                    "empty.conf", "tpl.conf",   "bad-tpl.json",
	                                    "allow.conf", "nocrl.conf", "state/crl-numbers"};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(tmp_path(files[i]));
	rmdir(tmp_path("state"));
	rmdir(tmp_path("empty"));
	rmdir(tmpdir);
}

static void test_good_configuration(void)
{
	const char *path = write_config("good.conf", NULL, NULL, NULL, NULL);
	struct jitrd_diag diag = {{0}};
	struct jitrd_runtime rt;
	struct jitrd_decision_context ctx;

	CU_ASSERT_EQUAL_FATAL(jitrd_runtime_load(&rt, path, JITRD_TEST_NOW, &diag), 0);
	CU_ASSERT_STRING_EQUAL(diag.text, "");
	CU_ASSERT_STRING_EQUAL(rt.config_origin, path);
	CU_ASSERT_STRING_EQUAL(rt.cfg->aws.region, "us-east-1");
	CU_ASSERT_EQUAL(jitrd_caset_count(rt.cas), 2); /* ca1.pem, ca2.pem */
	CU_ASSERT_PTR_NULL(rt.anchors);
	CU_ASSERT_PTR_NOT_NULL(rt.policy_template);
	CU_ASSERT(rt.policy_sample_chars > 100);
	CU_ASSERT_STRING_EQUAL(rt.crl_dir_error, "");
	CU_ASSERT_STRING_EQUAL(rt.crl_floors_note, "");
	/* both fixture CRLs (PEM and DER) accepted: every CA has its CRL */
	CU_ASSERT_EQUAL(jitrd_crl_builder_file_count(rt.crl_builder), 2);
	for (size_t i = 0; i < jitrd_caset_count(rt.cas); i++) {
		const struct jitrd_crl_info *info =
		    jitrd_crl_store_info(rt.crls, jitrd_caset_at(rt.cas, i));

		CU_ASSERT_PTR_NOT_NULL(info);
		if (info)
			CU_ASSERT_FALSE(info->stale);
	}
	CU_ASSERT_EQUAL(jitrd_crl_store_rollback_count(rt.crls), 0);
	jitrd_runtime_context(&rt, &ctx);
	CU_ASSERT_PTR_EQUAL(ctx.cfg, rt.cfg);
	CU_ASSERT_PTR_EQUAL(ctx.cas, rt.cas);
	CU_ASSERT_PTR_EQUAL(ctx.crls, rt.crls);
	CU_ASSERT_STRING_EQUAL(ctx.account_id, "123456789012");
	jitrd_runtime_cleanup(&rt);
	CU_ASSERT_PTR_NULL(rt.cfg);
	CU_ASSERT_PTR_NULL(rt.cas);
}

/* Judged at a time past the CRLs' nextUpdate, they are stale but still loaded. */
static void test_crls_judged_at_now(void)
{
	const char *path = write_config("good.conf", NULL, NULL, NULL, NULL);
	struct jitrd_runtime *rt = jitrd_runtime_new(path, JITRD_TEST_NOW + 400L * 86400, NULL);
	const struct jitrd_crl_info *info;

	CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
	info = jitrd_crl_store_info(rt->crls, jitrd_caset_at(rt->cas, 0));
	CU_ASSERT_PTR_NOT_NULL(info);
	if (info)
		CU_ASSERT_TRUE(info->stale);
	jitrd_runtime_unref(rt);
}

static void test_references(void)
{
	const char *path = write_config("good.conf", NULL, NULL, NULL, NULL);
	struct jitrd_diag diag = {{0}};
	struct jitrd_runtime *rt = jitrd_runtime_new(path, JITRD_TEST_NOW, &diag);

	CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
	CU_ASSERT_EQUAL(atomic_load(&rt->refs), 1);
	CU_ASSERT_PTR_EQUAL(jitrd_runtime_ref(rt), rt);
	CU_ASSERT_EQUAL(atomic_load(&rt->refs), 2);
	/* the first holder lets go; the second still reads a whole snapshot */
	jitrd_runtime_unref(rt);
	CU_ASSERT_EQUAL(atomic_load(&rt->refs), 1);
	CU_ASSERT_EQUAL(jitrd_caset_count(rt->cas), 2);
	CU_ASSERT_STRING_EQUAL(rt->cfg->provision.policy_name, "jitrd-device");
	jitrd_runtime_unref(rt); /* freed here: the sanitizer run sees a leak or a double free */
	jitrd_runtime_unref(NULL);
}

/* Each fatal problem fails the load with diag naming where. */
static void test_fatal_problems(void)
{
	char missing_dir[300];
	const char *bad_template =
	    write_file("bad-tpl.json", "{\"Statement\":[{\"Resource\":\"{{subject.XX}}\"}]}\n");
	struct {
		const char *name;
		const char *path;
		const char *expect; /* in diag */
	} cases[] = {
	    {"syntax", write_file("bad.conf", "[aws\nregion = us-east-1\n"), "bad.conf"},
	    {"missing file", tmp_path("absent.conf"), "absent.conf"},
	    {"CA dir missing", NULL, "[ca] dir"},
	    {"CA dir empty", write_config("empty.conf", tmp_path("empty"), NULL, NULL, NULL),
	     "no CA certificate found"},
	    {"template placeholder", write_config("tpl.conf", NULL, NULL, bad_template, NULL),
	     "bad-tpl.json"},
	    {"allow names no CA",
	     write_config("allow.conf", NULL, NULL, NULL,
	                  "[ca]\nallow = "
	                  "0000000000000000000000000000000000000000000000000000000000000000\n"),
	     "[ca] allow"},
	};

	snprintf(missing_dir, sizeof(missing_dir), "%s/no-such-dir", tmpdir);
	cases[2].path = write_config("nodir.conf", missing_dir, NULL, NULL, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_diag diag = {{0}};
		struct jitrd_runtime rt;
		struct jitrd_runtime *heap;

		CU_ASSERT_NOT_EQUAL(jitrd_runtime_load(&rt, cases[i].path, JITRD_TEST_NOW, &diag),
		                    0);
		jitrd_runtime_cleanup(&rt);
		if (!strstr(diag.text, cases[i].expect))
			fprintf(stderr, "%s: diag \"%s\" lacks \"%s\"\n", cases[i].name, diag.text,
			        cases[i].expect);
		CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, cases[i].expect));
		memset(&diag, 0, sizeof(diag));
		heap = jitrd_runtime_new(cases[i].path, JITRD_TEST_NOW, &diag);
		CU_ASSERT_PTR_NULL(heap);
		jitrd_runtime_unref(heap);
		CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, cases[i].expect));
	}
}

/* An unreadable CRL directory is not fatal: the CAs are left without CRLs (their devices are
 * deferred) and the runtime says why. */
static void test_crl_dir_missing(void)
{
	char missing_dir[300];
	const char *path;
	struct jitrd_runtime *rt;

	snprintf(missing_dir, sizeof(missing_dir), "%s/no-crls", tmpdir);
	path = write_config("nocrl.conf", NULL, missing_dir, NULL, NULL);
	rt = jitrd_runtime_new(path, JITRD_TEST_NOW, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
	CU_ASSERT_PTR_NOT_NULL(strstr(rt->crl_dir_error, "[crl] dir"));
	CU_ASSERT_PTR_NULL(jitrd_crl_store_info(rt->crls, jitrd_caset_at(rt->cas, 0)));
	jitrd_runtime_unref(rt);
}

/* The rollback floors: saved by the service, read by every load; a CRL below its floor is
 * refused (its CA then has none); a damaged record is fatal. */
static void test_crl_floors(void)
{
	const char *path = write_config("good.conf", NULL, NULL, NULL, NULL);
	const char *record = tmp_path("state/crl-numbers");
	struct jitrd_diag diag = {{0}};
	struct jitrd_crl_floors *saved = NULL, *high = NULL;
	struct jitrd_runtime *rt;
	const struct jitrd_cert *ca1;
	char key[65], text[256];
	struct stat st;

	unlink(record);
	rt = jitrd_runtime_new(path, JITRD_TEST_NOW, &diag);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
	CU_ASSERT_EQUAL(jitrd_crl_floors_count(rt->crl_floors), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(rt->crl_floors_path, "/state/crl-numbers"));
	/* saved: mode 0600, one floor per CA's CRL */
	CU_ASSERT_EQUAL(jitrd_runtime_save_crl_floors(rt, &saved, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(stat(record, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(jitrd_crl_floors_count(saved), 2);
	ca1 = jitrd_caset_at(rt->cas, 0);
	CU_ASSERT_TRUE_FATAL(jitrd_crl_store_issuer_key(rt->crls, ca1, key));
	jitrd_crl_floors_free(saved);
	jitrd_runtime_unref(rt);

	/* read back: the same CRLs are no rollback */
	rt = jitrd_runtime_new(path, JITRD_TEST_NOW, &diag);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
	CU_ASSERT_EQUAL(jitrd_crl_floors_count(rt->crl_floors), 2);
	CU_ASSERT_EQUAL(jitrd_crl_store_rollback_count(rt->crls), 0);
	jitrd_runtime_unref(rt);

	/* a floor far above the fixture CRL's number: that CRL is a rollback */
	snprintf(text, sizeof(text), "jitrd-crl-numbers 1\n%s - ffffff\nend 1\n", key);
	write_file("state/crl-numbers", text);
	rt = jitrd_runtime_new(path, JITRD_TEST_NOW, &diag);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
	CU_ASSERT_EQUAL(jitrd_crl_store_rollback_count(rt->crls), 1);
	CU_ASSERT_PTR_NULL(jitrd_crl_store_info(rt->crls, jitrd_caset_at(rt->cas, 0)));
	CU_ASSERT_PTR_NOT_NULL(jitrd_crl_store_info(rt->crls, jitrd_caset_at(rt->cas, 1)));
	jitrd_runtime_unref(rt);

	/* the same floor known to the caller (the service's last accepted numbers) counts even
	 * when the file lags behind */
	unlink(record);
	CU_ASSERT_EQUAL_FATAL(jitrd_crl_floors_parse("known", text, strlen(text), &high, &diag),
	                      JITRD_OK);
	rt = jitrd_runtime_new_with_floors(path, JITRD_TEST_NOW, high, &diag);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
	CU_ASSERT_EQUAL(jitrd_crl_store_rollback_count(rt->crls), 1);
	jitrd_runtime_unref(rt);
	jitrd_crl_floors_free(high);

	/* a damaged record stops the load, naming the file and the way out */
	snprintf(text, sizeof(text), "jitrd-crl-numbers 1\n%s - a\n", key); /* no end line */
	write_file("state/crl-numbers", text);
	memset(&diag, 0, sizeof(diag));
	rt = jitrd_runtime_new(path, JITRD_TEST_NOW, &diag);
	CU_ASSERT_PTR_NULL(rt);
	jitrd_runtime_unref(rt);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "CRL numbers (delete the file to reset them"));
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "crl-numbers"));
	unlink(record);
}

/* The successor of a snapshot on a reload: swapped when it keeps every CA's CRL; refused, yet
 * handed over for its rollbacks to be logged, when a CA would lose its CRL; nothing when the
 * configuration does not load. */
static void test_successor(void)
{
	const char *good = write_config("good.conf", NULL, NULL, NULL, NULL);
	char missing_dir[300], key[65], text[256];
	struct jitrd_diag diag = {{0}};
	struct jitrd_crl_floors *high = NULL;
	struct jitrd_runtime *current, *next = NULL;

	unlink(tmp_path("state/crl-numbers"));
	current = jitrd_runtime_new(good, JITRD_TEST_NOW, &diag);
	CU_ASSERT_PTR_NOT_NULL_FATAL(current);
	CU_ASSERT_EQUAL(jitrd_runtime_successor(good, current, NULL, JITRD_TEST_NOW, &next, &diag),
	                JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL(next);
	CU_ASSERT_PTR_NOT_NULL(next ? jitrd_crl_store_info(next->crls, jitrd_caset_at(next->cas, 0))
	                            : NULL);
	jitrd_runtime_unref(next);

	/* the CRL directory gone: the CAs would lose their CRLs */
	snprintf(missing_dir, sizeof(missing_dir), "%s/no-crls", tmpdir);
	next = NULL;
	memset(&diag, 0, sizeof(diag));
	CU_ASSERT_EQUAL(
	    jitrd_runtime_successor(write_config("nocrl.conf", NULL, missing_dir, NULL, NULL),
	                            current, NULL, JITRD_TEST_NOW, &next, &diag),
	    JITRD_ERR_NO_CRL);
	CU_ASSERT_PTR_NOT_NULL(next);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "would lose its CRL"));
	jitrd_runtime_unref(next);

	/* floors above the first CA's CRL: a rollback, readable in the refused snapshot */
	CU_ASSERT_TRUE_FATAL(
	    jitrd_crl_store_issuer_key(current->crls, jitrd_caset_at(current->cas, 0), key));
	snprintf(text, sizeof(text), "jitrd-crl-numbers 1\n%s - ffffff\nend 1\n", key);
	CU_ASSERT_EQUAL_FATAL(jitrd_crl_floors_parse("known", text, strlen(text), &high, &diag),
	                      JITRD_OK);
	next = NULL;
	CU_ASSERT_EQUAL(jitrd_runtime_successor(good, current, high, JITRD_TEST_NOW, &next, &diag),
	                JITRD_ERR_NO_CRL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(next);
	CU_ASSERT_EQUAL(jitrd_crl_store_rollback_count(next->crls), 1);
	jitrd_runtime_unref(next);
	jitrd_crl_floors_free(high);

	/* a configuration that does not load: nothing to log but diag */
	next = current; /* overwritten */
	memset(&diag, 0, sizeof(diag));
	CU_ASSERT_EQUAL(jitrd_runtime_successor(write_file("bad.conf", "[aws\n"), current, NULL,
	                                        JITRD_TEST_NOW, &next, &diag),
	                JITRD_ERR_CONFIG);
	CU_ASSERT_PTR_NULL(next);
	CU_ASSERT_NOT_EQUAL(diag.text[0], '\0');
	CU_ASSERT_EQUAL(jitrd_runtime_successor(good, NULL, NULL, JITRD_TEST_NOW, &next, &diag),
	                JITRD_ERR_INVALID_ARG);
	jitrd_runtime_unref(current);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"a good configuration loads CAs, CRLs and templates", test_good_configuration},
	    {"CRLs are judged at the load's now", test_crls_judged_at_now},
	    {"references keep the snapshot alive", test_references},
	    {"fatal problems fail with diag naming where", test_fatal_problems},
	    {"a missing CRL directory is not fatal", test_crl_dir_missing},
	    {"CRL rollback floors are read, raised and written", test_crl_floors},
	    {"a reload's successor keeps every CA's CRL or is refused", test_successor},
	    {NULL, NULL},
	};
	int status;

	if (suite_init() != 0) {
		fprintf(stderr, "cannot set up a temporary directory or JITRD_SOURCE_ROOT\n");
		return 1;
	}
	status = tsupport_run("runtime", cases);
	suite_cleanup();
	return status;
}
