/* SPDX-License-Identifier: BSD-2-Clause */
/* GET /metrics: Prometheus text exposition format 0.0.4. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "service.h"

/* Request counters, lock-free: route x method x status. */
#define MAX_ROUTES 32
static const unsigned statuses[] = {200, 201, 204, 304, 400, 401,
                                    403, 404, 405, 406, 409, 413,
                                    414, 415, 422, 431, 500, 503};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))
static atomic_ulong requests[MAX_ROUTES + 1][API_METHODS][NSTATUS + 1];

_Static_assert(MAX_ROUTES >= 27, "room for every route");

void api_metrics_count(size_t route, enum api_method m, unsigned status)
{
    if (route >= api_nroutes || route > MAX_ROUTES)
        route = MAX_ROUTES;
    unsigned mi = 0;
    while (mi + 1 < API_METHODS && (1u << mi) != (unsigned)m)
        mi++;
    size_t si = 0;
    while (si < NSTATUS && statuses[si] != status)
        si++;
    atomic_fetch_add_explicit(&requests[route][mi][si], 1,
                              memory_order_relaxed);
}

struct class_driver {
    unsigned cls; /* base << 8 | sub */
    const char *driver;
    unsigned long n;
};

static int cmp_cd(const void *a, const void *b)
{
    const struct class_driver *x = a, *y = b;
    if (x->cls != y->cls)
        return x->cls < y->cls ? -1 : 1;
    return strcmp(x->driver, y->driver);
}

/* Label values are driver names and route templates: escape anyway. */
static void label(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', f);
        if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
}

static void devices_metric(FILE *f, const struct inv_host *h)
{
    struct class_driver *cd = calloc(h->nfuncs ? h->nfuncs : 1, sizeof(*cd));
    size_t n = 0;
    for (size_t i = 0; cd && i < h->nfuncs; i++) {
        const struct inv_func *fn = &h->funcs[i];
        unsigned cls = fn->class_code >> 8;
        const char *drv = fn->driver ? fn->driver : "none";
        size_t j;
        for (j = 0; j < n; j++)
            if (cd[j].cls == cls && !strcmp(cd[j].driver, drv))
                break;
        if (j == n)
            cd[n++] = (struct class_driver){cls, drv, 0};
        cd[j].n++;
    }
    if (cd)
        qsort(cd, n, sizeof(*cd), cmp_cd);
    fputs("# HELP vpcid_devices PCI functions in the last scan, by class "
          "(base and subclass) and driver.\n"
          "# TYPE vpcid_devices gauge\n",
          f);
    for (size_t j = 0; j < n; j++) {
        fprintf(f, "vpcid_devices{class=\"%04x\",driver=\"", cd[j].cls);
        label(f, cd[j].driver);
        fprintf(f, "\"} %lu\n", cd[j].n);
    }
    free(cd);
}

static void requests_metric(FILE *f)
{
    fputs("# HELP vpcid_http_requests_total HTTP requests answered, by route, "
          "method and status.\n"
          "# TYPE vpcid_http_requests_total counter\n",
          f);
    for (size_t r = 0; r <= MAX_ROUTES; r++) {
        if (r >= api_nroutes && r != MAX_ROUTES)
            continue;
        for (unsigned m = 0; m < API_METHODS; m++) {
            for (size_t s = 0; s <= NSTATUS; s++) {
                unsigned long v = atomic_load_explicit(&requests[r][m][s],
                                                       memory_order_relaxed);
                if (!v)
                    continue;
                fputs("vpcid_http_requests_total{route=\"", f);
                label(f,
                      r < api_nroutes ? api_routes[r].template : "unmatched");
                fprintf(f, "\",method=\"%s\",status=\"",
                        api_method_name((enum api_method)(1u << m)));
                if (s < NSTATUS)
                    fprintf(f, "%u", statuses[s]);
                else
                    fputs("other", f);
                fprintf(f, "\"} %lu\n", v);
            }
        }
    }
}

void api_metrics_get(struct api_request *rq, struct api_reply *out)
{
    struct store_error err;
    struct store_counts c;
    struct store *st = service_store(&err);
    int r = st ? store_counts(st, &c, &err) : -EIO;
    struct store_attachment *as = NULL;
    size_t nas = 0;
    if (r == 0)
        r = store_list_attachments(st, &as, &nas, &err);
    if (r < 0) {
        api_reply_store_error(out, rq, r, &err);
        return;
    }
    unsigned long by_state[3] = {0, 0, 0};
    for (size_t i = 0; i < nas; i++)
        if ((unsigned)as[i].state < 3)
            by_state[as[i].state]++;
    store_attachments_free(as, nas);
    struct snapshot *s = service_snapshot();
    if (!s) {
        api_reply_problem(out, rq, PROB_UNAVAILABLE, NULL, "shutting down");
        return;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        snapshot_unref(s);
        api_reply_problem(out, rq, PROB_INTERNAL, NULL, "out of memory");
        return;
    }
    devices_metric(f, s->host);
    fprintf(f,
            "# HELP vpcid_instance_types Instance types in the store.\n"
            "# TYPE vpcid_instance_types gauge\n"
            "vpcid_instance_types %lu\n"
            "# HELP vpcid_instance_type_versions Versions in the store, by "
            "state.\n"
            "# TYPE vpcid_instance_type_versions gauge\n"
            "vpcid_instance_type_versions{state=\"published\"} %lu\n"
            "vpcid_instance_type_versions{state=\"deprecated\"} %lu\n",
            c.types, c.published, c.deprecated);
    fputs("# HELP vpcid_attachments Attachments, by state.\n"
          "# TYPE vpcid_attachments gauge\n",
          f);
    for (unsigned i = 0; i < 3; i++)
        fprintf(f, "vpcid_attachments{state=\"%s\"} %lu\n",
                store_att_state_name((enum store_att_state)i), by_state[i]);
    requests_metric(f);
    fprintf(f,
            "# HELP vpcid_scan_duration_seconds Duration of the last "
            "inventory scan.\n"
            "# TYPE vpcid_scan_duration_seconds gauge\n"
            "vpcid_scan_duration_seconds %.6f\n"
            "# HELP vpcid_scans_total Inventory scans since start.\n"
            "# TYPE vpcid_scans_total counter\n"
            "vpcid_scans_total %lu\n",
            s->duration, service_scans());
    snapshot_unref(s);
    if (fclose(f) != 0 || !text) {
        free(text);
        api_reply_problem(out, rq, PROB_INTERNAL, NULL, "out of memory");
        return;
    }
    api_reply_text(out, 200, "text/plain; version=0.0.4; charset=utf-8", text,
                   len);
}
