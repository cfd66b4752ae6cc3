/*
 * fuzz_bundle.c - a V2 checkpoint: the input is a 4-byte little-endian length L, then L bytes
 * of PREFIX.index (the table, the header and bundle entries, slices), then the data shard.
 */
#include "coding.h"
#include "fuzz_common_ckpt.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint32_t ilen = ckpt_load_le32(data);
    if (ilen > size - 4)
        ilen = (uint32_t)(size - 4);
    if (!fuzz_write("c.index", data + 4, ilen) ||
        !fuzz_write("c.data-00000-of-00001", data + 4 + ilen, size - 4 - ilen))
        return 0;
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s/c", fuzz_dir());
    fuzz_exercise(prefix);
    return 0;
}
