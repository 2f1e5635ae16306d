#include "span.h"

#include "spanpool.h"

#include <stdlib.h>
#include <string.h>

struct tg_span *tg_span_create(struct tg_spanpool *pool,
                               const uint8_t trace_id[16], const uint8_t span_id[8],
                               const uint8_t *parent_span_id, enum tg_span_kind kind,
                               int64_t start_unix_ns)
{
    /* Only the header is cleared: attrs, events and data are written before
     * they are read (counts say how much is valid). */
    struct tg_span *s = pool ? tg_spanpool_get(pool) : malloc(sizeof(*s));
    if (!s)
        return NULL;
    memset(s, 0, offsetof(struct tg_span, attrs));
    s->pool = pool;
    s->data_len = 0;
    memcpy(s->trace_id, trace_id, 16);
    memcpy(s->span_id, span_id, 8);
    if (parent_span_id) {
        memcpy(s->parent_span_id, parent_span_id, 8);
        s->has_parent = true;
    }
    s->kind = (uint8_t)kind;
    s->start_unix_ns = start_unix_ns;
    return s;
}

void tg_span_destroy(struct tg_span *s)
{
    if (s && s->pool)
        tg_spanpool_put(s->pool, s);
    else
        free(s);
}

/* Longest prefix of str[0..len) that is at most max bytes and does not end
 * inside a UTF-8 sequence. */
static size_t utf8_cut(const char *str, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    /* Step back over continuation bytes to the start of the cut sequence. */
    while (n > 0 && ((unsigned char)str[n] & 0xC0) == 0x80)
        n--;
    return n;
}

const char *tg_span_store(struct tg_span *s, const char *str, size_t len, uint32_t *out_len)
{
    size_t room = TG_SPAN_DATA_BYTES - s->data_len;
    size_t n = utf8_cut(str, len, room);
    if (n == 0 && len > 0)
        return NULL;
    char *dst = s->data + s->data_len;
    /* An absent value arrives as (NULL, 0); memcpy from NULL is undefined
     * even for zero bytes. */
    if (n > 0)
        memcpy(dst, str, n);
    s->data_len += (uint32_t)n;
    *out_len = (uint32_t)n;
    return dst;
}

void tg_span_set_name(struct tg_span *s, const char *name, size_t len)
{
    s->name = tg_span_store(s, name, len, &s->name_len);
    if (!s->name) {
        s->name = "";
        s->name_len = 0;
    }
}

static struct tg_attr *new_attr(struct tg_span *s, const char *key, size_t key_len)
{
    if (s->attr_count >= TG_SPAN_MAX_ATTRS) {
        s->dropped_attrs++;
        return NULL;
    }
    struct tg_attr *a = &s->attrs[s->attr_count++];
    a->key = key;
    a->key_len = (uint16_t)key_len;
    return a;
}

/* A string attribute; a dynamic key is copied into the span first. */
static void add_str(struct tg_span *s, const char *key, size_t key_len, bool copy_key,
                    const char *val, size_t len)
{
    if (s->attr_count >= TG_SPAN_MAX_ATTRS || key_len > UINT16_MAX) {
        s->dropped_attrs++;
        return;
    }
    if (copy_key) {
        /* The whole key or nothing: a cut key would name another attribute. */
        if (key_len > TG_SPAN_DATA_BYTES - s->data_len) {
            s->dropped_attrs++;
            return;
        }
        uint32_t klen;
        key = tg_span_store(s, key, key_len, &klen);
    }
    uint32_t vlen = 0;
    const char *v = tg_span_store(s, val, len, &vlen);
    struct tg_attr *a = new_attr(s, key, key_len);
    a->type = TG_ATTR_STRING;
    a->v.s.p = v ? v : "";
    a->v.s.len = vlen;
}

void tg_span_attr_str(struct tg_span *s, const char *key, const char *val, size_t len)
{
    add_str(s, key, strlen(key), false, val, len);
}

void tg_span_attr_str_dyn(struct tg_span *s, const char *key, size_t key_len,
                          const char *val, size_t len)
{
    add_str(s, key, key_len, true, val, len);
}

void tg_span_attr_int(struct tg_span *s, const char *key, int64_t v)
{
    struct tg_attr *a = new_attr(s, key, strlen(key));
    if (a) {
        a->type = TG_ATTR_INT;
        a->v.i = v;
    }
}

void tg_span_attr_bool(struct tg_span *s, const char *key, bool v)
{
    struct tg_attr *a = new_attr(s, key, strlen(key));
    if (a) {
        a->type = TG_ATTR_BOOL;
        a->v.b = v;
    }
}

void tg_span_attr_double(struct tg_span *s, const char *key, double v)
{
    struct tg_attr *a = new_attr(s, key, strlen(key));
    if (a) {
        a->type = TG_ATTR_DOUBLE;
        a->v.d = v;
    }
}

void tg_span_event(struct tg_span *s, const char *name, int64_t time_unix_ns)
{
    if (s->event_count >= TG_SPAN_MAX_EVENTS) {
        s->dropped_events++;
        return;
    }
    s->events[s->event_count].name = name;
    s->events[s->event_count].time_unix_ns = time_unix_ns;
    s->event_count++;
}

void tg_span_set_status(struct tg_span *s, enum tg_status_code code, const char *msg,
                        size_t len)
{
    s->status = (uint8_t)code;
    s->status_message = NULL;
    s->status_message_len = 0;
    if (code == TG_STATUS_ERROR && msg && len > 0)
        s->status_message = tg_span_store(s, msg, len, &s->status_message_len);
}
