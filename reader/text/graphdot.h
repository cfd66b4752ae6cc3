/*
 * graphdot.h - a GraphDef drawn as Graphviz DOT, straight from its wire bytes.
 *
 * One DOT node per NodeDef of the graph (functions of the library are not drawn), labeled
 * "name\nop"; one edge per input: solid for data inputs ("name", "name:k"), dashed for control
 * inputs ("^name"). Names are quoted and escaped (" and \ backslashed, bytes that are control
 * characters or not valid UTF-8 as \\ooo), so any name gives valid DOT. Output:
 *
 *   digraph G {
 *     node [shape=box];
 *     "a" [label="a\nConst"];
 *     "b" [label="b\nIdentity"];
 *     "a" -> "b";
 *     "c" -> "b" [style=dashed];
 *   }
 *
 * Streaming and memory as in pbtext.h: nothing but a 64 KiB output buffer is allocated.
 */
#ifndef CKPT_GRAPHDOT_H
#define CKPT_GRAPHDOT_H

#include "err.h"
#include "pbtext.h"

/* Write the DOT text of the GraphDef serialized in segs[0..nseg) through write(ctx, ...).
 * Returns 0, a negative CKPT_E_* code, or the positive value a sink returned to stop. */
int ckpt_graphdot_render(const ckpt_pb_seg *segs, size_t nseg, ckpt_write_fn write, void *ctx,
                         ckpt_err *err);

/* Escape s for the inside of a DOT double-quoted string; dst NULL measures (at most 4 * len). */
size_t ckpt_graphdot_escape(const uint8_t *s, size_t len, char *dst);

#endif
