/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Schema and numbered migrations.  migrations[i] takes a database from
 * user_version i to i + 1; each step runs in its own BEGIN IMMEDIATE
 * transaction together with the user_version update, so a crash leaves the
 * database at a numbered state and a concurrent opener waits, then sees the
 * step done.
 *
 * The rules that make published content permanent live in the schema, not
 * only in store.c, so that a sqlite3 shell or a future bug cannot break
 * them: triggers refuse any UPDATE of a version's identity or text, any
 * state change but published -> deprecated, any DELETE of a version, type
 * or audit row, and any INSERT that would replace an existing row (INSERT
 * OR REPLACE deletes without firing DELETE triggers).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "schema.h"

/* clang-format off */ /* SQL laid out by hand */
/* Seconds, UTC: what store.c writes with strftime('%Y-%m-%dT%H:%M:%SZ'). */
#define TIME_GLOB                                                              \
    "'[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T"                             \
    "[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z'"
/* A text of 1..max bytes, no NUL inside (length() stops at a NUL). */
#define TEXT_CHECK(col, max)                                                   \
    "typeof(" col ") = 'text' AND length(CAST(" col " AS BLOB)) BETWEEN 1 "    \
    "AND " #max " AND instr(CAST(" col " AS BLOB), x'00') = 0"
#define HASH_CHECK(col)                                                        \
    "typeof(" col ") = 'text' AND length(CAST(" col " AS BLOB)) = 71 AND " col \
    " GLOB 'sha256:*' AND substr(" col ", 8) NOT GLOB '*[^0-9a-f]*'"

static const char migration_1[] =
    /* Names: [a-z0-9][a-z0-9._-]{0,62}, ASCII only (characters == bytes),
     * no NUL. */
    "CREATE TABLE instance_types ("
    " name TEXT NOT NULL PRIMARY KEY CHECK ("
    "  typeof(name) = 'text'"
    "  AND length(CAST(name AS BLOB)) BETWEEN 1 AND 63"
    "  AND length(name) = length(CAST(name AS BLOB))"
    "  AND name GLOB '[a-z0-9]*'"
    "  AND name NOT GLOB '*[^a-z0-9._-]*'),"
    " description TEXT NOT NULL DEFAULT '' CHECK ("
    "  typeof(description) = 'text'"
    "  AND length(CAST(description AS BLOB)) <= 1024),"
    " created TEXT NOT NULL CHECK (created GLOB " TIME_GLOB ")"
    ") WITHOUT ROWID;"

    "CREATE TABLE versions ("
    " name TEXT NOT NULL REFERENCES instance_types (name),"
    " version INTEGER NOT NULL CHECK ("
    "  typeof(version) = 'integer' AND version BETWEEN 1 AND 4294967295),"
    " layout TEXT NOT NULL CHECK (" TEXT_CHECK("layout", 1048576) "),"
    " hash TEXT NOT NULL CHECK (" HASH_CHECK("hash") "),"
    " fingerprint TEXT NOT NULL CHECK (" HASH_CHECK("fingerprint") "),"
    " created TEXT NOT NULL CHECK (created GLOB " TIME_GLOB "),"
    " state TEXT NOT NULL CHECK (state IN ('published', 'deprecated')),"
    " PRIMARY KEY (name, version),"
    " UNIQUE (name, hash)"
    ") WITHOUT ROWID;"

    "CREATE TABLE inventory ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " scanned TEXT NOT NULL CHECK (scanned GLOB " TIME_GLOB "),"
    " data TEXT NOT NULL CHECK (typeof(data) = 'text' AND json_valid(data))"
    ");"

    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time TEXT NOT NULL CHECK (time GLOB " TIME_GLOB "),"
    " actor TEXT NOT NULL CHECK (" TEXT_CHECK("actor", 128) "),"
    " action TEXT NOT NULL CHECK (" TEXT_CHECK("action", 64) "),"
    " object TEXT NOT NULL CHECK (" TEXT_CHECK("object", 256) "),"
    " detail TEXT NOT NULL CHECK ("
    "  typeof(detail) = 'text' AND length(CAST(detail AS BLOB)) <= 65536"
    "  AND json_valid(detail))"
    ");"

    "CREATE TRIGGER instance_types_insert BEFORE INSERT ON instance_types"
    " WHEN EXISTS (SELECT 1 FROM instance_types WHERE name = NEW.name)"
    " BEGIN SELECT RAISE(ABORT, 'instance type exists'); END;"
    "CREATE TRIGGER instance_types_immutable"
    " BEFORE UPDATE OF name, created ON instance_types"
    " BEGIN SELECT RAISE(ABORT,"
    "  'an instance type''s name and creation time never change'); END;"
    "CREATE TRIGGER instance_types_no_delete BEFORE DELETE ON instance_types"
    " BEGIN SELECT RAISE(ABORT, 'instance types are never deleted'); END;"

    /* Also holds when foreign_keys is off on some other connection. */
    "CREATE TRIGGER versions_insert BEFORE INSERT ON versions"
    " WHEN NOT EXISTS (SELECT 1 FROM instance_types WHERE name = NEW.name)"
    "  OR NEW.state IS NOT 'published'"
    "  OR NEW.version IS NOT (SELECT coalesce(max(version), 0) + 1"
    "                         FROM versions WHERE name = NEW.name)"
    "  OR EXISTS (SELECT 1 FROM versions"
    "             WHERE name = NEW.name AND hash = NEW.hash)"
    " BEGIN SELECT RAISE(ABORT, 'a new version must be the next number of an"
    " existing type, published, with content no other version has'); END;"
    "CREATE TRIGGER versions_immutable"
    " BEFORE UPDATE OF name, version, layout, hash, fingerprint, created"
    " ON versions"
    " BEGIN SELECT RAISE(ABORT, 'published versions are immutable'); END;"
    "CREATE TRIGGER versions_state BEFORE UPDATE OF state ON versions"
    " WHEN NOT (OLD.state = 'published' AND NEW.state = 'deprecated')"
    " BEGIN SELECT RAISE(ABORT,"
    "  'a version''s state only goes from published to deprecated'); END;"
    "CREATE TRIGGER versions_no_delete BEFORE DELETE ON versions"
    " BEGIN SELECT RAISE(ABORT, 'versions are never deleted'); END;"

    "CREATE TRIGGER audit_insert BEFORE INSERT ON audit"
    " WHEN EXISTS (SELECT 1 FROM audit WHERE id = NEW.id)"
    " BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;";

/* [A-Za-z0-9][A-Za-z0-9._-]{0,127}: VM names and request ids. */
#define VM_CHECK(col)                                                          \
    "typeof(" col ") = 'text' AND length(CAST(" col " AS BLOB)) BETWEEN 1 "    \
    "AND 128 AND length(" col ") = length(CAST(" col " AS BLOB)) AND " col     \
    " GLOB '[A-Za-z0-9]*' AND " col " NOT GLOB '*[^A-Za-z0-9._-]*'"
#define HEX4 "[0-9a-f][0-9a-f][0-9a-f][0-9a-f]"
/* Lowercase UUID text, 8-4-4-4-12. */
#define UUID_GLOB                                                              \
    "'" HEX4 HEX4 "-" HEX4 "-" HEX4 "-" HEX4 "-" HEX4 HEX4 HEX4 "'"

/*
 * Version 2: attachments, and imported versions.
 *
 * A version imported by a migration keeps the number it has on the source
 * host, so it may leave a gap; versions.origin says which rule a new row
 * follows ('local': the next number, as before; 'import': any free
 * number).  Every row already there was published here.
 *
 * An attachment row holds one function (bdf UNIQUE) for one VM; ending it
 * deletes the row.  What it holds never changes: only state moves
 * (incoming -> active, active -> migrating, migrating -> active) and
 * expires goes with it (set only while incoming).  The row must name an
 * existing version and carry that version's hash and fingerprint.
 */
static const char migration_2[] =
    "ALTER TABLE versions ADD COLUMN origin TEXT NOT NULL DEFAULT 'local'"
    " CHECK (origin IN ('local', 'import'));"

    "DROP TRIGGER versions_insert;"
    "CREATE TRIGGER versions_insert BEFORE INSERT ON versions"
    " WHEN NOT EXISTS (SELECT 1 FROM instance_types WHERE name = NEW.name)"
    "  OR NEW.state IS NOT 'published'"
    "  OR (NEW.origin IS 'local' AND NEW.version IS NOT"
    "      (SELECT coalesce(max(version), 0) + 1"
    "       FROM versions WHERE name = NEW.name))"
    "  OR EXISTS (SELECT 1 FROM versions"
    "             WHERE name = NEW.name AND version = NEW.version)"
    "  OR EXISTS (SELECT 1 FROM versions"
    "             WHERE name = NEW.name AND hash = NEW.hash)"
    " BEGIN SELECT RAISE(ABORT, 'a new version must be the next number of an"
    " existing type (or a free number if imported), published, with content"
    " no other version has'); END;"
    "DROP TRIGGER versions_immutable;"
    "CREATE TRIGGER versions_immutable"
    " BEFORE UPDATE OF name, version, layout, hash, fingerprint, created,"
    " origin ON versions"
    " BEGIN SELECT RAISE(ABORT, 'published versions are immutable'); END;"

    "CREATE TABLE attachments ("
    " id TEXT NOT NULL PRIMARY KEY CHECK ("
    "  typeof(id) = 'text' AND id GLOB " UUID_GLOB "),"
    " vm TEXT NOT NULL CHECK (" VM_CHECK("vm") "),"
    " bdf TEXT NOT NULL UNIQUE CHECK ("
    "  typeof(bdf) = 'text' AND length(CAST(bdf AS BLOB)) BETWEEN 1 AND 20"
    "  AND bdf NOT GLOB '*[^0-9a-f:.]*'),"
    " instance_type TEXT NOT NULL,"
    " version INTEGER NOT NULL CHECK (typeof(version) = 'integer'),"
    " hash TEXT NOT NULL CHECK (" HASH_CHECK("hash") "),"
    " fingerprint TEXT NOT NULL CHECK (" HASH_CHECK("fingerprint") "),"
    " path TEXT NOT NULL CHECK (" TEXT_CHECK("path", 4095) "),"
    " layout TEXT NOT NULL CHECK (" TEXT_CHECK("layout", 2097152) "),"
    " state TEXT NOT NULL CHECK (state IN ('active', 'incoming', 'migrating')),"
    " created TEXT NOT NULL CHECK (created GLOB " TIME_GLOB "),"
    " expires TEXT CHECK ("
    "  (state = 'incoming') = (expires IS NOT NULL)"
    "  AND (expires IS NULL OR expires GLOB " TIME_GLOB ")),"
    " request_id TEXT UNIQUE CHECK ("
    "  request_id IS NULL OR (" VM_CHECK("request_id") ")),"
    " FOREIGN KEY (instance_type, version) REFERENCES versions (name, version)"
    ") WITHOUT ROWID;"

    /* Also refuses INSERT OR REPLACE, which would free a held function
     * without a DELETE trigger or an audit row. */
    "CREATE TRIGGER attachments_insert BEFORE INSERT ON attachments"
    " WHEN EXISTS (SELECT 1 FROM attachments"
    "              WHERE id = NEW.id OR bdf = NEW.bdf"
    "              OR request_id = NEW.request_id)"
    "  OR NOT EXISTS (SELECT 1 FROM versions"
    "                 WHERE name = NEW.instance_type"
    "                 AND version = NEW.version AND hash = NEW.hash"
    "                 AND fingerprint = NEW.fingerprint)"
    " BEGIN SELECT RAISE(ABORT, 'an attachment holds a free function with a"
    " new id and request id, for an existing version''s hash and"
    " fingerprint'); END;"
    "CREATE TRIGGER attachments_immutable"
    " BEFORE UPDATE OF id, vm, bdf, instance_type, version, hash, fingerprint,"
    " path, layout, created, request_id ON attachments"
    " BEGIN SELECT RAISE(ABORT, 'only an attachment''s state changes'); END;"
    "CREATE TRIGGER attachments_state"
    " BEFORE UPDATE OF state, expires ON attachments"
    " WHEN NOT ((OLD.state = 'incoming' AND NEW.state = 'active')"
    "  OR (OLD.state = 'active' AND NEW.state = 'migrating')"
    "  OR (OLD.state = 'migrating' AND NEW.state = 'active'))"
    " BEGIN SELECT RAISE(ABORT, 'an attachment''s state only goes incoming ->"
    " active, active -> migrating or migrating -> active'); END;";

/* clang-format on */

static const char *const migrations[] = {
    migration_1,
    migration_2,
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
                   STORE_SCHEMA_VERSION,
               "one migration step per schema version");

void store_err_set(struct store_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    err->line = 0;
    err->col = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

int store_err_sqlite(struct store_error *err, sqlite3 *db, int rc,
                     const char *what)
{
    int e;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        e = -EBUSY;
        break;
    case SQLITE_NOMEM:
        e = -ENOMEM;
        break;
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
        e = -EINVAL;
        break;
    case SQLITE_READONLY:
        e = -EROFS;
        break;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        e = -EACCES;
        break;
    default:
        e = -EIO;
        break;
    }
    store_err_set(err, "%s: %s", what,
                  db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    return e;
}

static int exec(sqlite3 *db, const char *sql, const char *what,
                struct store_error *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        return 0;
    int e = store_err_sqlite(err, db, rc, what);
    if (msg)
        store_err_set(err, "%s: %s", what, msg);
    sqlite3_free(msg);
    return e;
}

static int pragma_int(sqlite3 *db, const char *sql, long long *ret,
                      struct store_error *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return store_err_sqlite(err, db, rc, sql);
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        int e = store_err_sqlite(err, db, rc == SQLITE_DONE ? SQLITE_ERROR : rc,
                                 sql);
        sqlite3_finalize(s);
        return e;
    }
    *ret = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return 0;
}

static void rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

/* One step, or none if the database is already current.  Returns 1 when a
 * step was applied, 0 when current. */
static int migrate_step(sqlite3 *db, long long target, struct store_error *err)
{
    long long uv, app, nobjects;
    int r = exec(db, "BEGIN IMMEDIATE", "begin migration", err);
    if (r < 0)
        return r;
    if ((r = pragma_int(db, "PRAGMA user_version", &uv, err)) < 0 ||
        (r = pragma_int(db, "PRAGMA application_id", &app, err)) < 0 ||
        (r = pragma_int(db, "SELECT count(*) FROM sqlite_schema", &nobjects,
                        err)) < 0)
        goto fail;
    if (uv > STORE_SCHEMA_VERSION || uv < 0) {
        store_err_set(err,
                      "database schema version %lld is newer than this vpcid "
                      "knows (%d): refusing to open it",
                      uv, STORE_SCHEMA_VERSION);
        r = -EPROTONOSUPPORT;
        goto fail;
    }
    /* An empty file, or one of ours: never migrate someone else's tables. */
    if (uv == 0 ? (nobjects != 0 || (app != 0 && app != STORE_APPLICATION_ID))
                : app != STORE_APPLICATION_ID) {
        store_err_set(err,
                      "not a vpcid database (application_id %#llx, "
                      "user_version %lld, %lld schema objects)",
                      (unsigned long long)app, uv, nobjects);
        r = -EINVAL;
        goto fail;
    }
    if (uv >= target) {
        rollback(db);
        return 0;
    }
    char what[64], sql[96];
    snprintf(what, sizeof(what), "migration %lld -> %lld", uv, uv + 1);
    if ((r = exec(db, migrations[uv], what, err)) < 0)
        goto fail;
    /* Numbers from this file only: PRAGMA takes no bound parameters. */
    snprintf(sql, sizeof(sql),
             "PRAGMA user_version = %lld; "
             "PRAGMA application_id = %d",
             uv + 1, STORE_APPLICATION_ID);
    if ((r = exec(db, sql, what, err)) < 0)
        goto fail;
    if ((r = exec(db, "COMMIT", what, err)) < 0)
        goto fail;
    return 1;
fail:
    rollback(db);
    return r;
}

int store_schema_migrate_to(sqlite3 *db, int target, struct store_error *err)
{
    if (target < 1 || target > STORE_SCHEMA_VERSION) {
        store_err_set(err, "no schema version %d", target);
        return -EINVAL;
    }
    for (int i = 0; i <= target; i++) {
        int r = migrate_step(db, target, err);
        if (r <= 0)
            return r;
    }
    store_err_set(err, "schema migration did not converge");
    return -EIO;
}

int store_schema_migrate(sqlite3 *db, struct store_error *err)
{
    return store_schema_migrate_to(db, STORE_SCHEMA_VERSION, err);
}
