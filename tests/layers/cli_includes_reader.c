/* The control: the commands see the layers below them, so this compiles (a failure of the
 * negative cases is then the include's, not the harness's). */
#include "checkpoint.h"
#include "render.h"
int layers_cli_includes_reader(void);
int layers_cli_includes_reader(void)
{
    return 0;
}
