#include <string.h>

#include "config.h"
#include "route.h"
#include "test.h"

static struct tg_config *build(const char **routes, size_t n, const char *upstream)
{
    struct tg_cli cli = {0};
    struct tg_diag diag = {0};
    struct tg_config *cfg = NULL;

    cli.route_args = routes;
    cli.route_count = n;
    cli.upstream = upstream;
    if (tg_config_build(&cli, &cfg, &diag) < 0) {
        for (int i = 0; i < diag.count; i++) {
            fprintf(stderr, "%s\n", diag.line[i]);
        }
        return NULL;
    }
    return cfg;
}

static const char *match(const struct tg_config *cfg, const char *path)
{
    const struct tg_route_conf *r = tg_route_match(cfg, path, strlen(path));
    return r != NULL ? r->prefix : "(none)";
}

static void longest_whole_segment_prefix_wins(void)
{
    const char *routes[] = {"/api=http://a:1", "/api/v2=http://b:2", "/static/=http://c:3"};
    struct tg_config *cfg = build(routes, 3, "http://d:4");

    CHECK(cfg != NULL);
    if (cfg == NULL) {
        return;
    }
    CHECK_STR(match(cfg, "/api"), "/api");
    CHECK_STR(match(cfg, "/api/"), "/api");
    CHECK_STR(match(cfg, "/api/users"), "/api");
    CHECK_STR(match(cfg, "/apix"), "/");
    CHECK_STR(match(cfg, "/api/v2"), "/api/v2");
    CHECK_STR(match(cfg, "/api/v2/x"), "/api/v2");
    CHECK_STR(match(cfg, "/api/v20"), "/api");
    CHECK_STR(match(cfg, "/static"), "/static"); /* trailing '/' normalised */
    CHECK_STR(match(cfg, "/"), "/");
    tg_config_destroy(cfg);
}

static void no_default_route_means_no_match(void)
{
    const char *routes[] = {"/only=http://a:1"};
    struct tg_config *cfg = build(routes, 1, NULL);

    CHECK(cfg != NULL);
    if (cfg == NULL) {
        return;
    }
    CHECK_STR(match(cfg, "/other"), "(none)");
    CHECK_STR(match(cfg, "/only/x"), "/only");
    tg_config_destroy(cfg);
}

int main(void)
{
    RUN(longest_whole_segment_prefix_wins);
    RUN(no_default_route_means_no_match);
    return TEST_SUMMARY();
}
