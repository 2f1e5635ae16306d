/*
 * OTLP/JSON encoding of spans (OTLP specification, JSON protobuf encoding):
 * lowerCamelCase keys, trace and span ids as lowercase hex, enums as
 * integers, 64-bit integers as decimal strings.
 */
#ifndef TG_OTLP_JSON_H
#define TG_OTLP_JSON_H

#include "span.h"
#include "strbuf.h"

/* OTLP Span.flags bits above the W3C trace flags. */
#define TG_SPAN_FLAGS_HAS_IS_REMOTE 0x100
#define TG_SPAN_FLAGS_IS_REMOTE 0x200

/* One Span object. sb->truncated reports a span larger than the buffer. */
void tg_otlp_json_span(struct tg_strbuf *sb, const struct tg_span *s);

#endif
