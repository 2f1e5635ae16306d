#include "kvlist.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tg_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Trim and percent-decode s[0..len) into out (NUL-terminated, at most
 * len + 1 bytes). False on a bad escape or an encoded NUL. */
static bool decode(const char *s, size_t len, char *out)
{
    while (len > 0 && isspace((unsigned char)s[0])) {
        s++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        int hi = i + 2 < len ? tg_hexval((unsigned char)s[i + 1]) : -1;
        int lo = i + 2 < len ? tg_hexval((unsigned char)s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return false;
        out[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[o] = '\0';
    return true;
}

int tg_kvlist_parse(const char *list, int (*fn)(void *arg, const char *key, const char *value),
                    void *arg, char *err, size_t err_len)
{
    size_t n = strlen(list);
    char *buf = malloc(2 * n + 2);
    if (!buf)
        return -ENOMEM;
    char *key = buf, *val = buf + n + 1;
    int rc = 0;
    const char *p = list;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        bool blank = true;
        for (size_t i = 0; i < len; i++)
            blank = blank && isspace((unsigned char)p[i]);
        if (!blank) {
            if (!eq || !decode(p, (size_t)(eq - p), key) || key[0] == '\0' ||
                !decode(eq + 1, len - (size_t)(eq - p) - 1, val)) {
                snprintf(err, err_len, "\"%.*s\" is not key=value with percent-encoding",
                         (int)(len > 64 ? 64 : len), p);
                rc = -EINVAL;
                break;
            }
            if (fn && (rc = fn(arg, key, val)) < 0)
                break;
        }
        if (!end)
            break;
        p = end + 1;
    }
    free(buf);
    return rc;
}
