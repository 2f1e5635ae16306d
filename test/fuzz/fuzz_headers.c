/*
 * libFuzzer target for the HTTP header handling tracegate wrote
 * (gateway/headers.c), on every input:
 *  - the input as a Content-Length value;
 *  - the input as an upstream response head, one line per '\n', fed the way
 *    libcurl delivers it, then the stored fields applied to a real
 *    libmicrohttpd response (Connection token lists included): nothing
 *    hop-by-hop and nothing the Connection field names may reach it, and
 *    nothing with a control character;
 *  - the input as a client request head in libmicrohttpd's in-place layout
 *    (test/unit/head_layout.h): when it is accepted, its framing must agree
 *    with an independent count of its Content-Length and Transfer-Encoding
 *    lines.
 */
#include "error.h"
#include "fuzz.h"
#include "head_layout.h"
#include "headers.h"

#include <ctype.h>
#include <strings.h>

/* gateway/trace.c is not linked: no trace is active in this target. */
bool tg_trace_replaces_header(const struct tg_trace *tr, const char *name, size_t len)
{
    (void)tr;
    (void)name;
    (void)len;
    return false;
}

static void check_content_length(const uint8_t *data, size_t size)
{
    char *v = fuzz_copy(data, size);
    int64_t n = -7;
    int r = tg_headers_parse_content_length(v, size, &n);

    REQUIRE(r == 0 || r == TG_EPARSE);
    if (r == 0) {
        int64_t want = 0;
        REQUIRE(size >= 1 && size <= 18);
        for (size_t i = 0; i < size; i++) {
            REQUIRE(isdigit((unsigned char)v[i]));
            want = want * 10 + (v[i] - '0');
        }
        REQUIRE(n == want);
    } else {
        REQUIRE(n == -7);
    }
    free(v);
}

struct seen {
    const struct tg_conn *c;
    char conn_tokens[512];
    bool bad;
};

static bool ctl(const char *s)
{
    for (; *s != '\0'; s++) {
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f) {
            return true;
        }
    }
    return false;
}

/* Is name one of the comma/space separated tokens in list? */
static bool in_list(const char *list, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = list; *p != '\0';) {
        while (*p == ',' || *p == ' ' || *p == '\t') {
            p++;
        }
        size_t len = strcspn(p, ", \t");
        if (len == n && n > 0 && strncasecmp(p, name, n) == 0) {
            return true;
        }
        p += len;
    }
    return false;
}

static enum MHD_Result out_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    struct seen *s = cls;

    if (strcasecmp(key, "Via") == 0) {
        return MHD_YES;
    }
    if (tg_headers_is_hop_by_hop(key, strlen(key)) || in_list(s->conn_tokens, key) ||
        ctl(key) || ctl(value) || !tg_headers_is_token(key, strlen(key))) {
        s->bad = true;
    }
    return MHD_YES;
}

static void check_response_head(const uint8_t *data, size_t size)
{
    static char first[4096];
    struct tg_conn *c = calloc(1, sizeof(*c));
    REQUIRE(c != NULL);
    tg_arena_init(&c->arena, first, sizeof(first), 1 << 20);
    c->resp_tail = &c->resp_headers;
    c->content_length = -1;
    c->resp_header_limit = size > 0 ? 64 + (size_t)data[0] * 16 : 64;

    int r = 0;
    const char *p = (const char *)data, *end = p + size;
    while (p < end && r == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        char *line = fuzz_copy((const uint8_t *)p, len);
        r = tg_headers_take_response_line(c, line, len);
        free(line);
        REQUIRE(r == 0 || r == 1 || r == TG_EPARSE || r == TG_ETOOBIG);
        p += len;
    }
    REQUIRE(c->resp_header_bytes <= c->resp_header_limit || r == TG_ETOOBIG);
    struct seen s = {.c = c};
    for (const struct tg_header *h = c->resp_headers; h != NULL; h = h->next) {
        REQUIRE(strlen(h->name) == h->name_len && strlen(h->value) == h->value_len);
        REQUIRE(tg_headers_is_token(h->name, h->name_len));
        REQUIRE(!ctl(h->value));
        REQUIRE(!tg_header_name_is(h->name, h->name_len, "content-length"));
        if (tg_header_name_is(h->name, h->name_len, "connection")) {
            size_t used = strlen(s.conn_tokens);
            snprintf(s.conn_tokens + used, sizeof(s.conn_tokens) - used, ",%s", h->value);
        }
    }
    if (r == 1 && strlen(s.conn_tokens) < sizeof(s.conn_tokens) - 1) {
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        REQUIRE(resp != NULL);
        if (tg_headers_apply_response(c, resp) == 0) {
            MHD_get_response_headers(resp, out_header, &s);
            REQUIRE(!s.bad);
        }
        MHD_destroy_response(resp);
    }
    tg_arena_fini(&c->arena);
    free(c);
}

/* Field lines named name (case-insensitive) in a raw head, up to its end. */
static size_t count_fields(const char *head, const char *name)
{
    size_t n = 0, len = strlen(name);
    const char *p = strchr(head, '\n');

    while (p != NULL) {
        p++;
        if (*p == '\r' || *p == '\n' || *p == '\0') {
            break;
        }
        if (strncasecmp(p, name, len) == 0 && p[len] == ':') {
            n++;
        }
        p = strchr(p, '\n');
    }
    return n;
}

static void check_request_head(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    char *raw = fuzz_cstr(data, size);
    bool body = false;
    int64_t len = -7;
    const char *why = NULL;
    REQUIRE(buf != NULL);
    if (size > 0) {
        memcpy(buf, data, size);
    }
    int r = head_layout_check(buf, size, false, &body, &len, &why);
    REQUIRE(r == -1 || r == 0 || r == 400 || r == 501);
    if (r > 0) {
        REQUIRE(why != NULL && why[0] != '\0');
    }
    /* Only heads without NULs are compared: the raw count stops at one. */
    if (r == 0 && memchr(data, '\0', size) == NULL) {
        size_t cl = count_fields(raw, "content-length");
        size_t te = count_fields(raw, "transfer-encoding");
        REQUIRE(cl <= 1 && te <= 1 && !(cl && te));
        REQUIRE(body == (cl + te > 0));
        if (te) {
            REQUIRE(len == -1);
        } else if (cl) {
            REQUIRE(len >= 0);
        }
    }
    free(raw);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_content_length(data, size);
    check_response_head(data, size);
    check_request_head(data, size);
    return 0;
}
