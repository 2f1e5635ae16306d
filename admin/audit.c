#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct tg_audit {
    pthread_mutex_t mu;
    int fd;
    bool own_fd;
};

int tg_audit_open(const char *path, struct tg_audit **out)
{
    struct tg_audit *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        return -ENOMEM;
    }
    if (strcmp(path, "-") == 0) {
        a->fd = STDERR_FILENO;
    } else {
        a->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (a->fd < 0) {
            int r = -errno;
            free(a);
            return r;
        }
        a->own_fd = true;
    }
    pthread_mutex_init(&a->mu, NULL);
    *out = a;
    return 0;
}

void tg_audit_close(struct tg_audit *a)
{
    if (a == NULL) {
        return;
    }
    if (a->own_fd) {
        close(a->fd);
    }
    pthread_mutex_destroy(&a->mu);
    free(a);
}

/* RFC 3339 UTC with milliseconds. */
static void now_rfc3339(char *out, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

int tg_audit_write(struct tg_audit *a, const char *endpoint, const char *client,
                   const char *action, json_t *before, json_t *after, json_t *extra)
{
    char when[40];
    now_rfc3339(when, sizeof(when));
    json_t *o = json_object();
    json_object_set_new(o, "time", json_string(when));
    json_object_set_new(o, "type", json_string("audit"));
    json_object_set_new(o, "endpoint", json_string(endpoint));
    json_object_set_new(o, "client", client != NULL ? json_string(client) : json_null());
    json_object_set_new(o, "action", json_string(action));
    json_object_set(o, "before", before != NULL ? before : json_null());
    json_object_set(o, "after", after != NULL ? after : json_null());
    if (extra != NULL) {
        json_object_update(o, extra);
    }
    char *line = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(o);
    if (line == NULL) {
        return -ENOMEM;
    }
    size_t len = strlen(line);
    line[len] = '\n'; /* json_dumps leaves room for the NUL it wrote */
    int r = 0;
    pthread_mutex_lock(&a->mu);
    for (size_t off = 0; off < len + 1;) {
        ssize_t n = write(a->fd, line + off, len + 1 - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            r = -errno;
            break;
        }
        off += (size_t)n;
    }
    pthread_mutex_unlock(&a->mu);
    free(line);
    return r;
}
