/*
 * hangup.h - requests to URL sources given up as soon as the mount is gone.
 *
 * Unmounted while a worker waits on a slow server, the daemon cannot end before that request
 * does: libfuse joins its workers first. The session learns of the unmount at once (a free
 * worker reads ENODEV and exits the session), so a watcher sees that and raises the flag the
 * remote sources were given (ckpt_net_opts.cancel): their requests give up within a second
 * and the daemon exits. The single-threaded loop (-s) has no free worker to learn it.
 */
#ifndef CKPTFS_HANGUP_H
#define CKPTFS_HANGUP_H

#include "ll.h"
#include "poller.h"

/* The watcher of one serving loop. */
typedef struct ckfs_hangup_watch {
    ckfs_poller poller;
    struct fuse_session *se;
    _Atomic int *cancel;
} ckfs_hangup_watch;

/* Watch se and raise *cancel once it has exited (nothing when cancel is NULL). 0, or -1 if no
 * thread could be made. */
int ckfs_hangup_start(ckfs_hangup_watch *w, struct fuse_session *se, _Atomic int *cancel);

/* Stop and join the watcher (no-op when none was started). */
void ckfs_hangup_stop(ckfs_hangup_watch *w);

#endif
