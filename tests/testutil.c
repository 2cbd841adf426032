/* SPDX-License-Identifier: BSD-2-Clause */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

const char *tu_fixture(const char *rel)
{
    static char path[4096];
    const char *top = getenv("top_srcdir");
    snprintf(path, sizeof(path), "%s/tests/fixtures/%s", top ? top : ".", rel);
    return path;
}

char *tu_read(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 65536) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap + 1);
            ck_assert_ptr_nonnull(buf);
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    buf[len] = '\0';
    if (ret_len)
        *ret_len = len;
    return buf;
}

struct vpci_layout *tu_layout_text(const char *text)
{
    struct vpci_layout *l = NULL;
    struct vpci_error err = {0};
    int r = vpci_layout_parse(text, strlen(text), &l, &err);
    ck_assert_msg(r == 0, "parse failed at %u:%u: %s", err.line, err.col,
                  err.msg);
    return l;
}

struct vpci_layout *tu_layout(const char *rel)
{
    char *text = tu_read(tu_fixture(rel), NULL);
    struct vpci_layout *l = tu_layout_text(text);
    free(text);
    return l;
}

struct vpci_dump_dev *tu_dumps(const char *rel, size_t *ret_n)
{
    size_t len;
    char *text = tu_read(tu_fixture(rel), &len);
    struct vpci_dump_dev *devs = NULL;
    struct vpci_error err = {0};
    int r = vpci_dump_parse(text, len, &devs, ret_n, &err);
    ck_assert_msg(r == 0, "%s: dump parse failed: %s", rel, err.msg);
    free(text);
    return devs;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **tu_list_dumps(const char *subdir)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", tu_fixture(subdir));
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    char **list = calloc(1, sizeof(char *));
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 7 || strcmp(de->d_name + l - 6, ".lspci"))
            continue;
        list = realloc(list, (n + 2) * sizeof(char *));
        ck_assert_ptr_nonnull(list);
        list[n++] = strdup(de->d_name);
        list[n] = NULL;
    }
    closedir(d);
    qsort(list, n, sizeof(char *), cmp_str);
    return list;
}

void tu_free_list(char **list)
{
    if (!list)
        return;
    for (char **p = list; *p; p++)
        free(*p);
    free(list);
}

int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

static uint32_t tu_rng = 1;

void tu_srand(uint32_t seed)
{
    tu_rng = seed ? seed : 1;
}

uint32_t tu_rand(void)
{
    tu_rng ^= tu_rng << 13;
    tu_rng ^= tu_rng >> 17;
    tu_rng ^= tu_rng << 5;
    return tu_rng;
}
