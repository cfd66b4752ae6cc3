/*
 * table.h - reader for TensorFlow's immutable sorted table (LevelDB's SSTable format without
 * filter blocks), the container of V2 `.index` files and of V1 checkpoint files.
 *
 * Layout: data blocks, an (always empty) metaindex block, an index block, and a 48-byte footer
 * holding the two block handles and the magic number. Each block is followed by a 5-byte trailer
 * (compression type, masked CRC-32C of contents||type) that is always verified. Blocks may be raw
 * (type 0) or snappy-compressed (type 1).
 *
 * A table reads either from memory (the caller loaded the whole file, the cheap way for an index
 * on NFS: one large request) or through a byte source (bytesrc.h), one read per block. Every
 * length and offset read from the file is checked against the file size before it is used, so a
 * hostile file costs at most an allocation proportional to its own size.
 */
#ifndef CKPT_TABLE_H
#define CKPT_TABLE_H

#include "bytesrc.h"
#include "err.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ckpt_table ckpt_table;

/* The footer's size and the magic number that ends it. */
#define CKPT_TABLE_FOOTER_SIZE 48
#define CKPT_TABLE_MAGIC 0xdb4775248b80fb57ull

/* Open a table held in memory (data must outlive the table). name is used in messages. */
int ckpt_table_open_mem(const uint8_t *data, uint64_t size, const char *name, ckpt_table **out,
                        ckpt_err *err);

/* Open a table read block by block through f (f->size bytes; f must outlive the table). */
int ckpt_table_open_file(ckpt_file *f, ckpt_table **out, ckpt_err *err);

/* Open a table read through fd (not closed by the table) of the given size: a local handle
 * over ckpt_table_open_file, for callers holding a descriptor. */
int ckpt_table_open_fd(int fd, uint64_t size, const char *name, ckpt_table **out, ckpt_err *err);

/* Non-zero if f ends with a table footer's magic number (a cheap "is this a table?"). */
int ckpt_table_probe(ckpt_file *f);

/* Non-zero if name, opened through src, is a table file (ckpt_table_probe); 0 when it cannot
 * be opened. A V1 checkpoint is one or several table files. */
int ckpt_table_file_is(const ckpt_bytesrc *src, const char *name);

/* Release the table. NULL is fine. */
void ckpt_table_close(ckpt_table *t);

/*
 * Called for every entry in key order. key and value point into a block that lives only for the
 * duration of the call. Return 0 to go on, 1 to stop early (ckpt_table_foreach then returns 0),
 * or a negative CKPT_E* code (with err set) to abort.
 */
typedef int (*ckpt_table_visit_fn)(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                                   size_t vlen, ckpt_err *err);

/*
 * Visit all entries in order. Fails with CKPT_E_CORRUPT on any malformed block, bad checksum or
 * keys that are not strictly increasing.
 */
int ckpt_table_foreach(ckpt_table *t, ckpt_table_visit_fn fn, void *ctx, ckpt_err *err);

/*
 * Find the entry whose key equals key exactly. On success *val is a malloc'd copy of the value
 * (free it) and *vlen its length; CKPT_E_NOTFOUND if there is no such key.
 */
int ckpt_table_get(ckpt_table *t, const uint8_t *key, size_t klen, uint8_t **val, size_t *vlen,
                   ckpt_err *err);

/* Number of data blocks (index entries), known after open. */
size_t ckpt_table_num_blocks(const ckpt_table *t);

#endif
