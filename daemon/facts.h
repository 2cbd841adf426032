/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host facts for the compatibility check: what one scanned function, its
 * PF, its IOMMU group peers and the current attachments say about whether
 * a layout can be placed on it.
 */
#ifndef VPCID_FACTS_H
#define VPCID_FACTS_H

#include <stdbool.h>
#include <stddef.h>

#include "inventory.h"
#include "store.h"
#include "vpci.h"

/*
 * The current link speed sysfs prints ("8.0 GT/s PCIe", "2.5 GT/s") in
 * MT/s (8000, 2500); 0 when it is unknown or not a speed.
 */
unsigned vpcid_link_speed_mts(const char *s);

/* Is driver a VFIO driver: vfio-pci, a variant driver ("*_vfio_pci") or
 * any "vfio*"?  NULL is none. */
bool vpcid_driver_is_vfio(const char *driver);

/* Does a peer bound to driver keep an IOMMU group from being handed to a
 * VM?  Unbound, vfio, pci-stub and pcieport peers do not. */
bool vpcid_driver_blocks_group(const char *driver);

/*
 * Fill *ret for function f of host h.  atts (natts rows, may be NULL) are
 * the current attachments: they give reserved_by and pf_load.  The
 * pointers in *ret refer into h, f and atts, which must outlive it.
 */
void vpcid_host_facts(const struct inv_host *h, const struct inv_func *f,
                      const struct store_attachment *atts, size_t natts,
                      struct vpci_host_device *ret);

#endif
