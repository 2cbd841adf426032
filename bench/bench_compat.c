/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench_compat: the daemon's compatibility matrix, every instance type
 * against every function of a large host.
 *
 *   bench_compat --dump FILE [--dump FILE]... [--runs N]
 *
 * From the dump devices it builds 2,048 host functions (PFs and VFs, two
 * NUMA nodes, several drivers, some held or unbound) and 100 instance
 * types (derived with the vfio policy, then varied: requires lines, BAR
 * and MSI-X edits).  Rules are compiled once per type; then the whole
 * 2,048 x 100 matrix is checked.  Prints checks per second and the
 * matrix time (median of the runs), rule compile time, and the time to
 * resolve one layout onto a compatible function.  Figures only.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "vpci.h"

#define NDEV 2048
#define NTYPE 100

/* A base function from a dump and its storage. */
struct base {
    struct vpci_dump_dev d;
};

/* One host function of the matrix. */
struct hostfn {
    uint8_t cfg[VPCI_CFG_SPACE_EXT];
    char bdf[16], pf[16];
    struct vpci_host_device h;
};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* Function i: base i % nbase; every fourth a VF of it (IDs from sysfs,
 * BAR registers 0), two NUMA nodes, drivers and host states mixed. */
static void make_host(struct hostfn *hf, unsigned i, const struct base *b,
                      size_t nbase)
{
    const struct base *src = &b[i % nbase];
    static const char *const drivers[] = {"vfio-pci", "vfio-pci",
                                          "mlx5_vfio_pci", "igb"};
    memset(hf, 0, sizeof(*hf));
    memcpy(hf->cfg, src->d.cfg, sizeof(hf->cfg));
    snprintf(hf->bdf, sizeof(hf->bdf), "0000:%02x:%02x.%x", 0x10 + i / 256,
             (i / 8) % 32, i % 8);
    struct vpci_host_device *h = &hf->h;
    h->dev.cfg = hf->cfg;
    h->dev.size = src->d.size;
    for (unsigned k = 0; k < VPCI_MAX_BARS; k++)
        h->dev.bar_size[k] = src->d.region_size[k];
    h->dev.rom_size = src->d.region_size[VPCI_MAX_BARS];
    h->bdf = hf->bdf;
    h->driver = drivers[i % 4];
    h->vfio = i % 4 != 3;
    h->migration = (int)(i % 3) - 1;
    h->numa_node = (int)(i / 1024);
    h->link_speed_mts = i % 2 ? 16000 : 8000;
    h->link_width = i % 5 ? 16 : 4;
    h->iommu_group = (int)i;
    h->pf_load = i % 7;
    if (i % 97 == 5)
        h->reserved_by = "00000000-0000-4000-8000-000000000000";
    if (i % 4 == 1) {
        /* A VF: config IDs and BAR registers read as a VF's do. */
        h->dev.is_vf = true;
        h->dev.vendor_id = (uint16_t)(src->d.cfg[0] | src->d.cfg[1] << 8);
        h->dev.device_id = (uint16_t)((src->d.cfg[2] | src->d.cfg[3] << 8) + 1);
        put16(hf->cfg, 0xffff);
        put16(hf->cfg + 2, 0xffff);
        for (unsigned k = 0; k < VPCI_MAX_BARS; k++) {
            uint32_t reg = (uint32_t)hf->cfg[0x10 + 4 * k] |
                           (uint32_t)hf->cfg[0x11 + 4 * k] << 8;
            if (reg & 1)
                h->dev.bar_type[k] = VPCI_BAR_IO;
            else if (((reg >> 1) & 3) == 2)
                h->dev.bar_type[k] = VPCI_BAR_MEM64;
            h->dev.bar_prefetch[k] = !(reg & 1) && (reg & 8);
        }
        memset(hf->cfg + 0x10, 0, 24);
        h->dev.rom_size = 0;
        h->pf_cfg = src->d.cfg;
        h->pf_size = src->d.size;
        snprintf(hf->pf, sizeof(hf->pf), "0000:%02x:00.0", 0x10 + i / 256);
        h->pf = hf->pf;
    }
}

static void add_req(struct vpci_layout *l, const char *key, const char *a0,
                    const char *a1, const char *a2, const char *a3)
{
    const char *args[4] = {a0, a1, a2, a3};
    size_t n = a3 ? 4 : a2 ? 3 : a1 ? 2 : a0 ? 1 : 0;
    vpci_layout_add_stmt(l, false, key, args, n);
}

/* Type t: derived from host function t (so from PFs and VFs of every
 * base), then varied. */
static struct vpci_layout *make_type(unsigned t, const struct hostfn *hosts)
{
    struct vpci_layout *l = NULL;
    struct vpci_error err;
    if (vpci_derive(&hosts[t].h.dev, VPCI_POLICY_VFIO, NULL, &l, NULL, &err) <
        0) {
        fprintf(stderr, "bench_compat: derive: %s\n", err.msg);
        return NULL;
    }
    switch (t % 10) {
    case 1:
        add_req(l, "numa", t % 20 == 1 ? "1" : "0", NULL, NULL, NULL);
        break;
    case 2:
        add_req(l, "link", "speed", "16", "width", "8");
        break;
    case 3:
        add_req(l, "driver", "vfio-pci", "mlx5_vfio_pci", NULL, NULL);
        add_req(l, "migration", NULL, NULL, NULL, NULL);
        break;
    case 4:
        add_req(l, "pasid", "width", "16", NULL, NULL);
        add_req(l, "ats", NULL, NULL, NULL, NULL);
        add_req(l, "pri", NULL, NULL, NULL, NULL);
        break;
    case 5:
        for (unsigned i = 0; i < VPCI_MAX_BARS; i++)
            if (l->bars[i].type != VPCI_BAR_NONE) {
                l->bars[i].size *= 2;
                break;
            }
        break;
    case 6:
        for (size_t i = 1; i < l->nblocks; i++)
            if (l->blocks[i].kind == VPCI_BLOCK_CAP && l->blocks[i].id == 0x11)
                for (size_t f = 0; f < l->blocks[i].nfields; f++)
                    if (!strcmp(l->blocks[i].fields[f].name, "msgctl"))
                        put16(l->blocks[i].fields[f].val, 0x7ff);
        break;
    case 7: {
        char a[16], b[16];
        uint16_t v = (uint16_t)(hosts[t].cfg[0] | hosts[t].cfg[1] << 8);
        snprintf(a, sizeof(a), "%04x:%04x", v, 0x10ca);
        snprintf(b, sizeof(b), "%04x:%04x", v, 0x0b25);
        add_req(l, "device", a, b, NULL, NULL);
        break;
    }
    default:
        break;
    }
    if (vpci_layout_validate(l, &err) < 0) {
        fprintf(stderr, "bench_compat: type %u: %s\n", t, err.msg);
        vpci_layout_free(l);
        return NULL;
    }
    return l;
}

int main(int argc, char **argv)
{
    struct base *bases = NULL;
    size_t nbase = 0;
    unsigned runs = 5;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            runs = (unsigned)atoi(argv[++i]);
            if (!runs)
                runs = 1;
            continue;
        }
        if (strcmp(argv[i], "--dump") || i + 1 >= argc) {
            fprintf(stderr, "usage: bench_compat --dump FILE [--dump FILE]... "
                            "[--runs N]\n");
            return 2;
        }
        size_t len;
        char *text = bench_read_file("bench_compat", argv[++i], &len);
        if (!text)
            return 1;
        struct vpci_dump_dev *devs;
        size_t n;
        struct vpci_error err;
        if (vpci_dump_parse(text, len, &devs, &n, &err) < 0) {
            fprintf(stderr, "bench_compat: %s: %s\n", argv[i], err.msg);
            free(text);
            return 1;
        }
        free(text);
        for (size_t k = 0; k < n; k++) {
            struct base *nb = realloc(bases, (nbase + 1) * sizeof(*bases));
            if (!nb)
                return 1;
            bases = nb;
            bases[nbase++].d = devs[k];
        }
        free(devs);
    }
    if (!nbase) {
        fprintf(stderr, "bench_compat: no --dump given\n");
        return 2;
    }

    struct hostfn *hosts = calloc(NDEV, sizeof(*hosts));
    struct vpci_layout **types = calloc(NTYPE, sizeof(*types));
    struct vpci_rules **rules = calloc(NTYPE, sizeof(*rules));
    struct vpci_compat *c = malloc(sizeof(*c));
    double *t_run = calloc(runs, sizeof(double));
    if (!hosts || !types || !rules || !c || !t_run)
        goto out;
    for (unsigned i = 0; i < NDEV; i++)
        make_host(&hosts[i], i, bases, nbase);
    for (unsigned t = 0; t < NTYPE; t++)
        if (!(types[t] = make_type(t, hosts)))
            goto out;

    double a = bench_now_ns();
    for (unsigned t = 0; t < NTYPE; t++) {
        struct vpci_error err;
        if (vpci_rules_new(types[t], &rules[t], &err) < 0) {
            fprintf(stderr, "bench_compat: rules %u: %s\n", t, err.msg);
            goto out;
        }
    }
    double compile_us = (bench_now_ns() - a) / 1e3 / NTYPE;

    unsigned long compatible = 0, reasons = 0;
    for (unsigned run = 0; run < runs; run++) {
        compatible = reasons = 0;
        a = bench_now_ns();
        for (unsigned t = 0; t < NTYPE; t++)
            for (unsigned i = 0; i < NDEV; i++) {
                vpci_compat_check(rules[t], &hosts[i].h, i % 2, c);
                compatible += c->compatible;
                reasons += c->nreasons;
            }
        t_run[run] = bench_now_ns() - a;
    }
    double matrix_ns = bench_median(t_run, runs);

    /* Resolve each type onto a function it fits (else its own). */
    double *t_res = calloc(NTYPE, sizeof(double));
    if (!t_res)
        goto out;
    size_t nres = 0;
    for (unsigned t = 0; t < NTYPE; t++) {
        const struct vpci_host_device *h = &hosts[t].h;
        for (unsigned i = 0; i < NDEV; i++) {
            vpci_compat_check(rules[t], &hosts[i].h, -1, c);
            if (c->compatible) {
                h = &hosts[i].h;
                break;
            }
        }
        struct vpci_bind_info bi = {
            .instance_type = "bench", .version = 1, .vfio_path = NULL};
        const unsigned reps = 20;
        struct vpci_error err;
        bool ok = true;
        a = bench_now_ns();
        for (unsigned k = 0; k < reps && ok; k++) {
            struct vpci_layout *res = NULL;
            ok = vpci_resolve(types[t], h, &bi, &res, &err) == 0;
            vpci_layout_free(res);
        }
        if (ok)
            t_res[nres++] = (bench_now_ns() - a) / reps / 1e3;
    }
    double resolve_us = nres ? bench_median(t_res, nres) : 0;
    free(t_res);

    double checks = (double)NDEV * NTYPE;
    printf("compat: %u functions x %u types from %zu dump devices\n", NDEV,
           NTYPE, nbase);
    printf("compat: rules compile %.1f us per type\n", compile_us);
    printf("compat: matrix %.1f ms (median of %u runs), %.0f checks/s, "
           "%.0f ns per check\n",
           matrix_ns / 1e6, runs, checks / (matrix_ns / 1e9),
           matrix_ns / checks);
    printf("compat: %lu compatible pairs, %.2f reasons per check\n", compatible,
           (double)reasons / checks);
    printf("compat: resolve %.1f us per layout (median over %zu types)\n",
           resolve_us, nres);
    rc = 0;
out:
    for (unsigned t = 0; types && rules && t < NTYPE; t++) {
        vpci_rules_free(rules[t]);
        vpci_layout_free(types[t]);
    }
    free(types);
    free(rules);
    free(hosts);
    free(bases);
    free(c);
    free(t_run);
    return rc;
}
