/*
 * main.c - the `ckptfs` command: `ls`, `cat`, `graph`, `mount`; invoked as `mount.ckptfs` (or
 * by mount(8) as the fuse.ckptfs helper) it mounts. Each subcommand has its own file (cli.h).
 */
#include "cli.h"
#include "exitcodes.h"
#include "mount.h"
#include "remote.h"

#include <string.h>

int main(int argc, char **argv)
{
    /* Before any thread exists: libcurl's global setup is not thread-safe. */
    ckpt_net_global_init();
    const char *self = strrchr(argv[0], '/');
    self = self ? self + 1 : argv[0];
    /* mount(8) runs helpers named mount.<type>; fuse types arrive as mount.fuse.ckptfs. */
    if (!strncmp(self, "mount.", 6))
        return ckfs_cmd_mount(argc, argv);
    if (argc < 2) {
        cli_usage(stderr);
        return CKPTFS_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "ls"))
        return cli_ls(argc - 1, argv + 1);
    if (!strcmp(cmd, "cat"))
        return cli_cat(argc - 1, argv + 1);
    if (!strcmp(cmd, "graph"))
        return cli_graph(argc - 1, argv + 1);
    if (!strcmp(cmd, "mount"))
        return ckfs_cmd_mount(argc - 1, argv + 1);
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        cli_usage(stdout);
        return 0;
    }
    /* fuse3's mount.fuse3 runs "ckptfs SOURCE MOUNTPOINT -o ..." for type fuse.ckptfs. */
    if (argc >= 3)
        return ckfs_cmd_mount(argc, argv);
    fprintf(stderr, "ckptfs: unknown command \"%s\"\n", cmd);
    cli_usage(stderr);
    return CKPTFS_EXIT_USAGE;
}
