/*
 * bytesrc_local.h - local-file helpers of the local byte source: reading fully, what a name is.
 *
 * A checkpoint directory is not trusted: any of its names may be a FIFO, a device or a
 * directory, and opening a FIFO for reading blocks until a writer appears, which in the daemon
 * would hang a worker thread forever. The local byte source (bytesrc.h) is built on these;
 * libckpt's format code reads through that seam, these stay for callers that need a plain
 * descriptor or mapping. Implemented in bytesrc_local.c.
 */
#ifndef CKPT_BYTESRC_LOCAL_H
#define CKPT_BYTESRC_LOCAL_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* Non-zero if path (followed through links) is a regular file / a directory. */
int ckpt_is_regular_file(const char *path);
int ckpt_is_directory(const char *path);

/*
 * Non-zero if fd's file lives on a file system where each request is a round trip to somewhere
 * else: NFS, SMB/CIFS, 9p, Ceph, Lustre, GPFS, GlusterFS... and FUSE (sshfs, s3fs, gcsfuse).
 * There large requests and read-ahead matter more than a copy saved (checkpoint.h,
 * ckpt_cache_shards).
 */
int ckpt_fd_on_network_fs(int fd);

/* pread exactly n bytes at off: 0, -errno, or -ENODATA when the file ends first. */
int ckpt_pread_full(int fd, void *buf, size_t n, uint64_t off);

#endif
