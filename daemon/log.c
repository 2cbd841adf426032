/* SPDX-License-Identifier: BSD-2-Clause */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static atomic_int log_level = LOG_INFO;

void vpcid_log_set_level(int level)
{
    atomic_store(&log_level, level);
}

int vpcid_log_get_level(void)
{
    return atomic_load(&log_level);
}

int vpcid_log_level_parse(const char *s, int *ret_level)
{
    static const struct {
        const char *name;
        int level;
    } names[] = {
        {"err", LOG_ERR},       {"error", LOG_ERR}, {"warning", LOG_WARNING},
        {"notice", LOG_NOTICE}, {"info", LOG_INFO}, {"debug", LOG_DEBUG},
        {"3", LOG_ERR},         {"4", LOG_WARNING}, {"5", LOG_NOTICE},
        {"6", LOG_INFO},        {"7", LOG_DEBUG},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strcmp(s, names[i].name)) {
            *ret_level = names[i].level;
            return 0;
        }
    }
    return -EINVAL;
}

void vpcid_log(int priority, const char *fmt, ...)
{
    if (priority > atomic_load(&log_level))
        return;
    char line[2048];
    int n = snprintf(line, sizeof(line), "<%d>", priority);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    for (size_t i = (size_t)n; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c < 0x20 || c == 0x7f)
            line[i] = '?';
    }
    line[len++] = '\n';
    int saved = errno;
    /* Best effort: a closed or full stderr must not stop the daemon. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
    errno = saved;
}
