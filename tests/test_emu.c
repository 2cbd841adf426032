/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The emulated config space as a VMM sees it: exact register values after
 * guest accesses, exactly what reaches the hardware, and exactly which
 * events fire.  Layouts are built in memory so these tests do not depend
 * on the text parser.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* Hex in failure messages: register values are read in hex. */
/* ------------------------------------------------------------ fixtures */

/* Stands in for the physical function and for the VMM's event handler. */
struct fake {
    uint8_t hw[VPCI_CFG_SPACE_EXT];
    unsigned nread, nwrite;
    unsigned r_off, r_size;
    unsigned w_off, w_size;
    uint32_t w_val, w_mask;
    int read_rc, write_rc;
    struct vpci_emu *emu;
    size_t nev;
    struct vpci_event ev[16];
    uint32_t cmd_in_cb[16]; /* command register read from inside the cb */
};

static int fake_read(void *opaque, uint16_t off, unsigned size, uint32_t *ret)
{
    struct fake *f = opaque;
    f->nread++;
    f->r_off = off;
    f->r_size = size;
    if (f->read_rc < 0) {
        *ret = 0xffffffff; /* garbage that must not reach the guest */
        return f->read_rc;
    }
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)f->hw[off + i] << (8 * i);
    *ret = v;
    return 0;
}

static int fake_write(void *opaque, uint16_t off, unsigned size, uint32_t val,
                      uint32_t mask)
{
    struct fake *f = opaque;
    f->nwrite++;
    f->w_off = off;
    f->w_size = size;
    f->w_val = val;
    f->w_mask = mask;
    for (unsigned i = 0; i < size; i++) {
        uint8_t m = (uint8_t)(mask >> (8 * i));
        f->hw[off + i] =
            (uint8_t)((f->hw[off + i] & ~m) | ((val >> (8 * i)) & m));
    }
    return f->write_rc;
}

static void fake_event(void *opaque, const struct vpci_event *ev)
{
    struct fake *f = opaque;
    ck_assert_uint_lt(f->nev, 16);
    f->ev[f->nev] = *ev;
    uint32_t cmd = 0xdead;
    ck_assert_int_eq(vpci_emu_read(f->emu, 0x04, 2, &cmd), 0);
    f->cmd_in_cb[f->nev] = cmd;
    f->nev++;
}

static const struct vpci_emu_ops fake_ops = {fake_read, fake_write, fake_event};

static struct vpci_layout *mk(unsigned space, unsigned header_type)
{
    struct vpci_layout *l = NULL;
    ck_assert_int_eq(vpci_layout_new(space, header_type, &l), 0);
    return l;
}

/* Index of a new block (pointers move when blocks are added). */
static size_t blk(struct vpci_layout *l, enum vpci_block_kind kind,
                  unsigned off, unsigned id)
{
    ck_assert_int_eq(vpci_layout_add_block(l, kind, (uint16_t)off, (uint16_t)id,
                                           0, "", NULL),
                     0);
    return l->nblocks - 1;
}

static void reg(struct vpci_layout *l, size_t b, unsigned off, unsigned len,
                uint32_t val, uint32_t rw, uint32_t w1c, uint32_t phys)
{
    ck_assert_int_eq(vpci_block_add_reg(&l->blocks[b], (uint16_t)off, len, "f",
                                        val, rw, w1c, phys),
                     0);
}

static struct vpci_emu *start(const struct vpci_layout *l, struct fake *f)
{
    struct vpci_emu *e = NULL;
    ck_assert_int_eq(vpci_emu_new(l, &fake_ops, f, &e), 0);
    ck_assert_ptr_nonnull(e);
    f->emu = e;
    return e;
}

static uint32_t rd(struct vpci_emu *e, unsigned off, unsigned size)
{
    uint32_t v = 0xdeadbeef;
    int r = vpci_emu_read(e, (uint16_t)off, size, &v);
    ck_assert_msg(r == 0, "read %#x/%u returned %d", off, size, r);
    return v;
}

static void wr(struct vpci_emu *e, unsigned off, unsigned size, uint32_t v)
{
    int r = vpci_emu_write(e, (uint16_t)off, size, v);
    ck_assert_msg(r == 0, "write %#x/%u returned %d", off, size, r);
}

/* Every access size over [off, off+len) agrees with the dword reads. */
static void check_sizes_agree(struct vpci_emu *e, unsigned off, unsigned len)
{
    for (unsigned o = off; o < off + len; o += 4) {
        uint32_t d = rd(e, o, 4);
        EQX(rd(e, o, 2) | rd(e, o + 2, 2) << 16, d);
        for (unsigned i = 0; i < 4; i++)
            EQX(rd(e, o + i, 1), (d >> (8 * i)) & 0xff);
    }
}

/* ------------------------------------------------------------ masks */

static struct vpci_layout *ro_layout(void)
{
    struct vpci_layout *l = mk(VPCI_CFG_SPACE_STD, 0);
    reg(l, 0, 0x00, 2, 0x8086, 0, 0, 0);
    reg(l, 0, 0x02, 2, 0x1234, 0, 0, 0);
    reg(l, 0, 0x08, 4, 0x02000001, 0, 0, 0);
    reg(l, 0, 0x2c, 4, 0xabcd8086, 0, 0, 0);
    size_t r = blk(l, VPCI_BLOCK_RAW, 0, 0);
    uint8_t v[16];
    for (unsigned i = 0; i < 16; i++)
        v[i] = (uint8_t)(0x11 * i + 3);
    ck_assert_int_eq(
        vpci_block_add_bytes(&l->blocks[r], 0x40, 16, v, NULL, NULL, NULL), 0);
    return l;
}

START_TEST(test_ro_values)
{
    struct vpci_layout *l = ro_layout();
    struct fake f = {0};
    struct vpci_emu *e = start(l, &f);

    EQX(rd(e, 0x00, 4), 0x12348086);
    EQX(rd(e, 0x02, 2), 0x1234);
    EQX(rd(e, 0x01, 1), 0x80);
    EQX(rd(e, 0x08, 4), 0x02000001);
    EQX(rd(e, 0x0b, 1), 0x02);
    EQX(rd(e, 0x2c, 4), 0xabcd8086);
    EQX(rd(e, 0x40, 4), 0x36251403);
    EQX(rd(e, 0x4c, 4), 0x02f1e0cf);
    check_sizes_agree(e, 0x00, 0x50);
    ck_assert_uint_eq(f.nread, 0);
    vpci_emu_free(e);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_ro_ignores_writes)
{
    struct vpci_layout *l = ro_layout();
    struct fake f = {0};
    struct vpci_emu *e = start(l, &f);
    uint32_t before[0x50 / 4];
    for (unsigned o = 0; o < 0x50; o += 4)
        before[o / 4] = rd(e, o, 4);

    for (unsigned o = 0; o < 0x50; o += 4) {
        if (o >= 0x10 && o < 0x28)
            continue; /* BARs have their own rules */
        wr(e, o, 4, 0xffffffff);
        wr(e, o, 2, 0xffff);
        wr(e, o + 2, 2, 0x0000);
        for (unsigned i = 0; i < 4; i++)
            wr(e, o + i, 1, 0xff);
    }
    for (unsigned o = 0; o < 0x50; o += 4)
        EQX(rd(e, o, 4), before[o / 4]);
    EQX(rd(e, 0x00, 4), 0x12348086);
    ck_assert_uint_eq(f.nwrite, 0);
    ck_assert_uint_eq(f.nev, 0);
    vpci_emu_free(e);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_rw_store_and_reset)
{
    struct vpci_layout *l = mk(VPCI_CFG_SPACE_STD, 0);
    reg(l, 0, 0x04, 2, 0x0000, 0x0547, 0, 0);
    size_t r = blk(l, VPCI_BLOCK_RAW, 0, 0);
    reg(l, r, 0x44, 4, 0xa5a5a5a5, 0x0ff000f0, 0, 0);
    uint8_t v[3] = {0x10, 0x20, 0x30}, m[3] = {0xff, 0x0f, 0x00};
    ck_assert_int_eq(
        vpci_block_add_bytes(&l->blocks[r], 0x49, 3, v, m, NULL, NULL), 0);
    struct fake f = {0};
    struct vpci_emu *e = start(l, &f);

    wr(e, 0x04, 2, 0xffff);
    EQX(rd(e, 0x04, 2), 0x0547);
    wr(e, 0x04, 2, 0x0000);
    EQX(rd(e, 0x04, 2), 0x0000);
    wr(e, 0x05, 1, 0xff);
    EQX(rd(e, 0x04, 2), 0x0500);
    wr(e, 0x04, 1, 0x06);
    EQX(rd(e, 0x04, 2), 0x0506);

    wr(e, 0x44, 4, 0x5a5a5a5a);
    EQX(rd(e, 0x44, 4), 0xa5a5a5a5 ^ 0x0ff000f0);
    wr(e, 0x46, 2, 0x0000);
    EQX(rd(e, 0x44, 4), 0xa005a555);
    wr(e, 0x44, 1, 0xff);
    EQX(rd(e, 0x44, 4), 0xa005a5f5);

    /* bytes field: 0x49 all rw, 0x4a low nibble rw, 0x4b read-only */
    wr(e, 0x48, 4, 0xffffffff);
    EQX(rd(e, 0x48, 4), 0x302fff00);
    wr(e, 0x4a, 2, 0x0000);
    EQX(rd(e, 0x48, 4), 0x3020ff00);
    check_sizes_agree(e, 0x40, 0x10);

    vpci_emu_reset(e);
    EQX(rd(e, 0x04, 2), 0x0000);
    EQX(rd(e, 0x44, 4), 0xa5a5a5a5);
    EQX(rd(e, 0x48, 4), 0x30201000);
    vpci_emu_free(e);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_w1c)
{
    struct vpci_layout *l = mk(VPCI_CFG_SPACE_STD, 0);
    reg(l, 0, 0x06, 2, 0x0910, 0, 0xf900, 0);
    size_t r = blk(l, VPCI_BLOCK_RAW, 0, 0);
    reg(l, r, 0x48, 4, 0xf0f0f0f0, 0xff000000, 0x00ff00ff, 0);
    struct fake f = {0};
    struct vpci_emu *e = start(l, &f);

    wr(e, 0x06, 2, 0x0000);
    EQX(rd(e, 0x06, 2), 0x0910);
    wr(e, 0x06, 2, 0x0100);
    EQX(rd(e, 0x06, 2), 0x0810);
    wr(e, 0x06, 2, 0x0100); /* already clear: stays clear */
    EQX(rd(e, 0x06, 2), 0x0810);
    wr(e, 0x06, 2, 0xffff); /* bit 4 is read-only */
    EQX(rd(e, 0x06, 2), 0x0010);

    wr(e, 0x48, 4, 0x00000000 | 0xf0000000);
    EQX(rd(e, 0x48, 4), 0xf0f0f0f0);
    wr(e, 0x48, 4, 0xf0100010);
    EQX(rd(e, 0x48, 4), 0xf0e0f0e0);
    wr(e, 0x4a, 1, 0x80);
    EQX(rd(e, 0x48, 4), 0xf060f0e0);
    wr(e, 0x48, 4, 0xffffffff);
    EQX(rd(e, 0x48, 4), 0xff00f000);

    vpci_emu_reset(e);
    EQX(rd(e, 0x06, 2), 0x0910);
    EQX(rd(e, 0x48, 4), 0xf0f0f0f0);
    vpci_emu_free(e);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_undescribed)
{
    for (unsigned space = VPCI_CFG_SPACE_STD; space <= VPCI_CFG_SPACE_EXT;
         space *= 16) {
        struct vpci_layout *l = mk(space, 0);
        reg(l, 0, 0x00, 4, 0x11118086, 0, 0, 0);
        struct fake f = {0};
        struct vpci_emu *e = start(l, &f);
        for (unsigned o = 0x04; o < space; o += 4) {
            if (o >= 0x10 && o < 0x28)
                continue;
            wr(e, o, 4, 0xffffffff);
            wr(e, o + 1, 1, 0xff);
            wr(e, o + 2, 2, 0xffff);
        }
        for (unsigned o = 0x04; o < space; o += 4) {
            EQX(rd(e, o, 4), 0);
            EQX(rd(e, o + 3, 1), 0);
        }
        EQX(rd(e, 0x00, 4), 0x11118086);
        EQX(rd(e, space - 1, 1), 0);
        ck_assert_uint_eq(f.nread + f.nwrite + f.nev, 0);
        vpci_emu_free(e);
        vpci_layout_free(l);
    }
}
END_TEST

/* ------------------------------------------------------------ phys */

static struct vpci_layout *phys_layout(void)
{
    struct vpci_layout *l = mk(VPCI_CFG_SPACE_STD, 0);
    reg(l, 0, 0x04, 2, 0x0000, 0x0547, 0, 0);
    size_t r = blk(l, VPCI_BLOCK_RAW, 0, 0);
    reg(l, r, 0x40, 4, 0x11223344, 0, 0, 0x00ff0f00);
    reg(l, r, 0x44, 4, 0x55667788, 0xffffffff, 0, 0);
    reg(l, r, 0x50, 4, 0x00000000, 0x0000ffff, 0x00ff0000, 0x0f0f0f0f);
    return l;
}

START_TEST(test_phys_read_merge)
{
    struct vpci_layout *l = phys_layout();
    struct fake f = {0};
    memcpy(f.hw + 0x40, "\xdd\xcc\xbb\xaa", 4);
    struct vpci_emu *e = start(l, &f);

    EQX(rd(e, 0x40, 4), 0x11bb3c44);
    ck_assert_uint_eq(f.nread, 1);
    EQX(f.r_off, 0x40);
    EQX(f.r_size, 4);

    /* byte 0x40 has no phys bit: no hardware access */
    EQX(rd(e, 0x40, 1), 0x44);
    ck_assert_uint_eq(f.nread, 1);
    EQX(rd(e, 0x41, 1), 0x3c);
    ck_assert_uint_eq(f.nread, 2);
    EQX(f.r_off, 0x41);
    EQX(f.r_size, 1);
    EQX(rd(e, 0x42, 2), 0x11bb);
    ck_assert_uint_eq(f.nread, 3);
    EQX(f.r_off, 0x42);
    EQX(f.r_size, 2);
    EQX(rd(e, 0x43, 1), 0x11);
    ck_assert_uint_eq(f.nread, 3);

    /* hardware state changes show through at once */
    f.hw[0x42] = 0x00;
    EQX(rd(e, 0x40, 4), 0x11003c44);
    EQX(rd(e, 0x44, 4), 0x55667788);
    ck_assert_uint_eq(f.nread, 4);

    /* hardware gone: phys bits read 0, the read itself succeeds */
    f.read_rc = -EIO;
    EQX(rd(e, 0x40, 4), 0x11003044);
    EQX(rd(e, 0x41, 1), 0x30);
    ck_assert_uint_eq(f.nread, 6);
    vpci_emu_free(e);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_phys_write_forward)
{
    struct vpci_layout *l = phys_layout();
    struct fake f = {0};
    struct vpci_emu *e = start(l, &f);

    wr(e, 0x50, 4, 0xffffffff);
    ck_assert_uint_eq(f.nwrite, 1);
    EQX(f.w_off, 0x50);
    EQX(f.w_size, 4);
    EQX(f.w_val, 0xffffffff);
    EQX(f.w_mask, 0x000f0f0f);
    /* virtual rw bits stored, phys bits from hardware */
    EQX(rd(e, 0x50, 4), 0x000fffff);

    wr(e, 0x52, 2, 0x1234);
    ck_assert_uint_eq(f.nwrite, 2);
    EQX(f.w_off, 0x52);
    EQX(f.w_size, 2);
    EQX(f.w_val, 0x1234);
    EQX(f.w_mask, 0x000f);
    EQX(f.hw[0x52], 0x04);

    wr(e, 0x51, 1, 0xab);
    ck_assert_uint_eq(f.nwrite, 3);
    EQX(f.w_off, 0x51);
    EQX(f.w_size, 1);
    EQX(f.w_val, 0xab);
    EQX(f.w_mask, 0x0f);

    /* read-only phys and virtual-only bytes: nothing to forward */
    wr(e, 0x53, 1, 0xff);
    wr(e, 0x40, 4, 0xffffffff);
    wr(e, 0x44, 4, 0x01020304);
    ck_assert_uint_eq(f.nwrite, 3);
    EQX(rd(e, 0x44, 4), 0x01020304);

    /* w1c virtual bits (0x00f00000) cleared, phys w1c forwarded */
    vpci_emu_reset(e);
    f.write_rc = -EIO; /* a failing device does not fail the guest */
    wr(e, 0x52, 1, 0x10);
    ck_assert_uint_eq(f.nwrite, 4);
    EQX(f.w_mask, 0x0f);
    vpci_emu_free(e);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_phys_w1c_virtual)
{
    struct vpci_layout *l = mk(VPCI_CFG_SPACE_STD, 0);
    size_t r = blk(l, VPCI_BLOCK_RAW, 0, 0);
    reg(l, r, 0x60, 4, 0xffffffff, 0, 0xffff0000, 0xff00ff00);
    struct fake f = {0};
    memset(f.hw + 0x60, 0x5a, 4);
    struct vpci_emu *e = start(l, &f);

    EQX(rd(e, 0x60, 4), 0x5aff5aff);
    wr(e, 0x60, 4, 0x0f0f0f0f);
    EQX(f.w_mask, 0xff000000);
    EQX(f.w_val, 0x0f0f0f0f);
    /* byte 2 virtual w1c cleared 0x0f; byte 3 forwarded to the fake,
     * which stores it (it is not a w1c device) */
    EQX(rd(e, 0x60, 4), 0x0ff05aff);
    vpci_emu_free(e);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_phys_no_ops)
{
    struct vpci_layout *l = phys_layout();
    for (int variant = 0; variant < 2; variant++) {
        struct vpci_emu *e = NULL;
        static const struct vpci_emu_ops none = {NULL, NULL, NULL};
        ck_assert_int_eq(vpci_emu_new(l, variant ? &none : NULL, NULL, &e), 0);
        EQX(rd(e, 0x40, 4), 0x11003044);
        wr(e, 0x50, 4, 0xffffffff);
        EQX(rd(e, 0x50, 4), 0x0000f0f0);
        wr(e, 0x04, 2, 0x0006); /* no event handler: no crash */
        EQX(rd(e, 0x04, 2), 0x0006);
        vpci_emu_free(e);
    }
    vpci_layout_free(l);
}
END_TEST

/* ------------------------------------------------------------ BARs */

static void set_bar(struct vpci_layout *l, unsigned i, enum vpci_bar_type t,
                    bool prefetch, uint64_t size)
{
    l->bars[i].type = t;
    l->bars[i].prefetch = prefetch;
    l->bars[i].size = size;
}

static struct vpci_layout *bar_layout(void)
{
    struct vpci_layout *l = mk(VPCI_CFG_SPACE_STD, 0);
    set_bar(l, 0, VPCI_BAR_MEM32, false, 4096);
    set_bar(l, 1, VPCI_BAR_MEM32, true, 1u << 20);
    set_bar(l, 2, VPCI_BAR_MEM64, true, 32u << 20);
    set_bar(l, 4, VPCI_BAR_IO, false, 256);
    l->rom.size = 64 << 10;
    /* masks over BAR registers must not matter */
    reg(l, 0, 0x24, 4, 0xdeadbeef, 0xffffffff, 0, 0xffffffff);
    reg(l, 0, 0x14, 4, 0x12345678, 0xffffffff, 0, 0xffffffff);
    return l;
}

START_TEST(test_bar_reset_values)
{
    struct vpci_layout *l = bar_layout();
    struct fake f = {0};
    memset(f.hw, 0xff, sizeof(f.hw));
    struct vpci_emu *e = start(l, &f);
    EQX(rd(e, 0x10, 4), 0x00000000);
    EQX(rd(e, 0x14, 4), 0x00000008);
    EQX(rd(e, 0x18, 4), 0x0000000c);
    EQX(rd(e, 0x1c, 4), 0x00000000);
    EQX(rd(e, 0x20, 4), 0x00000001);
    EQX(rd(e, 0x24, 4), 0x00000000);
    EQX(rd(e, 0x30, 4), 0x00000000);
    check_sizes_agree(e, 0x10, 0x18);
    ck_assert_uint_eq(f.nread, 0);
    for (unsigned i = 0; i <= 7; i++)
        EQX(vpci_emu_bar_addr(e, i), 0);
    vpci_emu_free(e);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_bar_sizing)
{
    struct vpci_layout *l = bar_layout();
    struct fake f = {0};
    struct vpci_emu *e = start(l, &f);
    for (unsigned o = 0x10; o < 0x28; o += 4)
        wr(e, o, 4, 0xffffffff);
    wr(e, 0x30, 4, 0xffffffff);
    EQX(rd(e, 0x10, 4), 0xfffff000);
    EQX(rd(e, 0x14, 4), 0xfff00008);
    EQX(rd(e, 0x18, 4), 0xfe00000c);
    EQX(rd(e, 0x1c, 4), 0xffffffff);
    EQX(rd(e, 0x20, 4), 0xffffff01);
    EQX(rd(e, 0x24, 4), 0x00000000);
    EQX(rd(e, 0x30, 4), 0xffff0001);
    check_sizes_agree(e, 0x10, 0x18);
    wr(e, 0x30, 4, 0xfffff800);
    EQX(rd(e, 0x30, 4), 0xffff0000);
    ck_assert_uint_eq(f.nwrite + f.nread, 0);

    /* sizing is just programming an address: events say so */
    ck_assert_uint_eq(f.nev, 7);
    EQX(f.ev[0].kind, VPCI_EV_BAR);
    EQX(f.ev[0].a, 0);
    EQX(f.ev[0].b, 0xfffff000);
    EQX(f.ev[2].a, 2);
    EQX(f.ev[2].b, 0xfe000000);
    EQX(f.ev[3].a, 2);
    EQX(f.ev[3].b, 0xfffffffffe000000);
    EQX(f.ev[4].a, 4);
    EQX(f.ev[4].b, 0xffffff00);
    EQX(f.ev[5].a, 6);
    EQX(f.ev[5].b, 0xffff0001);
    EQX(f.ev[6].a, 6);
    EQX(f.ev[6].b, 0xffff0000);

    vpci_emu_reset(e);
    EQX(rd(e, 0x10, 4), 0x00000000);
    EQX(rd(e, 0x18, 4), 0x0000000c);
    EQX(rd(e, 0x1c, 4), 0x00000000);
    EQX(rd(e, 0x30, 4), 0x00000000);
    EQX(vpci_emu_bar_addr(e, 2), 0);
    vpci_emu_free(e);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_bar_64bit_large)
{
    struct vpci_layout *l = mk(VPCI_CFG_SPACE_STD, 0);
    set_bar(l, 0, VPCI_BAR_MEM64, true, 8ull << 30);
    set_bar(l, 2, VPCI_BAR_MEM64, false, 16);
    struct fake f = {0};
    struct vpci_emu *e = start(l, &f);
    EQX(rd(e, 0x10, 4), 0x0000000c);
    EQX(rd(e, 0x18, 4), 0x00000004);
    wr(e, 0x10, 4, 0xffffffff);
    EQX(rd(e, 0x10, 4), 0x0000000c);
    EQX(rd(e, 0x14, 4), 0x00000000);
    wr(e, 0x14, 4, 0xffffffff);
    EQX(rd(e, 0x10, 4), 0x0000000c);
    EQX(rd(e, 0x14, 4), 0xfffffffe);
    wr(e, 0x18, 4, 0xffffffff);
    wr(e, 0x1c, 4, 0xffffffff);
    EQX(rd(e, 0x18, 4), 0xfffffff4);
    EQX(rd(e, 0x1c, 4), 0xffffffff);

    wr(e, 0x14, 4, 0x00000043);
    wr(e, 0x10, 4, 0x2000000c); /* low bits below 8 GiB are dropped */
    EQX(vpci_emu_bar_addr(e, 0), 0x4200000000);
    EQX(vpci_emu_bar_addr(e, 1), 0);
    EQX(rd(e, 0x10, 4), 0x0000000c);
    EQX(rd(e, 0x14, 4), 0x00000042);
    vpci_emu_free(e);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_bar_program)
{
    struct vpci_layout *l = bar_layout();
    struct fake f = {0};
    struct vpci_emu *e = start(l, &f);

    wr(e, 0x10, 4, 0xfebf1abc);
    EQX(rd(e, 0x10, 4), 0xfebf1000);
    EQX(vpci_emu_bar_addr(e, 0), 0xfebf1000);
    ck_assert_uint_eq(f.nev, 1);
    EQX(f.ev[0].kind, VPCI_EV_BAR);
    EQX(f.ev[0].a, 0);
    EQX(f.ev[0].b, 0xfebf1000);
    wr(e, 0x10, 4, 0xfebf1000); /* same address: no event */
    ck_assert_uint_eq(f.nev, 1);

    /* byte-wise on the same register value */
    wr(e, 0x11, 1, 0x20);
    EQX(rd(e, 0x10, 4), 0xfebf2000);
    wr(e, 0x12, 2, 0xfec0);
    EQX(rd(e, 0x10, 4), 0xfec02000);
    EQX(rd(e, 0x12, 2), 0xfec0);
    EQX(rd(e, 0x11, 1), 0x20);
    wr(e, 0x10, 1, 0xff); /* type and sub-size bits only */
    EQX(rd(e, 0x10, 4), 0xfec02000);
    ck_assert_uint_eq(f.nev, 3);
    EQX(f.ev[2].b, 0xfec02000);

    wr(e, 0x18, 4, 0xc0000000);
    wr(e, 0x1c, 4, 0x00000038);
    EQX(rd(e, 0x18, 4), 0xc000000c);
    EQX(rd(e, 0x18, 1), 0x0c);
    EQX(rd(e, 0x1c, 4), 0x00000038);
    EQX(vpci_emu_bar_addr(e, 2), 0x38c0000000);
    EQX(vpci_emu_bar_addr(e, 3), 0);
    ck_assert_uint_eq(f.nev, 5);
    EQX(f.ev[4].a, 2);
    EQX(f.ev[4].b, 0x38c0000000);

    wr(e, 0x20, 4, 0x0000e0ff);
    EQX(rd(e, 0x20, 4), 0x0000e001);
    EQX(vpci_emu_bar_addr(e, 4), 0xe000);

    wr(e, 0x24, 4, 0x12345678); /* absent BAR */
    EQX(rd(e, 0x24, 4), 0);
    ck_assert_uint_eq(f.nev, 6);

    wr(e, 0x30, 4, 0xc0012345); /* enable, stray bits dropped */
    EQX(rd(e, 0x30, 4), 0xc0010001);
    EQX(vpci_emu_bar_addr(e, 6), 0xc0010000);
    ck_assert_uint_eq(f.nev, 7);
    EQX(f.ev[6].a, 6);
    EQX(f.ev[6].b, 0xc0010001);
    wr(e, 0x30, 1, 0x00); /* disable only */
    EQX(rd(e, 0x30, 4), 0xc0010000);
    ck_assert_uint_eq(f.nev, 8);
    EQX(f.ev[7].a, 6);
    EQX(f.ev[7].b, 0xc0010000);
    EQX(vpci_emu_bar_addr(e, 6), 0xc0010000);
    ck_assert_uint_eq(f.nwrite + f.nread, 0);
    vpci_emu_free(e);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_bar_type1)
{
    struct vpci_layout *l = mk(VPCI_CFG_SPACE_STD, 1);
    set_bar(l, 0, VPCI_BAR_MEM32, false, 16 << 10);
    set_bar(l, 1, VPCI_BAR_IO, false, 16);
    l->rom.size = 2048;
    reg(l, 0, 0x18, 4, 0x00000000, 0x00ffffff, 0, 0);
    reg(l, 0, 0x30, 4, 0x00000000, 0xffffffff, 0, 0);
    struct fake f = {0};
    struct vpci_emu *e = start(l, &f);

    EQX(rd(e, 0x14, 4), 0x00000001);
    for (unsigned o = 0x10; o < 0x3c; o += 4)
        wr(e, o, 4, 0xffffffff);
    EQX(rd(e, 0x10, 4), 0xffffc000);
    EQX(rd(e, 0x14, 4), 0xfffffff1);
    EQX(rd(e, 0x18, 4), 0x00ffffff); /* bus numbers: plain rw */
    EQX(rd(e, 0x30, 4), 0xffffffff); /* I/O base upper, not a ROM */
    EQX(rd(e, 0x38, 4), 0xfffff801);
    wr(e, 0x38, 4, 0x000a0000);
    EQX(rd(e, 0x38, 4), 0x000a0000);
    EQX(vpci_emu_bar_addr(e, 6), 0x000a0000);
    EQX(vpci_emu_bar_addr(e, 0), 0xffffc000);
    EQX(vpci_emu_bar_addr(e, 1), 0xfffffff0);
    vpci_emu_free(e);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_bar_no_rom)
{
    struct vpci_layout *l = mk(VPCI_CFG_SPACE_STD, 0);
    reg(l, 0, 0x30, 4, 0x12345678, 0xffffffff, 0, 0);
    struct fake f = {0};
    struct vpci_emu *e = start(l, &f);
    EQX(rd(e, 0x30, 4), 0);
    wr(e, 0x30, 4, 0xffffffff);
    EQX(rd(e, 0x30, 4), 0);
    EQX(vpci_emu_bar_addr(e, 6), 0);
    ck_assert_uint_eq(f.nev, 0);
    vpci_emu_free(e);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_bar_bad_geometry)
{
    struct {
        unsigned ht, i;
        enum vpci_bar_type t;
        uint64_t size;
        uint32_t rom;
    } bad[] = {
        {0, 5, VPCI_BAR_MEM64, 4096, 0}, /* no upper half */
        {1, 1, VPCI_BAR_MEM64, 4096, 0}, {0, 0, VPCI_BAR_MEM32, 3000, 0},
        {0, 0, VPCI_BAR_MEM32, 8, 0},    {0, 0, VPCI_BAR_IO, 2, 0},
        {0, 0, VPCI_BAR_MEM32, 0, 0},    {0, 0, (enum vpci_bar_type)9, 4096, 0},
        {0, 0, VPCI_BAR_NONE, 0, 1024},  {0, 0, VPCI_BAR_NONE, 0, 3 << 11},
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        struct vpci_layout *l = mk(VPCI_CFG_SPACE_STD, bad[k].ht);
        set_bar(l, bad[k].i, bad[k].t, false, bad[k].size);
        l->rom.size = bad[k].rom;
        struct vpci_emu *e = (struct vpci_emu *)&bad[k];
        ck_assert_msg(vpci_emu_new(l, NULL, NULL, &e) == -EINVAL, "case %zu",
                      k);
        ck_assert_ptr_eq(e, (struct vpci_emu *)&bad[k]);
        vpci_layout_free(l);
    }
    /* mem64 whose upper half is claimed by another BAR */
    struct vpci_layout *l = mk(VPCI_CFG_SPACE_STD, 0);
    set_bar(l, 0, VPCI_BAR_MEM64, false, 4096);
    set_bar(l, 1, VPCI_BAR_MEM32, false, 4096);
    struct vpci_emu *e = NULL;
    ck_assert_int_eq(vpci_emu_new(l, NULL, NULL, &e), -EINVAL);
    ck_assert_ptr_null(e);
    vpci_layout_free(l);
}
END_TEST

/* ------------------------------------------------------------ events */

START_TEST(test_ev_command)
{
    struct vpci_layout *l = mk(VPCI_CFG_SPACE_STD, 0);
    reg(l, 0, 0x04, 2, 0x0000, 0x0547, 0, 0x0004);
    reg(l, 0, 0x06, 2, 0x0110, 0, 0xf900, 0);
    struct fake f = {0};
    struct vpci_emu *e = start(l, &f);

    wr(e, 0x04, 2, 0x0002);
    ck_assert_uint_eq(f.nev, 1);
    EQX(f.ev[0].kind, VPCI_EV_COMMAND);
    EQX(f.ev[0].a, 0x0000);
    EQX(f.ev[0].b, 0x0002);
    ck_assert_uint_eq(f.nwrite, 1); /* bus master bit is forwarded */
    EQX(f.w_mask, 0x0004);
    EQX(f.w_val, 0x0002);

    wr(e, 0x04, 2, 0x0002);
    ck_assert_uint_eq(f.nev, 1);
    wr(e, 0x04, 2, 0xf802); /* bits outside rw */
    ck_assert_uint_eq(f.nev, 1);

    /* phys bit in the event view: what the guest wrote */
    wr(e, 0x04, 1, 0x06);
    ck_assert_uint_eq(f.nev, 2);
    EQX(f.ev[1].a, 0x0002);
    EQX(f.ev[1].b, 0x0006);
    EQX(f.hw[0x04], 0x04);
    EQX(rd(e, 0x04, 2), 0x0006);

    wr(e, 0x05, 1, 0x01);
    ck_assert_uint_eq(f.nev, 3);
    EQX(f.ev[2].a, 0x0006);
    EQX(f.ev[2].b, 0x0106);

    /* status w1c in the same dword: no command event */
    wr(e, 0x04, 4, 0x01000106);
    ck_assert_uint_eq(f.nev, 3);
    EQX(rd(e, 0x04, 4), 0x00100106);
    wr(e, 0x06, 2, 0xffff);
    ck_assert_uint_eq(f.nev, 3);
    wr(e, 0x04, 4, 0x00000000);
    ck_assert_uint_eq(f.nev, 4);
    EQX(f.ev[3].a, 0x0106);
    EQX(f.ev[3].b, 0x0000);
    vpci_emu_free(e);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_ev_msi)
{
    struct vpci_layout *l = mk(VPCI_CFG_SPACE_STD, 0);
    size_t c = blk(l, VPCI_BLOCK_CAP, 0x50, 0x05);
    reg(l, c, 0x02, 2, 0x0080, 0x0071, 0, 0);
    reg(l, c, 0x04, 4, 0, 0xfffffffc, 0, 0);
    struct fake f = {0};
    struct vpci_emu *e = start(l, &f);
    EQX(rd(e, 0x50, 4), 0x00800005);

    wr(e, 0x52, 2, 0x0081);
    ck_assert_uint_eq(f.nev, 1);
    EQX(f.ev[0].kind, VPCI_EV_MSI_ENABLE);
    EQX(f.ev[0].a, 1);
    wr(e, 0x52, 2, 0x0081);
    wr(e, 0x52, 2, 0x0091); /* MME only */
    wr(e, 0x54, 4, 0xfee00000);
    ck_assert_uint_eq(f.nev, 1);
    EQX(rd(e, 0x50, 4), 0x00910005);
    wr(e, 0x50, 4, 0x00900000);
    ck_assert_uint_eq(f.nev, 2);
    EQX(f.ev[1].kind, VPCI_EV_MSI_ENABLE);
    EQX(f.ev[1].a, 0);
    wr(e, 0x52, 1, 0x01);
    ck_assert_uint_eq(f.nev, 3);
    EQX(f.ev[2].a, 1);
    vpci_emu_free(e);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_ev_msix)
{
    struct vpci_layout *l = mk(VPCI_CFG_SPACE_STD, 0);
    size_t c = blk(l, VPCI_BLOCK_CAP, 0x70, 0x11);
    reg(l, c, 0x02, 2, 0x0007, 0xc000, 0, 0);
    struct fake f = {0};
    struct vpci_emu *e = start(l, &f);

    static const struct {
        uint32_t w, a, b;
        bool ev;
    } steps[] = {
        {0x8000, 1, 0, true},  {0xc000, 1, 1, true}, {0x4000, 0, 1, true},
        {0x4000, 0, 0, false}, {0x3fff, 0, 0, true}, {0x0000, 0, 0, false},
    };
    size_t n = 0;
    for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
        wr(e, 0x72, 2, steps[k].w);
        if (steps[k].ev) {
            n++;
            ck_assert_msg(f.nev == n, "step %zu: %zu events", k, f.nev);
            EQX(f.ev[n - 1].kind, VPCI_EV_MSIX_ENABLE);
            EQX(f.ev[n - 1].a, steps[k].a);
            EQX(f.ev[n - 1].b, steps[k].b);
        }
        ck_assert_msg(f.nev == n, "step %zu: %zu events", k, f.nev);
        EQX(rd(e, 0x72, 2), (steps[k].w & 0xc000) | 0x0007);
    }
    wr(e, 0x73, 1, 0x80);
    ck_assert_uint_eq(f.nev, n + 1);
    EQX(f.ev[n].a, 1);
    EQX(f.ev[n].b, 0);
    vpci_emu_free(e);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_ev_pm)
{
    struct vpci_layout *l = mk(VPCI_CFG_SPACE_STD, 0);
    size_t c = blk(l, VPCI_BLOCK_CAP, 0x40, 0x01);
    reg(l, c, 0x02, 2, 0x0003, 0, 0, 0);
    reg(l, c, 0x04, 2, 0x8008, 0x0103, 0x8000, 0);
    struct fake f = {0};
    struct vpci_emu *e = start(l, &f);

    wr(e, 0x44, 2, 0x0003);
    ck_assert_uint_eq(f.nev, 1);
    EQX(f.ev[0].kind, VPCI_EV_PM_STATE);
    EQX(f.ev[0].a, 0);
    EQX(f.ev[0].b, 3);
    EQX(rd(e, 0x44, 2), 0x800b);
    wr(e, 0x44, 2, 0x8003); /* PME status cleared, state unchanged */
    ck_assert_uint_eq(f.nev, 1);
    EQX(rd(e, 0x44, 2), 0x000b);
    wr(e, 0x44, 4, 0x00000100);
    ck_assert_uint_eq(f.nev, 2);
    EQX(f.ev[1].a, 3);
    EQX(f.ev[1].b, 0);
    wr(e, 0x45, 1, 0x00);
    ck_assert_uint_eq(f.nev, 2);
    wr(e, 0x44, 1, 0x02);
    ck_assert_uint_eq(f.nev, 3);
    EQX(f.ev[2].a, 0);
    EQX(f.ev[2].b, 2);
    vpci_emu_free(e);
    vpci_layout_free(l);

    /* state bits not rw: a write cannot change the state */
    l = mk(VPCI_CFG_SPACE_STD, 0);
    c = blk(l, VPCI_BLOCK_CAP, 0x40, 0x01);
    reg(l, c, 0x04, 2, 0x0008, 0x0100, 0, 0);
    memset(&f, 0, sizeof(f));
    e = start(l, &f);
    wr(e, 0x44, 2, 0x0003);
    ck_assert_uint_eq(f.nev, 0);
    EQX(rd(e, 0x44, 2), 0x0008);
    vpci_emu_free(e);
    vpci_layout_free(l);
}
END_TEST

static struct vpci_layout *flr_layout(bool flr_rw)
{
    struct vpci_layout *l = mk(VPCI_CFG_SPACE_STD, 0);
    reg(l, 0, 0x04, 2, 0x0000, 0x0547, 0, 0);
    set_bar(l, 0, VPCI_BAR_MEM32, false, 4096);
    l->rom.size = 4096;
    size_t c = blk(l, VPCI_BLOCK_CAP, 0x80, 0x10);
    reg(l, c, 0x04, 4, 0x10008fc0, 0, 0, 0);
    reg(l, c, 0x08, 2, 0x2810, flr_rw ? 0xffff : 0x7fff, 0, 0);
    reg(l, c, 0x0a, 2, 0x0000, 0, 0x000f, 0);
    return l;
}

START_TEST(test_ev_flr_pcie)
{
    struct vpci_layout *l = flr_layout(true);
    struct fake f = {0};
    struct vpci_emu *e = start(l, &f);

    wr(e, 0x04, 2, 0x0006);
    wr(e, 0x10, 4, 0xd0000000);
    wr(e, 0x30, 4, 0xd1000001);
    wr(e, 0x88, 2, 0x2830);
    EQX(rd(e, 0x88, 2), 0x2830);
    ck_assert_uint_eq(f.nev, 3);

    wr(e, 0x89, 1, 0xa8);
    ck_assert_uint_eq(f.nev, 4);
    EQX(f.ev[3].kind, VPCI_EV_FLR);
    /* the handler already sees the reset state */
    EQX(f.cmd_in_cb[3], 0x0000);
    EQX(rd(e, 0x88, 2), 0x2810);
    EQX(rd(e, 0x04, 2), 0x0000);
    EQX(rd(e, 0x10, 4), 0x00000000);
    EQX(rd(e, 0x30, 4), 0x00000000);
    EQX(vpci_emu_bar_addr(e, 0), 0);
    EQX(vpci_emu_bar_addr(e, 6), 0);

    /* a dword write covering the bit counts too */
    wr(e, 0x04, 2, 0x0002);
    wr(e, 0x88, 4, 0x00008000);
    ck_assert_uint_eq(f.nev, 6);
    EQX(f.ev[5].kind, VPCI_EV_FLR);
    EQX(rd(e, 0x04, 2), 0x0000);
    EQX(rd(e, 0x88, 2), 0x2810);
    /* writing 0 there is no request */
    wr(e, 0x88, 2, 0x2810);
    wr(e, 0x8a, 2, 0xffff); /* device status, not control */
    ck_assert_uint_eq(f.nev, 6);
    vpci_emu_free(e);
    vpci_layout_free(l);

    l = flr_layout(false);
    memset(&f, 0, sizeof(f));
    e = start(l, &f);
    wr(e, 0x04, 2, 0x0006);
    wr(e, 0x88, 2, 0xa830);
    ck_assert_uint_eq(f.nev, 1);
    EQX(f.ev[0].kind, VPCI_EV_COMMAND);
    EQX(rd(e, 0x04, 2), 0x0006);
    EQX(rd(e, 0x88, 2), 0x2830);
    vpci_emu_free(e);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_ev_flr_af)
{
    for (int rw = 0; rw < 2; rw++) {
        struct vpci_layout *l = mk(VPCI_CFG_SPACE_STD, 0);
        reg(l, 0, 0x04, 2, 0x0000, 0x0547, 0, 0);
        size_t c = blk(l, VPCI_BLOCK_CAP, 0x60, 0x13);
        reg(l, c, 0x02, 1, 0x06, 0, 0, 0);
        reg(l, c, 0x03, 1, 0x03, 0, 0, 0);
        reg(l, c, 0x04, 1, 0x00, rw ? 0x01 : 0x00, 0, 0);
        struct fake f = {0};
        struct vpci_emu *e = start(l, &f);
        wr(e, 0x04, 2, 0x0002);
        wr(e, 0x64, 1, 0x01);
        if (rw) {
            ck_assert_uint_eq(f.nev, 2);
            EQX(f.ev[1].kind, VPCI_EV_FLR);
            EQX(rd(e, 0x04, 2), 0x0000);
        } else {
            ck_assert_uint_eq(f.nev, 1);
            EQX(rd(e, 0x04, 2), 0x0002);
        }
        EQX(rd(e, 0x64, 1), 0x00);
        EQX(rd(e, 0x60, 4), 0x03060013);
        vpci_emu_free(e);
        vpci_layout_free(l);
    }
}
END_TEST

/* ------------------------------------------------------------ invalid */

START_TEST(test_invalid_access)
{
    struct vpci_layout *l = mk(VPCI_CFG_SPACE_STD, 0);
    size_t r = blk(l, VPCI_BLOCK_RAW, 0, 0);
    reg(l, r, 0x40, 4, 0x11223344, 0xffffffff, 0, 0);
    reg(l, r, 0xfc, 4, 0x55667788, 0xffffffff, 0, 0);
    struct fake f = {0};
    struct vpci_emu *e = start(l, &f);

    static const struct {
        unsigned off, size;
    } bad[] = {
        {0x40, 0},  {0x40, 3},   {0x40, 5},   {0x40, 8},  {0x41, 2},
        {0x42, 4},  {0x41, 4},   {0x43, 2},   {0x100, 1}, {0x100, 4},
        {0xfff, 1}, {0xfffc, 4}, {0xffff, 1}, {0xfe, 4},
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        uint32_t v = 0x5a5a5a5a;
        ck_assert_msg(vpci_emu_read(e, (uint16_t)bad[k].off, bad[k].size, &v) ==
                          -EINVAL,
                      "read case %zu", k);
        EQX(v, 0x5a5a5a5a);
        ck_assert_msg(vpci_emu_write(e, (uint16_t)bad[k].off, bad[k].size, 0) ==
                          -EINVAL,
                      "write case %zu", k);
    }
    EQX(rd(e, 0x40, 4), 0x11223344);
    EQX(rd(e, 0xfc, 4), 0x55667788);
    EQX(rd(e, 0xff, 1), 0x55);

    uint32_t v;
    ck_assert_int_eq(vpci_emu_read(NULL, 0, 4, &v), -EINVAL);
    ck_assert_int_eq(vpci_emu_read(e, 0, 4, NULL), -EINVAL);
    ck_assert_int_eq(vpci_emu_write(NULL, 0, 4, 0), -EINVAL);
    EQX(vpci_emu_bar_addr(NULL, 0), 0);
    EQX(vpci_emu_bar_addr(e, 7), 0);
    vpci_emu_reset(NULL);
    vpci_emu_free(NULL);
    vpci_emu_free(e);

    struct vpci_emu *sentinel = (struct vpci_emu *)&f;
    e = sentinel;
    ck_assert_int_eq(vpci_emu_new(NULL, NULL, NULL, &e), -EINVAL);
    ck_assert_int_eq(vpci_emu_new(l, NULL, NULL, NULL), -EINVAL);
    l->space = 512;
    ck_assert_int_eq(vpci_emu_new(l, NULL, NULL, &e), -EINVAL);
    ck_assert_ptr_eq(e, sentinel);
    l->space = VPCI_CFG_SPACE_STD;
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_ext_space_bounds)
{
    struct vpci_layout *l = mk(VPCI_CFG_SPACE_EXT, 0);
    size_t r = blk(l, VPCI_BLOCK_RAW, 0, 0);
    reg(l, r, 0xffc, 4, 0xcafef00d, 0xffff0000, 0, 0);
    struct fake f = {0};
    struct vpci_emu *e = start(l, &f);
    EQX(rd(e, 0xffc, 4), 0xcafef00d);
    wr(e, 0xffe, 2, 0x1234);
    EQX(rd(e, 0xffc, 4), 0x1234f00d);
    EQX(rd(e, 0xfff, 1), 0x12);
    uint32_t v;
    ck_assert_int_eq(vpci_emu_read(e, 0x1000, 1, &v), -EINVAL);
    ck_assert_int_eq(vpci_emu_write(e, 0x1000, 4, 0), -EINVAL);
    vpci_emu_free(e);
    vpci_layout_free(l);
}
END_TEST

/* ------------------------------------------------------------ random */

/*
 * A byte-at-a-time model of the per-bit rules, written from the
 * description rather than from emu.c, driven by the same accesses.
 */
struct ref {
    unsigned space;
    uint8_t val[VPCI_CFG_SPACE_EXT], rw[VPCI_CFG_SPACE_EXT];
    uint8_t w1c[VPCI_CFG_SPACE_EXT], phys[VPCI_CFG_SPACE_EXT];
    uint8_t cur[VPCI_CFG_SPACE_EXT], hw[VPCI_CFG_SPACE_EXT];
    uint8_t guest_cmd[2]; /* command as the guest wrote it */
};

static bool ref_is_bar(unsigned o)
{
    return (o >= 0x10 && o < 0x28) || (o >= 0x30 && o < 0x34);
}

static uint32_t ref_read(const struct ref *m, unsigned off, unsigned size,
                         bool *ret_phys)
{
    uint32_t v = 0;
    *ret_phys = false;
    for (unsigned i = 0; i < size; i++) {
        unsigned o = off + i;
        uint8_t b = 0;
        if (!ref_is_bar(o)) {
            b = (uint8_t)((m->cur[o] & ~m->phys[o]) | (m->hw[o] & m->phys[o]));
            if (m->phys[o])
                *ret_phys = true;
        }
        v |= (uint32_t)b << (8 * i);
    }
    return v;
}

/* Returns the mask forwarded to hardware. */
static uint32_t ref_write(struct ref *m, unsigned off, unsigned size,
                          uint32_t val)
{
    uint32_t fwd = 0;
    for (unsigned i = 0; i < size; i++) {
        unsigned o = off + i;
        if (ref_is_bar(o))
            continue;
        uint8_t v = (uint8_t)(val >> (8 * i));
        uint8_t vrw = (uint8_t)(m->rw[o] & ~m->phys[o]);
        uint8_t vw1c = (uint8_t)(m->w1c[o] & ~m->phys[o]);
        uint8_t f = (uint8_t)((m->rw[o] | m->w1c[o]) & m->phys[o]);
        m->cur[o] = (uint8_t)((m->cur[o] & ~vrw) | (v & vrw));
        m->cur[o] = (uint8_t)(m->cur[o] & ~(v & vw1c));
        m->hw[o] = (uint8_t)((m->hw[o] & ~f) | (v & f));
        fwd |= (uint32_t)f << (8 * i);
        if (o == 0x04 || o == 0x05) {
            uint8_t *g = &m->guest_cmd[o - 0x04];
            *g = (uint8_t)((*g & ~m->rw[o]) | (v & m->rw[o]));
            *g = (uint8_t)(*g & ~(v & m->w1c[o]));
        }
    }
    return fwd;
}

static void ref_reset(struct ref *m)
{
    memcpy(m->cur, m->val, sizeof(m->cur));
    memcpy(m->guest_cmd, m->val + 4, 2);
}

/* Mask bytes in the flavours a real layout mixes, dword by dword, so the
 * emulator's per-dword fast paths all get exercised. */
static void ref_fill(struct ref *m, unsigned end)
{
    for (unsigned d = 0; d < end / 4; d++) {
        unsigned mode = tu_rand() % 6;
        for (unsigned i = 0; i < 4; i++) {
            unsigned o = 4 * d + i;
            uint8_t rw = 0, w1c = 0, phys = 0;
            switch (mode) {
            case 1:
                rw = (uint8_t)tu_rand();
                break;
            case 2:
                rw = (uint8_t)tu_rand();
                w1c = (uint8_t)(tu_rand() & ~rw);
                break;
            case 3:
                phys = (uint8_t)(tu_rand() & tu_rand());
                rw = (uint8_t)tu_rand();
                w1c = (uint8_t)(tu_rand() & ~rw);
                break;
            case 4:
                phys = (uint8_t)tu_rand();
                rw = (uint8_t)(tu_rand() & tu_rand());
                w1c = (uint8_t)(tu_rand() & tu_rand() & ~rw);
                break;
            default:
                break;
            }
            m->val[o] = (uint8_t)tu_rand();
            m->rw[o] = rw;
            m->w1c[o] = w1c;
            m->phys[o] = phys;
        }
    }
}

static void run_differential(uint64_t seed, unsigned space, unsigned nops)
{
    static struct ref m;
    static struct fake f;
    memset(&m, 0, sizeof(m));
    memset(&f, 0, sizeof(f));
    tu_srand((uint32_t)(seed ^ (seed >> 32)));
    m.space = space;
    /* the top quarter stays undescribed: the safe default */
    unsigned described = space - space / 4;
    ref_fill(&m, described);
    for (unsigned o = 0; o < space; o++)
        f.hw[o] = m.hw[o] = (uint8_t)tu_rand();

    struct vpci_layout *l = mk(space, 0);
    ck_assert_int_eq(
        vpci_block_add_bytes(&l->blocks[0], 0, 64, m.val, m.rw, m.w1c, m.phys),
        0);
    size_t r = blk(l, VPCI_BLOCK_RAW, 0, 0);
    ck_assert_int_eq(vpci_block_add_bytes(&l->blocks[r], 64, described - 64,
                                          m.val + 64, m.rw + 64, m.w1c + 64,
                                          m.phys + 64),
                     0);
    ref_reset(&m);
    struct vpci_emu *e = start(l, &f);

    static const unsigned sizes[] = {1, 2, 4};
    for (unsigned n = 0; n < nops; n++) {
        unsigned op = tu_rand() % 100;
        unsigned size = sizes[tu_rand() % 3];
        /* bias towards the interesting low offsets */
        unsigned lim = (tu_rand() & 1) ? 0x80 : space;
        unsigned off = (tu_rand() % lim) & ~(size - 1);
        unsigned nr = f.nread, nw = f.nwrite;
        size_t nev = f.nev;

        if (op < 45) {
            bool phys;
            uint32_t want = ref_read(&m, off, size, &phys);
            uint32_t got = rd(e, off, size);
            ck_assert_msg(got == want,
                          "seed %" PRIu64 " op %u: read %#x/%u = %#x, "
                          "expected %#x",
                          seed, n, off, size, got, want);
            ck_assert_msg(f.nread == nr + (phys ? 1u : 0u),
                          "seed %" PRIu64 " op %u: read %#x/%u: %u hw reads",
                          seed, n, off, size, f.nread - nr);
        } else if (op < 93) {
            uint32_t v = tu_rand();
            if (size < 4)
                v &= (1u << (8 * size)) - 1;
            uint16_t old_cmd = (uint16_t)(m.guest_cmd[0] | m.guest_cmd[1] << 8);
            uint32_t fwd = ref_write(&m, off, size, v);
            wr(e, off, size, v);
            ck_assert_msg(f.nwrite == nw + (fwd ? 1u : 0u),
                          "seed %" PRIu64 " op %u: write %#x/%u: %u hw writes",
                          seed, n, off, size, f.nwrite - nw);
            if (fwd) {
                ck_assert_msg(f.w_off == off && f.w_size == size &&
                                  f.w_val == v && f.w_mask == fwd,
                              "seed %" PRIu64 " op %u: forwarded %#x/%u "
                              "val %#x mask %#x, expected %#x/%u %#x %#x",
                              seed, n, f.w_off, f.w_size, f.w_val, f.w_mask,
                              off, size, v, fwd);
            }
            uint16_t new_cmd = (uint16_t)(m.guest_cmd[0] | m.guest_cmd[1] << 8);
            if (old_cmd != new_cmd) {
                ck_assert_uint_eq(f.nev, nev + 1);
                EQX(f.ev[nev].kind, VPCI_EV_COMMAND);
                EQX(f.ev[nev].a, old_cmd);
                EQX(f.ev[nev].b, new_cmd);
                f.nev = 0;
            } else {
                ck_assert_msg(f.nev == nev, "seed %" PRIu64 " op %u: event",
                              seed, n);
            }
        } else if (op < 96) {
            /* the device changes state on its own */
            unsigned o = tu_rand() % space;
            f.hw[o] = m.hw[o] = (uint8_t)tu_rand();
        } else if (op < 99) {
            /* bad accesses change nothing */
            unsigned boff = off | 1;
            uint32_t v = 0;
            ck_assert_int_eq(vpci_emu_write(e, (uint16_t)boff, 4, tu_rand()),
                             -EINVAL);
            ck_assert_int_eq(vpci_emu_read(e, (uint16_t)off, 3, &v), -EINVAL);
            ck_assert_uint_eq(f.nwrite, nw);
        } else {
            vpci_emu_reset(e);
            ref_reset(&m);
        }
    }
    for (unsigned o = 0; o < space; o += 4) {
        bool phys;
        EQX(rd(e, o, 4), ref_read(&m, o, 4, &phys));
    }
    vpci_emu_free(e);
    vpci_layout_free(l);
}

START_TEST(test_random_std)
{
    run_differential(0x9e3779b97f4a7c15ull + (uint64_t)_i, 256, 20000);
}
END_TEST

START_TEST(test_random_ext)
{
    run_differential(0xd1b54a32d192ed03ull + (uint64_t)_i, 4096, 20000);
}
END_TEST

/* The model must be able to disagree: a broken emulator is caught. */
START_TEST(test_random_model_sensitive)
{
    static struct ref m;
    memset(&m, 0, sizeof(m));
    m.rw[0x40] = 0x0f;
    m.w1c[0x40] = 0xf0;
    m.phys[0x40] = 0x3c;
    m.cur[0x40] = 0xff;
    m.hw[0x40] = 0x00;
    bool phys;
    EQX(ref_read(&m, 0x40, 1, &phys), 0xc3);
    ck_assert(phys);
    EQX(ref_write(&m, 0x40, 1, 0xa5), 0x3c);
    EQX(m.cur[0x40], 0x7d);
    EQX(m.hw[0x40], 0x24);
    EQX(ref_read(&m, 0x40, 1, &phys), 0x65);
    EQX(ref_read(&m, 0x10, 4, &phys), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("emu");
    TCase *tc;

    tc = tcase_create("masks");
    tcase_add_test(tc, test_ro_values);
    tcase_add_test(tc, test_ro_ignores_writes);
    tcase_add_test(tc, test_rw_store_and_reset);
    tcase_add_test(tc, test_w1c);
    tcase_add_test(tc, test_undescribed);
    suite_add_tcase(s, tc);

    tc = tcase_create("phys");
    tcase_add_test(tc, test_phys_read_merge);
    tcase_add_test(tc, test_phys_write_forward);
    tcase_add_test(tc, test_phys_w1c_virtual);
    tcase_add_test(tc, test_phys_no_ops);
    suite_add_tcase(s, tc);

    tc = tcase_create("bars");
    tcase_add_test(tc, test_bar_reset_values);
    tcase_add_test(tc, test_bar_sizing);
    tcase_add_test(tc, test_bar_64bit_large);
    tcase_add_test(tc, test_bar_program);
    tcase_add_test(tc, test_bar_type1);
    tcase_add_test(tc, test_bar_no_rom);
    tcase_add_test(tc, test_bar_bad_geometry);
    suite_add_tcase(s, tc);

    tc = tcase_create("events");
    tcase_add_test(tc, test_ev_command);
    tcase_add_test(tc, test_ev_msi);
    tcase_add_test(tc, test_ev_msix);
    tcase_add_test(tc, test_ev_pm);
    tcase_add_test(tc, test_ev_flr_pcie);
    tcase_add_test(tc, test_ev_flr_af);
    suite_add_tcase(s, tc);

    tc = tcase_create("invalid");
    tcase_add_test(tc, test_invalid_access);
    tcase_add_test(tc, test_ext_space_bounds);
    suite_add_tcase(s, tc);

    tc = tcase_create("random");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_random_std, 0, 4);
    tcase_add_loop_test(tc, test_random_ext, 0, 4);
    tcase_add_test(tc, test_random_model_sensitive);
    suite_add_tcase(s, tc);

    return tu_run(s);
}
