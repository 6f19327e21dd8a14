/* server.h — the emulator's HTTP side: libmicrohttpd, one thread per connection (keep-alive),
 * raw request URIs kept for SigV4, bounded bodies, one mutex around the pure emulator.
 * Adapter: sockets and the clock live here, the rules in routes.c and store.c. */
#ifndef JITRD_EMU_SERVER_H
#define JITRD_EMU_SERVER_H

#include <stdint.h>

#include "jitrd/error.h"
#include "publish.h"
#include "routes.h"

#define EMU_MAX_BODY (1024 * 1024)

struct emu_server;

/* Listens on host:port (IPv4 literal; port 0 picks a free one, reported in *bound_port).
 * emu and publisher (NULL: no MQTT) are borrowed and must outlive the server.
 * Errors: JITRD_ERR_INVALID_ARG (host), JITRD_ERR_NETWORK (bind failed), JITRD_ERR_NOMEM. */
enum jitrd_err emu_server_start(const char *host, uint16_t port, struct emu *emu,
                                struct emu_publisher *publisher, struct emu_server **out,
                                uint16_t *bound_port, struct jitrd_diag *diag) JITRD_WUR;

/* Stops accepting, finishes the connections, frees. NULL is fine. */
void emu_server_stop(struct emu_server *server);

#endif
