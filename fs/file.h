/*
 * file.h - one open file of a mount: what OPEN computed for it (a text, a header, a stream, a
 * checksum tracker), held until its RELEASE and the end of the last read still using it.
 *
 * Every open file is also on its mount's list (ckfs.files), so that the daemon can free the
 * ones an aborted connection never releases.
 */
#ifndef CKPTFS_FILE_H
#define CKPTFS_FILE_H

#include "ll.h"
#include "stream.h"

#include "crc32c.h"
#include "crc_track.h"

#include <pthread.h>
#include <stdint.h>

/* One open file. Text content (sidecars, generated files, text-shown tensors) is in data or,
 * for rendered graph texts, in fd. What OPEN sets is fixed after it; reads change only what a
 * lock protects. */
typedef struct ckfs_file {
    unsigned refs; /* the open file, plus each read in progress (ckfs_file_put); atomic */
    ckfs *fs;
    ckfs_view *v;
    ckfs_node node;
    pthread_mutex_t mu;   /* protects crc, track, ahead and stcur */
    ckpt_crc_state crc;   /* verify=sequential, partitioned variables (read.c) */
    ckpt_crc_track track; /* verify=sequential, the others: reads joined in any order */
    uint64_t ahead;       /* a sequential reader's bytes up to here were prefetched */
    ckfs_stream *stream;  /* a big variable's sequential reads, 1 MiB from the shard */
    const char *data;
    size_t len;
    int fd;                        /* rendered text to pread, or -1 */
    char *owned;                   /* data when it belongs to this file alone */
    int held;                      /* data or fd is a lazy cell's content this file holds */
    uint32_t hlen;                 /* .npy: header length; the header is in owned */
    const ckpt_st_layout *st;      /* model.safetensors: its layout (the view's), read through it */
    ckpt_st_cursor stcur;          /* its reader's checksum position; protected by mu */
    const ckpt_v2_plan *tf;        /* tf/'s data file: the view's bundle, read through it */
    struct ckfs_file *prev, *next; /* fs->files; protected by fs->files_mu */
    int listed;                    /* on fs->files; protected by fs->files_mu */
} ckfs_file;

/*
 * Open target t (held by the caller, a file's node) for reading: a new file holding t from
 * now on (ckfs_file_put puts it), with its content ready, not yet listed. 0 and *out, or
 * -errno (t put, logged where the reason is worth a line).
 */
int ckfs_file_open(ckfs *fs, const ckfs_target *t, ckfs_file **out);

/* Put f on its mount's list of open files (ckfs_file_put takes it off at the end). */
void ckfs_file_list(ckfs_file *f);

/* Free f now, whoever still uses it: an OPEN whose reply failed, or the daemon's end. */
void ckfs_file_free(ckfs_file *f);

/* Take one more reference for a read in progress (ckfs_file_put drops it). */
static inline void ckfs_file_get(ckfs_file *f)
{
    __atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
}

/*
 * Drop one reference; the last frees f. A read's reply can still be inside writev when the
 * kernel has already handed its bytes to the reader, which may close the file at once: the
 * RELEASE then runs on another thread while the reply buffer (this file's text) is in use.
 * Each read holds a reference, so the text is freed by whichever of the two finishes last.
 */
void ckfs_file_put(ckfs_file *f);

/* Free the files the kernel left open (no request may run any more). */
void ckfs_files_close_all(ckfs *fs);

/* A log line about variable i of v: "what of variable 'NAME' [of CHECKPOINT] failed: why". */
void ckfs_file_log_var_error(ckfs *fs, ckfs_view *v, uint32_t i, const char *what,
                             const ckpt_err *err);

#endif
