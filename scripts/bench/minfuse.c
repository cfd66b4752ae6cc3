/*
 * minfuse: the smallest useful FUSE daemon, a baseline for scripts/bench/run.py (not part of
 * ckptfs). It mounts a directory holding one file, "data", whose bytes are the range
 * [OFFSET, OFFSET + LENGTH) of FILE, each read served by one pread into a buffer and
 * fuse_reply_buf: the work any FUSE daemon must do, and nothing else (no checksum, no index).
 *
 *   minfuse [--keep-cache] [--sync-read] FILE OFFSET LENGTH MOUNTPOINT
 *
 * --keep-cache  let the kernel keep the file's pages across opens (otherwise every open
 *               drops them, so each open reads through the daemon again);
 * --sync-read   ask the kernel for synchronous reads (one request at a time, in order), as
 *               ckptfs does while it checksums a sequential read.
 * Reads are at most 1 MiB (max_read). Runs in the foreground until unmounted or signalled.
 * Build: cc -std=c11 -O2 -Wall -Wextra minfuse.c $(pkg-config --cflags --libs fuse3)
 */
#define _GNU_SOURCE
#define FUSE_USE_VERSION 314
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_READ (1u << 20)
#define FILE_INO 2 /* the root is FUSE_ROOT_ID (1) */
#define FILE_NAME "data"
#define TTL 86400.0 /* names and attributes never change: cache them for a day */

static int g_fd = -1;      /* FILE, opened once */
static off_t g_off, g_len; /* the range served */
static int g_keep_cache, g_sync_read;

static void fill_stat(fuse_ino_t ino, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_ino = ino;
    st->st_uid = getuid();
    st->st_gid = getgid();
    if (ino == FUSE_ROOT_ID) {
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2;
    } else {
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        st->st_size = g_len;
    }
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
    (void)userdata;
    conn->max_read = MAX_READ; /* must match the max_read mount option given below */
    if (g_sync_read)
        conn->want &= ~FUSE_CAP_ASYNC_READ;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    if (parent != FUSE_ROOT_ID || strcmp(name, FILE_NAME) != 0) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    struct fuse_entry_param e;
    memset(&e, 0, sizeof e);
    e.ino = FILE_INO;
    e.attr_timeout = e.entry_timeout = TTL;
    fill_stat(FILE_INO, &e.attr);
    fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)fi;
    struct stat st;
    fill_stat(ino, &st);
    fuse_reply_attr(req, &st, TTL);
}

/* The root's three entries, one per offset; the kernel asks again from where it stopped. */
static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    (void)fi;
    static const char *const names[] = {".", "..", FILE_NAME};
    char buf[512];
    size_t used = 0;
    if (ino != FUSE_ROOT_ID) {
        fuse_reply_err(req, ENOTDIR);
        return;
    }
    for (off_t i = off; i < 3; i++) {
        struct stat st;
        fill_stat(i == 2 ? FILE_INO : FUSE_ROOT_ID, &st);
        size_t need = fuse_add_direntry(req, NULL, 0, names[i], NULL, 0);
        if (used + need > size || used + need > sizeof buf)
            break;
        fuse_add_direntry(req, buf + used, need, names[i], &st, i + 1);
        used += need;
    }
    fuse_reply_buf(req, buf, used);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    if (ino != FILE_INO)
        fuse_reply_err(req, EISDIR);
    else if ((fi->flags & O_ACCMODE) != O_RDONLY)
        fuse_reply_err(req, EROFS);
    else {
        fi->keep_cache = g_keep_cache;
        fuse_reply_open(req, fi);
    }
}

/* One pread (repeated only if the kernel returns short) per request, into a fresh buffer. */
static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    (void)ino, (void)fi;
    if (off >= g_len) {
        fuse_reply_buf(req, NULL, 0);
        return;
    }
    if ((off_t)size > g_len - off)
        size = (size_t)(g_len - off);
    char *buf = malloc(size ? size : 1);
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = pread(g_fd, buf + got, size - got, g_off + off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got < size)
        fuse_reply_err(req, EIO);
    else
        fuse_reply_buf(req, buf, size);
    free(buf);
}

static const struct fuse_lowlevel_ops ops = {
    .init = op_init,
    .lookup = op_lookup,
    .getattr = op_getattr,
    .readdir = op_readdir,
    .open = op_open,
    .read = op_read,
};

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--keep-cache") == 0)
            g_keep_cache = 1;
        else if (strcmp(argv[i], "--sync-read") == 0)
            g_sync_read = 1;
        else
            break;
    }
    if (argc - i != 4) {
        fprintf(stderr, "usage: %s [--keep-cache] [--sync-read] FILE OFFSET LENGTH MOUNTPOINT\n",
                argv[0]);
        return 2;
    }
    g_fd = open(argv[i], O_RDONLY | O_CLOEXEC);
    if (g_fd < 0) {
        perror(argv[i]);
        return 1;
    }
    g_off = strtoll(argv[i + 1], NULL, 0);
    g_len = strtoll(argv[i + 2], NULL, 0);
    char *fargv[] = {argv[0], "-o", "ro,max_read=1048576,fsname=minfuse,subtype=minfuse", NULL};
    struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
    struct fuse_session *se = fuse_session_new(&args, &ops, sizeof ops, NULL);
    if (!se)
        return 1;
    int rc = 1;
    if (fuse_set_signal_handlers(se) == 0) {
        if (fuse_session_mount(se, argv[i + 3]) == 0) {
            struct fuse_loop_config *cfg = fuse_loop_cfg_create(); /* up to 10 threads */
            rc = fuse_session_loop_mt(se, cfg) != 0;
            fuse_loop_cfg_destroy(cfg);
            fuse_session_unmount(se);
        }
        fuse_remove_signal_handlers(se);
    }
    fuse_session_destroy(se);
    close(g_fd);
    return rc;
}
