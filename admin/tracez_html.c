/*
 * The trace view as one self-contained HTML page: no script, no external
 * style or font, every value escaped. Runs with the store's lock held.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tracez_internal.h"

#define STYLE \
    "body{font:14px/1.45 system-ui,sans-serif;margin:1.5em;color:#1d1d1d}" \
    "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}h3{font-size:1em}" \
    "table{border-collapse:collapse;margin:.4em 0 1.2em}" \
    "th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}" \
    "th{background:#f2f2f2;font-weight:600}td.n{text-align:right}" \
    "code,.mono{font:12px ui-monospace,Menlo,Consolas,monospace}" \
    ".err{color:#b00020}.muted{color:#6b6b6b}a{color:#0b57d0}"

struct page {
    struct tg_bytes *out;
    int err;
};

static void put(struct page *p, const char *s, size_t n)
{
    if (p->err == 0) {
        p->err = tg_bytes_append(p->out, s, n);
    }
}

static void raw(struct page *p, const char *s)
{
    put(p, s, strlen(s));
}

static void rawf(struct page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rawf(struct page *p, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0) {
        put(p, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
    }
}

/* Text or attribute value: the five characters HTML gives meaning to are
 * written as references (the store already made the text valid UTF-8). */
static void esc(struct page *p, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *ref = NULL;
        switch (s[i]) {
        case '&': ref = "&amp;"; break;
        case '<': ref = "&lt;"; break;
        case '>': ref = "&gt;"; break;
        case '"': ref = "&quot;"; break;
        case '\'': ref = "&#39;"; break;
        default: continue;
        }
        put(p, s + start, i - start);
        raw(p, ref);
        start = i + 1;
    }
    put(p, s + start, n - start);
}

static void escs(struct page *p, const char *s)
{
    esc(p, s, strlen(s));
}

/* A query value: unreserved characters as they are, the rest %XX. */
static void url_value(struct page *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *u = (const unsigned char *)s; *u != '\0'; u++) {
        if ((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') || (*u >= '0' && *u <= '9') ||
            *u == '-' || *u == '.' || *u == '_' || *u == '~') {
            put(p, (const char *)u, 1);
        } else {
            char e[3] = {'%', hex[*u >> 4], hex[*u & 15]};
            put(p, e, 3);
        }
    }
}

static void duration(struct page *p, int64_t ns)
{
    if (ns < 1000) {
        rawf(p, "%" PRId64 " ns", ns);
    } else if (ns < 1000000) {
        rawf(p, "%.1f µs", (double)ns / 1e3);
    } else if (ns < 1000000000) {
        rawf(p, "%.3f ms", (double)ns / 1e6);
    } else {
        rawf(p, "%.3f s", (double)ns / 1e9);
    }
}

static void sample_head(struct page *p)
{
    raw(p, "<table><tr><th>Trace ID</th><th>Span ID</th><th>Parent ID</th><th>Kind</th>"
           "<th>Start (UTC)</th><th>Duration</th><th>Status</th><th>Attributes</th></tr>\n");
}

static void sample_row(struct page *p, const struct tg_tracez_sample *s, const char *name)
{
    char hex[33], when[48];

    tg_tracez_hex(s->trace_id, 16, hex);
    raw(p, "<tr><td class=\"mono\"><a href=\"?trace_id=");
    raw(p, hex);
    raw(p, "\">");
    raw(p, hex);
    raw(p, "</a></td><td class=\"mono\">");
    tg_tracez_hex(s->span_id, 8, hex);
    raw(p, hex);
    raw(p, "</td><td class=\"mono\">");
    if (s->has_parent) {
        tg_tracez_hex(s->parent_span_id, 8, hex);
        raw(p, hex);
    } else {
        raw(p, "<span class=\"muted\">root</span>");
    }
    raw(p, "</td><td>");
    raw(p, tg_tracez_kind_name(s->kind));
    if (name != NULL) {
        raw(p, "<br><span class=\"muted\">");
        escs(p, name);
        raw(p, "</span>");
    }
    tg_tracez_time(s->start_unix_ns, when, sizeof(when));
    raw(p, "</td><td class=\"mono\">");
    raw(p, when);
    raw(p, "</td><td class=\"n\">");
    duration(p, s->duration_ns);
    raw(p, s->status == 2 ? "</td><td class=\"err\">" : "</td><td>");
    raw(p, tg_tracez_status_name(s->status));
    raw(p, "</td><td class=\"mono\">");
    for (uint8_t i = 0; i < s->attr_count; i++) {
        const struct tg_tracez_attr *a = &s->attrs[i];
        if (i > 0) {
            raw(p, "<br>");
        }
        raw(p, tg_tracez_keys[a->key]);
        raw(p, "=");
        if (a->is_int) {
            rawf(p, "%" PRId64, a->i);
        } else {
            esc(p, s->text + a->off, a->len);
        }
    }
    raw(p, "</td></tr>\n");
}

static void summary(struct page *p, struct tg_tracez *t, struct tg_tracez_entry **order,
                    size_t n, const struct tg_tracez_filter *f)
{
    raw(p, "<h2>Span names</h2>\n<table><tr><th>Name</th><th>Kind</th>");
    for (int b = 0; b < TG_TRACEZ_BUCKETS; b++) {
        raw(p, "<th>");
        raw(p, tg_tracez_bucket_label(b));
        raw(p, "</th>");
    }
    raw(p, "<th>Errors</th></tr>\n");
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        const struct tg_tracez_entry *e = order[i];
        if (!tg_tracez_entry_matches(e, f)) {
            continue;
        }
        shown++;
        rawf(p, "<tr><td><a href=\"#n%zu\">", i);
        escs(p, e->name);
        raw(p, "</a></td><td>");
        raw(p, e->other ? "<span class=\"muted\">any</span>" : tg_tracez_kind_name(e->kind));
        raw(p, "</td>");
        for (int b = 0; b < TG_TRACEZ_BUCKETS; b++) {
            if (e->rings[b].count > 0) {
                rawf(p, "<td class=\"n\"><a href=\"#n%zu-b%d\">%" PRIu64 "</a></td>", i, b,
                     e->latency[b]);
            } else {
                rawf(p, "<td class=\"n\">%" PRIu64 "</td>", e->latency[b]);
            }
        }
        if (e->error_ring.count > 0) {
            rawf(p, "<td class=\"n err\"><a href=\"#n%zu-err\">%" PRIu64 "</a></td></tr>\n", i,
                 e->errors);
        } else {
            rawf(p, "<td class=\"n\">%" PRIu64 "</td></tr>\n", e->errors);
        }
    }
    raw(p, "</table>\n");
    if (t->spans == 0) {
        raw(p, "<p class=\"muted\">No span recorded yet. Send a request through tracegate: "
               "its spans show here once the span processor has taken them (this page asks "
               "it to hand over what is queued).</p>\n");
    } else if (shown == 0) {
        raw(p, "<p class=\"muted\">No span name matches this filter.</p>\n");
    }
}

static void ring_section(struct page *p, const struct tg_tracez_ring *r, size_t i,
                         const char *id, const char *title, uint64_t count)
{
    const struct tg_tracez_sample *ss[TG_TRACEZ_SAMPLES];
    size_t n = tg_tracez_ring_samples(r, ss);
    if (n == 0) {
        return;
    }
    rawf(p, "<h3 id=\"n%zu-%s\">%s: %" PRIu64 " span%s, newest %zu</h3>\n", i, id, title, count,
         count == 1 ? "" : "s", n);
    sample_head(p);
    for (size_t k = 0; k < n; k++) {
        sample_row(p, ss[k], NULL);
    }
    raw(p, "</table>\n");
}

static void details(struct page *p, struct tg_tracez_entry **order, size_t n,
                    const struct tg_tracez_filter *f)
{
    for (size_t i = 0; i < n; i++) {
        const struct tg_tracez_entry *e = order[i];
        if (!tg_tracez_entry_matches(e, f)) {
            continue;
        }
        rawf(p, "<h2 id=\"n%zu\">", i);
        escs(p, e->name);
        raw(p, " <span class=\"muted\">");
        raw(p, e->other ? "(names past the limit)" : tg_tracez_kind_name(e->kind));
        raw(p, "</span> <a class=\"muted\" href=\"?name=");
        url_value(p, e->name);
        if (!e->other) {
            raw(p, "&amp;kind=");
            raw(p, tg_tracez_kind_name(e->kind));
        }
        raw(p, "\">only this</a></h2>\n");
        ring_section(p, &e->error_ring, i, "err", "<span class=\"err\">Errors</span>",
                     e->errors);
        for (int b = 0; b < TG_TRACEZ_BUCKETS; b++) {
            char id[8];
            snprintf(id, sizeof(id), "b%d", b);
            ring_section(p, &e->rings[b], i, id, tg_tracez_bucket_label(b), e->latency[b]);
        }
    }
}

/* Every kept sample of one trace, whatever its name. */
static void trace_section(struct page *p, struct tg_tracez_entry **order, size_t n,
                          const struct tg_tracez_filter *f)
{
    char hex[33];
    size_t found = 0;

    tg_tracez_hex(f->trace_id, 16, hex);
    raw(p, "<h2>Trace <code>");
    raw(p, hex);
    raw(p, "</code></h2>\n");
    sample_head(p);
    for (size_t i = 0; i < n; i++) {
        const struct tg_tracez_entry *e = order[i];
        const struct tg_tracez_sample *ss[TG_TRACEZ_SAMPLES];
        for (int b = -1; b < TG_TRACEZ_BUCKETS; b++) {
            size_t k = tg_tracez_ring_samples(b < 0 ? &e->error_ring : &e->rings[b], ss);
            for (size_t j = 0; j < k; j++) {
                if (tg_tracez_sample_matches(ss[j], f)) {
                    sample_row(p, ss[j], e->name);
                    found++;
                }
            }
        }
    }
    raw(p, "</table>\n");
    if (found == 0) {
        raw(p, "<p class=\"muted\">No sample of this trace is kept: it may not have ended "
               "yet, it was not sampled, or newer spans took its place.</p>\n");
    }
}

int tg_tracez_render_html(struct tg_tracez *t, const struct tg_tracez_filter *f,
                          struct tg_bytes *out)
{
    struct page p = {.out = out};
    struct tg_tracez_entry *order[TG_TRACEZ_NAMES + 1];
    size_t n = tg_tracez_sorted(t, order);
    char since[48];

    tg_tracez_time(t->started_unix_ns, since, sizeof(since));
    raw(&p, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>tracegate: tracez</title><style>" STYLE "</style></head><body>\n"
            "<h1>tracegate: recent spans</h1>\n<p>");
    rawf(&p, "%" PRIu64 " spans recorded since %s, by span name and kind. ", t->spans, since);
    rawf(&p, "Latency buckets count spans that ended without an error; Errors counts the "
             "others. Each keeps its %d newest samples. ", TG_TRACEZ_SAMPLES);
    raw(&p, "<a href=\"?format=json\">JSON</a></p>\n<form method=\"get\" action=\"\">"
            "<label>Trace ID <input name=\"trace_id\" size=\"34\" maxlength=\"32\" value=\"");
    if (f->has_trace_id && !f->bad_trace_id) {
        char hex[33];
        tg_tracez_hex(f->trace_id, 16, hex);
        raw(&p, hex);
    }
    raw(&p, "\"></label> <button>Find</button> <a href=\"?\">show all</a></form>\n");
    if (f->bad_trace_id) {
        raw(&p, "<p class=\"err\">A trace ID is 32 hexadecimal digits (the second field of "
                "traceparent or traceresponse).</p>\n");
    } else if (f->has_trace_id) {
        trace_section(&p, order, n, f);
    }
    summary(&p, t, order, n, f);
    if (!f->has_trace_id) {
        details(&p, order, n, f);
    }
    raw(&p, "</body></html>\n");
    return p.err;
}
