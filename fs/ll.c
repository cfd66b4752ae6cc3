/*
 * ll.c - the FUSE low-level operations (see ll.h).
 *
 * Every reply is computed from a view's tree and index; only text-shown tensors (strings,
 * variants), object_graph.pbtxt and reading a variable's bytes touch a data shard. Inode
 * numbers are never reused for other content, so forget is a no-op and the timeouts inside a
 * checkpoint are long: the kernel's dentry, attribute and page caches do the rest. What the
 * name space resolves is held until the request is done (put), or by an open file until its
 * release, so a training folder can close a checkpoint nobody uses (ns_folder.c).
 */
#include "ll.h"

#include "crc32c.h"
#include "dtype.h"
#include "gen.h"
#include "npy.h"
#include "render.h"
#include "stream.h"
#include "shape.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "idle.h"
#include <unistd.h>

/* A checkpoint's content never changes under its inode numbers: cache names for a day. */
#define TIMEOUT CKFS_ATTR_TIMEOUT
/* st_blksize: large, so cp and friends read in big requests. */
#define BLKSIZE (128 * 1024)
/* Our extended attributes' namespace. */
#define XATTR_PREFIX "user.ckpt."
#define XATTR_PREFIX_LEN (sizeof XATTR_PREFIX - 1)

void ckfs_log(const ckfs *fs, const char *fmt, ...)
{
    char line[CKFS_LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (fs->foreground)
        fprintf(stderr, "ckptfs: %s\n", line);
    else
        ckfs_syslog_line((ckfs_syslog *)&fs->syslog, line);
}

void ckfs_log_line(void *ctx, const char *msg)
{
    ckfs_log(ctx, "%s", msg);
}

/* Every operation starts here, which makes it the place to note that the mount is in use. */
static ckfs *ctx(fuse_req_t req)
{
    ckfs *fs = fuse_req_userdata(req);
    ckfs_idle_touch(fs);
    return fs;
}

typedef ckfs_target target;

/* One open file. Text content (sidecars, generated files, text-shown tensors) is in data or,
 * for rendered graph texts, in fd. */
typedef struct ckfs_file {
    unsigned refs; /* the open file, plus each read in progress (see file_put) */
    ckfs *fs;
    ckfs_view *v;
    ckfs_node node;
    pthread_mutex_t mu;   /* guards crc, track and ahead */
    ckpt_crc_state crc;   /* verify=sequential, partitioned variables (see read_var) */
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
    ckpt_st_cursor stcur;          /* its reader's checksum position; guarded by mu */
    const ckpt_v2_plan *tf;        /* tf/'s data file: the view's bundle, read through it */
    struct ckfs_file *prev, *next; /* fs->files; protected by fs->files_mu */
    int listed;
} ckfs_file;

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
        ckfs_gen_drop(&drop.v->gens, drop.g);
}

/* Put f on the list of open files (file_free takes it off). */
static void file_list(ckfs_file *f)
{
    ckfs *fs = f->fs;
    pthread_mutex_lock(&fs->files_mu);
    f->next = fs->files;
    if (fs->files)
        fs->files->prev = f;
    fs->files = f;
    f->listed = 1;
    pthread_mutex_unlock(&fs->files_mu);
}

static void file_unlist(ckfs_file *f)
{
    ckfs *fs = f->fs;
    pthread_mutex_lock(&fs->files_mu);
    if (f->listed) {
        if (f->prev)
            f->prev->next = f->next;
        else
            fs->files = f->next;
        if (f->next)
            f->next->prev = f->prev;
        f->listed = 0;
    }
    pthread_mutex_unlock(&fs->files_mu);
}

static void file_free(ckfs_file *f)
{
    file_unlist(f);
    if (f->held && f->node.kind == CKFS_K_GEN) {
        if (ckfs_gen_release(&f->v->gens, (int)f->node.idx))
            gen_idle(f->fs, f->v, (int)f->node.idx);
    } else if (f->held) {
        ckfs_view_text_release(f->v, f->node.idx);
    }
    atomic_fetch_sub(&f->fs->open_files, 1);
    if (f->stream) {
        ckfs_stream_free(f->stream);
        atomic_fetch_sub(&f->fs->streams, 1);
    }
    pthread_mutex_destroy(&f->mu);
    free(f->owned);
    target t = {f->v, f->node};
    put(f->fs, &t);
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

/* A log line about variable i: "what of variable 'NAME' [of CHECKPOINT] failed: why". */
static void log_var_error(ckfs *fs, ckfs_view *v, uint32_t i, const char *what, const ckpt_err *err)
{
    ckpt_var var;
    ckpt_get(v->c, i, &var);
    ckfs_log(fs, "%s of variable '%.*s'%s%s failed: %s", what,
             (int)(var.name_len > CKFS_MSG_PATH_MAX ? CKFS_MSG_PATH_MAX : var.name_len), var.name,
             v->name ? " of " : "", v->name ? v->name : "", err->msg);
}

/*
 * -o verify=open: a variable's bytes (its file or .npy) are checked whole at the first open,
 * so every read after, at any offset, serves checked bytes. Text-shown tensors were checked
 * when rendered; on a missing shard every read fails anyway (as in the other modes).
 */
static int check_at_open(ckfs *fs, ckfs_file *f, const ckpt_var *var)
{
    if (fs->opts.verify != CKFS_VERIFY_OPEN || (var->flags & CKPT_VAR_SHARD_MISSING))
        return 0;
    ckpt_err err;
    ckpt_err_clear(&err);
    int r = ckfs_view_check(f->v, f->node.idx, &err);
    if (r == 0)
        return 0;
    log_var_error(fs, f->v, f->node.idx, "open", &err);
    return r == CKPT_E_NOMEM ? -ENOMEM : -EIO;
}

/* At most this many open files stream (ll.h, streams). */
#define CKFS_STREAMS_MAX 32

/*
 * Give a data file whose reads come straight from a local shard a stream (stream.h), so a
 * sequential reader's backing reads are 1 MiB. Not for small variables (one or two requests),
 * read=splice (the kernel moves the bytes), a cached or remote shard (1 MiB already), or
 * partitioned and V1 variables (assembled, decoded); nor beyond CKFS_STREAMS_MAX open files.
 */
static void start_stream(ckfs *fs, ckfs_file *f, const ckpt_var *var)
{
    if (fs->opts.splice || var->nbytes <= 2ull * CKFS_STREAM_CHUNK ||
        (var->flags & (CKPT_VAR_SHARD_MISSING | CKPT_VAR_PARTITIONED)) ||
        ckpt_shard_fd(f->v->c, var->shard) < 0)
        return;
    if (atomic_fetch_add(&fs->streams, 1) >= CKFS_STREAMS_MAX ||
        !(f->stream = ckfs_stream_new(f->v->c, f->node.idx, var->nbytes)))
        atomic_fetch_sub(&fs->streams, 1);
}

/* The content of a file of variable f->node: a sidecar's text, an .npy header, a text-shown
 * tensor's text (held), or nothing (its bytes are read from the shard). 0 or -errno. */
static int open_var(ckfs *fs, ckfs_file *f)
{
    ckfs_view *v = f->v;
    ckfs_node n = f->node;
    ckpt_var var;
    ckpt_get(v->c, n.idx, &var);
    if (n.kind == CKFS_K_SHAPE || n.kind == CKFS_K_DTYPE) {
        size_t need = ckfs_sidecar_size(&var, n.kind) + 1;
        f->owned = malloc(need);
        if (!f->owned)
            return -ENOMEM;
        f->len = n.kind == CKFS_K_SHAPE ? ckpt_render_shape(&var, f->owned, need)
                                        : ckpt_render_dtype(&var, f->owned, need);
        f->data = f->owned;
        return 0;
    }
    if (n.kind == CKFS_K_NPY) {
        f->hlen = ckfs_npy_header_len(&var);
        f->owned = f->hlen ? malloc(f->hlen) : NULL;
        if (!f->owned)
            return f->hlen ? -ENOMEM : -EIO;
        ckpt_npy_header(var.dtype, var.rank, var.dims, f->owned, f->hlen);
        if (fs->opts.verify == CKFS_VERIFY_SEQUENTIAL)
            (void)ckpt_track_init(v->c, n.idx, &f->track); /* else it stays ended */
        start_stream(fs, f, &var);
        return check_at_open(fs, f, &var);
    }
    if (!ckpt_is_text_var(&var) && n.kind != CKFS_K_STATS) {
        if (fs->opts.verify == CKFS_VERIFY_SEQUENTIAL)
            (void)ckpt_track_init(v->c, n.idx, &f->track); /* else it stays ended */
        start_stream(fs, f, &var);
        return check_at_open(fs, f, &var);
    }
    ckpt_err err;
    ckpt_err_clear(&err);
    uint64_t size;
    int r = ckfs_view_text_acquire(v, n.idx, &f->data, &size, &err);
    if (r) {
        ckfs_log(fs, "%s", err.msg);
        return r == CKPT_E_NOMEM ? -ENOMEM : -EIO;
    }
    f->held = 1;
    f->len = (size_t)size;
    return 0;
}

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
    int rc = 0;
    if (ckfs_node_is_dir(t.n) || t.n.kind == CKFS_K_LINK) {
        /* a link (`latest`, by_name/): the kernel follows it, never opens it */
        fuse_reply_err(req, ckfs_node_is_dir(t.n) ? EISDIR : ELOOP);
        put(fs, &t);
        return;
    }
    ckfs_view *v = t.v;
    ckfs_node n = t.n;
    ckfs_file *f = calloc(1, sizeof(*f));
    if (!f) {
        fuse_reply_err(req, ENOMEM);
        put(fs, &t);
        return;
    }
    /* From here on the file holds t: file_free puts it. */
    pthread_mutex_init(&f->mu, NULL);
    f->refs = 1;
    f->fs = fs;
    atomic_fetch_add(&fs->open_files, 1);
    f->v = v;
    f->node = n;
    f->fd = -1;
    ckpt_crc_track_stop(&f->track); /* open_var starts it where it applies */
    if (!v) {
        /* A file of the name space (a folder's checkpoints.tsv): a snapshot of its text
         * now; it changes between opens, so the kernel keeps no pages and asks for every
         * read. */
        rc = fs->ns->ops->text(fs->ns, &t, &f->owned, &f->len);
        f->data = f->owned;
        fi->direct_io = 1;
    } else if (n.kind == CKFS_K_GEN && n.idx == CKFS_GEN_SAFETENSORS) {
        ckpt_err err;
        ckpt_err_clear(&err);
        int r = ckfs_gen_safetensors(&v->gens, &f->st, &err);
        if (r) {
            ckfs_log(fs, "%s", err.msg);
            rc = r == CKPT_E_NOMEM ? -ENOMEM : r == CKPT_E_UNSUPPORTED ? -EFBIG : -EIO;
        }
    } else if (n.kind == CKFS_K_TFFILE && n.idx == CKFS_TF_STATE) {
        f->data = CKFS_TF_STATE_TEXT;
        f->len = sizeof CKFS_TF_STATE_TEXT - 1;
    } else if (n.kind == CKFS_K_TFFILE) {
        /* the index lives in the view as long as it is open (this file holds it open) */
        ckpt_err err;
        ckpt_err_clear(&err);
        const ckpt_v2_plan *p;
        rc = ckfs_view_tf(v, &p, &err);
        if (rc) {
            ckfs_log(fs, "%s", err.msg);
        } else if (n.idx == CKFS_TF_INDEX) {
            f->data = (const char *)p->index;
            f->len = p->index_len;
        } else {
            f->tf = p;
        }
    } else if (n.kind == CKFS_K_GEN) {
        ckpt_err err;
        ckpt_err_clear(&err);
        uint64_t size;
        ckfs_content c;
        int r = ckfs_gen_acquire(&v->gens, (int)n.idx, &c, &size, &err);
        if (r) {
            if (err.msg[0])
                ckfs_log(fs, "%s", err.msg);
            rc = r == CKPT_E_NOMEM ? -ENOMEM : -EIO;
        } else {
            f->held = 1;
            f->data = c.data;
            f->fd = c.data ? -1 : c.fd;
            f->len = (size_t)size;
        }
    } else {
        rc = open_var(fs, f);
    }
    if (rc) {
        file_free(f);
        fuse_reply_err(req, -rc);
        return;
    }
    fi->fh = (uint64_t)(uintptr_t)f;
    fi->keep_cache = v != NULL;
    fi->noflush = 1;
    /* Listed before the reply: its RELEASE may come at once, on another thread. */
    file_list(f);
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
        log_var_error(fs, v, i, "read", &err);
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
 * Keep a sequential reader's next bytes coming (f->mu held). Reads come 128 KiB at a time;
 * from a cold disk each would wait for its own I/O, so the bytes PREFETCH ahead of the
 * checksummed front are asked for in the background, once per half window. From the page
 * cache this is one cheap call per 4 MiB. Reads far from the front (a reader that skips
 * around) ask for nothing.
 */
#define PREFETCH (8u << 20)
static void prefetch_ahead(ckfs_file *f, uint64_t off, size_t size)
{
    if (ckpt_crc_track_ended(&f->track) || off > f->track.pos + 2 * PREFETCH ||
        f->ahead >= off + size + PREFETCH / 2)
        return;
    uint64_t from = f->ahead > off + size ? f->ahead : off + size;
    ckpt_prefetch(f->v->c, f->node.idx, from, PREFETCH);
    f->ahead = from + PREFETCH;
}

static void prefetch(ckfs_file *f, uint64_t off, size_t size)
{
    pthread_mutex_lock(&f->mu);
    prefetch_ahead(f, off, size);
    pthread_mutex_unlock(&f->mu);
}

/*
 * verify=sequential: read, then add the piece's CRC (computed outside the lock) to the
 * file's tracker, which joins pieces in whatever order the kernel's parallel read-ahead
 * finishes them and compares the whole with the stored CRC when the last gap fills. The read
 * that completes a damaged tensor fails; the tensor is then marked corrupt (read_var).
 */
static int track_piece(ckfs_file *f, const void *data, size_t n, uint64_t off, ckpt_err *err)
{
    pthread_mutex_lock(&f->mu);
    int tracking = !ckpt_crc_track_ended(&f->track);
    pthread_mutex_unlock(&f->mu);
    if (!tracking || !n)
        return 0;
    uint32_t crc = ckpt_crc32c(data, n);
    pthread_mutex_lock(&f->mu);
    enum ckpt_crc_track_result r = ckpt_crc_track_add(&f->track, off, n, crc);
    pthread_mutex_unlock(&f->mu);
    return r == CKPT_TRACK_MISMATCH ? ckpt_track_mismatch(f->v->c, f->node.idx, &f->track, err) : 0;
}

static int read_tracked(ckfs_file *f, char *buf, size_t size, uint64_t off, size_t *got,
                        ckpt_err *err)
{
    int rc = ckpt_read(f->v->c, f->node.idx, buf, size, off, got, NULL, err);
    return rc ? rc : track_piece(f, buf, *got, off, err);
}

/*
 * A read the file's stream serves (stream.h): checked as read_tracked does, answered from the
 * stream's buffer. 1 when answered (or failed: the reply is sent), 0 when the read is not the
 * stream's (read it directly).
 */
static int read_streamed(fuse_req_t req, ckfs *fs, ckfs_file *f, size_t size, uint64_t off)
{
    ckpt_err err;
    ckpt_err_clear(&err);
    const uint8_t *data;
    int slot;
    int r = ckfs_stream_get(f->stream, off, size, &data, &slot, &err);
    if (r == 0)
        return 0;
    int rc = r < 0 ? (err.code ? err.code : CKPT_E_IO) : 0;
    if (r > 0 && fs->opts.verify == CKFS_VERIFY_SEQUENTIAL)
        rc = track_piece(f, data, size, off, &err);
    if (r > 0 && rc == 0)
        fuse_reply_buf(req, (const char *)data, size);
    if (r > 0)
        ckfs_stream_release(f->stream, slot);
    if (r > 0 && rc == 0)
        ckfs_stream_ahead(f->stream); /* the reply is sent: read on while the kernel copies */
    if (rc) {
        if (rc == CKPT_E_CORRUPT)
            atomic_store_explicit(&f->v->corrupt[f->node.idx], 1, memory_order_relaxed);
        log_var_error(fs, f->v, f->node.idx, "read", &err);
        fuse_reply_err(req, rc == CKPT_E_NOMEM ? ENOMEM : EIO);
    }
    return 1;
}

/*
 * Bytes [off, off + size) of variable f's stored bytes into buf + pre (after pre bytes the
 * caller already put there), then reply. With verify=sequential reads are checked as
 * read_tracked says, a partitioned variable's slices by ckpt_read at the first read from its
 * start (with the per-open running state, under the lock). verify=open checked the whole
 * tensor at open and verify=off checks nothing.
 */
static void read_var(fuse_req_t req, ckfs *fs, ckfs_file *f, const ckpt_var *var, char *buf,
                     size_t pre, size_t size, uint64_t off)
{
    ckfs_view *v = f->v;
    ckpt_err err;
    ckpt_err_clear(&err);
    size_t got = 0;
    int rc = 0;
    if (!size) {
        /* nothing to read */
    } else if (fs->opts.verify != CKFS_VERIFY_SEQUENTIAL) {
        rc = ckpt_read(v->c, f->node.idx, buf + pre, size, off, &got, NULL, &err);
    } else if (!(var->flags & CKPT_VAR_PARTITIONED)) {
        prefetch(f, off, size);
        rc = read_tracked(f, buf + pre, size, off, &got, &err);
    } else {
        pthread_mutex_lock(&f->mu);
        rc = ckpt_read(v->c, f->node.idx, buf + pre, size, off, &got,
                       off == f->crc.pos ? &f->crc : NULL, &err);
        pthread_mutex_unlock(&f->mu);
    }
    if (rc) {
        if (rc == CKPT_E_CORRUPT)
            atomic_store_explicit(&v->corrupt[f->node.idx], 1, memory_order_relaxed);
        log_var_error(fs, v, f->node.idx, "read", &err);
        fuse_reply_err(req, rc == CKPT_E_NOMEM ? ENOMEM : EIO);
    } else {
        fuse_reply_buf(req, buf, pre + got);
    }
}

/*
 * model.safetensors: the header from memory, the tensors under the range from their shards.
 * A tensor read in order from its start is checked against its stored CRC-32C (unless
 * verify=off); reads of one open file take turns, so that the checksum sees them in order.
 */
static void read_st(fuse_req_t req, ckfs *fs, ckfs_file *f, size_t size, off_t off)
{
    char *buf = malloc(size ? size : 1);
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    ckpt_err err;
    ckpt_err_clear(&err);
    size_t got = 0;
    pthread_mutex_lock(&f->mu);
    int rc = ckpt_st_read(f->v->c, f->st, fs->opts.verify == CKFS_VERIFY_OFF ? NULL : &f->stcur,
                          buf, size, (uint64_t)off, &got, &err);
    pthread_mutex_unlock(&f->mu);
    if (rc) {
        ckfs_log(fs, "read of %s%s%s failed: %s", ckfs_gen_names[CKFS_GEN_SAFETENSORS],
                 f->v->name ? " of " : "", f->v->name ? f->v->name : "", err.msg);
        fuse_reply_err(req, rc == CKPT_E_NOMEM ? ENOMEM : EIO);
    } else {
        fuse_reply_buf(req, buf, got);
    }
    free(buf);
}

/* tf/'s data file: the tensors under the range, from their shards or the view's memory. */
static void read_tf(fuse_req_t req, ckfs *fs, ckfs_file *f, size_t size, off_t off)
{
    char *buf = malloc(size ? size : 1);
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    ckpt_err err;
    ckpt_err_clear(&err);
    size_t got = 0;
    int rc = ckpt_v2_plan_read(f->v->c, f->tf, buf, size, (uint64_t)off, &got, &err);
    if (rc) {
        ckfs_log(fs, "read of tf/model.data-00000-of-00001%s%s failed: %s",
                 f->v->name ? " of " : "", f->v->name ? f->v->name : "", err.msg);
        fuse_reply_err(req, rc == CKPT_E_NOMEM ? ENOMEM : EIO);
    } else {
        fuse_reply_buf(req, buf, got);
    }
    free(buf);
}

static void do_read(fuse_req_t req, ckfs_file *f, size_t size, off_t off)
{
    ckfs *fs = ctx(req);
    ckfs_view *v = f->v;
    if (f->st) {
        read_st(req, fs, f, size, off);
        return;
    }
    if (f->tf) {
        read_tf(req, fs, f, size, off);
        return;
    }
    if (f->fd >= 0) {
        read_fd(req, f->fd, f->len, size, off);
        return;
    }
    if (f->data || !v || (f->node.kind != CKFS_K_DATA && f->node.kind != CKFS_K_NPY)) {
        reply_slice(req, f->data, f->len, size, off);
        return;
    }
    /* Known-bad bytes are never served again, not even the parts that passed through. */
    if (atomic_load_explicit(&v->corrupt[f->node.idx], memory_order_relaxed)) {
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
    if (f->stream && pre == 0) {
        if (fs->opts.verify == CKFS_VERIFY_SEQUENTIAL)
            prefetch(f, doff, size);
        if (read_streamed(req, fs, f, size, doff))
            return;
    }
    char *buf = malloc(size ? size : 1);
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    if (pre)
        memcpy(buf, f->owned + off, pre);
    read_var(req, fs, f, &var, buf, pre, size - pre, doff);
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

void ckfs_files_close_all(ckfs *fs)
{
    for (;;) {
        pthread_mutex_lock(&fs->files_mu);
        ckfs_file *f = fs->files;
        pthread_mutex_unlock(&fs->files_mu);
        if (!f)
            return;
        file_free(f);
    }
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
