/* idle.c - see idle.h. */
#include "idle.h"

#include <signal.h>
#include <time.h>

/* How often the watchdog looks: the unmount comes at most this late. */
#define IDLE_POLL_NS 200000000L

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ckfs_idle_touch(ckfs *fs)
{
    if (fs->opts.timeout)
        atomic_store_explicit(&fs->last_request, now_ms(), memory_order_relaxed);
}

static void *watch(void *arg)
{
    ckfs_idle_watch *w = arg;
    const struct timespec poll = {0, IDLE_POLL_NS};
    while (!atomic_load(&w->stop)) {
        nanosleep(&poll, NULL);
        long long idle = now_ms() - atomic_load(&w->fs->last_request);
        if (atomic_load(&w->fs->open_files) == 0 && idle >= 1000LL * w->fs->opts.timeout) {
            ckfs_log(w->fs, "idle for %u s (-o timeout): unmounting", w->fs->opts.timeout);
            /* libfuse's SIGTERM handler ends the loop; the signal also interrupts its wait */
            pthread_kill(w->loop, SIGTERM);
            break;
        }
    }
    return NULL;
}

int ckfs_idle_start(ckfs_idle_watch *w, ckfs *fs, pthread_t loop)
{
    w->running = 0;
    atomic_store(&w->stop, 0);
    w->fs = fs;
    w->loop = loop;
    if (!fs->opts.timeout)
        return 0;
    atomic_store(&fs->last_request, now_ms());
    if (pthread_create(&w->thread, NULL, watch, w) != 0)
        return -1;
    w->running = 1;
    return 0;
}

void ckfs_idle_stop(ckfs_idle_watch *w)
{
    if (!w->running)
        return;
    atomic_store(&w->stop, 1);
    pthread_join(w->thread, NULL);
    w->running = 0;
}
