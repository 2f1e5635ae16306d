/*
 * The workers' request counters: rows by route slot, status classes,
 * duration buckets, upstream error kinds, and the registry's sums across
 * workers that come and go.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "test.h"

static struct tg_route_conf route(size_t slot, bool internal)
{
    struct tg_route_conf r;
    memset(&r, 0, sizeof(r));
    r.slot = slot;
    r.internal = internal;
    return r;
}

static void rows_codes_and_kinds(void)
{
    struct tg_metrics *reg;
    struct tg_worker_metrics *m;
    CHECK(tg_metrics_create(&reg) == 0);
    CHECK(tg_metrics_attach(reg, &m) == 0);
    CHECK(((uintptr_t)m & 63) == 0);
    struct tg_route_conf api = route(3, false), far = route(300, false),
                         admin = route(SIZE_MAX, true);

    tg_metrics_request(m, &api, 200, false, 1000, NULL);
    tg_metrics_request(m, &api, 404, false, 1000, NULL);
    tg_metrics_request(m, &api, 502, false, 1000, "connection_refused");
    tg_metrics_request(m, &api, 504, false, 1000, "timeout");
    tg_metrics_request(m, &api, 200, true, 1000, "request_aborted");  /* ours: not counted */
    tg_metrics_request(m, &api, 502, false, 1000, "something_new");
    tg_metrics_request(m, &far, 101, false, 1000, NULL);
    tg_metrics_request(m, &admin, 200, false, 1000, NULL);
    tg_metrics_request(m, NULL, 404, false, 1000, NULL);
    tg_metrics_request(m, NULL, 0, false, 1000, NULL);   /* no status: aborted */

    struct tg_metrics_totals *t = malloc(sizeof(*t));
    tg_metrics_sum(reg, t);
    CHECK(t->rows[3].requests[TG_METRICS_2XX] == 1);
    CHECK(t->rows[3].requests[TG_METRICS_4XX] == 1);
    CHECK(t->rows[3].requests[TG_METRICS_5XX] == 3);
    CHECK(t->rows[3].requests[TG_METRICS_ABORTED] == 1);
    CHECK(t->rows[3].upstream_errors[TG_METRICS_UE_CONNECTION_REFUSED] == 1);
    CHECK(t->rows[3].upstream_errors[TG_METRICS_UE_TIMEOUT] == 1);
    CHECK(t->rows[3].upstream_errors[TG_METRICS_UE_OTHER] == 1);
    uint64_t errors = 0;
    for (int k = 0; k < TG_METRICS_UPSTREAM_ERRORS; k++) {
        errors += t->rows[3].upstream_errors[k];
    }
    CHECK(errors == 3);
    CHECK(t->rows[TG_METRICS_ROW_OTHER].requests[TG_METRICS_1XX] == 1);
    CHECK(t->rows[TG_METRICS_ROW_INTERNAL].requests[TG_METRICS_2XX] == 1);
    CHECK(t->rows[TG_METRICS_ROW_UNMATCHED].requests[TG_METRICS_4XX] == 1);
    CHECK(t->rows[TG_METRICS_ROW_UNMATCHED].requests[TG_METRICS_ABORTED] == 1);
    CHECK(t->workers == 1);
    CHECK_STR(tg_metrics_code_name(TG_METRICS_ABORTED), "aborted");
    CHECK_STR(tg_metrics_upstream_error_name(TG_METRICS_UE_CONNECTION_RESET), "connection_reset");
    free(t);
    tg_metrics_detach(reg, m);
    tg_metrics_destroy(reg);
}

/* A bound belongs to its bucket (le: less or equal). */
static void duration_buckets(void)
{
    struct tg_metrics *reg;
    struct tg_worker_metrics *m;
    CHECK(tg_metrics_create(&reg) == 0);
    CHECK(tg_metrics_attach(reg, &m) == 0);
    struct tg_route_conf r = route(0, false);
    tg_metrics_request(m, &r, 200, false, 5000000, NULL);       /* exactly 5 ms */
    tg_metrics_request(m, &r, 200, false, 5000001, NULL);
    tg_metrics_request(m, &r, 200, false, 600000000, NULL);     /* 0.6 s */
    tg_metrics_request(m, &r, 200, false, 11000000000, NULL);   /* past 10 s */
    tg_metrics_request(m, &r, 200, false, -5, NULL);            /* clock oddity: 0 */
    struct tg_metrics_totals *t = malloc(sizeof(*t));
    tg_metrics_sum(reg, t);
    CHECK(t->rows[0].duration[0] == 2);
    CHECK(t->rows[0].duration[1] == 1);
    CHECK(t->rows[0].duration[7] == 1);   /* le=1 */
    CHECK(t->rows[0].duration[TG_METRICS_DURATION_BOUNDS] == 1);
    CHECK(t->rows[0].duration_sum_ns == 5000000ull + 5000001 + 600000000 + 11000000000ull);
    CHECK(tg_metrics_duration_bounds_s[7] == 1.0);
    free(t);
    tg_metrics_detach(reg, m);
    tg_metrics_destroy(reg);
}

/* Counters of a worker that goes away stay in the sums; its gauges do
 * not. */
static void sums_survive_detach(void)
{
    struct tg_metrics *reg;
    struct tg_worker_metrics *a, *b;
    CHECK(tg_metrics_create(&reg) == 0);
    CHECK(tg_metrics_attach(reg, &a) == 0);
    CHECK(tg_metrics_attach(reg, &b) == 0);
    struct tg_route_conf r = route(1, false);
    for (int i = 0; i < 5; i++) {
        tg_metrics_request(a, &r, 200, false, 1000, NULL);
    }
    tg_metrics_request(b, &r, 200, false, 1000, NULL);
    tg_metrics_gauge_add(&a->connections, 3);
    tg_metrics_gauge_add(&b->connections, 2);
    tg_metrics_gauge_add(&b->in_flight, 1);
    struct tg_metrics_totals *t = malloc(sizeof(*t));
    tg_metrics_sum(reg, t);
    CHECK(t->rows[1].requests[TG_METRICS_2XX] == 6);
    CHECK(t->connections == 5 && t->in_flight == 1 && t->workers == 2);
    tg_metrics_detach(reg, a);
    tg_metrics_sum(reg, t);
    CHECK(t->rows[1].requests[TG_METRICS_2XX] == 6);
    CHECK(t->rows[1].duration[0] == 6);
    CHECK(t->connections == 2 && t->workers == 1);
    tg_metrics_detach(reg, b);
    tg_metrics_sum(reg, t);
    CHECK(t->rows[1].requests[TG_METRICS_2XX] == 6);
    CHECK(t->connections == 0 && t->workers == 0);
    free(t);
    tg_metrics_destroy(reg);
}

int main(void)
{
    RUN(rows_codes_and_kinds);
    RUN(duration_buckets);
    RUN(sums_survive_detach);
    return TEST_SUMMARY();
}
