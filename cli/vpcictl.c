/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdio.h>
#include <string.h>

#include "vpcictl.h"

static void usage(FILE *f)
{
    fputs("usage: vpcictl layout VERB ...\n", f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "layout"))
        return vpcictl_cmd_layout(argc - 1, argv + 1);
    usage(stderr);
    return EXIT_USAGE;
}
