/*
 * loadgen: an open-loop HTTP/1.1 load generator for tracegate's reliability
 * scripts and tests (test/bench/outage.py, test/soak/soak.py,
 * test/integration/test_load_*.py).
 *
 * Request i is due at start + i / rate, whatever happened to request i-1:
 * a slow server makes requests wait in loadgen's backlog, and that wait is
 * part of their latency (measured from the due time, so a stall is not
 * hidden by the client slowing down with it). Requests go over a pool of
 * up to --conns keep-alive connections, one request per connection at a
 * time; a connection the server closes is reopened for the next request.
 *
 *   loadgen --port P [--host 127.0.0.1] [--source IP] --rate R
 *           [--duration S] [--conns N] [--timeout-ms T]
 *           [--req 'WEIGHT METHOD PATH [BODY_BYTES]'] ...
 *           [--header 'Name: value'] ...   ("{seq}" becomes the request number)
 *           [--out FILE]
 *
 * --duration 0 runs until SIGTERM or SIGINT. Either way loadgen stops
 * scheduling, waits for the requests in flight (up to --timeout-ms), writes
 * one record per request to --out and a JSON summary line on stdout. While
 * it runs it prints one JSON progress line per second. The first stdout line
 * is {"start_ns": N} on CLOCK_MONOTONIC, the clock Python's time.monotonic()
 * reads, so a driver can relate its own events to the records.
 *
 * A record (little endian, 28 bytes; see loadgen.py):
 *   u64 due_ns       when the request was due (CLOCK_MONOTONIC)
 *   u32 latency_us   due time to the end of the response (or of the failure)
 *   u32 wait_us      due time to the first byte written
 *   u32 body_bytes   response body bytes received
 *   u16 status       HTTP status, 0 if none was received
 *   u8  err          enum err below
 *   u8  flags        F_REUSED: sent on a connection that had served before
 *   u8  req          index of the --req entry
 *   u8  pad[3]
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum err {
    E_OK = 0,
    E_CONNECT = 1,    /* could not connect (refused, no route, fd limit) */
    E_NO_ANSWER = 2,  /* closed or reset before any byte of the response */
    E_CUT = 3,        /* closed or reset after part of the response */
    E_TIMEOUT = 4,    /* no complete response within --timeout-ms */
    E_BAD = 5,        /* the response is not HTTP/1.1 as loadgen reads it */
    E_NOT_SENT = 6,   /* still waiting for a connection when loadgen stopped */
    E_COUNT
};
static const char *err_names[E_COUNT] = {"ok", "connect", "no_answer", "cut",
                                         "timeout", "bad_response", "not_sent"};

#define F_REUSED 1
#define MAX_REQ 16
#define MAX_HEADERS 16
#define RBUF 65536

struct req_kind {
    unsigned weight;
    char method[16];
    char path[1024];
    size_t body_bytes;
};

struct record {
    uint64_t due_ns;
    uint32_t latency_us;
    uint32_t wait_us;
    uint32_t body_bytes;
    uint16_t status;
    uint8_t err;
    uint8_t flags;
    uint8_t req;
    uint8_t pad[3];
} __attribute__((packed));

enum cstate { C_CLOSED, C_CONNECTING, C_IDLE, C_SENDING, C_READING };

struct conn {
    int fd;
    enum cstate state;
    bool served;             /* has completed a response before */
    uint64_t seq;            /* request on it */
    uint64_t due_ns;
    uint64_t sent_ns;
    char *out;               /* request bytes */
    size_t out_len, out_pos;
    /* response parsing */
    char head[16384];
    size_t head_len;
    bool head_done;
    int status;
    bool chunked;
    bool close_after;
    bool no_body;
    int64_t content_left;    /* -1: until close (or chunked) */
    /* chunked decoding */
    int chunk_state;         /* 0 size line, 1 data, 2 CRLF after data, 3 trailers */
    uint64_t chunk_left;
    char line[64];
    size_t line_len;
    uint64_t body_bytes;
    bool any_byte;
};

static struct {
    const char *host;
    const char *source;
    int port;
    double rate;
    double duration;
    int max_conns;
    int timeout_ms;
    const char *out_path;
    struct req_kind reqs[MAX_REQ];
    int nreq;
    const char *headers[MAX_HEADERS];
    int nheaders;
} opt = {.host = "127.0.0.1", .rate = 100, .duration = 10, .max_conns = 64,
         .timeout_ms = 10000};

static struct conn *conns;
static int epfd;
static struct record *recs;
static size_t nrecs, caprecs;
static uint64_t start_ns;
static uint64_t next_seq;       /* next request to send */
static uint64_t inflight;
static uint64_t counts[E_COUNT];
static uint8_t *mix;            /* request kind per slot of a shuffled cycle */
static size_t mix_len;
static char *body_buf;
static size_t body_cap;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t due_of(uint64_t seq)
{
    return start_ns + (uint64_t)((double)seq * 1e9 / opt.rate);
}

static void die(const char *what)
{
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void usage(void)
{
    fprintf(stderr, "usage: loadgen --port P --rate R [--duration S] [--conns N] "
                    "[--timeout-ms T] [--host H] [--source IP] [--req 'W METHOD PATH [BODY]']... "
                    "[--header 'Name: value']... [--out FILE]\n");
    exit(2);
}

/* ---- records ------------------------------------------------------------ */

static uint32_t us_since(uint64_t from, uint64_t to)
{
    uint64_t d = to > from ? (to - from) / 1000 : 0;
    return d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

static void record(struct conn *c, enum err e, uint64_t end)
{
    if (nrecs == caprecs) {
        caprecs = caprecs ? caprecs * 2 : 65536;
        recs = realloc(recs, caprecs * sizeof(*recs));
        if (recs == NULL) {
            die("realloc");
        }
    }
    struct record *r = &recs[nrecs++];
    memset(r, 0, sizeof(*r));
    r->due_ns = c->due_ns;
    r->latency_us = us_since(c->due_ns, end);
    r->wait_us = c->sent_ns ? us_since(c->due_ns, c->sent_ns) : r->latency_us;
    r->body_bytes = c->body_bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)c->body_bytes;
    r->status = (uint16_t)c->status;
    r->err = (uint8_t)e;
    r->flags = c->served ? F_REUSED : 0;
    r->req = mix[c->seq % mix_len];
    counts[e]++;
}

/* ---- connections -------------------------------------------------------- */

static void conn_close(struct conn *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->fd = -1;
    c->state = C_CLOSED;
    c->served = false;
}

/* The request is over (answered or failed); the connection stays if it can. */
static void finish(struct conn *c, enum err e)
{
    record(c, e, now_ns());
    inflight--;
    free(c->out);
    c->out = NULL;
    if (e != E_OK || c->close_after) {
        conn_close(c);
    } else {
        c->served = true;
        c->state = C_IDLE;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    }
}

static int conn_open(struct conn *c)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (opt.source != NULL) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        inet_pton(AF_INET, opt.source, &src.sin_addr);
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
            int r = -errno;
            close(fd);
            return r;
        }
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
    inet_pton(AF_INET, opt.host, &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
        int r = -errno;
        close(fd);
        return r;
    }
    c->fd = fd;
    c->state = C_CONNECTING;
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

static char *build_request(uint64_t seq, size_t *len)
{
    const struct req_kind *k = &opt.reqs[mix[seq % mix_len]];
    size_t cap = 2048 + strlen(k->path);
    for (int i = 0; i < opt.nheaders; i++) {
        cap += strlen(opt.headers[i]) + 32;
    }
    char *b = malloc(cap + k->body_bytes);
    if (b == NULL) {
        die("malloc");
    }
    size_t n = (size_t)snprintf(b, cap, "%s %s HTTP/1.1\r\nHost: %s:%d\r\n", k->method, k->path,
                                opt.host, opt.port);
    for (int i = 0; i < opt.nheaders; i++) {
        const char *h = opt.headers[i];
        const char *s = strstr(h, "{seq}");
        if (s != NULL) {
            n += (size_t)snprintf(b + n, cap - n, "%.*s%llu%s\r\n", (int)(s - h), h,
                                  (unsigned long long)seq, s + 5);
        } else {
            n += (size_t)snprintf(b + n, cap - n, "%s\r\n", h);
        }
    }
    if (k->body_bytes > 0 || strcmp(k->method, "POST") == 0 || strcmp(k->method, "PUT") == 0) {
        n += (size_t)snprintf(b + n, cap - n, "Content-Length: %zu\r\n", k->body_bytes);
    }
    n += (size_t)snprintf(b + n, cap - n, "\r\n");
    memcpy(b + n, body_buf, k->body_bytes);
    *len = n + k->body_bytes;
    return b;
}

static void try_send(struct conn *c);

/* Put the next due request on connection c. */
static void assign(struct conn *c, uint64_t seq)
{
    c->seq = seq;
    c->due_ns = due_of(seq);
    c->sent_ns = 0;
    c->out = build_request(seq, &c->out_len);
    c->out_pos = 0;
    c->head_len = 0;
    c->head_done = false;
    c->status = 0;
    c->chunked = false;
    c->close_after = false;
    c->no_body = strcmp(opt.reqs[mix[seq % mix_len]].method, "HEAD") == 0;
    c->content_left = -1;
    c->chunk_state = 0;
    c->chunk_left = 0;
    c->line_len = 0;
    c->body_bytes = 0;
    c->any_byte = false;
    inflight++;
    if (c->state == C_IDLE) {
        c->state = C_SENDING;
        try_send(c);
    }
    /* C_CONNECTING: sent when the connect completes */
}

static void try_send(struct conn *c)
{
    while (c->out_pos < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_pos, c->out_len - c->out_pos, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN) {
                struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP,
                                         .data.ptr = c};
                epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
                return;
            }
            finish(c, c->any_byte ? E_CUT : E_NO_ANSWER);
            return;
        }
        if (c->sent_ns == 0) {
            c->sent_ns = now_ns();
        }
        c->out_pos += (size_t)n;
    }
    c->state = C_READING;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* ---- response parsing ----------------------------------------------------- */

static bool header_is(const char *line, size_t len, const char *name, const char **value)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':') {
        return false;
    }
    const char *v = line + n + 1;
    while (*v == ' ' || *v == '\t') {
        v++;
    }
    *value = v;
    return true;
}

/* Parse the head in c->head[0..head_len); returns false if it is not HTTP. */
static bool parse_head(struct conn *c)
{
    char *p = c->head;
    char *end = c->head + c->head_len;
    if (strncmp(p, "HTTP/1.", 7) != 0 || c->head_len < 12) {
        return false;
    }
    bool http10 = p[7] == '0';
    c->status = atoi(p + 9);
    if (c->status < 100 || c->status > 999) {
        return false;
    }
    bool keep_alive_10 = false;
    char *line = memchr(p, '\n', (size_t)(end - p));
    while (line != NULL && line + 1 < end) {
        line++;
        char *eol = memchr(line, '\n', (size_t)(end - line));
        if (eol == NULL) {
            break;
        }
        size_t len = (size_t)(eol - line);
        if (len > 0 && line[len - 1] == '\r') {
            len--;
        }
        if (len == 0) {
            break;
        }
        char save = line[len];
        line[len] = '\0';
        const char *v;
        if (header_is(line, len, "Content-Length", &v)) {
            c->content_left = strtoll(v, NULL, 10);
        } else if (header_is(line, len, "Transfer-Encoding", &v)) {
            c->chunked = strcasestr(v, "chunked") != NULL;
        } else if (header_is(line, len, "Connection", &v)) {
            if (strcasestr(v, "close") != NULL) {
                c->close_after = true;
            }
            if (strcasestr(v, "keep-alive") != NULL) {
                keep_alive_10 = true;
            }
        }
        line[len] = save;
        line = eol;
    }
    if (http10 && !keep_alive_10) {
        c->close_after = true;
    }
    if (c->status == 204 || c->status == 304 || c->status < 200) {
        c->no_body = true;
    }
    if (c->chunked) {
        c->content_left = -1;
    }
    if (!c->no_body && !c->chunked && c->content_left < 0) {
        c->close_after = true; /* delimited by close */
    }
    return true;
}

/* Feed body bytes; returns true when the body is complete. */
static bool feed_body(struct conn *c, const char *p, size_t n, bool *bad)
{
    if (c->no_body) {
        return true;
    }
    if (!c->chunked) {
        c->body_bytes += n;
        if (c->content_left >= 0) {
            c->content_left -= (int64_t)n;
            return c->content_left <= 0;
        }
        return false;
    }
    for (size_t i = 0; i < n;) {
        if (c->chunk_state == 1) {
            size_t take = n - i < c->chunk_left ? n - i : (size_t)c->chunk_left;
            c->body_bytes += take;
            c->chunk_left -= take;
            i += take;
            if (c->chunk_left == 0) {
                c->chunk_state = 2;
            }
            continue;
        }
        char ch = p[i++];
        if (c->line_len + 1 >= sizeof(c->line)) {
            *bad = true;
            return false;
        }
        c->line[c->line_len++] = ch;
        if (ch != '\n') {
            continue;
        }
        c->line[c->line_len] = '\0';
        size_t l = c->line_len;
        c->line_len = 0;
        if (c->chunk_state == 0) {
            char *e;
            c->chunk_left = strtoull(c->line, &e, 16);
            if (e == c->line) {
                *bad = true;
                return false;
            }
            c->chunk_state = c->chunk_left == 0 ? 3 : 1;
        } else if (c->chunk_state == 2) {
            c->chunk_state = 0;
        } else if (c->chunk_state == 3 && l <= 2) {
            return true; /* the empty line after the last chunk */
        }
    }
    return false;
}

static void on_readable(struct conn *c)
{
    char buf[RBUF];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n < 0) {
            if (errno == EAGAIN) {
                return;
            }
            finish(c, c->any_byte ? E_CUT : E_NO_ANSWER);
            return;
        }
        if (n == 0) {
            if (c->head_done && !c->chunked && c->content_left < 0 && !c->no_body) {
                finish(c, E_OK); /* close-delimited body ends here */
            } else {
                finish(c, c->any_byte ? E_CUT : E_NO_ANSWER);
            }
            return;
        }
        c->any_byte = true;
        size_t off = 0;
        if (!c->head_done) {
            size_t take = (size_t)n;
            if (c->head_len + take > sizeof(c->head) - 1) {
                take = sizeof(c->head) - 1 - c->head_len;
            }
            memcpy(c->head + c->head_len, buf, take);
            size_t old = c->head_len;
            c->head_len += take;
            c->head[c->head_len] = '\0';
            char *end = strstr(c->head, "\r\n\r\n");
            if (end == NULL) {
                if (c->head_len == sizeof(c->head) - 1) {
                    finish(c, E_BAD);
                }
                continue;
            }
            size_t head_total = (size_t)(end - c->head) + 4;
            c->head_len = head_total;
            if (!parse_head(c)) {
                finish(c, E_BAD);
                return;
            }
            c->head_done = true;
            off = head_total - old;
            if (c->status == 100) {
                /* an interim answer: the real one follows */
                memmove(c->head, c->head + head_total, (size_t)n - off);
                c->head_len = (size_t)n - off;
                c->head_done = false;
                c->status = 0;
                continue;
            }
        }
        bool bad = false;
        if (feed_body(c, buf + off, (size_t)n - off, &bad)) {
            finish(c, E_OK);
            return;
        }
        if (bad) {
            finish(c, E_BAD);
            return;
        }
    }
}

static void on_event(struct conn *c, uint32_t ev)
{
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t l = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err != 0 || (ev & (EPOLLERR | EPOLLHUP))) {
            conn_close(c);
            if (c->out != NULL) {
                record(c, E_CONNECT, now_ns());
                inflight--;
                free(c->out);
                c->out = NULL;
            }
            return;
        }
        if (c->out == NULL) {
            c->state = C_IDLE;
            return;
        }
        c->state = C_SENDING;
        try_send(c);
        return;
    }
    if (c->state == C_IDLE) {
        /* The server closed an idle keep-alive connection (or sent
         * something unasked): drop it; the next request opens another. */
        conn_close(c);
        return;
    }
    if (c->state == C_SENDING && (ev & EPOLLOUT)) {
        try_send(c);
        if (c->state != C_READING) {
            return;
        }
    }
    if (c->state == C_READING && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        on_readable(c);
    } else if (c->state == C_SENDING && (ev & (EPOLLHUP | EPOLLERR))) {
        finish(c, c->any_byte ? E_CUT : E_NO_ANSWER);
    }
}

/* ---- the schedule --------------------------------------------------------- */

/* Hand due requests to idle connections, opening new ones up to the cap.
 * Returns false when due requests are left waiting for a connection. */
static bool dispatch(uint64_t now, uint64_t last_seq)
{
    while (next_seq < last_seq && due_of(next_seq) <= now) {
        struct conn *c = NULL;
        for (int i = 0; i < opt.max_conns; i++) {
            if (conns[i].state == C_IDLE && conns[i].out == NULL) {
                c = &conns[i];
                break;
            }
        }
        if (c == NULL) {
            for (int i = 0; i < opt.max_conns; i++) {
                if (conns[i].state == C_CLOSED) {
                    int r = conn_open(&conns[i]);
                    if (r < 0) {
                        /* Could not even make a socket: this request fails. */
                        struct conn tmp = {.fd = -1, .seq = next_seq, .due_ns = due_of(next_seq)};
                        record(&tmp, E_CONNECT, now);
                        next_seq++;
                        goto next;
                    }
                    c = &conns[i];
                    break;
                }
            }
        }
        if (c == NULL) {
            return false; /* every connection busy: the request waits (its latency grows) */
        }
        assign(c, next_seq++);
    next:;
    }
    return true;
}

static void check_timeouts(uint64_t now)
{
    uint64_t limit = (uint64_t)opt.timeout_ms * 1000000ull;
    for (int i = 0; i < opt.max_conns; i++) {
        struct conn *c = &conns[i];
        uint64_t since = c->sent_ns ? c->sent_ns : c->due_ns;
        if (c->out != NULL && now > since && now - since > limit) {
            record(c, E_TIMEOUT, now);
            inflight--;
            free(c->out);
            c->out = NULL;
            conn_close(c);
        }
    }
}

static double pct(uint32_t *v, size_t n, double p)
{
    if (n == 0) {
        return 0;
    }
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i] / 1000.0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void summary(uint64_t end_ns)
{
    uint32_t *lat = malloc((nrecs + 1) * sizeof(*lat));
    size_t n = 0;
    for (size_t i = 0; i < nrecs; i++) {
        if (recs[i].err == E_OK) {
            lat[n++] = recs[i].latency_us;
        }
    }
    qsort(lat, n, sizeof(*lat), cmp_u32);
    double secs = (double)(end_ns - start_ns) / 1e9;
    printf("{\"summary\":{\"requests\":%zu,\"seconds\":%.3f,\"achieved_rps\":%.1f,"
           "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f",
           nrecs, secs, (double)counts[E_OK] / secs, pct(lat, n, 0.5), pct(lat, n, 0.9),
           pct(lat, n, 0.99), n ? lat[n - 1] / 1000.0 : 0.0);
    for (int e = 0; e < E_COUNT; e++) {
        printf(",\"%s\":%llu", err_names[e], (unsigned long long)counts[e]);
    }
    printf("}}\n");
    fflush(stdout);
    free(lat);
}

static void parse_req(const char *s)
{
    if (opt.nreq == MAX_REQ) {
        usage();
    }
    struct req_kind *k = &opt.reqs[opt.nreq];
    unsigned long long body = 0;
    int n = sscanf(s, "%u %15s %1023s %llu", &k->weight, k->method, k->path, &body);
    if (n < 3 || k->weight == 0) {
        usage();
    }
    k->body_bytes = (size_t)body;
    if (k->body_bytes > body_cap) {
        body_cap = k->body_bytes;
    }
    opt.nreq++;
}

/* A fixed interleaving of the kinds by weight (reproducible runs). */
static void build_mix(void)
{
    for (int i = 0; i < opt.nreq; i++) {
        mix_len += opt.reqs[i].weight;
    }
    mix = malloc(mix_len);
    size_t j = 0;
    for (int i = 0; i < opt.nreq; i++) {
        for (unsigned w = 0; w < opt.reqs[i].weight; w++) {
            mix[j++] = (uint8_t)i;
        }
    }
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = mix_len; i > 1; i--) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t r = (size_t)(x % i);
        uint8_t t = mix[i - 1];
        mix[i - 1] = mix[r];
        mix[r] = t;
    }
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            usage();
        }
        if (strcmp(a, "--port") == 0) {
            opt.port = atoi(v);
        } else if (strcmp(a, "--host") == 0) {
            opt.host = v;
        } else if (strcmp(a, "--source") == 0) {
            opt.source = v;
        } else if (strcmp(a, "--rate") == 0) {
            opt.rate = atof(v);
        } else if (strcmp(a, "--duration") == 0) {
            opt.duration = atof(v);
        } else if (strcmp(a, "--conns") == 0) {
            opt.max_conns = atoi(v);
        } else if (strcmp(a, "--timeout-ms") == 0) {
            opt.timeout_ms = atoi(v);
        } else if (strcmp(a, "--req") == 0) {
            parse_req(v);
        } else if (strcmp(a, "--header") == 0) {
            if (opt.nheaders == MAX_HEADERS) {
                usage();
            }
            opt.headers[opt.nheaders++] = v;
        } else if (strcmp(a, "--out") == 0) {
            opt.out_path = v;
        } else {
            usage();
        }
        i++;
    }
    if (opt.port <= 0 || opt.rate <= 0 || opt.max_conns <= 0) {
        usage();
    }
    if (opt.nreq == 0) {
        parse_req("1 GET /");
    }
    build_mix();
    body_buf = malloc(body_cap + 1);
    memset(body_buf, 'x', body_cap);
    conns = calloc((size_t)opt.max_conns, sizeof(*conns));
    for (int i = 0; i < opt.max_conns; i++) {
        conns[i].fd = -1;
    }

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    int sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (sfd < 0 || epfd < 0) {
        die("signalfd/epoll");
    }
    struct epoll_event sev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &sev);

    start_ns = now_ns();
    printf("{\"start_ns\":%llu}\n", (unsigned long long)start_ns);
    fflush(stdout);
    uint64_t stop_at = opt.duration > 0 ? start_ns + (uint64_t)(opt.duration * 1e9) : 0;
    uint64_t next_progress = start_ns + 1000000000ull;
    uint64_t drain_until = 0;
    bool scheduling = true;
    uint64_t last_seq = UINT64_MAX; /* requests due before the stop */
    struct epoll_event evs[256];

    for (;;) {
        uint64_t now = now_ns();
        if (scheduling && stop_at != 0 && now >= stop_at) {
            scheduling = false;
        }
        if (!scheduling && drain_until == 0) {
            /* Requests already due still go out; no new ones become due. */
            drain_until = now + (uint64_t)opt.timeout_ms * 1000000ull;
            last_seq = next_seq;
            while (due_of(last_seq) <= now) {
                last_seq++;
            }
        }
        bool starved = !dispatch(now, last_seq);
        if (!scheduling && ((inflight == 0 && next_seq == last_seq) || now >= drain_until)) {
            break;
        }
        if (now >= next_progress) {
            printf("{\"t_ns\":%llu,\"due\":%llu,\"done\":%zu,\"ok\":%llu,\"failed\":%llu,"
                   "\"inflight\":%llu}\n",
                   (unsigned long long)now, (unsigned long long)next_seq, nrecs,
                   (unsigned long long)counts[E_OK],
                   (unsigned long long)(nrecs - counts[E_OK]), (unsigned long long)inflight);
            fflush(stdout);
            next_progress += 1000000000ull;
            check_timeouts(now_ns());
        }
        uint64_t wake = next_progress;
        /* Starved: a connection event (an answer) is what frees one. */
        if (!starved && next_seq < last_seq && due_of(next_seq) < wake) {
            wake = due_of(next_seq);
        }
        int timeout = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
        int n = epoll_wait(epfd, evs, 256, timeout);
        if (n < 0 && errno != EINTR) {
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                struct signalfd_siginfo si;
                while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                }
                scheduling = false;
                continue;
            }
            on_event(evs[i].data.ptr, evs[i].events);
        }
    }
    uint64_t end = now_ns();
    /* Whatever is still open or waiting was not answered in time. */
    for (int i = 0; i < opt.max_conns; i++) {
        if (conns[i].out != NULL) {
            record(&conns[i], E_TIMEOUT, end);
        }
    }
    for (; next_seq < last_seq; next_seq++) {
        struct conn tmp = {.fd = -1, .seq = next_seq, .due_ns = due_of(next_seq)};
        record(&tmp, E_NOT_SENT, end);
    }
    if (opt.out_path != NULL) {
        FILE *f = fopen(opt.out_path, "wb");
        if (f == NULL || fwrite(recs, sizeof(*recs), nrecs, f) != nrecs || fclose(f) != 0) {
            die(opt.out_path);
        }
    }
    summary(end);
    return 0;
}
