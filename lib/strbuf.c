#include "strbuf.h"

#include <math.h>
#include <string.h>

void tg_strbuf_u64(struct tg_strbuf *sb, uint64_t v)
{
    char tmp[20];
    size_t n = 0;

    do {
        tmp[sizeof(tmp) - 1 - n] = (char)('0' + v % 10);
        v /= 10;
        n++;
    } while (v != 0);
    tg_strbuf_append(sb, tmp + sizeof(tmp) - n, n);
}

void tg_strbuf_i64(struct tg_strbuf *sb, int64_t v)
{
    if (v < 0) {
        tg_strbuf_putc(sb, '-');
        tg_strbuf_u64(sb, (uint64_t)0 - (uint64_t)v);
    } else {
        tg_strbuf_u64(sb, (uint64_t)v);
    }
}

void tg_strbuf_fixed(struct tg_strbuf *sb, double v, int decimals)
{
    uint64_t scale = 1;

    for (int i = 0; i < decimals; i++) {
        scale *= 10;
    }
    if (!(v >= 0) || v > 1e12) {
        v = 0;
    }
    uint64_t scaled = (uint64_t)llround(v * (double)scale);
    tg_strbuf_u64(sb, scaled / scale);
    if (decimals > 0) {
        char frac[20];
        uint64_t f = scaled % scale;
        for (int i = decimals - 1; i >= 0; i--) {
            frac[i] = (char)('0' + f % 10);
            f /= 10;
        }
        tg_strbuf_putc(sb, '.');
        tg_strbuf_append(sb, frac, (size_t)decimals);
    }
}

size_t tg_strbuf_utf8_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;

    if (c < 0x80) {
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) {
            lo = 0xA0;
        } else if (c == 0xED) {
            hi = 0x9F;
        }
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) {
            lo = 0x90;
        } else if (c == 0xF4) {
            hi = 0x8F;
        }
    } else {
        return 0;
    }
    if (avail < n || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) {
            return 0;
        }
    }
    return n;
}

void tg_strbuf_json_string(struct tg_strbuf *sb, const char *s, size_t len,
                           size_t max_bytes)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    tg_strbuf_putc(sb, '"');
    while (i < len) {
        /* Fast path: a run of printable ASCII that needs no escape goes
         * out in one copy (span attributes are almost all like this). */
        size_t run = i;
        size_t run_end = len < max_bytes ? len : max_bytes;
        while (run < run_end && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' &&
               p[run] != '\\') {
            run++;
        }
        if (run > i) {
            tg_strbuf_append(sb, s + i, run - i);
            i = run;
            continue;
        }
        size_t n = tg_strbuf_utf8_len(p + i, len - i);
        if (i + (n ? n : 1) > max_bytes) {
            tg_strbuf_puts(sb, "...");
            break;
        }
        if (n == 0) {
            tg_strbuf_puts(sb, "\\ufffd");
            i++;
            continue;
        }
        if (n > 1) {
            tg_strbuf_append(sb, s + i, n);
            i += n;
            continue;
        }
        unsigned char c = p[i++];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            tg_strbuf_append(sb, esc, 2);
        } else if (c < 0x20 || c == 0x7f) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            tg_strbuf_append(sb, esc, 6);
        } else {
            tg_strbuf_putc(sb, (char)c);
        }
    }
    tg_strbuf_putc(sb, '"');
}
