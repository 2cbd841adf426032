/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The REST client of vpcictl: one libcurl handle talking HTTP/1.1 to vpcid
 * over its unix socket ("unix:PATH") or over TCP ("http://HOST:PORT", with
 * "Authorization: Bearer TOKEN" from a token file).  Every function prints
 * its own "vpcictl: ..." message on stderr when it fails; callers only map
 * the failure to an exit code.
 */
#ifndef VPCICTL_CLIENT_H
#define VPCICTL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Limits on what the daemon may send back; anything larger is an error,
 * never an allocation. */
#define VPCICTL_MAX_RESPONSE (64u << 20)
#define VPCICTL_MAX_TOKEN 4096
#define VPCICTL_CONNECT_TIMEOUT_MS 5000L
#define VPCICTL_TIMEOUT_MS 60000L

struct vpcictl_client;

/* One HTTP answer.  body is NUL-terminated (len excludes the NUL);
 * content_type is NULL when the server sent none.  Both are owned by the
 * response: release with vpcictl_response_clear(). */
struct vpcictl_response {
    long status;
    char *content_type;
    char *body;
    size_t len;
};

/* Connect to `connect` ("unix:PATH" or "http://HOST:PORT"); for http,
 * token_file names the file holding the bearer token (required).
 * Nothing is sent yet.  Returns 0, -EINVAL for a malformed connect string
 * or missing token file (a usage error: the caller exits 2), or another
 * -errno (token file unreadable or empty, no memory).  The message is
 * printed.  *ret is written only on success; free with
 * vpcictl_client_free(). */
int vpcictl_client_new(const char *connect, const char *token_file,
                       struct vpcictl_client **ret);
void vpcictl_client_free(struct vpcictl_client *c);

/* Send one request.  path is the request target ("/v1/devices"), already
 * escaped (see vpcictl_path_segment()).  accept may be NULL (then
 * "application/json").  With a body (may be empty, len 0) the request
 * carries it as application/json; body NULL sends none.  Returns 0 with
 * *ret filled for any HTTP status; -errno when no complete answer came
 * (cannot connect, timeout, response over VPCICTL_MAX_RESPONSE), with the
 * message printed. */
int vpcictl_request(struct vpcictl_client *c, const char *method,
                    const char *path, const char *accept, const char *body,
                    size_t body_len, struct vpcictl_response *ret);
void vpcictl_response_clear(struct vpcictl_response *r);

/* Append "/" and one path segment to *path (malloc'ed, may start NULL),
 * percent-encoding everything outside [A-Za-z0-9-._~:@] and a segment made
 * only of dots, so user input can never change the route.  0 or -ENOMEM. */
int vpcictl_path_segment(char **path, const char *segment);

/* True when the response's media type (parameters ignored, case-
 * insensitive) is `type`. */
bool vpcictl_response_is(const struct vpcictl_response *r, const char *type);

/* Parse a JSON response: it must be application/json, valid JSON without
 * duplicate keys, and an object.  Returns 0 and a new reference in *ret,
 * or -EBADMSG with the message printed. */
int vpcictl_response_json(const struct vpcictl_client *c,
                          const struct vpcictl_response *r, json_t **ret);

/* Report a non-2xx response on stderr: "vpcictl: DETAIL (CODE)" from an
 * application/problem+json body, else "vpcictl: URL: HTTP STATUS".  If the
 * problem carries errors[] (invalid-layout) and ret_problem is not NULL,
 * the parsed problem object is returned there (new reference) instead of
 * the generic message being printed, so the caller can print each error;
 * *ret_problem is NULL otherwise. */
void vpcictl_report_error(const struct vpcictl_client *c,
                          const struct vpcictl_response *r,
                          json_t **ret_problem);

/* The "code" of an application/problem+json response, malloc'ed; NULL
 * when the response is not a well-formed problem (or out of memory). */
char *vpcictl_problem_code(const struct vpcictl_response *r);

/* The connect string this client talks to, for messages. */
const char *vpcictl_client_target(const struct vpcictl_client *c);

/* Copy s into a malloc'ed string safe to print on a terminal: control
 * characters (C0, DEL, C1) become '?'.  NULL s gives "-".  NULL only when
 * out of memory. */
char *vpcictl_printable(const char *s);

#endif
