/*
 * view.c - one checkpoint of a mount (see view.h).
 */
#include "view.h"

#include "gen.h"
#include "nameglob.h"
#include "npy.h"
#include "bytesrc_local.h"
#include "resolve.h"
#include "resolve_local.h"
#include "render.h"
#include "statstext.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dup_or_null(const char *s, int *bad)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *bad = 1;
    return d;
}

void ckfs_perms_from(const struct stat *st, const ckfs_opts *o, ckfs_perms *out)
{
    out->uid = out->fuid = o->have_uid ? o->uid : st->st_uid;
    out->gid = out->fgid = o->have_gid ? o->gid : st->st_gid;
    mode_t r = o->have_umask ? (0444 & ~o->umask) : (st->st_mode & 0444);
    out->fmode = r;
    /* r >> 2 turns each read bit into the search bit of the same class */
    out->dmode = (r | (r >> 2)) & (o->have_umask ? ~o->umask : 0777);
}

int ckfs_view_init(ckfs_view *v, const char *name, const char *display, const char *prefix,
                   const char *sm_path, uint64_t base)
{
    memset(v, 0, sizeof(*v));
    ckfs_once_lock_init(&v->lock);
    int bad = 0;
    v->name = dup_or_null(name, &bad);
    v->display = dup_or_null(display ? display : name, &bad);
    v->prefix = dup_or_null(prefix, &bad);
    v->sm_path = dup_or_null(sm_path, &bad);
    v->base = base;
    return bad ? -1 : 0;
}

/*
 * The read bits a file owned by u:g may show without letting anyone read more than src lets
 * them. Group membership is not known here, so each class gets what the least privileged user
 * it may hold gets from src: the mount's owner, when not src's, may or may not be in src's
 * group; its group may hold src's owner; anyone else may be src's owner or in its group.
 */
static mode_t granted(const struct stat *src, uid_t u, gid_t g)
{
    mode_t su = src->st_mode & 0400, sg = (src->st_mode & 040) << 3,
           so = (src->st_mode & 04) << 6; /* each class's read bit, at 0400 */
    int same_u = src->st_uid == u, same_g = src->st_gid == g;
    mode_t user = same_u ? su : sg & so;
    mode_t group = (same_g ? sg : sg & so) & (same_u ? 0400 : su);
    mode_t other = so & (same_u ? 0400 : su) & (same_g ? 0400 : sg);
    return user | group >> 3 | other >> 6;
}

/*
 * Who owns a view's files and what they may show. With allow_other the kernel checks the
 * mount's owner and modes (default_permissions), not the sources', so a file's owner is that
 * of the data it serves, the first present data shard as opened (after any symlink: the file
 * the daemon reads), and its bits are what the .index, every present shard and the .meta all
 * grant to every user (granted). A shard linked to a file its index's owner may not read thus
 * stays unreadable to them through the mount.
 */
static void source_perms(const ckpt_checkpoint *c, const ckfs_opts *o, ckfs_perms *p)
{
    struct stat st[2];
    int have_shard = 0;
    for (int s = 0; s < ckpt_num_shards(c) && !have_shard; s++) {
        int fd = ckpt_shard_fd(c, s);
        have_shard = fd >= 0 && fstat(fd, &st[0]) == 0;
    }
    if (have_shard && !o->have_uid)
        p->fuid = st[0].st_uid;
    if (have_shard && !o->have_gid)
        p->fgid = st[0].st_gid;
    if (o->have_umask) /* the user's own choice stands */
        return;
    mode_t r = p->fmode & granted(ckpt_index_stat(c), p->fuid, p->fgid);
    for (int s = 0; s < ckpt_num_shards(c); s++) {
        int fd = ckpt_shard_fd(c, s);
        if (fd >= 0 && fstat(fd, &st[1]) == 0)
            r &= granted(&st[1], p->fuid, p->fgid);
    }
    const char *meta = ckpt_meta_path(c);
    if (meta && (ckpt_bytesrc_caps(ckpt_bytesrc_of(c), meta) & CKPT_LOCAL_NAMES) &&
        stat(meta, &st[1]) == 0)
        r &= granted(&st[1], p->fuid, p->fgid);
    p->fmode = r;
}

/* ckfs_view_names for the generated files (gen.h), which cannot see a view. */
static const ckpt_names *view_names(void *v)
{
    return ckfs_view_names(v);
}

int ckfs_view_attach(ckfs_view *v, ckpt_checkpoint *c, const ckfs_opts *o, ckfs_view_warn_fn warn,
                     void *warn_ctx)
{
    v->c = c;
    /* -o include=/exclude= hide variables from everything the view shows, before the tree
     * numbers them. The lists live in o, which outlives the call. */
    ckpt_namefilter nf = {(char *)o->include, (char *)o->exclude, NULL};
    ckpt_err ferr;
    if (ckpt_namefilter_active(&nf) && ckpt_namefilter_apply(&nf, c, &ferr))
        return -1;
    v->filtered = ckpt_namefilter_active(&nf);
    const struct stat *ist = ckpt_index_stat(c);
    ckfs_perms_from(ist, o, &v->perms);
    /* Directories show only names, which come from the index; files also show shard bytes. */
    source_perms(c, o, &v->perms);
    /* Shards on a share are read in 1 MiB requests with read-ahead (-o shard_cache, see
     * checkpoint.h); after source_perms, which needs their descriptors. */
    ckpt_err err;
    if (ckpt_cache_shards(c, (enum ckpt_shard_cache)o->shard_cache,
                          o->cache_size ? o->cache_size : CKPT_NET_CACHE_DEFAULT, &err))
        return -1;
    v->mtime = ist->st_mtim;
    size_t n = ckpt_count(c);
    /* calloc'd pages stay untouched (and unallocated) until a string variable is opened. */
    v->texts = calloc(n ? n : 1, sizeof(*v->texts));
    v->corrupt = calloc(n ? n : 1, 1);
    if (o->verify == CKFS_VERIFY_OPEN && !(v->checked = calloc(n ? n : 1, sizeof *v->checked)))
        return -1;
    ckfs_gens_init(&v->gens, c, v->sm_path, &v->lock);
    v->gens.names = view_names;
    v->gens.names_ctx = v;
    const char *names[CKFS_GEN_MAX] = {0};
    ckfs_gen_slots(c, v->sm_path, names);
    if (!o->stats)
        names[CKFS_GEN_STATS] = NULL;
    if (!v->texts || !v->corrupt)
        return -1;
    /* by_name/'s links come from the object graph, read at its first use (ckfs_view_links). */
    /* tf/'s bundle is laid out at its files' first use (ckfs_view_tf). */
    unsigned roots = CKFS_ROOT_TF | (ckpt_has_object_graph(c) ? CKFS_ROOT_BYNAME : 0);
    v->stats_files = o->stats;
    if (ckfs_tree_build(c, roots, names, CKFS_NGEN,
                        (o->npy ? CKFS_TREE_NPY : 0) | (o->stats ? CKFS_TREE_STATS : 0), warn,
                        warn_ctx, &v->tree))
        return -1;
    return 0;
}

/* Drop what attach built (the view returns to "not opened"). */
static void detach(ckfs_view *v)
{
    if (v->texts) {
        /* Only text-shown variables ever use their cell: leave the others' pages untouched
         * (never faulted in), which for a million variables is most of the time it takes a
         * mount command to exit. */
        for (size_t i = 0; i < ckpt_count(v->c); i++) {
            ckpt_var var;
            ckpt_get(v->c, i, &var);
            if (ckpt_is_text_var(&var) || v->stats_files) /* NAME.stats uses the cell too */
                ckfs_lazy_free(&v->texts[i]);
        }
        free(v->texts);
        v->texts = NULL;
    }
    ckfs_gens_free(&v->gens);
    free((void *)v->corrupt);
    v->corrupt = NULL;
    free(v->checked);
    v->checked = NULL;
    ckfs_tree_free(v->tree);
    v->tree = NULL;
    ckfs_tree_free(v->links);
    v->links = NULL;
    ckpt_names_free(v->names);
    v->names = NULL;
    ckfs_once_reset(&v->byname);
    ckpt_v2_plan_free(&v->tf);
    ckfs_once_reset(&v->tfplan);
    ckpt_close(v->c);
    v->c = NULL;
}

char *ckfs_view_index_path(const ckfs_view *v)
{
    char *p = ckpt_index_path(v->prefix);
    if (p && ckpt_is_regular_file(p))
        return p;
    free(p);
    return NULL;
}

/* What opening a view needs (ckfs_view_ensure's arguments). */
struct open_arg {
    ckfs_view *v;
    const ckfs_opts *o;
    ckfs_view_warn_fn warn;
    void *warn_ctx;
};

static int open_once(void *p, ckpt_err *err)
{
    struct open_arg *a = p;
    ckfs_view *v = a->v;
    ckpt_checkpoint *c;
    /* Nobody can be told about a missing shard when a folder's checkpoint opens on first
     * use: list its variables and let reads of the missing shard fail (as -o force). */
    char *ip = v->src ? NULL : ckfs_view_index_path(v);
    int rc = ckpt_open_src(v->src ? v->src : ckpt_bytesrc_local(), ip ? ip : v->prefix,
                           CKPT_OPEN_MISSING_SHARDS_OK, &c, err);
    free(ip);
    if (rc == 0 && v->verify && (rc = v->verify(v, c, err)) != 0) {
        ckpt_close(c);
        return rc;
    }
    if (rc == 0 && ckfs_view_attach(v, c, a->o, a->warn, a->warn_ctx)) {
        detach(v);
        rc = ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory building its tree", v->prefix);
    }
    return rc;
}

int ckfs_view_ensure(ckfs_view *v, const ckfs_opts *o, ckfs_view_warn_fn warn, void *warn_ctx,
                     ckpt_err *err)
{
    struct open_arg a = {v, o, warn, warn_ctx};
    int rc = ckfs_once_run(&v->opened, &v->lock, open_once, &a, err);
    if (rc && !err->msg[0])
        ckpt_err_set(err, rc, "%s could not be opened", v->prefix);
    return rc;
}

/* One variable of a view, for the work of its lazy or once cell. */
struct var_arg {
    ckfs_view *v;
    uint32_t i;
};

static int build_text(void *p, ckfs_content *out, uint64_t *size, ckpt_err *err)
{
    struct var_arg *a = p;
    ckpt_strbuf b = {0};
    int rc = ckpt_render_text(a->v->c, a->i, &b, err);
    if (rc) {
        ckpt_strbuf_free(&b);
        return rc;
    }
    out->data = b.data;
    *size = b.len;
    return 0;
}

/* Sized by rendering (a string's escaped length depends on every byte), the text not kept:
 * `ls -l` of many string tensors must not hold them all. */
static const ckfs_lazy_ops text_ops = {NULL, build_text, 0};

/* NAME.stats of a numeric variable: `ckptfs stats`'s header and row, computed (the whole
 * tensor read and checked) once per mount, and kept: a row is small and costly to make. */
static int build_stats(void *p, ckfs_content *out, uint64_t *size, ckpt_err *err)
{
    struct var_arg *a = p;
    ckpt_var var;
    ckpt_get(a->v->c, a->i, &var);
    ckpt_stats s;
    int rc = ckpt_stats_var(a->v->c, a->i, &s, NULL, NULL, err);
    if (rc)
        return rc;
    ckpt_strbuf b = {0};
    ckpt_stats_put_header(&b);
    ckpt_stats_put_row(&b, &var, &s, 0);
    if (b.failed) {
        ckpt_strbuf_free(&b);
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    }
    out->data = b.data;
    *size = b.len;
    return 0;
}

static const ckfs_lazy_ops stats_ops = {NULL, build_stats, 1};

/* A variable's one lazy cell holds its text when it is shown as text, else its NAME.stats. */
static const ckfs_lazy_ops *cell_ops(const ckfs_view *v, uint32_t i)
{
    ckpt_var var;
    ckpt_get(v->c, i, &var);
    return ckpt_is_text_var(&var) ? &text_ops : &stats_ops;
}

/* The text form of text-shown variable i (ckpt_is_text_var: strings, variants): its size,
 * computed by rendering it once (the text is not kept) on first use; or only if known. */
static int view_text_size(ckfs_view *v, uint32_t i, uint64_t *size, ckpt_err *err)
{
    struct var_arg a = {v, i};
    return ckfs_lazy_size(&v->texts[i], &v->lock, cell_ops(v, i), &a, size, err);
}

static int view_text_size_known(const ckfs_view *v, uint32_t i, uint64_t *size)
{
    return ckfs_lazy_size_known(&v->texts[i], size);
}

int ckfs_view_text_acquire(ckfs_view *v, uint32_t i, const char **data, uint64_t *size,
                           ckpt_err *err)
{
    struct var_arg a = {v, i};
    ckfs_content c;
    int rc = ckfs_lazy_get(&v->texts[i], &v->lock, cell_ops(v, i), &a, &c, size, err);
    if (rc == 0)
        *data = c.data;
    return rc;
}

void ckfs_view_text_release(ckfs_view *v, uint32_t i)
{
    /* a text is freed with its last reader; a NAME.stats row stays for the mount's life */
    if (ckfs_lazy_put(&v->texts[i], &v->lock) && !cell_ops(v, i)->keep)
        ckfs_lazy_drop(&v->texts[i], &v->lock);
}

static int check_once(void *p, ckpt_err *err)
{
    struct var_arg *a = p;
    int rc = ckpt_verify(a->v->c, a->i, err);
    /* Readers of files opened before (or by other means) must not get these bytes either. */
    if (rc == CKPT_E_CORRUPT)
        atomic_store_explicit(&a->v->corrupt[a->i], 1, memory_order_relaxed);
    return rc;
}

int ckfs_view_check(ckfs_view *v, uint32_t i, ckpt_err *err)
{
    struct var_arg a = {v, i};
    int rc = ckfs_once_run(&v->checked[i], &v->lock, check_once, &a, err);
    if (rc && rc != CKPT_E_CORRUPT && atomic_load_explicit(&v->corrupt[i], memory_order_relaxed)) {
        /* Found by an earlier call (once_run only says "failed before"): name it again, as
         * every open of a damaged tensor must. */
        ckpt_var var;
        ckpt_get(v->c, i, &var);
        rc = ckpt_err_set(err, CKPT_E_CORRUPT,
                          "%s: variable \"%s\": checksum did not match at an earlier open",
                          ckpt_var_path(v->c, i), var.name);
    }
    return rc;
}

void ckfs_view_close(ckfs_view *v)
{
    if (!ckfs_view_is_open(v))
        return;
    /* The mount's list of unused rendered texts (textlru.h) may drop a slot of this view at any
     * moment, under the view's lock: free the slots under it too. */
    pthread_mutex_lock(&v->lock.mu);
    ckfs_gens_free(&v->gens);
    pthread_mutex_unlock(&v->lock.mu);
    detach(v);
    ckfs_once_reset(&v->opened);
}

void ckfs_view_free(ckfs_view *v)
{
    detach(v);
    ckfs_once_reset(&v->opened);
    ckfs_once_lock_destroy(&v->lock);
    free(v->name);
    free(v->display);
    free(v->prefix);
    free(v->sm_path);
}

uint64_t ckfs_sidecar_size(const ckpt_var *var, int kind)
{
    char buf[64];
    return kind == CKFS_K_SHAPE ? ckpt_render_shape(var, buf, sizeof buf)
                                : ckpt_render_dtype(var, buf, sizeof buf);
}

uint32_t ckfs_npy_header_len(const ckpt_var *var)
{
    char tmp[1];
    size_t n = ckpt_npy_header(var->dtype, var->rank, var->dims, tmp, 0);
    return n <= CKFS_NPY_HEADER_MAX ? (uint32_t)n : 0;
}

/* The size of a file whose content is computed: known, computed now (lazy_ok), or -EAGAIN. */
static int computed_size(ckfs_view *v, ckfs_node n, int lazy_ok, uint64_t *size, ckpt_err *err)
{
    int known = n.kind == CKFS_K_GEN ? ckfs_gen_size_known(&v->gens, (int)n.idx, size)
                                     : view_text_size_known(v, n.idx, size);
    if (known)
        return 0;
    if (!lazy_ok)
        return -EAGAIN;
    int rc = n.kind == CKFS_K_GEN ? ckfs_gen_size(&v->gens, (int)n.idx, size, err)
                                  : view_text_size(v, n.idx, size, err);
    return rc == 0 ? 0 : rc == CKPT_E_NOMEM ? -ENOMEM : -EIO;
}

int ckfs_view_stat(ckfs_view *v, ckfs_node n, struct stat *st, int lazy_ok, ckpt_err *err)
{
    st->st_uid = v->perms.fuid;
    st->st_gid = v->perms.fgid;
    st->st_atim = st->st_mtim = st->st_ctim = v->mtime;
    st->st_mode = S_IFREG | v->perms.fmode;
    st->st_nlink = 1;
    if (n.kind == CKFS_K_DIR) {
        st->st_uid = v->perms.uid;
        st->st_gid = v->perms.gid;
        st->st_mode = S_IFDIR | v->perms.dmode;
        st->st_nlink = 2 + ckfs_tree_subdirs(v->tree, n.idx);
        st->st_size = CKFS_DIR_SIZE;
        return 0;
    }
    if (n.kind == CKFS_K_BDIR) {
        st->st_mode = S_IFDIR | v->perms.dmode;
        /* Until by_name is built its subdirectories are not known: 1 is how a file system
         * says "not counted" (find and fts then look into every directory). */
        const ckfs_tree *lt = ckfs_once_done(&v->byname) ? v->links : NULL;
        st->st_nlink = lt ? 2 + ckfs_tree_subdirs(lt, n.idx) : 1;
        st->st_size = CKFS_DIR_SIZE;
        return 0;
    }
    if (n.kind == CKFS_K_TFDIR) {
        st->st_uid = v->perms.uid;
        st->st_gid = v->perms.gid;
        st->st_mode = S_IFDIR | v->perms.dmode;
        st->st_nlink = 2;
        st->st_size = CKFS_DIR_SIZE;
        return 0;
    }
    if (n.kind == CKFS_K_TFFILE) {
        uint64_t size = sizeof CKFS_TF_STATE_TEXT - 1;
        if (n.idx != CKFS_TF_STATE) {
            /* a listing never lays the bundle out; a lookup or stat does, once */
            if (!ckfs_once_done(&v->tfplan) && !lazy_ok)
                return -EAGAIN;
            const ckpt_v2_plan *p;
            int rc = ckfs_view_tf(v, &p, err);
            if (rc)
                return rc;
            size = n.idx == CKFS_TF_INDEX ? p->index_len : p->data_size;
        }
        st->st_size = (off_t)size;
        st->st_blocks = (st->st_size + 511) / 512;
        return 0;
    }
    if (n.kind == CKFS_K_LINK) {
        char target[CKFS_LINK_MAX];
        int len = ckfs_view_readlink(v, n, target, sizeof target, err);
        if (len < 0)
            return len;
        st->st_mode = S_IFLNK | 0777;
        st->st_size = len;
        return 0;
    }
    uint64_t size = 0;
    int rc = 0;
    if (n.kind == CKFS_K_GEN) {
        rc = computed_size(v, n, lazy_ok, &size, err);
    } else {
        if (n.idx >= ckpt_count(v->c))
            return -ENOENT;
        ckpt_var var;
        ckpt_get(v->c, n.idx, &var);
        if ((n.kind == CKFS_K_DATA && ckpt_is_text_var(&var)) || n.kind == CKFS_K_STATS)
            rc = computed_size(v, n, lazy_ok, &size, err);
        else if (n.kind == CKFS_K_DATA)
            size = var.nbytes;
        else if (n.kind == CKFS_K_SHAPE || n.kind == CKFS_K_DTYPE)
            size = ckfs_sidecar_size(&var, n.kind);
        else
            size = ckfs_npy_header_len(&var) + var.nbytes;
    }
    st->st_size = (off_t)size;
    st->st_blocks = (st->st_size + 511) / 512;
    return rc;
}

/* --- by_name/: a second tree, built on first use ----------------------------------------- */

static int links_once(void *arg, ckpt_err *err)
{
    ckfs_view *v = arg;
    int rc = ckpt_names_load(v->c, &v->names, err);
    if (rc == 0 && !v->names)
        rc = ckpt_err_set(err, CKPT_E_NOTFOUND, "%s: no object graph", ckpt_prefix(v->c));
    if (rc == 0 && ckfs_tree_build_links(v->c, v->names, NULL, NULL, &v->links))
        rc = ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory building by_name/",
                          ckpt_prefix(v->c));
    if (rc) {
        ckpt_names_free(v->names);
        v->names = NULL;
    }
    return rc;
}

/* v's links tree, built if nobody has yet: 0, or -EIO / -ENOMEM with err set. */
static int links(ckfs_view *v, ckpt_err *err)
{
    int rc = ckfs_once_run(&v->byname, &v->lock, links_once, v, err);
    return rc == 0 ? 0 : rc == CKPT_E_NOMEM ? -ENOMEM : -EIO;
}

/* A node of the links tree as the view names it: its directories are CKFS_K_BDIR. */
static ckfs_node from_links(ckfs_node n)
{
    return n.kind == CKFS_K_DIR ? (ckfs_node){CKFS_K_BDIR, n.idx} : n;
}

/* --- tf/: the view's variables as a V2 bundle, laid out on first use ---------------------- */

static int tf_once(void *arg, ckpt_err *err)
{
    ckfs_view *v = arg;
    return ckpt_v2_plan_build(v->c, v->filtered, &v->tf, err);
}

int ckfs_view_tf(ckfs_view *v, const ckpt_v2_plan **out, ckpt_err *err)
{
    int rc = ckfs_once_run(&v->tfplan, &v->lock, tf_once, v, err);
    *out = rc ? NULL : &v->tf;
    return rc == 0 ? 0 : rc == CKPT_E_NOMEM ? -ENOMEM : -EIO;
}

/* tf/'s names, in bytewise order (its listing's). */
static const char *const tf_names[CKFS_TF_NFILES] = {"checkpoint", "model.data-00000-of-00001",
                                                     "model.index"};
static const int tf_files[CKFS_TF_NFILES] = {CKFS_TF_STATE, CKFS_TF_DATA, CKFS_TF_INDEX};

int ckfs_view_node(ckfs_view *v, uint64_t ino, ckfs_node *out)
{
    if (ino >= CKFS_TF_INO) {
        if (ino > CKFS_TF_INO + CKFS_TF_NFILES)
            return -ENOENT;
        *out = ino == CKFS_TF_INO ? (ckfs_node){CKFS_K_TFDIR, 0}
                                  : (ckfs_node){CKFS_K_TFFILE, (uint32_t)(ino - CKFS_TF_INO - 1)};
        return 0;
    }
    if (ino < CKFS_BYNAME_INO)
        return ckfs_tree_node(v->tree, ino, out) ? -ENOENT : 0;
    ckpt_err err;
    int rc = links(v, &err);
    if (rc)
        return rc;
    if (ckfs_tree_node(v->links, ino - CKFS_BYNAME_INO, out))
        return -ENOENT;
    *out = from_links(*out);
    return 0;
}

uint64_t ckfs_view_ino(const ckfs_view *v, ckfs_node n)
{
    if (n.kind == CKFS_K_TFDIR)
        return CKFS_TF_INO;
    if (n.kind == CKFS_K_TFFILE)
        return CKFS_TF_INO + 1 + n.idx;
    if (n.kind == CKFS_K_BDIR)
        /* by_name itself is its tree's root, number 1, built or not. */
        return CKFS_BYNAME_INO + (n.idx == 0 || !ckfs_once_done(&v->byname)
                                      ? CKFS_INO_ROOT
                                      : ckfs_tree_ino(v->links, (ckfs_node){CKFS_K_DIR, n.idx}));
    if (n.kind == CKFS_K_LINK)
        return CKFS_BYNAME_INO + ckfs_tree_ino(v->links, n);
    return ckfs_tree_ino(v->tree, n);
}

int ckfs_view_lookup(ckfs_view *v, ckfs_node dir, const char *name, ckfs_node *out)
{
    if (dir.kind == CKFS_K_TFDIR) {
        if (!strcmp(name, ".") || !strcmp(name, "..")) {
            *out = name[1] ? (ckfs_node){CKFS_K_DIR, 0} : dir;
            return 0;
        }
        for (int k = 0; k < CKFS_TF_NFILES; k++)
            if (!strcmp(name, tf_names[k])) {
                *out = (ckfs_node){CKFS_K_TFFILE, (uint32_t)tf_files[k]};
                return 0;
            }
        return -ENOENT;
    }
    if (dir.kind != CKFS_K_BDIR)
        return ckfs_tree_lookup(v->tree, dir.idx, name, out) ? -ENOENT : 0;
    if (dir.idx == 0 && !strcmp(name, "..")) {
        *out = (ckfs_node){CKFS_K_DIR, 0};
        return 0;
    }
    ckpt_err err;
    int rc = links(v, &err);
    if (rc)
        return rc;
    if (ckfs_tree_lookup(v->links, dir.idx, name, out))
        return -ENOENT;
    *out = from_links(*out);
    return 0;
}

int ckfs_view_dir_entry(ckfs_view *v, ckfs_node dir, uint64_t k, ckfs_node *node, char *buf)
{
    if (dir.kind == CKFS_K_TFDIR) {
        if (k >= CKFS_TF_NFILES)
            return 1;
        *node = (ckfs_node){CKFS_K_TFFILE, (uint32_t)tf_files[k]};
        strcpy(buf, tf_names[k]);
        return 0;
    }
    if (dir.kind != CKFS_K_BDIR)
        return ckfs_tree_dir_entry(v->tree, dir.idx, k, node, buf);
    ckpt_err err;
    if (links(v, &err))
        return 1; /* the failure was logged where by_name was looked up */
    int r = ckfs_tree_dir_entry(v->links, dir.idx, k, node, buf);
    if (r == 0)
        *node = from_links(*node);
    return r;
}

ckfs_node ckfs_view_parent(const ckfs_view *v, ckfs_node dir)
{
    if (dir.kind == CKFS_K_TFDIR)
        return (ckfs_node){CKFS_K_DIR, 0};
    if (dir.kind != CKFS_K_BDIR)
        return (ckfs_node){CKFS_K_DIR, ckfs_tree_parent(v->tree, dir.idx)};
    if (dir.idx == 0 || !v->links)
        return (ckfs_node){CKFS_K_DIR, 0};
    return (ckfs_node){CKFS_K_BDIR, ckfs_tree_parent(v->links, dir.idx)};
}

int ckfs_view_readlink(ckfs_view *v, ckfs_node n, char *buf, size_t size, ckpt_err *err)
{
    if (n.kind != CKFS_K_LINK)
        return -EINVAL;
    int rc = links(v, err);
    return rc ? rc : ckfs_tree_link_target(v->tree, v->links, n.idx, buf, size);
}

uint64_t ckfs_view_nnames(const ckfs_view *v)
{
    /* tf/'s files: the tree counts tf itself */
    uint64_t n = ckfs_tree_nnames(v->tree) + CKFS_TF_NFILES;
    return ckfs_once_done(&v->byname) ? n + ckfs_tree_nnames(v->links) : n;
}

const ckpt_names *ckfs_view_names(ckfs_view *v)
{
    ckpt_err err;
    return links(v, &err) == 0 ? v->names : NULL;
}
