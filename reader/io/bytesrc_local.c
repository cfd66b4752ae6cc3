/*
 * bytesrc_local.c - the local-filesystem byte source (see bytesrc.h), and the plain-descriptor
 * helpers of bytesrc_local.h it is built on.
 *
 * A checkpoint directory is not trusted: any of its names may be a FIFO, a device or a
 * directory, and opening a FIFO for reading blocks until a writer appears, which in the daemon
 * would hang a worker thread forever. So every open is non-blocking and accepts only regular
 * files, and reads use pread on a descriptor opened once, never a shared file position.
 */
#include "bytesrc.h"
#include "bytesrc_local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

typedef struct local_file {
    ckpt_file f;
    int owns_fd; /* 0 for ckpt_file_wrap_fd's borrowed descriptor */
} local_file;

/*
 * Open path read-only (close-on-exec) without blocking, and accept it only if it is a regular
 * file: *fd and *st on success. CKPT_E_NOTFOUND when absent, CKPT_E_IO otherwise; the message
 * names the path.
 */
static int ckpt_open_regular(const char *path, int *fd, struct stat *st, ckpt_err *err)
{
    *fd = -1;
    int f = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (f < 0)
        return ckpt_err_set(err, errno == ENOENT ? CKPT_E_NOTFOUND : CKPT_E_IO, "%s: %s", path,
                            strerror(errno));
    if (fstat(f, st) != 0) {
        int e = errno;
        close(f);
        return ckpt_err_set(err, CKPT_E_IO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st->st_mode)) {
        close(f);
        return ckpt_err_set(err, CKPT_E_IO, "%s: not a regular file", path);
    }
    /* Regular files ignore O_NONBLOCK for reads, but clear it to say what we mean. */
    int fl = fcntl(f, F_GETFL);
    if (fl >= 0)
        fcntl(f, F_SETFL, fl & ~O_NONBLOCK);
    *fd = f;
    return 0;
}

int ckpt_pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -ENODATA;
        done += (size_t)r;
    }
    return 0;
}

int ckpt_fd_on_network_fs(int fd)
{
    /* f_type magics from the kernel's include/uapi/linux/magic.h and the file systems
     * themselves (GPFS, Lustre, GlusterFS over FUSE shows as FUSE). */
    static const unsigned long magics[] = {
        0x6969,     /* NFS */
        0xFF534D42, /* CIFS */
        0xFE534D42, /* SMB2 */
        0x517B,     /* SMB */
        0x01021997, /* 9p (v9fs) */
        0x00C36400, /* Ceph */
        0x0BD00BD0, /* Lustre */
        0x47504653, /* GPFS */
        0x65735546, /* FUSE */
        0x5346414F, /* AFS */
        0x6B414653, /* kAFS */
        0x73757245, /* Coda */
    };
    struct statfs sf;
    if (fstatfs(fd, &sf) != 0)
        return 0;
    for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++)
        if ((unsigned long)sf.f_type == magics[i])
            return 1;
    return 0;
}

int ckpt_is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int ckpt_is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int local_pread(ckpt_file *f, void *buf, size_t n, uint64_t off, ckpt_err *err)
{
    int rc = ckpt_pread_full(f->fd, buf, n, off);
    if (rc == -ENODATA) /* it shrank since it was opened */
        return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: file ends before offset %llu", f->name,
                            (unsigned long long)(off + n));
    if (rc)
        return ckpt_err_set(err, CKPT_E_IO, "%s: read failed at offset %llu: %s", f->name,
                            (unsigned long long)off, strerror(-rc));
    return 0;
}

static void local_unmap(ckpt_bytes *b)
{
    if (b->data)
        munmap((void *)b->data, b->len);
}

static int local_read_all(ckpt_file *f, ckpt_bytes *out, ckpt_err *err)
{
    if (f->size == 0)
        return 0;
    if (f->size > SIZE_MAX)
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: too large to map", f->name);
    void *m = mmap(NULL, (size_t)f->size, PROT_READ, MAP_PRIVATE, f->fd, 0);
    if (m == MAP_FAILED)
        return ckpt_err_set(err, CKPT_E_IO, "%s: mmap: %s", f->name, strerror(errno));
    out->data = m;
    out->len = (size_t)f->size;
    out->release = local_unmap;
    return 0;
}

static void local_close(ckpt_file *f)
{
    local_file *lf = (local_file *)f;
    if (lf->owns_fd && f->fd >= 0)
        close(f->fd);
    free(f->name);
    free(lf);
}

/* The kernel reads the range into its page cache in the background; a cached page costs a
 * lookup. */
static void local_advise(ckpt_file *f, uint64_t off, uint64_t len)
{
    (void)posix_fadvise(f->fd, (off_t)off, (off_t)len, POSIX_FADV_WILLNEED);
}

static const ckpt_file_ops local_file_ops = {local_pread,  local_read_all, local_close,
                                             local_advise, NULL,           NULL};

/* The identity of the file whose stat is st. */
static void id_of(const struct stat *st, ckpt_file_id *id)
{
    memset(id, 0, sizeof *id);
    id->dev = (uint64_t)st->st_dev;
    id->ino = (uint64_t)st->st_ino;
    id->size = (uint64_t)st->st_size;
    id->mtime_sec = (int64_t)st->st_mtim.tv_sec;
    id->mtime_nsec = st->st_mtim.tv_nsec;
}

/* A handle for descriptor fd whose stat is st. */
static int local_handle(int fd, int owns_fd, const struct stat *st, const char *name,
                        ckpt_file **out, ckpt_err *err)
{
    local_file *lf = calloc(1, sizeof *lf);
    char *nm = strdup(name);
    if (!lf || !nm) {
        free(lf);
        free(nm);
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", name);
    }
    ckpt_file *f = &lf->f;
    f->ops = &local_file_ops;
    f->state = lf;
    f->name = nm;
    f->size = (uint64_t)st->st_size;
    f->attr = *st;
    f->fd = fd;
    id_of(st, &f->id);
    lf->owns_fd = owns_fd;
    *out = f;
    return 0;
}

static int local_open(void *state, const char *name, ckpt_file **out, ckpt_err *err)
{
    (void)state;
    int fd;
    struct stat st;
    int rc = ckpt_open_regular(name, &fd, &st, err);
    if (rc)
        return rc;
    rc = local_handle(fd, 1, &st, name, out, err);
    if (rc)
        close(fd);
    return rc;
}

/* readdir, and a stat of each name (symlinks followed, as opening them would): the regular
 * files. A name gone between the two is left out, as if listed a moment later. */
static int local_list(void *state, const char *dir, ckpt_listing *out, ckpt_err *err)
{
    (void)state;
    DIR *d = opendir(dir);
    if (!d)
        return ckpt_err_set(err, errno == ENOENT ? CKPT_E_NOTFOUND : CKPT_E_IO, "%s: %s", dir,
                            strerror(errno));
    size_t cap = 0;
    int rc = 0;
    struct dirent *de;
    while (!rc && (de = readdir(d)) != NULL) {
        struct stat st;
        if (de->d_type != DT_REG && de->d_type != DT_LNK && de->d_type != DT_UNKNOWN)
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
            continue;
        ckpt_file_id id;
        id_of(&st, &id);
        if (ckpt_listing_add(out, &cap, de->d_name, &id))
            rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory listing %s", dir);
    }
    closedir(d);
    if (rc)
        ckpt_listing_free(out);
    ckpt_listing_sort(out);
    return rc;
}

static unsigned local_caps(void *state, const char *name)
{
    (void)state;
    (void)name;
    return CKPT_CAN_LIST | CKPT_LOCAL_NAMES;
}

static const ckpt_bytesrc_ops local_ops = {
    .open = local_open, .list = local_list, .caps = local_caps};
static const ckpt_bytesrc local_source = {&local_ops, NULL};

const ckpt_bytesrc *ckpt_bytesrc_local(void)
{
    return &local_source;
}

int ckpt_file_wrap_fd(int fd, const char *name, ckpt_file **out, ckpt_err *err)
{
    *out = NULL;
    struct stat st;
    if (fstat(fd, &st) != 0)
        return ckpt_err_set(err, CKPT_E_IO, "%s: %s", name, strerror(errno));
    return local_handle(fd, 0, &st, name, out, err);
}
