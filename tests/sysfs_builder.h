/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fake sysfs trees built from lspci dumps, for the inventory tests and the
 * scan benchmark.  Layout as the kernel has it: functions are directories
 * under ROOT/devices/pciDDDD:BB/, linked from ROOT/bus/pci/devices/; driver,
 * iommu_group, physfn and virtfnN are relative symlinks; IOMMU groups live
 * under ROOT/kernel/iommu_groups/N/devices/.
 *
 * A VF gets the config space real VFs present: vendor and device ID
 * registers 0xffff, BARs and ROM zero, no SR-IOV, PASID or PRI capability
 * (a VF uses its PF's), header type 0, no INTx pin; its IDs and BAR sizes
 * are only in the sysfs attributes.
 */
#ifndef VPCI_SYSFS_BUILDER_H
#define VPCI_SYSFS_BUILDER_H

#include <stdint.h>

#define SB_GROUP_NONE (-1) /* no iommu_group link */
#define SB_GROUP_AUTO (-2) /* a private group of its own */

struct sb_func_opts {
    unsigned index;        /* device of the dump, 1-based (0 = first) */
    const char *driver;    /* NULL: the dump's "Kernel driver in use" */
    int group;             /* a group number, SB_GROUP_NONE or _AUTO */
    int numa;              /* written as numa_node (-1 = unknown) */
    unsigned nvfs;         /* VFs to create (needs SR-IOV in the dump) */
    unsigned total_vfs;    /* override TotalVFs (0 = the dump's) */
    const char *vf_driver; /* driver of the VFs (NULL = none) */
    int vf_group;          /* SB_GROUP_AUTO (private), _NONE, or one
                              group number shared by all VFs */
    uint64_t vf_bar_size;  /* size of each VF BAR (0 = 16 KiB) */
};

void sb_opts_init(struct sb_func_opts *o);

/* Create ROOT (must not exist or be empty); 0 or -errno. */
int sb_init(const char *root);

/*
 * Add the function at bdf from device o->index of an lspci dump, and its
 * VFs.  The VFs' BDFs follow from the dump's VF offset and stride.
 * 0 or -errno; a message on stderr.
 */
int sb_add_dump(const char *root, const char *bdf, const char *dump,
                const struct sb_func_opts *o);

/* Put bdf into IOMMU group g (shared groups: call it for each member). */
int sb_set_group(const char *root, const char *bdf, int g);

/* Overwrite (or create) attribute file of bdf with len bytes of data;
 * data NULL removes it. */
int sb_write_attr(const char *root, const char *bdf, const char *file,
                  const void *data, size_t len);

/* Remove a function's directory and its bus/pci/devices link (a function
 * that vanished, but whose links elsewhere still point at it). */
int sb_remove_func(const char *root, const char *bdf);

/* rm -rf ROOT. */
int sb_destroy(const char *root);

#endif
