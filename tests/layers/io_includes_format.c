/* The byte sources (ckpt_io) may not see the format's headers: this include must not compile. */
#include "table.h"
int layers_io_includes_format(void);
int layers_io_includes_format(void)
{
    return 0;
}
