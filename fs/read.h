/*
 * read.h - the read pipeline of an open file: a text or header from memory, a rendered text or
 * a shard's bytes moved by splice, a big variable's sequential reads from its stream
 * (stream.h), model.safetensors and tf/'s data file through their layouts, everything else
 * read from the shards and checked as -o verify says (docs/mount.md, "verify=").
 */
#ifndef CKPTFS_READ_H
#define CKPTFS_READ_H

#include "file.h"

/* Answer READ request req for size bytes at off of open file f (one reference held by the
 * caller), with the bytes or an error. */
void ckfs_read(fuse_req_t req, ckfs *fs, ckfs_file *f, size_t size, off_t off);

#endif
