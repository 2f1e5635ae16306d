/*
 * Recycled span blocks.
 *
 * A span is allocated on a worker and freed on the processor thread. With
 * malloc that costs a cross-thread free into the worker's arena (lock,
 * consolidation) for every span; at 100% sampling it was the largest part of
 * tracing's cost. The pool keeps up to `limit` finished blocks in a
 * lock-free queue for the workers to take back; past the limit blocks are
 * freed, so the memory it holds stays bounded.
 */
#ifndef TG_SPANPOOL_H
#define TG_SPANPOOL_H

#include <stddef.h>

#include "spanqueue.h"

struct tg_span;

struct tg_spanpool {
    struct tg_spanqueue free;
};

/* Returns 0 or -ENOMEM. */
int tg_spanpool_init(struct tg_spanpool *p, size_t limit);
/* Frees every cached block. No span of this pool may be in use. */
void tg_spanpool_fini(struct tg_spanpool *p);

/* An uninitialised block (recycled or new), NULL if out of memory. */
struct tg_span *tg_spanpool_get(struct tg_spanpool *p);
void tg_spanpool_put(struct tg_spanpool *p, struct tg_span *s);

#endif
