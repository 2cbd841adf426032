/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Derive a layout from a physical function's config bytes.
 *
 *   identity  the guest sees the physical bytes, every bit read-only
 *             virtual; BAR and ROM registers become bar/rom lines.
 *   vfio      what kernel vfio-pci plus QEMU present today, made explicit
 *             (the table is in vpci-layout(5), "THE VFIO POLICY"); quirks
 *             from data/quirks/ apply on top.
 *
 * The walk is the same for both: the header, then each capability the
 * decoder found (chain order), then bytes no capability owns.  A policy
 * decides per register its value and rw/w1c/phys masks, and per
 * capability whether it is shown.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quirks.h"

/* Per-register behaviour chosen by a policy. */
struct regpol {
    uint32_t val, rw, w1c, phys;
    bool omit; /* leave the register out (reads 0) */
};

struct dctx {
    const struct vpci_device *dev;
    enum vpci_policy policy;
    const uint8_t *cfg;
    unsigned size;  /* bytes of cfg available */
    unsigned space; /* 256 or 4096 */
    struct vpci_layout *l;
    struct vpci_derive_notes *notes;
    struct vpci_error *err;
    uint8_t owned[VPCI_CFG_SPACE_EXT]; /* byte belongs to a block */
    const struct quirk *quirks[16];    /* those matching this device */
    size_t nquirks;
};

static void note(struct dctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(struct dctx *c, const char *fmt, ...)
{
    if (!c->notes)
        return;
    if (c->notes->n >= VPCI_DERIVE_MAX_NOTES) {
        c->notes->dropped++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->notes->note[c->notes->n++], sizeof(c->notes->note[0]), fmt,
              ap);
    va_end(ap);
}

static uint32_t cfg_get(const struct dctx *c, unsigned off, unsigned len)
{
    if (off + len > c->size)
        return 0;
    return le_get(c->cfg + off, len);
}

static bool vfio(const struct dctx *c)
{
    return c->policy == VPCI_POLICY_VFIO;
}

/* ------------------------------------------------------------------ */
/* The vfio policy, register by register                               */
/* ------------------------------------------------------------------ */

#define RO(v) ((struct regpol){.val = (v)})

static struct regpol vfio_header(const struct dctx *c, const char *name,
                                 uint32_t v, bool has_caps)
{
    const struct vpci_device *d = c->dev;
    if (!strcmp(name, "vendor_id"))
        return RO(d->vendor_id ? d->vendor_id : v);
    if (!strcmp(name, "device_id"))
        return RO(d->device_id ? d->device_id : v);
    if (!strcmp(name, "command"))
        /* IO, MEM, bus master, parity, SERR, INTx disable writable; bus
         * master, parity and SERR reach the device. */
        return (struct regpol){.val = 0, .rw = 0x0547, .phys = 0x0144};
    if (!strcmp(name, "status"))
        return (struct regpol){.val = (v & 0x06a0) | (has_caps ? 0x10 : 0),
                               .w1c = 0xf900,
                               .phys = 0x0008};
    if (!strcmp(name, "cache_line_size"))
        return (struct regpol){.val = 0, .rw = 0xff};
    if (!strcmp(name, "header_type"))
        return RO(v & 0x7f); /* never multi-function */
    if (!strcmp(name, "bist"))
        return RO(0);
    if (!strcmp(name, "interrupt_line"))
        return (struct regpol){.val = 0, .rw = 0xff};
    if (!strcmp(name, "interrupt_pin"))
        return RO(d->is_vf ? 0 : v);
    if (!strncmp(name, "reserved", 8))
        return (struct regpol){.omit = true};
    return RO(v);
}

/* Standard capabilities vfio-pci exposes: those with a non-zero entry in
 * its pci_cap_length[] table. */
static bool vfio_std_shown(uint8_t id)
{
    switch (id) {
    case 0x01: /* pm */
    case 0x02: /* agp */
    case 0x03: /* vpd */
    case 0x05: /* msi */
    case 0x07: /* pcix */
    case 0x08: /* ht */
    case 0x09: /* vendor */
    case 0x10: /* pcie */
    case 0x11: /* msix */
    case 0x12: /* sata */
    case 0x13: /* af */
        return true;
    default:
        return false;
    }
}

/* Extended capabilities shown: known to vfio-pci and not dropped by
 * QEMU (which removes SR-IOV, ARI and Resizable BAR). */
static bool vfio_ext_shown(uint16_t id)
{
    switch (id) {
    case 0x0001: /* aer */
    case 0x0002: /* vc */
    case 0x0003: /* dsn */
    case 0x0004: /* pwrbudget */
    case 0x0008: /* mfvc */
    case 0x0009: /* vc9 */
    case 0x000b: /* vsec */
    case 0x000d: /* acs */
    case 0x000f: /* ats */
    case 0x0012: /* mcast */
    case 0x0013: /* pri */
    case 0x0016: /* dpa */
    case 0x0017: /* tph */
    case 0x0018: /* ltr */
    case 0x0023: /* dvsec */
        return true;
    default:
        return false;
    }
}

static const char *vfio_hidden_why(bool ext, uint16_t id)
{
    if (!ext)
        return "vfio-pci does not expose it";
    switch (id) {
    case 0x0010:
    case 0x000e:
    case 0x0015:
        return "QEMU drops it";
    case 0x001b:
        return "vfio-pci hides PASID";
    default:
        return "vfio-pci does not expose it";
    }
}

static struct regpol vfio_cap_reg(const struct dctx *c,
                                  const struct vpci_cap_info *ci,
                                  const char *name, uint32_t v)
{
    (void)c;
    if (!ci->ext) {
        switch (ci->id) {
        case 0x01: /* PM: state changes are trapped, PME status w1c */
            if (!strcmp(name, "pmcsr"))
                return (struct regpol){
                    .val = v & 0x0008, .rw = 0x0103, .w1c = 0x8000};
            break;
        case 0x03: /* VPD: address/data handshake with the device */
            if (!strcmp(name, "vpd_addr"))
                return (struct regpol){.rw = 0xffff, .phys = 0xffff};
            if (!strcmp(name, "vpd_data"))
                return (struct regpol){.rw = 0xffffffff, .phys = 0xffffffff};
            break;
        case 0x05: /* MSI: emulated by the VMM */
            if (!strcmp(name, "msgctl"))
                return (struct regpol){.val = v & 0x018e, .rw = 0x0071};
            if (!strcmp(name, "msg_addr"))
                return (struct regpol){.rw = 0xfffffffc};
            if (!strcmp(name, "msg_addr_hi") || !strcmp(name, "mask") ||
                !strcmp(name, "mask32"))
                return (struct regpol){.rw = 0xffffffff};
            if (!strcmp(name, "msg_data") || !strcmp(name, "msg_data32"))
                return (struct regpol){.rw = 0xffff};
            if (!strncmp(name, "pending", 7))
                return RO(0);
            break;
        case 0x11: /* MSI-X: emulated by the VMM */
            if (!strcmp(name, "msgctl"))
                return (struct regpol){.val = v & 0x07ff, .rw = 0xc000};
            break;
        case 0x10: /* PCI Express */
            if (!strcmp(name, "devctl"))
                /* phantom functions fixed; FLR, MPS and MRRS virtual; the
                 * error reporting, relaxed ordering, extended tag, aux
                 * power and no-snoop enables reach the device */
                return (struct regpol){
                    .val = v & 0x7dff, .rw = 0xfdff, .phys = 0x0d1f};
            if (!strcmp(name, "devsta"))
                return (struct regpol){.w1c = 0x000f, .phys = 0x0020};
            if (!strcmp(name, "devctl2"))
                /* everything but ARI forwarding (bit 5) */
                return (struct regpol){
                    .val = v & 0xffdf, .rw = 0xffdf, .phys = 0xffdf};
            break;
        case 0x13: /* AF: FLR virtual */
            if (!strcmp(name, "af_ctl"))
                return (struct regpol){.rw = 0x01};
            break;
        }
        return RO(v);
    }
    if (ci->id == 0x0001) { /* AER: virtual status/mask/severity */
        if (!strcmp(name, "aer_uncor_status") ||
            !strcmp(name, "aer_cor_status"))
            return (struct regpol){.w1c = 0xffffffff};
        if (!strcmp(name, "aer_uncor_mask") ||
            !strcmp(name, "aer_uncor_sever") || !strcmp(name, "aer_cor_mask"))
            return (struct regpol){.val = v, .rw = 0xffffffff};
        if (!strcmp(name, "aer_cap"))
            return (struct regpol){.val = v & ~0x0000015fu, .rw = 0x00000140};
        if (!strncmp(name, "aer_header_log", 14) ||
            !strncmp(name, "aer_prefix_log", 14))
            return RO(0);
    }
    return RO(v);
}

/* Raw bytes of a capability no table field covers. */
static bool vfio_bytes_phys(const struct vpci_cap_info *ci)
{
    /* vendor-specific structures pass straight through */
    return (!ci->ext && ci->id == 0x09) ||
           (ci->ext && (ci->id == 0x000b || ci->id == 0x0023));
}

/* ------------------------------------------------------------------ */
/* Building blocks                                                     */
/* ------------------------------------------------------------------ */

static int add_reg(struct dctx *c, struct vpci_block *b, unsigned rel,
                   unsigned len, const char *name, struct regpol p)
{
    uint32_t m = len == 4 ? 0xffffffffu : ((1u << (8 * len)) - 1);
    p.val &= m;
    p.rw &= m;
    p.w1c &= m & ~p.rw;
    p.phys &= m;
    p.val &= ~p.phys; /* hardware supplies those bits */
    int r = vpci_block_add_reg(b, (uint16_t)rel, len, name, p.val, p.rw, p.w1c,
                               p.phys);
    if (r < 0)
        return r;
    unsigned abs = b->off + rel;
    memset(c->owned + abs, 1, len);
    return 0;
}

/* Runs of bytes [from, to) of cfg as bytes fields: all bytes when phys,
 * otherwise only runs of non-zero bytes (zero is the safe default). */
static int add_runs(struct dctx *c, struct vpci_block *b, unsigned from,
                    unsigned to, bool phys)
{
    uint8_t ones[VPCI_CFG_SPACE_EXT];
    uint8_t zero[VPCI_CFG_SPACE_EXT];
    memset(ones, 0xff, sizeof(ones));
    memset(zero, 0, sizeof(zero));
    unsigned i = from;
    while (i < to) {
        bool want =
            phys ? !c->owned[i] : !c->owned[i] && i < c->size && c->cfg[i];
        if (!want) {
            i++;
            continue;
        }
        unsigned j = i;
        /* Bridge gaps of up to 3 zero bytes so runs stay readable. */
        while (j < to && !c->owned[j]) {
            if (!phys && (j >= c->size || !c->cfg[j])) {
                unsigned k = j;
                while (k < to && k < j + 4 && !c->owned[k] &&
                       (k >= c->size || !c->cfg[k]))
                    k++;
                if (k == to || k == j + 4 || c->owned[k])
                    break;
                j = k;
                continue;
            }
            j++;
        }
        uint8_t val[VPCI_CFG_SPACE_EXT];
        for (unsigned k = i; k < j; k++)
            val[k - i] = (phys || k >= c->size) ? 0 : c->cfg[k];
        int r =
            vpci_block_add_bytes(b, (uint16_t)(i - b->off), j - i, val,
                                 phys ? ones : NULL, NULL, phys ? ones : NULL);
        if (r < 0)
            return r;
        memset(c->owned + i, 1, j - i);
        i = j;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Header, BARs, ROM                                                   */
/* ------------------------------------------------------------------ */

static bool is_bar_or_rom(unsigned ht, unsigned off)
{
    if (off >= 0x10 && off < (ht == 1 ? 0x18u : 0x28u))
        return true;
    return off >= (ht == 1 ? 0x38u : 0x30u) && off < (ht == 1 ? 0x3cu : 0x34u);
}

static int derive_header(struct dctx *c, bool has_caps)
{
    struct vpci_block *h = &c->l->blocks[0];
    size_t n;
    const struct vpci_field_def *defs =
        vpci_header_fields(c->l->header_type, &n);
    for (size_t i = 0; i < n; i++) {
        const struct vpci_field_def *f = &defs[i];
        if (is_bar_or_rom(c->l->header_type, f->off))
            continue;
        uint32_t v = cfg_get(c, f->off, f->width);
        struct regpol p;
        if (vfio(c)) {
            p = vfio_header(c, f->name, v, has_caps);
        } else {
            p = RO(v);
            if (!strncmp(f->name, "reserved", 8) && v == 0)
                p.omit = true;
            if (!strcmp(f->name, "status") && has_caps)
                p.val |= 0x10;
        }
        if (p.omit)
            continue;
        int r = add_reg(c, h, f->off, f->width, f->name, p);
        if (r < 0)
            return r;
    }
    return 0;
}

static uint64_t round_pow2(uint64_t v)
{
    uint64_t p = 1;
    while (p < v && p < (1ull << 62))
        p <<= 1;
    return p;
}

static void derive_bars(struct dctx *c)
{
    const struct vpci_device *d = c->dev;
    unsigned nbars = c->l->header_type == 1 ? 2 : VPCI_MAX_BARS;
    for (unsigned i = 0; i < nbars; i++) {
        uint32_t reg = cfg_get(c, 0x10 + 4 * i, 4);
        struct vpci_bar *b = &c->l->bars[i];
        enum vpci_bar_type type = d->bar_type[i];
        bool pf = d->bar_prefetch[i];
        if (type == VPCI_BAR_NONE && reg) {
            if (reg & 1) {
                type = VPCI_BAR_IO;
            } else {
                type = ((reg >> 1) & 3) == 2 ? VPCI_BAR_MEM64 : VPCI_BAR_MEM32;
                pf = reg & 8;
            }
        }
        uint64_t size = d->bar_size[i];
        if (type == VPCI_BAR_NONE && size)
            type = VPCI_BAR_MEM32; /* a VF's BAR registers read 0 */
        if (type == VPCI_BAR_NONE)
            continue;
        bool is64 = type == VPCI_BAR_MEM64;
        if (is64 && i + 1 >= nbars) {
            note(c, "BAR %u: 64-bit BAR in the last slot; left out", i);
            continue;
        }
        if (!size) {
            note(c,
                 "BAR %u: size unknown (no Region line or sysfs "
                 "resource); left out",
                 i);
            if (is64)
                i++;
            continue;
        }
        if (!is_pow2_u64(size)) {
            note(c, "BAR %u: size 0x%llx rounded up to a power of two", i,
                 (unsigned long long)size);
            size = round_pow2(size);
        }
        if (type == VPCI_BAR_IO && size < 4)
            size = 4;
        if (type != VPCI_BAR_IO && size < 16)
            size = 16;
        if ((type == VPCI_BAR_IO && size > 0x100) ||
            (type == VPCI_BAR_MEM32 && size > 0x80000000ull)) {
            note(c, "BAR %u: size 0x%llx does not fit a %s BAR; left out", i,
                 (unsigned long long)size,
                 type == VPCI_BAR_IO ? "io" : "mem32");
            continue;
        }
        b->type = type;
        b->prefetch = type != VPCI_BAR_IO && pf;
        b->size = size;
        b->from = (int)i;
        if (is64)
            i++;
    }
    uint32_t rom = cfg_get(c, c->l->header_type == 1 ? 0x38 : 0x30, 4);
    uint64_t rs = d->rom_size;
    if (rs && (!is_pow2_u64(rs) || rs < 0x800 || rs > 0x1000000)) {
        note(c, "ROM size 0x%llx is not a valid ROM size; left out",
             (unsigned long long)rs);
        rs = 0;
    } else if (!rs && (rom & 0xfffff800u)) {
        note(c, "ROM: size unknown (no Expansion ROM line or sysfs "
                "resource); left out");
    }
    c->l->rom.size = (uint32_t)rs;
    c->l->rom.from_phys = rs != 0;
}

/* ------------------------------------------------------------------ */
/* Capabilities                                                        */
/* ------------------------------------------------------------------ */

static bool quirk_hides(const struct dctx *c, bool ext, uint16_t id)
{
    for (size_t i = 0; i < c->nquirks; i++)
        for (size_t j = 0; j < c->quirks[i]->nactions; j++) {
            const struct quirk_action *a = &c->quirks[i]->actions[j];
            if (a->kind == QUIRK_HIDE && a->ext == ext && a->id == id)
                return true;
        }
    return false;
}

/* MSI has alternative field sets; keep only the ones this MSI uses. */
static bool msi_field_applies(const char *name, uint16_t msgctl)
{
    bool is64 = msgctl & 0x80;
    size_t n = strlen(name);
    bool is32name = n > 2 && !strcmp(name + n - 2, "32");
    if (!strcmp(name, "msg_addr_hi"))
        return is64;
    if (!strcmp(name, "msgctl") || !strcmp(name, "msg_addr"))
        return true;
    return is64 ? !is32name : is32name;
}

static int derive_cap(struct dctx *c, const struct vpci_cap_info *ci)
{
    unsigned hdr = ci->ext ? 4 : 2;
    unsigned off = ci->off, len = ci->len;
    unsigned limit = ci->ext ? c->space : VPCI_CFG_SPACE_STD;
    if (len < hdr)
        len = hdr;
    if (off + len > limit)
        len = limit - off;
    if (off + hdr > c->size || off + hdr > limit) {
        note(c, "%s at 0x%x: truncated; left out", ci->ext ? "ecap" : "cap",
             off);
        return 0;
    }
    for (unsigned i = 0; i < hdr; i++)
        if (c->owned[off + i]) {
            note(c, "%s at 0x%x overlaps another capability; left out",
                 ci->ext ? "ecap" : "cap", off);
            return 0;
        }
    /* The capability ends where another one's bytes start. */
    for (unsigned i = hdr; i < len; i++)
        if (c->owned[off + i]) {
            len = i;
            break;
        }

    const char *name = ci->def ? ci->def->name : "";
    char label[48];
    if (ci->def)
        snprintf(label, sizeof(label), "%s %s at 0x%x",
                 ci->ext ? "ecap" : "cap", name, off);
    else
        snprintf(label, sizeof(label), "%s id 0x%x at 0x%x",
                 ci->ext ? "ecap" : "cap", ci->id, off);

    if (vfio(c)) {
        bool shown =
            ci->ext ? vfio_ext_shown(ci->id) : vfio_std_shown((uint8_t)ci->id);
        if (!shown) {
            note(c, "hid %s: %s", label, vfio_hidden_why(ci->ext, ci->id));
            return 0;
        }
        if (quirk_hides(c, ci->ext, ci->id)) {
            note(c, "hid %s: quirk", label);
            return 0;
        }
    }

    struct vpci_block *b;
    int r =
        vpci_layout_add_block(c->l, ci->ext ? VPCI_BLOCK_ECAP : VPCI_BLOCK_CAP,
                              (uint16_t)off, ci->id, ci->version, name, &b);
    if (r < 0)
        return r;
    memset(c->owned + off, 1, hdr);

    uint16_t msgctl = (uint16_t)cfg_get(c, off + 2, 2);
    if (ci->def) {
        for (size_t i = 0; i < ci->def->nfields; i++) {
            const struct vpci_field_def *f = &ci->def->fields[i];
            if (f->off < hdr || f->off + f->width > len)
                continue;
            if (!ci->ext && ci->id == 0x05 &&
                !msi_field_applies(f->name, msgctl))
                continue;
            bool clash = false;
            for (unsigned k = 0; k < f->width; k++)
                clash |= c->owned[off + f->off + k];
            if (clash)
                continue;
            uint32_t v = cfg_get(c, off + f->off, f->width);
            struct regpol p = vfio(c) ? vfio_cap_reg(c, ci, f->name, v) : RO(v);
            if (p.omit)
                continue;
            if ((r = add_reg(c, b, f->off, f->width, f->name, p)) < 0)
                return r;
        }
    }
    bool phys = vfio(c) && vfio_bytes_phys(ci);
    return add_runs(c, b, off + hdr, off + len, phys);
}

/* ------------------------------------------------------------------ */
/* Quirk actions: keep ranges and a virtual PASID                      */
/* ------------------------------------------------------------------ */

static int apply_keep(struct dctx *c, const struct quirk_action *a)
{
    unsigned end = a->off + a->len;
    if (end > c->space) {
        note(c,
             "quirk line %u: keep 0x%x+%u is outside the %u-byte space; "
             "skipped",
             a->line, a->off, a->len, c->space);
        return 0;
    }
    struct vpci_block *raw = NULL;
    for (size_t i = 1; i < c->l->nblocks; i++)
        if (c->l->blocks[i].kind == VPCI_BLOCK_RAW)
            raw = &c->l->blocks[i];
    if (!raw) {
        int r = vpci_layout_add_block(c->l, VPCI_BLOCK_RAW, 0, 0, 0, "", &raw);
        if (r < 0)
            return r;
    }
    uint8_t ones[VPCI_CFG_SPACE_EXT];
    memset(ones, 0xff, sizeof(ones));
    unsigned kept = 0;
    for (unsigned i = a->off; i < end;) {
        if (c->owned[i]) {
            i++;
            continue;
        }
        unsigned j = i;
        while (j < end && !c->owned[j])
            j++;
        uint8_t zero[VPCI_CFG_SPACE_EXT] = {0};
        int r = vpci_block_add_bytes(raw, (uint16_t)i, j - i, zero,
                                     a->rw ? ones : NULL, NULL, ones);
        if (r < 0)
            return r;
        memset(c->owned + i, 1, j - i);
        kept += j - i;
        i = j;
    }
    note(c, "quirk line %u: kept 0x%x-0x%x as phys%s (%u bytes)", a->line,
         a->off, end - 1, a->rw ? " rw" : "", kept);
    return 0;
}

static int apply_pasid(struct dctx *c, const struct quirk_action *a,
                       const struct vpci_decoded *dec)
{
    if (c->space != VPCI_CFG_SPACE_EXT) {
        note(c,
             "quirk line %u: no extended space for a PASID capability; "
             "skipped",
             a->line);
        return 0;
    }
    for (size_t i = 1; i < c->l->nblocks; i++)
        if (c->l->blocks[i].kind == VPCI_BLOCK_ECAP &&
            c->l->blocks[i].id == 0x001b) {
            note(c,
                 "quirk line %u: a PASID capability is already present; "
                 "skipped",
                 a->line);
            return 0;
        }
    for (unsigned i = 0; i < 8; i++)
        if (c->owned[a->off + i]) {
            note(c, "quirk line %u: 0x%x-0x%x is taken; PASID not placed",
                 a->line, a->off, a->off + 7);
            return 0;
        }
    /* The device's own PASID capability (a PF's) supplies the defaults. */
    uint16_t pcap = 0;
    for (size_t i = 0; i < dec->ncaps; i++)
        if (dec->caps[i].ext && dec->caps[i].id == 0x001b)
            pcap = (uint16_t)cfg_get(c, dec->caps[i].off + 4, 2);
    unsigned width = a->width ? a->width : ((pcap >> 8) & 0x1f);
    if (!width)
        width = 20;
    bool exec = a->exec >= 0 ? a->exec : (pcap & 2) != 0;
    bool priv = a->priv >= 0 ? a->priv : (pcap & 4) != 0;
    /* The extended chain must start at 0x100. */
    bool have_ext = false;
    for (size_t i = 1; i < c->l->nblocks; i++)
        have_ext |= c->l->blocks[i].kind == VPCI_BLOCK_ECAP;
    if (!have_ext && a->off != 0x100 &&
        (c->owned[0x100] || c->owned[0x101] || c->owned[0x102] ||
         c->owned[0x103])) {
        note(c, "quirk line %u: 0x100 is taken; PASID not placed", a->line);
        return 0;
    }
    /* The block itself (and the anchor) as layout place builds it, so a
     * quirk's PASID and a placed one are the same capability. */
    const uint8_t *owned = c->owned;
    struct vpci_place_opts po = {
        .width = width,
        .exec = exec,
        .priv = priv,
        .at = a->off,
        .busy = &owned,
        .nbusy = 1,
    };
    struct vpci_error perr;
    int r = vpci_layout_place_pasid(c->l, &po, NULL, &perr);
    if (r == -EINVAL) {
        note(c, "quirk line %u: %s; PASID not placed", a->line, perr.msg);
        return 0;
    }
    if (r < 0)
        return r;
    if (!have_ext && a->off != 0x100)
        memset(c->owned + 0x100, 1, 4);
    memset(c->owned + a->off, 1, 8);
    note(c, "quirk line %u: virtual PASID at 0x%x (width %u%s%s)", a->line,
         a->off, width, exec ? ", exec" : "", priv ? ", priv" : "");
    return 0;
}

/*
 * Hidden capabilities can leave the extended chain without its anchor at
 * 0x100: put the zero-ID placeholder there (what vfio-pci does), keeping
 * block order = chain order.
 */
static int anchor_ext_chain(struct dctx *c)
{
    size_t first = 0;
    for (size_t i = 1; i < c->l->nblocks && !first; i++)
        if (c->l->blocks[i].kind == VPCI_BLOCK_ECAP)
            first = i;
    if (!first || c->l->blocks[first].off == 0x100)
        return 0;
    struct vpci_block *b;
    int r =
        vpci_layout_add_block(c->l, VPCI_BLOCK_ECAP, 0x100, 0, 0, "null", &b);
    if (r < 0)
        return r;
    /* Its header is taken: quirk keep/pasid must not land on it. */
    memset(c->owned + 0x100, 1, 4);
    /* Move it in front of the first ecap. */
    struct vpci_block tmp = c->l->blocks[c->l->nblocks - 1];
    memmove(&c->l->blocks[first + 1], &c->l->blocks[first],
            (c->l->nblocks - 1 - first) * sizeof(tmp));
    c->l->blocks[first] = tmp;
    note(c, "ecap null at 0x100: placeholder anchoring the extended chain");
    return 0;
}

/* ------------------------------------------------------------------ */

VPCI_EXPORT int
vpci_derive(const struct vpci_device *dev, enum vpci_policy policy,
            const struct vpci_quirks *quirks, struct vpci_layout **ret,
            struct vpci_derive_notes *notes, struct vpci_error *err)
{
    if (!dev || !ret || !dev->cfg ||
        (policy != VPCI_POLICY_VFIO && policy != VPCI_POLICY_IDENTITY))
        return -EINVAL;
    if (notes)
        memset(notes, 0, sizeof(*notes));
    if (dev->size < 64) {
        vpci_seterr(err, 0, 0,
                    "only %u bytes of config space: at least the 64-byte "
                    "header is needed",
                    dev->size);
        return -EINVAL;
    }
    uint16_t vid =
        dev->vendor_id ? dev->vendor_id : (uint16_t)le_get(dev->cfg, 2);
    if (vid == 0xffff || vid == 0x0000) {
        vpci_seterr(err, 0, 0,
                    "vendor ID 0x%04x: the function is absent or powered off",
                    vid);
        return -EINVAL;
    }

    unsigned ht = dev->cfg[0x0e] & 0x7f;
    if (ht > 1) {
        vpci_seterr(err, 0, 0,
                    "header type %u is not supported (only type 0 "
                    "endpoints and type 1 bridges)",
                    ht);
        return -EINVAL;
    }
    struct dctx *c = calloc(1, sizeof(*c));
    struct vpci_decoded *dec = malloc(sizeof(*dec));
    int r = -ENOMEM;
    if (!c || !dec)
        goto out;
    c->dev = dev;
    c->policy = policy;
    c->cfg = dev->cfg;
    c->size = dev->size > VPCI_CFG_SPACE_EXT ? VPCI_CFG_SPACE_EXT : dev->size;
    c->space =
        c->size >= VPCI_CFG_SPACE_EXT ? VPCI_CFG_SPACE_EXT : VPCI_CFG_SPACE_STD;
    c->notes = notes;
    c->err = err;

    vpci_decode(c->cfg, c->size, dec);
    for (size_t i = 0; i < dec->nwarnings; i++)
        note(c, "decoder: %s", dec->warnings[i]);

    if (policy == VPCI_POLICY_VFIO && quirks) {
        uint16_t did =
            dev->device_id ? dev->device_id : (uint16_t)le_get(dev->cfg + 2, 2);
        uint16_t svid = (uint16_t)cfg_get(c, 0x2c, 2);
        uint16_t sdid = (uint16_t)cfg_get(c, 0x2e, 2);
        for (size_t i = 0; i < quirks->n; i++)
            if (quirk_matches(&quirks->q[i], vid, did, svid, sdid) &&
                c->nquirks < ARRAY_SIZE(c->quirks)) {
                c->quirks[c->nquirks++] = &quirks->q[i];
                note(c, "quirk for %04x:%04x (line %u) applies", vid, did,
                     quirks->q[i].line);
            }
    }

    if ((r = vpci_layout_new(c->space, ht, &c->l)) < 0)
        goto out;

    /* Capabilities first (they decide status bit 4), the header last
     * but as blocks[0]. */
    memset(c->owned, 1, 0x40);
    for (size_t i = 0; i < dec->ncaps; i++) {
        const struct vpci_cap_info *ci = &dec->caps[i];
        if (ci->ext && c->space < VPCI_CFG_SPACE_EXT)
            continue;
        if (!ci->ext && ci->id == 0 && !ci->def) {
            /* "cap id 0x00" would be legal, but say so. */
            note(c, "cap at 0x%x has ID 0x00", ci->off);
        }
        if ((r = derive_cap(c, ci)) < 0)
            goto out;
    }
    if ((r = anchor_ext_chain(c)) < 0)
        goto out;

    bool has_caps = false;
    for (size_t i = 1; i < c->l->nblocks; i++)
        has_caps |= c->l->blocks[i].kind == VPCI_BLOCK_CAP;
    if ((r = derive_header(c, has_caps)) < 0)
        goto out;
    derive_bars(c);

    for (size_t q = 0; q < c->nquirks; q++)
        for (size_t j = 0; j < c->quirks[q]->nactions; j++) {
            const struct quirk_action *a = &c->quirks[q]->actions[j];
            if (a->kind == QUIRK_KEEP)
                r = apply_keep(c, a);
            else if (a->kind == QUIRK_PASID)
                r = apply_pasid(c, a, dec);
            else
                r = 0;
            if (r < 0)
                goto out;
        }

    if (policy == VPCI_POLICY_IDENTITY) {
        /* Bytes no capability owns, as the device has them. */
        struct vpci_block *raw = NULL;
        for (unsigned i = 0x40; i < c->size && !raw; i++)
            if (!c->owned[i] && c->cfg[i])
                if ((r = vpci_layout_add_block(c->l, VPCI_BLOCK_RAW, 0, 0, 0,
                                               "", &raw)) < 0)
                    goto out;
        if (raw && (r = add_runs(c, raw, 0x40, c->space, false)) < 0)
            goto out;
    }

    struct vpci_error verr;
    if ((r = vpci_layout_validate(c->l, &verr)) < 0) {
        /* A derive bug, never the device's fault: say where. */
        vpci_seterr(err, 0, 0, "derived layout does not validate: %s",
                    verr.msg);
        r = -EINVAL;
        goto out;
    }
    *ret = c->l;
    c->l = NULL;
    r = 0;
out:
    if (c)
        vpci_layout_free(c->l);
    free(c);
    free(dec);
    return r;
}
