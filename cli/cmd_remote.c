/* SPDX-License-Identifier: BSD-2-Clause */
#include "client.h"
typedef int vpcictl_remote_unused;
