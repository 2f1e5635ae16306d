#include "otlp_json.h"

#include "tracecontext.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
    tg_strbuf_puts(sb, ",\"flags\":");
    tg_strbuf_u64(sb, tg_otlp_span_flags(s));
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
        tg_strbuf_puts(sb, ",\"flags\":");
        tg_strbuf_u64(sb, tg_otlp_link_flags(&s->link));
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

int tg_otlp_json_request(struct tg_bytes *out, const struct tg_otlp_resource *res,
                         struct tg_span *const *spans, size_t n)
{
    size_t start = out->len;
    int rc = tg_bytes_reserve(out, TG_OTLP_JSON_SPAN_MAX);
    if (rc < 0)
        return rc;
    struct tg_strbuf sb;
    tg_strbuf_init(&sb, (char *)out->data + out->len, out->cap - out->len);
    tg_strbuf_puts(&sb, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[");
    for (size_t i = 0; i < res->count; i++) {
        if (i)
            tg_strbuf_putc(&sb, ',');
        put_attr(&sb, &res->attrs[i]);
    }
    tg_strbuf_puts(&sb, "]},\"scopeSpans\":[{\"scope\":{\"name\":");
    put_string(&sb, res->scope_name, strlen(res->scope_name));
    tg_strbuf_puts(&sb, ",\"version\":");
    put_string(&sb, res->scope_version, strlen(res->scope_version));
    tg_strbuf_puts(&sb, "},\"spans\":[");
    if (sb.truncated)
        goto fail;
    out->len += sb.len;
    for (size_t i = 0; i < n; i++) {
        if ((rc = tg_bytes_reserve(out, TG_OTLP_JSON_SPAN_MAX)) < 0)
            goto fail_rc;
        tg_strbuf_init(&sb, (char *)out->data + out->len, out->cap - out->len);
        if (i)
            tg_strbuf_putc(&sb, ',');
        tg_otlp_json_span(&sb, spans[i]);
        if (sb.truncated)
            goto fail;
        out->len += sb.len;
    }
    if ((rc = tg_bytes_append(out, "]}]}]}", 6)) < 0)
        goto fail_rc;
    return 0;
fail:
    rc = -EMSGSIZE;
fail_rc:
    out->len = start;
    return rc;
}

/* An int64 in OTLP/JSON: a decimal string, though a plain number is read
 * too. */
static bool json_int64(json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (!json_is_string(v))
        return false;
    char *end;
    errno = 0;
    long long n = strtoll(json_string_value(v), &end, 10);
    if (errno != 0 || end == json_string_value(v) || *end != '\0')
        return false;
    *out = n;
    return true;
}

int tg_otlp_json_response(const char *body, size_t len, int64_t *rejected, char *msg,
                          size_t msg_len)
{
    *rejected = 0;
    if (msg_len)
        msg[0] = '\0';
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
        i++;
    if (i == len)
        return 0;
    json_t *root = json_loadb(body, len, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return -EPROTO;
    }
    int rc = 0;
    json_t *ps = json_object_get(root, "partialSuccess");
    if (ps != NULL && !json_is_null(ps)) {
        json_t *r = json_object_get(ps, "rejectedSpans");
        json_t *m = json_object_get(ps, "errorMessage");
        if (!json_is_object(ps) || (r != NULL && !json_int64(r, rejected)) ||
            (m != NULL && !json_is_string(m))) {
            rc = -EPROTO;
        } else if (m != NULL && msg_len) {
            snprintf(msg, msg_len, "%s", json_string_value(m));
        }
        if (*rejected < 0)
            rc = -EPROTO;
    }
    json_decref(root);
    return rc;
}
