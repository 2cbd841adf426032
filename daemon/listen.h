/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The sockets vpcid serves on: unix:PATH (created mode 0660), tcp:HOST:PORT,
 * or the ones systemd passes (LISTEN_FDS).
 */
#ifndef VPCID_LISTEN_H
#define VPCID_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

struct vpcid_listener {
    int fd;
    bool tcp;          /* requests need the bearer token */
    char name[300];    /* "unix:/run/vpcid/vpcid.sock", "tcp:127.0.0.1:8080" */
    char *unlink_path; /* the socket file we created, removed at exit */
};

/* Open one listener from its spec; -errno and a message on failure. */
int vpcid_listen_open(const char *spec, struct vpcid_listener *ret, char *err,
                      size_t errlen);

/* The listening sockets systemd passed, up to max; their count (0 when
 * not socket-activated) or -errno and a message. */
int vpcid_listen_activated(struct vpcid_listener *ret, size_t max, char *err,
                           size_t errlen);

/* Close the socket and remove the socket file we created. */
void vpcid_listen_close(struct vpcid_listener *l);

#endif
