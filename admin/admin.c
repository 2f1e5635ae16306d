/*
 * The admin router: which endpoint a request names, whether its method
 * fits, whether the caller may use it, then the endpoint.
 */
#include "admin.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define TOKEN_HOWTO \
    "set TELEMETRY_ADMIN_TOKEN (at least 16 characters) and restart, or name a file " \
    "holding it in the config file's \"admin\": {\"token_file\": ...} and reload (SIGHUP)"

enum access { OPEN, READ, WRITE };

typedef void endpoint_fn(struct tg_admin *a, const struct tg_admin_request *rq,
                         struct tg_admin_reply *r);

static endpoint_fn index_get, healthz, readyz, metrics_get, tracez_get;

/* One method of one endpoint. */
struct method {
    const char *name;
    enum access access;
    endpoint_fn *fn;
};

static const struct endpoint {
    const char *path;       /* under /admin on the main listener */
    const char *allow;      /* the Allow header of a 405 */
    struct method methods[3];
} endpoints[] = {
    {"/", "GET, HEAD", {{"GET", OPEN, index_get}}},
    {"/healthz", "GET, HEAD", {{"GET", OPEN, healthz}}},
    {"/readyz", "GET, HEAD", {{"GET", OPEN, readyz}}},
    {"/telemetry", "GET, HEAD, POST, DELETE",
     {{"GET", READ, tg_admin_telemetry_get},
      {"POST", WRITE, tg_admin_telemetry_post},
      {"DELETE", WRITE, tg_admin_telemetry_delete}}},
    {"/telemetry/test", "POST", {{"POST", WRITE, tg_admin_telemetry_test}}},
    {"/metrics", "GET, HEAD", {{"GET", READ, metrics_get}}},
    {"/debug/tracez", "GET, HEAD", {{"GET", READ, tracez_get}}},
};

#define NENDPOINTS (sizeof(endpoints) / sizeof(endpoints[0]))

/* ---- replies -------------------------------------------------------------- */

static void reply_init(struct tg_admin_reply *r)
{
    memset(r, 0, sizeof(*r));
    tg_bytes_init(&r->body, TG_ADMIN_REPLY_MAX);
}

void tg_admin_reply_fini(struct tg_admin_reply *r)
{
    tg_bytes_free(&r->body);
}

static void set_body(struct tg_admin_reply *r, int status, const char *type,
                     const char *text, size_t len)
{
    r->status = status;
    r->content_type = type;
    r->body.len = 0;
    if (tg_bytes_append(&r->body, text, len) < 0) {
        r->status = 500;
        r->body.len = 0;
    }
}

void tg_admin_reply_text(struct tg_admin_reply *r, int status, const char *text)
{
    set_body(r, status, "text/plain; charset=utf-8", text, strlen(text));
}

void tg_admin_reply_json(struct tg_admin_reply *r, int status, json_t *o)
{
    char *s = o != NULL ? json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(o);
    if (s == NULL) {
        tg_admin_reply_text(r, 500, "tracegate: out of memory\n");
        return;
    }
    size_t len = strlen(s);
    s[len] = '\n';
    set_body(r, status, "application/json", s, len + 1);
    free(s);
}

void tg_admin_reply_error(struct tg_admin_reply *r, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *o = json_object();
    json_object_set_new(o, "error", json_string(msg));
    json_object_set_new(o, "status", json_integer(status));
    tg_admin_reply_json(r, status, o);
}

void tg_admin_reply_header(struct tg_admin_reply *r, const char *name, const char *fmt, ...)
{
    if (r->header_count >= TG_ADMIN_HEADERS_MAX) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->headers[r->header_count].value, sizeof(r->headers[0].value), fmt, ap);
    va_end(ap);
    r->headers[r->header_count++].name = name;
}

/* ---- small endpoints ------------------------------------------------------ */

static void index_get(struct tg_admin *a, const struct tg_admin_request *rq,
                      struct tg_admin_reply *r)
{
    json_t *list = json_array();
    for (size_t i = 0; i < NENDPOINTS; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/admin%s", endpoints[i].path);
        json_t *e = json_object();
        json_object_set_new(e, "path", json_string(path));
        json_object_set_new(e, "methods", json_string(endpoints[i].allow));
        json_array_append_new(list, e);
    }
    json_t *o = json_object();
    json_object_set_new(o, "endpoints", list);
    tg_admin_reply_json(r, 200, o);
}

static void healthz(struct tg_admin *a, const struct tg_admin_request *rq,
                    struct tg_admin_reply *r)
{
    tg_admin_reply_text(r, 200, "ok\n");
}

static void readyz(struct tg_admin *a, const struct tg_admin_request *rq,
                   struct tg_admin_reply *r)
{
    char why[256] = "no readiness check";
    if (a->hooks.ready != NULL && a->hooks.ready(a->hooks.arg, why, sizeof(why))) {
        tg_admin_reply_text(r, 200, "ready\n");
        return;
    }
    char msg[300];
    snprintf(msg, sizeof(msg), "not ready: %s\n", why);
    tg_admin_reply_text(r, 503, msg);
}

static void metrics_get(struct tg_admin *a, const struct tg_admin_request *rq,
                        struct tg_admin_reply *r)
{
    if (a->hooks.metrics == NULL) {
        tg_admin_reply_error(r, 501, "metrics are not available in this build");
        return;
    }
    r->body.len = 0;
    if (a->hooks.metrics(a->hooks.arg, &r->body) < 0) {
        tg_admin_reply_error(r, 500, "cannot render the metrics");
        return;
    }
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

static bool query_has(const char *query, const char *param)
{
    size_t n = strlen(param);
    for (const char *q = query; q != NULL && *q != '\0';) {
        if (strncmp(q, param, n) == 0 && (q[n] == '&' || q[n] == '\0')) {
            return true;
        }
        q = strchr(q, '&');
        q = q != NULL ? q + 1 : NULL;
    }
    return false;
}

static void tracez_get(struct tg_admin *a, const struct tg_admin_request *rq,
                       struct tg_admin_reply *r)
{
    if (a->hooks.tracez == NULL) {
        tg_admin_reply_error(r, 501, "the trace view is not available in this build");
        return;
    }
    bool json = query_has(rq->query, "format=json");
    r->body.len = 0;
    if (a->hooks.tracez(a->hooks.arg, !json, rq->query, &r->body) < 0) {
        tg_admin_reply_error(r, 500, "cannot render the trace view");
        return;
    }
    r->status = 200;
    r->content_type = json ? "application/json" : "text/html; charset=utf-8";
}

/* ---- routing and access --------------------------------------------------- */

/* The endpoint path: "/admin/x" is "/x" everywhere; other paths only
 * exist on a listener of its own (the main listener sends only /admin). */
static const char *endpoint_path(const char *path)
{
    if (strncmp(path, "/admin", 6) == 0 && (path[6] == '/' || path[6] == '\0')) {
        return path[6] == '\0' ? "/" : path + 6;
    }
    return path;
}

static bool may_read(const struct tg_admin *a, const struct tg_admin_request *rq)
{
    switch (a->reads) {
    case TG_READS_OPEN:
        return true;
    case TG_READS_LOOPBACK:
        return rq->loopback;
    default:
        return false;
    }
}

/* true when the request may go on; otherwise r holds the refusal. */
static bool authorize(struct tg_admin *a, const struct tg_admin_request *rq,
                      enum access access, struct tg_admin_reply *r)
{
    if (access == OPEN) {
        return true;
    }
    pthread_mutex_lock(&a->mu);
    bool open_read = access == READ && may_read(a, rq);
    pthread_mutex_unlock(&a->mu);
    if (open_read) {
        return true;
    }
    int retry = 0;
    enum tg_auth_result res = tg_auth_check(a->auth, rq->client, rq->authorization, &retry);
    switch (res) {
    case TG_AUTH_OK:
        return true;
    case TG_AUTH_NO_TOKEN_CONFIGURED:
        tg_admin_reply_error(r, 403, "the admin token is not configured, so %s is refused: %s",
                             access == WRITE ? "changing telemetry" : "reading this endpoint here",
                             TOKEN_HOWTO);
        return false;
    case TG_AUTH_BLOCKED:
        tg_admin_reply_header(r, "Retry-After", "%d", retry);
        tg_admin_reply_error(r, 429, "too many failed attempts from %s; retry in %d s",
                             rq->client, retry);
        return false;
    case TG_AUTH_MISSING:
        tg_admin_reply_header(r, "WWW-Authenticate", "Bearer realm=\"tracegate-admin\"");
        tg_admin_reply_error(r, 401, "this endpoint needs the admin token: send Authorization: Bearer <token>");
        return false;
    case TG_AUTH_WRONG_SCHEME:
        tg_admin_reply_header(r, "WWW-Authenticate",
                              "Bearer realm=\"tracegate-admin\", error=\"invalid_request\"");
        tg_admin_reply_error(r, 401, "only the Bearer scheme is accepted: send Authorization: Bearer <token>");
        return false;
    case TG_AUTH_WRONG_TOKEN:
    default:
        tg_admin_reply_header(r, "WWW-Authenticate",
                              "Bearer realm=\"tracegate-admin\", error=\"invalid_token\"");
        tg_admin_reply_error(r, 401, "the admin token is not valid");
        return false;
    }
}

void tg_admin_handle(struct tg_admin *a, const struct tg_admin_request *rq,
                     struct tg_admin_reply *r)
{
    reply_init(r);
    const char *path = endpoint_path(rq->path);
    const struct endpoint *ep = NULL;
    for (size_t i = 0; i < NENDPOINTS; i++) {
        if (strcmp(endpoints[i].path, path) == 0) {
            ep = &endpoints[i];
            break;
        }
    }
    if (ep == NULL) {
        tg_admin_reply_error(r, 404, "no admin endpoint at %.200s (GET /admin/ lists them)",
                             rq->path);
        return;
    }
    const char *method = strcmp(rq->method, "HEAD") == 0 ? "GET" : rq->method;
    const struct method *m = NULL;
    for (size_t i = 0; i < 3 && ep->methods[i].name != NULL; i++) {
        if (strcmp(ep->methods[i].name, method) == 0) {
            m = &ep->methods[i];
        }
    }
    if (m == NULL) {
        tg_admin_reply_header(r, "Allow", "%s", ep->allow);
        tg_admin_reply_error(r, 405, "%.200s takes %s, not %.32s", rq->path, ep->allow,
                             rq->method);
        return;
    }
    if (!authorize(a, rq, m->access, r)) {
        return;
    }
    if (rq->body_too_large) {
        tg_admin_reply_error(r, 413, "the request body is larger than %d bytes",
                             TG_ADMIN_BODY_MAX);
        return;
    }
    m->fn(a, rq, r);
}

/* ---- lifetime ------------------------------------------------------------- */

int tg_admin_create(const struct tg_admin_conf *conf, struct tg_control *control,
                    const struct tg_admin_hooks *hooks, struct tg_admin **out,
                    char *err, size_t err_len)
{
    struct tg_admin *a = calloc(1, sizeof(*a));
    int r;

    if (a == NULL) {
        snprintf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    pthread_mutex_init(&a->mu, NULL);
    a->control = control;
    if (hooks != NULL) {
        a->hooks = *hooks;
    }
    a->reads = conf->reads;
    r = tg_auth_create(conf->token, &a->auth);
    if (r < 0) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    r = tg_audit_open(conf->audit_log, &a->audit);
    if (r < 0) {
        snprintf(err, err_len, "cannot open the audit log %s: %s", conf->audit_log,
                 strerror(-r));
        goto fail;
    }
    *out = a;
    return 0;

fail:
    tg_admin_destroy(a);
    return r;
}

void tg_admin_destroy(struct tg_admin *a)
{
    if (a == NULL) {
        return;
    }
    tg_auth_destroy(a->auth);
    tg_audit_close(a->audit);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

int tg_admin_reconfigure(struct tg_admin *a, const struct tg_admin_conf *conf)
{
    int r = tg_auth_set_token(a->auth, conf->token);
    if (r < 0) {
        return r;
    }
    pthread_mutex_lock(&a->mu);
    a->reads = conf->reads;
    pthread_mutex_unlock(&a->mu);
    return 0;
}

void tg_admin_audit(struct tg_admin *a, const char *action, json_t *before, json_t *after)
{
    tg_audit_write(a->audit, "/admin/telemetry", NULL, action, before, after, NULL);
}
