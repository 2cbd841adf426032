/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The service operations of vpcid, shared by the HTTP handlers and the
 * signal loop: the current inventory snapshot, rescans, derive, and the
 * store (one SQLite connection per thread).
 */
#ifndef VPCID_SERVICE_H
#define VPCID_SERVICE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "inventory.h"
#include "store.h"
#include "vpci.h"

struct service_options {
    const char *sysfs;
    const char *db;
    const char *quirks;      /* directory of *.quirk files */
    const char *runtime_dir; /* the vms/ files of attachments go here */
};

/*
 * One scan of the host, immutable once published and shared by reference:
 * a request holds it for as long as it needs, a rescan replaces it.
 */
struct snapshot {
    atomic_uint refs;
    struct inv_host *host;
    char *devices_json; /* body of GET /v1/devices, with final newline */
    size_t devices_json_len;
    char scanned[STORE_TIME_LEN]; /* UTC */
    double duration;              /* seconds */
    unsigned long seq;            /* 1 for the first scan */
};

/* Open the store (creating or migrating it), load the quirks and scan the
 * host once.  -errno and a message on failure. */
int service_init(const struct service_options *o, char *err, size_t errlen);
void service_fini(void);

/* The current snapshot, with a reference the caller drops with
 * snapshot_unref. */
struct snapshot *service_snapshot(void);
void snapshot_unref(struct snapshot *s);

/* Scan again, publish the new snapshot and save it to the store; returns
 * a reference to it (snapshot_unref), NULL on failure (message in err). */
struct snapshot *service_rescan(char *err, size_t errlen);

/* This thread's store connection, opened on first use; NULL and a
 * message on failure.  Closed when the thread exits. */
struct store *service_store(struct store_error *err);

/* Derived layout text of a scanned function; see vpcid_derive_func_text. */
int service_derive(const struct snapshot *s, const struct inv_func *f,
                   enum vpci_policy policy, char **ret_text, size_t *ret_len,
                   struct vpci_error *err);

/* ------------------------------------------------------------ types */

/*
 * One version compiled for the compatibility check: its parsed layout and
 * rules.  Versions never change, so an entry made for (name, version,
 * hash) stays valid for as long as the daemon runs; entries are shared
 * read-only by every thread and freed by service_fini.
 */
struct service_type {
    char name[STORE_NAME_MAX + 1];
    unsigned version;
    char hash[VPCI_HASH_STRLEN];
    char fingerprint[VPCI_HASH_STRLEN];
    struct vpci_layout *layout;
    struct vpci_rules *rules;
};

/*
 * The compiled form of version v (name, version and hash set; layout text
 * needed only on a miss).  Returns 0 and *ret, -ENODATA when v has no
 * text and nothing is cached (read it and call again), -EINVAL (err) when
 * the stored text does not compile, -ENOMEM.
 */
int service_type_get(const struct store_version *v,
                     const struct service_type **ret, struct vpci_error *err);

/* ------------------------------------------------------------ vms/ files */

/* The --runtime-dir. */
const char *service_runtime_dir(void);

/* RUNTIME/vms/VM/BDF.vpci into buf; -ENAMETOOLONG if it does not fit. */
int service_attachment_path(const char *vm, const char *bdf, char *buf,
                            size_t len);

/*
 * Write text to path (RUNTIME/vms/VM/BDF.vpci): the directories made with
 * mode 0750, the text written to a temporary file in the same directory,
 * synced and renamed into place (mode 0640), so a reader sees the old file
 * or the whole new one.  -errno on failure, nothing left behind.
 */
int service_write_file(const char *path, const char *text, size_t len);

/* Remove path and its directory when that is now empty. */
void service_remove_file(const char *path);

/* Held while a request places an attachment and writes its file, and
 * while the files are swept, so that a sweep never sees a file whose row
 * it has not read. */
void service_files_lock(void);
void service_files_unlock(void);

/*
 * Remove every RUNTIME/vms/VM/BDF.vpci (and leftover temporary file) that no
 * attachment names: the files of reservations that expired, which the
 * store drops without telling anyone.  Empty VM directories go too.
 */
void service_sweep_files(void);

/* Seconds since service_init. */
long service_uptime(void);
/* Number of scans so far. */
unsigned long service_scans(void);

#endif
