/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One layout for many devices: vpci_layout_common().
 *
 * The rules, in the order they are applied.  "Input N" is 1-based in
 * messages; every choice below is deterministic: the same inputs in the
 * same order give the same layout and the same report.
 *
 * 1. One kind of device.  Every input must have input 1's header type,
 *    class code (base class, subclass, programming interface) and vendor
 *    ID, and its device ID unless an ID to present is given (set_id; the
 *    vendor ID must still agree).  A BAR that two inputs both have must
 *    have the same type (mem32, mem64, io) and prefetch bit on both.
 *    Otherwise the call fails (-EINVAL) naming the first input that
 *    differs from input 1 and what differs:
 *      input 2 (B) is not the same device as input 1 (A): class 088000 vs
 *      020000
 *
 * 2. Space.  4096 when every input has a 4096-byte space, else 256; the
 *    extended capabilities of the 4096-byte inputs are then dropped ("has
 *    a 256-byte config space").
 *
 * 3. IDs.  The header presents the inputs' vendor and device ID, or the
 *    given ones (a note with action "id" for each input whose ID differs).
 *    The requires section gets one "requires device" line listing every
 *    distinct physical ID pair, in input order (an input's physical IDs:
 *    its own "requires device" pairs if it has that line, else its
 *    header's IDs); more than 16 pairs fail.  Every other requires line
 *    is kept when every input has it with the same arguments, else it is
 *    dropped (a note for each input that has it).
 *
 * 4. BARs and ROM.  A BAR is kept only when every input has it with the
 *    same type, prefetch bit, size and backing ("from"); otherwise it is
 *    left out (a "dropped" note for each input that has it, saying what
 *    the others have).  The ROM is kept only when every input has one of
 *    the same size and backing, else "rom none" (a note for each input
 *    that has a ROM).  A BAR of one size cannot be backed by a BAR of
 *    another: compat requires exact sizes.
 *
 * 5. Capabilities.  Standard and extended capabilities are matched by ID
 *    and, for repeated IDs, by occurrence in chain order (the "null"
 *    placeholder is no capability).  A capability every input has is
 *    kept; one that some input lacks is dropped (a note for each input
 *    that has it, naming the inputs that lack it).  A kept capability is
 *    dropped anyway when
 *      - an extended capability's version differs between inputs;
 *      - MSI's 64-bit or per-vector-masking bit differs (its registers
 *        sit at different offsets);
 *      - MSI-X's table or PBA register (BAR indicator and offset) differs
 *        between inputs, or names a BAR that rule 4 dropped: the VMM
 *        traps the table where the device has it, so one location cannot
 *        be right for all (keeping input 1's would be wrong on the
 *        others);
 *    each with a note for every input.
 *
 * 6. Offsets.  Kept capabilities are placed in two passes, in input 1's
 *    chain order: first each at the offset most inputs use (ties: the
 *    lowest) when that does not overlap a capability already placed;
 *    then the others at the first dword-aligned offset from 0x40 (std)
 *    or 0x100 (ext) where they fit without overlap, before 0x100 (std)
 *    or 0x1000 (ext).  A capability's extent is its header, its fields
 *    and the capability table's minimum length, the largest over the
 *    inputs.  A "moved" note for each input whose offset differs.  The
 *    chain order is input 1's; the extended capability placed at 0x100
 *    heads the extended chain, and when none is there the "null"
 *    placeholder takes 0x100 (as derive does).
 *
 * 7. Fields.  A field (register or bytes) is kept when every input's copy
 *    of the block has it at the same offset with the same width and
 *    name; the others are dropped (a note for each input that has it).
 *    For a kept register:
 *      - rw, w1c and phys are the AND over the inputs: a bit stays
 *        writable, write-1-to-clear or backed by the device only where it
 *        is so on every input (a "masked" note for each input that loses
 *        bits);
 *      - these bit fields are reduced to the smallest value (or the AND)
 *        over the inputs, with a "reduced" note for each input whose value
 *        is larger:
 *          cap msix.msgctl     bits 10:0  table size (vectors - 1)
 *          cap msi.msgctl      bits 3:1   multiple message capable
 *          cap pcie.devcap     bits 2:0   max payload size
 *          cap pcie.lnkcap     bits 3:0   max link speed, 9:4 max width
 *          cap pcie.lnksta     bits 3:0   link speed, 9:4 link width
 *          ecap pasid.pasid_cap bits 12:8 max PASID width; bits 1 (exec)
 *                              and 2 (privileged mode): AND
 *          ecap ats.ats_cap    bits 4:0   invalidate queue depth (0 = 32)
 *      - every other bit takes input 1's value; where a bit that is
 *        neither rw, w1c nor phys in the result differs, a note for each
 *        input that differs (action "id" for the identification registers
 *        vendor_id, device_id, revision_id and the subsystem IDs,
 *        "chosen" otherwise): "0x03 on input 2, 0x01 on input 1:
 *        presenting 0x01".
 *    A bytes field is kept only when its rw, w1c and phys bytes are the
 *    same on every input and its values agree wherever a bit is not
 *    phys; else it is dropped (one note, input -1).
 *
 * 8. The fields of the raw block follow rule 7, and are also dropped
 *    (one note, input -1) where they would overlap a placed capability
 *    or lie past the space.
 *
 * Notes: "input" is the 0-based index of the input concerned (-1: all of
 * them); "what" names the register ("header.revision_id", "cap
 * pcie.lnkcap", "raw bytes@0xc0"), block ("cap msix", "ecap aer", "cap
 * vendor#2" for the second of an ID), "bar N", "rom" or "requires KEY";
 * "action" is reduced, dropped, moved, masked or id.  They come in this
 * order: header fields, BARs, ROM, capabilities some input lacks
 * (standard, then extended), capabilities that cannot be joined (rule 5),
 * then each kept capability in chain order (moved, then its fields), raw
 * fields, requires; for one item, in input order.
 *
 * The result validates, and vpci_rules_new() of it passes
 * vpci_compat_check() on every device the inputs were derived from as far
 * as the layout's own rules go: IDs through "requires device", BARs and
 * ROM only where identical, capabilities holding phys bits present on
 * all, MSI/MSI-X vector counts and PASID width and permissions no more
 * than any input offers.  Host rules (driver, vfio, IOMMU group, NUMA,
 * link, migration) are the caller's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_ID_PAIRS 16

struct cctx {
    const struct vpci_layout *const *in;
    size_t n;
    const struct vpci_common_opts *opts;
    struct vpci_common_report *rep;
    struct vpci_error *err;
    struct vpci_layout *out;
    uint8_t busy[VPCI_CFG_SPACE_EXT];
    bool bar_dropped[VPCI_MAX_BARS]; /* some input has it, the result not */
};

/* ------------------------------------------------------------------ */
/* Notes and names                                                     */
/* ------------------------------------------------------------------ */

static void note(struct cctx *c, int input, const char *what,
                 const char *action, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void note(struct cctx *c, int input, const char *what,
                 const char *action, const char *fmt, ...)
{
    struct vpci_common_report *rep = c->rep;
    if (!rep)
        return;
    if (rep->n >= VPCI_COMMON_MAX_NOTES) {
        rep->dropped++;
        return;
    }
    struct vpci_common_note *nt = &rep->note[rep->n++];
    nt->input = input;
    snprintf(nt->what, sizeof(nt->what), "%s", what);
    snprintf(nt->action, sizeof(nt->action), "%s", action);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(nt->message, sizeof(nt->message), fmt, ap);
    va_end(ap);
}

/* "input 2 (NAME)" or "input 2". */
static void input_desc(const struct cctx *c, size_t i, char *buf, size_t n)
{
    const char *name = c->opts && c->opts->names ? c->opts->names[i] : NULL;
    if (name)
        snprintf(buf, n, "input %zu (%s)", i + 1, name);
    else
        snprintf(buf, n, "input %zu", i + 1);
}

static int not_same(struct cctx *c, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int not_same(struct cctx *c, size_t i, const char *fmt, ...)
{
    char a[160], b[160], what[128];
    input_desc(c, i, a, sizeof(a));
    input_desc(c, 0, b, sizeof(b));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    vpci_seterr(c->err, 0, 0, "%s is not the same device as %s: %s", a, b,
                what);
    return -EINVAL;
}

/* "input 2, 3" style lists of 1-based input numbers (mask of inputs). */
static void inputs_list(const bool *set, size_t n, char *buf, size_t size)
{
    size_t len = 0;
    bool first = true;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < size; i++) {
        if (!set[i])
            continue;
        int w = snprintf(buf + len, size - len, "%s%zu",
                         first ? "input " : ", ", i + 1);
        if (w < 0)
            break;
        len += (size_t)w;
        first = false;
    }
}

static const char *block_kw(const struct vpci_block *b)
{
    return b->kind == VPCI_BLOCK_ECAP ? "ecap" : "cap";
}

/* "cap pcie", "ecap 0x0023", "cap vndr#2" (second of its ID). */
static void cap_what(const struct vpci_block *b, unsigned k, char *buf,
                     size_t n)
{
    bool ext = b->kind == VPCI_BLOCK_ECAP;
    const struct vpci_cap_def *d = vpci_cap_find(ext, b->id);
    char num[16] = "";
    if (k)
        snprintf(num, sizeof(num), "#%u", k + 1);
    if (d)
        snprintf(buf, n, "%s %s%s", block_kw(b), d->name, num);
    else
        snprintf(buf, n, "%s 0x%0*x%s", block_kw(b), ext ? 4 : 2, b->id, num);
}

/* ------------------------------------------------------------------ */
/* Reading layouts                                                     */
/* ------------------------------------------------------------------ */

/* Byte at absolute offset off of the header block (0 if no field). */
static uint8_t hdr_byte(const struct vpci_layout *l, unsigned off)
{
    const struct vpci_block *h = &l->blocks[0];
    for (size_t i = 0; i < h->nfields; i++) {
        const struct vpci_field *f = &h->fields[i];
        if (off >= f->off && off < (unsigned)f->off + f->len)
            return f->val[off - f->off];
    }
    return 0;
}

static uint16_t hdr_u16(const struct vpci_layout *l, unsigned off)
{
    return (uint16_t)(hdr_byte(l, off) | hdr_byte(l, off + 1) << 8);
}

static uint32_t class_code(const struct vpci_layout *l)
{
    return (uint32_t)hdr_byte(l, 0x0b) << 16 |
           (uint32_t)hdr_byte(l, 0x0a) << 8 | hdr_byte(l, 0x09);
}

static bool is_cap(const struct vpci_block *b)
{
    if (b->kind == VPCI_BLOCK_CAP)
        return true;
    return b->kind == VPCI_BLOCK_ECAP && b->id != 0;
}

/* Index of the k-th capability block of this kind and ID, or 0. */
static size_t find_cap(const struct vpci_layout *l, enum vpci_block_kind kind,
                       uint16_t id, unsigned k)
{
    for (size_t i = 1; i < l->nblocks; i++) {
        const struct vpci_block *b = &l->blocks[i];
        if (b->kind == kind && b->id == id && is_cap(b) && k-- == 0)
            return i;
    }
    return 0;
}

/* Occurrence of block bi among the blocks of its kind and ID. */
static unsigned cap_ordinal(const struct vpci_layout *l, size_t bi)
{
    const struct vpci_block *b = &l->blocks[bi];
    unsigned k = 0;
    for (size_t i = 1; i < bi; i++)
        k += l->blocks[i].kind == b->kind && l->blocks[i].id == b->id;
    return k;
}

/* Bytes a capability block covers: its header, its fields and at least
 * the table's minimum length, in whole dwords. */
static unsigned block_extent(const struct vpci_block *b)
{
    return (vpci_block_span(b, true) + 3) & ~3u;
}

static const struct vpci_field *find_field(const struct vpci_block *b,
                                           const struct vpci_field *like)
{
    for (size_t i = 0; i < b->nfields; i++) {
        const struct vpci_field *f = &b->fields[i];
        if (f->off == like->off && f->len == like->len &&
            f->is_bytes == like->is_bytes && !strcmp(f->name, like->name))
            return f;
    }
    return NULL;
}

static bool stmt_eq(const struct vpci_stmt *a, const struct vpci_stmt *b)
{
    if (strcmp(a->key, b->key) || a->nargs != b->nargs)
        return false;
    for (size_t i = 0; i < a->nargs; i++)
        if (strcmp(a->args[i], b->args[i]))
            return false;
    return true;
}

static const struct vpci_stmt *find_stmt(const struct vpci_layout *l,
                                         const char *key)
{
    for (size_t i = 0; i < l->nrequires; i++)
        if (!strcmp(l->requires[i].key, key))
    return &l->requires[i];
    return NULL;
}

/* ------------------------------------------------------------------ */
/* 1. One kind of device                                               */
/* ------------------------------------------------------------------ */

static void bar_str(const struct vpci_bar *b, char *buf, size_t n)
{
    if (b->type == VPCI_BAR_NONE)
        snprintf(buf, n, "none");
    else
        snprintf(buf, n, "%s%s", vpci_bar_type_name(b->type),
                 b->prefetch ? " prefetch" : "");
}

static int check_same_kind(struct cctx *c)
{
    const struct vpci_layout *a = c->in[0];
    for (size_t i = 1; i < c->n; i++) {
        const struct vpci_layout *b = c->in[i];
        if (b->header_type != a->header_type)
            return not_same(c, i, "header type%u vs type%u", b->header_type,
                            a->header_type);
        if (class_code(b) != class_code(a))
            return not_same(c, i, "class %06x vs %06x", class_code(b),
                            class_code(a));
        if (hdr_u16(b, 0) != hdr_u16(a, 0))
            return not_same(c, i, "vendor %04x vs %04x", hdr_u16(b, 0),
                            hdr_u16(a, 0));
        if (!(c->opts && c->opts->set_id) && hdr_u16(b, 2) != hdr_u16(a, 2))
            return not_same(c, i,
                            "device %04x:%04x vs %04x:%04x (give the ID to "
                            "present to join them)",
                            hdr_u16(b, 0), hdr_u16(b, 2), hdr_u16(a, 0),
                            hdr_u16(a, 2));
        for (unsigned j = 0; j < VPCI_MAX_BARS; j++) {
            const struct vpci_bar *x = &b->bars[j], *y = &a->bars[j];
            if (x->type == VPCI_BAR_NONE || y->type == VPCI_BAR_NONE)
                continue;
            if (x->type != y->type || x->prefetch != y->prefetch) {
                char s1[32], s2[32];
                bar_str(x, s1, sizeof(s1));
                bar_str(y, s2, sizeof(s2));
                return not_same(c, i, "bar %u %s vs %s", j, s1, s2);
            }
        }
    }
    /* A later input can differ from another later input only in a BAR
     * input 1 lacks: compare those pairwise too. */
    for (unsigned j = 0; j < VPCI_MAX_BARS; j++) {
        const struct vpci_bar *first = NULL;
        size_t fi = 0;
        for (size_t i = 0; i < c->n; i++) {
            const struct vpci_bar *x = &c->in[i]->bars[j];
            if (x->type == VPCI_BAR_NONE)
                continue;
            if (!first) {
                first = x;
                fi = i;
            } else if (x->type != first->type ||
                       x->prefetch != first->prefetch) {
                char s1[32], s2[32], a1[160];
                bar_str(x, s1, sizeof(s1));
                bar_str(first, s2, sizeof(s2));
                input_desc(c, fi, a1, sizeof(a1));
                return not_same(c, i, "bar %u %s vs %s on %s", j, s1, s2, a1);
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* 3. IDs and requires                                                 */
/* ------------------------------------------------------------------ */

static int parse_pair(const char *s, uint16_t *a, uint16_t *b)
{
    unsigned x, y;
    char tail;
    if (sscanf(s, "%4x:%4x%c", &x, &y, &tail) != 2)
        return -1;
    *a = (uint16_t)x;
    *b = (uint16_t)y;
    return 0;
}

static int do_requires(struct cctx *c)
{
    char pairs[MAX_ID_PAIRS][10];
    size_t npairs = 0;
    for (size_t i = 0; i < c->n; i++) {
        const struct vpci_layout *l = c->in[i];
        const struct vpci_stmt *dev = find_stmt(l, "device");
        size_t m = dev ? dev->nargs : 1;
        for (size_t k = 0; k < m; k++) {
            uint16_t v = hdr_u16(l, 0), d = hdr_u16(l, 2);
            if (dev && parse_pair(dev->args[k], &v, &d) < 0)
                continue; /* validated text: cannot happen */
            char p[10];
            snprintf(p, sizeof(p), "%04x:%04x", v, d);
            bool seen = false;
            for (size_t j = 0; j < npairs && !seen; j++)
                seen = !strcmp(pairs[j], p);
            if (seen)
                continue;
            if (npairs == MAX_ID_PAIRS) {
                vpci_seterr(c->err, 0, 0,
                            "more than %d distinct device IDs: requires "
                            "device holds at most %d",
                            MAX_ID_PAIRS, MAX_ID_PAIRS);
                return -EINVAL;
            }
            memcpy(pairs[npairs++], p, sizeof(p));
        }
    }
    const char *args[MAX_ID_PAIRS];
    for (size_t j = 0; j < npairs; j++)
        args[j] = pairs[j];
    int r = vpci_layout_add_stmt(c->out, false, "device", args, npairs);
    if (r < 0)
        return r;

    /* Other lines: kept when identical everywhere, in input 1's order;
     * a line only later inputs have is reported once, by its first. */
    for (size_t i = 0; i < c->n; i++) {
        const struct vpci_layout *l = c->in[i];
        for (size_t s = 0; s < l->nrequires; s++) {
            const struct vpci_stmt *st = &l->requires[s];
            if (!strcmp(st->key, "device"))
                continue;
            bool earlier = false;
            for (size_t j = 0; j < i && !earlier; j++)
                earlier = find_stmt(c->in[j], st->key) != NULL;
            if (earlier)
                continue;
            bool all = true;
            bool *lack = calloc(c->n, sizeof(*lack));
            if (!lack)
                return -ENOMEM;
            for (size_t j = 0; j < c->n; j++) {
                const struct vpci_stmt *o = find_stmt(c->in[j], st->key);
                if (!o || !stmt_eq(o, st)) {
                    all = false;
                    lack[j] = true;
                }
            }
            if (all) {
                r = vpci_layout_add_stmt(c->out, false, st->key,
                                         (const char *const *)st->args,
                                         st->nargs);
                free(lack);
                if (r < 0)
                    return r;
                continue;
            }
            char list[128], what[48];
            inputs_list(lack, c->n, list, sizeof(list));
            snprintf(what, sizeof(what), "requires %s", st->key);
            for (size_t j = 0; j < c->n; j++)
                if (find_stmt(c->in[j], st->key))
                    note(c, (int)j, what, "dropped",
                         "not the same on every input (differs on %s)", list);
            free(lack);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* 4. BARs and ROM                                                     */
/* ------------------------------------------------------------------ */

static bool bar_eq(const struct vpci_bar *a, const struct vpci_bar *b)
{
    return a->type == b->type && a->prefetch == b->prefetch &&
           a->size == b->size && a->from == b->from;
}

static void bar_long(const struct vpci_bar *b, char *buf, size_t n)
{
    if (b->type == VPCI_BAR_NONE) {
        snprintf(buf, n, "none");
        return;
    }
    char from[24] = "";
    if (b->from >= 0)
        snprintf(from, sizeof(from), " from %d", b->from);
    snprintf(buf, n, "%s%s size 0x%llx%s", vpci_bar_type_name(b->type),
             b->prefetch ? " prefetch" : "", (unsigned long long)b->size, from);
}

static void do_bars(struct cctx *c)
{
    for (unsigned j = 0; j < VPCI_MAX_BARS; j++) {
        const struct vpci_bar *a = &c->in[0]->bars[j];
        bool any = false, same = true;
        size_t odd = 0;
        for (size_t i = 0; i < c->n; i++) {
            const struct vpci_bar *b = &c->in[i]->bars[j];
            any |= b->type != VPCI_BAR_NONE;
            if (!bar_eq(a, b) && same) {
                same = false;
                odd = i;
            }
        }
        if (!any)
            continue;
        if (same) {
            c->out->bars[j] = *a;
            c->out->bars[j].line = c->out->bars[j].col = 0;
            continue;
        }
        c->bar_dropped[j] = true;
        /* Say, for each input that loses it, what another input has. */
        char what[16];
        snprintf(what, sizeof(what), "bar %u", j);
        for (size_t i = 0; i < c->n; i++) {
            const struct vpci_bar *b = &c->in[i]->bars[j];
            if (b->type == VPCI_BAR_NONE)
                continue;
            size_t other = bar_eq(b, a) ? odd : 0;
            char s1[64], s2[64];
            bar_long(b, s1, sizeof(s1));
            bar_long(&c->in[other]->bars[j], s2, sizeof(s2));
            note(c, (int)i, what, "dropped", "%s here, %s on input %zu", s1, s2,
                 other + 1);
        }
    }

    const struct vpci_rom *ra = &c->in[0]->rom;
    bool same = true;
    size_t odd = 0;
    for (size_t i = 1; i < c->n && same; i++) {
        const struct vpci_rom *rb = &c->in[i]->rom;
        if (rb->size != ra->size || rb->from_phys != ra->from_phys) {
            same = false;
            odd = i;
        }
    }
    if (same) {
        c->out->rom.size = ra->size;
        c->out->rom.from_phys = ra->from_phys;
        return;
    }
    c->out->rom.size = 0;
    c->out->rom.from_phys = false;
    for (size_t i = 0; i < c->n; i++) {
        const struct vpci_rom *rb = &c->in[i]->rom;
        if (!rb->size)
            continue;
        size_t other =
            rb->size == ra->size && rb->from_phys == ra->from_phys ? odd : 0;
        const struct vpci_rom *ro = &c->in[other]->rom;
        char s2[48];
        if (ro->size)
            snprintf(s2, sizeof(s2), "0x%x%s", ro->size,
                     ro->from_phys ? " from rom" : "");
        else
            snprintf(s2, sizeof(s2), "none");
        note(c, (int)i, "rom", "dropped",
             "size 0x%x%s here, %s on input %zu: rom none", rb->size,
             rb->from_phys ? " from rom" : "", s2, other + 1);
    }
}

/* ------------------------------------------------------------------ */
/* 7. Fields                                                           */
/* ------------------------------------------------------------------ */

enum red_kind { RED_MIN, RED_AND, RED_MIN_ATS };

struct reduction {
    bool ext;
    uint16_t id; /* capability ID */
    const char *field;
    uint32_t mask; /* bits of the register */
    enum red_kind kind;
    const char *label;
    char unit; /* how to print: 'v'ectors+1, 'm'si, 'p'ayload, 's'peed,
                  'w'idth, 'n'umber, 'b'oolean, 'q'ueue depth */
};

static const struct reduction reductions[] = {
    {false, 0x11, "msgctl", 0x07ff, RED_MIN, "MSI-X vectors", 'v'},
    {false, 0x05, "msgctl", 0x000e, RED_MIN, "MSI vectors", 'm'},
    {false, 0x10, "devcap", 0x0007, RED_MIN, "max payload", 'p'},
    {false, 0x10, "lnkcap", 0x000f, RED_MIN, "max link speed", 's'},
    {false, 0x10, "lnkcap", 0x03f0, RED_MIN, "max link width", 'w'},
    {false, 0x10, "lnksta", 0x000f, RED_MIN, "link speed", 's'},
    {false, 0x10, "lnksta", 0x03f0, RED_MIN, "link width", 'w'},
    {true, 0x1b, "pasid_cap", 0x1f00, RED_MIN, "PASID width", 'n'},
    {true, 0x1b, "pasid_cap", 0x0002, RED_AND, "PASID exec", 'b'},
    {true, 0x1b, "pasid_cap", 0x0004, RED_AND, "PASID priv", 'b'},
    {true, 0x0f, "ats_cap", 0x001f, RED_MIN_ATS, "ATS invalidate queue depth",
     'q'},
};

static unsigned shift_of(uint32_t mask)
{
    unsigned s = 0;
    while (!(mask & 1)) {
        mask >>= 1;
        s++;
    }
    return s;
}

static void red_value_str(const struct reduction *rd, uint32_t v, char *buf,
                          size_t n)
{
    static const char *const speeds[] = {"?",  "2.5", "5",  "8",
                                         "16", "32",  "64", "?"};
    switch (rd->unit) {
    case 'v':
        snprintf(buf, n, "%u", v + 1);
        break;
    case 'm':
        snprintf(buf, n, "%u", 1u << (v > 5 ? 5 : v));
        break;
    case 'p':
        snprintf(buf, n, "%u bytes", 128u << (v > 5 ? 5 : v));
        break;
    case 's':
        snprintf(buf, n, "%s GT/s", speeds[v < 8 ? v : 7]);
        break;
    case 'w':
        snprintf(buf, n, "x%u", v);
        break;
    case 'b':
        snprintf(buf, n, "%s", v ? "yes" : "no");
        break;
    case 'q':
        snprintf(buf, n, "%u", v ? v : 32);
        break;
    default:
        snprintf(buf, n, "%u", v);
        break;
    }
}

/* The ATS queue depth field encodes 32 as 0. */
static uint32_t red_rank(const struct reduction *rd, uint32_t v)
{
    return rd->kind == RED_MIN_ATS && v == 0 ? 32 : v;
}

/* vendor_id, device_id, revision_id and (type 0) the subsystem IDs. */
static bool is_id_reg(const struct vpci_block *b, const struct vpci_field *f,
                      unsigned header_type)
{
    if (b->kind != VPCI_BLOCK_HEADER)
        return false;
    return f->off == 0x00 || f->off == 0x02 || f->off == 0x08 ||
           (header_type == 0 && (f->off == 0x2c || f->off == 0x2e));
}

/* Per-input blocks being merged into dst. */
struct merge {
    struct cctx *c;
    const struct vpci_block *const *src; /* n blocks */
    struct vpci_block *dst;
    const char *prefix; /* "header", "cap pcie", "raw" */
};

static void field_what(const struct merge *m, const struct vpci_field *f,
                       char *buf, size_t n)
{
    if (f->is_bytes)
        snprintf(buf, n, "%s bytes@0x%x", m->prefix, f->off);
    else
        snprintf(buf, n, "%s.%s", m->prefix, f->name);
}

static int merge_bytes(struct merge *m, const struct vpci_field *const *fs)
{
    struct cctx *c = m->c;
    const struct vpci_field *a = fs[0];
    bool ok = true;
    for (size_t i = 1; i < c->n && ok; i++) {
        const struct vpci_field *b = fs[i];
        if (memcmp(a->rw, b->rw, a->len) || memcmp(a->w1c, b->w1c, a->len) ||
            memcmp(a->phys, b->phys, a->len)) {
            ok = false;
            break;
        }
        for (unsigned k = 0; k < a->len; k++)
            if ((a->val[k] ^ b->val[k]) & ~a->phys[k])
                ok = false;
    }
    if (!ok) {
        char what[48];
        field_what(m, a, what, sizeof(what));
        note(c, -1, what, "dropped", "%u bytes that differ between inputs",
             a->len);
        return 0;
    }
    return vpci_block_add_bytes(m->dst, a->off, a->len, a->val, a->rw, a->w1c,
                                a->phys);
}

static int merge_reg(struct merge *m, const struct vpci_field *const *fs)
{
    struct cctx *c = m->c;
    const struct vpci_field *a = fs[0];
    const struct vpci_block *b0 = m->src[0];
    unsigned len = a->len, digits = 2 * len;
    uint32_t rw = ~0u, w1c = ~0u, phys = ~0u;
    for (size_t i = 0; i < c->n; i++) {
        rw &= le_get(fs[i]->rw, len);
        w1c &= le_get(fs[i]->w1c, len);
        phys &= le_get(fs[i]->phys, len);
    }
    uint32_t val = le_get(a->val, len);
    char what[48];
    field_what(m, a, what, sizeof(what));

    /* IDs the caller chose to present. */
    uint32_t fixed = 0;
    if (b0->kind == VPCI_BLOCK_HEADER && c->opts && c->opts->set_id &&
        (a->off == 0x00 || a->off == 0x02) && len == 2) {
        val = a->off == 0 ? c->opts->vendor_id : c->opts->device_id;
        fixed = 0xffff;
        for (size_t i = 0; i < c->n; i++) {
            uint32_t v = le_get(fs[i]->val, len);
            if (v != val)
                note(c, (int)i, what, "id", "0x%04x presented as 0x%04x", v,
                     val);
        }
    }

    /* Known numeric fields: the least any input offers. */
    bool ext = b0->kind == VPCI_BLOCK_ECAP;
    if (b0->kind == VPCI_BLOCK_CAP || ext) {
        for (size_t r = 0; r < ARRAY_SIZE(reductions); r++) {
            const struct reduction *rd = &reductions[r];
            if (rd->ext != ext || rd->id != b0->id ||
                strcmp(rd->field, a->name))
                continue;
            unsigned sh = shift_of(rd->mask);
            uint32_t best = (val & rd->mask) >> sh;
            for (size_t i = 1; i < c->n; i++) {
                uint32_t v = (le_get(fs[i]->val, len) & rd->mask) >> sh;
                if (rd->kind == RED_AND ? (v < best)
                                        : red_rank(rd, v) < red_rank(rd, best))
                    best = v;
            }
            val = (val & ~rd->mask) | (best << sh);
            fixed |= rd->mask;
            for (size_t i = 0; i < c->n; i++) {
                uint32_t v = (le_get(fs[i]->val, len) & rd->mask) >> sh;
                if (v == best)
                    continue;
                char s1[24], s2[24];
                red_value_str(rd, v, s1, sizeof(s1));
                red_value_str(rd, best, s2, sizeof(s2));
                note(c, (int)i, what, "reduced", "%s %s -> %s", rd->label, s1,
                     s2);
            }
        }
    }

    /* Everything else: input 1's value; say where a read-only virtual
     * bit differs. */
    uint32_t ro = ~(rw | w1c | phys | fixed);
    if (len < 4)
        ro &= (1u << (8 * len)) - 1;
    for (size_t i = 1; i < c->n; i++) {
        uint32_t v = le_get(fs[i]->val, len);
        if (!((v ^ val) & ro))
            continue;
        note(c, (int)i, what,
             is_id_reg(b0, a, c->out->header_type) ? "id" : "chosen",
             "0x%0*x on input %zu, 0x%0*x on input 1: presenting 0x%0*x",
             digits, v, i + 1, digits, le_get(a->val, len), digits, val);
    }

    /* Masks: a bit stays where every input has it. */
    for (size_t i = 0; i < c->n; i++) {
        static const char *const mname[] = {"rw", "w1c", "phys"};
        const uint8_t *arr[3] = {fs[i]->rw, fs[i]->w1c, fs[i]->phys};
        uint32_t res[3] = {rw, w1c, phys};
        char msg[160];
        size_t mlen = 0;
        msg[0] = '\0';
        for (int k = 0; k < 3; k++) {
            uint32_t mine = le_get(arr[k], len);
            if (mine == res[k])
                continue;
            int w = snprintf(msg + mlen, sizeof(msg) - mlen,
                             "%s%s 0x%0*x -> 0x%0*x", mlen ? ", " : "",
                             mname[k], digits, mine, digits, res[k]);
            if (w > 0 && (size_t)w < sizeof(msg) - mlen)
                mlen += (size_t)w;
        }
        if (mlen)
            note(c, (int)i, what, "masked", "%s", msg);
    }
    return vpci_block_add_reg(m->dst, a->off, len, a->name, val, rw, w1c, phys);
}

/* Merge the fields of m->src[] into m->dst (rule 7). */
static int merge_fields(struct merge *m)
{
    struct cctx *c = m->c;
    const struct vpci_field **fs = calloc(c->n, sizeof(*fs));
    bool *lack = calloc(c->n, sizeof(*lack));
    int r = 0;
    if (!fs || !lack) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < c->n && r == 0; i++) {
        const struct vpci_block *bi = m->src[i];
        for (size_t fi = 0; fi < bi->nfields && r == 0; fi++) {
            const struct vpci_field *f = &bi->fields[fi];
            bool earlier = false;
            for (size_t j = 0; j < i && !earlier; j++)
                earlier = find_field(m->src[j], f) != NULL;
            if (earlier)
                continue; /* handled with that input */
            bool all = true;
            for (size_t j = 0; j < c->n; j++) {
                fs[j] = j == i ? f : find_field(m->src[j], f);
                lack[j] = fs[j] == NULL;
                all &= !lack[j];
            }
            if (all) {
                r = f->is_bytes ? merge_bytes(m, fs) : merge_reg(m, fs);
                continue;
            }
            char what[48], list[128];
            field_what(m, f, what, sizeof(what));
            inputs_list(lack, c->n, list, sizeof(list));
            for (size_t j = 0; j < c->n; j++)
                if (fs[j])
                    note(c, (int)j, what, "dropped", "absent on %s", list);
        }
    }
out:
    free(fs);
    free(lack);
    return r;
}

/* ------------------------------------------------------------------ */
/* 5, 6. Capabilities                                                  */
/* ------------------------------------------------------------------ */

struct kept_cap {
    enum vpci_block_kind kind;
    uint16_t id;
    unsigned k;
    size_t *idx; /* block index in each input */
    unsigned extent;
    int off; /* placed offset, -1 before placement */
};

static bool range_free(const struct cctx *c, unsigned off, unsigned len)
{
    for (unsigned a = off; a < off + len; a++)
        if (c->busy[a])
            return false;
    return true;
}

/* Why a capability every input has cannot be kept, or NULL. */
static const char *cap_conflict(struct cctx *c, const struct kept_cap *kc,
                                char *buf, size_t n)
{
    const struct vpci_block *a = &c->in[0]->blocks[kc->idx[0]];
    for (size_t i = 1; i < c->n; i++) {
        const struct vpci_block *b = &c->in[i]->blocks[kc->idx[i]];
        if (kc->kind == VPCI_BLOCK_ECAP && b->version != a->version) {
            snprintf(buf, n, "version %u on input %zu, %u on input 1",
                     b->version, i + 1, a->version);
            return buf;
        }
    }
    if (kc->kind != VPCI_BLOCK_CAP)
        return NULL;
    if (kc->id == 0x05) {
        const struct vpci_field *fa = vpci_block_find_field(a, "msgctl");
        uint32_t va = fa ? vpci_field_value(fa) & 0x180 : 0;
        for (size_t i = 1; i < c->n; i++) {
            const struct vpci_block *b = &c->in[i]->blocks[kc->idx[i]];
            const struct vpci_field *fb = vpci_block_find_field(b, "msgctl");
            uint32_t vb = fb ? vpci_field_value(fb) & 0x180 : 0;
            if (va != vb) {
                snprintf(buf, n,
                         "64-bit and per-vector masking differ (msgctl 0x%03x "
                         "on input %zu, 0x%03x on input 1)",
                         vb, i + 1, va);
                return buf;
            }
        }
    }
    if (kc->id == 0x11) {
        static const char *const regs[] = {"table", "pba"};
        for (int r = 0; r < 2; r++) {
            const struct vpci_field *fa = vpci_block_find_field(a, regs[r]);
            uint32_t va = fa ? vpci_field_value(fa) : 0;
            for (size_t i = 1; i < c->n; i++) {
                const struct vpci_block *b = &c->in[i]->blocks[kc->idx[i]];
                const struct vpci_field *fb = vpci_block_find_field(b, regs[r]);
                uint32_t vb = fb ? vpci_field_value(fb) : 0;
                if (va != vb) {
                    snprintf(buf, n,
                             "%s BAR %u offset 0x%x on input %zu, BAR %u "
                             "offset 0x%x on input 1",
                             regs[r], vb & 7, vb & ~7u, i + 1, va & 7,
                             va & ~7u);
                    return buf;
                }
            }
            unsigned bir = va & 7;
            if (bir < VPCI_MAX_BARS && c->bar_dropped[bir]) {
                snprintf(buf, n, "its %s is in BAR %u, which is dropped",
                         regs[r], bir);
                return buf;
            }
        }
    }
    return NULL;
}

/* Collect the capabilities of one kind every input has (in input 1's
 * chain order), noting the others. */
static int collect_caps(struct cctx *c, enum vpci_block_kind kind,
                        struct kept_cap **ret, size_t *ret_n)
{
    struct kept_cap *caps = NULL;
    size_t ncaps = 0;
    bool *lack = calloc(c->n, sizeof(*lack));
    size_t *idx = calloc(c->n, sizeof(*idx));
    int r = 0;
    if (!lack || !idx) {
        r = -ENOMEM;
        goto out;
    }
    bool small = kind == VPCI_BLOCK_ECAP && c->out->space < VPCI_CFG_SPACE_EXT;
    for (size_t i = 0; i < c->n; i++) {
        const struct vpci_layout *l = c->in[i];
        for (size_t bi = 1; bi < l->nblocks; bi++) {
            const struct vpci_block *b = &l->blocks[bi];
            if (b->kind != kind || !is_cap(b))
                continue;
            unsigned k = cap_ordinal(l, bi);
            bool earlier = false;
            for (size_t j = 0; j < i && !earlier; j++)
                earlier = find_cap(c->in[j], kind, b->id, k) != 0;
            if (earlier)
                continue;
            bool all = true;
            for (size_t j = 0; j < c->n; j++) {
                idx[j] = j == i ? bi : find_cap(c->in[j], kind, b->id, k);
                lack[j] = idx[j] == 0;
                all &= !lack[j];
            }
            char what[48];
            cap_what(b, k, what, sizeof(what));
            if (small) {
                for (size_t j = 0; j < c->n; j++)
                    lack[j] = c->in[j]->space < VPCI_CFG_SPACE_EXT;
                char list[128];
                inputs_list(lack, c->n, list, sizeof(list));
                for (size_t j = 0; j < c->n; j++)
                    if (idx[j])
                        note(c, (int)j, what, "dropped",
                             "%s %s a 256-byte config space", list,
                             strchr(list, ',') ? "have" : "has");
                continue;
            }
            if (!all) {
                char list[128];
                inputs_list(lack, c->n, list, sizeof(list));
                for (size_t j = 0; j < c->n; j++)
                    if (idx[j])
                        note(c, (int)j, what, "dropped", "absent on %s", list);
                continue;
            }
            struct kept_cap *nc = realloc(caps, (ncaps + 1) * sizeof(*caps));
            if (!nc) {
                r = -ENOMEM;
                goto out;
            }
            caps = nc;
            struct kept_cap *kc = &caps[ncaps];
            memset(kc, 0, sizeof(*kc));
            kc->idx = malloc(c->n * sizeof(*kc->idx));
            if (!kc->idx) {
                r = -ENOMEM;
                goto out;
            }
            ncaps++;
            memcpy(kc->idx, idx, c->n * sizeof(*idx));
            kc->kind = kind;
            kc->id = b->id;
            kc->k = k;
            kc->off = -1;
            for (size_t j = 0; j < c->n; j++) {
                unsigned e = block_extent(&c->in[j]->blocks[idx[j]]);
                if (e > kc->extent)
                    kc->extent = e;
            }
        }
    }
out:
    free(lack);
    free(idx);
    if (r < 0) {
        for (size_t i = 0; i < ncaps; i++)
            free(caps[i].idx);
        free(caps);
        return r;
    }
    *ret = caps;
    *ret_n = ncaps;
    return 0;
}

static void free_caps(struct kept_cap *caps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(caps[i].idx);
    free(caps);
}

/* Drop the capabilities that cannot be kept although all have them. */
static void filter_caps(struct cctx *c, struct kept_cap *caps, size_t *n)
{
    size_t w = 0;
    for (size_t i = 0; i < *n; i++) {
        char why[160];
        if (cap_conflict(c, &caps[i], why, sizeof(why))) {
            char what[48];
            cap_what(&c->in[0]->blocks[caps[i].idx[0]], caps[i].k, what,
                     sizeof(what));
            for (size_t j = 0; j < c->n; j++)
                note(c, (int)j, what, "dropped", "%s", why);
            free(caps[i].idx);
            continue;
        }
        caps[w++] = caps[i];
    }
    *n = w;
}

static int place_caps(struct cctx *c, struct kept_cap *caps, size_t n)
{
    unsigned *offs = malloc(c->n * sizeof(*offs));
    if (!offs)
        return -ENOMEM;
    /* Pass 1: the offset most inputs use, when free. */
    for (size_t i = 0; i < n; i++) {
        struct kept_cap *kc = &caps[i];
        for (size_t j = 0; j < c->n; j++)
            offs[j] = c->in[j]->blocks[kc->idx[j]].off;
        unsigned best = 0, best_n = 0;
        for (size_t j = 0; j < c->n; j++) {
            unsigned cnt = 0;
            for (size_t k = 0; k < c->n; k++)
                cnt += offs[k] == offs[j];
            if (cnt > best_n || (cnt == best_n && offs[j] < best)) {
                best = offs[j];
                best_n = cnt;
            }
        }
        unsigned end =
            kc->kind == VPCI_BLOCK_ECAP ? c->out->space : VPCI_CFG_SPACE_STD;
        if (best + kc->extent <= end && range_free(c, best, kc->extent)) {
            kc->off = (int)best;
            memset(c->busy + best, 1, kc->extent);
        }
    }
    /* Pass 2: the first free dword-aligned offset. */
    for (size_t i = 0; i < n; i++) {
        struct kept_cap *kc = &caps[i];
        if (kc->off >= 0)
            continue;
        bool ext = kc->kind == VPCI_BLOCK_ECAP;
        unsigned lo = ext ? 0x100 : 0x40;
        unsigned end = ext ? c->out->space : VPCI_CFG_SPACE_STD;
        for (unsigned o = lo; o + kc->extent <= end; o += 4) {
            if (range_free(c, o, kc->extent)) {
                kc->off = (int)o;
                memset(c->busy + o, 1, kc->extent);
                break;
            }
        }
    }
    free(offs);
    return 0;
}

/* Build the block of one kept capability at its offset. */
static int emit_cap(struct cctx *c, const struct kept_cap *kc)
{
    const struct vpci_block *a = &c->in[0]->blocks[kc->idx[0]];
    char what[48];
    cap_what(a, kc->k, what, sizeof(what));
    if (kc->off < 0) {
        for (size_t j = 0; j < c->n; j++)
            note(c, (int)j, what, "dropped", "no free room for its 0x%x bytes",
                 kc->extent);
        return 0;
    }
    for (size_t j = 0; j < c->n; j++) {
        unsigned o = c->in[j]->blocks[kc->idx[j]].off;
        if (o != (unsigned)kc->off)
            note(c, (int)j, what, "moved", "0x%x -> 0x%x", o,
                 (unsigned)kc->off);
    }
    struct vpci_block *dst;
    int r = vpci_layout_add_block(c->out, a->kind, (uint16_t)kc->off, a->id,
                                  a->version, a->name, &dst);
    if (r < 0)
        return r;
    const struct vpci_block **src = malloc(c->n * sizeof(*src));
    if (!src)
        return -ENOMEM;
    for (size_t j = 0; j < c->n; j++)
        src[j] = &c->in[j]->blocks[kc->idx[j]];
    struct merge m = {c, src, dst, what};
    r = merge_fields(&m);
    free(src);
    return r;
}

static int do_caps(struct cctx *c)
{
    struct kept_cap *std = NULL, *ext = NULL;
    size_t nstd = 0, next = 0;
    int r = collect_caps(c, VPCI_BLOCK_CAP, &std, &nstd);
    if (r == 0)
        r = collect_caps(c, VPCI_BLOCK_ECAP, &ext, &next);
    if (r < 0)
        goto out;
    filter_caps(c, std, &nstd);
    filter_caps(c, ext, &next);
    if ((r = place_caps(c, std, nstd)) < 0 ||
        (r = place_caps(c, ext, next)) < 0)
        goto out;
    for (size_t i = 0; i < nstd && r == 0; i++)
        r = emit_cap(c, &std[i]);
    if (r < 0)
        goto out;
    /* The extended chain starts at 0x100: the capability there heads
     * it, or the placeholder does. */
    bool any = false;
    size_t head = next;
    for (size_t i = 0; i < next; i++) {
        if (ext[i].off >= 0)
            any = true;
        if (ext[i].off == 0x100)
            head = i;
    }
    if (any && head == next) {
        struct vpci_block *b;
        r = vpci_layout_add_block(c->out, VPCI_BLOCK_ECAP, 0x100, 0, 0, "null",
                                  &b);
        if (r < 0)
            goto out;
        memset(c->busy + 0x100, 1, 4);
    } else if (head < next) {
        r = emit_cap(c, &ext[head]);
    }
    for (size_t i = 0; i < next && r == 0; i++)
        if (i != head)
            r = emit_cap(c, &ext[i]);
out:
    free_caps(std, nstd);
    free_caps(ext, next);
    return r;
}

/* ------------------------------------------------------------------ */
/* 8. Raw bytes                                                        */
/* ------------------------------------------------------------------ */

static int do_raw(struct cctx *c)
{
    const struct vpci_block **src = calloc(c->n, sizeof(*src));
    if (!src)
        return -ENOMEM;
    int r = 0;
    bool any = false;
    for (size_t i = 0; i < c->n; i++) {
        const struct vpci_layout *l = c->in[i];
        for (size_t bi = 1; bi < l->nblocks && !src[i]; bi++)
            if (l->blocks[bi].kind == VPCI_BLOCK_RAW)
                src[i] = &l->blocks[bi];
        any |= src[i] != NULL;
    }
    if (!any)
        goto out;
    /* Inputs without a raw block take part with an empty one. */
    static const struct vpci_block empty = {.kind = VPCI_BLOCK_RAW};
    for (size_t i = 0; i < c->n; i++)
        if (!src[i])
            src[i] = &empty;
    /* Merged into a scratch layout first: what collides with a placed
     * capability is left out of the result. */
    struct vpci_layout *tmp = NULL;
    struct vpci_block *tb, *dst = NULL;
    if ((r = vpci_layout_new(VPCI_CFG_SPACE_EXT, 0, &tmp)) < 0 ||
        (r = vpci_layout_add_block(tmp, VPCI_BLOCK_RAW, 0, 0, 0, "", &tb)) <
            0) {
        vpci_layout_free(tmp);
        goto out;
    }
    struct merge m = {c, src, tb, "raw"};
    r = merge_fields(&m);
    for (size_t i = 0; r == 0 && i < tb->nfields; i++) {
        const struct vpci_field *f = &tb->fields[i];
        unsigned end = (unsigned)f->off + f->len;
        if (end > c->out->space || !range_free(c, f->off, f->len)) {
            char what[48];
            if (f->is_bytes)
                snprintf(what, sizeof(what), "raw bytes@0x%x", f->off);
            else
                snprintf(what, sizeof(what), "raw.%s", f->name);
            note(c, -1, what, "dropped", "%s",
                 end > c->out->space ? "past the end of the space"
                                     : "overlaps a placed capability");
            continue;
        }
        memset(c->busy + f->off, 1, f->len);
        if (!dst && (r = vpci_layout_add_block(c->out, VPCI_BLOCK_RAW, 0, 0, 0,
                                               "", &dst)) < 0)
            break;
        if (f->is_bytes)
            r = vpci_block_add_bytes(dst, f->off, f->len, f->val, f->rw, f->w1c,
                                     f->phys);
        else
            r = vpci_block_add_reg(
                dst, f->off, f->len, f->name, le_get(f->val, f->len),
                le_get(f->rw, f->len), le_get(f->w1c, f->len),
                le_get(f->phys, f->len));
    }
    vpci_layout_free(tmp);
out:
    free(src);
    return r;
}

/* ------------------------------------------------------------------ */

VPCI_EXPORT int vpci_layout_common(const struct vpci_layout *const *in,
                                   size_t n,
                                   const struct vpci_common_opts *opts,
                                   struct vpci_layout **ret,
                                   struct vpci_common_report *rep,
                                   struct vpci_error *err)
{
    if (!in || n == 0 || !ret) {
        vpci_seterr(err, 0, 0, "no inputs");
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!in[i] || in[i]->nblocks == 0 ||
            in[i]->blocks[0].kind != VPCI_BLOCK_HEADER) {
            vpci_seterr(err, 0, 0, "input %zu is not a layout", i + 1);
            return -EINVAL;
        }
        struct vpci_error verr;
        if (vpci_layout_validate(in[i], &verr) < 0) {
            vpci_seterr(err, 0, 0, "input %zu does not validate: %s", i + 1,
                        verr.msg);
            return -EINVAL;
        }
    }
    if (rep) {
        rep->n = 0;
        rep->dropped = 0;
    }
    struct cctx *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->in = in;
    c->n = n;
    c->opts = opts;
    c->rep = rep;
    c->err = err;
    int r = check_same_kind(c);
    if (r < 0)
        goto fail;

    unsigned space = VPCI_CFG_SPACE_EXT;
    for (size_t i = 0; i < n; i++)
        if (in[i]->space < VPCI_CFG_SPACE_EXT)
            space = VPCI_CFG_SPACE_STD;
    if ((r = vpci_layout_new(space, in[0]->header_type, &c->out)) < 0)
        goto fail;
    memset(c->busy, 1, 0x40);

    /* Header (rule 7 with the IDs of rule 3). */
    const struct vpci_block **hdrs = malloc(n * sizeof(*hdrs));
    if (!hdrs) {
        r = -ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        hdrs[i] = &in[i]->blocks[0];
    struct merge m = {c, hdrs, &c->out->blocks[0], "header"};
    r = merge_fields(&m);
    free(hdrs);
    if (r < 0)
        goto fail;
    do_bars(c);
    if ((r = do_caps(c)) < 0 || (r = do_raw(c)) < 0 || (r = do_requires(c)) < 0)
        goto fail;

    struct vpci_error verr;
    if ((r = vpci_layout_validate(c->out, &verr)) < 0) {
        vpci_seterr(err, 0, 0, "the common layout does not validate: %s",
                    verr.msg);
        goto fail;
    }
    *ret = c->out;
    free(c);
    return 0;
fail:
    if (r == -ENOMEM)
        vpci_seterr(err, 0, 0, "out of memory");
    vpci_layout_free(c->out);
    free(c);
    return r;
}
