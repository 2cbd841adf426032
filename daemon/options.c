/* SPDX-License-Identifier: BSD-2-Clause */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>

#include "log.h"

#ifndef VPCI_DATADIR
#define VPCI_DATADIR "/usr/share/vpcid"
#endif

/* A config file is a handful of lines. */
#define CONFIG_FILE_MAX (64 * 1024)
#define CONFIG_VALUE_MAX 4096

const char vpcid_usage[] =
    "Usage: vpcid [OPTION]...\n"
    "Serve the host's PCI functions and the instance-type store over the\n"
    "vpcid REST API.\n"
    "\n"
    "  --sysfs DIR            sysfs to scan (default /sys)\n"
    "  --db FILE              SQLite store (default "
    "$STATE_DIRECTORY/vpcid.db,\n"
    "                         else /var/lib/vpcid/vpcid.db)\n"
    "  --listen unix:PATH|tcp:HOST:PORT\n"
    "                         where to serve, repeatable (default unix:\n"
    "                         $RUNTIME_DIRECTORY/vpcid.sock, else\n"
    "                         /run/vpcid/vpcid.sock); ignored under socket\n"
    "                         activation\n"
    "  --token-file FILE      bearer token every TCP request must carry\n"
    "  --quirks DIR           derive quirks (default " VPCI_DATADIR "/quirks)\n"
    "  --runtime-dir DIR      where attachments' layout files go, under vms/\n"
    "                         (default $RUNTIME_DIRECTORY, else /run/vpcid)\n"
    "  --threads N            request threads per listener (default: CPUs)\n"
    "  --pid-file FILE        write the pid here once ready\n"
    "  --foreground           do not fork into the background\n"
    "  --config FILE          read these settings from FILE (key = value)\n"
    "  --log-level LEVEL      err, warning, notice, info (default), debug\n"
    "  --help                 print this help and exit\n"
    "  --version              print the version and exit\n";

enum key {
    K_SYSFS,
    K_DB,
    K_LISTEN,
    K_TOKEN_FILE,
    K_QUIRKS,
    K_PID_FILE,
    K_RUNTIME_DIR,
    K_THREADS,
    K_FOREGROUND,
    K_LOG_LEVEL,
    K_CONFIG,
    K_HELP,
    K_VERSION,
    K_COUNT
};

static const struct option options[] = {
    {"sysfs", required_argument, NULL, K_SYSFS},
    {"db", required_argument, NULL, K_DB},
    {"listen", required_argument, NULL, K_LISTEN},
    {"token-file", required_argument, NULL, K_TOKEN_FILE},
    {"quirks", required_argument, NULL, K_QUIRKS},
    {"pid-file", required_argument, NULL, K_PID_FILE},
    {"runtime-dir", required_argument, NULL, K_RUNTIME_DIR},
    {"threads", required_argument, NULL, K_THREADS},
    {"foreground", no_argument, NULL, K_FOREGROUND},
    {"log-level", required_argument, NULL, K_LOG_LEVEL},
    {"config", required_argument, NULL, K_CONFIG},
    {"help", no_argument, NULL, K_HELP},
    {"version", no_argument, NULL, K_VERSION},
    {NULL, 0, NULL, 0},
};

static int set_string(char **slot, const char *val, char *err, size_t errlen)
{
    if (!*val || strlen(val) > CONFIG_VALUE_MAX) {
        snprintf(err, errlen, "empty or too long value");
        return -EINVAL;
    }
    char *s = strdup(val);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    free(*slot);
    *slot = s;
    return 0;
}

static int parse_bool(const char *val, bool *ret)
{
    if (!strcmp(val, "true") || !strcmp(val, "yes") || !strcmp(val, "1")) {
        *ret = true;
        return 0;
    }
    if (!strcmp(val, "false") || !strcmp(val, "no") || !strcmp(val, "0")) {
        *ret = false;
        return 0;
    }
    return -EINVAL;
}

/* The form of a listen address (whether it can be bound is found out
 * when the socket is opened). */
static int check_listen(const char *val, char *err, size_t errlen)
{
    if (!strncmp(val, "unix:", 5)) {
        size_t n = strlen(val + 5);
        if (n == 0 || n >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
            snprintf(err, errlen, "unix: wants a path of 1 to %zu bytes",
                     sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
            return -EINVAL;
        }
        return 0;
    }
    const char *hp = val + 4, *port;
    if (hp[0] == '[') {
        const char *close_br = strchr(hp, ']');
        port = close_br && close_br[1] == ':' && close_br > hp + 1
                   ? close_br + 2
                   : NULL;
    } else {
        const char *colon = strrchr(hp, ':');
        port = colon && colon > hp ? colon + 1 : NULL;
    }
    char *end = NULL;
    unsigned long p = port ? strtoul(port, &end, 10) : 0;
    if (!port || !*port || *end || port[0] == '-' || port[0] == '+' || p < 1 ||
        p > 65535) {
        snprintf(err, errlen,
                 "tcp: wants HOST:PORT with a port from 1 to "
                 "65535, not \"%.64s\"",
                 val);
        return -EINVAL;
    }
    return 0;
}

/* Apply one setting; a message without prefix in err on failure. */
static int apply(struct vpcid_config *c, enum key k, const char *val, char *err,
                 size_t errlen)
{
    switch (k) {
    case K_SYSFS:
        return set_string(&c->sysfs, val, err, errlen);
    case K_DB:
        return set_string(&c->db, val, err, errlen);
    case K_TOKEN_FILE:
        return set_string(&c->token_file, val, err, errlen);
    case K_QUIRKS:
        return set_string(&c->quirks, val, err, errlen);
    case K_PID_FILE:
        return set_string(&c->pid_file, val, err, errlen);
    case K_RUNTIME_DIR:
        return set_string(&c->runtime_dir, val, err, errlen);
    case K_LISTEN:
        if (strncmp(val, "unix:", 5) && strncmp(val, "tcp:", 4)) {
            snprintf(err, errlen,
                     "listen wants unix:PATH or tcp:HOST:PORT, not \"%.64s\"",
                     val);
            return -EINVAL;
        }
        if (check_listen(val, err, errlen) < 0)
            return -EINVAL;
        if (c->nlisten == VPCID_LISTEN_MAX) {
            snprintf(err, errlen, "more than %d listen addresses",
                     VPCID_LISTEN_MAX);
            return -EINVAL;
        }
        c->listen[c->nlisten] = NULL;
        if (set_string(&c->listen[c->nlisten], val, err, errlen) < 0)
            return -EINVAL;
        c->nlisten++;
        return 0;
    case K_THREADS: {
        char *end;
        errno = 0;
        unsigned long n = strtoul(val, &end, 10);
        if (errno || *end || end == val || val[0] == '-' || n < 1 ||
            n > VPCID_THREADS_MAX) {
            snprintf(err, errlen, "threads wants a number from 1 to %d",
                     VPCID_THREADS_MAX);
            return -EINVAL;
        }
        c->threads = (unsigned)n;
        return 0;
    }
    case K_FOREGROUND:
        if (parse_bool(val, &c->foreground) < 0) {
            snprintf(err, errlen, "foreground wants true or false");
            return -EINVAL;
        }
        return 0;
    case K_LOG_LEVEL:
        if (vpcid_log_level_parse(val, &c->log_level) < 0) {
            snprintf(err, errlen,
                     "log-level wants err, warning, notice, info or debug");
            return -EINVAL;
        }
        return 0;
    default:
        snprintf(err, errlen, "not a setting");
        return -EINVAL;
    }
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static int load_file(const char *path, struct vpcid_config *c, char *err,
                     size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -EINVAL;
    }
    char line[CONFIG_VALUE_MAX + 256];
    unsigned lineno = 0;
    size_t total = 0;
    int r = 0;
    while (r == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        size_t len = strlen(line);
        total += len;
        if (total > CONFIG_FILE_MAX) {
            snprintf(err, errlen, "%s:%u: file too large", path, lineno);
            r = -EINVAL;
            break;
        }
        if (len && line[len - 1] != '\n' && !feof(f)) {
            snprintf(err, errlen, "%s:%u: line too long", path, lineno);
            r = -EINVAL;
            break;
        }
        line[strcspn(line, "\n")] = '\0';
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%u: expected key = value", path, lineno);
            r = -EINVAL;
            break;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        int k = -1;
        for (size_t i = 0; options[i].name; i++)
            if (!strcmp(options[i].name, key))
                k = options[i].val;
        if (k < 0 || k == K_CONFIG || k == K_HELP || k == K_VERSION) {
            snprintf(err, errlen, "%s:%u: unknown key \"%.64s\"", path, lineno,
                     key);
            r = -EINVAL;
            break;
        }
        char msg[256];
        if (apply(c, (enum key)k, val, msg, sizeof(msg)) < 0) {
            snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
            r = -EINVAL;
        }
    }
    if (r == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        r = -EINVAL;
    }
    fclose(f);
    return r;
}

static int default_path(char **slot, const char *env, const char *fallback_dir,
                        const char *name)
{
    const char *dir = getenv(env);
    /* systemd may list several directories; the first is ours. */
    char first[4096];
    if (dir && *dir) {
        snprintf(first, sizeof(first), "%s", dir);
        first[strcspn(first, ":")] = '\0';
        dir = first;
    } else {
        dir = fallback_dir;
    }
    if (asprintf(slot, "%s/%s", dir, name) < 0) {
        *slot = NULL;
        return -ENOMEM;
    }
    return 0;
}

int vpcid_config_load(int argc, char **argv, struct vpcid_config *c, char *err,
                      size_t errlen)
{
    struct vpcid_config cli = {.log_level = -1};
    bool set[K_COUNT] = {false};
    const char *config_file = NULL;
    char msg[256];
    int r = 0;

    c->log_level = LOG_INFO;
    optind = 1;
    opterr = 0;
    for (;;) {
        int o = getopt_long(argc, argv, "", options, NULL);
        if (o == -1)
            break;
        if (o == '?' || o == ':') {
            if (optopt && optopt < K_COUNT)
                snprintf(err, errlen, "vpcid: option --%s needs a value",
                         options[optopt].name);
            else
                snprintf(err, errlen, "vpcid: unknown option %s",
                         argv[optind - 1]);
            r = -EINVAL;
            goto out;
        }
        set[o] = true;
        if (o == K_CONFIG) {
            config_file = optarg;
            continue;
        }
        if (o == K_HELP || o == K_VERSION) {
            if (o == K_HELP)
                c->help = true;
            else
                c->version = true;
            continue;
        }
        if (o == K_FOREGROUND) {
            cli.foreground = true;
            continue;
        }
        if (apply(&cli, (enum key)o, optarg, msg, sizeof(msg)) < 0) {
            snprintf(err, errlen, "vpcid: --%s: %s", options[o].name, msg);
            r = -EINVAL;
            goto out;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "vpcid: unexpected argument \"%.64s\"",
                 argv[optind]);
        r = -EINVAL;
        goto out;
    }
    if (c->help || c->version)
        goto out;
    if (config_file && (r = load_file(config_file, c, err, errlen)) < 0)
        goto out;

        /* Flags over the file. */
#define OVER(field, key)                                                       \
    if (set[key]) {                                                            \
        free(c->field);                                                        \
        c->field = cli.field;                                                  \
        cli.field = NULL;                                                      \
    }
    OVER(sysfs, K_SYSFS)
    OVER(db, K_DB)
    OVER(token_file, K_TOKEN_FILE)
    OVER(quirks, K_QUIRKS)
    OVER(pid_file, K_PID_FILE)
    OVER(runtime_dir, K_RUNTIME_DIR)
#undef OVER
    if (set[K_LISTEN]) {
        for (size_t i = 0; i < c->nlisten; i++)
            free(c->listen[i]);
        memcpy(c->listen, cli.listen, sizeof(c->listen));
        c->nlisten = cli.nlisten;
        cli.nlisten = 0;
    }
    if (set[K_THREADS])
        c->threads = cli.threads;
    if (set[K_FOREGROUND])
        c->foreground = true;
    if (set[K_LOG_LEVEL])
        c->log_level = cli.log_level;

    /* Embedded defaults. */
    if (!c->sysfs && set_string(&c->sysfs, "/sys", msg, sizeof(msg)) < 0)
        r = -ENOMEM;
    if (!c->quirks &&
        set_string(&c->quirks, VPCI_DATADIR "/quirks", msg, sizeof(msg)) < 0)
        r = -ENOMEM;
    if (!c->db && default_path(&c->db, "STATE_DIRECTORY", "/var/lib/vpcid",
                               "vpcid.db") < 0)
        r = -ENOMEM;
    if (!c->runtime_dir) {
        /* default_path joins a name: the directory itself is ".". */
        const char *dir = getenv("RUNTIME_DIRECTORY");
        char first[CONFIG_VALUE_MAX + 1];
        snprintf(first, sizeof(first), "%s", dir && *dir ? dir : "/run/vpcid");
        first[strcspn(first, ":")] = '\0';
        if (set_string(&c->runtime_dir, first, msg, sizeof(msg)) < 0)
            r = -ENOMEM;
    }
    if (!c->nlisten) {
        char *sock = NULL;
        if (default_path(&sock, "RUNTIME_DIRECTORY", "/run/vpcid",
                         "vpcid.sock") < 0 ||
            asprintf(&c->listen[0], "unix:%s", sock) < 0) {
            c->listen[0] = NULL;
            r = -ENOMEM;
        } else {
            c->nlisten = 1;
        }
        free(sock);
    }
    if (r < 0)
        snprintf(err, errlen, "vpcid: out of memory");
out:
    vpcid_config_clear(&cli);
    return r;
}

void vpcid_config_clear(struct vpcid_config *c)
{
    free(c->sysfs);
    free(c->db);
    free(c->token_file);
    free(c->quirks);
    free(c->pid_file);
    free(c->runtime_dir);
    for (size_t i = 0; i < c->nlisten; i++)
        free(c->listen[i]);
    c->sysfs = c->db = c->token_file = c->quirks = c->pid_file = NULL;
    c->runtime_dir = NULL;
    c->nlisten = 0;
}
