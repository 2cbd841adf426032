/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Resolve: place a layout on one physical function.  The result is the
 * layout plus a binding section that names the function and maps every
 * virtual capability, BAR and ROM to what backs it on the device, so a
 * VMM needs nothing but this text and the device.
 *
 * Whether the device can back the layout at all is the compatibility
 * check's job; resolve runs the same rules (so the two never disagree)
 * and refuses on the ones that make a map line impossible.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "layout_rules.h"

/* Rules whose failure leaves something in the layout without backing. */
static bool blocks_resolve(const char *code)
{
    static const char *const codes[] = {"config-unreadable", "bar-missing",
                                        "rom-missing", "phys-cap-missing"};
    for (size_t i = 0; i < ARRAY_SIZE(codes); i++)
        if (!strcmp(code, codes[i]))
            return true;
    return false;
}

static int check_backing(const struct vpci_layout *l,
                         const struct vpci_host_device *d,
                         struct vpci_error *err)
{
    struct vpci_rules *rules = NULL;
    struct vpci_compat *c = malloc(sizeof(*c));
    int r = -ENOMEM;
    if (!c)
        goto out;
    if ((r = vpci_rules_new(l, &rules, err)) < 0)
        goto out;
    if ((r = vpci_compat_check(rules, d, -1, c)) < 0)
        goto out;
    for (size_t i = 0; i < c->nreasons; i++)
        if (blocks_resolve(c->reasons[i].code)) {
            vpci_seterr(err, 0, 0, "%s cannot back the layout: %s",
                        d->bdf ? d->bdf : "the device", c->reasons[i].message);
            r = -EINVAL;
            goto out;
        }
    r = 0;
out:
    vpci_rules_free(rules);
    free(c);
    return r;
}

static void binding_clear(struct vpci_layout *l)
{
    for (size_t i = 0; i < l->nbinding; i++) {
        free(l->binding[i].key);
        for (size_t j = 0; j < l->binding[i].nargs; j++)
            free(l->binding[i].args[j]);
        free(l->binding[i].args);
    }
    free(l->binding);
    l->binding = NULL;
    l->nbinding = 0;
    l->has_binding = false;
}

static int add1(struct vpci_layout *l, const char *key, const char *arg)
{
    return vpci_layout_add_stmt(l, true, key, &arg, 1);
}

static int add_map(struct vpci_layout *l, const char *a0, const char *a1,
                   const char *a2, const char *a3)
{
    const char *args[4] = {a0, a1, a2, a3};
    return vpci_layout_add_stmt(l, true, "map", args, a3 ? 4 : a2 ? 3 : 2);
}

static int add_maps(struct vpci_layout *out, const struct vpci_layout *l,
                    const struct vpci_host_device *d,
                    const struct vpci_decoded *dec, struct vpci_error *err)
{
    char name[24], voff[16], poff[16];
    int r;
    for (size_t i = 1; i < l->nblocks; i++) {
        const struct vpci_block *b = &l->blocks[i];
        if (b->kind != VPCI_BLOCK_CAP && b->kind != VPCI_BLOCK_ECAP)
            continue;
        bool ext = b->kind == VPCI_BLOCK_ECAP;
        unsigned k = 0;
        for (size_t j = 1; j < i; j++)
            k += l->blocks[j].kind == b->kind && l->blocks[j].id == b->id;
        int found = -1;
        for (size_t j = 0; j < dec->ncaps && found < 0; j++)
            if (dec->caps[j].ext == ext && dec->caps[j].id == b->id && k-- == 0)
                found = dec->caps[j].off;
        const struct vpci_cap_def *def = vpci_cap_find(ext, b->id);
        if (def)
            snprintf(name, sizeof(name), "%s", def->name);
        else
            snprintf(name, sizeof(name), "0x%x", b->id);
        snprintf(voff, sizeof(voff), "0x%x", b->off);
        if (found >= 0) {
            snprintf(poff, sizeof(poff), "0x%x", (unsigned)found);
        } else {
            bool phys = false;
            for (size_t f = 0; f < b->nfields && !phys; f++)
                for (unsigned j = 0; j < b->fields[f].len && !phys; j++)
                    phys = b->fields[f].phys[j] != 0;
            if (phys) {
                /* The check agreed the device has it; a walk that
                 * disagrees is a bug, but never a crash. */
                vpci_seterr(err, 0, 0,
                            "%s cannot back the layout: %s %s at 0x%x "
                            "reaches the hardware and the device has no "
                            "such capability",
                            d->bdf, ext ? "ecap" : "cap", name, b->off);
                return -EINVAL;
            }
            snprintf(poff, sizeof(poff), "none");
        }
        if ((r = add_map(out, ext ? "ecap" : "cap", name, voff, poff)) < 0)
            return r;
    }
    for (unsigned i = 0; i < VPCI_MAX_BARS; i++) {
        const struct vpci_bar *bar = &l->bars[i];
        if (bar->type == VPCI_BAR_NONE)
            continue;
        char n[16], m[16];
        snprintf(n, sizeof(n), "%u", i);
        if (bar->from >= 0)
            snprintf(m, sizeof(m), "%d", bar->from);
        else
            snprintf(m, sizeof(m), "none");
        if ((r = add_map(out, "bar", n, m, NULL)) < 0)
            return r;
    }
    if (l->rom.size &&
        (r = add_map(out, "rom", l->rom.from_phys ? "rom" : "none", NULL,
                     NULL)) < 0)
        return r;
    return 0;
}

VPCI_EXPORT int vpci_resolve(const struct vpci_layout *l,
                             const struct vpci_host_device *d,
                             const struct vpci_bind_info *b,
                             struct vpci_layout **ret, struct vpci_error *err)
{
    if (!l || !d || !b || !ret)
        return -EINVAL;
    if (!b->instance_type || !b->version || b->version > 2147483647u) {
        vpci_seterr(err, 0, 0, "resolve needs an instance type and a version");
        return -EINVAL;
    }
    if (!d->bdf || !vpci_bdf_valid(d->bdf)) {
        vpci_seterr(err, 0, 0, "device '%s' is not a DDDD:BB:DD.F address",
                    d->bdf ? d->bdf : "(null)");
        return -EINVAL;
    }
    if (d->pf && !vpci_bdf_valid(d->pf)) {
        vpci_seterr(err, 0, 0, "PF '%s' is not a DDDD:BB:DD.F address", d->pf);
        return -EINVAL;
    }
    int r = check_backing(l, d, err);
    if (r < 0)
        return r;

    char hash[VPCI_HASH_STRLEN], fp[VPCI_HASH_STRLEN], num[24];
    struct vpci_layout *out = NULL;
    struct vpci_decoded *dec = malloc(sizeof(*dec));
    if (!dec)
        return -ENOMEM;
    /* check_backing saw at least 64 bytes. */
    vpci_decode(d->dev.cfg,
                d->dev.size > VPCI_CFG_SPACE_EXT ? VPCI_CFG_SPACE_EXT
                                                 : d->dev.size,
                dec);
    if ((r = vpci_layout_hash(l, hash)) < 0 ||
        (r = vpci_layout_fingerprint(l, fp)) < 0 ||
        (r = vpci_layout_dup(l, &out)) < 0)
        goto fail;
    binding_clear(out);
    snprintf(num, sizeof(num), "%u", b->version);
    if ((r = add1(out, "instance-type", b->instance_type)) < 0 ||
        (r = add1(out, "version", num)) < 0 ||
        (r = add1(out, "hash", hash)) < 0 ||
        (r = add1(out, "fingerprint", fp)) < 0 ||
        (r = add1(out, "bdf", d->bdf)) < 0 ||
        (r = add1(out, "pf", d->pf ? d->pf : "none")) < 0)
        goto fail;
    if (d->iommu_group >= 0)
        snprintf(num, sizeof(num), "%d", d->iommu_group);
    else
        snprintf(num, sizeof(num), "none");
    if ((r = add1(out, "iommu-group", num)) < 0 ||
        (r = add1(out, "vfio", b->vfio_path ? b->vfio_path : "none")) < 0 ||
        (r = add_maps(out, l, d, dec, err)) < 0)
        goto fail;
    /* The instance type and vfio path come from the caller: the
     * validator judges their syntax. */
    if ((r = vpci_layout_validate(out, err)) < 0)
        goto fail;
    free(dec);
    *ret = out;
    return 0;
fail:
    vpci_layout_free(out);
    free(dec);
    return r;
}
