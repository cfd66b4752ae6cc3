/* common.c - what the subcommands share (see cli.h). */
#include "cli.h"

#include "exitcodes.h"

#include "render.h"
#include "resolve.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return 1;
    return 0;
}

int cli_wants_long_help(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--help"))
            return 1;
    return 0;
}

int cli_help(const cli_command *cmd)
{
    fputs(cmd->help, stdout);
    return CKPTFS_EXIT_OK;
}

/* The option of opts named a, or NULL. */
static const cli_opt *find_opt(const cli_opt *opts, const char *a)
{
    for (; opts && opts->name; opts++)
        if (!strcmp(opts->name, a))
            return opts;
    return NULL;
}

int cli_parse_args(const cli_command *cmd, int argc, char **argv, const cli_opt *opts,
                   const char **pos, int maxpos, int *npos)
{
    int done = 0;
    *npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const cli_opt *o = done ? NULL : find_opt(opts, a);
        if (!done && !strcmp(a, "--")) {
            done = 1;
        } else if (o && o->value) {
            if (i + 1 >= argc)
                return cli_usage_error(cmd, "option %s needs a value", a);
            *o->value = argv[++i];
        } else if (o) {
            if (o->on)
                *o->on = 1;
        } else if (!done && a[0] == '-' && a[1]) {
            return cli_usage_error(cmd, "unknown option %s", a);
        } else if (*npos < maxpos) {
            pos[(*npos)++] = a;
        } else {
            return cli_usage_error(cmd, "too many arguments");
        }
    }
    return 0;
}

int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ckptfs %s: ", cmd->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fputs(cmd->help, stderr);
    return CKPTFS_EXIT_USAGE;
}

/* msg with every copy of url replaced by shown (malloc'd), or NULL when out of memory. */
static char *replace_all(const char *msg, const char *url, const char *shown)
{
    size_t ul = strlen(url), sl = strlen(shown), n = 0;
    for (const char *p = strstr(msg, url); p; p = strstr(p + ul, url))
        n++;
    char *out = malloc(strlen(msg) + n * sl + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *p = msg, *q; *p; p = q + ul) {
        if (!(q = strstr(p, url))) {
            strcpy(o, p);
            return out;
        }
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, shown, sl);
        o += sl;
    }
    *o = '\0';
    return out;
}

void cli_error(const char *source, const char *msg)
{
    /* The reader names a URL without its password; a message that quotes SOURCE as given
     * (with it) is redacted here. */
    char *shown = ckpt_url_redact(source);
    char *m = shown && strcmp(shown, source) ? replace_all(msg, source, shown) : NULL;
    if (shown)
        source = shown;
    if (m)
        msg = m;
    size_t n = strlen(source);
    if (!strncmp(msg, source, n) && msg[n] == ':')
        fprintf(stderr, "ckptfs: %s\n", msg);
    else
        fprintf(stderr, "ckptfs: %s: %s\n", source, msg);
    free(m);
    free(shown);
}

int cli_write_all(const void *p, size_t n)
{
    return n == 0 || fwrite(p, 1, n, stdout) == n ? 0 : -1;
}

int cli_stdout_sink(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    return cli_write_all(p, n) ? CKPT_E_IO : 0;
}

/* A warning line about source (ctx): "ckptfs: SOURCE: warning: MSG". */
static void warn_line(void *ctx, const char *msg)
{
    fprintf(stderr, "ckptfs: %s: warning: %s\n", (const char *)ctx, msg);
}

int cli_open_source(const char *source, ckpt_checkpoint **c)
{
    return cli_open_source_net(source, NULL, c);
}

int cli_open_source_net(const char *source, const ckpt_net_opts *opts, ckpt_checkpoint **c)
{
    ckpt_err err;
    ckpt_err_clear(&err);
    int rc = ckpt_open_net(source, opts, CKPT_OPEN_MISSING_SHARDS_OK, c, &err);
    if (rc) {
        cli_error(source, err.msg);
        return ckptfs_exit_for(rc);
    }
    ckpt_warn_missing_shards(*c, warn_line, (void *)source);
    return 0;
}

int cli_open_src(const char *source, const ckpt_bytesrc *src, const char *prefix,
                 ckpt_checkpoint **c)
{
    ckpt_err err;
    ckpt_err_clear(&err);
    int rc = ckpt_open_src(src, prefix, CKPT_OPEN_MISSING_SHARDS_OK, c, &err);
    if (rc) {
        cli_error(source, err.msg);
        return ckptfs_exit_for(rc);
    }
    ckpt_warn_missing_shards(*c, warn_line, (void *)source);
    return 0;
}

const char *cli_human_size(uint64_t bytes, char buf[CLI_HUMAN_MAX])
{
    static const char units[] = "KMGTPE";
    if (bytes < 1024) {
        snprintf(buf, CLI_HUMAN_MAX, "%" PRIu64, bytes);
        return buf;
    }
    /* whole tenths of the unit, rounded up as du does, in integers: a double would round */
    int u = 0;
    uint64_t scale = 1024;
    while (u < 5 && bytes / scale >= 1024)
        scale *= 1024, u++;
    uint64_t whole = bytes / scale, rest = bytes % scale;
    uint64_t tenths = whole * 10 + (rest * 10 + scale - 1) / scale;
    if (tenths < 100) {
        snprintf(buf, CLI_HUMAN_MAX, "%" PRIu64 ".%" PRIu64 "%c", tenths / 10, tenths % 10,
                 units[u]);
        return buf;
    }
    uint64_t up = whole + (rest != 0);
    if (up >= 1024 && u < 5) /* 1023.5K shows as 1.0M, not 1024K */
        snprintf(buf, CLI_HUMAN_MAX, "1.0%c", units[u + 1]);
    else
        snprintf(buf, CLI_HUMAN_MAX, "%" PRIu64 "%c", up, units[u]);
    return buf;
}
