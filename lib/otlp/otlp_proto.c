#include "otlp_proto.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "rpc_status.pb-c.h"
#include "trace_service.pb-c.h"

static void copy_msg(char *msg, size_t msg_len, const char *s)
{
    if (msg_len)
        snprintf(msg, msg_len, "%s", s ? s : "");
}

int tg_otlp_proto_response(const uint8_t *body, size_t len, int64_t *rejected, char *msg,
                           size_t msg_len)
{
    *rejected = 0;
    copy_msg(msg, msg_len, "");
    if (len == 0)
        return 0;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *r =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
            NULL, len, body);
    if (!r)
        return -EPROTO;
    int rc = 0;
    if (r->partial_success) {
        *rejected = r->partial_success->rejected_spans;
        copy_msg(msg, msg_len, r->partial_success->error_message);
        if (*rejected < 0)
            rc = -EPROTO;
    }
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(
        r, NULL);
    return rc;
}

int tg_otlp_rpc_status(const uint8_t *body, size_t len, char *msg, size_t msg_len,
                       int64_t *retry_delay_ms)
{
    static const char retry_info_type[] = "type.googleapis.com/google.rpc.RetryInfo";
    *retry_delay_ms = -1;
    copy_msg(msg, msg_len, "");
    Google__Rpc__Status *st = google__rpc__status__unpack(NULL, len, body);
    if (!st)
        return -EPROTO;
    copy_msg(msg, msg_len, st->message);
    for (size_t i = 0; i < st->n_details; i++) {
        Google__Rpc__Any *d = st->details[i];
        if (strcmp(d->type_url, retry_info_type) != 0)
            continue;
        Google__Rpc__RetryInfo *ri = google__rpc__retry_info__unpack(NULL, d->value.len,
                                                                      d->value.data);
        if (ri && ri->retry_delay && ri->retry_delay->seconds >= 0 &&
            ri->retry_delay->seconds < INT64_MAX / 1000 - 1 && ri->retry_delay->nanos >= 0)
            *retry_delay_ms = ri->retry_delay->seconds * 1000 + ri->retry_delay->nanos / 1000000;
        if (ri)
            google__rpc__retry_info__free_unpacked(ri, NULL);
    }
    google__rpc__status__free_unpacked(st, NULL);
    return 0;
}
