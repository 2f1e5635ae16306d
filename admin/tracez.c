/*
 * The trace view's store: span names to counts and samples (tracez.h).
 */
#include "tracez.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "span.h"
#include "strbuf.h"
#include "tracez_internal.h"

/* The attributes a sample keeps, in the order pages show them. */
#define KEPT_KEYS(X)                                                                   \
    X("http.request.method") X("url.path") X("url.query") X("url.full") X("http.route") \
    X("http.response.status_code") X("server.address") X("server.port")                \
    X("client.address") X("error.type") X("user_agent.original")
#define KEY_NAME(k) k,
#define KEY_LEN(k) (uint8_t)(sizeof(k) - 1),

const char *const tg_tracez_keys[TG_TRACEZ_KEYS] = {KEPT_KEYS(KEY_NAME)};
static const uint8_t key_lens[TG_TRACEZ_KEYS] = {KEPT_KEYS(KEY_LEN)};

/* Upper bounds of the zPages latency buckets: 10 µs, then each ten times
 * the last, up to 100 s, then everything longer. */
static const int64_t upper_ns[TG_TRACEZ_BUCKETS] = {
    10000, 100000, 1000000, 10000000, 100000000, 1000000000, 10000000000LL,
    100000000000LL, INT64_MAX,
};

static const char *const bucket_labels[TG_TRACEZ_BUCKETS] = {
    "[0, 10µs)", "[10µs, 100µs)", "[100µs, 1ms)", "[1ms, 10ms)", "[10ms, 100ms)",
    "[100ms, 1s)", "[1s, 10s)", "[10s, 100s)", "[100s, ∞)",
};

int tg_tracez_bucket(int64_t d)
{
    int b = 0;
    while (b < TG_TRACEZ_BUCKETS - 1 && d >= upper_ns[b]) {
        b++;
    }
    return b;
}

int64_t tg_tracez_bucket_lower_ns(int b)
{
    return b <= 0 ? 0 : upper_ns[b - 1];
}

int64_t tg_tracez_bucket_upper_ns(int b)
{
    return upper_ns[b];
}

const char *tg_tracez_bucket_label(int b)
{
    return bucket_labels[b];
}

const char *tg_tracez_kind_name(int kind)
{
    switch (kind) {
    case TG_SPAN_SERVER: return "server";
    case TG_SPAN_CLIENT: return "client";
    case TG_SPAN_INTERNAL: return "internal";
    default: return "any";
    }
}

const char *tg_tracez_status_name(int status)
{
    return status == TG_STATUS_ERROR ? "error" : status == TG_STATUS_OK ? "ok" : "unset";
}

void tg_tracez_hex(const uint8_t *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * n] = '\0';
}

void tg_tracez_time(int64_t unix_ns, char *out, size_t len)
{
    time_t s = (time_t)(unix_ns / 1000000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, len - n, ".%06dZ", (int)(unix_ns / 1000 % 1000000));
}

/* ---- lifetime --------------------------------------------------------------- */

int tg_tracez_create(struct tg_tracez **out)
{
    struct tg_tracez *t = calloc(1, sizeof(*t));
    pthread_condattr_t ca;

    if (t == NULL) {
        return -ENOMEM;
    }
    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cond, &ca);
    pthread_condattr_destroy(&ca);
    t->started_unix_ns = tg_unix_now_ns();
    *out = t;
    return 0;
}

static void entry_free(struct tg_tracez_entry *e)
{
    if (e == NULL) {
        return;
    }
    for (int b = 0; b < TG_TRACEZ_BUCKETS; b++) {
        free(e->rings[b].samples);
    }
    free(e->error_ring.samples);
    free(e);
}

void tg_tracez_destroy(struct tg_tracez *t)
{
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < t->count; i++) {
        entry_free(t->entries[i]);
    }
    entry_free(t->other);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* ---- recording (processor thread) ----------------------------------------- */

/*
 * Copy s[0..len) into dst (room for cap bytes) as valid UTF-8 without
 * control characters (each becomes U+FFFD), whole characters only.
 * Returns the bytes written; stops at max input bytes.
 */
static size_t clean_copy(char *dst, size_t cap, const char *s, size_t len, size_t max)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0;

    if (len > max) {
        len = max;
    }
    while (i < len) {
        /* Printable ASCII, nearly every byte of a name or a URL: copied
         * without a look at UTF-8. */
        if (u[i] >= 0x20 && u[i] < 0x7f) {
            if (o == cap) {
                break;
            }
            dst[o++] = s[i++];
            continue;
        }
        size_t n = u[i] < 0x80 ? 0 : tg_strbuf_utf8_len(u + i, len - i);
        if (n == 0) {
            if (o + 3 > cap) {
                break;
            }
            memcpy(dst + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
            continue;
        }
        if (o + n > cap) {
            break;
        }
        memcpy(dst + o, s + i, n);
        o += n;
        i += n;
    }
    return o;
}

/* FNV-1a over the name and kind; *plain: every byte is printable ASCII,
 * so the name is stored exactly as the span has it. */
static uint32_t hash(const char *name, size_t len, int kind, bool *plain)
{
    uint32_t h = 2166136261u ^ (uint32_t)kind;
    unsigned char bad = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        bad |= (unsigned char)((c < 0x20) | (c >= 0x7f));
        h = (h ^ c) * 16777619u;
    }
    *plain = bad == 0;
    return h;
}

/* The entry for (name, kind), created while there is room, else "other";
 * NULL only when out of memory. */
static struct tg_tracez_entry *entry_for(struct tg_tracez *t, const char *raw, size_t raw_len,
                                         int kind)
{
    char clean[sizeof(((struct tg_tracez_entry *)0)->name)];
    const char *name = raw;
    size_t len = raw_len < TG_TRACEZ_NAME_MAX ? raw_len : TG_TRACEZ_NAME_MAX;
    bool plain;
    uint32_t h = hash(raw, len, kind, &plain);

    if (!plain) {
        /* Rare: cleaned first, so the key is what the page shows. */
        len = clean_copy(clean, sizeof(clean) - 1, raw, raw_len, TG_TRACEZ_NAME_MAX);
        name = clean;
        h = hash(name, len, kind, &plain);
    }
    for (uint32_t probe = 0; probe < TG_TRACEZ_TABLE; probe++) {
        uint32_t at = (h + probe) & (TG_TRACEZ_TABLE - 1);
        uint16_t idx = t->table[at];
        if (idx == 0) {
            if (t->count == TG_TRACEZ_NAMES) {
                break;
            }
            struct tg_tracez_entry *e = calloc(1, sizeof(*e));
            if (e == NULL) {
                return NULL;
            }
            memcpy(e->name, name, len);
            e->name[len] = '\0';
            e->name_len = (uint16_t)len;
            e->kind = (uint8_t)kind;
            t->entries[t->count++] = e;
            t->table[at] = (uint16_t)t->count;
            return e;
        }
        struct tg_tracez_entry *e = t->entries[idx - 1];
        if (e->kind == kind && e->name_len == len && memcmp(e->name, name, len) == 0) {
            return e;
        }
    }
    if (t->other == NULL) {
        t->other = calloc(1, sizeof(*t->other));
        if (t->other != NULL) {
            t->other->other = true;
            t->other->name_len = (uint16_t)snprintf(t->other->name, sizeof(t->other->name),
                                                    "other");
        }
    }
    return t->other;
}

/* The index of a kept key, or -1: length first, so most attributes
 * cost one compare. */
static int key_index(const char *key, size_t len)
{
    for (int i = 0; i < TG_TRACEZ_KEYS; i++) {
        if (key_lens[i] == len && memcmp(tg_tracez_keys[i], key, len) == 0) {
            return i;
        }
    }
    return -1;
}

static void take_sample(struct tg_tracez_sample *out, const struct tg_span *s, int64_t d)
{
    memcpy(out->trace_id, s->trace_id, 16);
    memcpy(out->span_id, s->span_id, 8);
    memcpy(out->parent_span_id, s->parent_span_id, 8);
    out->has_parent = s->has_parent;
    out->kind = s->kind;
    out->status = s->status;
    out->start_unix_ns = s->start_unix_ns;
    out->duration_ns = d;
    out->attr_count = 0;
    out->text_len = 0;
    for (uint16_t i = 0; i < s->attr_count && out->attr_count < TG_TRACEZ_KEYS; i++) {
        const struct tg_attr *a = &s->attrs[i];
        int k = key_index(a->key, a->key_len);
        if (k < 0) {
            continue;
        }
        struct tg_tracez_attr *ta = &out->attrs[out->attr_count];
        ta->key = (uint8_t)k;
        if (a->type == TG_ATTR_INT) {
            ta->is_int = true;
            ta->i = a->v.i;
        } else if (a->type == TG_ATTR_STRING) {
            ta->is_int = false;
            ta->off = out->text_len;
            ta->len = (uint16_t)clean_copy(out->text + out->text_len,
                                           sizeof(out->text) - out->text_len, a->v.s.p,
                                           a->v.s.len, TG_TRACEZ_VALUE_MAX);
            out->text_len = (uint16_t)(out->text_len + ta->len);
        } else {
            continue;  /* none of the kept keys is a bool or a double */
        }
        out->attr_count++;
    }
}

static void ring_offer(struct tg_tracez_ring *r, const struct tg_span *s, int64_t d)
{
    if (r->count == TG_TRACEZ_SAMPLES &&
        s->end_unix_ns - r->newest_end_ns < TG_TRACEZ_SAMPLE_INTERVAL_MS * 1000000LL) {
        return;
    }
    if (r->samples == NULL) {
        r->samples = calloc(TG_TRACEZ_SAMPLES, sizeof(*r->samples));
        if (r->samples == NULL) {
            return;
        }
    }
    take_sample(&r->samples[r->next], s, d);
    r->next = (uint8_t)((r->next + 1) % TG_TRACEZ_SAMPLES);
    if (r->count < TG_TRACEZ_SAMPLES) {
        r->count++;
    }
    r->newest_end_ns = s->end_unix_ns;
}

void tg_tracez_observe(void *arg, struct tg_span *const *spans, size_t n)
{
    struct tg_tracez *t = arg;

    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < n; i++) {
        const struct tg_span *s = spans[i];
        struct tg_tracez_entry *e = entry_for(t, s->name, s->name_len, s->kind);
        if (e == NULL) {
            continue;
        }
        int64_t d = s->end_unix_ns - s->start_unix_ns;
        if (d < 0) {
            d = 0;  /* the wall clock stepped back */
        }
        if (s->status == TG_STATUS_ERROR) {
            e->errors++;
            ring_offer(&e->error_ring, s, d);
        } else {
            int b = tg_tracez_bucket(d);
            e->latency[b]++;
            ring_offer(&e->rings[b], s, d);
        }
        t->spans++;
    }
    t->generation++;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->mu);
}

uint64_t tg_tracez_generation(struct tg_tracez *t)
{
    pthread_mutex_lock(&t->mu);
    uint64_t g = t->generation;
    pthread_mutex_unlock(&t->mu);
    return g;
}

bool tg_tracez_wait(struct tg_tracez *t, uint64_t since, int64_t timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(timeout_ms / 1000);
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&t->mu);
    int rc = 0;
    while (t->generation == since && rc == 0) {
        rc = pthread_cond_timedwait(&t->cond, &t->mu, &ts);
    }
    bool moved = t->generation != since;
    pthread_mutex_unlock(&t->mu);
    return moved;
}

/* ---- what renderers share ---------------------------------------------------- */

size_t tg_tracez_ring_samples(const struct tg_tracez_ring *r,
                              const struct tg_tracez_sample **out)
{
    for (uint8_t i = 0; i < r->count; i++) {
        /* next - 1 is the newest */
        int at = (r->next - 1 - i + 2 * TG_TRACEZ_SAMPLES) % TG_TRACEZ_SAMPLES;
        out[i] = &r->samples[at];
    }
    return r->count;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct tg_tracez_entry *x = *(struct tg_tracez_entry *const *)a;
    const struct tg_tracez_entry *y = *(struct tg_tracez_entry *const *)b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : (int)x->kind - (int)y->kind;
}

size_t tg_tracez_sorted(struct tg_tracez *t, struct tg_tracez_entry **order)
{
    memcpy(order, t->entries, t->count * sizeof(*order));
    qsort(order, t->count, sizeof(*order), entry_cmp);
    size_t n = t->count;
    if (t->other != NULL) {
        order[n++] = t->other;
    }
    return n;
}

/* ---- filters ------------------------------------------------------------------ */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* A query value, percent-decoded ('+' is a space, as forms send it). */
static size_t decode(const char *v, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o < cap; i++) {
        if (v[i] == '%' && i + 2 < len && hexval(v[i + 1]) >= 0 && hexval(v[i + 2]) >= 0) {
            out[o++] = (char)(hexval(v[i + 1]) * 16 + hexval(v[i + 2]));
            i += 2;
        } else {
            out[o++] = v[i] == '+' ? ' ' : v[i];
        }
    }
    return o;
}

void tg_tracez_filter_parse(const char *query, struct tg_tracez_filter *f)
{
    memset(f, 0, sizeof(*f));
    for (const char *q = query; q != NULL && *q != '\0';) {
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        if (eq != NULL) {
            size_t klen = (size_t)(eq - q);
            const char *v = eq + 1;
            size_t vlen = len - klen - 1;
            char buf[TG_TRACEZ_NAME_MAX * 3];
            size_t n = decode(v, vlen, buf, sizeof(buf));
            if (klen == 4 && memcmp(q, "name", 4) == 0 && n > 0) {
                size_t c = clean_copy(f->name, sizeof(f->name) - 1, buf, n, TG_TRACEZ_NAME_MAX);
                f->name[c] = '\0';
                f->has_name = true;
            } else if (klen == 4 && memcmp(q, "kind", 4) == 0) {
                for (int k = TG_SPAN_INTERNAL; k <= TG_SPAN_CLIENT; k++) {
                    const char *kn = tg_tracez_kind_name(k);
                    if (strlen(kn) == n && memcmp(kn, buf, n) == 0) {
                        f->kind = k;
                    }
                }
            } else if (klen == 8 && memcmp(q, "trace_id", 8) == 0 && n > 0) {
                f->has_trace_id = true;
                f->bad_trace_id = n != 32;
                for (size_t i = 0; i < 16 && !f->bad_trace_id; i++) {
                    int hi = hexval(buf[2 * i]), lo = hexval(buf[2 * i + 1]);
                    f->bad_trace_id = hi < 0 || lo < 0;
                    f->trace_id[i] = (uint8_t)(hi * 16 + lo);
                }
            }
        }
        q += len;
        if (*q == '&') {
            q++;
        }
    }
}

bool tg_tracez_entry_matches(const struct tg_tracez_entry *e, const struct tg_tracez_filter *f)
{
    if (f->has_name && strcmp(e->name, f->name) != 0) {
        return false;
    }
    return f->kind == 0 || e->kind == f->kind || e->other;
}

bool tg_tracez_sample_matches(const struct tg_tracez_sample *s, const struct tg_tracez_filter *f)
{
    if (f->kind != 0 && s->kind != f->kind) {
        return false;
    }
    return !f->has_trace_id || memcmp(s->trace_id, f->trace_id, 16) == 0;
}

/* ---- rendering ---------------------------------------------------------------- */

int tg_tracez_render(struct tg_tracez *t, bool html, const char *query, struct tg_bytes *out)
{
    struct tg_tracez_filter f;
    tg_tracez_filter_parse(query, &f);
    pthread_mutex_lock(&t->mu);
    int r = html ? tg_tracez_render_html(t, &f, out) : tg_tracez_render_json(t, &f, out);
    pthread_mutex_unlock(&t->mu);
    return r;
}
