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
              "               [-o table|json] devices|types|compat|attach|"
              "detach|\n"
              "               attachments|migrate ...\n"
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
          "  compat NAME[@N] [BDF...]  which devices can present the type "
          "(all, or the\n"
          "                            given ones) and why not; exit 1 if "
          "none can\n"
          "  compat --snapshot FILE [--snapshot FILE]... [FILE...] "
          "TYPE.vpci\n"
          "                            offline, no daemon: the same verdicts "
          "for each host\n"
          "                            snapshot ('vpcictl host snapshot') "
          "and layout file;\n"
          "                            exit 1 if no device of any host can\n"
          "  attach VM NAME[@N] [--device BDF] [--numa N] [--request-id ID]\n"
          "                            reserve the best free device for VM "
          "and write its\n"
          "                            resolved layout; --numa prefers a "
          "node, a repeated\n"
          "                            --request-id returns the same "
          "attachment\n"
          "  detach ID                 end an attachment, free its device\n"
          "  attachments [ID | --vm VM]\n"
          "                            the attachments, or one in detail\n"
          "  migrate precheck FILE     can this host take the resolved "
          "layout FILE?\n"
          "  migrate incoming FILE --vm VM [--ttl S] [--request-id ID]\n"
          "                            reserve a device for an incoming VM "
          "(S seconds,\n"
          "                            default 300)\n"
          "  migrate commit|abort ID   keep or drop an incoming "
          "reservation\n"
          "  migrate out ID            mark an attachment as migrating "
          "away\n"
          "  migrate complete|cancel ID\n"
          "                            it left (the device is freed), or it "
          "stays\n"
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
    static const char *const verbs[] = {"devices", "types",       "compat",
                                        "attach",  "attachments", "detach",
                                        "migrate"};
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (!strcmp(verb, verbs[i]))
            return true;
    return false;
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

/* Start a table with these column titles (NULL-terminated). */
static void table_head(struct table *t, const char *const *cols)
{
    for (t->ncols = 0; cols[t->ncols]; t->ncols++)
        ;
    for (size_t i = 0; i < t->ncols; i++)
        table_addf(t, "%s", cols[i]);
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

static int table_fprint(struct table *t, FILE *f)
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
        fputs(t->cells[i], f);
        if (col == t->ncols - 1 || i == t->n - 1) {
            putc('\n', f);
        } else {
            for (size_t k = text_width(t->cells[i]); k < w[col] + 2; k++)
                putc(' ', f);
        }
    }
    return EXIT_OK;
}

static int table_print(struct table *t)
{
    return table_fprint(t, stdout);
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
    struct table t = {0};
    table_head(&t,
               (const char *const[]){"BDF", "VENDOR:DEVICE", "CLASS", "DRIVER",
                                     "IOMMU", "NUMA", "PF", "NAME", NULL});
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
    struct table t = {0};
    table_head(&t, (const char *const[]){"NAME", "LATEST", "CREATED",
                                         "DESCRIPTION", NULL});
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
    struct table t = {0};
    table_head(
        &t, (const char *const[]){"VERSION", "STATE", "CREATED", "HASH", NULL});
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
    if (vpcictl_parse_layout(label, text, len, &l) == 0)
        fprintf(stderr, "vpcictl: %s: not valid UTF-8\n", label);
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
    const char *label = vpcictl_file_label(file);
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

/* ------------------------------------------------------------ compat */

/* Options of the attachment verbs; NULL when not given. */
struct attach_opts {
    const char *device, *numa, *request_id, *vm, *ttl;
};

/* A decimal integer in [min, max], nothing else. */
static bool parse_int(const char *s, long long min, long long max,
                      long long *ret)
{
    if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *ret = v;
    return true;
}

/* NAME[@N] into the request body: "instance_type" and, with @N,
 * "version".  A usage error (exit 2) when N is not a version number. */
static int set_type_ref(json_t *body, const char *verb, const char *ref)
{
    CLEANUP_FREE char *name = NULL;
    CLEANUP_FREE char *ver = NULL;
    if (split_ref(ref, &name, &ver) < 0)
        return out_of_memory();
    long long n = 0;
    if (!name[0] || (ver && !parse_int(ver, 1, INT32_MAX, &n)))
        return usage_error("%s: NAME[@N], N a version number", verb);
    json_t *jname = json_string(name);
    if (!jname)
        return usage_error("NAME is not valid UTF-8");
    if (json_object_set_new(body, "instance_type", jname) < 0 ||
        (ver && json_object_set_new(body, "version", json_integer(n)) < 0))
        return out_of_memory();
    return EXIT_OK;
}

/* key: a string from the command line (UTF-8 checked by jansson). */
static int set_str(json_t *body, const char *key, const char *value)
{
    json_t *s = json_string(value);
    if (!s)
        return usage_error("%s is not valid UTF-8", key);
    if (json_object_set_new(body, key, s) < 0)
        return out_of_memory();
    return EXIT_OK;
}

/* "code: message; code: message", "-" when there is none. */
static char *join_reasons(const json_t *reasons)
{
    size_t i, len = 1;
    const json_t *r;
    json_array_foreach(reasons, i, r)
    {
        len += strlen(OR(jstr(r, "code"), "?")) +
               strlen(OR(jstr(r, "message"), "")) + 4;
    }
    if (len == 1)
        return strdup("-");
    char *s = malloc(len);
    if (!s)
        return NULL;
    char *p = s;
    json_array_foreach(reasons, i, r)
    {
        p += sprintf(p, "%s%s: %s", i ? "; " : "", OR(jstr(r, "code"), "?"),
                     OR(jstr(r, "message"), ""));
    }
    return s;
}

int vpcictl_compat_table(const json_t *results, FILE *f, size_t *ret_ok)
{
    if (!json_is_array(results))
        return -EINVAL;
    struct table t = {0};
    table_head(&t, (const char *const[]){"DEVICE", "VERDICT", "SCORE",
                                         "REASONS", NULL});
    size_t i, nok = 0;
    const json_t *res;
    json_array_foreach(results, i, res)
    {
        const char *bdf = jstr(res, "bdf");
        const json_t *comp = json_object_get(res, "compatible");
        long long score;
        if (!bdf || !json_is_boolean(comp) ||
            !jint(res, "score", 0, LLONG_MAX, &score)) {
            table_free(&t);
            return -EINVAL;
        }
        CLEANUP_FREE char *why = join_reasons(json_object_get(res, "reasons"));
        nok += json_is_true(comp);
        table_addf(&t, "%s", bdf);
        table_addf(&t, "%s", json_is_true(comp) ? "ok" : "no");
        table_addf(&t, "%lld", score);
        table_addf(&t, "%s", OR(why, "?"));
    }
    int rc = table_fprint(&t, f);
    table_free(&t);
    if (rc != EXIT_OK)
        return -ENOMEM;
    *ret_ok = nok;
    return 0;
}

/* The "results" of a compatibility answer as DEVICE VERDICT SCORE
 * REASONS; *ret_ok counts the compatible devices. */
static int results_table(const struct vpcictl_client *c, const json_t *results,
                         FILE *f, size_t *ret_ok)
{
    int r = vpcictl_compat_table(results, f, ret_ok);
    if (r == -ENOMEM)
        return EXIT_INVALID;
    if (r < 0)
        return bad_answer(c, json_is_array(results)
                                 ? "a result without bdf, compatible, score"
                                 : "no \"results\" array");
    return EXIT_OK;
}

/* A refusal: the problem line, and for no-compatible-device why each
 * device did not fit (on stderr, as the compat table). */
static int refused(const struct vpcictl_client *c,
                   const struct vpcictl_response *r)
{
    vpcictl_report_error(c, r, NULL);
    if (r->status != 409 || !vpcictl_response_is(r, "application/problem+json"))
        return EXIT_INVALID;
    json_auto_t *p = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL);
    const json_t *results = json_object_get(p, "results");
    size_t nok;
    if (json_is_array(results) && json_array_size(results))
        results_table(c, results, stderr, &nok);
    return EXIT_INVALID;
}

/* POST a JSON body; 2xx answers are the caller's, anything else is
 * reported (with the compat results of a refusal) and exits 1. */
static int post(struct vpcictl_client *c, const char *path, const json_t *body,
                struct vpcictl_response *r)
{
    /* Without a body (the state changes) none is sent, like deprecate. */
    CLEANUP_FREE char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !text)
        return out_of_memory();
    if (vpcictl_request(c, "POST", path, NULL, text, text ? strlen(text) : 0,
                        r) < 0)
        return EXIT_INVALID;
    if (r->status / 100 != 2)
        return refused(c, r);
    return EXIT_OK;
}

static int cmd_compat(struct vpcictl_client *c,
                      const struct vpcictl_remote_opts *o, char **pos, int npos)
{
    json_auto_t *body = json_object();
    if (!body)
        return out_of_memory();
    int rc = set_type_ref(body, "compat", pos[0]);
    if (rc != EXIT_OK)
        return rc;
    if (npos > 1) {
        json_t *devs = json_array();
        if (!devs || json_object_set_new(body, "devices", devs) < 0)
            return out_of_memory();
        for (int i = 1; i < npos; i++) {
            json_t *s = json_string(pos[i]);
            if (!s)
                return usage_error("BDF is not valid UTF-8");
            if (json_array_append_new(devs, s) < 0)
                return out_of_memory();
        }
    }
    CLEANUP_RESPONSE struct vpcictl_response r = {0};
    if ((rc = post(c, "/v1/compat", body, &r)) != EXIT_OK)
        return rc;
    json_auto_t *root = NULL;
    if (vpcictl_response_json(c, &r, &root) < 0)
        return EXIT_INVALID;
    const json_t *results = json_object_get(root, "results");
    if (!json_is_array(results))
        return bad_answer(c, "no \"results\" array");
    size_t i, nok = 0;
    const json_t *res;
    json_array_foreach(results, i, res)
    {
        nok += json_is_true(json_object_get(res, "compatible"));
    }
    if (want_json(o))
        rc = print_json(root);
    else
        rc = results_table(c, results, stdout, &nok);
    if (rc != EXIT_OK)
        return rc;
    return nok ? EXIT_OK : EXIT_INVALID;
}

/* ------------------------------------------------------------ attachments */

/* An attachment object: the keys every verb prints. */
struct attachment {
    const char *id, *vm, *bdf, *type, *state, *path, *created;
    long long version;
};

static int parse_attachment(const struct vpcictl_client *c, const json_t *a,
                            struct attachment *ret)
{
    ret->id = jstr(a, "id");
    ret->vm = jstr(a, "vm");
    ret->bdf = jstr(a, "bdf");
    ret->type = jstr(a, "instance_type");
    ret->state = jstr(a, "state");
    ret->path = jstr(a, "path");
    ret->created = jstr(a, "created");
    if (!ret->id || !ret->vm || !ret->bdf || !ret->type || !ret->state ||
        !ret->path || !jint(a, "version", 1, INT32_MAX, &ret->version))
        return bad_answer(c, "not an attachment (id, vm, bdf, instance_type, "
                             "version, state, path)");
    return EXIT_OK;
}

/* One row per attachment: ID VM DEVICE TYPE STATE PATH. */
static int attachments_table(const struct vpcictl_client *c, const json_t *arr)
{
    struct table t = {0};
    table_head(&t, (const char *const[]){"ID", "VM", "DEVICE", "TYPE", "STATE",
                                         "PATH", NULL});
    size_t i;
    const json_t *ao;
    json_array_foreach(arr, i, ao)
    {
        struct attachment a;
        if (parse_attachment(c, ao, &a) != EXIT_OK) {
            table_free(&t);
            return EXIT_INVALID;
        }
        const char *exp = jstr(ao, "expires");
        table_addf(&t, "%s", a.id);
        table_addf(&t, "%s", a.vm);
        table_addf(&t, "%s", a.bdf);
        table_addf(&t, "%s@%lld", a.type, a.version);
        if (exp)
            table_addf(&t, "%s (until %s)", a.state, exp);
        else
            table_addf(&t, "%s", a.state);
        table_addf(&t, "%s", a.path);
    }
    int rc = table_print(&t);
    table_free(&t);
    return rc;
}

/* A 200/201 answer holding one attachment: the JSON, or its row. */
static int attachment_result(const struct vpcictl_client *c,
                             const struct vpcictl_remote_opts *o,
                             const struct vpcictl_response *r)
{
    json_auto_t *root = NULL;
    if (vpcictl_response_json(c, r, &root) < 0)
        return EXIT_INVALID;
    struct attachment a;
    if (parse_attachment(c, root, &a) != EXIT_OK)
        return EXIT_INVALID;
    if (want_json(o))
        return print_json(root);
    json_auto_t *arr = json_pack("[O]", root);
    if (!arr)
        return out_of_memory();
    return attachments_table(c, arr);
}

static int attachment_detail(const struct vpcictl_client *c, const json_t *ao)
{
    struct attachment a;
    if (parse_attachment(c, ao, &a) != EXIT_OK)
        return EXIT_INVALID;
    kv("ID:", "%s", a.id);
    kv("VM:", "%s", a.vm);
    kv("Device:", "%s", a.bdf);
    kv("Instance type:", "%s@%lld", a.type, a.version);
    kv("State:", "%s", a.state);
    kv("Expires:", "%s", OR(jstr(ao, "expires"), "-"));
    kv("Created:", "%s", OR(a.created, "-"));
    kv("Request ID:", "%s", OR(jstr(ao, "request_id"), "-"));
    kv("Hash:", "%s", OR(jstr(ao, "hash"), "-"));
    kv("Fingerprint:", "%s", OR(jstr(ao, "fingerprint"), "-"));
    kv("Path:", "%s", a.path);
    return EXIT_OK;
}

/* "/v1/A/ID[/B[/C]]", each part escaped */
static char *id_path(const char *a, const char *id, const char *b,
                     const char *tail)
{
    char *p = strdup("/v1");
    if (!p || vpcictl_path_segment(&p, a) < 0 ||
        (id && vpcictl_path_segment(&p, id) < 0) ||
        (b && vpcictl_path_segment(&p, b) < 0) ||
        (tail && vpcictl_path_segment(&p, tail) < 0)) {
        free(p);
        return NULL;
    }
    return p;
}

static int cmd_attach(struct vpcictl_client *c,
                      const struct vpcictl_remote_opts *o,
                      const struct attach_opts *ao, char **pos)
{
    json_auto_t *body = json_object();
    if (!body)
        return out_of_memory();
    int rc;
    long long numa;
    if ((rc = set_str(body, "vm", pos[0])) != EXIT_OK ||
        (rc = set_type_ref(body, "attach", pos[1])) != EXIT_OK ||
        (ao->device && (rc = set_str(body, "device", ao->device)) != EXIT_OK) ||
        (ao->request_id &&
         (rc = set_str(body, "request_id", ao->request_id)) != EXIT_OK))
        return rc;
    if (ao->numa) {
        if (!parse_int(ao->numa, 0, INT32_MAX, &numa))
            return usage_error("--numa takes a NUMA node number");
        if (json_object_set_new(body, "numa", json_integer(numa)) < 0)
            return out_of_memory();
    }
    CLEANUP_RESPONSE struct vpcictl_response r = {0};
    if ((rc = post(c, "/v1/attachments", body, &r)) != EXIT_OK)
        return rc;
    return attachment_result(c, o, &r);
}

/* A verb answered 204: say what happened (nothing with -o json: there is
 * no JSON). */
static int no_content(const struct vpcictl_remote_opts *o, const char *id,
                      const char *what)
{
    if (!want_json(o)) {
        CLEANUP_FREE char *p = vpcictl_printable(id);
        printf("%s %s\n", OR(p, "?"), what);
    }
    return EXIT_OK;
}

static int cmd_detach(struct vpcictl_client *c,
                      const struct vpcictl_remote_opts *o, const char *id)
{
    CLEANUP_FREE char *path = id_path("attachments", id, NULL, NULL);
    if (!path)
        return out_of_memory();
    CLEANUP_RESPONSE struct vpcictl_response r = {0};
    int rc = call(c, "DELETE", path, NULL, NULL, 0, &r);
    if (rc != EXIT_OK)
        return rc;
    return no_content(o, id, "detached");
}

/* "?vm=VALUE", the value percent-encoded. */
static char *vm_query(const char *vm)
{
    static const char hex[] = "0123456789ABCDEF";
    char *q = malloc(strlen(vm) * 3 + 5);
    if (!q)
        return NULL;
    char *p = stpcpy(q, "?vm=");
    for (const unsigned char *s = (const unsigned char *)vm; *s; s++) {
        if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
            (*s >= '0' && *s <= '9') || strchr("-._~", *s)) {
            *p++ = (char)*s;
        } else {
            *p++ = '%';
            *p++ = hex[*s >> 4];
            *p++ = hex[*s & 15];
        }
    }
    *p = '\0';
    return q;
}

static int cmd_attachments(struct vpcictl_client *c,
                           const struct vpcictl_remote_opts *o,
                           const struct attach_opts *ao, char **pos, int npos)
{
    CLEANUP_FREE char *path =
        id_path("attachments", npos ? pos[0] : NULL, NULL, NULL);
    CLEANUP_FREE char *q = ao->vm ? vm_query(ao->vm) : strdup("");
    CLEANUP_FREE char *full = NULL;
    if (!path || !q || asprintf(&full, "%s%s", path, q) < 0) {
        full = NULL;
        return out_of_memory();
    }
    json_auto_t *root = NULL;
    int rc = get_json(c, full, &root);
    if (rc != EXIT_OK)
        return rc;
    if (want_json(o))
        return print_json(root);
    if (npos)
        return attachment_detail(c, root);
    const json_t *arr = json_object_get(root, "attachments");
    if (!json_is_array(arr))
        return bad_answer(c, "no \"attachments\" array");
    return attachments_table(c, arr);
}

/* ------------------------------------------------------------ migrate */

/* {"layout": FILE's text}; the file's problems reported as lint would. */
static int layout_body(const char *file, json_t **ret)
{
    const char *label = vpcictl_file_label(file);
    size_t len;
    CLEANUP_FREE char *text = vpcictl_read_file(file, &len);
    if (!text)
        return EXIT_INVALID;
    json_t *layout = json_stringn(text, len);
    if (!layout)
        return local_error(label, text, len);
    json_t *body = json_object();
    if (!body || json_object_set_new(body, "layout", layout) < 0) {
        json_decref(body);
        return out_of_memory();
    }
    *ret = body;
    return EXIT_OK;
}

/* POST a resolved layout: invalid-layout errors as layout lint prints
 * them, other refusals as post() does. */
static int post_layout(struct vpcictl_client *c, const char *path,
                       const char *file, const json_t *body,
                       struct vpcictl_response *r)
{
    CLEANUP_FREE char *text = json_dumps(body, JSON_COMPACT);
    if (!text)
        return out_of_memory();
    if (vpcictl_request(c, "POST", path, NULL, text, strlen(text), r) < 0)
        return EXIT_INVALID;
    if (r->status / 100 == 2)
        return EXIT_OK;
    json_auto_t *problem = NULL;
    CLEANUP_FREE char *code = vpcictl_problem_code(r);
    if (!code || strcmp(code, "invalid-layout"))
        return refused(c, r);
    vpcictl_report_error(c, r, &problem);
    if (problem && !print_layout_errors(vpcictl_file_label(file), problem)) {
        CLEANUP_FREE char *d = vpcictl_printable(jstr(problem, "detail"));
        fprintf(stderr, "vpcictl: %s (invalid-layout)\n", OR(d, "?"));
    }
    return EXIT_INVALID;
}

static int cmd_precheck(struct vpcictl_client *c,
                        const struct vpcictl_remote_opts *o, const char *file)
{
    json_auto_t *body = NULL;
    int rc = layout_body(file, &body);
    if (rc != EXIT_OK)
        return rc;
    CLEANUP_RESPONSE struct vpcictl_response r = {0};
    if ((rc = post_layout(c, "/v1/migrations/precheck", file, body, &r)) !=
        EXIT_OK)
        return rc;
    json_auto_t *root = NULL;
    if (vpcictl_response_json(c, &r, &root) < 0)
        return EXIT_INVALID;
    const json_t *comp = json_object_get(root, "compatible");
    long long ver;
    if (!json_is_boolean(comp) || !jstr(root, "instance_type") ||
        !jint(root, "version", 1, INT32_MAX, &ver))
        return bad_answer(c, "not a precheck answer (compatible, "
                             "instance_type, version)");
    if (want_json(o)) {
        rc = print_json(root);
    } else {
        kv("Instance type:", "%s@%lld", jstr(root, "instance_type"), ver);
        kv("Fingerprint:", "%s", OR(jstr(root, "fingerprint"), "-"));
        kv("Compatible:", "%s", json_is_true(comp) ? "yes" : "no");
        kv("Device:", "%s", OR(jstr(root, "bdf"), "-"));
        putchar('\n');
        size_t nok;
        rc = results_table(c, json_object_get(root, "results"), stdout, &nok);
    }
    if (rc != EXIT_OK)
        return rc;
    return json_is_true(comp) ? EXIT_OK : EXIT_INVALID;
}

static int cmd_incoming(struct vpcictl_client *c,
                        const struct vpcictl_remote_opts *o,
                        const struct attach_opts *ao, const char *file)
{
    long long ttl;
    if (ao->ttl && !parse_int(ao->ttl, 1, 3600, &ttl))
        return usage_error("--ttl takes a number of seconds from 1 to 3600");
    json_auto_t *body = NULL;
    int rc = layout_body(file, &body);
    if (rc != EXIT_OK)
        return rc;
    if ((rc = set_str(body, "vm", ao->vm)) != EXIT_OK ||
        (ao->request_id &&
         (rc = set_str(body, "request_id", ao->request_id)) != EXIT_OK))
        return rc;
    if (ao->ttl && json_object_set_new(body, "ttl", json_integer(ttl)) < 0)
        return out_of_memory();
    CLEANUP_RESPONSE struct vpcictl_response r = {0};
    if ((rc = post_layout(c, "/v1/migrations/incoming", file, body, &r)) !=
        EXIT_OK)
        return rc;
    return attachment_result(c, o, &r);
}

/* migrate commit|abort|out|cancel|complete ID */
static int cmd_migrate_id(struct vpcictl_client *c,
                          const struct vpcictl_remote_opts *o, const char *sub,
                          const char *id)
{
    CLEANUP_FREE char *path = NULL;
    const char *done = NULL;
    if (!strcmp(sub, "commit"))
        path = id_path("migrations", "incoming", id, "commit");
    else if (!strcmp(sub, "abort")) {
        path = id_path("migrations", "incoming", id, "abort");
        done = "aborted";
    } else if (!strcmp(sub, "out"))
        path = id_path("attachments", id, "migrate-out", NULL);
    else if (!strcmp(sub, "cancel"))
        path = id_path("attachments", id, "migrate-out", "cancel");
    else {
        path = id_path("attachments", id, "migrate-out", "complete");
        done = "migrated out";
    }
    if (!path)
        return out_of_memory();
    CLEANUP_RESPONSE struct vpcictl_response r = {0};
    int rc = post(c, path, NULL, &r);
    if (rc != EXIT_OK)
        return rc;
    if (done)
        return no_content(o, id, done);
    return attachment_result(c, o, &r);
}

/* Arguments and options of the attachment verbs; a usage error (2) or
 * -1 when they fit. */
static int check_attach_args(const char *verb, char **pos, int npos,
                             const struct attach_opts *ao)
{
    const char *sub = npos ? pos[0] : "";
    bool is_attach = !strcmp(verb, "attach");
    bool incoming = !strcmp(verb, "migrate") && !strcmp(sub, "incoming");
    if ((ao->device || ao->numa) && !is_attach)
        return usage_error("--device and --numa go with 'attach'");
    if (ao->request_id && !is_attach && !incoming)
        return usage_error("--request-id goes with 'attach' and 'migrate "
                           "incoming'");
    if (ao->ttl && !incoming)
        return usage_error("--ttl goes with 'migrate incoming'");
    if (ao->vm && !incoming && strcmp(verb, "attachments"))
        return usage_error("--vm goes with 'attachments' and 'migrate "
                           "incoming'");
    if (!strcmp(verb, "compat") && npos < 1)
        return usage_error("compat NAME[@N] [BDF...]");
    if (is_attach && npos != 2)
        return usage_error("attach VM NAME[@N] [--device BDF] [--numa N] "
                           "[--request-id ID]");
    if (!strcmp(verb, "detach") && npos != 1)
        return usage_error("detach ID");
    if (!strcmp(verb, "attachments") && (npos > 1 || (npos && ao->vm)))
        return usage_error("attachments [ID | --vm VM]");
    if (strcmp(verb, "migrate"))
        return -1;
    if (!strcmp(sub, "precheck") && npos != 2)
        return usage_error("migrate precheck FILE");
    if (incoming && (npos != 2 || !ao->vm))
        return usage_error("migrate incoming FILE --vm VM [--ttl S] "
                           "[--request-id ID]");
    if (!strcmp(sub, "commit") || !strcmp(sub, "abort") ||
        !strcmp(sub, "out") || !strcmp(sub, "cancel") ||
        !strcmp(sub, "complete")) {
        if (npos != 2)
            return usage_error("migrate %s ID", sub);
    } else if (!incoming && strcmp(sub, "precheck")) {
        return npos ? usage_error("unknown verb 'migrate %s'", sub)
                    : usage_error("migrate precheck|incoming|commit|abort|"
                                  "out|cancel|complete ...");
    }
    return -1;
}

static int run_attach(struct vpcictl_client *c,
                      const struct vpcictl_remote_opts *o,
                      const struct attach_opts *ao, const char *verb,
                      char **pos, int npos)
{
    if (!strcmp(verb, "compat"))
        return cmd_compat(c, o, pos, npos);
    if (!strcmp(verb, "attach"))
        return cmd_attach(c, o, ao, pos);
    if (!strcmp(verb, "detach"))
        return cmd_detach(c, o, pos[0]);
    if (!strcmp(verb, "attachments"))
        return cmd_attachments(c, o, ao, pos, npos);
    if (!strcmp(pos[0], "precheck"))
        return cmd_precheck(c, o, pos[1]);
    if (!strcmp(pos[0], "incoming"))
        return cmd_incoming(c, o, ao, pos[1]);
    return cmd_migrate_id(c, o, pos[0], pos[1]);
}

/* ------------------------------------------------------------ dispatch */

static int run(struct vpcictl_remote_opts *o, const char *verb, char **pos,
               int npos, const char *description, const struct attach_opts *ao)
{
    bool attach_verb = strcmp(verb, "devices") && strcmp(verb, "types");
    const char *sub = !strcmp(verb, "types") && npos ? pos[0] : NULL;
    bool publish = sub && !strcmp(sub, "publish");
    if (description && !publish)
        return usage_error("--description goes with 'types publish'");
    if (attach_verb) {
        int u = check_attach_args(verb, pos, npos, ao);
        if (u >= 0)
            return u;
    } else if (ao->device || ao->numa || ao->request_id || ao->vm || ao->ttl) {
        return usage_error("--device, --numa, --request-id, --vm and --ttl go "
                           "with the attachment verbs");
    }
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

    if (attach_verb)
        return run_attach(c, o, ao, verb, pos, npos);
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
    /* Offline fleet compat needs no daemon: decided before anything
     * connects. */
    if (!strcmp(argv[0], "compat"))
        for (int k = 1; k < argc && strcmp(argv[k], "--"); k++)
            if (!strcmp(argv[k], "--snapshot") ||
                !strncmp(argv[k], "--snapshot=", 11))
                return vpcictl_compat_offline(o, argc, argv);
    CLEANUP_FREE char **pos = calloc((size_t)argc, sizeof(*pos));
    if (!pos)
        return out_of_memory();
    int npos = 0, i = 1;
    const char *description = NULL;
    struct attach_opts ao = {0};
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
            r = long_opt("--device", argc, argv, &i, &ao.device);
        if (r == 0)
            r = long_opt("--numa", argc, argv, &i, &ao.numa);
        if (r == 0)
            r = long_opt("--request-id", argc, argv, &i, &ao.request_id);
        if (r == 0)
            r = long_opt("--vm", argc, argv, &i, &ao.vm);
        if (r == 0)
            r = long_opt("--ttl", argc, argv, &i, &ao.ttl);
        if (r == 0)
            r = vpcictl_remote_option(o, argc, argv, &i);
        if (r < 0)
            return EXIT_USAGE;
        if (r == 0)
            return usage_error("unknown option '%s'", a);
    }
    if (o->output && vpcictl_output_option(o->output, "table", NULL) < 0)
        return usage_error("-o is table or json");
    int rc = run(o, argv[0], pos, npos, description, &ao);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "vpcictl: standard output: %s\n", strerror(errno));
        return EXIT_INVALID;
    }
    return rc;
}
