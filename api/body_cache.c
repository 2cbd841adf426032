/* SPDX-License-Identifier: BSD-2-Clause */
#include "body_cache.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Direct-mapped: a handful of hot versions is the workload. */
#define SLOTS 256

struct api_body {
    atomic_uint refs;
    size_t len;
    char *key;
    char data[];
};

static struct {
    pthread_mutex_t lock;
    struct api_body *slot[SLOTS];
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void body_unref(void *p)
{
    struct api_body *b = p;
    if (b && atomic_fetch_sub(&b->refs, 1) == 1) {
        free(b->key);
        free(b);
    }
}

static size_t slot_of(const char *key)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 0x100000001b3ull;
    return (size_t)(h % SLOTS);
}

struct api_body *api_body_cache_get(const char *key)
{
    size_t i = slot_of(key);
    pthread_mutex_lock(&cache.lock);
    struct api_body *b = cache.slot[i];
    if (b && !strcmp(b->key, key))
        atomic_fetch_add(&b->refs, 1);
    else
        b = NULL;
    pthread_mutex_unlock(&cache.lock);
    return b;
}

struct api_body *api_body_cache_put(const char *key, const char *data,
                                    size_t len)
{
    struct api_body *b = malloc(sizeof(*b) + len);
    if (!b)
        return NULL;
    if (!(b->key = strdup(key))) {
        free(b);
        return NULL;
    }
    memcpy(b->data, data, len);
    b->len = len;
    atomic_init(&b->refs, 2); /* the cache's and the caller's */
    size_t i = slot_of(key);
    pthread_mutex_lock(&cache.lock);
    struct api_body *old = cache.slot[i];
    cache.slot[i] = b;
    pthread_mutex_unlock(&cache.lock);
    body_unref(old);
    return b;
}

struct MHD_Response *api_body_response(struct api_body *b)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer_with_free_callback_cls(b->len, b->data,
                                                               body_unref, b);
    if (!r)
        body_unref(b);
    return r;
}

void api_body_cache_clear(void)
{
    pthread_mutex_lock(&cache.lock);
    for (size_t i = 0; i < SLOTS; i++) {
        body_unref(cache.slot[i]);
        cache.slot[i] = NULL;
    }
    pthread_mutex_unlock(&cache.lock);
}
