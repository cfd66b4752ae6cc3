/*
 * logger.h - the daemon's log lines: to stderr in the foreground, else to the system logger,
 * never blocking.
 *
 * glibc's syslog(3) sends on a blocking datagram socket: when the logger stops reading (a hung
 * or busy logger, a full queue) the sending thread waits, and a daemon thread that waits
 * inside a FUSE request hangs every process reading the mount. Here a line that cannot be
 * handed over at once is dropped and counted instead.
 */
#ifndef CKPTFS_LOGGER_H
#define CKPTFS_LOGGER_H

#include <pthread.h>
#include <stdint.h>

typedef struct ckfs_syslog {
    pthread_mutex_t mu; /* protects fd (connecting); sends themselves need no lock */
    int fd;             /* connected to /dev/log, or -1 (connected on the next line) */
    uint64_t dropped;   /* lines the logger could not take at once */
} ckfs_syslog;

void ckfs_syslog_init(ckfs_syslog *s);

void ckfs_syslog_close(ckfs_syslog *s);

/* The mount's context (ll.h). */
typedef struct ckfs ckfs;

/* Longest log line; longer ones are cut. */
#define CKFS_LOG_LINE_MAX 1024

/* Log one line of the mount fs (to stderr in the foreground, else to syslog). */
void ckfs_log(const ckfs *fs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A plain line, logged as ckfs_log does (ctx: the ckfs). */
void ckfs_log_line(void *ctx, const char *msg);

#endif
