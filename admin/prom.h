/*
 * A writer for the Prometheus text exposition format, version 0.0.4:
 *
 *   # HELP name text        (text: backslash and newline escaped)
 *   # TYPE name counter|gauge|histogram
 *   name{label="value",...} value
 *
 * Label values are escaped (backslash, double quote, newline); other
 * control characters and bytes that are not UTF-8 become U+FFFD, so any
 * string can be a label value and every sample stays on one line.
 * A histogram is written from per-bucket counts: cumulative _bucket
 * series with le, the +Inf bucket equal to _count, then _sum.
 *
 * Errors are sticky: after the first failed append nothing more is
 * written and tg_prom_error returns it. Not thread-safe; one writer per
 * answer.
 */
#ifndef TG_PROM_H
#define TG_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

struct tg_prom {
    struct tg_bytes *out;   /* borrowed */
    int err;                /* 0 or the first -errno */
};

struct tg_prom_label {
    const char *name;       /* [a-zA-Z_][a-zA-Z0-9_]*, written as is */
    const char *value;      /* any bytes up to NUL; escaped */
};

void tg_prom_init(struct tg_prom *p, struct tg_bytes *out);
/* 0 or the first error (-EMSGSIZE past the buffer's limit, -ENOMEM). */
int tg_prom_error(const struct tg_prom *p);

/* The HELP and TYPE lines that open a family; its samples follow. */
void tg_prom_family(struct tg_prom *p, const char *name, const char *type, const char *help);

/* One sample: name, the labels (n may be 0), the value. */
void tg_prom_u64(struct tg_prom *p, const char *name, const struct tg_prom_label *labels,
                 size_t n, uint64_t v);
void tg_prom_i64(struct tg_prom *p, const char *name, const struct tg_prom_label *labels,
                 size_t n, int64_t v);
void tg_prom_f64(struct tg_prom *p, const char *name, const struct tg_prom_label *labels,
                 size_t n, double v);

/*
 * A histogram's samples under family `name`: counts[0..nbounds] are the
 * observations per bucket (counts[i] those <= bounds[i] and above the
 * previous bound; counts[nbounds] those above the last), bounds ascending.
 * labels (n of them, at most 7) are written before le.
 */
void tg_prom_histogram(struct tg_prom *p, const char *name, const struct tg_prom_label *labels,
                       size_t n, const double *bounds, size_t nbounds, const uint64_t *counts,
                       double sum);

/* The shortest decimal that reads back as v ("0.005", "10", "+Inf",
 * "NaN"), NUL-terminated in out (at least 32 bytes). */
void tg_prom_format_double(double v, char *out, size_t len);

#endif
