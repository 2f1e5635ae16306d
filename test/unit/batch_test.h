/*
 * What the batch processor tests share: numbered spans, a configuration,
 * counters, and the accounting every test ends with.
 */
#ifndef TG_TEST_BATCH_H
#define TG_TEST_BATCH_H

#include <stdatomic.h>
#include <stdint.h>

#include "batch.h"
#include "span.h"
#include "test.h"

/* Long enough for a loaded machine, short enough to fail a test that
 * waits for something that never comes. */
#define WAIT_MS 5000

static inline struct tg_span *span_seq(int64_t seq)
{
    static const uint8_t tid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    static const uint8_t sid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct tg_span *s = tg_span_create(NULL, tid, sid, NULL, TG_SPAN_SERVER, seq);

    if (s != NULL) {
        tg_span_set_name(s, "GET /", 5);
    }
    return s;
}

static inline struct tg_batch_conf conf_of(int64_t delay_ms, size_t queue, size_t batch)
{
    struct tg_batch_conf c = {
        .schedule_delay_ms = delay_ms,
        .export_timeout_ms = TG_BSP_EXPORT_TIMEOUT_MS,
        .max_queue_size = queue,
        .max_export_batch_size = batch,
    };
    return c;
}

#define STAT(b, field) atomic_load(&tg_batch_stats(b)->field)

#define LOST(b) tg_batch_stats_lost(tg_batch_stats(b))

/* queued == exported + rejected + lost once shutdown has returned, and
 * every submitted span is in exactly one bucket. */
static inline void check_accounting(struct tg_batch *b, uint64_t submitted)
{
    CHECK(STAT(b, queued) == STAT(b, exported) + STAT(b, rejected) + LOST(b));
    CHECK(STAT(b, queued) + STAT(b, dropped_full) + STAT(b, dropped_shutdown) == submitted);
    CHECK(tg_batch_queue_size(b) == 0);
}

#endif
