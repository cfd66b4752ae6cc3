/*
 * mntopts.h - the -o options of the mount command, parsed into one struct.
 *
 * Options are comma-separated; a backslash escapes the next character (so a value may hold a
 * comma). Unknown options are errors, except the generic ones mount(8) and fstab pass to every
 * helper (ro, rw, defaults, auto, noauto, user, nofail, _netdev, x-*, comment=...), which are
 * ignored, and the kernel flags collected in `kernel` (nosuid, nodev, noexec, noatime,
 * nodiratime, dirsync). The options themselves are documented in docs/mount.md.
 */
#ifndef CKPTFS_MNTOPTS_H
#define CKPTFS_MNTOPTS_H

#include <stddef.h>
#include <sys/types.h>

typedef struct ckfs_opts {
    int have_uid, have_gid, have_umask; /* whether uid=, gid=, umask= were given */
    uid_t uid;
    gid_t gid;
    mode_t umask;
    int allow_other; /* let other users see the mount (needs user_allow_other for non-root) */
    int allow_root;
    int force;            /* accepted for old fstab lines; missing shards never refuse a mount */
    int npy;              /* NAME.npy beside every fixed-size variable (npy.h) */
    int stats;            /* a root stats.tsv of every variable's value statistics (stats.h) */
    int splice;           /* read=splice: serve numeric reads from the shard fd (no CRC check) */
    int verify;           /* verify=: enum ckfs_verify, when stored checksums are checked */
    int shard_cache;      /* shard_cache=: enum ckpt_shard_cache, which shards go through a
                             block cache of cache_size (default: those on a network file system) */
    unsigned max_threads; /* 0 = libfuse default */
    double poll;          /* training folders: seconds between revalidations where no inotify
                             event comes (NFS); default CKFS_POLL_DEFAULT */
    double idle;          /* training folders: seconds unused before a checkpoint's files are
                             closed; default CKFS_IDLE_DEFAULT */
    int noinotify;        /* training folders: no inotify, revalidate by polling only */
    unsigned timeout;     /* timeout=SECONDS: unmount after that long unused; 0 = never */
    char kernel[256];     /* kernel mount flags to pass on, comma-separated ("nosuid,nodev") */
    /* Remote sources (URLs): 0 / "" = the defaults of ckpt_net_opts_init (net.h). */
    unsigned long long cache_size; /* cache_size=BYTES[K|M|G]: in-memory block cache (URLs,
                                      and shards shard_cache= selects) */
    char cache_dir[1024];          /* cache_dir=DIR: keep fetched blocks on disk too */
    unsigned net_timeout;          /* net_timeout=SECONDS: a silent server fails reads (EIO) */
    /* include=GLOB / exclude=GLOB, repeatable: ':'-joined globs (nameglob.h); "" = none */
    char include[4096];
    char exclude[4096];
} ckfs_opts;

/* -o verify=: when a variable's bytes are checked against the checksum TensorFlow stored. */
enum ckfs_verify {
    CKFS_VERIFY_SEQUENTIAL = 0, /* the default: while a reader goes through a file in order */
    CKFS_VERIFY_OPEN,           /* the whole tensor at its first open, once per mount */
    CKFS_VERIFY_OFF,            /* never (table blocks of the index are still checked) */
};

#define CKFS_POLL_DEFAULT 1.0
#define CKFS_IDLE_DEFAULT 30.0

/* Set the defaults: everything off, no uid/gid/umask given (the mount then follows the
 * .index file), poll= and idle= at their defaults. */
void ckfs_opts_init(ckfs_opts *o);

/*
 * Parse one -o argument ("uid=1000,umask=022,force") into o, on top of what earlier calls
 * set (a later value wins). Returns 0, or -1 with a message naming the offending option in
 * msg (size msgsize); options before it have been applied.
 */
int ckfs_opts_parse(ckfs_opts *o, const char *arg, char *msg, size_t msgsize);

#endif
