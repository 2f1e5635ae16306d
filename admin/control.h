/*
 * Run-time telemetry control: what POST /admin/telemetry changes.
 *
 * Two layers. The base is what the configuration says (the startup
 * settings, replaced by a reload). The override is what operators set at
 * run time: enabled, the global rate, and per-route rates keyed by route
 * prefix. The effective value of each is the override when there is one,
 * else the base; it is written into the sampler's atomics, so every worker
 * sees it on its next decision and deciding never takes a lock.
 *
 * An override may carry a time to live: when it runs out, every override
 * is dropped and the base applies again (a thread of this module waits for
 * that moment). A change without a time to live is permanent and cancels
 * a pending revert.
 *
 * Routes get sampler slots here: a prefix keeps its slot for the life of
 * the process, so a reload that keeps a route keeps its override.
 *
 * Thread safety: every function may be called from any thread; one mutex
 * serialises changes (never taken on the request path).
 */
#ifndef TG_CONTROL_H
#define TG_CONTROL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "sampler.h"

struct tg_control;

/* TTL bounds for a temporary override (one week at most). */
#define TG_CONTROL_TTL_MAX_S (7 * 24 * 3600)

/* Called after the control changed the state on its own (a TTL ran out),
 * outside the module's lock; before and after are borrowed. */
typedef void tg_control_event_fn(void *arg, const char *action, json_t *before,
                                 json_t *after);

/* Drive `sampler` (borrowed, outlives the control). 0 or -errno. */
int tg_control_create(struct tg_sampler *sampler, tg_control_event_fn *on_event, void *arg,
                      struct tg_control **out);
void tg_control_destroy(struct tg_control *c);

/*
 * Take cfg's settings as the base: assign each route its slot
 * (route->slot), set the base rates, keep overrides of routes that still
 * exist and drop the others. Call before cfg is published to workers.
 * Returns 0, or -ENOSPC when the process has seen TG_ROUTE_SLOTS prefixes.
 */
int tg_control_adopt(struct tg_control *c, struct tg_config *cfg);

/* One requested change; a field is changed only when its has_ flag is set. */
struct tg_control_route {
    const char *prefix;
    double rate;            /* NaN: drop this route's override */
};

struct tg_control_change {
    bool has_enabled;
    bool enabled;
    bool has_rate;
    double rate;
    size_t route_count;
    const struct tg_control_route *routes;
    int64_t ttl_s;          /* 0: permanent */
};

/*
 * Apply a change as one step: either all of it or, when a route prefix is
 * unknown or a rate is out of range, none of it (err says what). On
 * success *before and *after (new references, caller decrefs) are the
 * sampling state around the change (as tg_control_state, without
 * "startup"). Returns 0, -EINVAL or -ENOMEM.
 */
int tg_control_apply(struct tg_control *c, const struct tg_control_change *change,
                     json_t **before, json_t **after, char *err, size_t err_len);

/* Drop every override now (back to the base). Same outputs as apply. */
int tg_control_reset(struct tg_control *c, json_t **before, json_t **after);

/*
 * The route prefix that owns sampler slot `slot`, or NULL when no route
 * has had it yet. The string is borrowed for the life of the control (a
 * slot keeps its prefix). *live: a route of the current configuration
 * has this prefix.
 */
const char *tg_control_slot_prefix(struct tg_control *c, size_t slot, bool *live);

/*
 * The sampling state as a new JSON object:
 *   enabled, rate, routes {prefix: rate or null (follows "rate")},
 *   overridden (bool), ttl_seconds_left (whole seconds, rounded up, or null),
 *   startup {enabled, rate, routes}.
 */
json_t *tg_control_state(struct tg_control *c);

#endif
