/*
 * Batch span processor (OpenTelemetry SDK specification): finished spans
 * wait in a bounded queue and one thread hands them to the exporter in
 * batches — when a batch is full, when the schedule delay has passed since
 * the last export, and on shutdown. Exports never overlap (one thread).
 *
 * Workers only push: lock-free, never blocking. A full queue drops the span
 * and counts it. Every span submitted is accounted for exactly once:
 * exported, rejected (the receiver took the batch but refused these),
 * dropped_not_retryable, dropped_retries_exhausted, dropped_deadline,
 * dropped_full or dropped_shutdown; queued counts those that entered the
 * queue (all but the last two).
 */
#ifndef TG_BATCH_H
#define TG_BATCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct tg_span;

/* Why an export lost its spans. */
enum tg_export_failure {
    TG_EXPORT_DELIVERED = 0,
    TG_EXPORT_NOT_RETRYABLE,     /* the receiver refused it (400, 401, bad TLS, ...) */
    TG_EXPORT_RETRIES_EXHAUSTED, /* retryable failures until the export deadline */
    TG_EXPORT_SHUTDOWN,          /* the shutdown deadline cut it short */
};

/* What one export did, filled by the exporter. */
struct tg_export_report {
    enum tg_export_failure failure;
    uint64_t rejected;       /* delivered, but refused by partial success */
    unsigned requests;       /* requests sent, first attempt included */
    unsigned retries;
    char message[256];       /* the failure, or the partial-success message; NUL-terminated */
};

/* Where batches go. export_batch() runs on the processor thread only and
 * owns nothing: the processor frees the spans after it returns. It must
 * give up at deadline_ns (CLOCK_MONOTONIC) and fill *rep (zeroed by the
 * caller). cancel() may be called from another thread at shutdown: an
 * export in progress, its transfers and its waits between retries must end
 * by deadline_ns. cancel and shutdown may be NULL. */
struct tg_exporter {
    void (*export_batch)(void *ctx, struct tg_span *const *spans, size_t n,
                         int64_t deadline_ns, struct tg_export_report *rep);
    void (*cancel)(void *ctx, int64_t deadline_ns);
    void (*shutdown)(void *ctx);
    void *ctx;
};

/* Defaults from the specification (OTEL_BSP_*). */
#define TG_BSP_SCHEDULE_DELAY_MS 5000
#define TG_BSP_EXPORT_TIMEOUT_MS 30000
#define TG_BSP_MAX_QUEUE_SIZE 2048
#define TG_BSP_MAX_EXPORT_BATCH_SIZE 512

struct tg_batch_conf {
    int64_t schedule_delay_ms;     /* >= 0; 0 is taken as 1 */
    int64_t export_timeout_ms;     /* bound on one export, retries included; 0: none */
    size_t max_queue_size;
    size_t max_export_batch_size;  /* <= max_queue_size */
    /* Called on the processor thread after an export that lost or had
     * rejected spans (n: spans in the batch), e.g. to log it. May be NULL. */
    void (*on_trouble)(void *arg, const struct tg_export_report *rep, size_t n);
    void *arg;
    /* Called on the processor thread with every batch it takes off the
     * queue, before the export (and also for spans the shutdown deadline
     * drops), e.g. to keep a local view of recent spans. It must not keep
     * the pointers: the spans are freed after the export. May be NULL. */
    void (*observe)(void *observe_arg, struct tg_span *const *spans, size_t n);
    void *observe_arg;
};

struct tg_batch_stats {
    _Atomic uint64_t queued;         /* accepted into the queue */
    _Atomic uint64_t dropped_full;   /* refused: queue full */
    _Atomic uint64_t dropped_shutdown; /* submitted after shutdown began */
    _Atomic uint64_t dropped_deadline; /* queued, cut by the shutdown deadline */
    _Atomic uint64_t exported;       /* delivered and accepted */
    _Atomic uint64_t rejected;       /* delivered, refused by partial success */
    _Atomic uint64_t dropped_not_retryable;
    _Atomic uint64_t dropped_retries_exhausted;
    _Atomic uint64_t export_calls;   /* batches handed to the exporter */
    _Atomic uint64_t export_failures; /* batches lost */
    _Atomic uint64_t export_requests; /* requests sent, retries included */
    _Atomic uint64_t export_retries;
    _Atomic int64_t last_export_unix_ns;  /* last export attempt that ended */
    _Atomic int64_t last_error_unix_ns;   /* 0: never */
};

/* Queued spans that never reached the receiver, whatever the reason. */
static inline uint64_t tg_batch_stats_lost(const struct tg_batch_stats *s)
{
    return s->dropped_not_retryable + s->dropped_retries_exhausted + s->dropped_deadline;
}

struct tg_batch;

/* Takes ownership of nothing; exporter must outlive the processor. NULL on
 * allocation failure or invalid conf. */
struct tg_batch *tg_batch_create(const struct tg_batch_conf *conf,
                                 const struct tg_exporter *exporter);
/* Start the processor thread. Returns 0 or a negative errno. */
int tg_batch_start(struct tg_batch *b);

/* Hand over a finished span (any thread, until destroy). On a full queue,
 * or after shutdown has begun, the span is freed and counted. */
void tg_batch_submit(struct tg_batch *b, struct tg_span *s);

/* Export everything queued, stop the thread, then shut the exporter down.
 * Submits that race with it either land before the final export or are
 * dropped and counted. Export stops at now + timeout_ms (< 0: no limit):
 * an export in progress is cancelled and what is still queued is counted
 * in dropped_deadline, so once it returns every queued span is accounted
 * for. Call from one thread; a second call returns at once. */
void tg_batch_shutdown(struct tg_batch *b, int64_t timeout_ms);
/* ForceFlush (OpenTelemetry SDK specification), without waiting: the
 * processor exports what is queued now instead of waiting for a full batch
 * or the schedule delay. Any thread; does nothing after shutdown. */
void tg_batch_force_flush(struct tg_batch *b);

/* Shuts down if needed, then frees. No submit may run during or after it. */
void tg_batch_destroy(struct tg_batch *b);

const struct tg_batch_stats *tg_batch_stats(const struct tg_batch *b);
/* The last failure or partial-success message ("" if none), copied. */
void tg_batch_last_error(struct tg_batch *b, char *out, size_t len);
size_t tg_batch_queue_size(struct tg_batch *b);

#endif
