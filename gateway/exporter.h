/*
 * The tracer's exporter, chosen by the configuration (otlp, console,
 * none), the OTLP resource that describes this process, and the log of
 * export trouble: at most one line per TG_EXPORT_LOG_INTERVAL_S, never one
 * per span, with a count of what happened in between.
 */
#ifndef TG_GATEWAY_EXPORTER_H
#define TG_GATEWAY_EXPORTER_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "config.h"
#include "resource.h"

#define TG_EXPORT_LOG_INTERVAL_S 10

struct tg_export_log {
    int64_t last_ns;       /* CLOCK_MONOTONIC of the last line; 0: none yet */
    uint64_t quiet_events; /* troubles not logged since */
    uint64_t quiet_spans;  /* spans they lost or had rejected */
};

struct tg_tracer_export {
    struct tg_exporter exporter;     /* shut down by the batch processor */
    struct tg_otlp_resource resource;
    struct tg_export_log log;
};

/* 0, or a negative errno with a message in err. */
int tg_tracer_export_init(struct tg_tracer_export *te, const struct tg_config *cfg, char *err,
                          size_t err_len);
/* After the batch processor has shut the exporter down. */
void tg_tracer_export_fini(struct tg_tracer_export *te);

/* tg_batch_conf.on_trouble; arg is the struct tg_tracer_export. */
void tg_tracer_export_trouble(void *arg, const struct tg_export_report *rep, size_t n);

/* "otlp http/protobuf to URL (from SETTING)" and the like, for the startup line. */
void tg_tracer_export_describe(const struct tg_config *cfg, char *out, size_t len);

#endif
