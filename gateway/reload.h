/*
 * SIGHUP: build the configuration again from the same command line, the
 * environment and the file, and publish it if it is valid. A bad file is
 * rejected with the same errors --check-config prints and the running
 * configuration stays, whole.
 *
 * What a reload changes: routes (upstreams, prefixes, per-route timeouts,
 * body limits, host handling, trust, sampling), the tracing settings read
 * per request (enabled, sampler and rate as the startup state the admin
 * endpoint reverts to, trust, traceresponse, health paths, captured
 * headers, redacted query keys, tracestate limit), the admin token and
 * reads policy. What needs a restart (listeners, workers, connection and
 * header limits, client timeout, access log, the exporter and batch
 * settings, the admin listener and audit log): a changed value is named in
 * a warning and the running one stays.
 *
 * Main thread only.
 */
#ifndef TG_RELOAD_H
#define TG_RELOAD_H

#include "config.h"
#include "operator.h"

/* Returns 0 when a new configuration was published (wake the workers),
 * or -errno when the running one stays. Logs what it did either way. */
int tg_reload(const struct tg_cli *cli, const struct tg_config *boot, struct tg_operator *op);

#endif
