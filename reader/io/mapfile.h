/*
 * mapfile.h - a whole file as one read-only mapping, for the callers that parse a file at once
 * (a .meta, a saved_model.pb): read through a byte source, so a FIFO cannot hang the caller and
 * a remote file is read with its source's options and cache.
 */
#ifndef CKPT_MAPFILE_H
#define CKPT_MAPFILE_H

#include "bytesrc.h"
#include "err.h"

#include <stddef.h>

/*
 * Map the regular file at path read-only: *map (NULL for an empty file) and *len. Release with
 * munmap(*map, *len). A local path is mapped; a URL (net.h) is read whole into a memory file.
 */
int ckpt_map_file(const char *path, void **map, size_t *len, ckpt_err *err);

/* ckpt_map_file through byte source src, so a remote checkpoint's graph files are read with
 * its options and cache (same munmap release); src NULL: as ckpt_map_file. */
int ckpt_map_file_src(const ckpt_bytesrc *src, const char *path, void **map, size_t *len,
                      ckpt_err *err);

#endif
