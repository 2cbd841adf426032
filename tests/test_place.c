/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Placement: busy maps of real devices (capabilities over their length,
 * quirk ranges), and a virtual PASID placed on reference layouts at
 * QEMU's 0xff8 or the next free offset, with its anchor, chain position,
 * registers and exact refusals.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define VF "../../data/layouts/nic-vf-82576.vpci"
#define DSA_LAYOUT "../../data/layouts/accel-dsa-pasid.vpci"
#define NVME "../../data/layouts/nvme-samsung-a808.vpci"
#define IGB4 "dumps/intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k.lspci"
#define PLX "dumps/plx-pex8532-switch-10b5-8532-vc-pat-4k.lspci"
#define QUADRO "dumps/nvidia-quadro-k2200-10de-13ba-256b.lspci"

/* ------------------------------------------------------------ helpers */

/* Busy map of the first device of a dump (quirks may be NULL). */
static uint8_t *dump_busy(const char *rel, const struct vpci_quirks *q)
{
    size_t n;
    struct vpci_dump_dev *d = tu_dumps(rel, &n);
    struct vpci_device dev = {.cfg = d[0].cfg, .size = d[0].size};
    uint8_t *busy = calloc(1, VPCI_CFG_SPACE_EXT);
    ck_assert_ptr_nonnull(busy);
    ck_assert_int_eq(vpci_device_busy(&dev, q, busy), 0);
    free(d);
    return busy;
}

static struct vpci_quirks *quirks(const char *text)
{
    struct vpci_quirks *q = NULL;
    struct vpci_error err = {0};
    int r = vpci_quirks_parse(text, strlen(text), &q, &err);
    ck_assert_msg(r == 0, "quirks: %s", err.msg);
    return q;
}

/* Runs of busy bytes as "000-047 050-067 ...". */
static void runs(const uint8_t *busy, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (unsigned a = 0; a < VPCI_CFG_SPACE_EXT; a++) {
        if (!busy[a] || (a && busy[a - 1]))
            continue;
        unsigned e = a;
        while (e + 1 < VPCI_CFG_SPACE_EXT && busy[e + 1])
            e++;
        len += (size_t)snprintf(buf + len, n - len, "%s%03x-%03x",
                                len ? " " : "", a, e);
    }
}

static const struct vpci_block *last_ecap(const struct vpci_layout *l)
{
    const struct vpci_block *b = NULL;
    for (size_t i = 1; i < l->nblocks; i++)
        if (l->blocks[i].kind == VPCI_BLOCK_ECAP)
            b = &l->blocks[i];
    return b;
}

static void place_ok(struct vpci_layout *l, const struct vpci_place_opts *o,
                     unsigned want_off)
{
    uint16_t off = 0;
    struct vpci_error err = {0};
    int r = vpci_layout_place_pasid(l, o, &off, &err);
    ck_assert_msg(r == 0, "place failed (%d): %s", r, err.msg);
    EQX(off, want_off);
    memset(&err, 0, sizeof(err));
    ck_assert_msg(vpci_layout_validate(l, &err) == 0,
                  "placed layout does not validate: %s", err.msg);
    const struct vpci_block *b = last_ecap(l);
    EQX(b->id, 0x1b);
    EQX(b->off, want_off);
    EQX(b->version, 1);
}

/* The VF layout with PASID placed at auto against the one busy map busy:
 * it lands at want_off.  The layout is the caller's. */
static struct vpci_layout *place_auto_vf(const uint8_t *busy, unsigned want_off)
{
    struct vpci_layout *l = tu_layout(VF);
    const uint8_t *maps[] = {busy};
    struct vpci_place_opts o = {.at = -1, .busy = maps, .nbusy = 1};
    place_ok(l, &o, want_off);
    return l;
}

static void place_fails(struct vpci_layout *l, const struct vpci_place_opts *o,
                        const char *msg)
{
    size_t before = l->nblocks;
    uint16_t off = 0x1234;
    struct vpci_error err = {0};
    ck_assert_int_eq(vpci_layout_place_pasid(l, o, &off, &err), -EINVAL);
    ck_assert_str_eq(err.msg, msg);
    EQX(off, 0x1234); /* ret_off only on success */
    ck_assert_uint_eq(l->nblocks, before);
}

/* ------------------------------------------------------------ busy maps */

START_TEST(test_busy_82576)
{
    char buf[256];
    uint8_t *busy = dump_busy(IGB4, NULL);
    runs(busy, buf, sizeof(buf));
    /* header, pm 0x40, msi 0x50, msix 0x70, pcie 0xa0; aer 0x100 (0x2c),
     * dsn 0x140 (12), ari 0x150 (8), sr-iov 0x160 (0x40) */
    ck_assert_str_eq(buf, "000-047 050-067 070-07b 0a0-0db 100-12b 140-14b "
                          "150-157 160-19f");
    free(busy);
}
END_TEST

START_TEST(test_busy_plx_aer_high)
{
    char buf[256];
    uint8_t *busy = dump_busy(PLX, NULL);
    runs(busy, buf, sizeof(buf));
    ck_assert_str_eq(buf, "000-055 068-08b 100-10b 138-187 fb4-fdf");
    free(busy);
}
END_TEST

START_TEST(test_busy_quirk_ranges)
{
    char buf[256];
    struct vpci_quirks *q = quirks("device 8086:10c9\n"
                                   "  keep 0xff8 8\n"
                                   "  pasid 0x800\n"
                                   "device 8086:10ca\n"
                                   "  keep 0x200 4\n");
    uint8_t *busy = dump_busy(IGB4, q);
    runs(busy, buf, sizeof(buf));
    /* the PF's quirk only: keep 0xff8+8 and 8 bytes of PASID at 0x800 */
    ck_assert_str_eq(buf, "000-047 050-067 070-07b 0a0-0db 100-12b 140-14b "
                          "150-157 160-19f 800-807 ff8-fff");
    free(busy);
    vpci_quirks_free(q);
}
END_TEST

START_TEST(test_busy_stops_at_size)
{
    struct vpci_quirks *q = quirks("device 10de:13ba\n  keep 0x100 16\n");
    size_t n;
    struct vpci_dump_dev *d = tu_dumps(QUADRO, &n);
    ck_assert_uint_eq(d[0].size, 256);
    struct vpci_device dev = {.cfg = d[0].cfg, .size = d[0].size};
    uint8_t busy[VPCI_CFG_SPACE_EXT];
    memset(busy, 0, sizeof(busy));
    ck_assert_int_eq(vpci_device_busy(&dev, q, busy), 0);
    ck_assert_uint_eq(busy[0x3f], 1);
    for (unsigned a = 0x100; a < VPCI_CFG_SPACE_EXT; a++)
        ck_assert_msg(!busy[a], "byte 0x%x past the dump marked", a);
    ck_assert_int_eq(vpci_device_busy(NULL, q, busy), -EINVAL);
    free(d);
    vpci_quirks_free(q);
}
END_TEST

/* ------------------------------------------------------------ placement */

START_TEST(test_auto_vf_at_qemu_default)
{
    uint8_t *pf = dump_busy(IGB4, NULL);
    struct vpci_layout *l = place_auto_vf(pf, 0xff8);
    const struct vpci_block *b = last_ecap(l);
    const struct vpci_field *cap = vpci_block_find_field(b, "pasid_cap");
    const struct vpci_field *ctl = vpci_block_find_field(b, "pasid_ctl");
    ck_assert_ptr_nonnull(cap);
    ck_assert_ptr_nonnull(ctl);
    EQX(vpci_field_value(cap), 0x1400); /* width 20, no exec, no priv */
    EQX(cap->rw[0] | cap->rw[1] | cap->phys[0] | cap->phys[1], 0);
    EQX(vpci_field_value(ctl), 0);
    EQX(ctl->rw[0] | ctl->rw[1] << 8, 0x0001); /* enable only */
    EQX(ctl->phys[0] | ctl->phys[1], 0);

    /* In the chain after aer, at the end of it. */
    struct vpci_render *r = malloc(sizeof(*r));
    ck_assert_int_eq(vpci_render(l, r), 0);
    EQX(r->val[0x102] | r->val[0x103] << 8, 0xff81); /* aer v1, next 0xff8 */
    EQX(r->val[0xff8] | r->val[0xff9] << 8 | r->val[0xffa] << 16 |
            (uint32_t)r->val[0xffb] << 24,
        0x0001001b);
    free(r);
    free(pf);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_auto_moves_past_quirk_keep)
{
    struct vpci_quirks *q = quirks("device 8086:10c9\n  keep 0xff8 8\n");
    uint8_t *pf = dump_busy(IGB4, q);
    /* 0xff4 overlaps the kept 0xff8: the next free dword is 0xff0 */
    struct vpci_layout *l = place_auto_vf(pf, 0xff0);
    free(pf);
    vpci_quirks_free(q);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_auto_moves_past_plx_aer)
{
    /* A map with the PLX's AER (0xfb4-0xfdf) and a 4-byte hole at the
     * top taken: the first 8 free bytes from the top are at 0xfac. */
    uint8_t *plx = dump_busy(PLX, NULL);
    memset(plx + 0xfe0, 1, 0x20);
    struct vpci_layout *l = place_auto_vf(plx, 0xfac);
    free(plx);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_auto_second_device_counts)
{
    struct vpci_layout *l = tu_layout(VF);
    uint8_t *a = dump_busy(IGB4, NULL);
    uint8_t *b = calloc(1, VPCI_CFG_SPACE_EXT);
    memset(b + 0xff0, 1, 0x10);
    const uint8_t *maps[] = {a, b};
    struct vpci_place_opts o = {.at = -1, .busy = maps, .nbusy = 2};
    place_ok(l, &o, 0xfe8);
    free(a);
    free(b);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_width_and_modes)
{
    struct vpci_layout *l = tu_layout(VF);
    struct vpci_place_opts o = {
        .width = 16, .exec = true, .priv = true, .at = 0x800};
    place_ok(l, &o, 0x800);
    const struct vpci_block *b = last_ecap(l);
    const struct vpci_field *cap = vpci_block_find_field(b, "pasid_cap");
    const struct vpci_field *ctl = vpci_block_find_field(b, "pasid_ctl");
    EQX(vpci_field_value(cap), 0x1006);
    EQX(ctl->rw[0] | ctl->rw[1] << 8, 0x0007);
    vpci_layout_free(l);

    l = tu_layout(VF);
    o.width = 21;
    place_fails(l, &o, "PASID width 21 is outside 1-20");
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_anchor_for_empty_chain)
{
    struct vpci_layout *l = tu_layout(VF);
    /* Drop aer: the layout keeps its 4096-byte space, no ecap left. */
    for (size_t i = l->nblocks; i-- > 1;)
        if (l->blocks[i].kind == VPCI_BLOCK_ECAP)
            vpci_layout_remove_block(l, i);
    size_t before = l->nblocks;
    struct vpci_place_opts o = {.at = -1};
    place_ok(l, &o, 0xff8);
    ck_assert_uint_eq(l->nblocks, before + 2);
    const struct vpci_block *anchor = &l->blocks[l->nblocks - 2];
    EQX(anchor->kind, VPCI_BLOCK_ECAP);
    EQX(anchor->off, 0x100);
    EQX(anchor->id, 0);
    ck_assert_str_eq(anchor->name, "null");
    vpci_layout_free(l);

    /* At 0x100 PASID is the anchor itself. */
    l = tu_layout(VF);
    for (size_t i = l->nblocks; i-- > 1;)
        if (l->blocks[i].kind == VPCI_BLOCK_ECAP)
            vpci_layout_remove_block(l, i);
    before = l->nblocks;
    o.at = 0x100;
    place_ok(l, &o, 0x100);
    ck_assert_uint_eq(l->nblocks, before + 1);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_refusals)
{
    struct vpci_layout *l = tu_layout(VF);
    struct vpci_place_opts o = {.at = 0x104};
    place_fails(l, &o, "0x104-0x10b: ecap aer at 0x100 on the layout");
    o.at = 0x202;
    place_fails(l, &o, "PASID offset 0x202 is not dword aligned");
    o.at = 0xffc;
    place_fails(l, &o, "PASID offset 0xffc is outside 0x100-0xff8");
    o.at = 0xfc;
    place_fails(l, &o, "PASID offset 0xfc is outside 0x100-0xff8");

    struct vpci_quirks *q = quirks("device 8086:10c9\n  keep 0xff8 8\n");
    uint8_t *pf = dump_busy(IGB4, q);
    uint8_t *free_map = calloc(1, VPCI_CFG_SPACE_EXT);
    const uint8_t *maps[] = {free_map, pf};
    const char *names[] = {"a.vpci", "igb.lspci@0000:09:00.0"};
    o = (struct vpci_place_opts){
        .at = 0xff8, .busy = maps, .nbusy = 2, .names = names};
    place_fails(l, &o,
                "0xff8-0xfff: taken on device 2 (igb.lspci@0000:09:00.0)");
    o.names = NULL;
    place_fails(l, &o, "0xff8-0xfff: taken on device 2");

    /* Nothing free anywhere. */
    memset(free_map, 1, VPCI_CFG_SPACE_EXT);
    o.at = -1;
    place_fails(l, &o,
                "no 8 free bytes at a dword-aligned offset in 0x100-0xfff "
                "on the layout and every listed device");
    free(free_map);
    free(pf);
    vpci_quirks_free(q);
    vpci_layout_free(l);

    l = tu_layout(NVME);
    o = (struct vpci_place_opts){.at = -1};
    place_fails(l, &o,
                "a 256-byte space has no extended capabilities: PASID needs "
                "'space 4096'");
    vpci_layout_free(l);

    l = tu_layout(DSA_LAYOUT);
    place_fails(l, &o, "the layout already has a PASID capability at 0x230");
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_placed_twice_is_refused)
{
    struct vpci_layout *l = tu_layout(VF);
    struct vpci_place_opts o = {.at = -1};
    place_ok(l, &o, 0xff8);
    place_fails(l, &o, "the layout already has a PASID capability at 0xff8");
    vpci_layout_free(l);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("place");
    TCase *tc = tcase_create("place");
    tcase_add_test(tc, test_busy_82576);
    tcase_add_test(tc, test_busy_plx_aer_high);
    tcase_add_test(tc, test_busy_quirk_ranges);
    tcase_add_test(tc, test_busy_stops_at_size);
    tcase_add_test(tc, test_auto_vf_at_qemu_default);
    tcase_add_test(tc, test_auto_moves_past_quirk_keep);
    tcase_add_test(tc, test_auto_moves_past_plx_aer);
    tcase_add_test(tc, test_auto_second_device_counts);
    tcase_add_test(tc, test_width_and_modes);
    tcase_add_test(tc, test_anchor_for_empty_chain);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_placed_twice_is_refused);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
