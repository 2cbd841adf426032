/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Compatibility of a layout with a physical function.
 *
 * A layout is compiled once into rules (what its blocks, BARs and requires
 * section ask of the hardware) and then checked against many functions:
 * the daemon runs every instance type against every function of a host,
 * so a check must stay in the microsecond range.  It therefore walks the
 * capability chains itself, recording only IDs and offsets, instead of
 * calling vpci_decode() (which clears a 20 KiB result and sizes every
 * capability).  The walk follows vpci_decode()'s rules exactly, so a
 * capability the check finds is one derive and resolve find too.
 *
 * Config bytes are hostile input: every pointer is range-checked and both
 * chains are bounded by a visited bitmap.  Rules read facts, never trust
 * them: an absurd value fails a rule, it cannot crash the check.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_PAIRS 16
#define DRIVER_MAX 64

struct id_pair {
    uint16_t a, b;
};

struct rule_bar {
    unsigned idx;  /* virtual BAR */
    unsigned from; /* physical BAR */
    enum vpci_bar_type type;
    bool prefetch;
    uint64_t size;
};

/* Blocks holding phys bits, by capability ID: the device needs at least
 * count capabilities with that ID (the k-th block maps to the k-th). */
struct rule_cap {
    bool ext;
    uint16_t id;
    unsigned count;
    char name[VPCI_NAME_MAX + 8]; /* "cap pcie", "ecap 0x2a" */
};

struct vpci_rules {
    unsigned header_type;
    uint16_t vendor_id, device_id; /* the layout's header */
    struct id_pair devices[MAX_PAIRS];
    size_t ndevices; /* 0: no requires device */
    struct id_pair subsystems[MAX_PAIRS];
    size_t nsubsystems;
    char drivers[MAX_PAIRS][DRIVER_MAX + 1];
    size_t ndrivers;
    bool migration;
    bool pasid; /* exposed or required */
    unsigned pasid_width;
    bool pasid_exec, pasid_priv;
    bool ats, pri;
    int numa;            /* -1: no requirement */
    unsigned speed_mts;  /* 0: no requirement */
    char speed_str[8];   /* as written, "2.5" */
    unsigned link_width; /* 0: no requirement */
    struct rule_bar bars[VPCI_MAX_BARS];
    size_t nbars;
    uint32_t rom_size; /* 0: no ROM from the device */
    bool msi;
    unsigned msi_vectors;
    bool msix;
    unsigned msix_vectors;
    struct rule_cap *caps;
    size_t ncaps;
};

/* ------------------------------------------------------------------ */
/* Formatting                                                          */
/* ------------------------------------------------------------------ */

/*
 * A check formats four strings per failed rule, and a matrix of 200,000
 * checks fails about a million rules: vsnprintf() was two thirds of the
 * time.  This handles the conversions compat uses (%s, %d, %u, %x, %llu,
 * with an optional zero-padded width), truncating like snprintf().
 */
struct out {
    char *p, *end; /* end: the NUL's slot */
};

static void out_ch(struct out *o, char c)
{
    if (o->p < o->end)
        *o->p++ = c;
}

static void out_num(struct out *o, unsigned long long v, unsigned base,
                    unsigned width, bool neg)
{
    char tmp[24];
    unsigned n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (neg)
        out_ch(o, '-');
    while (width > n + neg) {
        out_ch(o, '0');
        width--;
    }
    while (n)
        out_ch(o, tmp[--n]);
}

static void vfmt(char *buf, size_t size, const char *f, va_list ap)
{
    struct out o = {buf, buf + size - 1};
    for (; *f; f++) {
        if (*f != '%') {
            /* Copy the literal run up to the next conversion at once. */
            size_t n = strcspn(f, "%");
            size_t room = (size_t)(o.end - o.p);
            memcpy(o.p, f, n < room ? n : room);
            o.p += n < room ? n : room;
            f += n - 1;
            continue;
        }
        f++;
        unsigned width = 0, longs = 0;
        while (*f >= '0' && *f <= '9')
            width = width * 10 + (unsigned)(*f++ - '0');
        while (*f == 'l')
            longs++, f++;
        switch (*f) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            size_t n = strlen(s);
            size_t room = (size_t)(o.end - o.p);
            if (n > room)
                n = room;
            memcpy(o.p, s, n);
            o.p += n;
            break;
        }
        case 'd': {
            int v = va_arg(ap, int);
            unsigned long long m =
                v < 0 ? (unsigned long long)-(long long)v : (unsigned)v;
            out_num(&o, m, 10, width, v < 0);
            break;
        }
        case 'u':
        case 'x': {
            unsigned long long v = longs >= 2 ? va_arg(ap, unsigned long long)
                                              : va_arg(ap, unsigned);
            out_num(&o, v, *f == 'x' ? 16 : 10, width, false);
            break;
        }
        case '%':
            out_ch(&o, '%');
            break;
        default: /* not used by compat; never reached */
            f--;
            break;
        }
        if (!*f)
            break;
    }
    *o.p = '\0';
}

static void fmt(char *buf, size_t size, const char *f, ...)
    __attribute__((format(printf, 3, 4)));
static void fmt(char *buf, size_t size, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vfmt(buf, size, f, ap);
    va_end(ap);
}

/* Copy a string, truncating. */
static void copy(char *buf, size_t size, const char *s)
{
    size_t n = strlen(s);
    if (n >= size)
        n = size - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
}

/* ------------------------------------------------------------------ */
/* The device's capabilities                                           */
/* ------------------------------------------------------------------ */

/* 48 std slots + 960 ext slots: every capability a chain can hold. */
#define DEV_MAX_CAPS 1024

struct devcaps {
    size_t n;
    uint16_t id[DEV_MAX_CAPS];
    uint16_t off[DEV_MAX_CAPS];
    bool ext[DEV_MAX_CAPS];
};

static void devcaps_add(struct devcaps *dc, bool ext, uint16_t id, uint16_t off)
{
    if (dc->n >= DEV_MAX_CAPS)
        return;
    dc->ext[dc->n] = ext;
    dc->id[dc->n] = id;
    dc->off[dc->n] = off;
    dc->n++;
}

/* vpci_decode()'s walk without warnings or lengths. */
static void devcaps_walk(const uint8_t *cfg, unsigned size, struct devcaps *dc)
{
    dc->n = 0;
    if (!cfg || size < 64)
        return;
    if (size > VPCI_CFG_SPACE_EXT)
        size = VPCI_CFG_SPACE_EXT;
    unsigned ht = cfg[0x0e] & 0x7f;
    if (ht > 2 || !(le_get(cfg + 0x06, 2) & 0x10))
        return;

    bool can_ext = false;
    uint8_t seen[256 / 8] = {0};
    unsigned end = size < VPCI_CFG_SPACE_STD ? size : VPCI_CFG_SPACE_STD;
    unsigned ptr = cfg[ht == 2 ? 0x14 : 0x34] & 0xfc;
    for (unsigned steps = 0; ptr && steps <= 48; steps++) {
        if (ptr < 0x40 || ptr + 2 > end || seen[ptr / 8] & (1u << (ptr % 8)))
            break;
        seen[ptr / 8] |= (uint8_t)(1u << (ptr % 8));
        uint8_t id = cfg[ptr];
        if (id == 0xff)
            break;
        if (id == 0x10 || id == 0x07)
            can_ext = true;
        devcaps_add(dc, false, id, (uint16_t)ptr);
        ptr = cfg[ptr + 1] & 0xfc;
    }
    if (!can_ext || size < VPCI_CFG_SPACE_STD + 4)
        return;

    uint8_t eseen[VPCI_CFG_SPACE_EXT / 4 / 8] = {0};
    ptr = VPCI_CFG_SPACE_STD;
    for (unsigned steps = 0; steps <= (VPCI_CFG_SPACE_EXT - 0x100) / 4;
         steps++) {
        if (ptr + 4 > size)
            break;
        unsigned slot = ptr / 4;
        if (eseen[slot / 8] & (1u << (slot % 8)))
            break;
        eseen[slot / 8] |= (uint8_t)(1u << (slot % 8));
        uint32_t hdr = le_get(cfg + ptr, 4);
        if (hdr == 0 || hdr == 0xffffffff)
            break;
        devcaps_add(dc, true, (uint16_t)(hdr & 0xffff), (uint16_t)ptr);
        unsigned next = (hdr >> 20) & 0xffc;
        if (next < VPCI_CFG_SPACE_STD)
            break;
        ptr = next;
    }
}

/* Offset of the k-th (0-based) capability with this ID, or -1. */
static int devcaps_find(const struct devcaps *dc, bool ext, uint16_t id,
                        unsigned k)
{
    for (size_t i = 0; i < dc->n; i++)
        if (dc->ext[i] == ext && dc->id[i] == id && k-- == 0)
            return dc->off[i];
    return -1;
}

static unsigned devcaps_count(const struct devcaps *dc, bool ext, uint16_t id)
{
    unsigned n = 0;
    for (size_t i = 0; i < dc->n; i++)
        n += dc->ext[i] == ext && dc->id[i] == id;
    return n;
}

/* ------------------------------------------------------------------ */
/* Compiling a layout                                                  */
/* ------------------------------------------------------------------ */

static int hexval(const char *s, size_t n, uint16_t *ret)
{
    uint32_t v = 0;
    if (n == 0 || n > 4)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int d = hex_digit((unsigned char)s[i]);
        if (d < 0)
            return -1;
        v = v << 4 | (unsigned)d;
    }
    *ret = (uint16_t)v;
    return 0;
}

/* "vvvv:dddd" */
static int parse_pair(const char *s, struct id_pair *ret)
{
    const char *colon = strchr(s, ':');
    if (!colon || hexval(s, (size_t)(colon - s), &ret->a) < 0 ||
        hexval(colon + 1, strlen(colon + 1), &ret->b) < 0)
        return -1;
    return 0;
}

static int parse_uint(const char *s, unsigned max, unsigned *ret)
{
    unsigned long v = 0;
    if (!*s)
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (unsigned)(*p - '0');
        if (v > max)
            return -1;
    }
    *ret = (unsigned)v;
    return 0;
}

/* "2.5" -> 2500 MT/s; the layout grammar allows these six only. */
static unsigned speed_mts(const char *s)
{
    static const struct {
        const char *gts;
        unsigned mts;
    } t[] = {{"2.5", 2500}, {"5", 5000},   {"8", 8000},
             {"16", 16000}, {"32", 32000}, {"64", 64000}};
    for (size_t i = 0; i < ARRAY_SIZE(t); i++)
        if (!strcmp(s, t[i].gts))
            return t[i].mts;
    return 0;
}

static int compile_requires(struct vpci_rules *r, const struct vpci_stmt *st,
                            struct vpci_error *err)
{
    const char *k = st->key;
    if (!strcmp(k, "device") || !strcmp(k, "subsystem")) {
        bool dev = k[0] == 'd';
        struct id_pair *list = dev ? r->devices : r->subsystems;
        size_t *n = dev ? &r->ndevices : &r->nsubsystems;
        for (size_t i = 0; i < st->nargs && *n < MAX_PAIRS; i++)
            if (parse_pair(st->args[i], &list[(*n)++]) < 0)
                goto bad;
    } else if (!strcmp(k, "driver")) {
        for (size_t i = 0; i < st->nargs && r->ndrivers < MAX_PAIRS; i++) {
            if (strlen(st->args[i]) > DRIVER_MAX)
                goto bad;
            strcpy(r->drivers[r->ndrivers++], st->args[i]);
        }
    } else if (!strcmp(k, "migration")) {
        r->migration = true;
    } else if (!strcmp(k, "pasid")) {
        r->pasid = true;
        for (size_t i = 0; i < st->nargs; i++) {
            const char *a = st->args[i];
            unsigned w;
            if (!strcmp(a, "width") && i + 1 < st->nargs) {
                if (parse_uint(st->args[++i], 20, &w) < 0)
                    goto bad;
                if (w > r->pasid_width)
                    r->pasid_width = w;
            } else if (!strcmp(a, "exec")) {
                r->pasid_exec = true;
            } else if (!strcmp(a, "priv")) {
                r->pasid_priv = true;
            } else {
                goto bad;
            }
        }
    } else if (!strcmp(k, "ats")) {
        r->ats = true;
    } else if (!strcmp(k, "pri")) {
        r->pri = true;
    } else if (!strcmp(k, "numa")) {
        unsigned n;
        if (st->nargs != 1 || parse_uint(st->args[0], 1023, &n) < 0)
            goto bad;
        r->numa = (int)n;
    } else if (!strcmp(k, "link")) {
        for (size_t i = 0; i + 1 < st->nargs; i += 2) {
            const char *a = st->args[i], *v = st->args[i + 1];
            if (!strcmp(a, "speed")) {
                if (!(r->speed_mts = speed_mts(v)))
                    goto bad;
                snprintf(r->speed_str, sizeof(r->speed_str), "%s", v);
            } else if (!strcmp(a, "width")) {
                if (parse_uint(v, 32, &r->link_width) < 0)
                    goto bad;
            } else {
                goto bad;
            }
        }
    }
    /* Keywords this version does not know cannot get here: validation
     * rejects them. */
    return 0;
bad:
    vpci_seterr(err, st->line, st->col, "requires %s: malformed arguments", k);
    return -EINVAL;
}

static bool block_has_phys(const struct vpci_block *b)
{
    for (size_t i = 0; i < b->nfields; i++) {
        const struct vpci_field *f = &b->fields[i];
        for (unsigned j = 0; j < f->len; j++)
            if (f->phys[j])
                return true;
    }
    return false;
}

static uint32_t block_reg(const struct vpci_block *b, const char *name)
{
    const struct vpci_field *f = vpci_block_find_field(b, name);
    return f ? vpci_field_value(f) : 0;
}

static int compile_caps(struct vpci_rules *r, const struct vpci_layout *l)
{
    for (size_t i = 1; i < l->nblocks; i++) {
        const struct vpci_block *b = &l->blocks[i];
        if (b->kind != VPCI_BLOCK_CAP && b->kind != VPCI_BLOCK_ECAP)
            continue;
        bool ext = b->kind == VPCI_BLOCK_ECAP;
        if (!ext && b->id == 0x05) {
            r->msi = true;
            unsigned mmc = (block_reg(b, "msgctl") >> 1) & 7;
            r->msi_vectors = 1u << (mmc > 5 ? 5 : mmc);
        } else if (!ext && b->id == 0x11) {
            r->msix = true;
            r->msix_vectors = (block_reg(b, "msgctl") & 0x7ff) + 1;
        } else if (ext && b->id == 0x001b) {
            uint32_t cap = block_reg(b, "pasid_cap");
            unsigned w = (cap >> 8) & 0x1f;
            r->pasid = true;
            if (w > r->pasid_width)
                r->pasid_width = w;
            r->pasid_exec |= (cap & 2) != 0;
            r->pasid_priv |= (cap & 4) != 0;
        } else if (ext && b->id == 0x000f) {
            r->ats = true;
        } else if (ext && b->id == 0x0013) {
            r->pri = true;
        }
        if (!block_has_phys(b))
            continue;
        /* Ordinal of this block among the blocks with its ID. */
        unsigned k = 0;
        for (size_t j = 1; j < i; j++)
            k += l->blocks[j].kind == b->kind && l->blocks[j].id == b->id;
        struct rule_cap *c = NULL;
        for (size_t j = 0; j < r->ncaps && !c; j++)
            if (r->caps[j].ext == ext && r->caps[j].id == b->id)
                c = &r->caps[j];
        if (!c) {
            struct rule_cap *nc =
                realloc(r->caps, (r->ncaps + 1) * sizeof(*r->caps));
            if (!nc)
                return -ENOMEM;
            r->caps = nc;
            c = &r->caps[r->ncaps++];
            memset(c, 0, sizeof(*c));
            c->ext = ext;
            c->id = b->id;
            const struct vpci_cap_def *d = vpci_cap_find(ext, b->id);
            if (d)
                snprintf(c->name, sizeof(c->name), "%s %s",
                         ext ? "ecap" : "cap", d->name);
            else
                snprintf(c->name, sizeof(c->name), "%s 0x%x",
                         ext ? "ecap" : "cap", b->id);
        }
        if (k + 1 > c->count)
            c->count = k + 1;
    }
    return 0;
}

VPCI_EXPORT int vpci_rules_new(const struct vpci_layout *l,
                               struct vpci_rules **ret, struct vpci_error *err)
{
    if (!l || !ret)
        return -EINVAL;
    int rc = vpci_layout_validate(l, err);
    if (rc < 0)
        return rc;
    struct vpci_rules *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->numa = -1;
    r->header_type = l->header_type;
    r->vendor_id = (uint16_t)block_reg(&l->blocks[0], "vendor_id");
    r->device_id = (uint16_t)block_reg(&l->blocks[0], "device_id");
    for (unsigned i = 0; i < VPCI_MAX_BARS; i++) {
        const struct vpci_bar *b = &l->bars[i];
        if (b->type == VPCI_BAR_NONE || b->from < 0)
            continue;
        if (b->from >= VPCI_MAX_BARS) {
            vpci_seterr(err, b->line, b->col, "BAR %u: from %d is not 0-5", i,
                        b->from);
            rc = -EINVAL;
            goto fail;
        }
        r->bars[r->nbars++] = (struct rule_bar){.idx = i,
                                                .from = (unsigned)b->from,
                                                .type = b->type,
                                                .prefetch = b->prefetch,
                                                .size = b->size};
    }
    if (l->rom.size && l->rom.from_phys)
        r->rom_size = l->rom.size;
    for (size_t i = 0; i < l->nrequires; i++)
        if ((rc = compile_requires(r, &l->requires[i], err)) < 0)
            goto fail;
    if ((rc = compile_caps(r, l)) < 0)
        goto fail;
    *ret = r;
    return 0;
fail:
    vpci_rules_free(r);
    return rc;
}

VPCI_EXPORT void vpci_rules_free(struct vpci_rules *r)
{
    if (!r)
        return;
    free(r->caps);
    free(r);
}

/* ------------------------------------------------------------------ */
/* Checking a device                                                   */
/* ------------------------------------------------------------------ */

static void reason(struct vpci_compat *out, const char *code,
                   const char *expected, const char *actual, const char *f, ...)
    __attribute__((format(printf, 5, 6)));

static void reason(struct vpci_compat *out, const char *code,
                   const char *expected, const char *actual, const char *f, ...)
{
    if (out->nreasons >= VPCI_COMPAT_MAX_REASONS) {
        out->dropped++;
        return;
    }
    struct vpci_reason *rs = &out->reasons[out->nreasons++];
    copy(rs->code, sizeof(rs->code), code);
    copy(rs->expected, sizeof(rs->expected), expected);
    copy(rs->actual, sizeof(rs->actual), actual);
    va_list ap;
    va_start(ap, f);
    vfmt(rs->message, sizeof(rs->message), f, ap);
    va_end(ap);
}

/* "8086:10ca" pairs separated by spaces, cut with "..." when too long. */
static void pairs_str(const struct id_pair *p, size_t n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        /* This pair, " ..." if more follow, and the NUL must fit. */
        size_t need = (i ? 10 : 9) + (i + 1 < n ? 4 : 0) + 1;
        if (len + need > size) {
            copy(buf + len, size - len, i ? " ..." : "...");
            return;
        }
        fmt(buf + len, size - len, "%s%04x:%04x", i ? " " : "", p[i].a, p[i].b);
        len += strlen(buf + len);
    }
}

static bool pair_in(const struct id_pair *p, size_t n, uint16_t a, uint16_t b)
{
    for (size_t i = 0; i < n; i++)
        if (p[i].a == a && p[i].b == b)
            return true;
    return false;
}

/* What a check knows about the device, gathered once. */
struct devinfo {
    const struct vpci_host_device *d;
    const uint8_t *cfg;
    unsigned size; /* 0: unreadable (fewer than 64 bytes) */
    unsigned ht;
    struct devcaps caps;
    enum vpci_bar_type bar_type[VPCI_MAX_BARS];
    bool bar_prefetch[VPCI_MAX_BARS];
    uint64_t bar_size[VPCI_MAX_BARS];
};

static uint64_t norm_size(uint64_t size, enum vpci_bar_type t)
{
    uint64_t p = 1;
    while (p < size && p < (UINT64_C(1) << 62))
        p <<= 1;
    if (t == VPCI_BAR_IO && p < 4)
        p = 4;
    if (t != VPCI_BAR_IO && p < 16)
        p = 16;
    return p;
}

/* The physical BARs as derive reads them, walking up from BAR 0 so the
 * upper half of a 64-bit BAR (whose register may look like anything) is
 * never taken for a BAR of its own: the type from sysfs, else from the
 * register, else mem32 when sysfs gives a size (a VF's registers read 0).
 * Type NONE where the function has no BAR; size 0 if unknown. */
static void dev_bars(struct devinfo *di)
{
    const struct vpci_device *dev = &di->d->dev;
    unsigned nbars = di->ht == 1 ? 2 : VPCI_MAX_BARS;
    memset(di->bar_type, 0, sizeof(di->bar_type));
    memset(di->bar_prefetch, 0, sizeof(di->bar_prefetch));
    memset(di->bar_size, 0, sizeof(di->bar_size));
    for (unsigned i = 0; i < nbars; i++) {
        uint32_t reg = di->size ? le_get(di->cfg + 0x10 + 4 * i, 4) : 0;
        enum vpci_bar_type t = dev->bar_type[i];
        bool pf = dev->bar_prefetch[i];
        if (t > VPCI_BAR_IO)
            t = VPCI_BAR_NONE; /* garbage in the caller's struct */
        if (t == VPCI_BAR_NONE && reg) {
            if (reg & 1) {
                t = VPCI_BAR_IO;
            } else {
                t = ((reg >> 1) & 3) == 2 ? VPCI_BAR_MEM64 : VPCI_BAR_MEM32;
                pf = reg & 8;
            }
        }
        uint64_t size = dev->bar_size[i];
        if (t == VPCI_BAR_NONE && size)
            t = VPCI_BAR_MEM32;
        if (t == VPCI_BAR_NONE)
            continue;
        di->bar_type[i] = t;
        di->bar_prefetch[i] = t != VPCI_BAR_IO && pf;
        di->bar_size[i] = size ? norm_size(size, t) : 0;
        if (t == VPCI_BAR_MEM64)
            i++; /* its upper half */
    }
}

static void bar_desc(enum vpci_bar_type t, bool pf, char *buf, size_t n)
{
    fmt(buf, n, "%s%s", vpci_bar_type_name(t), pf ? " prefetch" : "");
}

static void check_bars(const struct vpci_rules *r, struct devinfo *di,
                       struct vpci_compat *out)
{
    char e[96], a[96];
    if (r->nbars)
        dev_bars(di);
    for (size_t i = 0; i < r->nbars; i++) {
        const struct rule_bar *rb = &r->bars[i];
        enum vpci_bar_type t = di->bar_type[rb->from];
        bool pf = di->bar_prefetch[rb->from];
        uint64_t size = di->bar_size[rb->from];
        if (t == VPCI_BAR_NONE) {
            fmt(e, sizeof(e), "bar %u", rb->from);
            reason(out, "bar-missing", e, "none",
                   "BAR %u is backed by physical BAR %u, which the device "
                   "does not have",
                   rb->idx, rb->from);
            continue;
        }
        if (t != rb->type || pf != rb->prefetch) {
            bar_desc(rb->type, rb->prefetch, e, sizeof(e));
            bar_desc(t, pf, a, sizeof(a));
            reason(out, "bar-type", e, a,
                   "BAR %u: physical BAR %u is %s, the layout needs %s",
                   rb->idx, rb->from, a, e);
        }
        fmt(e, sizeof(e), "%llu", (unsigned long long)rb->size);
        if (!size) {
            reason(out, "bar-size", e, "unknown",
                   "BAR %u: the size of physical BAR %u is unknown", rb->idx,
                   rb->from);
        } else if (size != rb->size) {
            fmt(a, sizeof(a), "%llu", (unsigned long long)size);
            reason(out, "bar-size", e, a,
                   "BAR %u: physical BAR %u has %s bytes, the layout needs "
                   "%s",
                   rb->idx, rb->from, a, e);
        }
    }
    if (r->rom_size) {
        uint64_t rs = di->d->dev.rom_size;
        fmt(e, sizeof(e), "%u", r->rom_size);
        if (!rs) {
            reason(out, "rom-missing", e, "none",
                   "the layout's ROM is backed by the device's ROM, which it "
                   "does not have");
        } else if (rs != r->rom_size) {
            fmt(a, sizeof(a), "%llu", (unsigned long long)rs);
            reason(out, "rom-size", e, a,
                   "the device's ROM has %s bytes, the layout needs %s", a, e);
        }
    }
}

static void check_irqs(const struct vpci_rules *r, const struct devinfo *di,
                       struct vpci_compat *out)
{
    char e[32], a[32];
    if (r->msi) {
        int off = devcaps_find(&di->caps, false, 0x05, 0);
        fmt(e, sizeof(e), ">= %u", r->msi_vectors);
        if (off < 0 || (unsigned)off + 4 > di->size) {
            reason(out, "msi-missing", "msi", "none",
                   "the layout has MSI, the device has no MSI capability");
        } else {
            unsigned mmc = (le_get(di->cfg + off + 2, 2) >> 1) & 7;
            unsigned v = 1u << (mmc > 5 ? 5 : mmc);
            if (v < r->msi_vectors) {
                fmt(a, sizeof(a), "%u", v);
                reason(out, "msi-vectors", e, a,
                       "the layout offers %u MSI vectors, the device "
                       "supports %u",
                       r->msi_vectors, v);
            }
        }
    }
    if (r->msix) {
        int off = devcaps_find(&di->caps, false, 0x11, 0);
        fmt(e, sizeof(e), ">= %u", r->msix_vectors);
        if (off < 0 || (unsigned)off + 4 > di->size) {
            reason(out, "msix-missing", "msix", "none",
                   "the layout has MSI-X, the device has no MSI-X "
                   "capability");
        } else {
            unsigned v = (le_get(di->cfg + off + 2, 2) & 0x7ff) + 1;
            if (v < r->msix_vectors) {
                fmt(a, sizeof(a), "%u", v);
                reason(out, "msix-vectors", e, a,
                       "the layout offers %u MSI-X vectors, the device "
                       "supports %u",
                       r->msix_vectors, v);
            }
        }
    }
}

static void check_phys_caps(const struct vpci_rules *r,
                            const struct devinfo *di, struct vpci_compat *out)
{
    char e[64], a[32];
    for (size_t i = 0; i < r->ncaps; i++) {
        const struct rule_cap *c = &r->caps[i];
        unsigned have = devcaps_count(&di->caps, c->ext, c->id);
        if (have >= c->count)
            continue;
        if (c->count > 1)
            fmt(e, sizeof(e), "%s x%u", c->name, c->count);
        else
            fmt(e, sizeof(e), "%s", c->name);
        if (have)
            fmt(a, sizeof(a), "x%u", have);
        else
            copy(a, sizeof(a), "none");
        reason(out, "phys-cap-missing", e, a,
               "%s reaches the hardware, the device has %s", e,
               have ? "fewer of them" : "none");
    }
}

/* PASID and PRI of a VF live in its PF. */
static void check_pasid_ats_pri(const struct vpci_rules *r,
                                const struct devinfo *di,
                                struct vpci_compat *out)
{
    const struct vpci_host_device *d = di->d;
    bool vf = d->dev.is_vf;
    const char *who = vf ? "the PF" : "the function";
    bool pf_known = !vf || (d->pf_cfg && d->pf_size >= 64);
    struct devcaps pfcaps;
    const struct devcaps *pc = &di->caps;
    const uint8_t *pcfg = di->cfg;
    unsigned psize = di->size;

    if ((r->pasid || r->pri) && vf && pf_known) {
        psize =
            d->pf_size > VPCI_CFG_SPACE_EXT ? VPCI_CFG_SPACE_EXT : d->pf_size;
        devcaps_walk(d->pf_cfg, psize, &pfcaps);
        pc = &pfcaps;
        pcfg = d->pf_cfg;
    }

    if (r->pasid) {
        int off = pf_known ? devcaps_find(pc, true, 0x001b, 0) : -1;
        if (!pf_known) {
            reason(out, "pasid-missing", "pasid", "unknown",
                   "PASID is needed and the PF's config space is unknown");
        } else if (off < 0 || (unsigned)off + 8 > psize) {
            reason(out, "pasid-missing", "pasid", "none",
                   "PASID is needed, %s has no PASID capability", who);
        } else {
            uint32_t cap = le_get(pcfg + off + 4, 2);
            unsigned w = (cap >> 8) & 0x1f;
            char e[32], a[32];
            if (w < r->pasid_width) {
                fmt(e, sizeof(e), ">= %u", r->pasid_width);
                fmt(a, sizeof(a), "%u", w);
                reason(out, "pasid-width", e, a,
                       "PASID width %u is needed, %s supports %u",
                       r->pasid_width, who, w);
            }
            if (r->pasid_exec && !(cap & 2))
                reason(out, "pasid-exec", "exec", "no exec",
                       "PASID execute permission is needed, %s lacks it", who);
            if (r->pasid_priv && !(cap & 4))
                reason(out, "pasid-priv", "priv", "no priv",
                       "PASID privileged mode is needed, %s lacks it", who);
        }
    }
    if (r->ats && devcaps_find(&di->caps, true, 0x000f, 0) < 0)
        reason(out, "ats-missing", "ats", "none",
               "ATS is needed, the function has no ATS capability");
    if (r->pri) {
        if (!pf_known)
            reason(out, "pri-missing", "pri", "unknown",
                   "PRI is needed and the PF's config space is unknown");
        else if (devcaps_find(pc, true, 0x0013, 0) < 0)
            reason(out, "pri-missing", "pri", "none",
                   "PRI is needed, %s has no PRI capability", who);
    }
}

static void mts_str(unsigned mts, char *buf, size_t n)
{
    if (mts % 1000)
        fmt(buf, n, "%u.%u GT/s", mts / 1000, mts % 1000 / 100);
    else
        fmt(buf, n, "%u GT/s", mts / 1000);
}

static void check_requires(const struct vpci_rules *r,
                           const struct vpci_host_device *d,
                           struct vpci_compat *out)
{
    char e[96], a[96];
    if (r->ndrivers) {
        bool ok = false;
        size_t len = 0;
        e[0] = '\0';
        for (size_t i = 0; i < r->ndrivers; i++) {
            ok |= d->driver && !strcmp(d->driver, r->drivers[i]);
            fmt(e + len, sizeof(e) - len, "%s%s", i ? " " : "", r->drivers[i]);
            len += strlen(e + len);
        }
        if (!ok)
            reason(out, "driver", e, d->driver ? d->driver : "none",
                   "host driver %s is not one the layout accepts",
                   d->driver ? d->driver : "(none)");
    }
    if (r->migration && d->migration != 1)
        reason(out, "migration", "yes", d->migration == 0 ? "no" : "unknown",
               d->migration == 0
                   ? "live migration is needed, the function does not support "
                     "it"
                   : "live migration is needed, support for it is unknown");
    if (r->numa >= 0 && d->numa_node != r->numa) {
        fmt(e, sizeof(e), "%d", r->numa);
        if (d->numa_node < 0)
            copy(a, sizeof(a), "unknown");
        else
            fmt(a, sizeof(a), "%d", d->numa_node);
        reason(out, "numa", e, a,
               "NUMA node %s is needed, the function is on %s", e, a);
    }
    if (r->speed_mts && d->link_speed_mts < r->speed_mts) {
        fmt(e, sizeof(e), ">= %s GT/s", r->speed_str);
        if (d->link_speed_mts)
            mts_str(d->link_speed_mts, a, sizeof(a));
        else
            copy(a, sizeof(a), "unknown");
        reason(out, "link-speed", e, a,
               "a link of at least %s GT/s is needed, the link runs at %s",
               r->speed_str, a);
    }
    if (r->link_width && d->link_width < r->link_width) {
        fmt(e, sizeof(e), ">= x%u", r->link_width);
        if (d->link_width)
            fmt(a, sizeof(a), "x%u", d->link_width);
        else
            copy(a, sizeof(a), "unknown");
        reason(out, "link-width", e, a,
               "a link of at least x%u is needed, the link is %s",
               r->link_width, a);
    }
}

static void check_host(const struct vpci_host_device *d,
                       struct vpci_compat *out)
{
    char a[96];
    if (!d->vfio)
        reason(out, "not-vfio", "vfio", d->driver ? d->driver : "none",
               "the function is bound to %s, not to a vfio driver",
               d->driver ? d->driver : "no driver");
    if (d->iommu_group < 0)
        reason(out, "no-iommu-group", "iommu group", "none",
               "the function has no IOMMU group");
    if (d->group_blocker) {
        if (d->group_blocker_driver)
            fmt(a, sizeof(a), "%s (%s)", d->group_blocker,
                d->group_blocker_driver);
        else
            fmt(a, sizeof(a), "%s", d->group_blocker);
        reason(out, "iommu-group", "viable", a,
               "IOMMU group %d is not viable: %s is bound to a host driver",
               d->iommu_group, a);
    }
    if (d->reserved_by)
        reason(out, "reserved", "free", d->reserved_by,
               "the function is held by attachment %s", d->reserved_by);
}

VPCI_EXPORT int vpci_compat_check(const struct vpci_rules *r,
                                  const struct vpci_host_device *d,
                                  int numa_pref, struct vpci_compat *out)
{
    if (!r || !d || !out)
        return -EINVAL;
    /* The reasons array is 12 KiB: clear only what is used. */
    out->compatible = false;
    out->score = 0;
    out->nreasons = 0;
    out->dropped = 0;

    struct devinfo dinfo;
    struct devinfo *di = &dinfo;
    di->d = d;
    di->cfg = d->dev.cfg;
    di->size = d->dev.cfg && d->dev.size >= 64 ? d->dev.size : 0;
    if (di->size > VPCI_CFG_SPACE_EXT)
        di->size = VPCI_CFG_SPACE_EXT;
    di->ht = di->size ? di->cfg[0x0e] & 0x7fu : r->header_type;
    devcaps_walk(di->cfg, di->size, &di->caps);

    char e[96], a[96];
    /* Physical IDs: sysfs (a VF's config bytes read 0xffff), else cfg. */
    bool ids_known = (d->dev.vendor_id && d->dev.device_id) || di->size;
    uint16_t vid = d->dev.vendor_id;
    uint16_t did = d->dev.device_id;
    if (!vid || !did) {
        vid = di->size ? (uint16_t)le_get(di->cfg, 2) : 0;
        did = di->size ? (uint16_t)le_get(di->cfg + 2, 2) : 0;
    }

    if (!di->size) {
        fmt(a, sizeof(a), "%u bytes", d->dev.cfg ? d->dev.size : 0);
        reason(out, "config-unreadable", ">= 64 bytes", a,
               "only %s of config space are readable, the 64-byte header "
               "is needed",
               a);
    }
    if (di->size && di->ht != r->header_type) {
        fmt(e, sizeof(e), "type%u", r->header_type);
        fmt(a, sizeof(a), "type%u", di->ht);
        reason(out, "header-type", e, a,
               "the device has header %s, the layout %s", a, e);
    }

    if (!ids_known) {
        if (r->ndevices)
            pairs_str(r->devices, r->ndevices, e, sizeof(e));
        else
            fmt(e, sizeof(e), "%04x:%04x", r->vendor_id, r->device_id);
        reason(out, "device-id", e, "unknown",
               "the device's vendor and device IDs are unknown");
    } else if (r->ndevices) {
        if (!pair_in(r->devices, r->ndevices, vid, did)) {
            pairs_str(r->devices, r->ndevices, e, sizeof(e));
            fmt(a, sizeof(a), "%04x:%04x", vid, did);
            reason(out, "device-id", e, a,
                   "device %s is not listed in requires device", a);
        }
    } else if (vid != r->vendor_id || did != r->device_id) {
        fmt(e, sizeof(e), "%04x:%04x", r->vendor_id, r->device_id);
        fmt(a, sizeof(a), "%04x:%04x", vid, did);
        reason(out, "device-id", e, a, "device %s is not the layout's %s", a,
               e);
    }

    if (r->nsubsystems) {
        uint16_t sv = d->subsystem_vendor_id, sd = d->subsystem_id;
        if ((!sv || !sd) && di->size && di->ht == 0) {
            sv = (uint16_t)le_get(di->cfg + 0x2c, 2);
            sd = (uint16_t)le_get(di->cfg + 0x2e, 2);
        }
        pairs_str(r->subsystems, r->nsubsystems, e, sizeof(e));
        if (!sv && !sd) {
            reason(out, "subsystem-id", e, "unknown",
                   "the device's subsystem IDs are unknown");
        } else if (!pair_in(r->subsystems, r->nsubsystems, sv, sd)) {
            fmt(a, sizeof(a), "%04x:%04x", sv, sd);
            reason(out, "subsystem-id", e, a,
                   "subsystem %s is not listed in requires subsystem", a);
        }
    }

    check_bars(r, di, out);
    /* Without config bytes the capability rules have nothing to read:
     * config-unreadable already says why. */
    if (di->size) {
        check_irqs(r, di, out);
        check_phys_caps(r, di, out);
        check_pasid_ats_pri(r, di, out);
    }
    check_requires(r, d, out);
    check_host(d, out);

    if (out->nreasons || out->dropped)
        return 0;
    out->compatible = true;
    int score = 1;
    if (vid == r->vendor_id && did == r->device_id)
        score += 1000;
    if (numa_pref >= 0 && d->numa_node == numa_pref)
        score += 100;
    score -= d->pf_load > 99 ? 99 : (int)d->pf_load;
    out->score = score;
    return 0;
}
