/* SPDX-License-Identifier: BSD-2-Clause */
/* Private helpers shared by libvpci's modules; not installed. */
#ifndef VPCI_INTERNAL_H
#define VPCI_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpci.h"

#define VPCI_EXPORT __attribute__((visibility("default")))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Growable NUL-terminated text buffer.  On allocation failure it sets
 * oom and ignores further appends, so callers check once at the end.
 * With a sink (strbuf_init_sink), a full buffer is handed to the sink and
 * emptied instead of growing: text is consumed as it is produced. */
struct strbuf {
    char *buf;
    size_t len;
    size_t cap;
    bool oom;
    bool borrowed; /* buf is the caller's storage: never freed */
    void (*sink)(void *opaque, const char *text, size_t len);
    void *opaque;
};

void strbuf_init(struct strbuf *sb);
/* Start in the caller's storage (size bytes), passing full buffers to
 * sink; strbuf_flush passes the rest.  A single piece longer than the
 * storage still gets a heap buffer (strbuf_release frees it). */
void strbuf_init_sink(struct strbuf *sb, char *storage, size_t size,
                      void (*sink)(void *opaque, const char *text, size_t len),
                      void *opaque);
/* Hand what is buffered to the sink: 0, or -ENOMEM if an append failed. */
int strbuf_flush(struct strbuf *sb);
/* Make room for n more bytes (a hint; failure shows up later as oom). */
void strbuf_grow(struct strbuf *sb, size_t n);
void strbuf_append(struct strbuf *sb, const char *s, size_t n);
void strbuf_puts(struct strbuf *sb, const char *s);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Lowercase hex, zero-padded to digits; n spaces. */
void strbuf_hex(struct strbuf *sb, uint64_t v, unsigned digits);
void strbuf_pad(struct strbuf *sb, size_t n);
/* Decimal, no padding. */
void strbuf_dec(struct strbuf *sb, uint64_t v);
/* Room to write up to n bytes in place (NULL once oom); strbuf_commit
 * then keeps the first used of them.  Inline: formatting calls them once
 * per line. */
char *strbuf_room_slow(struct strbuf *sb, size_t n);
static inline char *strbuf_room(struct strbuf *sb, size_t n)
{
    if (!sb->oom && n < sb->cap - sb->len)
        return sb->buf + sb->len;
    return strbuf_room_slow(sb, n);
}
static inline void strbuf_commit(struct strbuf *sb, size_t used)
{
    if (sb->oom)
        return;
    sb->len += used;
    sb->buf[sb->len] = '\0';
}
/* Hand the buffer to the caller (never NULL unless oom): 0 or -ENOMEM. */
int strbuf_detach(struct strbuf *sb, char **ret, size_t *ret_len);
void strbuf_release(struct strbuf *sb);

/* Append a zeroed field of len bytes to b, its arrays pointing at its own
 * storage (len <= 4) or at one zeroed allocation; NULL if out of memory.
 * The parser fills fields in place through this. */
struct vpci_field *vpci_block_new_field(struct vpci_block *b, unsigned len);

/* Bytes a capability block covers from its offset: its header (2 bytes,
 * 4 extended) and every field; with table_min, at least the capability
 * table's smallest length for its ID. */
unsigned vpci_block_span(const struct vpci_block *b, bool table_min);

/* Append the canonical text of l (with or without its binding) to sb:
 * 0, -EINVAL or -ENOMEM. */
int vpci_layout_format_to(struct strbuf *sb, const struct vpci_layout *l,
                          bool with_binding);

/* Fill err with a message (position may be 0). */
void vpci_seterr(struct vpci_error *err, unsigned line, unsigned col,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Little-endian access to byte arrays. */
static inline uint32_t le_get(const uint8_t *p, unsigned len)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < len && i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static inline void le_put(uint8_t *p, unsigned len, uint32_t v)
{
    for (unsigned i = 0; i < len && i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Value of a hex digit, or -1. */
static inline int hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static inline bool is_pow2_u64(uint64_t v)
{
    return v && !(v & (v - 1));
}

/* Absolute offset of a field: block offset + field offset. */
static inline unsigned field_abs(const struct vpci_block *b,
                                 const struct vpci_field *f)
{
    return (unsigned)b->off + f->off;
}

#endif
