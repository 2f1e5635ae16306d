#include "accesslog.h"
#include "tracecontext.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "strbuf.h"

/* A logged path keeps at most this many bytes, then ends in "...". */
#define LOG_PATH_MAX 2048

int tg_accesslog_open(const char *spec, struct tg_accesslog *out)
{
    out->fd = -1;
    out->owned = false;
    if (strcmp(spec, "off") == 0) {
        return 0;
    }
    if (strcmp(spec, "-") == 0) {
        out->fd = STDOUT_FILENO;
        return 0;
    }
    int fd = open(spec, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        return -errno;
    }
    out->fd = fd;
    out->owned = true;
    return 0;
}

void tg_accesslog_close(struct tg_accesslog *log)
{
    if (log->owned && log->fd >= 0) {
        close(log->fd);
    }
    log->fd = -1;
}

void tg_logbuf_flush(struct tg_logbuf *b)
{
    size_t off = 0;

    while (off < b->len) {
        ssize_t n = write(b->log->fd, b->data + off, b->len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            b->write_errors++;  /* a full disk or closed pipe loses the batch */
            break;
        }
        off += (size_t)n;
    }
    b->len = 0;
}

static void put_time(struct tg_logbuf *b, struct tg_strbuf *sb, int64_t unix_ns)
{
    int64_t sec = unix_ns / 1000000000;

    if (sec != b->cached_sec) {
        struct tm tm;
        time_t t = (time_t)sec;
        gmtime_r(&t, &tm);
        strftime(b->cached_time, sizeof(b->cached_time), "%Y-%m-%dT%H:%M:%S.", &tm);
        b->cached_sec = sec;
    }
    int ms = (int)((unix_ns / 1000000) % 1000);
    char frac[5] = {(char)('0' + ms / 100), (char)('0' + ms / 10 % 10),
                    (char)('0' + ms % 10), 'Z', '"'};
    tg_strbuf_putc(sb, '"');
    tg_strbuf_puts(sb, b->cached_time);
    tg_strbuf_append(sb, frac, sizeof(frac));
}

void tg_logbuf_add(struct tg_logbuf *b, const struct tg_access_entry *e)
{
    char line[TG_LOGLINE_MAX];
    struct tg_strbuf sb;

    if (b->log == NULL || b->log->fd < 0) {
        return;
    }
    tg_strbuf_init(&sb, line, sizeof(line));
    tg_strbuf_puts(&sb, "{\"time\":");
    put_time(b, &sb, e->start_unix_ns);
    tg_strbuf_puts(&sb, ",\"client\":");
    tg_strbuf_json_string(&sb, e->client, strlen(e->client), 64);
    tg_strbuf_puts(&sb, ",\"method\":");
    tg_strbuf_json_string(&sb, e->method, strlen(e->method), 64);
    tg_strbuf_puts(&sb, ",\"path\":");
    tg_strbuf_json_string(&sb, e->path, e->path_len, LOG_PATH_MAX);
    tg_strbuf_puts(&sb, ",\"route\":");
    if (e->route != NULL) {
        tg_strbuf_json_string(&sb, e->route, strlen(e->route), 512);
    } else {
        tg_strbuf_puts(&sb, "null");
    }
    tg_strbuf_puts(&sb, ",\"status\":");
    tg_strbuf_i64(&sb, e->status);
    tg_strbuf_puts(&sb, ",\"upstream_status\":");
    if (e->upstream_status > 0) {
        tg_strbuf_i64(&sb, e->upstream_status);
    } else {
        tg_strbuf_puts(&sb, "null");
    }
    tg_strbuf_puts(&sb, ",\"bytes_in\":");
    tg_strbuf_u64(&sb, e->bytes_in);
    tg_strbuf_puts(&sb, ",\"bytes_out\":");
    tg_strbuf_u64(&sb, e->bytes_out);
    tg_strbuf_puts(&sb, ",\"duration_ms\":");
    tg_strbuf_fixed(&sb, (double)e->duration_ns / 1e6, 3);
    tg_strbuf_puts(&sb, ",\"upstream_ms\":");
    if (e->upstream_ns >= 0) {
        tg_strbuf_fixed(&sb, (double)e->upstream_ns / 1e6, 3);
    } else {
        tg_strbuf_puts(&sb, "null");
    }
    if (e->trace != NULL && e->trace->active) {
        char hex[33];
        tg_strbuf_puts(&sb, ",\"trace_id\":\"");
        tg_hex_encode(e->trace->trace_id, 16, hex);
        tg_strbuf_append(&sb, hex, 32);
        tg_strbuf_puts(&sb, "\",\"span_id\":\"");
        tg_hex_encode(e->trace->server_id, 8, hex);
        tg_strbuf_append(&sb, hex, 16);
        tg_strbuf_puts(&sb, e->trace->sampled ? "\",\"sampled\":true" : "\",\"sampled\":false");
    } else {
        tg_strbuf_puts(&sb, ",\"trace_id\":null,\"span_id\":null,\"sampled\":null");
    }
    tg_strbuf_puts(&sb, "}\n");
    if (sb.truncated) {
        return; /* cannot happen with the caps above; never log half a line */
    }
    if (TG_LOGBUF_BYTES - b->len < sb.len) {
        tg_logbuf_flush(b);
    }
    memcpy(b->data + b->len, line, sb.len);
    b->len += sb.len;
}
