/* hangup.c - see hangup.h. */
#include "hangup.h"

#include <stdatomic.h>
#include <time.h>

/* How often the watcher looks: requests give up at most this late after the unmount (plus
 * curl's progress callback, about a second). */
#define HANGUP_POLL_NS 200000000L

static void *watch(void *arg)
{
    ckfs_hangup_watch *w = arg;
    const struct timespec poll = {0, HANGUP_POLL_NS};
    while (!atomic_load(&w->stop)) {
        if (fuse_session_exited(w->se)) {
            atomic_store(w->cancel, 1);
            break;
        }
        nanosleep(&poll, NULL);
    }
    return NULL;
}

int ckfs_hangup_start(ckfs_hangup_watch *w, struct fuse_session *se, _Atomic int *cancel)
{
    w->running = 0;
    atomic_store(&w->stop, 0);
    w->se = se;
    w->cancel = cancel;
    if (!cancel)
        return 0;
    if (pthread_create(&w->thread, NULL, watch, w) != 0)
        return -1;
    w->running = 1;
    return 0;
}

void ckfs_hangup_stop(ckfs_hangup_watch *w)
{
    if (!w->running)
        return;
    atomic_store(&w->stop, 1);
    pthread_join(w->thread, NULL);
    w->running = 0;
}
