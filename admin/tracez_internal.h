/*
 * Internal to the trace view: the store (admin/tracez.c) and the two
 * renderers (tracez_html.c, tracez_json.c), which run with the store's
 * mutex held.
 */
#ifndef TG_TRACEZ_INTERNAL_H
#define TG_TRACEZ_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "tracez.h"

/* The attributes a sample keeps, by index (tracez.c). */
#define TG_TRACEZ_KEYS 11
extern const char *const tg_tracez_keys[TG_TRACEZ_KEYS];

/* Bytes of attribute text one sample keeps, all values together. */
#define TG_TRACEZ_TEXT_MAX 640

struct tg_tracez_attr {
    uint8_t key;           /* index into tg_tracez_keys */
    bool is_int;
    uint16_t off;          /* string: text[off..off+len) */
    uint16_t len;
    int64_t i;
};

struct tg_tracez_sample {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_span_id[8];
    bool has_parent;
    uint8_t kind;          /* enum tg_span_kind */
    uint8_t status;        /* enum tg_status_code */
    uint8_t attr_count;
    int64_t start_unix_ns;
    int64_t duration_ns;
    struct tg_tracez_attr attrs[TG_TRACEZ_KEYS];
    uint16_t text_len;
    char text[TG_TRACEZ_TEXT_MAX];   /* valid UTF-8, no control characters */
};

/* The newest TG_TRACEZ_SAMPLES samples of one bucket, allocated on first use. */
struct tg_tracez_ring {
    struct tg_tracez_sample *samples;  /* TG_TRACEZ_SAMPLES, or NULL */
    uint8_t count;
    uint8_t next;                      /* where the next one goes */
    int64_t newest_end_ns;
};

/* One span name and kind. */
struct tg_tracez_entry {
    char name[TG_TRACEZ_NAME_MAX * 3]; /* UTF-8 (invalid bytes became U+FFFD), NUL-terminated */
    uint16_t name_len;
    uint8_t kind;                      /* 0 in the "other" row */
    bool other;                        /* the row of names past TG_TRACEZ_NAMES */
    uint64_t latency[TG_TRACEZ_BUCKETS];
    uint64_t errors;
    struct tg_tracez_ring rings[TG_TRACEZ_BUCKETS];
    struct tg_tracez_ring error_ring;
};

#define TG_TRACEZ_TABLE 512   /* open addressing, twice TG_TRACEZ_NAMES */

struct tg_tracez {
    pthread_mutex_t mu;
    pthread_cond_t cond;               /* CLOCK_MONOTONIC; a batch was recorded */
    uint64_t generation;
    uint64_t spans;                    /* spans recorded */
    size_t count;                      /* named entries */
    struct tg_tracez_entry *entries[TG_TRACEZ_NAMES];
    struct tg_tracez_entry *other;
    uint16_t table[TG_TRACEZ_TABLE];   /* entry index + 1; 0: empty */
    int64_t started_unix_ns;
};

/* What a request asked to see. */
struct tg_tracez_filter {
    char name[TG_TRACEZ_NAME_MAX * 3];
    bool has_name;
    int kind;                          /* 0: any */
    uint8_t trace_id[16];
    bool has_trace_id;
    bool bad_trace_id;                 /* given, but not 32 hex digits */
};

void tg_tracez_filter_parse(const char *query, struct tg_tracez_filter *f);
bool tg_tracez_entry_matches(const struct tg_tracez_entry *e, const struct tg_tracez_filter *f);
bool tg_tracez_sample_matches(const struct tg_tracez_sample *s, const struct tg_tracez_filter *f);

/* Entries in display order (name, then kind; "other" last) into order;
 * returns how many. */
size_t tg_tracez_sorted(struct tg_tracez *t, struct tg_tracez_entry **order);

/* The samples of a ring, newest first, into out (TG_TRACEZ_SAMPLES). */
size_t tg_tracez_ring_samples(const struct tg_tracez_ring *r,
                              const struct tg_tracez_sample **out);

const char *tg_tracez_kind_name(int kind);
const char *tg_tracez_status_name(int status);
/* "[0, 10µs)" and the like. */
const char *tg_tracez_bucket_label(int b);
/* Lowercase hex of n bytes into out (2n + 1). */
void tg_tracez_hex(const uint8_t *p, size_t n, char *out);
/* 2026-01-02T03:04:05.123456Z */
void tg_tracez_time(int64_t unix_ns, char *out, size_t len);

/* Renderers (lock held). */
int tg_tracez_render_html(struct tg_tracez *t, const struct tg_tracez_filter *f,
                          struct tg_bytes *out);
int tg_tracez_render_json(struct tg_tracez *t, const struct tg_tracez_filter *f,
                          struct tg_bytes *out);

#endif
