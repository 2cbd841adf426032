/* SPDX-License-Identifier: BSD-2-Clause */
/* Print the route table and the error registry of REST API v1, for the
 * test that holds api/openapi.yaml to them. */
#include <stdio.h>

#include "api.h"

int main(void)
{
    for (size_t i = 0; i < api_nroutes; i++)
        printf("route %s %s\n", api_method_name(api_routes[i].method),
               api_routes[i].template);
    for (size_t i = 0; i < PROB_COUNT; i++)
        printf("problem %s %u\n", api_problems[i].code, api_problems[i].status);
    return 0;
}
