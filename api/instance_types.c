/* SPDX-License-Identifier: BSD-2-Clause */
/* /v1/instance-types: types and their immutable, versioned layouts. */
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "body_cache.h"
#include "service.h"

/* The fixed version object: name, version, hash, fingerprint, state,
 * created. */
static json_t *version_json(const struct store_version *v)
{
    return json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}", "name", v->name,
                     "version", (json_int_t)v->version, "hash", v->hash,
                     "fingerprint", v->fingerprint, "state",
                     store_state_name(v->state), "created", v->created);
}

static void set_location(struct api_reply *out, const struct store_version *v)
{
    char loc[STORE_NAME_MAX + 64];
    snprintf(loc, sizeof(loc), "/v1/instance-types/%s/versions/%u", v->name,
             v->version);
    api_reply_header(out, MHD_HTTP_HEADER_LOCATION, loc);
}

/* The store for this thread; replies and returns NULL when it cannot be
 * opened. */
static struct store *store_or_reply(const struct api_request *rq,
                                    struct api_reply *out)
{
    struct store_error err;
    struct store *st = service_store(&err);
    if (!st)
        api_reply_store_error(out, rq, -EIO, &err);
    return st;
}

/* {name} (path parameter 0); replies bad-name and returns NULL. */
static const char *name_param(const struct api_request *rq,
                              struct api_reply *out)
{
    if (rq->param_bad[0] || !store_name_valid(rq->param[0])) {
        api_reply_problem(out, rq, PROB_BAD_NAME, NULL,
                          "a name matches [a-z0-9][a-z0-9._-]{0,62}");
        return NULL;
    }
    return rq->param[0];
}

/* {n} (path parameter 1): 1..2^31-1, or "latest" as 0. */
static int version_param(const struct api_request *rq, struct api_reply *out,
                         unsigned *ret)
{
    const char *s = rq->param[1];
    if (!rq->param_bad[1] && !strcmp(s, "latest")) {
        *ret = 0;
        return 0;
    }
    size_t n = strlen(s);
    if (rq->param_bad[1] || n < 1 || n > 10 || s[0] == '0' ||
        strspn(s, "0123456789") != n || strtoull(s, NULL, 10) > 0x7fffffffu) {
        api_reply_problem(out, rq, PROB_BAD_VERSION, NULL,
                          "a version is a number from 1 to 2147483647, or "
                          "latest");
        return -1;
    }
    *ret = (unsigned)strtoul(s, NULL, 10);
    return 0;
}

/* A rejected layout: 422 with the parser's position and message. */
static void reply_invalid_layout(const struct api_request *rq,
                                 struct api_reply *out,
                                 const struct store_error *err)
{
    /* err->msg is "LINE:COL: message" when the parser placed it. */
    const char *msg = err->msg;
    if (err->line) {
        const char *p = strstr(msg, ": ");
        if (p)
            msg = p + 2;
    }
    json_t *e =
        json_pack("{s:I, s:I, s:o}", "line", (json_int_t)err->line, "col",
                  (json_int_t)err->col, "message", api_json_text(msg));
    json_t *extra = json_pack("{s:[o]}", "errors", e);
    api_reply_problem(out, rq, PROB_INVALID_LAYOUT, extra, "%s", err->msg);
}

static void store_failed(const struct api_request *rq, struct api_reply *out,
                         int r, const struct store_error *err, const char *name,
                         unsigned n)
{
    if (r == -ENOENT && n)
        api_reply_problem(out, rq, PROB_VERSION_NOT_FOUND, NULL,
                          "instance type %s has no version %u", name, n);
    else if (r == -ENOENT)
        api_reply_problem(out, rq, PROB_TYPE_NOT_FOUND, NULL,
                          "no instance type %s", name);
    else
        api_reply_store_error(out, rq, r, err);
}

void api_types_list(struct api_request *rq, struct api_reply *out)
{
    static const char *const allowed[] = {NULL};
    if (api_query_check(rq, out, allowed) < 0)
        return;
    struct store *st = store_or_reply(rq, out);
    if (!st)
        return;
    struct store_type *t = NULL;
    size_t n = 0;
    struct store_error err;
    int r = store_list_types(st, &t, &n, &err);
    if (r < 0) {
        api_reply_store_error(out, rq, r, &err);
        return;
    }
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:o, s:s, s:I}", "name",
                                           t[i].name, "description",
                                           api_json_text(t[i].description),
                                           "created", t[i].created, "latest",
                                           (json_int_t)t[i].latest));
    store_types_free(t, n);
    api_reply_json(out, 200, json_pack("{s:o}", "instance_types", a));
}

enum { F_NAME, F_DESCRIPTION, F_LAYOUT };
static const struct api_field create_fields[] = {
    [F_NAME] = {"name", true, 256, PROB_BAD_FIELD, true},
    [F_DESCRIPTION] = {"description", false, API_DESCRIPTION_MAX,
                       PROB_BAD_FIELD, true},
    [F_LAYOUT] = {"layout", true, API_LAYOUT_MAX, PROB_BODY_TOO_LARGE, false},
};

/* Content hash of layout text as the store computes it; 0 or -EINVAL. */
static int layout_hash(const char *text, size_t len,
                       char hash[VPCI_HASH_STRLEN])
{
    struct vpci_layout *l = NULL;
    struct vpci_error e;
    int r = vpci_layout_parse(text, len, &l, &e);
    if (r == 0)
        r = vpci_layout_hash(l, hash);
    vpci_layout_free(l);
    return r;
}

void api_types_create(struct api_request *rq, struct api_reply *out)
{
    static const char *const allowed[] = {NULL};
    if (api_query_check(rq, out, allowed) < 0)
        return;
    json_t *root = NULL;
    const char *v[3];
    size_t len[3];
    if (api_body_fields(rq, out, create_fields, 3, &root, v, len) < 0)
        return;
    const char *name = v[F_NAME];
    if (!store_name_valid(name)) {
        api_reply_problem(out, rq, PROB_BAD_NAME, NULL,
                          "a name matches [a-z0-9][a-z0-9._-]{0,62}");
        goto out;
    }
    struct store *st = store_or_reply(rq, out);
    if (!st)
        goto out;
    struct store_version ver = {0};
    struct store_error err = {0};
    int r = store_create_type(st, rq->actor, name, v[F_DESCRIPTION],
                              v[F_LAYOUT], len[F_LAYOUT], &ver, &err);
    if (r == 0) {
        api_store_changed();
        api_reply_json(out, 201, version_json(&ver));
        set_location(out, &ver);
    } else if (r == -EINVAL) {
        reply_invalid_layout(rq, out, &err);
    } else if (r == -EEXIST) {
        /* A retried create of the same content is answered like the
         * first; anything else under the same name is a conflict. */
        char hash[VPCI_HASH_STRLEN];
        struct store_version v1 = {0};
        int g = store_get_version(st, name, 1, &v1, &err);
        if (g == 0 && layout_hash(v[F_LAYOUT], len[F_LAYOUT], hash) == 0 &&
            !strcmp(hash, v1.hash)) {
            api_reply_json(out, 200, version_json(&v1));
            set_location(out, &v1);
        } else if (g < 0 && g != -ENOENT) {
            api_reply_store_error(out, rq, g, &err);
        } else {
            api_reply_problem(out, rq, PROB_TYPE_EXISTS, NULL,
                              "instance type %s exists with another "
                              "version 1; publish new content with POST "
                              "/v1/instance-types/%s/versions",
                              name, name);
        }
        store_version_clear(&v1);
    } else {
        api_reply_store_error(out, rq, r, &err);
    }
    store_version_clear(&ver);
out:
    json_decref(root);
}

void api_type_get(struct api_request *rq, struct api_reply *out)
{
    static const char *const allowed[] = {NULL};
    const char *name = name_param(rq, out);
    if (!name || api_query_check(rq, out, allowed) < 0)
        return;
    struct store *st = store_or_reply(rq, out);
    if (!st)
        return;
    struct store_type t = {0};
    struct store_error err;
    struct store_version *vs = NULL;
    size_t n = 0;
    int r = store_get_type(st, name, &t, &err);
    if (r == 0)
        r = store_list_versions(st, name, &vs, &n, &err);
    if (r < 0) {
        free(t.description);
        store_failed(rq, out, r, &err, name, 0);
        return;
    }
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, version_json(&vs[i]));
    store_versions_free(vs, n);
    json_t *o =
        json_pack("{s:s, s:o, s:s, s:I, s:o}", "name", t.name, "description",
                  api_json_text(t.description), "created", t.created, "latest",
                  (json_int_t)t.latest, "versions", a);
    free(t.description);
    api_reply_json(out, 200, o);
}

void api_versions_list(struct api_request *rq, struct api_reply *out)
{
    static const char *const allowed[] = {NULL};
    const char *name = name_param(rq, out);
    if (!name || api_query_check(rq, out, allowed) < 0)
        return;
    struct store *st = store_or_reply(rq, out);
    if (!st)
        return;
    struct store_version *vs = NULL;
    size_t n = 0;
    struct store_error err;
    int r = store_list_versions(st, name, &vs, &n, &err);
    if (r < 0) {
        store_failed(rq, out, r, &err, name, 0);
        return;
    }
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, version_json(&vs[i]));
    store_versions_free(vs, n);
    api_reply_json(out, 200, json_pack("{s:o}", "versions", a));
}

static const struct api_field publish_fields[] = {
    {"layout", true, API_LAYOUT_MAX, PROB_BODY_TOO_LARGE, false},
};

void api_versions_publish(struct api_request *rq, struct api_reply *out)
{
    static const char *const allowed[] = {NULL};
    const char *name = name_param(rq, out);
    if (!name || api_query_check(rq, out, allowed) < 0)
        return;
    json_t *root = NULL;
    const char *v[1];
    size_t len[1];
    if (api_body_fields(rq, out, publish_fields, 1, &root, v, len) < 0)
        return;
    struct store *st = store_or_reply(rq, out);
    if (st) {
        struct store_version ver = {0};
        struct store_error err = {0};
        bool created = false;
        int r = store_publish(st, rq->actor, name, v[0], len[0], &ver, &created,
                              &err);
        if (r == 0) {
            if (created)
                api_store_changed();
            api_reply_json(out, created ? 201 : 200, version_json(&ver));
            set_location(out, &ver);
        } else if (r == -EINVAL) {
            reply_invalid_layout(rq, out, &err);
        } else {
            store_failed(rq, out, r, &err, name, 0);
        }
        store_version_clear(&ver);
    }
    json_decref(root);
}

/* Does the Accept header prefer the layout text over JSON?  The q value
 * of the best matching media range decides; JSON wins ties. */
static bool wants_text(const char *accept)
{
    if (!accept)
        return false;
    double q_text = 0, q_json = 0;
    int spec_text = -1, spec_json = -1;
    const char *p = accept;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        char range[128];
        snprintf(range, sizeof(range), "%.*s", (int)(n < 127 ? n : 127), p);
        p += n;
        double q = 1;
        char *semi = strchr(range, ';');
        if (semi) {
            *semi = '\0';
            const char *qs = strstr(semi + 1, "q=");
            if (qs)
                q = strtod(qs + 2, NULL);
        }
        size_t rl = strlen(range);
        while (rl && range[rl - 1] == ' ')
            range[--rl] = '\0';
        int spec_t = !strcasecmp(range, MIME_LAYOUT) ? 2
                     : !strcasecmp(range, "text/*")  ? 1
                     : !strcmp(range, "*/*")         ? 0
                                                     : -1;
        int spec_j = !strcasecmp(range, MIME_JSON)         ? 2
                     : !strcasecmp(range, "application/*") ? 1
                     : !strcmp(range, "*/*")               ? 0
                                                           : -1;
        if (spec_t > spec_text) {
            spec_text = spec_t;
            q_text = q;
        }
        if (spec_j > spec_json) {
            spec_json = spec_j;
            q_json = q;
        }
    }
    return spec_text >= 0 && q_text > 0 && q_text > q_json;
}

/* Does If-None-Match list etag (or "*")? */
static bool etag_matches(const char *inm, const char *etag)
{
    if (!inm)
        return false;
    if (!strcmp(inm, "*"))
        return true;
    size_t n = strlen(etag);
    for (const char *p = inm; (p = strstr(p, etag)); p += n) {
        char after = p[n];
        if (after == '\0' || after == ',' || after == ' ')
            return true;
    }
    return false;
}

/* The body of one representation of v (v->layout must be loaded). */
static char *version_body(const struct store_version *v, bool text,
                          size_t *ret_len)
{
    if (text) {
        *ret_len = v->layout_len;
        return v->layout;
    }
    json_t *o = version_json(v);
    if (o)
        json_object_set_new(o, "layout",
                            json_stringn(v->layout, v->layout_len));
    char *body = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (!body)
        return NULL;
    size_t len = strlen(body);
    char *n = realloc(body, len + 2);
    if (!n) {
        free(body);
        return NULL;
    }
    n[len] = '\n';
    *ret_len = len + 1;
    return n;
}

/* 200 with body b (reference taken over), or 304 when the client holds
 * it already. */
static void reply_body(const struct api_request *rq, struct api_reply *out,
                       struct api_body *b, bool text)
{
    char etag[96];
    snprintf(etag, sizeof(etag), "%s", api_body_etag(b));
    if (text &&
        etag_matches(api_header(rq, MHD_HTTP_HEADER_IF_NONE_MATCH), etag)) {
        api_body_unref(b);
        out->status = 304;
        out->resp =
            MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    } else {
        const char *ctype = api_body_ctype(b);
        out->status = 200;
        out->resp = api_body_response(b);
        api_reply_header(out, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    }
    api_reply_header(out, MHD_HTTP_HEADER_ETAG, etag);
    api_reply_header(out, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT);
}

void api_version_get(struct api_request *rq, struct api_reply *out)
{
    static const char *const allowed[] = {NULL};
    const char *name = name_param(rq, out);
    unsigned n;
    if (!name || version_param(rq, out, &n) < 0 ||
        api_query_check(rq, out, allowed) < 0)
        return;
    bool text = wants_text(api_header(rq, MHD_HTTP_HEADER_ACCEPT));
    char akey[2 * API_PARAM_MAX + 16];
    snprintf(akey, sizeof(akey), "%s/%s/%s", name, rq->param[1],
             text ? "text" : "json");
    struct api_body *b = api_answer_get(akey);
    if (b) {
        reply_body(rq, out, b, text);
        return;
    }

    unsigned long gen = api_store_generation();
    struct store *st = store_or_reply(rq, out);
    if (!st)
        return;
    struct store_version v = {0};
    struct store_error err;
    /* What the version is now (state included), without its text: a
     * cached body made from the same row is the same body. */
    int r = store_peek_version(st, name, n, &v, &err);
    if (r < 0) {
        struct store_type t = {0};
        if (r == -ENOENT &&
            (n == 0 || store_get_type(st, name, &t, &err) == -ENOENT))
            n = 0; /* the type is what is missing */
        free(t.description);
        store_failed(rq, out, r, &err, name, n);
        return;
    }
    char key[STORE_NAME_MAX + VPCI_HASH_STRLEN + 64];
    snprintf(key, sizeof(key), "%s/%u/%s/%s/%s", v.name, v.version,
             store_state_name(v.state), v.hash, text ? "text" : "json");
    b = api_body_cache_get(key);
    if (!b) {
        unsigned num = v.version;
        store_version_clear(&v);
        if ((r = store_get_version(st, name, num, &v, &err)) < 0) {
            store_failed(rq, out, r, &err, name, num);
            return;
        }
        char etag[VPCI_HASH_STRLEN + 2];
        snprintf(etag, sizeof(etag), "\"%s\"", v.hash);
        size_t len = 0;
        char *body = version_body(&v, text, &len);
        if (body)
            b = api_body_cache_put(
                key, body, len,
                text ? MIME_LAYOUT "; charset=utf-8" : MIME_JSON, etag);
        if (body != v.layout)
            free(body);
    }
    store_version_clear(&v);
    if (!b) {
        api_reply_problem(out, rq, PROB_INTERNAL, NULL, "out of memory");
        return;
    }
    api_answer_put(akey, b, gen);
    reply_body(rq, out, b, text);
}

void api_version_deprecate(struct api_request *rq, struct api_reply *out)
{
    static const char *const allowed[] = {NULL};
    const char *name = name_param(rq, out);
    unsigned n;
    if (!name || version_param(rq, out, &n) < 0 ||
        api_query_check(rq, out, allowed) < 0)
        return;
    struct store *st = store_or_reply(rq, out);
    if (!st)
        return;
    struct store_error err;
    struct store_version v = {0};
    /* "latest" names the version it is now, before it changes. */
    int r = store_get_version(st, name, n, &v, &err);
    if (r == 0 &&
        (r = store_deprecate(st, rq->actor, name, v.version, &err)) == 0)
        api_store_changed();
    if (r == -EALREADY)
        r = 0;
    if (r == 0) {
        unsigned num = v.version;
        store_version_clear(&v);
        r = store_get_version(st, name, num, &v, &err);
    }
    if (r < 0) {
        struct store_type t = {0};
        if (r == -ENOENT &&
            (n == 0 || store_get_type(st, name, &t, &err) == -ENOENT))
            n = 0;
        free(t.description);
        store_failed(rq, out, r, &err, name, n);
        store_version_clear(&v);
        return;
    }
    api_reply_json(out, 200, version_json(&v));
    store_version_clear(&v);
}
