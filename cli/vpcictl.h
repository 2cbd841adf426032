/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef VPCICTL_H
#define VPCICTL_H

#include <stddef.h>

/* Exit codes (vpcictl(1)). */
#define EXIT_OK 0
#define EXIT_INVALID 1
#define EXIT_USAGE 2

/* Read a whole file ("-" = stdin), NUL-terminated; NULL and a message on
 * stderr on failure. */
char *vpcictl_read_file(const char *path, size_t *ret_len);
/* Write atomically (temp file + rename); 0 or -errno. */
int vpcictl_write_file(const char *path, const char *data, size_t len);

int vpcictl_cmd_layout(int argc, char **argv);
int vpcictl_cmd_host(int argc, char **argv);

struct inv_host;
/* Scan the host's (or a fixture tree's) PCI functions, printing host-level
 * warnings; 0 or -errno (message printed). */
int vpcictl_host_scan(const char *sysfs, struct inv_host **ret);

#endif
