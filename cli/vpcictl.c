/* SPDX-License-Identifier: BSD-2-Clause */
/* vpcictl: command-line front end; each command group has its own file. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "vpci.h"
#include "vpcictl.h"

int vpcictl_output_option(const char *arg, const char *plain, bool *json)
{
    bool j = !strcmp(arg, "json");
    if (!j && strcmp(arg, plain))
        return -1;
    if (json)
        *json = j;
    return 0;
}

static void usage(FILE *f)
{
    fputs("usage: vpcictl [--help] [--version] layout|host|vmm VERB ...\n"
          "       vpcictl [--connect unix:PATH|http://HOST:PORT] "
          "[--token-file FILE]\n"
          "               [-o table|json] devices|types|compat|attach|detach|\n"
          "               attachments|migrate ...\n"
          "\n"
          "offline commands:\n"
          "  layout VERB ...           offline work on vpci-layout files and "
          "lspci dumps\n"
          "                            (lint, fmt, hash, diff, render, "
          "derive,\n"
          "                            common, place)\n"
          "  host VERB ...             this host's PCI functions (scan, "
          "snapshot)\n"
          "  vmm qemu|libvirt FILE     QEMU -device arguments or libvirt "
          "<hostdev> for a\n"
          "                            resolved layout, with a fidelity "
          "report\n"
          "\n"
          "answered by vpcid (REST API):\n",
          f);
    vpcictl_remote_help(f, false);
    fputs("\n"
          "Exit status: 0 ok, 1 failure, 2 usage error.  'vpcictl layout "
          "--help' and\n"
          "'vpcictl host --help' list the offline verbs; vpcictl(1) and "
          "vpci-layout(5)\n"
          "describe them.\n",
          f);
}

int main(int argc, char **argv)
{
    struct vpcictl_remote_opts ro = {0};
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return EXIT_OK;
        }
        if (!strcmp(a, "--version")) {
            printf("vpcictl %s (vpci-layout format %d)\n", PACKAGE_VERSION,
                   VPCI_FORMAT_VERSION);
            return EXIT_OK;
        }
        int r = vpcictl_remote_option(&ro, argc, argv, &i);
        if (r < 0)
            return EXIT_USAGE;
        if (r == 0) {
            fprintf(stderr, "vpcictl: unknown option '%s'\n", a);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[i];
    if (vpcictl_is_remote_verb(cmd))
        return vpcictl_cmd_remote(&ro, argc - i, argv + i);
    if (!strcmp(cmd, "layout") || !strcmp(cmd, "host") || !strcmp(cmd, "vmm")) {
        if (ro.connect || ro.token_file || ro.output) {
            fprintf(stderr, "vpcictl: --connect, --token-file and -o before "
                            "the command go with the REST verbs (devices, "
                            "types, compat, attach, ...)\n");
            return EXIT_USAGE;
        }
        if (!strcmp(cmd, "vmm"))
            return vpcictl_cmd_vmm(argc - i, argv + i);
        return !strcmp(cmd, "layout") ? vpcictl_cmd_layout(argc - i, argv + i)
                                      : vpcictl_cmd_host(argc - i, argv + i);
    }
    fprintf(stderr, "vpcictl: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
