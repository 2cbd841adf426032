/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Canonical text: fixed statement order, fields sorted by offset, lowercase
 * hex at the register's width, zero masks omitted, no comments.  The
 * content hash is taken over this text, so every byte of it is part of the
 * format's definition (vpci-layout(5), "Canonical form").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "layout_rules.h"

#define NAME_COLUMN 20

static const char hx[] = "0123456789abcdef";

/* The longest register line: "  0xOFF u16 " (12), a name padded to at
 * least column 20 (33), "0xVALUE" (10), three masks "  phys 0xMASK" (51)
 * and the newline; put_hex() may write 6 bytes past what it keeps. */
#define REG_LINE_MAX (107 + 6)

/*
 * The eight hex digits of v as they are written, most significant first,
 * in one word: the nibbles spread one per byte, then '0' added to each and
 * 'a' - '0' - 10 more to those above 9, without a branch or a table.  A
 * loop over the digits ended at a different count on every register.
 */
static inline uint64_t hex8(uint32_t v)
{
    const uint64_t ones = UINT64_C(0x0101010101010101);
    uint64_t n = v;
    n = (n | n << 16) & UINT64_C(0x0000ffff0000ffff);
    n = (n | n << 8) & UINT64_C(0x00ff00ff00ff00ff);
    n = (n | n << 4) & (ones * 0x0f); /* byte k: nibble k */
    uint64_t letter = ((n + ones * 6) >> 4) & ones;
    n += ones * '0' + letter * ('a' - '0' - 10);
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    n = __builtin_bswap64(n); /* nibble 7 first in memory */
#endif
    return n;
}

/* "0x" and v in lowercase hex, exactly digits (at most 8) long; returns
 * the end.  Writes all eight digits: room for 6 more bytes is needed. */
static inline __attribute__((always_inline)) char *put_hex(char *p, uint32_t v,
                                                           unsigned digits)
{
    p[0] = '0';
    p[1] = 'x';
    if (digits == 0)
        return p + 2;
    uint64_t w = hex8(v << (32 - 4 * digits));
    memcpy(p + 2, &w, sizeof(w));
    return p + 2 + digits;
}

/* " HH" per byte; returns the end. */
static char *put_bytes(char *p, const uint8_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        p[0] = ' ';
        p[1] = hx[b[i] >> 4];
        p[2] = hx[b[i] & 15];
        p += 3;
    }
    return p;
}

static bool all_zero(const uint8_t *p, unsigned n)
{
    /* No early exit: masks are mostly zero, and a branch per byte cost
     * more than looking at every byte. */
    uint8_t any = 0;
    for (unsigned i = 0; i < n; i++)
        any |= p[i];
    return !any;
}

/* Whether any of the three masks of a bytes field has a bit set: most
 * have none, and then one pass tells. */
static bool any_mask(const struct vpci_field *f)
{
    uint8_t any = 0;
    for (unsigned i = 0; i < f->len; i++)
        any |= f->rw[i] | f->w1c[i] | f->phys[i];
    return any;
}

/* le_get() spelled out per width, so that a constant len leaves no loop. */
static inline __attribute__((always_inline)) uint32_t
reg_value(const uint8_t *p, unsigned len)
{
    switch (len) {
    case 1:
        return p[0];
    case 2:
        return (uint32_t)p[0] | (uint32_t)p[1] << 8;
    case 4:
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
               (uint32_t)p[3] << 24;
    default:
        return le_get(p, len);
    }
}

/* "0xVAL", then "  rw 0x..", "  w1c 0x..", "  phys 0x.." when non-zero,
 * for a register of len bytes; returns the end. */
static inline __attribute__((always_inline)) char *
put_reg_values(char *p, const struct vpci_field *f, unsigned len)
{
    static const char *const kw[3] = {"  rw ", "  w1c ", "  phys "};
    static const uint8_t kwlen[3] = {5, 6, 7};
    const uint8_t *m[3] = {f->rw, f->w1c, f->phys};
    p = put_hex(p, reg_value(f->val, len), 2 * len);
    for (int k = 0; k < 3; k++) {
        uint32_t v = reg_value(m[k], len);
        if (!v)
            continue;
        memcpy(p, kw[k], kwlen[k]);
        p = put_hex(p + kwlen[k], v, 2 * len);
    }
    return p;
}

/* "  0xOFF uNN NAME<pad> 0xVAL" and the masks.  Fields are most of a
 * layout, so the line is written in place without printf, which made
 * formatting (and so hashing) several times slower. */
static void emit_reg(struct strbuf *sb, const struct vpci_field *f)
{
    char *line = strbuf_room(sb, REG_LINE_MAX);
    if (!line)
        return;
    char *p = line;
    const char *w = f->len == 1 ? " u8  " : f->len == 2 ? " u16 " : " u32 ";
    /* Bounded: an unterminated name must not run past the line. */
    size_t nl = strnlen(f->name, VPCI_NAME_MAX);
    memcpy(p, "  0x", 4);
    p += 4;
    unsigned od = f->off > 0xff ? 3 : 2;
    for (unsigned i = od; i-- > 0;)
        *p++ = hx[(f->off >> (4 * i)) & 15];
    memcpy(p, w, 5);
    p += 5;
    /* The name, padded with blanks to column NAME_COLUMN, and one more. */
    memset(p, ' ', VPCI_NAME_MAX + 1);
    memcpy(p, f->name, nl);
    p += (nl < NAME_COLUMN ? NAME_COLUMN : nl) + 1;
    /* One case per width, each compiled for its constant length: loops
     * that end at a different count on every line cost more than the
     * rest of the line. */
    switch (f->len) {
    case 1:
        p = put_reg_values(p, f, 1);
        break;
    case 2:
        p = put_reg_values(p, f, 2);
        break;
    case 4:
        p = put_reg_values(p, f, 4);
        break;
    default: /* not a valid register, but formatted all the same */
        p = put_reg_values(p, f, f->len < 4 ? f->len : 4);
        break;
    }
    *p++ = '\n';
    strbuf_commit(sb, (size_t)(p - line));
}

/* "  0xOFF bytes N HH HH..", then "  rw HH..", "  w1c HH..", "  phys HH.."
 * for the masks that are not all zero, written in place like registers. */
static void emit_bytes_field(struct strbuf *sb, const struct vpci_field *f)
{
    static const char *const kw[3] = {"  rw", "  w1c", "  phys"};
    static const uint8_t kwlen[3] = {4, 5, 6};
    const uint8_t *m[3] = {f->rw, f->w1c, f->phys};
    /* "  0xOFFF bytes NNNNN" (20), four byte lists with their keywords,
     * the newline. */
    char *line = strbuf_room(sb, 20 + 4 * (6 + 3 * (size_t)f->len));
    if (!line)
        return;
    char *p = line;
    memcpy(p, "  0x", 4);
    p += 4;
    unsigned od = f->off > 0xfff ? 4 : f->off > 0xff ? 3 : 2;
    for (unsigned i = od; i-- > 0;)
        *p++ = hx[(f->off >> (4 * i)) & 15];
    memcpy(p, " bytes ", 7);
    p += 7;
    char num[8];
    size_t n = 0;
    for (unsigned v = f->len; v; v /= 10)
        num[sizeof(num) - 1 - n++] = (char)('0' + v % 10);
    memcpy(p, num + sizeof(num) - n, n);
    p += n;
    p = put_bytes(p, f->val, f->len);
    bool masks = any_mask(f);
    for (int k = 0; masks && k < 3; k++) {
        if (all_zero(m[k], f->len))
            continue;
        memcpy(p, kw[k], kwlen[k]);
        p = put_bytes(p + kwlen[k], m[k], f->len);
    }
    *p++ = '\n';
    strbuf_commit(sb, (size_t)(p - line));
}

static void emit_field(struct strbuf *sb, const struct vpci_field *f)
{
    if (f->is_bytes)
        emit_bytes_field(sb, f);
    else
        emit_reg(sb, f);
}

static int cmp_field(const void *a, const void *b)
{
    const struct vpci_field *fa = *(const struct vpci_field *const *)a;
    const struct vpci_field *fb = *(const struct vpci_field *const *)b;
    return (fa->off > fb->off) - (fa->off < fb->off);
}

static int emit_block(struct strbuf *sb, const struct vpci_layout *l,
                      const struct vpci_block *b)
{
    switch (b->kind) {
    case VPCI_BLOCK_HEADER:
        strbuf_append(sb, "header type", 11);
        strbuf_dec(sb, l->header_type);
        strbuf_append(sb, "\n", 1);
        break;
    case VPCI_BLOCK_CAP:
    case VPCI_BLOCK_ECAP: {
        /* "cap 0xOFF NAME" | "cap 0xOFF id 0xID", ecap with " version V" */
        bool ext = b->kind == VPCI_BLOCK_ECAP;
        strbuf_puts(sb, ext ? "ecap 0x" : "cap 0x");
        strbuf_hex(sb, b->off, ext ? 3 : 2);
        if (b->name[0]) {
            strbuf_append(sb, " ", 1);
            strbuf_puts(sb, b->name);
        } else {
            strbuf_append(sb, " id 0x", 6);
            strbuf_hex(sb, b->id, ext ? 4 : 2);
        }
        if (ext) {
            char v[3] = {(char)('0' + b->version / 10),
                         (char)('0' + b->version % 10), 0};
            strbuf_append(sb, " version ", 9);
            strbuf_puts(sb, b->version >= 10 ? v : v + 1);
        }
        strbuf_append(sb, "\n", 1);
        break;
    }
    case VPCI_BLOCK_RAW:
        strbuf_puts(sb, "raw\n");
        break;
    }
    if (b->nfields == 0)
        return 0;
    /* Fields are usually written in offset order already. */
    bool sorted = true;
    for (size_t i = 1; i < b->nfields && sorted; i++)
        sorted = b->fields[i - 1].off <= b->fields[i].off;
    if (sorted) {
        for (size_t i = 0; i < b->nfields; i++)
            emit_field(sb, &b->fields[i]);
        return 0;
    }
    const struct vpci_field **order = malloc(b->nfields * sizeof(*order));
    if (!order)
        return -ENOMEM;
    for (size_t i = 0; i < b->nfields; i++)
        order[i] = &b->fields[i];
    qsort(order, b->nfields, sizeof(*order), cmp_field);
    for (size_t i = 0; i < b->nfields; i++)
        emit_field(sb, order[i]);
    free(order);
    return 0;
}

struct stmt_key {
    const struct vpci_stmt *s;
    int rank;
};

static int cmp_stmt(const void *a, const void *b)
{
    const struct stmt_key *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank - y->rank;
    for (size_t i = 0; i < x->s->nargs && i < y->s->nargs; i++) {
        int c = strcmp(x->s->args[i], y->s->args[i]);
        if (c)
            return c;
    }
    return (x->s->nargs > y->s->nargs) - (x->s->nargs < y->s->nargs);
}

static int emit_stmts(struct strbuf *sb, const char *title,
                      const struct vpci_stmt *st, size_t n, bool binding)
{
    if (n == 0 && !binding)
        return 0;
    struct stmt_key *keys = calloc(n ? n : 1, sizeof(*keys));
    if (!keys)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        keys[i].s = &st[i];
        keys[i].rank = vpci_stmt_rank(binding, st[i].key);
    }
    qsort(keys, n, sizeof(*keys), cmp_stmt);
    strbuf_append(sb, "\n", 1);
    strbuf_puts(sb, title);
    strbuf_append(sb, "\n", 1);
    for (size_t i = 0; i < n; i++) {
        strbuf_append(sb, "  ", 2);
        strbuf_puts(sb, keys[i].s->key);
        for (size_t j = 0; j < keys[i].s->nargs; j++) {
            strbuf_append(sb, " ", 1);
            strbuf_puts(sb, keys[i].s->args[j]);
        }
        strbuf_append(sb, "\n", 1);
    }
    free(keys);
    return 0;
}

VPCI_EXPORT const char *vpci_bar_type_name(enum vpci_bar_type t)
{
    switch (t) {
    case VPCI_BAR_MEM32:
        return "mem32";
    case VPCI_BAR_MEM64:
        return "mem64";
    case VPCI_BAR_IO:
        return "io";
    case VPCI_BAR_NONE:
        break;
    }
    return "none";
}

int vpci_layout_format_to(struct strbuf *sb, const struct vpci_layout *l,
                          bool with_binding)
{
    int r;
    if (!l || l->nblocks == 0)
        return -EINVAL;
    strbuf_append(sb, "vpci-layout ", 12);
    strbuf_dec(sb, l->format);
    strbuf_append(sb, "\nspace ", 7);
    strbuf_dec(sb, l->space);
    strbuf_append(sb, "\n\n", 2);
    if ((r = emit_block(sb, l, &l->blocks[0])) < 0)
        return r;
    strbuf_puts(sb, "\n");
    for (unsigned i = 0; i < VPCI_MAX_BARS; i++) {
        const struct vpci_bar *b = &l->bars[i];
        if (b->type == VPCI_BAR_NONE)
            continue;
        /* "bar N TYPE[ prefetch] size 0xS[ from M]" */
        strbuf_append(sb, "bar ", 4);
        strbuf_dec(sb, i);
        strbuf_append(sb, " ", 1);
        strbuf_puts(sb, vpci_bar_type_name(b->type));
        if (b->prefetch)
            strbuf_append(sb, " prefetch", 9);
        strbuf_append(sb, " size 0x", 8);
        strbuf_hex(sb, b->size, 1);
        if (b->from >= 0) {
            strbuf_append(sb, " from ", 6);
            strbuf_dec(sb, (unsigned)b->from);
        }
        strbuf_append(sb, "\n", 1);
    }
    if (l->rom.size) {
        strbuf_append(sb, "rom size 0x", 11);
        strbuf_hex(sb, l->rom.size, 1);
        if (l->rom.from_phys)
            strbuf_append(sb, " from rom", 9);
        strbuf_append(sb, "\n", 1);
    } else {
        strbuf_puts(sb, "rom none\n");
    }
    static const enum vpci_block_kind order[] = {
        VPCI_BLOCK_CAP, VPCI_BLOCK_ECAP, VPCI_BLOCK_RAW};
    for (size_t k = 0; k < ARRAY_SIZE(order); k++) {
        for (size_t i = 1; i < l->nblocks; i++) {
            const struct vpci_block *b = &l->blocks[i];
            if (b->kind != order[k])
                continue;
            if (b->kind == VPCI_BLOCK_RAW && b->nfields == 0)
                continue;
            strbuf_puts(sb, "\n");
            if ((r = emit_block(sb, l, b)) < 0)
                return r;
        }
    }
    if ((r = emit_stmts(sb, "requires", l->requires, l->nrequires, false)) < 0)
        return r;
    if (with_binding && l->has_binding &&
        (r = emit_stmts(sb, "binding", l->binding, l->nbinding, true)) < 0)
        return r;
    return sb->oom ? -ENOMEM : 0;
}

static int format(const struct vpci_layout *l, bool with_binding,
                  char **ret_text, size_t *ret_len)
{
    struct strbuf sb;

    if (!l || !ret_text || l->nblocks == 0)
        return -EINVAL;
    strbuf_init(&sb);
    /* Room for a typical line per field up front: no regrowth. */
    size_t nf = 0;
    for (size_t i = 0; i < l->nblocks; i++)
        nf += l->blocks[i].nfields + 2;
    strbuf_grow(&sb, 64 * nf + 256);
    int r = vpci_layout_format_to(&sb, l, with_binding);
    if (r < 0) {
        strbuf_release(&sb);
        return r;
    }
    return strbuf_detach(&sb, ret_text, ret_len);
}

VPCI_EXPORT int vpci_layout_format(const struct vpci_layout *l, char **ret_text,
                                   size_t *ret_len)
{
    return format(l, true, ret_text, ret_len);
}

VPCI_EXPORT int vpci_layout_format_unbound(const struct vpci_layout *l,
                                           char **ret_text, size_t *ret_len)
{
    return format(l, false, ret_text, ret_len);
}
