/* SPDX-License-Identifier: BSD-2-Clause */
#include "compat_json.h"

#include <errno.h>

#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "inventory.h"

/* Length of the valid UTF-8 sequence at s (1-4), 0 if none. */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n;
    unsigned cp;
    if ((s[0] & 0xe0) == 0xc0) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

json_t *vpcid_json_text(const char *s)
{
    size_t len = strlen(s);
    /* Most text needs no replacement: no copy then (fleet compat builds
     * millions of these). */
    size_t clean = 0;
    while (clean < len && (unsigned char)s[clean] >= 0x20 &&
           (unsigned char)s[clean] < 0x7f)
        clean++;
    if (clean == len)
        return json_stringn(s, len);
    char *copy = malloc(len + 1);
    if (!copy)
        return NULL;
    size_t o = 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_len(u + i);
        if (n == 0 || (n == 1 && (u[i] < 0x20 || u[i] == 0x7f))) {
            copy[o++] = '?';
            i++;
        } else {
            memcpy(copy + o, s + i, n);
            o += n;
            i += n;
        }
    }
    json_t *j = json_stringn(copy, o);
    free(copy);
    return j;
}

int vpcid_bdf_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}

int vpcid_compat_cmp(bool a_compatible, int a_score, const char *a_bdf,
                     bool b_compatible, int b_score, const char *b_bdf)
{
    if (a_compatible != b_compatible)
        return a_compatible ? -1 : 1;
    if (a_compatible && a_score != b_score)
        return a_score > b_score ? -1 : 1;
    return vpcid_bdf_cmp(a_bdf, b_bdf);
}

/* Built member by member rather than with json_pack: fleet compat makes
 * millions of these, and the keys need no checking. */
static json_t *reason_json(const char *code, const char *message,
                           const char *expected, const char *actual)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (json_object_set_new_nocheck(o, "code", vpcid_json_text(code)) < 0 ||
        json_object_set_new_nocheck(o, "message", vpcid_json_text(message)) <
            0 ||
        json_object_set_new_nocheck(o, "expected", vpcid_json_text(expected)) <
            0 ||
        json_object_set_new_nocheck(o, "actual", vpcid_json_text(actual)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *vpcid_compat_result_json(const char *bdf, const struct vpci_compat *c)
{
    json_t *o = json_object();
    json_t *reasons = json_array();
    if (!o || !reasons ||
        json_object_set_new_nocheck(o, "bdf", json_string(bdf)) < 0 ||
        json_object_set_new_nocheck(o, "compatible",
                                    json_boolean(c && c->compatible)) < 0 ||
        json_object_set_new_nocheck(o, "score",
                                    json_integer(c ? c->score : 0)) < 0) {
        json_decref(o);
        json_decref(reasons);
        return NULL;
    }
    for (size_t i = 0; c && i < c->nreasons; i++) {
        json_t *r = reason_json(c->reasons[i].code, c->reasons[i].message,
                                c->reasons[i].expected, c->reasons[i].actual);
        if (json_array_append_new(reasons, r) < 0) {
            json_decref(o);
            json_decref(reasons);
            return NULL;
        }
    }
    if (!c && json_array_append_new(
                  reasons, reason_json("not-present",
                                       "no such PCI function on this host",
                                       "present", "absent")) < 0) {
        json_decref(o);
        json_decref(reasons);
        return NULL;
    }
    if (json_object_set_new_nocheck(o, "reasons", reasons) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

struct offline_result {
    const char *bdf;
    bool compatible;
    int score;
    json_t *json;
};

static int offline_cmp(const void *pa, const void *pb)
{
    const struct offline_result *a = pa, *b = pb;
    return vpcid_compat_cmp(a->compatible, a->score, a->bdf, b->compatible,
                            b->score, b->bdf);
}

int vpcid_compat_offline(const struct inv_host *h,
                         const struct vpci_rules *rules, json_t **ret_results,
                         size_t *ret_ok)
{
    struct offline_result *res =
        calloc(h->nfuncs ? h->nfuncs : 1, sizeof(*res));
    if (!res)
        return -ENOMEM;
    int r = 0;
    size_t n = 0, nok = 0;
    for (; n < h->nfuncs; n++) {
        const struct inv_func *f = &h->funcs[n];
        struct vpci_host_device hd;
        struct vpci_compat c;
        vpcid_host_facts(h, f, NULL, 0, &hd);
        if ((r = vpci_compat_check(rules, &hd, -1, &c)) < 0)
            break;
        res[n] = (struct offline_result){f->bdf, c.compatible, c.score,
                                         vpcid_compat_result_json(f->bdf, &c)};
        nok += c.compatible;
        if (!res[n].json) {
            r = -ENOMEM;
            break;
        }
    }
    json_t *arr = r < 0 ? NULL : json_array();
    if (r == 0 && !arr)
        r = -ENOMEM;
    if (arr) {
        qsort(res, n, sizeof(*res), offline_cmp);
        for (size_t i = 0; i < n; i++) {
            json_array_append_new(arr, res[i].json);
            res[i].json = NULL;
        }
        *ret_results = arr;
        *ret_ok = nok;
    }
    for (size_t i = 0; i < n; i++)
        json_decref(res[i].json);
    free(res);
    return r;
}

json_t *vpcid_compat_summary(size_t devices, size_t compatible)
{
    return json_pack("{s:I, s:I, s:I}", "devices", (json_int_t)devices,
                     "compatible", (json_int_t)compatible, "incompatible",
                     (json_int_t)(devices - compatible));
}
