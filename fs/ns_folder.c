/*
 * ns_folder.c - the name space of a training-folder mount: a root directory holding one
 * directory per checkpoint (each a view, opened on first use) and a `latest` symlink to the
 * one the state file names.
 *
 * Inode numbers:
 *   1                    the folder's root
 *   2                    `latest`
 *   (r << 40) + i        inode i (tree.h) of the checkpoint whose range is r; its directory is
 *                        (r << 40) + 1. r = 1 + FNV-1a-64(name) mod (2^23 - 1), the next free
 *                        range on a collision (checkpoints taken in name order), so a
 *                        checkpoint keeps its numbers when others come and go.
 */
#include "ns.h"

#include "escape.h"
#include "folder.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VIEW_SHIFT 40
#define LOCAL_MASK ((UINT64_C(1) << VIEW_SHIFT) - 1)
#define NRANGES ((UINT64_C(1) << 23) - 1)
#define INO_LATEST 2u
#define LATEST_NAME "latest"

/* One entry of the root: a checkpoint's directory or `latest`. */
typedef struct fent {
    const char *name;
    int kind;      /* CKFS_K_DIR (a checkpoint) or CKFS_K_LINK */
    uint32_t view; /* the checkpoint, for CKFS_K_DIR */
} fent;

/* Which view owns inode range r. */
typedef struct range {
    uint64_t r;
    uint32_t view;
} range;

typedef struct folder {
    ckfs_ns ns; /* first: a ckfs_ns * is a folder * */
    char *path;
    ckfs_view *views;
    size_t nviews;
    fent *fents; /* sorted by name */
    size_t nfents;
    range *ranges; /* sorted by r */
    char *latest;  /* `latest`'s target (a checkpoint's directory name), or NULL */
    ckfs_perms perms;
    struct timespec mtime; /* the folder's */
} folder;

static const ckfs_target root_target = {NULL, {CKFS_K_DIR, 0}};

static folder *F(ckfs_ns *ns)
{
    return (folder *)ns;
}

static ckfs_view *view_of_range(folder *f, uint64_t r)
{
    size_t lo = 0, hi = f->nviews;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->ranges[mid].r == r)
            return &f->views[f->ranges[mid].view];
        if (f->ranges[mid].r < r)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int f_resolve(ckfs_ns *ns, uint64_t ino, int open, ckfs_target *t)
{
    folder *f = F(ns);
    uint64_t r = ino >> VIEW_SHIFT;
    if (r == 0) {
        t->v = NULL;
        if (ino == CKFS_INO_ROOT)
            t->n = (ckfs_node){CKFS_K_DIR, 0};
        else if (ino == INO_LATEST && f->latest)
            t->n = (ckfs_node){CKFS_K_LINK, 0};
        else
            return -ENOENT;
        return 0;
    }
    ckfs_view *v = view_of_range(f, r);
    if (!v)
        return -ENOENT;
    uint64_t local = ino & LOCAL_MASK;
    t->v = v;
    /* Listing the root must not open every checkpoint: their directories stat unopened. */
    if (local == CKFS_INO_ROOT && !open && !ckfs_view_is_open(v)) {
        t->n = (ckfs_node){CKFS_K_DIR, 0};
        return 0;
    }
    int rc = ckfs_ns_open_view(ns, v);
    if (rc)
        return rc;
    return ckfs_tree_node(v->tree, local, &t->n) ? -ENOENT : 0;
}

static uint64_t f_ino(const ckfs_ns *ns, const ckfs_target *t)
{
    (void)ns;
    if (!t->v)
        return t->n.kind == CKFS_K_LINK ? INO_LATEST : CKFS_INO_ROOT;
    if (!ckfs_view_is_open(t->v))
        return t->v->base + CKFS_INO_ROOT;
    return t->v->base + ckfs_tree_ino(t->v->tree, t->n);
}

static long fent_find(const folder *f, const char *name)
{
    size_t lo = 0, hi = f->nfents;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(f->fents[mid].name, name);
        if (r == 0)
            return (long)mid;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static ckfs_target fent_target(folder *f, const fent *e)
{
    if (e->kind == CKFS_K_LINK)
        return (ckfs_target){NULL, {CKFS_K_LINK, 0}};
    return (ckfs_target){&f->views[e->view], {CKFS_K_DIR, 0}};
}

static int f_lookup(ckfs_ns *ns, const ckfs_target *d, const char *name, ckfs_target *t)
{
    folder *f = F(ns);
    int dots = !strcmp(name, "."), dotdot = !strcmp(name, "..");
    if (!d->v) {
        if (dots || dotdot) {
            *t = root_target;
            return 0;
        }
        long k = fent_find(f, name);
        if (k < 0)
            return -ENOENT;
        *t = fent_target(f, &f->fents[k]);
        return 0;
    }
    if (d->n.idx == 0 && dotdot) { /* a checkpoint's directory: its parent is the root */
        *t = root_target;
        return 0;
    }
    t->v = d->v;
    return ckfs_tree_lookup(d->v->tree, d->n.idx, name, &t->n) ? -ENOENT : 0;
}

static int f_entry(ckfs_ns *ns, const ckfs_target *d, uint64_t pos, ckfs_target *t, char *name)
{
    folder *f = F(ns);
    if (d->v)
        return ckfs_ns_view_entry(d, pos, d->n.idx == 0 ? &root_target : NULL, t, name);
    if (pos < 2) {
        *t = root_target;
        strcpy(name, pos ? ".." : ".");
        return 0;
    }
    uint64_t k = pos - 2;
    if (k >= f->nfents)
        return 1;
    *t = fent_target(f, &f->fents[k]);
    snprintf(name, CKFS_ENTRY_NAME_MAX + 1, "%s", f->fents[k].name);
    return 0;
}

/* An unopened checkpoint's directory: from its index file's stat alone. */
static void unopened_stat(folder *f, ckfs_view *v, struct stat *st)
{
    st->st_mode = S_IFDIR | f->perms.dmode;
    st->st_uid = f->perms.uid;
    st->st_gid = f->perms.gid;
    st->st_atim = st->st_mtim = st->st_ctim = f->mtime;
    char *ip = ckfs_view_index_path(v);
    struct stat ist;
    if ((ip && stat(ip, &ist) == 0) || stat(v->prefix, &ist) == 0) {
        ckfs_perms p;
        ckfs_perms_from(&ist, f->ns.opts, &p);
        st->st_atim = st->st_mtim = st->st_ctim = ist.st_mtim;
        st->st_mode = S_IFDIR | p.dmode;
        st->st_uid = p.uid;
        st->st_gid = p.gid;
    }
    free(ip);
}

static int f_stat(ckfs_ns *ns, const ckfs_target *t, struct stat *st, double *timeout,
                  int lazy_ok)
{
    folder *f = F(ns);
    *timeout = CKFS_ATTR_TIMEOUT;
    st->st_nlink = 1; /* directories: "unknown", so find does not count on it */
    if (!t->v) {
        st->st_uid = f->perms.uid;
        st->st_gid = f->perms.gid;
        st->st_atim = st->st_mtim = st->st_ctim = f->mtime;
        if (t->n.kind == CKFS_K_LINK) {
            st->st_mode = S_IFLNK | 0777;
            st->st_size = (off_t)strlen(f->latest);
        } else {
            st->st_mode = S_IFDIR | f->perms.dmode;
            st->st_nlink = 2 + f->nviews;
            st->st_size = CKFS_DIR_SIZE;
        }
        return 0;
    }
    if (!ckfs_view_is_open(t->v)) {
        unopened_stat(f, t->v, st);
        st->st_size = CKFS_DIR_SIZE;
        *timeout = 0; /* its attributes change once it is opened */
        return 0;
    }
    return ckfs_ns_view_stat(ns, t, st, lazy_ok);
}

static const char *f_readlink(ckfs_ns *ns, const ckfs_target *t)
{
    return !t->v && t->n.kind == CKFS_K_LINK ? F(ns)->latest : NULL;
}

static const char *const folder_xattrs[] = {
    "user.ckpt.folder", "user.ckpt.checkpoints", "user.ckpt.opened", "user.ckpt.data_reads",
    "user.ckpt.data_bytes", NULL,
};

static const char *const *f_xattr_names(ckfs_ns *ns, const ckfs_target *t)
{
    (void)ns;
    if (!t->v)
        return t->n.kind == CKFS_K_DIR ? folder_xattrs : NULL;
    return ckfs_ns_view_xattr_names(t);
}

static int f_xattr(ckfs_ns *ns, const ckfs_target *t, const char *key, char *buf,
                   size_t bufsize, const char **val, size_t *len)
{
    folder *f = F(ns);
    if (t->v)
        return ckfs_ns_view_xattr(t, key, buf, bufsize, val, len);
    if (t->n.kind != CKFS_K_DIR)
        return -ENODATA;
    if (!strcmp(key, "folder")) {
        *val = f->path;
        *len = strlen(*val);
        return 0;
    }
    uint64_t reads = 0, bytes = 0, opened = 0;
    for (size_t k = 0; k < f->nviews; k++) {
        ckfs_view *x = &f->views[k];
        if (!ckfs_view_is_open(x))
            continue;
        opened++;
        reads += ckpt_data_reads(x->c);
        bytes += ckpt_data_bytes(x->c);
    }
    int w = -1;
    if (!strcmp(key, "checkpoints"))
        w = snprintf(buf, bufsize, "%zu", f->nviews);
    else if (!strcmp(key, "opened"))
        w = snprintf(buf, bufsize, "%" PRIu64, opened);
    else if (!strcmp(key, "data_reads"))
        w = snprintf(buf, bufsize, "%" PRIu64, reads);
    else if (!strcmp(key, "data_bytes"))
        w = snprintf(buf, bufsize, "%" PRIu64, bytes);
    if (w < 0 || (size_t)w >= bufsize)
        return -ENODATA;
    *val = buf;
    *len = (size_t)w;
    return 0;
}

static void f_totals(ckfs_ns *ns, uint64_t *bytes, uint64_t *names)
{
    folder *f = F(ns);
    *bytes = 0;
    *names = 1 + f->nfents;
    for (size_t k = 0; k < f->nviews; k++) {
        ckfs_view *v = &f->views[k];
        if (!ckfs_view_is_open(v))
            continue;
        *bytes += ckfs_tree_total_bytes(v->tree);
        *names += ckfs_tree_nnames(v->tree);
    }
}

static void f_destroy(ckfs_ns *ns)
{
    folder *f = F(ns);
    if (!f)
        return;
    for (size_t k = 0; k < f->nviews; k++)
        ckfs_view_free(&f->views[k]);
    free(f->views);
    free(f->fents);
    free(f->ranges);
    free(f->latest);
    free(f->path);
    free(f);
}

static const ckfs_ns_ops folder_ops = {
    f_resolve, f_ino, f_lookup, f_entry, f_stat, f_readlink, f_xattr_names, f_xattr,
    f_totals,  f_destroy,
};

static int cmp_range(const void *a, const void *b)
{
    const range *x = a, *y = b;
    return x->r < y->r ? -1 : x->r > y->r;
}

static int cmp_fent(const void *a, const void *b)
{
    return strcmp(((const fent *)a)->name, ((const fent *)b)->name);
}

/* Range of checkpoint k: from its name's hash, the next free one on a collision (items come
 * in name order, so the same folder gets the same ranges on every mount). */
static uint64_t pick_range(const folder *f, size_t k, const char *name)
{
    uint64_t rg = 1 + ckpt_hash64(name, strlen(name)) % NRANGES;
    for (;;) {
        int used = 0;
        for (size_t j = 0; j < k && !used; j++)
            used = f->ranges[j].r == rg;
        if (!used)
            return rg;
        rg = rg % NRANGES + 1;
    }
}

/* Views, ranges and root entries for the checkpoints of l. -1 when out of memory. */
static int add_checkpoints(folder *f, const ckpt_folder *l)
{
    for (size_t k = 0; k < l->n; k++) {
        const char *name = l->items[k].name;
        uint64_t rg = pick_range(f, k, name);
        f->ranges[k] = (range){rg, (uint32_t)k};
        /* Checkpoint names are file-name components like a variable's: ".", "..", or a
         * name too long for a suffix-free entry get the same escape (escape.h). */
        char disp[CKFS_DISPLAY_MAX + 1];
        size_t dl = ckfs_escape_component(name, strlen(name), disp);
        if (ckfs_view_init(&f->views[k], name, dl ? disp : NULL, l->items[k].prefix, NULL,
                           rg << VIEW_SHIFT))
            return -1;
        f->nviews = k + 1;
        f->fents[f->nfents++] = (fent){f->views[k].display, CKFS_K_DIR, (uint32_t)k};
    }
    qsort(f->ranges, f->nviews, sizeof(*f->ranges), cmp_range);
    return 0;
}

/* `latest` -> the state file's checkpoint, unless a checkpoint owns that name. */
static int add_latest(folder *f, const ckpt_folder *l)
{
    if (l->latest < 0)
        return 0;
    f->latest = strdup(f->views[l->latest].display);
    if (!f->latest)
        return -1;
    /* fents are not sorted yet: a linear look */
    for (size_t k = 0; k < f->nfents; k++) {
        if (!strcmp(f->fents[k].name, LATEST_NAME)) {
            f->ns.log(f->ns.log_ctx,
                      "hiding the symlink '" LATEST_NAME "': a checkpoint has that name");
            return 0;
        }
    }
    f->fents[f->nfents++] = (fent){LATEST_NAME, CKFS_K_LINK, 0};
    return 0;
}

int ckfs_ns_folder(const char *dir, const ckfs_opts *o, ckfs_log_fn log, void *log_ctx,
                   ckfs_ns **out, ckpt_err *err)
{
    ckpt_folder l;
    int rc = ckpt_folder_scan(dir, &l, err);
    if (rc)
        return rc;
    struct stat dst;
    if (stat(dir, &dst) != 0) {
        rc = ckpt_err_set(err, CKPT_E_NOTFOUND, "%s: %s", dir, strerror(errno));
        ckpt_folder_free(&l);
        return rc;
    }
    folder *f = calloc(1, sizeof(*f));
    if (!f)
        goto nomem;
    f->ns = (ckfs_ns){&folder_ops, o, log, log_ctx};
    f->path = strdup(dir);
    f->views = calloc(l.n ? l.n : 1, sizeof(*f->views));
    f->ranges = calloc(l.n ? l.n : 1, sizeof(*f->ranges));
    f->fents = calloc(l.n + 1, sizeof(*f->fents));
    if (!f->path || !f->views || !f->ranges || !f->fents)
        goto nomem;
    ckfs_perms_from(&dst, o, &f->perms);
    f->mtime = dst.st_mtim;
    if (add_checkpoints(f, &l) || add_latest(f, &l))
        goto nomem;
    qsort(f->fents, f->nfents, sizeof(*f->fents), cmp_fent);
    ckpt_folder_free(&l);
    *out = &f->ns;
    return 0;
nomem:
    ckpt_folder_free(&l);
    f_destroy(f ? &f->ns : NULL);
    return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory listing %s", dir);
}
