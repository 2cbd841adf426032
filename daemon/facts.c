/* SPDX-License-Identifier: BSD-2-Clause */
#include "facts.h"

#include <stdlib.h>
#include <string.h>

unsigned vpcid_link_speed_mts(const char *s)
{
    if (!s || *s < '0' || *s > '9')
        return 0;
    /* Whole GT/s and at most one decimal digit, as the kernel prints
     * them; anything else is not a speed we know. */
    unsigned whole = 0, tenth = 0;
    const char *p = s;
    while (*p >= '0' && *p <= '9') {
        whole = whole * 10 + (unsigned)(*p - '0');
        if (whole > 1000)
            return 0;
        p++;
    }
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return 0;
        tenth = (unsigned)(*p++ - '0');
        while (*p == '0')
            p++;
        if (*p >= '1' && *p <= '9')
            return 0;
    }
    if (strncmp(p, " GT/s", 5) || (p[5] != '\0' && p[5] != ' '))
        return 0;
    return whole * 1000 + tenth * 100;
}

bool vpcid_driver_is_vfio(const char *driver)
{
    if (!driver || !*driver)
        return false;
    size_t n = strlen(driver);
    return !strncmp(driver, "vfio", 4) ||
           (n > 9 && !strcmp(driver + n - 9, "_vfio_pci"));
}

bool vpcid_driver_blocks_group(const char *driver)
{
    return driver && *driver && strcmp(driver, "none") &&
           !vpcid_driver_is_vfio(driver) && strcmp(driver, "pci-stub") &&
           strcmp(driver, "pcieport");
}

/* The PF a function belongs to: its physfn, or itself. */
static const char *pf_of(const struct inv_func *f)
{
    return f->physfn[0] ? f->physfn : f->bdf;
}

void vpcid_host_facts(const struct inv_host *h, const struct inv_func *f,
                      const struct store_attachment *atts, size_t natts,
                      struct vpci_host_device *ret)
{
    memset(ret, 0, sizeof(*ret));
    vpcid_inventory_to_device(f, &ret->dev);
    ret->bdf = f->bdf;
    ret->subsystem_vendor_id = f->subsystem_vendor_id;
    ret->subsystem_id = f->subsystem_id;
    if (f->physfn[0]) {
        ret->pf = f->physfn;
        const struct inv_func *pf = vpcid_inventory_find(h, f->physfn);
        if (pf && pf->config_size) {
            ret->pf_cfg = pf->cfg;
            ret->pf_size = pf->config_size;
        }
    }
    ret->driver = f->driver;
    ret->vfio = f->vfio_group_dev != NULL || vpcid_driver_is_vfio(f->driver);
    ret->migration = f->migration;
    ret->numa_node = f->numa_node;
    if (f->link.present) {
        ret->link_speed_mts = vpcid_link_speed_mts(f->link.cur_speed);
        ret->link_width =
            f->link.cur_width > 0 ? (unsigned)f->link.cur_width : 0;
    }
    ret->iommu_group = f->iommu_group;
    for (size_t i = 0; i < f->ngroup_peers; i++) {
        const struct inv_func *p = vpcid_inventory_find(h, f->group_peers[i]);
        if (p && vpcid_driver_blocks_group(p->driver)) {
            ret->group_blocker = p->bdf;
            ret->group_blocker_driver = p->driver;
            break;
        }
    }
    const char *pf = pf_of(f);
    for (size_t i = 0; i < natts; i++) {
        const struct store_attachment *a = &atts[i];
        if (!strcmp(a->bdf, f->bdf))
            ret->reserved_by = a->id;
        if (a->state != STORE_ATT_ACTIVE)
            continue;
        const struct inv_func *af = vpcid_inventory_find(h, a->bdf);
        if (af && !strcmp(pf_of(af), pf))
            ret->pf_load++;
    }
}
