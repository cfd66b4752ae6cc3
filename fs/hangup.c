/* hangup.c - see hangup.h. */
#include "hangup.h"

#include <stdatomic.h>

/* How often the watcher looks: requests give up at most this late after the unmount (plus
 * curl's progress callback, about a second). */
#define HANGUP_POLL_NS 200000000L

/* Whether the session has exited: then raise the flag. */
static int exited(void *arg)
{
    ckfs_hangup_watch *w = arg;
    if (!fuse_session_exited(w->se))
        return 0;
    atomic_store(w->cancel, 1);
    return 1;
}

int ckfs_hangup_start(ckfs_hangup_watch *w, struct fuse_session *se, _Atomic int *cancel)
{
    ckfs_poller_init(&w->poller);
    w->se = se;
    w->cancel = cancel;
    if (!cancel)
        return 0;
    return ckfs_poller_start(&w->poller, exited, w, HANGUP_POLL_NS);
}

void ckfs_hangup_stop(ckfs_hangup_watch *w)
{
    ckfs_poller_stop(&w->poller);
}
