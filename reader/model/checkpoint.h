/*
 * checkpoint.h - an opened TensorFlow checkpoint: its variables and their bytes.
 *
 * This is the one API the daemon, the CLI and the tests use. A checkpoint is opened from any
 * name the user may give (the prefix, PREFIX.index, PREFIX.meta or a PREFIX.data-* file); only
 * the index is read at open. Variables are numbered 0..count-1 in the bytewise order of their
 * names, which is the order of the index, so the number of a variable is stable for the same
 * checkpoint and can be used to derive inode numbers. Internal keys (the header, slice keys)
 * are never variables.
 *
 * A variable's "bytes" are what a user of the mount reads: for a numeric tensor the tensor's
 * bytes exactly as stored (C order, little-endian), for a DT_STRING tensor its stored encoding
 * (see tstring.h to decode it).
 *
 * Reads are thread-safe: they use positioned reads (bytesrc.h) on shard files opened once, at
 * open time.
 */
#ifndef CKPT_CHECKPOINT_H
#define CKPT_CHECKPOINT_H

#include "bytesrc.h"
#include "crc_track.h"
#include "err.h"
#include "tstring.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

typedef struct ckpt_checkpoint ckpt_checkpoint;

/* Flags for ckpt_open. */
enum {
    /* Open even when data shards are missing: their variables list, reading them fails with
     * CKPT_E_MISSING. Without it a missing shard fails the open with a message naming it. */
    CKPT_OPEN_MISSING_SHARDS_OK = 1u << 0,
};

/* Flags in ckpt_var.flags. */
enum {
    CKPT_VAR_HAS_CRC = 1u << 0,       /* crc32c holds the stored checksum of the whole tensor */
    CKPT_VAR_SHARD_MISSING = 1u << 1, /* its data shard is absent: reads fail */
    CKPT_VAR_PARTITIONED = 1u << 2,   /* saved as slices; nbytes is the assembled size */
};

/* What is known of one variable without reading its data. Pointers stay valid until close. */
typedef struct ckpt_var {
    const char *name;    /* NUL-terminated; names never contain NUL in practice */
    size_t name_len;     /* exact length (a name could in theory hold a NUL byte) */
    int dtype;           /* TF DataType enum value (dtype.h) */
    int rank;            /* number of dims; 0 for a scalar */
    const int64_t *dims; /* rank entries */
    uint64_t nbytes;     /* size of the variable's bytes */
    int32_t shard;       /* data shard number */
    uint64_t offset;     /* byte offset in that shard */
    uint32_t crc32c;     /* unmasked CRC-32C of the bytes, when flags has CKPT_VAR_HAS_CRC */
    unsigned flags;      /* CKPT_VAR_* */
} ckpt_var;

/* Running checksum of a sequential reader; start it zeroed ({0}). */
typedef struct ckpt_crc_state {
    uint64_t pos; /* next offset expected; UINT64_MAX once reads went out of order */
    uint32_t crc; /* CRC-32C of bytes [0, pos) */
} ckpt_crc_state;

/* Open the checkpoint named by source (prefix or any of its files, or a URL: resolve.h).
 * flags: CKPT_OPEN_*. It and ckpt_open_src are the resolver's (resolve.c): they resolve
 * source, then call ckpt_open_prefix. */
int ckpt_open(const char *source, unsigned flags, ckpt_checkpoint **out, ckpt_err *err);

/*
 * ckpt_open reading every checkpoint file through src (bytesrc.h) instead of the local
 * filesystem; source is resolved to a prefix through src too. src need only live until this
 * returns: the files it opened keep what they need.
 */
int ckpt_open_src(const ckpt_bytesrc *src, const char *source, unsigned flags,
                  ckpt_checkpoint **out, ckpt_err *err);

/*
 * Open the checkpoint at prefix of src as the resolver found it (ckpt_resolve_src): a V2
 * prefix (PREFIX.index a file), a SavedModel's variables/variables without that checkpoint,
 * or a V1 file or "-?????-of-NNNNN" pattern. Nothing is resolved here.
 */
int ckpt_open_prefix(const ckpt_bytesrc *src, const char *prefix, unsigned flags,
                     ckpt_checkpoint **out, ckpt_err *err);

/* Release everything the checkpoint holds. NULL is fine. */
void ckpt_close(ckpt_checkpoint *c);

/* The prefix the source resolved to (e.g. "/data/model.ckpt"). */
const char *ckpt_prefix(const ckpt_checkpoint *c);

/* The byte source c reads its files through (valid while c is open). */
const ckpt_bytesrc *ckpt_bytesrc_of(const ckpt_checkpoint *c);

/* Path of PREFIX.meta if that file exists, else NULL. */
const char *ckpt_meta_path(const ckpt_checkpoint *c);

/* stat of PREFIX.index taken at open: its times and mode describe the whole checkpoint. */
const struct stat *ckpt_index_stat(const ckpt_checkpoint *c);

/* Number of data shards the header announces, and whether shard s is present. */
int ckpt_num_shards(const ckpt_checkpoint *c);
int ckpt_shard_present(const ckpt_checkpoint *c, int s);

/* Path of data shard s (PREFIX.data-SSSSS-of-NNNNN), valid until close. */
const char *ckpt_shard_path(const ckpt_checkpoint *c, int s);

/* The data file to name in messages about variable i: its shard, for a partitioned variable
 * that of a missing slice or else of its first; valid until close. */
const char *ckpt_var_path(const ckpt_checkpoint *c, size_t i);

/* The read-only descriptor of shard s (for splice-style replies), or -1 when it is missing. */
int ckpt_shard_fd(const ckpt_checkpoint *c, int s);

/* Which data shards ckpt_cache_shards puts behind a block cache. */
enum ckpt_shard_cache {
    CKPT_SHARD_CACHE_AUTO, /* those on a network or FUSE file system (ckpt_fd_on_network_fs) */
    CKPT_SHARD_CACHE_ON,   /* every local V2 shard */
    CKPT_SHARD_CACHE_OFF,  /* none */
};

/*
 * Read c's local V2 data shards that mode selects through a block cache of cache_bytes
 * (blockcache.h): 1 MiB aligned requests instead of the reader's own sizes, read-ahead in
 * parallel for a reader going forward, bytes kept for re-reads. On a share each request is a
 * round trip, and this is what makes a sequential read not wait for one per 128 KiB. A cached
 * shard has no descriptor (ckpt_shard_fd gives -1), so call it after anything that needs one
 * and before the first read. Remote shards are cached already and left alone. 0, or
 * CKPT_E_NOMEM.
 */
int ckpt_cache_shards(ckpt_checkpoint *c, enum ckpt_shard_cache mode, uint64_t cache_bytes,
                      ckpt_err *err);

/* Number of variables. */
size_t ckpt_count(const ckpt_checkpoint *c);

/* Fill *out with variable i (i < ckpt_count). */
void ckpt_get(const ckpt_checkpoint *c, size_t i, ckpt_var *out);

/* Variable i's name (NUL-terminated) and its exact length *len: what ckpt_get gives, for
 * callers that walk every name (a mount's tree of a million variables). */
const char *ckpt_name(const ckpt_checkpoint *c, size_t i, size_t *len);

/* Whether variable i of c is kept by a filter (nameglob.h); 1 keeps it. */
typedef int (*ckpt_keep_fn)(void *ctx, const ckpt_checkpoint *c, size_t i);

/*
 * Hide the variables keep rejects (a mount's -o exclude=, export's --exclude): afterwards
 * ckpt_count, ckpt_get, ckpt_find and every read see only the kept ones, renumbered 0..n-1 in
 * the same order (visible paths stay what they were: ckpt_path). keep is asked about every
 * variable before any is hidden. Call right after open, before anything has numbered the
 * variables (a ckpt_names loaded before is stale after). 0, or CKPT_E_NOMEM.
 */
int ckpt_hide(ckpt_checkpoint *c, ckpt_keep_fn keep, void *ctx, ckpt_err *err);

/* Find the variable with exactly this name; 0 and *idx on success, CKPT_E_NOTFOUND if none. */
int ckpt_find(const ckpt_checkpoint *c, const char *name, size_t len, size_t *idx);

/*
 * Read up to len bytes of variable i's bytes starting at off into buf; *got is the count (0 at
 * or past the end). If st is non-NULL and off == st->pos, the bytes extend st's checksum, and
 * the read that reaches the end of the tensor verifies it: a mismatch returns CKPT_E_CORRUPT
 * (the bytes must then not be served). Out-of-order reads just stop the checksum. String and
 * variant tensors have checksums of their own shape: ckpt_read_all verifies those. For a
 * partitioned variable the first read at offset 0 with a fresh st verifies every slice's
 * checksum before returning (reading the whole tensor once); later reads are not checked.
 */
int ckpt_read(ckpt_checkpoint *c, size_t i, void *buf, size_t len, uint64_t off, size_t *got,
              ckpt_crc_state *st, ckpt_err *err);

/*
 * Variable i's bytes [off, off + len) lent in place instead of read into a buffer: up to
 * maxiov pieces (*niov) in its data file's cache (a remote or cached shard, blockcache.h),
 * which keeps them until ckpt_read_release(c, i, off, *got). *got is as ckpt_read's (0, and
 * no pieces, at or past the end). CKPT_E_UNSUPPORTED when they cannot be lent (a local shard,
 * a partitioned or V1 variable, a missing shard): use ckpt_read. No checksum is checked.
 */
int ckpt_read_borrow(ckpt_checkpoint *c, size_t i, uint64_t off, size_t len, struct iovec *iov,
                     int maxiov, int *niov, size_t *got, ckpt_err *err);

/* Give back what ckpt_read_borrow(c, i, off, ...) lent; n is its *got. */
void ckpt_read_release(ckpt_checkpoint *c, size_t i, uint64_t off, size_t n);

/*
 * Start t for checking variable i's bytes read in pieces in any order (crc_track.h): 0, or
 * CKPT_E_UNSUPPORTED when they cannot be checked that way: no stored CRC (V1), string and
 * variant tensors (their CRC covers a decoding: ckpt_read_all), partitioned variables (each
 * slice has its own: ckpt_read checks them at the first read from offset 0).
 */
int ckpt_track_init(const ckpt_checkpoint *c, size_t i, ckpt_crc_track *t);

/* CKPT_E_CORRUPT, with a message naming variable i and its data file, for a whole read whose
 * CRC t found different from the stored one. */
int ckpt_track_mismatch(const ckpt_checkpoint *c, size_t i, const ckpt_crc_track *t, ckpt_err *err);

/*
 * Hint that bytes [off, off + len) of variable i will be read soon: their data file starts
 * fetching them in the background (a local file into the page cache), so that a sequential
 * reader finds them there instead of waiting on the disk at each request. Nothing for
 * partitioned and V1 variables, missing shards, or sources that have read-ahead of their own.
 */
void ckpt_prefetch(ckpt_checkpoint *c, size_t i, uint64_t off, uint64_t len);

/* Read the whole of variable i into a new malloc'd buffer (*out, *len), checksum verified. */
int ckpt_read_all(ckpt_checkpoint *c, size_t i, uint8_t **out, size_t *len, ckpt_err *err);

/*
 * Check variable i against the checksums TensorFlow stored for it, reading its bytes in pieces
 * (never the whole tensor in memory, except string and variant tensors, whose checksums cover a
 * decoding): a whole variable against its CRC-32C, a partitioned one slice by slice. 0 when
 * they match or when nothing is stored to check (V1 files: nothing is read then; their table
 * blocks are checked by every read anyway). CKPT_E_CORRUPT on a mismatch or a data file cut
 * short, CKPT_E_MISSING for a missing data shard, CKPT_E_IO / CKPT_E_NOMEM; err names the
 * variable and its data file.
 */
int ckpt_verify(ckpt_checkpoint *c, size_t i, ckpt_err *err);

/*
 * Read a DT_STRING variable: *buf is its stored encoding (malloc'd), *elems a malloc'd array of
 * *n elements pointing into *buf; both checksums verified. Free both.
 */
int ckpt_read_strings(ckpt_checkpoint *c, size_t i, uint8_t **buf, ckpt_str **elems, uint64_t *n,
                      ckpt_err *err);

/* Counters of what was read from data shards since open (for tests: "ls reads no data"). */
uint64_t ckpt_data_reads(const ckpt_checkpoint *c);
uint64_t ckpt_data_bytes(const ckpt_checkpoint *c);

#endif
