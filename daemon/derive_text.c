/* SPDX-License-Identifier: BSD-2-Clause */
#include "derive_text.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Quirk files are small; anything larger is not one. */
#define QUIRK_FILE_MAX (1024 * 1024)

static char *read_small_file(const char *path, size_t *ret_len, int *ret_errno)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *ret_errno = errno;
        return NULL;
    }
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        st.st_size > QUIRK_FILE_MAX) {
        *ret_errno = EINVAL;
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        *ret_errno = ENOMEM;
        goto out;
    }
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, (size_t)st.st_size + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *ret_errno = errno;
            free(buf);
            buf = NULL;
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > (size_t)st.st_size) { /* grew while read */
            *ret_errno = EINVAL;
            free(buf);
            buf = NULL;
            goto out;
        }
    }
    buf[len] = '\0';
    *ret_len = len;
out:
    close(fd);
    return buf;
}

int vpcid_quirks_load(const char *dir, bool must_exist,
                      struct vpci_quirks **ret, char *err, size_t errlen)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) {
        int e = errno;
        if (!must_exist && e == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", dir, strerror(e));
        return -e;
    }
    int r = 0;
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        size_t len = strlen(nm);
        if (r == 0 && len > 6 && !strcmp(nm + len - 6, ".quirk")) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", dir, nm);
            size_t tlen = 0;
            int e = 0;
            char *text = read_small_file(path, &tlen, &e);
            struct vpci_error perr;
            if (!text) {
                snprintf(err, errlen, "%s: %s", path, strerror(e));
                r = -e;
            } else if ((r = vpci_quirks_parse(text, tlen, ret, &perr)) < 0) {
                vpci_error_format(&perr, path, err, errlen);
            }
            free(text);
        }
        free(names[i]);
    }
    free(names);
    return r;
}

int vpcid_derive_text(const struct vpci_device *d, const char *src,
                      const char *slot, const char *desc,
                      enum vpci_policy policy, const struct vpci_quirks *quirks,
                      char **ret_text, size_t *ret_len,
                      struct vpci_derive_notes *ret_notes,
                      struct vpci_error *err)
{
    struct vpci_layout *l = NULL;
    struct vpci_derive_notes notes;
    int r = vpci_derive(d, policy, quirks, &l, &notes, err);
    if (r < 0)
        return r;
    char *body = NULL;
    size_t blen = 0;
    r = vpci_layout_format(l, &body, &blen);
    vpci_layout_free(l);
    if (r < 0) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        err->line = err->col = 0;
        return r;
    }
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    if (!f) {
        free(body);
        return -ENOMEM;
    }
    fprintf(f, "# derived from %s slot %s (%s), policy %s\n", src, slot, desc,
            policy == VPCI_POLICY_VFIO ? "vfio" : "identity");
    for (size_t i = 0; i < notes.n; i++)
        fprintf(f, "# - %s\n", notes.note[i]);
    if (notes.dropped)
        fprintf(f, "# - (%zu more notes)\n", notes.dropped);
    fwrite(body, 1, blen, f);
    free(body);
    if (fclose(f) != 0 || !text) {
        free(text);
        return -ENOMEM;
    }
    if (ret_notes)
        *ret_notes = notes;
    *ret_text = text;
    *ret_len = tlen;
    return 0;
}

int vpcid_derive_func_text(const struct inv_host *h, const struct inv_func *f,
                           enum vpci_policy policy,
                           const struct vpci_quirks *quirks, char **ret_text,
                           size_t *ret_len, struct vpci_derive_notes *ret_notes,
                           struct vpci_error *err)
{
    if (f->config_size < 64) {
        err->line = err->col = 0;
        snprintf(err->msg, sizeof(err->msg), "config space unreadable");
        return -ENODATA;
    }
    struct vpci_device d;
    vpcid_inventory_to_device(f, &d);
    char src[4200], desc[200];
    snprintf(src, sizeof(src), "sysfs %s", h->sysfs_root);
    snprintf(desc, sizeof(desc), "%04x:%04x%s%s", f->vendor_id, f->device_id,
             f->physfn[0] ? " VF of " : "", f->physfn[0] ? f->physfn : "");
    return vpcid_derive_text(&d, src, f->bdf, desc, policy, quirks, ret_text,
                             ret_len, ret_notes, err);
}
