/*
 * The OTLP exporter: one batch per request to a collector over
 * http/protobuf (the default), http/json or grpc, on one kept-alive
 * connection, with the OTLP specification's retry rules (retryable answers
 * and connection failures only, exponential backoff with jitter,
 * Retry-After and RetryInfo honoured, everything bounded by the export
 * deadline) and partial success read back.
 *
 * It runs on the batch processor's thread; cancel() may come from the
 * thread shutting down and cuts transfers and waits at its deadline.
 */
#ifndef TG_EXPORT_OTLP_H
#define TG_EXPORT_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "resource.h"

enum tg_otlp_protocol {
    TG_OTLP_HTTP_PROTOBUF,
    TG_OTLP_HTTP_JSON,
    TG_OTLP_GRPC,
};

struct tg_otlp_conf {
    const char *url;               /* HTTP: the URL to POST; gRPC: scheme://host:port */
    enum tg_otlp_protocol protocol;
    const char *const *headers;    /* extra request headers, "Name: value" */
    size_t header_count;
    bool gzip;
    int64_t timeout_ms;            /* one export, retries included (> 0) */
    const char *ca_file;           /* NULL: the system's CAs */
    const char *client_cert;       /* PEM files for mutual TLS, or NULL */
    const char *client_key;
    const char *user_agent;
};

/* Everything in conf is copied; res must outlive the exporter. curl must
 * be initialised. 0, or a negative errno with a message in err. */
int tg_export_otlp_create(const struct tg_otlp_conf *conf, const struct tg_otlp_resource *res,
                          struct tg_exporter *out, char *err, size_t err_len);

const char *tg_otlp_protocol_name(enum tg_otlp_protocol p);

#endif
