/*
 * Bearer-token checks for the admin endpoints, and the brake on guessing.
 *
 * The token is compared in time that depends only on the length of what
 * the client sent, never on where it differs from the real one. A client
 * address that fails TG_AUTH_FREE_FAILURES times within a minute is then
 * answered 429 for a time that doubles with each further failure (up to
 * TG_AUTH_MAX_BLOCK_S), without its guesses being looked at; a success
 * forgets its failures. IPv6 clients are counted by their /64 (one host
 * commonly holds a whole /64), IPv4 ones by address. The table of
 * addresses is bounded: past TG_AUTH_TRACKED addresses the one seen
 * longest ago is forgotten.
 *
 * So that rotating through more addresses than that buys no more guesses,
 * there is also a budget for everyone together: once TG_AUTH_ALL_FAILURES
 * checks failed within a minute, guesses are not looked at for the rest of
 * that minute (429) — except from an address that presented the right
 * token within the last TG_AUTH_TRUSTED_S, so an operator who was in keeps
 * getting in during an attack (their own address's brake still applies).
 *
 * Thread safety: tg_auth_check and tg_auth_note_* may be called from any
 * thread (one mutex, held for a table lookup).
 */
#ifndef TG_AUTH_H
#define TG_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TG_AUTH_FREE_FAILURES 5
#define TG_AUTH_WINDOW_S 60
#define TG_AUTH_MAX_BLOCK_S 300
#define TG_AUTH_TRACKED 1024
#define TG_AUTH_ALL_FAILURES 1000
#define TG_AUTH_TRUSTED 64
#define TG_AUTH_TRUSTED_S (24 * 3600)

struct tg_auth;

enum tg_auth_result {
    TG_AUTH_OK,
    TG_AUTH_NO_TOKEN_CONFIGURED,  /* fail closed */
    TG_AUTH_MISSING,              /* no Authorization header */
    TG_AUTH_WRONG_SCHEME,         /* not Bearer */
    TG_AUTH_WRONG_TOKEN,
    TG_AUTH_BLOCKED,              /* too many failures: 429 */
};

/* token: NULL when none is configured (copied). 0 or -ENOMEM. */
int tg_auth_create(const char *token, struct tg_auth **out);
void tg_auth_destroy(struct tg_auth *a);
/* Replace the token (a reload). 0 or -ENOMEM; the old one stays on error. */
int tg_auth_set_token(struct tg_auth *a, const char *token);

/*
 * Check an Authorization header value (NULL when absent) from client
 * address `client`. Counts a failure against the address. When the result
 * is TG_AUTH_BLOCKED, *retry_after_s says how long the block still lasts.
 */
enum tg_auth_result tg_auth_check(struct tg_auth *a, const char *client,
                                  const char *authorization, int *retry_after_s);

/* Failed checks since start, and answers refused while blocked. */
void tg_auth_counts(struct tg_auth *a, uint64_t *failures, uint64_t *blocked);

/* The brake's key for a client address: an IPv6 address's /64 as
 * "prefix::/64" (an IPv4-mapped one as the IPv4 address), anything else
 * unchanged. */
void tg_auth_brake_key(const char *client, char *out, size_t len);

/* a[0..alen) == b[0..blen) in time that depends on blen only. */
bool tg_auth_equal(const char *a, size_t alen, const char *b, size_t blen);

#endif
