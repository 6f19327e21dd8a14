/* metrics.c — the registry of DESIGN §4.5 metrics behind one small mutex (updates are a few
 * additions; nothing here is hot enough to need more), and the Prometheus text rendering as a
 * pure function of a snapshot. It does no I/O and never renders while holding the lock. */
#include "jitrd/metrics.h"

#include "jitrd/clock.h"

#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jitrd/escape.h"

/* Control-plane calls take tens of milliseconds; throttled retries push them to seconds. */
static const double api_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
/* An event is a few calls, or up to the event deadline (30 s by default) when retried. */
static const double event_bounds[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

struct jitrd_metrics {
	pthread_mutex_t lock;
	struct jitrd_metrics_snapshot values;
};

static void snapshot_init(struct jitrd_metrics_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->api_duration.bounds = api_bounds;
	s->api_duration.bound_count = COUNT_OF(api_bounds);
	s->event_duration.bounds = event_bounds;
	s->event_duration.bound_count = COUNT_OF(event_bounds);
}

enum jitrd_err jitrd_metrics_new(struct jitrd_metrics **out)
{
	struct jitrd_metrics *m;

	if (!out)
		return JITRD_ERR_INVALID_ARG;
	m = calloc(1, sizeof(*m));
	if (!m)
		return JITRD_ERR_NOMEM;
	if (pthread_mutex_init(&m->lock, NULL) != 0) {
		free(m);
		return JITRD_ERR_NOMEM;
	}
	snapshot_init(&m->values);
	*out = m;
	return JITRD_OK;
}

void jitrd_metrics_free(struct jitrd_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static void observe(struct jitrd_metrics_histogram *h, double seconds)
{
	size_t i = 0;

	/* A clock that stepped back must not poison the sum. */
	if (isnan(seconds) || seconds < 0)
		seconds = 0;
	while (i < h->bound_count && seconds > h->bounds[i])
		i++;
	h->counts[i]++;
	h->count++;
	h->sum += seconds;
}

void jitrd_metrics_event(struct jitrd_metrics *m, enum jitrd_decision_kind decision, double seconds)
{
	if (!m || (unsigned)decision >= JITRD_DECISION_COUNT)
		return;
	pthread_mutex_lock(&m->lock);
	m->values.events[decision]++;
	observe(&m->values.event_duration, seconds);
	pthread_mutex_unlock(&m->lock);
}

void jitrd_metrics_ocsp_request(struct jitrd_metrics *m, enum jitrd_ocsp_status result)
{
	if (!m || (unsigned)result >= JITRD_METRICS_OCSP_RESULTS)
		return;
	pthread_mutex_lock(&m->lock);
	m->values.ocsp_requests[result]++;
	pthread_mutex_unlock(&m->lock);
}

void jitrd_metrics_ocsp_cache_hit(struct jitrd_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->values.ocsp_cache_hits++;
	pthread_mutex_unlock(&m->lock);
}

static void copy_label(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The label's copy (cut to size) made, locks m and returns its values; NULL (nothing locked)
 * for a NULL m or text. */
static struct jitrd_metrics_snapshot *lock_labelled(struct jitrd_metrics *m, const char *text,
                                                    char *label, size_t size)
{
	if (!m || !text)
		return NULL;
	copy_label(label, size, text);
	pthread_mutex_lock(&m->lock);
	return &m->values;
}

void jitrd_metrics_api_request(struct jitrd_metrics *m, const char *operation, int code,
                               double seconds)
{
	char name[JITRD_METRICS_OPERATION_MAX];
	struct jitrd_metrics_snapshot *v = lock_labelled(m, operation, name, sizeof(name));
	size_t i;

	if (!v)
		return;
	observe(&v->api_duration, seconds);
	for (i = 0; i < v->api_count; i++) {
		if (v->api[i].code == code && strcmp(v->api[i].operation, name) == 0)
			break;
	}
	if (i == v->api_count) {
		if (v->api_count == JITRD_METRICS_API_SERIES_MAX) {
			/* The label set stays bounded whatever the peers answer. */
			v->api_dropped++;
			pthread_mutex_unlock(&m->lock);
			return;
		}
		memcpy(v->api[i].operation, name, sizeof(name));
		v->api[i].code = code;
		v->api[i].count = 0;
		v->api_count++;
	}
	v->api[i].count++;
	pthread_mutex_unlock(&m->lock);
}

/* With m->lock held: the index of the item labelled label among *count items of stride bytes
 * (each begins with its char ca[JITRD_METRICS_CA_MAX]), added zeroed and labelled when absent;
 * JITRD_METRICS_CRL_MAX when absent and the JITRD_METRICS_CRL_MAX items are all taken. */
static size_t ca_slot(void *items, size_t stride, size_t *count, const char *label)
{
	char *item = items;
	size_t i;

	for (i = 0; i < *count; i++, item += stride) {
		if (strcmp(item, label) == 0)
			return i;
	}
	if (*count == JITRD_METRICS_CRL_MAX)
		return JITRD_METRICS_CRL_MAX;
	memset(item, 0, stride);
	memcpy(item, label, JITRD_METRICS_CA_MAX);
	(*count)++;
	return i;
}

_Static_assert(offsetof(struct jitrd_metrics_crl, ca) == 0, "ca_slot reads ca first");
_Static_assert(offsetof(struct jitrd_metrics_ca_count, ca) == 0, "ca_slot reads ca first");

void jitrd_metrics_set_crl(struct jitrd_metrics *m, const char *ca, uint64_t entries,
                           int64_t this_update, int64_t next_update)
{
	char label[JITRD_METRICS_CA_MAX];
	struct jitrd_metrics_snapshot *v = lock_labelled(m, ca, label, sizeof(label));
	size_t i;

	if (!v)
		return;
	i = ca_slot(v->crl, sizeof(v->crl[0]), &v->crl_count, label);
	if (i < JITRD_METRICS_CRL_MAX) {
		v->crl[i].entries = entries;
		v->crl[i].next_update = next_update;
		v->crl[i].this_update = this_update;
	}
	pthread_mutex_unlock(&m->lock);
}

void jitrd_metrics_crl_fetch(struct jitrd_metrics *m, enum jitrd_crl_fetch_outcome outcome)
{
	if (!m || outcome <= JITRD_CRL_OUTCOME_NONE || outcome >= JITRD_CRL_OUTCOME_COUNT)
		return;
	pthread_mutex_lock(&m->lock);
	m->values.crl_fetch[outcome]++;
	pthread_mutex_unlock(&m->lock);
}

void jitrd_metrics_crl_rollback(struct jitrd_metrics *m, const char *ca)
{
	char label[JITRD_METRICS_CA_MAX];
	struct jitrd_metrics_snapshot *v = lock_labelled(m, ca, label, sizeof(label));
	size_t i;

	if (!v)
		return;
	i = ca_slot(v->crl_rollback, sizeof(v->crl_rollback[0]), &v->crl_rollback_count, label);
	if (i < JITRD_METRICS_CRL_MAX)
		v->crl_rollback[i].count++;
	pthread_mutex_unlock(&m->lock);
}

void jitrd_metrics_clear_crl(struct jitrd_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->values.crl_count = 0;
	pthread_mutex_unlock(&m->lock);
}

void jitrd_metrics_set_mqtt_connected(struct jitrd_metrics *m, int connected)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->values.mqtt_connected = connected ? 1 : 0;
	pthread_mutex_unlock(&m->lock);
}

void jitrd_metrics_sqs_enable(struct jitrd_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	if (!m->values.sqs_enabled)
		m->values.sqs_queue_depth = -1;
	m->values.sqs_enabled = 1;
	pthread_mutex_unlock(&m->lock);
}

void jitrd_metrics_sqs_messages(struct jitrd_metrics *m, enum jitrd_metrics_sqs_outcome outcome,
                                uint64_t count)
{
	if (!m || (unsigned)outcome >= JITRD_METRICS_SQS_OUTCOMES)
		return;
	pthread_mutex_lock(&m->lock);
	m->values.sqs_messages[outcome] += count;
	pthread_mutex_unlock(&m->lock);
}

void jitrd_metrics_sqs_receive_error(struct jitrd_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->values.sqs_receive_errors++;
	pthread_mutex_unlock(&m->lock);
}

void jitrd_metrics_set_sqs_queue_depth(struct jitrd_metrics *m, int64_t depth)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->values.sqs_queue_depth = depth;
	pthread_mutex_unlock(&m->lock);
}

void jitrd_metrics_add_inflight(struct jitrd_metrics *m, int delta)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->values.inflight += delta;
	pthread_mutex_unlock(&m->lock);
}

void jitrd_metrics_mqtt_reconnect(struct jitrd_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->values.mqtt_reconnects++;
	pthread_mutex_unlock(&m->lock);
}

void jitrd_metrics_set_journal_backlog(struct jitrd_metrics *m, int64_t events)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->values.journal_backlog = events;
	pthread_mutex_unlock(&m->lock);
}

void jitrd_metrics_snapshot(struct jitrd_metrics *m, struct jitrd_metrics_snapshot *out)
{
	if (!out)
		return;
	if (!m) {
		snapshot_init(out);
		return;
	}
	pthread_mutex_lock(&m->lock);
	*out = m->values;
	pthread_mutex_unlock(&m->lock);
	out->now = jitrd_clock_wall_ms() / 1000;
}

/* Rendering: two passes over the same code, measuring then writing into a buffer of exactly
 * that size (jitrd_escape_build). */
static void put(struct jitrd_escape_line *t, const char *bytes, size_t n)
{
	jitrd_escape_put(t, bytes, n);
}

static void put_str(struct jitrd_escape_line *t, const char *s)
{
	jitrd_escape_put_str(t, s);
}

static void put_u64(struct jitrd_escape_line *t, uint64_t v)
{
	char digits[24];
	int n = snprintf(digits, sizeof(digits), "%" PRIu64, v);

	put(t, digits, (size_t)n);
}

static void put_i64(struct jitrd_escape_line *t, int64_t v)
{
	char digits[24];
	int n = snprintf(digits, sizeof(digits), "%" PRId64, v);

	put(t, digits, (size_t)n);
}

/* The shortest form that reads back as the same double, so 0.1 prints as 0.1 and goldens
 * stay readable; the exposition format's spellings for the special values. */
static void put_double(struct jitrd_escape_line *t, double v)
{
	char digits[40];
	int n = 0;

	if (isnan(v)) {
		put_str(t, "NaN");
		return;
	}
	if (isinf(v)) {
		put_str(t, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* Whole numbers (bucket bounds, sums of whole seconds) without an exponent. */
	if (v > -1e15 && v < 1e15 && (double)(int64_t)v == v) {
		put_i64(t, (int64_t)v);
		return;
	}
	for (int precision = 1; precision <= 17; precision++) {
		n = snprintf(digits, sizeof(digits), "%.*g", precision, v);
		if (strtod(digits, NULL) == v)
			break;
	}
	put(t, digits, (size_t)n);
}

/* Exposition format 0.0.4: in a label value, backslash, double quote and line feed are
 * escaped; everything else is written as is. */
static void put_label_value(struct jitrd_escape_line *t, const char *value)
{
	put(t, "\"", 1);
	for (const char *p = value; *p; p++) {
		switch (*p) {
		case '\\':
			put(t, "\\\\", 2);
			break;
		case '"':
			put(t, "\\\"", 2);
			break;
		case '\n':
			put(t, "\\n", 2);
			break;
		default:
			put(t, p, 1);
		}
	}
	put(t, "\"", 1);
}

/* "name{ca="CA"} value\n": a sample of one CA's series (its counters, entries and times all
 * stay far below 2^63, so one signed form serves them). */
static void put_ca_sample(struct jitrd_escape_line *t, const char *name, const char *ca,
                          int64_t value)
{
	put_str(t, name);
	put_str(t, "{ca=");
	put_label_value(t, ca);
	put_str(t, "} ");
	put_i64(t, value);
	put_str(t, "\n");
}

static void put_header(struct jitrd_escape_line *t, const char *name, const char *type,
                       const char *help)
{
	put_str(t, "# HELP ");
	put_str(t, name);
	put_str(t, " ");
	put_str(t, help);
	put_str(t, "\n# TYPE ");
	put_str(t, name);
	put_str(t, " ");
	put_str(t, type);
	put_str(t, "\n");
}

static void put_sqs(struct jitrd_escape_line *t, const struct jitrd_metrics_snapshot *s)
{
	static const char *const outcomes[JITRD_METRICS_SQS_OUTCOMES] = {"received", "deleted",
	                                                                 "returned", "invalid"};

	put_header(t, "jitrd_sqs_messages_total", "counter",
	           "SQS messages: received, deleted (final outcome), returned (left to "
	           "reappear), invalid (left for the redrive policy).");
	for (int o = 0; o < JITRD_METRICS_SQS_OUTCOMES; o++) {
		put_str(t, "jitrd_sqs_messages_total{outcome=\"");
		put_str(t, outcomes[o]);
		put_str(t, "\"} ");
		put_u64(t, s->sqs_messages[o]);
		put_str(t, "\n");
	}
	put_header(t, "jitrd_sqs_receive_errors_total", "counter",
	           "ReceiveMessage calls that failed.");
	put_str(t, "jitrd_sqs_receive_errors_total ");
	put_u64(t, s->sqs_receive_errors);
	put_str(t, "\n");
	put_header(t, "jitrd_sqs_queue_depth", "gauge",
	           "The queue's ApproximateNumberOfMessages (-1 before the first answer).");
	put_str(t, "jitrd_sqs_queue_depth ");
	put_i64(t, s->sqs_queue_depth);
	put_str(t, "\n");
}

static void put_histogram(struct jitrd_escape_line *t, const char *name, const char *help,
                          const struct jitrd_metrics_histogram *h)
{
	uint64_t cumulative = 0;

	put_header(t, name, "histogram", help);
	for (size_t i = 0; i <= h->bound_count; i++) {
		cumulative += h->counts[i];
		put_str(t, name);
		put_str(t, "_bucket{le=\"");
		if (i < h->bound_count)
			put_double(t, h->bounds[i]);
		else
			put_str(t, "+Inf");
		put_str(t, "\"} ");
		put_u64(t, cumulative);
		put_str(t, "\n");
	}
	put_str(t, name);
	put_str(t, "_sum ");
	put_double(t, h->sum);
	put_str(t, "\n");
	put_str(t, name);
	put_str(t, "_count ");
	put_u64(t, h->count);
	put_str(t, "\n");
}

static void put_all(struct jitrd_escape_line *t, const void *ctx)
{
	const struct jitrd_metrics_snapshot *s = ctx;

	put_header(t, "jitrd_events_total", "counter", "Events by decision.");
	for (int d = 0; d < JITRD_DECISION_COUNT; d++) {
		put_str(t, "jitrd_events_total{decision=");
		put_label_value(t, jitrd_decision_name((enum jitrd_decision_kind)d));
		put_str(t, "} ");
		put_u64(t, s->events[d]);
		put_str(t, "\n");
	}
	put_header(t, "jitrd_ocsp_requests_total", "counter",
	           "OCSP requests by result (error: no response).");
	for (int r = 0; r < JITRD_METRICS_OCSP_RESULTS; r++) {
		put_str(t, "jitrd_ocsp_requests_total{result=");
		put_label_value(t, r == JITRD_OCSP_NONE
		                       ? "error"
		                       : jitrd_ocsp_status_name((enum jitrd_ocsp_status)r));
		put_str(t, "} ");
		put_u64(t, s->ocsp_requests[r]);
		put_str(t, "\n");
	}
	put_header(t, "jitrd_ocsp_cache_hits_total", "counter",
	           "OCSP answers taken from the cache instead of a request.");
	put_str(t, "jitrd_ocsp_cache_hits_total ");
	put_u64(t, s->ocsp_cache_hits);
	put_str(t, "\n");
	put_header(t, "jitrd_api_requests_total", "counter",
	           "AWS IoT API requests by operation and HTTP status (0: no response).");
	for (size_t i = 0; i < s->api_count; i++) {
		put_str(t, "jitrd_api_requests_total{operation=");
		put_label_value(t, s->api[i].operation);
		put_str(t, ",code=\"");
		put_i64(t, s->api[i].code);
		put_str(t, "\"} ");
		put_u64(t, s->api[i].count);
		put_str(t, "\n");
	}
	if (s->api_dropped > 0) {
		put_str(t, "jitrd_api_requests_total{operation=\"other\",code=\"0\"} ");
		put_u64(t, s->api_dropped);
		put_str(t, "\n");
	}
	put_histogram(t, "jitrd_api_request_duration_seconds",
	              "AWS IoT API request duration, retries counted separately.",
	              &s->api_duration);
	put_histogram(t, "jitrd_event_duration_seconds",
	              "Time from taking an event to its outcome.", &s->event_duration);
	put_header(t, "jitrd_crl_entries", "gauge", "Entries of the CA's current CRL.");
	for (size_t i = 0; i < s->crl_count; i++)
		put_ca_sample(t, "jitrd_crl_entries", s->crl[i].ca, (int64_t)s->crl[i].entries);
	put_header(t, "jitrd_crl_next_update_timestamp_seconds", "gauge",
	           "nextUpdate of the CA's current CRL, in seconds since the epoch.");
	for (size_t i = 0; i < s->crl_count; i++)
		put_ca_sample(t, "jitrd_crl_next_update_timestamp_seconds", s->crl[i].ca,
		              s->crl[i].next_update);
	put_header(t, "jitrd_crl_next_update_seconds", "gauge",
	           "Seconds until the nextUpdate of the CA's current CRL (negative: stale).");
	for (size_t i = 0; s->now > 0 && i < s->crl_count; i++)
		put_ca_sample(t, "jitrd_crl_next_update_seconds", s->crl[i].ca,
		              s->crl[i].next_update - s->now);
	put_header(t, "jitrd_crl_age_seconds", "gauge",
	           "Seconds since the thisUpdate of the CA's current CRL.");
	for (size_t i = 0; s->now > 0 && i < s->crl_count; i++)
		put_ca_sample(t, "jitrd_crl_age_seconds", s->crl[i].ca,
		              s->now - s->crl[i].this_update);
	put_header(t, "jitrd_crl_fetch_total", "counter",
	           "CRL fetches by outcome: new, not_modified, refused, failed.");
	for (int o = JITRD_CRL_OUTCOME_NEW; o < JITRD_CRL_OUTCOME_COUNT; o++) {
		put_str(t, "jitrd_crl_fetch_total{outcome=\"");
		put_str(t, jitrd_crl_fetch_outcome_name((enum jitrd_crl_fetch_outcome)o));
		put_str(t, "\"} ");
		put_u64(t, s->crl_fetch[o]);
		put_str(t, "\n");
	}
	put_header(t, "jitrd_crl_rollbacks_total", "counter",
	           "CRLs refused because their number is below the highest accepted before.");
	for (size_t i = 0; i < s->crl_rollback_count; i++)
		put_ca_sample(t, "jitrd_crl_rollbacks_total", s->crl_rollback[i].ca,
		              (int64_t)s->crl_rollback[i].count);
	put_header(t, "jitrd_mqtt_connected", "gauge",
	           "1 while the MQTT client is connected to the broker.");
	put_str(t, "jitrd_mqtt_connected ");
	put_i64(t, s->mqtt_connected);
	put_str(t, "\n");
	put_header(t, "jitrd_mqtt_reconnects_total", "counter",
	           "Connections to the broker after the first (each reconnect).");
	put_str(t, "jitrd_mqtt_reconnects_total ");
	put_u64(t, s->mqtt_reconnects);
	put_str(t, "\n");
	put_header(t, "jitrd_inflight_events", "gauge",
	           "Events taken by workers and not finished.");
	put_str(t, "jitrd_inflight_events ");
	put_i64(t, s->inflight);
	put_str(t, "\n");
	put_header(t, "jitrd_journal_backlog", "gauge",
	           "Events recorded in the journal and not final (pending or in progress).");
	put_str(t, "jitrd_journal_backlog ");
	put_i64(t, s->journal_backlog);
	put_str(t, "\n");
	if (s->sqs_enabled)
		put_sqs(t, s);
}

static int histogram_ok(const struct jitrd_metrics_histogram *h)
{
	return h->bound_count <= JITRD_METRICS_BUCKETS_MAX && (h->bounds || h->bound_count == 0);
}

/* Labels come from fixed-size arrays; one without its NUL would be read past. */
static int labels_terminated(const struct jitrd_metrics_snapshot *s)
{
	for (size_t i = 0; i < s->api_count; i++) {
		if (!memchr(s->api[i].operation, '\0', sizeof(s->api[i].operation)))
			return 0;
	}
	for (size_t i = 0; i < s->crl_count; i++) {
		if (!memchr(s->crl[i].ca, '\0', sizeof(s->crl[i].ca)))
			return 0;
	}
	for (size_t i = 0; i < s->crl_rollback_count; i++) {
		if (!memchr(s->crl_rollback[i].ca, '\0', sizeof(s->crl_rollback[i].ca)))
			return 0;
	}
	return 1;
}

enum jitrd_err jitrd_metrics_render(const struct jitrd_metrics_snapshot *s, char **out, size_t *len)
{
	enum jitrd_err err;

	if (!s || !out || !len)
		return JITRD_ERR_INVALID_ARG;
	if (s->api_count > JITRD_METRICS_API_SERIES_MAX || s->crl_count > JITRD_METRICS_CRL_MAX ||
	    s->crl_rollback_count > JITRD_METRICS_CRL_MAX || !histogram_ok(&s->api_duration) ||
	    !histogram_ok(&s->event_duration) || !labels_terminated(s))
		return JITRD_ERR_INVALID_ARG;
	err = jitrd_escape_build(put_all, s, out);
	if (err != JITRD_OK)
		return err;
	*len = strlen(*out);
	return JITRD_OK;
}
