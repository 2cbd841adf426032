/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef VPCICTL_H
#define VPCICTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit codes (vpcictl(1)). */
#define EXIT_OK 0
#define EXIT_INVALID 1
#define EXIT_USAGE 2

/* Read a whole file ("-" = stdin), NUL-terminated; NULL and a message on
 * stderr on failure. */
char *vpcictl_read_file(const char *path, size_t *ret_len);
/* Write atomically (temp file + rename); 0 or -errno. */
int vpcictl_write_file(const char *path, const char *data, size_t len);

struct vpci_error;
struct vpci_layout;
/* How messages name a file: "<stdin>" for "-", else the file itself. */
const char *vpcictl_file_label(const char *file);
/* err as LABEL:LINE:COL: error: MSG on stderr. */
void vpcictl_print_layout_error(const char *label,
                                const struct vpci_error *err);
/* Parse layout text (vpci_layout_parse); on failure print the error
 * under label and return the negative errno. */
int vpcictl_parse_layout(const char *label, const char *text, size_t len,
                         struct vpci_layout **ret);
/* Read FILE ("-" = stdin) and parse it as vpcictl_parse_layout does,
 * naming it vpcictl_file_label(file); 0, -EIO when it cannot be read
 * (message printed) or the parse error. */
int vpcictl_load_layout(const char *file, struct vpci_layout **ret);

/* -o ARG where ARG is plain (table or text) or json: 0 and *json set
 * (json may be NULL to only check ARG), or -1 (nothing printed: each
 * command says which values it takes). */
int vpcictl_output_option(const char *arg, const char *plain, bool *json);

int vpcictl_cmd_layout(int argc, char **argv);
int vpcictl_cmd_host(int argc, char **argv);
/* vpcictl layout common|place (cmd_common.c, cmd_place.c): argv[0] is
 * the verb. */
int vpcictl_layout_common(int argc, char **argv);
int vpcictl_layout_place(int argc, char **argv);
/* vpcictl vmm qemu|libvirt RESOLVED.vpci (cmd_vmm.c). */
int vpcictl_cmd_vmm(int argc, char **argv);

/* Options of the REST verbs (devices, types, compat, attach, detach,
 * attachments, migrate), given before or after the verb.  NULL / false
 * when not given. */
struct vpcictl_remote_opts {
    const char *connect;    /* --connect unix:PATH|http://HOST:PORT */
    const char *token_file; /* --token-file FILE */
    const char *output;     /* -o table|json */
};

/* If argv[*i] is one of the options above, store it, advance *i past it
 * and its argument and return 1; 0 when it is not one of them; -1 after
 * printing a usage error (missing argument). */
int vpcictl_remote_option(struct vpcictl_remote_opts *o, int argc, char **argv,
                          int *i);
/* Run a REST verb: argv[0] is one for which vpcictl_is_remote_verb()
 * is true. */
int vpcictl_cmd_remote(struct vpcictl_remote_opts *o, int argc, char **argv);
bool vpcictl_is_remote_verb(const char *verb);
/* The REST verbs and their options, with or without a usage line. */
void vpcictl_remote_help(FILE *f, bool usage_line);

/* vpcictl compat --snapshot FILE... TYPE.vpci: offline fleet compat
 * (cmd_fleet.c).  argv[0] is "compat"; o->output picks table or json. */
int vpcictl_compat_offline(const struct vpcictl_remote_opts *o, int argc,
                           char **argv);

struct json_t;
/* The "results" array of a compatibility answer (live or offline) as the
 * DEVICE VERDICT SCORE REASONS table on f; *ret_ok counts the compatible
 * devices.  0, -EINVAL when results is not such an array (nothing
 * printed), -ENOMEM (message printed). */
int vpcictl_compat_table(const struct json_t *results, FILE *f, size_t *ret_ok);

struct inv_host;
/* Scan the host's (or a fixture tree's) PCI functions, printing host-level
 * warnings; 0 or -errno (message printed). */
int vpcictl_host_scan(const char *sysfs, struct inv_host **ret);

#endif
