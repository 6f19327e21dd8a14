/* mqtt_source.c — the MQTT subscriber of `jitrd run` on paho MQTTAsync: mutual TLS with the
 * server's host name verified, MQTT 3.1.1, persistent session, QoS 1, automatic reconnect and a
 * resubscribe on every connect, retried with capped backoff when the broker refuses it. Its
 * callbacks only hand over and update state: they never block and never call back into paho
 * except to subscribe from the connected callback; later attempts come from its own thread. */
#include "jitrd/mqtt_source.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <MQTTAsync.h>

#include "jitrd/clock.h"

#define DEFAULT_START_TIMEOUT_MS  20000
#define DEFAULT_MIN_RETRY_SECONDS 1
#define DEFAULT_MAX_RETRY_SECONDS 60
#define DEFAULT_STOP_TIMEOUT_MS   2000
#define REASON_MAX                256
#define FULL_REASON_MAX           (2 * REASON_MAX + 16) /* paho's reason and OpenSSL's */
#define ALPN_MAX                  256 /* wire form: length-prefixed protocol names */

struct jitrd_mqtt_source {
	MQTTAsync client;
	int client_created;
	char *url;
	char *client_id;
	char *topic;
	int qos;
	unsigned char alpn[ALPN_MAX + 1]; /* NUL-terminated: paho copies it with strdup */
	unsigned alpn_len;
	jitrd_mqtt_message_fn on_message;
	void *ctx;
	struct jitrd_log *log;
	struct jitrd_metrics *metrics;

	atomic_int connected;
	atomic_int subscribed;
	atomic_int stopping;
	atomic_ulong connections;

	/* What start() and stop() wait for, and the subscription's retry state, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t changed;
	pthread_t resubscriber;
	int resubscriber_started;
	int subscribe_pending;       /* a SUBSCRIBE is outstanding */
	unsigned subscribe_failures; /* refusals or failures since the last SUBACK */
	int64_t next_subscribe_ms;   /* monotonic: when the resubscriber may try again */
	int64_t unsubscribed_since;  /* monotonic ms; 0 while subscribed */
	int min_retry_ms, max_retry_ms;
	char subscribe_reason[REASON_MAX]; /* the last refusal or failure */
	int start_done;                    /* first SUBACK, or the first failure */
	enum jitrd_err start_err;
	char start_reason[FULL_REASON_MAX];
	char tls_reason[REASON_MAX]; /* OpenSSL's last words, from paho's ssl_error_cb */
	int disconnect_done;
};

/* With src->lock held: the subscription of this connection is lost or was refused; the
 * resubscriber tries again after a capped exponential delay (min_retry, doubled per failure,
 * at most max_retry), so a broker that keeps refusing is not hammered. */
static void subscription_failed(struct jitrd_mqtt_source *src, const char *reason)
{
	int64_t delay = src->min_retry_ms;

	src->subscribe_pending = 0;
	for (unsigned i = 0; i < src->subscribe_failures && delay < src->max_retry_ms; i++)
		delay *= 2;
	if (delay > src->max_retry_ms)
		delay = src->max_retry_ms;
	src->subscribe_failures++;
	src->next_subscribe_ms = jitrd_clock_mono_ms() + delay;
	if (reason)
		snprintf(src->subscribe_reason, sizeof(src->subscribe_reason), "%s", reason);
	if (!src->unsubscribed_since)
		src->unsubscribed_since = jitrd_clock_mono_ms();
	pthread_cond_broadcast(&src->changed);
}

/* Ends start()'s wait: with JITRD_OK on the first SUBACK, else with err and a reason. Later
 * calls (reconnects) change nothing here. */
static void finish_start(struct jitrd_mqtt_source *src, enum jitrd_err err, const char *reason)
{
	pthread_mutex_lock(&src->lock);
	if (!src->start_done) {
		src->start_done = 1;
		src->start_err = err;
		snprintf(src->start_reason, sizeof(src->start_reason), "%s", reason ? reason : "");
		pthread_cond_broadcast(&src->changed);
	}
	pthread_mutex_unlock(&src->lock);
}

/* paho's words for a failure: its message when it gave one, and the code's meaning. */
static void describe_failure(char *out, size_t size, int code, const char *message)
{
	const char *text = MQTTAsync_strerror(code);
	char quoted[REASON_MAX];

	quoted[0] = '\0';
	if (message)
		jitrd_quote(quoted, sizeof(quoted), message, strlen(message));
	if (code >= 1 && code <= 5) {
		/* MQTT 3.1.1 §3.2.2.3: the broker's CONNACK return codes */
		static const char *const connack[] = {"",
		                                      "unacceptable protocol version",
		                                      "identifier rejected",
		                                      "server unavailable",
		                                      "bad user name or password",
		                                      "not authorized"};
		snprintf(out, size, "broker refused the connection: %s%s%s", connack[code],
		         quoted[0] ? ": " : "", quoted);
		return;
	}
	if (!text)
		text = "failure";
	if (quoted[0])
		snprintf(out, size, "%s: %s (code %d)", quoted, text, code);
	else
		snprintf(out, size, "%s (code %d)", text, code);
}

static int on_ssl_error(const char *str, size_t len, void *context)
{
	struct jitrd_mqtt_source *src = context;

	/* Keep the last line: OpenSSL prints the error stack outermost last. */
	pthread_mutex_lock(&src->lock);
	while (len > 0 && (str[len - 1] == '\n' || str[len - 1] == '\r'))
		len--;
	jitrd_quote(src->tls_reason, sizeof(src->tls_reason), str, len);
	pthread_mutex_unlock(&src->lock);
	return 0;
}

static void on_subscribed(void *context, MQTTAsync_successData *response)
{
	struct jitrd_mqtt_source *src = context;
	char qos[8];

	/* MQTT 3.1.1 §3.9.3: 0x80 in the SUBACK is a refusal. */
	if (response && response->alt.qos == 0x80) {
		jitrd_log_kv(src->log, JITRD_LOG_ERROR, "mqtt.subscribe_refused", "topic",
		             src->topic, NULL);
		pthread_mutex_lock(&src->lock);
		subscription_failed(src, "the broker refused the subscription");
		pthread_mutex_unlock(&src->lock);
		finish_start(src, JITRD_ERR_NETWORK, "the broker refused the subscription");
		return;
	}
	pthread_mutex_lock(&src->lock);
	src->subscribe_pending = 0;
	src->subscribe_failures = 0;
	src->unsubscribed_since = 0;
	src->subscribe_reason[0] = '\0';
	pthread_mutex_unlock(&src->lock);
	atomic_store(&src->subscribed, 1);
	snprintf(qos, sizeof(qos), "%d", response ? response->alt.qos : src->qos);
	jitrd_log_kv(src->log, JITRD_LOG_INFO, "mqtt.subscribed", "topic", src->topic,
	             "granted_qos", qos, NULL);
	finish_start(src, JITRD_OK, NULL);
}

static void on_subscribe_failed(void *context, MQTTAsync_failureData *response)
{
	struct jitrd_mqtt_source *src = context;
	char reason[REASON_MAX];
	int refused = response && response->code == MQTT_BAD_SUBSCRIBE;

	/* paho reports a SUBACK of 0x80 (MQTT 3.1.1 §3.9.3) here, as code MQTT_BAD_SUBSCRIBE. */
	if (refused)
		snprintf(reason, sizeof(reason), "the broker refused the subscription");
	else
		describe_failure(reason, sizeof(reason),
		                 response ? response->code : MQTTASYNC_FAILURE,
		                 response ? response->message : NULL);
	jitrd_log_kv(src->log, JITRD_LOG_ERROR,
	             refused ? "mqtt.subscribe_refused" : "mqtt.subscribe_failed", "topic",
	             src->topic, "reason", reason, NULL);
	pthread_mutex_lock(&src->lock);
	subscription_failed(src, reason);
	pthread_mutex_unlock(&src->lock);
	finish_start(src, JITRD_ERR_NETWORK, reason);
}

/* Every connect, the first and each automatic reconnect. With a persistent session the broker
 * still holds the subscription, but after a clean start (or a broker that lost its state) it
 * does not, so subscribe every time; a second SUBSCRIBE of the same filter is harmless. */
static void on_connected(void *context, char *cause)
{
	struct jitrd_mqtt_source *src = context;
	MQTTAsync_responseOptions options = MQTTAsync_responseOptions_initializer;
	unsigned long connection;
	char count[24];
	int rc;

	atomic_store(&src->connected, 1);
	atomic_store(&src->subscribed, 0);
	pthread_mutex_lock(&src->lock);
	src->subscribe_pending = 1;
	if (!src->unsubscribed_since)
		src->unsubscribed_since = jitrd_clock_mono_ms();
	pthread_mutex_unlock(&src->lock);
	connection = atomic_fetch_add(&src->connections, 1) + 1;
	snprintf(count, sizeof(count), "%lu", connection);
	jitrd_metrics_set_mqtt_connected(src->metrics, 1);
	if (connection > 1)
		jitrd_metrics_mqtt_reconnect(src->metrics);
	jitrd_log_kv(src->log, JITRD_LOG_INFO, "mqtt.connected", "url", src->url, "client_id",
	             src->client_id, "connection", count, "cause", cause, NULL);
	options.onSuccess = on_subscribed;
	options.onFailure = on_subscribe_failed;
	options.context = src;
	/* Only queues the SUBSCRIBE; paho sends it from its own thread. */
	rc = MQTTAsync_subscribe(src->client, src->topic, src->qos, &options);
	if (rc != MQTTASYNC_SUCCESS) {
		char reason[REASON_MAX];

		describe_failure(reason, sizeof(reason), rc, NULL);
		jitrd_log_kv(src->log, JITRD_LOG_ERROR, "mqtt.subscribe_failed", "topic",
		             src->topic, "reason", reason, NULL);
		pthread_mutex_lock(&src->lock);
		subscription_failed(src, reason);
		pthread_mutex_unlock(&src->lock);
		finish_start(src, JITRD_ERR_NETWORK, reason);
	}
}

/* The first connect failing ends start(); later ones are reconnect attempts paho repeats
 * with backoff on its own. */
static void on_connect_failed(void *context, MQTTAsync_failureData *response)
{
	struct jitrd_mqtt_source *src = context;
	char reason[REASON_MAX], full[FULL_REASON_MAX];

	describe_failure(reason, sizeof(reason), response ? response->code : MQTTASYNC_FAILURE,
	                 response ? response->message : NULL);
	pthread_mutex_lock(&src->lock);
	if (src->tls_reason[0])
		snprintf(full, sizeof(full), "%s; TLS: %s", reason, src->tls_reason);
	else
		snprintf(full, sizeof(full), "%s", reason);
	src->tls_reason[0] = '\0';
	pthread_mutex_unlock(&src->lock);
	if (!atomic_load(&src->stopping))
		jitrd_log_kv(src->log, JITRD_LOG_WARN, "mqtt.connect_failed", "url", src->url,
		             "reason", full, NULL);
	finish_start(src, JITRD_ERR_NETWORK, full);
}

static void on_connection_lost(void *context, char *cause)
{
	struct jitrd_mqtt_source *src = context;

	atomic_store(&src->connected, 0);
	atomic_store(&src->subscribed, 0);
	pthread_mutex_lock(&src->lock);
	/* The next connect subscribes from on_connected; no retry is due before it. */
	src->subscribe_pending = 0;
	src->subscribe_failures = 0;
	if (!src->unsubscribed_since)
		src->unsubscribed_since = jitrd_clock_mono_ms();
	pthread_mutex_unlock(&src->lock);
	jitrd_metrics_set_mqtt_connected(src->metrics, 0);
	if (!atomic_load(&src->stopping))
		jitrd_log_kv(src->log, JITRD_LOG_WARN, "mqtt.connection_lost", "url", src->url,
		             "reason", cause ? cause : "connection closed", NULL);
	/* Lost before the first SUBACK: start() reports it rather than wait out its timeout. */
	finish_start(src, JITRD_ERR_NETWORK, cause ? cause : "connection lost");
}

/* Hands the message over and returns 1 ("taken"): paho frees nothing of ours and sends the
 * PUBACK after this returns (DESIGN §5.2), so recording it here is what makes a PUBACKed event
 * survive a crash. Returning 0 would make paho call again in a loop, blocking the session. */
static int on_message_arrived(void *context, char *topic, int topic_len, MQTTAsync_message *m)
{
	struct jitrd_mqtt_source *src = context;
	size_t len = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;

	(void)topic_len; /* MQTT topics hold no NUL (MQTT 3.1.1 §1.5.3), so topic ends at one */
	if (src->on_message(src->ctx, topic, m->payload, len) != 0) {
		char bytes[24];

		snprintf(bytes, sizeof(bytes), "%zu", len);
		jitrd_log_kv(src->log, JITRD_LOG_ERROR, "mqtt.message_not_recorded", "topic", topic,
		             "bytes", bytes, NULL);
	}
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

static void on_disconnected(void *context, MQTTAsync_successData *response)
{
	struct jitrd_mqtt_source *src = context;

	(void)response;
	pthread_mutex_lock(&src->lock);
	src->disconnect_done = 1;
	pthread_cond_broadcast(&src->changed);
	pthread_mutex_unlock(&src->lock);
}

static void on_disconnect_failed(void *context, MQTTAsync_failureData *response)
{
	(void)response;
	on_disconnected(context, NULL);
}

/* Waits under src->lock until *flag or the deadline; returns *flag. */
static int wait_for(struct jitrd_mqtt_source *src, const int *flag, int timeout_ms)
{
	struct timespec deadline = jitrd_clock_mono_at(jitrd_clock_mono_ms() + timeout_ms);

	while (!*flag) {
		if (pthread_cond_timedwait(&src->changed, &src->lock, &deadline) == ETIMEDOUT)
			break;
	}
	return *flag;
}

/* The subscription's retries: while connected without a subscription and none outstanding,
 * SUBSCRIBE again once the backoff allows. paho's API is thread-safe for calls from an
 * application thread; the callbacks (paho's threads) only update the state this reads. */
static void *resubscribe_main(void *arg)
{
	struct jitrd_mqtt_source *src = arg;

	pthread_mutex_lock(&src->lock);
	while (!atomic_load(&src->stopping)) {
		int64_t now = jitrd_clock_mono_ms();
		int64_t wait_ms = 1000;
		struct timespec until;

		if (atomic_load(&src->connected) && !atomic_load(&src->subscribed) &&
		    !src->subscribe_pending && src->subscribe_failures > 0 &&
		    now >= src->next_subscribe_ms) {
			MQTTAsync_responseOptions options = MQTTAsync_responseOptions_initializer;
			char attempt[24];
			int rc;

			src->subscribe_pending = 1;
			snprintf(attempt, sizeof(attempt), "%u", src->subscribe_failures + 1);
			pthread_mutex_unlock(&src->lock);
			jitrd_log_kv(src->log, JITRD_LOG_INFO, "mqtt.resubscribing", "topic",
			             src->topic, "attempt", attempt, NULL);
			options.onSuccess = on_subscribed;
			options.onFailure = on_subscribe_failed;
			options.context = src;
			rc = MQTTAsync_subscribe(src->client, src->topic, src->qos, &options);
			pthread_mutex_lock(&src->lock);
			if (rc != MQTTASYNC_SUCCESS) {
				char reason[REASON_MAX];

				describe_failure(reason, sizeof(reason), rc, NULL);
				subscription_failed(src, reason);
			}
			continue;
		}
		if (src->subscribe_failures > 0 && !src->subscribe_pending &&
		    src->next_subscribe_ms - now < wait_ms)
			wait_ms =
			    src->next_subscribe_ms - now > 0 ? src->next_subscribe_ms - now : 1;
		until = jitrd_clock_mono_at(now + wait_ms);
		pthread_cond_timedwait(&src->changed, &src->lock, &until);
	}
	pthread_mutex_unlock(&src->lock);
	return NULL;
}

/* Ends the resubscriber (before paho's client is destroyed: it calls into it). */
static void stop_resubscriber(struct jitrd_mqtt_source *src)
{
	if (!src->resubscriber_started)
		return;
	atomic_store(&src->stopping, 1);
	pthread_mutex_lock(&src->lock);
	pthread_cond_broadcast(&src->changed);
	pthread_mutex_unlock(&src->lock);
	pthread_join(src->resubscriber, NULL);
	src->resubscriber_started = 0;
}

/* "ssl://", "mqtts://": TLS; "tcp://", "mqtt://": plain (tests only). */
static int url_tls(const char *url, int *tls)
{
	static const char *const secure[] = {"ssl://", "mqtts://"};
	static const char *const plain[] = {"tcp://", "mqtt://"};

	for (size_t i = 0; i < 2; i++) {
		if (strncmp(url, secure[i], strlen(secure[i])) == 0) {
			*tls = 1;
			return 1;
		}
		if (strncmp(url, plain[i], strlen(plain[i])) == 0) {
			*tls = 0;
			return 1;
		}
	}
	return 0;
}

/* mqtt.alpn "a,b" into the wire form of RFC 7301 (each name preceded by its length). */
static enum jitrd_err alpn_wire(struct jitrd_mqtt_source *src, const char *alpn,
                                struct jitrd_diag *diag)
{
	const char *p = alpn;

	src->alpn_len = 0;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (n == 0 || n > 255 || src->alpn_len + 1 + n > ALPN_MAX) {
			jitrd_diag_set(diag,
			               "mqtt.alpn: protocol names of 1..255 bytes, "
			               "comma-separated, %d bytes in all",
			               ALPN_MAX);
			return JITRD_ERR_CONFIG;
		}
		src->alpn[src->alpn_len++] = (unsigned char)n;
		memcpy(src->alpn + src->alpn_len, p, n);
		src->alpn_len += (unsigned)n;
		p += n;
		if (*p == ',')
			p++;
	}
	src->alpn[src->alpn_len] = '\0';
	return JITRD_OK;
}

static enum jitrd_err copy_settings(struct jitrd_mqtt_source *src, const struct jitrd_config *cfg,
                                    const struct jitrd_mqtt_source_options *options)
{
	src->url = strdup(cfg->mqtt.url);
	src->client_id = strdup(cfg->mqtt.client_id);
	src->topic = strdup(cfg->mqtt.topic);
	if (!src->url || !src->client_id || !src->topic)
		return JITRD_ERR_NOMEM;
	src->qos = cfg->mqtt.qos;
	if (options) {
		src->log = options->log;
		src->metrics = options->metrics;
	}
	return JITRD_OK;
}

static void source_free(struct jitrd_mqtt_source *src)
{
	if (!src)
		return;
	stop_resubscriber(src);
	if (src->client_created)
		MQTTAsync_destroy(&src->client);
	pthread_cond_destroy(&src->changed);
	pthread_mutex_destroy(&src->lock);
	free(src->url);
	free(src->client_id);
	free(src->topic);
	free(src);
}

static struct jitrd_mqtt_source *source_new(void)
{
	struct jitrd_mqtt_source *src = calloc(1, sizeof(*src));

	if (!src)
		return NULL;
	if (pthread_mutex_init(&src->lock, NULL) != 0) {
		free(src);
		return NULL;
	}
	/* Waits are measured on the monotonic clock: a clock step must not stretch them. */
	if (jitrd_clock_cond_init(&src->changed) != JITRD_OK) {
		pthread_mutex_destroy(&src->lock);
		free(src);
		return NULL;
	}
	atomic_init(&src->connected, 0);
	atomic_init(&src->subscribed, 0);
	atomic_init(&src->stopping, 0);
	atomic_init(&src->connections, 0);
	return src;
}

static int option_or(int value, int fallback)
{
	return value > 0 ? value : fallback;
}

enum jitrd_err jitrd_mqtt_source_start(const struct jitrd_config *cfg,
                                       const struct jitrd_mqtt_source_options *options,
                                       jitrd_mqtt_message_fn on_message, void *ctx,
                                       struct jitrd_mqtt_source **out, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_mqtt_source *src = NULL;
	MQTTAsync_createOptions create = MQTTAsync_createOptions_initializer;
	MQTTAsync_connectOptions connect = MQTTAsync_connectOptions_initializer;
	MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
	int start_timeout_ms, tls = 0, rc, done;

	if (!cfg || !on_message || !out || !cfg->mqtt.url || !cfg->mqtt.url[0] ||
	    !cfg->mqtt.client_id || !cfg->mqtt.client_id[0] || !cfg->mqtt.topic)
		goto cleanup;
	if (!url_tls(cfg->mqtt.url, &tls)) {
		jitrd_diag_set(diag, "mqtt.url %s: expected ssl://host:port (or tcp:// for tests)",
		               cfg->mqtt.url);
		result = JITRD_ERR_CONFIG;
		goto cleanup;
	}
	if (tls && (!cfg->mqtt.ca_file[0] || !cfg->mqtt.cert_file[0] || !cfg->mqtt.key_file[0])) {
		jitrd_diag_set(diag,
		               "mqtt.url %s: TLS needs mqtt.ca_file, mqtt.cert_file and "
		               "mqtt.key_file (mutual TLS)",
		               cfg->mqtt.url);
		result = JITRD_ERR_CONFIG;
		goto cleanup;
	}
	start_timeout_ms =
	    option_or(options ? options->start_timeout_ms : 0, DEFAULT_START_TIMEOUT_MS);
	result = JITRD_ERR_NOMEM;
	src = source_new();
	if (!src)
		goto cleanup;
	src->on_message = on_message;
	src->ctx = ctx;
	result = copy_settings(src, cfg, options);
	if (result != JITRD_OK)
		goto cleanup;
	result = alpn_wire(src, cfg->mqtt.alpn, diag);
	if (result != JITRD_OK)
		goto cleanup;

	/* No client-side persistence: it would keep our outgoing QoS 1/2 publishes and incoming
	 * QoS 2 state across restarts, and a QoS 1 subscriber has neither. The session that
	 * matters (the subscription, messages queued while we are away) is the broker's, kept
	 * by cleansession = 0; a message is PUBACKed only after the journal holds it. */
	create.MQTTVersion = MQTTVERSION_3_1_1;
	create.sendWhileDisconnected = 0;
	rc = MQTTAsync_createWithOptions(&src->client, src->url, src->client_id,
	                                 MQTTCLIENT_PERSISTENCE_NONE, NULL, &create);
	if (rc != MQTTASYNC_SUCCESS) {
		jitrd_diag_set(diag, "mqtt.url %s: %s", src->url, MQTTAsync_strerror(rc));
		result = rc == MQTTASYNC_BAD_PROTOCOL ? JITRD_ERR_CONFIG : JITRD_ERR_NOMEM;
		goto cleanup;
	}
	src->client_created = 1;
	result = JITRD_ERR_NETWORK;
	rc = MQTTAsync_setCallbacks(src->client, src, on_connection_lost, on_message_arrived, NULL);
	if (rc == MQTTASYNC_SUCCESS)
		rc = MQTTAsync_setConnected(src->client, src, on_connected);
	if (rc != MQTTASYNC_SUCCESS) {
		jitrd_diag_set(diag, "mqtt.url %s: cannot set callbacks: %s", src->url,
		               MQTTAsync_strerror(rc));
		goto cleanup;
	}

	connect.MQTTVersion = MQTTVERSION_3_1_1;
	connect.keepAliveInterval = cfg->mqtt.keepalive;
	connect.cleansession = cfg->mqtt.clean_session ? 1 : 0;
	connect.connectTimeout = start_timeout_ms / 1000 > 0 ? start_timeout_ms / 1000 : 1;
	connect.automaticReconnect = 1;
	connect.minRetryInterval =
	    option_or(options ? options->min_retry_seconds : 0, DEFAULT_MIN_RETRY_SECONDS);
	connect.maxRetryInterval =
	    option_or(options ? options->max_retry_seconds : 0, DEFAULT_MAX_RETRY_SECONDS);
	/* The same bounds for the subscription's retries. */
	src->min_retry_ms = connect.minRetryInterval * 1000;
	src->max_retry_ms = connect.maxRetryInterval * 1000;
	if (pthread_create(&src->resubscriber, NULL, resubscribe_main, src) != 0) {
		jitrd_diag_set(diag, "mqtt.url %s: cannot start a thread", src->url);
		result = JITRD_ERR_NOMEM;
		goto cleanup;
	}
	src->resubscriber_started = 1;
	connect.onFailure = on_connect_failed;
	connect.context = src;
	if (tls) {
		/* paho copies these strings in MQTTAsync_connect. */
		ssl.trustStore = cfg->mqtt.ca_file;
		ssl.keyStore = cfg->mqtt.cert_file;
		ssl.privateKey = cfg->mqtt.key_file;
		/* DESIGN §5.2: the initializer leaves host name checking off; verify = 1 checks
		 * the certificate's names against the URL's host. SNI is sent from that host. */
		ssl.enableServerCertAuth = 1;
		ssl.verify = 1;
		ssl.ssl_error_cb = on_ssl_error;
		ssl.ssl_error_context = src;
		if (src->alpn_len > 0) {
			ssl.protos = src->alpn;
			ssl.protos_len = src->alpn_len;
		}
		connect.ssl = &ssl;
	}
	rc = MQTTAsync_connect(src->client, &connect);
	if (rc != MQTTASYNC_SUCCESS) {
		jitrd_diag_set(diag, "mqtt.url %s: cannot connect: %s", src->url,
		               MQTTAsync_strerror(rc));
		goto cleanup;
	}

	pthread_mutex_lock(&src->lock);
	done = wait_for(src, &src->start_done, start_timeout_ms);
	if (!done) {
		jitrd_diag_set(diag, "mqtt.url %s: no connection and SUBACK within %d ms", src->url,
		               start_timeout_ms);
		result = JITRD_ERR_TIMEOUT;
	} else if (src->start_err != JITRD_OK) {
		jitrd_diag_set(diag, "mqtt.url %s: %s", src->url, src->start_reason);
		result = src->start_err;
	} else {
		result = JITRD_OK;
	}
	pthread_mutex_unlock(&src->lock);
	if (result != JITRD_OK)
		goto cleanup;
	*out = src;
	src = NULL;
cleanup:
	if (src) {
		/* No reconnects and no callbacks after a failed start. */
		atomic_store(&src->stopping, 1);
		source_free(src);
	}
	return result;
}

bool jitrd_mqtt_source_connected(const struct jitrd_mqtt_source *src)
{
	return src ? atomic_load(&src->connected) : 0;
}

bool jitrd_mqtt_source_subscribed(const struct jitrd_mqtt_source *src)
{
	return src ? atomic_load(&src->connected) && atomic_load(&src->subscribed) : 0;
}

bool jitrd_mqtt_source_health(struct jitrd_mqtt_source *src, char *reason, size_t reason_size,
                              int64_t *unsubscribed_ms)
{
	int connected, subscribed;
	int64_t since = 0;

	if (unsubscribed_ms)
		*unsubscribed_ms = 0;
	if (!src) {
		snprintf(reason, reason_size, "no MQTT source");
		return 0;
	}
	connected = atomic_load(&src->connected);
	subscribed = atomic_load(&src->subscribed);
	if (connected && subscribed) {
		if (reason_size)
			reason[0] = '\0';
		return 1;
	}
	pthread_mutex_lock(&src->lock);
	since = src->unsubscribed_since;
	if (!connected)
		snprintf(reason, reason_size, "not connected to the MQTT broker (reconnecting)");
	else if (src->subscribe_failures > 0)
		snprintf(reason, reason_size,
		         "connected but not subscribed to %.100s: %.80s (%u attempts; retrying)",
		         src->topic, src->subscribe_reason, src->subscribe_failures);
	else
		snprintf(reason, reason_size, "connected, waiting for the SUBACK of %.100s",
		         src->topic);
	pthread_mutex_unlock(&src->lock);
	if (unsubscribed_ms && since)
		*unsubscribed_ms = jitrd_clock_mono_ms() - since;
	return 0;
}

unsigned long jitrd_mqtt_source_connections(const struct jitrd_mqtt_source *src)
{
	return src ? atomic_load(&src->connections) : 0;
}

void jitrd_mqtt_source_stop(struct jitrd_mqtt_source *src, int timeout_ms)
{
	MQTTAsync_disconnectOptions options = MQTTAsync_disconnectOptions_initializer;

	if (!src)
		return;
	timeout_ms = option_or(timeout_ms, DEFAULT_STOP_TIMEOUT_MS);
	stop_resubscriber(src); /* sets stopping */
	/* A clean DISCONNECT: the broker keeps a persistent session and queues for it. */
	options.timeout = timeout_ms;
	options.onSuccess = on_disconnected;
	options.onFailure = on_disconnect_failed;
	options.context = src;
	if (MQTTAsync_disconnect(src->client, &options) == MQTTASYNC_SUCCESS) {
		pthread_mutex_lock(&src->lock);
		/* paho bounds the disconnect by options.timeout; a little more for its thread. */
		(void)wait_for(src, &src->disconnect_done, timeout_ms + 1000);
		pthread_mutex_unlock(&src->lock);
	}
	atomic_store(&src->connected, 0);
	atomic_store(&src->subscribed, 0);
	jitrd_metrics_set_mqtt_connected(src->metrics, 0);
	jitrd_log_kv(src->log, JITRD_LOG_INFO, "mqtt.stopped", "url", src->url, NULL);
	/* MQTTAsync_destroy removes the client from paho's threads: no callback runs after. */
	source_free(src);
}
