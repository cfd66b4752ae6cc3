/*
 * stream.h - a sequential reader's bytes in 1 MiB pieces, read once and replied from in place.
 *
 * The kernel hands a reader's bytes to the daemon in requests of its read-ahead window (128 KiB
 * unless the mount's read_ahead_kb says more), several at once. Reading each request's bytes
 * from the shard on its own makes the backing reads just as small: 512 preads for 64 MiB. A
 * stream instead reads 1 MiB at a time into one of two buffers and answers the requests that
 * fall inside it straight from the buffer (fuse_reply_buf copies from any address), so the
 * bytes are still copied once on the way in and once on the way out, as with a pread per
 * request, while the shard sees 1 MiB requests. Two buffers let one be read while requests are
 * answered from the other.
 *
 * Only reads that go forward join: one at the stream's front, or inside a buffer. A read
 * elsewhere (a reader that skips around) is told to read directly, so a random 4 KiB read
 * never costs 1 MiB.
 */
#ifndef CKPTFS_STREAM_H
#define CKPTFS_STREAM_H

#include "checkpoint.h"

#include <stddef.h>
#include <stdint.h>

/* Bytes read from the shard at a time. */
#define CKFS_STREAM_CHUNK (1u << 20)

typedef struct ckfs_stream ckfs_stream;

/* A stream over variable idx of c (nbytes long); NULL when out of memory. */
ckfs_stream *ckfs_stream_new(ckpt_checkpoint *c, size_t idx, uint64_t nbytes);

/* Free s (no read may be using it). NULL is fine. */
void ckfs_stream_free(ckfs_stream *s);

/*
 * The bytes [off, off + size) of the variable, from the stream: 1 and *data pointing at them,
 * pinned until ckfs_stream_release(s, *slot); 0 when this read is not one the stream serves
 * (read it directly); -1 when reading the shard failed (err says why; the caller fails the
 * read). size must be at most CKFS_STREAM_CHUNK and off + size at most nbytes.
 */
int ckfs_stream_get(ckfs_stream *s, uint64_t off, size_t size, const uint8_t **data, int *slot,
                    ckpt_err *err);

/* Done with the bytes ckfs_stream_get gave. */
void ckfs_stream_release(ckfs_stream *s, int slot);

/*
 * Read the next 1 MiB into the other buffer now, if a reader has reached the buffer at the
 * stream's front and the other one is free: called by a thread that has just answered its
 * request, so the kernel's next requests find their bytes waiting instead of waiting for them.
 */
void ckfs_stream_ahead(ckfs_stream *s);

#endif
