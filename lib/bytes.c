#include "bytes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void tg_bytes_init(struct tg_bytes *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
}

int tg_bytes_reserve(struct tg_bytes *b, size_t n)
{
    if (n > b->limit || b->len > b->limit - n)
        return -EMSGSIZE;
    size_t need = b->len + n;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need)
        cap = cap > b->limit / 2 ? b->limit : cap * 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int tg_bytes_append(struct tg_bytes *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    int rc = tg_bytes_reserve(b, n);
    if (rc < 0)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void tg_bytes_free(struct tg_bytes *b)
{
    free(b->data);
    tg_bytes_init(b, b->limit);
}
