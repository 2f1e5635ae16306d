#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct tg_admin_http {
    struct tg_admin *admin;
    struct MHD_Daemon *daemon;
    bool via_proxy;
    bool loopback;
};

/* One request: the raw target (for the query) and the bounded body. */
struct exchange {
    char *target;
    size_t body_len;
    bool too_large;
    bool started;
    char body[TG_ADMIN_BODY_MAX];
};

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
    struct exchange *x = calloc(1, sizeof(*x));
    if (x != NULL) {
        x->target = strdup(uri);
    }
    return x;
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct exchange *x = *con_cls;
    if (x != NULL) {
        free(x->target);
        free(x);
        *con_cls = NULL;
    }
}

/* The address tracegate appended last to X-Forwarded-For. */
static void forwarded_client(struct MHD_Connection *mc, char *out, size_t len)
{
    const char *xff = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "X-Forwarded-For");
    snprintf(out, len, "-");
    if (xff == NULL) {
        return;
    }
    const char *last = strrchr(xff, ',');
    last = last != NULL ? last + 1 : xff;
    while (*last == ' ') {
        last++;
    }
    size_t n = strcspn(last, " ");
    if (n > 0 && n < len) {
        memcpy(out, last, n);
        out[n] = '\0';
    }
}

static void peer_client(struct MHD_Connection *mc, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, len, "-");
    if (ci == NULL || ci->client_addr == NULL) {
        return;
    }
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)len);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)len);
    }
}

static enum MHD_Result answer(struct tg_admin_http *h, struct MHD_Connection *mc,
                              struct exchange *x, const char *method)
{
    char client[INET6_ADDRSTRLEN + 8];
    char path[512];
    const char *target = x->target != NULL ? x->target : "/";
    size_t plen = strcspn(target, "?");
    const char *query = target[plen] == '?' ? target + plen + 1 : NULL;

    if (plen >= sizeof(path)) {
        plen = sizeof(path) - 1;  /* no endpoint is that long: a 404 */
    }
    memcpy(path, target, plen);
    path[plen] = '\0';
    if (h->via_proxy) {
        forwarded_client(mc, client, sizeof(client));
    } else {
        peer_client(mc, client, sizeof(client));
    }
    struct tg_admin_request rq = {
        .method = method,
        .path = path,
        .query = query,
        .content_type = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Type"),
        .authorization = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Authorization"),
        .client = client,
        .body = x->body,
        .body_len = x->body_len,
        .body_too_large = x->too_large,
        .loopback = h->loopback,
    };
    struct tg_admin_reply reply;
    tg_admin_handle(h->admin, &rq, &reply);
    struct MHD_Response *r = MHD_create_response_from_buffer(reply.body.len, reply.body.data,
                                                             MHD_RESPMEM_MUST_COPY);
    if (r == NULL) {
        tg_admin_reply_fini(&reply);
        return MHD_NO;
    }
    if (reply.content_type != NULL) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, reply.content_type);
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    for (int i = 0; i < reply.header_count; i++) {
        MHD_add_response_header(r, reply.headers[i].name, reply.headers[i].value);
    }
    enum MHD_Result ok = MHD_queue_response(mc, (unsigned)reply.status, r);
    MHD_destroy_response(r);
    tg_admin_reply_fini(&reply);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size,
                                  void **con_cls)
{
    struct tg_admin_http *h = cls;
    struct exchange *x = *con_cls;

    if (x == NULL) {
        return MHD_NO;
    }
    if (!x->started) {
        x->started = true;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        /* Keep what fits; read and drop the rest so the answer is a 413,
         * not a reset. */
        size_t room = sizeof(x->body) - x->body_len;
        size_t n = *upload_size < room ? *upload_size : room;
        memcpy(x->body + x->body_len, upload_data, n);
        x->body_len += n;
        if (n < *upload_size) {
            x->too_large = true;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    return answer(h, mc, x, method);
}

int tg_admin_http_start(struct tg_admin *admin, int listen_fd, bool via_proxy, bool loopback,
                        struct tg_admin_http **out)
{
    struct tg_admin_http *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        close(listen_fd);
        return -ENOMEM;
    }
    h->admin = admin;
    h->via_proxy = via_proxy;
    h->loopback = loopback;
    h->daemon = MHD_start_daemon(
        MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
        0, NULL, NULL, on_request, h,
        MHD_OPTION_LISTEN_SOCKET, listen_fd,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)TG_ADMIN_HTTP_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)TG_ADMIN_HTTP_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
        MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
        MHD_OPTION_END);
    if (h->daemon == NULL) {
        close(listen_fd);
        free(h);
        return -EIO;
    }
    *out = h;
    return 0;
}

void tg_admin_http_stop(struct tg_admin_http *h)
{
    if (h == NULL) {
        return;
    }
    MHD_stop_daemon(h->daemon);
    free(h);
}

int tg_admin_http_unix_socket(char **path)
{
    const char *tmp = getenv("TMPDIR");
    char dir[80];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    if (tmp == NULL || tmp[0] == '\0' || strlen(tmp) > 40) {
        tmp = "/tmp";
    }
    snprintf(dir, sizeof(dir), "%s/tracegate-admin-XXXXXX", tmp);
    if (mkdtemp(dir) == NULL) {
        return -errno;
    }
    int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/admin.sock", dir);
    if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
        rmdir(dir);
        return -ENAMETOOLONG;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int r = -errno;
        rmdir(dir);
        return r;
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
        int r = -errno;
        close(fd);
        unlink(sa.sun_path);
        rmdir(dir);
        return r;
    }
    *path = strdup(sa.sun_path);
    if (*path == NULL) {
        close(fd);
        unlink(sa.sun_path);
        rmdir(dir);
        return -ENOMEM;
    }
    return fd;
}

void tg_admin_http_unlink(const char *path)
{
    if (path == NULL) {
        return;
    }
    unlink(path);
    char *copy = strdup(path);
    if (copy != NULL) {
        rmdir(dirname(copy));
        free(copy);
    }
}
