/*
 * OTLP export settings: where spans go, how, and what the resource says.
 *
 * Sources, later ones winning: defaults, the file's "tracing"."otlp" and
 * "tracing"."resource_attributes", the environment, flags. Every setting
 * has the specification's generic and _TRACES_ forms; the _TRACES_ one wins.
 *
 * The endpoint: the highest level that sets any endpoint decides, and at
 * that level the most specific setting wins:
 *   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT  used as is
 *   OTEL_EXPORTER_OTLP_ENDPOINT         base URL; HTTP protocols append v1/traces
 *   TELEMETRY_COLLECTOR_URL             a URL without a path gets /v1/traces
 *   TELEMETRY_BACKEND                   jaeger: localhost:4318, tempo: localhost:4319
 * The default is http://localhost:4318/v1/traces (http://localhost:4317 for
 * grpc), the OpenTelemetry default, which is also where Jaeger listens.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "export_otlp.h"
#include "kvlist.h"
#include "resource.h"
#include "source.h"

#define HEADERS_MAX 32

/* Names of the settings, for messages and the startup line. */
static const char *const ep_names[TG_LEVELS][TG_EP_KINDS] = {
    [TG_LEVEL_FILE] = {"tracing.otlp.backend", "tracing.otlp.collector_url",
                       "tracing.otlp.endpoint", "tracing.otlp.traces_endpoint"},
    [TG_LEVEL_ENV] = {"TELEMETRY_BACKEND", "TELEMETRY_COLLECTOR_URL",
                      "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
    [TG_LEVEL_FLAG] = {NULL, "--otlp-endpoint", NULL, NULL},
};

void tg_export_defaults(struct tg_export_conf *e)
{
    memset(e, 0, sizeof(*e));
    e->protocol = TG_OTLP_HTTP_PROTOBUF;
    e->protocol_level = -1;
    e->timeout_ms = 10000;
}

void tg_export_free(struct tg_export_conf *e)
{
    for (int l = 0; l < TG_LEVELS; l++)
        for (int k = 0; k < TG_EP_KINDS; k++)
            free(e->ep_raw[l][k]);
    free(e->endpoint);
    tg_strlist_set(&e->headers, NULL, 0, false);
    tg_strlist_set(&e->resource, NULL, 0, false);
    free(e->certificate);
    free(e->client_key);
    free(e->client_certificate);
    memset(e, 0, sizeof(*e));
}

static void set_str(char **slot, const char *v)
{
    free(*slot);
    *slot = v ? strdup(v) : NULL;
}

static int protocol_parse(const char *s, int *out)
{
    if (strcmp(s, "http/protobuf") == 0)
        *out = TG_OTLP_HTTP_PROTOBUF;
    else if (strcmp(s, "http/json") == 0)
        *out = TG_OTLP_HTTP_JSON;
    else if (strcmp(s, "grpc") == 0)
        *out = TG_OTLP_GRPC;
    else
        return -EINVAL;
    return 0;
}

static bool header_name_ok(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!tg_is_token_char((unsigned char)s[i]))
            return false;
    return true;
}

static bool header_value_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t')
            return false;
    return true;
}

/* "Name: value" into l; false (nothing added) for a bad name or value. */
static bool add_header(struct tg_strlist *l, const char *name, size_t name_len,
                       const char *value)
{
    if (!header_name_ok(name, name_len) || !header_value_ok(value) || l->count >= HEADERS_MAX)
        return false;
    size_t n = name_len + 2 + strlen(value) + 1;
    char *line = malloc(n);
    if (!line)
        return false;
    snprintf(line, n, "%.*s: %s", (int)name_len, name, value);
    int rc = tg_strlist_add(l, line);
    free(line);
    return rc == 0;
}

/* --- the file ------------------------------------------------------------ */

static bool file_string(const struct tg_cfg_src *src, struct tg_json_step *steps,
                        const char *key, json_t *v)
{
    if (json_is_string(v) && json_string_length(v) > 0 &&
        strlen(json_string_value(v)) == json_string_length(v))
        return true;
    tg_cfg_error(src, steps, 3, false, "\"%s\" must be a non-empty string", key);
    return false;
}

void tg_export_load(struct tg_export_conf *e, const struct tg_cfg_src *src, json_t *obj)
{
    struct tg_json_step steps[5] = {{.key = "tracing"}, {.key = "otlp"}};
    if (!json_is_object(obj)) {
        tg_cfg_error(src, steps, 2, false, "\"otlp\" must be an object");
        return;
    }
    static const char *const ep_keys[TG_EP_KINDS] = {"backend", "collector_url", "endpoint",
                                                     "traces_endpoint"};
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        steps[2] = (struct tg_json_step){.key = key};
        int kind = -1;
        for (int k = 0; k < TG_EP_KINDS; k++)
            if (strcmp(key, ep_keys[k]) == 0)
                kind = k;
        if (kind >= 0) {
            if (file_string(src, steps, key, v))
                set_str(&e->ep_raw[TG_LEVEL_FILE][kind], json_string_value(v));
        } else if (strcmp(key, "protocol") == 0) {
            if (!json_is_string(v) || protocol_parse(json_string_value(v), &e->protocol) < 0)
                tg_cfg_error(src, steps, 3, false,
                             "\"protocol\" must be \"http/protobuf\", \"http/json\" or \"grpc\"");
            else
                e->protocol_level = TG_LEVEL_FILE;
        } else if (strcmp(key, "compression") == 0) {
            const char *s = json_is_string(v) ? json_string_value(v) : "";
            if (strcmp(s, "gzip") != 0 && strcmp(s, "none") != 0)
                tg_cfg_error(src, steps, 3, false, "\"compression\" must be \"gzip\" or \"none\"");
            else
                e->gzip = s[0] == 'g';
        } else if (strcmp(key, "timeout_ms") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                json_integer_value(v) > 3600000)
                tg_cfg_error(src, steps, 3, false,
                             "\"timeout_ms\" must be an integer between 1 and 3600000");
            else
                e->timeout_ms = json_integer_value(v);
        } else if (strcmp(key, "insecure") == 0) {
            if (!json_is_boolean(v))
                tg_cfg_error(src, steps, 3, false, "\"insecure\" must be true or false");
            else
                e->insecure = json_is_true(v);
        } else if (strcmp(key, "certificate") == 0 || strcmp(key, "client_key") == 0 ||
                   strcmp(key, "client_certificate") == 0) {
            if (file_string(src, steps, key, v))
                set_str(key[0] == 'c' && key[1] == 'e' ? &e->certificate
                        : strcmp(key, "client_key") == 0 ? &e->client_key
                                                         : &e->client_certificate,
                        json_string_value(v));
        } else if (strcmp(key, "headers") == 0) {
            if (!json_is_object(v)) {
                tg_cfg_error(src, steps, 3, false,
                             "\"headers\" must be an object of header names to strings");
                continue;
            }
            tg_strlist_set(&e->headers, NULL, 0, false);
            const char *name;
            json_t *hv;
            json_object_foreach(v, name, hv) {
                steps[3] = (struct tg_json_step){.key = name};
                if (!json_is_string(hv) || !add_header(&e->headers, name, strlen(name),
                                                       json_string_value(hv)))
                    tg_cfg_error(src, steps, 4, false,
                                 "header \"%s\": needs a token name and a string value "
                                 "without control characters (at most %d headers)",
                                 name, HEADERS_MAX);
            }
        } else {
            tg_cfg_error(src, steps, 3, true, "unknown key \"%s\" in \"otlp\"", key);
        }
    }
}

void tg_export_load_resource(struct tg_export_conf *e, const struct tg_cfg_src *src,
                             json_t *obj)
{
    struct tg_json_step steps[3] = {{.key = "tracing"}, {.key = "resource_attributes"}};
    if (!json_is_object(obj)) {
        tg_cfg_error(src, steps, 2, false,
                     "\"resource_attributes\" must be an object of names to strings");
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        steps[2] = (struct tg_json_step){.key = key};
        if (key[0] == '\0' || !json_is_string(v) ||
            strlen(json_string_value(v)) != json_string_length(v)) {
            tg_cfg_error(src, steps, 3, false, "resource attribute \"%s\" must be a string", key);
            continue;
        }
        tg_strlist_add(&e->resource, key);
        tg_strlist_add(&e->resource, json_string_value(v));
    }
}

/* --- the environment ----------------------------------------------------- */

/* The _TRACES_ form of a setting, else the generic one; *name says which. */
static const char *env2(const char *generic, const char *traces, const char **name)
{
    const char *v = tg_env(traces);
    *name = traces;
    if (!v) {
        v = tg_env(generic);
        *name = generic;
    }
    return v;
}

static int add_parsed_header(void *arg, const char *name, const char *value)
{
    return add_header(arg, name, strlen(name), value) ? 0 : -EINVAL;
}

/* OTEL_EXPORTER_OTLP_HEADERS: "name=value,..." with percent-encoded values. */
static void env_headers(struct tg_export_conf *e, const char *name, const char *v,
                        struct tg_diag *diag)
{
    struct tg_strlist list = {0};
    char err[128];
    if (tg_kvlist_parse(v, add_parsed_header, &list, err, sizeof(err)) < 0) {
        tg_diag_add(diag, "tracegate: %s: expected name=value pairs separated by commas, "
                          "values percent-encoded, at most %d (got \"%.80s\")",
                    name, HEADERS_MAX, v);
        tg_strlist_set(&list, NULL, 0, false);
        return;
    }
    tg_strlist_set(&e->headers, NULL, 0, false);
    e->headers = list;
}

static void env_file(char **slot, const char *generic, const char *traces, struct tg_diag *diag)
{
    const char *name;
    const char *v = env2(generic, traces, &name);
    if (!v)
        return;
    if (access(v, R_OK) != 0) {
        tg_diag_add(diag, "tracegate: %s: cannot read \"%s\": %s", name, v, strerror(errno));
        return;
    }
    set_str(slot, v);
}

void tg_export_env(struct tg_export_conf *e, struct tg_diag *diag)
{
    const char *name;
    const char *v = tg_env("TELEMETRY_BACKEND");
    if (v) {
        if (strcasecmp(v, "jaeger") != 0 && strcasecmp(v, "tempo") != 0)
            tg_diag_add(diag, "tracegate: TELEMETRY_BACKEND: expected jaeger or tempo, got \"%s\"",
                        v);
        else
            set_str(&e->ep_raw[TG_LEVEL_ENV][TG_EP_BACKEND], v);
    }
    if ((v = tg_env("TELEMETRY_COLLECTOR_URL")))
        set_str(&e->ep_raw[TG_LEVEL_ENV][TG_EP_COLLECTOR_URL], v);
    if ((v = tg_env("OTEL_EXPORTER_OTLP_ENDPOINT")))
        set_str(&e->ep_raw[TG_LEVEL_ENV][TG_EP_ENDPOINT], v);
    if ((v = tg_env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")))
        set_str(&e->ep_raw[TG_LEVEL_ENV][TG_EP_TRACES_ENDPOINT], v);

    if ((v = env2("OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", &name))) {
        if (protocol_parse(v, &e->protocol) < 0)
            tg_diag_add(diag, "tracegate: %s: expected http/protobuf, http/json or grpc, got \"%s\"",
                        name, v);
        else
            e->protocol_level = TG_LEVEL_ENV;
    }
    if ((v = env2("OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", &name)))
        env_headers(e, name, v, diag);
    if ((v = env2("OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
                  &name))) {
        if (strcmp(v, "gzip") != 0 && strcmp(v, "none") != 0)
            tg_diag_add(diag, "tracegate: %s: expected gzip or none, got \"%s\"", name, v);
        else
            e->gzip = v[0] == 'g';
    }
    if (env2("OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", &name))
        tg_env_int(name, 1, 3600000, &e->timeout_ms, diag);
    if (env2("OTEL_EXPORTER_OTLP_INSECURE", "OTEL_EXPORTER_OTLP_TRACES_INSECURE", &name))
        tg_env_bool(name, false, &e->insecure, diag);
    env_file(&e->certificate, "OTEL_EXPORTER_OTLP_CERTIFICATE",
             "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", diag);
    env_file(&e->client_key, "OTEL_EXPORTER_OTLP_CLIENT_KEY",
             "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", diag);
    env_file(&e->client_certificate, "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
             "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", diag);

    if ((v = tg_env("OTEL_RESOURCE_ATTRIBUTES"))) {
        /* Checked here so a bad list is a startup error; applied in order
         * by whoever builds the resource. */
        struct tg_otlp_resource r;
        char err[160];
        if (tg_otlp_resource_init(&r, "", "") == 0) {
            if (tg_otlp_resource_parse(&r, v, err, sizeof(err)) < 0) {
                tg_diag_add(diag, "tracegate: OTEL_RESOURCE_ATTRIBUTES: %s", err);
            } else {
                for (size_t i = 0; i < r.count; i++) {
                    tg_strlist_add(&e->resource, r.attrs[i].key);
                    tg_strlist_add(&e->resource, r.attrs[i].v.s.p);
                }
            }
            tg_otlp_resource_fini(&r);
        }
    }
}

void tg_export_flags(struct tg_export_conf *e, const struct tg_cli *cli, struct tg_diag *diag)
{
    if (cli->otlp_endpoint)
        set_str(&e->ep_raw[TG_LEVEL_FLAG][TG_EP_COLLECTOR_URL], cli->otlp_endpoint);
    if (cli->otlp_protocol) {
        if (protocol_parse(cli->otlp_protocol, &e->protocol) < 0)
            tg_diag_add(diag, "tracegate: --otlp-protocol: expected http/protobuf, http/json or "
                              "grpc, got \"%s\"", cli->otlp_protocol);
        else
            e->protocol_level = TG_LEVEL_FLAG;
    }
}

/* --- the endpoint -------------------------------------------------------- */

/* Check a URL's scheme and host; *has_path says whether it has more than
 * "/". Returns false (with a message) for anything else. */
static bool url_check(const char *url, const char *name, bool *has_path, struct tg_diag *diag)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *path = NULL;
    bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
              (strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0) &&
              strncasecmp(url, scheme, strlen(scheme)) == 0;
    if (ok && curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK)
        *has_path = path[0] != '\0' && strcmp(path, "/") != 0;
    if (!ok)
        tg_diag_add(diag, "tracegate: %s: \"%s\" is not an http:// or https:// URL", name, url);
    curl_free(scheme);
    curl_free(host);
    curl_free(path);
    curl_url_cleanup(u);
    return ok;
}

static char *join(const char *base, const char *suffix)
{
    size_t n = strlen(base);
    bool slash = n > 0 && base[n - 1] == '/';
    size_t len = n + 1 + strlen(suffix) + 1;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s%s%s", base, slash ? "" : "/", suffix);
    return s;
}

void tg_export_finish(struct tg_export_conf *e, struct tg_diag *diag)
{
    bool grpc = e->protocol == TG_OTLP_GRPC;
    int level = -1, kind = -1;
    for (int l = TG_LEVELS - 1; l >= 0 && level < 0; l--)
        for (int k = TG_EP_KINDS - 1; k >= 0; k--)
            if (e->ep_raw[l][k]) {
                level = l;
                kind = k;
                break;
            }
    free(e->endpoint);
    e->endpoint = NULL;
    if (level < 0) {
        e->endpoint_from = "default";
        e->endpoint = strdup(grpc ? "http://localhost:4317" : "http://localhost:4318/v1/traces");
        return;
    }
    const char *raw = e->ep_raw[level][kind];
    const char *name = ep_names[level][kind];
    e->endpoint_from = name;
    if (kind == TG_EP_BACKEND) {
        bool tempo = strcasecmp(raw, "tempo") == 0;
        if (strcasecmp(raw, "jaeger") != 0 && !tempo) {
            tg_diag_add(diag, "tracegate: %s: expected jaeger or tempo, got \"%s\"", name, raw);
            return;
        }
        e->endpoint = strdup(grpc ? "http://localhost:4317"
                             : tempo ? "http://localhost:4319/v1/traces"
                                     : "http://localhost:4318/v1/traces");
        return;
    }
    /* gRPC takes scheme://host:port; without a scheme, the insecure
     * setting picks plaintext or TLS (specification). */
    if (grpc && !strstr(raw, "://")) {
        size_t n = strlen(raw) + sizeof("https://");
        char *u = malloc(n);
        if (u)
            snprintf(u, n, "%s%s", e->insecure ? "http://" : "https://", raw);
        e->endpoint = u;
    } else {
        e->endpoint = strdup(raw);
    }
    bool has_path = false;
    if (!e->endpoint || !url_check(e->endpoint, name, &has_path, diag))
        return;
    if (grpc || kind == TG_EP_TRACES_ENDPOINT)
        return;
    if (kind == TG_EP_ENDPOINT || !has_path) {
        char *u = join(e->endpoint, "v1/traces");
        free(e->endpoint);
        e->endpoint = u;
    }
}
