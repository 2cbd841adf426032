/* SPDX-License-Identifier: BSD-2-Clause */
/* /v1/devices: the functions of the last scan, one function, its derived
 * layout, and rescans. */
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "service.h"

/* The cached body of GET /v1/devices is served straight from the
 * snapshot, which the response keeps alive until it is sent. */
static void release_snapshot(void *cls)
{
    snapshot_unref(cls);
}

struct filter {
    int vendor, device; /* -1: any */
    char cls[7];        /* hex prefix of the 6-digit class, "" any */
    const char *driver; /* "none": unbound */
    char pf[INV_BDF_LEN];
    int vfio; /* -1 any, 0, 1 */
};

/* The API takes a PCI address only in the form sysfs and lspci print it:
 * DDDD:BB:DD.F (a domain above 0xffff with its digits and no leading
 * zero) or BB:DD.F for domain 0, hex digits either case. */
static bool bdf_well_formed(const char *s)
{
    size_t n = strlen(s), dom = n > 7 ? n - 8 : 0;
    if (n != 7 && (n < 12 || n > 16))
        return false;
    if (dom && (s[dom] != ':' || (dom > 4 && s[0] == '0')))
        return false;
    const char *t = s + (dom ? dom + 1 : 0);
    for (size_t i = 0; i < dom; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return isxdigit((unsigned char)t[0]) && isxdigit((unsigned char)t[1]) &&
           t[2] == ':' && isxdigit((unsigned char)t[3]) &&
           isxdigit((unsigned char)t[4]) && t[5] == '.' && t[6] >= '0' &&
           t[6] <= '7';
}

bool api_bdf_canonical(const char *s, char *out, size_t len)
{
    unsigned d, b, sl, fn;
    if (!bdf_well_formed(s) || vpcid_bdf_parse(s, &d, &b, &sl, &fn) < 0)
        return false;
    int w = snprintf(out, len, "%04x:%02x:%02x.%x", d, b, sl, fn);
    return w > 0 && (size_t)w < len;
}

static int parse_id(const char *s)
{
    if (!strncasecmp(s, "0x", 2))
        s += 2;
    size_t n = strlen(s);
    if (n != 4 || strspn(s, "0123456789abcdefABCDEF") != n)
        return -1;
    return (int)strtol(s, NULL, 16);
}

/* The query of GET /v1/devices; replies bad-query and returns -1. */
static int parse_filter(const struct api_request *rq, struct api_reply *out,
                        struct filter *f)
{
    static const char *const allowed[] = {"vendor", "device", "class", "driver",
                                          "pf",     "vfio",   NULL};
    if (api_query_check(rq, out, allowed) < 0)
        return -1;
    *f = (struct filter){.vendor = -1, .device = -1, .vfio = -1};
    const char *v;
    if ((v = api_query(rq, "vendor")) && (f->vendor = parse_id(v)) < 0)
        goto bad_vendor;
    if ((v = api_query(rq, "device")) && (f->device = parse_id(v)) < 0)
        goto bad_device;
    if ((v = api_query(rq, "class"))) {
        const char *h = strncasecmp(v, "0x", 2) ? v : v + 2;
        size_t n = strlen(h);
        if ((n != 2 && n != 4 && n != 6) ||
            strspn(h, "0123456789abcdefABCDEF") != n) {
            api_reply_problem(out, rq, PROB_BAD_QUERY, NULL,
                              "class wants 2, 4 or 6 hex digits");
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            f->cls[i] = (char)tolower((unsigned char)h[i]);
    }
    if ((v = api_query(rq, "driver"))) {
        size_t n = strlen(v);
        if (n < 1 || n > 64 ||
            strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "0123456789_.-") != n) {
            api_reply_problem(out, rq, PROB_BAD_QUERY, NULL,
                              "driver wants a driver name or none");
            return -1;
        }
        f->driver = v;
    }
    if ((v = api_query(rq, "pf"))) {
        if (!api_bdf_canonical(v, f->pf, sizeof(f->pf))) {
            api_reply_problem(out, rq, PROB_BAD_QUERY, NULL,
                              "pf wants a PCI address (DDDD:BB:DD.F)");
            return -1;
        }
    }
    if ((v = api_query(rq, "vfio"))) {
        if (!strcmp(v, "true"))
            f->vfio = 1;
        else if (!strcmp(v, "false"))
            f->vfio = 0;
        else {
            api_reply_problem(out, rq, PROB_BAD_QUERY, NULL,
                              "vfio wants true or false");
            return -1;
        }
    }
    return 0;
bad_vendor:
    api_reply_problem(out, rq, PROB_BAD_QUERY, NULL,
                      "vendor wants 4 hex digits");
    return -1;
bad_device:
    api_reply_problem(out, rq, PROB_BAD_QUERY, NULL,
                      "device wants 4 hex digits");
    return -1;
}

static bool filter_match(const struct filter *f, const struct inv_func *fn)
{
    if (f->vendor >= 0 && fn->vendor_id != f->vendor)
        return false;
    if (f->device >= 0 && fn->device_id != f->device)
        return false;
    if (f->cls[0]) {
        char c[7];
        snprintf(c, sizeof(c), "%06x", fn->class_code & 0xffffff);
        if (strncmp(c, f->cls, strlen(f->cls)))
            return false;
    }
    if (f->driver) {
        if (!strcmp(f->driver, "none")
                ? fn->driver != NULL
                : !fn->driver || strcmp(fn->driver, f->driver))
            return false;
    }
    if (f->pf[0] && strcmp(fn->physfn, f->pf))
        return false;
    if (f->vfio >= 0 && (fn->vfio_group_dev != NULL) != (f->vfio == 1))
        return false;
    return true;
}

static bool has_query(const struct api_request *rq)
{
    /* The raw target is "path?query" with '?' cut: see server.c. */
    return MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, NULL,
                                     NULL) > 0;
}

void api_devices_list(struct api_request *rq, struct api_reply *out)
{
    struct filter f;
    if (parse_filter(rq, out, &f) < 0)
        return;
    struct snapshot *s = service_snapshot();
    if (!s) {
        api_reply_problem(out, rq, PROB_UNAVAILABLE, NULL, "shutting down");
        return;
    }
    if (!has_query(rq)) {
        out->status = 200;
        out->resp = MHD_create_response_from_buffer_with_free_callback_cls(
            s->devices_json_len, s->devices_json, release_snapshot, s);
        if (!out->resp) {
            snapshot_unref(s);
            return;
        }
        MHD_add_response_header(out->resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                MIME_JSON);
        return;
    }
    json_t *devs = json_array();
    for (size_t i = 0; devs && i < s->host->nfuncs; i++)
        if (filter_match(&f, &s->host->funcs[i]))
            json_array_append_new(
                devs, vpcid_inventory_func_json(&s->host->funcs[i]));
    snapshot_unref(s);
    api_reply_json(out, 200, json_pack("{s:o}", "devices", devs));
}

/* The function {bdf} names in s; replies and returns NULL if none. */
static const struct inv_func *find_func(const struct api_request *rq,
                                        struct api_reply *out,
                                        const struct snapshot *s)
{
    char bdf[INV_BDF_LEN];
    if (rq->param_bad[0] ||
        !api_bdf_canonical(rq->param[0], bdf, sizeof(bdf))) {
        api_reply_problem(out, rq, PROB_BAD_BDF, NULL,
                          "a PCI address is DDDD:BB:DD.F or BB:DD.F (hex)");
        return NULL;
    }
    const struct inv_func *f = vpcid_inventory_find(s->host, bdf);
    if (!f)
        api_reply_problem(out, rq, PROB_DEVICE_NOT_FOUND, NULL,
                          "no PCI function %s in the last scan", bdf);
    return f;
}

void api_device_get(struct api_request *rq, struct api_reply *out)
{
    static const char *const allowed[] = {NULL};
    if (api_query_check(rq, out, allowed) < 0)
        return;
    struct snapshot *s = service_snapshot();
    if (!s) {
        api_reply_problem(out, rq, PROB_UNAVAILABLE, NULL, "shutting down");
        return;
    }
    const struct inv_func *f = find_func(rq, out, s);
    if (f)
        api_reply_json(out, 200, vpcid_inventory_func_json(f));
    snapshot_unref(s);
}

void api_device_layout(struct api_request *rq, struct api_reply *out)
{
    static const char *const allowed[] = {"policy", NULL};
    if (api_query_check(rq, out, allowed) < 0)
        return;
    const char *p = api_query(rq, "policy");
    enum vpci_policy policy = VPCI_POLICY_VFIO;
    if (p && !strcmp(p, "identity"))
        policy = VPCI_POLICY_IDENTITY;
    else if (p && strcmp(p, "vfio")) {
        api_reply_problem(out, rq, PROB_BAD_QUERY, NULL,
                          "policy wants vfio or identity");
        return;
    }
    struct snapshot *s = service_snapshot();
    if (!s) {
        api_reply_problem(out, rq, PROB_UNAVAILABLE, NULL, "shutting down");
        return;
    }
    const struct inv_func *f = find_func(rq, out, s);
    if (f) {
        char *text = NULL;
        size_t len = 0;
        struct vpci_error err = {0};
        int r = service_derive(s, f, policy, &text, &len, &err);
        if (r == -ENOMEM)
            api_reply_problem(out, rq, PROB_INTERNAL, NULL, "out of memory");
        else if (r < 0)
            api_reply_problem(out, rq, PROB_DERIVE_FAILED, NULL, "%s: %s",
                              f->bdf, err.msg);
        else
            api_reply_text(out, 200, MIME_LAYOUT "; charset=utf-8", text, len);
    }
    snapshot_unref(s);
}

void api_devices_rescan(struct api_request *rq, struct api_reply *out)
{
    static const char *const allowed[] = {NULL};
    if (api_query_check(rq, out, allowed) < 0)
        return;
    char err[512];
    struct snapshot *s = service_rescan(err, sizeof(err));
    if (!s) {
        api_reply_problem(out, rq, PROB_INTERNAL, NULL, "%s", err);
        return;
    }
    json_t *w = json_array();
    for (size_t i = 0; w && i < s->host->nwarnings; i++)
        json_array_append_new(w, api_json_text(s->host->warnings[i]));
    json_t *o = json_pack("{s:I, s:f, s:s, s:o}", "devices",
                          (json_int_t)s->host->nfuncs, "duration_seconds",
                          s->duration, "scanned", s->scanned, "warnings", w);
    snapshot_unref(s);
    api_reply_json(out, 200, o);
}
