/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Derive: layouts from real dumps under the identity and vfio policies,
 * and the quirk files that adjust the vfio policy.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quirks.h"
#include "testutil.h"

#define DSA "dumps/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci"
#define IGB "dumps/intel-82576-pf-8086-10c9-sriov-4k.lspci"
#define THUNDERX "dumps/cavium-thunderx-nic-177d-a01e-pf-sriov-ea-4k.lspci"

/* ------------------------------------------------------------ helpers */

static uint32_t le(const uint8_t *p, unsigned len)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < len; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

/* One device of a dump fixture, kept with its dump array. */
struct fixdev {
    struct vpci_dump_dev *all;
    size_t n;
    struct vpci_dump_dev *d;
    struct vpci_device dev;
};

static void dev_from_dump(const struct vpci_dump_dev *d,
                          struct vpci_device *dev)
{
    memset(dev, 0, sizeof(*dev));
    dev->cfg = d->cfg;
    dev->size = d->size;
    for (unsigned i = 0; i < VPCI_MAX_BARS; i++)
        dev->bar_size[i] = d->region_size[i];
    dev->rom_size = d->region_size[VPCI_MAX_BARS];
}

static struct fixdev fix_load(const char *rel, const char *slot)
{
    struct fixdev f = {0};
    f.all = tu_dumps(rel, &f.n);
    for (size_t i = 0; i < f.n; i++)
        if (!slot || !strcmp(f.all[i].slot, slot)) {
            f.d = &f.all[i];
            break;
        }
    ck_assert_msg(f.d != NULL, "%s: no device %s", rel, slot ? slot : "");
    dev_from_dump(f.d, &f.dev);
    return f;
}

static void fix_free(struct fixdev *f)
{
    free(f->all);
}

static struct vpci_layout *derive_ok(const struct vpci_device *dev,
                                     enum vpci_policy policy,
                                     const struct vpci_quirks *q,
                                     struct vpci_derive_notes *notes,
                                     const char *what)
{
    struct vpci_layout *l = NULL;
    struct vpci_error err = {0};
    int r = vpci_derive(dev, policy, q, &l, notes, &err);
    ck_assert_msg(r == 0, "%s: derive failed (%d): %s", what, r, err.msg);
    ck_assert_ptr_nonnull(l);
    memset(&err, 0, sizeof(err));
    r = vpci_layout_validate(l, &err);
    ck_assert_msg(r == 0, "%s: derived layout does not validate: %s", what,
                  err.msg);
    return l;
}

static const struct vpci_block *
find_block(const struct vpci_layout *l, enum vpci_block_kind kind, uint16_t off)
{
    for (size_t i = 0; i < l->nblocks; i++)
        if (l->blocks[i].kind == kind &&
            (kind == VPCI_BLOCK_RAW || kind == VPCI_BLOCK_HEADER ||
             l->blocks[i].off == off))
            return &l->blocks[i];
    return NULL;
}

static size_t count_blocks(const struct vpci_layout *l,
                           enum vpci_block_kind kind)
{
    size_t n = 0;
    for (size_t i = 0; i < l->nblocks; i++)
        n += l->blocks[i].kind == kind;
    return n;
}

/* A register field: offset, width, value and masks. */
static void expect_reg(const struct vpci_block *b, const char *name,
                       unsigned off, unsigned len, uint32_t val, uint32_t rw,
                       uint32_t w1c, uint32_t phys)
{
    ck_assert_ptr_nonnull(b);
    const struct vpci_field *f = vpci_block_find_field(b, name);
    ck_assert_msg(f != NULL, "block at 0x%x has no field %s", b->off, name);
    ck_assert_msg(f->off == off && f->len == len && !f->is_bytes,
                  "%s: at 0x%x len %u, expected 0x%x len %u", name, f->off,
                  f->len, off, len);
    uint32_t got[4] = {le(f->val, len), le(f->rw, len), le(f->w1c, len),
                       le(f->phys, len)};
    uint32_t want[4] = {val, rw, w1c, phys};
    static const char *const what[] = {"value", "rw", "w1c", "phys"};
    for (int i = 0; i < 4; i++)
        ck_assert_msg(got[i] == want[i], "%s: %s 0x%x, expected 0x%x", name,
                      what[i], got[i], want[i]);
}

/* Exactly these notes, in order. */
static void expect_notes(const struct vpci_derive_notes *n,
                         const char *const *want, size_t nwant)
{
    for (size_t i = 0; i < n->n && i < nwant; i++)
        ck_assert_msg(!strcmp(n->note[i], want[i]),
                      "note %zu is '%s', expected '%s'", i, n->note[i],
                      want[i]);
    ck_assert_msg(n->n == nwant, "%zu notes (last '%s'), expected %zu", n->n,
                  n->n ? n->note[n->n - 1] : "", nwant);
    ck_assert_uint_eq(n->dropped, 0);
}

static bool has_note(const struct vpci_derive_notes *n, const char *s)
{
    for (size_t i = 0; i < n->n; i++)
        if (!strcmp(n->note[i], s))
            return true;
    return false;
}

static bool has_note_prefix(const struct vpci_derive_notes *n, const char *s)
{
    for (size_t i = 0; i < n->n; i++)
        if (!strncmp(n->note[i], s, strlen(s)))
            return true;
    return false;
}

static struct vpci_quirks *quirks_ok(const char *text)
{
    struct vpci_quirks *q = NULL;
    struct vpci_error err = {0};
    int r = vpci_quirks_parse(text, strlen(text), &q, &err);
    ck_assert_msg(r == 0, "quirk parse failed at %u:%u: %s", err.line, err.col,
                  err.msg);
    ck_assert_ptr_nonnull(q);
    return q;
}

static char *intel_quirk_text(void)
{
    const char *top = getenv("top_srcdir");
    char path[4096];
    snprintf(path, sizeof(path), "%s/data/quirks/intel.quirk", top ? top : ".");
    return tu_read(path, NULL);
}

static struct vpci_render *render_ok(const struct vpci_layout *l)
{
    struct vpci_render *r = malloc(sizeof(*r));
    ck_assert_ptr_nonnull(r);
    memset(r, 0xa5, sizeof(*r));
    ck_assert_int_eq(vpci_render(l, r), 0);
    return r;
}

static bool is_bar_or_rom(unsigned ht, unsigned off)
{
    if (ht == 1)
        return (off >= 0x10 && off < 0x18) || (off >= 0x38 && off < 0x3c);
    return (off >= 0x10 && off < 0x28) || (off >= 0x30 && off < 0x34);
}

static char *format(const struct vpci_layout *l)
{
    char *text = NULL;
    ck_assert_int_eq(vpci_layout_format(l, &text, NULL), 0);
    return text;
}

/* ------------------------------------------------------------ identity */

/* Identity over every device of a directory: the render reproduces the
 * dump bytes except BAR and ROM registers, and nothing is writable. */
static void identity_dir(const char *subdir, size_t *ret_ok, size_t *ret_absent,
                         size_t *ret_cardbus)
{
    char **list = tu_list_dumps(subdir);
    for (char **name = list; *name; name++) {
        char rel[512];
        snprintf(rel, sizeof(rel), "%s/%s", subdir, *name);
        size_t n;
        struct vpci_dump_dev *d = tu_dumps(rel, &n);
        for (size_t i = 0; i < n; i++) {
            char what[600];
            snprintf(what, sizeof(what), "%s %s", rel, d[i].slot);
            struct vpci_device dev;
            dev_from_dump(&d[i], &dev);
            unsigned vid = le(d[i].cfg, 2), ht = d[i].cfg[0x0e] & 0x7f;
            struct vpci_layout *l = (void *)1;
            struct vpci_error err = {0};
            struct vpci_derive_notes notes;
            if (vid == 0xffff) {
                ck_assert_int_eq(vpci_derive(&dev, VPCI_POLICY_IDENTITY, NULL,
                                             &l, &notes, &err),
                                 -EINVAL);
                ck_assert_ptr_eq(l, (void *)1);
                ck_assert_str_eq(err.msg, "vendor ID 0xffff: the function "
                                          "is absent or powered off");
                (*ret_absent)++;
                continue;
            }
            if (ht == 2) {
                ck_assert_int_eq(vpci_derive(&dev, VPCI_POLICY_IDENTITY, NULL,
                                             &l, &notes, &err),
                                 -EINVAL);
                ck_assert_str_eq(err.msg,
                                 "header type 2 is not supported (only type "
                                 "0 endpoints and type 1 bridges)");
                (*ret_cardbus)++;
                continue;
            }
            l = derive_ok(&dev, VPCI_POLICY_IDENTITY, NULL, &notes, what);
            for (size_t k = 0; k < notes.n; k++)
                ck_assert_msg(strncmp(notes.note[k], "hid ", 4),
                              "%s: identity hid something: %s", what,
                              notes.note[k]);
            struct vpci_render *r = render_ok(l);
            unsigned space = d[i].size >= 4096 ? 4096 : 256;
            ck_assert_uint_eq(l->space, space);
            ck_assert_uint_eq(r->size, space);
            ck_assert_uint_eq(r->header_type, ht);
            unsigned cmp = d[i].size < space ? d[i].size : space;
            for (unsigned b = 0; b < space; b++) {
                uint8_t want = b < cmp ? d[i].cfg[b] : 0;
                if (is_bar_or_rom(ht, b))
                    continue;
                ck_assert_msg(r->val[b] == want,
                              "%s: byte 0x%03x is 0x%02x, dump has 0x%02x",
                              what, b, r->val[b], want);
                ck_assert_msg(!r->rw[b] && !r->w1c[b] && !r->phys[b],
                              "%s: byte 0x%03x is not read-only", what, b);
            }
            /* BAR registers keep the dump's type bits. */
            unsigned nbars = ht == 1 ? 2 : 6;
            for (unsigned k = 0; k < nbars; k++) {
                const struct vpci_bar *bar = &l->bars[k];
                if (bar->type == VPCI_BAR_NONE)
                    continue;
                uint8_t reg = d[i].cfg[0x10 + 4 * k];
                uint8_t bits = reg & ((reg & 1) ? 0x03 : 0x0f);
                ck_assert_msg(r->val[0x10 + 4 * k] == bits,
                              "%s: BAR %u type bits 0x%x, dump 0x%x", what, k,
                              r->val[0x10 + 4 * k], reg);
                ck_assert_int_eq(bar->from, (int)k);
                ck_assert_uint_ge(bar->size, d[i].region_size[k]);
                ck_assert_uint_ne(d[i].region_size[k], 0);
            }
            (*ret_ok)++;
            free(r);
            vpci_layout_free(l);
        }
        free(d);
    }
    tu_free_list(list);
}

START_TEST(test_identity_every_clean_dump)
{
    size_t ok = 0, absent = 0, cardbus = 0;
    identity_dir("dumps", &ok, &absent, &cardbus);
    ck_assert_uint_eq(absent, 3);
    ck_assert_uint_eq(cardbus, 2);
    ck_assert_uint_eq(ok + absent + cardbus, 344);
    ok = absent = cardbus = 0;
    identity_dir("dumps/nonreal", &ok, &absent, &cardbus);
    ck_assert_uint_eq(ok, 5);
}
END_TEST

START_TEST(test_identity_dsa)
{
    struct fixdev f = fix_load(DSA, NULL);
    struct vpci_derive_notes notes;
    struct vpci_layout *l =
        derive_ok(&f.dev, VPCI_POLICY_IDENTITY, NULL, &notes, "dsa");
    expect_notes(&notes, NULL, 0);
    /* Every capability is there, PASID included, in chain order. */
    static const struct {
        enum vpci_block_kind kind;
        uint16_t off;
        const char *name;
    } want[] = {
        {VPCI_BLOCK_HEADER, 0, ""},        {VPCI_BLOCK_CAP, 0x40, "pcie"},
        {VPCI_BLOCK_CAP, 0x80, "msix"},    {VPCI_BLOCK_CAP, 0x90, "pm"},
        {VPCI_BLOCK_ECAP, 0x100, "aer"},   {VPCI_BLOCK_ECAP, 0x150, "ltr"},
        {VPCI_BLOCK_ECAP, 0x160, "tph"},   {VPCI_BLOCK_ECAP, 0x170, "vc"},
        {VPCI_BLOCK_ECAP, 0x200, "dvsec"}, {VPCI_BLOCK_ECAP, 0x220, "ats"},
        {VPCI_BLOCK_ECAP, 0x230, "pasid"}, {VPCI_BLOCK_ECAP, 0x240, "pri"},
        {VPCI_BLOCK_RAW, 0, ""},
    };
    ck_assert_uint_eq(l->nblocks, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < l->nblocks; i++) {
        ck_assert_int_eq(l->blocks[i].kind, want[i].kind);
        ck_assert_uint_eq(l->blocks[i].off, want[i].off);
        ck_assert_str_eq(l->blocks[i].name, want[i].name);
    }
    const struct vpci_block *h = &l->blocks[0];
    expect_reg(h, "command", 0x04, 2, 0x0146, 0, 0, 0);
    expect_reg(h, "status", 0x06, 2, 0x0010, 0, 0, 0);
    ck_assert_ptr_null(vpci_block_find_field(h, "reserved_35"));
    const struct vpci_block *pasid = find_block(l, VPCI_BLOCK_ECAP, 0x230);
    ck_assert_uint_eq(pasid->version, 1);
    expect_reg(pasid, "pasid_cap", 0x04, 2, 0x1404, 0, 0, 0);
    expect_reg(pasid, "pasid_ctl", 0x06, 2, 0x0005, 0, 0, 0);
    /* BARs from the Region lines, types from the registers. */
    ck_assert_int_eq(l->bars[0].type, VPCI_BAR_MEM64);
    ck_assert(l->bars[0].prefetch);
    EQX(l->bars[0].size, 0x10000);
    ck_assert_int_eq(l->bars[2].type, VPCI_BAR_MEM64);
    EQX(l->bars[2].size, 0x20000);
    ck_assert_int_eq(l->bars[1].type, VPCI_BAR_NONE);
    ck_assert_int_eq(l->bars[4].type, VPCI_BAR_NONE);
    ck_assert_uint_eq(l->rom.size, 0);
    vpci_layout_free(l);
    fix_free(&f);
}
END_TEST

START_TEST(test_identity_ignores_quirks)
{
    struct fixdev f = fix_load(DSA, NULL);
    struct vpci_quirks *q = quirks_ok("device 8086:0b25\n"
                                      "  hide cap msix\n"
                                      "  hide ecap aer\n"
                                      "  keep 0xa0 16 rw\n"
                                      "  pasid 0x300\n");
    struct vpci_derive_notes n1, n2;
    struct vpci_layout *a =
        derive_ok(&f.dev, VPCI_POLICY_IDENTITY, NULL, &n1, "plain");
    struct vpci_layout *b =
        derive_ok(&f.dev, VPCI_POLICY_IDENTITY, q, &n2, "quirks");
    char *ta = format(a), *tb = format(b);
    ck_assert_str_eq(ta, tb);
    ck_assert_uint_eq(n2.n, 0);
    ck_assert_ptr_nonnull(find_block(b, VPCI_BLOCK_CAP, 0x80));
    free(ta);
    free(tb);
    vpci_layout_free(a);
    vpci_layout_free(b);
    vpci_quirks_free(q);
    fix_free(&f);
}
END_TEST

START_TEST(test_derive_rejects)
{
    uint8_t cfg[4096];
    struct vpci_device dev = {.cfg = cfg, .size = 256};
    struct vpci_layout *l = (void *)1;
    struct vpci_error err = {0};
    struct vpci_derive_notes notes;

    memset(cfg, 0xff, sizeof(cfg));
    for (int p = 0; p < 2; p++) {
        ck_assert_int_eq(
            vpci_derive(&dev, (enum vpci_policy)p, NULL, &l, &notes, &err),
            -EINVAL);
        ck_assert_str_eq(err.msg, "vendor ID 0xffff: the function is absent "
                                  "or powered off");
    }
    memset(cfg, 0, sizeof(cfg));
    ck_assert_int_eq(
        vpci_derive(&dev, VPCI_POLICY_VFIO, NULL, &l, &notes, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "vendor ID 0x0000: the function is absent or "
                              "powered off");
    cfg[0] = 0x86;
    cfg[1] = 0x80;
    cfg[0x0e] = 0x82; /* multi-function CardBus */
    ck_assert_int_eq(
        vpci_derive(&dev, VPCI_POLICY_VFIO, NULL, &l, &notes, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "header type 2 is not supported (only type 0 "
                              "endpoints and type 1 bridges)");
    cfg[0x0e] = 0x7f;
    ck_assert_int_eq(
        vpci_derive(&dev, VPCI_POLICY_VFIO, NULL, &l, &notes, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "header type 127 is not supported (only type "
                              "0 endpoints and type 1 bridges)");
    cfg[0x0e] = 0;
    dev.size = 63;
    ck_assert_int_eq(
        vpci_derive(&dev, VPCI_POLICY_VFIO, NULL, &l, &notes, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "only 63 bytes of config space: at least the "
                              "64-byte header is needed");
    dev.size = 256;
    ck_assert_int_eq(
        vpci_derive(&dev, (enum vpci_policy)7, NULL, &l, &notes, &err),
        -EINVAL);
    ck_assert_int_eq(
        vpci_derive(NULL, VPCI_POLICY_VFIO, NULL, &l, &notes, &err), -EINVAL);
    ck_assert_int_eq(
        vpci_derive(&dev, VPCI_POLICY_VFIO, NULL, NULL, &notes, &err), -EINVAL);
    dev.cfg = NULL;
    ck_assert_int_eq(
        vpci_derive(&dev, VPCI_POLICY_VFIO, NULL, &l, &notes, &err), -EINVAL);
    ck_assert_ptr_eq(l, (void *)1);

    /* A VF reads vendor 0xffff; the sysfs IDs make it derivable. */
    memset(cfg, 0, sizeof(cfg));
    cfg[0] = cfg[1] = cfg[2] = cfg[3] = 0xff;
    dev.cfg = cfg;
    dev.vendor_id = 0x8086;
    dev.device_id = 0x10ca;
    dev.is_vf = true;
    dev.bar_size[0] = 0x4000;
    cfg[0x3d] = 1;
    l = derive_ok(&dev, VPCI_POLICY_VFIO, NULL, &notes, "vf");
    expect_reg(&l->blocks[0], "vendor_id", 0, 2, 0x8086, 0, 0, 0);
    expect_reg(&l->blocks[0], "device_id", 2, 2, 0x10ca, 0, 0, 0);
    expect_reg(&l->blocks[0], "interrupt_pin", 0x3d, 1, 0, 0, 0, 0);
    ck_assert_int_eq(l->bars[0].type, VPCI_BAR_MEM32);
    EQX(l->bars[0].size, 0x4000);
    vpci_layout_free(l);

    /* Policy names. */
    enum vpci_policy p = (enum vpci_policy)9;
    ck_assert_int_eq(vpci_policy_from_string("vfio", &p), 0);
    ck_assert_int_eq(p, VPCI_POLICY_VFIO);
    ck_assert_int_eq(vpci_policy_from_string("identity", &p), 0);
    ck_assert_int_eq(p, VPCI_POLICY_IDENTITY);
    ck_assert_int_eq(vpci_policy_from_string("VFIO", &p), -EINVAL);
    ck_assert_int_eq(vpci_policy_from_string("", &p), -EINVAL);
    ck_assert_int_eq(vpci_policy_from_string(NULL, &p), -EINVAL);
    ck_assert_int_eq(p, VPCI_POLICY_IDENTITY);
}
END_TEST

/* ------------------------------------------------------------ vfio: DSA */

START_TEST(test_vfio_dsa_without_quirks)
{
    struct fixdev f = fix_load(DSA, NULL);
    struct vpci_derive_notes notes;
    struct vpci_layout *l =
        derive_ok(&f.dev, VPCI_POLICY_VFIO, NULL, &notes, "dsa vfio");
    static const char *const want_notes[] = {
        "hid ecap pasid at 0x230: vfio-pci hides PASID"};
    expect_notes(&notes, want_notes, 1);
    ck_assert_ptr_null(find_block(l, VPCI_BLOCK_ECAP, 0x230));
    ck_assert_uint_eq(count_blocks(l, VPCI_BLOCK_ECAP), 7);
    ck_assert_uint_eq(count_blocks(l, VPCI_BLOCK_CAP), 3);
    ck_assert_uint_eq(count_blocks(l, VPCI_BLOCK_RAW), 0);

    const struct vpci_block *h = &l->blocks[0];
    ck_assert_int_eq(h->kind, VPCI_BLOCK_HEADER);
    expect_reg(h, "vendor_id", 0x00, 2, 0x8086, 0, 0, 0);
    expect_reg(h, "device_id", 0x02, 2, 0x0b25, 0, 0, 0);
    expect_reg(h, "command", 0x04, 2, 0x0000, 0x0547, 0, 0x0144);
    expect_reg(h, "status", 0x06, 2, 0x0010, 0, 0xf900, 0x0008);
    expect_reg(h, "cache_line_size", 0x0c, 1, 0, 0xff, 0, 0);
    expect_reg(h, "interrupt_line", 0x3c, 1, 0, 0xff, 0, 0);
    expect_reg(h, "subsystem_vendor", 0x2c, 2, 0x8086, 0, 0, 0);
    expect_reg(h, "base_class", 0x0b, 1, 0x08, 0, 0, 0);
    expect_reg(h, "subclass", 0x0a, 1, 0x80, 0, 0, 0);
    ck_assert_ptr_null(vpci_block_find_field(h, "reserved_38"));

    const struct vpci_block *msix = find_block(l, VPCI_BLOCK_CAP, 0x80);
    ck_assert_str_eq(msix->name, "msix");
    expect_reg(msix, "msgctl", 0x02, 2, 0x0008, 0xc000, 0, 0);
    expect_reg(msix, "table", 0x04, 4, 0x00002000, 0, 0, 0);
    expect_reg(msix, "pba", 0x08, 4, 0x00003000, 0, 0, 0);

    const struct vpci_block *pcie = find_block(l, VPCI_BLOCK_CAP, 0x40);
    expect_reg(pcie, "devctl", 0x08, 2, 0x5040, 0xfdff, 0, 0x0d1f);
    expect_reg(pcie, "devsta", 0x0a, 2, 0, 0, 0x000f, 0x0020);
    expect_reg(pcie, "devctl2", 0x28, 2, 0x0000, 0xffdf, 0, 0xffdf);
    expect_reg(pcie, "devcap2", 0x24, 4, 0x10730810, 0, 0, 0);

    const struct vpci_block *pm = find_block(l, VPCI_BLOCK_CAP, 0x90);
    expect_reg(pm, "pmcsr", 0x04, 2, 0x0008, 0x0103, 0x8000, 0);

    const struct vpci_block *aer = find_block(l, VPCI_BLOCK_ECAP, 0x100);
    ck_assert_uint_eq(aer->version, 2);
    expect_reg(aer, "aer_uncor_status", 0x04, 4, 0, 0, 0xffffffff, 0);
    expect_reg(aer, "aer_uncor_mask", 0x08, 4, 0x00100000, 0xffffffff, 0, 0);
    expect_reg(aer, "aer_cap", 0x18, 4, 0, 0x140, 0, 0);

    /* Vendor-specific bytes pass through to the device. */
    const struct vpci_block *dvsec = find_block(l, VPCI_BLOCK_ECAP, 0x200);
    expect_reg(dvsec, "dvsec_hdr1", 0x04, 4, 0x01808086, 0, 0, 0);
    const struct vpci_field *raw = &dvsec->fields[dvsec->nfields - 1];
    ck_assert(raw->is_bytes);
    ck_assert_uint_eq(raw->off, 0x0a);
    ck_assert_uint_eq(raw->len, 14);
    for (unsigned i = 0; i < 14; i++) {
        ck_assert_uint_eq(raw->phys[i], 0xff);
        ck_assert_uint_eq(raw->rw[i], 0xff);
    }

    /* BARs 0 and 2: 64-bit prefetchable, sizes from the Region lines. */
    static const uint64_t size[6] = {0x10000, 0, 0x20000, 0, 0, 0};
    for (int i = 0; i < 6; i++) {
        const struct vpci_bar *b = &l->bars[i];
        if (!size[i]) {
            ck_assert_int_eq(b->type, VPCI_BAR_NONE);
            continue;
        }
        ck_assert_int_eq(b->type, VPCI_BAR_MEM64);
        ck_assert(b->prefetch);
        EQX(b->size, size[i]);
        ck_assert_int_eq(b->from, i);
    }
    ck_assert_uint_eq(l->rom.size, 0);
    ck_assert(!l->rom.from_phys);

    /* What the guest reads at reset. */
    struct vpci_render *r = render_ok(l);
    EQX(le(r->val + 0x00, 4), 0x0b258086);
    EQX(le(r->val + 0x04, 4), 0x00100000);
    EQX(le(r->rw + 0x04, 2), 0x0547);
    EQX(le(r->w1c + 0x06, 2), 0xf900);
    EQX(r->val[0x0e], 0x00);
    EQX(le(r->val + 0x10, 4), 0x0000000c);
    EQX(le(r->val + 0x18, 4), 0x0000000c);
    EQX(r->val[0x34], 0x40);
    EQX(le(r->val + 0x100, 4), 0x15020001); /* AER v2 -> 0x150 */
    EQX(le(r->val + 0x220, 4), 0x2401000f); /* ATS -> PRI at 0x240 */
    EQX(le(r->val + 0x230, 4), 0);
    EQX(le(r->val + 0x240, 4), 0x00010013);
    free(r);
    vpci_layout_free(l);
    fix_free(&f);
}
END_TEST

START_TEST(test_vfio_dsa_with_intel_quirk)
{
    struct fixdev f = fix_load(DSA, NULL);
    char *text = intel_quirk_text();
    struct vpci_quirks *q = quirks_ok(text);
    free(text);
    struct vpci_derive_notes notes;
    struct vpci_layout *l =
        derive_ok(&f.dev, VPCI_POLICY_VFIO, q, &notes, "dsa vfio quirk");
    static const char *const want_notes[] = {
        "quirk for 8086:0b25 (line 10) applies",
        "hid ecap pasid at 0x230: vfio-pci hides PASID",
        "quirk line 11: virtual PASID at 0x230 (width 20, priv)"};
    expect_notes(&notes, want_notes, 3);

    const struct vpci_block *pasid = find_block(l, VPCI_BLOCK_ECAP, 0x230);
    ck_assert_ptr_nonnull(pasid);
    ck_assert_str_eq(pasid->name, "pasid");
    ck_assert_uint_eq(pasid->id, 0x001b);
    ck_assert_uint_eq(pasid->version, 1);
    ck_assert_uint_eq(pasid->nfields, 2);
    expect_reg(pasid, "pasid_cap", 0x04, 2, 0x1404, 0, 0, 0);
    expect_reg(pasid, "pasid_ctl", 0x06, 2, 0x0000, 0x0005, 0, 0);
    /* The rest is as without the quirk. */
    expect_reg(&l->blocks[0], "command", 0x04, 2, 0, 0x0547, 0, 0x0144);
    expect_reg(&l->blocks[0], "status", 0x06, 2, 0x0010, 0, 0xf900, 0x0008);
    expect_reg(find_block(l, VPCI_BLOCK_CAP, 0x80), "msgctl", 0x02, 2, 0x0008,
               0xc000, 0, 0);
    ck_assert_int_eq(l->bars[0].type, VPCI_BAR_MEM64);
    ck_assert(l->bars[0].prefetch);
    EQX(l->bars[0].size, 0x10000);
    ck_assert_int_eq(l->bars[2].type, VPCI_BAR_MEM64);
    ck_assert(l->bars[2].prefetch);
    EQX(l->bars[2].size, 0x20000);
    ck_assert_uint_eq(count_blocks(l, VPCI_BLOCK_ECAP), 8);

    /* The guest finds PASID on the chain, where bare metal has it. */
    struct vpci_render *r = render_ok(l);
    EQX(le(r->val + 0x240, 4), 0x23010013); /* PRI -> PASID */
    EQX(le(r->val + 0x230, 4), 0x0001001b);
    EQX(le(r->val + 0x234, 2), 0x1404);
    EQX(le(r->rw + 0x236, 2), 0x0005);
    free(r);

    /* Width, exec and priv from the quirk line. */
    struct vpci_quirks *q2 = quirks_ok("device 8086:0b25\n"
                                       "  pasid 0x300 width 8 exec\n");
    struct vpci_layout *l2 =
        derive_ok(&f.dev, VPCI_POLICY_VFIO, q2, &notes, "dsa pasid width");
    ck_assert(has_note(&notes, "quirk line 2: virtual PASID at 0x300 (width "
                               "8, exec, priv)"));
    const struct vpci_block *p2 = find_block(l2, VPCI_BLOCK_ECAP, 0x300);
    expect_reg(p2, "pasid_cap", 0x04, 2, 0x0806, 0, 0, 0);
    expect_reg(p2, "pasid_ctl", 0x06, 2, 0x0000, 0x0007, 0, 0);
    vpci_layout_free(l2);
    vpci_quirks_free(q2);

    vpci_layout_free(l);
    vpci_quirks_free(q);
    fix_free(&f);
}
END_TEST

START_TEST(test_vfio_pasid_placement)
{
    struct fixdev f = fix_load(DSA, NULL);
    struct vpci_derive_notes notes;

    /* Taken offset (AER at 0x100). */
    struct vpci_quirks *q = quirks_ok("device 8086:0b25\n  pasid 0x100\n");
    struct vpci_layout *l =
        derive_ok(&f.dev, VPCI_POLICY_VFIO, q, &notes, "taken");
    ck_assert(has_note(&notes, "quirk line 2: 0x100-0x107 is taken; PASID "
                               "not placed"));
    for (size_t i = 0; i < l->nblocks; i++)
        ck_assert(!(l->blocks[i].kind == VPCI_BLOCK_ECAP &&
                    l->blocks[i].id == 0x001b));
    vpci_layout_free(l);
    vpci_quirks_free(q);

    /* Two PASID lines: the second is skipped. */
    q = quirks_ok("device 8086:0b25\n  pasid 0x230\n  pasid 0x300\n");
    l = derive_ok(&f.dev, VPCI_POLICY_VFIO, q, &notes, "twice");
    ck_assert(has_note(&notes, "quirk line 3: a PASID capability is already "
                               "present; skipped"));
    ck_assert_ptr_nonnull(find_block(l, VPCI_BLOCK_ECAP, 0x230));
    ck_assert_ptr_null(find_block(l, VPCI_BLOCK_ECAP, 0x300));
    vpci_layout_free(l);
    vpci_quirks_free(q);

    /* Only 256 bytes dumped: no extended space. */
    f.dev.size = 256;
    q = quirks_ok("device 8086:0b25\n  pasid 0x230\n");
    l = derive_ok(&f.dev, VPCI_POLICY_VFIO, q, &notes, "256");
    ck_assert_uint_eq(l->space, 256);
    ck_assert(has_note(&notes, "quirk line 2: no extended space for a PASID "
                               "capability; skipped"));
    ck_assert_uint_eq(count_blocks(l, VPCI_BLOCK_ECAP), 0);
    vpci_layout_free(l);
    vpci_quirks_free(q);
    fix_free(&f);

    /* No extended capability shown: a null placeholder anchors 0x100. */
    f = fix_load("dumps/intel-bridge-8086-b002-ptm-4k.lspci", NULL);
    q = quirks_ok("device 8086:b002\n  pasid 0x200 width 5\n");
    l = derive_ok(&f.dev, VPCI_POLICY_VFIO, q, &notes, "anchor");
    ck_assert(has_note(&notes, "hid ecap ptm at 0x100: vfio-pci does not "
                               "expose it"));
    ck_assert(has_note(&notes, "quirk line 2: virtual PASID at 0x200 (width "
                               "5)"));
    const struct vpci_block *nul = find_block(l, VPCI_BLOCK_ECAP, 0x100);
    ck_assert_ptr_nonnull(nul);
    ck_assert_uint_eq(nul->id, 0);
    ck_assert_str_eq(nul->name, "null");
    expect_reg(find_block(l, VPCI_BLOCK_ECAP, 0x200), "pasid_cap", 4, 2, 0x0500,
               0, 0, 0);
    struct vpci_render *r = render_ok(l);
    EQX(le(r->val + 0x100, 4), 0x20000000);
    EQX(le(r->val + 0x200, 4), 0x0001001b);
    free(r);
    vpci_layout_free(l);
    vpci_quirks_free(q);
    fix_free(&f);
}
END_TEST

/* ------------------------------------------------------------ vfio: others */

START_TEST(test_vfio_sriov_pf)
{
    struct fixdev f = fix_load(IGB, NULL);
    struct vpci_derive_notes notes;
    struct vpci_layout *l =
        derive_ok(&f.dev, VPCI_POLICY_VFIO, NULL, &notes, "igb");
    static const char *const want_notes[] = {
        "hid ecap ari at 0x150: QEMU drops it",
        "hid ecap sriov at 0x160: QEMU drops it"};
    expect_notes(&notes, want_notes, 2);
    ck_assert_ptr_null(find_block(l, VPCI_BLOCK_ECAP, 0x150));
    ck_assert_ptr_null(find_block(l, VPCI_BLOCK_ECAP, 0x160));
    ck_assert_ptr_nonnull(find_block(l, VPCI_BLOCK_ECAP, 0x100));
    ck_assert_ptr_nonnull(find_block(l, VPCI_BLOCK_ECAP, 0x140));
    ck_assert_uint_eq(count_blocks(l, VPCI_BLOCK_ECAP), 2);
    ck_assert_uint_eq(count_blocks(l, VPCI_BLOCK_CAP), 4);

    /* 64-bit maskable MSI: the 64-bit register set. */
    const struct vpci_block *msi = find_block(l, VPCI_BLOCK_CAP, 0x50);
    ck_assert_str_eq(msi->name, "msi");
    ck_assert_ptr_nonnull(vpci_block_find_field(msi, "msg_addr_hi"));
    ck_assert_ptr_nonnull(vpci_block_find_field(msi, "mask"));
    ck_assert_ptr_null(vpci_block_find_field(msi, "msg_data32"));
    expect_reg(msi, "msgctl", 0x02, 2, 0x0180, 0x0071, 0, 0);
    expect_reg(msi, "msg_addr", 0x04, 4, 0, 0xfffffffc, 0, 0);
    expect_reg(msi, "msg_data", 0x0c, 2, 0, 0xffff, 0, 0);
    expect_reg(msi, "pending", 0x14, 4, 0, 0, 0, 0);

    /* BARs and ROM from the Region lines. */
    static const struct {
        enum vpci_bar_type type;
        uint64_t size;
    } bars[6] = {{VPCI_BAR_MEM32, 128 << 10}, {VPCI_BAR_MEM32, 4 << 20},
                 {VPCI_BAR_IO, 32},           {VPCI_BAR_MEM32, 16 << 10},
                 {VPCI_BAR_NONE, 0},          {VPCI_BAR_NONE, 0}};
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(l->bars[i].type, bars[i].type);
        EQX(l->bars[i].size, bars[i].size);
        ck_assert(!l->bars[i].prefetch);
    }
    EQX(l->rom.size, 4 << 20);
    ck_assert(l->rom.from_phys);

    struct vpci_render *r = render_ok(l);
    EQX(le(r->val + 0x140, 4), 0x00010003); /* DSN is last now */
    EQX(le(r->val + 0x100, 4), 0x14010001);
    free(r);
    vpci_layout_free(l);
    fix_free(&f);
}
END_TEST

START_TEST(test_vfio_hidden_first_ecap)
{
    struct fixdev f = fix_load(THUNDERX, NULL);
    struct vpci_derive_notes notes;
    struct vpci_layout *l =
        derive_ok(&f.dev, VPCI_POLICY_VFIO, NULL, &notes, "thunderx");
    static const char *const want_notes[] = {
        "hid cap ea at 0x98: vfio-pci does not expose it",
        "hid ecap ari at 0x100: QEMU drops it",
        "hid ecap sriov at 0x180: QEMU drops it",
        "ecap null at 0x100: placeholder anchoring the extended chain"};
    expect_notes(&notes, want_notes, 4);
    /* Block order is chain order: null (0x100) then VSEC (0x108). */
    static const struct {
        enum vpci_block_kind kind;
        uint16_t off, id;
    } want[] = {
        {VPCI_BLOCK_HEADER, 0, 0},        {VPCI_BLOCK_CAP, 0x40, 0x10},
        {VPCI_BLOCK_CAP, 0x80, 0x11},     {VPCI_BLOCK_ECAP, 0x100, 0x0000},
        {VPCI_BLOCK_ECAP, 0x108, 0x000b},
    };
    ck_assert_uint_eq(l->nblocks, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < l->nblocks; i++) {
        ck_assert_int_eq(l->blocks[i].kind, want[i].kind);
        ck_assert_uint_eq(l->blocks[i].off, want[i].off);
        ck_assert_uint_eq(l->blocks[i].id, want[i].id);
    }
    ck_assert_str_eq(l->blocks[3].name, "null");
    ck_assert_uint_eq(l->blocks[3].nfields, 0);
    struct vpci_render *r = render_ok(l);
    EQX(le(r->val + 0x100, 4), 0x10800000);    /* null -> 0x108 */
    EQX(le(r->val + 0x108, 4), 0x0001000b);    /* VSEC, end of chain */
    EQX(le(r->val + 0x10c, 4), 0x040100a0);    /* VSEC header: ID a0 Len 040 */
    for (unsigned i = 0x110; i < 0x148; i++) { /* its body: the device's */
        ck_assert_uint_eq(r->phys[i], 0xff);
        ck_assert_uint_eq(r->val[i], 0);
    }
    EQX(le(r->val + 0x180, 4), 0); /* SR-IOV is gone */
    EQX(r->val[0x98], 0);
    free(r);
    /* EA BARs: sizes from the [virtual] Region lines. */
    ck_assert_int_eq(l->bars[0].type, VPCI_BAR_MEM32);
    EQX(l->bars[0].size, 1 << 30);
    ck_assert_int_eq(l->bars[4].type, VPCI_BAR_MEM32);
    EQX(l->bars[4].size, 1 << 20);
    vpci_layout_free(l);
    fix_free(&f);
}
END_TEST

START_TEST(test_vfio_notes_bars)
{
    struct vpci_derive_notes notes;
    struct vpci_layout *l;

    /* No verbose text: BAR sizes are unknown. */
    struct fixdev f =
        fix_load("dumps/creative-emu20k2-1102-000b-256b.lspci", NULL);
    l = derive_ok(&f.dev, VPCI_POLICY_VFIO, NULL, &notes, "emu20k2");
    ck_assert(has_note(&notes, "BAR 0: size unknown (no Region line or sysfs "
                               "resource); left out"));
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(l->bars[i].type, VPCI_BAR_NONE);
    vpci_layout_free(l);
    fix_free(&f);

    /* A 1K I/O BAR cannot be presented. */
    f = fix_load("dumps/intel-0d93-xilinx-c084-cxl-dvsec-4k.lspci",
                 "0000:6b:00.0");
    l = derive_ok(&f.dev, VPCI_POLICY_VFIO, NULL, &notes, "0d93");
    ck_assert(has_note(&notes, "BAR 2: size 0x400 does not fit a io BAR; "
                               "left out"));
    ck_assert_int_eq(l->bars[2].type, VPCI_BAR_NONE);
    ck_assert_int_eq(l->bars[0].type, VPCI_BAR_MEM32);
    EQX(l->bars[0].size, 1 << 20);
    ck_assert_int_eq(l->bars[4].type, VPCI_BAR_MEM32);
    ck_assert(l->bars[4].prefetch);
    EQX(l->bars[4].size, 16 << 20);
    /* Hidden: SR-IOV, ReBAR (QEMU), PASID (vfio), MFVC, VC9, secpci, PTM. */
    ck_assert(has_note(&notes, "hid ecap sriov at 0xb80: QEMU drops it"));
    ck_assert(has_note(&notes, "hid ecap rebar at 0x700: QEMU drops it"));
    ck_assert(has_note(&notes, "hid ecap pasid at 0xb40: vfio-pci hides "
                               "PASID"));
    ck_assert(has_note(&notes, "hid ecap ptm at 0xb50: vfio-pci does not "
                               "expose it"));
    vpci_layout_free(l);

    /* Non-power-of-two sizes are rounded up, ROM sizes checked. */
    f.dev.bar_size[0] = 3000;
    f.dev.bar_size[2] = 0;
    f.dev.rom_size = 1000;
    l = derive_ok(&f.dev, VPCI_POLICY_VFIO, NULL, &notes, "0d93 odd");
    ck_assert(has_note(&notes, "BAR 0: size 0xbb8 rounded up to a power of "
                               "two"));
    ck_assert(has_note(&notes, "BAR 2: size unknown (no Region line or sysfs "
                               "resource); left out"));
    ck_assert(has_note(&notes, "ROM size 0x3e8 is not a valid ROM size; left "
                               "out"));
    EQX(l->bars[0].size, 4096);
    ck_assert_uint_eq(l->rom.size, 0);
    vpci_layout_free(l);
    fix_free(&f);

    /* Decoder warnings become notes. */
    f = fix_load("dumps/messy/machine-rockchip-rk3399-asm1184-gk106-256b."
                 "lspci",
                 "0000:04:00.0");
    l = derive_ok(&f.dev, VPCI_POLICY_VFIO, NULL, &notes, "gk106");
    ck_assert_str_eq(notes.note[0], "decoder: capability at 0xb4 is beyond "
                                    "the 128 bytes dumped");
    ck_assert_uint_eq(l->space, 256);
    vpci_layout_free(l);
    fix_free(&f);
}
END_TEST

/* Standard and extended IDs the vfio policy shows (vpci-layout(5)). */
static bool std_shown(uint16_t id)
{
    static const uint16_t ids[] = {0x01, 0x02, 0x03, 0x05, 0x07, 0x08,
                                   0x09, 0x10, 0x11, 0x12, 0x13};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        if (ids[i] == id)
            return true;
    return false;
}

static bool ext_shown(uint16_t id)
{
    static const uint16_t ids[] = {0x0001, 0x0002, 0x0003, 0x0004, 0x0008,
                                   0x0009, 0x000b, 0x000d, 0x000f, 0x0012,
                                   0x0013, 0x0016, 0x0017, 0x0018, 0x0023};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        if (ids[i] == id)
            return true;
    return false;
}

static void vfio_dir(const char *subdir, const struct vpci_quirks *q,
                     size_t *ret_ok)
{
    char **list = tu_list_dumps(subdir);
    struct vpci_decoded *dec = malloc(sizeof(*dec));
    ck_assert_ptr_nonnull(dec);
    for (char **name = list; *name; name++) {
        char rel[512];
        snprintf(rel, sizeof(rel), "%s/%s", subdir, *name);
        size_t n;
        struct vpci_dump_dev *d = tu_dumps(rel, &n);
        for (size_t i = 0; i < n; i++) {
            unsigned ht = d[i].cfg[0x0e] & 0x7f;
            if (le(d[i].cfg, 2) == 0xffff || ht > 1 || d[i].size < 64)
                continue;
            char what[600];
            snprintf(what, sizeof(what), "%s %s", rel, d[i].slot);
            struct vpci_device dev;
            dev_from_dump(&d[i], &dev);
            struct vpci_derive_notes notes;
            struct vpci_layout *l =
                derive_ok(&dev, VPCI_POLICY_VFIO, q, &notes, what);
            struct vpci_render *r = render_ok(l);
            /* The vfio header. */
            EQX(le(r->val, 2), le(d[i].cfg, 2));
            EQX(le(r->rw + 4, 2), 0x0547);
            EQX(le(r->phys + 4, 2), 0x0144);
            EQX(le(r->val + 4, 2), 0);
            EQX(le(r->w1c + 6, 2), 0xf900);
            EQX(r->val[0x0e], ht); /* never multi-function */
            EQX(r->rw[0x3c], 0xff);
            for (unsigned b = 0; b < r->size; b++)
                ck_assert_msg(!(r->rw[b] & r->w1c[b]), "%s: 0x%x rw & w1c",
                              what, b);
            /* Only what vfio-pci and QEMU show, plus the placeholder and
             * a quirk's PASID; the extended chain starts at 0x100. */
            bool first_ext = true;
            for (size_t k = 1; k < l->nblocks; k++) {
                const struct vpci_block *b = &l->blocks[k];
                if (b->kind == VPCI_BLOCK_CAP)
                    ck_assert_msg(std_shown(b->id), "%s: cap 0x%x shown", what,
                                  b->id);
                if (b->kind != VPCI_BLOCK_ECAP)
                    continue;
                if (first_ext)
                    ck_assert_msg(b->off == 0x100, "%s: chain at 0x%x", what,
                                  b->off);
                first_ext = false;
                ck_assert_msg(
                    ext_shown(b->id) || (b->id == 0 && b->off == 0x100) ||
                        (b->id == 0x1b && le(d[i].cfg, 4) == 0x0b258086),
                    "%s: ecap 0x%x shown", what, b->id);
            }
            /* Every capability left out is in the notes. */
            vpci_decode(d[i].cfg, d[i].size, dec);
            for (size_t k = 0; k < dec->ncaps && !notes.dropped; k++) {
                const struct vpci_cap_info *c = &dec->caps[k];
                if (c->ext && l->space < 4096)
                    continue;
                bool present = false;
                for (size_t b = 1; b < l->nblocks; b++)
                    present |= l->blocks[b].kind == (c->ext ? VPCI_BLOCK_ECAP
                                                            : VPCI_BLOCK_CAP) &&
                               l->blocks[b].off == c->off;
                if (present)
                    continue;
                char prefix[64];
                if (c->def)
                    snprintf(prefix, sizeof(prefix),
                             "hid %s %s at 0x%x: ", c->ext ? "ecap" : "cap",
                             c->def->name, c->off);
                else
                    snprintf(prefix, sizeof(prefix), "hid %s id 0x%x at 0x%x",
                             c->ext ? "ecap" : "cap", c->id, c->off);
                char alt[64];
                snprintf(alt, sizeof(alt), "%s at 0x%x ",
                         c->ext ? "ecap" : "cap", c->off);
                ck_assert_msg(has_note_prefix(&notes, prefix) ||
                                  has_note_prefix(&notes, alt),
                              "%s: %s 0x%x at 0x%x left out without a note",
                              what, c->ext ? "ecap" : "cap", c->id, c->off);
            }
            (*ret_ok)++;
            free(r);
            vpci_layout_free(l);
        }
        free(d);
    }
    free(dec);
    tu_free_list(list);
}

START_TEST(test_vfio_every_clean_dump)
{
    char *text = intel_quirk_text();
    struct vpci_quirks *q = quirks_ok(text);
    free(text);
    size_t ok = 0;
    vfio_dir("dumps", q, &ok);
    ck_assert_uint_eq(ok, 339);
    ok = 0;
    vfio_dir("dumps/nonreal", q, &ok);
    ck_assert_uint_eq(ok, 5);
    ok = 0;
    vfio_dir("dumps/messy", q, &ok);
    ck_assert_uint_ge(ok, 130);
    vpci_quirks_free(q);
}
END_TEST

/* ------------------------------------------------------------ quirks */

START_TEST(test_quirks_parse_good)
{
    static const char text[] =
        "# SPDX-License-Identifier: BSD-2-Clause\n"
        "\n"
        "device 8086:0b25 subsystem 8086:0000   # the DSA\n"
        "  hide cap msix\n"
        "\thide ecap 0x0018\n"
        "  keep 0x60 8 rw\n"
        "  keep 0xa0 16\n"
        "  pasid 0x230 width 8 exec priv\r\n"
        "  # indented comment\n"
        "device 10ee:c084\n"
        "  hide ecap dvsec\n"
        "  hide cap 0x05\n"
        "  pasid 0x300";
    struct vpci_quirks *q = quirks_ok(text);
    ck_assert_uint_eq(q->n, 2);
    const struct quirk *a = &q->q[0];
    ck_assert_uint_eq(a->vendor, 0x8086);
    ck_assert_uint_eq(a->device, 0x0b25);
    ck_assert(a->has_subsys);
    ck_assert_uint_eq(a->subsys_vendor, 0x8086);
    ck_assert_uint_eq(a->subsys_id, 0x0000);
    ck_assert_uint_eq(a->line, 3);
    ck_assert_uint_eq(a->nactions, 5);
    ck_assert_int_eq(a->actions[0].kind, QUIRK_HIDE);
    ck_assert(!a->actions[0].ext);
    ck_assert_uint_eq(a->actions[0].id, 0x11);
    ck_assert_uint_eq(a->actions[0].line, 4);
    ck_assert_int_eq(a->actions[1].kind, QUIRK_HIDE);
    ck_assert(a->actions[1].ext);
    ck_assert_uint_eq(a->actions[1].id, 0x18);
    ck_assert_int_eq(a->actions[2].kind, QUIRK_KEEP);
    ck_assert_uint_eq(a->actions[2].off, 0x60);
    ck_assert_uint_eq(a->actions[2].len, 8);
    ck_assert(a->actions[2].rw);
    ck_assert_int_eq(a->actions[3].kind, QUIRK_KEEP);
    ck_assert_uint_eq(a->actions[3].off, 0xa0);
    ck_assert_uint_eq(a->actions[3].len, 16);
    ck_assert(!a->actions[3].rw);
    ck_assert_int_eq(a->actions[4].kind, QUIRK_PASID);
    ck_assert_uint_eq(a->actions[4].off, 0x230);
    ck_assert_uint_eq(a->actions[4].width, 8);
    ck_assert_int_eq(a->actions[4].exec, 1);
    ck_assert_int_eq(a->actions[4].priv, 1);
    ck_assert_uint_eq(a->actions[4].line, 8);
    const struct quirk *b = &q->q[1];
    ck_assert_uint_eq(b->vendor, 0x10ee);
    ck_assert_uint_eq(b->device, 0xc084);
    ck_assert(!b->has_subsys);
    ck_assert_uint_eq(b->line, 10);
    ck_assert_uint_eq(b->nactions, 3);
    ck_assert(b->actions[0].ext);
    ck_assert_uint_eq(b->actions[0].id, 0x23);
    ck_assert(!b->actions[1].ext);
    ck_assert_uint_eq(b->actions[1].id, 0x05);
    ck_assert_uint_eq(b->actions[2].width, 0);
    ck_assert_int_eq(b->actions[2].exec, -1);
    ck_assert_int_eq(b->actions[2].priv, -1);
    vpci_quirks_free(q);

    /* Empty and comment-only texts are an empty set. */
    q = quirks_ok("");
    ck_assert_uint_eq(q->n, 0);
    vpci_quirks_free(q);
    q = quirks_ok("# nothing\n\n   \n");
    ck_assert_uint_eq(q->n, 0);
    vpci_quirks_free(q);

    /* The shipped file. */
    char *t = intel_quirk_text();
    q = quirks_ok(t);
    free(t);
    ck_assert_uint_eq(q->n, 1);
    ck_assert_uint_eq(q->q[0].vendor, 0x8086);
    ck_assert_uint_eq(q->q[0].device, 0x0b25);
    ck_assert_uint_eq(q->q[0].nactions, 1);
    ck_assert_int_eq(q->q[0].actions[0].kind, QUIRK_PASID);
    ck_assert_uint_eq(q->q[0].actions[0].off, 0x230);
    vpci_quirks_free(q);

    vpci_quirks_free(NULL);
    ck_assert_int_eq(vpci_quirks_parse("", 0, NULL, NULL), -EINVAL);
    q = NULL;
    ck_assert_int_eq(vpci_quirks_parse(NULL, 3, &q, NULL), -EINVAL);
    ck_assert_ptr_null(q);
}
END_TEST

static const struct {
    const char *text;
    unsigned line, col;
    const char *msg;
} bad_quirks[] = {
    {"  hide cap pm\n", 1, 3, "an action needs a 'device' line above it"},
    {"device\n", 1, 7, "expected VVVV:DDDD at the end of the line"},
    {"device 8086\n", 1, 8, "expected VVVV:DDDD (hex IDs), found '8086'"},
    {"device 8086:0B25\n", 1, 8,
     "expected VVVV:DDDD (lowercase hex IDs), found '8086:0B25'"},
    {"device 8086:0b2g\n", 1, 8,
     "expected VVVV:DDDD (lowercase hex IDs), found '8086:0b2g'"},
    {"device 8086:0b25 sub 1\n", 1, 18,
     "expected 'subsystem' or the end of the line, found 'sub'"},
    {"device 8086:0b25 subsystem\n", 1, 27,
     "expected SSSS:SSSS at the end of the line"},
    {"device 8086:0b25 subsystem 8086-0000\n", 1, 28,
     "expected VVVV:DDDD (hex IDs), found '8086-0000'"},
    {"device 8086:0b25 subsystem 8086:0000 x\n", 1, 38,
     "unexpected 'x' at the end of the device line"},
    {"  device 8086:0b25\n", 1, 3,
     "'device' starts a quirk and is not indented"},
    {"hide cap pm\n", 1, 1, "expected 'device VVVV:DDDD', found 'hide'"},
    {"# ok\ndevice 8086:0b25\n  frob\n", 3, 3,
     "expected 'hide', 'keep' or 'pasid', found 'frob'"},
    {"device 8086:0b25\n  hide\n", 2, 7,
     "expected 'cap' or 'ecap' at the end of the line"},
    {"device 8086:0b25\n  hide capability pm\n", 2, 8,
     "expected 'cap' or 'ecap', found 'capability'"},
    {"device 8086:0b25\n  hide cap\n", 2, 11,
     "expected a capability name or ID at the end of the line"},
    {"device 8086:0b25\n  hide cap pasid\n", 2, 12,
     "unknown capability 'pasid': expected a name from vpci-layout(5) or a "
     "hex ID"},
    {"device 8086:0b25\n  hide ecap msix\n", 2, 13,
     "unknown extended capability 'msix'"},
    {"device 8086:0b25\n  hide cap 0x100\n", 2, 12,
     "a capability ID '0x100' exceeds 0xff"},
    {"device 8086:0b25\n  hide ecap 0x10000\n", 2, 13,
     "a capability ID '0x10000' exceeds 0xffff"},
    {"device 8086:0b25\n  hide cap 0xzz\n", 2, 12,
     "expected a capability ID, found '0xzz'"},
    {"device 8086:0b25\n  hide cap pm now\n", 2, 15,
     "unexpected 'now' at the end of the action"},
    {"device 8086:0b25\n  keep\n", 2, 7,
     "expected an offset at the end of the line"},
    {"device 8086:0b25\n  keep 0x40\n", 2, 12,
     "expected a length in bytes at the end of the line"},
    {"device 8086:0b25\n  keep 0x40 0\n", 2, 13,
     "expected a length of at least 1"},
    {"device 8086:0b25\n  keep 0x3c 4\n", 2, 8,
     "keep offset 0x3c is in the header (0x00-0x3f)"},
    {"device 8086:0b25\n  keep 0xffc 8\n", 2, 14,
     "range 0xffc+8 ends past 0xfff"},
    {"device 8086:0b25\n  keep 0x1000 4\n", 2, 8,
     "an offset '0x1000' exceeds 0xfff"},
    {"device 8086:0b25\n  keep 0x40 4097\n", 2, 13,
     "a length in bytes '4097' exceeds 0x1000"},
    {"device 8086:0b25\n  keep 0x40 4 ro\n", 2, 15,
     "unexpected 'ro' at the end of the action"},
    {"device 8086:0b25\n  keep forty 4\n", 2, 8,
     "expected an offset, found 'forty'"},
    {"device 8086:0b25\n  keep 0x 4\n", 2, 8, "expected an offset, found '0x'"},
    {"device 8086:0b25\n  pasid 0x80\n", 2, 9,
     "PASID offset 0x80 must be dword aligned in 0x100-0xff8"},
    {"device 8086:0b25\n  pasid 0x232\n", 2, 9,
     "PASID offset 0x232 must be dword aligned in 0x100-0xff8"},
    {"device 8086:0b25\n  pasid 0xffc\n", 2, 9,
     "PASID offset 0xffc must be dword aligned in 0x100-0xff8"},
    {"device 8086:0b25\n  pasid\n", 2, 8,
     "expected an offset at the end of the line"},
    {"device 8086:0b25\n  pasid 0x230 width\n", 2, 20,
     "expected a width at the end of the line"},
    {"device 8086:0b25\n  pasid 0x230 width 0\n", 2, 21,
     "expected a PASID width of 1-20"},
    {"device 8086:0b25\n  pasid 0x230 width 21\n", 2, 21,
     "a PASID width '21' exceeds 0x14"},
    {"device 8086:0b25\n  pasid 0x230 fast\n", 2, 15,
     "expected 'width', 'exec' or 'priv', found 'fast'"},
    {"device 8086:0b25\n  hide cap pm\x01\n", 2, 14,
     "unexpected byte 0x01 (quirk files are ASCII)"},
    {"device 8086:0b25\n  hide cap p\xc3\xa9\n", 2, 13,
     "unexpected byte 0xc3 (quirk files are ASCII)"},
    {"device 8086:0b25\n  keep 1 2 3 4 5 6 7 8 9 10 11 12\n", 2, 32,
     "too many words on one line"},
    {"device 8086:0b25\r\n  hide cap pm\r\n  hide cap nope\r\n", 3, 12,
     "unknown capability 'nope'"},
};

START_TEST(test_quirks_parse_bad)
{
    for (size_t i = 0; i < sizeof(bad_quirks) / sizeof(bad_quirks[0]); i++) {
        struct vpci_quirks *q = NULL;
        struct vpci_error err = {0};
        int r = vpci_quirks_parse(bad_quirks[i].text,
                                  strlen(bad_quirks[i].text), &q, &err);
        ck_assert_msg(r == -EINVAL, "case %zu: %d", i, r);
        ck_assert_msg(q == NULL, "case %zu: a set was left", i);
        ck_assert_msg(err.line == bad_quirks[i].line &&
                          err.col == bad_quirks[i].col,
                      "case %zu: %u:%u (%s), expected %u:%u", i, err.line,
                      err.col, err.msg, bad_quirks[i].line, bad_quirks[i].col);
        ck_assert_msg(strstr(err.msg, bad_quirks[i].msg) != NULL,
                      "case %zu: '%s' lacks '%s'", i, err.msg,
                      bad_quirks[i].msg);
    }
    ck_assert_uint_ge(sizeof(bad_quirks) / sizeof(bad_quirks[0]), 25);
}
END_TEST

START_TEST(test_quirks_parse_limits)
{
    struct vpci_quirks *q = NULL;
    struct vpci_error err = {0};

    /* NUL byte. */
    static const char nul[] = "device 8086:0b25\n  hide\0 cap pm\n";
    ck_assert_int_eq(vpci_quirks_parse(nul, sizeof(nul) - 1, &q, &err),
                     -EINVAL);
    ck_assert_uint_eq(err.line, 2);
    ck_assert_uint_eq(err.col, 7);
    ck_assert_str_eq(err.msg, "unexpected NUL byte");
    ck_assert_ptr_null(q);

    /* A line longer than 1024 bytes. */
    char *long_line = malloc(2100);
    ck_assert_ptr_nonnull(long_line);
    memset(long_line, '#', 2099);
    long_line[2099] = '\0';
    memcpy(long_line, "device 8086:0b25\n", 17);
    ck_assert_int_eq(vpci_quirks_parse(long_line, strlen(long_line), &q, &err),
                     -EINVAL);
    ck_assert_uint_eq(err.line, 2);
    ck_assert_uint_eq(err.col, 1025);
    ck_assert_str_eq(err.msg, "line longer than 1024 bytes");
    /* 1024 is fine. */
    long_line[17 + 1024] = '\0';
    q = quirks_ok(long_line);
    ck_assert_uint_eq(q->n, 1);
    vpci_quirks_free(q);
    q = NULL;
    free(long_line);

    /* 64 actions per device, not 65. */
    size_t cap = 17 + 65 * 16 + 1;
    char *many = malloc(cap);
    ck_assert_ptr_nonnull(many);
    strcpy(many, "device 8086:0b25\n");
    for (int i = 0; i < 64; i++)
        strcat(many, "  hide cap pm\n");
    q = quirks_ok(many);
    ck_assert_uint_eq(q->q[0].nactions, 64);
    vpci_quirks_free(q);
    q = NULL;
    strcat(many, "  hide cap pm\n");
    ck_assert_int_eq(vpci_quirks_parse(many, strlen(many), &q, &err), -EINVAL);
    ck_assert_uint_eq(err.line, 66);
    ck_assert_uint_eq(err.col, 3);
    ck_assert_str_eq(err.msg, "too many actions for one device (at most 64)");
    free(many);

    /* 4096 quirks in a set, not 4097. */
    size_t big = 4097 * 17 + 1;
    char *devs = malloc(big);
    ck_assert_ptr_nonnull(devs);
    devs[0] = '\0';
    size_t len = 0;
    for (int i = 0; i < 4097; i++)
        len += (size_t)snprintf(devs + len, big - len, "device 8086:%04x\n", i);
    q = NULL;
    ck_assert_int_eq(vpci_quirks_parse(devs, len, &q, &err), -EINVAL);
    ck_assert_uint_eq(err.line, 4097);
    ck_assert_uint_eq(err.col, 1);
    ck_assert_str_eq(err.msg, "too many quirks (at most 4096)");
    ck_assert_ptr_null(q);
    q = quirks_ok("");
    ck_assert_int_eq(vpci_quirks_parse(devs, len - 17, &q, &err), 0);
    ck_assert_uint_eq(q->n, 4096);
    vpci_quirks_free(q);
    free(devs);
}
END_TEST

START_TEST(test_quirks_two_texts_and_failure)
{
    struct vpci_quirks *q = quirks_ok("device 8086:0b25\n  pasid 0x230\n");
    struct vpci_error err = {0};
    /* A second text into the same set. */
    static const char second[] = "device 8086:10c9\n  hide ecap aer\n";
    ck_assert_int_eq(vpci_quirks_parse(second, strlen(second), &q, &err), 0);
    ck_assert_uint_eq(q->n, 2);
    /* Line numbers are per text. */
    ck_assert_uint_eq(q->q[1].line, 1);
    ck_assert_uint_eq(q->q[1].actions[0].line, 2);

    /* A failing third text leaves the set as it was. */
    static const char third[] = "device 8086:0b25\n"
                                "  hide cap msix\n"
                                "device 1234:5678\n"
                                "  hide cap pm\n"
                                "  frob\n";
    struct vpci_quirks *before = q;
    ck_assert_int_eq(vpci_quirks_parse(third, strlen(third), &q, &err),
                     -EINVAL);
    ck_assert_ptr_eq(q, before);
    ck_assert_uint_eq(err.line, 5);
    ck_assert_uint_eq(q->n, 2);
    ck_assert_uint_eq(q->q[0].nactions, 1);

    /* An action at the top of a text does not join the previous text's
     * last device. */
    static const char orphan[] = "  hide cap pm\n";
    ck_assert_int_eq(vpci_quirks_parse(orphan, strlen(orphan), &q, &err),
                     -EINVAL);
    ck_assert_str_eq(err.msg, "an action needs a 'device' line above it");
    ck_assert_uint_eq(q->q[1].nactions, 1);

    /* Both texts apply; the failed one does not. */
    struct fixdev dsa = fix_load(DSA, NULL);
    struct vpci_derive_notes notes;
    struct vpci_layout *l =
        derive_ok(&dsa.dev, VPCI_POLICY_VFIO, q, &notes, "dsa");
    ck_assert_ptr_nonnull(find_block(l, VPCI_BLOCK_ECAP, 0x230));
    ck_assert_ptr_nonnull(find_block(l, VPCI_BLOCK_CAP, 0x80));
    vpci_layout_free(l);
    fix_free(&dsa);
    struct fixdev igb = fix_load(IGB, NULL);
    l = derive_ok(&igb.dev, VPCI_POLICY_VFIO, q, &notes, "igb");
    ck_assert(has_note(&notes, "quirk for 8086:10c9 (line 1) applies"));
    ck_assert(has_note(&notes, "hid ecap aer at 0x100: quirk"));
    /* AER hidden at 0x100: DSN is next, behind a placeholder. */
    ck_assert_ptr_nonnull(find_block(l, VPCI_BLOCK_ECAP, 0x140));
    const struct vpci_block *nul = find_block(l, VPCI_BLOCK_ECAP, 0x100);
    ck_assert_ptr_nonnull(nul);
    ck_assert_uint_eq(nul->id, 0);
    vpci_layout_free(l);
    fix_free(&igb);
    vpci_quirks_free(q);
}
END_TEST

START_TEST(test_quirks_hide_keep)
{
    struct fixdev f = fix_load(DSA, NULL);
    struct vpci_quirks *q = quirks_ok("device 8086:0b25\n"
                                      "  hide cap msix\n"
                                      "  hide ecap 0x0018\n"
                                      "  keep 0xa0 16 rw\n"
                                      "  keep 0x94 12\n"
                                      "  keep 0x100 8\n"
                                      "  keep 0x80 4\n");
    struct vpci_derive_notes notes;
    struct vpci_layout *l =
        derive_ok(&f.dev, VPCI_POLICY_VFIO, q, &notes, "hide keep");
    static const char *const want[] = {
        "quirk for 8086:0b25 (line 1) applies",
        "hid cap msix at 0x80: quirk",
        "hid ecap ltr at 0x150: quirk",
        "hid ecap pasid at 0x230: vfio-pci hides PASID",
        "quirk line 4: kept 0xa0-0xaf as phys rw (16 bytes)",
        "quirk line 5: kept 0x94-0x9f as phys (8 bytes)",
        "quirk line 6: kept 0x100-0x107 as phys (0 bytes)",
        "quirk line 7: kept 0x80-0x83 as phys (4 bytes)",
    };
    expect_notes(&notes, want, sizeof(want) / sizeof(want[0]));
    ck_assert_ptr_null(find_block(l, VPCI_BLOCK_CAP, 0x80));
    ck_assert_ptr_null(find_block(l, VPCI_BLOCK_ECAP, 0x150));
    ck_assert_uint_eq(count_blocks(l, VPCI_BLOCK_RAW), 1);
    const struct vpci_block *raw = find_block(l, VPCI_BLOCK_RAW, 0);
    ck_assert_uint_eq(raw->nfields, 3);

    struct vpci_render *r = render_ok(l);
    /* The kept ranges read the device; rw ones also write it. */
    for (unsigned b = 0xa0; b < 0xb0; b++) {
        ck_assert_uint_eq(r->phys[b], 0xff);
        ck_assert_uint_eq(r->rw[b], 0xff);
        ck_assert_uint_eq(r->val[b], 0);
    }
    for (unsigned b = 0x98; b < 0xa0; b++) {
        ck_assert_uint_eq(r->phys[b], 0xff);
        ck_assert_uint_eq(r->rw[b], 0);
    }
    for (unsigned b = 0x80; b < 0x84; b++) {
        ck_assert_uint_eq(r->phys[b], 0xff);
        ck_assert_uint_eq(r->rw[b], 0);
    }
    /* PM keeps its own masks where the keep overlapped it. */
    EQX(le(r->rw + 0x94, 2), 0x0103);
    EQX(le(r->phys + 0x94, 2), 0);
    /* The chains skip the hidden capabilities. */
    EQX(r->val[0x41], 0x90);
    EQX(le(r->val + 0x100, 4), 0x16020001); /* AER -> TPH */
    free(r);
    vpci_layout_free(l);
    vpci_quirks_free(q);

    /* The bytes of a capability vfio hides can be kept by hand. */
    struct fixdev igb = fix_load(IGB, NULL);
    q = quirks_ok("device 8086:10c9\n  keep 0x160 0x40\n");
    l = derive_ok(&igb.dev, VPCI_POLICY_VFIO, q, &notes, "keep sriov");
    ck_assert(has_note(&notes, "quirk line 2: kept 0x160-0x19f as phys (64 "
                               "bytes)"));
    r = render_ok(l);
    for (unsigned b = 0x160; b < 0x1a0; b++) {
        ck_assert_uint_eq(r->phys[b], 0xff);
        ck_assert_uint_eq(r->rw[b], 0);
    }
    free(r);
    vpci_layout_free(l);
    vpci_quirks_free(q);

    /* A keep past a 256-byte space is skipped. */
    igb.dev.size = 256;
    q = quirks_ok("device 8086:10c9\n  keep 0x160 4\n");
    l = derive_ok(&igb.dev, VPCI_POLICY_VFIO, q, &notes, "keep 256");
    ck_assert(has_note(&notes, "quirk line 2: keep 0x160+4 is outside the "
                               "256-byte space; skipped"));
    ck_assert_uint_eq(count_blocks(l, VPCI_BLOCK_RAW), 0);
    vpci_layout_free(l);
    vpci_quirks_free(q);
    fix_free(&igb);
    fix_free(&f);
}
END_TEST

START_TEST(test_quirks_matching)
{
    struct fixdev f = fix_load(DSA, NULL);
    struct vpci_derive_notes notes;
    struct vpci_layout *plain =
        derive_ok(&f.dev, VPCI_POLICY_VFIO, NULL, &notes, "plain");
    char *plain_text = format(plain);

    static const char *const no_effect[] = {
        "device 8086:0b25 subsystem 8086:1234\n  pasid 0x230\n",
        "device 8086:0b26\n  pasid 0x230\n",
        "device 8087:0b25\n  hide cap msix\n",
        "device 0b25:8086\n  hide cap msix\n",
        "device 8086:0b25\n",
        "device 8086:0b25\n  hide cap vpd\n  hide ecap dpc\n",
    };
    for (size_t i = 0; i < sizeof(no_effect) / sizeof(no_effect[0]); i++) {
        struct vpci_quirks *q = quirks_ok(no_effect[i]);
        struct vpci_layout *l =
            derive_ok(&f.dev, VPCI_POLICY_VFIO, q, &notes, no_effect[i]);
        char *t = format(l);
        ck_assert_msg(!strcmp(t, plain_text), "quirk %zu changed the layout",
                      i);
        bool applies = has_note_prefix(&notes, "quirk for ");
        ck_assert_msg(applies == (i >= 4), "quirk %zu: applies %d", i, applies);
        free(t);
        vpci_layout_free(l);
        vpci_quirks_free(q);
    }

    /* The matching subsystem applies. */
    struct vpci_quirks *q =
        quirks_ok("device 8086:0b25 subsystem 8086:0000\n  pasid 0x230\n");
    struct vpci_layout *l =
        derive_ok(&f.dev, VPCI_POLICY_VFIO, q, &notes, "subsystem");
    ck_assert_ptr_nonnull(find_block(l, VPCI_BLOCK_ECAP, 0x230));
    vpci_layout_free(l);
    vpci_quirks_free(q);

    /* Matching uses the sysfs IDs when given. */
    q = quirks_ok("device 1234:5678\n  hide cap msix\n");
    f.dev.vendor_id = 0x1234;
    f.dev.device_id = 0x5678;
    l = derive_ok(&f.dev, VPCI_POLICY_VFIO, q, &notes, "sysfs ids");
    ck_assert_ptr_null(find_block(l, VPCI_BLOCK_CAP, 0x80));
    expect_reg(&l->blocks[0], "vendor_id", 0, 2, 0x1234, 0, 0, 0);
    vpci_layout_free(l);
    vpci_quirks_free(q);

    free(plain_text);
    vpci_layout_free(plain);
    fix_free(&f);
}
END_TEST

/* A placeholder put at 0x100 by derive owns its header: a quirk cannot
 * put PASID or kept bytes on it. */
START_TEST(test_quirks_after_placeholder)
{
    struct fixdev f = fix_load(IGB, NULL);
    struct vpci_quirks *q = quirks_ok("device 8086:10c9\n"
                                      "  hide ecap aer\n"
                                      "  pasid 0x100\n"
                                      "  keep 0x100 8\n");
    struct vpci_derive_notes notes;
    struct vpci_layout *l =
        derive_ok(&f.dev, VPCI_POLICY_VFIO, q, &notes, "placeholder");
    static const char *const want[] = {
        "quirk for 8086:10c9 (line 1) applies",
        "hid ecap aer at 0x100: quirk",
        "hid ecap ari at 0x150: QEMU drops it",
        "hid ecap sriov at 0x160: QEMU drops it",
        "ecap null at 0x100: placeholder anchoring the extended chain",
        "quirk line 3: 0x100-0x107 is taken; PASID not placed",
        "quirk line 4: kept 0x100-0x107 as phys (4 bytes)",
    };
    expect_notes(&notes, want, sizeof(want) / sizeof(want[0]));
    const struct vpci_block *nul = find_block(l, VPCI_BLOCK_ECAP, 0x100);
    ck_assert_ptr_nonnull(nul);
    ck_assert_uint_eq(nul->id, 0);
    struct vpci_render *r = render_ok(l);
    EQX(le(r->val + 0x100, 4), 0x14000000); /* null -> DSN at 0x140 */
    EQX(le(r->phys + 0x100, 4), 0);
    EQX(le(r->phys + 0x104, 4), 0xffffffff);
    free(r);
    vpci_layout_free(l);
    vpci_quirks_free(q);
    fix_free(&f);
}
END_TEST

/* ------------------------------------------------------------ random */

/* Random bytes shaped like config space: chains of known capabilities
 * with random contents, broken pointers now and then. */
static void random_space(uint8_t *c, unsigned size)
{
    size_t ntab;
    const struct vpci_cap_def *tab = vpci_cap_table(&ntab);
    for (unsigned i = 0; i < size; i++)
        c[i] = (uint8_t)tu_rand();
    c[0] = 0x86;
    c[1] = 0x80;
    c[2] = 0x34;
    c[3] = 0x12;
    if (tu_rand() % 4 == 0) {
        c[0x2c] = 0x86;
        c[0x2d] = 0x80;
        c[0x2e] = c[0x2f] = 0;
    }
    if (tu_rand() % 8)
        c[6] |= 0x10;
    c[0x0e] = (uint8_t)((tu_rand() % 2) | (tu_rand() % 4 == 0 ? 0x80 : 0));
    unsigned p = 0x40 + 4 * (tu_rand() % 48);
    c[0x34] = (uint8_t)p;
    unsigned nstd = tu_rand() % 12;
    for (unsigned k = 0; k < nstd && p + 2 <= size; k++) {
        const struct vpci_cap_def *d = &tab[tu_rand() % ntab];
        c[p] = !d->ext ? (uint8_t)d->id : 0x10;
        unsigned next =
            tu_rand() % 5 ? 0x40 + 4 * (tu_rand() % 48) : tu_rand() & 0xff;
        c[p + 1] = (uint8_t)next;
        p = next & 0xfc;
        if (p < 0x40)
            break;
    }
    if (size >= 0x104) {
        unsigned e = 0x100;
        for (unsigned k = 0; k < 16 && e + 4 <= size; k++) {
            const struct vpci_cap_def *d = &tab[tu_rand() % ntab];
            uint16_t id = d->ext ? d->id : (uint16_t)tu_rand();
            unsigned nx =
                tu_rand() % 6 ? 0x100 + 4 * (tu_rand() % 960) : tu_rand();
            uint32_t h = id | (tu_rand() & 0xf) << 16 | (nx & 0xfff) << 20;
            for (int b = 0; b < 4; b++)
                c[e + b] = (uint8_t)(h >> (8 * b));
            e = nx & 0xffc;
            if (e < 0x100)
                break;
        }
    }
}

START_TEST(test_derive_random)
{
    struct vpci_quirks *q = quirks_ok("device 8086:1234\n"
                                      "  hide cap pm\n"
                                      "  hide ecap aer\n"
                                      "  keep 0x60 0x20 rw\n"
                                      "  keep 0x180 8\n"
                                      "  pasid 0x2f0\n"
                                      "device 8086:1234 subsystem 8086:0000\n"
                                      "  pasid 0x100 width 3\n"
                                      "  keep 0xf00 0x100\n"
                                      "device 8086:1234\n"
                                      "  keep 0x40 0xfc0 rw\n"
                                      "  pasid 0xff8 exec\n"
                                      "  hide ecap null\n"
                                      "  hide cap 0x10\n");
    uint8_t *c = malloc(4096);
    ck_assert_ptr_nonnull(c);
    tu_srand(0x9e3779b9u);
    size_t ok = 0;
    for (int iter = 0; iter < 3000; iter++) {
        unsigned size;
        switch (tu_rand() % 5) {
        case 0:
            size = 64;
            break;
        case 1:
            size = 256;
            break;
        case 2:
            size = 64 + tu_rand() % 4033;
            break;
        default:
            size = 4096;
            break;
        }
        random_space(c, size);
        struct vpci_device dev = {.cfg = c, .size = size};
        for (int i = 0; i < VPCI_MAX_BARS; i++) {
            switch (tu_rand() % 4) {
            case 0:
                dev.bar_size[i] = 0;
                break;
            case 1:
                dev.bar_size[i] = 1ull << (tu_rand() % 40);
                break;
            case 2:
                dev.bar_size[i] = tu_rand();
                break;
            default:
                dev.bar_size[i] = (uint64_t)tu_rand() << (tu_rand() % 30);
                break;
            }
            dev.bar_type[i] = (enum vpci_bar_type)(tu_rand() % 4);
            dev.bar_prefetch[i] = tu_rand() % 2;
        }
        dev.rom_size =
            tu_rand() % 2 ? 1ull << (tu_rand() % 30) : tu_rand() % 4096;
        dev.is_vf = tu_rand() % 8 == 0;
        for (int p = 0; p < 2; p++) {
            enum vpci_policy pol = p ? VPCI_POLICY_VFIO : VPCI_POLICY_IDENTITY;
            struct vpci_layout *l = NULL;
            struct vpci_error err = {0};
            struct vpci_derive_notes notes;
            int r = vpci_derive(&dev, pol, tu_rand() % 2 ? q : NULL, &l, &notes,
                                &err);
            ck_assert_msg(r == 0, "random %d (size %u, %s): %s", iter, size,
                          p ? "vfio" : "identity", err.msg);
            ck_assert_int_eq(vpci_layout_validate(l, &err), 0);
            ck_assert_uint_le(notes.n, VPCI_DERIVE_MAX_NOTES);
            struct vpci_render *rr = render_ok(l);
            ck_assert_uint_eq(rr->size, size >= 4096 ? 4096 : 256);
            if (pol == VPCI_POLICY_IDENTITY) {
                /* Nothing a guest could change or reach through. */
                for (unsigned b = 0; b < rr->size; b++)
                    ck_assert(!rr->rw[b] && !rr->w1c[b] && !rr->phys[b]);
            }
            /* The layout text parses back to the same layout. */
            char *t = format(l);
            struct vpci_layout *back = tu_layout_text(t);
            char *t2 = format(back);
            ck_assert_str_eq(t, t2);
            free(t);
            free(t2);
            vpci_layout_free(back);
            free(rr);
            vpci_layout_free(l);
            ok++;
        }
    }
    ck_assert_uint_eq(ok, 6000);
    free(c);
    vpci_quirks_free(q);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("derive");
    TCase *tc;

    tc = tcase_create("identity");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_identity_every_clean_dump);
    tcase_add_test(tc, test_identity_dsa);
    tcase_add_test(tc, test_identity_ignores_quirks);
    tcase_add_test(tc, test_derive_rejects);
    tcase_add_test(tc, test_derive_random);
    suite_add_tcase(s, tc);

    tc = tcase_create("vfio");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_vfio_dsa_without_quirks);
    tcase_add_test(tc, test_vfio_dsa_with_intel_quirk);
    tcase_add_test(tc, test_vfio_pasid_placement);
    tcase_add_test(tc, test_vfio_sriov_pf);
    tcase_add_test(tc, test_vfio_hidden_first_ecap);
    tcase_add_test(tc, test_vfio_notes_bars);
    tcase_add_test(tc, test_vfio_every_clean_dump);
    suite_add_tcase(s, tc);

    tc = tcase_create("quirks");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_quirks_parse_good);
    tcase_add_test(tc, test_quirks_parse_bad);
    tcase_add_test(tc, test_quirks_parse_limits);
    tcase_add_test(tc, test_quirks_two_texts_and_failure);
    tcase_add_test(tc, test_quirks_hide_keep);
    tcase_add_test(tc, test_quirks_matching);
    tcase_add_test(tc, test_quirks_after_placeholder);
    suite_add_tcase(s, tc);

    return tu_run(s);
}
