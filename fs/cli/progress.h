/*
 * progress.h - a one-line progress bar on stderr (bytes done, rate, time left), drawn only
 * when stderr is a terminal so that logs and pipes never see carriage returns.
 */
#ifndef CKPTFS_PROGRESS_H
#define CKPTFS_PROGRESS_H

#include <stdint.h>

typedef struct cli_progress {
    int on; /* stderr is a terminal */
    uint64_t total, done;
    double start, last; /* monotonic seconds */
} cli_progress;

/* Start a bar for total bytes. */
void cli_progress_start(cli_progress *p, uint64_t total);

/* n more bytes done; redraws at most 10 times a second. */
void cli_progress_add(cli_progress *p, uint64_t n);

/* Erase the bar (before printing a message, and at the end). */
void cli_progress_clear(cli_progress *p);

#endif
