/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internal to db/: the connection, its prepared statements and the helpers
 * that store.c (types, versions, audit) and attachments.c share, so that
 * both write with the same transaction runner, the same audit rows and the
 * same layout canonicalisation.
 */
#ifndef VPCID_STORE_INTERNAL_H
#define VPCID_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "store.h"

/* The current time as the schema's CHECKs want it (UTC, seconds). */
#define NOW "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"

/* Statements of store.c (SQL in store.c). */
enum stmt_id {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_TYPE_EXISTS,
    S_TYPE_INSERT,
    S_TYPE_LIST,
    S_TYPE_GET,
    S_VERSION_PEEK,
    S_VERSION_PEEK_LATEST,
    S_COUNTS,
    S_VERSION_BY_HASH,
    S_VERSION_NEXT,
    S_VERSION_INSERT,
    S_VERSION_GET,
    S_VERSION_LATEST,
    S_VERSION_LIST,
    S_VERSION_STATE,
    S_VERSION_DEPRECATE,
    S_INVENTORY_SAVE,
    S_INVENTORY_LOAD,
    S_AUDIT_INSERT,
    S__COUNT
};

/* Statements of attachments.c (SQL in store_att_sql there). */
enum att_stmt_id {
    A_EXPIRED,
    A_DELETE,
    A_BY_REQUEST,
    A_BDF_HELD,
    A_INSERT,
    A_GET,
    A_LIST,
    A_SET_STATE,
    A_VERSION,
    A__COUNT
};

extern const char *const store_att_sql[A__COUNT];

struct store {
    sqlite3 *db;
    sqlite3_stmt *stmt[S__COUNT];
    sqlite3_stmt *att[A__COUNT];
};

/* A layout parsed, validated and in canonical form without binding. */
struct store_canon {
    char *text; /* malloc'ed */
    size_t len;
    char hash[VPCI_HASH_STRLEN];
    char fingerprint[VPCI_HASH_STRLEN];
};

/* Where a version came from: published here, or imported by a migration
 * (which keeps the source's number, so it may leave gaps). */
enum store_origin {
    STORE_ORIGIN_LOCAL,
    STORE_ORIGIN_IMPORT,
};

/* UTF-8 of 1..max bytes (0..max if empty_ok), no control characters. */
bool store_text_valid(const char *s, size_t max, bool empty_ok);
/* An audit action: [a-z0-9._-]{1,64}. */
bool store_action_valid(const char *s);

/* The statement, reset and with no bindings. */
sqlite3_stmt *store_stmt(struct store *st, enum stmt_id id);
/* Map rc (and fill err), resetting s if non-NULL. */
int store_fail(struct store *st, sqlite3_stmt *s, int rc, const char *what,
               struct store_error *err);
/* Step a statement expected to return no row, then reset it. */
int store_run(struct store *st, sqlite3_stmt *s, const char *what,
              struct store_error *err);
int store_bind_text(struct store *st, sqlite3_stmt *s, int i, const char *t,
                    size_t len, struct store_error *err);
int store_bind_str(struct store *st, sqlite3_stmt *s, int i, const char *t,
                   struct store_error *err);
int store_tx_begin(struct store *st, struct store_error *err);
int store_tx_commit(struct store *st, struct store_error *err);
/* Roll back if a transaction is open; harmless otherwise. */
void store_tx_rollback(struct store *st);

/* Copy column i (text of 1..max bytes, no NUL) into buf[max + 1]. */
bool store_col_copy(sqlite3_stmt *s, int i, char *buf, size_t max);
/* Column i as a malloc'ed NUL-terminated string. */
char *store_col_dup(sqlite3_stmt *s, int i, size_t *ret_len);
/* Fill element e (sz bytes, unzeroed) from the current row of s. */
typedef int (*store_row_fn)(struct store *st, sqlite3_stmt *s, void *e,
                            struct store_error *err);
/* Step s to its end, one element of sz bytes a row, filled by row().  On
 * success *ret is the malloc'ed array (NULL if no row) and *ret_n its
 * length; on failure free_rows() frees the rows read and err says what
 * failed ("what" names the operation).  Resets s either way. */
int store_collect(struct store *st, sqlite3_stmt *s, size_t sz,
                  store_row_fn row, void (*free_rows)(void *arr, size_t n),
                  const char *what, void **ret, size_t *ret_n,
                  struct store_error *err);

/* One audit row inside the caller's transaction. */
int store_audit_insert(struct store *st, const char *actor, const char *action,
                       const char *object, const char *detail,
                       struct store_error *err);

/* Parse, validate and canonicalise layout text; touches no database.
 * c->text is malloc'ed on success. */
int store_canon_layout(const char *text, size_t len, struct store_canon *c,
                       struct store_error *err);
/* st non-NULL, name valid, actor (if non-NULL) valid. */
int store_check_args(struct store *st, const char *actor, const char *name,
                     struct store_error *err);
/* 1 if the type exists, 0 if not, -errno. */
int store_type_exists(struct store *st, const char *name,
                      struct store_error *err);
/* Version n (0 = latest) of name with its layout; -ENOENT if none. */
int store_read_version(struct store *st, const char *name, unsigned n,
                       struct store_version *v, struct store_error *err);
/* Insert version n of c with its audit row (action), inside the caller's
 * transaction; then read it back into *ret_ver if non-NULL. */
int store_insert_version(struct store *st, const char *actor,
                         const char *action, const char *name, unsigned n,
                         enum store_origin origin, const struct store_canon *c,
                         struct store_version *ret_ver,
                         struct store_error *err);

#endif /* VPCID_STORE_INTERNAL_H */
