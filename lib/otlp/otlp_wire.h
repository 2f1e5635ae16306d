/*
 * OTLP protobuf requests written straight onto the wire: an
 * ExportTraceServiceRequest for a batch of spans, sized in one pass and
 * written in a second, with no intermediate message tree and no string
 * copies. The field numbers and wire types are those of lib/otlp/proto/;
 * the unit tests decode the output with the protoc-c code generated from
 * those files and compare it with what protobuf-c itself packs.
 */
#ifndef TG_OTLP_WIRE_H
#define TG_OTLP_WIRE_H

#include <stddef.h>

#include "bytes.h"
#include "resource.h"
#include "span.h"

/* Append the request for spans[0..n) under res to out. 0, or -ENOMEM /
 * -EMSGSIZE with out->len unchanged. */
int tg_otlp_wire_request(struct tg_bytes *out, const struct tg_otlp_resource *res,
                         struct tg_span *const *spans, size_t n);

#endif
