/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The static route table of REST API v1 and the request each handler gets.
 */
#ifndef VPCID_ROUTE_H
#define VPCID_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

struct MHD_Connection;
struct MHD_Response;

enum api_method {
    API_GET = 1 << 0,
    API_HEAD = 1 << 1,
    API_POST = 1 << 2,
    API_PUT = 1 << 3,
    API_PATCH = 1 << 4,
    API_DELETE = 1 << 5,
    API_OPTIONS = 1 << 6,
    API_OTHER = 1 << 7,
};
#define API_METHODS 8

/* Path parameters a template may hold ({bdf}, {name}, {n}). */
#define API_MAX_PARAMS 3
/* Longest decoded path parameter we look at; longer ones are refused by
 * the parameter's own rules. */
#define API_PARAM_MAX 128

struct api_request {
    struct MHD_Connection *conn;
    enum api_method method;
    const char *path; /* as sent, before decoding, without the query */
    char param[API_MAX_PARAMS][API_PARAM_MAX + 1]; /* decoded */
    bool param_bad[API_MAX_PARAMS]; /* too long, or %00 / bad escape */
    const char *body;               /* NULL when none was sent */
    size_t body_len;
    bool tcp;       /* came through a TCP listener */
    char actor[80]; /* who asks, for the audit log */
};

/* What a handler answers: a status and a response (NULL only while the
 * handler has not answered). */
struct api_reply {
    unsigned status;
    struct MHD_Response *resp;
};

typedef void (*api_handler)(struct api_request *rq, struct api_reply *out);

enum api_body_kind {
    BODY_NONE, /* any body is read and ignored */
    BODY_JSON, /* application/json required */
};

struct api_route {
    enum api_method method;
    const char *template; /* "/v1/devices/{bdf}" */
    api_handler handler;
    enum api_body_kind body;
};

extern const struct api_route api_routes[];
extern const size_t api_nroutes;

enum api_match {
    MATCH_OK,
    MATCH_NOT_FOUND, /* no template has this path */
    MATCH_NO_METHOD, /* templates have it, not with this method */
};

/*
 * Find the route for method and path (the raw path, percent-encoded).
 * Literal segments win over parameters.  On MATCH_OK *ret_index is the
 * route and rq->param[] the decoded parameters; on MATCH_NO_METHOD
 * *ret_allow is the methods the path has.  HEAD matches GET routes.
 */
enum api_match api_route_find(enum api_method method, const char *path,
                              struct api_request *rq, size_t *ret_index,
                              unsigned *ret_allow);

/* "GET", "POST", ... */
const char *api_method_name(enum api_method m);
enum api_method api_method_parse(const char *s);

/* "GET, HEAD, POST" for a method mask, into buf. */
void api_allow_header(unsigned mask, char *buf, size_t len);

#endif
