/*
 * The "key1=value1,key2=value2" lists of the OpenTelemetry environment
 * (OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS): entries separated
 * by commas, keys and values trimmed and percent-decoded, blank entries
 * skipped. One parser for both.
 */
#ifndef TG_OTLP_KVLIST_H
#define TG_OTLP_KVLIST_H

#include <stddef.h>

/* Call fn for every pair in order; fn NULL only checks the list. Returns 0;
 * -EINVAL with err set for an entry that is not key=value, has an empty
 * key, a bad %-escape or a %00; -ENOMEM; or fn's own negative return,
 * which stops the walk. */
int tg_kvlist_parse(const char *list, int (*fn)(void *arg, const char *key, const char *value),
                    void *arg, char *err, size_t err_len);

/* The value of a hex digit, or -1. */
int tg_hexval(int c);

#endif
