/*
 * Request routing: which configured upstream serves a path.
 * Pure function of the immutable config; safe from any thread.
 */
#ifndef TG_ROUTE_H
#define TG_ROUTE_H

#include <stddef.h>

#include "config.h"

/* Longest prefix that matches whole path segments: /api matches /api,
 * /api/ and /api/x but not /apix; "/" matches everything. path[0..len) is
 * the target without its query. NULL when nothing matches. */
const struct tg_route_conf *tg_route_match(const struct tg_config *cfg,
                                           const char *path, size_t len);

#endif
