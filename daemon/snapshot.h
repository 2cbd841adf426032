/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host snapshots for fleet planning: everything the inventory knows about
 * a host (each function as GET /v1/devices/{bdf} shows it, raw config
 * bytes included) plus its name and the time, as one JSON document, and
 * back into a struct inv_host that the compatibility check reads exactly
 * as it reads a live scan.
 *
 *   {"format": "vpcid-host-snapshot", "version": 1,
 *    "hostname": "node-17", "time": "2026-11-24T23:05:07Z",
 *    "sysfs": "/sys", "warnings": [...], "devices": [ DEVICE, ... ]}
 *
 * A snapshot comes from another machine: nothing in it is trusted.  The
 * loader checks every member it uses (types, ranges, hex, BDF syntax,
 * sizes) and fails with a message naming the device and member.  Members
 * it does not know are ignored (forward compatibility); "capabilities" is
 * derived data and is decoded again from "config"; the functions need
 * not be sorted (the loaded host's are, by BDF).
 */
#ifndef VPCID_SNAPSHOT_H
#define VPCID_SNAPSHOT_H

#include <stddef.h>
#include <time.h>

#include "inventory.h"

#define VPCID_SNAPSHOT_FORMAT "vpcid-host-snapshot"
#define VPCID_SNAPSHOT_VERSION 1
/* Functions in one snapshot at most (a host has at most 65,536 per
 * domain; more is not a host). */
#define VPCID_SNAPSHOT_MAX_DEVICES 65536

struct json_t;

/* The snapshot document of h, malloc'ed, with a final newline; NULL on
 * allocation failure.  when is printed as UTC, RFC 3339. */
char *vpcid_snapshot_json(const struct inv_host *h, const char *hostname,
                          time_t when);

struct vpcid_snapshot {
    char *hostname;
    char *time; /* as written in the snapshot */
    struct inv_host *host;
};

/* Parse snapshot text (len bytes).  0, or -EINVAL with a message in
 * errbuf ("device 3 (0000:3b:00.0): config: not hex"), or -ENOMEM. */
int vpcid_snapshot_load(const char *text, size_t len,
                        struct vpcid_snapshot **ret, char *errbuf,
                        size_t errlen);

/* The same from an already parsed document (borrowed). */
int vpcid_snapshot_from_json(const struct json_t *root,
                             struct vpcid_snapshot **ret, char *errbuf,
                             size_t errlen);

void vpcid_snapshot_free(struct vpcid_snapshot *s);

#endif
