/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The SQLite store of vpcid: instance types and their immutable versions,
 * the attachments of functions to VMs, the last inventory scan and the
 * audit log.
 *
 * One struct store is one SQLite connection (WAL, busy_timeout,
 * foreign_keys=ON, synchronous=FULL); use one per thread.  Functions return
 * 0 on success and a negative errno value on failure, and then fill err
 * (when non-NULL) with a message.  Out-parameters named ret_* are written
 * only on success.  Every *_free() accepts NULL.
 *
 * Errors common to all functions: -EINVAL (an argument breaks a rule
 * below; nothing was written), -EBUSY (another connection held the write
 * lock past the busy timeout), -ENOMEM, -EIO (any other SQLite failure;
 * err says which).
 */
#ifndef VPCID_STORE_H
#define VPCID_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "vpci.h"

/* Instance type names: [a-z0-9][a-z0-9._-]{0,62} (checked here and by the
 * schema). */
#define STORE_NAME_MAX 63
/* UTC ISO-8601 with seconds: "2024-04-30T12:34:56Z". */
#define STORE_TIME_LEN 21
/* Limits on what callers hand in (bytes, without NUL). */
#define STORE_DESCRIPTION_MAX 1024
#define STORE_LAYOUT_MAX (1024 * 1024)
#define STORE_ACTOR_MAX 128
#define STORE_ACTION_MAX 64
#define STORE_OBJECT_MAX 256
#define STORE_DETAIL_MAX (64 * 1024)
#define STORE_INVENTORY_MAX (128 * 1024 * 1024)
/* The schema version this code writes (PRAGMA user_version). */
#define STORE_SCHEMA_VERSION 2

/*
 * line and col are those of the layout parser (1-based) when a layout was
 * rejected, else 0.  msg then starts with "LINE:COL: ".
 */
struct store_error {
    unsigned line;
    unsigned col;
    char msg[384];
};

enum store_state {
    STORE_PUBLISHED = 0,
    STORE_DEPRECATED,
};

/* "published" / "deprecated". */
const char *store_state_name(enum store_state s);

struct store_version {
    char name[STORE_NAME_MAX + 1];
    unsigned version;                   /* 1, 2, ... per type */
    char hash[VPCI_HASH_STRLEN];        /* of the canonical text */
    char fingerprint[VPCI_HASH_STRLEN]; /* guest-ABI fingerprint */
    enum store_state state;
    char created[STORE_TIME_LEN];
    char *layout; /* canonical text, NUL-terminated, malloc'ed; NULL in
                   * lists */
    size_t layout_len;
};

/* Free v->layout and zero *v. */
void store_version_clear(struct store_version *v);
void store_versions_free(struct store_version *v, size_t n);

struct store_type {
    char name[STORE_NAME_MAX + 1];
    char *description; /* malloc'ed, "" if none */
    char created[STORE_TIME_LEN];
    unsigned latest; /* highest version number */
};

void store_types_free(struct store_type *t, size_t n);

struct store;

/* 1 if name matches [a-z0-9][a-z0-9._-]{0,62}, else 0. */
bool store_name_valid(const char *name);

/*
 * Open (creating if needed) the database at path and bring its schema up to
 * STORE_SCHEMA_VERSION, one transaction per migration step.  Refuses
 * (-EPROTONOSUPPORT) a database whose user_version is newer than this code
 * knows, and (-EINVAL) a SQLite file that is not a vpcid database.  *ret is
 * owned by the caller (store_close).
 */
int store_open(const char *path, struct store **ret, struct store_error *err);
void store_close(struct store *st);

/*
 * Create instance type name with version 1 made of layout text (len bytes).
 * The text is parsed and validated with libvpci and stored in canonical
 * form without its binding section, if any (a binding belongs to a resolved
 * layout and is not covered by the content hash), so the stored text is
 * exactly what the hash covers.  An invalid layout returns
 * -EINVAL with the parser's position and message and touches nothing.
 * description may be NULL; it and actor must be valid UTF-8 without control
 * characters.  -EEXIST if the type exists.  One transaction writes the type,
 * the version and an audit row ("create").  *ret_ver (may be NULL) gets the
 * new version, layout included (store_version_clear).
 */
int store_create_type(struct store *st, const char *actor, const char *name,
                      const char *description, const char *layout, size_t len,
                      struct store_version *ret_ver, struct store_error *err);

/*
 * Publish layout text as a version of an existing type (-ENOENT if none).
 * If a version of this type has the same content hash (the same canonical
 * text, however it was written), that version is returned with
 * *ret_created = false, whatever its state, and nothing is written.
 * Otherwise the next version number is taken inside the write transaction
 * (BEGIN IMMEDIATE), so concurrent publishers get consecutive numbers, and
 * an audit row ("publish") is written with it.  Layout errors as for
 * store_create_type.  ret_ver and ret_created may be NULL.
 */
int store_publish(struct store *st, const char *actor, const char *name,
                  const char *layout, size_t len, struct store_version *ret_ver,
                  bool *ret_created, struct store_error *err);

/* Version n of type name, n = 0 for the highest version (whatever its
 * state).  -ENOENT if there is no such type or version. */
int store_get_version(struct store *st, const char *name, unsigned n,
                      struct store_version *ret_ver, struct store_error *err);

/* The same without the layout text (ret_ver->layout is NULL): for a caller
 * that only needs to know whether what it holds is still current. */
int store_peek_version(struct store *st, const char *name, unsigned n,
                       struct store_version *ret_ver, struct store_error *err);

/* All types, by name.  *ret is malloc'ed (store_types_free); NULL if none. */
int store_list_types(struct store *st, struct store_type **ret, size_t *ret_n,
                     struct store_error *err);

/* One type (description malloc'ed: free it, or store_types_free(t, 1) on a
 * heap copy).  -ENOENT if there is none. */
int store_get_type(struct store *st, const char *name,
                   struct store_type *ret_type, struct store_error *err);

struct store_counts {
    unsigned long types;
    unsigned long published, deprecated; /* versions by state */
};

/* How many types and versions the store holds. */
int store_counts(struct store *st, struct store_counts *ret,
                 struct store_error *err);

/* All versions of a type, by number, without their layout text (layout is
 * NULL).  -ENOENT if the type does not exist. */
int store_list_versions(struct store *st, const char *name,
                        struct store_version **ret, size_t *ret_n,
                        struct store_error *err);

/*
 * Mark version n (>= 1) of name deprecated and write an audit row
 * ("deprecate") in the same transaction.  A deprecated version stays
 * readable and is never deleted.  Deprecating an already deprecated version
 * changes nothing, writes no audit row and returns -EALREADY.  -ENOENT if
 * there is no such version.
 */
int store_deprecate(struct store *st, const char *actor, const char *name,
                    unsigned n, struct store_error *err);

/*
 * Replace the last inventory scan with json (a JSON text, checked by SQLite's
 * json_valid) and the current time.  No audit row: a scan is not a change
 * an operator made.
 */
int store_save_inventory(struct store *st, const char *json, size_t len,
                         struct store_error *err);

/* The last scan: *ret_json malloc'ed and NUL-terminated, *ret_len its length,
 * ret_time (may be NULL) when it was saved.  -ENOENT if none was saved. */
int store_load_inventory(struct store *st, char **ret_json, size_t *ret_len,
                         char ret_time[STORE_TIME_LEN],
                         struct store_error *err);

/*
 * Append an audit row in its own transaction.  actor (UTF-8, no control
 * characters), action ([a-z0-9._-]) and object (printable ASCII) must be
 * non-empty; detail_json must be a JSON text (NULL means "{}").  Rows are
 * append-only: the schema refuses updates and deletes.
 */
int store_audit(struct store *st, const char *actor, const char *action,
                const char *object, const char *detail_json,
                struct store_error *err);

/* ------------------------------------------------------------ attachments */

/*
 * An attachment holds one physical function for one VM: launched
 * ("active"), reserved for an incoming migration until expires
 * ("incoming"), or being migrated away ("migrating").  Ending an attachment
 * (detach, migration done, abort, expiry) deletes its row, in the same
 * transaction as its audit row; a function is free when no row names it.
 * At most one row per BDF (enforced in the schema), so two callers can
 * never hold the same function.
 *
 * Every write below first deletes the incoming reservations whose expires
 * is past (one audit row "expire", actor "vpcid", each) and commits that
 * even when the change itself is then refused (-ENOENT, -EPERM, -ENOSPC,
 * -EEXIST, or -EINVAL for a resolved layout that is not the version's);
 * reads leave expired rows out whether or not a write has come by.
 *
 * Audit rows of attachments: object "attachments/ID", detail
 * {"vm", "bdf", "instance_type", "version", "state" (after the change; for
 * an end, the state it ended in), "from" (state changes only),
 * "request_id" and "expires" (when set)}.  actor is checked as for
 * store_create_type and is required.
 */
#define STORE_ID_LEN 37          /* UUID text + NUL */
#define STORE_VM_MAX 128         /* [A-Za-z0-9][A-Za-z0-9._-]{0,127} */
#define STORE_REQUEST_ID_MAX 128 /* same charset */
#define STORE_BDF_MAX 20
#define STORE_PATH_MAX 4096

enum store_att_state {
    STORE_ATT_ACTIVE = 0,
    STORE_ATT_INCOMING,
    STORE_ATT_MIGRATING,
};

/* "active" / "incoming" / "migrating" ("unknown" for other values). */
const char *store_att_state_name(enum store_att_state s);

/* 1 if s is a valid VM name or request id (charset and length above). */
bool store_vm_valid(const char *s);

struct store_attachment {
    char id[STORE_ID_LEN];
    char vm[STORE_VM_MAX + 1];
    char bdf[STORE_BDF_MAX + 1];
    char instance_type[STORE_NAME_MAX + 1];
    unsigned version;
    char hash[VPCI_HASH_STRLEN];
    char fingerprint[VPCI_HASH_STRLEN];
    char path[STORE_PATH_MAX]; /* the resolved file handed to the VMM */
    enum store_att_state state;
    char created[STORE_TIME_LEN];
    char expires[STORE_TIME_LEN];              /* "" unless incoming */
    char request_id[STORE_REQUEST_ID_MAX + 1]; /* "" if none */
    char *layout; /* resolved text, malloc'ed; NULL in lists */
    size_t layout_len;
};

void store_attachment_clear(struct store_attachment *a);
void store_attachments_free(struct store_attachment *a, size_t n);

/* One device the caller found compatible, with the resolved layout that
 * placing the request on it gives, best first.  bdf: lowercase hex digits,
 * ':' and '.', 1..STORE_BDF_MAX bytes; path: 1..STORE_PATH_MAX - 1 bytes of
 * UTF-8 without control characters; layout: 1..2 * STORE_LAYOUT_MAX bytes
 * (-EINVAL otherwise). */
struct store_candidate {
    const char *bdf;
    const char *path;   /* where the resolved file goes */
    const char *layout; /* resolved text */
    size_t layout_len;
};

struct store_attach_req {
    const char *vm;
    const char *instance_type;
    unsigned version;       /* >= 1: the version the candidates were made for */
    const char *request_id; /* NULL: not idempotent */
    enum store_att_state state; /* ACTIVE (launch) or INCOMING */
    unsigned ttl_seconds; /* INCOMING only: 1..86400, expires = now + ttl */
};

/*
 * In one BEGIN IMMEDIATE transaction: drop expired incoming rows (audit
 * "expire"); if request_id names an existing attachment, return it with
 * *ret_existing = true (-EEXIST if that attachment is for another vm or
 * type); else insert a row for the first candidate no row holds, with a new
 * random id, hash and fingerprint read from the version row, and an audit
 * row ("attach" or "incoming").  -ENOSPC when every candidate is held
 * (or ncand is 0), -ENOENT when the version does not exist, -EINVAL when
 * the picked candidate's layout does not parse or its content hash is not
 * the version's (err as for a layout error).  The existing attachment of
 * a repeated request_id is returned whatever its state, without looking
 * at the candidates, and nothing is written for it.  *ret (may be NULL)
 * gets the attachment with its layout (store_attachment_clear);
 * ret_existing may be NULL.
 */
int store_attach(struct store *st, const char *actor,
                 const struct store_attach_req *req,
                 const struct store_candidate *cand, size_t ncand,
                 struct store_attachment *ret, bool *ret_existing,
                 struct store_error *err);

/* One attachment with its layout (store_attachment_clear); -ENOENT if none
 * (expired incoming rows count as none; so does any id that is not one,
 * whatever its form). */
int store_get_attachment(struct store *st, const char *id,
                         struct store_attachment *ret, struct store_error *err);

/* All attachments, by created time then id, without layout text; expired
 * incoming rows are left out.  *ret malloc'ed (store_attachments_free). */
int store_list_attachments(struct store *st, struct store_attachment **ret,
                           size_t *ret_n, struct store_error *err);

/*
 * End attachment id (delete its row) with an audit row naming action
 * ("detach", "migrate-out-complete", "incoming-abort").  If expect_state
 * >= 0 the row must be in that state (-EPERM otherwise; -EINVAL if it is
 * no state).  action: [a-z0-9._-]{1,64}.  *ret (may be NULL) gets the row
 * as it was, without layout.  -ENOENT if none.
 */
int store_end_attachment(struct store *st, const char *actor, const char *id,
                         const char *action, int expect_state,
                         struct store_attachment *ret, struct store_error *err);

/*
 * Move attachment id from state from to state to (incoming -> active on
 * commit, active -> migrating on migrate-out, migrating -> active on
 * cancel) with an audit row action; clears expires.  Any other pair is
 * -EINVAL (the schema refuses it too).  -EPERM if it is not in state from,
 * -ENOENT if none.  *ret (may be NULL) gets the new row, with layout.
 */
int store_set_attachment_state(struct store *st, const char *actor,
                               const char *id, enum store_att_state from,
                               enum store_att_state to, const char *action,
                               struct store_attachment *ret,
                               struct store_error *err);

/*
 * Import a version made elsewhere (migration): layout text (canonical or
 * not, binding stripped as for store_publish) as version n of name.  If the
 * type has a version with the same content hash, that version is returned
 * (whatever its number) and nothing is written.  Else the type is created
 * if missing (empty description) and the version inserted, published, as
 * number n when n is free (one audit row "import", object
 * "types/NAME/versions/N", in the same transaction), even if that leaves a
 * gap: store_publish still takes the highest number + 1.  -EEXIST when n
 * holds other content; -EINVAL if n is 0.  Layout errors as for
 * store_create_type.  *ret_ver (may be NULL) gets the version with its
 * layout (store_version_clear).
 */
int store_import(struct store *st, const char *actor, const char *name,
                 unsigned n, const char *layout, size_t len,
                 struct store_version *ret_ver, struct store_error *err);

#endif /* VPCID_STORE_H */
