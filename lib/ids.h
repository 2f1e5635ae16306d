/*
 * Trace and span id generation.
 *
 * Each worker owns a tg_rng (xoshiro256**) seeded from the kernel's random
 * source, so id generation takes no lock and no system call. Trace ids are
 * fully random, which is what the W3C Level 2 "random" trace flag promises
 * and what ratio sampling relies on (it reads the low 8 bytes).
 */
#ifndef TG_IDS_H
#define TG_IDS_H

#include <stdint.h>

struct tg_rng {
    uint64_t s[4];
};

/* Seed from getrandom(); falls back to time and address entropy if the
 * kernel refuses. Never fails. */
void tg_rng_seed(struct tg_rng *r);

uint64_t tg_rng_next(struct tg_rng *r);

/* 16 random bytes, never all zero. */
void tg_new_trace_id(struct tg_rng *r, uint8_t out[16]);

/* 8 random bytes, never all zero. */
void tg_new_span_id(struct tg_rng *r, uint8_t out[8]);

#endif
