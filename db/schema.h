/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal to db/: schema migrations and error helpers shared by store.c. */
#ifndef VPCID_SCHEMA_H
#define VPCID_SCHEMA_H

#include <sqlite3.h>

#include "store.h"

/* PRAGMA application_id of a vpcid database ("vpci"). */
#define STORE_APPLICATION_ID 0x76706369

/* Bring db to STORE_SCHEMA_VERSION, one BEGIN IMMEDIATE transaction per
 * step.  -EPROTONOSUPPORT if the database is newer, -EINVAL if it is some
 * other application's database. */
int store_schema_migrate(sqlite3 *db, struct store_error *err);

/* The same up to schema version target (1..STORE_SCHEMA_VERSION) only: lets
 * the tests build an old database and check that it upgrades.  A database
 * already at or past target is left as it is (but a newer one than this
 * code knows is still refused). */
int store_schema_migrate_to(sqlite3 *db, int target, struct store_error *err);

/* Fill err (if non-NULL) with no position. */
void store_err_set(struct store_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Map a SQLite result code to -errno and fill err with what and SQLite's
 * message for db. */
int store_err_sqlite(struct store_error *err, sqlite3 *db, int rc,
                     const char *what);

#endif /* VPCID_SCHEMA_H */
