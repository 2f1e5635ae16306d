#include "upstream.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "error.h"
#include "headers.h"
#include "trace.h"
#include "server.h"
#include "worker.h"

static size_t on_header(char *line, size_t size, size_t n, void *ud);
static size_t on_body(char *ptr, size_t size, size_t n, void *ud);
static size_t on_read(char *buf, size_t size, size_t n, void *ud);
static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a);
static int on_prereq(void *ud, char *primary_ip, char *local_ip, int primary_port,
                     int local_port);

/* Options that are the same for every transfer of this worker. */
static CURL *easy_create(struct tg_conn *c)
{
    CURL *e = curl_easy_init();

    if (e == NULL) {
        return NULL;
    }
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* No proxy lookups in the environment for every request. */
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    /* Forward the raw target: no dot-segment squashing. */
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)TG_CURL_CHUNK_BYTES);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    tg_worker_curl_easy_setup(c->w, e);
    return e;
}

/* The URL is the route's upstream base followed by the raw target (minus
 * the prefix when the route strips it). */
static char *build_url(struct tg_conn *c)
{
    const struct tg_route_conf *r = c->route;
    const char *rest = c->target;
    size_t rest_len = c->target_len;
    bool slash = false;

    if (r->strip_prefix && r->prefix_len > 1) {
        rest += r->prefix_len;
        rest_len -= r->prefix_len;
        slash = rest_len == 0 || rest[0] != '/';
    }
    size_t base_len = strlen(r->upstream_base);
    char *url = tg_arena_alloc(&c->arena, base_len + slash + rest_len + 1);
    if (url == NULL) {
        return NULL;
    }
    memcpy(url, r->upstream_base, base_len);
    if (slash) {
        url[base_len] = '/';
    }
    memcpy(url + base_len + slash, rest, rest_len);
    url[base_len + slash + rest_len] = '\0';
    return url;
}

int tg_upstream_start(struct tg_conn *c)
{
    struct curl_slist *headers = NULL;
    int r;

    if (c->easy == NULL) {
        c->easy = tg_worker_easy_get(c->w);
        if (c->easy == NULL && (c->easy = easy_create(c)) == NULL) {
            return -ENOMEM;
        }
        /* A handle serves many connections: point it at this one. */
        curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
        curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c);
        curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(c->easy, CURLOPT_READDATA, c);
        curl_easy_setopt(c->easy, CURLOPT_OPENSOCKETDATA, c);
        curl_easy_setopt(c->easy, CURLOPT_PREREQDATA, c);
        curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->curl_error);
    }
    char *url = build_url(c);
    if (url == NULL) {
        return -ENOMEM;
    }
    r = tg_headers_build_request(c, &headers);
    if (r < 0) {
        return r;
    }
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    /* Set on every request: handles are pooled across routes. */
    curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, c->route->unix_socket);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->route->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 0L); /* set by a retry of the last request */
    /* Reset the method state left by the previous request, then set ours. */
    curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 0L);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    if (c->head) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
    } else {
        if (c->has_body) {
            curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
            /* -1: unknown length, sent chunked (the client sent chunked). */
            curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)c->body_length);
        }
        bool plain_get = !c->has_body && strcmp(c->method, "GET") == 0;
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, plain_get ? NULL : c->method);
    }
    c->content_length = -1;
    c->resp_tail = &c->resp_headers;
    c->resp_header_limit = tg_worker_config(c->w)->max_response_header_bytes;
    c->upstream_start_ns = tg_now_ns();
    c->last_upstream_ns = c->upstream_start_ns;
    c->upstream_fd = -1;
    if ((c->curl_shard = tg_worker_curl_add(c->w, e)) < 0) {
        return -ENOMEM;
    }
    c->in_multi = true;
    tg_trace_client_start(c, url);
    return 0;
}

/* ---- curl callbacks ------------------------------------------------------ */

/* curl's own socket() call, keeping its errno: when it is EMFILE the
 * upstream is not at fault and the client should hear "try later". */
static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct tg_conn *c = ud;
    curl_socket_t fd = socket(a->family, a->socktype, a->protocol);

    if (fd == CURL_SOCKET_BAD) {
        c->socket_errno = errno;
    }
    return fd;
}

/* RFC 9110 9.2.2: methods whose repetition has the same effect. */
static bool idempotent(const char *m)
{
    static const char *const list[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"};

    for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++) {
        if (strcmp(m, list[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* The connection is chosen (new or from the pool) and the request is about
 * to go out: note which one, by its local port, so the worker can tell its
 * socket from an idle pooled one (tg_worker_socket_in_use). A second call
 * for one request is a resend, by tracegate (retry_on_fresh_connection) or
 * by libcurl itself (a reused connection that closed before any response
 * byte). libcurl 7.88 would resend a bodiless POST too; like nginx,
 * tracegate never sends a non-idempotent request twice (the upstream may
 * have acted on it), so that one fails as the close it was. Otherwise the
 * new try gets its own CLIENT span. */
static int on_prereq(void *ud, char *primary_ip, char *local_ip, int primary_port,
                     int local_port)
{
    struct tg_conn *c = ud;

    c->upstream_local_port = local_port;
    if (++c->upstream_tries > 1) {
        if (!idempotent(c->method)) {
            c->resend_refused = true;
            return CURL_PREREQFUNC_ABORT;
        }
        const char *why = c->resend_reason != NULL ? c->resend_reason : "connection_closed";
        tg_trace_client_resend(c, why, tg_worker_rng(c->w));
        c->resend_reason = NULL;
    }
    return CURL_PREREQFUNC_OK;
}

static void fail_invalid(struct tg_conn *c, int err)
{
    if (err == -ENOMEM) {
        c->out_of_memory = true;
        c->upstream_error = "out of memory for the response headers";
        return;
    }
    c->upstream_error = err == TG_ETOOBIG ? "upstream response headers are too large"
                                          : "upstream sent an invalid response header";
}

static size_t on_header(char *line, size_t size, size_t n, void *ud)
{
    struct tg_conn *c = ud;
    size_t len = size * n;
    int r = tg_headers_take_response_line(c, line, len);

    if (r < 0) {
        fail_invalid(c, r);
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (r == 1) {
        c->headers_done = true;
        c->last_upstream_ns = tg_now_ns();
        int s = c->upstream_status;
        c->no_body = c->head || s == 204 || s == 304 || c->content_length == 0;
        c->collect = !c->no_body && c->content_length > 0 &&
                     c->content_length <= TG_BUF_BYTES;
        if (c->collect) {
            tg_worker_confirm_collect(c);
        } else if (!c->no_body) {
            /* Streaming: the client gets headers now, body as it comes. */
            tg_worker_resume(c);
        }
    }
    return len;
}

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
    struct tg_conn *c = ud;
    size_t len = size * n;
    struct tg_buf *b = &c->down;

    if (c->state != RQ_UPSTREAM && c->state != RQ_RESPONDED) {
        return 0; /* nobody wants this body any more */
    }
    if (b->data == NULL) {
        /* A body that fits in one write gets exactly its size from the
         * arena; a stream gets a pooled buffer. */
        if (c->collect) {
            b->data = tg_arena_alloc(&c->arena, (size_t)c->content_length);
            b->cap = (size_t)c->content_length;
        }
        if (b->data == NULL && (b->data = tg_worker_buf_get(c->w)) != NULL) {
            /* Only a real buffer is marked pooled: a NULL given back to the
             * pool would fail every later request that drew it. */
            b->cap = TG_BUF_BYTES;
            b->pooled = true;
        }
        if (b->data == NULL) {
            c->out_of_memory = true;
            c->upstream_error = "out of memory for the response body";
            return 0;
        }
    }
    if (tg_buf_room(b) < len) {
        /* curl hands the same chunk again after unpause (<= BUFFERSIZE). */
        c->recv_paused = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (b->cap - b->wpos < len) {
        tg_buf_compact(b);
    }
    memcpy(b->data + b->wpos, ptr, len);
    b->wpos += len;
    c->last_upstream_ns = tg_now_ns();
    if (!c->collect) {
        tg_worker_resume(c);
    }
    return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    struct tg_conn *c = ud;
    struct tg_buf *b = &c->up;
    size_t avail = b->wpos - b->rpos;
    size_t max = size * n;

    if (avail == 0) {
        if (c->upload_done) {
            return 0; /* end of the request body */
        }
        c->send_paused = true;
        return CURL_READFUNC_PAUSE;
    }
    size_t take = avail < max ? avail : max;
    memcpy(buf, b->data + b->rpos, take);
    b->rpos += take;
    c->last_upstream_ns = tg_now_ns(); /* upload progress counts as activity */
    if (b->rpos == b->wpos) {
        b->rpos = b->wpos = 0;
    }
    /* The handler suspended with body bytes it could not store. */
    if (!c->upload_done && tg_buf_room(b) >= b->cap / 2) {
        tg_worker_resume(c);
    }
    return take;
}

/* ---- completion, abort, pause -------------------------------------------- */

/* The semantic-convention error.type of a failed transfer. */
static const char *error_type(const struct tg_conn *c, CURLcode rc)
{
    if (c->out_of_memory || rc == CURLE_OUT_OF_MEMORY) {
        return "out_of_memory";
    }
    if (c->socket_errno == EMFILE || c->socket_errno == ENFILE) {
        return "too_many_open_files";
    }
    if (c->upstream_error != NULL) {
        return "invalid_response";
    }
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        return "connection_refused";
    case CURLE_COULDNT_RESOLVE_HOST:
        return "name_resolution_failed";
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_GOT_NOTHING:
        return "connection_closed";
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        return "connection_reset";
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return "invalid_response";
    case CURLE_PARTIAL_FILE:
        return "response_incomplete";
    default:
        return "upstream_error";
    }
}

static void describe_failure(struct tg_conn *c, CURLcode rc)
{
    const struct tg_route_conf *r = c->route;

    c->error_type = error_type(c, rc);
    if (c->out_of_memory || rc == CURLE_OUT_OF_MEMORY) {
        /* tracegate's trouble, not the upstream's: try again later. */
        c->local_close = true;
        tg_server_fail(c, 503, "%s", c->upstream_error != NULL ? c->upstream_error
                                                               : "out of memory, try again later");
        return;
    }
    if (c->upstream_error != NULL) {
        tg_server_fail(c, 502, "%s", c->upstream_error);
        return;
    }
    if (c->socket_errno == EMFILE || c->socket_errno == ENFILE) {
        /* Out of file descriptors: closing this connection gives one back. */
        c->local_close = true;
        tg_server_fail(c, 503, "too many open connections, try again later");
        return;
    }
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        tg_server_fail(c, 502, "cannot connect to upstream %s (%s)", r->upstream_authority,
                       c->curl_error[0] != '\0' ? c->curl_error : curl_easy_strerror(rc));
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        tg_server_fail(c, 502, "cannot resolve upstream host %s", r->upstream_authority);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        tg_server_fail(c, 504, "connecting to upstream %s timed out after %lld ms",
                       r->upstream_authority, (long long)r->connect_timeout_ms);
        break;
    case CURLE_GOT_NOTHING:
        tg_server_fail(c, 502, "upstream %s closed the connection without a response",
                       r->upstream_authority);
        break;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        tg_server_fail(c, 502, "upstream %s reset the connection", r->upstream_authority);
        break;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
        tg_server_fail(c, 502, "upstream %s sent an invalid HTTP response",
                       r->upstream_authority);
        break;
    case CURLE_PARTIAL_FILE:
        tg_server_fail(c, 502, "upstream %s closed the connection before the end of the body",
                       r->upstream_authority);
        break;
    default:
        tg_server_fail(c, 502, "upstream %s request failed: %s", r->upstream_authority,
                       c->curl_error[0] != '\0' ? c->curl_error : curl_easy_strerror(rc));
        break;
    }
}

static void remove_transfer(struct tg_conn *c)
{
    if (c->in_multi) {
        tg_worker_curl_remove(c->w, c->curl_shard, c->easy, c->upstream_fd);
        c->in_multi = false;
    }
    c->recv_paused = false;
    c->send_paused = false;
    c->upstream_end_ns = tg_now_ns();
}

/* The transfer is over: its handle goes back to the worker. */
static void release_easy(struct tg_conn *c)
{
    if (c->easy != NULL) {
        tg_worker_easy_put(c->w, c->easy);
        c->easy = NULL;
    }
}

/*
 * A pooled connection that fails before any byte of a response arrives was
 * most likely closed by the upstream (an idle timeout) just as the request
 * went out: such a request is sent once more on a new connection, if its
 * method is idempotent and it has no body to replay (RFC 9112 9.3.1, RFC
 * 9110 9.2.2; like nginx, never a POST). libcurl 7.88 retries only some
 * of these itself.
 */
static bool retry_on_fresh_connection(struct tg_conn *c, CURLcode rc)
{
    long connects = -1;

    if (rc != CURLE_RECV_ERROR && rc != CURLE_SEND_ERROR && rc != CURLE_GOT_NOTHING) {
        return false;
    }
    if (c->retried || c->has_body || c->state != RQ_UPSTREAM || c->client_gone ||
        c->upstream_status != 0 || c->upstream_error != NULL || !idempotent(c->method)) {
        return false;
    }
    if (curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS, &connects) != CURLE_OK ||
        connects != 0) {
        return false; /* it was a new connection: the failure is the upstream's */
    }
    c->retried = true;
    c->resend_reason = error_type(c, rc);
    c->content_length = -1;
    c->resp_headers = NULL;
    c->resp_tail = &c->resp_headers;
    c->resp_header_bytes = 0;
    c->last_upstream_ns = tg_now_ns();
    curl_easy_setopt(c->easy, CURLOPT_FRESH_CONNECT, 1L);
    c->upstream_fd = -1;
    if ((c->curl_shard = tg_worker_curl_add(c->w, c->easy)) < 0) {
        return false;
    }
    c->in_multi = true;
    return true;
}

void tg_upstream_done(struct tg_conn *c, CURLcode rc)
{
    remove_transfer(c);
    if ((rc == CURLE_ABORTED_BY_CALLBACK && c->resend_refused) ||
        rc == CURLE_SEND_FAIL_REWIND) {
        /* libcurl wanted to send the request again (refused above, or a
         * streamed body it cannot rewind): what made it want to was a
         * close before any response byte. */
        rc = CURLE_GOT_NOTHING;
    }
    if (retry_on_fresh_connection(c, rc)) {
        return;
    }
    c->upstream_done = true;
    if (rc == CURLE_OK && !c->headers_done) {
        /* libcurl 7.88 ends a transfer cut by a close inside the response
         * head (status line read, no blank line yet) as if it were a
         * complete response with no body. */
        c->upstream_error = "upstream closed the connection inside the response head";
        rc = CURLE_GOT_NOTHING;
    }
    if (rc != CURLE_OK) {
        c->upstream_failed = true;
        if (c->state == RQ_UPSTREAM) {
            describe_failure(c, rc);
        } else {
            c->error_type = error_type(c, rc);  /* failed mid-response */
        }
    }
    tg_trace_client_end(c, c->error_type);
    release_easy(c);
    tg_worker_resume(c);
}

void tg_upstream_abort(struct tg_conn *c)
{
    if (c->in_multi) {
        remove_transfer(c);
        c->upstream_failed = true;
        c->upstream_done = true;
        if (c->error_type == NULL) {
            c->error_type = "request_aborted";
        }
        tg_trace_client_end(c, c->error_type);
        release_easy(c);
    }
}

void tg_upstream_unpause(struct tg_conn *c)
{
    if (!c->in_multi || (!c->recv_paused && !c->send_paused)) {
        return;
    }
    bool send = c->send_paused && (c->upload_done || c->up.wpos > c->up.rpos);
    /* A held chunk is at most BUFFERSIZE, and never more than what is left
     * of a body whose buffer was sized to it. */
    size_t need = c->down.cap < TG_CURL_CHUNK_BYTES ? c->down.cap : TG_CURL_CHUNK_BYTES;
    bool recv = c->recv_paused && tg_buf_room(&c->down) >= need;
    if (!send && !recv) {
        return;
    }
    if (send) {
        c->send_paused = false;
    }
    if (recv) {
        c->recv_paused = false;
    }
    int mask = (c->recv_paused ? CURLPAUSE_RECV : 0) | (c->send_paused ? CURLPAUSE_SEND : 0);
    curl_easy_pause(c->easy, mask);
}

/* Stop the transfer for a timeout: answer 504 if nothing was sent yet,
 * otherwise cut the response. */
static void expire(struct tg_conn *c, const char *what, int64_t limit_ms)
{
    c->error_type = "timeout";
    tg_upstream_abort(c);
    tg_server_fail(c, 504, "upstream %s %s %lld ms", c->route->upstream_authority, what,
                   (long long)limit_ms);
    tg_worker_resume(c);
}

void tg_upstream_check_timeouts(struct tg_conn *c, int64_t now)
{
    if (!c->in_multi) {
        return; /* also: no route yet while the request head is arriving */
    }
    const struct tg_route_conf *r = c->route;
    int64_t idle_ns = r->idle_timeout_ms * 1000000;

    if (!c->headers_done && c->has_body && !c->upload_done) {
        /* Still uploading: the header wait has not begun, but an upstream
         * that stops reading the body is caught as idle. */
        if (c->suspended && now - c->last_upstream_ns > idle_ns) {
            c->local_close = true; /* the rest of the body is not wanted */
            expire(c, "stopped reading the request body for", r->idle_timeout_ms);
        }
    } else if (!c->headers_done) {
        int64_t since = c->upload_done_ns > c->upstream_start_ns ? c->upload_done_ns
                                                                  : c->upstream_start_ns;
        if (now - since > r->header_timeout_ms * 1000000) {
            expire(c, "sent no response headers within", r->header_timeout_ms);
        }
    } else if (!c->recv_paused && now - c->last_upstream_ns > idle_ns) {
        /* recv_paused: the client is the slow side, not the upstream. */
        expire(c, "sent nothing for", r->idle_timeout_ms);
    }
}

void tg_upstream_conn_fini(struct tg_conn *c)
{
    tg_upstream_abort(c);
    release_easy(c);
}
