/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A fixture sysfs tree for a Check suite: made in the setup of each test,
 * filled with functions from the real dumps in tests/fixtures, removed in
 * the teardown (sb_destroy).
 */
#ifndef VPCID_SYSFS_FIXTURE_H
#define VPCID_SYSFS_FIXTURE_H

#include <stddef.h>

#include "sysfs_builder.h"

/* mkdtemp /tmp/vpcid-NAME-XXXXXX into root (size bytes), make it an empty
 * sysfs tree and point VPCID_MIGRATION_DRIVERS at the project's list. */
void sf_setup(char *root, size_t size, const char *name);

/* Add the function of the dump (path relative to tests/fixtures) at bdf;
 * o NULL = sb_opts_init's defaults. */
void sf_add(const char *root, const char *bdf, const char *dump,
            const struct sb_func_opts *o);

#endif
