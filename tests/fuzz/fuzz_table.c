/* fuzz_table.c - the table (SSTable) reader on a whole file in memory: open, walk every entry
 * (raw and snappy blocks, restarts, shared key prefixes). */
#include "fuzz.h"
#include "table.h"

static int visit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                 ckpt_err *err)
{
    (void)err;
    size_t *sum = ctx;
    *sum += klen + vlen + (klen ? key[0] : 0) + (vlen ? val[vlen - 1] : 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ckpt_table *t;
    ckpt_err err;
    ckpt_err_clear(&err);
    if (ckpt_table_open_mem(data, size, "fuzz", &t, &err))
        return 0;
    size_t sum = 0;
    ckpt_table_foreach(t, visit, &sum, &err);
    ckpt_table_close(t);
    return 0;
}
