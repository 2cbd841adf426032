/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vpcictl's REST verbs: devices and types, answered by vpcid.  Tables for
 * people, `-o json` for programs (the API's own JSON).  Whatever the server
 * sends is checked before use: a wrong shape is an error, not a crash.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client.h"
#include "vpci.h"
#include "vpcictl.h"

#define DEFAULT_CONNECT "unix:/run/vpcid/vpcid.sock"
#define LAYOUT_TYPE "text/x-vpci-layout"

static void freep(void *p)
{
    free(*(void **)p);
}
#define CLEANUP_FREE __attribute__((cleanup(freep)))
#define CLEANUP_RESPONSE __attribute__((cleanup(vpcictl_response_clear)))

static void clientp(struct vpcictl_client **c)
{
    vpcictl_client_free(*c);
}

/* ------------------------------------------------------------ options */

void vpcictl_remote_help(FILE *f, bool usage_line)
{
    if (usage_line)
        fputs("usage: vpcictl [--connect unix:PATH|http://HOST:PORT] "
              "[--token-file FILE]\n"
              "               [-o table|json] devices|types ...\n"
              "\n",
              f);
    fputs("  devices [BDF]             the host's PCI functions, or one in "
          "detail\n"
          "  types                     the instance types\n"
          "  types show NAME[@N]       one type and its versions, or the "
          "layout text of\n"
          "                            version N (a number or 'latest')\n"
          "  types publish NAME FILE [--description TEXT]\n"
          "                            create type NAME from FILE (version "
          "1), or publish\n"
          "                            FILE as its next version; FILE '-' is "
          "standard input\n"
          "  types deprecate NAME@N    mark a version deprecated (it is still "
          "served)\n"
          "\n"
          "  --connect unix:PATH|http://HOST:PORT\n"
          "                            default $VPCID_CONNECT, "
          "else " DEFAULT_CONNECT "\n"
          "  --token-file FILE         the bearer token, required with "
          "http://;\n"
          "                            default $VPCID_TOKEN_FILE\n"
          "  -o table|json             json prints the API's JSON as "
          "received\n"
          "These options may also follow the verb.\n",
          f);
}

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vpcictl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\nTry 'vpcictl --help'.\n", stderr);
    va_end(ap);
    return EXIT_USAGE;
}

bool vpcictl_is_remote_verb(const char *verb)
{
    return !strcmp(verb, "devices") || !strcmp(verb, "types");
}

/* --name VALUE or --name=VALUE; 1 matched, 0 not this option, -1 usage */
static int long_opt(const char *name, int argc, char **argv, int *i,
                    const char **ret)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n))
        return 0;
    if (a[n] == '=') {
        *ret = a + n + 1;
        *i += 1;
        return 1;
    }
    if (a[n])
        return 0;
    if (*i + 1 >= argc) {
        usage_error("%s needs a value", name);
        return -1;
    }
    *ret = argv[*i + 1];
    *i += 2;
    return 1;
}

int vpcictl_remote_option(struct vpcictl_remote_opts *o, int argc, char **argv,
                          int *i)
{
    const char *a = argv[*i];
    int r;
    if ((r = long_opt("--connect", argc, argv, i, &o->connect)) ||
        (r = long_opt("--token-file", argc, argv, i, &o->token_file)) ||
        (r = long_opt("--output", argc, argv, i, &o->output)))
        return r;
    if (!strncmp(a, "-o", 2)) {
        if (a[2]) {
            o->output = a + 2;
            *i += 1;
            return 1;
        }
        return long_opt("-o", argc, argv, i, &o->output);
    }
    return 0;
}

/* ------------------------------------------------------------ output */

static bool want_json(const struct vpcictl_remote_opts *o)
{
    return o->output && !strcmp(o->output, "json");
}

static int out_of_memory(void)
{
    fprintf(stderr, "vpcictl: out of memory\n");
    return EXIT_INVALID;
}

static int print_json(const json_t *j)
{
    if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
        return out_of_memory();
    putchar('\n');
    return EXIT_OK;
}

/* Columns as wide as their widest cell (in characters, not bytes: names
 * from pci.ids may be UTF-8); cells are made printable on the way in. */
struct table {
    size_t ncols, n, cap;
    char **cells;
    bool oom;
};

static void table_addf(struct table *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void table_addf(struct table *t, const char *fmt, ...)
{
    if (t->oom)
        return;
    if (t->n == t->cap) {
        size_t ncap = t->cap ? 2 * t->cap : 64;
        char **c = realloc(t->cells, ncap * sizeof(*c));
        if (!c) {
            t->oom = true;
            return;
        }
        t->cells = c;
        t->cap = ncap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *raw = NULL;
    int r = vasprintf(&raw, fmt, ap);
    va_end(ap);
    char *s = r < 0 ? NULL : vpcictl_printable(raw);
    if (r >= 0)
        free(raw);
    if (!s) {
        t->oom = true;
        return;
    }
    t->cells[t->n++] = s;
}

static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    return w;
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->cells[i]);
    free(t->cells);
}

static int table_print(struct table *t)
{
    if (t->oom)
        return out_of_memory();
    CLEANUP_FREE size_t *w = calloc(t->ncols, sizeof(*w));
    if (!w)
        return out_of_memory();
    for (size_t i = 0; i < t->n; i++) {
        size_t cw = text_width(t->cells[i]);
        if (cw > w[i % t->ncols])
            w[i % t->ncols] = cw;
    }
    for (size_t i = 0; i < t->n; i++) {
        size_t col = i % t->ncols;
        fputs(t->cells[i], stdout);
        if (col == t->ncols - 1 || i == t->n - 1) {
            putchar('\n');
        } else {
            for (size_t k = text_width(t->cells[i]); k < w[col] + 2; k++)
                putchar(' ');
        }
    }
    return EXIT_OK;
}

/* "key: value" lines like lspci -v, the value made printable. */
static void kv(const char *key, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void kv(const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *raw = NULL;
    int r = vasprintf(&raw, fmt, ap);
    va_end(ap);
    CLEANUP_FREE char *v = r < 0 ? NULL : vpcictl_printable(raw);
    if (r >= 0)
        free(raw);
    printf("%-19s %s\n", key, v ? v : "?");
}

/* An indented line under a "Key:" line, made printable. */
static void sub_line(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static void sub_line(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *raw = NULL;
    int r = vasprintf(&raw, fmt, ap);
    va_end(ap);
    CLEANUP_FREE char *v = r < 0 ? NULL : vpcictl_printable(raw);
    if (r >= 0)
        free(raw);
    printf("  %s\n", v ? v : "?");
}

/* ------------------------------------------------------------ JSON */

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The integer at key, if it is one within [min, max]. */
static bool jint(const json_t *o, const char *key, long long min, long long max,
                 long long *ret)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        return false;
    json_int_t x = json_integer_value(v);
    if (x < min || x > max)
        return false;
    *ret = x;
    return true;
}

#define OR(s, d) ((s) ? (s) : (d))

static int bad_answer(const struct vpcictl_client *c, const char *what)
{
    fprintf(stderr, "vpcictl: %s: unexpected answer: %s\n",
            vpcictl_client_target(c), what);
    return EXIT_INVALID;
}

/* A string array as "a b c", "-" when empty or not an array of strings. */
static char *join_strings(const json_t *a)
{
    size_t i, len = 0;
    const json_t *v;
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v))
            return strdup("?");
        len += json_string_length(v) + 1;
    }
    if (!len)
        return strdup("-");
    char *s = malloc(len);
    if (!s)
        return NULL;
    char *p = s;
    json_array_foreach(a, i, v)
    {
        size_t n = json_string_length(v);
        memcpy(p, json_string_value(v), n);
        p += n;
        *p++ = ' ';
    }
    p[-1] = '\0';
    return s;
}

/* ------------------------------------------------------------ requests */

/* Send, and turn anything but a 2xx into a printed message (exit 1). */
static int call(struct vpcictl_client *c, const char *method, const char *path,
                const char *accept, const char *body, size_t len,
                struct vpcictl_response *r)
{
    if (vpcictl_request(c, method, path, accept, body, len, r) < 0)
        return EXIT_INVALID;
    if (r->status / 100 != 2) {
        vpcictl_report_error(c, r, NULL);
        return EXIT_INVALID;
    }
    return EXIT_OK;
}

static int get_json(struct vpcictl_client *c, const char *path, json_t **ret)
{
    CLEANUP_RESPONSE struct vpcictl_response r = {0};
    int rc = call(c, "GET", path, NULL, NULL, 0, &r);
    if (rc != EXIT_OK)
        return rc;
    return vpcictl_response_json(c, &r, ret) < 0 ? EXIT_INVALID : EXIT_OK;
}

/* "/v1/instance-types/NAME[/versions[/N[/TAIL]]]", each part escaped */
static char *type_path(const char *name, const char *version, const char *tail)
{
    char *p = strdup("/v1");
    if (!p || vpcictl_path_segment(&p, "instance-types") < 0 ||
        (name && vpcictl_path_segment(&p, name) < 0) ||
        (version && (vpcictl_path_segment(&p, "versions") < 0 ||
                     vpcictl_path_segment(&p, version) < 0)) ||
        (tail && vpcictl_path_segment(&p, tail) < 0)) {
        free(p);
        return NULL;
    }
    return p;
}

/* A version object: the fixed keys other tools read. */
struct version {
    const char *name, *hash, *fingerprint, *state, *created;
    long long n;
};

static int parse_version(const struct vpcictl_client *c, const json_t *o,
                         struct version *v)
{
    v->name = jstr(o, "name");
    v->hash = jstr(o, "hash");
    v->fingerprint = jstr(o, "fingerprint");
    v->state = jstr(o, "state");
    v->created = jstr(o, "created");
    if (!v->name || !v->hash || !v->fingerprint || !v->state || !v->created ||
        !jint(o, "version", 1, INT32_MAX, &v->n))
        return bad_answer(c, "not a version object (name, version, hash, "
                             "fingerprint, state, created)");
    return EXIT_OK;
}

/* ------------------------------------------------------------ devices */

static void device_name(struct table *t, const json_t *d)
{
    const char *vn = jstr(d, "vendor_name"), *dn = jstr(d, "device_name");
    if (vn && dn)
        table_addf(t, "%s %s", vn, dn);
    else if (vn)
        table_addf(t, "%s Device %s", vn, OR(jstr(d, "device_id"), "?"));
    else
        table_addf(t, "%s", OR(dn, "-"));
}

static int devices_table(const struct vpcictl_client *c, const json_t *root)
{
    const json_t *devs = json_object_get(root, "devices");
    if (!json_is_array(devs))
        return bad_answer(c, "no \"devices\" array");
    struct table t = {.ncols = 8};
    table_addf(&t, "BDF");
    table_addf(&t, "VENDOR:DEVICE");
    table_addf(&t, "CLASS");
    table_addf(&t, "DRIVER");
    table_addf(&t, "IOMMU");
    table_addf(&t, "NUMA");
    table_addf(&t, "PF");
    table_addf(&t, "NAME");
    size_t i;
    const json_t *d;
    json_array_foreach(devs, i, d)
    {
        const char *bdf = jstr(d, "bdf");
        if (!bdf) {
            table_free(&t);
            return bad_answer(c, "a device without \"bdf\"");
        }
        long long g, numa;
        table_addf(&t, "%s", bdf);
        table_addf(&t, "%s:%s", OR(jstr(d, "vendor_id"), "?"),
                   OR(jstr(d, "device_id"), "?"));
        table_addf(&t, "%s", OR(jstr(d, "class"), "?"));
        table_addf(&t, "%s", OR(jstr(d, "driver"), "-"));
        if (jint(d, "iommu_group", 0, INT_MAX, &g))
            table_addf(&t, "%lld", g);
        else
            table_addf(&t, "-");
        if (jint(d, "numa_node", 0, INT_MAX, &numa))
            table_addf(&t, "%lld", numa);
        else
            table_addf(&t, "-");
        table_addf(&t, "%s", OR(jstr(d, "physfn"), "-"));
        device_name(&t, d);
    }
    int rc = table_print(&t);
    table_free(&t);
    return rc;
}

static const char *yes_no(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_true(v) ? "yes" : json_is_false(v) ? "no" : "?";
}

static void pasid_line(const char *key, const json_t *p)
{
    long long w;
    if (json_is_null(p))
        kv(key, "-");
    else if (json_is_object(p) && jint(p, "max_width", 0, 64, &w))
        kv(key, "max width %lld, exec %s, privileged %s", w, yes_no(p, "exec"),
           yes_no(p, "privileged"));
    else
        kv(key, "?");
}

static void pri_line(const char *key, const json_t *p)
{
    long long n;
    if (json_is_null(p))
        kv(key, "-");
    else if (json_is_object(p) && jint(p, "max_requests", 0, UINT32_MAX, &n))
        kv(key, "max requests %lld", n);
    else
        kv(key, "?");
}

static void list_lines(const char *key, const json_t *a)
{
    CLEANUP_FREE char *s = join_strings(a);
    kv(key, "%s", OR(s, "?"));
}

static void caps_lines(const json_t *caps)
{
    size_t i;
    const json_t *cap;
    if (!json_is_array(caps) || !json_array_size(caps)) {
        kv("Capabilities:", "-");
        return;
    }
    printf("Capabilities:\n");
    json_array_foreach(caps, i, cap)
    {
        long long off, id, ver;
        const char *kind = OR(jstr(cap, "kind"), "?");
        if (!jint(cap, "offset", 0, 0xfff, &off) ||
            !jint(cap, "id", 0, 0xffff, &id)) {
            sub_line("? malformed capability");
            continue;
        }
        if (!strcmp(kind, "ext") && jint(cap, "version", 0, 15, &ver))
            sub_line("[%03llx] %s %04llx %s v%lld (%s)", off, kind, id,
                     OR(jstr(cap, "name"), "?"), ver,
                     OR(jstr(cap, "title"), "?"));
        else
            sub_line("[%03llx] %s %02llx %s (%s)", off, kind, id,
                     OR(jstr(cap, "name"), "?"), OR(jstr(cap, "title"), "?"));
    }
}

static void bars_lines(const json_t *bars)
{
    size_t i;
    const json_t *b;
    if (!json_is_array(bars) || !json_array_size(bars)) {
        kv("BARs:", "-");
        return;
    }
    printf("BARs:\n");
    json_array_foreach(bars, i, b)
    {
        long long idx, size;
        if (!jint(b, "index", 0, 5, &idx) ||
            !jint(b, "size", 0, LLONG_MAX, &size)) {
            sub_line("? malformed BAR");
            continue;
        }
        sub_line("BAR %lld: %s%s size 0x%llx", idx, OR(jstr(b, "type"), "?"),
                 json_is_true(json_object_get(b, "prefetch")) ? " prefetch"
                                                              : "",
                 size);
    }
}

static int device_detail(const struct vpcictl_client *c, const json_t *d)
{
    const char *bdf = jstr(d, "bdf");
    if (!bdf)
        return bad_answer(c, "a device without \"bdf\"");
    long long v;
    const json_t *x;
    kv("BDF:", "%s", bdf);
    kv("Vendor:", "%s %s", OR(jstr(d, "vendor_id"), "?"),
       OR(jstr(d, "vendor_name"), ""));
    kv("Device:", "%s %s", OR(jstr(d, "device_id"), "?"),
       OR(jstr(d, "device_name"), ""));
    kv("Subsystem:", "%s:%s %s", OR(jstr(d, "subsystem_vendor_id"), "?"),
       OR(jstr(d, "subsystem_id"), "?"), OR(jstr(d, "subsystem_name"), ""));
    kv("Class:", "%s %s", OR(jstr(d, "class"), "?"),
       OR(jstr(d, "class_name"), ""));
    if (jint(d, "revision", 0, 255, &v))
        kv("Revision:", "%02llx", v);
    else
        kv("Revision:", "-");
    kv("Driver:", "%s", OR(jstr(d, "driver"), "-"));
    if (jint(d, "iommu_group", 0, INT_MAX, &v))
        kv("IOMMU group:", "%lld", v);
    else
        kv("IOMMU group:", "-");
    list_lines("IOMMU group peers:", json_object_get(d, "iommu_group_peers"));
    if (jint(d, "numa_node", 0, INT_MAX, &v))
        kv("NUMA node:", "%lld", v);
    else
        kv("NUMA node:", "-");
    x = json_object_get(d, "link");
    if (json_is_object(x)) {
        long long cw = -1, mw = -1;
        jint(x, "current_width", 0, 64, &cw);
        jint(x, "max_width", 0, 64, &mw);
        kv("Link:", "speed %s, width x%lld (max %s, x%lld)",
           OR(jstr(x, "current_speed"), "?"), cw, OR(jstr(x, "max_speed"), "?"),
           mw);
    } else {
        kv("Link:", "-");
    }
    kv("Physical function:", "%s", OR(jstr(d, "physfn"), "-"));
    list_lines("Virtual functions:", json_object_get(d, "vfs"));
    x = json_object_get(d, "sriov");
    if (json_is_object(x)) {
        long long tot = -1, num = -1, off = -1, stride = -1;
        jint(x, "total_vfs", 0, 65535, &tot);
        jint(x, "num_vfs", 0, 65535, &num);
        jint(x, "offset", 0, 65535, &off);
        jint(x, "stride", 0, 65535, &stride);
        kv("SR-IOV:",
           "%lld of %lld VFs enabled, VF device %s, offset %lld, stride %lld",
           num, tot, OR(jstr(x, "vf_device_id"), "?"), off, stride);
    } else {
        kv("SR-IOV:", "-");
    }
    pasid_line("PASID:", json_object_get(d, "pasid"));
    pri_line("PRI:", json_object_get(d, "pri"));
    if (json_object_get(d, "pf_pasid"))
        pasid_line("PF PASID:", json_object_get(d, "pf_pasid"));
    if (json_object_get(d, "pf_pri"))
        pri_line("PF PRI:", json_object_get(d, "pf_pri"));
    caps_lines(json_object_get(d, "capabilities"));
    bars_lines(json_object_get(d, "bars"));
    if (jint(d, "rom_size", 1, LLONG_MAX, &v))
        kv("ROM:", "size 0x%llx", v);
    else
        kv("ROM:", "-");
    if (jint(d, "config_size", 0, 4096, &v))
        kv("Config space:", "%lld bytes%s", v,
           json_is_true(json_object_get(d, "config_partial"))
               ? " (partial: not root)"
               : "");
    else
        kv("Config space:", "?");
    kv("VFIO group device:", "%s", OR(jstr(d, "vfio_group_dev"), "-"));
    kv("VFIO cdev:", "%s", OR(jstr(d, "vfio_cdev"), "-"));
    x = json_object_get(d, "migration");
    kv("Live migration:", "%s",
       json_is_null(x) ? "unknown" : yes_no(d, "migration"));
    x = json_object_get(d, "warnings");
    if (json_is_array(x) && json_array_size(x)) {
        size_t i;
        const json_t *w;
        printf("Warnings:\n");
        json_array_foreach(x, i, w)
            sub_line("%s", OR(json_string_value(w), "?"));
    }
    return EXIT_OK;
}

static int cmd_devices(struct vpcictl_client *c,
                       const struct vpcictl_remote_opts *o, char **pos,
                       int npos)
{
    if (npos > 1)
        return usage_error("devices takes at most one BDF");
    CLEANUP_FREE char *path = strdup("/v1");
    if (!path || vpcictl_path_segment(&path, "devices") < 0 ||
        (npos == 1 && vpcictl_path_segment(&path, pos[0]) < 0))
        return out_of_memory();
    json_auto_t *root = NULL;
    int rc = get_json(c, path, &root);
    if (rc != EXIT_OK)
        return rc;
    if (want_json(o))
        return print_json(root);
    return npos ? device_detail(c, root) : devices_table(c, root);
}

/* ------------------------------------------------------------ types */

static int types_table(const struct vpcictl_client *c, const json_t *root)
{
    const json_t *types = json_object_get(root, "instance_types");
    if (!json_is_array(types))
        return bad_answer(c, "no \"instance_types\" array");
    struct table t = {.ncols = 4};
    table_addf(&t, "NAME");
    table_addf(&t, "LATEST");
    table_addf(&t, "CREATED");
    table_addf(&t, "DESCRIPTION");
    size_t i;
    const json_t *ty;
    json_array_foreach(types, i, ty)
    {
        const char *name = jstr(ty, "name");
        long long latest;
        if (!name) {
            table_free(&t);
            return bad_answer(c, "an instance type without \"name\"");
        }
        table_addf(&t, "%s", name);
        if (jint(ty, "latest", 1, INT32_MAX, &latest))
            table_addf(&t, "%lld", latest);
        else
            table_addf(&t, "-");
        table_addf(&t, "%s", OR(jstr(ty, "created"), "-"));
        table_addf(&t, "%s", OR(jstr(ty, "description"), ""));
    }
    int rc = table_print(&t);
    table_free(&t);
    return rc;
}

static int type_detail(const struct vpcictl_client *c, const json_t *ty)
{
    const char *name = jstr(ty, "name");
    const json_t *versions = json_object_get(ty, "versions");
    long long latest;
    if (!name || !json_is_array(versions))
        return bad_answer(c, "not an instance type (name, versions)");
    kv("Name:", "%s", name);
    kv("Description:", "%s", OR(jstr(ty, "description"), ""));
    kv("Created:", "%s", OR(jstr(ty, "created"), "-"));
    if (jint(ty, "latest", 1, INT32_MAX, &latest))
        kv("Latest:", "%lld", latest);
    else
        kv("Latest:", "-");
    putchar('\n');
    struct table t = {.ncols = 4};
    table_addf(&t, "VERSION");
    table_addf(&t, "STATE");
    table_addf(&t, "CREATED");
    table_addf(&t, "HASH");
    size_t i;
    const json_t *vo;
    json_array_foreach(versions, i, vo)
    {
        struct version v;
        if (parse_version(c, vo, &v) != EXIT_OK) {
            table_free(&t);
            return EXIT_INVALID;
        }
        table_addf(&t, "%lld", v.n);
        table_addf(&t, "%s", v.state);
        table_addf(&t, "%s", v.created);
        table_addf(&t, "%s", v.hash);
    }
    int rc = table_print(&t);
    table_free(&t);
    return rc;
}

/* Split NAME@N at the last '@'; *ret_ver NULL when there is none. */
static int split_ref(const char *arg, char **ret_name, char **ret_ver)
{
    const char *at = strrchr(arg, '@');
    char *name = at ? strndup(arg, (size_t)(at - arg)) : strdup(arg);
    char *ver = at ? strdup(at + 1) : NULL;
    if (!name || (at && !ver)) {
        free(name);
        free(ver);
        return -ENOMEM;
    }
    *ret_name = name;
    *ret_ver = ver;
    return 0;
}

static int show_version(struct vpcictl_client *c,
                        const struct vpcictl_remote_opts *o, const char *name,
                        const char *ver)
{
    CLEANUP_FREE char *path = type_path(name, ver, NULL);
    if (!path)
        return out_of_memory();
    if (want_json(o)) {
        json_auto_t *root = NULL;
        int rc = get_json(c, path, &root);
        if (rc != EXIT_OK)
            return rc;
        struct version v;
        if (parse_version(c, root, &v) != EXIT_OK)
            return EXIT_INVALID;
        return print_json(root);
    }
    CLEANUP_RESPONSE struct vpcictl_response r = {0};
    int rc = call(c, "GET", path, LAYOUT_TYPE, NULL, 0, &r);
    if (rc != EXIT_OK)
        return rc;
    if (!vpcictl_response_is(&r, LAYOUT_TYPE)) {
        CLEANUP_FREE char *ct = vpcictl_printable(r.content_type);
        fprintf(stderr, "vpcictl: %s: expected %s, got %s\n",
                vpcictl_client_target(c), LAYOUT_TYPE, OR(ct, "?"));
        return EXIT_INVALID;
    }
    /* The canonical text, byte for byte: what `layout fmt` prints. */
    fwrite(r.body, 1, r.len, stdout);
    return EXIT_OK;
}

static int cmd_show(struct vpcictl_client *c,
                    const struct vpcictl_remote_opts *o, const char *ref)
{
    CLEANUP_FREE char *name = NULL;
    CLEANUP_FREE char *ver = NULL;
    if (split_ref(ref, &name, &ver) < 0)
        return out_of_memory();
    if (!name[0] || (ver && !ver[0]))
        return usage_error("types show NAME[@N]: N is a version number or "
                           "'latest'");
    if (ver)
        return show_version(c, o, name, ver);
    CLEANUP_FREE char *path = type_path(name, NULL, NULL);
    if (!path)
        return out_of_memory();
    json_auto_t *root = NULL;
    int rc = get_json(c, path, &root);
    if (rc != EXIT_OK)
        return rc;
    return want_json(o) ? print_json(root) : type_detail(c, root);
}

/* An invalid-layout problem, one line per error exactly as `vpcictl
 * layout lint` prints the same error for the same file. */
static bool print_layout_errors(const char *label, const json_t *problem)
{
    const json_t *errs = json_object_get(problem, "errors");
    size_t i, printed = 0;
    const json_t *e;
    json_array_foreach(errs, i, e)
    {
        long long line, col;
        const char *msg = jstr(e, "message");
        if (!msg || !jint(e, "line", 0, UINT_MAX, &line) ||
            !jint(e, "col", 0, UINT_MAX, &col))
            continue;
        struct vpci_error err = {.line = (unsigned)line, .col = (unsigned)col};
        snprintf(err.msg, sizeof(err.msg), "%s", msg);
        char buf[1024];
        vpci_error_format(&err, label, buf, sizeof(buf));
        CLEANUP_FREE char *p = vpcictl_printable(buf);
        fprintf(stderr, "%s\n", OR(p, "?"));
        printed++;
    }
    return printed > 0;
}

/* The file cannot even travel as a JSON string (not UTF-8): say where,
 * the way lint would, without asking the daemon. */
static int local_error(const char *label, const char *text, size_t len)
{
    struct vpci_layout *l = NULL;
    struct vpci_error err;
    if (vpci_layout_parse(text, len, &l, &err) < 0) {
        char buf[512];
        vpci_error_format(&err, label, buf, sizeof(buf));
        fprintf(stderr, "%s\n", buf);
    } else {
        fprintf(stderr, "vpcictl: %s: not valid UTF-8\n", label);
    }
    vpci_layout_free(l);
    return EXIT_INVALID;
}

/* 200/201 with a version object: print what happened. */
static int publish_result(const struct vpcictl_client *c,
                          const struct vpcictl_remote_opts *o,
                          const struct vpcictl_response *r)
{
    json_auto_t *root = NULL;
    if (vpcictl_response_json(c, r, &root) < 0)
        return EXIT_INVALID;
    struct version v;
    if (parse_version(c, root, &v) != EXIT_OK)
        return EXIT_INVALID;
    CLEANUP_FREE char *name = vpcictl_printable(v.name);
    CLEANUP_FREE char *hash = vpcictl_printable(v.hash);
    CLEANUP_FREE char *fp = vpcictl_printable(v.fingerprint);
    if (!name || !hash || !fp)
        return out_of_memory();
    if (r->status == 200 && !strcmp(v.state, "deprecated"))
        fprintf(stderr, "vpcictl: warning: %s@%lld is deprecated\n", name, v.n);
    if (want_json(o))
        return print_json(root);
    printf("%s@%lld %s\n%s\nfingerprint %s\n", name, v.n,
           r->status == 201 ? "created" : "unchanged (same content)", hash, fp);
    return EXIT_OK;
}

static int cmd_publish(struct vpcictl_client *c,
                       const struct vpcictl_remote_opts *o, const char *name,
                       const char *file, const char *description)
{
    const char *label = strcmp(file, "-") ? file : "<stdin>";
    size_t len;
    CLEANUP_FREE char *text = vpcictl_read_file(file, &len);
    if (!text)
        return EXIT_INVALID;
    json_auto_t *layout = json_stringn(text, len);
    if (!layout)
        return local_error(label, text, len);
    json_auto_t *desc = NULL;
    if (description && !(desc = json_string(description)))
        return usage_error("--description is not valid UTF-8");
    json_auto_t *jname = json_string(name);
    if (!jname)
        return usage_error("NAME is not valid UTF-8");

    /* Does the type exist?  Then this is its next version. */
    CLEANUP_FREE char *tpath = type_path(name, NULL, NULL);
    CLEANUP_FREE char *vpath = strdup("");
    if (!tpath || !vpath || vpcictl_path_segment(&vpath, "versions") < 0)
        return out_of_memory();
    bool exists;
    {
        CLEANUP_RESPONSE struct vpcictl_response r = {0};
        if (vpcictl_request(c, "GET", tpath, NULL, NULL, 0, &r) < 0)
            return EXIT_INVALID;
        CLEANUP_FREE char *code = vpcictl_problem_code(&r);
        exists = r.status == 200;
        if (!exists &&
            !(r.status == 404 && code && !strcmp(code, "type-not-found"))) {
            vpcictl_report_error(c, &r, NULL);
            return EXIT_INVALID;
        }
    }

    CLEANUP_RESPONSE struct vpcictl_response r = {0};
    for (int attempt = 0; attempt < 2; attempt++) {
        json_auto_t *body = json_object();
        if (!body || json_object_set(body, "layout", layout) < 0)
            return out_of_memory();
        if (!exists &&
            (json_object_set(body, "name", jname) < 0 ||
             (desc && json_object_set(body, "description", desc) < 0)))
            return out_of_memory();
        if (exists && desc && attempt == 0)
            fprintf(stderr,
                    "vpcictl: warning: %s exists; --description is kept only "
                    "when a type is created\n",
                    name);
        CLEANUP_FREE char *text_body = json_dumps(body, JSON_COMPACT);
        CLEANUP_FREE char *path = NULL;
        if (!text_body ||
            asprintf(&path, "%s%s", exists ? tpath : "/v1/instance-types",
                     exists ? vpath : "") < 0) {
            path = NULL;
            return out_of_memory();
        }
        vpcictl_response_clear(&r);
        if (vpcictl_request(c, "POST", path, NULL, text_body, strlen(text_body),
                            &r) < 0)
            return EXIT_INVALID;
        CLEANUP_FREE char *code = vpcictl_problem_code(&r);
        /* Created by someone else since we looked: publish a version. */
        if (!exists && r.status == 409 && code &&
            !strcmp(code, "type-exists")) {
            exists = true;
            continue;
        }
        break;
    }
    if (r.status == 200 || r.status == 201)
        return publish_result(c, o, &r);
    json_auto_t *problem = NULL;
    vpcictl_report_error(c, &r, &problem);
    if (problem && !print_layout_errors(label, problem)) {
        CLEANUP_FREE char *d = vpcictl_printable(jstr(problem, "detail"));
        fprintf(stderr, "vpcictl: %s (invalid-layout)\n", OR(d, "?"));
    }
    return EXIT_INVALID;
}

static int cmd_deprecate(struct vpcictl_client *c,
                         const struct vpcictl_remote_opts *o, const char *ref)
{
    CLEANUP_FREE char *name = NULL;
    CLEANUP_FREE char *ver = NULL;
    if (split_ref(ref, &name, &ver) < 0)
        return out_of_memory();
    if (!name[0] || !ver || !ver[0])
        return usage_error("types deprecate NAME@N");
    CLEANUP_FREE char *path = type_path(name, ver, "deprecate");
    if (!path)
        return out_of_memory();
    CLEANUP_RESPONSE struct vpcictl_response r = {0};
    int rc = call(c, "POST", path, NULL, NULL, 0, &r);
    if (rc != EXIT_OK)
        return rc;
    json_auto_t *root = NULL;
    if (vpcictl_response_json(c, &r, &root) < 0)
        return EXIT_INVALID;
    struct version v;
    if (parse_version(c, root, &v) != EXIT_OK)
        return EXIT_INVALID;
    if (want_json(o))
        return print_json(root);
    CLEANUP_FREE char *n = vpcictl_printable(v.name);
    printf("%s@%lld deprecated\n", OR(n, "?"), v.n);
    return EXIT_OK;
}

/* ------------------------------------------------------------ dispatch */

static int run(struct vpcictl_remote_opts *o, const char *verb, char **pos,
               int npos, const char *description)
{
    const char *sub = !strcmp(verb, "types") && npos ? pos[0] : NULL;
    bool publish = sub && !strcmp(sub, "publish");
    if (description && !publish)
        return usage_error("--description goes with 'types publish'");
    if (sub && !strcmp(sub, "show") && npos != 2)
        return usage_error("types show NAME[@N]");
    if (publish && npos != 3)
        return usage_error("types publish NAME FILE [--description TEXT]");
    if (sub && !strcmp(sub, "deprecate") && npos != 2)
        return usage_error("types deprecate NAME@N");
    if (sub && strcmp(sub, "show") && !publish && strcmp(sub, "deprecate"))
        return usage_error("unknown verb 'types %s'", sub);

    const char *env = getenv("VPCID_CONNECT");
    const char *connect = o->connect      ? o->connect
                          : env && env[0] ? env
                                          : DEFAULT_CONNECT;
    env = getenv("VPCID_TOKEN_FILE");
    const char *token = o->token_file   ? o->token_file
                        : env && env[0] ? env
                                        : NULL;
    __attribute__((cleanup(clientp))) struct vpcictl_client *c = NULL;
    int r = vpcictl_client_new(connect, token, &c);
    if (r == -EINVAL)
        return EXIT_USAGE;
    if (r < 0)
        return EXIT_INVALID;

    if (!strcmp(verb, "devices"))
        return cmd_devices(c, o, pos, npos);
    if (!sub) {
        json_auto_t *root = NULL;
        int rc = get_json(c, "/v1/instance-types", &root);
        if (rc != EXIT_OK)
            return rc;
        return want_json(o) ? print_json(root) : types_table(c, root);
    }
    if (!strcmp(sub, "show"))
        return cmd_show(c, o, pos[1]);
    if (publish)
        return cmd_publish(c, o, pos[1], pos[2], description);
    return cmd_deprecate(c, o, pos[1]);
}

int vpcictl_cmd_remote(struct vpcictl_remote_opts *o, int argc, char **argv)
{
    CLEANUP_FREE char **pos = calloc((size_t)argc, sizeof(*pos));
    if (!pos)
        return out_of_memory();
    int npos = 0, i = 1;
    const char *description = NULL;
    bool only_pos = false;
    while (i < argc) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || !a[1]) { /* "-" is standard input */
            pos[npos++] = argv[i++];
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = true;
            i++;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            vpcictl_remote_help(stdout, true);
            return EXIT_OK;
        }
        int r = long_opt("--description", argc, argv, &i, &description);
        if (r == 0)
            r = vpcictl_remote_option(o, argc, argv, &i);
        if (r < 0)
            return EXIT_USAGE;
        if (r == 0)
            return usage_error("unknown option '%s'", a);
    }
    if (o->output && strcmp(o->output, "json") && strcmp(o->output, "table"))
        return usage_error("-o is table or json");
    int rc = run(o, argv[0], pos, npos, description);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "vpcictl: standard output: %s\n", strerror(errno));
        return EXIT_INVALID;
    }
    return rc;
}
