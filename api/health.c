/* SPDX-License-Identifier: BSD-2-Clause */
/* GET /v1/health */
#include "config.h"

#include <errno.h>

#include "api.h"
#include "service.h"

void api_health_get(struct api_request *rq, struct api_reply *out)
{
    struct store_error err;
    struct store_counts c;
    struct store *st = service_store(&err);
    int r = st ? store_counts(st, &c, &err) : -EIO;
    if (r < 0) {
        api_reply_store_error(out, rq, r, &err);
        return;
    }
    struct snapshot *s = service_snapshot();
    if (!s) {
        api_reply_problem(out, rq, PROB_UNAVAILABLE, NULL, "shutting down");
        return;
    }
    json_t *o =
        json_pack("{s:s, s:s, s:i, s:I, s:I, s:s, s:I}", "status", "ok",
                  "version", PACKAGE_VERSION, "schema_version",
                  STORE_SCHEMA_VERSION, "devices", (json_int_t)s->host->nfuncs,
                  "instance_types", (json_int_t)c.types, "last_scan",
                  s->scanned, "uptime_seconds", (json_int_t)service_uptime());
    snapshot_unref(s);
    api_reply_json(out, 200, o);
}
