/* fuzz_v1.c - a V1 checkpoint file (a table of SavedTensorSlices records). */
#include "fuzz_common_ckpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("v1.ckpt", data, size);
    if (path)
        fuzz_exercise(path);
    return 0;
}
