/*
 * bundleplan.h - a V2 bundle of an open checkpoint's variables, laid out without being
 * written: the mount's tf/ directory (docs/mount.md, "tf/") serves its index from memory and
 * maps reads of its data file onto the tensors under them.
 *
 * The layout is the one `ckptfs export SRC PREFIX` writes (fs/cli/cmd_export.c): variables in
 * index order, back to back; numeric tensors as their bytes, string tensors encoded again as
 * TF stores them (the object graph pruned of hidden variables first), whole variant tensors
 * as stored; other variables are left out.
 */
#ifndef CKPT_BUNDLEPLAN_H
#define CKPT_BUNDLEPLAN_H

#include "bundlewriter.h"
#include "checkpoint.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ckpt_v2_plan {
    ckpt_wentry *e; /* the data file's tensors, in offset (= key) order */
    uint32_t *var;  /* e[k]'s variable in the checkpoint */
    uint8_t **held; /* e[k]'s bytes when computed here (strings, variants), else NULL */
    size_t n;
    uint64_t data_size; /* the data file's length */
    uint8_t *index;     /* the .index file */
    size_t index_len;
    size_t left_out; /* variables a bundle cannot hold here */
    int pruned;      /* the object graph was rewritten */
} ckpt_v2_plan;

/*
 * Lay out c's bundle. Reads what the index needs and the checkpoint does not store: string
 * and variant tensors (kept, encoded), and the bytes of numeric tensors with no stored
 * checksum of the whole (partitioned, V1), for their CRC-32C. filtered: variables were hidden
 * (ckpt_hide), so the object graph is pruned. 0, or a CKPT_E_* code with err set.
 */
int ckpt_v2_plan_build(ckpt_checkpoint *c, int filtered, ckpt_v2_plan *p, ckpt_err *err);

/* Up to len bytes of the data file from off into buf (*got, 0 at the end). 0 or CKPT_E_*. */
int ckpt_v2_plan_read(ckpt_checkpoint *c, const ckpt_v2_plan *p, void *buf, size_t len,
                      uint64_t off, size_t *got, ckpt_err *err);

void ckpt_v2_plan_free(ckpt_v2_plan *p);

#endif
