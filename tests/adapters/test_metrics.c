/* test_metrics.c — the metrics registry and its Prometheus text: exact golden renderings,
 * hostile label values escaped, bucket placement, bounded label sets, concurrent updates. */
#include "jitrd/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#define LABEL(dst, src) snprintf((dst), sizeof(dst), "%s", (src))

static const char empty_golden[] =
    "# HELP jitrd_events_total Events by decision.\n"
    "# TYPE jitrd_events_total counter\n"
    "jitrd_events_total{decision=\"activate\"} 0\n"
    "jitrd_events_total{decision=\"revoke\"} 0\n"
    "jitrd_events_total{decision=\"hold\"} 0\n"
    "jitrd_events_total{decision=\"reject\"} 0\n"
    "jitrd_events_total{decision=\"skip\"} 0\n"
    "jitrd_events_total{decision=\"ignore\"} 0\n"
    "jitrd_events_total{decision=\"defer\"} 0\n"
    "jitrd_events_total{decision=\"invalid\"} 0\n"
    "jitrd_events_total{decision=\"failed\"} 0\n"
    "# HELP jitrd_ocsp_requests_total OCSP requests by result (error: no response).\n"
    "# TYPE jitrd_ocsp_requests_total counter\n"
    "jitrd_ocsp_requests_total{result=\"error\"} 0\n"
    "jitrd_ocsp_requests_total{result=\"good\"} 0\n"
    "jitrd_ocsp_requests_total{result=\"revoked\"} 0\n"
    "jitrd_ocsp_requests_total{result=\"hold\"} 0\n"
    "jitrd_ocsp_requests_total{result=\"unknown\"} 0\n"
    "jitrd_ocsp_requests_total{result=\"invalid\"} 0\n"
    "# HELP jitrd_ocsp_cache_hits_total OCSP answers taken from the cache instead of a request.\n"
    "# TYPE jitrd_ocsp_cache_hits_total counter\n"
    "jitrd_ocsp_cache_hits_total 0\n"
    "# HELP jitrd_api_requests_total AWS IoT API requests by operation and HTTP status (0: no "
    "response).\n"
    "# TYPE jitrd_api_requests_total counter\n"
    "# HELP jitrd_api_request_duration_seconds AWS IoT API request duration, retries counted "
    "separately.\n"
    "# TYPE jitrd_api_request_duration_seconds histogram\n"
    "jitrd_api_request_duration_seconds_bucket{le=\"0.005\"} 0\n"
    "jitrd_api_request_duration_seconds_bucket{le=\"0.01\"} 0\n"
    "jitrd_api_request_duration_seconds_bucket{le=\"0.025\"} 0\n"
    "jitrd_api_request_duration_seconds_bucket{le=\"0.05\"} 0\n"
    "jitrd_api_request_duration_seconds_bucket{le=\"0.1\"} 0\n"
    "jitrd_api_request_duration_seconds_bucket{le=\"0.25\"} 0\n"
    "jitrd_api_request_duration_seconds_bucket{le=\"0.5\"} 0\n"
    "jitrd_api_request_duration_seconds_bucket{le=\"1\"} 0\n"
    "jitrd_api_request_duration_seconds_bucket{le=\"2.5\"} 0\n"
    "jitrd_api_request_duration_seconds_bucket{le=\"5\"} 0\n"
    "jitrd_api_request_duration_seconds_bucket{le=\"10\"} 0\n"
    "jitrd_api_request_duration_seconds_bucket{le=\"+Inf\"} 0\n"
    "jitrd_api_request_duration_seconds_sum 0\n"
    "jitrd_api_request_duration_seconds_count 0\n"
    "# HELP jitrd_event_duration_seconds Time from taking an event to its outcome.\n"
    "# TYPE jitrd_event_duration_seconds histogram\n"
    "jitrd_event_duration_seconds_bucket{le=\"0.01\"} 0\n"
    "jitrd_event_duration_seconds_bucket{le=\"0.025\"} 0\n"
    "jitrd_event_duration_seconds_bucket{le=\"0.05\"} 0\n"
    "jitrd_event_duration_seconds_bucket{le=\"0.1\"} 0\n"
    "jitrd_event_duration_seconds_bucket{le=\"0.25\"} 0\n"
    "jitrd_event_duration_seconds_bucket{le=\"0.5\"} 0\n"
    "jitrd_event_duration_seconds_bucket{le=\"1\"} 0\n"
    "jitrd_event_duration_seconds_bucket{le=\"2.5\"} 0\n"
    "jitrd_event_duration_seconds_bucket{le=\"5\"} 0\n"
    "jitrd_event_duration_seconds_bucket{le=\"10\"} 0\n"
    "jitrd_event_duration_seconds_bucket{le=\"30\"} 0\n"
    "jitrd_event_duration_seconds_bucket{le=\"60\"} 0\n"
    "jitrd_event_duration_seconds_bucket{le=\"+Inf\"} 0\n"
    "jitrd_event_duration_seconds_sum 0\n"
    "jitrd_event_duration_seconds_count 0\n"
    "# HELP jitrd_crl_entries Entries of the CA's current CRL.\n"
    "# TYPE jitrd_crl_entries gauge\n"
    "# HELP jitrd_crl_next_update_timestamp_seconds nextUpdate of the CA's current CRL, in "
    "seconds since the epoch.\n"
    "# TYPE jitrd_crl_next_update_timestamp_seconds gauge\n"
    "# HELP jitrd_crl_next_update_seconds Seconds until the nextUpdate of the CA's current CRL "
    "(negative: stale).\n"
    "# TYPE jitrd_crl_next_update_seconds gauge\n"
    "# HELP jitrd_crl_age_seconds Seconds since the thisUpdate of the CA's current CRL.\n"
    "# TYPE jitrd_crl_age_seconds gauge\n"
    "# HELP jitrd_crl_fetch_total CRL fetches by outcome: new, not_modified, refused, failed.\n"
    "# TYPE jitrd_crl_fetch_total counter\n"
    "jitrd_crl_fetch_total{outcome=\"new\"} 0\n"
    "jitrd_crl_fetch_total{outcome=\"not_modified\"} 0\n"
    "jitrd_crl_fetch_total{outcome=\"refused\"} 0\n"
    "jitrd_crl_fetch_total{outcome=\"failed\"} 0\n"
    "# HELP jitrd_crl_rollbacks_total CRLs refused because their number is below the highest "
    "accepted before.\n"
    "# TYPE jitrd_crl_rollbacks_total counter\n"
    "# HELP jitrd_mqtt_connected 1 while the MQTT client is connected to the broker.\n"
    "# TYPE jitrd_mqtt_connected gauge\n"
    "jitrd_mqtt_connected 0\n"
    "# HELP jitrd_mqtt_reconnects_total Connections to the broker after the first (each "
    "reconnect).\n"
    "# TYPE jitrd_mqtt_reconnects_total counter\n"
    "jitrd_mqtt_reconnects_total 0\n"
    "# HELP jitrd_inflight_events Events taken by workers and not finished.\n"
    "# TYPE jitrd_inflight_events gauge\n"
    "jitrd_inflight_events 0\n"
    "# HELP jitrd_journal_backlog Events recorded in the journal and not final (pending or in "
    "progress).\n"
    "# TYPE jitrd_journal_backlog gauge\n"
    "jitrd_journal_backlog 0\n";

static void test_empty_golden(void)
{
	struct jitrd_metrics *m = NULL;
	struct jitrd_metrics_snapshot *s = malloc(sizeof(*s));
	char *text = NULL;
	size_t len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(jitrd_metrics_new(&m), JITRD_OK);
	jitrd_metrics_snapshot(m, s);
	CU_ASSERT_EQUAL_FATAL(jitrd_metrics_render(s, &text, &len), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(text, empty_golden);
	CU_ASSERT_EQUAL(len, strlen(empty_golden));
	free(text);
	/* a NULL registry snapshots as the empty one */
	memset(s, 0x55, sizeof(*s));
	jitrd_metrics_snapshot(NULL, s);
	CU_ASSERT_EQUAL_FATAL(jitrd_metrics_render(s, &text, &len), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(text, empty_golden);
	free(text);
	free(s);
	jitrd_metrics_free(m);
}

/* A snapshot built by hand, small bounds, hostile CA labels: every byte of the output. */
static void test_populated_golden(void)
{
	static const double bounds[] = {0.1, 1};
	static const char want[] =
	    "jitrd_events_total{decision=\"activate\"} 3\n"
	    "jitrd_events_total{decision=\"revoke\"} 1\n"
	    "jitrd_events_total{decision=\"failed\"} 18446744073709551615\n"
	    "jitrd_ocsp_requests_total{result=\"error\"} 2\n"
	    "jitrd_ocsp_requests_total{result=\"revoked\"} 5\n"
	    "jitrd_ocsp_cache_hits_total 9\n"
	    "jitrd_api_requests_total{operation=\"UpdateCertificate\",code=\"200\"} 4\n"
	    "jitrd_api_requests_total{operation=\"DescribeCertificate\",code=\"0\"} 1\n"
	    "jitrd_api_requests_total{operation=\"other\",code=\"0\"} 2\n"
	    "jitrd_api_request_duration_seconds_bucket{le=\"0.1\"} 1\n"
	    "jitrd_api_request_duration_seconds_bucket{le=\"1\"} 3\n"
	    "jitrd_api_request_duration_seconds_bucket{le=\"+Inf\"} 5\n"
	    "jitrd_api_request_duration_seconds_sum 12.345\n"
	    "jitrd_api_request_duration_seconds_count 5\n"
	    "jitrd_event_duration_seconds_bucket{le=\"+Inf\"} 0\n"
	    "jitrd_event_duration_seconds_sum NaN\n"
	    "jitrd_event_duration_seconds_count 0\n"
	    "jitrd_crl_entries{ca=\"ab\\\\cd\\\"}\\n# TYPE x counter\\nx 1\"} 7\n"
	    "jitrd_crl_entries{ca=\"\xc3\xa9\"} 0\n"
	    "jitrd_crl_next_update_timestamp_seconds{ca=\"ab\\\\cd\\\"}\\n# TYPE x counter\\nx 1\"}"
	    " 1924992000\n"
	    "jitrd_crl_next_update_timestamp_seconds{ca=\"\xc3\xa9\"} -1\n"
	    "jitrd_crl_next_update_seconds{ca=\"ab\\\\cd\\\"}\\n# TYPE x counter\\nx 1\"} 2000\n"
	    "jitrd_crl_next_update_seconds{ca=\"\xc3\xa9\"} -1924990001\n"
	    "jitrd_crl_age_seconds{ca=\"ab\\\\cd\\\"}\\n# TYPE x counter\\nx 1\"} 90000\n"
	    "jitrd_crl_age_seconds{ca=\"\xc3\xa9\"} 1924990000\n"
	    "jitrd_crl_fetch_total{outcome=\"new\"} 2\n"
	    "jitrd_crl_fetch_total{outcome=\"not_modified\"} 0\n"
	    "jitrd_crl_fetch_total{outcome=\"refused\"} 0\n"
	    "jitrd_crl_fetch_total{outcome=\"failed\"} 5\n"
	    "jitrd_crl_rollbacks_total{ca=\"a\\\"b\"} 3\n"
	    "jitrd_mqtt_connected 1\n"
	    "jitrd_mqtt_reconnects_total 4\n"
	    "jitrd_inflight_events -2\n"
	    "jitrd_journal_backlog 17\n";
	struct jitrd_metrics_snapshot *s = calloc(1, sizeof(*s));
	char *text = NULL, *samples, *w;
	size_t len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	s->events[JITRD_DECISION_ACTIVATE] = 3;
	s->events[JITRD_DECISION_REVOKE] = 1;
	s->events[JITRD_DECISION_FAILED] = UINT64_MAX;
	s->ocsp_requests[JITRD_OCSP_NONE] = 2;
	s->ocsp_requests[JITRD_OCSP_REVOKED] = 5;
	s->ocsp_cache_hits = 9;
	s->api_count = 2;
	LABEL(s->api[0].operation, "UpdateCertificate");
	s->api[0].code = 200;
	s->api[0].count = 4;
	LABEL(s->api[1].operation, "DescribeCertificate");
	s->api[1].count = 1;
	s->api_dropped = 2;
	s->api_duration = (struct jitrd_metrics_histogram){
	    .bounds = bounds, .bound_count = 2, .counts = {1, 2, 2}, .count = 5, .sum = 12.345};
	s->event_duration = (struct jitrd_metrics_histogram){.sum = NAN};
	s->crl_count = 2;
	LABEL(s->crl[0].ca, "ab\\cd\"}\n# TYPE x counter\nx 1");
	s->crl[0].entries = 7;
	s->crl[0].next_update = 1924992000;
	s->crl[0].this_update = 1924900000;
	s->now = 1924990000;
	s->crl_fetch[JITRD_CRL_OUTCOME_NEW] = 2;
	s->crl_fetch[JITRD_CRL_OUTCOME_FAILED] = 5;
	LABEL(s->crl[1].ca, "\xc3\xa9");
	s->crl[1].next_update = -1;
	s->crl_rollback_count = 1;
	LABEL(s->crl_rollback[0].ca, "a\"b");
	s->crl_rollback[0].count = 3;
	s->mqtt_connected = 1;
	s->mqtt_reconnects = 4;
	s->inflight = -2;
	s->journal_backlog = 17;
	CU_ASSERT_EQUAL_FATAL(jitrd_metrics_render(s, &text, &len), JITRD_OK);
	CU_ASSERT_EQUAL(strlen(text), len);
	/* the sample lines only (HELP/TYPE are checked by the empty golden) */
	samples = strdup(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(samples);
	w = samples;
	for (const char *line = text; *line;) {
		const char *end = strchr(line, '\n');

		CU_ASSERT_PTR_NOT_NULL_FATAL(end);
		/* HELP/TYPE lines and the zero event counters are the empty golden's business */
		if (line[0] != '#' && !((strncmp(line, "jitrd_events_total", 18) == 0 ||
		                         strncmp(line, "jitrd_ocsp_requests_total", 25) == 0) &&
		                        strncmp(end - 3, "} 0", 3) == 0)) {
			memcpy(w, line, (size_t)(end - line) + 1);
			w += end - line + 1;
		}
		line = end + 1;
	}
	*w = '\0';
	CU_ASSERT_STRING_EQUAL(samples, want);
	if (strcmp(samples, want) != 0)
		fprintf(stderr, "got:\n%s\nwant:\n%s\n", samples, want);
	/* the hostile label forged no line of its own */
	CU_ASSERT_PTR_NULL(strstr(text, "\n# TYPE x"));
	CU_ASSERT_PTR_NULL(strstr(text, "\nx 1"));
	free(samples);
	free(text);
	free(s);
}

static void test_render_invalid(void)
{
	struct jitrd_metrics_snapshot *s = NULL;
	char *text = (char *)"untouched";
	size_t len = 99;

	s = malloc(sizeof(*s));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	jitrd_metrics_snapshot(NULL, s);
	CU_ASSERT_EQUAL(jitrd_metrics_render(NULL, &text, &len), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_metrics_render(s, NULL, &len), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_metrics_render(s, &text, NULL), JITRD_ERR_INVALID_ARG);
	s->api_count = JITRD_METRICS_API_SERIES_MAX + 1;
	CU_ASSERT_EQUAL(jitrd_metrics_render(s, &text, &len), JITRD_ERR_INVALID_ARG);
	s->api_count = 0;
	s->crl_count = JITRD_METRICS_CRL_MAX + 1;
	CU_ASSERT_EQUAL(jitrd_metrics_render(s, &text, &len), JITRD_ERR_INVALID_ARG);
	s->crl_count = 1;
	memset(s->crl[0].ca, 'a', sizeof(s->crl[0].ca)); /* no NUL */
	CU_ASSERT_EQUAL(jitrd_metrics_render(s, &text, &len), JITRD_ERR_INVALID_ARG);
	s->crl_count = 0;
	s->crl_rollback_count = JITRD_METRICS_CRL_MAX + 1;
	CU_ASSERT_EQUAL(jitrd_metrics_render(s, &text, &len), JITRD_ERR_INVALID_ARG);
	s->crl_rollback_count = 1;
	memset(s->crl_rollback[0].ca, 'a', sizeof(s->crl_rollback[0].ca)); /* no NUL */
	CU_ASSERT_EQUAL(jitrd_metrics_render(s, &text, &len), JITRD_ERR_INVALID_ARG);
	s->crl_rollback_count = 0;
	s->event_duration.bound_count = JITRD_METRICS_BUCKETS_MAX + 1;
	CU_ASSERT_EQUAL(jitrd_metrics_render(s, &text, &len), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(text, "untouched");
	CU_ASSERT_EQUAL(len, 99);
	CU_ASSERT_EQUAL(jitrd_metrics_new(NULL), JITRD_ERR_INVALID_ARG);
	/* updates on a NULL registry do nothing */
	jitrd_metrics_event(NULL, JITRD_DECISION_ACTIVATE, 1);
	jitrd_metrics_api_request(NULL, "x", 200, 1);
	jitrd_metrics_set_crl(NULL, "x", 1, 1, 1);
	jitrd_metrics_crl_rollback(NULL, "x");
	jitrd_metrics_clear_crl(NULL);
	jitrd_metrics_set_mqtt_connected(NULL, 1);
	jitrd_metrics_add_inflight(NULL, 1);
	jitrd_metrics_mqtt_reconnect(NULL);
	jitrd_metrics_set_journal_backlog(NULL, 1);
	jitrd_metrics_free(NULL);
	free(s);
}

/* Updates land where they should: bucket edges are inclusive (le), odd durations clamp. */
static void test_registry_updates(void)
{
	struct jitrd_metrics *m = NULL;
	struct jitrd_metrics_snapshot *s = malloc(sizeof(*s));
	char long_name[200];

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(jitrd_metrics_new(&m), JITRD_OK);
	jitrd_metrics_event(m, JITRD_DECISION_HOLD, 0.01);       /* le 0.01 */
	jitrd_metrics_event(m, JITRD_DECISION_HOLD, 0.011);      /* le 0.025 */
	jitrd_metrics_event(m, JITRD_DECISION_SKIP, 100);        /* +Inf */
	jitrd_metrics_event(m, JITRD_DECISION_SKIP, -5);         /* clamped to 0 */
	jitrd_metrics_event(m, JITRD_DECISION_SKIP, NAN);        /* clamped to 0 */
	jitrd_metrics_event(m, (enum jitrd_decision_kind)99, 1); /* ignored */
	jitrd_metrics_api_request(m, "UpdateCertificate", 200, 0.02);
	jitrd_metrics_api_request(m, "UpdateCertificate", 429, 0.02);
	jitrd_metrics_api_request(m, "UpdateCertificate", 200, 0.02);
	memset(long_name, 'o', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	jitrd_metrics_api_request(m, long_name, 0, 0.02);
	jitrd_metrics_set_crl(m, "ca1", 10, 50, 100);
	jitrd_metrics_set_crl(m, "ca2", 20, 150, 200);
	jitrd_metrics_set_crl(m, "ca1", 11, 51, 101);
	jitrd_metrics_crl_rollback(m, "ca2");
	jitrd_metrics_crl_rollback(m, "ca2");
	jitrd_metrics_crl_rollback(m, NULL);
	jitrd_metrics_set_mqtt_connected(m, 5);
	jitrd_metrics_add_inflight(m, 3);
	jitrd_metrics_add_inflight(m, -1);
	jitrd_metrics_mqtt_reconnect(m);
	jitrd_metrics_mqtt_reconnect(m);
	jitrd_metrics_set_journal_backlog(m, 12);
	jitrd_metrics_set_journal_backlog(m, 7);
	jitrd_metrics_ocsp_request(m, JITRD_OCSP_GOOD);
	jitrd_metrics_ocsp_request(m, JITRD_OCSP_GOOD);
	jitrd_metrics_ocsp_request(m, JITRD_OCSP_NONE);
	jitrd_metrics_ocsp_request(m, (enum jitrd_ocsp_status)99); /* ignored */
	jitrd_metrics_ocsp_cache_hit(m);
	jitrd_metrics_ocsp_cache_hit(NULL);
	jitrd_metrics_snapshot(m, s);
	CU_ASSERT_EQUAL(s->ocsp_requests[JITRD_OCSP_GOOD], 2);
	CU_ASSERT_EQUAL(s->ocsp_requests[JITRD_OCSP_NONE], 1);
	CU_ASSERT_EQUAL(s->ocsp_requests[JITRD_OCSP_INVALID], 0);
	CU_ASSERT_EQUAL(s->ocsp_cache_hits, 1);
	CU_ASSERT_EQUAL(s->mqtt_reconnects, 2);
	CU_ASSERT_EQUAL(s->journal_backlog, 7);

	CU_ASSERT_EQUAL(s->events[JITRD_DECISION_HOLD], 2);
	CU_ASSERT_EQUAL(s->events[JITRD_DECISION_SKIP], 3);
	CU_ASSERT_EQUAL(s->events[JITRD_DECISION_ACTIVATE], 0);
	CU_ASSERT_EQUAL(s->event_duration.count, 5);
	CU_ASSERT_EQUAL(s->event_duration.counts[0], 3);
	CU_ASSERT_EQUAL(s->event_duration.counts[1], 1);
	CU_ASSERT_EQUAL(s->event_duration.counts[s->event_duration.bound_count], 1);
	CU_ASSERT_DOUBLE_EQUAL(s->event_duration.sum, 100.021, 1e-9);
	CU_ASSERT_EQUAL(s->api_count, 3);
	CU_ASSERT_STRING_EQUAL(s->api[0].operation, "UpdateCertificate");
	CU_ASSERT_EQUAL(s->api[0].code, 200);
	CU_ASSERT_EQUAL(s->api[0].count, 2);
	CU_ASSERT_EQUAL(s->api[1].code, 429);
	CU_ASSERT_EQUAL(s->api[1].count, 1);
	CU_ASSERT_EQUAL(strlen(s->api[2].operation), JITRD_METRICS_OPERATION_MAX - 1);
	CU_ASSERT_EQUAL(s->api_duration.count, 4);
	CU_ASSERT_EQUAL(s->api_duration.counts[2], 4); /* 0.02 is le 0.025 */
	CU_ASSERT_EQUAL(s->crl_count, 2);
	CU_ASSERT_STRING_EQUAL(s->crl[0].ca, "ca1");
	CU_ASSERT_EQUAL(s->crl[0].entries, 11);
	CU_ASSERT_EQUAL(s->crl[0].next_update, 101);
	CU_ASSERT_EQUAL(s->crl[1].entries, 20);
	CU_ASSERT_EQUAL(s->mqtt_connected, 1);
	CU_ASSERT_EQUAL(s->inflight, 2);

	CU_ASSERT_EQUAL(s->crl_rollback_count, 1);
	CU_ASSERT_STRING_EQUAL(s->crl_rollback[0].ca, "ca2");
	CU_ASSERT_EQUAL(s->crl_rollback[0].count, 2);

	jitrd_metrics_clear_crl(m);
	jitrd_metrics_set_mqtt_connected(m, 0);
	jitrd_metrics_snapshot(m, s);
	CU_ASSERT_EQUAL(s->crl_count, 0);
	CU_ASSERT_EQUAL(s->crl_rollback_count, 1); /* a counter: a reload does not reset it */
	CU_ASSERT_EQUAL(s->mqtt_connected, 0);
	free(s);
	jitrd_metrics_free(m);
}

/* Label sets stay bounded whatever the callers pass. */
static void test_bounded_labels(void)
{
	struct jitrd_metrics *m = NULL;
	struct jitrd_metrics_snapshot *s = malloc(sizeof(*s));
	char name[32];
	char *text = NULL;
	size_t len;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(jitrd_metrics_new(&m), JITRD_OK);
	for (int i = 0; i < JITRD_METRICS_API_SERIES_MAX + 10; i++)
		jitrd_metrics_api_request(m, "Op", 100 + i, 0.001);
	for (int i = 0; i < JITRD_METRICS_CRL_MAX + 10; i++) {
		snprintf(name, sizeof(name), "ca%d", i);
		jitrd_metrics_set_crl(m, name, (uint64_t)i, i, i);
		jitrd_metrics_crl_rollback(m, name);
	}
	jitrd_metrics_snapshot(m, s);
	CU_ASSERT_EQUAL(s->api_count, JITRD_METRICS_API_SERIES_MAX);
	CU_ASSERT_EQUAL(s->api_dropped, 10);
	CU_ASSERT_EQUAL(s->api_duration.count, JITRD_METRICS_API_SERIES_MAX + 10);
	CU_ASSERT_EQUAL(s->crl_count, JITRD_METRICS_CRL_MAX);
	CU_ASSERT_EQUAL(s->crl_rollback_count, JITRD_METRICS_CRL_MAX);
	CU_ASSERT_EQUAL_FATAL(jitrd_metrics_render(s, &text, &len), JITRD_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\njitrd_api_requests_total{operation=\"other\","
	                                    "code=\"0\"} 10\n"));
	CU_ASSERT_PTR_NULL(strstr(text, "ca64"));
	free(text);
	free(s);
	jitrd_metrics_free(m);
}

#define THREADS 8
#define UPDATES 5000

static void *hammer(void *arg)
{
	struct jitrd_metrics *m = arg;

	for (int i = 0; i < UPDATES; i++) {
		jitrd_metrics_add_inflight(m, 1);
		jitrd_metrics_event(m, JITRD_DECISION_ACTIVATE, 0.5);
		jitrd_metrics_api_request(m, "UpdateCertificate", 200, 0.25);
		jitrd_metrics_add_inflight(m, -1);
	}
	return NULL;
}

static void test_concurrent_updates(void)
{
	struct jitrd_metrics *m = NULL;
	struct jitrd_metrics_snapshot *s = malloc(sizeof(*s));
	pthread_t threads[THREADS];

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(jitrd_metrics_new(&m), JITRD_OK);
	for (int i = 0; i < THREADS; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&threads[i], NULL, hammer, m), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	jitrd_metrics_snapshot(m, s);
	CU_ASSERT_EQUAL(s->events[JITRD_DECISION_ACTIVATE], THREADS * UPDATES);
	CU_ASSERT_EQUAL(s->event_duration.count, THREADS * UPDATES);
	CU_ASSERT_DOUBLE_EQUAL(s->event_duration.sum, THREADS * UPDATES * 0.5, 1e-6);
	CU_ASSERT_EQUAL(s->api_count, 1);
	CU_ASSERT_EQUAL(s->api[0].count, THREADS * UPDATES);
	CU_ASSERT_EQUAL(s->inflight, 0);
	free(s);
	jitrd_metrics_free(m);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"empty registry golden", test_empty_golden},
	    {"populated snapshot golden, hostile labels", test_populated_golden},
	    {"render invalid arguments", test_render_invalid},
	    {"registry updates", test_registry_updates},
	    {"bounded label sets", test_bounded_labels},
	    {"concurrent updates", test_concurrent_updates},
	    {NULL, NULL},
	};

	return tsupport_run("metrics", cases);
}
