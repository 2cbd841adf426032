/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host snapshots: fake sysfs trees from real dumps are scanned, written as
 * snapshots and loaded back; everything the compatibility check reads must
 * be the same, verdicts and result objects included.  Malformed snapshots
 * are refused with messages naming device, BDF and member.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "compat_json.h"
#include "derive_text.h"
#include "facts.h"
#include "inventory.h"
#include "snapshot.h"
#include "sysfs_builder.h"
#include "sysfs_fixture.h"
#include "testutil.h"

#define D82576 "dumps/intel-82576-pf-8086-10c9-sriov-4k.lspci"
#define D0D93 "dumps/intel-0d93-xilinx-c084-cxl-dvsec-4k.lspci"
#define DDSA "dumps/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci"
#define DCX5 "dumps/mellanox-cx5ex-pf-15b3-1019-256b.lspci"
#define DWIFI "dumps/atheros-ar2413-168c-001a-256b.lspci"
#define DTX "dumps/cavium-thunderx-nic-177d-a01e-pf-sriov-ea-4k.lspci"
#define DGPU "dumps/intel-skylake-gt2-igpu-8086-191e-pasid-ats-pri-4k.lspci"

#define WHEN 1795561507 /* 2026-11-24T23:05:07Z */

static char root[PATH_MAX];

static void setup(void)
{
    sf_setup(root, sizeof(root), "snap");
}

static void teardown(void)
{
    sb_destroy(root);
}

static void add(const char *bdf, const char *dump, const char *driver,
                int group, int numa, unsigned nvfs, const char *vf_driver)
{
    struct sb_func_opts o;
    sb_opts_init(&o);
    o.driver = driver;
    o.group = group;
    o.numa = numa;
    o.nvfs = nvfs;
    o.vf_driver = vf_driver;
    sf_add(root, bdf, dump, &o);
}

/* The tree of the daemon tests plus a ThunderX and a GPU: SR-IOV PFs with
 * VFs on vfio-pci and on a migration-capable variant driver, PASID/PRI,
 * a shared IOMMU group with a host driver, a function without config. */
static void build_tree(void)
{
    add("0000:3b:00.0", D82576, NULL, SB_GROUP_AUTO, 1, 4, "vfio-pci");
    add("0000:6b:00.0", D0D93, "", SB_GROUP_AUTO, 0, 2, "mlx5_vfio_pci");
    add("0000:6a:01.0", DDSA, "vfio-pci", SB_GROUP_AUTO, 0, 0, NULL);
    add("0000:5e:00.0", DCX5, "mlx5_core", SB_GROUP_AUTO, 0, 0, NULL);
    add("0000:00:1f.0", DWIFI, "ath5k", 5, -1, 0, NULL);
    add("0000:00:1f.1", DWIFI, "", 5, -1, 0, NULL);
    add("0000:06:00.0", DWIFI, "", SB_GROUP_AUTO, -1, 0, NULL);
    ck_assert_int_eq(sb_write_attr(root, "0000:06:00.0", "config", NULL, 0), 0);
    add("0000:05:00.0", DTX, NULL, SB_GROUP_AUTO, 1, 2, "vfio-pci");
    add("0000:00:02.0", DGPU, "vfio-pci", SB_GROUP_AUTO, -1, 0, NULL);
}

static struct inv_host *scan(void)
{
    struct inv_host *h = NULL;
    ck_assert_int_eq(vpcid_inventory_scan(root, &h), 0);
    return h;
}

static struct vpcid_snapshot *load_ok(const char *text)
{
    struct vpcid_snapshot *s = NULL;
    char err[512] = "";
    int r = vpcid_snapshot_load(text, strlen(text), &s, err, sizeof(err));
    ck_assert_msg(r == 0, "load: %d %s", r, err);
    return s;
}

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* Every fact vpcid_host_facts gives, compared by value. */
static void facts_equal(const struct vpci_host_device *a,
                        const struct vpci_host_device *b)
{
    const char *bdf = a->bdf;
    ck_assert_str_eq(a->bdf, b->bdf);
    ck_assert_uint_eq(a->dev.size, b->dev.size);
    ck_assert_msg(!memcmp(a->dev.cfg, b->dev.cfg, a->dev.size),
                  "%s: config bytes differ", bdf);
    EQX(a->dev.vendor_id, b->dev.vendor_id);
    EQX(a->dev.device_id, b->dev.device_id);
    for (int i = 0; i < VPCI_MAX_BARS; i++) {
        EQX(a->dev.bar_size[i], b->dev.bar_size[i]);
        ck_assert_int_eq(a->dev.bar_type[i], b->dev.bar_type[i]);
        ck_assert_int_eq(a->dev.bar_prefetch[i], b->dev.bar_prefetch[i]);
    }
    EQX(a->dev.rom_size, b->dev.rom_size);
    ck_assert_int_eq(a->dev.is_vf, b->dev.is_vf);
    EQX(a->subsystem_vendor_id, b->subsystem_vendor_id);
    EQX(a->subsystem_id, b->subsystem_id);
    ck_assert_uint_eq(a->pf_size, b->pf_size);
    ck_assert_int_eq(a->pf_cfg == NULL, b->pf_cfg == NULL);
    if (a->pf_cfg)
        ck_assert_msg(!memcmp(a->pf_cfg, b->pf_cfg, a->pf_size),
                      "%s: PF config bytes differ", bdf);
    ck_assert_msg(str_eq(a->pf, b->pf), "%s: pf", bdf);
    ck_assert_msg(str_eq(a->driver, b->driver), "%s: driver", bdf);
    ck_assert_int_eq(a->vfio, b->vfio);
    ck_assert_int_eq(a->migration, b->migration);
    ck_assert_int_eq(a->numa_node, b->numa_node);
    ck_assert_uint_eq(a->link_speed_mts, b->link_speed_mts);
    ck_assert_uint_eq(a->link_width, b->link_width);
    ck_assert_int_eq(a->iommu_group, b->iommu_group);
    ck_assert_msg(str_eq(a->group_blocker, b->group_blocker),
                  "%s: group blocker", bdf);
    ck_assert_msg(str_eq(a->group_blocker_driver, b->group_blocker_driver),
                  "%s: group blocker driver", bdf);
    ck_assert_ptr_null(b->reserved_by);
    ck_assert_uint_eq(b->pf_load, 0);
}

START_TEST(round_trip)
{
    build_tree();
    struct inv_host *h = scan();
    ck_assert_uint_eq(h->nfuncs, 17);
    char *text = vpcid_snapshot_json(h, "node-17", WHEN);
    ck_assert_ptr_nonnull(text);
    struct vpcid_snapshot *s = load_ok(text);
    ck_assert_str_eq(s->hostname, "node-17");
    ck_assert_str_eq(s->time, "2026-11-24T23:05:07Z");
    ck_assert_str_eq(s->host->sysfs_root, root);
    ck_assert_uint_eq(s->host->nfuncs, h->nfuncs);
    ck_assert_uint_eq(s->host->nwarnings, h->nwarnings);

    size_t nvf = 0, npasid = 0, nlink = 0, nwarn = 0;
    for (size_t i = 0; i < h->nfuncs; i++) {
        const struct inv_func *f = &h->funcs[i], *g = &s->host->funcs[i];
        ck_assert_str_eq(f->bdf, g->bdf);
        ck_assert_ptr_eq(vpcid_inventory_find(s->host, f->bdf), g);
        /* The device object, capabilities and warnings included. */
        json_t *a = vpcid_inventory_func_json(f);
        json_t *b = vpcid_inventory_func_json(g);
        ck_assert_msg(json_equal(a, b), "%s: device objects differ", f->bdf);
        json_decref(a);
        json_decref(b);
        ck_assert_uint_eq(f->ncaps, g->ncaps);
        for (size_t k = 0; k < f->ncaps; k++) {
            ck_assert_int_eq(f->caps[k].id, g->caps[k].id);
            ck_assert_int_eq(f->caps[k].off, g->caps[k].off);
            ck_assert_int_eq(f->caps[k].len, g->caps[k].len);
            ck_assert_ptr_eq(f->caps[k].def, g->caps[k].def);
        }
        ck_assert_int_eq(f->config_partial, g->config_partial);
        ck_assert_int_eq(f->revision, g->revision);
        EQX(f->class_code, g->class_code);
        ck_assert_int_eq(f->pf_pasid.present, g->pf_pasid.present);
        ck_assert_uint_eq(f->pf_pasid.max_width, g->pf_pasid.max_width);
        ck_assert_int_eq(f->pf_pri.present, g->pf_pri.present);
        ck_assert_uint_eq(f->pf_pri.max_requests, g->pf_pri.max_requests);
        ck_assert_uint_eq(f->ngroup_peers, g->ngroup_peers);
        ck_assert_uint_eq(f->nvfs, g->nvfs);

        struct vpci_host_device x, y;
        vpcid_host_facts(h, f, NULL, 0, &x);
        vpcid_host_facts(s->host, g, NULL, 0, &y);
        facts_equal(&x, &y);
        nvf += f->physfn[0] != '\0';
        npasid += f->pasid.present || f->pf_pasid.present;
        nlink += f->link.present;
        nwarn += f->nwarnings;
    }
    /* The tree has what the comparison should cover. */
    ck_assert_uint_eq(nvf, 8);
    ck_assert_uint_ge(npasid, 3);
    ck_assert_uint_ge(nwarn, 1);
    (void)nlink;

    /* load(json(h)) written again is the same text. */
    char *again = vpcid_snapshot_json(s->host, s->hostname, WHEN);
    ck_assert_ptr_nonnull(again);
    ck_assert_str_eq(again, text);
    free(again);
    free(text);
    vpcid_snapshot_free(s);
    vpcid_inventory_free(h);
}
END_TEST

/* The layout derived from function bdf of h, compiled. */
static struct vpci_rules *derived_rules(const struct inv_host *h,
                                        const char *bdf, const char *extra)
{
    char *text = NULL;
    size_t len;
    struct vpci_error err = {0};
    const struct inv_func *f = vpcid_inventory_find(h, bdf);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(vpcid_derive_func_text(h, f, VPCI_POLICY_VFIO, NULL, &text,
                                            &len, NULL, &err),
                     0);
    if (extra) {
        char *more = malloc(len + strlen(extra) + 1);
        ck_assert_ptr_nonnull(more);
        memcpy(more, text, len);
        strcpy(more + len, extra);
        free(text);
        text = more;
        len = strlen(more);
    }
    struct vpci_layout *l = NULL;
    ck_assert_msg(vpci_layout_parse(text, len, &l, &err) == 0, "%s", err.msg);
    struct vpci_rules *r = NULL;
    ck_assert_int_eq(vpci_rules_new(l, &r, &err), 0);
    vpci_layout_free(l);
    free(text);
    return r;
}

START_TEST(same_verdicts)
{
    build_tree();
    struct inv_host *h = scan();
    char *text = vpcid_snapshot_json(h, "node-17", WHEN);
    struct vpcid_snapshot *s = load_ok(text);
    free(text);
    struct {
        const char *bdf, *extra;
        size_t compatible;
    } types[] = {
        {"0000:3c:10.0", NULL, 4}, /* 82576 VF: the 4 VFs */
        {"0000:6a:01.0", NULL, 1}, /* DSA on vfio-pci */
        {"0000:6b:02.0", NULL, 2}, /* 0d93 VF on a variant */
        {"0000:05:00.1", NULL, 2}, /* ThunderX VF */
        {"0000:6b:02.0", "\nrequires\n  migration\n", 2},
        {"0000:3c:10.0", "\nrequires\n  numa 0\n", 0},
        {"0000:3c:10.0", "\nrequires\n  driver nosuch-drv\n", 0},
    };
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        struct vpci_rules *r = derived_rules(h, types[t].bdf, types[t].extra);
        size_t nok = 0, nreasons = 0;
        for (size_t i = 0; i < h->nfuncs; i++) {
            struct vpci_host_device x, y;
            struct vpci_compat cx, cy;
            vpcid_host_facts(h, &h->funcs[i], NULL, 0, &x);
            vpcid_host_facts(s->host, &s->host->funcs[i], NULL, 0, &y);
            ck_assert_int_eq(vpci_compat_check(r, &x, -1, &cx), 0);
            ck_assert_int_eq(vpci_compat_check(r, &y, -1, &cy), 0);
            ck_assert_int_eq(cx.compatible, cy.compatible);
            ck_assert_int_eq(cx.score, cy.score);
            ck_assert_uint_eq(cx.nreasons, cy.nreasons);
            ck_assert_uint_eq(cx.dropped, cy.dropped);
            for (size_t k = 0; k < cx.nreasons; k++) {
                ck_assert_str_eq(cx.reasons[k].code, cy.reasons[k].code);
                ck_assert_str_eq(cx.reasons[k].message, cy.reasons[k].message);
                ck_assert_str_eq(cx.reasons[k].expected,
                                 cy.reasons[k].expected);
                ck_assert_str_eq(cx.reasons[k].actual, cy.reasons[k].actual);
            }
            json_t *a = vpcid_compat_result_json(h->funcs[i].bdf, &cx);
            json_t *b = vpcid_compat_result_json(s->host->funcs[i].bdf, &cy);
            ck_assert(json_equal(a, b));
            json_decref(a);
            json_decref(b);
            nok += cx.compatible;
            nreasons += cx.nreasons;
        }
        ck_assert_msg(nok == types[t].compatible,
                      "type %zu (%s): %zu compatible, expected %zu", t,
                      types[t].bdf, nok, types[t].compatible);
        ck_assert_uint_gt(nreasons, 0);
        vpci_rules_free(r);
    }
    vpcid_snapshot_free(s);
    vpcid_inventory_free(h);
}
END_TEST

START_TEST(result_json_shape)
{
    json_t *j = vpcid_compat_result_json("0000:3b:00.9", NULL);
    char *t = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    ck_assert_str_eq(
        t, "{\"bdf\":\"0000:3b:00.9\",\"compatible\":false,\"score\":0,"
           "\"reasons\":[{\"code\":\"not-present\",\"message\":\"no such PCI "
           "function on this host\",\"expected\":\"present\",\"actual\":"
           "\"absent\"}]}");
    free(t);
    json_decref(j);
    struct vpci_compat c = {.compatible = false, .nreasons = 1};
    snprintf(c.reasons[0].code, sizeof(c.reasons[0].code), "driver");
    snprintf(c.reasons[0].message, sizeof(c.reasons[0].message),
             "bound to \x01x\xff");
    snprintf(c.reasons[0].expected, sizeof(c.reasons[0].expected), "\xc3\xa9");
    j = vpcid_compat_result_json("0000:00:00.0", &c);
    json_t *r = json_array_get(json_object_get(j, "reasons"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(r, "message")),
                     "bound to ?x?");
    ck_assert_str_eq(json_string_value(json_object_get(r, "expected")),
                     "\xc3\xa9");
    json_decref(j);
    /* Order: compatible first by score, then BDF numerically. */
    ck_assert_int_lt(
        vpcid_compat_cmp(true, 5, "0000:ff:00.0", true, 3, "0000:00:00.0"), 0);
    ck_assert_int_lt(
        vpcid_compat_cmp(true, 0, "0000:ff:00.0", false, 0, "0000:00:00.0"), 0);
    ck_assert_int_lt(
        vpcid_compat_cmp(false, 0, "ffff:00:00.0", false, 0, "10000:00:00.0"),
        0);
    ck_assert_int_eq(
        vpcid_compat_cmp(false, 0, "0000:01:00.0", false, 0, "0000:01:00.0"),
        0);
}
END_TEST

/* ------------------------------------------------------------ malformed */

static json_t *good_doc(struct inv_host **ret_h)
{
    build_tree();
    struct inv_host *h = scan();
    char *text = vpcid_snapshot_json(h, "node-17", WHEN);
    json_t *doc = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    free(text);
    *ret_h = h;
    return doc;
}

static json_t *dev(json_t *doc, size_t i)
{
    return json_array_get(json_object_get(doc, "devices"), i);
}

/* Loading doc fails with exactly msg. */
static void refused(const json_t *doc, const char *msg)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    ck_assert_ptr_nonnull(text);
    struct vpcid_snapshot *s = NULL;
    char err[512] = "";
    int r = vpcid_snapshot_load(text, strlen(text), &s, err, sizeof(err));
    ck_assert_msg(r == -EINVAL, "loaded (%d), expected: %s", r, msg);
    ck_assert_ptr_null(s);
    ck_assert_str_eq(err, msg);
    free(text);
}

static void refused_text(const char *text, const char *msg)
{
    struct vpcid_snapshot *s = NULL;
    char err[512] = "";
    ck_assert_int_eq(
        vpcid_snapshot_load(text, strlen(text), &s, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_str_eq(err, msg);
}

/* Set member key of device i (or of the root for i == -1) on a copy of
 * doc and expect msg. */
static void refuse_set(const json_t *doc, int i, const char *key, json_t *v,
                       const char *msg)
{
    json_t *d = json_deep_copy(doc);
    json_t *o = i < 0 ? d : dev(d, (size_t)i);
    if (v)
        json_object_set_new(o, key, v);
    else
        json_object_del(o, key);
    refused(d, msg);
    json_decref(d);
}

START_TEST(malformed_root)
{
    struct inv_host *h;
    json_t *doc = good_doc(&h);
    refused_text("[1]", "not a JSON object");
    refused_text("{\"format\": \"vpcid-host-snapshot\", \"version\": 1,",
                 "line 1 column 47: string or '}' expected near end of file");
    refused_text("{\"format\": 1, \"format\": 2}",
                 "line 1 column 22: duplicate object key near '\"format\"'");
    refuse_set(doc, -1, "format", json_string("lspci"),
               "format: \"lspci\", not \"vpcid-host-snapshot\"");
    refuse_set(doc, -1, "format", NULL, "format: missing");
    refuse_set(doc, -1, "version", json_integer(2),
               "version: 2 is not supported (only 1)");
    refuse_set(doc, -1, "version", json_string("1"),
               "version: a string, not an integer");
    refuse_set(doc, -1, "version", json_real(1.0),
               "version: a number with a fraction or exponent, not an "
               "integer");
    refuse_set(doc, -1, "hostname", json_null(),
               "hostname: null, not a string");
    char longname[300];
    memset(longname, 'h', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    refuse_set(doc, -1, "hostname", json_string(longname),
               "hostname: longer than 255 bytes");
    refuse_set(doc, -1, "hostname", json_string(""), "hostname: empty");
    refuse_set(doc, -1, "hostname", json_string("node\x1b[2J"),
               "hostname: holds control characters");
    refuse_set(doc, -1, "time", json_string("2026-11-24 23:05:07"),
               "time: \"2026-11-24 23:05:07\" is not YYYY-MM-DDTHH:MM:SSZ");
    refuse_set(doc, -1, "time", json_string("2026-13-24T23:05:07Z"),
               "time: \"2026-13-24T23:05:07Z\" is not YYYY-MM-DDTHH:MM:SSZ");
    refuse_set(doc, -1, "sysfs", NULL, "sysfs: missing");
    refuse_set(doc, -1, "warnings", json_string("x"),
               "warnings: a string, not an array");
    json_t *many = json_array();
    for (int k = 0; k < 65; k++)
        json_array_append_new(many, json_string("w"));
    refuse_set(doc, -1, "warnings", many, "warnings: more than 64 entries");
    refuse_set(doc, -1, "warnings", json_pack("[s, i]", "ok", 3),
               "warnings[1]: an integer, not a string");
    refuse_set(doc, -1, "devices", json_object(),
               "devices: an object, not an array");
    refuse_set(doc, -1, "devices", NULL, "devices: missing");
    /* Unknown members are ignored; no devices is a host without any. */
    json_t *d = json_deep_copy(doc);
    json_object_set_new(d, "future", json_pack("{s:i}", "x", 1));
    json_object_set_new(dev(d, 0), "future", json_pack("[i, i]", 1, 2));
    json_object_set_new(dev(d, 0), "capabilities", json_string("derived"));
    char *text = json_dumps(d, 0);
    struct vpcid_snapshot *s = load_ok(text);
    ck_assert_uint_eq(s->host->nfuncs, h->nfuncs);
    ck_assert_uint_eq(s->host->funcs[0].ncaps, h->funcs[0].ncaps);
    vpcid_snapshot_free(s);
    free(text);
    json_object_set_new(d, "devices", json_array());
    text = json_dumps(d, 0);
    s = load_ok(text);
    ck_assert_uint_eq(s->host->nfuncs, 0);
    ck_assert_ptr_null(vpcid_inventory_find(s->host, "0000:3b:00.0"));
    vpcid_snapshot_free(s);
    free(text);
    json_decref(d);
    json_decref(doc);
    vpcid_inventory_free(h);
}
END_TEST

START_TEST(malformed_devices)
{
    struct inv_host *h;
    json_t *doc = good_doc(&h);
    /* Devices in BDF order: 0 is 0000:00:02.0, 3 is 0000:05:00.0, 5 is
     * 0000:05:00.2 (a VF), 7 is 0000:3b:00.0 (the 82576 PF). */
    ck_assert_str_eq(h->funcs[0].bdf, "0000:00:02.0");
    ck_assert_str_eq(h->funcs[3].bdf, "0000:05:00.0");
    ck_assert_str_eq(h->funcs[5].bdf, "0000:05:00.2");
    ck_assert_str_eq(h->funcs[7].bdf, "0000:3b:00.0");

    json_t *d = json_deep_copy(doc);
    json_array_set_new(json_object_get(d, "devices"), 2, json_integer(5));
    refused(d, "device 2: device: an integer, not an object");
    json_decref(d);

    refuse_set(doc, 3, "bdf", json_string("0000:05:00.8"),
               "device 3: bdf: \"0000:05:00.8\" is not a canonical PCI "
               "address (DDDD:BB:DD.F)");
    refuse_set(doc, 3, "bdf", json_string("05:00.0"),
               "device 3: bdf: \"05:00.0\" is not a canonical PCI address "
               "(DDDD:BB:DD.F)");
    refuse_set(doc, 3, "bdf", json_string("0000:05:00.0 "),
               "device 3: bdf: \"0000:05:00.0 \" is not a canonical PCI "
               "address (DDDD:BB:DD.F)");
    refuse_set(doc, 3, "bdf", json_integer(1),
               "device 3: bdf: an integer, not a string");
    refuse_set(doc, 3, "bdf", NULL, "device 3: bdf: missing");
    refuse_set(doc, 7, "bdf", json_string("0000:00:02.0"),
               "device 7 (0000:00:02.0): bdf: duplicate of device 0");

    refuse_set(doc, 7, "vendor_id", json_string("8086x"),
               "device 7 (0000:3b:00.0): vendor_id: \"8086x\" is not 4 "
               "lowercase hex digits");
    refuse_set(doc, 7, "device_id", json_string("10C9"),
               "device 7 (0000:3b:00.0): device_id: \"10C9\" is not 4 "
               "lowercase hex digits");
    refuse_set(doc, 7, "class", json_string("0200"),
               "device 7 (0000:3b:00.0): class: \"0200\" is not 6 lowercase "
               "hex digits");
    refuse_set(doc, 7, "revision", json_integer(256),
               "device 7 (0000:3b:00.0): revision: 256 is out of range "
               "(0..255)");
    refuse_set(doc, 7, "numa_node", json_integer(INT64_MAX),
               "device 7 (0000:3b:00.0): numa_node: 9223372036854775807 is "
               "out of range (-1..4095)");
    refuse_set(doc, 7, "numa_node", json_null(),
               "device 7 (0000:3b:00.0): numa_node: null, not an integer");
    refuse_set(doc, 7, "iommu_group", json_integer(-1),
               "device 7 (0000:3b:00.0): iommu_group: -1 is out of range "
               "(0..2147483647)");
    refuse_set(doc, 7, "driver", json_integer(5),
               "device 7 (0000:3b:00.0): driver: an integer, not a string "
               "or null");
    refuse_set(doc, 7, "driver", json_string(""),
               "device 7 (0000:3b:00.0): driver: empty (null for none)");
    refuse_set(doc, 7, "migration", json_string("yes"),
               "device 7 (0000:3b:00.0): migration: a string, not a boolean "
               "or null");
    refuse_set(doc, 7, "migration", NULL,
               "device 7 (0000:3b:00.0): migration: missing");
    refuse_set(doc, 7, "vfs", json_pack("[s]", "3c:10.0"),
               "device 7 (0000:3b:00.0): vfs[0]: \"3c:10.0\" is not a "
               "canonical PCI address (DDDD:BB:DD.F)");
    refuse_set(doc, 7, "iommu_group_peers", json_true(),
               "device 7 (0000:3b:00.0): iommu_group_peers: a boolean, not "
               "an array");
    refuse_set(doc, 7, "link",
               json_pack("{s:s, s:i, s:n, s:n}", "current_speed",
                         "2.5 GT/s PCIe", "current_width", 300, "max_speed",
                         "max_width"),
               "device 7 (0000:3b:00.0): link.current_width: 300 is out of "
               "range (0..255)");
    refuse_set(doc, 7, "sriov",
               json_pack("{s:i, s:i, s:s, s:i}", "total_vfs", 8, "num_vfs", 4,
                         "vf_device_id", "10ca", "offset", 128),
               "device 7 (0000:3b:00.0): sriov.stride: missing");
    refuse_set(doc, 7, "pasid",
               json_pack("{s:i, s:b, s:b}", "max_width", 32, "exec", 0,
                         "privileged", 0),
               "device 7 (0000:3b:00.0): pasid.max_width: 32 is out of range "
               "(0..31)");
    refuse_set(doc, 5, "pf_pri",
               json_pack("{s:I}", "max_requests", (json_int_t)UINT32_MAX + 1),
               "device 5 (0000:05:00.2): pf_pri.max_requests: 4294967296 is "
               "out of range (0..4294967295)");
    refuse_set(doc, 5, "pf_pasid", NULL,
               "device 5 (0000:05:00.2): pf_pasid: missing");
    refuse_set(doc, 7, "bars",
               json_pack("[{s:i, s:s, s:b, s:i}]", "index", 6, "type", "mem32",
                         "prefetch", 0, "size", 4096),
               "device 7 (0000:3b:00.0): bars[0].index: 6 is out of range "
               "(0..5)");
    refuse_set(doc, 7, "bars",
               json_pack("[{s:i, s:s, s:b, s:i}]", "index", 0, "type", "mem16",
                         "prefetch", 0, "size", 4096),
               "device 7 (0000:3b:00.0): bars[0].type: \"mem16\" is not "
               "mem32, mem64 or io");
    refuse_set(doc, 7, "bars",
               json_pack("[{s:i, s:s, s:b, s:i}, {s:i, s:s, s:b, s:i}]",
                         "index", 3, "type", "mem32", "prefetch", 0, "size",
                         4096, "index", 0, "type", "mem32", "prefetch", 0,
                         "size", 4096),
               "device 7 (0000:3b:00.0): bars[1].index: 0 does not follow 3");
    refuse_set(doc, 7, "bars",
               json_pack("[{s:i, s:s, s:b, s:i}]", "index", 0, "type", "mem32",
                         "prefetch", 0, "size", 0),
               "device 7 (0000:3b:00.0): bars[0].size: 0 is out of range "
               "(1..9223372036854775807)");
    refuse_set(doc, 7, "rom_size", json_integer(-1),
               "device 7 (0000:3b:00.0): rom_size: -1 is out of range "
               "(0..9223372036854775807)");

    /* config: hex, length, and its size. */
    refuse_set(doc, 7, "config", json_string("0g"),
               "device 7 (0000:3b:00.0): config: not lowercase hex (offset 1 "
               "of the text)");
    refuse_set(doc, 7, "config", json_string("8086C910"),
               "device 7 (0000:3b:00.0): config: not lowercase hex (offset 4 "
               "of the text)");
    refuse_set(doc, 7, "config", json_string("abc"),
               "device 7 (0000:3b:00.0): config: odd number of hex digits "
               "(3)");
    char *huge = malloc(2 * 4097 + 1);
    memset(huge, '0', 2 * 4097);
    huge[2 * 4097] = '\0';
    refuse_set(doc, 7, "config", json_string(huge),
               "device 7 (0000:3b:00.0): config: 4097 bytes, more than 4096");
    free(huge);
    refuse_set(doc, 7, "config", json_string("00000000"),
               "device 7 (0000:3b:00.0): config_size: 4096, but config holds "
               "4 bytes");
    refuse_set(doc, 7, "config_size", json_integer(8192),
               "device 7 (0000:3b:00.0): config_size: 8192 is out of range "
               "(0..4096)");
    refuse_set(doc, 7, "config", json_null(),
               "device 7 (0000:3b:00.0): config: null, not a string");
    refuse_set(doc, 7, "config_partial", json_integer(0),
               "device 7 (0000:3b:00.0): config_partial: an integer, not a "
               "boolean");

    /* Numbers jansson cannot hold, and reals. */
    char *text = json_dumps(doc, JSON_COMPACT);
    char *at = strstr(text, "\"rom_size\":");
    ck_assert_ptr_nonnull(at);
    size_t pre = (size_t)(at - text) + strlen("\"rom_size\":");
    size_t digits = strspn(text + pre, "0123456789");
    const char *big = "99999999999999999999";
    char *mod = malloc(strlen(text) + strlen(big) + 1);
    memcpy(mod, text, pre);
    strcpy(mod + pre, big);
    strcat(mod, text + pre + digits);
    char err[512];
    struct vpcid_snapshot *s = NULL;
    ck_assert_int_eq(
        vpcid_snapshot_load(mod, strlen(mod), &s, err, sizeof(err)), -EINVAL);
    ck_assert_msg(strstr(err, "too big integer") != NULL, "%s", err);
    strcpy(mod + pre, "1e400");
    strcat(mod, text + pre + digits);
    ck_assert_int_eq(
        vpcid_snapshot_load(mod, strlen(mod), &s, err, sizeof(err)), -EINVAL);
    ck_assert_msg(strstr(err, "real number overflow") != NULL, "%s", err);
    strcpy(mod + pre, "4096.5");
    strcat(mod, text + pre + digits);
    ck_assert_int_eq(
        vpcid_snapshot_load(mod, strlen(mod), &s, err, sizeof(err)), -EINVAL);
    ck_assert_str_eq(err, "device 0 (0000:00:02.0): rom_size: a number with "
                          "a fraction or exponent, not an integer");
    /* Every prefix of a snapshot is refused, none crashes or leaks. */
    size_t len = strlen(text);
    for (size_t cut = 0; cut < len; cut += len / 97 + 1) {
        ck_assert_int_eq(vpcid_snapshot_load(text, cut, &s, err, sizeof(err)),
                         -EINVAL);
        ck_assert_msg(!strncmp(err, "line ", 5), "cut %zu: %s", cut, err);
    }
    free(mod);
    free(text);
    json_decref(doc);
    vpcid_inventory_free(h);
}
END_TEST

/* A host's functions need not come sorted; the loader sorts them so that
 * lookups (PF config of a VF, group peers) work. */
START_TEST(unsorted_devices)
{
    struct inv_host *h;
    json_t *doc = good_doc(&h);
    json_t *devs = json_object_get(doc, "devices");
    json_t *rev = json_array();
    for (size_t i = json_array_size(devs); i-- > 0;)
        json_array_append(rev, json_array_get(devs, i));
    json_object_set_new(doc, "devices", rev);
    char *text = json_dumps(doc, 0);
    struct vpcid_snapshot *s = load_ok(text);
    ck_assert_uint_eq(s->host->nfuncs, h->nfuncs);
    for (size_t i = 0; i < h->nfuncs; i++) {
        ck_assert_str_eq(s->host->funcs[i].bdf, h->funcs[i].bdf);
        struct vpci_host_device x, y;
        vpcid_host_facts(h, &h->funcs[i], NULL, 0, &x);
        vpcid_host_facts(s->host, &s->host->funcs[i], NULL, 0, &y);
        facts_equal(&x, &y);
    }
    vpcid_snapshot_free(s);
    free(text);
    json_decref(doc);
    vpcid_inventory_free(h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("snapshot");
    TCase *tc = tcase_create("fixtures");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, same_verdicts);
    tcase_add_test(tc, result_json_shape);
    tcase_add_test(tc, malformed_root);
    tcase_add_test(tc, malformed_devices);
    tcase_add_test(tc, unsorted_devices);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
