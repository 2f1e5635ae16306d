#include "batch.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "span.h"
#include "spanqueue.h"

struct tg_batch {
    struct tg_batch_conf conf;
    struct tg_exporter exporter;
    struct tg_spanqueue queue;
    struct tg_batch_stats stats;
    sem_t wake;               /* posted when a batch fills, and to stop */
    _Atomic bool stopping;
    _Atomic bool flush_requested; /* tg_batch_force_flush: export what is queued now */
    _Atomic bool closed;      /* after shutdown: submit drops */
    _Atomic size_t submitting; /* submits between their closed check and their push's end */
    bool started;
    pthread_t thread;
    struct tg_span **batch;   /* max_export_batch_size slots */
    _Atomic int64_t shutdown_deadline_ns;  /* CLOCK_MONOTONIC; INT64_MAX: none */
    pthread_mutex_t error_mu;
    char last_error[sizeof(((struct tg_export_report *)0)->message)];
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
    b->shutdown_deadline_ns = INT64_MAX;
    pthread_mutex_init(&b->error_mu, NULL);
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
    pthread_mutex_destroy(&b->error_mu);
    free(b->batch);
    free(b);
    return NULL;
}

static void count(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* The spans of one export, counted once by what became of them. */
static void account(struct tg_batch *b, const struct tg_export_report *rep, size_t n)
{
    struct tg_batch_stats *st = &b->stats;
    count(&st->export_calls, 1);
    count(&st->export_requests, rep->requests);
    count(&st->export_retries, rep->retries);
    int64_t now = tg_unix_now_ns();
    atomic_store_explicit(&st->last_export_unix_ns, now, memory_order_relaxed);
    uint64_t rejected = rep->rejected < n ? rep->rejected : n;
    switch (rep->failure) {
    case TG_EXPORT_DELIVERED:
        count(&st->exported, n - rejected);
        count(&st->rejected, rejected);
        break;
    case TG_EXPORT_NOT_RETRYABLE:
        count(&st->dropped_not_retryable, n);
        break;
    case TG_EXPORT_RETRIES_EXHAUSTED:
        count(&st->dropped_retries_exhausted, n);
        break;
    case TG_EXPORT_SHUTDOWN:
        count(&st->dropped_deadline, n);
        break;
    }
    if (rep->failure != TG_EXPORT_DELIVERED)
        count(&st->export_failures, 1);
    if (rep->failure != TG_EXPORT_DELIVERED || rejected > 0) {
        atomic_store_explicit(&st->last_error_unix_ns, now, memory_order_relaxed);
        pthread_mutex_lock(&b->error_mu);
        snprintf(b->last_error, sizeof(b->last_error), "%s", rep->message);
        pthread_mutex_unlock(&b->error_mu);
        if (b->conf.on_trouble)
            b->conf.on_trouble(b->conf.arg, rep, n);
    }
}

/* Export up to one batch from the queue. Returns how many spans it took.
 * Past the shutdown deadline the spans are dropped, not exported. */
static size_t export_one(struct tg_batch *b)
{
    size_t n = 0;
    struct tg_span *s;
    while (n < b->conf.max_export_batch_size && (s = tg_spanqueue_pop(&b->queue)))
        b->batch[n++] = s;
    if (n == 0)
        return 0;
    if (b->conf.observe)
        b->conf.observe(b->conf.observe_arg, b->batch, n);
    int64_t now = tg_now_ns();
    int64_t deadline = atomic_load(&b->shutdown_deadline_ns);
    if (b->conf.export_timeout_ms > 0 &&
        now + b->conf.export_timeout_ms * 1000000 < deadline)
        deadline = now + b->conf.export_timeout_ms * 1000000;
    if (now >= atomic_load(&b->shutdown_deadline_ns)) {
        count(&b->stats.dropped_deadline, n);
    } else {
        struct tg_export_report rep = {0};
        b->exporter.export_batch(b->exporter.ctx, b->batch, n, deadline, &rep);
        account(b, &rep, n);
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
                !atomic_load(&b->stopping) && !atomic_load(&b->flush_requested)) {
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
        if (atomic_exchange(&b->flush_requested, false)) {
            /* Everything queued when the flush was asked for, and what
             * arrives meanwhile: bounded, since exports take their time. */
            size_t left = tg_spanqueue_size(&b->queue);
            while (left > 0 && !atomic_load(&b->stopping)) {
                size_t n = export_one(b);
                if (n == 0)
                    break;
                left = n < left ? left - n : 0;
            }
        } else {
            export_one(b);
        }
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

void tg_batch_force_flush(struct tg_batch *b)
{
    if (atomic_load(&b->closed) || atomic_exchange(&b->flush_requested, true))
        return;  /* a flush already pending covers this one */
    sem_post(&b->wake);
}

void tg_batch_shutdown(struct tg_batch *b, int64_t timeout_ms)
{
    if (!b || atomic_exchange(&b->closed, true))
        return;
    if (timeout_ms >= 0) {
        int64_t deadline = tg_now_ns() + timeout_ms * 1000000;
        atomic_store(&b->shutdown_deadline_ns, deadline);
        if (b->exporter.cancel)
            b->exporter.cancel(b->exporter.ctx, deadline);
    }
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
    tg_batch_shutdown(b, -1);
    sem_destroy(&b->wake);
    pthread_mutex_destroy(&b->error_mu);
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

void tg_batch_last_error(struct tg_batch *b, char *out, size_t len)
{
    pthread_mutex_lock(&b->error_mu);
    snprintf(out, len, "%s", b->last_error);
    pthread_mutex_unlock(&b->error_mu);
}
