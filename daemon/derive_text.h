/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The derived layout as text, exactly as `vpcictl layout derive` prints it
 * and `GET /v1/devices/{bdf}/layout` serves it: a comment saying where it
 * came from, derive's notes as comments, then the canonical layout.
 */
#ifndef VPCID_DERIVE_TEXT_H
#define VPCID_DERIVE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "inventory.h"
#include "vpci.h"

/*
 * Parse every *.quirk file of dir, in name order, into *ret (which may
 * already hold quirks).  A missing dir is no error unless must_exist.
 * On failure returns -errno and writes "FILE:LINE:COL: error: ..." or
 * "DIR: reason" into err.
 */
int vpcid_quirks_load(const char *dir, bool must_exist,
                      struct vpci_quirks **ret, char *err, size_t errlen);

/*
 * Derive d with policy and quirks (may be NULL) and format it.  src and
 * slot say where the device was read ("sysfs /sys", "0000:3b:00.0"), desc
 * what it is ("8086:10c9").  *ret_text is malloc'ed and NUL-terminated;
 * ret_notes (may be NULL) gets derive's notes.  -errno and err on failure.
 */
int vpcid_derive_text(const struct vpci_device *d, const char *src,
                      const char *slot, const char *desc,
                      enum vpci_policy policy, const struct vpci_quirks *quirks,
                      char **ret_text, size_t *ret_len,
                      struct vpci_derive_notes *ret_notes,
                      struct vpci_error *err);

/* The same for a scanned function (src "sysfs ROOT", desc "VVVV:DDDD" plus
 * " VF of PF" for a VF).  -ENODATA when its config space could not be
 * read (fewer than 64 bytes). */
int vpcid_derive_func_text(const struct inv_host *h, const struct inv_func *f,
                           enum vpci_policy policy,
                           const struct vpci_quirks *quirks, char **ret_text,
                           size_t *ret_len, struct vpci_derive_notes *ret_notes,
                           struct vpci_error *err);

#endif
