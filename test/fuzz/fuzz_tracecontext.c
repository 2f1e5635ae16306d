/*
 * libFuzzer target for lib/tracecontext.c.
 *
 * The input is split at '\n' into up to MAX_FIELDS header field values. The
 * first is parsed as a traceparent and a traceresponse; all of them are
 * given to the tracestate and baggage functions as repeated fields. Each
 * value is copied into a heap block of exactly its length, and outputs go to
 * heap blocks of exactly the size passed, so AddressSanitizer sees any read
 * or write past an end. Invariants that must hold for every input abort.
 */
#include "error.h"
#include "tracecontext.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                          \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,          \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

static size_t count_char(const char *s, char c)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        n += *s == c;
    }
    return n;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static void check_traceparent(const char *s, size_t len)
{
    struct tg_traceparent tp, tr, again;
    char out[TG_TRACEPARENT_LEN + 1];

    memset(&tp, 0xa5, sizeof(tp));
    memset(&tr, 0xa5, sizeof(tr));
    int r = tg_traceparent_parse(s, len, &tp);
    int r2 = tg_traceresponse_parse(s, len, &tr);
    REQUIRE(r == 0 || r == TG_EPARSE);
    REQUIRE(r == r2);
    REQUIRE(memcmp(&tp, &tr, sizeof(tp)) == 0);
    if (r != 0) {
        struct tg_traceparent untouched;
        memset(&untouched, 0xa5, sizeof(untouched));
        REQUIRE(memcmp(&tp, &untouched, sizeof(tp)) == 0);
        return;
    }
    tg_traceparent_format(&tp, out);
    REQUIRE(strlen(out) == TG_TRACEPARENT_LEN);
    REQUIRE(memcmp(out, "00-", 3) == 0);
    REQUIRE(tg_traceparent_parse(out, TG_TRACEPARENT_LEN, &again) == 0);
    REQUIRE(memcmp(&tp, &again, sizeof(tp)) == 0);

    /* A version-00 value comes back byte for byte, less its OWS. */
    while (len > 0 && is_ows(s[0])) {
        s++;
        len--;
    }
    while (len > 0 && is_ows(s[len - 1])) {
        len--;
    }
    if (s[0] == '0' && s[1] == '0') {
        REQUIRE(len == TG_TRACEPARENT_LEN);
        REQUIRE(memcmp(s, out, TG_TRACEPARENT_LEN) == 0);
    } else {
        REQUIRE(len >= TG_TRACEPARENT_LEN);
        REQUIRE(memcmp(s + 2, out + 2, TG_TRACEPARENT_LEN - 2) == 0);
    }
}

/* Normalize into a heap block of exactly cap bytes; returns the result
 * code, and a malloc'd copy of the output in *copy when it is 0. */
static int normalize(const char *const *v, const size_t *lens, size_t n,
                     size_t limit, size_t cap, unsigned *res, char **copy)
{
    char *out = malloc(cap > 0 ? cap : 1);
    REQUIRE(out != NULL);
    int r = tg_tracestate_normalize(v, lens, n, limit, out, cap, res);
    *copy = NULL;
    if (r == 0) {
        *copy = strdup(out);
        REQUIRE(*copy != NULL);
    }
    free(out);
    return r;
}

/* big_limit is at least the combined length, so nothing is cut there. */
static void check_tracestate(const char *const *v, const size_t *lens,
                             size_t n, size_t limit, size_t big_limit)
{
    unsigned res, res_big, res_again;
    char *out, *big, *again;

    int r = normalize(v, lens, n, limit, limit + 1, &res, &out);
    REQUIRE(r == 0 || r == TG_EPARSE);
    int r_big = normalize(v, lens, n, big_limit, big_limit + 1, &res_big,
                          &big);
    /* validity does not depend on the limit */
    REQUIRE(r == r_big);
    if (r != 0) {
        return;
    }
    REQUIRE(res_big == 0);
    REQUIRE((res & ~(unsigned)(TG_TRACESTATE_TRUNCATED |
                               TG_TRACESTATE_REWRITTEN)) == 0);
    REQUIRE(!(res & TG_TRACESTATE_TRUNCATED) ||
            (res & TG_TRACESTATE_REWRITTEN));

    size_t len = strlen(out);
    REQUIRE(len <= limit);
    /* every member holds exactly one '=', so '=' counts members */
    if (res & TG_TRACESTATE_TRUNCATED) {
        REQUIRE(count_char(out, '=') < count_char(big, '='));
    } else {
        REQUIRE(count_char(out, '=') == count_char(big, '='));
    }
    if (res == 0) {
        REQUIRE(strcmp(out, big) == 0);
    }
    /* one field with a member comes out unchanged */
    if (n == 1 && strlen(big) > 0) {
        REQUIRE(lens[0] == strlen(big) && memcmp(v[0], big, lens[0]) == 0);
    }

    /* the output is a valid tracestate that is forwarded unchanged */
    const char *ov[] = {out};
    size_t olen[] = {len};
    REQUIRE(normalize(ov, olen, 1, limit, limit + 1, &res_again, &again) ==
            0);
    REQUIRE(res_again == 0);
    REQUIRE(strcmp(again, out) == 0);
    free(again);

    /* one byte short of room is refused, not overrun */
    REQUIRE(normalize(v, lens, n, limit, len, &res_again, &again) ==
            TG_ETOOBIG);

    /* a field that is valid in company is valid alone */
    for (size_t i = 0; i < n; i++) {
        REQUIRE(normalize(&v[i], &lens[i], 1, big_limit, big_limit + 1,
                          &res_again, &again) == 0);
        free(again);
    }
    free(out);
    free(big);
}

static void check_baggage(const char *const *v, const size_t *lens, size_t n)
{
    int r = tg_baggage_check(v, lens, n);
    REQUIRE(r == 0 || r == TG_EPARSE || r == TG_ETOOBIG);
    if (r == 0) {
        for (size_t i = 0; i < n; i++) {
            REQUIRE(tg_baggage_check(&v[i], &lens[i], 1) == 0);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *fields[MAX_FIELDS];
    size_t lens[MAX_FIELDS];
    size_t n = 0;
    const char *p = (const char *)data, *end = p + size;

    while (n < MAX_FIELDS) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl != NULL && n + 1 < MAX_FIELDS ? nl : end;

        lens[n] = (size_t)(stop - p);
        fields[n] = malloc(lens[n] > 0 ? lens[n] : 1);
        REQUIRE(fields[n] != NULL);
        if (lens[n] > 0) {
            memcpy(fields[n], p, lens[n]);
        }
        n++;
        if (stop == end) {
            break;
        }
        p = stop + 1;
    }

    const char *const *v = (const char *const *)fields;
    size_t big_limit = size + 1 > TG_TRACESTATE_MIN_LIMIT
                           ? size + 1
                           : TG_TRACESTATE_MIN_LIMIT;
    check_traceparent(fields[0], lens[0]);
    check_tracestate(v, lens, n, TG_TRACESTATE_MIN_LIMIT, big_limit);
    check_tracestate(v, lens, n, 1024, big_limit);
    check_baggage(v, lens, n);

    for (size_t i = 0; i < n; i++) {
        free(fields[i]);
    }
    return 0;
}
