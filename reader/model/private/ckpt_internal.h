/*
 * ckpt_internal.h - what the checkpoint loaders (bundle.c for V2, v1.c for V1) and the slice
 * assembly (partition.c) share with the common core (checkpoint.c). Not an API: only the
 * reader's own sources include it. The loaders read these structures but fill them only through
 * build.h.
 */
#ifndef CKPT_INTERNAL_H
#define CKPT_INTERNAL_H

#include "bytesrc.h"
#include "checkpoint.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* Slices of V1 checkpoints kept decoded; see struct ckpt_checkpoint. */
#define V1_CACHE_SLOTS 16
#define V1_CACHE_SMALL (16u << 20)

/* TensorShape's limit; a larger rank is damage, not a model. */
#define MAX_RANK 254
/* Beyond this an index is read block by block instead of in one request. */
#define INDEX_IN_MEMORY_MAX (1ull << 30)
/* Block size of ckpt_cache_shards' cache: a request each, as large as NFS's usual rsize. */
#define CKPT_SHARD_BLOCK (1u << 20)
/* Sanity bound on the header's shard count (each shard holds an open descriptor). */
#define MAX_SHARDS 65536
/* More slices than this per variable are refused: the overlap check is quadratic. */
#define MAX_PARTS 4096
/* Dtype numbers are stored in 16 bits; anything larger is kept as this (an unknown type). */
#define DTYPE_CLAMP 0xffff

/*
 * One variable, or one slice entry of a partitioned variable. For a partitioned variable offset
 * is the index of its first part_rec and nparts their count; it has no bytes of its own.
 */
typedef struct var_rec {
    uint64_t offset;
    uint64_t nbytes;
    uint64_t name_off;
    uint32_t name_len;
    uint32_t dims_off;
    uint32_t crc;
    int32_t shard;
    uint16_t dtype;
    uint8_t rank;
    uint8_t flags;
    uint32_t nparts;
} var_rec;

/* One stored slice of a partitioned variable: its slice entry and its box (start, length per
 * dim as written in the entry, length -1 for a whole dim) at ext_off in the dims arena. */
typedef struct part_rec {
    uint32_t slice;
    uint32_t ext_off;
} part_rec;

/* A data file: a V2 shard, or one V1 table file. */
typedef struct shard {
    char *path;
    ckpt_file *file; /* NULL when the shard is missing */
    uint64_t size;
    struct ckpt_table *table; /* V1 only */
} shard;

/* Record flags beyond the public CKPT_VAR_* ones. */
enum { REC_V1_SLICE = 1u << 7 /* bytes live in a V1 table record under the slice key */ };

struct ckpt_checkpoint {
    const ckpt_bytesrc *src; /* every data, index and V1 file is read through it */
    char *prefix;
    char *meta_path;
    struct stat index_st;
    ckpt_file *pb; /* a SavedModel without variables: its saved_model.pb, held open
                      so that src (a remote one is held by its open files) lives as
                      long as c, for graph files read through ckpt_bytesrc_of */
    int num_shards;
    shard *shards;

    var_rec *vars;
    size_t nvars, vars_cap;
    char *names;
    size_t names_len, names_cap;
    int64_t *dims;
    size_t ndims, dims_cap;
    var_rec *slices; /* slice entries, in key order */
    size_t nslices, slices_cap;
    part_rec *parts;
    size_t nparts, parts_cap;

    _Atomic uint64_t data_reads, data_bytes;

    /* V1: slices recently decoded from their TensorProto records. FUSE reads come in small
     * pieces and a tensor split on a late axis touches every slice per piece, so a few are kept
     * (least recently used goes first). */
    pthread_mutex_t v1_lock;
    struct v1_cached {
        uint32_t slice; /* UINT32_MAX: empty */
        uint64_t used;
        uint8_t *bytes;
        size_t len;
    } v1_cache[V1_CACHE_SLOTS];
    uint64_t v1_clock;
};

/* Binary search of records sorted by name (their key bytes) for exactly key: 0 and *idx, or
 * CKPT_E_NOTFOUND. */
int ckpt__find_rec(const ckpt_checkpoint *c, const var_rec *arr, size_t n, const void *key,
                   size_t klen, size_t *idx);

/* Read n bytes at off within stored range r (a variable or a slice entry); name for messages. */
int ckpt__read_stored(ckpt_checkpoint *c, const var_rec *r, const char *name, uint8_t *buf,
                      size_t n, uint64_t off, ckpt_err *err);

/*
 * Link every part of every partitioned variable to its slice entry and check that the slices
 * tile their tensor exactly (partition.c). index_path names the checkpoint in messages.
 */
int ckpt__resolve_parts(ckpt_checkpoint *c, const char *index_path, ckpt_err *err);

/* Copy bytes [off, off+n) of partitioned variable r from its slices into buf. */
int ckpt__read_partitioned(ckpt_checkpoint *c, const var_rec *r, uint8_t *buf, size_t n,
                           uint64_t off, ckpt_err *err);

/*
 * A partitioned string or variant variable r as one stored encoding of the whole tensor (what
 * an unpartitioned one stores): every piece read, its checksums verified, its elements put in
 * place. *out is malloc'd, *len its size.
 */
int ckpt__assemble_elems(ckpt_checkpoint *c, const var_rec *r, uint8_t **out, size_t *len,
                         ckpt_err *err);

/* Check the stored CRC of every slice of partitioned variable r, reading each once. */
int ckpt__verify_slices(ckpt_checkpoint *c, const var_rec *r, ckpt_err *err);

/* Load a V2 checkpoint: index_path's entries, then its data shards. */
int ckpt__load_v2(ckpt_checkpoint *c, const char *index_path, unsigned flags, ckpt_err *err);

/* Load a V1 checkpoint from path (one file, or every file of a -NNNNN-of-MMMMM set). */
int ckpt__load_v1(ckpt_checkpoint *c, const char *path, ckpt_err *err);

/* Read n bytes at off of V1 slice record s (decoded from its TensorProto). */
int ckpt__v1_read(ckpt_checkpoint *c, const var_rec *s, uint32_t si, uint8_t *buf, size_t n,
                  uint64_t off, ckpt_err *err);

/* The n elements of V1 string slice s, re-encoded as a V2 string tensor (malloc'd). */
int ckpt__v1_read_strings(ckpt_checkpoint *c, const var_rec *s, uint64_t n, uint8_t **out,
                          size_t *len, ckpt_err *err);

#endif
