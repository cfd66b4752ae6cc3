/*
 * fuzz_zip.c - an archive file as ckptfs opens one (reader/io/archive.c): the zip end record and
 * central directory read from the end, zip64 records, local headers, stored and deflated
 * members decoded with seek points; an input that is no zip goes on to the gzip and tar
 * readers, as the kind is picked by the bytes. Every member is opened and read at its start
 * and near its end.
 */
#include "archive_places.h"
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEMBERS_MAX 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("a.zip", data, size);
    if (!path)
        return 0;
    char archive[512];
    snprintf(archive, sizeof archive, "%s", path);
    ckpt_bytesrc *src;
    ckpt_err err;
    if (ckpt_archive_open(archive, NULL, &src, &err) != 0)
        return 0;
    char *inner = NULL;
    ckpt_archive_find(src, &inner, &err);
    free(inner);
    ckpt_listing l;
    char root[600];
    snprintf(root, sizeof root, "%s//", archive);
    if (ckpt_bytesrc_list(src, root, &l, &err) == 0) {
        static uint8_t buf[4096];
        for (size_t i = 0; i < l.n && i < MEMBERS_MAX; i++) {
            char name[1200];
            snprintf(name, sizeof name, "%s//%s", archive, l.e[i].name);
            ckpt_file *f;
            if (ckpt_file_open(src, name, &f, &err) != 0)
                continue;
            size_t n = f->size < sizeof buf ? (size_t)f->size : sizeof buf;
            ckpt_file_pread(f, buf, n, 0, &err);
            if (f->size > n && f->size <= FUZZ_READ_MAX)
                ckpt_file_pread(f, buf, n, f->size - n, &err);
            ckpt_file_close(f);
        }
        ckpt_listing_free(&l);
    }
    ckpt_archive_release(src);
    return 0;
}
