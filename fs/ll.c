/*
 * ll.c - the FUSE low-level operations (see ll.h).
 *
 * Every reply is computed from a view's tree and index; only text-shown tensors (strings,
 * variants), object_graph.pbtxt and reading a variable's bytes touch a data shard. Inode
 * numbers are never reused for other content, so forget is a no-op and the timeouts inside a
 * checkpoint are long: the kernel's dentry, attribute and page caches do the rest. What the
 * name space resolves is held until the request is done (put), or by an open file until its
 * release, so a training folder can close a checkpoint nobody uses (ns_folder.c). Open files
 * are file.h's, their reads read.h's.
 */
#include "ll.h"

#include "file.h"
#include "read.h"
#include "watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* st_blksize: large, so cp and friends read in big requests. */
#define BLKSIZE (128 * 1024)
/* Our extended attributes' namespace. */
#define XATTR_PREFIX "user.ckpt."
#define XATTR_PREFIX_LEN (sizeof XATTR_PREFIX - 1)

/* Every operation starts here, which makes it the place to note that the mount is in use. */
static ckfs *ctx(fuse_req_t req)
{
    ckfs *fs = fuse_req_userdata(req);
    ckfs_watchdog_touch(fs);
    return fs;
}

typedef ckfs_target target;

/* --- inode numbers and attributes ------------------------------------------------------ */

static int resolve(ckfs *fs, fuse_ino_t ino, int open, target *t)
{
    return fs->ns->ops->resolve(fs->ns, (uint64_t)ino, open, t);
}

static void put(ckfs *fs, const target *t)
{
    fs->ns->ops->put(fs->ns, t);
}

/* Resolve ino for a request, or answer the request with the error: 0, or -1 when answered. */
static int resolve_or_reply(fuse_req_t req, ckfs *fs, fuse_ino_t ino, int open, target *t)
{
    int rc = resolve(fs, ino, open, t);
    if (rc)
        fuse_reply_err(req, -rc);
    return rc ? -1 : 0;
}

static uint64_t target_ino(ckfs *fs, const target *t)
{
    return fs->ns->ops->ino(fs->ns, t);
}

/* Fill st for target t; lazy_ok: compute a size not known yet (else -EAGAIN, for listings). */
static int node_stat(ckfs *fs, const target *t, struct stat *st, double *attr_timeout, int lazy_ok)
{
    memset(st, 0, sizeof(*st));
    int rc = fs->ns->ops->stat(fs->ns, t, st, attr_timeout, lazy_ok);
    st->st_ino = target_ino(fs, t);
    st->st_blksize = BLKSIZE;
    return rc;
}

/* The entry of t, a name in directory d. */
static void fill_entry(ckfs *fs, const target *d, const target *t, struct fuse_entry_param *e,
                       int *err, int lazy_ok)
{
    memset(e, 0, sizeof(*e));
    double at;
    *err = node_stat(fs, t, &e->attr, &at, lazy_ok);
    e->ino = e->attr.st_ino;
    e->attr_timeout = at;
    e->entry_timeout = fs->ns->ops->entry_timeout(fs->ns, d);
}

/* --- name space ------------------------------------------------------------------------- */

/* Resolve a directory inode (opening its checkpoint), held on success: -ENOTDIR if it is not
 * one. */
static int dir_of(ckfs *fs, fuse_ino_t ino, target *t)
{
    int rc = resolve(fs, ino, 1, t);
    if (rc)
        return rc;
    if (ckfs_node_is_dir(t->n))
        return 0;
    put(fs, t);
    return -ENOTDIR;
}

static void reply_negative(fuse_req_t req, ckfs *fs, const target *d)
{
    /* A negative entry: cached as long as names of d are (in a checkpoint nothing will
     * ever appear; a folder's root follows the folder). */
    struct fuse_entry_param e;
    memset(&e, 0, sizeof e);
    e.entry_timeout = fs->ns->ops->entry_timeout(fs->ns, d);
    fuse_reply_entry(req, &e);
}

/*
 * With export support (NFS re-export, open_by_handle_at) the kernel turns a file handle back
 * into a node by looking up "." in the handle's node id, whatever its kind, and finds a
 * directory's parent by "..". Node ids derive from the index, so they stay valid across
 * cache drops and remounts, and so do handles.
 */
static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    ckfs *fs = ctx(req);
    target d, t;
    int rc = strcmp(name, ".") == 0 ? resolve(fs, parent, 1, &d) : dir_of(fs, parent, &d);
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    if (!ckfs_node_is_dir(d.n)) {
        t = d; /* "." of a file: the file itself */
    } else if (fs->ns->ops->lookup(fs->ns, &d, name, &t)) {
        reply_negative(req, fs, &d);
        put(fs, &d);
        return;
    }
    struct fuse_entry_param e;
    fill_entry(fs, &d, &t, &e, &rc, 1);
    if (rc)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_entry(req, &e);
    put(fs, &d);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    (void)ino;
    (void)nlookup;
    fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
    (void)count;
    (void)forgets;
    fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)fi;
    ckfs *fs = ctx(req);
    target t;
    if (resolve_or_reply(req, fs, ino, 0, &t))
        return;
    struct stat st;
    double at;
    int rc = node_stat(fs, &t, &st, &at, 1);
    if (rc)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, at);
    put(fs, &t);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
    ckfs *fs = ctx(req);
    target t;
    int rc = resolve(fs, ino, 0, &t);
    char buf[CKFS_LINK_MAX];
    const char *link = rc ? NULL : fs->ns->ops->readlink(fs->ns, &t, buf, sizeof buf);
    if (rc)
        fuse_reply_err(req, -rc);
    else if (!link)
        fuse_reply_err(req, EINVAL);
    else
        fuse_reply_readlink(req, link);
    if (!rc)
        put(fs, &t);
}

/*
 * Directories need no per-open state. When the kernel supports it, answering ENOSYS once
 * makes it skip OPENDIR/RELEASEDIR for good (and cache listings by default): a find over a
 * deep tree then costs one READDIR per directory instead of three requests.
 */
static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    ckfs *fs = ctx(req);
    if (fs->no_opendir) {
        fuse_reply_err(req, ENOSYS);
        return;
    }
    target d;
    int rc = dir_of(fs, ino, &d);
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    /* Listings of a checkpoint never change; a folder's root invalidates its own. */
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
    put(fs, &d);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi, int plus)
{
    ckfs *fs = ctx(req);
    (void)fi;
    target d;
    int rc = dir_of(fs, ino, &d);
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    char *buf = malloc(size);
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        put(fs, &d);
        return;
    }
    size_t used = 0;
    char name[CKFS_ENTRY_NAME_MAX + 1];
    /* Offsets: 0 ".", 1 "..", 2 + k position k; each entry carries the offset after it. */
    for (uint64_t pos = off < 0 ? 0 : (uint64_t)off;; pos++) {
        target t;
        int r = fs->ns->ops->entry(fs->ns, &d, pos, &t, name);
        if (r == 1)
            break;
        if (r == 2) /* a position without a name: the tree's positions are sparse */
            continue;
        size_t need;
        if (plus) {
            struct fuse_entry_param e;
            int erc;
            fill_entry(fs, &d, &t, &e, &erc, 0);
            if (erc) {
                /* Listed without attributes (ino 0 tells the kernel so): a generated file
                 * is only sized when looked up, never because its directory was listed. */
                memset(&e, 0, sizeof e);
                e.attr.st_ino = target_ino(fs, &t);
                e.attr.st_mode = S_IFREG;
            }
            need = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, (off_t)(pos + 1));
        } else {
            struct stat st;
            memset(&st, 0, sizeof st);
            st.st_ino = target_ino(fs, &t);
            st.st_mode = ckfs_node_is_dir(t.n)     ? S_IFDIR
                         : t.n.kind == CKFS_K_LINK ? S_IFLNK
                                                   : S_IFREG;
            need = fuse_add_direntry(req, buf + used, size - used, name, &st, (off_t)(pos + 1));
        }
        if (need > size - used)
            break;
        used += need;
    }
    fuse_reply_buf(req, buf, used);
    free(buf);
    put(fs, &d);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    do_readdir(req, ino, size, off, fi, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi)
{
    do_readdir(req, ino, size, off, fi, 1);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    (void)fi;
    fuse_reply_err(req, 0);
}

/* --- files ------------------------------------------------------------------------------ */

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    ckfs *fs = ctx(req);
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
        fuse_reply_err(req, EROFS);
        return;
    }
    target t;
    if (resolve_or_reply(req, fs, ino, 1, &t))
        return;
    if (ckfs_node_is_dir(t.n) || t.n.kind == CKFS_K_LINK) {
        /* a link (`latest`, by_name/): the kernel follows it, never opens it */
        fuse_reply_err(req, ckfs_node_is_dir(t.n) ? EISDIR : ELOOP);
        put(fs, &t);
        return;
    }
    ckfs_file *f;
    int rc = ckfs_file_open(fs, &t, &f); /* holds t from here on, or has put it */
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    fi->fh = (uint64_t)(uintptr_t)f;
    /* A file of the name space (a folder's checkpoints.tsv) changes between opens: the kernel
     * keeps no pages of it and asks for every read. */
    fi->direct_io = t.v == NULL;
    fi->keep_cache = t.v != NULL;
    fi->noflush = 1;
    /* Listed before the reply: its RELEASE may come at once, on another thread. */
    ckfs_file_list(f);
    if (fuse_reply_open(req, fi) == -ENOENT)
        ckfs_file_free(f); /* the opener was interrupted: nobody will release this */
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    (void)ino;
    ckfs *fs = ctx(req);
    ckfs_file *f = (ckfs_file *)(uintptr_t)fi->fh;
    ckfs_file_get(f);
    ckfs_read(req, fs, f, size, off);
    ckfs_file_put(f);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    ckfs_file *f = (ckfs_file *)(uintptr_t)fi->fh;
    if (f)
        ckfs_file_put(f);
    fuse_reply_err(req, 0);
}

/* --- filesystem-wide -------------------------------------------------------------------- */

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
    (void)ino;
    ckfs *fs = ctx(req);
    struct statvfs sv;
    memset(&sv, 0, sizeof sv);
    sv.f_bsize = 4096;
    sv.f_frsize = 4096;
    uint64_t bytes, names;
    fs->ns->ops->totals(fs->ns, &bytes, &names);
    sv.f_blocks = (bytes + 4095) / 4096;
    sv.f_files = names;
    sv.f_namemax = CKFS_ENTRY_NAME_MAX;
    sv.f_flag = ST_RDONLY | ST_NOSUID | ST_NODEV;
    fuse_reply_statfs(req, &sv);
}

static void reply_xattr_value(fuse_req_t req, size_t size, const char *val, size_t len)
{
    if (size == 0)
        fuse_reply_xattr(req, len);
    else if (size < len)
        fuse_reply_err(req, ERANGE);
    else
        fuse_reply_buf(req, val, len);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
    ckfs *fs = ctx(req);
    /* ls -l asks every entry for ACLs and security labels: answering those must not open a
     * folder's checkpoints. */
    if (strncmp(name, XATTR_PREFIX, XATTR_PREFIX_LEN) != 0) {
        fuse_reply_err(req, ENODATA);
        return;
    }
    target t;
    if (resolve_or_reply(req, fs, ino, 1, &t))
        return;
    char buf[8192];
    const char *val;
    size_t len;
    int rc = fs->ns->ops->xattr(fs->ns, &t, name + XATTR_PREFIX_LEN, buf, sizeof buf, &val, &len);
    if (rc)
        fuse_reply_err(req, -rc);
    else
        reply_xattr_value(req, size, val, len);
    put(fs, &t);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    ckfs *fs = ctx(req);
    target t;
    if (resolve_or_reply(req, fs, ino, 1, &t))
        return;
    const char *const *names = fs->ns->ops->xattr_names(fs->ns, &t);
    char list[512];
    size_t len = 0;
    char buf[8192];
    for (size_t k = 0; names && names[k]; k++) {
        const char *val;
        size_t vl;
        if (fs->ns->ops->xattr(fs->ns, &t, names[k] + XATTR_PREFIX_LEN, buf, sizeof buf, &val, &vl))
            continue; /* e.g. no crc32c, or shard of a partitioned variable */
        size_t nl = strlen(names[k]) + 1;
        memcpy(list + len, names[k], nl);
        len += nl;
    }
    reply_xattr_value(req, size, list, len);
    put(fs, &t);
}

/* Everything that would change the tree. The kernel refuses most on a read-only mount; these
 * cover the rest (and a remount that dropped "ro"). */
static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                       struct fuse_file_info *fi)
{
    (void)ino, (void)attr, (void)to_set, (void)fi;
    fuse_reply_err(req, EROFS);
}
static void op_mknod(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m, dev_t d)
{
    (void)p, (void)n, (void)m, (void)d;
    fuse_reply_err(req, EROFS);
}
static void op_mkdir(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m)
{
    (void)p, (void)n, (void)m;
    fuse_reply_err(req, EROFS);
}
static void op_unlink(fuse_req_t req, fuse_ino_t p, const char *n)
{
    (void)p, (void)n;
    fuse_reply_err(req, EROFS);
}
static void op_symlink(fuse_req_t req, const char *l, fuse_ino_t p, const char *n)
{
    (void)l, (void)p, (void)n;
    fuse_reply_err(req, EROFS);
}
static void op_rename(fuse_req_t req, fuse_ino_t p, const char *n, fuse_ino_t np, const char *nn,
                      unsigned int flags)
{
    (void)p, (void)n, (void)np, (void)nn, (void)flags;
    fuse_reply_err(req, EROFS);
}
static void op_link(fuse_req_t req, fuse_ino_t i, fuse_ino_t np, const char *nn)
{
    (void)i, (void)np, (void)nn;
    fuse_reply_err(req, EROFS);
}
static void op_write(fuse_req_t req, fuse_ino_t i, const char *b, size_t s, off_t o,
                     struct fuse_file_info *fi)
{
    (void)i, (void)b, (void)s, (void)o, (void)fi;
    fuse_reply_err(req, EROFS);
}
static void op_create(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m,
                      struct fuse_file_info *fi)
{
    (void)p, (void)n, (void)m, (void)fi;
    fuse_reply_err(req, EROFS);
}
static void op_setxattr(fuse_req_t req, fuse_ino_t i, const char *n, const char *v, size_t s, int f)
{
    (void)i, (void)n, (void)v, (void)s, (void)f;
    fuse_reply_err(req, EROFS);
}
static void op_removexattr(fuse_req_t req, fuse_ino_t i, const char *n)
{
    (void)i, (void)n;
    fuse_reply_err(req, EROFS);
}
static void op_fallocate(fuse_req_t req, fuse_ino_t i, int m, off_t o, off_t l,
                         struct fuse_file_info *fi)
{
    (void)i, (void)m, (void)o, (void)l, (void)fi;
    fuse_reply_err(req, EROFS);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
    ckfs *fs = userdata;
    if (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) {
        conn->want |= FUSE_CAP_NO_OPENDIR_SUPPORT;
        fs->no_opendir = 1;
    }
    if (conn->capable & FUSE_CAP_EXPORT_SUPPORT)
        conn->want |= FUSE_CAP_EXPORT_SUPPORT;
    /* Asynchronous reads stay on (the kernel reads ahead in parallel): verify=sequential joins
     * the checksums of reads in whatever order they finish (read_tracked). */
    if (fs->opts.splice)
        conn->want |= (FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE) & conn->capable;
    /* A folder starts following its directory: from here on the kernel can be told. */
    if (fs->ns->ops->start)
        fs->ns->ops->start(fs->ns, fs->se);
    /* Tell the parent waiting in ckfs_cmd_mount that requests are being served. */
    if (fs->ready_fd >= 0) {
        char ok = 0;
        if (write(fs->ready_fd, &ok, 1) != 1) {
            /* The parent is gone; nothing left to tell. */
        }
        close(fs->ready_fd);
        fs->ready_fd = -1;
    }
}

static void op_destroy(void *userdata)
{
    ckfs *fs = userdata;
    if (fs->ns->ops->stop)
        fs->ns->ops->stop(fs->ns);
}

const struct fuse_lowlevel_ops ckfs_ll_ops = {
    .init = op_init,
    .destroy = op_destroy,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .readlink = op_readlink,
    .setattr = op_setattr,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .unlink = op_unlink,
    .rmdir = op_unlink,
    .symlink = op_symlink,
    .rename = op_rename,
    .link = op_link,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .release = op_release,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .readdirplus = op_readdirplus,
    .releasedir = op_releasedir,
    .statfs = op_statfs,
    .setxattr = op_setxattr,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
    .removexattr = op_removexattr,
    .create = op_create,
    .fallocate = op_fallocate,
};
