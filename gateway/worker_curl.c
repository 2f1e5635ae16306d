/*
 * A worker's side of libcurl: its multi handles (shards, see
 * worker_internal.h), the socket callback that keeps the worker's epoll set
 * in step with the upstream sockets curl wants watched, the timer callback
 * that sets a shard's deadline, and the loop handing socket events and due
 * timers back here. Idle pooled connections stay registered;
 * one that becomes readable while idle is retired before curl could reuse
 * it (see retire_idle_socket).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "upstream.h"
#include "worker_internal.h"

static void curl_fd_set(struct tg_worker *w, int fd, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u64 = tg_worker_tag(TAG_CURL, fd)};
    bool known = (size_t)fd < w->fd_cap && w->fd_registered[fd];
    int op = known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

    if (epoll_ctl(w->epfd, op, fd, &ev) < 0) {
        /* Our table can be stale if a socket closed behind curl's back. */
        op = errno == ENOENT ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
        epoll_ctl(w->epfd, op, fd, &ev);
    }
    if ((size_t)fd < w->fd_cap) {
        w->fd_registered[fd] = 1;
        w->fd_events[fd] = events;
    }
}

int tg_worker_on_curl_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct tg_curl_shard *sh = userp;
    struct tg_worker *w = sh->w;

    if (what == CURL_POLL_REMOVE) {
        if ((size_t)fd < w->fd_cap) {
            w->fd_wanted[fd] = 0; /* stays registered; see fd_registered */
        } else {
            epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
        }
        return 0;
    }
    uint32_t events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) |
                      ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
    if ((size_t)fd < w->fd_cap) {
        w->fd_wanted[fd] = 1;
        w->fd_shard[fd] = (uint8_t)(sh - w->shards);
        if (w->fd_owner[fd] != e) {
            struct tg_conn *c = NULL;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&c);
            if (c != NULL) {
                c->upstream_fd = fd;
            }
            w->fd_owner[fd] = e;
        }
        if (w->fd_registered[fd] && w->fd_events[fd] == events) {
            return 0;
        }
    }
    curl_fd_set(w, fd, events);
    return 0;
}

int tg_worker_on_curl_timer(CURLM *m, long timeout_ms, void *userp)
{
    struct tg_curl_shard *sh = userp;
    struct tg_worker *w = sh->w;

    if (timeout_ms < 0) {
        sh->deadline_ns = -1;
    } else if (timeout_ms == 0) {
        sh->kick = true;
        w->curl_kick = true;
        sh->deadline_ns = -1;
    } else {
        sh->deadline_ns = tg_now_ns() + (int64_t)timeout_ms * 1000000;
        if (w->curl_deadline_ns < 0 || sh->deadline_ns < w->curl_deadline_ns) {
            w->curl_deadline_ns = sh->deadline_ns;
        }
    }
    return 0;
}

int tg_worker_curl_init(struct tg_worker *w)
{
    long keepalive = (long)w->cfg->upstream_keepalive;

    /* Each shard's pool holds its share of upstream_keepalive. */
    w->shard_count = keepalive >= 2 * CURL_SHARD_LOAD ? (int)(keepalive / CURL_SHARD_LOAD) : 1;
    if (w->shard_count > CURL_SHARDS_MAX) {
        w->shard_count = CURL_SHARDS_MAX;
    }
    w->curl_deadline_ns = -1;
    for (int i = 0; i < w->shard_count; i++) {
        struct tg_curl_shard *sh = &w->shards[i];
        sh->w = w;
        sh->deadline_ns = -1;
        sh->multi = curl_multi_init();
        if (sh->multi == NULL) {
            return -1;
        }
        curl_multi_setopt(sh->multi, CURLMOPT_SOCKETFUNCTION, tg_worker_on_curl_socket);
        curl_multi_setopt(sh->multi, CURLMOPT_SOCKETDATA, sh);
        curl_multi_setopt(sh->multi, CURLMOPT_TIMERFUNCTION, tg_worker_on_curl_timer);
        curl_multi_setopt(sh->multi, CURLMOPT_TIMERDATA, sh);
        curl_multi_setopt(sh->multi, CURLMOPT_MAXCONNECTS, keepalive / w->shard_count);
    }
    return 0;
}

void tg_worker_curl_cleanup(struct tg_worker *w)
{
    for (int i = 0; i < w->shard_count; i++) {
        if (w->shards[i].multi != NULL) {
            curl_multi_cleanup(w->shards[i].multi);
            w->shards[i].multi = NULL;
        }
    }
}

int tg_worker_curl_add(struct tg_worker *w, CURL *e)
{
    /* The first shard with room; past every shard's load, the least busy. */
    int pick = 0;
    for (int i = 0; i < w->shard_count; i++) {
        if (w->shards[i].transfers < CURL_SHARD_LOAD) {
            pick = i;
            break;
        }
        if (w->shards[i].transfers < w->shards[pick].transfers) {
            pick = i;
        }
    }
    struct tg_curl_shard *sh = &w->shards[pick];
    if (curl_multi_add_handle(sh->multi, e) != CURLM_OK) {
        return -1;
    }
    sh->transfers++;
    sh->kick = true;
    w->curl_kick = true;
    return pick;
}

void tg_worker_curl_remove(struct tg_worker *w, int shard, CURL *e, int fd)
{
    struct tg_curl_shard *sh = &w->shards[shard];

    /* fd is the socket the socket callback last named for e (asking curl,
     * CURLINFO_ACTIVESOCKET, walks every pooled connection). Another
     * transfer may have taken that connection from the pool since, within
     * the curl call that finished e: only e's own claim is dropped. */
    if (fd >= 0 && (size_t)fd < w->fd_cap && w->fd_owner[fd] == e) {
        w->fd_owner[fd] = NULL;
    }
    curl_multi_remove_handle(sh->multi, e);
    sh->transfers--;
}

static int on_curl_close(void *clientp, curl_socket_t fd)
{
    struct tg_worker *w = clientp;

    if ((size_t)fd < w->fd_cap) {
        w->fd_registered[fd] = 0;
        w->fd_wanted[fd] = 0;
        w->fd_events[fd] = 0;
        w->fd_owner[fd] = NULL;
        w->fd_closed_batch[fd] = w->batch;
    }
    return close(fd); /* also leaves the epoll set */
}

void tg_worker_curl_easy_setup(struct tg_worker *w, CURL *e)
{
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, on_curl_close);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, w);
}

void tg_worker_curl_messages(struct tg_worker *w)
{
    CURLMsg *m;
    int left;

    for (int i = 0; i < w->shard_count; i++) {
        /* A message is about a transfer still in its multi. */
        if (w->shards[i].transfers == 0) {
            continue;
        }
        while ((m = curl_multi_info_read(w->shards[i].multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE) {
                continue;
            }
            struct tg_conn *c = NULL;
            CURLcode rc = m->data.result;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
            if (c != NULL) {
                tg_upstream_done(c, rc);
            }
        }
    }
}

/* Runs the timeout action of every shard kicked or due, then notes the
 * earliest timer left. */
void tg_worker_curl_timeout_action(struct tg_worker *w)
{
    int64_t now = tg_now_ns();
    int running;

    w->curl_kick = false;
    for (int i = 0; i < w->shard_count; i++) {
        struct tg_curl_shard *sh = &w->shards[i];
        if (sh->kick || (sh->deadline_ns >= 0 && sh->deadline_ns <= now)) {
            sh->kick = false;
            sh->deadline_ns = -1;
            curl_multi_socket_action(sh->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
    }
    w->curl_deadline_ns = -1;
    for (int i = 0; i < w->shard_count; i++) {
        int64_t d = w->shards[i].deadline_ns;
        if (d >= 0 && (w->curl_deadline_ns < 0 || d < w->curl_deadline_ns)) {
            w->curl_deadline_ns = d;
        }
    }
    tg_worker_confirm_collects(w);
    tg_worker_curl_messages(w);
}

/*
 * An idle pooled connection became readable: the upstream closed it, or sent
 * bytes nobody asked for. libcurl 7.88 checks a pooled connection before
 * reuse only for a close; pending bytes pass as alive, and it would read them
 * as the answer to the next request sent on it, from whichever client
 * (response queue poisoning). So the socket is replaced, under the same
 * descriptor number curl holds, by one whose peer is gone: curl's check then
 * finds the connection dead and closes it through on_curl_close, and the
 * upstream connection itself is closed now.
 */
static void retire_idle_socket(int fd)
{
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        shutdown(fd, SHUT_RDWR); /* at least a send on it fails */
        return;
    }
    close(sv[1]);
    if (dup3(sv[0], fd, O_CLOEXEC) < 0) {
        shutdown(fd, SHUT_RDWR);
    }
    close(sv[0]);
}

/*
 * Does a transfer of this worker run on fd? curl's socket callback does not
 * always tell: interest is reported per socket, not per transfer, so a
 * transfer that takes a connection from the pool may not be announced
 * before the connection's answer arrives. Each transfer notes the local
 * port of its connection before its request goes out (upstream.c), and
 * that is compared here. A socket that is not TCP cannot be told apart and
 * counts as in use.
 */
static bool socket_in_use(struct tg_worker *w, int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int port;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        return true;
    }
    if (ss.ss_family == AF_INET) {
        port = ntohs(((struct sockaddr_in *)(void *)&ss)->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        port = ntohs(((struct sockaddr_in6 *)(void *)&ss)->sin6_port);
    } else {
        return true;
    }
    for (struct tg_conn *c = w->active; c != NULL; c = c->next) {
        if (c->in_multi && c->upstream_local_port == port) {
            return true;
        }
    }
    return false;
}

void tg_worker_curl_event(struct tg_worker *w, int fd, uint32_t events)
{
    int running;

    if ((size_t)fd < w->fd_cap && w->fd_closed_batch[fd] == w->batch) {
        /* Stale: the socket this event was for is closed. Retiring what
         * now has its number would kill a connection being opened. */
        return;
    }
    if ((size_t)fd < w->fd_cap && !w->fd_wanted[fd]) {
        if (w->fd_owner[fd] != NULL || socket_in_use(w, fd)) {
            /* A paused transfer's socket: stop watching until curl asks
             * for it again on unpause. */
            epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
        } else {
            /* dup3 closed the old socket, which also left the epoll set. */
            retire_idle_socket(fd);
        }
        w->fd_registered[fd] = 0;
        return;
    }
    int flags = ((events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) ? CURL_CSELECT_IN : 0) |
                ((events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                ((events & EPOLLERR) ? CURL_CSELECT_ERR : 0);
    int shard = (size_t)fd < w->fd_cap ? w->fd_shard[fd] : 0;
    curl_multi_socket_action(w->shards[shard].multi, fd, flags, &running);
    tg_worker_confirm_collects(w);
}
