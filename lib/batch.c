#include "batch.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "span.h"
#include "spanqueue.h"

struct tg_batch {
    struct tg_batch_conf conf;
    struct tg_exporter exporter;
    struct tg_spanqueue queue;
    struct tg_batch_stats stats;
    sem_t wake;               /* posted when a batch fills, and to stop */
    _Atomic bool stopping;
    _Atomic bool closed;      /* after shutdown: submit drops */
    _Atomic size_t submitting; /* submits between their closed check and their push's end */
    bool started;
    pthread_t thread;
    struct tg_span **batch;   /* max_export_batch_size slots */
};

struct tg_batch *tg_batch_create(const struct tg_batch_conf *conf,
                                 const struct tg_exporter *exporter)
{
    if (conf->max_queue_size == 0 || conf->max_export_batch_size == 0 ||
        conf->max_export_batch_size > conf->max_queue_size || conf->schedule_delay_ms < 0)
        return NULL;
    struct tg_batch *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->conf = *conf;
    /* OTEL_BSP_SCHEDULE_DELAY=0 is accepted ("export as soon as you can"),
     * but a wait whose deadline has already passed returns at once and the
     * idle thread would loop on an empty queue. One millisecond keeps the
     * latency and lets the thread sleep. */
    if (b->conf.schedule_delay_ms == 0)
        b->conf.schedule_delay_ms = 1;
    b->exporter = *exporter;
    b->batch = calloc(conf->max_export_batch_size, sizeof(*b->batch));
    if (!b->batch)
        goto fail;
    if (tg_spanqueue_init(&b->queue, conf->max_queue_size) != 0)
        goto fail;
    if (sem_init(&b->wake, 0, 0) != 0) {
        tg_spanqueue_fini(&b->queue);
        goto fail;
    }
    return b;
fail:
    free(b->batch);
    free(b);
    return NULL;
}

/* Export up to one batch from the queue. Returns how many spans it took. */
static size_t export_one(struct tg_batch *b)
{
    size_t n = 0;
    struct tg_span *s;
    while (n < b->conf.max_export_batch_size && (s = tg_spanqueue_pop(&b->queue)))
        b->batch[n++] = s;
    if (n == 0)
        return 0;
    int rc = b->exporter.export_batch(b->exporter.ctx, b->batch, n);
    atomic_fetch_add(&b->stats.export_calls, 1);
    if (rc == 0) {
        atomic_fetch_add(&b->stats.exported, n);
    } else {
        atomic_fetch_add(&b->stats.export_failures, 1);
        atomic_fetch_add(&b->stats.failed, n);
    }
    for (size_t i = 0; i < n; i++)
        tg_span_destroy(b->batch[i]);
    return n;
}

static void add_ms(struct timespec *ts, int64_t ms)
{
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *run(void *arg)
{
    struct tg_batch *b = arg;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    add_ms(&deadline, b->conf.schedule_delay_ms);
    while (!atomic_load(&b->stopping)) {
        if (tg_spanqueue_size(&b->queue) < b->conf.max_export_batch_size) {
            int rc = sem_clockwait(&b->wake, CLOCK_MONOTONIC, &deadline);
            if (rc != 0 && errno != ETIMEDOUT)
                continue;  /* EINTR: wait again */
            if (rc == 0 && tg_spanqueue_size(&b->queue) < b->conf.max_export_batch_size &&
                !atomic_load(&b->stopping)) {
                /* A stale wake-up (the batch it announced went out on the
                 * timer): keep the schedule. */
                struct timespec now;
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (now.tv_sec < deadline.tv_sec ||
                    (now.tv_sec == deadline.tv_sec && now.tv_nsec < deadline.tv_nsec))
                    continue;
            }
        }
        if (atomic_load(&b->stopping))
            break;
        export_one(b);
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        add_ms(&deadline, b->conf.schedule_delay_ms);
    }
    while (export_one(b) > 0)
        ;
    return NULL;
}

int tg_batch_start(struct tg_batch *b)
{
    int rc = pthread_create(&b->thread, NULL, run, b);
    if (rc != 0)
        return -rc;
    b->started = true;
    return 0;
}

void tg_batch_submit(struct tg_batch *b, struct tg_span *s)
{
    /* A submit that saw closed == false could otherwise push after
     * shutdown's final drain and leave the span queued but never exported.
     * Announce first, then look (both sequentially consistent): shutdown
     * sets closed, then waits for the count to reach zero, so either this
     * submit sees closed or shutdown waits for the push to land. */
    atomic_fetch_add(&b->submitting, 1);
    if (atomic_load(&b->closed)) {
        atomic_fetch_sub_explicit(&b->submitting, 1, memory_order_release);
        atomic_fetch_add_explicit(&b->stats.dropped_shutdown, 1, memory_order_relaxed);
        tg_span_destroy(s);
        return;
    }
    size_t n = tg_spanqueue_push(&b->queue, s);
    if (n == 0) {
        atomic_fetch_add_explicit(&b->stats.dropped_full, 1, memory_order_relaxed);
        tg_span_destroy(s);
    } else {
        atomic_fetch_add_explicit(&b->stats.queued, 1, memory_order_relaxed);
        /* Wake the thread once per filled batch, not per span. */
        if (n == b->conf.max_export_batch_size)
            sem_post(&b->wake);
    }
    /* Last: after this, shutdown may drain, post and destroy the semaphore. */
    atomic_fetch_sub_explicit(&b->submitting, 1, memory_order_release);
}

void tg_batch_shutdown(struct tg_batch *b)
{
    if (!b || atomic_exchange(&b->closed, true))
        return;
    /* Submits already past their closed check finish their push (lock-free,
     * so this is short); later ones drop. Then the final drain sees every
     * span that will ever be queued. */
    while (atomic_load_explicit(&b->submitting, memory_order_acquire) != 0)
        sched_yield();
    atomic_store(&b->stopping, true);
    if (b->started) {
        sem_post(&b->wake);
        pthread_join(b->thread, NULL);
    } else {
        while (export_one(b) > 0)
            ;
    }
    if (b->exporter.shutdown)
        b->exporter.shutdown(b->exporter.ctx);
}

void tg_batch_destroy(struct tg_batch *b)
{
    if (!b)
        return;
    tg_batch_shutdown(b);
    sem_destroy(&b->wake);
    tg_spanqueue_fini(&b->queue);
    free(b->batch);
    free(b);
}

const struct tg_batch_stats *tg_batch_stats(const struct tg_batch *b)
{
    return &b->stats;
}

size_t tg_batch_queue_size(struct tg_batch *b)
{
    return tg_spanqueue_size(&b->queue);
}
