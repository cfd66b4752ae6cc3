/*
 * mntopts.h - the -o options of the mount command, parsed into one struct.
 *
 * Options are comma-separated; a backslash escapes the next character (so a value may hold a
 * comma). Unknown options are errors, except the generic ones mount(8) and fstab pass to every
 * helper (defaults, auto, noauto, user, nofail, _netdev, x-*, comment=...), which are ignored,
 * and the kernel flags that are passed on (nosuid, nodev, noexec, noatime, ...).
 */
#ifndef CKPTFS_MNTOPTS_H
#define CKPTFS_MNTOPTS_H

#include <stddef.h>
#include <sys/types.h>

typedef struct ckfs_opts {
    int have_uid, have_gid, have_umask;
    uid_t uid;
    gid_t gid;
    mode_t umask;
    int allow_other;   /* let other users see the mount (needs user_allow_other for non-root) */
    int allow_root;
    int force;         /* mount even when data shards are missing */
    int npy;           /* NAME.npy beside every fixed-size variable (npy.h) */
    int splice;        /* read=splice: serve numeric reads from the shard fd (no CRC check) */
    int max_threads;   /* 0 = libfuse default */
    double poll;       /* training folders: seconds between revalidations where no inotify
                          event comes (NFS); default CKFS_POLL_DEFAULT */
    double idle;       /* training folders: seconds unused before a checkpoint's files are
                          closed; default CKFS_IDLE_DEFAULT */
    int noinotify;     /* training folders: no inotify, revalidate by polling only */
    char kernel[256];  /* extra kernel mount flags to pass on, comma-separated ("nosuid,...") */
} ckfs_opts;

#define CKFS_POLL_DEFAULT 1.0
#define CKFS_IDLE_DEFAULT 30.0

/* Set the defaults (everything off, poll and idle at their defaults). */
void ckfs_opts_init(ckfs_opts *o);

/*
 * Parse one -o argument ("uid=1000,umask=022,force") into o. On error returns -1 and writes a
 * message naming the option into msg (size msgsize); warnings (e.g. "rw" ignored) go to
 * warn (may be NULL) as newline-separated lines.
 */
int ckfs_opts_parse(ckfs_opts *o, const char *arg, char *msg, size_t msgsize, char *warn,
                    size_t warnsize);

#endif
