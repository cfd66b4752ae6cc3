/*
 * objgraph_prune.h - a TF 2 checkpoint's object graph without the variables a filter hid, so
 * that an exported bundle restores consistently (docs/format.md, "Exporting a V2 bundle").
 */
#ifndef CKPT_OBJGRAPH_PRUNE_H
#define CKPT_OBJGRAPH_PRUNE_H

#include "checkpoint.h"
#include "objnames.h" /* CKPT_OBJECT_GRAPH_KEY */

#include <stddef.h>
#include <stdint.h>

/*
 * Re-serialize the TrackableObjectGraph pb[0..len) keeping only the attributes whose
 * checkpoint_key is a variable c shows (ckpt_find), and only the slot-variable references
 * whose slot node keeps an attribute. Nodes themselves stay (children refer to them by
 * number). *out is malloc'd (*out_len bytes); *dropped counts the attributes removed.
 * 0, CKPT_E_CORRUPT (not a TrackableObjectGraph) or CKPT_E_NOMEM.
 */
int ckpt_objgraph_prune(const ckpt_checkpoint *c, const uint8_t *pb, size_t len, uint8_t **out,
                        size_t *out_len, size_t *dropped, ckpt_err *err);

#endif
