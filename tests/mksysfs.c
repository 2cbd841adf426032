/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mksysfs ROOT [SPEC]: build a fake sysfs tree from lspci dumps, for tests.
 * SPEC (default: standard input) holds one statement per line:
 *
 *   func BDF DUMP [index=N] [driver=D|none] [group=G|auto|none] [numa=N]
 *                 [vfs=N] [totalvfs=N] [vfdriver=D] [vfgroup=G|auto|none]
 *                 [vfbar=SIZE]
 *   group G BDF...            put functions into IOMMU group G (shared)
 *   write BDF FILE TEXT...    replace an attribute ("\n" is a newline)
 *   remove BDF FILE           delete an attribute (e.g. config)
 *   truncate BDF FILE N       keep the first N bytes of a file
 *   vanish BDF                remove the function, leave links to it
 *
 * Blank lines and lines starting with # are ignored.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysfs_builder.h"

static int parse_group(const char *v, int *ret)
{
    char *end;
    if (!strcmp(v, "auto"))
        *ret = SB_GROUP_AUTO;
    else if (!strcmp(v, "none"))
        *ret = SB_GROUP_NONE;
    else if ((*ret = (int)strtol(v, &end, 10)) < 0 || *end || !*v)
        return -EINVAL;
    return 0;
}

static int do_func(const char *root, char **tok, int n)
{
    struct sb_func_opts o;
    sb_opts_init(&o);
    if (n < 3)
        return -EINVAL;
    for (int i = 3; i < n; i++) {
        char *eq = strchr(tok[i], '=');
        if (!eq)
            return -EINVAL;
        *eq++ = '\0';
        const char *k = tok[i];
        if (!strcmp(k, "index"))
            o.index = (unsigned)strtoul(eq, NULL, 0);
        else if (!strcmp(k, "driver"))
            o.driver = strcmp(eq, "none") ? eq : "";
        else if (!strcmp(k, "group")) {
            if (parse_group(eq, &o.group) < 0)
                return -EINVAL;
        } else if (!strcmp(k, "numa"))
            o.numa = (int)strtol(eq, NULL, 10);
        else if (!strcmp(k, "vfs"))
            o.nvfs = (unsigned)strtoul(eq, NULL, 0);
        else if (!strcmp(k, "totalvfs"))
            o.total_vfs = (unsigned)strtoul(eq, NULL, 0);
        else if (!strcmp(k, "vfdriver"))
            o.vf_driver = eq;
        else if (!strcmp(k, "vfgroup")) {
            if (parse_group(eq, &o.vf_group) < 0)
                return -EINVAL;
        } else if (!strcmp(k, "vfbar"))
            o.vf_bar_size = strtoull(eq, NULL, 0);
        else
            return -EINVAL;
    }
    return sb_add_dump(root, tok[1], tok[2], &o);
}

static void unescape(char *s)
{
    char *w = s;
    for (char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1] == 'n') {
            *w++ = '\n';
            p++;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
}

static int do_line(const char *root, char *line)
{
    char *tok[64];
    int n = 0;
    char *rest = NULL, *save = NULL;
    for (char *t = strtok_r(line, " \t\n", &save); t && n < 64;
         t = strtok_r(NULL, " \t\n", &save)) {
        tok[n++] = t;
        if (n == 3 && !strcmp(tok[0], "write")) {
            rest = save;
            break;
        }
    }
    if (!n || tok[0][0] == '#')
        return 0;
    if (!strcmp(tok[0], "func"))
        return do_func(root, tok, n);
    if (!strcmp(tok[0], "group") && n >= 3) {
        int g = atoi(tok[1]);
        for (int i = 2; i < n; i++) {
            int r = sb_set_group(root, tok[i], g);
            if (r < 0)
                return r;
        }
        return 0;
    }
    if (!strcmp(tok[0], "write") && n == 3) {
        char *text = rest ? rest : (char *)"";
        text[strcspn(text, "\n")] = '\0';
        unescape(text);
        return sb_write_attr(root, tok[1], tok[2], text, strlen(text));
    }
    if (!strcmp(tok[0], "remove") && n == 3)
        return sb_write_attr(root, tok[1], tok[2], NULL, 0);
    if (!strcmp(tok[0], "truncate") && n == 4) {
        char path[PATH_MAX], link[PATH_MAX];
        snprintf(link, sizeof(link), "%s/bus/pci/devices/%s/%s", root, tok[1],
                 tok[2]);
        if (!realpath(link, path))
            return -errno;
        return truncate(path, strtol(tok[3], NULL, 0)) < 0 ? -errno : 0;
    }
    if (!strcmp(tok[0], "vanish") && n == 2)
        return sb_remove_func(root, tok[1]);
    return -EINVAL;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: mksysfs ROOT [SPEC]\n");
        return 2;
    }
    FILE *in = argc == 3 ? fopen(argv[2], "r") : stdin;
    if (!in) {
        perror(argv[2]);
        return 1;
    }
    int r = sb_init(argv[1]);
    if (r < 0) {
        fprintf(stderr, "mksysfs: %s: %s\n", argv[1], strerror(-r));
        return 1;
    }
    char line[4096];
    unsigned lineno = 0;
    while (fgets(line, sizeof(line), in)) {
        lineno++;
        char copy[4096];
        snprintf(copy, sizeof(copy), "%s", line);
        if ((r = do_line(argv[1], line)) < 0) {
            fprintf(stderr, "mksysfs: line %u: %s: %s", lineno, strerror(-r),
                    copy);
            return 1;
        }
    }
    if (in != stdin)
        fclose(in);
    return 0;
}
