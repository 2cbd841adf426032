/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vpci.h"
#include "vpcictl.h"

/* Layout and dump files are small; refuse anything absurd rather than
 * exhausting memory on a wrong path such as /dev/zero. */
#define MAX_INPUT (64u << 20)

char *vpcictl_read_file(const char *path, size_t *ret_len)
{
    int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
    if (fd < 0) {
        fprintf(stderr, "vpcictl: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 4096) {
            size_t ncap = cap ? cap * 2 : 16384;
            if (ncap > MAX_INPUT + 1) {
                fprintf(stderr, "vpcictl: %s: file too large\n", path);
                goto fail;
            }
            char *n = realloc(buf, ncap + 1);
            if (!n) {
                fprintf(stderr, "vpcictl: %s: out of memory\n", path);
                goto fail;
            }
            buf = n;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "vpcictl: %s: %s\n", path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (fd != 0)
        close(fd);
    buf[len] = '\0';
    if (ret_len)
        *ret_len = len;
    return buf;
fail:
    if (fd != 0)
        close(fd);
    free(buf);
    return NULL;
}

int vpcictl_write_file(const char *path, const char *data, size_t len)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return -ENOMEM;
    snprintf(tmp, plen + 16, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return -e;
    }
    struct stat st;
    if (stat(path, &st) == 0)
        (void)fchmod(fd, st.st_mode & 07777);
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            free(tmp);
            return -e;
        }
        off += (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return -e;
    }
    free(tmp);
    return 0;
}

const char *vpcictl_file_label(const char *file)
{
    return strcmp(file, "-") ? file : "<stdin>";
}

void vpcictl_print_layout_error(const char *label, const struct vpci_error *err)
{
    char buf[512];
    vpci_error_format(err, label, buf, sizeof(buf));
    fprintf(stderr, "%s\n", buf);
}

int vpcictl_parse_layout(const char *label, const char *text, size_t len,
                         struct vpci_layout **ret)
{
    struct vpci_error err;
    int r = vpci_layout_parse(text, len, ret, &err);
    if (r < 0)
        vpcictl_print_layout_error(label, &err);
    return r;
}

int vpcictl_load_layout(const char *file, struct vpci_layout **ret)
{
    size_t len;
    char *text = vpcictl_read_file(file, &len);
    if (!text)
        return -EIO;
    int r = vpcictl_parse_layout(vpcictl_file_label(file), text, len, ret);
    free(text);
    return r;
}
