/*
 * What /metrics says: the workers' request counters (gateway/metrics.h),
 * the tracer's and the span processor's counters, the sampler's run-time
 * state and the build, in the Prometheus text format (admin/prom.h).
 *
 * Families (labels in braces):
 *   tracegate_build_info{version}                      gauge, always 1
 *   tracegate_start_time_seconds                       gauge
 *   tracegate_workers                                  gauge
 *   tracegate_client_connections                       gauge
 *   tracegate_requests_in_flight                       gauge
 *   tracegate_requests_total{route,code}               counter
 *   tracegate_request_duration_seconds{route}          histogram
 *   tracegate_upstream_errors_total{route,kind}        counter
 *   tracegate_memory_reserve_releases_total            counter (gateway/reserve.h)
 *   tracegate_tracing_enabled                          gauge, 0 or 1
 *   tracegate_sampling_rate                            gauge, 0..1
 *   tracegate_sampling_decisions_total{decision}       counter
 *   tracegate_spans_started_total                      counter
 *   tracegate_span_start_failures_total                counter
 *   tracegate_spans_queued_total                       counter
 *   tracegate_spans_exported_total                     counter
 *   tracegate_spans_rejected_total                     counter
 *   tracegate_spans_dropped_total{reason}              counter
 *   tracegate_span_queue_size / _capacity              gauges
 *   tracegate_export_batches_total, _requests_total, _retries_total,
 *     _failures_total                                  counters
 *   tracegate_export_last_attempt_timestamp_seconds,
 *     tracegate_export_last_error_timestamp_seconds    gauges (0: never)
 *   tracegate_trace_context_rejected_total{header}     counter
 *   tracegate_tracestate_truncated_total               counter
 *
 * route is the route prefix. Routes past the first TG_METRICS_ROUTE_SLOTS
 * prefixes the process has seen share route="other"; requests that
 * matched no route are route="unmatched"; tracegate's own /admin route on
 * the main listener is counted apart under its prefix, so scrapes
 * through it show up there (with --admin-listen they do not pass through
 * the workers and are not counted). code is 1xx..5xx, or "aborted" when
 * the exchange did not end with a complete response. kind is the
 * error.type of the failed upstream attempt.
 *
 * Runs on an admin thread; reads only atomics, the registry (its mutex)
 * and the control (its mutex).
 */
#ifndef TG_SCRAPE_H
#define TG_SCRAPE_H

#include <stdint.h>

#include "bytes.h"
#include "config.h"
#include "control.h"
#include "trace.h"

struct tg_scrape_source {
    struct tg_tracer *tracer;
    struct tg_control *control;       /* route prefixes of slots */
    const struct tg_config *cfg;      /* the /admin route's prefix, queue capacity */
    int64_t start_unix_ns;
};

/* Append the exposition to out. 0 or -errno (-EMSGSIZE, -ENOMEM). */
int tg_scrape_render(const struct tg_scrape_source *src, struct tg_bytes *out);

#endif
