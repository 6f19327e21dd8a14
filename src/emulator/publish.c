/* publish.c — registration events to the MQTT broker: paho MQTTAsync, QoS 1, bounded wait for
 * the PUBACK. paho callbacks only record the connection state (DESIGN §5.2: never block or
 * call back into paho there); publishing happens on the HTTP threads. */
#include "publish.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>

struct emu_publisher {
	MQTTAsync client;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int connected; /* under lock */
};

static void set_connected(struct emu_publisher *pub, int connected)
{
	pthread_mutex_lock(&pub->lock);
	pub->connected = connected;
	pthread_cond_broadcast(&pub->changed);
	pthread_mutex_unlock(&pub->lock);
}

static void on_connected(void *context, char *cause)
{
	(void)cause;
	set_connected(context, 1);
}

static void on_connection_lost(void *context, char *cause)
{
	(void)cause;
	set_connected(context, 0);
}

static void on_connect_success(void *context, MQTTAsync_successData *response)
{
	(void)response;
	set_connected(context, 1);
}

static void on_connect_failure(void *context, MQTTAsync_failureData *response)
{
	(void)context;
	(void)response;
	/* automaticReconnect keeps trying; publishers wait for on_connected. */
}

static int on_message(void *context, char *topic, int topic_len, MQTTAsync_message *message)
{
	(void)context;
	(void)topic_len;
	/* We subscribe to nothing; free whatever arrives. */
	MQTTAsync_freeMessage(&message);
	MQTTAsync_free(topic);
	return 1;
}

/* Waits until connected or wait_ms passed; 1 when connected. */
static int wait_connected(struct emu_publisher *pub, int wait_ms)
{
	struct timespec deadline;
	int connected;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += wait_ms / 1000;
	deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&pub->lock);
	while (!pub->connected)
		if (pthread_cond_timedwait(&pub->changed, &pub->lock, &deadline) == ETIMEDOUT)
			break;
	connected = pub->connected;
	pthread_mutex_unlock(&pub->lock);
	return connected;
}

enum jitrd_err emu_publisher_new(const char *url, int wait_ms, struct emu_publisher **out,
                                 struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct emu_publisher *pub;
	MQTTAsync_createOptions create = MQTTAsync_createOptions_initializer;
	MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer;
	char client_id[64];
	int rc;

	pub = calloc(1, sizeof *pub);
	if (pub == NULL)
		return JITRD_ERR_NOMEM;
	if (pthread_mutex_init(&pub->lock, NULL) != 0) {
		free(pub);
		return JITRD_ERR_NOMEM;
	}
	if (pthread_cond_init(&pub->changed, NULL) != 0) {
		pthread_mutex_destroy(&pub->lock);
		free(pub);
		return JITRD_ERR_NOMEM;
	}
	snprintf(client_id, sizeof client_id, "iot-emulator-%ld", (long)getpid());
	create.sendWhileDisconnected = 0;
	result = JITRD_ERR_INVALID_ARG;
	rc = MQTTAsync_createWithOptions(&pub->client, url, client_id, MQTTCLIENT_PERSISTENCE_NONE,
	                                 NULL, &create);
	if (rc != MQTTASYNC_SUCCESS) {
		jitrd_diag_set(diag, "MQTT client for %s: %s", url, MQTTAsync_strerror(rc));
		pub->client = NULL;
		goto cleanup;
	}
	result = JITRD_ERR_NETWORK;
	if (MQTTAsync_setCallbacks(pub->client, pub, on_connection_lost, on_message, NULL) !=
	        MQTTASYNC_SUCCESS ||
	    MQTTAsync_setConnected(pub->client, pub, on_connected) != MQTTASYNC_SUCCESS) {
		jitrd_diag_set(diag, "MQTT client for %s: cannot set callbacks", url);
		goto cleanup;
	}
	opts.keepAliveInterval = 30;
	opts.cleansession = 1;
	opts.automaticReconnect = 1;
	opts.minRetryInterval = 1;
	opts.maxRetryInterval = 5;
	opts.connectTimeout = 5;
	opts.onSuccess = on_connect_success;
	opts.onFailure = on_connect_failure;
	opts.context = pub;
	rc = MQTTAsync_connect(pub->client, &opts);
	if (rc != MQTTASYNC_SUCCESS) {
		jitrd_diag_set(diag, "MQTT connect to %s: %s", url, MQTTAsync_strerror(rc));
		goto cleanup;
	}
	if (!wait_connected(pub, wait_ms))
		jitrd_diag_set(diag, "MQTT broker %s not reachable yet; will keep trying", url);
	*out = pub;
	pub = NULL;
	result = JITRD_OK;
cleanup:
	emu_publisher_free(pub);
	return result;
}

enum jitrd_err emu_publisher_publish(struct emu_publisher *pub, const char *topic,
                                     const char *payload, int timeout_ms, struct jitrd_diag *diag)
{
	MQTTAsync_message message = MQTTAsync_message_initializer;
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
	int rc;

	if (!wait_connected(pub, timeout_ms)) {
		jitrd_diag_set(diag, "not connected to the MQTT broker");
		return JITRD_ERR_NETWORK;
	}
	message.payload = (void *)payload;
	message.payloadlen = (int)strlen(payload);
	message.qos = 1;
	message.retained = 0;
	rc = MQTTAsync_sendMessage(pub->client, topic, &message, &opts);
	if (rc != MQTTASYNC_SUCCESS) {
		jitrd_diag_set(diag, "MQTT publish: %s", MQTTAsync_strerror(rc));
		return JITRD_ERR_NETWORK;
	}
	/* The token completes when the broker's PUBACK arrives. */
	rc = MQTTAsync_waitForCompletion(pub->client, opts.token, (unsigned long)timeout_ms);
	if (rc != MQTTASYNC_SUCCESS) {
		jitrd_diag_set(diag, "MQTT publish not acknowledged within %d ms: %s", timeout_ms,
		               MQTTAsync_strerror(rc));
		return JITRD_ERR_TIMEOUT;
	}
	return JITRD_OK;
}

void emu_publisher_free(struct emu_publisher *pub)
{
	if (pub == NULL)
		return;
	if (pub->client != NULL) {
		MQTTAsync_disconnectOptions opts = MQTTAsync_disconnectOptions_initializer;

		opts.timeout = 1000;
		if (MQTTAsync_isConnected(pub->client))
			(void)MQTTAsync_disconnect(pub->client, &opts);
		MQTTAsync_destroy(&pub->client);
	}
	pthread_cond_destroy(&pub->changed);
	pthread_mutex_destroy(&pub->lock);
	free(pub);
}
