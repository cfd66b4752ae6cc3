/*
 * ns_folder.c - the name space of a training-folder mount: a root directory holding one
 * directory per checkpoint (each a view, opened on first use), a `latest` symlink to the one
 * the state file names, and checkpoints.tsv; all following the folder while a run writes it.
 *
 * Inode numbers:
 *   1                    the folder's root
 *   2                    `latest`
 *   3                    checkpoints.tsv
 *   (r << 40) + i        inode i (tree.h) of the checkpoint whose range is r; its directory is
 *                        (r << 40) + 1. r = 1 + FNV-1a-64(name) mod (2^23 - 1), the next free
 *                        range on a collision (checkpoints taken in name order at mount, in
 *                        order of appearance later), so a checkpoint keeps its numbers when
 *                        others come and go.
 *
 * A live folder. A checkpoint is listed once its .index exists and its data shards are all
 * there (TF renames the .index in last), and leaves when its .index goes. The set is rescanned
 * when inotify reports a change (a watcher thread), and where inotify says nothing (NFS) when
 * a request on the root finds the directory's or the state file's stamp changed, at most every
 * -o poll seconds; the kernel keeps the root's names and attributes only that long.
 *
 * A checkpoint replaced under the same name (its .index now another file: device, inode, size
 * or mtime differ) is a new checkpoint with a new range, not the old range with a new
 * generation: the kernel marks an inode whose generation changed bad, so a file still open on
 * the old checkpoint would fail with EIO instead of reading the bytes it started with. Ranges
 * are never reused during a mount.
 *
 * View lifetime. A view struct (fview) is never freed while the mount lives; only its
 * checkpoint is closed: when it has left the folder, or has been unused for -o idle seconds.
 * Whoever uses a view's checkpoint or tree holds it (resolve .. put, an open file until its
 * release); the watcher closes only views nobody holds (see hold()).
 *
 * Locks, in order: scan_mu (one rescan at a time) -> mu (the set) ; close_mu, note_mu and a
 * view's lock are leaves. No lock is held while the kernel is told (it may be waiting on a
 * request of ours that waits for one of them).
 */
#include "ns.h"

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "escape.h"
#include "folder.h"
#include "remote.h"
#include "bytesrc.h"
#include "table.h"
#include "textbuf.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#define VIEW_SHIFT 40
#define LOCAL_MASK ((UINT64_C(1) << VIEW_SHIFT) - 1)
#define NRANGES ((UINT64_C(1) << 23) - 1)
#define INO_LATEST 2u
#define INO_TSV 3u
#define LATEST_NAME "latest"
#define TSV_NAME "checkpoints.tsv"
/* A burst of events (shards, .index, state file) is read as one change this much later. */
#define SETTLE_MS 20
/* A directory stamp this close to when it was seen may hide a second change in the same
 * timestamp tick (NFS: often whole seconds): revalidate again rather than trust it. */
#define STAMP_SLACK_NS 2000000000LL

/* What a file is: the same file again has the same identity. */
typedef struct ident {
    int known;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} ident;

typedef struct folder folder;

/* A checkpoint of the folder, present or gone. */
typedef struct fview {
    ckfs_view v; /* first: the view's verify hook finds its fview from it */
    folder *f;
    uint64_t range;
    ident id;              /* its .index when listed; set before it is published, then fixed */
    long step;             /* the number after the name's last '-', or -1 */
    uint64_t bytes;        /* .index + data shards when listed */
    atomic_uint holds;     /* requests and open files using it (hold .. put) */
    atomic_int closing;    /* the watcher is closing it: holders wait (see hold) */
    atomic_int gone;       /* left the folder or replaced: never opened again */
    atomic_llong last_use; /* monotonic ms of the last hold or put */
} fview;

/* One entry of the root: a checkpoint's directory, `latest` or checkpoints.tsv. */
typedef struct fent {
    const char *name;
    int kind;  /* CKFS_K_DIR (a checkpoint), CKFS_K_LINK, CKFS_K_GEN */
    fview *fv; /* for CKFS_K_DIR */
} fent;

/* Which view owns inode range r. */
typedef struct range {
    uint64_t r;
    fview *fv;
} range;

/* An .index younger than this may still be being written in place: check its footer. */
#define YOUNG_NS 60000000000LL

/* The directory's stamp for revalidating without inotify. */
typedef struct stamp {
    ident dir, state;
    long long seen_ns; /* realtime when taken */
} stamp;

struct folder {
    ckfs_ns ns; /* first: a ckfs_ns * is a folder * */
    char *path;
    const ckpt_bytesrc *src; /* lists the folder and reads its checkpoints */
    ckpt_bytesrc *remote;    /* src when it is remote (owned), else NULL: see ckfs_ns_folder */
    ckfs_perms perms;

    /* The set. Protected by mu (read: requests; write: a rescan applying its result). */
    pthread_rwlock_t mu;
    fview **views; /* every view made during the mount, freed at destroy */
    size_t nviews, capviews;
    range *ranges; /* every view's range, sorted by r */
    fent *fents;   /* the root's entries now, sorted by name */
    size_t nfents, nlive;
    char *latest; /* `latest`'s target now, or NULL; earlier targets stay in olds (readlink
                     replies point into them after mu is released) */
    char **olds;
    size_t nolds;
    struct timespec mtime; /* the root's times: when the set last changed */
    int tsv_hidden, latest_hidden;

    /* Protected by scan_mu. */
    pthread_mutex_t scan_mu;
    stamp seen;
    atomic_llong checked_ms; /* monotonic ms of the last revalidation (read without lock) */

    pthread_mutex_t close_mu; /* held while the watcher closes a view */

    /* What the kernel must be told, sent by the watcher. Protected by note_mu. */
    pthread_mutex_t note_mu;
    char **notes; /* root entry names to invalidate */
    size_t nnotes;
    int note_root;

    /* The watcher. */
    struct fuse_session *se;
    pthread_t thread;
    int started;
    int ino_fd, wake_fd; /* inotify (or -1), eventfd waking the watcher */
    atomic_int stop, rescan_wanted;
};

static const ckfs_target root_target = {NULL, {CKFS_K_DIR, 0}};

static folder *F(ckfs_ns *ns)
{
    return (folder *)ns;
}

static fview *FV(ckfs_view *v)
{
    return (fview *)v;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wake(folder *f)
{
    uint64_t one = 1;
    if (f->wake_fd >= 0 && write(f->wake_fd, &one, sizeof one) != sizeof one) {
        /* already signalled: the counter is non-zero */
    }
}

/* --- holding views ------------------------------------------------------------------------ */

/*
 * Take a hold on fv. The watcher sets closing, then closes only if holds is 0; a holder adds
 * itself, then backs off if closing is set (both sequentially consistent), so at least one of
 * them sees the other. A holder that backs off waits for the close to end (close_mu).
 */
static void hold(folder *f, fview *fv)
{
    for (;;) {
        atomic_fetch_add(&fv->holds, 1);
        if (!atomic_load(&fv->closing))
            break;
        atomic_fetch_sub(&fv->holds, 1);
        pthread_mutex_lock(&f->close_mu);
        pthread_mutex_unlock(&f->close_mu);
    }
    atomic_store(&fv->last_use, now_ms());
}

/* A hold for a glance (xattr sums, statfs): none while the view is being closed. */
static int try_hold(fview *fv)
{
    atomic_fetch_add(&fv->holds, 1);
    if (!atomic_load(&fv->closing))
        return 1;
    atomic_fetch_sub(&fv->holds, 1);
    return 0;
}

static void unhold(folder *f, fview *fv)
{
    atomic_store(&fv->last_use, now_ms());
    if (atomic_fetch_sub(&fv->holds, 1) == 1 && atomic_load(&fv->gone))
        wake(f); /* a deleted checkpoint's files: let them go now */
}

/* Close fv's checkpoint if nobody holds it (watcher only). */
static int try_close(folder *f, fview *fv)
{
    int closed = 0;
    pthread_mutex_lock(&f->close_mu);
    atomic_store(&fv->closing, 1);
    if (atomic_load(&fv->holds) == 0 && ckfs_view_is_open(&fv->v)) {
        ckfs_view_close(&fv->v);
        closed = 1;
    }
    atomic_store(&fv->closing, 0);
    pthread_mutex_unlock(&f->close_mu);
    return closed;
}

/* --- identities ---------------------------------------------------------------------------- */

static void ident_of(const struct stat *st, ident *id)
{
    *id = (ident){1, st->st_dev, st->st_ino, st->st_size, st->st_mtim};
}

static int ident_eq(const ident *a, const ident *b)
{
    if (!a->known || !b->known)
        return a->known == b->known;
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void ident_path(const char *path, ident *id)
{
    struct stat st;
    if (stat(path, &st) == 0)
        ident_of(&st, id);
    else
        *id = (ident){0};
}

/* Whether the file at path is the file open as fd (device and inode). */
static int same_file(const char *path, int fd)
{
    struct stat a, b;
    return stat(path, &a) == 0 && fstat(fd, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino && a.st_size == b.st_size;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* fv's checkpoint is no longer the one listed: it leaves, and the watcher rescans. */
static void leave(fview *fv)
{
    atomic_store(&fv->gone, 1);
    atomic_store(&fv->f->rescan_wanted, 1);
    wake(fv->f);
}

/*
 * The view's verify hook: the .index opened must be the one listed (else the checkpoint was
 * replaced: it is a new one, shown by a new view), and the index and every shard still the
 * files at their paths now (else a writer replaced some while they were opened, and an index
 * could be paired with another save's shard: try again later).
 */
static int verify_open(ckfs_view *v, ckpt_checkpoint *c, ckpt_err *err)
{
    fview *fv = FV(v);
    ident got;
    ident_of(ckpt_index_stat(c), &got);
    if (fv->id.known && !ident_eq(&fv->id, &got)) {
        leave(fv);
        return ckpt_err_set(err, CKPT_E_NOTFOUND,
                            "%s changed on disk since it was listed; shown anew", v->prefix);
    }
    char *ip = ckfs_view_index_path(v);
    if (!ip && fv->id.known && !file_exists(v->prefix)) {
        /* deleted while it was being opened (TF removes the .index first) */
        leave(fv);
        return ckpt_err_set(err, CKPT_E_NOTFOUND, "%s was deleted", v->prefix);
    }
    int moved = 0;
    for (int s = 0; s < ckpt_num_shards(c); s++)
        moved |= !ckpt_shard_present(c, s); /* listed whole: a shard going is a change */
    if (ip) {
        struct stat now;
        moved = stat(ip, &now) != 0 || now.st_ino != got.ino || now.st_dev != got.dev ||
                now.st_size != got.size;
        free(ip);
    }
    for (int s = 0; !moved && s < ckpt_num_shards(c); s++)
        if (ckpt_shard_present(c, s))
            moved = !same_file(ckpt_shard_path(c, s), ckpt_shard_fd(c, s));
    if (moved) {
        atomic_store(&fv->f->rescan_wanted, 1);
        wake(fv->f);
        return ckpt_err_set(err, CKPT_E_IO, "%s: files replaced while opening; try again",
                            v->prefix);
    }
    return 0;
}

/* --- the set, read side ------------------------------------------------------------------ */

static fview *view_of_range(folder *f, uint64_t r)
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

static void revalidate(folder *f);

/* Someone looks at the root: where inotify may say nothing, check the stamps (rate-limited). */
static void looked(folder *f)
{
    long long now = now_ms();
    if (now - atomic_load(&f->checked_ms) >= (long long)(f->ns.opts->poll * 1000))
        revalidate(f);
}

static int f_resolve(ckfs_ns *ns, uint64_t ino, int open, ckfs_target *t)
{
    folder *f = F(ns);
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
    fview *fv = view_of_range(f, r);
    pthread_rwlock_unlock(&f->mu);
    if (!fv)
        return -ENOENT;
    hold(f, fv);
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
        if (!ip && fv->id.known && !file_exists(v->prefix))
            leave(fv);
        free(ip);
        if (atomic_load(&fv->gone))
            rc = -ENOENT;
    } else {
        rc = ckfs_view_node(v, local, &t->n);
    }
    if (rc)
        unhold(f, fv);
    return rc;
}

static void f_put(ckfs_ns *ns, const ckfs_target *t)
{
    if (t->v)
        unhold(F(ns), FV(t->v));
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
    folder *f = F(ns);
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
    folder *f = F(ns);
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
    st->st_atim = st->st_mtim = st->st_ctim = FV(v)->id.mtime;
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
    folder *f = F(ns);
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
    fview *fv = FV(t->v);
    hold(f, fv);
    int rc = 0;
    if (!ckfs_view_is_open(t->v)) {
        unopened_stat(f, t->v, st);
        st->st_size = CKFS_DIR_SIZE;
        *timeout = 0; /* its attributes change once it is opened */
    } else {
        rc = ckfs_ns_view_stat(ns, t, st, lazy_ok);
    }
    unhold(f, fv);
    return rc;
}

static const char *f_readlink(ckfs_ns *ns, const ckfs_target *t, char *buf, size_t size)
{
    folder *f = F(ns);
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
        if (!ckfs_view_is_open(&fv->v) || !try_hold(fv))
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
    folder *f = F(ns);
    uint64_t opened, reads, db;
    open_sums(f, &opened, &reads, &db, bytes, names);
    pthread_rwlock_rdlock(&f->mu);
    *names += 1 + f->nfents;
    pthread_rwlock_unlock(&f->mu);
}

/* --- checkpoints.tsv ----------------------------------------------------------------------- */

static int cmp_step(const void *a, const void *b)
{
    const fview *x = *(fview *const *)a, *y = *(fview *const *)b;
    if (x->step != y->step) /* no step (-1) last */
        return x->step < 0 ? 1 : y->step < 0 ? -1 : x->step < y->step ? -1 : 1;
    return strcmp(x->v.display, y->v.display);
}

/* The text of checkpoints.tsv now (malloc'd into *out, NULL when out of memory): a header,
 * then one line per checkpoint in step order: its directory, step, the .index's mtime (UTC),
 * and bytes on disk. */
static size_t tsv_text(folder *f, char **out)
{
    *out = NULL;
    pthread_rwlock_rdlock(&f->mu);
    size_t n = 0;
    fview **live = malloc((f->nfents + 1) * sizeof *live);
    for (size_t k = 0; live && k < f->nfents; k++)
        if (f->fents[k].kind == CKFS_K_DIR)
            live[n++] = f->fents[k].fv;
    pthread_rwlock_unlock(&f->mu);
    if (!live)
        return 0;
    qsort(live, n, sizeof *live, cmp_step);
    ckpt_strbuf b = {0};
    static const char head[] = "checkpoint\tstep\ttime\tbytes\n";
    ckpt_strbuf_put(&b, head, sizeof head - 1);
    for (size_t k = 0; k < n; k++) {
        const fview *fv = live[k];
        char line[CKFS_ENTRY_NAME_MAX + 160], when[64] = "-", step[24] = "-";
        struct tm tm;
        if (fv->id.known && gmtime_r(&fv->id.mtime.tv_sec, &tm))
            snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        if (fv->step >= 0)
            snprintf(step, sizeof step, "%ld", fv->step);
        int w = snprintf(line, sizeof line, "%s\t%s\t%s\t%" PRIu64 "\n", fv->v.display, step, when,
                         fv->bytes);
        ckpt_strbuf_put(&b, line, w > 0 ? (size_t)w : 0);
    }
    free(live);
    if (b.failed) {
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
    *len = tsv_text(F(ns), data);
    return *data ? 0 : -ENOMEM;
}

/* --- scanning -------------------------------------------------------------------------------- */

/* One checkpoint the directory holds now. */
typedef struct cand {
    const ckpt_folder_item *item;
    ident id;
    uint64_t bytes;
    int complete;
    int young; /* a V2 .index written under YOUNG_NS ago */
} cand;

/* Whether the .index at path ends in a table footer: written to the end. */
static int index_whole(const folder *f, const char *path)
{
    ckpt_file *fh;
    if (ckpt_file_open(f->src, path, &fh, NULL))
        return 0;
    int ok = ckpt_table_probe(fh);
    ckpt_file_close(fh);
    return ok;
}

/* The step of a checkpoint named like TF's: the number after its last '-', or -1. */
static long step_of(const char *name)
{
    const char *d = strrchr(name, '-');
    if (!d || !d[1])
        return -1;
    char *end;
    long s = strtol(d + 1, &end, 10);
    return *end || s < 0 ? -1 : s;
}

/* Range for a new checkpoint named name: its hash's, the next free on a collision (mu not
 * needed: only the scanner changes ranges, and it holds scan_mu). */
static uint64_t pick_range(const folder *f, const char *name)
{
    uint64_t rg = 1 + ckpt_hash64(name, strlen(name)) % NRANGES;
    while (view_of_range((folder *)f, rg))
        rg = rg % NRANGES + 1;
    return rg;
}

static fview *new_view(folder *f, const cand *c)
{
    fview *fv = calloc(1, sizeof *fv);
    if (!fv)
        return NULL;
    const char *name = c->item->name;
    /* Checkpoint names are file-name components like a variable's: ".", "..", or a name too
     * long for a suffix-free entry get the same escape (escape.h). */
    char disp[CKFS_DISPLAY_MAX + 1];
    size_t dl = ckfs_escape_component(name, strlen(name), disp);
    fv->range = pick_range(f, name);
    if (ckfs_view_init(&fv->v, name, dl ? disp : NULL, c->item->prefix, c->item->saved_model,
                       fv->range << VIEW_SHIFT)) {
        ckfs_view_free(&fv->v);
        free(fv);
        return NULL;
    }
    /* Objects do not change under a remote mount's feet (their ETags are checked at open). */
    fv->v.verify = f->remote ? NULL : verify_open;
    fv->v.src = f->remote;
    fv->f = f;
    fv->id = c->id;
    fv->bytes = c->bytes;
    fv->step = step_of(name);
    atomic_store(&fv->last_use, now_ms());
    return fv;
}

/* Add fv to every view and the ranges (mu held for writing). -1 when out of memory. */
static int add_view(folder *f, fview *fv)
{
    if (ckpt_grow((void **)&f->views, &f->capviews, f->nviews + 1, sizeof *f->views))
        return -1;
    range *rs = realloc(f->ranges, (f->nviews + 1) * sizeof *rs);
    if (!rs)
        return -1;
    f->ranges = rs;
    size_t at = 0;
    while (at < f->nviews && rs[at].r < fv->range)
        at++;
    memmove(&rs[at + 1], &rs[at], (f->nviews - at) * sizeof *rs);
    rs[at] = (range){fv->range, fv};
    f->views[f->nviews++] = fv;
    return 0;
}

static void note(folder *f, const char *name)
{
    pthread_mutex_lock(&f->note_mu);
    char *s = strdup(name);
    char **n = s ? realloc(f->notes, (f->nnotes + 1) * sizeof *n) : NULL;
    if (n) {
        f->notes = n;
        f->notes[f->nnotes++] = s;
    } else {
        free(s);
    }
    f->note_root = 1;
    pthread_mutex_unlock(&f->note_mu);
}

static int cmp_fent(const void *a, const void *b)
{
    return strcmp(((const fent *)a)->name, ((const fent *)b)->name);
}

/* The live view named name (mu held), or NULL. */
static fview *live_named(folder *f, const char *name)
{
    for (size_t k = 0; k < f->nfents; k++)
        if (f->fents[k].kind == CKFS_K_DIR && !strcmp(f->fents[k].fv->v.name, name))
            return f->fents[k].fv;
    return NULL;
}

/*
 * What the scan found of item: its identity, bytes, whether it is complete and young. A shard
 * missing from an .index TF finished (not young, footer there) is a partial copy, not a save
 * in progress: shown, its missing shard handled as in any mount (docs/mount.md, "Watching a
 * run").
 */
static void examine(const folder *f, const ckpt_folder_item *item, long long now_ns, cand *c)
{
    c->item = item;
    c->id = (ident){0};
    if (item->known)
        c->id = (ident){1,
                        (dev_t)item->id.dev,
                        (ino_t)item->id.ino,
                        (off_t)item->id.size,
                        {(time_t)item->id.mtime_sec, item->id.mtime_nsec}};
    c->bytes = item->bytes;
    c->complete = item->complete;
    long long age = now_ns - ((long long)c->id.mtime.tv_sec * 1000000000LL + c->id.mtime.tv_nsec);
    c->young = !item->v1 && age < YOUNG_NS;
    if (!c->complete && !item->v1 && item->known && !c->young) {
        char ip[PATH_MAX];
        snprintf(ip, sizeof ip, "%s.index", item->prefix);
        c->complete = index_whole(f, ip);
    }
}

/*
 * fe[] for the complete candidates: the live view each keeps (same name, same identity), or
 * NULL for one to make. A young index that appeared during the mount and lacks its footer is
 * not complete yet (its candidate is marked so, and make_views then skips it).
 */
static void keep_or_make(folder *f, cand *cs, size_t n, fent *fe, int initial)
{
    size_t nfe = 0;
    /* Which views stay, which are new: decided under scan_mu only (nobody else writes). */
    pthread_rwlock_rdlock(&f->mu);
    for (size_t k = 0; k < n; k++) {
        if (!cs[k].complete)
            continue;
        fview *old = live_named(f, cs[k].item->name);
        fview *fv = old && !atomic_load(&old->gone) && ident_eq(&old->id, &cs[k].id) ? old : NULL;
        fe[nfe++] = (fent){NULL, CKFS_K_DIR, fv};
    }
    pthread_rwlock_unlock(&f->mu);
    /* TF writes a sharded save's merged .index in place: one that appears during the mount
     * and is young may be unfinished until its footer is there. (What the mount found is
     * shown as found: mounting opens no index.) */
    nfe = 0;
    for (size_t k = 0; k < n && !initial; k++) {
        if (!cs[k].complete)
            continue;
        if (!fe[nfe].fv && cs[k].young) {
            char ip[PATH_MAX];
            snprintf(ip, sizeof ip, "%s.index", cs[k].item->prefix);
            if (!index_whole(f, ip)) {
                cs[k].complete = 0;
                memmove(&fe[nfe], &fe[nfe + 1], (n - nfe - 1) * sizeof *fe);
                continue;
            }
        }
        nfe++;
    }
}

/* Make the views fe[] still lacks; every entry gets its name. The count, or -1 (err set)
 * when out of memory. */
static long make_views(folder *f, cand *cs, size_t n, fent *fe, fview **made, size_t *nmade,
                       ckpt_err *err)
{
    size_t nfe = 0;
    for (size_t k = 0; k < n; k++) {
        if (!cs[k].complete)
            continue;
        if (!fe[nfe].fv) {
            /* Picking ranges needs the ones made in this scan too: add each as it is made. */
            fview *fv = new_view(f, &cs[k]);
            pthread_rwlock_wrlock(&f->mu);
            int bad = !fv || add_view(f, fv);
            pthread_rwlock_unlock(&f->mu);
            if (bad) {
                if (fv)
                    ckfs_view_free(&fv->v);
                free(fv);
                ckpt_err_set(err, CKPT_E_NOMEM, "out of memory listing %s", f->path);
                return -1;
            }
            made[(*nmade)++] = fv;
            fe[nfe].fv = fv;
        }
        fe[nfe].name = fe[nfe].fv->v.display;
        nfe++;
    }
    return (long)nfe;
}

/*
 * Make fe[0..nfe) (plus `latest` -> target and the tsv) the root's entries, marking views not
 * kept as gone and noting every change for the kernel. On success fe is swapped with the old
 * entries (*fe_io then holds those, for the caller to free). 0 or CKPT_E_NOMEM.
 */
static int publish(folder *f, fent **fe_io, size_t nfe, fview **made, size_t nmade,
                   const char *latest, ckpt_err *err)
{
    fent *fe = *fe_io;
    int rc = 0;
    pthread_rwlock_wrlock(&f->mu);
    /* Leaving: every live view not kept. */
    int changed = nmade > 0;
    for (size_t k = 0; k < f->nfents; k++) {
        fview *fv = f->fents[k].fv;
        if (f->fents[k].kind != CKFS_K_DIR)
            continue;
        int kept = 0;
        for (size_t j = 0; j < nfe && !kept; j++)
            kept = fe[j].fv == fv;
        if (!kept) {
            atomic_store(&fv->gone, 1);
            note(f, fv->v.display);
            changed = 1;
        }
    }
    for (size_t j = 0; j < nmade; j++)
        note(f, made[j]->v.display);
    size_t nlive = nfe;
    int tsv_hidden = 0, latest_hidden = 0;
    for (size_t j = 0; j < nfe; j++) {
        tsv_hidden |= !strcmp(fe[j].name, TSV_NAME);
        latest_hidden |= !strcmp(fe[j].name, LATEST_NAME);
    }
    const char *target = NULL;
    for (size_t j = 0; latest && j < nfe; j++)
        if (!strcmp(fe[j].fv->v.name, latest))
            target = fe[j].fv->v.display;
    if (target && !latest_hidden)
        fe[nfe++] = (fent){LATEST_NAME, CKFS_K_LINK, NULL};
    if (!tsv_hidden)
        fe[nfe++] = (fent){TSV_NAME, CKFS_K_GEN, NULL};
    qsort(fe, nfe, sizeof *fe, cmp_fent);
    if (latest_hidden && !f->latest_hidden && target)
        f->ns.log(f->ns.log_ctx,
                  "hiding the symlink '" LATEST_NAME "': a checkpoint has that name");
    if ((target == NULL) != (f->latest == NULL) || (target && strcmp(target, f->latest)) ||
        latest_hidden != f->latest_hidden) {
        char *t = target ? strdup(target) : NULL;
        char **o = realloc(f->olds, (f->nolds + 1) * sizeof *o);
        if (o)
            f->olds = o;
        if ((target && !t) || !o) {
            free(t);
            rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory listing %s", f->path);
        } else {
            if (f->latest)
                f->olds[f->nolds++] = f->latest;
            f->latest = t;
            note(f, LATEST_NAME);
            changed = 1;
        }
    }
    if (rc == 0) {
        fent *old = f->fents;
        f->fents = fe;
        f->nfents = nfe;
        f->nlive = nlive;
        f->latest_hidden = latest_hidden;
        f->tsv_hidden = tsv_hidden;
        *fe_io = old;
        if (changed)
            clock_gettime(CLOCK_REALTIME, &f->mtime);
    }
    pthread_rwlock_unlock(&f->mu);
    return rc;
}

/*
 * Read the folder now and make the set follow it (scan_mu held): new checkpoints get views,
 * gone or replaced ones leave (their views stay for whoever holds them), `latest` moves.
 * 0, or a CKPT_E_* code when the folder cannot be read (the set is left as it was).
 */
static int rescan(folder *f, int initial, ckpt_err *err)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long now_ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    ckpt_folder l;
    int rc = ckpt_folder_scan_src(f->src, f->path, &l, err);
    if (rc == CKPT_E_NOTFOUND) /* emptied, or the folder itself gone: show nothing */
        memset(&l, 0, sizeof l), l.latest = -1, rc = 0;
    if (rc)
        return rc;
    cand *cs = calloc(l.n ? l.n : 1, sizeof *cs);
    fent *fe = calloc(l.n + 2, sizeof *fe);
    fview **made = calloc(l.n ? l.n : 1, sizeof *made);
    size_t nmade = 0, nfe = 0;
    if (!cs || !fe || !made) {
        rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory listing %s", f->path);
        goto out;
    }
    for (size_t k = 0; k < l.n; k++)
        examine(f, &l.items[k], now_ns, &cs[k]);

    keep_or_make(f, cs, l.n, fe, initial);
    long made_n = make_views(f, cs, l.n, fe, made, &nmade, err);
    if (made_n < 0) {
        rc = CKPT_E_NOMEM;
        goto out;
    }
    nfe = (size_t)made_n;
    const char *latest = l.latest >= 0 && cs[l.latest].complete ? l.items[l.latest].name : NULL;

    rc = publish(f, &fe, nfe, made, nmade, latest, err);
out:
    free(fe);
    free(made);
    free(cs);
    ckpt_folder_free(&l);
    return rc;
}

static void take_stamp(folder *f, stamp *s)
{
    char p[PATH_MAX];
    ident_path(f->path, &s->dir);
    snprintf(p, sizeof p, "%s/checkpoint", f->path);
    ident_path(p, &s->state);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->seen_ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Whether a stamp is too young to vouch that nothing changed within its timestamp tick. */
static int stamp_fresh(const stamp *s)
{
    long long d = (long long)s->dir.mtime.tv_sec * 1000000000LL + s->dir.mtime.tv_nsec;
    long long t = (long long)s->state.mtime.tv_sec * 1000000000LL + s->state.mtime.tv_nsec;
    return s->seen_ns - d < STAMP_SLACK_NS || s->seen_ns - t < STAMP_SLACK_NS;
}

/* Rescan now, logging a failure. */
static void rescan_logged(folder *f)
{
    ckpt_err err;
    ckpt_err_clear(&err);
    take_stamp(f, &f->seen);
    atomic_store(&f->checked_ms, now_ms());
    if (rescan(f, 0, &err))
        f->ns.log(f->ns.log_ctx, err.msg);
    wake(f); /* the watcher tells the kernel what changed */
}

/* Where inotify may not fire: rescan when the directory's or the state file's stamp moved. */
static void revalidate(folder *f)
{
    if (f->remote) /* a remote folder is the listing the mount took */
        return;
    pthread_mutex_lock(&f->scan_mu);
    if (now_ms() - atomic_load(&f->checked_ms) >= (long long)(f->ns.opts->poll * 1000)) {
        stamp now;
        take_stamp(f, &now);
        atomic_store(&f->checked_ms, now_ms());
        if (!ident_eq(&now.dir, &f->seen.dir) || !ident_eq(&now.state, &f->seen.state) ||
            stamp_fresh(&f->seen))
            rescan_logged(f);
    }
    pthread_mutex_unlock(&f->scan_mu);
}

/* --- the watcher ----------------------------------------------------------------------------- */

/* Tell the kernel what changed (no lock of ours held while it runs). */
static void send_notes(folder *f)
{
    pthread_mutex_lock(&f->note_mu);
    char **names = f->notes;
    size_t n = f->nnotes;
    int root = f->note_root;
    f->notes = NULL;
    f->nnotes = 0;
    f->note_root = 0;
    pthread_mutex_unlock(&f->note_mu);
    for (size_t k = 0; k < n; k++) {
        if (f->se)
            fuse_lowlevel_notify_inval_entry(f->se, CKFS_INO_ROOT, names[k], strlen(names[k]));
        free(names[k]);
    }
    free(names);
    if (root && f->se) {
        fuse_lowlevel_notify_inval_inode(f->se, CKFS_INO_ROOT, 0, 0);
        fuse_lowlevel_notify_inval_inode(f->se, INO_LATEST, 0, 0);
        fuse_lowlevel_notify_inval_inode(f->se, INO_TSV, 0, 0);
    }
}

/* Close what nobody needs: checkpoints that left the folder at once, others when idle. */
static void close_idle(folder *f)
{
    long long now = now_ms(), idle = (long long)(f->ns.opts->idle * 1000);
    pthread_rwlock_rdlock(&f->mu);
    for (size_t k = 0; k < f->nviews; k++) {
        fview *fv = f->views[k];
        if (!ckfs_view_is_open(&fv->v) || atomic_load(&fv->holds))
            continue;
        if (atomic_load(&fv->gone) || now - atomic_load(&fv->last_use) >= idle)
            try_close(f, fv);
    }
    pthread_rwlock_unlock(&f->mu);
}

/* Read inotify events; 1 if any may change the set. */
static int drain_inotify(folder *f)
{
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    int any = 0;
    for (;;) {
        ssize_t n = read(f->ino_fd, buf, sizeof buf);
        if (n <= 0)
            return any;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *e = (const struct inotify_event *)p;
            /* A save's temporary files come and go many times per step; only the renames
             * and removals that make or end a checkpoint matter, plus the state file. */
            if (!e->len || !strstr(e->name, "tempstate"))
                any = 1;
            p += sizeof *e + e->len;
        }
    }
}

static void *watch(void *arg)
{
    folder *f = arg;
    long long due = -1; /* when to rescan for events already seen */
    while (!atomic_load(&f->stop)) {
        struct pollfd pf[2] = {{f->wake_fd, POLLIN, 0}, {f->ino_fd, POLLIN, 0}};
        long long now = now_ms();
        int timeout = due >= 0 ? (int)(due > now ? due - now : 0) : 1000;
        int n = poll(pf, f->ino_fd >= 0 ? 2 : 1, timeout);
        if (n > 0 && (pf[0].revents & POLLIN)) {
            uint64_t x;
            if (read(f->wake_fd, &x, sizeof x) < 0) {
                /* nothing was pending */
            }
        }
        if (n > 0 && f->ino_fd >= 0 && (pf[1].revents & POLLIN) && drain_inotify(f) && due < 0)
            due = now_ms() + SETTLE_MS;
        if (atomic_exchange(&f->rescan_wanted, 0) && due < 0)
            due = now_ms();
        if (due >= 0 && now_ms() >= due) {
            due = -1;
            pthread_mutex_lock(&f->scan_mu);
            rescan_logged(f);
            pthread_mutex_unlock(&f->scan_mu);
        }
        send_notes(f);
        close_idle(f);
    }
    return NULL;
}

static int f_start(ckfs_ns *ns, struct fuse_session *se)
{
    folder *f = F(ns);
    f->se = se;
    f->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    f->ino_fd = ns->opts->noinotify || f->remote ? -1 : inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (f->ino_fd >= 0 &&
        inotify_add_watch(f->ino_fd, f->path,
                          IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE |
                              IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
        close(f->ino_fd);
        f->ino_fd = -1;
    }
    if (f->ino_fd < 0 && !ns->opts->noinotify && !f->remote)
        f->ns.log(f->ns.log_ctx, "no inotify on the folder: changes show on revalidation only");
    if (f->wake_fd < 0 || pthread_create(&f->thread, NULL, watch, f) != 0) {
        f->ns.log(f->ns.log_ctx, "cannot start the folder watcher: changes show on "
                                 "revalidation only, unused checkpoints stay open");
        return -1;
    }
    f->started = 1;
    /* Changes between the mount's scan and now (a remote folder: none are followed). */
    if (!f->remote) {
        atomic_store(&f->rescan_wanted, 1);
        wake(f);
    }
    return 0;
}

static void f_stop(ckfs_ns *ns)
{
    folder *f = F(ns);
    if (f->started) {
        atomic_store(&f->stop, 1);
        wake(f);
        pthread_join(f->thread, NULL);
        f->started = 0;
    }
    f->se = NULL;
    if (f->ino_fd >= 0)
        close(f->ino_fd);
    if (f->wake_fd >= 0)
        close(f->wake_fd);
    f->ino_fd = f->wake_fd = -1;
}

static void f_destroy(ckfs_ns *ns)
{
    folder *f = F(ns);
    if (!f)
        return;
    f_stop(ns);
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
                                       .start = f_start,
                                       .stop = f_stop,
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
            take_stamp(f, &f->seen);
        atomic_store(&f->checked_ms, now_ms());
        rc = rescan(f, 1, err);
    }
    if (rc) {
        f_destroy(&f->ns);
        return rc;
    }
    f->mtime = dst.st_mtim; /* the mount's scan is no change */
    /* Nothing to tell the kernel about the mount's own scan. */
    pthread_mutex_lock(&f->note_mu);
    for (size_t k = 0; k < f->nnotes; k++)
        free(f->notes[k]);
    free(f->notes);
    f->notes = NULL;
    f->nnotes = 0;
    f->note_root = 0;
    pthread_mutex_unlock(&f->note_mu);
    *out = &f->ns;
    return 0;
}
