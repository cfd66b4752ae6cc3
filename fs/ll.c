/*
 * ll.c - the FUSE low-level operations (see ll.h).
 *
 * Every reply is computed from a view's tree and index; only text-shown tensors (strings,
 * variants), object_graph.pbtxt and reading a variable's bytes touch a data shard. Inodes
 * never go away, so forget is a no-op and every timeout is long: the kernel's dentry,
 * attribute and page caches do the rest.
 */
#include "ll.h"

#include "dtype.h"
#include "gen.h"
#include "npy.h"
#include "render.h"
#include "shape.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <syslog.h>
#include <unistd.h>

/* The checkpoint cannot change under a mount: cache names and attributes for a day. */
#define TIMEOUT 86400.0
/* st_blksize: large, so cp and friends read in big requests. */
#define BLKSIZE (128 * 1024)
/* Longest NPY header (rank is bounded by the reader; numpy's own limit is 64 dims). */
#define NPY_HEADER_MAX 4096

void ckfs_log(const ckfs *fs, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (fs->foreground) {
        fputs("ckptfs: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    } else {
        vsyslog(LOG_ERR, fmt, ap);
    }
    va_end(ap);
}

void ckfs_log_warning(void *ctx, const char *msg)
{
    ckfs_log(ctx, "warning: %s", msg);
}

static ckfs *ctx(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

/* What an inode number names: a node of a view, or (v NULL) the folder root or `latest`. */
typedef struct target {
    ckfs_view *v;
    ckfs_node n;
} target;

/* One open file. Text content (sidecars, generated files, text-shown tensors) is in data or,
 * for rendered graph texts, in fd. */
typedef struct ckfs_file {
    unsigned refs;          /* the open file, plus each read in progress (see file_put) */
    ckfs *fs;
    ckfs_view *v;
    ckfs_node node;
    pthread_mutex_t mu;     /* guards crc */
    ckpt_crc_state crc;
    const char *data;
    size_t len;
    int fd;                 /* rendered text to pread, or -1 */
    char *owned;            /* data when it belongs to this file alone */
    ckfs_lazy *shared;      /* data when it is a lazy entry (one reference held) */
    uint32_t hlen;          /* .npy: header length; the header is in owned */
} ckfs_file;

/* --- views and inode numbers ------------------------------------------------------------ */

static ckfs_view *view_of_range(ckfs *fs, uint64_t r)
{
    size_t lo = 0, hi = fs->nviews;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (fs->ranges[mid].r == r)
            return &fs->views[fs->ranges[mid].view];
        if (fs->ranges[mid].r < r)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Open v if needed; a failure is logged once and reads as EIO. */
static int ensure(ckfs *fs, ckfs_view *v)
{
    if (__atomic_load_n(&v->state, __ATOMIC_ACQUIRE) == 1)
        return 0;
    ckpt_err err;
    ckpt_err_clear(&err);
    int was = __atomic_load_n(&v->state, __ATOMIC_ACQUIRE);
    int rc = ckfs_view_ensure(v, &fs->opts, ckfs_log_warning, fs, &err);
    if (rc) {
        if (was == 0)
            ckfs_log(fs, "cannot open checkpoint %s: %s", v->name ? v->name : v->prefix, err.msg);
        return rc == CKPT_E_NOMEM ? -ENOMEM : -EIO;
    }
    return 0;
}

/*
 * Resolve ino. open_root: open a folder's checkpoint even when ino is its directory (getattr
 * and listings of the folder root must not: they show the directory without reading its index).
 */
static int resolve(ckfs *fs, fuse_ino_t ino, int open_root, target *t)
{
    if (!fs->folder) {
        t->v = &fs->views[0];
        return ckfs_tree_node(t->v->tree, ino, &t->n) ? -ENOENT : 0;
    }
    uint64_t r = (uint64_t)ino >> CKFS_VIEW_SHIFT;
    if (r == 0) {
        t->v = NULL;
        if (ino == CKFS_INO_ROOT)
            t->n = (ckfs_node){CKFS_K_DIR, 0};
        else if (ino == CKFS_INO_LATEST && fs->latest)
            t->n = (ckfs_node){CKFS_K_LINK, 0};
        else
            return -ENOENT;
        return 0;
    }
    ckfs_view *v = view_of_range(fs, r);
    if (!v)
        return -ENOENT;
    uint64_t local = (uint64_t)ino & CKFS_LOCAL_MASK;
    t->v = v;
    if (local == CKFS_INO_ROOT && !open_root &&
        __atomic_load_n(&v->state, __ATOMIC_ACQUIRE) != 1) {
        t->n = (ckfs_node){CKFS_K_DIR, 0};
        return 0;
    }
    int rc = ensure(fs, v);
    if (rc)
        return rc;
    return ckfs_tree_node(v->tree, local, &t->n) ? -ENOENT : 0;
}

static int view_open(ckfs_view *v)
{
    return __atomic_load_n(&v->state, __ATOMIC_ACQUIRE) == 1;
}

static uint64_t target_ino(const target *t)
{
    if (!t->v)
        return t->n.kind == CKFS_K_LINK ? CKFS_INO_LATEST : CKFS_INO_ROOT;
    if (!view_open(t->v)) /* an unopened checkpoint's directory */
        return t->v->base + CKFS_INO_ROOT;
    return t->v->base + ckfs_tree_ino(t->v->tree, t->n);
}

/* --- lazily rendered tensors' text ------------------------------------------------------- */

/*
 * Take a reference to variable i's text form, rendering it if nobody holds it. The rendering
 * (a whole tensor read, maybe large) runs without the view's lock, so other files of the view
 * open and stat meanwhile; openers of the same variable wait for it instead of rendering too.
 */
static int strs_acquire(ckfs *fs, ckfs_view *v, uint32_t i, ckfs_lazy **out)
{
    ckfs_lazy *L = &v->strs[i];
    int rc = 0;
    pthread_mutex_lock(&v->mu);
    while (L->busy)
        pthread_cond_wait(&v->strs_cv, &v->mu);
    if (!L->data) {
        L->busy = 1;
        pthread_mutex_unlock(&v->mu);
        ckpt_strbuf b = {0};
        ckpt_err err;
        ckpt_err_clear(&err);
        int r = ckpt_render_text(v->c, i, &b, &err);
        char *data = NULL;
        if (r) {
            ckpt_strbuf_free(&b);
            ckfs_log(fs, "%s", err.msg);
            rc = r == CKPT_E_NOMEM ? -ENOMEM : -EIO;
        } else {
            /* An empty text still needs a non-NULL pointer to count as held. */
            data = b.data ? b.data : calloc(1, 1);
            if (!data)
                rc = -ENOMEM;
        }
        pthread_mutex_lock(&v->mu);
        if (data) {
            L->data = data;
            L->size = b.len;
            L->state = 1;
        }
        L->busy = 0;
        pthread_cond_broadcast(&v->strs_cv);
    }
    if (rc == 0) {
        L->refs++;
        *out = L;
    }
    pthread_mutex_unlock(&v->mu);
    return rc;
}

static void strs_release(ckfs_view *v, ckfs_lazy *L)
{
    pthread_mutex_lock(&v->mu);
    if (--L->refs == 0) {
        /* Keep the size (stat must stay right), drop the text. */
        free(L->data);
        L->data = NULL;
    }
    pthread_mutex_unlock(&v->mu);
}

/* Size of a generated file, computing it on first use (logged on failure). */
static int gen_size(ckfs *fs, ckfs_view *v, uint32_t g, uint64_t *size)
{
    ckpt_err err;
    ckpt_err_clear(&err);
    int rc = ckfs_gen_size(v, (int)g, size, &err);
    if (rc) {
        if (err.msg[0])
            ckfs_log(fs, "%s", err.msg);
        return rc == CKPT_E_NOMEM ? -ENOMEM : -EIO;
    }
    return 0;
}

/* --- attributes ------------------------------------------------------------------------- */

/* Size of a sidecar's text. */
static uint64_t sidecar_size(const ckpt_var *v, int kind)
{
    char buf[64];
    return kind == CKFS_K_SHAPE ? ckpt_render_shape(v, buf, sizeof buf)
                                : ckpt_render_dtype(v, buf, sizeof buf);
}

/* Length of variable v's .npy header (0 if it has none). */
static uint32_t npy_header_len(const ckpt_var *v)
{
    char tmp[1];
    size_t n = ckpt_npy_header(v->dtype, v->rank, v->dims, tmp, 0);
    return n <= NPY_HEADER_MAX ? (uint32_t)n : 0;
}

/* Attributes of an unopened checkpoint's directory: from its index file's stat alone. */
static void unopened_dir_stat(ckfs *fs, ckfs_view *v, struct stat *st)
{
    st->st_mode = S_IFDIR | fs->dmode;
    st->st_nlink = 1; /* "unknown": find and friends then do not count on it */
    st->st_atim = st->st_mtim = st->st_ctim = fs->mtime;
    size_t n = strlen(v->prefix);
    char *p = malloc(n + sizeof ".index");
    if (p) {
        struct stat ist;
        memcpy(p, v->prefix, n);
        memcpy(p + n, ".index", sizeof ".index");
        if (stat(p, &ist) == 0 || stat(v->prefix, &ist) == 0) {
            st->st_atim = st->st_mtim = st->st_ctim = ist.st_mtim;
            mode_t r = fs->opts.have_umask ? (0444 & ~fs->opts.umask) : (ist.st_mode & 0444);
            st->st_mode = S_IFDIR | ((r | (r >> 2)) & (fs->opts.have_umask ? ~fs->opts.umask : 0777));
            st->st_uid = fs->opts.have_uid ? fs->opts.uid : ist.st_uid;
            st->st_gid = fs->opts.have_gid ? fs->opts.gid : ist.st_gid;
        }
        free(p);
    }
}

/*
 * Fill st for target t. *attr_timeout is TIMEOUT, or 0 for a file whose size is not known yet
 * (a text-shown tensor before its first open) and an unopened checkpoint's directory.
 * lazy_ok: compute a generated file's size if unknown (else fail with -EAGAIN, for listings).
 */
static int node_stat(ckfs *fs, const target *t, struct stat *st, double *attr_timeout,
                     int lazy_ok)
{
    memset(st, 0, sizeof(*st));
    st->st_ino = target_ino(t);
    st->st_blksize = BLKSIZE;
    st->st_nlink = 1;
    *attr_timeout = TIMEOUT;
    ckfs_view *v = t->v;
    ckfs_node n = t->n;

    if (!v) {
        st->st_uid = fs->uid;
        st->st_gid = fs->gid;
        st->st_atim = st->st_mtim = st->st_ctim = fs->mtime;
        if (n.kind == CKFS_K_LINK) {
            st->st_mode = S_IFLNK | 0777;
            st->st_size = (off_t)strlen(fs->latest);
        } else {
            st->st_mode = S_IFDIR | fs->dmode;
            st->st_nlink = 2 + fs->nviews;
            st->st_size = 4096;
        }
        return 0;
    }
    if (!view_open(v)) {
        st->st_uid = fs->uid;
        st->st_gid = fs->gid;
        unopened_dir_stat(fs, v, st);
        st->st_size = 4096;
        *attr_timeout = 0;
        return 0;
    }
    st->st_uid = v->uid;
    st->st_gid = v->gid;
    st->st_atim = st->st_mtim = st->st_ctim = v->mtime;
    st->st_mode = S_IFREG | v->fmode;

    if (n.kind == CKFS_K_DIR) {
        st->st_mode = S_IFDIR | v->dmode;
        st->st_nlink = 2 + ckfs_tree_subdirs(v->tree, n.idx);
        st->st_size = 4096;
    } else if (n.kind == CKFS_K_GEN) {
        uint64_t size;
        if (!ckfs_gen_size_known(v, (int)n.idx, &size)) {
            if (!lazy_ok)
                return -EAGAIN;
            int rc = gen_size(fs, v, n.idx, &size);
            if (rc)
                return rc;
        }
        st->st_size = (off_t)size;
    } else {
        if (n.idx >= ckpt_count(v->c))
            return -ENOENT;
        ckpt_var var;
        ckpt_get(v->c, n.idx, &var);
        if (n.kind == CKFS_K_DATA) {
            if (ckpt_is_text_var(&var)) {
                pthread_mutex_lock(&v->mu);
                ckfs_lazy *L = &v->strs[n.idx];
                if (L->state == 1)
                    st->st_size = (off_t)L->size;
                else
                    *attr_timeout = 0;
                pthread_mutex_unlock(&v->mu);
            } else {
                st->st_size = (off_t)var.nbytes;
            }
        } else if (n.kind == CKFS_K_SHAPE || n.kind == CKFS_K_DTYPE) {
            st->st_size = (off_t)sidecar_size(&var, n.kind);
        } else {
            st->st_size = (off_t)(npy_header_len(&var) + var.nbytes);
        }
    }
    st->st_blocks = (st->st_size + 511) / 512;
    return 0;
}

static void fill_entry(ckfs *fs, const target *t, struct fuse_entry_param *e, int *err,
                       int lazy_ok)
{
    memset(e, 0, sizeof(*e));
    double at;
    *err = node_stat(fs, t, &e->attr, &at, lazy_ok);
    e->ino = e->attr.st_ino;
    e->attr_timeout = at;
    e->entry_timeout = TIMEOUT;
}

/* --- name space ------------------------------------------------------------------------- */

/* A folder root entry by name; -1 if none. */
static long fent_find(const ckfs *fs, const char *name)
{
    size_t lo = 0, hi = fs->nfents;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(fs->fents[mid].name, name);
        if (r == 0)
            return (long)mid;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static target fent_target(ckfs *fs, const ckfs_fent *f)
{
    target t;
    if (f->kind == CKFS_K_LINK) {
        t.v = NULL;
        t.n = (ckfs_node){CKFS_K_LINK, 0};
    } else {
        t.v = &fs->views[f->view];
        t.n = (ckfs_node){CKFS_K_DIR, 0};
    }
    return t;
}

static const target folder_root = {NULL, {CKFS_K_DIR, 0}};

/* Resolve a directory inode (opening its checkpoint): -ENOTDIR if it is not one. */
static int dir_of(ckfs *fs, fuse_ino_t ino, target *t)
{
    int rc = resolve(fs, ino, 1, t);
    if (rc)
        return rc;
    return t->n.kind == CKFS_K_DIR ? 0 : -ENOTDIR;
}

static void reply_negative(fuse_req_t req)
{
    /* A negative entry: cache it too, nothing will ever appear. */
    struct fuse_entry_param e;
    memset(&e, 0, sizeof e);
    e.entry_timeout = TIMEOUT;
    fuse_reply_entry(req, &e);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    ckfs *fs = ctx(req);
    target d;
    int rc = dir_of(fs, parent, &d);
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    target t;
    if (!d.v) {
        if (!strcmp(name, ".") || !strcmp(name, "..")) {
            t = folder_root;
        } else {
            long k = fent_find(fs, name);
            if (k < 0) {
                reply_negative(req);
                return;
            }
            t = fent_target(fs, &fs->fents[k]);
        }
    } else if (fs->folder && d.n.idx == 0 && !strcmp(name, "..")) {
        t = folder_root;
    } else {
        t.v = d.v;
        if (ckfs_tree_lookup(d.v->tree, d.n.idx, name, &t.n)) {
            reply_negative(req);
            return;
        }
    }
    struct fuse_entry_param e;
    fill_entry(fs, &t, &e, &rc, 1);
    if (rc)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_entry(req, &e);
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
    int rc = resolve(fs, ino, 0, &t);
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    struct stat st;
    double at;
    rc = node_stat(fs, &t, &st, &at, 1);
    if (rc)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, at);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
    ckfs *fs = ctx(req);
    target t;
    int rc = resolve(fs, ino, 0, &t);
    if (rc)
        fuse_reply_err(req, -rc);
    else if (t.v || t.n.kind != CKFS_K_LINK)
        fuse_reply_err(req, EINVAL);
    else
        fuse_reply_readlink(req, fs->latest);
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
    fi->cache_readdir = 1; /* listings never change: let the kernel keep them */
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
}

/* Entry pos of directory d (0 ".", 1 "..", then its entries); 0, or 1 past the end. */
static int dir_entry(ckfs *fs, const target *d, uint64_t pos, target *t, char *name)
{
    if (pos == 0) {
        *t = *d;
        strcpy(name, ".");
        return 0;
    }
    if (pos == 1) {
        if (!d->v || (fs->folder && d->n.idx == 0))
            *t = folder_root;
        else
            *t = (target){d->v, {CKFS_K_DIR, ckfs_tree_parent(d->v->tree, d->n.idx)}};
        strcpy(name, "..");
        return 0;
    }
    uint64_t k = pos - 2;
    if (!d->v) {
        if (k >= fs->nfents)
            return 1;
        *t = fent_target(fs, &fs->fents[k]);
        snprintf(name, CKFS_ENTRY_NAME_MAX + 1, "%s", fs->fents[k].name);
        return 0;
    }
    if (k >= ckfs_tree_dir_size(d->v->tree, d->n.idx))
        return 1;
    t->v = d->v;
    ckfs_tree_dir_entry(d->v->tree, d->n.idx, (uint32_t)k, &t->n, name);
    return 0;
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
        return;
    }
    size_t used = 0;
    char name[CKFS_ENTRY_NAME_MAX + 1];
    /* Offsets: 0 ".", 1 "..", 2 + k entry k; each entry carries the offset of the next. */
    for (uint64_t pos = off < 0 ? 0 : (uint64_t)off;; pos++) {
        target t;
        if (dir_entry(fs, &d, pos, &t, name))
            break;
        size_t need;
        if (plus) {
            struct fuse_entry_param e;
            int rc;
            fill_entry(fs, &t, &e, &rc, 0);
            if (rc) {
                /* Listed without attributes (ino 0 tells the kernel so): a generated file
                 * is only sized when looked up, never because its directory was listed. */
                memset(&e, 0, sizeof e);
                e.attr.st_ino = target_ino(&t);
                e.attr.st_mode = S_IFREG;
            }
            need = fuse_add_direntry_plus(req, buf + used, size - used, name, &e,
                                          (off_t)(pos + 1));
        } else {
            struct stat st;
            memset(&st, 0, sizeof st);
            st.st_ino = target_ino(&t);
            st.st_mode = t.n.kind == CKFS_K_DIR ? S_IFDIR
                         : t.n.kind == CKFS_K_LINK ? S_IFLNK : S_IFREG;
            need = fuse_add_direntry(req, buf + used, size - used, name, &st, (off_t)(pos + 1));
        }
        if (need > size - used)
            break;
        used += need;
    }
    fuse_reply_buf(req, buf, used);
    free(buf);
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

/* Slot g of v became idle: remember it, closing the oldest idle text beyond the limit. */
static void gen_idle(ckfs *fs, ckfs_view *v, int g)
{
    struct ckfs_idle drop = {NULL, 0};
    pthread_mutex_lock(&fs->idle_mu);
    size_t k = 0;
    while (k < fs->nidle && !(fs->idle[k].v == v && fs->idle[k].g == g))
        k++;
    if (k < fs->nidle) { /* already listed: move it to the young end */
        memmove(&fs->idle[k], &fs->idle[k + 1], (fs->nidle - k - 1) * sizeof fs->idle[0]);
        fs->nidle--;
    }
    if (fs->nidle == CKFS_IDLE_MAX) {
        drop = fs->idle[0];
        memmove(&fs->idle[0], &fs->idle[1], (fs->nidle - 1) * sizeof fs->idle[0]);
        fs->nidle--;
    }
    fs->idle[fs->nidle++] = (struct ckfs_idle){v, g};
    pthread_mutex_unlock(&fs->idle_mu);
    if (drop.v) /* it may be open again by now: drop checks */
        ckfs_gen_drop(drop.v, drop.g);
}

static void file_free(ckfs_file *f)
{
    if (f->node.kind == CKFS_K_GEN && f->fd >= 0 && ckfs_gen_put(f->v, (int)f->node.idx))
        gen_idle(f->fs, f->v, (int)f->node.idx);
    if (f->shared)
        strs_release(f->v, f->shared);
    pthread_mutex_destroy(&f->mu);
    free(f->owned);
    free(f);
}

/*
 * Drop one reference. A read's reply can still be inside writev when the kernel has already
 * handed its bytes to the reader, which may close the file at once: the RELEASE then runs on
 * another thread while the reply buffer (this file's text) is in use. Each read holds a
 * reference, so the text is freed by whichever of the two finishes last.
 */
static void file_put(ckfs_file *f)
{
    if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) == 0)
        file_free(f);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    ckfs *fs = ctx(req);
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
        fuse_reply_err(req, EROFS);
        return;
    }
    target t;
    int rc = resolve(fs, ino, 1, &t);
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    if (t.n.kind == CKFS_K_DIR) {
        fuse_reply_err(req, EISDIR);
        return;
    }
    if (!t.v) {
        fuse_reply_err(req, ELOOP); /* `latest`: the kernel follows it, never opens it */
        return;
    }
    ckfs_view *v = t.v;
    ckfs_node n = t.n;
    ckfs_file *f = calloc(1, sizeof(*f));
    if (!f) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    pthread_mutex_init(&f->mu, NULL);
    f->refs = 1;
    f->fs = fs;
    f->v = v;
    f->node = n;
    f->fd = -1;
    if (n.kind == CKFS_K_GEN) {
        ckpt_err err;
        ckpt_err_clear(&err);
        uint64_t size;
        int r = ckfs_gen_content(v, (int)n.idx, &f->data, &f->fd, &size, &err);
        if (r) {
            if (err.msg[0])
                ckfs_log(fs, "%s", err.msg);
            rc = r == CKPT_E_NOMEM ? -ENOMEM : -EIO;
        } else {
            f->len = (size_t)size;
        }
    } else {
        ckpt_var var;
        ckpt_get(v->c, n.idx, &var);
        if (n.kind == CKFS_K_SHAPE || n.kind == CKFS_K_DTYPE) {
            size_t need = sidecar_size(&var, n.kind) + 1;
            f->owned = malloc(need);
            if (!f->owned) {
                rc = -ENOMEM;
            } else {
                f->len = n.kind == CKFS_K_SHAPE ? ckpt_render_shape(&var, f->owned, need)
                                                : ckpt_render_dtype(&var, f->owned, need);
                f->data = f->owned;
            }
        } else if (n.kind == CKFS_K_NPY) {
            f->hlen = npy_header_len(&var);
            f->owned = f->hlen ? malloc(f->hlen) : NULL;
            if (!f->owned)
                rc = f->hlen ? -ENOMEM : -EIO;
            else
                ckpt_npy_header(var.dtype, var.rank, var.dims, f->owned, f->hlen);
        } else if (ckpt_is_text_var(&var)) {
            rc = strs_acquire(fs, v, n.idx, &f->shared);
            if (rc == 0) {
                f->data = f->shared->data;
                f->len = f->shared->size;
            }
        }
    }
    if (rc) {
        file_free(f);
        fuse_reply_err(req, -rc);
        return;
    }
    fi->fh = (uint64_t)(uintptr_t)f;
    fi->keep_cache = 1;
    fi->noflush = 1;
    if (fuse_reply_open(req, fi) == -ENOENT)
        file_free(f); /* the opener was interrupted: nobody will release this */
}

static void reply_slice(fuse_req_t req, const char *data, size_t len, size_t size, off_t off)
{
    if ((uint64_t)off >= len)
        fuse_reply_buf(req, NULL, 0);
    else
        fuse_reply_buf(req, data + off, len - (size_t)off < size ? len - (size_t)off : size);
}

/* Name of variable i for log lines. */
static void log_read_error(ckfs *fs, ckfs_view *v, uint32_t i, const ckpt_err *err)
{
    ckpt_var var;
    ckpt_get(v->c, i, &var);
    ckfs_log(fs, "read of variable '%.*s'%s%s failed: %s",
             (int)(var.name_len > 300 ? 300 : var.name_len), var.name, v->name ? " of " : "",
             v->name ? v->name : "", err->msg);
}

/* The shard descriptor a splice read of var can move bytes from, or -1: only a plain variable
 * stored as itself in a present shard (not partitioned, not V1, whose bytes are assembled or
 * decoded here). */
static int splice_fd(ckfs_view *v, const ckpt_var *var)
{
    if (var->flags & (CKPT_VAR_SHARD_MISSING | CKPT_VAR_PARTITIONED))
        return -1;
    return ckpt_shard_fd(v->c, var->shard);
}

static void read_splice(fuse_req_t req, ckfs *fs, ckfs_view *v, uint32_t i, const ckpt_var *var,
                        int fd, size_t size, uint64_t off)
{
    /* libfuse sends whatever the splice moved: a shard cut short under the mount would read
     * as a short (then size-shrunk) file. The buffered path fails every read of a variable
     * whose bytes are no longer all there (its checksum cannot pass); so does this. */
    struct stat st;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < var->offset + var->nbytes) {
        ckpt_err err;
        ckpt_err_set(&err, CKPT_E_CORRUPT, "%s: data file is shorter than the index says",
                     ckpt_shard_path(v->c, var->shard));
        log_read_error(fs, v, i, &err);
        fuse_reply_err(req, EIO);
        return;
    }
    struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);
    bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
    bv.buf[0].fd = fd;
    bv.buf[0].pos = (off_t)(var->offset + off);
    fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
}

/* A rendered text in a file: let libfuse move the bytes from it. */
static void read_fd(fuse_req_t req, int fd, uint64_t len, size_t size, off_t off)
{
    if ((uint64_t)off >= len) {
        fuse_reply_buf(req, NULL, 0);
        return;
    }
    if (len - (uint64_t)off < size)
        size = (size_t)(len - (uint64_t)off);
    struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);
    bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
    bv.buf[0].fd = fd;
    bv.buf[0].pos = off;
    fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
}

/*
 * Bytes [off, off + size) of variable f's stored bytes into buf + pre (after pre bytes the
 * caller already put there), then reply. Only the read that continues the sequence extends
 * the per-open checksum; others go around it.
 */
static void read_var(fuse_req_t req, ckfs *fs, ckfs_file *f, char *buf, size_t pre,
                     size_t size, uint64_t off)
{
    ckfs_view *v = f->v;
    ckpt_err err;
    ckpt_err_clear(&err);
    size_t got = 0;
    int rc = 0;
    if (size) {
        pthread_mutex_lock(&f->mu);
        if (off == f->crc.pos) {
            rc = ckpt_read(v->c, f->node.idx, buf + pre, size, off, &got, &f->crc, &err);
            pthread_mutex_unlock(&f->mu);
        } else {
            pthread_mutex_unlock(&f->mu);
            rc = ckpt_read(v->c, f->node.idx, buf + pre, size, off, &got, NULL, &err);
        }
    }
    if (rc) {
        if (rc == CKPT_E_CORRUPT)
            __atomic_store_n(&v->corrupt[f->node.idx], 1, __ATOMIC_RELAXED);
        log_read_error(fs, v, f->node.idx, &err);
        fuse_reply_err(req, rc == CKPT_E_NOMEM ? ENOMEM : EIO);
    } else {
        fuse_reply_buf(req, buf, pre + got);
    }
}

static void do_read(fuse_req_t req, ckfs_file *f, size_t size, off_t off)
{
    ckfs *fs = ctx(req);
    ckfs_view *v = f->v;
    if (f->fd >= 0) {
        read_fd(req, f->fd, f->len, size, off);
        return;
    }
    if (f->data || (f->node.kind != CKFS_K_DATA && f->node.kind != CKFS_K_NPY)) {
        reply_slice(req, f->data, f->len, size, off);
        return;
    }
    /* Known-bad bytes are never served again, not even the parts that passed through. */
    if (__atomic_load_n(&v->corrupt[f->node.idx], __ATOMIC_RELAXED)) {
        fuse_reply_err(req, EIO);
        return;
    }
    ckpt_var var;
    ckpt_get(v->c, f->node.idx, &var);
    uint64_t hlen = f->node.kind == CKFS_K_NPY ? f->hlen : 0;
    uint64_t total = hlen + var.nbytes;
    if ((uint64_t)off >= total) {
        fuse_reply_buf(req, NULL, 0);
        return;
    }
    if (total - (uint64_t)off < size)
        size = (size_t)(total - (uint64_t)off);
    /* The header part of an .npy read, then the tensor's bytes from where it starts. */
    size_t pre = (uint64_t)off < hlen ? (size_t)(hlen - (uint64_t)off) : 0;
    if (pre > size)
        pre = size;
    uint64_t doff = (uint64_t)off + pre - hlen;
    int sfd = fs->opts.splice && pre == 0 ? splice_fd(v, &var) : -1;
    if (sfd >= 0) {
        read_splice(req, fs, v, f->node.idx, &var, sfd, size, doff);
        return;
    }
    char *buf = malloc(size ? size : 1);
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    if (pre)
        memcpy(buf, f->owned + off, pre);
    read_var(req, fs, f, buf, pre, size - pre, doff);
    free(buf);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    (void)ino;
    ckfs_file *f = (ckfs_file *)(uintptr_t)fi->fh;
    __atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
    do_read(req, f, size, off);
    file_put(f);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    ckfs_file *f = (ckfs_file *)(uintptr_t)fi->fh;
    if (f)
        file_put(f);
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
    uint64_t bytes = 0, names = 1 + fs->nfents;
    /* A folder counts the checkpoints opened so far: statfs must not open them all. */
    for (size_t k = 0; k < fs->nviews; k++) {
        ckfs_view *v = &fs->views[k];
        if (__atomic_load_n(&v->state, __ATOMIC_ACQUIRE) != 1)
            continue;
        bytes += ckfs_tree_total_bytes(v->tree);
        names += ckfs_tree_nnames(v->tree);
    }
    sv.f_blocks = (bytes + 4095) / 4096;
    sv.f_files = names;
    sv.f_namemax = 255;
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

static const char *const var_xattrs[] = {
    "user.ckpt.name", "user.ckpt.dtype", "user.ckpt.shape", "user.ckpt.nbytes",
    "user.ckpt.shard", "user.ckpt.offset", "user.ckpt.crc32c", NULL,
};
static const char *const root_xattrs[] = {
    "user.ckpt.prefix", "user.ckpt.data_reads", "user.ckpt.data_bytes", "user.ckpt.shards", NULL,
};
static const char *const folder_xattrs[] = {
    "user.ckpt.folder", "user.ckpt.checkpoints", "user.ckpt.opened", "user.ckpt.data_reads",
    "user.ckpt.data_bytes", NULL,
};

/*
 * Value of xattr name on target t into *val (small values in buf, the name points into the
 * checkpoint). Returns 0, or -ENODATA.
 */
static int xattr_value(ckfs *fs, const target *t, const char *name, char *buf, size_t bufsize,
                       const char **val, size_t *len)
{
    if (strncmp(name, "user.ckpt.", 10) != 0)
        return -ENODATA;
    const char *key = name + 10;
    int w = -1;
    ckfs_view *v = t->v;
    ckfs_node n = t->n;
    if (!v) {
        if (n.kind != CKFS_K_DIR)
            return -ENODATA;
        uint64_t reads = 0, bytes = 0, opened = 0;
        for (size_t k = 0; k < fs->nviews; k++) {
            ckfs_view *x = &fs->views[k];
            if (__atomic_load_n(&x->state, __ATOMIC_ACQUIRE) != 1)
                continue;
            opened++;
            reads += ckpt_data_reads(x->c);
            bytes += ckpt_data_bytes(x->c);
        }
        if (!strcmp(key, "folder")) {
            *val = fs->folder_path;
            *len = strlen(*val);
            return 0;
        }
        if (!strcmp(key, "checkpoints"))
            w = snprintf(buf, bufsize, "%zu", fs->nviews);
        else if (!strcmp(key, "opened"))
            w = snprintf(buf, bufsize, "%" PRIu64, opened);
        else if (!strcmp(key, "data_reads"))
            w = snprintf(buf, bufsize, "%" PRIu64, reads);
        else if (!strcmp(key, "data_bytes"))
            w = snprintf(buf, bufsize, "%" PRIu64, bytes);
    } else if (n.kind == CKFS_K_DIR && n.idx == 0) {
        if (!strcmp(key, "prefix")) {
            *val = ckpt_prefix(v->c);
            *len = strlen(*val);
            return 0;
        }
        if (!strcmp(key, "data_reads"))
            w = snprintf(buf, bufsize, "%" PRIu64, ckpt_data_reads(v->c));
        else if (!strcmp(key, "data_bytes"))
            w = snprintf(buf, bufsize, "%" PRIu64, ckpt_data_bytes(v->c));
        else if (!strcmp(key, "shards"))
            w = snprintf(buf, bufsize, "%d", ckpt_num_shards(v->c));
    } else if (n.kind >= CKFS_K_DATA && n.kind <= CKFS_K_NPY) {
        ckpt_var var;
        ckpt_get(v->c, n.idx, &var);
        char dt[32];
        if (!strcmp(key, "name")) {
            *val = var.name;
            *len = var.name_len;
            return 0;
        }
        if (!strcmp(key, "dtype"))
            w = snprintf(buf, bufsize, "%s", ckpt_dtype_name(var.dtype, dt, sizeof dt));
        else if (!strcmp(key, "shape")) {
            size_t need = ckpt_shape_format(var.rank, var.dims, buf, bufsize);
            w = need < bufsize ? (int)need : -1;
        } else if (!strcmp(key, "nbytes"))
            w = snprintf(buf, bufsize, "%" PRIu64, var.nbytes);
        else if (!strcmp(key, "shard") && !(var.flags & CKPT_VAR_PARTITIONED))
            w = snprintf(buf, bufsize, "%" PRId32, var.shard);
        else if (!strcmp(key, "offset") && !(var.flags & CKPT_VAR_PARTITIONED))
            w = snprintf(buf, bufsize, "%" PRIu64, var.offset);
        else if (!strcmp(key, "crc32c") && (var.flags & CKPT_VAR_HAS_CRC))
            w = snprintf(buf, bufsize, "%08x", var.crc32c);
    }
    if (w < 0)
        return -ENODATA;
    *val = buf;
    *len = (size_t)w;
    return 0;
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
    ckfs *fs = ctx(req);
    /* ls -l asks every entry for ACLs and security labels: answering those must not open a
     * folder's checkpoints. */
    if (strncmp(name, "user.ckpt.", 10) != 0) {
        fuse_reply_err(req, ENODATA);
        return;
    }
    target t;
    int rc = resolve(fs, ino, 1, &t);
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    char buf[8192];
    const char *val;
    size_t len;
    rc = xattr_value(fs, &t, name, buf, sizeof buf, &val, &len);
    if (rc)
        fuse_reply_err(req, -rc);
    else
        reply_xattr_value(req, size, val, len);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    ckfs *fs = ctx(req);
    target t;
    int rc = resolve(fs, ino, 1, &t);
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    const char *const *names = NULL;
    if (!t.v)
        names = t.n.kind == CKFS_K_DIR ? folder_xattrs : NULL;
    else if (t.n.kind == CKFS_K_DIR && t.n.idx == 0)
        names = root_xattrs;
    else if (t.n.kind >= CKFS_K_DATA && t.n.kind <= CKFS_K_NPY)
        names = var_xattrs;
    char list[512];
    size_t len = 0;
    char buf[8192];
    for (size_t k = 0; names && names[k]; k++) {
        const char *val;
        size_t vl;
        if (xattr_value(fs, &t, names[k], buf, sizeof buf, &val, &vl))
            continue; /* e.g. no crc32c, or shard of a partitioned variable */
        size_t nl = strlen(names[k]) + 1;
        memcpy(list + len, names[k], nl);
        len += nl;
    }
    reply_xattr_value(req, size, list, len);
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
static void op_rename(fuse_req_t req, fuse_ino_t p, const char *n, fuse_ino_t np,
                      const char *nn, unsigned int flags)
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
static void op_setxattr(fuse_req_t req, fuse_ino_t i, const char *n, const char *v, size_t s,
                        int f)
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
    /*
     * Synchronous reads: the kernel then sends a sequential reader's requests one after the
     * other, in order, so the per-open running CRC sees every byte and a whole read of a
     * tensor is verified. With async reads, readahead requests overtake each other on the
     * worker threads and the checksum of most large files would never complete.
     */
    if (!fs->opts.splice)
        conn->want &= ~FUSE_CAP_ASYNC_READ;
    if (fs->opts.splice)
        conn->want |= (FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE) & conn->capable;
    /* Tell the parent waiting in ckpt_cmd_mount that requests are being served. */
    if (fs->ready_fd >= 0) {
        char ok = 0;
        if (write(fs->ready_fd, &ok, 1) != 1) {
            /* The parent is gone; nothing left to tell. */
        }
        close(fs->ready_fd);
        fs->ready_fd = -1;
    }
}

const struct fuse_lowlevel_ops ckfs_ll_ops = {
    .init = op_init,
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
