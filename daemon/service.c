/* SPDX-License-Identifier: BSD-2-Clause */
#include "service.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "derive_text.h"
#include "log.h"

static struct {
    char *sysfs, *db;
    struct vpci_quirks *quirks; /* read-only after init */
    pthread_key_t store_key;
    bool key_made;
    pthread_mutex_t lock; /* guards current */
    pthread_mutex_t scan_lock;
    struct snapshot *current;
    struct timespec started;
    atomic_ulong scans;
} svc = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .scan_lock = PTHREAD_MUTEX_INITIALIZER,
};

static void store_destroy(void *p)
{
    store_close(p);
}

struct store *service_store(struct store_error *err)
{
    struct store *st = pthread_getspecific(svc.store_key);
    if (st)
        return st;
    int r = store_open(svc.db, &st, err);
    if (r < 0)
        return NULL;
    if (pthread_setspecific(svc.store_key, st) != 0) {
        store_close(st);
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return NULL;
    }
    return st;
}

static void utc_now(char buf[STORE_TIME_LEN])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, STORE_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static double elapsed(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) +
           (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void snapshot_free(struct snapshot *s)
{
    vpcid_inventory_free(s->host);
    free(s->devices_json);
    free(s);
}

void snapshot_unref(struct snapshot *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        snapshot_free(s);
}

struct snapshot *service_snapshot(void)
{
    pthread_mutex_lock(&svc.lock);
    struct snapshot *s = svc.current;
    if (s)
        atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&svc.lock);
    return s;
}

/* The body of GET /v1/devices: {"devices": [...]} only. */
static char *devices_body(const struct inv_host *h, size_t *ret_len)
{
    json_t *root = json_object(), *devs = json_array();
    if (!root || !devs || json_object_set_new(root, "devices", devs) < 0) {
        json_decref(root);
        return NULL;
    }
    for (size_t i = 0; i < h->nfuncs; i++) {
        json_t *d = vpcid_inventory_func_json(&h->funcs[i]);
        if (!d || json_array_append_new(devs, d) < 0) {
            json_decref(root);
            return NULL;
        }
    }
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text)
        return NULL;
    size_t len = strlen(text);
    char *n = realloc(text, len + 2);
    if (!n) {
        free(text);
        return NULL;
    }
    n[len] = '\n';
    n[len + 1] = '\0';
    *ret_len = len + 1;
    return n;
}

struct snapshot *service_rescan(char *err, size_t errlen)
{
    pthread_mutex_lock(&svc.scan_lock);
    struct snapshot *s = calloc(1, sizeof(*s));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int r = s ? vpcid_inventory_scan(svc.sysfs, &s->host) : -ENOMEM;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (r < 0) {
        snprintf(err, errlen, "cannot scan %s: %s", svc.sysfs, strerror(-r));
        free(s);
        pthread_mutex_unlock(&svc.scan_lock);
        return NULL;
    }
    s->duration = elapsed(&t0, &t1);
    utc_now(s->scanned);
    s->devices_json = devices_body(s->host, &s->devices_json_len);
    if (!s->devices_json) {
        snprintf(err, errlen, "out of memory");
        snapshot_free(s);
        pthread_mutex_unlock(&svc.scan_lock);
        return NULL;
    }
    s->seq = atomic_fetch_add(&svc.scans, 1) + 1;
    atomic_init(&s->refs, 2); /* the service's and the caller's */

    /* Keep the last scan in the store; failing that is no reason to serve
     * a stale inventory. */
    char *full = vpcid_inventory_json(s->host);
    struct store_error serr;
    struct store *st = service_store(&serr);
    if (!full || !st || store_save_inventory(st, full, strlen(full), &serr) < 0)
        log_warning("cannot save the inventory to %s: %s", svc.db,
                    full ? serr.msg : "out of memory");
    free(full);

    for (size_t i = 0; i < s->host->nwarnings; i++)
        log_warning("scan: %s", s->host->warnings[i]);
    log_info("scanned %s: %zu functions in %.3f s", svc.sysfs, s->host->nfuncs,
             s->duration);

    pthread_mutex_lock(&svc.lock);
    struct snapshot *old = svc.current;
    svc.current = s;
    pthread_mutex_unlock(&svc.lock);
    snapshot_unref(old);
    pthread_mutex_unlock(&svc.scan_lock);
    return s;
}

int service_init(const struct service_options *o, char *err, size_t errlen)
{
    clock_gettime(CLOCK_MONOTONIC, &svc.started);
    svc.sysfs = strdup(o->sysfs);
    svc.db = strdup(o->db);
    if (!svc.sysfs || !svc.db) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (pthread_key_create(&svc.store_key, store_destroy) != 0) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    svc.key_made = true;
    struct store_error serr;
    if (!service_store(&serr)) {
        snprintf(err, errlen, "%s: %s", svc.db, serr.msg);
        return -EIO;
    }
    int r = vpcid_quirks_load(o->quirks, false, &svc.quirks, err, errlen);
    if (r < 0)
        return r;
    struct snapshot *s = service_rescan(err, errlen);
    if (!s)
        return -EIO;
    snapshot_unref(s);
    return 0;
}

void service_fini(void)
{
    pthread_mutex_lock(&svc.lock);
    struct snapshot *s = svc.current;
    svc.current = NULL;
    pthread_mutex_unlock(&svc.lock);
    snapshot_unref(s);
    if (svc.key_made) {
        store_close(pthread_getspecific(svc.store_key));
        pthread_setspecific(svc.store_key, NULL);
        pthread_key_delete(svc.store_key);
        svc.key_made = false;
    }
    vpci_quirks_free(svc.quirks);
    svc.quirks = NULL;
    free(svc.sysfs);
    free(svc.db);
    svc.sysfs = svc.db = NULL;
}

int service_derive(const struct snapshot *s, const struct inv_func *f,
                   enum vpci_policy policy, char **ret_text, size_t *ret_len,
                   struct vpci_error *err)
{
    return vpcid_derive_func_text(s->host, f, policy, svc.quirks, ret_text,
                                  ret_len, NULL, err);
}

long service_uptime(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - svc.started.tv_sec);
}

unsigned long service_scans(void)
{
    return atomic_load(&svc.scans);
}
