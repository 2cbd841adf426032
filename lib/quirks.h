/* SPDX-License-Identifier: BSD-2-Clause */
/* Parsed quirk files, as derive reads them; not installed. */
#ifndef VPCI_QUIRKS_H
#define VPCI_QUIRKS_H

#include "internal.h"

enum quirk_kind {
    QUIRK_HIDE,  /* hide cap|ecap NAME|ID */
    QUIRK_KEEP,  /* keep OFF LEN [rw]: pass a register range through */
    QUIRK_PASID, /* pasid OFF [width N] [exec] [priv] */
};

struct quirk_action {
    enum quirk_kind kind;
    bool ext;       /* hide: extended capability */
    uint16_t id;    /* hide: capability ID */
    uint16_t off;   /* keep, pasid */
    uint16_t len;   /* keep */
    bool rw;        /* keep: guest writes go to the device */
    unsigned width; /* pasid: 0 = from the device, else 1..20 */
    int exec, priv; /* pasid: -1 = from the device, else 0/1 */
    unsigned line;
};

struct quirk {
    uint16_t vendor, device;
    bool has_subsys;
    uint16_t subsys_vendor, subsys_id;
    unsigned line;
    struct quirk_action *actions;
    size_t nactions;
};

struct vpci_quirks {
    struct quirk *q;
    size_t n;
};

/* Does quirk q apply to a function with these IDs? */
static inline bool quirk_matches(const struct quirk *q, uint16_t vendor,
                                 uint16_t device, uint16_t svid, uint16_t sdid)
{
    return q->vendor == vendor && q->device == device &&
           (!q->has_subsys ||
            (q->subsys_vendor == svid && q->subsys_id == sdid));
}

#endif
