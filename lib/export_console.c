#include "export_console.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "otlp_json.h"
#include "strbuf.h"

/* The buffer is flushed before it could fail to hold the next span. */
#define CONSOLE_BUF_BYTES (256 * 1024)

struct console {
    int fd;
    char buf[CONSOLE_BUF_BYTES];
};

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void console_export(void *ctx, struct tg_span *const *spans, size_t n,
                           int64_t deadline_ns, struct tg_export_report *rep)
{
    (void)deadline_ns;
    struct console *c = ctx;
    struct tg_strbuf sb;
    tg_strbuf_init(&sb, c->buf, sizeof(c->buf));
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (sb.cap - sb.len < TG_OTLP_JSON_SPAN_MAX) {
            int w = write_all(c->fd, sb.data, sb.len);
            if (w != 0)
                rc = w;
            sb.len = 0;
        }
        size_t mark = sb.len;
        tg_otlp_json_span(&sb, spans[i]);
        tg_strbuf_putc(&sb, '\n');
        if (sb.truncated) {  /* cannot happen with bounded spans; never emit half a line */
            sb.len = mark;
            sb.truncated = false;
            rc = -EMSGSIZE;
        }
    }
    if (sb.len > 0) {
        int w = write_all(c->fd, sb.data, sb.len);
        if (w != 0)
            rc = w;
    }
    rep->requests = 1;
    if (rc != 0) {
        rep->failure = TG_EXPORT_NOT_RETRYABLE;
        snprintf(rep->message, sizeof(rep->message), "console: %s", strerror(-rc));
    }
}

static void console_shutdown(void *ctx)
{
    free(ctx);
}

int tg_export_console_create(int fd, struct tg_exporter *out)
{
    struct console *c = malloc(sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->fd = fd;
    out->export_batch = console_export;
    out->cancel = NULL;
    out->shutdown = console_shutdown;
    out->ctx = c;
    return 0;
}

static void none_export(void *ctx, struct tg_span *const *spans, size_t n,
                        int64_t deadline_ns, struct tg_export_report *rep)
{
    (void)ctx;
    (void)spans;
    (void)n;
    (void)deadline_ns;
    (void)rep;
}

void tg_export_none(struct tg_exporter *out)
{
    out->export_batch = none_export;
    out->cancel = NULL;
    out->shutdown = NULL;
    out->ctx = NULL;
}
