/*
 * main.c - `mount.ckptfs`, the daemon: the only executable that links libfuse3. mount(8) runs
 * it as the fuse.ckptfs helper (also under the name mount.fuse.ckptfs), and `ckptfs mount`
 * runs it (fs/cli/mount_exec.c), so the commands work where libfuse3 is not installed.
 */
#include "mount.h"
#include "procstart.h"

#include <stdlib.h>

int main(int argc, char **argv)
{
    unsetenv("CKPTFS_MOUNT_EXEC"); /* fs/cli/mount_exec.c's loop guard ends here */
    ckpt_process_start(argc, argv);
    return ckfs_cmd_mount(argc, argv);
}
