/*
 * Shared by the libFuzzer targets: the entry point's prototype and REQUIRE,
 * an invariant that aborts (libFuzzer then saves the input as a crash).
 */
#ifndef TG_FUZZ_H
#define TG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                          \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,          \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* A heap copy of data[0..size) with exactly `size` bytes (one when empty),
 * so AddressSanitizer sees a read past its end. */
static inline char *fuzz_copy(const uint8_t *data, size_t size)
{
    char *p = malloc(size > 0 ? size : 1);
    REQUIRE(p != NULL);
    if (size > 0) {
        memcpy(p, data, size);
    }
    return p;
}

/* The same as a NUL-terminated string (cut at the first NUL of data). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *p = malloc(size + 1);
    REQUIRE(p != NULL);
    if (size > 0) {
        memcpy(p, data, size);
    }
    p[size] = '\0';
    return p;
}

#endif
