/* SPDX-License-Identifier: BSD-2-Clause */
/* placeholder: being written */
#include "vpcictl.h"

int vpcictl_layout_common(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "vpcictl layout common: not built yet\n");
    return EXIT_USAGE;
}
