/*
 * Sampling: ParentBased(TraceIdRatioBased) and the OTEL_TRACES_SAMPLER
 * family, with run-time state that any thread may change.
 *
 * The ratio decision is the OpenTelemetry Go SDK's, bit for bit: sample when
 * the last 8 bytes of the trace id, read big-endian and shifted right by
 * one, are below rate * 2^63 (rate >= 1 samples everything, rate <= 0
 * nothing). A Go backend configured with the same rate therefore makes the
 * same decision for the same trace. always_on and always_off are the ratio
 * sampler at 1 and 0, so an operator can move any of them with one number.
 *
 * The enabled flag and the rates are atomics: a change made by the admin
 * endpoint is seen by the next decision on every worker, and deciding takes
 * no lock.
 */
#ifndef TG_SAMPLER_H
#define TG_SAMPLER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Route rate slots the gateway gives its sampler: a route keeps its slot
 * over configuration reloads, so this bounds the distinct route prefixes
 * one process can see. */
#define TG_ROUTE_SLOTS 4096

/* The OTEL_TRACES_SAMPLER values. */
enum tg_sampler_kind {
    TG_SAMPLER_ALWAYS_ON,
    TG_SAMPLER_ALWAYS_OFF,
    TG_SAMPLER_TRACEIDRATIO,
    TG_SAMPLER_PARENTBASED_ALWAYS_ON,
    TG_SAMPLER_PARENTBASED_ALWAYS_OFF,
    TG_SAMPLER_PARENTBASED_TRACEIDRATIO,
};

/* Parse an OTEL_TRACES_SAMPLER name (any case). Returns 0 or TG_EPARSE. */
int tg_sampler_kind_parse(const char *name, enum tg_sampler_kind *out);
const char *tg_sampler_kind_name(enum tg_sampler_kind kind);

/* What the parent context says, as seen by the sampler. */
enum tg_parent {
    TG_PARENT_NONE,       /* root span: the ratio decides */
    TG_PARENT_SAMPLED,
    TG_PARENT_UNSAMPLED,
};

struct tg_sampler {
    bool parent_based;
    _Atomic bool enabled;
    _Atomic uint64_t rate_bits;     /* double, the root ratio */
    size_t route_count;
    _Atomic uint64_t *route_rate_bits; /* per route; NaN = no override */
};

/* Set up from a sampler kind and its ratio (used only by the ratio kinds;
 * must be in [0, 1]). Route overrides start unset; rates[i] >= 0 sets route
 * i's override from the start (pass NULL for none). Returns 0, TG_ERANGE
 * for a rate outside [0, 1], or -ENOMEM. */
int tg_sampler_init(struct tg_sampler *s, enum tg_sampler_kind kind, double ratio,
                    bool enabled, size_t route_count, const double *route_rates);
void tg_sampler_fini(struct tg_sampler *s);

/* The Go SDK's TraceIdRatioBased decision. */
bool tg_sample_ratio(const uint8_t trace_id[16], double rate);

/* The full decision for a new SERVER span on route (index) route: false
 * whenever tracing is disabled; otherwise ParentBased rules if configured,
 * then the route's override rate or the global rate. */
bool tg_sampler_decide(const struct tg_sampler *s, size_t route,
                       const uint8_t trace_id[16], enum tg_parent parent);

/* Run-time state (any thread). Rates outside [0, 1] return TG_ERANGE. */
bool tg_sampler_enabled(const struct tg_sampler *s);
void tg_sampler_set_enabled(struct tg_sampler *s, bool on);
double tg_sampler_rate(const struct tg_sampler *s);
int tg_sampler_set_rate(struct tg_sampler *s, double rate);
/* NaN when the route has no override. */
double tg_sampler_route_rate(const struct tg_sampler *s, size_t route);
/* rate NaN clears the override. */
int tg_sampler_set_route_rate(struct tg_sampler *s, size_t route, double rate);

#endif
