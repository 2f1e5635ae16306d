/* gzip (RFC 1952) for OTLP request bodies, "Content-Encoding: gzip". */
#ifndef TG_OTLP_GZIP_H
#define TG_OTLP_GZIP_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

/* Append in[0..len) gzip-compressed to out. 0, -ENOMEM or -EMSGSIZE (out
 * unchanged). */
int tg_gzip(struct tg_bytes *out, const uint8_t *in, size_t len);

#endif
