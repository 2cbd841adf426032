/* SPDX-License-Identifier: BSD-2-Clause */
#include "route.h"

#include <stdio.h>
#include <string.h>

#include "api.h"

const struct api_route api_routes[] = {
    {API_GET, "/v1/health", api_health_get, BODY_NONE},
    {API_GET, "/metrics", api_metrics_get, BODY_NONE},
    {API_GET, "/v1/devices", api_devices_list, BODY_NONE},
    {API_POST, "/v1/devices/rescan", api_devices_rescan, BODY_NONE},
    {API_GET, "/v1/devices/{bdf}", api_device_get, BODY_NONE},
    {API_GET, "/v1/devices/{bdf}/layout", api_device_layout, BODY_NONE},
    {API_GET, "/v1/instance-types", api_types_list, BODY_NONE},
    {API_POST, "/v1/instance-types", api_types_create, BODY_JSON},
    {API_GET, "/v1/instance-types/{name}", api_type_get, BODY_NONE},
    {API_GET, "/v1/instance-types/{name}/versions", api_versions_list,
     BODY_NONE},
    {API_POST, "/v1/instance-types/{name}/versions", api_versions_publish,
     BODY_JSON},
    {API_GET, "/v1/instance-types/{name}/versions/{n}", api_version_get,
     BODY_NONE},
    {API_POST, "/v1/instance-types/{name}/versions/{n}/deprecate",
     api_version_deprecate, BODY_NONE},
    {API_POST, "/v1/compat", api_compat_post, BODY_JSON},
    {API_GET, "/v1/devices/{bdf}/compat", api_device_compat, BODY_NONE},
    {API_POST, "/v1/compat/offline", api_compat_offline, BODY_JSON},
    {API_POST, "/v1/attachments", api_attachments_create, BODY_JSON},
    {API_GET, "/v1/attachments", api_attachments_list, BODY_NONE},
    {API_GET, "/v1/attachments/{id}", api_attachment_get, BODY_NONE},
    {API_DELETE, "/v1/attachments/{id}", api_attachment_delete, BODY_NONE},
    {API_GET, "/v1/attachments/{id}/layout", api_attachment_layout, BODY_NONE},
    {API_POST, "/v1/attachments/{id}/migrate-out", api_attachment_migrate_out,
     BODY_NONE},
    {API_POST, "/v1/attachments/{id}/migrate-out/complete",
     api_attachment_migrate_complete, BODY_NONE},
    {API_POST, "/v1/attachments/{id}/migrate-out/cancel",
     api_attachment_migrate_cancel, BODY_NONE},
    {API_POST, "/v1/migrations/precheck", api_migrations_precheck, BODY_JSON},
    {API_POST, "/v1/migrations/incoming", api_migrations_incoming, BODY_JSON},
    {API_POST, "/v1/migrations/incoming/{id}/commit", api_incoming_commit,
     BODY_NONE},
    {API_POST, "/v1/migrations/incoming/{id}/abort", api_incoming_abort,
     BODY_NONE},
};
const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);

size_t api_body_max(size_t route)
{
    return route < api_nroutes &&
                   api_routes[route].handler == api_compat_offline
               ? API_SNAPSHOT_BODY_MAX
               : API_BODY_MAX;
}

static const char *const method_names[API_METHODS] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER",
};

const char *api_method_name(enum api_method m)
{
    for (unsigned i = 0; i < API_METHODS; i++)
        if (m == (enum api_method)(1u << i))
            return method_names[i];
    return "OTHER";
}

enum api_method api_method_parse(const char *s)
{
    for (unsigned i = 0; i + 1 < API_METHODS; i++)
        if (!strcmp(s, method_names[i]))
            return (enum api_method)(1u << i);
    return API_OTHER;
}

void api_allow_header(unsigned mask, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < API_METHODS; i++) {
        if (!(mask & (1u << i)))
            continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
                         method_names[i]);
        if (n < 0 || (size_t)n >= len - used)
            return;
        used += (size_t)n;
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode one path segment; false when it is too long or holds
 * %00 or a malformed escape (no parameter rule accepts those). */
static bool decode_segment(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return false;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0))
                return false;
            c = (char)(h << 4 | l);
            i += 2;
        }
        if (o == API_PARAM_MAX)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

/* Does path match template?  Fills the parameters when params is
 * non-NULL; returns the number of literal segments, -1 if no match. */
static int match(const char *tmpl, const char *path, struct api_request *rq)
{
    int literals = 0;
    unsigned np = 0;
    const char *t = tmpl, *p = path;
    while (*t && *p) {
        if (*t != '/' || *p != '/')
            return -1;
        t++;
        p++;
        size_t tl = strcspn(t, "/"), pl = strcspn(p, "/");
        if (t[0] == '{') {
            if (pl == 0)
                return -1;
            if (rq && np < API_MAX_PARAMS) {
                rq->param_bad[np] = !decode_segment(p, pl, rq->param[np]);
                if (rq->param_bad[np])
                    rq->param[np][0] = '\0';
            }
            np++;
        } else {
            if (tl != pl || memcmp(t, p, tl))
                return -1;
            literals++;
        }
        t += tl;
        p += pl;
    }
    return *t || *p ? -1 : literals;
}

enum api_match api_route_find(enum api_method method, const char *path,
                              struct api_request *rq, size_t *ret_index,
                              unsigned *ret_allow)
{
    int best = -1;
    for (size_t i = 0; i < api_nroutes; i++) {
        int m = match(api_routes[i].template, path, NULL);
        if (m > best)
            best = m;
    }
    if (best < 0)
        return MATCH_NOT_FOUND;
    unsigned allow = 0;
    enum api_method want = method == API_HEAD ? API_GET : method;
    for (size_t i = 0; i < api_nroutes; i++) {
        if (match(api_routes[i].template, path, NULL) != best)
            continue;
        allow |= api_routes[i].method;
        if (api_routes[i].method == API_GET)
            allow |= API_HEAD;
        if (api_routes[i].method == want) {
            match(api_routes[i].template, path, rq);
            *ret_index = i;
            return MATCH_OK;
        }
    }
    *ret_allow = allow;
    return MATCH_NO_METHOD;
}
