/* fuzz_state.c - the `checkpoint` state file (text-format CheckpointState) parser. */
#include "fuzz.h"
#include "resolve_local.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *latest = NULL, **all = NULL;
    size_t nall = 0;
    ckpt_err err;
    ckpt_err_clear(&err);
    if (ckpt_parse_state_file((const char *)data, size, &latest, &all, &nall, &err) == 0) {
        free(latest);
        ckpt_free_paths(all, nall);
    }
    return 0;
}
