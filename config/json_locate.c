#include "json_locate.h"

#include <string.h>

struct scan {
    const char *s;
    size_t len;
    size_t pos;
    int line;
    int col;
};

static void advance(struct scan *sc)
{
    unsigned char c = (unsigned char)sc->s[sc->pos++];

    if (c == '\n') {
        sc->line++;
        sc->col = 1;
    } else if ((c & 0xC0) != 0x80) {
        /* Continuation bytes do not start a new character. */
        sc->col++;
    }
}

static void skip_ws(struct scan *sc)
{
    while (sc->pos < sc->len && strchr(" \t\r\n", sc->s[sc->pos]) != NULL &&
           sc->s[sc->pos] != '\0') {
        advance(sc);
    }
}

/* Skip a string literal; when out is non-NULL, report where its content
 * starts and how many raw bytes it spans (escapes left as written). */
static void skip_string(struct scan *sc, size_t *raw_start, size_t *raw_len)
{
    advance(sc); /* opening quote */
    size_t start = sc->pos;
    while (sc->pos < sc->len && sc->s[sc->pos] != '"') {
        if (sc->s[sc->pos] == '\\' && sc->pos + 1 < sc->len) {
            advance(sc);
        }
        advance(sc);
    }
    if (raw_start != NULL) {
        *raw_start = start;
        *raw_len = sc->pos - start;
    }
    if (sc->pos < sc->len) {
        advance(sc); /* closing quote */
    }
}

static void skip_value(struct scan *sc);

static void skip_container(struct scan *sc, char close)
{
    advance(sc);
    for (;;) {
        skip_ws(sc);
        if (sc->pos >= sc->len) {
            return;
        }
        char c = sc->s[sc->pos];
        if (c == close) {
            advance(sc);
            return;
        }
        if (c == ',' || c == ':') {
            advance(sc);
            continue;
        }
        skip_value(sc);
    }
}

static void skip_value(struct scan *sc)
{
    char c = sc->s[sc->pos];

    if (c == '"') {
        skip_string(sc, NULL, NULL);
    } else if (c == '{') {
        skip_container(sc, '}');
    } else if (c == '[') {
        skip_container(sc, ']');
    } else {
        size_t start = sc->pos;
        while (sc->pos < sc->len && sc->s[sc->pos] != '\0' &&
               strchr(",]} \t\r\n", sc->s[sc->pos]) == NULL) {
            advance(sc);
        }
        if (sc->pos == start && sc->pos < sc->len) {
            /* A byte no value starts with (a stray bracket, a NUL): step
             * over it, or the container loop would never move on. */
            advance(sc);
        }
    }
}

/* Keys in config files are plain ASCII; an escaped key simply never
 * matches, and the caller falls back to the enclosing position. */
static bool key_equals(const struct scan *sc, size_t start, size_t len,
                       const char *key)
{
    return strlen(key) == len && memcmp(sc->s + start, key, len) == 0;
}

int tg_json_locate(const char *text, size_t len, const struct tg_json_step *path,
                   size_t depth, bool want_key, int *line, int *col)
{
    struct scan sc = {.s = text, .len = len, .pos = 0, .line = 1, .col = 1};

    *line = 1;
    *col = 1;
    skip_ws(&sc);
    for (size_t d = 0; d < depth; d++) {
        const struct tg_json_step *step = &path[d];
        bool found = false;

        if (sc.pos >= len) {
            return -1;
        }
        /* On failure the caller gets the innermost container found. */
        *line = sc.line;
        *col = sc.col;
        if (step->key != NULL && sc.s[sc.pos] == '{') {
            advance(&sc);
            while (!found) {
                skip_ws(&sc);
                if (sc.pos >= len || sc.s[sc.pos] != '"') {
                    return -1;
                }
                int kline = sc.line, kcol = sc.col;
                size_t ks, kl;
                skip_string(&sc, &ks, &kl);
                skip_ws(&sc);
                if (sc.pos < len && sc.s[sc.pos] == ':') {
                    advance(&sc);
                }
                skip_ws(&sc);
                if (key_equals(&sc, ks, kl, step->key)) {
                    found = true;
                    if (d + 1 == depth && want_key) {
                        *line = kline;
                        *col = kcol;
                        return 0;
                    }
                    break;
                }
                skip_value(&sc);
                skip_ws(&sc);
                if (sc.pos < len && sc.s[sc.pos] == ',') {
                    advance(&sc);
                } else {
                    return -1;
                }
            }
        } else if (step->key == NULL && sc.s[sc.pos] == '[') {
            advance(&sc);
            for (size_t i = 0;; i++) {
                skip_ws(&sc);
                if (sc.pos >= len || sc.s[sc.pos] == ']') {
                    return -1;
                }
                if (i == step->index) {
                    break;
                }
                skip_value(&sc);
                skip_ws(&sc);
                if (sc.pos < len && sc.s[sc.pos] == ',') {
                    advance(&sc);
                }
            }
        } else {
            return -1;
        }
    }
    *line = sc.line;
    *col = sc.col;
    return 0;
}
