/* admin/auth.c: token comparison, the Authorization grammar, the brake. */
#include "auth.h"

#include <stdio.h>
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
        enum tg_auth_result want =
            i < TG_AUTH_ALL_FAILURES ? TG_AUTH_WRONG_TOKEN : TG_AUTH_BLOCKED;
        CHECK(tg_auth_check(a, addr, "Bearer x", &retry) == want);
    }
    tg_auth_destroy(a);
}

static void ipv6_counted_by_64(void)
{
    char key[64];
    tg_auth_brake_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", key, sizeof(key));
    CHECK(strcmp(key, "2001:db8:1:2::/64") == 0);
    tg_auth_brake_key("::ffff:10.0.0.7", key, sizeof(key));
    CHECK(strcmp(key, "10.0.0.7") == 0);
    tg_auth_brake_key("10.0.0.7", key, sizeof(key));
    CHECK(strcmp(key, "10.0.0.7") == 0);
    tg_auth_brake_key("-", key, sizeof(key));
    CHECK(strcmp(key, "-") == 0);

    /* Five guesses from five addresses of one /64 use up that /64's free
     * failures; another /64 is not affected. */
    struct tg_auth *a = NULL;
    int retry = 0;
    char addr[64], good[64];
    snprintf(good, sizeof(good), "Bearer %s", TOKEN);
    CHECK(tg_auth_create(TOKEN, &a) == 0);
    for (int i = 0; i < TG_AUTH_FREE_FAILURES; i++) {
        snprintf(addr, sizeof(addr), "2001:db8:0:1::%x", i + 1);
        CHECK(tg_auth_check(a, addr, "Bearer x", &retry) == TG_AUTH_WRONG_TOKEN);
    }
    CHECK(tg_auth_check(a, "2001:db8:0:1::99", good, &retry) == TG_AUTH_BLOCKED);
    CHECK(tg_auth_check(a, "2001:db8:0:2::1", good, &retry) == TG_AUTH_OK);
    tg_auth_destroy(a);
}

static void budget_for_everyone(void)
{
    struct tg_auth *a = NULL;
    int retry = 0;
    char addr[32], good[64];
    snprintf(good, sizeof(good), "Bearer %s", TOKEN);
    CHECK(tg_auth_create(TOKEN, &a) == 0);
    /* An operator gets in from 10.9.9.9 before the attack. */
    CHECK(tg_auth_check(a, "10.9.9.9", good, &retry) == TG_AUTH_OK);
    /* One guess each from more addresses than are tracked: the first
     * TG_AUTH_ALL_FAILURES are looked at, the rest are not. */
    int looked = 0, refused = 0;
    for (int i = 0; i < TG_AUTH_TRACKED * 2; i++) {
        snprintf(addr, sizeof(addr), "10.2.%d.%d", i / 256, i % 256);
        enum tg_auth_result r = tg_auth_check(a, addr, "Bearer x", &retry);
        looked += r == TG_AUTH_WRONG_TOKEN;
        refused += r == TG_AUTH_BLOCKED;
    }
    CHECK(looked == TG_AUTH_ALL_FAILURES);
    CHECK(refused == TG_AUTH_TRACKED * 2 - TG_AUTH_ALL_FAILURES);
    CHECK(retry >= 1 && retry <= TG_AUTH_WINDOW_S);
    /* Even the right token from a new address waits... */
    CHECK(tg_auth_check(a, "10.3.0.1", good, &retry) == TG_AUTH_BLOCKED);
    /* ...but the operator's address is still looked at. */
    CHECK(tg_auth_check(a, "10.9.9.9", good, &retry) == TG_AUTH_OK);
    CHECK(tg_auth_check(a, "10.9.9.9", "Bearer x", &retry) == TG_AUTH_WRONG_TOKEN);
    tg_auth_destroy(a);
}

int main(void)
{
    RUN(equal_compares_whole_tokens);
    RUN(header_grammar);
    RUN(no_token_fails_closed);
    RUN(brake_per_address);
    RUN(table_is_bounded);
    RUN(ipv6_counted_by_64);
    RUN(budget_for_everyone);
    return TEST_SUMMARY();
}
