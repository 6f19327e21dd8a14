/* emf.c — the CloudWatch Embedded Metric Format line of one invocation ("Specification:
 * Embedded metric format", CloudWatch User Guide): a root member _aws with Timestamp (ms) and
 * CloudWatchMetrics [{Namespace, Dimensions [[names]], Metrics [{Name, Unit}]}], and every
 * dimension and metric named there as a top-level member (dimension values strings, metric
 * values numbers). Built with json-c, so the function name is escaped whatever it holds. */
#include "emf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jitrd/outcome.h"

/* Sums of a snapshot's API series: every attempt, those throttled, those failed. */
struct api_sums {
	uint64_t calls;
	uint64_t throttled;
	uint64_t failed;
};

static struct api_sums api_sums(const struct jitrd_metrics_snapshot *s)
{
	struct api_sums sums = {s->api_dropped, 0, 0};
	size_t n = s->api_count < JITRD_METRICS_API_SERIES_MAX ? s->api_count
	                                                       : JITRD_METRICS_API_SERIES_MAX;

	for (size_t i = 0; i < n; i++) {
		sums.calls += s->api[i].count;
		if (s->api[i].code == 429)
			sums.throttled += s->api[i].count;
		else if (s->api[i].code == 0 || s->api[i].code >= 500)
			sums.failed += s->api[i].count;
	}
	return sums;
}

/* A counter's growth; a registry that went back (never expected) counts as 0. */
static int64_t grown(uint64_t before, uint64_t after)
{
	return after >= before ? (int64_t)(after - before) : 0;
}

/* Adds child under key (object parent) or at the end (array parent, key NULL), taking child
 * (NULL after a failed json_object_new_*: a failure). 0 or -1. */
static int put(json_object *parent, const char *key, json_object *child)
{
	if (!child)
		return -1;
	if ((key ? json_object_object_add(parent, key, child)
	         : json_object_array_add(parent, child)) != 0) {
		json_object_put(child);
		return -1;
	}
	return 0;
}

/* Adds the metric name = value to root and {Name, Unit} to list. 0 or -1. */
static int add_metric(json_object *root, json_object *list, const char *name, const char *unit,
                      int64_t value)
{
	json_object *def;

	if (put(list, NULL, def = json_object_new_object()) != 0 ||
	    put(def, "Name", json_object_new_string(name)) != 0 ||
	    put(def, "Unit", json_object_new_string(unit)) != 0 ||
	    put(root, name, json_object_new_int64(value)) != 0)
		return -1;
	return 0;
}

static int add_metrics(json_object *root, json_object *list,
                       const struct jitrd_metrics_snapshot *before,
                       const struct jitrd_metrics_snapshot *after, int64_t duration_ms)
{
	struct api_sums b = api_sums(before), a = api_sums(after);
	uint64_t events = 0;
	char name[64];

	for (int d = 0; d < JITRD_DECISION_COUNT; d++) {
		int64_t n = grown(before->events[d], after->events[d]);

		events += (uint64_t)n;
		snprintf(name, sizeof(name), "Decision_%s",
		         jitrd_decision_name((enum jitrd_decision_kind)d));
		if (add_metric(root, list, name, "Count", n) != 0)
			return -1;
	}
	if (add_metric(root, list, "Events", "Count", (int64_t)events) != 0 ||
	    add_metric(root, list, "ApiCalls", "Count", grown(b.calls, a.calls)) != 0 ||
	    add_metric(root, list, "ApiThrottled", "Count", grown(b.throttled, a.throttled)) != 0 ||
	    add_metric(root, list, "ApiFailed", "Count", grown(b.failed, a.failed)) != 0 ||
	    add_metric(root, list, "Duration", "Milliseconds", duration_ms < 0 ? 0 : duration_ms) !=
	        0)
		return -1;
	return 0;
}

enum jitrd_err jitrd_lambda_emf_line(const struct jitrd_metrics_snapshot *before,
                                     const struct jitrd_metrics_snapshot *after,
                                     int64_t duration_ms, int64_t timestamp_ms,
                                     const char *function_name, char **out)
{
	json_object *root, *aws, *cwm, *directive, *dims, *set, *list;
	const char *text;
	enum jitrd_err err = JITRD_ERR_NOMEM;

	if (!before || !after || !function_name || !*function_name || !out)
		return JITRD_ERR_INVALID_ARG;
	root = json_object_new_object();
	if (!root)
		return JITRD_ERR_NOMEM;
	/* each child is held by its parent before it is filled, so one put frees all */
	if (put(root, "_aws", aws = json_object_new_object()) != 0 ||
	    put(aws, "Timestamp", json_object_new_int64(timestamp_ms)) != 0 ||
	    put(aws, "CloudWatchMetrics", cwm = json_object_new_array()) != 0 ||
	    put(cwm, NULL, directive = json_object_new_object()) != 0 ||
	    put(directive, "Namespace", json_object_new_string(JITRD_EMF_NAMESPACE)) != 0 ||
	    put(directive, "Dimensions", dims = json_object_new_array()) != 0 ||
	    put(dims, NULL, set = json_object_new_array()) != 0 ||
	    put(set, NULL, json_object_new_string("FunctionName")) != 0 ||
	    put(directive, "Metrics", list = json_object_new_array()) != 0 ||
	    put(root, "FunctionName", json_object_new_string(function_name)) != 0 ||
	    add_metrics(root, list, before, after, duration_ms) != 0)
		goto cleanup;
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
	if (!text || !(*out = strdup(text)))
		goto cleanup;
	err = JITRD_OK;
cleanup:
	json_object_put(root);
	return err;
}
