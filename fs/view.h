/*
 * view.h - one checkpoint as a mount shows it: the open checkpoint, its tree, and the state of
 * its lazily rendered files.
 *
 * A plain mount has one view; a training-folder mount has one per checkpoint of the folder,
 * each opened (its index read, its tree built) only when something inside it is first used.
 * A view's inode numbers are those of its tree (tree.h) plus its base: 0 for a plain mount,
 * (range << 40) in a folder (ns_folder.h; ns_folder_scan.c gives the ranges out).
 */
#ifndef CKPTFS_VIEW_H
#define CKPTFS_VIEW_H

#include "bundleplan.h"
#include "checkpoint.h"
#include "gen.h"
#include "mntopts.h"
#include "once.h"
#include "tree.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* st_size of a directory: 0, so that `du -sb` of a subtree counts the bytes of its files
 * (the variables and their sidecars), not 4 KiB per directory. */
#define CKFS_DIR_SIZE 0
/* Room for a by_name link's target (tree.h), NUL included. */
#define CKFS_LINK_MAX 4096
/* by_name/'s nodes (its own tree, tree.h) are numbered from here within a view. */
#define CKFS_BYNAME_INO (1ull << 32)
/* tf/ is CKFS_TF_INO within a view, its file k (CKFS_TF_INDEX...) CKFS_TF_INO + 1 + k. */
#define CKFS_TF_INO (CKFS_BYNAME_INO * 2)
/* Largest .npy header served (numpy's own grow with the rank; rank 254 fits). */
#define CKFS_NPY_HEADER_MAX 4096

typedef struct ckfs_perms {
    uid_t uid; /* directories (and a folder's own files) */
    gid_t gid;
    uid_t fuid; /* a checkpoint's files: the owner of the bytes' source (ckfs_view_attach) */
    gid_t fgid;
    mode_t fmode, dmode;
} ckfs_perms;

/* Owner and permission bits the mount shows for what a source file (st) holds: files as
 * readable as the source, directories also searchable there; uid=, gid=, umask= override.
 * A checkpoint's view then gives its files the owner of its data shards and narrows their
 * bits to what every source grants (ckfs_view_attach; docs/mount.md, "Who may read what"). */
void ckfs_perms_from(const struct stat *st, const ckfs_opts *o, ckfs_perms *out);

typedef struct ckfs_view {
    char *name;              /* folder mounts: the checkpoint's directory name; else NULL */
    char *display;           /* folder mounts: that name as the root lists it (escape.h) */
    char *prefix;            /* the checkpoint's prefix (or V1 file / shard pattern) */
    char *sm_path;           /* saved_model.pb of a SavedModel mount, else NULL */
    const ckpt_bytesrc *src; /* reads the checkpoint of a remote folder's view; NULL: local */
    uint64_t base;           /* added to the tree's inode numbers */

    /* Lock order: a view's lock is a leaf (nothing else is taken while it is held); it
     * protects the refs and content of every lazy cell below and is never held while work
     * (opening, rendering) runs. */
    ckfs_once_lock lock;
    ckfs_once opened; /* c, tree, uid... below are set once this is done */
    ckpt_checkpoint *c;
    ckfs_tree *tree;
    ckfs_once byname;  /* names and links below are set once this is done */
    ckpt_names *names; /* the object graph's names, read at by_name/'s first use */
    ckfs_tree *links;  /* by_name/'s tree (ckfs_tree_build_links) */
    ckfs_once tfplan;  /* tf below is laid out once this is done */
    ckpt_v2_plan tf;   /* tf/'s bundle: its index, where its data file's bytes come from */
    int filtered;      /* -o include=/exclude= hid variables: tf/ prunes the object graph */
    ckfs_perms perms;
    struct timespec mtime; /* the .index mtime, every node's times */

    ckfs_lazy *texts;         /* per variable: a text-shown variable's text, or (-o stats) a
                                 numeric one's NAME.stats */
    int stats_files;          /* -o stats: numeric variables have NAME.stats */
    _Atomic uint8_t *corrupt; /* per variable: its checksum failed once, every read fails */
    ckfs_once *checked;       /* -o verify=open, per variable: checked at its first open (done:
                                 it matched; failed: corrupt is set); NULL in other modes */
    ckfs_gens gens;

    /* Called on every open, after the files are opened and before the view serves them: a
     * folder checks they are still the files it listed (they may have been replaced since).
     * 0, or a CKPT_E_* code with err set (the open fails with it). NULL: no check. */
    int (*verify)(struct ckfs_view *v, ckpt_checkpoint *c, ckpt_err *err);
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
int ckfs_view_attach(ckfs_view *v, ckpt_checkpoint *c, const ckfs_opts *o, ckfs_view_warn_fn warn,
                     void *warn_ctx);

/*
 * Open v if nobody has yet (thread-safe; a folder's checkpoints open on first use). Missing
 * shards are tolerated (their variables read as EIO). Returns 0, or a CKPT_E_* code with the
 * reason in err. A bad checkpoint (corrupt, unsupported, gone) is remembered: later calls fail
 * at once, their message pointing back to the first. An I/O or memory failure (out of
 * descriptors, EINTR...) is not: the next call tries again.
 */
int ckfs_view_ensure(ckfs_view *v, const ckfs_opts *o, ckfs_view_warn_fn warn, void *warn_ctx,
                     ckpt_err *err);

/*
 * PREFIX.index when that file exists (malloc'd), else NULL: opening by it makes a checkpoint
 * whose prefix is also a directory's path (one named "." or "..") open as itself, not as the
 * folder that path names. Without one (a V1 file, a sharded V1 pattern) the prefix is used.
 */
char *ckfs_view_index_path(const ckfs_view *v);

/* Whether v is open (its tree and checkpoint usable); takes no lock. */
static inline int ckfs_view_is_open(const ckfs_view *v)
{
    return ckfs_once_done(&v->opened);
}

/*
 * Attributes of node n of open view v (st_ino and st_blksize left to the caller). A generated
 * file or text-shown tensor whose size is not known yet is sized now when lazy_ok (that may
 * read the tensor or render the text once), else -EAGAIN: listings never render. 0, -ENOENT,
 * -EAGAIN, or -EIO / -ENOMEM with the reason in err.
 */
int ckfs_view_stat(ckfs_view *v, ckfs_node n, struct stat *st, int lazy_ok, ckpt_err *err);

/* Length of variable var's .npy header (0 when its dtype has none). */
uint32_t ckfs_npy_header_len(const ckpt_var *var);

/* Length of a sidecar's text (kind CKFS_K_SHAPE or CKFS_K_DTYPE). */
uint64_t ckfs_sidecar_size(const ckpt_var *var, int kind);

/*
 * -o verify=open: check numeric variable i of open view v against its stored checksums, once
 * for as long as v stays open (ckpt_verify; concurrent callers wait for the one reading, no
 * lock is held while it reads). 0 when they match or none are stored; a mismatch is
 * CKPT_E_CORRUPT, at this call and every later one, with err naming the variable and its data
 * file. A failure that may pass (I/O, memory) is tried again at the next call.
 */
int ckfs_view_check(ckfs_view *v, uint32_t i, ckpt_err *err);

/* Hold variable i's text (rendered if nobody holds it) until ckfs_view_text_release, which
 * frees a text with its last holder but keeps a NAME.stats row (-o stats) for the mount's life. */
int ckfs_view_text_acquire(ckfs_view *v, uint32_t i, const char **data, uint64_t *size,
                           ckpt_err *err);
void ckfs_view_text_release(ckfs_view *v, uint32_t i);

/*
 * Return open view v to "not opened", closing its checkpoint (descriptors, index, tree,
 * texts); the next ckfs_view_ensure opens it again. Nobody may use v's checkpoint or tree
 * meanwhile (a folder guarantees it with its holds, ns_folder_hold.c).
 */
void ckfs_view_close(ckfs_view *v);

/*
 * The nodes of open view v, by_name/ included: the node of a view-local inode number, the
 * number of a node, a name in a directory, entry k of a directory (ckfs_tree_dir_entry's
 * contract), a directory's parent. by_name/'s tree is built by the first of these that needs
 * it (the object graph is read then): -EIO / -ENOMEM when that fails, -ENOENT when absent.
 */
int ckfs_view_node(ckfs_view *v, uint64_t ino, ckfs_node *out);
uint64_t ckfs_view_ino(const ckfs_view *v, ckfs_node n);
int ckfs_view_lookup(ckfs_view *v, ckfs_node dir, const char *name, ckfs_node *out);
int ckfs_view_dir_entry(ckfs_view *v, ckfs_node dir, uint64_t k, ckfs_node *node, char *buf);
ckfs_node ckfs_view_parent(const ckfs_view *v, ckfs_node dir);

/* The state file tf/checkpoint: it names the bundle beside it. */
#define CKFS_TF_STATE_TEXT                                                                         \
    "model_checkpoint_path: \"model\"\nall_model_checkpoint_paths: \"model\"\n"

/* tf/'s bundle of open view v, laid out on first use (reads string tensors, and numeric ones
 * with no stored checksum of the whole): 0 and *out (valid while v is open), or -EIO /
 * -ENOMEM with err set. */
int ckfs_view_tf(ckfs_view *v, const ckpt_v2_plan **out, ckpt_err *err);

/* Names of open view v for statfs: its tree's, and by_name/'s once built (never builds). */
uint64_t ckfs_view_nnames(const ckfs_view *v);

/* v's object graph names (objnames.h), read with by_name/'s tree on first use; NULL when it
 * has none or they cannot be read. */
const ckpt_names *ckfs_view_names(ckfs_view *v);

/* The target of by_name link n in buf: its length, or a negative errno (err says why). */
int ckfs_view_readlink(ckfs_view *v, ckfs_node n, char *buf, size_t size, ckpt_err *err);

/* Release everything v holds (not v itself). */
void ckfs_view_free(ckfs_view *v);

#endif
