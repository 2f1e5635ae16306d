/*
 * OTLP/JSON encoding of spans (OTLP specification, JSON protobuf encoding):
 * lowerCamelCase keys, trace and span ids as lowercase hex, enums as
 * integers, 64-bit integers as decimal strings.
 */
#ifndef TG_OTLP_JSON_H
#define TG_OTLP_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "otlp_flags.h"
#include "resource.h"
#include "span.h"
#include "strbuf.h"

/* Bound on one encoded span: its strings are bounded by the span store
 * (TG_SPAN_DATA_BYTES, six-fold at worst when escaped) plus keys and
 * punctuation. */
#define TG_OTLP_JSON_SPAN_MAX (64 * 1024)

/* One Span object. sb->truncated reports a span larger than the buffer
 * (never, with TG_OTLP_JSON_SPAN_MAX bytes free). */
void tg_otlp_json_span(struct tg_strbuf *sb, const struct tg_span *s);

/* A whole ExportTraceServiceRequest for spans[0..n) under res, appended
 * to out. 0, or -EMSGSIZE / -ENOMEM with out->len unchanged. */
int tg_otlp_json_request(struct tg_bytes *out, const struct tg_otlp_resource *res,
                         struct tg_span *const *spans, size_t n);

/* Read an ExportTraceServiceResponse: *rejected from partialSuccess (0 if
 * absent) and its errorMessage into msg (NUL-terminated, cut to fit; "" if
 * none). An empty body is a full success. 0, or -EPROTO when it is not
 * such a JSON object. */
int tg_otlp_json_response(const char *body, size_t len, int64_t *rejected, char *msg,
                          size_t msg_len);

#endif
