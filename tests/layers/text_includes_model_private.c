/* The renderers (ckpttext) may not see the model's private header, only its API: this include must
 * not compile. */
#include "ckpt_internal.h"
int layers_text_includes_model_private(void);
int layers_text_includes_model_private(void)
{
    return 0;
}
