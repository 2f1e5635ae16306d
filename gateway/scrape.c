#include "scrape.h"

#include <errno.h>
#include <stdlib.h>

#include "batch.h"
#include "metrics.h"
#include "prom.h"
#include "reserve.h"
#include "sampler.h"
#include "tg_version.h"

/* A row of the request counters shown, and its route label. */
struct shown {
    size_t row;
    const char *route;
};

static bool row_used(const struct tg_metrics_totals *t, size_t row)
{
    for (size_t i = 0; i < TG_METRICS_CODES; i++) {
        if (t->rows[row].requests[i] != 0) {
            return true;
        }
    }
    return false;
}

static const char *internal_prefix(const struct tg_config *cfg)
{
    for (size_t i = 0; i < cfg->route_count; i++) {
        if (cfg->routes[i].internal) {
            return cfg->routes[i].prefix;
        }
    }
    return NULL;
}

/* Routes of the current configuration always (a rate needs a series from
 * the start); routes gone since, "other" and the admin route when they
 * have counts; "unmatched" always. */
static size_t shown_rows(const struct tg_scrape_source *src, const struct tg_metrics_totals *t,
                         struct shown *out)
{
    size_t n = 0;
    for (size_t slot = 0; slot < TG_METRICS_ROUTE_SLOTS; slot++) {
        bool live;
        const char *prefix = tg_control_slot_prefix(src->control, slot, &live);
        if (prefix == NULL) {
            break;  /* slots are handed out in order */
        }
        if (live || row_used(t, slot)) {
            out[n++] = (struct shown){slot, prefix};
        }
    }
    if (row_used(t, TG_METRICS_ROW_OTHER)) {
        out[n++] = (struct shown){TG_METRICS_ROW_OTHER, "other"};
    }
    const char *admin = internal_prefix(src->cfg);
    if (admin != NULL || row_used(t, TG_METRICS_ROW_INTERNAL)) {
        out[n++] = (struct shown){TG_METRICS_ROW_INTERNAL, admin != NULL ? admin : "/admin"};
    }
    out[n++] = (struct shown){TG_METRICS_ROW_UNMATCHED, "unmatched"};
    return n;
}

static void requests(struct tg_prom *p, const struct tg_metrics_totals *t,
                     const struct shown *rows, size_t n)
{
    tg_prom_family(p, "tracegate_client_connections", "gauge",
                   "Client connections open now.");
    tg_prom_i64(p, "tracegate_client_connections", NULL, 0, t->connections);
    tg_prom_family(p, "tracegate_requests_in_flight", "gauge",
                   "Requests received and not yet finished.");
    tg_prom_i64(p, "tracegate_requests_in_flight", NULL, 0, t->in_flight);

    tg_prom_family(p, "tracegate_requests_total", "counter",
                   "Requests finished, by route prefix and the status class the client got "
                   "(aborted: no complete response, the client left or the response was cut).");
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < TG_METRICS_CODES; c++) {
            struct tg_prom_label l[2] = {{"route", rows[i].route},
                                         {"code", tg_metrics_code_name((enum tg_metrics_code)c)}};
            tg_prom_u64(p, "tracegate_requests_total", l, 2, t->rows[rows[i].row].requests[c]);
        }
    }

    tg_prom_family(p, "tracegate_request_duration_seconds", "histogram",
                   "Time from the request line to the end of the response, by route prefix.");
    for (size_t i = 0; i < n; i++) {
        struct tg_prom_label l[1] = {{"route", rows[i].route}};
        tg_prom_histogram(p, "tracegate_request_duration_seconds", l, 1,
                          tg_metrics_duration_bounds_s, TG_METRICS_DURATION_BOUNDS,
                          t->rows[rows[i].row].duration,
                          (double)t->rows[rows[i].row].duration_sum_ns / 1e9);
    }

    tg_prom_family(p, "tracegate_upstream_errors_total", "counter",
                   "Upstream attempts that failed, by route prefix and error.type "
                   "(the CLIENT span's).");
    for (size_t i = 0; i < n; i++) {
        if (rows[i].row == TG_METRICS_ROW_UNMATCHED) {
            continue;  /* never asked an upstream */
        }
        for (int k = 0; k < TG_METRICS_UPSTREAM_ERRORS; k++) {
            struct tg_prom_label l[2] = {
                {"route", rows[i].route},
                {"kind", tg_metrics_upstream_error_name((enum tg_metrics_upstream_error)k)}};
            tg_prom_u64(p, "tracegate_upstream_errors_total", l, 2,
                        t->rows[rows[i].row].upstream_errors[k]);
        }
    }
}

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

static void counter(struct tg_prom *p, const char *name, const char *help, uint64_t v)
{
    tg_prom_family(p, name, "counter", help);
    tg_prom_u64(p, name, NULL, 0, v);
}

static void tracing(struct tg_prom *p, const struct tg_scrape_source *src)
{
    struct tg_tracer *tr = src->tracer;
    const struct tg_trace_stats *s = &tr->stats;
    const struct tg_batch_stats *b = tg_batch_stats(tr->batch);

    tg_prom_family(p, "tracegate_tracing_enabled", "gauge",
                   "1 when requests may be traced (TELEMETRY_ENABLED, POST /admin/telemetry).");
    tg_prom_u64(p, "tracegate_tracing_enabled", NULL, 0, tg_sampler_enabled(&tr->sampler));
    tg_prom_family(p, "tracegate_sampling_rate", "gauge",
                   "Share of new traces sampled (routes may have their own rate).");
    tg_prom_f64(p, "tracegate_sampling_rate", NULL, 0, tg_sampler_rate(&tr->sampler));

    tg_prom_family(p, "tracegate_sampling_decisions_total", "counter",
                   "Requests by tracing decision (not_traced: health paths and the admin route).");
    struct tg_prom_label l[1] = {{"decision", "sampled"}};
    tg_prom_u64(p, "tracegate_sampling_decisions_total", l, 1, LOAD(s->requests_traced));
    l[0].value = "not_sampled";
    tg_prom_u64(p, "tracegate_sampling_decisions_total", l, 1, LOAD(s->requests_unsampled));
    l[0].value = "not_traced";
    tg_prom_u64(p, "tracegate_sampling_decisions_total", l, 1, LOAD(s->requests_untraced));

    counter(p, "tracegate_spans_started_total", "Spans started (SERVER and CLIENT).",
            LOAD(s->spans_started));
    counter(p, "tracegate_span_start_failures_total",
            "Spans not started for want of memory.", LOAD(s->span_alloc_failed));
    counter(p, "tracegate_spans_queued_total", "Finished spans accepted into the export queue.",
            LOAD(b->queued));
    counter(p, "tracegate_spans_exported_total",
            "Spans the exporter delivered and the receiver accepted (the none exporter "
            "accepts every span).", LOAD(b->exported));
    counter(p, "tracegate_spans_rejected_total",
            "Spans delivered but refused by the receiver (partial success).", LOAD(b->rejected));

    tg_prom_family(p, "tracegate_spans_dropped_total", "counter",
                   "Spans lost, by reason: queue_full (not queued), not_retryable and "
                   "retries_exhausted (the export failed), shutdown (ended after shutdown "
                   "began), shutdown_deadline (queued, cut by the shutdown deadline).");
    static const char *const reasons[] = {"queue_full", "not_retryable", "retries_exhausted",
                                          "shutdown", "shutdown_deadline"};
    const uint64_t dropped[] = {LOAD(b->dropped_full), LOAD(b->dropped_not_retryable),
                                LOAD(b->dropped_retries_exhausted), LOAD(b->dropped_shutdown),
                                LOAD(b->dropped_deadline)};
    for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++) {
        l[0] = (struct tg_prom_label){"reason", reasons[i]};
        tg_prom_u64(p, "tracegate_spans_dropped_total", l, 1, dropped[i]);
    }

    tg_prom_family(p, "tracegate_span_queue_size", "gauge", "Spans waiting for export now.");
    tg_prom_u64(p, "tracegate_span_queue_size", NULL, 0, tg_batch_queue_size(tr->batch));
    tg_prom_family(p, "tracegate_span_queue_capacity", "gauge",
                   "Spans the export queue holds at most (OTEL_BSP_MAX_QUEUE_SIZE).");
    tg_prom_i64(p, "tracegate_span_queue_capacity", NULL, 0,
                src->cfg->tracing.bsp_max_queue_size);

    counter(p, "tracegate_export_batches_total", "Batches handed to the exporter.",
            LOAD(b->export_calls));
    counter(p, "tracegate_export_requests_total", "Export requests sent, retries included.",
            LOAD(b->export_requests));
    counter(p, "tracegate_export_retries_total", "Export requests that were retries.",
            LOAD(b->export_retries));
    counter(p, "tracegate_export_failures_total", "Batches whose spans were lost.",
            LOAD(b->export_failures));
    tg_prom_family(p, "tracegate_export_last_attempt_timestamp_seconds", "gauge",
                   "When the last export ended, Unix time (0: none yet).");
    tg_prom_f64(p, "tracegate_export_last_attempt_timestamp_seconds", NULL, 0,
                (double)LOAD(b->last_export_unix_ns) / 1e9);
    tg_prom_family(p, "tracegate_export_last_error_timestamp_seconds", "gauge",
                   "When an export last lost or had spans rejected, Unix time (0: never).");
    tg_prom_f64(p, "tracegate_export_last_error_timestamp_seconds", NULL, 0,
                (double)LOAD(b->last_error_unix_ns) / 1e9);

    tg_prom_family(p, "tracegate_trace_context_rejected_total", "counter",
                   "Inbound trace context headers that were invalid and not used.");
    l[0] = (struct tg_prom_label){"header", "traceparent"};
    tg_prom_u64(p, "tracegate_trace_context_rejected_total", l, 1, LOAD(s->traceparent_invalid));
    l[0].value = "tracestate";
    tg_prom_u64(p, "tracegate_trace_context_rejected_total", l, 1, LOAD(s->tracestate_invalid));
    l[0].value = "baggage";
    tg_prom_u64(p, "tracegate_trace_context_rejected_total", l, 1, LOAD(s->baggage_dropped));
    counter(p, "tracegate_tracestate_truncated_total",
            "Inbound tracestate headers cut to the propagation limit.",
            LOAD(s->tracestate_truncated));
}

int tg_scrape_render(const struct tg_scrape_source *src, struct tg_bytes *out)
{
    struct tg_metrics_totals *t = malloc(sizeof(*t));
    struct shown *rows = malloc(sizeof(*rows) * (TG_METRICS_ROUTE_SLOTS + 3));
    struct tg_prom p;

    if (t == NULL || rows == NULL) {
        free(t);
        free(rows);
        return -ENOMEM;
    }
    tg_metrics_sum(src->tracer->metrics, t);
    size_t n = shown_rows(src, t, rows);
    tg_prom_init(&p, out);

    tg_prom_family(&p, "tracegate_build_info", "gauge", "The running build; always 1.");
    struct tg_prom_label v[1] = {{"version", TG_VERSION}};
    tg_prom_u64(&p, "tracegate_build_info", v, 1, 1);
    tg_prom_family(&p, "tracegate_start_time_seconds", "gauge",
                   "When this process started, Unix time.");
    tg_prom_f64(&p, "tracegate_start_time_seconds", NULL, 0, (double)src->start_unix_ns / 1e9);
    tg_prom_family(&p, "tracegate_workers", "gauge", "Worker threads serving requests.");
    tg_prom_i64(&p, "tracegate_workers", NULL, 0, t->workers);
    requests(&p, t, rows, n);
    counter(&p, "tracegate_memory_reserve_releases_total",
            "Times the memory reserve was given up so that a libcurl allocation could succeed; "
            "new requests get 503 until it is back.",
            tg_reserve_releases());
    tracing(&p, src);

    free(rows);
    free(t);
    return tg_prom_error(&p);
}
