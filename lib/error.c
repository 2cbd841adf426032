/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>

#include "internal.h"

void vpci_seterr(struct vpci_error *err, unsigned line, unsigned col,
                 const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    err->line = line;
    err->col = col;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

VPCI_EXPORT int vpci_error_format(const struct vpci_error *err,
                                  const char *file, char *buf, size_t bufsize)
{
    int n;

    if (!err || !buf || bufsize == 0)
        return -EINVAL;
    if (!file)
        file = "<input>";
    if (err->line)
        n = snprintf(buf, bufsize, "%s:%u:%u: error: %s", file, err->line,
                     err->col ? err->col : 1, err->msg);
    else
        n = snprintf(buf, bufsize, "%s: error: %s", file, err->msg);
    return n < 0 ? -EINVAL : n;
}
