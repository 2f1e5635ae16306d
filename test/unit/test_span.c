#include <stdint.h>
#include <stdlib.h>

#include "span.h"
#include "spanpool.h"
#include "test.h"

static const uint8_t trace_id[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                     0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
static const uint8_t span_id[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
static const uint8_t parent_id[8] = {0x53, 0x99, 0x5c, 0x3f, 0x42, 0xcd, 0x8a, 0xd8};

static struct tg_span *new_span(void)
{
    return tg_span_create(NULL, trace_id, span_id, NULL, TG_SPAN_SERVER, 1000);
}

/* Fill the store with ASCII until exactly `room` bytes are left. */
static void leave_room(struct tg_span *s, size_t room)
{
    static char filler[TG_SPAN_DATA_BYTES];
    uint32_t n = 0;

    memset(filler, 'x', sizeof(filler));
    size_t want = TG_SPAN_DATA_BYTES - s->data_len - room;
    if (want > 0) {
        CHECK(tg_span_store(s, filler, want, &n) != NULL);
        CHECK(n == want);
    }
    CHECK(TG_SPAN_DATA_BYTES - s->data_len == room);
}

/* Byte length of the UTF-8 sequence that starts with lead byte c (the test
 * strings below are valid UTF-8). */
static size_t seq_len(unsigned char c)
{
    if (c < 0x80) {
        return 1;
    }
    if (c < 0xE0) {
        return 2;
    }
    if (c < 0xF0) {
        return 3;
    }
    return 4;
}

/* The longest prefix of str that ends on a character boundary and is at
 * most max bytes, worked out from the characters forward (the library
 * works backwards from the cut). */
static size_t expected_cut(const char *str, size_t len, size_t max)
{
    size_t at = 0;

    while (at < len) {
        size_t n = seq_len((unsigned char)str[at]);
        if (at + n > max) {
            break;
        }
        at += n;
    }
    return at;
}

static void create_sets_ids_kind_and_start(void)
{
    struct tg_span *s = tg_span_create(NULL, trace_id, span_id, parent_id, TG_SPAN_CLIENT, 42);

    CHECK(s != NULL);
    CHECK(memcmp(s->trace_id, trace_id, 16) == 0);
    CHECK(memcmp(s->span_id, span_id, 8) == 0);
    CHECK(memcmp(s->parent_span_id, parent_id, 8) == 0);
    CHECK(s->has_parent);
    CHECK(!s->parent_remote);
    CHECK(s->kind == TG_SPAN_CLIENT);
    CHECK(s->start_unix_ns == 42);
    CHECK(s->end_unix_ns == 0);
    CHECK(s->attr_count == 0 && s->event_count == 0);
    CHECK(s->dropped_attrs == 0 && s->dropped_events == 0);
    CHECK(s->data_len == 0);
    CHECK(s->trace_state == NULL && s->status_message == NULL && !s->has_link);
    tg_span_destroy(s);

    s = new_span();
    CHECK(!s->has_parent);
    tg_span_destroy(s);
    tg_span_destroy(NULL);
}

static void name_is_copied(void)
{
    struct tg_span *s = new_span();
    char name[] = "GET /users/{id}";

    tg_span_set_name(s, name, strlen(name));
    name[0] = 'P';
    CHECK(s->name_len == 15);
    CHECK(memcmp(s->name, "GET /users/{id}", 15) == 0);
    CHECK(s->name >= s->data && s->name < s->data + TG_SPAN_DATA_BYTES);
    tg_span_destroy(s);
}

static void store_exhaustion(void)
{
    struct tg_span *s = new_span();
    uint32_t n = 99;

    leave_room(s, 3);
    const char *p = tg_span_store(s, "abcdef", 6, &n);
    CHECK(p != NULL && n == 3 && memcmp(p, "abc", 3) == 0);
    CHECK(s->data_len == TG_SPAN_DATA_BYTES);
    /* Full: nothing is stored, the length is left alone. */
    n = 99;
    CHECK(tg_span_store(s, "z", 1, &n) == NULL);
    CHECK(n == 99);
    CHECK(s->data_len == TG_SPAN_DATA_BYTES);
    /* A name that does not fit at all becomes the empty name. */
    tg_span_set_name(s, "late", 4);
    CHECK(s->name != NULL && s->name_len == 0);
    tg_span_destroy(s);
}

static void store_empty_string(void)
{
    struct tg_span *s = new_span();
    uint32_t n = 99;

    CHECK(tg_span_store(s, "", 0, &n) != NULL);
    CHECK(n == 0 && s->data_len == 0);
    /* An absent value (NULL, 0) is an empty string, not a crash. */
    tg_span_attr_str(s, "http.request.header.x", NULL, 0);
    CHECK(s->attr_count == 1);
    CHECK(s->attrs[0].v.s.len == 0 && s->attrs[0].v.s.p != NULL);
    tg_span_destroy(s);
}

/* Every room size against strings with 2-, 3- and 4-byte characters at
 * every position: the cut keeps the most whole characters that fit and
 * never ends inside one. */
static void utf8_cut_at_every_boundary(void)
{
    static const char *const strs[] = {
        "a\xc3\xa9z",                     /* a é z */
        "\xe2\x82\xac\xe2\x82\xac",       /* € € */
        "ab\xf0\x9f\x98\x80" "c",         /* a b 😀 c */
        "\xf0\x9f\x98\x80\xc3\xa9\xe2\x82\xac" "x", /* 😀 é € x */
        "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", /* Привет */
    };

    for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++) {
        const char *str = strs[k];
        size_t len = strlen(str);
        for (size_t room = 0; room <= len + 1; room++) {
            struct tg_span *s = new_span();
            uint32_t n = 12345;
            int failed_before = test_failed_checks;
            leave_room(s, room);
            uint32_t before = s->data_len;
            const char *p = tg_span_store(s, str, len, &n);
            size_t want = expected_cut(str, len, room);
            if (want == 0) {
                CHECK(p == NULL);
                CHECK(s->data_len == before);
            } else {
                CHECK(p != NULL);
                CHECK(n == want);
                CHECK(p != NULL && memcmp(p, str, want) == 0);
                CHECK(s->data_len == before + want);
            }
            if (test_failed_checks > failed_before) {
                fprintf(stderr, "  string %zu, room %zu: want %zu, got %u\n", k, room,
                        want, (unsigned)n);
            }
            tg_span_destroy(s);
        }
    }
}

/* A value cut at the store's end keeps its attribute, cut on a character
 * boundary. */
static void attr_value_cut_keeps_attribute(void)
{
    struct tg_span *s = new_span();

    leave_room(s, 4);
    tg_span_attr_str(s, "url.path", "/\xe2\x82\xac\xe2\x82\xac", 7); /* "/€€" */
    CHECK(s->attr_count == 1);
    CHECK(s->dropped_attrs == 0);
    CHECK(s->attrs[0].type == TG_ATTR_STRING);
    CHECK(s->attrs[0].v.s.len == 4);
    CHECK(memcmp(s->attrs[0].v.s.p, "/\xe2\x82\xac", 4) == 0);
    /* No room left: still recorded, with an empty value. */
    tg_span_attr_str(s, "url.query", "q=1", 3);
    CHECK(s->attr_count == 2);
    CHECK(s->attrs[1].v.s.len == 0);
    tg_span_destroy(s);
}

static void attribute_limit_counts_dropped(void)
{
    struct tg_span *s = new_span();

    for (int i = 0; i < TG_SPAN_MAX_ATTRS + 5; i++) {
        switch (i % 4) {
        case 0:
            tg_span_attr_int(s, "n", i);
            break;
        case 1:
            tg_span_attr_str(s, "s", "v", 1);
            break;
        case 2:
            tg_span_attr_bool(s, "b", true);
            break;
        default:
            tg_span_attr_double(s, "d", i + 0.5);
            break;
        }
    }
    CHECK(s->attr_count == TG_SPAN_MAX_ATTRS);
    CHECK(s->dropped_attrs == 5);
    /* The first ones are kept, in order. */
    CHECK(s->attrs[0].type == TG_ATTR_INT && s->attrs[0].v.i == 0);
    CHECK(s->attrs[1].type == TG_ATTR_STRING && s->attrs[1].v.s.len == 1);
    CHECK(s->attrs[2].type == TG_ATTR_BOOL && s->attrs[2].v.b);
    CHECK(s->attrs[3].type == TG_ATTR_DOUBLE && s->attrs[3].v.d == 3.5);
    CHECK(s->attrs[39].type == TG_ATTR_DOUBLE && s->attrs[39].v.d == 39.5);
    /* Dropped attributes take no bytes of the store. */
    uint32_t used = s->data_len;
    tg_span_attr_str(s, "late", "value", 5);
    tg_span_attr_str_dyn(s, "late.dyn", 8, "value", 5);
    CHECK(s->dropped_attrs == 7);
    CHECK(s->data_len == used);
    tg_span_destroy(s);
}

static void dynamic_keys_are_copied(void)
{
    struct tg_span *s = new_span();
    char key[] = "http.request.header.x-request-id";
    char val[] = "abc-123";

    tg_span_attr_str_dyn(s, key, strlen(key), val, strlen(val));
    memset(key, '#', strlen(key));
    memset(val, '#', strlen(val));
    CHECK(s->attr_count == 1);
    const struct tg_attr *a = &s->attrs[0];
    CHECK(a->key_len == strlen("http.request.header.x-request-id"));
    CHECK(memcmp(a->key, "http.request.header.x-request-id", a->key_len) == 0);
    CHECK(a->key >= s->data && a->key < s->data + TG_SPAN_DATA_BYTES);
    CHECK(a->v.s.len == 7 && memcmp(a->v.s.p, "abc-123", 7) == 0);
    CHECK(s->data_len == (uint32_t)a->key_len + 7);
    tg_span_destroy(s);
}

/* A dynamic key is stored whole or not at all: a cut key would name a
 * different attribute. */
static void dynamic_key_that_does_not_fit_is_dropped(void)
{
    struct tg_span *s = new_span();

    leave_room(s, 5);
    tg_span_attr_str_dyn(s, "abcdef", 6, "v", 1);
    CHECK(s->attr_count == 0);
    CHECK(s->dropped_attrs == 1);
    CHECK(TG_SPAN_DATA_BYTES - s->data_len == 5);
    /* The key fits exactly: kept, with an empty value. */
    tg_span_attr_str_dyn(s, "abcde", 5, "v", 1);
    CHECK(s->attr_count == 1);
    CHECK(s->dropped_attrs == 1);
    CHECK(s->attrs[0].key_len == 5 && memcmp(s->attrs[0].key, "abcde", 5) == 0);
    CHECK(s->attrs[0].v.s.len == 0);
    CHECK(s->data_len == TG_SPAN_DATA_BYTES);
    tg_span_destroy(s);
}

static void event_limit_counts_dropped(void)
{
    struct tg_span *s = new_span();

    for (int i = 0; i < TG_SPAN_MAX_EVENTS + 3; i++) {
        tg_span_event(s, i % 2 ? "odd" : "even", 100 + i);
    }
    CHECK(s->event_count == TG_SPAN_MAX_EVENTS);
    CHECK(s->dropped_events == 3);
    for (int i = 0; i < TG_SPAN_MAX_EVENTS; i++) {
        CHECK(s->events[i].time_unix_ns == 100 + i);
        CHECK(strcmp(s->events[i].name, i % 2 ? "odd" : "even") == 0);
    }
    tg_span_destroy(s);
}

static void status_message_is_copied_for_errors_only(void)
{
    struct tg_span *s = new_span();
    char msg[] = "upstream timeout";

    tg_span_set_status(s, TG_STATUS_ERROR, msg, strlen(msg));
    memset(msg, '#', strlen(msg));
    CHECK(s->status == TG_STATUS_ERROR);
    CHECK(s->status_message_len == 16);
    CHECK(s->status_message != NULL &&
          memcmp(s->status_message, "upstream timeout", 16) == 0);
    CHECK(s->status_message >= s->data && s->status_message < s->data + TG_SPAN_DATA_BYTES);

    /* Ok and Unset carry no description. */
    uint32_t used = s->data_len;
    tg_span_set_status(s, TG_STATUS_OK, "fine", 4);
    CHECK(s->status == TG_STATUS_OK);
    CHECK(s->status_message == NULL && s->status_message_len == 0);
    CHECK(s->data_len == used);

    tg_span_set_status(s, TG_STATUS_ERROR, NULL, 0);
    CHECK(s->status == TG_STATUS_ERROR && s->status_message == NULL);

    /* Cut like any string when the store is nearly full. */
    leave_room(s, 2);
    tg_span_set_status(s, TG_STATUS_ERROR, "\xc3\xa9\xc3\xa9", 4);
    CHECK(s->status_message_len == 2);
    /* Nothing fits: no message. */
    tg_span_set_status(s, TG_STATUS_ERROR, "late", 4);
    CHECK(s->status_message == NULL && s->status_message_len == 0);
    tg_span_destroy(s);
}

/* A block back from the pool carries the last span's contents; create
 * must make it look new. */
static void recycled_span_starts_clean(void)
{
    struct tg_spanpool pool;
    uint32_t n;

    CHECK(tg_spanpool_init(&pool, 2) == 0);
    struct tg_span *s = tg_span_create(&pool, trace_id, span_id, parent_id, TG_SPAN_CLIENT, 1);
    CHECK(s != NULL && s->pool == &pool);
    s->parent_remote = true;
    s->flags = 0x01;
    s->end_unix_ns = 2;
    tg_span_set_name(s, "old", 3);
    s->trace_state = tg_span_store(s, "k=v", 3, &n);
    s->trace_state_len = n;
    for (int i = 0; i < TG_SPAN_MAX_ATTRS + 1; i++) {
        tg_span_attr_int(s, "i", i);
    }
    for (int i = 0; i < TG_SPAN_MAX_EVENTS + 1; i++) {
        tg_span_event(s, "e", i);
    }
    s->has_link = true;
    tg_span_set_status(s, TG_STATUS_ERROR, "boom", 4);
    struct tg_span *old = s;
    tg_span_destroy(s);

    s = tg_span_create(&pool, trace_id, span_id, NULL, TG_SPAN_SERVER, 10);
    CHECK(s == old); /* recycled, not a fresh allocation */
    CHECK(s->pool == &pool);
    CHECK(!s->has_parent && !s->parent_remote && s->flags == 0);
    CHECK(s->kind == TG_SPAN_SERVER && s->start_unix_ns == 10 && s->end_unix_ns == 0);
    CHECK(s->name == NULL && s->name_len == 0);
    CHECK(s->trace_state == NULL && s->trace_state_len == 0);
    CHECK(s->attr_count == 0 && s->dropped_attrs == 0);
    CHECK(s->event_count == 0 && s->dropped_events == 0);
    CHECK(!s->has_link);
    CHECK(s->status == TG_STATUS_UNSET && s->status_message == NULL &&
          s->status_message_len == 0);
    CHECK(s->data_len == 0);
    tg_span_destroy(s);
    tg_spanpool_fini(&pool);
}

int main(void)
{
    RUN(create_sets_ids_kind_and_start);
    RUN(name_is_copied);
    RUN(store_exhaustion);
    RUN(store_empty_string);
    RUN(utf8_cut_at_every_boundary);
    RUN(attr_value_cut_keeps_attribute);
    RUN(attribute_limit_counts_dropped);
    RUN(dynamic_keys_are_copied);
    RUN(dynamic_key_that_does_not_fit_is_dropped);
    RUN(event_limit_counts_dropped);
    RUN(status_message_is_copied_for_errors_only);
    RUN(recycled_span_starts_clean);
    return TEST_SUMMARY();
}
