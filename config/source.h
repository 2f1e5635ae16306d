/*
 * Internal to config/: where a configuration file error points. Errors are
 * reported as "file:line:column: message", the position found from the
 * path of keys and indexes to the offending value.
 */
#ifndef TG_CONFIG_SOURCE_H
#define TG_CONFIG_SOURCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "json_locate.h"

struct tg_cfg_src {
    const char *path;
    const char *text;
    size_t len;
    struct tg_diag *diag;
};

void tg_cfg_error(const struct tg_cfg_src *src, const struct tg_json_step *steps,
                  size_t depth, bool at_key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* "host:port" or "[v6]:port" (config/config.c); host must be a numeric
 * address or "localhost". Returns 0, -EINVAL or -ENOMEM. */
int tg_listen_parse(const char *s, char **host, uint16_t *port);

/* config/admin.c */
void tg_admin_defaults(struct tg_admin_conf *a);
/* The file's "admin" object. */
void tg_admin_load(struct tg_admin_conf *a, const struct tg_cfg_src *src, json_t *obj);
/* TELEMETRY_ADMIN_TOKEN, TELEMETRY_ADMIN_TOKEN_FILE, --admin-listen; reads
 * the token file. */
void tg_admin_finish(struct tg_admin_conf *a, const struct tg_cli *cli, struct tg_diag *diag);
void tg_admin_free(struct tg_admin_conf *a);

/* config/tracing.c */
void tg_tracing_defaults(struct tg_tracing_conf *t);
/* The file's "tracing" object. */
void tg_tracing_load(struct tg_tracing_conf *t, const struct tg_cfg_src *src, json_t *obj);
/* TELEMETRY_* and OTEL_* variables. */
void tg_tracing_env(struct tg_tracing_conf *t, struct tg_diag *diag);
/* Per-route values: trust name, inherited values, template. */
void tg_tracing_finish_route(const struct tg_tracing_conf *t, struct tg_route_conf *r,
                             struct tg_diag *diag);
void tg_tracing_free(struct tg_tracing_conf *t);
/* "continue", "ids-only", "restart". Returns 0 or -EINVAL. */
int tg_trust_parse(const char *s, enum tg_trust *out);

/* config/env.c: the environment. An empty variable is unset. */
const char *tg_env(const char *name);
/* true/false in any case (and 1/0 when allow_digits): 1 when set, 0 when
 * unset, -EINVAL (reported in diag) when invalid. */
int tg_env_bool(const char *name, bool allow_digits, bool *out, struct tg_diag *diag);
/* An integer in [min, max] into *out, if set; reported in diag if invalid. */
void tg_env_int(const char *name, int64_t min, int64_t max, int64_t *out,
                struct tg_diag *diag);
/* An HTTP token character (RFC 9110 tchar). */
bool tg_is_token_char(unsigned char c);

/* config/export.c */
void tg_export_defaults(struct tg_export_conf *e);
/* The file's "tracing"."otlp" object. */
void tg_export_load(struct tg_export_conf *e, const struct tg_cfg_src *src, json_t *obj);
/* The file's "tracing"."resource_attributes" object. */
void tg_export_load_resource(struct tg_export_conf *e, const struct tg_cfg_src *src,
                             json_t *obj);
/* TELEMETRY_BACKEND, TELEMETRY_COLLECTOR_URL, OTEL_EXPORTER_OTLP_*,
 * OTEL_RESOURCE_ATTRIBUTES. */
void tg_export_env(struct tg_export_conf *e, struct tg_diag *diag);
void tg_export_flags(struct tg_export_conf *e, const struct tg_cli *cli, struct tg_diag *diag);
/* Choose the endpoint from the settings given. */
void tg_export_finish(struct tg_export_conf *e, struct tg_diag *diag);
void tg_export_free(struct tg_export_conf *e);
/* Shared with config/tracing.c: a list of owned strings. */
int tg_strlist_set(struct tg_strlist *l, const char *const *items, size_t n, bool lower);
int tg_strlist_add(struct tg_strlist *l, const char *item);

#endif
