/*
 * mntopts.c - parsing of the mount command's -o options.
 */
#include "mntopts.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ckfs_opts_init(ckfs_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->poll = CKFS_POLL_DEFAULT;
    o->idle = CKFS_IDLE_DEFAULT;
}

/* Options mount(8)/fstab hand to every helper that mean nothing to a FUSE daemon. */
static const char *const ignored[] = {
    "defaults", "auto", "noauto", "user", "users", "nouser", "owner", "group", "nofail",
    "_netdev", "ro", "sync", "async", "loud", "silent", "suid", "dev", "exec", "atime",
    "diratime", "relatime", "strictatime", "lazytime", "nolazytime", "default_permissions",
    NULL,
};

/* Kernel mount flags that make sense for a FUSE mount and are passed on as given. */
static const char *const kernel_flags[] = {
    "nosuid", "nodev", "noexec", "noatime", "nodiratime", "dirsync", NULL,
};

static int in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

static int parse_ulong(const char *v, int base, unsigned long max, unsigned long *out)
{
    char *end;
    if (!*v || *v == '-')
        return -1;
    errno = 0;
    unsigned long x = strtoul(v, &end, base);
    if (errno || *end || x > max)
        return -1;
    *out = x;
    return 0;
}

/* A number of seconds in [lo, hi], decimals allowed ("0.5"). */
static int parse_seconds(const char *v, double lo, double hi, double *out)
{
    char *end;
    if (!v || !*v)
        return -1;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || *end || !(x >= lo && x <= hi))
        return -1;
    *out = x;
    return 0;
}

static void append(char *dst, size_t size, const char *s)
{
    size_t n = strlen(dst);
    if (n + strlen(s) + 2 > size)
        return;
    if (n)
        dst[n++] = ',';
    strcpy(dst + n, s);
}

/* Handle one option (already unescaped). */
static int one(ckfs_opts *o, char *opt, char *msg, size_t msgsize, char *warn, size_t warnsize)
{
    (void)warn, (void)warnsize; /* no option warns at present */
    char *val = strchr(opt, '=');
    if (val)
        *val++ = '\0';
    unsigned long x;

    if (!*opt)
        return 0;
    if (strcmp(opt, "uid") == 0 || strcmp(opt, "gid") == 0) {
        if (!val || parse_ulong(val, 10, UINT_MAX - 1, &x)) {
            snprintf(msg, msgsize, "option %s needs a numeric id, got '%s'", opt, val ? val : "");
            return -1;
        }
        if (opt[0] == 'u') {
            o->uid = (uid_t)x;
            o->have_uid = 1;
        } else {
            o->gid = (gid_t)x;
            o->have_gid = 1;
        }
        return 0;
    }
    if (strcmp(opt, "umask") == 0) {
        if (!val || parse_ulong(val, 8, 0777, &x)) {
            snprintf(msg, msgsize, "option umask needs an octal mask <= 777, got '%s'",
                     val ? val : "");
            return -1;
        }
        o->umask = (mode_t)x;
        o->have_umask = 1;
        return 0;
    }
    if (strcmp(opt, "max_threads") == 0) {
        if (!val || parse_ulong(val, 10, 1024, &x) || x == 0) {
            snprintf(msg, msgsize, "option max_threads needs a number 1..1024, got '%s'",
                     val ? val : "");
            return -1;
        }
        o->max_threads = (int)x;
        return 0;
    }
    if (strcmp(opt, "poll") == 0 || strcmp(opt, "idle") == 0) {
        int is_poll = opt[0] == 'p';
        if (parse_seconds(val, is_poll ? 0.01 : 0.0, 86400.0, is_poll ? &o->poll : &o->idle)) {
            snprintf(msg, msgsize, "option %s needs seconds %s..86400, got '%s'", opt,
                     is_poll ? "0.01" : "0", val ? val : "");
            return -1;
        }
        return 0;
    }
    if (strcmp(opt, "read") == 0) {
        if (val && strcmp(val, "splice") == 0)
            o->splice = 1;
        else if (val && strcmp(val, "buf") == 0)
            o->splice = 0;
        else {
            snprintf(msg, msgsize, "option read must be 'buf' or 'splice', got '%s'",
                     val ? val : "");
            return -1;
        }
        return 0;
    }
    if (val) {
        /* fstab comments and x-systemd.* style options belong to other programs. */
        if (strcmp(opt, "comment") == 0 || strncmp(opt, "x-", 2) == 0)
            return 0;
        snprintf(msg, msgsize, "unknown option '%s=%s'", opt, val);
        return -1;
    }
    if (strncmp(opt, "x-", 2) == 0 || in_list(ignored, opt))
        return 0;
    /* mount(8) passes "rw" unless told otherwise; the mount is read-only regardless. */
    if (strcmp(opt, "rw") == 0)
        return 0;
    if (strcmp(opt, "allow_other") == 0) {
        o->allow_other = 1;
        return 0;
    }
    if (strcmp(opt, "allow_root") == 0) {
        o->allow_root = 1;
        return 0;
    }
    if (strcmp(opt, "force") == 0) {
        o->force = 1;
        return 0;
    }
    if (strcmp(opt, "noinotify") == 0) {
        o->noinotify = 1;
        return 0;
    }
    if (strcmp(opt, "npy") == 0) {
        o->npy = 1;
        return 0;
    }
    if (in_list(kernel_flags, opt)) {
        append(o->kernel, sizeof(o->kernel), opt);
        return 0;
    }
    snprintf(msg, msgsize, "unknown option '%s'", opt);
    return -1;
}

int ckfs_opts_parse(ckfs_opts *o, const char *arg, char *msg, size_t msgsize, char *warn,
                    size_t warnsize)
{
    size_t n = strlen(arg);
    char *buf = malloc(n + 1);
    if (!buf) {
        snprintf(msg, msgsize, "out of memory");
        return -1;
    }
    size_t j = 0;
    int rc = 0;
    for (size_t i = 0; i <= n && rc == 0; i++) {
        char ch = arg[i];
        if (ch == '\\' && i + 1 < n) {
            buf[j++] = arg[++i];
        } else if (ch == ',' || ch == '\0') {
            buf[j] = '\0';
            rc = one(o, buf, msg, msgsize, warn, warnsize);
            j = 0;
        } else {
            buf[j++] = ch;
        }
    }
    free(buf);
    return rc;
}
