#include "operator.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "control.h"
#include "export_otlp.h"
#include "exporter.h"
#include "http.h"
#include "ids.h"
#include "listener.h"
#include "scrape.h"
#include "span.h"
#include "tracez.h"
#include "worker.h"

/* Bound on one test export, whatever the exporter's own timeout. */
#define TEST_EXPORT_MAX_MS 15000
/* How long the trace view waits for the span processor to hand over what
 * is queued (it may be busy with a slow export: then the page shows what
 * it has). */
#define TRACEZ_FLUSH_WAIT_MS 300

struct tg_operator {
    const struct tg_config *cfg;
    struct tg_tracer *tracer;
    struct tg_control *control;
    struct tg_admin *admin;
    struct tg_admin_http *http;
    char *socket_path;            /* the private unix socket, when mounted */
    char where[300];
    _Atomic bool serving;
    int64_t start_unix_ns;
};

/* ---- hooks ------------------------------------------------------------------ */

static json_t *time_json(int64_t unix_ns)
{
    if (unix_ns == 0) {
        return json_null();
    }
    char buf[40];
    time_t s = (time_t)(unix_ns / 1000000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof(buf) - n, ".%03dZ", (int)(unix_ns / 1000000 % 1000));
    return json_string(buf);
}

static const char *exporter_name(enum tg_exporter_kind k)
{
    return k == TG_EXPORTER_OTLP ? "otlp" : k == TG_EXPORTER_CONSOLE ? "console" : "none";
}

static json_t *exporter_json(const struct tg_config *cfg)
{
    const struct tg_tracing_conf *tc = &cfg->tracing;
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string(exporter_name(tc->exporter)));
    if (tc->exporter == TG_EXPORTER_OTLP) {
        const struct tg_export_conf *e = &tc->export;
        json_object_set_new(o, "protocol",
                            json_string(tg_otlp_protocol_name((enum tg_otlp_protocol)e->protocol)));
        json_object_set_new(o, "endpoint", json_string(e->endpoint));
        json_object_set_new(o, "endpoint_from", json_string(e->endpoint_from));
    }
    return o;
}

static json_t *telemetry_info(void *arg)
{
    struct tg_operator *op = arg;
    struct tg_tracer *t = op->tracer;
    const struct tg_batch_stats *b = tg_batch_stats(t->batch);
    const struct tg_trace_stats *s = &t->stats;
    char last_error[256];
    tg_batch_last_error(t->batch, last_error, sizeof(last_error));

    json_t *d = json_object();
#define U(name, v) json_object_set_new(d, name, json_integer((json_int_t)(v)))
    U("spans_started", s->spans_started);
    U("spans_queued", b->queued);
    U("queue_depth", tg_batch_queue_size(t->batch));
    U("spans_exported", b->exported);
    U("spans_rejected", b->rejected);
    U("spans_dropped_queue_full", b->dropped_full);
    U("spans_dropped_not_retryable", b->dropped_not_retryable);
    U("spans_dropped_retries_exhausted", b->dropped_retries_exhausted);
    U("spans_dropped_shutdown", b->dropped_shutdown + b->dropped_deadline);
    U("export_requests", b->export_requests);
    U("export_retries", b->export_retries);
    U("export_failures", b->export_failures);
#undef U
    json_object_set_new(d, "last_export", time_json(b->last_export_unix_ns));
    json_object_set_new(d, "last_error", time_json(b->last_error_unix_ns));
    json_object_set_new(d, "last_error_message",
                        last_error[0] != '\0' ? json_string(last_error) : json_null());

    json_t *o = json_object();
    json_object_set_new(o, "sampler", json_string(tg_sampler_kind_name(
                                          (enum tg_sampler_kind)op->cfg->tracing.sampler)));
    json_object_set_new(o, "exporter", exporter_json(op->cfg));
    json_object_set_new(o, "delivery", d);
    return o;
}

static bool ready(void *arg, char *why, size_t why_len)
{
    struct tg_operator *op = arg;
    if (!atomic_load(&op->serving)) {
        snprintf(why, why_len, "not listening (starting or draining)");
        return false;
    }
    return true;
}

static const char *failure_name(enum tg_export_failure f)
{
    switch (f) {
    case TG_EXPORT_DELIVERED: return "delivered";
    case TG_EXPORT_NOT_RETRYABLE: return "not_retryable";
    case TG_EXPORT_RETRIES_EXHAUSTED: return "retries_exhausted";
    default: return "cut_short";
    }
}

/* One span through a fresh exporter built from the same settings, so the
 * answer is the collector's and the span processor is not disturbed. */
static json_t *test_export(void *arg)
{
    struct tg_operator *op = arg;
    const struct tg_config *cfg = op->cfg;
    json_t *o = json_object();

    json_object_set_new(o, "exporter", exporter_json(cfg));
    if (cfg->tracing.exporter == TG_EXPORTER_NONE) {
        json_object_set_new(o, "delivered", json_false());
        json_object_set_new(o, "message", json_string(
            "the exporter is none (OTEL_TRACES_EXPORTER=none or tracing.exporter): spans go "
            "nowhere; set an OTLP endpoint to send them"));
        json_object_set_new(o, "status", json_integer(409));
        return o;
    }
    struct tg_tracer_export te;
    char err[256];
    if (tg_tracer_export_init(&te, cfg, err, sizeof(err)) < 0) {
        json_object_set_new(o, "delivered", json_false());
        json_object_set_new(o, "message", json_string(err));
        json_object_set_new(o, "status", json_integer(500));
        return o;
    }
    struct tg_rng rng;
    uint8_t trace_id[16], span_id[8];
    tg_rng_seed(&rng);
    tg_new_trace_id(&rng, trace_id);
    tg_new_span_id(&rng, span_id);
    int64_t start = tg_unix_now_ns();
    struct tg_span *s = tg_span_create(NULL, trace_id, span_id, NULL, TG_SPAN_INTERNAL, start);
    struct tg_export_report rep = {0};
    int64_t t0 = tg_now_ns();
    if (s != NULL) {
        static const char name[] = "tracegate admin test span";
        tg_span_set_name(s, name, sizeof(name) - 1);
        tg_span_attr_bool(s, "tracegate.test", true);
        s->flags = 0x01;
        s->end_unix_ns = tg_unix_now_ns();
        int64_t limit = cfg->tracing.export.timeout_ms;
        if (limit <= 0 || limit > TEST_EXPORT_MAX_MS) {
            limit = TEST_EXPORT_MAX_MS;
        }
        te.exporter.export_batch(te.exporter.ctx, &s, 1, t0 + limit * 1000000, &rep);
        tg_span_destroy(s);
    } else {
        rep.failure = TG_EXPORT_NOT_RETRYABLE;
        snprintf(rep.message, sizeof(rep.message), "out of memory");
    }
    int64_t took_ns = tg_now_ns() - t0;
    if (te.exporter.shutdown != NULL) {
        te.exporter.shutdown(te.exporter.ctx);
    }
    tg_tracer_export_fini(&te);

    char hex[33];
    for (int i = 0; i < 16; i++) {
        snprintf(hex + 2 * i, 3, "%02x", trace_id[i]);
    }
    bool ok = rep.failure == TG_EXPORT_DELIVERED && rep.rejected == 0;
    json_object_set_new(o, "delivered", json_boolean(ok));
    json_object_set_new(o, "result", json_string(failure_name(rep.failure)));
    json_object_set_new(o, "message", json_string(
        rep.message[0] != '\0' ? rep.message
        : ok ? "the collector accepted the test span" : "the collector did not accept it"));
    json_object_set_new(o, "trace_id", json_string(hex));
    json_object_set_new(o, "requests", json_integer(rep.requests));
    json_object_set_new(o, "retries", json_integer(rep.retries));
    json_object_set_new(o, "rejected", json_integer((json_int_t)rep.rejected));
    json_object_set_new(o, "duration_ms", json_real((double)took_ns / 1e6));
    json_object_set_new(o, "status", json_integer(ok ? 200 : 502));
    return o;
}

static int metrics(void *arg, struct tg_bytes *out)
{
    struct tg_operator *op = arg;
    struct tg_scrape_source src = {
        .tracer = op->tracer,
        .control = op->control,
        .cfg = op->cfg,
        .start_unix_ns = op->start_unix_ns,
    };
    return tg_scrape_render(&src, out);
}

/* Finished spans wait in the export queue for up to the schedule delay
 * (5 s by default): someone who just sent a request expects to see it, so
 * the processor is asked to take what is queued now. */
static int tracez(void *arg, bool html, const char *query, struct tg_bytes *out)
{
    struct tg_operator *op = arg;
    struct tg_tracer *t = op->tracer;

    if (tg_batch_queue_size(t->batch) > 0) {
        uint64_t seen = tg_tracez_generation(t->tracez);
        tg_batch_force_flush(t->batch);
        tg_tracez_wait(t->tracez, seen, TRACEZ_FLUSH_WAIT_MS);
    }
    return tg_tracez_render(t->tracez, html, query, out);
}

/* A TTL revert, reported by the control. */
static void on_control_event(void *arg, const char *action, json_t *before, json_t *after)
{
    struct tg_operator *op = arg;
    if (op->admin != NULL) {
        tg_admin_audit(op->admin, action, before, after);
    }
    fprintf(stderr, "tracegate: telemetry override %s: back to the startup settings\n",
            strcmp(action, "ttl_expired") == 0 ? "expired" : action);
}

/* ---- lifetime --------------------------------------------------------------- */

static bool is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
           strcmp(host, "localhost") == 0;
}

int tg_operator_create(struct tg_config *cfg, struct tg_tracer *tracer,
                       struct tg_operator **out, char *err, size_t err_len)
{
    struct tg_operator *op = calloc(1, sizeof(*op));
    const struct tg_admin_conf *ac = &cfg->admin;
    int fd = -1;
    int r;

    if (op == NULL) {
        snprintf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    op->cfg = cfg;
    op->tracer = tracer;
    op->start_unix_ns = tg_unix_now_ns();
    bool own_listener = ac->listen_host != NULL;
    if (own_listener) {
        uint16_t port = ac->listen_port;
        fd = tg_listener_open(ac->listen_host, &port, 64);
        if (fd < 0) {
            r = fd;
            snprintf(err, err_len, "cannot listen on %s:%u for the admin endpoints: %s",
                     ac->listen_host, (unsigned)ac->listen_port, strerror(-r));
            goto fail;
        }
        bool v6 = strchr(ac->listen_host, ':') != NULL;
        snprintf(op->where, sizeof(op->where), "on http://%s%s%s:%u", v6 ? "[" : "",
                 ac->listen_host, v6 ? "]" : "", (unsigned)port);
    } else {
        fd = tg_admin_http_unix_socket(&op->socket_path);
        if (fd < 0) {
            r = fd;
            snprintf(err, err_len, "cannot create the admin socket: %s", strerror(-r));
            goto fail;
        }
        r = tg_config_mount_internal(cfg, "/admin", op->socket_path, TG_ADMIN_BODY_MAX);
        if (r == -EEXIST) {
            snprintf(err, err_len, "a route has the prefix /admin, where the admin endpoints "
                                   "live; move them with --admin-listen HOST:PORT");
            goto fail;
        } else if (r < 0) {
            snprintf(err, err_len, "out of memory");
            goto fail;
        }
        snprintf(op->where, sizeof(op->where), "under /admin on the main listener");
    }
    r = tg_control_create(&tracer->sampler, on_control_event, op, &op->control);
    if (r < 0) {
        snprintf(err, err_len, "cannot start the telemetry control: %s", strerror(-r));
        goto fail;
    }
    r = tg_control_adopt(op->control, cfg);
    if (r < 0) {
        snprintf(err, err_len, "cannot assign route sampling slots: %s", strerror(-r));
        goto fail;
    }
    struct tg_admin_hooks hooks = {
        .arg = op,
        .telemetry_info = telemetry_info,
        .ready = ready,
        .test_export = test_export,
        .metrics = metrics,
        .tracez = tracez,
    };
    r = tg_admin_create(ac, op->control, &hooks, &op->admin, err, err_len);
    if (r < 0) {
        goto fail;
    }
    bool loopback = is_loopback(own_listener ? ac->listen_host : cfg->listen_host);
    r = tg_admin_http_start(op->admin, fd, !own_listener, loopback, &op->http);
    fd = -1; /* the server owns it now, even on failure */
    if (r < 0) {
        snprintf(err, err_len, "cannot start the admin server: %s", strerror(-r));
        goto fail;
    }
    *out = op;
    return 0;

fail:
    if (fd >= 0) {
        close(fd);
    }
    tg_operator_destroy(op);
    return r;
}

int tg_operator_adopt(struct tg_operator *op, struct tg_config *cfg, char *err, size_t err_len)
{
    int r;
    if (op->socket_path != NULL) {
        r = tg_config_mount_internal(cfg, "/admin", op->socket_path, TG_ADMIN_BODY_MAX);
        if (r < 0) {
            snprintf(err, err_len, r == -EEXIST
                     ? "a route has the prefix /admin, where the admin endpoints live (moving "
                       "them with --admin-listen needs a restart)"
                     : "out of memory");
            return r;
        }
    }
    json_t *before = tg_control_state(op->control);
    r = tg_control_adopt(op->control, cfg);
    if (r < 0) {
        snprintf(err, err_len, "more than %d distinct route prefixes since start; restart to "
                               "use new ones", TG_ROUTE_SLOTS);
        json_decref(before);
        return r;
    }
    tg_admin_reconfigure(op->admin, &cfg->admin);
    json_t *after = tg_control_state(op->control);
    tg_admin_audit(op->admin, "reload", before, after);
    json_decref(before);
    json_decref(after);
    return 0;
}

void tg_operator_destroy(struct tg_operator *op)
{
    if (op == NULL) {
        return;
    }
    tg_admin_http_stop(op->http);
    tg_control_destroy(op->control);
    tg_admin_destroy(op->admin);
    tg_admin_http_unlink(op->socket_path);
    free(op->socket_path);
    free(op);
}

void tg_operator_set_serving(struct tg_operator *op, bool serving)
{
    atomic_store(&op->serving, serving);
}

void tg_operator_describe(const struct tg_operator *op, char *out, size_t len)
{
    snprintf(out, len, "%s", op->where);
}
