/*
 * The access log: one JSON object per line, per request.
 *
 * tg_accesslog_open() runs on the main thread; each worker then owns a
 * tg_logbuf that collects lines and writes them in one write(2) when it
 * fills up or when the worker's tick flushes it (every 100 ms at most), so a
 * request costs no syscall of its own. Lines are never split between writes,
 * and the file is opened O_APPEND, so workers never interleave inside a line.
 */
#ifndef TG_ACCESSLOG_H
#define TG_ACCESSLOG_H

#include "trace.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TG_LOGBUF_BYTES (64 * 1024)
#define TG_LOGLINE_MAX 8192

struct tg_accesslog {
    int fd;          /* -1 when the log is off */
    bool owned;      /* we opened it (not stdout) */
};

struct tg_access_entry {
    int64_t start_unix_ns;
    const char *client;
    const char *method;
    const char *path;          /* raw request target */
    size_t path_len;
    const char *route;         /* route prefix, NULL if none matched */
    int status;                /* what the client got; 499: client went away first */
    int upstream_status;       /* 0 when the upstream gave none */
    uint64_t bytes_in;
    uint64_t bytes_out;
    int64_t duration_ns;
    int64_t upstream_ns;       /* -1 when no upstream was contacted */
    const struct tg_trace *trace; /* NULL or inactive: fields are null */
};

struct tg_logbuf {
    struct tg_accesslog *log;
    size_t len;
    uint64_t write_errors;
    int64_t cached_sec;        /* the second cached_time was built for */
    char cached_time[24];      /* "YYYY-MM-DDTHH:MM:SS." */
    char data[TG_LOGBUF_BYTES];
};

/* Open spec ("-", "off" or a path). Returns 0 or -errno. */
int tg_accesslog_open(const char *spec, struct tg_accesslog *out);
void tg_accesslog_close(struct tg_accesslog *log);

/* Append one line for e (worker thread); flushes first if it does not fit. */
void tg_logbuf_add(struct tg_logbuf *b, const struct tg_access_entry *e);

/* Write out what is buffered (worker thread). */
void tg_logbuf_flush(struct tg_logbuf *b);

#endif
