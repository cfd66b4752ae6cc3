/* watchdog.c - see watchdog.h. */
#include "watchdog.h"

#include "clock.h"

#include <signal.h>

/* How often the watchdog looks: the unmount comes at most this late. */
#define WATCHDOG_POLL_NS 200000000L

void ckfs_watchdog_touch(ckfs *fs)
{
    if (fs->opts.timeout)
        atomic_store_explicit(&fs->last_request, ckfs_now_ms(), memory_order_relaxed);
}

/* Whether the mount has been unused for the timeout: then stop its loop. */
static int expired(void *arg)
{
    ckfs_watchdog *w = arg;
    long long unused = ckfs_now_ms() - atomic_load(&w->fs->last_request);
    if (atomic_load(&w->fs->open_files) != 0 || unused < 1000LL * w->fs->opts.timeout)
        return 0;
    ckfs_log(w->fs, "idle for %u s (-o timeout): unmounting", w->fs->opts.timeout);
    /* libfuse's SIGTERM handler ends the loop; the signal also interrupts its wait */
    pthread_kill(w->loop, SIGTERM);
    return 1;
}

int ckfs_watchdog_start(ckfs_watchdog *w, ckfs *fs, pthread_t loop)
{
    ckfs_poller_init(&w->poller);
    w->fs = fs;
    w->loop = loop;
    if (!fs->opts.timeout)
        return 0;
    atomic_store(&fs->last_request, ckfs_now_ms());
    return ckfs_poller_start(&w->poller, expired, w, WATCHDOG_POLL_NS);
}

void ckfs_watchdog_stop(ckfs_watchdog *w)
{
    ckfs_poller_stop(&w->poller);
}
