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
    const char *quirks; /* directory of *.quirk files */
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

/* Seconds since service_init. */
long service_uptime(void);
/* Number of scans so far. */
unsigned long service_scans(void);

#endif
