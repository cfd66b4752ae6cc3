/*
 * exitcodes.h - the exit statuses of `ckptfs` and `mount.ckptfs` (documented in docs/mount.md
 * and the README). Each failure class has its own number so that scripts and mount(8) callers
 * can tell a typo from a damaged checkpoint from a missing shard.
 */
#ifndef CKPTFS_EXITCODES_H
#define CKPTFS_EXITCODES_H

#include "err.h"

enum {
    CKPTFS_EXIT_OK = 0,
    CKPTFS_EXIT_USAGE = 1,      /* bad command line or mount option */
    CKPTFS_EXIT_SOURCE = 2,     /* source not found or not a checkpoint */
    CKPTFS_EXIT_CORRUPT = 3,    /* checkpoint damaged or of an unsupported kind */
    CKPTFS_EXIT_SHARD = 4,      /* a tensor asked for is on a missing data shard */
    CKPTFS_EXIT_MOUNTPOINT = 5, /* mountpoint missing, not a directory, or not usable */
    CKPTFS_EXIT_FUSE = 6,       /* FUSE unavailable or the kernel refused the mount */
    CKPTFS_EXIT_READ = 7,       /* reading a variable failed (I/O error, checksum mismatch) */
    CKPTFS_EXIT_WRITE = 8,      /* `export` could not write its destination */
};

/* Map a libckpt error code from opening a checkpoint to an exit status. */
static inline int ckptfs_exit_for(int ckpt_code)
{
    switch (ckpt_code) {
    case CKPT_OK: return CKPTFS_EXIT_OK;
    case CKPT_E_NOTFOUND: return CKPTFS_EXIT_SOURCE;
    case CKPT_E_MISSING: return CKPTFS_EXIT_SHARD;
    case CKPT_E_IO: return CKPTFS_EXIT_READ;
    case CKPT_E_INVALID: return CKPTFS_EXIT_USAGE;
    default: return CKPTFS_EXIT_CORRUPT;
    }
}

#endif
