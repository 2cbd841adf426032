/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vpcictl layout common: the layout every input device can present
 * (vpci_layout_common), what it reduced or dropped for each input, and
 * a self-check that it passes compat on every input device.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inputs.h"
#include "vpci.h"
#include "vpcictl.h"

#define MAX_INPUTS 256

static int usage(const char *msg)
{
    fprintf(stderr, "vpcictl layout common: %s\n", msg);
    fprintf(stderr, "usage: vpcictl layout common [--policy vfio|identity] "
                    "[--quirks DIR] [--id VVVV:DDDD]\n"
                    "         [-o text|json] INPUT...\n");
    return EXIT_USAGE;
}

static int parse_id(const char *s, uint16_t *v, uint16_t *d)
{
    const char *colon = strchr(s, ':');
    if (!colon || colon == s || colon - s > 4 || !colon[1] ||
        strlen(colon + 1) > 4)
        return -1;
    for (const char *p = s; *p; p++)
        if (p != colon && !strchr("0123456789abcdefABCDEF", *p))
            return -1;
    *v = (uint16_t)strtoul(s, NULL, 16);
    *d = (uint16_t)strtoul(colon + 1, NULL, 16);
    return 0;
}

static const char *kind_name(enum vpcictl_input_kind k)
{
    switch (k) {
    case VPCICTL_INPUT_LAYOUT:
        return "layout";
    case VPCICTL_INPUT_DUMP:
        return "dump";
    case VPCICTL_INPUT_SNAPSHOT:
        return "snapshot";
    }
    return "?";
}

/* What compat says of one input device, host rules left out: the
 * machine the layout will run on decides those, not the layout. */
struct selfcheck {
    bool checked;
    bool compatible;
    size_t ncodes;
    char codes[VPCI_COMPAT_MAX_REASONS][VPCI_REASON_CODE_MAX];
    char first[160]; /* first failing reason's message */
};

static bool host_code(const char *code)
{
    static const char *const host[] = {
        "not-vfio",  "no-iommu-group", "iommu-group", "reserved",   "driver",
        "migration", "numa",           "link-speed",  "link-width",
    };
    for (size_t i = 0; i < sizeof(host) / sizeof(host[0]); i++)
        if (!strcmp(code, host[i]))
            return true;
    return false;
}

static int self_check(const struct vpci_rules *rules,
                      const struct vpcictl_input *in, struct selfcheck *sc)
{
    memset(sc, 0, sizeof(*sc));
    if (!in->has_device)
        return 0;
    struct vpci_host_device hd = in->hd;
    hd.vfio = true;
    if (hd.iommu_group < 0)
        hd.iommu_group = 0;
    hd.group_blocker = NULL;
    hd.group_blocker_driver = NULL;
    hd.reserved_by = NULL;
    hd.migration = 1;
    struct vpci_compat *res = malloc(sizeof(*res));
    if (!res)
        return -ENOMEM;
    int r = vpci_compat_check(rules, &hd, -1, res);
    if (r < 0) {
        free(res);
        return r;
    }
    sc->checked = true;
    for (size_t i = 0; i < res->nreasons; i++) {
        if (host_code(res->reasons[i].code))
            continue;
        if (!sc->ncodes)
            snprintf(sc->first, sizeof(sc->first), "%s",
                     res->reasons[i].message);
        snprintf(sc->codes[sc->ncodes++], VPCI_REASON_CODE_MAX, "%s",
                 res->reasons[i].code);
    }
    sc->compatible = sc->ncodes == 0 && res->dropped == 0;
    free(res);
    return 0;
}

/* The layout's physical IDs as "vvvv:dddd". */
static void input_id(const struct vpcictl_input *in, char *buf, size_t n)
{
    uint16_t v = 0, d = 0;
    if (in->has_device) {
        v = in->hd.dev.vendor_id;
        d = in->hd.dev.device_id;
    }
    if ((!v || !d) && in->layout) {
        const struct vpci_block *h = &in->layout->blocks[0];
        const struct vpci_field *fv = vpci_block_find_field(h, "vendor_id");
        const struct vpci_field *fd = vpci_block_find_field(h, "device_id");
        v = fv ? (uint16_t)vpci_field_value(fv) : 0;
        d = fd ? (uint16_t)vpci_field_value(fd) : 0;
    }
    snprintf(buf, n, "%04x:%04x", v, d);
}

/* How an input is named in the report: its file's base name, and a
 * device's BDF. */
static char *input_label(const struct vpcictl_input *in)
{
    char *label = NULL;
    const char *base = strrchr(in->spec, '/');
    base = base ? base + 1 : in->spec;
    if (!in->has_device)
        return strdup(base);
    const char *at = strrchr(base, '@');
    int len = at && at != base && strchr(at, ':') ? (int)(at - base)
                                                  : (int)strlen(base);
    if (asprintf(&label, "%.*s@%s", len, base, in->bdf) < 0)
        return NULL;
    return label;
}

static json_t *note_json(const struct vpci_common_note *nt)
{
    return json_pack("{s:o, s:s, s:s, s:s}", "input",
                     nt->input >= 0 ? json_integer(nt->input + 1) : json_null(),
                     "what", nt->what, "action", nt->action, "message",
                     nt->message);
}

static int print_json_report(const char *text, const struct vpci_layout *l,
                             const struct vpcictl_input *ins, char **labels,
                             size_t n, const struct vpci_common_report *rep,
                             const struct selfcheck *sc)
{
    char h[VPCI_HASH_STRLEN], fp[VPCI_HASH_STRLEN];
    if (vpci_layout_hash(l, h) < 0 || vpci_layout_fingerprint(l, fp) < 0)
        return -ENOMEM;
    json_t *root = json_object();
    json_t *inputs = json_array();
    json_t *all = json_array();
    if (!root || !inputs || !all) {
        json_decref(root);
        json_decref(inputs);
        json_decref(all);
        return -ENOMEM;
    }
    json_object_set_new(root, "layout", json_string(text));
    json_object_set_new(root, "hash", json_string(h));
    json_object_set_new(root, "fingerprint", json_string(fp));
    for (size_t i = 0; i < n; i++) {
        char id[16];
        input_id(&ins[i], id, sizeof(id));
        json_t *notes = json_array();
        for (size_t k = 0; k < rep->n; k++)
            if (rep->note[k].input == (int)i)
                json_array_append_new(notes, note_json(&rep->note[k]));
        json_t *compat = json_null();
        if (sc[i].checked) {
            json_t *codes = json_array();
            for (size_t k = 0; k < sc[i].ncodes; k++)
                json_array_append_new(codes, json_string(sc[i].codes[k]));
            compat = json_pack("{s:b, s:o}", "compatible", sc[i].compatible,
                               "reasons", codes);
        }
        json_array_append_new(
            inputs, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "input",
                              ins[i].spec, "label", labels[i], "kind",
                              kind_name(ins[i].kind), "bdf", ins[i].bdf, "id",
                              id, "notes", notes, "compat", compat));
    }
    for (size_t k = 0; k < rep->n; k++)
        json_array_append_new(all, note_json(&rep->note[k]));
    json_object_set_new(root, "inputs", inputs);
    json_object_set_new(root, "notes", all);
    json_object_set_new(root, "notes_dropped",
                        json_integer((json_int_t)rep->dropped));
    int r = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (r < 0)
        return -EIO;
    fputc('\n', stdout);
    return 0;
}

static void print_text_report(const struct vpcictl_input *ins, char **labels,
                              size_t n, const struct vpci_common_report *rep,
                              const struct selfcheck *sc)
{
    for (size_t k = 0; k < rep->n; k++)
        if (rep->note[k].input < 0)
            fprintf(stderr, "all inputs: %s %s: %s\n", rep->note[k].action,
                    rep->note[k].what, rep->note[k].message);
    for (size_t i = 0; i < n; i++) {
        size_t mine = 0;
        for (size_t k = 0; k < rep->n; k++) {
            const struct vpci_common_note *nt = &rep->note[k];
            if (nt->input != (int)i)
                continue;
            mine++;
            fprintf(stderr, "input %zu %s: %s %s: %s\n", i + 1, labels[i],
                    nt->action, nt->what, nt->message);
        }
        if (!mine)
            fprintf(stderr, "input %zu %s: nothing reduced, dropped or moved\n",
                    i + 1, labels[i]);
        if (!ins[i].has_device)
            fprintf(stderr,
                    "input %zu %s: compat not checked: a layout file names "
                    "no device\n",
                    i + 1, labels[i]);
        else if (sc[i].compatible)
            fprintf(stderr, "input %zu %s: compat: compatible\n", i + 1,
                    labels[i]);
    }
    if (rep->dropped)
        fprintf(stderr, "(%zu more notes not shown)\n", rep->dropped);
}

int vpcictl_layout_common(int argc, char **argv)
{
    static const struct option opts[] = {
        {"policy", required_argument, NULL, 'p'},
        {"quirks", required_argument, NULL, 'q'},
        {"id", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    enum vpci_policy policy = VPCI_POLICY_VFIO;
    const char *qdir = NULL;
    bool json = false;
    struct vpci_common_opts co = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:q:i:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (vpci_policy_from_string(optarg, &policy) < 0)
                return usage("--policy is vfio or identity");
            break;
        case 'q':
            qdir = optarg;
            break;
        case 'i':
            if (parse_id(optarg, &co.vendor_id, &co.device_id) < 0)
                return usage("--id is VVVV:DDDD (hex vendor and device ID)");
            co.set_id = true;
            break;
        case 'o':
            if (vpcictl_output_option(optarg, "text", &json) < 0)
                return usage("-o is text or json");
            break;
        default:
            return usage("unknown option");
        }
    }
    size_t n = (size_t)(argc - optind);
    if (n < 2)
        return usage("at least two INPUTs are needed");
    if (n > MAX_INPUTS)
        return usage("at most 256 INPUTs");

    struct vpci_quirks *q = NULL;
    if (policy == VPCI_POLICY_VFIO && vpcictl_quirks_load(qdir, &q) != 0)
        return EXIT_INVALID;

    int rc = EXIT_INVALID;
    struct vpcictl_input *ins = calloc(n, sizeof(*ins));
    char **labels = calloc(n, sizeof(*labels));
    const struct vpci_layout **ls = calloc(n, sizeof(*ls));
    struct selfcheck *sc = calloc(n, sizeof(*sc));
    struct vpci_common_report *rep = malloc(sizeof(*rep));
    struct vpci_layout *out = NULL;
    struct vpci_rules *rules = NULL;
    char *body = NULL, *text = NULL;
    size_t loaded = 0;
    if (!ins || !labels || !ls || !sc || !rep) {
        fprintf(stderr, "vpcictl: out of memory\n");
        goto done;
    }
    for (; loaded < n; loaded++) {
        int r = vpcictl_input_load(argv[optind + (int)loaded], policy, q,
                                   &ins[loaded]);
        if (r != 0) {
            rc = r;
            loaded++;
            goto done;
        }
        labels[loaded] = input_label(&ins[loaded]);
        if (!labels[loaded]) {
            fprintf(stderr, "vpcictl: out of memory\n");
            loaded++;
            goto done;
        }
        ls[loaded] = ins[loaded].layout;
    }
    co.names = (const char *const *)labels;

    struct vpci_error err;
    int r = vpci_layout_common(ls, n, &co, &out, rep, &err);
    if (r < 0) {
        fprintf(stderr, "vpcictl: layout common: %s\n",
                r == -ENOMEM ? "out of memory" : err.msg);
        goto done;
    }
    if (vpci_rules_new(out, &rules, &err) < 0) {
        fprintf(stderr, "vpcictl: layout common: %s\n", err.msg);
        goto done;
    }
    bool all_ok = true;
    for (size_t i = 0; i < n; i++) {
        if (self_check(rules, &ins[i], &sc[i]) < 0) {
            fprintf(stderr, "vpcictl: out of memory\n");
            goto done;
        }
        all_ok &= !sc[i].checked || sc[i].compatible;
    }

    size_t blen;
    if (vpci_layout_format(out, &body, &blen) < 0) {
        fprintf(stderr, "vpcictl: out of memory\n");
        goto done;
    }
    /* A header comment saying where the layout came from. */
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    if (!f) {
        fprintf(stderr, "vpcictl: out of memory\n");
        goto done;
    }
    fprintf(f, "# common layout of %zu inputs, policy %s:\n", n,
            policy == VPCI_POLICY_VFIO ? "vfio" : "identity");
    for (size_t i = 0; i < n; i++) {
        char id[16];
        input_id(&ins[i], id, sizeof(id));
        fprintf(f, "#   input %zu: %s (%s, %s)\n", i + 1, labels[i],
                kind_name(ins[i].kind), id);
    }
    fputs(body, f);
    if (fclose(f) != 0) {
        fprintf(stderr, "vpcictl: out of memory\n");
        goto done;
    }

    if (json) {
        if (print_json_report(text, out, ins, labels, n, rep, sc) < 0) {
            fprintf(stderr, "vpcictl: cannot print JSON\n");
            goto done;
        }
    } else {
        fputs(text, stdout);
        print_text_report(ins, labels, n, rep, sc);
    }
    if (!all_ok) {
        for (size_t i = 0; i < n; i++) {
            if (!sc[i].checked || sc[i].compatible)
                continue;
            fprintf(stderr,
                    "vpcictl: layout common: the common layout fails compat "
                    "on input %zu (%s): %s: %s (this is a bug)\n",
                    i + 1, labels[i], sc[i].ncodes ? sc[i].codes[0] : "?",
                    sc[i].first);
        }
        goto done;
    }
    rc = EXIT_OK;
done:
    free(text);
    free(body);
    vpci_rules_free(rules);
    vpci_layout_free(out);
    for (size_t i = 0; i < loaded && ins; i++)
        vpcictl_input_clear(&ins[i]);
    for (size_t i = 0; labels && i < n; i++)
        free(labels[i]);
    free(labels);
    free(ins);
    free(ls);
    free(sc);
    free(rep);
    vpci_quirks_free(q);
    return rc;
}
