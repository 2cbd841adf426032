/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * /v1/compat and /v1/devices/{bdf}/compat: which functions of the host
 * can back a version of an instance type, and why the others cannot.  The
 * evaluation here is shared with attachments.c and migrations.c.
 */
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "compat_json.h"
#include "facts.h"
#include "service.h"
#include "snapshot.h"

/* ------------------------------------------------------------ names */

int api_bdf_cmp(const char *a, const char *b)
{
    return vpcid_bdf_cmp(a, b);
}

bool api_type_ref_parse(const char *s, char *name, size_t len, unsigned *ret_n)
{
    const char *at = strchr(s, '@');
    size_t nl = at ? (size_t)(at - s) : strlen(s);
    if (nl == 0 || nl >= len || nl > STORE_NAME_MAX)
        return false;
    memcpy(name, s, nl);
    name[nl] = '\0';
    if (!store_name_valid(name))
        return false;
    *ret_n = 0;
    if (!at)
        return true;
    const char *v = at + 1;
    size_t vl = strlen(v);
    if (vl < 1 || vl > 10 || v[0] == '0' || strspn(v, "0123456789") != vl ||
        strtoull(v, NULL, 10) > 0x7fffffffu)
        return false;
    *ret_n = (unsigned)strtoul(v, NULL, 10);
    return true;
}

/* ------------------------------------------------------------ results */

static int result_cmp(const void *pa, const void *pb)
{
    const struct api_result *a = pa, *b = pb;
    return vpcid_compat_cmp(a->compatible, a->score, a->bdf, b->compatible,
                            b->score, b->bdf);
}

void api_results_sort(struct api_result *r, size_t n)
{
    if (n > 1)
        qsort(r, n, sizeof(*r), result_cmp);
}

/* ------------------------------------------------------------ evaluation */

struct store *api_store(const struct api_request *rq, struct api_reply *out)
{
    struct store_error err;
    struct store *st = service_store(&err);
    if (!st)
        api_reply_store_error(out, rq, -EIO, &err);
    return st;
}

int api_type_pick(const struct api_request *rq, struct api_reply *out,
                  struct store *st, const char *name, unsigned n,
                  bool refuse_deprecated, const struct service_type **ret)
{
    struct store_version *vs = NULL;
    size_t nv = 0;
    struct store_error err = {0};
    int r = store_list_versions(st, name, &vs, &nv, &err);
    if (r == -ENOENT) {
        api_reply_problem(out, rq, PROB_TYPE_NOT_FOUND, NULL,
                          "no instance type %s", name);
        return -1;
    }
    if (r < 0) {
        api_reply_store_error(out, rq, r, &err);
        return -1;
    }
    const struct store_version *pick = NULL;
    for (size_t i = 0; i < nv; i++) {
        const struct store_version *v = &vs[i];
        if (n ? v->version == n
              : v->state != STORE_DEPRECATED &&
                    (!pick || v->version > pick->version))
            pick = v;
    }
    if (!pick && !n && !refuse_deprecated)
        for (size_t i = 0; i < nv; i++)
            if (!pick || vs[i].version > pick->version)
                pick = &vs[i];
    r = -1;
    if (!pick && n) {
        api_reply_problem(out, rq, PROB_VERSION_NOT_FOUND, NULL,
                          "instance type %s has no version %u", name, n);
    } else if (!pick ||
               (refuse_deprecated && pick->state == STORE_DEPRECATED)) {
        if (pick)
            api_reply_problem(out, rq, PROB_VERSION_DEPRECATED, NULL,
                              "version %u of %s is deprecated", pick->version,
                              name);
        else
            api_reply_problem(out, rq, PROB_VERSION_DEPRECATED, NULL,
                              "every version of %s is deprecated", name);
    } else {
        struct vpci_error verr = {0};
        r = service_type_get(pick, ret, &verr);
        if (r == -ENODATA) {
            struct store_version full = {0};
            r = store_get_version(st, name, pick->version, &full, &err);
            if (r < 0) {
                api_reply_store_error(out, rq, r, &err);
                store_versions_free(vs, nv);
                return -1;
            }
            r = service_type_get(&full, ret, &verr);
            store_version_clear(&full);
        }
        if (r < 0)
            api_reply_problem(out, rq, PROB_INTERNAL, NULL,
                              "version %u of %s does not compile: %s",
                              pick->version, name,
                              r == -ENOMEM ? "out of memory" : verr.msg);
        r = r < 0 ? -1 : 0;
    }
    store_versions_free(vs, nv);
    return r;
}

void api_eval_clear(struct api_eval *ev)
{
    for (size_t i = 0; i < ev->nres; i++)
        json_decref(ev->res[i].json);
    free(ev->res);
    store_attachments_free(ev->atts, ev->natts);
    snapshot_unref(ev->snap);
    memset(ev, 0, sizeof(*ev));
}

static int eval_one(struct api_eval *ev, struct api_result *res,
                    const char *bdf, const struct inv_func *f)
{
    snprintf(res->bdf, sizeof(res->bdf), "%s", bdf);
    res->f = f;
    if (!f) {
        res->json = vpcid_compat_result_json(bdf, NULL);
        return res->json ? 0 : -ENOMEM;
    }
    struct vpci_host_device hd;
    vpcid_host_facts(ev->snap->host, f, ev->atts, ev->natts, &hd);
    struct vpci_compat c;
    int r = vpci_compat_check(ev->type->rules, &hd, ev->numa_pref, &c);
    if (r < 0)
        return r;
    res->compatible = c.compatible;
    res->score = c.score;
    res->held = !c.compatible && c.nreasons == 1 && !c.dropped &&
                !strcmp(c.reasons[0].code, "reserved");
    res->json = vpcid_compat_result_json(bdf, &c);
    return res->json ? 0 : -ENOMEM;
}

int api_eval_run(const struct api_request *rq, struct api_reply *out,
                 struct store *st, const struct service_type *type,
                 int numa_pref, const char (*bdfs)[20], size_t nbdfs,
                 struct api_eval *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->type = type;
    ev->numa_pref = numa_pref;
    struct store_error err = {0};
    int r = store_list_attachments(st, &ev->atts, &ev->natts, &err);
    if (r < 0) {
        api_reply_store_error(out, rq, r, &err);
        return -1;
    }
    ev->snap = service_snapshot();
    if (!ev->snap) {
        api_reply_problem(out, rq, PROB_UNAVAILABLE, NULL, "shutting down");
        api_eval_clear(ev);
        return -1;
    }
    const struct inv_host *h = ev->snap->host;
    size_t n = bdfs ? nbdfs : h->nfuncs;
    ev->res = calloc(n ? n : 1, sizeof(*ev->res));
    r = ev->res ? 0 : -ENOMEM;
    for (size_t i = 0; r == 0 && i < n; i++) {
        const struct inv_func *f =
            bdfs ? vpcid_inventory_find(h, bdfs[i]) : &h->funcs[i];
        r = eval_one(ev, &ev->res[i], bdfs ? bdfs[i] : f->bdf, f);
        if (r == 0)
            ev->nres++;
    }
    if (r < 0) {
        api_reply_problem(out, rq, PROB_INTERNAL, NULL, "compat check: %s",
                          strerror(-r));
        api_eval_clear(ev);
        return -1;
    }
    api_results_sort(ev->res, ev->nres);
    return 0;
}

int api_eval_refresh(struct api_eval *ev, struct store *st,
                     struct store_error *err)
{
    struct store_attachment *atts = NULL;
    size_t natts = 0;
    int r = store_list_attachments(st, &atts, &natts, err);
    if (r < 0)
        return r;
    store_attachments_free(ev->atts, ev->natts);
    ev->atts = atts;
    ev->natts = natts;
    for (size_t i = 0; r == 0 && i < ev->nres; i++) {
        struct api_result *res = &ev->res[i];
        char bdf[sizeof(res->bdf)];
        memcpy(bdf, res->bdf, sizeof(bdf));
        json_decref(res->json);
        res->json = NULL;
        r = eval_one(ev, res, bdf, res->f);
    }
    api_results_sort(ev->res, ev->nres);
    return r;
}

json_t *api_eval_results(const struct api_eval *ev)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < ev->nres; i++)
        json_array_append(a, ev->res[i].json);
    return a;
}

int api_eval_resolve(const struct api_eval *ev, size_t i, char **ret_text,
                     size_t *ret_len)
{
    const struct inv_func *f = ev->res[i].f;
    if (!f)
        return -ENODEV;
    struct vpci_host_device hd;
    vpcid_host_facts(ev->snap->host, f, ev->atts, ev->natts, &hd);
    struct vpci_bind_info b = {
        .instance_type = ev->type->name,
        .version = ev->type->version,
        .vfio_path = f->vfio_cdev ? f->vfio_cdev : f->vfio_group_dev,
    };
    struct vpci_layout *l = NULL;
    struct vpci_error err = {0};
    int r = vpci_resolve(ev->type->layout, &hd, &b, &l, &err);
    if (r == 0)
        r = vpci_layout_format(l, ret_text, ret_len);
    vpci_layout_free(l);
    return r;
}

void api_reply_layout_error(const struct api_request *rq, struct api_reply *out,
                            unsigned line, unsigned col, const char *msg)
{
    json_t *e = json_pack("{s:I, s:I, s:o}", "line", (json_int_t)line, "col",
                          (json_int_t)col, "message", api_json_text(msg));
    json_t *extra = json_pack("{s:[o]}", "errors", e);
    if (line)
        api_reply_problem(out, rq, PROB_INVALID_LAYOUT, extra, "%u:%u: %s",
                          line, col, msg);
    else
        api_reply_problem(out, rq, PROB_INVALID_LAYOUT, extra, "%s", msg);
}

/* ------------------------------------------------------------ handlers */

/* {"instance_type", "version", "results"}; takes ev's results. */
static json_t *compat_body(const struct api_eval *ev)
{
    return json_pack("{s:s, s:I, s:o}", "instance_type", ev->type->name,
                     "version", (json_int_t)ev->type->version, "results",
                     api_eval_results(ev));
}

void api_compat_post(struct api_request *rq, struct api_reply *out)
{
    static const char *const allowed[] = {NULL};
    static const char *const members[] = {"instance_type", "version", "devices",
                                          NULL};
    if (api_query_check(rq, out, allowed) < 0)
        return;
    json_t *root = NULL;
    if (api_body_object(rq, out, members, &root) < 0)
        return;
    const char *name;
    long long version = 0;
    char(*bdfs)[20] = NULL;
    size_t nbdfs = 0;
    if (api_member_string(rq, out, root, "instance_type", true, 256,
                          PROB_BAD_FIELD, true, &name) < 0 ||
        api_member_int(rq, out, root, "version", 1, 0x7fffffff, &version) < 0)
        goto out;
    if (!store_name_valid(name)) {
        api_reply_problem(out, rq, PROB_BAD_NAME, NULL,
                          "a name matches [a-z0-9][a-z0-9._-]{0,62}");
        goto out;
    }
    json_t *devs = json_object_get(root, "devices");
    if (devs) {
        if (!json_is_array(devs) || json_array_size(devs) > API_DEVICES_MAX) {
            api_bad_field(rq, out, "devices",
                          "must be an array of at most 1024 PCI addresses");
            goto out;
        }
        bdfs = calloc(json_array_size(devs) + 1, sizeof(*bdfs));
        if (!bdfs) {
            api_reply_problem(out, rq, PROB_INTERNAL, NULL, "out of memory");
            goto out;
        }
        size_t i;
        json_t *d;
        json_array_foreach(devs, i, d)
        {
            char bdf[20];
            if (!json_is_string(d) ||
                !api_bdf_canonical(json_string_value(d), bdf, sizeof(bdf))) {
                api_bad_field(rq, out, "devices",
                              "holds something that is not a PCI address "
                              "(DDDD:BB:DD.F or BB:DD.F)");
                goto out;
            }
            size_t k;
            for (k = 0; k < nbdfs && strcmp(bdfs[k], bdf); k++)
                ;
            if (k == nbdfs)
                memcpy(bdfs[nbdfs++], bdf, sizeof(bdf));
        }
    }
    struct store *st = api_store(rq, out);
    const struct service_type *type;
    if (!st ||
        api_type_pick(rq, out, st, name, (unsigned)version, false, &type) < 0)
        goto out;
    struct api_eval ev;
    if (api_eval_run(rq, out, st, type, -1, (const char(*)[20])bdfs, nbdfs,
                     &ev) < 0)
        goto out;
    api_reply_json(out, 200, compat_body(&ev));
    api_eval_clear(&ev);
out:
    free(bdfs);
    json_decref(root);
}

/* The query of the GET and offline compat handlers: ?type=NAME[@N] and
 * nothing else, the name in name[STORE_NAME_MAX + 1] and the version in
 * *ret_n (0 for the newest).  0, or -1 with the problem replied. */
static int type_query(struct api_request *rq, struct api_reply *out, char *name,
                      unsigned *ret_n)
{
    static const char *const allowed[] = {"type", NULL};
    if (api_query_check(rq, out, allowed) < 0)
        return -1;
    const char *t = api_query(rq, "type");
    if (!t || !api_type_ref_parse(t, name, STORE_NAME_MAX + 1, ret_n)) {
        api_reply_problem(out, rq, PROB_BAD_QUERY, NULL,
                          "type wants NAME or NAME@VERSION");
        return -1;
    }
    return 0;
}

void api_device_compat(struct api_request *rq, struct api_reply *out)
{
    char bdf[20];
    if (rq->param_bad[0] ||
        !api_bdf_canonical(rq->param[0], bdf, sizeof(bdf))) {
        api_reply_problem(out, rq, PROB_BAD_BDF, NULL,
                          "a PCI address is DDDD:BB:DD.F or BB:DD.F (hex)");
        return;
    }
    char name[STORE_NAME_MAX + 1];
    unsigned n = 0;
    if (type_query(rq, out, name, &n) < 0)
        return;
    struct snapshot *s = service_snapshot();
    if (!s) {
        api_reply_problem(out, rq, PROB_UNAVAILABLE, NULL, "shutting down");
        return;
    }
    bool present = vpcid_inventory_find(s->host, bdf) != NULL;
    snapshot_unref(s);
    if (!present) {
        api_reply_problem(out, rq, PROB_DEVICE_NOT_FOUND, NULL,
                          "no PCI function %s in the last scan", bdf);
        return;
    }
    struct store *st = api_store(rq, out);
    const struct service_type *type;
    if (!st || api_type_pick(rq, out, st, name, n, false, &type) < 0)
        return;
    struct api_eval ev;
    if (api_eval_run(rq, out, st, type, -1, (const char(*)[20]) & bdf, 1, &ev) <
        0)
        return;
    api_reply_json(out, 200, compat_body(&ev));
    api_eval_clear(&ev);
}

/* POST /v1/compat/offline?type=NAME[@N]: a host snapshot in the body,
 * evaluated as POST /v1/compat evaluates this host, without attachments
 * (none of this daemon's attachments are on that host). */
void api_compat_offline(struct api_request *rq, struct api_reply *out)
{
    char name[STORE_NAME_MAX + 1];
    unsigned n = 0;
    if (type_query(rq, out, name, &n) < 0)
        return;
    if (!rq->body || rq->body_len == 0) {
        api_reply_problem(out, rq, PROB_BAD_JSON, NULL,
                          "the request needs a host snapshot body");
        return;
    }
    /* Not api_body_object: a snapshot has more members than a request
     * body may; the loader checks every one it reads. */
    json_t *root = api_body_json(rq, out);
    if (!root)
        return;
    struct vpcid_snapshot *snap = NULL;
    char err[512];
    int r = vpcid_snapshot_from_json(root, &snap, err, sizeof(err));
    json_decref(root);
    if (r == -ENOMEM) {
        api_reply_problem(out, rq, PROB_INTERNAL, NULL, "out of memory");
        return;
    }
    if (r < 0) {
        api_reply_problem(out, rq, PROB_BAD_SNAPSHOT, NULL, "%s", err);
        return;
    }
    struct store *st = api_store(rq, out);
    const struct service_type *type;
    if (!st || api_type_pick(rq, out, st, name, n, false, &type) < 0) {
        vpcid_snapshot_free(snap);
        return;
    }
    json_t *arr = NULL;
    size_t ndev = snap->host->nfuncs, nok = 0;
    r = vpcid_compat_offline(snap->host, type->rules, &arr, &nok);
    json_t *body = NULL;
    if (r == 0) {
        body =
            json_pack("{s:s, s:I, s:s, s:s, s:o, s:o}", "instance_type",
                      type->name, "version", (json_int_t)type->version,
                      "hostname", snap->hostname, "time", snap->time, "summary",
                      vpcid_compat_summary(ndev, nok), "results", arr);
        r = body ? 0 : -ENOMEM;
    }
    if (r == 0)
        api_reply_json(out, 200, body);
    else
        api_reply_problem(out, rq, PROB_INTERNAL, NULL, "compat check: %s",
                          strerror(-r));
    vpcid_snapshot_free(snap);
}
