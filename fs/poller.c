/* poller.c - see poller.h. */
#include "poller.h"

#include <stdatomic.h>
#include <time.h>

static void *run(void *arg)
{
    ckfs_poller *p = arg;
    const struct timespec period = {0, p->period_ns};
    while (!atomic_load(&p->stop) && !p->ask(p->arg))
        nanosleep(&period, NULL);
    return NULL;
}

void ckfs_poller_init(ckfs_poller *p)
{
    p->running = 0;
    atomic_store(&p->stop, 0);
}

int ckfs_poller_start(ckfs_poller *p, ckfs_poll_fn ask, void *arg, long period_ns)
{
    ckfs_poller_init(p);
    p->ask = ask;
    p->arg = arg;
    p->period_ns = period_ns;
    if (pthread_create(&p->thread, NULL, run, p) != 0)
        return -1;
    p->running = 1;
    return 0;
}

void ckfs_poller_stop(ckfs_poller *p)
{
    if (!p->running)
        return;
    atomic_store(&p->stop, 1);
    pthread_join(p->thread, NULL);
    p->running = 0;
}
