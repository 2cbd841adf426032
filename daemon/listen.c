/* SPDX-License-Identifier: BSD-2-Clause */
#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#define LISTEN_BACKLOG 1024

/* mkdir -p of path's parent directory, mode 0755 (as RuntimeDirectory=). */
static int make_parent(const char *path)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* A socket file left by a daemon that died is removed; one a live daemon
 * answers on is not. */
static int clear_stale(const char *path, const struct sockaddr_un *sa)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode))
        return -EEXIST;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
    int e = errno;
    close(fd);
    if (r == 0)
        return -EADDRINUSE;
    if (e != ECONNREFUSED)
        return -e;
    return unlink(path) < 0 ? -errno : 0;
}

static int open_unix(const char *path, struct vpcid_listener *l, char *err,
                     size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!*path || strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "unix:%.200s: path empty or too long", path);
        return -EINVAL;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int r = make_parent(path);
    if (r < 0) {
        snprintf(err, errlen, "unix:%s: cannot create its directory: %s", path,
                 strerror(-r));
        return r;
    }
    r = clear_stale(path, &sa);
    if (r < 0) {
        snprintf(err, errlen, "unix:%s: %s", path,
                 r == -EADDRINUSE ? "another vpcid answers on it"
                 : r == -EEXIST   ? "exists and is not a socket"
                                  : strerror(-r));
        return r;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        r = -errno;
        snprintf(err, errlen, "unix:%s: socket: %s", path, strerror(errno));
        return r;
    }
    /* Created 0660 from the start: no window in which others may connect. */
    mode_t old = umask(0117);
    r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    int e = errno;
    umask(old);
    if (r < 0 || chmod(path, 0660) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
        if (r == 0)
            e = errno;
        snprintf(err, errlen, "unix:%s: %s", path, strerror(e));
        if (r == 0)
            unlink(path);
        close(fd);
        return -e;
    }
    l->fd = fd;
    l->tcp = false;
    snprintf(l->name, sizeof(l->name), "unix:%s", path);
    l->unlink_path = strdup(path);
    return 0;
}

static int open_tcp(const char *spec, struct vpcid_listener *l, char *err,
                    size_t errlen)
{
    char host[256];
    const char *port;
    if (spec[0] == '[') {
        const char *close_br = strchr(spec, ']');
        if (!close_br || close_br[1] != ':' ||
            (size_t)(close_br - spec) > sizeof(host)) {
            snprintf(err, errlen, "tcp:%.200s: expected [ADDR]:PORT", spec);
            return -EINVAL;
        }
        memcpy(host, spec + 1, (size_t)(close_br - spec - 1));
        host[close_br - spec - 1] = '\0';
        port = close_br + 2;
    } else {
        const char *colon = strrchr(spec, ':');
        if (!colon || (size_t)(colon - spec) >= sizeof(host)) {
            snprintf(err, errlen, "tcp:%.200s: expected HOST:PORT", spec);
            return -EINVAL;
        }
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
        port = colon + 1;
    }
    char *end;
    unsigned long p = strtoul(port, &end, 10);
    if (!*host || !*port || *end || port[0] == '-' || p < 1 || p > 65535) {
        snprintf(err, errlen, "tcp:%.200s: expected HOST:PORT, port 1-65535",
                 spec);
        return -EINVAL;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0) {
        snprintf(err, errlen, "tcp:%.200s: %s", spec, gai_strerror(g));
        return -EINVAL;
    }
    int r = -EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                        ai->ai_protocol);
        if (fd < 0) {
            r = -errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ai->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
            listen(fd, LISTEN_BACKLOG) < 0) {
            r = -errno;
            close(fd);
            continue;
        }
        l->fd = fd;
        l->tcp = true;
        l->unlink_path = NULL;
        snprintf(l->name, sizeof(l->name), "tcp:%s", spec);
        r = 0;
        break;
    }
    freeaddrinfo(res);
    if (r < 0)
        snprintf(err, errlen, "tcp:%.200s: %s", spec, strerror(-r));
    return r;
}

int vpcid_listen_open(const char *spec, struct vpcid_listener *ret, char *err,
                      size_t errlen)
{
    struct vpcid_listener l = {.fd = -1};
    int r;
    if (!strncmp(spec, "unix:", 5))
        r = open_unix(spec + 5, &l, err, errlen);
    else if (!strncmp(spec, "tcp:", 4))
        r = open_tcp(spec + 4, &l, err, errlen);
    else {
        snprintf(err, errlen, "%.200s: expected unix:PATH or tcp:HOST:PORT",
                 spec);
        r = -EINVAL;
    }
    if (r == 0)
        *ret = l;
    return r;
}

int vpcid_listen_activated(struct vpcid_listener *ret, size_t max, char *err,
                           size_t errlen)
{
    int n = sd_listen_fds(1);
    if (n < 0) {
        snprintf(err, errlen, "LISTEN_FDS: %s", strerror(-n));
        return n;
    }
    if ((size_t)n > max) {
        snprintf(err, errlen, "LISTEN_FDS: more than %zu sockets", max);
        return -E2BIG;
    }
    for (int i = 0; i < n; i++) {
        int fd = SD_LISTEN_FDS_START + i;
        if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
            snprintf(err, errlen,
                     "LISTEN_FDS: fd %d is not a listening "
                     "stream socket",
                     fd);
            return -EINVAL;
        }
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
            snprintf(err, errlen, "LISTEN_FDS: fd %d: %s", fd, strerror(errno));
            return -errno;
        }
        ret[i].fd = fd;
        ret[i].tcp = ss.ss_family != AF_UNIX;
        ret[i].unlink_path = NULL; /* systemd owns the socket file */
        if (ss.ss_family == AF_UNIX)
            snprintf(ret[i].name, sizeof(ret[i].name), "unix:%.200s",
                     ((struct sockaddr_un *)&ss)->sun_path);
        else
            snprintf(ret[i].name, sizeof(ret[i].name), "tcp:fd%d", fd);
    }
    return n;
}

void vpcid_listen_close(struct vpcid_listener *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    if (l->unlink_path)
        unlink(l->unlink_path);
    free(l->unlink_path);
    l->unlink_path = NULL;
}
