/* varianttext.c - see varianttext.h. */
#include "varianttext.h"

#include "tensor.pb-c.h"

#include <inttypes.h>
#include <stdio.h>

int ckpt_variant_render(const ckpt_str *elems, uint64_t count, ckpt_write_fn write, void *ctx,
                        ckpt_err *err)
{
    for (uint64_t k = 0; k < count; k++) {
        char line[48];
        int n = snprintf(line, sizeof line, "# element %" PRIu64 "\n", k);
        int r = write(ctx, line, (size_t)n);
        if (r)
            return r < 0 ? r : ckpt_err_set(err, CKPT_E_IO, "output stopped");
        ckpt_pb_seg seg = {elems[k].ptr, (size_t)elems[k].len};
        r = ckpt_pbtext_print(&tensorflow__variant_tensor_data_proto__descriptor, &seg, 1, NULL,
                              write, ctx, err);
        if (r) {
            if (r < 0)
                ckpt_err_prefix(err, "variant element %" PRIu64, k);
            return r < 0 ? r : ckpt_err_set(err, CKPT_E_IO, "output stopped");
        }
    }
    return 0;
}
