/*
 * sigops.h - for signatures.c: the ops a MetaGraphDef's graph uses, as TF's
 * meta_graph.ops_used_by_graph_def finds them (graph nodes plus the nodes of every function
 * they reach through the library or a (Stateful)PartitionedCall's `f`), walked on the wire.
 */
#ifndef CKPT_SIGOPS_H
#define CKPT_SIGOPS_H

#include "err.h"
#include "pbtext.h"

#include <stddef.h>
#include <stdint.h>

/* A string pointing into the mapping. */
typedef struct ckpt_sigstr {
    const uint8_t *p;
    size_t n;
} ckpt_sigstr;

/* Bytewise order, a prefix first. */
int ckpt_sigstr_cmp(ckpt_sigstr a, ckpt_sigstr b);

/* CKPT_E_NOMEM with its message. */
static inline int ckpt_sig_nomem(ckpt_err *err)
{
    return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
}

/* The ops used by the GraphDef in graph[0..ngraph) (its wire segments), sorted, into *ops
 * (malloc'd; the strings point into the segments). 0 or a CKPT_E_* code. */
int ckpt_sig_graph_ops(const ckpt_pb_seg *graph, size_t ngraph, ckpt_sigstr **ops, size_t *nops,
                       ckpt_err *err);

#endif
