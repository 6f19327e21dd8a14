/* test_sigv4.c — unit tests of the SigV4 module: each stage on its own (table-driven), the
 * amz-date format and parser, input bounds, secret hygiene, and every plain-v4 header-signing
 * case of both copies of the official AWS vectors in tests/sigv4/ (read from disk: test code). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "jitrd/sigv4.h"
#include "testsupport.h"

#define AKID         "AKIDEXAMPLE"
#define SECRET       "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_DATE   "20150830T123600Z"
#define SUITE_WHEN   ((time_t)1440938160)
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* The cases on disk when the vectors were copied (SOURCE.md): fewer found means a broken
 * copy or walker, which must fail rather than pass with nothing checked. */
#define AWS4_MIN_CASES 34
#define CRT_MIN_CASES  38

/* The session token of aws4_testsuite's post-sts cases (their .creq; readme.txt shows it too). */
#define STS_TOKEN                                                                                  \
	"AQoDYXdzEPT//////////"                                                                    \
	"wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxf"                     \
	"pSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0K"  \
	"PkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZb" \
	"qBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

static const struct jitrd_sigv4_header host_only[] = {{"Host", "example.amazonaws.com"}};

static const struct jitrd_sigv4_credentials suite_creds = {AKID, SECRET, NULL};
static const struct jitrd_sigv4_scope suite_scope = {"us-east-1", "service", SUITE_WHEN};

/* ---- helpers ---------------------------------------------------------------------------- */

/* Line idx (0-based) of a canonical request, as a new string; NULL when there is none. */
static char *line_of(const char *text, int idx)
{
	const char *start = text;

	for (int i = 0; i < idx; i++) {
		start = strchr(start, '\n');
		if (!start)
			return NULL;
		start++;
	}
	const char *end = strchr(start, '\n');
	size_t n = end ? (size_t)(end - start) : strlen(start);
	char *line = malloc(n + 1);
	if (line) {
		memcpy(line, start, n);
		line[n] = '\0';
	}
	return line;
}

/* Canonical request of a GET with the given parts; *err gets the return code. */
static char *creq_of(const char *path, const char *query, int normalize,
                     const struct jitrd_sigv4_header *headers, size_t count, enum jitrd_err *err)
{
	struct jitrd_sigv4_request req = {
	    .method = "GET",
	    .path = path,
	    .query = query,
	    .headers = headers,
	    .header_count = count,
	    .normalize_path = normalize,
	};
	char *creq = NULL, *names = NULL;

	*err = jitrd_sigv4_canonical_request(&req, NULL, 0, &creq, &names);
	free(names);
	return creq;
}

static int check_text(const char *label, const char *what, const char *expected, const char *got)
{
	if (expected && got && strcmp(expected, got) == 0) {
		CU_PASS("equal");
		return 1;
	}
	fprintf(stderr, "\n%s: %s differs\n--- expected\n%s\n--- got\n%s\n", label, what,
	        expected ? expected : "(null)", got ? got : "(null)");
	CU_FAIL("vector output differs (see stderr)");
	return 0;
}

/* ---- stage 1: canonical URI -------------------------------------------------------------- */

struct path_case {
	int normalize;
	const char *path;
	const char *expected; /* NULL: JITRD_ERR_INVALID_ARG */
};

static void test_canonical_uri(void)
{
	static const struct path_case cases[] = {
	    {1, "", "/"},
	    {0, "", "/"},
	    {1, "/", "/"},
	    {1, "//", "/"},
	    {1, "/..", "/"},
	    {1, "/../..", "/"},
	    {1, "/./", "/"},
	    {1, "/.", "/"},
	    {1, "/a/./b", "/a/b"},
	    {1, "/a/b/..", "/a"},
	    {1, "/a/b/../", "/a/"},
	    {1, "/a//b//", "/a/b/"},
	    {1, "/a/../../b", "/b"},
	    {1, "/...", "/..."},
	    {1, "/.a/..b/", "/.a/..b/"},
	    {1, "/a b", "/a%20b"},
	    /* Already encoded on the wire, so encoded again (every service but S3). */
	    {1, "/a%20b", "/a%2520b"},
	    {1, "/example/$delete", "/example/%24delete"},
	    {1, "/\xc3\xbc", "/%C3%BC"},
	    {1, "/a+b=c&d", "/a%2Bb%3Dc%26d"},
	    {1, "/A:b@c;d,e", "/A%3Ab%40c%3Bd%2Ce"},
	    {1, "/-._~09AZaz", "/-._~09AZaz"},
	    {0, "//a/./../b", "//a/./../b"},
	    {0, "/a b/", "/a%20b/"},
	    {0, "/a%2Fb", "/a%252Fb"},
	    {1, "a/b", NULL},
	    {0, "relative", NULL},
	    {1, "*", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum jitrd_err err;
		char *creq = creq_of(cases[i].path, NULL, cases[i].normalize, host_only, 1, &err);
		if (!cases[i].expected) {
			CU_ASSERT_EQUAL(err, JITRD_ERR_INVALID_ARG);
			CU_ASSERT_PTR_NULL(creq);
			continue;
		}
		CU_ASSERT_EQUAL_FATAL(err, JITRD_OK);
		char *line = line_of(creq, 1);
		if (!line || strcmp(line, cases[i].expected) != 0)
			fprintf(stderr, "path case %zu %s: got %s\n", i, cases[i].path, line);
		CU_ASSERT_STRING_EQUAL(line, cases[i].expected);
		free(line);
		free(creq);
	}
}

/* ---- stage 1: canonical query ------------------------------------------------------------ */

struct query_case {
	const char *query;
	const char *expected; /* NULL: JITRD_ERR_INVALID_ARG */
};

static void test_canonical_query(void)
{
	static const struct query_case cases[] = {
	    {NULL, ""},
	    {"", ""},
	    {"a=1", "a=1"},
	    {"b=2&a=1", "a=1&b=2"},
	    {"a=2&a=1", "a=1&a=2"},
	    {"a=b&a=B", "a=B&a=b"},
	    {"a", "a="},
	    {"a=", "a="},
	    {"=v", "=v"},
	    {"a=1&&b=2&", "a=1&b=2"},
	    {"&", ""},
	    {"b=1&B=1&a=1", "B=1&a=1&b=1"},
	    {"a-b=1&a=2", "a=2&a-b=1"},
	    {"Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
	     "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"},
	    {"a=%e1%88%b4", "a=%E1%88%B4"},
	    {"\xe1\x88\xb4=bar", "%E1%88%B4=bar"},
	    {"a=b c", "a=b%20c"},
	    {"a=b+c", "a=b%2Bc"},
	    {"a=x%2Fy", "a=x%2Fy"},
	    {"a=x/y", "a=x%2Fy"},
	    {"k=v=w", "k=v%3Dw"},
	    {"%7E=%41", "~=A"},
	    {"a=%00", "a=%00"},
	    {"a=%", NULL},
	    {"a=%4", NULL},
	    {"a=%zz", NULL},
	    {"%g0=1", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum jitrd_err err;
		char *creq = creq_of("/", cases[i].query, 1, host_only, 1, &err);
		if (!cases[i].expected) {
			CU_ASSERT_EQUAL(err, JITRD_ERR_INVALID_ARG);
			CU_ASSERT_PTR_NULL(creq);
			continue;
		}
		CU_ASSERT_EQUAL_FATAL(err, JITRD_OK);
		char *line = line_of(creq, 2);
		if (!line || strcmp(line, cases[i].expected) != 0)
			fprintf(stderr, "query case %zu: got %s\n", i, line);
		CU_ASSERT_STRING_EQUAL(line, cases[i].expected);
		free(line);
		free(creq);
	}
}

/* ---- stage 1: canonical headers ---------------------------------------------------------- */

struct header_case {
	const char *name;
	const char *value;
	const char *expected; /* the canonical line; NULL: JITRD_ERR_INVALID_ARG */
};

static void test_canonical_headers(void)
{
	static const struct header_case cases[] = {
	    {"X-Test", "v", "x-test:v"},
	    {"x-test", "  v  ", "x-test:v"},
	    {"X-TEST", "a   b", "x-test:a b"},
	    {"X-Test", "a\t \tb\t", "x-test:a b"},
	    {"X-Test", "\"a   b   c\"", "x-test:\"a b c\""},
	    {"X-Test", "VALUE1", "x-test:VALUE1"},
	    {"X-Test", "", "x-test:"},
	    {"X-Test", " \t ", "x-test:"},
	    {"X-Test", "caf\xc3\xa9", "x-test:caf\xc3\xa9"},
	    {"X-Test", "a\r\nb", NULL},
	    {"X-Test", "a\nb", NULL},
	    {"X-Test", "a\x01", NULL},
	    {"X-Test", "a\x7f", NULL},
	    {"X-Test", NULL, NULL},
	    {"bad name", "v", NULL},
	    {"bad:name", "v", NULL},
	    {"", "v", NULL},
	    {NULL, "v", NULL},
	    {"n\xc3\xa9", "v", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jitrd_sigv4_header headers[2] = {
		    {"Host", "h"},
		    {cases[i].name, cases[i].value},
		};
		enum jitrd_err err;
		char *creq = creq_of("/", NULL, 1, headers, 2, &err);
		if (!cases[i].expected) {
			CU_ASSERT_EQUAL(err, JITRD_ERR_INVALID_ARG);
			CU_ASSERT_PTR_NULL(creq);
			continue;
		}
		CU_ASSERT_EQUAL_FATAL(err, JITRD_OK);
		char *line = line_of(creq, 4); /* after host:h */
		if (!line || strcmp(line, cases[i].expected) != 0)
			fprintf(stderr, "header case %zu: got %s\n", i, line);
		CU_ASSERT_STRING_EQUAL(line, cases[i].expected);
		free(line);
		free(creq);
	}
}

static void test_header_sort_and_duplicates(void)
{
	const struct jitrd_sigv4_header headers[] = {
	    {"Host", "example.amazonaws.com"}, {"B", "2"}, {"a", "1"}, {"b", " 3 "}, {"A", "0"},
	};
	const struct jitrd_sigv4_header extra[] = {{"a", "9"}, {"x-amz-date", SUITE_DATE}};
	struct jitrd_sigv4_request req = {
	    .method = "GET", .path = "/", .headers = headers, .header_count = 5};
	char *creq = NULL, *names = NULL;

	CU_ASSERT_EQUAL_FATAL(jitrd_sigv4_canonical_request(&req, extra, 2, &creq, &names),
	                      JITRD_OK);
	CU_ASSERT_STRING_EQUAL(creq, "GET\n/\n\n"
	                             "a:1,0,9\n"
	                             "b:2,3\n"
	                             "host:example.amazonaws.com\n"
	                             "x-amz-date:" SUITE_DATE "\n"
	                             "\n"
	                             "a;b;host;x-amz-date\n" EMPTY_SHA256);
	CU_ASSERT_STRING_EQUAL(names, "a;b;host;x-amz-date");
	free(creq);
	free(names);
}

static void test_payload_hash(void)
{
	static const char body[] = "Param1=value1";
	const char *expected = "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e";
	struct jitrd_sigv4_request req = {
	    .method = "POST",
	    .path = "/",
	    .headers = host_only,
	    .header_count = 1,
	    .payload = (const unsigned char *)body,
	    .payload_len = sizeof(body) - 1,
	};
	char *creq = NULL, *names = NULL, *line;

	CU_ASSERT_EQUAL_FATAL(jitrd_sigv4_canonical_request(&req, NULL, 0, &creq, &names),
	                      JITRD_OK);
	line = line_of(creq, 6);
	CU_ASSERT_STRING_EQUAL(line, expected);
	CU_ASSERT_STRING_EQUAL(names, "host");
	free(line);
	free(creq);
	free(names);

	/* sign_payload_hash adds x-amz-content-sha256 with the same hash. */
	req.sign_payload_hash = 1;
	CU_ASSERT_EQUAL_FATAL(jitrd_sigv4_canonical_request(&req, NULL, 0, &creq, &names),
	                      JITRD_OK);
	CU_ASSERT_STRING_EQUAL(names, "host;x-amz-content-sha256");
	line = line_of(creq, 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(line);
	CU_ASSERT_EQUAL(strncmp(line, "x-amz-content-sha256:", 21), 0);
	CU_ASSERT_STRING_EQUAL(line + 21, expected);
	free(line);
	free(creq);
	free(names);

	/* ... and refuses a second one from the caller, which would be joined into "a,b". */
	const struct jitrd_sigv4_header extra[] = {{"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"}};
	creq = (char *)"untouched";
	names = (char *)"untouched";
	CU_ASSERT_EQUAL(jitrd_sigv4_canonical_request(&req, extra, 1, &creq, &names),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(creq, "untouched");
	CU_ASSERT_STRING_EQUAL(names, "untouched");

	/* Empty payload, NULL pointer: the hash of "". */
	req.payload = NULL;
	req.payload_len = 0;
	req.sign_payload_hash = 0;
	CU_ASSERT_EQUAL_FATAL(jitrd_sigv4_canonical_request(&req, NULL, 0, &creq, &names),
	                      JITRD_OK);
	line = line_of(creq, 6);
	CU_ASSERT_STRING_EQUAL(line, EMPTY_SHA256);
	free(line);
	free(creq);
	free(names);
}

static void test_canonical_request_bad_args(void)
{
	struct jitrd_sigv4_header many[JITRD_SIGV4_MAX_HEADERS + 1];
	const struct jitrd_sigv4_header no_host[] = {{"X-Other", "v"}};
	const struct jitrd_sigv4_header extra[JITRD_SIGV4_MAX_EXTRA + 1] = {
	    {"a", "1"}, {"b", "1"}, {"c", "1"}, {"d", "1"}, {"e", "1"}};
	struct jitrd_sigv4_request good = {
	    .method = "GET", .path = "/", .headers = host_only, .header_count = 1};
	struct jitrd_sigv4_request req;
	char *creq = (char *)"untouched", *names = (char *)"untouched";

	for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++) {
		many[i].name = "Host";
		many[i].value = "h";
	}
	struct {
		const char *what;
		struct jitrd_sigv4_request req;
		size_t extra_count;
	} cases[] = {
	    {"NULL method", good, 0},
	    {"empty method", good, 0},
	    {"method with space", good, 0},
	    {"method too long", good, 0},
	    {"NULL path", good, 0},
	    {"no host", good, 0},
	    {"too many headers", good, 0},
	    {"headers NULL with count", good, 0},
	    {"payload NULL with length", good, 0},
	    {"too many extras", good, JITRD_SIGV4_MAX_EXTRA + 1},
	};
	cases[0].req.method = NULL;
	cases[1].req.method = "";
	cases[2].req.method = "G T";
	cases[3].req.method = "GETGETGETGETGETGE";
	cases[4].req.path = NULL;
	cases[5].req.headers = no_host;
	cases[6].req.headers = many;
	cases[6].req.header_count = JITRD_SIGV4_MAX_HEADERS + 1;
	cases[7].req.headers = NULL;
	cases[8].req.payload_len = 3;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum jitrd_err err;

		req = cases[i].req;
		err =
		    jitrd_sigv4_canonical_request(&req, extra, cases[i].extra_count, &creq, &names);
		if (err != JITRD_ERR_INVALID_ARG)
			fprintf(stderr, "bad-args case '%s' gave %d\n", cases[i].what, (int)err);
		CU_ASSERT_EQUAL(err, JITRD_ERR_INVALID_ARG);
		CU_ASSERT_STRING_EQUAL(creq, "untouched");
		CU_ASSERT_STRING_EQUAL(names, "untouched");
	}
	CU_ASSERT_EQUAL(jitrd_sigv4_canonical_request(NULL, NULL, 0, &creq, &names),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_sigv4_canonical_request(&good, NULL, 1, &creq, &names),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_sigv4_canonical_request(&good, NULL, 0, NULL, &names),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_sigv4_canonical_request(&good, NULL, 0, &creq, NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(creq, "untouched");

	/* Exactly the maximum of headers is fine. */
	req = good;
	req.headers = many;
	req.header_count = JITRD_SIGV4_MAX_HEADERS;
	CU_ASSERT_EQUAL_FATAL(
	    jitrd_sigv4_canonical_request(&req, extra, JITRD_SIGV4_MAX_EXTRA, &creq, &names),
	    JITRD_OK);
	free(creq);
	free(names);
}

/* ---- bounds: huge inputs are refused, not allocated for ---------------------------------- */

static char *filled(size_t n, char c)
{
	char *s = malloc(n + 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_huge_inputs(void)
{
	const size_t huge = 64u * 1024 * 1024;
	char *big = filled(huge, 'a');
	char *creq = (char *)"untouched";
	enum jitrd_err err;

	/* path, query, header value: over their bound, and at the bound accepted. */
	big[0] = '/';
	CU_ASSERT_PTR_NULL(creq_of(big, NULL, 1, host_only, 1, &err));
	CU_ASSERT_EQUAL(err, JITRD_ERR_INVALID_ARG);
	big[JITRD_SIGV4_MAX_PATH_LEN] = '\0';
	creq = creq_of(big, NULL, 1, host_only, 1, &err);
	CU_ASSERT_EQUAL(err, JITRD_OK);
	free(creq);
	big[JITRD_SIGV4_MAX_PATH_LEN] = 'a';
	big[JITRD_SIGV4_MAX_PATH_LEN + 1] = '\0';
	CU_ASSERT_PTR_NULL(creq_of(big, NULL, 1, host_only, 1, &err));
	CU_ASSERT_EQUAL(err, JITRD_ERR_INVALID_ARG);
	big[JITRD_SIGV4_MAX_PATH_LEN + 1] = 'a';
	big[0] = 'a';

	CU_ASSERT_PTR_NULL(creq_of("/", big, 1, host_only, 1, &err));
	CU_ASSERT_EQUAL(err, JITRD_ERR_INVALID_ARG);

	struct jitrd_sigv4_header headers[2] = {{"Host", "h"}, {"X-Big", big}};
	CU_ASSERT_PTR_NULL(creq_of("/", NULL, 1, headers, 2, &err));
	CU_ASSERT_EQUAL(err, JITRD_ERR_INVALID_ARG);
	headers[1].name = big; /* a huge name */
	headers[1].value = "v";
	CU_ASSERT_PTR_NULL(creq_of("/", NULL, 1, headers, 2, &err));
	CU_ASSERT_EQUAL(err, JITRD_ERR_INVALID_ARG);

	/* Many short query parameters: past the count bound. */
	char *params = filled(2 * (JITRD_SIGV4_MAX_QUERY_PARAMS + 1) - 1, '&');
	for (size_t i = 0; i <= JITRD_SIGV4_MAX_QUERY_PARAMS; i++)
		params[2 * i] = 'k';
	CU_ASSERT_PTR_NULL(creq_of("/", params, 1, host_only, 1, &err));
	CU_ASSERT_EQUAL(err, JITRD_ERR_INVALID_ARG);
	params[2 * JITRD_SIGV4_MAX_QUERY_PARAMS - 1] = '\0'; /* exactly the bound */
	creq = creq_of("/", params, 1, host_only, 1, &err);
	CU_ASSERT_EQUAL(err, JITRD_OK);
	free(creq);
	free(params);

	/* Each header within bounds, but together past the canonical request's maximum. */
	struct jitrd_sigv4_header wide[JITRD_SIGV4_MAX_HEADERS];
	big[JITRD_SIGV4_MAX_VALUE_LEN] = '\0';
	wide[0].name = "Host";
	wide[0].value = "h";
	for (size_t i = 1; i < JITRD_SIGV4_MAX_HEADERS; i++) {
		wide[i].name = "X-Wide";
		wide[i].value = big;
	}
	CU_ASSERT_PTR_NULL(creq_of("/", NULL, 1, wide, JITRD_SIGV4_MAX_HEADERS, &err));
	CU_ASSERT_EQUAL(err, JITRD_ERR_INVALID_ARG);
	big[JITRD_SIGV4_MAX_VALUE_LEN] = 'a';

	/* Huge secret, session token and region in the later stages. */
	struct jitrd_sigv4_credentials creds = {AKID, big, NULL};
	struct jitrd_sigv4_scope scope = suite_scope;
	struct jitrd_sigv4_result res = {.authorization = (char *)"untouched"};
	struct jitrd_sigv4_request req = {
	    .method = "GET", .path = "/", .headers = host_only, .header_count = 1};
	char hex[65] = "untouched";
	CU_ASSERT_EQUAL(jitrd_sigv4_signature("sts", &creds, &scope, hex), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(hex, "untouched");
	creds.secret_access_key = SECRET;
	creds.session_token = big;
	CU_ASSERT_EQUAL(jitrd_sigv4_sign(&req, &creds, &scope, &res), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(res.authorization, "untouched");
	creds.session_token = NULL;
	creds.access_key_id = big;
	CU_ASSERT_EQUAL(jitrd_sigv4_sign(&req, &creds, &scope, &res), JITRD_ERR_INVALID_ARG);
	scope.region = big;
	CU_ASSERT_EQUAL(jitrd_sigv4_signature("sts", &suite_creds, &scope, hex),
	                JITRD_ERR_INVALID_ARG);
	creq = (char *)"untouched";
	CU_ASSERT_EQUAL(jitrd_sigv4_string_to_sign("creq", &scope, &creq), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(creq, "untouched");
	CU_ASSERT_STRING_EQUAL(res.authorization, "untouched");
	free(big);
}

/* ---- stage 2 and 3 on their own ---------------------------------------------------------- */

static void test_string_to_sign(void)
{
	char *sts = NULL;
	struct jitrd_sigv4_scope scope = suite_scope;

	CU_ASSERT_EQUAL_FATAL(jitrd_sigv4_string_to_sign("", &scope, &sts), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(sts, "AWS4-HMAC-SHA256\n" SUITE_DATE
	                            "\n20150830/us-east-1/service/aws4_request\n" EMPTY_SHA256);
	free(sts);

	static const struct {
		const char *region, *service;
		time_t when;
	} bad[] = {
	    {"", "iot", SUITE_WHEN},
	    {"us east", "iot", SUITE_WHEN},
	    {"us/east", "iot", SUITE_WHEN},
	    {"us-east-1", "", SUITE_WHEN},
	    {NULL, "iot", SUITE_WHEN},
	    {"us-east-1", NULL, SUITE_WHEN},
	    {"us-east-1", "i,t", SUITE_WHEN},
	    {"us-east-1", "iot", -1},
	    {"us-east-1", "iot", (time_t)253402300800},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		scope.region = bad[i].region;
		scope.service = bad[i].service;
		scope.when = bad[i].when;
		sts = (char *)"untouched";
		CU_ASSERT_EQUAL(jitrd_sigv4_string_to_sign("creq", &scope, &sts),
		                JITRD_ERR_INVALID_ARG);
		CU_ASSERT_STRING_EQUAL(sts, "untouched");
	}
	CU_ASSERT_EQUAL(jitrd_sigv4_string_to_sign(NULL, &suite_scope, &sts),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_sigv4_string_to_sign("x", NULL, &sts), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_sigv4_string_to_sign("x", &suite_scope, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(sts, "untouched");
}

static void test_signature(void)
{
	/* aws4_testsuite get-vanilla: its .sts and its signature. */
	const char *sts =
	    "AWS4-HMAC-SHA256\n" SUITE_DATE "\n20150830/us-east-1/service/aws4_request\n"
	    "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63";
	char hex[65], other[65];
	struct jitrd_sigv4_credentials creds = suite_creds;
	struct jitrd_sigv4_scope scope = suite_scope;

	CU_ASSERT_EQUAL_FATAL(jitrd_sigv4_signature(sts, &creds, &scope, hex), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(hex,
	                       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
	/* Each input of the chain changes the result. */
	scope.region = "us-west-2";
	CU_ASSERT_EQUAL_FATAL(jitrd_sigv4_signature(sts, &creds, &scope, other), JITRD_OK);
	CU_ASSERT_STRING_NOT_EQUAL(hex, other);
	scope = suite_scope;
	scope.service = "iot";
	CU_ASSERT_EQUAL_FATAL(jitrd_sigv4_signature(sts, &creds, &scope, other), JITRD_OK);
	CU_ASSERT_STRING_NOT_EQUAL(hex, other);
	scope = suite_scope;
	scope.when = SUITE_WHEN + 86400;
	CU_ASSERT_EQUAL_FATAL(jitrd_sigv4_signature(sts, &creds, &scope, other), JITRD_OK);
	CU_ASSERT_STRING_NOT_EQUAL(hex, other);
	/* Same day, other time: the key is per day, and the sts carries the time. */
	scope.when = SUITE_WHEN + 60;
	CU_ASSERT_EQUAL_FATAL(jitrd_sigv4_signature(sts, &creds, &scope, other), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(hex, other);
	scope = suite_scope;
	creds.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEz";
	CU_ASSERT_EQUAL_FATAL(jitrd_sigv4_signature(sts, &creds, &scope, other), JITRD_OK);
	CU_ASSERT_STRING_NOT_EQUAL(hex, other);

	/* Bad inputs leave hex_out alone. */
	memcpy(other, "untouched", 10);
	creds.secret_access_key = "";
	CU_ASSERT_EQUAL(jitrd_sigv4_signature(sts, &creds, &scope, other), JITRD_ERR_INVALID_ARG);
	creds.secret_access_key = NULL;
	CU_ASSERT_EQUAL(jitrd_sigv4_signature(sts, &creds, &scope, other), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_sigv4_signature(NULL, &suite_creds, &scope, other),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_sigv4_signature(sts, NULL, &scope, other), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_sigv4_signature(sts, &suite_creds, NULL, other),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(other, "untouched");
}

/* ---- the whole signing, and what it must refuse ------------------------------------------ */

static int contains(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle) != NULL;
}

static void test_secret_never_in_output(void)
{
	const char *secret = "SeCrEt-KeY/with+ODD=chars0123456789";
	const struct jitrd_sigv4_header headers[] = {{"Host", "iot.us-east-1.amazonaws.com"}};
	struct jitrd_sigv4_request req = {
	    .method = "PATCH",
	    .path = "/certificates/abc",
	    .query = "newStatus=ACTIVE",
	    .headers = headers,
	    .header_count = 1,
	    .normalize_path = 1,
	    .sign_payload_hash = 1,
	};
	struct jitrd_sigv4_credentials creds = {"AKIDTEST", secret, "session-token-value"};
	struct jitrd_sigv4_scope scope = {"us-east-1", "iot", JITRD_TEST_NOW};
	struct jitrd_sigv4_result res;
	const struct jitrd_sigv4_header extra[] = {{"x-amz-date", "20300601T000000Z"}};
	char *creq = NULL, *names = NULL, *sts = NULL;

	CU_ASSERT_EQUAL_FATAL(jitrd_sigv4_sign(&req, &creds, &scope, &res), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(res.amz_date, "20300601T000000Z");
	CU_ASSERT_STRING_EQUAL(res.security_token, "session-token-value");
	CU_ASSERT_EQUAL(strncmp(res.authorization,
	                        "AWS4-HMAC-SHA256 Credential=AKIDTEST/20300601/us-east-1/iot/"
	                        "aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;"
	                        "x-amz-security-token, Signature=",
	                        strlen("AWS4-HMAC-SHA256 Credential=AKIDTEST/20300601/us-east-1/"
	                               "iot/aws4_request, SignedHeaders=host;x-amz-content-sha256;"
	                               "x-amz-date;x-amz-security-token, Signature=")),
	                0);
	CU_ASSERT_STRING_EQUAL(res.payload_hash, EMPTY_SHA256);
	CU_ASSERT_FALSE(contains(res.authorization, secret));
	CU_ASSERT_FALSE(contains(res.authorization, "SeCrEt"));
	CU_ASSERT_FALSE(contains(res.security_token, "SeCrEt"));
	CU_ASSERT_FALSE(contains(res.payload_hash, "SeCrEt"));
	CU_ASSERT_FALSE(contains(res.amz_date, "SeCrEt"));

	CU_ASSERT_EQUAL_FATAL(jitrd_sigv4_canonical_request(&req, extra, 1, &creq, &names),
	                      JITRD_OK);
	CU_ASSERT_EQUAL_FATAL(jitrd_sigv4_string_to_sign(creq, &scope, &sts), JITRD_OK);
	CU_ASSERT_FALSE(contains(creq, "SeCrEt"));
	CU_ASSERT_FALSE(contains(names, "SeCrEt"));
	CU_ASSERT_FALSE(contains(sts, "SeCrEt"));
	free(creq);
	free(names);
	free(sts);

	jitrd_sigv4_result_cleanup(&res);
	CU_ASSERT_PTR_NULL(res.authorization);
	CU_ASSERT_PTR_NULL(res.security_token);
	CU_ASSERT_PTR_NULL(res.payload_hash);
	jitrd_sigv4_result_cleanup(&res); /* twice is fine */
	jitrd_sigv4_result_cleanup(NULL);
}

static void test_sign_refuses(void)
{
	struct jitrd_sigv4_header headers[2] = {{"Host", "h"}, {NULL, NULL}};
	struct jitrd_sigv4_request req = {
	    .method = "GET", .path = "/", .headers = headers, .header_count = 2};
	struct jitrd_sigv4_credentials creds = {AKID, SECRET, "tok"};
	struct jitrd_sigv4_result res = {.authorization = (char *)"untouched"};
	static const char *const reserved[] = {"X-Amz-Date", "authorization",
	                                       "X-AMZ-Security-Token"};

	/* Headers the signer adds itself. */
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		headers[1].name = reserved[i];
		headers[1].value = "v";
		CU_ASSERT_EQUAL(jitrd_sigv4_sign(&req, &creds, &suite_scope, &res),
		                JITRD_ERR_INVALID_ARG);
	}
	/* Without a session token, a caller's own token header is just a header. */
	creds.session_token = "";
	CU_ASSERT_EQUAL_FATAL(jitrd_sigv4_sign(&req, &creds, &suite_scope, &res), JITRD_OK);
	CU_ASSERT_PTR_NULL(res.security_token);
	CU_ASSERT_TRUE(contains(res.authorization, "SignedHeaders=host;x-amz-date;"
	                                           "x-amz-security-token,"));
	jitrd_sigv4_result_cleanup(&res);
	res.authorization = (char *)"untouched";

	req.header_count = 1;
	static const char *const bad_akid[] = {"", "AK/ID", "AK ID", "AK,ID", "AK=ID", NULL};
	for (size_t i = 0; i < sizeof(bad_akid) / sizeof(bad_akid[0]); i++) {
		creds.access_key_id = bad_akid[i];
		CU_ASSERT_EQUAL(jitrd_sigv4_sign(&req, &creds, &suite_scope, &res),
		                JITRD_ERR_INVALID_ARG);
	}
	creds.access_key_id = AKID;
	creds.session_token = "tok\r\nX-Injected: 1";
	CU_ASSERT_EQUAL(jitrd_sigv4_sign(&req, &creds, &suite_scope, &res), JITRD_ERR_INVALID_ARG);
	creds.session_token = NULL;
	struct jitrd_sigv4_scope scope = suite_scope;
	scope.when = -86400;
	CU_ASSERT_EQUAL(jitrd_sigv4_sign(&req, &creds, &scope, &res), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_sigv4_sign(NULL, &creds, &suite_scope, &res), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_sigv4_sign(&req, NULL, &suite_scope, &res), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_sigv4_sign(&req, &creds, NULL, &res), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_sigv4_sign(&req, &creds, &suite_scope, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(res.authorization, "untouched");
}

/* ---- the signing-key cache --------------------------------------------------------------- */

/* Authorization of a signed GET / (aws4_testsuite get-vanilla), with or without a cache. */
static char *authz_of(const struct jitrd_sigv4_credentials *creds,
                      const struct jitrd_sigv4_scope *scope, struct jitrd_sigv4_key_cache *cache,
                      enum jitrd_err *err)
{
	struct jitrd_sigv4_request req = {
	    .method = "GET", .path = "/", .headers = host_only, .header_count = 1};
	struct jitrd_sigv4_result res = {0};
	char *authz;

	*err = cache ? jitrd_sigv4_sign_cached(&req, creds, scope, cache, &res)
	             : jitrd_sigv4_sign(&req, creds, scope, &res);
	if (*err != JITRD_OK)
		return NULL;
	authz = res.authorization;
	res.authorization = NULL;
	jitrd_sigv4_result_cleanup(&res);
	return authz;
}

/* Signs with the cache and without it; both must succeed and agree. Returns the cached one. */
static char *cached_equals_uncached(const struct jitrd_sigv4_credentials *creds,
                                    const struct jitrd_sigv4_scope *scope,
                                    struct jitrd_sigv4_key_cache *cache)
{
	enum jitrd_err err_cached, err_plain;
	char *cached = authz_of(creds, scope, cache, &err_cached);
	char *plain = authz_of(creds, scope, NULL, &err_plain);

	CU_ASSERT_EQUAL(err_cached, JITRD_OK);
	CU_ASSERT_EQUAL(err_plain, JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL(cached);
	if (cached && plain)
		CU_ASSERT_STRING_EQUAL(cached, plain);
	free(plain);
	return cached;
}

static int all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* 1 when needle occurs in the n bytes at p (memmem is not in C11/POSIX). */
static int holds_bytes(const void *p, size_t n, const char *needle, size_t len)
{
	const char *b = p;

	for (size_t i = 0; len <= n && i <= n - len; i++)
		if (memcmp(b + i, needle, len) == 0)
			return 1;
	return 0;
}

static void test_key_cache(void)
{
	static const char vanilla[] =
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	    "SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
	struct jitrd_sigv4_key_cache cache;
	struct jitrd_sigv4_credentials creds = suite_creds;
	struct jitrd_sigv4_scope scope = suite_scope;
	struct jitrd_sigv4_result res = {.authorization = (char *)"untouched"};
	struct jitrd_sigv4_request req = {
	    .method = "GET", .path = "/", .headers = host_only, .header_count = 1};
	unsigned char key_before[32];
	char *first, *later, *next_day, *west, *iot, *other_key, *again;
	enum jitrd_err err;

	jitrd_sigv4_key_cache_init(&cache);
	CU_ASSERT_EQUAL(cache.valid, 0);

	/* A miss derives and keeps the key; the signature is the official one. */
	first = cached_equals_uncached(&creds, &scope, &cache);
	CU_ASSERT_STRING_EQUAL(first, vanilla);
	CU_ASSERT_EQUAL(cache.valid, 1);
	CU_ASSERT_STRING_EQUAL(cache.date, "20150830");
	CU_ASSERT_STRING_EQUAL(cache.region, "us-east-1");
	CU_ASSERT_STRING_EQUAL(cache.service, "service");
	CU_ASSERT_STRING_EQUAL(cache.access_key_id, AKID);
	CU_ASSERT_FALSE(all_zero(cache.key, sizeof(cache.key)));
	CU_ASSERT_FALSE(holds_bytes(&cache, sizeof(cache), SECRET, strlen(SECRET)));
	memcpy(key_before, cache.key, sizeof(key_before));

	/* Later the same day: a hit (same key), and still what the uncached path gives. */
	scope.when = SUITE_WHEN + 3600;
	later = cached_equals_uncached(&creds, &scope, &cache);
	CU_ASSERT_STRING_NOT_EQUAL(later, first);
	CU_ASSERT_EQUAL(memcmp(cache.key, key_before, sizeof(key_before)), 0);

	/* The next UTC day, another region, another service, another key: each a new key. */
	scope.when = SUITE_WHEN + 86400;
	next_day = cached_equals_uncached(&creds, &scope, &cache);
	CU_ASSERT_STRING_EQUAL(cache.date, "20150831");
	CU_ASSERT_NOT_EQUAL(memcmp(cache.key, key_before, sizeof(key_before)), 0);
	CU_ASSERT_TRUE(contains(next_day, "/20150831/us-east-1/service/"));
	scope = suite_scope;
	scope.region = "us-west-2";
	west = cached_equals_uncached(&creds, &scope, &cache);
	CU_ASSERT_STRING_EQUAL(cache.region, "us-west-2");
	CU_ASSERT_TRUE(contains(west, "/20150830/us-west-2/service/"));
	CU_ASSERT_STRING_NOT_EQUAL(west, first);
	scope.service = "iot";
	iot = cached_equals_uncached(&creds, &scope, &cache);
	CU_ASSERT_STRING_EQUAL(cache.service, "iot");
	CU_ASSERT_STRING_NOT_EQUAL(iot, west);
	scope = suite_scope;
	creds.access_key_id = "AKIDOTHER";
	creds.secret_access_key = "another/secret+key";
	other_key = cached_equals_uncached(&creds, &scope, &cache);
	CU_ASSERT_STRING_EQUAL(cache.access_key_id, "AKIDOTHER");
	CU_ASSERT_STRING_NOT_EQUAL(other_key, first);

	/* Back to the first scope: a miss again, the official signature again. */
	creds = suite_creds;
	again = cached_equals_uncached(&creds, &scope, &cache);
	CU_ASSERT_STRING_EQUAL(again, vanilla);

	/* The key really comes from the cache on a hit: a corrupted one changes the signature,
	 * and a different date replaces it with a correct one. */
	cache.key[0] ^= 0x01;
	free(again);
	again = authz_of(&creds, &scope, &cache, &err);
	CU_ASSERT_EQUAL(err, JITRD_OK);
	CU_ASSERT_STRING_NOT_EQUAL(again, vanilla);
	free(again);
	scope.when = SUITE_WHEN + 86400;
	again = cached_equals_uncached(&creds, &scope, &cache);
	CU_ASSERT_STRING_EQUAL(again, next_day);

	/* An error leaves the output and the cache as they were. */
	memcpy(key_before, cache.key, sizeof(key_before));
	creds.access_key_id = "AK/ID";
	CU_ASSERT_EQUAL(jitrd_sigv4_sign_cached(&req, &creds, &scope, &cache, &res),
	                JITRD_ERR_INVALID_ARG);
	creds = suite_creds;
	creds.secret_access_key = "";
	CU_ASSERT_EQUAL(jitrd_sigv4_sign_cached(&req, &creds, &scope, &cache, &res),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(res.authorization, "untouched");
	CU_ASSERT_EQUAL(cache.valid, 1);
	CU_ASSERT_EQUAL(memcmp(cache.key, key_before, sizeof(key_before)), 0);

	/* NULL cache: plain signing. */
	creds = suite_creds;
	scope = suite_scope;
	CU_ASSERT_EQUAL_FATAL(jitrd_sigv4_sign_cached(&req, &creds, &scope, NULL, &res), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(res.authorization, vanilla);
	jitrd_sigv4_result_cleanup(&res);

	/* Cleanup wipes everything, twice is fine, NULL is fine. */
	jitrd_sigv4_key_cache_cleanup(&cache);
	CU_ASSERT_TRUE(all_zero(&cache, sizeof(cache)));
	jitrd_sigv4_key_cache_cleanup(&cache);
	jitrd_sigv4_key_cache_cleanup(NULL);
	jitrd_sigv4_key_cache_init(NULL);

	free(first);
	free(later);
	free(next_day);
	free(west);
	free(iot);
	free(other_key);
	free(again);
}

/* ---- amz-date ---------------------------------------------------------------------------- */

static void test_amz_date_round_trip(void)
{
	static const struct {
		time_t when;
		const char *text;
	} cases[] = {
	    {0, "19700101T000000Z"},
	    {951782400, "20000229T000000Z"},
	    {946684799, "19991231T235959Z"},
	    {SUITE_WHEN, SUITE_DATE},
	    {JITRD_TEST_NOW, "20300601T000000Z"},
	    {1735689599, "20241231T235959Z"},
	    {(time_t)4107542400, "21000301T000000Z"},
	    {(time_t)13574606401, "24000229T120001Z"},
	    {(time_t)253402300799, "99991231T235959Z"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[17];
		time_t when = 12345;

		CU_ASSERT_EQUAL(jitrd_sigv4_amz_date(cases[i].when, text), 0);
		CU_ASSERT_STRING_EQUAL(text, cases[i].text);
		CU_ASSERT_EQUAL(jitrd_sigv4_parse_amz_date(cases[i].text, &when), 0);
		CU_ASSERT_EQUAL(when, cases[i].when);
	}
	/* Every day over several leap cycles formats and parses back. */
	for (time_t t = 0; t < (time_t)20 * 366 * 86400; t += 86400 + 3661) {
		char text[17];
		time_t back = -1;
		CU_ASSERT_EQUAL_FATAL(jitrd_sigv4_amz_date(t, text), 0);
		CU_ASSERT_EQUAL_FATAL(jitrd_sigv4_parse_amz_date(text, &back), 0);
		CU_ASSERT_EQUAL_FATAL(back, t);
	}
}

static void test_amz_date_bad(void)
{
	static const char *const bad[] = {
	    "",
	    "20150830T123600",
	    "20150830T123600ZZ",
	    "20150830 123600Z",
	    "20150830T123600z",
	    "2015083OT123600Z",
	    "2015-8-30T1236:0",
	    "+0150830T123600Z",
	    "20151330T123600Z",
	    "20150030T123600Z",
	    "20150800T123600Z",
	    "20150832T123600Z",
	    "20150229T123600Z",
	    "21000229T123600Z",
	    "20150431T123600Z",
	    "20150830T243600Z",
	    "20150830T126000Z",
	    "20150830T123660Z",
	    "19691231T235959Z",
	    "00000101T000000Z",
	    "2015\000830T123600Z", /* a NUL inside (octal escapes stop at 3 digits) */
	};
	char text[17] = "untouched";
	time_t when = 777;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (jitrd_sigv4_parse_amz_date(bad[i], &when) != JITRD_ERR_MALFORMED)
			fprintf(stderr, "amz-date '%s' accepted\n", bad[i]);
		CU_ASSERT_EQUAL(jitrd_sigv4_parse_amz_date(bad[i], &when), JITRD_ERR_MALFORMED);
		CU_ASSERT_EQUAL(when, 777);
	}
	CU_ASSERT_EQUAL(jitrd_sigv4_parse_amz_date(NULL, &when), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_sigv4_parse_amz_date(SUITE_DATE, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_sigv4_amz_date(-1, text), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_sigv4_amz_date((time_t)253402300800, text), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_sigv4_amz_date(0, NULL), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(text, "untouched");
}

/* ---- the raw HTTP request files of the vectors (test code) ------------------------------- */

#define TREQ_MAX_HEADERS 80

struct test_request {
	char *method;
	char *path;
	char *query; /* NULL without '?' */
	struct jitrd_sigv4_header headers[TREQ_MAX_HEADERS];
	size_t header_count;
	char *body;
	size_t body_len;
};

static char *dup_range(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static void test_request_free(struct test_request *r)
{
	free(r->method);
	free(r->path);
	free(r->query);
	for (size_t i = 0; i < r->header_count; i++) {
		free((char *)r->headers[i].name);
		free((char *)r->headers[i].value);
	}
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* Removes header i (keeping the order of the rest), handing its value to the caller. */
static char *test_request_take(struct test_request *r, size_t i)
{
	char *value = (char *)r->headers[i].value;

	free((char *)r->headers[i].name);
	memmove(&r->headers[i], &r->headers[i + 1],
	        (r->header_count - i - 1) * sizeof(r->headers[0]));
	r->header_count--;
	return value;
}

static long find_header(const struct test_request *r, const char *name)
{
	for (size_t i = 0; i < r->header_count; i++) {
		if (strcasecmp(r->headers[i].name, name) == 0)
			return (long)i;
	}
	return -1;
}

/* "METHOD target HTTP/x.y", header lines (obs-fold continuation lines, starting with SP or
 * HT, are joined to the previous value with one SP, RFC 7230 §3.2.4; duplicate names stay
 * separate), an empty line, then the body (the rest, byte for byte). The request target may
 * hold spaces (normalize-path/get-space), so the version is taken from the last space.
 * 0, or -1 for a malformed request. */
static int parse_http_request(const char *text, size_t len, struct test_request *r)
{
	size_t pos = 0, line_no = 0;
	int in_headers = 1;

	memset(r, 0, sizeof(*r));
	while (pos <= len && in_headers) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t line_len = nl ? (size_t)(nl - line) : len - pos;

		pos += line_len + 1;
		if (line_len > 0 && line[line_len - 1] == '\r')
			line_len--;
		if (line_no++ == 0) {
			const char *sp1 = memchr(line, ' ', line_len), *sp2 = line + line_len;
			while (sp2 > line && sp2[-1] != ' ')
				sp2--;
			if (!sp1 || sp2 <= sp1 + 1 || (size_t)(line + line_len - sp2) < 5 ||
			    strncmp(sp2, "HTTP/", 5) != 0)
				goto fail;
			const char *target = sp1 + 1, *target_end = sp2 - 1;
			const char *q = memchr(target, '?', (size_t)(target_end - target));
			r->method = dup_range(line, (size_t)(sp1 - line));
			r->path = dup_range(target, (size_t)((q ? q : target_end) - target));
			if (q)
				r->query = dup_range(q + 1, (size_t)(target_end - q - 1));
			if (!r->method || !r->path || (q && !r->query))
				goto fail;
			continue;
		}
		if (line_len == 0) {
			in_headers = 0;
			break;
		}
		if (line[0] == ' ' || line[0] == '\t') {
			if (r->header_count == 0)
				goto fail;
			char **value = (char **)&r->headers[r->header_count - 1].value;
			size_t old = strlen(*value);
			char *joined = malloc(old + 1 + line_len + 1);
			if (!joined)
				goto fail;
			memcpy(joined, *value, old);
			joined[old] = ' ';
			memcpy(joined + old + 1, line, line_len);
			joined[old + 1 + line_len] = '\0';
			free(*value);
			*value = joined;
			continue;
		}
		const char *colon = memchr(line, ':', line_len);
		if (!colon || colon == line || r->header_count == TREQ_MAX_HEADERS)
			goto fail;
		r->headers[r->header_count].name = dup_range(line, (size_t)(colon - line));
		r->headers[r->header_count].value =
		    dup_range(colon + 1, (size_t)(line + line_len - colon - 1));
		r->header_count++;
		if (!r->headers[r->header_count - 1].name || !r->headers[r->header_count - 1].value)
			goto fail;
	}
	if (line_no == 0)
		goto fail;
	if (!in_headers && pos < len) {
		r->body_len = len - pos;
		r->body = dup_range(text + pos, r->body_len);
		if (!r->body)
			goto fail;
	}
	return 0;

fail:
	test_request_free(r);
	return -1;
}

static void test_http_parser(void)
{
	static const char text[] = "POST /a b/c?x=1&y HTTP/1.1\r\n"
				   "Host:example.com\n"
				   "My-Header1:value1\n"
				   "  value2\n"
				   "\tvalue3\n"
				   "my-header1: again\n"
				   "\n"
				   "body\nline2";
	struct test_request r;

	CU_ASSERT_EQUAL_FATAL(parse_http_request(text, sizeof(text) - 1, &r), 0);
	CU_ASSERT_STRING_EQUAL(r.method, "POST");
	CU_ASSERT_STRING_EQUAL(r.path, "/a b/c");
	CU_ASSERT_STRING_EQUAL(r.query, "x=1&y");
	CU_ASSERT_EQUAL_FATAL(r.header_count, 3);
	CU_ASSERT_STRING_EQUAL(r.headers[0].value, "example.com");
	CU_ASSERT_STRING_EQUAL(r.headers[1].value, "value1   value2 \tvalue3");
	CU_ASSERT_STRING_EQUAL(r.headers[2].name, "my-header1");
	CU_ASSERT_STRING_EQUAL(r.headers[2].value, " again");
	CU_ASSERT_EQUAL(r.body_len, 10);
	CU_ASSERT_STRING_EQUAL(r.body, "body\nline2");
	test_request_free(&r);

	static const char *const bad[] = {
	    "",
	    "GET\n",
	    "GET / HTTX/1.1\n",
	    " value\n",
	    "GET / HTTP/1.1\n value\n",
	    "GET / HTTP/1.1\nNoColon\n",
	    "GET / HTTP/1.1\n:empty\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(parse_http_request(bad[i], strlen(bad[i]), &r), -1);
}

/* ---- running one vector case ------------------------------------------------------------- */

struct vector_case {
	const char *label;
	struct test_request req;
	const char *token;  /* NULL: none */
	int token_unsigned; /* aws-c-auth's omit_session_token */
	int normalize;
	int sign_body;
	struct jitrd_sigv4_credentials creds;
	struct jitrd_sigv4_scope scope;
	const char *expected_creq;
	const char *expected_sts;
	const char *expected_signature;
	const char *expected_authz;
	struct test_request *signed_req; /* aws-c-auth only: header-signed-request.txt */
};

/* Runs the four stages, each fed the expected output of the one before so that a failure
 * points at one stage; then the whole signing. Returns 1 when every stage ran. */
static int run_vector(const struct vector_case *vc)
{
	struct jitrd_sigv4_request req = {
	    .method = vc->req.method,
	    .path = vc->req.path,
	    .query = vc->req.query,
	    .headers = vc->req.headers,
	    .header_count = vc->req.header_count,
	    .payload = (const unsigned char *)vc->req.body,
	    .payload_len = vc->req.body_len,
	    .normalize_path = vc->normalize,
	    .sign_payload_hash = vc->sign_body,
	    .session_token_unsigned = vc->token_unsigned,
	};
	struct jitrd_sigv4_header extra[2];
	struct jitrd_sigv4_result res;
	char amz_date[17], signature[65];
	char *creq = NULL, *names = NULL, *sts = NULL, *expected_names;
	size_t extra_count = 0;
	enum jitrd_err err;
	int lines = 0;

	if (jitrd_sigv4_amz_date(vc->scope.when, amz_date) != 0) {
		CU_FAIL("vector time");
		return 0;
	}
	extra[extra_count].name = "X-Amz-Date";
	extra[extra_count++].value = amz_date;
	if (vc->token && !vc->token_unsigned) {
		extra[extra_count].name = "X-Amz-Security-Token";
		extra[extra_count++].value = vc->token;
	}

	/* Stage 1 */
	err = jitrd_sigv4_canonical_request(&req, extra, extra_count, &creq, &names);
	CU_ASSERT_EQUAL(err, JITRD_OK);
	check_text(vc->label, "canonical request", vc->expected_creq, creq);
	for (const char *p = vc->expected_creq; *p; p++)
		lines += *p == '\n';
	expected_names = line_of(vc->expected_creq, lines - 1);
	check_text(vc->label, "signed headers", expected_names, names);
	free(expected_names);
	free(creq);
	free(names);

	/* Stage 2 */
	err = jitrd_sigv4_string_to_sign(vc->expected_creq, &vc->scope, &sts);
	CU_ASSERT_EQUAL(err, JITRD_OK);
	check_text(vc->label, "string to sign", vc->expected_sts, sts);
	free(sts);

	/* Stage 3 */
	err = jitrd_sigv4_signature(vc->expected_sts, &vc->creds, &vc->scope, signature);
	CU_ASSERT_EQUAL(err, JITRD_OK);
	check_text(vc->label, "signature", vc->expected_signature,
	           err == JITRD_OK ? signature : NULL);

	/* All stages: the Authorization header and what the caller must add. */
	struct jitrd_sigv4_credentials creds = vc->creds;
	creds.session_token = vc->token;
	err = jitrd_sigv4_sign(&req, &creds, &vc->scope, &res);
	CU_ASSERT_EQUAL(err, JITRD_OK);
	if (err != JITRD_OK)
		return 1;
	check_text(vc->label, "Authorization", vc->expected_authz, res.authorization);
	CU_ASSERT_STRING_EQUAL(res.amz_date, SUITE_DATE);
	if (vc->token) {
		CU_ASSERT_STRING_EQUAL(res.security_token, vc->token);
	} else {
		CU_ASSERT_PTR_NULL(res.security_token);
	}
	char *expected_hash = line_of(vc->expected_creq, lines);
	check_text(vc->label, "payload hash", expected_hash, res.payload_hash);
	free(expected_hash);
	CU_ASSERT_FALSE(contains(res.authorization, SECRET));

	/* aws-c-auth's signed request: the request's own headers, then exactly the ones the
	 * signer told us to add, with the same values. */
	if (vc->signed_req) {
		const struct test_request *sr = vc->signed_req;
		size_t added = 2 + (vc->token != NULL) + (vc->sign_body != 0);
		long at;

		CU_ASSERT_EQUAL(sr->header_count, vc->req.header_count + added);
		for (size_t i = 0; i < vc->req.header_count && i < sr->header_count; i++) {
			CU_ASSERT_STRING_EQUAL(sr->headers[i].name, vc->req.headers[i].name);
			CU_ASSERT_STRING_EQUAL(sr->headers[i].value, vc->req.headers[i].value);
		}
		at = find_header(sr, "Authorization");
		check_text(vc->label, "signed request Authorization",
		           at >= 0 ? sr->headers[at].value : NULL, res.authorization);
		at = find_header(sr, "X-Amz-Date");
		check_text(vc->label, "signed request X-Amz-Date",
		           at >= 0 ? sr->headers[at].value : NULL, res.amz_date);
		at = find_header(sr, "X-Amz-Security-Token");
		if (vc->token) {
			check_text(vc->label, "signed request token",
			           at >= 0 ? sr->headers[at].value : NULL, res.security_token);
		} else {
			CU_ASSERT_EQUAL(at, -1);
		}
		at = find_header(sr, "X-Amz-Content-Sha256");
		if (vc->sign_body) {
			check_text(vc->label, "signed request content hash",
			           at >= 0 ? sr->headers[at].value : NULL, res.payload_hash);
		} else {
			CU_ASSERT_EQUAL(at, -1);
		}
		CU_ASSERT_EQUAL(sr->body_len, vc->req.body_len);
	}
	jitrd_sigv4_result_cleanup(&res);
	return 1;
}

/* ---- walking the vector folders ---------------------------------------------------------- */

struct path_list {
	char **paths;
	size_t count;
};

static int compare_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file under dir (recursively) whose name ends with suffix (or, when exact, is
 * suffix), sorted. Counted apart from the case runner, so a case that does not run shows as a
 * shortfall. */
static void collect(const char *dir, const char *suffix, int exact, struct path_list *out,
                    int depth)
{
	DIR *d;
	struct dirent *e;

	if (depth > 4)
		return;
	d = opendir(dir);
	if (!d) {
		fprintf(stderr, "cannot open %s\n", dir);
		CU_FAIL("vector directory unreadable");
		return;
	}
	while ((e = readdir(d)) != NULL) {
		char path[2048];
		struct stat st;
		size_t nlen = strlen(e->d_name), slen = strlen(suffix);

		if (e->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			collect(path, suffix, exact, out, depth + 1);
		} else if (S_ISREG(st.st_mode) && nlen >= slen && (!exact || nlen == slen) &&
		           strcmp(e->d_name + nlen - slen, suffix) == 0) {
			char **grown = realloc(out->paths, (out->count + 1) * sizeof(char *));
			CU_ASSERT_PTR_NOT_NULL_FATAL(grown);
			out->paths = grown;
			out->paths[out->count] = dup_range(path, strlen(path));
			CU_ASSERT_PTR_NOT_NULL_FATAL(out->paths[out->count]);
			out->count++;
		}
	}
	closedir(d);
	qsort(out->paths, out->count, sizeof(char *), compare_paths);
}

static void path_list_free(struct path_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->paths[i]);
	free(l->paths);
	l->paths = NULL;
	l->count = 0;
}

static const char *vector_root(void)
{
	static char root[1024];
	const char *src = getenv("JITRD_SOURCE_ROOT");

	if (!src || snprintf(root, sizeof(root), "%s/tests/sigv4", src) >= (int)sizeof(root))
		return NULL;
	return root;
}

/* Reads base + suffix; NULL (and a failed assertion) when missing. */
static char *read_part(const char *base, const char *suffix, size_t *len)
{
	char path[2048];
	char *text;

	if (snprintf(path, sizeof(path), "%s%s", base, suffix) >= (int)sizeof(path))
		return NULL;
	text = tsupport_read(path, len);
	if (!text) {
		fprintf(stderr, "missing vector file %s\n", path);
		CU_FAIL("missing vector file");
	}
	return text;
}

/* The aws4_testsuite cases that carry no token in their .req (SOURCE.md; botocore's runner
 * hard-codes the first). In post-sts-header-before the token is a header of the .req. */
static const struct {
	const char *name;
	const char *token;
	int token_unsigned;
} aws4_tokens[] = {
    {"get-vanilla-with-session-token",
     "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267", 0},
    {"post-sts-header-after", STS_TOKEN, 1},
};

/* Not applicable cases would be listed here with their reason and counted as run. None are:
 * botocore's skips (normalize-path/get-space, whose request target holds a space, and the
 * duplicate query keys of get-vanilla-query-order-key, -key-case, -value) all pass here. */

/* One aws4_testsuite case: <dir>/<name>.{req,creq,sts,authz}. 1 when it ran. */
static int run_aws4_case(const char *req_path)
{
	size_t base_len = strlen(req_path) - 4, len = 0;
	char *base = dup_range(req_path, base_len);
	const char *name = strrchr(base, '/') ? strrchr(base, '/') + 1 : base;
	char *text = NULL, *creq = NULL, *sts = NULL, *authz = NULL, *token = NULL;
	struct vector_case vc;
	int ran = 0;
	long at;

	memset(&vc, 0, sizeof(vc));
	text = read_part(base, ".req", &len);
	creq = read_part(base, ".creq", NULL);
	sts = read_part(base, ".sts", NULL);
	authz = read_part(base, ".authz", NULL);
	if (!text || !creq || !sts || !authz)
		goto done;
	if (parse_http_request(text, len, &vc.req) != 0) {
		fprintf(stderr, "%s: unparsable request\n", base);
		CU_FAIL("unparsable .req");
		goto done;
	}
	/* The .req already carries X-Amz-Date; the signer adds it from the time, so it is taken
	 * out and becomes that time (a parse round trip with the suite's constant). */
	at = find_header(&vc.req, "X-Amz-Date");
	if (at < 0) {
		CU_FAIL("aws4 .req without X-Amz-Date");
		goto done;
	}
	char *date = test_request_take(&vc.req, (size_t)at);
	int date_ok = jitrd_sigv4_parse_amz_date(date, &vc.scope.when);
	CU_ASSERT_EQUAL(date_ok, 0);
	CU_ASSERT_STRING_EQUAL(date, SUITE_DATE);
	free(date);
	if (date_ok != 0)
		goto done;
	at = find_header(&vc.req, "X-Amz-Security-Token");
	if (at >= 0)
		token = test_request_take(&vc.req, (size_t)at);
	vc.token = token;
	for (size_t i = 0; i < sizeof(aws4_tokens) / sizeof(aws4_tokens[0]); i++) {
		if (strcmp(name, aws4_tokens[i].name) == 0) {
			CU_ASSERT_PTR_NULL(token);
			vc.token = aws4_tokens[i].token;
			vc.token_unsigned = aws4_tokens[i].token_unsigned;
		}
	}
	vc.label = base;
	vc.normalize = 1;
	vc.creds = suite_creds;
	vc.scope.region = "us-east-1";
	vc.scope.service = "service";
	vc.expected_creq = creq;
	vc.expected_sts = sts;
	/* Signature=<64 hex> ends the .authz. */
	const char *sig = strstr(authz, "Signature=");
	vc.expected_signature = sig ? sig + 10 : "";
	vc.expected_authz = authz;
	ran = run_vector(&vc);

done:
	test_request_free(&vc.req);
	free(token);
	free(text);
	free(creq);
	free(sts);
	free(authz);
	free(base);
	return ran;
}

static const char *json_string(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int get_bool(struct json_object *obj, const char *key, int *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return -1;
	*out = json_object_get_boolean(v);
	return 1;
}

/* "2015-08-30T12:36:00Z" -> "20150830T123600Z" */
static int iso_to_amz(const char *iso, char amz[17])
{
	if (!iso || strlen(iso) != 20 || iso[4] != '-' || iso[7] != '-' || iso[10] != 'T' ||
	    iso[13] != ':' || iso[16] != ':' || iso[19] != 'Z')
		return -1;
	memcpy(amz, iso, 4);
	memcpy(amz + 4, iso + 5, 2);
	memcpy(amz + 6, iso + 8, 2);
	amz[8] = 'T';
	memcpy(amz + 9, iso + 11, 2);
	memcpy(amz + 11, iso + 14, 2);
	memcpy(amz + 13, iso + 17, 2);
	amz[15] = 'Z';
	amz[16] = '\0';
	return 0;
}

/* One aws-c-auth case: <dir>/{request.txt, context.json, header-*.txt}. 1 when it ran. */
static int run_crt_case(const char *request_path)
{
	char *dir = dup_range(request_path, strlen(request_path) - strlen("/request.txt"));
	char *text = NULL, *context = NULL, *creq = NULL, *sts = NULL, *sig = NULL;
	char *signed_text = NULL;
	struct json_object *root = NULL, *creds;
	struct test_request signed_req;
	struct vector_case vc;
	size_t len = 0, signed_len = 0;
	char amz[17];
	int ran = 0, flag;

	memset(&vc, 0, sizeof(vc));
	memset(&signed_req, 0, sizeof(signed_req));
	text = read_part(dir, "/request.txt", &len);
	context = read_part(dir, "/context.json", NULL);
	creq = read_part(dir, "/header-canonical-request.txt", NULL);
	sts = read_part(dir, "/header-string-to-sign.txt", NULL);
	sig = read_part(dir, "/header-signature.txt", NULL);
	signed_text = read_part(dir, "/header-signed-request.txt", &signed_len);
	if (!text || !context || !creq || !sts || !sig || !signed_text)
		goto done;
	if (parse_http_request(text, len, &vc.req) != 0 ||
	    parse_http_request(signed_text, signed_len, &signed_req) != 0) {
		fprintf(stderr, "%s: unparsable request\n", dir);
		CU_FAIL("unparsable request.txt");
		goto done;
	}
	root = json_tokener_parse(context);
	if (!root || !json_object_object_get_ex(root, "credentials", &creds)) {
		CU_FAIL("bad context.json");
		goto done;
	}
	vc.creds.access_key_id = json_string(creds, "access_key_id");
	vc.creds.secret_access_key = json_string(creds, "secret_access_key");
	vc.token = json_string(creds, "token");
	vc.scope.region = json_string(root, "region");
	vc.scope.service = json_string(root, "service");
	if (iso_to_amz(json_string(root, "timestamp"), amz) != 0 ||
	    jitrd_sigv4_parse_amz_date(amz, &vc.scope.when) != 0 || !vc.creds.access_key_id ||
	    !vc.creds.secret_access_key || !vc.scope.region || !vc.scope.service ||
	    get_bool(root, "normalize", &vc.normalize) != 1 ||
	    get_bool(root, "sign_body", &vc.sign_body) != 1 ||
	    get_bool(root, "omit_session_token", &flag) < 0) {
		CU_FAIL("bad context.json");
		goto done;
	}
	vc.token_unsigned = get_bool(root, "omit_session_token", &flag) == 1 && flag;
	vc.label = dir;
	vc.expected_creq = creq;
	vc.expected_sts = sts;
	vc.expected_signature = sig;
	long at = find_header(&signed_req, "Authorization");
	vc.expected_authz = at >= 0 ? signed_req.headers[at].value : "";
	vc.signed_req = &signed_req;
	ran = run_vector(&vc);

done:
	json_object_put(root);
	test_request_free(&vc.req);
	test_request_free(&signed_req);
	free(text);
	free(context);
	free(creq);
	free(sts);
	free(sig);
	free(signed_text);
	free(dir);
	return ran;
}

static void run_suite(const char *sub, const char *suffix, int exact, int (*run)(const char *),
                      size_t min_cases, size_t *total)
{
	char dir[1100];
	const char *root = vector_root();
	struct path_list found = {0};
	size_t ran = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	snprintf(dir, sizeof(dir), "%s/%s", root, sub);
	collect(dir, suffix, exact, &found, 0);
	for (size_t i = 0; i < found.count; i++)
		ran += (size_t)run(found.paths[i]);
	printf("\nsigv4 vectors %s: %zu of %zu cases ran\n", sub, ran, found.count);
	/* A case that did not run is a failure, and so is finding fewer than were copied. */
	CU_ASSERT_EQUAL(ran, found.count);
	CU_ASSERT_TRUE(found.count >= min_cases);
	*total += ran;
	path_list_free(&found);
}

static size_t vectors_ran;

static void test_vectors_aws4_testsuite(void)
{
	run_suite("aws4_testsuite", ".req", 0, run_aws4_case, AWS4_MIN_CASES, &vectors_ran);
}

static void test_vectors_aws_c_auth(void)
{
	run_suite("aws-c-auth-v4", "request.txt", 1, run_crt_case, CRT_MIN_CASES, &vectors_ran);
}

static void test_vectors_total(void)
{
	printf("\nsigv4 vectors: %zu cases\n", vectors_ran);
	CU_ASSERT_TRUE(vectors_ran >= AWS4_MIN_CASES + CRT_MIN_CASES);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"canonical URI (path normalisation, double encoding)", test_canonical_uri},
	    {"canonical query (decode, encode, sort)", test_canonical_query},
	    {"canonical header values (trim, fold, refuse controls)", test_canonical_headers},
	    {"header sort and duplicates", test_header_sort_and_duplicates},
	    {"payload hash and x-amz-content-sha256", test_payload_hash},
	    {"canonical request bad arguments", test_canonical_request_bad_args},
	    {"huge inputs refused", test_huge_inputs},
	    {"string to sign", test_string_to_sign},
	    {"signature (HMAC chain)", test_signature},
	    {"secret never in any output", test_secret_never_in_output},
	    {"sign refuses bad input", test_sign_refuses},
	    {"signing-key cache (hit, date/region/service/key change, wipe)", test_key_cache},
	    {"amz-date round trips", test_amz_date_round_trip},
	    {"amz-date bad input", test_amz_date_bad},
	    {"test HTTP request parser", test_http_parser},
	    {"vectors: aws4_testsuite", test_vectors_aws4_testsuite},
	    {"vectors: aws-c-auth v4 header signing", test_vectors_aws_c_auth},
	    {"vectors: total", test_vectors_total},
	    {NULL, NULL},
	};

	return tsupport_run("sigv4", cases);
}
