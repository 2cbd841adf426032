/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Defensive walk of the standard and extended capability chains of raw
 * config bytes.  The bytes come from dumps, sysfs or a device that may be
 * broken or hostile, so every pointer is range-checked, every loop is
 * bounded by a visited bitmap, and problems become warnings instead of
 * errors: the caller still gets everything that could be decoded.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static void warn(struct vpci_decoded *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void warn(struct vpci_decoded *out, const char *fmt, ...)
{
    if (out->nwarnings >= VPCI_DECODE_MAX_WARN)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->warnings[out->nwarnings], sizeof(out->warnings[0]), fmt, ap);
    va_end(ap);
    out->nwarnings++;
}

static struct vpci_cap_info *add_cap(struct vpci_decoded *out, bool ext,
                                     uint16_t id, uint8_t version, uint16_t off)
{
    if (out->ncaps >= VPCI_DECODE_MAX_CAPS)
        return NULL;
    struct vpci_cap_info *c = &out->caps[out->ncaps++];
    c->ext = ext;
    c->id = id;
    c->version = version;
    c->off = off;
    c->def = vpci_cap_find(ext, id);
    return c;
}

/* Returns true if a PCIe or PCI-X capability was seen: only those
 * functions have an extended space (as lspci and Linux decide). */
static bool walk_std(const uint8_t *cfg, unsigned size,
                     struct vpci_decoded *out)
{
    bool can_ext = false;
    uint8_t been_there[256 / 8] = {0};
    unsigned end = size < VPCI_CFG_SPACE_STD ? size : VPCI_CFG_SPACE_STD;
    unsigned where = out->header_type == 2 ? 0x14 : 0x34;
    unsigned ptr = cfg[where] & 0xfc;

    /* 48 dword slots exist in 0x40..0xff; a longer chain must loop. */
    for (unsigned steps = 0; ptr && steps <= 48; steps++) {
        if (ptr < 0x40) {
            warn(out,
                 "capability pointer 0x%02x at 0x%02x points into the "
                 "header",
                 ptr, where);
            break;
        }
        if (ptr + 2 > end) {
            warn(out, "capability at 0x%02x is beyond the %u bytes dumped", ptr,
                 size);
            break;
        }
        if (been_there[ptr / 8] & (1u << (ptr % 8))) {
            warn(out, "capability chain loops at 0x%02x", ptr);
            break;
        }
        been_there[ptr / 8] |= (uint8_t)(1u << (ptr % 8));
        uint8_t id = cfg[ptr];
        if (id == 0xff) {
            warn(out, "capability ID 0xff at 0x%02x", ptr);
            break;
        }
        /* ID 0 is not assigned; lspci shows it as "Null" and follows its
         * next pointer, so we keep it (def NULL) and go on. */
        if (id == 0x00)
            warn(out, "capability ID 0x00 at 0x%02x", ptr);
        if (id == 0x10 || id == 0x07)
            can_ext = true;
        if (!add_cap(out, false, id, 0, (uint16_t)ptr)) {
            warn(out, "too many capabilities");
            break;
        }
        where = ptr + 1;
        ptr = cfg[ptr + 1] & 0xfc;
    }
    return can_ext;
}

static void walk_ext(const uint8_t *cfg, unsigned size,
                     struct vpci_decoded *out)
{
    uint8_t been_there[VPCI_CFG_SPACE_EXT / 4 / 8] = {0};
    unsigned ptr = VPCI_CFG_SPACE_STD, from = 0;

    if (size < VPCI_CFG_SPACE_STD + 4)
        return;
    /* 0 or all-ones at 0x100: no extended capabilities (not an error). */
    uint32_t first = le_get(cfg + ptr, 4);
    if (first == 0 || first == 0xffffffff)
        return;

    for (unsigned steps = 0; steps <= (VPCI_CFG_SPACE_EXT - 0x100) / 4;
         steps++) {
        if (ptr + 4 > size) {
            warn(out,
                 "extended capability at 0x%03x is beyond the %u bytes "
                 "dumped",
                 ptr, size);
            break;
        }
        unsigned slot = ptr / 4;
        if (been_there[slot / 8] & (1u << (slot % 8))) {
            warn(out, "extended capability chain loops at 0x%03x", ptr);
            break;
        }
        been_there[slot / 8] |= (uint8_t)(1u << (slot % 8));
        uint32_t hdr = le_get(cfg + ptr, 4);
        if (hdr == 0 || hdr == 0xffffffff) {
            warn(out,
                 "extended capability at 0x%03x (from 0x%03x) reads "
                 "0x%08x",
                 ptr, from, hdr);
            break;
        }
        /* A zero ID with a next pointer is the placeholder vfio and
         * firmware put at 0x100 to keep the chain anchored: record it as
         * "null" and follow it. */
        if (!add_cap(out, true, (uint16_t)(hdr & 0xffff),
                     (uint8_t)((hdr >> 16) & 0xf), (uint16_t)ptr)) {
            warn(out, "too many capabilities");
            break;
        }
        unsigned next = (hdr >> 20) & 0xffc;
        if (!next)
            break;
        if (next < VPCI_CFG_SPACE_STD) {
            warn(out,
                 "extended capability at 0x%03x points to 0x%03x, "
                 "below 0x100",
                 ptr, next);
            break;
        }
        from = ptr;
        ptr = next;
    }
}

/* End of the region a capability at off may extend to: the next higher
 * capability of the same space, or the end of that space. */
static unsigned next_boundary(const struct vpci_decoded *out, bool ext,
                              unsigned off, unsigned space_end)
{
    unsigned best = space_end;
    for (size_t i = 0; i < out->ncaps; i++) {
        const struct vpci_cap_info *c = &out->caps[i];
        if (c->ext == ext && c->off > off && c->off < best)
            best = c->off;
    }
    return best;
}

VPCI_EXPORT int vpci_decode(const uint8_t *cfg, size_t size,
                            struct vpci_decoded *out)
{
    if (!out)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (!cfg || size < 64)
        return -EINVAL;
    if (size > VPCI_CFG_SPACE_EXT)
        size = VPCI_CFG_SPACE_EXT;

    unsigned sz = (unsigned)size;
    out->size = sz;
    out->vendor_id = (uint16_t)le_get(cfg + 0x00, 2);
    out->device_id = (uint16_t)le_get(cfg + 0x02, 2);
    out->class_code = le_get(cfg + 0x09, 3);
    unsigned ht = cfg[0x0e] & 0x7f;
    out->header_type = ht <= 2 ? ht : 0x7f;
    if (ht > 2) {
        /* Without a known layout we do not know where the pointer is. */
        warn(out, "unknown header type 0x%02x", ht);
        return (int)out->nwarnings;
    }

    bool can_ext = false;
    if (le_get(cfg + 0x06, 2) & 0x10)
        can_ext = walk_std(cfg, sz, out);
    if (can_ext)
        walk_ext(cfg, sz, out);

    unsigned std_end = sz < VPCI_CFG_SPACE_STD ? sz : VPCI_CFG_SPACE_STD;
    for (size_t i = 0; i < out->ncaps; i++) {
        struct vpci_cap_info *c = &out->caps[i];
        unsigned len = vpci_cap_length(c->def, cfg, sz, c->off);
        if (!len) {
            /* Unknown structure: it owns the bytes up to the next cap. */
            unsigned end =
                next_boundary(out, c->ext, c->off, c->ext ? sz : std_end);
            len = end - c->off;
        }
        c->len = (uint16_t)len;
    }
    return (int)out->nwarnings;
}
