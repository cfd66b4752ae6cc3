/*
 * ll.h - the FUSE low-level operations of a mount and their context.
 *
 * One ckfs context per mount, passed to libfuse as userdata: nothing is global. A mount shows
 * one view (view.h): a checkpoint, or a SavedModel's variables plus its graph files; or, for a
 * training folder, a root directory holding one subdirectory per checkpoint (each a view opened
 * on first use) and a `latest` symlink.
 *
 * Inode numbers of a training-folder mount:
 *   1                    the folder's root
 *   2                    `latest`
 *   (r << 40) + i        inode i (tree.h) of the checkpoint whose range is r; its directory is
 *                        (r << 40) + 1. r = 1 + FNV-1a-64(name) mod (2^23 - 1), the next free
 *                        range on a collision (checkpoints taken in name order), so a
 *                        checkpoint keeps its numbers when others come and go.
 */
#ifndef CKPTFS_LL_H
#define CKPTFS_LL_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "checkpoint.h"
#include "mntopts.h"
#include "tree.h"
#include "view.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define CKFS_VIEW_SHIFT 40
#define CKFS_LOCAL_MASK ((UINT64_C(1) << CKFS_VIEW_SHIFT) - 1)
#define CKFS_RANGES ((UINT64_C(1) << 23) - 1)
#define CKFS_INO_LATEST 2u
#define CKFS_IDLE_MAX 32

/* One entry of a training folder's root: a checkpoint's directory or `latest`. */
typedef struct ckfs_fent {
    const char *name;
    int kind;      /* CKFS_K_DIR (a checkpoint) or CKFS_K_LINK */
    uint32_t view; /* the checkpoint, for CKFS_K_DIR */
} ckfs_fent;

/* Which view owns inode range r. */
typedef struct ckfs_range {
    uint64_t r;
    uint32_t view;
} ckfs_range;

typedef struct ckfs {
    ckfs_opts opts;
    int foreground;           /* log to stderr, else syslog */
    struct fuse_session *se;
    int ready_fd;             /* write end of the pipe the waiting parent reads; -1 if none */
    int no_opendir;           /* the kernel skips OPENDIR when we answer ENOSYS */

    ckfs_view *views;
    size_t nviews;

    /* Training folders only (folder != 0). */
    int folder;
    char *folder_path;
    ckfs_fent *fents;         /* the root's entries, sorted by name */
    size_t nfents;
    ckfs_range *ranges;       /* sorted by r */
    char *latest;             /* `latest`'s target (a checkpoint's name), or NULL */
    uid_t uid;
    gid_t gid;
    mode_t dmode;
    struct timespec mtime;    /* the folder's mtime */

    /* Rendered graph texts no open file reads, oldest first: beyond CKFS_IDLE_MAX the oldest
     * one's descriptor is closed (a folder would otherwise keep one per graph file ever read
     * and run out of descriptors). */
    pthread_mutex_t idle_mu;
    struct ckfs_idle {
        ckfs_view *v;
        int g;
    } idle[CKFS_IDLE_MAX];
    size_t nidle;
} ckfs;

/* The operations table. */
extern const struct fuse_lowlevel_ops ckfs_ll_ops;

/* Log one line (to stderr in the foreground, else to syslog). */
void ckfs_log(const ckfs *fs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A view's warning as a log line (ctx: the ckfs). */
void ckfs_log_warning(void *ctx, const char *msg);

#endif
