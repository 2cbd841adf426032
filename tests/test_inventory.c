/* SPDX-License-Identifier: BSD-2-Clause */
/* The host inventory against fake sysfs trees built from real dumps. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inventory.h"
#include "sysfs_builder.h"
#include "sysfs_fixture.h"
#include "testutil.h"

#define D82576 "dumps/intel-82576-pf-8086-10c9-sriov-4k.lspci"
#define D0D93 "dumps/intel-0d93-xilinx-c084-cxl-dvsec-4k.lspci"
#define DDSA "dumps/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci"
#define DWIFI "dumps/atheros-ar2413-168c-001a-256b.lspci"

static char root[PATH_MAX];

static void setup(void)
{
    sf_setup(root, sizeof(root), "inv");
}

static void teardown(void)
{
    sb_destroy(root);
}

static void add(const char *bdf, const char *dump, struct sb_func_opts *o)
{
    sf_add(root, bdf, dump, o);
}

static struct inv_host *scan(void)
{
    struct inv_host *h = NULL;
    ck_assert_int_eq(vpcid_inventory_scan(root, &h), 0);
    return h;
}

static const struct inv_func *get(const struct inv_host *h, const char *bdf)
{
    const struct inv_func *f = vpcid_inventory_find(h, bdf);
    ck_assert_msg(f != NULL, "%s not in the scan", bdf);
    return f;
}

static bool has_warning(char **w, size_t n, const char *needle)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(w[i], needle))
            return true;
    return false;
}

static const struct vpci_cap_info *cap(const struct inv_func *f, bool ext,
                                       uint16_t id)
{
    for (size_t i = 0; i < f->ncaps; i++)
        if (f->caps[i].ext == ext && f->caps[i].id == id)
            return &f->caps[i];
    return NULL;
}

START_TEST(pf_with_vfs)
{
    struct sb_func_opts o;
    sb_opts_init(&o);
    o.nvfs = 4;
    o.vf_driver = "vfio-pci";
    o.numa = 1;
    add("0000:3b:00.0", D82576, &o);
    struct inv_host *h = scan();
    ck_assert_uint_eq(h->nfuncs, 5);
    const struct inv_func *pf = get(h, "0000:3b:00.0");
    ck_assert_uint_eq(pf->vendor_id, 0x8086);
    ck_assert_uint_eq(pf->device_id, 0x10c9);
    ck_assert_uint_eq(pf->class_code, 0x020000);
    ck_assert_int_eq(pf->revision, 1);
    ck_assert_uint_eq(pf->config_size, 4096);
    ck_assert(!pf->config_partial);
    ck_assert_str_eq(pf->driver, "igb"); /* the dump's driver */
    ck_assert_int_eq(pf->numa_node, 1);
    ck_assert_int_ge(pf->iommu_group, 0);
    /* capabilities with the offsets lspci shows */
    ck_assert_uint_eq(cap(pf, false, 0x01)->off, 0x40);
    ck_assert_uint_eq(cap(pf, false, 0x05)->off, 0x50);
    ck_assert_uint_eq(cap(pf, false, 0x11)->off, 0x70);
    ck_assert_uint_eq(cap(pf, false, 0x10)->off, 0xa0);
    ck_assert_uint_eq(cap(pf, true, 0x01)->off, 0x100);
    ck_assert_uint_eq(cap(pf, true, 0x03)->off, 0x140);
    ck_assert_uint_eq(cap(pf, true, 0x0e)->off, 0x150);
    ck_assert_uint_eq(cap(pf, true, 0x10)->off, 0x160);
    /* BARs from resource: 128K, 4M, I/O 32, 16K */
    ck_assert_uint_eq(pf->nbars, 4);
    ck_assert_uint_eq(pf->bars[0].size, 128 << 10);
    ck_assert_int_eq(pf->bars[0].type, VPCI_BAR_MEM32);
    ck_assert_uint_eq(pf->bars[1].size, 4 << 20);
    ck_assert_int_eq(pf->bars[2].type, VPCI_BAR_IO);
    ck_assert_uint_eq(pf->bars[2].size, 32);
    ck_assert_uint_eq(pf->bars[3].index, 3);
    ck_assert_uint_eq(pf->bars[3].size, 16 << 10);
    /* SR-IOV */
    ck_assert(pf->has_sriov);
    ck_assert_uint_eq(pf->sriov.total_vfs, 8);
    ck_assert_uint_eq(pf->sriov.num_vfs, 4);
    ck_assert_uint_eq(pf->sriov.vf_device_id, 0x10ca);
    ck_assert_uint_eq(pf->sriov.offset, 384);
    ck_assert_uint_eq(pf->sriov.stride, 2);
    ck_assert_uint_eq(pf->nvfs, 4);
    ck_assert_str_eq(pf->vfs[0], "0000:3c:10.0");
    ck_assert_str_eq(pf->vfs[3], "0000:3c:10.6");
    ck_assert_uint_eq(pf->nwarnings, 0);

    const struct inv_func *vf = get(h, "0000:3c:10.2");
    ck_assert_str_eq(vf->physfn, "0000:3b:00.0");
    /* IDs from sysfs, although the VF's ID registers read 0xffff */
    ck_assert_uint_eq(vf->cfg[0], 0xff);
    ck_assert_uint_eq(vf->vendor_id, 0x8086);
    ck_assert_uint_eq(vf->device_id, 0x10ca);
    ck_assert(!vf->has_sriov);
    ck_assert_ptr_null(cap(vf, true, 0x10));
    ck_assert_ptr_nonnull(cap(vf, true, 0x0e)); /* ARI stays */
    ck_assert_str_eq(vf->driver, "vfio-pci");
    ck_assert_int_ne(vf->iommu_group, pf->iommu_group);
    char dev[64];
    snprintf(dev, sizeof(dev), "/dev/vfio/%d", vf->iommu_group);
    ck_assert_str_eq(vf->vfio_group_dev, dev);
    ck_assert_int_eq(vf->migration, 0); /* plain vfio-pci */
    ck_assert_uint_eq(vf->nbars, 2);
    ck_assert_int_eq(vf->bars[0].type, VPCI_BAR_MEM64);
    ck_assert_uint_eq(vf->bars[0].size, 16 << 10);
    ck_assert_uint_eq(vf->nwarnings, 0);
    ck_assert_uint_eq(h->nwarnings, 0);

    /* derive sees a VF with sysfs IDs and BAR sizes */
    struct vpci_device d;
    vpcid_inventory_to_device(vf, &d);
    ck_assert(d.is_vf);
    ck_assert_uint_eq(d.vendor_id, 0x8086);
    ck_assert_uint_eq(d.bar_size[3], 16 << 10);
    struct vpci_layout *l = NULL;
    struct vpci_error err;
    ck_assert_int_eq(vpci_derive(&d, VPCI_POLICY_VFIO, NULL, &l, NULL, &err),
                     0);
    ck_assert_int_eq(l->bars[0].type, VPCI_BAR_MEM64);
    vpci_layout_free(l);
    vpcid_inventory_free(h);
}
END_TEST

START_TEST(vf_gets_pf_pasid_pri)
{
    struct sb_func_opts o;
    sb_opts_init(&o);
    o.nvfs = 2;
    o.vf_driver = "mlx5_vfio_pci"; /* a migration-capable variant driver */
    add("0000:6b:00.0", D0D93, &o);
    struct inv_host *h = scan();
    ck_assert_uint_eq(h->nfuncs, 3);
    const struct inv_func *pf = get(h, "0000:6b:00.0");
    ck_assert(pf->pasid.present);
    ck_assert(pf->pri.present);
    ck_assert_uint_eq(pf->sriov.offset, 16);
    ck_assert_uint_eq(pf->sriov.stride, 2);
    const struct inv_func *vf = get(h, "0000:6b:02.2");
    ck_assert_str_eq(vf->physfn, "0000:6b:00.0");
    ck_assert_uint_eq(vf->device_id, 0x0d52);
    ck_assert(!vf->pasid.present); /* none of its own */
    ck_assert_ptr_null(cap(vf, true, 0x1b));
    ck_assert_ptr_null(cap(vf, true, 0x13));
    ck_assert(vf->pf_pasid.present);
    ck_assert_uint_eq(vf->pf_pasid.max_width, pf->pasid.max_width);
    ck_assert(vf->pf_pri.present);
    ck_assert_int_eq(vf->migration, 1);
    vpcid_inventory_free(h);
}
END_TEST

START_TEST(iommu_groups)
{
    struct sb_func_opts o;
    sb_opts_init(&o);
    o.group = 5;
    add("0000:00:1f.0", DDSA, &o);
    add("0000:00:1f.1", DWIFI, &o);
    o.group = 9;
    add("0000:02:00.0", DWIFI, &o);
    o.group = SB_GROUP_NONE;
    add("0000:03:00.0", DWIFI, &o);
    struct inv_host *h = scan();
    const struct inv_func *a = get(h, "0000:00:1f.0");
    ck_assert_int_eq(a->iommu_group, 5);
    ck_assert_uint_eq(a->ngroup_peers, 1);
    ck_assert_str_eq(a->group_peers[0], "0000:00:1f.1");
    const struct inv_func *b = get(h, "0000:02:00.0");
    ck_assert_int_eq(b->iommu_group, 9);
    ck_assert_uint_eq(b->ngroup_peers, 0);
    ck_assert_int_eq(get(h, "0000:03:00.0")->iommu_group, -1);
    /* a conventional PCI device: 256 bytes, complete */
    ck_assert_uint_eq(b->config_size, 256);
    ck_assert(!b->config_partial);
    vpcid_inventory_free(h);
}
END_TEST

START_TEST(corrupt_inputs)
{
    add("0000:01:00.0", DWIFI, NULL);
    add("0000:02:00.0", DWIFI, NULL);
    add("0000:03:00.0", DWIFI, NULL);
    add("0000:04:00.0", DWIFI, NULL);
    add("0000:05:00.0", DWIFI, NULL);
    const char *junk = "this is not a resource file\n";
    ck_assert_int_eq(
        sb_write_attr(root, "0000:01:00.0", "resource", junk, strlen(junk)), 0);
    ck_assert_int_eq(sb_write_attr(root, "0000:01:00.0", "vendor", "0xzz\n", 5),
                     0);
    ck_assert_int_eq(sb_write_attr(root, "0000:01:00.0", "numa_node", "x\n", 2),
                     0);
    ck_assert_int_eq(sb_write_attr(root, "0000:02:00.0", "config", NULL, 0), 0);
    ck_assert_int_eq(sb_write_attr(root, "0000:03:00.0", "config", "\x8c", 1),
                     0);
    char big[600];
    memset(big, '7', sizeof(big));
    ck_assert_int_eq(
        sb_write_attr(root, "0000:04:00.0", "class", big, sizeof(big)), 0);
    /* a function that vanished, its link left behind */
    char dir[PATH_MAX + 64], link[PATH_MAX + 64];
    snprintf(link, sizeof(link), "%s/bus/pci/devices/0000:06:00.0", root);
    ck_assert_int_eq(symlink("../../../devices/pci0000:06/0000:06:00.0", link),
                     0);
    /* a stray entry that is no BDF */
    snprintf(dir, sizeof(dir), "%s/bus/pci/devices/garbage", root);
    ck_assert_int_eq(mkdir(dir, 0755), 0);

    struct inv_host *h = scan();
    ck_assert_uint_eq(h->nfuncs, 5);
    ck_assert(has_warning(h->warnings, h->nwarnings, "0000:06:00.0: vanished"));
    ck_assert(has_warning(h->warnings, h->nwarnings, "stray entry 'garbage'"));

    const struct inv_func *f = get(h, "0000:01:00.0");
    ck_assert(has_warning(f->warnings, f->nwarnings, "resource: line 1"));
    ck_assert(has_warning(f->warnings, f->nwarnings, "vendor: malformed"));
    ck_assert(has_warning(f->warnings, f->nwarnings, "numa_node: malformed"));
    ck_assert_uint_eq(f->vendor_id, 0x168c); /* from config instead */
    ck_assert_int_eq(f->numa_node, -1);

    f = get(h, "0000:02:00.0");
    ck_assert_uint_eq(f->config_size, 0);
    ck_assert(has_warning(f->warnings, f->nwarnings, "config:"));
    ck_assert_uint_eq(f->vendor_id, 0x168c); /* sysfs still answers */
    ck_assert_uint_eq(f->ncaps, 0);

    f = get(h, "0000:03:00.0");
    ck_assert_uint_eq(f->config_size, 0);
    ck_assert(has_warning(f->warnings, f->nwarnings, "config: unreadable"));

    f = get(h, "0000:04:00.0");
    ck_assert(has_warning(f->warnings, f->nwarnings, "class: too long"));

    f = get(h, "0000:05:00.0");
    ck_assert_uint_eq(f->nwarnings, 0);
    ck_assert_uint_eq(f->config_size, 256);
    vpcid_inventory_free(h);
}
END_TEST

START_TEST(truncated_config_is_partial)
{
    add("0000:3b:00.0", D82576, NULL);
    char dir[PATH_MAX + 64], path[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/bus/pci/devices/0000:3b:00.0/config", root);
    ck_assert_ptr_nonnull(realpath(dir, path));
    ck_assert_int_eq(truncate(path, 300), 0);
    struct inv_host *h = scan();
    const struct inv_func *f = get(h, "0000:3b:00.0");
    ck_assert_uint_eq(f->config_size, 256);
    ck_assert(f->config_partial);
    ck_assert(has_warning(f->warnings, f->nwarnings, "only 256 of 300"));
    ck_assert_ptr_nonnull(cap(f, false, 0x10));
    ck_assert_ptr_null(cap(f, true, 0x10));
    /* SR-IOV numbers still come from sysfs */
    ck_assert(f->has_sriov);
    ck_assert_uint_eq(f->sriov.total_vfs, 8);
    vpcid_inventory_free(h);
}
END_TEST

START_TEST(vf_removed_while_pf_read)
{
    struct sb_func_opts o;
    sb_opts_init(&o);
    o.nvfs = 3;
    add("0000:3b:00.0", D82576, &o);
    add("0000:6b:00.0", D0D93,
        &(struct sb_func_opts){.group = SB_GROUP_AUTO,
                               .numa = -1,
                               .nvfs = 1,
                               .vf_group = SB_GROUP_AUTO});
    ck_assert_int_eq(sb_remove_func(root, "0000:3c:10.2"), 0);
    /* and a PF gone while its VF stays */
    ck_assert_int_eq(sb_remove_func(root, "0000:6b:00.0"), 0);
    struct inv_host *h = scan();
    const struct inv_func *pf = get(h, "0000:3b:00.0");
    ck_assert_uint_eq(pf->nvfs, 3); /* the virtfn link is still there */
    ck_assert_ptr_null(vpcid_inventory_find(h, "0000:3c:10.2"));
    const struct inv_func *vf = get(h, "0000:6b:02.0");
    ck_assert(has_warning(vf->warnings, vf->nwarnings,
                          "PF 0000:6b:00.0 is not in the scan"));
    ck_assert(!vf->pf_pasid.present);
    vpcid_inventory_free(h);
}
END_TEST

/* libpci's error hook must not return: a sysfs path too long for libpci
 * makes it call the hook on every config read.  Each function then gets
 * a warning and the scan goes on. */
START_TEST(libpci_error_hook)
{
    char deep[PATH_MAX];
    snprintf(deep, sizeof(deep), "%s", root);
    for (int i = 0; i < 12; i++) {
        size_t n = strlen(deep);
        snprintf(deep + n, sizeof(deep) - n, "/%s",
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        ck_assert_int_eq(mkdir(deep, 0755), 0);
    }
    char saved[PATH_MAX];
    snprintf(saved, sizeof(saved), "%s", root);
    snprintf(root, sizeof(root), "%s", deep);
    ck_assert_int_eq(sb_init(root), 0);
    add("0000:01:00.0", DWIFI, NULL);
    add("0000:02:00.0", DWIFI, NULL);
    struct inv_host *h = scan();
    snprintf(root, sizeof(root), "%s", saved);
    ck_assert_uint_eq(h->nfuncs, 2);
    for (size_t i = 0; i < 2; i++) {
        const struct inv_func *f = &h->funcs[i];
        ck_assert(has_warning(f->warnings, f->nwarnings, "libpci:"));
        ck_assert_uint_eq(f->config_size, 0);
        ck_assert_uint_eq(f->vendor_id, 0x168c);
    }
    vpcid_inventory_free(h);
}
END_TEST

static void *scan_thread(void *arg)
{
    struct inv_host *h = NULL;
    int r = vpcid_inventory_scan(arg, &h);
    size_t n = r == 0 ? h->nfuncs : 0;
    vpcid_inventory_free(h);
    return (void *)n;
}

START_TEST(scans_are_serialised)
{
    struct sb_func_opts o;
    sb_opts_init(&o);
    o.nvfs = 8;
    add("0000:3b:00.0", D82576, &o);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, scan_thread, root), 0);
    for (int i = 0; i < 4; i++) {
        void *n;
        pthread_join(t[i], &n);
        ck_assert_uint_eq((size_t)n, 9);
    }
}
END_TEST

START_TEST(missing_root)
{
    struct inv_host *h = NULL;
    ck_assert_int_eq(vpcid_inventory_scan("/nonexistent/sysfs", &h), -ENOENT);
    ck_assert_ptr_null(h);
}
END_TEST

START_TEST(bdf_parse)
{
    unsigned d, b, v, f;
    ck_assert_int_eq(vpcid_bdf_parse("0000:3b:00.1", &d, &b, &v, &f), 0);
    ck_assert_uint_eq(b, 0x3b);
    ck_assert_uint_eq(f, 1);
    ck_assert_int_eq(vpcid_bdf_parse("3b:1f.7", &d, &b, &v, &f), 0);
    ck_assert_uint_eq(d, 0);
    ck_assert_uint_eq(v, 0x1f);
    ck_assert_int_eq(vpcid_bdf_parse("10000:00:00.0", &d, &b, &v, &f), 0);
    ck_assert_uint_eq(d, 0x10000);
    ck_assert_int_lt(vpcid_bdf_parse("3b:20.0", &d, &b, &v, &f), 0);
    ck_assert_int_lt(vpcid_bdf_parse("3b:00.8", &d, &b, &v, &f), 0);
    ck_assert_int_lt(vpcid_bdf_parse("3b:00", &d, &b, &v, &f), 0);
    ck_assert_int_lt(vpcid_bdf_parse("3b:00.0x", &d, &b, &v, &f), 0);
    ck_assert_int_lt(vpcid_bdf_parse("", &d, &b, &v, &f), 0);
    ck_assert_int_lt(vpcid_bdf_parse("0000:3b:00.1:", &d, &b, &v, &f), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("inventory");
    TCase *tc = tcase_create("fixtures");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, pf_with_vfs);
    tcase_add_test(tc, vf_gets_pf_pasid_pri);
    tcase_add_test(tc, iommu_groups);
    tcase_add_test(tc, corrupt_inputs);
    tcase_add_test(tc, truncated_config_is_partial);
    tcase_add_test(tc, vf_removed_while_pf_read);
    tcase_add_test(tc, libpci_error_hook);
    tcase_add_test(tc, scans_are_serialised);
    tcase_add_test(tc, missing_root);
    tcase_add_test(tc, bdf_parse);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
