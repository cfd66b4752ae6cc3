/* missing.c - the warning about a checkpoint's missing data shards (see render.h). */
#include "render.h"

#include <stdio.h>

void ckpt_warn_missing_shards(const ckpt_checkpoint *c, ckpt_line_fn line, void *ctx)
{
    for (int s = 0; s < ckpt_num_shards(c); s++) {
        if (ckpt_shard_present(c, s))
            continue;
        char msg[CKPT_MISSING_MSG_MAX];
        snprintf(msg, sizeof msg,
                 "data shard %s is missing: its variables are listed, reading them fails",
                 ckpt_shard_path(c, s));
        line(ctx, msg);
    }
}
