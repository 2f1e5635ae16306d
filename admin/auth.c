#include "auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"

#define ADDR_MAX 64

struct client {
    char addr[ADDR_MAX];
    unsigned failures;       /* in the current window */
    int64_t window_start_ns;
    int64_t blocked_until_ns;
    int64_t last_seen_ns;
};

/* An address that presented the right token. */
struct trusted {
    char addr[ADDR_MAX];
    int64_t until_ns;
};

struct tg_auth {
    pthread_mutex_t mu;
    char *token;
    size_t token_len;
    uint64_t failures;
    uint64_t blocked;
    /* Everyone together. */
    unsigned all_failures;   /* in the current window */
    int64_t all_window_start_ns;
    int64_t all_blocked_until_ns;
    struct trusted trusted[TG_AUTH_TRUSTED];
    size_t count;
    struct client clients[TG_AUTH_TRACKED];
};

bool tg_auth_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    /* Every byte of b is looked at whatever the outcome; a is read modulo
     * its length so a shorter or longer guess costs the same per byte. */
    volatile unsigned char diff = alen != blen;
    if (alen == 0) {
        return blen == 0;
    }
    for (size_t i = 0; i < blen; i++) {
        diff |= (unsigned char)(a[i % alen] ^ b[i]);
    }
    return diff == 0;
}

static void wipe_free(char *s)
{
    if (s != NULL) {
        volatile char *p = s;
        while (*p != '\0') {
            *p++ = '\0';
        }
        free(s);
    }
}

int tg_auth_set_token(struct tg_auth *a, const char *token)
{
    char *copy = NULL;
    if (token != NULL && (copy = strdup(token)) == NULL) {
        return -ENOMEM;
    }
    pthread_mutex_lock(&a->mu);
    wipe_free(a->token);
    a->token = copy;
    a->token_len = copy != NULL ? strlen(copy) : 0;
    pthread_mutex_unlock(&a->mu);
    return 0;
}

int tg_auth_create(const char *token, struct tg_auth **out)
{
    struct tg_auth *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        return -ENOMEM;
    }
    pthread_mutex_init(&a->mu, NULL);
    if (tg_auth_set_token(a, token) < 0) {
        tg_auth_destroy(a);
        return -ENOMEM;
    }
    *out = a;
    return 0;
}

void tg_auth_destroy(struct tg_auth *a)
{
    if (a == NULL) {
        return;
    }
    wipe_free(a->token);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

void tg_auth_brake_key(const char *client, char *out, size_t len)
{
    struct in6_addr a6;
    if (inet_pton(AF_INET6, client, &a6) != 1) {
        snprintf(out, len, "%s", client);
        return;
    }
    char text[INET6_ADDRSTRLEN];
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
        inet_ntop(AF_INET, &a6.s6_addr[12], text, sizeof(text));
        snprintf(out, len, "%s", text);
        return;
    }
    memset(&a6.s6_addr[8], 0, 8);
    inet_ntop(AF_INET6, &a6, text, sizeof(text));
    snprintf(out, len, "%s/64", text);
}

static bool is_trusted(const struct tg_auth *a, const char *addr, int64_t now)
{
    for (size_t i = 0; i < TG_AUTH_TRUSTED; i++) {
        if (a->trusted[i].until_ns > now && strcmp(a->trusted[i].addr, addr) == 0) {
            return true;
        }
    }
    return false;
}

/* Remember addr as one that got in, replacing its own entry, an expired
 * one or the one closest to expiring. */
static void trust(struct tg_auth *a, const char *addr, int64_t now)
{
    struct trusted *slot = &a->trusted[0];
    for (size_t i = 0; i < TG_AUTH_TRUSTED; i++) {
        struct trusted *t = &a->trusted[i];
        if (strcmp(t->addr, addr) == 0) {
            slot = t;
            break;
        }
        if (t->until_ns < slot->until_ns) {
            slot = t;
        }
    }
    snprintf(slot->addr, sizeof(slot->addr), "%s", addr);
    slot->until_ns = now + (int64_t)TG_AUTH_TRUSTED_S * 1000000000;
}

/* The entry of addr, created (evicting the stalest) when absent. */
static struct client *client_get(struct tg_auth *a, const char *addr, int64_t now)
{
    struct client *oldest = NULL;
    for (size_t i = 0; i < a->count; i++) {
        struct client *c = &a->clients[i];
        if (strcmp(c->addr, addr) == 0) {
            c->last_seen_ns = now;
            return c;
        }
        if (oldest == NULL || c->last_seen_ns < oldest->last_seen_ns) {
            oldest = c;
        }
    }
    struct client *c = a->count < TG_AUTH_TRACKED ? &a->clients[a->count++] : oldest;
    memset(c, 0, sizeof(*c));
    snprintf(c->addr, sizeof(c->addr), "%s", addr);
    c->last_seen_ns = now;
    c->window_start_ns = now;
    return c;
}

static void client_forget(struct tg_auth *a, const char *addr)
{
    for (size_t i = 0; i < a->count; i++) {
        if (strcmp(a->clients[i].addr, addr) == 0) {
            a->clients[i] = a->clients[--a->count];
            return;
        }
    }
}

static void note_failure(struct tg_auth *a, struct client *c, int64_t now)
{
    const int64_t window = (int64_t)TG_AUTH_WINDOW_S * 1000000000;
    a->failures++;
    if (now - a->all_window_start_ns > window) {
        a->all_window_start_ns = now;
        a->all_failures = 0;
    }
    if (++a->all_failures >= TG_AUTH_ALL_FAILURES) {
        a->all_blocked_until_ns = a->all_window_start_ns + window;
    }
    if (now - c->window_start_ns > (int64_t)TG_AUTH_WINDOW_S * 1000000000) {
        c->window_start_ns = now;
        c->failures = 0;
    }
    c->failures++;
    if (c->failures >= TG_AUTH_FREE_FAILURES) {
        unsigned extra = c->failures - TG_AUTH_FREE_FAILURES;
        int64_t block_s = extra >= 9 ? TG_AUTH_MAX_BLOCK_S : (int64_t)1 << extra;
        if (block_s > TG_AUTH_MAX_BLOCK_S) {
            block_s = TG_AUTH_MAX_BLOCK_S;
        }
        c->blocked_until_ns = now + block_s * 1000000000;
        /* Keep counting in one window while blocks keep coming. */
        c->window_start_ns = now;
    }
}

enum tg_auth_result tg_auth_check(struct tg_auth *a, const char *client,
                                  const char *authorization, int *retry_after_s)
{
    int64_t now = tg_now_ns();
    enum tg_auth_result res;

    pthread_mutex_lock(&a->mu);
    if (a->token == NULL) {
        pthread_mutex_unlock(&a->mu);
        return TG_AUTH_NO_TOKEN_CONFIGURED;
    }
    char key[ADDR_MAX];
    tg_auth_brake_key(client != NULL ? client : "-", key, sizeof(key));
    struct client *c = client_get(a, key, now);
    int64_t until = c->blocked_until_ns;
    if (a->all_blocked_until_ns > until && !is_trusted(a, key, now)) {
        until = a->all_blocked_until_ns;
    }
    if (until > now) {
        a->blocked++;
        *retry_after_s = (int)((until - now + 999999999) / 1000000000);
        pthread_mutex_unlock(&a->mu);
        return TG_AUTH_BLOCKED;
    }
    if (authorization == NULL) {
        res = TG_AUTH_MISSING;
    } else if (strncasecmp(authorization, "Bearer", 6) != 0 ||
               (authorization[6] != ' ' && authorization[6] != '\t')) {
        res = TG_AUTH_WRONG_SCHEME;
    } else {
        const char *t = authorization + 7;
        while (*t == ' ' || *t == '\t') {
            t++;
        }
        size_t len = strlen(t);
        while (len > 0 && (t[len - 1] == ' ' || t[len - 1] == '\t')) {
            len--;
        }
        res = tg_auth_equal(a->token, a->token_len, t, len) ? TG_AUTH_OK : TG_AUTH_WRONG_TOKEN;
    }
    if (res == TG_AUTH_OK) {
        client_forget(a, key);
        trust(a, key, now);
    } else {
        note_failure(a, c, now);
    }
    pthread_mutex_unlock(&a->mu);
    return res;
}

void tg_auth_counts(struct tg_auth *a, uint64_t *failures, uint64_t *blocked)
{
    pthread_mutex_lock(&a->mu);
    *failures = a->failures;
    *blocked = a->blocked;
    pthread_mutex_unlock(&a->mu);
}
