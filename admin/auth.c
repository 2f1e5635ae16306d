#include "auth.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ADDR_MAX 64

struct client {
    char addr[ADDR_MAX];
    unsigned failures;       /* in the current window */
    int64_t window_start_ns;
    int64_t blocked_until_ns;
    int64_t last_seen_ns;
};

struct tg_auth {
    pthread_mutex_t mu;
    char *token;
    size_t token_len;
    uint64_t failures;
    uint64_t blocked;
    size_t count;
    struct client clients[TG_AUTH_TRACKED];
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

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
    strncpy(c->addr, addr, sizeof(c->addr) - 1);
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
    a->failures++;
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
    int64_t now = mono_ns();
    enum tg_auth_result res;

    pthread_mutex_lock(&a->mu);
    if (a->token == NULL) {
        pthread_mutex_unlock(&a->mu);
        return TG_AUTH_NO_TOKEN_CONFIGURED;
    }
    struct client *c = client_get(a, client != NULL ? client : "-", now);
    if (c->blocked_until_ns > now) {
        a->blocked++;
        *retry_after_s = (int)((c->blocked_until_ns - now + 999999999) / 1000000000);
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
        client_forget(a, c->addr);
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
