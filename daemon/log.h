/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Logging of vpcid: one line per message on stderr, prefixed with its
 * syslog priority in the form journald reads ("<3>cannot bind ...").
 * Messages below the configured level are dropped.  Thread-safe: each
 * line is written with a single write(2).
 */
#ifndef VPCID_LOG_H
#define VPCID_LOG_H

#include <syslog.h>

/* LOG_ERR .. LOG_DEBUG; default LOG_INFO. */
void vpcid_log_set_level(int level);
int vpcid_log_get_level(void);

/* "err", "warning", "notice", "info", "debug" (also the numbers 3..7);
 * 0 or -EINVAL. */
int vpcid_log_level_parse(const char *s, int *ret_level);

/* Control characters in the message (which may quote what a client
 * sent) are written as '?'. */
void vpcid_log(int priority, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_err(...) vpcid_log(LOG_ERR, __VA_ARGS__)
#define log_warning(...) vpcid_log(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) vpcid_log(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) vpcid_log(LOG_INFO, __VA_ARGS__)
#define log_debug(...) vpcid_log(LOG_DEBUG, __VA_ARGS__)

#endif
