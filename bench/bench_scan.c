/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench_scan: build a fake sysfs tree of PFS PFs with VFS VFs each from an
 * lspci dump (default 8 x 255 = 2,048 functions), then time a full
 * inventory scan and `lspci -vvv -xxxx` on the same tree, in the same run.
 * Prints the median milliseconds of each.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inventory.h"
#include "sysfs_builder.h"

#ifndef LSPCI_PATH
#define LSPCI_PATH "lspci"
#endif

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One lspci run with its output thrown away; -1 if it failed. */
static double run_lspci(const char *lspci, const char *root)
{
    char param[4200];
    snprintf(param, sizeof(param), "sysfs.path=%s/bus/pci", root);
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(lspci, lspci, "-A", "linux-sysfs", "-O", param, "-vvv", "-xxxx",
              (char *)NULL);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
        return -1;
    return now_ms() - t0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dump", required_argument, NULL, 'd'},
        {"pfs", required_argument, NULL, 'p'},
        {"vfs", required_argument, NULL, 'v'},
        {"runs", required_argument, NULL, 'r'},
        {"lspci", required_argument, NULL, 'l'},
        {NULL, 0, NULL, 0},
    };
    const char *dump = NULL, *lspci = LSPCI_PATH;
    unsigned pfs = 8, vfs = 255;
    int runs = 7, c;
    while ((c = getopt_long(argc, argv, "d:p:v:r:l:", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dump = optarg;
            break;
        case 'p':
            pfs = (unsigned)atoi(optarg);
            break;
        case 'v':
            vfs = (unsigned)atoi(optarg);
            break;
        case 'r':
            runs = atoi(optarg);
            break;
        case 'l':
            lspci = optarg;
            break;
        default:
            return 2;
        }
    }
    if (!dump || runs < 1 || runs > 1000 || !pfs || pfs > 64) {
        fprintf(stderr, "usage: bench_scan --dump FILE [--pfs N] [--vfs N] "
                        "[--runs N] [--lspci PATH]\n");
        return 2;
    }
    char root[] = "/tmp/vpcid-bench-XXXXXX";
    if (!mkdtemp(root) || sb_init(root) < 0) {
        perror("bench_scan: tree");
        return 1;
    }
    double t0 = now_ms();
    for (unsigned i = 0; i < pfs; i++) {
        struct sb_func_opts o;
        sb_opts_init(&o);
        o.total_vfs = vfs;
        o.nvfs = vfs;
        o.vf_driver = "vfio-pci";
        o.numa = (int)(i % 2);
        char bdf[16];
        snprintf(bdf, sizeof(bdf), "0000:%02x:00.0", 0x10 + 2 * i);
        if (sb_add_dump(root, bdf, dump, &o) < 0) {
            fprintf(stderr, "bench_scan: cannot build the tree\n");
            sb_destroy(root);
            return 1;
        }
    }
    double build = now_ms() - t0;

    double *scan = calloc((size_t)runs, sizeof(double));
    double *ls = calloc((size_t)runs, sizeof(double));
    size_t nfuncs = 0, nwarn = 0;
    int rc = 0, nls = 0;
    for (int i = 0; scan && ls && i < runs; i++) {
        struct inv_host *h = NULL;
        t0 = now_ms();
        if (vpcid_inventory_scan(root, &h) < 0) {
            fprintf(stderr, "bench_scan: scan failed\n");
            rc = 1;
            break;
        }
        scan[i] = now_ms() - t0;
        nfuncs = h->nfuncs;
        nwarn = h->nwarnings;
        if (i == 0)
            for (size_t j = 0; j < h->nwarnings; j++)
                fprintf(stderr, "bench_scan: warning: %s\n", h->warnings[j]);
        for (size_t j = 0; j < h->nfuncs; j++)
            nwarn += h->funcs[j].nwarnings;
        vpcid_inventory_free(h);
        double l = run_lspci(lspci, root);
        if (l >= 0)
            ls[nls++] = l;
    }
    if (!rc) {
        printf("inventory scan: %zu functions (%u PFs x %u VFs), tree built "
               "in %.0f ms, %zu warnings\n",
               nfuncs, pfs, vfs, build, nwarn);
        printf("  vpcid inventory scan    %8.1f ms per full scan (median of "
               "%d)\n",
               median(scan, runs), runs);
        if (nls)
            printf("  lspci -vvv -xxxx        %8.1f ms per run (median of "
                   "%d)\n",
                   median(ls, nls), nls);
        else
            printf("  lspci -vvv -xxxx        not run (%s failed)\n", lspci);
    }
    free(scan);
    free(ls);
    sb_destroy(root);
    return rc;
}
