/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Render: the config space a guest sees at reset, byte by byte and mask by
 * mask, and its lspci text (checked against lspci itself when installed).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

/* ------------------------------------------------------------ helpers */

static struct vpci_render *render_fixture(const char *rel)
{
    struct vpci_layout *l = tu_layout(rel);
    struct vpci_render *r = malloc(sizeof(*r));
    ck_assert_ptr_nonnull(r);
    memset(r, 0xa5, sizeof(*r)); /* render must overwrite everything */
    ck_assert_int_eq(vpci_render(l, r), 0);
    vpci_layout_free(l);
    return r;
}

/* The expected space, filled in by the tests. */
struct space {
    uint8_t val[VPCI_CFG_SPACE_EXT], rw[VPCI_CFG_SPACE_EXT];
    uint8_t w1c[VPCI_CFG_SPACE_EXT], phys[VPCI_CFG_SPACE_EXT];
};

static void put(uint8_t *arr, unsigned off, const char *hex)
{
    /* "aa bb cc": bytes from off */
    for (const char *p = hex; *p;) {
        unsigned v;
        int n;
        ck_assert(sscanf(p, "%2x%n", &v, &n) == 1);
        arr[off++] = (uint8_t)v;
        p += n;
        while (*p == ' ')
            p++;
    }
}

/* Every byte of all four arrays equals the expected space. */
static void assert_space(const struct vpci_render *r, const struct space *s,
                         unsigned size, const char *what)
{
    static const char *const names[] = {"val", "rw", "w1c", "phys"};
    const uint8_t *got[4] = {r->val, r->rw, r->w1c, r->phys};
    const uint8_t *want[4] = {s->val, s->rw, s->w1c, s->phys};
    ck_assert_uint_eq(r->size, size);
    for (int a = 0; a < 4; a++)
        for (unsigned i = 0; i < VPCI_CFG_SPACE_EXT; i++) {
            uint8_t w = i < size ? want[a][i] : 0;
            ck_assert_msg(got[a][i] == w,
                          "%s: %s[0x%03x] is 0x%02x, expected "
                          "0x%02x",
                          what, names[a], i, got[a][i], w);
        }
}

/* ------------------------------------------------------------ render */

START_TEST(test_render_example)
{
    struct vpci_render *r = render_fixture("layouts/example.vpci");
    struct space *s = calloc(1, sizeof(*s));
    ck_assert_ptr_nonnull(s);
    put(s->val, 0x00, "b3 15 1e 10 00 00 10 00"); /* IDs, command, status */
    put(s->rw, 0x04, "06 04");
    put(s->phys, 0x04, "06 00");
    put(s->w1c, 0x06, "00 f9");
    put(s->val, 0x10, "0c"); /* BAR 0: mem64 prefetch; BAR 1: upper half */
    put(s->val, 0x34, "60"); /* the chain: 0x60 -> 0x9c */
    put(s->val, 0x3c, "ff");
    put(s->rw, 0x3c, "ff");
    put(s->val, 0x60, "10 9c 02 00");
    put(s->val, 0x68, "37 29");
    put(s->rw, 0x68, "ff 7c");
    put(s->val, 0x9c, "11 00 3f 00");
    put(s->rw, 0x9e, "00 c0");
    put(s->val, 0xa0, "01 02 03 04"); /* raw */
    /* ari: ID 0x000e, version 1, next 0xff8 */
    put(s->val, 0x100, "0e 00 81 ff 00 00");
    /* pasid: ID 0x001b, version 1, end of chain */
    put(s->val, 0xff8, "1b 00 01 00 06 14 00 00");
    put(s->rw, 0xffe, "07 00");
    assert_space(r, s, 4096, "example");
    ck_assert_uint_eq(r->header_type, 0);
    ck_assert_uint_eq(r->bars[0].type, VPCI_BAR_MEM64);
    ck_assert(r->bars[0].prefetch);
    EQX(r->bars[0].size, 0x2000000);
    ck_assert_int_eq(r->bars[0].from, 0);
    for (unsigned i = 1; i < VPCI_MAX_BARS; i++) {
        ck_assert_uint_eq(r->bars[i].type, VPCI_BAR_NONE);
        EQX(r->bars[i].size, 0);
        ck_assert_int_eq(r->bars[i].from, -1);
    }
    EQX(r->rom.size, 0);
    ck_assert(!r->rom.from_phys);
    free(s);
    free(r);
}
END_TEST

/* Capabilities at 0x50, 0x40, 0x70 in that file order: the chain follows
 * the file, not the offsets.  Masks on bytes fields, every BAR type. */
START_TEST(test_render_bytes)
{
    struct vpci_render *r = render_fixture("layouts/bytes.vpci");
    struct space *s = calloc(1, sizeof(*s));
    ck_assert_ptr_nonnull(s);
    put(s->val, 0x00, "ec 10 68 81 00 00 10 00 15 00 00 02 00 00 80");
    put(s->rw, 0x04, "07 00");
    /* BARs: io, mem32, mem64 prefetch (+ upper), mem32 prefetch, none */
    put(s->val, 0x10, "01 00 00 00 00 00 00 00 0c 00 00 00 00 00 00 00");
    put(s->val, 0x20, "08 00 00 00 00 00 00 00");
    put(s->val, 0x2c, "ec 10 23 01");
    put(s->phys, 0x2c, "ff ff 00 00");
    put(s->val, 0x34, "50");
    put(s->val, 0x3c, "0a 01");
    put(s->rw, 0x3c, "ff 00");
    put(s->val, 0x40, "ee 70 aa bb"); /* 2nd: next is 0x70 */
    put(s->val, 0x50, "09 40 0c 01 02 03 04 05 06 07 08 09"); /* 1st */
    put(s->rw, 0x53, "00 ff 00 00 00 00 00 00 0f");
    put(s->w1c, 0x53, "00 00 f0 00 00 00 00 00 00");
    put(s->val, 0x70, "01 00 03 00 08 00"); /* 3rd: end of the chain */
    put(s->rw, 0x74, "03 00");
    put(s->w1c, 0x74, "00 80");
    put(s->phys, 0x74, "00 01");
    for (unsigned i = 0; i < 70; i++)
        s->val[0x80 + i] = (uint8_t)i;
    put(s->val, 0xf0, "ef be ad de");
    put(s->rw, 0xf0, "00 00 ff ff");
    put(s->phys, 0xf0, "ff 00 00 00");
    put(s->val, 0xfc, "7f");
    put(s->phys, 0xfc, "80");
    assert_space(r, s, 256, "bytes");
    static const struct {
        enum vpci_bar_type type;
        bool prefetch;
        uint64_t size;
        int from;
    } bars[6] = {
        {VPCI_BAR_IO, false, 0x20, -1},      {VPCI_BAR_MEM32, false, 0x1000, 1},
        {VPCI_BAR_MEM64, true, 0x100000, 2}, {VPCI_BAR_NONE, false, 0, -1},
        {VPCI_BAR_MEM32, true, 0x10, -1},    {VPCI_BAR_NONE, false, 0, -1},
    };
    for (unsigned i = 0; i < 6; i++) {
        ck_assert_uint_eq(r->bars[i].type, bars[i].type);
        ck_assert(r->bars[i].prefetch == bars[i].prefetch);
        EQX(r->bars[i].size, bars[i].size);
        ck_assert_int_eq(r->bars[i].from, bars[i].from);
    }
    EQX(r->rom.size, 0x10000);
    ck_assert(!r->rom.from_phys);
    free(s);
    free(r);
}
END_TEST

START_TEST(test_render_bridge)
{
    struct vpci_render *r = render_fixture("layouts/bridge.vpci");
    ck_assert_uint_eq(r->size, 4096);
    ck_assert_uint_eq(r->header_type, 1);
    EQX(r->val[0x0e], 0x81);
    /* two BARs: mem32 then io; 0x18 on are the bridge's own registers */
    EQX(r->val[0x10], 0x00);
    EQX(r->val[0x14], 0x01);
    EQX(r->val[0x18], 0x00);
    EQX(r->rw[0x18], 0xff);
    EQX(r->val[0x19], 0x02);
    EQX(r->val[0x1a], 0x02);
    EQX(r->val[0x1c], 0xf1);
    EQX(r->rw[0x1c], 0xf0);
    EQX(r->w1c[0x1f], 0xf9);
    EQX(r->val[0x28], 0x00);
    EQX(r->rw[0x28], 0xff);
    EQX(r->rw[0x2f], 0xff);
    for (unsigned i = 0x10; i < 0x18; i++) {
        EQX(r->rw[i], 0);
        EQX(r->w1c[i], 0);
        EQX(r->phys[i], 0);
    }
    /* the ROM register of a type-1 header is at 0x38 */
    for (unsigned i = 0x38; i < 0x3c; i++) {
        EQX(r->val[i], 0);
        EQX(r->rw[i], 0);
    }
    EQX(r->val[0x3e], 0x00);
    EQX(r->rw[0x3e], 0xff);
    EQX(r->rw[0x3f], 0x0f);
    EQX(r->phys[0x3e], 0x40);
    /* the chain 0x40 -> 0x80 -> 0x90 -> 0xa0 */
    EQX(r->val[0x34], 0x40);
    EQX(r->val[0x40], 0x10);
    EQX(r->val[0x41], 0x80);
    EQX(r->val[0x80], 0x05);
    EQX(r->val[0x81], 0x90);
    EQX(r->val[0x90], 0x0d);
    EQX(r->val[0x91], 0xa0);
    EQX(r->val[0xa0], 0x01);
    EQX(r->val[0xa1], 0x00);
    /* the capability headers are read-only */
    EQX(r->rw[0x40] | r->rw[0x41] | r->w1c[0x40] | r->phys[0x41], 0);
    /* aer v1 -> acs v1 */
    EQX(r->val[0x100] | r->val[0x101] << 8 | r->val[0x102] << 16 |
            (uint32_t)r->val[0x103] << 24,
        0x14010001);
    EQX(r->val[0x140] | r->val[0x141] << 8 | r->val[0x142] << 16 |
            (uint32_t)r->val[0x143] << 24,
        0x0001000d);
    EQX(r->w1c[0x104], 0x30);
    EQX(r->w1c[0x106], 0x3f);
    ck_assert_uint_eq(r->bars[0].type, VPCI_BAR_MEM32);
    EQX(r->bars[0].size, 0x1000);
    ck_assert_int_eq(r->bars[0].from, -1);
    ck_assert_uint_eq(r->bars[1].type, VPCI_BAR_IO);
    EQX(r->bars[1].size, 0x100);
    ck_assert_int_eq(r->bars[1].from, 1);
    for (unsigned i = 2; i < VPCI_MAX_BARS; i++) {
        ck_assert_uint_eq(r->bars[i].type, VPCI_BAR_NONE);
        ck_assert_int_eq(r->bars[i].from, -1);
    }
    EQX(r->rom.size, 0x800);
    ck_assert(r->rom.from_phys);
    free(r);
}
END_TEST

/* Extended chain in file order, versions in bits 16-19, next in 20-31. */
START_TEST(test_render_ecap_chain)
{
    struct vpci_render *r = render_fixture("layouts/sections.vpci");
    /* std chain: c8 -> d0 -> e0 -> a0 -> f0 */
    EQX(r->val[0x34], 0xc8);
    EQX(r->val[0xc8], 0x01);
    EQX(r->val[0xc9], 0xd0);
    EQX(r->val[0xd0], 0x05);
    EQX(r->val[0xd1], 0xe0);
    EQX(r->val[0xe0], 0x10);
    EQX(r->val[0xe1], 0xa0);
    EQX(r->val[0xa0], 0x11);
    EQX(r->val[0xa1], 0xf0);
    EQX(r->val[0xf0], 0xfe);
    EQX(r->val[0xf1], 0x00);
    /* aer v2 -> dsn v1 -> id 0x0abc v15 */
    uint32_t h[3];
    for (int i = 0; i < 3; i++) {
        unsigned o = i == 0 ? 0x100 : i == 1 ? 0x140 : 0x1a0;
        h[i] = (uint32_t)r->val[o] | (uint32_t)r->val[o + 1] << 8 |
               (uint32_t)r->val[o + 2] << 16 | (uint32_t)r->val[o + 3] << 24;
    }
    EQX(h[0], 0x14020001);
    EQX(h[1], 0x1a010003);
    EQX(h[2], 0x000f0abc);
    /* rom and BAR 3 come from the fixture */
    EQX(r->val[0x10], 0x00);
    EQX(r->val[0x1c], 0x01);
    EQX(r->rom.size, 0x40000);
    ck_assert(r->rom.from_phys);
    ck_assert_int_eq(r->bars[3].from, 2);
    free(r);

    /* built: 0x100, then 0x200, then 0x180 */
    struct vpci_layout *l;
    struct vpci_block *b;
    ck_assert_int_eq(vpci_layout_new(4096, 0, &l), 0);
    ck_assert_int_eq(
        vpci_layout_add_block(l, VPCI_BLOCK_ECAP, 0x100, 0x0001, 1, "aer", &b),
        0);
    ck_assert_int_eq(
        vpci_layout_add_block(l, VPCI_BLOCK_ECAP, 0x200, 0xabcd, 15, "", &b),
        0);
    ck_assert_int_eq(vpci_block_add_reg(b, 0x04, 4, "x", 0x11223344, 0, 0, 0),
                     0);
    ck_assert_int_eq(
        vpci_layout_add_block(l, VPCI_BLOCK_ECAP, 0x180, 0x0003, 2, "dsn", &b),
        0);
    r = malloc(sizeof(*r));
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(vpci_render(l, r), 0);
    static const uint8_t want[] = {
        0x01, 0x00, 0x01, 0x20, /* 0x100: aer v1, next 0x200 */
    };
    ck_assert_mem_eq(r->val + 0x100, want, 4);
    static const uint8_t want2[] = {0xcd, 0xab, 0x0f, 0x18,
                                    0x44, 0x33, 0x22, 0x11};
    ck_assert_mem_eq(r->val + 0x200, want2, 8);
    static const uint8_t want3[] = {0x03, 0x00, 0x02, 0x00};
    ck_assert_mem_eq(r->val + 0x180, want3, 4);
    /* no standard capability: the pointer stays 0 */
    EQX(r->val[0x34], 0);
    free(r);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_render_bar_bits)
{
    static const struct {
        enum vpci_bar_type type;
        bool prefetch;
        uint8_t bits;
    } cases[] = {
        {VPCI_BAR_MEM32, false, 0x00}, {VPCI_BAR_MEM32, true, 0x08},
        {VPCI_BAR_MEM64, false, 0x04}, {VPCI_BAR_MEM64, true, 0x0c},
        {VPCI_BAR_IO, false, 0x01},
    };
    for (size_t c = 0; c < 5; c++) {
        for (unsigned i = 0; i < VPCI_MAX_BARS; i++) {
            if (cases[c].type == VPCI_BAR_MEM64 && i == 5)
                continue;
            struct vpci_layout *l;
            ck_assert_int_eq(vpci_layout_new(256, 0, &l), 0);
            l->bars[i] = (struct vpci_bar){
                cases[c].type, cases[c].prefetch, 0x1000, 3, 0, 0};
            struct vpci_render *r = malloc(sizeof(*r));
            ck_assert_ptr_nonnull(r);
            memset(r, 0xff, sizeof(*r)); /* render must clear it all */
            ck_assert_int_eq(vpci_render(l, r), 0);
            for (unsigned a = 0x10; a < 0x28; a++) {
                uint8_t want = a == 0x10 + 4 * i ? cases[c].bits : 0;
                ck_assert_msg(r->val[a] == want,
                              "case %zu BAR %u: val[0x%x] = 0x%02x, expected "
                              "0x%02x",
                              c, i, a, r->val[a], want);
                ck_assert_uint_eq(r->rw[a] | r->w1c[a] | r->phys[a], 0);
            }
            ck_assert_uint_eq(r->bars[i].type, cases[c].type);
            ck_assert(r->bars[i].prefetch == cases[c].prefetch);
            EQX(r->bars[i].size, 0x1000);
            ck_assert_int_eq(r->bars[i].from, 3);
            free(r);
            vpci_layout_free(l);
        }
    }
}
END_TEST

START_TEST(test_render_undescribed)
{
    /* minimal.vpci describes 5 bytes; everything else is 0, masks 0 */
    struct vpci_render *r = render_fixture("layouts/minimal.vpci");
    struct space *s = calloc(1, sizeof(*s));
    ck_assert_ptr_nonnull(s);
    put(s->val, 0, "f4 1a 00 10");
    assert_space(r, s, 256, "minimal");
    for (unsigned i = 0; i < VPCI_MAX_BARS; i++) {
        ck_assert_uint_eq(r->bars[i].type, VPCI_BAR_NONE);
        ck_assert_int_eq(r->bars[i].from, -1);
    }
    EQX(r->rom.size, 0);
    free(s);
    free(r);
}
END_TEST

START_TEST(test_render_errors)
{
    struct vpci_layout *l;
    struct vpci_block *b;
    struct vpci_render *r = malloc(sizeof(*r));
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(vpci_layout_new(256, 0, &l), 0);
    ck_assert_int_eq(vpci_render(NULL, r), -EINVAL);
    ck_assert_int_eq(vpci_render(l, NULL), -EINVAL);
    /* built layouts are not validated: render checks its own bounds */
    ck_assert_int_eq(vpci_layout_add_block(l, VPCI_BLOCK_RAW, 0, 0, 0, "", &b),
                     0);
    static const uint8_t four[4] = {1, 2, 3, 4};
    ck_assert_int_eq(vpci_block_add_bytes(b, 0xfe, 4, four, NULL, NULL, NULL),
                     0);
    ck_assert_int_eq(vpci_render(l, r), -EINVAL);
    vpci_layout_free(l);

    ck_assert_int_eq(vpci_layout_new(256, 0, &l), 0);
    ck_assert_int_eq(
        vpci_layout_add_block(l, VPCI_BLOCK_CAP, 0x20, 0x01, 0, "pm", NULL), 0);
    ck_assert_int_eq(vpci_render(l, r), -EINVAL);
    vpci_layout_free(l);

    ck_assert_int_eq(vpci_layout_new(256, 0, &l), 0);
    ck_assert_int_eq(
        vpci_layout_add_block(l, VPCI_BLOCK_ECAP, 0x100, 0x01, 1, "aer", NULL),
        0);
    ck_assert_int_eq(vpci_render(l, r), -EINVAL);
    vpci_layout_free(l);

    ck_assert_int_eq(vpci_layout_new(4096, 0, &l), 0);
    ck_assert_int_eq(
        vpci_layout_add_block(l, VPCI_BLOCK_CAP, 0xfe, 0x01, 0, "pm", NULL), 0);
    ck_assert_int_eq(vpci_render(l, r), -EINVAL);
    vpci_layout_free(l);
    free(r);
}
END_TEST

/* ------------------------------------------------------------- lspci */

static char *lspci_of(const char *rel, const char *slot, size_t *ret_lines)
{
    struct vpci_render *r = render_fixture(rel);
    char *text = (char *)1;
    ck_assert_int_eq(vpci_render_lspci(r, slot, &text), 0);
    ck_assert_ptr_nonnull(text);
    free(r);
    size_t n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    if (ret_lines)
        *ret_lines = n;
    return text;
}

START_TEST(test_lspci_minimal)
{
    size_t n;
    char *text = lspci_of("layouts/minimal.vpci", NULL, &n);
    ck_assert_uint_eq(n, 17);
    char want[2048];
    size_t k = (size_t)snprintf(want, sizeof(want),
                                "00:00.0 Class 0000: Device 1af4:1000\n"
                                "00: f4 1a 00 10 00 00 00 00 00 00 00 00 00 "
                                "00 00 00\n");
    for (unsigned row = 1; row < 16; row++)
        k += (size_t)snprintf(want + k, sizeof(want) - k,
                              "%x0: 00 00 00 00 00 00 00 00 00 00 00 00 00 "
                              "00 00 00\n",
                              row);
    ck_assert_str_eq(text, want);
    free(text);
}
END_TEST

static const char *line_of(const char *text, size_t i, char *buf, size_t n)
{
    const char *p = text;
    for (size_t k = 0; k < i && p; k++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    ck_assert_ptr_nonnull(p);
    size_t len = strcspn(p, "\n");
    ck_assert_uint_lt(len, n);
    memcpy(buf, p, len);
    buf[len] = '\0';
    return buf;
}

START_TEST(test_lspci_sketch)
{
    size_t n;
    char buf[128];
    char *text = lspci_of("layouts/sketch.vpci", NULL, &n);
    ck_assert_uint_eq(n, 257);
    ck_assert_uint_eq(text[strlen(text) - 1], '\n');
    ck_assert_str_eq(line_of(text, 0, buf, sizeof(buf)),
                     "00:00.0 Class 0200: Device 15b3:101e");
    ck_assert_str_eq(line_of(text, 1, buf, sizeof(buf)),
                     "00: b3 15 1e 10 00 00 10 00 00 00 00 02 00 00 00 00");
    ck_assert_str_eq(line_of(text, 2, buf, sizeof(buf)),
                     "10: 0c 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
    ck_assert_str_eq(line_of(text, 3, buf, sizeof(buf)),
                     "20: 00 00 00 00 00 00 00 00 00 00 00 00 b3 15 26 00");
    ck_assert_str_eq(line_of(text, 4, buf, sizeof(buf)),
                     "30: 00 00 00 00 60 00 00 00 00 00 00 00 ff 00 00 00");
    ck_assert_str_eq(line_of(text, 7, buf, sizeof(buf)),
                     "60: 10 9c 02 00 e2 8f 00 00 37 29 00 00 00 00 00 00");
    ck_assert_str_eq(line_of(text, 10, buf, sizeof(buf)),
                     "90: 00 00 00 00 00 00 00 00 00 00 00 00 11 00 3f 00");
    ck_assert_str_eq(line_of(text, 11, buf, sizeof(buf)),
                     "a0: 00 20 00 00 00 30 00 00 00 00 00 00 00 00 00 00");
    ck_assert_str_eq(line_of(text, 16, buf, sizeof(buf)),
                     "f0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
    ck_assert_str_eq(line_of(text, 17, buf, sizeof(buf)),
                     "100: 0e 00 01 15 00 00 00 00 00 00 00 00 00 00 00 00");
    ck_assert_str_eq(line_of(text, 22, buf, sizeof(buf)),
                     "150: 0f 00 81 ff 20 00 00 00 00 00 00 00 00 00 00 00");
    ck_assert_str_eq(line_of(text, 256, buf, sizeof(buf)),
                     "ff0: 00 00 00 00 00 00 00 00 1b 00 01 00 06 14 00 00");
    /* every row: its offset and the 16 rendered bytes */
    struct vpci_render *r = render_fixture("layouts/sketch.vpci");
    for (unsigned row = 0; row < 256; row++) {
        char want[128];
        int k = snprintf(want, sizeof(want), "%02x:", row * 16);
        for (unsigned i = 0; i < 16; i++)
            k += snprintf(want + k, sizeof(want) - (size_t)k, " %02x",
                          r->val[row * 16 + i]);
        ck_assert_str_eq(line_of(text, row + 1, buf, sizeof(buf)), want);
    }
    free(text);

    /* the slot */
    text = lspci_of("layouts/sketch.vpci", "0000:3b:00.1", NULL);
    ck_assert_str_eq(line_of(text, 0, buf, sizeof(buf)),
                     "0000:3b:00.1 Class 0200: Device 15b3:101e");
    free(text);
    text = lspci_of("layouts/sketch.vpci", "", NULL);
    ck_assert_str_eq(line_of(text, 0, buf, sizeof(buf)),
                     "00:00.0 Class 0200: Device 15b3:101e");
    free(text);

    ck_assert_int_eq(vpci_render_lspci(NULL, NULL, &text), -EINVAL);
    ck_assert_int_eq(vpci_render_lspci(r, NULL, NULL), -EINVAL);
    r->size = 512;
    ck_assert_int_eq(vpci_render_lspci(r, NULL, &text), -EINVAL);
    free(r);
}
END_TEST

/* lspci -F decodes the rendered text: its capability lines, in order. */
static const char *lspci_path(void)
{
    const char *p = getenv("LSPCI");
    if (p && *p)
        return p;
    if (access("/usr/bin/lspci", X_OK) == 0)
        return "/usr/bin/lspci";
    return NULL;
}

static void check_lspci(const char *rel, const char *const *want, size_t nwant)
{
    const char *lspci = lspci_path();
    if (!lspci) {
        fprintf(stderr, "lspci not found: %s not cross-checked\n", rel);
        return;
    }
    char *text = lspci_of(rel, NULL, NULL);
    char path[] = "/tmp/vpci-render-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
    free(text);

    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "'%s' -F '%s' -vvv 2>/dev/null", lspci, path);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char line[1024];
    size_t n = 0, nlines = 0;
    char got[16][160];
    while (fgets(line, sizeof(line), p)) {
        nlines++;
        const char *s = line + strspn(line, " \t");
        if (strncmp(s, "Capabilities: ", 14) != 0)
            continue;
        ck_assert_uint_lt(n, 16);
        snprintf(got[n++], sizeof(got[0]), "%.*s", (int)strcspn(s, "\n"), s);
    }
    int st = pclose(p);
    unlink(path);
    ck_assert_msg(st == 0, "%s: lspci -F failed (%d)", rel, st);
    ck_assert_msg(n == nwant,
                  "%s: lspci shows %zu capabilities (%zu lines), "
                  "expected %zu; first: %s",
                  rel, n, nlines, nwant, n ? got[0] : "(none)");
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(!strncmp(got[i], want[i], strlen(want[i])),
                      "%s: capability %zu is '%s', expected '%s...'", rel, i,
                      got[i], want[i]);
}

START_TEST(test_lspci_decodes)
{
    static const char *const sketch[] = {
        "Capabilities: [60] Express (v2) Endpoint",
        "Capabilities: [9c] MSI-X: Enable- Count=64 Masked-",
        "Capabilities: [100 v1] Alternative Routing-ID Interpretation (ARI)",
        "Capabilities: [150 v1] Address Translation Service (ATS)",
        "Capabilities: [ff8 v1] Process Address Space ID (PASID)",
    };
    check_lspci("layouts/sketch.vpci", sketch, 5);
    /* file order, not offset order */
    static const char *const bytes[] = {
        "Capabilities: [50] Vendor Specific Information: Len=0c",
        "Capabilities: [40] Capability ID 0xee",
        "Capabilities: [70] Power Management version 3",
    };
    check_lspci("layouts/bytes.vpci", bytes, 3);
    static const char *const bridge[] = {
        "Capabilities: [40] Express (v2) Root Port (Slot+)",
        "Capabilities: [80] MSI: Enable- Count=1/1 Maskable- 64bit-",
        "Capabilities: [90] Subsystem: ",
        "Capabilities: [a0] Power Management version 3",
        "Capabilities: [100 v1] Advanced Error Reporting",
        "Capabilities: [140 v1] Access Control Services",
    };
    check_lspci("layouts/bridge.vpci", bridge, 6);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("render");
    TCase *tc;

    tc = tcase_create("render");
    tcase_add_test(tc, test_render_example);
    tcase_add_test(tc, test_render_bytes);
    tcase_add_test(tc, test_render_bridge);
    tcase_add_test(tc, test_render_ecap_chain);
    tcase_add_test(tc, test_render_bar_bits);
    tcase_add_test(tc, test_render_undescribed);
    tcase_add_test(tc, test_render_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("lspci");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_lspci_minimal);
    tcase_add_test(tc, test_lspci_sketch);
    tcase_add_test(tc, test_lspci_decodes);
    suite_add_tcase(s, tc);

    return tu_run(s);
}
