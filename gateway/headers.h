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
 * Request head checks (RFC 9112 sections 2.2, 3.2, 5 and 6), made before
 * anything is forwarded or any body byte is read. A request is refused when
 * its framing could be read two ways by two HTTP implementations (the root
 * of request smuggling): Content-Length with Transfer-Encoding, more than one
 * Content-Length or Transfer-Encoding field, a transfer coding other than
 * exactly "chunked", Transfer-Encoding in HTTP/1.0, more than one Host; a
 * method that is not a token; and when a field line is not one clean "name: value CRLF": a name that is not
 * a token (whitespace before the colon included), control characters in a
 * value (bare CR, NUL), obs-fold, or a bare LF between field lines.
 *
 * The line checks rely on libmicrohttpd 0.9.75 parsing the head in place:
 * each name is followed by the NUL that replaced its colon and by optional
 * whitespace up to the value, each value by the two NULs that replaced its
 * CRLF, and the next field line starts right after them. A field it
 * rebuilt elsewhere (it joins obs-fold lines, mangling the name), a line
 * ended by a bare LF, or a value cut at an embedded NUL breaks that chain.
 *
 * Use: tg_headers_check_begin(&rc, method, end of the request line), then
 * tg_headers_check_field() for every field in arrival order, then
 * tg_headers_check_end(). Nothing is allocated; any thread.
 */
struct tg_reqcheck {
    const char *line_end;   /* end of the previous line's text */
    unsigned host_count;
    unsigned cl_count;
    unsigned te_count;
    int64_t content_length;
    const char *te;
    size_t te_len;
    int status;             /* first problem: 400 or 501; 0 while none */
    const char *why;        /* static text for the answer */
};

/* The method must be a token (RFC 9110 9.1): it is written into the
 * upstream request line as it came. */
void tg_headers_check_begin(struct tg_reqcheck *rc, const char *method, size_t method_len,
                            const char *line_end);
void tg_headers_check_field(struct tg_reqcheck *rc, const char *key, size_t key_len,
                            const char *value, size_t value_len);

/* Returns 0 with the body framing (*has_body; *body_length is the
 * Content-Length or -1 for chunked), or the status to answer (400 or 501,
 * after which the connection must close) with a reason in *why. */
int tg_headers_check_end(struct tg_reqcheck *rc, bool http10, bool *has_body,
                         int64_t *body_length, const char **why);

/* The three steps over the head libmicrohttpd parsed for mhd; version is
 * the string it passed to the access handler. */
int tg_headers_check_request(struct MHD_Connection *mhd, const char *method,
                             const char *version, bool http10, bool *has_body,
                             int64_t *body_length, const char **why);

/*
 * Build the upstream request header list for c into its arena. Returns 0 and
 * the list in *out, or -ENOMEM (arena limit) or TG_EPARSE (a header value
 * tracegate refuses to forward, or more Connection options than it can
 * remove).
 */
int tg_headers_build_request(struct tg_conn *c, struct curl_slist **out);

/*
 * Take one header line as curl delivers it ("Name: value\r\n", status lines,
 * the blank line). Returns 1 at the end of the final (non-1xx) header block,
 * 0 to continue, or TG_EPARSE / TG_ETOOBIG for an invalid or oversized
 * upstream header (the caller then answers 502), or -ENOMEM when the request
 * arena could not get memory (503).
 */
int tg_headers_take_response_line(struct tg_conn *c, const char *line, size_t len);

/* Copy the stored upstream headers onto an MHD response, filtered. Returns
 * 0, -EINVAL if MHD refuses one (an empty value) or Connection names more
 * options than tracegate can remove, or -ENOMEM when MHD could not
 * allocate. */
int tg_headers_apply_response(const struct tg_conn *c, struct MHD_Response *r);

#endif
