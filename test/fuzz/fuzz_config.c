/*
 * libFuzzer target for the configuration file: the input is written to a
 * memory-backed file and built with tg_config_build(), as `tracegate
 * --config FILE` would. Every input either gives a config or -EINVAL with
 * at least one "file:line:column: message" diagnostic; a config that comes
 * out is checked for the promises config.h makes (routes sorted by prefix
 * length, prefixes starting with '/', limits in range).
 */
#include "config.h"
#include "fuzz.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

static int memfd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tg_cli cli = {0};
    struct tg_config *cfg = NULL;
    static struct tg_diag diag;

    if (memfd < 0) {
        memfd = memfd_create("tracegate-fuzz-config", MFD_CLOEXEC);
        REQUIRE(memfd >= 0);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
    }
    REQUIRE(ftruncate(memfd, 0) == 0);
    REQUIRE(pwrite(memfd, data, size, 0) == (ssize_t)size);

    memset(&diag, 0, sizeof(diag));
    cli.config_path = path;
    int r = tg_config_build(&cli, &cfg, &diag);
    if (r != 0) {
        REQUIRE(r < 0);
        REQUIRE(cfg == NULL);
        REQUIRE(diag.count > 0);
        for (int i = 0; i < diag.count; i++) {
            REQUIRE(memchr(diag.line[i], '\0', TG_DIAG_LINE) != NULL);
            REQUIRE(diag.line[i][0] != '\0');
        }
        return 0;
    }
    REQUIRE(cfg != NULL);
    REQUIRE(cfg->workers >= 1);
    REQUIRE(cfg->max_header_bytes >= 1024);
    REQUIRE(cfg->client_timeout_ms >= 1000);
    for (size_t i = 0; i < cfg->route_count; i++) {
        const struct tg_route_conf *rt = &cfg->routes[i];
        REQUIRE(rt->prefix != NULL && rt->prefix[0] == '/');
        REQUIRE(strlen(rt->prefix) == rt->prefix_len);
        REQUIRE(rt->upstream_base != NULL && rt->upstream_authority != NULL);
        REQUIRE(strncmp(rt->upstream_base, "http://", 7) == 0 ||
                strncmp(rt->upstream_base, "https://", 8) == 0);
        if (i > 0) {
            REQUIRE(cfg->routes[i - 1].prefix_len >= rt->prefix_len);
        }
    }
    tg_config_destroy(cfg);
    return 0;
}
