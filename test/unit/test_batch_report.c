/*
 * The batch processor's accounting of what exports report: partial
 * success, retries, the export timeout handed to the exporter, and the
 * shutdown deadline cutting an export that never ends.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "batch_test.h"
#include "span.h"
#include "test.h"

/* An exporter that answers every batch with a fixed report, and one that
 * waits for its deadline (a collector that never answers). */
struct scripted {
    struct tg_export_report rep;
    _Atomic int calls;
    _Atomic int64_t last_deadline_ns;
    _Atomic int64_t cancel_deadline_ns;
    _Atomic int troubles;
};

static void scripted_export(void *ctx, struct tg_span *const *spans, size_t n,
                            int64_t deadline_ns, struct tg_export_report *rep)
{
    struct scripted *sc = ctx;
    (void)spans;
    (void)n;
    atomic_fetch_add(&sc->calls, 1);
    atomic_store(&sc->last_deadline_ns, deadline_ns);
    *rep = sc->rep;
}

static void hanging_export(void *ctx, struct tg_span *const *spans, size_t n,
                           int64_t deadline_ns, struct tg_export_report *rep)
{
    struct scripted *sc = ctx;
    (void)spans;
    (void)n;
    atomic_fetch_add(&sc->calls, 1);
    atomic_store(&sc->last_deadline_ns, deadline_ns);
    /* Like a transfer to a silent receiver: ends at the deadline it was
     * given or at the one cancel() sets, whichever comes first. */
    for (;;) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        if (now >= atomic_load(&sc->cancel_deadline_ns)) {
            rep->failure = TG_EXPORT_SHUTDOWN;
            return;
        }
        if (now >= deadline_ns) {
            rep->failure = TG_EXPORT_RETRIES_EXHAUSTED;
            return;
        }
        struct timespec nap = {0, 1000000};
        nanosleep(&nap, NULL);
    }
}

static void scripted_cancel(void *ctx, int64_t deadline_ns)
{
    struct scripted *sc = ctx;
    atomic_store(&sc->cancel_deadline_ns, deadline_ns);
}

static void count_trouble(void *arg, const struct tg_export_report *rep, size_t n)
{
    struct scripted *sc = arg;
    (void)rep;
    (void)n;
    atomic_fetch_add(&sc->troubles, 1);
}

/* Partial success: the rejected spans are counted apart from the exported
 * ones, requests and retries add up, and the message is kept. */
static void partial_success_and_retries_are_counted(void)
{
    struct scripted sc = {.cancel_deadline_ns = INT64_MAX};
    sc.rep.rejected = 3;
    sc.rep.requests = 3;
    sc.rep.retries = 2;
    snprintf(sc.rep.message, sizeof(sc.rep.message), "3 spans had no name");
    struct tg_exporter ex = {scripted_export, scripted_cancel, NULL, &sc};
    struct tg_batch_conf c = conf_of(60000, 64, 10);
    c.on_trouble = count_trouble;
    c.arg = &sc;
    struct tg_batch *b = tg_batch_create(&c, &ex);
    CHECK(b != NULL);
    for (int i = 0; i < 10; i++)
        tg_batch_submit(b, span_seq(i));
    CHECK(tg_batch_start(b) == 0);
    tg_batch_shutdown(b, -1);
    CHECK(atomic_load(&sc.calls) == 1);
    CHECK(STAT(b, exported) == 7);
    CHECK(STAT(b, rejected) == 3);
    CHECK(STAT(b, export_requests) == 3);
    CHECK(STAT(b, export_retries) == 2);
    CHECK(STAT(b, export_failures) == 0);
    CHECK(STAT(b, last_error_unix_ns) > 0);
    CHECK(atomic_load(&sc.troubles) == 1);
    char msg[64];
    tg_batch_last_error(b, msg, sizeof(msg));
    CHECK(strcmp(msg, "3 spans had no name") == 0);
    check_accounting(b, 10);
    tg_batch_destroy(b);
}

/* Retries that run out lose the batch under their own reason; the export
 * is given the export timeout as its deadline. */
static void retries_exhausted_are_counted(void)
{
    struct scripted sc = {.cancel_deadline_ns = INT64_MAX};
    sc.rep.failure = TG_EXPORT_RETRIES_EXHAUSTED;
    sc.rep.requests = 4;
    sc.rep.retries = 3;
    struct tg_exporter ex = {scripted_export, scripted_cancel, NULL, &sc};
    struct tg_batch_conf c = conf_of(60000, 64, 5);
    c.export_timeout_ms = 1500;
    struct tg_batch *b = tg_batch_create(&c, &ex);
    CHECK(b != NULL);
    for (int i = 0; i < 5; i++)
        tg_batch_submit(b, span_seq(i));
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t before = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    CHECK(tg_batch_start(b) == 0);
    tg_batch_shutdown(b, -1);
    int64_t d = atomic_load(&sc.last_deadline_ns);
    CHECK(d >= before + 1500 * 1000000LL && d < before + 60000 * 1000000LL);
    CHECK(STAT(b, dropped_retries_exhausted) == 5);
    CHECK(STAT(b, exported) == 0);
    CHECK(STAT(b, export_failures) == 1);
    CHECK(STAT(b, export_retries) == 3);
    check_accounting(b, 5);
    tg_batch_destroy(b);
}

/* A receiver that never answers cannot hold shutdown past its deadline:
 * the export in progress is cancelled, the spans still queued are counted
 * as cut by the deadline, and nothing is left unaccounted. */
static void shutdown_deadline_cuts_a_hanging_export(void)
{
    struct scripted sc = {.cancel_deadline_ns = INT64_MAX};
    struct tg_exporter ex = {hanging_export, scripted_cancel, NULL, &sc};
    struct tg_batch_conf c = conf_of(1, 64, 4);
    c.export_timeout_ms = 0;  /* no export timeout: only shutdown ends it */
    struct tg_batch *b = tg_batch_create(&c, &ex);
    CHECK(b != NULL);
    CHECK(tg_batch_start(b) == 0);
    for (int i = 0; i < 4; i++)
        tg_batch_submit(b, span_seq(i));
    /* Wait until the first batch hangs in the exporter, then queue more. */
    for (int i = 0; i < 5000 && atomic_load(&sc.calls) == 0; i++) {
        struct timespec nap = {0, 1000000};
        nanosleep(&nap, NULL);
    }
    CHECK(atomic_load(&sc.calls) == 1);
    for (int i = 4; i < 10; i++)
        tg_batch_submit(b, span_seq(i));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tg_batch_shutdown(b, 200);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(took >= 0.19 && took < 0.2 + WAIT_MS / 1000.0);
    CHECK(STAT(b, dropped_deadline) == 10);
    CHECK(STAT(b, exported) == 0);
    check_accounting(b, 10);
    tg_batch_destroy(b);
}

int main(void)
{
    RUN(partial_success_and_retries_are_counted);
    RUN(retries_exhausted_are_counted);
    RUN(shutdown_deadline_cuts_a_hanging_export);
    return TEST_SUMMARY();
}
