/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vpcictl layout place FILE --ecap pasid ...: add a virtual capability at
 * an offset that is free on the layout and on every --device, and print
 * the new layout.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inputs.h"
#include "vpci.h"
#include "vpcictl.h"

#define MAX_DEVICES 64

static int usage(const char *msg)
{
    fprintf(stderr, "vpcictl layout place: %s\n", msg);
    fprintf(stderr, "usage: vpcictl layout place FILE --ecap pasid "
                    "[--width N] [--exec] [--priv]\n"
                    "         [--at OFF|auto] [--device INPUT]... "
                    "[--quirks DIR]\n");
    return EXIT_USAGE;
}

/* Max PASID Width of the PASID capability at off in cfg, 0 if none. */
static unsigned cfg_pasid_width(const uint8_t *cfg, unsigned size)
{
    if (!cfg || size < 64)
        return 0;
    struct vpci_decoded *dec = malloc(sizeof(*dec));
    if (!dec)
        return 0;
    unsigned w = 0;
    vpci_decode(cfg, size > VPCI_CFG_SPACE_EXT ? VPCI_CFG_SPACE_EXT : size,
                dec);
    for (size_t i = 0; i < dec->ncaps; i++)
        if (dec->caps[i].ext && dec->caps[i].id == 0x001b &&
            dec->caps[i].off + 6u <= size)
            w = (cfg[dec->caps[i].off + 5] & 0x1f);
    free(dec);
    return w;
}

/* The width an input offers: a device's own PASID (a VF's PF's), or a
 * layout's pasid block; 0 if it has none. */
static unsigned input_pasid_width(const struct vpcictl_input *in)
{
    if (in->has_device) {
        unsigned w = cfg_pasid_width(in->hd.dev.cfg, in->hd.dev.size);
        if (!w && in->hd.pf_cfg)
            w = cfg_pasid_width(in->hd.pf_cfg, in->hd.pf_size);
        return w;
    }
    for (size_t i = 1; in->layout && i < in->layout->nblocks; i++) {
        const struct vpci_block *b = &in->layout->blocks[i];
        if (b->kind != VPCI_BLOCK_ECAP || b->id != 0x001b)
            continue;
        const struct vpci_field *f = vpci_block_find_field(b, "pasid_cap");
        if (f)
            return (vpci_field_value(f) >> 8) & 0x1f;
    }
    return 0;
}

/* The quirk line that keeps (or puts a PASID at) byte a of a device, from
 * derive's notes; 0 if none says so. */
static unsigned quirk_line_at(const struct vpcictl_input *in,
                              const struct vpci_quirks *quirks, unsigned a)
{
    struct vpci_layout *l = NULL;
    struct vpci_derive_notes *notes = malloc(sizeof(*notes));
    struct vpci_error err;
    unsigned found = 0;
    if (!notes)
        return 0;
    if (vpci_derive(&in->hd.dev, VPCI_POLICY_VFIO, quirks, &l, notes, &err) <
        0) {
        free(notes);
        return 0;
    }
    for (size_t i = 0; i < notes->n && !found; i++) {
        unsigned line, s, e;
        if (sscanf(notes->note[i], "quirk line %u: kept 0x%x-0x%x", &line, &s,
                   &e) == 3 &&
            s <= a && a <= e)
            found = line;
        else if (sscanf(notes->note[i], "quirk line %u: virtual PASID at 0x%x",
                        &line, &s) == 2 &&
                 s <= a && a < s + 8)
            found = line;
    }
    vpci_layout_free(l);
    free(notes);
    return found;
}

/* What takes byte a on input in, e.g. "ecap vendor at 0xf00". */
static void describe(const struct vpcictl_input *in,
                     const struct vpci_quirks *quirks, unsigned a, char *buf,
                     size_t n)
{
    if (!in->has_device) {
        const struct vpci_layout *l = in->layout;
        for (size_t i = 1; l && i < l->nblocks; i++) {
            const struct vpci_block *b = &l->blocks[i];
            unsigned end = b->kind == VPCI_BLOCK_ECAP ? 4u : 2u;
            for (size_t j = 0; j < b->nfields; j++) {
                unsigned s = b->off + b->fields[j].off;
                if (b->kind == VPCI_BLOCK_RAW && s <= a &&
                    a < s + b->fields[j].len) {
                    snprintf(buf, n, "raw bytes at 0x%x", s);
                    return;
                }
                if (b->fields[j].off + b->fields[j].len > end)
                    end = b->fields[j].off + b->fields[j].len;
            }
            if (b->kind == VPCI_BLOCK_RAW || a < b->off || a >= b->off + end)
                continue;
            const char *kw = b->kind == VPCI_BLOCK_ECAP ? "ecap" : "cap";
            if (b->name[0])
                snprintf(buf, n, "%s %s at 0x%x", kw, b->name, b->off);
            else
                snprintf(buf, n, "%s id 0x%x at 0x%x", kw, b->id, b->off);
            return;
        }
        snprintf(buf, n, "taken");
        return;
    }
    struct vpci_decoded *dec = malloc(sizeof(*dec));
    if (dec) {
        unsigned size = in->hd.dev.size > VPCI_CFG_SPACE_EXT
                            ? VPCI_CFG_SPACE_EXT
                            : in->hd.dev.size;
        vpci_decode(in->hd.dev.cfg, size, dec);
        for (size_t i = 0; i < dec->ncaps; i++) {
            const struct vpci_cap_info *ci = &dec->caps[i];
            unsigned len = ci->len > 4 ? ci->len : 4;
            if (a < ci->off || a >= ci->off + len)
                continue;
            const char *kw = ci->ext ? "ecap" : "cap";
            if (ci->def)
                snprintf(buf, n, "%s %s at 0x%x", kw, ci->def->name, ci->off);
            else
                snprintf(buf, n, "%s id 0x%x at 0x%x", kw, ci->id, ci->off);
            free(dec);
            return;
        }
        free(dec);
    }
    unsigned line = quirk_line_at(in, quirks, a);
    if (line)
        snprintf(buf, n, "kept by quirk line %u", line);
    else
        snprintf(buf, n, "kept by a quirk");
}

static bool parse_off(const char *s, int *ret)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 0);
    if (errno || *end || !*s || s[0] == '-' || v > 0xffff)
        return false;
    *ret = (int)v;
    return true;
}

int vpcictl_layout_place(int argc, char **argv)
{
    static const struct option opts[] = {
        {"ecap", required_argument, NULL, 'e'},
        {"width", required_argument, NULL, 'w'},
        {"exec", no_argument, NULL, 'x'},
        {"priv", no_argument, NULL, 'p'},
        {"at", required_argument, NULL, 'a'},
        {"device", required_argument, NULL, 'd'},
        {"quirks", required_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    const char *ecap = NULL, *qdir = NULL;
    const char *devspec[MAX_DEVICES];
    size_t ndev = 0;
    unsigned width = 0;
    bool exec = false, priv = false;
    int at = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'e':
            ecap = optarg;
            break;
        case 'w': {
            char *end;
            errno = 0;
            unsigned long v = strtoul(optarg, &end, 10);
            if (errno || *end || !*optarg || optarg[0] == '-' || v < 1 ||
                v > 20)
                return usage("--width is a Max PASID Width, 1-20");
            width = (unsigned)v;
            break;
        }
        case 'x':
            exec = true;
            break;
        case 'p':
            priv = true;
            break;
        case 'a':
            if (!strcmp(optarg, "auto"))
                at = -1;
            else if (!parse_off(optarg, &at))
                return usage("--at is an offset (0x100-0xff8) or 'auto'");
            break;
        case 'd':
            if (ndev == MAX_DEVICES)
                return usage("at most 64 --device inputs");
            devspec[ndev++] = optarg;
            break;
        case 'q':
            qdir = optarg;
            break;
        default:
            return usage("unknown option");
        }
    }
    if (optind != argc - 1)
        return usage("place takes one layout FILE");
    if (!ecap)
        return usage("--ecap is needed (supported: pasid)");
    if (strcmp(ecap, "pasid")) {
        fprintf(stderr,
                "vpcictl layout place: --ecap %s is not supported "
                "(supported: pasid)\n",
                ecap);
        return EXIT_USAGE;
    }
    const char *file = argv[optind];

    int rc = EXIT_INVALID;
    struct vpci_layout *l = NULL, *probe = NULL;
    struct vpci_quirks *quirks = NULL;
    struct vpcictl_input *in = calloc(ndev ? ndev : 1, sizeof(*in));
    uint8_t *busy = calloc(ndev ? ndev : 1, VPCI_CFG_SPACE_EXT);
    const uint8_t **maps = calloc(ndev ? ndev : 1, sizeof(*maps));
    char *text = NULL;
    size_t nloaded = 0;
    if (!in || !busy || !maps) {
        fprintf(stderr, "vpcictl: out of memory\n");
        goto out;
    }

    int r = vpcictl_load_layout(file, &l);
    if (r < 0)
        goto out;
    struct vpci_error err;
    size_t len;
    if (l->has_binding) {
        fprintf(stderr,
                "vpcictl: %s: a resolved layout (binding section): place "
                "works on instance types\n",
                file);
        goto out;
    }

    if (ndev && (r = vpcictl_quirks_load(qdir, &quirks)) != 0) {
        rc = r;
        goto out;
    }
    unsigned min_width = 0;
    for (size_t k = 0; k < ndev; k++) {
        r = vpcictl_input_load(devspec[k], VPCI_POLICY_VFIO, quirks, &in[k]);
        nloaded++; /* cleared even when it failed half way */
        if (r != 0) {
            rc = r;
            goto out;
        }
        if (vpcictl_input_busy(&in[k], quirks, busy + k * VPCI_CFG_SPACE_EXT) <
            0) {
            fprintf(stderr, "vpcictl: %s: cannot map its config space\n",
                    devspec[k]);
            goto out;
        }
        maps[k] = busy + k * VPCI_CFG_SPACE_EXT;
        unsigned w = input_pasid_width(&in[k]);
        if (w && (!min_width || w < min_width))
            min_width = w;
    }
    if (!width)
        width = min_width ? min_width : 20;

    struct vpci_place_opts po = {
        .width = width,
        .exec = exec,
        .priv = priv,
        .at = at,
        .busy = maps,
        .nbusy = ndev,
        .names = devspec,
    };
    if (at >= 0) {
        /* The layout's own objections first, then each device's, named
         * with what takes the bytes there. */
        struct vpci_place_opts lo = po;
        lo.nbusy = 0;
        if (vpci_layout_dup(l, &probe) < 0) {
            fprintf(stderr, "vpcictl: out of memory\n");
            goto out;
        }
        if (vpci_layout_place_pasid(probe, &lo, NULL, &err) < 0) {
            fprintf(stderr, "vpcictl: %s: cannot place pasid: %s\n", file,
                    err.msg);
            goto out;
        }
        for (size_t k = 0; k < ndev; k++)
            for (unsigned a = (unsigned)at; a < (unsigned)at + 8; a++) {
                if (!maps[k][a])
                    continue;
                char what[96];
                describe(&in[k], quirks, a, what, sizeof(what));
                fprintf(stderr,
                        "vpcictl: %s: cannot place pasid: 0x%x-0x%x: %s on "
                        "device %zu (%s)\n",
                        file, (unsigned)at, (unsigned)at + 7, what, k + 1,
                        devspec[k]);
                goto out;
            }
    }
    uint16_t off;
    if (vpci_layout_place_pasid(l, &po, &off, &err) < 0) {
        fprintf(stderr, "vpcictl: %s: cannot place pasid: %s\n", file, err.msg);
        goto out;
    }
    if (vpci_layout_validate(l, &err) < 0) {
        fprintf(stderr,
                "vpcictl: %s: the placed layout does not validate: %s\n", file,
                err.msg);
        goto out;
    }
    if (vpci_layout_format(l, &text, &len) < 0) {
        fprintf(stderr, "vpcictl: out of memory\n");
        goto out;
    }
    fwrite(text, 1, len, stdout);
    fprintf(stderr, "vpcictl: placed pasid at 0x%x\n", off);
    rc = EXIT_OK;
out:
    for (size_t k = 0; k < nloaded; k++)
        vpcictl_input_clear(&in[k]);
    free(in);
    free(busy);
    free(maps);
    free(text);
    vpci_layout_free(l);
    vpci_layout_free(probe);
    vpci_quirks_free(quirks);
    return rc;
}
