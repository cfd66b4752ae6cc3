/*
 * ns_folder.c - the name space of a training-folder mount: a root directory holding one
 * directory per checkpoint (each a view, opened on first use), a `latest` symlink to the one
 * the state file names, and checkpoints.tsv; all following the folder while a run writes it.
 * Its operations are here; how views are held, the folder scanned and watched is in the
 * files ns_folder.h lists, with the inode numbers and the lock order.
 */
#include "ns_folder.h"

#include "clock.h"
#include "foldertsv.h"
#include "resolve.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const ckfs_target root_target = {NULL, {CKFS_K_DIR, 0}};

/* --- the set, read side ------------------------------------------------------------------ */

fview *ckfs_folder_view_of_range(folder *f, uint64_t r)
{
    size_t lo = 0, hi = f->nviews;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->ranges[mid].r == r)
            return f->ranges[mid].fv;
        if (f->ranges[mid].r < r)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Someone looks at the root: where inotify may say nothing, check the stamps (rate-limited). */
static void looked(folder *f)
{
    long long now = ckfs_now_ms();
    if (now - atomic_load(&f->checked_ms) >= (long long)(f->ns.opts->poll * 1000))
        ckfs_folder_revalidate(f);
}

static int f_resolve(ckfs_ns *ns, uint64_t ino, int open, ckfs_target *t)
{
    folder *f = ckfs_folder_of(ns);
    uint64_t r = ino >> VIEW_SHIFT;
    if (r == 0) {
        looked(f);
        t->v = NULL;
        pthread_rwlock_rdlock(&f->mu);
        int rc = 0;
        if (ino == CKFS_INO_ROOT)
            t->n = (ckfs_node){CKFS_K_DIR, 0};
        else if (ino == INO_LATEST && f->latest && !f->latest_hidden)
            t->n = (ckfs_node){CKFS_K_LINK, 0};
        else if (ino == INO_TSV && !f->tsv_hidden)
            t->n = (ckfs_node){CKFS_K_GEN, 0};
        else
            rc = -ENOENT;
        pthread_rwlock_unlock(&f->mu);
        return rc;
    }
    pthread_rwlock_rdlock(&f->mu);
    fview *fv = ckfs_folder_view_of_range(f, r);
    pthread_rwlock_unlock(&f->mu);
    if (!fv)
        return -ENOENT;
    ckfs_folder_hold(f, fv);
    ckfs_view *v = &fv->v;
    uint64_t local = ino & LOCAL_MASK;
    t->v = v;
    int rc = 0;
    if (atomic_load(&fv->gone) && !ckfs_view_is_open(v)) {
        rc = -ENOENT; /* what was read from it is still served while it is open, no more */
    } else if (local == CKFS_INO_ROOT && !open && !ckfs_view_is_open(v)) {
        /* Listing the root must not open every checkpoint: their directories stat unopened */
        t->n = (ckfs_node){CKFS_K_DIR, 0};
        return 0;
    } else if ((rc = ckfs_ns_open_view(ns, v)) != 0) {
        /* Deleted between listing and opening: absent, not an I/O error. */
        char *ip = ckfs_view_index_path(v);
        if (!ip && fv->id.known && !ckfs_folder_file_exists(v->prefix))
            ckfs_folder_leave(fv);
        free(ip);
        if (atomic_load(&fv->gone))
            rc = -ENOENT;
    } else {
        rc = ckfs_view_node(v, local, &t->n);
    }
    if (rc)
        ckfs_folder_unhold(f, fv);
    return rc;
}

static void f_put(ckfs_ns *ns, const ckfs_target *t)
{
    if (t->v)
        ckfs_folder_unhold(ckfs_folder_of(ns), ckfs_fview_of(t->v));
}

static double f_entry_timeout(ckfs_ns *ns, const ckfs_target *d)
{
    return d->v ? CKFS_ATTR_TIMEOUT : ns->opts->poll;
}

static uint64_t f_ino(const ckfs_ns *ns, const ckfs_target *t)
{
    (void)ns;
    if (!t->v)
        return t->n.kind == CKFS_K_LINK  ? INO_LATEST
               : t->n.kind == CKFS_K_GEN ? INO_TSV
                                         : CKFS_INO_ROOT;
    if (t->n.kind == CKFS_K_DIR && t->n.idx == 0) /* needs no tree: may be unopened */
        return t->v->base + CKFS_INO_ROOT;
    return t->v->base + ckfs_view_ino(t->v, t->n);
}

/* Entry named name of the root (mu held), or -1. */
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

static ckfs_target fent_target(const fent *e)
{
    if (e->kind != CKFS_K_DIR)
        return (ckfs_target){NULL, {e->kind, 0}};
    return (ckfs_target){&e->fv->v, {CKFS_K_DIR, 0}};
}

static int f_lookup(ckfs_ns *ns, const ckfs_target *d, const char *name, ckfs_target *t)
{
    folder *f = ckfs_folder_of(ns);
    int dots = !strcmp(name, "."), dotdot = !strcmp(name, "..");
    if (!d->v) {
        if (dots || dotdot) {
            *t = root_target;
            return 0;
        }
        pthread_rwlock_rdlock(&f->mu);
        long k = fent_find(f, name);
        if (k >= 0)
            *t = fent_target(&f->fents[k]);
        pthread_rwlock_unlock(&f->mu);
        return k < 0 ? -ENOENT : 0;
    }
    if (d->n.idx == 0 && dotdot) { /* a checkpoint's directory: its parent is the root */
        *t = root_target;
        return 0;
    }
    t->v = d->v;
    return ckfs_view_lookup(d->v, d->n, name, &t->n);
}

static int f_entry(ckfs_ns *ns, const ckfs_target *d, uint64_t pos, ckfs_target *t, char *name)
{
    folder *f = ckfs_folder_of(ns);
    if (d->v)
        return ckfs_ns_view_entry(d, pos, d->n.idx == 0 ? &root_target : NULL, t, name);
    if (pos < 2) {
        *t = root_target;
        strcpy(name, pos ? ".." : ".");
        return 0;
    }
    uint64_t k = pos - 2;
    int end = 1;
    pthread_rwlock_rdlock(&f->mu);
    if (k < f->nfents) {
        *t = fent_target(&f->fents[k]);
        snprintf(name, CKFS_ENTRY_NAME_MAX + 1, "%s", f->fents[k].name);
        end = 0;
    }
    pthread_rwlock_unlock(&f->mu);
    return end;
}

/* An unopened checkpoint's directory: from its index file's stat alone. */
static void unopened_stat(folder *f, ckfs_view *v, struct stat *st)
{
    st->st_mode = S_IFDIR | f->perms.dmode;
    st->st_uid = f->perms.uid;
    st->st_gid = f->perms.gid;
    st->st_atim = st->st_mtim = st->st_ctim = ckfs_fview_of(v)->id.mtime;
    if (f->remote) /* the listing's times; owner and modes are the folder's */
        return;
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

static size_t tsv_text(folder *f, char **out);

static int f_stat(ckfs_ns *ns, const ckfs_target *t, struct stat *st, double *timeout, int lazy_ok)
{
    folder *f = ckfs_folder_of(ns);
    *timeout = CKFS_ATTR_TIMEOUT;
    st->st_nlink = 1; /* directories: "unknown", so find does not count on it */
    if (!t->v) {
        *timeout = ns->opts->poll;
        pthread_rwlock_rdlock(&f->mu);
        st->st_uid = f->perms.uid;
        st->st_gid = f->perms.gid;
        st->st_atim = st->st_mtim = st->st_ctim = f->mtime;
        if (t->n.kind == CKFS_K_LINK) {
            st->st_mode = S_IFLNK | 0777;
            st->st_size = f->latest ? (off_t)strlen(f->latest) : 0;
        } else if (t->n.kind == CKFS_K_GEN) {
            st->st_mode = S_IFREG | f->perms.fmode;
            *timeout = 0; /* changes with every step; read with direct I/O */
        } else {
            st->st_mode = S_IFDIR | f->perms.dmode;
            st->st_nlink = 2 + f->nlive;
            st->st_size = CKFS_DIR_SIZE;
        }
        pthread_rwlock_unlock(&f->mu);
        if (t->n.kind == CKFS_K_GEN) {
            char *text = NULL;
            st->st_size = (off_t)tsv_text(f, &text);
            free(text);
        }
        return 0;
    }
    /* A name listed in the root reaches here unheld (lookup, readdirplus): hold it while its
     * tree is read. */
    fview *fv = ckfs_fview_of(t->v);
    ckfs_folder_hold(f, fv);
    int rc = 0;
    if (!ckfs_view_is_open(t->v)) {
        unopened_stat(f, t->v, st);
        st->st_size = CKFS_DIR_SIZE;
        *timeout = 0; /* its attributes change once it is opened */
    } else {
        rc = ckfs_ns_view_stat(ns, t, st, lazy_ok);
    }
    ckfs_folder_unhold(f, fv);
    return rc;
}

static const char *f_readlink(ckfs_ns *ns, const ckfs_target *t, char *buf, size_t size)
{
    folder *f = ckfs_folder_of(ns);
    if (t->v)
        return ckfs_ns_view_readlink(t, buf, size);
    if (t->n.kind != CKFS_K_LINK)
        return NULL;
    pthread_rwlock_rdlock(&f->mu);
    const char *s = f->latest; /* kept until the mount ends, even when `latest` moves */
    pthread_rwlock_unlock(&f->mu);
    return s;
}

static const char *const folder_xattrs[] = {
    "user.ckpt.folder",     "user.ckpt.checkpoints", "user.ckpt.opened",
    "user.ckpt.data_reads", "user.ckpt.data_bytes",  NULL,
};

static const char *const *f_xattr_names(ckfs_ns *ns, const ckfs_target *t)
{
    (void)ns;
    if (!t->v)
        return t->n.kind == CKFS_K_DIR ? folder_xattrs : NULL;
    return ckfs_ns_view_xattr_names(t);
}

/* Sum over the views open now (opened: how many). */
static void open_sums(folder *f, uint64_t *opened, uint64_t *reads, uint64_t *bytes,
                      uint64_t *tbytes, uint64_t *names)
{
    *opened = *reads = *bytes = *tbytes = *names = 0;
    pthread_rwlock_rdlock(&f->mu);
    for (size_t k = 0; k < f->nviews; k++) {
        fview *fv = f->views[k];
        if (!ckfs_view_is_open(&fv->v) || !ckfs_folder_try_hold(fv))
            continue;
        if (ckfs_view_is_open(&fv->v)) {
            ckfs_view *x = &fv->v;
            (*opened)++;
            *reads += ckpt_data_reads(x->c);
            *bytes += ckpt_data_bytes(x->c);
            *tbytes += ckfs_tree_total_bytes(x->tree);
            *names += ckfs_view_nnames(x);
        }
        atomic_fetch_sub(&fv->holds, 1);
    }
    pthread_rwlock_unlock(&f->mu);
}

static int f_xattr(ckfs_ns *ns, const ckfs_target *t, const char *key, char *buf, size_t bufsize,
                   const char **val, size_t *len)
{
    folder *f = ckfs_folder_of(ns);
    if (t->v)
        return ckfs_ns_view_xattr(t, key, buf, bufsize, val, len);
    if (t->n.kind != CKFS_K_DIR)
        return -ENODATA;
    if (!strcmp(key, "folder")) {
        *val = f->path;
        *len = strlen(*val);
        return 0;
    }
    uint64_t opened, reads, bytes, tb, nn;
    open_sums(f, &opened, &reads, &bytes, &tb, &nn);
    pthread_rwlock_rdlock(&f->mu);
    size_t live = f->nlive;
    pthread_rwlock_unlock(&f->mu);
    int w = -1;
    if (!strcmp(key, "checkpoints"))
        w = snprintf(buf, bufsize, "%zu", live);
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
    folder *f = ckfs_folder_of(ns);
    uint64_t opened, reads, db;
    open_sums(f, &opened, &reads, &db, bytes, names);
    pthread_rwlock_rdlock(&f->mu);
    *names += 1 + f->nfents;
    pthread_rwlock_unlock(&f->mu);
}

/* --- checkpoints.tsv ----------------------------------------------------------------------- */

/* The text of checkpoints.tsv now (malloc'd into *out, NULL when out of memory): the live
 * checkpoints' rows (foldertsv.h). */
static size_t tsv_text(folder *f, char **out)
{
    *out = NULL;
    pthread_rwlock_rdlock(&f->mu);
    size_t n = 0;
    ckpt_folder_row *rows = malloc((f->nfents + 1) * sizeof *rows);
    for (size_t k = 0; rows && k < f->nfents; k++) {
        const fview *fv = f->fents[k].fv;
        if (f->fents[k].kind == CKFS_K_DIR) /* fixed once published: read after mu too */
            rows[n++] = (ckpt_folder_row){fv->v.display, fv->step, fv->id.known,
                                          (int64_t)fv->id.mtime.tv_sec, fv->bytes};
    }
    pthread_rwlock_unlock(&f->mu);
    if (!rows)
        return 0;
    ckpt_strbuf b = {0};
    int rc = ckpt_render_folder_tsv(rows, n, &b);
    free(rows);
    if (rc) {
        ckpt_strbuf_free(&b);
        return 0;
    }
    *out = b.data;
    return b.len;
}

static int f_text(ckfs_ns *ns, const ckfs_target *t, char **data, size_t *len)
{
    if (t->v || t->n.kind != CKFS_K_GEN)
        return -ENOENT;
    *len = tsv_text(ckfs_folder_of(ns), data);
    return *data ? 0 : -ENOMEM;
}

static void f_destroy(ckfs_ns *ns)
{
    folder *f = ckfs_folder_of(ns);
    if (!f)
        return;
    ckfs_folder_stop(ns);
    for (size_t k = 0; k < f->nviews; k++) {
        ckfs_view_free(&f->views[k]->v);
        free(f->views[k]);
    }
    free(f->views);
    free(f->fents);
    free(f->ranges);
    free(f->latest);
    for (size_t k = 0; k < f->nolds; k++)
        free(f->olds[k]);
    free(f->olds);
    for (size_t k = 0; k < f->nnotes; k++)
        free(f->notes[k]);
    free(f->notes);
    free(f->path);
    ckpt_bytesrc_remote_release(f->remote);
    pthread_rwlock_destroy(&f->mu);
    pthread_mutex_destroy(&f->scan_mu);
    pthread_mutex_destroy(&f->close_mu);
    pthread_mutex_destroy(&f->note_mu);
    free(f);
}

/* In ns.h's order. */
static const ckfs_ns_ops folder_ops = {.resolve = f_resolve,
                                       .put = f_put,
                                       .entry_timeout = f_entry_timeout,
                                       .text = f_text,
                                       .start = ckfs_folder_start,
                                       .stop = ckfs_folder_stop,
                                       .ino = f_ino,
                                       .lookup = f_lookup,
                                       .entry = f_entry,
                                       .stat = f_stat,
                                       .readlink = f_readlink,
                                       .xattr_names = f_xattr_names,
                                       .xattr = f_xattr,
                                       .totals = f_totals,
                                       .destroy = f_destroy};

/* The root's owner, modes and times: the directory's, or for a remote folder what a remote
 * file has (bytesrc_http.c: readable by all, owned by the mounting user). */
static int folder_stat(const char *dir, const ckpt_bytesrc *remote, struct stat *st, ckpt_err *err)
{
    if (!remote) {
        if (stat(dir, st) != 0)
            return ckpt_err_set(err, CKPT_E_NOTFOUND, "%s: %s", dir, strerror(errno));
        return 0;
    }
    memset(st, 0, sizeof *st);
    st->st_mode = S_IFDIR | 0555;
    st->st_uid = getuid();
    st->st_gid = getgid();
    clock_gettime(CLOCK_REALTIME, &st->st_mtim);
    return 0;
}

int ckfs_ns_folder(const char *dir, ckpt_bytesrc *remote, const ckfs_opts *o, ckfs_log_fn log,
                   void *log_ctx, ckfs_ns **out, ckpt_err *err)
{
    struct stat dst;
    int rc = folder_stat(dir, remote, &dst, err);
    folder *f = rc ? NULL : calloc(1, sizeof(*f));
    if (!f || !(f->path = strdup(dir))) {
        free(f);
        ckpt_bytesrc_remote_release(remote);
        return rc ? rc : ckpt_err_set(err, CKPT_E_NOMEM, "out of memory listing %s", dir);
    }
    f->remote = remote;
    f->src = remote ? remote : ckpt_bytesrc_local();
    f->ns = (ckfs_ns){&folder_ops, o, log, log_ctx};
    f->ino_fd = f->wake_fd = -1;
    pthread_rwlock_init(&f->mu, NULL);
    pthread_mutex_init(&f->scan_mu, NULL);
    pthread_mutex_init(&f->close_mu, NULL);
    pthread_mutex_init(&f->note_mu, NULL);
    ckfs_perms_from(&dst, o, &f->perms);
    f->mtime = dst.st_mtim;
    /* A local folder with no checkpoint yet mounts empty and fills in as a run saves (the
     * resolver let it through: CKPT_RESOLVE_EMPTY_FOLDER); a bucket's listing is taken once,
     * so an empty one is no mount. */
    ckpt_folder l;
    rc = ckpt_folder_scan_src(f->src, dir, &l, err);
    if (rc == CKPT_E_NOTFOUND && !remote) {
        memset(&l, 0, sizeof l);
        rc = 0;
    }
    if (rc == 0) {
        ckpt_folder_free(&l);
        if (!remote)
            ckfs_folder_take_stamp(f, &f->seen);
        atomic_store(&f->checked_ms, ckfs_now_ms());
        rc = ckfs_folder_rescan(f, 1, err);
    }
    if (rc) {
        f_destroy(&f->ns);
        return rc;
    }
    f->mtime = dst.st_mtim;    /* the mount's scan is no change */
    ckfs_folder_drop_notes(f); /* nothing to tell the kernel about the mount's own scan */
    *out = &f->ns;
    return 0;
}
