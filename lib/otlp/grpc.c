#include "grpc.h"

#include "kvlist.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void tg_grpc_prefix(uint8_t out[TG_GRPC_PREFIX], bool compressed, uint32_t len)
{
    out[0] = compressed ? 1 : 0;
    out[1] = (uint8_t)(len >> 24);
    out[2] = (uint8_t)(len >> 16);
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
}

int tg_grpc_unframe(const uint8_t *body, size_t body_len, const uint8_t **msg, size_t *len,
                    bool *compressed)
{
    *msg = NULL;
    *len = 0;
    *compressed = false;
    if (body_len == 0)
        return 0;
    if (body_len < TG_GRPC_PREFIX || body[0] > 1)
        return -EPROTO;
    size_t n = (size_t)body[1] << 24 | (size_t)body[2] << 16 | (size_t)body[3] << 8 | body[4];
    if (n != body_len - TG_GRPC_PREFIX)
        return -EPROTO;
    *compressed = body[0] == 1;
    *msg = body + TG_GRPC_PREFIX;
    *len = n;
    return 0;
}

void tg_grpc_timeout(char out[16], int64_t ms)
{
    if (ms < 0)
        ms = 0;
    if (ms <= 99999999)
        snprintf(out, 16, "%lldm", (long long)ms);
    else
        snprintf(out, 16, "%lldS", (long long)(ms / 1000 > 99999999 ? 99999999 : ms / 1000));
}

void tg_grpc_message_decode(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        int hi, lo;
        if (p[0] == '%' && (hi = tg_hexval((unsigned char)p[1])) >= 0 &&
            (lo = tg_hexval((unsigned char)p[2])) >= 0) {
            char c = (char)(hi * 16 + lo);
            /* Keep the text printable: it goes into a log line. */
            *o++ = c == '\0' || c == '\n' || c == '\r' ? ' ' : c;
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long tg_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    while (len > 0 && in[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return -EINVAL;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64val((unsigned char)in[i]);
        if (v < 0)
            return -EINVAL;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap)
                return -EMSGSIZE;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return (long)o;
}

int tg_grpc_status_of_http(long status)
{
    switch (status) {
    case 400:
        return 13;  /* INTERNAL */
    case 401:
        return 16;  /* UNAUTHENTICATED */
    case 403:
        return 7;   /* PERMISSION_DENIED */
    case 404:
        return 12;  /* UNIMPLEMENTED */
    case 429:
    case 502:
    case 503:
    case 504:
        return 14;  /* UNAVAILABLE */
    default:
        return 2;   /* UNKNOWN */
    }
}
