/*
 * main.c - the `ckptfs` command: finds the subcommand (cli.h) and runs it; invoked as
 * `mount.ckptfs` (or by mount(8) as the fuse.ckptfs helper) it mounts.
 */
#include "cli.h"
#include "exitcodes.h"
#include "mount.h"
#include "remote.h"

#include <malloc.h>
#include <string.h>
#include <sys/stat.h>

#ifndef CKPTFS_VERSION
#define CKPTFS_VERSION "unknown"
#endif

static const cli_command mount_command = {
    "mount", ckfs_cmd_mount, "mount a checkpoint as a read-only directory tree", NULL};

static const cli_command *const commands[] = {
    &cli_ls_command, &cli_cat_command, &cli_diff_command, &cli_verify_command,
    &cli_graph_command, &cli_export_command, &mount_command,
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

void cli_usage(FILE *f)
{
    fprintf(f, "usage: ckptfs COMMAND [options] SOURCE ...\n"
               "       mount.ckptfs SOURCE MOUNTPOINT [-o opt[,opt...]] [-f] [-d] [-s]\n\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\nSOURCE is a checkpoint prefix (model.ckpt), any of its files, a training folder\n"
               "or a SavedModel directory. `ckptfs COMMAND --help` describes each command;\n"
               "`ckptfs --version` prints the version. See ckptfs(1).\n");
}

/* Blocks at least this big are mmap'd on their own (see main). */
#define CKPTFS_MMAP_THRESHOLD (4u << 20)

int main(int argc, char **argv)
{
    /* Before any thread exists (libcurl's global setup is not thread-safe), and only when a
     * URL is named: the setup loads TLS configuration, a cost local sources need not pay. */
    for (int i = 1; i < argc; i++)
        if (ckpt_is_url(argv[i])) {
            ckpt_net_global_init();
            break;
        }
    /*
     * The records, names and tree of a large index grow by doubling. By default glibc raises
     * its mmap threshold to the largest block freed (the .index buffer, tens of MB), and the
     * arrays then grow inside the heap, where every outgrown copy stays resident for the
     * daemon's life: a mount of 1M variables held 144 MiB instead of 118. A fixed threshold
     * keeps large blocks mapped on their own: realloc moves their pages, free returns them.
     * It sits above a read's buffer (max_read, 1 MiB): those come and go with every read and
     * must be reused from the heap, not mapped and unmapped each time. For the same reason
     * the heaps keep up to that much free at their top: glibc's default trim threshold (128 KiB)
     * gave back pages with madvise after most reads, each time an inter-processor interrupt
     * on every core (6% of the daemon's profile during a first read).
     */
    mallopt(M_MMAP_THRESHOLD, CKPTFS_MMAP_THRESHOLD);
    mallopt(M_TRIM_THRESHOLD, CKPTFS_MMAP_THRESHOLD);
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
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        if (!strcmp(cmd, "help") && argc > 2) {
            for (size_t i = 0; i < NCOMMANDS; i++)
                if (!strcmp(argv[2], commands[i]->name)) {
                    char *hv[] = {argv[2], "--help", NULL};
                    return commands[i]->run(2, hv);
                }
        }
        cli_usage(stdout);
        return CKPTFS_EXIT_OK;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("ckptfs %s\n", CKPTFS_VERSION);
        return CKPTFS_EXIT_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(cmd, commands[i]->name))
            return commands[i]->run(argc - 1, argv + 1);
    /*
     * fuse3's mount.fuse3 runs "ckptfs SOURCE MOUNTPOINT -o OPTIONS" for type fuse.ckptfs when
     * no mount.fuse.ckptfs helper is installed. Only exactly that shape (an existing directory,
     * then -o) is taken for a mount: an unknown command word is a usage error, never a mount.
     */
    struct stat st;
    if (argc == 5 && !strcmp(argv[3], "-o") && stat(argv[2], &st) == 0 && S_ISDIR(st.st_mode))
        return ckfs_cmd_mount(argc, argv);
    fprintf(stderr, "ckptfs: unknown command \"%s\" (commands: ls, cat, diff, verify, graph, "
                    "mount; see ckptfs --help)\n", cmd);
    return CKPTFS_EXIT_USAGE;
}
