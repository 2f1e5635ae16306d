#include "control.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

/* One route prefix the process has seen. */
struct slot {
    char *prefix;
    bool live;            /* a route of the current configuration */
    double base;          /* the configured rate; NaN follows the global rate */
    bool overridden;
    double override;      /* NaN: the operator made it follow the global rate */
};

struct tg_control {
    pthread_mutex_t mu;
    pthread_cond_t cond;      /* CLOCK_MONOTONIC; signalled on a new deadline */
    pthread_t thread;
    bool thread_started;
    bool stopping;
    tg_control_event_fn *on_event;
    void *arg;
    struct tg_sampler *sampler;

    bool base_enabled;
    double base_rate;
    bool has_enabled;
    bool enabled;
    bool has_rate;
    double rate;
    int64_t revert_at_ns;     /* monotonic; 0: no revert pending */

    size_t slot_count;
    struct slot slots[TG_ROUTE_SLOTS];
};

static bool has_override(const struct tg_control *c)
{
    if (c->has_enabled || c->has_rate) {
        return true;
    }
    for (size_t i = 0; i < c->slot_count; i++) {
        if (c->slots[i].overridden) {
            return true;
        }
    }
    return false;
}

static double slot_rate(const struct slot *s)
{
    return s->overridden ? s->override : s->base;
}

/* Write the effective values into the sampler (lock held). */
static void publish(struct tg_control *c)
{
    tg_sampler_set_enabled(c->sampler, c->has_enabled ? c->enabled : c->base_enabled);
    tg_sampler_set_rate(c->sampler, c->has_rate ? c->rate : c->base_rate);
    for (size_t i = 0; i < c->slot_count; i++) {
        const struct slot *s = &c->slots[i];
        tg_sampler_set_route_rate(c->sampler, i, s->live ? slot_rate(s) : NAN);
    }
}

static json_t *rate_json(double r)
{
    return isnan(r) ? json_null() : json_real(r);
}

/* The state as JSON (lock held); full adds the startup settings. */
static json_t *state_locked(struct tg_control *c, bool full)
{
    json_t *routes = json_object();
    json_t *base_routes = json_object();
    json_t *startup = json_object();
    json_t *o = json_object();

    for (size_t i = 0; i < c->slot_count; i++) {
        const struct slot *s = &c->slots[i];
        if (s->live) {
            json_object_set_new(routes, s->prefix, rate_json(slot_rate(s)));
            json_object_set_new(base_routes, s->prefix, rate_json(s->base));
        }
    }
    json_object_set_new(startup, "enabled", json_boolean(c->base_enabled));
    json_object_set_new(startup, "rate", json_real(c->base_rate));
    json_object_set_new(startup, "routes", base_routes);

    json_object_set_new(o, "enabled", json_boolean(c->has_enabled ? c->enabled : c->base_enabled));
    json_object_set_new(o, "rate", json_real(c->has_rate ? c->rate : c->base_rate));
    json_object_set_new(o, "routes", routes);
    json_object_set_new(o, "overridden", json_boolean(has_override(c)));
    if (c->revert_at_ns > 0) {
        int64_t left = c->revert_at_ns - tg_now_ns();
        json_object_set_new(o, "ttl_seconds_left",
                            json_integer(left > 0 ? (left + 999999999) / 1000000000 : 0));
    } else {
        json_object_set_new(o, "ttl_seconds_left", json_null());
    }
    if (full) {
        json_object_set_new(o, "startup", startup);
    } else {
        json_decref(startup);
    }
    return o;
}

static void clear_overrides(struct tg_control *c)
{
    c->has_enabled = false;
    c->has_rate = false;
    for (size_t i = 0; i < c->slot_count; i++) {
        c->slots[i].overridden = false;
    }
    c->revert_at_ns = 0;
}

/* Waits for the revert deadline; reverts and reports when it passes. */
static void *revert_main(void *arg)
{
    struct tg_control *c = arg;

    pthread_mutex_lock(&c->mu);
    while (!c->stopping) {
        if (c->revert_at_ns == 0) {
            pthread_cond_wait(&c->cond, &c->mu);
            continue;
        }
        int64_t now = tg_now_ns();
        if (now < c->revert_at_ns) {
            struct timespec ts = {
                .tv_sec = (time_t)(c->revert_at_ns / 1000000000),
                .tv_nsec = (long)(c->revert_at_ns % 1000000000),
            };
            pthread_cond_timedwait(&c->cond, &c->mu, &ts);
            continue;
        }
        json_t *before = state_locked(c, false);
        clear_overrides(c);
        publish(c);
        json_t *after = state_locked(c, false);
        pthread_mutex_unlock(&c->mu);
        if (c->on_event != NULL) {
            c->on_event(c->arg, "ttl_expired", before, after);
        }
        json_decref(before);
        json_decref(after);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int tg_control_create(struct tg_sampler *sampler, tg_control_event_fn *on_event, void *arg,
                      struct tg_control **out)
{
    struct tg_control *c = calloc(1, sizeof(*c));
    pthread_condattr_t ca;
    int r;

    if (c == NULL) {
        return -ENOMEM;
    }
    c->sampler = sampler;
    c->on_event = on_event;
    c->arg = arg;
    c->base_enabled = tg_sampler_enabled(sampler);
    c->base_rate = tg_sampler_rate(sampler);
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    r = -pthread_create(&c->thread, NULL, revert_main, c);
    if (r < 0) {
        goto fail;
    }
    c->thread_started = true;
    *out = c;
    return 0;

fail:
    tg_control_destroy(c);
    return r;
}

void tg_control_destroy(struct tg_control *c)
{
    if (c == NULL) {
        return;
    }
    if (c->thread_started) {
        pthread_mutex_lock(&c->mu);
        c->stopping = true;
        pthread_cond_signal(&c->cond);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
    }
    for (size_t i = 0; i < c->slot_count; i++) {
        free(c->slots[i].prefix);
    }
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static struct slot *find_slot(struct tg_control *c, const char *prefix, size_t *idx)
{
    for (size_t i = 0; i < c->slot_count; i++) {
        if (strcmp(c->slots[i].prefix, prefix) == 0) {
            *idx = i;
            return &c->slots[i];
        }
    }
    return NULL;
}

/* A prefix as an operator may write it: "/api/" names route "/api", as
 * in the configuration. */
static struct slot *find_given(struct tg_control *c, const char *given, size_t *idx)
{
    size_t n = strlen(given);
    while (n > 1 && given[n - 1] == '/') {
        n--;
    }
    for (size_t i = 0; i < c->slot_count; i++) {
        if (strlen(c->slots[i].prefix) == n && memcmp(c->slots[i].prefix, given, n) == 0) {
            *idx = i;
            return &c->slots[i];
        }
    }
    return NULL;
}

/* The route rate the configuration gives (ratio samplers only take it). */
static double configured_route_rate(const struct tg_route_conf *r)
{
    return r->sample_rate >= 0.0 ? r->sample_rate : NAN;
}

int tg_control_adopt(struct tg_control *c, struct tg_config *cfg)
{
    size_t fresh = 0;

    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < cfg->route_count; i++) {
        size_t idx;
        if (!cfg->routes[i].internal && find_slot(c, cfg->routes[i].prefix, &idx) == NULL) {
            fresh++;
        }
    }
    if (c->slot_count + fresh > TG_ROUTE_SLOTS) {
        pthread_mutex_unlock(&c->mu);
        return -ENOSPC;
    }
    for (size_t i = 0; i < c->slot_count; i++) {
        c->slots[i].live = false;
    }
    for (size_t i = 0; i < cfg->route_count; i++) {
        struct tg_route_conf *r = &cfg->routes[i];
        size_t idx = SIZE_MAX;
        if (r->internal) {
            r->slot = SIZE_MAX;
            continue;
        }
        struct slot *s = find_slot(c, r->prefix, &idx);
        if (s == NULL) {
            char *p = strdup(r->prefix);
            if (p == NULL) {
                pthread_mutex_unlock(&c->mu);
                return -ENOMEM;
            }
            idx = c->slot_count++;
            s = &c->slots[idx];
            *s = (struct slot){.prefix = p};
        }
        s->live = true;
        s->base = configured_route_rate(r);
        r->slot = idx;
    }
    /* An override of a route that is gone goes with it. */
    for (size_t i = 0; i < c->slot_count; i++) {
        if (!c->slots[i].live) {
            c->slots[i].overridden = false;
        }
    }
    const struct tg_tracing_conf *t = &cfg->tracing;
    c->base_enabled = t->enabled;
    switch ((enum tg_sampler_kind)t->sampler) {
    case TG_SAMPLER_ALWAYS_ON:
    case TG_SAMPLER_PARENTBASED_ALWAYS_ON:
        c->base_rate = 1.0;
        break;
    case TG_SAMPLER_ALWAYS_OFF:
    case TG_SAMPLER_PARENTBASED_ALWAYS_OFF:
        c->base_rate = 0.0;
        break;
    default:
        c->base_rate = t->sampler_arg;
        break;
    }
    publish(c);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static bool rate_ok(double r)
{
    return r >= 0.0 && r <= 1.0;
}

int tg_control_apply(struct tg_control *c, const struct tg_control_change *ch,
                     json_t **before, json_t **after, char *err, size_t err_len)
{
    if (ch->has_rate && !rate_ok(ch->rate)) {
        snprintf(err, err_len, "\"rate\" must be a number between 0 and 1");
        return -EINVAL;
    }
    if (ch->ttl_s < 0 || ch->ttl_s > TG_CONTROL_TTL_MAX_S) {
        snprintf(err, err_len, "\"ttl_seconds\" must be between 1 and %d", TG_CONTROL_TTL_MAX_S);
        return -EINVAL;
    }
    pthread_mutex_lock(&c->mu);
    /* Check every route before changing anything. */
    for (size_t i = 0; i < ch->route_count; i++) {
        size_t idx;
        const struct tg_control_route *cr = &ch->routes[i];
        struct slot *s = find_given(c, cr->prefix, &idx);
        if (s == NULL || !s->live) {
            pthread_mutex_unlock(&c->mu);
            snprintf(err, err_len, "\"routes\": no route has the prefix \"%.200s\"", cr->prefix);
            return -EINVAL;
        }
        if (!isnan(cr->rate) && !rate_ok(cr->rate)) {
            pthread_mutex_unlock(&c->mu);
            snprintf(err, err_len, "\"routes\": the rate of \"%.200s\" must be a number between 0 and 1 or null",
                     cr->prefix);
            return -EINVAL;
        }
    }
    json_t *b = state_locked(c, false);
    if (ch->has_enabled) {
        c->has_enabled = true;
        c->enabled = ch->enabled;
    }
    if (ch->has_rate) {
        c->has_rate = true;
        c->rate = ch->rate;
    }
    for (size_t i = 0; i < ch->route_count; i++) {
        size_t idx;
        struct slot *s = find_given(c, ch->routes[i].prefix, &idx);
        if (isnan(ch->routes[i].rate)) {
            s->overridden = false;
        } else {
            s->overridden = true;
            s->override = ch->routes[i].rate;
        }
    }
    c->revert_at_ns = ch->ttl_s > 0 ? tg_now_ns() + ch->ttl_s * 1000000000LL : 0;
    if (c->revert_at_ns != 0 && !has_override(c)) {
        c->revert_at_ns = 0; /* nothing to revert */
    }
    publish(c);
    pthread_cond_signal(&c->cond);
    json_t *a = state_locked(c, false);
    pthread_mutex_unlock(&c->mu);
    *before = b;
    *after = a;
    return 0;
}

int tg_control_reset(struct tg_control *c, json_t **before, json_t **after)
{
    pthread_mutex_lock(&c->mu);
    json_t *b = state_locked(c, false);
    clear_overrides(c);
    publish(c);
    pthread_cond_signal(&c->cond);
    json_t *a = state_locked(c, false);
    pthread_mutex_unlock(&c->mu);
    *before = b;
    *after = a;
    return 0;
}

const char *tg_control_slot_prefix(struct tg_control *c, size_t slot, bool *live)
{
    const char *prefix = NULL;
    pthread_mutex_lock(&c->mu);
    *live = false;
    if (slot < c->slot_count) {
        prefix = c->slots[slot].prefix;
        *live = c->slots[slot].live;
    }
    pthread_mutex_unlock(&c->mu);
    return prefix;
}

json_t *tg_control_state(struct tg_control *c)
{
    pthread_mutex_lock(&c->mu);
    json_t *o = state_locked(c, true);
    pthread_mutex_unlock(&c->mu);
    return o;
}
