#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int tg_listener_open(const char *host, uint16_t *port, int backlog)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int one = 1;
    int fd;

    memset(&ss, 0, sizeof(ss));
    if (strcmp(host, "localhost") == 0) {
        host = "127.0.0.1";
    }
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(*port);
        len = sizeof(*in4);
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(*port);
        len = sizeof(*in6);
    } else {
        return -EINVAL;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
        goto fail;
    }
    if (ss.ss_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0) {
        goto fail;
    }
    if (*port == 0) {
        if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
            goto fail;
        }
        *port = ntohs(ss.ss_family == AF_INET ? in4->sin_port : in6->sin6_port);
    }
    return fd;

fail:;
    int err = -errno;
    close(fd);
    return err;
}
