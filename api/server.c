/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The libmicrohttpd server: one MHD daemon per listening socket, each with
 * its own epoll thread pool.  Every request goes through the same steps:
 * limits on the request target and headers, the bearer token on TCP, the
 * route, then the body (accumulated here with a cap), then the handler.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "body_cache.h"
#include "log.h"

#define CONN_MEMORY_LIMIT (32u * 1024)
#define CONN_TIMEOUT_S 30u
#define CONN_LIMIT 1024u

struct listener {
    struct api_server *srv;
    struct MHD_Daemon *mhd;
    bool tcp;
    bool quiesced;
    char name[300];
};

struct api_server {
    struct listener *l;
    size_t n;
    char *token;
    size_t token_len;
    atomic_long inflight;
};

/* One request, from the first line to the completed callback. */
struct req {
    struct api_request rq;
    struct listener *lis;
    char *uri; /* as sent, NUL-terminated; NULL if too long */
    bool uri_long;
    bool started;
    bool answered; /* a response is queued */
    size_t route;  /* api_nroutes until matched */
    char *body;
    size_t body_len, body_cap;
    bool body_large;
};

static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *c)
{
    struct listener *lis = cls;
    struct req *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->lis = lis;
    r->route = api_nroutes;
    /* A target over the limit keeps its first bytes, for the problem's
     * "instance" and the log. */
    r->uri_long = strlen(uri) > API_URI_MAX;
    r->uri = strndup(uri, API_URI_MAX);
    if (!r->uri) {
        free(r);
        return NULL;
    }
    r->rq.conn = c;
    atomic_fetch_add(&lis->srv->inflight, 1);
    return r;
}

static void completed(void *cls, struct MHD_Connection *c, void **req_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct listener *lis = cls;
    struct req *r = *req_cls;
    (void)c;
    (void)toe;
    if (!r)
        return;
    free(r->uri);
    free(r->body);
    free(r);
    *req_cls = NULL;
    atomic_fetch_sub(&lis->srv->inflight, 1);
}

static enum MHD_Result queue(struct req *r, struct api_reply *out)
{
    if (!out->resp) {
        /* Out of memory while answering: the bare status, no body. */
        out->resp =
            MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (!out->resp)
            return MHD_NO;
    }
    if (!out->status)
        out->status = 500;
    enum MHD_Result res =
        MHD_queue_response(r->rq.conn, out->status, out->resp);
    MHD_destroy_response(out->resp);
    out->resp = NULL;
    r->answered = true;
    api_metrics_count(r->route, r->rq.method, out->status);
    log_debug("%s %s -> %u (%s)", api_method_name(r->rq.method),
              r->rq.path ? r->rq.path : "", out->status, r->rq.actor);
    return res;
}

static enum MHD_Result header_size(void *cls, enum MHD_ValueKind kind,
                                   const char *key, size_t key_size,
                                   const char *value, size_t value_size)
{
    size_t *total = cls;
    (void)kind;
    (void)key;
    (void)value;
    *total += key_size + value_size + 4;
    return MHD_YES;
}

/* Compare without leaking, through timing, how much of the token matched. */
static bool token_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned char diff = alen != blen;
    for (size_t i = 0; i < blen; i++)
        diff |= (unsigned char)(i < alen ? a[i] : 0) ^ (unsigned char)b[i];
    return diff == 0;
}

static bool authorized(const struct req *r)
{
    const char *h = MHD_lookup_connection_value(r->rq.conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7))
        return false;
    h += 7;
    while (*h == ' ')
        h++;
    size_t len = strlen(h);
    while (len && h[len - 1] == ' ')
        len--;
    return token_equal(h, len, r->lis->srv->token, r->lis->srv->token_len);
}

static void set_actor(struct req *r)
{
    const union MHD_ConnectionInfo *ci;
    if (!r->lis->tcp) {
        ci = MHD_get_connection_info(r->rq.conn,
                                     MHD_CONNECTION_INFO_CONNECTION_FD);
        struct ucred cred;
        socklen_t len = sizeof(cred);
        if (ci && getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred,
                             &len) == 0)
            snprintf(r->rq.actor, sizeof(r->rq.actor), "uid:%u",
                     (unsigned)cred.uid);
        else
            snprintf(r->rq.actor, sizeof(r->rq.actor), "unix");
        return;
    }
    ci =
        MHD_get_connection_info(r->rq.conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char addr[INET6_ADDRSTRLEN] = "?";
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
                      addr, sizeof(addr));
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
                      addr, sizeof(addr));
    }
    snprintf(r->rq.actor, sizeof(r->rq.actor), "tcp:%s", addr);
}

static bool is_json_type(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strlen("application/json");
    if (strncasecmp(ct, "application/json", n))
        return false;
    ct += n;
    while (*ct == ' ')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* Everything decided from the request line and headers; true when a
 * response is already queued (or the connection must close). */
static bool on_headers(struct req *r, const char *method, enum MHD_Result *res)
{
    struct api_reply out = {0};
    r->rq.method = api_method_parse(method);
    r->rq.tcp = r->lis->tcp;
    /* The path as sent: percent-decoding is per segment, in the router. */
    char *q = strchr(r->uri, '?');
    if (q)
        *q = '\0';
    r->rq.path = r->uri;
    set_actor(r);

    size_t hsize = 0;
    MHD_get_connection_values_n(r->rq.conn, MHD_HEADER_KIND, header_size,
                                &hsize);
    if (r->uri_long)
        api_reply_problem(&out, &r->rq, PROB_URI_TOO_LONG, NULL,
                          "the request target is longer than %u bytes",
                          API_URI_MAX);
    else if (hsize > API_HEADERS_MAX)
        api_reply_problem(&out, &r->rq, PROB_HEADERS_TOO_LARGE, NULL,
                          "request headers are longer than %u bytes",
                          API_HEADERS_MAX);
    else if (r->lis->tcp && !authorized(r))
        api_reply_problem(&out, &r->rq, PROB_UNAUTHORIZED, NULL,
                          "this listener needs \"Authorization: Bearer "
                          "TOKEN\"");
    if (out.status) {
        *res = queue(r, &out);
        return true;
    }

    unsigned allow = 0;
    switch (
        api_route_find(r->rq.method, r->rq.path, &r->rq, &r->route, &allow)) {
    case MATCH_OK:
        break;
    case MATCH_NOT_FOUND:
        api_reply_problem(&out, &r->rq, PROB_NOT_FOUND, NULL,
                          "no resource at this path");
        *res = queue(r, &out);
        return true;
    case MATCH_NO_METHOD: {
        char hdr[80];
        api_allow_header(allow, hdr, sizeof(hdr));
        api_reply_problem(&out, &r->rq, PROB_METHOD_NOT_ALLOWED, NULL,
                          "%s is not allowed here (allowed: %s)", method, hdr);
        api_reply_header(&out, MHD_HTTP_HEADER_ALLOW, hdr);
        *res = queue(r, &out);
        return true;
    }
    }

    const char *cl = MHD_lookup_connection_value(
        r->rq.conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    bool has_body =
        (cl && strcmp(cl, "0")) ||
        MHD_lookup_connection_value(r->rq.conn, MHD_HEADER_KIND,
                                    MHD_HTTP_HEADER_TRANSFER_ENCODING);
    size_t max = api_body_max(r->route);
    if (cl && strtoull(cl, NULL, 10) > max)
        api_reply_problem(&out, &r->rq, PROB_BODY_TOO_LARGE, NULL,
                          "the body is larger than %zu bytes", max);
    else if (api_routes[r->route].body == BODY_JSON &&
             !is_json_type(MHD_lookup_connection_value(
                 r->rq.conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE)))
        api_reply_problem(&out, &r->rq, PROB_UNSUPPORTED_MEDIA_TYPE, NULL,
                          "the body must be application/json");
    (void)has_body;
    if (out.status) {
        *res = queue(r, &out);
        return true;
    }
    return false;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
    (void)cls;
    (void)url;
    (void)version;
    struct req *r = *req_cls;
    if (!r)
        return MHD_NO; /* out of memory in uri_logger */
    r->rq.conn = c;
    if (!r->started) {
        r->started = true;
        enum MHD_Result res = MHD_YES;
        if (on_headers(r, method, &res))
            return res;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->answered || r->body_large)
            return MHD_YES;
        if (r->body_len + n > api_body_max(r->route)) {
            r->body_large = true;
            free(r->body);
            r->body = NULL;
            r->body_len = r->body_cap = 0;
            return MHD_YES;
        }
        if (r->body_len + n + 1 > r->body_cap) {
            size_t cap = r->body_cap ? r->body_cap : 4096;
            while (cap < r->body_len + n + 1)
                cap *= 2;
            char *b = realloc(r->body, cap);
            if (!b)
                return MHD_NO;
            r->body = b;
            r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, upload, n);
        r->body_len += n;
        r->body[r->body_len] = '\0';
        return MHD_YES;
    }
    if (r->answered)
        return MHD_YES;

    struct api_reply out = {0};
    if (r->body_large) {
        api_reply_problem(&out, &r->rq, PROB_BODY_TOO_LARGE, NULL,
                          "the body is larger than %zu bytes",
                          api_body_max(r->route));
    } else {
        r->rq.body = r->body;
        r->rq.body_len = r->body_len;
        api_routes[r->route].handler(&r->rq, &out);
    }
    return queue(r, &out);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_debug("libmicrohttpd: %s", msg);
}

int api_server_start(const struct api_listener_spec *l, size_t n,
                     unsigned threads, const char *token,
                     struct api_server **ret, char *err, size_t errlen)
{
    struct api_server *s = calloc(1, sizeof(*s));
    if (!s || !(s->l = calloc(n ? n : 1, sizeof(*s->l)))) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (token) {
        s->token = strdup(token);
        s->token_len = strlen(token);
    }
    if (threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus < 2 ? 2 : (unsigned)(cpus > 16 ? 16 : cpus);
    }
    s->n = n;
    for (size_t i = 0; i < n; i++) {
        struct listener *lis = &s->l[i];
        lis->srv = s;
        lis->tcp = l[i].tcp;
        snprintf(lis->name, sizeof(lis->name), "%s", l[i].name);
        if (lis->tcp && !s->token) {
            snprintf(err, errlen, "%s: a TCP listener needs a token",
                     l[i].name);
            api_server_stop(s);
            return -EINVAL;
        }
        lis->mhd = MHD_start_daemon(
            MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_TURBO |
                MHD_USE_ERROR_LOG,
            0, NULL, NULL, on_request, lis, MHD_OPTION_EXTERNAL_LOGGER,
            mhd_logger, NULL, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)l[i].fd,
            MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_URI_LOG_CALLBACK,
            uri_logger, lis, MHD_OPTION_NOTIFY_COMPLETED, completed, lis,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY_LIMIT,
            MHD_OPTION_CONNECTION_TIMEOUT, CONN_TIMEOUT_S,
            MHD_OPTION_CONNECTION_LIMIT, CONN_LIMIT,
            MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
        if (!lis->mhd) {
            snprintf(err, errlen, "%s: libmicrohttpd would not start",
                     l[i].name);
            api_server_stop(s);
            return -EIO;
        }
    }
    *ret = s;
    return 0;
}

void api_server_quiesce(struct api_server *s)
{
    for (size_t i = 0; s && i < s->n; i++) {
        /* The listening socket stays the caller's to close. */
        if (s->l[i].mhd && !s->l[i].quiesced) {
            MHD_quiesce_daemon(s->l[i].mhd);
            s->l[i].quiesced = true;
        }
    }
}

bool api_server_drain(struct api_server *s, unsigned timeout_ms)
{
    for (unsigned waited = 0;; waited += 10) {
        if (atomic_load(&s->inflight) <= 0)
            return true;
        if (waited >= timeout_ms)
            return false;
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
}

void api_server_stop(struct api_server *s)
{
    if (!s)
        return;
    api_server_quiesce(s);
    for (size_t i = 0; i < s->n; i++)
        if (s->l[i].mhd)
            MHD_stop_daemon(s->l[i].mhd);
    free(s->l);
    free(s->token);
    free(s);
    api_body_cache_clear();
}
