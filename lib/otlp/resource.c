#include "resource.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tg_otlp_resource_init(struct tg_otlp_resource *r, const char *scope_name,
                          const char *scope_version)
{
    memset(r, 0, sizeof(*r));
    r->scope_name = strdup(scope_name);
    r->scope_version = strdup(scope_version);
    if (!r->scope_name || !r->scope_version) {
        tg_otlp_resource_fini(r);
        return -ENOMEM;
    }
    return 0;
}

static void attr_free(struct tg_attr *a)
{
    free((char *)a->key);
    if (a->type == TG_ATTR_STRING)
        free((char *)a->v.s.p);
}

void tg_otlp_resource_fini(struct tg_otlp_resource *r)
{
    for (size_t i = 0; i < r->count; i++)
        attr_free(&r->attrs[i]);
    free(r->scope_name);
    free(r->scope_version);
    memset(r, 0, sizeof(*r));
}

const struct tg_attr *tg_otlp_resource_get(const struct tg_otlp_resource *r, const char *key)
{
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->attrs[i].key, key) == 0)
            return &r->attrs[i];
    return NULL;
}

/* The slot for key: its current one (cleared) or a new one. */
static struct tg_attr *slot(struct tg_otlp_resource *r, const char *key, int *rc)
{
    struct tg_attr *a = (struct tg_attr *)tg_otlp_resource_get(r, key);
    if (a) {
        if (a->type == TG_ATTR_STRING)
            free((char *)a->v.s.p);
        a->type = TG_ATTR_INT;
        a->v.i = 0;
        return a;
    }
    if (r->count == TG_OTLP_RESOURCE_MAX) {
        *rc = -ENOSPC;
        return NULL;
    }
    char *k = strdup(key);
    if (!k) {
        *rc = -ENOMEM;
        return NULL;
    }
    a = &r->attrs[r->count++];
    memset(a, 0, sizeof(*a));
    a->key = k;
    a->key_len = (uint16_t)strnlen(k, UINT16_MAX);
    a->type = TG_ATTR_INT;
    return a;
}

int tg_otlp_resource_set_str(struct tg_otlp_resource *r, const char *key, const char *val)
{
    char *v = strdup(val);
    if (!v)
        return -ENOMEM;
    int rc = 0;
    struct tg_attr *a = slot(r, key, &rc);
    if (!a) {
        free(v);
        return rc;
    }
    a->type = TG_ATTR_STRING;
    a->v.s.p = v;
    a->v.s.len = (uint32_t)strlen(v);
    return 0;
}

int tg_otlp_resource_set_int(struct tg_otlp_resource *r, const char *key, int64_t val)
{
    int rc = 0;
    struct tg_attr *a = slot(r, key, &rc);
    if (!a)
        return rc;
    a->type = TG_ATTR_INT;
    a->v.i = val;
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Trim and percent-decode s[0..len) into out (NUL-terminated, at most
 * len + 1 bytes). False on a bad escape. */
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
        if (i + 2 >= len || hexval((unsigned char)s[i + 1]) < 0 ||
            hexval((unsigned char)s[i + 2]) < 0)
            return false;
        out[o++] = (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
        i += 2;
    }
    out[o] = '\0';
    return strlen(out) == o;  /* %00 would cut the string */
}

int tg_otlp_resource_parse(struct tg_otlp_resource *r, const char *list, char *err,
                           size_t err_len)
{
    size_t n = strlen(list);
    char *buf = malloc(2 * n + 2);
    if (!buf)
        return -ENOMEM;
    /* Validate everything first so a bad list changes nothing. */
    for (int apply = 0; apply < 2; apply++) {
        const char *p = list;
        while (*p) {
            const char *end = strchr(p, ',');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            const char *eq = memchr(p, '=', len);
            char *key = buf, *val = buf + n + 1;
            bool blank = true;
            for (size_t i = 0; i < len; i++)
                blank = blank && isspace((unsigned char)p[i]);
            if (!blank) {
                if (!eq || !decode(p, (size_t)(eq - p), key) || key[0] == '\0' ||
                    !decode(eq + 1, len - (size_t)(eq - p) - 1, val)) {
                    snprintf(err, err_len, "\"%.*s\" is not key=value with percent-encoding",
                             (int)(len > 64 ? 64 : len), p);
                    free(buf);
                    return -EINVAL;
                }
                if (apply) {
                    int rc = tg_otlp_resource_set_str(r, key, val);
                    if (rc < 0) {
                        snprintf(err, err_len, "too many attributes");
                        free(buf);
                        return rc;
                    }
                }
            }
            if (!end)
                break;
            p = end + 1;
        }
    }
    free(buf);
    return 0;
}
