/* SPDX-License-Identifier: BSD-2-Clause */
/* placeholder: being written */
#include "vpcictl.h"

int vpcictl_cmd_vmm(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "vpcictl vmm: not built yet\n");
    return EXIT_USAGE;
}
