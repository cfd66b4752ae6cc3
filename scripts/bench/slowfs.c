/*
 * slowfs: slow storage for tests and benchmarks (not part of ckptfs). It mounts a read-only
 * view of DIR in which every operation that reaches it waits DELAY microseconds first and is
 * counted, the way an NFS server a network away answers: a stand-in for "the checkpoint lives
 * on a share". Files are opened direct_io, so each read the client makes arrives as one
 * request of its own size (up to 1 MiB, as NFS's rsize), not as the kernel's read-ahead pieces.
 *
 *   slowfs [--delay-us N] [--trace] DIR MOUNTPOINT
 *
 * The root holds a file ".slowfs-stats" (not delayed, not counted) with the counts so far:
 *   op NAME COUNT               for getattr (lookups included), readdir, open, read, statfs
 *                               and xattr (get and list)
 *   read FILE COUNT BYTES SMALL per file read: requests, bytes, and how many were under
 *                               1 MiB without reaching the end of the file
 * --trace prints each read (file, offset, size) on standard error.
 * Runs in the foreground until unmounted or signalled; requests are served by several threads,
 * so concurrent requests wait concurrently, as on a real share.
 * Build: cc -std=c11 -O2 -Wall -Wextra slowfs.c $(pkg-config --cflags --libs fuse3) -lpthread
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define FUSE_USE_VERSION 314
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define STATS "/.slowfs-stats"
#define BIG (1u << 20)
#define MAX_FILES 256

enum { OP_GETATTR, OP_READDIR, OP_OPEN, OP_READ, OP_STATFS, OP_XATTR, OP_N };
static const char *const op_names[OP_N] = {"getattr", "readdir", "open", "read", "statfs", "xattr"};

typedef struct file_stat {
    char *name;
    unsigned long long reads, bytes, small;
} file_stat;

/* One instance; its fields are protected by mu except the ones set before fuse_main. */
static struct {
    int dirfd;
    long delay_us;
    int trace;
    pthread_mutex_t mu;
    unsigned long long ops[OP_N];
    file_stat files[MAX_FILES];
    int nfiles;
} g = {.dirfd = -1, .delay_us = 1000, .mu = PTHREAD_MUTEX_INITIALIZER};

/* The path below DIR: "" for the root. */
static const char *rel(const char *path)
{
    while (*path == '/')
        path++;
    return *path ? path : ".";
}

static void wait_and_count(int op)
{
    pthread_mutex_lock(&g.mu);
    g.ops[op]++;
    pthread_mutex_unlock(&g.mu);
    if (g.delay_us > 0) {
        struct timespec ts = {g.delay_us / 1000000, (g.delay_us % 1000000) * 1000};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
}

static void count_read(const char *path, size_t n, off_t off, off_t size)
{
    pthread_mutex_lock(&g.mu);
    int i = 0;
    while (i < g.nfiles && strcmp(g.files[i].name, path) != 0)
        i++;
    if (i == g.nfiles && g.nfiles < MAX_FILES && (g.files[i].name = strdup(path)))
        g.nfiles++;
    if (i < g.nfiles) {
        g.files[i].reads++;
        g.files[i].bytes += n;
        g.files[i].small += n < BIG && off + (off_t)n < size;
    }
    pthread_mutex_unlock(&g.mu);
}

/* The text of the stats file, malloc'd. */
static char *stats_text(size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;
    pthread_mutex_lock(&g.mu);
    for (int i = 0; i < OP_N; i++)
        fprintf(f, "op %s %llu\n", op_names[i], g.ops[i]);
    for (int i = 0; i < g.nfiles; i++)
        fprintf(f, "read %s %llu %llu %llu\n", g.files[i].name, g.files[i].reads, g.files[i].bytes,
                g.files[i].small);
    pthread_mutex_unlock(&g.mu);
    fclose(f);
    return buf;
}

static int sf_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    (void)fi;
    if (strcmp(path, STATS) == 0) {
        memset(st, 0, sizeof *st);
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        st->st_size = 1 << 16; /* read with direct_io: the true length is what a read gives */
        return 0;
    }
    wait_and_count(OP_GETATTR);
    return fstatat(g.dirfd, rel(path), st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

static int sf_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    (void)off, (void)fi, (void)flags;
    wait_and_count(OP_READDIR);
    int fd = openat(g.dirfd, rel(path), O_RDONLY | O_DIRECTORY);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return -e;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        fill(buf, de->d_name, NULL, 0, 0);
    if (strcmp(path, "/") == 0)
        fill(buf, &STATS[1], NULL, 0, 0);
    closedir(d);
    return 0;
}

static int sf_open(const char *path, struct fuse_file_info *fi)
{
    if ((fi->flags & O_ACCMODE) != O_RDONLY)
        return -EROFS;
    fi->direct_io = 1;
    if (strcmp(path, STATS) == 0) {
        fi->fh = (uint64_t)-1;
        return 0;
    }
    wait_and_count(OP_OPEN);
    int fd = openat(g.dirfd, rel(path), O_RDONLY);
    if (fd < 0)
        return -errno;
    fi->fh = (uint64_t)fd;
    return 0;
}

static int sf_read(const char *path, char *buf, size_t n, off_t off, struct fuse_file_info *fi)
{
    if (fi->fh == (uint64_t)-1) {
        size_t len;
        char *text = stats_text(&len);
        if (!text)
            return -ENOMEM;
        size_t m = (size_t)off >= len ? 0 : len - (size_t)off < n ? len - (size_t)off : n;
        memcpy(buf, text + off, m);
        free(text);
        return (int)m;
    }
    wait_and_count(OP_READ);
    ssize_t r = pread((int)fi->fh, buf, n, off);
    if (r < 0)
        return -errno;
    if (g.trace)
        fprintf(stderr, "read %s %lld %zu\n", rel(path), (long long)off, n);
    struct stat st;
    count_read(rel(path), (size_t)r, off, fstat((int)fi->fh, &st) == 0 ? st.st_size : 0);
    return (int)r;
}

static int sf_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    if (fi->fh != (uint64_t)-1)
        close((int)fi->fh);
    return 0;
}

static int sf_statfs(const char *path, struct statvfs *sv)
{
    (void)path;
    wait_and_count(OP_STATFS);
    return fstatvfs(g.dirfd, sv) == 0 ? 0 : -errno;
}

static int sf_getxattr(const char *path, const char *name, char *val, size_t size)
{
    (void)path, (void)name, (void)val, (void)size;
    wait_and_count(OP_XATTR);
    return -ENODATA;
}

static int sf_listxattr(const char *path, char *list, size_t size)
{
    (void)path, (void)list, (void)size;
    wait_and_count(OP_XATTR);
    return 0;
}

static void *sf_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    conn->max_read = BIG; /* as the max_read mount option main gives */
    cfg->use_ino = 1;
    /* As an NFS client caches attributes for a while (actimeo), so does this. */
    cfg->entry_timeout = cfg->attr_timeout = 60;
    cfg->negative_timeout = 60;
    return NULL;
}

static const struct fuse_operations ops = {
    .init = sf_init,
    .getattr = sf_getattr,
    .readdir = sf_readdir,
    .open = sf_open,
    .read = sf_read,
    .release = sf_release,
    .statfs = sf_statfs,
    .getxattr = sf_getxattr,
    .listxattr = sf_listxattr,
};

int main(int argc, char **argv)
{
    int i = 1;
    if (i + 1 < argc && strcmp(argv[i], "--delay-us") == 0) {
        g.delay_us = atol(argv[i + 1]);
        i += 2;
    }
    if (i < argc && strcmp(argv[i], "--trace") == 0) {
        g.trace = 1;
        i++;
    }
    if (argc - i != 2) {
        fprintf(stderr, "usage: %s [--delay-us N] [--trace] DIR MOUNTPOINT\n", argv[0]);
        return 2;
    }
    g.dirfd = open(argv[i], O_RDONLY | O_DIRECTORY);
    if (g.dirfd < 0) {
        fprintf(stderr, "%s: %s: %s\n", argv[0], argv[i], strerror(errno));
        return 1;
    }
    char *fargv[] = {argv[0], "-f", "-o", "ro,fsname=slowfs,max_read=1048576", argv[i + 1], NULL};
    return fuse_main(5, fargv, &ops, NULL);
}
