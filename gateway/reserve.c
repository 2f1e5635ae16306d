#include "reserve.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* A failing allocation is tried this many times in all: after the reserve
 * went back, and again in case another thread took what it freed or is
 * about to free what it holds. A failing malloc returns at once, so the
 * tries cost nothing next to what a crash inside libcurl would. */
#define ATTEMPTS 16

static _Atomic(void *) reserve;
static atomic_bool spent;
static atomic_uint_fast64_t releases;

static void *take(void)
{
    void *p = malloc(TG_RESERVE_BYTES);
    if (p != NULL) {
        /* Touched, so that it counts against a memory limit and freeing it
         * gives real pages back. */
        memset(p, 0, TG_RESERVE_BYTES);
    }
    return p;
}

static void release(void)
{
    void *p = atomic_exchange(&reserve, NULL);
    atomic_store_explicit(&spent, true, memory_order_relaxed);
    if (p != NULL) {
        free(p);
        atomic_fetch_add_explicit(&releases, 1, memory_order_relaxed);
    }
}

bool tg_reserve_spent(void)
{
    return atomic_load_explicit(&spent, memory_order_relaxed);
}

bool tg_reserve_restore(void)
{
    if (atomic_load(&reserve) != NULL) {
        return true;
    }
    void *p = take();
    if (p == NULL) {
        return false;
    }
    void *none = NULL;
    if (!atomic_compare_exchange_strong(&reserve, &none, p)) {
        free(p);  /* another worker put one back first */
    }
    atomic_store_explicit(&spent, false, memory_order_relaxed);
    return true;
}

uint64_t tg_reserve_releases(void)
{
    return atomic_load_explicit(&releases, memory_order_relaxed);
}

static void *hook_malloc(size_t n)
{
    void *p = malloc(n);
    for (int i = 1; p == NULL && i < ATTEMPTS; i++) {
        release();
        p = malloc(n);
    }
    return p;
}

static void *hook_calloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb, size);
    for (int i = 1; p == NULL && i < ATTEMPTS; i++) {
        release();
        p = calloc(nmemb, size);
    }
    return p;
}

static void *hook_realloc(void *old, size_t n)
{
    void *p = realloc(old, n);
    for (int i = 1; p == NULL && n != 0 && i < ATTEMPTS; i++) {
        release();
        p = realloc(old, n);
    }
    return p;
}

static char *hook_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = hook_malloc(n);
    if (p != NULL) {
        memcpy(p, s, n);
    }
    return p;
}

int tg_reserve_curl_global_init(long flags)
{
    void *p = take();
    if (p == NULL) {
        return -1;
    }
    atomic_store(&reserve, p);
    if (curl_global_init_mem(flags, hook_malloc, free, hook_realloc, hook_strdup,
                             hook_calloc) != CURLE_OK) {
        atomic_store(&reserve, NULL);
        free(p);
        return -1;
    }
    return 0;
}
