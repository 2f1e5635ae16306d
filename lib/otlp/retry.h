/*
 * When the OTLP exporter tries again (OTLP specification, "Failures" and
 * "Throttling"): only for answers that say the receiver may take the same
 * data later, after a delay that grows exponentially with jitter, or that
 * the receiver names (Retry-After, gRPC RetryInfo).
 */
#ifndef TG_OTLP_RETRY_H
#define TG_OTLP_RETRY_H

#include <stdbool.h>
#include <stdint.h>

/* Delays: 1 s, then ×1.5 per retry up to 5 s, each ±20 %. */
#define TG_OTLP_BACKOFF_INITIAL_MS 1000
#define TG_OTLP_BACKOFF_MAX_MS 5000

/* OTLP/HTTP: 429, 502, 503 and 504 are retryable; anything else that is
 * not a success is not. */
bool tg_otlp_http_retryable(long status);

/* OTLP/gRPC: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE,
 * UNAVAILABLE, DATA_LOSS; RESOURCE_EXHAUSTED only when the server sent a
 * RetryInfo (it says recovery is possible). */
bool tg_otlp_grpc_retryable(int code, bool has_retry_info);

/* A Retry-After value: delay-seconds or an HTTP-date, relative to
 * now_unix_s. The delay in milliseconds (0 for a date in the past), or -1
 * when the value is neither. */
int64_t tg_otlp_retry_after_ms(const char *value, int64_t now_unix_s);

/* The delay before retry number `retry` (1 for the first), jittered by
 * `random` (any 64-bit value). */
int64_t tg_otlp_backoff_ms(unsigned retry, uint64_t random);

#endif
