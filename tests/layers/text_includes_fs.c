/* The renderers (ckpttext) may not see the daemon's headers: this include must not compile. */
#include "ll.h"
int layers_text_includes_fs(void);
int layers_text_includes_fs(void)
{
    return 0;
}
