/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sysfs_builder.h"
#include "vpci.h"

#define ECAP_SRIOV 0x10
#define ECAP_PASID 0x1b
#define ECAP_PRI 0x13

void sb_opts_init(struct sb_func_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->group = SB_GROUP_AUTO;
    o->numa = -1;
    o->vf_group = SB_GROUP_AUTO;
}

/* snprintf for paths and small texts; truncation is checked by the
 * callers' later file operations failing, not by the compiler. */
static int pathf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int pathf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    pathf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    ssize_t w = len ? write(fd, data, len) : 0;
    int e = errno;
    close(fd);
    if (w < 0 || (size_t)w != len)
        return w < 0 ? -e : -EIO;
    return 0;
}

static int write_str(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    pathf(path, sizeof(path), "%s/%s", dir, name);
    return write_file(path, text, strlen(text));
}

static int write_fmt(const char *dir, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int write_fmt(const char *dir, const char *name, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return write_str(dir, name, text);
}

static int link_at(const char *target, const char *dir, const char *name)
{
    char path[PATH_MAX];
    pathf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
    return symlink(target, path) < 0 ? -errno : 0;
}

int sb_init(const char *root)
{
    static const char *const dirs[] = {"bus/pci/devices", "bus/pci/drivers",
                                       "kernel/iommu_groups", "devices"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char path[PATH_MAX];
        pathf(path, sizeof(path), "%s/%s", root, dirs[i]);
        int r = mkdir_p(path);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ROOT/devices/pciDDDD:BB/BDF, from the bus/pci/devices link. */
static int func_dir(const char *root, const char *bdf, char out[PATH_MAX])
{
    char link[PATH_MAX], target[PATH_MAX];
    pathf(link, sizeof(link), "%s/bus/pci/devices/%s", root, bdf);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n < 0)
        return -errno;
    target[n] = '\0';
    /* target is "../../../devices/pciDDDD:BB/BDF" */
    pathf(out, PATH_MAX, "%s/%s", root, target + 9);
    return 0;
}

int sb_set_group(const char *root, const char *bdf, int g)
{
    char dir[PATH_MAX], gdir[PATH_MAX], target[PATH_MAX];
    int r = func_dir(root, bdf, dir);
    if (r < 0)
        return r;
    pathf(gdir, sizeof(gdir), "%s/kernel/iommu_groups/%d/devices", root, g);
    if ((r = mkdir_p(gdir)) < 0)
        return r;
    /* from ROOT/kernel/iommu_groups/G/devices to ROOT/devices/... */
    pathf(target, sizeof(target), "../../../../%s", dir + strlen(root) + 1);
    if ((r = link_at(target, gdir, bdf)) < 0)
        return r;
    pathf(target, sizeof(target), "../../../kernel/iommu_groups/%d", g);
    return link_at(target, dir, "iommu_group");
}

static int set_driver(const char *root, const char *dir, const char *bdf,
                      const char *drv)
{
    char ddir[PATH_MAX], target[PATH_MAX];
    pathf(ddir, sizeof(ddir), "%s/bus/pci/drivers/%s", root, drv);
    int r = mkdir_p(ddir);
    if (r < 0)
        return r;
    pathf(target, sizeof(target), "../../../../%s", dir + strlen(root) + 1);
    if ((r = link_at(target, ddir, bdf)) < 0)
        return r;
    pathf(target, sizeof(target), "../../../bus/pci/drivers/%s", drv);
    return link_at(target, dir, "driver");
}

int sb_write_attr(const char *root, const char *bdf, const char *file,
                  const void *data, size_t len)
{
    char dir[PATH_MAX], path[PATH_MAX];
    int r = func_dir(root, bdf, dir);
    if (r < 0)
        return r;
    pathf(path, sizeof(path), "%s/%s", dir, file);
    if (!data)
        return unlink(path) < 0 ? -errno : 0;
    unlink(path); /* it may be a symlink */
    return write_file(path, data, len);
}

static int rm_entry(const char *path, const struct stat *st, int type,
                    struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path) < 0 ? -1 : 0;
}

int sb_remove_func(const char *root, const char *bdf)
{
    char dir[PATH_MAX], link[PATH_MAX];
    int r = func_dir(root, bdf, dir);
    if (r < 0)
        return r;
    if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
        return -errno;
    pathf(link, sizeof(link), "%s/bus/pci/devices/%s", root, bdf);
    return unlink(link) < 0 ? -errno : 0;
}

int sb_destroy(const char *root)
{
    return nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 ? -errno : 0;
}

/* ------------------------------------------------------------ dumps */

static char *read_all(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 65536) {
            cap = cap ? cap * 2 : 65536;
            char *n = realloc(buf, cap + 1);
            if (!n) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = n;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (!n)
            break;
    }
    fclose(f);
    buf[len] = '\0';
    *ret_len = len;
    return buf;
}

/* "Kernel driver in use: X" of the device whose header is on line hline. */
static void dump_driver(const char *text, unsigned hline, char *out,
                        size_t size)
{
    out[0] = '\0';
    unsigned line = 1;
    const char *p = text;
    while (*p && line < hline) {
        if (*p++ == '\n')
            line++;
    }
    if (*p)
        p = strchr(p, '\n');
    while (p && *++p && (*p == '\t' || *p == ' ')) {
        const char *k = strstr(p, "Kernel driver in use: ");
        const char *eol = strchr(p, '\n');
        if (k && (!eol || k < eol)) {
            k += strlen("Kernel driver in use: ");
            size_t n = strcspn(k, " \r\n");
            if (n < size) {
                memcpy(out, k, n);
                out[n] = '\0';
            }
            return;
        }
        p = eol;
    }
}

static uint16_t get16(const uint8_t *c, unsigned off)
{
    return (uint16_t)(c[off] | c[off + 1] << 8);
}

static uint32_t get32(const uint8_t *c, unsigned off)
{
    return (uint32_t)get16(c, off) | (uint32_t)get16(c, off + 2) << 16;
}

static void put16(uint8_t *c, unsigned off, uint16_t v)
{
    c[off] = v & 0xff;
    c[off + 1] = v >> 8;
}

static void put32(uint8_t *c, unsigned off, uint32_t v)
{
    put16(c, off, v & 0xffff);
    put16(c, off + 2, v >> 16);
}

static const char *link_speed(unsigned code)
{
    static const char *const s[] = {
        "Unknown",        "2.5 GT/s PCIe",  "5.0 GT/s PCIe", "8.0 GT/s PCIe",
        "16.0 GT/s PCIe", "32.0 GT/s PCIe", "64.0 GT/s PCIe"};
    return code < sizeof(s) / sizeof(s[0]) ? s[code] : "Unknown";
}

/* Fake bus addresses, so that resource lines look like the kernel's. */
static uint64_t next_mem = 0x4000000000ull;
static uint64_t next_io = 0x1000;

static uint64_t alloc_addr(uint64_t *next, uint64_t size)
{
    uint64_t a = (*next + size - 1) & ~(size - 1);
    *next = a + size;
    return a;
}

struct res {
    uint64_t size;
    uint64_t flags; /* 0: unused */
};

static uint64_t bar_flags(uint32_t reg)
{
    if (reg & 1)
        return 0x40101;
    uint64_t f = 0x40200;
    if (((reg >> 1) & 3) == 2)
        f |= 0x100000 | 0x4;
    if (reg & 8)
        f |= 0x2000 | 0x8;
    return f;
}

static int write_resource(const char *dir, const struct res *r, size_t n)
{
    char text[4096];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t start = 0, end = 0, flags = r[i].flags;
        if (flags && r[i].size) {
            uint64_t sz = r[i].size;
            start = alloc_addr(flags & 0x100 ? &next_io : &next_mem, sz);
            end = start + sz - 1;
        } else {
            flags = 0;
        }
        len += (size_t)snprintf(
            text + len, sizeof(text) - len, "0x%016llx 0x%016llx 0x%016llx\n",
            (unsigned long long)start, (unsigned long long)end,
            (unsigned long long)flags);
    }
    return write_str(dir, "resource", text);
}

static const struct vpci_cap_info *find_cap(const struct vpci_decoded *d,
                                            bool ext, uint16_t id)
{
    for (size_t i = 0; i < d->ncaps; i++)
        if (d->caps[i].ext == ext && d->caps[i].id == id)
            return &d->caps[i];
    return NULL;
}

/* Attributes every function has, from its config bytes and IDs. */
static int write_common(const char *dir, const uint8_t *cfg, unsigned size,
                        const struct vpci_decoded *dec, uint16_t vendor,
                        uint16_t device, int numa)
{
    int r = 0;
    r |= write_fmt(dir, "vendor", "0x%04x\n", vendor);
    r |= write_fmt(dir, "device", "0x%04x\n", device);
    r |= write_fmt(dir, "class", "0x%06x\n", get32(cfg, 0x08) >> 8);
    r |= write_fmt(dir, "revision", "0x%02x\n", cfg[0x08]);
    bool type0 = (cfg[0x0e] & 0x7f) == 0;
    r |= write_fmt(dir, "subsystem_vendor", "0x%04x\n",
                   type0 ? get16(cfg, 0x2c) : 0);
    r |= write_fmt(dir, "subsystem_device", "0x%04x\n",
                   type0 ? get16(cfg, 0x2e) : 0);
    r |= write_fmt(dir, "numa_node", "%d\n", numa);
    r |= write_fmt(dir, "irq", "%d\n", cfg[0x3c]);
    const struct vpci_cap_info *e = find_cap(dec, false, 0x10);
    if (e && e->off + 0x14u <= size) {
        uint32_t lnkcap = get32(cfg, e->off + 0x0c);
        uint16_t lnksta = get16(cfg, e->off + 0x12);
        r |= write_fmt(dir, "max_link_speed", "%s\n", link_speed(lnkcap & 0xf));
        r |= write_fmt(dir, "max_link_width", "%u\n", (lnkcap >> 4) & 0x3f);
        r |= write_fmt(dir, "current_link_speed", "%s\n",
                       link_speed(lnksta & 0xf));
        r |= write_fmt(dir, "current_link_width", "%u\n", (lnksta >> 4) & 0x3f);
    }
    return r ? -EIO : 0;
}

static int make_func(const char *root, const char *parent, const char *bdf,
                     char dir[PATH_MAX])
{
    char link[PATH_MAX], target[PATH_MAX];
    pathf(dir, PATH_MAX, "%s/devices/%s/%s", root, parent, bdf);
    int r = mkdir_p(dir);
    if (r < 0)
        return r;
    pathf(link, sizeof(link), "%s/bus/pci/devices", root);
    pathf(target, sizeof(target), "../../../devices/%s/%s", parent, bdf);
    return link_at(target, link, bdf);
}

/* Unlink extended capabilities from the chain; the one at 0x100 is
 * replaced by the next kept one when it fits, else by a null header. */
static void drop_ecaps(uint8_t *cfg, unsigned size,
                       const struct vpci_decoded *dec, const uint16_t *ids,
                       size_t nids)
{
    unsigned kept[64], nkept = 0;
    for (size_t i = 0; i < dec->ncaps && nkept < 64; i++) {
        const struct vpci_cap_info *c = &dec->caps[i];
        if (!c->ext)
            continue;
        bool drop = false;
        for (size_t j = 0; j < nids; j++)
            drop |= c->id == ids[j];
        if (drop)
            memset(cfg + c->off, 0, c->len ? c->len : 4);
        else
            kept[nkept++] = i;
    }
    if (size < 0x104)
        return;
    uint16_t offs[64];
    for (unsigned k = 0; k < nkept; k++)
        offs[k] = dec->caps[kept[k]].off;
    if (nkept && offs[0] != 0x100) {
        const struct vpci_cap_info *c = &dec->caps[kept[0]];
        unsigned len = c->len ? c->len : 4;
        unsigned limit = nkept > 1 ? offs[1] : size;
        if (0x100 + len <= limit && 0x100 + len <= c->off + len) {
            memmove(cfg + 0x100, cfg + c->off, len);
            if (c->off > 0x100) {
                unsigned from = c->off > 0x100 + len ? c->off : 0x100 + len;
                memset(cfg + from, 0, c->off + len - from);
            }
            offs[0] = 0x100;
        } else {
            put32(cfg, 0x100, (uint32_t)offs[0] << 20);
        }
    } else if (!nkept) {
        put32(cfg, 0x100, 0);
    }
    for (unsigned k = 0; k < nkept; k++) {
        uint32_t h = get32(cfg, offs[k]);
        h = (h & 0x000fffff) | (uint32_t)(k + 1 < nkept ? offs[k + 1] : 0)
                                   << 20;
        put32(cfg, offs[k], h);
    }
}

int sb_add_dump(const char *root, const char *bdf, const char *dump,
                const struct sb_func_opts *o)
{
    static int auto_group = 1000;
    size_t len;
    char *text = read_all(dump, &len);
    if (!text) {
        fprintf(stderr, "sysfs_builder: %s: %s\n", dump, strerror(errno));
        return -ENOENT;
    }
    struct vpci_dump_dev *devs = NULL;
    size_t ndevs = 0;
    struct vpci_error err;
    int r = vpci_dump_parse(text, len, &devs, &ndevs, &err);
    unsigned idx = o->index ? o->index : 1;
    if (r < 0 || idx > ndevs) {
        fprintf(stderr, "sysfs_builder: %s: no device %u\n", dump, idx);
        free(text);
        free(devs);
        return -EINVAL;
    }
    struct vpci_dump_dev *d = &devs[idx - 1];
    char drv[64];
    dump_driver(text, d->line, drv, sizeof(drv));
    free(text);

    unsigned dom, bus, dev, fn;
    if (sscanf(bdf, "%x:%x:%x.%u", &dom, &bus, &dev, &fn) != 4) {
        free(devs);
        return -EINVAL;
    }
    char parent[32], dir[PATH_MAX];
    pathf(parent, sizeof(parent), "pci%04x:%02x", dom, bus);
    uint8_t *cfg = d->cfg;
    unsigned size = d->size;
    struct vpci_decoded *dec = malloc(sizeof(*dec));
    r = -ENOMEM;
    if (!dec)
        goto out;
    if (size >= 64)
        vpci_decode(cfg, size, dec);
    else
        memset(dec, 0, sizeof(*dec));

    const struct vpci_cap_info *sr = find_cap(dec, true, ECAP_SRIOV);
    if (o->nvfs && !sr) {
        fprintf(stderr, "sysfs_builder: %s: device %u has no SR-IOV\n", dump,
                idx);
        r = -EINVAL;
        goto out;
    }
    if (sr && o->total_vfs) {
        put16(cfg, sr->off + 0x0c, (uint16_t)o->total_vfs);
        put16(cfg, sr->off + 0x0e, (uint16_t)o->total_vfs);
    }
    if (sr && o->nvfs > get16(cfg, sr->off + 0x0e)) {
        fprintf(stderr, "sysfs_builder: %u VFs asked, TotalVFs is %u\n",
                o->nvfs, get16(cfg, sr->off + 0x0e));
        r = -EINVAL;
        goto out;
    }
    if (sr) {
        put16(cfg, sr->off + 0x10, (uint16_t)o->nvfs);
        uint16_t ctl = get16(cfg, sr->off + 0x08) & ~0x9;
        put16(cfg, sr->off + 0x08, o->nvfs ? ctl | 0x9 : ctl);
    }

    if ((r = make_func(root, parent, bdf, dir)) < 0)
        goto out;
    char path[PATH_MAX];
    pathf(path, sizeof(path), "%s/config", dir);
    if ((r = write_file(path, cfg, size)) < 0)
        goto out;
    uint16_t vendor = get16(cfg, 0), device = get16(cfg, 2);
    if ((r = write_common(dir, cfg, size, dec, vendor, device, o->numa)) < 0)
        goto out;

    struct res res[17];
    memset(res, 0, sizeof(res));
    bool type0 = (cfg[0x0e] & 0x7f) == 0;
    unsigned nbars = type0 ? 6 : (cfg[0x0e] & 0x7f) == 1 ? 2 : 0;
    for (unsigned i = 0; i < nbars && size >= 0x28; i++) {
        uint32_t reg = get32(cfg, 0x10 + 4 * i);
        res[i].size = d->region_size[i];
        res[i].flags = bar_flags(reg);
        if (!(reg & 1) && ((reg >> 1) & 3) == 2)
            i++;
    }
    res[6].size = d->region_size[6];
    res[6].flags = 0x46200;
    uint64_t vf_size = o->vf_bar_size ? o->vf_bar_size : 0x4000;
    struct res vfres[7];
    memset(vfres, 0, sizeof(vfres));
    if (sr) {
        bool any = false;
        for (unsigned i = 0; i < 6; i++) {
            uint32_t reg = get32(cfg, sr->off + 0x24 + 4 * i);
            if (!reg)
                continue;
            any = true;
            vfres[i].size = vf_size;
            vfres[i].flags = bar_flags(reg);
            res[7 + i].size = vf_size * (o->nvfs ? o->nvfs : 1);
            res[7 + i].flags = bar_flags(reg);
            if (!(reg & 1) && ((reg >> 1) & 3) == 2)
                i++;
        }
        if (!any) {
            vfres[0].size = vf_size;
            vfres[0].flags = bar_flags(0x4);
        }
    }
    if ((r = write_resource(dir, res, 17)) < 0)
        goto out;

    const char *pdrv = o->driver ? o->driver : drv[0] ? drv : NULL;
    if (pdrv && *pdrv && (r = set_driver(root, dir, bdf, pdrv)) < 0)
        goto out;
    int g = o->group == SB_GROUP_AUTO ? auto_group++ : o->group;
    if (g >= 0 && (r = sb_set_group(root, bdf, g)) < 0)
        goto out;

    if (sr) {
        uint16_t off = get16(cfg, sr->off + 0x14),
                 stride = get16(cfg, sr->off + 0x16),
                 vfdev = get16(cfg, sr->off + 0x1a);
        r = 0;
        r |= write_fmt(dir, "sriov_totalvfs", "%u\n",
                       get16(cfg, sr->off + 0x0e));
        r |= write_fmt(dir, "sriov_numvfs", "%u\n", o->nvfs);
        r |= write_fmt(dir, "sriov_offset", "%u\n", off);
        r |= write_fmt(dir, "sriov_stride", "%u\n", stride);
        r |= write_fmt(dir, "sriov_vf_device", "%x\n", vfdev);
        if (r) {
            r = -EIO;
            goto out;
        }

        /* What every VF of this PF presents. */
        uint8_t vcfg[VPCI_CFG_SPACE_EXT];
        memcpy(vcfg, cfg, size);
        put32(vcfg, 0x00, 0xffffffff);
        put16(vcfg, 0x04, 0);
        vcfg[0x0e] = 0;
        memset(vcfg + 0x10, 0, 0x18);
        put32(vcfg, 0x30, 0);
        vcfg[0x3c] = 0;
        vcfg[0x3d] = 0;
        /* A VF's link registers are reserved: the link is the PF's. */
        const struct vpci_cap_info *pe = find_cap(dec, false, 0x10);
        if (pe && pe->off + 0x14u <= size) {
            put32(vcfg, pe->off + 0x0c, 0);
            put16(vcfg, pe->off + 0x12, 0);
        }
        static const uint16_t vf_drop[] = {ECAP_SRIOV, ECAP_PASID, ECAP_PRI};
        drop_ecaps(vcfg, size, dec, vf_drop, 3);

        unsigned rid0 = bus << 8 | dev << 3 | fn;
        int vg = o->vf_group;
        for (unsigned i = 0; i < o->nvfs; i++) {
            unsigned rid = rid0 + off + i * stride;
            if (rid > 0xffff) {
                r = -ERANGE;
                goto out;
            }
            char vbdf[16], vdir[PATH_MAX], name[32];
            pathf(vbdf, sizeof(vbdf), "%04x:%02x:%02x.%u", dom, rid >> 8,
                  (rid >> 3) & 0x1f, rid & 7);
            if ((r = make_func(root, parent, vbdf, vdir)) < 0)
                goto out;
            pathf(path, sizeof(path), "%s/config", vdir);
            if ((r = write_file(path, vcfg, size)) < 0)
                goto out;
            if ((r = write_common(vdir, vcfg, size, dec, vendor, vfdev,
                                  o->numa)) < 0)
                goto out;
            if ((r = write_resource(vdir, vfres, 7)) < 0)
                goto out;
            pathf(name, sizeof(name), "virtfn%u", i);
            pathf(path, sizeof(path), "../%s", vbdf);
            if ((r = link_at(path, dir, name)) < 0)
                goto out;
            pathf(path, sizeof(path), "../%s", bdf);
            if ((r = link_at(path, vdir, "physfn")) < 0)
                goto out;
            if (o->vf_driver &&
                (r = set_driver(root, vdir, vbdf, o->vf_driver)) < 0)
                goto out;
            int vgi = vg == SB_GROUP_AUTO ? auto_group++ : vg;
            if (vgi >= 0 && (r = sb_set_group(root, vbdf, vgi)) < 0)
                goto out;
        }
    }
    r = 0;
out:
    free(dec);
    free(devs);
    return r;
}
