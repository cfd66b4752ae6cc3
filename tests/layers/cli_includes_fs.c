/* The commands (ckptcli) may not see the daemon's headers: this include must not compile. */
#include "mount.h"
int layers_cli_includes_fs(void);
int layers_cli_includes_fs(void)
{
    return 0;
}
