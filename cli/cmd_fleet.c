/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vpcictl compat --snapshot FILE... TYPE.vpci: the compatibility check of
 * POST /v1/compat, offline, on host snapshots (`vpcictl host snapshot`).
 * The verdicts are the daemon's: the same host facts (facts.c), the same
 * compiled rules, the same result objects and order (compat_json.c).
 * Offline there are no attachments: nothing is reserved, no PF is loaded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client.h"
#include "compat_json.h"
#include "facts.h"
#include "snapshot.h"
#include "vpci.h"
#include "vpcictl.h"

#define USAGE "compat --snapshot FILE [--snapshot FILE]... [FILE...] TYPE.vpci"

static int usage_error(const char *msg)
{
    fprintf(stderr, "vpcictl: %s\nTry 'vpcictl --help'.\n", msg);
    return EXIT_USAGE;
}

static int out_of_memory(void)
{
    fprintf(stderr, "vpcictl: out of memory\n");
    return EXIT_INVALID;
}

/* One host: {"snapshot", "hostname", "time", "summary", "results"}. */
struct host_result {
    json_t *obj;
    size_t devices, compatible;
};

/* Evaluate rules against every function of snapshot s (file is its name
 * for the output); -ENOMEM or -EINVAL (message printed). */
static int eval_host(const char *file, const struct vpcid_snapshot *s,
                     const struct vpci_rules *rules, struct host_result *ret)
{
    json_t *arr = NULL;
    size_t n = s->host->nfuncs, nok = 0;
    int r = vpcid_compat_offline(s->host, rules, &arr, &nok);
    if (r < 0 && r != -ENOMEM)
        fprintf(stderr, "vpcictl: %s: compat check: %s\n", file, strerror(-r));
    if (r == 0) {
        ret->obj =
            json_pack("{s:s, s:s, s:s, s:o, s:o}", "snapshot", file, "hostname",
                      s->hostname, "time", s->time, "summary",
                      vpcid_compat_summary(n, nok), "results", arr);
        if (!ret->obj)
            r = -ENOMEM;
    }
    ret->devices = n;
    ret->compatible = nok;
    return r;
}

/* Load one snapshot file; prints "vpcictl: FILE: why" on failure. */
static int load_snapshot(const char *file, struct vpcid_snapshot **ret)
{
    size_t len;
    char *text = vpcictl_read_file(file, &len);
    if (!text)
        return -EIO;
    char err[512];
    int r = vpcid_snapshot_load(text, len, ret, err, sizeof(err));
    free(text);
    if (r < 0)
        fprintf(stderr, "vpcictl: %s: %s\n", file, err);
    return r;
}

/* The layout file, parsed, validated and compiled; FILE:LINE:COL errors
 * like `vpcictl layout lint`. */
static int load_rules(const char *file, char hash[VPCI_HASH_STRLEN],
                      char fp[VPCI_HASH_STRLEN], struct vpci_rules **ret)
{
    struct vpci_layout *l = NULL;
    int r = vpcictl_load_layout(file, &l);
    if (r < 0)
        return r;
    const char *label = vpcictl_file_label(file);
    if (vpci_layout_hash(l, hash) < 0 || vpci_layout_fingerprint(l, fp) < 0) {
        fprintf(stderr, "vpcictl: %s: cannot compute hashes\n", label);
        vpci_layout_free(l);
        return -EINVAL;
    }
    struct vpci_error err = {0};
    r = vpci_rules_new(l, ret, &err);
    vpci_layout_free(l);
    if (r == -ENOMEM)
        fprintf(stderr, "vpcictl: out of memory\n");
    else if (r < 0)
        vpcictl_print_layout_error(label, &err);
    return r;
}

static const char *plural(long long n)
{
    return n == 1 ? "" : "s";
}

static int print_table(const json_t *root)
{
    size_t i;
    const json_t *host;
    json_array_foreach(json_object_get(root, "hosts"), i, host)
    {
        const json_t *sum = json_object_get(host, "summary");
        size_t nok;
        /* Host and file names come from elsewhere: made printable like
         * the table's cells. */
        char *name = vpcictl_printable(
            json_string_value(json_object_get(host, "hostname")));
        char *file = vpcictl_printable(
            json_string_value(json_object_get(host, "snapshot")));
        long long ndev = json_integer_value(json_object_get(sum, "devices"));
        if (name && file)
            printf("%sHOST %s (%s, %s): %lld device%s, %lld compatible\n",
                   i ? "\n" : "", name, file,
                   json_string_value(json_object_get(host, "time")), ndev,
                   plural(ndev),
                   (long long)json_integer_value(
                       json_object_get(sum, "compatible")));
        free(name);
        free(file);
        if (!name || !file)
            return out_of_memory();
        int r = vpcictl_compat_table(json_object_get(host, "results"), stdout,
                                     &nok);
        if (r < 0)
            return EXIT_INVALID;
    }
    const json_t *sum = json_object_get(root, "summary");
    long long nh = json_integer_value(json_object_get(sum, "hosts"));
    long long nd = json_integer_value(json_object_get(sum, "devices"));
    long long nw =
        json_integer_value(json_object_get(sum, "hosts_with_compatible"));
    printf("\nTOTAL: %lld host%s, %lld device%s, %lld compatible, %lld host%s "
           "with a compatible device\n",
           nh, plural(nh), nd, plural(nd),
           (long long)json_integer_value(json_object_get(sum, "compatible")),
           nw, plural(nw));
    return EXIT_OK;
}

/* Evaluate, then print: a snapshot that does not load stops everything
 * before any output. */
/* File names go into the JSON document, which holds only UTF-8. */
static bool utf8_name(const char *file)
{
    json_t *s = json_string(file);
    if (!s) {
        fprintf(stderr, "vpcictl: %s: file name is not valid UTF-8\n", file);
        return false;
    }
    json_decref(s);
    return true;
}

static int run(const char *layout, char **snaps, size_t nsnaps, bool json)
{
    if (!utf8_name(layout))
        return EXIT_INVALID;
    for (size_t i = 0; i < nsnaps; i++)
        if (!utf8_name(snaps[i]))
            return EXIT_INVALID;
    char hash[VPCI_HASH_STRLEN], fp[VPCI_HASH_STRLEN];
    struct vpci_rules *rules = NULL;
    if (load_rules(layout, hash, fp, &rules) < 0)
        return EXIT_INVALID;
    json_t *hosts = json_array();
    json_t *root = json_pack("{s:s, s:s, s:s, s:o}", "layout", layout, "hash",
                             hash, "fingerprint", fp, "hosts", hosts);
    int rc = root ? EXIT_OK : out_of_memory();
    size_t ndev = 0, nok = 0, nhosts_ok = 0;
    for (size_t i = 0; rc == EXIT_OK && i < nsnaps; i++) {
        struct vpcid_snapshot *s = NULL;
        struct host_result hr = {0};
        if (load_snapshot(snaps[i], &s) < 0) {
            rc = EXIT_INVALID;
            break;
        }
        int r = eval_host(snaps[i], s, rules, &hr);
        vpcid_snapshot_free(s);
        if (r < 0 || json_array_append_new(hosts, hr.obj) < 0) {
            rc = r == -ENOMEM || r == 0 ? out_of_memory() : EXIT_INVALID;
            break;
        }
        ndev += hr.devices;
        nok += hr.compatible;
        nhosts_ok += hr.compatible > 0;
    }
    vpci_rules_free(rules);
    if (rc == EXIT_OK &&
        json_object_set_new(root, "summary",
                            json_pack("{s:I, s:I, s:I, s:I}", "hosts",
                                      (json_int_t)nsnaps, "devices",
                                      (json_int_t)ndev, "compatible",
                                      (json_int_t)nok, "hosts_with_compatible",
                                      (json_int_t)nhosts_ok)) < 0)
        rc = out_of_memory();
    if (rc == EXIT_OK) {
        if (json) {
            if (json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) <
                0)
                rc = out_of_memory();
            else
                putchar('\n');
        } else {
            rc = print_table(root);
        }
    }
    json_decref(root);
    if (rc == EXIT_OK && !nok)
        rc = EXIT_INVALID; /* like live compat: exit 1 when none can */
    return rc;
}

int vpcictl_compat_offline(const struct vpcictl_remote_opts *o0, int argc,
                           char **argv)
{
    struct vpcictl_remote_opts o = *o0;
    /* Snapshot files in command-line order; the last positional argument
     * is the layout, every other one another snapshot. */
    char **snaps = calloc((size_t)argc + 1, sizeof(*snaps));
    if (!snaps)
        return out_of_memory();
    size_t nsnaps = 0;
    int last_pos = -1; /* index into snaps of the last positional one */
    bool only_pos = false;
    int rc = -1;
    for (int i = 1; rc < 0 && i < argc;) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || !a[1]) {
            last_pos = (int)nsnaps;
            snaps[nsnaps++] = argv[i++];
        } else if (!strcmp(a, "--")) {
            only_pos = true;
            i++;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            vpcictl_remote_help(stdout, true);
            rc = EXIT_OK;
        } else if (!strcmp(a, "--snapshot")) {
            if (i + 1 >= argc)
                rc = usage_error("--snapshot needs a FILE");
            else
                snaps[nsnaps++] = argv[i + 1];
            i += 2;
        } else if (!strncmp(a, "--snapshot=", 11)) {
            snaps[nsnaps++] = argv[i++] + 11;
        } else {
            int r = vpcictl_remote_option(&o, argc, argv, &i);
            if (r < 0) {
                rc = EXIT_USAGE;
            } else if (r == 0) {
                fprintf(stderr, "vpcictl: unknown option '%s'\n", a);
                rc = usage_error(USAGE);
            }
        }
    }
    if (rc < 0 && (o.connect || o.token_file))
        rc = usage_error("--connect and --token-file do not go with "
                         "--snapshot (offline)");
    bool json = false;
    if (rc < 0 && o.output &&
        vpcictl_output_option(o.output, "table", &json) < 0)
        rc = usage_error("-o is table or json");
    if (rc < 0 && (last_pos < 0 || nsnaps < 2))
        rc = usage_error(USAGE);
    if (rc < 0) {
        const char *layout = snaps[last_pos];
        memmove(snaps + last_pos, snaps + last_pos + 1,
                (nsnaps - (size_t)last_pos - 1) * sizeof(*snaps));
        rc = run(layout, snaps, nsnaps - 1, json);
    }
    free(snaps);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "vpcictl: standard output: %s\n", strerror(errno));
        return EXIT_INVALID;
    }
    return rc;
}
