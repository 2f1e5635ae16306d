#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "spanqueue.h"
#include "test.h"

/* The queue stores pointers and never dereferences them, so the tests pass
 * numbered tokens instead of real spans: token(i) is a distinct, aligned,
 * non-NULL pointer value that says which item it is. */
static struct tg_span *token(size_t i)
{
    return (struct tg_span *)(uintptr_t)((i + 1) * 64);
}

static size_t token_id(const struct tg_span *s)
{
    return (size_t)((uintptr_t)s / 64) - 1;
}

static void fifo_single_thread(void)
{
    struct tg_spanqueue q;

    CHECK(tg_spanqueue_init(&q, 4) == 0);
    CHECK(tg_spanqueue_pop(&q) == NULL);
    for (size_t i = 0; i < 4; i++) {
        CHECK(tg_spanqueue_push(&q, token(i)) == i + 1);
    }
    CHECK(tg_spanqueue_size(&q) == 4);
    for (size_t i = 0; i < 4; i++) {
        struct tg_span *s = tg_spanqueue_pop(&q);
        CHECK(s == token(i));
        CHECK(tg_spanqueue_size(&q) == 3 - i);
    }
    CHECK(tg_spanqueue_pop(&q) == NULL);
    CHECK(tg_spanqueue_size(&q) == 0);
    tg_spanqueue_fini(&q);
}

/* Many laps around the ring, with the queue kept partly full so the
 * positions of head and tail differ at every wrap. */
static void fifo_across_wraps(void)
{
    struct tg_spanqueue q;
    size_t next_in = 0, next_out = 0;

    CHECK(tg_spanqueue_init(&q, 5) == 0);
    for (int round = 0; round < 1000; round++) {
        for (int k = 0; k < 3; k++) {
            if (tg_spanqueue_push(&q, token(next_in)) != 0) {
                next_in++;
            }
        }
        for (int k = 0; k < 2; k++) {
            struct tg_span *s = tg_spanqueue_pop(&q);
            if (s != NULL) {
                CHECK(token_id(s) == next_out);
                next_out++;
            }
        }
    }
    struct tg_span *s;
    while ((s = tg_spanqueue_pop(&q)) != NULL) {
        CHECK(token_id(s) == next_out);
        next_out++;
    }
    CHECK(next_out == next_in);
    CHECK(next_in > 1900);
    CHECK(tg_spanqueue_size(&q) == 0);
    tg_spanqueue_fini(&q);
}

/* The limit is exact even when the ring behind it is larger (5 -> 8
 * cells, 1 -> 2 cells). */
static void exact_limit(void)
{
    static const size_t limits[] = {1, 2, 5, 8, 1000};

    for (size_t k = 0; k < sizeof(limits) / sizeof(limits[0]); k++) {
        size_t limit = limits[k];
        struct tg_spanqueue q;
        CHECK(tg_spanqueue_init(&q, limit) == 0);
        for (int lap = 0; lap < 3; lap++) {
            for (size_t i = 0; i < limit; i++) {
                CHECK(tg_spanqueue_push(&q, token(i)) == i + 1);
            }
            CHECK(tg_spanqueue_push(&q, token(limit)) == 0);
            CHECK(tg_spanqueue_push(&q, token(limit)) == 0);
            CHECK(tg_spanqueue_size(&q) == limit);
            /* One out makes room for exactly one. */
            CHECK(tg_spanqueue_pop(&q) == token(0));
            CHECK(tg_spanqueue_push(&q, token(limit)) == limit);
            CHECK(tg_spanqueue_push(&q, token(limit + 1)) == 0);
            for (size_t i = 1; i <= limit; i++) {
                CHECK(tg_spanqueue_pop(&q) == token(i));
            }
            CHECK(tg_spanqueue_pop(&q) == NULL);
            CHECK(tg_spanqueue_size(&q) == 0);
        }
        tg_spanqueue_fini(&q);
    }
}

#define PRODUCERS 4
#define PER_PRODUCER 100000
#define MPMC_LIMIT 1024

struct mpmc {
    struct tg_spanqueue q;
    size_t limit;
    bool retry;                 /* producers retry a refused push */
    _Atomic size_t refused;
    _Atomic size_t accepted;
    _Atomic size_t over_limit;  /* pushes that reported a size above the limit */
    _Atomic int producers_done;
    _Atomic size_t popped;
    unsigned char seen[PRODUCERS * PER_PRODUCER];
    _Atomic size_t duplicates;
    _Atomic size_t out_of_order;
};

struct producer_arg {
    struct mpmc *m;
    size_t id;
};

static void *producer(void *arg)
{
    struct producer_arg *pa = arg;
    struct mpmc *m = pa->m;

    for (size_t i = 0; i < PER_PRODUCER; i++) {
        size_t item = pa->id * PER_PRODUCER + i;
        for (;;) {
            size_t n = tg_spanqueue_push(&m->q, token(item));
            if (n > m->limit) {
                atomic_fetch_add(&m->over_limit, 1);
            }
            if (n != 0) {
                atomic_fetch_add(&m->accepted, 1);
                break;
            }
            atomic_fetch_add(&m->refused, 1);
            if (!m->retry) {
                break;
            }
            sched_yield();
        }
    }
    atomic_fetch_add(&m->producers_done, 1);
    return NULL;
}

/* One consumer: every item exactly once, and each producer's items in the
 * order it pushed them (the queue is FIFO and a producer pushes in order). */
static void *consumer(void *arg)
{
    struct mpmc *m = arg;
    size_t last[PRODUCERS];

    for (size_t p = 0; p < PRODUCERS; p++) {
        last[p] = SIZE_MAX;
    }
    for (;;) {
        struct tg_span *s = tg_spanqueue_pop(&m->q);
        if (s == NULL) {
            /* Done once every producer finished and nothing is left;
             * producers_done is read before the last pop so a push that
             * completed before it is seen. */
            if (atomic_load(&m->producers_done) == PRODUCERS) {
                s = tg_spanqueue_pop(&m->q);
                if (s == NULL) {
                    break;
                }
            } else {
                sched_yield();
                continue;
            }
        }
        size_t item = token_id(s);
        size_t p = item / PER_PRODUCER;
        size_t i = item % PER_PRODUCER;
        if (item >= PRODUCERS * PER_PRODUCER || m->seen[item]++ != 0) {
            atomic_fetch_add(&m->duplicates, 1);
            continue;
        }
        if (last[p] != SIZE_MAX && i <= last[p]) {
            atomic_fetch_add(&m->out_of_order, 1);
        }
        last[p] = i;
        atomic_fetch_add(&m->popped, 1);
    }
    return NULL;
}

static void run_mpmc(struct mpmc *m)
{
    pthread_t prod[PRODUCERS], cons;
    struct producer_arg args[PRODUCERS];

    CHECK(pthread_create(&cons, NULL, consumer, m) == 0);
    for (size_t p = 0; p < PRODUCERS; p++) {
        args[p].m = m;
        args[p].id = p;
        CHECK(pthread_create(&prod[p], NULL, producer, &args[p]) == 0);
    }
    for (size_t p = 0; p < PRODUCERS; p++) {
        pthread_join(prod[p], NULL);
    }
    pthread_join(cons, NULL);
}

static void mpmc_every_span_once(void)
{
    struct mpmc *m = calloc(1, sizeof(*m));

    m->limit = MPMC_LIMIT;
    m->retry = true;
    CHECK(tg_spanqueue_init(&m->q, m->limit) == 0);
    run_mpmc(m);
    CHECK(atomic_load(&m->accepted) == PRODUCERS * PER_PRODUCER);
    CHECK(atomic_load(&m->popped) == PRODUCERS * PER_PRODUCER);
    CHECK(atomic_load(&m->duplicates) == 0);
    CHECK(atomic_load(&m->out_of_order) == 0);
    CHECK(atomic_load(&m->over_limit) == 0);
    size_t missing = 0;
    for (size_t i = 0; i < PRODUCERS * PER_PRODUCER; i++) {
        missing += m->seen[i] != 1;
    }
    CHECK(missing == 0);
    CHECK(tg_spanqueue_size(&m->q) == 0);
    CHECK(tg_spanqueue_pop(&m->q) == NULL);
    tg_spanqueue_fini(&m->q);
    free(m);
}

/* Producers that give up on a full queue: what was accepted is exactly
 * what comes out, and accepted + refused is what was offered. */
static void mpmc_drops_are_counted_exactly(void)
{
    struct mpmc *m = calloc(1, sizeof(*m));

    m->limit = 8;
    m->retry = false;
    CHECK(tg_spanqueue_init(&m->q, m->limit) == 0);
    run_mpmc(m);
    size_t accepted = atomic_load(&m->accepted);
    CHECK(accepted + atomic_load(&m->refused) == PRODUCERS * PER_PRODUCER);
    CHECK(atomic_load(&m->popped) == accepted);
    CHECK(atomic_load(&m->duplicates) == 0);
    CHECK(atomic_load(&m->out_of_order) == 0);
    CHECK(atomic_load(&m->over_limit) == 0);
    size_t seen = 0;
    for (size_t i = 0; i < PRODUCERS * PER_PRODUCER; i++) {
        seen += m->seen[i];
    }
    CHECK(seen == accepted);
    CHECK(tg_spanqueue_size(&m->q) == 0);
    tg_spanqueue_fini(&m->q);
    free(m);
}

/* Racing producers and no consumer: exactly `limit` pushes win. */
#define RACE_LIMIT 1000
struct race {
    struct tg_spanqueue q;
    _Atomic size_t accepted;
    _Atomic int go;
};

static void *race_producer(void *arg)
{
    struct race *r = arg;

    while (!atomic_load(&r->go)) {
        sched_yield();
    }
    for (size_t i = 0; i < RACE_LIMIT; i++) {
        if (tg_spanqueue_push(&r->q, token(i)) != 0) {
            atomic_fetch_add(&r->accepted, 1);
        }
    }
    return NULL;
}

static void concurrent_pushes_stop_at_limit(void)
{
    struct race r;
    pthread_t t[PRODUCERS];

    CHECK(tg_spanqueue_init(&r.q, RACE_LIMIT) == 0);
    atomic_init(&r.accepted, 0);
    atomic_init(&r.go, 0);
    for (int i = 0; i < PRODUCERS; i++) {
        CHECK(pthread_create(&t[i], NULL, race_producer, &r) == 0);
    }
    atomic_store(&r.go, 1);
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_join(t[i], NULL);
    }
    CHECK(atomic_load(&r.accepted) == RACE_LIMIT);
    CHECK(tg_spanqueue_size(&r.q) == RACE_LIMIT);
    size_t n = 0;
    while (tg_spanqueue_pop(&r.q) != NULL) {
        n++;
    }
    CHECK(n == RACE_LIMIT);
    tg_spanqueue_fini(&r.q);
}

int main(void)
{
    RUN(fifo_single_thread);
    RUN(fifo_across_wraps);
    RUN(exact_limit);
    RUN(mpmc_every_span_once);
    RUN(mpmc_drops_are_counted_exactly);
    RUN(concurrent_pushes_stop_at_limit);
    return TEST_SUMMARY();
}
