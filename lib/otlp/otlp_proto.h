/*
 * OTLP protobuf encoding (the http/protobuf and grpc bodies) through the
 * protobuf-c code generated at build time from lib/otlp/proto/. The
 * generated types stay inside otlp_proto.c.
 */
#ifndef TG_OTLP_PROTO_H
#define TG_OTLP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "bytes.h"
#include "resource.h"
#include "span.h"

/* Append an ExportTraceServiceRequest for spans[0..n) under res to out.
 * scratch holds the message tree while it is packed and is reset before
 * return. 0, or -ENOMEM / -EMSGSIZE with out->len unchanged. */
int tg_otlp_proto_request(struct tg_bytes *out, struct tg_arena *scratch,
                          const struct tg_otlp_resource *res, struct tg_span *const *spans,
                          size_t n);

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
