/*
 * The gRPC-over-HTTP/2 wire details an OTLP/gRPC exporter needs: the
 * 5-byte message prefix (compressed flag, big-endian length), the
 * grpc-timeout header value and the percent-encoded grpc-message.
 */
#ifndef TG_OTLP_GRPC_H
#define TG_OTLP_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TG_GRPC_PREFIX 5
#define TG_GRPC_PATH "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

void tg_grpc_prefix(uint8_t out[TG_GRPC_PREFIX], bool compressed, uint32_t len);

/* The first message of a response body: 0 with *msg, *len, *compressed
 * set (an empty body gives *len = 0, *msg = NULL), or -EPROTO when the
 * body is not exactly one whole length-prefixed message. */
int tg_grpc_unframe(const uint8_t *body, size_t body_len, const uint8_t **msg, size_t *len,
                    bool *compressed);

/* grpc-timeout for ms milliseconds: at most 8 digits and a unit. */
void tg_grpc_timeout(char out[16], int64_t ms);

/* Percent-decode a grpc-message value in place. */
void tg_grpc_message_decode(char *s);

/* Decode base64 (standard alphabet, padding optional, as in -bin
 * metadata) into out. The decoded length, or -EINVAL / -EMSGSIZE. */
long tg_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap);

/* The gRPC status a non-200 HTTP answer stands for (gRPC's HTTP-to-gRPC
 * status mapping). */
int tg_grpc_status_of_http(long status);

#endif
