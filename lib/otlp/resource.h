/*
 * The OTLP Resource and instrumentation scope every exported batch carries:
 * who produced the spans (service.name, host.name, process.pid, ...).
 * Built once at startup, read-only afterwards; strings are owned.
 */
#ifndef TG_OTLP_RESOURCE_H
#define TG_OTLP_RESOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "span.h"

#define TG_OTLP_RESOURCE_MAX 64

struct tg_otlp_resource {
    struct tg_attr attrs[TG_OTLP_RESOURCE_MAX];  /* keys and strings malloc'd */
    size_t count;
    char *scope_name;
    char *scope_version;
};

/* Empty resource with the instrumentation scope. 0 or -ENOMEM. */
int tg_otlp_resource_init(struct tg_otlp_resource *r, const char *scope_name,
                          const char *scope_version);
void tg_otlp_resource_fini(struct tg_otlp_resource *r);

/* Set a key (a later set replaces an earlier one, keeping its place).
 * 0, -ENOMEM, or -ENOSPC past TG_OTLP_RESOURCE_MAX keys. */
int tg_otlp_resource_set_str(struct tg_otlp_resource *r, const char *key, const char *val);
int tg_otlp_resource_set_int(struct tg_otlp_resource *r, const char *key, int64_t val);

/* The attribute for key, or NULL. */
const struct tg_attr *tg_otlp_resource_get(const struct tg_otlp_resource *r, const char *key);

/* Apply an OTEL_RESOURCE_ATTRIBUTES value: "key1=value1,key2=value2",
 * keys and values percent-decoded, surrounding spaces trimmed. Returns 0,
 * or -EINVAL with nothing applied (bad syntax or encoding; err says what). */
int tg_otlp_resource_parse(struct tg_otlp_resource *r, const char *list, char *err,
                           size_t err_len);

#endif
