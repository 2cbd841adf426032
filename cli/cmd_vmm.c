/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vpcictl vmm qemu|libvirt RESOLVED.vpci: what today's QEMU can be told
 * about a resolved layout, as vfio-pci options or a libvirt <hostdev>
 * with qemu:override properties, and a fidelity report: every guest-
 * visible difference left between what QEMU will present and what the
 * layout defines.
 *
 * QEMU's view is modelled as `layout derive --policy vfio` of the
 * physical function (no quirks: QEMU has none of ours) with the emitted
 * options applied: identity overridden, a PASID capability synthesised
 * at x-vpasid-cap-offset with the host's width and modes, ATS removed
 * for ats=off, the MSI-X table moved for x-msix-relocation, the ROM
 * hidden for rombar=0.  What vpci_layout_diff still finds between that
 * view and the layout is what QEMU cannot express.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "inputs.h"
#include "inventory.h"
#include "vpci.h"
#include "vpcictl.h"

#define PASID_ID 0x001b
#define ATS_ID 0x000f
#define MSIX_ID 0x11
#define HOST_PAGE 4096u

static int usage(const char *msg)
{
    fprintf(stderr, "vpcictl vmm: %s\n", msg);
    fprintf(stderr, "usage: vpcictl vmm qemu|libvirt [--sysfs DIR | --dump "
                    "FILE | --snapshot FILE]\n"
                    "                   [--id NAME] [-o text|json] "
                    "RESOLVED.vpci\n");
    return EXIT_USAGE;
}

/* ------------------------------------------------------------------ */
/* The properties                                                      */
/* ------------------------------------------------------------------ */

#define MAX_PROPS 16

struct prop {
    const char *name;
    char value[32];
    bool is_uint; /* libvirt type='unsigned' (value in decimal there) */
    unsigned long long uval;
};

struct plan {
    struct prop p[MAX_PROPS];
    size_t n;
    /* What the properties do to QEMU's view. */
    int pasid_off; /* -1 none */
    int ats;       /* -1 omitted, 0 off, 1 on */
    int msix_bar;  /* -1 no relocation */
    bool rombar_off;
};

static void add_uint(struct plan *pl, const char *name, unsigned digits,
                     unsigned long long v)
{
    struct prop *p = &pl->p[pl->n++];
    p->name = name;
    p->is_uint = true;
    p->uval = v;
    snprintf(p->value, sizeof(p->value), "0x%0*llx", (int)digits, v);
}

static void add_str(struct plan *pl, const char *name, const char *v)
{
    struct prop *p = &pl->p[pl->n++];
    p->name = name;
    p->is_uint = false;
    snprintf(p->value, sizeof(p->value), "%s", v);
}

static uint32_t header_value(const struct vpci_layout *l, const char *name)
{
    const struct vpci_field *f = vpci_block_find_field(&l->blocks[0], name);
    return f ? vpci_field_value(f) : 0;
}

static const struct vpci_block *
find_block(const struct vpci_layout *l, enum vpci_block_kind kind, uint16_t id)
{
    for (size_t i = 1; i < l->nblocks; i++)
        if (l->blocks[i].kind == kind && l->blocks[i].id == id)
            return &l->blocks[i];
    return NULL;
}

static bool block_has_phys(const struct vpci_block *b)
{
    for (size_t i = 0; i < b->nfields; i++)
        for (unsigned j = 0; j < b->fields[i].len; j++)
            if (b->fields[i].phys[j])
                return true;
    return false;
}

/* Offset of capability (ext, id) in raw config bytes, -1 if none. */
static int cfg_find(const uint8_t *cfg, unsigned size, bool ext, uint16_t id)
{
    if (!cfg || size < 64)
        return -1;
    struct vpci_decoded *dec = malloc(sizeof(*dec));
    if (!dec)
        return -1;
    int off = -1;
    vpci_decode(cfg, size > VPCI_CFG_SPACE_EXT ? VPCI_CFG_SPACE_EXT : size,
                dec);
    for (size_t i = 0; i < dec->ncaps && off < 0; i++)
        if (dec->caps[i].ext == ext && dec->caps[i].id == id)
            off = dec->caps[i].off;
    free(dec);
    return off;
}

static void build_plan(const struct vpci_layout *l,
                       const struct vpci_host_device *hd, struct plan *pl)
{
    memset(pl, 0, sizeof(*pl));
    pl->pasid_off = -1;
    pl->ats = -1;
    pl->msix_bar = -1;
    /* Identity always: the guest sees the layout's, whatever the host
     * function is. */
    add_uint(pl, "x-pci-vendor-id", 4, header_value(l, "vendor_id"));
    add_uint(pl, "x-pci-device-id", 4, header_value(l, "device_id"));
    if (l->header_type == 0) {
        add_uint(pl, "x-pci-sub-vendor-id", 4,
                 header_value(l, "subsystem_vendor"));
        add_uint(pl, "x-pci-sub-device-id", 4, header_value(l, "subsystem_id"));
    }
    add_uint(pl, "x-pci-class-code", 6,
             header_value(l, "base_class") << 16 |
                 header_value(l, "subclass") << 8 | header_value(l, "prog_if"));

    const struct vpci_block *pasid = find_block(l, VPCI_BLOCK_ECAP, PASID_ID);
    if (pasid && !block_has_phys(pasid)) {
        pl->pasid_off = pasid->off;
        add_uint(pl, "x-vpasid-cap-offset", 3, pasid->off);
    }

    bool l_ats = find_block(l, VPCI_BLOCK_ECAP, ATS_ID) != NULL;
    bool d_ats = cfg_find(hd->dev.cfg, hd->dev.size, true, ATS_ID) >= 0;
    if (l_ats && d_ats) {
        pl->ats = 1;
        add_str(pl, "ats", "on");
    } else if (d_ats) {
        pl->ats = 0;
        add_str(pl, "ats", "off");
    }

    /* The MSI-X table in a BAR no physical BAR backs: only relocation
     * gets a table there. */
    const struct vpci_block *msix = find_block(l, VPCI_BLOCK_CAP, MSIX_ID);
    if (msix) {
        const struct vpci_field *t = vpci_block_find_field(msix, "table");
        if (t) {
            unsigned bir = vpci_field_value(t) & 7;
            if (bir < VPCI_MAX_BARS && l->bars[bir].type != VPCI_BAR_NONE &&
                l->bars[bir].from < 0) {
                char v[8];
                snprintf(v, sizeof(v), "bar%u", bir);
                pl->msix_bar = (int)bir;
                add_str(pl, "x-msix-relocation", v);
            }
        }
    }
    if (!l->rom.size && hd->dev.rom_size) {
        pl->rombar_off = true;
        add_uint(pl, "rombar", 1, 0);
        snprintf(pl->p[pl->n - 1].value, sizeof(pl->p[0].value), "0");
    }
}

/* ------------------------------------------------------------------ */
/* QEMU's view                                                          */
/* ------------------------------------------------------------------ */

static void field_set(struct vpci_field *f, uint32_t v)
{
    for (unsigned i = 0; i < f->len && i < 4; i++)
        f->val[i] = (uint8_t)(v >> (8 * i));
}

static int header_set(struct vpci_layout *q, const char *name, unsigned off,
                      unsigned len, uint32_t v)
{
    struct vpci_block *h = &q->blocks[0];
    for (size_t i = 0; i < h->nfields; i++)
        if (!strcmp(h->fields[i].name, name)) {
            field_set(&h->fields[i], v);
            return 0;
        }
    return vpci_block_add_reg(h, (uint16_t)off, len, name, v, 0, 0, 0);
}

/* x-msix-relocation=barN as QEMU does it: a new BAR just big enough
 * (64-bit when the next slot is free, prefetchable), or the BAR doubled
 * with the table in its upper half; the PBA follows the table. */
static void relocate_msix(struct vpci_layout *q, unsigned bar)
{
    struct vpci_block *m = NULL;
    for (size_t i = 1; i < q->nblocks && !m; i++)
        if (q->blocks[i].kind == VPCI_BLOCK_CAP && q->blocks[i].id == MSIX_ID)
            m = &q->blocks[i];
    if (!m)
        return;
    struct vpci_field *ctl = NULL, *table = NULL, *pba = NULL;
    for (size_t i = 0; i < m->nfields; i++) {
        if (!strcmp(m->fields[i].name, "msgctl"))
            ctl = &m->fields[i];
        else if (!strcmp(m->fields[i].name, "table"))
            table = &m->fields[i];
        else if (!strcmp(m->fields[i].name, "pba"))
            pba = &m->fields[i];
    }
    if (!ctl || !table || !pba)
        return;
    uint64_t entries = (vpci_field_value(ctl) & 0x7ff) + 1;
    uint64_t sz = entries * 16 + (entries + 63) / 64 * 8;
    sz = (sz + HOST_PAGE - 1) / HOST_PAGE * HOST_PAGE;
    uint64_t p2 = 1;
    while (p2 < sz)
        p2 <<= 1;
    sz = p2;
    struct vpci_bar *b = &q->bars[bar];
    uint64_t toff;
    if (b->type == VPCI_BAR_NONE) {
        bool next_free =
            bar + 1 < VPCI_MAX_BARS && q->bars[bar + 1].type == VPCI_BAR_NONE;
        b->type = next_free ? VPCI_BAR_MEM64 : VPCI_BAR_MEM32;
        b->prefetch = true;
        b->size = sz;
        b->from = -1;
        toff = 0;
    } else {
        b->size = b->size * 2 > sz * 2 ? b->size * 2 : sz * 2;
        b->from = -1; /* no longer the device's BAR alone */
        toff = b->size / 2;
    }
    field_set(table, (uint32_t)(toff | bar));
    field_set(pba, (uint32_t)((toff + entries * 16) | bar));
}

/* Free a statement list (the layout's requires or binding). */
static void stmts_drop(struct vpci_stmt **list, size_t *n)
{
    for (size_t i = 0; i < *n; i++) {
        free((*list)[i].key);
        for (size_t j = 0; j < (*list)[i].nargs; j++)
            free((*list)[i].args[j]);
        free((*list)[i].args);
    }
    free(*list);
    *list = NULL;
    *n = 0;
}

struct fidelity {
    char what[96];
    char qemu[128];
    char layout[128];
    char detail[64];
    char text[512];
};

struct report {
    struct fidelity *f;
    size_t n;
};

/* One line of vpci_layout_diff (A = QEMU, B = the layout) as an item. */
static int add_item(struct report *rep, const char *line)
{
    struct fidelity *nv = realloc(rep->f, (rep->n + 1) * sizeof(*nv));
    if (!nv)
        return -ENOMEM;
    rep->f = nv;
    struct fidelity *f = &rep->f[rep->n++];
    memset(f, 0, sizeof(*f));
    const char *sep = strstr(line, ": ");
    if (!sep) {
        snprintf(f->what, sizeof(f->what), "%s", line);
        snprintf(f->text, sizeof(f->text), "%s", line);
        return 0;
    }
    snprintf(f->what, sizeof(f->what), "%.*s", (int)(sep - line), line);
    const char *rest = sep + 2;
    char *at = strchr(f->what, '@');
    const char *arrow = strstr(rest, " -> ");
    if (!strcmp(rest, "only in A") || !strcmp(rest, "only in B")) {
        bool qemu = rest[8] == 'A';
        char where[32] = "";
        if (at) {
            snprintf(where, sizeof(where), "at %s", at + 1);
            *at = '\0';
        }
        snprintf(qemu ? f->qemu : f->layout, sizeof(f->qemu), "%s",
                 where[0] ? where : "present");
        snprintf(qemu ? f->layout : f->qemu, sizeof(f->qemu), "absent");
        snprintf(f->detail, sizeof(f->detail), "presence");
        if (qemu)
            snprintf(f->text, sizeof(f->text),
                     "%s: QEMU presents it%s%s, the layout does not have it",
                     f->what, where[0] ? " " : "", where);
        else
            snprintf(f->text, sizeof(f->text),
                     "%s: the layout has it%s%s, QEMU does not present it",
                     f->what, where[0] ? " " : "", where);
        return 0;
    }
    if (!strncmp(rest, "bytes differ from byte ", 23)) {
        unsigned byte, a, b;
        if (sscanf(rest + 23, "%u (0x%x -> 0x%x)", &byte, &a, &b) == 3) {
            snprintf(f->detail, sizeof(f->detail), "bytes from byte %u", byte);
            snprintf(f->qemu, sizeof(f->qemu), "0x%02x", a);
            snprintf(f->layout, sizeof(f->layout), "0x%02x", b);
            snprintf(f->text, sizeof(f->text),
                     "%s: QEMU presents byte %u as 0x%02x, the layout as "
                     "0x%02x (first difference)",
                     f->what, byte, a, b);
            return 0;
        }
    }
    if (arrow) {
        /* "[WORD ]X -> Y": WORD is moved, value, rw, w1c, phys, version or
         * width; bars, rom, space and chains have none. */
        const char *x = rest;
        static const char *const words[] = {
            "moved ", "value ", "rw ", "w1c ", "phys ", "version ", "width "};
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
            size_t wl = strlen(words[i]);
            if (!strncmp(rest, words[i], wl)) {
                snprintf(f->detail, sizeof(f->detail), "%.*s", (int)wl - 1,
                         words[i]);
                x = rest + wl;
                break;
            }
        }
        if (!f->detail[0]) {
            size_t wl = strlen(f->what);
            snprintf(f->detail, sizeof(f->detail), "%s",
                     wl > 6 && !strcmp(f->what + wl - 6, " chain") ? "order"
                     : !strncmp(f->what, "bar ", 4) || !strcmp(f->what, "rom")
                         ? "geometry"
                         : "kind");
        }
        snprintf(f->qemu, sizeof(f->qemu), "%.*s", (int)(arrow - x), x);
        snprintf(f->layout, sizeof(f->layout), "%s", arrow + 4);
        if (!strcmp(f->detail, "moved"))
            snprintf(f->text, sizeof(f->text),
                     "%s: QEMU presents it at %s, the layout at %s", f->what,
                     f->qemu, f->layout);
        else if (strcmp(f->detail, "order") && strcmp(f->detail, "geometry") &&
                 strcmp(f->detail, "kind"))
            snprintf(f->text, sizeof(f->text),
                     "%s: QEMU presents %s %s, the layout %s", f->what,
                     f->detail, f->qemu, f->layout);
        else
            snprintf(f->text, sizeof(f->text),
                     "%s: QEMU presents %s, the layout %s", f->what, f->qemu,
                     f->layout);
        return 0;
    }
    snprintf(f->detail, sizeof(f->detail), "%s", rest);
    snprintf(f->text, sizeof(f->text), "%s", line);
    return 0;
}

/* QEMU's view of hd with pl applied, compared with l. */
static int fidelity(const struct vpci_layout *l,
                    const struct vpci_host_device *hd, const struct plan *pl,
                    struct report *rep)
{
    struct vpci_layout *q = NULL, *lay = NULL;
    struct vpci_error err;
    char *text = NULL;
    int r = vpci_derive(&hd->dev, VPCI_POLICY_VFIO, NULL, &q, NULL, &err);
    if (r < 0) {
        fprintf(stderr, "vpcictl: %s: cannot model QEMU's view: %s\n", hd->bdf,
                r == -ENOMEM ? "out of memory" : err.msg);
        return r;
    }
    for (size_t i = 0; i < pl->n; i++) {
        const struct prop *p = &pl->p[i];
        static const struct {
            const char *prop, *field;
            unsigned off, len;
        } ids[] = {
            {"x-pci-vendor-id", "vendor_id", 0x00, 2},
            {"x-pci-device-id", "device_id", 0x02, 2},
            {"x-pci-sub-vendor-id", "subsystem_vendor", 0x2c, 2},
            {"x-pci-sub-device-id", "subsystem_id", 0x2e, 2},
        };
        for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++)
            if (!strcmp(p->name, ids[k].prop) &&
                (r = header_set(q, ids[k].field, ids[k].off, ids[k].len,
                                (uint32_t)p->uval)) < 0)
                goto out;
        if (!strcmp(p->name, "x-pci-class-code") &&
            ((r = header_set(q, "prog_if", 0x09, 1, p->uval & 0xff)) < 0 ||
             (r = header_set(q, "subclass", 0x0a, 1, (p->uval >> 8) & 0xff)) <
                 0 ||
             (r = header_set(q, "base_class", 0x0b, 1,
                             (p->uval >> 16) & 0xff)) < 0))
            goto out;
    }
    if (pl->ats == 0)
        for (size_t i = 1; i < q->nblocks; i++)
            if (q->blocks[i].kind == VPCI_BLOCK_ECAP &&
                q->blocks[i].id == ATS_ID) {
                vpci_layout_remove_block(q, i);
                break;
            }
    if (pl->msix_bar >= 0)
        relocate_msix(q, (unsigned)pl->msix_bar);
    if (pl->rombar_off) {
        q->rom.size = 0;
        q->rom.from_phys = false;
    }
    if (pl->pasid_off >= 0) {
        /* QEMU copies the host's PASID (a VF's PF's); without one there
         * is nothing to synthesise. */
        const uint8_t *cfg = hd->dev.cfg;
        unsigned size = hd->dev.size;
        int poff = cfg_find(cfg, size, true, PASID_ID);
        if (poff < 0 && hd->pf_cfg) {
            cfg = hd->pf_cfg;
            size = hd->pf_size;
            poff = cfg_find(cfg, size, true, PASID_ID);
        }
        if (poff >= 0 && (unsigned)poff + 6 <= size) {
            unsigned cap = cfg[poff + 4] | (unsigned)cfg[poff + 5] << 8;
            struct vpci_place_opts po = {
                .width = (cap >> 8) & 0x1f,
                .exec = cap & 2,
                .priv = cap & 4,
                .at = pl->pasid_off,
            };
            if (po.width == 0)
                po.width = 20;
            if (vpci_layout_place_pasid(q, &po, NULL, &err) < 0) {
                /* err speaks of "the layout": here that is QEMU's view. */
                char *on = strstr(err.msg, " on the layout");
                if (on)
                    memmove(on, on + 14, strlen(on + 14) + 1);
                char line[400];
                snprintf(line, sizeof(line),
                         "ecap pasid: QEMU cannot synthesise it at 0x%x: %s",
                         pl->pasid_off, err.msg);
                if ((r = add_item(rep, line)) < 0)
                    goto out;
                snprintf(rep->f[rep->n - 1].what, sizeof(rep->f[0].what),
                         "ecap pasid");
                snprintf(rep->f[rep->n - 1].detail, sizeof(rep->f[0].detail),
                         "placement");
                snprintf(rep->f[rep->n - 1].qemu, sizeof(rep->f[0].qemu),
                         "absent");
                snprintf(rep->f[rep->n - 1].layout, sizeof(rep->f[0].layout),
                         "at 0x%x", pl->pasid_off);
            }
        }
    }

    if ((r = vpci_layout_dup(l, &lay)) < 0)
        goto out;
    stmts_drop(&lay->requires, &lay->nrequires);
    stmts_drop(&lay->binding, &lay->nbinding);
    lay->has_binding = false;
    if ((r = vpci_layout_diff(q, lay, &text)) < 0)
        goto out;
    for (char *s = text; *s;) {
        char *nl = strchr(s, '\n');
        if (nl)
            *nl = '\0';
        if (*s && (r = add_item(rep, s)) < 0)
            goto out;
        if (!nl)
            break;
        s = nl + 1;
    }
    r = 0;
out:
    if (r == -ENOMEM)
        fprintf(stderr, "vpcictl: out of memory\n");
    free(text);
    vpci_layout_free(q);
    vpci_layout_free(lay);
    return r;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

static const char *binding_get(const struct vpci_layout *l, const char *key)
{
    for (size_t i = 0; i < l->nbinding; i++)
        if (!strcmp(l->binding[i].key, key) && l->binding[i].nargs == 1)
            return l->binding[i].args[0];
    return NULL;
}

/* A shell word: quoted only when it needs to be. */
static void shell_word(FILE *f, const char *s)
{
    bool plain = *s != '\0';
    for (const char *p = s; *p && plain; p++)
        plain = isalnum((unsigned char)*p) || strchr("_,.=:/@%+-", *p);
    if (plain) {
        fputs(s, f);
        return;
    }
    fputc('\'', f);
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            fputs("'\\''", f);
        else
            fputc(*p, f);
    }
    fputc('\'', f);
}

static void xml_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* QEMU ids: a letter, then letters, digits, '-', '.', '_'. */
static bool id_valid(const char *s)
{
    if (!isalpha((unsigned char)s[0]) || strlen(s) > 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("-._", *p))
            return false;
    return true;
}

static bool is_variant(const char *d)
{
    size_t n = d ? strlen(d) : 0;
    return n > 9 && !strcmp(d + n - 9, "_vfio_pci");
}

/* The variant driver the function is (or may be) bound to: its bound
 * driver when known, else the only *_vfio_pci the layout requires. */
static const char *variant_driver(const struct vpci_layout *l,
                                  const struct vpci_host_device *hd)
{
    if (hd->driver)
        return is_variant(hd->driver) ? hd->driver : NULL;
    const char *found = NULL;
    for (size_t i = 0; i < l->nrequires; i++) {
        if (strcmp(l->requires[i].key, "driver"))
            continue;
        for (size_t j = 0; j < l->requires[i].nargs; j++)
            if (is_variant(l->requires[i].args[j])) {
                if (found)
                    return NULL;
                found = l->requires[i].args[j];
            }
    }
    return found;
}

/* Where the physical function comes from. */
struct source {
    struct vpcictl_input in; /* --dump, --snapshot */
    bool have_in;
    struct inv_host *h; /* --sysfs */
    struct vpci_host_device hd;
};

static int load_device(const char *bdf, const char *sysfs, const char *dump,
                       const char *snap, struct source *s)
{
    if (dump || snap) {
        char spec[4200];
        snprintf(spec, sizeof(spec), "%s@%s", dump ? dump : snap, bdf);
        int r = vpcictl_input_load(spec, VPCI_POLICY_VFIO, NULL, &s->in);
        s->have_in = true;
        if (r)
            return r;
        if (!s->in.has_device) {
            fprintf(stderr, "vpcictl: %s is a layout, not a device\n",
                    dump ? dump : snap);
            return EXIT_USAGE;
        }
        s->hd = s->in.hd;
        return 0;
    }
    if (vpcictl_host_scan(sysfs, &s->h) < 0)
        return EXIT_INVALID;
    const struct inv_func *f = vpcid_inventory_find(s->h, bdf);
    if (!f) {
        fprintf(stderr, "vpcictl: %s: no PCI function %s\n",
                sysfs ? sysfs : "/sys", bdf);
        return EXIT_INVALID;
    }
    if (f->config_size < 64) {
        fprintf(stderr, "vpcictl: %s: config space unreadable\n", f->bdf);
        return EXIT_INVALID;
    }
    vpcid_host_facts(s->h, f, NULL, 0, &s->hd);
    return 0;
}

static json_t *fidelity_json(const struct report *rep)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < rep->n; i++) {
        const struct fidelity *f = &rep->f[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "what",
                                           f->what, "qemu", f->qemu, "layout",
                                           f->layout, "detail", f->detail));
    }
    return a;
}

static void print_qemu_args(FILE *out, char *const *args, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(' ', out);
        shell_word(out, args[i]);
    }
    fputc('\n', out);
}

static void print_libvirt(FILE *out, const char *bdf, const char *alias,
                          const char *model, const struct plan *pl)
{
    unsigned dom = 0, bus = 0, dev = 0, fn = 0;
    sscanf(bdf, "%x:%x:%x.%x", &dom, &bus, &dev, &fn);
    fputs("<!-- in <devices> -->\n"
          "<hostdev mode='subsystem' type='pci' managed='no'>\n",
          out);
    if (model) {
        fputs("  <driver name='vfio' model='", out);
        xml_escaped(out, model);
        fputs("'/>\n", out);
    } else {
        fputs("  <driver name='vfio'/>\n", out);
    }
    fprintf(out,
            "  <source>\n"
            "    <address domain='0x%04x' bus='0x%02x' slot='0x%02x' "
            "function='0x%x'/>\n"
            "  </source>\n",
            dom, bus, dev, fn);
    fputs("  <alias name='", out);
    xml_escaped(out, alias);
    fputs("'/>\n</hostdev>\n", out);
    fputs("<!-- in <domain "
          "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'> -->\n"
          "<qemu:override>\n"
          "  <qemu:device alias='",
          out);
    xml_escaped(out, alias);
    fputs("'>\n    <qemu:frontend>\n", out);
    for (size_t i = 0; i < pl->n; i++) {
        const struct prop *p = &pl->p[i];
        fputs("      <qemu:property name='", out);
        xml_escaped(out, p->name);
        if (p->is_uint) {
            fprintf(out, "' type='unsigned' value='%llu'/>\n", p->uval);
        } else {
            fputs("' type='string' value='", out);
            xml_escaped(out, p->value);
            fputs("'/>\n", out);
        }
    }
    fputs("    </qemu:frontend>\n  </qemu:device>\n</qemu:override>\n", out);
}

int vpcictl_cmd_vmm(int argc, char **argv)
{
    static const struct option opts[] = {
        {"sysfs", required_argument, NULL, 'S'},
        {"dump", required_argument, NULL, 'd'},
        {"snapshot", required_argument, NULL, 'n'},
        {"id", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2)
        return usage("missing qemu or libvirt");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(
            "usage: vpcictl vmm VERB [ARGS]\n"
            "\n"
            "  qemu [--sysfs DIR | --dump FILE | --snapshot FILE] [--id NAME]\n"
            "       [-o text|json] RESOLVED.vpci\n"
            "                 the -device vfio-pci arguments for the layout\n"
            "  libvirt [--sysfs DIR | --dump FILE | --snapshot FILE] "
            "[--id NAME]\n"
            "          [-o text|json] RESOLVED.vpci\n"
            "                 the <hostdev> element and its qemu:override "
            "properties\n"
            "\n"
            "The physical function is the binding's bdf, read from sysfs "
            "(default /sys),\n"
            "an lspci dump or a host snapshot.  Every guest-visible "
            "difference QEMU\n"
            "cannot express is a 'fidelity:' line on stderr (in -o json: "
            "\"fidelity\").\n",
            stdout);
        return EXIT_OK;
    }
    bool libvirt;
    if (!strcmp(argv[1], "qemu"))
        libvirt = false;
    else if (!strcmp(argv[1], "libvirt"))
        libvirt = true;
    else
        return usage("the VMM is qemu or libvirt");
    argc--;
    argv++;
    const char *sysfs = NULL, *dump = NULL, *snap = NULL, *id = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'S':
            sysfs = optarg;
            break;
        case 'd':
            dump = optarg;
            break;
        case 'n':
            snap = optarg;
            break;
        case 'i':
            if (!id_valid(optarg))
                return usage("--id is a letter, then letters, digits, '-', "
                             "'.' or '_' (at most 64)");
            id = optarg;
            break;
        case 'o':
            if (vpcictl_output_option(optarg, "text", &json) < 0)
                return usage("-o is text or json");
            break;
        case 'h':
            return vpcictl_cmd_vmm(2, (char *[]){"vmm", "--help", NULL});
        default:
            return usage("unknown option");
        }
    }
    if ((sysfs != NULL) + (dump != NULL) + (snap != NULL) > 1)
        return usage("--sysfs, --dump and --snapshot exclude each other");
    if (optind != argc - 1)
        return usage("one RESOLVED.vpci file is needed");
    const char *file = argv[optind];

    int rc = EXIT_INVALID;
    struct vpci_layout *l = NULL;
    struct source src;
    struct report rep = {0};
    struct plan pl;
    char *args[MAX_PROPS + 8] = {0};
    size_t nargs = 0;
    char *cmdline = NULL;
    size_t cmdlen = 0;
    memset(&src, 0, sizeof(src));

    int r = vpcictl_load_layout(file, &l);
    if (r < 0)
        goto out;
    const char *bdf = binding_get(l, "bdf");
    if (!l->has_binding || !bdf) {
        fprintf(stderr,
                "vpcictl: %s: not a resolved layout: no binding "
                "section\n",
                file);
        goto out;
    }
    if ((r = load_device(bdf, sysfs, dump, snap, &src)) != 0) {
        rc = r;
        goto out;
    }
    build_plan(l, &src.hd, &pl);
    if (fidelity(l, &src.hd, &pl, &rep) < 0)
        goto out;

    /* The id: bus-device.function (QEMU ids hold no ':'), the domain too
     * when it is not 0. */
    char defid[40];
    {
        unsigned dom = 0, bus = 0, dev = 0, fn = 0;
        sscanf(bdf, "%x:%x:%x.%x", &dom, &bus, &dev, &fn);
        if (dom)
            snprintf(defid, sizeof(defid), "vpci-%04x-%02x-%02x.%x", dom, bus,
                     dev, fn);
        else
            snprintf(defid, sizeof(defid), "vpci-%02x-%02x.%x", bus, dev, fn);
    }
    if (!id)
        id = defid;

    const char *vfio = binding_get(l, "vfio");
    bool iommufd = vfio && !strncmp(vfio, "/dev/vfio/devices/", 18);
    FILE *m = open_memstream(&cmdline, &cmdlen);
    if (!m)
        goto oom;
    if (iommufd) {
        args[nargs++] = strdup("-object");
        args[nargs++] = strdup("iommufd,id=iommufd0");
    }
    args[nargs++] = strdup("-device");
    fprintf(m, "vfio-pci,host=%s%s", bdf, iommufd ? ",iommufd=iommufd0" : "");
    for (size_t i = 0; i < pl.n; i++)
        fprintf(m, ",%s=%s", pl.p[i].name, pl.p[i].value);
    fprintf(m, ",id=%s", id);
    if (fclose(m) != 0)
        goto oom;
    args[nargs++] = cmdline;
    cmdline = NULL;
    for (size_t i = 0; i < nargs; i++)
        if (!args[i])
            goto oom;

    char alias[80];
    snprintf(alias, sizeof(alias), "ua-%s", id);
    const char *model = variant_driver(l, &src.hd);

    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "layout", json_string(file));
        json_object_set_new(o, "bdf", json_string(bdf));
        if (libvirt) {
            char *xml = NULL;
            size_t xl = 0;
            FILE *x = open_memstream(&xml, &xl);
            if (!x) {
                json_decref(o);
                goto oom;
            }
            print_libvirt(x, bdf, alias, model, &pl);
            fclose(x);
            json_object_set_new(o, "xml", json_string(xml));
            free(xml);
        } else {
            json_t *a = json_array();
            for (size_t i = 0; i < nargs; i++)
                json_array_append_new(a, json_string(args[i]));
            json_object_set_new(o, "args", a);
            char *line = NULL;
            size_t ll = 0;
            FILE *x = open_memstream(&line, &ll);
            if (!x) {
                json_decref(o);
                goto oom;
            }
            print_qemu_args(x, args, nargs);
            fclose(x);
            if (ll && line[ll - 1] == '\n')
                line[ll - 1] = '\0';
            json_object_set_new(o, "command_line", json_string(line));
            free(line);
        }
        json_object_set_new(o, "fidelity", fidelity_json(&rep));
        int jr = json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(o);
        if (jr < 0)
            goto oom;
        fputc('\n', stdout);
    } else {
        if (libvirt)
            print_libvirt(stdout, bdf, alias, model, &pl);
        else
            print_qemu_args(stdout, args, nargs);
        /* The arguments first, then the report, also into one file. */
        fflush(stdout);
        for (size_t i = 0; i < rep.n; i++)
            fprintf(stderr, "fidelity: %s\n", rep.f[i].text);
    }
    rc = EXIT_OK;
    goto out;
oom:
    fprintf(stderr, "vpcictl: out of memory\n");
out:
    for (size_t i = 0; i < nargs; i++)
        free(args[i]);
    free(cmdline);
    free(rep.f);
    if (src.have_in)
        vpcictl_input_clear(&src.in);
    vpcid_inventory_free(src.h);
    vpci_layout_free(l);
    return rc;
}
