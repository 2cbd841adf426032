/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Attachments: which VM holds which function, and imported versions.
 *
 * The schema keeps one row per BDF, so two callers can never hold the same
 * function; store_attach picks the first free candidate inside BEGIN
 * IMMEDIATE, so of many connections racing for the same devices each gets a
 * different one or -ENOSPC, never a constraint error.  Incoming
 * reservations that have expired are deleted (with an "expire" audit row)
 * by the next write that runs here, and every read leaves them out until
 * then, so nobody sees a reservation after its time whether or not a write
 * came by.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "schema.h"
#include "store.h"
#include "store_internal.h"

#define ATT_COLS                                                               \
    "id, vm, bdf, instance_type, version, hash, fingerprint, path, state,"     \
    " created, expires, request_id"
/* Expired: expires < now, as UTC text (the format sorts as time does). */
#define LIVE "(state <> 'incoming' OR expires >= " NOW ")"

/* A resolved layout carries a binding section with a map line per
 * capability and BAR on top of the layout itself. */
#define RESOLVED_MAX (2 * STORE_LAYOUT_MAX)

const char *const store_att_sql[A__COUNT] = {
    [A_EXPIRED] = "SELECT id, vm, bdf, instance_type, version, expires,"
                  " request_id FROM attachments"
                  " WHERE state = 'incoming' AND expires < " NOW,
    [A_DELETE] = "DELETE FROM attachments WHERE id = ?1",
    [A_BY_REQUEST] = "SELECT " ATT_COLS ", layout FROM attachments"
                     " WHERE request_id = ?1",
    [A_BDF_HELD] = "SELECT 1 FROM attachments WHERE bdf = ?1",
    [A_INSERT] =
        "INSERT INTO attachments (id, vm, bdf, instance_type, version, hash,"
        " fingerprint, path, layout, state, created, expires, request_id)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, " NOW ","
        " strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?11), ?12)",
    [A_GET] = "SELECT " ATT_COLS ", layout FROM attachments"
              " WHERE id = ?1 AND " LIVE,
    [A_LIST] = "SELECT " ATT_COLS " FROM attachments WHERE " LIVE
               " ORDER BY created, id",
    [A_SET_STATE] =
        "UPDATE attachments SET state = ?2, expires = NULL WHERE id = ?1",
    [A_VERSION] = "SELECT hash, fingerprint FROM versions"
                  " WHERE name = ?1 AND version = ?2",
};

static sqlite3_stmt *att_stmt(struct store *st, enum att_stmt_id id)
{
    sqlite3_stmt *s = st->att[id];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

/* ------------------------------------------------------------ helpers */

static const char *const att_state_names[] = {
    [STORE_ATT_ACTIVE] = "active",
    [STORE_ATT_INCOMING] = "incoming",
    [STORE_ATT_MIGRATING] = "migrating",
};

const char *store_att_state_name(enum store_att_state s)
{
    if ((unsigned)s >= sizeof(att_state_names) / sizeof(att_state_names[0]))
        return "unknown";
    return att_state_names[s];
}

static bool att_state_valid(int s)
{
    return s >= STORE_ATT_ACTIVE && s <= STORE_ATT_MIGRATING;
}

static int att_state_parse(const char *s)
{
    for (int i = STORE_ATT_ACTIVE; i <= STORE_ATT_MIGRATING; i++)
        if (!strcmp(s, att_state_names[i]))
            return i;
    return -1;
}

bool store_vm_valid(const char *s)
{
    if (!s)
        return false;
    size_t i = 0;
    for (; s[i]; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9');
        if (i >= STORE_VM_MAX ||
            !(alnum || (i > 0 && (c == '.' || c == '_' || c == '-'))))
            return false;
    }
    return i > 0;
}

/* What the schema accepts: lowercase hex, ':' and '.', 1..20 bytes. */
static bool bdf_valid(const char *s)
{
    size_t i = 0;
    for (; s && s[i]; i++) {
        char c = s[i];
        if (i >= STORE_BDF_MAX ||
            !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' ||
              c == '.'))
            return false;
    }
    return i > 0;
}

void store_attachment_clear(struct store_attachment *a)
{
    if (!a)
        return;
    free(a->layout);
    memset(a, 0, sizeof(*a));
}

void store_attachments_free(struct store_attachment *a, size_t n)
{
    if (!a)
        return;
    for (size_t i = 0; i < n; i++)
        free(a[i].layout);
    free(a);
}

/* A random (version 4) UUID, lowercase. */
static int new_id(char out[STORE_ID_LEN], struct store_error *err)
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof(b)) {
        ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            store_err_set(err, "getrandom: %s", strerror(e));
            return -e;
        }
        got += (size_t)n;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < sizeof(b); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0f];
    }
    out[o] = '\0';
    return 0;
}

/* A row of ATT_COLS (+ layout) into *a. */
static int row_attachment(struct store *st, sqlite3_stmt *s, bool with_layout,
                          struct store_attachment *a, struct store_error *err)
{
    memset(a, 0, sizeof(*a));
    sqlite3_int64 n = sqlite3_column_int64(s, 4);
    char state[16];
    int stv = -1;
    if (store_col_copy(s, 8, state, sizeof(state) - 1))
        stv = att_state_parse(state);
    if (!store_col_copy(s, 0, a->id, STORE_ID_LEN - 1) ||
        !store_col_copy(s, 1, a->vm, STORE_VM_MAX) ||
        !store_col_copy(s, 2, a->bdf, STORE_BDF_MAX) ||
        !store_col_copy(s, 3, a->instance_type, STORE_NAME_MAX) || n < 1 ||
        n > UINT_MAX || !store_col_copy(s, 5, a->hash, VPCI_HASH_STRLEN - 1) ||
        !store_col_copy(s, 6, a->fingerprint, VPCI_HASH_STRLEN - 1) ||
        !store_col_copy(s, 7, a->path, STORE_PATH_MAX - 1) || stv < 0 ||
        !store_col_copy(s, 9, a->created, STORE_TIME_LEN - 1) ||
        (sqlite3_column_type(s, 10) != SQLITE_NULL &&
         !store_col_copy(s, 10, a->expires, STORE_TIME_LEN - 1)) ||
        (sqlite3_column_type(s, 11) != SQLITE_NULL &&
         !store_col_copy(s, 11, a->request_id, STORE_REQUEST_ID_MAX))) {
        store_err_set(err, "malformed attachment row in the database");
        return -EIO;
    }
    a->version = (unsigned)n;
    a->state = (enum store_att_state)stv;
    if (with_layout) {
        a->layout = store_col_dup(s, 12, &a->layout_len);
        if (!a->layout)
            return store_fail(st, NULL, SQLITE_NOMEM, "read layout", err);
    }
    return 0;
}

/* Step s (bound, selecting ATT_COLS [+ layout]) for at most one row: 1 and
 * *a filled, or 0 if none.  Resets s. */
static int one_attachment(struct store *st, sqlite3_stmt *s, bool with_layout,
                          struct store_attachment *a, struct store_error *err)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        return 0;
    }
    if (rc != SQLITE_ROW)
        return store_fail(st, s, rc, "read attachment", err);
    int r = row_attachment(st, s, with_layout, a, err);
    sqlite3_reset(s);
    if (r < 0) {
        store_attachment_clear(a);
        return r;
    }
    return 1;
}

/* The live row of id, with its layout: 1, or 0 if none. */
static int get_attachment(struct store *st, const char *id,
                          struct store_attachment *a, struct store_error *err)
{
    sqlite3_stmt *s = att_stmt(st, A_GET);
    int r = store_bind_str(st, s, 1, id, err);
    if (r < 0)
        return r;
    return one_attachment(st, s, true, a, err);
}

/*
 * The audit row of a change to attachment a; every string in it is of a
 * charset the schema checks (UUID, VM name, BDF, type name), so printf
 * builds valid JSON.  from is the state before a state change, else NULL.
 */
static int audit_attachment(struct store *st, const char *actor,
                            const char *action,
                            const struct store_attachment *a, const char *from,
                            struct store_error *err)
{
    char object[STORE_OBJECT_MAX + 1], detail[768], extra[256] = "";
    snprintf(object, sizeof(object), "attachments/%s", a->id);
    size_t o = 0;
    if (from)
        o += (size_t)snprintf(extra + o, sizeof(extra) - o, ",\"from\":\"%s\"",
                              from);
    if (a->request_id[0])
        o += (size_t)snprintf(extra + o, sizeof(extra) - o,
                              ",\"request_id\":\"%s\"", a->request_id);
    if (a->expires[0])
        snprintf(extra + o, sizeof(extra) - o, ",\"expires\":\"%s\"",
                 a->expires);
    snprintf(detail, sizeof(detail),
             "{\"vm\":\"%s\",\"bdf\":\"%s\",\"instance_type\":\"%s\","
             "\"version\":%u,\"state\":\"%s\"%s}",
             a->vm, a->bdf, a->instance_type, a->version,
             store_att_state_name(a->state), extra);
    return store_audit_insert(st, actor, action, object, detail, err);
}

/* Inside a write transaction: delete every expired reservation, each with
 * an "expire" audit row. */
static int expire(struct store *st, struct store_error *err)
{
    for (;;) {
        sqlite3_stmt *s = att_stmt(st, A_EXPIRED);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) {
            sqlite3_reset(s);
            return 0;
        }
        if (rc != SQLITE_ROW)
            return store_fail(st, s, rc, "find expired reservations", err);
        struct store_attachment a = {0};
        sqlite3_int64 n = sqlite3_column_int64(s, 4);
        bool ok = store_col_copy(s, 0, a.id, STORE_ID_LEN - 1) &&
                  store_col_copy(s, 1, a.vm, STORE_VM_MAX) &&
                  store_col_copy(s, 2, a.bdf, STORE_BDF_MAX) &&
                  store_col_copy(s, 3, a.instance_type, STORE_NAME_MAX) &&
                  n >= 1 && n <= UINT_MAX &&
                  store_col_copy(s, 5, a.expires, STORE_TIME_LEN - 1) &&
                  (sqlite3_column_type(s, 6) == SQLITE_NULL ||
                   store_col_copy(s, 6, a.request_id, STORE_REQUEST_ID_MAX));
        sqlite3_reset(s);
        if (!ok) {
            store_err_set(err, "malformed attachment row in the database");
            return -EIO;
        }
        a.version = (unsigned)n;
        a.state = STORE_ATT_INCOMING;
        int r;
        s = att_stmt(st, A_DELETE);
        if ((r = store_bind_str(st, s, 1, a.id, err)) < 0 ||
            (r = store_run(st, s, "delete expired reservation", err)) < 0 ||
            (r = audit_attachment(st, "vpcid", "expire", &a, NULL, err)) < 0)
            return r;
    }
}

/*
 * A change refused for what the rows say (-ENOENT, -EPERM, -ENOSPC,
 * -EEXIST, a layout that is not the version's) has written nothing but the
 * expiry of stale reservations: commit that rather than leave it to the
 * next write, and return r.
 */
static int refuse(struct store *st, int r, struct store_error *err)
{
    struct store_error cerr;
    int c = store_tx_commit(st, &cerr);
    if (c < 0) {
        if (err)
            *err = cerr;
        return c;
    }
    return r;
}

static int check_actor(struct store *st, const char *actor,
                       struct store_error *err)
{
    if (!st) {
        store_err_set(err, "no store");
        return -EINVAL;
    }
    if (!store_text_valid(actor, STORE_ACTOR_MAX, false)) {
        store_err_set(err,
                      "invalid actor: need 1 to %d bytes of UTF-8 "
                      "without control characters",
                      STORE_ACTOR_MAX);
        return -EINVAL;
    }
    return 0;
}

/* An id that is not a live row's: too long to be one, or not found. */
static int no_attachment(const char *id, struct store_error *err)
{
    store_err_set(err, "no attachment '%.*s'", STORE_ID_LEN - 1, id);
    return -ENOENT;
}

/* ------------------------------------------------------------ attach */

static int check_attach(struct store *st, const char *actor,
                        const struct store_attach_req *req,
                        const struct store_candidate *cand, size_t ncand,
                        struct store_error *err)
{
    int r = check_actor(st, actor, err);
    if (r < 0)
        return r;
    if (!req || (ncand && !cand)) {
        store_err_set(err, "no request or candidates");
        return -EINVAL;
    }
    if (!store_vm_valid(req->vm)) {
        store_err_set(err, "invalid vm: need [A-Za-z0-9][A-Za-z0-9._-]{0,127}");
        return -EINVAL;
    }
    if (req->request_id && !store_vm_valid(req->request_id)) {
        store_err_set(err, "invalid request id: need "
                           "[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
        return -EINVAL;
    }
    if ((r = store_check_args(st, NULL, req->instance_type, err)) < 0)
        return r;
    if (req->version < 1) {
        store_err_set(err, "version numbers start at 1");
        return -EINVAL;
    }
    if (req->state == STORE_ATT_INCOMING) {
        if (req->ttl_seconds < 1 || req->ttl_seconds > 86400) {
            store_err_set(err, "a reservation lasts 1 to 86400 seconds");
            return -EINVAL;
        }
    } else if (req->state != STORE_ATT_ACTIVE) {
        store_err_set(err, "an attachment starts active or incoming");
        return -EINVAL;
    }
    for (size_t i = 0; i < ncand; i++) {
        const struct store_candidate *c = &cand[i];
        if (!bdf_valid(c->bdf)) {
            store_err_set(err, "candidate %zu: invalid BDF", i);
            return -EINVAL;
        }
        if (!store_text_valid(c->path, STORE_PATH_MAX - 1, false)) {
            store_err_set(err,
                          "candidate %s: invalid path: need 1 to %d bytes "
                          "of UTF-8 without control characters",
                          c->bdf, STORE_PATH_MAX - 1);
            return -EINVAL;
        }
        if (!c->layout || c->layout_len == 0 || c->layout_len > RESOLVED_MAX ||
            memchr(c->layout, '\0', c->layout_len)) {
            store_err_set(err, "candidate %s: need 1 to %d bytes of layout",
                          c->bdf, RESOLVED_MAX);
            return -EINVAL;
        }
    }
    return 0;
}

/* The resolved text must be the version's content: a caller that resolved
 * the wrong layout would otherwise hand a VMM something the audit row and
 * the hash do not describe. */
static int check_resolved(const struct store_candidate *c, const char *hash,
                          struct store_error *err)
{
    struct vpci_layout *l = NULL;
    struct vpci_error perr = {0};
    int r = vpci_layout_parse(c->layout, c->layout_len, &l, &perr);
    if (r < 0) {
        if (err && r == -EINVAL) {
            err->line = perr.line;
            err->col = perr.col;
            snprintf(err->msg, sizeof(err->msg), "%u:%u: %s", perr.line,
                     perr.col, perr.msg);
        } else {
            store_err_set(err, "layout parser: %s", strerror(-r));
        }
        return r;
    }
    char got[VPCI_HASH_STRLEN];
    r = vpci_layout_hash(l, got);
    vpci_layout_free(l);
    if (r < 0) {
        store_err_set(err, "hash of the resolved layout: %s", strerror(-r));
        return r;
    }
    if (strcmp(got, hash)) {
        store_err_set(err,
                      "the layout resolved for %s has hash %s, not the "
                      "version's %s",
                      c->bdf, got, hash);
        return -EINVAL;
    }
    return 0;
}

/* The existing attachment of request_id: 1 (*a filled, with layout), 0 if
 * none. */
static int by_request(struct store *st, const char *request_id,
                      struct store_attachment *a, struct store_error *err)
{
    sqlite3_stmt *s = att_stmt(st, A_BY_REQUEST);
    int r = store_bind_str(st, s, 1, request_id, err);
    if (r < 0)
        return r;
    return one_attachment(st, s, true, a, err);
}

/* 1 if a row holds bdf, 0 if it is free. */
static int bdf_held(struct store *st, const char *bdf, struct store_error *err)
{
    sqlite3_stmt *s = att_stmt(st, A_BDF_HELD);
    int r = store_bind_str(st, s, 1, bdf, err);
    if (r < 0)
        return r;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return store_fail(st, NULL, rc, "look up device", err);
}

static int version_hashes(struct store *st, const char *name, unsigned n,
                          char hash[VPCI_HASH_STRLEN],
                          char fp[VPCI_HASH_STRLEN], struct store_error *err)
{
    sqlite3_stmt *s = att_stmt(st, A_VERSION);
    int r = store_bind_str(st, s, 1, name, err);
    if (r < 0)
        return r;
    if (sqlite3_bind_int64(s, 2, n) != SQLITE_OK)
        return store_fail(st, s, SQLITE_ERROR, "bind", err);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        store_err_set(err, "no version %u of instance type '%s'", n, name);
        return -ENOENT;
    }
    if (rc != SQLITE_ROW)
        return store_fail(st, s, rc, "read version", err);
    bool ok = store_col_copy(s, 0, hash, VPCI_HASH_STRLEN - 1) &&
              store_col_copy(s, 1, fp, VPCI_HASH_STRLEN - 1);
    sqlite3_reset(s);
    if (!ok) {
        store_err_set(err, "malformed version row in the database");
        return -EIO;
    }
    return 0;
}

static int insert_attachment(struct store *st, const char *id,
                             const struct store_attach_req *req,
                             const struct store_candidate *c, const char *hash,
                             const char *fp, struct store_error *err)
{
    sqlite3_stmt *s = att_stmt(st, A_INSERT);
    char ttl[32];
    snprintf(ttl, sizeof(ttl), "+%u seconds", req->ttl_seconds);
    bool incoming = req->state == STORE_ATT_INCOMING;
    int r;
    if ((r = store_bind_str(st, s, 1, id, err)) < 0 ||
        (r = store_bind_str(st, s, 2, req->vm, err)) < 0 ||
        (r = store_bind_str(st, s, 3, c->bdf, err)) < 0 ||
        (r = store_bind_str(st, s, 4, req->instance_type, err)) < 0)
        return r;
    if (sqlite3_bind_int64(s, 5, req->version) != SQLITE_OK)
        return store_fail(st, s, SQLITE_ERROR, "bind", err);
    if ((r = store_bind_str(st, s, 6, hash, err)) < 0 ||
        (r = store_bind_str(st, s, 7, fp, err)) < 0 ||
        (r = store_bind_str(st, s, 8, c->path, err)) < 0 ||
        (r = store_bind_text(st, s, 9, c->layout, c->layout_len, err)) < 0 ||
        (r = store_bind_str(st, s, 10, store_att_state_name(req->state), err)) <
            0 ||
        (incoming && (r = store_bind_str(st, s, 11, ttl, err)) < 0) ||
        (req->request_id &&
         (r = store_bind_str(st, s, 12, req->request_id, err)) < 0))
        return r;
    return store_run(st, s, "insert attachment", err);
}

int store_attach(struct store *st, const char *actor,
                 const struct store_attach_req *req,
                 const struct store_candidate *cand, size_t ncand,
                 struct store_attachment *ret, bool *ret_existing,
                 struct store_error *err)
{
    int r = check_attach(st, actor, req, cand, ncand, err);
    if (r < 0)
        return r;
    struct store_attachment a = {0};
    bool existing = false;
    if ((r = store_tx_begin(st, err)) < 0)
        return r;
    if ((r = expire(st, err)) < 0)
        goto out;
    if (req->request_id && (r = by_request(st, req->request_id, &a, err))) {
        if (r < 0)
            goto out;
        if (strcmp(a.vm, req->vm) ||
            strcmp(a.instance_type, req->instance_type)) {
            store_err_set(err,
                          "request id '%s' is attachment %s of vm '%s' and "
                          "type '%s'",
                          req->request_id, a.id, a.vm, a.instance_type);
            r = refuse(st, -EEXIST, err);
            goto out;
        }
        /* The same request again: its answer, nothing written. */
        existing = true;
    } else {
        char hash[VPCI_HASH_STRLEN], fp[VPCI_HASH_STRLEN];
        if ((r = version_hashes(st, req->instance_type, req->version, hash, fp,
                                err)) < 0) {
            if (r == -ENOENT)
                r = refuse(st, r, err);
            goto out;
        }
        const struct store_candidate *pick = NULL;
        for (size_t i = 0; i < ncand && !pick; i++) {
            if ((r = bdf_held(st, cand[i].bdf, err)) < 0)
                goto out;
            if (r == 0)
                pick = &cand[i];
        }
        if (!pick) {
            store_err_set(err, "every candidate device is held");
            r = refuse(st, -ENOSPC, err);
            goto out;
        }
        if ((r = check_resolved(pick, hash, err)) < 0) {
            if (r == -EINVAL)
                r = refuse(st, r, err);
            goto out;
        }
        char id[STORE_ID_LEN];
        if ((r = new_id(id, err)) < 0 ||
            (r = insert_attachment(st, id, req, pick, hash, fp, err)) < 0)
            goto out;
        if ((r = get_attachment(st, id, &a, err)) == 0) {
            store_err_set(err, "attachment %s vanished", id);
            r = -EIO;
        }
        if (r < 0 ||
            (r = audit_attachment(st, actor,
                                  req->state == STORE_ATT_INCOMING ? "incoming"
                                                                   : "attach",
                                  &a, NULL, err)) < 0)
            goto out;
    }
    if ((r = store_tx_commit(st, err)) < 0)
        goto out;
    if (ret) {
        *ret = a;
        a.layout = NULL;
    }
    if (ret_existing)
        *ret_existing = existing;
    r = 0;
out:
    store_tx_rollback(st);
    store_attachment_clear(&a);
    return r;
}

/* ------------------------------------------------------------ reads */

int store_get_attachment(struct store *st, const char *id,
                         struct store_attachment *ret, struct store_error *err)
{
    if (!st || !id || !ret) {
        store_err_set(err, "no store, id or result");
        return -EINVAL;
    }
    if (strlen(id) >= STORE_ID_LEN)
        return no_attachment(id, err);
    struct store_attachment a;
    int r = get_attachment(st, id, &a, err);
    if (r == 0)
        return no_attachment(id, err);
    if (r < 0)
        return r;
    *ret = a;
    return 0;
}

/* store_collect's views of row_attachment and store_attachments_free. */
static int list_row_attachment(struct store *st, sqlite3_stmt *s, void *e,
                               struct store_error *err)
{
    return row_attachment(st, s, false, e, err);
}

static void free_attachments(void *arr, size_t n)
{
    store_attachments_free(arr, n);
}

int store_list_attachments(struct store *st, struct store_attachment **ret,
                           size_t *ret_n, struct store_error *err)
{
    if (!st || !ret || !ret_n) {
        store_err_set(err, "no store or result");
        return -EINVAL;
    }
    void *arr = NULL;
    int r = store_collect(st, att_stmt(st, A_LIST), sizeof(**ret),
                          list_row_attachment, free_attachments,
                          "list attachments", &arr, ret_n, err);
    if (r == 0)
        *ret = arr;
    return r;
}

/* ------------------------------------------------------------ changes */

/* Open a write transaction, drop expired rows and read the live row id
 * (with its layout).  On failure the transaction is rolled back. */
static int begin_change(struct store *st, const char *actor, const char *id,
                        const char *action, struct store_attachment *a,
                        struct store_error *err)
{
    int r = check_actor(st, actor, err);
    if (r < 0)
        return r;
    if (!id) {
        store_err_set(err, "no attachment id");
        return -EINVAL;
    }
    if (!store_action_valid(action)) {
        store_err_set(err, "invalid audit action: need [a-z0-9._-]{1,64}");
        return -EINVAL;
    }
    if (strlen(id) >= STORE_ID_LEN)
        return no_attachment(id, err);
    if ((r = store_tx_begin(st, err)) < 0)
        return r;
    if ((r = expire(st, err)) < 0 || (r = get_attachment(st, id, a, err)) < 0)
        goto fail;
    if (r == 0) {
        r = refuse(st, no_attachment(id, err), err);
        goto fail;
    }
    return 0;
fail:
    store_tx_rollback(st);
    return r;
}

int store_end_attachment(struct store *st, const char *actor, const char *id,
                         const char *action, int expect_state,
                         struct store_attachment *ret, struct store_error *err)
{
    if (expect_state >= 0 && !att_state_valid(expect_state)) {
        store_err_set(err, "no attachment state %d", expect_state);
        return -EINVAL;
    }
    struct store_attachment a = {0};
    int r = begin_change(st, actor, id, action, &a, err);
    if (r < 0)
        return r;
    if (expect_state >= 0 && a.state != (enum store_att_state)expect_state) {
        store_err_set(err, "attachment %s is %s, not %s", a.id,
                      store_att_state_name(a.state),
                      store_att_state_name((enum store_att_state)expect_state));
        r = refuse(st, -EPERM, err);
        goto out;
    }
    sqlite3_stmt *s = att_stmt(st, A_DELETE);
    if ((r = store_bind_str(st, s, 1, a.id, err)) < 0 ||
        (r = store_run(st, s, "delete attachment", err)) < 0 ||
        (r = audit_attachment(st, actor, action, &a, NULL, err)) < 0 ||
        (r = store_tx_commit(st, err)) < 0)
        goto out;
    if (ret) {
        free(a.layout);
        a.layout = NULL;
        a.layout_len = 0;
        *ret = a;
        memset(&a, 0, sizeof(a));
    }
out:
    store_tx_rollback(st);
    store_attachment_clear(&a);
    return r;
}

int store_set_attachment_state(struct store *st, const char *actor,
                               const char *id, enum store_att_state from,
                               enum store_att_state to, const char *action,
                               struct store_attachment *ret,
                               struct store_error *err)
{
    /* The moves the schema allows; anything else is a caller's bug. */
    if (!((from == STORE_ATT_INCOMING && to == STORE_ATT_ACTIVE) ||
          (from == STORE_ATT_ACTIVE && to == STORE_ATT_MIGRATING) ||
          (from == STORE_ATT_MIGRATING && to == STORE_ATT_ACTIVE))) {
        store_err_set(err, "an attachment does not go from %s to %s",
                      store_att_state_name(from), store_att_state_name(to));
        return -EINVAL;
    }
    struct store_attachment a = {0};
    int r = begin_change(st, actor, id, action, &a, err);
    if (r < 0)
        return r;
    if (a.state != from) {
        store_err_set(err, "attachment %s is %s, not %s", a.id,
                      store_att_state_name(a.state),
                      store_att_state_name(from));
        r = refuse(st, -EPERM, err);
        goto out;
    }
    sqlite3_stmt *s = att_stmt(st, A_SET_STATE);
    if ((r = store_bind_str(st, s, 1, a.id, err)) < 0 ||
        (r = store_bind_str(st, s, 2, store_att_state_name(to), err)) < 0 ||
        (r = store_run(st, s, "change attachment state", err)) < 0)
        goto out;
    a.state = to;
    a.expires[0] = '\0';
    if ((r = audit_attachment(st, actor, action, &a, store_att_state_name(from),
                              err)) < 0 ||
        (r = store_tx_commit(st, err)) < 0)
        goto out;
    if (ret) {
        *ret = a;
        memset(&a, 0, sizeof(a));
    }
out:
    store_tx_rollback(st);
    store_attachment_clear(&a);
    return r;
}

/* ------------------------------------------------------------ import */

int store_import(struct store *st, const char *actor, const char *name,
                 unsigned n, const char *layout, size_t len,
                 struct store_version *ret_ver, struct store_error *err)
{
    int r = check_actor(st, actor, err);
    if (r < 0 || (r = store_check_args(st, actor, name, err)) < 0)
        return r;
    if (n < 1) {
        store_err_set(err, "version numbers start at 1");
        return -EINVAL;
    }
    struct store_canon c;
    if ((r = store_canon_layout(layout, len, &c, err)) < 0)
        return r;
    struct store_version v = {0};
    if ((r = store_tx_begin(st, err)) < 0)
        goto out;
    if ((r = store_type_exists(st, name, err)) < 0)
        goto out;
    if (r == 0) {
        sqlite3_stmt *s = store_stmt(st, S_TYPE_INSERT);
        if ((r = store_bind_str(st, s, 1, name, err)) < 0 ||
            (r = store_bind_str(st, s, 2, "", err)) < 0 ||
            (r = store_run(st, s, "insert type", err)) < 0)
            goto out;
    } else {
        sqlite3_stmt *s = store_stmt(st, S_VERSION_BY_HASH);
        if ((r = store_bind_str(st, s, 1, name, err)) < 0 ||
            (r = store_bind_str(st, s, 2, c.hash, err)) < 0)
            goto out;
        int rc = sqlite3_step(s);
        sqlite3_int64 have = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
        sqlite3_reset(s);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            r = store_fail(st, NULL, rc, "look up content", err);
            goto out;
        }
        if (rc == SQLITE_ROW) {
            /* Known content, whatever its number here: nothing to write. */
            if (have < 1 || have > UINT_MAX) {
                store_err_set(err, "malformed version row in the database");
                r = -EIO;
                goto out;
            }
            if (ret_ver &&
                (r = store_read_version(st, name, (unsigned)have, &v, err)) < 0)
                goto out;
            goto commit;
        }
        r = store_read_version(st, name, n, &v, err);
        store_version_clear(&v);
        if (r == 0) {
            store_err_set(err,
                          "version %u of '%s' holds other content than "
                          "the one imported",
                          n, name);
            r = -EEXIST;
        }
        if (r != -ENOENT)
            goto out;
    }
    if ((r = store_insert_version(st, actor, "import", name, n,
                                  STORE_ORIGIN_IMPORT, &c, ret_ver ? &v : NULL,
                                  err)) < 0)
        goto out;
commit:
    if ((r = store_tx_commit(st, err)) < 0)
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
