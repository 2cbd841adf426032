/* SPDX-License-Identifier: BSD-2-Clause */
#include "body_cache.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Direct-mapped: a handful of hot versions is the workload. */
#define SLOTS 256
#define ANSWER_SLOTS 64
#define KEY_MAX 320 /* >= 2 * API_PARAM_MAX + 16 */
/* How long an answer is trusted without asking the store. */
#define ANSWER_TTL_NS 1000000000L

struct api_body {
    atomic_uint refs;
    size_t len;
    char *key;
    const char *ctype;
    char etag[80];
    char data[];
};

static struct {
    pthread_mutex_t lock;
    struct api_body *slot[SLOTS];
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static atomic_ulong store_generation = 1;

static void body_unref(void *p)
{
    struct api_body *b = p;
    if (b && atomic_fetch_sub(&b->refs, 1) == 1) {
        free(b->key);
        free(b);
    }
}

static uint64_t key_hash(const char *key)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 0x100000001b3ull;
    return h;
}

struct api_body *api_body_cache_get(const char *key)
{
    size_t i = (size_t)(key_hash(key) % SLOTS);
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
                                    size_t len, const char *ctype,
                                    const char *etag)
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
    b->ctype = ctype;
    snprintf(b->etag, sizeof(b->etag), "%s", etag ? etag : "");
    atomic_init(&b->refs, 2); /* the cache's and the caller's */
    size_t i = (size_t)(key_hash(key) % SLOTS);
    pthread_mutex_lock(&cache.lock);
    struct api_body *old = cache.slot[i];
    cache.slot[i] = b;
    pthread_mutex_unlock(&cache.lock);
    body_unref(old);
    return b;
}

const char *api_body_ctype(const struct api_body *b)
{
    return b->ctype;
}

const char *api_body_etag(const struct api_body *b)
{
    return b->etag;
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

void api_body_unref(struct api_body *b)
{
    body_unref(b);
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

/* ------------------------------------------------------------ answers */

struct answer {
    char key[KEY_MAX];
    struct api_body *body;
    unsigned long generation;
    int64_t checked_ns;
};

struct answers {
    struct answer a[ANSWER_SLOTS];
};

static pthread_key_t answers_key;
static pthread_once_t answers_once = PTHREAD_ONCE_INIT;

static void answers_free(void *p)
{
    struct answers *t = p;
    for (size_t i = 0; i < ANSWER_SLOTS; i++)
        body_unref(t->a[i].body);
    free(t);
}

static void answers_init(void)
{
    pthread_key_create(&answers_key, answers_free);
}

static struct answers *answers(void)
{
    pthread_once(&answers_once, answers_init);
    struct answers *t = pthread_getspecific(answers_key);
    if (!t && (t = calloc(1, sizeof(*t))) &&
        pthread_setspecific(answers_key, t) != 0) {
        free(t);
        t = NULL;
    }
    return t;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000000L + ts.tv_nsec;
}

struct api_body *api_answer_get(const char *key)
{
    struct answers *t = answers();
    if (!t)
        return NULL;
    struct answer *e = &t->a[key_hash(key) % ANSWER_SLOTS];
    if (!e->body || strcmp(e->key, key) ||
        e->generation != atomic_load(&store_generation) ||
        now_ns() - e->checked_ns > ANSWER_TTL_NS)
        return NULL;
    atomic_fetch_add(&e->body->refs, 1);
    return e->body;
}

unsigned long api_store_generation(void)
{
    return atomic_load(&store_generation);
}

void api_answer_put(const char *key, struct api_body *b,
                    unsigned long generation)
{
    struct answers *t = answers();
    if (!t || strlen(key) >= KEY_MAX)
        return;
    struct answer *e = &t->a[key_hash(key) % ANSWER_SLOTS];
    atomic_fetch_add(&b->refs, 1);
    body_unref(e->body);
    memcpy(e->key, key, strlen(key) + 1);
    e->body = b;
    e->generation = generation;
    e->checked_ns = now_ns();
}

void api_store_changed(void)
{
    atomic_fetch_add(&store_generation, 1);
}
