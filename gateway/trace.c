/*
 * Tracing of proxied requests (see trace.h). Attribute names follow the
 * stable OpenTelemetry HTTP semantic conventions.
 */
#include "trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conn.h"
#include "error.h"
#include "headers.h"
#include "metrics.h"
#include "span.h"
#include "tracecontext.h"
#include "tracez.h"
#include "worker.h"

/* ---- the tracer ------------------------------------------------------------- */

int tg_tracer_create(const struct tg_config *cfg, struct tg_tracer **out,
                     char *err, size_t err_len)
{
    const struct tg_tracing_conf *tc = &cfg->tracing;
    struct tg_tracer *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->cfg = cfg;
    /* Enough recycled blocks for a full export batch of SERVER and CLIENT
     * spans to come back before workers need new ones. */
    if (tg_spanpool_init(&t->pool, (size_t)tc->bsp_max_export_batch_size * 2) < 0) {
        free(t);
        return -ENOMEM;
    }
    /* Route rates live in slots the admin control assigns (admin/control.h). */
    int r = tg_sampler_init(&t->sampler, (enum tg_sampler_kind)tc->sampler, tc->sampler_arg,
                            tc->enabled, TG_ROUTE_SLOTS, NULL);
    if (r < 0) {
        snprintf(err, err_len, "cannot set up the sampler: %s", tg_strerror(r));
        tg_spanpool_fini(&t->pool);
        free(t);
        return r;
    }
    if (tg_metrics_create(&t->metrics) < 0 || tg_tracez_create(&t->tracez) < 0) {
        snprintf(err, err_len, "out of memory");
        tg_metrics_destroy(t->metrics);
        tg_sampler_fini(&t->sampler);
        tg_spanpool_fini(&t->pool);
        free(t);
        return -ENOMEM;
    }
    r = tg_tracer_export_init(&t->out, cfg, err, err_len);
    if (r < 0) {
        tg_tracez_destroy(t->tracez);
        tg_metrics_destroy(t->metrics);
        tg_sampler_fini(&t->sampler);
        tg_spanpool_fini(&t->pool);
        free(t);
        return r;
    }
    struct tg_batch_conf bc = {
        .schedule_delay_ms = tc->bsp_schedule_delay_ms,
        .export_timeout_ms = tc->bsp_export_timeout_ms,
        .max_queue_size = (size_t)tc->bsp_max_queue_size,
        .max_export_batch_size = (size_t)tc->bsp_max_export_batch_size,
        .on_trouble = tg_tracer_export_trouble,
        .arg = &t->out,
        .observe = tg_tracez_observe,
        .observe_arg = t->tracez,
    };
    t->batch = tg_batch_create(&bc, &t->out.exporter);
    if (!t->batch) {
        if (t->out.exporter.shutdown)
            t->out.exporter.shutdown(t->out.exporter.ctx);
        tg_tracer_export_fini(&t->out);
        goto nomem;
    }
    r = tg_batch_start(t->batch);
    if (r < 0) {
        snprintf(err, err_len, "cannot start the span processor thread: %s", strerror(-r));
        tg_batch_destroy(t->batch);
        tg_tracer_export_fini(&t->out);
        tg_tracez_destroy(t->tracez);
        tg_metrics_destroy(t->metrics);
        tg_sampler_fini(&t->sampler);
        tg_spanpool_fini(&t->pool);
        free(t);
        return r;
    }
    *out = t;
    return 0;
nomem:
    snprintf(err, err_len, "out of memory");
    tg_tracez_destroy(t->tracez);
    tg_metrics_destroy(t->metrics);
    tg_sampler_fini(&t->sampler);
    tg_spanpool_fini(&t->pool);
    free(t);
    return -ENOMEM;
}

void tg_tracer_shutdown(struct tg_tracer *t)
{
    if (t)
        tg_batch_shutdown(t->batch, t->cfg->tracing.shutdown_timeout_ms);
}

void tg_tracer_destroy(struct tg_tracer *t)
{
    if (!t)
        return;
    tg_batch_destroy(t->batch);
    tg_tracer_export_fini(&t->out);
    tg_tracez_destroy(t->tracez);   /* its feeder, the processor, is gone */
    tg_metrics_destroy(t->metrics);
    tg_sampler_fini(&t->sampler);
    tg_spanpool_fini(&t->pool);
    free(t);
}

void tg_tracer_summary(struct tg_tracer *t, char *out, size_t len)
{
    const struct tg_batch_stats *b = tg_batch_stats(t->batch);
    struct tg_trace_stats *s = &t->stats;
#define U(x) (unsigned long long)(x)
    snprintf(out, len,
             "{\"requests_traced\":%llu,\"requests_unsampled\":%llu,\"requests_untraced\":%llu,"
             "\"spans_started\":%llu,\"span_alloc_failed\":%llu,\"spans_queued\":%llu,"
             "\"spans_exported\":%llu,\"spans_rejected\":%llu,"
             "\"spans_dropped_not_retryable\":%llu,\"spans_dropped_retries_exhausted\":%llu,"
             "\"spans_dropped_deadline\":%llu,\"spans_dropped_queue_full\":%llu,"
             "\"spans_dropped_shutdown\":%llu,\"export_requests\":%llu,\"export_retries\":%llu,"
             "\"export_failures\":%llu,\"traceparent_invalid\":%llu,"
             "\"tracestate_invalid\":%llu,\"tracestate_truncated\":%llu,\"baggage_dropped\":%llu}",
             U(s->requests_traced), U(s->requests_unsampled), U(s->requests_untraced),
             U(s->spans_started), U(s->span_alloc_failed), U(b->queued), U(b->exported),
             U(b->rejected), U(b->dropped_not_retryable), U(b->dropped_retries_exhausted),
             U(b->dropped_deadline), U(b->dropped_full), U(b->dropped_shutdown),
             U(b->export_requests), U(b->export_retries), U(b->export_failures),
             U(s->traceparent_invalid), U(s->tracestate_invalid), U(s->tracestate_truncated),
             U(s->baggage_dropped));
#undef U
}

static void count(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* ---- inbound headers ---------------------------------------------------------- */

bool tg_trace_note_header(struct tg_trace *tr, const char *name, size_t name_len,
                          const char *value, size_t value_len)
{
    struct tg_trace_in *in = &tr->in;
    switch (name_len) {
    case 11:
        if (!tg_header_name_is(name, name_len, "traceparent"))
            return false;
        in->traceparent = value;
        in->traceparent_len = value_len;
        in->traceparent_count++;
        return true;
    case 4:
        if (!in->host && tg_header_name_is(name, name_len, "host"))
            in->host = value;
        return false;
    case 15:
        if (!in->xff && tg_header_name_is(name, name_len, "x-forwarded-for"))
            in->xff = value;
        return false;
    case 10:
        if (tg_header_name_is(name, name_len, "user-agent")) {
            if (!in->user_agent)
                in->user_agent = value;
            return false;
        }
        if (!tg_header_name_is(name, name_len, "tracestate"))
            return false;
        if (in->tracestate_count++ == 0) {
            in->tracestate = value;
            in->tracestate_len = value_len;
        }
        return true;
    case 7:
        if (!tg_header_name_is(name, name_len, "baggage"))
            return false;
        if (in->baggage_count++ == 0) {
            in->baggage = value;
            in->baggage_len = value_len;
        }
        return true;
    default:
        return false;
    }
}

bool tg_trace_replaces_header(const struct tg_trace *tr, const char *name, size_t len)
{
    if (!tr->active)
        return false;
    return tg_header_name_is(name, len, "traceparent") ||
           tg_header_name_is(name, len, "tracestate") || tg_header_name_is(name, len, "baggage");
}

/* ---- helpers ------------------------------------------------------------------ */

static const char *const known_methods[] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
};

static bool method_known(const char *m)
{
    for (size_t i = 0; i < sizeof(known_methods) / sizeof(known_methods[0]); i++)
        if (strcmp(m, known_methods[i]) == 0)
            return true;
    return false;
}

static bool strlist_has(const struct tg_strlist *l, const char *s, size_t len, bool nocase)
{
    for (size_t i = 0; i < l->count; i++) {
        const char *it = l->items[i];
        if (strlen(it) == len && (nocase ? strncasecmp(it, s, len) : strncmp(it, s, len)) == 0)
            return true;
    }
    return false;
}

/* A query string with the values of sensitive keys replaced by REDACTED
 * (semantic conventions: url.query). Returns an arena copy and its length. */
static const char *redact_query(struct tg_arena *a, const struct tg_strlist *keys,
                                const char *q, size_t len, size_t *out_len)
{
    size_t params = 1;
    for (size_t i = 0; i < len; i++)
        params += q[i] == '&';
    size_t cap = len + params * 8 + 1;
    char *out = tg_arena_alloc(a, cap);
    if (!out)
        return NULL;
    size_t o = 0, i = 0;
    while (i <= len) {
        size_t end = i;
        while (end < len && q[end] != '&')
            end++;
        const char *eq = memchr(q + i, '=', end - i);
        size_t klen = eq ? (size_t)(eq - (q + i)) : end - i;
        if (eq && strlist_has(keys, q + i, klen, true)) {
            memcpy(out + o, q + i, klen + 1);
            o += klen + 1;
            memcpy(out + o, "REDACTED", 8);
            o += 8;
        } else {
            memcpy(out + o, q + i, end - i);
            o += end - i;
        }
        if (end < len)
            out[o++] = '&';
        i = end + 1;
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

/* host[:port] → server.address / server.port (port default by scheme). */
static void address_attrs(struct tg_span *s, const char *auth, size_t len, int64_t default_port)
{
    const char *host = auth;
    size_t hlen = len;
    int64_t port = default_port;
    const char *colon = NULL;
    if (len > 0 && auth[0] == '[') {
        const char *close = memchr(auth, ']', len);
        if (close) {
            host = auth + 1;
            hlen = (size_t)(close - host);
            if (close + 1 < auth + len && close[1] == ':')
                colon = close + 1;
        }
    } else {
        colon = memchr(auth, ':', len);
        if (colon)
            hlen = (size_t)(colon - auth);
    }
    if (colon) {
        int64_t p = 0;
        const char *d = colon + 1;
        size_t n = (size_t)(auth + len - d);
        bool ok = n > 0 && n <= 5;
        for (size_t i = 0; ok && i < n; i++) {
            ok = d[i] >= '0' && d[i] <= '9';
            p = p * 10 + (d[i] - '0');
        }
        if (ok && p > 0 && p < 65536)
            port = p;
    }
    if (hlen > 0)
        tg_span_attr_str(s, "server.address", host, hlen);
    if (port > 0)
        tg_span_attr_int(s, "server.port", port);
}

static void set_name(struct tg_span *s, const struct tg_conn *c, bool known)
{
    const char *m = known ? c->method : "HTTP";
    const char *route = c->route ? c->route->http_route : NULL;
    char name[512];
    size_t n = strlen(m);
    if (n > 64)
        n = 64;
    memcpy(name, m, n);
    if (route) {
        size_t rlen = strlen(route);
        if (rlen > sizeof(name) - n - 1)
            rlen = sizeof(name) - n - 1;
        name[n++] = ' ';
        memcpy(name + n, route, rlen);
        n += rlen;
    }
    tg_span_set_name(s, name, n);
}

static void method_attrs(struct tg_span *s, const struct tg_conn *c, bool known)
{
    if (known) {
        tg_span_attr_str(s, "http.request.method", c->method, strlen(c->method));
    } else {
        tg_span_attr_str(s, "http.request.method", "_OTHER", 6);
        tg_span_attr_str(s, "http.request.method_original", c->method, strlen(c->method));
    }
}

static void capture_request_headers(struct tg_span *s, struct tg_conn *c,
                                    const struct tg_strlist *names)
{
    for (size_t i = 0; i < names->count; i++) {
        const char *v = MHD_lookup_connection_value(c->mhd, MHD_HEADER_KIND, names->items[i]);
        if (!v)
            continue;
        char key[160];
        int n = snprintf(key, sizeof(key), "http.request.header.%s", names->items[i]);
        if (n > 0 && (size_t)n < sizeof(key))
            tg_span_attr_str_dyn(s, key, (size_t)n, v, strlen(v));
    }
}

static void capture_response_headers(struct tg_span *s, const struct tg_conn *c,
                                     const struct tg_strlist *names)
{
    if (names->count == 0)
        return;
    for (const struct tg_header *h = c->resp_headers; h; h = h->next) {
        if (!strlist_has(names, h->name, h->name_len, true))
            continue;
        char key[160];
        int n = snprintf(key, sizeof(key), "http.response.header.%.*s", (int)h->name_len,
                         h->name);
        if (n <= 0 || (size_t)n >= sizeof(key))
            continue;
        for (int j = 21; j < n; j++)  /* the name part, lowercase */
            if (key[j] >= 'A' && key[j] <= 'Z')
                key[j] = (char)(key[j] - 'A' + 'a');
        tg_span_attr_str_dyn(s, key, (size_t)n, h->value, h->value_len);
    }
}

static void status_code_error(struct tg_span *s, int status, const char **error_type, char *buf)
{
    if (*error_type == NULL) {
        snprintf(buf, 12, "%d", status);
        *error_type = buf;
    }
    s->status = TG_STATUS_ERROR;
}

/* ---- per request ------------------------------------------------------------- */

/* Every field named `name`, in arrival order, into arena arrays. */
struct field_list {
    const char *name;
    const char **values;
    size_t *lens;
    unsigned n;
};

static enum MHD_Result collect_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                     size_t key_len, const char *value, size_t value_len)
{
    struct field_list *l = cls;
    (void)kind;
    if (tg_header_name_is(key, key_len, l->name) && l->n < TG_TRACE_IN_MAX) {
        l->values[l->n] = value;
        l->lens[l->n] = value_len;
        l->n++;
    }
    return MHD_YES;
}

/* The fields of a trace header seen count times: the noted one, or all of
 * them collected again. Returns the number in *n (0 when too many or out
 * of memory: the header is then dropped). */
static void fields_of(struct tg_conn *c, const char *name, unsigned count, const char **first,
                      size_t *first_len, const char *const **values, const size_t **lens,
                      unsigned *n)
{
    *n = 0;
    if (count == 1) {
        *values = first;
        *lens = first_len;
        *n = 1;
        return;
    }
    if (count > TG_TRACE_IN_MAX)
        return;
    struct field_list l = {.name = name};
    l.values = tg_arena_alloc(&c->arena, count * sizeof(*l.values));
    l.lens = tg_arena_alloc(&c->arena, count * sizeof(*l.lens));
    if (!l.values || !l.lens)
        return;
    MHD_get_connection_values_n(c->mhd, MHD_HEADER_KIND, collect_field, &l);
    *values = l.values;
    *lens = l.lens;
    *n = l.n;
}

static void server_span_start(struct tg_conn *c, const struct tg_tracing_conf *tc,
                              bool has_parent, const uint8_t *parent, bool link,
                              const struct tg_traceparent *in)
{
    struct tg_trace *tr = &c->trace;
    struct tg_tracer *t = tg_worker_tracer(c->w);
    struct tg_span *s = tg_span_create(&t->pool, tr->trace_id, tr->server_id,
                                       has_parent ? parent : NULL,
                                       TG_SPAN_SERVER, c->start_unix_ns);
    if (!s) {
        count(&t->stats.span_alloc_failed);
        return;
    }
    count(&t->stats.spans_started);
    s->parent_remote = has_parent;
    s->flags = tr->flags;
    if (link) {
        s->has_link = true;
        memcpy(s->link.trace_id, in->trace_id, 16);
        memcpy(s->link.span_id, in->span_id, 8);
        s->link.flags = in->flags;
    }
    bool known = method_known(c->method);
    set_name(s, c, known);
    method_attrs(s, c, known);
    size_t path_len = c->path_len;
    tg_span_attr_str(s, "url.path", c->target, path_len);
    if (path_len < c->target_len) {
        size_t qlen;
        const char *q = redact_query(&c->arena, &tc->redact_query, c->target + path_len + 1,
                                     c->target_len - path_len - 1, &qlen);
        if (q)
            tg_span_attr_str(s, "url.query", q, qlen);
    }
    tg_span_attr_str(s, "url.scheme", "http", 4);
    if (c->route)
        tg_span_attr_str(s, "http.route", c->route->http_route, strlen(c->route->http_route));
    const char *host = tr->in.host;
    if (host)
        address_attrs(s, host, strlen(host), 80);
    const char *xff = tr->in.xff;
    size_t xlen = 0;
    if (xff) {
        while (*xff == ' ' || *xff == '\t')
            xff++;
        xlen = strcspn(xff, ", \t");
    }
    if (xlen > 0)
        tg_span_attr_str(s, "client.address", xff, xlen);
    else
        tg_span_attr_str(s, "client.address", c->client_ip, strlen(c->client_ip));
    tg_span_attr_str(s, "network.peer.address", c->client_ip, strlen(c->client_ip));
    tg_span_attr_str(s, "network.protocol.version", c->http10 ? "1.0" : "1.1", 3);
    const char *ua = tr->in.user_agent;
    if (ua)
        tg_span_attr_str(s, "user_agent.original", ua, strlen(ua));
    capture_request_headers(s, c, &tc->request_headers);
    tr->server = s;
}

static bool is_health_path(const struct tg_tracing_conf *tc, const char *path, size_t len)
{
    return strlist_has(&tc->health_paths, path, len, false);
}

/* What goes upstream: our traceparent (the CLIENT span is the parent). */
static void format_out_traceparent(struct tg_trace *tr)
{
    struct tg_traceparent out;
    memcpy(out.trace_id, tr->trace_id, 16);
    memcpy(out.span_id, tr->client_id, 8);
    out.flags = tr->flags;
    tg_traceparent_format(&out, tr->out_traceparent);
}

void tg_trace_begin(struct tg_conn *c, struct tg_rng *rng)
{
    struct tg_trace *tr = &c->trace;
    struct tg_tracer *t = tg_worker_tracer(c->w);
    const struct tg_tracing_conf *tc = &c->cfg->tracing;

    if ((c->route != NULL && c->route->internal) || is_health_path(tc, c->target, c->path_len)) {
        /* Never traced: inbound trace headers pass through untouched. */
        count(&t->stats.requests_untraced);
        return;
    }
    tr->active = true;

    struct tg_traceparent in;
    bool valid = false;
    if (tr->in.traceparent_count == 1)
        valid = tg_traceparent_parse(tr->in.traceparent, tr->in.traceparent_len, &in) == 0;
    if (tr->in.traceparent_count > 0 && !valid)
        count(&t->stats.traceparent_invalid);  /* repeated counts as invalid too */

    enum tg_trust trust = c->route ? c->route->trust : tc->trust;
    size_t route_slot = c->route ? c->route->slot : SIZE_MAX;
    enum tg_parent parent = TG_PARENT_NONE;
    bool keep = valid && trust != TG_TRUST_RESTART;
    uint8_t random;
    if (keep) {
        memcpy(tr->trace_id, in.trace_id, 16);
        random = in.flags & TG_TRACE_FLAG_RANDOM;  /* kept as received */
        if (trust == TG_TRUST_CONTINUE)
            parent = in.flags & TG_TRACE_FLAG_SAMPLED ? TG_PARENT_SAMPLED : TG_PARENT_UNSAMPLED;
    } else {
        tg_new_trace_id(rng, tr->trace_id);
        random = TG_TRACE_FLAG_RANDOM;
    }
    tr->sampled = tg_sampler_decide(&t->sampler, route_slot, tr->trace_id, parent);
    tr->flags = random | (tr->sampled ? TG_TRACE_FLAG_SAMPLED : 0);
    tg_new_span_id(rng, tr->server_id);
    tg_new_span_id(rng, tr->client_id);

    if (tr->sampled) {
        count(&t->stats.requests_traced);
        server_span_start(c, tc, keep, in.span_id, valid && !keep, &in);
    } else {
        count(&t->stats.requests_unsampled);
    }

    format_out_traceparent(tr);

    /* tracestate belongs to the inbound trace: only with it, only valid. */
    if (keep && tr->in.tracestate_count > 0) {
        size_t cap = (size_t)tc->tracestate_limit + 1;
        char *buf = tg_arena_alloc(&c->arena, cap);
        unsigned result = 0;
        int r = TG_ETOOBIG;
        const char *const *vals;
        const size_t *lens;
        unsigned n;
        fields_of(c, "tracestate", tr->in.tracestate_count, &tr->in.tracestate,
                  &tr->in.tracestate_len, &vals, &lens, &n);
        if (buf && n > 0)
            r = tg_tracestate_normalize(vals, lens, n, (size_t)tc->tracestate_limit, buf, cap,
                                        &result);
        if (r < 0) {
            count(&t->stats.tracestate_invalid);
        } else {
            if (result & TG_TRACESTATE_TRUNCATED)
                count(&t->stats.tracestate_truncated);
            size_t len = strlen(buf);
            if (len > 0) {
                tr->out_tracestate = buf;
                tr->out_tracestate_len = len;
                if (tr->server)
                    tr->server->trace_state =
                        tg_span_store(tr->server, buf, len, &tr->server->trace_state_len);
            }
        }
    }
    if (tr->in.baggage_count > 0) {
        int r = TG_ETOOBIG;
        const char *const *vals;
        const size_t *lens;
        unsigned n;
        fields_of(c, "baggage", tr->in.baggage_count, &tr->in.baggage, &tr->in.baggage_len,
                  &vals, &lens, &n);
        if (n > 0)
            r = tg_baggage_check(vals, lens, n);
        if (r < 0) {
            count(&t->stats.baggage_dropped);
        } else {
            /* Repeated fields forwarded as one comma-joined field (same
             * meaning, RFC 9110 5.3). */
            size_t total = 0;
            for (unsigned i = 0; i < n; i++)
                total += lens[i] + 1;
            char *v = tg_arena_alloc(&c->arena, total + 1);
            if (v) {
                size_t o = 0;
                for (unsigned i = 0; i < n; i++) {
                    if (i)
                        v[o++] = ',';
                    memcpy(v + o, vals[i], lens[i]);
                    o += lens[i];
                }
                tr->out_baggage = v;
                tr->out_baggage_len = o;
            }
        }
    }
}

void tg_trace_client_start(struct tg_conn *c, const char *url)
{
    struct tg_trace *tr = &c->trace;
    if (!tr->server || tr->client)
        return;
    struct tg_tracer *t = tg_worker_tracer(c->w);
    struct tg_span *s = tg_span_create(&t->pool, tr->trace_id, tr->client_id, tr->server_id,
                                       TG_SPAN_CLIENT, tg_unix_now_ns());
    if (!s) {
        count(&t->stats.span_alloc_failed);
        return;
    }
    count(&t->stats.spans_started);
    s->flags = tr->flags;
    if (tr->server->trace_state)
        s->trace_state = tg_span_store(s, tr->server->trace_state, tr->server->trace_state_len,
                                       &s->trace_state_len);
    bool known = method_known(c->method);
    set_name(s, c, known);
    method_attrs(s, c, known);
    size_t ulen = strlen(url);
    const char *q = memchr(url, '?', ulen);
    if (q) {
        size_t qlen;
        const char *rq = redact_query(&c->arena, &c->cfg->tracing.redact_query, q + 1,
                                      ulen - (size_t)(q + 1 - url), &qlen);
        size_t head = (size_t)(q + 1 - url);
        char *full = rq ? tg_arena_alloc(&c->arena, head + qlen + 1) : NULL;
        if (full) {
            memcpy(full, url, head);
            memcpy(full + head, rq, qlen + 1);
            tg_span_attr_str(s, "url.full", full, head + qlen);
        }
    } else {
        tg_span_attr_str(s, "url.full", url, ulen);
    }
    const struct tg_route_conf *r = c->route;
    bool https = strncmp(r->upstream_base, "https:", 6) == 0;
    address_attrs(s, r->upstream_authority, strlen(r->upstream_authority), https ? 443 : 80);
    tg_span_attr_str(s, "network.protocol.version", "1.1", 3);
    tr->client = s;
}

/* curl's phase times (microseconds from the start of the transfer) as
 * span events: where the time before the first byte went. */
static void timing_events(struct tg_span *s, CURL *e)
{
    curl_off_t dns = 0, connect = 0, tls = 0, sent = 0, first = 0;
    long connects = 0;
    curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &connects);
    curl_easy_getinfo(e, CURLINFO_NAMELOOKUP_TIME_T, &dns);
    curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connect);
    curl_easy_getinfo(e, CURLINFO_APPCONNECT_TIME_T, &tls);
    curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &sent);
    curl_easy_getinfo(e, CURLINFO_STARTTRANSFER_TIME_T, &first);
    int64_t t0 = s->start_unix_ns;
    tg_span_attr_bool(s, "tracegate.upstream.connection_reused", connects == 0);
    if (connects > 0) {
        tg_span_event(s, "dns.lookup.done", t0 + dns * 1000);
        tg_span_event(s, "connect.done", t0 + connect * 1000);
        if (tls > 0)
            tg_span_event(s, "tls.handshake.done", t0 + tls * 1000);
    }
    if (sent > 0)
        tg_span_event(s, "request.headers.sent", t0 + sent * 1000);
    if (first > 0)
        tg_span_event(s, "response.first_byte", t0 + first * 1000);
}

/* timings: curl's phase times belong to this try (not to a failed one
 * whose transfer is being sent again). */
static void client_end(struct tg_conn *c, const char *error_type, bool timings)
{
    struct tg_trace *tr = &c->trace;
    struct tg_span *s = tr->client;
    if (!s)
        return;
    tr->client = NULL;
    char buf[12];
    if (c->upstream_status > 0)
        tg_span_attr_int(s, "http.response.status_code", c->upstream_status);
    if (error_type || c->upstream_status >= 400)
        status_code_error(s, c->upstream_status, &error_type, buf);
    if (error_type)
        tg_span_attr_str(s, "error.type", error_type, strlen(error_type));
    if (timings && c->easy)
        timing_events(s, c->easy);
    s->end_unix_ns = tg_unix_now_ns();
    tg_batch_submit(tg_worker_tracer(c->w)->batch, s);
}

void tg_trace_client_end(struct tg_conn *c, const char *error_type)
{
    client_end(c, error_type, true);
}

void tg_trace_client_resend(struct tg_conn *c, const char *error_type, struct tg_rng *rng)
{
    struct tg_trace *tr = &c->trace;
    if (!tr->client)
        return;  /* not sampled: the upstream sees the same context again */
    unsigned resends = c->upstream_tries > 1 ? c->upstream_tries - 1 : 1;
    client_end(c, error_type, false);
    tg_new_span_id(rng, tr->client_id);
    format_out_traceparent(tr);
    if (tr->sent_traceparent)
        memcpy(tr->sent_traceparent, tr->out_traceparent, strlen(tr->out_traceparent));
    const char *url = NULL;
    if (curl_easy_getinfo(c->easy, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || !url)
        return;
    tg_trace_client_start(c, url);
    if (tr->client)
        tg_span_attr_int(tr->client, "http.request.resend_count", resends);
}

void tg_trace_response(struct tg_conn *c, struct MHD_Response *r)
{
    struct tg_trace *tr = &c->trace;
    if (!tr->active)
        return;
    /* Answers without a route (404) follow the global setting. */
    bool on = c->route ? c->route->traceresponse
                       : c->cfg->tracing.traceresponse;
    if (!on)
        return;
    struct tg_traceparent tp;
    memcpy(tp.trace_id, tr->trace_id, 16);
    memcpy(tp.span_id, tr->server_id, 8);
    tp.flags = tr->flags;
    char v[TG_TRACEPARENT_LEN + 1];
    tg_traceparent_format(&tp, v);
    MHD_add_response_header(r, "traceresponse", v);
}

void tg_trace_end(struct tg_conn *c, int status, const char *error_type)
{
    struct tg_trace *tr = &c->trace;
    if (tr->client)
        tg_trace_client_end(c, "request_aborted");
    struct tg_span *s = tr->server;
    if (!s)
        return;
    tr->server = NULL;
    char buf[12];
    if (status > 0)
        tg_span_attr_int(s, "http.response.status_code", status);
    /* Error for 5xx and for failures (a response cut short); a client
     * that went away is not a failure of the server. */
    if (status >= 500 || (error_type && strcmp(error_type, "client_aborted") != 0))
        status_code_error(s, status, &error_type, buf);
    if (error_type)
        tg_span_attr_str(s, "error.type", error_type, strlen(error_type));
    capture_response_headers(s, c, &c->cfg->tracing.response_headers);
    s->end_unix_ns = tg_unix_now_ns();
    tg_batch_submit(tg_worker_tracer(c->w)->batch, s);
}
