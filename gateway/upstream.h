/*
 * The upstream half of a request: one curl easy transfer on one of the
 * worker's multi handles. Runs on the worker thread that owns the
 * connection.
 */
#ifndef TG_UPSTREAM_H
#define TG_UPSTREAM_H

#include <curl/curl.h>
#include <stdint.h>

#include "conn.h"

/* Configure c->easy for c's request and add it to a multi handle.
 * Returns 0, -ENOMEM, or TG_EPARSE for a request that cannot be forwarded. */
int tg_upstream_start(struct tg_conn *c);

/* curl reported the transfer finished with rc. */
void tg_upstream_done(struct tg_conn *c, CURLcode rc);

/* Stop the transfer if one runs (its upstream connection is closed). */
void tg_upstream_abort(struct tg_conn *c);

/* Let curl continue after the buffers drained (upload) or emptied
 * (download). May call the curl callbacks before returning. */
void tg_upstream_unpause(struct tg_conn *c);

/* Fire the header and idle timeouts of c's route if they passed. */
void tg_upstream_check_timeouts(struct tg_conn *c, int64_t now_ns);

/* Release the easy handle when the client connection closes. */
void tg_upstream_conn_fini(struct tg_conn *c);

#endif
