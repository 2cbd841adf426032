/* SPDX-License-Identifier: BSD-2-Clause */
/* The in-memory layout model: construction, copy, lookup, release. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void field_release(struct vpci_field *f)
{
    if (f->val != f->small_)
        free(f->val); /* rw, w1c and phys share its allocation */
}

static void block_release(struct vpci_block *b)
{
    for (size_t i = 0; i < b->nfields; i++)
        field_release(&b->fields[i]);
    free(b->fields);
}

static void stmts_free(struct vpci_stmt *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i].key);
        for (size_t j = 0; j < s[i].nargs; j++)
            free(s[i].args[j]);
        free(s[i].args);
    }
    free(s);
}

VPCI_EXPORT void vpci_layout_free(struct vpci_layout *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->nblocks; i++)
        block_release(&l->blocks[i]);
    free(l->blocks);
    stmts_free(l->requires, l->nrequires);
    stmts_free(l->binding, l->nbinding);
    free(l);
}

VPCI_EXPORT int vpci_layout_new(unsigned space, unsigned header_type,
                                struct vpci_layout **ret)
{
    if ((space != VPCI_CFG_SPACE_STD && space != VPCI_CFG_SPACE_EXT) ||
        header_type > 1 || !ret)
        return -EINVAL;
    struct vpci_layout *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->format = VPCI_FORMAT_VERSION;
    l->space = space;
    l->header_type = header_type;
    for (unsigned i = 0; i < VPCI_MAX_BARS; i++)
        l->bars[i].from = -1;
    struct vpci_block *hdr;
    int r = vpci_layout_add_block(l, VPCI_BLOCK_HEADER, 0, 0, 0, "", &hdr);
    if (r < 0) {
        vpci_layout_free(l);
        return r;
    }
    *ret = l;
    return 0;
}

VPCI_EXPORT int vpci_layout_add_block(struct vpci_layout *l,
                                      enum vpci_block_kind kind, uint16_t off,
                                      uint16_t id, uint8_t version,
                                      const char *name, struct vpci_block **ret)
{
    if (!l || (name && strlen(name) > VPCI_NAME_MAX))
        return -EINVAL;
    /* The header is always blocks[0] and exists exactly once. */
    if ((kind == VPCI_BLOCK_HEADER) != (l->nblocks == 0))
        return -EINVAL;
    if (l->nblocks == l->cap_blocks) {
        size_t ncap = l->cap_blocks ? l->cap_blocks * 2 : 8;
        struct vpci_block *n = realloc(l->blocks, ncap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        l->blocks = n;
        l->cap_blocks = ncap;
    }
    struct vpci_block *b = &l->blocks[l->nblocks++];
    memset(b, 0, sizeof(*b));
    b->kind = kind;
    b->off = off;
    b->id = id;
    b->version = version;
    if (name)
        strcpy(b->name, name);
    if (ret)
        *ret = b;
    return 0;
}

VPCI_EXPORT void vpci_layout_remove_block(struct vpci_layout *l, size_t i)
{
    if (!l || i == 0 || i >= l->nblocks)
        return;
    block_release(&l->blocks[i]);
    memmove(&l->blocks[i], &l->blocks[i + 1],
            (l->nblocks - i - 1) * sizeof(l->blocks[0]));
    l->nblocks--;
}

/* Point the four arrays of f at base (len bytes each). */
static void field_point(struct vpci_field *f, uint8_t *base, unsigned len)
{
    f->val = base;
    f->rw = base + len;
    f->w1c = base + 2 * len;
    f->phys = base + 3 * len;
}

struct vpci_field *vpci_block_new_field(struct vpci_block *b, unsigned len)
{
    if (b->nfields == b->cap_fields) {
        size_t ncap = b->cap_fields ? b->cap_fields * 2 : 8;
        struct vpci_field *old = b->fields;
        struct vpci_field *n = realloc(b->fields, ncap * sizeof(*n));
        if (!n)
            return NULL;
        b->fields = n;
        b->cap_fields = ncap;
        /* Fields that keep their arrays inside themselves moved too. */
        if (n != old)
            for (size_t i = 0; i < b->nfields; i++)
                if (n[i].len <= 4)
                    field_point(&n[i], n[i].small_, n[i].len);
    }
    /* Copied from a zeroed constant: GCC makes a memset of this size a
     * rep stos, which takes longer to start than the rest of this. */
    static const struct vpci_field empty;
    struct vpci_field *f = &b->fields[b->nfields];
    *f = empty;
    /* Registers (most fields) need no allocation; bytes runs get one
     * allocation for the four arrays. */
    if (len <= 4) {
        field_point(f, f->small_, len);
    } else {
        uint8_t *base = calloc(len, 4);
        if (!base)
            return NULL;
        field_point(f, base, len);
    }
    f->len = (uint16_t)len;
    b->nfields++;
    return f;
}

VPCI_EXPORT int vpci_block_add_reg(struct vpci_block *b, uint16_t off,
                                   unsigned len, const char *name, uint32_t val,
                                   uint32_t rw, uint32_t w1c, uint32_t phys)
{
    if (!b || (len != 1 && len != 2 && len != 4) || !name ||
        strlen(name) > VPCI_NAME_MAX)
        return -EINVAL;
    struct vpci_field *f = vpci_block_new_field(b, len);
    if (!f)
        return -ENOMEM;
    f->off = off;
    strcpy(f->name, name);
    le_put(f->val, len, val);
    le_put(f->rw, len, rw);
    le_put(f->w1c, len, w1c);
    le_put(f->phys, len, phys);
    return 0;
}

VPCI_EXPORT int vpci_block_add_bytes(struct vpci_block *b, uint16_t off,
                                     unsigned len, const uint8_t *val,
                                     const uint8_t *rw, const uint8_t *w1c,
                                     const uint8_t *phys)
{
    if (!b || len == 0 || len > VPCI_CFG_SPACE_EXT || !val)
        return -EINVAL;
    struct vpci_field *f = vpci_block_new_field(b, len);
    if (!f)
        return -ENOMEM;
    f->off = off;
    f->is_bytes = true;
    memcpy(f->val, val, len);
    if (rw)
        memcpy(f->rw, rw, len);
    if (w1c)
        memcpy(f->w1c, w1c, len);
    if (phys)
        memcpy(f->phys, phys, len);
    return 0;
}

static int stmt_fill(struct vpci_stmt *s, const char *key,
                     const char *const *args, size_t nargs)
{
    memset(s, 0, sizeof(*s));
    s->key = strdup(key);
    s->args = calloc(nargs ? nargs : 1, sizeof(char *));
    if (!s->key || !s->args)
        goto oom;
    for (size_t i = 0; i < nargs; i++) {
        s->args[i] = strdup(args[i]);
        if (!s->args[i])
            goto oom;
        s->nargs = i + 1;
    }
    return 0;
oom:
    free(s->key);
    for (size_t i = 0; i < s->nargs; i++)
        free(s->args[i]);
    free(s->args);
    memset(s, 0, sizeof(*s));
    return -ENOMEM;
}

VPCI_EXPORT int vpci_layout_add_stmt(struct vpci_layout *l, bool binding,
                                     const char *key, const char *const *args,
                                     size_t nargs)
{
    if (!l || !key || (nargs && !args))
        return -EINVAL;
    struct vpci_stmt **list = binding ? &l->binding : &l->requires;
    size_t *n = binding ? &l->nbinding : &l->nrequires;
    struct vpci_stmt *nl = realloc(*list, (*n + 1) * sizeof(**list));
    if (!nl)
        return -ENOMEM;
    *list = nl;
    int r = stmt_fill(&nl[*n], key, args, nargs);
    if (r < 0)
        return r;
    (*n)++;
    if (binding)
        l->has_binding = true;
    return 0;
}

VPCI_EXPORT int vpci_layout_dup(const struct vpci_layout *l,
                                struct vpci_layout **ret)
{
    struct vpci_layout *c;
    int r;

    if (!l || !ret || l->nblocks == 0)
        return -EINVAL;
    r = vpci_layout_new(l->space, l->header_type, &c);
    if (r < 0)
        return r;
    memcpy(c->bars, l->bars, sizeof(c->bars));
    c->rom = l->rom;
    c->format = l->format;
    c->has_binding = l->has_binding;
    c->blocks[0].line = l->blocks[0].line;
    c->blocks[0].col = l->blocks[0].col;
    for (size_t i = 0; i < l->nblocks; i++) {
        const struct vpci_block *sb = &l->blocks[i];
        struct vpci_block *db = &c->blocks[0];
        if (i > 0) {
            r = vpci_layout_add_block(c, sb->kind, sb->off, sb->id, sb->version,
                                      sb->name, &db);
            if (r < 0)
                goto fail;
            db->line = sb->line;
            db->col = sb->col;
        }
        for (size_t j = 0; j < sb->nfields; j++) {
            const struct vpci_field *sf = &sb->fields[j];
            struct vpci_field *df = vpci_block_new_field(db, sf->len);
            if (!df) {
                r = -ENOMEM;
                goto fail;
            }
            uint8_t *v = df->val, *rw = df->rw, *w = df->w1c, *p = df->phys;
            *df = *sf;
            df->val = v;
            df->rw = rw;
            df->w1c = w;
            df->phys = p;
            memcpy(v, sf->val, sf->len);
            memcpy(rw, sf->rw, sf->len);
            memcpy(w, sf->w1c, sf->len);
            memcpy(p, sf->phys, sf->len);
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        const struct vpci_stmt *s = pass ? l->binding : l->requires;
        size_t n = pass ? l->nbinding : l->nrequires;
        for (size_t i = 0; i < n; i++) {
            r = vpci_layout_add_stmt(
                c, pass, s[i].key, (const char *const *)s[i].args, s[i].nargs);
            if (r < 0)
                goto fail;
            struct vpci_stmt *d = pass ? &c->binding[c->nbinding - 1]
                                       : &c->requires[c->nrequires - 1];
            d->line = s[i].line;
            d->col = s[i].col;
        }
    }
    c->has_binding = l->has_binding;
    *ret = c;
    return 0;
fail:
    vpci_layout_free(c);
    return r;
}

VPCI_EXPORT const struct vpci_field *
vpci_block_find_field(const struct vpci_block *b, const char *name)
{
    if (!b || !name || !*name)
        return NULL;
    for (size_t i = 0; i < b->nfields; i++)
        if (!b->fields[i].is_bytes && !strcmp(b->fields[i].name, name))
            return &b->fields[i];
    return NULL;
}

VPCI_EXPORT uint32_t vpci_field_value(const struct vpci_field *f)
{
    if (!f)
        return 0;
    return le_get(f->val, f->len < 4 ? f->len : 4);
}

VPCI_EXPORT int vpci_policy_from_string(const char *s, enum vpci_policy *ret)
{
    if (!s || !ret)
        return -EINVAL;
    if (!strcmp(s, "vfio"))
        *ret = VPCI_POLICY_VFIO;
    else if (!strcmp(s, "identity"))
        *ret = VPCI_POLICY_IDENTITY;
    else
        return -EINVAL;
    return 0;
}

unsigned vpci_block_span(const struct vpci_block *b, bool table_min)
{
    bool ext = b->kind == VPCI_BLOCK_ECAP;
    unsigned len = ext ? 4u : 2u;
    const struct vpci_cap_def *d = table_min ? vpci_cap_find(ext, b->id) : NULL;
    if (d && d->min_len > len)
        len = d->min_len;
    for (size_t i = 0; i < b->nfields; i++) {
        unsigned end = (unsigned)b->fields[i].off + b->fields[i].len;
        if (end > len)
            len = end;
    }
    return len;
}
