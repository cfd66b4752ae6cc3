/*
 * worker.h - the commands' helper threads (the export's writer and checker).
 *
 * A command's signal handler only sets a flag that its main loop polls between pieces, and
 * relies on the signal arriving at that thread: a helper thread that took SIGINT would leave
 * the main thread's blocking call running. So every helper blocks all signals.
 */
#ifndef CKPTFS_WORKER_H
#define CKPTFS_WORKER_H

#include <pthread.h>

/* pthread_create of fn(arg) with every signal blocked in the new thread: 0, or its error. */
int cli_worker_start(pthread_t *th, void *(*fn)(void *), void *arg);

#endif
