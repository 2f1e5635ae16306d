#include "resource.h"

#include "kvlist.h"

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

static int set_parsed(void *arg, const char *key, const char *value)
{
    return tg_otlp_resource_set_str(arg, key, value);
}

int tg_otlp_resource_parse(struct tg_otlp_resource *r, const char *list, char *err,
                           size_t err_len)
{
    /* Check the whole list first so a bad one changes nothing. */
    int rc = tg_kvlist_parse(list, NULL, NULL, err, err_len);
    if (rc == 0 && (rc = tg_kvlist_parse(list, set_parsed, r, err, err_len)) == -ENOSPC)
        snprintf(err, err_len, "more than %d attributes", TG_OTLP_RESOURCE_MAX);
    return rc;
}
