/* SPDX-License-Identifier: BSD-2-Clause */
/* vpcictl host VERB: what the daemon would see on this host, scanned
 * locally (no daemon needed). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inventory.h"
#include "snapshot.h"
#include "vpcictl.h"

static int usage_error(const char *msg)
{
    fprintf(stderr, "vpcictl host: %s\n", msg);
    fprintf(stderr, "Try 'vpcictl host --help'.\n");
    return EXIT_USAGE;
}

static void host_help(FILE *f)
{
    fputs("usage: vpcictl host VERB [ARGS]\n"
          "\n"
          "  scan [--sysfs DIR] [-o table|json]\n"
          "                 inventory of the PCI functions under DIR "
          "(default /sys):\n"
          "                 IDs, class, driver, IOMMU group, NUMA node, "
          "SR-IOV;\n"
          "                 -o json prints every fact as {\"devices\": "
          "[...]}\n"
          "  snapshot [--sysfs DIR] [--hostname NAME]\n"
          "                 everything scan knows, raw config bytes "
          "included, with the\n"
          "                 host name (default: this host's) and the time, "
          "as one JSON\n"
          "                 document for 'vpcictl compat --snapshot' and "
          "POST\n"
          "                 /v1/compat/offline\n",
          f);
}

int vpcictl_host_scan(const char *sysfs, struct inv_host **ret)
{
    int r = vpcid_inventory_scan(sysfs, ret);
    if (r < 0) {
        fprintf(stderr, "vpcictl: %s/bus/pci/devices: %s\n",
                sysfs ? sysfs : "/sys", strerror(-r));
        return r;
    }
    const struct inv_host *h = *ret;
    for (size_t i = 0; i < h->nwarnings; i++)
        fprintf(stderr, "vpcictl: warning: %s\n", h->warnings[i]);
    return 0;
}

static void print_table(const struct inv_host *h)
{
    printf("%-12s %-4s %-9s %-3s %-16s %5s %4s %-7s %s\n", "BDF", "CLASS", "ID",
           "REV", "DRIVER", "IOMMU", "NUMA", "VFS", "DESCRIPTION");
    for (size_t i = 0; i < h->nfuncs; i++) {
        const struct inv_func *f = &h->funcs[i];
        char id[16], rev[16], grp[16], vfs[32];
        snprintf(id, sizeof(id), "%04x:%04x", f->vendor_id, f->device_id);
        if (f->revision >= 0)
            snprintf(rev, sizeof(rev), "%02x", f->revision);
        else
            snprintf(rev, sizeof(rev), "-");
        if (f->iommu_group >= 0)
            snprintf(grp, sizeof(grp), "%d", f->iommu_group);
        else
            snprintf(grp, sizeof(grp), "-");
        if (f->has_sriov)
            snprintf(vfs, sizeof(vfs), "%u/%u", f->sriov.num_vfs,
                     f->sriov.total_vfs);
        else if (f->physfn[0])
            snprintf(vfs, sizeof(vfs), "VF");
        else
            snprintf(vfs, sizeof(vfs), "-");
        printf("%-12s %04x  %-9s %-3s %-16s %5s %4d %-7s %s: %s %s%s\n", f->bdf,
               f->class_code >> 8, id, rev, f->driver ? f->driver : "-", grp,
               f->numa_node, vfs, f->class_name ? f->class_name : "Class",
               f->vendor_name ? f->vendor_name : "Device",
               f->device_name ? f->device_name : id,
               f->physfn[0] ? " (VF)" : "");
    }
}

static int cmd_scan(int argc, char **argv)
{
    static const struct option opts[] = {
        {"sysfs", required_argument, NULL, 's'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *sysfs = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            sysfs = optarg;
            break;
        case 'o':
            if (vpcictl_output_option(optarg, "table", &json) < 0)
                return usage_error("-o is table or json");
            break;
        case 'h':
            host_help(stdout);
            return EXIT_OK;
        default:
            return usage_error("scan [--sysfs DIR] [-o table|json]");
        }
    }
    if (optind != argc)
        return usage_error("scan takes no arguments");

    struct inv_host *h = NULL;
    if (vpcictl_host_scan(sysfs, &h) < 0)
        return EXIT_INVALID;
    int rc = EXIT_OK;
    if (json) {
        char *text = vpcid_inventory_json(h);
        if (!text) {
            fprintf(stderr, "vpcictl: out of memory\n");
            rc = EXIT_INVALID;
        } else {
            fputs(text, stdout);
            free(text);
        }
    } else {
        print_table(h);
        for (size_t i = 0; i < h->nfuncs; i++)
            for (size_t j = 0; j < h->funcs[i].nwarnings; j++)
                fprintf(stderr, "vpcictl: %s: warning: %s\n", h->funcs[i].bdf,
                        h->funcs[i].warnings[j]);
    }
    vpcid_inventory_free(h);
    return rc;
}

static int cmd_snapshot(int argc, char **argv)
{
    static const struct option opts[] = {
        {"sysfs", required_argument, NULL, 's'},
        {"hostname", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *sysfs = NULL, *hostname = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            sysfs = optarg;
            break;
        case 'n':
            hostname = optarg;
            break;
        case 'h':
            host_help(stdout);
            return EXIT_OK;
        default:
            return usage_error("snapshot [--sysfs DIR] [--hostname NAME]");
        }
    }
    if (optind != argc)
        return usage_error("snapshot takes no arguments");
    char self[256];
    if (!hostname) {
        if (gethostname(self, sizeof(self)) < 0) {
            fprintf(stderr, "vpcictl: gethostname: %s; use --hostname\n",
                    strerror(errno));
            return EXIT_INVALID;
        }
        self[sizeof(self) - 1] = '\0';
        hostname = self;
    }
    /* What the loader takes back (snapshot.c). */
    if (!*hostname || strlen(hostname) > 255)
        return usage_error("--hostname wants 1 to 255 bytes");

    struct inv_host *h = NULL;
    if (vpcictl_host_scan(sysfs, &h) < 0)
        return EXIT_INVALID;
    for (size_t i = 0; i < h->nfuncs; i++)
        for (size_t j = 0; j < h->funcs[i].nwarnings; j++)
            fprintf(stderr, "vpcictl: %s: warning: %s\n", h->funcs[i].bdf,
                    h->funcs[i].warnings[j]);
    char *text = vpcid_snapshot_json(h, hostname, time(NULL));
    vpcid_inventory_free(h);
    if (!text) {
        fprintf(stderr, "vpcictl: cannot write the snapshot (out of memory, "
                        "or a host name that is not UTF-8)\n");
        return EXIT_INVALID;
    }
    fputs(text, stdout);
    free(text);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "vpcictl: standard output: %s\n", strerror(errno));
        return EXIT_INVALID;
    }
    return EXIT_OK;
}

int vpcictl_cmd_host(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("missing VERB");
    const char *verb = argv[1];
    if (!strcmp(verb, "--help") || !strcmp(verb, "-h")) {
        host_help(stdout);
        return EXIT_OK;
    }
    if (!strcmp(verb, "scan"))
        return cmd_scan(argc - 1, argv + 1);
    if (!strcmp(verb, "snapshot"))
        return cmd_snapshot(argc - 1, argv + 1);
    fprintf(stderr, "vpcictl host: unknown verb '%s'\n", verb);
    host_help(stderr);
    return EXIT_USAGE;
}
