#include "metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

const double tg_metrics_duration_bounds_s[TG_METRICS_DURATION_BOUNDS] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

/* The same bounds in nanoseconds, for the request path. */
static const int64_t bounds_ns[TG_METRICS_DURATION_BOUNDS] = {
    5000000, 10000000, 25000000, 50000000, 100000000, 250000000,
    500000000, 1000000000, 2500000000, 5000000000, 10000000000,
};

static const char *const code_names[TG_METRICS_CODES] = {
    "1xx", "2xx", "3xx", "4xx", "5xx", "aborted",
};

/* Index i is enum tg_metrics_upstream_error i; the names are the
 * error.type values upstream.c gives failed transfers. */
static const char *const upstream_error_names[TG_METRICS_UPSTREAM_ERRORS] = {
    "connection_refused", "name_resolution_failed", "timeout", "connection_closed",
    "connection_reset", "invalid_response", "response_incomplete", "upstream_error",
};

const char *tg_metrics_code_name(enum tg_metrics_code c)
{
    return c < TG_METRICS_CODES ? code_names[c] : "aborted";
}

const char *tg_metrics_upstream_error_name(enum tg_metrics_upstream_error e)
{
    return e < TG_METRICS_UPSTREAM_ERRORS ? upstream_error_names[e] : "upstream_error";
}

struct tg_metrics {
    pthread_mutex_t mu;
    struct tg_worker_metrics *list;
    struct tg_metrics_totals retired;   /* counters of blocks detached */
};

/* ---- the request path ------------------------------------------------------ */

static size_t row_of(const struct tg_route_conf *r)
{
    if (r == NULL) {
        return TG_METRICS_ROW_UNMATCHED;
    }
    if (r->slot < TG_METRICS_ROUTE_SLOTS) {
        return r->slot;
    }
    return r->internal ? TG_METRICS_ROW_INTERNAL : TG_METRICS_ROW_OTHER;
}

/* Only on a failure, so a few string compares are fine. A transfer we
 * stopped ourselves (request_aborted) is not the upstream's failure. */
static int upstream_error_of(const char *error_type)
{
    for (int i = 0; i < TG_METRICS_UPSTREAM_ERRORS; i++) {
        if (strcmp(error_type, upstream_error_names[i]) == 0) {
            return i;
        }
    }
    return strcmp(error_type, "request_aborted") == 0 ? -1 : TG_METRICS_UE_OTHER;
}

void tg_metrics_request(struct tg_worker_metrics *m, const struct tg_route_conf *route,
                        int status, bool aborted, int64_t duration_ns,
                        const char *error_type)
{
    struct tg_route_metrics *row = &m->rows[row_of(route)];
    unsigned code = TG_METRICS_ABORTED;
    if (!aborted && status >= 100 && status <= 599) {
        code = (unsigned)(status / 100 - 1);
    }
    tg_metrics_add(&row->requests[code], 1);

    if (duration_ns < 0) {
        duration_ns = 0;
    }
    size_t b = 0;
    while (b < TG_METRICS_DURATION_BOUNDS && duration_ns > bounds_ns[b]) {
        b++;
    }
    tg_metrics_add(&row->duration[b], 1);
    tg_metrics_add(&row->duration_sum_ns, (uint64_t)duration_ns);

    if (error_type != NULL) {
        int e = upstream_error_of(error_type);
        if (e >= 0) {
            tg_metrics_add(&row->upstream_errors[e], 1);
        }
    }
}

/* ---- the registry ----------------------------------------------------------- */

int tg_metrics_create(struct tg_metrics **out)
{
    struct tg_metrics *reg = calloc(1, sizeof(*reg));
    if (reg == NULL) {
        return -ENOMEM;
    }
    pthread_mutex_init(&reg->mu, NULL);
    *out = reg;
    return 0;
}

void tg_metrics_destroy(struct tg_metrics *reg)
{
    if (reg == NULL) {
        return;
    }
    /* Blocks still listed belong to workers that were never destroyed. */
    while (reg->list != NULL) {
        struct tg_worker_metrics *m = reg->list;
        reg->list = m->next;
        free(m);
    }
    pthread_mutex_destroy(&reg->mu);
    free(reg);
}

int tg_metrics_attach(struct tg_metrics *reg, struct tg_worker_metrics **out)
{
    /* A cache line of its own: no false sharing with another worker. */
    size_t size = (sizeof(struct tg_worker_metrics) + 63) / 64 * 64;
    struct tg_worker_metrics *m = aligned_alloc(64, size);
    if (m == NULL) {
        return -ENOMEM;
    }
    memset(m, 0, size);
    pthread_mutex_lock(&reg->mu);
    m->next = reg->list;
    reg->list = m;
    pthread_mutex_unlock(&reg->mu);
    *out = m;
    return 0;
}

/* Add block m's counters into t (gauges too when with_gauges). */
static void add_block(struct tg_metrics_totals *t, struct tg_worker_metrics *m,
                      bool with_gauges)
{
#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)
    if (with_gauges) {
        t->connections += LOAD(m->connections);
        t->in_flight += LOAD(m->in_flight);
        t->workers++;
    }
    for (size_t r = 0; r < TG_METRICS_ROWS; r++) {
        struct tg_route_metrics *row = &m->rows[r];
        for (size_t i = 0; i < TG_METRICS_CODES; i++) {
            t->rows[r].requests[i] += LOAD(row->requests[i]);
        }
        for (size_t i = 0; i <= TG_METRICS_DURATION_BOUNDS; i++) {
            t->rows[r].duration[i] += LOAD(row->duration[i]);
        }
        t->rows[r].duration_sum_ns += LOAD(row->duration_sum_ns);
        for (size_t i = 0; i < TG_METRICS_UPSTREAM_ERRORS; i++) {
            t->rows[r].upstream_errors[i] += LOAD(row->upstream_errors[i]);
        }
    }
#undef LOAD
}

void tg_metrics_detach(struct tg_metrics *reg, struct tg_worker_metrics *m)
{
    if (m == NULL) {
        return;
    }
    pthread_mutex_lock(&reg->mu);
    for (struct tg_worker_metrics **p = &reg->list; *p != NULL; p = &(*p)->next) {
        if (*p == m) {
            *p = m->next;
            break;
        }
    }
    /* Its connections and requests are over: only the counters stay. */
    add_block(&reg->retired, m, false);
    pthread_mutex_unlock(&reg->mu);
    free(m);
}

void tg_metrics_sum(struct tg_metrics *reg, struct tg_metrics_totals *out)
{
    pthread_mutex_lock(&reg->mu);
    memcpy(out, &reg->retired, sizeof(*out));
    for (struct tg_worker_metrics *m = reg->list; m != NULL; m = m->next) {
        add_block(out, m, true);
    }
    pthread_mutex_unlock(&reg->mu);
}
