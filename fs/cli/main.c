/*
 * main.c - the `ckptfs` command: finds the subcommand (cli.h) and runs it. `mount` runs the
 * daemon, mount.ckptfs (fs/main.c), which is the only program that links libfuse3.
 */
#include "cli.h"
#include "exitcodes.h"
#include "procstart.h"
#include "resolve.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef CKPTFS_VERSION
#define CKPTFS_VERSION "unknown"
#endif

static const cli_command mount_command = {"mount", cli_mount_exec,
                                          "mount a checkpoint as a read-only directory tree", NULL};

static const cli_command *const commands[] = {
    &cli_ls_command,     &cli_cat_command,    &cli_diff_command,
    &cli_verify_command, &cli_graph_command,  &cli_stats_command,
    &cli_du_command,     &cli_export_command, &mount_command,
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

/*
 * Take `--net-timeout SECONDS` (or `--net-timeout=SECONDS`) out of argv, before a "--": the
 * commands' bound on each request to a URL source, as the mount's -o net_timeout=. It reaches
 * the reader as CKPTFS_NET_TIMEOUT (net.h). 0, or the usage exit status.
 */
static int take_net_timeout(int *argc, char **argv)
{
    for (int i = 1; i < *argc && strcmp(argv[i], "--"); i++) {
        const char *v = NULL;
        int used = 0;
        if (!strncmp(argv[i], "--net-timeout=", 14))
            v = argv[i] + 14, used = 1;
        else if (!strcmp(argv[i], "--net-timeout") && i + 1 < *argc)
            v = argv[i + 1], used = 2;
        else if (!strcmp(argv[i], "--net-timeout"))
            v = "", used = 1;
        if (!used)
            continue;
        char *end;
        errno = 0;
        unsigned long n = strtoul(v, &end, 10);
        if (!*v || *end || errno || n < 1 || n > 86400) {
            fprintf(stderr,
                    "ckptfs: --net-timeout wants whole seconds from 1 to 86400, not "
                    "\"%s\"\n",
                    v);
            return CKPTFS_EXIT_USAGE;
        }
        setenv("CKPTFS_NET_TIMEOUT", v, 1);
        memmove(argv + i, argv + i + used, (size_t)(*argc - i - used + 1) * sizeof *argv);
        *argc -= used;
        i--;
    }
    return 0;
}

/*
 * The exit status once stdout is flushed and closed: output that could not be written (a full
 * disk, a closed pipe's EPIPE aside: SIGPIPE ends us first) turns success into exit 7 with a
 * message; a failure already reported keeps its own status.
 */
static int finish_output(int rc)
{
    errno = 0;
    int bad = fflush(stdout) != 0;
    int e = errno;
    bad |= ferror(stdout) != 0;
    errno = 0;
    if (fclose(stdout) != 0) {
        bad = 1;
        e = e ? e : errno;
    }
    if (!bad || (rc != CKPTFS_EXIT_OK && rc != CKPTFS_EXIT_USAGE))
        return rc; /* a failure the command reported already stands */
    fprintf(stderr, "ckptfs: writing the output failed%s%s\n", e ? ": " : "", e ? strerror(e) : "");
    return CKPTFS_EXIT_READ;
}

int main(int argc, char **argv)
{
    ckpt_process_start(argc, argv);
    if (argc < 2) {
        cli_usage(stderr);
        return CKPTFS_EXIT_USAGE;
    }
    int trc = take_net_timeout(&argc, argv);
    if (trc)
        return trc;
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
                    return finish_output(commands[i]->run(2, hv));
                }
        }
        cli_usage(stdout);
        return finish_output(CKPTFS_EXIT_OK);
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("ckptfs %s\n", CKPTFS_VERSION);
        return finish_output(CKPTFS_EXIT_OK);
    }
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(cmd, commands[i]->name))
            continue;
        if (commands[i] == &mount_command) {
            argv[1] = "ckptfs mount"; /* the name the daemon's messages give */
            return cli_mount_exec(argc - 1, argv + 1);
        }
        return finish_output(commands[i]->run(argc - 1, argv + 1));
    }
    /*
     * fuse3's mount.fuse3 runs "ckptfs SOURCE MOUNTPOINT -o OPTIONS" for type fuse.ckptfs when
     * no mount.fuse.ckptfs helper is installed. Only exactly that shape (an existing directory,
     * then -o) is taken for a mount: an unknown command word is a usage error, never a mount.
     */
    struct stat st;
    if (argc == 5 && !strcmp(argv[3], "-o") && stat(argv[2], &st) == 0 && S_ISDIR(st.st_mode))
        return cli_mount_exec(argc, argv);
    char *shown = ckpt_url_redact(cmd);
    fprintf(stderr,
            "ckptfs: unknown command \"%s\" (commands: ls, cat, diff, verify, graph, "
            "stats, du, mount; see ckptfs --help)\n",
            shown ? shown : "?");
    free(shown);
    return CKPTFS_EXIT_USAGE;
}
