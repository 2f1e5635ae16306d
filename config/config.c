/*
 * Building the configuration snapshot: defaults, then the JSON file, then
 * command-line flags. Keys are described by typed tables, so validation and
 * error messages come from one place.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source.h"

#define CONFIG_FILE_MAX_BYTES (1024 * 1024)
#define ROUTES_MAX 1024

enum kind {
    K_STRING,
    K_INT,
    K_BOOL,
    K_TRI,     /* bool stored as int, -1 until set */
    K_RATE,    /* number in [0, 1] stored as double */
};

/* One configuration key: where it lives in its struct and what it accepts. */
struct field {
    const char *name;
    enum kind kind;
    size_t off;
    int64_t min;
    int64_t max;
};

#define TOP(f) offsetof(struct tg_config, f)
#define RT(f) offsetof(struct tg_route_conf, f)
#define MS_MAX (24LL * 3600 * 1000)

/* Integer fields are stored as int64_t or uint64_t of the same width. */
static const struct field top_fields[] = {
    {"listen", K_STRING, 0, 0, 0},        /* parsed specially */
    {"upstream", K_STRING, 0, 0, 0},      /* becomes route "/" */
    {"routes", K_STRING, 0, 0, 0},        /* array, parsed specially */
    {"workers", K_INT, TOP(workers), 1, 256},
    {"access_log", K_STRING, TOP(access_log), 0, 0},
    {"max_connections", K_INT, TOP(max_connections), 1, 1000000},
    {"max_header_bytes", K_INT, TOP(max_header_bytes), 1024, 1048576},
    {"max_response_header_bytes", K_INT, TOP(max_response_header_bytes), 1024, 1048576},
    {"max_body_bytes", K_INT, TOP(max_body_bytes), 0, INT64_MAX},
    {"client_timeout_ms", K_INT, TOP(client_timeout_ms), 1000, MS_MAX},
    {"client_body_min_rate", K_INT, TOP(client_body_min_rate), 0, 1LL << 30},
    {"connect_timeout_ms", K_INT, TOP(connect_timeout_ms), 1, MS_MAX},
    {"header_timeout_ms", K_INT, TOP(header_timeout_ms), 1, MS_MAX},
    {"idle_timeout_ms", K_INT, TOP(idle_timeout_ms), 1, MS_MAX},
    {"shutdown_timeout_ms", K_INT, TOP(shutdown_timeout_ms), 0, MS_MAX},
    {"upstream_keepalive", K_INT, TOP(upstream_keepalive), 0, 100000},
    {"tracing", K_STRING, 0, 0, 0},       /* object, config/tracing.c */
    {"admin", K_STRING, 0, 0, 0},         /* object, config/admin.c */
};

static const struct field route_fields[] = {
    {"prefix", K_STRING, RT(prefix), 0, 0},
    {"upstream", K_STRING, RT(upstream), 0, 0},
    {"host", K_STRING, RT(host), 0, 0},
    {"strip_prefix", K_BOOL, RT(strip_prefix), 0, 0},
    {"max_body_bytes", K_INT, RT(max_body_bytes), 0, INT64_MAX},
    {"connect_timeout_ms", K_INT, RT(connect_timeout_ms), 1, MS_MAX},
    {"header_timeout_ms", K_INT, RT(header_timeout_ms), 1, MS_MAX},
    {"idle_timeout_ms", K_INT, RT(idle_timeout_ms), 1, MS_MAX},
    {"http_route", K_STRING, RT(http_route), 0, 0},
    {"trust", K_STRING, RT(trust_name), 0, 0},
    {"traceresponse", K_TRI, RT(traceresponse), 0, 0},
    {"sample_rate", K_RATE, RT(sample_rate), 0, 0},
};

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

void tg_cfg_error(const struct tg_cfg_src *src, const struct tg_json_step *steps,
                  size_t depth, bool at_key, const char *fmt, ...)
{
    char msg[TG_DIAG_LINE];
    int line, col;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tg_json_locate(src->text, src->len, steps, depth, at_key, &line, &col);
    tg_diag_add(src->diag, "%s:%d:%d: %s", src->path, line, col, msg);
}

/* --- parsing of individual values ---------------------------------------- */

int tg_listen_parse(const char *s, char **host, uint16_t *port)
{
    const char *colon;
    const char *h;
    size_t hlen;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':') {
            return -EINVAL;
        }
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL) {
            return -EINVAL;
        }
        h = s;
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen > 255) {
        return -EINVAL;
    }
    const char *p = colon + 1;
    if (*p == '\0' || strlen(p) > 5) {
        return -EINVAL;
    }
    long v = 0;
    for (; *p != '\0'; p++) {
        if (!isdigit((unsigned char)*p)) {
            return -EINVAL;
        }
        v = v * 10 + (*p - '0');
    }
    if (v > 65535) {
        return -EINVAL;
    }
    char *copy = strndup(h, hlen);
    if (copy == NULL) {
        return -ENOMEM;
    }
    free(*host);
    *host = copy;
    *port = (uint16_t)v;
    return 0;
}

static bool valid_host_char(char c)
{
    return isalnum((unsigned char)c) || strchr("-._~%!$&'()*+,;=", c) != NULL;
}

/*
 * Split an upstream URL into the parts forwarding needs. Accepts
 * http:// and https:// with a host (name, IPv4 or [IPv6]), an optional
 * port and an optional path; no user info, query or fragment.
 */
static int parse_upstream(struct tg_route_conf *r)
{
    const char *u = r->upstream;
    const char *p;

    if (strncmp(u, "http://", 7) == 0) {
        p = u + 7;
    } else if (strncmp(u, "https://", 8) == 0) {
        p = u + 8;
    } else {
        return -EINVAL;
    }
    const char *auth = p;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (close == NULL || close == p + 1) {
            return -EINVAL;
        }
        for (const char *q = p + 1; q < close; q++) {
            if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.') {
                return -EINVAL;
            }
        }
        p = close + 1;
    } else {
        const char *start = p;
        while (*p != '\0' && valid_host_char(*p)) {
            p++;
        }
        if (p == start) {
            return -EINVAL;
        }
    }
    if (*p == ':') {
        const char *digits = ++p;
        long port = 0;
        while (isdigit((unsigned char)*p) && p - digits < 6) {
            port = port * 10 + (*p - '0');
            p++;
        }
        if (p == digits || port < 1 || port > 65535) {
            return -EINVAL;
        }
    }
    const char *auth_end = p;
    if (*p != '\0' && *p != '/') {
        return -EINVAL;
    }
    for (const char *q = p; *q != '\0'; q++) {
        unsigned char c = (unsigned char)*q;
        if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#') {
            return -EINVAL;
        }
    }
    size_t len = strlen(u);
    while (len > (size_t)(auth_end - u) && u[len - 1] == '/') {
        len--;
    }
    r->upstream_base = strndup(u, len);
    r->upstream_authority = strndup(auth, (size_t)(auth_end - auth));
    if (r->upstream_base == NULL || r->upstream_authority == NULL) {
        return -ENOMEM;
    }
    return 0;
}

static bool valid_prefix(const char *p)
{
    if (p[0] != '/') {
        return false;
    }
    for (; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#') {
            return false;
        }
    }
    return true;
}

/* --- the JSON file ------------------------------------------------------- */

static const struct field *find_field(const struct field *t, size_t n,
                                      const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(t[i].name, key) == 0) {
            return &t[i];
        }
    }
    return NULL;
}

/* Store one scalar value described by f into base. Reports and returns
 * false on a type or range error. */
static bool store_field(const struct tg_cfg_src *src, const struct tg_json_step *steps,
                        size_t depth, const struct field *f, json_t *v, void *base)
{
    char *dst = (char *)base + f->off;

    switch (f->kind) {
    case K_STRING: {
        if (!json_is_string(v)) {
            tg_cfg_error(src, steps, depth, false, "\"%s\" must be a string", f->name);
            return false;
        }
        const char *s = json_string_value(v);
        if (strlen(s) != json_string_length(v) || s[0] == '\0') {
            tg_cfg_error(src, steps, depth, false,
                       "\"%s\" must be a non-empty string without NUL bytes", f->name);
            return false;
        }
        char **slot = (char **)(void *)dst;
        free(*slot);
        *slot = strdup(s);
        return *slot != NULL;
    }
    case K_BOOL:
    case K_TRI:
        if (!json_is_boolean(v)) {
            tg_cfg_error(src, steps, depth, false, "\"%s\" must be true or false", f->name);
            return false;
        }
        if (f->kind == K_TRI) {
            *(int *)(void *)dst = json_is_true(v);
        } else {
            *(bool *)(void *)dst = json_is_true(v);
        }
        return true;
    case K_RATE:
        if (!json_is_number(v) || json_number_value(v) < 0.0 || json_number_value(v) > 1.0) {
            tg_cfg_error(src, steps, depth, false,
                         "\"%s\" must be a number between 0 and 1", f->name);
            return false;
        }
        *(double *)(void *)dst = json_number_value(v);
        return true;
    case K_INT: {
        if (!json_is_integer(v)) {
            tg_cfg_error(src, steps, depth, false, "\"%s\" must be an integer", f->name);
            return false;
        }
        json_int_t i = json_integer_value(v);
        if (i < f->min || i > f->max) {
            tg_cfg_error(src, steps, depth, false,
                       "\"%s\" must be between %lld and %lld, got %lld", f->name,
                       (long long)f->min, (long long)f->max, (long long)i);
            return false;
        }
        if (strcmp(f->name, "workers") == 0) {
            *(int *)(void *)dst = (int)i;
        } else {
            *(int64_t *)(void *)dst = (int64_t)i;
        }
        return true;
    }
    }
    return false;
}

/* Route integer fields start at -1: "inherit the top-level value". */
static void route_defaults(struct tg_route_conf *r)
{
    memset(r, 0, sizeof(*r));
    r->max_body_bytes = UINT64_MAX;
    r->connect_timeout_ms = -1;
    r->header_timeout_ms = -1;
    r->idle_timeout_ms = -1;
    r->traceresponse = -1;
    r->sample_rate = -1.0;
}

static int add_route(struct tg_config *cfg, struct tg_route_conf **out)
{
    if (cfg->route_count >= ROUTES_MAX) {
        return -E2BIG;
    }
    struct tg_route_conf *n = realloc(cfg->routes, (cfg->route_count + 1) * sizeof(*n));
    if (n == NULL) {
        return -ENOMEM;
    }
    cfg->routes = n;
    *out = &n[cfg->route_count++];
    route_defaults(*out);
    return 0;
}

static void free_route(struct tg_route_conf *r)
{
    free(r->prefix);
    free(r->upstream);
    free(r->upstream_base);
    free(r->upstream_authority);
    free(r->host);
    free(r->http_route);
    free(r->trust_name);
    free(r->unix_socket);
}

static struct tg_route_conf *route_by_prefix(struct tg_config *cfg, const char *prefix)
{
    for (size_t i = 0; i < cfg->route_count; i++) {
        if (cfg->routes[i].prefix != NULL && strcmp(cfg->routes[i].prefix, prefix) == 0) {
            return &cfg->routes[i];
        }
    }
    return NULL;
}

/* Check what only makes sense once a route is complete. */
static void finish_route(struct tg_route_conf *r, const struct tg_cfg_src *src,
                         struct tg_json_step *steps, size_t depth,
                         struct tg_diag *diag)
{
    if (r->prefix == NULL) {
        tg_cfg_error(src, steps, depth, false, "route needs \"prefix\"");
    } else if (!valid_prefix(r->prefix)) {
        steps[depth] = (struct tg_json_step){.key = "prefix"};
        tg_cfg_error(src, steps, depth + 1, false,
                   "\"prefix\" must start with \"/\" and contain no spaces, controls, '?' or '#'");
    }
    if (r->upstream == NULL) {
        tg_cfg_error(src, steps, depth, false, "route needs \"upstream\"");
    } else if (parse_upstream(r) < 0) {
        steps[depth] = (struct tg_json_step){.key = "upstream"};
        tg_cfg_error(src, steps, depth + 1, false,
                   "\"upstream\" must be an http:// or https:// URL with a host and no query: \"%s\"",
                   r->upstream);
    }
    if (r->host != NULL) {
        if (strcmp(r->host, "client") == 0) {
            r->host_mode = TG_HOST_CLIENT;
        } else if (strcmp(r->host, "upstream") == 0) {
            r->host_mode = TG_HOST_UPSTREAM;
        } else {
            bool ok = true;
            for (const char *p = r->host; *p != '\0'; p++) {
                ok = ok && (valid_host_char(*p) || *p == ':' || *p == '[' || *p == ']');
            }
            if (!ok) {
                steps[depth] = (struct tg_json_step){.key = "host"};
                tg_cfg_error(src, steps, depth + 1, false,
                           "\"host\" must be \"client\", \"upstream\" or a host name");
            }
            r->host_mode = TG_HOST_LITERAL;
        }
    }
    if (r->trust_name != NULL && tg_trust_parse(r->trust_name, &r->trust) < 0) {
        steps[depth] = (struct tg_json_step){.key = "trust"};
        tg_cfg_error(src, steps, depth + 1, false,
                     "\"trust\" must be \"continue\", \"ids-only\" or \"restart\"");
    }
    if (r->http_route != NULL && r->http_route[0] != '/') {
        steps[depth] = (struct tg_json_step){.key = "http_route"};
        tg_cfg_error(src, steps, depth + 1, false, "\"http_route\" must start with \"/\"");
    }
    (void)diag;
}

static void load_routes(struct tg_config *cfg, const struct tg_cfg_src *src, json_t *arr)
{
    struct tg_json_step steps[4] = {{.key = "routes"}};

    if (!json_is_array(arr)) {
        tg_cfg_error(src, steps, 1, false, "\"routes\" must be an array of route objects");
        return;
    }
    size_t i;
    json_t *obj;
    json_array_foreach(arr, i, obj) {
        steps[1] = (struct tg_json_step){.key = NULL, .index = i};
        if (!json_is_object(obj)) {
            tg_cfg_error(src, steps, 2, false, "each route must be an object");
            continue;
        }
        struct tg_route_conf *r;
        if (add_route(cfg, &r) < 0) {
            tg_cfg_error(src, steps, 2, false, "too many routes (at most %d)", ROUTES_MAX);
            return;
        }
        const char *key;
        json_t *v;
        json_object_foreach(obj, key, v) {
            steps[2] = (struct tg_json_step){.key = key};
            const struct field *f = find_field(route_fields, NFIELDS(route_fields), key);
            if (f == NULL) {
                tg_cfg_error(src, steps, 3, true, "unknown key \"%s\" in route", key);
                continue;
            }
            store_field(src, steps, 3, f, v, r);
        }
        finish_route(r, src, steps, 2, src->diag);
        if (r->prefix != NULL) {
            for (size_t j = 0; j + 1 < cfg->route_count; j++) {
                if (cfg->routes[j].prefix != NULL &&
                    strcmp(cfg->routes[j].prefix, r->prefix) == 0) {
                    steps[2] = (struct tg_json_step){.key = "prefix"};
                    tg_cfg_error(src, steps, 3, false, "duplicate route prefix \"%s\"", r->prefix);
                    break;
                }
            }
        }
    }
}

static int read_file(const char *path, char **text, size_t *len, struct tg_diag *diag)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        tg_diag_add(diag, "%s: cannot open: %s", path, strerror(errno));
        return -errno;
    }
    char *buf = malloc(CONFIG_FILE_MAX_BYTES + 1);
    if (buf == NULL) {
        fclose(f);
        return -ENOMEM;
    }
    size_t n = fread(buf, 1, CONFIG_FILE_MAX_BYTES + 1, f);
    int err = ferror(f);
    fclose(f);
    if (err) {
        tg_diag_add(diag, "%s: read error", path);
        free(buf);
        return -EIO;
    }
    if (n > CONFIG_FILE_MAX_BYTES) {
        tg_diag_add(diag, "%s: larger than %d bytes", path, CONFIG_FILE_MAX_BYTES);
        free(buf);
        return -EFBIG;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

static void load_file(struct tg_config *cfg, const char *path, struct tg_diag *diag)
{
    char *text = NULL;
    size_t len = 0;
    json_error_t jerr;

    if (read_file(path, &text, &len, diag) < 0) {
        return;
    }
    struct tg_cfg_src src = {.path = path, .text = text, .len = len, .diag = diag};
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        tg_diag_add(diag, "%s:%d:%d: %s", path, jerr.line < 1 ? 1 : jerr.line,
                    jerr.column < 1 ? 1 : jerr.column, jerr.text);
        free(text);
        return;
    }
    if (!json_is_object(root)) {
        tg_cfg_error(&src, NULL, 0, false, "the configuration must be a JSON object");
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        struct tg_json_step step = {.key = key};
        const struct field *f = find_field(top_fields, NFIELDS(top_fields), key);
        if (f == NULL) {
            tg_cfg_error(&src, &step, 1, true, "unknown key \"%s\"", key);
        } else if (strcmp(key, "routes") == 0) {
            load_routes(cfg, &src, v);
        } else if (strcmp(key, "tracing") == 0) {
            tg_tracing_load(&cfg->tracing, &src, v);
        } else if (strcmp(key, "admin") == 0) {
            tg_admin_load(&cfg->admin, &src, v);
        } else if (strcmp(key, "listen") == 0) {
            if (!json_is_string(v) ||
                tg_listen_parse(json_string_value(v), &cfg->listen_host, &cfg->listen_port) < 0) {
                tg_cfg_error(&src, &step, 1, false,
                           "\"listen\" must be a string HOST:PORT, e.g. \"127.0.0.1:8080\" or \"[::1]:8080\"");
            }
        } else if (strcmp(key, "upstream") == 0) {
            if (!json_is_string(v)) {
                tg_cfg_error(&src, &step, 1, false, "\"upstream\" must be a string");
                continue;
            }
            struct tg_route_conf *r = route_by_prefix(cfg, "/");
            if (r == NULL && add_route(cfg, &r) < 0) {
                continue;
            }
            free(r->upstream);
            free(r->prefix);
            r->prefix = strdup("/");
            r->upstream = strdup(json_string_value(v));
            if (r->prefix == NULL || r->upstream == NULL || parse_upstream(r) < 0) {
                tg_cfg_error(&src, &step, 1, false,
                           "\"upstream\" must be an http:// or https:// URL with a host and no query: \"%s\"",
                           json_string_value(v));
            }
        } else {
            store_field(&src, &step, 1, f, v, cfg);
        }
    }
    /* A route in "routes" may also say "/": that and "upstream" clash. */
    size_t roots = 0;
    for (size_t i = 0; i < cfg->route_count; i++) {
        roots += cfg->routes[i].prefix != NULL && strcmp(cfg->routes[i].prefix, "/") == 0;
    }
    if (roots > 1) {
        struct tg_json_step step = {.key = "upstream"};
        tg_cfg_error(&src, &step, 1, true,
                   "\"upstream\" and a route with prefix \"/\" both set the default route");
    }
out:
    json_decref(root);
    free(text);
}

/* --- flags and final checks ---------------------------------------------- */

static void set_defaults(struct tg_config *cfg)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    cfg->listen_host = strdup("127.0.0.1");
    cfg->listen_port = 8080;
    cfg->workers = cpus < 1 ? 1 : cpus > 64 ? 64 : (int)cpus;
    cfg->access_log = strdup("-");
    cfg->max_connections = 10000;
    cfg->max_header_bytes = 8192;
    /* nginx's default proxy_buffer_size on x86-64; every connection's
     * memory pool holds this, so it is kept small by default. */
    cfg->max_response_header_bytes = 4096;
    cfg->max_body_bytes = 0;
    cfg->client_timeout_ms = 60000;
    cfg->client_body_min_rate = 240;
    cfg->connect_timeout_ms = 5000;
    cfg->header_timeout_ms = 60000;
    cfg->idle_timeout_ms = 60000;
    cfg->shutdown_timeout_ms = 30000;
    cfg->upstream_keepalive = 1024;
    tg_tracing_defaults(&cfg->tracing);
    tg_admin_defaults(&cfg->admin);
}

static void flag_route(struct tg_config *cfg, const char *prefix, size_t prefix_len,
                       const char *url, const char *flag, struct tg_diag *diag)
{
    char *p = strndup(prefix, prefix_len);
    if (p == NULL) {
        return;
    }
    if (!valid_prefix(p)) {
        tg_diag_add(diag, "tracegate: %s: prefix \"%s\" must start with \"/\" and contain no spaces, controls, '?' or '#'",
                    flag, p);
        free(p);
        return;
    }
    struct tg_route_conf *r = route_by_prefix(cfg, p);
    if (r == NULL) {
        if (add_route(cfg, &r) < 0) {
            free(p);
            tg_diag_add(diag, "tracegate: %s: too many routes", flag);
            return;
        }
        r->prefix = p;
    } else {
        free(p);
        free(r->upstream);
        free(r->upstream_base);
        free(r->upstream_authority);
        r->upstream_base = r->upstream_authority = NULL;
    }
    r->upstream = strdup(url);
    if (r->upstream == NULL || parse_upstream(r) < 0) {
        tg_diag_add(diag, "tracegate: %s: \"%s\" is not an http:// or https:// URL with a host and no query",
                    flag, url);
    }
}

static void apply_flags(struct tg_config *cfg, const struct tg_cli *cli, struct tg_diag *diag)
{
    tg_export_flags(&cfg->tracing.export, cli, diag);
    tg_admin_finish(&cfg->admin, cli, diag);
    if (cli->listen != NULL &&
        tg_listen_parse(cli->listen, &cfg->listen_host, &cfg->listen_port) < 0) {
        tg_diag_add(diag, "tracegate: --listen: expected HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), got \"%s\"",
                    cli->listen);
    }
    if (cli->workers > 0) {
        cfg->workers = cli->workers;
    }
    if (cli->access_log != NULL) {
        free(cfg->access_log);
        cfg->access_log = strdup(cli->access_log);
    }
    if (cli->upstream != NULL) {
        flag_route(cfg, "/", 1, cli->upstream, "--upstream", diag);
    }
    for (size_t i = 0; i < cli->route_count; i++) {
        const char *arg = cli->route_args[i];
        const char *eq = strchr(arg, '=');
        if (eq == NULL) {
            tg_diag_add(diag, "tracegate: --route: expected PREFIX=URL, got \"%s\"", arg);
            continue;
        }
        flag_route(cfg, arg, (size_t)(eq - arg), eq + 1, "--route", diag);
    }
}

static int by_prefix_len_desc(const void *a, const void *b)
{
    const struct tg_route_conf *ra = a, *rb = b;
    return (ra->prefix_len < rb->prefix_len) - (ra->prefix_len > rb->prefix_len);
}

/* Fill inherited per-route values and order routes for matching. */
static void finalize(struct tg_config *cfg, const char *path, struct tg_diag *diag)
{
    tg_export_finish(&cfg->tracing.export, diag);
    for (size_t i = 0; i < cfg->route_count; i++) {
        struct tg_route_conf *r = &cfg->routes[i];
        r->prefix_len = r->prefix != NULL ? strlen(r->prefix) : 0;
        /* "/api/" and "/api" mean the same segment boundary. */
        while (r->prefix_len > 1 && r->prefix[r->prefix_len - 1] == '/') {
            r->prefix[--r->prefix_len] = '\0';
        }
        if (r->max_body_bytes == UINT64_MAX) {
            r->max_body_bytes = cfg->max_body_bytes;
        }
        if (r->connect_timeout_ms < 0) {
            r->connect_timeout_ms = cfg->connect_timeout_ms;
        }
        if (r->header_timeout_ms < 0) {
            r->header_timeout_ms = cfg->header_timeout_ms;
        }
        if (r->idle_timeout_ms < 0) {
            r->idle_timeout_ms = cfg->idle_timeout_ms;
        }
        tg_tracing_finish_route(&cfg->tracing, r, diag);
    }
    if (cfg->route_count > 1) {
        qsort(cfg->routes, cfg->route_count, sizeof(*cfg->routes), by_prefix_len_desc);
    }
    if (cfg->route_count == 0) {
        if (path != NULL) {
            tg_diag_add(diag, "%s:1:1: no upstream configured: set \"upstream\" or \"routes\" "
                              "(or give --upstream URL / --route PREFIX=URL)", path);
        } else {
            tg_diag_add(diag, "tracegate: no upstream configured: give --upstream URL, "
                              "--route PREFIX=URL or --config FILE");
        }
    }
    if (cfg->max_connections < (uint64_t)cfg->workers) {
        cfg->max_connections = (uint64_t)cfg->workers;
    }
}

int tg_config_build(const struct tg_cli *cli, struct tg_config **out,
                    struct tg_diag *diag)
{
    struct tg_config *cfg = calloc(1, sizeof(*cfg));

    if (cfg == NULL) {
        return -ENOMEM;
    }
    set_defaults(cfg);
    if (cfg->listen_host == NULL || cfg->access_log == NULL || cfg->admin.audit_log == NULL) {
        tg_config_destroy(cfg);
        return -ENOMEM;
    }
    if (cli->config_path != NULL) {
        load_file(cfg, cli->config_path, diag);
    }
    tg_tracing_env(&cfg->tracing, diag);
    apply_flags(cfg, cli, diag);
    if (diag->count == 0) {
        finalize(cfg, cli->config_path, diag);
    }
    if (diag->count > 0) {
        tg_config_destroy(cfg);
        return -EINVAL;
    }
    *out = cfg;
    return 0;
}

int tg_config_mount_internal(struct tg_config *cfg, const char *prefix,
                             const char *unix_socket, uint64_t max_body_bytes)
{
    struct tg_route_conf *r;

    if (route_by_prefix(cfg, prefix) != NULL) {
        return -EEXIST;
    }
    int err = add_route(cfg, &r);
    if (err < 0) {
        return err;
    }
    r->prefix = strdup(prefix);
    r->upstream = strdup("http://tracegate-admin");
    r->unix_socket = strdup(unix_socket);
    r->http_route = strdup(prefix);
    if (r->prefix == NULL || r->upstream == NULL || r->unix_socket == NULL ||
        r->http_route == NULL || parse_upstream(r) < 0) {
        return -ENOMEM; /* freed with the config */
    }
    r->prefix_len = strlen(prefix);
    r->internal = true;
    r->max_body_bytes = max_body_bytes;
    r->connect_timeout_ms = cfg->connect_timeout_ms;
    r->header_timeout_ms = cfg->header_timeout_ms;
    r->idle_timeout_ms = cfg->idle_timeout_ms;
    r->trust = TG_TRUST_CONTINUE;
    r->traceresponse = 0;
    qsort(cfg->routes, cfg->route_count, sizeof(*cfg->routes), by_prefix_len_desc);
    return 0;
}

void tg_config_destroy(struct tg_config *cfg)
{
    if (cfg == NULL) {
        return;
    }
    for (size_t i = 0; i < cfg->route_count; i++) {
        free_route(&cfg->routes[i]);
    }
    free(cfg->routes);
    tg_tracing_free(&cfg->tracing);
    tg_admin_free(&cfg->admin);
    free(cfg->listen_host);
    free(cfg->access_log);
    free(cfg);
}
