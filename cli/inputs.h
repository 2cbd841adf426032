/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Devices and layouts named on the vpcictl command line (layout common,
 * layout place --device, vmm --dump/--snapshot):
 *
 *   FILE.vpci     a vpci-layout file (told by its "vpci-layout" line)
 *   FILE[@BDF]    an lspci -xxx/-xxxx dump; @BDF picks one function and
 *                 is needed when the dump holds several
 *   SNAP@BDF      a function of a host snapshot (vpcictl host snapshot;
 *                 told by a leading '{')
 *
 * "@BDF" is split off only when what follows the last '@' parses as a
 * PCI address, so file names may hold '@'.
 */
#ifndef VPCICTL_INPUTS_H
#define VPCICTL_INPUTS_H

#include <stdbool.h>
#include <stdint.h>

#include "vpci.h"

enum vpcictl_input_kind {
    VPCICTL_INPUT_LAYOUT,
    VPCICTL_INPUT_DUMP,
    VPCICTL_INPUT_SNAPSHOT,
};

struct vpcictl_input {
    char *spec; /* as given */
    enum vpcictl_input_kind kind;
    char bdf[20]; /* the function's address; "" for a layout file */
    /* The layout: parsed (layout files) or derived with the policy and
     * quirks given to vpcictl_input_load (devices). */
    struct vpci_layout *layout;
    /* A device (dump or snapshot function): its facts for compat and
     * placement.  Pointers refer into this struct's own storage.  For a
     * layout file, has_device is false. */
    bool has_device;
    struct vpci_host_device hd;
    void *priv_; /* storage; vpcictl_input_clear frees it */
};

/*
 * Load spec.  Devices are derived with policy and quirks (may be NULL).
 * 0, or an exit status (EXIT_INVALID / EXIT_USAGE) after a message on
 * stderr that names spec.
 */
int vpcictl_input_load(const char *spec, enum vpci_policy policy,
                       const struct vpci_quirks *quirks,
                       struct vpcictl_input *in);

/* busy map of an input (VPCI_CFG_SPACE_EXT bytes): a device's through
 * vpci_device_busy(), a layout file's from its blocks. */
int vpcictl_input_busy(const struct vpcictl_input *in,
                       const struct vpci_quirks *quirks, uint8_t *busy);

void vpcictl_input_clear(struct vpcictl_input *in);

/* The device of an lspci dump (file names it in messages) whose slot is
 * want (as printed, or without its 0000: domain); NULL after a message
 * when there is none. */
const struct vpci_dump_dev *vpcictl_dump_slot(const char *file,
                                              const struct vpci_dump_dev *devs,
                                              size_t ndevs, const char *want);

/* Quirks as derive loads them: DIR, else $VPCI_QUIRKS_DIR, else the
 * installed ones.  0 or EXIT_INVALID after a message. */
int vpcictl_quirks_load(const char *dir, struct vpci_quirks **ret);

#endif
