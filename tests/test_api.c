/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The HTTP layer without a socket: the route table and its matching, the
 * Allow header, the problem registry, the JSON body reader and its limits,
 * and the text sanitiser.  The daemon tests drive the same code over real
 * sockets.
 */
#include <jansson.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "testutil.h"

static size_t find(enum api_method m, const char *path, struct api_request *rq,
                   enum api_match *ret, unsigned *allow)
{
    size_t idx = (size_t)-1;
    *allow = 0;
    *ret = api_route_find(m, path, rq, &idx, allow);
    return idx;
}

START_TEST(test_routes_match)
{
    struct api_request rq = {0};
    enum api_match m;
    unsigned allow;
    size_t i = find(API_GET, "/v1/devices/0000:3b:00.0", &rq, &m, &allow);
    ck_assert_int_eq(m, MATCH_OK);
    ck_assert_str_eq(api_routes[i].template, "/v1/devices/{bdf}");
    ck_assert_str_eq(rq.param[0], "0000:3b:00.0");

    /* The literal segment wins over {bdf}. */
    i = find(API_POST, "/v1/devices/rescan", &rq, &m, &allow);
    ck_assert_int_eq(m, MATCH_OK);
    ck_assert_str_eq(api_routes[i].template, "/v1/devices/rescan");
    find(API_GET, "/v1/devices/rescan", &rq, &m, &allow);
    ck_assert_int_eq(m, MATCH_NO_METHOD);
    ck_assert_uint_eq(allow, API_POST);

    i = find(API_GET, "/v1/instance-types/nic-vf/versions/12", &rq, &m, &allow);
    ck_assert_int_eq(m, MATCH_OK);
    ck_assert_str_eq(rq.param[0], "nic-vf");
    ck_assert_str_eq(rq.param[1], "12");
    i = find(API_POST, "/v1/instance-types/nic-vf/versions/12/deprecate", &rq,
             &m, &allow);
    ck_assert_int_eq(m, MATCH_OK);
    ck_assert_str_eq(api_routes[i].template,
                     "/v1/instance-types/{name}/versions/{n}/deprecate");

    /* HEAD is served by GET routes; the versions path has GET and POST. */
    i = find(API_HEAD, "/v1/health", &rq, &m, &allow);
    ck_assert_int_eq(m, MATCH_OK);
    find(API_DELETE, "/v1/instance-types/x/versions", &rq, &m, &allow);
    ck_assert_int_eq(m, MATCH_NO_METHOD);
    ck_assert_uint_eq(allow, API_GET | API_HEAD | API_POST);
    char hdr[80];
    api_allow_header(allow, hdr, sizeof(hdr));
    ck_assert_str_eq(hdr, "GET, HEAD, POST");

    static const char *const missing[] = {
        "/",
        "",
        "/v1",
        "/v1/",
        "/v1/devices/",
        "/v1/devices//layout",
        "/v1/health/",
        "/v2/health",
        "/v1/instance-types/x/versions/1/deprecate/again",
        "/V1/health",
    };
    for (size_t k = 0; k < sizeof(missing) / sizeof(missing[0]); k++) {
        find(API_GET, missing[k], &rq, &m, &allow);
        ck_assert_msg(m == MATCH_NOT_FOUND, "%s matched", missing[k]);
    }
}
END_TEST

START_TEST(test_params_decoded)
{
    struct api_request rq = {0};
    enum api_match m;
    unsigned allow;
    find(API_GET, "/v1/devices/0000%3a3b%3A00.0/layout", &rq, &m, &allow);
    ck_assert_int_eq(m, MATCH_OK);
    ck_assert_str_eq(rq.param[0], "0000:3b:00.0");
    ck_assert(!rq.param_bad[0]);

    /* An encoded slash stays inside its segment (and no name allows it). */
    find(API_GET, "/v1/instance-types/a%2Fb", &rq, &m, &allow);
    ck_assert_int_eq(m, MATCH_OK);
    ck_assert_str_eq(rq.param[0], "a/b");

    /* %00 and broken escapes would cut or bend a parameter: refused. */
    static const char *const bad[] = {
        "/v1/instance-types/abc%00def",
        "/v1/instance-types/abc%",
        "/v1/instance-types/abc%4",
        "/v1/instance-types/abc%zz",
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        find(API_GET, bad[k], &rq, &m, &allow);
        ck_assert_int_eq(m, MATCH_OK);
        ck_assert_msg(rq.param_bad[0], "%s accepted", bad[k]);
        ck_assert_str_eq(rq.param[0], "");
    }
    char longp[400] = "/v1/instance-types/";
    memset(longp + strlen(longp), 'a', API_PARAM_MAX + 1);
    find(API_GET, longp, &rq, &m, &allow);
    ck_assert_int_eq(m, MATCH_OK);
    ck_assert(rq.param_bad[0]);
}
END_TEST

START_TEST(test_methods)
{
    ck_assert_int_eq(api_method_parse("GET"), API_GET);
    ck_assert_int_eq(api_method_parse("DELETE"), API_DELETE);
    ck_assert_int_eq(api_method_parse("get"), API_OTHER);
    ck_assert_int_eq(api_method_parse("BREW"), API_OTHER);
    ck_assert_str_eq(api_method_name(API_PATCH), "PATCH");
}
END_TEST

START_TEST(test_problem_registry)
{
    for (size_t i = 0; i < PROB_COUNT; i++) {
        const struct api_problem_def *p = &api_problems[i];
        ck_assert_msg(p->code && p->title, "problem %zu undefined", i);
        ck_assert_msg(p->status >= 400 && p->status <= 599, "%s: %u", p->code,
                      p->status);
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(p->code, api_problems[j].code);
    }
    ck_assert_uint_eq(api_problems[PROB_BODY_TOO_LARGE].status, 413);
    ck_assert_uint_eq(api_problems[PROB_INVALID_LAYOUT].status, 422);
    ck_assert_uint_eq(api_problems[PROB_UNAUTHORIZED].status, 401);
}
END_TEST

static const struct api_field fields[] = {
    {"name", true, 8, PROB_BAD_FIELD, true},
    {"layout", true, 32, PROB_BODY_TOO_LARGE, false},
};

/* Run the body reader on text; returns the reply status (0: accepted). */
static unsigned body(const char *text)
{
    struct api_request rq = {
        .body = text, .body_len = text ? strlen(text) : 0, .path = "/t"};
    struct api_reply out = {0};
    json_t *root = NULL;
    const char *v[2];
    size_t len[2];
    if (api_body_fields(&rq, &out, fields, 2, &root, v, len) == 0) {
        ck_assert_ptr_null(out.resp);
        json_decref(root);
        return 0;
    }
    ck_assert_ptr_nonnull(out.resp);
    MHD_destroy_response(out.resp);
    return out.status;
}

START_TEST(test_body_fields)
{
    ck_assert_uint_eq(body("{\"name\":\"a\",\"layout\":\"x\\ny\"}"), 0);
    ck_assert_uint_eq(body(NULL), 400);
    ck_assert_uint_eq(body(""), 400);
    ck_assert_uint_eq(body("[1]"), 400);
    ck_assert_uint_eq(body("{\"name\":\"a\",\"layout\":\"x\"} x"), 400);
    ck_assert_uint_eq(body("{\"name\":\"a\",\"name\":\"b\",\"layout\":\"x\"}"),
                      400);
    ck_assert_uint_eq(body("{\"name\":1,\"layout\":\"x\"}"), 400);
    ck_assert_uint_eq(body("{\"layout\":\"x\"}"), 400);
    ck_assert_uint_eq(body("{\"name\":\"a\",\"layout\":\"x\",\"z\":1}"), 400);
    /* Too long: per field, the problem the field names. */
    ck_assert_uint_eq(body("{\"name\":\"123456789\",\"layout\":\"x\"}"), 400);
    ck_assert_uint_eq(body("{\"name\":\"a\",\"layout\":"
                           "\"123456789012345678901234567890123\"}"),
                      413);
    /* Control characters only where the field is text. */
    ck_assert_uint_eq(body("{\"name\":\"a\\tb\",\"layout\":\"x\"}"), 400);
    ck_assert_uint_eq(body("{\"name\":\"a\\u0085\",\"layout\":\"x\"}"), 400);
    ck_assert_uint_eq(body("{\"name\":\"\\u00e9\",\"layout\":\"x\"}"), 0);
    ck_assert_uint_eq(body("{\"name\":\"a\",\"layout\":\"a\\u0000b\"}"), 400);

    /* Nesting beyond the limit is refused before jansson parses it;
     * brackets inside strings do not count. */
    char deep[200] = "{\"name\":";
    for (int i = 0; i < API_JSON_DEPTH_MAX; i++)
        strcat(deep, "[");
    ck_assert_uint_eq(body(deep), 400);
    ck_assert_uint_eq(
        body("{\"name\":\"a\",\"layout\":\"[[[[[[[[[[[[[[[[[[[[\"}"), 0);
}
END_TEST

START_TEST(test_json_text)
{
    json_t *j = api_json_text("ok \xc3\xa9 \x01 \xff end");
    ck_assert_str_eq(json_string_value(j), "ok \xc3\xa9 ? ? end");
    json_decref(j);
    /* Overlong and surrogate encodings are not UTF-8. */
    j = api_json_text("\xc0\xaf|\xed\xa0\x80");
    ck_assert_str_eq(json_string_value(j), "??|???");
    json_decref(j);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("api");
    tcase_add_test(tc, test_routes_match);
    tcase_add_test(tc, test_params_decoded);
    tcase_add_test(tc, test_methods);
    tcase_add_test(tc, test_problem_registry);
    tcase_add_test(tc, test_body_fields);
    tcase_add_test(tc, test_json_text);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
