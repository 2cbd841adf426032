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

void strbuf_init_sink(struct strbuf *sb, char *storage, size_t size,
                      void (*sink)(void *opaque, const char *text, size_t len),
                      void *opaque)
{
    strbuf_init(sb);
    sb->buf = storage;
    sb->cap = size;
    sb->borrowed = true;
    sb->sink = sink;
    sb->opaque = opaque;
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
    if (sb->sink && sb->len) {
        sb->sink(sb->opaque, sb->buf, sb->len);
        sb->len = 0;
        need = extra + 1;
        if (need <= sb->cap)
            return true;
    }
    size_t ncap = sb->cap ? sb->cap : 256;
    while (ncap < need)
        ncap *= 2;
    char *n = sb->borrowed ? malloc(ncap) : realloc(sb->buf, ncap);
    if (!n) {
        sb->oom = true;
        return false;
    }
    if (sb->borrowed)
        memcpy(n, sb->buf, sb->len);
    sb->borrowed = false;
    sb->buf = n;
    sb->cap = ncap;
    return true;
}

int strbuf_flush(struct strbuf *sb)
{
    if (sb->oom)
        return -ENOMEM;
    if (sb->sink && sb->len)
        sb->sink(sb->opaque, sb->buf, sb->len);
    sb->len = 0;
    return 0;
}

void strbuf_grow(struct strbuf *sb, size_t n)
{
    (void)strbuf_reserve(sb, n);
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
    if (sb->oom)
        return;
    /* Try the room we have first: one vsnprintf in the common case. */
    if (sb->cap - sb->len < 128 && !strbuf_reserve(sb, 128))
        return;
    size_t room = sb->cap - sb->len;
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(sb->buf + sb->len, room, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        sb->buf[sb->len] = '\0';
        sb->oom = true;
        return;
    }
    if ((size_t)n >= room) {
        if (!strbuf_reserve(sb, (size_t)n)) {
            sb->buf[sb->len] = '\0';
            return;
        }
        vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    }
    sb->len += (size_t)n;
}

/* Lowercase hex of v, zero-padded to digits (at most 16). */
void strbuf_hex(struct strbuf *sb, uint64_t v, unsigned digits)
{
    static const char hx[] = "0123456789abcdef";
    char tmp[16];
    unsigned n = 0;
    do {
        tmp[n++] = hx[v & 0xf];
        v >>= 4;
    } while (v && n < sizeof(tmp));
    while (n < digits && n < sizeof(tmp))
        tmp[n++] = '0';
    if (!strbuf_reserve(sb, n))
        return;
    for (unsigned i = 0; i < n; i++)
        sb->buf[sb->len + i] = tmp[n - 1 - i];
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void strbuf_pad(struct strbuf *sb, size_t n)
{
    if (!strbuf_reserve(sb, n))
        return;
    memset(sb->buf + sb->len, ' ', n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void strbuf_dec(struct strbuf *sb, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    strbuf_append(sb, tmp + sizeof(tmp) - n, n);
}

char *strbuf_room_slow(struct strbuf *sb, size_t n)
{
    return strbuf_reserve(sb, n) ? sb->buf + sb->len : NULL;
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
    if (!sb->borrowed)
        free(sb->buf);
    strbuf_init(sb);
}
