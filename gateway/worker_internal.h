/*
 * What worker.c and worker_curl.c share: the worker's state and the curl
 * glue's entry points. Not for other files (they use worker.h).
 */
#ifndef TG_WORKER_INTERNAL_H
#define TG_WORKER_INTERNAL_H

#include <curl/curl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "accesslog.h"
#include "conn.h"
#include "worker.h"

enum { TAG_MHD = 1, TAG_WAKE, TAG_CURL, TAG_CLIENT };

/* Free streaming buffers kept per worker (each TG_BUF_BYTES): enough for
 * hundreds of concurrent streams without a malloc/free per request. */
#define BUF_POOL_MAX 256
/* Idle curl easy handles kept for reuse. A request holds one only while its
 * transfer runs, so a worker needs about as many as it has transfers in
 * flight, not one per client connection. Under load the number in flight
 * swings by hundreds between loop turns; a pool smaller than the swing
 * makes and frees handles (5 KiB each, set up option by option) all the
 * time. */
#define EASY_POOL_MAX 1024

/* Transfers spread over several curl multi handles ("shards"), each with
 * its own connection pool. libcurl 7.88 walks a pool's connections, busy
 * ones included, to find an idle one, again when a transfer is removed, and
 * keeps one timer tree per multi: in one multi, every transfer in flight
 * makes each request's walks longer (about 2 us a request at 400 in
 * flight). A shard takes up to CURL_SHARD_LOAD transfers before the next
 * one is used, so at low concurrency everything runs on shard 0, as with a
 * single multi. */
#define CURL_SHARDS_MAX 16
#define CURL_SHARD_LOAD 64

struct tg_curl_shard {
    struct tg_worker *w;
    CURLM *multi;
    int64_t deadline_ns;        /* -1: no curl timer */
    bool kick;                  /* run curl's timeout action this turn */
    unsigned transfers;         /* in this multi now */
};

/* A configuration version this worker holds: its newest, or an older one
 * that requests begun under it still run on. */
struct tg_conf_use {
    struct tg_confver *ver;
    const struct tg_config *cfg;
    uint64_t generation;
    unsigned inflight;
    struct tg_conf_use *next;
};

struct tg_worker {
    int id;
    const struct tg_config *cfg;     /* boot configuration */
    struct tg_conf_use *conf;        /* newest first */
    int listen_fd;
    int epfd;
    int wakefd;
    struct MHD_Daemon *mhd;
    struct tg_curl_shard shards[CURL_SHARDS_MAX];
    int shard_count;
    pthread_t thread;
    bool started;
    atomic_bool stop_requested;

    int64_t curl_deadline_ns;   /* earliest shard timer (may be early), -1: none */
    int64_t mhd_deadline_ns;    /* -1: MHD needs no timed call */
    int64_t next_tick_ns;
    bool curl_kick;             /* some shard's timeout action runs this turn */
    bool resume_pending;        /* MHD_run must process a resume */
    bool draining;
    int64_t drain_deadline_ns;
    int cut_count;

    /* Upstream sockets: the events registered in epoll, and whether curl
     * currently wants the socket at all (a pooled idle connection stays
     * registered, saving two epoll_ctl per request). */
    size_t fd_cap;
    uint32_t *fd_events;
    uint8_t *fd_registered;
    uint8_t *fd_wanted;
    CURL **fd_owner;            /* the transfer running on it (maybe paused), or NULL */
    uint8_t *fd_shard;          /* the shard whose connection it is */
    /* The epoll batch in which curl last closed the socket: an event of
     * the same batch for that number is the closed socket's, not the one
     * curl may have opened under the number since. */
    uint32_t *fd_closed_batch;
    uint32_t batch;             /* counts epoll_wait returns */
    struct tg_conn **client_watch;

    struct tg_conn *head_first; /* waiting for a request head, oldest first */
    struct tg_conn *head_last;
    struct tg_conn *active;     /* requests in flight */
    struct tg_conn *collecting; /* see tg_worker_confirm_collect */
    size_t active_count;
    size_t conn_count;
    size_t conn_limit;          /* this worker's share of max_connections */

    char *free_bufs[BUF_POOL_MAX];
    size_t free_buf_count;
    CURL *free_easy[EASY_POOL_MAX];
    size_t free_easy_count;

    struct tg_logbuf log;
    struct tg_tracer *tracer;
    struct tg_rng rng;
    struct tg_worker_metrics *metrics;  /* written by this thread only */
};

static inline uint64_t tg_worker_tag(int t, int fd)
{
    return ((uint64_t)t << 32) | (uint32_t)fd;
}

/* worker.c */
void tg_worker_confirm_collects(struct tg_worker *w);

/* worker_curl.c: libcurl's socket and timer callbacks, its due timers, its
 * socket events and its finished transfers. */
int tg_worker_on_curl_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp);
int tg_worker_on_curl_timer(CURLM *m, long timeout_ms, void *userp);
int tg_worker_curl_init(struct tg_worker *w);
void tg_worker_curl_cleanup(struct tg_worker *w);
void tg_worker_curl_timeout_action(struct tg_worker *w);
void tg_worker_curl_event(struct tg_worker *w, int fd, uint32_t events);
void tg_worker_curl_messages(struct tg_worker *w);

#endif
