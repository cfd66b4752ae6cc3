/*
 * watchdog.h - `-o timeout=SECONDS`: a mount that unmounts itself once unused for that long, as
 * squashfuse_ll's timeout does (automounted or on-demand mounts then clean up after
 * themselves).
 *
 * Unused means: no request for the timeout and no open file (a reader holding a file open but
 * pausing keeps the mount). The watchdog then stops the session loop the way SIGTERM does, so
 * the caller's usual path unmounts and exits.
 */
#ifndef CKPTFS_WATCHDOG_H
#define CKPTFS_WATCHDOG_H

#include "ll.h"
#include "poller.h"

/* Note a request now. */
void ckfs_watchdog_touch(ckfs *fs);

/* The watchdog of one serving loop. */
typedef struct ckfs_watchdog {
    ckfs_poller poller;
    ckfs *fs;
    pthread_t loop;
} ckfs_watchdog;

/*
 * Start watching fs when fs->opts.timeout is set (else do nothing); loop is the thread
 * running the session loop, which gets the SIGTERM. 0, or -1 if no thread could be made.
 */
int ckfs_watchdog_start(ckfs_watchdog *w, ckfs *fs, pthread_t loop);

/* Stop and join the watchdog (no-op when none was started). */
void ckfs_watchdog_stop(ckfs_watchdog *w);

#endif
