#include "spanpool.h"

#include <stdlib.h>

#include "span.h"

int tg_spanpool_init(struct tg_spanpool *p, size_t limit)
{
    return tg_spanqueue_init(&p->free, limit);
}

void tg_spanpool_fini(struct tg_spanpool *p)
{
    struct tg_span *s;
    while ((s = tg_spanqueue_pop(&p->free)) != NULL) {
        free(s);
    }
    tg_spanqueue_fini(&p->free);
}

struct tg_span *tg_spanpool_get(struct tg_spanpool *p)
{
    struct tg_span *s = tg_spanqueue_pop(&p->free);
    return s != NULL ? s : malloc(sizeof(*s));
}

void tg_spanpool_put(struct tg_spanpool *p, struct tg_span *s)
{
    if (tg_spanqueue_push(&p->free, s) == 0) {
        free(s);
    }
}
