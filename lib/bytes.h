/*
 * A growable byte buffer with a hard size limit, for encoded export
 * requests: the exporter keeps one and reuses it for every batch, so a
 * steady stream of batches allocates nothing once it has grown.
 */
#ifndef TG_BYTES_H
#define TG_BYTES_H

#include <stddef.h>
#include <stdint.h>

struct tg_bytes {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t limit;   /* cap never grows past this */
};

void tg_bytes_init(struct tg_bytes *b, size_t limit);
/* Make room for n more bytes after len. 0, -EMSGSIZE past the limit, or
 * -ENOMEM. */
int tg_bytes_reserve(struct tg_bytes *b, size_t n);
int tg_bytes_append(struct tg_bytes *b, const void *p, size_t n);
void tg_bytes_free(struct tg_bytes *b);

#endif
