/* The byte sources (ckpt_io) may not see the resolver: they know files, not checkpoints: this
 * include must not compile. */
#include "resolve.h"
int layers_io_includes_model(void);
int layers_io_includes_model(void)
{
    return 0;
}
