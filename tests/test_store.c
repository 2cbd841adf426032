/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The SQLite store on real database files in a temporary directory:
 * migrations, reopening, refusing newer schemas, publishing with content
 * dedupe and version numbers, layout errors, name rules in C and in the
 * schema, immutability against direct SQL, the audit log, the inventory
 * and two connections publishing to the same type; attachments (state
 * moves, request ids, expiry, their schema rules, 32 connections racing
 * for 8 devices), imported versions and the upgrade of a version 1 file.
 * Every test ends with PRAGMA integrity_check and foreign_key_check on the
 * file.
 */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "schema.h"
#include "store.h"
#include "testutil.h"

static char dir[64];
static char dbpath[128];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/vpcid-store-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(dbpath, sizeof(dbpath), "%s/vpcid.db", dir);
}

static sqlite3 *raw_open(void)
{
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL),
                     SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

/* The one value sql returns, as text (static buffer); "" for no row. */
static const char *raw_text(sqlite3 *db, const char *sql)
{
    static char out[4096];
    sqlite3_stmt *s = NULL;
    ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK,
                  "%s: %s", sql, sqlite3_errmsg(db));
    int rc = sqlite3_step(s);
    ck_assert_msg(rc == SQLITE_ROW || rc == SQLITE_DONE, "%s: %s", sql,
                  sqlite3_errmsg(db));
    const unsigned char *t =
        rc == SQLITE_ROW ? sqlite3_column_text(s, 0) : NULL;
    snprintf(out, sizeof(out), "%s", t ? (const char *)t : "");
    sqlite3_finalize(s);
    return out;
}

static long long raw_int(sqlite3 *db, const char *sql)
{
    return atoll(raw_text(db, sql));
}

static long long file_int(const char *sql)
{
    sqlite3 *db = raw_open();
    long long v = raw_int(db, sql);
    sqlite3_close(db);
    return v;
}

static const char *raw_text_file(const char *sql)
{
    sqlite3 *db = raw_open();
    const char *t = raw_text(db, sql);
    sqlite3_close(db);
    return t;
}

static void teardown(void)
{
    if (access(dbpath, F_OK) == 0) {
        sqlite3 *db = raw_open();
        ck_assert_str_eq(raw_text(db, "PRAGMA integrity_check"), "ok");
        ck_assert_str_eq(raw_text(db, "PRAGMA foreign_key_check"), "");
        sqlite3_close(db);
    }
    char p[192];
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s%s", dbpath, suffix[i]);
        unlink(p);
    }
    rmdir(dir);
}

static struct store *open_store(void)
{
    struct store *st = NULL;
    struct store_error err = {0};
    int r = store_open(dbpath, &st, &err);
    ck_assert_msg(r == 0, "store_open: %d %s", r, err.msg);
    return st;
}

static char *fixture(const char *name, size_t *len)
{
    char rel[128];
    snprintf(rel, sizeof(rel), "layouts/%s", name);
    return tu_read(tu_fixture(rel), len);
}

/* The text a layout is stored as: canonical, without binding. */
static char *stored_form(const char *name, char hash[VPCI_HASH_STRLEN],
                         char fp[VPCI_HASH_STRLEN])
{
    char rel[128];
    snprintf(rel, sizeof(rel), "layouts/%s", name);
    struct vpci_layout *l = tu_layout(rel);
    char *text = NULL;
    size_t len;
    ck_assert_int_eq(vpci_layout_format_unbound(l, &text, &len), 0);
    if (hash)
        ck_assert_int_eq(vpci_layout_hash(l, hash), 0);
    if (fp)
        ck_assert_int_eq(vpci_layout_fingerprint(l, fp), 0);
    vpci_layout_free(l);
    return text;
}

static void create(struct store *st, const char *name, const char *file,
                   struct store_version *v)
{
    size_t len;
    char *text = fixture(file, &len);
    struct store_error err = {0};
    int r =
        store_create_type(st, "alice", name, "a test type", text, len, v, &err);
    ck_assert_msg(r == 0, "create %s: %d %s", name, r, err.msg);
    free(text);
}

/* Publish a fixture; returns the version number, *created as reported. */
static unsigned publish(struct store *st, const char *name, const char *file,
                        bool *created)
{
    size_t len;
    char *text = fixture(file, &len);
    struct store_version v = {0};
    struct store_error err = {0};
    bool c = false;
    int r = store_publish(st, "bob", name, text, len, &v, &c, &err);
    ck_assert_msg(r == 0, "publish %s: %d %s", file, r, err.msg);
    free(text);
    *created = c;
    unsigned n = v.version;
    store_version_clear(&v);
    return n;
}

static const char minimal_tpl[] = "vpci-layout 1\nspace 256\n\nheader type0\n"
                                  "  0x00 u16 vendor_id 0x1af4\n"
                                  "  0x02 u16 device_id 0x%04x\n"
                                  "  0x0e u8 header_type 0x00\n";

/* ------------------------------------------------------------ schema */

START_TEST(test_migrate_empty)
{
    struct store *st = open_store();
    struct store_type *t = (void *)1;
    size_t n = 99;
    struct store_error err = {0};
    ck_assert_int_eq(store_list_types(st, &t, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(t);
    store_close(st);

    sqlite3 *db = raw_open();
    ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    ck_assert_int_eq(raw_int(db, "PRAGMA application_id"), 0x76706369);
    ck_assert_str_eq(raw_text(db, "PRAGMA journal_mode"), "wal");
    ck_assert_str_eq(raw_text(db, "SELECT group_concat(name, ',') FROM"
                                  " (SELECT name FROM sqlite_schema WHERE"
                                  " type = 'table' ORDER BY name)"),
                     "attachments,audit,instance_types,inventory,"
                     "sqlite_sequence,versions");
    ck_assert_str_eq(
        raw_text(db, "SELECT group_concat(name, ',') FROM"
                     " (SELECT name FROM sqlite_schema WHERE"
                     " type = 'trigger' ORDER BY name)"),
        "attachments_immutable,attachments_insert,attachments_state,"
        "audit_insert,audit_no_delete,audit_no_update,instance_types_immutable,"
        "instance_types_insert,instance_types_no_delete,versions_immutable,"
        "versions_insert,versions_no_delete,versions_state");
    sqlite3_close(db);

    /* Opening again migrates nothing. */
    st = open_store();
    store_close(st);
    ck_assert_int_eq(file_int("PRAGMA user_version"), STORE_SCHEMA_VERSION);
}
END_TEST

START_TEST(test_reopen_keeps_everything)
{
    struct store *st = open_store();
    struct store_version v1 = {0};
    create(st, "cx6", "example.vpci", &v1);
    bool created = false;
    ck_assert_uint_eq(publish(st, "cx6", "bytes.vpci", &created), 2);
    ck_assert(created);
    ck_assert_int_eq(store_deprecate(st, "carol", "cx6", 1, NULL), 0);
    const char inv[] = "{\"devices\":[{\"bdf\":\"0000:3b:00.1\"}]}";
    ck_assert_int_eq(store_save_inventory(st, inv, strlen(inv), NULL), 0);
    store_close(st);

    st = open_store();
    struct store_version v = {0};
    struct store_error err = {0};
    ck_assert_int_eq(store_get_version(st, "cx6", 1, &v, &err), 0);
    ck_assert_str_eq(v.name, "cx6");
    ck_assert_uint_eq(v.version, 1);
    ck_assert_str_eq(v.hash, v1.hash);
    ck_assert_str_eq(v.fingerprint, v1.fingerprint);
    ck_assert_str_eq(v.created, v1.created);
    ck_assert_int_eq(v.state, STORE_DEPRECATED);
    ck_assert_str_eq(v.layout, v1.layout);
    ck_assert_uint_eq(v.layout_len, v1.layout_len);
    store_version_clear(&v);
    ck_assert_int_eq(store_get_version(st, "cx6", 0, &v, &err), 0);
    ck_assert_uint_eq(v.version, 2);
    ck_assert_int_eq(v.state, STORE_PUBLISHED);
    store_version_clear(&v);

    struct store_type *t = NULL;
    size_t n = 0;
    ck_assert_int_eq(store_list_types(st, &t, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(t[0].name, "cx6");
    ck_assert_str_eq(t[0].description, "a test type");
    ck_assert_str_eq(t[0].created, v1.created);
    ck_assert_uint_eq(t[0].latest, 2);
    store_types_free(t, n);

    char *json = NULL;
    size_t len = 0;
    char when[STORE_TIME_LEN];
    ck_assert_int_eq(store_load_inventory(st, &json, &len, when, &err), 0);
    ck_assert_str_eq(json, inv);
    ck_assert_uint_eq(len, strlen(inv));
    free(json);
    store_close(st);
    store_version_clear(&v1);
}
END_TEST

START_TEST(test_newer_schema_refused)
{
    store_close(open_store());
    sqlite3 *db = raw_open();
    ck_assert_int_eq(
        sqlite3_exec(db, "PRAGMA user_version = 3", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);

    struct store *st = (void *)1;
    struct store_error err = {0};
    ck_assert_int_eq(store_open(dbpath, &st, &err), -EPROTONOSUPPORT);
    ck_assert_ptr_eq(st, (void *)1);
    ck_assert_str_eq(err.msg, "database schema version 3 is newer than this "
                              "vpcid knows (2): refusing to open it");
    ck_assert_int_eq(file_int("PRAGMA user_version"), 3);
    /* Back to 2 so that the teardown's checks see our schema. */
    db = raw_open();
    sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL);
    sqlite3_close(db);
}
END_TEST

START_TEST(test_foreign_database_refused)
{
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    ck_assert_int_eq(
        sqlite3_exec(db, "CREATE TABLE other (x)", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    struct store *st = NULL;
    struct store_error err = {0};
    ck_assert_int_eq(store_open(dbpath, &st, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "not a vpcid database (application_id 0, "
                              "user_version 0, 1 schema objects)");
    ck_assert_int_eq(file_int("SELECT count(*) FROM sqlite_schema"), 1);

    /* Not an SQLite file at all. */
    unlink(dbpath);
    FILE *f = fopen(dbpath, "w");
    ck_assert_ptr_nonnull(f);
    fputs("vpci-layout 1\nthis is not a database, but it is long enough to "
          "have a header that SQLite reads and rejects...................\n",
          f);
    fclose(f);
    ck_assert_int_lt(store_open(dbpath, &st, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "not a database"));
    unlink(dbpath);
}
END_TEST

/* ------------------------------------------------------------ publishing */

START_TEST(test_create_publish_dedupe)
{
    struct store *st = open_store();
    char hash[VPCI_HASH_STRLEN], fp[VPCI_HASH_STRLEN];
    char *canon = stored_form("example.vpci", hash, fp);
    struct store_version v = {0};
    create(st, "cx6dx-vf-std", "example.vpci", &v);
    ck_assert_str_eq(v.name, "cx6dx-vf-std");
    ck_assert_uint_eq(v.version, 1);
    ck_assert_str_eq(v.hash,
                     "sha256:10eb1ca70841afaacf8d5596e041ef78911afc30a0ebd6dc"
                     "18836f6a02cc792a");
    ck_assert_str_eq(v.hash, hash);
    ck_assert_str_eq(v.fingerprint, fp);
    ck_assert_int_eq(v.state, STORE_PUBLISHED);
    ck_assert_str_eq(v.layout, canon);
    ck_assert_uint_eq(v.layout_len, strlen(canon));
    ck_assert_ptr_null(strstr(v.layout, "binding"));
    ck_assert_uint_eq(strlen(v.created), STORE_TIME_LEN - 1);
    ck_assert_int_eq(v.created[10], 'T');
    ck_assert_int_eq(v.created[19], 'Z');
    /* The stored text is exactly what the hash covers. */
    char rehash[VPCI_HASH_STRLEN];
    ck_assert_int_eq(vpci_sha256_hex(v.layout, v.layout_len, rehash), 0);
    ck_assert_str_eq(rehash, v.hash);

    /* The messy twin, the canonical file and the text with its binding
     * dropped are the same content: version 1, not created. */
    const char *same[] = {"messy.vpci", "example.canon", "example.vpci"};
    for (size_t i = 0; i < 3; i++) {
        bool created = true;
        ck_assert_uint_eq(publish(st, "cx6dx-vf-std", same[i], &created), 1);
        ck_assert_msg(!created, "%s created a version", same[i]);
    }
    struct store_version vb = {0};
    bool created = true;
    struct store_error err = {0};
    ck_assert_int_eq(store_publish(st, "bob", "cx6dx-vf-std", canon,
                                   strlen(canon), &vb, &created, &err),
                     0);
    ck_assert(!created);
    ck_assert_str_eq(vb.layout, canon);
    ck_assert_str_eq(vb.created, v.created);
    store_version_clear(&vb);

    struct store_version *vs = NULL;
    size_t n = 0;
    ck_assert_int_eq(store_list_versions(st, "cx6dx-vf-std", &vs, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(vs[0].hash, hash);
    ck_assert_ptr_null(vs[0].layout);
    store_versions_free(vs, n);
    store_close(st);
    ck_assert_int_eq(file_int("SELECT count(*) FROM audit"), 1);
    free(canon);
    store_version_clear(&v);
}
END_TEST

START_TEST(test_version_numbering)
{
    struct store *st = open_store();
    create(st, "t", "minimal.vpci", NULL);
    bool c = false;
    ck_assert_uint_eq(publish(st, "t", "example.vpci", &c), 2);
    ck_assert(c);
    ck_assert_uint_eq(publish(st, "t", "bytes.vpci", &c), 3);
    ck_assert(c);
    ck_assert_uint_eq(publish(st, "t", "minimal.canon", &c), 1);
    ck_assert(!c);
    ck_assert_uint_eq(publish(st, "t", "sections.vpci", &c), 4);
    ck_assert(c);
    ck_assert_uint_eq(publish(st, "t", "bytes.canon", &c), 3);
    ck_assert(!c);

    struct store_version v = {0};
    struct store_error err = {0};
    ck_assert_int_eq(store_get_version(st, "t", 0, &v, &err), 0);
    ck_assert_uint_eq(v.version, 4);
    store_version_clear(&v);
    char *ex = stored_form("example.vpci", NULL, NULL);
    ck_assert_int_eq(store_get_version(st, "t", 2, &v, &err), 0);
    ck_assert_str_eq(v.layout, ex);
    store_version_clear(&v);
    free(ex);
    char *mini = fixture("minimal.canon", NULL);
    ck_assert_int_eq(store_get_version(st, "t", 1, &v, &err), 0);
    ck_assert_str_eq(v.layout, mini);
    store_version_clear(&v);

    ck_assert_int_eq(store_get_version(st, "t", 5, &v, &err), -ENOENT);
    ck_assert_str_eq(err.msg, "no version 5 of instance type 't'");
    ck_assert_int_eq(store_get_version(st, "u", 0, &v, &err), -ENOENT);
    ck_assert_int_eq(store_get_version(st, "u", 1, &v, &err), -ENOENT);
    ck_assert_int_eq(
        store_publish(st, "bob", "u", mini, strlen(mini), &v, &c, &err),
        -ENOENT);
    ck_assert_str_eq(err.msg, "no instance type 'u'");
    struct store_version *vs = NULL;
    size_t n = 0;
    ck_assert_int_eq(store_list_versions(st, "u", &vs, &n, &err), -ENOENT);
    ck_assert_int_eq(
        store_create_type(st, "alice", "t", NULL, mini, strlen(mini), &v, &err),
        -EEXIST);
    ck_assert_str_eq(err.msg, "instance type 't' exists");

    ck_assert_int_eq(store_list_versions(st, "t", &vs, &n, &err), 0);
    ck_assert_uint_eq(n, 4);
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(vs[i].version, i + 1);
        ck_assert_str_eq(vs[i].name, "t");
    }
    store_versions_free(vs, n);
    free(mini);
    store_close(st);
    ck_assert_int_eq(file_int("SELECT count(*) FROM versions"), 4);
    ck_assert_int_eq(file_int("SELECT count(*) FROM audit"), 4);
}
END_TEST

START_TEST(test_invalid_layout)
{
    const char bad[] = "vpci-layout 1\nspace 256\n\nheader type0\n"
                       "  0x00 u16 vendor_id 0x1af4\n"
                       "  0x02 u17 device_id 0x1000\n";
    struct store *st = open_store();
    struct store_version v = {0};
    struct store_error err = {0};
    ck_assert_int_eq(
        store_create_type(st, "alice", "t", NULL, bad, strlen(bad), &v, &err),
        -EINVAL);
    ck_assert_uint_eq(err.line, 6);
    ck_assert_uint_eq(err.col, 8);
    ck_assert_str_eq(err.msg,
                     "6:8: expected a width (u8, u16, u32 or bytes), found "
                     "'u17'");
    struct store_type *t = NULL;
    size_t n = 9;
    ck_assert_int_eq(store_list_types(st, &t, &n, &err), 0);
    ck_assert_uint_eq(n, 0);

    create(st, "t", "minimal.vpci", NULL);
    bool c = true;
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(
        store_publish(st, "bob", "t", bad, strlen(bad), &v, &c, &err), -EINVAL);
    ck_assert_uint_eq(err.line, 6);
    ck_assert_uint_eq(err.col, 8);
    ck_assert(c); /* untouched */
    /* A malformed file of the parser's suite, and no text at all. */
    size_t len;
    char *text = tu_read(tu_fixture("bad/002-empty-file.vpci"), &len);
    ck_assert_int_eq(store_publish(st, "bob", "t", text, len, &v, &c, &err),
                     -EINVAL);
    ck_assert_uint_gt(err.line, 0);
    free(text);
    ck_assert_int_eq(store_publish(st, "bob", "t", NULL, 0, &v, &c, &err),
                     -EINVAL);
    store_close(st);
    ck_assert_int_eq(file_int("SELECT count(*) FROM versions"), 1);
    ck_assert_int_eq(file_int("SELECT count(*) FROM audit"), 1);
}
END_TEST

START_TEST(test_names)
{
    char n63[64], n64[65];
    memset(n63, 'a', 63);
    n63[63] = '\0';
    memset(n64, 'b', 64);
    n64[64] = '\0';
    const char *good[] = {"a", "0", "a.b_c-d", "9-x", n63};
    const char *bad[] = {"",    "A",   "-a",   ".a",  "_a",
                         "a b", "a/b", "a\"b", "a'b", "\xc3\xa9",
                         n64,   "aB",  "a\n",  "a;b", "a%b"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(store_name_valid(good[i]), "'%s' refused", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!store_name_valid(bad[i]), "'%s' accepted", bad[i]);
    ck_assert(!store_name_valid(NULL));

    struct store *st = open_store();
    char *mini = fixture("minimal.vpci", NULL);
    struct store_error err = {0};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_int_eq(store_create_type(st, "alice", bad[i], NULL, mini,
                                           strlen(mini), NULL, &err),
                         -EINVAL);
    ck_assert_str_eq(
        err.msg, "invalid instance type name: need [a-z0-9][a-z0-9._-]{0,62}");
    ck_assert_int_eq(store_create_type(st, "alice", n63, NULL, mini,
                                       strlen(mini), NULL, &err),
                     0);
    /* Bad actors and descriptions. */
    ck_assert_int_eq(
        store_create_type(st, "", "x", NULL, mini, strlen(mini), NULL, &err),
        -EINVAL);
    ck_assert_int_eq(
        store_create_type(st, NULL, "x", NULL, mini, strlen(mini), NULL, &err),
        -EINVAL);
    ck_assert_int_eq(store_create_type(st, "al\x01ice", "x", NULL, mini,
                                       strlen(mini), NULL, &err),
                     -EINVAL);
    ck_assert_int_eq(store_create_type(st, "alice", "x", "bad \xff utf-8", mini,
                                       strlen(mini), NULL, &err),
                     -EINVAL);
    ck_assert_int_eq(store_create_type(st, "alice", "x", "\xc0\xaf", mini,
                                       strlen(mini), NULL, &err),
                     -EINVAL);
    ck_assert_int_eq(store_create_type(st, "\xc3\xa9lise", "x",
                                       "caf\xc3\xa9 \xe2\x82\xac", mini,
                                       strlen(mini), NULL, &err),
                     0);
    store_close(st);
    free(mini);

    /* The schema refuses the same names from any connection. */
    sqlite3 *db = raw_open();
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "INSERT INTO instance_types"
                                        " (name, created) VALUES"
                                        " (?1, '2024-04-30T12:00:00Z')",
                                        -1, &s, NULL),
                     SQLITE_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sqlite3_reset(s);
        sqlite3_bind_text(s, 1, bad[i], -1, SQLITE_STATIC);
        ck_assert_msg(sqlite3_step(s) == SQLITE_CONSTRAINT,
                      "schema accepted '%s'", bad[i]);
    }
    /* A NUL inside: "ab" followed by junk the C API could never pass. */
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, "ab\0Cd", 5, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_CONSTRAINT);
    sqlite3_reset(s);
    sqlite3_bind_blob(s, 1, "ab", 2, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_CONSTRAINT);
    /* The check is not refusing everything. */
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, "a.b_c-d", -1, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM instance_types"), 3);
    sqlite3_close(db);
}
END_TEST

/* ------------------------------------------------------------ immutability */

#define VCOLS " (name, version, layout, hash, fingerprint, created, state)"
#define VCOLS_ORIGIN                                                           \
    " (name, version, layout, hash, fingerprint, created, state, origin)"

START_TEST(test_direct_sql_refused)
{
    struct store *st = open_store();
    create(st, "t", "minimal.vpci", NULL);
    bool c = false;
    ck_assert_uint_eq(publish(st, "t", "example.vpci", &c), 2);
    ck_assert_int_eq(store_deprecate(st, "carol", "t", 2, NULL), 0);
    store_close(st);

    sqlite3 *db = raw_open();
    char before[4096];
    const char *snapshot =
        "SELECT group_concat(name || version || hash ||"
        " fingerprint || created || state || origin || layout, '|')"
        " FROM (SELECT * FROM versions ORDER BY version)";
    snprintf(before, sizeof(before), "%s", raw_text(db, snapshot));
    char audit_before[4096];
    const char *audit_snap = "SELECT group_concat(id || time || actor ||"
                             " action || object || detail, '|') FROM audit";
    snprintf(audit_before, sizeof(audit_before), "%s",
             raw_text(db, audit_snap));
    const char *attempts[] = {
        "UPDATE versions SET layout = 'vpci-layout 1'",
        "UPDATE versions SET layout = layout",
        "DELETE FROM versions",
        "DELETE FROM versions WHERE version = 2",
        "UPDATE versions SET hash = 'sha256:"
        "0000000000000000000000000000000000000000000000000000000000000000'",
        "UPDATE versions SET fingerprint = hash",
        "UPDATE versions SET version = version + 10",
        "UPDATE versions SET name = 'u'",
        "UPDATE versions SET created = '2000-01-01T00:00:00Z'",
        "UPDATE versions SET state = 'published' WHERE version = 2",
        "UPDATE versions SET state = 'deprecated' WHERE version = 2",
        "UPDATE versions SET state = 'gone' WHERE version = 1",
        "INSERT OR REPLACE INTO versions" VCOLS
        " SELECT name, version, 'x', hash,"
        " fingerprint, created, state FROM versions WHERE version = 1",
        "INSERT OR REPLACE INTO versions" VCOLS " SELECT name, 3, layout, hash,"
        " fingerprint, created, 'published' FROM versions WHERE version = 1",
        "INSERT INTO versions" VCOLS " SELECT name, 3, layout || ' ', 'sha256:"
        "1111111111111111111111111111111111111111111111111111111111111111',"
        " fingerprint, created, 'deprecated' FROM versions WHERE version = 1",
        "INSERT INTO versions" VCOLS " SELECT name, 7, layout || ' ', 'sha256:"
        "1111111111111111111111111111111111111111111111111111111111111111',"
        " fingerprint, created, 'published' FROM versions WHERE version = 1",
        "INSERT INTO versions" VCOLS " SELECT 'nosuch', 1, layout, hash,"
        " fingerprint, created, 'published' FROM versions WHERE version = 1",
        "UPDATE versions SET origin = 'import'",
        /* An import may leave a gap, but never takes a number in use. */
        "INSERT OR REPLACE INTO versions" VCOLS_ORIGIN " SELECT name, 1,"
        " layout || ' ', 'sha256:"
        "1111111111111111111111111111111111111111111111111111111111111111',"
        " fingerprint, created, 'published', 'import' FROM versions"
        " WHERE version = 1",
        "INSERT INTO versions" VCOLS_ORIGIN " SELECT name, 9, layout, hash,"
        " fingerprint, created, 'published', 'import' FROM versions"
        " WHERE version = 1",
        "INSERT INTO versions" VCOLS_ORIGIN " SELECT name, 9, layout || ' ',"
        " 'sha256:"
        "1111111111111111111111111111111111111111111111111111111111111111',"
        " fingerprint, created, 'published', 'elsewhere' FROM versions"
        " WHERE version = 1",
        "DELETE FROM instance_types",
        "UPDATE instance_types SET name = 'u'",
        "INSERT OR REPLACE INTO instance_types (name, created)"
        " VALUES ('t', '2024-04-30T12:00:00Z')",
        "DELETE FROM audit",
        "UPDATE audit SET actor = 'mallory'",
        "INSERT OR REPLACE INTO audit (id, time, actor, action, object,"
        " detail) VALUES (1, '2024-04-30T12:00:00Z', 'm', 'x', 'y', '{}')",
        "INSERT INTO audit (time, actor, action, object, detail) VALUES"
        " ('2024-04-30T12:00:00Z', 'm', 'x', 'y', '{not json')",
    };
    for (size_t i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
        char *msg = NULL;
        int rc = sqlite3_exec(db, attempts[i], NULL, NULL, &msg);
        ck_assert_msg(rc == SQLITE_CONSTRAINT, "'%s' gave %d (%s)", attempts[i],
                      rc, msg ? msg : "");
        sqlite3_free(msg);
    }
    /* Text with a NUL inside, which the C API cannot pass either. */
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "INSERT INTO audit (time, actor,"
                                        " action, object, detail) VALUES"
                                        " ('2024-04-30T12:00:00Z', ?1, 'x',"
                                        " 'y', '{}')",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, "ma\0llory", 8, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_CONSTRAINT);
    sqlite3_finalize(s);
    ck_assert_str_eq(raw_text(db, snapshot), before);
    ck_assert_str_eq(raw_text(db, audit_snap), audit_before);
    /* The one change allowed, from any connection. */
    ck_assert_int_eq(sqlite3_exec(db,
                                  "UPDATE versions SET state = 'deprecated'"
                                  " WHERE version = 1",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert_str_eq(raw_text(db, "SELECT group_concat(state, ',') FROM"
                                  " versions"),
                     "deprecated,deprecated");
    sqlite3_close(db);
}
END_TEST

/* ------------------------------------------------------------ audit */

START_TEST(test_audit_and_deprecate)
{
    struct store *st = open_store();
    struct store_version v1 = {0};
    create(st, "t", "minimal.vpci", &v1);
    bool c = false;
    ck_assert_uint_eq(publish(st, "t", "example.vpci", &c), 2);
    ck_assert_uint_eq(publish(st, "t", "messy.vpci", &c), 2);
    ck_assert(!c);
    struct store_error err = {0};
    ck_assert_int_eq(store_deprecate(st, "carol", "t", 1, &err), 0);
    ck_assert_int_eq(store_deprecate(st, "carol", "t", 1, &err), -EALREADY);
    ck_assert_str_eq(err.msg, "version 1 of 't' is already deprecated");
    ck_assert_int_eq(store_deprecate(st, "carol", "t", 3, &err), -ENOENT);
    ck_assert_int_eq(store_deprecate(st, "carol", "t", 0, &err), -EINVAL);
    ck_assert_int_eq(store_deprecate(st, "carol", "u", 1, &err), -ENOENT);

    /* Publishing a deprecated version's content returns it as it is. */
    ck_assert_uint_eq(publish(st, "t", "minimal.canon", &c), 1);
    ck_assert(!c);
    struct store_version v = {0};
    ck_assert_int_eq(store_get_version(st, "t", 1, &v, &err), 0);
    ck_assert_int_eq(v.state, STORE_DEPRECATED);
    ck_assert_str_eq(store_state_name(v.state), "deprecated");
    store_version_clear(&v);

    ck_assert_int_eq(store_audit(st, "dave", "login", "session/1",
                                 "{\"from\":\"127.0.0.1\"}", &err),
                     0);
    ck_assert_int_eq(store_audit(st, "dave", "login", "session/2", NULL, &err),
                     0);
    ck_assert_int_eq(
        store_audit(st, "dave", "login", "session/3", "{oops", &err), -EINVAL);
    ck_assert_int_eq(store_audit(st, "dave", "Log In", "x", NULL, &err),
                     -EINVAL);
    ck_assert_int_eq(store_audit(st, "dave", "login", "", NULL, &err), -EINVAL);
    ck_assert_int_eq(store_audit(st, "", "login", "x", NULL, &err), -EINVAL);
    store_close(st);

    char hash2[VPCI_HASH_STRLEN], fp2[VPCI_HASH_STRLEN];
    free(stored_form("example.vpci", hash2, fp2));
    char expect[2048];
    snprintf(expect, sizeof(expect),
             "1 alice create types/t/versions/1 "
             "{\"version\":1,\"hash\":\"%s\",\"fingerprint\":\"%s\"}\n"
             "2 bob publish types/t/versions/2 "
             "{\"version\":2,\"hash\":\"%s\",\"fingerprint\":\"%s\"}\n"
             "3 carol deprecate types/t/versions/1 {\"version\":1}\n"
             "4 dave login session/1 {\"from\":\"127.0.0.1\"}\n"
             "5 dave login session/2 {}",
             v1.hash, v1.fingerprint, hash2, fp2);
    sqlite3 *db = raw_open();
    ck_assert_str_eq(
        raw_text(db, "SELECT group_concat(id || ' ' || actor || ' ' || action"
                     " || ' ' || object || ' ' || detail, char(10))"
                     " FROM (SELECT * FROM audit ORDER BY id)"),
        expect);
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM audit WHERE time NOT"
                                 " GLOB '20[0-9][0-9]-*T*Z'"),
                     0);
    sqlite3_close(db);
    store_version_clear(&v1);
}
END_TEST

/* ------------------------------------------------------------ inventory */

START_TEST(test_inventory)
{
    struct store *st = open_store();
    char *json = NULL;
    size_t len = 0;
    char when[STORE_TIME_LEN] = "";
    struct store_error err = {0};
    ck_assert_int_eq(store_load_inventory(st, &json, &len, when, &err),
                     -ENOENT);
    const char a[] = "{\"devices\":[]}", b[] = "{\"devices\":[1,2,3]}";
    ck_assert_int_eq(store_save_inventory(st, a, strlen(a), &err), 0);
    ck_assert_int_eq(store_save_inventory(st, b, strlen(b), &err), 0);
    ck_assert_int_eq(store_save_inventory(st, "{\"devices\":", 11, &err),
                     -EINVAL);
    ck_assert_int_eq(store_save_inventory(st, "{}\0{}", 5, &err), -EINVAL);
    ck_assert_int_eq(store_save_inventory(st, "", 0, &err), -EINVAL);
    ck_assert_int_eq(store_load_inventory(st, &json, &len, when, &err), 0);
    ck_assert_str_eq(json, b);
    ck_assert_uint_eq(len, strlen(b));
    ck_assert_uint_eq(strlen(when), STORE_TIME_LEN - 1);
    ck_assert_int_eq(when[10], 'T');
    free(json);
    store_close(st);
    ck_assert_int_eq(file_int("SELECT count(*) FROM inventory"), 1);
    ck_assert_int_eq(file_int("SELECT count(*) FROM audit"), 0);
}
END_TEST

/* ------------------------------------------------------------ concurrency */

START_TEST(test_two_connections)
{
    struct store *a = open_store(), *b = open_store();
    char *mini = fixture("minimal.vpci", NULL);
    char *ex = fixture("example.vpci", NULL);
    struct store_error err = {0};
    ck_assert_int_eq(store_create_type(a, "alice", "t", NULL, mini,
                                       strlen(mini), NULL, &err),
                     0);
    /* b's version of the type is a's; different content from b and a
     * serialise to 1 and 2; the same content from either dedupes. */
    bool c = false;
    ck_assert_uint_eq(publish(b, "t", "example.vpci", &c), 2);
    ck_assert(c);
    ck_assert_uint_eq(publish(a, "t", "bytes.vpci", &c), 3);
    ck_assert(c);
    ck_assert_uint_eq(publish(a, "t", "messy.vpci", &c), 2);
    ck_assert(!c);
    ck_assert_uint_eq(publish(b, "t", "bytes.canon", &c), 3);
    ck_assert(!c);

    struct store_version va = {0}, vb = {0};
    ck_assert_int_eq(store_get_version(a, "t", 0, &va, &err), 0);
    ck_assert_int_eq(store_get_version(b, "t", 0, &vb, &err), 0);
    ck_assert_uint_eq(va.version, 3);
    ck_assert_str_eq(va.hash, vb.hash);
    ck_assert_str_eq(va.layout, vb.layout);
    store_version_clear(&va);
    store_version_clear(&vb);
    store_close(a);
    store_close(b);
    free(mini);
    free(ex);
}
END_TEST

#define PER_THREAD 6

struct publisher {
    int base;
    unsigned got[PER_THREAD];
    int rc;
};

static void *publisher_run(void *arg)
{
    struct publisher *p = arg;
    struct store *st = NULL;
    p->rc = store_open(dbpath, &st, NULL);
    for (int i = 0; i < PER_THREAD && p->rc == 0; i++) {
        char text[256];
        snprintf(text, sizeof(text), minimal_tpl, p->base + i);
        struct store_version v = {0};
        bool created = false;
        p->rc = store_publish(st, "worker", "t", text, strlen(text), &v,
                              &created, NULL);
        if (p->rc == 0 && !created)
            p->rc = -EEXIST;
        p->got[i] = v.version;
        store_version_clear(&v);
    }
    store_close(st);
    return NULL;
}

START_TEST(test_concurrent_publishers)
{
    struct store *st = open_store();
    char text[256];
    snprintf(text, sizeof(text), minimal_tpl, 0x1000);
    struct store_error err = {0};
    ck_assert_int_eq(store_create_type(st, "alice", "t", NULL, text,
                                       strlen(text), NULL, &err),
                     0);
    struct publisher p[2] = {{.base = 0x2000}, {.base = 0x3000}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, publisher_run, &p[i]), 0);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    /* Every number 2..13 exactly once; each thread's in increasing order. */
    bool seen[2 + 2 * PER_THREAD] = {false};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(p[i].rc, 0);
        for (int k = 0; k < PER_THREAD; k++) {
            unsigned n = p[i].got[k];
            ck_assert_uint_ge(n, 2);
            ck_assert_uint_le(n, 1 + 2 * PER_THREAD);
            ck_assert(!seen[n]);
            seen[n] = true;
            if (k)
                ck_assert_uint_gt(n, p[i].got[k - 1]);
        }
    }
    struct store_version *vs = NULL;
    size_t n = 0;
    ck_assert_int_eq(store_list_versions(st, "t", &vs, &n, &err), 0);
    ck_assert_uint_eq(n, 1 + 2 * PER_THREAD);
    store_versions_free(vs, n);
    store_close(st);
    ck_assert_int_eq(file_int("SELECT count(*) FROM audit"),
                     1 + 2 * PER_THREAD);
}
END_TEST

/* ------------------------------------------------------------ attachments */

#define BDF_A "0000:3b:00.1"
#define BDF_B "0000:3b:00.2"

/* The candidates of a request: bdfs[i] with a path under /run/vpcid/vms/vm
 * and the resolved text layout. */
struct cands {
    struct store_candidate c[8];
    char path[8][96];
};

static void make_cands(struct cands *cs, const char *vm,
                       const char *const *bdfs, size_t n, const char *layout)
{
    ck_assert_uint_le(n, 8);
    for (size_t i = 0; i < n; i++) {
        snprintf(cs->path[i], sizeof(cs->path[i]), "/run/vpcid/vms/%s/%s.vpci",
                 vm, bdfs[i]);
        cs->c[i] = (struct store_candidate){
            .bdf = bdfs[i],
            .path = cs->path[i],
            .layout = layout,
            .layout_len = strlen(layout),
        };
    }
}

/* Attach vm to the first free of bdfs (type "t" version 1) or fail the
 * test with the error. */
static int attach(struct store *st, const char *vm, const char *request_id,
                  enum store_att_state state, const char *const *bdfs, size_t n,
                  const char *layout, struct store_attachment *a,
                  bool *existing, struct store_error *err)
{
    struct cands cs;
    make_cands(&cs, vm, bdfs, n, layout);
    struct store_attach_req req = {
        .vm = vm,
        .instance_type = "t",
        .version = 1,
        .request_id = request_id,
        .state = state,
        .ttl_seconds = state == STORE_ATT_INCOMING ? 300 : 0,
    };
    return store_attach(st, "api", &req, cs.c, n, a, existing, err);
}

/* action, object's last part and vm of every audit row after id after, in
 * order, one per line: "attach vm1 0000:3b:00.1". */
static const char *audit_tail(long long after)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT group_concat(action || ' ' || json_extract(detail,"
             " '$.vm') || ' ' || json_extract(detail, '$.bdf') || ' ' ||"
             " json_extract(detail, '$.state'), char(10)) FROM (SELECT * FROM"
             " audit WHERE id > %lld ORDER BY id)",
             after);
    sqlite3 *db = raw_open();
    static char out[4096];
    snprintf(out, sizeof(out), "%s", raw_text(db, sql));
    sqlite3_close(db);
    return out;
}

static bool uuid_v4(const char *id)
{
    if (strlen(id) != 36 || id[14] != '4' || !strchr("89ab", id[19]))
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? id[i] != '-' : !strchr("0123456789abcdef", id[i]))
            return false;
    }
    return true;
}

START_TEST(test_attach_get_list_end)
{
    struct store *st = open_store();
    struct store_version v = {0};
    create(st, "t", "example.vpci", &v);
    char *resolved = fixture("example.vpci", NULL);
    const char *bdfs[] = {BDF_A, BDF_B};
    struct store_attachment a = {0}, b = {0}, g = {0};
    struct store_error err = {0};
    bool existing = true;

    ck_assert_int_eq(attach(st, "vm1", NULL, STORE_ATT_ACTIVE, bdfs, 2,
                            resolved, &a, &existing, &err),
                     0);
    ck_assert(!existing);
    ck_assert_msg(uuid_v4(a.id), "id %s", a.id);
    ck_assert_str_eq(a.vm, "vm1");
    ck_assert_str_eq(a.bdf, BDF_A);
    ck_assert_str_eq(a.instance_type, "t");
    ck_assert_uint_eq(a.version, 1);
    ck_assert_str_eq(a.hash, v.hash);
    ck_assert_str_eq(a.fingerprint, v.fingerprint);
    ck_assert_str_eq(a.path, "/run/vpcid/vms/vm1/0000:3b:00.1.vpci");
    ck_assert_int_eq(a.state, STORE_ATT_ACTIVE);
    ck_assert_str_eq(store_att_state_name(a.state), "active");
    ck_assert_uint_eq(strlen(a.created), STORE_TIME_LEN - 1);
    ck_assert_int_eq(a.created[10], 'T');
    ck_assert_str_eq(a.expires, "");
    ck_assert_str_eq(a.request_id, "");
    ck_assert_str_eq(a.layout, resolved);
    ck_assert_uint_eq(a.layout_len, strlen(resolved));

    /* The next request gets the next free device, then none is left. */
    ck_assert_int_eq(attach(st, "vm2", NULL, STORE_ATT_ACTIVE, bdfs, 2,
                            resolved, &b, NULL, &err),
                     0);
    ck_assert_str_eq(b.bdf, BDF_B);
    ck_assert_str_eq(b.vm, "vm2");
    ck_assert_str_ne(b.id, a.id);
    ck_assert_int_eq(attach(st, "vm3", NULL, STORE_ATT_ACTIVE, bdfs, 2,
                            resolved, &g, NULL, &err),
                     -ENOSPC);
    ck_assert_str_eq(err.msg, "every candidate device is held");
    ck_assert_int_eq(attach(st, "vm3", NULL, STORE_ATT_ACTIVE, NULL, 0,
                            resolved, &g, NULL, &err),
                     -ENOSPC);

    ck_assert_int_eq(store_get_attachment(st, a.id, &g, &err), 0);
    ck_assert_str_eq(g.id, a.id);
    ck_assert_str_eq(g.bdf, a.bdf);
    ck_assert_str_eq(g.created, a.created);
    ck_assert_str_eq(g.layout, resolved);
    ck_assert_str_eq(g.path, a.path);
    store_attachment_clear(&g);
    ck_assert_int_eq(store_get_attachment(st,
                                          "00000000-0000-4000-8000-"
                                          "000000000000",
                                          &g, &err),
                     -ENOENT);
    ck_assert_str_eq(err.msg,
                     "no attachment '00000000-0000-4000-8000-000000000000'");
    ck_assert_int_eq(store_get_attachment(st, "x", &g, &err), -ENOENT);
    char longid[300];
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    ck_assert_int_eq(store_get_attachment(st, longid, &g, &err), -ENOENT);
    ck_assert_int_eq(store_get_attachment(st, NULL, &g, &err), -EINVAL);

    struct store_attachment *l = NULL;
    size_t n = 0;
    ck_assert_int_eq(store_list_attachments(st, &l, &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    /* By created time, then id. */
    bool a_first = strcmp(a.created, b.created) < 0 ||
                   (!strcmp(a.created, b.created) && strcmp(a.id, b.id) < 0);
    ck_assert_str_eq(l[0].id, a_first ? a.id : b.id);
    ck_assert_str_eq(l[1].id, a_first ? b.id : a.id);
    for (size_t i = 0; i < n; i++) {
        ck_assert_ptr_null(l[i].layout);
        ck_assert_str_eq(l[i].hash, v.hash);
    }
    store_attachments_free(l, n);

    /* Ending: the expected state must hold; the row goes, the device is
     * free again. */
    struct store_attachment e = {0};
    ck_assert_int_eq(store_end_attachment(st, "api", a.id,
                                          "migrate-out-complete",
                                          STORE_ATT_MIGRATING, &e, &err),
                     -EPERM);
    ck_assert_str_eq(e.id, "");
    ck_assert_int_eq(
        store_end_attachment(st, "api", a.id, "detach", -1, &e, &err), 0);
    ck_assert_str_eq(e.id, a.id);
    ck_assert_str_eq(e.bdf, BDF_A);
    ck_assert_int_eq(e.state, STORE_ATT_ACTIVE);
    ck_assert_ptr_null(e.layout);
    ck_assert_int_eq(store_get_attachment(st, a.id, &g, &err), -ENOENT);
    ck_assert_int_eq(
        store_end_attachment(st, "api", a.id, "detach", -1, NULL, &err),
        -ENOENT);
    ck_assert_int_eq(attach(st, "vm3", NULL, STORE_ATT_ACTIVE, bdfs, 2,
                            resolved, &g, NULL, &err),
                     0);
    ck_assert_str_eq(g.bdf, BDF_A);
    ck_assert_int_eq(store_end_attachment(st, "api", g.id, "detach",
                                          STORE_ATT_ACTIVE, NULL, &err),
                     0);
    ck_assert_int_eq(
        store_end_attachment(st, "api", b.id, "detach", 7, NULL, &err),
        -EINVAL);
    ck_assert_int_eq(
        store_end_attachment(st, "api", b.id, "Detach!", -1, NULL, &err),
        -EINVAL);
    store_attachment_clear(&g);

    /* No such version or type. */
    struct store_attach_req req = {.vm = "vm4",
                                   .instance_type = "t",
                                   .version = 2,
                                   .state = STORE_ATT_ACTIVE};
    struct cands cs;
    make_cands(&cs, "vm4", bdfs, 2, resolved);
    ck_assert_int_eq(store_attach(st, "api", &req, cs.c, 2, &g, NULL, &err),
                     -ENOENT);
    ck_assert_str_eq(err.msg, "no version 2 of instance type 't'");
    req.instance_type = "u";
    req.version = 1;
    ck_assert_int_eq(store_attach(st, "api", &req, cs.c, 2, &g, NULL, &err),
                     -ENOENT);
    store_close(st);

    ck_assert_str_eq(audit_tail(1), "attach vm1 0000:3b:00.1 active\n"
                                    "attach vm2 0000:3b:00.2 active\n"
                                    "detach vm1 0000:3b:00.1 active\n"
                                    "attach vm3 0000:3b:00.1 active\n"
                                    "detach vm3 0000:3b:00.1 active");
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit WHERE object = 'attachments/%s'"
             " AND actor = 'api'",
             a.id);
    ck_assert_int_eq(file_int(sql), 2);
    ck_assert_int_eq(file_int("SELECT count(*) FROM attachments"), 1);
    store_attachment_clear(&a);
    store_attachment_clear(&b);
    store_version_clear(&v);
    free(resolved);
}
END_TEST

START_TEST(test_attachment_states)
{
    struct store *st = open_store();
    create(st, "t", "example.vpci", NULL);
    char *resolved = fixture("example.vpci", NULL);
    const char *bdfs[] = {BDF_A, BDF_B};
    struct store_attachment a = {0}, m = {0}, in = {0};
    struct store_error err = {0};
    ck_assert_int_eq(attach(st, "vm1", NULL, STORE_ATT_ACTIVE, bdfs, 1,
                            resolved, &a, NULL, &err),
                     0);

    ck_assert_int_eq(store_set_attachment_state(
                         st, "api", a.id, STORE_ATT_ACTIVE, STORE_ATT_MIGRATING,
                         "migrate-out", &m, &err),
                     0);
    ck_assert_str_eq(m.id, a.id);
    ck_assert_int_eq(m.state, STORE_ATT_MIGRATING);
    ck_assert_str_eq(store_att_state_name(m.state), "migrating");
    ck_assert_str_eq(m.layout, resolved);
    ck_assert_str_eq(m.created, a.created);
    store_attachment_clear(&m);
    /* Not active any more. */
    ck_assert_int_eq(store_set_attachment_state(
                         st, "api", a.id, STORE_ATT_ACTIVE, STORE_ATT_MIGRATING,
                         "migrate-out", &m, &err),
                     -EPERM);
    ck_assert_str_eq(m.id, "");
    ck_assert_int_eq(store_end_attachment(st, "api", a.id, "detach",
                                          STORE_ATT_ACTIVE, NULL, &err),
                     -EPERM);
    ck_assert_int_eq(store_set_attachment_state(
                         st, "api", a.id, STORE_ATT_MIGRATING, STORE_ATT_ACTIVE,
                         "migrate-out-cancel", &m, &err),
                     0);
    ck_assert_int_eq(m.state, STORE_ATT_ACTIVE);
    store_attachment_clear(&m);
    ck_assert_int_eq(store_set_attachment_state(
                         st, "api", a.id, STORE_ATT_INCOMING, STORE_ATT_ACTIVE,
                         "incoming-commit", &m, &err),
                     -EPERM);
    char msg[128];
    snprintf(msg, sizeof(msg), "attachment %s is active, not incoming", a.id);
    ck_assert_str_eq(err.msg, msg);
    /* Moves that do not exist. */
    ck_assert_int_eq(
        store_set_attachment_state(st, "api", a.id, STORE_ATT_ACTIVE,
                                   STORE_ATT_INCOMING, "x", &m, &err),
        -EINVAL);
    ck_assert_int_eq(
        store_set_attachment_state(st, "api", a.id, STORE_ATT_ACTIVE,
                                   STORE_ATT_ACTIVE, "x", &m, &err),
        -EINVAL);
    ck_assert_int_eq(store_set_attachment_state(
                         st, "api", "00000000-0000-4000-8000-000000000000",
                         STORE_ATT_ACTIVE, STORE_ATT_MIGRATING, "migrate-out",
                         &m, &err),
                     -ENOENT);

    /* An incoming reservation: expires 300 s after it was made, cleared on
     * commit. */
    ck_assert_int_eq(attach(st, "vm2", "req-1", STORE_ATT_INCOMING, bdfs, 2,
                            resolved, &in, NULL, &err),
                     0);
    ck_assert_str_eq(in.bdf, BDF_B);
    ck_assert_int_eq(in.state, STORE_ATT_INCOMING);
    ck_assert_str_eq(in.request_id, "req-1");
    sqlite3 *db = raw_open();
    char sql[256];
    snprintf(
        sql, sizeof(sql),
        "SELECT strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', '%s', '+300 seconds')",
        in.created);
    ck_assert_str_eq(in.expires, raw_text(db, sql));
    sqlite3_close(db);
    ck_assert_int_eq(store_end_attachment(st, "api", in.id, "detach",
                                          STORE_ATT_ACTIVE, NULL, &err),
                     -EPERM);
    ck_assert_int_eq(store_set_attachment_state(
                         st, "api", in.id, STORE_ATT_INCOMING, STORE_ATT_ACTIVE,
                         "incoming-commit", &m, &err),
                     0);
    ck_assert_int_eq(m.state, STORE_ATT_ACTIVE);
    ck_assert_str_eq(m.expires, "");
    ck_assert_str_eq(m.request_id, "req-1");
    store_attachment_clear(&m);
    ck_assert_int_eq(store_get_attachment(st, in.id, &m, &err), 0);
    ck_assert_int_eq(m.state, STORE_ATT_ACTIVE);
    ck_assert_str_eq(m.expires, "");
    store_attachment_clear(&m);

    /* Abort of a reservation. */
    store_attachment_clear(&in);
    const char *c[] = {"0000:3b:00.3"};
    ck_assert_int_eq(attach(st, "vm3", NULL, STORE_ATT_INCOMING, c, 1, resolved,
                            &in, NULL, &err),
                     0);
    ck_assert_int_eq(store_end_attachment(st, "api", in.id, "incoming-abort",
                                          STORE_ATT_INCOMING, &m, &err),
                     0);
    ck_assert_int_eq(m.state, STORE_ATT_INCOMING);
    ck_assert_str_eq(m.expires, in.expires);
    store_attachment_clear(&m);

    /* migrate-out then complete. */
    ck_assert_int_eq(store_set_attachment_state(
                         st, "api", a.id, STORE_ATT_ACTIVE, STORE_ATT_MIGRATING,
                         "migrate-out", NULL, &err),
                     0);
    ck_assert_int_eq(store_end_attachment(st, "api", a.id,
                                          "migrate-out-complete",
                                          STORE_ATT_MIGRATING, NULL, &err),
                     0);
    store_close(st);

    ck_assert_str_eq(audit_tail(1),
                     "attach vm1 0000:3b:00.1 active\n"
                     "migrate-out vm1 0000:3b:00.1 migrating\n"
                     "migrate-out-cancel vm1 0000:3b:00.1 active\n"
                     "incoming vm2 0000:3b:00.2 incoming\n"
                     "incoming-commit vm2 0000:3b:00.2 active\n"
                     "incoming vm3 0000:3b:00.3 incoming\n"
                     "incoming-abort vm3 0000:3b:00.3 incoming\n"
                     "migrate-out vm1 0000:3b:00.1 migrating\n"
                     "migrate-out-complete vm1 0000:3b:00.1 migrating");
    ck_assert_int_eq(
        file_int("SELECT count(*) FROM audit WHERE action = 'migrate-out'"
                 " AND json_extract(detail, '$.from') = 'active'"),
        2);
    ck_assert_int_eq(file_int("SELECT count(*) FROM attachments"), 1);
    store_attachment_clear(&a);
    store_attachment_clear(&in);
    free(resolved);
}
END_TEST

START_TEST(test_attach_request_id)
{
    struct store *st = open_store();
    create(st, "t", "example.vpci", NULL);
    create(st, "t2", "example.vpci", NULL);
    char *resolved = fixture("example.vpci", NULL);
    const char *bdfs[] = {BDF_A, BDF_B};
    struct store_attachment a = {0}, b = {0};
    struct store_error err = {0};
    bool existing = true;
    ck_assert_int_eq(attach(st, "vm1", "req-1", STORE_ATT_ACTIVE, bdfs, 2,
                            resolved, &a, &existing, &err),
                     0);
    ck_assert(!existing);
    ck_assert_str_eq(a.request_id, "req-1");
    /* The same request again: the same attachment, nothing written. */
    ck_assert_int_eq(attach(st, "vm1", "req-1", STORE_ATT_ACTIVE, bdfs, 2,
                            resolved, &b, &existing, &err),
                     0);
    ck_assert(existing);
    ck_assert_str_eq(b.id, a.id);
    ck_assert_str_eq(b.bdf, BDF_A);
    ck_assert_str_eq(b.layout, resolved);
    store_attachment_clear(&b);
    /* Even when no candidate is free any more. */
    ck_assert_int_eq(attach(st, "vm1", "req-1", STORE_ATT_ACTIVE, bdfs, 1,
                            resolved, &b, &existing, &err),
                     0);
    ck_assert(existing);
    ck_assert_str_eq(b.id, a.id);
    store_attachment_clear(&b);
    /* The id names another vm's attachment, or another type's. */
    existing = true;
    ck_assert_int_eq(attach(st, "vm2", "req-1", STORE_ATT_ACTIVE, bdfs, 2,
                            resolved, &b, &existing, &err),
                     -EEXIST);
    ck_assert(existing);
    char msg[256];
    snprintf(msg, sizeof(msg),
             "request id 'req-1' is attachment %s of vm 'vm1' and type 't'",
             a.id);
    ck_assert_str_eq(err.msg, msg);
    struct cands cs;
    make_cands(&cs, "vm1", bdfs, 2, resolved);
    struct store_attach_req req = {.vm = "vm1",
                                   .instance_type = "t2",
                                   .version = 1,
                                   .request_id = "req-1",
                                   .state = STORE_ATT_ACTIVE};
    ck_assert_int_eq(store_attach(st, "api", &req, cs.c, 2, &b, NULL, &err),
                     -EEXIST);
    /* Without a request id the same vm gets a second device. */
    ck_assert_int_eq(attach(st, "vm1", NULL, STORE_ATT_ACTIVE, bdfs, 2,
                            resolved, &b, &existing, &err),
                     0);
    ck_assert(!existing);
    ck_assert_str_eq(b.bdf, BDF_B);
    /* Once ended, the request id is free again. */
    ck_assert_int_eq(
        store_end_attachment(st, "api", a.id, "detach", -1, NULL, &err), 0);
    struct store_attachment c = {0};
    ck_assert_int_eq(attach(st, "vm1", "req-1", STORE_ATT_ACTIVE, bdfs, 2,
                            resolved, &c, &existing, &err),
                     0);
    ck_assert(!existing);
    ck_assert_str_ne(c.id, a.id);
    ck_assert_str_eq(c.bdf, BDF_A);
    store_close(st);
    ck_assert_str_eq(audit_tail(2), "attach vm1 0000:3b:00.1 active\n"
                                    "attach vm1 0000:3b:00.2 active\n"
                                    "detach vm1 0000:3b:00.1 active\n"
                                    "attach vm1 0000:3b:00.1 active");
    ck_assert_int_eq(
        file_int("SELECT count(*) FROM audit WHERE"
                 " json_extract(detail, '$.request_id') = 'req-1'"),
        3);
    store_attachment_clear(&a);
    store_attachment_clear(&b);
    store_attachment_clear(&c);
    free(resolved);
}
END_TEST

START_TEST(test_attach_invalid)
{
    struct store *st = open_store();
    create(st, "t", "example.vpci", NULL);
    char *resolved = fixture("example.vpci", NULL);
    char *other = fixture("minimal.vpci", NULL);
    const char *bdfs[] = {BDF_A};
    struct store_attachment a = {0};
    struct store_error err = {0};
    struct cands cs;
    make_cands(&cs, "vm1", bdfs, 1, resolved);
    struct store_attach_req ok = {.vm = "vm1",
                                  .instance_type = "t",
                                  .version = 1,
                                  .state = STORE_ATT_ACTIVE};
    struct store_attach_req req;
    const char *bad_names[] = {"", "-vm", "vm 1", "vm/1", "vm\n", "vÃ¶"};
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        req = ok;
        req.vm = bad_names[i];
        ck_assert_int_eq(store_attach(st, "api", &req, cs.c, 1, &a, NULL, &err),
                         -EINVAL);
        ck_assert(!store_vm_valid(bad_names[i]));
        req = ok;
        req.request_id = bad_names[i];
        ck_assert_int_eq(store_attach(st, "api", &req, cs.c, 1, &a, NULL, &err),
                         -EINVAL);
    }
    char longname[STORE_VM_MAX + 2];
    memset(longname, 'v', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    ck_assert(!store_vm_valid(longname));
    longname[STORE_VM_MAX] = '\0';
    ck_assert(store_vm_valid(longname));
    ck_assert(store_vm_valid("A0.b_c-D"));
    ck_assert(!store_vm_valid(NULL));

    req = ok;
    req.vm = NULL;
    ck_assert_int_eq(store_attach(st, "api", &req, cs.c, 1, &a, NULL, &err),
                     -EINVAL);
    req = ok;
    req.instance_type = "T";
    ck_assert_int_eq(store_attach(st, "api", &req, cs.c, 1, &a, NULL, &err),
                     -EINVAL);
    req = ok;
    req.version = 0;
    ck_assert_int_eq(store_attach(st, "api", &req, cs.c, 1, &a, NULL, &err),
                     -EINVAL);
    req = ok;
    req.state = STORE_ATT_MIGRATING;
    ck_assert_int_eq(store_attach(st, "api", &req, cs.c, 1, &a, NULL, &err),
                     -EINVAL);
    req = ok;
    req.state = STORE_ATT_INCOMING;
    req.ttl_seconds = 0;
    ck_assert_int_eq(store_attach(st, "api", &req, cs.c, 1, &a, NULL, &err),
                     -EINVAL);
    ck_assert_str_eq(err.msg, "a reservation lasts 1 to 86400 seconds");
    req.ttl_seconds = 86401;
    ck_assert_int_eq(store_attach(st, "api", &req, cs.c, 1, &a, NULL, &err),
                     -EINVAL);
    ck_assert_int_eq(store_attach(st, NULL, &ok, cs.c, 1, &a, NULL, &err),
                     -EINVAL);
    ck_assert_int_eq(store_attach(st, "api", NULL, cs.c, 1, &a, NULL, &err),
                     -EINVAL);
    ck_assert_int_eq(store_attach(st, "api", &ok, NULL, 1, &a, NULL, &err),
                     -EINVAL);

    /* Candidates: BDF charset, path, layout. */
    const char *bad_bdfs[] = {"0000:3B:00.1", "", "0000:3b:00.1 ",
                              "0000:3b:00.1/../x", "0000000000000:3b:00.1"};
    for (size_t i = 0; i < sizeof(bad_bdfs) / sizeof(bad_bdfs[0]); i++) {
        struct cands b;
        make_cands(&b, "vm1", &bad_bdfs[i], 1, resolved);
        ck_assert_int_eq(store_attach(st, "api", &ok, b.c, 1, &a, NULL, &err),
                         -EINVAL);
    }
    struct cands b = cs;
    b.c[0].path = "/run/vpcid/vms/vm1/x\n";
    ck_assert_int_eq(store_attach(st, "api", &ok, b.c, 1, &a, NULL, &err),
                     -EINVAL);
    b.c[0].path = "";
    ck_assert_int_eq(store_attach(st, "api", &ok, b.c, 1, &a, NULL, &err),
                     -EINVAL);
    b = cs;
    b.c[0].layout = NULL;
    ck_assert_int_eq(store_attach(st, "api", &ok, b.c, 1, &a, NULL, &err),
                     -EINVAL);
    b = cs;
    b.c[0].layout_len = 0;
    ck_assert_int_eq(store_attach(st, "api", &ok, b.c, 1, &a, NULL, &err),
                     -EINVAL);
    /* A layout that is not the version's content, or not a layout. */
    b = cs;
    b.c[0].layout = other;
    b.c[0].layout_len = strlen(other);
    ck_assert_int_eq(store_attach(st, "api", &ok, b.c, 1, &a, NULL, &err),
                     -EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "not the version's"));
    b.c[0].layout = "vpci-layout 1\nspace 3\n";
    b.c[0].layout_len = strlen(b.c[0].layout);
    ck_assert_int_eq(store_attach(st, "api", &ok, b.c, 1, &a, NULL, &err),
                     -EINVAL);
    ck_assert_uint_eq(err.line, 2);
    ck_assert_str_eq(a.id, "");
    store_close(st);
    ck_assert_int_eq(file_int("SELECT count(*) FROM attachments"), 0);
    ck_assert_int_eq(file_int("SELECT count(*) FROM audit"), 1);
    free(resolved);
    free(other);
}
END_TEST

START_TEST(test_attachments_reopen)
{
    struct store *st = open_store();
    create(st, "t", "example.vpci", NULL);
    char *resolved = fixture("example.vpci", NULL);
    const char *bdfs[] = {BDF_A, BDF_B};
    struct store_attachment a = {0}, b = {0}, g = {0};
    struct store_error err = {0};
    ck_assert_int_eq(attach(st, "vm1", "r1", STORE_ATT_ACTIVE, bdfs, 2,
                            resolved, &a, NULL, &err),
                     0);
    ck_assert_int_eq(attach(st, "vm2", NULL, STORE_ATT_INCOMING, bdfs, 2,
                            resolved, &b, NULL, &err),
                     0);
    store_close(st);

    st = open_store();
    ck_assert_int_eq(store_get_attachment(st, a.id, &g, &err), 0);
    ck_assert_str_eq(g.vm, "vm1");
    ck_assert_str_eq(g.bdf, BDF_A);
    ck_assert_str_eq(g.request_id, "r1");
    ck_assert_str_eq(g.created, a.created);
    ck_assert_str_eq(g.layout, resolved);
    ck_assert_int_eq(g.state, STORE_ATT_ACTIVE);
    store_attachment_clear(&g);
    ck_assert_int_eq(store_get_attachment(st, b.id, &g, &err), 0);
    ck_assert_int_eq(g.state, STORE_ATT_INCOMING);
    ck_assert_str_eq(g.expires, b.expires);
    store_attachment_clear(&g);
    /* Still held after the restart. */
    ck_assert_int_eq(attach(st, "vm3", NULL, STORE_ATT_ACTIVE, bdfs, 2,
                            resolved, &g, NULL, &err),
                     -ENOSPC);
    struct store_attachment *l = NULL;
    size_t n = 0;
    ck_assert_int_eq(store_list_attachments(st, &l, &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    store_attachments_free(l, n);
    store_close(st);
    store_attachment_clear(&a);
    store_attachment_clear(&b);
    free(resolved);
}
END_TEST

/* Make reservation id expired, from outside (as time would). */
static void backdate(const char *id)
{
    /* expires only changes with state in the schema, so go round it: a
     * reservation is written again with a past expiry. */
    sqlite3 *db = raw_open();
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "BEGIN;"
             "CREATE TEMP TABLE keep AS SELECT * FROM attachments"
             " WHERE id = '%s';"
             "DELETE FROM attachments WHERE id = '%s';"
             "UPDATE keep SET expires = '2000-01-01T00:00:00Z';"
             "INSERT INTO attachments SELECT * FROM keep;"
             "DROP TABLE keep;"
             "COMMIT",
             id, id);
    char *msg = NULL;
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s",
                  msg ? msg : "");
    sqlite3_close(db);
}

START_TEST(test_expiry)
{
    struct store *st = open_store();
    create(st, "t", "example.vpci", NULL);
    char *resolved = fixture("example.vpci", NULL);
    const char *bdfs[] = {BDF_A, BDF_B};
    struct store_attachment in = {0}, g = {0}, x = {0};
    struct store_error err = {0};
    ck_assert_int_eq(attach(st, "vm1", "mig-1", STORE_ATT_INCOMING, bdfs, 1,
                            resolved, &in, NULL, &err),
                     0);
    ck_assert_int_eq(attach(st, "vm2", NULL, STORE_ATT_ACTIVE, &bdfs[1], 1,
                            resolved, &x, NULL, &err),
                     0);
    backdate(in.id);

    /* Gone from every read before any write came by ... */
    ck_assert_int_eq(store_get_attachment(st, in.id, &g, &err), -ENOENT);
    struct store_attachment *l = NULL;
    size_t n = 0;
    ck_assert_int_eq(store_list_attachments(st, &l, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(l[0].id, x.id);
    store_attachments_free(l, n);
    ck_assert_int_eq(file_int("SELECT count(*) FROM attachments"), 2);
    ck_assert_int_eq(store_set_attachment_state(
                         st, "api", in.id, STORE_ATT_INCOMING, STORE_ATT_ACTIVE,
                         "incoming-commit", &g, &err),
                     -ENOENT);
    /* ... and that write deleted it with an "expire" row. */
    ck_assert_int_eq(file_int("SELECT count(*) FROM attachments"), 1);
    ck_assert_str_eq(audit_tail(3), "expire vm1 0000:3b:00.1 incoming");
    ck_assert_int_eq(file_int("SELECT count(*) FROM audit WHERE"
                              " action = 'expire' AND actor = 'vpcid'"
                              " AND json_extract(detail, '$.request_id')"
                              " = 'mig-1'"),
                     1);

    /* Its device and request id are free for the next request. */
    ck_assert_int_eq(attach(st, "vm3", "mig-1", STORE_ATT_INCOMING, bdfs, 2,
                            resolved, &g, NULL, &err),
                     0);
    ck_assert_str_eq(g.bdf, BDF_A);
    ck_assert_str_ne(g.id, in.id);
    store_attachment_clear(&g);

    /* The same in real time: a one-second reservation. */
    store_attachment_clear(&in);
    const char *c[] = {"0000:3b:00.3"};
    struct cands cs;
    make_cands(&cs, "vm4", c, 1, resolved);
    struct store_attach_req req = {.vm = "vm4",
                                   .instance_type = "t",
                                   .version = 1,
                                   .state = STORE_ATT_INCOMING,
                                   .ttl_seconds = 1};
    ck_assert_int_eq(store_attach(st, "api", &req, cs.c, 1, &in, NULL, &err),
                     0);
    ck_assert_int_eq(store_get_attachment(st, in.id, &g, &err), 0);
    store_attachment_clear(&g);
    sleep(2);
    ck_assert_int_eq(store_get_attachment(st, in.id, &g, &err), -ENOENT);
    req.vm = "vm5";
    ck_assert_int_eq(store_attach(st, "api", &req, cs.c, 1, &g, NULL, &err), 0);
    ck_assert_str_eq(g.bdf, "0000:3b:00.3");
    store_close(st);
    ck_assert_str_eq(audit_tail(4), "incoming vm3 0000:3b:00.1 incoming\n"
                                    "incoming vm4 0000:3b:00.3 incoming\n"
                                    "expire vm4 0000:3b:00.3 incoming\n"
                                    "incoming vm5 0000:3b:00.3 incoming");
    store_attachment_clear(&in);
    store_attachment_clear(&g);
    store_attachment_clear(&x);
    free(resolved);
}
END_TEST

START_TEST(test_attachments_direct_sql)
{
    struct store *st = open_store();
    create(st, "t", "example.vpci", NULL);
    char *resolved = fixture("example.vpci", NULL);
    const char *bdfs[] = {BDF_A, BDF_B};
    struct store_attachment a = {0}, b = {0};
    struct store_error err = {0};
    ck_assert_int_eq(attach(st, "vm1", "r1", STORE_ATT_ACTIVE, bdfs, 1,
                            resolved, &a, NULL, &err),
                     0);
    ck_assert_int_eq(attach(st, "vm2", NULL, STORE_ATT_INCOMING, &bdfs[1], 1,
                            resolved, &b, NULL, &err),
                     0);
    store_close(st);

    sqlite3 *db = raw_open();
    ck_assert_int_eq(
        sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL),
        SQLITE_OK);
    const char *snapshot =
        "SELECT group_concat(id || vm || bdf || instance_type || version ||"
        " hash || fingerprint || path || layout || state || created ||"
        " coalesce(expires, '-') || coalesce(request_id, '-'), '|')"
        " FROM (SELECT * FROM attachments ORDER BY id)";
    char before[8192];
    snprintf(before, sizeof(before), "%s", raw_text(db, snapshot));
    long long audit_n = raw_int(db, "SELECT count(*) FROM audit");
    char ins[] = "INSERT INTO attachments (id, vm, bdf, instance_type,"
                 " version, hash, fingerprint, path, layout, state, created,"
                 " expires, request_id) SELECT ";
    char sql[64][1024];
    size_t n = 0;
    const char *cols[] = {
        "id = '00000000-0000-4000-8000-000000000000'",
        "vm = 'vm9'",
        "bdf = '0000:3b:00.7'",
        "instance_type = 't'",
        "version = 2",
        "hash = fingerprint",
        "fingerprint = hash",
        "path = '/tmp/x'",
        "layout = layout",
        "created = '2000-01-01T00:00:00Z'",
        "request_id = 'r2'",
        "request_id = NULL",
        /* state moves that do not exist */
        "state = 'incoming', expires = '2099-01-01T00:00:00Z'",
        "state = 'active'",
        "state = state",
        "state = 'gone'",
        "expires = '2099-01-01T00:00:00Z'",
    };
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
        snprintf(sql[n++], sizeof(sql[0]),
                 "UPDATE attachments SET %s WHERE id = '%s'", cols[i], a.id);
    snprintf(sql[n++], sizeof(sql[0]),
             "UPDATE attachments SET state = 'active' WHERE id = '%s'"
             " AND 0 = 1 OR id = '%s'",
             b.id, b.id); /* incoming -> active keeps expires: CHECK */
    snprintf(sql[n++], sizeof(sql[0]),
             "UPDATE attachments SET state = 'migrating', expires = NULL"
             " WHERE id = '%s'",
             b.id);
    /* Inserts: a held device (also OR REPLACE), a used id or request id, a
     * version that does not exist or other hashes, bad charsets, expiry
     * rules. */
    const char *rows[] = {
        "'00000000-0000-4000-8000-000000000001', 'vm9', bdf, instance_type,"
        " version, hash, fingerprint, path, layout, 'active', created, NULL,"
        " NULL",
        "'00000000-0000-4000-8000-000000000001', 'vm9', '0000:3b:00.7',"
        " instance_type, version, hash, fingerprint, path, layout, 'active',"
        " created, NULL, request_id",
        "id, 'vm9', '0000:3b:00.7', instance_type, version, hash,"
        " fingerprint, path, layout, 'active', created, NULL, NULL",
        "'00000000-0000-4000-8000-000000000001', 'vm9', '0000:3b:00.7',"
        " instance_type, 2, hash, fingerprint, path, layout, 'active',"
        " created, NULL, NULL",
        "'00000000-0000-4000-8000-000000000001', 'vm9', '0000:3b:00.7',"
        " 'nosuch', 1, hash, fingerprint, path, layout, 'active', created,"
        " NULL, NULL",
        "'00000000-0000-4000-8000-000000000001', 'vm9', '0000:3b:00.7',"
        " instance_type, version, fingerprint, hash, path, layout, 'active',"
        " created, NULL, NULL",
        "'00000000-0000-4000-8000-00000000000G', 'vm9', '0000:3b:00.7',"
        " instance_type, version, hash, fingerprint, path, layout, 'active',"
        " created, NULL, NULL",
        "'00000000-0000-4000-8000-000000000001', 'vm 9', '0000:3b:00.7',"
        " instance_type, version, hash, fingerprint, path, layout, 'active',"
        " created, NULL, NULL",
        "'00000000-0000-4000-8000-000000000001', 'vm9', '0000:3B:00.7',"
        " instance_type, version, hash, fingerprint, path, layout, 'active',"
        " created, NULL, NULL",
        "'00000000-0000-4000-8000-000000000001', 'vm9', '0000:3b:00.7',"
        " instance_type, version, hash, fingerprint, path, layout,"
        " 'incoming', created, NULL, NULL",
        "'00000000-0000-4000-8000-000000000001', 'vm9', '0000:3b:00.7',"
        " instance_type, version, hash, fingerprint, path, layout, 'active',"
        " created, '2099-01-01T00:00:00Z', NULL",
        "'00000000-0000-4000-8000-000000000001', 'vm9', '0000:3b:00.7',"
        " instance_type, version, hash, fingerprint, path, layout, 'active',"
        " created, NULL, '-r'",
        "'00000000-0000-4000-8000-000000000001', 'vm9', '0000:3b:00.7',"
        " instance_type, version, hash, fingerprint, '', layout, 'active',"
        " created, NULL, NULL",
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        snprintf(sql[n++], sizeof(sql[0]),
                 "%s%s FROM attachments WHERE id = '%s'", ins, rows[i], a.id);
    snprintf(sql[n++], sizeof(sql[0]),
             "INSERT OR REPLACE INTO attachments SELECT * FROM attachments"
             " WHERE id = '%s'",
             a.id);
    for (size_t i = 0; i < n; i++) {
        char *msg = NULL;
        int rc = sqlite3_exec(db, sql[i], NULL, NULL, &msg);
        ck_assert_msg(rc == SQLITE_CONSTRAINT, "'%s' gave %d (%s)", sql[i], rc,
                      msg ? msg : "");
        sqlite3_free(msg);
    }
    ck_assert_str_eq(raw_text(db, snapshot), before);
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM audit"), audit_n);

    /* What the schema allows: the three moves, and the row's deletion. */
    char ok[256];
    snprintf(ok, sizeof(ok),
             "UPDATE attachments SET state = 'migrating' WHERE id = '%s'",
             a.id);
    ck_assert_int_eq(sqlite3_exec(db, ok, NULL, NULL, NULL), SQLITE_OK);
    snprintf(ok, sizeof(ok),
             "UPDATE attachments SET state = 'active', expires = NULL"
             " WHERE id = '%s'",
             b.id);
    ck_assert_int_eq(sqlite3_exec(db, ok, NULL, NULL, NULL), SQLITE_OK);
    ck_assert_str_eq(raw_text(db, "SELECT group_concat(state || ' ' ||"
                                  " coalesce(expires, '-'), ',') FROM"
                                  " (SELECT * FROM attachments ORDER BY bdf)"),
                     "migrating -,active -");
    ck_assert_int_eq(
        sqlite3_exec(db, "DELETE FROM attachments", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    store_attachment_clear(&a);
    store_attachment_clear(&b);
    free(resolved);
}
END_TEST

#define RACERS 32
#define DEVICES 8

struct racer {
    pthread_barrier_t *start;
    int n;
    const char *layout;
    int rc;
    char bdf[STORE_BDF_MAX + 1];
    char msg[384];
};

static void *racer_run(void *arg)
{
    struct racer *p = arg;
    struct store *st = NULL;
    struct store_error err = {0};
    p->rc = store_open(dbpath, &st, &err);
    pthread_barrier_wait(p->start);
    if (p->rc == 0) {
        char vm[16], bdfs[DEVICES][16], path[DEVICES][160];
        struct store_candidate c[DEVICES];
        snprintf(vm, sizeof(vm), "vm-%d", p->n);
        for (int i = 0; i < DEVICES; i++) {
            snprintf(bdfs[i], sizeof(bdfs[i]), "0000:3b:00.%d", i);
            snprintf(path[i], sizeof(path[i]), "/run/vms/%s/%s.vpci", vm,
                     bdfs[i]);
            c[i] = (struct store_candidate){bdfs[i], path[i], p->layout,
                                            strlen(p->layout)};
        }
        struct store_attach_req req = {.vm = vm,
                                       .instance_type = "t",
                                       .version = 1,
                                       .state = STORE_ATT_ACTIVE};
        struct store_attachment a = {0};
        p->rc = store_attach(st, "racer", &req, c, DEVICES, &a, NULL, &err);
        if (p->rc == 0)
            snprintf(p->bdf, sizeof(p->bdf), "%s", a.bdf);
        store_attachment_clear(&a);
    }
    snprintf(p->msg, sizeof(p->msg), "%s", err.msg);
    store_close(st);
    return NULL;
}

START_TEST(test_concurrent_attach)
{
    struct store *st = open_store();
    create(st, "t", "example.vpci", NULL);
    store_close(st);
    char *resolved = fixture("example.vpci", NULL);
    pthread_barrier_t start;
    ck_assert_int_eq(pthread_barrier_init(&start, NULL, RACERS), 0);
    struct racer p[RACERS];
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) {
        p[i] = (struct racer){.start = &start, .n = i, .layout = resolved};
        ck_assert_int_eq(pthread_create(&th[i], NULL, racer_run, &p[i]), 0);
    }
    for (int i = 0; i < RACERS; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    pthread_barrier_destroy(&start);
    int won = 0, full = 0;
    bool held[DEVICES] = {false};
    for (int i = 0; i < RACERS; i++) {
        if (p[i].rc == 0) {
            won++;
            int d = p[i].bdf[strlen(p[i].bdf) - 1] - '0';
            ck_assert_int_ge(d, 0);
            ck_assert_int_lt(d, DEVICES);
            ck_assert_msg(!held[d], "%s held twice", p[i].bdf);
            held[d] = true;
        } else {
            ck_assert_msg(p[i].rc == -ENOSPC, "racer %d: %d %s", i, p[i].rc,
                          p[i].msg);
            full++;
        }
    }
    ck_assert_int_eq(won, DEVICES);
    ck_assert_int_eq(full, RACERS - DEVICES);
    ck_assert_int_eq(file_int("SELECT count(DISTINCT bdf) FROM attachments"),
                     DEVICES);
    ck_assert_int_eq(file_int("SELECT count(DISTINCT vm) FROM attachments"),
                     DEVICES);
    ck_assert_int_eq(file_int("SELECT count(*) FROM audit WHERE"
                              " action = 'attach' AND actor = 'racer'"),
                     DEVICES);
    free(resolved);
}
END_TEST

/* ------------------------------------------------------------ import */

START_TEST(test_import)
{
    struct store *st = open_store();
    char *ex = fixture("example.vpci", NULL);
    char *bytes = fixture("bytes.vpci", NULL);
    char *mini = fixture("minimal.vpci", NULL);
    char *sect = fixture("sections.vpci", NULL);
    char hash[VPCI_HASH_STRLEN], fp[VPCI_HASH_STRLEN];
    char *canon = stored_form("example.vpci", hash, fp);
    struct store_version v = {0};
    struct store_error err = {0};

    /* A type this host does not know: created, the version keeps its
     * number, the binding is dropped as by store_publish. */
    ck_assert_int_eq(store_import(st, "api", "u", 3, ex, strlen(ex), &v, &err),
                     0);
    ck_assert_str_eq(v.name, "u");
    ck_assert_uint_eq(v.version, 3);
    ck_assert_str_eq(v.hash, hash);
    ck_assert_str_eq(v.fingerprint, fp);
    ck_assert_str_eq(v.layout, canon);
    ck_assert_int_eq(v.state, STORE_PUBLISHED);
    store_version_clear(&v);
    struct store_type t = {0};
    ck_assert_int_eq(store_get_type(st, "u", &t, &err), 0);
    ck_assert_str_eq(t.description, "");
    ck_assert_uint_eq(t.latest, 3);
    free(t.description);

    /* Known content, whatever number it comes with: nothing written. */
    ck_assert_int_eq(
        store_import(st, "api", "u", 3, canon, strlen(canon), &v, &err), 0);
    ck_assert_uint_eq(v.version, 3);
    store_version_clear(&v);
    ck_assert_int_eq(store_import(st, "api", "u", 5, ex, strlen(ex), &v, &err),
                     0);
    ck_assert_uint_eq(v.version, 3);
    store_version_clear(&v);
    ck_assert_int_eq(
        store_import(st, "api", "u", 5, ex, strlen(ex), NULL, &err), 0);
    /* The number holds other content. */
    ck_assert_int_eq(
        store_import(st, "api", "u", 3, bytes, strlen(bytes), &v, &err),
        -EEXIST);
    ck_assert_str_eq(err.msg, "version 3 of 'u' holds other content than the"
                              " one imported");
    /* A free number below: filled. */
    ck_assert_int_eq(
        store_import(st, "api", "u", 1, bytes, strlen(bytes), &v, &err), 0);
    ck_assert_uint_eq(v.version, 1);
    store_version_clear(&v);
    /* Publishing goes on from the highest number. */
    bool c = false;
    ck_assert_uint_eq(publish(st, "u", "minimal.vpci", &c), 4);
    ck_assert(c);
    ck_assert_int_eq(
        store_import(st, "api", "u", 4, sect, strlen(sect), &v, &err), -EEXIST);
    ck_assert_int_eq(
        store_import(st, "api", "u", 2, sect, strlen(sect), &v, &err), 0);
    ck_assert_uint_eq(v.version, 2);
    store_version_clear(&v);
    ck_assert_uint_eq(publish(st, "u", "sketch.vpci", &c), 5);
    ck_assert(c);
    ck_assert_uint_eq(publish(st, "u", "bytes.canon", &c), 1);
    ck_assert(!c);
    /* Into an existing type. */
    create(st, "t", "minimal.vpci", NULL);
    ck_assert_int_eq(store_import(st, "api", "t", 7, ex, strlen(ex), &v, &err),
                     0);
    ck_assert_uint_eq(v.version, 7);
    store_version_clear(&v);
    ck_assert_uint_eq(publish(st, "t", "bytes.vpci", &c), 8);

    /* Errors: nothing written. */
    const char bad[] = "vpci-layout 1\nspace 256\n\nheader type0\n"
                       "  0x00 u16 vendor_id 0x1af4 bogus\n";
    ck_assert_int_eq(
        store_import(st, "api", "w", 1, bad, strlen(bad), &v, &err), -EINVAL);
    ck_assert_uint_eq(err.line, 5);
    ck_assert_int_eq(store_import(st, "api", "w", 0, ex, strlen(ex), &v, &err),
                     -EINVAL);
    ck_assert_int_eq(store_import(st, "api", "W", 1, ex, strlen(ex), &v, &err),
                     -EINVAL);
    ck_assert_int_eq(store_import(st, NULL, "w", 1, ex, strlen(ex), &v, &err),
                     -EINVAL);
    ck_assert_int_eq(store_get_type(st, "w", &t, &err), -ENOENT);
    ck_assert_str_eq(v.name, "");

    struct store_version *vs = NULL;
    size_t n = 0;
    ck_assert_int_eq(store_list_versions(st, "u", &vs, &n, &err), 0);
    ck_assert_uint_eq(n, 5);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(vs[i].version, i + 1);
    store_versions_free(vs, n);
    store_close(st);
    ck_assert_str_eq(
        raw_text_file("SELECT group_concat(version || origin, ',') FROM"
                      " (SELECT * FROM versions WHERE name = 'u'"
                      " ORDER BY version)"),
        "1import,2import,3import,4local,5local");
    ck_assert_str_eq(
        raw_text_file("SELECT group_concat(action || ' ' || actor || ' ' ||"
                      " object, char(10)) FROM (SELECT * FROM audit"
                      " ORDER BY id)"),
        "import api types/u/versions/3\n"
        "import api types/u/versions/1\n"
        "publish bob types/u/versions/4\n"
        "import api types/u/versions/2\n"
        "publish bob types/u/versions/5\n"
        "create alice types/t/versions/1\n"
        "import api types/t/versions/7\n"
        "publish bob types/t/versions/8");
    free(ex);
    free(bytes);
    free(mini);
    free(sect);
    free(canon);
}
END_TEST

/* ------------------------------------------------------------ migration */

START_TEST(test_migrate_v1_to_v2)
{
    /* A version 1 database as an older vpcid left it. */
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    struct store_error err = {0};
    ck_assert_int_eq(store_schema_migrate_to(db, 1, &err), 0);
    ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), 1);
    ck_assert_str_eq(raw_text(db, "SELECT count(*) FROM sqlite_schema"
                                  " WHERE name = 'attachments'"),
                     "0");
    char h1[VPCI_HASH_STRLEN], f1[VPCI_HASH_STRLEN];
    char h2[VPCI_HASH_STRLEN], f2[VPCI_HASH_STRLEN];
    char *t1 = stored_form("minimal.vpci", h1, f1);
    char *t2 = stored_form("example.vpci", h2, f2);
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(
        sqlite3_exec(db,
                     "INSERT INTO instance_types VALUES"
                     " ('t', 'old type', '2024-01-02T03:04:05Z');"
                     "INSERT INTO audit (time, actor, action, object, detail)"
                     " VALUES ('2024-01-02T03:04:05Z', 'alice', 'create',"
                     " 'types/t/versions/1', '{\"version\":1}');"
                     "INSERT INTO inventory VALUES"
                     " (1, '2024-01-02T03:04:05Z', '{\"devices\":[]}')",
                     NULL, NULL, NULL),
        SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "INSERT INTO versions VALUES ('t', ?1,"
                                        " ?2, ?3, ?4, '2024-01-02T03:04:05Z',"
                                        " 'published')",
                                        -1, &s, NULL),
                     SQLITE_OK);
    const char *texts[] = {t1, t2}, *hashes[] = {h1, h2}, *fps[] = {f1, f2};
    for (int i = 0; i < 2; i++) {
        sqlite3_reset(s);
        sqlite3_bind_int(s, 1, i + 1);
        sqlite3_bind_text(s, 2, texts[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, hashes[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, fps[i], -1, SQLITE_STATIC);
        ck_assert_int_eq(sqlite3_step(s), SQLITE_DONE);
    }
    sqlite3_finalize(s);
    ck_assert_int_eq(sqlite3_exec(db,
                                  "UPDATE versions SET state = 'deprecated'"
                                  " WHERE version = 1",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    /* Opening upgrades it in place, data intact. */
    struct store *st = open_store();
    ck_assert_int_eq(file_int("PRAGMA user_version"), 2);
    struct store_version v = {0};
    ck_assert_int_eq(store_get_version(st, "t", 1, &v, &err), 0);
    ck_assert_str_eq(v.layout, t1);
    ck_assert_str_eq(v.hash, h1);
    ck_assert_str_eq(v.fingerprint, f1);
    ck_assert_str_eq(v.created, "2024-01-02T03:04:05Z");
    ck_assert_int_eq(v.state, STORE_DEPRECATED);
    store_version_clear(&v);
    ck_assert_int_eq(store_get_version(st, "t", 2, &v, &err), 0);
    ck_assert_str_eq(v.layout, t2);
    ck_assert_int_eq(v.state, STORE_PUBLISHED);
    store_version_clear(&v);
    struct store_type t = {0};
    ck_assert_int_eq(store_get_type(st, "t", &t, &err), 0);
    ck_assert_str_eq(t.description, "old type");
    ck_assert_uint_eq(t.latest, 2);
    free(t.description);
    char *json = NULL;
    ck_assert_int_eq(store_load_inventory(st, &json, NULL, NULL, &err), 0);
    ck_assert_str_eq(json, "{\"devices\":[]}");
    free(json);

    /* And works as a version 2 store. */
    bool c = false;
    ck_assert_uint_eq(publish(st, "t", "bytes.vpci", &c), 3);
    ck_assert(c);
    char *resolved = fixture("example.vpci", NULL);
    const char *bdfs[] = {BDF_A};
    struct cands cs;
    make_cands(&cs, "vm1", bdfs, 1, resolved);
    struct store_attach_req req = {.vm = "vm1",
                                   .instance_type = "t",
                                   .version = 2,
                                   .state = STORE_ATT_ACTIVE};
    struct store_attachment a = {0};
    ck_assert_int_eq(store_attach(st, "api", &req, cs.c, 1, &a, NULL, &err), 0);
    ck_assert_str_eq(a.hash, h2);
    store_attachment_clear(&a);
    store_close(st);
    ck_assert_str_eq(
        raw_text_file("SELECT group_concat(version || origin, ',') FROM"
                      " (SELECT * FROM versions ORDER BY version)"),
        "1local,2local,3local");
    ck_assert_str_eq(raw_text_file("SELECT group_concat(actor || ' ' ||"
                                   " action, ',') FROM (SELECT * FROM audit"
                                   " ORDER BY id)"),
                     "alice create,bob publish,api attach");
    /* The v1 rules still hold after the upgrade. */
    db = raw_open();
    ck_assert_int_eq(sqlite3_exec(db, "DELETE FROM versions", NULL, NULL, NULL),
                     SQLITE_CONSTRAINT);
    ck_assert_int_eq(
        sqlite3_exec(db, "UPDATE versions SET layout = 'x'", NULL, NULL, NULL),
        SQLITE_CONSTRAINT);
    sqlite3_close(db);
    free(resolved);
    free(t1);
    free(t2);
}
END_TEST

START_TEST(test_migrate_to_bounds)
{
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    struct store_error err = {0};
    ck_assert_int_eq(store_schema_migrate_to(db, 0, &err), -EINVAL);
    ck_assert_int_eq(
        store_schema_migrate_to(db, STORE_SCHEMA_VERSION + 1, &err), -EINVAL);
    ck_assert_int_eq(store_schema_migrate_to(db, STORE_SCHEMA_VERSION, &err),
                     0);
    /* A database already past the target stays as it is. */
    ck_assert_int_eq(store_schema_migrate_to(db, 1, &err), 0);
    ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    sqlite3_close(db);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_migrate_empty);
    tcase_add_test(tc, test_reopen_keeps_everything);
    tcase_add_test(tc, test_newer_schema_refused);
    tcase_add_test(tc, test_foreign_database_refused);
    tcase_add_test(tc, test_create_publish_dedupe);
    tcase_add_test(tc, test_version_numbering);
    tcase_add_test(tc, test_invalid_layout);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_direct_sql_refused);
    tcase_add_test(tc, test_audit_and_deprecate);
    tcase_add_test(tc, test_inventory);
    tcase_add_test(tc, test_two_connections);
    tcase_add_test(tc, test_concurrent_publishers);
    tcase_add_test(tc, test_attach_get_list_end);
    tcase_add_test(tc, test_attachment_states);
    tcase_add_test(tc, test_attach_request_id);
    tcase_add_test(tc, test_attach_invalid);
    tcase_add_test(tc, test_attachments_reopen);
    tcase_add_test(tc, test_expiry);
    tcase_add_test(tc, test_attachments_direct_sql);
    tcase_add_test(tc, test_concurrent_attach);
    tcase_add_test(tc, test_import);
    tcase_add_test(tc, test_migrate_v1_to_v2);
    tcase_add_test(tc, test_migrate_to_bounds);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(store_suite());
}
