/*
 * view.h - one checkpoint as a mount shows it: the open checkpoint, its tree, and the state of
 * its lazily rendered files.
 *
 * A plain mount has one view; a training-folder mount has one per checkpoint of the folder,
 * each opened (its index read, its tree built) only when something inside it is first used.
 * A view's inode numbers are those of its tree (tree.h) plus its base: 0 for a plain mount,
 * (range << CKFS_VIEW_SHIFT) in a folder (ll.h).
 */
#ifndef CKPTFS_VIEW_H
#define CKPTFS_VIEW_H

#include "checkpoint.h"
#include "metagraph.h"
#include "mntopts.h"
#include "tree.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Content rendered on demand; its size stays known once computed. */
typedef struct ckfs_lazy {
    int state;      /* 0 = never rendered, 1 = size known */
    int busy;       /* an opener is rendering it (outside the view's lock) */
    uint64_t size;
    char *data;     /* NULL when not held */
    unsigned refs;  /* open files holding data */
} ckfs_lazy;

/* A generated root file (gen.h). Its text is rendered once and kept for the mount's life:
 * small texts in memory, graph texts in an unlinked temporary file. */
typedef struct ckfs_gen {
    pthread_mutex_t mu;   /* serializes sizing and rendering of this file only */
    /* 0 = size unknown, 1 = known, -1 = the source is bad (EIO from then on). Written under
     * mu; read without it (atomically, size before state) so listings never wait on a
     * rendering in progress. An I/O or memory failure leaves 0: the next use retries. */
    int state;
    uint64_t size;
    char *data;           /* the text, for files kept in memory */
    int fd;               /* the text, for files rendered to a temporary file; -1 if none */
    unsigned opens;       /* open files reading fd (it is only closed when there are none) */
    ckpt_graph_doc *doc;  /* object_graph.pbtxt's own document; the others use the view's */
} ckfs_gen;

typedef struct ckfs_view {
    char *name;         /* folder mounts: the checkpoint's directory name; else NULL */
    char *display;      /* folder mounts: that name as the root lists it (escape.h) */
    char *prefix;       /* the checkpoint's prefix (or V1 file / shard pattern) */
    char *sm_path;      /* saved_model.pb of a SavedModel mount, else NULL */
    uint64_t base;      /* added to the tree's inode numbers */

    pthread_mutex_t open_mu; /* guards state while opening */
    int state;          /* 0 = not opened yet (or failed for a reason that may pass), 1 = open,
                         * -1 = opening failed for good (the files are bad) */
    ckpt_checkpoint *c;
    ckfs_tree *tree;
    uid_t uid;
    gid_t gid;
    mode_t fmode, dmode;     /* permission bits of files and directories */
    struct timespec mtime;   /* the .index mtime, every node's times */

    pthread_mutex_t mu;      /* guards strs */
    pthread_cond_t strs_cv;  /* signalled when a strs entry stops being busy */
    ckfs_lazy *strs;         /* per variable; only text-shown variables use theirs */
    uint8_t *corrupt;        /* per variable: its checksum failed once, every read fails */
    pthread_mutex_t doc_mu;  /* guards doc */
    ckpt_graph_doc *doc;     /* the .meta / saved_model.pb every graph slot renders (one map) */
    ckfs_gen gens[CKFS_GEN_MAX];
} ckfs_view;

/* Receives one warning line about the view (hidden generated files...). */
typedef void (*ckfs_view_warn_fn)(void *ctx, const char *msg);

/* Set up an unopened view (copies the strings; display NULL = name). Returns 0 or -1 (out of
 * memory). */
int ckfs_view_init(ckfs_view *v, const char *name, const char *display, const char *prefix,
                   const char *sm_path, uint64_t base);

/*
 * Make v serve checkpoint c (takes ownership of c, even on failure): owner and modes from the
 * index file and the options, the tree with the generated files this checkpoint has.
 * Returns 0, or -1 when out of memory.
 */
int ckfs_view_attach(ckfs_view *v, ckpt_checkpoint *c, const ckfs_opts *o,
                     ckfs_view_warn_fn warn, void *warn_ctx);

/*
 * Open v if nobody has yet (thread-safe; a folder's checkpoints open on first use). Missing
 * shards are tolerated (their variables read as EIO). Returns 0, or a CKPT_E_* code with the
 * reason in err. A bad checkpoint (corrupt, unsupported, gone) is remembered: later calls fail
 * at once, their message pointing back to the first. An I/O or memory failure (out of
 * descriptors, EINTR...) is not: the next call tries again.
 */
int ckfs_view_ensure(ckfs_view *v, const ckfs_opts *o, ckfs_view_warn_fn warn, void *warn_ctx,
                     ckpt_err *err);

/* Whether a failure with code rc says something about the input (kept) rather than about the
 * moment (descriptors, memory, an interrupted call: worth retrying). */
int ckfs_failure_is_permanent(int rc);

/* Release everything v holds (not v itself). */
void ckfs_view_free(ckfs_view *v);

#endif
