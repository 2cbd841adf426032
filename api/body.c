/* SPDX-License-Identifier: BSD-2-Clause */
/* The shared readers of request bodies, query strings and headers. */
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

#include "api.h"

/* Nesting depth of a JSON text, counted before jansson sees it so that a
 * deeply nested body costs nothing; strings are skipped. */
static int json_depth(const char *s, size_t len)
{
    int depth = 0, max = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                max = depth;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return max;
}

/* C0, DEL and C1 (U+0080..U+009F, UTF-8 C2 80..C2 9F) controls; the text
 * is valid UTF-8 (jansson checked it). */
static bool has_control(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return true;
        if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
            (unsigned char)s[i + 1] <= 0x9f)
            return true;
    }
    return false;
}

json_t *api_body_json(const struct api_request *rq, struct api_reply *out)
{
    json_error_t jerr;
    json_t *root =
        json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        api_reply_problem(out, rq, PROB_BAD_JSON, NULL, "line %d column %d: %s",
                          jerr.line, jerr.column, jerr.text);
    return root;
}

/* The body as a JSON object within the depth and size limits; replies
 * bad-json and returns NULL otherwise. */
static json_t *load_object(const struct api_request *rq, struct api_reply *out)
{
    if (!rq->body || rq->body_len == 0) {
        api_reply_problem(out, rq, PROB_BAD_JSON, NULL,
                          "the request needs a JSON object body");
        return NULL;
    }
    if (json_depth(rq->body, rq->body_len) > API_JSON_DEPTH_MAX) {
        api_reply_problem(out, rq, PROB_BAD_JSON, NULL,
                          "JSON nested deeper than %d", API_JSON_DEPTH_MAX);
        return NULL;
    }
    json_t *root = api_body_json(rq, out);
    if (!root)
        return NULL;
    if (!json_is_object(root)) {
        json_decref(root);
        api_reply_problem(out, rq, PROB_BAD_JSON, NULL,
                          "the body must be a JSON object");
        return NULL;
    }
    if (json_object_size(root) > API_JSON_KEYS_MAX) {
        json_decref(root);
        api_reply_problem(out, rq, PROB_BAD_JSON, NULL, "more than %d members",
                          API_JSON_KEYS_MAX);
        return NULL;
    }
    return root;
}

int api_body_fields(const struct api_request *rq, struct api_reply *out,
                    const struct api_field *fields, size_t n, json_t **ret_root,
                    const char **values, size_t *lens)
{
    json_t *root = load_object(rq, out);
    if (!root)
        return -1;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        size_t i;
        for (i = 0; i < n && strcmp(fields[i].name, key); i++)
            ;
        if (i == n) {
            json_t *extra = json_pack("{s:o}", "field", api_json_text(key));
            api_reply_problem(out, rq, PROB_BAD_FIELD, extra,
                              "unknown member \"%.64s\"", key);
            json_decref(root);
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct api_field *f = &fields[i];
        json_t *v = json_object_get(root, f->name);
        values[i] = NULL;
        lens[i] = 0;
        const char *why = NULL;
        enum api_problem p = PROB_BAD_FIELD;
        if (!v) {
            if (f->required)
                why = "is required";
        } else if (!json_is_string(v)) {
            why = "must be a string";
        } else if (json_string_length(v) > f->max_len) {
            why = "is too long";
            p = f->large;
        } else if (f->text &&
                   has_control(json_string_value(v), json_string_length(v))) {
            why = "must not hold control characters";
        } else if (strlen(json_string_value(v)) != json_string_length(v)) {
            why = "must not hold NUL characters";
        } else {
            values[i] = json_string_value(v);
            lens[i] = json_string_length(v);
        }
        if (why) {
            json_t *extra = json_pack("{s:s}", "field", f->name);
            if (p == PROB_BODY_TOO_LARGE)
                api_reply_problem(out, rq, p, extra,
                                  "\"%s\" is longer than %zu bytes", f->name,
                                  f->max_len);
            else if (!strcmp(why, "is too long"))
                api_reply_problem(out, rq, p, extra,
                                  "\"%s\" is longer than %zu bytes", f->name,
                                  f->max_len);
            else
                api_reply_problem(out, rq, p, extra, "\"%s\" %s", f->name, why);
            json_decref(root);
            return -1;
        }
    }
    *ret_root = root;
    return 0;
}

struct query_scan {
    const char *const *allowed;
    const char *bad; /* first offending name */
    bool repeated;
    unsigned seen[API_QUERY_MAX];
    unsigned count;
};

static enum MHD_Result query_iter(void *cls, enum MHD_ValueKind kind,
                                  const char *key, const char *value)
{
    struct query_scan *q = cls;
    (void)kind;
    (void)value;
    if (++q->count > API_QUERY_MAX) {
        q->bad = key;
        return MHD_NO;
    }
    for (unsigned i = 0; q->allowed[i]; i++) {
        if (!strcmp(q->allowed[i], key)) {
            if (q->seen[i]++) {
                q->bad = key;
                q->repeated = true;
                return MHD_NO;
            }
            return MHD_YES;
        }
    }
    q->bad = key;
    return MHD_NO;
}

int api_query_check(const struct api_request *rq, struct api_reply *out,
                    const char *const *allowed)
{
    struct query_scan q = {.allowed = allowed};
    MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, query_iter, &q);
    if (!q.bad)
        return 0;
    if (q.count > API_QUERY_MAX)
        api_reply_problem(out, rq, PROB_BAD_QUERY, NULL,
                          "more than %d query parameters", API_QUERY_MAX);
    else
        api_reply_problem(out, rq, PROB_BAD_QUERY, NULL,
                          q.repeated ? "query parameter \"%.64s\" repeated"
                                     : "unknown query parameter \"%.64s\"",
                          q.bad);
    return -1;
}

const char *api_query(const struct api_request *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *api_header(const struct api_request *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

void api_bad_field(const struct api_request *rq, struct api_reply *out,
                   const char *name, const char *why)
{
    api_reply_problem(out, rq, PROB_BAD_FIELD,
                      json_pack("{s:o}", "field", api_json_text(name)),
                      "\"%.64s\" %s", name, why);
}

int api_body_object(const struct api_request *rq, struct api_reply *out,
                    const char *const *names, json_t **ret_root)
{
    json_t *root = load_object(rq, out);
    if (!root)
        return -1;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        size_t i;
        for (i = 0; names[i] && strcmp(names[i], key); i++)
            ;
        if (!names[i]) {
            api_bad_field(rq, out, key, "is not a member of this body");
            json_decref(root);
            return -1;
        }
    }
    *ret_root = root;
    return 0;
}

int api_member_string(const struct api_request *rq, struct api_reply *out,
                      json_t *root, const char *name, bool required, size_t max,
                      enum api_problem large, bool text, const char **ret)
{
    json_t *v = json_object_get(root, name);
    *ret = NULL;
    if (!v) {
        if (!required)
            return 0;
        api_bad_field(rq, out, name, "is required");
        return -1;
    }
    if (!json_is_string(v)) {
        api_bad_field(rq, out, name, "must be a string");
        return -1;
    }
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len > max) {
        api_reply_problem(out, rq, large, json_pack("{s:s}", "field", name),
                          "\"%s\" is longer than %zu bytes", name, max);
        return -1;
    }
    if (strlen(s) != len) {
        api_bad_field(rq, out, name, "must not hold NUL characters");
        return -1;
    }
    if (text && has_control(s, len)) {
        api_bad_field(rq, out, name, "must not hold control characters");
        return -1;
    }
    *ret = s;
    return 0;
}

int api_member_int(const struct api_request *rq, struct api_reply *out,
                   json_t *root, const char *name, long long min, long long max,
                   long long *ret)
{
    json_t *v = json_object_get(root, name);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min ||
        json_integer_value(v) > max) {
        char why[96];
        snprintf(why, sizeof(why), "must be an integer from %lld to %lld", min,
                 max);
        api_bad_field(rq, out, name, why);
        return -1;
    }
    *ret = json_integer_value(v);
    return 0;
}
