/*
 * ns_folder_hold.c - holding a training folder's views while requests and open files use
 * them, the identities that tell a checkpoint from its replacement, and the check that a
 * checkpoint opened on first use is the one listed (see ns_folder.h).
 *
 * View lifetime. A view struct (fview) is never freed while the mount lives; only its
 * checkpoint is closed: when it has left the folder, or has been unused for -o idle seconds.
 * Whoever uses a view's checkpoint or tree holds it (resolve .. put, an open file until its
 * release); the watcher closes only views nobody holds (see ckfs_folder_hold()).
 */
#include "ns_folder.h"

#include "clock.h"

#include <stdlib.h>
#include <unistd.h>

void ckfs_folder_wake(folder *f)
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
void ckfs_folder_hold(folder *f, fview *fv)
{
    for (;;) {
        atomic_fetch_add(&fv->holds, 1);
        if (!atomic_load(&fv->closing))
            break;
        atomic_fetch_sub(&fv->holds, 1);
        pthread_mutex_lock(&f->close_mu);
        pthread_mutex_unlock(&f->close_mu);
    }
    atomic_store(&fv->last_use, ckfs_now_ms());
}

/* A hold for a glance (xattr sums, statfs): none while the view is being closed. */
int ckfs_folder_try_hold(fview *fv)
{
    atomic_fetch_add(&fv->holds, 1);
    if (!atomic_load(&fv->closing))
        return 1;
    atomic_fetch_sub(&fv->holds, 1);
    return 0;
}

void ckfs_folder_unhold(folder *f, fview *fv)
{
    atomic_store(&fv->last_use, ckfs_now_ms());
    if (atomic_fetch_sub(&fv->holds, 1) == 1 && atomic_load(&fv->gone))
        ckfs_folder_wake(f); /* a deleted checkpoint's files: let them go now */
}

/* Close fv's checkpoint if nobody holds it (watcher only). */
int ckfs_folder_try_close(folder *f, fview *fv)
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

int ckfs_folder_ident_eq(const ident *a, const ident *b)
{
    if (!a->known || !b->known)
        return a->known == b->known;
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

void ckfs_folder_ident_path(const char *path, ident *id)
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

int ckfs_folder_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* fv's checkpoint is no longer the one listed: it leaves, and the watcher rescans. */
void ckfs_folder_leave(fview *fv)
{
    atomic_store(&fv->gone, 1);
    atomic_store(&fv->f->rescan_wanted, 1);
    ckfs_folder_wake(fv->f);
}

/*
 * The view's verify hook: the .index opened must be the one listed (else the checkpoint was
 * replaced: it is a new one, shown by a new view), and the index and every shard still the
 * files at their paths now (else a writer replaced some while they were opened, and an index
 * could be paired with another save's shard: try again later).
 */
int ckfs_folder_verify_open(ckfs_view *v, ckpt_checkpoint *c, ckpt_err *err)
{
    fview *fv = ckfs_fview_of(v);
    ident got;
    ident_of(ckpt_index_stat(c), &got);
    if (fv->id.known && !ckfs_folder_ident_eq(&fv->id, &got)) {
        ckfs_folder_leave(fv);
        return ckpt_err_set(err, CKPT_E_NOTFOUND,
                            "%s changed on disk since it was listed; shown anew", v->prefix);
    }
    char *ip = ckfs_view_index_path(v);
    if (!ip && fv->id.known && !ckfs_folder_file_exists(v->prefix)) {
        /* deleted while it was being opened (TF removes the .index first) */
        ckfs_folder_leave(fv);
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
        ckfs_folder_wake(fv->f);
        return ckpt_err_set(err, CKPT_E_IO, "%s: files replaced while opening; try again",
                            v->prefix);
    }
    return 0;
}
