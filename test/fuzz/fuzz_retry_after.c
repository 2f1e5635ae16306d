/*
 * libFuzzer target for Retry-After values (tg_otlp_retry_after_ms in
 * lib/otlp/retry.c): delay-seconds or an HTTP-date (RFC 9110 10.2.3), read
 * relative to a fixed "now" so results repeat. A delay is never negative
 * and never beyond the one-day cap.
 */
#include "fuzz.h"
#include "retry.h"

#define NOW_UNIX_S 1767225600  /* 2026-01-01T00:00:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *v = fuzz_cstr(data, size);
    int64_t ms = tg_otlp_retry_after_ms(v, NOW_UNIX_S);

    REQUIRE(ms == -1 || (ms >= 0 && ms <= 86400 * 1000));
    REQUIRE(ms == -1 || ms % 1000 == 0);
    /* The same value later can only be due sooner or at the same time. */
    int64_t later = tg_otlp_retry_after_ms(v, NOW_UNIX_S + 10);
    REQUIRE((ms == -1) == (later == -1));
    REQUIRE(later <= ms || ms == -1);
    free(v);
    return 0;
}
