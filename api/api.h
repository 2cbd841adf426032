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

/* Limits on what a client sends (vpcid(8) documents them). */
#define API_BODY_MAX (2u * 1024 * 1024)
#define API_LAYOUT_MAX (1024u * 1024)
#define API_DESCRIPTION_MAX 1024u
#define API_URI_MAX 2048u
#define API_HEADERS_MAX (16u * 1024)
#define API_JSON_DEPTH_MAX 16
#define API_JSON_KEYS_MAX 32
#define API_QUERY_MAX 16

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

#endif
