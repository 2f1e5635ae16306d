/*
 * /admin/telemetry: read and change sampling at run time.
 *
 *   GET     the effective state, the startup settings, the time left on a
 *           temporary override, the exporter and its delivery counters
 *   POST    {"enabled": bool, "rate": 0..1, "routes": {prefix: 0..1|null},
 *            "ttl_seconds": 1..604800}, any subset but not none; answers
 *           like GET. A body that is not exactly that changes nothing.
 *   DELETE  drop every run-time change (back to the startup settings)
 *
 * /admin/telemetry/test: export one span now and report the answer.
 *
 * Every change writes an audit line with the state before and after.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define ROUTES_MAX 1024

static json_t *full_state(struct tg_admin *a)
{
    json_t *o = tg_control_state(a->control);
    if (o != NULL && a->hooks.telemetry_info != NULL) {
        json_t *info = a->hooks.telemetry_info(a->hooks.arg);
        if (info != NULL) {
            json_object_update(o, info);
            json_decref(info);
        }
    }
    return o;
}

void tg_admin_telemetry_get(struct tg_admin *a, const struct tg_admin_request *rq,
                            struct tg_admin_reply *r)
{
    tg_admin_reply_json(r, 200, full_state(a));
}

/* application/json, any parameters; an absent type is taken as JSON. */
static bool json_content_type(const char *ct)
{
    if (ct == NULL) {
        return true;
    }
    while (*ct == ' ') {
        ct++;
    }
    size_t n = strcspn(ct, "; \t");
    return n == 16 && strncasecmp(ct, "application/json", 16) == 0;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* Read the body into a change; false with r holding the 400. The route
 * array (prefix strings borrowed from body) is allocated into *routes. */
static bool parse_change(json_t *body, struct tg_control_change *ch,
                         struct tg_control_route **routes, struct tg_admin_reply *r)
{
    const char *key;
    json_t *v;

    memset(ch, 0, sizeof(*ch));
    *routes = NULL;
    if (!json_is_object(body)) {
        tg_admin_reply_error(r, 400, "the body must be a JSON object, got %s", type_name(body));
        return false;
    }
    if (json_object_size(body) == 0) {
        tg_admin_reply_error(r, 400, "the body names nothing to change: give any of "
                                     "\"enabled\", \"rate\", \"routes\", \"ttl_seconds\"");
        return false;
    }
    json_object_foreach(body, key, v) {
        if (strcmp(key, "enabled") == 0) {
            if (!json_is_boolean(v)) {
                tg_admin_reply_error(r, 400, "\"enabled\" must be true or false, got %s",
                                     type_name(v));
                return false;
            }
            ch->has_enabled = true;
            ch->enabled = json_is_true(v);
        } else if (strcmp(key, "rate") == 0) {
            double d = json_number_value(v);
            if (!json_is_number(v)) {
                tg_admin_reply_error(r, 400, "\"rate\" must be a number between 0 and 1, got %s",
                                     type_name(v));
                return false;
            }
            if (!(d >= 0.0 && d <= 1.0)) {
                tg_admin_reply_error(r, 400, "\"rate\" must be a number between 0 and 1, got %g",
                                     d);
                return false;
            }
            ch->has_rate = true;
            ch->rate = d;
        } else if (strcmp(key, "ttl_seconds") == 0) {
            json_int_t t = json_is_integer(v) ? json_integer_value(v) : 0;
            if (t < 1 || t > TG_CONTROL_TTL_MAX_S) {
                tg_admin_reply_error(r, 400, "\"ttl_seconds\" must be a whole number of seconds "
                                             "between 1 and %d", TG_CONTROL_TTL_MAX_S);
                return false;
            }
            ch->ttl_s = t;
        } else if (strcmp(key, "routes") == 0) {
            if (!json_is_object(v) || json_object_size(v) > ROUTES_MAX) {
                tg_admin_reply_error(r, 400, "\"routes\" must be an object of at most %d "
                                             "route prefixes to rates (0..1, or null to drop an "
                                             "override)", ROUTES_MAX);
                return false;
            }
            size_t n = json_object_size(v);
            *routes = calloc(n > 0 ? n : 1, sizeof(**routes));
            if (*routes == NULL) {
                tg_admin_reply_error(r, 500, "out of memory");
                return false;
            }
            const char *prefix;
            json_t *rv;
            size_t i = 0;
            json_object_foreach(v, prefix, rv) {
                double d = json_number_value(rv);
                if (!json_is_null(rv) && !(json_is_number(rv) && d >= 0.0 && d <= 1.0)) {
                    tg_admin_reply_error(r, 400, "\"routes\": the rate of \"%.200s\" must be a "
                                                 "number between 0 and 1, or null", prefix);
                    return false;
                }
                (*routes)[i].prefix = prefix;
                (*routes)[i].rate = json_is_null(rv) ? NAN : d;
                i++;
            }
            ch->routes = *routes;
            ch->route_count = i;
        } else {
            tg_admin_reply_error(r, 400, "unknown field \"%.100s\" (known: enabled, rate, "
                                         "routes, ttl_seconds)", key);
            return false;
        }
    }
    return true;
}

/* The request as the audit line records it: the parsed change. */
static json_t *audit_extra(json_t *body)
{
    json_t *o = json_object();
    json_object_set(o, "request", body);
    return o;
}

void tg_admin_telemetry_post(struct tg_admin *a, const struct tg_admin_request *rq,
                             struct tg_admin_reply *r)
{
    if (!json_content_type(rq->content_type)) {
        tg_admin_reply_error(r, 415, "send the body as Content-Type: application/json "
                                     "(curl: -H 'Content-Type: application/json'), not %.100s",
                             rq->content_type);
        return;
    }
    if (rq->body_len == 0) {
        tg_admin_reply_error(r, 400, "empty body: send a JSON object such as {\"rate\": 0.1}");
        return;
    }
    json_error_t jerr;
    json_t *body = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (body == NULL) {
        tg_admin_reply_error(r, 400, "malformed JSON at line %d column %d: %s", jerr.line,
                             jerr.column, jerr.text);
        return;
    }
    struct tg_control_change ch;
    struct tg_control_route *routes = NULL;
    if (!parse_change(body, &ch, &routes, r)) {
        free(routes);
        json_decref(body);
        return;
    }
    json_t *before = NULL, *after = NULL;
    char err[300];
    int res = tg_control_apply(a->control, &ch, &before, &after, err, sizeof(err));
    free(routes);
    if (res < 0) {
        tg_admin_reply_error(r, res == -EINVAL ? 400 : 500, "%s", err);
        json_decref(body);
        return;
    }
    json_t *extra = audit_extra(body);
    tg_audit_write(a->audit, "/admin/telemetry", rq->client, "update", before, after, extra);
    json_decref(extra);
    json_decref(before);
    json_decref(after);
    json_decref(body);
    tg_admin_reply_json(r, 200, full_state(a));
}

void tg_admin_telemetry_delete(struct tg_admin *a, const struct tg_admin_request *rq,
                               struct tg_admin_reply *r)
{
    json_t *before = NULL, *after = NULL;
    tg_control_reset(a->control, &before, &after);
    tg_audit_write(a->audit, "/admin/telemetry", rq->client, "reset", before, after, NULL);
    json_decref(before);
    json_decref(after);
    tg_admin_reply_json(r, 200, full_state(a));
}

void tg_admin_telemetry_test(struct tg_admin *a, const struct tg_admin_request *rq,
                             struct tg_admin_reply *r)
{
    if (a->hooks.test_export == NULL) {
        tg_admin_reply_error(r, 501, "test exports are not available in this build");
        return;
    }
    json_t *res = a->hooks.test_export(a->hooks.arg);
    if (res == NULL) {
        tg_admin_reply_error(r, 500, "out of memory");
        return;
    }
    json_t *status = json_object_get(res, "status");
    int code = json_is_integer(status) ? (int)json_integer_value(status) : 200;
    json_object_del(res, "status");
    tg_admin_reply_json(r, code, res);
}
