/* admin/control.c: base and override layers, all-or-nothing changes,
 * slots that survive reloads, TTL revert. */
#include "control.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test.h"

static struct tg_route_conf route(const char *prefix, double rate)
{
    struct tg_route_conf r;
    memset(&r, 0, sizeof(r));
    r.prefix = (char *)prefix;
    r.prefix_len = strlen(prefix);
    r.sample_rate = rate;
    return r;
}

static void config(struct tg_config *cfg, struct tg_route_conf *routes, size_t n, double rate)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->routes = routes;
    cfg->route_count = n;
    cfg->tracing.enabled = true;
    cfg->tracing.sampler = TG_SAMPLER_PARENTBASED_TRACEIDRATIO;
    cfg->tracing.sampler_arg = rate;
}

static _Atomic int events;

static void on_event(void *arg, const char *action, json_t *before, json_t *after)
{
    if (strcmp(action, "ttl_expired") == 0) {
        atomic_fetch_add(&events, 1);
    }
}

struct fixture {
    struct tg_sampler s;
    struct tg_control *c;
    struct tg_route_conf routes[2];
    struct tg_config cfg;
};

static void setup(struct fixture *f)
{
    CHECK(tg_sampler_init(&f->s, TG_SAMPLER_PARENTBASED_TRACEIDRATIO, 1.0, true,
                          TG_ROUTE_SLOTS, NULL) == 0);
    CHECK(tg_control_create(&f->s, on_event, NULL, &f->c) == 0);
    f->routes[0] = route("/a", -1.0);
    f->routes[1] = route("/b", 0.5);
    config(&f->cfg, f->routes, 2, 1.0);
    CHECK(tg_control_adopt(f->c, &f->cfg) == 0);
}

static void teardown(struct fixture *f)
{
    tg_control_destroy(f->c);
    tg_sampler_fini(&f->s);
}

static int apply(struct fixture *f, const struct tg_control_change *ch)
{
    json_t *b = NULL, *a = NULL;
    char err[200];
    int r = tg_control_apply(f->c, ch, &b, &a, err, sizeof(err));
    json_decref(b);
    json_decref(a);
    return r;
}

static void adopt_sets_base(void)
{
    struct fixture f;
    setup(&f);
    CHECK(isnan(tg_sampler_route_rate(&f.s, f.routes[0].slot)));
    CHECK(tg_sampler_route_rate(&f.s, f.routes[1].slot) == 0.5);
    CHECK(tg_sampler_rate(&f.s) == 1.0);
    teardown(&f);
}

static void change_is_all_or_nothing(void)
{
    struct fixture f;
    setup(&f);
    struct tg_control_route bad[] = {{"/a", 0.1}, {"/zzz", 0.2}};
    struct tg_control_change ch = {.has_rate = true, .rate = 0.3, .route_count = 2,
                                   .routes = bad};
    CHECK(apply(&f, &ch) == -EINVAL);
    CHECK(tg_sampler_rate(&f.s) == 1.0);
    CHECK(isnan(tg_sampler_route_rate(&f.s, f.routes[0].slot)));
    struct tg_control_route good[] = {{"/a/", 0.1}};
    struct tg_control_change ok = {.has_rate = true, .rate = 0.3, .route_count = 1,
                                   .routes = good, .has_enabled = true, .enabled = false};
    CHECK(apply(&f, &ok) == 0);
    CHECK(tg_sampler_rate(&f.s) == 0.3 && !tg_sampler_enabled(&f.s));
    CHECK(tg_sampler_route_rate(&f.s, f.routes[0].slot) == 0.1);
    teardown(&f);
}

static void reload_keeps_slots_and_live_overrides(void)
{
    struct fixture f;
    setup(&f);
    size_t slot_b = f.routes[1].slot;
    struct tg_control_route o[] = {{"/a", 0.0}, {"/b", 0.9}};
    struct tg_control_change ch = {.route_count = 2, .routes = o};
    CHECK(apply(&f, &ch) == 0);
    /* New config: /b stays (other position), /a goes, /c arrives. */
    struct tg_route_conf routes2[2] = {route("/c", 0.2), route("/b", 0.5)};
    struct tg_config cfg2;
    config(&cfg2, routes2, 2, 0.5);
    CHECK(tg_control_adopt(f.c, &cfg2) == 0);
    CHECK(routes2[1].slot == slot_b);
    CHECK(tg_sampler_route_rate(&f.s, slot_b) == 0.9);           /* override kept */
    CHECK(tg_sampler_route_rate(&f.s, routes2[0].slot) == 0.2);
    CHECK(isnan(tg_sampler_route_rate(&f.s, f.routes[0].slot)));  /* gone */
    CHECK(tg_sampler_rate(&f.s) == 0.5);
    /* The old prefix comes back without its override. */
    CHECK(tg_control_adopt(f.c, &f.cfg) == 0);
    CHECK(isnan(tg_sampler_route_rate(&f.s, f.routes[0].slot)));
    teardown(&f);
}

static void ttl_reverts(void)
{
    struct fixture f;
    setup(&f);
    atomic_store(&events, 0);
    struct tg_control_change ch = {.has_rate = true, .rate = 0.0, .ttl_s = 1};
    CHECK(apply(&f, &ch) == 0);
    CHECK(tg_sampler_rate(&f.s) == 0.0);
    struct timespec step = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 300 && atomic_load(&events) == 0; i++) {
        nanosleep(&step, NULL); /* the revert thread's deadline: no event to wait on here */
    }
    CHECK(atomic_load(&events) == 1);
    CHECK(tg_sampler_rate(&f.s) == 1.0);
    json_t *st = tg_control_state(f.c);
    CHECK(json_is_null(json_object_get(st, "ttl_seconds_left")));
    CHECK(json_is_false(json_object_get(st, "overridden")));
    json_decref(st);
    teardown(&f);
}

static void reset_drops_overrides(void)
{
    struct fixture f;
    setup(&f);
    struct tg_control_change ch = {.has_enabled = true, .enabled = false};
    CHECK(apply(&f, &ch) == 0);
    json_t *b = NULL, *a = NULL;
    CHECK(tg_control_reset(f.c, &b, &a) == 0);
    CHECK(json_is_false(json_object_get(b, "enabled")));
    CHECK(json_is_true(json_object_get(a, "enabled")));
    CHECK(tg_sampler_enabled(&f.s));
    json_decref(b);
    json_decref(a);
    teardown(&f);
}

int main(void)
{
    RUN(adopt_sets_base);
    RUN(change_is_all_or_nothing);
    RUN(reload_keeps_slots_and_live_overrides);
    RUN(ttl_reverts);
    RUN(reset_drops_overrides);
    return TEST_SUMMARY();
}
