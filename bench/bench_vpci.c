/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench_vpci: how fast libvpci does what a VMM and the daemon do often.
 *
 *   bench_vpci [--layout FILE]... [--dump FILE]... [--quick]
 *
 * Prints, per layout: median microseconds for parse+validate+render+hash
 * (the work of loading an instance type), and nanoseconds per emulated
 * 4-byte guest config read and write; per dump device: median
 * microseconds to derive a layout (vfio policy).  Figures are medians of
 * many timed runs, so a noisy neighbour moves them little.
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

static unsigned count_lines(const char *t, size_t n)
{
    unsigned lines = 0;
    size_t i = 0;
    while (i < n) {
        size_t s = i;
        while (i < n && t[i] != '\n')
            i++;
        size_t j = s;
        while (j < i && (t[j] == ' ' || t[j] == '\t'))
            j++;
        if (j == i || t[j] != '#')
            lines++; /* blank lines count, comments do not */
        i++;
    }
    return lines;
}

/* One load of an instance type: what the daemon and a VMM do per file. */
static int load_once(const char *text, size_t len)
{
    struct vpci_layout *l = NULL;
    struct vpci_error err;
    static struct vpci_render r;
    char h[VPCI_HASH_STRLEN];
    int rc = vpci_layout_parse(text, len, &l, &err);
    if (rc == 0)
        rc = vpci_render(l, &r);
    if (rc == 0)
        rc = vpci_layout_hash(l, h);
    vpci_layout_free(l);
    return rc;
}

static volatile uint32_t sink;

static int bench_layout(const char *path, unsigned runs)
{
    size_t len;
    char *text = bench_read_file("bench_vpci", path, &len);
    if (!text)
        return -1;
    double *t = calloc(runs, sizeof(*t));
    if (!t) {
        free(text);
        return -1;
    }
    if (load_once(text, len) < 0) {
        fprintf(stderr, "bench_vpci: %s does not load\n", path);
        free(t);
        free(text);
        return -1;
    }
    for (unsigned i = 0; i < runs; i++) {
        double a = bench_now_ns();
        load_once(text, len);
        t[i] = bench_now_ns() - a;
    }
    printf("%-28s %4u lines  parse+validate+render+hash  median %8.2f us"
           "  (target <= 20 us)\n",
           path, count_lines(text, len), bench_median(t, runs) / 1e3);

    /* The same work stage by stage, to show where the time goes. */
    {
        double st[4][1001];
        unsigned n = runs < 1001 ? runs : 1001;
        static struct vpci_render r;
        char h[VPCI_HASH_STRLEN];
        for (unsigned i = 0; i < n; i++) {
            struct vpci_layout *l = NULL;
            struct vpci_error err;
            double a = bench_now_ns();
            vpci_layout_parse(text, len, &l, &err);
            double b = bench_now_ns();
            vpci_render(l, &r);
            double c = bench_now_ns();
            vpci_layout_hash(l, h);
            double d = bench_now_ns();
            vpci_layout_fingerprint(l, h);
            double e = bench_now_ns();
            st[0][i] = b - a;
            st[1][i] = c - b;
            st[2][i] = d - c;
            st[3][i] = e - d;
            vpci_layout_free(l);
        }
        printf("%-28s   stages: parse+validate %.2f us, render %.2f us, "
               "hash %.2f us (fingerprint %.2f us)\n",
               path, bench_median(st[0], n) / 1e3, bench_median(st[1], n) / 1e3,
               bench_median(st[2], n) / 1e3, bench_median(st[3], n) / 1e3);
    }

    /* Emulated accesses: cycle through every dword of the space, the
     * way a guest walks config space, in batches timed as a whole. */
    struct vpci_layout *l = NULL;
    struct vpci_emu *e = NULL;
    struct vpci_error err;
    if (vpci_layout_parse(text, len, &l, &err) < 0 ||
        vpci_emu_new(l, NULL, NULL, &e) < 0) {
        fprintf(stderr, "bench_vpci: %s: no emulator\n", path);
        vpci_layout_free(l);
        free(t);
        free(text);
        return -1;
    }
    const unsigned batch = 1u << 16, mask = l->space / 4 - 1;
    double rd[101], wr[101];
    for (unsigned b = 0; b < 101; b++) {
        uint32_t v, acc = 0;
        double a = bench_now_ns();
        for (unsigned i = 0; i < batch; i++) {
            vpci_emu_read(e, (uint16_t)((i & mask) * 4), 4, &v);
            acc += v;
        }
        rd[b] = (bench_now_ns() - a) / batch;
        sink = acc;
        a = bench_now_ns();
        /* Writes skip the BAR/ROM registers and the command register so
         * the run measures the per-bit model, not event delivery. */
        for (unsigned i = 0; i < batch; i++) {
            unsigned off = (i & mask) * 4;
            if (off < 0x40)
                off += 0x40;
            vpci_emu_write(e, (uint16_t)off, 4, i);
        }
        wr[b] = (bench_now_ns() - a) / batch;
    }
    printf("%-28s emulated 4-byte read   median %6.1f ns   write median "
           "%6.1f ns  (target <= 50 ns)\n",
           path, bench_median(rd, 101), bench_median(wr, 101));
    vpci_emu_free(e);
    vpci_layout_free(l);
    free(t);
    free(text);
    return 0;
}

static int bench_dump(const char *path, unsigned runs)
{
    size_t len, ndev = 0;
    char *text = bench_read_file("bench_vpci", path, &len);
    struct vpci_dump_dev *devs = NULL;
    struct vpci_error err;
    if (!text)
        return -1;
    if (vpci_dump_parse(text, len, &devs, &ndev, &err) < 0) {
        fprintf(stderr, "bench_vpci: %s: %s\n", path, err.msg);
        free(text);
        return -1;
    }
    double *t = calloc(runs, sizeof(*t));
    for (size_t d = 0; t && d < ndev; d++) {
        struct vpci_device dev = {.cfg = devs[d].cfg, .size = devs[d].size};
        for (unsigned i = 0; i < VPCI_MAX_BARS; i++)
            dev.bar_size[i] = devs[d].region_size[i];
        for (int p = 0; p < 2; p++) {
            enum vpci_policy pol = p ? VPCI_POLICY_IDENTITY : VPCI_POLICY_VFIO;
            struct vpci_layout *l = NULL;
            if (vpci_derive(&dev, pol, NULL, &l, NULL, &err) < 0)
                break;
            vpci_layout_free(l);
            for (unsigned i = 0; i < runs; i++) {
                double a = bench_now_ns();
                vpci_derive(&dev, pol, NULL, &l, NULL, &err);
                t[i] = bench_now_ns() - a;
                vpci_layout_free(l);
            }
            printf("%-28s %s %4u B  derive --policy %-8s median %8.2f us\n",
                   strrchr(path, '/') ? strrchr(path, '/') + 1 : path,
                   devs[d].slot, devs[d].size, p ? "identity" : "vfio",
                   bench_median(t, runs) / 1e3);
        }
    }
    free(t);
    free(devs);
    free(text);
    return 0;
}

int main(int argc, char **argv)
{
    const char *layouts[32], *dumps[32];
    size_t nl = 0, nd = 0;
    unsigned runs = 20001;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--layout") && i + 1 < argc && nl < 32)
            layouts[nl++] = argv[++i];
        else if (!strcmp(argv[i], "--dump") && i + 1 < argc && nd < 32)
            dumps[nd++] = argv[++i];
        else if (!strcmp(argv[i], "--quick"))
            runs = 501;
        else {
            fprintf(stderr, "usage: bench_vpci [--layout FILE]... "
                            "[--dump FILE]... [--quick]\n");
            return 2;
        }
    }
    int rc = 0;
    for (size_t i = 0; i < nl; i++)
        rc |= bench_layout(layouts[i], runs) < 0;
    for (size_t i = 0; i < nd; i++)
        rc |= bench_dump(dumps[i], runs / 10 + 1) < 0;
    return rc;
}
