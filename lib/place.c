/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Virtual capability placement: find config bytes that are free on a
 * layout and on every physical function it is meant for, and put a
 * virtual PASID capability there.
 *
 * "Free on a device" means no capability of its chains (as the decoder
 * finds them, over their full length) and no quirk range covers the byte:
 * a virtual capability laid over a physical one would hide registers a
 * VMM that forwards the gaps (vfio-pci does) still passes through, and a
 * quirk keep range is passed through on purpose.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quirks.h"

#define PASID_ID 0x001b
#define PASID_LEN 8
#define QEMU_VPASID_OFF 0xff8 /* QEMU's default x-vpasid-cap-offset */

static void mark(uint8_t *busy, unsigned from, unsigned len, unsigned limit)
{
    for (unsigned a = from; a < from + len && a < limit; a++)
        busy[a] = 1;
}

VPCI_EXPORT int vpci_device_busy(const struct vpci_device *dev,
                                 const struct vpci_quirks *quirks,
                                 uint8_t *busy)
{
    if (!dev || !dev->cfg || !busy)
        return -EINVAL;
    unsigned size =
        dev->size > VPCI_CFG_SPACE_EXT ? VPCI_CFG_SPACE_EXT : dev->size;
    mark(busy, 0, 0x40, size);
    if (size < 64)
        return 0;
    struct vpci_decoded *dec = malloc(sizeof(*dec));
    if (!dec)
        return -ENOMEM;
    vpci_decode(dev->cfg, size, dec);
    for (size_t i = 0; i < dec->ncaps; i++) {
        const struct vpci_cap_info *ci = &dec->caps[i];
        unsigned hdr = ci->ext ? 4 : 2;
        unsigned limit = ci->ext                     ? size
                         : size < VPCI_CFG_SPACE_STD ? size
                                                     : VPCI_CFG_SPACE_STD;
        mark(busy, ci->off, ci->len > hdr ? ci->len : hdr, limit);
    }
    free(dec);
    if (!quirks)
        return 0;
    uint16_t vid =
        dev->vendor_id ? dev->vendor_id : (uint16_t)le_get(dev->cfg, 2);
    uint16_t did =
        dev->device_id ? dev->device_id : (uint16_t)le_get(dev->cfg + 2, 2);
    uint16_t svid = (uint16_t)le_get(dev->cfg + 0x2c, 2);
    uint16_t sdid = (uint16_t)le_get(dev->cfg + 0x2e, 2);
    for (size_t i = 0; i < quirks->n; i++) {
        const struct quirk *q = &quirks->q[i];
        if (!quirk_matches(q, vid, did, svid, sdid))
            continue;
        for (size_t j = 0; j < q->nactions; j++) {
            const struct quirk_action *a = &q->actions[j];
            if (a->kind == QUIRK_KEEP)
                mark(busy, a->off, a->len, size);
            else if (a->kind == QUIRK_PASID)
                mark(busy, a->off, PASID_LEN, size);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */

VPCI_EXPORT int vpci_layout_busy(const struct vpci_layout *l, uint8_t *busy)
{
    if (!l || !busy)
        return -EINVAL;
    unsigned space =
        l->space > VPCI_CFG_SPACE_EXT ? VPCI_CFG_SPACE_EXT : l->space;
    mark(busy, 0, 0x40, space);
    for (size_t i = 1; i < l->nblocks; i++) {
        const struct vpci_block *b = &l->blocks[i];
        if (b->kind != VPCI_BLOCK_RAW) {
            mark(busy, b->off, vpci_block_span(b, true), space);
            continue;
        }
        for (size_t j = 0; j < b->nfields; j++)
            mark(busy, b->fields[j].off, b->fields[j].len, space);
    }
    return 0;
}

/* Bytes a layout block takes: a capability from its header to the end
 * of its last field (gaps inside a capability belong to it), the header
 * and raw blocks field by field. */
static void block_extent(const struct vpci_block *b, unsigned *from,
                         unsigned *to)
{
    *from = b->off;
    *to = b->off + vpci_block_span(b, false);
}

static void block_what(const struct vpci_block *b, char *buf, size_t n)
{
    const char *kw = b->kind == VPCI_BLOCK_CAP ? "cap" : "ecap";
    if (b->kind == VPCI_BLOCK_HEADER)
        snprintf(buf, n, "the header");
    else if (b->kind == VPCI_BLOCK_RAW)
        snprintf(buf, n, "raw bytes");
    else if (b->name[0])
        snprintf(buf, n, "%s %s at 0x%x", kw, b->name, b->off);
    else
        snprintf(buf, n, "%s id 0x%0*x at 0x%x", kw,
                 b->kind == VPCI_BLOCK_CAP ? 2 : 4, b->id, b->off);
}

/* The block of l that takes a byte of [from, from+len), or NULL. */
static const struct vpci_block *layout_taker(const struct vpci_layout *l,
                                             unsigned from, unsigned len)
{
    for (size_t i = 0; i < l->nblocks; i++) {
        const struct vpci_block *b = &l->blocks[i];
        if (b->kind == VPCI_BLOCK_CAP || b->kind == VPCI_BLOCK_ECAP) {
            unsigned s, e;
            block_extent(b, &s, &e);
            if (s < from + len && from < e)
                return b;
            continue;
        }
        for (size_t j = 0; j < b->nfields; j++) {
            unsigned s = field_abs(b, &b->fields[j]);
            if (s < from + len && from < s + b->fields[j].len)
                return b;
        }
    }
    return NULL;
}

/* Index of the first busy map taking a byte of [from, from+len), or -1. */
static long busy_taker(const struct vpci_place_opts *o, unsigned from,
                       unsigned len)
{
    for (size_t k = 0; k < o->nbusy; k++)
        for (unsigned a = from; a < from + len; a++)
            if (o->busy[k] && o->busy[k][a])
                return (long)k;
    return -1;
}

static bool is_free(const struct vpci_layout *l,
                    const struct vpci_place_opts *o, unsigned off)
{
    return !layout_taker(l, off, PASID_LEN) &&
           busy_taker(o, off, PASID_LEN) < 0;
}

/* Refuse an offset, saying what is in the way. */
static int explain(const struct vpci_layout *l, const struct vpci_place_opts *o,
                   unsigned off, struct vpci_error *err)
{
    char what[64];
    const struct vpci_block *b = layout_taker(l, off, PASID_LEN);
    if (b) {
        block_what(b, what, sizeof(what));
        vpci_seterr(err, 0, 0, "0x%x-0x%x: %s on the layout", off,
                    off + PASID_LEN - 1, what);
        return -EINVAL;
    }
    long k = busy_taker(o, off, PASID_LEN);
    if (o->names && o->names[k])
        vpci_seterr(err, 0, 0, "0x%x-0x%x: taken on device %ld (%s)", off,
                    off + PASID_LEN - 1, k + 1, o->names[k]);
    else
        vpci_seterr(err, 0, 0, "0x%x-0x%x: taken on device %ld", off,
                    off + PASID_LEN - 1, k + 1);
    return -EINVAL;
}

VPCI_EXPORT int vpci_layout_place_pasid(struct vpci_layout *l,
                                        const struct vpci_place_opts *o,
                                        uint16_t *ret_off,
                                        struct vpci_error *err)
{
    if (!l || !o || (o->nbusy && !o->busy) || !l->nblocks)
        return -EINVAL;
    if (o->width > 20) {
        vpci_seterr(err, 0, 0, "PASID width %u is outside 1-20", o->width);
        return -EINVAL;
    }
    if (l->space != VPCI_CFG_SPACE_EXT) {
        vpci_seterr(err, 0, 0,
                    "a %u-byte space has no extended capabilities: PASID "
                    "needs 'space 4096'",
                    l->space);
        return -EINVAL;
    }
    bool have_ext = false;
    for (size_t i = 1; i < l->nblocks; i++) {
        const struct vpci_block *b = &l->blocks[i];
        if (b->kind != VPCI_BLOCK_ECAP)
            continue;
        have_ext = true;
        if (b->id == PASID_ID) {
            vpci_seterr(err, 0, 0,
                        "the layout already has a PASID capability at 0x%x",
                        b->off);
            return -EINVAL;
        }
    }
    unsigned off;
    if (o->at >= 0) {
        if (o->at < 0x100 || o->at > VPCI_CFG_SPACE_EXT - PASID_LEN) {
            vpci_seterr(err, 0, 0, "PASID offset 0x%x is outside 0x100-0x%x",
                        (unsigned)o->at, VPCI_CFG_SPACE_EXT - PASID_LEN);
            return -EINVAL;
        }
        if (o->at & 3) {
            vpci_seterr(err, 0, 0, "PASID offset 0x%x is not dword aligned",
                        (unsigned)o->at);
            return -EINVAL;
        }
        off = (unsigned)o->at;
        if (!is_free(l, o, off))
            return explain(l, o, off, err);
    } else {
        /* QEMU's default first: a VMM then needs no offset override. */
        off = QEMU_VPASID_OFF;
        while (off >= 0x100 && !is_free(l, o, off))
            off -= 4;
        if (off < 0x100) {
            vpci_seterr(err, 0, 0,
                        "no 8 free bytes at a dword-aligned offset in "
                        "0x100-0xfff on the layout and every listed device");
            return -EINVAL;
        }
    }
    /* An empty extended chain needs its anchor at 0x100, unless PASID
     * is the anchor. */
    bool anchor = !have_ext && off != 0x100;
    if (anchor && layout_taker(l, 0x100, 4)) {
        char what[64];
        block_what(layout_taker(l, 0x100, 4), what, sizeof(what));
        vpci_seterr(err, 0, 0,
                    "0x100-0x103: %s on the layout (the extended chain's "
                    "anchor goes there)",
                    what);
        return -EINVAL;
    }

    unsigned width = o->width ? o->width : 20;
    uint32_t modes = (o->exec ? 2u : 0u) | (o->priv ? 4u : 0u);
    struct vpci_block *b;
    int r;
    if (anchor && (r = vpci_layout_add_block(l, VPCI_BLOCK_ECAP, 0x100, 0, 0,
                                             "null", &b)) < 0)
        return r;
    if ((r = vpci_layout_add_block(l, VPCI_BLOCK_ECAP, (uint16_t)off, PASID_ID,
                                   1, "pasid", &b)) < 0 ||
        (r = vpci_block_add_reg(b, 0x04, 2, "pasid_cap", (width << 8) | modes,
                                0, 0, 0)) < 0 ||
        (r = vpci_block_add_reg(b, 0x06, 2, "pasid_ctl", 0, 0x0001u | modes, 0,
                                0)) < 0) {
        /* Leave l as it was. */
        while (l->nblocks > 1 &&
               l->blocks[l->nblocks - 1].kind == VPCI_BLOCK_ECAP &&
               (l->blocks[l->nblocks - 1].id == PASID_ID ||
                (anchor && l->blocks[l->nblocks - 1].off == 0x100)))
            vpci_layout_remove_block(l, l->nblocks - 1);
        return r;
    }
    if (ret_off)
        *ret_off = (uint16_t)off;
    return 0;
}
