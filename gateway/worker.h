/*
 * A worker thread: one epoll loop driving one libmicrohttpd daemon (external
 * polling) and curl multi handles (socket API). Requests never leave
 * their worker, so nothing on the request path takes a lock.
 *
 * tg_worker_create/start/stop/join are called from the main thread; every
 * other function here runs on the worker's own thread.
 */
#ifndef TG_WORKER_H
#define TG_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "conn.h"

struct tg_accesslog;

/* Create worker `id` around an already listening socket (ownership of
 * listen_fd passes to the worker). */
int tg_worker_create(int id, const struct tg_config *cfg, int listen_fd,
                     struct tg_accesslog *log, struct tg_tracer *tracer,
                     struct tg_worker **out);
int tg_worker_start(struct tg_worker *w);

/* Ask the worker to stop accepting and drain (async-signal-unsafe; call
 * from the main thread). */
void tg_worker_stop(struct tg_worker *w);

/* A new configuration was published: make the worker take it now rather
 * than at its next event (main thread). */
void tg_worker_wake(struct tg_worker *w);

/* Wait for the thread; returns the number of requests cut at the deadline. */
int tg_worker_join(struct tg_worker *w);
void tg_worker_destroy(struct tg_worker *w);

/* --- worker-thread API used by server.c and upstream.c --- */

/* The boot configuration: the settings a reload cannot change (limits,
 * timeouts of client connections, drain). Routes and tracing settings of
 * a request come from c->cfg. */
const struct tg_config *tg_worker_config(const struct tg_worker *w);
bool tg_worker_draining(const struct tg_worker *w);
struct tg_accesslog *tg_worker_log(struct tg_worker *w);
struct tg_tracer *tg_worker_tracer(struct tg_worker *w);
/* The worker's id generator (no lock: one per worker). */
struct tg_rng *tg_worker_rng(struct tg_worker *w);
/* The worker's request counters (gateway/metrics.h; this thread writes them). */
struct tg_worker_metrics *tg_worker_metrics(struct tg_worker *w);

/* Start e's transfer on one of the worker's curl multi handles; curl's 0 ms
 * timer runs in this loop turn. Returns the shard it runs on, to give back
 * to tg_worker_curl_remove, or -1 if curl refused it. */
int tg_worker_curl_add(struct tg_worker *w, CURL *e);
/* e's transfer is over (done or aborted): out of its multi; its connection,
 * if kept, is an idle pooled one from now on. fd is the socket curl last
 * had watched for e, or -1. */
void tg_worker_curl_remove(struct tg_worker *w, int shard, CURL *e, int fd);

/* Suspend / resume the MHD connection of c, tracking state so neither
 * happens twice; resume also makes the loop run MHD on its next turn. */
void tg_worker_suspend(struct tg_conn *c);
void tg_worker_resume(struct tg_conn *c);

/* Requests in flight, for timeouts and draining; track also sets c->cfg
 * to the worker's newest configuration. */
void tg_worker_track(struct tg_conn *c);
void tg_worker_untrack(struct tg_conn *c);

/* Connections waiting for a request head, oldest first. A head must be
 * complete within client_timeout_ms of the connection becoming ready for
 * it (accepted, or its previous response sent), however it trickles in
 * (slowloris): libmicrohttpd's own timeout only counts silence. Past the
 * deadline the worker shuts the socket down and libmicrohttpd closes it.
 * wait (re)starts the clock; done stops it (head complete, or closed). */
void tg_worker_head_wait(struct tg_conn *c);
void tg_worker_head_done(struct tg_conn *c);

/* Options every easy handle of this worker shares (socket close hook). */
void tg_worker_curl_easy_setup(struct tg_worker *w, CURL *e);

/* Watch the client socket of a long-suspended request for a close. */
void tg_worker_unwatch_client(struct tg_conn *c);

/* Count client connections on this worker (+1 / -1); true when the count
 * is now past this worker's share of max_connections. */
bool tg_worker_conn_count(struct tg_worker *w, int delta);

struct tg_access_entry;
void tg_worker_log_access(struct tg_worker *w, const struct tg_access_entry *e);

/* c's response looks small enough to send in one write; after the curl
 * step that delivered its headers the worker checks the body arrived in the
 * same step, and otherwise turns the response into a stream. */
void tg_worker_confirm_collect(struct tg_conn *c);

/* Idle curl easy handles (most recently used first, so the next transfer
 * finds one warm in cache); get returns NULL when none is idle. */
CURL *tg_worker_easy_get(struct tg_worker *w);
void tg_worker_easy_put(struct tg_worker *w, CURL *e);

/* Buffers of TG_BUF_BYTES from a small per-worker free list. */
char *tg_worker_buf_get(struct tg_worker *w);
void tg_worker_buf_put(struct tg_worker *w, char *buf);

#endif
