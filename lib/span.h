/*
 * A finished or in-progress span, as tracegate records it.
 *
 * One span is one heap block: the fixed fields, a bounded attribute array
 * and a bounded byte store for every string the span owns. A worker builds
 * it, then hands the pointer to the span queue; from then on only the
 * exporter thread touches it and frees it. Nothing is allocated for a
 * request that is not sampled.
 *
 * Limits are explicit: at most TG_SPAN_MAX_ATTRS attributes and
 * TG_SPAN_DATA_BYTES of string bytes. A string that does not fit is cut at
 * a UTF-8 boundary (OTLP requires valid UTF-8) and counted in
 * dropped_attrs if even its key does not fit.
 */
#ifndef TG_SPAN_H
#define TG_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* OTLP enum values. */
enum tg_span_kind {
    TG_SPAN_INTERNAL = 1,
    TG_SPAN_SERVER = 2,
    TG_SPAN_CLIENT = 3,
};

enum tg_status_code {
    TG_STATUS_UNSET = 0,
    TG_STATUS_OK = 1,
    TG_STATUS_ERROR = 2,
};

enum tg_attr_type {
    TG_ATTR_STRING,
    TG_ATTR_INT,
    TG_ATTR_BOOL,
    TG_ATTR_DOUBLE,
};

struct tg_attr {
    const char *key;     /* static or in the span's data */
    uint16_t key_len;
    uint16_t type;       /* enum tg_attr_type */
    union {
        struct {
            const char *p;  /* in the span's data */
            uint32_t len;
        } s;
        int64_t i;
        double d;
        bool b;
    } v;
};

struct tg_event {
    const char *name;    /* static */
    int64_t time_unix_ns;
};

struct tg_link {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t flags;
    const char *trace_state;   /* in the span's data, may be NULL */
    uint32_t trace_state_len;
};

#define TG_SPAN_MAX_ATTRS 40
#define TG_SPAN_MAX_EVENTS 8
#define TG_SPAN_DATA_BYTES 3072

struct tg_spanpool;

struct tg_span {
    struct tg_spanpool *pool;    /* where tg_span_destroy returns it; NULL: free() */
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_span_id[8];
    bool has_parent;
    bool parent_remote;          /* parent came from an inbound traceparent */
    uint8_t flags;               /* W3C trace flags propagated with the span */
    uint8_t kind;                /* enum tg_span_kind */
    uint8_t status;              /* enum tg_status_code */
    const char *status_message;  /* static or data, not NUL-terminated; NULL = none */
    uint32_t status_message_len;
    const char *name;            /* in data */
    uint32_t name_len;
    const char *trace_state;     /* in data; NULL = none */
    uint32_t trace_state_len;
    int64_t start_unix_ns;
    int64_t end_unix_ns;
    uint16_t attr_count;
    uint16_t event_count;
    uint32_t dropped_attrs;
    uint32_t dropped_events;
    bool has_link;
    struct tg_link link;
    struct tg_attr attrs[TG_SPAN_MAX_ATTRS];
    struct tg_event events[TG_SPAN_MAX_EVENTS];
    uint32_t data_len;
    char data[TG_SPAN_DATA_BYTES];
};

/* A zeroed span with ids, kind and start time set, from pool (or malloc
 * when pool is NULL). NULL if out of memory. */
struct tg_span *tg_span_create(struct tg_spanpool *pool,
                               const uint8_t trace_id[16], const uint8_t span_id[8],
                               const uint8_t *parent_span_id, enum tg_span_kind kind,
                               int64_t start_unix_ns);
void tg_span_destroy(struct tg_span *s);

/* Copy a string into the span's store (cut to what fits, at a UTF-8
 * boundary). Returns the copy, or NULL if nothing fits. */
const char *tg_span_store(struct tg_span *s, const char *str, size_t len, uint32_t *out_len);

void tg_span_set_name(struct tg_span *s, const char *name, size_t len);

/* The key must be a string literal (static storage) for the plain forms;
 * tg_span_attr_str_dyn copies the key too. */
void tg_span_attr_str(struct tg_span *s, const char *key, const char *val, size_t len);
void tg_span_attr_str_dyn(struct tg_span *s, const char *key, size_t key_len,
                          const char *val, size_t len);
void tg_span_attr_int(struct tg_span *s, const char *key, int64_t v);
void tg_span_attr_bool(struct tg_span *s, const char *key, bool v);
void tg_span_attr_double(struct tg_span *s, const char *key, double v);
void tg_span_event(struct tg_span *s, const char *name, int64_t time_unix_ns);

/* Set the status. The message (msg may be NULL) is copied into the span's
 * store, cut like any string; it is kept only with TG_STATUS_ERROR, since
 * the OpenTelemetry API ignores a description for Ok and Unset. */
void tg_span_set_status(struct tg_span *s, enum tg_status_code code, const char *msg,
                        size_t len);

#endif
