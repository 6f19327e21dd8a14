/* mqtt_source.h — the registration events' MQTT source of `jitrd run` (DESIGN §5.2): paho
 * MQTTAsync over mutual TLS, MQTT 3.1.1, persistent session, QoS 1, automatic reconnect and
 * resubscribe. It hands each message to the caller's callback, which must only record it. */
#ifndef JITRD_MQTT_SOURCE_H
#define JITRD_MQTT_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jitrd/config.h"
#include "jitrd/error.h"
#include "jitrd/log.h"
#include "jitrd/metrics.h"

/* Called on paho's thread for each message, before paho sends the PUBACK (it sends it when
 * this returns, whatever it returns — DESIGN §5.2). topic and payload are borrowed for the
 * call. It must copy or record (the journal INSERT) and return quickly: never block on the
 * network, never call into the source or paho. Returns 0 when the message was recorded;
 * anything else is logged as a lost message (the reconcile sweep finds its certificate). */
typedef int (*jitrd_mqtt_message_fn)(void *ctx, const char *topic, const void *payload, size_t len);

/* Optional: what the defaults do not suit (tests, an impatient operator). */
struct jitrd_mqtt_source_options {
	struct jitrd_log *log;         /* connection events; NULL = none */
	struct jitrd_metrics *metrics; /* jitrd_mqtt_connected; NULL = none */
	int start_timeout_ms;          /* first connect + SUBACK; 0 = 20000 */
	int min_retry_seconds;         /* reconnect backoff; 0 = 1 */
	int max_retry_seconds;         /* 0 = 60 */
};

struct jitrd_mqtt_source;

/* Connects to cfg->mqtt.url (ssl:// or mqtts:// with mqtt.ca_file, cert_file, key_file, the
 * server's host name verified, SNI, ALPN from mqtt.alpn; tcp:// or mqtt:// without TLS, for
 * tests) as mqtt.client_id with mqtt.clean_session and mqtt.keepalive, subscribes to
 * mqtt.topic at mqtt.qos, and waits (bounded) for the first SUBACK. cfg is borrowed for the
 * call (what is kept is copied); on_message and ctx must stay valid until
 * jitrd_mqtt_source_stop. options may be NULL. *out written only on success.
 * Errors: JITRD_ERR_INVALID_ARG (NULL cfg/on_message/out, empty url or client id),
 * JITRD_ERR_CONFIG (a URL paho refuses, ssl:// without the CA file, certificate or key;
 * diag says which), JITRD_ERR_NETWORK (connect or TLS failed, or the broker refused the
 * subscription: diag names the URL and paho's reason), JITRD_ERR_TIMEOUT (no SUBACK in time),
 * JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_mqtt_source_start(const struct jitrd_config *cfg,
                                       const struct jitrd_mqtt_source_options *options,
                                       jitrd_mqtt_message_fn on_message, void *ctx,
                                       struct jitrd_mqtt_source **out,
                                       struct jitrd_diag *diag) JITRD_WUR;

/* True while connected to the broker. */
bool jitrd_mqtt_source_connected(const struct jitrd_mqtt_source *src);

/* True while connected and the subscription of this connection is acknowledged (readiness). */
bool jitrd_mqtt_source_subscribed(const struct jitrd_mqtt_source *src);

/* True while connected and subscribed. Otherwise false, with why in reason (reason_size bytes,
 * NUL-terminated: not connected, a subscription refused and being retried, a SUBACK awaited)
 * and, in *unsubscribed_ms (may be NULL), for how long the source has been without a
 * subscription (ms; 0 when unknown). Thread-safe. */
bool jitrd_mqtt_source_health(struct jitrd_mqtt_source *src, char *reason, size_t reason_size,
                              int64_t *unsubscribed_ms);

/* Connections made so far (the first one and each automatic reconnect). */
unsigned long jitrd_mqtt_source_connections(const struct jitrd_mqtt_source *src);

/* Disconnects cleanly (waits at most timeout_ms for the broker, 0 = 2000), stops the reconnects
 * and frees the source; no callback runs after it returns. NULL is fine. With a persistent
 * session the broker keeps the subscription and queues QoS 1 messages for the next start
 * with the same client id. */
void jitrd_mqtt_source_stop(struct jitrd_mqtt_source *src, int timeout_ms);

#endif
