/*
 * fuzz_objnames.c - the TF 2 object graph reader behind full names, slot links and by_name/
 * (reader/model/objnames.h). The input is a serialized TrackableObjectGraph; the checkpoint it
 * describes has 16 variables, and any non-empty key names one of them (by its hash), so the
 * fuzzer reaches attributes, shared full names and slot references without guessing keys.
 */
#include "fuzz.h"
#include "objnames.h"
#include "util.h"

#include <stdlib.h>

enum { NVARS = 16 };

static int find(void *ctx, const char *key, size_t len, size_t *idx)
{
    (void)ctx;
    if (len == 0)
        return -1;
    *idx = (size_t)(ckpt_hash64(key, len) % NVARS);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ckpt_names *n;
    ckpt_err err;
    ckpt_err_clear(&err);
    if (ckpt_names_parse(data, size, NVARS, find, NULL, "fuzz", &n, &err))
        return 0;
    for (size_t i = 0; i < NVARS; i++) {
        size_t len, orig;
        const char *slot;
        const char *f = ckpt_names_full(n, i, &len);
        if (f && f[len] != '\0')
            abort(); /* full names are NUL-terminated at their length */
        if (ckpt_names_slot(n, i, &orig, &slot) && orig >= NVARS)
            abort();
    }
    for (size_t j = 0; j < ckpt_names_links(n); j++) {
        size_t len, var, idx, count;
        const char *l = ckpt_names_link(n, j, &len, &var);
        /* Every link name finds a variable again: the one it links to, unless its bare form
         * is also a shared full name (then the full name, which is refused, comes first). */
        if (var >= NVARS || ckpt_names_find(n, l, len, &idx, &count) == CKPT_E_NOTFOUND)
            abort();
    }
    ckpt_names_free(n);
    return 0;
}
