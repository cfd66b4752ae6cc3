/* cmd_du.c - `ckptfs du` (see cli.h). */
#include "cli.h"
#include "prefix.h"
#include "varname.h"

#include "exitcodes.h"
#include "objnames.h"
#include "strtext.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* `ckptfs du SOURCE [--depth N] [-h] [--sort=size|name]`: stored bytes by name prefix. */
static int cli_du(int argc, char **argv);

const cli_command cli_du_command = {
    "du",
    cli_du,
    "stored bytes of the variables summed by name prefix",
    "usage: ckptfs du [--depth N] [-h] [--sort=size|name] [--by-name] SOURCE\n"
    "Sum the stored bytes of SOURCE's variables (the bytes column of ls -l: what the data\n"
    "files hold for each, slices of a partitioned variable together) by the first N\n"
    "components of their names ('/'-separated; default 1), one line per prefix,\n"
    "SIZE<TAB>VARIABLES<TAB>PREFIX, then SIZE<TAB>VARIABLES<TAB>total. Unlike du of a mount,\n"
    "nothing counts sidecars or directory blocks. Only the index is read.\n"
    "  --depth N         components per prefix (0: the total alone)\n"
    "  -h                sizes as 1.5K, 20M, 3.1G (powers of 1024, rounded up, as du -h)\n"
    "  --sort=size       largest first (ties by name); --sort=name (default) bytewise\n"
    "  --by-name         group a TF 2 checkpoint's variables by their full_name (the\n"
    "                    object graph's, as ls -l shows it) instead of their key; a\n"
    "                    variable without one (the object graph itself) by its key\n"
    "Prefixes are escaped as names in ls.\n",
};

static int by_size(const void *a, const void *b)
{
    const cli_prefix *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->name, y->name, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* "--sort=WORD" or "--sort WORD": 1 size, 0 name, -1 anything else. */
static int sort_word(const char *w)
{
    return !strcmp(w, "size") ? 1 : !strcmp(w, "name") ? 0 : -1;
}

static void put_row(ckpt_strbuf *out, uint64_t bytes, uint64_t vars, const char *name, size_t len,
                    int human, int escape)
{
    char b[2 * CLI_HUMAN_MAX + 4], h[CLI_HUMAN_MAX];
    if (!human)
        snprintf(h, sizeof h, "%" PRIu64, bytes);
    int n = snprintf(b, sizeof b, "%s\t%" PRIu64 "\t", human ? cli_human_size(bytes, h) : h, vars);
    ckpt_strbuf_put(out, b, (size_t)n);
    if (escape)
        ckpt_tstring_put_escaped(out, (const uint8_t *)name, len);
    else
        ckpt_strbuf_put(out, name, len);
    ckpt_strbuf_put(out, "\n", 1);
}

static int cli_du(int argc, char **argv)
{
    /* -h is du's human sizes, as in du(1); only --help is help */
    if (cli_wants_long_help(argc, argv))
        return cli_help(&cli_du_command);
    int human = 0, sort_size = 0, sort_name = 0, by_name = 0, npos = 0;
    const char *depth_s = NULL, *sort_s = NULL, *pos[1] = {NULL};
    const cli_opt opts[] = {{"--depth", NULL, &depth_s},
                            {"-h", &human, NULL},
                            {"--sort=size", &sort_size, NULL},
                            {"--sort=name", &sort_name, NULL},
                            {"--sort", NULL, &sort_s},
                            {"--by-name", &by_name, NULL},
                            {NULL, NULL, NULL}};
    int rc = cli_parse_args(&cli_du_command, argc, argv, opts, pos, 1, &npos);
    if (rc)
        return rc;
    if (npos != 1)
        return cli_usage_error(&cli_du_command, "expected one SOURCE");
    if (sort_s) {
        int w = sort_word(sort_s);
        if (w < 0)
            return cli_usage_error(&cli_du_command, "--sort takes size or name, not '%s'", sort_s);
        sort_size = w;
    }
    long depth = 1;
    if (depth_s) {
        char *end;
        errno = 0;
        depth = strtol(depth_s, &end, 10);
        if (errno || end == depth_s || *end || depth < 0 || depth > 1000000)
            return cli_usage_error(&cli_du_command, "--depth takes a number >= 0, not '%s'",
                                   depth_s);
    }
    ckpt_checkpoint *c;
    rc = cli_open_source(pos[0], &c);
    if (rc)
        return rc;
    ckpt_names *names = by_name ? cli_load_names(pos[0], c) : NULL;
    cli_prefixes t = {0};
    uint64_t total = 0, vars = 0;
    int bad = 0;
    for (size_t i = 0; i < ckpt_count(c) && !bad; i++) {
        ckpt_var v;
        ckpt_get(c, i, &v);
        total += v.nbytes;
        vars++;
        if (depth == 0)
            continue;
        /* --by-name: the full_name, where the object graph gives one */
        size_t klen = v.name_len;
        const char *key = ckpt_names_full(names, i, &klen);
        if (!key) {
            key = v.name;
            klen = v.name_len;
        }
        cli_prefix *g = cli_prefixes_get(&t, key, cli_prefix_len(key, klen, (int)depth));
        if (!g) {
            bad = 1;
            break;
        }
        g->bytes += v.nbytes;
        g->vars++;
    }
    if (sort_size) {
        cli_prefixes_sort_by_name(&t);
        if (t.n > 1)
            qsort(t.items, t.n, sizeof *t.items, by_size);
    } else {
        cli_prefixes_sort_by_name(&t);
    }
    ckpt_strbuf out = {0};
    for (size_t i = 0; i < t.n && !bad; i++)
        put_row(&out, t.items[i].bytes, t.items[i].vars, t.items[i].name, t.items[i].len, human, 1);
    put_row(&out, total, vars, "total", 5, human, 0);
    bad |= out.failed || cli_write_all(out.data, out.len);
    ckpt_strbuf_free(&out);
    cli_prefixes_free(&t);
    ckpt_names_free(names);
    ckpt_close(c);
    if (bad || fflush(stdout) != 0) {
        cli_error(pos[0], "out of memory or write error");
        return CKPTFS_EXIT_READ;
    }
    return CKPTFS_EXIT_OK;
}
