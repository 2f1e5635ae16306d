/*
 * libFuzzer target for the admin endpoints' request handling (admin/admin.c
 * router, admin/telemetry.c bodies, admin/auth.c Authorization values), the
 * way admin/http.c calls it. The first byte picks the method, the path and
 * whether the right token is sent; the rest is the body, or for a header
 * case the Authorization value.
 *
 * Invariants: every answer has a status libmicrohttpd can send and a JSON
 * body where JSON is promised; a request that is not a 200 POST or DELETE
 * leaves the sampling state exactly as it was; a 200 POST leaves a state
 * that a DELETE takes back to the startup settings.
 */
#include <jansson.h>

#include "admin.h"
#include "control.h"
#include "fuzz.h"
#include "sampler.h"

#define TOKEN "fuzz-admin-token-0123456789"

static struct tg_sampler sampler;
static struct tg_control *control;
static struct tg_admin *admin;
static json_t *startup;

static void setup(void)
{
    static struct tg_route_conf routes[2];
    static struct tg_config cfg;
    routes[0].prefix = "/";
    routes[0].prefix_len = 1;
    routes[0].sample_rate = -1.0;
    routes[1].prefix = "/api";
    routes[1].prefix_len = 4;
    routes[1].sample_rate = 0.5;
    cfg.routes = routes;
    cfg.route_count = 2;
    cfg.tracing.enabled = true;
    cfg.tracing.sampler = TG_SAMPLER_PARENTBASED_TRACEIDRATIO;
    cfg.tracing.sampler_arg = 1.0;
    REQUIRE(tg_sampler_init(&sampler, TG_SAMPLER_PARENTBASED_TRACEIDRATIO, 1.0, true,
                            TG_ROUTE_SLOTS, NULL) == 0);
    REQUIRE(tg_control_create(&sampler, NULL, NULL, &control) == 0);
    REQUIRE(tg_control_adopt(control, &cfg) == 0);
    struct tg_admin_conf conf = {.token = TOKEN, .token_from = "fuzz",
                                 .reads = TG_READS_TOKEN, .audit_log = "/dev/null"};
    struct tg_admin_hooks hooks = {0};
    char err[200];
    REQUIRE(tg_admin_create(&conf, control, &hooks, &admin, err, sizeof(err)) == 0);
    startup = tg_control_state(control);
    REQUIRE(startup != NULL);
}

static json_t *state_now(void)
{
    json_t *s = tg_control_state(control);
    REQUIRE(s != NULL);
    return s;
}

/* client: the fuzzed requests come from one address (its wrong tokens
 * brake it), the resets from another. */
static void answer(const char *client, const char *method, const char *path, const char *ctype,
                   const char *authz, const char *body, size_t len, struct tg_admin_reply *r)
{
    struct tg_admin_request rq = {
        .method = method, .path = path, .content_type = ctype,
        .authorization = authz, .client = client, .body = body, .body_len = len,
        .body_too_large = len > TG_ADMIN_BODY_MAX, .loopback = true,
    };
    tg_admin_handle(admin, &rq, r);
    REQUIRE(r->status >= 200 && r->status <= 599);
    REQUIRE(r->content_type != NULL);
    if (strncmp(r->content_type, "application/json", 16) == 0) {
        json_error_t e;
        json_t *doc = json_loadb((const char *)r->body.data, r->body.len, 0, &e);
        REQUIRE(doc != NULL);
        json_decref(doc);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const paths[] = {"/telemetry", "/admin/telemetry", "/telemetry/test",
                                        "/healthz", "/", "/nope", "/admin/debug/tracez",
                                        "/metrics"};
    static const char *const methods[] = {"POST", "GET", "DELETE", "PUT"};
    if (admin == NULL) {
        setup();
    }
    if (size == 0) {
        return 0;
    }
    uint8_t pick = data[0];
    const char *method = methods[pick & 3];
    const char *path = paths[(pick >> 2) & 7];
    bool authz_from_input = (pick & 0x20) != 0;
    const char *ctype = (pick & 0x40) ? "text/plain" : "application/json; charset=utf-8";
    char *rest = fuzz_cstr(data + 1, size - 1);
    const char *authz = authz_from_input ? rest : "Bearer " TOKEN;
    const char *body = authz_from_input ? "{\"rate\": 0.25}" : rest;
    size_t len = authz_from_input ? strlen(body) : size - 1;

    json_t *before = state_now();
    struct tg_admin_reply r;
    answer("10.0.0.1", method, path, ctype, authz, body, len, &r);
    bool changes = strstr(path, "telemetry") != NULL && strstr(path, "test") == NULL &&
                   (strcmp(method, "POST") == 0 || strcmp(method, "DELETE") == 0) &&
                   r.status == 200;
    json_t *after = state_now();
    if (!changes) {
        REQUIRE(json_equal(before, after));
    }
    tg_admin_reply_fini(&r);
    json_decref(before);
    json_decref(after);

    /* Back to the startup settings for the next input. */
    struct tg_admin_reply d;
    answer("127.0.0.1", "DELETE", "/telemetry", NULL, "Bearer " TOKEN, NULL, 0, &d);
    REQUIRE(d.status == 200);
    tg_admin_reply_fini(&d);
    json_t *reset = state_now();
    REQUIRE(json_equal(reset, startup));
    json_decref(reset);
    free(rest);
    return 0;
}
