/*
 * Tracing of proxied requests: the inbound W3C context, the sampling
 * decision, the SERVER span of a request and the CLIENT span of its
 * upstream attempt, and the context tracegate propagates.
 *
 * Per request (worker thread):
 *   tg_trace_note_header  while the request head is scanned once
 *   tg_trace_begin        route known: parse inbound context, decide,
 *                         allocate a SERVER span only if sampled, prepare
 *                         traceparent/tracestate/baggage for the upstream
 *   tg_trace_client_start upstream transfer starts (CLIENT span)
 *   tg_trace_client_end   upstream transfer over (status, curl timings)
 *   tg_trace_client_resend  the request goes out again on a new connection
 *   tg_trace_response     traceresponse on what the client gets
 *   tg_trace_end          request over: SERVER span ends, both queued
 *
 * The tracer is shared by all workers: its configuration is immutable, the
 * sampler state and counters are atomics, and finished spans go into the
 * lock-free batch queue.
 */
#ifndef TG_TRACE_H
#define TG_TRACE_H

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "config.h"
#include "exporter.h"
#include "ids.h"
#include "sampler.h"
#include "spanpool.h"

struct tg_conn;
struct tg_span;

/* Inbound header values kept while the request lives (MHD's memory).
 * Only the first tracestate and baggage fields are noted during the scan
 * (this struct is cleared for every request, so it stays small); repeated
 * ones are collected by a second look in the rare case there are any. At
 * most TG_TRACE_IN_MAX fields of each are taken; more drops the header. */
#define TG_TRACE_IN_MAX 32

struct tg_trace_in {
    /* first occurrences, for span attributes */
    const char *host;
    const char *xff;
    const char *user_agent;
    const char *traceparent;
    size_t traceparent_len;
    unsigned traceparent_count;
    unsigned tracestate_count;
    unsigned baggage_count;
    const char *tracestate;      /* first field */
    size_t tracestate_len;
    const char *baggage;         /* first field */
    size_t baggage_len;
};

/* Per-request tracing state (inside struct tg_conn, reset per request). */
struct tg_trace {
    struct tg_trace_in in;
    bool active;          /* tracegate owns the context of this request */
    bool sampled;
    uint8_t flags;        /* trace flags propagated */
    uint8_t trace_id[16];
    uint8_t server_id[8];
    uint8_t client_id[8];
    struct tg_span *server;
    struct tg_span *client;
    /* Header values for the upstream request (active only); tracestate
     * and baggage in the arena, NULL when not forwarded. */
    char out_traceparent[56];
    char *sent_traceparent;  /* its copy in the upstream header list */
    const char *out_tracestate;
    size_t out_tracestate_len;
    const char *out_baggage;
    size_t out_baggage_len;
};

/* Counters (monotonic, any thread). */
struct tg_trace_stats {
    _Atomic uint64_t requests_traced;      /* SERVER span recorded */
    _Atomic uint64_t requests_unsampled;
    _Atomic uint64_t requests_untraced;    /* health paths */
    _Atomic uint64_t spans_started;
    _Atomic uint64_t span_alloc_failed;
    _Atomic uint64_t traceparent_invalid;
    _Atomic uint64_t tracestate_invalid;
    _Atomic uint64_t tracestate_truncated;
    _Atomic uint64_t baggage_dropped;
};

struct tg_metrics;
struct tg_tracez;

/* Shared by every worker and the operator surface. Besides the tracing
 * pipeline it holds what /metrics and /debug/tracez read: the registry of
 * the workers' request counters (gateway/metrics.h) and the trace view the
 * span processor feeds (admin/tracez.h). */
struct tg_tracer {
    const struct tg_config *cfg;
    struct tg_sampler sampler;
    struct tg_tracer_export out;
    struct tg_batch *batch;
    struct tg_spanpool pool;
    struct tg_trace_stats stats;
    struct tg_metrics *metrics;
    struct tg_tracez *tracez;
};

/* Main thread, before workers start: sampler, exporter, batch thread.
 * Returns 0 or a negative errno with a message in err. */
int tg_tracer_create(const struct tg_config *cfg, struct tg_tracer **out,
                     char *err, size_t err_len);
/* After workers stopped: flush queued spans, stop the processor. */
void tg_tracer_shutdown(struct tg_tracer *t);
void tg_tracer_destroy(struct tg_tracer *t);
/* One JSON line of counters (for the shutdown log). */
void tg_tracer_summary(struct tg_tracer *t, char *out, size_t len);

/* An inbound request header: trace headers and the few a SERVER span
 * reads are noted. Returns true for a trace header. */
bool tg_trace_note_header(struct tg_trace *tr, const char *name, size_t name_len,
                          const char *value, size_t value_len);

/* Whether headers.c must leave this inbound header out (tracegate emits
 * its own). */
bool tg_trace_replaces_header(const struct tg_trace *tr, const char *name, size_t len);

void tg_trace_begin(struct tg_conn *c, struct tg_rng *rng);
void tg_trace_client_start(struct tg_conn *c, const char *url);
/* error_type: NULL, or a short semantic-convention error.type value. */
void tg_trace_client_end(struct tg_conn *c, const char *error_type);
/* The failed try's CLIENT span ends with error_type; the next try gets a
 * span of its own with http.request.resend_count, and the traceparent
 * sent with it names that span. */
void tg_trace_client_resend(struct tg_conn *c, const char *error_type, struct tg_rng *rng);
/* Add traceresponse to a response to the client. */
void tg_trace_response(struct tg_conn *c, struct MHD_Response *r);
/* status: what the client got; error_type as above. */
void tg_trace_end(struct tg_conn *c, int status, const char *error_type);

#endif
