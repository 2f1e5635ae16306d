#include <stdint.h>

#include "arena.h"
#include "test.h"

static void first_block_then_heap(void)
{
    char first[64];
    struct tg_arena a;

    tg_arena_init(&a, first, sizeof(first), 1 << 20);
    char *p = tg_arena_alloc(&a, 10);
    CHECK(p >= first && p < first + sizeof(first));
    char *q = tg_arena_alloc(&a, 100);
    CHECK(q != NULL && (q < first || q >= first + sizeof(first)));
    CHECK(a.heap_bytes >= 100);
    CHECK(((uintptr_t)q % sizeof(void *)) == 0);
    tg_arena_reset(&a);
    CHECK(a.heap_bytes == 0);
    CHECK(tg_arena_alloc(&a, 10) == first);
    tg_arena_fini(&a);
}

static void limit_is_enforced(void)
{
    char first[16];
    struct tg_arena a;

    tg_arena_init(&a, first, sizeof(first), 1000);
    CHECK(tg_arena_alloc(&a, 900) != NULL);
    CHECK(tg_arena_alloc(&a, 200) == NULL);
    CHECK(tg_arena_alloc(&a, 50) != NULL);
    CHECK(tg_arena_alloc(&a, (size_t)-1) == NULL);
    tg_arena_fini(&a);
}

static void strndup_terminates(void)
{
    char first[32];
    struct tg_arena a;

    tg_arena_init(&a, first, sizeof(first), 0);
    char *s = tg_arena_strndup(&a, "hello world", 5);
    CHECK_STR(s, "hello");
    CHECK(tg_arena_strndup(&a, "0123456789012345678901234567890123456789", 40) == NULL);
    tg_arena_fini(&a);
}

int main(void)
{
    RUN(first_block_then_heap);
    RUN(limit_is_enforced);
    RUN(strndup_terminates);
    return TEST_SUMMARY();
}
