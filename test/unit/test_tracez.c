/*
 * The trace view's store and renderers: buckets, counts, samples and
 * their bounds, filters, JSON structure and HTML escaping.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "span.h"
#include "test.h"
#include "tracez.h"

static struct tg_span *span(const char *name, int kind, int64_t start, int64_t dur_ns,
                            uint8_t id)
{
    uint8_t tid[16] = {0xab, 0xcd}, sid[8] = {1}, parent[8] = {9, 9};
    tid[15] = id;
    sid[7] = id;
    struct tg_span *s = tg_span_create(NULL, tid, sid, kind == TG_SPAN_CLIENT ? parent : NULL,
                                       (enum tg_span_kind)kind, start);
    tg_span_set_name(s, name, strlen(name));
    s->end_unix_ns = start + dur_ns;
    return s;
}

static void observe(struct tg_tracez *t, struct tg_span **s, size_t n)
{
    tg_tracez_observe(t, s, n);
    for (size_t i = 0; i < n; i++) {
        tg_span_destroy(s[i]);
    }
}

static json_t *render_json(struct tg_tracez *t, const char *query)
{
    struct tg_bytes b;
    tg_bytes_init(&b, 1 << 24);
    CHECK(tg_tracez_render(t, false, query, &b) == 0);
    json_error_t err;
    json_t *o = json_loadb((const char *)b.data, b.len, 0, &err);
    CHECK(o != NULL);
    tg_bytes_free(&b);
    return o;
}

static char *render_html(struct tg_tracez *t, const char *query)
{
    struct tg_bytes b;
    tg_bytes_init(&b, 1 << 24);
    CHECK(tg_tracez_render(t, true, query, &b) == 0);
    char *s = malloc(b.len + 1);
    memcpy(s, b.data, b.len);
    s[b.len] = '\0';
    tg_bytes_free(&b);
    return s;
}

static json_t *entry(json_t *doc, const char *name, const char *kind)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(doc, "names"), i, e) {
        if (strcmp(json_string_value(json_object_get(e, "name")), name) == 0 &&
            strcmp(json_string_value(json_object_get(e, "kind")), kind) == 0) {
            return e;
        }
    }
    return NULL;
}

static void buckets_follow_zpages(void)
{
    CHECK(tg_tracez_bucket(0) == 0);
    CHECK(tg_tracez_bucket(9999) == 0);
    CHECK(tg_tracez_bucket(10000) == 1);
    CHECK(tg_tracez_bucket(999999) == 2);
    CHECK(tg_tracez_bucket(1000000) == 3);
    CHECK(tg_tracez_bucket(99999999999LL) == 7);
    CHECK(tg_tracez_bucket(100000000000LL) == 8);
    CHECK(tg_tracez_bucket(INT64_MAX) == 8);
    CHECK(tg_tracez_bucket_lower_ns(3) == 1000000 && tg_tracez_bucket_upper_ns(3) == 10000000);
}

/* Counts per name and kind, errors apart, a sample with its ids and only
 * the kept attributes. */
static void records_counts_and_samples(void)
{
    struct tg_tracez *t;
    CHECK(tg_tracez_create(&t) == 0);
    struct tg_span *s[4];
    s[0] = span("GET /api/*", TG_SPAN_SERVER, 1000000000, 2000000, 1);  /* 2 ms */
    tg_span_attr_str(s[0], "url.path", "/api/x", 6);
    tg_span_attr_int(s[0], "http.response.status_code", 200);
    tg_span_attr_str(s[0], "network.peer.address", "10.0.0.1", 8);  /* not kept */
    s[1] = span("GET /api/*", TG_SPAN_CLIENT, 1000000000, 1500000, 1);
    s[2] = span("GET /api/*", TG_SPAN_SERVER, 2000000000, 50000, 2);    /* 50 µs */
    s[3] = span("GET /api/*", TG_SPAN_SERVER, 3000000000, 3000000, 3);
    s[3]->status = TG_STATUS_ERROR;
    tg_span_attr_str(s[3], "error.type", "502", 3);
    uint64_t g = tg_tracez_generation(t);
    observe(t, s, 4);
    CHECK(tg_tracez_wait(t, g, 0));

    json_t *doc = render_json(t, NULL);
    CHECK(json_integer_value(json_object_get(doc, "spans_recorded")) == 4);
    json_t *server = entry(doc, "GET /api/*", "server");
    json_t *client = entry(doc, "GET /api/*", "client");
    CHECK(server != NULL && client != NULL);
    json_t *lat = json_object_get(server, "latency");
    CHECK(json_integer_value(json_array_get(lat, 1)) == 1);
    CHECK(json_integer_value(json_array_get(lat, 3)) == 1);
    CHECK(json_integer_value(json_object_get(server, "errors")) == 1);
    json_t *smp = json_array_get(json_array_get(
                      json_object_get(json_object_get(server, "samples"), "latency"), 3), 0);
    CHECK_STR(json_string_value(json_object_get(smp, "trace_id")),
              "abcd0000000000000000000000000001");
    CHECK_STR(json_string_value(json_object_get(smp, "span_id")), "0100000000000001");
    CHECK(json_is_null(json_object_get(smp, "parent_span_id")));
    CHECK(json_integer_value(json_object_get(smp, "duration_ns")) == 2000000);
    CHECK_STR(json_string_value(json_object_get(smp, "start")), "1970-01-01T00:00:01.000000Z");
    json_t *attrs = json_object_get(smp, "attributes");
    CHECK_STR(json_string_value(json_object_get(attrs, "url.path")), "/api/x");
    CHECK(json_integer_value(json_object_get(attrs, "http.response.status_code")) == 200);
    CHECK(json_object_get(attrs, "network.peer.address") == NULL);
    json_t *err = json_array_get(json_object_get(json_object_get(server, "samples"), "errors"), 0);
    CHECK_STR(json_string_value(json_object_get(err, "status")), "error");
    json_t *csmp = json_array_get(json_array_get(
                       json_object_get(json_object_get(client, "samples"), "latency"), 3), 0);
    CHECK_STR(json_string_value(json_object_get(csmp, "parent_span_id")), "0909000000000000");
    json_decref(doc);
    tg_tracez_destroy(t);
}

/* Four newest per bucket; under a burst the first ones stay and the count
 * keeps going. */
static void samples_are_bounded(void)
{
    struct tg_tracez *t;
    CHECK(tg_tracez_create(&t) == 0);
    struct tg_span *s[10];
    for (int i = 0; i < 10; i++) {  /* one second apart: each replaces the oldest */
        s[i] = span("slow", TG_SPAN_SERVER, (int64_t)(i + 1) * 1000000000, 2000000, (uint8_t)i);
    }
    observe(t, s, 10);
    for (int i = 0; i < 10; i++) {  /* 1 µs apart: the ring keeps what it has */
        s[i] = span("burst", TG_SPAN_SERVER, 5000000000 + i * 1000, 2000000, (uint8_t)(50 + i));
    }
    observe(t, s, 10);
    json_t *doc = render_json(t, NULL);
    json_t *ring = json_array_get(json_object_get(json_object_get(
                       entry(doc, "slow", "server"), "samples"), "latency"), 3);
    CHECK(json_array_size(ring) == 4);
    CHECK_STR(json_string_value(json_object_get(json_array_get(ring, 0), "trace_id")),
              "abcd0000000000000000000000000009");  /* newest first */
    CHECK_STR(json_string_value(json_object_get(json_array_get(ring, 3), "trace_id")),
              "abcd0000000000000000000000000006");
    json_t *burst = entry(doc, "burst", "server");
    CHECK(json_integer_value(json_array_get(json_object_get(burst, "latency"), 3)) == 10);
    ring = json_array_get(json_object_get(json_object_get(burst, "samples"), "latency"), 3);
    CHECK(json_array_size(ring) == 4);
    CHECK_STR(json_string_value(json_object_get(json_array_get(ring, 0), "trace_id")),
              "abcd0000000000000000000000000035");
    json_decref(doc);
    tg_tracez_destroy(t);
}

/* Past TG_TRACEZ_NAMES names, one "other" row counts the rest. */
static void names_are_bounded(void)
{
    struct tg_tracez *t;
    CHECK(tg_tracez_create(&t) == 0);
    for (int i = 0; i < TG_TRACEZ_NAMES + 44; i++) {
        char name[32];
        snprintf(name, sizeof(name), "name-%d", i);
        struct tg_span *s = span(name, TG_SPAN_SERVER, 1000, 100, 1);
        observe(t, &s, 1);
    }
    json_t *doc = render_json(t, NULL);
    json_t *names = json_object_get(doc, "names");
    CHECK(json_array_size(names) == TG_TRACEZ_NAMES + 1);
    json_t *other = json_array_get(names, json_array_size(names) - 1);
    CHECK(json_is_true(json_object_get(other, "other")));
    CHECK_STR(json_string_value(json_object_get(other, "kind")), "any");
    CHECK(json_integer_value(json_array_get(json_object_get(other, "latency"), 0)) == 44);
    json_decref(doc);
    tg_tracez_destroy(t);
}

static void filters_by_trace_name_and_kind(void)
{
    struct tg_tracez *t;
    CHECK(tg_tracez_create(&t) == 0);
    struct tg_span *s[3] = {
        span("a", TG_SPAN_SERVER, 1000, 100, 1),
        span("a", TG_SPAN_CLIENT, 1000, 100, 1),
        span("b b", TG_SPAN_SERVER, 1000, 100, 2),
    };
    observe(t, s, 3);
    json_t *doc = render_json(t, "format=json&trace_id=ABCD0000000000000000000000000001");
    CHECK(json_array_size(json_object_get(doc, "trace")) == 2);
    json_decref(doc);
    doc = render_json(t, "name=b+b");
    CHECK(json_array_size(json_object_get(doc, "names")) == 1);
    json_decref(doc);
    doc = render_json(t, "name=a&kind=client");
    CHECK(json_array_size(json_object_get(doc, "names")) == 1);
    CHECK(entry(doc, "a", "client") != NULL);
    json_decref(doc);
    doc = render_json(t, "trace_id=xyz");
    CHECK(json_object_get(doc, "error") != NULL);
    json_decref(doc);
    tg_tracez_destroy(t);
}

/* Whatever a request carried, the page shows it as text; names with bytes
 * that are not UTF-8 still make valid JSON. */
static void html_escapes_and_json_stays_valid(void)
{
    struct tg_tracez *t;
    CHECK(tg_tracez_create(&t) == 0);
    struct tg_span *s[2] = {
        span("GET /<b>", TG_SPAN_SERVER, 1000, 100, 1),
        span("bad \xff\xfe name\n", TG_SPAN_SERVER, 1000, 100, 2),
    };
    tg_span_attr_str(s[0], "url.path", "/<script>alert('x')&\"</script>", 30);
    observe(t, s, 2);
    char *html = render_html(t, NULL);
    CHECK(strstr(html, "<script>") == NULL);
    CHECK(strstr(html, "<b>") == NULL);
    CHECK(strstr(html, "/&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;&lt;/script&gt;") != NULL);
    CHECK(strstr(html, "GET /&lt;b&gt;") != NULL);
    CHECK(strstr(html, "bad \xef\xbf\xbd\xef\xbf\xbd name\xef\xbf\xbd") != NULL);
    free(html);
    html = render_html(t, "trace_id=abcd0000000000000000000000000001");
    CHECK(strstr(html, ">abcd0000000000000000000000000001</a>") != NULL);
    CHECK(strstr(html, "abcd0000000000000000000000000002") == NULL);
    free(html);
    json_t *doc = render_json(t, NULL);
    CHECK(entry(doc, "bad \xef\xbf\xbd\xef\xbf\xbd name\xef\xbf\xbd", "server") != NULL);
    json_decref(doc);
    tg_tracez_destroy(t);
}

static void wait_times_out_without_a_batch(void)
{
    struct tg_tracez *t;
    CHECK(tg_tracez_create(&t) == 0);
    CHECK(!tg_tracez_wait(t, tg_tracez_generation(t), 20));
    tg_tracez_destroy(t);
}

int main(void)
{
    RUN(buckets_follow_zpages);
    RUN(records_counts_and_samples);
    RUN(samples_are_bounded);
    RUN(names_are_bounded);
    RUN(filters_by_trace_name_and_kind);
    RUN(html_escapes_and_json_stays_valid);
    RUN(wait_times_out_without_a_batch);
    return TEST_SUMMARY();
}
