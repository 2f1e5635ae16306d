/*
 * OTLP Span.flags and Link.flags: the W3C trace flags in bits 0-7, plus
 * whether the parent (or the linked context) is known to be remote.
 * Both encoders take the value from here.
 */
#ifndef TG_OTLP_FLAGS_H
#define TG_OTLP_FLAGS_H

#include <stdint.h>

#include "span.h"

#define TG_SPAN_FLAGS_HAS_IS_REMOTE 0x100
#define TG_SPAN_FLAGS_IS_REMOTE 0x200

static inline uint32_t tg_otlp_span_flags(const struct tg_span *s)
{
    uint32_t flags = s->flags | TG_SPAN_FLAGS_HAS_IS_REMOTE;
    if (s->has_parent && s->parent_remote)
        flags |= TG_SPAN_FLAGS_IS_REMOTE;
    return flags;
}

/* A link always points at a context that arrived from outside. */
static inline uint32_t tg_otlp_link_flags(const struct tg_link *l)
{
    return (uint32_t)l->flags | TG_SPAN_FLAGS_HAS_IS_REMOTE | TG_SPAN_FLAGS_IS_REMOTE;
}

#endif
