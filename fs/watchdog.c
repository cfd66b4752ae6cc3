/* watchdog.c - see watchdog.h. */
#include "watchdog.h"

#include "clock.h"

#include <signal.h>
#include <time.h>

/* How often the watchdog looks: the unmount comes at most this late. */
#define WATCHDOG_POLL_NS 200000000L

void ckfs_watchdog_touch(ckfs *fs)
{
    if (fs->opts.timeout)
        atomic_store_explicit(&fs->last_request, ckfs_now_ms(), memory_order_relaxed);
}

static void *watch(void *arg)
{
    ckfs_watchdog *w = arg;
    const struct timespec poll = {0, WATCHDOG_POLL_NS};
    while (!atomic_load(&w->stop)) {
        nanosleep(&poll, NULL);
        long long unused = ckfs_now_ms() - atomic_load(&w->fs->last_request);
        if (atomic_load(&w->fs->open_files) == 0 && unused >= 1000LL * w->fs->opts.timeout) {
            ckfs_log(w->fs, "idle for %u s (-o timeout): unmounting", w->fs->opts.timeout);
            /* libfuse's SIGTERM handler ends the loop; the signal also interrupts its wait */
            pthread_kill(w->loop, SIGTERM);
            break;
        }
    }
    return NULL;
}

int ckfs_watchdog_start(ckfs_watchdog *w, ckfs *fs, pthread_t loop)
{
    w->running = 0;
    atomic_store(&w->stop, 0);
    w->fs = fs;
    w->loop = loop;
    if (!fs->opts.timeout)
        return 0;
    atomic_store(&fs->last_request, ckfs_now_ms());
    if (pthread_create(&w->thread, NULL, watch, w) != 0)
        return -1;
    w->running = 1;
    return 0;
}

void ckfs_watchdog_stop(ckfs_watchdog *w)
{
    if (!w->running)
        return;
    atomic_store(&w->stop, 1);
    pthread_join(w->thread, NULL);
    w->running = 0;
}
