#include <string.h>

#include "error.h"
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
    feed(&c, "HTTP/1.1 200 OK\r\n");
    CHECK(feed(&c, "X-Long: part1\r\n") == 0);
    CHECK(feed(&c, "   part2\r\n") == 0);
    CHECK(c.resp_headers != NULL && strcmp(c.resp_headers->value, "part1 part2") == 0);
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

int main(void)
{
    RUN(hop_by_hop_names);
    RUN(token_syntax);
    RUN(skips_1xx_and_keeps_repeated_fields);
    RUN(rejects_what_must_not_be_forwarded);
    RUN(folds_obs_fold_into_previous_value);
    RUN(response_header_block_is_bounded);
    return TEST_SUMMARY();
}
