/*
 * One client connection and the request currently on it.
 *
 * A tg_conn is created when libmicrohttpd accepts a TCP connection and
 * destroyed when it closes; the request fields are reset for every
 * keep-alive request. It is owned by one worker and touched only by that
 * worker's thread (MHD callbacks and curl callbacks both run there).
 *
 * Data flow of a request (server.c drives, upstream.c talks to curl):
 *   uri callback     -> RQ_STARTED  (raw request target saved)
 *   first handler    -> route, headers, curl transfer added -> RQ_UPSTREAM
 *                       (or RQ_LOCAL: tracegate answers itself)
 *   body handler     -> client body into `up`, curl read callback drains it
 *   final handler    -> queue the response once upstream headers are in,
 *                       else suspend until they are          -> RQ_RESPONDED
 *   content reader   -> `down` to the client, curl paused while it is full
 *   completed        -> access log line, request state reset -> RQ_IDLE
 */
#ifndef TG_CONN_H
#define TG_CONN_H

#include <arpa/inet.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "config.h"
#include "trace.h"

struct tg_worker;
struct tg_conf_use;

/* Bounded byte buffer: bytes live in data[rpos..wpos) of data[0..cap).
 * Streaming buffers come from the worker's pool (pooled); a body sent in one
 * piece gets exactly its length from the request arena. */
struct tg_buf {
    char *data;
    size_t rpos;
    size_t wpos;
    size_t cap;
    bool pooled;
};

static inline size_t tg_buf_room(const struct tg_buf *b)
{
    return b->cap - (b->wpos - b->rpos);
}

/* Make room at the end by moving unread bytes to the front. */
static inline void tg_buf_compact(struct tg_buf *b)
{
    if (b->rpos > 0) {
        memmove(b->data, b->data + b->rpos, b->wpos - b->rpos);
        b->wpos -= b->rpos;
        b->rpos = 0;
    }
}

/* Both directions use buffers of this size; the download side must hold a
 * whole curl chunk (CURLOPT_BUFFERSIZE) because a paused write is
 * delivered again in full. */
#define TG_BUF_BYTES (64 * 1024)
#define TG_CURL_CHUNK_BYTES (16 * 1024)

enum tg_rq_state {
    RQ_IDLE,       /* no request on the connection */
    RQ_STARTED,    /* request line seen, handler not yet called */
    RQ_UPSTREAM,   /* forwarding: transfer added to the curl multi */
    RQ_LOCAL,      /* tracegate answers itself once the body is drained */
    RQ_RESPONDED,  /* response queued with MHD */
};

/* One upstream response header, kept in the request arena. */
struct tg_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
    struct tg_header *next;
};

struct tg_conn {
    struct tg_worker *w;
    struct MHD_Connection *mhd;
    int client_fd;
    char client_ip[INET6_ADDRSTRLEN];
    CURL *easy;                       /* from the worker's pool while a transfer runs */
    bool over_limit;                  /* accepted past max_connections: answer 503 */
    struct tg_conn *prev, *next;      /* worker's list of requests in flight */
    bool listed;
    /* worker's list of connections waiting for a request head */
    struct tg_conn *head_prev, *head_next;
    bool head_waiting;
    int64_t head_since_ns;            /* ready for a head since then */

    /* ---- per request, reset by tg_server_request_reset() ---- */
    enum tg_rq_state state;
    /* The configuration the request started under (routes, tracing
     * settings): a reload never changes it mid-request. */
    const struct tg_config *cfg;
    struct tg_conf_use *conf_use;
    struct tg_arena arena;
    const struct tg_route_conf *route;
    const char *method;               /* borrowed from MHD for the request */
    char *target;                     /* raw request target, arena */
    size_t target_len;
    size_t path_len;                  /* target up to '?' */
    bool head;
    bool http10;                      /* HTTP/1.0 request */
    bool suspended;                   /* we called MHD_suspend_connection */
    bool watching_client;             /* client fd in the worker epoll */
    int64_t suspended_ns;

    /* request body: client -> up -> curl read callback */
    bool has_body;
    int64_t body_length;              /* Content-Length, -1 for chunked */
    bool upload_done;                 /* MHD made the final handler call */
    bool send_paused;                 /* curl read callback returned PAUSE */
    int64_t upload_done_ns;
    uint64_t body_bytes;
    uint64_t discarded_bytes;
    int64_t body_last_ns;             /* last body bytes taken (or the head) */
    int64_t body_client_ns;           /* time spent waiting on the client for the body */
    bool body_backpressure;           /* the last bytes filled the buffer: not the client's wait */
    bool cut_by_us;                   /* tracegate closed it mid-body, having decided local_status */
    struct tg_buf up;

    /* upstream response: curl write callback -> down -> content reader */
    bool in_multi;
    int curl_shard;                   /* the worker's multi it is in (in_multi) */
    int upstream_fd;                  /* socket curl last had watched for it, -1 if none */
    bool retried;                     /* sent again on a fresh connection */
    unsigned upstream_tries;          /* times the request went out (libcurl's own resends too) */
    const char *resend_reason;        /* error.type of the try before a resend, if known */
    bool resend_refused;              /* libcurl wanted to send a non-idempotent request again */
    int upstream_local_port;          /* of the TCP connection the transfer uses, 0 if none */
    bool headers_done;
    bool upstream_done;
    bool upstream_failed;             /* transfer ended in an error */
    bool recv_paused;                 /* curl write callback returned PAUSE */
    bool collect;                     /* whole body fits: answer from a buffer */
    struct tg_conn *collect_next;     /* worker's list to confirm `collect` */
    bool no_body;
    int upstream_status;
    const char *upstream_error;       /* set by a callback that aborted */
    bool out_of_memory;               /* an allocation this request needed failed */
    int socket_errno;                 /* socket() failed for the upstream: errno */
    char curl_error[CURL_ERROR_SIZE];
    int64_t content_length;           /* -1 when the upstream sent none */
    struct tg_header *resp_headers;
    struct tg_header **resp_tail;
    size_t resp_header_bytes;
    size_t resp_header_limit;
    struct tg_buf down;
    int64_t upstream_start_ns;
    int64_t upstream_end_ns;
    int64_t last_upstream_ns;

    /* tracegate's own answer (RQ_LOCAL) */
    int local_status;
    const char *local_body;           /* arena or static */
    bool local_close;                 /* close the connection after it */
    bool client_gone;                 /* client closed or request cut: end it */

    /* tracing; error_type says why the upstream attempt failed */
    struct tg_trace trace;
    const char *error_type;

    /* accounting */
    int status;
    uint64_t bytes_out;
    int64_t start_ns;
    int64_t start_unix_ns;

    char arena_first[4096];
};

#endif
