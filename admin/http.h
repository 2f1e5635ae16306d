/*
 * The admin HTTP server: its own libmicrohttpd daemon with a thread per
 * connection (an admin request may wait seconds for a collector; workers
 * never do), at most TG_ADMIN_HTTP_CONNECTIONS connections, each closed
 * after TG_ADMIN_HTTP_TIMEOUT_S idle seconds.
 *
 * It listens either on a TCP socket of its own (admin.listen) or on a
 * private unix socket that the main listener's /admin route forwards to;
 * requests from there carry the client's address as the last
 * X-Forwarded-For element, which tracegate itself appended.
 *
 * Started and stopped from the main thread.
 */
#ifndef TG_ADMIN_HTTP_H
#define TG_ADMIN_HTTP_H

#include <stdbool.h>

#include "admin.h"

#define TG_ADMIN_HTTP_CONNECTIONS 32
#define TG_ADMIN_HTTP_TIMEOUT_S 10

struct tg_admin_http;

/*
 * Serve admin requests on listen_fd (ownership passes). via_proxy: the
 * socket is the private unix socket behind the main listener. loopback:
 * the listener clients reach is bound to loopback (the reads policy).
 * Returns 0 or -errno.
 */
int tg_admin_http_start(struct tg_admin *admin, int listen_fd, bool via_proxy, bool loopback,
                        struct tg_admin_http **out);
/* Stop accepting, finish open requests, free. Accepts NULL. */
void tg_admin_http_stop(struct tg_admin_http *h);

/* A private unix socket for the main listener's /admin route: created in a
 * new 0700 directory; *path (malloc'd) names it. Returns the listening fd
 * or -errno. tg_admin_http_unlink removes the socket and its directory. */
int tg_admin_http_unix_socket(char **path);
void tg_admin_http_unlink(const char *path);

#endif
