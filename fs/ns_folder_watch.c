/*
 * ns_folder_watch.c - a training folder's watcher thread (see ns_folder.h): it reads inotify
 * events and rescans once a burst of them settles, tells the kernel which root entries
 * changed, and closes the checkpoints nobody needs (those that left the folder at once, the
 * others after -o idle seconds unused).
 */
#include "ns_folder.h"

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "clock.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

/* A burst of events (shards, .index, state file) is read as one change this much later. */
#define SETTLE_MS 20

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

/* Close what nobody needs: checkpoints that left the folder at once, others after -o idle
 * seconds unused. */
static void close_idle(folder *f)
{
    long long now = ckfs_now_ms(), idle = (long long)(f->ns.opts->idle * 1000);
    pthread_rwlock_rdlock(&f->mu);
    for (size_t k = 0; k < f->nviews; k++) {
        fview *fv = f->views[k];
        if (!ckfs_view_is_open(&fv->v) || atomic_load(&fv->holds))
            continue;
        if (atomic_load(&fv->gone) || now - atomic_load(&fv->last_use) >= idle)
            ckfs_folder_try_close(f, fv);
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
        long long now = ckfs_now_ms();
        int timeout = due >= 0 ? (int)(due > now ? due - now : 0) : 1000;
        int n = poll(pf, f->ino_fd >= 0 ? 2 : 1, timeout);
        if (n > 0 && (pf[0].revents & POLLIN)) {
            uint64_t x;
            if (read(f->wake_fd, &x, sizeof x) < 0) {
                /* nothing was pending */
            }
        }
        if (n > 0 && f->ino_fd >= 0 && (pf[1].revents & POLLIN) && drain_inotify(f) && due < 0)
            due = ckfs_now_ms() + SETTLE_MS;
        if (atomic_exchange(&f->rescan_wanted, 0) && due < 0)
            due = ckfs_now_ms();
        if (due >= 0 && ckfs_now_ms() >= due) {
            due = -1;
            pthread_mutex_lock(&f->scan_mu);
            ckfs_folder_rescan_logged(f);
            pthread_mutex_unlock(&f->scan_mu);
        }
        send_notes(f);
        close_idle(f);
    }
    return NULL;
}

int ckfs_folder_start(ckfs_ns *ns, struct fuse_session *se)
{
    folder *f = ckfs_folder_of(ns);
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
        ckfs_folder_wake(f);
    }
    return 0;
}

void ckfs_folder_stop(ckfs_ns *ns)
{
    folder *f = ckfs_folder_of(ns);
    if (f->started) {
        atomic_store(&f->stop, 1);
        ckfs_folder_wake(f);
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
