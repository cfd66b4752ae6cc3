/*
 * statstext.h - a tensor's statistics (stats.h) as a line of text: the rows of `ckptfs stats`,
 * of a mount's `NAME.stats` and `stats.tsv`, as tab-separated columns or one JSON object.
 *
 * Columns: name dtype count nan inf zeros min max mean std. Names escaped as in `ckptfs ls`
 * (strtext.h); min and max of integers exact, every other number as Python's repr(float) of
 * the float64 (the shortest decimal that reads back to it). A column a dtype has no value for
 * (docs/format.md "Statistics of a tensor") is `-` (JSON null).
 */
#ifndef CKPT_STATSTEXT_H
#define CKPT_STATSTEXT_H

#include "checkpoint.h"
#include "stats.h"
#include "textbuf.h"

/* The header line of the tab-separated form, newline included. */
void ckpt_stats_put_header(ckpt_strbuf *out);

/* Variable v's row with statistics s: tab-separated (json 0) or a JSON object (json 1),
 * newline included. */
void ckpt_stats_put_row(ckpt_strbuf *out, const ckpt_var *v, const ckpt_stats *s, int json);

/*
 * A mount's stats.tsv: the header and every variable's row, each tensor read once with its
 * checksum verified. A variable on a missing data shard has no row (there is nothing to
 * count); a damaged tensor fails the whole text (CKPT_E_CORRUPT, err naming it), as reading
 * it would. Appends to out; 0 or a CKPT_E_* code.
 */
int ckpt_render_stats_tsv(ckpt_checkpoint *c, ckpt_strbuf *out, ckpt_err *err);

#endif
