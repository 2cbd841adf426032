/* SPDX-License-Identifier: BSD-2-Clause */
/* vpcictl: command-line front end; each command group has its own file. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "vpci.h"
#include "vpcictl.h"

static void usage(FILE *f)
{
    fputs("usage: vpcictl [--help] [--version] COMMAND ...\n"
          "\n"
          "commands:\n"
          "  layout VERB ...   offline work on vpci-layout files and lspci "
          "dumps\n"
          "                    (lint, fmt, hash, diff, render, derive)\n"
          "  host VERB ...     this host's PCI functions (scan)\n"
          "\n"
          "'vpcictl layout --help' lists the verbs; vpcictl(1) and "
          "vpci-layout(5)\n"
          "describe them.\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("vpcictl %s (vpci-layout format %d)\n", PACKAGE_VERSION,
               VPCI_FORMAT_VERSION);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "layout"))
        return vpcictl_cmd_layout(argc - 1, argv + 1);
    if (!strcmp(argv[1], "host"))
        return vpcictl_cmd_host(argc - 1, argv + 1);
    fprintf(stderr, "vpcictl: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
