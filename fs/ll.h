/*
 * ll.h - the FUSE low-level operations of a mounted checkpoint and their context.
 *
 * One ckfs context per mount, passed to libfuse as userdata: nothing is global. Everything
 * the view shows is fixed at mount (the tree); what needs data (a string tensor's text form)
 * is rendered on first open and its size remembered.
 */
#ifndef CKPTFS_LL_H
#define CKPTFS_LL_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "checkpoint.h"
#include "mntopts.h"
#include "tree.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Content rendered on demand; its size stays known once computed. */
typedef struct ckfs_lazy {
    int state;      /* 0 = never rendered, 1 = size known, -1 = rendering failed */
    uint64_t size;
    char *data;     /* NULL when not held */
    unsigned refs;  /* open files holding data */
} ckfs_lazy;

typedef struct ckfs {
    ckpt_checkpoint *c;
    ckfs_tree *tree;
    ckfs_opts opts;
    uid_t uid;
    gid_t gid;
    mode_t fmode, dmode;      /* permission bits of files and directories */
    struct timespec mtime;    /* the .index mtime, every node's times */
    int foreground;           /* log to stderr, else syslog */
    struct fuse_session *se;
    int ready_fd;             /* write end of the pipe the waiting parent reads; -1 if none */
    pthread_mutex_t mu;       /* guards strs and gens */
    ckfs_lazy *strs;          /* per variable; only string variables use theirs */
    ckfs_lazy gens[CKFS_GEN_MAX];
    int ngens;
    int *shard_fds;           /* read=splice: one descriptor per shard, -1 if absent */
    int nshards;
    int no_opendir;           /* the kernel skips OPENDIR when we answer ENOSYS */
    uint8_t *corrupt;         /* per variable: its checksum failed once, every read fails */
} ckfs;

/* Names of the generated root files, in inode order (variables.tsv first). */
extern const char *const ckfs_gen_names[];
extern const int ckfs_ngen;

/* The operations table. */
extern const struct fuse_lowlevel_ops ckfs_ll_ops;

/* Log one line (to stderr in the foreground, else to syslog). */
void ckfs_log(const ckfs *fs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
