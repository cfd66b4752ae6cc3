/*
 * file.c - open files (see file.h): what OPEN computes for each kind of file, and the
 * references and list that keep an open file alive until its last user is done.
 */
#include "file.h"

#include "gen.h"
#include "npy.h"
#include "render.h"
#include "textlru.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

void ckfs_file_list(ckfs_file *f)
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

static void unlist(ckfs_file *f)
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

void ckfs_file_free(ckfs_file *f)
{
    unlist(f);
    if (f->held && f->node.kind == CKFS_K_GEN) {
        if (ckfs_gen_release(&f->v->gens, (int)f->node.idx))
            ckfs_textlru_park(&f->fs->texts, f->v, (int)f->node.idx);
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
    ckfs_target t = {f->v, f->node};
    f->fs->ns->ops->put(f->fs->ns, &t);
    free(f);
}

void ckfs_file_put(ckfs_file *f)
{
    if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) == 0)
        ckfs_file_free(f);
}

void ckfs_file_log_var_error(ckfs *fs, ckfs_view *v, uint32_t i, const char *what,
                             const ckpt_err *err)
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
    ckfs_file_log_var_error(fs, f->v, f->node.idx, "open", &err);
    return r == CKPT_E_NOMEM ? -ENOMEM : -EIO;
}

/* At most this many open files stream (ckfs.streams). */
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

/* The content of a generated root file (gen.h): model.safetensors' layout, or a text (held).
 * 0 or -errno. */
static int open_gen(ckfs *fs, ckfs_file *f)
{
    ckfs_gens *gens = &f->v->gens;
    ckpt_err err;
    ckpt_err_clear(&err);
    if (f->node.idx == CKFS_GEN_SAFETENSORS) {
        int r = ckfs_gen_safetensors(gens, &f->st, &err);
        if (r)
            ckfs_log(fs, "%s", err.msg);
        return r == 0 ? 0 : r == CKPT_E_NOMEM ? -ENOMEM : r == CKPT_E_UNSUPPORTED ? -EFBIG : -EIO;
    }
    uint64_t size;
    ckfs_content c;
    int r = ckfs_gen_acquire(gens, (int)f->node.idx, &c, &size, &err);
    if (r) {
        if (err.msg[0])
            ckfs_log(fs, "%s", err.msg);
        return r == CKPT_E_NOMEM ? -ENOMEM : -EIO;
    }
    f->held = 1;
    f->data = c.data;
    f->fd = c.data ? -1 : c.fd;
    f->len = (size_t)size;
    return 0;
}

/* The content of a file of tf/: the state file's text, the index from the view's bundle, or
 * the data file read through that bundle. 0 or -errno. */
static int open_tf(ckfs *fs, ckfs_file *f)
{
    if (f->node.idx == CKFS_TF_STATE) {
        f->data = CKFS_TF_STATE_TEXT;
        f->len = sizeof CKFS_TF_STATE_TEXT - 1;
        return 0;
    }
    /* the index lives in the view as long as it is open (this file holds it open) */
    ckpt_err err;
    ckpt_err_clear(&err);
    const ckpt_v2_plan *p;
    int rc = ckfs_view_tf(f->v, &p, &err);
    if (rc) {
        ckfs_log(fs, "%s", err.msg);
    } else if (f->node.idx == CKFS_TF_INDEX) {
        f->data = (const char *)p->index;
        f->len = p->index_len;
    } else {
        f->tf = p;
    }
    return rc;
}

int ckfs_file_open(ckfs *fs, const ckfs_target *t, ckfs_file **out)
{
    ckfs_file *f = calloc(1, sizeof(*f));
    if (!f) {
        fs->ns->ops->put(fs->ns, t);
        return -ENOMEM;
    }
    /* From here on the file holds t: ckfs_file_free puts it. */
    pthread_mutex_init(&f->mu, NULL);
    f->refs = 1;
    f->fs = fs;
    atomic_fetch_add(&fs->open_files, 1);
    f->v = t->v;
    f->node = t->n;
    f->fd = -1;
    ckpt_crc_track_stop(&f->track); /* open_var starts it where it applies */
    int rc;
    if (!f->v) {
        /* A file of the name space (a folder's checkpoints.tsv): a snapshot of its text now. */
        rc = fs->ns->ops->text(fs->ns, t, &f->owned, &f->len);
        f->data = f->owned;
    } else if (f->node.kind == CKFS_K_GEN) {
        rc = open_gen(fs, f);
    } else if (f->node.kind == CKFS_K_TFFILE) {
        rc = open_tf(fs, f);
    } else {
        rc = open_var(fs, f);
    }
    if (rc) {
        ckfs_file_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

void ckfs_files_close_all(ckfs *fs)
{
    for (;;) {
        pthread_mutex_lock(&fs->files_mu);
        ckfs_file *f = fs->files;
        pthread_mutex_unlock(&fs->files_mu);
        if (!f)
            return;
        ckfs_file_free(f);
    }
}
