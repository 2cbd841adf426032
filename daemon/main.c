/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vpcid: the host's PCI functions and the instance-type store, served over
 * REST API v1.  Start-up order: settings, token, listening sockets, then
 * (unless --foreground) fork, then store, scan and HTTP threads, then
 * "ready" (to the parent, to systemd, to the pid file).  The main thread
 * then only waits for signals.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "api.h"
#include "listen.h"
#include "log.h"
#include "options.h"
#include "service.h"

#define TOKEN_MAX 4096
#define DRAIN_TIMEOUT_MS 10000

/* Read the bearer token: one line, surrounding blanks dropped. */
static int read_token(const char *path, char **ret, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -errno;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & 0007))
        log_warning("%s: the token file is readable by others", path);
    char buf[TOKEN_MAX + 2];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0 || n > TOKEN_MAX) {
        snprintf(err, errlen, "%s: %s", path,
                 n < 0 ? strerror(errno) : "longer than 4096 bytes");
        return -EINVAL;
    }
    buf[n] = '\0';
    char *s = buf;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
                   s[len - 1] == '\n' || s[len - 1] == '\r'))
        s[--len] = '\0';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e) {
            snprintf(err, errlen,
                     "%s: the token must be one word of printable ASCII", path);
            return -EINVAL;
        }
    }
    if (!len) {
        snprintf(err, errlen, "%s: empty token", path);
        return -EINVAL;
    }
    *ret = strdup(s);
    return *ret ? 0 : -ENOMEM;
}

/* Paths stay valid after the daemon changes to "/". */
static int make_absolute(char **p)
{
    if (!*p || (*p)[0] == '/')
        return 0;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        return -errno;
    char *a;
    if (asprintf(&a, "%s/%s", cwd, *p) < 0)
        return -ENOMEM;
    free(*p);
    *p = a;
    return 0;
}

/* mkdir -p of the directory that holds path (for the embedded defaults
 * under /var/lib). */
static void make_parent_dir(const char *path, mode_t mode)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(dir, mode);
        *p = '/';
    }
}

static int write_pid_file(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    if (!f)
        return -errno;
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) != 0 || rename(tmp, path) < 0) {
        unlink(tmp);
        return -errno;
    }
    return 0;
}

/* Without --foreground: fork, and let the parent exit once the child is
 * ready (status 0) or has failed (its message, status 1).  Returns in the
 * child with the pipe to report on. */
static int daemonize(int *ret_fd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid > 0) {
        close(p[1]);
        char buf[1024];
        ssize_t n, total = 0;
        while ((n = read(p[0], buf + total, sizeof(buf) - 1 - (size_t)total)) >
                   0 &&
               total + n < (ssize_t)sizeof(buf) - 1)
            total += n;
        if (n > 0)
            total += n;
        buf[total] = '\0';
        if (total >= 1 && buf[0] == 'R')
            _exit(0);
        if (total > 1)
            fprintf(stderr, "vpcid: %s\n", buf + 1);
        else
            fprintf(stderr, "vpcid: the daemon exited before it was ready\n");
        _exit(1);
    }
    close(p[0]);
    setsid();
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        close(null);
    }
    *ret_fd = p[1];
    return 0;
}

static void report(int fd, char status, const char *msg)
{
    if (fd < 0)
        return;
    char buf[1024];
    int n = snprintf(buf, sizeof(buf), "%c%s", status, msg ? msg : "");
    if (n > (int)sizeof(buf) - 1)
        n = (int)sizeof(buf) - 1;
    ssize_t w = write(fd, buf, (size_t)n);
    (void)w;
    close(fd);
}

int main(int argc, char **argv)
{
    struct vpcid_config c = {0};
    char err[1024];
    int status = 1;
    if (vpcid_config_load(argc, argv, &c, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\nTry 'vpcid --help'.\n", err);
        vpcid_config_clear(&c);
        return 2;
    }
    if (c.help || c.version) {
        if (c.help)
            fputs(vpcid_usage, stdout);
        else
            printf("vpcid %s\n", PACKAGE_VERSION);
        vpcid_config_clear(&c);
        return 0;
    }
    vpcid_log_set_level(c.log_level);
    signal(SIGPIPE, SIG_IGN);

    char *token = NULL;
    struct vpcid_listener lis[VPCID_LISTEN_MAX];
    int nlis = 0, report_fd = -1;
    struct api_server *srv = NULL;
    bool service_up = false;

    if (c.token_file &&
        read_token(c.token_file, &token, err, sizeof(err)) < 0) {
        log_err("%s", err);
        status = 2;
        goto out;
    }
    nlis = vpcid_listen_activated(lis, VPCID_LISTEN_MAX, err, sizeof(err));
    if (nlis < 0) {
        log_err("%s", err);
        nlis = 0;
        goto out;
    }
    if (nlis > 0)
        log_info("socket activation: %d socket(s)", nlis);
    for (size_t i = 0; nlis == 0 && i < c.nlisten; i++) {
        if (!strncmp(c.listen[i], "tcp:", 4) && !token) {
            log_err("%s: a TCP listener needs --token-file", c.listen[i]);
            status = 2;
            goto out;
        }
    }
    if (nlis == 0) {
        for (size_t i = 0; i < c.nlisten; i++) {
            if (vpcid_listen_open(c.listen[i], &lis[nlis], err, sizeof(err)) <
                0) {
                log_err("cannot listen on %s", err);
                goto out;
            }
            nlis++;
        }
    }
    for (int i = 0; i < nlis; i++) {
        if (lis[i].tcp && !token) {
            log_err("%s: a TCP listener needs --token-file", lis[i].name);
            status = 2;
            goto out;
        }
    }
    if (make_absolute(&c.db) < 0 || make_absolute(&c.sysfs) < 0 ||
        make_absolute(&c.quirks) < 0 || make_absolute(&c.pid_file) < 0 ||
        make_absolute(&c.runtime_dir) < 0) {
        log_err("cannot resolve relative paths: %s", strerror(errno));
        goto out;
    }

    if (!c.foreground) {
        if (daemonize(&report_fd) < 0) {
            log_err("cannot fork: %s", strerror(errno));
            goto out;
        }
        if (chdir("/") < 0)
            log_warning("cannot change to /: %s", strerror(errno));
    }

    /* Only the main thread takes these signals, through sigwaitinfo. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    make_parent_dir(c.db, 0750);
    struct service_options so = {.sysfs = c.sysfs,
                                 .db = c.db,
                                 .quirks = c.quirks,
                                 .runtime_dir = c.runtime_dir};
    if (service_init(&so, err, sizeof(err)) < 0) {
        log_err("%s", err);
        report(report_fd, 'E', err);
        report_fd = -1;
        goto out;
    }
    service_up = true;

    struct api_listener_spec specs[VPCID_LISTEN_MAX];
    for (int i = 0; i < nlis; i++)
        specs[i] =
            (struct api_listener_spec){lis[i].fd, lis[i].tcp, lis[i].name};
    if (api_server_start(specs, (size_t)nlis, c.threads, token, &srv, err,
                         sizeof(err)) < 0) {
        log_err("%s", err);
        report(report_fd, 'E', err);
        report_fd = -1;
        goto out;
    }
    if (c.pid_file && write_pid_file(c.pid_file) < 0)
        log_warning("cannot write %s: %s", c.pid_file, strerror(errno));
    for (int i = 0; i < nlis; i++)
        log_notice("listening on %s%s", lis[i].name,
                   lis[i].tcp ? " (bearer token required)" : "");
    sd_notify(0, "READY=1\nSTATUS=serving");
    report(report_fd, 'R', NULL);
    report_fd = -1;

    for (;;) {
        siginfo_t si;
        /* Between signals, once a second: the files of reservations that
         * expired go (the store drops their rows lazily and silently). */
        const struct timespec tick = {1, 0};
        int sig = sigtimedwait(&sigs, &si, &tick);
        if (sig < 0) {
            int e = errno;
            if (e == EAGAIN)
                service_sweep_files();
            if (e == EINTR || e == EAGAIN)
                continue;
            log_err("sigtimedwait: %s", strerror(e));
            break;
        }
        if (sig == SIGHUP) {
            log_info("SIGHUP: rescanning");
            struct snapshot *s = service_rescan(err, sizeof(err));
            if (!s)
                log_err("rescan: %s", err);
            snapshot_unref(s);
            continue;
        }
        log_notice("%s: draining requests and stopping",
                   sig == SIGTERM ? "SIGTERM" : "SIGINT");
        break;
    }
    sd_notify(0, "STOPPING=1");
    api_server_quiesce(srv);
    if (!api_server_drain(srv, DRAIN_TIMEOUT_MS))
        log_warning("requests still in flight after %d ms; closing them",
                    DRAIN_TIMEOUT_MS);
    status = 0;

out:
    api_server_stop(srv);
    for (int i = 0; i < nlis; i++)
        vpcid_listen_close(&lis[i]);
    if (service_up)
        service_fini();
    if (status == 0 && c.pid_file)
        unlink(c.pid_file);
    if (report_fd >= 0)
        report(report_fd, 'E', "start-up failed (see the log)");
    free(token);
    vpcid_config_clear(&c);
    return status;
}
