/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Semantic diff: capabilities are matched by kind, ID and occurrence, not
 * by offset, so a moved capability reads as "moved" rather than as one
 * removed and one added; fields are matched by name (bytes by offset).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct differ {
    struct strbuf sb;
    int count;
};

static void line(struct differ *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void line(struct differ *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strbuf_vprintf(&d->sb, fmt, ap);
    va_end(ap);
    strbuf_puts(&d->sb, "\n");
    d->count++;
}

static void block_label(const struct vpci_block *b, char *buf, size_t n)
{
    switch (b->kind) {
    case VPCI_BLOCK_HEADER:
        snprintf(buf, n, "header");
        break;
    case VPCI_BLOCK_RAW:
        snprintf(buf, n, "raw");
        break;
    case VPCI_BLOCK_CAP:
    case VPCI_BLOCK_ECAP:
        if (b->name[0])
            snprintf(buf, n, "%s %s",
                     b->kind == VPCI_BLOCK_CAP ? "cap" : "ecap", b->name);
        else
            snprintf(buf, n, "%s id 0x%0*x",
                     b->kind == VPCI_BLOCK_CAP ? "cap" : "ecap",
                     b->kind == VPCI_BLOCK_CAP ? 2 : 4, b->id);
        break;
    }
}

static bool field_same_key(const struct vpci_field *a,
                           const struct vpci_field *b)
{
    if (a->is_bytes != b->is_bytes)
        return false;
    if (a->is_bytes)
        return a->off == b->off;
    return !strcmp(a->name, b->name);
}

static void field_label(const struct vpci_field *f, char *buf, size_t n)
{
    if (f->is_bytes)
        snprintf(buf, n, "bytes@0x%02x", f->off);
    else
        snprintf(buf, n, "%s", f->name);
}

static void diff_array(struct differ *d, const char *where, const char *what,
                       const uint8_t *a, const uint8_t *b, unsigned len,
                       bool as_reg)
{
    if (!memcmp(a, b, len))
        return;
    if (as_reg) {
        line(d, "%s: %s 0x%0*x -> 0x%0*x", where, what, 2 * (int)len,
             le_get(a, len), 2 * (int)len, le_get(b, len));
        return;
    }
    unsigned first = 0;
    while (a[first] == b[first])
        first++;
    line(d, "%s: %s differ from byte %u (0x%02x -> 0x%02x)", where, what, first,
         a[first], b[first]);
}

static void diff_field(struct differ *d, const char *blk,
                       const struct vpci_field *a, const struct vpci_field *b)
{
    char lab[64], where[160];
    field_label(a, lab, sizeof(lab));
    snprintf(where, sizeof(where), "%s.%s", blk, lab);
    if (a->off != b->off)
        line(d, "%s: moved 0x%02x -> 0x%02x", where, a->off, b->off);
    if (a->len != b->len) {
        line(d, "%s: width %u -> %u bytes", where, a->len, b->len);
        return;
    }
    bool reg = !a->is_bytes;
    diff_array(d, where, reg ? "value" : "bytes", a->val, b->val, a->len, reg);
    diff_array(d, where, "rw", a->rw, b->rw, a->len, reg);
    diff_array(d, where, "w1c", a->w1c, b->w1c, a->len, reg);
    diff_array(d, where, "phys", a->phys, b->phys, a->len, reg);
}

static void diff_fields(struct differ *d, const char *blk,
                        const struct vpci_block *a, const struct vpci_block *b)
{
    char lab[64];
    for (size_t i = 0; i < a->nfields; i++) {
        const struct vpci_field *fb = NULL;
        for (size_t j = 0; j < b->nfields && !fb; j++)
            if (field_same_key(&a->fields[i], &b->fields[j]))
                fb = &b->fields[j];
        if (fb) {
            diff_field(d, blk, &a->fields[i], fb);
        } else {
            field_label(&a->fields[i], lab, sizeof(lab));
            line(d, "%s.%s: only in A", blk, lab);
        }
    }
    for (size_t j = 0; j < b->nfields; j++) {
        bool found = false;
        for (size_t i = 0; i < a->nfields && !found; i++)
            found = field_same_key(&a->fields[i], &b->fields[j]);
        if (!found) {
            field_label(&b->fields[j], lab, sizeof(lab));
            line(d, "%s.%s: only in B", blk, lab);
        }
    }
}

/* Occurrence number of block i among blocks of the same kind and ID. */
static unsigned occurrence(const struct vpci_layout *l, size_t i)
{
    unsigned n = 0;
    for (size_t k = 1; k < i; k++)
        n += l->blocks[k].kind == l->blocks[i].kind &&
             l->blocks[k].id == l->blocks[i].id;
    return n;
}

static long match_block(const struct vpci_layout *a, size_t i,
                        const struct vpci_layout *b)
{
    const struct vpci_block *x = &a->blocks[i];
    if (x->kind == VPCI_BLOCK_HEADER)
        return 0;
    unsigned occ = occurrence(a, i);
    for (size_t k = 1; k < b->nblocks; k++) {
        const struct vpci_block *y = &b->blocks[k];
        if (y->kind == x->kind &&
            (x->kind == VPCI_BLOCK_RAW || y->id == x->id) &&
            (x->kind == VPCI_BLOCK_RAW || occurrence(b, k) == occ))
            return (long)k;
    }
    return -1;
}

static void bar_text(const struct vpci_bar *b, char *buf, size_t n)
{
    if (b->type == VPCI_BAR_NONE) {
        snprintf(buf, n, "none");
        return;
    }
    int k =
        snprintf(buf, n, "%s%s size 0x%llx", vpci_bar_type_name(b->type),
                 b->prefetch ? " prefetch" : "", (unsigned long long)b->size);
    if (b->from >= 0 && k > 0 && (size_t)k < n)
        snprintf(buf + k, n - (size_t)k, " from %d", b->from);
}

static void stmt_text(const struct vpci_stmt *s, struct strbuf *sb)
{
    strbuf_puts(sb, s->key);
    for (size_t i = 0; i < s->nargs; i++) {
        strbuf_puts(sb, " ");
        strbuf_puts(sb, s->args[i]);
    }
}

static bool stmt_in(const struct vpci_stmt *s, const struct vpci_stmt *list,
                    size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s->key, list[i].key) || s->nargs != list[i].nargs)
            continue;
        bool same = true;
        for (size_t j = 0; j < s->nargs && same; j++)
            same = !strcmp(s->args[j], list[i].args[j]);
        if (same)
            return true;
    }
    return false;
}

static void diff_stmts(struct differ *d, const char *sect,
                       const struct vpci_stmt *a, size_t na,
                       const struct vpci_stmt *b, size_t nb)
{
    for (int pass = 0; pass < 2; pass++) {
        const struct vpci_stmt *x = pass ? b : a, *y = pass ? a : b;
        size_t nx = pass ? nb : na, ny = pass ? na : nb;
        for (size_t i = 0; i < nx; i++) {
            if (stmt_in(&x[i], y, ny))
                continue;
            struct strbuf t;
            strbuf_init(&t);
            stmt_text(&x[i], &t);
            line(d, "%s: %s %s", sect, pass ? "+" : "-", t.buf ? t.buf : "");
            strbuf_release(&t);
        }
    }
}

static void chain_text(const struct vpci_layout *l, enum vpci_block_kind k,
                       struct strbuf *sb)
{
    char lab[64];
    for (size_t i = 1; i < l->nblocks; i++) {
        if (l->blocks[i].kind != k)
            continue;
        block_label(&l->blocks[i], lab, sizeof(lab));
        const char *sp = strchr(lab, ' ');
        strbuf_printf(sb, "%s%s", sb->len ? " " : "", sp ? sp + 1 : lab);
    }
}

VPCI_EXPORT int vpci_layout_diff(const struct vpci_layout *a,
                                 const struct vpci_layout *b, char **ret_text)
{
    struct differ d = {.count = 0};
    char la[64], xa[96], xb[96];

    if (!a || !b || !ret_text || !a->nblocks || !b->nblocks)
        return -EINVAL;
    strbuf_init(&d.sb);
    strbuf_puts(&d.sb, "");
    if (a->space != b->space)
        line(&d, "space: %u -> %u", a->space, b->space);
    if (a->header_type != b->header_type)
        line(&d, "header: type%u -> type%u", a->header_type, b->header_type);
    for (unsigned i = 0; i < VPCI_MAX_BARS; i++) {
        bar_text(&a->bars[i], xa, sizeof(xa));
        bar_text(&b->bars[i], xb, sizeof(xb));
        if (strcmp(xa, xb))
            line(&d, "bar %u: %s -> %s", i, xa, xb);
    }
    if (a->rom.size != b->rom.size || a->rom.from_phys != b->rom.from_phys)
        line(&d, "rom: size 0x%x%s -> size 0x%x%s", a->rom.size,
             a->rom.from_phys ? " from rom" : "", b->rom.size,
             b->rom.from_phys ? " from rom" : "");

    static const enum vpci_block_kind kinds[] = {VPCI_BLOCK_CAP,
                                                 VPCI_BLOCK_ECAP};
    for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
        struct strbuf ca, cb;
        strbuf_init(&ca);
        strbuf_init(&cb);
        chain_text(a, kinds[k], &ca);
        chain_text(b, kinds[k], &cb);
        if (strcmp(ca.buf ? ca.buf : "", cb.buf ? cb.buf : ""))
            line(&d, "%s chain: %s -> %s", k ? "ecap" : "cap",
                 ca.buf ? ca.buf : "(none)", cb.buf ? cb.buf : "(none)");
        strbuf_release(&ca);
        strbuf_release(&cb);
    }

    for (size_t i = 0; i < a->nblocks; i++) {
        const struct vpci_block *x = &a->blocks[i];
        long j = match_block(a, i, b);
        block_label(x, la, sizeof(la));
        if (j < 0) {
            /* An empty raw block describes nothing (fmt drops it). */
            if (x->kind != VPCI_BLOCK_RAW)
                line(&d, "%s@0x%02x: only in A", la, x->off);
            else if (x->nfields > 0)
                line(&d, "raw: only in A");
            continue;
        }
        const struct vpci_block *y = &b->blocks[j];
        if (x->off != y->off)
            line(&d, "%s: moved 0x%02x -> 0x%02x", la, x->off, y->off);
        if (x->version != y->version)
            line(&d, "%s: version %u -> %u", la, x->version, y->version);
        diff_fields(&d, la, x, y);
    }
    for (size_t j = 1; j < b->nblocks; j++) {
        bool matched = false;
        for (size_t i = 1; i < a->nblocks && !matched; i++)
            matched = match_block(a, i, b) == (long)j;
        if (matched)
            continue;
        block_label(&b->blocks[j], la, sizeof(la));
        if (b->blocks[j].kind != VPCI_BLOCK_RAW)
            line(&d, "%s@0x%02x: only in B", la, b->blocks[j].off);
        else if (b->blocks[j].nfields > 0)
            line(&d, "raw: only in B");
    }
    diff_stmts(&d, "requires", a->requires, a->nrequires, b->requires,
               b->nrequires);
    diff_stmts(&d, "binding", a->binding, a->nbinding, b->binding, b->nbinding);
    size_t len;
    int r = strbuf_detach(&d.sb, ret_text, &len);
    return r < 0 ? r : d.count;
}
