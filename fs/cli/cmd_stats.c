/* cmd_stats.c - `ckptfs stats` (see cli.h). */
#include "cli.h"
#include "glob.h"
#include "progress.h"

#include "exitcodes.h"
#include "stats.h"
#include "statstext.h"

#include <stdlib.h>

/* `ckptfs stats [--json] [--nonfinite] SOURCE [PATTERN]`: each variable's value statistics
 * (stats.h), every tensor read once. */
static int cli_stats(int argc, char **argv);

const cli_command cli_stats_command = {
    "stats",
    cli_stats,
    "per-variable value statistics: NaN/Inf counts, min, max, mean, std",
    "usage: ckptfs stats [--json] [--nonfinite] SOURCE [PATTERN]\n"
    "Read every variable of SOURCE once (checksums verified, constant memory) and print one\n"
    "row per variable: a header, then tab-separated\n"
    "  name dtype count nan inf zeros min max mean std\n"
    "count is the number of elements; nan, inf (+inf and -inf) and zeros (-0.0 included)\n"
    "count elements; min, max, mean and std (population, numpy's ddof=0) are over the finite\n"
    "values, computed in float64. Integers and bool: exact min/max, nan and inf 0; complex:\n"
    "nan/inf in either part, zeros, no min..std; strings and variants: count only. A column\n"
    "without a value is '-'. Names are escaped as in ls.\n"
    "  --json       one JSON object per line with the same keys (absent values null)\n"
    "  --nonfinite  print only the variables holding a NaN or an infinity; exit 1 if any\n"
    "  PATTERN      a shell glob on the whole name ('*' also matches '/')\n"
    "On a terminal a progress bar is drawn on stderr. A variable on a missing data shard is\n"
    "named on stderr and left out; the others are still read.\n"
    "Exit status: 0 done (--nonfinite: and none found); 1 --nonfinite found one; 3 a tensor is\n"
    "damaged; 4 data shards are missing; 7 a read failed.\n",
};

static void on_progress(void *ctx, uint64_t n)
{
    cli_progress_add(ctx, n);
}

/* Worst trouble so far: damage outranks a failed read outranks a missing shard. */
static int worse(int a, int b)
{
    static const int rank[] = {
        [CKPTFS_EXIT_SHARD] = 1, [CKPTFS_EXIT_READ] = 2, [CKPTFS_EXIT_CORRUPT] = 3};
    int ra = a > 0 && a <= CKPTFS_EXIT_READ ? rank[a] : 0;
    int rb = b > 0 && b <= CKPTFS_EXIT_READ ? rank[b] : 0;
    return rb > ra ? b : a;
}

static int cli_stats(int argc, char **argv)
{
    if (cli_wants_help(argc, argv))
        return cli_help(&cli_stats_command);
    int json = 0, nonfinite = 0, npos = 0;
    const char *pos[2] = {NULL, NULL};
    const cli_opt opts[] = {
        {"--json", &json, NULL}, {"--nonfinite", &nonfinite, NULL}, {NULL, NULL, NULL}};
    int rc = cli_parse_args(&cli_stats_command, argc, argv, opts, pos, 2, &npos);
    if (rc)
        return rc;
    if (npos < 1)
        return cli_usage_error(&cli_stats_command, "expected SOURCE");
    ckpt_checkpoint *c;
    rc = cli_open_source(pos[0], &c);
    if (rc)
        return rc;
    size_t n = ckpt_count(c);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        ckpt_var v;
        ckpt_get(c, i, &v);
        if (!pos[1] || cli_glob_match(pos[1], v.name, v.name_len))
            total += v.nbytes;
    }
    cli_progress pg;
    cli_progress_start(&pg, total);
    ckpt_strbuf line = {0};
    int trouble = 0, found = 0, werr = 0;
    if (!json) {
        ckpt_stats_put_header(&line);
        werr |= line.failed || cli_write_all(line.data, line.len);
    }
    for (size_t i = 0; i < n && !werr; i++) {
        ckpt_var v;
        ckpt_get(c, i, &v);
        if (pos[1] && !cli_glob_match(pos[1], v.name, v.name_len))
            continue;
        ckpt_stats s;
        ckpt_err err;
        ckpt_err_clear(&err);
        rc = ckpt_stats_var(c, i, &s, on_progress, &pg, &err);
        if (rc) {
            cli_progress_clear(&pg);
            cli_error(pos[0], err.msg);
            trouble = worse(trouble, rc == CKPT_E_MISSING   ? CKPTFS_EXIT_SHARD
                                     : rc == CKPT_E_CORRUPT ? CKPTFS_EXIT_CORRUPT
                                                            : CKPTFS_EXIT_READ);
            continue;
        }
        if (nonfinite && s.nan + s.inf == 0)
            continue;
        found |= s.nan + s.inf > 0;
        line.len = 0;
        ckpt_stats_put_row(&line, &v, &s, json);
        /* the bar is on stderr, rows on stdout: a terminal showing both needs it erased */
        cli_progress_clear(&pg);
        werr |= line.failed || cli_write_all(line.data, line.len) || fflush(stdout) != 0;
    }
    cli_progress_clear(&pg);
    ckpt_strbuf_free(&line);
    ckpt_close(c);
    if (werr || fflush(stdout) != 0) {
        cli_error(pos[0], "out of memory or write error");
        return CKPTFS_EXIT_READ;
    }
    if (trouble)
        return trouble;
    return nonfinite && found ? 1 : CKPTFS_EXIT_OK;
}
