/*
 * Header rules of the proxy (RFC 9110 section 7.6): what crosses tracegate
 * in each direction, and what it adds.
 *
 * Request side: hop-by-hop fields (Connection and every field it names,
 * Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-*) and Expect
 * (tracegate answers 100-continue itself) are dropped; X-Forwarded-For is
 * appended to, X-Forwarded-Proto and X-Forwarded-Host are set, Via gains
 * "1.1 tracegate". Response side: the same hop-by-hop set is dropped,
 * Content-Length stays with libmicrohttpd, everything else (repeated
 * Set-Cookie included) is passed through in order, plus Via.
 *
 * All functions run on the worker thread that owns the connection; lists and
 * strings live in the request arena.
 */
#ifndef TG_HEADERS_H
#define TG_HEADERS_H

#include <curl/curl.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "conn.h"

#define TG_VIA_VALUE "1.1 tracegate"

/* The upstream response head may be at most c->resp_header_limit bytes
 * (config max_response_header_bytes; beyond it the answer is 502).
 * libmicrohttpd builds the response head inside the connection's memory pool,
 * which is sized for a maximal request head plus this (tg_server_create). */

/* A field name (name[0..len), any case) equals the lowercase literal lit. */
static inline bool tg_header_name_is(const char *name, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len == n && strncasecmp(name, lit, n) == 0;
}

/* True for a field that never crosses a proxy (case-insensitive name). */
bool tg_headers_is_hop_by_hop(const char *name, size_t len);

/* A Content-Length value (RFC 9110 8.6): 1 to 18 digits, nothing else.
 * Returns 0 and the value in *out, or TG_EPARSE. */
int tg_headers_parse_content_length(const char *v, size_t len, int64_t *out);

/* Token syntax of RFC 9110 section 5.6.2. */
bool tg_headers_is_token(const char *s, size_t len);

/*
 * Build the upstream request header list for c into its arena. Returns 0 and
 * the list in *out, or -ENOMEM (arena limit) or TG_EPARSE (a header value
 * tracegate refuses to forward).
 */
int tg_headers_build_request(struct tg_conn *c, struct curl_slist **out);

/*
 * Take one header line as curl delivers it ("Name: value\r\n", status lines,
 * the blank line). Returns 1 at the end of the final (non-1xx) header block,
 * 0 to continue, or TG_EPARSE / TG_ETOOBIG for an invalid or oversized
 * upstream header (the caller then answers 502).
 */
int tg_headers_take_response_line(struct tg_conn *c, const char *line, size_t len);

/* Copy the stored upstream headers onto an MHD response, filtered. Returns
 * 0, or -EINVAL if MHD refuses one. */
int tg_headers_apply_response(const struct tg_conn *c, struct MHD_Response *r);

#endif
