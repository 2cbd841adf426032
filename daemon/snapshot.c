/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Host snapshots: the inventory as one document, and back.
 *
 * The loader rebuilds exactly what a scan would have stored: it reads the
 * members vpcid_inventory_func_json writes, in the forms it writes them
 * (IDs as 4 lowercase hex digits, canonical BDFs, null for unknown), and
 * decodes the capabilities from the config bytes as the scan does.  The
 * "capabilities" member is derived data and is not read: the config bytes
 * are the truth.  Anything else is refused, so that a snapshot that loads
 * gives the same verdicts offline as the host gives live.
 */
#include "snapshot.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Limits that match what a scan can produce (inventory.c). */
#define SNAP_WARNINGS_MAX 64
#define SNAP_WARNING_LEN 511
#define SNAP_NAME_LEN 255
#define SNAP_PATH_LEN 4095
#define SNAP_PEERS_MAX 4096
#define SNAP_VFS_MAX 65536
#define SNAP_HOSTNAME_LEN 255

/* ------------------------------------------------------------ writing */

char *vpcid_snapshot_json(const struct inv_host *h, const char *hostname,
                          time_t when)
{
    char tbuf[32];
    struct tm tm;
    if (!gmtime_r(&when, &tm) ||
        !strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%SZ", &tm))
        return NULL;
    json_t *root = json_object();
    json_t *warn = json_array();
    json_t *devs = json_array();
    if (!root || !warn || !devs) {
        json_decref(root);
        json_decref(warn);
        json_decref(devs);
        return NULL;
    }
    json_object_set_new(root, "format", json_string(VPCID_SNAPSHOT_FORMAT));
    json_object_set_new(root, "version", json_integer(VPCID_SNAPSHOT_VERSION));
    /* json_string refuses text that is not UTF-8: no document then. */
    if (json_object_set_new(root, "hostname",
                            json_string(hostname ? hostname : "")) < 0 ||
        json_object_set_new(root, "time", json_string(tbuf)) < 0 ||
        json_object_set_new(
            root, "sysfs",
            json_string(h->sysfs_root ? h->sysfs_root : "/sys")) < 0) {
        json_decref(root);
        json_decref(warn);
        json_decref(devs);
        return NULL;
    }
    for (size_t i = 0; i < h->nwarnings; i++)
        json_array_append_new(warn, json_string(h->warnings[i]));
    json_object_set_new(root, "warnings", warn);
    json_object_set_new(root, "devices", devs);
    if (vpcid_inventory_devices_append(devs, h) < 0) {
        json_decref(root);
        return NULL;
    }
    char *text =
        vpcid_json_text_nl(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER, NULL);
    json_decref(root);
    return text;
}

/* ------------------------------------------------------------ reading */

struct ctx {
    char *err;
    size_t errlen;
    size_t index;    /* device index */
    const char *bdf; /* its BDF once known, else NULL */
    bool in_device;
};

static int fail(struct ctx *c, const char *member, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, const char *member, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!c->err || !c->errlen)
        return -EINVAL;
    if (c->in_device && c->bdf)
        snprintf(c->err, c->errlen, "device %zu (%s): %s: %s", c->index, c->bdf,
                 member, msg);
    else if (c->in_device)
        snprintf(c->err, c->errlen, "device %zu: %s: %s", c->index, member,
                 msg);
    else
        snprintf(c->err, c->errlen, "%s: %s", member, msg);
    return -EINVAL;
}

static int nomem(struct ctx *c)
{
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "out of memory");
    return -ENOMEM;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number with a fraction or exponent";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "something else";
}

/* Member name of o; NULL (and a message) when missing.  The member path
 * in messages is prefix + name ("link.max_width"). */
static json_t *member(struct ctx *c, const json_t *o, const char *name,
                      const char *path)
{
    json_t *v = json_object_get(o, name);
    if (!v)
        fail(c, path, "missing");
    return v;
}

/* A string of at most max bytes without NUL; *ret borrowed. */
static int get_str(struct ctx *c, const json_t *o, const char *name,
                   const char *path, bool nullable, size_t max,
                   const char **ret)
{
    json_t *v = member(c, o, name, path);
    if (!v)
        return -EINVAL;
    if (nullable && json_is_null(v)) {
        *ret = NULL;
        return 0;
    }
    if (!json_is_string(v))
        return fail(c, path, "%s, not a string%s", type_name(v),
                    nullable ? " or null" : "");
    size_t len = json_string_length(v);
    if (len > max)
        return fail(c, path, "longer than %zu bytes", max);
    if (memchr(json_string_value(v), '\0', len))
        return fail(c, path, "holds a NUL character");
    *ret = json_string_value(v);
    return 0;
}

/* An integer in [min, max]; *ret_null (when given) says it was null. */
static int get_int(struct ctx *c, const json_t *o, const char *name,
                   const char *path, bool *ret_null, long long min,
                   long long max, long long *ret)
{
    json_t *v = member(c, o, name, path);
    if (!v)
        return -EINVAL;
    if (ret_null) {
        *ret_null = json_is_null(v);
        if (*ret_null)
            return 0;
    }
    if (!json_is_integer(v))
        return fail(c, path, "%s, not an integer%s", type_name(v),
                    ret_null ? " or null" : "");
    json_int_t x = json_integer_value(v);
    if (x < min || x > max)
        return fail(c, path, "%lld is out of range (%lld..%lld)", (long long)x,
                    min, max);
    *ret = x;
    return 0;
}

static int get_bool(struct ctx *c, const json_t *o, const char *name,
                    const char *path, bool *ret)
{
    json_t *v = member(c, o, name, path);
    if (!v)
        return -EINVAL;
    if (!json_is_boolean(v))
        return fail(c, path, "%s, not a boolean", type_name(v));
    *ret = json_is_true(v);
    return 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* Exactly digits lowercase hex digits, as the device object writes IDs. */
static int get_hex(struct ctx *c, const json_t *o, const char *name,
                   const char *path, int digits, uint32_t *ret)
{
    const char *s;
    int r = get_str(c, o, name, path, false, 16, &s);
    if (r < 0)
        return r;
    uint32_t v = 0;
    bool ok = (int)strlen(s) == digits;
    for (int i = 0; ok && i < digits; i++) {
        int d = hexval(s[i]);
        ok = d >= 0;
        v = v << 4 | (uint32_t)(d < 0 ? 0 : d);
    }
    if (!ok)
        return fail(c, path, "\"%s\" is not %d lowercase hex digits", s,
                    digits);
    *ret = v;
    return 0;
}

/* A canonical BDF ("0000:3b:00.1"), as the scan writes it. */
static bool bdf_ok(const char *s, unsigned *d, unsigned *b, unsigned *v,
                   unsigned *f)
{
    char canon[INV_BDF_LEN];
    if (strlen(s) >= INV_BDF_LEN || vpcid_bdf_parse(s, d, b, v, f) < 0)
        return false;
    snprintf(canon, sizeof(canon), "%04x:%02x:%02x.%u", *d, *b, *v, *f);
    return !strcmp(canon, s);
}

static int get_bdf(struct ctx *c, const json_t *o, const char *name,
                   const char *path, bool nullable, char out[INV_BDF_LEN])
{
    const char *s;
    int r = get_str(c, o, name, path, nullable, 64, &s);
    if (r < 0)
        return r;
    unsigned d, b, v, f;
    if (!s)
        out[0] = '\0';
    else if (!bdf_ok(s, &d, &b, &v, &f))
        return fail(c, path,
                    "\"%s\" is not a canonical PCI address (DDDD:BB:DD.F)", s);
    else
        memcpy(out, s, strlen(s) + 1);
    return 0;
}

/* A nullable string member copied into *ret (NULL for null). */
static int get_dup(struct ctx *c, const json_t *o, const char *name, size_t max,
                   char **ret)
{
    const char *s;
    int r = get_str(c, o, name, name, true, max, &s);
    if (r < 0)
        return r;
    if (s && !(*ret = strdup(s)))
        return nomem(c);
    return 0;
}

static int get_bdf_list(struct ctx *c, const json_t *o, const char *name,
                        size_t max, char (**ret)[INV_BDF_LEN], size_t *ret_n)
{
    json_t *a = member(c, o, name, name);
    if (!a)
        return -EINVAL;
    if (!json_is_array(a))
        return fail(c, name, "%s, not an array", type_name(a));
    size_t n = json_array_size(a);
    if (n > max)
        return fail(c, name, "more than %zu entries", max);
    if (!n)
        return 0;
    char(*list)[INV_BDF_LEN] = calloc(n, sizeof(*list));
    if (!list)
        return nomem(c);
    *ret = list;
    for (size_t i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof(path), "%s[%zu]", name, i);
        json_t *e = json_array_get(a, i);
        const char *s = json_string_value(e);
        unsigned d, b, v, f;
        if (!s)
            return fail(c, path, "%s, not a string", type_name(e));
        if (!bdf_ok(s, &d, &b, &v, &f))
            return fail(c, path,
                        "\"%s\" is not a canonical PCI address (DDDD:BB:DD.F)",
                        s);
        memcpy(list[i], s, strlen(s) + 1);
        (*ret_n)++;
    }
    return 0;
}

static int get_warnings(struct ctx *c, const json_t *o, char ***ret,
                        size_t *ret_n)
{
    json_t *a = member(c, o, "warnings", "warnings");
    if (!a)
        return -EINVAL;
    if (!json_is_array(a))
        return fail(c, "warnings", "%s, not an array", type_name(a));
    size_t n = json_array_size(a);
    if (n > SNAP_WARNINGS_MAX)
        return fail(c, "warnings", "more than %d entries", SNAP_WARNINGS_MAX);
    if (!n)
        return 0;
    char **list = calloc(n, sizeof(*list));
    if (!list)
        return nomem(c);
    *ret = list;
    for (size_t i = 0; i < n; i++) {
        char path[32];
        snprintf(path, sizeof(path), "warnings[%zu]", i);
        json_t *e = json_array_get(a, i);
        if (!json_is_string(e))
            return fail(c, path, "%s, not a string", type_name(e));
        if (json_string_length(e) > SNAP_WARNING_LEN)
            return fail(c, path, "longer than %d bytes", SNAP_WARNING_LEN);
        if (memchr(json_string_value(e), '\0', json_string_length(e)))
            return fail(c, path, "holds a NUL character");
        if (!(list[i] = strdup(json_string_value(e))))
            return nomem(c);
        (*ret_n)++;
    }
    return 0;
}

/* A nullable object member; *ret NULL for null. */
static int get_obj(struct ctx *c, const json_t *o, const char *name,
                   json_t **ret)
{
    json_t *v = member(c, o, name, name);
    if (!v)
        return -EINVAL;
    if (json_is_null(v)) {
        *ret = NULL;
        return 0;
    }
    if (!json_is_object(v))
        return fail(c, name, "%s, not an object or null", type_name(v));
    *ret = v;
    return 0;
}

static int get_pasid(struct ctx *c, const json_t *o, const char *name,
                     struct inv_pasid *p)
{
    json_t *v;
    char path[48];
    long long w;
    int r = get_obj(c, o, name, &v);
    if (r < 0 || !v)
        return r;
    snprintf(path, sizeof(path), "%s.max_width", name);
    if ((r = get_int(c, v, "max_width", path, NULL, 0, 31, &w)) < 0)
        return r;
    snprintf(path, sizeof(path), "%s.exec", name);
    if ((r = get_bool(c, v, "exec", path, &p->exec)) < 0)
        return r;
    snprintf(path, sizeof(path), "%s.privileged", name);
    if ((r = get_bool(c, v, "privileged", path, &p->privileged)) < 0)
        return r;
    p->max_width = (unsigned)w;
    p->present = true;
    return 0;
}

static int get_pri(struct ctx *c, const json_t *o, const char *name,
                   struct inv_pri *p)
{
    json_t *v;
    char path[48];
    long long n;
    int r = get_obj(c, o, name, &v);
    if (r < 0 || !v)
        return r;
    snprintf(path, sizeof(path), "%s.max_requests", name);
    if ((r = get_int(c, v, "max_requests", path, NULL, 0, UINT32_MAX, &n)) < 0)
        return r;
    p->max_requests = (uint32_t)n;
    p->present = true;
    return 0;
}

static int get_link(struct ctx *c, const json_t *o, struct inv_link *k)
{
    json_t *v;
    long long n;
    bool isnull;
    const char *s;
    k->cur_width = k->max_width = -1;
    int r = get_obj(c, o, "link", &v);
    if (r < 0 || !v)
        return r;
    k->present = true;
    if ((r = get_str(c, v, "current_speed", "link.current_speed", true,
                     sizeof(k->cur_speed) - 1, &s)) < 0)
        return r;
    if (s && !*s)
        return fail(c, "link.current_speed", "empty (null for unknown)");
    snprintf(k->cur_speed, sizeof(k->cur_speed), "%s", s ? s : "");
    if ((r = get_str(c, v, "max_speed", "link.max_speed", true,
                     sizeof(k->max_speed) - 1, &s)) < 0)
        return r;
    if (s && !*s)
        return fail(c, "link.max_speed", "empty (null for unknown)");
    snprintf(k->max_speed, sizeof(k->max_speed), "%s", s ? s : "");
    if ((r = get_int(c, v, "current_width", "link.current_width", &isnull, 0,
                     255, &n)) < 0)
        return r;
    k->cur_width = isnull ? -1 : (int)n;
    if ((r = get_int(c, v, "max_width", "link.max_width", &isnull, 0, 255,
                     &n)) < 0)
        return r;
    k->max_width = isnull ? -1 : (int)n;
    return 0;
}

static int get_sriov(struct ctx *c, const json_t *o, struct inv_func *f)
{
    json_t *v;
    long long n;
    uint32_t id;
    int r = get_obj(c, o, "sriov", &v);
    if (r < 0 || !v)
        return r;
    static const char *const names[] = {"total_vfs", "num_vfs", "offset",
                                        "stride"};
    unsigned *dst[] = {&f->sriov.total_vfs, &f->sriov.num_vfs, &f->sriov.offset,
                       &f->sriov.stride};
    for (size_t i = 0; i < 4; i++) {
        char path[32];
        snprintf(path, sizeof(path), "sriov.%s", names[i]);
        if ((r = get_int(c, v, names[i], path, NULL, 0, 0xffff, &n)) < 0)
            return r;
        *dst[i] = (unsigned)n;
    }
    if ((r = get_hex(c, v, "vf_device_id", "sriov.vf_device_id", 4, &id)) < 0)
        return r;
    f->sriov.vf_device_id = (uint16_t)id;
    f->has_sriov = true;
    return 0;
}

static int get_bars(struct ctx *c, const json_t *o, struct inv_func *f)
{
    json_t *a = member(c, o, "bars", "bars");
    if (!a)
        return -EINVAL;
    if (!json_is_array(a))
        return fail(c, "bars", "%s, not an array", type_name(a));
    if (json_array_size(a) > VPCI_MAX_BARS)
        return fail(c, "bars", "more than %d entries", VPCI_MAX_BARS);
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *b = json_array_get(a, i);
        char path[48];
        long long n;
        const char *t;
        struct inv_bar *bar = &f->bars[i];
        int r;
        snprintf(path, sizeof(path), "bars[%zu]", i);
        if (!json_is_object(b))
            return fail(c, path, "%s, not an object", type_name(b));
        snprintf(path, sizeof(path), "bars[%zu].index", i);
        if ((r = get_int(c, b, "index", path, NULL, 0, VPCI_MAX_BARS - 1, &n)) <
            0)
            return r;
        if (i > 0 && (unsigned)n <= f->bars[i - 1].index)
            return fail(c, path, "%lld does not follow %u", n,
                        f->bars[i - 1].index);
        bar->index = (unsigned)n;
        snprintf(path, sizeof(path), "bars[%zu].type", i);
        if ((r = get_str(c, b, "type", path, false, 16, &t)) < 0)
            return r;
        if (!strcmp(t, "mem32"))
            bar->type = VPCI_BAR_MEM32;
        else if (!strcmp(t, "mem64"))
            bar->type = VPCI_BAR_MEM64;
        else if (!strcmp(t, "io"))
            bar->type = VPCI_BAR_IO;
        else
            return fail(c, path, "\"%s\" is not mem32, mem64 or io", t);
        snprintf(path, sizeof(path), "bars[%zu].prefetch", i);
        if ((r = get_bool(c, b, "prefetch", path, &bar->prefetch)) < 0)
            return r;
        snprintf(path, sizeof(path), "bars[%zu].size", i);
        if ((r = get_int(c, b, "size", path, NULL, 1, INT64_MAX, &n)) < 0)
            return r;
        bar->size = (uint64_t)n;
        f->nbars++;
    }
    return 0;
}

static int get_config(struct ctx *c, const json_t *o, struct inv_func *f)
{
    long long size;
    int r = get_int(c, o, "config_size", "config_size", NULL, 0,
                    VPCI_CFG_SPACE_EXT, &size);
    if (r < 0)
        return r;
    if ((r = get_bool(c, o, "config_partial", "config_partial",
                      &f->config_partial)) < 0)
        return r;
    json_t *v = member(c, o, "config", "config");
    if (!v)
        return -EINVAL;
    if (!json_is_string(v))
        return fail(c, "config", "%s, not a string", type_name(v));
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len % 2)
        return fail(c, "config", "odd number of hex digits (%zu)", len);
    if (len > 2 * (size_t)VPCI_CFG_SPACE_EXT)
        return fail(c, "config", "%zu bytes, more than %d", len / 2,
                    VPCI_CFG_SPACE_EXT);
    for (size_t i = 0; i < len; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return fail(c, "config",
                        "not lowercase hex (offset %zu of the text)",
                        hi < 0 ? i : i + 1);
        f->cfg[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    if ((size_t)size != len / 2)
        return fail(c, "config_size", "%lld, but config holds %zu bytes", size,
                    len / 2);
    f->config_size = (unsigned)size;
    return 0;
}

/* Capabilities as the scan decodes them (inventory.c decode_caps); the
 * decoder's warnings are already among the function's warnings. */
static int decode_caps(struct ctx *c, struct inv_func *f,
                       struct vpci_decoded *dec)
{
    if (f->config_size < 64)
        return 0;
    if (vpci_decode(f->cfg, f->config_size, dec) < 0 || !dec->ncaps)
        return 0;
    f->caps = malloc(dec->ncaps * sizeof(*f->caps));
    if (!f->caps)
        return nomem(c);
    memcpy(f->caps, dec->caps, dec->ncaps * sizeof(*f->caps));
    f->ncaps = dec->ncaps;
    return 0;
}

static int load_func(struct ctx *c, const json_t *o, struct inv_func *f,
                     struct vpci_decoded *dec)
{
    int r;
    uint32_t v;
    long long n;
    bool isnull;
    c->bdf = NULL;
    if (!json_is_object(o))
        return fail(c, "device", "%s, not an object", type_name(o));
    if ((r = get_bdf(c, o, "bdf", "bdf", false, f->bdf)) < 0)
        return r;
    vpcid_bdf_parse(f->bdf, &f->domain, &f->bus, &f->dev, &f->fn);
    c->bdf = f->bdf;

    static const char *const ids[] = {"vendor_id", "device_id",
                                      "subsystem_vendor_id", "subsystem_id"};
    uint16_t *idp[] = {&f->vendor_id, &f->device_id, &f->subsystem_vendor_id,
                       &f->subsystem_id};
    for (size_t i = 0; i < 4; i++) {
        if ((r = get_hex(c, o, ids[i], ids[i], 4, &v)) < 0)
            return r;
        *idp[i] = (uint16_t)v;
    }
    if ((r = get_hex(c, o, "class", "class", 6, &f->class_code)) < 0)
        return r;
    if ((r = get_int(c, o, "revision", "revision", &isnull, 0, 255, &n)) < 0)
        return r;
    f->revision = isnull ? -1 : (int)n;
    if ((r = get_dup(c, o, "vendor_name", SNAP_NAME_LEN, &f->vendor_name)) <
            0 ||
        (r = get_dup(c, o, "device_name", SNAP_NAME_LEN, &f->device_name)) <
            0 ||
        (r = get_dup(c, o, "class_name", SNAP_NAME_LEN, &f->class_name)) < 0 ||
        (r = get_dup(c, o, "subsystem_name", SNAP_NAME_LEN,
                     &f->subsystem_name)) < 0 ||
        (r = get_dup(c, o, "driver", SNAP_NAME_LEN, &f->driver)) < 0)
        return r;
    if (f->driver && !*f->driver)
        return fail(c, "driver", "empty (null for none)");
    if ((r = get_int(c, o, "iommu_group", "iommu_group", &isnull, 0, INT_MAX,
                     &n)) < 0)
        return r;
    f->iommu_group = isnull ? -1 : (int)n;
    if ((r = get_bdf_list(c, o, "iommu_group_peers", SNAP_PEERS_MAX,
                          &f->group_peers, &f->ngroup_peers)) < 0)
        return r;
    if ((r = get_int(c, o, "numa_node", "numa_node", NULL, -1, 4095, &n)) < 0)
        return r;
    f->numa_node = (int)n;
    if ((r = get_link(c, o, &f->link)) < 0)
        return r;
    if ((r = get_bdf(c, o, "physfn", "physfn", true, f->physfn)) < 0)
        return r;
    if ((r = get_bdf_list(c, o, "vfs", SNAP_VFS_MAX, &f->vfs, &f->nvfs)) < 0)
        return r;
    if ((r = get_sriov(c, o, f)) < 0 ||
        (r = get_pasid(c, o, "pasid", &f->pasid)) < 0 ||
        (r = get_pri(c, o, "pri", &f->pri)) < 0)
        return r;
    if (f->physfn[0] && ((r = get_pasid(c, o, "pf_pasid", &f->pf_pasid)) < 0 ||
                         (r = get_pri(c, o, "pf_pri", &f->pf_pri)) < 0))
        return r;
    if ((r = get_bars(c, o, f)) < 0)
        return r;
    if ((r = get_int(c, o, "rom_size", "rom_size", NULL, 0, INT64_MAX, &n)) < 0)
        return r;
    f->rom_size = (uint64_t)n;
    if ((r = get_config(c, o, f)) < 0)
        return r;
    if ((r = get_dup(c, o, "vfio_group_dev", SNAP_PATH_LEN,
                     &f->vfio_group_dev)) < 0 ||
        (r = get_dup(c, o, "vfio_cdev", SNAP_PATH_LEN, &f->vfio_cdev)) < 0)
        return r;
    json_t *m = member(c, o, "migration", "migration");
    if (!m)
        return -EINVAL;
    if (!json_is_null(m) && !json_is_boolean(m))
        return fail(c, "migration", "%s, not a boolean or null", type_name(m));
    f->migration = json_is_null(m) ? -1 : json_is_true(m);
    if ((r = get_warnings(c, o, &f->warnings, &f->nwarnings)) < 0)
        return r;
    return decode_caps(c, f, dec);
}

struct order {
    const struct inv_func *f;
    size_t index;
};

static int order_cmp(const void *a, const void *b)
{
    const struct inv_func *x = ((const struct order *)a)->f;
    const struct inv_func *y = ((const struct order *)b)->f;
    int r = vpcid_func_cmp(x, y);
    if (r)
        return r;
    /* Equal BDFs stay in document order, so a duplicate is reported at
     * its second occurrence. */
    size_t i = ((const struct order *)a)->index;
    size_t j = ((const struct order *)b)->index;
    return i < j ? -1 : i > j;
}

/* Sort h's functions by BDF (the order vpcid_inventory_find needs) and
 * refuse duplicates. */
static int sort_funcs(struct ctx *c, struct inv_host *h)
{
    if (h->nfuncs < 2)
        return 0;
    struct order *ord = calloc(h->nfuncs, sizeof(*ord));
    struct inv_func *sorted = calloc(h->nfuncs, sizeof(*sorted));
    if (!ord || !sorted) {
        free(ord);
        free(sorted);
        return nomem(c);
    }
    for (size_t i = 0; i < h->nfuncs; i++)
        ord[i] = (struct order){&h->funcs[i], i};
    qsort(ord, h->nfuncs, sizeof(*ord), order_cmp);
    for (size_t i = 1; i < h->nfuncs; i++)
        if (!strcmp(ord[i].f->bdf, ord[i - 1].f->bdf)) {
            c->in_device = true;
            c->index = ord[i].index;
            c->bdf = ord[i].f->bdf;
            int r = fail(c, "bdf", "duplicate of device %zu", ord[i - 1].index);
            free(ord);
            free(sorted);
            return r;
        }
    for (size_t i = 0; i < h->nfuncs; i++)
        sorted[i] = *ord[i].f;
    free(ord);
    free(h->funcs);
    h->funcs = sorted;
    return 0;
}

/* RFC 3339 UTC to the second, as vpcid_snapshot_json writes it. */
static bool time_ok(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (strlen(s) != sizeof(shape) - 1)
        return false;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return false;
    int mon = (s[5] - '0') * 10 + (s[6] - '0');
    int day = (s[8] - '0') * 10 + (s[9] - '0');
    int hour = (s[11] - '0') * 10 + (s[12] - '0');
    int min = (s[14] - '0') * 10 + (s[15] - '0');
    int sec = (s[17] - '0') * 10 + (s[18] - '0');
    return mon >= 1 && mon <= 12 && day >= 1 && day <= 31 && hour <= 23 &&
           min <= 59 && sec <= 60;
}

void vpcid_snapshot_free(struct vpcid_snapshot *s)
{
    if (!s)
        return;
    free(s->hostname);
    free(s->time);
    vpcid_inventory_free(s->host);
    free(s);
}

int vpcid_snapshot_from_json(const json_t *root, struct vpcid_snapshot **ret,
                             char *errbuf, size_t errlen)
{
    struct ctx c = {.err = errbuf, .errlen = errlen};
    if (!json_is_object(root)) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "not a JSON object");
        return -EINVAL;
    }
    const char *format, *hostname, *time, *sysfs;
    long long version;
    int r = get_str(&c, root, "format", "format", false, 64, &format);
    if (r < 0)
        return r;
    if (strcmp(format, VPCID_SNAPSHOT_FORMAT))
        return fail(&c, "format", "\"%s\", not \"%s\"", format,
                    VPCID_SNAPSHOT_FORMAT);
    if ((r = get_int(&c, root, "version", "version", NULL, LLONG_MIN, LLONG_MAX,
                     &version)) < 0)
        return r;
    if (version != VPCID_SNAPSHOT_VERSION)
        return fail(&c, "version", "%lld is not supported (only %d)", version,
                    VPCID_SNAPSHOT_VERSION);
    if ((r = get_str(&c, root, "hostname", "hostname", false, SNAP_HOSTNAME_LEN,
                     &hostname)) < 0 ||
        (r = get_str(&c, root, "time", "time", false, 64, &time)) < 0 ||
        (r = get_str(&c, root, "sysfs", "sysfs", false, SNAP_PATH_LEN,
                     &sysfs)) < 0)
        return r;
    if (!*hostname)
        return fail(&c, "hostname", "empty");
    for (const char *p = hostname; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return fail(&c, "hostname", "holds control characters");
    if (!time_ok(time))
        return fail(&c, "time", "\"%s\" is not YYYY-MM-DDTHH:MM:SSZ", time);
    json_t *devs = member(&c, root, "devices", "devices");
    if (!devs)
        return -EINVAL;
    if (!json_is_array(devs))
        return fail(&c, "devices", "%s, not an array", type_name(devs));
    size_t n = json_array_size(devs);
    if (n > VPCID_SNAPSHOT_MAX_DEVICES)
        return fail(&c, "devices", "more than %d functions",
                    VPCID_SNAPSHOT_MAX_DEVICES);

    struct vpcid_snapshot *s = calloc(1, sizeof(*s));
    struct vpci_decoded *dec = malloc(sizeof(*dec));
    if (!s || !dec || !(s->host = calloc(1, sizeof(*s->host))) ||
        !(s->hostname = strdup(hostname)) || !(s->time = strdup(time)) ||
        !(s->host->sysfs_root = strdup(sysfs)) ||
        !(s->host->funcs = calloc(n ? n : 1, sizeof(*s->host->funcs)))) {
        r = nomem(&c);
        goto fail;
    }
    struct inv_host *h = s->host;
    if ((r = get_warnings(&c, root, &h->warnings, &h->nwarnings)) < 0)
        goto fail;
    c.in_device = true;
    for (size_t i = 0; i < n; i++) {
        c.index = i;
        /* Counted first so that a half-filled function is freed too. */
        h->nfuncs++;
        if ((r = load_func(&c, json_array_get(devs, i), &h->funcs[i], dec)) < 0)
            goto fail;
    }
    c.in_device = false;
    if ((r = sort_funcs(&c, h)) < 0)
        goto fail;
    free(dec);
    *ret = s;
    return 0;
fail:
    free(dec);
    vpcid_snapshot_free(s);
    return r;
}

int vpcid_snapshot_load(const char *text, size_t len,
                        struct vpcid_snapshot **ret, char *errbuf,
                        size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "line %d column %d: %s", jerr.line,
                     jerr.column, jerr.text);
        return -EINVAL;
    }
    int r = vpcid_snapshot_from_json(root, ret, errbuf, errlen);
    json_decref(root);
    return r;
}
