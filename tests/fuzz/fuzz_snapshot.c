/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for hostile host snapshots: the loader must refuse or
 * accept without crashing or leaking; what it accepts must write back and
 * load again to the same document, and the compatibility check must run
 * on every function of it (PF and group peer lookups included).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compat_json.h"
#include "facts.h"
#include "snapshot.h"
#include "vpci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Rules derived from the first function that has a config header. */
static struct vpci_rules *some_rules(const struct inv_host *h)
{
    for (size_t i = 0; i < h->nfuncs; i++) {
        struct vpci_device d;
        vpcid_inventory_to_device(&h->funcs[i], &d);
        struct vpci_layout *l = NULL;
        struct vpci_error err;
        if (d.size < 64 ||
            vpci_derive(&d, VPCI_POLICY_VFIO, NULL, &l, NULL, &err) < 0)
            continue;
        struct vpci_rules *r = NULL;
        if (vpci_rules_new(l, &r, &err) < 0)
            abort(); /* derive emits only valid layouts */
        vpci_layout_free(l);
        return r;
    }
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vpcid_snapshot *s = NULL;
    char err[512];
    if (vpcid_snapshot_load((const char *)data, size, &s, err, sizeof(err)) <
        0) {
        if (!memchr(err, '\0', sizeof(err)) || !err[0])
            abort(); /* a refusal always says why */
        return 0;
    }
    char *a = vpcid_snapshot_json(s->host, s->hostname, 0);
    if (!a)
        abort();
    struct vpcid_snapshot *s2 = NULL;
    if (vpcid_snapshot_load(a, strlen(a), &s2, err, sizeof(err)) < 0)
        abort(); /* what we write, we read */
    char *b = vpcid_snapshot_json(s2->host, s2->hostname, 0);
    if (!b || strcmp(a, b))
        abort();
    struct vpci_rules *r = some_rules(s->host);
    for (size_t i = 0; i < s->host->nfuncs; i++) {
        struct vpci_host_device hd;
        vpcid_host_facts(s->host, &s->host->funcs[i], NULL, 0, &hd);
        struct vpci_compat c;
        if (r && vpci_compat_check(r, &hd, -1, &c) == 0) {
            json_t *j = vpcid_compat_result_json(s->host->funcs[i].bdf, &c);
            if (!j)
                abort();
            json_decref(j);
        }
    }
    vpci_rules_free(r);
    free(a);
    free(b);
    vpcid_snapshot_free(s);
    vpcid_snapshot_free(s2);
    return 0;
}
