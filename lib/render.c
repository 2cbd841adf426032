/* SPDX-License-Identifier: BSD-2-Clause */
/* Model -> guest-visible config bytes and per-bit masks at reset. */
#include <errno.h>
#include <string.h>

#include "internal.h"

static unsigned bar_type_bits(const struct vpci_bar *b)
{
    switch (b->type) {
    case VPCI_BAR_IO:
        return 0x1;
    case VPCI_BAR_MEM32:
        return b->prefetch ? 0x8 : 0x0;
    case VPCI_BAR_MEM64:
        return 0x4 | (b->prefetch ? 0x8 : 0x0);
    case VPCI_BAR_NONE:
        break;
    }
    return 0;
}

/* The four arrays of f into out at a; inlined with a constant len, each
 * memcpy is a move. */
static inline __attribute__((always_inline)) void
copy4(struct vpci_render *out, unsigned a, const struct vpci_field *f,
      unsigned len)
{
    memcpy(out->val + a, f->val, len);
    memcpy(out->rw + a, f->rw, len);
    memcpy(out->w1c + a, f->w1c, len);
    memcpy(out->phys + a, f->phys, len);
}

VPCI_EXPORT int vpci_render(const struct vpci_layout *l,
                            struct vpci_render *out)
{
    if (!l || !out || l->nblocks == 0 ||
        (l->space != VPCI_CFG_SPACE_STD && l->space != VPCI_CFG_SPACE_EXT))
        return -EINVAL;

    memset(out, 0, sizeof(*out));
    out->size = l->space;
    out->header_type = l->header_type;

    /* Render must stay memory-safe even for a layout that was built in
     * memory and never validated: every write is bounds-checked. */
    for (size_t i = 0; i < l->nblocks; i++) {
        const struct vpci_block *b = &l->blocks[i];
        for (size_t j = 0; j < b->nfields; j++) {
            const struct vpci_field *f = &b->fields[j];
            unsigned a = field_abs(b, f);
            if (a + f->len > l->space)
                return -EINVAL;
            /* Registers: one case per width, each a few moves; four
             * library calls per field cost more than the rest of
             * rendering. */
            switch (f->len) {
            case 1:
                copy4(out, a, f, 1);
                break;
            case 2:
                copy4(out, a, f, 2);
                break;
            case 4:
                copy4(out, a, f, 4);
                break;
            default:
                copy4(out, a, f, f->len);
                break;
            }
        }
    }

    /* Chains follow file order; the pointer and header bytes are implied
     * and read-only. */
    unsigned prev_std_off = 0x34, prev_ext_off = 0;
    for (size_t i = 1; i < l->nblocks; i++) {
        const struct vpci_block *b = &l->blocks[i];
        if (b->kind == VPCI_BLOCK_CAP) {
            if (b->off < 0x40 || b->off > 0xfc)
                return -EINVAL;
            out->val[b->off] = (uint8_t)b->id;
            out->val[b->off + 1] = 0;
            /* prev_std_off is 0x34 (the header pointer) or prev cap + 1 */
            out->val[prev_std_off] = (uint8_t)b->off;
            prev_std_off = b->off + 1u;
        } else if (b->kind == VPCI_BLOCK_ECAP) {
            if (b->off < 0x100 || b->off > 0xffc || l->space < 0x1000)
                return -EINVAL;
            if (prev_ext_off) {
                uint32_t h = le_get(out->val + prev_ext_off, 4);
                h = (h & 0x000fffffu) | ((uint32_t)b->off << 20);
                le_put(out->val + prev_ext_off, 4, h);
            }
            le_put(out->val + b->off, 4,
                   (uint32_t)b->id | ((uint32_t)(b->version & 0xf) << 16));
            prev_ext_off = b->off;
        }
    }

    unsigned nbars = l->header_type == 1 ? 2 : VPCI_MAX_BARS;
    for (unsigned i = 0; i < nbars; i++) {
        const struct vpci_bar *bar = &l->bars[i];
        out->bars[i] = *bar;
        if (bar->type == VPCI_BAR_NONE)
            continue;
        out->val[0x10 + 4 * i] = (uint8_t)bar_type_bits(bar);
    }
    for (unsigned i = nbars; i < VPCI_MAX_BARS; i++)
        out->bars[i].from = -1;
    out->rom = l->rom;
    return 0;
}

VPCI_EXPORT int vpci_render_lspci(const struct vpci_render *r, const char *slot,
                                  char **ret_text)
{
    if (!r || !ret_text ||
        (r->size != VPCI_CFG_SPACE_STD && r->size != VPCI_CFG_SPACE_EXT))
        return -EINVAL;
    struct strbuf sb;
    strbuf_init(&sb);
    /* lspci -F recognises a device by a leading slot; the rest of the line
     * is only for people. */
    strbuf_printf(&sb, "%s Class %02x%02x: Device %04x:%04x\n",
                  slot && *slot ? slot : "00:00.0", r->val[0x0b], r->val[0x0a],
                  le_get(r->val, 2), le_get(r->val + 2, 2));
    for (unsigned off = 0; off < r->size; off += 16) {
        strbuf_printf(&sb, "%02x:", off);
        for (unsigned i = 0; i < 16; i++)
            strbuf_printf(&sb, " %02x", r->val[off + i]);
        strbuf_puts(&sb, "\n");
    }
    return strbuf_detach(&sb, ret_text, NULL);
}
