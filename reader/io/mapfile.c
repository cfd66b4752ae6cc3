/*
 * mapfile.c - see mapfile.h: every source's whole-file read gives a mapping that munmap
 * releases (the local source maps the file, the remote and archive sources a memory file).
 */
#include "mapfile.h"

#include "scheme.h"

#include <stdlib.h>

#include <string.h>

/* The whole of path through src, as a mapping munmap releases. */
static int map_via(const ckpt_bytesrc *src, const char *path, void **map, size_t *len,
                   ckpt_err *err)
{
    *map = NULL;
    *len = 0;
    ckpt_file *f;
    int rc = ckpt_file_open(src, path, &f, err);
    ckpt_bytes b = {0};
    if (!rc) {
        rc = ckpt_file_read_all(f, &b, err);
        ckpt_file_close(f);
    }
    if (rc)
        return rc;
    *map = (void *)b.data;
    *len = b.len;
    return 0;
}

int ckpt_map_file(const char *path, void **map, size_t *len, ckpt_err *err)
{
    ckpt_bytesrc *src;
    char *name;
    *map = NULL;
    *len = 0;
    int rc = ckpt_bytesrc_for(path, NULL, &src, &name, err);
    if (rc)
        return rc;
    rc = map_via(src, name, map, len, err);
    free(name);
    ckpt_bytesrc_release(src);
    return rc;
}

int ckpt_map_file_src(const ckpt_bytesrc *src, const char *path, void **map, size_t *len,
                      ckpt_err *err)
{
    if (!src || src == ckpt_bytesrc_local())
        return ckpt_map_file(path, map, len, err);
    return map_via(src, path, map, len, err);
}
