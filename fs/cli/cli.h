/*
 * cli.h - the `ckptfs` command's subcommands (one file each) and the little they share.
 *
 * Each cli_* function gets the subcommand's own argv (argv[0] is its name, e.g. "ls") and
 * returns the process exit status (exitcodes.h). `mount` is not here: it is the daemon's
 * entry point and lives with it in libckptll (mount.h).
 */
#ifndef CKPTFS_CLI_H
#define CKPTFS_CLI_H

#include "checkpoint.h"

#include <stddef.h>
#include <stdio.h>

/* `ckptfs ls [--index-only] SOURCE`: the checkpoint's variables.tsv on stdout. */
int cli_ls(int argc, char **argv);

/* `ckptfs cat [--index-only] SOURCE NAME`: one variable as a mount serves it (bytes, or text
 * for string and variant tensors). */
int cli_cat(int argc, char **argv);

/*
 * `ckptfs graph SOURCE [--format pbtxt|meta|dot|objects|savedmodel]`: a checkpoint's or
 * SavedModel's graph exactly as TensorFlow's text_format.MessageToString prints it (see
 * reader/metagraph.h for the formats and how SOURCE is resolved). The text is validated by a
 * counting pass before the first byte is written, so a damaged file prints nothing and exits
 * with CKPTFS_EXIT_CORRUPT.
 */
int cli_graph(int argc, char **argv);

/* The command's usage text, to f. */
void cli_usage(FILE *f);

/* Open SOURCE for ls/cat; 0, or an exit status after a message on stderr. */
int cli_open_source(const char *source, unsigned flags, ckpt_checkpoint **c);

/* Write p[0..n) to stdout; 0, or -1 on a write error. */
int cli_write_all(const void *p, size_t n);

#endif
