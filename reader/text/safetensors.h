/*
 * safetensors.h - a checkpoint laid out as one safetensors file, without copying it.
 *
 * The layout (docs/format.md, "A checkpoint as safetensors") is computed from the index (and
 * the full names a caller gives):
 * the 8-byte header length, the JSON header padded with spaces to a multiple of 8, then each
 * included tensor's bytes back to back in index order. Reading a byte range of the file reads
 * only the tensors under it, so the same layout serves `ckptfs export` (streamed) and a
 * mount's model.safetensors (random reads).
 */
#ifndef CKPT_SAFETENSORS_H
#define CKPT_SAFETENSORS_H

#include "checkpoint.h"
#include "objnames.h"
#include "textbuf.h"

#include <stddef.h>
#include <stdint.h>

/* The largest JSON header the reference reader accepts (safetensors' MAX_HEADER_SIZE). */
#define CKPT_ST_HEADER_MAX 100000000u

/* A computed layout. Start zeroed; ckpt_st_free releases it. */
typedef struct ckpt_st_layout {
    size_t n;          /* tensors in the file */
    size_t *var;       /* their variable numbers, in file order */
    uint64_t *start;   /* file offset of each one's first byte; start[n] == total */
    char *header;      /* the 8-byte length, the JSON and its padding */
    size_t header_len; /* bytes of header: start[0] */
    uint64_t total;    /* the file's size */
    size_t skipped;    /* kept variables left out (dtype or name the format cannot hold) */
} ckpt_st_layout;

/* A reader's position for checksums: a tensor read in order from its start is checked against
 * its stored CRC-32C when the read reaches its end. Start zeroed. */
typedef struct ckpt_st_cursor {
    size_t t;           /* tensor the state belongs to, plus one (0: none yet) */
    ckpt_crc_state crc; /* running checksum of that tensor */
} ckpt_st_cursor;

/*
 * Compute the layout of c's variables (those ckpt_hide left) from the index; names (may be
 * NULL) gives the full names __metadata__ records. Reads no data. 0, or
 * CKPT_E_NOMEM, or CKPT_E_UNSUPPORTED when the JSON header would pass CKPT_ST_HEADER_MAX
 * (message says by how much and that filters shrink it).
 */
int ckpt_st_build(const ckpt_checkpoint *c, const ckpt_names *names, ckpt_st_layout *out,
                  ckpt_err *err);

/*
 * Read up to len bytes of the file at off into buf (*got: the count, short only at the end).
 * The tensors under the range are read from c and nothing else; cur (may be NULL) carries the
 * checksum of a reader going forward (see ckpt_st_cursor): a mismatch returns CKPT_E_CORRUPT.
 */
int ckpt_st_read(ckpt_checkpoint *c, const ckpt_st_layout *l, ckpt_st_cursor *cur, void *buf,
                 size_t len, uint64_t off, size_t *got, ckpt_err *err);

/* Release the layout; l is zeroed. */
void ckpt_st_free(ckpt_st_layout *l);

#endif
