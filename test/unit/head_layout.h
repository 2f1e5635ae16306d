/*
 * Feed a raw request head to tg_headers_check_*() laid out the way
 * libmicrohttpd 0.9.75 leaves it after parsing in place: the request line's
 * version and each field line's name and value NUL-terminated inside one
 * buffer, line terminators and the colon replaced by NULs, whitespace after
 * the colon skipped, a value ending at its first NUL (libmicrohttpd measures
 * values with strlen). The method is the request line up to its first
 * space. A line may end in CRLF or in a bare LF; a field line
 * without a colon ends the walk (libmicrohttpd refuses such a head itself).
 * Used by the unit test and the fuzz target of gateway/headers.c.
 */
#ifndef TG_HEAD_LAYOUT_H
#define TG_HEAD_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "headers.h"

/* Lays out buf[0..len) in place (buf must have one spare byte after len)
 * and checks it. Returns what tg_headers_check_end() returns, or -1 when
 * the head has no request line or no end. */
static inline int head_layout_check(char *buf, size_t len, bool http10, bool *has_body,
                                    int64_t *body_length, const char **why)
{
    struct tg_reqcheck rc;
    char *end = buf + len;
    char *nl = memchr(buf, '\n', len);

    if (nl == NULL) {
        return -1;
    }
    buf[len] = '\0';
    /* request line: its text ends before CR LF or LF */
    char *line_end = nl > buf && nl[-1] == '\r' ? nl - 1 : nl;
    *line_end = '\0';
    *nl = '\0';
    tg_headers_check_begin(&rc, buf, strcspn(buf, " "), line_end);
    char *p = nl + 1;
    for (;;) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) {
            return -1;
        }
        char *text_end = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
        if (text_end == p) {
            break; /* the empty line */
        }
        *text_end = '\0';
        *nl = '\0';
        char *colon = memchr(p, ':', (size_t)(text_end - p));
        if (colon == NULL) {
            return -1;
        }
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t') {
            v++;
        }
        tg_headers_check_field(&rc, p, (size_t)(colon - p), v, strlen(v));
        p = nl + 1;
    }
    return tg_headers_check_end(&rc, http10, has_body, body_length, why);
}

#endif
