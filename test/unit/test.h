/*
 * Minimal unit-test harness: TEST functions hold CHECKs; RUN reports each as
 * "ok - name" / "not ok - name" and TEST_SUMMARY prints "# N passed, N failed"
 * (test/run.sh adds these up) and gives the exit status.
 */
#ifndef TG_TEST_H
#define TG_TEST_H

#include <stdio.h>
#include <string.h>

static int test_failed_checks;
static int test_passed;
static int test_failed;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            test_failed_checks++;                                              \
        }                                                                      \
    } while (0)

#define CHECK_STR(got, want)                                                   \
    do {                                                                       \
        const char *g_ = (got), *w_ = (want);                                  \
        if (g_ == NULL || strcmp(g_, w_) != 0) {                               \
            fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__,       \
                    __LINE__, g_ ? g_ : "(null)", w_);                         \
            test_failed_checks++;                                              \
        }                                                                      \
    } while (0)

/* buf[0..n) = c, NUL-terminated; returns buf (long inputs for limit tests). */
static inline char *test_fill(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

#define RUN(fn)                                                                \
    do {                                                                       \
        int before_ = test_failed_checks;                                      \
        fn();                                                                  \
        if (test_failed_checks > before_) {                                    \
            printf("not ok - %s\n", #fn);                                      \
            test_failed++;                                                     \
        } else {                                                               \
            printf("ok - %s\n", #fn);                                          \
            test_passed++;                                                     \
        }                                                                      \
    } while (0)

#define TEST_SUMMARY()                                                         \
    (printf("# %d passed, %d failed\n", test_passed, test_failed),            \
     test_failed != 0 || test_passed == 0)

#endif
