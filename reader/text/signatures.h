/*
 * signatures.h - signatures.txt of a SavedModel mount: what `saved_model_cli show --all` prints.
 *
 * Computed from saved_model.pb alone (TensorFlow's tool also loads the model, only to list the
 * concrete functions; here they come from the SavedObjectGraph the same loader reads). The text
 * equals the tool's output except for the op set line: Python prints a set in an order that
 * changes from run to run, so here the ops are sorted.
 */
#ifndef CKPT_SIGNATURES_H
#define CKPT_SIGNATURES_H

#include "bytesrc.h"
#include "err.h"
#include "textbuf.h"

/* Render the signatures of the SavedModel in file path, read through src (NULL: by the path),
 * into out. 0 or a CKPT_E_* code. */
int ckpt_render_signatures(const ckpt_bytesrc *src, const char *path, ckpt_strbuf *out,
                           ckpt_err *err);

#endif
