#include "spanqueue.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

int tg_spanqueue_init(struct tg_spanqueue *q, size_t limit)
{
    size_t cap = 2;
    while (cap < limit)
        cap <<= 1;
    q->cells = malloc(cap * sizeof(*q->cells));
    if (!q->cells)
        return -ENOMEM;
    for (size_t i = 0; i < cap; i++) {
        atomic_init(&q->cells[i].seq, i);
        q->cells[i].span = NULL;
    }
    q->mask = cap - 1;
    q->limit = limit;
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    atomic_init(&q->size, 0);
    return 0;
}

void tg_spanqueue_fini(struct tg_spanqueue *q)
{
    free(q->cells);
    q->cells = NULL;
}

size_t tg_spanqueue_push(struct tg_spanqueue *q, struct tg_span *s)
{
    /* Reserve a place under the limit first; the ring is at least that big,
     * so the cell claimed below is always free or about to be. The counter
     * never goes over the limit, not even for an instant: an add-then-undo
     * would make a concurrent push see a full queue that has room, and a
     * full queue costs only this load. Acquire pairs with the release in
     * pop, so the cell that pop freed is seen free below. */
    size_t n = atomic_load_explicit(&q->size, memory_order_relaxed);
    do {
        if (n >= q->limit)
            return 0;
    } while (!atomic_compare_exchange_weak_explicit(&q->size, &n, n + 1,
                                                    memory_order_acquire,
                                                    memory_order_relaxed));
    n++;
    size_t pos = atomic_load_explicit(&q->head, memory_order_relaxed);
    for (;;) {
        struct tg_spanqueue_cell *c = &q->cells[pos & q->mask];
        size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        intptr_t diff = (intptr_t)seq - (intptr_t)pos;
        if (diff == 0) {
            if (atomic_compare_exchange_weak_explicit(&q->head, &pos, pos + 1,
                                                      memory_order_relaxed,
                                                      memory_order_relaxed)) {
                c->span = s;
                atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
                return n;
            }
        } else {
            /* Another producer took pos, or (only for an instant, since
             * the size counter keeps the ring from filling) the consumer
             * is still releasing the cell: look again. */
            pos = atomic_load_explicit(&q->head, memory_order_relaxed);
        }
    }
}

struct tg_span *tg_spanqueue_pop(struct tg_spanqueue *q)
{
    size_t pos = atomic_load_explicit(&q->tail, memory_order_relaxed);
    for (;;) {
        struct tg_spanqueue_cell *c = &q->cells[pos & q->mask];
        size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        intptr_t diff = (intptr_t)seq - (intptr_t)(pos + 1);
        if (diff == 0) {
            if (atomic_compare_exchange_weak_explicit(&q->tail, &pos, pos + 1,
                                                      memory_order_relaxed,
                                                      memory_order_relaxed)) {
                struct tg_span *s = c->span;
                atomic_store_explicit(&c->seq, pos + q->mask + 1, memory_order_release);
                atomic_fetch_sub_explicit(&q->size, 1, memory_order_release);
                return s;
            }
        } else if (diff < 0) {
            return NULL;  /* empty (or a producer is mid-push: seen next time) */
        } else {
            pos = atomic_load_explicit(&q->tail, memory_order_relaxed);
        }
    }
}

size_t tg_spanqueue_size(struct tg_spanqueue *q)
{
    return atomic_load_explicit(&q->size, memory_order_relaxed);
}
