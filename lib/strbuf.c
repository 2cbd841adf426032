/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void strbuf_init(struct strbuf *sb)
{
    memset(sb, 0, sizeof(*sb));
}

static bool strbuf_reserve(struct strbuf *sb, size_t extra)
{
    if (sb->oom)
        return false;
    if (extra > SIZE_MAX / 2 - sb->len) {
        sb->oom = true;
        return false;
    }
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap)
        return true;
    size_t ncap = sb->cap ? sb->cap : 256;
    while (ncap < need)
        ncap *= 2;
    char *n = realloc(sb->buf, ncap);
    if (!n) {
        sb->oom = true;
        return false;
    }
    sb->buf = n;
    sb->cap = ncap;
    return true;
}

void strbuf_append(struct strbuf *sb, const char *s, size_t n)
{
    if (!strbuf_reserve(sb, n))
        return;
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void strbuf_puts(struct strbuf *sb, const char *s)
{
    strbuf_append(sb, s, strlen(s));
}

void strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        sb->oom = true;
        return;
    }
    if (!strbuf_reserve(sb, (size_t)n))
        return;
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strbuf_vprintf(sb, fmt, ap);
    va_end(ap);
}

int strbuf_detach(struct strbuf *sb, char **ret, size_t *ret_len)
{
    if (!sb->oom && !strbuf_reserve(sb, 0))
        sb->oom = true;
    if (sb->oom) {
        strbuf_release(sb);
        return -ENOMEM;
    }
    *ret = sb->buf;
    if (ret_len)
        *ret_len = sb->len;
    strbuf_init(sb);
    return 0;
}

void strbuf_release(struct strbuf *sb)
{
    free(sb->buf);
    strbuf_init(sb);
}
