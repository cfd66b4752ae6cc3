/* The model (ckpt) may not see the byte sources' private headers, only their API: this include must
 * not compile. */
#include "archive_internal.h"
int layers_model_includes_io_private(void);
int layers_model_includes_io_private(void)
{
    return 0;
}
