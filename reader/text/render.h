/*
 * render.h - the text files of a mount: sidecars, variables.tsv, string tensors' text form.
 *
 * Sidecars and variables.tsv come from the index alone (no data-shard read); a string
 * tensor's text form needs its data.
 */
#ifndef CKPTFS_RENDER_H
#define CKPTFS_RENDER_H

#include "checkpoint.h"

#include <stddef.h>

/* A growable byte buffer. */
typedef struct ckfs_buf {
    char *data;
    size_t len, cap;
    int failed; /* an allocation failed: the content is incomplete */
} ckfs_buf;

void ckfs_buf_put(ckfs_buf *b, const void *p, size_t n);
void ckfs_buf_free(ckfs_buf *b);

/* NAME.shape: "[d0, d1]\n". Returns the length; writes at most size bytes (snprintf-like). */
size_t ckfs_render_shape(const ckpt_var *v, char *buf, size_t size);

/* NAME.dtype: "float32\n". Same contract. */
size_t ckfs_render_dtype(const ckpt_var *v, char *buf, size_t size);

/* variables.tsv: the header and one line per variable, as `ckptfs ls` prints. */
int ckfs_render_tsv(const ckpt_checkpoint *c, ckfs_buf *out);

/* The text form of string variable i (tstring.h): one escaped element per line. */
int ckfs_render_strings(ckpt_checkpoint *c, size_t i, ckfs_buf *out, ckpt_err *err);

/* The text form of a text-shown variable i (ckfs_is_text_var): strings as above, variants as
 * variant.h describes. */
int ckfs_render_text(ckpt_checkpoint *c, size_t i, ckfs_buf *out, ckpt_err *err);

/* Whether variable v's file holds a text form instead of its stored bytes (string and variant
 * tensors). */
int ckfs_is_text_var(const ckpt_var *v);

#endif
