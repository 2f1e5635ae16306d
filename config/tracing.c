/*
 * Tracing settings: the file's "tracing" object and the environment.
 *
 * The environment follows the OpenTelemetry SDK configuration spec for the
 * OTEL_* variables it shares with every SDK, plus the product's own
 * TELEMETRY_ENABLED and TELEMETRY_SAMPLE_RATE. An invalid value is a
 * startup error naming the variable: a gateway that silently traces at the
 * wrong rate is worse than one that refuses to start.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sampler.h"
#include "source.h"

#define LIST_MAX 64

static const char *const default_health_paths[] = {"/health", "/healthz", "/readyz", "/livez"};

/* Query keys whose values the semantic conventions say to redact, plus
 * common credential names. */
static const char *const default_redact_query[] = {
    "AWSAccessKeyId", "Signature", "sig", "X-Goog-Signature",
    "access_token", "api_key", "apikey", "password", "token",
};

int tg_strlist_set(struct tg_strlist *l, const char *const *items, size_t n, bool lower)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = 0;
    if (n == 0)
        return 0;
    l->items = calloc(n, sizeof(char *));
    if (!l->items)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        l->items[i] = strdup(items[i]);
        if (!l->items[i])
            return -ENOMEM;
        if (lower)
            for (char *p = l->items[i]; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        l->count++;
    }
    return 0;
}

int tg_strlist_add(struct tg_strlist *l, const char *item)
{
    char *copy = strdup(item);
    char **items = realloc(l->items, (l->count + 1) * sizeof(char *));
    if (!copy || !items) {
        free(copy);
        if (items)
            l->items = items;
        return -ENOMEM;
    }
    l->items = items;
    l->items[l->count++] = copy;
    return 0;
}

void tg_tracing_defaults(struct tg_tracing_conf *t)
{
    memset(t, 0, sizeof(*t));
    t->enabled = true;
    t->sampler = TG_SAMPLER_PARENTBASED_TRACEIDRATIO;
    t->sampler_arg = 1.0;
    t->trust = TG_TRUST_CONTINUE;
    t->traceresponse = true;
    tg_strlist_set(&t->health_paths, default_health_paths,
             sizeof(default_health_paths) / sizeof(default_health_paths[0]), false);
    tg_strlist_set(&t->redact_query, default_redact_query,
             sizeof(default_redact_query) / sizeof(default_redact_query[0]), false);
    t->tracestate_limit = 512;
    t->exporter = TG_EXPORTER_OTLP;
    t->service_name = strdup("tracegate");
    t->bsp_schedule_delay_ms = 5000;
    t->bsp_export_timeout_ms = 30000;
    t->bsp_max_queue_size = 2048;
    t->bsp_max_export_batch_size = 512;
    t->shutdown_timeout_ms = 10000;
    tg_export_defaults(&t->export);
}

void tg_tracing_free(struct tg_tracing_conf *t)
{
    tg_strlist_set(&t->health_paths, NULL, 0, false);
    tg_strlist_set(&t->request_headers, NULL, 0, false);
    tg_strlist_set(&t->response_headers, NULL, 0, false);
    tg_strlist_set(&t->redact_query, NULL, 0, false);
    free(t->service_name);
    t->service_name = NULL;
    tg_export_free(&t->export);
}

int tg_trust_parse(const char *s, enum tg_trust *out)
{
    if (strcmp(s, "continue") == 0)
        *out = TG_TRUST_CONTINUE;
    else if (strcmp(s, "ids-only") == 0)
        *out = TG_TRUST_IDS_ONLY;
    else if (strcmp(s, "restart") == 0)
        *out = TG_TRUST_RESTART;
    else
        return -EINVAL;
    return 0;
}

static int exporter_parse(const char *s, enum tg_exporter_kind *out)
{
    if (strcmp(s, "otlp") == 0)
        *out = TG_EXPORTER_OTLP;
    else if (strcmp(s, "console") == 0)
        *out = TG_EXPORTER_CONSOLE;
    else if (strcmp(s, "none") == 0)
        *out = TG_EXPORTER_NONE;
    else
        return -EINVAL;
    return 0;
}

/* --- the file ------------------------------------------------------------ */

/* An array of non-empty strings. kind: 'p' paths, 'h' header names, 'q'
 * query keys. */
static void load_list(struct tg_strlist *l, const struct tg_cfg_src *src,
                      struct tg_json_step *steps, const char *key, json_t *v, char kind)
{
    const char *what = kind == 'p' ? "paths starting with \"/\""
                       : kind == 'h' ? "header names" : "non-empty strings";
    if (!json_is_array(v) || json_array_size(v) > LIST_MAX) {
        tg_cfg_error(src, steps, 2, false, "\"%s\" must be an array of at most %d %s", key,
                     LIST_MAX, what);
        return;
    }
    const char *items[LIST_MAX];
    size_t i;
    json_t *e;
    bool ok = true;
    json_array_foreach(v, i, e) {
        steps[2] = (struct tg_json_step){.index = i};
        const char *s = json_is_string(e) ? json_string_value(e) : NULL;
        bool good = s != NULL && s[0] != '\0' && strlen(s) == json_string_length(e);
        if (good && kind == 'p')
            good = s[0] == '/';
        if (good && kind == 'h') {
            for (const char *p = s; *p; p++)
                good = good && tg_is_token_char((unsigned char)*p);
            /* Credentials never go into spans, whatever the list says. */
            if (good && (strcasecmp(s, "authorization") == 0 || strcasecmp(s, "cookie") == 0 ||
                         strcasecmp(s, "set-cookie") == 0 ||
                         strcasecmp(s, "proxy-authorization") == 0)) {
                tg_cfg_error(src, steps, 3, false,
                             "\"%s\" is never captured: its value is a credential", s);
                ok = false;
                continue;
            }
        }
        if (!good) {
            tg_cfg_error(src, steps, 3, false, "\"%s\" entries must be %s", key, what);
            ok = false;
            continue;
        }
        items[i] = s;
    }
    if (ok)
        tg_strlist_set(l, items, json_array_size(v), kind == 'h');
}

void tg_tracing_load(struct tg_tracing_conf *t, const struct tg_cfg_src *src, json_t *obj)
{
    struct tg_json_step steps[4] = {{.key = "tracing"}};
    if (!json_is_object(obj)) {
        tg_cfg_error(src, steps, 1, false, "\"tracing\" must be an object");
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        steps[1] = (struct tg_json_step){.key = key};
        if (strcmp(key, "enabled") == 0 || strcmp(key, "traceresponse") == 0) {
            if (!json_is_boolean(v)) {
                tg_cfg_error(src, steps, 2, false, "\"%s\" must be true or false", key);
                continue;
            }
            if (key[0] == 'e')
                t->enabled = json_is_true(v);
            else
                t->traceresponse = json_is_true(v);
        } else if (strcmp(key, "sampler") == 0) {
            enum tg_sampler_kind k;
            if (!json_is_string(v) || tg_sampler_kind_parse(json_string_value(v), &k) < 0) {
                tg_cfg_error(src, steps, 2, false,
                             "\"sampler\" must be one of always_on, always_off, traceidratio, "
                             "parentbased_always_on, parentbased_always_off, "
                             "parentbased_traceidratio");
                continue;
            }
            t->sampler = (int)k;
        } else if (strcmp(key, "sample_rate") == 0) {
            if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1) {
                tg_cfg_error(src, steps, 2, false, "\"sample_rate\" must be a number between 0 and 1");
                continue;
            }
            t->sampler_arg = json_number_value(v);
        } else if (strcmp(key, "trust") == 0) {
            if (!json_is_string(v) || tg_trust_parse(json_string_value(v), &t->trust) < 0)
                tg_cfg_error(src, steps, 2, false,
                             "\"trust\" must be \"continue\", \"ids-only\" or \"restart\"");
        } else if (strcmp(key, "exporter") == 0) {
            if (!json_is_string(v) || exporter_parse(json_string_value(v), &t->exporter) < 0)
                tg_cfg_error(src, steps, 2, false,
                             "\"exporter\" must be \"otlp\", \"console\" or \"none\"");
        } else if (strcmp(key, "service_name") == 0) {
            if (!json_is_string(v) || json_string_length(v) == 0 ||
                strlen(json_string_value(v)) != json_string_length(v)) {
                tg_cfg_error(src, steps, 2, false, "\"service_name\" must be a non-empty string");
                continue;
            }
            free(t->service_name);
            t->service_name = strdup(json_string_value(v));
            t->service_name_set = true;
        } else if (strcmp(key, "tracestate_limit") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 512 ||
                json_integer_value(v) > 8192) {
                tg_cfg_error(src, steps, 2, false,
                             "\"tracestate_limit\" must be an integer between 512 and 8192");
                continue;
            }
            t->tracestate_limit = json_integer_value(v);
        } else if (strcmp(key, "health_paths") == 0) {
            load_list(&t->health_paths, src, steps, key, v, 'p');
        } else if (strcmp(key, "capture_request_headers") == 0) {
            load_list(&t->request_headers, src, steps, key, v, 'h');
        } else if (strcmp(key, "capture_response_headers") == 0) {
            load_list(&t->response_headers, src, steps, key, v, 'h');
        } else if (strcmp(key, "redact_query_params") == 0) {
            load_list(&t->redact_query, src, steps, key, v, 'q');
        } else if (strcmp(key, "otlp") == 0) {
            tg_export_load(&t->export, src, v);
        } else if (strcmp(key, "resource_attributes") == 0) {
            tg_export_load_resource(&t->export, src, v);
        } else if (strcmp(key, "shutdown_timeout_ms") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > 3600000) {
                tg_cfg_error(src, steps, 2, false,
                             "\"shutdown_timeout_ms\" must be an integer between 0 and 3600000");
                continue;
            }
            t->shutdown_timeout_ms = json_integer_value(v);
        } else {
            tg_cfg_error(src, steps, 2, true, "unknown key \"%s\" in \"tracing\"", key);
        }
    }
}

/* --- the environment ----------------------------------------------------- */

static int env_rate(const char *name, double *out, struct tg_diag *diag)
{
    const char *v = tg_env(name);
    if (!v)
        return 0;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno != 0 || *end != '\0' || end == v || !(d >= 0.0 && d <= 1.0)) {
        tg_diag_add(diag, "tracegate: %s: expected a number between 0 and 1, got \"%s\"", name, v);
        return -EINVAL;
    }
    *out = d;
    return 1;
}

void tg_tracing_env(struct tg_tracing_conf *t, struct tg_diag *diag)
{
    bool b;
    if (tg_env_bool("TELEMETRY_ENABLED", true, &b, diag) == 1)
        t->enabled = b;
    if (tg_env_bool("OTEL_SDK_DISABLED", false, &b, diag) == 1 && b)
        t->enabled = false;

    const char *s = tg_env("OTEL_TRACES_SAMPLER");
    if (s) {
        enum tg_sampler_kind k;
        if (tg_sampler_kind_parse(s, &k) < 0)
            tg_diag_add(diag, "tracegate: OTEL_TRACES_SAMPLER: \"%s\" is not one of always_on, "
                              "always_off, traceidratio, parentbased_always_on, "
                              "parentbased_always_off, parentbased_traceidratio", s);
        else
            t->sampler = (int)k;
    }
    double rate, arg;
    int has_rate = env_rate("TELEMETRY_SAMPLE_RATE", &rate, diag);
    int has_arg = env_rate("OTEL_TRACES_SAMPLER_ARG", &arg, diag);
    if (has_rate == 1 && has_arg == 1 && rate != arg) {
        tg_diag_add(diag, "tracegate: TELEMETRY_SAMPLE_RATE and OTEL_TRACES_SAMPLER_ARG "
                          "disagree (%s vs %s): set one", tg_env("TELEMETRY_SAMPLE_RATE"),
                    tg_env("OTEL_TRACES_SAMPLER_ARG"));
    } else if (has_rate == 1 || has_arg == 1) {
        t->sampler_arg = has_rate == 1 ? rate : arg;
        /* A rate alone means the default sampler at that rate. */
        if (!s && has_rate == 1)
            t->sampler = TG_SAMPLER_PARENTBASED_TRACEIDRATIO;
    }

    s = tg_env("OTEL_TRACES_EXPORTER");
    if (s && exporter_parse(s, &t->exporter) < 0)
        tg_diag_add(diag, "tracegate: OTEL_TRACES_EXPORTER: expected otlp, console or none, "
                          "got \"%s\"", s);
    s = tg_env("OTEL_SERVICE_NAME");
    if (s) {
        free(t->service_name);
        t->service_name = strdup(s);
        t->service_name_set = true;
    }
    tg_export_env(&t->export, diag);
    tg_env_int("OTEL_BSP_SCHEDULE_DELAY", 0, 3600000, &t->bsp_schedule_delay_ms, diag);
    tg_env_int("OTEL_BSP_EXPORT_TIMEOUT", 0, 3600000, &t->bsp_export_timeout_ms, diag);
    tg_env_int("OTEL_BSP_MAX_QUEUE_SIZE", 1, 1 << 24, &t->bsp_max_queue_size, diag);
    tg_env_int("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 1, 1 << 24, &t->bsp_max_export_batch_size, diag);
    if (t->bsp_max_export_batch_size > t->bsp_max_queue_size)
        tg_diag_add(diag, "tracegate: OTEL_BSP_MAX_EXPORT_BATCH_SIZE (%lld) must not exceed "
                          "OTEL_BSP_MAX_QUEUE_SIZE (%lld)",
                    (long long)t->bsp_max_export_batch_size, (long long)t->bsp_max_queue_size);
}

void tg_tracing_finish_route(const struct tg_tracing_conf *t, struct tg_route_conf *r,
                             struct tg_diag *diag)
{
    if (r->trust_name == NULL)
        r->trust = t->trust;
    if (r->traceresponse < 0)
        r->traceresponse = t->traceresponse;
    if (r->http_route == NULL && r->prefix != NULL) {
        /* A prefix route matches a whole subtree; a trailing "*" segment says so. */
        size_t n = r->prefix_len;
        r->http_route = malloc(n + 3);
        if (r->http_route == NULL) {
            tg_diag_add(diag, "tracegate: out of memory");
            return;
        }
        memcpy(r->http_route, r->prefix, n);
        if (n == 1) {
            memcpy(r->http_route, "/*", 3);
        } else {
            memcpy(r->http_route + n, "/*", 3);
        }
    }
}
