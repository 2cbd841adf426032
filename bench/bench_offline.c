/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench_offline: offline fleet compat, as `vpcictl compat --snapshot`
 * does it, on a generated fleet.
 *
 *   bench_offline [--hosts N] [--devices N] [--types N] [--keep]
 *
 * Needs top_srcdir (the dumps) and top_builddir (tests/mksysfs) in the
 * environment (`make bench-offline` sets them).  Four fixture sysfs trees
 * of 8 functions each are built from real dumps (SR-IOV PFs with VFs on
 * vfio-pci and on a migration-capable variant driver, a DSA, GPUs, NICs,
 * devices that fit nothing) and scanned; N host snapshot files are written
 * from them (host i from tree i % 4, its own host name and time, NUMA
 * nodes varied) into a temporary directory.  The types are derived from
 * functions of the trees (vfio policy), then varied with requires lines.
 *
 * Timed separately, then in total: reading and loading every snapshot
 * file, parsing and compiling the types, and for every type the checks of
 * every function of every host with the result JSON vpcictl prints (result
 * objects sorted per host, summaries), serialised.  Target: < 5 s total.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bench_util.h"
#include "compat_json.h"
#include "derive_text.h"
#include "facts.h"
#include "inventory.h"
#include "snapshot.h"
#include "vpci.h"

#define NTREES 4
#define TREE_FUNCS 8
#define TARGET_MS 5000.0

static const char *srcdir, *builddir;

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench_offline: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

/* Tree specs for tests/mksysfs; DUMPS is replaced by the dump directory.
 * Each has exactly TREE_FUNCS functions. */
static const char *const trees[NTREES] = {
    "func 0000:3b:00.0 DUMPS/intel-82576-pf-8086-10c9-sriov-4k.lspci "
    "vfs=4 vfdriver=vfio-pci numa=1\n"
    "func 0000:6a:01.0 DUMPS/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci "
    "driver=vfio-pci numa=0\n"
    "func 0000:5e:00.0 DUMPS/mellanox-cx5ex-pf-15b3-1019-256b.lspci "
    "driver=mlx5_core numa=0\n"
    "func 0000:00:1f.0 DUMPS/atheros-ar2413-168c-001a-256b.lspci "
    "driver=ath5k\n",

    "func 0000:6b:00.0 DUMPS/intel-0d93-xilinx-c084-cxl-dvsec-4k.lspci "
    "vfs=2 vfdriver=mlx5_vfio_pci numa=0\n"
    "func 0000:05:00.0 DUMPS/cavium-thunderx-nic-177d-a01e-pf-sriov-ea-4k."
    "lspci vfs=2 vfdriver=vfio-pci numa=1\n"
    "func 0000:00:02.0 DUMPS/intel-skylake-gt2-igpu-8086-191e-pasid-ats-pri-"
    "4k.lspci driver=vfio-pci\n"
    "func 0000:6a:01.0 DUMPS/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci "
    "driver=idxd numa=1\n",

    "func 0000:81:00.0 DUMPS/intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k."
    "lspci vfs=4 vfdriver=vfio-pci numa=0\n"
    "func 0000:02:00.0 DUMPS/creative-emu20k2-1102-000b-256b.lspci "
    "driver=snd_ctxfi\n"
    "func 0000:03:00.0 DUMPS/intel-pro-wireless-2200bg-8086-4220-256b.lspci "
    "driver=vfio-pci\n"
    "func 0000:00:1d.0 DUMPS/intel-ich10-uhci-8086-3a34-pciaf-256b.lspci "
    "driver=uhci_hcd\n",

    "func 0000:05:00.0 DUMPS/cavium-thunderx-nic-177d-a01e-pf-sriov-ea-4k."
    "lspci vfs=6 vfdriver=vfio-pci numa=0\n"
    "func 0000:6a:01.0 DUMPS/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci "
    "driver=vfio-pci numa=1\n",
};

/* Functions the types are derived from: tree and BDF. */
static const struct {
    unsigned tree;
    const char *bdf;
} bases[] = {
    {0, "0000:3c:10.0"}, {0, "0000:6a:01.0"}, {1, "0000:6b:02.0"},
    {1, "0000:05:00.1"}, {1, "0000:00:02.0"}, {0, "0000:3b:00.0"},
    {0, "0000:5e:00.0"}, {2, "0000:03:00.0"},
};
#define NBASES (sizeof(bases) / sizeof(bases[0]))

/* Variations: type t gets requires line t / NBASES % NVAR. */
static const char *const variations[] = {
    "",
    "\nrequires\n  numa 0\n",
    "\nrequires\n  driver vfio-pci mlx5_vfio_pci\n",
    "\nrequires\n  migration\n",
    "\nrequires\n  link speed 5\n",
    "\nrequires\n  numa 1\n  driver vfio-pci\n",
};
#define NVAR (sizeof(variations) / sizeof(variations[0]))

static int build_tree(const char *dir, unsigned t)
{
    char cmd[PATH_MAX * 2];
    snprintf(cmd, sizeof(cmd), "'%s/tests/mksysfs' '%s'", builddir, dir);
    FILE *p = popen(cmd, "w");
    if (!p)
        return fail("%s: %s", cmd, strerror(errno));
    char dumps[PATH_MAX];
    snprintf(dumps, sizeof(dumps), "%s/tests/fixtures/dumps", srcdir);
    for (const char *s = trees[t]; *s;) {
        const char *d = strstr(s, "DUMPS");
        size_t n = d ? (size_t)(d - s) : strlen(s);
        fwrite(s, 1, n, p);
        if (!d)
            break;
        fputs(dumps, p);
        s = d + 5;
    }
    int st = pclose(p);
    if (st != 0)
        return fail("%s failed", cmd);
    return 0;
}

/* Write host i's snapshot: tree i % NTREES, its first ndev functions, NUMA
 * nodes moved for odd hosts. */
static int write_snapshot(const char *dir, unsigned i, struct inv_host *h,
                          unsigned ndev, size_t *bytes)
{
    size_t keep = h->nfuncs;
    int numa[TREE_FUNCS];
    if (ndev < h->nfuncs)
        h->nfuncs = ndev;
    for (size_t k = 0; k < h->nfuncs && k < TREE_FUNCS; k++) {
        numa[k] = h->funcs[k].numa_node;
        if ((i / NTREES) % 2 && numa[k] >= 0)
            h->funcs[k].numa_node = 1 - (numa[k] & 1);
    }
    char name[32];
    snprintf(name, sizeof(name), "node-%04u", i);
    char *text = vpcid_snapshot_json(h, name, (time_t)1795561507 + i);
    for (size_t k = 0; k < h->nfuncs && k < TREE_FUNCS; k++)
        h->funcs[k].numa_node = numa[k];
    h->nfuncs = keep;
    if (!text)
        return fail("%s: out of memory", name);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/host-%04u.json", dir, i);
    FILE *f = fopen(path, "w");
    size_t len = strlen(text);
    int r = !f || fwrite(text, 1, len, f) != len;
    if (f && fclose(f) != 0)
        r = 1;
    free(text);
    if (r)
        return fail("%s: %s", path, strerror(errno));
    *bytes += len;
    return 0;
}

static int count_bytes(const char *buf, size_t size, void *data)
{
    (void)buf;
    *(size_t *)data += size;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_offline [--hosts N] [--devices N] "
                    "[--types N] [--keep]\n");
}

int main(int argc, char **argv)
{
    unsigned nhosts = 1000, ndev = TREE_FUNCS, ntypes = 20;
    bool keep = false;
    for (int i = 1; i < argc; i++) {
        unsigned *dst = !strcmp(argv[i], "--hosts")     ? &nhosts
                        : !strcmp(argv[i], "--devices") ? &ndev
                        : !strcmp(argv[i], "--types")   ? &ntypes
                                                        : NULL;
        if (!strcmp(argv[i], "--keep")) {
            keep = true;
        } else if (dst && i + 1 < argc) {
            char *end;
            unsigned long v = strtoul(argv[++i], &end, 10);
            if (*end || v == 0 || v > 100000) {
                usage();
                return 2;
            }
            *dst = (unsigned)v;
        } else {
            usage();
            return 2;
        }
    }
    if (ndev > TREE_FUNCS) {
        fprintf(stderr,
                "bench_offline: --devices is at most %d (the "
                "fixture trees)\n",
                TREE_FUNCS);
        return 2;
    }
    srcdir = getenv("top_srcdir");
    builddir = getenv("top_builddir");
    if (!srcdir || !builddir) {
        fprintf(stderr, "bench_offline: top_srcdir and top_builddir must be "
                        "set (make bench-offline)\n");
        return 2;
    }
    char env[PATH_MAX];
    snprintf(env, sizeof(env), "%s/data/vfio-migration-drivers", srcdir);
    setenv("VPCID_MIGRATION_DRIVERS", env, 1);

    char dir[] = "/tmp/vpcid-bench-offline-XXXXXX";
    if (!mkdtemp(dir))
        return fail("mkdtemp: %s", strerror(errno));
    int rc = 1;
    struct inv_host *hosts[NTREES] = {0};
    struct vpcid_snapshot **snaps = calloc(nhosts, sizeof(*snaps));
    struct vpci_rules **rules = calloc(ntypes, sizeof(*rules));
    char **texts = calloc(ntypes, sizeof(*texts));
    unsigned *ok_per_type = calloc(ntypes, sizeof(*ok_per_type));
    if (!snaps || !rules || !texts || !ok_per_type)
        goto out;

    /* ------------------------------------------------ the fleet */
    double t0 = bench_now_ms();
    for (unsigned t = 0; t < NTREES; t++) {
        char tree[PATH_MAX];
        snprintf(tree, sizeof(tree), "%s/tree%u", dir, t);
        if (build_tree(tree, t))
            goto out;
        int r = vpcid_inventory_scan(tree, &hosts[t]);
        if (r < 0) {
            fail("scan %s: %s", tree, strerror(-r));
            goto out;
        }
        if (hosts[t]->nfuncs != TREE_FUNCS) {
            fprintf(stderr,
                    "bench_offline: tree %u has %zu functions, not %d\n", t,
                    hosts[t]->nfuncs, TREE_FUNCS);
            goto out;
        }
    }
    size_t bytes = 0;
    for (unsigned i = 0; i < nhosts; i++)
        if (write_snapshot(dir, i, hosts[i % NTREES], ndev, &bytes))
            goto out;
    double t_gen = bench_now_ms() - t0;

    /* Type texts, prepared outside the timing (vpcictl reads one file). */
    for (unsigned t = 0; t < ntypes; t++) {
        const struct inv_host *h = hosts[bases[t % NBASES].tree];
        const struct inv_func *f =
            vpcid_inventory_find(h, bases[t % NBASES].bdf);
        char *text = NULL;
        size_t len;
        struct vpci_error err = {0};
        if (!f || vpcid_derive_func_text(h, f, VPCI_POLICY_VFIO, NULL, &text,
                                         &len, NULL, &err) < 0) {
            fail("derive %s: %s", bases[t % NBASES].bdf, err.msg);
            goto out;
        }
        const char *v = variations[(t / NBASES) % NVAR];
        texts[t] = malloc(len + strlen(v) + 1);
        if (!texts[t]) {
            free(text);
            goto out;
        }
        memcpy(texts[t], text, len);
        strcpy(texts[t] + len, v);
        free(text);
    }

    /* ------------------------------------------------ load */
    double t1 = bench_now_ms();
    for (unsigned i = 0; i < nhosts; i++) {
        char path[PATH_MAX], err[512];
        snprintf(path, sizeof(path), "%s/host-%04u.json", dir, i);
        size_t len;
        char *text = bench_read_file(NULL, path, &len);
        if (!text) {
            fail("%s: %s", path, strerror(errno));
            goto out;
        }
        int r = vpcid_snapshot_load(text, len, &snaps[i], err, sizeof(err));
        free(text);
        if (r < 0) {
            fail("%s: %s", path, err);
            goto out;
        }
    }
    double t2 = bench_now_ms();

    /* ------------------------------------------------ compile */
    for (unsigned t = 0; t < ntypes; t++) {
        struct vpci_layout *l = NULL;
        struct vpci_error err = {0};
        int r = vpci_layout_parse(texts[t], strlen(texts[t]), &l, &err);
        if (r == 0)
            r = vpci_rules_new(l, &rules[t], &err);
        vpci_layout_free(l);
        if (r < 0) {
            fprintf(stderr, "bench_offline: type %u: %u:%u: %s\n", t, err.line,
                    err.col, err.msg);
            goto out;
        }
    }
    double t3 = bench_now_ms();

    /* ------------------------------------------------ evaluate */
    size_t checks = 0, nok = 0, out_bytes = 0;
    double t_ser = 0;
    for (unsigned t = 0; t < ntypes; t++) {
        json_t *hostarr = json_array();
        size_t tdev = 0, tok = 0, thosts_ok = 0;
        for (unsigned i = 0; i < nhosts; i++) {
            const struct inv_host *h = snaps[i]->host;
            size_t hok = 0;
            json_t *arr = NULL;
            if (vpcid_compat_offline(h, rules[t], &arr, &hok) < 0) {
                fail("host %u: compat check failed", i);
                goto out;
            }
            checks += h->nfuncs;
            char snapname[32];
            snprintf(snapname, sizeof(snapname), "host-%04u.json", i);
            json_array_append_new(
                hostarr, json_pack("{s:s, s:s, s:s, s:o, s:o}", "snapshot",
                                   snapname, "hostname", snaps[i]->hostname,
                                   "time", snaps[i]->time, "summary",
                                   vpcid_compat_summary(h->nfuncs, hok),
                                   "results", arr));
            tdev += h->nfuncs;
            tok += hok;
            thosts_ok += hok > 0;
        }
        json_t *doc = json_pack("{s:s, s:o, s:{s:I, s:I, s:I, s:I}}", "layout",
                                "type.vpci", "hosts", hostarr, "summary",
                                "hosts", (json_int_t)nhosts, "devices",
                                (json_int_t)tdev, "compatible", (json_int_t)tok,
                                "hosts_with_compatible", (json_int_t)thosts_ok);
        /* Serialised as vpcictl -o json prints it, bytes counted and
         * dropped (writing is the terminal's or the pipe's cost). */
        double s0 = bench_now_ms();
        size_t nbytes = 0;
        int dr = json_dump_callback(doc, count_bytes, &nbytes,
                                    JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        t_ser += bench_now_ms() - s0;
        json_decref(doc);
        out_bytes += nbytes + 1;
        if (dr < 0) {
            fail("out of memory");
            goto out;
        }
        ok_per_type[t] = (unsigned)tok;
        nok += tok;
    }
    double t4 = bench_now_ms();

    double load = t2 - t1, compile = t3 - t2, eval = t4 - t3 - t_ser;
    double total = load + compile + eval;
    printf("bench_offline: %u hosts x %u devices x %u types (%zu checks)\n",
           nhosts, ndev, ntypes, checks);
    printf("  fleet generated in %.0f ms: %u snapshot files, %.1f MB\n", t_gen,
           nhosts, (double)bytes / 1e6);
    printf("  read + load snapshots   %9.1f ms  (%.0f hosts/s, %.0f MB/s)\n",
           load, nhosts / (load / 1e3), (double)bytes / 1e6 / (load / 1e3));
    printf("  parse + compile types   %9.1f ms  (%.2f ms/type)\n", compile,
           compile / ntypes);
    printf("  checks + result JSON    %9.1f ms  (%.0f checks/s)\n", eval,
           (double)checks / (eval / 1e3));
    printf("  total                   %9.1f ms  (%.0f checks/s end to end)\n",
           total, (double)checks / (total / 1e3));
    printf("  target: total < %.0f ms: %s\n", TARGET_MS,
           total < TARGET_MS ? "met" : "MISSED");
    printf("  (serialising the %u -o json documents, %.1f MB: %.1f ms more; "
           "%.1f ms in all)\n",
           ntypes, (double)out_bytes / 1e6, t_ser, total + t_ser);
    printf("  compatible results: %zu; per type:", nok);
    for (unsigned t = 0; t < ntypes; t++)
        printf(" %u", ok_per_type[t]);
    printf("\n");
    rc = 0;
out:
    for (unsigned t = 0; texts && t < ntypes; t++)
        free(texts[t]);
    free(texts);
    free(ok_per_type);
    for (unsigned t = 0; t < NTREES; t++)
        vpcid_inventory_free(hosts[t]);
    for (unsigned i = 0; snaps && i < nhosts; i++)
        vpcid_snapshot_free(snaps[i]);
    for (unsigned t = 0; rules && t < ntypes; t++)
        vpci_rules_free(rules[t]);
    free(snaps);
    free(rules);
    if (keep) {
        printf("  kept %s\n", dir);
    } else {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_offline: could not remove %s\n", dir);
    }
    return rc;
}
