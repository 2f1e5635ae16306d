#include "export_otlp.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "bytes.h"
#include "clock.h"
#include "grpc.h"
#include "gzip.h"
#include "otlp_json.h"
#include "otlp_proto.h"
#include "otlp_wire.h"
#include "retry.h"

/* An encoded batch may not exceed this (a batch of 512 bounded spans is a
 * few MiB at most; collectors refuse much larger requests anyway). */
#define BODY_LIMIT (64u << 20)
#define RESPONSE_LIMIT (64u << 10)
/* A wait is never longer than this, so a cancel is noticed even if its
 * wake-up were lost. */
#define POLL_SLICE_MS 250

struct otlp {
    char *url;
    enum tg_otlp_protocol protocol;
    bool gzip;
    int64_t timeout_ms;
    const struct tg_otlp_resource *res;
    CURLM *multi;                  /* owns the kept-alive connection */
    CURL *tmpl;                    /* configured once; each request runs on a copy */
    CURL *easy;                    /* the request in progress */
    struct curl_slist *headers;    /* fixed request headers */
    struct tg_bytes body;          /* encoded request (gRPC: with its prefix) */
    struct tg_bytes zbody;         /* compressed request */
    struct tg_bytes resp;          /* response body, up to RESPONSE_LIMIT */
    _Atomic int64_t cancel_ns;     /* CLOCK_MONOTONIC; INT64_MAX: none */
    uint64_t rng;
    char errbuf[CURL_ERROR_SIZE];
    /* what the current attempt's answer said */
    char retry_after[64];
    char content_type[64];
    int grpc_status;               /* -1: none seen */
    char grpc_message[256];
    char grpc_details[1024];       /* base64, cut: only a RetryInfo is read from it */
};

/* What one attempt came to. */
enum outcome { DONE, RETRY, GIVE_UP, CANCELLED };

const char *tg_otlp_protocol_name(enum tg_otlp_protocol p)
{
    switch (p) {
    case TG_OTLP_HTTP_PROTOBUF:
        return "http/protobuf";
    case TG_OTLP_HTTP_JSON:
        return "http/json";
    case TG_OTLP_GRPC:
        return "grpc";
    }
    return "?";
}

/* The report's message; cut to fit, which is fine for a log line. */
__attribute__((format(printf, 2, 3))) static void say(struct tg_export_report *rep,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->message, sizeof(rep->message), fmt, ap);
    va_end(ap);
}

static uint64_t next_random(struct otlp *o)
{
    /* splitmix64: only jitter depends on it. */
    uint64_t z = (o->rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct otlp *o = arg;
    size_t len = size * n;
    size_t room = o->resp.limit - o->resp.len;
    tg_bytes_append(&o->resp, p, len < room ? len : room);
    return len;  /* the rest is read and dropped */
}

/* Copy a header's value (trimmed) into out if its name matches. */
static bool header_value(const char *line, size_t len, const char *name, char *out,
                         size_t out_len)
{
    size_t nl = strlen(name);
    if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
        return false;
    const char *v = line + nl + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t n = (size_t)(end - v) < out_len - 1 ? (size_t)(end - v) : out_len - 1;
    memcpy(out, v, n);
    out[n] = '\0';
    return true;
}

/* Headers and, for gRPC, the trailers that carry its status. */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct otlp *o = arg;
    size_t len = size * n;
    char status[16];
    if (header_value(p, len, "grpc-status", status, sizeof(status))) {
        char *end;
        long v = strtol(status, &end, 10);
        o->grpc_status = *end == '\0' && end != status && v >= 0 && v <= 16 ? (int)v : 2;
    } else if (header_value(p, len, "grpc-message", o->grpc_message, sizeof(o->grpc_message))) {
        tg_grpc_message_decode(o->grpc_message);
    } else if (!header_value(p, len, "retry-after", o->retry_after, sizeof(o->retry_after)) &&
               !header_value(p, len, "content-type", o->content_type, sizeof(o->content_type))) {
        header_value(p, len, "grpc-status-details-bin", o->grpc_details, sizeof(o->grpc_details));
    }
    return len;
}

static void otlp_cancel(void *ctx, int64_t deadline_ns)
{
    struct otlp *o = ctx;
    atomic_store(&o->cancel_ns, deadline_ns);
    curl_multi_wakeup(o->multi);
}

static bool cancelled(struct otlp *o)
{
    return tg_now_ns() >= atomic_load(&o->cancel_ns);
}

/* Sleep ms unless cancel's deadline comes first. False if cancelled. */
static bool wait_ms(struct otlp *o, int64_t ms)
{
    int64_t until = tg_now_ns() + ms * 1000000;
    for (;;) {
        if (cancelled(o))
            return false;
        int64_t left = (until - tg_now_ns()) / 1000000;
        if (left <= 0)
            return true;
        curl_multi_poll(o->multi, NULL, 0, (int)(left < POLL_SLICE_MS ? left : POLL_SLICE_MS),
                        NULL);
    }
}

/* Printable, single-line text from an error body. */
static void body_text(const struct tg_bytes *b, char *out, size_t out_len)
{
    size_t n = 0;
    for (size_t i = 0; i < b->len && n + 1 < out_len && n < 160; i++) {
        unsigned char c = b->data[i];
        out[n++] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
    }
    out[n] = '\0';
}

/* The receiver's words about a refused request: a google.rpc.Status in
 * protobuf, or whatever text it sent. */
static void error_detail(struct otlp *o, char *out, size_t out_len)
{
    out[0] = '\0';
    if (o->resp.len == 0)
        return;
    int64_t unused;
    if (strncasecmp(o->content_type, "application/x-protobuf", 22) == 0 &&
        tg_otlp_rpc_status(o->resp.data, o->resp.len, out, out_len, &unused) == 0)
        return;
    body_text(&o->resp, out, out_len);
}

static bool transport_retryable(CURLcode rc)
{
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_OUT_OF_MEMORY:
        return false;
    default:
        return true;  /* refused, reset, timed out, unreachable: try again */
    }
}

/* Run the prepared transfer to its end. CURLE_ABORTED_BY_CALLBACK when
 * cancel's deadline passed. */
static CURLcode perform(struct otlp *o)
{
    CURLcode result = CURLE_OK;
    if (curl_multi_add_handle(o->multi, o->easy) != CURLM_OK)
        return CURLE_OUT_OF_MEMORY;
    for (;;) {
        int running = 0;
        curl_multi_perform(o->multi, &running);
        if (running == 0) {
            int left;
            CURLMsg *m;
            while ((m = curl_multi_info_read(o->multi, &left)))
                if (m->msg == CURLMSG_DONE)
                    result = m->data.result;
            break;
        }
        if (cancelled(o)) {
            result = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        curl_multi_poll(o->multi, NULL, 0, POLL_SLICE_MS, NULL);
    }
    curl_multi_remove_handle(o->multi, o->easy);
    return result;
}

/* A success may still carry a partial_success: spans the receiver refused,
 * or only a warning (the specification says to log either). */
static void partial_success(struct otlp *o, struct tg_export_report *rep, int64_t rejected,
                            const char *msg)
{
    if (rejected > 0) {
        rep->rejected = (uint64_t)rejected;
        say(rep, "%s: partial success, %lld spans rejected: %s", o->url, (long long)rejected,
            msg[0] ? msg : "(no message)");
    } else if (msg[0]) {
        say(rep, "%s: partial success warning: %s", o->url, msg);
    }
}

/* The answer to a delivered OTLP/HTTP request. */
static enum outcome http_answer(struct otlp *o, long status, int64_t *delay_ms,
                                struct tg_export_report *rep)
{
    char detail[200];
    if (status >= 200 && status < 300) {
        int64_t rejected = 0;
        char msg[sizeof(rep->message)];
        bool json = strncasecmp(o->content_type, "application/json", 16) == 0 ||
                    (o->content_type[0] == '\0' && o->protocol == TG_OTLP_HTTP_JSON);
        int rc = json ? tg_otlp_json_response((const char *)o->resp.data, o->resp.len,
                                              &rejected, msg, sizeof(msg))
                      : tg_otlp_proto_response(o->resp.data, o->resp.len, &rejected, msg,
                                               sizeof(msg));
        /* The data arrived: a body that cannot be read changes nothing. */
        if (rc == 0)
            partial_success(o, rep, rejected, msg);
        return DONE;
    }
    error_detail(o, detail, sizeof(detail));
    say(rep, "%s: HTTP %ld%s%s", o->url, status,
             detail[0] ? ": " : "", detail);
    if (!tg_otlp_http_retryable(status))
        return GIVE_UP;
    *delay_ms = o->retry_after[0] ? tg_otlp_retry_after_ms(o->retry_after, time(NULL)) : -1;
    return RETRY;
}

static const char *const grpc_names[] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
    "UNAUTHENTICATED",
};

/* The answer to a delivered gRPC call. */
static enum outcome grpc_answer(struct otlp *o, long status, int64_t *delay_ms,
                                struct tg_export_report *rep)
{
    int code = o->grpc_status;
    if (status != 200) {
        code = tg_grpc_status_of_http(status);
        snprintf(o->grpc_message, sizeof(o->grpc_message), "HTTP %ld", status);
    } else if (code < 0) {
        code = 2;
        snprintf(o->grpc_message, sizeof(o->grpc_message), "no grpc-status in the answer");
    }
    if (code == 0) {
        const uint8_t *msg;
        size_t len;
        bool compressed;
        int64_t rejected = 0;
        char text[sizeof(rep->message)] = "";
        if (tg_grpc_unframe(o->resp.data, o->resp.len, &msg, &len, &compressed) == 0 &&
            !compressed && tg_otlp_proto_response(msg, len, &rejected, text, sizeof(text)) == 0) {
            partial_success(o, rep, rejected, text);
        }
        return DONE;
    }
    int64_t retry_ms = -1;
    if (o->grpc_details[0]) {
        uint8_t bin[768];
        long n = tg_base64_decode(o->grpc_details, strlen(o->grpc_details), bin, sizeof(bin));
        char unused[8];
        if (n > 0)
            tg_otlp_rpc_status(bin, (size_t)n, unused, sizeof(unused), &retry_ms);
    }
    say(rep, "%s: gRPC %s%s%s", o->url,
             grpc_names[code], o->grpc_message[0] ? ": " : "", o->grpc_message);
    if (!tg_otlp_grpc_retryable(code, retry_ms >= 0))
        return GIVE_UP;
    *delay_ms = retry_ms;
    return RETRY;
}

/* One request. *delay_ms: the receiver's requested delay before a retry,
 * -1 for none. */
static enum outcome attempt(struct otlp *o, const struct tg_bytes *payload, int64_t deadline_ns,
                            int64_t *delay_ms, struct tg_export_report *rep)
{
    *delay_ms = -1;
    int64_t left_ms = (deadline_ns - tg_now_ns()) / 1000000;
    if (left_ms < 1)
        left_ms = 1;
    o->resp.len = 0;
    o->retry_after[0] = o->content_type[0] = '\0';
    o->grpc_status = -1;
    o->grpc_message[0] = o->grpc_details[0] = '\0';
    o->errbuf[0] = '\0';

    struct curl_slist *extra = NULL, *headers = o->headers;
    if (o->protocol == TG_OTLP_GRPC) {
        /* grpc-timeout is per call; the fixed headers follow it. */
        char line[48] = "grpc-timeout: ";
        tg_grpc_timeout(line + strlen(line), left_ms);
        extra = curl_slist_append(NULL, line);
        if (!extra) {
            say(rep, "out of memory");
            return GIVE_UP;
        }
        extra->next = o->headers;
        headers = extra;
    }
    /* A fresh copy of the configured handle per request: libcurl 7.88
     * cannot run a second HTTP/2 request on a reused easy handle, while
     * the connection itself is kept by the multi handle either way. */
    o->easy = curl_easy_duphandle(o->tmpl);
    if (!o->easy) {
        if (extra) {
            extra->next = NULL;
            curl_slist_free_all(extra);
        }
        say(rep, "out of memory");
        return GIVE_UP;
    }
    curl_easy_setopt(o->easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(o->easy, CURLOPT_POSTFIELDS, payload->data);
    curl_easy_setopt(o->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)payload->len);
    curl_easy_setopt(o->easy, CURLOPT_TIMEOUT_MS, (long)left_ms);
    curl_easy_setopt(o->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)left_ms);
    rep->requests++;
    CURLcode rc = perform(o);
    if (extra) {
        extra->next = NULL;
        curl_slist_free_all(extra);
    }
    if (rc != CURLE_OK) {
        curl_easy_cleanup(o->easy);
        o->easy = NULL;
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        say(rep, "%s: cut by the shutdown deadline", o->url);
        return CANCELLED;
    }
    if (rc != CURLE_OK) {
        say(rep, "%s: %s", o->url,
                 o->errbuf[0] ? o->errbuf : curl_easy_strerror(rc));
        return transport_retryable(rc) ? RETRY : GIVE_UP;
    }
    long status = 0;
    curl_easy_getinfo(o->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(o->easy);
    o->easy = NULL;
    return o->protocol == TG_OTLP_GRPC ? grpc_answer(o, status, delay_ms, rep)
                                       : http_answer(o, status, delay_ms, rep);
}

/* Encode the batch into the payload to send. */
static int encode(struct otlp *o, struct tg_span *const *spans, size_t n,
                  const struct tg_bytes **payload)
{
    static const uint8_t no_prefix[TG_GRPC_PREFIX];
    bool grpc = o->protocol == TG_OTLP_GRPC;
    size_t skip = grpc ? TG_GRPC_PREFIX : 0;
    o->body.len = 0;
    int rc = tg_bytes_append(&o->body, no_prefix, skip);
    if (rc == 0)
        rc = o->protocol == TG_OTLP_HTTP_JSON
                 ? tg_otlp_json_request(&o->body, o->res, spans, n)
                 : tg_otlp_wire_request(&o->body, o->res, spans, n);
    if (rc < 0)
        return rc;
    *payload = &o->body;
    if (o->gzip) {
        o->zbody.len = 0;
        if ((rc = tg_bytes_append(&o->zbody, no_prefix, skip)) < 0 ||
            (rc = tg_gzip(&o->zbody, o->body.data + skip, o->body.len - skip)) < 0)
            return rc;
        *payload = &o->zbody;
    }
    if (grpc) {
        struct tg_bytes *p = (struct tg_bytes *)*payload;
        if (p->len - skip > UINT32_MAX)
            return -EMSGSIZE;
        tg_grpc_prefix(p->data, o->gzip, (uint32_t)(p->len - skip));
    }
    return 0;
}

static void otlp_export(void *ctx, struct tg_span *const *spans, size_t n, int64_t deadline_ns,
                        struct tg_export_report *rep)
{
    struct otlp *o = ctx;
    int64_t own = tg_now_ns() + o->timeout_ms * 1000000;
    if (own < deadline_ns)
        deadline_ns = own;
    const struct tg_bytes *payload;
    int rc = encode(o, spans, n, &payload);
    if (rc < 0) {
        rep->failure = TG_EXPORT_NOT_RETRYABLE;
        say(rep, "encoding %zu spans failed: %s", n,
                 strerror(-rc));
        return;
    }
    for (unsigned retry = 1;; retry++) {
        int64_t delay_ms;
        enum outcome out = attempt(o, payload, deadline_ns, &delay_ms, rep);
        if (out == DONE)
            return;
        if (out == GIVE_UP) {
            rep->failure = TG_EXPORT_NOT_RETRYABLE;
            return;
        }
        if (out == CANCELLED) {
            rep->failure = TG_EXPORT_SHUTDOWN;
            return;
        }
        if (delay_ms < 0)
            delay_ms = tg_otlp_backoff_ms(retry, next_random(o));
        if (tg_now_ns() + delay_ms * 1000000 >= deadline_ns) {
            /* Out of time: the shutdown deadline's doing if it is the one
             * that bounds this export. */
            rep->failure = atomic_load(&o->cancel_ns) <= deadline_ns ? TG_EXPORT_SHUTDOWN
                                                                     : TG_EXPORT_RETRIES_EXHAUSTED;
            size_t len = strlen(rep->message);
            snprintf(rep->message + len, sizeof(rep->message) - len,
                     " (gave up after %u attempts: the export timeout is reached)",
                     rep->requests);
            return;
        }
        if (!wait_ms(o, delay_ms)) {
            rep->failure = TG_EXPORT_SHUTDOWN;
            snprintf(rep->message, sizeof(rep->message),
                     "%s: retry cut by the shutdown deadline", o->url);
            return;
        }
        rep->retries++;
    }
}

static void otlp_destroy(void *ctx)
{
    struct otlp *o = ctx;
    if (!o)
        return;
    if (o->tmpl)
        curl_easy_cleanup(o->tmpl);
    if (o->multi)
        curl_multi_cleanup(o->multi);
    curl_slist_free_all(o->headers);
    tg_bytes_free(&o->body);
    tg_bytes_free(&o->zbody);
    tg_bytes_free(&o->resp);
    free(o->url);
    free(o);
}

static bool add_header(struct otlp *o, const char *line)
{
    struct curl_slist *l = curl_slist_append(o->headers, line);
    if (!l)
        return false;
    o->headers = l;
    return true;
}

int tg_export_otlp_create(const struct tg_otlp_conf *conf, const struct tg_otlp_resource *res,
                          struct tg_exporter *out, char *err, size_t err_len)
{
    struct otlp *o = calloc(1, sizeof(*o));
    if (!o)
        goto nomem;
    o->protocol = conf->protocol;
    o->gzip = conf->gzip;
    o->timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms : 10000;
    o->res = res;
    o->cancel_ns = INT64_MAX;
    if (getrandom(&o->rng, sizeof(o->rng), 0) != sizeof(o->rng))
        o->rng = (uint64_t)tg_now_ns();
    tg_bytes_init(&o->body, BODY_LIMIT);
    tg_bytes_init(&o->zbody, BODY_LIMIT);
    tg_bytes_init(&o->resp, RESPONSE_LIMIT);

    bool grpc = conf->protocol == TG_OTLP_GRPC;
    size_t ulen = strlen(conf->url);
    /* gRPC names the method in the path; the endpoint is host:port. */
    o->url = malloc(ulen + sizeof(TG_GRPC_PATH));
    if (!o->url)
        goto nomem;
    memcpy(o->url, conf->url, ulen + 1);
    if (grpc) {
        while (ulen > 0 && o->url[ulen - 1] == '/')
            o->url[--ulen] = '\0';
        memcpy(o->url + ulen, TG_GRPC_PATH, sizeof(TG_GRPC_PATH));
    }

    const char *ctype = grpc ? "Content-Type: application/grpc"
                        : conf->protocol == TG_OTLP_HTTP_JSON ? "Content-Type: application/json"
                                                               : "Content-Type: application/x-protobuf";
    if (!add_header(o, ctype) || !add_header(o, "Expect:"))
        goto nomem;
    if (grpc && (!add_header(o, "TE: trailers") || !add_header(o, "grpc-accept-encoding: identity") ||
                 (conf->gzip && !add_header(o, "grpc-encoding: gzip"))))
        goto nomem;
    if (!grpc && conf->gzip && !add_header(o, "Content-Encoding: gzip"))
        goto nomem;
    for (size_t i = 0; i < conf->header_count; i++)
        if (!add_header(o, conf->headers[i]))
            goto nomem;

    o->multi = curl_multi_init();
    o->tmpl = curl_easy_init();
    if (!o->multi || !o->tmpl)
        goto nomem;
    CURL *e = o->tmpl;
    curl_easy_setopt(e, CURLOPT_URL, o->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, o->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, o);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, o);
    curl_easy_setopt(e, CURLOPT_USERAGENT, conf->user_agent);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (grpc) {
        bool tls = strncasecmp(conf->url, "https:", 6) == 0;
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                         tls ? (long)CURL_HTTP_VERSION_2TLS
                             : (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
        /* libcurl 7.88 fails every request after the first on a reused
         * prior-knowledge (h2c) connection with "Error in the HTTP2
         * framing layer" (curl issue 10634, fixed in 8.0). Plaintext gRPC
         * therefore opens one connection per export; over TLS (ALPN) the
         * connection is kept. */
        if (!tls)
            curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    }
    if (conf->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, conf->ca_file);
    if (conf->client_cert)
        curl_easy_setopt(e, CURLOPT_SSLCERT, conf->client_cert);
    if (conf->client_key)
        curl_easy_setopt(e, CURLOPT_SSLKEY, conf->client_key);

    out->export_batch = otlp_export;
    out->cancel = otlp_cancel;
    out->shutdown = otlp_destroy;
    out->ctx = o;
    return 0;
nomem:
    snprintf(err, err_len, "out of memory creating the OTLP exporter");
    otlp_destroy(o);
    return -ENOMEM;
}
