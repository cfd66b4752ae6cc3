/* fuzz_signatures.c - the SavedModel signature renderer (`saved_model_cli show --all`) on a
 * saved_model.pb. */
#include "fuzz.h"
#include "signatures.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("saved_model.pb", data, size);
    if (!path)
        return 0;
    ckpt_strbuf b = {0};
    ckpt_err err;
    ckpt_err_clear(&err);
    ckpt_render_signatures(NULL, path, &b, &err);
    ckpt_strbuf_free(&b);
    return 0;
}
