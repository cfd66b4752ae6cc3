/*
 * mount_exec.c - `ckptfs mount`: run the daemon, mount.ckptfs, in this process (cli.h).
 *
 * The daemon is a program of its own so that only it links libfuse3: ls, cat, verify and the
 * rest run in a container that has no FUSE at all.
 */
#include "cli.h"
#include "exitcodes.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAEMON "mount.ckptfs"

/*
 * Whether path is a program to run as the daemon: executable, and not this very program (an
 * old install's mount.ckptfs was a link to ckptfs, which would run `mount` again, forever).
 */
static int usable(const char *path, const struct stat *self)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || access(path, X_OK) != 0)
        return 0;
    return !(self && st.st_dev == self->st_dev && st.st_ino == self->st_ino);
}

int cli_mount_exec(int argc, char **argv)
{
    (void)argc;
    /* Set below for the daemon: seen here again, a "mount.ckptfs" ran ckptfs itself. */
    if (getenv("CKPTFS_MOUNT_EXEC")) {
        fprintf(stderr, "ckptfs: mount: the " DAEMON " found is ckptfs itself, not the "
                        "daemon: reinstall ckptfs\n");
        return CKPTFS_EXIT_FUSE;
    }
    setenv("CKPTFS_MOUNT_EXEC", "1", 1);
    char exe[PATH_MAX];
    struct stat self_st, *self = NULL;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0 && stat("/proc/self/exe", &self_st) == 0)
        self = &self_st;
    char cand[4][PATH_MAX + 32];
    int ncand = 0;
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(cand[ncand++], sizeof cand[0], "%s/" DAEMON, exe);
            snprintf(cand[ncand++], sizeof cand[0], "%s/../sbin/" DAEMON, exe);
        }
    }
    snprintf(cand[ncand++], sizeof cand[0], "/usr/sbin/" DAEMON);
    snprintf(cand[ncand++], sizeof cand[0], "/sbin/" DAEMON);
    int err = ENOENT;
    for (int i = 0; i < ncand; i++) {
        if (!usable(cand[i], self))
            continue;
        execv(cand[i], argv);
        err = errno;
    }
    /* Last, PATH: a daemon installed somewhere of the user's choosing. */
    execvp(DAEMON, argv);
    if (errno != ENOENT)
        err = errno;
    fprintf(stderr,
            "ckptfs: mount: cannot run the daemon " DAEMON " (looked next to ckptfs, in "
            "../sbin, /usr/sbin, /sbin and PATH): %s\n",
            strerror(err));
    return CKPTFS_EXIT_FUSE;
}
