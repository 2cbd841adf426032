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
#include "facts.h"
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

START_TEST(test_attachment_routes)
{
    struct api_request rq = {0};
    enum api_match m;
    unsigned allow;
    const char *id = "3f2b8c1e-5d4a-4e6f-9a7b-0c1d2e3f4a5b";
    char path[128];

    size_t i = find(API_POST, "/v1/compat", &rq, &m, &allow);
    ck_assert_int_eq(m, MATCH_OK);
    ck_assert_int_eq(api_routes[i].body, BODY_JSON);
    i = find(API_GET, "/v1/devices/3b:00.0/compat", &rq, &m, &allow);
    ck_assert_int_eq(m, MATCH_OK);
    ck_assert_str_eq(api_routes[i].template, "/v1/devices/{bdf}/compat");
    ck_assert_str_eq(rq.param[0], "3b:00.0");

    find(API_DELETE, "/v1/attachments", &rq, &m, &allow);
    ck_assert_int_eq(m, MATCH_NO_METHOD);
    ck_assert_uint_eq(allow, API_GET | API_HEAD | API_POST);
    snprintf(path, sizeof(path), "/v1/attachments/%s", id);
    i = find(API_DELETE, path, &rq, &m, &allow);
    ck_assert_int_eq(m, MATCH_OK);
    ck_assert_str_eq(rq.param[0], id);
    find(API_POST, path, &rq, &m, &allow);
    ck_assert_int_eq(m, MATCH_NO_METHOD);
    ck_assert_uint_eq(allow, API_GET | API_HEAD | API_DELETE);
    char hdr[80];
    api_allow_header(allow, hdr, sizeof(hdr));
    ck_assert_str_eq(hdr, "GET, HEAD, DELETE");

    /* The three migrate-out steps are distinct routes, POST only. */
    snprintf(path, sizeof(path), "/v1/attachments/%s/migrate-out/complete", id);
    i = find(API_POST, path, &rq, &m, &allow);
    ck_assert_int_eq(m, MATCH_OK);
    ck_assert_str_eq(api_routes[i].template,
                     "/v1/attachments/{id}/migrate-out/complete");
    ck_assert_int_eq(api_routes[i].body, BODY_NONE);
    find(API_GET, path, &rq, &m, &allow);
    ck_assert_int_eq(m, MATCH_NO_METHOD);
    ck_assert_uint_eq(allow, API_POST);

    /* "incoming" is a literal: it never matches as an attachment id. */
    i = find(API_POST, "/v1/migrations/incoming", &rq, &m, &allow);
    ck_assert_int_eq(m, MATCH_OK);
    ck_assert_str_eq(api_routes[i].template, "/v1/migrations/incoming");
    snprintf(path, sizeof(path), "/v1/migrations/incoming/%s/abort", id);
    i = find(API_POST, path, &rq, &m, &allow);
    ck_assert_int_eq(m, MATCH_OK);
    ck_assert_str_eq(api_routes[i].template,
                     "/v1/migrations/incoming/{id}/abort");
    find(API_POST, "/v1/migrations/incoming/x/launch", &rq, &m, &allow);
    ck_assert_int_eq(m, MATCH_NOT_FOUND);
    find(API_GET, "/v1/migrations", &rq, &m, &allow);
    ck_assert_int_eq(m, MATCH_NOT_FOUND);
}
END_TEST

START_TEST(test_new_problems)
{
    static const struct {
        enum api_problem p;
        const char *code;
        unsigned status;
    } want[] = {
        {PROB_ATTACHMENT_NOT_FOUND, "attachment-not-found", 404},
        {PROB_NO_COMPATIBLE_DEVICE, "no-compatible-device", 409},
        {PROB_REQUEST_ID_CONFLICT, "request-id-conflict", 409},
        {PROB_BAD_STATE, "bad-state", 409},
        {PROB_VERSION_DEPRECATED, "version-deprecated", 409},
        {PROB_VERSION_CONFLICT, "version-conflict", 409},
        {PROB_HASH_MISMATCH, "hash-mismatch", 422},
        {PROB_NOT_RESOLVED, "not-resolved", 422},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        ck_assert_str_eq(api_problems[want[i].p].code, want[i].code);
        ck_assert_uint_eq(api_problems[want[i].p].status, want[i].status);
    }
}
END_TEST

START_TEST(test_link_speed)
{
    static const struct {
        const char *s;
        unsigned mts;
    } cases[] = {
        {"2.5 GT/s PCIe", 2500},
        {"5.0 GT/s PCIe", 5000},
        {"8.0 GT/s PCIe", 8000},
        {"16.0 GT/s PCIe", 16000},
        {"32.0 GT/s PCIe", 32000},
        {"64.0 GT/s PCIe", 64000},
        {"2.5 GT/s", 2500},
        {"8 GT/s", 8000},
        {"5.00 GT/s PCIe", 5000},
        {"Unknown", 0},
        {"", 0},
        {"8.0 MT/s", 0},
        {"8.0GT/s", 0},
        {"8.05 GT/s", 0},
        {"8. GT/s", 0},
        {"-8.0 GT/s", 0},
        {"99999 GT/s", 0},
        {"8.0 GT/sec", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(vpcid_link_speed_mts(cases[i].s) == cases[i].mts,
                      "\"%s\": %u", cases[i].s,
                      vpcid_link_speed_mts(cases[i].s));
    ck_assert_uint_eq(vpcid_link_speed_mts(NULL), 0);
}
END_TEST

START_TEST(test_drivers)
{
    ck_assert(vpcid_driver_is_vfio("vfio-pci"));
    ck_assert(vpcid_driver_is_vfio("mlx5_vfio_pci"));
    ck_assert(vpcid_driver_is_vfio("vfio_pci_core"));
    ck_assert(!vpcid_driver_is_vfio("_vfio_pci"));
    ck_assert(!vpcid_driver_is_vfio("igb"));
    ck_assert(!vpcid_driver_is_vfio("pci-stub"));
    ck_assert(!vpcid_driver_is_vfio(NULL));
    /* Peers that keep a group from a VM: a host driver, nothing else. */
    ck_assert(vpcid_driver_blocks_group("ath5k"));
    ck_assert(vpcid_driver_blocks_group("mlx5_core"));
    ck_assert(!vpcid_driver_blocks_group(NULL));
    ck_assert(!vpcid_driver_blocks_group("none"));
    ck_assert(!vpcid_driver_blocks_group("vfio-pci"));
    ck_assert(!vpcid_driver_blocks_group("pci-stub"));
    ck_assert(!vpcid_driver_blocks_group("pcieport"));
}
END_TEST

/* A host of four functions: a PF on node 1 with two VFs (one on
 * mlx5_vfio_pci with a cdev, one unbound), and an igb function that
 * shares the first VF's IOMMU group. */
static void facts_host(struct inv_host *h, struct inv_func *f)
{
    static char peers_vf0[1][INV_BDF_LEN] = {"0000:5e:00.0"};
    static char peers_igb[1][INV_BDF_LEN] = {"0000:3c:10.0"};
    const char *bdfs[4] = {"0000:3b:00.0", "0000:3c:10.0", "0000:3c:10.2",
                           "0000:5e:00.0"};
    for (int i = 0; i < 4; i++) {
        memset(&f[i], 0, sizeof(f[i]));
        strcpy(f[i].bdf, bdfs[i]);
        vpcid_bdf_parse(bdfs[i], &f[i].domain, &f[i].bus, &f[i].dev, &f[i].fn);
        f[i].iommu_group = -1;
        f[i].numa_node = -1;
        f[i].migration = -1;
        f[i].vendor_id = 0x8086;
    }
    f[0].config_size = 4096;
    f[0].cfg[0] = 0x86;
    f[0].numa_node = 1;
    f[0].driver = "igb";
    f[0].link = (struct inv_link){true, "8.0 GT/s PCIe", "8.0 GT/s PCIe", 4, 4};
    strcpy(f[1].physfn, "0000:3b:00.0");
    f[1].driver = "mlx5_vfio_pci";
    f[1].vfio_group_dev = "/dev/vfio/40";
    f[1].vfio_cdev = "/dev/vfio/devices/vfio0";
    f[1].iommu_group = 40;
    f[1].group_peers = peers_vf0;
    f[1].ngroup_peers = 1;
    f[1].migration = 1;
    strcpy(f[2].physfn, "0000:3b:00.0");
    f[2].iommu_group = 41;
    f[3].driver = "igb";
    f[3].iommu_group = 40;
    f[3].group_peers = peers_igb;
    f[3].ngroup_peers = 1;
    *h = (struct inv_host){.funcs = f, .nfuncs = 4};
}

START_TEST(test_host_facts)
{
    struct inv_func *f = calloc(4, sizeof(*f));
    ck_assert_ptr_nonnull(f);
    struct inv_host h;
    facts_host(&h, f);
    struct store_attachment atts[2] = {0};
    strcpy(atts[0].id, "3f2b8c1e-5d4a-4e6f-9a7b-0c1d2e3f4a5b");
    strcpy(atts[0].bdf, "0000:3c:10.2");
    atts[0].state = STORE_ATT_ACTIVE;
    strcpy(atts[1].id, "00000000-0000-4000-8000-000000000001");
    strcpy(atts[1].bdf, "0000:5e:00.0");
    atts[1].state = STORE_ATT_INCOMING;

    struct vpci_host_device d;
    vpcid_host_facts(&h, &f[1], atts, 2, &d);
    ck_assert_str_eq(d.bdf, "0000:3c:10.0");
    ck_assert(d.dev.is_vf);
    ck_assert_str_eq(d.pf, "0000:3b:00.0");
    ck_assert_ptr_eq(d.pf_cfg, f[0].cfg);
    ck_assert_uint_eq(d.pf_size, 4096);
    ck_assert(d.vfio);
    ck_assert_int_eq(d.migration, 1);
    ck_assert_int_eq(d.iommu_group, 40);
    /* The igb peer makes the group unusable. */
    ck_assert_str_eq(d.group_blocker, "0000:5e:00.0");
    ck_assert_str_eq(d.group_blocker_driver, "igb");
    ck_assert_ptr_null(d.reserved_by);
    /* Its sibling VF is attached: one on the same PF. */
    ck_assert_uint_eq(d.pf_load, 1);
    ck_assert_uint_eq(d.link_speed_mts, 0);

    vpcid_host_facts(&h, &f[2], atts, 2, &d);
    ck_assert(!d.vfio);
    ck_assert_str_eq(d.reserved_by, "3f2b8c1e-5d4a-4e6f-9a7b-0c1d2e3f4a5b");
    ck_assert_ptr_null(d.group_blocker);

    vpcid_host_facts(&h, &f[0], atts, 2, &d);
    ck_assert(!d.dev.is_vf);
    ck_assert_ptr_null(d.pf);
    ck_assert_ptr_null(d.pf_cfg);
    ck_assert_int_eq(d.numa_node, 1);
    ck_assert_uint_eq(d.link_speed_mts, 8000);
    ck_assert_uint_eq(d.link_width, 4);
    ck_assert_uint_eq(d.pf_load, 1); /* a PF counts its VFs */

    /* An incoming reservation holds the device but is no load; a vfio-pci
     * peer does not block a group. */
    f[1].driver = "vfio-pci";
    vpcid_host_facts(&h, &f[3], atts, 2, &d);
    ck_assert_str_eq(d.reserved_by, "00000000-0000-4000-8000-000000000001");
    ck_assert_uint_eq(d.pf_load, 0);
    ck_assert_ptr_null(d.group_blocker);
    vpcid_host_facts(&h, &f[3], NULL, 0, &d);
    ck_assert_ptr_null(d.reserved_by);
    free(f);
}
END_TEST

START_TEST(test_results_order)
{
    struct api_result r[6] = {0};
    static const struct {
        const char *bdf;
        bool ok;
        int score;
    } in[6] = {
        {"0000:3c:10.4", false, 0},    {"0000:3c:10.2", true, 1001},
        {"10000:00:00.0", true, 1101}, {"0000:3c:10.0", true, 1001},
        {"ffff:00:00.0", false, 0},    {"0000:00:1f.0", true, 1},
    };
    for (int i = 0; i < 6; i++) {
        strcpy(r[i].bdf, in[i].bdf);
        r[i].compatible = in[i].ok;
        r[i].score = in[i].score;
    }
    api_results_sort(r, 6);
    static const char *const want[6] = {
        "10000:00:00.0", "0000:3c:10.0", "0000:3c:10.2",
        "0000:00:1f.0",  "0000:3c:10.4", "ffff:00:00.0",
    };
    for (int i = 0; i < 6; i++)
        ck_assert_str_eq(r[i].bdf, want[i]);
    ck_assert_int_lt(api_bdf_cmp("ffff:00:00.0", "10000:00:00.0"), 0);
    ck_assert_int_eq(api_bdf_cmp("0000:3c:10.0", "0000:3c:10.0"), 0);
}
END_TEST

START_TEST(test_names)
{
    char b[20];
    ck_assert(api_bdf_canonical("3B:00.1", b, sizeof(b)));
    ck_assert_str_eq(b, "0000:3b:00.1");
    ck_assert(api_bdf_canonical("0001:3b:1f.7", b, sizeof(b)));
    ck_assert_str_eq(b, "0001:3b:1f.7");
    ck_assert(api_bdf_canonical("10000:00:00.0", b, sizeof(b)));
    ck_assert_str_eq(b, "10000:00:00.0");
    static const char *const bad[] = {
        "3b:00.8", "3b:20.0", "3b:0.1",  "0:3b:00.1", "00000:3b:00.1",
        "3b-00.1", "",        "g0:00.0", "3b:00.1 ",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!api_bdf_canonical(bad[i], b, sizeof(b)), "%s", bad[i]);

    char name[64];
    unsigned n = 99;
    ck_assert(api_type_ref_parse("nic-vf", name, sizeof(name), &n));
    ck_assert_str_eq(name, "nic-vf");
    ck_assert_uint_eq(n, 0);
    ck_assert(api_type_ref_parse("nic-vf@12", name, sizeof(name), &n));
    ck_assert_str_eq(name, "nic-vf");
    ck_assert_uint_eq(n, 12);
    ck_assert(api_type_ref_parse("a@2147483647", name, sizeof(name), &n));
    static const char *const badref[] = {
        "",        "@1",    "Nic", "nic@", "nic@0", "nic@01", "nic@2147483648",
        "nic@1@2", "nic@x",
    };
    for (size_t i = 0; i < sizeof(badref) / sizeof(badref[0]); i++)
        ck_assert_msg(!api_type_ref_parse(badref[i], name, sizeof(name), &n),
                      "%s", badref[i]);
}
END_TEST

/* The typed body reader on text: 0 when accepted (members checked with
 * the rules of POST /v1/attachments), else the status. */
static unsigned typed(const char *text)
{
    static const char *const members[] = {"vm", "version", "layout", NULL};
    struct api_request rq = {
        .body = text, .body_len = text ? strlen(text) : 0, .path = "/t"};
    struct api_reply out = {0};
    json_t *root = NULL;
    const char *vm, *layout;
    long long version = 0;
    int r = api_body_object(&rq, &out, members, &root);
    if (r == 0)
        r = api_member_string(&rq, &out, root, "vm", true, 8, PROB_BAD_FIELD,
                              true, &vm);
    if (r == 0)
        r = api_member_int(&rq, &out, root, "version", 1, 100, &version);
    if (r == 0)
        r = api_member_string(&rq, &out, root, "layout", false, 16,
                              PROB_BODY_TOO_LARGE, false, &layout);
    json_decref(root);
    if (r == 0) {
        ck_assert_ptr_null(out.resp);
        return 0;
    }
    ck_assert_ptr_nonnull(out.resp);
    MHD_destroy_response(out.resp);
    return out.status;
}

START_TEST(test_typed_body)
{
    ck_assert_uint_eq(typed("{\"vm\":\"a\"}"), 0);
    ck_assert_uint_eq(typed("{\"vm\":\"a\",\"version\":100}"), 0);
    ck_assert_uint_eq(typed("{\"vm\":\"a\",\"layout\":\"x\\ty\"}"), 0);
    ck_assert_uint_eq(typed(NULL), 400);
    ck_assert_uint_eq(typed("[]"), 400);
    ck_assert_uint_eq(typed("{\"vm\":\"a\",\"vm\":\"b\"}"), 400);
    ck_assert_uint_eq(typed("{\"version\":1}"), 400);
    ck_assert_uint_eq(typed("{\"vm\":\"a\",\"colour\":1}"), 400);
    ck_assert_uint_eq(typed("{\"vm\":\"a\",\"version\":0}"), 400);
    ck_assert_uint_eq(typed("{\"vm\":\"a\",\"version\":101}"), 400);
    ck_assert_uint_eq(typed("{\"vm\":\"a\",\"version\":\"1\"}"), 400);
    ck_assert_uint_eq(typed("{\"vm\":\"a\",\"version\":1.0}"), 400);
    ck_assert_uint_eq(typed("{\"vm\":\"123456789\"}"), 400);
    ck_assert_uint_eq(typed("{\"vm\":\"a\\nb\"}"), 400);
    ck_assert_uint_eq(typed("{\"vm\":\"a\\u0000\"}"), 400);
    ck_assert_uint_eq(typed("{\"vm\":\"a\",\"layout\":\"12345678901234567\"}"),
                      413);
    char deep[200] = "{\"vm\":";
    for (int i = 0; i < API_JSON_DEPTH_MAX; i++)
        strcat(deep, "[");
    ck_assert_uint_eq(typed(deep), 400);
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
    tcase_add_test(tc, test_attachment_routes);
    tcase_add_test(tc, test_new_problems);
    tcase_add_test(tc, test_link_speed);
    tcase_add_test(tc, test_drivers);
    tcase_add_test(tc, test_host_facts);
    tcase_add_test(tc, test_results_order);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_typed_body);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
