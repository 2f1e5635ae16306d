/*
 * The trace view as JSON (?format=json):
 *
 *   {"started": time, "spans_recorded": n, "samples_per_bucket": 4,
 *    "buckets": [{"label", "lower_ns", "upper_ns" (null: no bound)}...],
 *    "names": [{"name", "kind" ("any" for the "other" row), "other",
 *               "latency": [count per bucket], "errors": count,
 *               "samples": {"latency": [[sample...] per bucket],
 *                           "errors": [sample...]}}],
 *    "trace": [sample...]   only with ?trace_id=, every kept span of it}
 *
 * A sample: trace_id, span_id, parent_span_id (null for a root), name,
 * kind, start (RFC 3339), start_unix_ns, duration_ns, status, attributes
 * {key: string or integer}. Newest first. Runs with the store's lock held.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tracez_internal.h"

static json_t *sample_json(const struct tg_tracez_sample *s, const char *name)
{
    char hex[33], when[48];
    json_t *o = json_object();
    json_t *attrs = json_object();

    tg_tracez_hex(s->trace_id, 16, hex);
    json_object_set_new(o, "trace_id", json_string(hex));
    tg_tracez_hex(s->span_id, 8, hex);
    json_object_set_new(o, "span_id", json_string(hex));
    if (s->has_parent) {
        tg_tracez_hex(s->parent_span_id, 8, hex);
        json_object_set_new(o, "parent_span_id", json_string(hex));
    } else {
        json_object_set_new(o, "parent_span_id", json_null());
    }
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "kind", json_string(tg_tracez_kind_name(s->kind)));
    tg_tracez_time(s->start_unix_ns, when, sizeof(when));
    json_object_set_new(o, "start", json_string(when));
    json_object_set_new(o, "start_unix_ns", json_integer(s->start_unix_ns));
    json_object_set_new(o, "duration_ns", json_integer(s->duration_ns));
    json_object_set_new(o, "status", json_string(tg_tracez_status_name(s->status)));
    for (uint8_t i = 0; i < s->attr_count; i++) {
        const struct tg_tracez_attr *a = &s->attrs[i];
        json_object_set_new(attrs, tg_tracez_keys[a->key],
                            a->is_int ? json_integer(a->i)
                                      : json_stringn(s->text + a->off, a->len));
    }
    json_object_set_new(o, "attributes", attrs);
    return o;
}

static json_t *ring_json(const struct tg_tracez_ring *r, const struct tg_tracez_filter *f,
                         const char *name)
{
    const struct tg_tracez_sample *ss[TG_TRACEZ_SAMPLES];
    size_t n = tg_tracez_ring_samples(r, ss);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        if (tg_tracez_sample_matches(ss[i], f)) {
            json_array_append_new(a, sample_json(ss[i], name));
        }
    }
    return a;
}

static json_t *entry_json(const struct tg_tracez_entry *e, const struct tg_tracez_filter *f)
{
    json_t *o = json_object();
    json_t *latency = json_array();
    json_t *lat_samples = json_array();
    json_t *samples = json_object();

    json_object_set_new(o, "name", json_string(e->name));
    json_object_set_new(o, "kind", json_string(e->other ? "any" : tg_tracez_kind_name(e->kind)));
    json_object_set_new(o, "other", json_boolean(e->other));
    for (int b = 0; b < TG_TRACEZ_BUCKETS; b++) {
        json_array_append_new(latency, json_integer((json_int_t)e->latency[b]));
        json_array_append_new(lat_samples, ring_json(&e->rings[b], f, e->name));
    }
    json_object_set_new(o, "latency", latency);
    json_object_set_new(o, "errors", json_integer((json_int_t)e->errors));
    json_object_set_new(samples, "latency", lat_samples);
    json_object_set_new(samples, "errors", ring_json(&e->error_ring, f, e->name));
    json_object_set_new(o, "samples", samples);
    return o;
}

static json_t *trace_json(struct tg_tracez_entry **order, size_t n,
                          const struct tg_tracez_filter *f)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        for (int b = -1; b < TG_TRACEZ_BUCKETS; b++) {
            const struct tg_tracez_ring *r = b < 0 ? &order[i]->error_ring : &order[i]->rings[b];
            json_t *some = ring_json(r, f, order[i]->name);
            json_array_extend(a, some);
            json_decref(some);
        }
    }
    return a;
}

int tg_tracez_render_json(struct tg_tracez *t, const struct tg_tracez_filter *f,
                          struct tg_bytes *out)
{
    struct tg_tracez_entry *order[TG_TRACEZ_NAMES + 1];
    size_t n = tg_tracez_sorted(t, order);
    json_t *o = json_object();
    json_t *buckets = json_array();
    json_t *names = json_array();
    char since[48];

    tg_tracez_time(t->started_unix_ns, since, sizeof(since));
    json_object_set_new(o, "started", json_string(since));
    json_object_set_new(o, "spans_recorded", json_integer((json_int_t)t->spans));
    json_object_set_new(o, "samples_per_bucket", json_integer(TG_TRACEZ_SAMPLES));
    for (int b = 0; b < TG_TRACEZ_BUCKETS; b++) {
        json_t *bo = json_object();
        int64_t up = tg_tracez_bucket_upper_ns(b);
        json_object_set_new(bo, "label", json_string(tg_tracez_bucket_label(b)));
        json_object_set_new(bo, "lower_ns", json_integer(tg_tracez_bucket_lower_ns(b)));
        json_object_set_new(bo, "upper_ns", up == INT64_MAX ? json_null() : json_integer(up));
        json_array_append_new(buckets, bo);
    }
    json_object_set_new(o, "buckets", buckets);
    for (size_t i = 0; i < n; i++) {
        if (tg_tracez_entry_matches(order[i], f)) {
            json_array_append_new(names, entry_json(order[i], f));
        }
    }
    json_object_set_new(o, "names", names);
    if (f->bad_trace_id) {
        json_object_set_new(o, "error", json_string("trace_id must be 32 hexadecimal digits"));
    } else if (f->has_trace_id) {
        json_object_set_new(o, "trace", trace_json(order, n, f));
    }
    char *s = json_dumps(o, JSON_INDENT(1) | JSON_ENSURE_ASCII);
    json_decref(o);
    if (s == NULL) {
        return -ENOMEM;
    }
    size_t len = strlen(s);
    s[len] = '\n';  /* over the NUL: the length is known */
    int r = tg_bytes_append(out, s, len + 1);
    free(s);
    return r;
}
