/*
 * ns.h - the name space of a mount: which node an inode number names, and the directories
 * above the checkpoints' own trees.
 *
 * A mount of one checkpoint (or SavedModel) is that checkpoint's view, its root the mount's
 * root (ns_single.c). A training folder puts a directory of checkpoints above the views, each
 * view opened on first use, and a `latest` link (ns_folder.c). The daemon (ll.c) asks only
 * this interface, so a folder changing under the mount concerns ns_folder*.c alone.
 * The model is squashfuse's ll.h / ll_inode.c split.
 */
#ifndef CKPTFS_NS_H
#define CKPTFS_NS_H

#include "mntopts.h"
#include "tree.h"
#include "view.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/*
 * What an inode number names: node n of view v, or (v NULL) a node of the name space itself
 * (a folder's root, `latest`). A view that is not open yet is shown by its root directory
 * alone (n = its root), from the name space's knowledge, without reading its index.
 */
typedef struct ckfs_target {
    ckfs_view *v;
    ckfs_node n;
} ckfs_target;

/* Attributes are cached this long by the kernel unless a node says otherwise. */
#define CKFS_ATTR_TIMEOUT 86400.0

typedef struct ckfs_ns ckfs_ns;
struct fuse_session;

/* Where log lines go (the daemon's logger). */
typedef void (*ckfs_log_fn)(void *ctx, const char *msg);

typedef struct ckfs_ns_ops {
    /* The target of ino. open: open the checkpoint it lies in if not open yet (else its
     * directory resolves as unopened). 0, -ENOENT, or -EIO/-ENOMEM when opening failed.
     * On success t is held (its view stays open) until the matching put; an open file keeps
     * the hold of the request that opened it until it is released. */
    int (*resolve)(ckfs_ns *ns, uint64_t ino, int open, ckfs_target *t);
    /* Done with t, which resolve gave. */
    void (*put)(ckfs_ns *ns, const ckfs_target *t);
    /* How long the kernel may keep names of directory d (and their absence). */
    double (*entry_timeout)(ckfs_ns *ns, const ckfs_target *d);
    /* A file of the name space itself (not of a view): its current text, malloc'd into
     * *data. 0, -ENOENT or -ENOMEM. */
    int (*text)(ckfs_ns *ns, const ckfs_target *t, char **data, size_t *len);
    /* Start background work once the session serves requests (se: for the kernel's cache
     * invalidations), and stop it before the session goes. 0, or -1 (logged). */
    int (*start)(ckfs_ns *ns, struct fuse_session *se);
    void (*stop)(ckfs_ns *ns);
    /* The inode number of t. */
    uint64_t (*ino)(const ckfs_ns *ns, const ckfs_target *t);
    /* name in directory d (resolved with open): 0 and *t, or -ENOENT. */
    int (*lookup)(ckfs_ns *ns, const ckfs_target *d, const char *name, ckfs_target *t);
    /* Entry pos of directory d: 0 ".", 1 "..", then its entries; 0, 2 when pos holds no
     * entry (positions may be sparse: go on with the next), or 1 past the end.
     * name: CKFS_ENTRY_NAME_MAX + 1 bytes. */
    int (*entry)(ckfs_ns *ns, const ckfs_target *d, uint64_t pos, ckfs_target *t, char *name);
    /* Attributes of t (see ckfs_view_stat for lazy_ok and the timeout). */
    int (*stat)(ckfs_ns *ns, const ckfs_target *t, struct stat *st, double *timeout, int lazy_ok);
    /* The target of a symlink (in buf, size bytes, or the name space's own string), or NULL
     * when t is none. */
    const char *(*readlink)(ckfs_ns *ns, const ckfs_target *t, char *buf, size_t size);
    /* The NULL-terminated names of t's extended attributes, and one's value (small values in
     * buf, others pointing into the name space): 0, or -ENODATA. */
    const char *const *(*xattr_names)(ckfs_ns *ns, const ckfs_target *t);
    int (*xattr)(ckfs_ns *ns, const ckfs_target *t, const char *key, char *buf, size_t bufsize,
                 const char **val, size_t *len);
    /* Totals over the views opened so far (statfs must not open any). */
    void (*totals)(ckfs_ns *ns, uint64_t *bytes, uint64_t *names);
    void (*destroy)(ckfs_ns *ns);
} ckfs_ns_ops;

/* The state every name space starts with; implementations embed it first. */
struct ckfs_ns {
    const ckfs_ns_ops *ops;
    const ckfs_opts *opts; /* the mount's options (owned by the daemon) */
    ckfs_log_fn log;       /* log lines about opening checkpoints */
    void *log_ctx;
};

/*
 * The name space of one open checkpoint c (taken over, even on failure); sm_path: its
 * SavedModel's saved_model.pb or NULL. 0, or -1 when out of memory.
 */
int ckfs_ns_single(ckpt_checkpoint *c, const char *sm_path, const ckfs_opts *o, ckfs_log_fn log,
                   void *log_ctx, ckfs_ns **out);

/*
 * The name space of the training folder dir: one unopened view per checkpoint it lists, read
 * from the state file and the directory alone, following the folder as it changes once
 * started. remote: the byte source of a folder URL (taken over, even on failure; released
 * with the name space), whose listing is taken once at mount and not followed; NULL for a
 * local directory. 0, or a CKPT_E_* code (err says why).
 */
int ckfs_ns_folder(const char *dir, ckpt_bytesrc *remote, const ckfs_opts *o, ckfs_log_fn log,
                   void *log_ctx, ckfs_ns **out, ckpt_err *err);

/* Open v if needed (first use of a folder's checkpoint); a failure is logged once. 0, -EIO or
 * -ENOMEM. */
int ckfs_ns_open_view(ckfs_ns *ns, ckfs_view *v);

/* What every name space shares about the nodes of an open view: their attributes (failures
 * logged), directory entries (parent: what ".." of d is, NULL for d's parent in its tree),
 * and extended attributes. */
int ckfs_ns_view_stat(ckfs_ns *ns, const ckfs_target *t, struct stat *st, int lazy_ok);
int ckfs_ns_view_entry(const ckfs_target *d, uint64_t pos, const ckfs_target *parent,
                       ckfs_target *t, char *name);
const char *const *ckfs_ns_view_xattr_names(const ckfs_target *t);
/* A by_name link's target in buf, or NULL when t is no link of a view. */
const char *ckfs_ns_view_readlink(const ckfs_target *t, char *buf, size_t size);
int ckfs_ns_view_xattr(const ckfs_target *t, const char *key, char *buf, size_t bufsize,
                       const char **val, size_t *len);

#endif
