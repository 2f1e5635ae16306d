#include "exporter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "export_console.h"
#include "export_otlp.h"
#include "tg_version.h"

/* The resource: what the SDKs detect by default, then the configured
 * attributes in order (file, then OTEL_RESOURCE_ATTRIBUTES), then an
 * explicit service name (OTEL_SERVICE_NAME wins over the attributes, as the
 * specification says). */
static int build_resource(struct tg_otlp_resource *r, const struct tg_tracing_conf *tc)
{
    int rc = tg_otlp_resource_init(r, "tracegate", TG_VERSION);
    if (rc < 0)
        return rc;
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) != 0)
        host[0] = '\0';
    if ((rc = tg_otlp_resource_set_str(r, "service.name", "tracegate")) < 0 ||
        (rc = tg_otlp_resource_set_str(r, "service.version", TG_VERSION)) < 0 ||
        (rc = tg_otlp_resource_set_str(r, "telemetry.sdk.name", "tracegate")) < 0 ||
        (rc = tg_otlp_resource_set_str(r, "telemetry.sdk.language", "c")) < 0 ||
        (rc = tg_otlp_resource_set_str(r, "telemetry.sdk.version", TG_VERSION)) < 0 ||
        (rc = tg_otlp_resource_set_int(r, "process.pid", getpid())) < 0)
        return rc;
    if (host[0] && (rc = tg_otlp_resource_set_str(r, "host.name", host)) < 0)
        return rc;
    const struct tg_strlist *kv = &tc->export.resource;
    for (size_t i = 0; i + 1 < kv->count; i += 2)
        if ((rc = tg_otlp_resource_set_str(r, kv->items[i], kv->items[i + 1])) < 0)
            return rc;
    if (tc->service_name_set &&
        (rc = tg_otlp_resource_set_str(r, "service.name", tc->service_name)) < 0)
        return rc;
    return 0;
}

int tg_tracer_export_init(struct tg_tracer_export *te, const struct tg_config *cfg, char *err,
                          size_t err_len)
{
    const struct tg_tracing_conf *tc = &cfg->tracing;
    memset(te, 0, sizeof(*te));
    int rc = build_resource(&te->resource, tc);
    if (rc < 0) {
        snprintf(err, err_len, "cannot build the OTLP resource: %s", strerror(-rc));
        tg_otlp_resource_fini(&te->resource);
        return rc;
    }
    switch (tc->exporter) {
    case TG_EXPORTER_CONSOLE:
        rc = tg_export_console_create(STDOUT_FILENO, &te->exporter);
        if (rc < 0)
            snprintf(err, err_len, "out of memory");
        break;
    case TG_EXPORTER_OTLP: {
        const struct tg_export_conf *e = &tc->export;
        struct tg_otlp_conf oc = {
            .url = e->endpoint,
            .protocol = (enum tg_otlp_protocol)e->protocol,
            .headers = (const char *const *)e->headers.items,
            .header_count = e->headers.count,
            .gzip = e->gzip,
            .timeout_ms = e->timeout_ms,
            .ca_file = e->certificate,
            .client_cert = e->client_certificate,
            .client_key = e->client_key,
            .user_agent = "tracegate/" TG_VERSION " OTel-OTLP-Exporter-C/" TG_VERSION,
        };
        rc = tg_export_otlp_create(&oc, &te->resource, &te->exporter, err, err_len);
        break;
    }
    case TG_EXPORTER_NONE:
        tg_export_none(&te->exporter);
        rc = 0;
        break;
    }
    if (rc < 0)
        tg_otlp_resource_fini(&te->resource);
    return rc;
}

void tg_tracer_export_fini(struct tg_tracer_export *te)
{
    tg_otlp_resource_fini(&te->resource);
}

static const char *reason(const struct tg_export_report *rep)
{
    switch (rep->failure) {
    case TG_EXPORT_DELIVERED:
        return "rejected by the receiver";
    case TG_EXPORT_NOT_RETRYABLE:
        return "dropped, not retryable";
    case TG_EXPORT_RETRIES_EXHAUSTED:
        return "dropped, retries exhausted";
    case TG_EXPORT_SHUTDOWN:
        return "dropped at the shutdown deadline";
    }
    return "dropped";
}

void tg_tracer_export_trouble(void *arg, const struct tg_export_report *rep, size_t n)
{
    struct tg_tracer_export *te = arg;
    struct tg_export_log *log = &te->log;
    int64_t now = tg_now_ns();
    uint64_t spans = rep->failure == TG_EXPORT_DELIVERED ? rep->rejected : n;
    if (log->last_ns != 0 && now - log->last_ns < TG_EXPORT_LOG_INTERVAL_S * 1000000000LL) {
        log->quiet_events++;
        log->quiet_spans += spans;
        return;
    }
    char more[128] = "";
    if (log->quiet_events > 0)
        snprintf(more, sizeof(more), " (and %llu more export problems, %llu spans, since the "
                                     "last message)",
                 (unsigned long long)log->quiet_events, (unsigned long long)log->quiet_spans);
    fprintf(stderr, "tracegate: span export: %s; %llu spans %s%s\n", rep->message,
            (unsigned long long)spans, reason(rep), more);
    log->last_ns = now;
    log->quiet_events = 0;
    log->quiet_spans = 0;
}

void tg_tracer_export_describe(const struct tg_config *cfg, char *out, size_t len)
{
    const struct tg_tracing_conf *tc = &cfg->tracing;
    const struct tg_export_conf *e = &tc->export;
    switch (tc->exporter) {
    case TG_EXPORTER_OTLP:
        snprintf(out, len, "otlp %s to %s (from %s)%s",
                 tg_otlp_protocol_name((enum tg_otlp_protocol)e->protocol), e->endpoint,
                 e->endpoint_from, e->gzip ? ", gzip" : "");
        break;
    case TG_EXPORTER_CONSOLE:
        snprintf(out, len, "console (stdout)");
        break;
    case TG_EXPORTER_NONE:
        snprintf(out, len, "none (spans are discarded)");
        break;
    }
}
