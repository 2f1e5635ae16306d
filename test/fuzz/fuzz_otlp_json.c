/*
 * libFuzzer target for the OTLP/JSON answer reader (tg_otlp_json_response in
 * lib/otlp/otlp_json.c): the body comes from a heap block of exactly its
 * size, not NUL-terminated, and the message buffer's size from the input.
 */
#include "fuzz.h"
#include "otlp_json.h"

#include <errno.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t msg_len = size > 0 ? data[0] % 64 : 0;
    char *body = fuzz_copy(data, size);
    char *msg = malloc(msg_len > 0 ? msg_len : 1);
    int64_t rejected = -7;
    REQUIRE(msg != NULL);

    int r = tg_otlp_json_response(body, size, &rejected, msg, msg_len);
    REQUIRE(r == 0 || r == -EPROTO);
    if (msg_len > 0) {
        REQUIRE(memchr(msg, '\0', msg_len) != NULL);
    }
    if (r == 0) {
        REQUIRE(rejected >= 0);
    }
    free(msg);
    free(body);
    return 0;
}
