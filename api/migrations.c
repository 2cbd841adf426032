/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * /v1/migrations: the target side of a live migration.  The source sends
 * its resolved layout; the target checks that the text is what its
 * binding says (content hash), makes the version known here under the
 * same name and number, and finds (precheck) or reserves (incoming) a
 * function that can back it.
 */
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "body_cache.h"
#include "service.h"

/* The binding line key of l, NULL when absent. */
static const char *binding(const struct vpci_layout *l, const char *key)
{
    for (size_t i = 0; i < l->nbinding; i++)
        if (!strcmp(l->binding[i].key, key) && l->binding[i].nargs == 1)
            return l->binding[i].args[0];
    return NULL;
}

/*
 * The version a resolved layout text belongs to, imported into the store
 * when it is not known here yet.  Replies (invalid-layout, not-resolved,
 * hash-mismatch, version-conflict, ...) and returns -1 on failure.
 */
static int import_layout(const struct api_request *rq, struct api_reply *out,
                         struct store *st, const char *text,
                         const struct service_type **ret)
{
    size_t len = strlen(text);
    struct vpci_layout *l = NULL;
    struct vpci_error verr = {0};
    int r = vpci_layout_parse(text, len, &l, &verr);
    if (r == -ENOMEM) {
        api_reply_problem(out, rq, PROB_INTERNAL, NULL, "out of memory");
        return -1;
    }
    if (r < 0) {
        api_reply_layout_error(rq, out, verr.line, verr.col, verr.msg);
        return -1;
    }
    const char *bname = binding(l, "instance-type");
    const char *ver = binding(l, "version");
    const char *hash = binding(l, "hash");
    char own[VPCI_HASH_STRLEN];
    char name[STORE_NAME_MAX + 1] = ""; /* outlives l */
    unsigned n = 0;
    r = -1;
    if (!l->has_binding || !bname || !ver || !hash) {
        api_reply_problem(out, rq, PROB_NOT_RESOLVED, NULL,
                          "the layout needs a binding section with "
                          "instance-type, version and hash (a resolved "
                          "layout, as GET /v1/attachments/{id}/layout "
                          "answers)");
    } else if (vpci_layout_hash(l, own) < 0) {
        api_reply_problem(out, rq, PROB_INTERNAL, NULL, "out of memory");
    } else if (strcmp(own, hash)) {
        api_reply_problem(out, rq, PROB_HASH_MISMATCH, NULL,
                          "the binding says %s, the content hashes to %s", hash,
                          own);
    } else if (!store_name_valid(bname) ||
               (n = (unsigned)strtoul(ver, NULL, 10)) == 0) {
        api_reply_problem(out, rq, PROB_NOT_RESOLVED, NULL,
                          "the binding's instance-type or version is "
                          "malformed");
    } else {
        snprintf(name, sizeof(name), "%s", bname);
        r = 0;
    }
    vpci_layout_free(l);
    if (r < 0)
        return -1;

    struct store_version v = {0};
    struct store_error err = {0};
    r = store_import(st, rq->actor, name, n, text, len, &v, &err);
    if (r == -EEXIST) {
        api_reply_problem(out, rq, PROB_VERSION_CONFLICT, NULL,
                          "version %u of %s holds other content here", n, name);
        return -1;
    }
    if (r == -EINVAL) {
        api_reply_layout_error(rq, out, err.line, err.col,
                               err.line && strstr(err.msg, ": ")
                                   ? strstr(err.msg, ": ") + 2
                                   : err.msg);
        return -1;
    }
    if (r < 0) {
        api_reply_store_error(out, rq, r, &err);
        return -1;
    }
    api_store_changed();
    r = service_type_get(&v, ret, &verr);
    if (r == -ENODATA) {
        store_version_clear(&v);
        r = store_get_version(st, name, n, &v, &err);
        if (r < 0) {
            store_version_clear(&v);
            api_reply_store_error(out, rq, r, &err);
            return -1;
        }
        r = service_type_get(&v, ret, &verr);
    }
    store_version_clear(&v);
    if (r < 0) {
        api_reply_problem(out, rq, PROB_INTERNAL, NULL,
                          "version %u of %s does not compile: %s", n, name,
                          r == -ENOMEM ? "out of memory" : verr.msg);
        return -1;
    }
    return 0;
}

void api_migrations_precheck(struct api_request *rq, struct api_reply *out)
{
    static const char *const allowed[] = {NULL};
    static const char *const members[] = {"layout", NULL};
    if (api_query_check(rq, out, allowed) < 0)
        return;
    json_t *root = NULL;
    if (api_body_object(rq, out, members, &root) < 0)
        return;
    const char *text;
    const struct service_type *type;
    struct store *st;
    struct api_eval ev;
    if (api_member_string(rq, out, root, "layout", true, API_LAYOUT_MAX,
                          PROB_BODY_TOO_LARGE, false, &text) < 0 ||
        !(st = api_store(rq, out)) ||
        import_layout(rq, out, st, text, &type) < 0 ||
        api_eval_run(rq, out, st, type, -1, NULL, 0, &ev) < 0)
        goto out;
    bool ok = ev.nres && ev.res[0].compatible;
    char *resolved = NULL;
    size_t rlen = 0;
    if (ok && api_eval_resolve(&ev, 0, &resolved, &rlen) < 0) {
        api_reply_problem(out, rq, PROB_INTERNAL, NULL,
                          "cannot resolve %s version %u on %s", type->name,
                          type->version, ev.res[0].bdf);
        api_eval_clear(&ev);
        goto out;
    }
    json_t *o = json_pack(
        "{s:b, s:s, s:o, s:o, s:s, s:I, s:o}", "compatible", ok, "fingerprint",
        type->fingerprint, "bdf", ok ? json_string(ev.res[0].bdf) : json_null(),
        "layout", resolved ? json_stringn(resolved, rlen) : json_null(),
        "instance_type", type->name, "version", (json_int_t)type->version,
        "results", api_eval_results(&ev));
    free(resolved);
    api_eval_clear(&ev);
    api_reply_json(out, 200, o);
out:
    json_decref(root);
}

void api_migrations_incoming(struct api_request *rq, struct api_reply *out)
{
    static const char *const allowed[] = {NULL};
    static const char *const members[] = {"layout", "vm", "request_id", "ttl",
                                          NULL};
    if (api_query_check(rq, out, allowed) < 0)
        return;
    json_t *root = NULL;
    if (api_body_object(rq, out, members, &root) < 0)
        return;
    const char *text, *vm, *request_id;
    long long ttl = API_TTL_DEFAULT;
    if (api_member_string(rq, out, root, "layout", true, API_LAYOUT_MAX,
                          PROB_BODY_TOO_LARGE, false, &text) < 0 ||
        api_member_string(rq, out, root, "vm", true, 256, PROB_BAD_FIELD, true,
                          &vm) < 0 ||
        api_member_string(rq, out, root, "request_id", false, 256,
                          PROB_BAD_FIELD, true, &request_id) < 0 ||
        api_member_int(rq, out, root, "ttl", 1, API_TTL_MAX, &ttl) < 0)
        goto out;
    if (api_vm_check(rq, out, vm, request_id) < 0)
        goto out;
    const struct service_type *type;
    struct store *st;
    struct api_eval ev;
    if (!(st = api_store(rq, out)) ||
        import_layout(rq, out, st, text, &type) < 0 ||
        api_eval_run(rq, out, st, type, -1, NULL, 0, &ev) < 0)
        goto out;
    /* A deprecated version is still taken: the VM runs it already. */
    struct store_attach_req req = {
        .vm = vm,
        .instance_type = type->name,
        .version = type->version,
        .request_id = request_id,
        .state = STORE_ATT_INCOMING,
        .ttl_seconds = (unsigned)ttl,
    };
    api_attach_place(rq, out, st, &ev, &req);
    api_eval_clear(&ev);
out:
    json_decref(root);
}
