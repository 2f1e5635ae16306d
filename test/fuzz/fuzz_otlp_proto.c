/*
 * libFuzzer target for the protobuf answers of an OTLP receiver
 * (lib/otlp/otlp_proto.c): the input is read both as an
 * ExportTraceServiceResponse and as a google.rpc.Status (with RetryInfo
 * details), from a heap block of exactly its size, into message buffers of
 * a size taken from the input. Results must stay within their contracts.
 */
#include "fuzz.h"
#include "otlp_proto.h"

#include <errno.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The first byte picks the message buffer size (0..63). */
    size_t msg_len = size > 0 ? data[0] % 64 : 0;
    char *body = fuzz_copy(data, size);
    char *msg = malloc(msg_len > 0 ? msg_len : 1);
    int64_t rejected = -7, delay = -7;
    REQUIRE(msg != NULL);

    int r = tg_otlp_proto_response((const uint8_t *)body, size, &rejected, msg, msg_len);
    REQUIRE(r == 0 || r == -EPROTO);
    if (msg_len > 0) {
        REQUIRE(memchr(msg, '\0', msg_len) != NULL);
    }
    if (r == 0) {
        REQUIRE(rejected >= 0);
    }
    if (size == 0) {
        REQUIRE(r == 0 && rejected == 0);
    }

    r = tg_otlp_rpc_status((const uint8_t *)body, size, msg, msg_len, &delay);
    REQUIRE(r == 0 || r == -EPROTO);
    REQUIRE(delay >= -1);
    if (msg_len > 0) {
        REQUIRE(memchr(msg, '\0', msg_len) != NULL);
    }
    free(msg);
    free(body);
    return 0;
}
