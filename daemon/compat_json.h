/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One compatibility result as JSON: the object of the "results" arrays of
 * POST /v1/compat and of offline fleet compat (daemon and vpcictl), made
 * by one function so the two agree byte for byte, and the order both list
 * results in.
 *   {"bdf", "compatible", "score", "reasons": [{"code", "message",
 *    "expected", "actual"}]}
 */
#ifndef VPCID_COMPAT_JSON_H
#define VPCID_COMPAT_JSON_H

#include <jansson.h>
#include <stdbool.h>

#include "vpci.h"

/* c == NULL: the function is not on the host (reason "not-present").
 * New reference; NULL on allocation failure. */
json_t *vpcid_compat_result_json(const char *bdf, const struct vpci_compat *c);

/* s as a JSON string that is safe to show: bytes that are not valid UTF-8
 * and control characters become '?'.  New reference; NULL on allocation
 * failure. */
json_t *vpcid_json_text(const char *s);

/* Order of two canonical BDFs, numeric (a longer domain is larger). */
int vpcid_bdf_cmp(const char *a, const char *b);

/* Order of two results as they are listed: compatible ones first, by
 * score (highest first) then BDF; then the rest by BDF. */
int vpcid_compat_cmp(bool a_compatible, int a_score, const char *a_bdf,
                     bool b_compatible, int b_score, const char *b_bdf);

struct inv_host;

/*
 * Offline compat of one host (a snapshot): every function of h checked
 * against rules with no attachments, as the host's own daemon checks it.
 * *ret_results is the array of result objects in listing order (new
 * reference), *ret_ok the number compatible.  0, -ENOMEM, or the check's
 * error.
 */
int vpcid_compat_offline(const struct inv_host *h,
                         const struct vpci_rules *rules, json_t **ret_results,
                         size_t *ret_ok);

/* {"devices", "compatible", "incompatible"}: new reference, NULL on
 * allocation failure. */
json_t *vpcid_compat_summary(size_t devices, size_t compatible);

#endif
