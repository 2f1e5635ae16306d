#include "gzip.h"

#include <errno.h>
#include <zlib.h>

int tg_gzip(struct tg_bytes *out, const uint8_t *in, size_t len)
{
    z_stream z = {0};
    /* windowBits 15 + 16: a gzip header and trailer instead of zlib's. */
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    size_t bound = deflateBound(&z, (uLong)len);
    int rc = tg_bytes_reserve(out, bound);
    if (rc < 0) {
        deflateEnd(&z);
        return rc;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = out->data + out->len;
    z.avail_out = (uInt)(out->cap - out->len);
    rc = deflate(&z, Z_FINISH);
    if (rc != Z_STREAM_END) {
        deflateEnd(&z);
        return -EMSGSIZE;
    }
    out->len += z.total_out;
    deflateEnd(&z);
    return 0;
}
