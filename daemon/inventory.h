/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host inventory: every PCI function under SYSFS/bus/pci/devices, read
 * through libpci's linux-sysfs access method plus the sysfs attributes
 * libpci does not expose.  The only code of the project that includes
 * <pci/pci.h>; it copies everything out and keeps no struct pci_dev.
 *
 * Nothing read is trusted: a missing, truncated or malformed file, or a
 * function that vanishes while it is read, becomes a warning on that
 * function (or on the host when no function can be named) and the scan
 * carries on.  Scans are serialised by a process-wide lock because libpci
 * is not thread-safe.
 */
#ifndef VPCID_INVENTORY_H
#define VPCID_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpci.h"

#define INV_BDF_LEN 20 /* "0000:3b:00.1" + NUL; room for 8-digit domains */

struct inv_bar {
    unsigned index; /* 0..5 */
    enum vpci_bar_type type;
    bool prefetch;
    uint64_t size;
};

struct inv_sriov {
    unsigned total_vfs, num_vfs;
    uint16_t vf_device_id;
    unsigned offset, stride;
};

/* PASID and PRI facts of one function's own capabilities. */
struct inv_pasid {
    bool present;
    unsigned max_width; /* Max PASID Width */
    bool exec, privileged;
};

struct inv_pri {
    bool present;
    uint32_t max_requests; /* Outstanding Page Request Capacity */
};

struct inv_link {
    bool present;       /* any of the four files was readable */
    char cur_speed[32]; /* "8.0 GT/s PCIe", as sysfs says it */
    char max_speed[32];
    int cur_width, max_width; /* -1 unknown */
};

struct inv_func {
    char bdf[INV_BDF_LEN];
    unsigned domain, bus, dev, fn;

    uint16_t vendor_id, device_id;
    uint16_t subsystem_vendor_id, subsystem_id;
    uint32_t class_code; /* base << 16 | sub << 8 | prog_if */
    int revision;        /* -1 unknown */
    char *vendor_name, *device_name, *class_name, *subsystem_name;

    uint8_t cfg[VPCI_CFG_SPACE_EXT];
    unsigned config_size;       /* contiguous bytes read from offset 0 */
    bool config_partial;        /* fewer bytes than the function has */
    struct vpci_cap_info *caps; /* decoded, chain order */
    size_t ncaps;

    struct inv_bar bars[VPCI_MAX_BARS]; /* only the BARs with a size */
    size_t nbars;
    uint64_t rom_size;

    char *driver;                     /* NULL: none bound */
    int iommu_group;                  /* -1: none */
    char (*group_peers)[INV_BDF_LEN]; /* other members of the group */
    size_t ngroup_peers;
    int numa_node; /* -1: unknown */
    struct inv_link link;

    bool has_sriov;
    struct inv_sriov sriov;
    char physfn[INV_BDF_LEN]; /* "" unless a VF */
    char (*vfs)[INV_BDF_LEN];
    size_t nvfs;

    struct inv_pasid pasid, pf_pasid; /* pf_*: a VF's PF, else unset */
    struct inv_pri pri, pf_pri;

    char *vfio_group_dev; /* "/dev/vfio/N" when bound to a vfio driver */
    char *vfio_cdev;      /* "/dev/vfio/devices/vfioX" when present */
    int migration;        /* 1 variant driver with migration, 0 no,
                             -1 unknown (driver list unreadable) */

    char **warnings;
    size_t nwarnings;
};

struct inv_host {
    char *sysfs_root;
    struct inv_func *funcs; /* sorted by BDF */
    size_t nfuncs;
    char **warnings; /* problems that belong to no single function */
    size_t nwarnings;
};

struct inv_options {
    /* File listing the VFIO variant drivers that support live migration,
     * one per line; NULL: $VPCID_MIGRATION_DRIVERS, else the installed
     * data file. */
    const char *migration_drivers;
    /* Look names up in pci.ids (slower); default on. */
    bool no_names;
};

/*
 * Scan the functions under sysfs_root (NULL or "" = "/sys").  *ret is
 * owned by the caller (vpcid_inventory_free).  Problems with single
 * functions are warnings in the result, not errors; fails only with
 * -ENOMEM, or -ENOENT/-EACCES/... when SYSFS/bus/pci/devices cannot be
 * listed at all.
 */
int vpcid_inventory_scan(const char *sysfs_root, struct inv_host **ret);
int vpcid_inventory_scan_opts(const char *sysfs_root,
                              const struct inv_options *opts,
                              struct inv_host **ret);
void vpcid_inventory_free(struct inv_host *h);

/* The function with this BDF ("0000:3b:00.1" or "3b:00.1"); NULL if none. */
const struct inv_func *vpcid_inventory_find(const struct inv_host *h,
                                            const char *bdf);

/* Parse "DDDD:BB:DD.F" or "BB:DD.F" strictly; 0 or -EINVAL. */
int vpcid_bdf_parse(const char *s, unsigned *domain, unsigned *bus,
                    unsigned *dev, unsigned *fn);

/* Order of two functions by BDF (domain, bus, device, function): -1, 0
 * or 1.  The order of h->funcs and of vpcid_inventory_find. */
int vpcid_func_cmp(const struct inv_func *x, const struct inv_func *y);

/* Fill a struct vpci_device for derive from a scanned function (the
 * pointers refer into f). */
void vpcid_inventory_to_device(const struct inv_func *f,
                               struct vpci_device *ret);

/* JSON text of the host ({"devices": [...]}), malloc'ed, with a final
 * newline; NULL on allocation failure.  Defined in inventory_json.c. */
char *vpcid_inventory_json(const struct inv_host *h);

/* One device object (the REST API's device), new reference; NULL on
 * allocation failure. */
struct json_t;
struct json_t *vpcid_inventory_func_json(const struct inv_func *f);

/* Append the device object of each of h's functions to the JSON array
 * devs, in h's order; 0, or -1 on allocation failure (devs then holds
 * those appended so far). */
int vpcid_inventory_devices_append(struct json_t *devs,
                                   const struct inv_host *h);

/* json_dumps(root, flags) with a final newline, malloc'ed; its length
 * (newline included) in *ret_len when ret_len is not NULL.  NULL on
 * allocation failure.  root is not consumed. */
char *vpcid_json_text_nl(const struct json_t *root, size_t flags,
                         size_t *ret_len);

#endif
