/* SPDX-License-Identifier: BSD-2-Clause */
#include "reply.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat_json.h"
#include "log.h"
#include "store.h"

const struct api_problem_def api_problems[PROB_COUNT] = {
    [PROB_BAD_JSON] = {"bad-json", 400, "Malformed JSON body"},
    [PROB_BAD_FIELD] = {"bad-field", 400, "Invalid field"},
    [PROB_BAD_NAME] = {"bad-name", 400, "Invalid instance type name"},
    [PROB_BAD_BDF] = {"bad-bdf", 400, "Invalid PCI address"},
    [PROB_BAD_VERSION] = {"bad-version", 400, "Invalid version"},
    [PROB_BAD_QUERY] = {"bad-query", 400, "Invalid query parameter"},
    [PROB_UNAUTHORIZED] = {"unauthorized", 401, "Bearer token required"},
    [PROB_NOT_FOUND] = {"not-found", 404, "No such resource"},
    [PROB_DEVICE_NOT_FOUND] = {"device-not-found", 404, "No such device"},
    [PROB_TYPE_NOT_FOUND] = {"type-not-found", 404, "No such instance type"},
    [PROB_VERSION_NOT_FOUND] = {"version-not-found", 404, "No such version"},
    [PROB_METHOD_NOT_ALLOWED] = {"method-not-allowed", 405,
                                 "Method not allowed"},
    [PROB_TYPE_EXISTS] = {"type-exists", 409, "Instance type exists"},
    [PROB_DERIVE_FAILED] = {"derive-failed", 422,
                            "Cannot derive a layout from the device"},
    [PROB_BODY_TOO_LARGE] = {"body-too-large", 413, "Request body too large"},
    [PROB_URI_TOO_LONG] = {"uri-too-long", 414, "Request target too long"},
    [PROB_UNSUPPORTED_MEDIA_TYPE] = {"unsupported-media-type", 415,
                                     "Unsupported media type"},
    [PROB_INVALID_LAYOUT] = {"invalid-layout", 422, "Invalid layout"},
    [PROB_HEADERS_TOO_LARGE] = {"headers-too-large", 431,
                                "Request headers too large"},
    [PROB_ATTACHMENT_NOT_FOUND] = {"attachment-not-found", 404,
                                   "No such attachment"},
    [PROB_NO_COMPATIBLE_DEVICE] = {"no-compatible-device", 409,
                                   "No compatible device is free"},
    [PROB_REQUEST_ID_CONFLICT] = {"request-id-conflict", 409,
                                  "Request id used for another request"},
    [PROB_BAD_STATE] = {"bad-state", 409,
                        "Not allowed in the attachment's state"},
    [PROB_VERSION_DEPRECATED] = {"version-deprecated", 409,
                                 "Version deprecated"},
    [PROB_VERSION_CONFLICT] = {"version-conflict", 409,
                               "Version number holds other content"},
    [PROB_HASH_MISMATCH] = {"hash-mismatch", 422,
                            "Binding hash differs from the content"},
    [PROB_NOT_RESOLVED] = {"not-resolved", 422, "Not a resolved layout"},
    [PROB_BAD_SNAPSHOT] = {"bad-snapshot", 422, "Not a valid host snapshot"},
    [PROB_INTERNAL] = {"internal", 500, "Internal error"},
    [PROB_UNAVAILABLE] = {"unavailable", 503, "Service unavailable"},
};

json_t *api_json_text(const char *s)
{
    return vpcid_json_text(s);
}

void api_reply_header(struct api_reply *out, const char *name,
                      const char *value)
{
    if (out->resp)
        MHD_add_response_header(out->resp, name, value);
}

void api_reply_text(struct api_reply *out, unsigned status, const char *ctype,
                    char *text, size_t len)
{
    out->status = status;
    out->resp =
        MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!out->resp) {
        free(text);
        return;
    }
    MHD_add_response_header(out->resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
}

static void reply_json_as(struct api_reply *out, unsigned status,
                          const char *ctype, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                             JSON_REAL_PRECISION(9))
                      : NULL;
    json_decref(body);
    if (!text) {
        out->status = 500;
        out->resp = NULL; /* the server answers a bare 500 */
        return;
    }
    size_t len = strlen(text);
    char *n = realloc(text, len + 2);
    if (!n) {
        free(text);
        out->status = 500;
        out->resp = NULL;
        return;
    }
    n[len] = '\n';
    n[len + 1] = '\0';
    api_reply_text(out, status, ctype, n, len + 1);
}

void api_reply_json(struct api_reply *out, unsigned status, json_t *body)
{
    reply_json_as(out, status, MIME_JSON, body);
}

void api_reply_problem(struct api_reply *out, const struct api_request *rq,
                       enum api_problem p, json_t *extra, const char *fmt, ...)
{
    const struct api_problem_def *d = &api_problems[p];
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    char type[64];
    snprintf(type, sizeof(type), "urn:vpcid:problem:%s", d->code);
    json_t *o = json_object();
    if (o) {
        json_object_set_new(o, "type", json_string(type));
        json_object_set_new(o, "title", json_string(d->title));
        json_object_set_new(o, "status", json_integer(d->status));
        json_object_set_new(o, "detail", api_json_text(detail));
        json_object_set_new(o, "code", json_string(d->code));
        json_object_set_new(o, "instance",
                            api_json_text(rq && rq->path ? rq->path : ""));
        if (extra)
            json_object_update(o, extra);
    }
    json_decref(extra);
    reply_json_as(out, d->status, MIME_PROBLEM, o);
    if (p == PROB_UNAUTHORIZED)
        api_reply_header(out, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                         "Bearer realm=\"vpcid\"");
    else if (p == PROB_UNAVAILABLE)
        api_reply_header(out, MHD_HTTP_HEADER_RETRY_AFTER, "1");
}

void api_reply_store_error(struct api_reply *out, const struct api_request *rq,
                           int r, const struct store_error *err)
{
    if (r == -EBUSY) {
        api_reply_problem(out, rq, PROB_UNAVAILABLE, NULL,
                          "the store is busy; retry");
        return;
    }
    log_err("store: %s", err ? err->msg : strerror(-r));
    api_reply_problem(out, rq, PROB_INTERNAL, NULL, "store failure");
}
