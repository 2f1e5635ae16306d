/*
 * The console exporter (OTEL_TRACES_EXPORTER=console): every span as one
 * OTLP/JSON Span object per line on a file descriptor, for people and
 * tests to read. Writes go out per batch, whole lines only.
 */
#ifndef TG_EXPORT_CONSOLE_H
#define TG_EXPORT_CONSOLE_H

#include "batch.h"

/* Fill *out with an exporter writing to fd (not closed by it). Returns 0 or
 * -ENOMEM. */
int tg_export_console_create(int fd, struct tg_exporter *out);

/* The "none" exporter: accepts every batch and discards it. */
void tg_export_none(struct tg_exporter *out);

#endif
