/*
 * The published configuration and the lifetime of every version of it.
 *
 * The main thread publishes a configuration at startup and on each reload.
 * Workers take the newest one for requests that start after they notice
 * it, and keep older ones alive while requests begun under them are still
 * running: a reload never changes the routes under a request in flight.
 *
 * A version is freed when the last holder lets it go: the main thread
 * holds the newest, each worker holds its current one and those its
 * requests still use. Refcounts change only when a version is published or
 * a worker switches, never per request.
 *
 * The first version (the boot configuration) is also where the settings a
 * reload cannot change live (listeners, worker count, connection and
 * header limits, the exporter); it stays until exit.
 */
#ifndef TG_CONFSET_H
#define TG_CONFSET_H

#include <stdint.h>

#include "config.h"

struct tg_confver;

/* Main thread: publish cfg (ownership passes) as the newest version.
 * Returns 0 or -ENOMEM (cfg is then destroyed). */
int tg_confset_publish(struct tg_config *cfg);

/* The generation of the newest version: cheap, any thread. */
uint64_t tg_confset_generation(void);

/* Take a reference to the newest version (any thread). */
struct tg_confver *tg_confset_acquire(void);
/* Drop one; the last drop frees the version and its configuration. */
void tg_confset_release(struct tg_confver *v);
const struct tg_config *tg_confver_config(const struct tg_confver *v);
uint64_t tg_confver_generation(const struct tg_confver *v);

/* Main thread at exit, after workers are gone: drop the main thread's
 * reference to the newest version. */
void tg_confset_fini(void);

#endif
