/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One compatibility result as JSON: the object of the "results" arrays of
 * POST /v1/compat and of offline fleet compat (daemon and vpcictl), made
 * by one function so the two agree byte for byte.
 *   {"bdf", "compatible", "score", "reasons": [{"code", "message",
 *    "expected", "actual"}]}
 */
#ifndef VPCID_COMPAT_JSON_H
#define VPCID_COMPAT_JSON_H

#include <jansson.h>

#include "vpci.h"

/* c == NULL: the function is not on the host (reason "not-present").
 * New reference; NULL on allocation failure. */
json_t *vpcid_compat_result_json(const char *bdf, const struct vpci_compat *c);

#endif
