/*
 * Bounded queue of finished spans between the workers (many producers) and
 * the exporter thread (one consumer).
 *
 * Lock-free: a ring of cells with sequence numbers (the classic bounded
 * MPMC array queue), so a worker never waits on the exporter. The ring is a
 * power of two at least as large as the configured limit; a separate
 * counter enforces the limit exactly. A push that would go over it fails
 * and the caller counts the drop and frees the span.
 */
#ifndef TG_SPANQUEUE_H
#define TG_SPANQUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct tg_span;

struct tg_spanqueue_cell {
    _Atomic size_t seq;
    struct tg_span *span;
};

struct tg_spanqueue {
    struct tg_spanqueue_cell *cells;
    size_t mask;
    size_t limit;
    _Alignas(64) _Atomic size_t head;   /* next push position */
    _Alignas(64) _Atomic size_t tail;   /* next pop position */
    _Alignas(64) _Atomic size_t size;   /* spans queued now */
};

/* limit >= 1. Returns 0 or -ENOMEM. */
int tg_spanqueue_init(struct tg_spanqueue *q, size_t limit);
/* Frees the ring only; drain it first. */
void tg_spanqueue_fini(struct tg_spanqueue *q);

/* Returns the queue size after the push (>= 1), or 0 when the queue is full
 * (the span was not taken). */
size_t tg_spanqueue_push(struct tg_spanqueue *q, struct tg_span *s);

/* NULL when empty. */
struct tg_span *tg_spanqueue_pop(struct tg_spanqueue *q);

size_t tg_spanqueue_size(struct tg_spanqueue *q);

#endif
