/* SPDX-License-Identifier: BSD-2-Clause */
/* vpcid's settings: flags, the --config file, their order, the embedded
 * defaults and every kind of bad input. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "options.h"
#include "testutil.h"

static char dir[] = "/tmp/vpcid-options-XXXXXX";

static void setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
    unsetenv("STATE_DIRECTORY");
    unsetenv("RUNTIME_DIRECTORY");
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
    strcpy(dir, "/tmp/vpcid-options-XXXXXX");
}

/* Write a config file and return its path (static buffer). */
static const char *conf(const char *text)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/vpcid.conf", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Load from a NULL-terminated argument list; err gets the message. */
static int load(struct vpcid_config *c, char *err, const char *first, ...)
{
    char *argv[32] = {"vpcid"};
    int argc = 1;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    memset(c, 0, sizeof(*c));
    err[0] = '\0';
    return vpcid_config_load(argc, argv, c, err, 512);
}

START_TEST(test_defaults)
{
    struct vpcid_config c;
    char err[512];
    ck_assert_int_eq(load(&c, err, NULL), 0);
    ck_assert_str_eq(c.sysfs, "/sys");
    ck_assert_str_eq(c.db, "/var/lib/vpcid/vpcid.db");
    ck_assert_uint_eq(c.nlisten, 1);
    ck_assert_str_eq(c.listen[0], "unix:/run/vpcid/vpcid.sock");
    ck_assert_ptr_null(c.token_file);
    ck_assert(!c.foreground);
    ck_assert_int_eq(c.log_level, LOG_INFO);
    ck_assert_uint_eq(c.threads, 0);
    ck_assert_str_eq(c.runtime_dir, "/run/vpcid");
    vpcid_config_clear(&c);

    /* systemd's StateDirectory= and RuntimeDirectory= (first entry). */
    setenv("STATE_DIRECTORY", "/var/lib/vpcid-a:/var/lib/other", 1);
    setenv("RUNTIME_DIRECTORY", "/run/vpcid-a", 1);
    ck_assert_int_eq(load(&c, err, NULL), 0);
    ck_assert_str_eq(c.db, "/var/lib/vpcid-a/vpcid.db");
    ck_assert_str_eq(c.listen[0], "unix:/run/vpcid-a/vpcid.sock");
    ck_assert_str_eq(c.runtime_dir, "/run/vpcid-a");
    vpcid_config_clear(&c);

    /* Only the first of systemd's directories is ours. */
    setenv("RUNTIME_DIRECTORY", "/run/vpcid-b:/run/other", 1);
    ck_assert_int_eq(load(&c, err, NULL), 0);
    ck_assert_str_eq(c.runtime_dir, "/run/vpcid-b");
    vpcid_config_clear(&c);
}
END_TEST

START_TEST(test_flags)
{
    struct vpcid_config c;
    char err[512];
    ck_assert_int_eq(load(&c, err, "--sysfs", "/t/sys", "--db=/t/db",
                          "--listen", "unix:/t/s", "--listen",
                          "tcp:127.0.0.1:8080", "--token-file", "/t/tok",
                          "--threads", "3", "--foreground", "--log-level",
                          "debug", "--pid-file", "/t/pid", "--quirks", "/t/q",
                          "--runtime-dir", "/t/run", NULL),
                     0);
    ck_assert_str_eq(c.sysfs, "/t/sys");
    ck_assert_str_eq(c.db, "/t/db");
    ck_assert_uint_eq(c.nlisten, 2);
    ck_assert_str_eq(c.listen[1], "tcp:127.0.0.1:8080");
    ck_assert_str_eq(c.token_file, "/t/tok");
    ck_assert_str_eq(c.pid_file, "/t/pid");
    ck_assert_str_eq(c.quirks, "/t/q");
    ck_assert_str_eq(c.runtime_dir, "/t/run");
    ck_assert_uint_eq(c.threads, 3);
    ck_assert(c.foreground);
    ck_assert_int_eq(c.log_level, LOG_DEBUG);
    vpcid_config_clear(&c);
}
END_TEST

START_TEST(test_file_under_flags)
{
    struct vpcid_config c;
    char err[512];
    const char *p = conf("# vpcid settings\n"
                         "sysfs = /f/sys\n"
                         "  db=/f/db  \n"
                         "\n"
                         "listen = unix:/f/a\n"
                         "listen = tcp:[::1]:9000\n"
                         "token-file = /f/tok\n"
                         "foreground = true\n"
                         "log-level = warning\n"
                         "threads = 4\n"
                         "runtime-dir = /f/run\n");
    ck_assert_int_eq(load(&c, err, "--config", p, NULL), 0);
    ck_assert_str_eq(c.sysfs, "/f/sys");
    ck_assert_str_eq(c.db, "/f/db");
    ck_assert_uint_eq(c.nlisten, 2);
    ck_assert_str_eq(c.listen[1], "tcp:[::1]:9000");
    ck_assert(c.foreground);
    ck_assert_int_eq(c.log_level, LOG_WARNING);
    ck_assert_uint_eq(c.threads, 4);
    ck_assert_str_eq(c.runtime_dir, "/f/run");
    vpcid_config_clear(&c);

    /* Flags win, wherever they stand; --listen flags replace the file's. */
    ck_assert_int_eq(load(&c, err, "--db", "/x/db", "--config", p, "--listen",
                          "unix:/x/s", "--log-level", "err", NULL),
                     0);
    ck_assert_str_eq(c.db, "/x/db");
    ck_assert_str_eq(c.sysfs, "/f/sys");
    ck_assert_str_eq(c.runtime_dir, "/f/run");
    ck_assert_uint_eq(c.nlisten, 1);
    ck_assert_str_eq(c.listen[0], "unix:/x/s");
    ck_assert_int_eq(c.log_level, LOG_ERR);
    vpcid_config_clear(&c);
}
END_TEST

START_TEST(test_bad_input)
{
    static const struct {
        const char *file; /* NULL: flags only */
        const char *arg1, *arg2;
        const char *msg; /* after the directory of the file */
    } cases[] = {
        {NULL, "--bogus", NULL, "vpcid: unknown option --bogus"},
        {NULL, "--db", NULL, "vpcid: option --db needs a value"},
        {NULL, "--threads", "0",
         "vpcid: --threads: threads wants a number "
         "from 1 to 64"},
        {NULL, "--threads", "12x",
         "vpcid: --threads: threads wants a number "
         "from 1 to 64"},
        {NULL, "--listen", "http://x",
         "vpcid: --listen: listen wants "
         "unix:PATH or tcp:HOST:PORT, not "
         "\"http://x\""},
        {NULL, "--listen", "tcp:127.0.0.1:0",
         "vpcid: --listen: tcp: wants HOST:PORT with a port from 1 to 65535, "
         "not \"tcp:127.0.0.1:0\""},
        {NULL, "--listen", "tcp:[::1]",
         "vpcid: --listen: tcp: wants "
         "HOST:PORT with a port from 1 to "
         "65535, not \"tcp:[::1]\""},
        {NULL, "--listen", "unix:",
         "vpcid: --listen: unix: wants a path of "
         "1 to 107 bytes"},
        {NULL, "--log-level", "loud",
         "vpcid: --log-level: log-level wants "
         "err, warning, notice, info or debug"},
        {NULL, "stray", NULL, "vpcid: unexpected argument \"stray\""},
        {"db /x\n", NULL, NULL, "/vpcid.conf:1: expected key = value"},
        {"\n\ncolour = blue\n", NULL, NULL,
         "/vpcid.conf:3: unknown key \"colour\""},
        {"config = /etc/x\n", NULL, NULL,
         "/vpcid.conf:1: unknown key \"config\""},
        {"foreground = maybe\n", NULL, NULL,
         "/vpcid.conf:1: foreground wants true or false"},
        {"db =\n", NULL, NULL, "/vpcid.conf:1: empty or too long value"},
        {"runtime-dir =\n", NULL, NULL,
         "/vpcid.conf:1: empty or too long value"},
        {NULL, "--runtime-dir", NULL,
         "vpcid: option --runtime-dir needs a value"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vpcid_config c;
        char err[512];
        int r;
        if (cases[i].file)
            r = load(&c, err, "--config", conf(cases[i].file), NULL);
        else
            r = load(&c, err, cases[i].arg1, cases[i].arg2, NULL);
        ck_assert_msg(r < 0, "case %zu accepted", i);
        const char *msg = cases[i].file ? err + strlen(dir) : err;
        ck_assert_msg(!strcmp(msg, cases[i].msg), "case %zu: \"%s\"", i, err);
        vpcid_config_clear(&c);
    }
    struct vpcid_config c;
    char err[512];
    ck_assert_int_lt(load(&c, err, "--config", "/nonexistent/vpcid.conf", NULL),
                     0);
    ck_assert_str_eq(err, "/nonexistent/vpcid.conf: No such file or directory");
    vpcid_config_clear(&c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("options");
    TCase *tc = tcase_create("options");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_flags);
    tcase_add_test(tc, test_file_under_flags);
    tcase_add_test(tc, test_bad_input);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
