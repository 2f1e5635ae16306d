/*
 * Fixed-capacity string builder over caller storage.
 *
 * Appends never allocate and never write past cap; an append that does not
 * fit sets `truncated` and writes nothing more, so a caller checks once at
 * the end. The content is not NUL-terminated. Not thread-safe.
 */
#ifndef TG_STRBUF_H
#define TG_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct tg_strbuf {
    char *data;
    size_t len;
    size_t cap;
    bool truncated;
};

static inline void tg_strbuf_init(struct tg_strbuf *sb, char *data, size_t cap)
{
    sb->data = data;
    sb->len = 0;
    sb->cap = cap;
    sb->truncated = false;
}

/* The small appends are inline: encoders call them for every key, comma
 * and quote. */
static inline void tg_strbuf_append(struct tg_strbuf *sb, const char *s, size_t len)
{
    if (sb->truncated || sb->cap - sb->len < len) {
        sb->truncated = true;
        return;
    }
    memcpy(sb->data + sb->len, s, len);
    sb->len += len;
}

static inline void tg_strbuf_puts(struct tg_strbuf *sb, const char *s)
{
    tg_strbuf_append(sb, s, strlen(s));
}

static inline void tg_strbuf_putc(struct tg_strbuf *sb, char c)
{
    if (sb->truncated || sb->len == sb->cap) {
        sb->truncated = true;
        return;
    }
    sb->data[sb->len++] = c;
}
void tg_strbuf_u64(struct tg_strbuf *sb, uint64_t v);
void tg_strbuf_i64(struct tg_strbuf *sb, int64_t v);

/* Append v with exactly `decimals` digits after the point (v >= 0). */
void tg_strbuf_fixed(struct tg_strbuf *sb, double v, int decimals);

/* Length of the valid UTF-8 sequence at s[0..avail) (RFC 3629: no
 * overlongs, no surrogates, nothing above U+10FFFF), or 0 if the bytes
 * there are not one. avail >= 1. */
size_t tg_strbuf_utf8_len(const unsigned char *s, size_t avail);

/*
 * Append s[0..len) as a JSON string literal, quotes included. Quotes,
 * backslashes and every control character are escaped, and bytes that are
 * not valid UTF-8 become U+FFFD, so the result is always one valid JSON
 * line whatever the input (no CR or LF can get through). If the literal
 * would exceed max_bytes of input, the input is cut at a character
 * boundary and "..." is appended inside the quotes.
 */
void tg_strbuf_json_string(struct tg_strbuf *sb, const char *s, size_t len,
                           size_t max_bytes);

#endif
