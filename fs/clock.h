/*
 * clock.h - the daemon's one clock for time spans: CLOCK_MONOTONIC in milliseconds (the
 * -o timeout watchdog, a folder's -o poll and -o idle).
 */
#ifndef CKPTFS_CLOCK_H
#define CKPTFS_CLOCK_H

#include <time.h>

/* Milliseconds since an arbitrary fixed point; never goes back. */
static inline long long ckfs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
