/* SPDX-License-Identifier: BSD-2-Clause */
/* The REST client of vpcictl (libcurl).  Not written yet. */
#ifndef VPCICTL_CLIENT_H
#define VPCICTL_CLIENT_H
#endif
