/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The store's operations.  Every statement is prepared once at open with
 * bound parameters; user data never becomes SQL text.  Every write runs in
 * a BEGIN IMMEDIATE transaction so that reads deciding what to write (the
 * next version number, whether the content exists) see the state the
 * write lands on.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "store.h"
#include "store_internal.h"

/* How long a writer waits for another connection's write transaction. */
#define STORE_BUSY_TIMEOUT_MS 5000

#define VERSION_COLS "name, version, hash, fingerprint, state, created"

static const char *const stmt_sql[S__COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_TYPE_EXISTS] = "SELECT 1 FROM instance_types WHERE name = ?1",
    [S_TYPE_INSERT] = "INSERT INTO instance_types (name, description, created)"
                      " VALUES (?1, ?2, " NOW ")",
    [S_TYPE_LIST] = "SELECT t.name, t.description, t.created,"
                    " (SELECT coalesce(max(v.version), 0) FROM versions v"
                    "  WHERE v.name = t.name)"
                    " FROM instance_types t ORDER BY t.name",
    [S_TYPE_GET] = "SELECT t.name, t.description, t.created,"
                   " (SELECT coalesce(max(v.version), 0) FROM versions v"
                   "  WHERE v.name = t.name)"
                   " FROM instance_types t WHERE t.name = ?1",
    [S_COUNTS] = "SELECT (SELECT count(*) FROM instance_types),"
                 " (SELECT count(*) FROM versions WHERE state = 'published'),"
                 " (SELECT count(*) FROM versions WHERE state = 'deprecated')",
    [S_VERSION_BY_HASH] =
        "SELECT version FROM versions WHERE name = ?1 AND hash = ?2",
    [S_VERSION_NEXT] = "SELECT coalesce(max(version), 0) + 1 FROM versions"
                       " WHERE name = ?1",
    [S_VERSION_INSERT] =
        "INSERT INTO versions"
        " (name, version, layout, hash, fingerprint, created, state, origin)"
        " VALUES (?1, ?2, ?3, ?4, ?5, " NOW ", 'published', ?6)",
    [S_VERSION_GET] = "SELECT " VERSION_COLS ", layout FROM versions"
                      " WHERE name = ?1 AND version = ?2",
    [S_VERSION_LATEST] = "SELECT " VERSION_COLS ", layout FROM versions"
                         " WHERE name = ?1 ORDER BY version DESC LIMIT 1",
    [S_VERSION_PEEK] = "SELECT " VERSION_COLS " FROM versions"
                       " WHERE name = ?1 AND version = ?2",
    [S_VERSION_PEEK_LATEST] = "SELECT " VERSION_COLS " FROM versions"
                              " WHERE name = ?1 ORDER BY version DESC LIMIT 1",
    [S_VERSION_LIST] = "SELECT " VERSION_COLS " FROM versions"
                       " WHERE name = ?1 ORDER BY version",
    [S_VERSION_STATE] =
        "SELECT state FROM versions WHERE name = ?1 AND version = ?2",
    [S_VERSION_DEPRECATE] = "UPDATE versions SET state = 'deprecated'"
                            " WHERE name = ?1 AND version = ?2"
                            " AND state = 'published'",
    [S_INVENTORY_SAVE] =
        "INSERT INTO inventory (id, scanned, data)"
        " VALUES (1, " NOW ", ?1)"
        " ON CONFLICT (id) DO UPDATE"
        " SET scanned = excluded.scanned, data = excluded.data",
    [S_INVENTORY_LOAD] = "SELECT data, scanned FROM inventory WHERE id = 1",
    [S_AUDIT_INSERT] = "INSERT INTO audit (time, actor, action, object, detail)"
                       " VALUES (" NOW ", ?1, ?2, ?3, ?4)",
};

/* ------------------------------------------------------------ helpers */

const char *store_state_name(enum store_state s)
{
    return s == STORE_DEPRECATED ? "deprecated" : "published";
}

bool store_name_valid(const char *name)
{
    if (!name)
        return false;
    size_t i = 0;
    for (; name[i]; i++) {
        unsigned char c = (unsigned char)name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (i >= STORE_NAME_MAX ||
            !(alnum || (i > 0 && (c == '.' || c == '_' || c == '-'))))
            return false;
    }
    return i > 0;
}

/* UTF-8 of 1..max bytes (0..max if empty_ok), no control characters. */
bool store_text_valid(const char *s, size_t max, bool empty_ok)
{
    if (!s)
        return false;
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    while (p[n]) {
        unsigned c = p[n], len, cp;
        if (c < 0x20 || c == 0x7f)
            return false;
        if (c < 0x80) {
            n++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            len = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4, cp = c & 0x07;
        else
            return false;
        for (unsigned k = 1; k < len; k++) {
            if ((p[n + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[n + k] & 0x3f);
        }
        /* overlong, surrogate, beyond U+10FFFF, C1 controls */
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
            (cp >= 0x80 && cp <= 0x9f))
            return false;
        n += len;
        if (n > max)
            return false;
    }
    return n <= max && (empty_ok || n > 0);
}

bool store_action_valid(const char *s)
{
    size_t n = 0;
    for (; s && s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return false;
    }
    return n > 0 && n <= STORE_ACTION_MAX;
}

static bool object_valid(const char *s)
{
    size_t n = 0;
    for (; s && s[n]; n++)
        if (s[n] < 0x20 || s[n] > 0x7e)
            return false;
    return n > 0 && n <= STORE_OBJECT_MAX;
}

/* The statement, reset and with no bindings. */
sqlite3_stmt *store_stmt(struct store *st, enum stmt_id id)
{
    sqlite3_stmt *s = st->stmt[id];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

int store_fail(struct store *st, sqlite3_stmt *s, int rc, const char *what,
               struct store_error *err)
{
    int e = store_err_sqlite(err, st->db, rc, what);
    if (s)
        sqlite3_reset(s);
    return e;
}

/* Run a statement expected to return no row. */
int store_run(struct store *st, sqlite3_stmt *s, const char *what,
              struct store_error *err)
{
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        return store_fail(st, s, rc == SQLITE_ROW ? SQLITE_ERROR : rc, what,
                          err);
    sqlite3_reset(s);
    return 0;
}

int store_bind_text(struct store *st, sqlite3_stmt *s, int i, const char *t,
                    size_t len, struct store_error *err)
{
    if (len > INT_MAX)
        return store_fail(st, s, SQLITE_TOOBIG, "bind", err);
    int rc = sqlite3_bind_text(s, i, t, (int)len, SQLITE_STATIC);
    return rc == SQLITE_OK ? 0 : store_fail(st, s, rc, "bind", err);
}

int store_bind_str(struct store *st, sqlite3_stmt *s, int i, const char *t,
                   struct store_error *err)
{
    return store_bind_text(st, s, i, t, strlen(t), err);
}

int store_tx_begin(struct store *st, struct store_error *err)
{
    return store_run(st, store_stmt(st, S_BEGIN), "begin", err);
}

int store_tx_commit(struct store *st, struct store_error *err)
{
    return store_run(st, store_stmt(st, S_COMMIT), "commit", err);
}

void store_tx_rollback(struct store *st)
{
    if (!sqlite3_get_autocommit(st->db)) {
        sqlite3_stmt *s = store_stmt(st, S_ROLLBACK);
        sqlite3_step(s);
        sqlite3_reset(s);
    }
}

/* Copy column i (text of 1..max bytes) into buf[max + 1]; distrusts the
 * file as much as any other input. */
bool store_col_copy(sqlite3_stmt *s, int i, char *buf, size_t max)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    int n = sqlite3_column_bytes(s, i);
    if (!t || n <= 0 || (size_t)n > max || memchr(t, '\0', (size_t)n))
        return false;
    memcpy(buf, t, (size_t)n);
    buf[n] = '\0';
    return true;
}

char *store_col_dup(sqlite3_stmt *s, int i, size_t *ret_len)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    int n = sqlite3_column_bytes(s, i);
    if (n < 0 || (!t && n > 0))
        return NULL;
    char *out = malloc((size_t)n + 1);
    if (!out)
        return NULL;
    if (n)
        memcpy(out, t, (size_t)n);
    out[n] = '\0';
    if (ret_len)
        *ret_len = (size_t)n;
    return out;
}

/* A row of VERSION_COLS (+ layout) into *v. */
static int row_version(struct store *st, sqlite3_stmt *s, bool with_layout,
                       struct store_version *v, struct store_error *err)
{
    memset(v, 0, sizeof(*v));
    sqlite3_int64 n = sqlite3_column_int64(s, 1);
    char state[16];
    if (!store_col_copy(s, 0, v->name, STORE_NAME_MAX) || n < 1 ||
        n > UINT_MAX || !store_col_copy(s, 2, v->hash, VPCI_HASH_STRLEN - 1) ||
        !store_col_copy(s, 3, v->fingerprint, VPCI_HASH_STRLEN - 1) ||
        !store_col_copy(s, 4, state, sizeof(state) - 1) ||
        !store_col_copy(s, 5, v->created, STORE_TIME_LEN - 1)) {
        store_err_set(err, "malformed version row in the database");
        return -EIO;
    }
    v->version = (unsigned)n;
    if (!strcmp(state, "published"))
        v->state = STORE_PUBLISHED;
    else if (!strcmp(state, "deprecated"))
        v->state = STORE_DEPRECATED;
    else {
        store_err_set(err, "unknown version state '%s' in the database", state);
        return -EIO;
    }
    if (with_layout) {
        v->layout = store_col_dup(s, 6, &v->layout_len);
        if (!v->layout)
            return store_fail(st, NULL, SQLITE_NOMEM, "read layout", err);
    }
    return 0;
}

void store_version_clear(struct store_version *v)
{
    if (!v)
        return;
    free(v->layout);
    memset(v, 0, sizeof(*v));
}

void store_versions_free(struct store_version *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i].layout);
    free(v);
}

void store_types_free(struct store_type *t, size_t n)
{
    if (!t)
        return;
    for (size_t i = 0; i < n; i++)
        free(t[i].description);
    free(t);
}

/* ------------------------------------------------------------ layouts */

/* Parse, validate and canonicalise; touches no database. */
int store_canon_layout(const char *text, size_t len, struct store_canon *c,
                       struct store_error *err)
{
    memset(c, 0, sizeof(*c));
    if (!text) {
        store_err_set(err, "no layout text");
        return -EINVAL;
    }
    if (len > STORE_LAYOUT_MAX) {
        store_err_set(err, "layout text of %zu bytes is over the limit of %d",
                      len, STORE_LAYOUT_MAX);
        return -EINVAL;
    }
    struct vpci_layout *l = NULL;
    struct vpci_error perr = {0};
    int r = vpci_layout_parse(text, len, &l, &perr);
    if (r < 0) {
        if (r == -EINVAL && err) {
            err->line = perr.line;
            err->col = perr.col;
            snprintf(err->msg, sizeof(err->msg), "%u:%u: %s", perr.line,
                     perr.col, perr.msg);
        } else {
            store_err_set(err, "layout parser: %s", strerror(-r));
        }
        return r;
    }
    /* Without binding: the binding places a resolved layout on one
     * function and is not part of the content hash, so the stored text is
     * exactly what its hash covers. */
    if ((r = vpci_layout_format_unbound(l, &c->text, &c->len)) < 0 ||
        (r = vpci_layout_hash(l, c->hash)) < 0 ||
        (r = vpci_layout_fingerprint(l, c->fingerprint)) < 0) {
        store_err_set(err, "canonical form of the layout: %s", strerror(-r));
    }
    vpci_layout_free(l);
    if (r < 0) {
        free(c->text);
        c->text = NULL;
    }
    return r;
}

/* ------------------------------------------------------------ open/close */

static int pragma(struct store *st, const char *sql, const char *expect,
                  struct store_error *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return store_fail(st, NULL, rc, sql, err);
    rc = sqlite3_step(s);
    int r = 0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        r = store_fail(st, NULL, rc, sql, err);
    } else if (expect) {
        const unsigned char *got =
            rc == SQLITE_ROW ? sqlite3_column_text(s, 0) : NULL;
        if (!got || strcmp((const char *)got, expect)) {
            store_err_set(err, "%s: got '%s', need '%s'", sql,
                          got ? (const char *)got : "", expect);
            r = -EIO;
        }
    }
    sqlite3_finalize(s);
    return r;
}

int store_open(const char *path, struct store **ret, struct store_error *err)
{
    if (!path || !*path || !ret) {
        store_err_set(err, "no database path");
        return -EINVAL;
    }
    struct store *st = calloc(1, sizeof(*st));
    if (!st) {
        store_err_set(err, "out of memory");
        return -ENOMEM;
    }
    int r;
    int rc = sqlite3_open_v2(path, &st->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        r = store_err_sqlite(err, st->db, rc, path);
        goto fail;
    }
    sqlite3_extended_result_codes(st->db, 1);
    /* Defensive mode: no writable_schema or journal tricks that could
     * corrupt the file from SQL.  trusted_schema stays on because the
     * schema's CHECKs call json_valid(), which SQLite 3.40 does not mark
     * innocuous; the file lives in vpcid's own state directory. */
    sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
    /*
     * synchronous=FULL: in WAL mode NORMAL syncs only at checkpoints, so a
     * power loss can take back transactions already reported committed.
     * What an operator publishes must survive once acknowledged; the cost
     * is one fsync per write, and writes are rare.
     */
    if ((r = pragma(st, "PRAGMA journal_mode = WAL", "wal", err)) < 0 ||
        (r = pragma(st, "PRAGMA foreign_keys = ON", NULL, err)) < 0 ||
        (r = pragma(st, "PRAGMA foreign_keys", "1", err)) < 0 ||
        (r = pragma(st, "PRAGMA synchronous = FULL", NULL, err)) < 0 ||
        (r = pragma(st, "PRAGMA synchronous", "2", err)) < 0)
        goto fail;
    if ((r = store_schema_migrate(st->db, err)) < 0)
        goto fail;
    for (int i = 0; i < S__COUNT; i++) {
        rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1,
                                SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL);
        if (rc != SQLITE_OK) {
            r = store_err_sqlite(err, st->db, rc, stmt_sql[i]);
            goto fail;
        }
    }
    for (int i = 0; i < A__COUNT; i++) {
        rc = sqlite3_prepare_v3(st->db, store_att_sql[i], -1,
                                SQLITE_PREPARE_PERSISTENT, &st->att[i], NULL);
        if (rc != SQLITE_OK) {
            r = store_err_sqlite(err, st->db, rc, store_att_sql[i]);
            goto fail;
        }
    }
    *ret = st;
    return 0;
fail:
    store_close(st);
    return r;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    for (int i = 0; i < S__COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    for (int i = 0; i < A__COUNT; i++)
        sqlite3_finalize(st->att[i]);
    sqlite3_close(st->db);
    free(st);
}

/* ------------------------------------------------------------ audit */

int store_audit_insert(struct store *st, const char *actor, const char *action,
                       const char *object, const char *detail,
                       struct store_error *err)
{
    sqlite3_stmt *s = store_stmt(st, S_AUDIT_INSERT);
    int r;
    if ((r = store_bind_str(st, s, 1, actor, err)) < 0 ||
        (r = store_bind_str(st, s, 2, action, err)) < 0 ||
        (r = store_bind_str(st, s, 3, object, err)) < 0 ||
        (r = store_bind_str(st, s, 4, detail ? detail : "{}", err)) < 0)
        return r;
    return store_run(st, s, "audit", err);
}

/* The audit row of a new version; every string in it is of a checked
 * charset, so printf builds valid JSON. */
static int audit_version(struct store *st, const char *actor,
                         const char *action, const char *name, unsigned n,
                         const char *hash, const char *fingerprint,
                         struct store_error *err)
{
    char object[STORE_OBJECT_MAX + 1], detail[256];
    snprintf(object, sizeof(object), "types/%s/versions/%u", name, n);
    if (fingerprint)
        snprintf(detail, sizeof(detail),
                 "{\"version\":%u,\"hash\":\"%s\",\"fingerprint\":\"%s\"}", n,
                 hash, fingerprint);
    else
        snprintf(detail, sizeof(detail), "{\"version\":%u}", n);
    return store_audit_insert(st, actor, action, object, detail, err);
}

int store_audit(struct store *st, const char *actor, const char *action,
                const char *object, const char *detail_json,
                struct store_error *err)
{
    if (!st || !store_text_valid(actor, STORE_ACTOR_MAX, false) ||
        !store_action_valid(action) || !object_valid(object) ||
        (detail_json && strlen(detail_json) > STORE_DETAIL_MAX)) {
        store_err_set(err, "invalid audit actor, action, object or detail");
        return -EINVAL;
    }
    int r = store_tx_begin(st, err);
    if (r < 0)
        return r;
    if ((r = store_audit_insert(st, actor, action, object, detail_json, err)) <
            0 ||
        (r = store_tx_commit(st, err)) < 0)
        store_tx_rollback(st);
    return r;
}

/* ------------------------------------------------------------ versions */

int store_type_exists(struct store *st, const char *name,
                      struct store_error *err)
{
    sqlite3_stmt *s = store_stmt(st, S_TYPE_EXISTS);
    int r = store_bind_str(st, s, 1, name, err);
    if (r < 0)
        return r;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return store_fail(st, NULL, rc, "look up type", err);
}

/* Version n (0 = latest) of name; -ENOENT if none. */
static int read_version_as(struct store *st, const char *name, unsigned n,
                           bool with_layout, struct store_version *v,
                           struct store_error *err)
{
    sqlite3_stmt *s = store_stmt(
        st, with_layout ? (n ? S_VERSION_GET : S_VERSION_LATEST)
                        : (n ? S_VERSION_PEEK : S_VERSION_PEEK_LATEST));
    int r = store_bind_str(st, s, 1, name, err);
    if (r < 0)
        return r;
    if (n && sqlite3_bind_int64(s, 2, n) != SQLITE_OK)
        return store_fail(st, s, SQLITE_ERROR, "bind", err);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        if (n)
            store_err_set(err, "no version %u of instance type '%s'", n, name);
        else
            store_err_set(err, "no instance type '%s'", name);
        return -ENOENT;
    }
    if (rc != SQLITE_ROW)
        return store_fail(st, s, rc, "read version", err);
    r = row_version(st, s, with_layout, v, err);
    sqlite3_reset(s);
    if (r < 0)
        store_version_clear(v);
    return r;
}

int store_read_version(struct store *st, const char *name, unsigned n,
                       struct store_version *v, struct store_error *err)
{
    return read_version_as(st, name, n, true, v, err);
}

/* Insert version n of c; then read it back into *ret_ver if asked. */
int store_insert_version(struct store *st, const char *actor,
                         const char *action, const char *name, unsigned n,
                         enum store_origin origin, const struct store_canon *c,
                         struct store_version *ret_ver, struct store_error *err)
{
    sqlite3_stmt *s = store_stmt(st, S_VERSION_INSERT);
    int r;
    if ((r = store_bind_str(st, s, 1, name, err)) < 0)
        return r;
    if (sqlite3_bind_int64(s, 2, n) != SQLITE_OK)
        return store_fail(st, s, SQLITE_ERROR, "bind", err);
    if ((r = store_bind_text(st, s, 3, c->text, c->len, err)) < 0 ||
        (r = store_bind_str(st, s, 4, c->hash, err)) < 0 ||
        (r = store_bind_str(st, s, 5, c->fingerprint, err)) < 0 ||
        (r = store_bind_str(st, s, 6,
                            origin == STORE_ORIGIN_IMPORT ? "import" : "local",
                            err)) < 0 ||
        (r = store_run(st, s, "insert version", err)) < 0)
        return r;
    if ((r = audit_version(st, actor, action, name, n, c->hash, c->fingerprint,
                           err)) < 0)
        return r;
    return ret_ver ? store_read_version(st, name, n, ret_ver, err) : 0;
}

int store_check_args(struct store *st, const char *actor, const char *name,
                     struct store_error *err)
{
    if (!st) {
        store_err_set(err, "no store");
        return -EINVAL;
    }
    if (!store_name_valid(name)) {
        store_err_set(err, "invalid instance type name: need "
                           "[a-z0-9][a-z0-9._-]{0,62}");
        return -EINVAL;
    }
    if (actor && !store_text_valid(actor, STORE_ACTOR_MAX, false)) {
        store_err_set(err,
                      "invalid actor: need 1 to %d bytes of UTF-8 "
                      "without control characters",
                      STORE_ACTOR_MAX);
        return -EINVAL;
    }
    return 0;
}

int store_create_type(struct store *st, const char *actor, const char *name,
                      const char *description, const char *layout, size_t len,
                      struct store_version *ret_ver, struct store_error *err)
{
    int r = store_check_args(st, actor ? actor : "", name, err);
    if (r < 0)
        return r;
    if (description &&
        !store_text_valid(description, STORE_DESCRIPTION_MAX, true)) {
        store_err_set(err,
                      "invalid description: need at most %d bytes of "
                      "UTF-8 without control characters",
                      STORE_DESCRIPTION_MAX);
        return -EINVAL;
    }
    struct store_canon c;
    if ((r = store_canon_layout(layout, len, &c, err)) < 0)
        return r;
    struct store_version v = {0};
    if ((r = store_tx_begin(st, err)) < 0)
        goto out;
    r = store_type_exists(st, name, err);
    if (r > 0) {
        store_err_set(err, "instance type '%s' exists", name);
        r = -EEXIST;
    }
    if (r < 0)
        goto out;
    sqlite3_stmt *s = store_stmt(st, S_TYPE_INSERT);
    if ((r = store_bind_str(st, s, 1, name, err)) < 0 ||
        (r = store_bind_str(st, s, 2, description ? description : "", err)) <
            0 ||
        (r = store_run(st, s, "insert type", err)) < 0 ||
        (r = store_insert_version(st, actor, "create", name, 1,
                                  STORE_ORIGIN_LOCAL, &c, ret_ver ? &v : NULL,
                                  err)) < 0 ||
        (r = store_tx_commit(st, err)) < 0)
        goto out;
    if (ret_ver)
        *ret_ver = v;
    v.layout = NULL;
out:
    store_tx_rollback(st);
    store_version_clear(&v);
    free(c.text);
    return r;
}

int store_publish(struct store *st, const char *actor, const char *name,
                  const char *layout, size_t len, struct store_version *ret_ver,
                  bool *ret_created, struct store_error *err)
{
    int r = store_check_args(st, actor ? actor : "", name, err);
    if (r < 0)
        return r;
    struct store_canon c;
    if ((r = store_canon_layout(layout, len, &c, err)) < 0)
        return r;
    struct store_version v = {0};
    bool created = false;
    if ((r = store_tx_begin(st, err)) < 0)
        goto out;
    if ((r = store_type_exists(st, name, err)) == 0) {
        store_err_set(err, "no instance type '%s'", name);
        r = -ENOENT;
    }
    if (r < 0)
        goto out;

    sqlite3_stmt *s = store_stmt(st, S_VERSION_BY_HASH);
    if ((r = store_bind_str(st, s, 1, name, err)) < 0 ||
        (r = store_bind_str(st, s, 2, c.hash, err)) < 0)
        goto out;
    int rc = sqlite3_step(s);
    sqlite3_int64 n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        r = store_fail(st, NULL, rc, "look up content", err);
        goto out;
    }
    if (rc == SQLITE_ROW) {
        /* Same content: the existing version, nothing written. */
        if (n < 1 || n > UINT_MAX) {
            store_err_set(err, "malformed version row in the database");
            r = -EIO;
            goto out;
        }
        if (ret_ver &&
            (r = store_read_version(st, name, (unsigned)n, &v, err)) < 0)
            goto out;
    } else {
        s = store_stmt(st, S_VERSION_NEXT);
        if ((r = store_bind_str(st, s, 1, name, err)) < 0)
            goto out;
        rc = sqlite3_step(s);
        n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
        sqlite3_reset(s);
        if (rc != SQLITE_ROW) {
            r = store_fail(st, NULL, rc == SQLITE_DONE ? SQLITE_ERROR : rc,
                           "next version", err);
            goto out;
        }
        if (n < 1 || n > UINT_MAX) {
            store_err_set(err, "no version number left for '%s'", name);
            r = -EOVERFLOW;
            goto out;
        }
        if ((r = store_insert_version(st, actor, "publish", name, (unsigned)n,
                                      STORE_ORIGIN_LOCAL, &c,
                                      ret_ver ? &v : NULL, err)) < 0)
            goto out;
        created = true;
    }
    if ((r = store_tx_commit(st, err)) < 0)
        goto out;
    if (ret_ver)
        *ret_ver = v;
    v.layout = NULL;
    if (ret_created)
        *ret_created = created;
out:
    store_tx_rollback(st);
    store_version_clear(&v);
    free(c.text);
    return r;
}

int store_get_version(struct store *st, const char *name, unsigned n,
                      struct store_version *ret_ver, struct store_error *err)
{
    int r = store_check_args(st, NULL, name, err);
    if (r < 0)
        return r;
    struct store_version v;
    if ((r = store_read_version(st, name, n, &v, err)) < 0)
        return r;
    if (ret_ver)
        *ret_ver = v;
    else
        store_version_clear(&v);
    return 0;
}

int store_peek_version(struct store *st, const char *name, unsigned n,
                       struct store_version *ret_ver, struct store_error *err)
{
    int r = store_check_args(st, NULL, name, err);
    if (r < 0)
        return r;
    struct store_version v;
    if ((r = read_version_as(st, name, n, false, &v, err)) < 0)
        return r;
    *ret_ver = v;
    return 0;
}

int store_collect(struct store *st, sqlite3_stmt *s, size_t sz,
                  store_row_fn row, void (*free_rows)(void *arr, size_t n),
                  const char *what, void **ret, size_t *ret_n,
                  struct store_error *err)
{
    char *arr = NULL;
    size_t n = 0, cap = 0;
    int rc, r = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char *p = ncap <= SIZE_MAX / sz ? realloc(arr, ncap * sz) : NULL;
            if (!p) {
                r = store_fail(st, s, SQLITE_NOMEM, what, err);
                goto fail;
            }
            arr = p;
            cap = ncap;
        }
        if ((r = row(st, s, arr + n * sz, err)) < 0)
            goto fail;
        n++;
    }
    if (rc != SQLITE_DONE) {
        r = store_fail(st, s, rc, what, err);
        goto fail;
    }
    sqlite3_reset(s);
    *ret = arr;
    *ret_n = n;
    return 0;
fail:
    sqlite3_reset(s);
    free_rows(arr, n);
    return r;
}

/* One row of S_TYPE_LIST / S_TYPE_GET into *e (zeroed first). */
static int row_type(struct store *st, sqlite3_stmt *s, struct store_type *e,
                    struct store_error *err)
{
    memset(e, 0, sizeof(*e));
    sqlite3_int64 latest = sqlite3_column_int64(s, 3);
    if (!store_col_copy(s, 0, e->name, STORE_NAME_MAX) ||
        !store_col_copy(s, 2, e->created, STORE_TIME_LEN - 1) || latest < 0 ||
        latest > UINT_MAX) {
        store_err_set(err, "malformed instance type row in the database");
        return -EIO;
    }
    e->latest = (unsigned)latest;
    if (!(e->description = store_col_dup(s, 1, NULL)))
        return store_fail(st, s, SQLITE_NOMEM, "read type", err);
    return 0;
}

/* store_collect's views of the row readers and the free functions. */
static int list_row_type(struct store *st, sqlite3_stmt *s, void *e,
                         struct store_error *err)
{
    return row_type(st, s, e, err);
}

static void free_types(void *arr, size_t n)
{
    store_types_free(arr, n);
}

static int list_row_version(struct store *st, sqlite3_stmt *s, void *e,
                            struct store_error *err)
{
    return row_version(st, s, false, e, err);
}

static void free_versions(void *arr, size_t n)
{
    store_versions_free(arr, n);
}

int store_list_types(struct store *st, struct store_type **ret, size_t *ret_n,
                     struct store_error *err)
{
    if (!st || !ret || !ret_n) {
        store_err_set(err, "no store or result");
        return -EINVAL;
    }
    void *arr = NULL;
    int r = store_collect(st, store_stmt(st, S_TYPE_LIST), sizeof(**ret),
                          list_row_type, free_types, "list types", &arr, ret_n,
                          err);
    if (r == 0)
        *ret = arr;
    return r;
}

int store_get_type(struct store *st, const char *name,
                   struct store_type *ret_type, struct store_error *err)
{
    if (!st || !ret_type || !name || !store_name_valid(name)) {
        store_err_set(err, "no store, result or valid name");
        return -EINVAL;
    }
    sqlite3_stmt *s = store_stmt(st, S_TYPE_GET);
    int r = store_bind_str(st, s, 1, name, err);
    if (r < 0)
        return r;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        store_err_set(err, "no instance type '%s'", name);
        return -ENOENT;
    }
    if (rc != SQLITE_ROW)
        return store_fail(st, s, rc, "get type", err);
    struct store_type t;
    r = row_type(st, s, &t, err);
    sqlite3_reset(s);
    if (r < 0) {
        free(t.description);
        return r;
    }
    *ret_type = t;
    return 0;
}

int store_counts(struct store *st, struct store_counts *ret,
                 struct store_error *err)
{
    if (!st || !ret) {
        store_err_set(err, "no store or result");
        return -EINVAL;
    }
    sqlite3_stmt *s = store_stmt(st, S_COUNTS);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return store_fail(st, s, rc, "count", err);
    ret->types = (unsigned long)sqlite3_column_int64(s, 0);
    ret->published = (unsigned long)sqlite3_column_int64(s, 1);
    ret->deprecated = (unsigned long)sqlite3_column_int64(s, 2);
    sqlite3_reset(s);
    return 0;
}

int store_list_versions(struct store *st, const char *name,
                        struct store_version **ret, size_t *ret_n,
                        struct store_error *err)
{
    int r = store_check_args(st, NULL, name, err);
    if (r < 0)
        return r;
    if (!ret || !ret_n) {
        store_err_set(err, "no result");
        return -EINVAL;
    }
    if ((r = store_type_exists(st, name, err)) <= 0) {
        if (r == 0) {
            store_err_set(err, "no instance type '%s'", name);
            r = -ENOENT;
        }
        return r;
    }
    sqlite3_stmt *s = store_stmt(st, S_VERSION_LIST);
    if ((r = store_bind_str(st, s, 1, name, err)) < 0)
        return r;
    void *arr = NULL;
    r = store_collect(st, s, sizeof(**ret), list_row_version, free_versions,
                      "list versions", &arr, ret_n, err);
    if (r == 0)
        *ret = arr;
    return r;
}

int store_deprecate(struct store *st, const char *actor, const char *name,
                    unsigned n, struct store_error *err)
{
    int r = store_check_args(st, actor ? actor : "", name, err);
    if (r < 0)
        return r;
    if (n < 1) {
        store_err_set(err, "version numbers start at 1");
        return -EINVAL;
    }
    if ((r = store_tx_begin(st, err)) < 0)
        return r;
    sqlite3_stmt *s = store_stmt(st, S_VERSION_STATE);
    if ((r = store_bind_str(st, s, 1, name, err)) < 0)
        goto out;
    if (sqlite3_bind_int64(s, 2, n) != SQLITE_OK) {
        r = store_fail(st, s, SQLITE_ERROR, "bind", err);
        goto out;
    }
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        store_err_set(err, "no version %u of instance type '%s'", n, name);
        r = -ENOENT;
    } else if (rc != SQLITE_ROW) {
        r = store_fail(st, NULL, rc, "read state", err);
    } else {
        const unsigned char *state = sqlite3_column_text(s, 0);
        if (state && !strcmp((const char *)state, "deprecated")) {
            store_err_set(err, "version %u of '%s' is already deprecated", n,
                          name);
            r = -EALREADY;
        }
    }
    sqlite3_reset(s);
    if (r < 0)
        goto out;
    s = store_stmt(st, S_VERSION_DEPRECATE);
    if ((r = store_bind_str(st, s, 1, name, err)) < 0)
        goto out;
    if (sqlite3_bind_int64(s, 2, n) != SQLITE_OK) {
        r = store_fail(st, s, SQLITE_ERROR, "bind", err);
        goto out;
    }
    if ((r = store_run(st, s, "deprecate", err)) < 0 ||
        (r = audit_version(st, actor, "deprecate", name, n, NULL, NULL, err)) <
            0 ||
        (r = store_tx_commit(st, err)) < 0)
        goto out;
    return 0;
out:
    store_tx_rollback(st);
    return r;
}

/* ------------------------------------------------------------ inventory */

int store_save_inventory(struct store *st, const char *json, size_t len,
                         struct store_error *err)
{
    if (!st || !json || len == 0 || len > STORE_INVENTORY_MAX ||
        memchr(json, '\0', len)) {
        store_err_set(err, "invalid inventory: need 1 to %d bytes of JSON",
                      STORE_INVENTORY_MAX);
        return -EINVAL;
    }
    int r = store_tx_begin(st, err);
    if (r < 0)
        return r;
    sqlite3_stmt *s = store_stmt(st, S_INVENTORY_SAVE);
    if ((r = store_bind_text(st, s, 1, json, len, err)) < 0 ||
        (r = store_run(st, s, "save inventory", err)) < 0 ||
        (r = store_tx_commit(st, err)) < 0)
        store_tx_rollback(st);
    return r;
}

int store_load_inventory(struct store *st, char **ret_json, size_t *ret_len,
                         char ret_time[STORE_TIME_LEN], struct store_error *err)
{
    if (!st || !ret_json) {
        store_err_set(err, "no store or result");
        return -EINVAL;
    }
    sqlite3_stmt *s = store_stmt(st, S_INVENTORY_LOAD);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        store_err_set(err, "no inventory saved");
        return -ENOENT;
    }
    if (rc != SQLITE_ROW)
        return store_fail(st, s, rc, "load inventory", err);
    char when[STORE_TIME_LEN];
    if (!store_col_copy(s, 1, when, STORE_TIME_LEN - 1)) {
        sqlite3_reset(s);
        store_err_set(err, "malformed inventory row in the database");
        return -EIO;
    }
    size_t len;
    char *json = store_col_dup(s, 0, &len);
    sqlite3_reset(s);
    if (!json) {
        store_err_set(err, "out of memory");
        return -ENOMEM;
    }
    *ret_json = json;
    if (ret_len)
        *ret_len = len;
    if (ret_time)
        memcpy(ret_time, when, STORE_TIME_LEN);
    return 0;
}
