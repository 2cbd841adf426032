/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Replies of REST API v1: JSON and text bodies, and the one registry of
 * errors, each answered as application/problem+json with a stable code.
 */
#ifndef VPCID_REPLY_H
#define VPCID_REPLY_H

#include <jansson.h>
#include <stddef.h>

#include "route.h"

struct store_error;

enum api_problem {
    PROB_BAD_JSON,
    PROB_BAD_FIELD,
    PROB_BAD_NAME,
    PROB_BAD_BDF,
    PROB_BAD_VERSION,
    PROB_BAD_QUERY,
    PROB_UNAUTHORIZED,
    PROB_NOT_FOUND,
    PROB_DEVICE_NOT_FOUND,
    PROB_TYPE_NOT_FOUND,
    PROB_VERSION_NOT_FOUND,
    PROB_METHOD_NOT_ALLOWED,
    PROB_TYPE_EXISTS,
    PROB_DERIVE_FAILED,
    PROB_BODY_TOO_LARGE,
    PROB_URI_TOO_LONG,
    PROB_UNSUPPORTED_MEDIA_TYPE,
    PROB_INVALID_LAYOUT,
    PROB_HEADERS_TOO_LARGE,
    PROB_ATTACHMENT_NOT_FOUND,
    PROB_NO_COMPATIBLE_DEVICE,
    PROB_REQUEST_ID_CONFLICT,
    PROB_BAD_STATE,
    PROB_VERSION_DEPRECATED,
    PROB_VERSION_CONFLICT,
    PROB_HASH_MISMATCH,
    PROB_NOT_RESOLVED,
    PROB_BAD_SNAPSHOT,
    PROB_INTERNAL,
    PROB_UNAVAILABLE,
    PROB_COUNT
};

struct api_problem_def {
    const char *code; /* "bad-json" */
    unsigned status;
    const char *title;
};

extern const struct api_problem_def api_problems[PROB_COUNT];

#define MIME_JSON "application/json"
#define MIME_PROBLEM "application/problem+json"
#define MIME_LAYOUT "text/x-vpci-layout"

/* body (a reference stolen) as compact JSON plus a newline. */
void api_reply_json(struct api_reply *out, unsigned status, json_t *body);

/* text (len bytes, malloc'ed, taken over) with content type ctype. */
void api_reply_text(struct api_reply *out, unsigned status, const char *ctype,
                    char *text, size_t len);

/* A problem reply; extra (may be NULL, reference stolen) adds members. */
void api_reply_problem(struct api_reply *out, const struct api_request *rq,
                       enum api_problem p, json_t *extra, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The problem for a store failure that is not the request's fault:
 * -EBUSY -> unavailable, anything else -> internal (logged). */
void api_reply_store_error(struct api_reply *out, const struct api_request *rq,
                           int r, const struct store_error *err);

/* Add a header to the reply's response. */
void api_reply_header(struct api_reply *out, const char *name,
                      const char *value);

/* A JSON string of s with every byte that is not printable ASCII or valid
 * UTF-8 replaced by '?' (client text may be anything). */
json_t *api_json_text(const char *s);

#endif
