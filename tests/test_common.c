/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vpci_layout_common(): one layout for several devices, from the fixture
 * dumps (two 82576 boards, three Sunrisepoint root ports, four GP102s,
 * two Haswell-EP root ports, DSA) and from copies of them whose config
 * bytes are edited the way another firmware level would have them (a
 * capability at another offset, fewer MSI-X vectors, a smaller payload,
 * a narrower PASID).  Every result validates and passes compat on every
 * input device; the report's notes are asserted exactly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define IGB1 "dumps/intel-82576-pf-8086-10c9-sriov-4k.lspci"
#define IGB2 "dumps/intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k.lspci"
#define DSA "dumps/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci"
#define SPT "dumps/intel-sunrisepoint-lp-rootport-8086-9d10-"
#define SPT256 "dumps/intel-sunrisepoint-lp-rootports-8086-9d10-9d12-256b.lspci"
#define GP102 "dumps/nvidia-4x-gp102-10de-1b06-plx-pex8747-256b.lspci"
#define HSW "dumps/intel-haswell-ep-rootports-2f02-2f03-c610-8d18-4k.lspci"

/* One device: its config bytes (possibly edited), facts and layout. */
struct dev {
    uint8_t cfg[VPCI_CFG_SPACE_EXT];
    char bdf[16];
    struct vpci_host_device h;
    struct vpci_layout *l;
};

static uint32_t get(const uint8_t *p, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static void put(uint8_t *p, unsigned n, uint32_t v)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The function at slot (NULL: the only one) of a dump fixture, as
 * vpcictl's dump inputs read it. */
static struct dev *dev_load(const char *rel, const char *slot)
{
    size_t n;
    struct vpci_dump_dev *dd = tu_dumps(rel, &n);
    const struct vpci_dump_dev *d = NULL;
    for (size_t i = 0; i < n && !d; i++)
        if (!slot || !strcmp(dd[i].slot, slot))
            d = &dd[i];
    ck_assert_msg(d, "%s: no slot %s", rel, slot ? slot : "");
    struct dev *v = calloc(1, sizeof(*v));
    ck_assert_ptr_nonnull(v);
    memcpy(v->cfg, d->cfg, d->size);
    snprintf(v->bdf, sizeof(v->bdf), "%s", d->slot);
    v->h.dev.size = d->size;
    for (unsigned i = 0; i < VPCI_MAX_BARS; i++)
        v->h.dev.bar_size[i] = d->region_size[i];
    v->h.dev.rom_size = d->region_size[VPCI_MAX_BARS];
    v->h.dev.vendor_id = (uint16_t)get(d->cfg, 2);
    v->h.dev.device_id = (uint16_t)get(d->cfg + 2, 2);
    v->h.migration = -1;
    v->h.numa_node = -1;
    v->h.iommu_group = -1;
    free(dd);
    return v;
}

/* Copy of a device (to edit its config bytes). */
static struct dev *dev_copy(const struct dev *src)
{
    struct dev *v = malloc(sizeof(*v));
    ck_assert_ptr_nonnull(v);
    *v = *src;
    v->l = NULL;
    return v;
}

static void dev_derive(struct dev *v, enum vpci_policy policy)
{
    v->h.dev.cfg = v->cfg;
    v->h.bdf = v->bdf;
    struct vpci_error err;
    vpci_layout_free(v->l);
    v->l = NULL;
    int r = vpci_derive(&v->h.dev, policy, NULL, &v->l, NULL, &err);
    ck_assert_msg(r == 0, "%s: derive: %s", v->bdf, err.msg);
}

static void dev_free(struct dev *v)
{
    if (v)
        vpci_layout_free(v->l);
    free(v);
}

struct result {
    struct vpci_layout *l;
    struct vpci_common_report rep;
    struct vpci_error err;
    int r;
};

static struct result *common(struct dev *const *devs, size_t n,
                             const struct vpci_common_opts *o)
{
    const struct vpci_layout *ls[8];
    ck_assert_uint_le(n, 8);
    for (size_t i = 0; i < n; i++)
        ls[i] = devs[i]->l;
    struct result *res = calloc(1, sizeof(*res));
    ck_assert_ptr_nonnull(res);
    res->r = vpci_layout_common(ls, n, o, &res->l, &res->rep, &res->err);
    return res;
}

static void result_free(struct result *res)
{
    if (res)
        vpci_layout_free(res->l);
    free(res);
}

/* The notes as "N action what: message" lines (N 1-based, 0 for all). */
static char *notes_text(const struct vpci_common_report *rep)
{
    size_t cap = 256 * (rep->n + 1), len = 0;
    char *s = malloc(cap);
    ck_assert_ptr_nonnull(s);
    s[0] = '\0';
    for (size_t i = 0; i < rep->n; i++) {
        const struct vpci_common_note *nt = &rep->note[i];
        len +=
            (size_t)snprintf(s + len, cap - len, "%d %s %s: %s\n",
                             nt->input + 1, nt->action, nt->what, nt->message);
    }
    return s;
}

static void expect_notes(const struct result *res, const char *want)
{
    ck_assert_msg(res->r == 0, "common failed: %s", res->err.msg);
    char *got = notes_text(&res->rep);
    ck_assert_msg(!strcmp(got, want), "notes:\n%s\nexpected:\n%s", got, want);
    ck_assert_uint_eq(res->rep.dropped, 0);
    free(got);
}

/* The result validates and its rules pass every input device (host facts
 * set so that no host rule fails). */
static void expect_compat_all(const struct result *res, struct dev *const *devs,
                              size_t n)
{
    ck_assert_msg(res->r == 0, "common failed: %s", res->err.msg);
    struct vpci_error err;
    ck_assert_msg(vpci_layout_validate(res->l, &err) == 0, "%s", err.msg);
    struct vpci_rules *rules = NULL;
    ck_assert_int_eq(vpci_rules_new(res->l, &rules, &err), 0);
    struct vpci_compat *c = malloc(sizeof(*c));
    ck_assert_ptr_nonnull(c);
    for (size_t i = 0; i < n; i++) {
        struct vpci_host_device hd = devs[i]->h;
        hd.vfio = true;
        hd.iommu_group = 0;
        hd.migration = 1;
        ck_assert_int_eq(vpci_compat_check(rules, &hd, -1, c), 0);
        ck_assert_msg(c->compatible && c->nreasons == 0,
                      "input %zu (%s): %s: %s", i + 1, devs[i]->bdf,
                      c->nreasons ? c->reasons[0].code : "?",
                      c->nreasons ? c->reasons[0].message : "");
    }
    free(c);
    vpci_rules_free(rules);
}

static const struct vpci_block *block(const struct vpci_layout *l,
                                      enum vpci_block_kind kind, uint16_t id)
{
    for (size_t i = 1; i < l->nblocks; i++)
        if (l->blocks[i].kind == kind && l->blocks[i].id == id)
            return &l->blocks[i];
    return NULL;
}

static const struct vpci_field *field(const struct vpci_layout *l,
                                      enum vpci_block_kind kind, uint16_t id,
                                      const char *name)
{
    const struct vpci_block *b =
        kind == VPCI_BLOCK_HEADER ? &l->blocks[0] : block(l, kind, id);
    ck_assert_msg(b, "no block %u/0x%x", kind, id);
    const struct vpci_field *f = vpci_block_find_field(b, name);
    ck_assert_msg(f, "no field %s", name);
    return f;
}

static char *text_of(const struct vpci_layout *l)
{
    char *t = NULL;
    ck_assert_int_eq(vpci_layout_format(l, &t, NULL), 0);
    return t;
}

/* "cap pm 0x40, cap msi 0x50, ..." in block order. */
static char *chain_of(const struct vpci_layout *l)
{
    char *s = calloc(1, 1024);
    ck_assert_ptr_nonnull(s);
    size_t len = 0;
    for (size_t i = 1; i < l->nblocks; i++) {
        const struct vpci_block *b = &l->blocks[i];
        if (b->kind == VPCI_BLOCK_RAW)
            continue;
        const struct vpci_cap_def *d =
            vpci_cap_find(b->kind == VPCI_BLOCK_ECAP, b->id);
        len += (size_t)snprintf(s + len, 1024 - len, "%s%s %s 0x%x",
                                len ? ", " : "",
                                b->kind == VPCI_BLOCK_ECAP ? "ecap" : "cap",
                                d ? d->name : "?", b->off);
    }
    return s;
}

/* The capability chain of l (chain_of) is want. */
static void expect_chain(const struct vpci_layout *l, const char *want)
{
    char *chain = chain_of(l);
    ck_assert_str_eq(chain, want);
    free(chain);
}

/* Without options the common layout of devs[0..n) has exactly the notes
 * want_notes, every input is compatible with it and its capability chain
 * is want_chain. */
static void expect_common(struct dev *const *devs, size_t n,
                          const char *want_notes, const char *want_chain)
{
    struct result *res = common(devs, n, NULL);
    expect_notes(res, want_notes);
    expect_compat_all(res, devs, n);
    expect_chain(res->l, want_chain);
    result_free(res);
}

static const char *requires_device(const struct vpci_layout *l, char *buf,
                                   size_t n)
{
    buf[0] = '\0';
    for (size_t i = 0; i < l->nrequires; i++) {
        if (strcmp(l->requires[i].key, "device"))
            continue;
        size_t len = 0;
        for (size_t k = 0; k < l->requires[i].nargs; k++)
            len += (size_t)snprintf(buf + len, n - len, "%s%s", k ? " " : "",
                                    l->requires[i].args[k]);
    }
    return buf;
}

/* ------------------------------------------------------------------ */

static struct dev *igb(const char *rel)
{
    struct dev *v = dev_load(rel, NULL);
    dev_derive(v, VPCI_POLICY_VFIO);
    return v;
}

static void devs_free(struct dev **d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dev_free(d[i]);
}

/* (a) The two 82576 boards: same capability offsets, another flash size
 * (BAR 1, ROM), another board's link and serial number. */
START_TEST(test_igb_pair)
{
    struct dev *d[] = {igb(IGB1), igb(IGB2)};
    struct result *res = common(d, 2, NULL);
    expect_notes(
        res,
        "2 id header.subsystem_vendor: 0x0000 on input 2, 0x8086 on input 1: "
        "presenting 0x8086\n"
        "2 id header.subsystem_id: 0x0000 on input 2, 0xa03c on input 1: "
        "presenting 0xa03c\n"
        "1 dropped bar 1: mem32 size 0x400000 from 1 here, mem32 size "
        "0x20000 from 1 on input 2\n"
        "2 dropped bar 1: mem32 size 0x20000 from 1 here, mem32 size "
        "0x400000 from 1 on input 1\n"
        "1 dropped rom: size 0x400000 from rom here, 0x20000 from rom on "
        "input 2: rom none\n"
        "2 dropped rom: size 0x20000 from rom here, 0x400000 from rom on "
        "input 1: rom none\n"
        "2 chosen cap pcie.lnkcap: 0x02036c41 on input 2, 0x00036c41 on "
        "input 1: presenting 0x00036c41\n"
        "2 chosen cap pcie.lnkctl: 0x0040 on input 2, 0x0042 on input 1: "
        "presenting 0x0042\n"
        "2 chosen ecap dsn.dsn_lo: 0xff12174c on input 2, 0xff2b46e0 on "
        "input 1: presenting 0xff2b46e0\n");
    expect_compat_all(res, d, 2);
    const struct vpci_layout *l = res->l;
    ck_assert_int_eq(l->bars[0].type, VPCI_BAR_MEM32);
    EQX(l->bars[0].size, 0x20000);
    ck_assert_int_eq(l->bars[1].type, VPCI_BAR_NONE);
    ck_assert_int_eq(l->bars[2].type, VPCI_BAR_IO);
    EQX(l->bars[3].size, 0x4000);
    EQX(l->rom.size, 0);
    char buf[256];
    ck_assert_str_eq(requires_device(l, buf, sizeof(buf)), "8086:10c9");
    ck_assert_uint_eq(l->nrequires, 1);
    expect_chain(l, "cap pm 0x40, cap msi 0x50, cap msix 0x70, cap "
                    "pcie 0xa0, ecap aer 0x100, ecap dsn 0x140");
    EQX(vpci_field_value(field(l, VPCI_BLOCK_CAP, 0x10, "lnkcap")), 0x00036c41);
    /* Masks are the inputs' where they agree. */
    const struct vpci_field *cmd = field(l, VPCI_BLOCK_HEADER, 0, "command");
    EQX(get(cmd->rw, 2), 0x0547);
    EQX(get(cmd->phys, 2), 0x0144);
    result_free(res);
    devs_free(d, 2);
}
END_TEST

/* The same device twice: nothing to report; the result is the input plus
 * its requires device line. */
START_TEST(test_identical)
{
    struct dev *d[] = {igb(IGB1), igb(IGB1)};
    struct result *res = common(d, 2, NULL);
    expect_notes(res, "");
    expect_compat_all(res, d, 2);
    char *diff = NULL;
    ck_assert_int_eq(vpci_layout_diff(d[0]->l, res->l, &diff), 1);
    ck_assert_str_eq(diff, "requires: + device 8086:10c9\n");
    free(diff);
    result_free(res);
    devs_free(d, 2);
}
END_TEST

/* MSI-X at 0xe0 instead of 0x70 (another firmware's chain): with two
 * inputs the tie goes to the lowest offset, with three to the majority. */
static struct dev *igb_msix_moved(void)
{
    struct dev *v = dev_load(IGB1, NULL);
    EQX(v->cfg[0x51], 0x70);
    EQX(v->cfg[0x70], 0x11);
    memcpy(v->cfg + 0xe0, v->cfg + 0x70, 12);
    memset(v->cfg + 0x70, 0, 12);
    v->cfg[0x51] = 0xe0;
    EQX(v->cfg[0xe1], 0xa0);
    snprintf(v->bdf, sizeof(v->bdf), "0000:02:00.0");
    dev_derive(v, VPCI_POLICY_VFIO);
    return v;
}

START_TEST(test_moved_cap)
{
    struct dev *d[] = {igb(IGB1), igb_msix_moved(), igb_msix_moved()};
    expect_common(d, 2, "2 moved cap msix: 0xe0 -> 0x70\n",
                  "cap pm 0x40, cap msi 0x50, cap msix 0x70, cap "
                  "pcie 0xa0, ecap aer 0x100, ecap dsn 0x140");

    struct result *res = common(d, 3, NULL);
    expect_notes(res, "1 moved cap msix: 0x70 -> 0xe0\n");
    expect_compat_all(res, d, 3);
    expect_chain(res->l, "cap pm 0x40, cap msi 0x50, cap msix 0xe0, cap "
                         "pcie 0xa0, ecap aer 0x100, ecap dsn 0x140");
    /* Each input device backs it: resolve maps the moved capability. */
    struct vpci_bind_info bi = {"common", 1, NULL};
    struct vpci_layout *r1 = NULL, *r2 = NULL;
    struct vpci_error err;
    ck_assert_int_eq(vpci_resolve(res->l, &d[0]->h, &bi, &r1, &err), 0);
    ck_assert_int_eq(vpci_resolve(res->l, &d[1]->h, &bi, &r2, &err), 0);
    char *t1 = text_of(r1), *t2 = text_of(r2);
    ck_assert_ptr_nonnull(strstr(t1, "  map cap msix 0xe0 0x70\n"));
    ck_assert_ptr_nonnull(strstr(t2, "  map cap msix 0xe0 0xe0\n"));
    free(t1);
    free(t2);
    vpci_layout_free(r1);
    vpci_layout_free(r2);
    result_free(res);
    devs_free(d, 3);
}
END_TEST

/* PM and MSI-X trade places: PM takes 0x40 (tie, lowest), MSI-X's
 * majority offset is then taken and it goes to the first free slot that
 * fits its 12 bytes, after MSI. */
START_TEST(test_swapped_caps)
{
    struct dev *a = igb(IGB1);
    struct dev *b = dev_load(IGB1, NULL);
    uint8_t pm[8], msix[12];
    memcpy(pm, b->cfg + 0x40, 8);
    memcpy(msix, b->cfg + 0x70, 12);
    memset(b->cfg + 0x40, 0, 8);
    memset(b->cfg + 0x70, 0, 12);
    memcpy(b->cfg + 0x40, msix, 12);
    memcpy(b->cfg + 0x70, pm, 8);
    b->cfg[0x41] = 0x50;     /* MSI-X -> MSI */
    EQX(b->cfg[0x51], 0x70); /* MSI -> PM */
    b->cfg[0x71] = 0xa0;     /* PM -> PCIe */
    EQX(b->cfg[0x34], 0x40);
    dev_derive(b, VPCI_POLICY_VFIO);
    struct dev *d[] = {a, b};
    expect_common(d, 2,
                  "2 moved cap pm: 0x70 -> 0x40\n"
                  "1 moved cap msix: 0x70 -> 0x68\n"
                  "2 moved cap msix: 0x40 -> 0x68\n",
                  "cap pm 0x40, cap msi 0x50, cap msix 0x68, cap "
                  "pcie 0xa0, ecap aer 0x100, ecap dsn 0x140");
    devs_free(d, 2);
}
END_TEST

/* Fewer MSI-X vectors, a smaller max payload, a slower narrower link on
 * the second board: the result offers what both can. */
START_TEST(test_reduced_fields)
{
    struct dev *a = igb(IGB1);
    struct dev *b = dev_load(IGB1, NULL);
    EQX(get(b->cfg + 0x72, 2) & 0x7ff, 9); /* 10 vectors */
    put(b->cfg + 0x72, 2, (get(b->cfg + 0x72, 2) & ~0x7ffu) | 4);
    EQX(get(b->cfg + 0xa4, 4) & 7, 2); /* 512 bytes */
    put(b->cfg + 0xa4, 4, (get(b->cfg + 0xa4, 4) & ~7u) | 1);
    EQX(get(b->cfg + 0xac, 4) & 0x3ff, 0x41); /* 2.5 GT/s x4 */
    put(b->cfg + 0xac, 4, (get(b->cfg + 0xac, 4) & ~0x3ffu) | 0x11);
    dev_derive(b, VPCI_POLICY_VFIO);
    struct dev *d[] = {a, b};
    struct result *res = common(d, 2, NULL);
    expect_notes(res, "1 reduced cap msix.msgctl: MSI-X vectors 10 -> 5\n"
                      "1 reduced cap pcie.devcap: max payload 512 bytes -> "
                      "256 bytes\n"
                      "1 reduced cap pcie.lnkcap: max link width x4 -> x1\n");
    expect_compat_all(res, d, 2);
    EQX(vpci_field_value(field(res->l, VPCI_BLOCK_CAP, 0x11, "msgctl")),
        0x0004);
    EQX(vpci_field_value(field(res->l, VPCI_BLOCK_CAP, 0x10, "devcap")),
        0x10008cc1);
    EQX(vpci_field_value(field(res->l, VPCI_BLOCK_CAP, 0x10, "lnkcap")),
        0x00036c11);
    /* The first board alone would not pass the other's vector count:
     * its own layout offers 10 vectors, the second board has 5. */
    struct vpci_rules *rules = NULL;
    struct vpci_error err;
    ck_assert_int_eq(vpci_rules_new(a->l, &rules, &err), 0);
    struct vpci_compat *c = malloc(sizeof(*c));
    struct vpci_host_device hd = b->h;
    hd.vfio = true;
    hd.iommu_group = 0;
    ck_assert_int_eq(vpci_compat_check(rules, &hd, -1, c), 0);
    ck_assert(!c->compatible);
    ck_assert_str_eq(c->reasons[0].code, "msix-vectors");
    free(c);
    vpci_rules_free(rules);
    /* Order does not change the reduced values. */
    struct dev *r[] = {b, a};
    struct result *res2 = common(r, 2, NULL);
    expect_notes(res2, "2 reduced cap msix.msgctl: MSI-X vectors 10 -> 5\n"
                       "2 reduced cap pcie.devcap: max payload 512 bytes -> "
                       "256 bytes\n"
                       "2 reduced cap pcie.lnkcap: max link width x4 -> x1\n");
    char *diff = NULL;
    ck_assert_int_eq(vpci_layout_diff(res->l, res2->l, &diff), 0);
    free(diff);
    result_free(res2);
    result_free(res);
    devs_free(d, 2);
}
END_TEST

/* A firmware without AER: its serial number capability heads the
 * extended chain at 0x100.  Two boards with AER outvote it: DSN stays at
 * 0x140 and the null placeholder anchors the chain at 0x100. */
START_TEST(test_ext_anchor)
{
    struct dev *b = dev_load(IGB1, NULL);
    EQX(get(b->cfg + 0x100, 2), 0x0001);     /* AER */
    EQX(get(b->cfg + 0x140, 4), 0x15010003); /* DSN, next 0x150 */
    uint8_t dsn[12];
    memcpy(dsn, b->cfg + 0x140, 12);
    memset(b->cfg + 0x100, 0, 0x4c);
    memcpy(b->cfg + 0x100, dsn, 12);
    dev_derive(b, VPCI_POLICY_VFIO);
    struct dev *d[] = {igb(IGB1), igb(IGB1), b};
    expect_common(d, 3,
                  "1 dropped ecap aer: absent on input 3\n"
                  "2 dropped ecap aer: absent on input 3\n"
                  "3 moved ecap dsn: 0x100 -> 0x140\n",
                  "cap pm 0x40, cap msi 0x50, cap msix 0x70, cap "
                  "pcie 0xa0, ecap null 0x100, ecap dsn 0x140");
    /* With the AER-less board first, DSN takes 0x100 on a tie. */
    struct dev *e[] = {b, d[0]};
    expect_common(e, 2,
                  "2 dropped ecap aer: absent on input 1\n"
                  "2 moved ecap dsn: 0x140 -> 0x100\n",
                  "cap pm 0x40, cap msi 0x50, cap msix 0x70, cap "
                  "pcie 0xa0, ecap dsn 0x100");
    devs_free(d, 3);
}
END_TEST

/* Another stepping: the revision differs; input 1's is presented. */
START_TEST(test_revision)
{
    struct dev *a = igb(IGB1);
    struct dev *b = dev_load(IGB1, NULL);
    EQX(b->cfg[0x08], 0x01);
    b->cfg[0x08] = 0x03;
    dev_derive(b, VPCI_POLICY_VFIO);
    struct dev *d[] = {a, b};
    struct result *res = common(d, 2, NULL);
    expect_notes(res, "2 id header.revision_id: 0x03 on input 2, 0x01 on "
                      "input 1: presenting 0x01\n");
    expect_compat_all(res, d, 2);
    result_free(res);
    struct dev *r[] = {b, a};
    res = common(r, 2, NULL);
    expect_notes(res, "2 id header.revision_id: 0x01 on input 2, 0x03 on "
                      "input 1: presenting 0x03\n");
    result_free(res);
    devs_free(d, 2);
}
END_TEST

/* MSI 64-bit on one, 32-bit on the other: its registers sit at other
 * offsets, so MSI goes.  MSI-X's table in another BAR: it goes too. */
START_TEST(test_dropped_caps)
{
    struct dev *a = igb(IGB1);
    struct dev *b = dev_load(IGB1, NULL);
    EQX(get(b->cfg + 0x52, 2), 0x0180);
    put(b->cfg + 0x52, 2, 0x0100); /* 32-bit, maskable */
    EQX(get(b->cfg + 0x74, 4), 0x00000003);
    put(b->cfg + 0x74, 4, 0x00000000); /* table in BAR 0 */
    dev_derive(b, VPCI_POLICY_VFIO);
    struct dev *d[] = {a, b};
    struct result *res = common(d, 2, NULL);
    expect_notes(
        res, "1 dropped cap msi: 64-bit and per-vector masking differ (msgctl "
             "0x100 on input 2, 0x180 on input 1)\n"
             "2 dropped cap msi: 64-bit and per-vector masking differ (msgctl "
             "0x100 on input 2, 0x180 on input 1)\n"
             "1 dropped cap msix: table BAR 0 offset 0x0 on input 2, BAR 3 "
             "offset 0x0 on input 1\n"
             "2 dropped cap msix: table BAR 0 offset 0x0 on input 2, BAR 3 "
             "offset 0x0 on input 1\n");
    expect_compat_all(res, d, 2);
    expect_chain(res->l, "cap pm 0x40, cap pcie 0xa0, ecap aer 0x100, ecap dsn "
                         "0x140");
    result_free(res);
    devs_free(d, 2);
}
END_TEST

/* (e) Unrelated devices, and devices that differ only in the device ID. */
START_TEST(test_not_same_device)
{
    struct dev *d[] = {igb(IGB1), dev_load(DSA, NULL)};
    dev_derive(d[1], VPCI_POLICY_VFIO);
    struct result *res = common(d, 2, NULL);
    ck_assert_int_eq(res->r, -EINVAL);
    ck_assert_ptr_null(res->l);
    ck_assert_str_eq(res->err.msg, "input 2 is not the same device as input "
                                   "1: class 088000 vs 020000");
    result_free(res);
    const char *names[] = {"igb", "dsa"};
    struct vpci_common_opts o = {.names = names};
    res = common(d, 2, &o);
    ck_assert_str_eq(res->err.msg, "input 2 (dsa) is not the same device as "
                                   "input 1 (igb): class 088000 vs 020000");
    result_free(res);
    devs_free(d, 2);

    struct dev *h[] = {dev_load(HSW, "0000:00:01.0"),
                       dev_load(HSW, "0000:00:01.1"),
                       dev_load(SPT "aspm-4k.lspci", NULL)};
    for (int i = 0; i < 3; i++)
        dev_derive(h[i], VPCI_POLICY_VFIO);
    res = common(h, 2, NULL);
    ck_assert_int_eq(res->r, -EINVAL);
    ck_assert_str_eq(res->err.msg,
                     "input 2 is not the same device as input 1: device "
                     "8086:2f03 vs 8086:2f02 (give the ID to present to join "
                     "them)");
    result_free(res);
    /* An ID to present does not join classes. */
    struct vpci_common_opts id = {
        .set_id = true, .vendor_id = 0x8086, .device_id = 0x10c9};
    struct dev *x[] = {igb(IGB1), dev_load(DSA, NULL)};
    dev_derive(x[1], VPCI_POLICY_VFIO);
    res = common(x, 2, &id);
    ck_assert_int_eq(res->r, -EINVAL);
    ck_assert_str_eq(res->err.msg, "input 2 is not the same device as input "
                                   "1: class 088000 vs 020000");
    result_free(res);
    devs_free(x, 2);
    /* Nor header types: a root port and an endpoint of one vendor. */
    struct dev *y[] = {h[2], igb(IGB1)};
    res = common(y, 2, &id);
    ck_assert_int_eq(res->r, -EINVAL);
    ck_assert_str_eq(res->err.msg, "input 2 is not the same device as input "
                                   "1: header type0 vs type1");
    result_free(res);
    dev_free(y[1]);
    devs_free(h, 3);
}
END_TEST

/* (d) Haswell-EP root ports 2f02 and 2f03 presented as 2f02. */
START_TEST(test_set_id)
{
    struct dev *d[] = {dev_load(HSW, "0000:00:01.0"),
                       dev_load(HSW, "0000:00:01.1")};
    dev_derive(d[0], VPCI_POLICY_VFIO);
    dev_derive(d[1], VPCI_POLICY_VFIO);
    struct vpci_common_opts id = {
        .set_id = true, .vendor_id = 0x8086, .device_id = 0x2f02};
    struct result *res = common(d, 2, &id);
    ck_assert_int_eq(res->r, 0);
    char *t = notes_text(&res->rep);
    ck_assert_ptr_nonnull(
        strstr(t, "2 id header.device_id: 0x2f03 presented as 0x2f02\n"));
    ck_assert_ptr_nonnull(strstr(
        t, "2 reduced cap pcie.lnksta: link speed 8 GT/s -> 2.5 GT/s\n"));
    free(t);
    expect_compat_all(res, d, 2);
    EQX(vpci_field_value(field(res->l, VPCI_BLOCK_HEADER, 0, "device_id")),
        0x2f02);
    char buf[256];
    ck_assert_str_eq(requires_device(res->l, buf, sizeof(buf)),
                     "8086:2f02 8086:2f03");
    result_free(res);
    /* Another ID again: both inputs get an id note. */
    id.device_id = 0x2f00;
    res = common(d, 2, &id);
    t = notes_text(&res->rep);
    ck_assert_ptr_nonnull(
        strstr(t, "1 id header.device_id: 0x2f02 presented as 0x2f00\n"));
    ck_assert_ptr_nonnull(
        strstr(t, "2 id header.device_id: 0x2f03 presented as 0x2f00\n"));
    free(t);
    expect_compat_all(res, d, 2);
    result_free(res);
    devs_free(d, 2);
}
END_TEST

/* (b) Three Sunrisepoint-LP root ports, one dumped with 256 bytes: the
 * result has a 256-byte space and no extended capabilities. */
START_TEST(test_256_byte_input)
{
    struct dev *d[] = {dev_load(SPT "aer-l1ss-4k.lspci", NULL),
                       dev_load(SPT "aspm-4k.lspci", NULL),
                       dev_load(SPT256, "0000:00:1c.0")};
    for (int i = 0; i < 3; i++)
        dev_derive(d[i], VPCI_POLICY_VFIO);
    struct result *res = common(d, 3, NULL);
    expect_notes(res,
                 "3 chosen header.bridge_control: 0x0018 on input 3, 0x0000 on "
                 "input 1: presenting 0x0000\n"
                 "1 dropped ecap aer: input 3 has a 256-byte config space\n"
                 "2 dropped ecap aer: input 3 has a 256-byte config space\n"
                 "1 dropped ecap acs: input 3 has a 256-byte config space\n"
                 "2 dropped ecap acs: input 3 has a 256-byte config space\n");
    expect_compat_all(res, d, 3);
    ck_assert_uint_eq(res->l->space, 256);
    expect_chain(res->l, "cap pcie 0x40, cap msi 0x80, cap pm 0xa0");
    result_free(res);
    /* The two 4 KiB ones keep theirs. */
    res = common(d, 2, NULL);
    expect_notes(res, "");
    ck_assert_uint_eq(res->l->space, 4096);
    expect_chain(res->l, "cap pcie 0x40, cap msi 0x80, cap pm 0xa0, ecap "
                         "aer 0x100, ecap acs 0x140");
    expect_compat_all(res, d, 2);
    result_free(res);
    devs_free(d, 3);
}
END_TEST

/* (c) The four GP102s of one machine: only their links differ. */
START_TEST(test_four_gpus)
{
    static const char *const slots[] = {"0000:04:00.0", "0000:05:00.0",
                                        "0000:08:00.0", "0000:09:00.0"};
    struct dev *d[4];
    for (int i = 0; i < 4; i++) {
        d[i] = dev_load(GP102, slots[i]);
        dev_derive(d[i], VPCI_POLICY_VFIO);
    }
    struct result *res = common(d, 4, NULL);
    expect_notes(
        res, "2 chosen cap pcie.lnkcap: 0x10454d03 on input 2, 0x08454d03 on "
             "input 1: presenting 0x08454d03\n"
             "3 chosen cap pcie.lnkcap: 0x08453d03 on input 3, 0x08454d03 on "
             "input 1: presenting 0x08454d03\n"
             "4 chosen cap pcie.lnkcap: 0x10463d03 on input 4, 0x08454d03 on "
             "input 1: presenting 0x08454d03\n"
             "3 chosen cap pcie.lnkctl: 0x0100 on input 3, 0x0102 on input 1: "
             "presenting 0x0102\n"
             "4 chosen cap pcie.lnkctl: 0x0100 on input 4, 0x0102 on input 1: "
             "presenting 0x0102\n"
             "1 reduced cap pcie.lnksta: link speed 8 GT/s -> 2.5 GT/s\n"
             "2 reduced cap pcie.lnksta: link speed 5 GT/s -> 2.5 GT/s\n");
    expect_compat_all(res, d, 4);
    result_free(res);
    devs_free(d, 4);
}
END_TEST

/* (f) A layout file (data/layouts/nic-pf-82576.vpci, derived from IGB1
 * and edited) with the second board's dump. */
START_TEST(test_layout_input)
{
    struct vpci_layout *file =
        tu_layout("../../data/layouts/nic-pf-82576.vpci");
    struct dev *b = igb(IGB2);
    const struct vpci_layout *ls[] = {file, b->l};
    struct result *res = calloc(1, sizeof(*res));
    res->r = vpci_layout_common(ls, 2, NULL, &res->l, &res->rep, &res->err);
    expect_notes(
        res,
        "2 id header.subsystem_vendor: 0x0000 on input 2, 0x8086 on input 1: "
        "presenting 0x8086\n"
        "2 id header.subsystem_id: 0x0000 on input 2, 0xa03c on input 1: "
        "presenting 0xa03c\n"
        "1 dropped bar 1: mem32 size 0x400000 from 1 here, mem32 size "
        "0x20000 from 1 on input 2\n"
        "2 dropped bar 1: mem32 size 0x20000 from 1 here, mem32 size "
        "0x400000 from 1 on input 1\n"
        "2 dropped bar 2: io size 0x20 from 2 here, none on input 1\n"
        "2 dropped rom: size 0x20000 from rom here, none on input 1: rom "
        "none\n"
        "2 chosen cap pcie.lnkcap: 0x02036c41 on input 2, 0x00036c41 on "
        "input 1: presenting 0x00036c41\n"
        "2 chosen cap pcie.lnkctl: 0x0040 on input 2, 0x0042 on input 1: "
        "presenting 0x0042\n"
        "2 chosen ecap dsn.dsn_lo: 0xff12174c on input 2, 0x00000000 on "
        "input 1: presenting 0x00000000\n"
        "2 chosen ecap dsn.dsn_hi: 0x001b21ff on input 2, 0x00000000 on "
        "input 1: presenting 0x00000000\n"
        "1 dropped requires driver: not the same on every input (differs on "
        "input 2)\n");
    struct dev *d[] = {b};
    expect_compat_all(res, d, 1);
    char buf[256];
    ck_assert_str_eq(requires_device(res->l, buf, sizeof(buf)), "8086:10c9");
    result_free(res);
    vpci_layout_free(file);
    dev_free(b);
}
END_TEST

/* Same inputs, same result and report, byte for byte; input order
 * changes only which input's values are presented where they differ. */
START_TEST(test_deterministic)
{
    struct dev *d[] = {igb(IGB1), igb(IGB2)};
    struct result *r1 = common(d, 2, NULL), *r2 = common(d, 2, NULL);
    char *t1 = text_of(r1->l), *t2 = text_of(r2->l);
    ck_assert_str_eq(t1, t2);
    char *n1 = notes_text(&r1->rep), *n2 = notes_text(&r2->rep);
    ck_assert_str_eq(n1, n2);
    free(t1);
    free(t2);
    free(n1);
    free(n2);
    struct dev *rev[] = {d[1], d[0]};
    struct result *r3 = common(rev, 2, NULL);
    expect_compat_all(r3, d, 2);
    char *diff = NULL;
    ck_assert_int_eq(vpci_layout_diff(r1->l, r3->l, &diff), 5);
    ck_assert_str_eq(diff, "header.subsystem_vendor: value 0x8086 -> 0x0000\n"
                           "header.subsystem_id: value 0xa03c -> 0x0000\n"
                           "cap pcie.lnkcap: value 0x00036c41 -> 0x02036c41\n"
                           "cap pcie.lnkctl: value 0x0042 -> 0x0040\n"
                           "ecap dsn.dsn_lo: value 0xff2b46e0 -> 0xff12174c\n");
    free(diff);
    result_free(r1);
    result_free(r2);
    result_free(r3);
    devs_free(d, 2);
}
END_TEST

/* PASID and ATS of the DSA (identity policy: the device's own PASID):
 * width, exec/priv and the ATS queue depth are reduced. */
START_TEST(test_pasid_ats)
{
    struct dev *a = dev_load(DSA, NULL);
    struct dev *b = dev_copy(a);
    dev_derive(a, VPCI_POLICY_IDENTITY);
    const struct vpci_block *pb = block(a->l, VPCI_BLOCK_ECAP, 0x1b);
    const struct vpci_block *ab = block(a->l, VPCI_BLOCK_ECAP, 0x0f);
    ck_assert_ptr_nonnull(pb);
    ck_assert_ptr_nonnull(ab);
    uint32_t pcap = vpci_field_value(vpci_block_find_field(pb, "pasid_cap"));
    uint32_t acap = vpci_field_value(vpci_block_find_field(ab, "ats_cap"));
    EQX(pcap, 0x1404); /* width 20, privileged mode */
    /* Width 16, no privileged mode, ATS queue depth 4. */
    put(b->cfg + pb->off + 4, 2, 0x1000);
    put(b->cfg + ab->off + 4, 2, (acap & ~0x1fu) | 4);
    dev_derive(b, VPCI_POLICY_IDENTITY);
    struct dev *d[] = {a, b};
    struct result *res = common(d, 2, NULL);
    char *t = notes_text(&res->rep);
    ck_assert_ptr_nonnull(
        strstr(t, "1 reduced ecap ats.ats_cap: ATS invalidate queue depth 32 "
                  "-> 4\n"));
    ck_assert_ptr_nonnull(
        strstr(t, "1 reduced ecap pasid.pasid_cap: PASID width 20 -> 16\n"
                  "1 reduced ecap pasid.pasid_cap: PASID priv yes -> no\n"));
    free(t);
    expect_compat_all(res, d, 2);
    EQX(vpci_field_value(field(res->l, VPCI_BLOCK_ECAP, 0x1b, "pasid_cap")),
        0x1000);
    EQX(vpci_field_value(field(res->l, VPCI_BLOCK_ECAP, 0x0f, "ats_cap")) &
            0x1f,
        4);
    result_free(res);
    devs_free(d, 2);
}
END_TEST

/* Every device of every fixture dump (vfio policy), every ordered pair:
 * either the pair is joined and the result passes compat on both, or it
 * is refused with the one message shape; joined pairs again with both
 * orders and with an ID to present. */
START_TEST(test_all_pairs)
{
    static const char *const dirs[] = {"dumps", "dumps/messy", "dumps/nonreal"};
    struct dev **all = NULL;
    size_t n = 0;
    for (size_t di = 0; di < sizeof(dirs) / sizeof(dirs[0]); di++) {
        char **list = tu_list_dumps(dirs[di]);
        for (char **p = list; *p; p++) {
            char rel[512];
            snprintf(rel, sizeof(rel), "%s/%s", dirs[di], *p);
            size_t nd;
            struct vpci_dump_dev *dd = tu_dumps(rel, &nd);
            for (size_t k = 0; k < nd; k++) {
                if (dd[k].size < 64)
                    continue;
                struct dev *v = dev_load(rel, dd[k].slot);
                v->h.dev.cfg = v->cfg;
                v->h.bdf = v->bdf;
                struct vpci_error err;
                if (vpci_derive(&v->h.dev, VPCI_POLICY_VFIO, NULL, &v->l, NULL,
                                &err) < 0) {
                    dev_free(v);
                    continue;
                }
                all = realloc(all, (n + 1) * sizeof(*all));
                ck_assert_ptr_nonnull(all);
                all[n++] = v;
            }
            free(dd);
        }
        tu_free_list(list);
    }
    ck_assert_uint_ge(n, 480);
    size_t joined = 0, refused = 0, with_id = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            if (i == j)
                continue;
            struct dev *pair[] = {all[i], all[j]};
            struct result *res = common(pair, 2, NULL);
            if (res->r == 0) {
                joined++;
                expect_compat_all(res, pair, 2);
                /* Each device can back it. */
                for (int k = 0; k < 2; k++) {
                    struct vpci_bind_info bi = {"common", 1, NULL};
                    struct vpci_layout *rl = NULL;
                    struct vpci_error err;
                    ck_assert_msg(
                        vpci_resolve(res->l, &pair[k]->h, &bi, &rl, &err) == 0,
                        "%s + %s: resolve on %s: %s", all[i]->bdf, all[j]->bdf,
                        pair[k]->bdf, err.msg);
                    vpci_layout_free(rl);
                }
            } else {
                refused++;
                ck_assert_int_eq(res->r, -EINVAL);
                ck_assert_msg(!strncmp(res->err.msg,
                                       "input 2 is not the same device as "
                                       "input 1: ",
                                       43),
                              "%s + %s: %s", all[i]->bdf, all[j]->bdf,
                              res->err.msg);
                if (strstr(res->err.msg, "(give the ID to present")) {
                    /* Presented as input 1's ID, the other joins. */
                    struct vpci_common_opts o = {
                        .set_id = true,
                        .vendor_id = all[i]->h.dev.vendor_id,
                        .device_id = all[i]->h.dev.device_id};
                    struct result *r2 = common(pair, 2, &o);
                    if (r2->r == 0) {
                        with_id++;
                        expect_compat_all(r2, pair, 2);
                    }
                    result_free(r2);
                }
            }
            result_free(res);
        }
    }
    /* Pairs of one kind in the fixtures: the 82576 boards, GP102s,
     * Sunrisepoint and PLX ports, Realtek NICs, ... (both orders). */
    ck_assert_uint_ge(joined, 700);
    ck_assert_uint_ge(refused, 10000);
    fprintf(stderr,
            "test_all_pairs: %zu devices, %zu pairs joined, %zu refused, "
            "%zu of them joined with an ID to present\n",
            n, joined, refused, with_id);
    ck_assert_uint_ge(with_id, 100);
    for (size_t i = 0; i < n; i++)
        dev_free(all[i]);
    free(all);
}
END_TEST

/* Bytes fields and raw bytes, from layout files: kept where identical,
 * dropped (one note for all inputs) where they differ, dropped for the
 * inputs that have them where others do not. */
static struct vpci_layout *vendor_layout(const char *command,
                                         const char *cap_bytes, const char *raw)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "vpci-layout 1\n"
             "space 256\n"
             "header type0\n"
             "  0x00 u16 vendor_id 0x1af4\n"
             "  0x02 u16 device_id 0x1041\n"
             "  0x04 u16 command %s\n"
             "  0x06 u16 status 0x0010\n"
             "  0x0b u8 base_class 0x02\n"
             "  0x0e u8 header_type 0x00\n"
             "cap 0x40 vendor\n"
             "  0x02 u8 vndr_len 0x0c\n"
             "  0x04 bytes 4 %s\n"
             "  0x08 bytes 4 00 00 00 00 phys ff ff ff ff\n"
             "raw\n%s",
             command, cap_bytes, raw);
    return tu_layout_text(text);
}

START_TEST(test_bytes_fields)
{
    struct vpci_layout *a =
        vendor_layout("0x0006 rw 0x0547 phys 0x0144", "01 02 03 04",
                      "  0xc0 bytes 2 aa bb\n"
                      "  0xd0 bytes 2 cc dd\n");
    struct vpci_layout *b =
        vendor_layout("0x0006 rw 0x0507 phys 0x0104", "01 02 03 05",
                      "  0xc0 bytes 2 aa bb\n"
                      "  0xe0 u32 scratch 0x1 rw 0xff\n");
    /* command differs only in a bit that stays rw: no note. */
    struct vpci_layout *c =
        vendor_layout("0x0002 rw 0x0547 phys 0x0144", "01 02 03 04",
                      "  0xc0 bytes 2 aa bb\n"
                      "  0xe0 u32 scratch 0x2 rw 0xf\n");
    const struct vpci_layout *ls[] = {a, b, c};
    struct result *res = calloc(1, sizeof(*res));
    ck_assert_ptr_nonnull(res);
    res->r = vpci_layout_common(ls, 3, NULL, &res->l, &res->rep, &res->err);
    expect_notes(res, "1 masked header.command: rw 0x0547 -> 0x0507, phys "
                      "0x0144 -> 0x0104\n"
                      "3 masked header.command: rw 0x0547 -> 0x0507, phys "
                      "0x0144 -> 0x0104\n"
                      "0 dropped cap vendor bytes@0x4: 4 bytes that differ "
                      "between inputs\n"
                      "1 dropped raw bytes@0xd0: absent on input 2, 3\n"
                      "2 dropped raw.scratch: absent on input 1\n"
                      "3 dropped raw.scratch: absent on input 1\n");
    char *t = text_of(res->l);
    ck_assert_str_eq(t, "vpci-layout 1\n"
                        "space 256\n"
                        "\n"
                        "header type0\n"
                        "  0x00 u16 vendor_id            0x1af4\n"
                        "  0x02 u16 device_id            0x1041\n"
                        "  0x04 u16 command              0x0006  rw 0x0507  "
                        "phys 0x0104\n"
                        "  0x06 u16 status               0x0010\n"
                        "  0x0b u8  base_class           0x02\n"
                        "  0x0e u8  header_type          0x00\n"
                        "\n"
                        "rom none\n"
                        "\n"
                        "cap 0x40 vendor\n"
                        "  0x02 u8  vndr_len             0x0c\n"
                        "  0x08 bytes 4 00 00 00 00  phys ff ff ff ff\n"
                        "\n"
                        "raw\n"
                        "  0xc0 bytes 2 aa bb\n"
                        "\n"
                        "requires\n"
                        "  device 1af4:1041\n");
    free(t);
    result_free(res);
    vpci_layout_free(a);
    vpci_layout_free(b);
    vpci_layout_free(c);
}
END_TEST

START_TEST(test_bad_args)
{
    struct vpci_layout *out = NULL;
    struct vpci_error err;
    ck_assert_int_eq(vpci_layout_common(NULL, 0, NULL, &out, NULL, &err),
                     -EINVAL);
    ck_assert_str_eq(err.msg, "no inputs");
    struct dev *a = igb(IGB1);
    const struct vpci_layout *ls[] = {a->l, NULL};
    ck_assert_int_eq(vpci_layout_common(ls, 2, NULL, &out, NULL, &err),
                     -EINVAL);
    ck_assert_str_eq(err.msg, "input 2 is not a layout");
    ck_assert_ptr_null(out);
    /* One input: itself with its requires device line; no report needed. */
    ck_assert_int_eq(vpci_layout_common(ls, 1, NULL, &out, NULL, &err), 0);
    char *diff = NULL;
    ck_assert_int_eq(vpci_layout_diff(a->l, out, &diff), 1);
    free(diff);
    vpci_layout_free(out);
    dev_free(a);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("common");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_igb_pair);
    tcase_add_test(tc, test_identical);
    tcase_add_test(tc, test_moved_cap);
    tcase_add_test(tc, test_swapped_caps);
    tcase_add_test(tc, test_reduced_fields);
    tcase_add_test(tc, test_ext_anchor);
    tcase_add_test(tc, test_revision);
    tcase_add_test(tc, test_dropped_caps);
    tcase_add_test(tc, test_not_same_device);
    tcase_add_test(tc, test_set_id);
    tcase_add_test(tc, test_256_byte_input);
    tcase_add_test(tc, test_four_gpus);
    tcase_add_test(tc, test_layout_input);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_pasid_ats);
    tcase_add_test(tc, test_bytes_fields);
    tcase_add_test(tc, test_bad_args);
    tcase_add_test(tc, test_all_pairs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
