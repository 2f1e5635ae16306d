/* admin/auth.c: token comparison, the Authorization grammar, the brake. */
#include "auth.h"

#include <string.h>

#include "test.h"

static const char *const TOKEN = "unit-token-0123456789";

static void equal_compares_whole_tokens(void)
{
    CHECK(tg_auth_equal("abcdef", 6, "abcdef", 6));
    CHECK(!tg_auth_equal("abcdef", 6, "abcdeg", 6));
    CHECK(!tg_auth_equal("abcdef", 6, "abcde", 5));
    CHECK(!tg_auth_equal("abcdef", 6, "abcdefabcdef", 12)); /* a repeat is not a match */
    CHECK(!tg_auth_equal("abcdef", 6, "", 0));
    CHECK(tg_auth_equal("", 0, "", 0));
}

static void header_grammar(void)
{
    struct tg_auth *a = NULL;
    int retry = 0;
    char good[64], padded[80];
    CHECK(tg_auth_create(TOKEN, &a) == 0);
    snprintf(good, sizeof(good), "Bearer %s", TOKEN);
    snprintf(padded, sizeof(padded), "bearer \t %s  ", TOKEN);
    CHECK(tg_auth_check(a, "10.0.0.1", good, &retry) == TG_AUTH_OK);
    CHECK(tg_auth_check(a, "10.0.0.1", padded, &retry) == TG_AUTH_OK);
    CHECK(tg_auth_check(a, "10.0.0.2", NULL, &retry) == TG_AUTH_MISSING);
    CHECK(tg_auth_check(a, "10.0.0.3", "Basic dXNlcjpwYXNz", &retry) == TG_AUTH_WRONG_SCHEME);
    CHECK(tg_auth_check(a, "10.0.0.4", "BearerX", &retry) == TG_AUTH_WRONG_SCHEME);
    CHECK(tg_auth_check(a, "10.0.0.5", "Bearer nope", &retry) == TG_AUTH_WRONG_TOKEN);
    tg_auth_destroy(a);
}

static void no_token_fails_closed(void)
{
    struct tg_auth *a = NULL;
    int retry = 0;
    CHECK(tg_auth_create(NULL, &a) == 0);
    CHECK(tg_auth_check(a, "10.0.0.1", "Bearer anything", &retry) ==
          TG_AUTH_NO_TOKEN_CONFIGURED);
    CHECK(tg_auth_set_token(a, TOKEN) == 0);
    char good[64];
    snprintf(good, sizeof(good), "Bearer %s", TOKEN);
    CHECK(tg_auth_check(a, "10.0.0.1", good, &retry) == TG_AUTH_OK);
    CHECK(tg_auth_set_token(a, NULL) == 0);
    CHECK(tg_auth_check(a, "10.0.0.1", good, &retry) == TG_AUTH_NO_TOKEN_CONFIGURED);
    tg_auth_destroy(a);
}

static void brake_per_address(void)
{
    struct tg_auth *a = NULL;
    int retry = 0;
    char good[64];
    snprintf(good, sizeof(good), "Bearer %s", TOKEN);
    CHECK(tg_auth_create(TOKEN, &a) == 0);
    for (int i = 0; i < TG_AUTH_FREE_FAILURES - 1; i++) {
        CHECK(tg_auth_check(a, "10.0.0.9", "Bearer x", &retry) == TG_AUTH_WRONG_TOKEN);
    }
    /* The last free failure starts a block of one second. */
    CHECK(tg_auth_check(a, "10.0.0.9", "Bearer x", &retry) == TG_AUTH_WRONG_TOKEN);
    CHECK(tg_auth_check(a, "10.0.0.9", good, &retry) == TG_AUTH_BLOCKED);
    CHECK(retry == 1);
    CHECK(tg_auth_check(a, "10.0.0.10", good, &retry) == TG_AUTH_OK);
    uint64_t failures = 0, blocked = 0;
    tg_auth_counts(a, &failures, &blocked);
    CHECK(failures == TG_AUTH_FREE_FAILURES && blocked == 1);
    tg_auth_destroy(a);
}

static void table_is_bounded(void)
{
    struct tg_auth *a = NULL;
    int retry = 0;
    char addr[32];
    CHECK(tg_auth_create(TOKEN, &a) == 0);
    /* More addresses than tracked: the oldest are forgotten, none crash. */
    for (int i = 0; i < TG_AUTH_TRACKED * 2; i++) {
        snprintf(addr, sizeof(addr), "10.1.%d.%d", i / 256, i % 256);
        CHECK(tg_auth_check(a, addr, "Bearer x", &retry) == TG_AUTH_WRONG_TOKEN);
    }
    tg_auth_destroy(a);
}

int main(void)
{
    RUN(equal_compares_whole_tokens);
    RUN(header_grammar);
    RUN(no_token_fails_closed);
    RUN(brake_per_address);
    RUN(table_is_bounded);
    return TEST_SUMMARY();
}
