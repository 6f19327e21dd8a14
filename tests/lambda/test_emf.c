/* test_emf.c — unit tests of the CloudWatch Embedded Metric Format line builder (emf.h): the
 * counters are one invocation's growth, every metric named in _aws has a top-level number and
 * the dimension a top-level string, a hostile function name stays one escaped JSON line, and
 * bad arguments are refused with *out untouched. test-lambda.py checks the lines the running
 * function writes. */
#include "emf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jitrd/outcome.h"
#include "testsupport.h"

#define NOW_MS INT64_C(1906502400000)

static struct jitrd_metrics_snapshot before, after;

static void fill(void)
{
	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	before.events[JITRD_DECISION_ACTIVATE] = 5;
	after.events[JITRD_DECISION_ACTIVATE] = 7;
	after.events[JITRD_DECISION_REVOKE] = 1;
	before.api_count = 1;
	snprintf(before.api[0].operation, sizeof(before.api[0].operation), "UpdateCertificate");
	before.api[0].code = 200;
	before.api[0].count = 10;
	after.api_count = 3;
	after.api[0] = before.api[0];
	after.api[0].count = 13;
	snprintf(after.api[1].operation, sizeof(after.api[1].operation), "AttachPolicy");
	after.api[1].code = 429;
	after.api[1].count = 2;
	snprintf(after.api[2].operation, sizeof(after.api[2].operation), "CreateThing");
	after.api[2].code = 503;
	after.api[2].count = 1;
}

static int64_t member(json_object *o, const char *name)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

/* The line parsed, after checking the EMF members every line must have. */
static json_object *parse_checked(const char *line, const char *function_name)
{
	json_object *o = json_tokener_parse(line), *aws, *cwm, *d, *dims, *metrics, *v;

	CU_ASSERT_PTR_NULL(strchr(line, '\n'));
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_FATAL(json_object_object_get_ex(o, "_aws", &aws));
	CU_ASSERT_EQUAL(member(aws, "Timestamp"), NOW_MS);
	CU_ASSERT_FATAL(json_object_object_get_ex(aws, "CloudWatchMetrics", &cwm));
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(cwm), 1);
	d = json_object_array_get_idx(cwm, 0);
	CU_ASSERT_FATAL(json_object_object_get_ex(d, "Namespace", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "jitrd");
	CU_ASSERT_FATAL(json_object_object_get_ex(d, "Dimensions", &dims));
	CU_ASSERT_EQUAL(json_object_array_length(dims), 1);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(
				   json_object_array_get_idx(dims, 0), 0)),
	                       "FunctionName");
	CU_ASSERT_FATAL(json_object_object_get_ex(o, "FunctionName", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), function_name);
	CU_ASSERT_FATAL(json_object_object_get_ex(d, "Metrics", &metrics));
	CU_ASSERT(json_object_array_length(metrics) > 0 &&
	          json_object_array_length(metrics) <= 100);
	for (size_t i = 0; i < json_object_array_length(metrics); i++) {
		json_object *m = json_object_array_get_idx(metrics, i), *name, *unit;

		CU_ASSERT_FATAL(json_object_object_get_ex(m, "Name", &name));
		CU_ASSERT(json_object_object_get_ex(m, "Unit", &unit));
		CU_ASSERT(member(o, json_object_get_string(name)) >= 0);
	}
	return o;
}

/* The line of b -> a, built and checked (NULL after a failure, already reported). */
static json_object *line_of(const struct jitrd_metrics_snapshot *b,
                            const struct jitrd_metrics_snapshot *a, int64_t duration_ms,
                            const char *function_name)
{
	char *line = NULL;
	json_object *o;

	if (jitrd_lambda_emf_line(b, a, duration_ms, NOW_MS, function_name, &line) != JITRD_OK) {
		CU_FAIL("the line was not built");
		return NULL;
	}
	o = parse_checked(line, function_name);
	free(line);
	return o;
}

static void test_one_invocations_growth(void)
{
	json_object *o;

	fill();
	o = line_of(&before, &after, 42, "jitrd-fn");
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(member(o, "Decision_activate"), 2);
	CU_ASSERT_EQUAL(member(o, "Decision_revoke"), 1);
	CU_ASSERT_EQUAL(member(o, "Decision_hold"), 0);
	CU_ASSERT_EQUAL(member(o, "Events"), 3);
	CU_ASSERT_EQUAL(member(o, "ApiCalls"), 6);
	CU_ASSERT_EQUAL(member(o, "ApiThrottled"), 2);
	CU_ASSERT_EQUAL(member(o, "ApiFailed"), 1);
	CU_ASSERT_EQUAL(member(o, "Duration"), 42);
	json_object_put(o);
}

static void test_counters_never_negative(void)
{
	json_object *o;

	fill();
	/* a registry that went back (never expected) and a clock that did */
	o = line_of(&after, &before, -5, "f");
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_EQUAL(member(o, "Decision_activate"), 0);
	CU_ASSERT_EQUAL(member(o, "ApiCalls"), 0);
	CU_ASSERT_EQUAL(member(o, "Duration"), 0);
	json_object_put(o);
}

static void test_hostile_function_name_escaped(void)
{
	const char *name = "f\"}\n{\"_aws\":1,\\";

	fill();
	/* an API count over the array's bound must not be read past */
	after.api_count = JITRD_METRICS_API_SERIES_MAX + 7;
	json_object_put(line_of(&before, &after, 1, name));
}

static void test_bad_arguments(void)
{
	char *line = (char *)"untouched";

	fill();
	CU_ASSERT_EQUAL(jitrd_lambda_emf_line(NULL, &after, 1, NOW_MS, "f", &line),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_lambda_emf_line(&before, NULL, 1, NOW_MS, "f", &line),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_lambda_emf_line(&before, &after, 1, NOW_MS, NULL, &line),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_lambda_emf_line(&before, &after, 1, NOW_MS, "", &line),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_lambda_emf_line(&before, &after, 1, NOW_MS, "f", NULL),
	                JITRD_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(line, "untouched");
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"one invocation's growth, every metric with its value", test_one_invocations_growth},
	    {"counters and duration never negative", test_counters_never_negative},
	    {"a hostile function name stays one escaped line", test_hostile_function_name_escaped},
	    {"bad arguments refused, out untouched", test_bad_arguments},
	    {NULL, NULL},
	};

	return tsupport_run("emf", cases);
}
