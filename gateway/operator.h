/*
 * The gateway side of the operator surface (admin/): the run-time
 * telemetry control over the tracer's sampler, the admin server and where
 * it listens, and the hooks through which it sees the gateway (exporter
 * and delivery counters, readiness, test exports).
 *
 * Created and destroyed on the main thread; the hooks run on admin
 * threads and read only atomics and the configuration.
 */
#ifndef TG_OPERATOR_H
#define TG_OPERATOR_H

#include <stdbool.h>

#include "config.h"
#include "trace.h"

struct tg_operator;

/*
 * Before workers start: take cfg's tracing settings as the startup state,
 * give its routes their sampler slots, and start the admin server, on
 * admin.listen or behind a new /admin route of cfg (added here). Returns 0
 * or -errno with a message in err.
 */
int tg_operator_create(struct tg_config *cfg, struct tg_tracer *tracer,
                       struct tg_operator **out, char *err, size_t err_len);
/*
 * A reload, before cfg is published: the same /admin route, route slots and
 * base sampling from cfg, its token and reads policy; an audit line. On
 * failure (-EEXIST: cfg routes /admin; -ENOSPC: too many prefixes) nothing
 * changed and err says why.
 */
int tg_operator_adopt(struct tg_operator *op, struct tg_config *cfg, char *err, size_t err_len);

/* Stop the admin server and the control. Accepts NULL. */
void tg_operator_destroy(struct tg_operator *op);

/* Workers are listening (true) or draining (false): what /readyz says. */
void tg_operator_set_serving(struct tg_operator *op, bool serving);

/* "on http://127.0.0.1:9901" or "under /admin on the main listener". */
void tg_operator_describe(const struct tg_operator *op, char *out, size_t len);

#endif
