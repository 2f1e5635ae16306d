/*
 * Request metrics kept by the workers for /metrics.
 *
 * Each worker owns one struct tg_worker_metrics and is its only writer:
 * an update is a relaxed atomic load and store of the worker's own
 * counter (no read-modify-write, no lock, no cache line shared with
 * another worker), so the request path pays a few plain moves. A scrape
 * on another thread reads the same atomics, relaxed, and adds up the
 * workers; every counter it reads is one the worker wrote whole.
 *
 * Routes are keyed by their sampler slot (stable over reloads, see
 * admin/control.h): slots below TG_METRICS_ROUTE_SLOTS get their own
 * row, later ones share the "other" row, so memory per worker is fixed.
 * tracegate's own /admin route and requests that matched no route have
 * rows of their own.
 *
 * The registry (struct tg_metrics) lists the workers' blocks. Its mutex is
 * taken when a worker starts or goes away and by the scraper, never on the
 * request path. A block that leaves adds its counters to the registry's
 * "retired" totals, so counters never go backwards when workers are
 * replaced.
 */
#ifndef TG_METRICS_H
#define TG_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define TG_METRICS_ROUTE_SLOTS 256

enum tg_metrics_row_extra {
    TG_METRICS_ROW_OTHER = TG_METRICS_ROUTE_SLOTS, /* slots past the first 256 */
    TG_METRICS_ROW_INTERNAL,                       /* tracegate's own /admin route */
    TG_METRICS_ROW_UNMATCHED,                      /* no route (or refused before routing) */
    TG_METRICS_ROWS,
};

/* The status class a client got, or "aborted": the exchange did not end
 * with a complete response (the client went away, or the response was
 * cut: upstream failure mid-body, timeout, shutdown deadline). */
enum tg_metrics_code {
    TG_METRICS_1XX,
    TG_METRICS_2XX,
    TG_METRICS_3XX,
    TG_METRICS_4XX,
    TG_METRICS_5XX,
    TG_METRICS_ABORTED,
    TG_METRICS_CODES,
};

/* Why an upstream attempt failed: the error.type values the CLIENT span
 * carries (gateway/upstream.c). */
enum tg_metrics_upstream_error {
    TG_METRICS_UE_CONNECTION_REFUSED,
    TG_METRICS_UE_NAME_RESOLUTION_FAILED,
    TG_METRICS_UE_TIMEOUT,
    TG_METRICS_UE_CONNECTION_CLOSED,
    TG_METRICS_UE_CONNECTION_RESET,
    TG_METRICS_UE_INVALID_RESPONSE,
    TG_METRICS_UE_RESPONSE_INCOMPLETE,
    TG_METRICS_UE_OTHER,
    TG_METRICS_UPSTREAM_ERRORS,
};

/* Request duration histogram bounds, seconds (Prometheus's defaults). */
#define TG_METRICS_DURATION_BOUNDS 11
extern const double tg_metrics_duration_bounds_s[TG_METRICS_DURATION_BOUNDS];

struct tg_route_metrics {
    _Atomic uint64_t requests[TG_METRICS_CODES];
    /* Per bucket, not cumulative; the last one is above every bound. */
    _Atomic uint64_t duration[TG_METRICS_DURATION_BOUNDS + 1];
    _Atomic uint64_t duration_sum_ns;
    _Atomic uint64_t upstream_errors[TG_METRICS_UPSTREAM_ERRORS];
};

struct tg_worker_metrics {
    _Atomic int64_t connections;   /* client connections open now */
    _Atomic int64_t in_flight;     /* requests between request line and end */
    struct tg_route_metrics rows[TG_METRICS_ROWS];
    struct tg_worker_metrics *next; /* the registry's list (its mutex) */
};

/* The same numbers added up, as the scraper sees them. */
struct tg_metrics_totals {
    int64_t connections;
    int64_t in_flight;
    int workers;
    struct {
        uint64_t requests[TG_METRICS_CODES];
        uint64_t duration[TG_METRICS_DURATION_BOUNDS + 1];
        uint64_t duration_sum_ns;
        uint64_t upstream_errors[TG_METRICS_UPSTREAM_ERRORS];
    } rows[TG_METRICS_ROWS];
};

/* ---- the worker's side (its own block only) ---- */

/* Single writer: a plain increment that a concurrent reader sees whole. */
static inline void tg_metrics_add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline void tg_metrics_gauge_add(_Atomic int64_t *g, int64_t d)
{
    atomic_store_explicit(g, atomic_load_explicit(g, memory_order_relaxed) + d,
                          memory_order_relaxed);
}

/*
 * One request is over: route (NULL when none matched), what the client
 * got (status, or aborted), how long it took, and why the upstream
 * attempt failed (error_type as in conn.h, NULL when it did not).
 */
void tg_metrics_request(struct tg_worker_metrics *m, const struct tg_route_conf *route,
                        int status, bool aborted, int64_t duration_ns,
                        const char *error_type);

/* ---- the registry (any thread) ---- */

struct tg_metrics;

/* 0 or -ENOMEM. */
int tg_metrics_create(struct tg_metrics **out);
/* After every block has been detached. Accepts NULL. */
void tg_metrics_destroy(struct tg_metrics *reg);

/* A new zeroed block for one worker, listed. 0 or -ENOMEM. */
int tg_metrics_attach(struct tg_metrics *reg, struct tg_worker_metrics **out);
/* The worker is gone (its thread joined): keep its counters, free the
 * block. Accepts NULL m. */
void tg_metrics_detach(struct tg_metrics *reg, struct tg_worker_metrics *m);

/* Every block added up now into *out. */
void tg_metrics_sum(struct tg_metrics *reg, struct tg_metrics_totals *out);

/* The label values of the code and upstream error dimensions. */
const char *tg_metrics_code_name(enum tg_metrics_code c);
const char *tg_metrics_upstream_error_name(enum tg_metrics_upstream_error e);

#endif
