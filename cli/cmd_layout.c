/* SPDX-License-Identifier: BSD-2-Clause */
/* vpcictl layout VERB: offline verbs on layout files and lspci dumps. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "derive_text.h"
#include "inputs.h"
#include "inventory.h"
#include "vpci.h"
#include "vpcictl.h"

#define CLEANUP_FREE __attribute__((cleanup(freep)))
#define CLEANUP_LAYOUT __attribute__((cleanup(layoutp)))

static void freep(void *p)
{
    free(*(void **)p);
}

static void layoutp(struct vpci_layout **l)
{
    vpci_layout_free(*l);
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "vpcictl layout: %s\n", msg);
    fprintf(stderr, "Try 'vpcictl layout --help'.\n");
    return EXIT_USAGE;
}

static int cmd_lint(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("lint needs at least one FILE");
    int rc = EXIT_OK;
    for (int i = 1; i < argc; i++) {
        CLEANUP_LAYOUT struct vpci_layout *l = NULL;
        if (vpcictl_load_layout(argv[i], &l) < 0)
            rc = EXIT_INVALID;
    }
    return rc;
}

static int cmd_fmt(int argc, char **argv)
{
    bool write_back = false;
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-w"))
            write_back = true;
        else if (!file)
            file = argv[i];
        else
            return usage_error("fmt takes one FILE");
    }
    if (!file)
        return usage_error("fmt needs a FILE");
    if (write_back && !strcmp(file, "-"))
        return usage_error("fmt -w needs a file, not standard input");
    CLEANUP_LAYOUT struct vpci_layout *l = NULL;
    if (vpcictl_load_layout(file, &l) < 0)
        return EXIT_INVALID;
    CLEANUP_FREE char *text = NULL;
    size_t len;
    if (vpci_layout_format(l, &text, &len) < 0) {
        fprintf(stderr, "vpcictl: out of memory\n");
        return EXIT_INVALID;
    }
    if (!write_back) {
        fwrite(text, 1, len, stdout);
        return EXIT_OK;
    }
    int r = vpcictl_write_file(file, text, len);
    if (r < 0) {
        fprintf(stderr, "vpcictl: %s: %s\n", file, strerror(-r));
        return EXIT_INVALID;
    }
    return EXIT_OK;
}

static int cmd_hash(int argc, char **argv)
{
    if (argc != 2)
        return usage_error("hash takes one FILE");
    CLEANUP_LAYOUT struct vpci_layout *l = NULL;
    if (vpcictl_load_layout(argv[1], &l) < 0)
        return EXIT_INVALID;
    char h[VPCI_HASH_STRLEN], fp[VPCI_HASH_STRLEN];
    if (vpci_layout_hash(l, h) < 0 || vpci_layout_fingerprint(l, fp) < 0) {
        fprintf(stderr, "vpcictl: cannot compute hashes\n");
        return EXIT_INVALID;
    }
    printf("%s\nfingerprint %s\n", h, fp);
    return EXIT_OK;
}

/* Like diff(1): 0 same, 1 different, 2 trouble. */
static int cmd_diff(int argc, char **argv)
{
    if (argc != 3)
        return usage_error("diff takes two FILEs");
    CLEANUP_LAYOUT struct vpci_layout *a = NULL;
    CLEANUP_LAYOUT struct vpci_layout *b = NULL;
    if (vpcictl_load_layout(argv[1], &a) < 0 ||
        vpcictl_load_layout(argv[2], &b) < 0)
        return EXIT_USAGE;
    CLEANUP_FREE char *text = NULL;
    int n = vpci_layout_diff(a, b, &text);
    if (n < 0) {
        fprintf(stderr, "vpcictl: diff failed: %s\n", strerror(-n));
        return EXIT_USAGE;
    }
    fputs(text, stdout);
    return n ? 1 : 0;
}

static int cmd_render(int argc, char **argv)
{
    if (argc != 2)
        return usage_error("render takes one FILE");
    CLEANUP_LAYOUT struct vpci_layout *l = NULL;
    if (vpcictl_load_layout(argv[1], &l) < 0)
        return EXIT_INVALID;
    CLEANUP_FREE struct vpci_render *r = malloc(sizeof(*r));
    CLEANUP_FREE char *text = NULL;
    if (!r || vpci_render(l, r) < 0 ||
        vpci_render_lspci(r, "00:00.0", &text) < 0) {
        fprintf(stderr, "vpcictl: cannot render %s\n", argv[1]);
        return EXIT_INVALID;
    }
    fputs(text, stdout);
    return EXIT_OK;
}

/* Derive from d and print the layout with its notes; src and slot name
 * the device in messages. */
static int derive_and_print(const struct vpci_device *d, const char *src,
                            const char *slot, const char *desc,
                            enum vpci_policy policy, const char *qdir)
{
    struct vpci_error err;
    struct vpci_quirks *q = NULL;
    int r = vpcictl_quirks_load(qdir, &q);
    if (r != 0)
        return r;
    CLEANUP_FREE char *out = NULL;
    size_t len;
    struct vpci_derive_notes notes;
    r = vpcid_derive_text(d, src, slot, desc, policy, q, &out, &len, &notes,
                          &err);
    vpci_quirks_free(q);
    if (r < 0) {
        fprintf(stderr, "vpcictl: %s: %s: cannot derive: %s\n", src, slot,
                err.msg);
        return EXIT_INVALID;
    }
    /* What the operator must fix by hand also goes to stderr. */
    for (size_t i = 0; i < notes.n; i++)
        if (!strncmp(notes.note[i], "BAR", 3) ||
            !strncmp(notes.note[i], "ROM", 3))
            fprintf(stderr, "vpcictl: %s: %s: warning: %s\n", src, slot,
                    notes.note[i]);
    fwrite(out, 1, len, stdout);
    return EXIT_OK;
}

/* derive BDF: a live function (or one of a fixture tree) read through
 * the host inventory, with the facts its config bytes lack: sysfs IDs,
 * BAR and ROM sizes and types from resource, and whether it is a VF. */
static int derive_live(const char *sysfs, const char *bdf,
                       enum vpci_policy policy, const char *qdir)
{
    unsigned dom, bus, dev, fn;
    if (vpcid_bdf_parse(bdf, &dom, &bus, &dev, &fn) < 0)
        return usage_error("BDF is DDDD:BB:DD.F or BB:DD.F");
    struct inv_host *h = NULL;
    if (vpcictl_host_scan(sysfs, &h) < 0)
        return EXIT_INVALID;
    const struct inv_func *f = vpcid_inventory_find(h, bdf);
    if (!f) {
        fprintf(stderr, "vpcictl: %s: no PCI function %s\n",
                sysfs ? sysfs : "/sys", bdf);
        vpcid_inventory_free(h);
        return EXIT_INVALID;
    }
    for (size_t i = 0; i < f->nwarnings; i++)
        fprintf(stderr, "vpcictl: %s: warning: %s\n", f->bdf, f->warnings[i]);
    int rc;
    if (f->config_size < 64) {
        fprintf(stderr, "vpcictl: %s: config space unreadable\n", f->bdf);
        rc = EXIT_INVALID;
    } else {
        struct vpci_device d;
        vpcid_inventory_to_device(f, &d);
        char src[4200], desc[200];
        snprintf(src, sizeof(src), "sysfs %s", sysfs ? sysfs : "/sys");
        snprintf(desc, sizeof(desc), "%04x:%04x%s%s", f->vendor_id,
                 f->device_id, f->physfn[0] ? " VF of " : "",
                 f->physfn[0] ? f->physfn : "");
        rc = derive_and_print(&d, src, f->bdf, desc, policy, qdir);
    }
    vpcid_inventory_free(h);
    return rc;
}

static int cmd_derive(int argc, char **argv)
{
    static const struct option opts[] = {
        {"policy", required_argument, NULL, 'p'},
        {"dump", required_argument, NULL, 'd'},
        {"slot", required_argument, NULL, 's'},
        {"index", required_argument, NULL, 'i'},
        {"quirks", required_argument, NULL, 'q'},
        {"sysfs", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    enum vpci_policy policy = VPCI_POLICY_VFIO;
    const char *dump = NULL, *slot = NULL, *qdir = NULL, *sysfs = NULL;
    unsigned long nth = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:d:s:i:q:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (vpci_policy_from_string(optarg, &policy) < 0)
                return usage_error("--policy is identity or vfio");
            break;
        case 'd':
            dump = optarg;
            break;
        case 's':
            slot = optarg;
            break;
        case 'i': {
            char *end;
            errno = 0;
            nth = strtoul(optarg, &end, 10);
            if (errno || *end || nth == 0 || optarg[0] == '-')
                return usage_error("--index is the 1-based position of the "
                                   "device in the dump");
            break;
        }
        case 'q':
            qdir = optarg;
            break;
        case 'S':
            sysfs = optarg;
            break;
        default:
            return usage_error("derive [--policy identity|vfio] --dump FILE "
                               "[--slot BDF | --index N] [--quirks DIR]");
        }
    }
    if (!dump && optind == argc - 1) {
        if (slot || nth)
            return usage_error("--slot and --index go with --dump");
        return derive_live(sysfs, argv[optind], policy, qdir);
    }
    if (sysfs && dump)
        return usage_error("--sysfs goes with a BDF, not with --dump");
    if (!dump || optind != argc)
        return usage_error("derive needs --dump FILE (live devices: see "
                           "vpcictl(1))");

    size_t len;
    CLEANUP_FREE char *text = vpcictl_read_file(dump, &len);
    if (!text)
        return EXIT_INVALID;
    CLEANUP_FREE struct vpci_dump_dev *devs = NULL;
    size_t ndevs = 0;
    struct vpci_error err;
    if (vpci_dump_parse(text, len, &devs, &ndevs, &err) < 0) {
        vpcictl_print_layout_error(dump, &err);
        return EXIT_INVALID;
    }
    const struct vpci_dump_dev *dev = NULL;
    if (slot && nth)
        return usage_error("--slot and --index exclude each other");
    if (nth) {
        if (nth > ndevs) {
            fprintf(stderr, "vpcictl: %s holds %zu devices, not %lu\n", dump,
                    ndevs, nth);
            return EXIT_INVALID;
        }
        dev = &devs[nth - 1];
    } else if (slot) {
        dev = vpcictl_dump_slot(dump, devs, ndevs, slot);
        if (!dev)
            return EXIT_INVALID;
    } else if (ndevs == 1) {
        dev = &devs[0];
    } else {
        fprintf(stderr,
                "vpcictl: %s holds %zu devices; choose one with --slot "
                "or --index:\n",
                dump, ndevs);
        for (size_t i = 0; i < ndevs; i++)
            fprintf(stderr, "  %2zu  %s %s\n", i + 1, devs[i].slot,
                    devs[i].desc);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < dev->nwarnings; i++)
        fprintf(stderr, "vpcictl: %s: %s: warning: %s\n", dump, dev->slot,
                dev->warnings[i]);

    struct vpci_device d = {
        .cfg = dev->cfg,
        .size = dev->size,
    };
    for (unsigned i = 0; i < VPCI_MAX_BARS; i++)
        d.bar_size[i] = dev->region_size[i];
    d.rom_size = dev->region_size[VPCI_MAX_BARS];
    return derive_and_print(&d, dump, dev->slot, dev->desc, policy, qdir);
}

static void layout_help(FILE *f)
{
    fputs("usage: vpcictl layout VERB [ARGS]\n"
          "\n"
          "  lint FILE...              check layouts; FILE:LINE:COL errors\n"
          "  fmt [-w] FILE             print (or rewrite) the canonical text\n"
          "  hash FILE                 content hash and guest-ABI fingerprint\n"
          "  diff A B                  semantic differences (exit 1 if any)\n"
          "  render FILE               config space as lspci -xxx[x] text\n"
          "  derive [--policy identity|vfio] --dump FILE\n"
          "         [--slot BDF | --index N] [--quirks DIR]\n"
          "                            derive a layout from an lspci dump\n"
          "  derive [--policy identity|vfio] [--sysfs DIR] [--quirks DIR] BDF\n"
          "                            derive a layout from a live function\n"
          "  common [--policy identity|vfio] [--quirks DIR] [--id VVVV:DDDD]\n"
          "         [-o text|json] INPUT...\n"
          "                            the layout every input device can "
          "present, and\n"
          "                            what was reduced or dropped for each; "
          "INPUT is a\n"
          "                            layout FILE.vpci, an lspci dump "
          "FILE[@BDF] or a\n"
          "                            snapshot function SNAPSHOT.json@BDF\n"
          "  place FILE --ecap pasid [--width N] [--exec] [--priv]\n"
          "        [--at OFF|auto] [--device INPUT]... [--quirks DIR]\n"
          "                            add a virtual capability at an offset "
          "free on the\n"
          "                            layout and on every listed device\n",
          f);
}

/* "--help" or "-h" among a verb's arguments (a file with such a name is
 * "./-h"). */
static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return true;
    return false;
}

int vpcictl_cmd_layout(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("missing VERB");
    const char *verb = argv[1];
    argc--;
    argv++;
    if (!strcmp(verb, "--help") || !strcmp(verb, "-h") ||
        wants_help(argc, argv)) {
        layout_help(stdout);
        return EXIT_OK;
    }
    if (!strcmp(verb, "lint"))
        return cmd_lint(argc, argv);
    if (!strcmp(verb, "fmt"))
        return cmd_fmt(argc, argv);
    if (!strcmp(verb, "hash"))
        return cmd_hash(argc, argv);
    if (!strcmp(verb, "diff"))
        return cmd_diff(argc, argv);
    if (!strcmp(verb, "render"))
        return cmd_render(argc, argv);
    if (!strcmp(verb, "derive"))
        return cmd_derive(argc, argv);
    if (!strcmp(verb, "common"))
        return vpcictl_layout_common(argc, argv);
    if (!strcmp(verb, "place"))
        return vpcictl_layout_place(argc, argv);
    fprintf(stderr, "vpcictl layout: unknown verb '%s'\n", verb);
    layout_help(stderr);
    return EXIT_USAGE;
}
