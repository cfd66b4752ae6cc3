/*
 * fuzz_tar.c - tar headers (reader/io/archive_tar.c): ustar names and prefixes, octal and
 * base-256 sizes, pax 'x' records and GNU 'L' long names, checksums, members claiming more
 * than the archive holds; read from memory, as a plain tar (size known) and as a stream whose
 * size is learnt at its end (a .tar.gz).
 */
#include "archive_internal.h"
#include "fuzz.h"

#include <string.h>

typedef struct mem {
    const uint8_t *p;
    size_t n;
    int stream; /* answer "nothing there" at the end, as the .tar.gz reader does */
} mem;

static int mem_read(void *ctx, void *buf, size_t n, uint64_t off, ckpt_err *err)
{
    mem *m = ctx;
    if (m->stream && off >= m->n)
        return ckpt_err_set(err, CKPT_E_NOTFOUND, "the stream ends");
    if (off > m->n || n > m->n - off)
        return ckpt_err_set(err, CKPT_E_CORRUPT, "past the end");
    memcpy(buf, m->p + off, n);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int stream = 0; stream < 2; stream++) {
        mem m = {data, size, stream};
        ckpt_ar_table t = {0};
        ckpt_err err;
        if (ckpt__tar_read(mem_read, &m, stream ? CKPT_ZSEEK_UNKNOWN : size, "fuzz.tar", &t,
                           &err) == 0) {
            ckpt__ar_sort(&t);
            for (size_t i = 0; i < t.n; i++)
                ckpt__ar_find(&t, t.m[i].name);
        }
        ckpt__ar_free(&t);
    }
    return 0;
}
