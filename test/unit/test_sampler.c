#include <math.h>
#include <stdint.h>

#include "error.h"
#include "sampler.h"
#include "test.h"

/* A trace id whose first 8 bytes are hi and last 8 bytes are lo, both
 * big-endian as on the wire. Only lo matters to the ratio decision. */
static void make_id(uint8_t id[16], uint64_t hi, uint64_t lo)
{
    for (int i = 0; i < 8; i++) {
        id[7 - i] = (uint8_t)(hi >> (8 * i));
        id[15 - i] = (uint8_t)(lo >> (8 * i));
    }
}

static bool ratio(uint64_t lo, double rate)
{
    uint8_t id[16];

    make_id(id, 0x0af7651916cd43ddULL, lo);
    return tg_sample_ratio(id, rate);
}

static void kind_parse_all_six_names(void)
{
    static const struct {
        const char *name;
        enum tg_sampler_kind kind;
    } cases[] = {
        {"always_on", TG_SAMPLER_ALWAYS_ON},
        {"always_off", TG_SAMPLER_ALWAYS_OFF},
        {"traceidratio", TG_SAMPLER_TRACEIDRATIO},
        {"parentbased_always_on", TG_SAMPLER_PARENTBASED_ALWAYS_ON},
        {"parentbased_always_off", TG_SAMPLER_PARENTBASED_ALWAYS_OFF},
        {"parentbased_traceidratio", TG_SAMPLER_PARENTBASED_TRACEIDRATIO},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum tg_sampler_kind kind = (enum tg_sampler_kind)-1;
        CHECK(tg_sampler_kind_parse(cases[i].name, &kind) == 0);
        CHECK(kind == cases[i].kind);
        CHECK_STR(tg_sampler_kind_name(cases[i].kind), cases[i].name);
    }
}

static void kind_parse_ignores_case_and_surrounding_blanks(void)
{
    /* SDK configuration spec: enum values are case-insensitive; the Go
     * SDK also trims them. */
    static const char *const ok[] = {"ALWAYS_ON", "Always_On", " always_on", "always_on\t"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        enum tg_sampler_kind kind = TG_SAMPLER_ALWAYS_OFF;
        CHECK(tg_sampler_kind_parse(ok[i], &kind) == 0);
        CHECK(kind == TG_SAMPLER_ALWAYS_ON);
    }
    enum tg_sampler_kind kind;
    CHECK(tg_sampler_kind_parse("ParentBased_TraceIdRatio", &kind) == 0);
    CHECK(kind == TG_SAMPLER_PARENTBASED_TRACEIDRATIO);
}

static void kind_parse_rejects_other_names(void)
{
    /* Names the OTEL_TRACES_SAMPLER list has that tracegate does not
     * implement, near misses, and the empty string. */
    static const char *const bad[] = {
        "", " ", "always", "alwayson", "always-on",
        "traceidratio=0.5", "parentbased", "parentbased_", "parentbased_jaeger_remote",
        "jaeger_remote", "xray", "always_on\n", "traceidratiox",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum tg_sampler_kind kind = TG_SAMPLER_ALWAYS_OFF;
        if (tg_sampler_kind_parse(bad[i], &kind) != TG_EPARSE) {
            fprintf(stderr, "accepted \"%s\"\n", bad[i]);
            CHECK(0);
        }
        /* out is written only on success */
        CHECK(kind == TG_SAMPLER_ALWAYS_OFF);
    }
}

static void init_sets_rate_from_kind(void)
{
    struct tg_sampler s;

    /* The fixed kinds ignore the ratio argument, even one out of range. */
    CHECK(tg_sampler_init(&s, TG_SAMPLER_ALWAYS_ON, NAN, true, 0, NULL) == 0);
    CHECK(tg_sampler_rate(&s) == 1.0 && !s.parent_based);
    tg_sampler_fini(&s);
    CHECK(tg_sampler_init(&s, TG_SAMPLER_ALWAYS_OFF, 0.7, true, 0, NULL) == 0);
    CHECK(tg_sampler_rate(&s) == 0.0 && !s.parent_based);
    tg_sampler_fini(&s);
    CHECK(tg_sampler_init(&s, TG_SAMPLER_PARENTBASED_ALWAYS_ON, 5.0, true, 0, NULL) == 0);
    CHECK(tg_sampler_rate(&s) == 1.0 && s.parent_based);
    tg_sampler_fini(&s);
    CHECK(tg_sampler_init(&s, TG_SAMPLER_PARENTBASED_ALWAYS_OFF, -1.0, true, 0, NULL) == 0);
    CHECK(tg_sampler_rate(&s) == 0.0 && s.parent_based);
    tg_sampler_fini(&s);
    CHECK(tg_sampler_init(&s, TG_SAMPLER_TRACEIDRATIO, 0.25, true, 0, NULL) == 0);
    CHECK(tg_sampler_rate(&s) == 0.25 && !s.parent_based);
    tg_sampler_fini(&s);
    CHECK(tg_sampler_init(&s, TG_SAMPLER_PARENTBASED_TRACEIDRATIO, 0.75, false, 0, NULL) == 0);
    CHECK(tg_sampler_rate(&s) == 0.75 && s.parent_based && !tg_sampler_enabled(&s));
    tg_sampler_fini(&s);
}

static void init_rejects_ratio_out_of_range(void)
{
    static const double bad[] = {-0.0001, 1.0000000000000002, 2.0, -INFINITY, INFINITY, NAN};
    struct tg_sampler s;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(tg_sampler_init(&s, TG_SAMPLER_TRACEIDRATIO, bad[i], true, 0, NULL) == TG_ERANGE);
        CHECK(tg_sampler_init(&s, TG_SAMPLER_PARENTBASED_TRACEIDRATIO, bad[i], true, 2, NULL) ==
              TG_ERANGE);
    }
    /* The bounds themselves are rates. */
    CHECK(tg_sampler_init(&s, TG_SAMPLER_TRACEIDRATIO, 0.0, true, 0, NULL) == 0);
    tg_sampler_fini(&s);
    CHECK(tg_sampler_init(&s, TG_SAMPLER_TRACEIDRATIO, 1.0, true, 0, NULL) == 0);
    tg_sampler_fini(&s);
}

static void set_rate_and_range(void)
{
    struct tg_sampler s;

    CHECK(tg_sampler_init(&s, TG_SAMPLER_TRACEIDRATIO, 0.5, true, 0, NULL) == 0);
    CHECK(tg_sampler_set_rate(&s, 0.125) == 0);
    CHECK(tg_sampler_rate(&s) == 0.125);
    CHECK(tg_sampler_set_rate(&s, 0.0) == 0);
    CHECK(tg_sampler_rate(&s) == 0.0);
    CHECK(tg_sampler_set_rate(&s, 1.0) == 0);
    CHECK(tg_sampler_rate(&s) == 1.0);
    /* A rejected rate leaves the current one in place. */
    CHECK(tg_sampler_set_rate(&s, 1.0000000000000002) == TG_ERANGE);
    CHECK(tg_sampler_set_rate(&s, -0.5) == TG_ERANGE);
    CHECK(tg_sampler_set_rate(&s, NAN) == TG_ERANGE);
    CHECK(tg_sampler_set_rate(&s, INFINITY) == TG_ERANGE);
    CHECK(tg_sampler_rate(&s) == 1.0);
    tg_sampler_fini(&s);
}

static void route_overrides(void)
{
    /* Negative and NaN entries mean "no override". */
    const double start[] = {0.0, -1.0, 1.0, NAN};
    struct tg_sampler s;
    uint8_t id[16];

    CHECK(tg_sampler_init(&s, TG_SAMPLER_TRACEIDRATIO, 1.0, true, 4, start) == 0);
    CHECK(tg_sampler_route_rate(&s, 0) == 0.0);
    CHECK(isnan(tg_sampler_route_rate(&s, 1)));
    CHECK(tg_sampler_route_rate(&s, 2) == 1.0);
    CHECK(isnan(tg_sampler_route_rate(&s, 3)));
    CHECK(isnan(tg_sampler_route_rate(&s, 4))); /* no such route */

    make_id(id, 1, 0); /* sampled at any rate above 0 */
    CHECK(!tg_sampler_decide(&s, 0, id, TG_PARENT_NONE)); /* override 0 wins over global 1 */
    CHECK(tg_sampler_decide(&s, 1, id, TG_PARENT_NONE));  /* no override: global 1 */
    CHECK(tg_sampler_decide(&s, 99, id, TG_PARENT_NONE)); /* unknown route: global */

    /* Set, then clear with NaN: the route follows the global rate again. */
    CHECK(tg_sampler_set_rate(&s, 0.0) == 0);
    CHECK(tg_sampler_set_route_rate(&s, 1, 0.5) == 0);
    CHECK(tg_sampler_route_rate(&s, 1) == 0.5);
    CHECK(tg_sampler_decide(&s, 1, id, TG_PARENT_NONE));
    CHECK(tg_sampler_set_route_rate(&s, 1, NAN) == 0);
    CHECK(isnan(tg_sampler_route_rate(&s, 1)));
    CHECK(!tg_sampler_decide(&s, 1, id, TG_PARENT_NONE));

    /* Out of range rate or route: TG_ERANGE, override unchanged. */
    CHECK(tg_sampler_set_route_rate(&s, 2, 1.5) == TG_ERANGE);
    CHECK(tg_sampler_set_route_rate(&s, 2, -0.1) == TG_ERANGE);
    CHECK(tg_sampler_set_route_rate(&s, 2, INFINITY) == TG_ERANGE);
    CHECK(tg_sampler_route_rate(&s, 2) == 1.0);
    CHECK(tg_sampler_set_route_rate(&s, 4, 0.5) == TG_ERANGE);
    tg_sampler_fini(&s);

    /* No routes at all: every route index uses the global rate. */
    CHECK(tg_sampler_init(&s, TG_SAMPLER_TRACEIDRATIO, 1.0, true, 0, NULL) == 0);
    CHECK(isnan(tg_sampler_route_rate(&s, 0)));
    CHECK(tg_sampler_set_route_rate(&s, 0, 0.5) == TG_ERANGE);
    CHECK(tg_sampler_decide(&s, 0, id, TG_PARENT_NONE));
    tg_sampler_fini(&s);
}

static void enabled_flag(void)
{
    struct tg_sampler s;
    uint8_t id[16];

    make_id(id, 1, 0);
    CHECK(tg_sampler_init(&s, TG_SAMPLER_PARENTBASED_ALWAYS_ON, 1.0, false, 0, NULL) == 0);
    CHECK(!tg_sampler_enabled(&s));
    /* Disabled means nothing is sampled, a sampled parent included. */
    CHECK(!tg_sampler_decide(&s, 0, id, TG_PARENT_NONE));
    CHECK(!tg_sampler_decide(&s, 0, id, TG_PARENT_SAMPLED));
    tg_sampler_set_enabled(&s, true);
    CHECK(tg_sampler_enabled(&s));
    CHECK(tg_sampler_decide(&s, 0, id, TG_PARENT_NONE));
    CHECK(tg_sampler_decide(&s, 0, id, TG_PARENT_SAMPLED));
    tg_sampler_set_enabled(&s, false);
    CHECK(!tg_sampler_enabled(&s));
    CHECK(!tg_sampler_decide(&s, 0, id, TG_PARENT_SAMPLED));
    tg_sampler_fini(&s);
}

static void parent_based_rules(void)
{
    const double route_rates[] = {1.0};
    struct tg_sampler s;
    uint8_t in[16];  /* sampled at any rate above 0 */
    uint8_t out[16]; /* sampled only at rate 1 */

    make_id(in, 1, 0);
    make_id(out, 1, UINT64_MAX);

    /* ParentBased: a parent's sampled flag decides, whatever the rate or a
     * route override; only a root span goes to the ratio. */
    CHECK(tg_sampler_init(&s, TG_SAMPLER_PARENTBASED_TRACEIDRATIO, 0.0, true, 1, route_rates) ==
          0);
    CHECK(tg_sampler_decide(&s, 1, out, TG_PARENT_SAMPLED));
    CHECK(!tg_sampler_decide(&s, 0, in, TG_PARENT_UNSAMPLED));
    CHECK(!tg_sampler_decide(&s, 1, in, TG_PARENT_NONE));
    CHECK(tg_sampler_decide(&s, 0, in, TG_PARENT_NONE));
    CHECK(tg_sampler_set_rate(&s, 1.0) == 0);
    CHECK(!tg_sampler_decide(&s, 1, in, TG_PARENT_UNSAMPLED));
    CHECK(tg_sampler_decide(&s, 1, out, TG_PARENT_NONE));
    tg_sampler_fini(&s);

    CHECK(tg_sampler_init(&s, TG_SAMPLER_PARENTBASED_ALWAYS_OFF, 0.0, true, 0, NULL) == 0);
    CHECK(tg_sampler_decide(&s, 0, in, TG_PARENT_SAMPLED));
    CHECK(!tg_sampler_decide(&s, 0, in, TG_PARENT_NONE));
    tg_sampler_fini(&s);

    CHECK(tg_sampler_init(&s, TG_SAMPLER_PARENTBASED_ALWAYS_ON, 0.0, true, 0, NULL) == 0);
    CHECK(!tg_sampler_decide(&s, 0, out, TG_PARENT_UNSAMPLED));
    CHECK(tg_sampler_decide(&s, 0, out, TG_PARENT_NONE));
    tg_sampler_fini(&s);

    /* Without ParentBased the parent is ignored, as TraceIdRatioBased,
     * AlwaysOn and AlwaysOff ignore it in the specification. */
    CHECK(tg_sampler_init(&s, TG_SAMPLER_TRACEIDRATIO, 0.0, true, 0, NULL) == 0);
    CHECK(!tg_sampler_decide(&s, 0, in, TG_PARENT_SAMPLED));
    CHECK(tg_sampler_set_rate(&s, 1.0) == 0);
    CHECK(tg_sampler_decide(&s, 0, out, TG_PARENT_UNSAMPLED));
    tg_sampler_fini(&s);

    CHECK(tg_sampler_init(&s, TG_SAMPLER_ALWAYS_OFF, 0.0, true, 0, NULL) == 0);
    CHECK(!tg_sampler_decide(&s, 0, in, TG_PARENT_SAMPLED));
    tg_sampler_fini(&s);

    CHECK(tg_sampler_init(&s, TG_SAMPLER_ALWAYS_ON, 0.0, true, 0, NULL) == 0);
    CHECK(tg_sampler_decide(&s, 0, out, TG_PARENT_UNSAMPLED));
    tg_sampler_fini(&s);
}

/*
 * The ratio decision: sample when (last 8 bytes, big-endian) >> 1 is below
 * bound = (uint64)(rate * 2^63), i.e. when the last 8 bytes are below
 * 2 * bound. The bounds below were worked out by hand from each rate's
 * exact binary value; e.g. 0.1 is 3602879701896397 * 2^-55, so its bound
 * is 3602879701896397 * 2^8 = 0x0ccccccccccccd00.
 */
static void ratio_zero_and_one(void)
{
    CHECK(!ratio(0, 0.0));
    CHECK(!ratio(UINT64_MAX, 0.0));
    CHECK(!ratio(0, -0.0));
    CHECK(ratio(0, 1.0));
    CHECK(ratio(UINT64_MAX, 1.0));
    CHECK(ratio(0x8000000000000000ULL, 1.0));
}

static void ratio_half_quarter_tenth(void)
{
    /* 0.5: bound 2^62, sampled below 0x8000000000000000 */
    CHECK(ratio(0, 0.5));
    CHECK(ratio(0x7fffffffffffffffULL, 0.5));
    CHECK(!ratio(0x8000000000000000ULL, 0.5));
    CHECK(!ratio(UINT64_MAX, 0.5));
    /* 0.25: bound 2^61, sampled below 0x4000000000000000 */
    CHECK(ratio(0x3fffffffffffffffULL, 0.25));
    CHECK(!ratio(0x4000000000000000ULL, 0.25));
    /* 0.1: bound 0x0ccccccccccccd00, sampled below 0x1999999999999a00 */
    CHECK(ratio(0x19999999999999ffULL, 0.1));
    CHECK(!ratio(0x1999999999999a00ULL, 0.1));
    /* 0.3333333333333333: bound 0x2aaaaaaaaaaaaa00 */
    CHECK(ratio(0x55555555555553ffULL, 0.3333333333333333));
    CHECK(!ratio(0x5555555555555400ULL, 0.3333333333333333));
}

static void ratio_uses_only_the_last_8_bytes(void)
{
    uint8_t id[16];

    make_id(id, UINT64_MAX, 0x7fffffffffffffffULL);
    CHECK(tg_sample_ratio(id, 0.5));
    make_id(id, 0, 0x7fffffffffffffffULL);
    CHECK(tg_sample_ratio(id, 0.5));
    make_id(id, UINT64_MAX, 0x8000000000000000ULL);
    CHECK(!tg_sample_ratio(id, 0.5));
    make_id(id, 0x0102030405060708ULL, 0x8000000000000000ULL);
    CHECK(!tg_sample_ratio(id, 0.5));
}

static void ratio_tiny_rates(void)
{
    /* rate * 2^63 is truncated toward zero: 1e-9 * 2^63 = 9223372036.85...
     * gives bound 9223372036, so the last 8 bytes must be below 18446744072. */
    CHECK(ratio(18446744071ULL, 1e-9));
    CHECK(!ratio(18446744072ULL, 1e-9));
    /* 2^-62: bound 2, only last-8-bytes values 0..3 are sampled */
    CHECK(ratio(0, 0x1p-62));
    CHECK(ratio(3, 0x1p-62));
    CHECK(!ratio(4, 0x1p-62));
    /* 2^-63: bound 1, values 0 and 1 */
    CHECK(ratio(1, 0x1p-63));
    CHECK(!ratio(2, 0x1p-63));
    /* Below 2^-63 the bound truncates to 0: a positive rate that samples
     * nothing, the smallest subnormal included. */
    CHECK(!ratio(0, 0x1p-64));
    CHECK(!ratio(0, 1e-300));
    CHECK(!ratio(0, 4.9406564584124654e-324));
}

static void ratio_just_below_one(void)
{
    /* 1 - 1e-16 rounds to the double 1 - 2^-53: bound 2^63 - 2^10, so the
     * top 2^11 values of the last 8 bytes are not sampled. */
    const double r = 1 - 1e-16;

    CHECK(r < 1.0);
    CHECK(ratio(0, r));
    CHECK(ratio(0xfffffffffffff7ffULL, r));
    CHECK(!ratio(0xfffffffffffff800ULL, r));
    CHECK(!ratio(UINT64_MAX, r));
}

int main(void)
{
    RUN(kind_parse_all_six_names);
    RUN(kind_parse_ignores_case_and_surrounding_blanks);
    RUN(kind_parse_rejects_other_names);
    RUN(init_sets_rate_from_kind);
    RUN(init_rejects_ratio_out_of_range);
    RUN(set_rate_and_range);
    RUN(route_overrides);
    RUN(enabled_flag);
    RUN(parent_based_rules);
    RUN(ratio_zero_and_one);
    RUN(ratio_half_quarter_tenth);
    RUN(ratio_uses_only_the_last_8_bytes);
    RUN(ratio_tiny_rates);
    RUN(ratio_just_below_one);
    return TEST_SUMMARY();
}
