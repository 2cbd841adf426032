/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Response bodies kept for reuse, keyed by everything they were made
 * from, so a hit can never be stale: the caller reads the key's inputs
 * (a version's name, number, state and hash) from the store first.
 * Shared by all threads; a response holds its body by reference.
 */
#ifndef VPCID_BODY_CACHE_H
#define VPCID_BODY_CACHE_H

#include <stddef.h>

struct MHD_Response;
struct api_body;

/* The body cached under key, with a reference; NULL on a miss. */
struct api_body *api_body_cache_get(const char *key);

/* Cache a copy of data under key (replacing what its slot held) and
 * return a reference to it; NULL when out of memory. */
struct api_body *api_body_cache_put(const char *key, const char *data,
                                    size_t len);

/* A response whose content is b; takes over the reference (dropped even
 * on failure). */
struct MHD_Response *api_body_response(struct api_body *b);

/* Drop every cached body (at shutdown, for leak checkers). */
void api_body_cache_clear(void);

#endif
