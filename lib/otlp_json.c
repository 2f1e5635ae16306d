#include "otlp_json.h"

#include "tracecontext.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void put_hex(struct tg_strbuf *sb, const uint8_t *id, size_t n)
{
    char buf[2 * 16 + 1];
    tg_hex_encode(id, n, buf);
    tg_strbuf_putc(sb, '"');
    tg_strbuf_append(sb, buf, 2 * n);
    tg_strbuf_putc(sb, '"');
}

static void put_key(struct tg_strbuf *sb, const char *key)
{
    tg_strbuf_putc(sb, '"');
    tg_strbuf_puts(sb, key);
    tg_strbuf_puts(sb, "\":");
}

static void put_i64_string(struct tg_strbuf *sb, int64_t v)
{
    tg_strbuf_putc(sb, '"');
    tg_strbuf_i64(sb, v);
    tg_strbuf_putc(sb, '"');
}

static void put_string(struct tg_strbuf *sb, const char *s, size_t len)
{
    /* Span strings are already bounded by the span store. */
    tg_strbuf_json_string(sb, s, len, SIZE_MAX);
}

static void put_double(struct tg_strbuf *sb, double d)
{
    if (isnan(d)) {
        tg_strbuf_puts(sb, "\"NaN\"");
    } else if (isinf(d)) {
        tg_strbuf_puts(sb, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    } else {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%.17g", d);
        tg_strbuf_append(sb, buf, (size_t)n);
    }
}

static void put_attr(struct tg_strbuf *sb, const struct tg_attr *a)
{
    tg_strbuf_puts(sb, "{\"key\":");
    put_string(sb, a->key, a->key_len);
    tg_strbuf_puts(sb, ",\"value\":{");
    switch (a->type) {
    case TG_ATTR_STRING:
        put_key(sb, "stringValue");
        put_string(sb, a->v.s.p, a->v.s.len);
        break;
    case TG_ATTR_INT:
        put_key(sb, "intValue");
        put_i64_string(sb, a->v.i);
        break;
    case TG_ATTR_BOOL:
        put_key(sb, "boolValue");
        tg_strbuf_puts(sb, a->v.b ? "true" : "false");
        break;
    case TG_ATTR_DOUBLE:
        put_key(sb, "doubleValue");
        put_double(sb, a->v.d);
        break;
    }
    tg_strbuf_puts(sb, "}}");
}

void tg_otlp_json_span(struct tg_strbuf *sb, const struct tg_span *s)
{
    tg_strbuf_putc(sb, '{');
    put_key(sb, "traceId");
    put_hex(sb, s->trace_id, 16);
    tg_strbuf_putc(sb, ',');
    put_key(sb, "spanId");
    put_hex(sb, s->span_id, 8);
    if (s->trace_state) {
        tg_strbuf_putc(sb, ',');
        put_key(sb, "traceState");
        put_string(sb, s->trace_state, s->trace_state_len);
    }
    if (s->has_parent) {
        tg_strbuf_putc(sb, ',');
        put_key(sb, "parentSpanId");
        put_hex(sb, s->parent_span_id, 8);
    }
    uint32_t flags = s->flags | TG_SPAN_FLAGS_HAS_IS_REMOTE;
    if (s->has_parent && s->parent_remote)
        flags |= TG_SPAN_FLAGS_IS_REMOTE;
    tg_strbuf_puts(sb, ",\"flags\":");
    tg_strbuf_u64(sb, flags);
    tg_strbuf_putc(sb, ',');
    put_key(sb, "name");
    put_string(sb, s->name ? s->name : "", s->name_len);
    tg_strbuf_puts(sb, ",\"kind\":");
    tg_strbuf_u64(sb, s->kind);
    tg_strbuf_putc(sb, ',');
    put_key(sb, "startTimeUnixNano");
    put_i64_string(sb, s->start_unix_ns);
    tg_strbuf_putc(sb, ',');
    put_key(sb, "endTimeUnixNano");
    put_i64_string(sb, s->end_unix_ns);
    tg_strbuf_puts(sb, ",\"attributes\":[");
    for (uint16_t i = 0; i < s->attr_count; i++) {
        if (i)
            tg_strbuf_putc(sb, ',');
        put_attr(sb, &s->attrs[i]);
    }
    tg_strbuf_putc(sb, ']');
    if (s->dropped_attrs) {
        tg_strbuf_puts(sb, ",\"droppedAttributesCount\":");
        tg_strbuf_u64(sb, s->dropped_attrs);
    }
    tg_strbuf_puts(sb, ",\"events\":[");
    for (uint16_t i = 0; i < s->event_count; i++) {
        if (i)
            tg_strbuf_putc(sb, ',');
        tg_strbuf_putc(sb, '{');
        put_key(sb, "timeUnixNano");
        put_i64_string(sb, s->events[i].time_unix_ns);
        tg_strbuf_putc(sb, ',');
        put_key(sb, "name");
        tg_strbuf_json_string(sb, s->events[i].name, strlen(s->events[i].name), SIZE_MAX);
        tg_strbuf_putc(sb, '}');
    }
    tg_strbuf_putc(sb, ']');
    if (s->dropped_events) {
        tg_strbuf_puts(sb, ",\"droppedEventsCount\":");
        tg_strbuf_u64(sb, s->dropped_events);
    }
    tg_strbuf_puts(sb, ",\"links\":[");
    if (s->has_link) {
        tg_strbuf_putc(sb, '{');
        put_key(sb, "traceId");
        put_hex(sb, s->link.trace_id, 16);
        tg_strbuf_putc(sb, ',');
        put_key(sb, "spanId");
        put_hex(sb, s->link.span_id, 8);
        if (s->link.trace_state) {
            tg_strbuf_putc(sb, ',');
            put_key(sb, "traceState");
            put_string(sb, s->link.trace_state, s->link.trace_state_len);
        }
        /* A link always points at a context that arrived from outside. */
        tg_strbuf_puts(sb, ",\"flags\":");
        tg_strbuf_u64(sb, (uint32_t)s->link.flags | TG_SPAN_FLAGS_HAS_IS_REMOTE |
                              TG_SPAN_FLAGS_IS_REMOTE);
        tg_strbuf_putc(sb, '}');
    }
    tg_strbuf_puts(sb, "],\"status\":{");
    put_key(sb, "code");
    tg_strbuf_u64(sb, s->status);
    if (s->status_message) {
        tg_strbuf_putc(sb, ',');
        put_key(sb, "message");
        put_string(sb, s->status_message, s->status_message_len);
    }
    tg_strbuf_puts(sb, "}}");
}
