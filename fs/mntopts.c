/*
 * mntopts.c - parsing of the mount command's -o options.
 */
#include "mntopts.h"

#include <errno.h>
#include <stddef.h>
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

/* Options mount(8)/fstab hand to every helper that mean nothing to a FUSE daemon. "rw" is
 * among them: mount(8) passes it unless told otherwise, and the mount is read-only anyway. */
static const char *const ignored[] = {
    "defaults",    "auto",
    "noauto",      "user",
    "users",       "nouser",
    "owner",       "group",
    "nofail",      "_netdev",
    "ro",          "rw",
    "sync",        "async",
    "loud",        "silent",
    "suid",        "dev",
    "exec",        "atime",
    "diratime",    "relatime",
    "strictatime", "lazytime",
    "nolazytime",  "default_permissions",
    NULL,
};

/* Kernel mount flags that make sense for a FUSE mount and are passed on as given. */
static const char *const kernel_flags[] = {
    "nosuid", "nodev", "noexec", "noatime", "nodiratime", "dirsync", NULL,
};

/* Options without a value that switch one field of ckfs_opts on. */
static const struct {
    const char *name;
    size_t field; /* offsetof an int in ckfs_opts */
} switches[] = {
    {"allow_other", offsetof(ckfs_opts, allow_other)},
    {"allow_root", offsetof(ckfs_opts, allow_root)},
    {"force", offsetof(ckfs_opts, force)},
    {"npy", offsetof(ckfs_opts, npy)},
    {"stats", offsetof(ckfs_opts, stats)},
    {"noinotify", offsetof(ckfs_opts, noinotify)},
};

static int in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

/* strtoul that refuses what it would silently accept: nothing, a sign turning into a huge
 * value, trailing text, out of range. */
static int parse_ulong(const char *v, int base, unsigned long max, unsigned long *out)
{
    char *end;
    if (!v || !*v || *v == '-')
        return -1;
    errno = 0;
    unsigned long x = strtoul(v, &end, base);
    if (errno || *end || x > max)
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

/* A setter for an option "name=val" (val NULL when there was no '='): 0, or -1 and msg. */
typedef int (*setter)(ckfs_opts *o, const char *name, const char *val, char *msg, size_t msgsize);

static int set_id(ckfs_opts *o, const char *name, const char *val, char *msg, size_t msgsize)
{
    unsigned long x;
    /* (uid_t)-1 means "unchanged" to chown and friends: not an id to give files. */
    if (parse_ulong(val, 10, UINT_MAX - 1, &x)) {
        snprintf(msg, msgsize, "option %s needs a numeric id, got '%s'", name, val ? val : "");
        return -1;
    }
    if (name[0] == 'u') {
        o->uid = (uid_t)x;
        o->have_uid = 1;
    } else {
        o->gid = (gid_t)x;
        o->have_gid = 1;
    }
    return 0;
}

static int set_umask(ckfs_opts *o, const char *name, const char *val, char *msg, size_t msgsize)
{
    (void)name;
    unsigned long x;
    if (parse_ulong(val, 8, 0777, &x)) {
        snprintf(msg, msgsize, "option umask needs an octal mask <= 777, got '%s'", val ? val : "");
        return -1;
    }
    o->umask = (mode_t)x;
    o->have_umask = 1;
    return 0;
}

/* Options that take a whole number 1..limit into an unsigned field. The limits turn a typo
 * into an error: max_threads a thread storm, timeout more than a year, net_timeout a day of
 * silence. */
static const struct {
    const char *name;
    size_t field; /* offsetof an unsigned in ckfs_opts */
    unsigned long limit;
    const char *unit; /* for the message: what the number counts */
} counts[] = {
    {"max_threads", offsetof(ckfs_opts, max_threads), 1024, "threads"},
    {"timeout", offsetof(ckfs_opts, timeout), 366ul * 24 * 3600, "seconds"},
    {"net_timeout", offsetof(ckfs_opts, net_timeout), 86400, "seconds"},
};

static int set_count(ckfs_opts *o, const char *name, const char *val, char *msg, size_t msgsize)
{
    size_t i = 0;
    while (strcmp(counts[i].name, name) != 0) /* set_count is only listed for these names */
        i++;
    unsigned long x;
    if (parse_ulong(val, 10, counts[i].limit, &x) || x == 0) {
        snprintf(msg, msgsize, "option %s needs a number of %s 1..%lu, got '%s'", name,
                 counts[i].unit, counts[i].limit, val ? val : "");
        return -1;
    }
    *(unsigned *)((char *)o + counts[i].field) = (unsigned)x;
    return 0;
}

/* A terabyte of block cache: beyond it a typo is likelier than a wish. */
#define CACHE_SIZE_LIMIT (1ull << 40)

static int set_cache_size(ckfs_opts *o, const char *name, const char *val, char *msg,
                          size_t msgsize)
{
    (void)name;
    char num[32];
    size_t n = val ? strlen(val) : 0;
    unsigned long long mult = 1;
    if (n && strchr("kKmMgG", val[n - 1])) {
        mult = strchr("kK", val[n - 1])   ? 1ull << 10
               : strchr("mM", val[n - 1]) ? 1ull << 20
                                          : 1ull << 30;
        n--;
    }
    unsigned long x = 0;
    int bad = n == 0 || n >= sizeof num;
    if (!bad) {
        memcpy(num, val, n);
        num[n] = '\0';
        bad = parse_ulong(num, 10, CACHE_SIZE_LIMIT >> 10, &x) || x == 0 ||
              x * mult > CACHE_SIZE_LIMIT;
    }
    if (bad) {
        snprintf(msg, msgsize, "option cache_size needs a size like 64M or 1G, got '%s'",
                 val ? val : "");
        return -1;
    }
    o->cache_size = x * mult;
    return 0;
}

static int set_cache_dir(ckfs_opts *o, const char *name, const char *val, char *msg, size_t msgsize)
{
    (void)name;
    if (!val || !*val || strlen(val) >= sizeof o->cache_dir) {
        snprintf(msg, msgsize, "option cache_dir needs a directory");
        return -1;
    }
    snprintf(o->cache_dir, sizeof o->cache_dir, "%s", val);
    return 0;
}

/* include= and exclude=: globs added to the list (repeatable, or several ':'-separated). */
static int set_globs(ckfs_opts *o, const char *name, const char *val, char *msg, size_t msgsize)
{
    char *list = name[0] == 'i' ? o->include : o->exclude;
    size_t have = strlen(list), add = val ? strlen(val) : 0;
    if (!add) {
        snprintf(msg, msgsize, "option %s needs a glob, e.g. %s='*/Adam*'", name, name);
        return -1;
    }
    if (have + 1 + add >= sizeof o->include) {
        snprintf(msg, msgsize, "option %s: more than %zu bytes of globs", name,
                 sizeof o->include - 1);
        return -1;
    }
    if (have)
        list[have++] = ':';
    memcpy(list + have, val, add + 1);
    return 0;
}

/* poll= and idle=: seconds, decimals allowed ("0.5"); poll must be above 0, as a zero
 * interval would revalidate the folder at every request on its root. */
static int set_seconds(ckfs_opts *o, const char *name, const char *val, char *msg, size_t msgsize)
{
    int is_poll = name[0] == 'p';
    double lo = is_poll ? 0.01 : 0.0, x = 0;
    char *end = NULL;
    errno = 0;
    if (val && *val)
        x = strtod(val, &end);
    if (!val || !*val || errno || *end || !(x >= lo && x <= 86400.0)) {
        snprintf(msg, msgsize, "option %s needs seconds %s..86400, got '%s'", name,
                 is_poll ? "0.01" : "0", val ? val : "");
        return -1;
    }
    *(is_poll ? &o->poll : &o->idle) = x;
    return 0;
}

/* Options whose value is one of a few words: the word's place in the list is stored in an int
 * of ckfs_opts (so the first word is the default a zeroed ckfs_opts has). */
static const char *const read_words[] = {"buf", "splice", NULL};
/* In the order of enum ckfs_verify. */
static const char *const verify_words[] = {"sequential", "open", "off", NULL};
/* In the order of enum ckpt_shard_cache (checkpoint.h). */
static const char *const shard_cache_words[] = {"auto", "on", "off", NULL};

static const struct {
    const char *name;
    size_t field;
    const char *const *words;
} choices[] = {
    {"read", offsetof(ckfs_opts, splice), read_words},
    {"verify", offsetof(ckfs_opts, verify), verify_words},
    {"shard_cache", offsetof(ckfs_opts, shard_cache), shard_cache_words},
};

/* Set choice option k from val: 0, or -1 and msg listing the words it takes. */
static int set_choice(ckfs_opts *o, size_t k, const char *val, char *msg, size_t msgsize)
{
    const char *const *w = choices[k].words;
    for (int i = 0; val && w[i]; i++) {
        if (strcmp(val, w[i]) == 0) {
            *(int *)((char *)o + choices[k].field) = i;
            return 0;
        }
    }
    int n = snprintf(msg, msgsize, "option %s must be", choices[k].name);
    for (int i = 0; w[i] && n >= 0 && (size_t)n < msgsize; i++)
        n += snprintf(msg + n, msgsize - (size_t)n, "%s '%s'", i ? (w[i + 1] ? "," : " or") : "",
                      w[i]);
    if (n >= 0 && (size_t)n < msgsize)
        snprintf(msg + n, msgsize - (size_t)n, ", got '%s'", val ? val : "");
    return -1;
}

/* Options that take a value; given without one, their setter reports it. */
static const struct {
    const char *name;
    setter set;
} valued[] = {
    {"uid", set_id},
    {"gid", set_id},
    {"umask", set_umask},
    {"max_threads", set_count},
    {"poll", set_seconds},
    {"idle", set_seconds},
    {"timeout", set_count},
    {"cache_size", set_cache_size},
    {"cache_dir", set_cache_dir},
    {"net_timeout", set_count},
    {"include", set_globs},
    {"exclude", set_globs},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Options that belong to other programs: fstab comments and x-systemd.* style ones (with or
 * without a value), and the generic mount(8) words (never with one). */
static int belongs_elsewhere(const char *name, const char *val)
{
    if (strncmp(name, "x-", 2) == 0)
        return 1;
    return val ? strcmp(name, "comment") == 0 : in_list(ignored, name);
}

/* Apply one option (already unescaped; opt is cut at its '='). */
static int apply_option(ckfs_opts *o, char *opt, char *msg, size_t msgsize)
{
    char *val = strchr(opt, '=');
    if (val)
        *val++ = '\0';
    if (!*opt || belongs_elsewhere(opt, val))
        return 0;
    for (size_t i = 0; i < COUNT(valued); i++)
        if (strcmp(opt, valued[i].name) == 0)
            return valued[i].set(o, opt, val, msg, msgsize);
    for (size_t i = 0; i < COUNT(choices); i++)
        if (strcmp(opt, choices[i].name) == 0)
            return set_choice(o, i, val, msg, msgsize);
    if (val) {
        snprintf(msg, msgsize, "unknown option '%s=%s'", opt, val);
        return -1;
    }
    for (size_t i = 0; i < COUNT(switches); i++) {
        if (strcmp(opt, switches[i].name) == 0) {
            *(int *)((char *)o + switches[i].field) = 1;
            return 0;
        }
    }
    if (in_list(kernel_flags, opt)) {
        append(o->kernel, sizeof(o->kernel), opt);
        return 0;
    }
    snprintf(msg, msgsize, "unknown option '%s'", opt);
    return -1;
}

int ckfs_opts_parse(ckfs_opts *o, const char *arg, char *msg, size_t msgsize)
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
            rc = apply_option(o, buf, msg, msgsize);
            j = 0;
        } else {
            buf[j++] = ch;
        }
    }
    free(buf);
    return rc;
}
