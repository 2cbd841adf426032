/* SPDX-License-Identifier: BSD-2-Clause */
#include "service.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "derive_text.h"
#include "log.h"

static struct {
    char *sysfs, *db, *runtime_dir;
    struct vpci_quirks *quirks; /* read-only after init */
    pthread_key_t store_key;
    bool key_made;
    pthread_mutex_t lock; /* guards current */
    pthread_mutex_t scan_lock;
    struct snapshot *current;
    struct timespec started;
    atomic_ulong scans;
    pthread_mutex_t files_lock;
    pthread_mutex_t types_lock; /* guards types, ntypes */
    struct service_type **types;
    size_t ntypes, types_cap;
} svc = {
    .types_lock = PTHREAD_MUTEX_INITIALIZER,
    .files_lock = PTHREAD_MUTEX_INITIALIZER,
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
    if (vpcid_inventory_devices_append(devs, h) < 0) {
        json_decref(root);
        return NULL;
    }
    char *text =
        vpcid_json_text_nl(root, JSON_COMPACT | JSON_PRESERVE_ORDER, ret_len);
    json_decref(root);
    return text;
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

/* Write the vms/ file of every stored attachment whose file is missing
 * (a reboot empties /run; the store outlives it). */
static void restore_files(struct store *st)
{
    struct store_attachment *a = NULL;
    size_t n = 0;
    struct store_error err;
    if (store_list_attachments(st, &a, &n, &err) < 0) {
        log_warning("cannot list attachments: %s", err.msg);
        return;
    }
    service_files_lock();
    for (size_t i = 0; i < n; i++) {
        struct stat sb;
        if (stat(a[i].path, &sb) == 0 || errno != ENOENT)
            continue;
        struct store_attachment full = {0};
        int r = store_get_attachment(st, a[i].id, &full, &err);
        if (r == 0)
            r = service_write_file(full.path, full.layout, full.layout_len);
        if (r < 0)
            log_warning("attachment %s: cannot write %s: %s", a[i].id,
                        a[i].path, r == -ENOENT ? "gone" : strerror(-r));
        else
            log_notice("attachment %s: wrote missing %s", a[i].id, a[i].path);
        store_attachment_clear(&full);
    }
    service_files_unlock();
    store_attachments_free(a, n);
}

int service_init(const struct service_options *o, char *err, size_t errlen)
{
    clock_gettime(CLOCK_MONOTONIC, &svc.started);
    svc.sysfs = strdup(o->sysfs);
    svc.db = strdup(o->db);
    svc.runtime_dir = strdup(o->runtime_dir ? o->runtime_dir : "/run/vpcid");
    if (!svc.sysfs || !svc.db || !svc.runtime_dir) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (pthread_key_create(&svc.store_key, store_destroy) != 0) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    svc.key_made = true;
    struct store_error serr;
    struct store *st = service_store(&serr);
    if (!st) {
        snprintf(err, errlen, "%s: %s", svc.db, serr.msg);
        return -EIO;
    }
    restore_files(st);
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
    pthread_mutex_lock(&svc.types_lock);
    for (size_t i = 0; i < svc.ntypes; i++) {
        vpci_rules_free(svc.types[i]->rules);
        vpci_layout_free(svc.types[i]->layout);
        free(svc.types[i]);
    }
    free(svc.types);
    svc.types = NULL;
    svc.ntypes = svc.types_cap = 0;
    pthread_mutex_unlock(&svc.types_lock);
    free(svc.sysfs);
    free(svc.db);
    free(svc.runtime_dir);
    svc.sysfs = svc.db = svc.runtime_dir = NULL;
}

static struct service_type *type_find(const struct store_version *v)
{
    for (size_t i = 0; i < svc.ntypes; i++) {
        struct service_type *t = svc.types[i];
        if (t->version == v->version && !strcmp(t->name, v->name) &&
            !strcmp(t->hash, v->hash))
            return t;
    }
    return NULL;
}

int service_type_get(const struct store_version *v,
                     const struct service_type **ret, struct vpci_error *err)
{
    pthread_mutex_lock(&svc.types_lock);
    struct service_type *t = type_find(v);
    pthread_mutex_unlock(&svc.types_lock);
    if (t) {
        *ret = t;
        return 0;
    }
    if (!v->layout)
        return -ENODATA;
    /* Compiled outside the lock: two threads may both compile a version
     * the first time; the loser's copy is dropped. */
    t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    snprintf(t->name, sizeof(t->name), "%s", v->name);
    t->version = v->version;
    snprintf(t->hash, sizeof(t->hash), "%s", v->hash);
    snprintf(t->fingerprint, sizeof(t->fingerprint), "%s", v->fingerprint);
    int r = vpci_layout_parse(v->layout, v->layout_len, &t->layout, err);
    if (r == 0)
        r = vpci_rules_new(t->layout, &t->rules, err);
    if (r < 0) {
        vpci_layout_free(t->layout);
        free(t);
        return r;
    }
    pthread_mutex_lock(&svc.types_lock);
    struct service_type *old = type_find(v);
    if (!old && svc.ntypes == svc.types_cap) {
        size_t cap = svc.types_cap ? 2 * svc.types_cap : 16;
        struct service_type **n = realloc(svc.types, cap * sizeof(*n));
        if (n) {
            svc.types = n;
            svc.types_cap = cap;
        }
    }
    bool added = !old && svc.ntypes < svc.types_cap;
    if (added)
        svc.types[svc.ntypes++] = t;
    pthread_mutex_unlock(&svc.types_lock);
    if (!added) {
        vpci_rules_free(t->rules);
        vpci_layout_free(t->layout);
        free(t);
        if (!old)
            return -ENOMEM;
        t = old;
    }
    *ret = t;
    return 0;
}

const char *service_runtime_dir(void)
{
    return svc.runtime_dir;
}

int service_attachment_path(const char *vm, const char *bdf, char *buf,
                            size_t len)
{
    int n = snprintf(buf, len, "%s/vms/%s/%s.vpci", svc.runtime_dir, vm, bdf);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* mkdir -p of path's parent directories with mode. */
static int make_dirs(const char *path, mode_t mode)
{
    char dir[STORE_PATH_MAX];
    if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
        return -ENAMETOOLONG;
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(dir, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = c;
        if (!c)
            break;
    }
    return 0;
}

int service_write_file(const char *path, const char *text, size_t len)
{
    int r = make_dirs(path, 0750);
    if (r < 0)
        return r;
    char tmp[STORE_PATH_MAX + 16];
    if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    r = 0;
    if (fchmod(fd, 0640) < 0)
        r = -errno;
    for (size_t off = 0; r == 0 && off < len;) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            r = w < 0 ? -errno : -EIO;
        else
            off += (size_t)w;
    }
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return r;
    }
    /* The rename itself survives a crash once the directory is synced. */
    char dir[STORE_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return 0;
}

void service_remove_file(const char *path)
{
    if (unlink(path) < 0 && errno != ENOENT)
        log_warning("cannot remove %s: %s", path, strerror(errno));
    char dir[STORE_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        rmdir(dir); /* fails while other files are in it: fine */
    }
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

void service_files_lock(void)
{
    pthread_mutex_lock(&svc.files_lock);
}

void service_files_unlock(void)
{
    pthread_mutex_unlock(&svc.files_lock);
}

static int path_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sweep one VM directory against the sorted paths of the attachments. */
static void sweep_vm(const char *dir, char **paths, size_t n)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[STORE_PATH_MAX];
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >=
            (int)sizeof(path))
            continue;
        size_t len = strlen(e->d_name);
        bool ours = (len > 5 && !strcmp(e->d_name + len - 5, ".vpci")) ||
                    strstr(e->d_name, ".vpci.tmp");
        const char *key = path;
        if (!ours || bsearch(&key, paths, n, sizeof(*paths), path_cmp))
            continue;
        if (unlink(path) == 0)
            log_info("removed %s: no attachment holds it", path);
    }
    closedir(d);
    rmdir(dir); /* only when empty */
}

void service_sweep_files(void)
{
    struct store_error err;
    struct store *st = service_store(&err);
    if (!st)
        return;
    service_files_lock();
    struct store_attachment *a = NULL;
    size_t n = 0;
    char **paths = NULL;
    if (store_list_attachments(st, &a, &n, &err) < 0 ||
        !(paths = calloc(n ? n : 1, sizeof(*paths)))) {
        service_files_unlock();
        store_attachments_free(a, n);
        return;
    }
    for (size_t i = 0; i < n; i++)
        paths[i] = a[i].path;
    qsort(paths, n, sizeof(*paths), path_cmp);
    char vms[STORE_PATH_MAX];
    snprintf(vms, sizeof(vms), "%s/vms", svc.runtime_dir);
    DIR *d = opendir(vms);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char dir[STORE_PATH_MAX];
        if (snprintf(dir, sizeof(dir), "%s/%s", vms, e->d_name) <
            (int)sizeof(dir))
            sweep_vm(dir, paths, n);
    }
    if (d)
        closedir(d);
    service_files_unlock();
    free(paths);
    store_attachments_free(a, n);
}
