/* SPDX-License-Identifier: BSD-2-Clause */
#include "vpcictl.h"

int vpcictl_cmd_layout(int argc, char **argv)
{
    return EXIT_USAGE;
}
