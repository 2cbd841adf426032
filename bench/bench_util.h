/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the bench programs share: a monotonic clock, the median of timed
 * runs and reading a whole file.  Static inline: each program includes
 * it once.
 */
#ifndef VPCID_BENCH_UTIL_H
#define VPCID_BENCH_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds. */
static inline double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* CLOCK_MONOTONIC in milliseconds. */
static inline double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (n > 0); sorts v. */
static inline double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The whole file, malloc'ed, its length in *ret_len; NULL when it cannot
 * be opened ("PROG: PATH: reason" on stderr when prog is not NULL) or on
 * allocation failure. */
static inline char *bench_read_file(const char *prog, const char *path,
                                    size_t *ret_len)
{
    *ret_len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (prog)
            fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
        if (len == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    if (buf)
        *ret_len = len;
    return buf;
}

#endif
