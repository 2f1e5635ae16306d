/*
 * Batch span processor (OpenTelemetry SDK specification): finished spans
 * wait in a bounded queue and one thread hands them to the exporter in
 * batches — when a batch is full, when the schedule delay has passed since
 * the last export, and on shutdown. Exports never overlap (one thread).
 *
 * Workers only push: lock-free, never blocking. A full queue drops the span
 * and counts it. Every span submitted is accounted for exactly once:
 * exported, failed (the exporter lost the batch), dropped_full or
 * dropped_shutdown; queued counts those that entered the queue.
 */
#ifndef TG_BATCH_H
#define TG_BATCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct tg_span;

/* Where batches go. export() runs on the processor thread only and owns
 * nothing: the processor frees the spans after it returns. Returns 0 when
 * the batch was delivered, negative when it was lost. */
struct tg_exporter {
    int (*export_batch)(void *ctx, struct tg_span *const *spans, size_t n);
    void (*shutdown)(void *ctx);  /* may be NULL */
    void *ctx;
};

/* Defaults from the specification (OTEL_BSP_*). */
#define TG_BSP_SCHEDULE_DELAY_MS 5000
#define TG_BSP_EXPORT_TIMEOUT_MS 30000
#define TG_BSP_MAX_QUEUE_SIZE 2048
#define TG_BSP_MAX_EXPORT_BATCH_SIZE 512

struct tg_batch_conf {
    int64_t schedule_delay_ms;     /* >= 0; 0 is taken as 1 */
    int64_t export_timeout_ms;
    size_t max_queue_size;
    size_t max_export_batch_size;  /* <= max_queue_size */
};

struct tg_batch_stats {
    _Atomic uint64_t queued;         /* accepted into the queue */
    _Atomic uint64_t dropped_full;   /* refused: queue full */
    _Atomic uint64_t dropped_shutdown; /* arrived after shutdown began */
    _Atomic uint64_t exported;       /* delivered by the exporter */
    _Atomic uint64_t failed;         /* in a batch the exporter lost */
    _Atomic uint64_t export_calls;
    _Atomic uint64_t export_failures;
};

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
 * dropped and counted, so once it returns queued == exported + failed.
 * Call from one thread; a second call returns at once. */
void tg_batch_shutdown(struct tg_batch *b);
/* Shuts down if needed, then frees. No submit may run during or after it. */
void tg_batch_destroy(struct tg_batch *b);

const struct tg_batch_stats *tg_batch_stats(const struct tg_batch *b);
size_t tg_batch_queue_size(struct tg_batch *b);

#endif
