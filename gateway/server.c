/*
 * libmicrohttpd glue and the request state machine (see conn.h).
 *
 * MHD rules this file lives by (0.9.75):
 *  - Never queue a response or suspend on the first handler call if the
 *    connection is to stay alive: MHD would drop keep-alive. We only do that
 *    for answers that close the connection anyway (431, 413 by
 *    Content-Length, 400/501 for a malformed head, a bad target or a HEAD
 *    body, 503 past max_connections).
 *  - The raw request target comes from the URI log callback; MHD unescapes
 *    the url it passes to the handler.
 *  - Per-connection state comes from the connection-notify callback, so a
 *    request MHD rejects before calling the handler leaks nothing.
 */
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "accesslog.h"
#include "error.h"
#include "headers.h"
#include "metrics.h"
#include "reserve.h"
#include "route.h"
#include "trace.h"
#include "upstream.h"
#include "worker.h"

/* Waiting on a request body this long before its rate is judged. */
#define TG_BODY_RATE_GRACE_NS (5 * 1000000000LL)
/* Body bytes read and thrown away before a local answer (404, 413, an
 * upstream failure mid-upload). Past this the connection is closed. */
#define DISCARD_MAX_BYTES (4 * 1024 * 1024)
#define STREAM_BLOCK_BYTES (16 * 1024)
/* Heap the request arena may add to its inline first block. */
#define ARENA_LIMIT_BYTES (256 * 1024)

void tg_server_fail(struct tg_conn *c, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (c->state == RQ_RESPONDED) {
        c->upstream_failed = true;
        return;
    }
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0) {
        msg[0] = '\0';
    }
    size_t cap = strlen(msg) + 16;
    char *body = tg_arena_alloc(&c->arena, cap);
    if (body != NULL) {
        snprintf(body, cap, "tracegate: %s\n", msg);
    }
    c->local_body = body != NULL ? body : "tracegate: error\n";
    c->local_status = status;
    c->state = RQ_LOCAL;
}

/* Answer from tracegate itself, as if the upstream had not been asked. */
static void local(struct tg_conn *c, int status, bool close, const char *msg)
{
    tg_server_fail(c, status, "%s", msg);
    c->local_close = close;
}

/* ---- queueing responses -------------------------------------------------- */

static enum MHD_Result queue(struct tg_conn *c, int status, struct MHD_Response *r)
{
    if (r == NULL) {
        return MHD_NO;
    }
    if (tg_worker_draining(c->w) || c->local_close) {
        /* Tell the client not to reuse this connection. */
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    }
    tg_trace_response(c, r);
    enum MHD_Result ok = MHD_queue_response(c->mhd, (unsigned)status, r);
    MHD_destroy_response(r);
    if (ok == MHD_YES) {
        c->state = RQ_RESPONDED;
        c->status = status;
    }
    return ok;
}

static enum MHD_Result queue_local(struct tg_conn *c)
{
    const char *body = c->local_body;
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);

    if (r == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    c->bytes_out = strlen(body);
    return queue(c, c->local_status, r);
}

static ssize_t read_body(void *cls, uint64_t pos, char *out, size_t max)
{
    struct tg_conn *c = cls;
    struct tg_buf *b = &c->down;

    for (int round = 0; round < 2; round++) {
        size_t avail = b->wpos - b->rpos;
        if (avail > 0) {
            size_t n = avail < max ? avail : max;
            memcpy(out, b->data + b->rpos, n);
            b->rpos += n;
            if (b->rpos == b->wpos) {
                b->rpos = b->wpos = 0;
            }
            c->bytes_out += n;
            tg_upstream_unpause(c);
            return (ssize_t)n;
        }
        if (c->client_gone || (c->upstream_done && c->upstream_failed)) {
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (c->upstream_done) {
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        /* curl may hand over a held chunk right inside unpause. */
        tg_upstream_unpause(c);
    }
    tg_worker_suspend(c);
    return 0;
}

static enum MHD_Result queue_upstream(struct tg_conn *c)
{
    struct MHD_Response *r;
    int status = c->upstream_status;

    if (c->no_body) {
        if (c->head && c->content_length > 0) {
            /* MHD announces the size and sends no body for HEAD. */
            r = MHD_create_response_from_callback((uint64_t)c->content_length, 1024,
                                                  read_body, c, NULL);
        } else if (c->head) {
            /* Length unknown (the GET would be chunked or close-delimited).
             * MHD 0.9.75 sends a chunk terminator after a chunked HEAD head,
             * which would desynchronise the connection; HTTP/1.0-style
             * framing sends no body, at the price of this connection. */
            r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, read_body, c, NULL);
            if (r != NULL) {
                MHD_set_response_options(r, MHD_RF_HTTP_1_0_COMPATIBLE_STRICT, MHD_RO_END);
            }
        } else {
            r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        }
    } else if (c->collect) {
        /* Small body already complete: one buffer, one sendmsg(). */
        struct tg_buf *b = &c->down;
        r = MHD_create_response_from_buffer(b->wpos - b->rpos, b->data + b->rpos,
                                            MHD_RESPMEM_PERSISTENT);
        c->bytes_out = b->wpos - b->rpos;
    } else {
        /* The stream's buffer is taken before the status line goes out:
         * once it has, a missing buffer could only cut the response. */
        struct tg_buf *b = &c->down;
        if (b->data == NULL) {
            if ((b->data = tg_worker_buf_get(c->w)) == NULL) {
                tg_upstream_abort(c);
                c->out_of_memory = true;
                c->local_close = true;
                tg_server_fail(c, 503, "out of memory, try again later");
                return queue_local(c);
            }
            b->cap = TG_BUF_BYTES;
            b->pooled = true;
        }
        uint64_t size = c->content_length >= 0 ? (uint64_t)c->content_length
                                                : MHD_SIZE_UNKNOWN;
        r = MHD_create_response_from_callback(size, STREAM_BLOCK_BYTES, read_body, c, NULL);
    }
    if (r == NULL) {
        c->out_of_memory = true;
        c->local_close = true;
        tg_server_fail(c, 503, "out of memory, try again later");
        return queue_local(c);
    }
    int hr = tg_headers_apply_response(c, r);
    if (hr < 0) {
        MHD_destroy_response(r);
        tg_upstream_abort(c);
        if (hr == -ENOMEM) {
            c->out_of_memory = true;
            c->local_close = true;
            tg_server_fail(c, 503, "out of memory, try again later");
        } else {
            tg_server_fail(c, 502, "upstream %s sent a header tracegate cannot forward",
                           c->route->upstream_authority);
        }
        return queue_local(c);
    }
    return queue(c, status, r);
}

/* ---- request lifecycle ------------------------------------------------------ */

static void release_buf(struct tg_conn *c, struct tg_buf *b)
{
    if (b->pooled) {
        tg_worker_buf_put(c->w, b->data);
    }
    *b = (struct tg_buf){0}; /* arena-backed data goes with the arena */
}

/* Log the request and make the connection ready for the next one. */
static void request_finish(struct tg_conn *c, bool client_aborted)
{
    if (c->state == RQ_IDLE) {
        return;
    }
    if (client_aborted && c->state == RQ_RESPONDED && c->upstream_failed && !c->client_gone) {
        /* libmicrohttpd reports a response we cut short as a failed one;
         * when the upstream failed first, the client did nothing wrong: log
         * what it was sent and let the span carry the upstream's error. */
        client_aborted = false;
    }
    if (c->cut_by_us) {
        client_aborted = false;  /* tracegate's decision, logged as local_status */
    }
    struct tg_worker_metrics *m = tg_worker_metrics(c->w);
    tg_metrics_gauge_add(&m->in_flight, -1);
    tg_upstream_abort(c);
    if (c->suspended) {
        tg_worker_resume(c);
    }
    if (c->state != RQ_STARTED) {
        int64_t now = tg_now_ns();
        struct tg_access_entry e = {
            .start_unix_ns = c->start_unix_ns,
            .client = c->client_ip,
            .method = c->method != NULL ? c->method : "-",
            .path = c->target != NULL ? c->target : "",
            .path_len = c->target_len,
            .route = c->route != NULL ? c->route->prefix : NULL,
            /* What the client got; a local answer that could not be sent
             * (MHD cannot answer mid-upload) is logged as decided. */
            .status = c->status != 0 && !client_aborted ? c->status
                      : c->local_status != 0 ? c->local_status : 499,
            .upstream_status = c->upstream_status,
            .bytes_in = c->body_bytes,
            .bytes_out = c->bytes_out,
            .duration_ns = now - c->start_ns,
            .upstream_ns = c->upstream_start_ns == 0 ? -1
                           : (c->upstream_end_ns ? c->upstream_end_ns : now) - c->upstream_start_ns,
        };
        tg_trace_end(c, client_aborted ? 0 : e.status,
                     client_aborted ? "client_aborted" : c->error_type);
        tg_metrics_request(m, c->route, e.status, client_aborted, e.duration_ns, c->error_type);
        e.trace = &c->trace;
        tg_worker_log_access(c->w, &e);
    }
    tg_worker_untrack(c);
    release_buf(c, &c->up);
    release_buf(c, &c->down);
    tg_arena_reset(&c->arena);

    /* Clear every per-request field (they sit between state and the end
     * of the struct, before the inline arena block). */
    struct tg_arena arena = c->arena;
    memset(&c->state, 0, offsetof(struct tg_conn, arena_first) - offsetof(struct tg_conn, state));
    c->arena = arena;
    c->state = RQ_IDLE;
    tg_worker_head_wait(c);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct tg_conn *c = ci != NULL ? ci->socket_context : NULL;

    if (c == NULL) {
        return NULL;
    }
    request_finish(c, true); /* a request MHD rejected without telling us */
    c->start_ns = tg_now_ns();
    c->start_unix_ns = tg_unix_now_ns();
    c->state = RQ_STARTED;
    tg_metrics_gauge_add(&tg_worker_metrics(c->w)->in_flight, 1);
    c->target_len = strlen(uri);
    c->target = tg_arena_strndup(&c->arena, uri, c->target_len);
    if (c->target == NULL) {
        c->target_len = 0;
        c->out_of_memory = true; /* answered in request_begin */
    }
    tg_worker_track(c);
    return c;
}

/* Origin-form (RFC 9112 3.2.1) with nothing that could split a line or a
 * URL, in ASCII (RFC 3986 has no raw octets above 0x7e; RFC 9112 3.2 asks
 * for a 400 rather than a silent correction); absolute-form is reduced to
 * its path. */
static bool normalize_target(struct tg_conn *c)
{
    char *t = c->target;

    if (t == NULL || c->target_len == 0) {
        return false;
    }
    if (t[0] != '/') {
        size_t skip = 0;
        if (strncasecmp(t, "http://", 7) == 0) {
            skip = 7;
        } else if (strncasecmp(t, "https://", 8) == 0) {
            skip = 8;
        } else {
            return false;
        }
        char *slash = strchr(t + skip, '/');
        if (slash == NULL) {
            return false;
        }
        c->target_len -= (size_t)(slash - t);
        c->target = t = slash;
    }
    for (size_t i = 0; i < c->target_len; i++) {
        unsigned char ch = (unsigned char)t[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '#') {
            return false;
        }
    }
    return true;
}

struct head_scan {
    struct tg_conn *c;
    uint64_t bytes;
};

/* One pass over the request head: its size, and the trace headers. */
static enum MHD_Result scan_head(void *cls, enum MHD_ValueKind kind, const char *key,
                                 size_t key_len, const char *value, size_t value_len)
{
    struct head_scan *s = cls;
    s->bytes += key_len + value_len + 4; /* "name: value\r\n" */
    tg_trace_note_header(&s->c->trace, key, key_len, value, value_len);
    return MHD_YES;
}

/* First handler call: headers are complete, the body (if any) is not. */
static enum MHD_Result request_begin(struct tg_conn *c, const char *method,
                                     const char *version)
{
    const struct tg_config *cfg = tg_worker_config(c->w);
    struct head_scan scan = {.c = c, .bytes = c->target_len + strlen(method) + 12};

    c->method = method;
    c->http10 = strcmp(version, MHD_HTTP_VERSION_1_0) == 0;
    c->head = strcmp(method, "HEAD") == 0;
    c->state = RQ_UPSTREAM;

    if (c->over_limit) {
        local(c, 503, true, "too many connections, try again later");
        return queue_local(c);
    }
    if (c->out_of_memory || (tg_reserve_spent() && !tg_reserve_restore())) {
        local(c, 503, true, "out of memory, try again later");
        return queue_local(c);
    }
    MHD_get_connection_values_n(c->mhd, MHD_HEADER_KIND, scan_head, &scan);
    if (scan.bytes > cfg->max_header_bytes) {
        local(c, 431, true, "request header fields too large");
        return queue_local(c);
    }
    /* Before anything else answers: a head whose framing is in doubt
     * leaves no safe place to read the next request from. */
    const char *why;
    int bad = tg_headers_check_request(c->mhd, method, version, c->http10, &c->has_body,
                                       &c->body_length, &why);
    if (bad != 0) {
        local(c, bad, true, why);
        return queue_local(c);
    }
    if (!normalize_target(c)) {
        local(c, 400, true, "invalid request target");
        return queue_local(c);
    }
    c->path_len = strcspn(c->target, "?");
    c->route = tg_route_match(c->cfg, c->target, c->path_len);
    tg_trace_begin(c, tg_worker_rng(c->w));
    if (c->route == NULL) {
        local(c, 404, false, "no route for this path");
        return MHD_YES;
    }

    if (c->head && c->has_body && c->body_length != 0) {
        /* RFC 9110 9.3.2: content in HEAD has no defined meaning and is a
         * known request-smuggling vector; refuse rather than guess. */
        local(c, 400, true, "a HEAD request must not carry a body");
        return queue_local(c);
    }
    uint64_t max = c->route->max_body_bytes;
    if (max > 0 && c->has_body && c->body_length >= 0 && (uint64_t)c->body_length > max) {
        /* Known too big before reading it: answer and close. */
        local(c, 413, true, "request body larger than this route allows");
        return queue_local(c);
    }

    c->body_last_ns = tg_now_ns();
    int r = tg_upstream_start(c);
    if (r == TG_EPARSE) {
        local(c, 400, true, "request header tracegate refuses to forward");
        return queue_local(c);
    } else if (r == -ENOMEM) {
        /* Closing gives back the connection's memory too. */
        c->out_of_memory = true;
        local(c, 503, true, "out of memory, try again later");
    } else if (r < 0) {
        local(c, 500, false, "cannot start the upstream request");
    }
    return MHD_YES;
}

/* Close the connection in the middle of a request body: libmicrohttpd
 * cannot answer there. An answer tracegate had decided on (local_status)
 * is what the log, the metrics and the span record, not a client abort. */
static enum MHD_Result close_mid_body(struct tg_conn *c)
{
    c->cut_by_us = c->local_status != 0 && c->status == 0;
    return MHD_NO;
}

static enum MHD_Result discard(struct tg_conn *c, size_t *size)
{
    c->discarded_bytes += *size;
    *size = 0;
    return c->discarded_bytes > DISCARD_MAX_BYTES ? close_mid_body(c) : MHD_YES;
}

/*
 * A body trickled in to hold the connection (and its upstream connection)
 * keeps the silence timeout from firing with a byte now and then. Like
 * Kestrel's minimum data rate: past the first TG_BODY_RATE_GRACE_NS of
 * waiting on the client, the body must average client_body_min_rate bytes
 * a second over that waiting time. Time the upstream made the client wait
 * (the buffer was full) does not count.
 */
static bool body_too_slow(struct tg_conn *c, size_t arriving)
{
    int64_t now = tg_now_ns();
    if (!c->body_backpressure) {
        c->body_client_ns += now - c->body_last_ns;
    }
    c->body_last_ns = now;
    uint64_t rate = c->cfg->client_body_min_rate;
    if (rate == 0 || c->body_client_ns <= TG_BODY_RATE_GRACE_NS) {
        return false;
    }
    /* bytes * 1e9 < rate * ns, in doubles: no overflow for any input */
    return (double)(c->body_bytes + arriving) * 1e9 < (double)rate * (double)c->body_client_ns;
}

static enum MHD_Result request_body(struct tg_conn *c, const char *data, size_t *size)
{
    if (c->state != RQ_UPSTREAM || c->upstream_done) {
        return discard(c, size);
    }
    if (body_too_slow(c, *size)) {
        tg_upstream_abort(c);
        local(c, 408, true, "request body arriving too slowly");
        c->error_type = "client_too_slow";
        return close_mid_body(c);
    }
    uint64_t max = c->route->max_body_bytes;
    if (max > 0 && c->body_bytes + *size > max) {
        tg_upstream_abort(c);
        local(c, 413, true, "request body larger than this route allows");
        return discard(c, size);
    }
    struct tg_buf *b = &c->up;
    if (b->data == NULL) {
        if ((b->data = tg_worker_buf_get(c->w)) == NULL) {
            tg_upstream_abort(c);
            local(c, 503, true, "out of memory for the request body");
            return discard(c, size);
        }
        b->cap = TG_BUF_BYTES;
        b->pooled = true;
    }
    if (b->wpos == b->cap) {
        tg_buf_compact(b);
    }
    size_t room = b->cap - b->wpos;
    size_t n = *size < room ? *size : room;
    memcpy(b->data + b->wpos, data, n);
    b->wpos += n;
    c->body_bytes += n;
    *size -= n;
    tg_upstream_unpause(c);
    c->body_backpressure = *size > 0;
    if (*size > 0) {
        /* Buffer full: MHD offers the rest again after resume. */
        tg_worker_suspend(c);
    }
    return MHD_YES;
}

/* Final handler call (body complete); also after every resume. */
static enum MHD_Result request_final(struct tg_conn *c)
{
    if (c->client_gone) {
        return MHD_NO;
    }
    if (!c->upload_done) {
        c->upload_done = true;
        c->upload_done_ns = tg_now_ns();
        tg_upstream_unpause(c);
    }
    switch (c->state) {
    case RQ_LOCAL:
        return queue_local(c);
    case RQ_UPSTREAM:
        /* A stream starts with its headers; a one-piece or empty body
         * once the transfer is complete. */
        if (c->upstream_done || (c->headers_done && !c->collect && !c->no_body)) {
            return queue_upstream(c);
        }
        tg_worker_suspend(c);
        return MHD_YES;
    default:
        return MHD_YES;
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size,
                                  void **con_cls)
{
    struct tg_conn *c = *con_cls;

    if (c == NULL) {
        return MHD_NO;
    }
    if (c->state == RQ_STARTED) {
        tg_worker_head_done(c);
        return request_begin(c, method, version);
    }
    if (*upload_size > 0) {
        if (c->client_gone) {
            return MHD_NO;
        }
        return request_body(c, upload_data, upload_size);
    }
    return request_final(c);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct tg_conn *c = *con_cls;

    if (c == NULL) {
        return;
    }
    request_finish(c, toe != MHD_REQUEST_TERMINATED_COMPLETED_OK);
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK &&
        toe != MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN && c->client_fd >= 0) {
        /* MHD is closing this connection (a response cut after the upstream
         * failed, a timeout, a read error). In turbo mode it skips
         * shutdown(), and it frees the connection only when the socket next
         * shows an event: a client still waiting for the rest of a cut
         * response would wait until its idle timeout. Shutting the socket
         * down tells the client now and wakes MHD to close it. */
        shutdown(c->client_fd, SHUT_RDWR);
    }
}

void tg_server_cut(struct tg_conn *c)
{
    c->client_gone = true;
    tg_upstream_abort(c);
    tg_worker_resume(c);
}

/* ---- connections ------------------------------------------------------------ */

static struct tg_conn *conn_create(struct tg_worker *w, struct MHD_Connection *mc)
{
    struct tg_conn *c = calloc(1, sizeof(*c));
    const union MHD_ConnectionInfo *ci;

    if (c == NULL) {
        return NULL;
    }
    c->w = w;
    c->mhd = mc;
    c->client_fd = -1;
    tg_arena_init(&c->arena, c->arena_first, sizeof(c->arena_first), ARENA_LIMIT_BYTES);
    ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci != NULL) {
        c->client_fd = ci->connect_fd;
    }
    ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    strcpy(c->client_ip, "-");
    if (ci != NULL && ci->client_addr != NULL) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET) {
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                      c->client_ip, sizeof(c->client_ip));
        } else if (sa->sa_family == AF_INET6) {
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                      c->client_ip, sizeof(c->client_ip));
        }
    }
    return c;
}

static void conn_destroy(struct tg_conn *c)
{
    if (c == NULL) {
        return;
    }
    request_finish(c, true);
    tg_worker_head_done(c);
    tg_worker_unwatch_client(c);
    tg_upstream_conn_fini(c);
    tg_arena_fini(&c->arena);
    free(c);
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    tg_metrics_gauge_add(&tg_worker_metrics(cls)->connections,
                         toe == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        struct tg_conn *c = conn_create(cls, mc);
        bool over = tg_worker_conn_count(cls, +1);
        if (c != NULL) {
            c->over_limit = over;
            tg_worker_head_wait(c);
        }
        *socket_context = c;
    } else {
        conn_destroy(*socket_context);
        *socket_context = NULL;
        tg_worker_conn_count(cls, -1);
    }
}

struct MHD_Daemon *tg_server_create(struct tg_worker *w, int listen_fd, unsigned conn_limit)
{
    const struct tg_config *cfg = tg_worker_config(w);
    unsigned timeout_s = (unsigned)((cfg->client_timeout_ms + 999) / 1000);
    /* The pool holds the request head and then the response head; MHD
     * zeroes the whole pool on every keep-alive request, so it is kept to
     * what those two need. The exact request limit is enforced in
     * request_begin, the response limit in headers.c. */
    size_t pool = (size_t)(cfg->max_header_bytes + cfg->max_response_header_bytes) + 1024;

    return MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO, 0, NULL, NULL,
        on_request, w,
        MHD_OPTION_LISTEN_SOCKET, listen_fd,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, w,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, w,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
        MHD_OPTION_CONNECTION_LIMIT, conn_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool,
        MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
        MHD_OPTION_END);
}
