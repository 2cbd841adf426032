/* SPDX-License-Identifier: BSD-2-Clause */
/* Devices and layouts named on the command line (see inputs.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "derive_text.h"
#include "facts.h"
#include "inputs.h"
#include "inventory.h"
#include "snapshot.h"
#include "vpcictl.h"

/* What an input owns besides its layout: the config bytes and names its
 * struct vpci_host_device points at. */
struct input_store {
    uint8_t cfg[VPCI_CFG_SPACE_EXT];
    struct vpcid_snapshot *snap; /* snapshot inputs: hd points into it */
};

static uint32_t le(const uint8_t *p, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static bool slot_matches(const char *want, const char *slot)
{
    /* "00:1f.3" matches "0000:00:1f.3" */
    if (!strcasecmp(want, slot))
        return true;
    return strlen(want) == 7 && !strncmp(slot, "0000:", 5) &&
           !strcasecmp(want, slot + 5);
}

const struct vpci_dump_dev *vpcictl_dump_slot(const char *file,
                                              const struct vpci_dump_dev *devs,
                                              size_t ndevs, const char *want)
{
    for (size_t i = 0; i < ndevs; i++)
        if (slot_matches(want, devs[i].slot))
            return &devs[i];
    fprintf(stderr, "vpcictl: %s: no device at slot %s\n", file, want);
    return NULL;
}

/* The first line that is neither blank nor a comment tells a layout. */
static bool is_layout_text(const char *text)
{
    const char *p = text;
    for (;;) {
        p += strspn(p, " \t\r");
        if (*p == '\n') {
            p++;
            continue;
        }
        if (*p != '#')
            break;
        p = strchr(p, '\n');
        if (!p)
            return false;
    }
    return !strncmp(p, "vpci-layout", 11) && p[11] && strchr(" \t\r\n", p[11]);
}

static bool is_snapshot_text(const char *text)
{
    return text[strspn(text, " \t\r\n")] == '{';
}

/* Current link speed and width from the PCI Express capability's Link
 * Status, for "requires link" (a dump has no sysfs). */
static void dump_link(const uint8_t *cfg, unsigned size,
                      struct vpci_host_device *hd)
{
    static const unsigned mts[] = {0, 2500, 5000, 8000, 16000, 32000, 64000};
    struct vpci_decoded *dec = malloc(sizeof(*dec));
    if (!dec)
        return;
    if (vpci_decode(cfg, size, dec) >= 0) {
        for (size_t i = 0; i < dec->ncaps; i++) {
            const struct vpci_cap_info *c = &dec->caps[i];
            if (c->ext || c->id != 0x10 || c->off + 0x14u > size)
                continue;
            uint16_t sta = (uint16_t)le(cfg + c->off + 0x12, 2);
            unsigned sp = sta & 0xf;
            hd->link_speed_mts =
                sp < sizeof(mts) / sizeof(mts[0]) ? mts[sp] : 0;
            hd->link_width = (sta >> 4) & 0x3f;
            break;
        }
    }
    free(dec);
}

static int derive_input(struct vpcictl_input *in, enum vpci_policy policy,
                        const struct vpci_quirks *quirks)
{
    struct vpci_error err;
    struct vpci_derive_notes notes;
    int r = vpci_derive(&in->hd.dev, policy, quirks, &in->layout, &notes, &err);
    if (r < 0) {
        fprintf(stderr, "vpcictl: %s: cannot derive: %s\n", in->spec,
                r == -ENOMEM ? "out of memory" : err.msg);
        return EXIT_INVALID;
    }
    /* What the operator must know (as layout derive says it). */
    for (size_t i = 0; i < notes.n; i++)
        if (!strncmp(notes.note[i], "BAR", 3) ||
            !strncmp(notes.note[i], "ROM", 3))
            fprintf(stderr, "vpcictl: %s: warning: %s\n", in->spec,
                    notes.note[i]);
    return 0;
}

static int load_layout_input(struct vpcictl_input *in, const char *path,
                             const char *text, size_t len)
{
    if (vpcictl_parse_layout(vpcictl_file_label(path), text, len, &in->layout) <
        0)
        return EXIT_INVALID;
    in->kind = VPCICTL_INPUT_LAYOUT;
    return 0;
}

static int load_dump_input(struct vpcictl_input *in, const char *path,
                           const char *bdf, const char *text, size_t len,
                           enum vpci_policy policy,
                           const struct vpci_quirks *quirks)
{
    struct vpci_dump_dev *devs = NULL;
    size_t ndevs = 0;
    struct vpci_error err;
    if (vpci_dump_parse(text, len, &devs, &ndevs, &err) < 0) {
        vpcictl_print_layout_error(path, &err);
        return EXIT_INVALID;
    }
    const struct vpci_dump_dev *dev = NULL;
    if (bdf) {
        dev = vpcictl_dump_slot(path, devs, ndevs, bdf);
        if (!dev) {
            free(devs);
            return EXIT_INVALID;
        }
    } else if (ndevs == 1) {
        dev = &devs[0];
    } else {
        fprintf(stderr,
                "vpcictl: %s holds %zu devices; choose one with %s@BDF:\n",
                path, ndevs, path);
        for (size_t i = 0; i < ndevs; i++)
            fprintf(stderr, "  %s %s\n", devs[i].slot, devs[i].desc);
        free(devs);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < dev->nwarnings; i++)
        fprintf(stderr, "vpcictl: %s: %s: warning: %s\n", path, dev->slot,
                dev->warnings[i]);
    if (dev->size < 64) {
        fprintf(stderr,
                "vpcictl: %s: %s: only %u bytes of config space, the "
                "64-byte header is needed\n",
                path, dev->slot, dev->size);
        free(devs);
        return EXIT_INVALID;
    }

    struct input_store *st = in->priv_;
    memcpy(st->cfg, dev->cfg, dev->size);
    snprintf(in->bdf, sizeof(in->bdf), "%s", dev->slot);
    struct vpci_host_device *hd = &in->hd;
    struct vpci_device *d = &hd->dev;
    d->cfg = st->cfg;
    d->size = dev->size;
    uint16_t vid = (uint16_t)le(st->cfg, 2);
    /* A VF's vendor and device ID registers read 0xffff; the dump does
     * not say what sysfs would. */
    d->is_vf = vid == 0xffff;
    if (!d->is_vf) {
        d->vendor_id = vid;
        d->device_id = (uint16_t)le(st->cfg + 2, 2);
    }
    for (unsigned i = 0; i < VPCI_MAX_BARS; i++)
        d->bar_size[i] = dev->region_size[i];
    d->rom_size = dev->region_size[VPCI_MAX_BARS];
    free(devs);

    hd->bdf = in->bdf;
    if ((st->cfg[0x0e] & 0x7f) == 0) {
        hd->subsystem_vendor_id = (uint16_t)le(st->cfg + 0x2c, 2);
        hd->subsystem_id = (uint16_t)le(st->cfg + 0x2e, 2);
    }
    hd->migration = -1;
    hd->numa_node = -1;
    hd->iommu_group = -1;
    dump_link(st->cfg, d->size, hd);
    in->kind = VPCICTL_INPUT_DUMP;
    in->has_device = true;
    return derive_input(in, policy, quirks);
}

static int load_snapshot_input(struct vpcictl_input *in, const char *path,
                               const char *bdf, const char *text, size_t len,
                               enum vpci_policy policy,
                               const struct vpci_quirks *quirks)
{
    if (!bdf) {
        fprintf(stderr,
                "vpcictl: %s: a host snapshot needs @BDF to name one of its "
                "functions\n",
                path);
        return EXIT_USAGE;
    }
    struct input_store *st = in->priv_;
    char errbuf[512];
    int r = vpcid_snapshot_load(text, len, &st->snap, errbuf, sizeof(errbuf));
    if (r < 0) {
        fprintf(stderr, "vpcictl: %s: %s\n", path,
                r == -ENOMEM ? "out of memory" : errbuf);
        return EXIT_INVALID;
    }
    const struct inv_func *f = vpcid_inventory_find(st->snap->host, bdf);
    if (!f) {
        fprintf(stderr, "vpcictl: %s: no PCI function %s in the snapshot\n",
                path, bdf);
        return EXIT_INVALID;
    }
    if (f->config_size < 64) {
        fprintf(stderr, "vpcictl: %s: %s: config space unreadable\n", path,
                f->bdf);
        return EXIT_INVALID;
    }
    snprintf(in->bdf, sizeof(in->bdf), "%s", f->bdf);
    /* No attachments: a snapshot is planned against, not reserved. */
    vpcid_host_facts(st->snap->host, f, NULL, 0, &in->hd);
    in->hd.bdf = in->bdf;
    in->kind = VPCICTL_INPUT_SNAPSHOT;
    in->has_device = true;
    return derive_input(in, policy, quirks);
}

int vpcictl_input_load(const char *spec, enum vpci_policy policy,
                       const struct vpci_quirks *quirks,
                       struct vpcictl_input *in)
{
    memset(in, 0, sizeof(*in));
    in->spec = strdup(spec);
    struct input_store *st = calloc(1, sizeof(*st));
    in->priv_ = st;
    char *path = strdup(spec);
    if (!in->spec || !st || !path) {
        free(path);
        vpcictl_input_clear(in);
        fprintf(stderr, "vpcictl: out of memory\n");
        return EXIT_INVALID;
    }
    const char *bdf = NULL;
    char *at = strrchr(path, '@');
    if (at && at != path) {
        unsigned dom, bus, dev, fn;
        if (vpcid_bdf_parse(at + 1, &dom, &bus, &dev, &fn) == 0) {
            *at = '\0';
            bdf = at + 1;
        }
    }
    int rc;
    size_t len;
    char *text = vpcictl_read_file(path, &len);
    if (!text) {
        rc = EXIT_INVALID;
    } else if (is_layout_text(text)) {
        if (bdf) {
            fprintf(stderr,
                    "vpcictl: %s: a layout file names no device; drop "
                    "\"@%s\"\n",
                    path, bdf);
            rc = EXIT_USAGE;
        } else {
            rc = load_layout_input(in, path, text, len);
        }
    } else if (is_snapshot_text(text)) {
        rc = load_snapshot_input(in, path, bdf, text, len, policy, quirks);
    } else {
        rc = load_dump_input(in, path, bdf, text, len, policy, quirks);
    }
    free(text);
    free(path);
    /* Nothing is left to free after a failure (clearing again is
     * harmless). */
    if (rc != 0)
        vpcictl_input_clear(in);
    return rc;
}

int vpcictl_input_busy(const struct vpcictl_input *in,
                       const struct vpci_quirks *quirks, uint8_t *busy)
{
    if (in->has_device)
        return vpci_device_busy(&in->hd.dev, quirks, busy);
    memset(busy, 0, VPCI_CFG_SPACE_EXT);
    return vpci_layout_busy(in->layout, busy);
}

void vpcictl_input_clear(struct vpcictl_input *in)
{
    if (!in)
        return;
    struct input_store *st = in->priv_;
    if (st)
        vpcid_snapshot_free(st->snap);
    free(st);
    vpci_layout_free(in->layout);
    free(in->spec);
    memset(in, 0, sizeof(*in));
}

int vpcictl_quirks_load(const char *dir, struct vpci_quirks **ret)
{
    struct vpci_quirks *q = NULL;
    const char *env = getenv("VPCI_QUIRKS_DIR");
    char qerr[640];
    int r = vpcid_quirks_load(dir   ? dir
                              : env ? env
                                    : VPCI_DATADIR "/quirks",
                              dir != NULL, &q, qerr, sizeof(qerr));
    if (r < 0) {
        fprintf(stderr, "%s\n", qerr);
        vpci_quirks_free(q);
        return EXIT_INVALID;
    }
    *ret = q;
    return 0;
}
