/*
 * ll.h - the FUSE low-level operations of a mount and their context.
 *
 * One ckfs context per mount, passed to libfuse as userdata: nothing is global. What the
 * mount shows, and which node an inode number names, is the name space's business (ns.h: one
 * checkpoint, or a training folder); the operations here only turn requests into its answers.
 *
 * Locks, in the order they may be taken (never the other way):
 *   ckfs.texts.mu       the unused rendered texts (textlru.h); nothing else is taken while
 *                       it is held
 *   a view's lock       (view.h) a leaf: protects its lazy cells' refs and content
 *   ckfs_file.mu        a leaf: protects one open file's running checksum (file.h)
 *   ckfs.files_mu       a leaf: the list of open files
 * Work that can take long (opening a checkpoint, rendering a text, reading a tensor) runs with
 * no lock held.
 */
#ifndef CKPTFS_LL_H
#define CKPTFS_LL_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "logger.h"
#include "mntopts.h"
#include "ns.h"
#include "textlru.h"
#include "view.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct ckfs {
    ckfs_opts opts;
    int foreground;     /* log to stderr, else syslog */
    ckfs_syslog syslog; /* the daemon's logger connection (never blocks) */
    struct fuse_session *se;
    int ready_fd;   /* write end of the pipe the waiting parent reads; -1 if none */
    int no_opendir; /* the kernel skips OPENDIR when we answer ENOSYS; set at init */
    ckfs_ns *ns;    /* what the mount shows */

    /* For -o timeout (watchdog.h): when the last request came (CLOCK_MONOTONIC milliseconds)
     * and how many files are open; a mount is unused when none is open and no request came
     * lately. */
    _Atomic long long last_request;
    _Atomic long open_files;
    /* Open files that read through a stream (stream.h), each up to 2 MiB of buffers: at most
     * CKFS_STREAMS_MAX at a time (file.c), the others read directly. */
    _Atomic int streams;

    /* Rendered graph texts no open file reads (textlru.h). Protected by texts.mu. */
    ckfs_textlru texts;

    /* Every open file: an aborted connection (umount -f) never sends their RELEASEs, and the
     * daemon frees them itself when it ends (ckfs_files_close_all). Protected by files_mu. */
    pthread_mutex_t files_mu;
    struct ckfs_file *files;

    /* Raised once the session has exited: URL sources' requests give up (hangup.h). */
    _Atomic int *net_cancel;
} ckfs;

/* The operations table. */
extern const struct fuse_lowlevel_ops ckfs_ll_ops;

#endif
