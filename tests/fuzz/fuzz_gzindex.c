/*
 * fuzz_gzindex.c - the .tar.gz index kept in cache_dir= (reader/io/archive_gz.c): its counts,
 * seek points (order, offsets, bit counts) and member records, checked before they are
 * believed. The key is fixed, so inputs that pass the checksum reach the rest; an index that
 * loads is then used: every member is read from a stream of zeros through its seek points,
 * which must fail cleanly (those bytes are no deflate data).
 */
#include "archive_internal.h"
#include "crc32c.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#define KEY "fuzz"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A valid checksum is too much to guess: put it right, so the parser's checks behind it
     * are reached (a damaged checksum is the first thing tested anyway). */
    uint8_t *buf = malloc(size + 4);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    uint32_t c = ckpt_crc32c(buf, size);
    for (int i = 0; i < 4; i++)
        buf[size + i] = (uint8_t)(c >> (8 * i));
    const char *path = fuzz_write("zeros.gz", (const uint8_t *)"\0\0\0\0\0\0\0\0", 8);
    ckpt_file *base = NULL;
    ckpt_err err;
    if (path && ckpt_file_open(ckpt_bytesrc_local(), path, &base, &err) == 0) {
        ckpt_zseek *z;
        ckpt_ar_table t = {0};
        if (ckpt_zseek_new(base, 0, base->size, CKPT_ZSEEK_GZIP, CKPT_ZSEEK_UNKNOWN, 0, 0,
                           CKPT_ZSEEK_SPAN, "fuzz", NULL, &z, &err) == 0) {
            if (ckpt__tgz_index_decode(buf, size + 4, KEY, z, &t, &err) == 0) {
                uint8_t b[64];
                for (size_t i = 0; i < t.n && i < 8; i++)
                    if (t.m[i].usize)
                        ckpt_zseek_read(z, b,
                                        t.m[i].usize < sizeof b ? (size_t)t.m[i].usize : sizeof b,
                                        t.m[i].off, &err);
            }
            ckpt_zseek_free(z);
        }
        ckpt__ar_free(&t);
        ckpt_file_close(base);
    }
    free(buf);
    return 0;
}
