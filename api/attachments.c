/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * /v1/attachments: a VM holding one physical function with a version of
 * an instance type resolved onto it, the file its VMM reads
 * (RUNTIME/vms/VM/BDF.vpci), and the source side of a live migration.
 */
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api.h"
#include "log.h"
#include "service.h"

/* Candidates resolved per store round trip: the store takes the first
 * free one, so resolving every compatible function up front would be
 * work thrown away on a large host. */
#define ATTACH_BATCH 8

json_t *api_attachment_json(const struct store_attachment *a)
{
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s}", "id", a->id, "vm",
                  a->vm, "bdf", a->bdf, "instance_type", a->instance_type,
                  "version", (json_int_t)a->version, "hash", a->hash,
                  "fingerprint", a->fingerprint, "path", a->path);
    if (!o)
        return NULL;
    json_object_set_new(o, "layout",
                        a->layout ? json_stringn(a->layout, a->layout_len)
                                  : json_null());
    json_object_set_new(o, "state",
                        json_string(store_att_state_name(a->state)));
    json_object_set_new(o, "created", json_string(a->created));
    json_object_set_new(o, "request_id",
                        a->request_id[0] ? json_string(a->request_id)
                                         : json_null());
    json_object_set_new(o, "expires",
                        a->expires[0] ? json_string(a->expires) : json_null());
    return o;
}

static void set_location(struct api_reply *out, const char *id)
{
    char loc[64];
    snprintf(loc, sizeof(loc), "/v1/attachments/%s", id);
    api_reply_header(out, MHD_HTTP_HEADER_LOCATION, loc);
}

static void reply_attachment(struct api_reply *out, unsigned status,
                             const struct store_attachment *a)
{
    api_reply_json(out, status, api_attachment_json(a));
    if (status == 201)
        set_location(out, a->id);
}

/* The file of a, written when it is missing (a retried request, or a
 * file removed behind the daemon's back). */
static int ensure_file(const struct store_attachment *a)
{
    struct stat sb;
    if (stat(a->path, &sb) == 0)
        return 0;
    return service_write_file(a->path, a->layout, a->layout_len);
}

static void reply_no_device(const struct api_request *rq, struct api_reply *out,
                            const struct api_eval *ev, bool held)
{
    api_reply_problem(
        out, rq, PROB_NO_COMPATIBLE_DEVICE,
        json_pack("{s:o}", "results", api_eval_results(ev)),
        held ? "every device compatible with %s version %u is held"
             : "no device of this host is compatible with %s version %u",
        ev->type->name, ev->type->version);
}

/* request_id names an attachment already: the same request again (200)
 * or another one (409).  true when it replied. */
static bool replied_existing(const struct api_request *rq,
                             struct api_reply *out, struct store *st,
                             const struct api_eval *ev,
                             const struct store_attach_req *req)
{
    if (!req->request_id)
        return false;
    const struct store_attachment *hit = NULL;
    for (size_t i = 0; i < ev->natts && !hit; i++)
        if (!strcmp(ev->atts[i].request_id, req->request_id))
            hit = &ev->atts[i];
    if (!hit)
        return false;
    if (strcmp(hit->vm, req->vm) ||
        strcmp(hit->instance_type, req->instance_type)) {
        api_reply_problem(out, rq, PROB_REQUEST_ID_CONFLICT, NULL,
                          "request id %s was used by attachment %s (vm %s, "
                          "type %s)",
                          req->request_id, hit->id, hit->vm,
                          hit->instance_type);
        return true;
    }
    struct store_attachment a = {0};
    struct store_error err = {0};
    int r = store_get_attachment(st, hit->id, &a, &err);
    if (r == -ENOENT)
        return false; /* ended meanwhile: a new request after all */
    if (r < 0) {
        api_reply_store_error(out, rq, r, &err);
    } else {
        service_files_lock();
        r = ensure_file(&a);
        service_files_unlock();
        if (r < 0)
            api_reply_problem(out, rq, PROB_INTERNAL, NULL,
                              "cannot write %s: %s", a.path, strerror(-r));
        else
            reply_attachment(out, 200, &a);
    }
    store_attachment_clear(&a);
    return true;
}

void api_attach_place(const struct api_request *rq, struct api_reply *out,
                      struct store *st, struct api_eval *ev,
                      const struct store_attach_req *req)
{
    if (replied_existing(rq, out, st, ev, req))
        return;
    size_t ncompat = 0;
    while (ncompat < ev->nres && ev->res[ncompat].compatible)
        ncompat++;
    if (ncompat == 0) {
        bool held = false;
        for (size_t i = 0; i < ev->nres && !held; i++)
            held = ev->res[i].held;
        reply_no_device(rq, out, ev, held);
        return;
    }
    struct store_candidate cand[ATTACH_BATCH];
    char *text[ATTACH_BATCH];
    char path[ATTACH_BATCH][STORE_PATH_MAX];
    struct store_attachment a = {0};
    struct store_error err = {0};
    bool existing = false;
    int r = -ENOSPC;
    /* A sweep must not see the file before the row it belongs to. */
    service_files_lock();
    for (size_t next = 0; r == -ENOSPC && next < ncompat;) {
        size_t n = 0;
        for (; next < ncompat && n < ATTACH_BATCH; next++) {
            size_t len = 0;
            text[n] = NULL;
            int q = service_attachment_path(req->vm, ev->res[next].bdf, path[n],
                                            sizeof(path[n]));
            if (q == 0)
                q = api_eval_resolve(ev, next, &text[n], &len);
            if (q < 0) {
                log_warning("%s on %s: cannot resolve: %s", ev->type->name,
                            ev->res[next].bdf, strerror(-q));
                continue;
            }
            cand[n] = (struct store_candidate){ev->res[next].bdf, path[n],
                                               text[n], len};
            n++;
        }
        if (n)
            r = store_attach(st, rq->actor, req, cand, n, &a, &existing, &err);
        for (size_t i = 0; i < n; i++)
            free(text[i]);
    }
    int w = 0;
    if (r == 0)
        w = existing ? ensure_file(&a)
                     : service_write_file(a.path, a.layout, a.layout_len);
    service_files_unlock();
    if (r == -ENOSPC) {
        /* Others took the devices since the evaluation: say why each
         * fails now, not what was true before. */
        int e = api_eval_refresh(ev, st, &err);
        if (e < 0) {
            api_reply_store_error(out, rq, e, &err);
            return;
        }
        reply_no_device(rq, out, ev, true);
        return;
    }
    if (r == -EEXIST) {
        api_reply_problem(out, rq, PROB_REQUEST_ID_CONFLICT, NULL,
                          "request id %s was used for another vm or type",
                          req->request_id);
        return;
    }
    if (r == -ENOENT) {
        api_reply_problem(out, rq, PROB_VERSION_NOT_FOUND, NULL,
                          "instance type %s has no version %u",
                          req->instance_type, req->version);
        return;
    }
    if (r < 0) {
        api_reply_store_error(out, rq, r, &err);
        return;
    }
    if (w < 0) {
        log_err("attachment %s: cannot write %s: %s", a.id, a.path,
                strerror(-w));
        /* A VM must never be told to start on a file that is not there:
         * give the device back. */
        if (!existing) {
            int e = store_end_attachment(st, rq->actor, a.id, "attach-undo", -1,
                                         NULL, &err);
            if (e < 0)
                log_err("attachment %s: cannot end it: %s", a.id, err.msg);
        }
        api_reply_problem(out, rq, PROB_INTERNAL, NULL, "cannot write %s: %s",
                          a.path, strerror(-w));
    } else {
        reply_attachment(out, existing ? 200 : 201, &a);
    }
    store_attachment_clear(&a);
}

/* ------------------------------------------------------------ handlers */

int api_vm_check(const struct api_request *rq, struct api_reply *out,
                 const char *vm, const char *request_id)
{
    if (!store_vm_valid(vm)) {
        api_reply_problem(out, rq, PROB_BAD_FIELD,
                          json_pack("{s:s}", "field", "vm"),
                          "a vm name matches [A-Za-z0-9][A-Za-z0-9._-]{0,127}");
        return -1;
    }
    if (request_id && !store_vm_valid(request_id)) {
        api_reply_problem(out, rq, PROB_BAD_FIELD,
                          json_pack("{s:s}", "field", "request_id"),
                          "a request id matches "
                          "[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
        return -1;
    }
    return 0;
}

void api_attachments_create(struct api_request *rq, struct api_reply *out)
{
    static const char *const allowed[] = {NULL};
    static const char *const members[] = {
        "vm", "instance_type", "version", "device", "numa", "request_id", NULL};
    if (api_query_check(rq, out, allowed) < 0)
        return;
    json_t *root = NULL;
    if (api_body_object(rq, out, members, &root) < 0)
        return;
    const char *vm, *name, *device, *request_id;
    long long version = 0, numa = -1;
    char bdf[20];
    if (api_member_string(rq, out, root, "vm", true, 256, PROB_BAD_FIELD, true,
                          &vm) < 0 ||
        api_member_string(rq, out, root, "instance_type", true, 256,
                          PROB_BAD_FIELD, true, &name) < 0 ||
        api_member_int(rq, out, root, "version", 1, 0x7fffffff, &version) < 0 ||
        api_member_string(rq, out, root, "device", false, 64, PROB_BAD_FIELD,
                          true, &device) < 0 ||
        api_member_int(rq, out, root, "numa", 0, 65535, &numa) < 0 ||
        api_member_string(rq, out, root, "request_id", false, 256,
                          PROB_BAD_FIELD, true, &request_id) < 0)
        goto out;
    if (api_vm_check(rq, out, vm, request_id) < 0)
        goto out;
    if (!store_name_valid(name)) {
        api_reply_problem(out, rq, PROB_BAD_NAME, NULL,
                          "a name matches [a-z0-9][a-z0-9._-]{0,62}");
        goto out;
    }
    if (device && !api_bdf_canonical(device, bdf, sizeof(bdf))) {
        api_reply_problem(out, rq, PROB_BAD_FIELD,
                          json_pack("{s:s}", "field", "device"),
                          "device wants a PCI address (DDDD:BB:DD.F or "
                          "BB:DD.F)");
        goto out;
    }
    struct store *st = api_store(rq, out);
    const struct service_type *type;
    if (!st ||
        api_type_pick(rq, out, st, name, (unsigned)version, true, &type) < 0)
        goto out;
    struct api_eval ev;
    if (api_eval_run(rq, out, st, type, (int)numa,
                     device ? (const char(*)[20]) & bdf : NULL, device ? 1 : 0,
                     &ev) < 0)
        goto out;
    struct store_attach_req req = {
        .vm = vm,
        .instance_type = type->name,
        .version = type->version,
        .request_id = request_id,
        .state = STORE_ATT_ACTIVE,
    };
    api_attach_place(rq, out, st, &ev, &req);
    api_eval_clear(&ev);
out:
    json_decref(root);
}

void api_attachments_list(struct api_request *rq, struct api_reply *out)
{
    static const char *const allowed[] = {"vm", NULL};
    if (api_query_check(rq, out, allowed) < 0)
        return;
    const char *vm = api_query(rq, "vm");
    if (vm && !store_vm_valid(vm)) {
        api_reply_problem(out, rq, PROB_BAD_QUERY, NULL,
                          "vm wants a name matching "
                          "[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
        return;
    }
    struct store *st = api_store(rq, out);
    if (!st)
        return;
    struct store_attachment *as = NULL;
    size_t n = 0;
    struct store_error err = {0};
    int r = store_list_attachments(st, &as, &n, &err);
    if (r < 0) {
        api_reply_store_error(out, rq, r, &err);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        if (vm && strcmp(as[i].vm, vm))
            continue;
        struct store_attachment a = {0};
        r = store_get_attachment(st, as[i].id, &a, &err);
        if (r == -ENOENT)
            continue; /* ended since the list was read */
        if (r < 0) {
            json_decref(arr);
            store_attachments_free(as, n);
            api_reply_store_error(out, rq, r, &err);
            return;
        }
        json_array_append_new(arr, api_attachment_json(&a));
        store_attachment_clear(&a);
    }
    store_attachments_free(as, n);
    api_reply_json(out, 200, json_pack("{s:o}", "attachments", arr));
}

/* {id} (path parameter 0) and its attachment with layout; replies and
 * returns -1 when there is none. */
static int load(const struct api_request *rq, struct api_reply *out,
                struct store **ret_st, struct store_attachment *a)
{
    struct store *st = api_store(rq, out);
    if (!st)
        return -1;
    struct store_error err = {0};
    int r = rq->param_bad[0] || strlen(rq->param[0]) != STORE_ID_LEN - 1
                ? -ENOENT
                : store_get_attachment(st, rq->param[0], a, &err);
    if (r == -ENOENT)
        api_reply_problem(out, rq, PROB_ATTACHMENT_NOT_FOUND, NULL,
                          "no attachment %.40s", rq->param[0]);
    else if (r < 0)
        api_reply_store_error(out, rq, r, &err);
    *ret_st = st;
    return r < 0 ? -1 : 0;
}

void api_attachment_get(struct api_request *rq, struct api_reply *out)
{
    static const char *const allowed[] = {NULL};
    if (api_query_check(rq, out, allowed) < 0)
        return;
    struct store *st;
    struct store_attachment a = {0};
    if (load(rq, out, &st, &a) < 0)
        return;
    reply_attachment(out, 200, &a);
    store_attachment_clear(&a);
}

void api_attachment_layout(struct api_request *rq, struct api_reply *out)
{
    static const char *const allowed[] = {NULL};
    if (api_query_check(rq, out, allowed) < 0)
        return;
    struct store *st;
    struct store_attachment a = {0};
    if (load(rq, out, &st, &a) < 0)
        return;
    char etag[VPCI_HASH_STRLEN + 2];
    snprintf(etag, sizeof(etag), "\"%s\"", a.hash);
    api_reply_text(out, 200, MIME_LAYOUT "; charset=utf-8", a.layout,
                   a.layout_len);
    a.layout = NULL; /* the response owns it now */
    api_reply_header(out, MHD_HTTP_HEADER_ETAG, etag);
    store_attachment_clear(&a);
}

static void reply_no_content(struct api_reply *out)
{
    out->status = 204;
    out->resp =
        MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
}

/*
 * Change attachment {id} with action when it is in state from (-1: any):
 * with to < 0 end it (the row goes, its file too; 204, shared with the
 * incoming abort of migrations.c), else move it to state to and answer
 * the attachment.
 */
static void change(const struct api_request *rq, struct api_reply *out,
                   const char *action, int from, int to)
{
    static const char *const allowed[] = {NULL};
    if (api_query_check(rq, out, allowed) < 0)
        return;
    struct store *st = api_store(rq, out);
    if (!st)
        return;
    const char *id = rq->param[0];
    struct store_attachment a = {0};
    struct store_error err = {0};
    int r;
    if (rq->param_bad[0] || strlen(id) != STORE_ID_LEN - 1)
        r = -ENOENT;
    else if (to < 0)
        r = store_end_attachment(st, rq->actor, id, action, from, &a, &err);
    else
        r = store_set_attachment_state(
            st, rq->actor, id, (enum store_att_state)from,
            (enum store_att_state)to, action, &a, &err);
    if (r == -ENOENT) {
        api_reply_problem(out, rq, PROB_ATTACHMENT_NOT_FOUND, NULL,
                          "no attachment %.40s", id);
    } else if (r == -EPERM) {
        api_reply_problem(out, rq, PROB_BAD_STATE, NULL,
                          "attachment %s is not %s", id,
                          store_att_state_name((enum store_att_state)from));
    } else if (r < 0) {
        api_reply_store_error(out, rq, r, &err);
    } else if (to < 0) {
        service_remove_file(a.path);
        reply_no_content(out);
    } else {
        reply_attachment(out, 200, &a);
    }
    store_attachment_clear(&a);
}

void api_attachment_delete(struct api_request *rq, struct api_reply *out)
{
    change(rq, out, "detach", -1, -1);
}

void api_attachment_migrate_complete(struct api_request *rq,
                                     struct api_reply *out)
{
    change(rq, out, "migrate-out-complete", STORE_ATT_MIGRATING, -1);
}

void api_incoming_abort(struct api_request *rq, struct api_reply *out)
{
    change(rq, out, "incoming-abort", STORE_ATT_INCOMING, -1);
}

void api_attachment_migrate_out(struct api_request *rq, struct api_reply *out)
{
    change(rq, out, "migrate-out", STORE_ATT_ACTIVE, STORE_ATT_MIGRATING);
}

void api_attachment_migrate_cancel(struct api_request *rq,
                                   struct api_reply *out)
{
    change(rq, out, "migrate-out-cancel", STORE_ATT_MIGRATING,
           STORE_ATT_ACTIVE);
}

void api_incoming_commit(struct api_request *rq, struct api_reply *out)
{
    change(rq, out, "incoming-commit", STORE_ATT_INCOMING, STORE_ATT_ACTIVE);
}
