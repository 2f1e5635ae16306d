#include <errno.h>
#include <string.h>

#include "error.h"
#include "head_layout.h"
#include "headers.h"
#include "test.h"

static void conn_init(struct tg_conn *c)
{
    memset(c, 0, sizeof(*c));
    tg_arena_init(&c->arena, c->arena_first, sizeof(c->arena_first), 1 << 20);
    c->resp_tail = &c->resp_headers;
    c->content_length = -1;
    c->resp_header_limit = 8192;
}

static int feed(struct tg_conn *c, const char *line)
{
    return tg_headers_take_response_line(c, line, strlen(line));
}

static void hop_by_hop_names(void)
{
    CHECK(tg_headers_is_hop_by_hop("Connection", 10));
    CHECK(tg_headers_is_hop_by_hop("keep-alive", 10));
    CHECK(tg_headers_is_hop_by_hop("TE", 2));
    CHECK(tg_headers_is_hop_by_hop("Transfer-Encoding", 17));
    CHECK(tg_headers_is_hop_by_hop("Proxy-Authorization", 19));
    CHECK(!tg_headers_is_hop_by_hop("Set-Cookie", 10));
    CHECK(!tg_headers_is_hop_by_hop("Tex", 3));
}

static void token_syntax(void)
{
    CHECK(tg_headers_is_token("X-Foo_1!", 8));
    CHECK(!tg_headers_is_token("X Foo", 5));
    CHECK(!tg_headers_is_token("X:Foo", 5));
    CHECK(!tg_headers_is_token("", 0));
}

static void skips_1xx_and_keeps_repeated_fields(void)
{
    struct tg_conn c;

    conn_init(&c);
    CHECK(feed(&c, "HTTP/1.1 100 Continue\r\n") == 0);
    CHECK(feed(&c, "\r\n") == 0);
    CHECK(feed(&c, "HTTP/1.1 200 OK\r\n") == 0);
    CHECK(feed(&c, "Set-Cookie: a=1\r\n") == 0);
    CHECK(feed(&c, "Set-Cookie:   b=2  \r\n") == 0);
    CHECK(feed(&c, "Content-Length: 12\r\n") == 0);
    CHECK(feed(&c, "\r\n") == 1);
    CHECK(c.upstream_status == 200);
    CHECK(c.content_length == 12);
    CHECK(c.resp_headers != NULL && strcmp(c.resp_headers->value, "a=1") == 0);
    CHECK(c.resp_headers->next != NULL && strcmp(c.resp_headers->next->value, "b=2") == 0);
    CHECK(c.resp_headers->next->next == NULL); /* Content-Length is not stored */
    tg_arena_fini(&c.arena);
}

static void rejects_what_must_not_be_forwarded(void)
{
    struct tg_conn c;

    conn_init(&c);
    feed(&c, "HTTP/1.1 200 OK\r\n");
    CHECK(feed(&c, "Bad Name: x\r\n") == TG_EPARSE);
    CHECK(feed(&c, "Name : x\r\n") == TG_EPARSE);
    CHECK(feed(&c, "NoColon\r\n") == TG_EPARSE);
    CHECK(feed(&c, "X: a\x01" "b\r\n") == TG_EPARSE);
    CHECK(feed(&c, "Content-Length: 5\r\n") == 0);
    CHECK(feed(&c, "Content-Length: 6\r\n") == TG_EPARSE);
    CHECK(feed(&c, "Content-Length: 5\r\n") == 0);
    CHECK(feed(&c, "Content-Length: -1\r\n") == TG_EPARSE);
    tg_arena_fini(&c.arena);

    conn_init(&c);
    CHECK(feed(&c, "HTTP/1.1 2x0 OK\r\n") == TG_EPARSE);
    tg_arena_fini(&c.arena);
}

static void folds_obs_fold_into_previous_value(void)
{
    struct tg_conn c;

    conn_init(&c);
    /* The arena is reused by every request on a connection: what follows a
     * joined value must not show through. */
    memset(c.arena_first, 'q', sizeof(c.arena_first));
    feed(&c, "HTTP/1.1 200 OK\r\n");
    CHECK(feed(&c, "X-Long: part1\r\n") == 0);
    CHECK(feed(&c, "   part2\r\n") == 0);
    CHECK(c.resp_headers != NULL && strcmp(c.resp_headers->value, "part1 part2") == 0);
    CHECK(c.resp_headers != NULL && c.resp_headers->value_len == 11);
    tg_arena_fini(&c.arena);
}

static void response_header_block_is_bounded(void)
{
    struct tg_conn c;
    char line[1100];
    int r = 0;

    conn_init(&c);
    feed(&c, "HTTP/1.1 200 OK\r\n");
    memset(line, 'a', sizeof(line));
    memcpy(line, "X-Pad: ", 7);
    strcpy(line + sizeof(line) - 3, "\r\n");
    for (int i = 0; i < 100 && r == 0; i++) {
        r = feed(&c, line);
    }
    CHECK(r == TG_ETOOBIG);
    CHECK(c.resp_header_bytes > 8192 && c.resp_header_bytes <= 8192 + sizeof(line));
    tg_arena_fini(&c.arena);
}

struct names {
    char all[4096];
};

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    struct names *n = cls;
    size_t used = strlen(n->all);
    snprintf(n->all + used, sizeof(n->all) - used, "%s;", key);
    return MHD_YES;
}

/* Every field the Connection header names is removed, however many; past
 * what tracegate can track the response is refused, never half-filtered. */
static void connection_options_all_removed_or_refused(void)
{
    for (int count = 60; count <= 70; count += 10) {
        struct tg_conn c;
        char line[2048];
        size_t off;

        conn_init(&c);
        feed(&c, "HTTP/1.1 200 OK\r\n");
        off = (size_t)snprintf(line, sizeof(line), "Connection: keep-alive");
        for (int i = 0; i < count - 2; i++) {
            off += (size_t)snprintf(line + off, sizeof(line) - off, ", X-Opt-%d", i);
        }
        snprintf(line + off, sizeof(line) - off, ", X-Hop\r\n");
        CHECK(feed(&c, line) == 0);
        CHECK(feed(&c, "X-Hop: secret\r\n") == 0);
        CHECK(feed(&c, "X-Kept: yes\r\n") == 0);
        CHECK(feed(&c, "\r\n") == 1);
        struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        struct names n = {{0}};
        int rc = tg_headers_apply_response(&c, r);
        MHD_get_response_headers(r, collect, &n);
        if (count <= 64) {
            CHECK(rc == 0);
            CHECK(strstr(n.all, "X-Hop;") == NULL);
            CHECK(strstr(n.all, "X-Kept;") != NULL);
        } else {
            CHECK(rc == -EINVAL);
        }
        MHD_destroy_response(r);
        tg_arena_fini(&c.arena);
    }
}

/* A raw head through the in-place layout; returns the check's answer. */
static int check_head(const char *head, bool *has_body, int64_t *len, const char **why)
{
    char buf[1024];
    size_t n = strlen(head);

    *has_body = false;
    *len = -7;
    *why = NULL;
    memcpy(buf, head, n);
    return head_layout_check(buf, n, strstr(head, "HTTP/1.0") != NULL, has_body, len, why);
}

static void request_framing_accepted(void)
{
    bool body;
    int64_t len;
    const char *why;

    CHECK(check_head("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &body, &len, &why) == 0);
    CHECK(!body);
    CHECK(check_head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", &body, &len,
                     &why) == 0);
    CHECK(body && len == 12);
    CHECK(check_head("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\t CHUNKED\r\n\r\n", &body,
                     &len, &why) == 0);
    CHECK(body && len == -1);
    /* empty values, whitespace-only values, a bracketed host and port */
    CHECK(check_head("GET / HTTP/1.1\r\nHost: [::1]:8080\r\nX-A:\r\nX-B: \t \r\n\r\n", &body,
                     &len, &why) == 0);
    CHECK(check_head("GET / HTTP/1.0\r\n\r\n", &body, &len, &why) == 0);
    /* a malformed trace context field is ignored later, not refused */
    CHECK(check_head("GET / HTTP/1.1\r\nHost: a\r\ntraceparent: 00-\x01\r\n"
                     "Baggage: a=\x7f\r\n\r\n", &body, &len, &why) == 0);
}

static void request_framing_refused(void)
{
    static const struct {
        const char *head;
        int status;
    } cases[] = {
        {"POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: 4 \r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: 0x4\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\t\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nContent-Length : 4\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nX Y: 4\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nX-A: a\x01\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nX-A: a\x7f\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\ntracestate: a\rb\r\n\r\n", 400},
        /* a method that is not a token */
        {"G\tT / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"G\x01T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        /* bare LF after the request line and between field lines */
        {"GET / HTTP/1.1\nHost: a\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\nContent-Length: 4\r\n\r\n", 400},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool body;
        int64_t len;
        const char *why;
        int r = check_head(cases[i].head, &body, &len, &why);
        if (r != cases[i].status) {
            fprintf(stderr, "case %zu: got %d, want %d\n", i, r, cases[i].status);
        }
        CHECK(r == cases[i].status);
        CHECK(why != NULL && why[0] != '\0');
        CHECK(len == -7); /* outputs untouched */
    }
}

/* A NUL inside a value (libmicrohttpd stops the value there) and a field
 * it rebuilt elsewhere (obs-fold) both break the in-place chain. */
static void request_lines_must_be_in_place(void)
{
    char nul[] = "GET / HTTP/1.1\r\nX-A: a\0Content-Length: 4\r\nHost: h\r\n\r\n";
    bool body;
    int64_t len;
    const char *why;

    CHECK(head_layout_check(nul, sizeof(nul) - 1, false, &body, &len, &why) == 400);

    struct tg_reqcheck rc;
    char head[] = "GET / HTTP/1.1\0\0X-A\0 b\0\0";
    char moved[] = "b c";
    tg_headers_check_begin(&rc, "GET", 3, head + 14);
    tg_headers_check_field(&rc, head + 16, 3, moved, 3);
    CHECK(tg_headers_check_end(&rc, false, &body, &len, &why) == 400);

    tg_headers_check_begin(&rc, "GET", 3, head + 14);
    tg_headers_check_field(&rc, head + 16, 3, head + 21, 1);
    CHECK(tg_headers_check_end(&rc, false, &body, &len, &why) == 0);
}

int main(void)
{
    RUN(hop_by_hop_names);
    RUN(token_syntax);
    RUN(skips_1xx_and_keeps_repeated_fields);
    RUN(rejects_what_must_not_be_forwarded);
    RUN(folds_obs_fold_into_previous_value);
    RUN(response_header_block_is_bounded);
    RUN(connection_options_all_removed_or_refused);
    RUN(request_framing_accepted);
    RUN(request_framing_refused);
    RUN(request_lines_must_be_in_place);
    return TEST_SUMMARY();
}
