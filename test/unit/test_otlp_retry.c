/* Retry rules, Retry-After, backoff, and the gRPC wire helpers. */
#include <errno.h>
#include <stdint.h>

#include "grpc.h"
#include "retry.h"
#include "test.h"

static void http_and_grpc_retryable(void)
{
    long yes[] = {429, 502, 503, 504};
    long no[] = {200, 400, 401, 403, 404, 405, 413, 415, 500, 501, 505};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        CHECK(tg_otlp_http_retryable(yes[i]));
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        CHECK(!tg_otlp_http_retryable(no[i]));
    int gyes[] = {1, 4, 10, 11, 14, 15};
    for (size_t i = 0; i < sizeof(gyes) / sizeof(gyes[0]); i++)
        CHECK(tg_otlp_grpc_retryable(gyes[i], false));
    int gno[] = {0, 2, 3, 5, 6, 7, 9, 12, 13, 16};
    for (size_t i = 0; i < sizeof(gno) / sizeof(gno[0]); i++)
        CHECK(!tg_otlp_grpc_retryable(gno[i], true));
    CHECK(!tg_otlp_grpc_retryable(8, false));
    CHECK(tg_otlp_grpc_retryable(8, true));
}

static void retry_after_values(void)
{
    int64_t now = 1445412480;  /* Wed, 21 Oct 2015 07:28:00 GMT */
    CHECK(tg_otlp_retry_after_ms("3", now) == 3000);
    CHECK(tg_otlp_retry_after_ms(" 0 ", now) == 0);
    CHECK(tg_otlp_retry_after_ms("Wed, 21 Oct 2015 07:28:05 GMT", now) == 5000);
    CHECK(tg_otlp_retry_after_ms("Wed, 21 Oct 2015 07:27:00 GMT", now) == 0);
    CHECK(tg_otlp_retry_after_ms("99999999999", now) == 86400 * 1000);
    CHECK(tg_otlp_retry_after_ms("-1", now) == -1);
    CHECK(tg_otlp_retry_after_ms("1.5", now) == -1);
    CHECK(tg_otlp_retry_after_ms("soon", now) == -1);
    CHECK(tg_otlp_retry_after_ms("", now) == -1);
}

static void backoff_grows_with_bounded_jitter(void)
{
    int64_t want[] = {1000, 1500, 2250, 3375, 5000, 5000};
    for (unsigned r = 1; r <= 6; r++) {
        int64_t lo = tg_otlp_backoff_ms(r, 0);
        int64_t hi = tg_otlp_backoff_ms(r, UINT64_MAX);
        CHECK(lo >= want[r - 1] * 8 / 10 - 1 && lo <= want[r - 1] * 8 / 10 + 1);
        CHECK(hi >= want[r - 1] * 12 / 10 - 1 && hi <= want[r - 1] * 12 / 10 + 1);
    }
    /* Jitter really varies. */
    CHECK(tg_otlp_backoff_ms(1, 0x8000000000000000ULL) != tg_otlp_backoff_ms(1, 0));
}

static void grpc_framing(void)
{
    uint8_t p[5];
    tg_grpc_prefix(p, true, 0x01020304);
    CHECK(p[0] == 1 && p[1] == 1 && p[2] == 2 && p[3] == 3 && p[4] == 4);
    uint8_t body[8] = {0, 0, 0, 0, 3, 'a', 'b', 'c'};
    const uint8_t *msg;
    size_t len;
    bool z;
    CHECK(tg_grpc_unframe(body, 8, &msg, &len, &z) == 0 && len == 3 && msg == body + 5 && !z);
    CHECK(tg_grpc_unframe(body, 7, &msg, &len, &z) == -EPROTO);   /* short */
    CHECK(tg_grpc_unframe(body, 4, &msg, &len, &z) == -EPROTO);   /* no prefix */
    body[0] = 2;
    CHECK(tg_grpc_unframe(body, 8, &msg, &len, &z) == -EPROTO);   /* bad flag */
    CHECK(tg_grpc_unframe(body, 0, &msg, &len, &z) == 0 && len == 0 && msg == NULL);
    char t[16];
    tg_grpc_timeout(t, 10000);
    CHECK_STR(t, "10000m");
    tg_grpc_timeout(t, 987654321);       /* 9 digits: seconds instead */
    CHECK_STR(t, "987654S");
    tg_grpc_timeout(t, 123456789012345LL);  /* capped at 8 digits */
    CHECK_STR(t, "99999999S");
    tg_grpc_timeout(t, -5);
    CHECK_STR(t, "0m");
    char m[] = "bad%20request%0Anext%zz%";
    tg_grpc_message_decode(m);
    CHECK_STR(m, "bad request next%zz%");
}

static void base64_and_status_mapping(void)
{
    uint8_t out[16];
    CHECK(tg_base64_decode("aGVsbG8", 7, out, sizeof(out)) == 5 && memcmp(out, "hello", 5) == 0);
    CHECK(tg_base64_decode("aGVsbG8=", 8, out, sizeof(out)) == 5);
    CHECK(tg_base64_decode("a", 1, out, sizeof(out)) == -EINVAL);
    CHECK(tg_base64_decode("a*==", 4, out, sizeof(out)) == -EINVAL);
    CHECK(tg_base64_decode("aGVsbG8", 7, out, 3) == -EMSGSIZE);
    CHECK(tg_grpc_status_of_http(503) == 14);
    CHECK(tg_grpc_status_of_http(401) == 16);
    CHECK(tg_grpc_status_of_http(404) == 12);
    CHECK(tg_grpc_status_of_http(500) == 2);
}

int main(void)
{
    RUN(http_and_grpc_retryable);
    RUN(retry_after_values);
    RUN(backoff_grows_with_bounded_jitter);
    RUN(grpc_framing);
    RUN(base64_and_status_mapping);
    return TEST_SUMMARY();
}
