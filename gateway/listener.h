/*
 * Listening sockets. Each worker gets its own socket bound to the same
 * address with SO_REUSEPORT, so the kernel spreads new connections across
 * workers without a shared accept lock. Main thread only.
 */
#ifndef TG_LISTENER_H
#define TG_LISTENER_H

#include <stdint.h>

/* Open a non-blocking listening socket on host:port. With *port == 0 the
 * kernel picks one and *port is set to it (pass it to the next call).
 * Returns the fd or -errno. */
int tg_listener_open(const char *host, uint16_t *port, int backlog);

#endif
