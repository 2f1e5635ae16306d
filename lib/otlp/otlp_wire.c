#include "otlp_wire.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otlp_flags.h"

/* Wire types. */
#define VARINT 0
#define I64 1
#define LEN 2
#define I32 5

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* A length-delimited field of len bytes, tag included (field < 16). */
static size_t len_field(size_t len)
{
    return 1 + varint_size(len) + len;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static uint8_t *put_tag(uint8_t *p, unsigned field, unsigned type)
{
    return put_varint(p, (uint64_t)field << 3 | type);
}

static uint8_t *put_len(uint8_t *p, unsigned field, size_t len)
{
    p = put_tag(p, field, LEN);
    return put_varint(p, len);
}

static uint8_t *put_bytes(uint8_t *p, unsigned field, const void *b, size_t len)
{
    p = put_len(p, field, len);
    memcpy(p, b, len);
    return p + len;
}

static uint8_t *put_fixed64(uint8_t *p, unsigned field, uint64_t v)
{
    p = put_tag(p, field, I64);
    for (int i = 0; i < 8; i++)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static uint8_t *put_fixed32(uint8_t *p, unsigned field, uint32_t v)
{
    p = put_tag(p, field, I32);
    for (int i = 0; i < 4; i++)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

/* --- AnyValue, KeyValue ------------------------------------------------- */

static size_t any_size(const struct tg_attr *a)
{
    switch (a->type) {
    case TG_ATTR_STRING:
        return len_field(a->v.s.len);          /* string_value = 1 */
    case TG_ATTR_INT:
        return 1 + varint_size((uint64_t)a->v.i);  /* int_value = 3 */
    case TG_ATTR_BOOL:
        return 2;                               /* bool_value = 2 */
    case TG_ATTR_DOUBLE:
        return 9;                               /* double_value = 4 */
    }
    return 0;
}

static uint8_t *put_any(uint8_t *p, const struct tg_attr *a)
{
    switch (a->type) {
    case TG_ATTR_STRING:
        return put_bytes(p, 1, a->v.s.p, a->v.s.len);
    case TG_ATTR_INT:
        p = put_tag(p, 3, VARINT);
        return put_varint(p, (uint64_t)a->v.i);
    case TG_ATTR_BOOL:
        p = put_tag(p, 2, VARINT);
        *p++ = a->v.b ? 1 : 0;
        return p;
    case TG_ATTR_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &a->v.d, 8);
        return put_fixed64(p, 4, bits);
    }
    }
    return p;
}

/* KeyValue body: key = 1, value = 2. */
static size_t kv_size(const struct tg_attr *a)
{
    return len_field(a->key_len) + len_field(any_size(a));
}

static uint8_t *put_kv(uint8_t *p, unsigned field, const struct tg_attr *a)
{
    p = put_len(p, field, kv_size(a));
    p = put_bytes(p, 1, a->key, a->key_len);
    p = put_len(p, 2, any_size(a));
    return put_any(p, a);
}

static size_t attrs_size(const struct tg_attr *attrs, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += len_field(kv_size(&attrs[i]));
    return total;
}

/* --- Span ----------------------------------------------------------------- */

static size_t event_size(const struct tg_event *e)
{
    return 9 + len_field(strlen(e->name));  /* time_unix_nano = 1, name = 2 */
}

static size_t link_size(const struct tg_link *l)
{
    size_t n = len_field(16) + len_field(8) + 5;  /* ids, flags = 6 */
    if (l->trace_state && l->trace_state_len)
        n += len_field(l->trace_state_len);
    return n;
}

static bool has_status(const struct tg_span *s)
{
    return s->status != TG_STATUS_UNSET || (s->status_message && s->status_message_len);
}

static size_t status_size(const struct tg_span *s)
{
    size_t n = 0;
    if (s->status_message && s->status_message_len)
        n += len_field(s->status_message_len);   /* message = 2 */
    if (s->status != TG_STATUS_UNSET)
        n += 2;                                   /* code = 3 */
    return n;
}

static size_t span_size(const struct tg_span *s)
{
    size_t n = len_field(16) + len_field(8);      /* trace_id = 1, span_id = 2 */
    if (s->trace_state && s->trace_state_len)
        n += len_field(s->trace_state_len);       /* trace_state = 3 */
    if (s->has_parent)
        n += len_field(8);                        /* parent_span_id = 4 */
    if (s->name_len)
        n += len_field(s->name_len);              /* name = 5 */
    if (s->kind)
        n += 2;                                   /* kind = 6 */
    n += 9 + 9;                                   /* start = 7, end = 8 */
    n += attrs_size(s->attrs, s->attr_count);     /* attributes = 9 */
    if (s->dropped_attrs)
        n += 1 + varint_size(s->dropped_attrs);   /* = 10 */
    for (uint16_t i = 0; i < s->event_count; i++)
        n += len_field(event_size(&s->events[i])); /* events = 11 */
    if (s->dropped_events)
        n += 1 + varint_size(s->dropped_events);  /* = 12 */
    if (s->has_link)
        n += len_field(link_size(&s->link));      /* links = 13 */
    if (has_status(s))
        n += len_field(status_size(s));           /* status = 15 */
    n += 2 + 4;                                   /* flags = 16: a two-byte tag */
    return n;
}

static uint8_t *put_span(uint8_t *p, const struct tg_span *s)
{
    p = put_bytes(p, 1, s->trace_id, 16);
    p = put_bytes(p, 2, s->span_id, 8);
    if (s->trace_state && s->trace_state_len)
        p = put_bytes(p, 3, s->trace_state, s->trace_state_len);
    if (s->has_parent)
        p = put_bytes(p, 4, s->parent_span_id, 8);
    if (s->name_len)
        p = put_bytes(p, 5, s->name, s->name_len);
    if (s->kind) {
        p = put_tag(p, 6, VARINT);
        *p++ = s->kind;
    }
    p = put_fixed64(p, 7, (uint64_t)s->start_unix_ns);
    p = put_fixed64(p, 8, (uint64_t)s->end_unix_ns);
    for (uint16_t i = 0; i < s->attr_count; i++)
        p = put_kv(p, 9, &s->attrs[i]);
    if (s->dropped_attrs) {
        p = put_tag(p, 10, VARINT);
        p = put_varint(p, s->dropped_attrs);
    }
    for (uint16_t i = 0; i < s->event_count; i++) {
        const struct tg_event *e = &s->events[i];
        p = put_len(p, 11, event_size(e));
        p = put_fixed64(p, 1, (uint64_t)e->time_unix_ns);
        p = put_bytes(p, 2, e->name, strlen(e->name));
    }
    if (s->dropped_events) {
        p = put_tag(p, 12, VARINT);
        p = put_varint(p, s->dropped_events);
    }
    if (s->has_link) {
        const struct tg_link *l = &s->link;
        p = put_len(p, 13, link_size(l));
        p = put_bytes(p, 1, l->trace_id, 16);
        p = put_bytes(p, 2, l->span_id, 8);
        if (l->trace_state && l->trace_state_len)
            p = put_bytes(p, 3, l->trace_state, l->trace_state_len);
        p = put_fixed32(p, 6, tg_otlp_link_flags(l));
    }
    if (has_status(s)) {
        p = put_len(p, 15, status_size(s));
        if (s->status_message && s->status_message_len)
            p = put_bytes(p, 2, s->status_message, s->status_message_len);
        if (s->status != TG_STATUS_UNSET) {
            p = put_tag(p, 3, VARINT);
            *p++ = s->status;
        }
    }
    return put_fixed32(p, 16, tg_otlp_span_flags(s));
}

/* --- the request ---------------------------------------------------------- */

int tg_otlp_wire_request(struct tg_bytes *out, const struct tg_otlp_resource *res,
                         struct tg_span *const *spans, size_t n)
{
    /* Sizes first: every length prefix is known before its message. Each
     * span is sized once; the sizes are kept for the writing pass. */
    size_t *sizes = malloc((n ? n : 1) * sizeof(*sizes));
    if (!sizes)
        return -ENOMEM;
    size_t resource = attrs_size(res->attrs, res->count);   /* Resource.attributes = 1 */
    size_t name_len = strlen(res->scope_name), version_len = strlen(res->scope_version);
    size_t scope = (name_len ? len_field(name_len) : 0) + (version_len ? len_field(version_len) : 0);
    size_t scope_spans = len_field(scope);                     /* ScopeSpans.scope = 1 */
    for (size_t i = 0; i < n; i++) {
        sizes[i] = span_size(spans[i]);
        scope_spans += len_field(sizes[i]);                    /* ScopeSpans.spans = 2 */
    }
    size_t resource_spans = len_field(resource) + len_field(scope_spans);
    size_t total = len_field(resource_spans);                 /* resource_spans = 1 */

    int rc = tg_bytes_reserve(out, total);
    if (rc < 0)
        goto out;
    uint8_t *start = out->data + out->len, *p = start;
    p = put_len(p, 1, resource_spans);
    p = put_len(p, 1, resource);
    for (size_t i = 0; i < res->count; i++)
        p = put_kv(p, 1, &res->attrs[i]);
    p = put_len(p, 2, scope_spans);
    p = put_len(p, 1, scope);
    if (name_len)
        p = put_bytes(p, 1, res->scope_name, name_len);
    if (version_len)
        p = put_bytes(p, 2, res->scope_version, version_len);
    for (size_t i = 0; i < n; i++) {
        p = put_len(p, 2, sizes[i]);
        p = put_span(p, spans[i]);
    }
    if ((size_t)(p - start) != total) {
        rc = -EPROTO;  /* a sizing bug; never send a corrupt request */
        goto out;
    }
    out->len += total;
out:
    free(sizes);
    return rc;
}
