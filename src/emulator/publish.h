/* publish.h — the emulator's MQTT side: publishes registration events with QoS 1 to a broker
 * through paho MQTTAsync and waits, bounded, for the broker's PUBACK. Adapter: does I/O. */
#ifndef JITRD_EMU_PUBLISH_H
#define JITRD_EMU_PUBLISH_H

#include "jitrd/error.h"

struct emu_publisher;

/* Connects to url (tcp://host:port) in the background, reconnecting when the link drops;
 * waits up to wait_ms for the first connection but starts also without one.
 * *out owned by the caller (emu_publisher_free). Errors: JITRD_ERR_INVALID_ARG (paho refused
 * the URL), JITRD_ERR_NOMEM, JITRD_ERR_NETWORK. */
enum jitrd_err emu_publisher_new(const char *url, int wait_ms, struct emu_publisher **out,
                                 struct jitrd_diag *diag) JITRD_WUR;

/* Publishes payload on topic with QoS 1 and waits at most timeout_ms for the PUBACK. Call it
 * from any thread but a paho callback. Errors: JITRD_ERR_NETWORK (not connected, refused),
 * JITRD_ERR_TIMEOUT, with a reason in diag. */
enum jitrd_err emu_publisher_publish(struct emu_publisher *pub, const char *topic,
                                     const char *payload, int timeout_ms,
                                     struct jitrd_diag *diag) JITRD_WUR;

void emu_publisher_free(struct emu_publisher *pub); /* disconnects; NULL is fine */

#endif
