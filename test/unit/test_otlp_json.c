#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "batch.h"
#include "export_console.h"
#include "otlp_json.h"
#include "span.h"
#include "test.h"

static const uint8_t trace_id[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                     0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
static const uint8_t span_id[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
static const uint8_t parent_id[8] = {0x53, 0x99, 0x5c, 0x3f, 0x42, 0xcd, 0x8a, 0xd8};
static const uint8_t link_trace[16] = {0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88,
                                       0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00};
static const uint8_t link_span[8] = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x23, 0x45, 0x67};

#define TRACE_HEX "4bf92f3577b34da6a3ce929d0e0e4736"
#define SPAN_HEX "00f067aa0ba902b7"
#define PARENT_HEX "53995c3f42cd8ad8"

/* Encode s and parse the result strictly (jansson rejects invalid UTF-8,
 * duplicate keys and anything after the object). NULL if not valid JSON. */
static json_t *encode(const struct tg_span *s)
{
    static char buf[128 * 1024];
    struct tg_strbuf sb;
    json_error_t err;

    tg_strbuf_init(&sb, buf, sizeof(buf));
    tg_otlp_json_span(&sb, s);
    CHECK(!sb.truncated);
    json_t *j = json_loadb(buf, sb.len, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL) {
        fprintf(stderr, "  invalid JSON (%s at %d): %.*s\n", err.text, err.position,
                (int)sb.len, buf);
    }
    return j;
}

/* Every key of obj is one of the allowed keys (the OTLP/JSON field names
 * for the message), and every required key is present. */
static void check_keys(json_t *obj, const char *const *allowed, const char *const *required)
{
    const char *key;
    json_t *v;

    CHECK(json_is_object(obj));
    json_object_foreach(obj, key, v) {
        bool ok = false;
        for (const char *const *a = allowed; *a != NULL; a++) {
            ok = ok || strcmp(*a, key) == 0;
        }
        if (!ok) {
            fprintf(stderr, "  unexpected key \"%s\"\n", key);
        }
        CHECK(ok);
    }
    for (const char *const *r = required; *r != NULL; r++) {
        if (json_object_get(obj, *r) == NULL) {
            fprintf(stderr, "  missing key \"%s\"\n", *r);
        }
        CHECK(json_object_get(obj, *r) != NULL);
    }
}

static const char *const span_keys[] = {
    "traceId", "spanId", "traceState", "parentSpanId", "flags", "name", "kind",
    "startTimeUnixNano", "endTimeUnixNano", "attributes", "droppedAttributesCount",
    "events", "droppedEventsCount", "links", "droppedLinksCount", "status", NULL};
static const char *const span_required[] = {
    "traceId", "spanId", "flags", "name", "kind", "startTimeUnixNano", "endTimeUnixNano",
    "attributes", "events", "links", "status", NULL};
static const char *const event_keys[] = {"timeUnixNano", "name", "attributes",
                                         "droppedAttributesCount", NULL};
static const char *const event_required[] = {"timeUnixNano", "name", NULL};
static const char *const link_keys[] = {"traceId", "spanId", "traceState", "attributes",
                                        "droppedAttributesCount", "flags", NULL};
static const char *const link_required[] = {"traceId", "spanId", "flags", NULL};
static const char *const status_keys[] = {"message", "code", NULL};
static const char *const status_required[] = {"code", NULL};
static const char *const attr_keys[] = {"key", "value", NULL};
static const char *const value_keys[] = {"stringValue", "boolValue", "intValue",
                                         "doubleValue", "arrayValue", "kvlistValue",
                                         "bytesValue", NULL};
static const char *const no_keys[] = {NULL};

static const char *str_of(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* An integer-valued JSON number (not a string), or -1. */
static long long int_of(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* The value object of the attribute named key, or NULL. */
static json_t *attr_value(json_t *span, const char *key)
{
    json_t *attrs = json_object_get(span, "attributes");
    size_t i;
    json_t *a;

    json_array_foreach(attrs, i, a) {
        const char *k = str_of(a, "key");
        if (k != NULL && strcmp(k, key) == 0) {
            return json_object_get(a, "value");
        }
    }
    return NULL;
}

static struct tg_span *full_span(void)
{
    struct tg_span *s = tg_span_create(NULL, trace_id, span_id, parent_id, TG_SPAN_SERVER,
                                       1700000000123456789LL);
    uint32_t n;

    s->parent_remote = true;
    s->flags = 0x01;
    s->end_unix_ns = 1700000000987654321LL;
    tg_span_set_name(s, "GET /caf\xc3\xa9", 10);
    s->trace_state = tg_span_store(s, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", 39, &n);
    s->trace_state_len = n;
    tg_span_attr_str(s, "http.request.method", "GET", 3);
    tg_span_attr_str(s, "quoted", "a\"b\\c\nd\te", 9);
    tg_span_attr_str(s, "bad.utf8", "x\xff\xc3(y", 5);
    tg_span_attr_str_dyn(s, "http.request.header.x-\xe2\x82\xac", 25, "euro", 4);
    tg_span_attr_int(s, "http.response.status_code", 503);
    tg_span_attr_int(s, "neg", -42);
    tg_span_attr_int(s, "max", INT64_MAX);
    tg_span_attr_int(s, "min", INT64_MIN);
    tg_span_attr_bool(s, "yes", true);
    tg_span_attr_bool(s, "no", false);
    tg_span_attr_double(s, "half", 1.5);
    tg_span_attr_double(s, "tiny", 1e-300);
    tg_span_attr_double(s, "third", 1.0 / 3.0);
    tg_span_attr_double(s, "nan", NAN);
    tg_span_attr_double(s, "inf", INFINITY);
    tg_span_attr_double(s, "ninf", -INFINITY);
    tg_span_event(s, "exception", 1700000000500000000LL);
    tg_span_event(s, "retry", 1700000000600000000LL);
    s->has_link = true;
    memcpy(s->link.trace_id, link_trace, 16);
    memcpy(s->link.span_id, link_span, 8);
    s->link.flags = 0x01;
    s->link.trace_state = tg_span_store(s, "k=v", 3, &n);
    s->link.trace_state_len = n;
    tg_span_set_status(s, TG_STATUS_ERROR, "upstream \"unavailable\"", 22);
    return s;
}

static void span_fields_and_types(void)
{
    struct tg_span *s = full_span();
    json_t *j = encode(s);

    CHECK(j != NULL);
    if (j == NULL) {
        tg_span_destroy(s);
        return;
    }
    check_keys(j, span_keys, span_required);
    CHECK_STR(str_of(j, "traceId"), TRACE_HEX);
    CHECK_STR(str_of(j, "spanId"), SPAN_HEX);
    CHECK_STR(str_of(j, "parentSpanId"), PARENT_HEX);
    CHECK_STR(str_of(j, "traceState"), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    CHECK_STR(str_of(j, "name"), "GET /caf\xc3\xa9");
    /* W3C sampled flag plus "has is_remote" and "is_remote": the parent
     * arrived in a traceparent header. */
    CHECK(int_of(j, "flags") == 0x301);
    CHECK(int_of(j, "kind") == 2);
    /* fixed64 is a decimal string in proto3 JSON */
    CHECK_STR(str_of(j, "startTimeUnixNano"), "1700000000123456789");
    CHECK_STR(str_of(j, "endTimeUnixNano"), "1700000000987654321");
    CHECK(json_object_get(j, "droppedAttributesCount") == NULL ||
          int_of(j, "droppedAttributesCount") == 0);

    json_t *attrs = json_object_get(j, "attributes");
    CHECK(json_is_array(attrs) && json_array_size(attrs) == 16);
    size_t i;
    json_t *a;
    json_array_foreach(attrs, i, a) {
        check_keys(a, attr_keys, attr_keys);
        json_t *v = json_object_get(a, "value");
        check_keys(v, value_keys, no_keys);
        CHECK(json_object_size(v) == 1);
    }
    CHECK_STR(str_of(attr_value(j, "http.request.method"), "stringValue"), "GET");
    CHECK_STR(str_of(attr_value(j, "quoted"), "stringValue"), "a\"b\\c\nd\te");
    CHECK_STR(str_of(attr_value(j, "bad.utf8"), "stringValue"),
              "x\xef\xbf\xbd\xef\xbf\xbd(y");
    CHECK_STR(str_of(attr_value(j, "http.request.header.x-\xe2\x82\xac"), "stringValue"),
              "euro");
    /* int64 is a decimal string in proto3 JSON */
    CHECK_STR(str_of(attr_value(j, "http.response.status_code"), "intValue"), "503");
    CHECK_STR(str_of(attr_value(j, "neg"), "intValue"), "-42");
    CHECK_STR(str_of(attr_value(j, "max"), "intValue"), "9223372036854775807");
    CHECK_STR(str_of(attr_value(j, "min"), "intValue"), "-9223372036854775808");
    CHECK(json_is_true(json_object_get(attr_value(j, "yes"), "boolValue")));
    CHECK(json_is_false(json_object_get(attr_value(j, "no"), "boolValue")));
    json_t *d = json_object_get(attr_value(j, "half"), "doubleValue");
    CHECK(json_is_real(d) && json_real_value(d) == 1.5);
    d = json_object_get(attr_value(j, "tiny"), "doubleValue");
    CHECK(json_is_real(d) && json_real_value(d) == 1e-300);
    /* Round-trips exactly. */
    d = json_object_get(attr_value(j, "third"), "doubleValue");
    CHECK(json_is_real(d) && json_real_value(d) == 1.0 / 3.0);
    CHECK_STR(str_of(attr_value(j, "nan"), "doubleValue"), "NaN");
    CHECK_STR(str_of(attr_value(j, "inf"), "doubleValue"), "Infinity");
    CHECK_STR(str_of(attr_value(j, "ninf"), "doubleValue"), "-Infinity");

    json_t *events = json_object_get(j, "events");
    CHECK(json_is_array(events) && json_array_size(events) == 2);
    json_array_foreach(events, i, a) {
        check_keys(a, event_keys, event_required);
    }
    CHECK_STR(str_of(json_array_get(events, 0), "name"), "exception");
    CHECK_STR(str_of(json_array_get(events, 0), "timeUnixNano"), "1700000000500000000");
    CHECK_STR(str_of(json_array_get(events, 1), "name"), "retry");

    json_t *links = json_object_get(j, "links");
    CHECK(json_is_array(links) && json_array_size(links) == 1);
    json_t *l = json_array_get(links, 0);
    check_keys(l, link_keys, link_required);
    CHECK_STR(str_of(l, "traceId"), "ffeeddccbbaa99887766554433221100");
    CHECK_STR(str_of(l, "spanId"), "deadbeef01234567");
    CHECK_STR(str_of(l, "traceState"), "k=v");
    CHECK(int_of(l, "flags") == 0x301);

    json_t *st = json_object_get(j, "status");
    check_keys(st, status_keys, status_required);
    CHECK(int_of(st, "code") == 2);
    CHECK_STR(str_of(st, "message"), "upstream \"unavailable\"");
    json_decref(j);
    tg_span_destroy(s);
}

/* A root span: no parentSpanId, "has is_remote" set and is_remote clear. A
 * span with a local parent: the same flags. */
static void root_and_local_parent_flags(void)
{
    struct tg_span *s = tg_span_create(NULL, trace_id, span_id, NULL, TG_SPAN_CLIENT, 5);
    json_t *j;

    s->end_unix_ns = 6;
    j = encode(s);
    CHECK(j != NULL);
    check_keys(j, span_keys, span_required);
    CHECK(json_object_get(j, "parentSpanId") == NULL);
    CHECK(json_object_get(j, "traceState") == NULL);
    CHECK(int_of(j, "flags") == 0x100);
    CHECK(int_of(j, "kind") == 3);
    CHECK_STR(str_of(j, "name"), "");
    CHECK_STR(str_of(j, "startTimeUnixNano"), "5");
    CHECK(json_array_size(json_object_get(j, "attributes")) == 0);
    CHECK(json_array_size(json_object_get(j, "events")) == 0);
    CHECK(json_array_size(json_object_get(j, "links")) == 0);
    json_t *st = json_object_get(j, "status");
    check_keys(st, status_keys, status_required);
    CHECK(int_of(st, "code") == 0);
    CHECK(json_object_get(st, "message") == NULL);
    json_decref(j);
    tg_span_destroy(s);

    s = tg_span_create(NULL, trace_id, span_id, parent_id, TG_SPAN_INTERNAL, 5);
    s->flags = 0x03; /* sampled + random (Trace Context Level 2) */
    j = encode(s);
    CHECK(j != NULL);
    CHECK(int_of(j, "flags") == 0x103);
    CHECK(int_of(j, "kind") == 1);
    CHECK_STR(str_of(j, "parentSpanId"), PARENT_HEX);
    json_decref(j);
    tg_span_destroy(s);
}

/* The status message lives in the span's store like every other string
 * and is not NUL-terminated there: the bytes after it are not part of it. */
static void status_message_is_bounded(void)
{
    struct tg_span *s = tg_span_create(NULL, trace_id, span_id, NULL, TG_SPAN_CLIENT, 1);
    char msg[] = "connect refused";

    tg_span_set_status(s, TG_STATUS_ERROR, msg, 7);
    memset(msg, 'X', sizeof(msg) - 1);
    tg_span_attr_str(s, "after", "xyz", 3);
    json_t *j = encode(s);
    CHECK(j != NULL);
    json_t *st = json_object_get(j, "status");
    CHECK(int_of(st, "code") == 2);
    CHECK_STR(str_of(st, "message"), "connect");
    json_decref(j);
    tg_span_destroy(s);
}

static void dropped_counts(void)
{
    struct tg_span *s = tg_span_create(NULL, trace_id, span_id, NULL, TG_SPAN_SERVER, 1);

    for (int i = 0; i < TG_SPAN_MAX_ATTRS + 4; i++) {
        tg_span_attr_int(s, "i", i);
    }
    for (int i = 0; i < TG_SPAN_MAX_EVENTS + 2; i++) {
        tg_span_event(s, "e", i);
    }
    json_t *j = encode(s);
    CHECK(j != NULL);
    check_keys(j, span_keys, span_required);
    CHECK(json_array_size(json_object_get(j, "attributes")) == TG_SPAN_MAX_ATTRS);
    CHECK(int_of(j, "droppedAttributesCount") == 4);
    CHECK(json_array_size(json_object_get(j, "events")) == TG_SPAN_MAX_EVENTS);
    CHECK(int_of(j, "droppedEventsCount") == 2);
    json_decref(j);
    tg_span_destroy(s);
}

/* The worst span for size: every byte of the store a control character
 * (six bytes escaped), every attribute slot used. Still one valid object. */
static void largest_span_is_valid(void)
{
    struct tg_span *s = tg_span_create(NULL, trace_id, span_id, NULL, TG_SPAN_SERVER, 1);
    char junk[TG_SPAN_DATA_BYTES];

    memset(junk, 0x01, sizeof(junk));
    for (int i = 0; i < TG_SPAN_MAX_ATTRS; i++) {
        tg_span_attr_str_dyn(s, junk, 8, junk, 200);
    }
    CHECK(s->data_len == TG_SPAN_DATA_BYTES);
    json_t *j = encode(s);
    CHECK(j != NULL);
    json_decref(j);
    tg_span_destroy(s);
}

static void truncation_is_reported(void)
{
    struct tg_span *s = full_span();
    char buf[200];
    struct tg_strbuf sb;

    tg_strbuf_init(&sb, buf, sizeof(buf));
    tg_otlp_json_span(&sb, s);
    CHECK(sb.truncated);
    CHECK(sb.len <= sizeof(buf));
    tg_span_destroy(s);
}

/* The console exporter: one line per span, each a valid Span object. */
static void console_writes_one_line_per_span(void)
{
    FILE *f = tmpfile();
    struct tg_exporter ex;
    struct tg_span *spans[3];

    CHECK(f != NULL);
    CHECK(tg_export_console_create(fileno(f), &ex) == 0);
    for (int i = 0; i < 3; i++) {
        uint8_t sid[8] = {0, 0, 0, 0, 0, 0, 0, (uint8_t)(i + 1)};
        spans[i] = tg_span_create(NULL, trace_id, sid, NULL, TG_SPAN_SERVER, i);
        tg_span_set_name(spans[i], "line\nbreak", 10);
    }
    struct tg_export_report rep = {0};
    ex.export_batch(ex.ctx, spans, 3, INT64_MAX, &rep);
    CHECK(rep.failure == TG_EXPORT_DELIVERED);
    ex.shutdown(ex.ctx);

    char buf[8192];
    CHECK(fseek(f, 0, SEEK_SET) == 0);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    CHECK(n > 0 && buf[n - 1] == '\n');
    int lines = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        json_error_t err;
        json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, &err);
        CHECK(j != NULL);
        char want[32];
        snprintf(want, sizeof(want), "00000000000000%02x", (unsigned)(lines + 1) & 0xff);
        CHECK_STR(str_of(j, "spanId"), want);
        CHECK_STR(str_of(j, "name"), "line\nbreak");
        json_decref(j);
        lines++;
    }
    CHECK(lines == 3);
    for (int i = 0; i < 3; i++) {
        tg_span_destroy(spans[i]);
    }
}

/* A write error is reported as a lost batch. */
static void console_reports_write_errors(void)
{
    int fds[2];
    struct tg_exporter ex;
    struct tg_span *s = tg_span_create(NULL, trace_id, span_id, NULL, TG_SPAN_SERVER, 1);

    CHECK(pipe(fds) == 0);
    close(fds[0]); /* writes now fail with EPIPE (SIGPIPE ignored below) */
    signal(SIGPIPE, SIG_IGN);
    CHECK(tg_export_console_create(fds[1], &ex) == 0);
    struct tg_export_report rep = {0};
    ex.export_batch(ex.ctx, &s, 1, INT64_MAX, &rep);
    CHECK(rep.failure == TG_EXPORT_NOT_RETRYABLE);
    CHECK(strstr(rep.message, "Broken pipe") != NULL);
    ex.shutdown(ex.ctx);
    close(fds[1]);
    tg_span_destroy(s);
}

static void none_exporter_accepts(void)
{
    struct tg_exporter ex;
    struct tg_span *s = tg_span_create(NULL, trace_id, span_id, NULL, TG_SPAN_SERVER, 1);

    tg_export_none(&ex);
    struct tg_export_report rep = {0};
    ex.export_batch(ex.ctx, &s, 1, INT64_MAX, &rep);
    CHECK(rep.failure == TG_EXPORT_DELIVERED);
    CHECK(ex.shutdown == NULL);
    tg_span_destroy(s);
}

int main(void)
{
    RUN(span_fields_and_types);
    RUN(root_and_local_parent_flags);
    RUN(status_message_is_bounded);
    RUN(dropped_counts);
    RUN(largest_span_is_valid);
    RUN(truncation_is_reported);
    RUN(console_writes_one_line_per_span);
    RUN(console_reports_write_errors);
    RUN(none_exporter_accepts);
    return TEST_SUMMARY();
}
