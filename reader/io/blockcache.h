/*
 * blockcache.h - a bounded cache of fixed-size blocks of files, with read-ahead.
 *
 * A remote object costs a round trip per request, so reads are turned into requests for whole
 * aligned blocks, kept in memory (least recently used goes first once the bound is reached) and
 * optionally on disk. A reader that goes forward through a file gets the next blocks fetched
 * ahead of it, in parallel, by a few worker threads of the cache. Several threads may read the
 * same file at once: a block being fetched is waited for, never fetched twice.
 *
 * The cache knows files only through a fetch function, so it sits over any source: the HTTP
 * source (bytesrc_http.c) uses it directly, and ckpt_blockcache_wrap puts it over any ckpt_file.
 */
#ifndef CKPT_BLOCKCACHE_H
#define CKPT_BLOCKCACHE_H

#include "bytesrc.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Size unknown until the first fetch says it. */
#define CKPT_SIZE_UNKNOWN UINT64_MAX

typedef struct ckpt_blockcache ckpt_blockcache;
typedef struct ckpt_bcfile ckpt_bcfile;

/*
 * Read up to n bytes at off into bufs: byte off + i goes to bufs[i / bs][i % bs] (each buffer
 * one block of the cache, bs bytes). *got is what the file held there (less than n only at
 * its end), *total the file's size when the answer says it (else left alone). A fetch is a
 * single request; it must be safe to call from several threads.
 */
typedef int (*ckpt_fetch_fn)(void *ctx, uint64_t off, uint8_t *const *bufs, size_t bs, size_t n,
                             size_t *got, uint64_t *total, ckpt_err *err);

/*
 * A cache holding at most capacity bytes of blocks of block_size bytes; disk_dir (NULL for
 * none) keeps a copy of every block fetched, for later processes. Worker threads for
 * read-ahead start at the first read that needs them.
 */
int ckpt_blockcache_new(uint64_t capacity, size_t block_size, const char *disk_dir,
                        ckpt_blockcache **out, ckpt_err *err);

/* Drop the creator's reference; the cache goes when its last file is closed too. */
void ckpt_blockcache_unref(ckpt_blockcache *bc);

/*
 * A file of the cache read through fetch(ctx, ...). size may be CKPT_SIZE_UNKNOWN; name is for
 * messages. done(ctx) is called once the file is closed and no read-ahead uses ctx any more.
 */
int ckpt_bcfile_new(ckpt_blockcache *bc, const char *name, uint64_t size, ckpt_fetch_fn fetch,
                    void *ctx, void (*done)(void *ctx), ckpt_bcfile **out, ckpt_err *err);

/* Close f (pending read-ahead finishes first, in the background). NULL is fine. */
void ckpt_bcfile_close(ckpt_bcfile *f);

/*
 * Name the content for the disk cache once it is known (URL and ETag, say): blocks are kept
 * on disk only for files with an identity, so a changed object never reads old blocks.
 */
void ckpt_bcfile_set_identity(ckpt_bcfile *f, const char *identity);

/* The file's size: what was given, or what the first fetch learnt (CKPT_SIZE_UNKNOWN before). */
uint64_t ckpt_bcfile_size(const ckpt_bcfile *f);

/*
 * Exactly n bytes at off into buf, through the cache. CKPT_E_CORRUPT when the file ends first.
 * Sequential readers (each read starting where the last ended) trigger read-ahead.
 */
int ckpt_bcfile_read(ckpt_bcfile *f, void *buf, size_t n, uint64_t off, ckpt_err *err);

/*
 * The n bytes at off lent in place instead of copied: one iov per block they span (*niov of
 * them; CKPT_E_UNSUPPORTED when that is more than maxiov), pointing into the cache's blocks,
 * which stay put (never evicted) until ckpt_bcfile_release(f, off, n). Fetches and reads ahead
 * as ckpt_bcfile_read does. Release before closing f.
 */
int ckpt_bcfile_borrow(ckpt_bcfile *f, uint64_t off, size_t n, struct iovec *iov, int maxiov,
                       int *niov, ckpt_err *err);

/* Give back what ckpt_bcfile_borrow(f, off, n, ...) lent. */
void ckpt_bcfile_release(ckpt_bcfile *f, uint64_t off, size_t n);

/*
 * Tell the cache how a fetch of f went: wait_s seconds until its first byte, total_s in all,
 * bytes received. From these it keeps enough runs in flight for a server's wait not to idle
 * the reader (more parallel ranges when each waits long before it answers).
 */
void ckpt_bcfile_note_timing(ckpt_bcfile *f, double wait_s, double total_s, size_t bytes);

/* Fetch the first n bytes (a file's head, which tells its size) into the cache now. */
int ckpt_bcfile_load_head(ckpt_bcfile *f, size_t n, ckpt_err *err);

/* Put a cache over inner (taken over: closing the result closes it). */
int ckpt_blockcache_wrap(ckpt_blockcache *bc, ckpt_file *inner, ckpt_file **out, ckpt_err *err);

#endif
