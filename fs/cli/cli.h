/*
 * cli.h - the `ckptfs` command's subcommands (one file each) and the little they share.
 *
 * Each cli_* function gets the subcommand's own argv (argv[0] is its name, e.g. "ls") and
 * returns the process exit status (exitcodes.h). `mount` runs the daemon, mount.ckptfs
 * (fs/main.c), as its own program: the commands do not link libfuse3. Every message goes to stderr
 * as "ckptfs: SOURCE: what went wrong" (cli_error).
 */
#ifndef CKPTFS_CLI_H
#define CKPTFS_CLI_H

#include "checkpoint.h"
#include "net.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One subcommand: its name, entry point, one-line summary and full --help text. */
typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    const char *help;
} cli_command;

/* The subcommands, each defined in its cmd_NAME.c (its run function is that file's). */
extern const cli_command cli_ls_command, cli_cat_command, cli_diff_command, cli_verify_command,
    cli_graph_command, cli_stats_command, cli_du_command, cli_export_command;

/*
 * `ckptfs mount ...`: replace this process with the daemon, mount.ckptfs, found next to this
 * executable, in ../sbin beside it, in /sbin or /usr/sbin, or on PATH. argv[0] is taken as the
 * name the daemon shows in its messages; argv[1..] are its arguments. Returns only when no
 * daemon could be run (CKPTFS_EXIT_FUSE, with a message).
 */
int cli_mount_exec(int argc, char **argv);

/* The command's overview (every subcommand and its summary), to f. */
void cli_usage(FILE *f);

/* Whether argv asks for help (-h or --help before a "--"). */
int cli_wants_help(int argc, char **argv);

/* Whether argv holds --help before a "--" (for commands where -h means something else). */
int cli_wants_long_help(int argc, char **argv);

/* Print cmd's help to stdout: the exit status 0. */
int cli_help(const cli_command *cmd);

/* An option of a subcommand: "-l" sets *on to 1; with value set, the next argument goes
 * to *value. Neither: accepted and ignored (kept for old scripts, e.g. --index-only). */
typedef struct cli_opt {
    const char *name;
    int *on;
    const char **value;
} cli_opt;

/*
 * Parse argv[1..argc) into options (opts, ended by a NULL name) and up to maxpos positional
 * arguments (pos[], their count in *npos); "--" ends the options. 0, or the exit status after
 * a usage error (an unknown option, too many arguments, an option missing its value).
 */
int cli_parse_args(const cli_command *cmd, int argc, char **argv, const cli_opt *opts,
                   const char **pos, int maxpos, int *npos);

/* "ckptfs CMD: msg" and cmd's help to stderr: the exit status CKPTFS_EXIT_USAGE. */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "ckptfs: SOURCE: msg" on stderr (msg alone when it already starts with SOURCE). */
void cli_error(const char *source, const char *msg);

/*
 * Open SOURCE for a command: data shards may be missing (as TensorFlow, which opens them only
 * to read a tensor); each missing one is a warning on stderr. 0, or an exit status after a
 * message.
 */
int cli_open_source(const char *source, ckpt_checkpoint **c);

/* cli_open_source with remote behaviour opts (NULL: defaults; net.h). */
int cli_open_source_net(const char *source, const ckpt_net_opts *opts, ckpt_checkpoint **c);

/* cli_open_source of prefix as source src resolved it (ckpt_source_resolve), named source in
 * messages. */
int cli_open_src(const char *source, const ckpt_bytesrc *src, const char *prefix,
                 ckpt_checkpoint **c);

/* Room for cli_human_size's text. */
enum { CLI_HUMAN_MAX = 24 };

/*
 * bytes as `du -h` and `ls -lh` print them: below 1024 the number itself, else in K, M, G, T,
 * P, E (powers of 1024) rounded up, with one decimal below 10 ("1.5K", "10K", "2.0M").
 * Returns buf.
 */
const char *cli_human_size(uint64_t bytes, char buf[CLI_HUMAN_MAX]);

/* Write p[0..n) to stdout; 0, or -1 on a write error. */
int cli_write_all(const void *p, size_t n);

/* A ckpt_write_fn (textbuf.h) for stdout. */
int cli_stdout_sink(void *ctx, const char *p, size_t n);

#endif
