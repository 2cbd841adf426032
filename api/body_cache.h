/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Response bodies kept for reuse, in two levels.
 *
 * The shared level is keyed by everything a body was made from (a
 * version's name, number, state and hash, and the representation), so a
 * hit can never be stale: the caller reads the key's inputs from the
 * store first.
 *
 * The per-thread level answers a request (for example "version 3 of
 * nic-vf as JSON") without the store: an entry is trusted while this
 * daemon has changed nothing in the store (api_store_changed) and for at
 * most one second, which bounds how long a change made behind the
 * daemon's back (direct SQL on the database file) can go unseen.  It takes
 * no lock.
 */
#ifndef VPCID_BODY_CACHE_H
#define VPCID_BODY_CACHE_H

#include <stddef.h>

struct MHD_Response;
struct api_body;

/* The body cached under key, with a reference; NULL on a miss. */
struct api_body *api_body_cache_get(const char *key);

/* Cache a copy of data (content type ctype and entity tag etag, both
 * static or copied) under key, replacing what its slot held, and return a
 * reference to it; NULL when out of memory. */
struct api_body *api_body_cache_put(const char *key, const char *data,
                                    size_t len, const char *ctype,
                                    const char *etag);

const char *api_body_ctype(const struct api_body *b);
const char *api_body_etag(const struct api_body *b);

/* A response whose content is b; takes over the reference (dropped even
 * on failure). */
struct MHD_Response *api_body_response(struct api_body *b);
/* Drop the caller's reference without making a response. */
void api_body_unref(struct api_body *b);

/* Per-thread level: the body answering request key, with a reference, or
 * NULL.  To remember one (a reference of its own is taken), read the
 * generation before reading the store, and pass it: a change made in
 * between then makes the answer stale at once. */
struct api_body *api_answer_get(const char *key);
unsigned long api_store_generation(void);
void api_answer_put(const char *key, struct api_body *b,
                    unsigned long generation);

/* The store was changed through this daemon: forget every answer. */
void api_store_changed(void);

/* Drop every cached body of the shared level (at shutdown). */
void api_body_cache_clear(void);

#endif
