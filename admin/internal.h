/*
 * Internal to admin/: the admin object and the helpers endpoints answer
 * with.
 */
#ifndef TG_ADMIN_INTERNAL_H
#define TG_ADMIN_INTERNAL_H

#include <pthread.h>

#include "admin.h"
#include "audit.h"
#include "auth.h"

struct tg_admin {
    struct tg_control *control;   /* borrowed */
    struct tg_admin_hooks hooks;
    struct tg_auth *auth;
    struct tg_audit *audit;
    pthread_mutex_t mu;           /* guards reads */
    enum tg_admin_reads reads;
};

/* Plain text or JSON answers. */
void tg_admin_reply_text(struct tg_admin_reply *r, int status, const char *text);
/* Takes ownership of o (a new reference). */
void tg_admin_reply_json(struct tg_admin_reply *r, int status, json_t *o);
/* {"error": message, "status": status} */
void tg_admin_reply_error(struct tg_admin_reply *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tg_admin_reply_header(struct tg_admin_reply *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* admin/telemetry.c: /admin/telemetry and /admin/telemetry/test (auth done). */
void tg_admin_telemetry_get(struct tg_admin *a, const struct tg_admin_request *rq,
                            struct tg_admin_reply *r);
void tg_admin_telemetry_post(struct tg_admin *a, const struct tg_admin_request *rq,
                             struct tg_admin_reply *r);
void tg_admin_telemetry_delete(struct tg_admin *a, const struct tg_admin_request *rq,
                               struct tg_admin_reply *r);
void tg_admin_telemetry_test(struct tg_admin *a, const struct tg_admin_request *rq,
                             struct tg_admin_reply *r);

#endif
