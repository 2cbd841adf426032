/* SPDX-License-Identifier: BSD-2-Clause */
#include "sysfs_fixture.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

void sf_setup(char *root, size_t size, const char *name)
{
    snprintf(root, size, "/tmp/vpcid-%s-XXXXXX", name);
    ck_assert_ptr_nonnull(mkdtemp(root));
    ck_assert_int_eq(sb_init(root), 0);
    setenv("VPCID_MIGRATION_DRIVERS",
           tu_fixture("../../data/vfio-migration-drivers"), 1);
}

void sf_add(const char *root, const char *bdf, const char *dump,
            const struct sb_func_opts *o)
{
    struct sb_func_opts def;
    if (!o) {
        sb_opts_init(&def);
        o = &def;
    }
    /* tu_fixture's buffer is reused: copy the path out first. */
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s", tu_fixture(dump));
    ck_assert_int_eq(sb_add_dump(root, bdf, path, o), 0);
}
