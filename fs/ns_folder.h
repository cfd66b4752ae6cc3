/*
 * ns_folder.h - the training-folder name space's parts, shared by its files (not an API for
 * the rest of the daemon, which sees ns.h's ckfs_ns_folder only):
 *   ns_folder.c        the name space's operations: inode numbers, names, attributes
 *   ns_folder_hold.c   holding views while they are used, identities, the open check
 *   ns_folder_scan.c   reading the folder and making the set follow it; revalidation
 *   ns_folder_watch.c  the watcher thread: inotify, telling the kernel, closing unused views
 *
 * Inode numbers:
 *   1                    the folder's root
 *   2                    `latest`
 *   3                    checkpoints.tsv
 *   (r << 40) + i        inode i (tree.h) of the checkpoint whose range is r; its directory is
 *                        (r << 40) + 1. r = 1 + FNV-1a-64(name) mod (2^23 - 1), the next free
 *                        range on a collision (checkpoints taken in name order at mount, in
 *                        order of appearance later), so a checkpoint keeps its numbers when
 *                        others come and go.
 *
 * Locks, in order: scan_mu (one rescan at a time) -> mu (the set) ; close_mu, note_mu and a
 * view's lock are leaves. No lock is held while the kernel is told (it may be waiting on a
 * request of ours that waits for one of them).
 */
#ifndef CKPTFS_NS_FOLDER_H
#define CKPTFS_NS_FOLDER_H

#include "ns.h"

#include "bytesrc.h"
#include "folder.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>

#define VIEW_SHIFT 40
#define LOCAL_MASK ((UINT64_C(1) << VIEW_SHIFT) - 1)
#define NRANGES ((UINT64_C(1) << 23) - 1)
#define INO_LATEST 2u
#define INO_TSV 3u
#define LATEST_NAME "latest"
#define TSV_NAME "checkpoints.tsv"

/* What a file is: the same file again has the same identity. */
typedef struct ident {
    int known;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} ident;

typedef struct folder folder;

/* A checkpoint of the folder, present or gone. Its atomics need no lock. */
typedef struct fview {
    ckfs_view v; /* first: the view's verify hook finds its fview from it */
    folder *f;
    uint64_t range;
    ident id;              /* its .index when listed; set before it is published, then fixed */
    long step;             /* the number after the name's last '-', or -1 */
    uint64_t bytes;        /* .index + data shards when listed */
    atomic_uint holds;     /* requests and open files using it (hold .. put) */
    atomic_int closing;    /* the watcher is closing it: holders wait (ckfs_folder_hold) */
    atomic_int gone;       /* left the folder or replaced: never opened again */
    atomic_llong last_use; /* monotonic ms of the last hold or put */
} fview;

/* One entry of the root: a checkpoint's directory, `latest` or checkpoints.tsv. */
typedef struct fent {
    const char *name;
    int kind;  /* CKFS_K_DIR (a checkpoint), CKFS_K_LINK, CKFS_K_GEN */
    fview *fv; /* for CKFS_K_DIR */
} fent;

/* Which view owns inode range r. */
typedef struct range {
    uint64_t r;
    fview *fv;
} range;

/* The directory's stamp for revalidating without inotify. */
typedef struct stamp {
    ident dir, state;
    long long seen_ns; /* realtime when taken */
} stamp;

struct folder {
    ckfs_ns ns; /* first: a ckfs_ns * is a folder * */
    char *path;
    const ckpt_bytesrc *src; /* lists the folder and reads its checkpoints */
    ckpt_bytesrc *remote;    /* src when it is remote (owned), else NULL: see ckfs_ns_folder */
    ckfs_perms perms;

    /* The set. Protected by mu (read: requests; write: a rescan applying its result). */
    pthread_rwlock_t mu;
    fview **views; /* every view made during the mount, freed at destroy */
    size_t nviews, capviews;
    range *ranges; /* every view's range, sorted by r */
    fent *fents;   /* the root's entries now, sorted by name */
    size_t nfents, nlive;
    char *latest; /* `latest`'s target now, or NULL; earlier targets stay in olds (readlink
                     replies point into them after mu is released) */
    char **olds;
    size_t nolds;
    struct timespec mtime; /* the root's times: when the set last changed */
    int tsv_hidden, latest_hidden;

    /* Protected by scan_mu. */
    pthread_mutex_t scan_mu;
    stamp seen;
    atomic_llong checked_ms; /* monotonic ms of the last revalidation (read without lock) */

    pthread_mutex_t close_mu; /* held while the watcher closes a view */

    /* What the kernel must be told, sent by the watcher. Protected by note_mu. */
    pthread_mutex_t note_mu;
    char **notes; /* root entry names to invalidate */
    size_t nnotes;
    int note_root;

    /* The watcher: set by ckfs_folder_start and _stop, outside its run; stop and rescan_wanted
     * are atomics. */
    struct fuse_session *se;
    pthread_t thread;
    int started;
    int ino_fd, wake_fd; /* inotify (or -1), eventfd waking the watcher */
    atomic_int stop, rescan_wanted;
};

/* The folder of name space ns, the fview of view v (each the first member of the other). */
static inline folder *ckfs_folder_of(ckfs_ns *ns)
{
    return (folder *)ns;
}

static inline fview *ckfs_fview_of(ckfs_view *v)
{
    return (fview *)v;
}

/* --- ns_folder.c -------------------------------------------------------------------------- */

/* The view owning inode range r (mu held), or NULL. */
fview *ckfs_folder_view_of_range(folder *f, uint64_t r);

/* --- ns_folder_hold.c --------------------------------------------------------------------- */

/* Wake the watcher (it rescans if asked, tells the kernel, closes what nobody needs). */
void ckfs_folder_wake(folder *f);

/* Take a hold on fv, waiting while the watcher closes it. */
void ckfs_folder_hold(folder *f, fview *fv);

/* A hold for a glance (xattr sums, statfs): 1, or 0 (none) while the view is being closed. */
int ckfs_folder_try_hold(fview *fv);

/* Drop a hold (the watcher closes a deleted checkpoint's files once none is left). */
void ckfs_folder_unhold(folder *f, fview *fv);

/* Close fv's checkpoint if nobody holds it (watcher only): 1 when closed. */
int ckfs_folder_try_close(folder *f, fview *fv);

/* Whether two identities are the same file's; the identity of the file at path (unknown when
 * it cannot be stat'ed). */
int ckfs_folder_ident_eq(const ident *a, const ident *b);
void ckfs_folder_ident_path(const char *path, ident *id);

/* Whether path exists. */
int ckfs_folder_file_exists(const char *path);

/* fv's checkpoint is no longer the one listed: it leaves, and the watcher rescans. */
void ckfs_folder_leave(fview *fv);

/* The views' verify hook (view.h): the checkpoint opened is the one listed, its files still
 * those at their paths. 0, or a CKPT_E_* code (err). */
int ckfs_folder_verify_open(ckfs_view *v, ckpt_checkpoint *c, ckpt_err *err);

/* --- ns_folder_scan.c --------------------------------------------------------------------- */

/* Read the folder and make the set follow it (scan_mu held; initial: the mount's own scan).
 * 0, or a CKPT_E_* code when the folder cannot be read (the set is left as it was). */
int ckfs_folder_rescan(folder *f, int initial, ckpt_err *err);

/* Rescan now (scan_mu held), logging a failure, and wake the watcher to tell the kernel. */
void ckfs_folder_rescan_logged(folder *f);

/* Where inotify may not fire: rescan when the directory's or the state file's stamp moved
 * (at most every -o poll seconds). */
void ckfs_folder_revalidate(folder *f);

/* The folder's stamp now. */
void ckfs_folder_take_stamp(folder *f, stamp *s);

/* Forget what the kernel would be told (the mount's own scan tells nothing). */
void ckfs_folder_drop_notes(folder *f);

/* --- ns_folder_watch.c -------------------------------------------------------------------- */

/* ckfs_ns_ops.start and .stop: the watcher thread and its inotify watch. */
int ckfs_folder_start(ckfs_ns *ns, struct fuse_session *se);
void ckfs_folder_stop(ckfs_ns *ns);

#endif
