/*
 * bundlewriter.h - writing a V2 tensor bundle's index and the encodings its data file holds
 * (docs/format.md, "Tables" and "V2 checkpoints"): what `ckptfs export SRC PREFIX` writes.
 *
 * The data file is the caller's: tensors back to back, each with its CRC-32C (string tensors
 * encoded by ckpt_tstring_encode, tstring.h). This module turns the list of (key, dtype,
 * shape, offset, size, CRC) into the `.index` table.
 */
#ifndef CKPT_BUNDLEWRITER_H
#define CKPT_BUNDLEWRITER_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

/* One tensor of the data file. */
typedef struct ckpt_wentry {
    const char *key;
    size_t key_len;
    int dtype;
    int rank;
    const int64_t *dims;
    uint64_t offset; /* in data shard 0 */
    uint64_t size;
    uint32_t crc; /* unmasked CRC-32C of its size bytes (stored masked) */
} ckpt_wentry;

/*
 * The `.index` of a one-shard bundle holding e[0..n), keys in strictly increasing bytewise order
 * and none empty: a table with the header entry first, data blocks of about 256 KiB restarting
 * every 16 entries, an empty metaindex, the index block and the footer; blocks uncompressed.
 * *out is malloc'd (*len bytes). 0, CKPT_E_INVALID (keys out of order), or CKPT_E_NOMEM.
 */
int ckpt_bundle_index(const ckpt_wentry *e, size_t n, uint8_t **out, size_t *len, ckpt_err *err);

#endif
