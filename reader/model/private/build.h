/*
 * build.h - how a loader (bundle.c for V2, v1.c for V1) fills a checkpoint: the only writer of
 * struct ckpt_checkpoint's index besides the common core. Not an API: the reader's own sources
 * include it.
 *
 * Names and dims live in two arenas. A loader writes the next name or dims at the arena's tail
 * (ckpt__build_name_tail, ckpt__build_dims_tail: room, not yet part of the checkpoint), checks
 * them, then claims them (ckpt__build_name_claim, ckpt__build_dims_claim), which gives their
 * offsets for the records it appends (ckpt__build_var, ckpt__build_slice, ckpt__build_part).
 * Decoding straight into the tail keeps a load free of per-variable allocations. The per-record
 * functions are inline: a million variables go through them.
 */
#ifndef CKPT_BUILD_H
#define CKPT_BUILD_H

#include "ckpt_internal.h"
#include "err.h"

#include <string.h>

/* Make room for need items in *p (capacity *cap): the common case, room already there, inline. */
static inline int ckpt__build_room(void **p, size_t *cap, size_t need, size_t elem)
{
    return need <= *cap ? 0 : ckpt_grow(p, cap, need, elem);
}

/* The one message of a failed growth; the loader prefixes the file it was loading. */
#define CKPT__BUILD_NOMEM "out of memory for the variable index"

/* Set that message for a load of path: returns CKPT_E_NOMEM. */
int ckpt__build_nomem(ckpt_err *err, const char *path);

/* Room for n more name bytes and a NUL at the end of the names arena: NULL when out of memory. */
static inline char *ckpt__build_name_tail(ckpt_checkpoint *c, size_t n)
{
    if (ckpt__build_room((void **)&c->names, &c->names_cap, c->names_len + n + 1, 1))
        return NULL;
    return c->names + c->names_len;
}

/* Claim the n name bytes written at the tail (a NUL is added): their offset in the arena. */
static inline uint64_t ckpt__build_name_claim(ckpt_checkpoint *c, size_t n)
{
    uint64_t at = c->names_len;
    c->names[at + n] = '\0';
    c->names_len += n + 1;
    return at;
}

/*
 * Room for n more dims at the end of the dims arena (what is already written past the claimed
 * ones is kept), plus one spare slot so that the arena is never NULL: NULL when out of memory or
 * when the arena would outgrow a record's 32-bit offsets.
 */
static inline int64_t *ckpt__build_dims_tail(ckpt_checkpoint *c, size_t n)
{
    if (n > UINT32_MAX || c->ndims + n > UINT32_MAX ||
        ckpt__build_room((void **)&c->dims, &c->dims_cap, c->ndims + n + 1, sizeof *c->dims))
        return NULL;
    return c->dims + c->ndims;
}

/* Claim the n dims written at the tail (room made by ckpt__build_dims_tail): their offset. */
static inline uint32_t ckpt__build_dims_claim(ckpt_checkpoint *c, size_t n)
{
    uint32_t at = (uint32_t)c->ndims;
    c->ndims += n;
    return at;
}

/* Append variable record r (its name and dims claimed): 0, or CKPT_E_NOMEM in err. */
static inline int ckpt__build_var(ckpt_checkpoint *c, const var_rec *r, ckpt_err *err)
{
    if (ckpt__build_room((void **)&c->vars, &c->vars_cap, c->nvars + 1, sizeof *c->vars))
        return ckpt_err_set(err, CKPT_E_NOMEM, CKPT__BUILD_NOMEM);
    c->vars[c->nvars++] = *r;
    return 0;
}

/* Append slice entry s (name and dims claimed) after the others, *at its index: 0, or
 * CKPT_E_NOMEM in err. */
static inline int ckpt__build_slice(ckpt_checkpoint *c, const var_rec *s, uint32_t *at,
                                    ckpt_err *err)
{
    if (ckpt__build_room((void **)&c->slices, &c->slices_cap, c->nslices + 1, sizeof *c->slices))
        return ckpt_err_set(err, CKPT_E_NOMEM, CKPT__BUILD_NOMEM);
    *at = (uint32_t)c->nslices;
    c->slices[c->nslices++] = *s;
    return 0;
}

/*
 * Append a part of a partitioned variable: its slice entry's index (UINT32_MAX: linked later,
 * by ckpt__build_split_slices) and its box's offset in the dims arena. 0, or CKPT_E_NOMEM.
 */
static inline int ckpt__build_part(ckpt_checkpoint *c, uint32_t slice, uint32_t ext_off,
                                   ckpt_err *err)
{
    if (ckpt__build_room((void **)&c->parts, &c->parts_cap, c->nparts + 1, sizeof *c->parts))
        return ckpt_err_set(err, CKPT_E_NOMEM, CKPT__BUILD_NOMEM);
    c->parts[c->nparts++] = (part_rec){slice, ext_off};
    return 0;
}

/* Give c n data files (none opened yet): 0, or CKPT_E_NOMEM in err. */
int ckpt__build_shards(ckpt_checkpoint *c, int n, ckpt_err *err);

/* Hand data file s its name, open file and (V1) table, any of them NULL; c owns them now. */
void ckpt__build_shard(ckpt_checkpoint *c, int s, char *path, ckpt_file *file,
                       struct ckpt_table *table);

/* Record the stat of the index (V2) or first file (V1): what the mount shows as its time. */
void ckpt__build_index_stat(ckpt_checkpoint *c, const struct stat *st);

/*
 * Link part j (an index into the parts) to the variable at index k, soon a slice entry; after
 * every part is linked, ckpt__build_split_slices moves the entries so named to the slices.
 */
void ckpt__build_link_part(ckpt_checkpoint *c, size_t j, uint32_t k);

/*
 * Move the variables marked in is_slice (one byte per variable) to the slice entries, keeping
 * both in key order, and point the parts at their new places: 0, or CKPT_E_NOMEM in err.
 */
int ckpt__build_split_slices(ckpt_checkpoint *c, const uint8_t *is_slice, ckpt_err *err);

/*
 * Check that every stored range (of a variable or slice entry not partitioned) lies inside its
 * data file, marking those of a missing file CKPT_VAR_SHARD_MISSING: 0, or CKPT_E_CORRUPT.
 */
int ckpt__build_check_ranges(ckpt_checkpoint *c, ckpt_err *err);

#endif
