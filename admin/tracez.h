/*
 * The trace view behind /debug/tracez (the zPages idea): what tracegate
 * traced recently, without a tracing backend. Per span name and kind:
 * counts by latency bucket, an error count, and a few recent sample spans
 * per bucket and for errors, with their ids, timing, status and key
 * attributes.
 *
 * Fed off the request path: the batch span processor shows it every
 * batch it takes off the queue (tg_batch_conf.observe), so it sees the
 * spans whatever the exporter (none included), at most a schedule delay
 * after they end, or at once after a flush.
 *
 * Bounded: TG_TRACEZ_NAMES names (later ones are counted under one
 * "other" row), TG_TRACEZ_SAMPLES samples per bucket, each keeping a
 * fixed set of attributes cut to TG_TRACEZ_VALUE_MAX bytes. A bucket takes
 * a new sample while it has room, or when its newest is
 * TG_TRACEZ_SAMPLE_INTERVAL_MS older, so under load copying stays rare;
 * the counts include every span. Samples are allocated per bucket on first
 * use: all 256 names with every bucket full would take about 9 MB, a few
 * routes take a few hundred KB.
 *
 * Threads: one mutex, taken by the processor thread (observe) and by
 * renderers; never by workers.
 */
#ifndef TG_TRACEZ_H
#define TG_TRACEZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

#define TG_TRACEZ_NAMES 256
#define TG_TRACEZ_SAMPLES 4
#define TG_TRACEZ_BUCKETS 9
#define TG_TRACEZ_NAME_MAX 128
#define TG_TRACEZ_VALUE_MAX 128
#define TG_TRACEZ_SAMPLE_INTERVAL_MS 10

struct tg_span;
struct tg_tracez;

/* 0 or -ENOMEM. */
int tg_tracez_create(struct tg_tracez **out);
/* After the processor that feeds it stopped. Accepts NULL. */
void tg_tracez_destroy(struct tg_tracez *t);

/* Record a batch of finished spans (tg_batch_conf.observe; arg is the
 * struct tg_tracez). Keeps no pointer into them. */
void tg_tracez_observe(void *arg, struct tg_span *const *spans, size_t n);

/* How many batches it has been shown; wait until that passes `since`, at
 * most timeout_ms. Returns true when it did. */
uint64_t tg_tracez_generation(struct tg_tracez *t);
bool tg_tracez_wait(struct tg_tracez *t, uint64_t since, int64_t timeout_ms);

/*
 * Append the view to out: a self-contained HTML page (html true) or a
 * JSON document. query (raw, may be NULL) filters: name=<span name>,
 * kind=server|client|internal, trace_id=<32 hex digits>. 0 or -errno.
 */
int tg_tracez_render(struct tg_tracez *t, bool html, const char *query, struct tg_bytes *out);

/* The bucket of a duration, and the bucket bounds in nanoseconds (the
 * upper bound of the last is INT64_MAX). */
int tg_tracez_bucket(int64_t duration_ns);
int64_t tg_tracez_bucket_lower_ns(int b);
int64_t tg_tracez_bucket_upper_ns(int b);

#endif
