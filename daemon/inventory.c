/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host inventory through libpci (linux-sysfs method) and sysfs.
 *
 * libpci gives the config space and the names from pci.ids; everything
 * else (IDs, resources, driver, IOMMU group, SR-IOV, links) is read from
 * the sysfs attributes directly, because libpci either does not expose it
 * or treats a malformed file as fatal.  libpci's error hook must not
 * return: it longjmps back to the guard around the one libpci call in
 * progress, which turns the message into a warning on that function.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pci/pci.h>

#include "inventory.h"

#define MAX_WARNINGS 64 /* per function; more are counted in the last */
#define MAX_VFS 65536   /* virtfnN links followed per PF */
#define MAX_GROUP_PEERS 4096
#define MAX_FUNCS (1u << 20)
#define ATTR_MAX 256 /* longest sysfs attribute we accept */

#ifndef VPCI_DATADIR
#define VPCI_DATADIR "/usr/share/vpcid"
#endif

/* Bits of the sysfs resource flags (include/linux/ioport.h). */
#define RES_IO 0x100
#define RES_MEM 0x200
#define RES_PREFETCH 0x2000
#define RES_MEM_64 0x100000

/* libpci is not thread-safe and its error hook is process-wide state. */
static pthread_mutex_t scan_lock = PTHREAD_MUTEX_INITIALIZER;

struct scan {
    struct inv_host *h;
    const char *root;
    int devices_fd; /* SYSFS/bus/pci/devices */
    struct pci_access *acc;
    bool names;
    char **mig_drivers; /* NULL: list unreadable */
    size_t nmig;
    struct vpci_decoded *dec;
};

/* The guard: where libpci's error hook jumps to, and whom its warnings
 * belong to.  Only touched under scan_lock. */
static jmp_buf *guard_env;
static char guard_msg[256];
static struct inv_func *guard_func;
static struct inv_host *guard_host;

static void add_warning_v(char ***list, size_t *n, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void add_warning_v(char ***list, size_t *n, const char *fmt, va_list ap)
{
    if (*n >= MAX_WARNINGS)
        return;
    char buf[512];
    if (*n == MAX_WARNINGS - 1)
        snprintf(buf, sizeof(buf), "more warnings left out");
    else
        vsnprintf(buf, sizeof(buf), fmt, ap);
    char **nl = realloc(*list, (*n + 1) * sizeof(**list));
    if (!nl)
        return;
    *list = nl;
    nl[*n] = strdup(buf);
    if (nl[*n])
        (*n)++;
}

static void fwarn(struct inv_func *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fwarn(struct inv_func *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_warning_v(&f->warnings, &f->nwarnings, fmt, ap);
    va_end(ap);
}

static void hwarn(struct inv_host *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void hwarn(struct inv_host *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_warning_v(&h->warnings, &h->nwarnings, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ libpci hooks */

/* noreturn as an attribute, not _Noreturn: clang makes only the
 * attribute part of the type libpci's error hook has. */
static void guard_error(char *msg, ...)
    __attribute__((noreturn, format(printf, 1, 2)));
static void guard_error(char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    vsnprintf(guard_msg, sizeof(guard_msg), msg, ap);
    va_end(ap);
    if (guard_env)
        longjmp(*guard_env, 1);
    /* A libpci call outside any guard is a bug of ours; never return. */
    fprintf(stderr, "vpcid: libpci error outside a guard: %s\n", guard_msg);
    abort();
}

static void guard_warning(char *msg, ...) __attribute__((format(printf, 1, 2)));
static void guard_warning(char *msg, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, msg);
    vsnprintf(buf, sizeof(buf), msg, ap);
    va_end(ap);
    if (guard_func)
        fwarn(guard_func, "libpci: %s", buf);
    else if (guard_host)
        hwarn(guard_host, "libpci: %s", buf);
}

static void guard_debug(char *msg, ...) __attribute__((format(printf, 1, 2)));
static void guard_debug(char *msg, ...)
{
    (void)msg;
}

/* ------------------------------------------------------------ sysfs reads */

/* Read a small attribute into buf (NUL-terminated, trailing whitespace
 * cut).  Returns its length or -errno; -EFBIG when it does not fit. */
static int read_attr(int dirfd, const char *name, char *buf, size_t size)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    ssize_t n;
    do {
        n = read(fd, buf, size);
    } while (n < 0 && errno == EINTR);
    int e = errno;
    close(fd);
    if (n < 0)
        return -e;
    if ((size_t)n >= size)
        return -EFBIG;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' ||
                     buf[n - 1] == '\t' || buf[n - 1] == '\0'))
        n--;
    buf[n] = '\0';
    return (int)n;
}

/* Strict number: optional 0x when base 16, digits only, at most max. */
static int parse_uint(const char *s, int base, unsigned long long max,
                      unsigned long long *ret)
{
    if (base == 16 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    if (!*s)
        return -EINVAL;
    for (const char *p = s; *p; p++) {
        bool ok = base == 16 ? strchr("0123456789abcdefABCDEF", *p) != NULL
                             : (*p >= '0' && *p <= '9');
        if (!ok)
            return -EINVAL;
    }
    errno = 0;
    unsigned long long v = strtoull(s, NULL, base);
    if (errno || v > max)
        return -ERANGE;
    *ret = v;
    return 0;
}

static const char *errstr(int neg)
{
    if (neg == -EINVAL)
        return "malformed";
    if (neg == -EFBIG)
        return "too long";
    if (neg == -ERANGE)
        return "out of range";
    return strerror(-neg);
}

/* A hex attribute such as "0x15b3".  Returns 0, or -errno (and warns
 * unless the file is simply missing and quiet_missing). */
static int attr_hex(struct inv_func *f, int dirfd, const char *name,
                    unsigned long long max, bool quiet_missing,
                    unsigned long long *ret)
{
    char buf[ATTR_MAX];
    int r = read_attr(dirfd, name, buf, sizeof(buf));
    if (r >= 0)
        r = parse_uint(buf, 16, max, ret);
    if (r < 0 && !(quiet_missing && r == -ENOENT))
        fwarn(f, "%s: %s", name, errstr(r));
    return r;
}

static int attr_dec(struct inv_func *f, int dirfd, const char *name,
                    unsigned long long max, bool quiet_missing,
                    unsigned long long *ret)
{
    char buf[ATTR_MAX];
    int r = read_attr(dirfd, name, buf, sizeof(buf));
    if (r >= 0)
        r = parse_uint(buf, 10, max, ret);
    if (r < 0 && !(quiet_missing && r == -ENOENT))
        fwarn(f, "%s: %s", name, errstr(r));
    return r;
}

/* Last component of a symlink's target, e.g. driver -> .../drivers/igb.
 * Returns its length, -ENOENT when there is no link, or -errno. */
static int link_name(int dirfd, const char *name, char *buf, size_t size)
{
    char target[PATH_MAX];
    ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
    if (n < 0)
        return -errno;
    target[n] = '\0';
    while (n > 1 && target[n - 1] == '/')
        target[--n] = '\0';
    const char *base = strrchr(target, '/');
    base = base ? base + 1 : target;
    size_t len = strlen(base);
    if (!len || len >= size)
        return -EINVAL;
    memcpy(buf, base, len + 1);
    return (int)len;
}

/* ------------------------------------------------------------ BDFs */

int vpcid_bdf_parse(const char *s, unsigned *domain, unsigned *bus,
                    unsigned *dev, unsigned *fn)
{
    unsigned long long v[4] = {0, 0, 0, 0};
    const char *p = s;
    size_t nfields = strchr(s, ':') && strchr(strchr(s, ':') + 1, ':') ? 4 : 3;
    unsigned idx = nfields == 4 ? 0 : 1;
    static const unsigned long long max[4] = {0xffffffff, 0xff, 0x1f, 7};
    static const char sep[4] = {':', ':', '.', '\0'};
    for (; idx < 4; idx++) {
        char part[16];
        size_t len = 0;
        while (*p && *p != sep[idx] && len < sizeof(part) - 1)
            part[len++] = *p++;
        part[len] = '\0';
        if (*p != sep[idx] || !len || len > (idx == 0 ? 8 : 2))
            return -EINVAL;
        if (*p)
            p++;
        if (parse_uint(part, 16, max[idx], &v[idx]) < 0 ||
            (part[0] == '0' && (part[1] == 'x' || part[1] == 'X')))
            return -EINVAL;
    }
    *domain = (unsigned)v[0];
    *bus = (unsigned)v[1];
    *dev = (unsigned)v[2];
    *fn = (unsigned)v[3];
    return 0;
}

static void bdf_format(char buf[INV_BDF_LEN], unsigned domain, unsigned bus,
                       unsigned dev, unsigned fn)
{
    snprintf(buf, INV_BDF_LEN, "%04x:%02x:%02x.%u", domain, bus, dev, fn);
}

/* Canonical form of a BDF read from sysfs; -EINVAL if it is not one. */
static int bdf_canon(const char *s, char out[INV_BDF_LEN])
{
    unsigned d, b, v, f;
    if (vpcid_bdf_parse(s, &d, &b, &v, &f) < 0)
        return -EINVAL;
    bdf_format(out, d, b, v, f);
    return 0;
}

int vpcid_func_cmp(const struct inv_func *x, const struct inv_func *y)
{
    if (x->domain != y->domain)
        return x->domain < y->domain ? -1 : 1;
    if (x->bus != y->bus)
        return x->bus < y->bus ? -1 : 1;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    return x->fn < y->fn ? -1 : x->fn > y->fn;
}

static int func_cmp(const void *a, const void *b)
{
    return vpcid_func_cmp(a, b);
}

static int bdf_cmp(const void *a, const void *b)
{
    unsigned d1, b1, v1, f1, d2, b2, v2, f2;
    const char *s = a, *t = b;
    if (vpcid_bdf_parse(s, &d1, &b1, &v1, &f1) < 0 ||
        vpcid_bdf_parse(t, &d2, &b2, &v2, &f2) < 0)
        return strcmp(s, t);
    struct inv_func x = {.domain = d1, .bus = b1, .dev = v1, .fn = f1};
    struct inv_func y = {.domain = d2, .bus = b2, .dev = v2, .fn = f2};
    return func_cmp(&x, &y);
}

const struct inv_func *vpcid_inventory_find(const struct inv_host *h,
                                            const char *bdf)
{
    struct inv_func key = {0};
    /* bsearch() wants a valid array even for 0 elements: an empty host
     * has none. */
    if (!h || !h->funcs || !h->nfuncs ||
        vpcid_bdf_parse(bdf, &key.domain, &key.bus, &key.dev, &key.fn) < 0)
        return NULL;
    return bsearch(&key, h->funcs, h->nfuncs, sizeof(*h->funcs), func_cmp);
}

/* ------------------------------------------------------------ libpci parts */

/* Read the config space through libpci: the largest of 4096/256/64 bytes
 * the file gives in full.  Runs under the guard. */
static void read_config(struct scan *s, struct inv_func *f, int devfd)
{
    struct stat st;
    if (fstatat(devfd, "config", &st, 0) < 0) {
        fwarn(f, "config: %s", strerror(errno));
        return;
    }
    static const unsigned sizes[] = {VPCI_CFG_SPACE_EXT, VPCI_CFG_SPACE_STD,
                                     64};
    jmp_buf env;
    struct pci_dev *volatile d = NULL;
    guard_env = &env;
    if (setjmp(env)) {
        guard_env = NULL;
        fwarn(f, "libpci: %s", guard_msg);
        if (d)
            pci_free_dev(d);
        return;
    }
    d = pci_get_dev(s->acc, (int)f->domain, (int)f->bus, (int)f->dev,
                    (int)f->fn);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        if ((off_t)sizes[i] > st.st_size)
            continue;
        if (pci_read_block(d, 0, f->cfg, (int)sizes[i])) {
            f->config_size = sizes[i];
            break;
        }
    }
    pci_free_dev(d);
    d = NULL;
    guard_env = NULL;
    if (!f->config_size) {
        memset(f->cfg, 0, sizeof(f->cfg));
        fwarn(f, "config: unreadable (%lld bytes in the file)",
              (long long)st.st_size);
    } else if ((off_t)f->config_size < st.st_size) {
        f->config_partial = true;
        fwarn(f, "config: only %u of %lld bytes readable", f->config_size,
              (long long)st.st_size);
    }
}

static char *lookup(struct scan *s, int flags, unsigned a, unsigned b,
                    unsigned c, unsigned d)
{
    char buf[256];
    char *r = pci_lookup_name(
        s->acc, buf, sizeof(buf),
        flags | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB, a, b, c, d);
    return r ? strdup(r) : NULL;
}

static void lookup_names(struct scan *s, struct inv_func *f)
{
    jmp_buf env;
    guard_env = &env;
    if (setjmp(env)) {
        guard_env = NULL;
        fwarn(f, "libpci: names: %s", guard_msg);
        return;
    }
    f->vendor_name = lookup(s, PCI_LOOKUP_VENDOR, f->vendor_id, 0, 0, 0);
    f->device_name =
        lookup(s, PCI_LOOKUP_DEVICE, f->vendor_id, f->device_id, 0, 0);
    f->class_name = lookup(s, PCI_LOOKUP_CLASS, f->class_code >> 8, 0, 0, 0);
    if (f->subsystem_vendor_id && f->subsystem_vendor_id != 0xffff)
        f->subsystem_name =
            lookup(s, PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_DEVICE, f->vendor_id,
                   f->device_id, f->subsystem_vendor_id, f->subsystem_id);
    guard_env = NULL;
}

/* ------------------------------------------------------------ sysfs facts */

static uint16_t cfg16(const struct inv_func *f, unsigned off)
{
    if (off + 2 > f->config_size)
        return 0xffff;
    return (uint16_t)(f->cfg[off] | f->cfg[off + 1] << 8);
}

static uint32_t cfg32(const struct inv_func *f, unsigned off)
{
    if (off + 4 > f->config_size)
        return 0xffffffff;
    return (uint32_t)f->cfg[off] | (uint32_t)f->cfg[off + 1] << 8 |
           (uint32_t)f->cfg[off + 2] << 16 | (uint32_t)f->cfg[off + 3] << 24;
}

static void read_ids(struct inv_func *f, int devfd)
{
    unsigned long long v;
    /* sysfs first: the kernel knows a VF's IDs, whose registers read
     * 0xffff, and applies quirks.  The config bytes are the fallback. */
    if (attr_hex(f, devfd, "vendor", 0xffff, false, &v) == 0)
        f->vendor_id = (uint16_t)v;
    else
        f->vendor_id = cfg16(f, 0x00);
    if (attr_hex(f, devfd, "device", 0xffff, false, &v) == 0)
        f->device_id = (uint16_t)v;
    else
        f->device_id = cfg16(f, 0x02);
    if (attr_hex(f, devfd, "class", 0xffffff, false, &v) == 0)
        f->class_code = (uint32_t)v;
    else
        f->class_code = f->config_size >= 12 ? cfg32(f, 0x08) >> 8 : 0xffffff;
    if (attr_hex(f, devfd, "revision", 0xff, true, &v) == 0)
        f->revision = (int)v;
    else
        f->revision = f->config_size >= 12 ? f->cfg[0x08] : -1;
    unsigned hdr = f->config_size > 0x0e ? f->cfg[0x0e] & 0x7f : 0;
    if (attr_hex(f, devfd, "subsystem_vendor", 0xffff, true, &v) == 0)
        f->subsystem_vendor_id = (uint16_t)v;
    else
        f->subsystem_vendor_id = hdr == 0 ? cfg16(f, 0x2c) : 0;
    if (attr_hex(f, devfd, "subsystem_device", 0xffff, true, &v) == 0)
        f->subsystem_id = (uint16_t)v;
    else
        f->subsystem_id = hdr == 0 ? cfg16(f, 0x2e) : 0;
}

/* resource: one "0xstart 0xend 0xflags" line per resource; the first six
 * are the BARs, the seventh the ROM. */
static void read_resources(struct inv_func *f, int devfd)
{
    char buf[4096];
    int r = read_attr(devfd, "resource", buf, sizeof(buf));
    if (r < 0) {
        fwarn(f, "resource: %s", errstr(r));
        return;
    }
    char *save = NULL;
    unsigned line = 0;
    for (char *l = strtok_r(buf, "\n", &save); l && line < 7;
         l = strtok_r(NULL, "\n", &save), line++) {
        char a[32], b[32], c[32], extra[2];
        unsigned long long start, end, flags;
        if (sscanf(l, "%31s %31s %31s %1s", a, b, c, extra) != 3 ||
            parse_uint(a, 16, ~0ull, &start) < 0 ||
            parse_uint(b, 16, ~0ull, &end) < 0 ||
            parse_uint(c, 16, ~0ull, &flags) < 0) {
            fwarn(f, "resource: line %u malformed", line + 1);
            continue;
        }
        if (end <= start || !(flags & (RES_IO | RES_MEM)))
            continue;
        uint64_t size = end - start + 1;
        if (line == 6) {
            f->rom_size = size;
            continue;
        }
        struct inv_bar *bar = &f->bars[f->nbars++];
        bar->index = line;
        bar->size = size;
        if (flags & RES_IO) {
            bar->type = VPCI_BAR_IO;
        } else {
            bar->type = flags & RES_MEM_64 ? VPCI_BAR_MEM64 : VPCI_BAR_MEM32;
            bar->prefetch = flags & RES_PREFETCH;
        }
    }
    if (line < 7)
        fwarn(f, "resource: %u lines, expected at least 7", line);
}

static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void read_link(struct inv_func *f, int devfd)
{
    char buf[ATTR_MAX];
    unsigned long long v;
    struct inv_link *k = &f->link;
    k->cur_width = k->max_width = -1;
    if (read_attr(devfd, "current_link_speed", buf, sizeof(buf)) >= 0) {
        copy_str(k->cur_speed, sizeof(k->cur_speed), buf);
        k->present = true;
    }
    if (read_attr(devfd, "max_link_speed", buf, sizeof(buf)) >= 0) {
        copy_str(k->max_speed, sizeof(k->max_speed), buf);
        k->present = true;
    }
    if (attr_dec(f, devfd, "current_link_width", 255, true, &v) == 0) {
        k->cur_width = (int)v;
        k->present = true;
    }
    if (attr_dec(f, devfd, "max_link_width", 255, true, &v) == 0) {
        k->max_width = (int)v;
        k->present = true;
    }
}

static void read_numa(struct inv_func *f, int devfd)
{
    char buf[ATTR_MAX];
    f->numa_node = -1;
    int r = read_attr(devfd, "numa_node", buf, sizeof(buf));
    if (r == -ENOENT)
        return;
    if (r < 0) {
        fwarn(f, "numa_node: %s", errstr(r));
        return;
    }
    unsigned long long v;
    if (!strcmp(buf, "-1"))
        return;
    if (parse_uint(buf, 10, 4095, &v) < 0) {
        fwarn(f, "numa_node: malformed");
        return;
    }
    f->numa_node = (int)v;
}

static int add_bdf(char (**list)[INV_BDF_LEN], size_t *n, const char *bdf)
{
    char(*nl)[INV_BDF_LEN] = realloc(*list, (*n + 1) * sizeof(**list));
    if (!nl)
        return -ENOMEM;
    *list = nl;
    memcpy(nl[(*n)++], bdf, INV_BDF_LEN);
    return 0;
}

static void read_iommu(struct scan *s, struct inv_func *f, int devfd)
{
    char name[64];
    f->iommu_group = -1;
    int r = link_name(devfd, "iommu_group", name, sizeof(name));
    if (r == -ENOENT)
        return;
    unsigned long long g;
    if (r < 0 || parse_uint(name, 10, INT_MAX, &g) < 0) {
        fwarn(f, "iommu_group: %s", r < 0 ? errstr(r) : "malformed");
        return;
    }
    f->iommu_group = (int)g;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/kernel/iommu_groups/%d/devices", s->root,
             f->iommu_group);
    DIR *dir = opendir(path);
    if (!dir) {
        fwarn(f, "iommu group %d: %s", f->iommu_group, strerror(errno));
        return;
    }
    bool self = false;
    struct dirent *e;
    while ((e = readdir(dir))) {
        char bdf[INV_BDF_LEN];
        if (e->d_name[0] == '.')
            continue;
        if (bdf_canon(e->d_name, bdf) < 0) {
            fwarn(f, "iommu group %d: stray entry '%.64s'", f->iommu_group,
                  e->d_name);
            continue;
        }
        if (!strcmp(bdf, f->bdf)) {
            self = true;
            continue;
        }
        if (f->ngroup_peers >= MAX_GROUP_PEERS)
            break;
        add_bdf(&f->group_peers, &f->ngroup_peers, bdf);
    }
    closedir(dir);
    if (!self)
        fwarn(f, "iommu group %d does not list this function", f->iommu_group);
    if (f->ngroup_peers)
        qsort(f->group_peers, f->ngroup_peers, sizeof(*f->group_peers),
              bdf_cmp);
}

static void read_sriov(struct inv_func *f, int devfd)
{
    unsigned long long v;
    char name[32], target[INV_BDF_LEN + 8];
    int r = link_name(devfd, "physfn", target, sizeof(target));
    if (r >= 0 && bdf_canon(target, f->physfn) < 0) {
        f->physfn[0] = '\0';
        fwarn(f, "physfn: malformed link");
    } else if (r < 0 && r != -ENOENT) {
        fwarn(f, "physfn: %s", errstr(r));
    }

    /* The SR-IOV capability in config space is the fallback for sysfs
     * attributes older kernels lack. */
    const struct vpci_cap_info *cap = NULL;
    for (size_t i = 0; i < f->ncaps; i++)
        if (f->caps[i].ext && f->caps[i].id == 0x10)
            cap = &f->caps[i];
    bool sys = attr_dec(f, devfd, "sriov_totalvfs", 0xffff, true, &v) == 0;
    if (!sys && !cap)
        return;
    f->has_sriov = true;
    struct inv_sriov *sr = &f->sriov;
    unsigned co = cap ? cap->off : 0;
    if (sys)
        sr->total_vfs = (unsigned)v;
    else
        sr->total_vfs = cfg16(f, co + 0x0e);
    if (attr_dec(f, devfd, "sriov_numvfs", 0xffff, !sys, &v) == 0)
        sr->num_vfs = (unsigned)v;
    else if (cap)
        sr->num_vfs = cfg16(f, co + 0x10);
    if (attr_dec(f, devfd, "sriov_offset", 0xffff, true, &v) == 0)
        sr->offset = (unsigned)v;
    else if (cap)
        sr->offset = cfg16(f, co + 0x14);
    if (attr_dec(f, devfd, "sriov_stride", 0xffff, true, &v) == 0)
        sr->stride = (unsigned)v;
    else if (cap)
        sr->stride = cfg16(f, co + 0x16);
    if (attr_hex(f, devfd, "sriov_vf_device", 0xffff, true, &v) == 0)
        sr->vf_device_id = (uint16_t)v;
    else if (cap)
        sr->vf_device_id = cfg16(f, co + 0x1a);

    for (unsigned i = 0; i < MAX_VFS; i++) {
        char bdf[INV_BDF_LEN];
        snprintf(name, sizeof(name), "virtfn%u", i);
        r = link_name(devfd, name, target, sizeof(target));
        if (r == -ENOENT)
            break;
        if (r < 0 || bdf_canon(target, bdf) < 0) {
            fwarn(f, "%s: %s", name, r < 0 ? errstr(r) : "malformed link");
            continue;
        }
        if (add_bdf(&f->vfs, &f->nvfs, bdf) < 0)
            break;
    }
    if (sys && f->nvfs != sr->num_vfs)
        fwarn(f, "sriov_numvfs says %u VFs, %zu virtfn links found",
              sr->num_vfs, f->nvfs);
}

static void read_pasid_pri(struct inv_func *f)
{
    for (size_t i = 0; i < f->ncaps; i++) {
        const struct vpci_cap_info *c = &f->caps[i];
        if (!c->ext)
            continue;
        if (c->id == 0x1b && c->off + 8u <= f->config_size) {
            uint16_t capreg = cfg16(f, c->off + 4);
            f->pasid.present = true;
            f->pasid.exec = capreg & 0x2;
            f->pasid.privileged = capreg & 0x4;
            f->pasid.max_width = (capreg >> 8) & 0x1f;
        } else if (c->id == 0x13 && c->off + 16u <= f->config_size) {
            f->pri.present = true;
            f->pri.max_requests = cfg32(f, c->off + 8);
        }
    }
}

static bool is_vfio_driver(const char *drv)
{
    return drv && strstr(drv, "vfio") != NULL;
}

static void read_driver(struct scan *s, struct inv_func *f, int devfd)
{
    char name[256];
    int r = link_name(devfd, "driver", name, sizeof(name));
    if (r >= 0)
        f->driver = strdup(name);
    else if (r != -ENOENT)
        fwarn(f, "driver: %s", errstr(r));

    f->migration = -1;
    if (s->mig_drivers) {
        f->migration = 0;
        for (size_t i = 0; f->driver && i < s->nmig; i++)
            if (!strcmp(s->mig_drivers[i], f->driver))
                f->migration = 1;
    }
    if (!is_vfio_driver(f->driver))
        return;
    char path[64];
    if (f->iommu_group >= 0) {
        snprintf(path, sizeof(path), "/dev/vfio/%d", f->iommu_group);
        f->vfio_group_dev = strdup(path);
    } else {
        fwarn(f, "bound to %s but in no IOMMU group", f->driver);
    }
    int dfd = openat(devfd, "vfio-dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return;
    DIR *dir = fdopendir(dfd);
    if (!dir) {
        close(dfd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(dir))) {
        unsigned long long n;
        if (strncmp(e->d_name, "vfio", 4) ||
            parse_uint(e->d_name + 4, 10, INT_MAX, &n) < 0)
            continue;
        snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%llu", n);
        free(f->vfio_cdev);
        f->vfio_cdev = strdup(path);
    }
    closedir(dir);
}

static void decode_caps(struct scan *s, struct inv_func *f)
{
    if (f->config_size < 64)
        return;
    int n = vpci_decode(f->cfg, f->config_size, s->dec);
    if (n < 0) {
        fwarn(f, "config: cannot decode: %s", strerror(-n));
        return;
    }
    for (size_t i = 0; i < s->dec->nwarnings; i++)
        fwarn(f, "config: %s", s->dec->warnings[i]);
    if (!s->dec->ncaps)
        return;
    f->caps = malloc(s->dec->ncaps * sizeof(*f->caps));
    if (!f->caps)
        return;
    memcpy(f->caps, s->dec->caps, s->dec->ncaps * sizeof(*f->caps));
    f->ncaps = s->dec->ncaps;
}

/* Everything about one function.  false: it is gone (no directory). */
static bool scan_func(struct scan *s, struct inv_func *f)
{
    int devfd =
        openat(s->devices_fd, f->bdf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (devfd < 0) {
        hwarn(s->h, "%s: %s; left out of the scan", f->bdf,
              errno == ENOENT ? "vanished" : strerror(errno));
        return false;
    }
    guard_func = f;
    read_config(s, f, devfd);
    decode_caps(s, f);
    read_ids(f, devfd);
    read_resources(f, devfd);
    read_numa(f, devfd);
    read_link(f, devfd);
    read_iommu(s, f, devfd);
    read_driver(s, f, devfd);
    read_sriov(f, devfd);
    read_pasid_pri(f);
    if (s->names)
        lookup_names(s, f);
    guard_func = NULL;
    close(devfd);
    return true;
}

/* A VF has no PASID or PRI capability of its own: it uses its PF's. */
static void link_vfs(struct inv_host *h)
{
    for (size_t i = 0; i < h->nfuncs; i++) {
        struct inv_func *f = &h->funcs[i];
        if (!f->physfn[0])
            continue;
        const struct inv_func *pf = vpcid_inventory_find(h, f->physfn);
        if (!pf) {
            fwarn(f, "PF %s is not in the scan", f->physfn);
            continue;
        }
        f->pf_pasid = pf->pasid;
        f->pf_pri = pf->pri;
        bool listed = false;
        for (size_t j = 0; j < pf->nvfs && !listed; j++)
            listed = !strcmp(pf->vfs[j], f->bdf);
        if (!listed)
            fwarn(f, "PF %s does not list this VF", f->physfn);
    }
}

/* ------------------------------------------------------------ driver list */

static void load_migration_drivers(struct scan *s, const char *path)
{
    FILE *fp = fopen(path, "re");
    if (!fp) {
        hwarn(s->h, "%s: %s; live-migration support of drivers unknown", path,
              strerror(errno));
        return;
    }
    s->mig_drivers = calloc(1, sizeof(char *));
    char line[256];
    while (s->mig_drivers && fgets(line, sizeof(line), fp)) {
        char *p = line + strspn(line, " \t");
        p[strcspn(p, " \t\r\n#")] = '\0';
        if (!*p || s->nmig >= 1024)
            continue;
        char **n = realloc(s->mig_drivers, (s->nmig + 1) * sizeof(*n));
        if (!n)
            break;
        s->mig_drivers = n;
        if ((n[s->nmig] = strdup(p)))
            s->nmig++;
    }
    fclose(fp);
}

/* ------------------------------------------------------------ the scan */

static int list_functions(struct scan *s)
{
    int fd = dup(s->devices_fd);
    if (fd < 0)
        return -errno;
    DIR *dir = fdopendir(fd);
    if (!dir) {
        int e = errno;
        close(fd);
        return -e;
    }
    size_t cap = 0;
    struct dirent *e;
    int r = 0;
    while ((e = readdir(dir))) {
        unsigned dom, bus, dev, fn;
        if (e->d_name[0] == '.')
            continue;
        if (vpcid_bdf_parse(e->d_name, &dom, &bus, &dev, &fn) < 0 ||
            strchr(e->d_name, ':') == strrchr(e->d_name, ':')) {
            hwarn(s->h, "bus/pci/devices: stray entry '%.64s'", e->d_name);
            continue;
        }
        if (s->h->nfuncs >= MAX_FUNCS) {
            hwarn(s->h, "more than %u functions; the rest left out", MAX_FUNCS);
            break;
        }
        if (s->h->nfuncs == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct inv_func *n = realloc(s->h->funcs, ncap * sizeof(*n));
            if (!n) {
                r = -ENOMEM;
                break;
            }
            s->h->funcs = n;
            cap = ncap;
        }
        struct inv_func *f = &s->h->funcs[s->h->nfuncs++];
        memset(f, 0, sizeof(*f));
        f->domain = dom;
        f->bus = bus;
        f->dev = dev;
        f->fn = fn;
        /* Open it by its own name: "0000:3b:00.1" as the kernel wrote it
         * (a valid BDF always fits). */
        size_t nlen = strnlen(e->d_name, sizeof(f->bdf) - 1);
        memcpy(f->bdf, e->d_name, nlen);
        f->bdf[nlen] = '\0';
    }
    closedir(dir);
    if (r == 0 && s->h->nfuncs)
        qsort(s->h->funcs, s->h->nfuncs, sizeof(*s->h->funcs), func_cmp);
    return r;
}

static int setup_libpci(struct scan *s)
{
    jmp_buf env;
    char path[PATH_MAX];
    guard_env = &env;
    if (setjmp(env)) {
        guard_env = NULL;
        hwarn(s->h, "libpci: %s", guard_msg);
        if (s->acc) {
            pci_cleanup(s->acc);
            s->acc = NULL;
        }
        return -EIO;
    }
    s->acc = pci_alloc();
    s->acc->error = guard_error;
    s->acc->warning = guard_warning;
    s->acc->debug = guard_debug;
    s->acc->method = PCI_ACCESS_SYS_BUS_PCI;
    snprintf(path, sizeof(path), "%s/bus/pci", s->root);
    pci_set_param(s->acc, "sysfs.path", path);
    pci_init(s->acc);
    guard_env = NULL;
    return 0;
}

static void free_func(struct inv_func *f)
{
    free(f->vendor_name);
    free(f->device_name);
    free(f->class_name);
    free(f->subsystem_name);
    free(f->caps);
    free(f->driver);
    free(f->group_peers);
    free(f->vfs);
    free(f->vfio_group_dev);
    free(f->vfio_cdev);
    for (size_t i = 0; i < f->nwarnings; i++)
        free(f->warnings[i]);
    free(f->warnings);
}

void vpcid_inventory_free(struct inv_host *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->nfuncs; i++)
        free_func(&h->funcs[i]);
    free(h->funcs);
    for (size_t i = 0; i < h->nwarnings; i++)
        free(h->warnings[i]);
    free(h->warnings);
    free(h->sysfs_root);
    free(h);
}

static int scan_locked(struct scan *s, const struct inv_options *opts)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/bus/pci/devices", s->root);
    s->devices_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->devices_fd < 0)
        return -errno;
    int r = list_functions(s);
    if (r < 0)
        return r;

    const char *mig = opts && opts->migration_drivers
                          ? opts->migration_drivers
                          : getenv("VPCID_MIGRATION_DRIVERS");
    load_migration_drivers(s,
                           mig ? mig : VPCI_DATADIR "/vfio-migration-drivers");
    s->dec = malloc(sizeof(*s->dec));
    if (!s->dec)
        return -ENOMEM;
    if (setup_libpci(s) < 0)
        return -EIO;
    s->names = !(opts && opts->no_names);

    size_t kept = 0;
    for (size_t i = 0; i < s->h->nfuncs; i++) {
        struct inv_func *f = &s->h->funcs[i];
        if (scan_func(s, f)) {
            /* Report the canonical name even if sysfs spelt it oddly. */
            bdf_format(f->bdf, f->domain, f->bus, f->dev, f->fn);
            if (kept != i)
                s->h->funcs[kept] = *f;
            kept++;
        } else {
            free_func(f);
        }
    }
    s->h->nfuncs = kept;
    link_vfs(s->h);
    return 0;
}

int vpcid_inventory_scan_opts(const char *sysfs_root,
                              const struct inv_options *opts,
                              struct inv_host **ret)
{
    if (!sysfs_root || !*sysfs_root)
        sysfs_root = "/sys";
    struct inv_host *h = calloc(1, sizeof(*h));
    if (!h || !(h->sysfs_root = strdup(sysfs_root))) {
        free(h);
        return -ENOMEM;
    }
    struct scan s = {.h = h, .root = h->sysfs_root, .devices_fd = -1};

    pthread_mutex_lock(&scan_lock);
    guard_host = h;
    int r = scan_locked(&s, opts);
    if (s.acc) {
        jmp_buf env;
        guard_env = &env;
        if (!setjmp(env))
            pci_cleanup(s.acc);
        guard_env = NULL;
    }
    guard_host = NULL;
    guard_func = NULL;
    pthread_mutex_unlock(&scan_lock);

    if (s.devices_fd >= 0)
        close(s.devices_fd);
    for (size_t i = 0; i < s.nmig; i++)
        free(s.mig_drivers[i]);
    free(s.mig_drivers);
    free(s.dec);
    if (r < 0) {
        vpcid_inventory_free(h);
        return r;
    }
    *ret = h;
    return 0;
}

int vpcid_inventory_scan(const char *sysfs_root, struct inv_host **ret)
{
    return vpcid_inventory_scan_opts(sysfs_root, NULL, ret);
}

void vpcid_inventory_to_device(const struct inv_func *f,
                               struct vpci_device *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->cfg = f->cfg;
    ret->size = f->config_size;
    ret->vendor_id = f->vendor_id;
    ret->device_id = f->device_id;
    for (size_t i = 0; i < f->nbars; i++) {
        const struct inv_bar *b = &f->bars[i];
        ret->bar_size[b->index] = b->size;
        ret->bar_type[b->index] = b->type;
        ret->bar_prefetch[b->index] = b->prefetch;
    }
    ret->rom_size = f->rom_size;
    ret->is_vf = f->physfn[0] != '\0';
}
