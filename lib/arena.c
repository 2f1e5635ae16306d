#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN alignof(max_align_t)
#define HEAP_BLOCK_MIN 8192

struct tg_arena_block {
    struct tg_arena_block *next;
    size_t cap;
    alignas(max_align_t) char data[];
};

void tg_arena_init(struct tg_arena *a, char *first, size_t first_cap,
                   size_t limit_bytes)
{
    a->first = first;
    a->first_cap = first_cap;
    a->cur = first;
    a->cur_len = 0;
    a->cur_cap = first_cap;
    a->heap = NULL;
    a->heap_bytes = 0;
    a->limit_bytes = limit_bytes;
    a->out_of_memory = false;
}

void *tg_arena_alloc(struct tg_arena *a, size_t n)
{
    size_t off = (a->cur_len + ALIGN - 1) & ~(size_t)(ALIGN - 1);

    if (n == 0) {
        n = 1;
    }
    if (off <= a->cur_cap && a->cur_cap - off >= n) {
        a->cur_len = off + n;
        return a->cur + off;
    }

    size_t cap = n > HEAP_BLOCK_MIN ? n : HEAP_BLOCK_MIN;
    if (cap > SIZE_MAX - sizeof(struct tg_arena_block) ||
        a->heap_bytes + cap > a->limit_bytes) {
        /* Retry with the exact size: a small request may still fit. */
        cap = n;
        if (a->heap_bytes + cap > a->limit_bytes || a->heap_bytes + cap < cap) {
            return NULL;
        }
    }
    struct tg_arena_block *b = malloc(sizeof(*b) + cap);
    if (b == NULL) {
        a->out_of_memory = true;
        return NULL;
    }
    b->next = a->heap;
    b->cap = cap;
    a->heap = b;
    a->heap_bytes += cap;
    a->cur = b->data;
    a->cur_cap = cap;
    a->cur_len = n;
    return b->data;
}

char *tg_arena_strndup(struct tg_arena *a, const char *s, size_t len)
{
    char *p = tg_arena_alloc(a, len + 1);

    if (p != NULL) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

void tg_arena_reset(struct tg_arena *a)
{
    struct tg_arena_block *b = a->heap;

    while (b != NULL) {
        struct tg_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->heap = NULL;
    a->heap_bytes = 0;
    a->cur = a->first;
    a->cur_len = 0;
    a->cur_cap = a->first_cap;
    a->out_of_memory = false;
}

void tg_arena_fini(struct tg_arena *a)
{
    tg_arena_reset(a);
}
