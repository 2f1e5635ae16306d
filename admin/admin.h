/*
 * The operator surface: /admin/telemetry, /metrics, /healthz, /readyz,
 * /debug/tracez, served by tracegate's own admin HTTP server (admin/http.c).
 *
 * Where it is reached: with admin.listen set, on that listener, at the
 * paths above and also under /admin (/admin/metrics...); without it, on a
 * private unix socket that the main listener forwards /admin to, so there
 * only the /admin/... forms exist and the application keeps every other
 * path.
 *
 * Who may use it: writes need the Bearer token, always (none configured:
 * they refuse, saying how to set one). Reads (GET telemetry, metrics,
 * tracez) follow admin.reads: by default open when the listener the
 * request came in on is bound to loopback. /healthz and /readyz are open.
 *
 * What the gateway supplies it is in struct tg_admin_hooks; the admin code
 * never reaches into workers. Thread safety: tg_admin_handle may run on
 * any number of threads at once.
 */
#ifndef TG_ADMIN_H
#define TG_ADMIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "bytes.h"
#include "config.h"
#include "control.h"

/* Request bodies larger than this are refused with 413. */
#define TG_ADMIN_BODY_MAX 4096
/* Answers are built in memory up to this size. */
#define TG_ADMIN_REPLY_MAX (8 * 1024 * 1024)

/* What the gateway provides. Every hook may be NULL (the endpoint then
 * says it is unavailable) and is called on an admin thread. */
struct tg_admin_hooks {
    void *arg;
    /* Exporter and delivery counters, merged into telemetry answers:
     * a new JSON object. */
    json_t *(*telemetry_info)(void *arg);
    /* Ready to take traffic? false with a reason in why. */
    bool (*ready)(void *arg, char *why, size_t why_len);
    /* Export one test span now and wait for the collector's answer: a new
     * JSON object with at least "delivered" (bool) and "message". */
    json_t *(*test_export)(void *arg);
    /* Prometheus text exposition format 0.0.4 appended to out. 0 or -errno. */
    int (*metrics)(void *arg, struct tg_bytes *out);
    /* The trace view: html true for the page, false for JSON; query is the
     * raw query string or NULL. 0 or -errno. */
    int (*tracez)(void *arg, bool html, const char *query, struct tg_bytes *out);
};

/* One request, as the HTTP layer saw it (all borrowed). */
struct tg_admin_request {
    const char *method;
    const char *path;           /* without the query */
    const char *query;          /* after '?', or NULL */
    const char *content_type;   /* NULL when absent */
    const char *authorization;  /* NULL when absent */
    const char *client;         /* the client's address */
    const char *body;
    size_t body_len;
    bool body_too_large;        /* more than TG_ADMIN_BODY_MAX was sent */
    bool loopback;              /* the listener it came in on is loopback */
};

#define TG_ADMIN_HEADERS_MAX 4

struct tg_admin_reply {
    int status;
    const char *content_type;   /* static */
    struct tg_bytes body;
    struct {
        const char *name;       /* static */
        char value[128];
    } headers[TG_ADMIN_HEADERS_MAX];
    int header_count;
};

struct tg_admin;

/*
 * Set up from the configuration (token, reads policy, audit log) around a
 * control the caller owns. Returns 0 or -errno with a message in err.
 */
int tg_admin_create(const struct tg_admin_conf *conf, struct tg_control *control,
                    const struct tg_admin_hooks *hooks, struct tg_admin **out,
                    char *err, size_t err_len);
void tg_admin_destroy(struct tg_admin *a);

/* A reload: new token and reads policy (the audit log and listener stay).
 * 0 or -ENOMEM. */
int tg_admin_reconfigure(struct tg_admin *a, const struct tg_admin_conf *conf);

/* Write an audit line for a change made outside an HTTP request (reload,
 * TTL revert); before/after borrowed. */
void tg_admin_audit(struct tg_admin *a, const char *action, json_t *before, json_t *after);

/* Answer one request. reply is initialised here; free its body with
 * tg_admin_reply_fini. */
void tg_admin_handle(struct tg_admin *a, const struct tg_admin_request *rq,
                     struct tg_admin_reply *reply);
void tg_admin_reply_fini(struct tg_admin_reply *reply);

#endif
