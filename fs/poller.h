/*
 * poller.h - a thread that asks one question at a fixed period until the answer is yes or it
 * is stopped: the -o timeout watchdog (watchdog.h) and the hangup watcher (hangup.h).
 */
#ifndef CKPTFS_POLLER_H
#define CKPTFS_POLLER_H

#include <pthread.h>

/* Asked every period: non-zero ends the thread. */
typedef int (*ckfs_poll_fn)(void *arg);

typedef struct ckfs_poller {
    pthread_t thread;
    int running;      /* a thread was started (set and read by the starting thread only) */
    _Atomic int stop; /* ckfs_poller_stop asks the thread to end */
    ckfs_poll_fn ask;
    void *arg;
    long period_ns; /* below one second */
} ckfs_poller;

/* A poller that was not started (ckfs_poller_stop is then a no-op). */
void ckfs_poller_init(ckfs_poller *p);

/* Ask ask(arg) now and every period_ns (< 1 s) in a new thread until it says yes or the
 * poller is stopped. 0, or -1 if no thread could be made. */
int ckfs_poller_start(ckfs_poller *p, ckfs_poll_fn ask, void *arg, long period_ns);

/* Stop and join the thread (no-op when none was started). */
void ckfs_poller_stop(ckfs_poller *p);

#endif
