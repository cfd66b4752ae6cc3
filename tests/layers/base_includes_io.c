/* The bottom layer (ckpt_base) may not see the byte sources' headers: this include must not
 * compile. */
#include "bytesrc.h"
int layers_base_includes_io(void);
int layers_base_includes_io(void)
{
    return 0;
}
