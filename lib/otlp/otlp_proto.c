#include "otlp_proto.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "otlp_flags.h"
#include "rpc_status.pb-c.h"
#include "trace_service.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Trace__V1__Span Span;
typedef Opentelemetry__Proto__Trace__V1__Span__Event Event;
typedef Opentelemetry__Proto__Trace__V1__Span__Link Link;
typedef Opentelemetry__Proto__Trace__V1__Status Status;

static const KeyValue kv_init = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
static const AnyValue any_init = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
static const Span span_init = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
static const Event event_init = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT;
static const Link link_init = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT;
static const Status status_init = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;

/* protobuf-c wants NUL-terminated strings; span strings are not. */
static char *str(struct tg_arena *a, const char *s, size_t len)
{
    return tg_arena_strndup(a, s ? s : "", s ? len : 0);
}

static ProtobufCBinaryData bin(const uint8_t *p, size_t n)
{
    return (ProtobufCBinaryData){.len = n, .data = (uint8_t *)p};
}

/* attrs[0..n) as KeyValue pointers, or NULL when out of scratch memory. */
static KeyValue **key_values(struct tg_arena *a, const struct tg_attr *attrs, size_t n)
{
    KeyValue **list = tg_arena_alloc(a, n * sizeof(*list) + 1);
    KeyValue *kv = tg_arena_alloc(a, n * sizeof(*kv) + 1);
    AnyValue *av = tg_arena_alloc(a, n * sizeof(*av) + 1);
    if (!list || !kv || !av)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const struct tg_attr *at = &attrs[i];
        kv[i] = kv_init;
        av[i] = any_init;
        kv[i].key = str(a, at->key, at->key_len);
        kv[i].value = &av[i];
        switch (at->type) {
        case TG_ATTR_STRING:
            av[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
            av[i].string_value = str(a, at->v.s.p, at->v.s.len);
            if (!av[i].string_value)
                return NULL;
            break;
        case TG_ATTR_INT:
            av[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
            av[i].int_value = at->v.i;
            break;
        case TG_ATTR_BOOL:
            av[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
            av[i].bool_value = at->v.b;
            break;
        case TG_ATTR_DOUBLE:
            av[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
            av[i].double_value = at->v.d;
            break;
        }
        if (!kv[i].key)
            return NULL;
        list[i] = &kv[i];
    }
    return list;
}

static bool fill_span(struct tg_arena *a, Span *m, const struct tg_span *s)
{
    *m = span_init;
    m->trace_id = bin(s->trace_id, 16);
    m->span_id = bin(s->span_id, 8);
    if (s->has_parent)
        m->parent_span_id = bin(s->parent_span_id, 8);
    if (s->trace_state && !(m->trace_state = str(a, s->trace_state, s->trace_state_len)))
        return false;
    m->flags = tg_otlp_span_flags(s);
    if (!(m->name = str(a, s->name, s->name_len)))
        return false;
    m->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)s->kind;
    m->start_time_unix_nano = (uint64_t)s->start_unix_ns;
    m->end_time_unix_nano = (uint64_t)s->end_unix_ns;
    m->n_attributes = s->attr_count;
    if (!(m->attributes = key_values(a, s->attrs, s->attr_count)))
        return false;
    m->dropped_attributes_count = s->dropped_attrs;
    if (s->event_count) {
        Event *ev = tg_arena_alloc(a, s->event_count * sizeof(*ev));
        Event **evp = tg_arena_alloc(a, s->event_count * sizeof(*evp));
        if (!ev || !evp)
            return false;
        for (uint16_t i = 0; i < s->event_count; i++) {
            ev[i] = event_init;
            ev[i].time_unix_nano = (uint64_t)s->events[i].time_unix_ns;
            ev[i].name = (char *)s->events[i].name;  /* static, NUL-terminated */
            evp[i] = &ev[i];
        }
        m->n_events = s->event_count;
        m->events = evp;
    }
    m->dropped_events_count = s->dropped_events;
    if (s->has_link) {
        Link *l = tg_arena_alloc(a, sizeof(*l));
        Link **lp = tg_arena_alloc(a, sizeof(*lp));
        if (!l || !lp)
            return false;
        *l = link_init;
        l->trace_id = bin(s->link.trace_id, 16);
        l->span_id = bin(s->link.span_id, 8);
        if (s->link.trace_state &&
            !(l->trace_state = str(a, s->link.trace_state, s->link.trace_state_len)))
            return false;
        l->flags = tg_otlp_link_flags(&s->link);
        *lp = l;
        m->n_links = 1;
        m->links = lp;
    }
    if (s->status != TG_STATUS_UNSET || s->status_message) {
        Status *st = tg_arena_alloc(a, sizeof(*st));
        if (!st)
            return false;
        *st = status_init;
        st->code = (Opentelemetry__Proto__Trace__V1__Status__StatusCode)s->status;
        if (s->status_message &&
            !(st->message = str(a, s->status_message, s->status_message_len)))
            return false;
        m->status = st;
    }
    return true;
}

int tg_otlp_proto_request(struct tg_bytes *out, struct tg_arena *scratch,
                          const struct tg_otlp_resource *res, struct tg_span *const *spans,
                          size_t n)
{
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest req =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs =
        OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rsp = &rs;
    Opentelemetry__Proto__Resource__V1__Resource resource =
        OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss =
        OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ssp = &ss;
    Opentelemetry__Proto__Common__V1__InstrumentationScope scope =
        OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    int rc = -ENOMEM;

    req.n_resource_spans = 1;
    req.resource_spans = &rsp;
    rs.resource = &resource;
    rs.n_scope_spans = 1;
    rs.scope_spans = &ssp;
    ss.scope = &scope;
    scope.name = res->scope_name;
    scope.version = res->scope_version;
    resource.n_attributes = res->count;
    if (!(resource.attributes = key_values(scratch, res->attrs, res->count)))
        goto out;
    Span *spans_m = tg_arena_alloc(scratch, n * sizeof(*spans_m) + 1);
    Span **spans_p = tg_arena_alloc(scratch, n * sizeof(*spans_p) + 1);
    if (!spans_m || !spans_p)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (!fill_span(scratch, &spans_m[i], spans[i]))
            goto out;
        spans_p[i] = &spans_m[i];
    }
    ss.n_spans = n;
    ss.spans = spans_p;

    size_t size = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(&req);
    if ((rc = tg_bytes_reserve(out, size)) < 0)
        goto out;
    out->len += opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(
        &req, out->data + out->len);
    rc = 0;
out:
    tg_arena_reset(scratch);
    return rc;
}

static void copy_msg(char *msg, size_t msg_len, const char *s)
{
    if (msg_len)
        snprintf(msg, msg_len, "%s", s ? s : "");
}

int tg_otlp_proto_response(const uint8_t *body, size_t len, int64_t *rejected, char *msg,
                           size_t msg_len)
{
    *rejected = 0;
    copy_msg(msg, msg_len, "");
    if (len == 0)
        return 0;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *r =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
            NULL, len, body);
    if (!r)
        return -EPROTO;
    int rc = 0;
    if (r->partial_success) {
        *rejected = r->partial_success->rejected_spans;
        copy_msg(msg, msg_len, r->partial_success->error_message);
        if (*rejected < 0)
            rc = -EPROTO;
    }
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(
        r, NULL);
    return rc;
}

int tg_otlp_rpc_status(const uint8_t *body, size_t len, char *msg, size_t msg_len,
                       int64_t *retry_delay_ms)
{
    static const char retry_info_type[] = "type.googleapis.com/google.rpc.RetryInfo";
    *retry_delay_ms = -1;
    copy_msg(msg, msg_len, "");
    Google__Rpc__Status *st = google__rpc__status__unpack(NULL, len, body);
    if (!st)
        return -EPROTO;
    copy_msg(msg, msg_len, st->message);
    for (size_t i = 0; i < st->n_details; i++) {
        Google__Rpc__Any *d = st->details[i];
        if (strcmp(d->type_url, retry_info_type) != 0)
            continue;
        Google__Rpc__RetryInfo *ri = google__rpc__retry_info__unpack(NULL, d->value.len,
                                                                      d->value.data);
        if (ri && ri->retry_delay && ri->retry_delay->seconds >= 0 &&
            ri->retry_delay->seconds < INT64_MAX / 1000 - 1 && ri->retry_delay->nanos >= 0)
            *retry_delay_ms = ri->retry_delay->seconds * 1000 + ri->retry_delay->nanos / 1000000;
        if (ri)
            google__rpc__retry_info__free_unpacked(ri, NULL);
    }
    google__rpc__status__free_unpacked(st, NULL);
    return 0;
}
