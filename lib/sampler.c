#include "sampler.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"

static const char *const kind_names[] = {
    [TG_SAMPLER_ALWAYS_ON] = "always_on",
    [TG_SAMPLER_ALWAYS_OFF] = "always_off",
    [TG_SAMPLER_TRACEIDRATIO] = "traceidratio",
    [TG_SAMPLER_PARENTBASED_ALWAYS_ON] = "parentbased_always_on",
    [TG_SAMPLER_PARENTBASED_ALWAYS_OFF] = "parentbased_always_off",
    [TG_SAMPLER_PARENTBASED_TRACEIDRATIO] = "parentbased_traceidratio",
};

int tg_sampler_kind_parse(const char *name, enum tg_sampler_kind *out)
{
    /* Enum-valued OTEL_* variables are case-insensitive (SDK configuration
     * spec); surrounding whitespace is ignored as the Go SDK does. */
    while (*name == ' ' || *name == '\t') {
        name++;
    }
    size_t len = strlen(name);
    while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t')) {
        len--;
    }
    for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
        if (strlen(kind_names[i]) == len && strncasecmp(name, kind_names[i], len) == 0) {
            *out = (enum tg_sampler_kind)i;
            return 0;
        }
    }
    return TG_EPARSE;
}

const char *tg_sampler_kind_name(enum tg_sampler_kind kind)
{
    return kind_names[kind];
}

static uint64_t bits_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
}

static double double_of(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

int tg_sampler_init(struct tg_sampler *s, enum tg_sampler_kind kind, double ratio,
                    bool enabled, size_t route_count, const double *route_rates)
{
    double rate;
    switch (kind) {
    case TG_SAMPLER_ALWAYS_ON:
    case TG_SAMPLER_PARENTBASED_ALWAYS_ON:
        rate = 1.0;
        break;
    case TG_SAMPLER_ALWAYS_OFF:
    case TG_SAMPLER_PARENTBASED_ALWAYS_OFF:
        rate = 0.0;
        break;
    default:
        rate = ratio;
        break;
    }
    if (!(rate >= 0.0 && rate <= 1.0)) {
        return TG_ERANGE;
    }
    s->parent_based = kind >= TG_SAMPLER_PARENTBASED_ALWAYS_ON;
    atomic_init(&s->enabled, enabled);
    atomic_init(&s->rate_bits, bits_of(rate));
    s->route_count = route_count;
    s->route_rate_bits = NULL;
    if (route_count > 0) {
        s->route_rate_bits = calloc(route_count, sizeof(*s->route_rate_bits));
        if (!s->route_rate_bits) {
            return -ENOMEM;
        }
        for (size_t i = 0; i < route_count; i++) {
            double r = route_rates && route_rates[i] >= 0.0 ? route_rates[i] : NAN;
            if (r > 1.0) {
                free(s->route_rate_bits);
                s->route_rate_bits = NULL;
                return TG_ERANGE;
            }
            atomic_init(&s->route_rate_bits[i], bits_of(r));
        }
    }
    return 0;
}

void tg_sampler_fini(struct tg_sampler *s)
{
    free(s->route_rate_bits);
    s->route_rate_bits = NULL;
}

bool tg_sample_ratio(const uint8_t trace_id[16], double rate)
{
    if (rate >= 1.0) {
        return true;
    }
    if (!(rate > 0.0)) {
        return false;
    }
    uint64_t bound = (uint64_t)(rate * 9223372036854775808.0); /* 2^63 */
    uint64_t x = 0;
    for (int i = 8; i < 16; i++)
        x = (x << 8) | trace_id[i];
    return (x >> 1) < bound;
}

bool tg_sampler_decide(const struct tg_sampler *s, size_t route,
                       const uint8_t trace_id[16], enum tg_parent parent)
{
    if (!atomic_load_explicit(&s->enabled, memory_order_relaxed)) {
        return false;
    }
    if (s->parent_based && parent != TG_PARENT_NONE) {
        return parent == TG_PARENT_SAMPLED;
    }
    double rate = NAN;
    if (route < s->route_count)
        rate = double_of(atomic_load_explicit(&s->route_rate_bits[route],
                                              memory_order_relaxed));
    if (isnan(rate)) {
        rate = double_of(atomic_load_explicit(&s->rate_bits, memory_order_relaxed));
    }
    return tg_sample_ratio(trace_id, rate);
}

bool tg_sampler_enabled(const struct tg_sampler *s)
{
    return atomic_load(&s->enabled);
}

void tg_sampler_set_enabled(struct tg_sampler *s, bool on)
{
    atomic_store(&s->enabled, on);
}

double tg_sampler_rate(const struct tg_sampler *s)
{
    return double_of(atomic_load(&s->rate_bits));
}

int tg_sampler_set_rate(struct tg_sampler *s, double rate)
{
    if (!(rate >= 0.0 && rate <= 1.0)) {
        return TG_ERANGE;
    }
    atomic_store(&s->rate_bits, bits_of(rate));
    return 0;
}

double tg_sampler_route_rate(const struct tg_sampler *s, size_t route)
{
    if (route >= s->route_count) {
        return NAN;
    }
    return double_of(atomic_load(&s->route_rate_bits[route]));
}

int tg_sampler_set_route_rate(struct tg_sampler *s, size_t route, double rate)
{
    if (route >= s->route_count) {
        return TG_ERANGE;
    }
    if (!isnan(rate) && !(rate >= 0.0 && rate <= 1.0)) {
        return TG_ERANGE;
    }
    atomic_store(&s->route_rate_bits[route], bits_of(rate));
    return 0;
}
