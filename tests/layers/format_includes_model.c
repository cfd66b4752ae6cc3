/* The format (ckpt_format) may not see the model's headers: this include must not compile. */
#include "checkpoint.h"
int layers_format_includes_model(void);
int layers_format_includes_model(void)
{
    return 0;
}
