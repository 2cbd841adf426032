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
          "       vpcictl [--connect unix:PATH|http://HOST:PORT] "
          "[--token-file FILE]\n"
          "               [-o table|json] VERB ...\n"
          "\n"
          "offline commands:\n"
          "  layout VERB ...   offline work on vpci-layout files and lspci "
          "dumps\n"
          "                    (lint, fmt, hash, diff, render, derive)\n"
          "  host VERB ...     this host's PCI functions (scan)\n"
          "\n"
          "verbs answered by vpcid (REST API):\n"
          "  devices [BDF]                 the host's PCI functions, or one "
          "in detail\n"
          "  types                         the instance types\n"
          "  types show NAME[@N]           one type and its versions, or the "
          "layout\n"
          "                                text of version N (a number or "
          "'latest')\n"
          "  types publish NAME FILE [--description TEXT]\n"
          "                                create NAME (version 1) or "
          "publish FILE as\n"
          "                                its next version; FILE '-' is "
          "standard input\n"
          "  types deprecate NAME@N        mark a version deprecated\n"
          "\n"
          "  --connect     unix:PATH or http://HOST:PORT (default "
          "$VPCID_CONNECT,\n"
          "                else unix:/run/vpcid/vpcid.sock)\n"
          "  --token-file  bearer token for http:// (default "
          "$VPCID_TOKEN_FILE)\n"
          "  -o json       print the API's JSON instead of a table\n"
          "\n"
          "Exit status: 0 ok, 1 failure, 2 usage error.\n"
          "'vpcictl layout --help', 'vpcictl host --help' and "
          "'vpcictl types --help'\n"
          "list the verbs; vpcictl(1) and vpci-layout(5) describe them.\n",
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
    if (!strcmp(cmd, "layout") || !strcmp(cmd, "host")) {
        if (ro.connect || ro.token_file || ro.output) {
            fprintf(stderr, "vpcictl: --connect, --token-file and -o before "
                            "the command go with the REST verbs (devices, "
                            "types)\n");
            return EXIT_USAGE;
        }
        return !strcmp(cmd, "layout") ? vpcictl_cmd_layout(argc - i, argv + i)
                                      : vpcictl_cmd_host(argc - i, argv + i);
    }
    fprintf(stderr, "vpcictl: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
