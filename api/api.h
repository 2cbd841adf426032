/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The HTTP side of vpcid: the libmicrohttpd server (server.c), the shared
 * body and query readers (body.c) and one handler file per resource.
 */
#ifndef VPCID_API_H
#define VPCID_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "reply.h"
#include "route.h"

struct inv_func;

/* Limits on what a client sends (vpcid(8) documents them). */
#define API_BODY_MAX (2u * 1024 * 1024)
/* POST /v1/compat/offline takes a whole host snapshot (about 10 KiB a
 * function with 4 KiB of config space): room for ~3,000 functions. */
#define API_SNAPSHOT_BODY_MAX (32u * 1024 * 1024)
#define API_LAYOUT_MAX (1024u * 1024)
#define API_DESCRIPTION_MAX 1024u
#define API_URI_MAX 2048u
#define API_HEADERS_MAX (16u * 1024)
#define API_JSON_DEPTH_MAX 16
#define API_JSON_KEYS_MAX 32
#define API_QUERY_MAX 16
/* Longest list of devices a compat request may name. */
#define API_DEVICES_MAX 1024
/* Incoming reservations: ttl in seconds. */
#define API_TTL_DEFAULT 300u
#define API_TTL_MAX 3600u

/* ------------------------------------------------------------ server */

struct api_listener_spec {
    int fd;           /* listening socket, stays the caller's */
    bool tcp;         /* requests need the bearer token */
    const char *name; /* for logs */
};

struct api_server;

/*
 * Serve the n listening sockets, each with a pool of threads (0: one per
 * CPU, at least 2).  token (NULL if no listener is TCP) is what TCP
 * requests must present as "Authorization: Bearer TOKEN".  -errno and a
 * message on failure.
 */
int api_server_start(const struct api_listener_spec *l, size_t n,
                     unsigned threads, const char *token,
                     struct api_server **ret, char *err, size_t errlen);

/* Stop accepting connections; requests in flight go on. */
void api_server_quiesce(struct api_server *s);

/* Wait until no request is in flight, at most timeout_ms; true if none
 * is left. */
bool api_server_drain(struct api_server *s, unsigned timeout_ms);

/* Close every connection, join the threads and free s (NULL is fine). */
void api_server_stop(struct api_server *s);

/* ------------------------------------------------------------ body.c */

/* One string member of a JSON request body. */
struct api_field {
    const char *name;
    bool required;
    size_t max_len;         /* bytes */
    enum api_problem large; /* problem when longer: PROB_BAD_FIELD or
                             * PROB_BODY_TOO_LARGE */
    bool text;              /* UTF-8 without control characters */
};

/*
 * Parse the request body as a JSON object whose members are exactly some
 * of fields (all strings).  On success *ret_root holds the object (the
 * caller decrefs it) and values[i] points to field i's string (NULL when
 * absent), lens[i] its length.  Otherwise the problem is in out and -1 is
 * returned.
 */
int api_body_fields(const struct api_request *rq, struct api_reply *out,
                    const struct api_field *fields, size_t n, json_t **ret_root,
                    const char **values, size_t *lens);

/*
 * Check the query: every parameter must be one of allowed (NULL
 * terminated) and appear once.  Replies bad-query and returns -1
 * otherwise.
 */
int api_query_check(const struct api_request *rq, struct api_reply *out,
                    const char *const *allowed);

/* The value of query parameter name, NULL when absent. */
const char *api_query(const struct api_request *rq, const char *name);

/* The value of request header name, NULL when absent. */
const char *api_header(const struct api_request *rq, const char *name);

/* ------------------------------------------------------------ compat.c */

/* A vm name and an optional request id ([A-Za-z0-9][A-Za-z0-9._-]{0,127});
 * replies bad-field naming the member and returns -1 if one is not. */
int api_vm_check(const struct api_request *rq, struct api_reply *out,
                 const char *vm, const char *request_id);

/* Reply 400 bad-field naming member name: "\"NAME\" WHY". */
void api_bad_field(const struct api_request *rq, struct api_reply *out,
                   const char *name, const char *why);

/* The body parsed as one JSON value (duplicate members refused), the
 * caller's; NULL after replying bad-json with the line and column. */
json_t *api_body_json(const struct api_request *rq, struct api_reply *out);

/*
 * Typed request bodies (members that are not all strings): parse the body
 * as a JSON object with the limits of api_body_fields whose members are
 * among names (NULL terminated).  *ret_root is the caller's; -1 after
 * replying bad-json or bad-field.
 */
int api_body_object(const struct api_request *rq, struct api_reply *out,
                    const char *const *names, json_t **ret_root);

/* String member name of root: NULL when absent (bad-field when required),
 * bad-field when not a string, longer than max bytes (body-too-large when
 * large says so), holding NUL or, for text, control characters. */
int api_member_string(const struct api_request *rq, struct api_reply *out,
                      json_t *root, const char *name, bool required, size_t max,
                      enum api_problem large, bool text, const char **ret);

/* Integer member name of root in [min, max]; *ret untouched when absent.
 * bad-field otherwise. */
int api_member_int(const struct api_request *rq, struct api_reply *out,
                   json_t *root, const char *name, long long min, long long max,
                   long long *ret);

/* A PCI address as the API takes it (DDDD:BB:DD.F or BB:DD.F, hex digits
 * of either case) into canonical form (lowercase, 4-digit domain at
 * least) in out (len >= 20); false when malformed. */
bool api_bdf_canonical(const char *s, char *out, size_t len);

/* Order of two canonical BDFs (numeric: a longer domain is larger). */
int api_bdf_cmp(const char *a, const char *b);

/* "NAME" or "NAME@N" (N 1..2^31-1) into name (STORE_NAME_MAX + 1 bytes)
 * and *ret_n (0 when absent); false when malformed. */
bool api_type_ref_parse(const char *s, char *name, size_t len, unsigned *ret_n);

/* One function's verdict. */
struct api_result {
    char bdf[20];
    const struct inv_func *f; /* NULL: not on this host */
    bool compatible;
    bool held; /* fails only because an attachment holds it */
    int score;
    json_t *json; /* {"bdf", "compatible", "score", "reasons"} */
};

/* Compatible ones first, by score (highest first) then BDF; then the
 * rest by BDF. */
void api_results_sort(struct api_result *r, size_t n);

struct snapshot;
struct service_type;
struct store;
struct store_attachment;

/* One evaluation of a type against the host (or some of its functions). */
struct api_eval {
    struct snapshot *snap;
    struct store_attachment *atts; /* the attachments now (no layout) */
    size_t natts;
    const struct service_type *type;
    int numa_pref;
    struct api_result *res; /* sorted */
    size_t nres;
};

/*
 * The version of instance type name to use: n >= 1 that one, 0 the
 * highest that is not deprecated (if all are: the highest, unless
 * refuse_deprecated).  refuse_deprecated also refuses an explicit
 * deprecated version (409 version-deprecated).  Replies and returns -1 on
 * failure (type-not-found, version-not-found, ...).
 */
int api_type_pick(const struct api_request *rq, struct api_reply *out,
                  struct store *st, const char *name, unsigned n,
                  bool refuse_deprecated, const struct service_type **ret);

/* Evaluate type against every function of the current snapshot, or the
 * nbdfs canonical BDFs given.  Replies and returns -1 on failure. */
int api_eval_run(const struct api_request *rq, struct api_reply *out,
                 struct store *st, const struct service_type *type,
                 int numa_pref, const char (*bdfs)[20], size_t nbdfs,
                 struct api_eval *ev);
void api_eval_clear(struct api_eval *ev);

/* Evaluate the same functions again against the attachments as they are
 * now (after a lost race for a device).  0 or -errno (err for the
 * store). */
struct store_error;
int api_eval_refresh(struct api_eval *ev, struct store *st,
                     struct store_error *err);

/* The results as a JSON array (new references). */
json_t *api_eval_results(const struct api_eval *ev);

/* The resolved text of ev's type on result i (malloc'ed); -errno. */
int api_eval_resolve(const struct api_eval *ev, size_t i, char **ret_text,
                     size_t *ret_len);

/* A resolve or parse failure of a layout: 422 invalid-layout with the
 * parser's line and column. */
void api_reply_layout_error(const struct api_request *rq, struct api_reply *out,
                            unsigned line, unsigned col, const char *msg);

/* ------------------------------------------------------------ attachments.c */

/* The attachment object (layout included when loaded). */
json_t *api_attachment_json(const struct store_attachment *a);

struct store_attach_req;

/*
 * Place req on the first free compatible function of ev (best first),
 * write its file and reply: 201 with Location, 200 when request_id named
 * an attachment of the same vm and type, 409 no-compatible-device with
 * the results, request-id-conflict, ...
 */
void api_attach_place(const struct api_request *rq, struct api_reply *out,
                      struct store *st, struct api_eval *ev,
                      const struct store_attach_req *req);

/* The store for this thread; replies and returns NULL when it cannot be
 * opened. */
struct store *api_store(const struct api_request *rq, struct api_reply *out);

/* ------------------------------------------------------------ metrics.c */

/* Count one answered request; route == api_nroutes for "unmatched". */
void api_metrics_count(size_t route, enum api_method m, unsigned status);

/* ------------------------------------------------------------ handlers */

void api_health_get(struct api_request *rq, struct api_reply *out);
void api_metrics_get(struct api_request *rq, struct api_reply *out);
void api_devices_list(struct api_request *rq, struct api_reply *out);
void api_devices_rescan(struct api_request *rq, struct api_reply *out);
void api_device_get(struct api_request *rq, struct api_reply *out);
void api_device_layout(struct api_request *rq, struct api_reply *out);
void api_types_list(struct api_request *rq, struct api_reply *out);
void api_types_create(struct api_request *rq, struct api_reply *out);
void api_type_get(struct api_request *rq, struct api_reply *out);
void api_versions_list(struct api_request *rq, struct api_reply *out);
void api_versions_publish(struct api_request *rq, struct api_reply *out);
void api_version_get(struct api_request *rq, struct api_reply *out);
void api_version_deprecate(struct api_request *rq, struct api_reply *out);
void api_compat_post(struct api_request *rq, struct api_reply *out);
void api_device_compat(struct api_request *rq, struct api_reply *out);
void api_compat_offline(struct api_request *rq, struct api_reply *out);

/* The largest body route i takes (API_BODY_MAX but for the snapshot
 * route). */
size_t api_body_max(size_t route);
void api_attachments_create(struct api_request *rq, struct api_reply *out);
void api_attachments_list(struct api_request *rq, struct api_reply *out);
void api_attachment_get(struct api_request *rq, struct api_reply *out);
void api_attachment_delete(struct api_request *rq, struct api_reply *out);
void api_attachment_layout(struct api_request *rq, struct api_reply *out);
void api_attachment_migrate_out(struct api_request *rq, struct api_reply *out);
void api_attachment_migrate_complete(struct api_request *rq,
                                     struct api_reply *out);
void api_attachment_migrate_cancel(struct api_request *rq,
                                   struct api_reply *out);
void api_migrations_precheck(struct api_request *rq, struct api_reply *out);
void api_migrations_incoming(struct api_request *rq, struct api_reply *out);
void api_incoming_commit(struct api_request *rq, struct api_reply *out);
void api_incoming_abort(struct api_request *rq, struct api_reply *out);

#endif
