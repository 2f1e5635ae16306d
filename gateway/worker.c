/*
 * The worker loop. One epoll set holds: libmicrohttpd's own epoll fd (client
 * sockets and the listening socket), the upstream sockets curl asks for, an
 * eventfd the main thread uses to request a stop, and client sockets of
 * requests that have waited long enough that a silent client close matters.
 *
 * Each turn: wait; hand curl its socket events and due timers; collect
 * finished transfers; run MHD (which calls server.c); repeat the curl/MHD
 * steps while either left work for the other (a new transfer arms curl's
 * 0 ms timer, a resumed connection needs MHD_run) so no request pays an
 * extra epoll round; every 100 ms check timeouts and flush the access log.
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "accesslog.h"
#include "confset.h"
#include "metrics.h"
#include "server.h"
#include "upstream.h"
#include "worker_internal.h"

#define TICK_NS (100 * 1000000LL)
/* A request suspended this long gets its client socket watched for close. */
#define WATCH_AFTER_NS (1000 * 1000000LL)
#define MAX_EVENTS 256
/* Rounds of curl <-> MHD hand-offs per loop turn before epoll again. */
#define INNER_ROUNDS 8

/* ---- small accessors -------------------------------------------------------- */

const struct tg_config *tg_worker_config(const struct tg_worker *w) { return w->cfg; }
bool tg_worker_draining(const struct tg_worker *w) { return w->draining; }
struct tg_tracer *tg_worker_tracer(struct tg_worker *w) { return w->tracer; }
struct tg_rng *tg_worker_rng(struct tg_worker *w) { return &w->rng; }
struct tg_worker_metrics *tg_worker_metrics(struct tg_worker *w) { return w->metrics; }

bool tg_worker_conn_count(struct tg_worker *w, int delta)
{
    w->conn_count += (size_t)(ssize_t)delta;
    return w->conn_count > w->conn_limit;
}

void tg_worker_log_access(struct tg_worker *w, const struct tg_access_entry *e)
{
    tg_logbuf_add(&w->log, e);
}

char *tg_worker_buf_get(struct tg_worker *w)
{
    if (w->free_buf_count > 0) {
        return w->free_bufs[--w->free_buf_count];
    }
    return malloc(TG_BUF_BYTES);
}

void tg_worker_buf_put(struct tg_worker *w, char *buf)
{
    if (w->free_buf_count < BUF_POOL_MAX) {
        w->free_bufs[w->free_buf_count++] = buf;
    } else {
        free(buf);
    }
}

CURL *tg_worker_easy_get(struct tg_worker *w)
{
    if (w->free_easy_count > 0) {
        return w->free_easy[--w->free_easy_count];
    }
    return NULL;
}

void tg_worker_easy_put(struct tg_worker *w, CURL *e)
{
    if (w->free_easy_count < EASY_POOL_MAX) {
        w->free_easy[w->free_easy_count++] = e;
    } else {
        curl_easy_cleanup(e);
    }
}

/* ---- configuration versions --------------------------------------------- */

static struct tg_conf_use *conf_use_new(void)
{
    struct tg_conf_use *u = calloc(1, sizeof(*u));
    if (u == NULL) {
        return NULL;
    }
    u->ver = tg_confset_acquire();
    u->cfg = tg_confver_config(u->ver);
    u->generation = tg_confver_generation(u->ver);
    return u;
}

static void conf_use_drop(struct tg_worker *w, struct tg_conf_use *u)
{
    for (struct tg_conf_use **p = &w->conf; *p != NULL; p = &(*p)->next) {
        if (*p == u) {
            *p = u->next;
            break;
        }
    }
    tg_confset_release(u->ver);
    free(u);
}

/* Take the newest configuration for requests that start from now on; the
 * previous one stays while requests use it. On allocation failure the
 * worker keeps its current one and tries again next turn. */
static void conf_switch(struct tg_worker *w)
{
    struct tg_conf_use *u = conf_use_new();
    if (u == NULL) {
        return;
    }
    struct tg_conf_use *old = w->conf;
    u->next = old;
    w->conf = u;
    if (old != NULL && old->inflight == 0) {
        conf_use_drop(w, old);
    }
}

void tg_worker_wake(struct tg_worker *w)
{
    uint64_t one = 1;
    if (write(w->wakefd, &one, sizeof(one)) < 0) {
        /* eventfd write only fails on overflow: a wake is pending anyway */
    }
}

void tg_worker_track(struct tg_conn *c)
{
    struct tg_worker *w = c->w;

    if (c->listed) {
        return;
    }
    c->conf_use = w->conf;
    c->cfg = w->conf->cfg;
    w->conf->inflight++;
    c->prev = NULL;
    c->next = w->active;
    if (w->active != NULL) {
        w->active->prev = c;
    }
    w->active = c;
    c->listed = true;
    w->active_count++;
}

void tg_worker_untrack(struct tg_conn *c)
{
    struct tg_worker *w = c->w;

    if (!c->listed) {
        return;
    }
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        w->active = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    c->prev = c->next = NULL;
    c->listed = false;
    w->active_count--;
    struct tg_conf_use *u = c->conf_use;
    if (--u->inflight == 0 && u != w->conf) {
        conf_use_drop(w, u);
    }
}

void tg_worker_head_done(struct tg_conn *c)
{
    struct tg_worker *w = c->w;

    if (!c->head_waiting) {
        return;
    }
    if (c->head_prev != NULL) {
        c->head_prev->head_next = c->head_next;
    } else {
        w->head_first = c->head_next;
    }
    if (c->head_next != NULL) {
        c->head_next->head_prev = c->head_prev;
    } else {
        w->head_last = c->head_prev;
    }
    c->head_prev = c->head_next = NULL;
    c->head_waiting = false;
}

void tg_worker_head_wait(struct tg_conn *c)
{
    struct tg_worker *w = c->w;

    tg_worker_head_done(c);
    /* Every deadline is the same length after its start, so appending
     * keeps the list in deadline order. */
    c->head_since_ns = tg_now_ns();
    c->head_prev = w->head_last;
    c->head_next = NULL;
    if (w->head_last != NULL) {
        w->head_last->head_next = c;
    } else {
        w->head_first = c;
    }
    w->head_last = c;
    c->head_waiting = true;
}

static int64_t head_deadline_ns(const struct tg_worker *w)
{
    if (w->head_first == NULL) {
        return -1;
    }
    return w->head_first->head_since_ns + w->cfg->client_timeout_ms * 1000000;
}

/* Shut down the sockets of heads past their deadline. libmicrohttpd sees
 * the end of the stream on its next turn and closes the connection, which
 * frees it through the usual notify callback. */
static void expire_heads(struct tg_worker *w, int64_t now)
{
    int64_t deadline;

    while ((deadline = head_deadline_ns(w)) >= 0 && deadline <= now) {
        struct tg_conn *c = w->head_first;
        tg_worker_head_done(c);
        if (c->client_fd >= 0) {
            shutdown(c->client_fd, SHUT_RDWR);
        }
    }
}

void tg_worker_confirm_collect(struct tg_conn *c)
{
    c->collect_next = c->w->collecting;
    c->w->collecting = c;
}

/* A small body that did not come with its headers may come slowly (a
 * server trickling a known-length body): stream it rather than make the
 * client wait for all of it. */
void tg_worker_confirm_collects(struct tg_worker *w)
{
    while (w->collecting != NULL) {
        struct tg_conn *c = w->collecting;
        w->collecting = c->collect_next;
        c->collect_next = NULL;
        if (c->collect && !c->upstream_done &&
            (int64_t)(c->down.wpos - c->down.rpos) < c->content_length) {
            c->collect = false;
            tg_worker_resume(c);
        }
    }
}

/* ---- suspend / resume ------------------------------------------------------- */

void tg_worker_suspend(struct tg_conn *c)
{
    if (c->suspended) {
        return;
    }
    MHD_suspend_connection(c->mhd);
    c->suspended = true;
    c->suspended_ns = tg_now_ns();
}

void tg_worker_resume(struct tg_conn *c)
{
    if (!c->suspended) {
        return; /* resuming a running connection is undefined in MHD */
    }
    tg_worker_unwatch_client(c);
    MHD_resume_connection(c->mhd);
    c->suspended = false;
    /* External polling: MHD does not wake itself, the loop must run it. */
    c->w->resume_pending = true;
}

static void watch_client(struct tg_conn *c)
{
    struct tg_worker *w = c->w;
    int fd = c->client_fd;

    if (c->watching_client || fd < 0 || (size_t)fd >= w->fd_cap) {
        return;
    }
    /* RDHUP only: pipelined bytes must not wake us, a close must. */
    struct epoll_event ev = {.events = EPOLLRDHUP, .data.u64 = tg_worker_tag(TAG_CLIENT, fd)};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) == 0) {
        w->client_watch[fd] = c;
        c->watching_client = true;
    }
}

void tg_worker_unwatch_client(struct tg_conn *c)
{
    struct tg_worker *w = c->w;

    if (!c->watching_client) {
        return;
    }
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->client_fd, NULL);
    w->client_watch[c->client_fd] = NULL;
    c->watching_client = false;
}

/* ---- MHD -------------------------------------------------------------------- */

static void run_mhd_and_curl(struct tg_worker *w, bool mhd_ready)
{
    for (int round = 0; round < INNER_ROUNDS; round++) {
        if (mhd_ready || w->resume_pending) {
            size_t conns_before = w->conn_count;
            mhd_ready = false;
            w->resume_pending = false;
            /* Requests read in a later round of this turn were sent after
             * the wait: they too take a configuration published since. */
            if (round > 0 && tg_confset_generation() != w->conf->generation) {
                conf_switch(w);
            }
            MHD_run(w->mhd);
            MHD_UNSIGNED_LONG_LONG t;
            if (MHD_get_timeout(w->mhd, &t) == MHD_YES) {
                mhd_ready = t == 0;
                w->mhd_deadline_ns = tg_now_ns() + (int64_t)t * 1000000;
            } else {
                w->mhd_deadline_ns = -1;
            }
            /* MHD stops watching the listening socket at its connection
             * limit, or when accept() fails for want of file descriptors,
             * and watches it again only at the start of a run after a
             * connection has closed. Without that next run, a worker whose
             * last connection just closed would never accept again. */
            if (w->conn_count < conns_before) {
                mhd_ready = true;
            }
        }
        if (w->curl_kick) {
            tg_worker_curl_timeout_action(w);
        }
        if (!mhd_ready && !w->resume_pending && !w->curl_kick) {
            return;
        }
    }
    /* Still busy: come back without sleeping. */
    w->mhd_deadline_ns = tg_now_ns();
}

/* ---- timers, draining, the loop ---------------------------------------- */

static void tick(struct tg_worker *w, int64_t now)
{
    struct tg_conn *c = w->active;

    while (c != NULL) {
        struct tg_conn *next = c->next; /* c may leave the list */
        tg_upstream_check_timeouts(c, now);
        if (c->suspended && !c->watching_client && now - c->suspended_ns > WATCH_AFTER_NS) {
            watch_client(c);
        }
        c = next;
    }
    if (w->log.len > 0) {
        tg_logbuf_flush(&w->log);
    }
    w->next_tick_ns = now + TICK_NS;
}

static void begin_drain(struct tg_worker *w)
{
    w->draining = true;
    w->drain_deadline_ns = tg_now_ns() + w->cfg->shutdown_timeout_ms * 1000000;
    MHD_socket fd = MHD_quiesce_daemon(w->mhd);
    if (fd != MHD_INVALID_SOCKET) {
        close(fd);
    }
    w->listen_fd = -1;
}

static int epoll_timeout_ms(struct tg_worker *w, int64_t now)
{
    int64_t deadline = -1;

    if (w->curl_kick || w->resume_pending) {
        return 0;
    }
    int64_t candidates[5] = {
        w->curl_deadline_ns,
        w->mhd_deadline_ns,
        (w->active_count > 0 || w->log.len > 0) ? w->next_tick_ns : -1,
        w->draining ? w->drain_deadline_ns : -1,
        head_deadline_ns(w),
    };
    for (int i = 0; i < 5; i++) {
        if (candidates[i] >= 0 && (deadline < 0 || candidates[i] < deadline)) {
            deadline = candidates[i];
        }
    }
    if (deadline < 0) {
        return -1;
    }
    if (deadline <= now) {
        return 0;
    }
    int64_t ms = (deadline - now + 999999) / 1000000;
    return ms > 60000 ? 60000 : (int)ms;
}

static void *worker_main(void *arg)
{
    struct tg_worker *w = arg;
    struct epoll_event evs[MAX_EVENTS];
    char name[16];

    /* Named before anything else runs here, so tools that pick threads by
     * name (top -H, gdb, test/fault/malloc_fail.c) see it from the start. */
    snprintf(name, sizeof(name), "tg-worker-%d", w->id);
    pthread_setname_np(pthread_self(), name);
    w->next_tick_ns = tg_now_ns() + TICK_NS;
    for (;;) {
        int64_t now = tg_now_ns();
        int n = epoll_wait(w->epfd, evs, MAX_EVENTS, epoll_timeout_ms(w, now));
        /* After the wait: a request that arrived after a publish is
         * served by the new configuration. */
        if (tg_confset_generation() != w->conf->generation) {
            conf_switch(w);
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fprintf(stderr, "tracegate: worker %d: epoll_wait: %s\n", w->id, strerror(errno));
            break;
        }
        bool mhd_ready = false;
        w->batch++;
        for (int i = 0; i < n; i++) {
            int t = (int)(evs[i].data.u64 >> 32);
            int fd = (int)(uint32_t)evs[i].data.u64;
            if (t == TAG_MHD) {
                mhd_ready = true;
            } else if (t == TAG_CURL) {
                tg_worker_curl_event(w, fd, evs[i].events);
            } else if (t == TAG_CLIENT) {
                struct tg_conn *c = (size_t)fd < w->fd_cap ? w->client_watch[fd] : NULL;
                if (c != NULL) {
                    tg_worker_unwatch_client(c);
                    tg_server_cut(c);
                }
            } else if (t == TAG_WAKE) {
                uint64_t v;
                if (read(w->wakefd, &v, sizeof(v)) < 0) {
                    /* nothing to do: the flag below is what counts */
                }
                if (atomic_load(&w->stop_requested) && !w->draining) {
                    begin_drain(w);
                }
            }
        }
        now = tg_now_ns();
        if (w->curl_deadline_ns >= 0 && w->curl_deadline_ns <= now) {
            w->curl_kick = true;
        }
        tg_worker_curl_messages(w);
        if (w->mhd_deadline_ns >= 0 && w->mhd_deadline_ns <= now) {
            mhd_ready = true;
        }
        expire_heads(w, now);
        run_mhd_and_curl(w, mhd_ready);
        if (now >= w->next_tick_ns) {
            tick(w, now);
        }
        if (w->draining) {
            if (w->active_count == 0) {
                break;
            }
            if (now >= w->drain_deadline_ns) {
                /* Cut what is left, let MHD close it, then stop. */
                for (struct tg_conn *c = w->active; c != NULL; c = c->next) {
                    w->cut_count++;
                    tg_server_cut(c);
                }
                run_mhd_and_curl(w, true);
                break;
            }
        }
    }
    if (w->log.len > 0) {
        tg_logbuf_flush(&w->log);
    }
    return NULL;
}

/* ---- lifecycle (main thread) ---------------------------------------------- */

int tg_worker_create(int id, const struct tg_config *cfg, int listen_fd,
                     struct tg_accesslog *log, struct tg_tracer *tracer,
                     struct tg_worker **out)
{
    struct tg_worker *w = calloc(1, sizeof(*w));
    struct rlimit rl;
    int r = -ENOMEM;

    if (w == NULL) {
        close(listen_fd);
        return -ENOMEM;
    }
    w->id = id;
    w->cfg = cfg;
    w->tracer = tracer;
    tg_rng_seed(&w->rng);
    w->listen_fd = listen_fd;
    w->conf = conf_use_new();
    w->epfd = -1;
    w->wakefd = -1;
    w->curl_deadline_ns = -1;
    w->mhd_deadline_ns = -1;
    w->log.log = log;
    w->log.cached_sec = -1;
    atomic_init(&w->stop_requested, false);
    if (tg_metrics_attach(tracer->metrics, &w->metrics) < 0) {
        goto fail;
    }

    w->fd_cap = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < 1u << 24) {
        w->fd_cap = (size_t)rl.rlim_cur;
    }
    w->fd_events = calloc(w->fd_cap, sizeof(*w->fd_events));
    w->fd_registered = calloc(w->fd_cap, 1);
    w->fd_wanted = calloc(w->fd_cap, 1);
    w->fd_owner = calloc(w->fd_cap, sizeof(*w->fd_owner));
    w->fd_shard = calloc(w->fd_cap, 1);
    w->fd_closed_batch = calloc(w->fd_cap, sizeof(*w->fd_closed_batch));
    w->client_watch = calloc(w->fd_cap, sizeof(*w->client_watch));
    if (w->conf == NULL || w->fd_events == NULL || w->fd_registered == NULL ||
        w->fd_wanted == NULL || w->fd_owner == NULL || w->fd_shard == NULL || w->fd_closed_batch == NULL ||
        w->client_watch == NULL) {
        goto fail;
    }
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->epfd < 0 || w->wakefd < 0) {
        r = -errno;
        goto fail;
    }
    if (tg_worker_curl_init(w) < 0) {
        goto fail;
    }

    w->conn_limit = (size_t)((cfg->max_connections + (uint64_t)cfg->workers - 1) /
                             (uint64_t)cfg->workers);
    /* MHD itself stops accepting at its limit, leaving clients waiting in
     * the backlog; with some headroom above ours, connections past our
     * limit are accepted and answered 503 instead (server.c). */
    unsigned mhd_limit = (unsigned)(w->conn_limit + w->conn_limit / 8 + 16);
    w->mhd = tg_server_create(w, listen_fd, mhd_limit);
    if (w->mhd == NULL) {
        r = -EINVAL;
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (di == NULL) {
        r = -EINVAL;
        goto fail;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tg_worker_tag(TAG_MHD, di->epoll_fd)};
    struct epoll_event wev = {.events = EPOLLIN, .data.u64 = tg_worker_tag(TAG_WAKE, w->wakefd)};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, di->epoll_fd, &ev) < 0 ||
        epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &wev) < 0) {
        r = -errno;
        goto fail;
    }
    *out = w;
    return 0;

fail:
    if (w->mhd == NULL && w->listen_fd >= 0) {
        close(w->listen_fd);
        w->listen_fd = -1;
    }
    tg_worker_destroy(w);
    return r;
}

int tg_worker_start(struct tg_worker *w)
{
    int r = pthread_create(&w->thread, NULL, worker_main, w);
    if (r != 0) {
        return -r;
    }
    w->started = true;
    return 0;
}

void tg_worker_stop(struct tg_worker *w)
{
    uint64_t one = 1;

    atomic_store(&w->stop_requested, true);
    if (write(w->wakefd, &one, sizeof(one)) < 0) {
        /* eventfd write only fails on overflow: a wake is pending anyway */
    }
}

int tg_worker_join(struct tg_worker *w)
{
    if (w->started) {
        pthread_join(w->thread, NULL);
        w->started = false;
    }
    return w->cut_count;
}

void tg_worker_destroy(struct tg_worker *w)
{
    if (w == NULL) {
        return;
    }
    if (w->mhd != NULL) {
        /* Closes idle keep-alive connections; their conns are freed via
         * the connection-notify callback. */
        MHD_stop_daemon(w->mhd); /* also closes a listen socket not yet quiesced */
    }
    for (size_t i = 0; i < w->free_easy_count; i++) {
        curl_easy_cleanup(w->free_easy[i]);
    }
    tg_worker_curl_cleanup(w);
    for (size_t i = 0; i < w->free_buf_count; i++) {
        free(w->free_bufs[i]);
    }
    if (w->epfd >= 0) {
        close(w->epfd);
    }
    if (w->wakefd >= 0) {
        close(w->wakefd);
    }
    free(w->fd_events);
    free(w->fd_registered);
    free(w->fd_wanted);
    free(w->fd_owner);
    free(w->fd_shard);
    free(w->fd_closed_batch);
    free(w->client_watch);
    while (w->conf != NULL) {
        conf_use_drop(w, w->conf);
    }
    if (w->metrics != NULL) {
        tg_metrics_detach(w->tracer->metrics, w->metrics); /* after MHD: no request left */
    }
    free(w);
}
