#include "ids.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void tg_rng_seed(struct tg_rng *r)
{
    uint64_t seed[4];
    if (getrandom(seed, sizeof(seed), 0) == (ssize_t)sizeof(seed)) {
        memcpy(r->s, seed, sizeof(seed));
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                     (uint64_t)(uintptr_t)r;
        for (int i = 0; i < 4; i++)
            r->s[i] = splitmix(&x);
    }
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = 1;  /* the one state xoshiro cannot leave */
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t tg_rng_next(struct tg_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

void tg_new_trace_id(struct tg_rng *r, uint8_t out[16])
{
    uint64_t hi, lo;
    do {
        hi = tg_rng_next(r);
        lo = tg_rng_next(r);
    } while ((hi | lo) == 0);
    put64(out, hi);
    put64(out + 8, lo);
}

void tg_new_span_id(struct tg_rng *r, uint8_t out[8])
{
    uint64_t v;
    do {
        v = tg_rng_next(r);
    } while (v == 0);
    put64(out, v);
}
