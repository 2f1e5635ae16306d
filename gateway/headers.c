#include "headers.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "error.h"

/* Connection options (RFC 9110 7.6.1) a message may name. Every field
 * named must be removed, so a message naming more is refused rather than
 * forwarded with the rest left in. */
#define CONNECTION_TOKENS_MAX 64

struct slice {
    const char *p;
    size_t len;
};

bool tg_headers_is_hop_by_hop(const char *name, size_t len)
{
    /* RFC 9110 7.6.1 plus the de-facto Keep-Alive and Proxy-* fields. */
    return tg_header_name_is(name, len, "connection") || tg_header_name_is(name, len, "keep-alive") ||
           tg_header_name_is(name, len, "te") || tg_header_name_is(name, len, "trailer") ||
           tg_header_name_is(name, len, "transfer-encoding") || tg_header_name_is(name, len, "upgrade") ||
           (len >= 6 && strncasecmp(name, "proxy-", 6) == 0);
}

/* tchar of RFC 9110 5.6.2, as a table: header names are checked on every
 * request and response. */
static const unsigned char tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
    ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,
    ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,
    ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
    ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
    ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
    ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
    ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

bool tg_headers_is_token(const char *s, size_t len)
{
    if (len == 0) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!tchar[(unsigned char)s[i]]) {
            return false;
        }
    }
    return true;
}

/* field-value: visible characters, obs-text, SP and HTAB; nothing that
 * could end a line in what we forward. */
static bool valid_value(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return false;
        }
    }
    return true;
}

/* The trace context fields tracegate reads and replaces. A malformed one
 * starts a new trace rather than failing the request (W3C Trace Context:
 * an invalid traceparent is ignored), so control characters in it are not
 * a reason to refuse; it is then dropped, never forwarded. A CR still is:
 * another reader may take it for the end of the line. */
static bool trace_field(const char *name, size_t len)
{
    return tg_header_name_is(name, len, "traceparent") ||
           tg_header_name_is(name, len, "tracestate") || tg_header_name_is(name, len, "baggage");
}

/* Add the comma-separated tokens of a Connection value to out[*have..max).
 * False when they do not all fit. */
static bool connection_tokens(const char *v, size_t len, struct slice *out, size_t *have,
                              size_t max)
{
    size_t i = 0;

    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) {
            i++;
        }
        size_t start = i;
        while (i < len && v[i] != ',' && v[i] != ' ' && v[i] != '\t') {
            i++;
        }
        if (i > start) {
            if (*have == max) {
                return false;
            }
            out[(*have)++] = (struct slice){v + start, i - start};
        }
    }
    return true;
}

static bool listed(const struct slice *tokens, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (tokens[i].len == len && strncasecmp(tokens[i].p, name, len) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- request direction -------------------------------------------------- */

/* A Host value (RFC 9110 7.2): uri-host [":" port], that is unreserved,
 * pct-encoded, sub-delims, ':' and the brackets of an IP literal. */
static bool valid_host(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("-._~%!$&'()*+,;=:[]", c) != NULL) || c == '\0') {
            return false;
        }
    }
    return true;
}

static void refuse(struct tg_reqcheck *rc, int status, const char *why)
{
    if (rc->status == 0) {
        rc->status = status;
        rc->why = why;
    }
}

void tg_headers_check_begin(struct tg_reqcheck *rc, const char *method, size_t method_len,
                            const char *line_end)
{
    *rc = (struct tg_reqcheck){.line_end = line_end, .content_length = -1};
    if (!tg_headers_is_token(method, method_len)) {
        refuse(rc, 400, "invalid request method");
    }
}

void tg_headers_check_field(struct tg_reqcheck *rc, const char *key, size_t key_len,
                            const char *value, size_t value_len)
{
    /* The previous line ended in CRLF (two NULs now) and this one starts
     * right after it; the name is a token, then the colon's NUL, then only
     * whitespace up to the value. Each step stops at the first mismatch,
     * so nothing is read past the line. */
    const char *e = rc->line_end;
    if (e == NULL || key != e + 2 || e[0] != '\0' || e[1] != '\0') {
        refuse(rc, 400, "malformed request header line (bare LF, NUL or obs-fold)");
    }
    if (!tg_headers_is_token(key, key_len)) {
        refuse(rc, 400, "invalid request header field name");
    }
    const char *p = key + key_len;
    if (*p != '\0') {
        refuse(rc, 400, "invalid request header field name");
    } else {
        p++;
        while (p != value && (*p == ' ' || *p == '\t')) {
            p++;
        }
        if (p != value) {
            refuse(rc, 400, "malformed request header line (bare LF, NUL or obs-fold)");
        }
    }
    if (!valid_value(value, value_len) &&
        !(trace_field(key, key_len) && memchr(value, '\r', value_len) == NULL)) {
        refuse(rc, 400, "control character in a request header value");
    }
    rc->line_end = value + value_len;

    if (tg_header_name_is(key, key_len, "host")) {
        /* RFC 9112 3.2: exactly one, with a valid value. */
        if (++rc->host_count > 1) {
            refuse(rc, 400, "more than one Host header");
        }
        if (!valid_host(value, value_len)) {
            refuse(rc, 400, "invalid Host header");
        }
    } else if (tg_header_name_is(key, key_len, "content-length")) {
        /* RFC 9112 6.3: a repeated or invalid length is unrecoverable.
         * Repeats are refused even when equal: one reader may take the
         * first, another the last. */
        if (++rc->cl_count > 1) {
            refuse(rc, 400, "more than one Content-Length header");
        } else if (tg_headers_parse_content_length(value, value_len, &rc->content_length) < 0) {
            refuse(rc, 400, "invalid Content-Length");
        }
    } else if (tg_header_name_is(key, key_len, "transfer-encoding")) {
        if (++rc->te_count > 1) {
            refuse(rc, 400, "more than one Transfer-Encoding header");
        }
        rc->te = value;
        rc->te_len = value_len;
    }
}

/* The status for a Transfer-Encoding other than exactly "chunked": 501 when
 * chunked is last after other codings (framing is known, the coding is not
 * supported), else 400 (RFC 9112 6.1: chunked is not the final coding). */
static int te_status(const char *v, size_t len)
{
    size_t end = len, start;

    while (end > 0 && (v[end - 1] == ' ' || v[end - 1] == '\t')) {
        end--;
    }
    start = end;
    while (start > 0 && v[start - 1] != ',') {
        start--;
    }
    bool several = start > 0;
    while (start < end && (v[start] == ' ' || v[start] == '\t')) {
        start++;
    }
    bool chunked_last = end - start == 7 && strncasecmp(v + start, "chunked", 7) == 0;
    return chunked_last && several ? 501 : 400;
}

int tg_headers_check_end(struct tg_reqcheck *rc, bool http10, bool *has_body,
                         int64_t *body_length, const char **why)
{
    if (rc->te_count > 0) {
        if (rc->cl_count > 0) {
            /* RFC 9112 6.1 allows answering by Transfer-Encoding and
             * closing; a proxy in front may have used the length. */
            refuse(rc, 400, "both Content-Length and Transfer-Encoding");
        }
        if (http10) {
            refuse(rc, 400, "Transfer-Encoding in an HTTP/1.0 request");
        }
        /* libmicrohttpd decodes chunked only for exactly this value (its
         * leading whitespace is already gone); anything else it would
         * read until the connection closes. */
        if (!(rc->te_len == 7 && strncasecmp(rc->te, "chunked", 7) == 0)) {
            refuse(rc, te_status(rc->te, rc->te_len),
                   "unsupported Transfer-Encoding (only chunked is accepted)");
        }
    }
    /* The last line ends in CRLF too (a NUL inside its value would hide the
     * rest from us, not from another reader). Only read when every field
     * was found in place: the blank line then follows in the same buffer. */
    if (rc->status == 0 && rc->line_end != NULL &&
        (rc->line_end[0] != '\0' || rc->line_end[1] != '\0')) {
        refuse(rc, 400, "malformed request header line (bare LF, NUL or obs-fold)");
    }
    if (rc->status != 0) {
        *why = rc->why;
        return rc->status;
    }
    *has_body = rc->te_count > 0 || rc->cl_count > 0;
    *body_length = rc->te_count > 0 ? -1 : rc->content_length;
    return 0;
}

static enum MHD_Result check_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                 size_t key_len, const char *value, size_t value_len)
{
    tg_headers_check_field(cls, key, key_len, value, value_len);
    return MHD_YES;
}

int tg_headers_check_request(struct MHD_Connection *mhd, const char *method,
                             const char *version, bool http10, bool *has_body,
                             int64_t *body_length, const char **why)
{
    struct tg_reqcheck rc;

    tg_headers_check_begin(&rc, method, strlen(method),
                           version != NULL ? version + strlen(version) : NULL);
    MHD_get_connection_values_n(mhd, MHD_HEADER_KIND, check_one, &rc);
    return tg_headers_check_end(&rc, http10, has_body, body_length, why);
}

struct req_scan {
    struct tg_conn *c;
    struct slice tokens[CONNECTION_TOKENS_MAX];
    size_t token_count;
    struct slice host;
    struct slice xff[8];
    size_t xff_count;
    bool has_accept;
    bool bad;
    /* list being built */
    struct curl_slist *head;
    struct curl_slist **tail;
    int err;
};

static enum MHD_Result scan_first(void *cls, enum MHD_ValueKind kind, const char *key,
                                  size_t key_len, const char *value, size_t value_len)
{
    struct req_scan *s = cls;

    if (tg_header_name_is(key, key_len, "connection")) {
        if (!connection_tokens(value, value_len, s->tokens, &s->token_count,
                               CONNECTION_TOKENS_MAX)) {
            s->bad = true;
        }
    } else if (tg_header_name_is(key, key_len, "host")) {
        s->host = (struct slice){value, value_len};
    } else if (tg_header_name_is(key, key_len, "x-forwarded-for")) {
        if (s->xff_count < 8) {
            s->xff[s->xff_count++] = (struct slice){value, value_len};
        }
    } else if (tg_header_name_is(key, key_len, "accept")) {
        s->has_accept = true;
    }
    if (!tg_headers_is_token(key, key_len) ||
        (!valid_value(value, value_len) && !trace_field(key, key_len))) {
        s->bad = true;
    }
    return MHD_YES;
}

/* Append "name: value" (or "name;" for an empty value, which is how curl
 * is told to send an empty field rather than remove one). */
static char *push(struct req_scan *s, const char *name, size_t nlen, const char *value,
                  size_t vlen)
{
    if (s->err != 0) {
        return NULL;
    }
    struct tg_arena *a = &s->c->arena;
    struct curl_slist *node = tg_arena_alloc(a, sizeof(*node));
    char *line = tg_arena_alloc(a, nlen + vlen + 3);
    if (node == NULL || line == NULL) {
        s->err = -ENOMEM;
        return NULL;
    }
    memcpy(line, name, nlen);
    if (vlen == 0 && value != NULL) {
        line[nlen] = ';';
        line[nlen + 1] = '\0';
    } else {
        line[nlen] = ':';
        line[nlen + 1] = ' ';
        if (vlen > 0) {
            memcpy(line + nlen + 2, value, vlen);
        }
        line[nlen + 2 + vlen] = '\0';
    }
    node->data = line;
    node->next = NULL;
    *s->tail = node;
    s->tail = &node->next;
    return line;
}

/* "Name:" with nothing after it tells curl not to send a header it would
 * otherwise add by itself. */
static void suppress(struct req_scan *s, const char *name)
{
    push(s, name, strlen(name), NULL, 0);
}

static enum MHD_Result scan_copy(void *cls, enum MHD_ValueKind kind, const char *key,
                                 size_t key_len, const char *value, size_t value_len)
{
    struct req_scan *s = cls;

    if (tg_headers_is_hop_by_hop(key, key_len) || tg_header_name_is(key, key_len, "expect") ||
        tg_header_name_is(key, key_len, "content-length") || tg_header_name_is(key, key_len, "host") ||
        tg_header_name_is(key, key_len, "x-forwarded-for") ||
        tg_header_name_is(key, key_len, "x-forwarded-proto") ||
        tg_header_name_is(key, key_len, "x-forwarded-host") ||
        listed(s->tokens, s->token_count, key, key_len) ||
        tg_trace_replaces_header(&s->c->trace, key, key_len) ||
        (trace_field(key, key_len) && !valid_value(value, value_len))) {
        return MHD_YES;
    }
    push(s, key, key_len, value, value_len);
    return MHD_YES;
}

int tg_headers_build_request(struct tg_conn *c, struct curl_slist **out)
{
    struct req_scan s = {.c = c};
    const struct tg_route_conf *r = c->route;

    s.tail = &s.head;
    MHD_get_connection_values_n(c->mhd, MHD_HEADER_KIND, scan_first, &s);
    if (s.bad) {
        return TG_EPARSE;
    }
    MHD_get_connection_values_n(c->mhd, MHD_HEADER_KIND, scan_copy, &s);

    /* Host: the client's unless the route says otherwise (RFC 9110 7.2). */
    if (r->host_mode == TG_HOST_LITERAL) {
        push(&s, "Host", 4, r->host, strlen(r->host));
    } else if (r->host_mode == TG_HOST_CLIENT && s.host.p != NULL) {
        push(&s, "Host", 4, s.host.p, s.host.len);
    }

    /* X-Forwarded-For: earlier hops first, then this client. */
    size_t ip_len = strlen(c->client_ip);
    size_t xff_len = ip_len;
    for (size_t i = 0; i < s.xff_count; i++) {
        xff_len += s.xff[i].len + 2;
    }
    char *xff = tg_arena_alloc(&c->arena, xff_len + 1);
    if (xff == NULL) {
        return -ENOMEM;
    }
    size_t off = 0;
    for (size_t i = 0; i < s.xff_count; i++) {
        memcpy(xff + off, s.xff[i].p, s.xff[i].len);
        off += s.xff[i].len;
        memcpy(xff + off, ", ", 2);
        off += 2;
    }
    memcpy(xff + off, c->client_ip, ip_len);
    push(&s, "X-Forwarded-For", 15, xff, xff_len);
    push(&s, "X-Forwarded-Proto", 17, "http", 4);
    if (s.host.p != NULL) {
        push(&s, "X-Forwarded-Host", 16, s.host.p, s.host.len);
    }
    push(&s, "Via", 3, TG_VIA_VALUE, sizeof(TG_VIA_VALUE) - 1);

    /* Trace context: ours replaces what the client sent (trace.c). */
    const struct tg_trace *tr = &c->trace;
    if (tr->active) {
        /* A resend names its own CLIENT span in this line (trace.c). */
        char *line = push(&s, "traceparent", 11, tr->out_traceparent,
                          strlen(tr->out_traceparent));
        c->trace.sent_traceparent = line != NULL ? line + sizeof("traceparent: ") - 1 : NULL;
        if (tr->out_tracestate != NULL) {
            push(&s, "tracestate", 10, tr->out_tracestate, tr->out_tracestate_len);
        }
        if (tr->out_baggage != NULL) {
            push(&s, "baggage", 7, tr->out_baggage, tr->out_baggage_len);
        }
    }

    /* Keep curl from adding headers the client did not send (it adds
     * Expect only to requests with a body). */
    if (c->has_body) {
        suppress(&s, "Expect");
    }
    if (!s.has_accept) {
        suppress(&s, "Accept");
    }
    if (s.err != 0) {
        return s.err;
    }
    *out = s.head;
    return 0;
}

/* ---- response direction ------------------------------------------------- */

static int parse_status(const char *line, size_t len)
{
    const char *sp = memchr(line, ' ', len);

    if (sp == NULL || (size_t)(sp - line) + 4 > len) {
        return -1;
    }
    int code = 0;
    for (int i = 1; i <= 3; i++) {
        char d = sp[i];
        if (d < '0' || d > '9') {
            return -1;
        }
        code = code * 10 + (d - '0');
    }
    return code >= 100 ? code : -1;
}

int tg_headers_parse_content_length(const char *v, size_t len, int64_t *out)
{
    int64_t n = 0;

    if (len == 0 || len > 18) {
        return TG_EPARSE;
    }
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return TG_EPARSE;
        }
        n = n * 10 + (v[i] - '0');
    }
    *out = n;
    return 0;
}

int tg_headers_take_response_line(struct tg_conn *c, const char *line, size_t len)
{
    /* strip the line ending */
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
        len--;
    }
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        /* A new status line starts a new block (after 1xx, or trailers
         * never start with HTTP/). */
        int code = parse_status(line, len);
        if (code < 0) {
            return TG_EPARSE;
        }
        c->upstream_status = code;
        c->resp_headers = NULL;
        c->resp_tail = &c->resp_headers;
        c->resp_header_bytes = 0;
        c->content_length = -1;
        return 0;
    }
    if (c->headers_done) {
        return 0; /* trailers of a chunked body: not forwarded */
    }
    if (len == 0) {
        if (c->upstream_status <= 0) {
            return TG_EPARSE;
        }
        /* 1xx blocks are consumed here: 100 Continue was already answered
         * by tracegate, and 101 cannot happen since Upgrade is dropped. */
        return c->upstream_status >= 200 ? 1 : 0;
    }
    if (c->upstream_status < 200) {
        return 0;
    }
    c->resp_header_bytes += len + 2;
    if (c->resp_header_bytes > c->resp_header_limit) {
        return TG_ETOOBIG;
    }
    if (line[0] == ' ' || line[0] == '\t') {
        /* obs-fold (RFC 9112 5.2): replace with a space, joining the
         * previous field's value. */
        struct tg_header *h = c->resp_headers;
        if (h == NULL) {
            return TG_EPARSE;
        }
        while (h->next != NULL) {
            h = h->next;
        }
        size_t i = 0;
        while (i < len && (line[i] == ' ' || line[i] == '\t')) {
            i++;
        }
        if (!valid_value(line + i, len - i)) {
            return TG_EPARSE; /* before the stored value is touched */
        }
        /* NUL-terminated like every stored value: libmicrohttpd takes it
         * as a C string. */
        char *v = tg_arena_alloc(&c->arena, h->value_len + 1 + (len - i) + 1);
        if (v == NULL) {
            return c->arena.out_of_memory ? -ENOMEM : TG_ETOOBIG;
        }
        memcpy(v, h->value, h->value_len);
        v[h->value_len] = ' ';
        memcpy(v + h->value_len + 1, line + i, len - i);
        h->value = v;
        h->value_len += 1 + (len - i);
        v[h->value_len] = '\0';
        return 0;
    }
    const char *colon = memchr(line, ':', len);
    if (colon == NULL) {
        return TG_EPARSE;
    }
    size_t nlen = (size_t)(colon - line);
    if (!tg_headers_is_token(line, nlen)) {
        return TG_EPARSE; /* includes "Name : value" (RFC 9112 5.1) */
    }
    const char *v = colon + 1;
    size_t vlen = len - nlen - 1;
    while (vlen > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) {
        vlen--;
    }
    if (!valid_value(v, vlen)) {
        return TG_EPARSE;
    }
    if (tg_header_name_is(line, nlen, "content-length")) {
        int64_t n;
        if (tg_headers_parse_content_length(v, vlen, &n) < 0 ||
            (c->content_length >= 0 && c->content_length != n)) {
            return TG_EPARSE; /* RFC 9112 6.3: invalid or conflicting */
        }
        c->content_length = n;
        return 0;
    }
    struct tg_header *h = tg_arena_alloc(&c->arena, sizeof(*h));
    char *copy = tg_arena_alloc(&c->arena, nlen + vlen + 2);
    if (h == NULL || copy == NULL) {
        return c->arena.out_of_memory ? -ENOMEM : TG_ETOOBIG;
    }
    memcpy(copy, line, nlen);
    copy[nlen] = '\0';
    memcpy(copy + nlen + 1, v, vlen);
    copy[nlen + 1 + vlen] = '\0';
    *h = (struct tg_header){copy, nlen, copy + nlen + 1, vlen, NULL};
    *c->resp_tail = h;
    c->resp_tail = &h->next;
    return 0;
}

int tg_headers_apply_response(const struct tg_conn *c, struct MHD_Response *r)
{
    struct slice tokens[CONNECTION_TOKENS_MAX];
    size_t ntok = 0;

    for (const struct tg_header *h = c->resp_headers; h != NULL; h = h->next) {
        if (tg_header_name_is(h->name, h->name_len, "connection")) {
            if (!connection_tokens(h->value, h->value_len, tokens, &ntok,
                                   CONNECTION_TOKENS_MAX)) {
                return -EINVAL;
            }
        }
    }
    for (const struct tg_header *h = c->resp_headers; h != NULL; h = h->next) {
        if (tg_headers_is_hop_by_hop(h->name, h->name_len) ||
            listed(tokens, ntok, h->name, h->name_len)) {
            continue;
        }
        /* MHD 0.9.75 refuses an empty value. A single space sends the
         * same field: whitespace around a field value is not part of it
         * (RFC 9110 5.5), so "X-Foo:  " reads as an empty X-Foo. */
        const char *value = h->value_len == 0 ? " " : h->value;
        if (MHD_add_response_header(r, h->name, value) != MHD_YES) {
            return -ENOMEM;  /* names and values were checked on the way in */
        }
    }
    if (MHD_add_response_header(r, "Via", TG_VIA_VALUE) != MHD_YES) {
        return -ENOMEM;
    }
    return 0;
}
