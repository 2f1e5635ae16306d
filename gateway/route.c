#include "route.h"

#include <string.h>

const struct tg_route_conf *tg_route_match(const struct tg_config *cfg,
                                           const char *path, size_t len)
{
    /* Routes are sorted longest prefix first, so the first hit wins. */
    for (size_t i = 0; i < cfg->route_count; i++) {
        const struct tg_route_conf *r = &cfg->routes[i];
        size_t n = r->prefix_len;
        if (n == 1) {
            return r;
        }
        if (len >= n && memcmp(path, r->prefix, n) == 0 &&
            (len == n || path[n] == '/')) {
            return r;
        }
    }
    return NULL;
}
