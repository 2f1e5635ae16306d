#include "reload.h"

#include <stdio.h>
#include <string.h>

#include "confset.h"

static bool same_str(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool same_list(const struct tg_strlist *a, const struct tg_strlist *b)
{
    if (a->count != b->count) {
        return false;
    }
    for (size_t i = 0; i < a->count; i++) {
        if (!same_str(a->items[i], b->items[i])) {
            return false;
        }
    }
    return true;
}

/* Name every setting a reload cannot apply that the new file changes. */
static int warn_static(const struct tg_config *o, const struct tg_config *n)
{
    const struct tg_tracing_conf *ot = &o->tracing, *nt = &n->tracing;
    const struct tg_export_conf *oe = &ot->export, *ne = &nt->export;
    const struct {
        const char *name;
        bool same;
    } checks[] = {
        {"listen", same_str(o->listen_host, n->listen_host) && o->listen_port == n->listen_port},
        {"workers", o->workers == n->workers},
        {"access_log", same_str(o->access_log, n->access_log)},
        {"max_connections", o->max_connections == n->max_connections},
        {"max_header_bytes", o->max_header_bytes == n->max_header_bytes},
        {"max_response_header_bytes", o->max_response_header_bytes == n->max_response_header_bytes},
        {"client_timeout_ms", o->client_timeout_ms == n->client_timeout_ms},
        {"shutdown_timeout_ms", o->shutdown_timeout_ms == n->shutdown_timeout_ms},
        {"upstream_keepalive", o->upstream_keepalive == n->upstream_keepalive},
        {"tracing.exporter", ot->exporter == nt->exporter},
        {"tracing.service_name", same_str(ot->service_name, nt->service_name)},
        {"tracing.bsp_*", ot->bsp_schedule_delay_ms == nt->bsp_schedule_delay_ms &&
                              ot->bsp_export_timeout_ms == nt->bsp_export_timeout_ms &&
                              ot->bsp_max_queue_size == nt->bsp_max_queue_size &&
                              ot->bsp_max_export_batch_size == nt->bsp_max_export_batch_size},
        {"tracing.shutdown_timeout_ms", ot->shutdown_timeout_ms == nt->shutdown_timeout_ms},
        {"tracing.otlp endpoint", same_str(oe->endpoint, ne->endpoint)},
        {"tracing.otlp protocol", oe->protocol == ne->protocol},
        {"tracing.otlp settings", same_list(&oe->headers, &ne->headers) &&
                                      oe->gzip == ne->gzip && oe->timeout_ms == ne->timeout_ms &&
                                      same_str(oe->certificate, ne->certificate) &&
                                      same_str(oe->client_key, ne->client_key) &&
                                      same_str(oe->client_certificate, ne->client_certificate) &&
                                      oe->insecure == ne->insecure},
        {"tracing.resource_attributes", same_list(&oe->resource, &ne->resource)},
        {"admin.listen", same_str(o->admin.listen_host, n->admin.listen_host) &&
                             o->admin.listen_port == n->admin.listen_port},
        {"admin.audit_log", same_str(o->admin.audit_log, n->admin.audit_log)},
    };
    int changed = 0;
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        if (!checks[i].same) {
            fprintf(stderr, "tracegate: reload: \"%s\" changed; it takes a restart, the running "
                            "value stays\n", checks[i].name);
            changed++;
        }
    }
    return changed;
}

int tg_reload(const struct tg_cli *cli, const struct tg_config *boot, struct tg_operator *op)
{
    struct tg_diag diag = {0};
    struct tg_config *next = NULL;
    const char *what = cli->config_path != NULL ? cli->config_path : "(flags and environment)";

    int r = tg_config_build(cli, &next, &diag);
    if (r < 0) {
        fprintf(stderr, "tracegate: reload of %s rejected; the running configuration stays:\n",
                what);
        for (int i = 0; i < diag.count; i++) {
            fprintf(stderr, "%s\n", diag.line[i]);
        }
        if (diag.dropped > 0) {
            fprintf(stderr, "tracegate: %d more errors not shown\n", diag.dropped);
        }
        return r;
    }
    char err[256];
    r = tg_operator_adopt(op, next, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "tracegate: reload of %s rejected; the running configuration stays: %s\n",
                what, err);
        tg_config_destroy(next);
        return r;
    }
    warn_static(boot, next);
    size_t routes = 0;
    for (size_t i = 0; i < next->route_count; i++) {
        routes += !next->routes[i].internal;
    }
    r = tg_confset_publish(next);
    if (r < 0) {
        fprintf(stderr, "tracegate: reload of %s failed: out of memory\n", what);
        return r;
    }
    fprintf(stderr, "tracegate: reloaded %s (generation %llu, %zu routes)\n", what,
            (unsigned long long)tg_confset_generation(), routes);
    return 0;
}
