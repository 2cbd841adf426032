/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vpcid's configuration: command-line flags over an optional file of
 * "key = value" lines whose keys are the long option names, over the
 * embedded defaults (vpcid(8)).
 */
#ifndef VPCID_OPTIONS_H
#define VPCID_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#define VPCID_LISTEN_MAX 16
#define VPCID_THREADS_MAX 64

struct vpcid_config {
    char *sysfs;                    /* default "/sys" */
    char *db;                       /* default $STATE_DIRECTORY/vpcid.db */
    char *listen[VPCID_LISTEN_MAX]; /* "unix:PATH" / "tcp:HOST:PORT" */
    size_t nlisten;    /* default one: unix:$RUNTIME_DIRECTORY/vpcid.sock */
    char *token_file;  /* NULL: no TCP listener allowed */
    char *quirks;      /* default the installed quirks directory */
    char *pid_file;    /* NULL: none */
    char *runtime_dir; /* default $RUNTIME_DIRECTORY, else /run/vpcid */
    unsigned threads;  /* 0: one per CPU, at least 2 */
    bool foreground;
    int log_level; /* LOG_ERR .. LOG_DEBUG */
    bool help, version;
};

/*
 * Fill c from argv and the --config file, then the defaults.  Returns 0,
 * or -EINVAL after writing a message ("vpcid: ..." or "FILE:LINE: ...")
 * into err.  c must be zeroed before; free it with vpcid_config_clear.
 */
int vpcid_config_load(int argc, char **argv, struct vpcid_config *c, char *err,
                      size_t errlen);
void vpcid_config_clear(struct vpcid_config *c);

/* The usage text of --help. */
extern const char vpcid_usage[];

#endif
