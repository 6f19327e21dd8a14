/* test_crl_refresh.c — unit tests of the refresher's parts that need no network: the cache
 * metadata parser (good, truncated, malformed, oversized, hostile JSON: a clear error and the
 * output untouched), its round trip, the cache file names, the URL shown in logs, the fetch
 * options, and a refresher that ignores a cache entry whose metadata is bad or foreign. The
 * fetches themselves are tested by tests/integration/test-crl-refresh.sh. */
#include "jitrd/crl_refresh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testsupport.h"

#define GOOD_META                                                                                  \
	"{\"url\":\"http://crl.example/ca.crl?sig=x\",\"final_url\":\"http://crl.example/"         \
	"ca.crl\","                                                                                \
	"\"etag\":\"\\\"abc\\\"\",\"last_modified\":\"Tue, 01 Dec 2026 00:00:00 GMT\","            \
	"\"crl_number\":7,\"fetched_at\":1800000000,\"this_update\":1799990000,"                   \
	"\"next_update\":1800600000,\"ca\":\"0123\"}"

static void test_meta_good(void)
{
	struct jitrd_crl_cache_meta m;
	struct jitrd_diag diag = {{0}};
	const char *minimal = "{\"url\":\"http://h/x\",\"crl_number\":-1,\"fetched_at\":0,"
			      "\"this_update\":0,\"next_update\":0}";

	CU_ASSERT_EQUAL_FATAL(
	    jitrd_crl_cache_meta_parse("m.json", GOOD_META, strlen(GOOD_META), &m, &diag),
	    JITRD_OK);
	CU_ASSERT_STRING_EQUAL(m.url, "http://crl.example/ca.crl?sig=x");
	CU_ASSERT_STRING_EQUAL(m.final_url, "http://crl.example/ca.crl");
	CU_ASSERT_STRING_EQUAL(m.etag, "\"abc\"");
	CU_ASSERT_STRING_EQUAL(m.last_modified, "Tue, 01 Dec 2026 00:00:00 GMT");
	CU_ASSERT_EQUAL(m.crl_number, 7);
	CU_ASSERT_EQUAL(m.fetched_at, 1800000000);
	CU_ASSERT_EQUAL(m.this_update, 1799990000);
	CU_ASSERT_EQUAL(m.next_update, 1800600000);
	CU_ASSERT_STRING_EQUAL(m.ca, "0123");
	CU_ASSERT_EQUAL(jitrd_crl_cache_meta_parse("m.json", minimal, strlen(minimal), &m, &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL(m.crl_number, -1);
	CU_ASSERT_STRING_EQUAL(m.etag, "");
}

static void test_meta_bad(void)
{
	static char long_etag[600], deep[200], big[JITRD_CRL_CACHE_META_MAX + 2];
	const char *base = "\"crl_number\":1,\"fetched_at\":1,\"this_update\":1,\"next_update\":1";
	struct {
		const char *name;
		const char *text;
		size_t len; /* 0: strlen */
		enum jitrd_err want;
	} cases[] = {
	    {"empty", "", 0, JITRD_ERR_MALFORMED},
	    {"truncated", GOOD_META, 40, JITRD_ERR_MALFORMED},
	    {"truncated at the end", GOOD_META, sizeof(GOOD_META) - 2, JITRD_ERR_MALFORMED},
	    {"not JSON", "url=http://h/x", 0, JITRD_ERR_MALFORMED},
	    {"array", "[1,2]", 0, JITRD_ERR_MALFORMED},
	    {"string", "\"x\"", 0, JITRD_ERR_MALFORMED},
	    {"trailing garbage", NULL, 0, JITRD_ERR_MALFORMED},
	    {"two objects", NULL, 0, JITRD_ERR_MALFORMED},
	    {"missing url", NULL, 0, JITRD_ERR_MALFORMED},
	    {"url a number", NULL, 0, JITRD_ERR_MALFORMED},
	    {"url empty", NULL, 0, JITRD_ERR_MALFORMED},
	    {"url with NUL", NULL, 0, JITRD_ERR_MALFORMED},
	    {"etag control byte", NULL, 0, JITRD_ERR_MALFORMED},
	    {"etag too long", NULL, 0, JITRD_ERR_MALFORMED},
	    {"number below -1", NULL, 0, JITRD_ERR_MALFORMED},
	    {"number a string", NULL, 0, JITRD_ERR_MALFORMED},
	    {"number a float", NULL, 0, JITRD_ERR_MALFORMED},
	    {"number overflows", NULL, 0, JITRD_ERR_MALFORMED},
	    {"time negative", NULL, 0, JITRD_ERR_MALFORMED},
	    {"missing time", NULL, 0, JITRD_ERR_MALFORMED},
	    {"unknown member", NULL, 0, JITRD_ERR_MALFORMED},
	    {"deep nesting", deep, 0, JITRD_ERR_MALFORMED},
	    {"oversized", big, sizeof(big) - 1, JITRD_ERR_TOO_LARGE},
	};
	char texts[sizeof(cases) / sizeof(cases[0])][1024];

	memset(long_etag, 'e', sizeof(long_etag) - 1);
	for (size_t i = 0; i < 90; i++) {
		deep[i] = '[';
		deep[90 + i] = ']';
	}
	memset(big, ' ', sizeof(big) - 1);
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	snprintf(texts[6], sizeof(texts[6]), "{\"url\":\"http://h/x\",%s} x", base);
	snprintf(texts[7], sizeof(texts[7]), "{\"url\":\"http://h/x\",%s}{}", base);
	snprintf(texts[8], sizeof(texts[8]), "{%s}", base);
	snprintf(texts[9], sizeof(texts[9]), "{\"url\":5,%s}", base);
	snprintf(texts[10], sizeof(texts[10]), "{\"url\":\"\",%s}", base);
	snprintf(texts[11], sizeof(texts[11]), "{\"url\":\"http://h/\\u0000x\",%s}", base);
	snprintf(texts[12], sizeof(texts[12]), "{\"url\":\"http://h/x\",\"etag\":\"a\\u0001\",%s}",
	         base);
	snprintf(texts[13], sizeof(texts[13]), "{\"url\":\"http://h/x\",\"etag\":\"%.300s\",%s}",
	         long_etag, base);
	snprintf(texts[14], sizeof(texts[14]),
	         "{\"url\":\"h\",\"crl_number\":-2,\"fetched_at\":1,\"this_update\":1,"
	         "\"next_update\":1}");
	snprintf(texts[15], sizeof(texts[15]),
	         "{\"url\":\"h\",\"crl_number\":\"1\",\"fetched_at\":1,\"this_update\":1,"
	         "\"next_update\":1}");
	snprintf(texts[16], sizeof(texts[16]),
	         "{\"url\":\"h\",\"crl_number\":1.5,\"fetched_at\":1,\"this_update\":1,"
	         "\"next_update\":1}");
	snprintf(texts[17], sizeof(texts[17]),
	         "{\"url\":\"h\",\"crl_number\":99999999999999999999999,\"fetched_at\":1,"
	         "\"this_update\":1,\"next_update\":1}");
	snprintf(texts[18], sizeof(texts[18]),
	         "{\"url\":\"h\",\"crl_number\":1,\"fetched_at\":-1,\"this_update\":1,"
	         "\"next_update\":1}");
	snprintf(texts[19], sizeof(texts[19]),
	         "{\"url\":\"h\",\"crl_number\":1,\"this_update\":1,\"next_update\":1}");
	snprintf(texts[20], sizeof(texts[20]), "{\"url\":\"http://h/x\",\"extra\":{},%s}", base);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_crl_cache_meta m;
		struct jitrd_diag diag = {{0}};
		const char *text = cases[i].text ? cases[i].text : texts[i];
		size_t len = cases[i].len ? cases[i].len : strlen(text);
		enum jitrd_err got;

		memset(&m, 0x5a, sizeof(m));
		got = jitrd_crl_cache_meta_parse("m.json", text, len, &m, &diag);
		if (got != cases[i].want)
			fprintf(stderr, "%s: got %d (%s)\n", cases[i].name, got, diag.text);
		CU_ASSERT_EQUAL(got, cases[i].want);
		CU_ASSERT_EQUAL(strncmp(diag.text, "m.json: ", 8), 0);
		CU_ASSERT_EQUAL(((unsigned char *)&m)[0], 0x5a); /* untouched */
		CU_ASSERT_EQUAL(m.crl_number, (int64_t)0x5a5a5a5a5a5a5a5aLL);
	}
	CU_ASSERT_EQUAL(jitrd_crl_cache_meta_parse("m", NULL, 0, NULL, NULL),
	                JITRD_ERR_INVALID_ARG);
}

static void test_meta_round_trip(void)
{
	struct jitrd_crl_cache_meta m, back;
	char *text = NULL;
	size_t len = 0;

	CU_ASSERT_EQUAL_FATAL(
	    jitrd_crl_cache_meta_parse("m", GOOD_META, strlen(GOOD_META), &m, NULL), JITRD_OK);
	CU_ASSERT_EQUAL_FATAL(jitrd_crl_cache_meta_format(&m, &text, &len), JITRD_OK);
	CU_ASSERT_EQUAL(strlen(text), len);
	CU_ASSERT_EQUAL_FATAL(jitrd_crl_cache_meta_parse("m", text, len, &back, NULL), JITRD_OK);
	CU_ASSERT_EQUAL(memcmp(&m, &back, sizeof(m)), 0);
	free(text);
	CU_ASSERT_EQUAL(jitrd_crl_cache_meta_format(NULL, &text, &len), JITRD_ERR_INVALID_ARG);
}

static void test_paths_and_urls(void)
{
	char path[128], small[20], shown[256];

	CU_ASSERT_EQUAL_FATAL(
	    jitrd_crl_cache_path("/s/crl-cache", "http://h/x", ".crl", path, sizeof(path)),
	    JITRD_OK);
	/* sha256("http://h/x") */
	CU_ASSERT_EQUAL(strlen(path), strlen("/s/crl-cache/") + 64 + 4);
	CU_ASSERT_EQUAL(strncmp(path, "/s/crl-cache/", 13), 0);
	CU_ASSERT_EQUAL(strspn(path + 13, "0123456789abcdef"), 64);
	CU_ASSERT_STRING_EQUAL(path + 13 + 64, ".crl");
	CU_ASSERT_EQUAL(
	    jitrd_crl_cache_path("/s/crl-cache", "http://h/x", ".crl", small, sizeof(small)),
	    JITRD_ERR_TOO_LARGE);
	jitrd_crl_refresh_shown_url("https://u:pw@h.example/a/b.crl?X-Amz-Signature=s#f", shown,
	                            sizeof(shown));
	CU_ASSERT_STRING_EQUAL(shown, "https://h.example/a/b.crl");
	jitrd_crl_refresh_shown_url("http://h/x", shown, sizeof(shown));
	CU_ASSERT_STRING_EQUAL(shown, "http://h/x");
}

/* A state directory with one good, one malformed and one foreign metadata file. */
static void test_refresher_reads_cache(void)
{
	char dir[] = "/tmp/jitrd-test-refresh.XXXXXX";
	char cache[256], text[1024], path[512];
	const char *urls[] = {"http://good.example/a.crl", "http://bad.example/b.crl",
	                      "http://foreign.example/c.crl", "http://none.example/d.crl"};
	struct jitrd_config *cfg = NULL;
	struct jitrd_crl_refresh *r = NULL;
	struct jitrd_crl_source_info *info = malloc(sizeof(*info));
	struct jitrd_crl_fetch_options opts;
	struct jitrd_crl_fetch_s3 s3;
	struct jitrd_diag diag = {{0}};
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(info);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(cache, sizeof(cache), "%s/%s", dir, JITRD_CRL_CACHE_DIR);
	CU_ASSERT_EQUAL_FATAL(mkdir(cache, 0700), 0);
	for (int i = 0; i < 3; i++) {
		const char *body =
		    i == 0   ? "{\"url\":\"http://good.example/a.crl\",\"etag\":\"e1\","
			       "\"crl_number\":4,\"fetched_at\":1,\"this_update\":2,"
			       "\"next_update\":3}"
		    : i == 1 ? "{\"url\":\"http://bad.example/b.crl\",\"crl_number\":"
			     : "{\"url\":\"http://else.example/\",\"crl_number\":1,"
			       "\"fetched_at\":1,\"this_update\":1,\"next_update\":1}";
		for (int ext = 0; ext < 2; ext++) {
			CU_ASSERT_EQUAL_FATAL(jitrd_crl_cache_path(cache, urls[i],
			                                           ext ? ".json" : ".crl", path,
			                                           sizeof(path)),
			                      JITRD_OK);
			f = fopen(path, "w");
			CU_ASSERT_PTR_NOT_NULL_FATAL(f);
			fputs(ext ? body : "crl", f);
			fclose(f);
		}
	}
	snprintf(text, sizeof(text),
	         "[service]\nstate_dir = %s\n[crl]\nurl = %s\nurl = %s\nurl = %s\nurl = %s\n"
	         "fetch_timeout_seconds = 5\nfetch_max_bytes = 4096\n",
	         dir, urls[0], urls[1], urls[2], urls[3]);
	CU_ASSERT_EQUAL_FATAL(
	    jitrd_config_parse("t.conf", text, strlen(text), NULL, NULL, &cfg, &diag), JITRD_OK);
	CU_ASSERT_EQUAL_FATAL(jitrd_crl_refresh_new(cfg, &r), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_crl_refresh_count(r), 4);
	CU_ASSERT_EQUAL(jitrd_crl_refresh_next_due(r), 0); /* every source due at start */
	CU_ASSERT_EQUAL_FATAL(jitrd_crl_refresh_source_at(r, 0, info), JITRD_OK);
	CU_ASSERT_TRUE(info->cached);
	CU_ASSERT_EQUAL(info->meta.crl_number, 4);
	CU_ASSERT_STRING_EQUAL(info->meta.etag, "e1");
	CU_ASSERT_EQUAL(info->kind, JITRD_CRL_SOURCE_CONFIG);
	CU_ASSERT_EQUAL_FATAL(jitrd_crl_refresh_source_at(r, 1, info), JITRD_OK);
	CU_ASSERT_FALSE(info->cached);
	CU_ASSERT_EQUAL(strncmp(info->last_reason, "cache ignored: ", 15), 0);
	CU_ASSERT_EQUAL_FATAL(jitrd_crl_refresh_source_at(r, 2, info), JITRD_OK);
	CU_ASSERT_FALSE(info->cached);
	CU_ASSERT_STRING_EQUAL(info->last_reason, "cache ignored: metadata names another URL");
	CU_ASSERT_EQUAL_FATAL(jitrd_crl_refresh_source_at(r, 3, info), JITRD_OK);
	CU_ASSERT_FALSE(info->cached);
	CU_ASSERT_STRING_EQUAL(info->last_reason, "");
	CU_ASSERT_EQUAL(jitrd_crl_refresh_source_at(r, 4, info), JITRD_ERR_INVALID_ARG);

	jitrd_crl_refresh_fetch_options(cfg, urls[0], NULL, &s3, &opts);
	CU_ASSERT_PTR_EQUAL(opts.url, urls[0]);
	CU_ASSERT_PTR_EQUAL(opts.s3, &s3);
	CU_ASSERT_STRING_EQUAL(s3.region, "us-east-1"); /* [aws] region */
	CU_ASSERT_PTR_NULL(s3.credentials);
	CU_ASSERT_EQUAL(opts.timeout_ms, 5000);
	CU_ASSERT_EQUAL(opts.connect_timeout_ms, 5000);
	CU_ASSERT_EQUAL(opts.max_size, 4096);

	jitrd_crl_refresh_free(r);
	jitrd_config_free(cfg);
	free(info);
	for (int i = 0; i < 3; i++) {
		for (int ext = 0; ext < 2; ext++) {
			if (jitrd_crl_cache_path(cache, urls[i], ext ? ".json" : ".crl", path,
			                         sizeof(path)) == JITRD_OK)
				unlink(path);
		}
	}
	rmdir(cache);
	rmdir(dir);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"metadata: good", test_meta_good},
	    {"metadata: truncated, malformed, oversized, hostile", test_meta_bad},
	    {"metadata: round trip", test_meta_round_trip},
	    {"cache paths and shown URLs", test_paths_and_urls},
	    {"refresher reads the cache, ignores bad metadata", test_refresher_reads_cache},
	    {NULL, NULL},
	};
	return tsupport_run("crl_refresh", cases);
}
