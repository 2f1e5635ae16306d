/*
 * Per-request bump allocator.
 *
 * The first block is storage the caller owns (usually embedded in a
 * longer-lived object, so a small request allocates nothing); larger needs
 * take heap blocks, up to a hard total limit. Everything is released at once
 * by tg_arena_reset(). Not thread-safe: one arena belongs to one request,
 * which lives on one worker thread.
 */
#ifndef TG_ARENA_H
#define TG_ARENA_H

#include <stdbool.h>
#include <stddef.h>

struct tg_arena_block;

struct tg_arena {
    char *first;                  /* caller-owned first block */
    size_t first_cap;
    char *cur;                    /* block being carved */
    size_t cur_len;
    size_t cur_cap;
    struct tg_arena_block *heap;  /* heap blocks, newest first */
    size_t heap_bytes;            /* bytes held in heap blocks */
    size_t limit_bytes;           /* cap on heap_bytes */
    bool out_of_memory;           /* malloc failed (not the limit); see reset */
};

/* Use first[0..first_cap) as the first block; heap blocks may add up to
 * limit_bytes more. */
void tg_arena_init(struct tg_arena *a, char *first, size_t first_cap,
                   size_t limit_bytes);

/* Return n bytes aligned for any scalar, or NULL when the limit would be
 * exceeded or malloc fails; a malloc failure also sets out_of_memory, so a
 * caller can answer "try later" rather than "too large". */
void *tg_arena_alloc(struct tg_arena *a, size_t n);

/* Copy s[0..len) and add a NUL; NULL as for tg_arena_alloc. */
char *tg_arena_strndup(struct tg_arena *a, const char *s, size_t len);

/* Free heap blocks and make the whole first block available again; clears
 * out_of_memory. */
void tg_arena_reset(struct tg_arena *a);

/* Same as reset; the arena must be initialised again before reuse. */
void tg_arena_fini(struct tg_arena *a);

#endif
