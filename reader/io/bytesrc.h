/*
 * bytesrc.h - the byte-source seam: every read of a checkpoint's files goes through here.
 *
 * Modelled on LevelDB's Env and RandomAccessFile: a source opens a file by name and gives a
 * handle with a size and an identity; the handle answers positioned reads and whole-file reads.
 * The format code (table.c, bundle.c, v1.c, checkpoint.c) sees only this interface, so a source
 * that reads HTTP ranges from an object store, or a block cache stacked over another source,
 * is a new implementation of these two vtables and nothing else changes: local files
 * (bytesrc_local.c) and HTTP/S3/GCS objects (bytesrc_http.c) are the two there are.
 *
 * A source knows files, never checkpoints: ckpt_bytesrc_stat asks whether a name is a file
 * (stat(2) for the local source; the remote one answers with its first range request of each
 * file), ckpt_bytesrc_list lists a folder (readdir here, ListObjectsV2 for buckets). Turning
 * what the user named into a checkpoint is the model's resolver (model/resolve.h), which asks
 * these questions of whichever source it holds.
 */
#ifndef CKPT_BYTESRC_H
#define CKPT_BYTESRC_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>

/* Room for an identity tag, e.g. an HTTP ETag (quotes included) or an object version id. */
#define CKPT_FILE_TAG_MAX 128

/*
 * What makes two opens "the same file": a cache keyed by it never serves stale bytes. A local
 * file fills dev, ino, size and mtime and leaves tag empty; a remote one fills size, mtime (if
 * known) and tag (its ETag) and leaves dev and ino zero.
 */
typedef struct ckpt_file_id {
    uint64_t dev, ino, size;
    int64_t mtime_sec;
    long mtime_nsec;
    char tag[CKPT_FILE_TAG_MAX];
} ckpt_file_id;

typedef struct ckpt_file ckpt_file;
struct ckpt_bytesrc;

/* One regular file of a listing: its base name and identity as the listing tells it (a local
 * file: dev, ino, size, mtime; an object: size, mtime, ETag). */
typedef struct ckpt_dirent {
    char *name;
    ckpt_file_id id;
} ckpt_dirent;

/* The regular files directly in a directory, sorted by name (bytewise). */
typedef struct ckpt_listing {
    ckpt_dirent *e;
    size_t n;
} ckpt_listing;

/*
 * A whole file's bytes, as ckpt_file_read_all gives them. release is the source's own way to
 * give them back (munmap, free); the bytes outlive the handle they were read through.
 */
typedef struct ckpt_bytes {
    const uint8_t *data; /* NULL when len is 0 */
    size_t len;
    void (*release)(struct ckpt_bytes *b);
    void *priv;
} ckpt_bytes;

/* What an open file can do. Every operation must be safe to call from several threads. */
typedef struct ckpt_file_ops {
    /* Exactly n bytes at off, or an error: never a short count. No shared file position. */
    int (*pread)(ckpt_file *f, void *buf, size_t n, uint64_t off, ckpt_err *err);
    int (*read_all)(ckpt_file *f, ckpt_bytes *out, ckpt_err *err);
    void (*close)(ckpt_file *f);
    /* Optional (NULL: nothing): [off, off + len) will be read soon; start fetching it in the
     * background if that is cheap. Never fails, never waits for the bytes. */
    void (*advise)(ckpt_file *f, uint64_t off, uint64_t len);
    /* Optional (NULL: copies only): the n bytes at off lent in place, as up to maxiov pieces
     * (*niov), held until release(f, off, n); CKPT_E_UNSUPPORTED when they cannot be. */
    int (*borrow)(ckpt_file *f, uint64_t off, size_t n, struct iovec *iov, int maxiov, int *niov,
                  ckpt_err *err);
    void (*release)(ckpt_file *f, uint64_t off, size_t n);
} ckpt_file_ops;

/* An open file. Implementations fill every field; users only read them. */
struct ckpt_file {
    const ckpt_file_ops *ops;
    void *state;   /* the implementation's own */
    char *name;    /* as opened: messages name the file by it */
    uint64_t size; /* at open; reads beyond it fail */
    ckpt_file_id id;
    struct stat attr; /* stat(2) of the file; a remote source synthesises one (S_IFREG, mtime) */
    int fd;           /* a local descriptor for zero-copy replies (splice), or -1 */
};

/* How a source opens files. */
typedef struct ckpt_bytesrc_ops {
    /* Open name, accepting only a regular file, without blocking on FIFOs or devices.
     * CKPT_E_NOTFOUND when absent, CKPT_E_IO otherwise; the message names the file. */
    int (*open)(void *state, const char *name, ckpt_file **out, ckpt_err *err);
    /* Optional (NULL: stat(2)): 0 if name is a readable regular file, CKPT_E_NOTFOUND if
     * there is none, another code when the answer cannot be had (a server that fails) or the
     * file is there and may not be read (permission denied). */
    int (*stat)(void *state, const char *name, ckpt_err *err);
    /* Optional (NULL: the source cannot list, e.g. a web server): the regular files directly
     * in dir (no trailing slash). CKPT_E_NOTFOUND when dir does not exist. */
    int (*list)(void *state, const char *dir, ckpt_listing *out, ckpt_err *err);
    /* Optional (NULL: CKPT_CAN_LIST when list is set, nothing else): what the source can do
     * with names like name (CKPT_CAN_*). */
    unsigned (*caps)(void *state, const char *name);
    /* Optional (NULL: the source is not owned, e.g. the process-wide local one): drop the
     * creator's reference of a source made for one SOURCE (ckpt_bytesrc_for). */
    void (*release)(struct ckpt_bytesrc *src);
} ckpt_bytesrc_ops;

/* What a source can do (ckpt_bytesrc_caps), asked instead of "is it a URL". */
enum {
    CKPT_CAN_LIST = 1u << 0,    /* list a folder: ckpt_bytesrc_list may succeed */
    CKPT_LOCAL_NAMES = 1u << 1, /* its names are paths of the local file system: stat(2),
                                   realpath, inotify and descriptors for splice apply */
};

/* A source of files: an ops table and its state (a base URL, a cache, ...). */
typedef struct ckpt_bytesrc {
    const ckpt_bytesrc_ops *ops;
    void *state;
} ckpt_bytesrc;

/* The local filesystem (process-wide, never freed). */
const ckpt_bytesrc *ckpt_bytesrc_local(void);

/* Whether name is a readable regular file of src (see ckpt_bytesrc_ops.stat). */
int ckpt_bytesrc_stat(const ckpt_bytesrc *src, const char *name, ckpt_err *err);

/* What src can do with names like name: CKPT_CAN_* flags (see ckpt_bytesrc_ops.caps). */
unsigned ckpt_bytesrc_caps(const ckpt_bytesrc *src, const char *name);

/* Drop the creator's reference of src (see ckpt_bytesrc_ops.release). NULL is fine. */
void ckpt_bytesrc_release(ckpt_bytesrc *src);

/* List dir through src (see ckpt_bytesrc_ops.list); CKPT_E_UNSUPPORTED when src cannot. */
int ckpt_bytesrc_list(const ckpt_bytesrc *src, const char *dir, ckpt_listing *out, ckpt_err *err);

/* The entry of l named name, or NULL (binary search). */
const ckpt_dirent *ckpt_listing_find(const ckpt_listing *l, const char *name);

/* Add a copy of name with identity id to l (unsorted until ckpt_listing_sort). -1 when out of
 * memory. *cap is l's capacity, 0 for a new listing. */
int ckpt_listing_add(ckpt_listing *l, size_t *cap, const char *name, const ckpt_file_id *id);

/* Sort l by name, as ckpt_listing_find needs. */
void ckpt_listing_sort(ckpt_listing *l);

/* Free l's entries; l becomes empty. */
void ckpt_listing_free(ckpt_listing *l);

/* Open name through src (see ckpt_bytesrc_ops.open); *out is NULL on failure. */
int ckpt_file_open(const ckpt_bytesrc *src, const char *name, ckpt_file **out, ckpt_err *err);

/*
 * Read exactly n bytes at off into buf. CKPT_E_CORRUPT when the file ends first (it is shorter
 * than the format says), CKPT_E_IO when the read fails; the message names the file and offset.
 */
int ckpt_file_pread(ckpt_file *f, void *buf, size_t n, uint64_t off, ckpt_err *err);

/*
 * Exactly n bytes at off lent in place (see ckpt_file_ops.borrow), for a reply that would
 * otherwise copy them: CKPT_E_UNSUPPORTED when f cannot lend them (read them with
 * ckpt_file_pread), else as ckpt_file_pread fails. Give them back with ckpt_file_release.
 */
int ckpt_file_borrow(ckpt_file *f, uint64_t off, size_t n, struct iovec *iov, int maxiov, int *niov,
                     ckpt_err *err);

/* Give back what ckpt_file_borrow(f, off, n, ...) lent. */
void ckpt_file_release(ckpt_file *f, uint64_t off, size_t n);

/* Hint that [off, off + len) of f will be read soon (see ckpt_file_ops.advise). */
void ckpt_file_advise(ckpt_file *f, uint64_t off, uint64_t len);

/* The whole file into *out (a local source maps it); give it back with ckpt_bytes_release. */
int ckpt_file_read_all(ckpt_file *f, ckpt_bytes *out, ckpt_err *err);

/* Give back what ckpt_file_read_all returned. A zeroed ckpt_bytes is fine. */
void ckpt_bytes_release(ckpt_bytes *b);

/* Close f. NULL is fine. */
void ckpt_file_close(ckpt_file *f);

/* Non-zero if a and b identify the same version of the same file. */
int ckpt_file_id_equal(const ckpt_file_id *a, const ckpt_file_id *b);

/*
 * A local handle over an already open descriptor fd (borrowed: closing the handle leaves fd
 * open), for callers that opened the file themselves. name is used in messages.
 */
int ckpt_file_wrap_fd(int fd, const char *name, ckpt_file **out, ckpt_err *err);

#endif
