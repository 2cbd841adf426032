/* SPDX-License-Identifier: BSD-2-Clause */
/* The REST client of vpcictl: libcurl for HTTP, jansson for JSON. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include <curl/curl.h>

#include "client.h"
#include "config.h"
#include "vpcictl.h"

struct vpcictl_client {
    CURL *curl;
    char *target;    /* the connect string, for messages */
    char *unix_path; /* NULL for TCP */
    char *base_url;  /* "http://localhost" or "http://HOST:PORT" */
    char *token;     /* NULL for the unix socket */
    char errbuf[CURL_ERROR_SIZE];
};

struct recv_buf {
    char *data;
    size_t len, cap;
    bool too_big;
};

static void freep(void *p)
{
    free(*(void **)p);
}
#define CLEANUP_FREE __attribute__((cleanup(freep)))

static void curl_urlp(CURLU **u)
{
    curl_url_cleanup(*u);
}

static void curl_freep(char **p)
{
    curl_free(*p);
}

static void slist_freep(struct curl_slist **l)
{
    curl_slist_free_all(*l);
}

static bool curl_ready;

const char *vpcictl_client_target(const struct vpcictl_client *c)
{
    return c->target;
}

/* The token file holds one token; surrounding whitespace is not part of
 * it.  It ends up in a request header, so anything but visible ASCII is
 * refused rather than sent. */
static int read_token(const char *path, char **ret)
{
    size_t len;
    CLEANUP_FREE char *text = vpcictl_read_file(path, &len);
    if (!text)
        return -EIO;
    if (len > VPCICTL_MAX_TOKEN) {
        fprintf(stderr, "vpcictl: %s: token file larger than %u bytes\n", path,
                VPCICTL_MAX_TOKEN);
        return -EBADMSG;
    }
    size_t b = 0, e = len;
    while (b < e && strchr(" \t\r\n", text[b]))
        b++;
    while (e > b && strchr(" \t\r\n", text[e - 1]))
        e--;
    if (b == e) {
        fprintf(stderr, "vpcictl: %s: empty token file\n", path);
        return -EBADMSG;
    }
    for (size_t i = b; i < e; i++)
        if ((unsigned char)text[i] < 0x21 || (unsigned char)text[i] > 0x7e) {
            fprintf(stderr,
                    "vpcictl: %s: the token holds a character that "
                    "cannot go in an HTTP header\n",
                    path);
            return -EBADMSG;
        }
    char *t = strndup(text + b, e - b);
    if (!t)
        return -ENOMEM;
    *ret = t;
    return 0;
}

static int connect_usage(const char *connect, const char *why)
{
    fprintf(stderr,
            "vpcictl: --connect %s: %s (unix:PATH or http://HOST:PORT)\n",
            connect, why);
    return -EINVAL;
}

/* http://HOST:PORT, checked by libcurl's URL parser: no user, path, query
 * or fragment, so the connect string cannot smuggle anything into the
 * requests built on it. */
static int parse_http(struct vpcictl_client *c, const char *connect)
{
    __attribute__((cleanup(curl_urlp))) CURLU *u = curl_url();
    if (!u)
        return -ENOMEM;
    if (curl_url_set(u, CURLUPART_URL, connect, 0) != CURLUE_OK)
        return connect_usage(connect, "not a valid URL");
    __attribute__((cleanup(curl_freep))) char *host = NULL;
    __attribute__((cleanup(curl_freep))) char *port = NULL;
    __attribute__((cleanup(curl_freep))) char *path = NULL;
    __attribute__((cleanup(curl_freep))) char *extra = NULL;
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0])
        return connect_usage(connect, "no host");
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
        return connect_usage(connect, "no port");
    if (curl_url_get(u, CURLUPART_USER, &extra, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_QUERY, &extra, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_FRAGMENT, &extra, 0) == CURLUE_OK)
        return connect_usage(connect, "only HOST:PORT may follow http://");
    if (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
        strcmp(path, "") && strcmp(path, "/"))
        return connect_usage(connect, "only HOST:PORT may follow http://");
    if (asprintf(&c->base_url, "http://%s:%s", host, port) < 0) {
        c->base_url = NULL;
        return -ENOMEM;
    }
    return 0;
}

int vpcictl_client_new(const char *connect, const char *token_file,
                       struct vpcictl_client **ret)
{
    struct vpcictl_client *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    int r = -ENOMEM;
    c->target = strdup(connect);
    if (!c->target)
        goto fail;
    if (!strncmp(connect, "unix:", 5)) {
        const char *p = connect + 5;
        if (!p[0]) {
            r = connect_usage(connect, "empty socket path");
            goto fail;
        }
        if (strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
            r = connect_usage(connect, "socket path too long");
            goto fail;
        }
        c->unix_path = strdup(p);
        c->base_url = strdup("http://localhost");
        if (!c->unix_path || !c->base_url)
            goto fail;
    } else if (!strncasecmp(connect, "http://", 7)) {
        if (!token_file || !token_file[0]) {
            fprintf(stderr,
                    "vpcictl: %s needs --token-file FILE (or "
                    "$VPCID_TOKEN_FILE)\n",
                    connect);
            r = -EINVAL;
            goto fail;
        }
        r = parse_http(c, connect);
        if (r < 0)
            goto fail;
        r = read_token(token_file, &c->token);
        if (r < 0)
            goto fail;
    } else {
        r = connect_usage(connect, "unknown scheme");
        goto fail;
    }
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            fprintf(stderr, "vpcictl: cannot initialise libcurl\n");
            r = -EIO;
            goto fail;
        }
        curl_ready = true;
    }
    c->curl = curl_easy_init();
    if (!c->curl) {
        fprintf(stderr, "vpcictl: cannot initialise libcurl\n");
        r = -EIO;
        goto fail;
    }
    *ret = c;
    return 0;
fail:
    if (r == -ENOMEM)
        fprintf(stderr, "vpcictl: out of memory\n");
    vpcictl_client_free(c);
    return r;
}

void vpcictl_client_free(struct vpcictl_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->target);
    free(c->unix_path);
    free(c->base_url);
    if (c->token) {
        explicit_bzero(c->token, strlen(c->token));
        free(c->token);
    }
    free(c);
}

void vpcictl_response_clear(struct vpcictl_response *r)
{
    if (!r)
        return;
    free(r->content_type);
    free(r->body);
    *r = (struct vpcictl_response){0};
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct recv_buf *b = userdata;
    size_t n = size * nmemb;
    if (n > VPCICTL_MAX_RESPONSE - b->len) {
        b->too_big = true;
        return 0; /* libcurl aborts the transfer */
    }
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 16384;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        if (ncap > VPCICTL_MAX_RESPONSE + 1)
            ncap = VPCICTL_MAX_RESPONSE + 1;
        char *d = realloc(b->data, ncap);
        if (!d)
            return 0;
        b->data = d;
        b->cap = ncap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    return n;
}

static void report_transport(struct vpcictl_client *c, CURLcode rc,
                             const struct recv_buf *b)
{
    long os_errno = 0;
    curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
    const char *why = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_WRITE_ERROR:
        if (b->too_big)
            fprintf(stderr, "vpcictl: %s: response larger than %u MiB\n",
                    c->target, VPCICTL_MAX_RESPONSE >> 20);
        else
            fprintf(stderr, "vpcictl: %s: out of memory\n", c->target);
        break;
    case CURLE_COULDNT_CONNECT:
        if (os_errno > 0 && os_errno < INT_MAX)
            fprintf(stderr, "vpcictl: cannot connect to %s: %s%s\n", c->target,
                    strerror((int)os_errno),
                    os_errno == EACCES || os_errno == EPERM
                        ? " (is your user in vpcid's group?)"
                        : " (is vpcid running?)");
        else
            fprintf(stderr, "vpcictl: cannot connect to %s: %s\n", c->target,
                    why);
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        fprintf(stderr, "vpcictl: cannot connect to %s: %s\n", c->target, why);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        fprintf(stderr, "vpcictl: %s: no answer within %ld s\n", c->target,
                VPCICTL_TIMEOUT_MS / 1000);
        break;
    default:
        fprintf(stderr, "vpcictl: %s: %s\n", c->target, why);
        break;
    }
}

int vpcictl_request(struct vpcictl_client *c, const char *method,
                    const char *path, const char *accept, const char *body,
                    size_t body_len, struct vpcictl_response *ret)
{
    CURL *h = c->curl;
    CLEANUP_FREE char *url = NULL;
    CLEANUP_FREE char *accept_h = NULL;
    __attribute__((cleanup(slist_freep))) struct curl_slist *hdrs = NULL;
    struct recv_buf b = {0};

    if (asprintf(&url, "%s%s", c->base_url, path) < 0 ||
        asprintf(&accept_h, "Accept: %s",
                 accept ? accept : "application/json") < 0) {
        url = accept_h = NULL;
        fprintf(stderr, "vpcictl: out of memory\n");
        return -ENOMEM;
    }
    /* "Expect:" and an empty "Content-Type:" remove libcurl's defaults:
     * no 100-continue round trip, and a POST without a body is not
     * labelled as a form. */
    const char *h_list[] = {
        accept_h,
        "Expect:",
        body ? "Content-Type: application/json" : "Content-Type:",
    };
    for (size_t i = 0; i < sizeof(h_list) / sizeof(h_list[0]); i++) {
        struct curl_slist *n = curl_slist_append(hdrs, h_list[i]);
        if (!n) {
            fprintf(stderr, "vpcictl: out of memory\n");
            return -ENOMEM;
        }
        hdrs = n;
    }

    curl_easy_reset(h);
    c->errbuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (c->unix_path)
        curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->unix_path);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP);
#endif
    /* The daemon is local or named explicitly: an http_proxy in the
     * environment must not receive the token. */
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, VPCICTL_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, VPCICTL_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t)VPCICTL_MAX_RESPONSE);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "vpcictl/" PACKAGE_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    if (c->token) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, c->token);
    }
    if (!strcmp(method, "GET")) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        if (!strcmp(method, "POST"))
            curl_easy_setopt(h, CURLOPT_POST, 1L);
        else
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(body ? body_len : 0));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
    }

    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_FILESIZE_EXCEEDED) {
        b.too_big = true;
        rc = CURLE_WRITE_ERROR;
    }
    if (rc != CURLE_OK) {
        report_transport(c, rc, &b);
        free(b.data);
        return -EIO;
    }
    long status = 0;
    char *ct = NULL;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
    if (status < 100 || status > 599) {
        fprintf(stderr, "vpcictl: %s: no valid HTTP status in the answer\n",
                c->target);
        free(b.data);
        return -EBADMSG;
    }
    if (!b.data) {
        b.data = malloc(1);
        if (!b.data) {
            fprintf(stderr, "vpcictl: out of memory\n");
            return -ENOMEM;
        }
    }
    b.data[b.len] = '\0';
    struct vpcictl_response r = {
        .status = status, .body = b.data, .len = b.len};
    if (ct) {
        r.content_type = strdup(ct);
        if (!r.content_type) {
            free(b.data);
            fprintf(stderr, "vpcictl: out of memory\n");
            return -ENOMEM;
        }
    }
    *ret = r;
    return 0;
}

int vpcictl_path_segment(char **path, const char *segment)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t old = *path ? strlen(*path) : 0, n = strlen(segment);
    /* "." and ".." are route syntax, not names: encode them entirely. */
    bool dots = strspn(segment, ".") == n;
    char *p = realloc(*path, old + 1 + 3 * n + 1);
    if (!p)
        return -ENOMEM;
    *path = p;
    p += old;
    *p++ = '/';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)segment[i];
        if (!dots && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || strchr("-._~:@", ch))) {
            *p++ = (char)ch;
        } else {
            *p++ = '%';
            *p++ = hex[ch >> 4];
            *p++ = hex[ch & 15];
        }
    }
    *p = '\0';
    return 0;
}

bool vpcictl_response_is(const struct vpcictl_response *r, const char *type)
{
    const char *ct = r->content_type;
    if (!ct)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strcspn(ct, "; \t");
    return n == strlen(type) && !strncasecmp(ct, type, n);
}

static json_t *parse_json(const struct vpcictl_client *c,
                          const struct vpcictl_response *r, bool quiet)
{
    json_error_t err;
    json_t *j = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        if (!quiet) {
            CLEANUP_FREE char *why = vpcictl_printable(err.text);
            fprintf(stderr,
                    "vpcictl: %s: malformed JSON in the answer (line %d, "
                    "column %d: %s)\n",
                    c->target, err.line, err.column, why ? why : "?");
        }
        return NULL;
    }
    if (!json_is_object(j)) {
        if (!quiet)
            fprintf(stderr,
                    "vpcictl: %s: the answer is JSON but not an object\n",
                    c->target);
        json_decref(j);
        return NULL;
    }
    return j;
}

int vpcictl_response_json(const struct vpcictl_client *c,
                          const struct vpcictl_response *r, json_t **ret)
{
    if (!vpcictl_response_is(r, "application/json")) {
        CLEANUP_FREE char *ct = vpcictl_printable(r->content_type);
        fprintf(stderr,
                "vpcictl: %s: expected an application/json answer, got %s\n",
                c->target, ct ? ct : "?");
        return -EBADMSG;
    }
    json_t *j = parse_json(c, r, false);
    if (!j)
        return -EBADMSG;
    *ret = j;
    return 0;
}

void vpcictl_report_error(const struct vpcictl_client *c,
                          const struct vpcictl_response *r,
                          json_t **ret_problem)
{
    if (ret_problem)
        *ret_problem = NULL;
    json_auto_t *p = NULL;
    if (vpcictl_response_is(r, "application/problem+json"))
        p = parse_json(c, r, true);
    const char *detail = json_string_value(json_object_get(p, "detail"));
    const char *code = json_string_value(json_object_get(p, "code"));
    if (!detail)
        detail = json_string_value(json_object_get(p, "title"));
    if (!detail || !code) {
        CLEANUP_FREE char *ct = vpcictl_printable(r->content_type);
        fprintf(stderr, "vpcictl: %s: unexpected HTTP %ld answer (%s)\n",
                c->target, r->status, ct ? ct : "?");
        return;
    }
    if (ret_problem && json_is_array(json_object_get(p, "errors")) &&
        json_array_size(json_object_get(p, "errors")) > 0) {
        *ret_problem = json_incref(p);
        return;
    }
    CLEANUP_FREE char *d = vpcictl_printable(detail);
    CLEANUP_FREE char *k = vpcictl_printable(code);
    fprintf(stderr, "vpcictl: %s (%s)\n", d ? d : "?", k ? k : "?");
}

char *vpcictl_problem_code(const struct vpcictl_response *r)
{
    if (!vpcictl_response_is(r, "application/problem+json"))
        return NULL;
    json_auto_t *p = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL);
    const char *code = json_string_value(json_object_get(p, "code"));
    return code ? strdup(code) : NULL;
}

char *vpcictl_printable(const char *s)
{
    if (!s)
        return strdup("-");
    char *out = strdup(s);
    if (!out)
        return NULL;
    for (unsigned char *p = (unsigned char *)out; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            *p = '?';
        else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            p[0] = p[1] = '?'; /* C1 controls, UTF-8 encoded */
    }
    return out;
}
