/*
 * The wire encoder against the protoc-c code generated from the same
 * .proto files: protobuf-c decodes every field tracegate sets with its
 * value, and packs the same spans (through its message tree, the reference
 * below) into the very same bytes. Also the response and google.rpc.Status
 * readers, on what a receiver sends.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "arena.h"
#include "bytes.h"
#include "otlp_json.h"
#include "otlp_flags.h"
#include "otlp_proto.h"
#include "otlp_wire.h"
#include "resource.h"
#include "rpc_status.pb-c.h"
#include "span.h"
#include "test.h"
#include "trace_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest Request;

static const uint8_t trace_id[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                     0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
static const uint8_t span_id[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
static const uint8_t parent_id[8] = {0x53, 0x99, 0x5c, 0x3f, 0x42, 0xcd, 0x8a, 0xd8};

static char scratch_first[4096];

/* ---- the reference: protobuf-c packing its own message tree ---- */

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

static int reference_request(struct tg_bytes *out, struct tg_arena *scratch,
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


static struct tg_span *server_span(void)
{
    struct tg_span *s = tg_span_create(NULL, trace_id, span_id, parent_id, TG_SPAN_SERVER,
                                       1700000000123456789LL);
    s->parent_remote = true;
    s->flags = 0x01;
    s->end_unix_ns = 1700000000223456789LL;
    tg_span_set_name(s, "GET /api/*", 10);
    tg_span_attr_str(s, "http.request.method", "GET", 3);
    tg_span_attr_int(s, "http.response.status_code", 503);
    tg_span_attr_bool(s, "tracegate.upstream.connection_reused", true);
    tg_span_attr_double(s, "ratio", 0.25);
    tg_span_event(s, "response.first_byte", 1700000000200000000LL);
    const char *ts = "vendor=x";
    s->trace_state = tg_span_store(s, ts, 8, &s->trace_state_len);
    s->has_link = true;
    memcpy(s->link.trace_id, parent_id, 8);
    memcpy(s->link.trace_id + 8, span_id, 8);
    memcpy(s->link.span_id, span_id, 8);
    s->link.flags = 1;
    tg_span_set_status(s, TG_STATUS_ERROR, "upstream answered 503", 21);
    return s;
}

static const Opentelemetry__Proto__Common__V1__AnyValue *attr(
    Opentelemetry__Proto__Common__V1__KeyValue **kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kv[i]->key, key) == 0)
            return kv[i]->value;
    return NULL;
}

static void request_round_trips(void)
{
    struct tg_otlp_resource res;
    CHECK(tg_otlp_resource_init(&res, "tracegate", "1.2.3") == 0);
    CHECK(tg_otlp_resource_set_str(&res, "service.name", "edge") == 0);
    CHECK(tg_otlp_resource_set_int(&res, "process.pid", 4242) == 0);
    struct tg_span *spans[2] = {server_span(), NULL};
    spans[1] = tg_span_create(NULL, trace_id, parent_id, NULL, TG_SPAN_CLIENT, 5);
    spans[1]->end_unix_ns = 6;
    tg_span_set_name(spans[1], "GET", 3);

    struct tg_bytes out;
    tg_bytes_init(&out, 1 << 20);
    CHECK(tg_bytes_append(&out, "xy", 2) == 0);  /* appends after what is there */
    struct tg_arena scratch;
    tg_arena_init(&scratch, scratch_first, sizeof(scratch_first), 1 << 20);
    CHECK(tg_otlp_wire_request(&out, &res, spans, 2) == 0);
    Request *r = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
        NULL, out.len - 2, out.data + 2);
    CHECK(r != NULL);
    if (r) {
        CHECK(r->n_resource_spans == 1);
        Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = r->resource_spans[0];
        CHECK(rs->resource->n_attributes == 2);
        const Opentelemetry__Proto__Common__V1__AnyValue *v =
            attr(rs->resource->attributes, rs->resource->n_attributes, "service.name");
        CHECK(v && strcmp(v->string_value, "edge") == 0);
        v = attr(rs->resource->attributes, rs->resource->n_attributes, "process.pid");
        CHECK(v && v->int_value == 4242);
        CHECK(rs->n_scope_spans == 1);
        CHECK_STR(rs->scope_spans[0]->scope->name, "tracegate");
        CHECK_STR(rs->scope_spans[0]->scope->version, "1.2.3");
        CHECK(rs->scope_spans[0]->n_spans == 2);
        Opentelemetry__Proto__Trace__V1__Span *m = rs->scope_spans[0]->spans[0];
        CHECK(m->trace_id.len == 16 && memcmp(m->trace_id.data, trace_id, 16) == 0);
        CHECK(m->span_id.len == 8 && memcmp(m->span_id.data, span_id, 8) == 0);
        CHECK(m->parent_span_id.len == 8 && memcmp(m->parent_span_id.data, parent_id, 8) == 0);
        CHECK(m->flags == 0x301);
        CHECK_STR(m->trace_state, "vendor=x");
        CHECK_STR(m->name, "GET /api/*");
        CHECK(m->kind == 2);
        CHECK(m->start_time_unix_nano == 1700000000123456789ULL);
        CHECK(m->end_time_unix_nano == 1700000000223456789ULL);
        CHECK(m->n_attributes == 4);
        v = attr(m->attributes, m->n_attributes, "http.request.method");
        CHECK(v && strcmp(v->string_value, "GET") == 0);
        v = attr(m->attributes, m->n_attributes, "http.response.status_code");
        CHECK(v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE &&
              v->int_value == 503);
        v = attr(m->attributes, m->n_attributes, "tracegate.upstream.connection_reused");
        CHECK(v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE &&
              v->bool_value);
        v = attr(m->attributes, m->n_attributes, "ratio");
        CHECK(v && v->double_value == 0.25);
        CHECK(m->n_events == 1 && strcmp(m->events[0]->name, "response.first_byte") == 0 &&
              m->events[0]->time_unix_nano == 1700000000200000000ULL);
        CHECK(m->n_links == 1 && m->links[0]->flags == 0x301 &&
              memcmp(m->links[0]->span_id.data, span_id, 8) == 0);
        CHECK(m->status && m->status->code == 2 &&
              strcmp(m->status->message, "upstream answered 503") == 0);
        Opentelemetry__Proto__Trace__V1__Span *c = rs->scope_spans[0]->spans[1];
        CHECK(c->parent_span_id.len == 0);  /* a root span has none */
        CHECK(c->flags == 0x100);
        CHECK(c->kind == 3);
        CHECK(c->status == NULL);  /* Unset is the default: not sent */
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
            r, NULL);
    }
    /* A buffer limit too small for the batch leaves out unchanged. */
    struct tg_bytes small;
    tg_bytes_init(&small, 64);
    CHECK(tg_otlp_wire_request(&small, &res, spans, 2) == -EMSGSIZE);
    CHECK(small.len == 0);
    tg_bytes_free(&small);
    /* Byte for byte what protobuf-c packs for the same message. */
    struct tg_bytes ref;
    tg_bytes_init(&ref, 1 << 20);
    CHECK(reference_request(&ref, &scratch, &res, spans, 2) == 0);
    CHECK(ref.len == out.len - 2 && memcmp(ref.data, out.data + 2, ref.len) == 0);
    tg_bytes_free(&ref);
    tg_bytes_free(&out);
    tg_arena_fini(&scratch);
    tg_span_destroy(spans[0]);
    tg_span_destroy(spans[1]);
    tg_otlp_resource_fini(&res);
}

static void response_reader(void)
{
    int64_t rejected = -1;
    char msg[64];
    CHECK(tg_otlp_proto_response(NULL, 0, &rejected, msg, sizeof(msg)) == 0);
    CHECK(rejected == 0 && msg[0] == '\0');

    Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess ps =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse resp =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
    ps.rejected_spans = 7;
    ps.error_message = "7 spans had an empty name";
    resp.partial_success = &ps;
    uint8_t buf[128];
    size_t n = opentelemetry__proto__collector__trace__v1__export_trace_service_response__pack(
        &resp, buf);
    CHECK(tg_otlp_proto_response(buf, n, &rejected, msg, sizeof(msg)) == 0);
    CHECK(rejected == 7);
    CHECK_STR(msg, "7 spans had an empty name");
    /* Cut to fit, NUL-terminated. */
    char small[8];
    CHECK(tg_otlp_proto_response(buf, n, &rejected, small, sizeof(small)) == 0);
    CHECK_STR(small, "7 spans");
    /* Garbage is an error, not a success. */
    const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff};
    CHECK(tg_otlp_proto_response(junk, sizeof(junk), &rejected, msg, sizeof(msg)) == -EPROTO);

    /* JSON: 64-bit counts as strings, and as numbers too. */
    const char *j = "{\"partialSuccess\":{\"rejectedSpans\":\"3\",\"errorMessage\":\"bad ids\"}}";
    CHECK(tg_otlp_json_response(j, strlen(j), &rejected, msg, sizeof(msg)) == 0);
    CHECK(rejected == 3);
    CHECK_STR(msg, "bad ids");
    j = "{\"partialSuccess\":{\"rejectedSpans\":2}}";
    CHECK(tg_otlp_json_response(j, strlen(j), &rejected, msg, sizeof(msg)) == 0);
    CHECK(rejected == 2 && msg[0] == '\0');
    CHECK(tg_otlp_json_response("{}", 2, &rejected, msg, sizeof(msg)) == 0 && rejected == 0);
    CHECK(tg_otlp_json_response(" \n", 2, &rejected, msg, sizeof(msg)) == 0 && rejected == 0);
    CHECK(tg_otlp_json_response("[1]", 3, &rejected, msg, sizeof(msg)) == -EPROTO);
    j = "{\"partialSuccess\":{\"rejectedSpans\":\"-1\"}}";
    CHECK(tg_otlp_json_response(j, strlen(j), &rejected, msg, sizeof(msg)) == -EPROTO);
}

static void rpc_status_reader(void)
{
    Google__Rpc__Duration d = GOOGLE__RPC__DURATION__INIT;
    Google__Rpc__RetryInfo ri = GOOGLE__RPC__RETRY_INFO__INIT;
    d.seconds = 2;
    d.nanos = 500000000;
    ri.retry_delay = &d;
    uint8_t ribuf[32];
    size_t rin = google__rpc__retry_info__pack(&ri, ribuf);
    Google__Rpc__Any other = GOOGLE__RPC__ANY__INIT, any = GOOGLE__RPC__ANY__INIT;
    other.type_url = "type.googleapis.com/google.rpc.DebugInfo";
    any.type_url = "type.googleapis.com/google.rpc.RetryInfo";
    any.value.len = rin;
    any.value.data = ribuf;
    Google__Rpc__Any *details[2] = {&other, &any};
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    st.code = 8;
    st.message = "slow down";
    st.n_details = 2;
    st.details = details;
    uint8_t buf[256];
    size_t n = google__rpc__status__pack(&st, buf);
    char msg[32];
    int64_t delay = 0;
    CHECK(tg_otlp_rpc_status(buf, n, msg, sizeof(msg), &delay) == 0);
    CHECK_STR(msg, "slow down");
    CHECK(delay == 2500);
    st.n_details = 1;
    n = google__rpc__status__pack(&st, buf);
    CHECK(tg_otlp_rpc_status(buf, n, msg, sizeof(msg), &delay) == 0);
    CHECK(delay == -1);
}

static void json_request_envelope(void)
{
    struct tg_otlp_resource res;
    CHECK(tg_otlp_resource_init(&res, "tracegate", "1.2.3") == 0);
    CHECK(tg_otlp_resource_set_str(&res, "service.name", "edge \"1\"") == 0);
    struct tg_span *s = server_span();
    struct tg_bytes out;
    tg_bytes_init(&out, 1 << 20);
    CHECK(tg_otlp_json_request(&out, &res, &s, 1) == 0);
    CHECK(out.len > 0);
    const char *want_head = "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":"
                            "\"service.name\",\"value\":{\"stringValue\":\"edge \\\"1\\\"\"}}]},"
                            "\"scopeSpans\":[{\"scope\":{\"name\":\"tracegate\",\"version\":"
                            "\"1.2.3\"},\"spans\":[{\"traceId\":";
    CHECK(out.len > strlen(want_head) && memcmp(out.data, want_head, strlen(want_head)) == 0);
    CHECK(memcmp(out.data + out.len - 6, "]}]}]}", 6) == 0);
    /* Too small a limit: an error, and nothing half-written stays. */
    struct tg_bytes small;
    tg_bytes_init(&small, 100);
    CHECK(tg_otlp_json_request(&small, &res, &s, 1) == -EMSGSIZE);
    CHECK(small.len == 0);
    tg_bytes_free(&small);
    tg_bytes_free(&out);
    tg_span_destroy(s);
    tg_otlp_resource_fini(&res);
}

static void resource_attributes_list(void)
{
    struct tg_otlp_resource r;
    char err[128];
    CHECK(tg_otlp_resource_init(&r, "s", "v") == 0);
    CHECK(tg_otlp_resource_set_str(&r, "service.name", "tracegate") == 0);
    CHECK(tg_otlp_resource_parse(&r, " service.name = checkout ,deployment.environment.name="
                                     "prod%20eu,team=a%2Cb,", err, sizeof(err)) == 0);
    CHECK(r.count == 3);
    CHECK(strcmp(tg_otlp_resource_get(&r, "service.name")->v.s.p, "checkout") == 0);
    CHECK(strcmp(tg_otlp_resource_get(&r, "deployment.environment.name")->v.s.p, "prod eu") == 0);
    CHECK(strcmp(tg_otlp_resource_get(&r, "team")->v.s.p, "a,b") == 0);
    /* A bad list changes nothing. */
    CHECK(tg_otlp_resource_parse(&r, "a=1,broken", err, sizeof(err)) == -EINVAL);
    CHECK(strstr(err, "broken") != NULL);
    CHECK(tg_otlp_resource_get(&r, "a") == NULL);
    CHECK(tg_otlp_resource_parse(&r, "a=%zz", err, sizeof(err)) == -EINVAL);
    CHECK(tg_otlp_resource_parse(&r, "a=%00", err, sizeof(err)) == -EINVAL);
    CHECK(tg_otlp_resource_parse(&r, "=x", err, sizeof(err)) == -EINVAL);
    CHECK(r.count == 3);
    /* Bounded. */
    for (int i = 0; i < TG_OTLP_RESOURCE_MAX; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        tg_otlp_resource_set_int(&r, k, i);
    }
    CHECK(r.count == TG_OTLP_RESOURCE_MAX);
    CHECK(tg_otlp_resource_set_int(&r, "one.more", 1) == -ENOSPC);
    tg_otlp_resource_fini(&r);
}

static uint64_t rnd(void)
{
    static uint64_t x = 0x9e3779b97f4a7c15ULL;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

/* Spans of every shape (random attribute types and values, negative ints,
 * empty and long strings, events, links, status, dropped counts): the wire
 * encoder and protobuf-c agree byte for byte. */
static void random_spans_match_protobuf_c(void)
{
#define RND() rnd()
    struct tg_otlp_resource res;
    CHECK(tg_otlp_resource_init(&res, "tracegate", "") == 0);  /* empty version: omitted */
    struct tg_arena scratch;
    tg_arena_init(&scratch, scratch_first, sizeof(scratch_first), 8 << 20);
    char text[600];
    for (int round = 0; round < 50; round++) {
        struct tg_span *spans[20];
        size_t n = 1 + RND() % 20;
        for (size_t i = 0; i < n; i++) {
            uint8_t tid[16], sid[8];
            for (int b = 0; b < 16; b++)
                tid[b] = (uint8_t)RND();
            for (int b = 0; b < 8; b++)
                sid[b] = (uint8_t)RND();
            struct tg_span *s = tg_span_create(NULL, tid, sid, RND() % 2 ? sid : NULL,
                                               (enum tg_span_kind)(RND() % 4), (int64_t)RND());
            s->end_unix_ns = (int64_t)RND();
            s->flags = (uint8_t)RND();
            s->parent_remote = RND() % 2;
            size_t len = RND() % sizeof(text);
            for (size_t c = 0; c < len; c++)
                text[c] = (char)('a' + RND() % 26);
            tg_span_set_name(s, text, RND() % 40);
            for (int a = 0, na = (int)(RND() % 45); a < na; a++) {
                switch (RND() % 4) {
                case 0:
                    tg_span_attr_str(s, "k.str", text, RND() % 2 ? len : 0);
                    break;
                case 1:
                    tg_span_attr_int(s, "k.int", (int64_t)RND());
                    break;
                case 2:
                    tg_span_attr_bool(s, "k.bool", RND() % 2);
                    break;
                default:
                    tg_span_attr_double(s, "k.double", (double)(int64_t)RND() / 7.0);
                }
            }
            for (int e = 0, ne = (int)(RND() % 10); e < ne; e++)
                tg_span_event(s, "ev", (int64_t)RND());
            if (RND() % 3 == 0)
                s->trace_state = tg_span_store(s, "a=1,b=2", 7, &s->trace_state_len);
            if (RND() % 3 == 0) {
                s->has_link = true;
                memcpy(s->link.trace_id, tid, 16);
                memcpy(s->link.span_id, sid, 8);
            }
            if (RND() % 2)
                tg_span_set_status(s, (enum tg_status_code)(RND() % 3), text, RND() % 30);
            spans[i] = s;
        }
        struct tg_bytes a, b;
        tg_bytes_init(&a, 16 << 20);
        tg_bytes_init(&b, 16 << 20);
        CHECK(tg_otlp_wire_request(&a, &res, spans, n) == 0);
        CHECK(reference_request(&b, &scratch, &res, spans, n) == 0);
        bool same = a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
        CHECK(same);
        if (!same)
            fprintf(stderr, "  round %d: %zu vs %zu bytes\n", round, a.len, b.len);
        tg_bytes_free(&a);
        tg_bytes_free(&b);
        for (size_t i = 0; i < n; i++)
            tg_span_destroy(spans[i]);
    }
#undef RND
    tg_arena_fini(&scratch);
    tg_otlp_resource_fini(&res);
}

int main(void)
{
    RUN(request_round_trips);
    RUN(random_spans_match_protobuf_c);
    RUN(response_reader);
    RUN(rpc_status_reader);
    RUN(json_request_envelope);
    RUN(resource_attributes_list);
    return TEST_SUMMARY();
}
