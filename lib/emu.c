/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Emulated config space: guest accesses against a rendered layout, with
 * BAR/ROM decoding and the side effects a VMM must act on.
 *
 * Everything is kept as little-endian dwords in host byte order, so that
 * an access is one load, a shift and a mask.  A per-dword flag byte sends
 * the rare registers (physical bits, BARs, registers with side effects) to
 * slower paths without touching the common one.
 *
 * Bits that are rw (or w1c) and phys are also recorded in cur[], as the
 * value the guest last wrote.  Reads never show them (phys bits come from
 * the hardware), but the events use them: the "guest view" of a command
 * register whose bits are forwarded is what the guest wrote, which needs
 * no extra hardware read and no shadow copy.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define NDW (VPCI_CFG_SPACE_EXT / 4)
#define ROM_INDEX 6
#define NSLOTS 16 /* header dwords; BAR and ROM registers live there */

enum {
    DW_PHYS = 1u << 0, /* some bit comes from the physical function */
    DW_BAR = 1u << 1,  /* BAR/ROM register: decoded, masks do not apply */
    DW_SIDE = 1u << 2, /* a write here may raise an event */
};

/* What a header dword decodes to when it is a BAR/ROM register. */
struct bar_slot {
    int8_t bar; /* 0..5, ROM_INDEX, or -1: unimplemented, reads 0 */
    bool hi;    /* upper half of a 64-bit BAR */
};

struct vpci_emu {
    struct vpci_emu_ops ops;
    void *opaque;
    unsigned space;
    uint32_t cur[NDW];
    uint32_t val[NDW];
    uint32_t rw[NDW];
    uint32_t w1c[NDW];
    uint32_t phys[NDW];
    uint8_t flags[NDW];
    struct bar_slot slot[NSLOTS];
    /* Addresses are stored already masked, so a read only adds type bits. */
    uint64_t addr[VPCI_MAX_BARS + 1];
    uint64_t amask[VPCI_MAX_BARS + 1];
    uint32_t tbits[VPCI_MAX_BARS];
    bool rom_en;
    /* Absolute offsets of registers with side effects; 0 = absent (no
     * capability can sit at 0). */
    unsigned msi_ctl, msix_ctl, pcie_devctl, af_ctl, pmcsr;
};

static const uint32_t size_mask[5] = {0, 0xff, 0xffff, 0, 0xffffffffu};

static inline bool access_ok(const struct vpci_emu *e, unsigned off,
                             unsigned size)
{
    return (size == 1 || size == 2 || size == 4) && !(off & (size - 1)) &&
           off + size <= e->space;
}

static uint32_t dw_get(const uint32_t *a, unsigned off, unsigned len)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < len; i++) {
        unsigned o = off + i;
        v |= ((a[o >> 2] >> (8 * (o & 3))) & 0xffu) << (8 * i);
    }
    return v;
}

/* ---------------------------------------------------------------- BARs */

static uint32_t bar_reg(const struct vpci_emu *e, unsigned d)
{
    struct bar_slot s = e->slot[d];
    if (s.bar < 0)
        return 0;
    uint64_t a = e->addr[s.bar];
    if (s.bar == ROM_INDEX)
        return (uint32_t)a | (e->rom_en ? 1u : 0u);
    if (s.hi)
        return (uint32_t)(a >> 32);
    return (uint32_t)a | e->tbits[s.bar];
}

/* Merge the written bytes into the register as it reads now, so a byte
 * write leaves the other address bytes alone.  True if the programmed
 * address (or the ROM enable) changed. */
static bool bar_reg_write(struct vpci_emu *e, unsigned d, uint32_t wm,
                          uint32_t v)
{
    struct bar_slot s = e->slot[d];
    if (s.bar < 0)
        return false;
    uint32_t reg = (bar_reg(e, d) & ~wm) | (v & wm);
    unsigned i = (unsigned)s.bar;
    uint64_t old = e->addr[i];
    bool old_en = e->rom_en;
    if (i == ROM_INDEX) {
        e->addr[i] = reg & e->amask[i];
        e->rom_en = reg & 1u;
    } else if (s.hi) {
        e->addr[i] =
            (((uint64_t)reg << 32) | (e->addr[i] & 0xffffffffu)) & e->amask[i];
    } else {
        e->addr[i] =
            ((e->addr[i] & ~(uint64_t)0xffffffffu) | reg) & e->amask[i];
    }
    return e->addr[i] != old || e->rom_en != old_en;
}

/* ---------------------------------------------------------------- events */

/* The registers whose changes are events, in the guest's (virtual) view. */
struct snap {
    uint32_t cmd;
    uint32_t msi;  /* enable bit */
    uint32_t msix; /* bits 15:14 */
    uint32_t pm;   /* power state */
};

static void snap_take(const struct vpci_emu *e, struct snap *s)
{
    s->cmd = dw_get(e->cur, 0x04, 2);
    s->msi = e->msi_ctl ? dw_get(e->cur, e->msi_ctl, 1) & 0x1u : 0;
    s->msix = e->msix_ctl ? dw_get(e->cur, e->msix_ctl, 2) & 0xc000u : 0;
    s->pm = e->pmcsr ? dw_get(e->cur, e->pmcsr, 1) & 0x3u : 0;
}

/* Bit `bit` of byte `at` written as 1 by this access, where it is rw.
 * A value that merely reads 1 is not a request: only the write counts. */
static bool wrote_one(const struct vpci_emu *e, unsigned at, unsigned bit,
                      unsigned off, unsigned size, uint32_t val)
{
    if (!at || at < off || at >= off + size)
        return false;
    uint32_t b = 1u << bit;
    return ((val >> (8 * (at - off))) & b) && (dw_get(e->rw, at, 1) & b);
}

static void emit(const struct vpci_emu *e, struct vpci_event *ev, size_t n)
{
    if (!e->ops.event)
        return;
    for (size_t i = 0; i < n; i++)
        e->ops.event(e->opaque, &ev[i]);
}

/* ---------------------------------------------------------------- access */

static uint32_t read_phys(const struct vpci_emu *e, unsigned d, unsigned off,
                          unsigned size, unsigned sh, uint32_t v)
{
    uint32_t pm = e->phys[d] & (size_mask[size] << sh);
    if (!pm)
        return v;
    uint32_t hw = 0;
    /* Hardware that vanished reads 0: the guest must keep running. */
    if (!e->ops.phys_read ||
        e->ops.phys_read(e->opaque, (uint16_t)off, size, &hw) < 0)
        hw = 0;
    return (v & ~pm) | ((hw << sh) & pm);
}

VPCI_EXPORT int vpci_emu_read(struct vpci_emu *e, uint16_t off, unsigned size,
                              uint32_t *ret)
{
    if (!e || !ret || !access_ok(e, off, size))
        return -EINVAL;
    unsigned d = off >> 2, sh = 8u * (off & 3u);
    uint32_t v = e->cur[d];
    uint8_t fl = e->flags[d];
    if (fl) {
        if (fl & DW_BAR)
            v = bar_reg(e, d);
        else if (fl & DW_PHYS)
            v = read_phys(e, d, off, size, sh, v);
    }
    *ret = (v >> sh) & size_mask[size];
    return 0;
}

static void apply(struct vpci_emu *e, unsigned d, uint32_t wm, uint32_t v)
{
    uint32_t rw = e->rw[d] & wm;
    uint32_t c = (e->cur[d] & ~rw) | (v & rw);
    e->cur[d] = c & ~(v & e->w1c[d]);
}

static void forward(const struct vpci_emu *e, unsigned d, unsigned off,
                    unsigned size, unsigned sh, uint32_t val)
{
    uint32_t fm = (e->rw[d] | e->w1c[d]) & e->phys[d] & (size_mask[size] << sh);
    /* A failed hardware write is the VMM's to notice (it owns the device);
     * the virtual state is already updated and stays consistent. */
    if (fm && e->ops.phys_write)
        (void)e->ops.phys_write(e->opaque, (uint16_t)off, size, val, fm >> sh);
}

static int write_side(struct vpci_emu *e, unsigned d, unsigned off,
                      unsigned size, unsigned sh, uint32_t val)
{
    struct snap o, n;
    struct vpci_event ev[5];
    size_t nev = 0;

    snap_take(e, &o);
    apply(e, d, size_mask[size] << sh, val << sh);
    if (e->flags[d] & DW_PHYS)
        forward(e, d, off, size, sh, val);
    snap_take(e, &n);

    bool flr = wrote_one(e, e->pcie_devctl ? e->pcie_devctl + 1 : 0, 7, off,
                         size, val) ||
               wrote_one(e, e->af_ctl, 0, off, size, val);

    if (o.cmd != n.cmd)
        ev[nev++] = (struct vpci_event){VPCI_EV_COMMAND, o.cmd, n.cmd};
    if (o.msi != n.msi)
        ev[nev++] = (struct vpci_event){VPCI_EV_MSI_ENABLE, n.msi, 0};
    if (o.msix != n.msix)
        ev[nev++] = (struct vpci_event){
            VPCI_EV_MSIX_ENABLE, (n.msix >> 15) & 1u, (n.msix >> 14) & 1u};
    if (flr)
        ev[nev++] = (struct vpci_event){VPCI_EV_FLR, 0, 0};
    if (o.pm != n.pm)
        ev[nev++] = (struct vpci_event){VPCI_EV_PM_STATE, o.pm, n.pm};

    /* The whole state change, FLR reset included, happens before any
     * callback runs: a handler that reads or writes config space (or
     * queries BAR addresses) sees the final state. */
    if (flr)
        vpci_emu_reset(e);
    emit(e, ev, nev);
    return 0;
}

VPCI_EXPORT int vpci_emu_write(struct vpci_emu *e, uint16_t off, unsigned size,
                               uint32_t val)
{
    if (!e || !access_ok(e, off, size))
        return -EINVAL;
    unsigned d = off >> 2, sh = 8u * (off & 3u);
    /* Bits above the access size are not part of the access. */
    val &= size_mask[size];
    uint8_t fl = e->flags[d];
    if (!fl) {
        apply(e, d, size_mask[size] << sh, val << sh);
        return 0;
    }
    if (fl & DW_BAR) {
        if (bar_reg_write(e, d, size_mask[size] << sh, val << sh)) {
            struct bar_slot s = e->slot[d];
            uint64_t b = e->addr[s.bar];
            if (s.bar == ROM_INDEX && e->rom_en)
                b |= 1u;
            struct vpci_event ev = {VPCI_EV_BAR, (uint64_t)s.bar, b};
            emit(e, &ev, 1);
        }
        return 0;
    }
    if (fl & DW_SIDE)
        return write_side(e, d, off, size, sh, val);
    apply(e, d, size_mask[size] << sh, val << sh);
    forward(e, d, off, size, sh, val);
    return 0;
}

/* ---------------------------------------------------------------- setup */

VPCI_EXPORT void vpci_emu_reset(struct vpci_emu *e)
{
    if (!e)
        return;
    memcpy(e->cur, e->val, sizeof(e->cur));
    memset(e->addr, 0, sizeof(e->addr));
    e->rom_en = false;
}

VPCI_EXPORT uint64_t vpci_emu_bar_addr(const struct vpci_emu *e, unsigned i)
{
    if (!e || i > ROM_INDEX)
        return 0;
    return e->addr[i];
}

VPCI_EXPORT void vpci_emu_free(struct vpci_emu *e)
{
    free(e);
}

/* A guest would size nonsense out of an unchecked BAR, so geometry the
 * hardware could not have is refused rather than emulated. */
static int setup_bars(struct vpci_emu *e, const struct vpci_render *r)
{
    unsigned nbars = r->header_type == 1 ? 2 : VPCI_MAX_BARS;
    unsigned rom_dw = (r->header_type == 1 ? 0x38 : 0x30) / 4;

    for (unsigned d = 0; d < NSLOTS; d++)
        e->slot[d] = (struct bar_slot){-1, false};
    for (unsigned i = 0; i < nbars; i++) {
        const struct vpci_bar *b = &r->bars[i];
        unsigned d = 4 + i;
        e->flags[d] = DW_BAR;
        if (e->slot[d].hi)
            continue;
        switch (b->type) {
        case VPCI_BAR_NONE:
            continue;
        case VPCI_BAR_MEM32:
            if (!is_pow2_u64(b->size) || b->size < 16 || b->size > (1ull << 31))
                return -EINVAL;
            e->amask[i] = ~(b->size - 1) & 0xfffffff0u;
            e->tbits[i] = b->prefetch ? 0x8u : 0x0u;
            break;
        case VPCI_BAR_MEM64:
            if (!is_pow2_u64(b->size) || b->size < 16 || i + 1 >= nbars ||
                r->bars[i + 1].type != VPCI_BAR_NONE)
                return -EINVAL;
            e->amask[i] = ~(b->size - 1) & ~(uint64_t)0xf;
            e->tbits[i] = 0x4u | (b->prefetch ? 0x8u : 0x0u);
            e->slot[d + 1] = (struct bar_slot){(int8_t)i, true};
            break;
        case VPCI_BAR_IO:
            if (!is_pow2_u64(b->size) || b->size < 4 || b->size > (1ull << 31))
                return -EINVAL;
            e->amask[i] = ~(b->size - 1) & 0xfffffffcu;
            e->tbits[i] = 0x1u;
            break;
        default:
            return -EINVAL;
        }
        e->slot[d] = (struct bar_slot){(int8_t)i, false};
    }

    e->flags[rom_dw] = DW_BAR;
    if (r->rom.size) {
        if (!is_pow2_u64(r->rom.size) || r->rom.size < 2048)
            return -EINVAL;
        e->amask[ROM_INDEX] = ~(r->rom.size - 1) & 0xfffff800u;
        e->slot[rom_dw] = (struct bar_slot){ROM_INDEX, false};
    }
    return 0;
}

/* Offset of the register at cap+rel (len bytes) of the first capability
 * with this ID, or 0.  The first one wins: a guest walking the chain
 * finds that one first too. */
static unsigned cap_reg(const struct vpci_layout *l, unsigned space,
                        uint16_t id, unsigned rel, unsigned len)
{
    for (size_t i = 1; i < l->nblocks; i++) {
        const struct vpci_block *b = &l->blocks[i];
        if (b->kind != VPCI_BLOCK_CAP || b->id != id)
            continue;
        unsigned at = (unsigned)b->off + rel;
        return at + len <= space ? at : 0;
    }
    return 0;
}

static void mark_side(struct vpci_emu *e, unsigned at, unsigned len)
{
    for (unsigned i = 0; i < len; i++)
        if (!(e->flags[(at + i) >> 2] & DW_BAR))
            e->flags[(at + i) >> 2] |= DW_SIDE;
}

VPCI_EXPORT int vpci_emu_new(const struct vpci_layout *l,
                             const struct vpci_emu_ops *ops, void *opaque,
                             struct vpci_emu **ret)
{
    if (!l || !ret)
        return -EINVAL;
    /* Too big for the stack of a VMM's vCPU thread. */
    struct vpci_render *r = malloc(sizeof(*r));
    struct vpci_emu *e = calloc(1, sizeof(*e));
    int rc = -ENOMEM;
    if (!r || !e)
        goto fail;
    rc = vpci_render(l, r);
    if (rc < 0)
        goto fail;

    if (ops)
        e->ops = *ops;
    e->opaque = opaque;
    e->space = r->size;
    for (unsigned d = 0; d < r->size / 4; d++) {
        e->val[d] = le_get(r->val + 4 * d, 4);
        e->rw[d] = le_get(r->rw + 4 * d, 4);
        e->w1c[d] = le_get(r->w1c + 4 * d, 4);
        e->phys[d] = le_get(r->phys + 4 * d, 4);
    }
    rc = setup_bars(e, r);
    if (rc < 0)
        goto fail;
    for (unsigned d = 0; d < r->size / 4; d++)
        if (e->phys[d] && !(e->flags[d] & DW_BAR))
            e->flags[d] |= DW_PHYS;

    e->msi_ctl = cap_reg(l, e->space, 0x05, 2, 2);
    e->msix_ctl = cap_reg(l, e->space, 0x11, 2, 2);
    e->pcie_devctl = cap_reg(l, e->space, 0x10, 8, 2);
    e->af_ctl = cap_reg(l, e->space, 0x13, 4, 1);
    e->pmcsr = cap_reg(l, e->space, 0x01, 4, 2);
    mark_side(e, 0x04, 2);
    if (e->msi_ctl)
        mark_side(e, e->msi_ctl, 1);
    if (e->msix_ctl)
        mark_side(e, e->msix_ctl + 1, 1);
    if (e->pcie_devctl)
        mark_side(e, e->pcie_devctl + 1, 1);
    if (e->af_ctl)
        mark_side(e, e->af_ctl, 1);
    if (e->pmcsr)
        mark_side(e, e->pmcsr, 1);

    free(r);
    vpci_emu_reset(e);
    *ret = e;
    return 0;
fail:
    free(r);
    free(e);
    return rc;
}
