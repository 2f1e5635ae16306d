#include "confset.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct tg_confver {
    struct tg_config *cfg;
    uint64_t generation;
    _Atomic int refs;
};

/* The newest version; changed by the main thread under the lock, which
 * acquire also takes so it never races with the previous one being
 * dropped. Workers look at the generation first, without the lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tg_confver *newest;
static _Atomic uint64_t newest_generation;

int tg_confset_publish(struct tg_config *cfg)
{
    struct tg_confver *v = calloc(1, sizeof(*v));
    if (v == NULL) {
        tg_config_destroy(cfg);
        return -ENOMEM;
    }
    v->cfg = cfg;
    atomic_init(&v->refs, 1); /* the main thread's */
    pthread_mutex_lock(&lock);
    struct tg_confver *old = newest;
    v->generation = old != NULL ? old->generation + 1 : 1;
    newest = v;
    atomic_store(&newest_generation, v->generation);
    pthread_mutex_unlock(&lock);
    tg_confset_release(old);
    return 0;
}

uint64_t tg_confset_generation(void)
{
    return atomic_load_explicit(&newest_generation, memory_order_acquire);
}

struct tg_confver *tg_confset_acquire(void)
{
    pthread_mutex_lock(&lock);
    struct tg_confver *v = newest;
    if (v != NULL) {
        atomic_fetch_add(&v->refs, 1);
    }
    pthread_mutex_unlock(&lock);
    return v;
}

void tg_confset_release(struct tg_confver *v)
{
    if (v != NULL && atomic_fetch_sub(&v->refs, 1) == 1) {
        tg_config_destroy(v->cfg);
        free(v);
    }
}

const struct tg_config *tg_confver_config(const struct tg_confver *v)
{
    return v->cfg;
}

uint64_t tg_confver_generation(const struct tg_confver *v)
{
    return v->generation;
}

void tg_confset_fini(void)
{
    pthread_mutex_lock(&lock);
    struct tg_confver *v = newest;
    newest = NULL;
    pthread_mutex_unlock(&lock);
    tg_confset_release(v);
}
