#include "prom.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

#define HISTOGRAM_LABELS_MAX 7

void tg_prom_init(struct tg_prom *p, struct tg_bytes *out)
{
    p->out = out;
    p->err = 0;
}

int tg_prom_error(const struct tg_prom *p)
{
    return p->err;
}

static void put(struct tg_prom *p, const char *s, size_t len)
{
    if (p->err == 0) {
        p->err = tg_bytes_append(p->out, s, len);
    }
}

static void puts_(struct tg_prom *p, const char *s)
{
    put(p, s, strlen(s));
}

/* s escaped for a label value (quote too) or for HELP text (quote kept):
 * runs that need nothing are copied in one piece. */
static void escaped(struct tg_prom *p, const char *s, int quote)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = strlen(s);
    size_t i = 0;

    while (i < len) {
        size_t run = i;
        while (run < len && u[run] >= 0x20 && u[run] < 0x80 && u[run] != '\\' &&
               !(quote && u[run] == '"')) {
            run++;
        }
        put(p, s + i, run - i);
        i = run;
        if (i == len) {
            break;
        }
        unsigned char c = u[i];
        if (c == '\\') {
            put(p, "\\\\", 2);
            i++;
        } else if (c == '"') {
            put(p, "\\\"", 2);
            i++;
        } else if (c == '\n') {
            put(p, "\\n", 2);
            i++;
        } else if (c < 0x80) {
            /* Allowed by the format, but a CR or a tab in a value is a trap
             * for every line-based reader: shown as U+FFFD instead. */
            put(p, "\xef\xbf\xbd", 3);
            i++;
        } else {
            size_t n = tg_strbuf_utf8_len(u + i, len - i);
            if (n == 0) {
                put(p, "\xef\xbf\xbd", 3);
                i++;
            } else {
                put(p, s + i, n);
                i += n;
            }
        }
    }
}

void tg_prom_family(struct tg_prom *p, const char *name, const char *type, const char *help)
{
    puts_(p, "# HELP ");
    puts_(p, name);
    put(p, " ", 1);
    escaped(p, help, 0);
    puts_(p, "\n# TYPE ");
    puts_(p, name);
    put(p, " ", 1);
    puts_(p, type);
    put(p, "\n", 1);
}

static void series(struct tg_prom *p, const char *name, const char *suffix,
                   const struct tg_prom_label *labels, size_t n)
{
    puts_(p, name);
    if (suffix != NULL) {
        puts_(p, suffix);
    }
    if (n == 0) {
        put(p, " ", 1);
        return;
    }
    put(p, "{", 1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            put(p, ",", 1);
        }
        puts_(p, labels[i].name);
        put(p, "=\"", 2);
        escaped(p, labels[i].value, 1);
        put(p, "\"", 1);
    }
    put(p, "} ", 2);
}

static void value_u64(struct tg_prom *p, uint64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", v);
    put(p, buf, (size_t)n);
}

void tg_prom_u64(struct tg_prom *p, const char *name, const struct tg_prom_label *labels,
                 size_t n, uint64_t v)
{
    series(p, name, NULL, labels, n);
    value_u64(p, v);
}

void tg_prom_i64(struct tg_prom *p, const char *name, const struct tg_prom_label *labels,
                 size_t n, int64_t v)
{
    char buf[24];
    series(p, name, NULL, labels, n);
    int len = snprintf(buf, sizeof(buf), "%" PRId64 "\n", v);
    put(p, buf, (size_t)len);
}

void tg_prom_format_double(double v, char *out, size_t len)
{
    if (isnan(v)) {
        snprintf(out, len, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, len, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    /* Whole numbers in plain digits ("10", not "1e+01"), exact up to 2^53. */
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        snprintf(out, len, "%.0f", v);
        return;
    }
    /* Otherwise the fewest significant digits that read back as v. */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, len, "%.*g", prec, v);
        if (strtod(out, NULL) == v) {
            return;
        }
    }
}

void tg_prom_f64(struct tg_prom *p, const char *name, const struct tg_prom_label *labels,
                 size_t n, double v)
{
    char buf[40];
    series(p, name, NULL, labels, n);
    tg_prom_format_double(v, buf, sizeof(buf));
    puts_(p, buf);
    put(p, "\n", 1);
}

void tg_prom_histogram(struct tg_prom *p, const char *name, const struct tg_prom_label *labels,
                       size_t n, const double *bounds, size_t nbounds, const uint64_t *counts,
                       double sum)
{
    struct tg_prom_label all[HISTOGRAM_LABELS_MAX + 1];
    char le[40];
    uint64_t cumulative = 0;

    if (n > HISTOGRAM_LABELS_MAX) {
        n = HISTOGRAM_LABELS_MAX;
    }
    if (n > 0) {
        memcpy(all, labels, n * sizeof(*labels));
    }
    all[n].name = "le";
    all[n].value = le;
    for (size_t i = 0; i <= nbounds; i++) {
        cumulative += counts[i];
        if (i < nbounds) {
            tg_prom_format_double(bounds[i], le, sizeof(le));
        } else {
            snprintf(le, sizeof(le), "+Inf");
        }
        series(p, name, "_bucket", all, n + 1);
        value_u64(p, cumulative);
    }
    char v[40];
    tg_prom_format_double(sum, v, sizeof(v));
    series(p, name, "_sum", labels, n);
    puts_(p, v);
    put(p, "\n", 1);
    series(p, name, "_count", labels, n);
    value_u64(p, cumulative);
}
