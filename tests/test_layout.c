/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdlib.h>

#include "testutil.h"

int main(void)
{
    Suite *s = suite_create("layout");
    return tu_run(s);
}
