/*
 * read.c - the read pipeline (see read.h): where an open file's bytes come from, how they are
 * checked, and how the reply carries them.
 */
#include "read.h"

#include "crc32c.h"
#include "gen.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
        ckfs_file_log_var_error(fs, v, i, "read", &err);
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

/* Answer a read of variable f that failed with rc (err): a checksum mismatch marks the
 * variable corrupt, so that no read serves it again. */
static void fail_read(fuse_req_t req, ckfs *fs, ckfs_file *f, int rc, const ckpt_err *err)
{
    if (rc == CKPT_E_CORRUPT)
        atomic_store_explicit(&f->v->corrupt[f->node.idx], 1, memory_order_relaxed);
    ckfs_file_log_var_error(fs, f->v, f->node.idx, "read", err);
    fuse_reply_err(req, rc == CKPT_E_NOMEM ? ENOMEM : EIO);
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
    if (rc)
        fail_read(req, fs, f, rc, &err);
    return 1;
}

/*
 * A read answered in place from its data file's cache (ckpt_read_borrow: a remote or cached
 * shard), checked as read_tracked does, with no copy into a buffer of ours. 1 when answered
 * (or failed: the reply is sent), 0 when the bytes cannot be lent (read them into a buffer).
 */
static int read_lent(fuse_req_t req, ckfs *fs, ckfs_file *f, size_t size, uint64_t off)
{
    ckpt_err err;
    ckpt_err_clear(&err);
    struct iovec iov[4];
    int niov;
    size_t got;
    int rc = ckpt_read_borrow(f->v->c, f->node.idx, off, size, iov, 4, &niov, &got, &err);
    if (rc == CKPT_E_UNSUPPORTED)
        return 0;
    uint64_t at = off;
    for (int k = 0; rc == 0 && k < niov && fs->opts.verify == CKFS_VERIFY_SEQUENTIAL; k++) {
        rc = track_piece(f, iov[k].iov_base, iov[k].iov_len, at, &err);
        at += iov[k].iov_len;
    }
    if (rc == 0)
        fuse_reply_iov(req, iov, niov);
    ckpt_read_release(f->v->c, f->node.idx, off, got);
    if (rc)
        fail_read(req, fs, f, rc, &err);
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
        ckfs_file_log_var_error(fs, v, f->node.idx, "read", &err);
        fuse_reply_err(req, rc == CKPT_E_NOMEM ? ENOMEM : EIO);
    } else {
        fuse_reply_buf(req, buf, pre + got);
    }
}

/*
 * A file laid out over several tensors: model.safetensors (the header from memory, the tensors
 * under the range from their shards) or tf/'s data file (the tensors under the range, from
 * their shards or the view's memory). A safetensors tensor read in order from its start is
 * checked against its stored CRC-32C (unless verify=off); reads of one open file take turns,
 * so that the checksum sees them in order.
 */
static void read_layout(fuse_req_t req, ckfs *fs, ckfs_file *f, size_t size, off_t off)
{
    char *buf = malloc(size ? size : 1);
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    ckpt_err err;
    ckpt_err_clear(&err);
    size_t got = 0;
    int rc;
    const char *what;
    if (f->st) {
        pthread_mutex_lock(&f->mu);
        rc = ckpt_st_read(f->v->c, f->st, fs->opts.verify == CKFS_VERIFY_OFF ? NULL : &f->stcur,
                          buf, size, (uint64_t)off, &got, &err);
        pthread_mutex_unlock(&f->mu);
        what = ckfs_gen_names[CKFS_GEN_SAFETENSORS];
    } else {
        rc = ckpt_v2_plan_read(f->v->c, f->tf, buf, size, (uint64_t)off, &got, &err);
        what = "tf/model.data-00000-of-00001";
    }
    if (rc) {
        ckfs_log(fs, "read of %s%s%s failed: %s", what, f->v->name ? " of " : "",
                 f->v->name ? f->v->name : "", err.msg);
        fuse_reply_err(req, rc == CKPT_E_NOMEM ? ENOMEM : EIO);
    } else {
        fuse_reply_buf(req, buf, got);
    }
    free(buf);
}

void ckfs_read(fuse_req_t req, ckfs *fs, ckfs_file *f, size_t size, off_t off)
{
    ckfs_view *v = f->v;
    if (f->st || f->tf) {
        read_layout(req, fs, f, size, off);
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
    if (pre == 0 && size && read_lent(req, fs, f, size, doff))
        return;
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
