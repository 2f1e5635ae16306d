/*
 * The client side of the proxy: libmicrohttpd callbacks and the request
 * state machine described in conn.h. Everything runs on the worker thread
 * that owns the daemon.
 */
#ifndef TG_SERVER_H
#define TG_SERVER_H

#include <microhttpd.h>

#include "conn.h"

struct tg_worker;

/* Start an MHD daemon in external-epoll mode on listen_fd for worker w,
 * accepting at most conn_limit connections. NULL on failure. */
struct MHD_Daemon *tg_server_create(struct tg_worker *w, int listen_fd,
                                    unsigned conn_limit);

/*
 * Make tracegate answer the request itself with `status` and a one-line
 * text body "tracegate: <message>". Before the response is queued this
 * replaces the upstream answer; afterwards it only marks the body cut.
 */
void tg_server_fail(struct tg_conn *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* End the request on c as soon as possible (client gone, shutdown
 * deadline): the upstream transfer stops and the connection closes. */
void tg_server_cut(struct tg_conn *c);

#endif
