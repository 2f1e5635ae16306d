/*
 * auth_timing: does the time of an admin token comparison depend on how
 * many leading characters of the guess are right?
 *
 * Times tg_auth_equal (admin/auth.c) on guesses of the token's length whose
 * first k characters are right, for several k, and, as a control that shows
 * the method can see such a dependence, a comparison that stops at the first
 * wrong character (what memcmp or strcmp do). Variants are interleaved round
 * by round so that drift on a shared machine hits them all alike; the figure
 * per variant is the median over rounds of the time per call.
 *
 *   auth_timing [--rounds N] [--calls N]
 *
 * Prints one JSON object: the token length, ns per call for each k for both
 * comparisons, and each one's spread (slowest minus fastest median).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"

#define TOKEN "tg-timing-token-0123456789abcdef"  /* 32 characters */
#define MAX_K 8

/* Keep the compiler from folding the inputs or dropping the call. */
#define OPAQUE(p) __asm__ volatile("" : "+r"(p) : : "memory")

static __attribute__((noinline)) bool naive_equal(const char *a, size_t alen, const char *b,
                                                  size_t blen)
{
    if (alen != blen) {
        return false;
    }
    for (size_t i = 0; i < alen; i++) {
        if (a[i] != b[i]) {
            return false;
        }
    }
    return true;
}

typedef bool compare_fn(const char *a, size_t alen, const char *b, size_t blen);

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double time_calls(compare_fn *f, const char *token, size_t len, const char *guess,
                         long calls)
{
    volatile bool sink = false;
    uint64_t t0 = now_ns();
    for (long i = 0; i < calls; i++) {
        const char *g = guess;
        OPAQUE(g);
        sink = f(token, len, g, len);
    }
    uint64_t t1 = now_ns();
    (void)sink;
    return (double)(t1 - t0) / (double)calls;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long rounds = 201;
    long calls = 20000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--rounds") == 0) {
            rounds = atol(argv[i + 1]);
        } else if (strcmp(argv[i], "--calls") == 0) {
            calls = atol(argv[i + 1]);
        }
    }
    const char *token = TOKEN;
    size_t len = strlen(token);
    /* k = how many leading characters are right; k = len is the token. */
    size_t ks[] = {0, 1, 8, 16, 24, len - 1, len};
    int nk = (int)(sizeof(ks) / sizeof(ks[0]));
    char guesses[MAX_K][64];
    for (int j = 0; j < nk; j++) {
        memcpy(guesses[j], token, len + 1);
        for (size_t i = ks[j]; i < len; i++) {
            guesses[j][i] = (char)(token[i] == 'x' ? 'y' : 'x');
        }
    }
    compare_fn *fns[2] = {tg_auth_equal, naive_equal};
    double *t = calloc((size_t)(2 * nk * rounds), sizeof(*t));
    if (t == NULL) {
        return 1;
    }
    for (long r = 0; r < rounds; r++) {
        for (int f = 0; f < 2; f++) {
            for (int j = 0; j < nk; j++) {
                /* rotate the order so no variant always runs first */
                int jj = (int)((j + r) % nk);
                t[(f * nk + jj) * rounds + r] = time_calls(fns[f], token, len, guesses[jj], calls);
            }
        }
    }
    printf("{\"token_length\":%zu,\"rounds\":%ld,\"calls_per_round\":%ld", len, rounds, calls);
    const char *names[2] = {"tg_auth_equal", "early_exit_compare"};
    for (int f = 0; f < 2; f++) {
        double lo = 1e30, hi = 0;
        printf(",\"%s\":{\"ns_per_call\":{", names[f]);
        for (int j = 0; j < nk; j++) {
            double *v = &t[(f * nk + j) * rounds];
            qsort(v, (size_t)rounds, sizeof(*v), cmp_double);
            double med = v[rounds / 2];
            lo = med < lo ? med : lo;
            hi = med > hi ? med : hi;
            printf("%s\"%zu\":%.3f", j ? "," : "", ks[j], med);
        }
        printf("},\"spread_ns\":%.3f}", hi - lo);
    }
    printf("}\n");
    free(t);
    return 0;
}
