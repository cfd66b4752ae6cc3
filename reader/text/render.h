/*
 * render.h - the per-variable text files of a mount and the `ckptfs ls`/`cat` text:
 * sidecars (sidecar.c), variables.tsv (tsv.c), string and variant tensors' text (tensortext.c),
 * the warning about missing data shards (missing.c).
 *
 * Sidecars and variables.tsv come from the index alone (no data-shard read); a string or
 * variant tensor's text form needs its data.
 */
#ifndef CKPT_RENDER_H
#define CKPT_RENDER_H

#include "checkpoint.h"
#include "objnames.h"
#include "textbuf.h"

#include <stddef.h>

/* The buffer ckpt_dtype_name (dtype.h) needs for an unknown value's "dtype_<n>". */
enum { CKPT_DTYPE_NAME_BUF = 32 };

/* NAME.shape: "[d0, d1]\n" ("[]\n" for a scalar). Returns the full length; writes at most
 * size bytes, NUL-terminated when it fits (snprintf-like). */
size_t ckpt_render_shape(const ckpt_var *v, char *buf, size_t size);

/* NAME.dtype: "float32\n" (ckpt_dtype_name). Same contract. */
size_t ckpt_render_dtype(const ckpt_var *v, char *buf, size_t size);

/* variables.tsv: the header and one line per variable, as `ckptfs ls` prints; with names (a
 * TF 2 checkpoint's, objnames.h) an eighth column full_name ("-" for none). Appends to out;
 * 0, or -1 when out of memory (out->failed). */
int ckpt_render_tsv(const ckpt_checkpoint *c, const ckpt_names *names, ckpt_strbuf *out);

/* The text form of a text-shown variable i (ckpt_is_text_var): strings as above, variants as
 * varianttext.h describes (checksum verified). Appends to out; 0 or a CKPT_E_* code. */
int ckpt_render_text(ckpt_checkpoint *c, size_t i, ckpt_strbuf *out, ckpt_err *err);

/* Whether variable v's file holds a text form instead of its stored bytes (string and variant
 * tensors). */
int ckpt_is_text_var(const ckpt_var *v);

/* Receives one line of text (no newline). */
typedef void (*ckpt_line_fn)(void *ctx, const char *msg);

/* Longest missing-shard line; a longer shard path is cut. */
enum { CKPT_MISSING_MSG_MAX = 4200 };

/* For each data shard of c that is missing, one warning line to line(ctx, ...): "data shard
 * PATH is missing: its variables are listed, reading them fails" (the mount and every command
 * say the same). */
void ckpt_warn_missing_shards(const ckpt_checkpoint *c, ckpt_line_fn line, void *ctx);

#endif
