/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Compatibility and resolve: instance types derived from real dumps (and
 * edited the way operators edit them) checked against physical functions
 * of several families, PFs and VFs, with the exact reasons expected.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define IGB "dumps/intel-82576-pf-8086-10c9-sriov-4k.lspci"
#define IGB2 "dumps/intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k.lspci"
#define DSA "dumps/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci"
#define CX5 "dumps/mellanox-cx5ex-pf-15b3-1019-256b.lspci"
#define SKL "dumps/intel-skylake-gt2-igpu-8086-191e-pasid-ats-pri-4k.lspci"
#define GPU "dumps/nvidia-quadro-k2200-10de-13ba-256b.lspci"
#define NVME "dumps/nonreal/synopsys-epmockup-nvme-16c3-edda-dev3-4k.lspci"
#define BRIDGE "dumps/intel-x58-rootport-8086-3408-4k.lspci"

/* ------------------------------------------------------------ devices */

/* A physical function with the storage its host_device points into. */
struct hdev {
    uint8_t cfg[VPCI_CFG_SPACE_EXT];
    uint8_t pf_cfg[VPCI_CFG_SPACE_EXT];
    char bdf[16], pf[16];
    struct vpci_host_device h;
};

enum {
    D_IGB_PF,  /* 82576 PF, 4 MiB BAR 1 and ROM */
    D_IGB_PF2, /* the other 82576 dump: 128 KiB BAR 1 and ROM */
    D_IGB_VF,  /* an 82576 VF (8086:10ca) built from the PF */
    D_DSA,     /* Intel DSA: PASID, ATS, PRI, DVSEC */
    D_CX5,     /* ConnectX-5 Ex PF, vendor capability, VPD */
    D_SKL,     /* Skylake GT2 iGPU: PASID at 0x100, ATS, PRI */
    D_GPU,     /* Quadro K2200, ROM */
    D_NVME,    /* an NVMe endpoint (emulated prototype dump) */
    D_BRIDGE,  /* X58 root port: type-1 header */
    D_COUNT
};

static struct hdev *hosts; /* D_COUNT entries, loaded per test */

static uint32_t le(const uint8_t *p, unsigned len)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < len; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static void put(uint8_t *p, unsigned len, uint32_t v)
{
    for (unsigned i = 0; i < len; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A vfio-bound, free function in a viable group, facts mostly known. */
static void hdev_from_dump(struct hdev *hd, const char *rel, const char *slot)
{
    size_t n;
    struct vpci_dump_dev *all = tu_dumps(rel, &n);
    struct vpci_dump_dev *d = NULL;
    for (size_t i = 0; i < n && !d; i++)
        if (!slot || !strcmp(all[i].slot, slot))
            d = &all[i];
    ck_assert_msg(d != NULL, "%s: no device %s", rel, slot ? slot : "");
    memset(hd, 0, sizeof(*hd));
    memcpy(hd->cfg, d->cfg, d->size);
    snprintf(hd->bdf, sizeof(hd->bdf), "%s", d->slot);
    struct vpci_host_device *h = &hd->h;
    h->dev.cfg = hd->cfg;
    h->dev.size = d->size;
    for (unsigned i = 0; i < VPCI_MAX_BARS; i++)
        h->dev.bar_size[i] = d->region_size[i];
    h->dev.rom_size = d->region_size[VPCI_MAX_BARS];
    h->bdf = hd->bdf;
    h->driver = "vfio-pci";
    h->vfio = true;
    h->migration = -1;
    h->numa_node = 0;
    h->iommu_group = 7;
    free(all);
}

/* Point every pointer of h back at hd's own storage (after a copy). */
static void hdev_fix(struct hdev *hd)
{
    hd->h.dev.cfg = hd->cfg;
    hd->h.bdf = hd->bdf;
    if (hd->h.pf_cfg)
        hd->h.pf_cfg = hd->pf_cfg;
    if (hd->h.pf)
        hd->h.pf = hd->pf;
}

/*
 * An 82576 VF as a VF reads: IDs and BAR registers 0xffff/0, no PM or
 * MSI, MSI-X with 3 vectors, PCIe, and AER -> ARI in the extended space.
 * IDs and BAR geometry come from sysfs.
 */
static void make_igb_vf(struct hdev *vf, const struct hdev *pf)
{
    *vf = *pf;
    uint8_t *c = vf->cfg;
    put(c + 0x00, 4, 0xffffffff);
    memset(c + 0x10, 0, 24);
    memset(c + 0x30, 0, 4);
    c[0x3d] = 0; /* no INTx */
    c[0x34] = 0x70;
    put(c + 0x72, 2, 0x0002); /* MSI-X table size 3 */
    /* AER at 0x100 -> ARI at 0x150, which ends the chain. */
    put(c + 0x100, 4, (le(c + 0x100, 4) & 0x000fffff) | 0x150u << 20);
    put(c + 0x150, 4, le(c + 0x150, 4) & 0x000fffff);
    memset(c + 0x140, 0, 0x10);
    memset(c + 0x160, 0, 0x40);
    memcpy(vf->pf_cfg, pf->cfg, sizeof(vf->pf_cfg));
    snprintf(vf->bdf, sizeof(vf->bdf), "0000:01:10.0");
    snprintf(vf->pf, sizeof(vf->pf), "%s", pf->bdf);
    struct vpci_host_device *h = &vf->h;
    h->dev.is_vf = true;
    h->dev.vendor_id = 0x8086;
    h->dev.device_id = 0x10ca;
    memset(h->dev.bar_size, 0, sizeof(h->dev.bar_size));
    h->dev.bar_size[0] = 16 << 10;
    h->dev.bar_size[3] = 16 << 10;
    h->dev.bar_type[0] = VPCI_BAR_MEM64;
    h->dev.bar_type[3] = VPCI_BAR_MEM64;
    h->dev.rom_size = 0;
    h->pf_cfg = vf->pf_cfg;
    h->pf_size = VPCI_CFG_SPACE_EXT;
    h->pf = vf->pf;
    h->iommu_group = 40;
    hdev_fix(vf);
}

static void hosts_load(void)
{
    hosts = calloc(D_COUNT, sizeof(*hosts));
    ck_assert_ptr_nonnull(hosts);
    hdev_from_dump(&hosts[D_IGB_PF], IGB, NULL);
    hosts[D_IGB_PF].h.link_speed_mts = 2500;
    hosts[D_IGB_PF].h.link_width = 4;
    hosts[D_IGB_PF].h.migration = 0;
    hdev_from_dump(&hosts[D_IGB_PF2], IGB2, NULL);
    make_igb_vf(&hosts[D_IGB_VF], &hosts[D_IGB_PF]);
    hdev_from_dump(&hosts[D_DSA], DSA, NULL);
    hosts[D_DSA].h.numa_node = 1;
    hdev_from_dump(&hosts[D_CX5], CX5, NULL);
    /* This dump has no Region lines: sysfs would say. */
    hosts[D_CX5].h.dev.bar_size[0] = 32 << 20;
    hosts[D_CX5].h.driver = "mlx5_vfio_pci";
    hosts[D_CX5].h.migration = 1;
    hosts[D_CX5].h.link_speed_mts = 16000;
    hosts[D_CX5].h.link_width = 16;
    hdev_from_dump(&hosts[D_SKL], SKL, NULL);
    hdev_from_dump(&hosts[D_GPU], GPU, "0000:01:00.0");
    hosts[D_GPU].h.dev.bar_size[0] = 16 << 20;
    hosts[D_GPU].h.dev.bar_size[1] = 256 << 20;
    hosts[D_GPU].h.dev.bar_size[3] = 32 << 20;
    hosts[D_GPU].h.dev.bar_size[5] = 128;
    hdev_from_dump(&hosts[D_NVME], NVME, NULL);
    hosts[D_NVME].h.dev.bar_size[0] = 16 << 10;
    hdev_from_dump(&hosts[D_BRIDGE], BRIDGE, NULL);
}

static void hosts_free(void)
{
    free(hosts);
    hosts = NULL;
}

/* ------------------------------------------------------------ types */

static struct vpci_layout *derive_vfio(const struct vpci_host_device *h)
{
    struct vpci_layout *l = NULL;
    struct vpci_error err = {0};
    int r = vpci_derive(&h->dev, VPCI_POLICY_VFIO, NULL, &l, NULL, &err);
    ck_assert_msg(r == 0, "%s: derive failed: %s", h->bdf, err.msg);
    return l;
}

static struct vpci_block *find_block(struct vpci_layout *l, bool ext,
                                     uint16_t id)
{
    for (size_t i = 1; i < l->nblocks; i++)
        if (l->blocks[i].kind == (ext ? VPCI_BLOCK_ECAP : VPCI_BLOCK_CAP) &&
            l->blocks[i].id == id)
            return &l->blocks[i];
    return NULL;
}

static void set_reg(struct vpci_block *b, const char *name, uint32_t v)
{
    const struct vpci_field *f = vpci_block_find_field(b, name);
    ck_assert_msg(f != NULL, "no field %s", name);
    put(f->val, f->len, v);
}

/* Add requires lines given as text: "numa 1", "link speed 8". */
static void req(struct vpci_layout *l, const char *line)
{
    char buf[256], *words[20], *save = NULL;
    size_t n = 0;
    snprintf(buf, sizeof(buf), "%s", line);
    for (char *w = strtok_r(buf, " ", &save); w && n < 20;
         w = strtok_r(NULL, " ", &save))
        words[n++] = w;
    ck_assert_int_eq(vpci_layout_add_stmt(l, false, words[0],
                                          (const char *const *)words + 1,
                                          n - 1),
                     0);
}

/* A virtual PASID (what the Intel quirk places) at off, appended to the
 * extended chain. */
static void add_pasid(struct vpci_layout *l, uint16_t off, uint16_t cap)
{
    struct vpci_block *b;
    ck_assert_int_eq(
        vpci_layout_add_block(l, VPCI_BLOCK_ECAP, off, 0x1b, 1, "pasid", &b),
        0);
    ck_assert_int_eq(vpci_block_add_reg(b, 4, 2, "pasid_cap", cap, 0, 0, 0), 0);
    ck_assert_int_eq(vpci_block_add_reg(b, 6, 2, "pasid_ctl", 0, 7, 0, 0), 0);
}

enum {
    T_IGB_PF,
    T_IGB_PF_BIGBAR, /* BAR 0 doubled */
    T_IGB_PF_MSIX32, /* 32 MSI-X vectors; the 82576 has 10 */
    T_IGB_PF_ANYDRV, /* requires driver igb vfio-pci */
    T_IGB_PF_REQ,    /* requires numa 1, link speed 8 width 8, migration */
    T_IGB_VF,
    T_IGB_VF_ANY,   /* requires device 8086:10ca 8086:10c9 */
    T_IGB_VF_PASID, /* requires pasid ats pri */
    T_DSA,
    T_DSA_PASID,   /* virtual PASID at 0x300 as the device has it */
    T_DSA_PASID20, /* width 20, exec, priv: beyond the device */
    T_CX5,
    T_CX5_CORE, /* requires driver mlx5_core */
    T_SKL_REQ,  /* requires pasid width 20 exec, ats, pri */
    T_GPU,
    T_GPU_NOROM, /* ROM left out: any ROM size does */
    T_NVME,
    T_BRIDGE,
    T_COUNT
};

static struct vpci_layout *type_build(int t)
{
    struct vpci_layout *l = NULL;
    struct vpci_block *b;
    switch (t) {
    case T_IGB_PF:
    case T_IGB_PF_BIGBAR:
    case T_IGB_PF_MSIX32:
    case T_IGB_PF_ANYDRV:
    case T_IGB_PF_REQ:
        l = derive_vfio(&hosts[D_IGB_PF].h);
        if (t == T_IGB_PF_BIGBAR)
            l->bars[0].size *= 2;
        if (t == T_IGB_PF_MSIX32) {
            b = find_block(l, false, 0x11);
            set_reg(b, "msgctl", 31);
        }
        if (t == T_IGB_PF_ANYDRV)
            req(l, "driver igb vfio-pci");
        if (t == T_IGB_PF_REQ) {
            req(l, "migration");
            req(l, "numa 1");
            req(l, "link speed 8 width 8");
        }
        break;
    case T_IGB_VF:
    case T_IGB_VF_ANY:
    case T_IGB_VF_PASID:
        l = derive_vfio(&hosts[D_IGB_VF].h);
        if (t == T_IGB_VF_ANY)
            req(l, "device 8086:10ca 8086:10c9");
        if (t == T_IGB_VF_PASID) {
            req(l, "pasid");
            req(l, "ats");
            req(l, "pri");
        }
        break;
    case T_DSA:
        l = derive_vfio(&hosts[D_DSA].h);
        break;
    case T_DSA_PASID:
        l = derive_vfio(&hosts[D_DSA].h);
        add_pasid(l, 0x300, 0x1404);
        break;
    case T_DSA_PASID20:
        l = derive_vfio(&hosts[D_DSA].h);
        add_pasid(l, 0x300, 0x1406);
        break;
    case T_CX5:
    case T_CX5_CORE:
        l = derive_vfio(&hosts[D_CX5].h);
        if (t == T_CX5_CORE)
            req(l, "driver mlx5_core");
        break;
    case T_SKL_REQ:
        l = derive_vfio(&hosts[D_SKL].h);
        req(l, "pasid width 20 exec");
        req(l, "ats");
        req(l, "pri");
        break;
    case T_GPU:
    case T_GPU_NOROM:
        l = derive_vfio(&hosts[D_GPU].h);
        if (t == T_GPU_NOROM)
            l->rom.size = 0, l->rom.from_phys = false;
        break;
    case T_NVME:
        l = derive_vfio(&hosts[D_NVME].h);
        break;
    case T_BRIDGE:
        l = derive_vfio(&hosts[D_BRIDGE].h);
        break;
    }
    ck_assert_ptr_nonnull(l);
    struct vpci_error err = {0};
    ck_assert_msg(vpci_layout_validate(l, &err) == 0, "type %d: %s", t,
                  err.msg);
    return l;
}

/* ------------------------------------------------------------ checking */

static struct vpci_rules *rules_ok(const struct vpci_layout *l)
{
    struct vpci_rules *r = NULL;
    struct vpci_error err = {0};
    int rc = vpci_rules_new(l, &r, &err);
    ck_assert_msg(rc == 0, "rules: %s", err.msg);
    return r;
}

/* Codes of c joined by ',' ("" when compatible). */
static void codes(const struct vpci_compat *c, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->nreasons && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? "," : "",
                                c->reasons[i].code);
}

static void dump_reasons(const struct vpci_compat *c)
{
    for (size_t i = 0; i < c->nreasons; i++)
        fprintf(stderr, "  %s: %s [expected '%s' actual '%s']\n",
                c->reasons[i].code, c->reasons[i].message,
                c->reasons[i].expected, c->reasons[i].actual);
}

static struct vpci_compat *check(const struct vpci_layout *l,
                                 const struct vpci_host_device *h,
                                 int numa_pref)
{
    struct vpci_rules *r = rules_ok(l);
    struct vpci_compat *c = malloc(sizeof(*c));
    ck_assert_ptr_nonnull(c);
    memset(c, 0xa5, sizeof(*c)); /* no field may be left as it was */
    ck_assert_int_eq(vpci_compat_check(r, h, numa_pref, c), 0);
    vpci_rules_free(r);
    ck_assert_int_eq(c->compatible, c->nreasons == 0);
    if (!c->compatible)
        ck_assert_int_eq(c->score, 0);
    ck_assert_uint_le(c->nreasons, VPCI_COMPAT_MAX_REASONS);
    return c;
}

static void expect_codes(const struct vpci_compat *c, const char *want,
                         const char *what)
{
    char got[1024];
    codes(c, got, sizeof(got));
    if (strcmp(got, want))
        dump_reasons(c);
    ck_assert_msg(!strcmp(got, want), "%s: reasons '%s', expected '%s'", what,
                  got, want);
}

/* The reason with this code, or fail. */
static const struct vpci_reason *find_reason(const struct vpci_compat *c,
                                             const char *code)
{
    for (size_t i = 0; i < c->nreasons; i++)
        if (!strcmp(c->reasons[i].code, code))
            return &c->reasons[i];
    ck_abort_msg("no reason %s", code);
    return NULL;
}

static void expect_reason(const struct vpci_compat *c, const char *code,
                          const char *expected, const char *actual,
                          const char *message)
{
    const struct vpci_reason *r = find_reason(c, code);
    ck_assert_str_eq(r->expected, expected);
    ck_assert_str_eq(r->actual, actual);
    if (message)
        ck_assert_str_eq(r->message, message);
}

/* ------------------------------------------------------------ matrix */

static const struct {
    int type, dev;
    const char *codes;
} matrix[] = {
    /* Every type fits the function it was derived from. */
    {T_IGB_PF, D_IGB_PF, ""},
    {T_IGB_VF, D_IGB_VF, ""},
    {T_DSA, D_DSA, ""},
    {T_DSA_PASID, D_DSA, ""},
    {T_CX5, D_CX5, ""},
    {T_GPU, D_GPU, ""},
    {T_NVME, D_NVME, ""},
    {T_IGB_PF_ANYDRV, D_IGB_PF, ""},

    /* The other 82576: BAR 1 and ROM are 128 KiB, not 4 MiB. */
    {T_IGB_PF, D_IGB_PF2, "bar-size,rom-size"},
    {T_IGB_PF_BIGBAR, D_IGB_PF, "bar-size"},
    {T_IGB_PF_BIGBAR, D_IGB_PF2, "bar-size,bar-size,rom-size"},
    {T_IGB_PF_MSIX32, D_IGB_PF, "msix-vectors"},
    {T_IGB_PF_REQ, D_IGB_PF, "migration,numa,link-speed,link-width"},
    /* The CX5 runs x16 at 16 GT/s and migrates, but is not an 82576. */
    {T_IGB_PF_REQ, D_CX5,
     "device-id,bar-type,bar-size,bar-missing,bar-missing,bar-missing,"
     "rom-missing,msi-missing,numa"},

    /* PF type on the VF: other ID, VF BARs are 64-bit, no BAR 1/2, no
     * ROM, no MSI, 3 MSI-X vectors. */
    {T_IGB_PF, D_IGB_VF,
     "device-id,bar-type,bar-size,bar-missing,bar-missing,bar-type,"
     "rom-missing,msi-missing,msix-vectors"},
    /* VF type on the PF: the VF's ID, 32-bit BARs of other sizes. */
    {T_IGB_VF, D_IGB_PF, "device-id,bar-type,bar-size,bar-type"},
    {T_IGB_VF_ANY, D_IGB_PF, "bar-type,bar-size,bar-type"},
    {T_IGB_VF_ANY, D_IGB_VF, ""},
    /* PASID and PRI come from the PF, which has neither; ATS neither. */
    {T_IGB_VF_PASID, D_IGB_VF, "pasid-missing,ats-missing,pri-missing"},

    /* PASID width 20, priv, no exec on the DSA. */
    {T_DSA_PASID20, D_DSA, "pasid-exec"},
    {T_DSA, D_IGB_PF,
     "device-id,bar-type,bar-size,bar-type,bar-size,phys-cap-missing,"
     "ats-missing,pri-missing"},
    /* Skylake: 64-bit non-prefetchable BAR 0, no MSI-X, no DVSEC, PASID
     * with exec and without priv. */
    {T_DSA_PASID, D_SKL,
     "device-id,bar-type,bar-size,bar-size,msix-missing,phys-cap-missing,"
     "pasid-priv"},
    {T_DSA_PASID20, D_SKL,
     "device-id,bar-type,bar-size,bar-size,msix-missing,phys-cap-missing,"
     "pasid-priv"},

    /* Skylake: PASID width 20 with exec, ATS, PRI. */
    {T_SKL_REQ, D_SKL, ""},
    {T_SKL_REQ, D_DSA,
     "device-id,bar-type,bar-size,bar-size,bar-missing,msi-missing,"
     "phys-cap-missing,pasid-exec"},

    {T_CX5_CORE, D_CX5, "driver"},
    {T_CX5, D_GPU,
     "device-id,bar-type,bar-size,msix-missing,phys-cap-missing,"
     "phys-cap-missing"},

    {T_GPU, D_CX5,
     "device-id,bar-type,bar-size,bar-missing,bar-missing,"
     "bar-missing,rom-missing,msi-missing"},
    {T_GPU_NOROM, D_GPU, ""},
    /* NVMe: 64-bit BAR 0 of 16 KiB, 8 MSI and 16 MSI-X vectors. */
    {T_NVME, D_IGB_PF, "device-id,bar-type,bar-size,msi-vectors,msix-vectors"},

    /* A type-1 root port (2 MSI vectors, a VSEC with phys bytes) and a
     * type-0 endpoint: no BARs 2-5 behind a type-1 header. */
    {T_BRIDGE, D_BRIDGE, ""},
    {T_BRIDGE, D_IGB_PF, "header-type,device-id,msi-vectors,phys-cap-missing"},
    {T_IGB_PF, D_BRIDGE,
     "header-type,device-id,bar-missing,bar-missing,bar-missing,bar-missing,"
     "rom-missing,msix-missing"},
};

START_TEST(test_matrix)
{
    hosts_load();
    struct vpci_layout *types[T_COUNT];
    for (int t = 0; t < T_COUNT; t++)
        types[t] = type_build(t);
    /* Report every wrong row, not just the first. */
    size_t bad = 0;
    for (size_t i = 0; i < ARRAY_SIZE(matrix); i++) {
        struct vpci_compat *c =
            check(types[matrix[i].type], &hosts[matrix[i].dev].h, -1);
        char got[1024];
        codes(c, got, sizeof(got));
        if (strcmp(got, matrix[i].codes)) {
            fprintf(stderr,
                    "row %zu (type %d on device %d): '%s', expected "
                    "'%s'\n",
                    i, matrix[i].type, matrix[i].dev, got, matrix[i].codes);
            dump_reasons(c);
            bad++;
        }
        ck_assert_uint_eq(c->dropped, 0);
        free(c);
    }
    ck_assert_msg(bad == 0, "%zu of %zu rows differ", bad, ARRAY_SIZE(matrix));
    for (int t = 0; t < T_COUNT; t++)
        vpci_layout_free(types[t]);
    hosts_free();
}
END_TEST

/* Host rules come after the layout rules, in their documented order. */
START_TEST(test_host_rules)
{
    hosts_load();
    struct vpci_layout *l = type_build(T_IGB_PF);
    struct vpci_host_device h = hosts[D_IGB_PF].h;

    h.vfio = false;
    h.driver = "igb";
    struct vpci_compat *c = check(l, &h, -1);
    expect_codes(c, "not-vfio", "bound to igb");
    expect_reason(c, "not-vfio", "vfio", "igb",
                  "the function is bound to igb, not to a vfio driver");
    free(c);

    h.driver = NULL;
    h.iommu_group = -1;
    c = check(l, &h, -1);
    expect_codes(c, "not-vfio,no-iommu-group", "unbound, no group");
    expect_reason(c, "not-vfio", "vfio", "none", NULL);
    expect_reason(c, "no-iommu-group", "iommu group", "none", NULL);
    free(c);

    h = hosts[D_IGB_PF].h;
    h.group_blocker = "0000:01:00.1";
    h.group_blocker_driver = "igb";
    h.reserved_by = "0b7c2f4e-3c1d-4d7e-9a51-6f0e2b1d9c3a";
    c = check(l, &h, -1);
    expect_codes(c, "iommu-group,reserved", "blocked and held");
    expect_reason(c, "iommu-group", "viable", "0000:01:00.1 (igb)",
                  "IOMMU group 7 is not viable: 0000:01:00.1 (igb) is bound "
                  "to a host driver");
    expect_reason(c, "reserved", "free", "0b7c2f4e-3c1d-4d7e-9a51-6f0e2b1d9c3a",
                  NULL);
    free(c);

    h.group_blocker_driver = NULL;
    h.reserved_by = NULL;
    c = check(l, &h, -1);
    expect_reason(c, "iommu-group", "viable", "0000:01:00.1", NULL);
    free(c);

    /* Layout rules first, host rules last. */
    h = hosts[D_IGB_PF2].h;
    h.vfio = false;
    h.driver = "igb";
    c = check(l, &h, -1);
    expect_codes(c, "bar-size,rom-size,not-vfio", "both kinds");
    free(c);
    vpci_layout_free(l);
    hosts_free();
}
END_TEST

/* 1 + 1000 for the layout's own IDs + 100 on the preferred node - load. */
START_TEST(test_score)
{
    hosts_load();
    struct vpci_layout *l = type_build(T_IGB_VF_ANY);
    struct vpci_host_device vf = hosts[D_IGB_VF].h;
    struct vpci_host_device pf = hosts[D_IGB_PF].h;
    struct vpci_compat *c = check(l, &vf, -1);
    ck_assert(c->compatible);
    ck_assert_int_eq(c->score, 1001);
    free(c);
    c = check(l, &vf, 0);
    ck_assert_int_eq(c->score, 1101);
    free(c);
    c = check(l, &vf, 1);
    ck_assert_int_eq(c->score, 1001);
    free(c);
    vf.pf_load = 3;
    c = check(l, &vf, 0);
    ck_assert_int_eq(c->score, 1098);
    free(c);
    vf.pf_load = 5000;
    c = check(l, &vf, 0);
    ck_assert_int_eq(c->score, 1002);
    free(c);
    vf.numa_node = -1;
    vf.pf_load = 0;
    c = check(l, &vf, 0);
    ck_assert_int_eq(c->score, 1001);
    free(c);

    /* A PF listed in requires device but not the layout's own IDs:
     * compatible once its BARs fit, ranked below the exact match. */
    struct vpci_layout *l2 = NULL;
    ck_assert_int_eq(vpci_layout_dup(l, &l2), 0);
    for (unsigned i = 0; i < VPCI_MAX_BARS; i++)
        l2->bars[i].type = VPCI_BAR_NONE, l2->bars[i].size = 0;
    l2->bars[0] =
        (struct vpci_bar){.type = VPCI_BAR_MEM32, .size = 128 << 10, .from = 0};
    c = check(l2, &pf, 0);
    ck_assert(c->compatible);
    ck_assert_int_eq(c->score, 101);
    free(c);
    c = check(l2, &vf, 0);
    expect_codes(c, "bar-type,bar-size", "VF under the PF's BAR");
    free(c);
    vpci_layout_free(l2);
    vpci_layout_free(l);
    hosts_free();
}
END_TEST

/* Requires lines on facts the host does not know: each fails with
 * actual "unknown". */
START_TEST(test_unknown_facts)
{
    hosts_load();
    struct vpci_layout *l = type_build(T_IGB_PF);
    req(l, "subsystem 8086:0001");
    req(l, "migration");
    req(l, "numa 0");
    req(l, "link speed 2.5 width 4");
    struct vpci_host_device h = hosts[D_IGB_PF].h;
    h.migration = -1;
    h.numa_node = -1;
    h.link_speed_mts = 0;
    h.link_width = 0;
    struct vpci_compat *c = check(l, &h, 0);
    expect_codes(c, "subsystem-id,migration,numa,link-speed,link-width",
                 "unknown facts");
    expect_reason(c, "subsystem-id", "8086:0001", "8086:a03c",
                  "subsystem 8086:a03c is not listed in requires subsystem");
    expect_reason(c, "migration", "yes", "unknown", NULL);
    expect_reason(c, "numa", "0", "unknown", NULL);
    expect_reason(c, "link-speed", ">= 2.5 GT/s", "unknown", NULL);
    expect_reason(c, "link-width", ">= x4", "unknown", NULL);
    free(c);

    /* Known and sufficient: the subsystem from sysfs overrides cfg. */
    h.subsystem_vendor_id = 0x8086;
    h.subsystem_id = 0x0001;
    h.migration = 1;
    h.numa_node = 0;
    h.link_speed_mts = 8000;
    h.link_width = 8;
    c = check(l, &h, 0);
    expect_codes(c, "", "facts known");
    free(c);
    h.migration = 0;
    h.link_speed_mts = 2000;
    h.link_width = 2;
    c = check(l, &h, 0);
    expect_codes(c, "migration,link-speed,link-width", "too slow");
    expect_reason(c, "migration", "yes", "no", NULL);
    expect_reason(c, "link-speed", ">= 2.5 GT/s", "2 GT/s", NULL);
    expect_reason(c, "link-width", ">= x4", "x2", NULL);
    free(c);
    vpci_layout_free(l);

    /* A VF whose PF config space is unknown: PASID and PRI unknown, ATS
     * is the VF's own. */
    l = type_build(T_IGB_VF_PASID);
    h = hosts[D_IGB_VF].h;
    h.pf_cfg = NULL;
    c = check(l, &h, 0);
    expect_codes(c, "pasid-missing,ats-missing,pri-missing", "no pf cfg");
    expect_reason(c, "pasid-missing", "pasid", "unknown", NULL);
    expect_reason(c, "ats-missing", "ats", "none", NULL);
    expect_reason(c, "pri-missing", "pri", "unknown", NULL);
    free(c);
    /* Sysfs IDs unknown and config bytes 0xffff: a VF that lost its
     * sysfs facts is another device, never a crash. */
    h.dev.vendor_id = 0;
    c = check(l, &h, 0);
    expect_reason(c, "device-id", "8086:10ca", "ffff:ffff", NULL);
    free(c);
    vpci_layout_free(l);
    hosts_free();
}
END_TEST

/* A VF takes PASID and PRI from its PF; ATS from itself. */
START_TEST(test_vf_pasid_from_pf)
{
    hosts_load();
    struct vpci_layout *l = type_build(T_IGB_VF_PASID);
    struct hdev *vf = malloc(sizeof(*vf));
    ck_assert_ptr_nonnull(vf);
    *vf = hosts[D_IGB_VF];
    hdev_fix(vf);
    /* The PF is a DSA-like function: PASID (priv), PRI, ATS; its PASID
     * is narrowed to 14 bits. */
    memcpy(vf->pf_cfg, hosts[D_DSA].cfg, VPCI_CFG_SPACE_EXT);
    EQX(le(vf->pf_cfg + 0x234, 2), 0x1404);
    put(vf->pf_cfg + 0x234, 2, 0x0e04);
    struct vpci_compat *c = check(l, &vf->h, -1);
    expect_codes(c, "ats-missing", "pf has pasid/pri");
    free(c);
    vpci_layout_free(l);

    l = type_build(T_IGB_VF);
    req(l, "pasid width 16 exec priv");
    c = check(l, &vf->h, -1);
    expect_codes(c, "pasid-width,pasid-exec", "pf pasid too narrow");
    expect_reason(c, "pasid-width", ">= 16", "14",
                  "PASID width 16 is needed, the PF supports 14");
    expect_reason(c, "pasid-exec", "exec", "no exec", NULL);
    free(c);
    /* The same layout on a PF reads the PF's own PASID. */
    struct hdev *pf = malloc(sizeof(*pf));
    ck_assert_ptr_nonnull(pf);
    *pf = hosts[D_DSA];
    hdev_fix(pf);
    put(pf->cfg + 0x234, 2, 0x0c02); /* 12 bits, exec */
    c = check(l, &pf->h, -1);
    expect_reason(c, "pasid-width", ">= 16", "12",
                  "PASID width 16 is needed, the function supports 12");
    ck_assert_str_eq(find_reason(c, "pasid-priv")->actual, "no priv");
    free(c);
    free(pf);
    vpci_layout_free(l);
    free(vf);
    hosts_free();
}
END_TEST

/* Garbage config bytes: every rule answers, nothing crashes. */
START_TEST(test_garbage_cfg)
{
    hosts_load();
    struct vpci_layout *types[T_COUNT];
    for (int t = 0; t < T_COUNT; t++)
        types[t] = type_build(t);
    struct vpci_rules *rules[T_COUNT];
    for (int t = 0; t < T_COUNT; t++)
        rules[t] = rules_ok(types[t]);
    struct vpci_compat *c = malloc(sizeof(*c));
    ck_assert_ptr_nonnull(c);
    struct hdev *g = malloc(sizeof(*g));
    ck_assert_ptr_nonnull(g);

    /* All ones: the function is gone. */
    *g = hosts[D_DSA];
    hdev_fix(g);
    memset(g->cfg, 0xff, sizeof(g->cfg));
    g->h.dev.vendor_id = 0;
    ck_assert_int_eq(vpci_compat_check(rules[T_DSA], &g->h, -1, c), 0);
    ck_assert(!c->compatible);
    ck_assert_str_eq(c->reasons[0].code, "header-type");
    ck_assert_str_eq(c->reasons[1].code, "device-id");
    ck_assert_str_eq(c->reasons[1].actual, "ffff:ffff");

    /* Truncated: fewer than 64 bytes, and no bytes at all. */
    g->h.dev.size = 63;
    ck_assert_int_eq(vpci_compat_check(rules[T_DSA], &g->h, -1, c), 0);
    ck_assert_str_eq(c->reasons[0].code, "config-unreadable");
    ck_assert_str_eq(c->reasons[0].expected, ">= 64 bytes");
    ck_assert_str_eq(c->reasons[0].actual, "63 bytes");
    ck_assert_str_eq(c->reasons[1].code, "device-id");
    ck_assert_str_eq(c->reasons[1].actual, "unknown");
    g->h.dev.cfg = NULL;
    g->h.dev.size = 4096;
    ck_assert_int_eq(vpci_compat_check(rules[T_DSA], &g->h, -1, c), 0);
    ck_assert_str_eq(c->reasons[0].actual, "0 bytes");

    /* Chains that loop on themselves, in both spaces. */
    *g = hosts[D_DSA];
    hdev_fix(g);
    g->cfg[0x41] = 0x40;                 /* pcie -> pcie */
    put(g->cfg + 0x100, 4, 0x10020001u); /* aer -> aer */
    ck_assert_int_eq(vpci_compat_check(rules[T_DSA], &g->h, -1, c), 0);
    char got[512];
    codes(c, got, sizeof(got));
    ck_assert_str_eq(got, "msix-missing,phys-cap-missing,ats-missing,"
                          "pri-missing");

    /* Random bytes and random facts against every type. */
    tu_srand(0xc0ffee);
    for (int round = 0; round < 3000; round++) {
        *g = hosts[tu_rand() % D_COUNT];
        hdev_fix(g);
        unsigned nflips = tu_rand() % 64;
        for (unsigned i = 0; i < nflips; i++) {
            unsigned off = tu_rand() % 4096;
            if (tu_rand() % 2)
                off = 0x34 + tu_rand() % 12; /* pointers and IDs */
            g->cfg[off] = (uint8_t)tu_rand();
        }
        if (tu_rand() % 4 == 0)
            g->h.dev.size = tu_rand() % 4097;
        if (tu_rand() % 8 == 0)
            g->h.dev.bar_type[tu_rand() % 6] =
                (enum vpci_bar_type)(tu_rand() % 5);
        if (tu_rand() % 8 == 0)
            g->h.dev.bar_size[tu_rand() % 6] = (uint64_t)tu_rand() << 32;
        g->h.dev.is_vf = tu_rand() % 2;
        if (g->h.dev.is_vf && tu_rand() % 2) {
            g->h.pf_cfg = g->pf_cfg;
            g->h.pf_size = tu_rand() % 4097;
            for (unsigned i = 0; i < 64; i++)
                g->pf_cfg[tu_rand() % 4096] = (uint8_t)tu_rand();
        }
        g->h.numa_node = (int)(tu_rand() % 5) - 2;
        g->h.pf_load = tu_rand();
        int t = (int)(tu_rand() % T_COUNT);
        ck_assert_int_eq(
            vpci_compat_check(rules[t], &g->h, (int)(tu_rand() % 3) - 1, c), 0);
        ck_assert_int_eq(c->compatible, c->nreasons == 0);
        if (c->compatible)
            ck_assert_int_ge(c->score, 1 - 99);
        for (size_t i = 0; i < c->nreasons; i++)
            ck_assert(c->reasons[i].code[0] && c->reasons[i].message[0] &&
                      c->reasons[i].expected[0] && c->reasons[i].actual[0]);
    }
    ck_assert_int_eq(vpci_compat_check(NULL, &g->h, -1, c), -EINVAL);
    ck_assert_int_eq(vpci_compat_check(rules[0], NULL, -1, c), -EINVAL);
    ck_assert_int_eq(vpci_compat_check(rules[0], &g->h, -1, NULL), -EINVAL);
    for (int t = 0; t < T_COUNT; t++) {
        vpci_rules_free(rules[t]);
        vpci_layout_free(types[t]);
    }
    vpci_rules_free(NULL);
    free(g);
    free(c);
    hosts_free();
}
END_TEST

/* More failed rules than fit: the rest are counted. */
START_TEST(test_dropped_reasons)
{
    hosts_load();
    /* 40 more extended capabilities with phys bytes, each its own ID. */
    struct vpci_layout *l = derive_vfio(&hosts[D_DSA].h);
    for (unsigned i = 0; i < 40; i++) {
        struct vpci_block *b;
        uint8_t one = 0xff;
        ck_assert_int_eq(vpci_layout_add_block(
                             l, VPCI_BLOCK_ECAP, (uint16_t)(0x400 + 0x10 * i),
                             (uint16_t)(0x100 + i), 1, "", &b),
                         0);
        ck_assert_int_eq(vpci_block_add_bytes(b, 4, 1, &one, NULL, NULL, &one),
                         0);
    }
    struct vpci_compat *c = check(l, &hosts[D_DSA].h, -1);
    ck_assert_uint_eq(c->nreasons, VPCI_COMPAT_MAX_REASONS);
    ck_assert_uint_eq(c->dropped, 40 - VPCI_COMPAT_MAX_REASONS);
    expect_reason(c, "phys-cap-missing", "ecap 0x100", "none",
                  "ecap 0x100 reaches the hardware, the device has none");
    free(c);
    vpci_layout_free(l);
    hosts_free();
}
END_TEST

/* ------------------------------------------------------------ resolve */

static struct vpci_layout *resolve_ok(const struct vpci_layout *l,
                                      const struct vpci_host_device *h,
                                      const char *type, unsigned version)
{
    struct vpci_bind_info b = {
        .instance_type = type, .version = version, .vfio_path = NULL};
    char path[64];
    if (h->iommu_group >= 0) {
        snprintf(path, sizeof(path), "/dev/vfio/%d", h->iommu_group);
        b.vfio_path = path;
    }
    struct vpci_layout *out = NULL;
    struct vpci_error err = {0};
    int r = vpci_resolve(l, h, &b, &out, &err);
    ck_assert_msg(r == 0, "resolve on %s: %d %s", h->bdf, r, err.msg);
    return out;
}

/* The binding section of the canonical text. */
static char *binding_text(const struct vpci_layout *l)
{
    char *text = NULL;
    ck_assert_int_eq(vpci_layout_format(l, &text, NULL), 0);
    char *b = strstr(text, "\nbinding\n");
    ck_assert_ptr_nonnull(b);
    char *ret = strdup(b + 1);
    free(text);
    return ret;
}

/* The resolved text lints, re-parses to the same layout, and keeps the
 * hash and fingerprint of the layout it came from. */
static void expect_resolved_sound(const struct vpci_layout *l,
                                  const struct vpci_layout *res)
{
    char h1[VPCI_HASH_STRLEN], h2[VPCI_HASH_STRLEN];
    char f1[VPCI_HASH_STRLEN], f2[VPCI_HASH_STRLEN];
    ck_assert_int_eq(vpci_layout_hash(l, h1), 0);
    ck_assert_int_eq(vpci_layout_hash(res, h2), 0);
    ck_assert_str_eq(h1, h2);
    ck_assert_int_eq(vpci_layout_fingerprint(l, f1), 0);
    ck_assert_int_eq(vpci_layout_fingerprint(res, f2), 0);
    ck_assert_str_eq(f1, f2);
    char *text = NULL;
    size_t len;
    ck_assert_int_eq(vpci_layout_format(res, &text, &len), 0);
    struct vpci_layout *back = tu_layout_text(text);
    char *diff = NULL;
    ck_assert_int_eq(vpci_layout_diff(res, back, &diff), 0);
    free(diff);
    /* The binding names the content it was made from. */
    char want[128];
    snprintf(want, sizeof(want), "\n  hash %s\n", h1);
    ck_assert_ptr_nonnull(strstr(text, want));
    snprintf(want, sizeof(want), "\n  fingerprint %s\n", f1);
    ck_assert_ptr_nonnull(strstr(text, want));
    vpci_layout_free(back);
    free(text);
}

START_TEST(test_resolve_vf)
{
    hosts_load();
    struct vpci_layout *l = type_build(T_IGB_VF);
    struct vpci_layout *res = resolve_ok(l, &hosts[D_IGB_VF].h, "igbvf-std", 3);
    expect_resolved_sound(l, res);
    char *b = binding_text(res);
    char hash[VPCI_HASH_STRLEN], fp[VPCI_HASH_STRLEN], want[2048];
    vpci_layout_hash(l, hash);
    vpci_layout_fingerprint(l, fp);
    snprintf(want, sizeof(want),
             "binding\n"
             "  instance-type igbvf-std\n"
             "  version 3\n"
             "  hash %s\n"
             "  fingerprint %s\n"
             "  bdf 0000:01:10.0\n"
             "  pf 0000:01:00.0\n"
             "  iommu-group 40\n"
             "  vfio /dev/vfio/40\n"
             "  map bar 0 0\n"
             "  map bar 3 3\n"
             "  map cap msix 0x70 0x70\n"
             "  map cap pcie 0xa0 0xa0\n"
             "  map ecap aer 0x100 0x100\n",
             hash, fp);
    ck_assert_str_eq(b, want);
    free(b);

    /* Resolving a resolved layout replaces its binding. */
    struct hdev *vf2 = malloc(sizeof(*vf2));
    ck_assert_ptr_nonnull(vf2);
    *vf2 = hosts[D_IGB_VF];
    snprintf(vf2->bdf, sizeof(vf2->bdf), "0000:01:10.2");
    vf2->h.iommu_group = -1;
    hdev_fix(vf2);
    struct vpci_bind_info bi = {.instance_type = "igbvf-std", .version = 4};
    struct vpci_layout *res2 = NULL;
    struct vpci_error err = {0};
    ck_assert_int_eq(vpci_resolve(res, &vf2->h, &bi, &res2, &err), 0);
    expect_resolved_sound(l, res2);
    b = binding_text(res2);
    ck_assert_ptr_nonnull(strstr(b, "  version 4\n"));
    ck_assert_ptr_null(strstr(b, "  version 3\n"));
    ck_assert_ptr_nonnull(strstr(b, "  bdf 0000:01:10.2\n"));
    ck_assert_ptr_nonnull(strstr(b, "  iommu-group none\n  vfio none\n"));
    free(b);
    vpci_layout_free(res2);
    free(vf2);
    vpci_layout_free(res);
    vpci_layout_free(l);
    hosts_free();
}
END_TEST

/*
 * The two 82576 dumps have the same offsets, so the second function is
 * the first with MSI-X moved from 0x70 to 0xc0 (chain pm -> msi -> msix
 * -> pcie kept).  Same guest view, different map lines.
 */
START_TEST(test_resolve_moved_cap)
{
    hosts_load();
    struct hdev *mv = malloc(sizeof(*mv));
    ck_assert_ptr_nonnull(mv);
    *mv = hosts[D_IGB_PF];
    hdev_fix(mv);
    snprintf(mv->bdf, sizeof(mv->bdf), "0000:02:00.0");
    EQX(mv->cfg[0x51], 0x70);
    memcpy(mv->cfg + 0xc0, mv->cfg + 0x70, 12);
    memset(mv->cfg + 0x70, 0, 12);
    mv->cfg[0x51] = 0xc0;
    EQX(mv->cfg[0xc1], 0xa0);

    struct vpci_layout *l = type_build(T_IGB_PF);
    struct vpci_compat *c = check(l, &mv->h, -1);
    expect_codes(c, "", "moved msix");
    free(c);
    struct vpci_layout *r1 = resolve_ok(l, &hosts[D_IGB_PF].h, "igb", 1);
    struct vpci_layout *r2 = resolve_ok(l, &mv->h, "igb", 1);
    expect_resolved_sound(l, r1);
    expect_resolved_sound(l, r2);
    char *b1 = binding_text(r1), *b2 = binding_text(r2);
    ck_assert_ptr_nonnull(strstr(b1, "  map cap msix 0x70 0x70\n"));
    ck_assert_ptr_nonnull(strstr(b2, "  map cap msix 0x70 0xc0\n"));
    ck_assert_ptr_nonnull(strstr(b1, "  map cap pm 0x40 0x40\n"));
    ck_assert_ptr_nonnull(strstr(b2, "  map cap pm 0x40 0x40\n"));
    ck_assert_ptr_nonnull(strstr(b2, "  map rom rom\n"));
    /* Only the bdf and the MSI-X map line differ. */
    char *diff = NULL;
    ck_assert_int_eq(vpci_layout_diff(r1, r2, &diff), 4);
    ck_assert_str_eq(diff, "binding: - bdf 0000:01:00.0\n"
                           "binding: - map cap msix 0x70 0x70\n"
                           "binding: + bdf 0000:02:00.0\n"
                           "binding: + map cap msix 0x70 0xc0\n");
    free(diff);
    free(b1);
    free(b2);
    vpci_layout_free(r1);
    vpci_layout_free(r2);
    vpci_layout_free(l);
    free(mv);
    hosts_free();
}
END_TEST

/* Map lines of blocks the device lacks: none when purely virtual, a
 * refusal when the block reaches the hardware or a BAR has no backing. */
START_TEST(test_resolve_refuses)
{
    hosts_load();
    /* Skylake: PASID hidden behind the null placeholder at 0x100, which
     * the device does not have (its 0x100 is PASID). */
    struct vpci_layout *l = type_build(T_SKL_REQ);
    struct vpci_layout *res = resolve_ok(l, &hosts[D_SKL].h, "skl", 1);
    expect_resolved_sound(l, res);
    char *b = binding_text(res);
    ck_assert_ptr_nonnull(strstr(b, "  map ecap null 0x100 none\n"));
    ck_assert_ptr_nonnull(strstr(b, "  map ecap ats 0x200 0x200\n"));
    ck_assert_ptr_nonnull(strstr(b, "  map cap vendor 0x40 0x40\n"));
    ck_assert_ptr_nonnull(strstr(b, "  map bar 4 4\n"));
    ck_assert_ptr_null(strstr(b, "map rom"));
    free(b);
    vpci_layout_free(res);
    vpci_layout_free(l);

    /* A virtual PASID the DSA layout adds: the device's PASID backs it
     * anyway (same ID), at another offset. */
    l = type_build(T_DSA_PASID);
    res = resolve_ok(l, &hosts[D_DSA].h, "dsa", 2);
    b = binding_text(res);
    ck_assert_ptr_nonnull(strstr(b, "  map ecap pasid 0x300 0x230\n"));
    ck_assert_ptr_nonnull(strstr(b, "  map ecap dvsec 0x200 0x200\n"));
    free(b);
    vpci_layout_free(res);

    struct vpci_bind_info bi = {.instance_type = "dsa", .version = 2};
    struct vpci_error err = {0};
    res = NULL;
    /* The Skylake GPU has no DVSEC, whose bytes reach the hardware. */
    ck_assert_int_eq(vpci_resolve(l, &hosts[D_SKL].h, &bi, &res, &err),
                     -EINVAL);
    ck_assert_ptr_null(res);
    ck_assert_str_eq(err.msg, "0000:00:02.0 cannot back the layout: ecap "
                              "dvsec reaches the hardware, the device has "
                              "none");
    vpci_layout_free(l);

    /* The PF layout's BAR 1 on the VF. */
    l = type_build(T_IGB_PF);
    ck_assert_int_eq(vpci_resolve(l, &hosts[D_IGB_VF].h, &bi, &res, &err),
                     -EINVAL);
    ck_assert_str_eq(err.msg, "0000:01:10.0 cannot back the layout: BAR 1 "
                              "is backed by physical BAR 1, which the "
                              "device does not have");
    /* Other rules (IDs, sizes, host state) do not stop resolve: the
     * compatibility check judges them. */
    res = resolve_ok(l, &hosts[D_IGB_PF2].h, "igb", 1);
    vpci_layout_free(res);

    /* Bad arguments. */
    struct vpci_host_device h = hosts[D_IGB_PF].h;
    h.bdf = "01:00.0";
    ck_assert_int_eq(vpci_resolve(l, &h, &bi, &res, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "device '01:00.0' is not a DDDD:BB:DD.F address");
    h.bdf = "0000:01:00.0";
    bi.instance_type = "Bad Name";
    ck_assert_int_eq(vpci_resolve(l, &h, &bi, &res, &err), -EINVAL);
    bi.instance_type = NULL;
    ck_assert_int_eq(vpci_resolve(l, &h, &bi, &res, &err), -EINVAL);
    bi.instance_type = "igb";
    bi.version = 0;
    ck_assert_int_eq(vpci_resolve(l, &h, &bi, &res, &err), -EINVAL);
    bi.version = 1;
    bi.vfio_path = "relative/path";
    ck_assert_int_eq(vpci_resolve(l, &h, &bi, &res, &err), -EINVAL);
    ck_assert_int_eq(vpci_resolve(NULL, &h, &bi, &res, &err), -EINVAL);
    h.dev.size = 32;
    bi.vfio_path = NULL;
    ck_assert_int_eq(vpci_resolve(l, &h, &bi, &res, &err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "only 32 bytes of config space"));
    vpci_layout_free(l);
    hosts_free();
}
END_TEST

/* Every function of one dump file against its own vfio layout; returns
 * how many were checked. */
static size_t fits_itself(struct hdev *hd, const char *rel)
{
    size_t n, checked = 0;
    struct vpci_dump_dev *all = tu_dumps(rel, &n);
    for (size_t i = 0; i < n; i++) {
        hdev_from_dump(hd, rel, all[i].slot);
        struct vpci_layout *l = NULL;
        struct vpci_error err = {0};
        if (vpci_derive(&hd->h.dev, VPCI_POLICY_VFIO, NULL, &l, NULL, &err) < 0)
            continue; /* absent functions, cardbus bridges */
        struct vpci_compat *c = check(l, &hd->h, -1);
        if (!c->compatible)
            dump_reasons(c);
        ck_assert_msg(c->compatible, "%s %s does not fit itself", rel,
                      all[i].slot);
        ck_assert_int_eq(c->score, 1001);
        free(c);
        struct vpci_layout *res = resolve_ok(l, &hd->h, "self", 1);
        for (size_t k = 0; k < res->nbinding; k++) {
            const struct vpci_stmt *st = &res->binding[k];
            if (strcmp(st->key, "map") || st->nargs != 4)
                continue;
            ck_assert_msg(!strcmp(st->args[2], st->args[3]) ||
                              (!strcmp(st->args[3], "none") &&
                               !strcmp(st->args[1], "null")),
                          "%s %s: map %s %s %s %s", rel, all[i].slot,
                          st->args[0], st->args[1], st->args[2], st->args[3]);
        }
        vpci_layout_free(res);
        vpci_layout_free(l);
        checked++;
    }
    free(all);
    return checked;
}

/* Every dump (clean, damaged and emulated): the vfio layout fits its own
 * function (BARs known or left out) and resolves onto it with every map line
 * pointing at the same offset: the check's walk and vpci_decode() agree. */
START_TEST(test_every_dump_fits_itself)
{
    static const char *const dirs[] = {"dumps", "dumps/messy", "dumps/nonreal"};
    size_t checked = 0;
    struct hdev *hd = malloc(sizeof(*hd));
    ck_assert_ptr_nonnull(hd);
    for (size_t di = 0; di < ARRAY_SIZE(dirs); di++) {
        char **list = tu_list_dumps(dirs[di]);
        for (char **p = list; *p; p++) {
            char rel[512];
            snprintf(rel, sizeof(rel), "%s/%s", dirs[di], *p);
            checked += fits_itself(hd, rel);
        }
        tu_free_list(list);
    }
    ck_assert_uint_ge(checked, 120);
    free(hd);
}
END_TEST

/* The strings the API and CLI show, for one reason of each kind. */
START_TEST(test_reason_strings)
{
    hosts_load();
    struct vpci_layout *vf = type_build(T_IGB_VF);
    struct vpci_compat *c = check(vf, &hosts[D_IGB_PF].h, -1);
    expect_reason(c, "device-id", "8086:10ca", "8086:10c9",
                  "device 8086:10c9 is not the layout's 8086:10ca");
    expect_reason(c, "bar-type", "mem64", "mem32",
                  "BAR 0: physical BAR 0 is mem32, the layout needs mem64");
    expect_reason(c, "bar-size", "16384", "131072",
                  "BAR 0: physical BAR 0 has 131072 bytes, the layout needs "
                  "16384");
    free(c);
    vpci_layout_free(vf);

    /* A type-1 layout on an endpoint; the MSI vector counts. */
    struct vpci_layout *br = type_build(T_BRIDGE);
    c = check(br, &hosts[D_IGB_PF].h, -1);
    expect_reason(c, "header-type", "type1", "type0",
                  "the device has header type0, the layout type1");
    expect_reason(c, "msi-vectors", ">= 2", "1",
                  "the layout offers 2 MSI vectors, the device supports 1");
    expect_reason(c, "phys-cap-missing", "ecap vsec", "none",
                  "ecap vsec reaches the hardware, the device has none");
    free(c);
    vpci_layout_free(br);

    /* Long lists are cut to the field, never overflow it. */
    struct vpci_layout *l = type_build(T_IGB_PF);
    req(l, "device 1111:0001 1111:0002 1111:0003 1111:0004 1111:0005 "
           "1111:0006 1111:0007 1111:0008 1111:0009 1111:000a 1111:000b "
           "1111:000c 1111:000d 1111:000e 1111:000f 1111:0010");
    req(l, "driver "
           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
           "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    c = check(l, &hosts[D_IGB_PF].h, -1);
    const struct vpci_reason *r = find_reason(c, "device-id");
    ck_assert_str_eq(r->expected,
                     "1111:0001 1111:0002 1111:0003 1111:0004 1111:0005 "
                     "1111:0006 1111:0007 1111:0008 1111:0009 ...");
    ck_assert_str_eq(r->message,
                     "device 8086:10c9 is not listed in requires device");
    r = find_reason(c, "driver");
    ck_assert_uint_eq(strlen(r->expected), sizeof(r->expected) - 1);
    ck_assert(!strncmp(r->expected, "aaaa", 4));
    ck_assert_str_eq(r->actual, "vfio-pci");
    ck_assert_str_eq(r->message,
                     "host driver vfio-pci is not one the layout accepts");
    free(c);
    vpci_layout_free(l);
    hosts_free();
}
END_TEST

/* Exact IDs beat listed substitutes, the preferred node beats load,
 * load spreads functions over PFs. */
START_TEST(test_score_order)
{
    hosts_load();
    struct vpci_layout *l = type_build(T_IGB_VF);
    req(l, "device 8086:10ca 8086:1520");
    struct vpci_host_device exact_far = hosts[D_IGB_VF].h;
    exact_far.numa_node = 1;
    struct vpci_host_device exact_near_loaded = hosts[D_IGB_VF].h;
    exact_near_loaded.pf_load = 99;
    struct vpci_host_device exact_near = hosts[D_IGB_VF].h;
    exact_near.pf_load = 1;
    struct vpci_host_device other_near = hosts[D_IGB_VF].h;
    other_near.dev.device_id = 0x1520; /* an i350 VF */
    const struct vpci_host_device *order[] = {&exact_near, &exact_near_loaded,
                                              &exact_far, &other_near};
    int last = 1 << 30;
    for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
        struct vpci_compat *c = check(l, order[i], 0);
        ck_assert_msg(c->compatible, "candidate %zu", i);
        ck_assert_msg(c->score < last, "candidate %zu scores %d, not below %d",
                      i, c->score, last);
        last = c->score;
        free(c);
    }
    ck_assert_int_eq(last, 101);
    vpci_layout_free(l);
    hosts_free();
}
END_TEST

/* Rules are compiled only from layouts that validate. */
START_TEST(test_rules_invalid)
{
    hosts_load();
    struct vpci_layout *l = type_build(T_IGB_PF);
    l->bars[0].size = 1000; /* not a power of two */
    struct vpci_rules *r = NULL;
    struct vpci_error err = {0};
    ck_assert_int_eq(vpci_rules_new(l, &r, &err), -EINVAL);
    ck_assert_ptr_null(r);
    ck_assert_str_eq(err.msg, "BAR 0 size 0x3e8 is not a power of two");
    l->bars[0].size = 0x20000;
    l->bars[0].from = 9;
    ck_assert_int_eq(vpci_rules_new(l, &r, &err), -EINVAL);
    ck_assert_ptr_null(r);
    l->bars[0].from = 0;
    ck_assert_int_eq(vpci_rules_new(l, &r, &err), 0);
    vpci_rules_free(r);
    r = NULL;
    ck_assert_int_eq(vpci_rules_new(NULL, &r, &err), -EINVAL);
    ck_assert_int_eq(vpci_rules_new(l, NULL, &err), -EINVAL);
    vpci_layout_free(l);
    hosts_free();
}
END_TEST

/* vpci-layout(5) lists every reason code, in rule order, each as the
 * head of a .TP item. */
START_TEST(test_man_lists_codes)
{
    static const char *const all[] = {"config-unreadable",
                                      "header-type",
                                      "device-id",
                                      "subsystem-id",
                                      "bar-missing",
                                      "bar-type",
                                      "bar-size",
                                      "rom-missing",
                                      "rom-size",
                                      "msi-missing",
                                      "msi-vectors",
                                      "msix-missing",
                                      "msix-vectors",
                                      "phys-cap-missing",
                                      "pasid-missing",
                                      "pasid-width",
                                      "pasid-exec",
                                      "pasid-priv",
                                      "ats-missing",
                                      "pri-missing",
                                      "driver",
                                      "migration",
                                      "numa",
                                      "link-speed",
                                      "link-width",
                                      "not-vfio",
                                      "no-iommu-group",
                                      "iommu-group",
                                      "reserved"};
    char path[4096];
    const char *top = getenv("top_srcdir");
    snprintf(path, sizeof(path), "%s/man/vpci-layout.5", top ? top : ".");
    char *page = tu_read(path, NULL);
    const char *sec = strstr(page, "\n.SH COMPATIBILITY\n");
    ck_assert_ptr_nonnull(sec);
    const char *end = strstr(sec + 1, "\n.SH ");
    ck_assert_ptr_nonnull(end);
    const char *p = sec;
    for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
        char want[64];
        size_t n = 0;
        n += (size_t)snprintf(want, sizeof(want), "\n.TP\n.B ");
        for (const char *c = all[i]; *c; c++) {
            if (*c == '-')
                want[n++] = '\\';
            want[n++] = *c;
        }
        want[n++] = '\n';
        want[n] = '\0';
        const char *hit = strstr(p, want);
        ck_assert_msg(hit && hit < end, "%s is not listed (in order)", all[i]);
        p = hit + 1;
    }
    free(page);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("compat");
    TCase *tc = tcase_create("compat");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_matrix);
    tcase_add_test(tc, test_reason_strings);
    tcase_add_test(tc, test_host_rules);
    tcase_add_test(tc, test_score_order);
    tcase_add_test(tc, test_rules_invalid);
    tcase_add_test(tc, test_man_lists_codes);
    tcase_add_test(tc, test_score);
    tcase_add_test(tc, test_unknown_facts);
    tcase_add_test(tc, test_vf_pasid_from_pf);
    tcase_add_test(tc, test_garbage_cfg);
    tcase_add_test(tc, test_dropped_reasons);
    tcase_add_test(tc, test_resolve_vf);
    tcase_add_test(tc, test_resolve_moved_cap);
    tcase_add_test(tc, test_resolve_refuses);
    tcase_add_test(tc, test_every_dump_fits_itself);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
