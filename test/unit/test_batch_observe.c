/*
 * The batch processor's observer (every span taken off the queue is shown
 * to it before the export) and ForceFlush (what is queued goes out now,
 * not after the schedule delay).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "batch.h"
#include "batch_test.h"
#include "span.h"
#include "test.h"

struct watch {
    _Atomic int observed;         /* spans the observer saw */
    _Atomic int exported;         /* spans the exporter got */
    _Atomic int seen_before;      /* exports whose spans were all observed first */
    _Atomic int calls;
    _Atomic int64_t last_start;   /* start time of the last observed span */
};

static void observe(void *arg, struct tg_span *const *spans, size_t n)
{
    struct watch *w = arg;
    for (size_t i = 0; i < n; i++) {
        atomic_store(&w->last_start, spans[i]->start_unix_ns);
    }
    atomic_fetch_add(&w->observed, (int)n);
}

static void export_batch(void *ctx, struct tg_span *const *spans, size_t n,
                         int64_t deadline_ns, struct tg_export_report *rep)
{
    struct watch *w = ctx;
    (void)spans;
    (void)deadline_ns;
    (void)rep;
    int before = atomic_fetch_add(&w->exported, (int)n) + (int)n;
    if (atomic_load(&w->observed) >= before) {
        atomic_fetch_add(&w->seen_before, 1);
    }
    atomic_fetch_add(&w->calls, 1);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool wait_exported(struct watch *w, int n)
{
    int64_t end = mono_ms() + WAIT_MS;
    while (atomic_load(&w->exported) < n) {
        if (mono_ms() > end) {
            return false;
        }
        struct timespec nap = {0, 1000000};
        nanosleep(&nap, NULL);
    }
    return true;
}

/* Less than a batch with a one-minute schedule: a flush sends it within
 * the test's wait, and the observer saw each span before the exporter. */
static void flush_sends_partial_batch_observed_first(void)
{
    struct watch w = {0};
    struct tg_exporter ex = {export_batch, NULL, NULL, &w};
    struct tg_batch_conf c = conf_of(60000, 64, 8);
    c.observe = observe;
    c.observe_arg = &w;
    struct tg_batch *b = tg_batch_create(&c, &ex);
    CHECK(b != NULL);
    CHECK(tg_batch_start(b) == 0);
    for (int i = 0; i < 3; i++) {
        tg_batch_submit(b, span_seq(100 + i));
    }
    tg_batch_force_flush(b);
    CHECK(wait_exported(&w, 3));
    CHECK(atomic_load(&w.observed) == 3);
    CHECK(atomic_load(&w.last_start) == 102);
    /* Two flushes in a row, then more than a batch queued: all of it. */
    for (int i = 0; i < 11; i++) {
        tg_batch_submit(b, span_seq(200 + i));
    }
    tg_batch_force_flush(b);
    tg_batch_force_flush(b);
    CHECK(wait_exported(&w, 14));
    CHECK(atomic_load(&w.observed) == 14);
    CHECK(atomic_load(&w.seen_before) == atomic_load(&w.calls));
    CHECK(STAT(b, exported) == 14);
    tg_batch_shutdown(b, -1);
    tg_batch_force_flush(b); /* after shutdown: nothing happens */
    check_accounting(b, 14);
    tg_batch_destroy(b);
}

/* Spans the shutdown deadline drops unexported are still observed. */
static void observer_sees_spans_cut_at_shutdown(void)
{
    struct watch w = {0};
    struct tg_exporter ex = {export_batch, NULL, NULL, &w};
    struct tg_batch_conf c = conf_of(60000, 64, 8);
    c.observe = observe;
    c.observe_arg = &w;
    struct tg_batch *b = tg_batch_create(&c, &ex);
    CHECK(b != NULL);
    for (int i = 0; i < 5; i++) {
        tg_batch_submit(b, span_seq(i));
    }
    /* Never started, deadline already passed: the final drain drops. */
    tg_batch_shutdown(b, 0);
    CHECK(atomic_load(&w.observed) == 5);
    CHECK(atomic_load(&w.exported) == 0);
    CHECK(STAT(b, dropped_deadline) == 5);
    check_accounting(b, 5);
    tg_batch_destroy(b);
}

int main(void)
{
    RUN(flush_sends_partial_batch_observed_first);
    RUN(observer_sees_spans_cut_at_shutdown);
    return TEST_SUMMARY();
}
