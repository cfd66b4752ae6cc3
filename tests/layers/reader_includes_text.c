/* The format library (ckpt) may not see the renderers' headers: this include must not compile. */
#include "render.h"
int layers_reader_includes_text(void);
int layers_reader_includes_text(void)
{
    return 0;
}
