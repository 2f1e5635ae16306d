/*
 * libFuzzer target for what an OTLP/gRPC exporter reads from the wire
 * (lib/otlp/grpc.c): the length-prefixed response message (then read as an
 * ExportTraceServiceResponse), the base64 of a grpc-status-details-bin
 * trailer (then read as a google.rpc.Status) and the percent-encoded
 * grpc-message. Each from a heap block of exactly its size.
 */
#include "fuzz.h"
#include "grpc.h"
#include "otlp_proto.h"

#include <errno.h>

static size_t count_char(const char *s, char c)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        n += *s == c;
    }
    return n;
}

static void check_unframe(const uint8_t *data, size_t size)
{
    char *body = fuzz_copy(data, size);
    const uint8_t *msg = (const uint8_t *)"x";
    size_t len = 99;
    bool compressed = true;
    int r = tg_grpc_unframe((const uint8_t *)body, size, &msg, &len, &compressed);

    REQUIRE(r == 0 || r == -EPROTO);
    if (r == 0 && size == 0) {
        REQUIRE(msg == NULL && len == 0 && !compressed);
    } else if (r == 0) {
        REQUIRE(size >= TG_GRPC_PREFIX);
        REQUIRE(msg == (const uint8_t *)body + TG_GRPC_PREFIX);
        REQUIRE(len == size - TG_GRPC_PREFIX);
        REQUIRE(compressed == (data[0] == 1));
        int64_t rejected;
        char text[32];
        int pr = tg_otlp_proto_response(msg, len, &rejected, text, sizeof(text));
        REQUIRE(pr == 0 || pr == -EPROTO);
    }
    free(body);
}

static void check_base64(const uint8_t *data, size_t size)
{
    /* The first byte picks the output capacity. */
    size_t cap = size > 0 ? data[0] : 0;
    char *in = fuzz_copy(data, size);
    uint8_t *out = malloc(cap > 0 ? cap : 1);
    REQUIRE(out != NULL);
    long n = tg_base64_decode(in, size, out, cap);
    REQUIRE(n == -EINVAL || n == -EMSGSIZE || (n >= 0 && (size_t)n <= cap));
    if (n >= 0) {
        size_t len = size;
        while (len > 0 && in[len - 1] == '=') {
            len--;
        }
        REQUIRE((size_t)n == len * 6 / 8);
        char text[64];
        int64_t delay;
        int r = tg_otlp_rpc_status(out, (size_t)n, text, sizeof(text), &delay);
        REQUIRE(r == 0 || r == -EPROTO);
        REQUIRE(delay >= -1);
    }
    free(out);
    free(in);
}

static void check_message(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    size_t before = strlen(s), lf = count_char(s, '\n'), cr = count_char(s, '\r');

    tg_grpc_message_decode(s);
    /* Decoding only shortens, and an encoded CR or LF never comes out. */
    REQUIRE(strlen(s) <= before);
    REQUIRE(count_char(s, '\n') <= lf && count_char(s, '\r') <= cr);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_unframe(data, size);
    check_base64(data, size);
    check_message(data, size);
    return 0;
}
