/*
 * What an OTLP receiver answers, read with the protobuf-c code generated at
 * build time from lib/otlp/proto/ (the generated types stay inside
 * otlp_proto.c). Requests are written by otlp_wire.c.
 */
#ifndef TG_OTLP_PROTO_H
#define TG_OTLP_PROTO_H

#include <stddef.h>
#include <stdint.h>


/* Read an ExportTraceServiceResponse: *rejected and the partial-success
 * message (cut to fit, "" if none). An empty body is a full success. 0 or
 * -EPROTO. */
int tg_otlp_proto_response(const uint8_t *body, size_t len, int64_t *rejected, char *msg,
                           size_t msg_len);

/* Read a google.rpc.Status (an OTLP/HTTP error body in protobuf, or a
 * grpc-status-details-bin trailer once base64-decoded): its message (cut to
 * fit) and the delay of a google.rpc.RetryInfo detail in milliseconds (-1
 * when there is none). 0 or -EPROTO. */
int tg_otlp_rpc_status(const uint8_t *body, size_t len, char *msg, size_t msg_len,
                       int64_t *retry_delay_ms);

#endif
