/*
 * ll.c - the FUSE low-level operations (see ll.h).
 *
 * Every reply is computed from the tree and the index; only opening a string tensor and
 * reading a variable's bytes touch a data shard. Inodes never go away, so forget is a no-op
 * and every timeout is long: the kernel's dentry, attribute and page caches do the rest.
 */
#include "ll.h"

#include "dtype.h"
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

const char *const ckfs_gen_names[] = {"variables.tsv"};
const int ckfs_ngen = 1;

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

static ckfs *ctx(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

/* One open file. Text content (sidecars, generated files, string tensors) is held in data. */
typedef struct ckfs_file {
    ckfs_node node;
    pthread_mutex_t mu;     /* guards crc */
    ckpt_crc_state crc;
    const char *data;
    size_t len;
    char *owned;            /* data when it belongs to this file alone */
    ckfs_lazy *shared;      /* data when it is a lazy entry (one reference held) */
} ckfs_file;

/* --- lazily rendered content ------------------------------------------------------------- */

static int render_gen(ckfs *fs, uint32_t g, ckfs_buf *b)
{
    (void)g; /* only variables.tsv for now */
    return ckfs_render_tsv(fs->c, b);
}

/* Size of a generated file, rendering it on first use (it is kept: it is index data only). */
static int gen_size(ckfs *fs, uint32_t g, uint64_t *size)
{
    ckfs_lazy *L = &fs->gens[g];
    pthread_mutex_lock(&fs->mu);
    if (L->state == 0) {
        ckfs_buf b = {0};
        if (render_gen(fs, g, &b) == 0) {
            L->data = b.data;
            L->size = b.len;
            L->state = 1;
        } else {
            ckfs_buf_free(&b);
            L->state = -1;
        }
    }
    int ok = L->state == 1;
    *size = L->size;
    pthread_mutex_unlock(&fs->mu);
    return ok ? 0 : -EIO;
}

/* Take a reference to string variable i's text form, rendering it if nobody holds it. */
static int strs_acquire(ckfs *fs, uint32_t i, ckfs_lazy **out)
{
    ckfs_lazy *L = &fs->strs[i];
    int rc = 0;
    pthread_mutex_lock(&fs->mu);
    if (!L->data) {
        ckfs_buf b = {0};
        ckpt_err err;
        ckpt_err_clear(&err);
        int r = ckfs_render_strings(fs->c, i, &b, &err);
        if (r) {
            ckfs_buf_free(&b);
            ckfs_log(fs, "%s", err.msg);
            rc = r == CKPT_E_NOMEM ? -ENOMEM : -EIO;
        } else {
            /* An empty text still needs a non-NULL pointer to count as held. */
            L->data = b.data ? b.data : calloc(1, 1);
            if (!L->data)
                rc = -ENOMEM;
            L->size = b.len;
            L->state = 1;
        }
    }
    if (rc == 0) {
        L->refs++;
        *out = L;
    }
    pthread_mutex_unlock(&fs->mu);
    return rc;
}

static void strs_release(ckfs *fs, ckfs_lazy *L)
{
    pthread_mutex_lock(&fs->mu);
    if (--L->refs == 0) {
        /* Keep the size (stat must stay right), drop the text. */
        free(L->data);
        L->data = NULL;
    }
    pthread_mutex_unlock(&fs->mu);
}

/* --- attributes ------------------------------------------------------------------------- */

/* Size of a sidecar's text. */
static uint64_t sidecar_size(const ckpt_var *v, int kind)
{
    char buf[64];
    return kind == CKFS_K_SHAPE ? ckfs_render_shape(v, buf, sizeof buf)
                                : ckfs_render_dtype(v, buf, sizeof buf);
}

/*
 * Fill st for node n. *attr_timeout is TIMEOUT, or 0 for a string tensor whose text size is
 * not known yet (its size shows as 0 until the first open renders it, like a /proc file).
 */
static int node_stat(ckfs *fs, ckfs_node n, struct stat *st, double *attr_timeout)
{
    memset(st, 0, sizeof(*st));
    st->st_ino = ckfs_tree_ino(fs->tree, n);
    st->st_uid = fs->uid;
    st->st_gid = fs->gid;
    st->st_atim = st->st_mtim = st->st_ctim = fs->mtime;
    st->st_blksize = BLKSIZE;
    st->st_nlink = 1;
    st->st_mode = S_IFREG | fs->fmode;
    *attr_timeout = TIMEOUT;

    if (n.kind == CKFS_K_DIR) {
        st->st_mode = S_IFDIR | fs->dmode;
        st->st_nlink = 2 + ckfs_tree_subdirs(fs->tree, n.idx);
        st->st_size = 4096;
    } else if (n.kind == CKFS_K_GEN) {
        uint64_t size;
        int rc = gen_size(fs, n.idx, &size);
        if (rc)
            return rc;
        st->st_size = (off_t)size;
    } else {
        if (n.idx >= ckpt_count(fs->c))
            return -ENOENT;
        ckpt_var v;
        ckpt_get(fs->c, n.idx, &v);
        if (n.kind == CKFS_K_DATA) {
            if (ckfs_is_text_var(&v)) {
                pthread_mutex_lock(&fs->mu);
                ckfs_lazy *L = &fs->strs[n.idx];
                if (L->state == 1)
                    st->st_size = (off_t)L->size;
                else
                    *attr_timeout = 0;
                pthread_mutex_unlock(&fs->mu);
            } else {
                st->st_size = (off_t)v.nbytes;
            }
        } else if (n.kind == CKFS_K_SHAPE || n.kind == CKFS_K_DTYPE) {
            st->st_size = (off_t)sidecar_size(&v, n.kind);
        } else {
            return -ENOENT; /* .npy: issue 5 */
        }
    }
    st->st_blocks = (st->st_size + 511) / 512;
    return 0;
}

static void fill_entry(ckfs *fs, ckfs_node n, struct fuse_entry_param *e, int *err)
{
    memset(e, 0, sizeof(*e));
    double at;
    *err = node_stat(fs, n, &e->attr, &at);
    e->ino = e->attr.st_ino;
    e->attr_timeout = at;
    e->entry_timeout = TIMEOUT;
}

/* --- name space ------------------------------------------------------------------------- */

/* The directory index of inode ino, or -1 (with *err) if it is not a directory. */
static int dir_of(ckfs *fs, fuse_ino_t ino, uint32_t *dir)
{
    ckfs_node n;
    if (ckfs_tree_node(fs->tree, ino, &n))
        return -ENOENT;
    if (n.kind != CKFS_K_DIR)
        return -ENOTDIR;
    *dir = n.idx;
    return 0;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    ckfs *fs = ctx(req);
    uint32_t dir;
    int rc = dir_of(fs, parent, &dir);
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    ckfs_node n;
    if (ckfs_tree_lookup(fs->tree, dir, name, &n)) {
        /* A negative entry: cache it too, nothing will ever appear. */
        struct fuse_entry_param e;
        memset(&e, 0, sizeof e);
        e.entry_timeout = TIMEOUT;
        fuse_reply_entry(req, &e);
        return;
    }
    struct fuse_entry_param e;
    fill_entry(fs, n, &e, &rc);
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
    ckfs_node n;
    if (ckfs_tree_node(fs->tree, ino, &n)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    struct stat st;
    double at;
    int rc = node_stat(fs, n, &st, &at);
    if (rc)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, at);
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
    uint32_t dir;
    int rc = dir_of(fs, ino, &dir);
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    fi->fh = dir;
    fi->cache_readdir = 1; /* listings never change: let the kernel keep them */
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi, int plus)
{
    ckfs *fs = ctx(req);
    (void)fi;
    uint32_t dir;
    int rc = dir_of(fs, ino, &dir);
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    uint32_t count = ckfs_tree_dir_size(fs->tree, dir);
    char *buf = malloc(size);
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    size_t used = 0;
    char name[CKFS_ENTRY_NAME_MAX + 1];
    /* Offsets: 0 ".", 1 "..", 2 + k entry k; each entry carries the offset of the next. */
    for (off_t pos = off < 0 ? 0 : off; (uint64_t)pos < 2u + count; pos++) {
        ckfs_node n;
        if (pos == 0) {
            n = (ckfs_node){CKFS_K_DIR, dir};
            strcpy(name, ".");
        } else if (pos == 1) {
            n = (ckfs_node){CKFS_K_DIR, ckfs_tree_parent(fs->tree, dir)};
            strcpy(name, "..");
        } else {
            ckfs_tree_dir_entry(fs->tree, dir, (uint32_t)(pos - 2), &n, name);
        }
        size_t need;
        if (plus) {
            struct fuse_entry_param e;
            int rc;
            fill_entry(fs, n, &e, &rc);
            if (rc) {
                /* Still list the name; its attributes come from a later lookup. */
                memset(&e, 0, sizeof e);
            }
            need = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, pos + 1);
        } else {
            struct stat st;
            memset(&st, 0, sizeof st);
            st.st_ino = ckfs_tree_ino(fs->tree, n);
            st.st_mode = n.kind == CKFS_K_DIR ? S_IFDIR : S_IFREG;
            need = fuse_add_direntry(req, buf + used, size - used, name, &st, pos + 1);
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

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    ckfs *fs = ctx(req);
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
        fuse_reply_err(req, EROFS);
        return;
    }
    ckfs_node n;
    if (ckfs_tree_node(fs->tree, ino, &n)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (n.kind == CKFS_K_DIR) {
        fuse_reply_err(req, EISDIR);
        return;
    }
    ckfs_file *f = calloc(1, sizeof(*f));
    if (!f) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    pthread_mutex_init(&f->mu, NULL);
    f->node = n;
    int rc = 0;
    if (n.kind == CKFS_K_GEN) {
        uint64_t size;
        rc = gen_size(fs, n.idx, &size);
        if (rc == 0) {
            f->data = fs->gens[n.idx].data; /* kept for the mount's life */
            f->len = size;
        }
    } else if (n.kind == CKFS_K_NPY) {
        rc = -ENOENT;
    } else {
        ckpt_var v;
        ckpt_get(fs->c, n.idx, &v);
        if (n.kind == CKFS_K_SHAPE || n.kind == CKFS_K_DTYPE) {
            size_t need = sidecar_size(&v, n.kind) + 1;
            f->owned = malloc(need);
            if (!f->owned) {
                rc = -ENOMEM;
            } else {
                f->len = n.kind == CKFS_K_SHAPE ? ckfs_render_shape(&v, f->owned, need)
                                                : ckfs_render_dtype(&v, f->owned, need);
                f->data = f->owned;
            }
        } else if (ckfs_is_text_var(&v)) {
            rc = strs_acquire(fs, n.idx, &f->shared);
            if (rc == 0) {
                f->data = f->shared->data;
                f->len = f->shared->size;
            }
        }
    }
    if (rc) {
        pthread_mutex_destroy(&f->mu);
        free(f->owned);
        free(f);
        fuse_reply_err(req, -rc);
        return;
    }
    fi->fh = (uint64_t)(uintptr_t)f;
    fi->keep_cache = 1;
    fi->noflush = 1;
    if (fuse_reply_open(req, fi) == -ENOENT) {
        /* The opener was interrupted: nobody will release this. */
        if (f->shared)
            strs_release(fs, f->shared);
        pthread_mutex_destroy(&f->mu);
        free(f->owned);
        free(f);
    }
}

static void reply_slice(fuse_req_t req, const char *data, size_t len, size_t size, off_t off)
{
    if ((uint64_t)off >= len)
        fuse_reply_buf(req, NULL, 0);
    else
        fuse_reply_buf(req, data + off, len - (size_t)off < size ? len - (size_t)off : size);
}

/* Name of variable i for log lines. */
static void log_read_error(ckfs *fs, uint32_t i, const ckpt_err *err)
{
    ckpt_var v;
    ckpt_get(fs->c, i, &v);
    ckfs_log(fs, "read of variable '%.*s' failed: %s", (int)(v.name_len > 300 ? 300 : v.name_len),
             v.name, err->msg);
}

static void read_splice(fuse_req_t req, ckfs *fs, const ckpt_var *v, size_t size, off_t off)
{
    int fd = v->shard >= 0 && v->shard < fs->nshards ? fs->shard_fds[v->shard] : -1;
    if (fd < 0 || (v->flags & (CKPT_VAR_SHARD_MISSING | CKPT_VAR_PARTITIONED))) {
        fuse_reply_err(req, EIO);
        return;
    }
    struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);
    bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
    bv.buf[0].fd = fd;
    bv.buf[0].pos = (off_t)(v->offset + (uint64_t)off);
    fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    (void)ino;
    ckfs *fs = ctx(req);
    ckfs_file *f = (ckfs_file *)(uintptr_t)fi->fh;
    if (f->data || f->node.kind != CKFS_K_DATA) {
        reply_slice(req, f->data, f->len, size, off);
        return;
    }
    /* Known-bad bytes are never served again, not even the parts that passed through. */
    if (__atomic_load_n(&fs->corrupt[f->node.idx], __ATOMIC_RELAXED)) {
        fuse_reply_err(req, EIO);
        return;
    }
    ckpt_var v;
    ckpt_get(fs->c, f->node.idx, &v);
    if ((uint64_t)off >= v.nbytes) {
        fuse_reply_buf(req, NULL, 0);
        return;
    }
    if (v.nbytes - (uint64_t)off < size)
        size = (size_t)(v.nbytes - (uint64_t)off);
    if (fs->opts.splice) {
        read_splice(req, fs, &v, size, off);
        return;
    }
    char *buf = malloc(size ? size : 1);
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    ckpt_err err;
    ckpt_err_clear(&err);
    size_t got = 0;
    int rc;
    /* Only the read that continues the sequence extends the checksum; others go around it. */
    pthread_mutex_lock(&f->mu);
    if ((uint64_t)off == f->crc.pos) {
        rc = ckpt_read(fs->c, f->node.idx, buf, size, (uint64_t)off, &got, &f->crc, &err);
        pthread_mutex_unlock(&f->mu);
    } else {
        pthread_mutex_unlock(&f->mu);
        rc = ckpt_read(fs->c, f->node.idx, buf, size, (uint64_t)off, &got, NULL, &err);
    }
    if (rc) {
        if (rc == CKPT_E_CORRUPT)
            __atomic_store_n(&fs->corrupt[f->node.idx], 1, __ATOMIC_RELAXED);
        log_read_error(fs, f->node.idx, &err);
        fuse_reply_err(req, rc == CKPT_E_NOMEM ? ENOMEM : EIO);
    } else {
        fuse_reply_buf(req, buf, got);
    }
    free(buf);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    ckfs *fs = ctx(req);
    ckfs_file *f = (ckfs_file *)(uintptr_t)fi->fh;
    if (f) {
        if (f->shared)
            strs_release(fs, f->shared);
        pthread_mutex_destroy(&f->mu);
        free(f->owned);
        free(f);
    }
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
    sv.f_blocks = (ckfs_tree_total_bytes(fs->tree) + 4095) / 4096;
    sv.f_files = ckfs_tree_nnames(fs->tree) + 1;
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

/*
 * Value of xattr name on node n into *val (small values in buf, the name points into the
 * checkpoint). Returns 0, or -ENODATA.
 */
static int xattr_value(ckfs *fs, ckfs_node n, const char *name, char *buf, size_t bufsize,
                       const char **val, size_t *len)
{
    if (strncmp(name, "user.ckpt.", 10) != 0)
        return -ENODATA;
    const char *key = name + 10;
    int w = -1;
    if (n.kind == CKFS_K_DIR && n.idx == 0) {
        if (!strcmp(key, "prefix")) {
            *val = ckpt_prefix(fs->c);
            *len = strlen(*val);
            return 0;
        }
        if (!strcmp(key, "data_reads"))
            w = snprintf(buf, bufsize, "%" PRIu64, ckpt_data_reads(fs->c));
        else if (!strcmp(key, "data_bytes"))
            w = snprintf(buf, bufsize, "%" PRIu64, ckpt_data_bytes(fs->c));
        else if (!strcmp(key, "shards"))
            w = snprintf(buf, bufsize, "%d", ckpt_num_shards(fs->c));
    } else if (n.kind >= CKFS_K_DATA && n.kind <= CKFS_K_NPY) {
        ckpt_var v;
        ckpt_get(fs->c, n.idx, &v);
        char dt[32];
        if (!strcmp(key, "name")) {
            *val = v.name;
            *len = v.name_len;
            return 0;
        }
        if (!strcmp(key, "dtype"))
            w = snprintf(buf, bufsize, "%s", ckpt_dtype_name(v.dtype, dt, sizeof dt));
        else if (!strcmp(key, "shape")) {
            size_t need = ckpt_shape_format(v.rank, v.dims, buf, bufsize);
            w = need < bufsize ? (int)need : -1;
        } else if (!strcmp(key, "nbytes"))
            w = snprintf(buf, bufsize, "%" PRIu64, v.nbytes);
        else if (!strcmp(key, "shard") && !(v.flags & CKPT_VAR_PARTITIONED))
            w = snprintf(buf, bufsize, "%" PRId32, v.shard);
        else if (!strcmp(key, "offset") && !(v.flags & CKPT_VAR_PARTITIONED))
            w = snprintf(buf, bufsize, "%" PRIu64, v.offset);
        else if (!strcmp(key, "crc32c") && (v.flags & CKPT_VAR_HAS_CRC))
            w = snprintf(buf, bufsize, "%08x", v.crc32c);
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
    ckfs_node n;
    if (ckfs_tree_node(fs->tree, ino, &n)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    char buf[8192];
    const char *val;
    size_t len;
    int rc = xattr_value(fs, n, name, buf, sizeof buf, &val, &len);
    if (rc)
        fuse_reply_err(req, -rc);
    else
        reply_xattr_value(req, size, val, len);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    ckfs *fs = ctx(req);
    ckfs_node n;
    if (ckfs_tree_node(fs->tree, ino, &n)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    const char *const *names = NULL;
    if (n.kind == CKFS_K_DIR && n.idx == 0)
        names = root_xattrs;
    else if (n.kind >= CKFS_K_DATA && n.kind <= CKFS_K_NPY)
        names = var_xattrs;
    char list[512];
    size_t len = 0;
    char buf[8192];
    for (size_t k = 0; names && names[k]; k++) {
        const char *val;
        size_t vl;
        if (xattr_value(fs, n, names[k], buf, sizeof buf, &val, &vl))
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
